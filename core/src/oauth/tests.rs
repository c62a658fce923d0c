//! Transcript tests of the OAuth client on simulated time (R-OAUTH).

use super::*;
use crate::diag::{Diagnostic, Id};
use crate::limits::{OAUTH_REQUEST_BUF_LEN, OAUTH_RESPONSE_BUF_LEN};
use crate::provider::{CustomEndpoints, LoopbackHost, MicrosoftCloud, ProfileError, Tenant};
use crate::token::RefreshFailure;
use core::mem::size_of;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

type TestClient = Client<Vec<u8>>;

fn secs(s: u64) -> Instant {
    Instant::from_millis(s * 1000)
}

fn rfc_provider() -> Provider {
    Provider::custom(&CustomEndpoints {
        authorize_url: Some("https://server.example.com/authorize"),
        token_url: "https://server.example.com/token",
        device_url: Some("https://server.example.com/device_authorization"),
        scope: "example_scope",
    })
    .unwrap()
}

fn client(provider: Provider) -> TestClient {
    Client::new(
        provider,
        AppRegistration::public("1406020730").unwrap(),
        vec![0u8; OAUTH_RESPONSE_BUF_LEN],
        7,
    )
}

fn http(status: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Send the due request; answer it with `response`; return the request.
fn exchange(c: &mut TestClient, now: Instant, response: &str) -> (RequestKind, String) {
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    let tx = c
        .poll_transmit(now, &mut out)
        .unwrap()
        .expect("a request is due");
    let kind = tx.kind;
    let req = String::from_utf8(out[..tx.len].to_vec()).unwrap();
    assert!(c.is_awaiting_response());
    assert_eq!(c.handle_input(now, response.as_bytes()), response.len());
    c.handle_close(now);
    assert!(!c.is_awaiting_response());
    (kind, req)
}

fn body_of(req: &str) -> &str {
    req.split("\r\n\r\n").nth(1).unwrap()
}

fn events(c: &mut TestClient) -> Vec<Event> {
    core::iter::from_fn(|| c.poll_event()).collect()
}

const RFC8628_DEVICE: &str = r#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","verification_uri_complete":"https://example.com/device?user_code=WDJB-MJHT","expires_in":1800,"interval":5}"#;
const TOKEN: &str = r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer","expires_in":3600,"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA","example_parameter":"example_value"}"#;

/// A device flow past its device authorization (RFC 8628 §3.2 vector) at t=0.
fn authorized_device_client() -> TestClient {
    let mut c = client(rfc_provider());
    c.start_device(secs(0)).unwrap();
    exchange(&mut c, secs(0), &http(200, RFC8628_DEVICE));
    c
}

fn error(code: &str) -> String {
    http(400, &format!(r#"{{"error":"{code}"}}"#))
}

#[test]
fn device_flow_pending_slow_down_success_on_simulated_time() {
    // R-OAUTH: RFC 8628 §3.1-§3.5 with the RFC's own vectors.
    let mut c = client(rfc_provider());
    c.start_device(secs(0)).unwrap();
    let (kind, req) = exchange(&mut c, secs(0), &http(200, RFC8628_DEVICE));
    assert_eq!(kind, RequestKind::DeviceAuthorization);
    assert!(req.starts_with(
        "POST /device_authorization HTTP/1.1\r\nHost: server.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    ));
    assert_eq!(body_of(&req), "client_id=1406020730&scope=example_scope");
    assert_eq!(events(&mut c), [Event::UserCode]);
    let auth = c.device_authorization().unwrap();
    assert_eq!(auth.user_code.as_str(), "WDJB-MJHT");
    assert_eq!(auth.verification_uri.as_str(), "https://example.com/device");
    assert_eq!(c.poll_timeout(), Some(secs(5)));

    // Not before the interval.
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    assert!(c
        .poll_transmit(Instant::from_millis(4999), &mut out)
        .unwrap()
        .is_none());

    let (kind, req) = exchange(&mut c, secs(5), &error("authorization_pending"));
    assert_eq!(kind, RequestKind::DeviceToken);
    assert_eq!(
        body_of(&req),
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code\
&device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS&client_id=1406020730"
    );
    assert!(events(&mut c).is_empty());
    assert_eq!(c.poll_timeout(), Some(secs(10)));

    exchange(&mut c, secs(10), &error("slow_down"));
    assert_eq!(
        events(&mut c),
        [Event::SlowDown {
            interval: Duration::from_secs(10)
        }]
    );
    assert_eq!(c.poll_timeout(), Some(secs(20)));
    // The slower interval holds for every later poll.
    exchange(&mut c, secs(20), &error("authorization_pending"));
    assert_eq!(c.poll_timeout(), Some(secs(30)));
    assert_eq!(c.poll_interval(), Some(Duration::from_secs(10)));

    exchange(&mut c, secs(30), &http(200, TOKEN));
    assert_eq!(
        events(&mut c),
        [
            Event::RefreshTokenRotated,
            Event::AccessToken {
                expires_at: Some(secs(3630))
            }
        ]
    );
    let t = c.tokens().unwrap();
    assert_eq!(t.access_token.expose(), b"2YotnFZFEjr1zCsicMWpAA");
    assert_eq!(t.refresh_token.expose(), b"tGzv3JOkF0XG5Qx2TlKWIA");
    assert!(c.is_finished());

    // Never poll again after success: the device code is gone.
    assert_eq!(c.poll_timeout(), None);
    for later in [30, 40, 10_000] {
        assert!(c.poll_transmit(secs(later), &mut out).unwrap().is_none());
    }
    assert_eq!(c.handle_input(secs(31), b"HTTP/1.1 200 OK\r\n"), 0);
    assert!(c.device_authorization().is_none());
}

#[test]
fn device_flow_terminal_errors() {
    for (code, id) in [
        ("access_denied", Id::AuthorizationDeclined),
        ("authorization_declined", Id::AuthorizationDeclined),
        ("expired_token", Id::DeviceCodeExpired),
        ("bad_verification_code", Id::BadVerificationCode),
        ("invalid_client", Id::InvalidClient),
    ] {
        let mut c = authorized_device_client();
        exchange(&mut c, secs(5), &error(code));
        let ev = events(&mut c);
        let [Event::UserCode, Event::Failed(e)] = ev[..] else {
            panic!("{code}: {ev:?}")
        };
        assert_eq!(e.diag(), id, "{code}");
        assert!(c.is_finished());
        let mut out = vec![0u8; 1024];
        assert!(c.poll_transmit(secs(100), &mut out).unwrap().is_none());
    }
}

#[test]
fn device_code_expiry_ends_the_flow_locally() {
    let mut c = client(rfc_provider());
    c.start_device(secs(0)).unwrap();
    let short = RFC8628_DEVICE.replace("1800", "12");
    exchange(&mut c, secs(0), &http(200, &short));
    exchange(&mut c, secs(5), &error("authorization_pending"));
    exchange(&mut c, secs(10), &error("authorization_pending"));
    // The next poll would be at 15 s, after the code's end at 12 s.
    assert_eq!(c.poll_timeout(), Some(secs(12)));
    c.handle_timeout(secs(12));
    let ev = events(&mut c);
    assert_eq!(
        ev.last(),
        Some(&Event::Failed(OAuthError::DeviceCodeExpired))
    );
    assert_eq!(OAuthError::DeviceCodeExpired.diag(), Id::DeviceCodeExpired);
}

#[test]
fn google_style_428_and_403_during_polling() {
    let mut c = authorized_device_client();
    // 428 with the RFC error, and 428 with no JSON at all: both pending.
    exchange(
        &mut c,
        secs(5),
        &http(
            428,
            r#"{"error":"authorization_pending","error_description":"Precondition Required"}"#,
        ),
    );
    exchange(
        &mut c,
        secs(10),
        "HTTP/1.1 428 Precondition Required\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(events(&mut c).iter().all(|e| *e == Event::UserCode));
    // 403 slow_down and Google's quota code both slow down.
    exchange(&mut c, secs(15), &http(403, r#"{"error":"slow_down"}"#));
    exchange(
        &mut c,
        secs(25),
        &http(403, r#"{"error_code":"rate_limit_exceeded"}"#),
    );
    assert_eq!(c.poll_interval(), Some(Duration::from_secs(15)));
    exchange(&mut c, secs(40), &http(403, r#"{"error":"access_denied"}"#));
    assert!(matches!(
        events(&mut c).last(),
        Some(Event::Failed(OAuthError::Provider(ProviderError {
            code: ErrorCode::AccessDenied,
            status: 403,
            ..
        })))
    ));
}

#[test]
fn server_errors_back_off_but_never_poll_faster_than_the_interval() {
    let mut c = authorized_device_client();
    exchange(
        &mut c,
        secs(5),
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
    );
    let ev = events(&mut c);
    let Some(Event::Retrying { error, at }) = ev.last().copied() else {
        panic!("{ev:?}")
    };
    assert_eq!(error.diag(), Id::ProviderUnavailable);
    assert!(at >= secs(10), "{at:?}");
    assert_eq!(c.poll_timeout(), Some(at));
    exchange(&mut c, at, &http(200, TOKEN));
    assert!(matches!(
        events(&mut c).last(),
        Some(Event::AccessToken { .. })
    ));
}

#[test]
fn google_profile_refuses_the_device_flow() {
    let mut c = client(Provider::google().unwrap());
    assert_eq!(
        c.start_device(secs(0)),
        Err(OAuthError::Profile(ProfileError::DeviceFlowNotSupported))
    );
    assert_eq!(
        OAuthError::Profile(ProfileError::DeviceFlowNotSupported).diag(),
        Id::DeviceFlowNotSupported
    );
    let mut out = vec![0u8; 1024];
    assert!(c.poll_transmit(secs(0), &mut out).unwrap().is_none());
}

/// Issue 17 item 4: Google's device endpoint refuses the Gmail scope
/// (`invalid_scope`, "Invalid device flow scope"). That is E415 (the device
/// flow is the wrong flow; the browser sign-in works), not E406 (whose
/// remedy names the very scope refused), and Google's text is kept.
#[test]
fn google_device_endpoint_refusing_the_gmail_scope_is_the_wrong_flow() {
    let google = Provider::google()
        .unwrap()
        .with_overrides(&crate::provider::EndpointOverrides {
            device_url: Some("https://oauth2.googleapis.com/device/code"),
            ..crate::provider::EndpointOverrides::default()
        })
        .unwrap();
    let mut c = client(google);
    c.start_device(secs(0)).unwrap();
    // Google's answer as it comes: pretty-printed, no `error_codes`.
    let body = "{\n  \"error\": \"invalid_scope\",\n  \"error_description\": \"Invalid device flow scope: https://mail.google.com/\"\n}";
    let (kind, req) = exchange(&mut c, secs(0), &http(400, body));
    assert_eq!(kind, RequestKind::DeviceAuthorization);
    assert!(
        body_of(&req).contains("scope=https%3A%2F%2Fmail.google.com%2F"),
        "{req}"
    );
    let ev = events(&mut c);
    let [Event::Failed(e)] = ev[..] else {
        panic!("{ev:?}")
    };
    assert!(
        matches!(
            e,
            OAuthError::DeviceFlowScopeRefused(ProviderError {
                code: ErrorCode::InvalidScope,
                aadsts: None,
                status: 400,
            })
        ),
        "{e:?}"
    );
    assert_eq!(e.diag(), Id::DeviceFlowNotSupported);
    assert!(Id::DeviceFlowNotSupported
        .remedy(crate::diag::Lang::En)
        .contains("browser sign-in"));
    assert_eq!(
        c.last_error_description(),
        "Invalid device flow scope: https://mail.google.com/"
    );
    assert!(c.is_finished());

    // Microsoft's refusal of a scope carries AADSTS70011: still E406.
    let mut c = client(Provider::microsoft(MicrosoftCloud::Global, Tenant::Organizations).unwrap());
    c.start_device(secs(0)).unwrap();
    let ms = r#"{"error":"invalid_scope","error_description":"AADSTS70011: The provided value for the input parameter 'scope' is not valid.","error_codes":[70011]}"#;
    exchange(&mut c, secs(0), &http(400, ms));
    let ev = events(&mut c);
    let [Event::Failed(e)] = ev[..] else {
        panic!("{ev:?}")
    };
    assert_eq!(e.diag(), Id::InvalidScope);
    // And an `invalid_scope` from the token endpoint is a wrong scope.
    let mut c = authorized_device_client();
    exchange(&mut c, secs(5), &error("invalid_scope"));
    assert!(matches!(
        events(&mut c).last(),
        Some(Event::Failed(e)) if e.diag() == Id::InvalidScope
    ));
}

const APPENDIX_B: [u8; 32] = [
    116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77,
    105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
];

fn pkce_client() -> (TestClient, String) {
    let p = Provider::microsoft(MicrosoftCloud::Global, Tenant::Organizations).unwrap();
    let mut c = Client::new(
        p,
        AppRegistration::public("00000000-1111-2222-3333-444444444444").unwrap(),
        vec![0u8; OAUTH_RESPONSE_BUF_LEN],
        1,
    );
    let redirect = RedirectUri::loopback(LoopbackHost::Localhost, 8400, "").unwrap();
    let hint = Address::parse("admin@contoso.onmicrosoft.com").unwrap();
    c.start_auth_code(secs(0), &APPENDIX_B, &[9; 16], redirect, Some(&hint))
        .unwrap();
    let state = c.pkce_state().unwrap().to_string();
    (c, state)
}

#[test]
fn pkce_authorize_url_redirect_and_code_exchange() {
    let (mut c, state) = pkce_client();
    let mut url = vec![0u8; 1024];
    let n = c.authorize_url(&mut url).unwrap();
    let url = core::str::from_utf8(&url[..n]).unwrap();
    assert_eq!(
        url,
        format!(
            "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize\
?client_id=00000000-1111-2222-3333-444444444444&response_type=code\
&redirect_uri=http%3A%2F%2Flocalhost%3A8400\
&scope=https%3A%2F%2Foutlook.office.com%2FSMTP.Send%20offline_access%20openid%20email%20profile\
&state={state}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
&code_challenge_method=S256&login_hint=admin%40contoso.onmicrosoft.com"
        )
    );
    let mut small = [0u8; 10];
    assert_eq!(
        c.authorize_url(&mut small),
        Err(OAuthError::BufferTooSmall(BufferTooSmall { needed: n }))
    );
    // Nothing is sent before the browser comes back.
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    assert!(c.poll_transmit(secs(1), &mut out).unwrap().is_none());
    assert_eq!(c.poll_timeout(), Some(secs(600)));

    let target = format!("/?code=M.C5%2B_abc&state={state}&session_state=x");
    c.handle_redirect(secs(20), target.as_bytes()).unwrap();
    let (kind, req) = exchange(&mut c, secs(20), &http(200, TOKEN));
    assert_eq!(kind, RequestKind::CodeExchange);
    assert!(req.starts_with(
        "POST /organizations/oauth2/v2.0/token HTTP/1.1\r\nHost: login.microsoftonline.com\r\n"
    ));
    assert_eq!(
        body_of(&req),
        "grant_type=authorization_code&code=M.C5%2B_abc\
&redirect_uri=http%3A%2F%2Flocalhost%3A8400\
&client_id=00000000-1111-2222-3333-444444444444\
&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    );
    assert_eq!(
        events(&mut c),
        [
            Event::RefreshTokenRotated,
            Event::AccessToken {
                expires_at: Some(secs(3620))
            }
        ]
    );
    // The code is redeemed once: nothing more is sent, a replayed redirect
    // is refused.
    assert!(c.poll_transmit(secs(21), &mut out).unwrap().is_none());
    assert_eq!(
        c.handle_redirect(secs(21), target.as_bytes()),
        Err(OAuthError::WrongState)
    );
}

#[test]
fn pkce_state_mismatch_is_refused_and_the_flow_waits_on() {
    let (mut c, state) = pkce_client();
    for forged in [
        "/?code=evil&state=AAAAAAAAAAAAAAAAAAAAAA".to_string(),
        "/?code=evil".to_string(),
        format!("/?code=evil&state={state}x"),
        "/?error=access_denied&state=wrong".to_string(),
    ] {
        assert_eq!(
            c.handle_redirect(secs(1), forged.as_bytes()),
            Err(OAuthError::StateMismatch),
            "{forged}"
        );
    }
    assert_eq!(OAuthError::StateMismatch.diag(), Id::StateMismatch);
    assert!(events(&mut c).is_empty());
    assert!(!c.is_finished());
    // The real answer still works.
    c.handle_redirect(secs(2), format!("?state={state}&code=good").as_bytes())
        .unwrap();
    let (_, req) = exchange(&mut c, secs(2), &http(200, TOKEN));
    assert!(body_of(&req).contains("&code=good&"));
}

#[test]
fn pkce_redirect_error_and_timeout() {
    let (mut c, state) = pkce_client();
    let target = format!("/?error=access_denied&error_description=The+user+declined&state={state}");
    assert_eq!(
        c.handle_redirect(secs(1), target.as_bytes()),
        Err(OAuthError::Redirect(ErrorCode::AccessDenied))
    );
    assert_eq!(
        events(&mut c),
        [Event::Failed(OAuthError::Redirect(ErrorCode::AccessDenied))]
    );
    assert_eq!(
        OAuthError::Redirect(ErrorCode::AccessDenied).diag(),
        Id::AuthorizationDeclined
    );

    let (mut c, state) = pkce_client();
    assert_eq!(
        c.handle_redirect(secs(1), format!("/?state={state}").as_bytes()),
        Err(OAuthError::RedirectMalformed)
    );
    c.handle_timeout(secs(599));
    assert!(events(&mut c).is_empty());
    c.handle_timeout(secs(600));
    assert_eq!(events(&mut c), [Event::Failed(OAuthError::RedirectTimeout)]);
}

fn ms_refresh_client() -> TestClient {
    let p = Provider::microsoft(MicrosoftCloud::Global, Tenant::Common).unwrap();
    Client::new(
        p,
        AppRegistration::public("00000000-1111-2222-3333-444444444444").unwrap(),
        vec![0u8; OAUTH_RESPONSE_BUF_LEN],
        99,
    )
}

#[test]
fn refresh_with_rotation_tells_the_caller_to_persist() {
    let mut c = ms_refresh_client();
    c.start_refresh(secs(100), b"0.AAA-old").unwrap();
    let (kind, req) = exchange(
        &mut c,
        secs(100),
        &http(
            200,
            r#"{"token_type":"Bearer","scope":"https://outlook.office.com/SMTP.Send","expires_in":3599,"ext_expires_in":3599,"access_token":"EwBAAl3BAAUF","refresh_token":"0.AAA-new"}"#,
        ),
    );
    assert_eq!(kind, RequestKind::Refresh);
    assert_eq!(
        body_of(&req),
        "grant_type=refresh_token&refresh_token=0.AAA-old\
&client_id=00000000-1111-2222-3333-444444444444\
&scope=https%3A%2F%2Foutlook.office.com%2FSMTP.Send+offline_access"
    );
    assert_eq!(
        events(&mut c),
        [
            Event::RefreshTokenRotated,
            Event::AccessToken {
                expires_at: Some(secs(3699))
            }
        ]
    );
    assert_eq!(c.tokens().unwrap().refresh_token.expose(), b"0.AAA-new");
    assert_eq!(c.expires_at(), Some(secs(3699)));
    assert_eq!(c.new_refresh_token().unwrap().expose(), b"0.AAA-new");
}

#[test]
fn refresh_without_a_new_token_keeps_the_old_one() {
    for body in [
        r#"{"access_token":"ya29.x","token_type":"Bearer","expires_in":3599}"#,
        r#"{"access_token":"ya29.x","token_type":"Bearer","expires_in":3599,"refresh_token":"1//same"}"#,
    ] {
        let mut c = ms_refresh_client();
        c.start_refresh(secs(0), b"1//same").unwrap();
        exchange(&mut c, secs(0), &http(200, body));
        assert_eq!(
            events(&mut c),
            [Event::AccessToken {
                expires_at: Some(secs(3599))
            }]
        );
        assert_eq!(c.tokens().unwrap().refresh_token.expose(), b"1//same");
        assert!(c.new_refresh_token().is_none());
    }
}

#[test]
fn invalid_grant_means_reauthentication_with_the_precise_diagnostic() {
    for (aadsts, id) in [
        (700_082, Id::RefreshExpiredInactivity),
        (50_173, Id::RefreshRevoked),
        (70_000, Id::RefreshRevoked),
        (53_003, Id::ConditionalAccess),
        (65_001, Id::ConsentMissing),
    ] {
        let mut c = ms_refresh_client();
        c.start_refresh(secs(0), b"0.AAA").unwrap();
        let body = format!(
            r#"{{"error":"invalid_grant","error_description":"AADSTS{aadsts}: x.\r\nTrace ID: 1","error_codes":[{aadsts}]}}"#
        );
        exchange(&mut c, secs(0), &http(400, &body));
        let ev = events(&mut c);
        let [Event::ReauthRequired(e)] = ev[..] else {
            panic!("{ev:?}")
        };
        assert_eq!(e.diag(), id, "{aadsts}");
        assert!(c.last_error_description().starts_with("AADSTS"));
        assert!(c.tokens().is_none());
    }
    // Plain invalid_grant (Google: revoked, unused for 6 months, password change).
    let mut c = ms_refresh_client();
    c.start_refresh(secs(0), b"1//x").unwrap();
    exchange(&mut c, secs(0), &error("invalid_grant"));
    let ev = events(&mut c);
    assert!(matches!(ev[..], [Event::ReauthRequired(e)] if e.diag() == Id::InvalidGrant));
    // invalid_client is a configuration problem, not a re-authentication.
    let mut c = ms_refresh_client();
    c.start_refresh(secs(0), b"0.x").unwrap();
    exchange(
        &mut c,
        secs(0),
        &http(401, r#"{"error":"invalid_client","error_codes":[7000218]}"#),
    );
    let ev = events(&mut c);
    assert!(matches!(ev[..], [Event::Failed(e)] if e.diag() == Id::PublicClientFlowsOff));
}

/// Microsoft's device authorization answer, as `/devicecode` sends it.
const MS_DEVICE: &str = r#"{"user_code":"FGHJKLMNP","device_code":"DAQABAAEAAAD","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5,"message":"To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FGHJKLMNP to authenticate."}"#;

/// A Microsoft error body in the shape of the token endpoint's answers
/// (entra-docs `reference-error-codes.md`): `error`, an AADSTS
/// `error_description`, `error_codes`, the trace fields and `error_uri`.
fn ms_error(error: &str, aadsts: u32, text: &str) -> String {
    let body = format!(
        r#"{{"error":"{error}","error_description":"AADSTS{aadsts}: {text} Trace ID: 0000aaaa-11bb-cccc-dd33-eeeeee333333 Correlation ID: aaaa0000-bb11-2222-33cc-444444dddddd Timestamp: 2026-12-06 20:12:44Z","error_codes":[{aadsts}],"timestamp":"2026-12-06 20:12:44Z","trace_id":"0000aaaa-11bb-cccc-dd33-eeeeee333333","correlation_id":"aaaa0000-bb11-2222-33cc-444444dddddd","error_uri":"https://login.microsoftonline.com/error?code={aadsts}"}}"#
    );
    http(400, &body)
}

const CA_TEXT: &str = "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.";

/// A Microsoft device flow past its device authorization at t=0.
fn ms_device_client() -> TestClient {
    let mut c = ms_refresh_client();
    c.start_device(secs(0)).unwrap();
    let (kind, _) = exchange(&mut c, secs(0), &http(200, MS_DEVICE));
    assert_eq!(kind, RequestKind::DeviceAuthorization);
    assert_eq!(events(&mut c), [Event::UserCode]);
    c
}

#[test]
fn conditional_access_on_a_device_code_request_is_the_blocked_device_flow() {
    // Issue 18: tenants block the device code flow with Conditional Access
    // (AADSTS53003). On a device-code request that is E437, whose remedy
    // names the other sign-in modes, not the generic E405.
    let blocked = |e: OAuthError| {
        assert!(
            matches!(
                e,
                OAuthError::DeviceFlowBlocked(ProviderError {
                    aadsts: Some(53_003),
                    status: 400,
                    ..
                })
            ),
            "{e:?}"
        );
        assert_eq!(e.diag(), Id::DeviceCodeFlowBlocked);
        assert!(format!("{e}").contains("device code flow blocked"), "{e}");
    };
    // On a poll, whatever `error` accompanies the number.
    for error in ["invalid_grant", "authorization_declined", "access_denied"] {
        let mut c = ms_device_client();
        let (kind, _) = exchange(&mut c, secs(5), &ms_error(error, 53_003, CA_TEXT));
        assert_eq!(kind, RequestKind::DeviceToken);
        let ev = events(&mut c);
        let [Event::Failed(e)] = ev[..] else {
            panic!("{error}: {ev:?}")
        };
        blocked(e);
        assert!(c
            .last_error_description()
            .starts_with("AADSTS53003: Access has been blocked"));
        assert!(c.is_finished());
        let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
        assert!(c.poll_transmit(secs(100), &mut out).unwrap().is_none());
    }
    // On the device authorization request itself.
    let mut c = ms_refresh_client();
    c.start_device(secs(0)).unwrap();
    let (kind, _) = exchange(
        &mut c,
        secs(0),
        &ms_error("invalid_request", 53_003, CA_TEXT),
    );
    assert_eq!(kind, RequestKind::DeviceAuthorization);
    let ev = events(&mut c);
    let [Event::Failed(e)] = ev[..] else {
        panic!("{ev:?}")
    };
    blocked(e);

    // The remedy names the browser sign-in, app-only and a handed-in token.
    let en = Id::DeviceCodeFlowBlocked.remedy(crate::diag::Lang::En);
    for mode in [
        "browser sign-in",
        "PKCE",
        "app-only",
        "print-management server",
    ] {
        assert!(en.contains(mode), "{en}");
    }
    let fr = Id::DeviceCodeFlowBlocked.remedy(crate::diag::Lang::Fr);
    for mode in [
        "navigateur",
        "application seule",
        "serveur de gestion d'impression",
    ] {
        assert!(fr.contains(mode), "{fr}");
    }

    // The same number on a refresh is not the device flow: E405, the grant
    // kept (R-TOK-4, `RefreshFailure::classify`).
    let mut c = ms_refresh_client();
    c.start_refresh(secs(0), b"0.AAA").unwrap();
    exchange(&mut c, secs(0), &ms_error("invalid_grant", 53_003, CA_TEXT));
    let ev = events(&mut c);
    let [Event::ReauthRequired(e)] = ev[..] else {
        panic!("{ev:?}")
    };
    assert!(matches!(e, OAuthError::Provider(_)), "{e:?}");
    assert_eq!(e.diag(), Id::ConditionalAccess);
    let (failure, _) = RefreshFailure::of_event(&ev[0]).unwrap();
    assert_eq!(failure, RefreshFailure::Refused);
    // Nor is the browser sign-in's code exchange: E405 too.
    let (mut c, state) = pkce_client();
    c.handle_redirect(secs(1), format!("/?code=x&state={state}").as_bytes())
        .unwrap();
    let (kind, _) = exchange(&mut c, secs(1), &ms_error("invalid_grant", 53_003, CA_TEXT));
    assert_eq!(kind, RequestKind::CodeExchange);
    let ev = events(&mut c);
    assert!(
        matches!(ev[..], [Event::Failed(OAuthError::Provider(e))] if e.diag() == Id::ConditionalAccess),
        "{ev:?}"
    );
    // Another number on a device poll keeps its own meaning.
    let mut c = ms_device_client();
    exchange(
        &mut c,
        secs(5),
        &ms_error(
            "invalid_grant",
            65_001,
            "The user or administrator has not consented to use the application.",
        ),
    );
    let ev = events(&mut c);
    assert!(
        matches!(ev[..], [Event::Failed(OAuthError::Provider(e))] if e.diag() == Id::ConsentMissing),
        "{ev:?}"
    );
}

#[test]
fn tenant_refusals_of_the_app_have_their_own_diagnostics() {
    // Issue 18: each refusal by a tenant policy gets its own diagnostic
    // (meanings from entra-docs `reference-error-codes.md`).
    let cases = [
        (
            "unauthorized_client",
            7_000_112,
            "Application 'x'(Printer) is disabled.",
            Id::AppDisabled,
        ),
        (
            "unauthorized_client",
            70_001,
            "Application 'x' is disabled.",
            Id::AppDisabled,
        ),
        (
            "invalid_grant",
            50_105,
            "Your administrator has configured the application Printer ('x') to block users unless they are specifically granted ('assigned') access to the application.",
            Id::UserNotAssigned,
        ),
        (
            "invalid_grant",
            90_094,
            "Printer needs permission to access resources in your organization that only an admin can grant.",
            Id::AdminConsentRequired,
        ),
        (
            "invalid_grant",
            90_095,
            "Printer needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.",
            Id::AdminConsentRequired,
        ),
        (
            "access_denied",
            65_004,
            "User declined to consent to access the app.",
            Id::AuthorizationDeclined,
        ),
    ];
    for (error, aadsts, text, id) in cases {
        // A device code poll.
        let mut c = ms_device_client();
        exchange(&mut c, secs(5), &ms_error(error, aadsts, text));
        let ev = events(&mut c);
        let [Event::Failed(e)] = ev[..] else {
            panic!("{aadsts}: {ev:?}")
        };
        assert_eq!(e.diag(), id, "{aadsts}");
        assert!(c
            .last_error_description()
            .starts_with(&format!("AADSTS{aadsts}:")));
        // A refresh: the same diagnostic, whether the flow ends as a
        // refused grant or a failure.
        let mut c = ms_refresh_client();
        c.start_refresh(secs(0), b"0.AAA").unwrap();
        exchange(&mut c, secs(0), &ms_error(error, aadsts, text));
        let ev = events(&mut c);
        let [Event::ReauthRequired(e) | Event::Failed(e)] = ev[..] else {
            panic!("{aadsts}: {ev:?}")
        };
        assert_eq!(e.diag(), id, "{aadsts} on a refresh");
        // A refusal, not a dead grant: the refresh token is kept (R-TOK-4).
        let (failure, diag) = RefreshFailure::of_event(&ev[0]).unwrap();
        assert_eq!(diag, id);
        assert!(!failure.erases_token(), "{aadsts}: {failure:?}");
    }
    // Whichever way the flow ended, the core's one classification keeps
    // the token for each new refusal.
    for id in [
        Id::DeviceCodeFlowBlocked,
        Id::AppDisabled,
        Id::UserNotAssigned,
        Id::AdminConsentRequired,
    ] {
        assert_eq!(
            RefreshFailure::classify(true, id),
            RefreshFailure::Refused,
            "{id:?}"
        );
        assert!(!RefreshFailure::classify(true, id).erases_token());
    }
    // The new refusals name the other sign-in modes.
    for id in [
        Id::AppDisabled,
        Id::UserNotAssigned,
        Id::AdminConsentRequired,
    ] {
        let en = id.remedy(crate::diag::Lang::En);
        assert!(en.contains("print-management server"), "{id:?}: {en}");
        assert!(
            id.remedy(crate::diag::Lang::Fr)
                .contains("serveur de gestion d'impression"),
            "{id:?}"
        );
    }
}

#[test]
fn refresh_retries_5xx_and_network_failures_with_jittered_backoff() {
    let mut c = ms_refresh_client();
    c.start_refresh(secs(0), b"0.AAA").unwrap();
    let mut now = secs(0);
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    // 1: a 500; 2: connection refused; 3: no answer; 4: a 429 with Retry-After;
    // 5: the connection closes mid-body.
    exchange(
        &mut c,
        now,
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
    );
    let mut delays = vec![];
    let next = |c: &mut TestClient, now: &mut Instant, delays: &mut Vec<u64>| {
        let ev = events(c);
        let Some(Event::Retrying { at, .. }) = ev.last().copied() else {
            panic!("{ev:?}")
        };
        delays.push(at.saturating_since(*now).as_millis());
        *now = at;
    };
    next(&mut c, &mut now, &mut delays);
    assert!(c.poll_transmit(now, &mut out).unwrap().is_some());
    c.handle_transport_error(now, TransportError::Connect);
    next(&mut c, &mut now, &mut delays);
    assert!(c.poll_transmit(now, &mut out).unwrap().is_some());
    assert_eq!(c.poll_timeout(), Some(now + RESPONSE_TIMEOUT));
    c.handle_timeout(now + RESPONSE_TIMEOUT);
    now = now + RESPONSE_TIMEOUT;
    next(&mut c, &mut now, &mut delays);
    exchange(
        &mut c,
        now,
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\nContent-Length: 0\r\n\r\n",
    );
    next(&mut c, &mut now, &mut delays);
    exchange(
        &mut c,
        now,
        "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"access",
    );
    next(&mut c, &mut now, &mut delays);
    assert!(delays[0] >= 2_500 && delays[0] <= 5_000, "{delays:?}");
    assert!(delays[1] >= 5_000 && delays[1] <= 10_000, "{delays:?}");
    assert!(delays[3] >= 120_000, "Retry-After is a floor: {delays:?}");
    exchange(
        &mut c,
        now,
        &http(200, r#"{"access_token":"a","token_type":"bearer"}"#),
    );
    assert_eq!(events(&mut c), [Event::AccessToken { expires_at: None }]);
}

#[test]
fn retries_end_and_permanent_transport_errors_do_not_retry() {
    let mut c = ms_refresh_client();
    c.start_refresh(secs(0), b"0.AAA").unwrap();
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    let mut now = secs(0);
    let mut last = None;
    for _ in 0..=OAUTH_MAX_RETRIES {
        assert!(c.poll_transmit(now, &mut out).unwrap().is_some());
        c.handle_transport_error(now, TransportError::Dns);
        last = events(&mut c).last().copied();
        if let Some(Event::Retrying { at, .. }) = last {
            now = at;
        }
    }
    assert_eq!(
        last,
        Some(Event::Failed(OAuthError::Transport(TransportError::Dns)))
    );
    assert_eq!(
        OAuthError::Transport(TransportError::Dns).diag(),
        Id::DnsFailed
    );

    let mut c = ms_refresh_client();
    c.start_refresh(secs(0), b"0.AAA").unwrap();
    assert!(c.poll_transmit(secs(0), &mut out).unwrap().is_some());
    c.handle_transport_error(secs(0), TransportError::ProxyAuthRequired);
    assert_eq!(
        events(&mut c),
        [Event::Failed(OAuthError::Transport(
            TransportError::ProxyAuthRequired
        ))]
    );
}

#[test]
fn google_granular_consent_without_gmail_is_refused() {
    let mut c = Client::new(
        Provider::google().unwrap(),
        AppRegistration::with_secret("1-a.apps.googleusercontent.com", b"GOCSPX-x").unwrap(),
        vec![0u8; OAUTH_RESPONSE_BUF_LEN],
        3,
    );
    c.start_refresh(secs(0), b"1//0g").unwrap();
    let (_, req) = exchange(
        &mut c,
        secs(0),
        &http(
            200,
            r#"{"access_token":"ya29.a","expires_in":3599,"scope":"openid https://www.googleapis.com/auth/userinfo.email","token_type":"Bearer"}"#,
        ),
    );
    // Google: no scope on refresh, the desktop client's secret is sent.
    assert_eq!(
        body_of(&req),
        "grant_type=refresh_token&refresh_token=1%2F%2F0g\
&client_id=1-a.apps.googleusercontent.com&client_secret=GOCSPX-x"
    );
    assert_eq!(events(&mut c), [Event::Failed(OAuthError::ScopeNotGranted)]);
    assert_eq!(OAuthError::ScopeNotGranted.diag(), Id::ScopeNotGranted);
}

#[test]
fn bad_responses_fail_clearly() {
    let cases: &[(&str, OAuthError)] = &[
        (
            "HTTP/1.1 302 Found\r\nLocation: https://portal.example\r\nContent-Length: 0\r\n\r\n",
            OAuthError::UnexpectedStatus(302),
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
            OAuthError::Http(crate::wire::http::HttpError::ConflictingFraming),
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n",
            OAuthError::Http(crate::wire::http::HttpError::BodyTooLarge {
                capacity: MAX_OAUTH_BODY_LEN,
            }),
        ),
    ];
    for (resp, err) in cases {
        let mut c = ms_refresh_client();
        c.start_refresh(secs(0), b"0.AAA").unwrap();
        exchange(&mut c, secs(0), resp);
        assert_eq!(events(&mut c), [Event::Failed(*err)], "{resp}");
    }
    let mut c = ms_refresh_client();
    c.start_refresh(secs(0), b"0.AAA").unwrap();
    exchange(
        &mut c,
        secs(0),
        &http(200, r#"{"access_token":"x","token_type":"mac"}"#),
    );
    assert_eq!(
        events(&mut c),
        [Event::Failed(OAuthError::UnsupportedTokenType)]
    );
}

/// R-MEM: a buffer shorter than the request gets it in pieces, written
/// anew each time; joined they are the request a whole buffer gets.
#[test]
fn a_short_request_buffer_gets_the_request_in_pieces() {
    let mut whole_client = ms_refresh_client();
    whole_client.start_refresh(secs(0), &[b'R'; 1500]).unwrap();
    let mut big = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    let whole = whole_client
        .poll_transmit(secs(0), &mut big)
        .unwrap()
        .unwrap();
    assert_eq!((whole.offset, whole.last), (0, true));
    let whole = big[..whole.len].to_vec();

    let mut c = ms_refresh_client();
    c.start_refresh(secs(0), &[b'R'; 1500]).unwrap();
    assert_eq!(
        c.poll_transmit(secs(0), &mut []),
        Err(BufferTooSmall {
            needed: whole.len()
        })
    );
    let mut joined = Vec::new();
    let mut small = vec![0u8; 100];
    loop {
        let tx = c.poll_transmit(secs(0), &mut small).unwrap().unwrap();
        assert_eq!(tx.offset, joined.len());
        assert!(tx.sensitive);
        assert_eq!(tx.endpoint.host(), "login.microsoftonline.com");
        joined.extend_from_slice(&small[..tx.len]);
        if tx.last {
            break;
        }
        assert_eq!(tx.len, 100);
    }
    assert_eq!(joined, whole);
    // Complete: nothing more until the answer.
    assert_eq!(c.poll_transmit(secs(0), &mut small), Ok(None));
    let ok = http(
        200,
        r#"{"access_token":"a","token_type":"Bearer","expires_in":60}"#,
    );
    c.handle_input(secs(1), ok.as_bytes());
    assert!(matches!(
        events(&mut c).last(),
        Some(Event::AccessToken { .. })
    ));
}

/// An answer before the request's last piece (a server refusing early)
/// ends that request: the retry starts again from its first octet.
#[test]
fn a_request_cut_short_by_an_early_answer_starts_over_on_retry() {
    let mut c = ms_refresh_client();
    c.start_refresh(secs(0), &[b'R'; 1500]).unwrap();
    let mut small = vec![0u8; 256];
    let first = c.poll_transmit(secs(0), &mut small).unwrap().unwrap();
    assert!(!first.last);
    let busy = http(503, r#"{"error":"temporarily_unavailable"}"#);
    c.handle_input(secs(0), busy.as_bytes());
    c.handle_close(secs(0));
    let retry_at = c.poll_timeout().expect("a retry is scheduled");
    c.handle_timeout(retry_at);
    let again = c.poll_transmit(retry_at, &mut small).unwrap().unwrap();
    assert_eq!((again.offset, again.last), (0, false));
    assert!(small.starts_with(b"POST "));
}

#[test]
fn secrets_never_show_in_debug_output() {
    let mut c = ms_refresh_client();
    c.start_refresh(secs(0), b"0.SECRET-REFRESH").unwrap();
    exchange(
        &mut c,
        secs(0),
        &http(
            200,
            r#"{"access_token":"SECRET-ACCESS","token_type":"Bearer","refresh_token":"0.SECRET-NEW"}"#,
        ),
    );
    let ev = events(&mut c);
    let shown = format!("{c:?} {:?} {ev:?}", c.tokens());
    assert!(shown.contains("redacted"));
    assert!(!shown.contains("SECRET"), "{shown}");
}

#[test]
fn sizes_of_the_state_machine() {
    // Printed for the README and the integration notes (run with --nocapture).
    let client = size_of::<Client<&mut [u8]>>();
    std::println!("size_of Client<&mut [u8]> = {client}");
    std::println!("size_of TokenResponse = {}", size_of::<TokenResponse>());
    std::println!(
        "size_of DeviceAuthorization = {}",
        size_of::<DeviceAuthorization>()
    );
    std::println!("size_of Provider = {}", size_of::<Provider>());
    std::println!("size_of AppRegistration = {}", size_of::<AppRegistration>());
    std::println!("size_of ResponseParser = {}", size_of::<ResponseParser>());
    std::println!("size_of Event = {}", size_of::<Event>());
    std::println!("size_of BodyParser = {}", size_of::<BodyParser>());
    std::println!(
        "size_of Client<[u8; OAUTH_RESPONSE_BUF_LEN]> = {}",
        size_of::<Client<[u8; OAUTH_RESPONSE_BUF_LEN]>>()
    );
    // A budget, so that growth is a decision: tokens (6 KiB) + profile +
    // device grant, well under 16 KiB.
    assert!(client < 16 * 1024, "{client}");
}

#[test]
fn start_arguments_are_checked() {
    let mut c = ms_refresh_client();
    assert_eq!(
        c.start_refresh(secs(0), b""),
        Err(OAuthError::InvalidArgument)
    );
    assert_eq!(
        c.start_refresh(secs(0), &[b'r'; 2049])
            .map_err(|e| e.diag()),
        Err(Id::TokenTooLarge)
    );
    assert!(c.is_finished());
    let mut url = [0u8; 64];
    assert_eq!(c.authorize_url(&mut url), Err(OAuthError::WrongState));
    assert_eq!(
        c.handle_redirect(secs(0), b"/?code=x&state=y"),
        Err(OAuthError::WrongState)
    );
    let custom_without_authorize = Provider::custom(&CustomEndpoints {
        authorize_url: None,
        token_url: "https://idp.example/token",
        device_url: None,
        scope: "smtp",
    })
    .unwrap();
    let mut c = client(custom_without_authorize);
    let redirect = RedirectUri::loopback(LoopbackHost::Ipv4, 8400, "").unwrap();
    assert_eq!(
        c.start_auth_code(secs(0), &[0; 32], &[0; 16], redirect, None),
        Err(OAuthError::Profile(ProfileError::AuthCodeNotSupported))
    );
    assert_eq!(
        c.start_device(secs(0)),
        Err(OAuthError::Profile(ProfileError::DeviceFlowNotSupported))
    );
}

#[test]
fn google_authorize_url_asks_for_offline_access_on_an_ipv4_loopback() {
    let mut c = Client::new(
        Provider::google().unwrap(),
        AppRegistration::with_secret("1-a.apps.googleusercontent.com", b"GOCSPX-x").unwrap(),
        vec![0u8; 1024],
        3,
    );
    let loopback = c.provider().default_loopback();
    let redirect = RedirectUri::loopback(loopback, 8400, "").unwrap();
    c.start_auth_code(secs(0), &APPENDIX_B, &[1; 16], redirect, None)
        .unwrap();
    let mut url = [0u8; 1024];
    let n = c.authorize_url(&mut url).unwrap();
    let url = core::str::from_utf8(&url[..n]).unwrap();
    assert!(url.starts_with("https://accounts.google.com/o/oauth2/v2/auth?client_id=1-a.apps.googleusercontent.com&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A8400&scope=https%3A%2F%2Fmail.google.com%2F%20openid%20email&state="), "{url}");
    assert!(url.ends_with("&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&access_type=offline"), "{url}");
    // The client secret never goes into the browser's URL.
    assert!(!url.contains("GOCSPX"));
}

#[test]
fn set_profile_abandons_the_flow_and_switches_provider() {
    let mut c = ms_refresh_client();
    c.start_refresh(secs(0), b"0.AAA").unwrap();
    c.set_profile(
        Provider::google().unwrap(),
        AppRegistration::public("1-a.apps.googleusercontent.com").unwrap(),
    );
    assert!(c.is_finished());
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    assert!(c.poll_transmit(secs(0), &mut out).unwrap().is_none());
    c.start_refresh(secs(1), b"1//x").unwrap();
    let tx = c.poll_transmit(secs(1), &mut out).unwrap().unwrap();
    assert_eq!(tx.endpoint.host(), "oauth2.googleapis.com");
}

/// The long fuzz run's oauth_redirect input, grown to the limit: the
/// longest accepted code, every octet of it escaped, still gives a code
/// exchange that fits the documented request buffer (R-OAUTH, README
/// capacities), and one octet less of buffer gets it in two pieces.
#[test]
fn the_longest_code_fully_escaped_fits_the_request_buffer() {
    let (mut c, state) = pkce_client();
    let code = "%2F".repeat(MAX_AUTH_CODE_LEN);
    let target = format!("/cb?state={state}&code={code}");
    c.handle_redirect(secs(1), target.as_bytes()).unwrap();
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    let tx = c.poll_transmit(secs(1), &mut out).unwrap().unwrap();
    assert_eq!(tx.kind, RequestKind::CodeExchange);
    assert!(tx.len <= OAUTH_REQUEST_BUF_LEN);
    assert!(out[..tx.len]
        .windows(code.len())
        .any(|w| w == code.as_bytes()));
    let (mut c2, state2) = pkce_client();
    let target2 = format!("/cb?state={state2}&code={code}");
    c2.handle_redirect(secs(1), target2.as_bytes()).unwrap();
    let mut short = vec![0u8; tx.len - 1];
    let piece = c2.poll_transmit(secs(1), &mut short).unwrap().unwrap();
    assert_eq!((piece.len, piece.last), (tx.len - 1, false));
    let end = c2.poll_transmit(secs(1), &mut short).unwrap().unwrap();
    assert_eq!((end.offset, end.len, end.last), (tx.len - 1, 1, true));
}

/// R-MEM, issue 15 part 3: the token answer is parsed as it arrives. A
/// device sign-in's answer (id_token naming the account, chunked framing,
/// escapes, a character cut by the chunking) fed one octet at a time
/// through a response buffer only as large as the heads gives the same
/// tokens and account as one read.
#[test]
fn a_sign_in_answer_streamed_octet_by_octet_through_a_head_sized_buffer() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let id = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"RS256"}"#),
        b64(
            r#"{"name":"Jos\u00e9","preferred_username":"mailbox@contoso.com","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#
        ),
        b64("signature")
    );
    let body = format!(
        r#"{{"token_type":"Bearer","scope":"openid SMTP.Send","expires_in":3599,"access_token":"EwB\/Aé{}","refresh_token":"0.AXkA","id_token":"{id}","client_info":"{}"}}"#,
        "A".repeat(3000),
        "c".repeat(5000)
    );
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut response = head.as_bytes().to_vec();
    for piece in body.as_bytes().chunks(700) {
        response.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        response.extend_from_slice(piece);
        response.extend_from_slice(b"\r\n");
    }
    response.extend_from_slice(b"0\r\n\r\n");

    let run = |buf_len: usize, octet_by_octet: bool| {
        let mut c = Client::new(
            rfc_provider(),
            AppRegistration::public("1406020730").unwrap(),
            vec![0u8; buf_len],
            7,
        );
        c.start_device(secs(0)).unwrap();
        exchange(&mut c, secs(0), &http(200, RFC8628_DEVICE));
        assert_eq!(events(&mut c), [Event::UserCode]);
        let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
        c.poll_transmit(secs(5), &mut out).unwrap().unwrap();
        if octet_by_octet {
            for b in &response {
                assert_eq!(c.handle_input(secs(5), core::slice::from_ref(b)), 1);
            }
        } else {
            c.handle_input(secs(5), &response);
        }
        let ev = events(&mut c);
        assert!(
            matches!(ev.last(), Some(Event::AccessToken { .. })),
            "{ev:?}"
        );
        let t = c.tokens().unwrap();
        (
            t.access_token.expose().to_vec(),
            t.refresh_token.expose().to_vec(),
            t.expires_in,
            t.account.clone(),
        )
    };
    let whole = run(OAUTH_RESPONSE_BUF_LEN, false);
    assert_eq!(&whole.0[..7], "EwB/Aé".as_bytes());
    assert_eq!(whole.0.len(), 7 + 3000);
    assert_eq!(
        whole.3,
        crate::wire::json::SignedInAccount::Account(Address::parse("mailbox@contoso.com").unwrap())
    );
    // As large as the longer head of the two answers, the device
    // authorization's and this one.
    let device = http(200, RFC8628_DEVICE);
    let least = head.len().max(device.find("\r\n\r\n").unwrap() + 4);
    assert_eq!(run(least, true), whole);
    assert!(body.len() > least * 8);
}
