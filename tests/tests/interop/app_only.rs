//! App-only sign-in against oidc-provider, and sending with its tokens
//! through Dovecot (R-APP, R-OAUTH, issue 18 item 7): the client
//! credentials grant with a client secret (`client_secret_post`) and with a
//! certificate credential (`private_key_jwt`, RFC 7523 §2.2, signed by the
//! host's `RsaSigner`), and a service account's JWT bearer grant (RFC 7523
//! §2.1, a grant type registered in tests/interop/provider.mjs).
//!
//! Each test checks what the provider saw (its `seen` log lines: grant
//! type, client authentication, the assertion's header and claims), that
//! Dovecot's introspection at oidc-provider accepted the token (its
//! `introspected` lines: active, the mailbox as `sub`, scope `smtp`), and
//! that no secret (client secret, access token, signature) is in the run's
//! recorded server replies nor in the provider's log.

use super::*;
use base64::Engine as _;
use mfp_oauth_core::oauth::{AssertionSigner, JwsAlg, ServiceAccount, SignError, Thumbprint};
use mfp_oauth_core::provider::{AppRegistration, CustomEndpoints, Provider};
use mfp_oauth_host::signer::{certificate_thumbprint_file, RsaSigner, ServiceAccountKey};
use std::path::PathBuf;

const APP_SECRET_CLIENT: &str = "mfp-app-secret";
const APP_CERT_CLIENT: &str = "mfp-app-cert";
/// A service account with domain-wide delegation for `smtp`
/// (provider.mjs SERVICE_ACCOUNTS).
const SERVICE_ACCOUNT: &str = "mfp-scan@interop-project.iam.gserviceaccount.test";
/// A service account without it.
const NO_DELEGATION: &str = "mfp-nodelegation@interop-project.iam.gserviceaccount.test";
const SERVICE_ACCOUNT_KID: &str = "TEST-ONLY-key-1";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// What the app-only flows ask for: a custom profile's app-only scope is
/// its scope.
const APP_SCOPE: &str = "smtp";

fn test_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../host/tests/data")
        .join(name)
}

/// The printer's OAuth client for an app-only client of oidc-provider
/// (a custom profile with only a token endpoint).
fn app_client(client_id: &str, secret: Option<&[u8]>) -> Client {
    let token = format!("{}/token", servers().issuer);
    let provider = Provider::custom(&CustomEndpoints {
        authorize_url: None,
        token_url: &token,
        device_url: None,
        scope: APP_SCOPE,
    })
    .expect("provider profile");
    let app = match secret {
        Some(s) => AppRegistration::with_secret(client_id, s),
        None => AppRegistration::public(client_id),
    }
    .expect("app registration");
    oauth::Client::new(
        provider,
        app,
        vec![0u8; mfp_oauth_core::limits::OAUTH_RESPONSE_BUF_LEN],
        0x5eed_0a44,
    )
}

/// A signer that keeps what it signed and the signatures it gave.
struct Recording<'a> {
    inner: &'a mut RsaSigner,
    inputs: Vec<Vec<u8>>,
    signatures: Vec<Vec<u8>>,
}

impl<'a> Recording<'a> {
    fn new(inner: &'a mut RsaSigner) -> Self {
        Recording {
            inner,
            inputs: Vec::new(),
            signatures: Vec::new(),
        }
    }
}

impl AssertionSigner for Recording<'_> {
    fn sign(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize, SignError> {
        self.inputs.push(input.to_vec());
        let n = self.inner.sign(input, out)?;
        self.signatures.push(out[..n].to_vec());
        Ok(n)
    }
}

/// Run an app-only flow already started on `client`: sign when asked
/// (before the request, as the core requires), then the host's OAuth
/// driver against oidc-provider.
fn run_app_only(
    client: &mut Client,
    signer: Option<&mut dyn AssertionSigner>,
) -> (Finish, Vec<Step>) {
    if let Some(signer) = signer {
        assert!(
            client.needs_signature(),
            "the flow asks for a signature first"
        );
        let mut scratch = vec![0u8; mfp_oauth_core::limits::MAX_SIGNING_INPUT_LEN];
        client
            .sign_with(clock().now(), signer, &mut scratch)
            .unwrap();
    } else {
        assert!(!client.needs_signature());
    }
    let mut steps = Vec::new();
    let finish = drive(
        clock(),
        client,
        &servers().transport(),
        None,
        &mut |_, step| steps.push(step),
    );
    (finish, steps)
}

fn requests(steps: &[Step]) -> Vec<RequestKind> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Request(k) => Some(*k),
            _ => None,
        })
        .collect()
}

fn wall_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// 16 octets for the assertion's `jti`: distinct per call and per run
/// (oidc-provider refuses a replayed `jti`).
fn jti_random() -> [u8; 16] {
    static N: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let seed = nanos ^ N.fetch_add(0x9e37_79b9, Ordering::SeqCst);
    servers::pseudo_random(16, seed).try_into().unwrap()
}

// ------------------------------------------------ what the provider saw

/// The JSON text of the provider's log lines that start with `tag `.
fn provider_log(tag: &str) -> Vec<String> {
    let text = std::fs::read_to_string(servers().logs.join("provider.log")).unwrap();
    let prefix = format!("{tag} ");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(str::to_owned)
        .collect()
}

/// The value of `"key":` in compact JSON text (a string without escapes,
/// a number, `true`, `false` or `null`), as text; the first occurrence.
fn field(json: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":");
    let at = json.find(&pat)? + pat.len();
    let rest = json[at..].trim_start();
    if let Some(s) = rest.strip_prefix('"') {
        return Some(s[..s.find('"')?].to_owned());
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim().to_owned())
}

/// The one `seen` line (token request) that satisfies `pick`.
fn seen_one(what: &str, pick: impl Fn(&str) -> bool) -> String {
    let lines: Vec<String> = provider_log("seen")
        .into_iter()
        .filter(|l| pick(l))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "the provider's token requests for {what}: {lines:#?}\n{}",
        servers().log_tail("provider.log")
    );
    lines.into_iter().next().unwrap()
}

/// The provider's introspection answers (to Dovecot) for tokens of
/// `client_id`.
fn introspections(client_id: &str) -> Vec<String> {
    provider_log("introspected")
        .into_iter()
        .filter(|l| field(l, "client_id").as_deref() == Some(client_id))
        .collect()
}

/// The header and claims JSON of a JWS signing input.
fn jws_parts(signing_input: &[u8]) -> (String, String) {
    let text = std::str::from_utf8(signing_input).unwrap();
    let (h, c) = text.split_once('.').unwrap();
    let dec = |p: &str| {
        String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .unwrap(),
        )
        .unwrap()
    };
    (dec(h), dec(c))
}

fn b64url(octets: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(octets)
}

/// No secret in the run's recorded server replies (replies.txt) nor in
/// the provider's log: each of `secrets` (raw octets; also looked for in
/// base64url, as a signature travels).
fn assert_no_secret_recorded(secrets: &[(&str, &[u8])]) {
    let s = servers();
    let replies = std::fs::read(s.logs.join("replies.txt")).unwrap_or_default();
    let provider = std::fs::read(s.logs.join("provider.log")).unwrap();
    for (name, secret) in secrets {
        assert!(secret.len() >= 16, "{name} is too short to look for");
        let encoded = b64url(secret).into_bytes();
        for (file, hay) in [("replies.txt", &replies), ("provider.log", &provider)] {
            for needle in [secret.to_vec(), encoded.clone()] {
                assert!(find(hay, &needle).is_none(), "{file} holds the {name}");
            }
        }
    }
}

/// A scan-like message from `from`: a text part and a 200 KB "scan".
fn scan_note(from: &str, subject: &str) -> Vec<u8> {
    let to = ["scan-inbox@example.test".to_owned()];
    compose(&Composition {
        from,
        to: &to,
        subject,
        text: "Scanned with an app-only token.\r\n.\r\nA line with only a dot, above.",
        attachments: &[Attachment::from_bytes(
            "scan-0001.pdf",
            "application/pdf",
            scan_data(200 * 1024),
        )],
        message_id_local: &unique("app-only-scan"),
        date: std::time::SystemTime::now(),
    })
    .unwrap()
}

/// Send a scan-like message as `ADMIN` with `token` through Dovecot (checked
/// intact at the sink) and return the server's reply; Dovecot's
/// introspection of the token at oidc-provider must have said active, the
/// mailbox and `smtp` for a token of `client_id`.
fn send_with(client_id: &str, token: AccessToken, ep: &SmtpEndpoint, scenario: &str) -> String {
    let before = introspections(client_id).len();
    let d = send_mail(ep, ADMIN, token, &scan_note(ADMIN, scenario))
        .unwrap_or_else(|e| panic!("{e}\n{}", servers().log_tail("dovecot/dovecot.log")));
    assert_eq!((d.accepted, d.refused), (1, 0));
    assert!(!d.retried_auth);
    servers().record(&format!("{scenario} ({}:{})", ep.host, ep.port), &d.reply);
    let seen = introspections(client_id);
    assert!(
        seen.len() > before,
        "Dovecot did not introspect the token of {client_id}"
    );
    let last = seen.last().unwrap();
    assert_eq!(field(last, "active").as_deref(), Some("true"), "{last}");
    assert_eq!(field(last, "sub").as_deref(), Some(ADMIN), "{last}");
    assert_eq!(field(last, "scope").as_deref(), Some("smtp"), "{last}");
    d.reply
}

fn app_token(client: &Client) -> (AccessToken, Vec<u8>) {
    let tokens = client.tokens().unwrap();
    assert!(
        tokens.refresh_token.expose().is_empty(),
        "app-only tokens come without a refresh token"
    );
    assert_eq!(tokens.scope.as_str(), "smtp");
    let raw = tokens.access_token.expose().to_vec();
    (AccessToken::from_slice(&raw).unwrap(), raw)
}

// ------------------------------------------------------------ the tests

// R-APP, R-OAUTH (issue 18 item 7): the client credentials grant with the
// app's client secret. The printer sends it in the form body
// (client_secret_post, what the core writes), gets a token without a
// refresh token, and a scan-like message goes through Dovecot with it. A
// wrong secret is refused by the provider before any SMTP.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn app_only_client_secret_sends_through_dovecot() {
    let s = servers();
    let secret = s.app_secret.as_bytes();
    let mut client = app_client(APP_SECRET_CLIENT, Some(secret));
    client.start_client_credentials(clock().now()).unwrap();
    let (finish, steps) = run_app_only(&mut client, None);
    assert!(
        matches!(
            finish,
            Finish::AccessToken {
                expires_at: Some(_)
            }
        ),
        "{finish:?} {}",
        client.last_error_description()
    );
    assert_eq!(requests(&steps), vec![RequestKind::ClientCredentials]);
    assert!(client.new_refresh_token().is_none());
    let (token, raw_token) = app_token(&client);

    // What the provider saw: the secret in the body, client_secret_post.
    let seen = seen_one("the client secret grant", |l| {
        field(l, "client_id").as_deref() == Some(APP_SECRET_CLIENT)
            && field(l, "status").as_deref() == Some("200")
    });
    assert_eq!(
        field(&seen, "grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(
        field(&seen, "auth_method").as_deref(),
        Some("client_secret_post")
    );
    assert_eq!(field(&seen, "secret_in").as_deref(), Some("body"));
    assert_eq!(field(&seen, "scope").as_deref(), Some(APP_SCOPE));

    let reply = send_with(
        APP_SECRET_CLIENT,
        token,
        &dovecot(Security::StartTls, MechanismPreference::Xoauth2),
        "app-only, client secret",
    );
    assert!(reply.starts_with("250"), "{reply}");

    // A wrong secret: refused at the token endpoint (invalid_client, which
    // a standard server gives without Microsoft's AADSTS7000215): the
    // secret's own diagnostic, E442.
    let wrong = b"not-the-app-secret-0123456789abcdef";
    let mut client = app_client(APP_SECRET_CLIENT, Some(wrong));
    client.start_client_credentials(clock().now()).unwrap();
    let (finish, steps) = run_app_only(&mut client, None);
    let Finish::Failed(e) = finish else {
        panic!("{finish:?}");
    };
    assert_eq!(e.diag(), Id::ClientSecretInvalid, "{e}");
    assert_eq!(requests(&steps), vec![RequestKind::ClientCredentials]);
    assert!(client.tokens().is_none());
    s.record(
        "app-only, wrong client secret (token endpoint)",
        &e.to_string(),
    );
    let refused = seen_one("the wrong secret", |l| {
        field(l, "client_id").as_deref() == Some(APP_SECRET_CLIENT)
            && field(l, "status").as_deref() == Some("401")
    });
    assert_eq!(field(&refused, "error").as_deref(), Some("invalid_client"));

    assert_no_secret_recorded(&[("client secret", secret), ("access token", &raw_token)]);
    assert_no_secret_recorded(&[("wrong client secret", wrong)]);
}

// R-APP, R-OAUTH (issue 18 item 7): the client credentials grant with a
// certificate credential (RFC 7523 §2.2, private_key_jwt). The host's
// RsaSigner signs the core's signing input with the TEST-ONLY key; the
// provider verifies it with the certificate's public key, and checks the
// header's x5t#S256 names that certificate, as Entra does. The token
// sends through Dovecot; so does one of a PS256 assertion. An assertion signed with another key, or naming
// another certificate, is refused (invalid_client: E441) before any SMTP.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn app_only_certificate_assertion_sends_through_dovecot() {
    let s = servers();
    let thumbprint = certificate_thumbprint_file(&test_data("TEST-ONLY-app-cert.pem")).unwrap();
    let mut key = RsaSigner::from_file(&test_data("TEST-ONLY-app-key.pem")).unwrap();
    let token_url = format!("{}/token", s.issuer);

    let mut client = app_client(APP_CERT_CLIENT, None);
    client
        .start_client_assertion(
            clock().now(),
            wall_secs(),
            &jti_random(),
            &thumbprint,
            JwsAlg::Rs256,
        )
        .unwrap();
    let mut signer = Recording::new(&mut key);
    let (finish, steps) = run_app_only(&mut client, Some(&mut signer as &mut dyn AssertionSigner));
    assert!(
        matches!(
            finish,
            Finish::AccessToken {
                expires_at: Some(_)
            }
        ),
        "{finish:?} {}",
        client.last_error_description()
    );
    assert_eq!(requests(&steps), vec![RequestKind::ClientCredentials]);
    assert_eq!(signer.inputs.len(), 1, "signed once");
    let (header, claims) = jws_parts(&signer.inputs[0]);
    let signature = signer.signatures[0].clone();
    let (token, raw_token) = app_token(&client);

    // What the provider saw: the assertion the host signed, nothing else.
    let jti = field(&claims, "jti").unwrap();
    let seen = seen_one("the signed assertion", |l| {
        field(l, "jti").as_deref() == Some(jti.as_str())
    });
    assert_eq!(field(&seen, "status").as_deref(), Some("200"), "{seen}");
    assert_eq!(field(&seen, "client_id").as_deref(), Some(APP_CERT_CLIENT));
    assert_eq!(
        field(&seen, "grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(
        field(&seen, "auth_method").as_deref(),
        Some("private_key_jwt")
    );
    assert_eq!(
        field(&seen, "client_assertion_type").as_deref(),
        Some(CLIENT_ASSERTION_TYPE)
    );
    assert_eq!(field(&seen, "secret_in").as_deref(), Some("null"));
    assert_eq!(field(&seen, "alg").as_deref(), Some("RS256"));
    assert_eq!(
        field(&seen, "x5t#S256").unwrap(),
        b64url(thumbprint.octets()),
        "the certificate's SHA-256, as in the header signed: {header}"
    );
    assert_eq!(field(&seen, "iss").as_deref(), Some(APP_CERT_CLIENT));
    assert_eq!(field(&seen, "sub").as_deref(), Some(APP_CERT_CLIENT));
    assert_eq!(field(&seen, "aud").as_deref(), Some(token_url.as_str()));

    let reply = send_with(
        APP_CERT_CLIENT,
        token,
        &dovecot(Security::ImplicitTls, MechanismPreference::OAuthBearer),
        "app-only, certificate credential",
    );
    assert!(reply.starts_with("250"), "{reply}");

    // The same key signing PS256 (RSASSA-PSS, RsaSigner::with_alg): the
    // provider verifies it too, and the token sends.
    let mut pss = RsaSigner::from_file(&test_data("TEST-ONLY-app-key.pem"))
        .unwrap()
        .with_alg(JwsAlg::Ps256);
    let mut client = app_client(APP_CERT_CLIENT, None);
    client
        .start_client_assertion(
            clock().now(),
            wall_secs(),
            &jti_random(),
            &thumbprint,
            JwsAlg::Ps256,
        )
        .unwrap();
    let mut rec = Recording::new(&mut pss);
    let (finish, _) = run_app_only(&mut client, Some(&mut rec as &mut dyn AssertionSigner));
    assert!(
        matches!(finish, Finish::AccessToken { .. }),
        "PS256: {finish:?} {}",
        client.last_error_description()
    );
    let (_, pss_claims) = jws_parts(&rec.inputs[0]);
    let pss_signature = rec.signatures[0].clone();
    let pss_jti = field(&pss_claims, "jti").unwrap();
    let seen = seen_one("the PS256 assertion", |l| {
        field(l, "jti").as_deref() == Some(pss_jti.as_str())
    });
    assert_eq!(field(&seen, "alg").as_deref(), Some("PS256"), "{seen}");
    assert_eq!(field(&seen, "status").as_deref(), Some("200"), "{seen}");
    let (pss_token, pss_raw_token) = app_token(&client);
    let reply = send_with(
        APP_CERT_CLIENT,
        pss_token,
        &dovecot(Security::StartTls, MechanismPreference::Xoauth2),
        "app-only, certificate credential (PS256)",
    );
    assert!(reply.starts_with("250"), "{reply}");

    // Another key (made for this run): the provider refuses the signature,
    // the printer shows E441 (a standard server's invalid_client, as
    // Entra's AADSTS700027), and no SMTP session is opened.
    let introspected_before = introspections(APP_CERT_CLIENT).len();
    let dir = scratch("app-only-wrong-key");
    let wrong_key_path = dir.join("wrong-key.pem");
    let made = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&wrong_key_path)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let mut wrong_key = RsaSigner::from_file(&wrong_key_path).unwrap();
    let mut refused = Vec::new();
    // (oidc-provider's reason, in its log only: jose's signature check, or
    // provider.mjs's thumbprint check.)
    for (what, signer, thumb, why) in [
        (
            "another key",
            &mut wrong_key,
            thumbprint,
            "signature verification failed",
        ),
        // The right key, but the header names another certificate.
        (
            "another certificate's thumbprint",
            &mut key,
            Thumbprint::from_octets([0x5a; 32]),
            "x5t#S256 names no certificate of this client",
        ),
    ] {
        let mut client = app_client(APP_CERT_CLIENT, None);
        client
            .start_client_assertion(
                clock().now(),
                wall_secs(),
                &jti_random(),
                &thumb,
                JwsAlg::Rs256,
            )
            .unwrap();
        let mut rec = Recording::new(signer);
        let (finish, steps) = run_app_only(&mut client, Some(&mut rec as &mut dyn AssertionSigner));
        let Finish::Failed(e) = finish else {
            panic!("{what}: {finish:?}");
        };
        assert_eq!(e.diag(), Id::AssertionSignatureInvalid, "{what}: {e}");
        assert_eq!(
            requests(&steps),
            vec![RequestKind::ClientCredentials],
            "{what}"
        );
        assert!(client.tokens().is_none());
        s.record(
            &format!("app-only, {what} (token endpoint)"),
            &e.to_string(),
        );
        let (_, claims) = jws_parts(&rec.inputs[0]);
        let jti = field(&claims, "jti").unwrap();
        let seen = seen_one(what, |l| field(l, "jti").as_deref() == Some(jti.as_str()));
        assert_eq!(
            field(&seen, "status").as_deref(),
            Some("401"),
            "{what}: {seen}"
        );
        assert_eq!(
            field(&seen, "error").as_deref(),
            Some("invalid_client"),
            "{what}"
        );
        assert_eq!(
            field(&seen, "detail").as_deref(),
            Some(why),
            "{what}: {seen}"
        );
        refused.push((seen, rec.signatures[0].clone()));
    }
    assert_eq!(
        introspections(APP_CERT_CLIENT).len(),
        introspected_before,
        "no token, no SMTP: nothing was introspected"
    );
    assert_no_secret_recorded(&[
        ("access token", &raw_token),
        ("assertion signature", &signature),
        ("PS256 access token", &pss_raw_token),
        ("PS256 assertion signature", &pss_signature),
        ("refused assertion's signature", &refused[0].1),
        ("refused assertion's signature", &refused[1].1),
    ]);
}

/// A Google service account key file for `client_email`, with the TEST-ONLY
/// key (the JSON a Google console download has, trimmed to what is read).
fn service_account_key(client_email: &str) -> ServiceAccountKey {
    let pem = std::fs::read_to_string(test_data("TEST-ONLY-app-key.pem")).unwrap();
    let json = format!(
        r#"{{"type":"service_account","project_id":"interop-project","private_key_id":"{SERVICE_ACCOUNT_KID}","private_key":"{}","client_email":"{client_email}","client_id":"100000000000000000001"}}"#,
        pem.replace('\n', "\\n")
    );
    ServiceAccountKey::from_json(&json).unwrap()
}

/// A service account's JWT bearer grant for `mailbox`: what the driver
/// finished with, the claims signed, and the signature.
fn service_account_sign_in(client_email: &str, mailbox: &str) -> (Client, Finish, String, Vec<u8>) {
    let mut key = service_account_key(client_email);
    assert_eq!(key.client_email, client_email);
    let subject = Address::parse(mailbox).unwrap();
    let mut client = app_client(client_email, None);
    client
        .start_service_account(
            clock().now(),
            wall_secs(),
            &ServiceAccount {
                client_email: &key.client_email,
                subject: &subject,
                key_id: key.private_key_id.as_deref(),
            },
        )
        .unwrap();
    let mut rec = Recording::new(&mut key.signer);
    let (finish, steps) = run_app_only(&mut client, Some(&mut rec as &mut dyn AssertionSigner));
    assert_eq!(requests(&steps), vec![RequestKind::JwtBearer]);
    let (header, claims) = jws_parts(&rec.inputs[0]);
    assert_eq!(field(&header, "kid").as_deref(), Some(SERVICE_ACCOUNT_KID));
    let signature = rec.signatures[0].clone();
    (client, finish, claims, signature)
}

/// The provider's `seen` line of the JWT bearer request whose claims were
/// `claims` (the same `sub` and `iat`).
fn seen_jwt_bearer(client_email: &str, claims: &str) -> String {
    let (sub, iat) = (field(claims, "sub").unwrap(), field(claims, "iat").unwrap());
    let seen = seen_one(&format!("{client_email} for {sub}"), |l| {
        field(l, "client_id").as_deref() == Some(client_email)
            && field(l, "sub").as_deref() == Some(sub.as_str())
            && field(l, "iat").as_deref() == Some(iat.as_str())
    });
    // The core's request: the grant type and the assertion, no client
    // authentication and no client_id (Google's token endpoint wants none).
    assert_eq!(field(&seen, "grant_type").as_deref(), Some(JWT_BEARER));
    assert_eq!(field(&seen, "client_id_in_body").as_deref(), Some("false"));
    assert_eq!(field(&seen, "secret_in").as_deref(), Some("null"));
    assert_eq!(field(&seen, "auth_method").as_deref(), Some("none"));
    assert_eq!(field(&seen, "alg").as_deref(), Some("RS256"));
    assert_eq!(field(&seen, "kid").as_deref(), Some(SERVICE_ACCOUNT_KID));
    assert_eq!(field(&seen, "iss").as_deref(), Some(client_email));
    assert_eq!(
        field(&seen, "aud"),
        Some(format!("{}/token", servers().issuer))
    );
    assert_eq!(
        field(&seen, "scope").as_deref(),
        Some("null"),
        "scope is in the assertion"
    );
    seen
}

// R-APP, R-OAUTH (issue 18 items 2 and 7): a Google Workspace service
// account's JWT bearer grant (RFC 7523 §2.1) for the mailbox, signed by the
// host's RsaSigner from the key file's JSON. oidc-provider's registered
// grant verifies the signature, iss, aud, dates, scope and sub, and issues
// a token for the mailbox that Dovecot's introspection accepts. A mailbox
// outside the domain is refused (invalid_grant: E445), and an account
// without domain-wide delegation too (unauthorized_client: E446), before
// any SMTP.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn app_only_service_account_sends_through_dovecot() {
    let s = servers();
    let (client, finish, claims, signature) = service_account_sign_in(SERVICE_ACCOUNT, ADMIN);
    assert!(
        matches!(
            finish,
            Finish::AccessToken {
                expires_at: Some(_)
            }
        ),
        "{finish:?} {}",
        client.last_error_description()
    );
    assert_eq!(field(&claims, "scope").as_deref(), Some(APP_SCOPE));
    let seen = seen_jwt_bearer(SERVICE_ACCOUNT, &claims);
    assert_eq!(field(&seen, "status").as_deref(), Some("200"), "{seen}");
    let (token, raw_token) = app_token(&client);
    let reply = send_with(
        SERVICE_ACCOUNT,
        token,
        &dovecot(Security::StartTls, MechanismPreference::OAuthBearer),
        "service account (JWT bearer)",
    );
    assert!(reply.starts_with("250"), "{reply}");

    let introspected_before =
        introspections(SERVICE_ACCOUNT).len() + introspections(NO_DELEGATION).len();
    let mut signatures = vec![signature];
    // Google's words for each refusal (provider.mjs answers with them).
    for (account, mailbox, error, diag, words) in [
        (
            SERVICE_ACCOUNT,
            "nobody@elsewhere.test",
            "invalid_grant",
            Id::ServiceAccountRefused,
            "Invalid email or User ID",
        ),
        (
            NO_DELEGATION,
            ADMIN,
            "unauthorized_client",
            Id::DelegationMissing,
            "Client is unauthorized to retrieve access tokens",
        ),
    ] {
        let (client, finish, claims, signature) = service_account_sign_in(account, mailbox);
        let Finish::Failed(e) = finish else {
            panic!("{account} for {mailbox}: {finish:?}");
        };
        assert!(
            matches!(e, OAuthError::ServiceAccountRefused(_)),
            "{account} for {mailbox}: {e:?}"
        );
        assert_eq!(e.diag(), diag, "{account} for {mailbox}: {e}");
        assert!(
            client.last_error_description().contains(words),
            "the provider's words reach the printer: {:?}",
            client.last_error_description()
        );
        assert!(client.tokens().is_none());
        s.record(
            &format!("service account {account} for {mailbox} (token endpoint)"),
            &e.to_string(),
        );
        let seen = seen_jwt_bearer(account, &claims);
        assert_eq!(field(&seen, "status").as_deref(), Some("400"), "{seen}");
        assert_eq!(field(&seen, "error").as_deref(), Some(error), "{seen}");
        signatures.push(signature);
    }
    assert_eq!(
        introspections(SERVICE_ACCOUNT).len() + introspections(NO_DELEGATION).len(),
        introspected_before,
        "no token, no SMTP: nothing was introspected"
    );
    let mut secrets: Vec<(&str, &[u8])> = vec![("access token", &raw_token)];
    for sig in &signatures {
        secrets.push(("assertion signature", sig));
    }
    assert_no_secret_recorded(&secrets);
}
