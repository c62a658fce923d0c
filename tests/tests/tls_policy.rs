//! TLS policy of the core (issue 9, item 6; R-SMTP, R-SASL): no AUTH before
//! TLS and no downgrade, checked through the firmware's facade (the
//! `Mailer` driving `smtp::Client`) and on the client directly. The host
//! drivers' certificate checks are in `host/tests/tls_policy.rs`; the C
//! API plays `no_starttls_refused.txt` in `bindings-c/tests/c/test_smtp.c`.

use mfp_oauth_core::config::{SenderMode, Settings as Config, SmtpServer};
use mfp_oauth_core::diag::Id;
use mfp_oauth_core::mailer::{Job, Mailer, Plan, Step};
use mfp_oauth_core::smtp::{Event, Security};
use mfp_oauth_core::token::{TokenGrant, TokenOwner, TokenStore};
use mfp_oauth_core::{Address, Duration, Function, Instant};
use mfp_oauth_tests::smtp::{normalise, run, Feed};

const ADMIN: &str = "admin@contoso.com";
const TOKEN: &[u8] = b"EwB-SECRET-ACCESS-TOKEN-tls-policy";

/// What the scripted server answers to a client line, knowing whether TLS
/// is up.
type Answer = fn(&str, bool) -> &'static str;

/// A Mailer in administrator-fixed mode with the administrator's token,
/// running one scan job against `answer` until the job ends. Returns the
/// plan it ended with and every octet the client wrote, with whether TLS
/// was up when it was written.
fn job_against(answer: Answer) -> (Plan, Vec<(bool, String)>) {
    let config = Config {
        admin_address: Some(Address::parse(ADMIN).unwrap()),
        oauth_enabled: true,
        smtp: SmtpServer::new("smtp.office365.com", 587, Security::StartTls),
        sender_mode: SenderMode::AdminFixedAddress,
        ..Config::default()
    };
    // The administrator's tokens, as after an Acquire.
    let mut store = TokenStore::new();
    store
        .store_acquired(
            Instant::ZERO,
            None,
            &TokenOwner::Admin,
            &Address::parse(ADMIN).unwrap(),
            TokenGrant {
                access_token: TOKEN,
                expires_in: Duration::from_secs(3600),
                refresh_token: Some(b"0.AAA-refresh"),
                refresh_expires_in: None,
            },
        )
        .unwrap();
    let mut m = Mailer::new(config, store);
    let to = [Address::parse("someone@contoso.com").unwrap()];
    let job = Job {
        function: Function::ScanToEmail,
        user: None,
        from: None,
        to: &to,
        size: None,
    };
    let now = Instant::from_millis(1000);
    assert!(matches!(m.submit(now, &job).unwrap(), Plan::Connect { .. }));
    assert_eq!(m.connected(now, "mfp.contoso.com").unwrap(), Plan::Session);

    let mut tls = false;
    let mut wire: Vec<(bool, String)> = Vec::new();
    let mut to_client = String::from("220 smtp.example ESMTP\r\n");
    let mut line = String::new();
    let mut in_data = false;
    for _ in 0..100 {
        let _ = m.handle_smtp_input(now, to_client.as_bytes());
        to_client.clear();
        while let Some(step) = m.poll_event(now) {
            match step {
                Step::Smtp(Event::UpgradeTls) => {
                    tls = true;
                    m.handle_smtp_tls_established(now).unwrap();
                }
                Step::Smtp(Event::ReadyForBody) => {
                    let mut out = [0u8; 64];
                    let p = m
                        .write_smtp_body(b"Subject: scan\r\n\r\nhi\r\n", &mut out)
                        .unwrap();
                    line.push_str(&String::from_utf8_lossy(&out[..p.written]));
                    m.finish_smtp_body(now).unwrap();
                }
                _ => {}
            }
        }
        if m.plan() != &Plan::Session {
            return (m.plan().clone(), wire);
        }
        let mut out = [0u8; 256];
        while let Some(t) = m.poll_smtp_transmit(now, &mut out).unwrap() {
            let text = String::from_utf8_lossy(&out[..t.len]).into_owned();
            wire.push((tls, text.clone()));
            line.push_str(&text);
            while let Some(end) = line.find("\r\n") {
                let l: String = line.drain(..end + 2).collect();
                let l = l.trim_end();
                if in_data {
                    if l == "." {
                        in_data = false;
                        to_client.push_str("250 2.0.0 queued\r\n");
                    }
                    continue;
                }
                let reply = answer(l, tls);
                in_data = reply.starts_with("354");
                to_client.push_str(reply);
            }
        }
    }
    panic!("the job did not end: {wire:?}");
}

fn assert_no_auth(wire: &[(bool, String)]) {
    use base64::Engine as _;
    let secret = base64::engine::general_purpose::STANDARD.encode(format!(
        "user={ADMIN}\x01auth=Bearer {}\x01\x01",
        String::from_utf8_lossy(TOKEN)
    ));
    for (_, text) in wire {
        assert!(!text.contains("AUTH"), "{wire:?}");
        assert!(!text.contains(&secret[..20]), "{wire:?}");
    }
}

/// The control: a server that does everything right gets AUTH, inside TLS
/// only, and the job is done.
#[test]
fn through_the_mailer_auth_goes_only_inside_tls() {
    let (plan, wire) = job_against(|l, tls| match l {
        l if l.starts_with("EHLO") && !tls => {
            "250-smtp.example\r\n250-AUTH XOAUTH2\r\n250 STARTTLS\r\n"
        }
        l if l.starts_with("EHLO") => "250-smtp.example\r\n250 AUTH XOAUTH2\r\n",
        "STARTTLS" => "220 2.0.0 go ahead\r\n",
        l if l.starts_with("AUTH") => "235 2.7.0 OK\r\n",
        "DATA" => "354 go\r\n",
        "QUIT" => "221 bye\r\n",
        _ => "250 OK\r\n",
    });
    assert!(matches!(plan, Plan::Done { accepted: 1, .. }), "{plan:?}");
    let auth: Vec<_> = wire.iter().filter(|(_, t)| t.starts_with("AUTH")).collect();
    assert_eq!(auth.len(), 1);
    assert!(auth[0].0, "AUTH written before TLS");
}

/// R-SMTP: through the Mailer, a server offering XOAUTH2 but no STARTTLS
/// ends the job with E302; one refusing STARTTLS with 454 with E303; one
/// whose EHLO after TLS offers no OAuth mechanism with E304. No AUTH line
/// is ever written.
#[test]
fn through_the_mailer_no_downgrade() {
    let cases: [(Answer, Id); 3] = [
        (
            |l, _| match l {
                l if l.starts_with("EHLO") => {
                    "250-smtp.example\r\n250-AUTH PLAIN XOAUTH2\r\n250 8BITMIME\r\n"
                }
                _ => "250 OK\r\n",
            },
            Id::StartTlsNotOffered,
        ),
        (
            |l, _| match l {
                l if l.starts_with("EHLO") => {
                    "250-smtp.example\r\n250-AUTH XOAUTH2\r\n250 STARTTLS\r\n"
                }
                "STARTTLS" => "454 4.7.0 TLS not available due to temporary reason\r\n",
                _ => "250 OK\r\n",
            },
            Id::StartTlsRefused,
        ),
        (
            |l, tls| match l {
                l if l.starts_with("EHLO") && !tls => {
                    "250-smtp.example\r\n250-AUTH XOAUTH2\r\n250 STARTTLS\r\n"
                }
                l if l.starts_with("EHLO") => "250-smtp.example\r\n250 AUTH PLAIN LOGIN\r\n",
                "STARTTLS" => "220 2.0.0 go ahead\r\n",
                _ => "250 OK\r\n",
            },
            Id::NoOAuthMechanism,
        ),
    ];
    for (answer, diag) in cases {
        let (plan, wire) = job_against(answer);
        assert_eq!(plan, Plan::Failed { diag }, "{wire:?}");
        assert_no_auth(&wire);
    }
}

const USER: &str = "scanner@contoso.com";
const CLIENT_TOKEN: &str = "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA";

fn starttls() -> mfp_oauth_core::smtp::Settings {
    mfp_oauth_core::smtp::Settings::new(
        Security::StartTls,
        "printer.example.com",
        "smtp.example.com",
        587,
    )
    .unwrap()
}

/// The same rules on the client, as transcripts (every feed and buffer
/// size): STARTTLS refused (454, E303), no OAuth mechanism after TLS
/// (E304), a STARTTLS offered only after an AUTH-offering first EHLO that
/// is not a capability line (the greeting line is the server's name, not a
/// capability: E302).
#[test]
fn starttls_refused_and_no_mechanism_after_tls() {
    let scripts = [
        "S: 220 x\nC: EHLO printer.example.com\nS: 250-x\nS: 250-AUTH XOAUTH2\nS: 250 STARTTLS\nC: STARTTLS\nS: 454 4.7.0 TLS not available due to temporary reason\nE: Failed E303 server refused at StartTls: 454 4.7.0\n",
        "S: 220 x\nC: EHLO printer.example.com\nS: 250-x\nS: 250-AUTH XOAUTH2\nS: 250 STARTTLS\nC: STARTTLS\nS: 220 go\nE: UpgradeTls\n! tls\nC: EHLO printer.example.com\nS: 250-x\nS: 250-AUTH PLAIN LOGIN\nS: 250 STARTTLS\nE: Failed E304 server offers neither XOAUTH2 nor OAUTHBEARER\n",
        "S: 220 x\nC: EHLO printer.example.com\nS: 250 STARTTLS\nE: Failed E302 server does not offer STARTTLS\n",
    ];
    for script in scripts {
        for (feed, out) in [(Feed::Lines, 4096), (Feed::Bytes, 3), (Feed::Random(9), 17)] {
            let obs = run(script, starttls(), USER, CLIENT_TOKEN, feed, out);
            if feed == Feed::Lines {
                assert_eq!(obs.transcript, normalise(script));
            }
            assert!(obs.closed);
            assert_eq!(obs.sensitive_transmits, 0);
            assert!(!obs.client_lines.iter().any(|l| l.starts_with("AUTH")));
        }
    }
}

/// A driver that says TLS is up when the client did not ask for it is
/// refused, and nothing secret is written on the plain connection.
#[test]
fn tls_established_out_of_turn_is_refused() {
    let mut c =
        mfp_oauth_core::smtp::Client::new(Instant::ZERO, starttls(), Address::parse(USER).unwrap());
    c.set_token(Instant::ZERO, CLIENT_TOKEN.as_bytes()).unwrap();
    let mut out = [0u8; 512];
    for reply in [
        &b"220 x\r\n"[..],
        b"250-x\r\n250-AUTH XOAUTH2\r\n250 STARTTLS\r\n",
    ] {
        assert!(c.handle_tls_established(Instant::ZERO).is_err());
        c.handle_input(Instant::ZERO, reply);
        while let Some(t) = c.poll_transmit(Instant::ZERO, &mut out).unwrap() {
            assert!(!t.sensitive);
            assert!(!out[..t.len].starts_with(b"AUTH"));
        }
    }
    assert!(!c.is_tls());
    assert_eq!(c.poll_event(), None);
}

/// STARTTLS command injection (RFC 3207 §5; issue 16 trap 5): octets that
/// follow the `220` to STARTTLS in plaintext are never taken as replies,
/// neither in the same input nor fed after the handshake (before the new
/// EHLO went out). The session fails with E322 and nothing secret is
/// written.
#[test]
fn plaintext_after_the_starttls_220_is_never_a_reply() {
    let greet = |c: &mut mfp_oauth_core::smtp::Client, out: &mut [u8]| {
        for reply in [
            &b"220 x\r\n"[..],
            b"250-x\r\n250-AUTH XOAUTH2\r\n250 STARTTLS\r\n",
        ] {
            assert_eq!(c.handle_input(Instant::ZERO, reply), reply.len());
            while let Some(t) = c.poll_transmit(Instant::ZERO, out).unwrap() {
                assert!(!t.sensitive);
            }
        }
    };
    let failed = |c: &mut mfp_oauth_core::smtp::Client| {
        let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
        assert!(
            matches!(
                events.last(),
                Some(Event::Failed { error }) if mfp_oauth_core::Diagnostic::diag(error) == Id::ProtocolViolation
            ),
            "{events:?}"
        );
        events
    };
    let mut out = [0u8; 512];

    // In the same input as the 220: no upgrade is asked, the session ends.
    let mut c =
        mfp_oauth_core::smtp::Client::new(Instant::ZERO, starttls(), Address::parse(USER).unwrap());
    c.set_token(Instant::ZERO, CLIENT_TOKEN.as_bytes()).unwrap();
    greet(&mut c, &mut out);
    let input = b"220 ready\r\n250 injected\r\n";
    assert_eq!(c.handle_input(Instant::ZERO, input), input.len());
    let events = failed(&mut c);
    assert!(!events.contains(&Event::UpgradeTls), "{events:?}");
    assert!(c.handle_tls_established(Instant::ZERO).is_err());
    assert_eq!(c.poll_transmit(Instant::ZERO, &mut out).unwrap(), None);
    assert_eq!(c.last_reply().unwrap().code.code, 220);

    // Kept and fed after the handshake: refused, not the EHLO's reply.
    let mut c =
        mfp_oauth_core::smtp::Client::new(Instant::ZERO, starttls(), Address::parse(USER).unwrap());
    c.set_token(Instant::ZERO, CLIENT_TOKEN.as_bytes()).unwrap();
    greet(&mut c, &mut out);
    c.handle_input(Instant::ZERO, b"220 ready\r\n");
    assert_eq!(c.poll_event(), Some(Event::UpgradeTls));
    c.handle_tls_established(Instant::ZERO).unwrap();
    c.handle_input(Instant::ZERO, b"250-injected\r\n250 AUTH PLAIN\r\n");
    failed(&mut c);
    assert!(c.is_closed());
    assert_eq!(c.poll_transmit(Instant::ZERO, &mut out).unwrap(), None);
    assert_eq!(c.last_reply().unwrap().code.code, 220);
}
