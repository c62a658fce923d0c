//! The certificate path checks that `embedded-tls`'s `rustpki` verifier
//! leaves out, in front of it.
//!
//! [`CertVerifier`] checks that each certificate of the server's chain is
//! signed by the next one (the last by the trust anchor), the host name
//! and, with a clock, the dates. It does not look at what a certificate is
//! allowed to do: without [`ConstrainedVerifier`], any end certificate the
//! trusted CA issued, to anyone, could sign a certificate for the printer's
//! SMTP server or token endpoint and the chain would verify. The wrapper
//! refuses such a chain first (RFC 5280 §4.2.1.3, §4.2.1.9, §4.2.1.12,
//! §6.1.4), then lets the inner verifier check the signatures, the name and
//! the dates. When it refuses a chain, the wrapper says why, as the host's
//! TLS stack would ([`ConstrainedVerifier::refusal`]): a path check (E604),
//! a certificate out of its dates (E607), the wrong name (E608), or
//! signatures that do not lead to the trust anchor (E609).

use der::asn1::{GeneralizedTime, UtcTime};
use der::{Decode, Header, Reader, SliceReader, Tag};
use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Certificate, CertificateEntryRef, CertificateRef, CertificateVerifyRef, TlsCipherSuite,
    TlsClock, TlsError, TlsVerifier,
};
use mfp_oauth_core::diag::{Diagnostic, Id};

use crate::log::log_warn;

/// Why a certificate chain (or a trust anchor) was refused before its
/// signatures were checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ChainError {
    /// The server sent no certificate, or one that is not X.509.
    Empty,
    /// A certificate (or the trust anchor) is not well-formed DER X.509.
    Malformed,
    /// The trust anchor is not a CA certificate (no basicConstraints with
    /// cA TRUE, or a keyUsage without keyCertSign).
    AnchorNotCa,
    /// A certificate that signs another one of the chain is not a CA
    /// certificate (no basicConstraints with cA TRUE): the attack where an
    /// end certificate issues a certificate for the server's name.
    IssuerNotCa,
    /// A CA certificate of the chain has a keyUsage without keyCertSign.
    IssuerKeyUsage,
    /// More intermediate CA certificates below a CA certificate (or the
    /// trust anchor) than its pathLenConstraint allows.
    PathTooLong,
    /// The server's own certificate is a CA certificate.
    LeafIsCa,
    /// A certificate's extendedKeyUsage or keyUsage does not allow a TLS
    /// server: the server's certificate needs serverAuth (if it lists
    /// usages) and digitalSignature (if it has keyUsage); a CA certificate
    /// that lists extended usages needs serverAuth or anyExtendedKeyUsage.
    NotForServerAuth,
    /// A certificate or the trust anchor carries nameConstraints, which
    /// this verifier does not process (so it cannot honour them).
    NameConstraints,
    /// A certificate carries a critical extension this verifier does not
    /// process (RFC 5280 §4.2: such a certificate must be refused).
    UnknownCriticalExtension,
    /// A certificate carries the same extension twice (RFC 5280 §4.2).
    DuplicateExtension,
}

impl core::fmt::Display for ChainError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ChainError::Empty => "the server sent no X.509 certificate",
            ChainError::Malformed => "a certificate is not well-formed DER X.509",
            ChainError::AnchorNotCa => "the trust anchor is not a CA certificate",
            ChainError::IssuerNotCa => "a certificate that signs another one is not a CA",
            ChainError::IssuerKeyUsage => "a CA certificate's key usage lacks keyCertSign",
            ChainError::PathTooLong => "the chain breaks a pathLenConstraint",
            ChainError::LeafIsCa => "the server's certificate is a CA certificate",
            ChainError::NotForServerAuth => "a certificate is not for TLS servers",
            ChainError::NameConstraints => "nameConstraints are not supported",
            ChainError::UnknownCriticalExtension => "a critical extension is not supported",
            ChainError::DuplicateExtension => "a certificate repeats an extension",
        })
    }
}

impl core::error::Error for ChainError {}

impl Diagnostic for ChainError {
    fn diag(&self) -> Id {
        Id::CertificateInvalid
    }
}

impl From<der::Error> for ChainError {
    fn from(_: der::Error) -> Self {
        ChainError::Malformed
    }
}

// Extension ids (RFC 5280 §4.2.1), the OID's content octets.
const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
const NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];
/// Processed by the inner verifier (host name); read again to tell a wrong
/// name from an untrusted chain.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
/// id-kp-serverAuth, 1.3.6.1.5.5.7.3.1.
const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
/// anyExtendedKeyUsage, 2.5.29.37.0.
const ANY_EKU: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

/// keyUsage bits in the first octet of the BIT STRING.
const KU_DIGITAL_SIGNATURE: u8 = 0x80;
const KU_KEY_CERT_SIGN: u8 = 0x04;

/// Extended key usages found in a certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Eku {
    server_auth: bool,
    any: bool,
}

/// What the checks need from one certificate.
#[derive(Debug, Clone, Copy)]
struct Facts<'a> {
    /// The issuer and subject Names, DER contents (for "self-issued").
    issuer: &'a [u8],
    subject: &'a [u8],
    /// The validity SEQUENCE's contents (notBefore, notAfter).
    validity: &'a [u8],
    /// The subjectAltName extension's value, if present.
    san: Option<&'a [u8]>,
    /// basicConstraints cA.
    ca: bool,
    /// basicConstraints pathLenConstraint (saturated).
    path_len: Option<u32>,
    /// keyUsage's first octet, if the extension is present.
    key_usage: Option<u8>,
    /// extendedKeyUsage, if the extension is present.
    eku: Option<Eku>,
}

impl Facts<'_> {
    fn self_issued(&self) -> bool {
        self.issuer == self.subject
    }

    /// Whether this certificate may sign certificates.
    fn check_ca(&self) -> Result<(), ChainError> {
        if !self.ca {
            return Err(ChainError::IssuerNotCa);
        }
        if self.key_usage.is_some_and(|ku| ku & KU_KEY_CERT_SIGN == 0) {
            return Err(ChainError::IssuerKeyUsage);
        }
        if self.eku.is_some_and(|e| !e.server_auth && !e.any) {
            return Err(ChainError::NotForServerAuth);
        }
        Ok(())
    }

    /// Whether `below` non-self-issued intermediates fit its path length.
    fn check_path_len(&self, below: usize) -> Result<(), ChainError> {
        match self.path_len {
            Some(max) if u32::try_from(below).map_or(true, |b| b > max) => {
                Err(ChainError::PathTooLong)
            }
            _ => Ok(()),
        }
    }
}

/// The DER of an X.509 entry.
fn der<'a>(entry: &CertificateEntryRef<'a>) -> Result<&'a [u8], ChainError> {
    match entry {
        CertificateEntryRef::X509(d) => Ok(d),
        CertificateEntryRef::RawPublicKey(_) => Err(ChainError::Empty),
    }
}

/// One TLV of `tag`; its contents.
fn expect<'a>(r: &mut SliceReader<'a>, tag: Tag) -> Result<&'a [u8], ChainError> {
    let h = Header::decode(r)?;
    if h.tag() != tag {
        return Err(ChainError::Malformed);
    }
    Ok(r.read_slice(h.length())?)
}

/// Any TLV; its tag and contents.
fn any<'a>(r: &mut SliceReader<'a>) -> Result<(Tag, &'a [u8]), ChainError> {
    let h = Header::decode(r)?;
    Ok((h.tag(), r.read_slice(h.length())?))
}

/// The contents of the single TLV of `tag` that `bytes` hold, nothing
/// after it.
fn only(bytes: &[u8], tag: Tag) -> Result<&[u8], ChainError> {
    let mut r = SliceReader::new(bytes)?;
    let inner = expect(&mut r, tag)?;
    r.finish()?;
    Ok(inner)
}

fn context(number: u32, constructed: bool) -> Tag {
    der::TagNumber(number).context_specific(constructed)
}

/// The facts of one DER certificate (RFC 5280 §4.1).
fn parse(der: &[u8]) -> Result<Facts<'_>, ChainError> {
    let cert = only(der, Tag::Sequence)?;
    let mut c = SliceReader::new(cert)?;
    let tbs = expect(&mut c, Tag::Sequence)?;
    // signatureAlgorithm and signatureValue: the inner verifier's.
    let mut t = SliceReader::new(tbs)?;
    if Tag::peek(&t)? == context(0, true) {
        any(&mut t)?; // version
    }
    expect(&mut t, Tag::Integer)?; // serialNumber
    expect(&mut t, Tag::Sequence)?; // signature
    let issuer = expect(&mut t, Tag::Sequence)?;
    let validity = expect(&mut t, Tag::Sequence)?;
    let subject = expect(&mut t, Tag::Sequence)?;
    expect(&mut t, Tag::Sequence)?; // subjectPublicKeyInfo
    let mut facts = Facts {
        issuer,
        subject,
        validity,
        san: None,
        ca: false,
        path_len: None,
        key_usage: None,
        eku: None,
    };
    while !t.is_finished() {
        let (tag, value) = any(&mut t)?;
        if tag == context(3, true) {
            extensions(only(value, Tag::Sequence)?, &mut facts)?;
            // The extensions come last.
            t.finish()?;
            break;
        } else if tag != context(1, false) && tag != context(2, false) {
            return Err(ChainError::Malformed); // not issuer/subjectUniqueID
        }
    }
    Ok(facts)
}

/// Reads every extension into `facts` (RFC 5280 §4.2).
fn extensions<'a>(list: &'a [u8], facts: &mut Facts<'a>) -> Result<(), ChainError> {
    let mut r = SliceReader::new(list)?;
    let mut basic = false;
    while !r.is_finished() {
        let mut e = SliceReader::new(expect(&mut r, Tag::Sequence)?)?;
        let id = expect(&mut e, Tag::ObjectIdentifier)?;
        let critical = if Tag::peek(&e)? == Tag::Boolean {
            bool::decode(&mut e)?
        } else {
            false
        };
        let value = expect(&mut e, Tag::OctetString)?;
        e.finish()?;
        match id {
            BASIC_CONSTRAINTS if basic => return Err(ChainError::DuplicateExtension),
            BASIC_CONSTRAINTS => {
                basic = true;
                basic_constraints(value, facts)?;
            }
            KEY_USAGE if facts.key_usage.is_some() => return Err(ChainError::DuplicateExtension),
            KEY_USAGE => facts.key_usage = Some(key_usage(value)?),
            EXT_KEY_USAGE if facts.eku.is_some() => return Err(ChainError::DuplicateExtension),
            EXT_KEY_USAGE => facts.eku = Some(ext_key_usage(value)?),
            NAME_CONSTRAINTS => return Err(ChainError::NameConstraints),
            SUBJECT_ALT_NAME => facts.san = Some(value),
            _ if critical => return Err(ChainError::UnknownCriticalExtension),
            _ => {}
        }
    }
    Ok(())
}

/// BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE,
/// pathLenConstraint INTEGER (0..MAX) OPTIONAL }
fn basic_constraints(value: &[u8], facts: &mut Facts<'_>) -> Result<(), ChainError> {
    let mut r = SliceReader::new(only(value, Tag::Sequence)?)?;
    if !r.is_finished() && Tag::peek(&r)? == Tag::Boolean {
        facts.ca = bool::decode(&mut r)?;
    }
    if !r.is_finished() {
        let n = expect(&mut r, Tag::Integer)?;
        // Non-negative: the first octet's top bit is clear.
        match n.first() {
            Some(&first) if first & 0x80 == 0 => {}
            _ => return Err(ChainError::Malformed),
        }
        let len = n.iter().fold(0u32, |acc, &b| {
            acc.checked_mul(256)
                .and_then(|a| a.checked_add(u32::from(b)))
                .unwrap_or(u32::MAX)
        });
        facts.path_len = Some(len);
    }
    r.finish()?;
    Ok(())
}

/// KeyUsage ::= BIT STRING; its first octet (bits 0 to 7).
fn key_usage(value: &[u8]) -> Result<u8, ChainError> {
    let bits = only(value, Tag::BitString)?;
    match bits {
        [unused, ..] if *unused > 7 => Err(ChainError::Malformed),
        [_, first, ..] => Ok(*first),
        [0] => Ok(0),
        _ => Err(ChainError::Malformed),
    }
}

/// ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId
fn ext_key_usage(value: &[u8]) -> Result<Eku, ChainError> {
    let list = only(value, Tag::Sequence)?;
    if list.is_empty() {
        return Err(ChainError::Malformed);
    }
    let mut r = SliceReader::new(list)?;
    let mut eku = Eku::default();
    while !r.is_finished() {
        let id = expect(&mut r, Tag::ObjectIdentifier)?;
        if id == SERVER_AUTH {
            eku.server_auth = true;
        } else if id == ANY_EKU {
            eku.any = true;
        }
    }
    Ok(eku)
}

/// id-at-commonName, 2.5.4.3.
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// The longest host name kept to classify a refusal (RFC 1035).
const HOST_NAME_MAX: usize = 253;

/// A Time (UTCTime or GeneralizedTime) as UNIX seconds.
fn time(r: &mut SliceReader<'_>) -> Result<u64, ChainError> {
    let t = match Tag::peek(&*r)? {
        Tag::UtcTime => UtcTime::decode(r)?.to_unix_duration(),
        Tag::GeneralizedTime => GeneralizedTime::decode(r)?.to_unix_duration(),
        _ => return Err(ChainError::Malformed),
    };
    Ok(t.as_secs())
}

/// Whether the certificate in `der` is outside its validity period at
/// `now` (UNIX seconds); an unreadable one counts as not out of date (it
/// is refused for another reason).
fn out_of_date(der: &[u8], now: u64) -> bool {
    let dates = |validity: &[u8]| -> Result<(u64, u64), ChainError> {
        let mut r = SliceReader::new(validity)?;
        let not_before = time(&mut r)?;
        let not_after = time(&mut r)?;
        Ok((not_before, not_after))
    };
    match parse(der).and_then(|f| dates(f.validity)) {
        Ok((not_before, not_after)) => now < not_before || now > not_after,
        Err(_) => false,
    }
}

/// The latest notBefore of the certificates in `ders` (UNIX seconds),
/// `None` if one is unreadable: without a wall clock, the rustls option
/// checks the chain at that instant, which every certificate's period
/// holds unless the periods do not overlap (such a chain is never valid).
#[cfg(feature = "tls-rustls")]
pub(crate) fn latest_not_before<'c>(ders: impl IntoIterator<Item = &'c [u8]>) -> Option<u64> {
    let mut latest = 0u64;
    for d in ders {
        let facts = parse(d).ok()?;
        let mut r = SliceReader::new(facts.validity).ok()?;
        latest = latest.max(time(&mut r).ok()?);
    }
    Some(latest)
}

/// `pattern` (a dNSName or CN) names `host`, with the rules of
/// `embedded-tls`'s own check (which decided the refusal): equal ignoring
/// ASCII case, or one wildcard as the whole leftmost label of a name of at
/// least three labels, standing for exactly one label.
fn name_matches(pattern: &[u8], host: &[u8]) -> bool {
    let valid = |b: &u8, star: bool| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.') || (star && *b == b'*')
    };
    if !pattern.iter().all(|b| valid(b, true)) || !host.iter().all(|b| valid(b, false)) {
        return false;
    }
    let dots = |n: &[u8]| n.iter().filter(|&&b| b == b'.').count();
    match pattern.iter().filter(|&&b| b == b'*').count() {
        0 => pattern.eq_ignore_ascii_case(host),
        1 => match (
            pattern.strip_prefix(b"*."),
            host.iter().position(|&b| b == b'.'),
        ) {
            (Some(suffix), Some(dot)) => {
                dots(pattern) >= 2
                    && dots(pattern) == dots(host)
                    && host
                        .get(dot.saturating_add(1)..)
                        .is_some_and(|h| h.eq_ignore_ascii_case(suffix))
            }
            _ => false,
        },
        _ => false,
    }
}

/// Whether the certificate in `der` carries `host`: a dNSName of its
/// subjectAltName or a commonName of its subject (both, as `embedded-tls`
/// checks them).
fn names_host(der: &[u8], host: &[u8]) -> bool {
    let Ok(facts) = parse(der) else {
        return false;
    };
    let in_san = |san: &[u8]| -> Result<bool, ChainError> {
        let mut r = SliceReader::new(only(san, Tag::Sequence)?)?;
        while !r.is_finished() {
            let (tag, name) = any(&mut r)?;
            if tag == context(2, false) && name_matches(name, host) {
                return Ok(true);
            }
        }
        Ok(false)
    };
    let in_subject = |subject: &[u8]| -> Result<bool, ChainError> {
        let mut r = SliceReader::new(subject)?;
        while !r.is_finished() {
            let mut set = SliceReader::new(expect(&mut r, Tag::Set)?)?;
            while !set.is_finished() {
                let mut atv = SliceReader::new(expect(&mut set, Tag::Sequence)?)?;
                let id = expect(&mut atv, Tag::ObjectIdentifier)?;
                let (_, value) = any(&mut atv)?;
                if id == COMMON_NAME && name_matches(value, host) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    };
    facts.san.is_some_and(|san| in_san(san).unwrap_or(false))
        || in_subject(facts.subject).unwrap_or(false)
}

/// Checks `anchor_der` (one DER certificate) as a trust anchor: a CA
/// certificate (basicConstraints cA TRUE; keyCertSign if it has a
/// keyUsage) without nameConstraints or a critical extension this
/// verifier does not process.
pub fn check_anchor(anchor_der: &[u8]) -> Result<(), ChainError> {
    anchor(anchor_der).map(|_| ())
}

fn anchor(anchor_der: &[u8]) -> Result<Facts<'_>, ChainError> {
    let facts = parse(anchor_der)?;
    match facts.check_ca() {
        Ok(()) => Ok(facts),
        Err(ChainError::NotForServerAuth) => Err(ChainError::NotForServerAuth),
        Err(_) => Err(ChainError::AnchorNotCa),
    }
}

/// Checks what each certificate of `entries` (the server's chain, its own
/// certificate first, as sent in TLS 1.3's Certificate message) may do,
/// under the trust anchor `anchor_der`:
/// - every certificate that signs another one (all but the first) is a CA
///   certificate: basicConstraints with cA TRUE, keyCertSign if it has a
///   keyUsage, serverAuth or anyExtendedKeyUsage if it has an
///   extendedKeyUsage;
/// - no CA certificate, the anchor included, has more intermediate CA
///   certificates below it than its pathLenConstraint (self-issued ones do
///   not count, RFC 5280 §6.1.4);
/// - the server's certificate is not a CA, has serverAuth if it has an
///   extendedKeyUsage and digitalSignature if it has a keyUsage;
/// - no certificate has nameConstraints, a critical extension other than
///   basicConstraints, keyUsage, extendedKeyUsage and subjectAltName, or
///   one of those twice.
///
/// It does not check signatures, names or dates: the inner verifier does,
/// after this.
pub fn check_chain(
    anchor_der: &[u8],
    entries: &[CertificateEntryRef<'_>],
) -> Result<(), ChainError> {
    let (leaf, issuers) = entries.split_first().ok_or(ChainError::Empty)?;
    let mut issuers_der = issuers.iter().map(der);
    check_der_chain(anchor_der, der(leaf)?, &mut issuers_der)
}

/// [`check_chain`] on DER certificates: the server's own certificate
/// `leaf`, then the certificates that follow it in the server's chain
/// (each an `Err` if it is not X.509). Shared by both TLS options.
pub(crate) fn check_der_chain(
    anchor_der: &[u8],
    leaf: &[u8],
    issuers: &mut dyn Iterator<Item = Result<&[u8], ChainError>>,
) -> Result<(), ChainError> {
    let leaf = parse(leaf)?;
    if leaf.ca {
        return Err(ChainError::LeafIsCa);
    }
    if leaf.eku.is_some_and(|e| !e.server_auth)
        || leaf
            .key_usage
            .is_some_and(|ku| ku & KU_DIGITAL_SIGNATURE == 0)
    {
        return Err(ChainError::NotForServerAuth);
    }
    // Non-self-issued intermediates seen so far, from the leaf up.
    let mut below: usize = 0;
    for entry in issuers {
        let ca = parse(entry?)?;
        ca.check_ca()?;
        ca.check_path_len(below)?;
        if !ca.self_issued() {
            below = below.saturating_add(1);
        }
    }
    anchor(anchor_der)?.check_path_len(below)
}

/// A [`TlsVerifier`] that runs [`check_chain`] on the server's chain, then
/// `embedded-tls`'s [`CertVerifier`] (signatures up to the trust anchor,
/// host name, dates with a [`TlsClock`]). `CERT_SIZE` is the inner
/// verifier's copy of the chain (octets).
pub struct ConstrainedVerifier<'a, CipherSuite, Clock, const CERT_SIZE: usize>
where
    CipherSuite: TlsCipherSuite,
    Clock: TlsClock,
{
    anchor: &'a [u8],
    inner: CertVerifier<'a, CipherSuite, Clock, CERT_SIZE>,
    /// The host name the server's certificate must carry (a copy of the
    /// inner verifier's, to say why a chain was refused).
    host: [u8; HOST_NAME_MAX],
    host_len: usize,
    /// Why the last chain was refused.
    refusal: Option<Id>,
}

impl<CipherSuite, Clock, const CERT_SIZE: usize> core::fmt::Debug
    for ConstrainedVerifier<'_, CipherSuite, Clock, CERT_SIZE>
where
    CipherSuite: TlsCipherSuite,
    Clock: TlsClock,
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConstrainedVerifier")
            .field("anchor_len", &self.anchor.len())
            .field("refusal", &self.refusal)
            .finish_non_exhaustive()
    }
}

impl<'a, CipherSuite, Clock, const CERT_SIZE: usize>
    ConstrainedVerifier<'a, CipherSuite, Clock, CERT_SIZE>
where
    CipherSuite: TlsCipherSuite,
    Clock: TlsClock,
{
    /// A verifier for servers that chain to `anchor_der` (one CA
    /// certificate, DER; a non-CA anchor refuses every chain with
    /// [`ChainError::AnchorNotCa`]: check it beforehand with
    /// [`check_anchor`]).
    #[must_use]
    pub fn new(anchor_der: &'a [u8]) -> Self {
        ConstrainedVerifier {
            anchor: anchor_der,
            inner: CertVerifier::new(Certificate::X509(anchor_der)),
            host: [0; HOST_NAME_MAX],
            host_len: 0,
            refusal: None,
        }
    }

    /// Why the last server chain given to `verify_certificate` was
    /// refused, as the host's TLS stack would say it (the TLS error
    /// itself says only "invalid certificate"); `None` if it was taken,
    /// or none was given:
    /// - [`Id::CertificateInvalid`] (E604): a path check of this wrapper
    ///   ([`check_chain`]), or a chain that does not decode;
    /// - [`Id::CertificateExpired`] (E607): with a clock, a certificate of
    ///   the chain is outside its validity period;
    /// - [`Id::CertificateWrongName`] (E608): the server's certificate does
    ///   not carry the host name;
    /// - [`Id::CertificateUntrusted`] (E609): the signatures do not lead to
    ///   the trust anchor (another CA, self-signed).
    ///
    /// A chain wrong in several ways gets the first of these that applies.
    #[must_use]
    pub fn refusal(&self) -> Option<Id> {
        self.refusal
    }

    /// Why the inner verifier refused a chain whose server certificate is
    /// `leaf` with `error`, its dates being right: the name, else the
    /// signatures.
    fn classify_leaf(&self, leaf: Option<&[u8]>, error: &TlsError) -> Id {
        if !matches!(error, TlsError::InvalidCertificate) {
            return Id::CertificateInvalid;
        }
        let host = self.host.get(..self.host_len).unwrap_or_default();
        match leaf {
            Some(leaf) if !names_host(leaf, host) => Id::CertificateWrongName,
            Some(_) => Id::CertificateUntrusted,
            None => Id::CertificateInvalid,
        }
    }
}

impl<CipherSuite, Clock, const CERT_SIZE: usize> TlsVerifier<CipherSuite>
    for ConstrainedVerifier<'_, CipherSuite, Clock, CERT_SIZE>
where
    CipherSuite: TlsCipherSuite,
    Clock: TlsClock,
{
    fn set_hostname_verification(&mut self, hostname: &str) -> Result<(), TlsError> {
        self.inner.set_hostname_verification(hostname)?;
        let name = hostname.as_bytes();
        let kept = self
            .host
            .get_mut(..name.len())
            .ok_or(TlsError::InsufficientSpace)?;
        kept.copy_from_slice(name);
        self.host_len = name.len();
        Ok(())
    }

    fn verify_certificate(
        &mut self,
        transcript: &CipherSuite::Hash,
        cert: CertificateRef<'_>,
    ) -> Result<(), TlsError> {
        self.refusal = None;
        if let Err(e) = check_chain(self.anchor, &cert.entries) {
            log_warn!("certificate chain refused: {}", e);
            self.refusal = Some(e.diag());
            return Err(TlsError::InvalidCertificate);
        }
        // Why the inner verifier refuses is worked out from the chain,
        // which it takes: the date check first, while the entries are here.
        let expired = Clock::now().is_some_and(|now| {
            cert.entries
                .iter()
                .filter_map(|e| der(e).ok())
                .any(|d| out_of_date(d, now))
        });
        let leaf = cert.entries.first().and_then(|e| der(e).ok());
        let result = self.inner.verify_certificate(transcript, cert);
        if let Err(e) = &result {
            let why = match (e, expired) {
                (TlsError::InvalidCertificate, true) => Id::CertificateExpired,
                _ => self.classify_leaf(leaf, e),
            };
            log_warn!("certificate refused: E{=u16}", why.number());
            self.refusal = Some(why);
        }
        result
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef<'_>) -> Result<(), TlsError> {
        self.inner.verify_signature(verify)
    }
}
