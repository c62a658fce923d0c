//! EHLO capabilities (RFC 5321 §4.1.1.1) that the submission client uses.
//!
//! Each line after the first of a `250` EHLO reply is a keyword with
//! parameters. Only what the client acts on is kept, in a small `Copy`
//! value; RFC 3207 §4.2 requires forgetting it all after STARTTLS, which is
//! `Capabilities::default()`.

/// Server extensions and SASL mechanisms seen in one EHLO reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Capabilities {
    /// STARTTLS (RFC 3207).
    pub starttls: bool,
    /// PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// SIZE (RFC 1870): `Some(0)` means no fixed limit.
    pub size: Option<u64>,
    /// 8BITMIME (RFC 6152).
    pub eight_bit_mime: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// ENHANCEDSTATUSCODES (RFC 2034).
    pub enhanced_status_codes: bool,
    /// CHUNKING (RFC 3030).
    pub chunking: bool,
    /// SASL mechanisms offered in AUTH.
    pub auth: AuthMechanisms,
}

/// The SASL mechanisms an `AUTH` capability line offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AuthMechanisms {
    /// XOAUTH2 (Google, Microsoft).
    pub xoauth2: bool,
    /// OAUTHBEARER (RFC 7628).
    pub oauthbearer: bool,
    /// PLAIN (not used by this client; reported by diagnostics).
    pub plain: bool,
    /// LOGIN (not used by this client; reported by diagnostics).
    pub login: bool,
}

impl AuthMechanisms {
    /// Whether any mechanism the client can use is offered.
    #[must_use]
    pub const fn any_oauth(&self) -> bool {
        self.xoauth2 || self.oauthbearer
    }
}

impl Capabilities {
    /// Take one capability line (the text after `250-` / `250 `).
    /// Unknown keywords are ignored, as RFC 5321 requires.
    pub fn parse_line(&mut self, text: &[u8]) {
        let mut words = text
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|w| !w.is_empty());
        let Some(first) = words.next() else { return };
        // Some servers still write the pre-standard `AUTH=MECH MECH`.
        let (keyword, inline_param) = match first.iter().position(|&b| b == b'=') {
            Some(eq) => (first.get(..eq).unwrap_or(&[]), first.get(eq + 1..)),
            None => (first, None),
        };
        let is = |name: &[u8]| keyword.eq_ignore_ascii_case(name);
        if is(b"AUTH") {
            for mech in inline_param.into_iter().chain(words) {
                self.auth.add(mech);
            }
        } else if is(b"STARTTLS") {
            self.starttls = true;
        } else if is(b"PIPELINING") {
            self.pipelining = true;
        } else if is(b"SIZE") {
            self.size = Some(words.next().and_then(parse_u64).unwrap_or(0));
        } else if is(b"8BITMIME") {
            self.eight_bit_mime = true;
        } else if is(b"SMTPUTF8") {
            self.smtputf8 = true;
        } else if is(b"ENHANCEDSTATUSCODES") {
            self.enhanced_status_codes = true;
        } else if is(b"CHUNKING") {
            self.chunking = true;
        }
    }

    /// Whether a message of `size` octets exceeds the advertised limit.
    #[must_use]
    pub fn exceeds_size(&self, size: u64) -> bool {
        matches!(self.size, Some(limit) if limit > 0 && size > limit)
    }
}

impl AuthMechanisms {
    fn add(&mut self, mech: &[u8]) {
        if mech.eq_ignore_ascii_case(b"XOAUTH2") {
            self.xoauth2 = true;
        } else if mech.eq_ignore_ascii_case(b"OAUTHBEARER") {
            self.oauthbearer = true;
        } else if mech.eq_ignore_ascii_case(b"PLAIN") {
            self.plain = true;
        } else if mech.eq_ignore_ascii_case(b"LOGIN") {
            self.login = true;
        }
    }
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(lines: &[&str]) -> Capabilities {
        let mut c = Capabilities::default();
        for l in lines {
            c.parse_line(l.as_bytes());
        }
        c
    }

    #[test]
    fn office365_after_starttls() {
        let c = caps(&[
            "SIZE 157286400",
            "PIPELINING",
            "DSN",
            "ENHANCEDSTATUSCODES",
            "AUTH LOGIN XOAUTH2",
            "8BITMIME",
            "BINARYMIME",
            "CHUNKING",
            "SMTPUTF8",
        ]);
        assert_eq!(c.size, Some(157_286_400));
        assert!(
            c.pipelining && c.enhanced_status_codes && c.chunking && c.smtputf8 && c.eight_bit_mime
        );
        assert!(c.auth.xoauth2 && c.auth.login && !c.auth.oauthbearer && !c.auth.plain);
        assert!(!c.starttls);
        assert!(c.exceeds_size(157_286_401));
        assert!(!c.exceeds_size(157_286_400));
    }

    #[test]
    fn gmail_mechanisms_and_legacy_auth_equals() {
        let c = caps(&["AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH"]);
        assert!(c.auth.xoauth2 && c.auth.oauthbearer && c.auth.plain && c.auth.login);
        let legacy = caps(&["auth=xoauth2 login"]);
        assert!(legacy.auth.xoauth2 && legacy.auth.login);
    }

    #[test]
    fn size_without_limit_and_garbage_are_harmless() {
        assert_eq!(caps(&["SIZE"]).size, Some(0));
        assert!(!caps(&["SIZE"]).exceeds_size(u64::MAX));
        assert_eq!(caps(&["SIZE 99999999999999999999999"]).size, Some(0));
        assert_eq!(
            caps(&["", "   ", "\u{1}\u{2}", "STARTTLSX"]),
            Capabilities::default()
        );
    }
}
