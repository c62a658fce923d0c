//! App-only sign-in with a signed assertion (R-APP, issue 18): what the
//! client keeps between asking for a signature and sending the request,
//! and the signer the caller brings.
//!
//! The private key never enters the core. The client writes the JWS
//! signing input ([`Client::signing_input`](super::Client::signing_input)
//! or, a piece at a time, [`Client::stream_signing_input`](super::Client::stream_signing_input)),
//! the firmware signs it with its own crypto or secure element and hands
//! the signature back ([`Client::handle_signature`](super::Client::handle_signature)).
//! [`AssertionSigner`] and [`Client::sign_with`](super::Client::sign_with)
//! do both steps for a Rust signer.

use core::fmt;

use heapless::String;

use crate::address::Address;
use crate::limits::{MAX_KEY_ID_LEN, MAX_SIGNATURE_LEN};
use crate::provider::{AppRegistration, Provider};
use crate::secret::SecretBuf;
use crate::time::{Duration, Instant};
use crate::wire::jwt::{Assertion, JwsAlg, JTI_LEN, THUMBPRINT_LEN};
use crate::wire::writer::Writer;

use super::OAuthError;

/// How long an assertion is valid after it is issued (`exp` − `nbf` /
/// `iat`): long enough for a slow link, well within Google's hour.
pub const ASSERTION_LIFETIME: Duration = Duration::from_mins(10);
/// How long the firmware may take to hand the signature back before the
/// flow fails ([`OAuthError::SigningFailed`]).
pub const SIGNATURE_TIMEOUT: Duration = Duration::from_secs(60);
/// Wall-clock seconds below which the clock is taken as not set
/// (2020-01-01T00:00:00Z): an assertion dated 1970 is refused anyway.
pub const MIN_WALL_CLOCK: u64 = 1_577_836_800;

/// A signer refused or failed (the key missing, a secure element's fault).
/// Carries nothing: its own log says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SignError;

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the assertion could not be signed")
    }
}

impl core::error::Error for SignError {}

/// Signs an app-only assertion with a key the core never sees.
pub trait AssertionSigner {
    /// Sign `input` (the JWS signing input) with the algorithm the flow
    /// was started with (RS256 unless said otherwise) and write the
    /// signature into `out` ([`MAX_SIGNATURE_LEN`] octets); return its
    /// length.
    fn sign(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize, SignError>;
}

/// SHA-256 thumbprint of the certificate uploaded to the app registration
/// (the `x5t#S256` header, RFC 7515 §4.1.8): the SHA-256 of its DER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Thumbprint([u8; THUMBPRINT_LEN]);

impl Thumbprint {
    /// From its 32 octets.
    #[must_use]
    pub const fn from_octets(octets: [u8; THUMBPRINT_LEN]) -> Self {
        Thumbprint(octets)
    }

    /// From text: 64 hexadecimal digits, in either case, optionally in
    /// pairs separated by `:` (`openssl x509 -fingerprint -sha256`), or
    /// base64url (43 characters) or base64 (44 with its `=`).
    pub fn parse(text: &str) -> Result<Self, OAuthError> {
        use base64::Engine as _;
        let text = text.trim();
        let mut octets = [0u8; THUMBPRINT_LEN];
        let hex_digits = text.bytes().filter(|&b| b != b':').count();
        if hex_digits == 2 * THUMBPRINT_LEN
            && text.bytes().all(|b| b == b':' || b.is_ascii_hexdigit())
        {
            let mut digits = text.bytes().filter(|&b| b != b':');
            for o in &mut octets {
                let hi = digits.next().and_then(hex_value);
                let lo = digits.next().and_then(hex_value);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(OAuthError::InvalidArgument);
                };
                *o = hi << 4 | lo;
            }
            return Ok(Thumbprint(octets));
        }
        let unpadded = text.strip_suffix('=').unwrap_or(text);
        let mut decoded = [0u8; THUMBPRINT_LEN + 3];
        // The engines by reference: each holds its 320 octets of tables,
        // and an array of them by value put both on the stack (R-MEM).
        let engines = [
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
        ];
        for engine in engines {
            if let Ok(THUMBPRINT_LEN) = engine.decode_slice(unpadded, &mut decoded) {
                octets.copy_from_slice(decoded.get(..THUMBPRINT_LEN).unwrap_or(&[0; 32]));
                return Ok(Thumbprint(octets));
            }
        }
        Err(OAuthError::InvalidArgument)
    }

    /// The 32 octets.
    #[must_use]
    pub const fn octets(&self) -> &[u8; THUMBPRINT_LEN] {
        &self.0
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A Google Workspace service account acting for a mailbox (domain-wide
/// delegation, RFC 7523 §2.1).
#[derive(Debug, Clone, Copy)]
pub struct ServiceAccount<'a> {
    /// The key file's `client_email`: the assertion's `iss`.
    pub client_email: &'a str,
    /// The mailbox to act for: the assertion's `sub`.
    pub subject: &'a Address,
    /// The key file's `private_key_id`, sent as the header's `kid`
    /// (optional; at most [`MAX_KEY_ID_LEN`] printable ASCII octets).
    pub key_id: Option<&'a str>,
}

/// Who the assertion is from, and for.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // in place in the client's grant, never moved
pub(super) enum AssertionKind {
    /// RFC 7523 §2.2 client authentication with a certificate credential
    /// (Microsoft Entra): `iss` = `sub` = the client id.
    Certificate {
        thumbprint: Thumbprint,
        alg: JwsAlg,
        jti_seed: [u8; JTI_LEN],
    },
    /// RFC 7523 §2.1 authorization grant (Google service account).
    ServiceAccount {
        issuer: Address,
        subject: Address,
        key_id: String<MAX_KEY_ID_LEN>,
    },
}

/// The grant of an assertion flow. Not secret but the signature (a bearer
/// credential until `exp`), which is wiped once sent.
#[derive(Debug, Clone)]
pub(super) struct AssertionGrant {
    pub(super) kind: AssertionKind,
    /// Wall-clock seconds at `started`, from the caller.
    wall_at_start: u64,
    started: Instant,
    /// `iat` / `nbf` of the assertion asked or sent.
    issued_at: u64,
    /// Signatures asked so far, minus one: varies the `jti` of each.
    attempt: u32,
    pub(super) signature: SecretBuf<MAX_SIGNATURE_LEN>,
}

/// Room for the token endpoint's URL (the `aud` claim).
const AUD_LEN: usize = crate::limits::MAX_DOMAIN_LEN + crate::limits::MAX_ENDPOINT_PATH_LEN + 16;

impl AssertionGrant {
    pub(super) fn new(kind: AssertionKind, now: Instant, wall_secs: u64) -> Self {
        AssertionGrant {
            kind,
            wall_at_start: wall_secs,
            started: now,
            issued_at: wall_secs,
            attempt: 0,
            signature: SecretBuf::new(),
        }
    }

    /// Date the assertion about to be signed at `now`.
    pub(super) fn date(&mut self, now: Instant) {
        self.issued_at = self
            .wall_at_start
            .saturating_add(now.saturating_since(self.started).as_secs());
        self.signature.clear();
    }

    /// The signature was sent: wipe it; the next one gets another `jti`.
    pub(super) fn sent(&mut self) {
        self.signature.clear();
        self.attempt = self.attempt.wrapping_add(1);
    }

    pub(super) fn is_signed(&self) -> bool {
        !self.signature.is_empty()
    }

    pub(super) fn is_service_account(&self) -> bool {
        matches!(self.kind, AssertionKind::ServiceAccount { .. })
    }

    /// Run `f` with the assertion's fields.
    pub(super) fn with<R>(
        &self,
        provider: &Provider,
        app: &AppRegistration,
        f: impl FnOnce(&Assertion<'_>) -> R,
    ) -> R {
        let mut aud_buf = [0u8; AUD_LEN];
        let mut w = Writer::new(&mut aud_buf);
        provider.token_endpoint().write_url(&mut w);
        let aud_len = w.finish().unwrap_or(0);
        let aud = aud_buf
            .get(..aud_len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("");
        let exp = self.issued_at.saturating_add(ASSERTION_LIFETIME.as_secs());
        match &self.kind {
            AssertionKind::Certificate {
                thumbprint,
                alg,
                jti_seed,
            } => {
                let mut jti = *jti_seed;
                for (j, a) in jti.iter_mut().skip(12).zip(self.attempt.to_le_bytes()) {
                    *j ^= a;
                }
                f(&Assertion {
                    alg: *alg,
                    x5t_s256: Some(thumbprint.octets()),
                    kid: None,
                    aud,
                    iss: app.client_id(),
                    sub: app.client_id(),
                    scope: None,
                    jti: Some(&jti),
                    iat: None,
                    nbf: Some(self.issued_at),
                    exp,
                })
            }
            AssertionKind::ServiceAccount {
                issuer,
                subject,
                key_id,
            } => f(&Assertion {
                alg: JwsAlg::Rs256,
                x5t_s256: None,
                kid: (!key_id.is_empty()).then_some(key_id.as_str()),
                aud,
                iss: issuer.as_str(),
                sub: subject.as_str(),
                scope: Some(provider.app_only_scope()),
                jti: None,
                iat: Some(self.issued_at),
                nbf: None,
                exp,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    #[test]
    fn thumbprints_parse_from_hex_colons_and_base64() {
        let octets: [u8; 32] = core::array::from_fn(|i| (i as u8).wrapping_mul(37));
        let want = Thumbprint::from_octets(octets);
        let hex: String = octets.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(Thumbprint::parse(&hex), Ok(want));
        assert_eq!(Thumbprint::parse(&hex.to_lowercase()), Ok(want));
        let colons: Vec<_> = octets.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(Thumbprint::parse(&colons.join(":")), Ok(want));
        use base64::Engine as _;
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(octets);
        assert_eq!(Thumbprint::parse(&url), Ok(want));
        let std64 = base64::engine::general_purpose::STANDARD.encode(octets);
        assert_eq!(Thumbprint::parse(&std64), Ok(want));
        for bad in ["", "00", &hex[1..], &url[1..], "zz", &format!("{hex}00")] {
            assert_eq!(
                Thumbprint::parse(bad),
                Err(OAuthError::InvalidArgument),
                "{bad}"
            );
        }
    }
}
