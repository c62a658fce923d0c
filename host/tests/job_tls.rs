//! The job runner (the CLI's `send`, through the core's Mailer) against
//! loopback rustls servers (issue 15, defects 2 to 5; R-CFG, R-RULE-2,
//! R-HOST, R-SMTP, R-DIAG):
//! - the settings' TLS minimum and maximum are what the host offers, on
//!   STARTTLS, on implicit TLS and at the token endpoint; a range without
//!   TLS 1.2 or 1.3 fails with E214, never widened;
//! - a certificate refused after STARTTLS gets its own diagnostic (E608,
//!   E609), as on implicit TLS, not E325 "connection closed";
//! - the reported server reply is the one that decided the job, or none:
//!   never the `220` to STARTTLS;
//! - a connection lost after the final dot and before its reply is E330
//!   "delivery unknown", not "not sent, try again".

mod common;

use common::{accept_tls, implicit_tls_server, starttls_server, Cert, Pki, Server};
use mfp_oauth_core::config::{SmtpServer, TlsVersion};
use mfp_oauth_core::diag::Id;
use mfp_oauth_core::function::Function;
use mfp_oauth_core::mailer::AuthMethod;
use mfp_oauth_core::smtp::Security;
use mfp_oauth_core::token::TokenOwner;
use mfp_oauth_core::Address;
use mfp_oauth_host::app::job::{self, JobEvent, JobReport, JobSpec};
use mfp_oauth_host::app::signin::{self, FlowError, Prompt};
use mfp_oauth_host::app::Device;
use mfp_oauth_host::clock::Clock;
use mfp_oauth_host::sim::smtp::SmtpConfig;
use mfp_oauth_host::sim::{SimConfig, World};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::sync::Arc;

const ADMIN: &str = "admin@contoso.test";
const TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
const TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// A printer whose administrator signed in at the simulated provider,
/// sending to the simulated SMTP server; it also trusts `pki`'s CA, so the
/// loopback servers of `common` can stand in for the SMTP server or the
/// token endpoint.
fn setup(name: &str, pki: &Pki) -> (World, PathBuf, Device) {
    let w = World::start(SimConfig::default(), SmtpConfig::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("mfp-job-tls-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let clock: Arc<dyn Clock> = Arc::new(w.clock.clone());
    let mut trust = w.tls_settings();
    trust.extra_roots.push(pki.ca.clone());
    let mut dev = Device::open(&dir, clock, trust).unwrap();
    let mut s = dev.mailer.settings().clone();
    w.configure(&mut s, ADMIN);
    dev.apply_settings(s).unwrap();
    let sim = w.sim.clone();
    let t = signin::sign_in(
        &dev,
        AuthMethod::DeviceCode,
        &Address::parse(ADMIN).unwrap(),
        &mut |p| {
            if let Prompt::DeviceCode(d) = p {
                sim.approve_device(&d.user_code, ADMIN);
            }
        },
        &mut |_| {},
    )
    .unwrap();
    dev.acquire(None, &t).unwrap();
    (w, dir, dev)
}

/// Change the settings: the TLS range and, if given, the SMTP server.
fn set(dev: &mut Device, range: (TlsVersion, TlsVersion), smtp: Option<(u16, Security)>) {
    let mut s = dev.mailer.settings().clone();
    (s.tls_min, s.tls_max) = range;
    if let Some((port, security)) = smtp {
        s.smtp = SmtpServer::new("127.0.0.1", port, security);
    }
    dev.apply_settings(s).unwrap();
}

/// Send one small message; the report and the events seen.
fn send(dev: &mut Device) -> (JobReport, Vec<JobEvent>) {
    let to = [Address::parse("carol@fabrikam.test").unwrap()];
    let spec = JobSpec {
        function: Function::ScanToEmail,
        user: None,
        from: None,
        to: &to,
        size: None,
    };
    let mut body: &[u8] = b"Subject: x\r\n\r\nbody\r\n";
    let mut events = Vec::new();
    let mut no_sign_in = |_: &Device, _: bool, _: AuthMethod, _: &Address| {
        Err(FlowError::Failed(Id::AdminTokenRequired))
    };
    let r = job::run(dev, &spec, &mut body, &mut no_sign_in, &mut |e| {
        events.push(e.clone());
    })
    .unwrap();
    (r, events)
}

/// The TLS version of the job's session, as `JobEvent::Tls` reported it.
fn tls_version(events: &[JobEvent]) -> Option<String> {
    events.iter().find_map(|e| match e {
        JobEvent::Tls(i) => Some(i.version.clone()),
        _ => None,
    })
}

/// Defect 2 (R-CFG): with `tls-max 1.2` the SMTP session negotiates TLS
/// 1.2 with a server that speaks 1.3 too (it negotiated 1.3 before); the
/// default range negotiates 1.3 with the same server.
#[test]
fn tls_max_1_2_negotiates_tls_1_2() {
    let pki = Pki::new();
    let (_w, dir, mut dev) = setup("max12", &pki);
    let (r, events) = send(&mut dev);
    assert!(r.sent(), "{r:?}");
    assert_eq!(tls_version(&events).as_deref(), Some("TLSv1_3"));
    set(&mut dev, (TlsVersion::Tls12, TlsVersion::Tls12), None);
    let (r, events) = send(&mut dev);
    assert!(r.sent(), "{r:?}");
    assert_eq!(tls_version(&events).as_deref(), Some("TLSv1_2"));
    let _ = std::fs::remove_dir_all(dir);
}

/// Defect 2 (R-CFG, R-RULE-2): with `tls-min 1.3` a server capped at TLS
/// 1.2 is refused at the handshake with E610 (no TLS version in common),
/// on STARTTLS and on implicit TLS, before AUTH; it negotiated TLS 1.2
/// before. The control with the default range sends.
#[test]
fn tls_min_1_3_refuses_a_server_capped_at_1_2() {
    let pki = Pki::new();
    let (_w, dir, mut dev) = setup("min13", &pki);
    let server = starttls_server(pki.server_speaking(Cert::Good, TLS12), true);
    set(
        &mut dev,
        (TlsVersion::Tls12, TlsVersion::Tls13),
        Some((server.port, Security::StartTls)),
    );
    let (r, events) = send(&mut dev);
    assert!(r.sent(), "control: {r:?}");
    assert_eq!(tls_version(&events).as_deref(), Some("TLSv1_2"));
    assert!(server.join().handshake_done);

    for security in [Security::StartTls, Security::ImplicitTls] {
        let config = pki.server_speaking(Cert::Good, TLS12);
        let server = match security {
            Security::StartTls => starttls_server(config, true),
            Security::ImplicitTls => implicit_tls_server(config),
        };
        set(
            &mut dev,
            (TlsVersion::Tls13, TlsVersion::Tls13),
            Some((server.port, security)),
        );
        let (r, _) = send(&mut dev);
        assert_eq!(
            r.diag(),
            Some(Id::TlsVersionMismatch),
            "{security:?}: {r:?}"
        );
        assert_eq!(r.server_reply, None, "{security:?}");
        let got = server.join();
        assert!(!got.handshake_done, "{security:?}");
        assert!(!got.contains(b"AUTH"), "{security:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Defect 2: a range that admits neither TLS 1.2 nor TLS 1.3 (the only
/// versions the host's TLS speaks) fails the job with E214 before any
/// connection, and the refresh grant too: it is never widened.
#[test]
fn a_range_without_tls_1_2_or_1_3_is_refused_not_widened() {
    let pki = Pki::new();
    let (w, dir, mut dev) = setup("range10", &pki);
    set(&mut dev, (TlsVersion::Tls10, TlsVersion::Tls11), None);
    let before = w.sim.messages().len();
    let (r, events) = send(&mut dev);
    assert_eq!(r.diag(), Some(Id::TlsVersionsUnsupported), "{r:?}");
    assert!(!events.iter().any(|e| matches!(e, JobEvent::Connected)));
    assert_eq!(w.sim.messages().len(), before);
    let mut c = signin::client(&dev).unwrap();
    c.start_refresh(dev.clock.now(), b"0.refresh").unwrap();
    assert!(matches!(
        signin::run(&dev, c, &mut false),
        Err(FlowError::Failed(Id::TlsVersionsUnsupported))
    ));
    let _ = std::fs::remove_dir_all(dir);
}

/// Defect 2 at the token endpoint (R-CFG): with `tls-max 1.2`, a token
/// endpoint that speaks only TLS 1.3 is refused at the handshake (E610)
/// and the refresh token never reaches it; with the default range the same
/// endpoint answers.
#[test]
fn the_token_endpoint_honours_the_range() {
    let pki = Pki::new();
    let (_w, dir, mut dev) = setup("token", &pki);
    let body = r#"{"access_token":"ya29.new","token_type":"Bearer","expires_in":3599}"#;
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes();
    // Kept: a new token endpoint in the settings deletes the stored tokens.
    let rt = dev
        .mailer
        .store()
        .refresh_token(&TokenOwner::Admin)
        .unwrap()
        .expose()
        .to_vec();
    for (range, want) in [
        ((TlsVersion::Tls12, TlsVersion::Tls13), None),
        (
            (TlsVersion::Tls12, TlsVersion::Tls12),
            Some(Id::TlsVersionMismatch),
        ),
    ] {
        let server = common::https_server(
            pki.server_speaking(Cert::Good, TLS13),
            response.clone(),
            false,
        );
        let mut s = dev.mailer.settings().clone();
        (s.tls_min, s.tls_max) = range;
        s.custom.token_url = format!("https://127.0.0.1:{}/token", server.port)
            .as_str()
            .try_into()
            .unwrap();
        dev.apply_settings(s).unwrap();
        let mut c = signin::client(&dev).unwrap();
        c.start_refresh(dev.clock.now(), &rt).unwrap();
        let got = signin::run(&dev, c, &mut false).err().map(FlowError::diag);
        assert_eq!(got, want, "{range:?}");
        let r = server.join();
        assert_eq!(r.handshake_done, want.is_none(), "{range:?}");
        assert_eq!(r.contains(&rt), want.is_none(), "{range:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Defects 3 and 4: a certificate refused after STARTTLS (a CA the printer
/// does not trust, another name) fails the job with the certificate's own
/// diagnostic, as on implicit TLS (it was E325 "connection closed"), before
/// AUTH; no server reply is reported (it was the `220` to STARTTLS).
#[test]
fn a_certificate_refused_after_starttls_has_its_diagnostic_and_no_reply() {
    let pki = Pki::new();
    let (_w, dir, mut dev) = setup("cert", &pki);
    for (kind, want) in [
        (Cert::UntrustedCa, Id::CertificateUntrusted),
        (Cert::WrongName, Id::CertificateWrongName),
        (Cert::Expired, Id::CertificateExpired),
    ] {
        for security in [Security::StartTls, Security::ImplicitTls] {
            let server = match security {
                Security::StartTls => starttls_server(pki.server(kind), true),
                Security::ImplicitTls => implicit_tls_server(pki.server(kind)),
            };
            set(
                &mut dev,
                (TlsVersion::Tls12, TlsVersion::Tls13),
                Some((server.port, security)),
            );
            let (r, _) = send(&mut dev);
            assert_eq!(r.diag(), Some(want), "{kind:?} {security:?}: {r:?}");
            assert_eq!(r.server_reply, None, "{kind:?} {security:?}");
            let got = server.join();
            assert!(!got.handshake_done);
            assert!(!got.contains(b"AUTH"), "{kind:?} {security:?}");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The server's side of a TLS session, read line by line.
type Tls = BufReader<rustls::StreamOwned<rustls::ServerConnection, common::Recording>>;

/// A STARTTLS server with `pki`'s good certificate whose session inside TLS
/// is `inside`.
fn starttls_then(pki: &Pki, inside: impl FnOnce(&mut Tls) + Send + 'static) -> Server {
    let config = pki.server(Cert::Good);
    Server::start(move |sock, _| {
        let mut r = BufReader::new(sock);
        let _ = r.get_mut().write_all(b"220 test.invalid ESMTP\r\n");
        let mut l = String::new();
        while matches!(r.read_line(&mut l), Ok(n) if n > 0) {
            if l.trim_end().eq_ignore_ascii_case("STARTTLS") {
                let _ = r.get_mut().write_all(b"220 2.0.0 go ahead\r\n");
                let Some(tls) = accept_tls(config, r.into_inner()) else {
                    return (false, Vec::new());
                };
                inside(&mut BufReader::new(tls));
                return (true, Vec::new());
            }
            let _ = r
                .get_mut()
                .write_all(b"250-test.invalid\r\n250 STARTTLS\r\n");
            l.clear();
        }
        (false, Vec::new())
    })
}

fn reply(s: &mut Tls, bytes: &[u8]) -> bool {
    s.get_mut()
        .write_all(bytes)
        .and_then(|()| s.get_mut().flush())
        .is_ok()
}

/// Inside TLS: EHLO offering XOAUTH2 (or, with `drop_after_ehlo`, the
/// connection drops there), AUTH, MAIL and RCPT accepted, DATA's `354`;
/// the body is read to its final dot, answered with `at_dot` (nothing: the
/// connection drops before the reply).
fn submission(s: &mut Tls, drop_after_ehlo: bool, at_dot: &'static [u8]) {
    let mut l = String::new();
    let mut in_data = false;
    while matches!(s.read_line(&mut l), Ok(n) if n > 0) {
        let line = l.trim_end().to_ascii_uppercase();
        l.clear();
        let answer: &[u8] = if in_data {
            if line == "." {
                reply(s, at_dot);
                return;
            }
            continue;
        } else if line.starts_with("EHLO") {
            if drop_after_ehlo {
                return;
            }
            b"250-test.invalid\r\n250 AUTH XOAUTH2\r\n"
        } else if line.starts_with("AUTH") {
            b"235 2.7.0 Accepted\r\n"
        } else if line == "DATA" {
            in_data = true;
            b"354 go ahead\r\n"
        } else {
            b"250 2.1.0 OK\r\n"
        };
        if !reply(s, answer) {
            return;
        }
    }
}

/// Defect 5: the connection drops after the final dot, before the reply:
/// the message may have been delivered, so the job fails with E330
/// ("delivery unknown": check the mailbox before sending again), not
/// E325 ("not sent, try again"); no reply decided it, none is reported.
#[test]
fn a_drop_after_the_final_dot_is_delivery_unknown() {
    let pki = Pki::new();
    let (_w, dir, mut dev) = setup("dot", &pki);
    let server = starttls_then(&pki, |s| submission(s, false, b""));
    set(
        &mut dev,
        (TlsVersion::Tls12, TlsVersion::Tls13),
        Some((server.port, Security::StartTls)),
    );
    let (r, _) = send(&mut dev);
    assert!(!r.sent());
    assert_eq!(r.diag(), Some(Id::DeliveryUnknown), "{r:?}");
    assert_eq!(r.server_reply, None);
    server.join();
    let _ = std::fs::remove_dir_all(dir);
}

type Case = (bool, &'static [u8], Option<&'static str>, Option<Id>);

/// Defect 4: the reply reported is the one that decided the job: the
/// refusal of the message, the `250` that took it, and none when the
/// connection dropped past TLS (it was the `220` to STARTTLS).
#[test]
fn the_reported_reply_is_the_one_that_decided_the_job() {
    let pki = Pki::new();
    let (_w, dir, mut dev) = setup("reply", &pki);
    // (drop after EHLO, the answer to the final dot, the reply reported,
    // the job's diagnostic)
    let cases: [Case; 3] = [
        (true, b"", None, Some(Id::ConnectionClosed)),
        (
            false,
            b"554 5.7.1 Message rejected as spam by policy\r\n",
            Some("554 5.7.1 Message rejected as spam by policy"),
            Some(Id::MessageRejected),
        ),
        (
            false,
            b"250 2.0.0 OK queued as 4711\r\n",
            Some("250 2.0.0 OK queued as 4711"),
            None,
        ),
    ];
    for (drop_after_ehlo, at_dot, want_reply, want_diag) in cases {
        let server = starttls_then(&pki, move |s| submission(s, drop_after_ehlo, at_dot));
        set(
            &mut dev,
            (TlsVersion::Tls12, TlsVersion::Tls13),
            Some((server.port, Security::StartTls)),
        );
        let (r, _) = send(&mut dev);
        assert_eq!(r.diag(), want_diag, "{r:?}");
        let reply = r.server_reply.as_deref();
        assert!(
            !reply.is_some_and(|t| t.contains("go ahead")),
            "the 220 to STARTTLS reported: {reply:?}"
        );
        match want_reply {
            Some(w) => assert!(reply.is_some_and(|t| t.contains(w)), "{reply:?}"),
            None => assert_eq!(reply, None),
        }
        server.join();
    }
    let _ = std::fs::remove_dir_all(dir);
}
