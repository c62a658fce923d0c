//! Proof Key for Code Exchange (RFC 7636, `S256` only), the `state` value,
//! and loopback redirect URIs (RFC 8252 §7.3).

use base64::Engine;
use heapless::String;
use sha2::{Digest, Sha256};

use super::OAuthError;
use crate::limits::MAX_REDIRECT_URI_LEN;
use crate::provider::LoopbackHost;
use crate::secret::SecretBuf;

/// Octets of a verifier made from 32 random octets (RFC 7636 §4.1).
pub const VERIFIER_LEN: usize = 43;
/// Octets of an `S256` challenge.
pub const CHALLENGE_LEN: usize = 43;
/// Octets of a `state` made from 16 random octets.
pub const STATE_LEN: usize = 22;

fn b64url(input: &[u8], out: &mut [u8]) -> usize {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode_slice(input, out)
        .unwrap_or(0)
}

/// `BASE64URL(SHA256(verifier))`, unpadded (RFC 7636 §4.2).
#[must_use]
pub fn challenge_s256(verifier: &[u8]) -> [u8; CHALLENGE_LEN] {
    let digest = Sha256::digest(verifier);
    let mut out = [0u8; CHALLENGE_LEN];
    b64url(&digest, &mut out);
    out
}

/// One sign-in's PKCE verifier and challenge, and its `state`.
#[derive(Debug, Clone)]
pub struct Pkce {
    verifier: SecretBuf<VERIFIER_LEN>,
    challenge: [u8; CHALLENGE_LEN],
    state: [u8; STATE_LEN],
}

impl Pkce {
    /// From caller-supplied random octets (a hardware RNG on the board):
    /// the verifier is `BASE64URL(verifier_random)` (RFC 7636 §4.1), the
    /// state `BASE64URL(state_random)`.
    #[must_use]
    pub fn new(verifier_random: &[u8; 32], state_random: &[u8; 16]) -> Self {
        let mut v = [0u8; VERIFIER_LEN];
        b64url(verifier_random, &mut v);
        let mut verifier = SecretBuf::new();
        // 43 octets always fit a 43-octet secret.
        let _ = verifier.set(&v);
        zeroize::Zeroize::zeroize(&mut v);
        let challenge = challenge_s256(verifier.expose());
        let mut state = [0u8; STATE_LEN];
        b64url(state_random, &mut state);
        Pkce {
            verifier,
            challenge,
            state,
        }
    }

    /// The verifier (secret until the code exchange).
    #[must_use]
    pub fn verifier(&self) -> &SecretBuf<VERIFIER_LEN> {
        &self.verifier
    }

    /// The `S256` challenge for the authorize URL.
    #[must_use]
    pub fn challenge(&self) -> &str {
        core::str::from_utf8(&self.challenge).unwrap_or("")
    }

    /// The `state` for the authorize URL.
    #[must_use]
    pub fn state(&self) -> &str {
        core::str::from_utf8(&self.state).unwrap_or("")
    }

    /// Whether `other` is this flow's state (constant time).
    #[must_use]
    pub fn state_matches(&self, other: &[u8]) -> bool {
        if other.len() != STATE_LEN {
            return false;
        }
        self.state
            .iter()
            .zip(other)
            .fold(0u8, |d, (a, b)| d | (a ^ b))
            == 0
    }

    /// Wipe the verifier.
    pub fn clear(&mut self) {
        self.verifier.clear();
    }
}

/// A loopback `redirect_uri` (`http://127.0.0.1:8400`, `http://localhost:8400/cb`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String<MAX_REDIRECT_URI_LEN>);

impl RedirectUri {
    /// `http://{host}:{port}{path}`; `path` is empty or starts with `/` and
    /// uses only unreserved characters and `/`.
    pub fn loopback(host: LoopbackHost, port: u16, path: &str) -> Result<Self, OAuthError> {
        let path_ok = path.is_empty()
            || (path.starts_with('/')
                && path.bytes().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, b'/' | b'-' | b'.' | b'_' | b'~')
                }));
        if port == 0 || !path_ok {
            return Err(OAuthError::InvalidArgument);
        }
        let mut s: String<MAX_REDIRECT_URI_LEN> = String::new();
        let mut digits: String<5> = String::new();
        let mut p = port;
        let mut rev = [0u8; 5];
        let mut n = 0usize;
        while p > 0 {
            if let Some(slot) = rev.get_mut(n) {
                // `p % 10` is below 10.
                *slot = b'0' + (p % 10) as u8;
            }
            p /= 10;
            n = n.saturating_add(1);
        }
        for i in (0..n).rev() {
            let _ = digits.push(char::from(rev.get(i).copied().unwrap_or(b'0')));
        }
        for part in ["http://", host.as_str(), ":", digits.as_str(), path] {
            s.push_str(part)
                .map_err(|_| OAuthError::RedirectMalformed)?;
        }
        Ok(RedirectUri(s))
    }

    /// The URI.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let octets = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        let p = Pkce::new(&octets, &[0; 16]);
        assert_eq!(
            p.verifier().expose(),
            b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
        assert_eq!(p.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(!format!("{p:?}").contains("dBjft"));
    }

    #[test]
    fn rfc7636_appendix_a_base64url_without_padding() {
        let mut out = [0u8; 8];
        let n = b64url(&[3, 236, 255, 224, 193], &mut out);
        assert_eq!(&out[..n], b"A-z_4ME");
    }

    #[test]
    fn state_comparison() {
        let p = Pkce::new(&[1; 32], &[0xfb; 16]);
        assert_eq!(p.state().len(), STATE_LEN);
        assert!(p.state_matches(p.state().as_bytes()));
        assert!(!p.state_matches(b"x"));
        let mut other = *b"AAAAAAAAAAAAAAAAAAAAAA";
        other[0] = b'B';
        assert!(!p.state_matches(&other));
    }

    #[test]
    fn loopback_redirects() {
        assert_eq!(
            RedirectUri::loopback(LoopbackHost::Ipv4, 8400, "")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8400"
        );
        assert_eq!(
            RedirectUri::loopback(LoopbackHost::Ipv6, 65535, "/cb")
                .unwrap()
                .as_str(),
            "http://[::1]:65535/cb"
        );
        assert_eq!(
            RedirectUri::loopback(LoopbackHost::Localhost, 1, "/")
                .unwrap()
                .as_str(),
            "http://localhost:1/"
        );
        assert_eq!(
            RedirectUri::loopback(LoopbackHost::Ipv4, 0, ""),
            Err(OAuthError::InvalidArgument)
        );
        assert!(RedirectUri::loopback(LoopbackHost::Ipv4, 80, "cb").is_err());
        assert!(RedirectUri::loopback(LoopbackHost::Ipv4, 80, "/a?b").is_err());
    }
}
