//! The rustls crypto provider of the `tls-rustls` option, over RustCrypto
//! crates (pure Rust, no assembly, no OS): what a printer needs to reach
//! Google and Microsoft, and nothing more, to keep the image small.
//!
//! - TLS 1.3: `TLS13_AES_128_GCM_SHA256` (mandatory, RFC 8446 §9.1);
//! - TLS 1.2: `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256` and
//!   `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256` (RFC 9325 §4.2);
//! - key exchange: ECDHE on secp256r1 (every public server has it);
//! - signatures, in chains and handshakes: ECDSA P-256 and RSA of 2048
//!   bits or more (PKCS#1 v1.5 and PSS), with SHA-256; with the feature
//!   `tls-rustls-all-sigs` also SHA-384 and SHA-512, and ECDSA P-384 keys
//!   (SHA-512's code and P-384's arithmetic are most of a Cortex-M image's
//!   cost otherwise: measured by `embassy/tools/size-report.sh`). The
//!   chains of Microsoft 365 (DigiCert), Google (GTS Root R1) and Let's
//!   Encrypt (ISRG Root X1) are signed with SHA-256 and RSA or P-256, and
//!   the board offers only SHA-256 schemes in its handshakes;
//! - no client certificates.
//!
//! rustls asks its provider for randomness through `'static` objects; the
//! caller's `RngCore + CryptoRng` is in the driver's hands, so each
//! connection seeds a ChaCha20 generator from it ([`seed`]), which serves
//! that connection's handshake (client random, ECDHE keys, nonces).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::marker::PhantomData;

use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::Aes128Gcm;
use critical_section::Mutex;
use hmac::digest::core_api::BlockSizeUser;
use hmac::digest::Digest;
use hmac::{Mac, SimpleHmac};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use rustls::crypto::cipher::{
    make_tls12_aad, make_tls13_aad, AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv,
    KeyBlockShape, MessageDecrypter, MessageEncrypter, Nonce, OutboundOpaqueMessage,
    OutboundPlainMessage, PrefixedPayload, Tls12AeadAlgorithm, Tls13AeadAlgorithm,
    UnsupportedOperationError,
};
use rustls::crypto::hash::{self, HashAlgorithm};
use rustls::crypto::tls12::PrfUsingHmac;
use rustls::crypto::tls13::HkdfUsingHmac;
use rustls::crypto::{
    hmac as rhmac, ActiveKeyExchange, CipherSuiteCommon, CryptoProvider, GetRandomFailed,
    KeyExchangeAlgorithm, KeyProvider, SecureRandom, SharedSecret, SupportedKxGroup,
    WebPkiSupportedAlgorithms,
};
use rustls::pki_types::{
    alg_id, AlgorithmIdentifier, InvalidSignature, PrivateKeyDer, SignatureVerificationAlgorithm,
};
use rustls::{
    CipherSuite, ConnectionTrafficSecrets, ContentType, Error, NamedGroup, PeerMisbehaved,
    ProtocolVersion, SignatureScheme, SupportedCipherSuite, Tls12CipherSuite, Tls13CipherSuite,
};
use sha2::Sha256;
#[cfg(feature = "tls-rustls-all-sigs")]
use sha2::{Sha384, Sha512};

/// The provider: cipher suites, key exchange, signature checks and the
/// seeded generator.
pub(crate) fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: vec![
            SupportedCipherSuite::Tls13(&TLS13_AES_128_GCM_SHA256),
            SupportedCipherSuite::Tls12(&TLS12_ECDHE_ECDSA_AES_128_GCM_SHA256),
            SupportedCipherSuite::Tls12(&TLS12_ECDHE_RSA_AES_128_GCM_SHA256),
        ],
        kx_groups: vec![&P256_KX],
        signature_verification_algorithms: ALGORITHMS,
        secure_random: &SEEDED,
        key_provider: &NO_KEYS,
    }
}

// ---- randomness -----------------------------------------------------------

/// The generator rustls draws from, seeded by [`seed`] from the caller's
/// RNG before each handshake. Only octets are taken under the critical
/// section: key generation runs outside it.
static RNG: Mutex<RefCell<Option<ChaCha20Rng>>> = Mutex::new(RefCell::new(None));

/// Seeds the generator with 32 octets of `rng` (the board's RNG).
pub(crate) fn seed(rng: &mut (impl RngCore + rand_core::CryptoRng)) {
    let mut s = [0u8; 32];
    rng.fill_bytes(&mut s);
    let fresh = ChaCha20Rng::from_seed(s);
    s.fill(0);
    critical_section::with(|cs| *RNG.borrow_ref_mut(cs) = Some(fresh));
}

/// Fills `buf` from the seeded generator; `false` before any [`seed`].
fn fill(buf: &mut [u8]) -> bool {
    critical_section::with(|cs| match RNG.borrow_ref_mut(cs).as_mut() {
        Some(r) => {
            r.fill_bytes(buf);
            true
        }
        None => false,
    })
}

/// A generator of its own for one key, seeded from the shared one.
fn key_rng() -> Result<ChaCha20Rng, Error> {
    let mut s = [0u8; 32];
    if !fill(&mut s) {
        return Err(Error::FailedToGetRandomBytes);
    }
    let r = ChaCha20Rng::from_seed(s);
    s.fill(0);
    Ok(r)
}

#[derive(Debug)]
struct Seeded;

static SEEDED: Seeded = Seeded;

impl SecureRandom for Seeded {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        if fill(buf) {
            Ok(())
        } else {
            Err(GetRandomFailed)
        }
    }
}

/// No client certificate: rustls asks for none with `with_no_client_auth`.
#[derive(Debug)]
struct NoKeys;

static NO_KEYS: NoKeys = NoKeys;

impl KeyProvider for NoKeys {
    fn load_private_key(
        &self,
        _key_der: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn rustls::sign::SigningKey>, Error> {
        Err(Error::General(String::from("no client keys on this board")))
    }
}

// ---- hashes and HMAC ----------------------------------------------------

struct HashAlg<D> {
    algorithm: HashAlgorithm,
    digest: PhantomData<fn() -> D>,
}

static SHA256: HashAlg<Sha256> = HashAlg {
    algorithm: HashAlgorithm::SHA256,
    digest: PhantomData,
};

struct HashCtx<D>(D);

impl<D> hash::Hash for HashAlg<D>
where
    D: Digest + Clone + Send + Sync + 'static,
{
    fn start(&self) -> Box<dyn hash::Context> {
        Box::new(HashCtx(D::new()))
    }

    fn hash(&self, data: &[u8]) -> hash::Output {
        hash::Output::new(&D::digest(data))
    }

    fn output_len(&self) -> usize {
        <D as Digest>::output_size()
    }

    fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }
}

impl<D> hash::Context for HashCtx<D>
where
    D: Digest + Clone + Send + Sync + 'static,
{
    fn fork_finish(&self) -> hash::Output {
        hash::Output::new(&self.0.clone().finalize())
    }

    fn fork(&self) -> Box<dyn hash::Context> {
        Box::new(HashCtx(self.0.clone()))
    }

    fn finish(self: Box<Self>) -> hash::Output {
        hash::Output::new(&self.0.finalize())
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

struct HmacAlg<D>(PhantomData<fn() -> D>);

static HMAC_SHA256: HmacAlg<Sha256> = HmacAlg(PhantomData);
static HKDF_SHA256: HkdfUsingHmac<'static> = HkdfUsingHmac(&HMAC_SHA256);
static PRF_SHA256: PrfUsingHmac<'static> = PrfUsingHmac(&HMAC_SHA256);

struct HmacKey<D: Digest + BlockSizeUser>(SimpleHmac<D>);

impl<D> rhmac::Hmac for HmacAlg<D>
where
    D: Digest + BlockSizeUser + Clone + Send + Sync + 'static,
{
    fn with_key(&self, key: &[u8]) -> Box<dyn rhmac::Key> {
        // HMAC takes keys of any length: the error cannot happen.
        let mac = <SimpleHmac<D> as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| <SimpleHmac<D> as KeyInit>::new(&GenericArray::default()));
        Box::new(HmacKey(mac))
    }

    fn hash_output_len(&self) -> usize {
        <D as Digest>::output_size()
    }
}

impl<D> rhmac::Key for HmacKey<D>
where
    D: Digest + BlockSizeUser + Clone + Send + Sync + 'static,
{
    fn sign_concat(&self, first: &[u8], middle: &[&[u8]], last: &[u8]) -> rhmac::Tag {
        let mut mac = self.0.clone();
        mac.update(first);
        for m in middle {
            mac.update(m);
        }
        mac.update(last);
        rhmac::Tag::new(&mac.finalize().into_bytes())
    }

    fn tag_len(&self) -> usize {
        <D as Digest>::output_size()
    }
}

// ---- AES-128-GCM --------------------------------------------------------

const GCM_TAG_LEN: usize = 16;
const GCM_EXPLICIT_NONCE_LEN: usize = 8;
/// The largest TLS plaintext (RFC 8446 §5.1).
const MAX_FRAGMENT_LEN: usize = 16_384;

fn gcm(key: &AeadKey) -> Aes128Gcm {
    // rustls hands keys of the suite's length (16): a failure would be a
    // rustls bug; a zero key then fails every record's tag.
    Aes128Gcm::new_from_slice(key.as_ref())
        .unwrap_or_else(|_| Aes128Gcm::new(&GenericArray::default()))
}

struct Gcm13;

struct Gcm13Sealer {
    cipher: Aes128Gcm,
    iv: Iv,
}

struct Gcm13Opener {
    cipher: Aes128Gcm,
    iv: Iv,
}

impl Tls13AeadAlgorithm for Gcm13 {
    fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        Box::new(Gcm13Sealer {
            cipher: gcm(&key),
            iv,
        })
    }

    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        Box::new(Gcm13Opener {
            cipher: gcm(&key),
            iv,
        })
    }

    fn key_len(&self) -> usize {
        16
    }

    fn extract_keys(
        &self,
        _key: AeadKey,
        _iv: Iv,
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        Err(UnsupportedOperationError)
    }
}

impl MessageEncrypter for Gcm13Sealer {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        let total = self.encrypted_payload_len(msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total);
        payload.extend_from_chunks(&msg.payload);
        payload.extend_from_slice(&[u8::from(msg.typ)]);
        let nonce = Nonce::new(&self.iv, seq).0;
        let tag = self
            .cipher
            .encrypt_in_place_detached(
                GenericArray::from_slice(&nonce),
                &make_tls13_aad(total),
                payload.as_mut(),
            )
            .map_err(|_| Error::EncryptError)?;
        payload.extend_from_slice(&tag);
        Ok(OutboundOpaqueMessage::new(
            ContentType::ApplicationData,
            // TLS 1.3 records carry 0x0303 (RFC 8446 §5.1).
            ProtocolVersion::TLSv1_2,
            payload,
        ))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len.saturating_add(1 + GCM_TAG_LEN)
    }
}

impl MessageDecrypter for Gcm13Opener {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let len = msg.payload.len();
        let Some(plain_len) = len.checked_sub(GCM_TAG_LEN) else {
            return Err(Error::DecryptError);
        };
        let nonce = Nonce::new(&self.iv, seq).0;
        let (text, tag) = msg.payload.split_at_mut(plain_len);
        self.cipher
            .decrypt_in_place_detached(
                GenericArray::from_slice(&nonce),
                &make_tls13_aad(len),
                text,
                GenericArray::from_slice(tag),
            )
            .map_err(|_| Error::DecryptError)?;
        msg.payload.truncate(plain_len);
        msg.into_tls13_unpadded_message()
    }
}

struct Gcm12;

struct Gcm12Sealer {
    cipher: Aes128Gcm,
    iv: Iv,
}

struct Gcm12Opener {
    cipher: Aes128Gcm,
    salt: [u8; 4],
}

impl Tls12AeadAlgorithm for Gcm12 {
    fn encrypter(&self, key: AeadKey, iv: &[u8], extra: &[u8]) -> Box<dyn MessageEncrypter> {
        // The nonce: the 4 octets of the key block, then 8 octets that the
        // sequence number is XORed into (RFC 5288 §3, as RFC 9325 advises).
        let mut nonce = [0u8; 12];
        for (n, b) in nonce.iter_mut().zip(iv.iter().chain(extra.iter())) {
            *n = *b;
        }
        Box::new(Gcm12Sealer {
            cipher: gcm(&key),
            iv: Iv::new(nonce),
        })
    }

    fn decrypter(&self, key: AeadKey, iv: &[u8]) -> Box<dyn MessageDecrypter> {
        let mut salt = [0u8; 4];
        for (s, b) in salt.iter_mut().zip(iv.iter()) {
            *s = *b;
        }
        Box::new(Gcm12Opener {
            cipher: gcm(&key),
            salt,
        })
    }

    fn key_block_shape(&self) -> KeyBlockShape {
        KeyBlockShape {
            enc_key_len: 16,
            fixed_iv_len: 4,
            explicit_nonce_len: GCM_EXPLICIT_NONCE_LEN,
        }
    }

    fn extract_keys(
        &self,
        _key: AeadKey,
        _iv: &[u8],
        _explicit: &[u8],
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        Err(UnsupportedOperationError)
    }
}

impl MessageEncrypter for Gcm12Sealer {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        let total = self.encrypted_payload_len(msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total);
        let nonce = Nonce::new(&self.iv, seq).0;
        let (_, explicit) = nonce.split_at(4);
        payload.extend_from_slice(explicit);
        payload.extend_from_chunks(&msg.payload);
        let aad = make_tls12_aad(seq, msg.typ, msg.version, msg.payload.len());
        let tag = match payload.as_mut().get_mut(GCM_EXPLICIT_NONCE_LEN..) {
            Some(text) => self
                .cipher
                .encrypt_in_place_detached(GenericArray::from_slice(&nonce), &aad, text)
                .map_err(|_| Error::EncryptError)?,
            None => return Err(Error::EncryptError),
        };
        payload.extend_from_slice(&tag);
        Ok(OutboundOpaqueMessage::new(msg.typ, msg.version, payload))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len.saturating_add(GCM_EXPLICIT_NONCE_LEN + GCM_TAG_LEN)
    }
}

impl MessageDecrypter for Gcm12Opener {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let len = msg.payload.len();
        let Some(plain_len) = len.checked_sub(GCM_EXPLICIT_NONCE_LEN + GCM_TAG_LEN) else {
            return Err(Error::DecryptError);
        };
        if plain_len > MAX_FRAGMENT_LEN {
            return Err(Error::PeerSentOversizedRecord);
        }
        let aad = make_tls12_aad(seq, msg.typ, msg.version, plain_len);
        let (explicit, rest) = msg.payload.split_at_mut(GCM_EXPLICIT_NONCE_LEN);
        let (text, tag) = rest.split_at_mut(plain_len);
        let mut nonce = [0u8; 12];
        for (n, b) in nonce
            .iter_mut()
            .zip(self.salt.iter().chain(explicit.iter()))
        {
            *n = *b;
        }
        self.cipher
            .decrypt_in_place_detached(
                GenericArray::from_slice(&nonce),
                &aad,
                text,
                GenericArray::from_slice(tag),
            )
            .map_err(|_| Error::DecryptError)?;
        let start = GCM_EXPLICIT_NONCE_LEN;
        Ok(msg.into_plain_message_range(start..start.saturating_add(plain_len)))
    }
}

// ---- cipher suites --------------------------------------------------------

/// Records per key before a new one is needed: AES-GCM's limit
/// (RFC 8446 §5.5).
const GCM_CONFIDENTIALITY_LIMIT: u64 = 1 << 24;

static TLS13_AES_128_GCM_SHA256: Tls13CipherSuite = Tls13CipherSuite {
    common: CipherSuiteCommon {
        suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
        hash_provider: &SHA256,
        confidentiality_limit: GCM_CONFIDENTIALITY_LIMIT,
    },
    hkdf_provider: &HKDF_SHA256,
    aead_alg: &Gcm13,
    quic: None,
};

static TLS12_ECDHE_ECDSA_AES_128_GCM_SHA256: Tls12CipherSuite = Tls12CipherSuite {
    common: CipherSuiteCommon {
        suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        hash_provider: &SHA256,
        confidentiality_limit: GCM_CONFIDENTIALITY_LIMIT,
    },
    prf_provider: &PRF_SHA256,
    kx: KeyExchangeAlgorithm::ECDHE,
    sign: &[
        SignatureScheme::ECDSA_NISTP256_SHA256,
        #[cfg(feature = "tls-rustls-all-sigs")]
        SignatureScheme::ECDSA_NISTP384_SHA384,
    ],
    aead_alg: &Gcm12,
};

static TLS12_ECDHE_RSA_AES_128_GCM_SHA256: Tls12CipherSuite = Tls12CipherSuite {
    common: CipherSuiteCommon {
        suite: CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        hash_provider: &SHA256,
        confidentiality_limit: GCM_CONFIDENTIALITY_LIMIT,
    },
    prf_provider: &PRF_SHA256,
    kx: KeyExchangeAlgorithm::ECDHE,
    sign: &[
        SignatureScheme::RSA_PSS_SHA256,
        #[cfg(feature = "tls-rustls-all-sigs")]
        SignatureScheme::RSA_PSS_SHA384,
        #[cfg(feature = "tls-rustls-all-sigs")]
        SignatureScheme::RSA_PSS_SHA512,
        SignatureScheme::RSA_PKCS1_SHA256,
        #[cfg(feature = "tls-rustls-all-sigs")]
        SignatureScheme::RSA_PKCS1_SHA384,
        #[cfg(feature = "tls-rustls-all-sigs")]
        SignatureScheme::RSA_PKCS1_SHA512,
    ],
    aead_alg: &Gcm12,
};

// ---- ECDHE on secp256r1 -------------------------------------------------

#[derive(Debug)]
struct P256Kx;

static P256_KX: P256Kx = P256Kx;

struct P256Share {
    secret: p256::ecdh::EphemeralSecret,
    public: Vec<u8>,
}

impl SupportedKxGroup for P256Kx {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let mut rng = key_rng()?;
        let secret = p256::ecdh::EphemeralSecret::random(&mut rng);
        let public = p256::EncodedPoint::from(secret.public_key())
            .as_bytes()
            .to_vec();
        Ok(Box::new(P256Share { secret, public }))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::secp256r1
    }
}

impl ActiveKeyExchange for P256Share {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, Error> {
        // Uncompressed points only (RFC 8446 §4.2.8.2, RFC 8422 §5.4.1).
        if peer_pub_key.first() != Some(&4) {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        let peer = p256::PublicKey::from_sec1_bytes(peer_pub_key)
            .map_err(|_| Error::from(PeerMisbehaved::InvalidKeyShare))?;
        let shared = self.secret.diffie_hellman(&peer);
        Ok(SharedSecret::from(shared.raw_secret_bytes().as_slice()))
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::secp256r1
    }
}

// ---- signature verification (chains and handshakes) -----------------------

#[derive(Debug, Clone, Copy)]
enum HashId {
    Sha256,
    #[cfg(feature = "tls-rustls-all-sigs")]
    Sha384,
    #[cfg(feature = "tls-rustls-all-sigs")]
    Sha512,
}

impl HashId {
    /// The digest of `m` and its length.
    fn digest(self, m: &[u8]) -> ([u8; 64], usize) {
        let mut out = [0u8; 64];
        let d: &[u8] = match self {
            HashId::Sha256 => &Sha256::digest(m),
            #[cfg(feature = "tls-rustls-all-sigs")]
            HashId::Sha384 => &Sha384::digest(m),
            #[cfg(feature = "tls-rustls-all-sigs")]
            HashId::Sha512 => &Sha512::digest(m),
        };
        for (o, b) in out.iter_mut().zip(d) {
            *o = *b;
        }
        (out, d.len())
    }
}

#[derive(Debug, Clone, Copy)]
enum Curve {
    P256,
    #[cfg(feature = "tls-rustls-all-sigs")]
    P384,
}

#[derive(Debug)]
struct Ecdsa {
    curve: Curve,
    hash: HashId,
    signature: AlgorithmIdentifier,
}

impl SignatureVerificationAlgorithm for Ecdsa {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        let (digest, len) = self.hash.digest(message);
        let digest = digest.get(..len).ok_or(InvalidSignature)?;
        match self.curve {
            Curve::P256 => {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key)
                    .map_err(|_| InvalidSignature)?;
                let sig =
                    p256::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
                key.verify_prehash(digest, &sig)
                    .map_err(|_| InvalidSignature)
            }
            #[cfg(feature = "tls-rustls-all-sigs")]
            Curve::P384 => {
                let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(public_key)
                    .map_err(|_| InvalidSignature)?;
                let sig =
                    p384::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
                key.verify_prehash(digest, &sig)
                    .map_err(|_| InvalidSignature)
            }
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        match self.curve {
            Curve::P256 => alg_id::ECDSA_P256,
            #[cfg(feature = "tls-rustls-all-sigs")]
            Curve::P384 => alg_id::ECDSA_P384,
        }
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.signature
    }
}

/// RSA keys below 2048 bits are refused (RFC 9325 §4.3; NIST).
const RSA_MIN_MODULUS_LEN: usize = 256;

#[derive(Debug)]
struct Rsa {
    hash: HashId,
    pss: bool,
    signature: AlgorithmIdentifier,
}

impl SignatureVerificationAlgorithm for Rsa {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use rsa::pkcs1::DecodeRsaPublicKey;
        use rsa::traits::PublicKeyParts;
        let key = rsa::RsaPublicKey::from_pkcs1_der(public_key).map_err(|_| InvalidSignature)?;
        if key.size() < RSA_MIN_MODULUS_LEN {
            return Err(InvalidSignature);
        }
        let (digest, len) = self.hash.digest(message);
        let digest = digest.get(..len).ok_or(InvalidSignature)?;
        let r = match (self.pss, self.hash) {
            (false, HashId::Sha256) => {
                key.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), digest, signature)
            }
            #[cfg(feature = "tls-rustls-all-sigs")]
            (false, HashId::Sha384) => {
                key.verify(rsa::Pkcs1v15Sign::new::<Sha384>(), digest, signature)
            }
            #[cfg(feature = "tls-rustls-all-sigs")]
            (false, HashId::Sha512) => {
                key.verify(rsa::Pkcs1v15Sign::new::<Sha512>(), digest, signature)
            }
            (true, HashId::Sha256) => key.verify(rsa::Pss::new::<Sha256>(), digest, signature),
            #[cfg(feature = "tls-rustls-all-sigs")]
            (true, HashId::Sha384) => key.verify(rsa::Pss::new::<Sha384>(), digest, signature),
            #[cfg(feature = "tls-rustls-all-sigs")]
            (true, HashId::Sha512) => key.verify(rsa::Pss::new::<Sha512>(), digest, signature),
        };
        r.map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.signature
    }
}

static ECDSA_P256_SHA256: Ecdsa = Ecdsa {
    curve: Curve::P256,
    hash: HashId::Sha256,
    signature: alg_id::ECDSA_SHA256,
};
#[cfg(feature = "tls-rustls-all-sigs")]
static ECDSA_P256_SHA384: Ecdsa = Ecdsa {
    curve: Curve::P256,
    hash: HashId::Sha384,
    signature: alg_id::ECDSA_SHA384,
};
#[cfg(feature = "tls-rustls-all-sigs")]
static ECDSA_P384_SHA256: Ecdsa = Ecdsa {
    curve: Curve::P384,
    hash: HashId::Sha256,
    signature: alg_id::ECDSA_SHA256,
};
#[cfg(feature = "tls-rustls-all-sigs")]
static ECDSA_P384_SHA384: Ecdsa = Ecdsa {
    curve: Curve::P384,
    hash: HashId::Sha384,
    signature: alg_id::ECDSA_SHA384,
};
static RSA_PKCS1_SHA256: Rsa = Rsa {
    hash: HashId::Sha256,
    pss: false,
    signature: alg_id::RSA_PKCS1_SHA256,
};
#[cfg(feature = "tls-rustls-all-sigs")]
static RSA_PKCS1_SHA384: Rsa = Rsa {
    hash: HashId::Sha384,
    pss: false,
    signature: alg_id::RSA_PKCS1_SHA384,
};
#[cfg(feature = "tls-rustls-all-sigs")]
static RSA_PKCS1_SHA512: Rsa = Rsa {
    hash: HashId::Sha512,
    pss: false,
    signature: alg_id::RSA_PKCS1_SHA512,
};
static RSA_PSS_SHA256: Rsa = Rsa {
    hash: HashId::Sha256,
    pss: true,
    signature: alg_id::RSA_PSS_SHA256,
};
#[cfg(feature = "tls-rustls-all-sigs")]
static RSA_PSS_SHA384: Rsa = Rsa {
    hash: HashId::Sha384,
    pss: true,
    signature: alg_id::RSA_PSS_SHA384,
};
#[cfg(feature = "tls-rustls-all-sigs")]
static RSA_PSS_SHA512: Rsa = Rsa {
    hash: HashId::Sha512,
    pss: true,
    signature: alg_id::RSA_PSS_SHA512,
};

/// The signature algorithms of chains and handshakes.
pub(crate) static ALGORITHMS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        &ECDSA_P256_SHA256,
        &RSA_PKCS1_SHA256,
        &RSA_PSS_SHA256,
        #[cfg(feature = "tls-rustls-all-sigs")]
        &ECDSA_P256_SHA384,
        #[cfg(feature = "tls-rustls-all-sigs")]
        &ECDSA_P384_SHA256,
        #[cfg(feature = "tls-rustls-all-sigs")]
        &ECDSA_P384_SHA384,
        #[cfg(feature = "tls-rustls-all-sigs")]
        &RSA_PKCS1_SHA384,
        #[cfg(feature = "tls-rustls-all-sigs")]
        &RSA_PKCS1_SHA512,
        #[cfg(feature = "tls-rustls-all-sigs")]
        &RSA_PSS_SHA384,
        #[cfg(feature = "tls-rustls-all-sigs")]
        &RSA_PSS_SHA512,
    ],
    mapping: &[
        #[cfg(feature = "tls-rustls-all-sigs")]
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[&ECDSA_P384_SHA384, &ECDSA_P256_SHA384],
        ),
        #[cfg(feature = "tls-rustls-all-sigs")]
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[&ECDSA_P256_SHA256, &ECDSA_P384_SHA256],
        ),
        #[cfg(not(feature = "tls-rustls-all-sigs"))]
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[&ECDSA_P256_SHA256],
        ),
        #[cfg(feature = "tls-rustls-all-sigs")]
        (SignatureScheme::RSA_PSS_SHA512, &[&RSA_PSS_SHA512]),
        #[cfg(feature = "tls-rustls-all-sigs")]
        (SignatureScheme::RSA_PSS_SHA384, &[&RSA_PSS_SHA384]),
        (SignatureScheme::RSA_PSS_SHA256, &[&RSA_PSS_SHA256]),
        #[cfg(feature = "tls-rustls-all-sigs")]
        (SignatureScheme::RSA_PKCS1_SHA512, &[&RSA_PKCS1_SHA512]),
        #[cfg(feature = "tls-rustls-all-sigs")]
        (SignatureScheme::RSA_PKCS1_SHA384, &[&RSA_PKCS1_SHA384]),
        (SignatureScheme::RSA_PKCS1_SHA256, &[&RSA_PKCS1_SHA256]),
    ],
};
