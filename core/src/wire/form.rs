//! `application/x-www-form-urlencoded` and URL query encoding.
//!
//! Token requests are form bodies (RFC 6749 §4.1.3, §6, Appendix B; RFC
//! 8628 §3.1, §3.4): UTF-8, then every octet outside `A-Z a-z 0-9 * - . _`
//! becomes `%XX` (upper-case hex) and space becomes `+`. The authorize URL's
//! query ([`Style::Query`]) keeps RFC 3986's unreserved set (`- . _ ~`) and
//! writes space as `%20`, which every server reads the same way. Decoding
//! (the loopback redirect's query, round-trip tests) accepts both.

use super::writer::Writer;
use core::fmt;

/// How to escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Style {
    /// Form bodies: space is `+`, `A-Za-z0-9*-._` stay (RFC 6749 App. B).
    Form,
    /// URL queries: space is `%20`, RFC 3986 unreserved `A-Za-z0-9-._~` stay.
    Query,
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn kept(b: u8, style: Style) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(b, b'-' | b'.' | b'_')
        || (style == Style::Form && b == b'*')
        || (style == Style::Query && b == b'~')
}

/// Write `value` escaped in `style`.
pub fn encode(w: &mut Writer<'_>, value: &[u8], style: Style) {
    let mut start = 0;
    for (i, &b) in value.iter().enumerate() {
        if kept(b, style) {
            continue;
        }
        w.push(value.get(start..i).unwrap_or(&[]));
        start = i.saturating_add(1);
        if b == b' ' && style == Style::Form {
            w.push_byte(b'+');
        } else {
            let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            let lo = HEX.get(usize::from(b & 0x0f)).copied().unwrap_or(b'0');
            w.push(&[b'%', hi, lo]);
        }
    }
    w.push(value.get(start..).unwrap_or(&[]));
}

/// Octets that [`encode`] writes for `value`.
#[must_use]
pub fn encoded_len(value: &[u8], style: Style) -> usize {
    value.iter().fold(0usize, |n, &b| {
        n.saturating_add(if kept(b, style) || (b == b' ' && style == Style::Form) {
            1
        } else {
            3
        })
    })
}

/// Writes `name=value` pairs separated by `&`.
#[derive(Debug)]
pub struct Pairs<'w, 'a> {
    w: &'w mut Writer<'a>,
    style: Style,
    first: bool,
}

impl<'w, 'a> Pairs<'w, 'a> {
    /// Start a list of pairs at the writer's position.
    pub fn new(w: &'w mut Writer<'a>, style: Style) -> Self {
        Pairs {
            w,
            style,
            first: true,
        }
    }

    /// Continue a query that already has pairs (`&` before the next one).
    pub fn continuing(w: &'w mut Writer<'a>, style: Style) -> Self {
        Pairs {
            w,
            style,
            first: false,
        }
    }

    /// Append one pair, both sides escaped.
    pub fn pair(&mut self, name: &str, value: &[u8]) -> &mut Self {
        if !self.first {
            self.w.push_byte(b'&');
        }
        self.first = false;
        encode(self.w, name.as_bytes(), self.style);
        self.w.push_byte(b'=');
        encode(self.w, value, self.style);
        self
    }

    /// Append one pair whose value `write` writes unescaped. Only for
    /// values made of octets every style keeps (`A-Z a-z 0-9 - . _`), such
    /// as a JWT (base64url and dots): written straight into the request,
    /// never held in a buffer of its own.
    pub fn pair_unescaped(&mut self, name: &str, write: impl FnOnce(&mut Writer<'a>)) -> &mut Self {
        if !self.first {
            self.w.push_byte(b'&');
        }
        self.first = false;
        encode(self.w, name.as_bytes(), self.style);
        self.w.push_byte(b'=');
        write(self.w);
        self
    }
}

/// A form or query value could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FormError {
    /// A `%` not followed by two hexadecimal digits.
    BadEscape,
    /// The decoded value does not fit the destination.
    TooLong {
        /// Capacity of the destination, in octets.
        capacity: usize,
    },
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormError::BadEscape => f.write_str("malformed percent-escape"),
            FormError::TooLong { capacity } => {
                write!(f, "decoded value exceeds {capacity} octets")
            }
        }
    }
}

impl core::error::Error for FormError {}

impl crate::diag::Diagnostic for FormError {
    fn diag(&self) -> crate::diag::Id {
        match self {
            FormError::BadEscape => crate::diag::Id::InvalidArgument,
            FormError::TooLong { .. } => crate::diag::Id::CapacityExceeded,
        }
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decode `input` (`+` is space, `%XX` an octet), giving each octet to `sink`.
/// `sink` answers `false` when it is full.
pub fn decode_with(
    input: &[u8],
    capacity: usize,
    mut sink: impl FnMut(u8) -> bool,
) -> Result<usize, FormError> {
    let mut n = 0usize;
    let mut it = input.iter();
    while let Some(&b) = it.next() {
        let out = match b {
            b'+' => b' ',
            b'%' => {
                let hi = it.next().copied().and_then(hex_val);
                let lo = it.next().copied().and_then(hex_val);
                match (hi, lo) {
                    (Some(h), Some(l)) => (h << 4) | l,
                    _ => return Err(FormError::BadEscape),
                }
            }
            other => other,
        };
        if !sink(out) {
            return Err(FormError::TooLong { capacity });
        }
        n = n.saturating_add(1);
    }
    Ok(n)
}

/// Decode `input` into `out`; the decoded length on success.
pub fn decode(input: &[u8], out: &mut [u8]) -> Result<usize, FormError> {
    let capacity = out.len();
    let mut slots = out.iter_mut();
    decode_with(input, capacity, |b| match slots.next() {
        Some(slot) => {
            *slot = b;
            true
        }
        None => false,
    })
}

/// Decode `input` straight into a secret (authorization codes, states).
pub fn decode_secret<const N: usize>(
    input: &[u8],
    out: &mut crate::secret::SecretBuf<N>,
) -> Result<(), FormError> {
    out.clear();
    let r = decode_with(input, N, |b| out.extend(&[b]).is_ok());
    if r.is_err() {
        out.clear();
    }
    r.map(|_| ())
}

/// Whether the escaped `raw` decodes to exactly `expected`.
#[must_use]
pub fn decodes_to(raw: &[u8], expected: &[u8]) -> bool {
    let mut rest = expected.iter();
    let mut same = true;
    let ok = decode_with(raw, expected.len(), |b| {
        same &= rest.next() == Some(&b);
        true
    });
    ok.is_ok() && same && rest.next().is_none()
}

/// The raw (still escaped) `name`/`value` pairs of a query or form body.
/// Empty segments (`a=1&&b=2`) are skipped; a segment without `=` has an
/// empty value.
pub fn pairs(query: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    query
        .split(|&b| b == b'&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| match seg.iter().position(|&b| b == b'=') {
            Some(eq) => (
                seg.get(..eq).unwrap_or(&[]),
                seg.get(eq.saturating_add(1)..).unwrap_or(&[]),
            ),
            None => (seg, &[][..]),
        })
}

/// The raw value of the first pair named `name`.
#[must_use]
pub fn find<'q>(query: &'q [u8], name: &str) -> Option<&'q [u8]> {
    pairs(query)
        .find(|(n, _)| decodes_to(n, name.as_bytes()))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(value: &[u8], style: Style) -> Vec<u8> {
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf);
        encode(&mut w, value, style);
        let n = w.finish().unwrap();
        assert_eq!(n, encoded_len(value, style));
        buf[..n].to_vec()
    }

    #[test]
    fn rfc6749_appendix_b_vectors() {
        assert_eq!(
            enc(" %&+£€".as_bytes(), Style::Form),
            b"+%25%26%2B%C2%A3%E2%82%AC"
        );
        assert_eq!(
            enc(
                b"https://outlook.office.com/SMTP.Send offline_access",
                Style::Form
            ),
            b"https%3A%2F%2Foutlook.office.com%2FSMTP.Send+offline_access"
        );
        assert_eq!(
            enc(b"urn:ietf:params:oauth:grant-type:device_code", Style::Form),
            b"urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"
        );
    }

    #[test]
    fn query_style_uses_percent_20_and_keeps_tilde() {
        assert_eq!(enc(b"a b~c*", Style::Query), b"a%20b~c%2A");
        assert_eq!(enc(b"a b~c*", Style::Form), b"a+b%7Ec*");
    }

    #[test]
    fn rfc8628_device_token_request_body() {
        let mut buf = [0u8; 256];
        let mut w = Writer::new(&mut buf);
        Pairs::new(&mut w, Style::Form)
            .pair(
                "grant_type",
                b"urn:ietf:params:oauth:grant-type:device_code",
            )
            .pair("device_code", b"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS")
            .pair("client_id", b"1406020730");
        let n = w.finish().unwrap();
        assert_eq!(
            &buf[..n],
            &b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code\
&device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS&client_id=1406020730"[..]
        );
    }

    #[test]
    fn decoding_accepts_plus_and_both_hex_cases_and_refuses_bad_escapes() {
        let mut out = [0u8; 16];
        let n = decode(b"a+b%2fc%2F%e2%82%ac", &mut out).unwrap();
        assert_eq!(&out[..n], "a b/c/€".as_bytes());
        assert_eq!(decode(b"%2", &mut out), Err(FormError::BadEscape));
        assert_eq!(decode(b"%zz", &mut out), Err(FormError::BadEscape));
        assert_eq!(
            decode(b"0123456789abcdefg", &mut out),
            Err(FormError::TooLong { capacity: 16 })
        );
    }

    #[test]
    fn finds_pairs_by_decoded_name() {
        let q = b"code=abc%2Bd&&st%61te=xyz&flag&error=";
        assert_eq!(find(q, "code"), Some(&b"abc%2Bd"[..]));
        assert_eq!(find(q, "state"), Some(&b"xyz"[..]));
        assert_eq!(find(q, "flag"), Some(&b""[..]));
        assert_eq!(find(q, "error"), Some(&b""[..]));
        assert_eq!(find(q, "missing"), None);
        assert!(decodes_to(b"a%20b", b"a b"));
        assert!(!decodes_to(b"a%20b", b"a b "));
        assert!(!decodes_to(b"a%20bc", b"a b"));
    }

    #[test]
    fn decode_secret_clears_on_failure() {
        let mut s = crate::secret::SecretBuf::<4>::new();
        decode_secret(b"ab%41", &mut s).unwrap();
        assert_eq!(s.expose(), b"abA");
        assert_eq!(
            decode_secret(b"abcde", &mut s),
            Err(FormError::TooLong { capacity: 4 })
        );
        assert!(s.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn encode_then_decode_round_trips(value in proptest::collection::vec(proptest::num::u8::ANY, 0..100), query in proptest::bool::ANY) {
            let style = if query { Style::Query } else { Style::Form };
            let e = enc(&value, style);
            proptest::prop_assert!(e.iter().all(|b| b.is_ascii_graphic()));
            proptest::prop_assert!(!e.contains(&b'&') && !e.contains(&b'='));
            let mut out = [0u8; 100];
            let n = decode(&e, &mut out).unwrap();
            proptest::prop_assert_eq!(&out[..n], &value[..]);
        }
    }
}
