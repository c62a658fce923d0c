//! Signing of app-only assertions on the host (R-APP, issue 18): an RSA
//! private key from a file, with `ring`, behind the core's
//! [`AssertionSigner`]; the SHA-256 thumbprint of a certificate file; and
//! a Google service account's JSON key file.
//!
//! The key stays in this process's `ring` key pair: the core only sees
//! the octets to sign and the signature. The file's text is wiped once
//! read, and nothing here prints a key.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use mfp_oauth_core::oauth::{AssertionSigner, JwsAlg, SignError, Thumbprint};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Why a key or certificate could not be used. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerError {
    /// The file could not be read.
    Io(String),
    /// No PEM block of the kind expected, and not DER either.
    NoPemBlock(&'static str),
    /// A PEM block whose base64 is damaged.
    BadPem,
    /// An encrypted private key (`ENCRYPTED PRIVATE KEY`).
    EncryptedKey,
    /// Not an RSA key `ring` accepts (2048 to 8192 bits, PKCS#8 or
    /// PKCS#1); `ring`'s reason.
    KeyRejected(String),
    /// A service account key file that is not one (its field missing).
    ServiceAccountJson(&'static str),
}

impl fmt::Display for SignerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignerError::Io(e) => write!(f, "cannot read the file: {e}"),
            SignerError::NoPemBlock(label) => {
                write!(f, "no {label} found (PEM or DER expected)")
            }
            SignerError::BadPem => f.write_str("damaged PEM (bad base64)"),
            SignerError::EncryptedKey => f.write_str(
                "the private key is encrypted; decrypt it first (openssl pkcs8 -in KEY -out PLAIN.pem)",
            ),
            SignerError::KeyRejected(why) => {
                write!(f, "not a usable RSA private key (2048 to 8192 bits): {why}")
            }
            SignerError::ServiceAccountJson(field) => {
                write!(f, "not a service account key file: no {field}")
            }
        }
    }
}

impl std::error::Error for SignerError {}

/// The DER of the first PEM block labelled `label` in `text`, if any.
fn pem_block(text: &str, label: &str) -> Option<Result<Zeroizing<Vec<u8>>, SignerError>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let len = text[start..].find(&end)?;
    let b64: Zeroizing<String> = Zeroizing::new(
        text[start..start + len]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect(),
    );
    Some(
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map(Zeroizing::new)
            .map_err(|_| SignerError::BadPem),
    )
}

fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, SignerError> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| SignerError::Io(format!("{}: {e}", path.display())))
}

/// An RSA private key that signs assertions (RS256 by default).
pub struct RsaSigner {
    key: RsaKeyPair,
    alg: JwsAlg,
    rng: SystemRandom,
}

impl fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaSigner")
            .field("bits", &(self.key.public().modulus_len() * 8))
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl RsaSigner {
    /// From DER: PKCS#8 `PrivateKeyInfo`, or PKCS#1 `RSAPrivateKey`.
    pub fn from_der(der: &[u8]) -> Result<Self, SignerError> {
        let key = RsaKeyPair::from_pkcs8(der)
            .or_else(|_| RsaKeyPair::from_der(der))
            .map_err(|e| SignerError::KeyRejected(e.to_string()))?;
        Ok(RsaSigner {
            key,
            alg: JwsAlg::Rs256,
            rng: SystemRandom::new(),
        })
    }

    /// From PEM text: `PRIVATE KEY` (PKCS#8, as in a Google key file) or
    /// `RSA PRIVATE KEY` (PKCS#1). Other blocks (a certificate in the same
    /// file) are skipped.
    pub fn from_pem(text: &str) -> Result<Self, SignerError> {
        if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err(SignerError::EncryptedKey);
        }
        let der = pem_block(text, "PRIVATE KEY")
            .or_else(|| pem_block(text, "RSA PRIVATE KEY"))
            .ok_or(SignerError::NoPemBlock("private key"))??;
        Self::from_der(&der)
    }

    /// From a PEM or DER file.
    pub fn from_file(path: &Path) -> Result<Self, SignerError> {
        let bytes = read(path)?;
        match std::str::from_utf8(&bytes) {
            Ok(text) if text.contains("-----BEGIN") => Self::from_pem(text),
            _ => Self::from_der(&bytes),
        }
    }

    /// Sign with `alg` instead (PS256 for an Entra certificate credential
    /// that asks for it). Start the core's flow with the same.
    #[must_use]
    pub fn with_alg(mut self, alg: JwsAlg) -> Self {
        self.alg = alg;
        self
    }

    /// The algorithm the signatures are made with.
    #[must_use]
    pub fn alg(&self) -> JwsAlg {
        self.alg
    }

    /// Length of a signature, in octets (the modulus: 256 for 2048 bits).
    #[must_use]
    pub fn signature_len(&self) -> usize {
        self.key.public().modulus_len()
    }

    /// The public key, DER `RSAPublicKey` (PKCS#1), to verify with.
    #[must_use]
    pub fn public_key_der(&self) -> &[u8] {
        self.key.public().as_ref()
    }
}

impl AssertionSigner for RsaSigner {
    fn sign(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize, SignError> {
        let len = self.signature_len();
        let out = out.get_mut(..len).ok_or(SignError)?;
        let padding: &'static dyn ring::signature::RsaEncoding = match self.alg {
            JwsAlg::Rs256 => &RSA_PKCS1_SHA256,
            JwsAlg::Ps256 => &RSA_PSS_SHA256,
        };
        self.key
            .sign(padding, &self.rng, input, out)
            .map_err(|_| SignError)?;
        Ok(len)
    }
}

/// The `x5t#S256` thumbprint of a certificate: SHA-256 of its DER, from
/// PEM (`CERTIFICATE`, the first one) or DER octets.
pub fn certificate_thumbprint(bytes: &[u8]) -> Result<Thumbprint, SignerError> {
    let digest = match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN") => {
            let der =
                pem_block(text, "CERTIFICATE").ok_or(SignerError::NoPemBlock("certificate"))??;
            Sha256::digest(&der[..])
        }
        // DER: an X.509 certificate is a SEQUENCE.
        _ if bytes.first() == Some(&0x30) => Sha256::digest(bytes),
        _ => return Err(SignerError::NoPemBlock("certificate")),
    };
    Ok(Thumbprint::from_octets(digest.into()))
}

/// [`certificate_thumbprint`] of a file.
pub fn certificate_thumbprint_file(path: &Path) -> Result<Thumbprint, SignerError> {
    certificate_thumbprint(&read(path)?)
}

/// A Google service account's JSON key file: who signs, and the key.
#[derive(Debug)]
pub struct ServiceAccountKey {
    /// `client_email`: the assertion's issuer.
    pub client_email: String,
    /// `private_key_id`: the header's `kid`.
    pub private_key_id: Option<String>,
    /// The `private_key`, ready to sign (RS256).
    pub signer: RsaSigner,
}

impl ServiceAccountKey {
    /// From the JSON text of the key file.
    pub fn from_json(text: &str) -> Result<Self, SignerError> {
        let mut json: serde_json::Value = serde_json::from_str(text)
            .map_err(|_| SignerError::ServiceAccountJson("JSON object"))?;
        let field = |name: &'static str| json.get(name).and_then(serde_json::Value::as_str);
        let client_email = field("client_email")
            .ok_or(SignerError::ServiceAccountJson("client_email"))?
            .to_owned();
        let private_key_id = field("private_key_id").map(str::to_owned);
        let pem = Zeroizing::new(
            field("private_key")
                .ok_or(SignerError::ServiceAccountJson("private_key"))?
                .to_owned(),
        );
        if let Some(serde_json::Value::String(key)) = json.get_mut("private_key") {
            zeroize::Zeroize::zeroize(key);
        }
        let signer = RsaSigner::from_pem(&pem)?;
        Ok(ServiceAccountKey {
            client_email,
            private_key_id,
            signer,
        })
    }

    /// From the key file.
    pub fn from_file(path: &Path) -> Result<Self, SignerError> {
        let bytes = read(path)?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| SignerError::ServiceAccountJson("JSON object"))?;
        Self::from_json(text)
    }
}
