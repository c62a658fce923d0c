//! Behaviour of the SMTP client beyond the written transcripts: long tokens
//! (two-step AUTH), every diagnostic of R-DIAG, hostile servers, and
//! properties over arbitrary server bytes.

use mfp_oauth_core::smtp::{Client, Event, Security, Settings};
use mfp_oauth_core::{Address, Instant};
use mfp_oauth_tests::smtp::{normalise, run, Feed};
use proptest::prelude::*;

const USER: &str = "scanner@contoso.com";
const TOKEN: &str = "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA";
const AUTH_LINE: &str = "C: AUTH XOAUTH2 dXNlcj1zY2FubmVyQGNvbnRvc28uY29tAWF1dGg9QmVhcmVyIEV3QkFBbDNCQUFVRkZwVUFvN0ozVmUwYmpMQldaV0NjbFJDM0VvQUEBAQ==";

fn client_with_token(settings: Settings, token: &[u8]) -> Client {
    let mut c = Client::new(Instant::ZERO, settings, Address::parse(USER).unwrap());
    c.set_token(Instant::ZERO, token).unwrap();
    c
}

fn implicit() -> Settings {
    Settings::new(
        Security::ImplicitTls,
        "printer.example.com",
        "smtp.example.com",
        465,
    )
    .unwrap()
}

fn starttls() -> Settings {
    Settings::new(
        Security::StartTls,
        "printer.example.com",
        "smtp.example.com",
        587,
    )
    .unwrap()
}

/// Greeting, EHLO and AUTH up to the AUTH line, on implicit TLS.
fn preamble(extra_caps: &str) -> String {
    format!(
        "S: 220 mail.example.org ESMTP\nC: EHLO printer.example.com\nS: 250-mail.example.org\n{extra_caps}S: 250 AUTH XOAUTH2\nE: Authenticating XOAUTH2 initial-response\n{AUTH_LINE}\n"
    )
}

fn assert_transcript(script: &str, settings: Settings, token: &str) {
    for (feed, out) in [(Feed::Lines, 4096), (Feed::Bytes, 5), (Feed::Random(3), 64)] {
        let obs = run(script, settings.clone(), USER, token, feed, out);
        if feed == Feed::Lines {
            assert_eq!(obs.transcript, normalise(script));
        }
        assert_eq!(obs.leaked_transmits, 0);
    }
}

#[test]
fn microsoft_long_token_goes_two_step() {
    // R-SASL / RFC 4954 §4: a 3,000-octet token makes a 4,000+ octet line,
    // so AUTH goes alone, the 334 go-ahead comes, then the response line.
    let token: String = (0..3000)
        .map(|i| char::from(b'A' + (i % 26) as u8))
        .collect();
    use base64::Engine as _;
    let response = base64::engine::general_purpose::STANDARD
        .encode(format!("user={USER}\x01auth=Bearer {token}\x01\x01"));
    assert!(response.len() > 4000);
    let script = format!(
        "S: 220 outlook.office365.com ready\nC: EHLO printer.example.com\nS: 250-outlook.office365.com\nS: 250 STARTTLS\nC: STARTTLS\nS: 220 2.0.0 SMTP server ready\nE: UpgradeTls\n! tls\nC: EHLO printer.example.com\nS: 250-outlook.office365.com\nS: 250 AUTH LOGIN XOAUTH2\nE: Authenticating XOAUTH2 two-step\nC: AUTH XOAUTH2\nS: 334 \nC: {response}\nS: 235 2.7.0 Authentication successful\nE: Authenticated XOAUTH2\nE: Ready\n"
    );
    assert_transcript(&script, starttls(), &token);
    // With a 13-octet output buffer the response takes hundreds of
    // transmits, each marked sensitive, none leaking.
    let obs = run(&script, starttls(), USER, &token, Feed::Lines, 13);
    assert!(obs.sensitive_transmits > 300, "{}", obs.sensitive_transmits);
}

#[test]
fn every_auth_failure_maps_to_its_diagnostic() {
    // (server reply, diagnostic number, whether a refresh may help)
    let cases = [
        ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox.", "535 5.7.139 E305 retry=no"),
        ("535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]", "535 5.7.3 E306 retry=yes"),
        ("535 5.7.8 Error: authentication failed", "535 5.7.8 E307 retry=yes"),
        ("530 5.7.0 Authentication required", "530 5.7.0 E308 retry=no"),
        ("550 5.7.30 Basic authentication is not supported for Client Submission.", "550 5.7.30 E309 retry=no"),
        ("500 5.5.6 Authentication Exchange line is too long", "500 5.5.6 E312 retry=no"),
        ("454 4.7.0 Temporary authentication failure", "454 4.7.0 E313 retry=no"),
        ("504 5.5.4 Unrecognized authentication type", "504 5.5.4 E314 retry=no"),
        // Microsoft High Volume Email (smtp-hve.office365.com).
        ("501 5.5.127 Invalid XOAUTH2 auth data - Token will expire soon", "501 5.5.127 E332 retry=yes"),
        ("501 5.5.124 Invalid XOAUTH2 auth data - User address provided is not valid", "501 5.5.124 E333 retry=no"),
    ];
    for (reply, event) in cases {
        let script = format!("{}S: {reply}\nE: AuthRejected {event}\n", preamble(""));
        assert_transcript(&script, implicit(), TOKEN);
    }
}

#[test]
fn send_as_denied_and_auth_required_at_mail_and_after_data() {
    let base = format!(
        "{}S: 235 2.7.0 OK\nE: Authenticated XOAUTH2\nE: Ready\n",
        preamble("")
    );
    let at_mail = format!(
        "{base}! send shared@contoso.com a@contoso.com\nC: MAIL FROM:<shared@contoso.com>\nS: 550 5.7.60 SMTP; Client does not have permissions to send as this sender\nE: MessageFailed E311 server refused at Mail: 550 5.7.60\nC: RSET\nS: 250 2.0.0 OK\nE: Ready\n"
    );
    assert_transcript(&at_mail, implicit(), TOKEN);
    let auth_required = format!(
        "{base}! send scanner@contoso.com a@contoso.com\nC: MAIL FROM:<scanner@contoso.com>\nS: 530 5.7.0 Authentication required\nE: MessageFailed E308 server refused at Mail: 530 5.7.0\nC: RSET\nS: 250 OK\nE: Ready\n"
    );
    assert_transcript(&auth_required, implicit(), TOKEN);
    let after_data = format!(
        "{base}! send shared@contoso.com a@contoso.com\nC: MAIL FROM:<shared@contoso.com>\nS: 250 OK\nC: RCPT TO:<a@contoso.com>\nS: 250 OK\nC: DATA\nS: 354 go\nE: ReadyForBody\n! body x\n! end\nC: x\nC: .\nS: 554 5.2.252 SendAsDenied; scanner@contoso.com not allowed to send as shared@contoso.com\nE: MessageFailed E311 server refused at DataEnd: 554 5.2.252\nE: Ready\n"
    );
    assert_transcript(&after_data, implicit(), TOKEN);
}

#[test]
fn tls_too_old_and_service_closing() {
    let script = "S: 220 outlook.office365.com ready\nC: EHLO printer.example.com\nS: 250-outlook.office365.com\nS: 250 STARTTLS\nC: STARTTLS\nS: 421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2.\nE: Failed E310 server refused at StartTls: 421 4.7.66\n";
    assert_transcript(script, starttls(), TOKEN);
    let closing = "S: 421 4.3.2 Service not available\nE: Failed E321 server refused at Greeting: 421 4.3.2\n";
    assert_transcript(closing, starttls(), TOKEN);
}

#[test]
fn plaintext_after_starttls_reply_is_an_injection() {
    // RFC 3207 §6: bytes after the 220 belong to no one. Fed together with
    // the 220 (one segment) or after it, the session fails before any TLS.
    let script = "S: 220 mail.example.org ESMTP\nC: EHLO printer.example.com\nS: 250-mail.example.org\nS: 250 STARTTLS\nC: STARTTLS\nS: 220 go ahead\nS: 250-injected AUTH PLAIN\n";
    for feed in [Feed::Batched, Feed::Lines, Feed::Bytes] {
        let obs = run(script, starttls(), USER, TOKEN, feed, 4096);
        let last = obs.events.last().cloned().unwrap_or_default();
        assert_eq!(
            last, "Failed E322 plaintext after the STARTTLS reply",
            "{feed:?}"
        );
        assert!(!obs.client_lines.iter().any(|l| l.starts_with("AUTH")));
    }
}

#[test]
fn hostile_replies_fail_cleanly() {
    // An endless multi-line reply, and a line longer than any buffer.
    let mut endless = String::from("S: 220 x\nC: EHLO printer.example.com\n");
    for _ in 0..200 {
        endless.push_str("S: 250-x\n");
    }
    let obs = run(&endless, implicit(), USER, TOKEN, Feed::Lines, 4096);
    assert_eq!(
        obs.events,
        ["Failed E323 bad reply at Ehlo: reply has too many lines"]
    );
    let long = format!("S: 220 {}\n", "x".repeat(5000));
    let obs = run(&long, implicit(), USER, TOKEN, Feed::Random(5), 4096);
    assert_eq!(
        obs.events,
        ["Failed E323 bad reply at Greeting: reply line too long"]
    );
    let garbage = "S: 220 x\nC: EHLO printer.example.com\nS: hello there\n";
    let obs = run(garbage, implicit(), USER, TOKEN, Feed::Lines, 4096);
    assert_eq!(
        obs.events,
        ["Failed E322 bad reply at Ehlo: malformed reply line"]
    );
    let unsolicited = "S: 220 x\nC: EHLO printer.example.com\nS: 250 x\nS: 250 y\n";
    let obs = run(unsolicited, starttls(), USER, TOKEN, Feed::Lines, 4096);
    assert_eq!(obs.events, ["Failed E302 server does not offer STARTTLS"]);
}

#[test]
fn garbage_334_challenge_still_gets_an_answer() {
    let script = format!(
        "{}S: 334 this-is-not-base64!\nC:\nS: 535 5.7.8 failed\nE: AuthRejected 535 5.7.8 E307 retry=yes\n",
        preamble("")
    );
    assert_transcript(&script, implicit(), TOKEN);
}

#[test]
fn a_slow_auth_failure_is_not_a_timeout() {
    // Servers delay failed authentications by 15 s or more on purpose.
    let script = format!(
        "{}! advance 20000\n! timeout\nS: 535 5.7.3 Authentication unsuccessful\nE: AuthRejected 535 5.7.3 E306 retry=yes\n",
        preamble("")
    );
    assert_transcript(&script, implicit(), TOKEN);
}

#[test]
fn quit_is_refused_mid_body_and_retry_only_after_rejection() {
    let mut c = client_with_token(implicit(), TOKEN.as_bytes());
    assert!(c.retry_auth(Instant::ZERO, b"x").is_err());
    assert!(c.write_body(b"x", &mut [0u8; 8]).is_err());
    assert!(c.finish_body(Instant::ZERO).is_err());
    assert!(c.handle_tls_established(Instant::ZERO).is_err());
    // Quitting before the greeting abandons the session at once.
    c.quit(Instant::ZERO).unwrap();
    assert_eq!(c.poll_event(), Some(Event::Closed));
    assert!(c.is_closed());
}

/// Every prefix of a full session, then a close: never a panic, always a
/// final Closed or Failed event, and MessageSent only when the server's 250
/// to the final dot arrived. Between the final dot and that 250 the
/// message may have been delivered: E330 (delivery unknown), not E325's
/// "try again" (issue 15).
#[test]
fn closing_at_every_point_is_reported() {
    let full = include_str!("../transcripts/starttls_pipelined.txt");
    let server_lines: Vec<usize> = full
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("S:") || l.starts_with("! "))
        .map(|(i, _)| i)
        .collect();
    for &cut in &server_lines {
        let prefix: String = full.lines().take(cut).map(|l| format!("{l}\n")).collect();
        let script = format!("{prefix}! close\n");
        let obs = run(&script, starttls(), USER, TOKEN, Feed::Lines, 4096);
        let last = obs.events.last().expect("an event");
        let sent = obs.events.iter().any(|e| e.starts_with("MessageSent"));
        let dot_sent = prefix.lines().any(|l| l == "C: .");
        if dot_sent && !sent {
            assert_eq!(
                last, "Failed E330 connection lost after the end of the message, before the server's reply: delivery unknown",
                "cut at {cut}"
            );
        } else {
            assert!(
                last == "Closed" || last.starts_with("Failed E325"),
                "cut at {cut}: {last}"
            );
        }
        assert_eq!(
            sent,
            prefix.contains("Queued mail for delivery"),
            "cut at {cut}"
        );
    }
}

/// Issue 15 (defect 5): the connection drops after the final dot and
/// before the server's reply. The message may have been delivered, so the
/// session fails with E330 (delivery unknown), whose remedy is to check
/// the mailbox before sending again, not E325's "try again". A drop while
/// the body is still being sent stays E325 (the message cannot be
/// complete).
#[test]
fn a_drop_after_the_final_dot_is_delivery_unknown() {
    let to_data = format!(
        "{}S: 235 ok\nE: Authenticated XOAUTH2\nE: Ready\n! send scanner@contoso.com a@contoso.com\nC: MAIL FROM:<scanner@contoso.com>\nS: 250 ok\nC: RCPT TO:<a@contoso.com>\nS: 250 ok\nC: DATA\nS: 354 go\nE: ReadyForBody\n! body hello\\n\nC: hello\n",
        preamble("")
    );
    let after_dot = format!(
        "{to_data}! end\nC: .\n! close\nE: Failed E330 connection lost after the end of the message, before the server's reply: delivery unknown\n"
    );
    assert_transcript(&after_dot, implicit(), TOKEN);
    let before_dot = format!("{to_data}! close\nE: Failed E325 connection closed at DataEnd\n");
    assert_transcript(&before_dot, implicit(), TOKEN);
}

/// The same with CHUNKING: once `BDAT 0 LAST` has gone out, a drop before
/// its reply is E330.
#[test]
fn a_drop_after_bdat_last_is_delivery_unknown() {
    let script = format!(
        "{}S: 235 ok\nE: Authenticated XOAUTH2\nE: Ready\n! send scanner@contoso.com a@contoso.com\nE: ReadyForBody\nC: MAIL FROM:<scanner@contoso.com>\nC: RCPT TO:<a@contoso.com>\n! body hi\\n\nC: BDAT 4\nC: hi\nS: 250 ok\nS: 250 ok\nS: 250 ok\n! end\nC: BDAT 0 LAST\n! close\nE: Failed E330 connection lost after the end of the message, before the server's reply: delivery unknown\n",
        preamble("S: 250-PIPELINING\nS: 250-CHUNKING\n")
    );
    assert_transcript(&script, implicit(), TOKEN);
}

/// A timeout after the final dot (the RFC 5321 §4.5.3.2.6 ten minutes)
/// is as unknown as a drop there: the server may have taken the message
/// and only its reply was lost, so a retry could deliver it twice. E330
/// (delivery unknown), not E324's "no reply, try again". A timeout before
/// the end of data (the `354` not come) stays E324.
#[test]
fn a_timeout_after_the_final_dot_is_delivery_unknown() {
    let to_data = format!(
        "{}S: 235 ok\nE: Authenticated XOAUTH2\nE: Ready\n! send scanner@contoso.com a@contoso.com\nC: MAIL FROM:<scanner@contoso.com>\nS: 250 ok\nC: RCPT TO:<a@contoso.com>\nS: 250 ok\nC: DATA\n",
        preamble("")
    );
    let after_dot = format!(
        "{to_data}S: 354 go\nE: ReadyForBody\n! body hello\\n\nC: hello\n! end\nC: .\n! advance 599999\n! timeout\n! advance 1\n! timeout\nE: Failed E330 no reply in time after the end of the message: delivery unknown\n"
    );
    assert_transcript(&after_dot, implicit(), TOKEN);
    let before_data =
        format!("{to_data}! advance 120000\n! timeout\nE: Failed E324 no reply in time at Data\n");
    assert_transcript(&before_data, implicit(), TOKEN);
}

/// The same with CHUNKING: once `BDAT 0 LAST` has gone out, no reply in
/// time is E330; while a chunk's reply is awaited and the last chunk has
/// not gone out, the message cannot be complete: E324.
#[test]
fn a_timeout_after_bdat_last_is_delivery_unknown() {
    let to_body = format!(
        "{}S: 235 ok\nE: Authenticated XOAUTH2\nE: Ready\n! send scanner@contoso.com a@contoso.com\nE: ReadyForBody\nC: MAIL FROM:<scanner@contoso.com>\nC: RCPT TO:<a@contoso.com>\n! body hi\\n\nC: BDAT 4\nC: hi\n",
        preamble("S: 250-PIPELINING\nS: 250-CHUNKING\n")
    );
    let after_last = format!(
        "{to_body}S: 250 ok\nS: 250 ok\nS: 250 ok\n! end\nC: BDAT 0 LAST\n! advance 600000\n! timeout\nE: Failed E330 no reply in time after the end of the message: delivery unknown\n"
    );
    assert_transcript(&after_last, implicit(), TOKEN);
    let before_last = format!(
        "{to_body}S: 250 ok\nS: 250 ok\n! advance 600000\n! timeout\nE: Failed E324 no reply in time at DataEnd\n"
    );
    assert_transcript(&before_last, implicit(), TOKEN);
}

/// An end of data queued but not yet taken by the driver cannot have
/// completed the message: a close then is E325, not E330.
#[test]
fn a_drop_before_the_end_of_data_left_is_connection_closed() {
    use mfp_oauth_core::smtp::{Envelope, Error, Stage};
    let mut c = client_with_token(implicit(), TOKEN.as_bytes());
    let mut out = [0u8; 4096];
    let mut env = Envelope::new(Address::parse(USER).unwrap());
    env.add_recipient(Address::parse("a@contoso.com").unwrap())
        .unwrap();
    c.send_message(Instant::ZERO, env).unwrap();
    for reply in [
        &b"220 x\r\n"[..],
        b"250-x\r\n250 AUTH XOAUTH2\r\n",
        b"235 ok\r\n",
        b"250 ok\r\n",
        b"250 ok\r\n",
        b"354 go\r\n",
    ] {
        let _ = c.handle_input(Instant::ZERO, reply);
        while c.poll_transmit(Instant::ZERO, &mut out).unwrap().is_some() {}
    }
    let p = c.write_body(b"hello\r\n", &mut out).unwrap();
    assert_eq!(p.consumed, 7);
    c.finish_body(Instant::ZERO).unwrap();
    // The "." is queued, not taken by poll_transmit.
    c.handle_close(Instant::ZERO);
    let last = std::iter::from_fn(|| c.poll_event()).last();
    assert_eq!(
        last,
        Some(Event::Failed {
            error: Error::ConnectionClosed {
                stage: Stage::DataEnd
            }
        })
    );
}

/// Issue 15 (defect 5) through the Mailer: the job ends Failed with E330
/// (its own diagnostic, with the remedy to check the mailbox before sending
/// again); the control drop before the end of data ends with E325.
#[test]
fn the_mailer_reports_delivery_unknown() {
    use mfp_oauth_core::config::{Settings as Config, SmtpServer};
    use mfp_oauth_core::diag::{Id, Lang};
    use mfp_oauth_core::mailer::{Job, Mailer, Plan, Step};
    use mfp_oauth_core::token::TokenGrant;
    use mfp_oauth_core::{Duration, Function, TokenOwner, TokenStore};
    for (dot_sent, want) in [(true, Id::DeliveryUnknown), (false, Id::ConnectionClosed)] {
        let admin = Address::parse(USER).unwrap();
        let settings = Config {
            admin_address: Some(admin.clone()),
            oauth_enabled: true,
            smtp: SmtpServer::new("smtp.example.com", 465, Security::ImplicitTls),
            ..Config::default()
        };
        let mut store = TokenStore::new();
        store
            .store_acquired(
                Instant::ZERO,
                None,
                &TokenOwner::Admin,
                &admin,
                TokenGrant {
                    access_token: TOKEN.as_bytes(),
                    expires_in: Duration::from_secs(3600),
                    refresh_token: Some(b"0.refresh"),
                    refresh_expires_in: None,
                },
            )
            .unwrap();
        let mut m = Mailer::new(settings, store);
        let to = [Address::parse("a@contoso.com").unwrap()];
        let job = Job {
            function: Function::ScanToEmail,
            user: None,
            from: None,
            to: &to,
            size: None,
        };
        let now = Instant::from_millis(1000);
        assert!(matches!(m.submit(now, &job).unwrap(), Plan::Connect { .. }));
        assert_eq!(
            m.connected(now, "printer.example.com").unwrap(),
            Plan::Session
        );
        let mut out = [0u8; 4096];
        let mut wire = Vec::new();
        for reply in [
            &b"220 x\r\n"[..],
            b"250-x\r\n250 AUTH XOAUTH2\r\n",
            b"235 ok\r\n",
            b"250 ok\r\n",
            b"250 ok\r\n",
            b"354 go\r\n",
        ] {
            let _ = m.handle_smtp_input(now, reply).unwrap();
            while let Some(step) = m.poll_event(now) {
                if step == Step::Smtp(Event::ReadyForBody) {
                    let p = m.write_smtp_body(b"hello\r\n", &mut out).unwrap();
                    wire.extend_from_slice(&out[..p.written]);
                    if dot_sent {
                        m.finish_smtp_body(now).unwrap();
                    }
                }
            }
            while let Some(t) = m.poll_smtp_transmit(now, &mut out).unwrap() {
                wire.extend_from_slice(&out[..t.len]);
            }
        }
        assert_eq!(wire.ends_with(b"hello\r\n.\r\n"), dot_sent);
        m.handle_smtp_close(now).unwrap();
        while m.poll_event(now).is_some() {}
        assert_eq!(m.plan(), &Plan::Failed { diag: want });
    }
    assert!(Id::DeliveryUnknown
        .remedy(Lang::En)
        .contains("before sending again"));
    assert!(Id::DeliveryUnknown
        .remedy(Lang::Fr)
        .contains("avant de renvoyer"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Arbitrary server bytes in arbitrary chunks: no panic, never more
    /// consumed than given, no token before TLS, none outside a sensitive
    /// transmit.
    #[test]
    fn arbitrary_server_bytes(
        replies in proptest::collection::vec(
            prop_oneof![
                Just(b"220 ok\r\n".to_vec()),
                Just(b"250-x\r\n250-STARTTLS\r\n250-PIPELINING\r\n250 AUTH XOAUTH2 OAUTHBEARER\r\n".to_vec()),
                Just(b"250-x\r\n250-CHUNKING\r\n250-PIPELINING\r\n250 AUTH XOAUTH2\r\n".to_vec()),
                Just(b"334 \r\n".to_vec()),
                Just(b"334 eyJzdGF0dXMiOiI0MDEifQ==\r\n".to_vec()),
                Just(b"235 2.7.0 ok\r\n".to_vec()),
                Just(b"250 ok\r\n".to_vec()),
                Just(b"354 go\r\n".to_vec()),
                Just(b"535 5.7.139 no\r\n".to_vec()),
                Just(b"421 4.7.66 old\r\n".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..40),
            ],
            0..24,
        ),
        cuts in proptest::collection::vec(1usize..9, 1..8),
        tls_when_asked in any::<bool>(),
        out_len in 1usize..64,
    ) {
        let mut c = client_with_token(starttls(), TOKEN.as_bytes());
        let mut env = mfp_oauth_core::smtp::Envelope::new(Address::parse(USER).unwrap());
        env.add_recipient(Address::parse("a@b.c").unwrap()).unwrap();
        let _ = c.send_message(Instant::ZERO, env);
        let data: Vec<u8> = replies.concat();
        let mut pos = 0;
        let mut i = 0;
        let mut now = 0u64;
        let mut out = vec![0u8; out_len];
        while pos < data.len() && !c.is_closed() {
            let take = cuts[i % cuts.len()].min(data.len() - pos);
            i += 1;
            now += 10;
            let used = c.handle_input(Instant::from_millis(now), &data[pos..pos + take]);
            prop_assert!(used <= take);
            pos += if used == 0 { take } else { used };
            while let Some(ev) = c.poll_event() {
                if ev == Event::UpgradeTls && tls_when_asked {
                    // Refused only when the session already failed (plaintext
                    // injected after the 220, say).
                    let r = c.handle_tls_established(Instant::from_millis(now));
                    prop_assert!(r.is_ok() || c.is_closed());
                }
                if ev == Event::ReadyForBody {
                    let mut body = [0u8; 64];
                    let _ = c.write_body(b"hello\r\n.x", &mut body);
                    let _ = c.finish_body(Instant::from_millis(now));
                }
            }
            while let Ok(Some(t)) = c.poll_transmit(Instant::from_millis(now), &mut out) {
                prop_assert!(t.len <= out.len());
                if t.sensitive {
                    prop_assert!(c.is_tls(), "token before TLS");
                } else {
                    let text = String::from_utf8_lossy(&out[..t.len]);
                    prop_assert!(!text.contains("dXNlcj1zY2FubmVy"), "token in plain transmit");
                }
            }
            c.handle_timeout(Instant::from_millis(now));
        }
        c.handle_close(Instant::from_millis(now));
        prop_assert!(c.is_closed());
    }
}

/// A client authenticated on a server offering PIPELINING and CHUNKING.
fn chunking_client() -> Client {
    let mut c = client_with_token(implicit(), TOKEN.as_bytes());
    let mut out = [0u8; 512];
    for reply in [
        &b"220 x\r\n"[..],
        b"250-x\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 AUTH XOAUTH2\r\n",
        b"235 ok\r\n",
    ] {
        let _ = c.handle_input(Instant::ZERO, reply);
        while c.poll_transmit(Instant::ZERO, &mut out).unwrap().is_some() {}
    }
    while c.poll_event().is_some() {}
    assert!(c.is_ready());
    c
}

fn envelope(to: &str) -> mfp_oauth_core::smtp::Envelope {
    let mut env = mfp_oauth_core::smtp::Envelope::new(Address::parse(USER).unwrap());
    env.add_recipient(Address::parse(to).unwrap()).unwrap();
    env
}

#[test]
fn chunked_body_writes_the_envelope_first_when_not_yet_sent() {
    // A driver that acts on ReadyForBody before draining poll_transmit still
    // sends MAIL and RCPT ahead of the first chunk.
    let mut c = chunking_client();
    c.send_message(Instant::ZERO, envelope("a@b.c")).unwrap();
    assert_eq!(c.poll_event(), Some(Event::ReadyForBody));
    let mut out = [0u8; 40];
    let mut wire = Vec::new();
    let mut input: &[u8] = b"Hi\n";
    while !input.is_empty() {
        let p = c.write_body(input, &mut out).unwrap();
        wire.extend_from_slice(&out[..p.written]);
        input = &input[p.consumed..];
    }
    c.finish_body(Instant::ZERO).unwrap();
    while let Some(t) = c.poll_transmit(Instant::ZERO, &mut out).unwrap() {
        wire.extend_from_slice(&out[..t.len]);
    }
    assert_eq!(
        String::from_utf8(wire).unwrap(),
        "MAIL FROM:<scanner@contoso.com>\r\nRCPT TO:<a@b.c>\r\nBDAT 4\r\nHi\r\nBDAT 0 LAST\r\n"
    );
    assert!(c.poll_timeout().is_some(), "chunk replies are awaited");
}

#[test]
fn chunking_needs_pipelining_and_can_be_turned_off() {
    for (caps, chunking_setting, wire_ends) in [
        // CHUNKING without PIPELINING: sequential DATA.
        (
            "250-x\r\n250-CHUNKING\r\n250 AUTH XOAUTH2\r\n",
            true,
            "AQ==\r\nMAIL FROM:<scanner@contoso.com>\r\n",
        ),
        // Both offered but chunking turned off: pipelined DATA.
        (
            "250-x\r\n250-CHUNKING\r\n250-PIPELINING\r\n250 AUTH XOAUTH2\r\n",
            false,
            "RCPT TO:<a@b.c>\r\nDATA\r\n",
        ),
    ] {
        let mut settings = implicit();
        settings.chunking = chunking_setting;
        let mut c = client_with_token(settings, TOKEN.as_bytes());
        let mut out = [0u8; 512];
        let mut wire = String::new();
        for reply in [&b"220 x\r\n"[..], caps.as_bytes(), b"235 ok\r\n"] {
            let _ = c.handle_input(Instant::ZERO, reply);
            while let Some(t) = c.poll_transmit(Instant::ZERO, &mut out).unwrap() {
                wire.push_str(&String::from_utf8_lossy(&out[..t.len]));
            }
        }
        c.send_message(Instant::ZERO, envelope("a@b.c")).unwrap();
        while let Some(t) = c.poll_transmit(Instant::ZERO, &mut out).unwrap() {
            wire.push_str(&String::from_utf8_lossy(&out[..t.len]));
        }
        let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
        assert!(
            !events.contains(&Event::ReadyForBody),
            "DATA path waits for 354"
        );
        assert!(wire.ends_with(wire_ends), "{wire}");
    }
}

proptest! {
    /// BDAT chunks, reassembled by their sizes as a server does, give the
    /// body with CRLF line ends whatever the buffer size and input cuts.
    #[test]
    fn chunks_reassemble_to_the_normalised_body(
        body in proptest::collection::vec(prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), any::<u8>()], 0..600),
        out_len in 32usize..200,
        cut in 1usize..100,
    ) {
        let mut c = chunking_client();
        c.send_message(Instant::ZERO, envelope("a@b.c")).unwrap();
        let mut out = vec![0u8; out_len];
        while c.poll_transmit(Instant::ZERO, &mut out).unwrap().is_some() {}
        let mut wire = Vec::new();
        for piece in body.chunks(cut) {
            let mut input = piece;
            while !input.is_empty() {
                let p = c.write_body(input, &mut out).unwrap();
                prop_assert!(p.written <= out_len);
                wire.extend_from_slice(&out[..p.written]);
                input = &input[p.consumed..];
            }
        }
        c.finish_body(Instant::ZERO).unwrap();
        while let Some(t) = c.poll_transmit(Instant::ZERO, &mut out).unwrap() {
            wire.extend_from_slice(&out[..t.len]);
        }
        // Server side: BDAT <n>[ LAST]\r\n then n octets.
        let mut rest = &wire[..];
        let mut got = Vec::new();
        let mut last = false;
        while !rest.is_empty() {
            prop_assert!(!last, "octets after LAST");
            let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let header = std::str::from_utf8(&rest[..eol]).unwrap();
            let mut words = header.split(' ');
            prop_assert_eq!(words.next(), Some("BDAT"));
            let n: usize = words.next().unwrap().parse().unwrap();
            last = words.next() == Some("LAST");
            got.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
            rest = &rest[eol + 2 + n..];
        }
        prop_assert!(last);
        let mut want = Vec::new();
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'\r' if body.get(i + 1) == Some(&b'\n') => { want.extend_from_slice(b"\r\n"); i += 1; }
                b'\r' | b'\n' => want.extend_from_slice(b"\r\n"),
                b => want.push(b),
            }
            i += 1;
        }
        if !want.is_empty() && !want.ends_with(b"\r\n") {
            want.extend_from_slice(b"\r\n");
        }
        prop_assert_eq!(got, want);
    }
}

/// R-LOG: a whole session's Debug output, events, error texts and replies
/// never show any part of the token.
#[test]
fn no_part_of_the_token_in_any_debug_or_error_text() {
    let token = "SECRETxTOKENxVALUExDISTINCTIVE0123456789";
    let mut c = client_with_token(starttls(), token.as_bytes());
    let mut seen = String::new();
    let mut out = [0u8; 512];
    let script: [&[u8]; 6] = [
        b"220 x\r\n",
        b"250-x\r\n250 STARTTLS\r\n",
        b"220 go\r\n",
        b"250-x\r\n250 AUTH XOAUTH2\r\n",
        b"334 eyJzdGF0dXMiOiI0MDEifQ==\r\n",
        b"535 5.7.8 no\r\n",
    ];
    for reply in script {
        let _ = c.handle_input(Instant::ZERO, reply);
        seen.push_str(&format!("{c:?}"));
        while let Some(ev) = c.poll_event() {
            seen.push_str(&format!("{ev:?}"));
            if let Event::Failed { error } | Event::MessageFailed { error } = ev {
                seen.push_str(&error.to_string());
            }
            if ev == Event::UpgradeTls {
                c.handle_tls_established(Instant::ZERO).unwrap();
            }
        }
        while c.poll_transmit(Instant::ZERO, &mut out).unwrap().is_some() {}
        if let Some(r) = c.last_reply() {
            seen.push_str(&format!("{r:?}{r}"));
        }
    }
    assert!(
        seen.contains("AuthRejected"),
        "the session got as far as AUTH"
    );
    for window in token.as_bytes().windows(8) {
        let part = std::str::from_utf8(window).unwrap();
        assert!(!seen.contains(part), "token fragment {part:?} in {seen}");
    }
}

/// A token lent late: the session stops before AUTH, asks for it, and goes
/// on when it comes; no timer runs while it waits.
#[test]
fn token_lent_when_the_client_asks() {
    let mut c = Client::new(Instant::ZERO, implicit(), Address::parse(USER).unwrap());
    let mut out = [0u8; 512];
    let mut wire = String::new();
    for reply in [&b"220 x\r\n"[..], b"250-x\r\n250 AUTH XOAUTH2\r\n"] {
        let _ = c.handle_input(Instant::ZERO, reply);
        while let Some(t) = c.poll_transmit(Instant::ZERO, &mut out).unwrap() {
            wire.push_str(&String::from_utf8_lossy(&out[..t.len]));
        }
    }
    assert_eq!(c.poll_event(), Some(Event::NeedToken));
    assert_eq!(c.poll_timeout(), None);
    assert_eq!(wire, "EHLO printer.example.com\r\n");
    assert!(c.set_token(Instant::ZERO, b"").is_err());
    assert!(c.set_token(Instant::ZERO, &vec![b'a'; 5000]).is_err());
    c.set_token(Instant::from_millis(5), TOKEN.as_bytes())
        .unwrap();
    let t = c
        .poll_transmit(Instant::from_millis(5), &mut out)
        .unwrap()
        .unwrap();
    assert!(t.sensitive);
    assert!(out[..t.len].starts_with(b"AUTH XOAUTH2 dXNl"));
}

/// Issue 15 (defect 3): a TLS handshake that fails after the `220` to
/// STARTTLS (a refused certificate) ends the session with the driver's
/// diagnostic, as on implicit TLS, not E325 "connection closed"; and the
/// `220` is not a reply to report with it. Outside the handshake it is a
/// close.
#[test]
fn a_failed_starttls_handshake_carries_the_drivers_diagnostic() {
    use mfp_oauth_core::diag::{Diagnostic, Id};
    use mfp_oauth_core::smtp::{Error, Stage};
    let mut c = client_with_token(starttls(), TOKEN.as_bytes());
    let mut out = [0u8; 512];
    for reply in [
        &b"220 x\r\n"[..],
        b"250-x\r\n250 STARTTLS\r\n",
        b"220 2.0.0 go ahead\r\n",
    ] {
        let _ = c.handle_input(Instant::ZERO, reply);
        while c.poll_transmit(Instant::ZERO, &mut out).unwrap().is_some() {}
    }
    assert_eq!(c.poll_event(), Some(Event::UpgradeTls));
    c.handle_tls_failed(Instant::ZERO, Id::CertificateWrongName);
    let error = Error::TlsFailed {
        diag: Id::CertificateWrongName,
    };
    assert_eq!(c.poll_event(), Some(Event::Failed { error }));
    assert!(c.is_closed());
    assert_eq!(error.diag(), Id::CertificateWrongName);
    assert!(!error.from_reply());
    assert!(!Error::ConnectionClosed { stage: Stage::Ehlo }.from_reply());

    // Before STARTTLS there is no handshake to fail: a close.
    let mut c = client_with_token(starttls(), TOKEN.as_bytes());
    let _ = c.handle_input(Instant::ZERO, b"220 x\r\n");
    c.handle_tls_failed(Instant::ZERO, Id::CertificateWrongName);
    assert_eq!(
        c.poll_event(),
        Some(Event::Failed {
            error: Error::ConnectionClosed { stage: Stage::Ehlo }
        })
    );
}
