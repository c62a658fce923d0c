//! R-XPORT: a job through a mail API runs in the same mailer, plans and
//! link calls as an SMTP job; a refused token is refreshed and the request
//! asked again on a new connection.

use super::*;
use crate::config::Transport;

fn graph_mailer() -> Mailer {
    let mut s = valid(SenderMode::AdminFixedAddress);
    s.transport = Transport::Graph;
    s.smtp = None;
    let mut m = Mailer::new(s, TokenStore::new());
    store_admin_token(&mut m, at(0), b"AT-1", b"RT-1");
    m
}

/// The administrator's tokens, acquired at `now`.
fn store_admin_token(m: &mut Mailer, now: Instant, access: &[u8], refresh: &[u8]) {
    m.store_mut()
        .store_acquired(
            now,
            None,
            &TokenOwner::Admin,
            &addr(ADMIN),
            grant(access, Some(refresh)),
        )
        .unwrap();
}

/// A Graph job of [`BODY`] submitted at 1 s, its connection open.
fn graph_session() -> Mailer {
    let mut m = graph_mailer();
    let to = [addr("bob@fabrikam.com")];
    let job = Job {
        size: Some(BODY.len() as u64),
        ..scan(&to, None)
    };
    m.submit(at(1), &job).unwrap();
    m.connected(at(1), "mfp").unwrap();
    m
}

#[test]
fn another_transport_asks_for_the_tokens_again() {
    // Its scope differs: the tokens held were granted for the other one.
    let mut m = with_admin_token(b"AT", b"RT");
    let mut s = m.settings().clone();
    s.transport = Transport::Graph;
    let applied = m.apply_settings(s).unwrap();
    assert!(applied.admin_token_invalidated && applied.user_tokens_invalidated);
}

/// Carry the link: every transmit into `wire`, the body streamed on
/// `ReadyForBody`; `answer` is fed once the request's head is out and
/// again after the body (`None`: nothing).
fn carry(m: &mut Mailer, now: Instant, body: &[u8], answers: &[&[u8]]) -> (Vec<u8>, Vec<Step>) {
    let mut wire = Vec::new();
    let mut steps = Vec::new();
    let mut out = [0u8; 512];
    let mut answers = answers.iter();
    for _ in 0..64 {
        while let Some(tx) = m.poll_smtp_transmit(now, &mut out).unwrap_or(None) {
            wire.extend_from_slice(&out[..tx.len]);
        }
        let mut progressed = false;
        while let Some(step) = m.poll_event(now) {
            progressed = true;
            if step == Step::Smtp(Event::ReadyForBody) {
                let mut rest = body;
                while !rest.is_empty() {
                    let p = m.write_smtp_body(rest, &mut out).unwrap();
                    wire.extend_from_slice(&out[..p.written]);
                    rest = &rest[p.consumed..];
                }
                m.finish_smtp_body(now).unwrap();
            }
            let over = matches!(step, Step::PlanChanged);
            steps.push(step);
            if over {
                return (wire, steps);
            }
        }
        if !progressed {
            match answers.next() {
                Some(a) => {
                    m.handle_smtp_input(now, a).unwrap();
                }
                None => break,
            }
        }
    }
    (wire, steps)
}

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

#[test]
fn a_graph_job_connects_with_tls_to_graph_and_is_done_on_202() {
    let mut m = graph_mailer();
    let to = [addr("bob@fabrikam.com")];
    let job = Job {
        size: Some(BODY.len() as u64),
        ..scan(&to, None)
    };
    assert_eq!(
        m.submit(at(1), &job).unwrap(),
        Plan::Connect {
            host: "graph.microsoft.com".try_into().unwrap(),
            port: 443,
            security: Security::ImplicitTls,
        }
    );
    assert_eq!(m.connected(at(1), "mfp").unwrap(), Plan::Session);
    assert!(m.has_api_session());
    let (wire, steps) = carry(
        &mut m,
        at(1),
        BODY,
        &[
            CONTINUE,
            b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
        ],
    );
    let wire = String::from_utf8(wire).unwrap();
    assert!(wire.starts_with("POST /v1.0/me/sendMail HTTP/1.1\r\nHost: graph.microsoft.com\r\nAuthorization: Bearer AT-1\r\n"));
    assert!(wire.ends_with(&base64::engine::general_purpose::STANDARD.encode(BODY)));
    assert_eq!(steps.last(), Some(&Step::PlanChanged));
    assert!(matches!(m.plan(), Plan::Done { reply, accepted: 1, refused: 0 } if reply.code == 202));
    assert_eq!(
        m.last_reply().unwrap().to_string(),
        "202 message accepted by the mail API"
    );
}

#[test]
fn a_token_refused_by_graph_is_refreshed_and_the_request_asked_again() {
    let mut m = graph_session();
    let (_, steps) = carry(
        &mut m,
        at(1),
        BODY,
        &[b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"],
    );
    assert!(
        !steps.contains(&Step::Smtp(Event::ReadyForBody)),
        "no body for a refused token"
    );
    assert_eq!(
        m.plan(),
        &Plan::TokenExchange {
            owner: TokenOwner::Admin
        }
    );
    // The new token: a new connection, the request again.
    let plan = m
        .exchange_succeeded(at(2), None, grant(b"AT-2", None))
        .unwrap();
    assert!(matches!(
        plan,
        Plan::Connect {
            security: Security::ImplicitTls,
            ..
        }
    ));
    assert!(!m.has_api_session());
    m.connected(at(2), "mfp").unwrap();
    let (wire, _) = carry(
        &mut m,
        at(2),
        BODY,
        &[
            CONTINUE,
            b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
        ],
    );
    assert!(String::from_utf8(wire).unwrap().contains("Bearer AT-2\r\n"));
    assert!(matches!(m.plan(), Plan::Done { .. }));
}

#[test]
fn an_api_job_without_its_size_or_over_the_limit_fails_before_anything_is_sent() {
    let mut m = graph_mailer();
    let to = [addr("bob@fabrikam.com")];
    m.submit(at(1), &scan(&to, None)).unwrap();
    assert_eq!(
        m.connected(at(1), "mfp").unwrap(),
        Plan::Failed {
            diag: Id::MessageSizeRequired
        }
    );
    // Known at the submit: no connection is asked for.
    let big = Job {
        size: Some(GRAPH_LIMIT + 1),
        ..scan(&to, None)
    };
    assert_eq!(
        m.submit(at(2), &big).unwrap(),
        Plan::Failed {
            diag: Id::ApiMessageTooLarge
        }
    );
    // Given after the submit: the session refuses it once connected,
    // before any octet.
    m.submit(at(3), &scan(&to, None)).unwrap();
    m.set_message_size(GRAPH_LIMIT + 1).unwrap();
    assert_eq!(
        m.connected(at(3), "mfp").unwrap(),
        Plan::Failed {
            diag: Id::ApiMessageTooLarge
        }
    );
    assert!(!m.has_api_session());
}

/// Graph's largest message (through a draft and upload sessions).
const GRAPH_LIMIT: u64 = 150 * 1024 * 1024;

#[test]
fn the_transport_rules_name_what_is_wrong() {
    use crate::config::ConfigError;
    let mut s = valid(SenderMode::AdminFixedAddress);
    s.transport = Transport::GmailApi;
    assert!(s
        .validate()
        .contains(ConfigError::TransportProviderMismatch));
    s.transport = Transport::Graph;
    s.smtp = None;
    assert!(s.validate().is_empty(), "Graph needs no SMTP server");
    s.api_url = "http://graph.example".try_into().unwrap();
    assert!(s.validate().contains(ConfigError::ApiUrlInvalid));
    s.api_url.clear();
    s.provider = ProviderKind::Custom;
    assert!(s.validate().contains(ConfigError::ApiUrlInvalid));
    s.api_url = "https://127.0.0.1:9443".try_into().unwrap();
    s.custom.scope = "https://outlook.office.com/SMTP.Send offline_access"
        .try_into()
        .unwrap();
    assert!(s.validate().contains(ConfigError::TransportScopeMissing));
    s.custom.scope = "https://graph.microsoft.com/Mail.Send offline_access"
        .try_into()
        .unwrap();
    assert!(!s.validate().contains(ConfigError::TransportScopeMissing));
    // Microsoft with Graph asks for Graph's scope (with Mail.ReadWrite for
    // the draft and upload sessions of a large message); Google with its
    // API for gmail.send.
    let mut s = valid(SenderMode::AdminFixedAddress);
    s.transport = Transport::Graph;
    assert_eq!(
        s.provider_profile().unwrap().scope(),
        "https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.ReadWrite offline_access"
    );
    s.provider = ProviderKind::Google;
    s.transport = Transport::GmailApi;
    assert_eq!(
        s.provider_profile().unwrap().scope(),
        crate::provider::GMAIL_SEND_SCOPE
    );
}

#[test]
fn a_throttled_request_waits_out_retry_after_then_is_asked_again_a_few_times() {
    let mut m = graph_session();
    let throttled: &[u8] =
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n";
    let (_, steps) = carry(&mut m, at(1), BODY, &[throttled]);
    assert_eq!(steps.last(), Some(&Step::PlanChanged));
    assert!(matches!(m.plan(), Plan::Connect { .. }), "{:?}", m.plan());
    assert_eq!(m.api_retry_at(), Some(at(31)));
    // On the new connection nothing goes out before the server's time.
    m.connected(at(2), "mfp").unwrap();
    let mut out = [0u8; 512];
    assert_eq!(m.poll_smtp_transmit(at(2), &mut out).unwrap(), None);
    assert_eq!(m.poll_smtp_timeout().unwrap(), Some(at(31)));
    m.handle_smtp_timeout(at(31)).unwrap();
    // Throttled again, without Retry-After: 10 s, then 20 s; a fourth time
    // fails the job with E705.
    let bare: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    let (wire, _) = carry(&mut m, at(31), BODY, &[bare]);
    assert!(wire.starts_with(b"POST /v1.0/me/sendMail"));
    assert_eq!(m.api_retry_at(), Some(at(41)));
    for (start, next) in [(41, Some(at(61))), (61, None)] {
        m.connected(at(start), "mfp").unwrap();
        m.handle_smtp_timeout(at(start)).unwrap();
        carry(&mut m, at(start), BODY, &[bare]);
        if let Some(next) = next {
            assert_eq!(m.api_retry_at(), Some(next));
        }
    }
    // The fourth refusal ends the job.
    assert!(!m.has_api_session());
    assert_eq!(
        m.plan(),
        &Plan::Failed {
            diag: Id::ApiThrottled
        }
    );
}

#[test]
fn a_retry_after_beyond_what_a_job_waits_fails_it_at_once() {
    let mut m = graph_session();
    let long: &[u8] =
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3600\r\nContent-Length: 0\r\n\r\n";
    carry(&mut m, at(1), BODY, &[long]);
    assert_eq!(
        m.plan(),
        &Plan::Failed {
            diag: Id::ApiThrottled
        }
    );
    assert_eq!(m.last_reply().unwrap().code.code, 429);
}

#[test]
fn a_connection_closed_while_waiting_out_retry_after_is_opened_again() {
    let mut m = graph_session();
    let throttled: &[u8] =
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 60\r\nContent-Length: 0\r\n\r\n";
    carry(&mut m, at(1), BODY, &[throttled]);
    m.connected(at(2), "mfp").unwrap();
    // The server drops the idle connection before the wait is over:
    // nothing of the request went out, so a new one waits on.
    m.handle_smtp_close(at(30)).unwrap();
    let mut changed = false;
    while let Some(step) = m.poll_event(at(30)) {
        changed |= step == Step::PlanChanged;
    }
    assert!(changed);
    assert!(matches!(m.plan(), Plan::Connect { .. }), "{:?}", m.plan());
    assert_eq!(m.api_retry_at(), Some(at(61)));
}

/// A Graph job whose first request was throttled at 1 s with
/// `Retry-After: 30`: its plan is a new connection.
fn throttled_graph_job() -> Mailer {
    let mut m = graph_session();
    let throttled: &[u8] =
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n";
    carry(&mut m, at(1), BODY, &[throttled]);
    assert!(matches!(m.plan(), Plan::Connect { .. }), "{:?}", m.plan());
    m
}

#[test]
fn a_request_asked_again_sends_the_size_and_recipients_the_job_kept() {
    // R-MEM: the job's first request reads the message's size and
    // recipient count from the staged envelope, which is wiped when the
    // place holds the API session; a request asked again on a new
    // connection uses what the job kept, and the size can no longer
    // change.
    let mut m = throttled_graph_job();
    assert_eq!(m.set_message_size(10), Err(MailerError::WrongState));
    m.connected(at(2), "mfp").unwrap();
    m.handle_smtp_timeout(at(31)).unwrap();
    let (wire, _) = carry(
        &mut m,
        at(31),
        BODY,
        &[
            CONTINUE,
            b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
        ],
    );
    let wire = String::from_utf8(wire).unwrap();
    let body = base64::engine::general_purpose::STANDARD.encode(BODY);
    assert!(
        wire.contains(&format!("\r\nContent-Length: {}\r\n", body.len())),
        "{wire}"
    );
    assert!(wire.ends_with(&body));
    assert!(matches!(m.plan(), Plan::Done { reply, accepted: 1, refused: 0 } if reply.code == 202));
}

#[test]
fn a_job_begun_through_graph_fails_clearly_if_the_transport_becomes_smtp() {
    // Its envelope went with its first request (R-MEM): the administrator
    // changed the transport while the job waited out `Retry-After`, so the
    // job fails with E103 instead of an SMTP session without recipients.
    let mut m = throttled_graph_job();
    let applied = m
        .apply_settings(valid(SenderMode::AdminFixedAddress))
        .unwrap();
    assert!(applied.admin_token_invalidated);
    store_admin_token(&mut m, at(2), b"AT-2", b"RT-2");
    assert_eq!(
        m.connected(at(31), "mfp").unwrap(),
        Plan::Failed {
            diag: Id::WrongState
        }
    );
    assert!(!m.has_smtp_session());
}
