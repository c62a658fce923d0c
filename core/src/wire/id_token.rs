//! The account that signed in, read from the OpenID Connect `id_token` of a
//! token response (R-ACCT).
//!
//! The `id_token` is a JWS in compact form, `header.payload.signature`, each
//! part base64url without padding (RFC 7515 §7.1). Only the payload is read:
//! its `email` claim (unless `email_verified` is `false`), else Microsoft's
//! `preferred_username`, else `upn`.
//!
//! **The signature is not checked, on purpose.** The `id_token` is read only
//! from the token endpoint's own answer, over the TLS connection the printer
//! opened to that endpoint (the server's certificate verified), so OpenID
//! Connect Core 1.0 §3.1.3.7 (item 6) lets the client use the TLS server
//! validation in place of the token's signature. An `id_token` obtained any
//! other way must not be given to [`read_account`].
//!
//! [`read_account`] decodes the payload **in place**, over the token's own
//! octets, so no buffer of its size is needed. The OAuth client does not
//! hold the token at all: it reads the same claims as the token arrives
//! (`json::AccountReader`, base64url decoded a few octets at a time into a
//! streaming JSON scan), with the same results. Nothing here
//! panics on any input: a malformed, truncated or huge token gives
//! [`SignedInAccount::Unreadable`], which the token store treats as an
//! unverified account, like a response without an `id_token`.
//!
//! The `id_token` is not a credential for SMTP, but it names the person:
//! never log it whole (the account read from it is what the logs show).

use core::fmt;

use heapless::String;
use serde::Deserialize;
use serde_json_core::str::EscapedStr;

use super::json::{parse_either, unescape_string, Field};
use crate::address::Address;
use crate::limits::MAX_ADDRESS_LEN;

/// Why no account could be read from an `id_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum IdTokenError {
    /// Not three base64url parts separated by dots (an encrypted JWE has
    /// five), or a payload that is not base64url.
    NotCompactJws,
    /// The payload is not a JSON object (or nests too deeply).
    PayloadMalformed,
    /// No `email`, `preferred_username` or `upn` claim holding an address.
    NoAccountClaim,
    /// The provider says the `email` is not verified (`email_verified`
    /// false), and no other claim names the account.
    EmailNotVerified,
}

impl fmt::Display for IdTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdTokenError::NotCompactJws => "id_token is not a compact JWS",
            IdTokenError::PayloadMalformed => "id_token payload is not a JSON object",
            IdTokenError::NoAccountClaim => "id_token names no e-mail account",
            IdTokenError::EmailNotVerified => "id_token e-mail is not verified",
        })
    }
}

impl core::error::Error for IdTokenError {}

/// Who signed in, as the token response says (R-ACCT).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
// No heap to box the address in; the value lives in place in the OAuth
// client's `TokenResponse`.
#[allow(clippy::large_enum_variant)]
pub enum SignedInAccount {
    /// The response had no `id_token` (no OpenID scope, or a provider that
    /// gives none; refresh responses are not read): the account is
    /// **unverified**, the configured address is assumed.
    #[default]
    NoIdToken,
    /// An `id_token` came but named no usable account: unverified too.
    Unreadable(IdTokenError),
    /// The account the provider says signed in.
    Account(Address),
}

impl SignedInAccount {
    /// The account learned from the provider, if any.
    #[must_use]
    pub fn address(&self) -> Option<&Address> {
        match self {
            SignedInAccount::Account(a) => Some(a),
            _ => None,
        }
    }
}

/// The value of one base64url character (RFC 4648 §5).
pub(super) fn b64url(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decode base64url (padding tolerated) over `buf` itself; returns the
/// decoded length. Each output octet is written at an index already read,
/// so decoding in place is safe.
fn decode_in_place(buf: &mut [u8]) -> Option<usize> {
    let mut n = buf.len();
    while n > 0 && buf.get(n - 1) == Some(&b'=') {
        n -= 1;
    }
    if n % 4 == 1 {
        return None;
    }
    let (mut acc, mut bits, mut out) = (0u32, 0u32, 0usize);
    for i in 0..n {
        let v = b64url(*buf.get(i)?)?;
        acc = ((acc << 6) | v) & 0x00FF_FFFF;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            *buf.get_mut(out)? = ((acc >> bits) & 0xFF) as u8;
            out += 1;
        }
    }
    Some(out)
}

#[derive(Deserialize)]
struct Claims<'a, B> {
    #[serde(borrow)]
    email: Option<EscapedStr<'a>>,
    email_verified: Option<B>,
    #[serde(borrow)]
    preferred_username: Option<EscapedStr<'a>>,
    #[serde(borrow)]
    upn: Option<EscapedStr<'a>>,
}

/// `email_verified` as a boolean or, from some servers, a string.
trait Flag {
    fn is_false(&self) -> bool;
}

impl Flag for bool {
    fn is_false(&self) -> bool {
        !*self
    }
}

impl Flag for EscapedStr<'_> {
    fn is_false(&self) -> bool {
        self.0.trim().eq_ignore_ascii_case("false")
    }
}

fn address(raw: Option<EscapedStr<'_>>) -> Option<Address> {
    let mut s: String<MAX_ADDRESS_LEN> = String::new();
    unescape_string(raw?.0, &mut s, Field::Error).ok()?;
    Address::parse(&s).ok()
}

fn account<B: Flag>(c: &Claims<'_, B>) -> Result<Address, IdTokenError> {
    let unverified = c.email_verified.as_ref().is_some_and(Flag::is_false);
    let email = if unverified { None } else { address(c.email) };
    email
        .or_else(|| address(c.preferred_username))
        .or_else(|| address(c.upn))
        .ok_or(if unverified {
            IdTokenError::EmailNotVerified
        } else {
            IdTokenError::NoAccountClaim
        })
}

/// Read the account from the compact `id_token` in `token` (R-ACCT). The
/// payload is decoded over `token`'s own octets (they are overwritten).
/// The signature is not checked: see the module documentation (OpenID
/// Connect Core §3.1.3.7), so give it only an `id_token` read from the
/// token endpoint's own TLS answer.
pub fn read_account(token: &mut [u8]) -> SignedInAccount {
    match account_in(token) {
        Ok(a) => SignedInAccount::Account(a),
        Err(e) => SignedInAccount::Unreadable(e),
    }
}

fn account_in(token: &mut [u8]) -> Result<Address, IdTokenError> {
    let bad = IdTokenError::NotCompactJws;
    let first = token.iter().position(|&b| b == b'.').ok_or(bad)?;
    let rest = token.get_mut(first.saturating_add(1)..).ok_or(bad)?;
    let second = rest.iter().position(|&b| b == b'.').ok_or(bad)?;
    let (payload, signature) = rest.split_at_mut_checked(second).ok_or(bad)?;
    // `signature` starts with the second dot; a third dot means a JWE.
    if signature.iter().skip(1).any(|&b| b == b'.') || payload.is_empty() {
        return Err(bad);
    }
    let len = decode_in_place(payload).ok_or(bad)?;
    let json = payload.get(..len).ok_or(bad)?;
    match parse_either::<Claims<'_, bool>, Claims<'_, EscapedStr<'_>>>(json) {
        Ok(Ok(c)) => account(&c),
        Ok(Err(c)) => account(&c),
        Err(_) => Err(IdTokenError::PayloadMalformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn b64(s: &[u8]) -> std::string::String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    /// `header.payload.signature`, as a provider signs it (the signature is
    /// any octets: it is not checked).
    fn jwt(payload: &str) -> Vec<u8> {
        format!(
            "{}.{}.{}",
            b64(br#"{"alg":"RS256","kid":"1f8b","typ":"JWT"}"#),
            b64(payload.as_bytes()),
            b64(&[0xA5; 256])
        )
        .into_bytes()
    }

    fn read(payload: &str) -> SignedInAccount {
        read_account(&mut jwt(payload))
    }

    fn acct(s: &str) -> SignedInAccount {
        SignedInAccount::Account(Address::parse(s).unwrap())
    }

    #[test]
    fn google_id_token_gives_the_verified_email() {
        // Shaped like Google's (developers.google.com/identity/openid-connect).
        let p = r#"{"iss":"https://accounts.google.com","azp":"1234987819200.apps.googleusercontent.com","aud":"1234987819200.apps.googleusercontent.com","sub":"10769150350006150715113082367","at_hash":"HK6E_P6Dh8Y93mRNtsDB1Q","hd":"contoso.com","email":"mailbox@contoso.com","email_verified":true,"iat":1353601026,"exp":1353604926}"#;
        assert_eq!(read(p), acct("mailbox@contoso.com"));
        // email_verified as a string (some servers).
        let s = p.replace("true", r#""true""#);
        assert_eq!(read(&s), acct("mailbox@contoso.com"));
        // An unverified e-mail is not taken as the account.
        let f = p.replace("true", "false");
        assert_eq!(
            read(&f),
            SignedInAccount::Unreadable(IdTokenError::EmailNotVerified)
        );
        let f = p.replace("true", r#""False""#);
        assert_eq!(
            read(&f),
            SignedInAccount::Unreadable(IdTokenError::EmailNotVerified)
        );
    }

    #[test]
    fn microsoft_id_token_gives_preferred_username_then_upn() {
        // Shaped like Entra ID's v2.0 id_token (no `email` unless configured).
        let p = r#"{"aud":"6cb04018-a3f5-46a7-b995-940c78f5aef3","iss":"https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0","iat":1536275124,"nbf":1536275124,"exp":1536279024,"aio":"AXQAi/8IAAAAqxsuB+R4D2rFQqOETO4YdXbLD9kZ8xfXadeAM0Q2NkNT5izfg3uwbWSXhuSSj6UT5hy2D6WqApB5jKA6ZgZ9k/SU27uV9cetXfLOtpNttgk5DcBtk+LLstz/Jg+gYRmv9bUU4XlphTc6C86Jmj1FCw==","amr":["pwd","mfa"],"name":"Mailbox","oid":"00000000-0000-0000-66f3-3332eca7ea81","preferred_username":"mailbox@contoso.com","rh":"I","sub":"AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ","tid":"9188040d-6c67-4c5b-b112-36a304b66dad","uti":"fqiBqXLPj0eQa82S-IYFAA","ver":"2.0","groups":{"nested":[1,[2,{"x":"\u0041"}]]}}"#;
        assert_eq!(read(p), acct("mailbox@contoso.com"));
        let upn_only = p.replace("preferred_username", "upn");
        assert_eq!(read(&upn_only), acct("mailbox@contoso.com"));
        // `email`, when the tenant adds it, comes first.
        let both = p.replace(r#""rh":"I""#, r#""email":"Mailbox@Contoso.com""#);
        assert_eq!(read(&both), acct("Mailbox@Contoso.com"));
        // A personal account's preferred_username may be a phone number:
        // no account.
        let phone = p.replace("mailbox@contoso.com", "+33612345678");
        assert_eq!(
            read(&phone),
            SignedInAccount::Unreadable(IdTokenError::NoAccountClaim)
        );
        // Escapes in the claim are undone.
        let esc = p.replace("mailbox@contoso.com", r"mailbox\u0040contoso.com");
        assert_eq!(read(&esc), acct("mailbox@contoso.com"));
    }

    #[test]
    fn decoding_is_base64url_and_in_place() {
        for s in [
            "",
            "f",
            "fo",
            "foo",
            "foob",
            "fooba",
            "foobar",
            "\u{ff}\u{fe}?>",
        ] {
            let mut buf = b64(s.as_bytes()).into_bytes();
            let n = decode_in_place(&mut buf).unwrap();
            assert_eq!(&buf[..n], s.as_bytes(), "{s}");
        }
        let mut padded = b"Zm9vYg==".to_vec();
        assert_eq!(decode_in_place(&mut padded), Some(4));
        for bad in [&b"Zm9vY"[..], b"Zm+v", b"Zm/v", b"Zm9v\n", b"Zm=v"] {
            assert_eq!(decode_in_place(&mut bad.to_vec()), None, "{bad:?}");
        }
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "megabyte tokens; the reader runs under Miri on real-sized tokens in the other id_token tests"
    )]
    fn malformed_and_huge_id_tokens_are_unreadable_never_a_panic() {
        let good = jwt(r#"{"email":"a@b.c"}"#);
        let text = std::string::String::from_utf8(good.clone()).unwrap();
        let parts: Vec<&str> = text.split('.').collect();
        let not_jws = SignedInAccount::Unreadable(IdTokenError::NotCompactJws);
        for bad in [
            std::string::String::new(),
            ".".into(),
            "..".into(),
            "a.b".into(),
            parts[1].to_string(),
            format!("{}.{}", parts[0], parts[1]),
            format!("{}..{}", parts[0], parts[2]),
            format!("{}.{}.{}.{}.{}", parts[0], parts[1], parts[2], "x", "y"),
            format!("{}.{}!.{}", parts[0], parts[1], parts[2]),
            format!(r"{}.{}\/.{}", parts[0], parts[1], parts[2]),
        ] {
            assert_eq!(
                read_account(&mut bad.clone().into_bytes()),
                not_jws,
                "{bad}"
            );
        }
        let malformed = SignedInAccount::Unreadable(IdTokenError::PayloadMalformed);
        for payload in [
            "null",
            "[]",
            "{",
            r#"{"email":}"#,
            r#"{"email":"a@b.c""#,
            r#"{"email":12}"#,
            r#"{"email_verified":"yes","email":["a@b.c"]}"#,
        ] {
            let t = format!("{}.{}.{}", parts[0], b64(payload.as_bytes()), parts[2]);
            assert_eq!(read_account(&mut t.into_bytes()), malformed, "{payload}");
        }
        // Too deep.
        let deep = format!(r#"{{"x":{}1{}}}"#, "[".repeat(100), "]".repeat(100));
        assert_eq!(read(&deep), malformed);
        // Huge: a 1 MB claim around the e-mail, and a 1 MB address.
        let big = format!(
            r#"{{"pad":"{}","email":"mailbox@contoso.com"}}"#,
            "x".repeat(1 << 20)
        );
        assert_eq!(read(&big), acct("mailbox@contoso.com"));
        let long = format!(r#"{{"email":"{}@contoso.com"}}"#, "x".repeat(1 << 20));
        assert_eq!(
            read(&long),
            SignedInAccount::Unreadable(IdTokenError::NoAccountClaim)
        );
        // No claim at all; a claim that is not an address.
        assert_eq!(
            read(r#"{"sub":"1"}"#),
            SignedInAccount::Unreadable(IdTokenError::NoAccountClaim)
        );
        assert_eq!(
            read(r#"{"email":"a\r\nRCPT TO:<x@y.z>@b.c"}"#),
            SignedInAccount::Unreadable(IdTokenError::NoAccountClaim)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_octets_never_panic(mut data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = read_account(&mut data);
        }

        #[test]
        fn any_payload_never_panics(payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = read_account(&mut format!("e30.{}.c2ln", b64(&payload)).into_bytes());
        }
    }
}
