//! App-only sign-in (R-APP, R-OAUTH, issue 18): client credentials with a
//! client secret or a signed client assertion (Microsoft Entra), and a
//! service account's JWT bearer grant (Google), on simulated time.

use super::*;
use crate::diag::{Diagnostic, Id};
use crate::limits::{MAX_SIGNING_INPUT_LEN, OAUTH_REQUEST_BUF_LEN, OAUTH_RESPONSE_BUF_LEN};
use crate::provider::{CustomEndpoints, MicrosoftCloud, Tenant};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use std::string::String;
use std::vec::Vec;
use std::{format, vec};

type TestClient = Client<Vec<u8>>;

const CLIENT_ID: &str = "00000000-1111-2222-3333-444444444444";
const TOKEN_URL: &str =
    "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
/// 2026-12-06T20:00:00Z.
const WALL: u64 = 1_796_587_200;
const JTI: [u8; 16] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
];
const THUMB: [u8; 32] = [0xab; 32];
const SA_EMAIL: &str = "printer@project-1.iam.gserviceaccount.com";
const MAILBOX: &str = "scans@example.com";
const KEY_ID: &str = "0123456789abcdef0123456789abcdef01234567";
/// An app-only answer: no refresh token (Entra's client credentials shape).
const APP_TOKEN: &str =
    r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0.APP"}"#;

fn secs(s: u64) -> Instant {
    Instant::from_millis(s * 1000)
}

fn ms_provider() -> Provider {
    Provider::microsoft(
        MicrosoftCloud::Global,
        Tenant::Id("contoso.onmicrosoft.com"),
    )
    .unwrap()
}

fn client(provider: Provider, app: AppRegistration) -> TestClient {
    Client::new(provider, app, vec![0u8; OAUTH_RESPONSE_BUF_LEN], 3)
}

fn ms_client() -> TestClient {
    client(ms_provider(), AppRegistration::public(CLIENT_ID).unwrap())
}

fn google_client() -> TestClient {
    // A service account's grant carries no client id or secret.
    client(
        Provider::google().unwrap(),
        AppRegistration::public("unused.apps.googleusercontent.com").unwrap(),
    )
}

fn http(status: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn events(c: &mut TestClient) -> Vec<Event> {
    core::iter::from_fn(|| c.poll_event()).collect()
}

/// The due request, as text.
fn transmit(c: &mut TestClient, now: Instant) -> (RequestKind, bool, String) {
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    let tx = c
        .poll_transmit(now, &mut out)
        .unwrap()
        .expect("a request is due");
    let (kind, sensitive) = (tx.kind, tx.sensitive);
    (
        kind,
        sensitive,
        String::from_utf8(out[..tx.len].to_vec()).unwrap(),
    )
}

fn answer(c: &mut TestClient, now: Instant, response: &str) {
    assert_eq!(c.handle_input(now, response.as_bytes()), response.len());
    c.handle_close(now);
}

fn body_of(req: &str) -> &str {
    req.split("\r\n\r\n").nth(1).unwrap()
}

fn signing_input(c: &TestClient) -> String {
    let mut buf = vec![0u8; MAX_SIGNING_INPUT_LEN];
    let n = c.signing_input(&mut buf).unwrap();
    assert_eq!(c.signing_input_len(), Some(n));
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

/// A JWT header read as JSON.
#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    #[serde(rename = "x5t#S256")]
    x5t: Option<&'a str>,
    kid: Option<&'a str>,
}

/// JWT claims read as JSON.
#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    scope: Option<&'a str>,
    jti: Option<&'a str>,
    iat: Option<u64>,
    nbf: Option<u64>,
    exp: u64,
}

/// The decoded header and claims of a signing input.
fn decoded(input: &str) -> (Vec<u8>, Vec<u8>) {
    let (h, c) = input.split_once('.').unwrap();
    (
        URL_SAFE_NO_PAD.decode(h).unwrap(),
        URL_SAFE_NO_PAD.decode(c).unwrap(),
    )
}

fn json<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> T {
    serde_json_core::from_slice(bytes).unwrap().0
}

/// A fake signer: the "signature" is `len` octets derived from the input.
struct FakeSigner {
    len: usize,
    seen: Vec<Vec<u8>>,
    fail: bool,
}

impl FakeSigner {
    fn new(len: usize) -> Self {
        FakeSigner {
            len,
            seen: Vec::new(),
            fail: false,
        }
    }

    fn signature(input: &[u8], len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| input[i % input.len()] ^ (i as u8))
            .collect()
    }
}

impl AssertionSigner for FakeSigner {
    fn sign(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize, SignError> {
        self.seen.push(input.to_vec());
        if self.fail {
            return Err(SignError);
        }
        let sig = Self::signature(input, self.len.min(out.len()));
        out[..sig.len()].copy_from_slice(&sig);
        Ok(self.len)
    }
}

fn start_assertion(c: &mut TestClient, now: Instant) {
    c.start_client_assertion(
        now,
        WALL,
        &JTI,
        &Thumbprint::from_octets(THUMB),
        JwsAlg::Rs256,
    )
    .unwrap();
}

fn start_google(c: &mut TestClient, now: Instant) {
    let mailbox = Address::parse(MAILBOX).unwrap();
    c.start_service_account(
        now,
        WALL,
        &ServiceAccount {
            client_email: SA_EMAIL,
            subject: &mailbox,
            key_id: Some(KEY_ID),
        },
    )
    .unwrap();
}

#[test]
fn client_secret_request_octet_for_octet() {
    let app = AppRegistration::with_secret(CLIENT_ID, b"s3cr&t~=+ value").unwrap();
    let mut c = client(ms_provider(), app);
    c.start_client_credentials(secs(1)).unwrap();
    assert!(!c.needs_signature());
    let (kind, sensitive, req) = transmit(&mut c, secs(1));
    assert_eq!(kind, RequestKind::ClientCredentials);
    assert!(sensitive);
    let body = "grant_type=client_credentials\
        &client_id=00000000-1111-2222-3333-444444444444\
        &scope=https%3A%2F%2Foutlook.office365.com%2F.default\
        &client_secret=s3cr%26t%7E%3D%2B+value";
    assert_eq!(
        req,
        format!(
            "POST /contoso.onmicrosoft.com/oauth2/v2.0/token HTTP/1.1\r\n\
             Host: login.microsoftonline.com\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\
             Accept: application/json\r\n\
             User-Agent: {USER_AGENT}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
    );
    answer(&mut c, secs(2), &http(200, APP_TOKEN));
    // No refresh token: the access token alone, nothing to persist.
    assert_eq!(
        events(&mut c),
        [Event::AccessToken {
            expires_at: Some(secs(2 + 3599))
        }]
    );
    let t = c.tokens().unwrap();
    assert_eq!(t.access_token.expose(), b"eyJ0.APP");
    assert!(t.refresh_token.is_empty());
    assert!(c.new_refresh_token().is_none());
    assert!(matches!(
        c.take_outcome(),
        Some((FlowKind::ClientCredentials, Event::AccessToken { .. }))
    ));
}

#[test]
fn client_credentials_need_a_secret_and_assertions_a_set_clock() {
    let mut c = ms_client();
    assert_eq!(
        c.start_client_credentials(secs(0)),
        Err(OAuthError::InvalidArgument)
    );
    assert_eq!(
        c.start_client_assertion(
            secs(0),
            1_000,
            &JTI,
            &Thumbprint::from_octets(THUMB),
            JwsAlg::Rs256
        ),
        Err(OAuthError::ClockNotSet)
    );
    assert_eq!(OAuthError::ClockNotSet.diag(), Id::AssertionTimeRange);
    let mailbox = Address::parse(MAILBOX).unwrap();
    for (email, kid) in [
        ("not an address", None),
        (SA_EMAIL, Some("")),
        (SA_EMAIL, Some("has space")),
        (SA_EMAIL, Some(&"k".repeat(65)[..])),
    ] {
        let account = ServiceAccount {
            client_email: email,
            subject: &mailbox,
            key_id: kid,
        };
        assert_eq!(
            c.start_service_account(secs(0), WALL, &account),
            Err(OAuthError::InvalidArgument),
            "{email} {kid:?}"
        );
    }
    assert!(c.is_finished());
}

#[test]
fn certificate_assertion_request_octet_for_octet() {
    let mut c = ms_client();
    start_assertion(&mut c, secs(5));
    assert_eq!(events(&mut c), [Event::SignatureRequired]);
    let input = signing_input(&c);

    let x5t = URL_SAFE_NO_PAD.encode(THUMB);
    let header = format!(r#"{{"alg":"RS256","typ":"JWT","x5t#S256":"{x5t}"}}"#);
    let claims = format!(
        r#"{{"aud":"{TOKEN_URL}","iss":"{CLIENT_ID}","sub":"{CLIENT_ID}","jti":"00112233-4455-4677-8899-aabbccddeeff","nbf":{WALL},"exp":{}}}"#,
        WALL + 600
    );
    assert_eq!(input, format!("{}.{}", b64(&header), b64(&claims)));
    // Decoded and read as JSON, the claims say what Entra checks.
    let (h, cl) = decoded(&input);
    let h: Header<'_> = json(&h);
    let cl: Claims<'_> = json(&cl);
    assert_eq!(
        (h.alg, h.typ, h.x5t, h.kid),
        ("RS256", "JWT", Some(&x5t[..]), None)
    );
    assert_eq!((cl.aud, cl.iss, cl.sub), (TOKEN_URL, CLIENT_ID, CLIENT_ID));
    assert_eq!(cl.jti, Some("00112233-4455-4677-8899-aabbccddeeff"));
    assert_eq!(
        (cl.iat, cl.nbf, cl.exp, cl.scope),
        (None, Some(WALL), WALL + 600, None)
    );

    let mut signer = FakeSigner::new(256);
    let mut scratch = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    c.sign_with(secs(6), &mut signer, &mut scratch).unwrap();
    assert_eq!(signer.seen, [input.as_bytes().to_vec()]);
    let sig = FakeSigner::signature(input.as_bytes(), 256);

    let (kind, sensitive, req) = transmit(&mut c, secs(6));
    assert_eq!(kind, RequestKind::ClientCredentials);
    assert!(sensitive);
    assert_eq!(
        body_of(&req),
        format!(
            "grant_type=client_credentials\
             &client_id={CLIENT_ID}\
             &scope=https%3A%2F%2Foutlook.office365.com%2F.default\
             &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion={input}.{}",
            URL_SAFE_NO_PAD.encode(&sig)
        )
    );
    assert!(req.contains(&format!("Content-Length: {}\r\n", body_of(&req).len())));
    // The signature is wiped once sent.
    let Grant::Assertion(a) = &c.grant else {
        panic!("assertion grant")
    };
    assert!(a.signature.is_empty());

    answer(&mut c, secs(7), &http(200, APP_TOKEN));
    assert_eq!(
        events(&mut c),
        [Event::AccessToken {
            expires_at: Some(secs(7 + 3599))
        }]
    );
    assert!(c.tokens().unwrap().refresh_token.is_empty());
}

#[test]
fn ps256_and_other_clouds() {
    let p = Provider::microsoft(MicrosoftCloud::UsGovGccHigh, Tenant::Id("contoso.us")).unwrap();
    assert_eq!(p.app_only_scope(), "https://outlook.office365.us/.default");
    let mut c = client(p, AppRegistration::public(CLIENT_ID).unwrap());
    c.start_client_assertion(
        secs(0),
        WALL,
        &JTI,
        &Thumbprint::from_octets(THUMB),
        JwsAlg::Ps256,
    )
    .unwrap();
    let input = signing_input(&c);
    let header = URL_SAFE_NO_PAD
        .decode(input.split('.').next().unwrap())
        .unwrap();
    assert!(header.starts_with(br#"{"alg":"PS256","typ":"JWT","#));
    c.handle_signature(secs(0), &[1; 384]).unwrap();
    let (_, _, req) = transmit(&mut c, secs(0));
    assert!(body_of(&req).contains("&scope=https%3A%2F%2Foutlook.office365.us%2F.default&"));
    // Existing profiles keep their delegated scope for every other flow.
    assert_eq!(
        ms_provider().scope(),
        "https://outlook.office.com/SMTP.Send offline_access"
    );
    assert_eq!(
        Provider::google().unwrap().app_only_scope(),
        "https://mail.google.com/"
    );
}

#[test]
fn service_account_request_octet_for_octet() {
    let mut c = google_client();
    start_google(&mut c, secs(0));
    assert_eq!(events(&mut c), [Event::SignatureRequired]);
    let input = signing_input(&c);
    let header = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{KEY_ID}"}}"#);
    let claims = format!(
        r#"{{"aud":"https://oauth2.googleapis.com/token","iss":"{SA_EMAIL}","sub":"{MAILBOX}","scope":"https://mail.google.com/","iat":{WALL},"exp":{}}}"#,
        WALL + 600
    );
    assert_eq!(input, format!("{}.{}", b64(&header), b64(&claims)));
    let (h, cl) = decoded(&input);
    let h: Header<'_> = json(&h);
    let cl: Claims<'_> = json(&cl);
    assert_eq!(
        (h.alg, h.typ, h.x5t, h.kid),
        ("RS256", "JWT", None, Some(KEY_ID))
    );
    assert_eq!((cl.iss, cl.sub), (SA_EMAIL, MAILBOX));
    assert_eq!(cl.aud, "https://oauth2.googleapis.com/token");
    assert_eq!(cl.scope, Some("https://mail.google.com/"));
    assert_eq!((cl.jti, cl.nbf), (None, None));
    // Google: `exp` at most an hour after `iat`.
    assert_eq!(cl.iat, Some(WALL));
    assert!(cl.exp - WALL <= 3600);

    let sig = [0x5a; 256];
    c.handle_signature(secs(1), &sig).unwrap();
    let (kind, sensitive, req) = transmit(&mut c, secs(1));
    assert_eq!(kind, RequestKind::JwtBearer);
    assert!(sensitive);
    // Only the grant type and the assertion: no client id, no secret.
    assert_eq!(
        body_of(&req),
        format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={input}.{}",
            URL_SAFE_NO_PAD.encode(sig)
        )
    );
    assert!(req.starts_with("POST /token HTTP/1.1\r\nHost: oauth2.googleapis.com\r\n"));
    // Google answers a service account with an access token alone; one
    // with a refresh token all the same has it dropped.
    let body = r#"{"access_token":"ya29.SA","expires_in":3599,"token_type":"Bearer","refresh_token":"1//unexpected"}"#;
    answer(&mut c, secs(2), &http(200, body));
    assert_eq!(
        events(&mut c),
        [Event::AccessToken {
            expires_at: Some(secs(2 + 3599))
        }]
    );
    assert!(c.tokens().unwrap().refresh_token.is_empty());
    assert!(c.new_refresh_token().is_none());
    assert!(matches!(
        c.take_outcome(),
        Some((FlowKind::ServiceAccount, _))
    ));
}

#[test]
fn nothing_is_sent_before_the_signature_and_wrong_states_are_errors() {
    let mut c = ms_client();
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    // No flow: nothing to sign.
    assert_eq!(
        c.handle_signature(secs(0), &[1; 256]),
        Err(OAuthError::WrongState)
    );
    assert_eq!(c.signing_input(&mut out), Err(OAuthError::WrongState));
    assert_eq!(c.signing_input_len(), None);
    // A refresh has nothing to sign either.
    c.start_refresh(secs(0), b"rt").unwrap();
    assert!(!c.needs_signature());
    assert_eq!(
        c.handle_signature(secs(0), &[1; 256]),
        Err(OAuthError::WrongState)
    );

    start_assertion(&mut c, secs(10));
    assert!(c.needs_signature());
    assert!(!c.is_finished());
    assert_eq!(c.poll_timeout(), Some(secs(10) + SIGNATURE_TIMEOUT));
    for t in [10, 11, 30] {
        assert_eq!(c.poll_transmit(secs(t), &mut out), Ok(None));
        c.handle_timeout(secs(t));
    }
    assert!(c.needs_signature());
    // A signer input buffer too small says how much is needed.
    let need = c.signing_input_len().unwrap();
    assert_eq!(
        c.signing_input(&mut out[..10]),
        Err(OAuthError::BufferTooSmall(BufferTooSmall { needed: need }))
    );
    assert_eq!(
        c.handle_signature(secs(30), &[]),
        Err(OAuthError::InvalidArgument)
    );
    c.handle_signature(secs(31), &[7; 256]).unwrap();
    assert!(!c.needs_signature());
    // Signed once: a second signature is a wrong-state call.
    assert_eq!(
        c.handle_signature(secs(31), &[7; 256]),
        Err(OAuthError::WrongState)
    );
    assert_eq!(c.signing_input(&mut out), Err(OAuthError::WrongState));
    let (kind, _, _) = transmit(&mut c, secs(31));
    assert_eq!(kind, RequestKind::ClientCredentials);
    // In flight: still no signing.
    assert_eq!(
        c.handle_signature(secs(31), &[7; 256]),
        Err(OAuthError::WrongState)
    );
    assert_eq!(c.poll_transmit(secs(31), &mut out), Ok(None));
}

#[test]
fn the_input_streamed_in_pieces_is_the_input_written() {
    let mut c = google_client();
    start_google(&mut c, secs(0));
    let mut pieces = Vec::new();
    c.stream_signing_input(&mut |p| pieces.extend_from_slice(p))
        .unwrap();
    assert_eq!(String::from_utf8(pieces).unwrap(), signing_input(&c));
}

#[test]
fn a_signature_too_long_is_a_clear_error_and_the_flow_waits_for_a_right_one() {
    let mut c = ms_client();
    start_assertion(&mut c, secs(0));
    assert_eq!(
        c.handle_signature(secs(0), &[1; MAX_SIGNATURE_LEN + 1]),
        Err(OAuthError::SignatureTooLong)
    );
    assert_eq!(OAuthError::SignatureTooLong.diag(), Id::SigningFailed);
    assert!(format!("{}", OAuthError::SignatureTooLong).contains("512"));
    assert!(c.needs_signature());
    // Through the trait too: a signer claiming more than the room.
    let mut scratch = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    assert_eq!(
        c.sign_with(
            secs(0),
            &mut FakeSigner::new(MAX_SIGNATURE_LEN + 1),
            &mut scratch
        ),
        Err(OAuthError::SignatureTooLong)
    );
    assert!(c.needs_signature());
    // A 4096-bit signature fits.
    c.sign_with(
        secs(1),
        &mut FakeSigner::new(MAX_SIGNATURE_LEN),
        &mut scratch,
    )
    .unwrap();
    let (_, _, req) = transmit(&mut c, secs(1));
    let jwt = body_of(&req).rsplit("client_assertion=").next().unwrap();
    let sig = URL_SAFE_NO_PAD
        .decode(jwt.rsplit('.').next().unwrap())
        .unwrap();
    assert_eq!(sig.len(), MAX_SIGNATURE_LEN);
}

#[test]
fn a_failing_or_silent_signer_ends_the_flow() {
    let mut c = ms_client();
    start_assertion(&mut c, secs(0));
    let mut signer = FakeSigner::new(256);
    signer.fail = true;
    let mut scratch = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    assert_eq!(
        c.sign_with(secs(0), &mut signer, &mut scratch),
        Err(OAuthError::SigningFailed)
    );
    assert_eq!(
        events(&mut c),
        [
            Event::SignatureRequired,
            Event::Failed(OAuthError::SigningFailed)
        ]
    );
    assert_eq!(OAuthError::SigningFailed.diag(), Id::SigningFailed);
    assert!(c.is_finished());

    start_assertion(&mut c, secs(100));
    let _ = events(&mut c);
    c.handle_timeout(secs(100) + SIGNATURE_TIMEOUT);
    assert_eq!(events(&mut c), [Event::Failed(OAuthError::SigningFailed)]);
    assert!(matches!(
        c.take_outcome(),
        Some((FlowKind::ClientCredentials, Event::Failed(_)))
    ));
}

#[test]
fn a_retry_asks_for_a_new_signature_with_a_new_jti_and_date() {
    let mut c = ms_client();
    start_assertion(&mut c, secs(0));
    let first = signing_input(&c);
    c.handle_signature(secs(0), &[1; 256]).unwrap();
    let _ = transmit(&mut c, secs(0));
    answer(&mut c, secs(1), &http(503, ""));
    let ev = events(&mut c);
    let [Event::SignatureRequired, Event::Retrying { at, .. }] = ev[..] else {
        panic!("{ev:?}")
    };
    // Not signed again: nothing to send, before or at the retry.
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    assert!(!c.needs_signature());
    assert_eq!(c.poll_transmit(at, &mut out), Ok(None));
    assert!(c.needs_signature());
    assert_eq!(events(&mut c), [Event::SignatureRequired]);
    let second = signing_input(&c);
    let (_, a) = decoded(&first);
    let (_, b) = decoded(&second);
    let (a, b): (Claims<'_>, Claims<'_>) = (json(&a), json(&b));
    assert_ne!(a.jti, b.jti);
    let late = WALL + at.as_millis() / 1000;
    assert_eq!(b.nbf, Some(late));
    assert_eq!(b.exp, late + 600);
    c.handle_signature(at, &[2; 256]).unwrap();
    let (_, _, req) = transmit(&mut c, at);
    assert!(body_of(&req).contains(&second));
    answer(&mut c, at, &http(200, APP_TOKEN));
    assert!(matches!(events(&mut c)[..], [Event::AccessToken { .. }]));

    // The same through handle_timeout, as a driver that sleeps does.
    start_assertion(&mut c, secs(0));
    c.handle_signature(secs(0), &[1; 256]).unwrap();
    let _ = transmit(&mut c, secs(0));
    answer(&mut c, secs(1), &http(429, ""));
    let _ = events(&mut c);
    let at = c.poll_timeout().unwrap();
    c.handle_timeout(at);
    assert!(c.needs_signature());
    assert_eq!(events(&mut c), [Event::SignatureRequired]);
}

fn refused(c: &mut TestClient, body: &str) -> OAuthError {
    let _ = c.handle_signature(secs(0), &[1; 256]);
    let _ = transmit(c, secs(0));
    answer(c, secs(0), &http(400, body));
    match events(c).last() {
        Some(Event::Failed(e)) => *e,
        other => panic!("{other:?}"),
    }
}

#[test]
fn refusals_map_to_their_diagnostics() {
    for (aadsts, error, id) in [
        (700_027, "invalid_client", Id::AssertionSignatureInvalid),
        (7_000_215, "invalid_client", Id::ClientSecretInvalid),
        (7_000_222, "invalid_client", Id::ClientSecretInvalid),
        (700_024, "invalid_client", Id::AssertionTimeRange),
        (700_016, "unauthorized_client", Id::AppNotInTenant),
    ] {
        let mut c = ms_client();
        start_assertion(&mut c, secs(0));
        let body = format!(
            r#"{{"error":"{error}","error_description":"AADSTS{aadsts}: x.","error_codes":[{aadsts}]}}"#
        );
        let e = refused(&mut c, &body);
        assert_eq!(e.diag(), id, "{aadsts}");
        assert!(matches!(e, OAuthError::Provider(_)));
    }
    for (error, id) in [
        ("invalid_grant", Id::ServiceAccountRefused),
        ("unauthorized_client", Id::DelegationMissing),
    ] {
        let mut c = google_client();
        start_google(&mut c, secs(0));
        let body = format!(r#"{{"error":"{error}","error_description":"Invalid JWT Signature."}}"#);
        let e = refused(&mut c, &body);
        assert!(matches!(e, OAuthError::ServiceAccountRefused(_)), "{e:?}");
        assert_eq!(e.diag(), id, "{error}");
        assert!(!format!("{e}").is_empty());
    }
    // A client secret refused: E442, and never a re-sign-in.
    let app = AppRegistration::with_secret(CLIENT_ID, b"wrong").unwrap();
    let mut c = client(ms_provider(), app);
    c.start_client_credentials(secs(0)).unwrap();
    let _ = transmit(&mut c, secs(0));
    answer(
        &mut c,
        secs(0),
        &http(
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#,
        ),
    );
    let ev = events(&mut c);
    assert!(
        matches!(ev[..], [Event::Failed(e)] if e.diag() == Id::ClientSecretInvalid),
        "{ev:?}"
    );
}

fn app_of(c: &TestClient) -> &AppRegistration {
    &c.app
}

#[test]
fn no_secret_signature_or_assertion_in_debug_output() {
    let app = AppRegistration::with_secret(CLIENT_ID, b"SECRET-VALUE").unwrap();
    let mut c = client(ms_provider(), app);
    start_assertion(&mut c, secs(0));
    let sig = [0x42u8; 256];
    c.handle_signature(secs(0), &sig).unwrap();
    let ev = events(&mut c);
    let shown = format!("{c:?} {:?} {ev:?} {:?}", c.grant, app_of(&c));
    let sig_b64 = URL_SAFE_NO_PAD.encode(sig);
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(!shown.contains(&sig_b64[..20]), "{shown}");
    assert!(!shown.contains("66, 66, 66"), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");
    // The assertion request is marked sensitive, and sends no secret
    // besides the assertion.
    let (_, sensitive, req) = transmit(&mut c, secs(0));
    assert!(sensitive);
    assert!(!req.contains("client_secret"));
}

#[test]
fn the_longest_inputs_fit_the_documented_buffers() {
    // Longest client id, every octet escaped in JSON and in the form.
    let id = "\"".repeat(crate::limits::MAX_CLIENT_ID_LEN);
    // The longest endpoint: host and path together MAX_URL_LEN octets.
    let host_len = crate::limits::MAX_URL_LEN - crate::limits::MAX_ENDPOINT_PATH_LEN;
    let host = format!("{}.example", "h".repeat(host_len - 8));
    let path = format!("/{}", "p".repeat(crate::limits::MAX_ENDPOINT_PATH_LEN - 1));
    let scope = "\"".repeat(crate::limits::MAX_SCOPE_LEN);
    let token_url = format!("https://{host}:65535{path}");
    let p = Provider::custom(&CustomEndpoints {
        authorize_url: None,
        token_url: &token_url,
        device_url: None,
        scope: &scope,
    })
    .unwrap();
    let mut c = client(p, AppRegistration::public(&id).unwrap());
    c.start_client_assertion(
        secs(0),
        u64::MAX / 2,
        &JTI,
        &Thumbprint::from_octets(THUMB),
        JwsAlg::Rs256,
    )
    .unwrap();
    let n = c.signing_input_len().unwrap();
    assert!(n <= MAX_SIGNING_INPUT_LEN, "{n}");
    c.handle_signature(secs(0), &[0xff; MAX_SIGNATURE_LEN])
        .unwrap();
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    let tx = c.poll_transmit(secs(0), &mut out).unwrap().unwrap();
    std::println!("signing input {n}, request {}", tx.len);
    assert!(tx.len <= OAUTH_REQUEST_BUF_LEN);

    let local = "l".repeat(64);
    let domain = format!("{}.example", "d".repeat(254 - 64 - 1 - 8));
    let long = Address::parse(&format!("{local}@{domain}")).unwrap();
    let kid = "\"".repeat(MAX_KEY_ID_LEN);
    let p = Provider::custom(&CustomEndpoints {
        authorize_url: None,
        token_url: &token_url,
        device_url: None,
        scope: &scope,
    })
    .unwrap();
    let mut c = client(p, AppRegistration::public("x").unwrap());
    c.start_service_account(
        secs(0),
        u64::MAX / 2,
        &ServiceAccount {
            client_email: long.as_str(),
            subject: &long,
            key_id: Some(&kid),
        },
    )
    .unwrap();
    let n = c.signing_input_len().unwrap();
    assert!(n <= MAX_SIGNING_INPUT_LEN, "{n}");
    c.handle_signature(secs(0), &[0xff; MAX_SIGNATURE_LEN])
        .unwrap();
    let tx = c.poll_transmit(secs(0), &mut out).unwrap().unwrap();
    std::println!("signing input {n}, request {}", tx.len);
    assert!(tx.len <= OAUTH_REQUEST_BUF_LEN);
}

/// R-MEM with R-APP: a signed request goes out in pieces through a short
/// buffer, the signature kept until its last piece (joined, the pieces are
/// the whole request); a request cut short by an early answer is signed
/// anew before the retry (a new `jti`).
#[test]
fn a_signed_request_goes_out_in_pieces_and_a_cut_one_is_signed_again() {
    let signed = |c: &mut TestClient| {
        start_assertion(c, secs(5));
        assert_eq!(events(c), [Event::SignatureRequired]);
        c.handle_signature(secs(5), &[0x5a; 256]).unwrap();
    };
    let mut whole_client = ms_client();
    signed(&mut whole_client);
    let (_, _, whole) = transmit(&mut whole_client, secs(5));

    let mut c = ms_client();
    signed(&mut c);
    let mut joined = Vec::new();
    let mut piece = vec![0u8; 200];
    loop {
        let tx = c.poll_transmit(secs(5), &mut piece).unwrap().unwrap();
        joined.extend_from_slice(&piece[..tx.len]);
        if tx.last {
            break;
        }
    }
    assert_eq!(String::from_utf8(joined).unwrap(), whole);

    let mut cut = ms_client();
    signed(&mut cut);
    let first = cut.poll_transmit(secs(5), &mut piece).unwrap().unwrap();
    assert!(!first.last);
    answer(
        &mut cut,
        secs(5),
        &http(503, r#"{"error":"temporarily_unavailable"}"#),
    );
    let retry_at = cut.poll_timeout().expect("a retry is scheduled");
    cut.handle_timeout(retry_at);
    let _ = events(&mut cut);
    assert_eq!(cut.poll_transmit(retry_at, &mut piece), Ok(None));
    assert_eq!(events(&mut cut), [Event::SignatureRequired]);
}
