//! Interoperability with real servers (issue 7): the product's own drivers
//! (`mfp_oauth_host::driver::{oauth, smtp}`, the code the CLI runs) against
//! the OpenID Certified oidc-provider, Dovecot submission with its oauth2
//! passdb (tokens checked by introspection), and Postfix with Dovecot SASL,
//! all on loopback with a private CA. Nothing here simulates a server.
//!
//! Run with `bash tests/interop/run.sh` (it installs and starts the servers,
//! then runs these tests with `--ignored`); `cargo test` alone lists them as
//! ignored. Run without the servers, each test fails: none skips silently.
//!
//! R-HOST, R-OAUTH, R-SMTP, R-SASL, R-TOK-2, R-TOK-4, R-DIAG.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "interop/app_only.rs"]
mod app_only;
#[path = "interop/browser.rs"]
mod browser;
#[path = "interop/flights.rs"]
mod flights;
#[path = "interop/servers.rs"]
mod servers;

use browser::{enter_device_code, Browser};
use mfp_oauth_core::diag::{Diagnostic, Id};
use mfp_oauth_core::oauth::{self, Event, OAuthError, ProviderError, RequestKind};
use mfp_oauth_core::provider::LoopbackHost;
use mfp_oauth_core::smtp::{Envelope, Mechanism, MechanismPreference, Security};
use mfp_oauth_core::wire::json::ErrorCode;
use mfp_oauth_core::{AccessToken, Address};
use mfp_oauth_host::clock::{Clock, SystemClock};
use mfp_oauth_host::driver::loopback::Loopback;
use mfp_oauth_host::driver::oauth::{drive, Finish, Step};
use mfp_oauth_host::driver::smtp::{send, Delivery, Hooks, Progress, SendError, SmtpEndpoint};
use mfp_oauth_host::mime::{compose, Attachment, Composition};
use mfp_oauth_host::net::NetOptions;
use mfp_oauth_host::store::DiskStore;
use servers::{find, scan_data, scratch, servers, Relay};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

const ADMIN: &str = "admin@contoso.test";
const PRINTER: &str = "mfp-printer";
const SHORT: &str = "mfp-printer-short";
/// The client whose first device-token poll the provider answers
/// `slow_down` (tests/interop/provider.mjs).
const SLOW: &str = "mfp-printer-slow";
/// What the printer asks for; oidc-provider issues refresh tokens to the
/// printer's grants by policy, `offline_access` is what Microsoft wants.
const SCOPE: &str = "smtp offline_access";

type Client = oauth::Client<Vec<u8>>;

fn clock() -> &'static SystemClock {
    static C: OnceLock<SystemClock> = OnceLock::new();
    C.get_or_init(SystemClock::new)
}

fn unique(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

// ------------------------------------------------------------------ OAuth

/// What a device-flow sign-in produced.
struct SignIn {
    client: Client,
    finish: Finish,
    steps: Vec<Step>,
    /// The user's browser's last page.
    page: String,
}

/// Run the flow started on `client` with the product's OAuth driver,
/// persisting every refresh token that arrives in `store` (as the printer
/// does, R-TOK-2); `on_step` sees every step too.
fn run_flow(
    client: &mut Client,
    store: &DiskStore,
    on_step: &mut dyn FnMut(&Client, Step),
) -> (Finish, Vec<Step>) {
    let s = servers();
    let mut steps = Vec::new();
    let finish = drive(clock(), client, &s.transport(), None, &mut |c, step| {
        if step == Step::Event(Event::RefreshTokenRotated) {
            store
                .save(c.tokens().unwrap().refresh_token.expose())
                .unwrap();
        }
        on_step(c, step);
        steps.push(step);
    });
    (finish, steps)
}

/// Device-token polls the printer makes, in the approval test, before the
/// user starts on the provider's pages: each is answered
/// `authorization_pending`.
const PENDING_POLLS: usize = 2;

/// The printer starts the device flow; when it shows the code, the user
/// (another thread, like a person with a phone) enters it on the
/// provider's page and approves or aborts, once the printer has polled
/// `pending_polls` times. Every refresh token that arrives is persisted
/// in `store`.
fn device_sign_in(
    client_id: &str,
    scope: &str,
    approve: bool,
    pending_polls: usize,
    store: &DiskStore,
) -> SignIn {
    let s = servers();
    let mut client = s.oauth_client(client_id, scope);
    client.start_device(clock().now()).unwrap();
    let mut user = None;
    let (go, wait_for_polls) = std::sync::mpsc::channel::<()>();
    if pending_polls == 0 {
        let _ = go.send(());
    }
    let mut wait_for_polls = Some(wait_for_polls);
    let mut polls = 0;
    let (finish, steps) = run_flow(&mut client, store, &mut |c, step| match step {
        Step::Event(Event::UserCode) => {
            let code = c.device_authorization().unwrap().user_code.to_string();
            let (tls, issuer) = (s.tls(), s.issuer.clone());
            let wait = wait_for_polls.take().expect("one user code");
            user = Some(std::thread::spawn(move || {
                // Bounded: the printer polls every second.
                let _ = wait.recv_timeout(Duration::from_secs(60));
                enter_device_code(tls, &issuer, &code, ADMIN, approve)
            }));
        }
        Step::Request(RequestKind::DeviceToken) => {
            polls += 1;
            if polls == pending_polls {
                let _ = go.send(());
            }
        }
        _ => {}
    });
    let page = user.expect("a user code").join().expect("user thread");
    SignIn {
        client,
        finish,
        steps,
        page,
    }
}

fn access_token(c: &Client) -> AccessToken {
    AccessToken::from_slice(c.tokens().unwrap().access_token.expose()).unwrap()
}

fn stored(store: &DiskStore) -> Vec<u8> {
    store.load().unwrap().expect("a persisted refresh token")
}

/// A refresh grant with the persisted refresh token, as the printer runs
/// it before a job: the rotated refresh token is persisted again.
fn refresh_from_store(client_id: &str, store: &DiskStore) -> (Client, Finish, Vec<Step>) {
    let mut client = servers().oauth_client(client_id, SCOPE);
    client.start_refresh(clock().now(), &stored(store)).unwrap();
    let (finish, steps) = run_flow(&mut client, store, &mut |_, _| {});
    (client, finish, steps)
}

/// The administrator's sign-in shared by the mail tests (one device flow).
fn admin_token() -> AccessToken {
    static T: OnceLock<Vec<u8>> = OnceLock::new();
    AccessToken::from_slice(T.get_or_init(|| signed_in(PRINTER, "shared-admin"))).unwrap()
}

/// The access token of one approved device-flow sign-in of `client_id`.
fn signed_in(client_id: &str, scratch_name: &str) -> Vec<u8> {
    let store = DiskStore::at(scratch(scratch_name).join("tokens.bin"));
    let sign_in = device_sign_in(client_id, SCOPE, true, 0, &store);
    assert!(
        matches!(sign_in.finish, Finish::AccessToken { .. }),
        "{:?}",
        sign_in.finish
    );
    sign_in
        .client
        .tokens()
        .unwrap()
        .access_token
        .expose()
        .to_vec()
}

// R-OAUTH, R-TOK-2: the device flow end to end against oidc-provider's own
// pages; the printer polls (pending) until the user approved, gets tokens,
// persists the refresh token; the access token works for SMTP at Dovecot.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn device_flow_approved_on_the_providers_pages() {
    let store = DiskStore::at(scratch("device-approved").join("tokens.bin"));
    let r = device_sign_in(PRINTER, SCOPE, true, PENDING_POLLS, &store);
    assert!(
        matches!(
            r.finish,
            Finish::AccessToken {
                expires_at: Some(_)
            }
        ),
        "{:?} {}",
        r.finish,
        r.client.last_error_description()
    );
    assert!(r.page.contains("Sign-in Success"), "{}", r.page);
    let kinds: Vec<_> = r
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Request(k) => Some(*k),
            _ => None,
        })
        .collect();
    assert_eq!(kinds[0], RequestKind::DeviceAuthorization);
    assert!(kinds[1..].iter().all(|k| *k == RequestKind::DeviceToken));
    // authorization_pending kept the printer polling (at the provider's
    // interval) until the user had approved: the pending polls, then at
    // least the one that got the tokens.
    assert!(kinds.len() > 1 + PENDING_POLLS, "{kinds:?}");
    assert_eq!(
        r.client.poll_interval(),
        None,
        "the grant is over once the tokens arrived"
    );
    let tokens = r.client.tokens().unwrap();
    assert_eq!(tokens.scope.as_str(), "smtp");
    assert_eq!(stored(&store), tokens.refresh_token.expose());
    let d = send_note(
        &dovecot(Security::StartTls, MechanismPreference::Xoauth2),
        access_token(&r.client),
        "device flow",
    );
    assert_eq!(d.mechanism, Some(Mechanism::Xoauth2));
}

// R-OAUTH: the user presses Abort on the provider's confirmation page: the
// printer's poll ends with access_denied, shown as "authorization declined".
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn device_flow_denied_on_the_providers_pages() {
    let store = DiskStore::at(scratch("device-denied").join("tokens.bin"));
    let r = device_sign_in(PRINTER, SCOPE, false, 1, &store);
    let Finish::Failed(err) = r.finish else {
        panic!("{:?}", r.finish);
    };
    assert!(
        matches!(
            err,
            OAuthError::Provider(ProviderError {
                code: ErrorCode::AccessDenied,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(err.diag(), Id::AuthorizationDeclined);
    assert!(store.load().unwrap().is_none(), "nothing persisted");
}

// R-OAUTH: slow_down (sent by the test middleware) makes the printer poll
// more slowly from then on, and the flow still ends with tokens.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn device_flow_slow_down_is_honoured() {
    let store = DiskStore::at(scratch("device-slow-down").join("tokens.bin"));
    let r = device_sign_in(SLOW, SCOPE, true, 0, &store);
    assert!(
        matches!(r.finish, Finish::AccessToken { .. }),
        "{:?}",
        r.finish
    );
    let slowed = r.steps.iter().find_map(|s| match s {
        Step::Event(Event::SlowDown { interval }) => Some(*interval),
        _ => None,
    });
    assert_eq!(slowed.map(|i| i.as_millis()), Some(6_000), "{:?}", r.steps);
}

// R-OAUTH: authorization code with PKCE (S256, required by the provider)
// and the loopback redirect; the browser signs in on the provider's pages.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn pkce_with_the_loopback_redirect() {
    let s = servers();
    let mut client = s.oauth_client(PRINTER, SCOPE);
    let lo = Loopback::bind().unwrap();
    let redirect = oauth::RedirectUri::loopback(LoopbackHost::Ipv4, lo.port(), "/").unwrap();
    let login = Address::parse(ADMIN).unwrap();
    let mut verifier = [0u8; 32];
    let mut state = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut verifier).unwrap();
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut state).unwrap();
    client
        .start_auth_code(clock().now(), &verifier, &state, redirect, Some(&login))
        .unwrap();
    let mut url = vec![0u8; 2048];
    let n = client.authorize_url(&mut url).unwrap();
    let url = String::from_utf8(url[..n].to_vec()).unwrap();
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    let tls = s.tls();
    let loopback_prefix = format!("http://127.0.0.1:{}/", lo.port());
    let browser = std::thread::spawn(move || {
        let mut b = Browser::new(tls);
        let first = b.get(&url);
        let back = b.sign_in_and_consent(first, ADMIN, Some(&loopback_prefix));
        let location = back.location.clone().expect("redirect to the printer");
        let answer = b.get(&location);
        (location, answer.status, b.visited)
    });
    let finish = drive(
        clock(),
        &mut client,
        &s.transport(),
        Some(&lo),
        &mut |_, _| {},
    );
    let (location, status, visited) = browser.join().unwrap();
    assert!(
        matches!(finish, Finish::AccessToken { .. }),
        "{finish:?} {} {visited:?}",
        client.last_error_description()
    );
    assert!(location.contains("code=") && location.contains("state="));
    assert_eq!(status, 200, "the loopback listener accepted the redirect");
    let tokens = client.tokens().unwrap();
    assert!(!tokens.refresh_token.is_empty(), "refresh token issued");
    // The provider does enforce PKCE: the same request without a code
    // challenge is sent back with an error, so the flow above used it.
    let mut b = Browser::new(s.tls());
    let bare = b.get(&format!(
        "{}/auth?client_id={PRINTER}&response_type=code&scope=smtp&redirect_uri=http%3A%2F%2F127.0.0.1%3A{}%2F",
        s.issuer,
        lo.port()
    ));
    let back = bare.location.unwrap_or_default();
    assert!(back.contains("error=invalid_request"), "{back}");
    send_note(
        &postfix(Security::StartTls, MechanismPreference::OAuthBearer),
        access_token(&client),
        "pkce",
    );
}

// ------------------------------------------------------------------ SMTP

fn endpoint(host: &str, port: u16, security: Security, m: MechanismPreference) -> SmtpEndpoint {
    SmtpEndpoint {
        host: host.into(),
        port,
        security,
        ehlo_name: "printer.interop.test".into(),
        mechanism: m,
        net: NetOptions::default(),
        tls: servers().tls(),
    }
}

/// Dovecot submission, reached at 127.0.0.2 for STARTTLS (where its real
/// TLS policy applies: 127.0.0.1 to itself counts as secure).
fn dovecot(security: Security, m: MechanismPreference) -> SmtpEndpoint {
    let s = servers();
    match security {
        Security::ImplicitTls => endpoint("127.0.0.1", s.dovecot_submissions, security, m),
        _ => endpoint("127.0.0.2", s.dovecot_submission, security, m),
    }
}

fn postfix(security: Security, m: MechanismPreference) -> SmtpEndpoint {
    let s = servers();
    match security {
        Security::ImplicitTls => endpoint("127.0.0.1", s.postfix_submissions, security, m),
        _ => endpoint("127.0.0.2", s.postfix_submission, security, m),
    }
}

/// One run of the SMTP driver and what it reported.
struct Run {
    result: Result<Delivery, SendError>,
    progress: Vec<Progress>,
    refreshes: usize,
}

fn run_send(
    ep: &SmtpEndpoint,
    user: &str,
    token: AccessToken,
    refresh: &mut dyn FnMut() -> Option<AccessToken>,
    message: &[u8],
) -> Run {
    let mut envelope = Envelope::new(Address::parse(user).unwrap());
    envelope
        .add_recipient(Address::parse("scan-inbox@example.test").unwrap())
        .unwrap();
    envelope.size = Some(message.len() as u64);
    let mut progress = Vec::new();
    let mut refreshes = 0;
    let mut body = message;
    let result = send(
        clock(),
        ep,
        Address::parse(user).unwrap(),
        token,
        envelope,
        &mut body,
        Hooks {
            refresh: &mut || {
                refreshes += 1;
                refresh()
            },
            progress: &mut |p| {
                if !matches!(p, Progress::Body { .. }) {
                    progress.push(p.clone());
                }
            },
        },
    );
    Run {
        result,
        progress,
        refreshes,
    }
}

/// A short, complete message (From, To, Date, Message-ID, MIME) whose
/// first header field is `X-Interop-Marker: <marker>`, as the printer's
/// MIME code writes it (servers add the fields a message lacks; a printer's
/// messages lack none).
fn note(marker: &str, subject: &str) -> Vec<u8> {
    let to = ["scan-inbox@example.test".to_owned()];
    let mut m = format!("X-Interop-Marker: {marker}\r\n").into_bytes();
    m.extend(
        compose(&Composition {
            from: ADMIN,
            to: &to,
            subject,
            text: "A short notification.\r\n..two dots and\r\n.\r\na line with one dot.",
            attachments: &[],
            message_id_local: marker,
            date: std::time::SystemTime::now(),
        })
        .unwrap(),
    );
    m
}

/// Send `message` (after a marker header field) and check that the sink
/// received exactly it.
fn send_mail(
    ep: &SmtpEndpoint,
    user: &str,
    token: AccessToken,
    message: &[u8],
) -> Result<Delivery, SendError> {
    let marker = unique("marker");
    let mut m = format!("X-Interop-Marker: {marker}\r\n").into_bytes();
    m.extend_from_slice(message);
    let r = run_send(ep, user, token, &mut || None, &m);
    let d = r.result?;
    assert!(d.reply.starts_with("250"), "{}", d.reply);
    assert_delivered_intact(&marker, &m);
    Ok(d)
}

/// Send a short [`note`] and check that the sink received exactly it.
fn send_note(ep: &SmtpEndpoint, token: AccessToken, subject: &str) -> Delivery {
    let marker = unique("note");
    let m = note(&marker, subject);
    let r = run_send(ep, ADMIN, token, &mut || None, &m);
    let d = r
        .result
        .unwrap_or_else(|e| panic!("{e}; progress {:?}", r.progress));
    assert!(d.reply.starts_with("250"), "{}", d.reply);
    assert_delivered_intact(&marker, &m);
    servers().record(&format!("{subject} ({}:{})", ep.host, ep.port), &d.reply);
    d
}

/// The sink's copy is the submitted message, octet for octet, after the
/// trace header fields the servers prepend (RFC 5321 §4.4). A message that
/// does not end with CRLF gets one: SMTP content always ends with a line
/// end before the terminating `.` (RFC 5321 §4.1.1.4).
fn assert_delivered_intact(marker: &str, submitted: &[u8]) {
    let s = servers();
    let mut owned = submitted.to_vec();
    if !owned.ends_with(b"\r\n") {
        owned.extend_from_slice(b"\r\n");
    }
    let submitted = owned.as_slice();
    let got = s
        .delivered(marker, Duration::from_secs(30))
        .unwrap_or_else(|| {
            panic!(
                "nothing delivered with {marker}\n{}\n{}",
                s.log_tail("postfix/postfix.log"),
                s.log_tail("dovecot/dovecot.log")
            )
        });
    let start = got.len().checked_sub(submitted.len()).unwrap_or_else(|| {
        panic!(
            "delivered {} octets, submitted {}",
            got.len(),
            submitted.len()
        )
    });
    if got[start..] != *submitted {
        let dump = s.logs.join(format!("{marker}.submitted"));
        std::fs::write(&dump, submitted).unwrap();
        std::fs::write(s.logs.join(format!("{marker}.delivered")), &got).unwrap();
        let at = got[start..]
            .iter()
            .zip(submitted)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        let show = |b: &[u8]| {
            String::from_utf8_lossy(&b[at.saturating_sub(80)..(at + 80).min(b.len())]).into_owned()
        };
        panic!(
            "the delivered message differs from the submitted one at octet {at}:\n\
             delivered: {:?}\nsubmitted: {:?}",
            show(&got[start..]),
            show(submitted)
        );
    }
    let prefix = String::from_utf8_lossy(&got[..start]);
    for line in prefix.split_terminator("\r\n") {
        assert!(
            line.starts_with("Received: ") || line.starts_with(' ') || line.starts_with('\t'),
            "only trace fields may be added, found {line:?}"
        );
    }
}

/// A scan job's message: a text part and a 5 MB "scan" (deterministic
/// pseudo-random octets, so base64 lines of every shape), composed by the
/// same MIME code as the CLI's scan-to-email.
fn scan_job() -> &'static [u8] {
    static M: OnceLock<Vec<u8>> = OnceLock::new();
    M.get_or_init(|| compose_scan_job(ADMIN))
}

fn compose_scan_job(from: &str) -> Vec<u8> {
    let data = scan_data(5 * 1024 * 1024);
    let to = ["scan-inbox@example.test".to_owned()];
    compose(&Composition {
        from,
        to: &to,
        subject: "Scan from MFP",
        text: "Scanned document attached.\r\n.\r\nA line with only a dot, above.",
        attachments: &[Attachment::from_bytes(
            "scan-0001.pdf",
            "application/pdf",
            data,
        )],
        message_id_local: &unique("scan"),
        date: std::time::SystemTime::now(),
    })
    .unwrap()
}

fn scan_to_email(ep: SmtpEndpoint, expect: Mechanism) {
    let message = scan_job();
    assert!(message.len() > 5 * 1024 * 1024);
    let d = send_mail(&ep, ADMIN, admin_token(), message).unwrap();
    servers().record(
        &format!(
            "5 MB scan, {expect:?} ({}:{} {:?})",
            ep.host, ep.port, ep.security
        ),
        &d.reply,
    );
    assert_eq!(d.mechanism, Some(expect));
    assert_eq!((d.accepted, d.refused), (1, 0));
    assert!(!d.retried_auth);
    assert!(d.tls.is_some());
}

macro_rules! scan_case {
    ($name:ident, $server:ident, $security:ident, $pref:ident, $mech:ident) => {
        // R-SMTP, R-SASL: a 5 MB scan job arrives byte-identical.
        #[test]
        #[ignore = "needs the real servers: bash tests/interop/run.sh"]
        fn $name() {
            scan_to_email(
                $server(Security::$security, MechanismPreference::$pref),
                Mechanism::$mech,
            );
        }
    };
}

scan_case!(
    scan_dovecot_starttls_xoauth2,
    dovecot,
    StartTls,
    Xoauth2,
    Xoauth2
);
scan_case!(
    scan_dovecot_starttls_oauthbearer,
    dovecot,
    StartTls,
    OAuthBearer,
    OAuthBearer
);
scan_case!(
    scan_dovecot_implicit_tls_xoauth2,
    dovecot,
    ImplicitTls,
    Xoauth2,
    Xoauth2
);
scan_case!(
    scan_dovecot_implicit_tls_oauthbearer,
    dovecot,
    ImplicitTls,
    OAuthBearer,
    OAuthBearer
);
scan_case!(
    scan_postfix_starttls_xoauth2,
    postfix,
    StartTls,
    Xoauth2,
    Xoauth2
);
scan_case!(
    scan_postfix_starttls_oauthbearer,
    postfix,
    StartTls,
    OAuthBearer,
    OAuthBearer
);
scan_case!(
    scan_postfix_implicit_tls_xoauth2,
    postfix,
    ImplicitTls,
    Xoauth2,
    Xoauth2
);
scan_case!(
    scan_postfix_implicit_tls_oauthbearer,
    postfix,
    ImplicitTls,
    OAuthBearer,
    OAuthBearer
);

fn rejected(progress: &[Progress]) -> Vec<(u16, Id, bool)> {
    progress
        .iter()
        .filter_map(|p| match p {
            Progress::AuthRejected {
                code,
                diag,
                retrying,
            } => Some((code.code, *diag, *retrying)),
            _ => None,
        })
        .collect()
}

// R-SASL, R-TOK-2: an access token that expired at the provider: the server
// answers the 334 error challenge, the printer acknowledges it, gets 535,
// refreshes once (rotating the refresh token, persisted), and the retry on
// the same session succeeds. The old refresh token is never used again
// (the test replays it at the end to show what that would cost).
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn expired_token_is_refreshed_once_and_the_retry_succeeds() {
    let s = servers();
    for (ep, name) in [
        (
            dovecot(Security::StartTls, MechanismPreference::Xoauth2),
            "dovecot",
        ),
        (
            postfix(Security::ImplicitTls, MechanismPreference::OAuthBearer),
            "postfix",
        ),
    ] {
        let store = DiskStore::at(scratch(&format!("expired-{name}")).join("tokens.bin"));
        let r = device_sign_in(SHORT, SCOPE, true, 0, &store);
        assert!(
            matches!(r.finish, Finish::AccessToken { .. }),
            "{:?}",
            r.finish
        );
        let first_rt = stored(&store);
        let expired = access_token(&r.client);
        std::thread::sleep(s.short_ttl + Duration::from_millis(500));

        let marker = unique("expired");
        let message = note(&marker, "after a refresh");
        let mut refresh = || {
            let (c, finish, steps) = refresh_from_store(SHORT, &store);
            assert!(matches!(finish, Finish::AccessToken { .. }), "{finish:?}");
            assert!(steps.contains(&Step::Event(Event::RefreshTokenRotated)));
            Some(access_token(&c))
        };
        let run = run_send(&ep, ADMIN, expired, &mut refresh, &message);
        let d = run
            .result
            .unwrap_or_else(|e| panic!("{name}: {e} {:?}", run.progress));
        assert!(d.retried_auth, "{name}");
        assert_eq!(run.refreshes, 1, "{name}");
        // TokenRejected (not the bare 535's CredentialsInvalid): the
        // printer read the server's 334 challenge ("401"/"invalid_token").
        assert_eq!(
            rejected(&run.progress),
            vec![(535, Id::TokenRejected, true)],
            "{name}"
        );
        assert_delivered_intact(&marker, &message);
        s.record(&format!("expired token, retried ({name})"), &d.reply);

        // Rotation persisted: the store holds a new refresh token, which
        // works; the first one is dead (oidc-provider would have revoked
        // the whole grant had the printer replayed it).
        let second_rt = stored(&store);
        assert_ne!(first_rt, second_rt, "{name}");
        let (_, finish, _) = refresh_from_store(SHORT, &store);
        assert!(
            matches!(finish, Finish::AccessToken { .. }),
            "{name}: {finish:?}"
        );
        assert_ne!(stored(&store), second_rt, "rotated again");

        // What replaying a rotated-away refresh token would have cost: the
        // provider refuses it (re-authentication, one request) and revokes
        // the whole grant, so even the newest refresh token is dead.
        let replay_store = DiskStore::at(scratch(&format!("replay-{name}")).join("tokens.bin"));
        replay_store.save(&first_rt).unwrap();
        let (_, finish, steps) = refresh_from_store(SHORT, &replay_store);
        assert!(
            matches!(finish, Finish::ReauthRequired(e) if e.diag() == Id::InvalidGrant),
            "{name}: {finish:?}"
        );
        assert_eq!(
            steps
                .iter()
                .filter(|s| matches!(s, Step::Request(_)))
                .count(),
            1
        );
        let (_, finish, _) = refresh_from_store(SHORT, &store);
        assert!(
            matches!(finish, Finish::ReauthRequired(_)),
            "{name}: the grant is revoked: {finish:?}"
        );
    }
}

// R-TOK-4: the grant is revoked at the provider (RFC 7009 revocation, as an
// administrator would in the provider's portal): the refresh grant gets
// invalid_grant, the printer asks for a new sign-in, and no retry loop
// follows; a job with the old access token fails after one refresh attempt.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn revoked_grant_needs_a_new_sign_in() {
    let s = servers();
    let store = DiskStore::at(scratch("revoked").join("tokens.bin"));
    let r = device_sign_in(PRINTER, SCOPE, true, 0, &store);
    assert!(
        matches!(r.finish, Finish::AccessToken { .. }),
        "{:?}",
        r.finish
    );
    let token = access_token(&r.client);

    let mut b = Browser::new(s.tls());
    let rt = String::from_utf8(stored(&store)).unwrap();
    let page = b.post(
        &format!("{}/token/revocation", s.issuer),
        &[
            ("client_id", PRINTER),
            ("token", &rt),
            ("token_type_hint", "refresh_token"),
        ],
    );
    assert_eq!(page.status, 200, "{}", page.body);

    let (c, finish, steps) = refresh_from_store(PRINTER, &store);
    let Finish::ReauthRequired(err) = finish else {
        panic!("{finish:?}");
    };
    assert_eq!(err.diag(), Id::InvalidGrant);
    assert_eq!(
        steps
            .iter()
            .filter(|s| **s == Step::Request(RequestKind::Refresh))
            .count(),
        1,
        "one request, no retry loop: {steps:?}"
    );
    drop(c);

    // The access token died with the grant: the server refuses it, the
    // printer tries one refresh, which cannot help, and stops.
    let marker = unique("revoked");
    let message = note(&marker, "never delivered");
    let mut refresh = || {
        let (_, finish, _) = refresh_from_store(PRINTER, &store);
        assert!(matches!(finish, Finish::ReauthRequired(_)), "{finish:?}");
        None
    };
    let ep = dovecot(Security::StartTls, MechanismPreference::Xoauth2);
    let run = run_send(&ep, ADMIN, token, &mut refresh, &message);
    let Err(e) = run.result else {
        panic!("sent with a revoked token");
    };
    assert_eq!(e.diag(), Id::TokenRejected, "{e}");
    s.record("revoked grant's access token", &e.to_string());
    assert_eq!(run.refreshes, 1);
    assert_eq!(
        rejected(&run.progress),
        vec![(535, Id::TokenRejected, false)]
    );
    assert!(s.delivered(&marker, Duration::from_millis(300)).is_none());
}

/// A job that must be refused at AUTH: one refresh is tried (it yields the
/// same kind of token), then the job stops with `diag`; nothing arrives.
fn refused_at_auth(
    scenario: &str,
    ep: &SmtpEndpoint,
    user: &str,
    token: AccessToken,
    fresh: AccessToken,
) -> Id {
    let marker = unique("refused");
    let message = note(&marker, "never delivered");
    let mut fresh = Some(fresh);
    let run = run_send(ep, user, token, &mut || fresh.take(), &message);
    let Err(e) = run.result else {
        panic!("sent");
    };
    assert!(matches!(e, SendError::AuthRejected { .. }), "{e}");
    servers().record(
        &format!("{scenario} ({}:{})", ep.host, ep.port),
        &e.to_string(),
    );
    assert_eq!(run.refreshes, 1);
    let r = rejected(&run.progress);
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(servers()
        .delivered(&marker, Duration::from_millis(300))
        .is_none());
    e.diag()
}

// R-SASL, R-DIAG: a token of another account than the sender (XOAUTH2
// user= / OAUTHBEARER a= differs from the token's subject) is refused.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn token_of_another_user_is_refused() {
    for ep in [
        dovecot(Security::StartTls, MechanismPreference::Xoauth2),
        postfix(Security::StartTls, MechanismPreference::OAuthBearer),
    ] {
        let diag = refused_at_auth(
            "another user's token",
            &ep,
            "other@contoso.test",
            admin_token(),
            admin_token(),
        );
        assert_eq!(diag, Id::TokenRejected);
    }
}

// R-SASL, R-DIAG: a token without the `smtp` scope is refused.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn token_without_the_smtp_scope_is_refused() {
    let store = DiskStore::at(scratch("wrong-scope").join("tokens.bin"));
    let r = device_sign_in(PRINTER, "other", true, 0, &store);
    assert!(
        matches!(r.finish, Finish::AccessToken { .. }),
        "{:?}",
        r.finish
    );
    assert_eq!(r.client.tokens().unwrap().scope.as_str(), "other");
    let token = access_token(&r.client);
    let ep = dovecot(Security::ImplicitTls, MechanismPreference::OAuthBearer);
    let diag = refused_at_auth(
        "token without the smtp scope",
        &ep,
        ADMIN,
        token.clone(),
        token,
    );
    assert_eq!(diag, Id::TokenRejected);
}

// R-SMTP: the servers' real TLS policy, seen through a recording relay.
// Dovecot at 127.0.0.1 (a loopback peer to itself) offers XOAUTH2 before
// TLS, at 127.0.0.2 it does not, Postfix never does (smtpd_tls_auth_only):
// in every case the printer starts TLS first and sends no AUTH in clear.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn auth_is_never_attempted_before_starttls() {
    let s = servers();
    for (upstream, port, offers_auth_in_clear) in [
        ("127.0.0.1", s.dovecot_submission, true),
        ("127.0.0.2", s.dovecot_submission, false),
        ("127.0.0.2", s.postfix_submission, false),
    ] {
        let relay = Relay::start((upstream, port), false);
        let ep = endpoint(
            "127.0.0.1",
            relay.port,
            Security::StartTls,
            MechanismPreference::Xoauth2,
        );
        let marker = unique("policy");
        let message = note(&marker, "TLS first");
        let run = run_send(&ep, ADMIN, admin_token(), &mut || None, &message);
        run.result.unwrap();
        let seen = relay.finish();
        let server_clear =
            &seen.server[..find(&seen.server, b"220 2.0.0").expect("220 to STARTTLS")];
        // At 127.0.0.2 Dovecot answers `250-AUTH ` with no mechanism.
        assert_eq!(
            find(server_clear, b"XOAUTH2").is_some(),
            offers_auth_in_clear,
            "{upstream}:{port}: {}",
            String::from_utf8_lossy(server_clear)
        );
        let clear = String::from_utf8_lossy(seen.client_cleartext()).into_owned();
        assert!(
            clear.starts_with("EHLO printer.interop.test\r\n"),
            "{clear}"
        );
        assert!(clear.ends_with("STARTTLS\r\n"), "{clear}");
        assert!(!clear.contains("AUTH"), "{clear}");
        assert_delivered_intact(&marker, &message);
    }
}

// R-SMTP, R-LOG: a path that strips STARTTLS from EHLO (a downgrade
// attack): the job fails with the downgrade diagnostic and not one octet
// of the token leaves the machine.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn stripped_starttls_fails_without_leaking_the_token() {
    let s = servers();
    let token = admin_token();
    for port in [s.dovecot_submission, s.postfix_submission] {
        let relay = Relay::start(("127.0.0.2", port), true);
        let ep = endpoint(
            "127.0.0.1",
            relay.port,
            Security::StartTls,
            MechanismPreference::Xoauth2,
        );
        let run = run_send(&ep, ADMIN, token.clone(), &mut || None, b"\r\nx\r\n");
        let e = run.result.expect_err("must not send without TLS");
        assert_eq!(e.diag(), Id::StartTlsNotOffered, "{e}");
        s.record("STARTTLS stripped", &e.to_string());
        assert_eq!(run.refreshes, 0);
        let seen = relay.finish();
        assert!(find(&seen.server_original, b"STARTTLS").is_some());
        assert!(find(&seen.server, b"STARTTLS").is_none());
        let sent = String::from_utf8_lossy(&seen.client).into_owned();
        assert!(
            !sent.contains("AUTH") && !sent.contains("STARTTLS"),
            "{sent}"
        );
        // No fragment of the token, raw or in base64 of any alignment.
        let raw = token.expose();
        for window in raw.windows(12) {
            assert!(find(&seen.client, window).is_none(), "token fragment sent");
        }
        assert!(
            !sent.contains("dXNlcj"),
            "an XOAUTH2 initial response was sent"
        );
    }
}

// R-SMTP: Dovecot with its normal failure delay (2 s, and the anvil
// penalty): a refused token takes time to fail; the printer waits for the
// real answer instead of reporting a timeout.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn slow_failure_is_not_a_timeout() {
    let s = servers();
    let ep = endpoint(
        "127.0.0.2",
        s.dovecot_slow_submission,
        Security::StartTls,
        MechanismPreference::Xoauth2,
    );
    let bogus = AccessToken::from_slice(b"not-a-token-the-provider-issued").unwrap();
    let started = std::time::Instant::now();
    let run = run_send(&ep, ADMIN, bogus, &mut || None, b"\r\nx\r\n");
    let e = run.result.expect_err("refused");
    assert_eq!(e.diag(), Id::TokenRejected, "{e}");
    assert_eq!(
        rejected(&run.progress),
        vec![(535, Id::TokenRejected, false)]
    );
    // Not a timed assertion: a record of how slow the failure was.
    s.record(
        &format!("slow failure after {:?}", started.elapsed()),
        &e.to_string(),
    );
}

// R-HOST: the servers' certificates chain to the run's private CA only;
// with the default trust (the compiled-in public roots) the printer
// refuses them, over implicit TLS and after STARTTLS, before any AUTH.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn untrusted_server_certificate_is_refused() {
    let s = servers();
    for mut ep in [
        dovecot(Security::ImplicitTls, MechanismPreference::Xoauth2),
        postfix(Security::StartTls, MechanismPreference::Xoauth2),
    ] {
        ep.tls = mfp_oauth_host::tls::TlsSettings::default();
        let run = run_send(&ep, ADMIN, admin_token(), &mut || None, b"\r\nx\r\n");
        let e = run.result.expect_err("an untrusted certificate");
        assert_eq!(e.diag(), Id::CertificateUntrusted, "{e}");
        assert!(
            !run.progress
                .iter()
                .any(|p| matches!(p, Progress::Authenticating(..))),
            "{:?}",
            run.progress
        );
        s.record(
            &format!("untrusted certificate ({}:{})", ep.host, ep.port),
            &e.to_string(),
        );
    }
}

/// The printer's state (the CLI's `--store` directory, in the scratch
/// directory `name`) configured for this run: oidc-provider as a custom
/// provider, Dovecot at 127.0.0.2 with STARTTLS, the administrator's
/// address.
fn printer_device(name: &str) -> mfp_oauth_host::app::Device {
    use mfp_oauth_core::config::{CustomProvider, ProviderKind, SmtpServer};
    let s = servers();
    let clock: std::sync::Arc<dyn Clock> = std::sync::Arc::new(SystemClock::new());
    let mut dev = mfp_oauth_host::app::Device::open(&scratch(name), clock, s.tls()).unwrap();
    let mut st = dev.mailer.settings().clone();
    st.oauth_enabled = true;
    st.provider = ProviderKind::Custom;
    st.client_id = PRINTER.try_into().unwrap();
    st.custom = CustomProvider {
        token_url: format!("{}/token", s.issuer).as_str().try_into().unwrap(),
        device_url: format!("{}/device/auth", s.issuer)
            .as_str()
            .try_into()
            .unwrap(),
        authorize_url: format!("{}/auth", s.issuer).as_str().try_into().unwrap(),
        scope: SCOPE.try_into().unwrap(),
    };
    st.smtp = SmtpServer::new("127.0.0.2", s.dovecot_submission, Security::StartTls);
    st.admin_address = Some(Address::parse(ADMIN).unwrap());
    dev.apply_settings(st).unwrap();
    dev
}

/// The administrator signs in (device flow, the test playing the user on
/// the provider's pages) and the printer acquires the tokens.
fn printer_sign_in(dev: &mut mfp_oauth_host::app::Device) -> mfp_oauth_host::app::signin::SignedIn {
    use mfp_oauth_core::mailer::AuthMethod;
    use mfp_oauth_host::app::signin::{self, Prompt};
    let s = servers();
    let mut user = None;
    let signed_in = signin::sign_in(
        dev,
        AuthMethod::DeviceCode,
        &Address::parse(ADMIN).unwrap(),
        &mut |p| {
            if let Prompt::DeviceCode(d) = p {
                let (tls, issuer, code) = (s.tls(), s.issuer.clone(), d.user_code.to_string());
                user = Some(std::thread::spawn(move || {
                    enter_device_code(tls, &issuer, &code, ADMIN, true)
                }));
            }
        },
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("sign-in: {e:?}"));
    user.expect("a device code").join().unwrap();
    dev.acquire(None, &signed_in).unwrap();
    signed_in
}

// R-TOK-2..4, R-NV, R-POL: the printer's whole path, as the CLI's `login`
// and `send` run it: the core's Mailer with its sealed token store on disk,
// settings with oidc-provider as a custom provider and Dovecot as the SMTP
// server. The administrator signs in by device code on the provider's
// pages; a scan-to-email job goes out; a job whose From is not the token's
// account is refused before the network; after the grant is revoked at the
// provider, a job fails after one refresh attempt, the store says
// re-authentication is needed, and the administrator's notice (the panel's
// Information screen warning) is raised once.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn printer_jobs_through_the_mailer_and_its_token_store() {
    use mfp_oauth_core::function::Function;
    use mfp_oauth_core::mailer::AuthMethod;
    use mfp_oauth_core::token::{StoreEvent, TokenOwner, TokenStatus};
    use mfp_oauth_host::app::job::{self, JobEvent, JobSpec};
    use mfp_oauth_host::app::signin::FlowError;
    use mfp_oauth_host::app::Device;

    let s = servers();
    let mut dev = printer_device("printer");
    assert_eq!(dev.mailer.store().admin_status(), TokenStatus::Required);
    let signed_in = printer_sign_in(&mut dev);
    assert_eq!(dev.mailer.store().admin_status(), TokenStatus::Acquired);
    drop(signed_in);

    let to = [Address::parse("scan-inbox@example.test").unwrap()];
    let mut sign_ins = 0;
    let mut no_sign_in = |_: &Device, _: bool, _: AuthMethod, _: &Address| {
        sign_ins += 1;
        Err(FlowError::Failed(Id::AdminTokenRequired))
    };
    let marker = unique("printer");
    let body = note(&marker, "printer job");
    let spec = JobSpec {
        function: Function::ScanToEmail,
        user: None,
        from: None,
        to: &to,
        size: Some(body.len() as u64),
    };
    let r = job::run(
        &mut dev,
        &spec,
        &mut body.as_slice(),
        &mut no_sign_in,
        &mut |_| {},
    )
    .unwrap();
    assert!(r.sent(), "{r:?}");
    assert_delivered_intact(&marker, &body);
    assert!(
        r.server_reply
            .as_deref()
            .is_some_and(|s| s.starts_with("250")),
        "{:?}",
        r.server_reply
    );
    s.record(
        "printer job (Mailer)",
        r.server_reply.as_deref().unwrap_or(""),
    );

    // The administrator's token signs administrator-address mail only.
    let other = Address::parse("other@contoso.test").unwrap();
    let marker = unique("printer-from");
    let body = note(&marker, "wrong sender");
    let mut events = Vec::new();
    let spec = JobSpec {
        from: Some(&other),
        size: Some(body.len() as u64),
        ..spec
    };
    let refused = job::run(
        &mut dev,
        &spec,
        &mut body.as_slice(),
        &mut no_sign_in,
        &mut |e| events.push(e.clone()),
    );
    let r = refused.unwrap();
    assert!(!r.sent(), "{r:?}");
    assert_eq!(r.diag(), Some(Id::FromNotTokenAccount));
    let why = format!("{:?}", r.diag());
    s.record("printer job from another address", &why);
    assert!(
        !events.iter().any(|e| matches!(e, JobEvent::Connected)),
        "refused before the network: {events:?}"
    );

    // The grant is revoked at the provider.
    let rt = dev
        .mailer
        .store()
        .refresh_token(&TokenOwner::Admin)
        .unwrap()
        .expose()
        .to_vec();
    let page = Browser::new(s.tls()).post(
        &format!("{}/token/revocation", s.issuer),
        &[
            ("client_id", PRINTER),
            ("token", std::str::from_utf8(&rt).unwrap()),
        ],
    );
    assert_eq!(page.status, 200);
    let marker = unique("printer-revoked");
    let body = note(&marker, "after revocation");
    let spec = JobSpec {
        from: None,
        size: Some(body.len() as u64),
        ..spec
    };
    let mut events = Vec::new();
    let r = job::run(
        &mut dev,
        &spec,
        &mut body.as_slice(),
        &mut no_sign_in,
        &mut |e| events.push(e.clone()),
    )
    .unwrap();
    assert!(!r.sent(), "{r:?} {events:?}");
    s.record(
        "printer job after revocation",
        &format!("{:?} {:?}", r.diag(), r.server_reply),
    );
    assert_eq!(r.diag(), Some(Id::AdminReauthNeeded));
    // The report shows the refusal that started it, not EHLO's or QUIT's 2xx.
    assert!(
        r.server_reply
            .as_deref()
            .is_some_and(|s| s.starts_with("535")),
        "{:?}",
        r.server_reply
    );
    assert_eq!(dev.mailer.store().admin_status(), TokenStatus::ReauthNeeded);
    // One refresh, refused; then the administrator's notice, once.
    let refreshes = events
        .iter()
        .filter(|e| matches!(e, JobEvent::Refreshing(TokenOwner::Admin)))
        .count();
    assert_eq!(refreshes, 1, "{events:?}");
    let notices: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, JobEvent::Notice(_)))
        .collect();
    assert_eq!(
        notices,
        vec![&JobEvent::Notice(StoreEvent::AdminReauthNeeded)],
        "{events:?}"
    );
    assert!(s.delivered(&marker, Duration::from_millis(300)).is_none());
}

// R-APP (issue 18 item 3): a token handed in by a print-management server.
// The server signs in at oidc-provider on its own (here: the suite's shared
// device-flow sign-in of the administrator), and hands the access token to
// a printer nobody signed in on; the printer's Mailer sends a scan with it
// through Dovecot, whose introspection at oidc-provider accepts it. The
// sender policy applies as to a signed-in token, and nothing of the token
// reaches the printer's state on disk.
#[test]
#[ignore = "needs the real servers: bash tests/interop/run.sh"]
fn a_token_handed_in_by_a_print_management_server_sends() {
    use mfp_oauth_core::function::Function;
    use mfp_oauth_core::mailer::AuthMethod;
    use mfp_oauth_core::token::{TokenOwner, TokenStatus};
    use mfp_oauth_host::app::job::{self, JobEvent, JobSpec};
    use mfp_oauth_host::app::signin::FlowError;
    use mfp_oauth_host::app::Device;

    let s = servers();
    let handed = admin_token();
    let mut dev = printer_device("handed");
    assert_eq!(dev.mailer.store().admin_status(), TokenStatus::Required);
    let now = dev.clock.now();
    dev.mailer
        .install_handed_token(
            now,
            &TokenOwner::Admin,
            &Address::parse(ADMIN).unwrap(),
            handed.expose(),
            mfp_oauth_core::Duration::from_secs(600),
        )
        .unwrap();
    let to = [Address::parse("scan-inbox@example.test").unwrap()];
    let mut sign_ins = 0;
    let mut no_sign_in = |_: &Device, _: bool, _: AuthMethod, _: &Address| {
        sign_ins += 1;
        Err(FlowError::Failed(Id::AdminTokenRequired))
    };
    let marker = unique("handed");
    let body = note(&marker, "handed-in token");
    let spec = JobSpec {
        function: Function::ScanToEmail,
        user: None,
        from: None,
        to: &to,
        size: Some(body.len() as u64),
    };
    let r = job::run(
        &mut dev,
        &spec,
        &mut body.as_slice(),
        &mut no_sign_in,
        &mut |_| {},
    )
    .unwrap();
    assert!(r.sent(), "{r:?}");
    assert_delivered_intact(&marker, &body);
    s.record(
        "printer job with a handed-in token",
        r.server_reply.as_deref().unwrap_or(""),
    );
    // The same sender policy: another From is refused before the network.
    let other = Address::parse("other@contoso.test").unwrap();
    let mut events = Vec::new();
    let r = job::run(
        &mut dev,
        &JobSpec {
            from: Some(&other),
            ..spec
        },
        &mut body.as_slice(),
        &mut no_sign_in,
        &mut |e| events.push(e.clone()),
    )
    .unwrap();
    assert_eq!(r.diag(), Some(Id::FromNotTokenAccount));
    assert!(!events.iter().any(|e| matches!(e, JobEvent::Connected)));
    assert_eq!(sign_ins, 0, "nobody was asked to sign in");
    // Nothing of the token on disk: the printer's state holds no copy.
    // (The printer's directory, as printer_device made it: `scratch` would
    // empty it.)
    let state = servers().logs.join("scratch").join("handed");
    let mut files = 0;
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            let t = handed.expose();
            assert!(
                !bytes.windows(t.len()).any(|w| w == t),
                "{} holds the handed-in token",
                path.display()
            );
        }
    }
    assert!(files > 0, "the printer's state is in {}", state.display());
}
