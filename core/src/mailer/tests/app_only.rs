//! Issue 18 items 1 and 2, R-APP: the administrator's token from an
//! app-only grant the core runs itself (Microsoft client credentials with a
//! certificate assertion; a Google service account), signed by the
//! firmware. No one signs in, no refresh token is kept, the grant runs
//! again when the token ends, a refused grant keeps its own diagnostic, and
//! the sender policy stays: the administrator's address only.

use super::*;
use crate::config::AdminSignIn;

const THUMBPRINT: &str =
    "5A:0B:6D:3E:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:12:34:56:78:9A:BC:DE:F0:0F:1E:2D:3C";
const WALL: WallTime = WallTime(1_796_000_000);
const JTI: [u8; 16] = [7; 16];

/// A signer that is not RSA, enough for the core: the provider here is a
/// test double that does not verify (the interop suite does).
struct FakeSigner(usize);

impl oauth::AssertionSigner for FakeSigner {
    fn sign(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize, oauth::SignError> {
        self.0 += 1;
        assert!(input.windows(1).count() > 10, "the JWS signing input");
        out[..256].fill(0x5A);
        Ok(256)
    }
}

fn app_certificate() -> Settings {
    let mut s = valid(SenderMode::AdminFixedAddress);
    s.client_id = "printer-app".try_into().unwrap();
    s.admin_sign_in = AdminSignIn::AppCertificate;
    s.app_certificate_thumbprint = THUMBPRINT.try_into().unwrap();
    assert!(s.validate().is_empty(), "{:?}", s.validate());
    s
}

/// Runs the plan's token request with `response` from the token
/// endpoint; returns the request and the plan the mailer moved to.
fn grant_answered(
    m: &mut Mailer,
    c: &mut OAuthClient,
    now: Instant,
    signer: &mut FakeSigner,
    response: &str,
) -> (String, Plan) {
    m.start_token_request(now, Some(WALL), &JTI, c).unwrap();
    assert_eq!(c.poll_event(), Some(oauth::Event::SignatureRequired));
    let mut scratch = vec![0u8; crate::limits::OAUTH_REQUEST_BUF_LEN];
    c.sign_with(now, signer, &mut scratch).unwrap();
    let (req, events) = carry(c, now, response);
    let mut plan = None;
    for e in events {
        if let Some(p) = m.handle_oauth_event(now, Some(WALL), c, e).unwrap() {
            plan = Some(p);
        }
    }
    (req, plan.expect("the flow's end moves the job on"))
}

#[test]
fn microsoft_app_only_sends_with_a_certificate_assertion_and_asks_again_later() {
    let settings = app_certificate();
    // Ready with no one signed in (R-RULE-5 does not ask for Acquire).
    assert_eq!(
        settings.readiness(TokenStatus::Required),
        crate::config::Readiness::Ready
    );
    let mut m = Mailer::new(settings.clone(), TokenStore::new());
    let mut c = oauth_client(&settings);
    let mut signer = FakeSigner(0);
    let to = [addr("bob@fabrikam.com")];
    let exchange = Plan::TokenExchange {
        owner: TokenOwner::Admin,
    };
    assert_eq!(m.submit(at(0), &scan(&to, None)).unwrap(), exchange);
    // The delegated refresh has nothing to start from.
    assert!(m.start_exchange(at(0), &mut c).is_err());
    let (req, plan) = grant_answered(
        &mut m,
        &mut c,
        at(0),
        &mut signer,
        &http(200, &token_json("AT-APP", None)),
    );
    assert!(req.contains("grant_type=client_credentials"), "{req}");
    assert!(
        req.contains("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"),
        "{req}"
    );
    assert!(!req.contains("refresh_token"), "{req}");
    assert!(matches!(plan, Plan::Connect { .. }), "{plan:?}");
    // Sent as the administrator's mailbox with the app-only token.
    send(&mut m, at(1), b"AT-APP");
    assert!(m.store().refresh_token(&TokenOwner::Admin).is_none());
    assert_eq!(signer.0, 1);
    // The next job reuses it; past the refresh margin, the grant runs
    // again (a new signature, a new token), no one is asked to sign in.
    assert!(matches!(
        m.submit(at(60), &scan(&to, None)).unwrap(),
        Plan::Connect { .. }
    ));
    m.cancel(at(60), Id::WrongState);
    let later = at(3599 - 500);
    assert_eq!(m.submit(later, &scan(&to, None)).unwrap(), exchange);
    let (_, plan) = grant_answered(
        &mut m,
        &mut c,
        later,
        &mut signer,
        &http(200, &token_json("AT-APP-2", None)),
    );
    assert!(matches!(plan, Plan::Connect { .. }), "{plan:?}");
    assert_eq!(signer.0, 2);
    send(&mut m, later, b"AT-APP-2");
}

#[test]
fn a_refused_app_only_grant_fails_the_job_with_its_diagnostic_and_no_notice() {
    let settings = app_certificate();
    let mut m = Mailer::new(settings.clone(), TokenStore::new());
    let mut c = oauth_client(&settings);
    let to = [addr("bob@fabrikam.com")];
    m.submit(at(0), &scan(&to, None)).unwrap();
    let refusal = r#"{"error":"invalid_client","error_description":"AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.","error_codes":[700027]}"#;
    let (_, plan) = grant_answered(
        &mut m,
        &mut c,
        at(0),
        &mut FakeSigner(0),
        &http(401, refusal),
    );
    assert_eq!(
        plan,
        Plan::Failed {
            diag: Id::AssertionSignatureInvalid
        }
    );
    // Not "the administrator must sign in again": nothing to erase.
    assert!(!m.store().admin_notice());
    assert_eq!(drain_store(&mut m, at(0)), []);
}

#[test]
fn app_only_keeps_the_sender_policy_and_needs_its_settings() {
    let mut m = Mailer::new(app_certificate(), TokenStore::new());
    let to = [addr("bob@fabrikam.com")];
    let other = addr("ceo@contoso.com");
    let job = Job {
        from: Some(&other),
        ..scan(&to, None)
    };
    assert_eq!(
        m.submit(at(0), &job).unwrap(),
        Plan::Failed {
            diag: Id::FromNotTokenAccount
        }
    );
    // Each mode's own needs: E216 without them.
    let mut s = app_certificate();
    s.app_certificate_thumbprint = "not a thumbprint".try_into().unwrap();
    assert!(s
        .validate()
        .contains(crate::config::ConfigError::AppSignInIncomplete));
    let mut s = app_certificate();
    s.sender_mode = SenderMode::LoginUserAddress;
    assert!(s
        .validate()
        .contains(crate::config::ConfigError::AppSignInIncomplete));
    let mut s = app_certificate();
    s.admin_sign_in = AdminSignIn::ServiceAccount;
    assert!(s
        .validate()
        .contains(crate::config::ConfigError::AppSignInIncomplete));
    assert_eq!(
        crate::config::ConfigError::AppSignInIncomplete.diag(),
        Id::AppSignInIncomplete
    );
}

#[test]
fn a_google_service_account_asks_for_the_administrators_mailbox() {
    let mut s = valid(SenderMode::AdminFixedAddress);
    s.provider = ProviderKind::Google;
    s.webdav_http = crate::config::WebDavHttpVersion::Http2Http11;
    s.smtp = crate::config::SmtpServer::new("smtp.gmail.com", 587, Security::StartTls);
    s.client_id = "printer-app".try_into().unwrap();
    s.admin_sign_in = AdminSignIn::ServiceAccount;
    s.service_account = Some(addr("mfp-sender@contoso-mfp.iam.gserviceaccount.com"));
    assert!(s.validate().is_empty(), "{:?}", s.validate());
    let mut m = Mailer::new(s.clone(), TokenStore::new());
    let built_in = crate::provider::AppRegistration::public("printer-app").unwrap();
    let mut c: OAuthClient = oauth::Client::new(
        s.provider_profile().unwrap(),
        s.app_registration(&built_in).unwrap(),
        vec![0u8; crate::limits::OAUTH_RESPONSE_BUF_LEN],
        1,
    );
    let to = [addr("bob@fabrikam.com")];
    m.submit(at(0), &scan(&to, None)).unwrap();
    m.start_token_request(at(0), Some(WALL), &JTI, &mut c)
        .unwrap();
    assert_eq!(c.poll_event(), Some(oauth::Event::SignatureRequired));
    let mut input = vec![0u8; c.signing_input_len().unwrap()];
    c.signing_input(&mut input).unwrap();
    let claims = std::str::from_utf8(&input)
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    use base64::Engine as _;
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .unwrap();
    let claims = String::from_utf8(claims).unwrap();
    assert!(claims.contains(&format!(r#""sub":"{ADMIN}""#)), "{claims}");
    assert!(
        claims.contains(r#""iss":"mfp-sender@contoso-mfp.iam.gserviceaccount.com""#),
        "{claims}"
    );
    // Without the wall clock, no assertion can be dated.
    let mut m = Mailer::new(s, TokenStore::new());
    m.submit(at(0), &scan(&to, None)).unwrap();
    assert_eq!(
        m.start_token_request(at(0), None, &JTI, &mut c),
        Err(MailerError::OAuth(OAuthError::ClockNotSet))
    );
}

/// A standard server's refusal of the app's credential (`invalid_client`,
/// no AADSTS number) is the credential's own diagnostic, not E407's "make
/// the app a public client": the assertion's (E441) or the secret's (E442).
#[test]
fn a_standard_invalid_client_names_the_apps_credential() {
    let settings = app_certificate();
    let mut m = Mailer::new(settings.clone(), TokenStore::new());
    let mut c = oauth_client(&settings);
    let to = [addr("bob@fabrikam.com")];
    m.submit(at(0), &scan(&to, None)).unwrap();
    let refusal =
        r#"{"error":"invalid_client","error_description":"client authentication failed"}"#;
    let (_, plan) = grant_answered(
        &mut m,
        &mut c,
        at(0),
        &mut FakeSigner(0),
        &http(401, refusal),
    );
    assert_eq!(
        plan,
        Plan::Failed {
            diag: Id::AssertionSignatureInvalid
        }
    );
    let provider = oauth::ProviderError {
        code: crate::wire::json::ErrorCode::InvalidClient,
        aadsts: None,
        status: 401,
    };
    for (assertion, id) in [
        (true, Id::AssertionSignatureInvalid),
        (false, Id::ClientSecretInvalid),
    ] {
        let e = OAuthError::AppCredentialRefused {
            error: provider,
            assertion,
        };
        assert_eq!(e.diag(), id);
    }
    // The same answer to a delegated sign-in stays E407.
    assert_eq!(OAuthError::Provider(provider).diag(), Id::InvalidClient);
}

/// App-only with the app registration's client secret: the secret
/// authenticates the client credentials request (no signature), and the
/// token sends. Without the secret, or with the vendor's built-in app, the
/// settings are refused (E216).
#[test]
fn app_only_with_a_client_secret_sends() {
    let mut s = valid(SenderMode::AdminFixedAddress);
    s.client_id = "printer-app".try_into().unwrap();
    s.admin_sign_in = AdminSignIn::AppSecret;
    assert!(s
        .validate()
        .contains(crate::config::ConfigError::AppSignInIncomplete));
    s.app_client_secret.0.set(b"Qx8~app-secret").unwrap();
    assert!(s.validate().is_empty(), "{:?}", s.validate());
    let mut builtin = s.clone();
    builtin.client_id.clear();
    assert!(builtin
        .validate()
        .contains(crate::config::ConfigError::AppSignInIncomplete));
    let mut m = Mailer::new(s.clone(), TokenStore::new());
    let mut c = oauth_client(&s);
    let to = [addr("bob@fabrikam.com")];
    m.submit(at(0), &scan(&to, None)).unwrap();
    m.start_token_request(at(0), Some(WALL), &JTI, &mut c)
        .unwrap();
    let (req, events) = carry(&mut c, at(0), &http(200, &token_json("AT-SECRET", None)));
    assert!(req.contains("grant_type=client_credentials"), "{req}");
    assert!(req.contains("client_secret=Qx8%7Eapp-secret"), "{req}");
    let mut plan = None;
    for e in events {
        plan = m
            .handle_oauth_event(at(0), Some(WALL), &c, e)
            .unwrap()
            .or(plan);
    }
    assert!(matches!(plan, Some(Plan::Connect { .. })), "{plan:?}");
    send(&mut m, at(1), b"AT-SECRET");
}

/// R-NV: a client secret replaced or removed leaves the old one in the
/// older image slot, which is erased once the new image is written.
#[test]
fn a_changed_client_secret_erases_the_older_slot() {
    let mut s = valid(SenderMode::AdminFixedAddress);
    s.client_id = "printer-app".try_into().unwrap();
    s.admin_sign_in = AdminSignIn::AppSecret;
    s.app_client_secret.0.set(b"first-secret").unwrap();
    let mut m = Mailer::new(s.clone(), TokenStore::new());
    let mut changed = s.clone();
    changed.app_client_secret.0.set(b"second-secret").unwrap();
    let _ = m.apply_settings(changed).unwrap();
    assert_eq!(
        drain_store(&mut m, at(0)),
        [StoreEvent::Persist {
            erase_other_slot: true
        }]
    );
    // Another setting alone: nothing to erase.
    let mut other = m.settings().clone();
    other.refresh_margin_s = 900;
    let _ = m.apply_settings(other).unwrap();
    assert_eq!(
        drain_store(&mut m, at(0)),
        [StoreEvent::Persist {
            erase_other_slot: false
        }]
    );
}
