//! The embassy driver's certificate path checks (`ConstrainedVerifier`), on
//! chains made with rcgen (ECDSA P-256) and given to `verify_certificate`
//! as embedded-tls would after the server's Certificate message.
//!
//! The attack these checks close: embedded-tls's `rustpki` verifier checks
//! signatures, the name and the dates, not what a certificate may do, so a
//! server certificate the trusted CA issued to anyone could sign one for
//! the printer's SMTP server and the chain verified
//! (`inner_verifier_alone_accepts_the_attack_chain`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Aes128GcmSha256, Certificate, CertificateEntryRef, CertificateRef, NoClock, Sha256, TlsError,
    TlsVerifier,
};
use mfp_oauth_embassy::{
    check_anchor, check_chain, ChainError, ConstrainedVerifier, Trust, MAX_CERT_CHAIN_LEN,
};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints,
    PKCS_ECDSA_P256_SHA256,
};

const SERVER: &str = "smtp.example.com";

/// A certificate and its key, able to issue others.
struct Cert {
    der: Vec<u8>,
    params: CertificateParams,
    key: KeyPair,
}

impl Cert {
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

fn params(cn: &str, names: &[&str], ca: IsCa) -> CertificateParams {
    let mut p =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = ca;
    p
}

fn ca_params(cn: &str, path_len: Option<u8>) -> CertificateParams {
    let bc = match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    };
    let mut p = params(cn, &[], IsCa::Ca(bc));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

fn server_params(cn: &str, name: &str) -> CertificateParams {
    let mut p = params(cn, &[name], IsCa::ExplicitNoCa);
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p
}

fn key() -> KeyPair {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap()
}

fn root(p: CertificateParams) -> Cert {
    let key = key();
    let der = p.self_signed(&key).unwrap().der().to_vec();
    Cert {
        der,
        params: p,
        key,
    }
}

fn issue(p: CertificateParams, by: &Cert) -> Cert {
    let key = key();
    let der = p.signed_by(&key, &by.issuer()).unwrap().der().to_vec();
    Cert {
        der,
        params: p,
        key,
    }
}

fn the_ca() -> Cert {
    root(ca_params("Test Root CA", None))
}

type Verifier<'a> = ConstrainedVerifier<'a, Aes128GcmSha256, NoClock, MAX_CERT_CHAIN_LEN>;
type Inner<'a> = CertVerifier<'a, Aes128GcmSha256, NoClock, MAX_CERT_CHAIN_LEN>;

/// The Certificate message of a server sending `chain` (its own first).
fn message<'a>(chain: &[&'a [u8]]) -> CertificateRef<'a> {
    let mut m = CertificateRef::with_context(&[]);
    for der in chain {
        m.add(CertificateEntryRef::X509(der)).unwrap();
    }
    m
}

fn verify(anchor: &[u8], chain: &[&[u8]]) -> Result<(), TlsError> {
    let mut v = Verifier::new(anchor);
    v.set_hostname_verification(SERVER).unwrap();
    v.verify_certificate(&Sha256::default(), message(chain))
}

fn verify_inner(anchor: &[u8], chain: &[&[u8]]) -> Result<(), TlsError> {
    let mut v = Inner::new(Certificate::X509(anchor));
    v.set_hostname_verification(SERVER).unwrap();
    v.verify_certificate(&Sha256::default(), message(chain))
}

/// Refused by the wrapper for `why`, before any signature is checked.
#[track_caller]
fn refused(anchor: &[u8], chain: &[&[u8]], why: ChainError) {
    assert_eq!(check_chain(anchor, &message(chain).entries), Err(why));
    assert!(matches!(
        verify(anchor, chain),
        Err(TlsError::InvalidCertificate)
    ));
}

/// Taken by embedded-tls's verifier alone, refused by the wrapper for
/// `why`: the wrapper's check is what refuses it.
#[track_caller]
fn only_the_wrapper_refuses(anchor: &[u8], chain: &[&[u8]], why: ChainError) {
    assert!(verify_inner(anchor, chain).is_ok());
    refused(anchor, chain, why);
}

/// The CA, an intermediate CA made from `p`, and a server certificate it
/// issued: only the wrapper refuses the chain, for `why`.
#[track_caller]
fn intermediate_refused(p: CertificateParams, why: ChainError) {
    let ca = the_ca();
    let inter = issue(p, &ca);
    let leaf = issue(server_params("smtp", SERVER), &inter);
    only_the_wrapper_refuses(&ca.der, &[&leaf.der, &inter.der], why);
}

// (a) CA → server certificate for the right name.
#[test]
fn ca_then_server_certificate_is_accepted() {
    let ca = the_ca();
    let leaf = issue(server_params("smtp", SERVER), &ca);
    assert_eq!(check_chain(&ca.der, &message(&[&leaf.der]).entries), Ok(()));
    assert!(verify(&ca.der, &[&leaf.der]).is_ok());
    // The inner checks still run: the wrong name is refused.
    let other = issue(server_params("other", "other.example.com"), &ca);
    assert!(verify(&ca.der, &[&other.der]).is_err());
    // A server certificate without any extension but its name (no
    // keyUsage, no extendedKeyUsage, no basicConstraints) is accepted too.
    let plain = issue(params("plain", &[SERVER], IsCa::NoCa), &ca);
    assert!(verify(&ca.der, &[&plain.der]).is_ok());
}

// (b) CA → intermediate (cA TRUE) → server certificate; also with the
// root sent at the end of the chain, as many servers do.
#[test]
fn ca_intermediate_server_is_accepted() {
    let ca = the_ca();
    let inter = issue(ca_params("Issuing CA", Some(0)), &ca);
    let leaf = issue(server_params("smtp", SERVER), &inter);
    assert!(verify(&ca.der, &[&leaf.der, &inter.der]).is_ok());
    assert!(verify(&ca.der, &[&leaf.der, &inter.der, &ca.der]).is_ok());
}

// (c) THE ATTACK: a legitimate server certificate of the trusted CA (leaf
// A, cA FALSE) signs a certificate for the printer's SMTP server.
#[test]
fn server_certificate_signing_another_is_refused() {
    let ca = the_ca();
    let a = issue(server_params("a", "www.someone-else.example"), &ca);
    let forged = issue(server_params("forged", SERVER), &a);
    only_the_wrapper_refuses(&ca.der, &[&forged.der, &a.der], ChainError::IssuerNotCa);
    // Without any basicConstraints at all, too.
    let b = issue(params("b", &["b.example"], IsCa::NoCa), &ca);
    let forged = issue(server_params("forged", SERVER), &b);
    only_the_wrapper_refuses(&ca.der, &[&forged.der, &b.der], ChainError::IssuerNotCa);
}

/// Why the wrapper exists: embedded-tls's verifier alone takes the attack
/// chain of (c).
#[test]
fn inner_verifier_alone_accepts_the_attack_chain() {
    let ca = the_ca();
    let a = issue(server_params("a", "www.someone-else.example"), &ca);
    let forged = issue(server_params("forged", SERVER), &a);
    assert!(verify_inner(&ca.der, &[&forged.der, &a.der]).is_ok());
    assert!(verify(&ca.der, &[&forged.der, &a.der]).is_err());
}

// (d) An intermediate whose keyUsage lacks keyCertSign.
#[test]
fn intermediate_without_key_cert_sign_is_refused() {
    let mut p = ca_params("Issuing CA", None);
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
    intermediate_refused(p, ChainError::IssuerKeyUsage);
}

// (e) pathLenConstraint 0 on an intermediate with another one below.
#[test]
fn path_length_is_enforced() {
    let ca = the_ca();
    let upper = issue(ca_params("Upper CA", Some(0)), &ca);
    let lower = issue(ca_params("Lower CA", None), &upper);
    let leaf = issue(server_params("smtp", SERVER), &lower);
    let chain: [&[u8]; 3] = [&leaf.der, &lower.der, &upper.der];
    only_the_wrapper_refuses(&ca.der, &chain, ChainError::PathTooLong);
    // pathLen 1 allows it.
    let upper = issue(ca_params("Upper CA", Some(1)), &ca);
    let lower = issue(ca_params("Lower CA", None), &upper);
    let leaf = issue(server_params("smtp", SERVER), &lower);
    assert!(verify(&ca.der, &[&leaf.der, &lower.der, &upper.der]).is_ok());
    // The anchor's own pathLen counts: 0 allows no intermediate.
    let strict = root(ca_params("Strict Root", Some(0)));
    let inter = issue(ca_params("Issuing CA", None), &strict);
    let leaf = issue(server_params("smtp", SERVER), &inter);
    refused(
        &strict.der,
        &[&leaf.der, &inter.der],
        ChainError::PathTooLong,
    );
    let direct = issue(server_params("smtp", SERVER), &strict);
    assert!(verify(&strict.der, &[&direct.der]).is_ok());
}

// (f) A server certificate that is itself a CA.
#[test]
fn server_certificate_that_is_a_ca_is_refused() {
    let ca = the_ca();
    let mut p = ca_params("smtp", None);
    p.subject_alt_names = server_params("smtp", SERVER).subject_alt_names;
    p.key_usages.push(KeyUsagePurpose::DigitalSignature);
    let leaf = issue(p, &ca);
    only_the_wrapper_refuses(&ca.der, &[&leaf.der], ChainError::LeafIsCa);
}

// (g) A server certificate for clients only; or with a keyUsage that does
// not allow signatures (TLS 1.3's CertificateVerify is one).
#[test]
fn server_certificate_not_for_servers_is_refused() {
    let ca = the_ca();
    let mut p = server_params("smtp", SERVER);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let leaf = issue(p, &ca);
    only_the_wrapper_refuses(&ca.der, &[&leaf.der], ChainError::NotForServerAuth);

    let mut p = server_params("smtp", SERVER);
    p.key_usages = vec![KeyUsagePurpose::KeyEncipherment];
    let leaf = issue(p, &ca);
    only_the_wrapper_refuses(&ca.der, &[&leaf.der], ChainError::NotForServerAuth);

    // An intermediate restricted to client authentication.
    let mut p = ca_params("Client CA", None);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    intermediate_refused(p, ChainError::NotForServerAuth);
}

// (h) Garbage in an entry: refused, no panic.
#[test]
fn garbage_entries_are_refused_without_panic() {
    let ca = the_ca();
    let leaf = issue(server_params("smtp", SERVER), &ca);
    let garbage: [&[u8]; 6] = [
        &[],
        &[0x30],
        &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        &[0x30, 0x03, 0x02, 0x01, 0x00],
        &[0xff; 64],
        &leaf.der[..leaf.der.len() - 1],
    ];
    for g in garbage {
        refused(&ca.der, &[g], ChainError::Malformed);
        refused(&ca.der, &[&leaf.der, g], ChainError::Malformed);
    }
    // Trailing octets after the certificate.
    let mut long = leaf.der.clone();
    long.push(0);
    refused(&ca.der, &[&long], ChainError::Malformed);
    // Every truncation and every single-octet change of a good chain:
    // never a panic, and a change that still parses is decided by the
    // signatures.
    let inter = issue(ca_params("Issuing CA", None), &ca);
    let leaf = issue(server_params("smtp", SERVER), &inter);
    for n in 0..inter.der.len() {
        let cut = &inter.der[..n];
        refused(&ca.der, &[&leaf.der, cut], ChainError::Malformed);
        let mut bad = inter.der.clone();
        bad[n] ^= 0x41;
        assert!(verify(&ca.der, &[&leaf.der, &bad]).is_err());
    }
    // No certificate at all.
    refused(&ca.der, &[], ChainError::Empty);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    // Any octets as the server's certificate, or as its issuer, or a good
    // issuer with octets changed: never a panic; octets that are no
    // certificate are Malformed; a changed issuer is never taken by the
    // whole verifier.
    #[test]
    fn any_octets_are_refused_without_panic(
        junk in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
        edits in proptest::collection::vec((proptest::num::usize::ANY, 1u8..=255), 1..4),
    ) {
        let (ca, inter, leaf) = fixture();
        let r = check_chain(&ca.der, &message(&[&junk]).entries);
        proptest::prop_assert!(r.is_err());
        let _ = check_chain(&ca.der, &message(&[&leaf.der, &junk]).entries);
        let _ = check_anchor(&junk);
        let mut bad = inter.der.clone();
        for (at, x) in edits {
            let i = at % bad.len();
            bad[i] ^= x;
        }
        // (Edits at one place may cancel out.)
        if bad != inter.der {
            proptest::prop_assert!(verify(&ca.der, &[&leaf.der, &bad]).is_err());
        }
    }
}

/// A CA, an intermediate and a server certificate, made once.
fn fixture() -> &'static (Cert, Cert, Cert) {
    static F: std::sync::OnceLock<(Cert, Cert, Cert)> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        let ca = the_ca();
        let inter = issue(ca_params("Issuing CA", None), &ca);
        let leaf = issue(server_params("smtp", SERVER), &inter);
        (ca, inter, leaf)
    })
}

// Critical extensions this verifier does not process, and nameConstraints
// (RFC 5280 §4.2: refuse, never ignore).
#[test]
fn unprocessed_extensions_are_refused() {
    let ca = the_ca();
    let mut p = ca_params("Constrained CA", None);
    p.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![GeneralSubtree::DnsName("example.org".into())],
        excluded_subtrees: vec![],
    });
    // The inner verifier ignores the constraint: example.com is outside it.
    intermediate_refused(p, ChainError::NameConstraints);

    // An unknown extension (1.3.6.1.4.1.99999.1): refused when critical,
    // ignored when not.
    let ext = |critical: bool| {
        let mut e = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![5, 0]);
        e.set_criticality(critical);
        e
    };
    let mut p = server_params("smtp", SERVER);
    p.custom_extensions = vec![ext(true)];
    let leaf = issue(p, &ca);
    refused(&ca.der, &[&leaf.der], ChainError::UnknownCriticalExtension);
    let mut p = server_params("smtp", SERVER);
    p.custom_extensions = vec![ext(false)];
    let leaf = issue(p, &ca);
    assert!(verify(&ca.der, &[&leaf.der]).is_ok());

    // basicConstraints twice (cA FALSE, then cA TRUE).
    let mut p = ca_params("Twice CA", None);
    p.custom_extensions = vec![CustomExtension::from_oid_content(
        &[2, 5, 29, 19],
        vec![0x30, 0x00],
    )];
    intermediate_refused(p, ChainError::DuplicateExtension);
}

// The trust anchor itself must be a CA certificate.
#[test]
fn anchor_must_be_a_ca() {
    let ca = the_ca();
    assert_eq!(check_anchor(&ca.der), Ok(()));
    assert_eq!(Trust { ca_der: &ca.der }.check(), Ok(()));
    let server = issue(server_params("smtp", SERVER), &ca);
    assert_eq!(check_anchor(&server.der), Err(ChainError::AnchorNotCa));
    assert_eq!(
        Trust {
            ca_der: &server.der
        }
        .check(),
        Err(ChainError::AnchorNotCa)
    );
    assert_eq!(
        check_anchor(b"not a certificate"),
        Err(ChainError::Malformed)
    );
    // A server certificate as anchor: the inner verifier would take a
    // certificate it signed; the wrapper takes nothing under it.
    let under = issue(server_params("smtp", SERVER), &server);
    only_the_wrapper_refuses(&server.der, &[&under.der], ChainError::AnchorNotCa);
    // A self-signed "CA" whose keyUsage lacks keyCertSign.
    let mut p = ca_params("Odd Root", None);
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let odd = root(p);
    assert_eq!(check_anchor(&odd.der), Err(ChainError::AnchorNotCa));
}

// The error is a diagnostic of the catalogue and says what happened.
#[test]
fn chain_errors_map_to_certificate_invalid() {
    use mfp_oauth_core::diag::{Diagnostic, Id};
    assert_eq!(ChainError::IssuerNotCa.diag(), Id::CertificateInvalid);
    assert_eq!(
        ChainError::IssuerNotCa.to_string(),
        "a certificate that signs another one is not a CA"
    );
}

/// A verifier with `Clock`'s dates: what it returns for `chain`, and why
/// it refused it.
fn verify_why<C: embedded_tls::TlsClock>(
    anchor: &[u8],
    chain: &[&[u8]],
) -> (Result<(), TlsError>, Option<mfp_oauth_core::diag::Id>) {
    let mut v = ConstrainedVerifier::<'_, Aes128GcmSha256, C, MAX_CERT_CHAIN_LEN>::new(anchor);
    v.set_hostname_verification(SERVER).unwrap();
    let r = v.verify_certificate(&Sha256::default(), message(chain));
    (r, v.refusal())
}

/// Taken, with no refusal recorded.
fn taken<C: embedded_tls::TlsClock>(anchor: &[u8], chain: &[&[u8]]) -> bool {
    let (r, why) = verify_why::<C>(anchor, chain);
    r.is_ok() && why.is_none()
}

/// A wall clock in the year 5000: every certificate here has expired
/// (rcgen's default notAfter is 4096).
struct Year5000;

impl embedded_tls::TlsClock for Year5000 {
    fn now() -> Option<u64> {
        Some(95_617_584_000)
    }
}

/// A wall clock in 2026, within every certificate's dates here.
struct Year2026;

impl embedded_tls::TlsClock for Year2026 {
    fn now() -> Option<u64> {
        Some(1_780_000_000)
    }
}

// Issue 15: a refused chain is told apart as the host's TLS stack tells
// it, so that the job (after STARTTLS, on implicit TLS, at the token
// endpoint) reports E609 for another CA, E608 for the wrong name, E607
// for an expired certificate and E604 for a path check, not one
// "certificate invalid" for all.
#[test]
fn a_refused_chain_says_why() {
    use mfp_oauth_core::diag::Id;
    let ca = the_ca();
    let leaf = issue(server_params("smtp", SERVER), &ca);
    // Taken: no refusal.
    assert!(taken::<NoClock>(&ca.der, &[&leaf.der]));
    assert!(taken::<Year2026>(&ca.der, &[&leaf.der]));
    // Another CA (the wrong trust anchor): untrusted.
    let other_ca = root(ca_params("Other Root CA", None));
    let (r, why) = verify_why::<NoClock>(&other_ca.der, &[&leaf.der]);
    assert!(matches!(r, Err(TlsError::InvalidCertificate)));
    assert_eq!(why, Some(Id::CertificateUntrusted));
    // Self-signed by the server: untrusted.
    let mut own = server_params("smtp", SERVER);
    own.key_usages.push(KeyUsagePurpose::KeyCertSign);
    let own = root(own);
    assert_eq!(
        verify_why::<NoClock>(&ca.der, &[&own.der]).1,
        Some(Id::CertificateUntrusted)
    );
    // The right CA, another name: the wrong name (SAN and CN both other).
    let other = issue(server_params("other", "other.example.com"), &ca);
    let (r, why) = verify_why::<NoClock>(&ca.der, &[&other.der]);
    assert!(matches!(r, Err(TlsError::InvalidCertificate)));
    assert_eq!(why, Some(Id::CertificateWrongName));
    // A wildcard for the server's domain is its name; one a level up is not.
    let wild = issue(server_params("wild", "*.example.com"), &ca);
    assert!(taken::<NoClock>(&ca.der, &[&wild.der]));
    let too_wide = issue(server_params("wide", "*.com"), &ca);
    assert_eq!(
        verify_why::<NoClock>(&ca.der, &[&too_wide.der]).1,
        Some(Id::CertificateWrongName)
    );
    // Expired, with a clock (the name and CA right): expired.
    let (r, why) = verify_why::<Year5000>(&ca.der, &[&leaf.der]);
    assert!(matches!(r, Err(TlsError::InvalidCertificate)));
    assert_eq!(why, Some(Id::CertificateExpired));
    // A path check of the wrapper: certificate invalid.
    let a = issue(server_params("a", "www.someone-else.example"), &ca);
    let forged = issue(server_params("forged", SERVER), &a);
    assert_eq!(
        verify_why::<NoClock>(&ca.der, &[&forged.der, &a.der]).1,
        Some(Id::CertificateInvalid)
    );
    // The refusal is the last chain's: a good one clears it.
    let mut v = Verifier::new(&ca.der);
    v.set_hostname_verification(SERVER).unwrap();
    assert!(v
        .verify_certificate(&Sha256::default(), message(&[&other.der]))
        .is_err());
    assert_eq!(v.refusal(), Some(Id::CertificateWrongName));
    assert!(v
        .verify_certificate(&Sha256::default(), message(&[&leaf.der]))
        .is_ok());
    assert_eq!(v.refusal(), None);
}
