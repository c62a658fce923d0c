//! Hostile SMTP servers (issue 9, item 3; R-SMTP, R-SASL, R-DIAG): a server
//! that closes after any octet, never answers at some step, dribbles,
//! sends replies without end or lines longer than any buffer, or answers
//! AUTH with endless or garbage `334` challenges. Each case ends in one
//! specific error with its diagnostic, never a panic, never a message
//! reported sent that the server did not take, and never a token outside a
//! transmit marked sensitive.

use mfp_oauth_core::smtp::{Client, Event, MechanismPreference, Security, Settings};
use mfp_oauth_core::{Address, Instant};
use mfp_oauth_tests::smtp::{normalise, run, run_cut, Feed};

const USER: &str = "scanner@contoso.com";
const TOKEN: &str = "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA";
const AUTH_LINE: &str = "C: AUTH XOAUTH2 dXNlcj1zY2FubmVyQGNvbnRvc28uY29tAWF1dGg9QmVhcmVyIEV3QkFBbDNCQUFVRkZwVUFvN0ozVmUwYmpMQldaV0NjbFJDM0VvQUEBAQ==";

fn settings(security: Security, preference: MechanismPreference) -> Settings {
    let mut s = Settings::new(security, "printer.example.com", "smtp.example.com", 587).unwrap();
    s.mechanism = preference;
    s
}

fn starttls() -> Settings {
    settings(Security::StartTls, MechanismPreference::Xoauth2)
}

fn implicit() -> Settings {
    settings(Security::ImplicitTls, MechanismPreference::Xoauth2)
}

/// Implicit TLS: greeting, EHLO offering XOAUTH2, and the AUTH line.
fn up_to_auth() -> String {
    format!(
        "S: 220 x\nC: EHLO printer.example.com\nS: 250-x\nS: 250 AUTH XOAUTH2\nE: Authenticating XOAUTH2 initial-response\n{AUTH_LINE}\n"
    )
}

/// Play `script` (line by line, then one octet at a time with a 7-octet
/// output buffer): it must be observed exactly as written, without a leak.
fn assert_transcript(script: &str, settings: Settings) {
    let obs = run(script, settings.clone(), USER, TOKEN, Feed::Lines, 4096);
    assert_eq!(obs.transcript, normalise(script));
    assert_eq!(obs.leaked_transmits, 0);
    let bytes = run(script, settings, USER, TOKEN, Feed::Bytes, 7);
    assert_eq!(bytes.events, obs.events);
    assert_eq!(bytes.client_lines, obs.client_lines);
    assert_eq!(bytes.leaked_transmits, 0);
}

/// Every transcript of `tests/transcripts`, with the settings it is played
/// with in `smtp_transcripts.rs`.
fn transcripts() -> Vec<(
    &'static str,
    &'static str,
    Settings,
    &'static str,
    &'static str,
)> {
    use MechanismPreference::{OAuthBearer, Xoauth2};
    use Security::{ImplicitTls, StartTls};
    macro_rules! t {
        ($file:literal, $sec:ident, $pref:ident) => {
            t!($file, $sec, $pref, USER, TOKEN)
        };
        ($file:literal, $sec:ident, $pref:ident, $user:expr, $token:expr) => {
            (
                $file,
                include_str!(concat!("../transcripts/", $file)),
                settings($sec, $pref),
                $user,
                $token,
            )
        };
    }
    vec![
        t!("starttls_pipelined.txt", StartTls, Xoauth2),
        t!(
            "implicit_tls_gmail.txt",
            ImplicitTls,
            Xoauth2,
            "someuser@gmail.com",
            "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
        ),
        t!("no_starttls_refused.txt", StartTls, Xoauth2),
        t!("error_challenge_xoauth2.txt", StartTls, Xoauth2),
        t!("error_challenge_oauthbearer.txt", StartTls, OAuthBearer),
        t!("pipelined_one_refused.txt", ImplicitTls, Xoauth2),
        t!("pipelined_all_refused.txt", ImplicitTls, Xoauth2),
        t!("sequential_all_refused.txt", ImplicitTls, Xoauth2),
        t!("smtp_auth_disabled.txt", StartTls, Xoauth2),
        t!("greeting_timeout.txt", StartTls, Xoauth2),
        t!("closed_mid_data.txt", ImplicitTls, Xoauth2),
        t!("size_exceeded.txt", ImplicitTls, Xoauth2),
        t!("bdat_pipelined.txt", ImplicitTls, Xoauth2),
        t!("bdat_all_refused.txt", ImplicitTls, Xoauth2),
    ]
}

fn is_terminal(event: &str) -> bool {
    event == "Closed" || event.starts_with("Failed ")
}

/// Issue 9: a server that closes at every possible point. For every
/// transcript and every octet offset of the server's stream, the client
/// sees exactly what it saw up to there in the full session, then one
/// terminal event: `Closed` after QUIT, otherwise `Failed E325` (connection
/// closed) with the stage, or `Failed E330` (delivery unknown) once the end
/// of data has gone out and before its reply: always so where the session
/// delivered the message, never before the end of data (issue 15). No
/// `MessageSent` unless the server's reply to the end of data was whole;
/// nothing sent after the close; no token leak.
#[test]
fn closing_after_every_server_octet_of_every_transcript() {
    let mut cuts_played = 0usize;
    for (name, script, settings, user, token) in transcripts() {
        let full = run(script, settings.clone(), user, token, Feed::Lines, 512);
        assert_eq!(full.transcript, normalise(script), "{name}");
        for cut in 0..=full.server_bytes {
            let obs = run_cut(script, settings.clone(), user, token, cut, 512);
            cuts_played += 1;
            let seen = full.event_offsets.iter().filter(|&&o| o <= cut).count();
            let before = &full.events[..seen];
            assert_eq!(
                &obs.events[..seen.min(obs.events.len())],
                before,
                "{name} cut at {cut}"
            );
            let added = &obs.events[seen.min(obs.events.len())..];
            let end_sent = obs
                .client_lines
                .iter()
                .any(|l| l == "." || (l.starts_with("BDAT ") && l.ends_with(" LAST")));
            let delivered = |events: &[String]| events.iter().any(|e| e.starts_with("MessageSent"));
            if before.iter().any(|e| is_terminal(e)) {
                assert!(added.is_empty(), "{name} cut at {cut}: {added:?}");
            } else {
                assert_eq!(added.len(), 1, "{name} cut at {cut}: {added:?}");
                let last = &added[0];
                if end_sent && delivered(&full.events) && !delivered(&obs.events) {
                    // The server may have taken the message: never "try again".
                    assert!(
                        last.starts_with("Failed E330 "),
                        "{name} cut at {cut}: {last}"
                    );
                } else if last.starts_with("Failed E330 ") {
                    assert!(
                        end_sent,
                        "{name} cut at {cut}: unknown before the end of data"
                    );
                    assert!(!delivered(&obs.events), "{name} cut at {cut}");
                } else {
                    assert!(
                        last == "Closed" || last.starts_with("Failed E325 connection closed at "),
                        "{name} cut at {cut}: {last}"
                    );
                }
            }
            assert!(obs.closed, "{name} cut at {cut}: session not over");
            assert_eq!(
                obs.transmits_after_close, 0,
                "{name} cut at {cut}: wrote after the close"
            );
            assert_eq!(obs.leaked_transmits, 0, "{name} cut at {cut}");
            assert!(
                full.client_lines.starts_with(&obs.client_lines),
                "{name} cut at {cut}: {:?}",
                obs.client_lines
            );
            let sent = |events: &[String]| {
                events
                    .iter()
                    .filter(|e| e.starts_with("MessageSent"))
                    .count()
            };
            assert_eq!(sent(&obs.events), sent(before), "{name} cut at {cut}");
        }
    }
    assert!(cuts_played > 4_000, "{cuts_played}");
}

/// One step of a session at which the client waits for the server: the
/// transcript up to there, the stage named in the error, and the RFC 5321
/// §4.5.3.2 minimum it waits.
struct Phase {
    name: &'static str,
    script: String,
    stage: &'static str,
    wait_ms: u64,
    settings: Settings,
}

fn phases() -> Vec<Phase> {
    let ehlo1 = "S: 220 mail.example.org ESMTP\nC: EHLO printer.example.com\n".to_string();
    let starttls_cmd = format!("{ehlo1}S: 250-mail.example.org\nS: 250 STARTTLS\nC: STARTTLS\n");
    let ehlo2 = format!(
        "{starttls_cmd}S: 220 2.0.0 go ahead\nE: UpgradeTls\n! tls\nC: EHLO printer.example.com\n"
    );
    let auth = format!(
        "{ehlo2}S: 250-mail.example.org\nS: 250 AUTH XOAUTH2\nE: Authenticating XOAUTH2 initial-response\n{AUTH_LINE}\n"
    );
    let after_challenge = format!("{auth}S: 334 eyJzdGF0dXMiOiI0MDEifQ==\nC:\n");
    let ready = format!("{auth}S: 235 2.7.0 OK\nE: Authenticated XOAUTH2\nE: Ready\n");
    let mail = format!(
        "{ready}! send scanner@contoso.com a@contoso.com\nC: MAIL FROM:<scanner@contoso.com>\n"
    );
    let rcpt = format!("{mail}S: 250 2.1.0 OK\nC: RCPT TO:<a@contoso.com>\n");
    let data = format!("{rcpt}S: 250 2.1.5 OK\nC: DATA\n");
    let data_end =
        format!("{data}S: 354 go\nE: ReadyForBody\n! body hello\n! end\nC: hello\nC: .\n");
    let rset = format!(
        "{mail}S: 550 5.1.8 bad sender\nE: MessageFailed E315 server refused at Mail: 550 5.1.8\nC: RSET\n"
    );
    let quit = format!("{ready}! quit\nC: QUIT\n");
    // Implicit TLS with CHUNKING and PIPELINING: the body goes as BDAT
    // chunks and the replies to the chunks are awaited as the final dot's.
    let bdat = format!(
        "S: 220 x\nC: EHLO printer.example.com\nS: 250-x\nS: 250-PIPELINING\nS: 250-CHUNKING\nS: 250 AUTH XOAUTH2\nE: Authenticating XOAUTH2 initial-response\n{AUTH_LINE}\nS: 235 ok\nE: Authenticated XOAUTH2\nE: Ready\n! send scanner@contoso.com a@contoso.com\nE: ReadyForBody\nC: MAIL FROM:<scanner@contoso.com>\nC: RCPT TO:<a@contoso.com>\n! body hi\\n\nC: BDAT 4\nC: hi\n! end\nC: BDAT 0 LAST\nS: 250 ok\nS: 250 ok\n"
    );
    let min = 60_000;
    let phase = |name, script: String, stage, wait_ms| Phase {
        name,
        script,
        stage,
        wait_ms,
        settings: starttls(),
    };
    vec![
        phase("greeting", String::new(), "Greeting", 5 * min),
        phase("first EHLO", ehlo1, "Ehlo", 5 * min),
        phase("STARTTLS", starttls_cmd, "StartTls", 5 * min),
        phase("EHLO after TLS", ehlo2, "Ehlo", 5 * min),
        phase("AUTH", auth, "Auth", 5 * min),
        phase(
            "AUTH after the error challenge",
            after_challenge,
            "Auth",
            5 * min,
        ),
        phase("MAIL", mail, "Mail", 5 * min),
        phase("RCPT", rcpt, "Rcpt", 5 * min),
        phase("DATA initiation", data, "Data", 2 * min),
        phase("final dot", data_end, "DataEnd", 10 * min),
        phase("RSET", rset, "Rset", 5 * min),
        phase("QUIT", quit, "Quit", 5 * min),
        Phase {
            settings: implicit(),
            ..phase("BDAT chunks", bdat, "DataEnd", 10 * min)
        },
    ]
}

/// Issue 9 / RFC 5321 §4.5.3.2: a server that never answers. At every step
/// the deadline is the RFC's minimum (5 minutes, 2 for the `354`, 10 after
/// the final dot): one millisecond before it nothing happens, at it the
/// session fails with E324 naming the step, and nothing more is written.
/// After the whole end of data (the final dot, `BDAT 0 LAST`) it is E330
/// instead, delivery unknown: the server may have taken the message and
/// only its reply is missing, so "try again" could send it twice (issue
/// 15).
#[test]
fn a_silent_server_times_out_at_every_step_with_the_rfc_minimum() {
    for p in phases() {
        let failed = if p.stage == "DataEnd" {
            "E330 no reply in time after the end of the message: delivery unknown".to_string()
        } else {
            format!("E324 no reply in time at {}", p.stage)
        };
        let script = format!(
            "{}! advance {}\n! timeout\n! advance 1\n! timeout\nE: Failed {failed}\n",
            p.script,
            p.wait_ms - 1,
        );
        let obs = run(&script, p.settings.clone(), USER, TOKEN, Feed::Lines, 4096);
        assert_eq!(obs.transcript, normalise(&script), "{}", p.name);
        assert!(obs.closed, "{}", p.name);
        assert_eq!(obs.leaked_transmits, 0, "{}", p.name);
    }
}

/// While TLS is being negotiated, and while the firmware streams the body
/// after the `354`, no reply is awaited: the core sets no deadline, the
/// driver's handshake and send timeouts bound those steps (RFC 5321
/// §4.5.3.2.5: the data block timeout is on each TCP send).
#[test]
fn no_core_deadline_while_the_driver_owns_the_step() {
    let handshake = "S: 220 x\nC: EHLO printer.example.com\nS: 250-x\nS: 250 STARTTLS\nC: STARTTLS\nS: 220 go\nE: UpgradeTls\n! advance 86400000\n! timeout\n";
    assert_transcript(handshake, starttls());
    let body = format!(
        "{}S: 235 ok\nE: Authenticated XOAUTH2\nE: Ready\n! send scanner@contoso.com a@contoso.com\nC: MAIL FROM:<scanner@contoso.com>\nS: 250 ok\nC: RCPT TO:<a@contoso.com>\nS: 250 ok\nC: DATA\nS: 354 go\nE: ReadyForBody\n! advance 86400000\n! timeout\n! body late but fine\n! end\nC: late but fine\nC: .\nS: 250 queued\nE: MessageSent 250 accepted=1 refused=0\nE: Ready\n",
        up_to_auth()
    );
    assert_transcript(&body, implicit());
}

/// A server that dribbles a reply one octet a minute does not hold the
/// session: octets are not a reply, and the deadline counts from the
/// command.
#[test]
fn a_dribbling_server_still_times_out() {
    let mut c = Client::new(Instant::ZERO, implicit(), Address::parse(USER).unwrap());
    c.set_token(Instant::ZERO, TOKEN.as_bytes()).unwrap();
    let mut now = 0u64;
    let mut events = Vec::new();
    for &b in b"250-this reply is sent one octet per minute\r\n"
        .iter()
        .cycle()
    {
        now += 60_000;
        let at = Instant::from_millis(now);
        c.handle_timeout(at);
        let _ = c.handle_input(at, &[b]);
        events.extend(std::iter::from_fn(|| c.poll_event()));
        if c.is_closed() {
            break;
        }
    }
    assert_eq!(now, 300_000, "the greeting's 5 minutes");
    assert_eq!(
        events,
        [Event::Failed {
            error: mfp_oauth_core::smtp::Error::Timeout {
                stage: mfp_oauth_core::smtp::Stage::Greeting
            }
        }]
    );
}

/// Issue 9: a multi-line reply without end (`250-` forever, `334-` forever)
/// at every step stops at `MAX_REPLY_LINES` with E323, and a line longer
/// than any buffer stops at `MAX_REPLY_LINE_LEN` with E323, whether it
/// comes whole or one octet at a time.
#[test]
fn endless_replies_and_endless_lines_at_every_step() {
    use mfp_oauth_core::limits::{MAX_REPLY_LINES, MAX_REPLY_LINE_LEN};
    for p in phases() {
        let code = match p.stage {
            "Greeting" => "220",
            "Auth" => "334",
            "Data" => "354",
            _ => "250",
        };
        let mut endless = p.script.clone();
        for _ in 0..MAX_REPLY_LINES {
            endless.push_str(&format!("S: {code}-more\n"));
        }
        endless.push_str(&format!(
            "S: {code}-more\nE: Failed E323 bad reply at {}: reply has too many lines\n",
            p.stage
        ));
        let obs = run(&endless, p.settings.clone(), USER, TOKEN, Feed::Lines, 4096);
        assert_eq!(obs.transcript, normalise(&endless), "{}", p.name);
        assert!(obs.closed);

        // A line longer than any buffer: the client's line buffer holds
        // MAX_REPLY_LINE_LEN octets; the next one fails the session.
        let long = format!("{code}-{}", "x".repeat(4 * MAX_REPLY_LINE_LEN));
        let script = format!(
            "{}S: {long}\nE: Failed E323 bad reply at {}: reply line too long\n",
            p.script, p.stage
        );
        assert_transcript(&script, p.settings.clone());
    }
}

/// The line buffer's exact bound: a line of `MAX_REPLY_LINE_LEN` octets
/// with its line end is read, one octet more is refused; whatever follows
/// the refusal is swallowed without effect.
#[test]
fn the_line_bound_is_exact_and_a_failed_session_ignores_input() {
    use mfp_oauth_core::limits::MAX_REPLY_LINE_LEN;
    let greet = |extra: usize| {
        let mut c = Client::new(Instant::ZERO, starttls(), Address::parse(USER).unwrap());
        let mut line = b"220 ".to_vec();
        line.resize(MAX_REPLY_LINE_LEN - 2 + extra, b'x');
        line.extend_from_slice(b"\r\n");
        let used = c.handle_input(Instant::ZERO, &line);
        assert_eq!(used, line.len());
        let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
        (c, events)
    };
    let (mut c, events) = greet(0);
    assert!(events.is_empty() && !c.is_closed(), "{events:?}");
    let mut out = [0u8; 64];
    let t = c.poll_transmit(Instant::ZERO, &mut out).unwrap().unwrap();
    assert_eq!(&out[..t.len], b"EHLO printer.example.com\r\n");

    let (mut c, events) = greet(1);
    assert_eq!(
        events,
        [Event::Failed {
            error: mfp_oauth_core::smtp::Error::BadReply {
                stage: mfp_oauth_core::smtp::Stage::Greeting,
                error: mfp_oauth_core::wire::reply::ReplyError::LineTooLong,
            }
        }]
    );
    assert!(c.is_closed());
    assert_eq!(c.handle_input(Instant::ZERO, b"220 x\r\n250 y\r\n"), 14);
    assert_eq!(c.poll_event(), None);
    assert_eq!(c.poll_transmit(Instant::ZERO, &mut out), Ok(None));
    assert_eq!(c.poll_timeout(), None);
}

/// Garbage after `334` (not base64, binary, control octets) is still
/// answered with the empty line, and the final reply decides; a server
/// that answers every line with `334` is given up on after two attempts
/// (never a loop).
#[test]
fn garbage_and_endless_334_challenges() {
    let prefix = up_to_auth();
    for garbage in [
        "334 \u{1}\u{7f}%%%==",
        "334 ====",
        "334 e30=",
        "334 W10=",
        "334 bnVsbA==",
    ] {
        let script = format!(
            "{prefix}S: {garbage}\nC:\nS: 535 5.7.8 failed\nE: AuthRejected 535 5.7.8 E307 retry=yes\n"
        );
        assert_transcript(&script, implicit());
    }
    // 334 to everything: the challenge is acknowledged, the next 334 is the
    // (malformed) final answer; one retry, then no more.
    let script = format!(
        "{prefix}S: 334 x\nC:\nS: 334 x\nE: AuthRejected 334 E327 retry=yes\n! retry EwBfresh\nE: Authenticating XOAUTH2 initial-response\nC: AUTH XOAUTH2 dXNlcj1zY2FubmVyQGNvbnRvc28uY29tAWF1dGg9QmVhcmVyIEV3QmZyZXNoAQE=\nS: 334 x\nC:\nS: 334 x\nE: AuthRejected 334 E327 retry=no\n! quit\nC: QUIT\nS: 221 bye\nE: Closed\n"
    );
    assert_transcript(&script, implicit());
}

/// R-SASL: a long error challenge is decoded from the whole `334` line, not
/// from the reply text kept for display (cut at `MAX_REPLY_TEXT_LEN`): a
/// challenge saying `insufficient_scope` after a long scope list is a scope
/// problem (E406, no refresh), not a malformed challenge retried in vain.
#[test]
fn a_long_error_challenge_is_read_whole() {
    use base64::Engine as _;
    let scope = "https://mail.google.com/ ".repeat(12);
    let json = format!(
        r#"{{"schemes":"bearer","scope":"{}","status":"403"}}"#,
        scope.trim_end()
    );
    let challenge = base64::engine::general_purpose::STANDARD.encode(json);
    assert!(challenge.len() > mfp_oauth_core::limits::MAX_REPLY_TEXT_LEN);
    let script = format!(
        "{}S: 334 {challenge}\nC:\nS: 535 5.7.8 failed\nE: AuthRejected 535 5.7.8 E406 retry=no\n",
        up_to_auth()
    );
    assert_transcript(&script, implicit());
}

/// A reply nobody asked for (a desynchronised or injecting server): when
/// the session is idle, or one reply too many in a pipelined flight, the
/// session ends with E322 and nothing more is sent.
#[test]
fn unsolicited_replies_end_the_session() {
    let idle = format!(
        "{}S: 235 2.7.0 OK\nE: Authenticated XOAUTH2\nE: Ready\nS: 250 surprise\nE: Failed E322 unexpected reply 250\n",
        up_to_auth()
    );
    assert_transcript(&idle, implicit());
    let one_too_many = format!(
        "{}S: 235 2.7.0 OK\nE: Authenticated XOAUTH2\nE: Ready\n! send scanner@contoso.com a@contoso.com\nC: MAIL FROM:<scanner@contoso.com>\nS: 250 ok\nC: RCPT TO:<a@contoso.com>\nS: 250 ok\nC: DATA\nS: 354 go\nE: ReadyForBody\n! body hi\\n\nC: hi\n! end\nC: .\nS: 250 queued\nE: MessageSent 250 accepted=1 refused=0\nE: Ready\nS: 250 queued twice\nE: Failed E322 unexpected reply 250\n",
        up_to_auth()
    );
    assert_transcript(&one_too_many, implicit());
}
