//! The SMTP driver (core `smtp::Client` over real sockets and rustls)
//! against the simulated submission server (R-HOST, R-SMTP, R-SASL, R-DIAG).

mod common;

use mfp_oauth_core::diag::{Diagnostic, Id};
use mfp_oauth_core::smtp::{self, Envelope, MechanismPreference, Security};
use mfp_oauth_core::{AccessToken, Address, Duration};
use mfp_oauth_host::driver::smtp::{send, Delivery, Hooks, Progress, SendError, SmtpEndpoint};
use mfp_oauth_host::net::NetError;
use mfp_oauth_host::sim::pki::Pki;
use mfp_oauth_host::sim::smtp::{SmtpConfig, TlsMode};
use mfp_oauth_host::sim::{SimConfig, World};
use mfp_oauth_host::tls::TlsSettings;

const ADMIN: &str = "admin@contoso.test";

fn world() -> World {
    World::start(SimConfig::default(), SmtpConfig::default()).unwrap()
}

fn endpoint(w: &World, port: u16, security: Security) -> SmtpEndpoint {
    common::endpoint(port, security, w.tls_settings())
}

fn token(w: &World, account: &str) -> AccessToken {
    let (at, _, _) = w.sim.issue(account, "mfp-oauth-demo", "s");
    AccessToken::from_slice(at.as_bytes()).unwrap()
}

fn envelope(from: &str, to: &[&str], size: usize) -> Envelope {
    let mut e = Envelope::new(Address::parse(from).unwrap());
    for t in to {
        e.add_recipient(Address::parse(t).unwrap()).unwrap();
    }
    e.size = Some(size as u64);
    e
}

struct Run {
    result: Result<Delivery, SendError>,
    progress: Vec<Progress>,
    refreshes: usize,
}

fn run(
    w: &World,
    ep: &SmtpEndpoint,
    user: &str,
    tok: AccessToken,
    to: &[&str],
    body: &[u8],
    fresh: Option<AccessToken>,
) -> Run {
    let mut progress = Vec::new();
    let mut refreshes = 0;
    let mut fresh = fresh;
    let mut reader = body;
    let result = send(
        w.sim.clock(),
        ep,
        Address::parse(user).unwrap(),
        tok,
        envelope(user, to, body.len()),
        &mut reader,
        Hooks {
            refresh: &mut || {
                refreshes += 1;
                fresh.take()
            },
            progress: &mut |p| progress.push(p.clone()),
        },
    );
    Run {
        result,
        progress,
        refreshes,
    }
}

fn simple(w: &World, ep: &SmtpEndpoint, tok: AccessToken) -> Run {
    run(w, ep, ADMIN, tok, &["a@x.test"], b"x\r\n", None)
}

// R-SMTP: STARTTLS, XOAUTH2, a body with leading dots and bare LFs arrives intact.
#[test]
fn sends_over_starttls_with_xoauth2() {
    let w = world();
    let ep = endpoint(&w, w.smtp.port(), Security::StartTls);
    let body = b"Subject: scan\r\n\r\n.starts with a dot\nbare LF line\r\n..two dots\r\n";
    let r = run(
        &w,
        &ep,
        ADMIN,
        token(&w, ADMIN),
        &["a@x.test", "b@reject.invalid"],
        body,
        None,
    );
    let d = r.result.unwrap();
    assert!(d.reply.starts_with("250 2.0.0"), "{}", d.reply);
    assert_eq!((d.accepted, d.refused), (1, 1));
    assert_eq!(d.mechanism, Some(smtp::Mechanism::Xoauth2));
    assert!(d.tls.unwrap().version.starts_with("TLSv1_"));
    assert!(r.progress.iter().any(
        |p| matches!(p, Progress::RecipientRefused { address, .. } if address == "b@reject.invalid")
    ));
    let m = &w.sim.messages()[0];
    assert_eq!(m.recipients, vec!["a@x.test"]);
    assert_eq!(
        m.data,
        b"Subject: scan\r\n\r\n.starts with a dot\r\nbare LF line\r\n..two dots\r\n"
    );
}

// R-SASL: OAUTHBEARER when preferred; implicit TLS on its own port.
#[test]
fn oauthbearer_over_implicit_tls() {
    let w = world();
    let implicit = w
        .start_smtp(SmtpConfig {
            tls: TlsMode::Implicit,
            ..SmtpConfig::default()
        })
        .unwrap();
    let mut ep = endpoint(&w, implicit.port(), Security::ImplicitTls);
    ep.mechanism = MechanismPreference::OAuthBearer;
    let r = run(
        &w,
        &ep,
        ADMIN,
        token(&w, ADMIN),
        &["a@x.test"],
        b"hi\r\n",
        None,
    );
    assert_eq!(
        r.result.unwrap().mechanism,
        Some(smtp::Mechanism::OAuthBearer)
    );
    assert_eq!(w.sim.messages()[0].mechanism, "OAUTHBEARER");
}

// R-TOK-1 / R-SASL: an expired token gets the 334 challenge; one refresh and retry succeeds.
#[test]
fn expired_token_is_refreshed_once_and_retried() {
    let w = World::start(
        SimConfig {
            access_lifetime: Duration::from_secs(60),
            ..SimConfig::default()
        },
        SmtpConfig::default(),
    )
    .unwrap();
    let stale = token(&w, ADMIN);
    w.clock.advance(Duration::from_secs(120));
    let fresh = token(&w, ADMIN);
    let ep = endpoint(&w, w.smtp.port(), Security::StartTls);
    let r = run(&w, &ep, ADMIN, stale, &["a@x.test"], b"x\r\n", Some(fresh));
    let d = r.result.unwrap();
    assert!(d.retried_auth);
    assert_eq!(r.refreshes, 1);
    assert!(r
        .progress
        .iter()
        .any(|p| matches!(p, Progress::AuthRejected { retrying: true, .. })));
    assert_eq!(
        w.sim
            .auth_attempts()
            .iter()
            .map(|a| a.1)
            .collect::<Vec<_>>(),
        vec!["challenge", "ok"]
    );
}

// R-SASL: a refused token with no refresh available: clear error, nothing sent.
#[test]
fn unknown_token_without_refresh_fails_clearly() {
    let w = world();
    let ep = endpoint(&w, w.smtp.port(), Security::StartTls);
    let bogus = AccessToken::from_slice(b"not-issued").unwrap();
    let r = simple(&w, &ep, bogus);
    let e = r.result.unwrap_err();
    assert!(matches!(e, SendError::AuthRejected { .. }), "{e}");
    assert!(e.to_string().contains("535"), "{e}");
    assert!(w.sim.messages().is_empty());
}

// R-DIAG: 535 5.7.139 maps to the "Authenticated SMTP disabled" diagnostic; no refresh is tried.
#[test]
fn smtp_auth_disabled_gives_its_diagnostic() {
    let w = world();
    w.sim.set_smtp_auth_disabled(ADMIN, true);
    let ep = endpoint(&w, w.smtp.port(), Security::StartTls);
    let r = simple(&w, &ep, token(&w, ADMIN));
    let e = r.result.unwrap_err();
    assert_eq!(e.diag(), Id::SmtpAuthDisabled, "{e}");
    assert_eq!(r.refreshes, 0);
    assert!(e.to_string().contains("5.7.139"));
}

// A server that drops the connection mid-DATA: clear error, nothing reported as sent.
// The body (4 MiB) is far larger than the loopback socket buffers, so the drop is
// seen before the final dot can go out (after it: E330, delivery unknown; issue 15).
#[test]
fn connection_dropped_mid_data_is_not_a_delivery() {
    let w = world();
    let dropping = w
        .start_smtp(SmtpConfig {
            drop_during_data_after: Some(100),
            ..SmtpConfig::default()
        })
        .unwrap();
    let ep = endpoint(&w, dropping.port(), Security::StartTls);
    let body = "line of a large scan\r\n".repeat(190_000);
    let r = run(
        &w,
        &ep,
        ADMIN,
        token(&w, ADMIN),
        &["a@x.test"],
        body.as_bytes(),
        None,
    );
    let e = r.result.unwrap_err();
    assert_eq!(e.diag(), Id::ConnectionClosed, "{e}");
    assert!(w.sim.messages().is_empty());
}

// R-HOST: a certificate the client does not trust: refused before any token is sent.
#[test]
fn untrusted_certificate_refused_before_auth() {
    let w = world();
    let mut ep = endpoint(&w, w.smtp.port(), Security::StartTls);
    ep.tls = TlsSettings {
        webpki_roots: false,
        extra_roots: vec![Pki::generate(&["127.0.0.1"]).unwrap().ca_der()],
        ..TlsSettings::default()
    };
    let r = simple(&w, &ep, token(&w, ADMIN));
    let e = r.result.unwrap_err();
    assert!(matches!(e, SendError::Net(NetError::Certificate(_))), "{e}");
    assert_eq!(e.diag(), Id::CertificateUntrusted);
    assert!(w.sim.auth_attempts().is_empty());
}

// R-SMTP: a server without STARTTLS is refused, never downgraded.
#[test]
fn no_starttls_is_refused() {
    let w = world();
    let plain = w
        .start_smtp(SmtpConfig {
            tls: TlsMode::None,
            ..SmtpConfig::default()
        })
        .unwrap();
    let ep = endpoint(&w, plain.port(), Security::StartTls);
    let r = simple(&w, &ep, token(&w, ADMIN));
    assert_eq!(r.result.unwrap_err().diag(), Id::StartTlsNotOffered);
    assert!(w.sim.auth_attempts().is_empty());
}

// Progress reports for a large body end at its size.
#[test]
fn large_body_reports_progress() {
    let w = world();
    let ep = endpoint(&w, w.smtp.port(), Security::StartTls);
    let body = vec![b'A'; 300_000]
        .chunks(76)
        .flat_map(|c| c.iter().copied().chain(*b"\r\n"))
        .collect::<Vec<u8>>();
    let r = run(&w, &ep, ADMIN, token(&w, ADMIN), &["a@x.test"], &body, None);
    r.result.unwrap();
    let sent: Vec<u64> = r
        .progress
        .iter()
        .filter_map(|p| match p {
            Progress::Body { sent, .. } => Some(*sent),
            _ => None,
        })
        .collect();
    assert!(sent.len() > 1);
    assert!(sent.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(*sent.last().unwrap(), body.len() as u64);
    assert_eq!(w.sim.messages()[0].data, body);
}

// `doctor`'s probe: TLS, the mechanisms offered, the token accepted, QUIT;
// nothing is sent.
#[test]
fn probe_authenticates_and_sends_nothing() {
    let w = world();
    let ep = endpoint(&w, w.smtp.port(), Security::StartTls);
    let mut offered = None;
    let mut refresh = || None;
    let d = mfp_oauth_host::driver::smtp::probe(
        w.sim.clock(),
        &ep,
        Address::parse(ADMIN).unwrap(),
        token(&w, ADMIN),
        Hooks {
            refresh: &mut refresh,
            progress: &mut |p| {
                if let Progress::Authenticating(_, o) = p {
                    offered = Some(*o);
                }
            },
        },
    )
    .unwrap();
    assert_eq!(d.mechanism, Some(smtp::Mechanism::Xoauth2));
    let o = offered.unwrap();
    assert!(o.xoauth2 && o.oauthbearer && !o.plain);
    assert!(w.sim.messages().is_empty());
    assert_eq!(w.sim.auth_attempts(), vec![(ADMIN.to_owned(), "ok")]);
}
