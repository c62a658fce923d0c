//! The OAuth driver (core `oauth::Client` over HTTPS) against the simulated
//! provider: device flow, refresh with rotation, revocation, chunked
//! answers, proxy, PKCE with the loopback listener, wrong certificate
//! (R-HOST, R-OAUTH, R-TOK-2, R-TOK-4).

use mfp_oauth_core::oauth::{self, Event, OAuthError, RequestKind, TransportError};
use mfp_oauth_core::provider::{AppRegistration, CustomEndpoints, LoopbackHost, Provider};
use mfp_oauth_host::clock::Clock;
use mfp_oauth_host::driver::loopback::Loopback;
use mfp_oauth_host::driver::oauth::{drive, Finish, HttpsTransport, Step};
use mfp_oauth_host::net::NetOptions;
use mfp_oauth_host::sim::proxy::ConnectProxy;
use mfp_oauth_host::sim::smtp::SmtpConfig;
use mfp_oauth_host::sim::{browser, pki::Pki, SimConfig, World};
use mfp_oauth_host::tls::TlsSettings;

type Client = oauth::Client<Vec<u8>>;

fn world(config: SimConfig) -> World {
    World::start(config, SmtpConfig::default()).unwrap()
}

fn client(w: &World) -> Client {
    let (token, device, authorize) = (
        w.provider.token_endpoint(),
        w.provider.device_endpoint(),
        w.provider.authorize_endpoint(),
    );
    let provider = Provider::custom(&CustomEndpoints {
        authorize_url: Some(&authorize),
        token_url: &token,
        device_url: Some(&device),
        scope: "https://outlook.office.com/SMTP.Send offline_access",
    })
    .unwrap();
    let app = AppRegistration::public("mfp-oauth-demo").unwrap();
    oauth::Client::new(provider, app, vec![0u8; 16 * 1024], 7)
}

fn transport(w: &World) -> HttpsTransport {
    HttpsTransport {
        net: NetOptions::default(),
        tls: w.tls_settings(),
    }
}

/// Device flow; the simulated user approves after `approve_after` polls.
fn device_login(
    w: &World,
    c: &mut Client,
    t: &HttpsTransport,
    approve_after: usize,
) -> (Finish, Vec<Step>) {
    c.start_device(w.clock.now()).unwrap();
    let mut steps = Vec::new();
    let mut polls = 0;
    let mut user_code = String::new();
    let finish = drive(&w.clock, c, t, None, &mut |c, s| {
        if let Step::Event(Event::UserCode) = s {
            user_code = c.device_authorization().unwrap().user_code.to_string();
        }
        if let Step::Request(RequestKind::DeviceToken) = s {
            polls += 1;
            if polls == approve_after {
                assert!(w.sim.approve_device(&user_code, "admin@contoso.test"));
            }
        }
        steps.push(s);
    });
    (finish, steps)
}

fn access_token(c: &Client) -> String {
    String::from_utf8(c.tokens().unwrap().access_token.expose().to_vec()).unwrap()
}

fn refresh_token(c: &Client) -> String {
    String::from_utf8(c.tokens().unwrap().refresh_token.expose().to_vec()).unwrap()
}

// R-OAUTH: device flow: user code shown, pending polls at the interval, tokens.
#[test]
fn device_flow_until_the_user_approves() {
    let w = world(SimConfig::default());
    let mut c = client(&w);
    let (finish, steps) = device_login(&w, &mut c, &transport(&w), 3);
    assert!(
        matches!(
            finish,
            Finish::AccessToken {
                expires_at: Some(_)
            }
        ),
        "{finish:?}"
    );
    assert!(steps.contains(&Step::Event(Event::UserCode)));
    assert!(steps.contains(&Step::Event(Event::RefreshTokenRotated)));
    let polls = steps
        .iter()
        .filter(|s| **s == Step::Request(RequestKind::DeviceToken))
        .count();
    assert_eq!(polls, 3);
    // The core waited the interval: the provider never had to say slow_down.
    assert!(!w
        .sim
        .requests()
        .iter()
        .any(|r| r.contains("-> 400") && r.contains("slow")));
    assert_eq!(
        w.sim
            .check_access_token(&access_token(&c), "admin@contoso.test"),
        mfp_oauth_host::sim::TokenCheck::Valid
    );
}

// R-OAUTH / R-TOK-2: refresh rotates the refresh token; chunked answers decode.
#[test]
fn refresh_rotation_over_chunked_answers() {
    let w = world(SimConfig {
        chunked: true,
        ..SimConfig::default()
    });
    let t = transport(&w);
    let mut c = client(&w);
    device_login(&w, &mut c, &t, 1);
    let rt1 = refresh_token(&c);
    c.start_refresh(w.clock.now(), rt1.as_bytes()).unwrap();
    let mut rotated = false;
    let finish = drive(&w.clock, &mut c, &t, None, &mut |_, s| {
        rotated |= s == Step::Event(Event::RefreshTokenRotated)
    });
    assert!(matches!(finish, Finish::AccessToken { .. }), "{finish:?}");
    assert!(rotated);
    let rt2 = refresh_token(&c);
    assert_ne!(rt1, rt2);
    assert!(!w.sim.refresh_token_valid(&rt1) && w.sim.refresh_token_valid(&rt2));
}

// R-TOK-4: a revoked refresh token ends in ReauthRequired, not a retry loop.
#[test]
fn revoked_refresh_token_requires_sign_in() {
    let w = world(SimConfig::default());
    let t = transport(&w);
    let mut c = client(&w);
    device_login(&w, &mut c, &t, 1);
    let rt = refresh_token(&c);
    w.sim.revoke_refresh_tokens("admin@contoso.test");
    c.start_refresh(w.clock.now(), rt.as_bytes()).unwrap();
    let finish = drive(&w.clock, &mut c, &t, None, &mut |_, _| {});
    assert!(matches!(finish, Finish::ReauthRequired(_)), "{finish:?}");
    assert_eq!(
        w.sim
            .requests()
            .iter()
            .filter(|r| r.contains("refresh_token"))
            .count(),
        1
    );
}

// R-HOST / R-CFG: token traffic through the HTTP CONNECT proxy.
#[test]
fn token_requests_go_through_the_proxy() {
    let w = world(SimConfig::default());
    let proxy = ConnectProxy::start(false).unwrap();
    let mut t = transport(&w);
    t.net = proxy.net_options(None);
    let mut c = client(&w);
    let (finish, _) = device_login(&w, &mut c, &t, 1);
    assert!(matches!(finish, Finish::AccessToken { .. }));
    let seen = proxy.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen
        .iter()
        .all(|l| *l == format!("CONNECT 127.0.0.1:{} HTTP/1.1", w.provider.port())));
}

// R-HOST: a provider certificate from an unknown CA ends the flow, no retry.
#[test]
fn untrusted_provider_certificate_fails() {
    let w = world(SimConfig::default());
    let mut t = transport(&w);
    t.tls = TlsSettings {
        webpki_roots: false,
        extra_roots: vec![Pki::generate(&["127.0.0.1"]).unwrap().ca_der()],
        ..TlsSettings::default()
    };
    let mut c = client(&w);
    c.start_device(w.clock.now()).unwrap();
    let finish = drive(&w.clock, &mut c, &t, None, &mut |_, _| {});
    assert_eq!(
        finish,
        Finish::Failed(OAuthError::Transport(TransportError::CertificateUntrusted))
    );
    assert!(w.sim.requests().is_empty());
}

// R-OAUTH: authorization code with PKCE through the loopback listener and a browser.
#[test]
fn pkce_sign_in_through_the_loopback_listener() {
    let w = world(SimConfig::default());
    w.sim.set_browser_account(Some("user@contoso.test"));
    let t = transport(&w);
    let mut c = client(&w);
    let lo = Loopback::bind().unwrap();
    let redirect = oauth::RedirectUri::loopback(LoopbackHost::Ipv4, lo.port(), "/").unwrap();
    c.start_auth_code(w.clock.now(), &[7; 32], &[9; 16], redirect, None)
        .unwrap();
    let mut url = vec![0u8; 2048];
    let n = c.authorize_url(&mut url).unwrap();
    let url = String::from_utf8(url[..n].to_vec()).unwrap();
    let tls = w.tls_settings();
    let browser = std::thread::spawn(move || browser::sign_in(&url, &tls));
    let finish = drive(&w.clock, &mut c, &t, Some(&lo), &mut |_, _| {});
    assert!(matches!(finish, Finish::AccessToken { .. }), "{finish:?}");
    assert_eq!(browser.join().unwrap().unwrap(), 200);
    assert_eq!(
        w.sim
            .check_access_token(&access_token(&c), "user@contoso.test"),
        mfp_oauth_host::sim::TokenCheck::Valid
    );
}
