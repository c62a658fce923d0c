//! E-mail addresses as the core accepts them.
//!
//! An address goes into SMTP commands (`MAIL FROM:<…>`, `RCPT TO:<…>`), into
//! the XOAUTH2 `user=` field and into policy comparisons. Anything that could
//! break out of those contexts (CR, LF, angle brackets, spaces, controls,
//! the SASL separator 0x01) is refused here, once, so no later layer needs to
//! escape.
//!
//! Octets above 0x7F (UTF-8, RFC 6531/6532 internationalised addresses) are
//! accepted here: such an address can only go out through a server that
//! offers SMTPUTF8, and the SMTP client refuses a message carrying one
//! before `MAIL` when the server does not (E331).

use core::fmt;
use heapless::String;

use crate::limits::MAX_ADDRESS_LEN;

/// A syntactically safe `local@domain` address of at most
/// [`MAX_ADDRESS_LEN`] octets.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Address(String<MAX_ADDRESS_LEN>);

/// Why a string is not an acceptable address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AddressError {
    /// Empty string.
    Empty,
    /// Longer than [`MAX_ADDRESS_LEN`].
    TooLong,
    /// No `@`, or nothing before or after it, or more than one `@`.
    NotLocalAtDomain,
    /// A character that could break an SMTP command or SASL message.
    ForbiddenCharacter,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressError::Empty => "empty address",
            AddressError::TooLong => "address too long",
            AddressError::NotLocalAtDomain => "address is not local@domain",
            AddressError::ForbiddenCharacter => "address contains a forbidden character",
        })
    }
}

impl core::error::Error for AddressError {}

impl Address {
    /// No address (the default), as a constant: an all-zero value, so
    /// that writing it is a memset, not a copy (R-MEM).
    pub(crate) const NONE: Address = Address(String::new());

    /// Check and copy `s`.
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        Self::check(s)?;
        let mut out = String::new();
        out.push_str(s).map_err(|_| AddressError::TooLong)?;
        Ok(Address(out))
    }

    /// Whether `s` is an address [`Address::parse`] takes, without making
    /// one.
    pub fn check(s: &str) -> Result<(), AddressError> {
        if s.is_empty() {
            return Err(AddressError::Empty);
        }
        if s.len() > MAX_ADDRESS_LEN {
            return Err(AddressError::TooLong);
        }
        if s.bytes().any(|b| {
            b <= b' '
                || b == 0x7f
                || matches!(b, b'<' | b'>' | b'(' | b')' | b',' | b';' | b'\\' | b'"')
        }) || s.chars().any(char::is_control)
        {
            return Err(AddressError::ForbiddenCharacter);
        }
        let mut parts = s.split('@');
        let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(l), Some(d), None) => (l, d),
            _ => return Err(AddressError::NotLocalAtDomain),
        };
        if local.is_empty() || domain.is_empty() || domain.starts_with('.') || domain.ends_with('.')
        {
            return Err(AddressError::NotLocalAtDomain);
        }
        Ok(())
    }

    /// [`Address::parse`] written into `self` (R-MEM: no address made on
    /// the caller's frame and moved); on error `self` is unchanged.
    pub fn set(&mut self, s: &str) -> Result<(), AddressError> {
        Self::check(s)?;
        self.0.clear();
        self.0.push_str(s).map_err(|_| AddressError::TooLong)
    }

    /// No address: empty, as [`Address::default`], in place.
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// [`Address::set`] into `place`, which then holds an address; on
    /// error `place` is unchanged.
    pub fn set_in(place: &mut Option<Address>, s: &str) -> Result<(), AddressError> {
        Self::check(s)?;
        place.get_or_insert_with(Address::default).set(s)
    }

    /// `s`, checked as [`Address::parse`] checks it, added at the end of
    /// `list` where the list keeps it (R-MEM). On error the list is
    /// unchanged: `Err(Some(_))` for an address refused, `Err(None)` for a
    /// full list.
    pub fn push_onto<const N: usize>(
        list: &mut heapless::Vec<Address, N>,
        s: &str,
    ) -> Result<(), Option<AddressError>> {
        Self::check(s).map_err(Some)?;
        let before = list.len();
        list.push(Address::default()).map_err(|_| None)?;
        match list.last_mut().map(|a| a.set(s)) {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => {
                list.truncate(before);
                Err(Some(e))
            }
            None => Err(None),
        }
    }

    /// The address as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the address has a non-ASCII octet (an internationalised
    /// local part or domain), so that SMTP needs SMTPUTF8 (RFC 6531) to
    /// carry it.
    #[must_use]
    pub fn needs_smtputf8(&self) -> bool {
        !self.0.is_ascii()
    }

    /// Whether no address is set (the default).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Same mailbox, ignoring ASCII case. Microsoft 365 and Google treat the
    /// whole address case-insensitively, and so does the sender policy.
    #[must_use]
    pub fn same_mailbox(&self, other: &Address) -> bool {
        self.0.eq_ignore_ascii_case(other.0.as_str())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Address {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "<{=str}>", self.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "a@b",
            "scan.dept+mfp@contoso.onmicrosoft.com",
            "user@[192.0.2.1]",
        ] {
            assert_eq!(
                Address::parse(ok).map(|a| a.as_str() == ok),
                Ok(true),
                "{ok}"
            );
        }
    }

    #[test]
    fn refuses_injection_and_malformed() {
        use AddressError::*;
        let cases: &[(&str, AddressError)] = &[
            ("", Empty),
            ("a@b\r\nRCPT TO:<x@y>", ForbiddenCharacter),
            ("a@b>", ForbiddenCharacter),
            ("a b@c", ForbiddenCharacter),
            ("a\u{1}@b", ForbiddenCharacter),
            ("ab", NotLocalAtDomain),
            ("@b", NotLocalAtDomain),
            ("a@", NotLocalAtDomain),
            ("a@b@c", NotLocalAtDomain),
            ("a@.b", NotLocalAtDomain),
        ];
        // In place too (R-MEM): the same refusal, and the address held
        // before is unchanged.
        let mut held = Address::parse("kept@contoso.com").unwrap();
        for (input, err) in cases {
            assert_eq!(Address::parse(input), Err(*err), "{input:?}");
            assert_eq!(Address::check(input), Err(*err), "{input:?}");
            assert_eq!(held.set(input), Err(*err), "{input:?}");
            assert_eq!(held.as_str(), "kept@contoso.com");
        }
        let long = "a".repeat(250) + "@b.cc";
        assert_eq!(Address::parse(&long), Err(TooLong));
        assert_eq!(held.set(&long), Err(TooLong));
        assert_eq!(held.set("a@b"), Ok(()));
        assert_eq!(held, Address::parse("a@b").unwrap());
    }

    /// R-MEM: an address written into an optional place or onto a list,
    /// in place; a refused one changes nothing.
    #[test]
    fn addresses_set_in_place_or_pushed_change_nothing_when_refused() {
        let mut place = None;
        assert_eq!(
            Address::set_in(&mut place, "a@b c"),
            Err(AddressError::ForbiddenCharacter)
        );
        assert_eq!(place, None);
        assert_eq!(Address::set_in(&mut place, "a@b"), Ok(()));
        assert_eq!(
            Address::set_in(&mut place, "@b"),
            Err(AddressError::NotLocalAtDomain)
        );
        assert_eq!(place.as_ref().map(Address::as_str), Some("a@b"));
        let mut list: heapless::Vec<Address, 2> = heapless::Vec::new();
        assert_eq!(Address::push_onto(&mut list, "x@y"), Ok(()));
        assert_eq!(
            Address::push_onto(&mut list, "x y@z"),
            Err(Some(AddressError::ForbiddenCharacter))
        );
        assert_eq!(Address::push_onto(&mut list, "z@y"), Ok(()));
        assert_eq!(Address::push_onto(&mut list, "w@y"), Err(None));
        let held: Vec<&str> = list.iter().map(Address::as_str).collect();
        assert_eq!(held, ["x@y", "z@y"]);
    }

    /// R-MEM: recipients are checked and written where the envelope keeps
    /// them; a refused one leaves the envelope as it was.
    #[test]
    fn recipients_added_as_text_are_checked_in_place() {
        use crate::limits::MAX_RECIPIENTS;
        use crate::smtp::{Envelope, SubmitError};
        let mut e = Envelope::new(Address::parse("scan@contoso.com").unwrap());
        assert_eq!(e.add_recipient_text("alice@contoso.com"), Ok(()));
        assert_eq!(
            e.add_recipient_text("bob@contoso.com>\r\nDATA"),
            Err(SubmitError::InvalidAddress)
        );
        assert_eq!(e.to.len(), 1);
        assert_eq!(e.to.first(), Some("alice@contoso.com"));
        for i in 1..MAX_RECIPIENTS {
            assert_eq!(e.add_recipient_text(&format!("u{i}@contoso.com")), Ok(()));
        }
        assert_eq!(
            e.add_recipient_text("one@too.many"),
            Err(SubmitError::TooManyRecipients)
        );
        assert_eq!(e.to.len(), MAX_RECIPIENTS);
        let last = format!("u{}@contoso.com", MAX_RECIPIENTS - 1);
        assert_eq!(e.to.get(MAX_RECIPIENTS - 1), Some(last.as_str()));
    }

    #[test]
    fn internationalised_addresses_are_accepted_and_need_smtputf8() {
        for (s, needs) in [
            ("jörg@example.de", true),
            ("用户@例子.广告", true),
            ("user@bücher.example", true),
            ("scan@contoso.com", false),
        ] {
            let a = Address::parse(s).unwrap();
            assert_eq!(a.as_str(), s);
            assert_eq!(a.needs_smtputf8(), needs, "{s}");
        }
        // Non-ASCII does not open a way around the forbidden characters,
        // nor lets a C1 control (NEL) through.
        for bad in ["jörg@b\r\nRCPT", "j\u{85}rg@example.de"] {
            assert_eq!(
                Address::parse(bad),
                Err(AddressError::ForbiddenCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn mailbox_comparison_ignores_case() {
        let a = Address::parse("Admin@Contoso.com").unwrap();
        let b = Address::parse("admin@contoso.COM").unwrap();
        assert!(a.same_mailbox(&b));
        assert!(!a.same_mailbox(&Address::parse("other@contoso.com").unwrap()));
    }
}
