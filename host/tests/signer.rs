//! The host's assertion signer (R-APP, issue 18): an RSA key from a file
//! signs the core's assertion, and the signature verifies with the public
//! key openssl derived from it. The keys under tests/data are test keys,
//! generated for these tests and registered nowhere.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use mfp_oauth_core::address::Address;
use mfp_oauth_core::limits::{OAUTH_REQUEST_BUF_LEN, OAUTH_RESPONSE_BUF_LEN};
use mfp_oauth_core::oauth::{
    AssertionSigner, Client, Event, JwsAlg, RequestKind, ServiceAccount, Thumbprint,
};
use mfp_oauth_core::provider::{AppRegistration, MicrosoftCloud, Provider, Tenant};
use mfp_oauth_core::Instant;
use mfp_oauth_host::signer::{
    certificate_thumbprint, certificate_thumbprint_file, RsaSigner, ServiceAccountKey, SignerError,
};
use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// `openssl rsa -in TEST-ONLY-app-key.pem -RSAPublicKey_out -outform DER`.
fn public_key() -> Vec<u8> {
    std::fs::read(data("TEST-ONLY-app-public.der")).unwrap()
}

/// `openssl x509 -in TEST-ONLY-app-cert.pem -noout -fingerprint -sha256`.
const CERT_SHA256: &str = "77:EE:80:2D:C3:CA:6C:6F:29:72:77:57:12:9F:81:8D:0E:BA:27:95:1B:78:B1:D5:82:D4:B7:B6:DD:F0:9F:FE";

const WALL: u64 = 1_796_587_200;

fn verify(alg: JwsAlg, message: &[u8], signature: &[u8]) -> bool {
    let params: &dyn ring::signature::VerificationAlgorithm = match alg {
        JwsAlg::Rs256 => &RSA_PKCS1_2048_8192_SHA256,
        JwsAlg::Ps256 => &RSA_PSS_2048_8192_SHA256,
    };
    UnparsedPublicKey::new(params, public_key())
        .verify(message, signature)
        .is_ok()
}

#[test]
fn a_pkcs8_pem_key_signs_rs256_and_ps256_that_verify() {
    for alg in [JwsAlg::Rs256, JwsAlg::Ps256] {
        let mut s = RsaSigner::from_file(&data("TEST-ONLY-app-key.pem"))
            .unwrap()
            .with_alg(alg);
        assert_eq!(s.signature_len(), 256);
        assert_eq!(s.public_key_der(), &public_key()[..]);
        let mut out = [0u8; 512];
        let n = s.sign(b"header.claims", &mut out).unwrap();
        assert_eq!(n, 256);
        assert!(verify(alg, b"header.claims", &out[..n]), "{alg:?}");
        assert!(!verify(alg, b"header.claimz", &out[..n]), "{alg:?}");
        // No room for the signature: an error, not a panic.
        assert!(s.sign(b"x", &mut out[..255]).is_err());
    }
}

#[test]
fn pkcs1_pem_and_der_keys_load_too() {
    let a = RsaSigner::from_file(&data("TEST-ONLY-app-key-pkcs1.pem")).unwrap();
    assert_eq!(a.public_key_der(), &public_key()[..]);
    let pem = std::fs::read_to_string(data("TEST-ONLY-app-key.pem")).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let dir = std::env::temp_dir().join(format!("mfp-signer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let der_path = dir.join("key.der");
    std::fs::write(&der_path, &der).unwrap();
    let b = RsaSigner::from_file(&der_path).unwrap();
    assert_eq!(b.public_key_der(), &public_key()[..]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wrong_files_are_clear_errors_without_key_material() {
    let cert = std::fs::read_to_string(data("TEST-ONLY-app-cert.pem")).unwrap();
    assert_eq!(
        RsaSigner::from_pem(&cert).unwrap_err(),
        SignerError::NoPemBlock("private key")
    );
    let enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert_eq!(
        RsaSigner::from_pem(enc).unwrap_err(),
        SignerError::EncryptedKey
    );
    let bad = "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n";
    assert_eq!(RsaSigner::from_pem(bad).unwrap_err(), SignerError::BadPem);
    assert!(matches!(
        RsaSigner::from_der(b"not a key").unwrap_err(),
        SignerError::KeyRejected(_)
    ));
    assert!(matches!(
        RsaSigner::from_file(&data("no-such-file.pem")).unwrap_err(),
        SignerError::Io(_)
    ));
    // What a signer shows says nothing of the key.
    let s = RsaSigner::from_file(&data("TEST-ONLY-app-key.pem")).unwrap();
    let shown = format!("{s:?}");
    assert_eq!(shown, "RsaSigner { bits: 2048, alg: Rs256, .. }");
}

#[test]
fn the_thumbprint_is_the_certificates_sha256() {
    let want = Thumbprint::parse(CERT_SHA256).unwrap();
    assert_eq!(
        certificate_thumbprint_file(&data("TEST-ONLY-app-cert.pem")).unwrap(),
        want
    );
    // A file with the key and the certificate: the certificate's.
    let both = format!(
        "{}{}",
        std::fs::read_to_string(data("TEST-ONLY-app-key.pem")).unwrap(),
        std::fs::read_to_string(data("TEST-ONLY-app-cert.pem")).unwrap()
    );
    assert_eq!(certificate_thumbprint(both.as_bytes()).unwrap(), want);
    // DER.
    let pem = std::fs::read_to_string(data("TEST-ONLY-app-cert.pem")).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(certificate_thumbprint(&der).unwrap(), want);
    assert!(certificate_thumbprint(b"hello").is_err());
}

fn secs(s: u64) -> Instant {
    Instant::from_millis(s * 1000)
}

/// The signature at the end of the request's JWT verifies over the rest.
fn check_request(req: &str, field: &str, alg: JwsAlg) {
    let body = req.split("\r\n\r\n").nth(1).unwrap();
    let jwt = form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == field)
        .unwrap()
        .1
        .into_owned();
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    assert_eq!(sig.len(), 256);
    assert!(verify(alg, input.as_bytes(), &sig));
}

#[test]
fn the_core_s_certificate_assertion_signed_on_the_host_verifies() {
    for alg in [JwsAlg::Rs256, JwsAlg::Ps256] {
        let provider = Provider::microsoft(
            MicrosoftCloud::Global,
            Tenant::Id("contoso.onmicrosoft.com"),
        )
        .unwrap();
        let app = AppRegistration::public("00000000-1111-2222-3333-444444444444").unwrap();
        let mut c = Client::new(provider, app, vec![0u8; OAUTH_RESPONSE_BUF_LEN], 1);
        let thumb = certificate_thumbprint_file(&data("TEST-ONLY-app-cert.pem")).unwrap();
        c.start_client_assertion(secs(0), WALL, &[9; 16], &thumb, alg)
            .unwrap();
        assert_eq!(c.poll_event(), Some(Event::SignatureRequired));
        let mut signer = RsaSigner::from_file(&data("TEST-ONLY-app-key.pem"))
            .unwrap()
            .with_alg(alg);
        let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
        c.sign_with(secs(0), &mut signer, &mut out).unwrap();
        let tx = c.poll_transmit(secs(0), &mut out).unwrap().unwrap();
        assert_eq!(tx.kind, RequestKind::ClientCredentials);
        let req = String::from_utf8(out[..tx.len].to_vec()).unwrap();
        check_request(&req, "client_assertion", alg);
    }
}

#[test]
fn a_service_account_key_file_signs_the_core_s_jwt_bearer_grant() {
    let pem = std::fs::read_to_string(data("TEST-ONLY-app-key.pem")).unwrap();
    // The shape of a Google key file, with the test key.
    let json = serde_json::json!({
        "type": "service_account",
        "project_id": "project-1",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem,
        "client_email": "printer@project-1.iam.gserviceaccount.com",
        "client_id": "123",
        "token_uri": "https://oauth2.googleapis.com/token",
    })
    .to_string();
    let mut key = ServiceAccountKey::from_json(&json).unwrap();
    assert_eq!(
        key.client_email,
        "printer@project-1.iam.gserviceaccount.com"
    );
    let shown = format!("{key:?}");
    assert!(!shown.contains("PRIVATE"), "{shown}");
    assert!(
        !shown.contains(&pem.lines().nth(1).unwrap()[..20]),
        "{shown}"
    );

    let mut c = Client::new(
        Provider::google().unwrap(),
        AppRegistration::public("unused").unwrap(),
        vec![0u8; OAUTH_RESPONSE_BUF_LEN],
        1,
    );
    let mailbox = Address::parse("scans@example.com").unwrap();
    c.start_service_account(
        secs(0),
        WALL,
        &ServiceAccount {
            client_email: &key.client_email,
            subject: &mailbox,
            key_id: key.private_key_id.as_deref(),
        },
    )
    .unwrap();
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    c.sign_with(secs(0), &mut key.signer, &mut out).unwrap();
    let tx = c.poll_transmit(secs(0), &mut out).unwrap().unwrap();
    assert_eq!(tx.kind, RequestKind::JwtBearer);
    let req = String::from_utf8(out[..tx.len].to_vec()).unwrap();
    check_request(&req, "assertion", JwsAlg::Rs256);

    for (bad, field) in [
        ("{}", "client_email"),
        (r#"{"client_email":"a@b.c"}"#, "private_key"),
        ("nope", "JSON object"),
    ] {
        assert_eq!(
            ServiceAccountKey::from_json(bad).unwrap_err(),
            SignerError::ServiceAccountJson(field)
        );
    }
}
