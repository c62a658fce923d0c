//! The mail API session and its answers (R-XPORT).

use base64::Engine as _;

use super::classify::{classify, Verdict};
use super::error_body::{self, ErrorParser};
use super::*;
use crate::address::Address;
use crate::diag::Id;
use crate::smtp::{Error, Event, Stage};
use crate::time::{Duration, Instant};

const TOKEN: &[u8] = b"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature";

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn graph_request(size: u64, resume: bool) -> Request<'static> {
    Request {
        api: Api::Graph,
        host: "graph.microsoft.com",
        port: 443,
        base_path: "/",
        mailbox: None,
        size,
        recipients: 2,
        not_before: None,
        resume,
    }
}

fn graph(size: u64) -> Session {
    let mut s = Session::idle();
    s.start(&graph_request(size, false)).unwrap();
    s
}

fn gmail(size: u64) -> Session {
    let mut s = Session::idle();
    s.start(&Request {
        api: Api::Gmail,
        host: "127.0.0.1",
        port: 8443,
        base_path: "/prefix/",
        mailbox: None,
        size,
        recipients: 1,
        not_before: None,
        resume: false,
    })
    .unwrap();
    s
}

/// Every transmit until none is left, with `out` of `chunk` octets.
fn drain(s: &mut Session, now: Instant, chunk: usize) -> (Vec<u8>, bool) {
    let mut all = Vec::new();
    let mut sensitive = false;
    let mut out = vec![0u8; chunk];
    while let Some(tx) = s.poll_transmit(now, &mut out, TOKEN).unwrap() {
        all.extend_from_slice(&out[..tx.len]);
        sensitive |= tx.sensitive;
    }
    (all, sensitive)
}

fn events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// Stream `mime` as the body in `input` pieces into `out` of `out_len`.
fn stream(s: &mut Session, mime: &[u8], input: usize, out_len: usize) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut out = vec![0u8; out_len];
    for piece in mime.chunks(input) {
        let mut rest = piece;
        while !rest.is_empty() {
            let p = s.write_body(rest, &mut out).unwrap();
            wire.extend_from_slice(&out[..p.written]);
            rest = &rest[p.consumed..];
        }
    }
    s.finish_body(t(5)).unwrap();
    let (tail, sensitive) = drain(s, t(5), 8);
    assert!(!sensitive, "the body never carries the token");
    wire.extend_from_slice(&tail);
    wire
}

fn mime(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 13) as u8).collect()
}

#[test]
fn graph_sends_the_message_as_one_base64_string_after_100_continue() {
    let m = mime(1000);
    let mut s = graph(m.len() as u64);
    let (head, sensitive) = drain(&mut s, t(0), 4096);
    assert!(sensitive, "the head carries the token");
    let head = String::from_utf8(head).unwrap();
    let len = m.len().div_ceil(3) * 4;
    assert_eq!(
        head,
        format!(
            "POST /v1.0/me/sendMail HTTP/1.1\r\nHost: graph.microsoft.com\r\nAuthorization: Bearer {}\r\nContent-Type: text/plain\r\nContent-Length: {len}\r\nExpect: 100-continue\r\nConnection: close\r\nUser-Agent: mfp-oauth\r\n\r\n",
            core::str::from_utf8(TOKEN).unwrap()
        )
    );
    // Nothing of the body before `100 Continue`.
    assert_eq!(events(&mut s), []);
    assert!(s.write_body(&m, &mut [0u8; 64]).is_err());
    let cont = b"HTTP/1.1 100 Continue\r\n\r\n";
    assert_eq!(s.handle_input(t(1), cont), cont.len());
    assert_eq!(events(&mut s), [Event::ReadyForBody]);
    for (input, out) in [(1, 32), (7, 33), (500, 4096)] {
        let mut s2 = graph(m.len() as u64);
        drain(&mut s2, t(0), 4096);
        s2.handle_input(t(1), b"HTTP/1.1 100 Continue\r\n\r\n");
        let body = stream(&mut s2, &m, input, out);
        assert_eq!(
            body,
            base64::engine::general_purpose::STANDARD
                .encode(&m)
                .into_bytes(),
            "input pieces of {input}, output of {out}"
        );
    }
    let body = stream(&mut s, &m, 333, 100);
    assert_eq!(body.len(), len);
    assert_eq!(s.poll_timeout(), Some(t(5) + ANSWER_TIMEOUT));
    s.handle_input(
        t(6),
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nrequest-id: 1\r\n\r\n",
    );
    let ev = events(&mut s);
    assert!(
        matches!(ev.as_slice(), [Event::MessageSent { code, accepted: 2, refused: 0 }] if code.code == 202),
        "{ev:?}"
    );
    s.quit(t(7));
    assert_eq!(events(&mut s), [Event::Closed]);
    assert!(!s.is_live());
}

#[test]
fn the_head_is_the_same_in_any_pieces() {
    let mut whole = graph(10);
    let (a, _) = drain(&mut whole, t(0), 4096);
    let mut pieces = graph(10);
    let (b, _) = drain(&mut pieces, t(0), 7);
    assert_eq!(a, b);
}

#[test]
fn gmail_uploads_the_mime_octets_under_the_base_path() {
    let m = mime(777);
    let mut s = gmail(m.len() as u64);
    let (head, _) = drain(&mut s, t(0), 4096);
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with(
        "POST /prefix/upload/gmail/v1/users/me/messages/send?uploadType=media HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n"
    ));
    assert!(head.contains("\r\nContent-Type: message/rfc822\r\nContent-Length: 777\r\n"));
    // A server that ignores the expectation: the body goes after the wait.
    assert_eq!(s.poll_timeout(), Some(t(0) + EXPECT_CONTINUE_WAIT));
    s.handle_timeout(t(1));
    assert_eq!(events(&mut s), []);
    s.handle_timeout(t(0) + EXPECT_CONTINUE_WAIT);
    assert_eq!(events(&mut s), [Event::ReadyForBody]);
    assert_eq!(stream(&mut s, &m, 100, 64), m);
    // A chunked answer in pieces.
    let (a, b) = (
        r#"{"id":"18c","threadId":"18c","#,
        r#""labelIds":["SENT"]}"#,
    );
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    for piece in answer.as_bytes().chunks(5) {
        s.handle_input(t(9), piece);
    }
    assert!(matches!(
        events(&mut s).as_slice(),
        [Event::MessageSent { accepted: 1, .. }]
    ));
}

#[test]
fn an_app_only_graph_request_names_the_mailbox_encoded() {
    let a = Address::parse("scan+desk#1@contoso.com").unwrap();
    let mut s = Session::idle();
    s.start(&Request {
        api: Api::Graph,
        host: "graph.microsoft.com",
        port: 443,
        base_path: "/",
        mailbox: Some(&a),
        size: 3,
        recipients: 1,
        not_before: None,
        resume: false,
    })
    .unwrap();
    let (head, _) = drain(&mut s, t(0), 4096);
    assert!(String::from_utf8(head)
        .unwrap()
        .starts_with("POST /v1.0/users/scan+desk%231@contoso.com/sendMail HTTP/1.1\r\n"));
}

#[test]
fn a_message_over_the_request_limit_is_refused_before_anything_is_sent() {
    // Graph: 4 MB of base64 is 3,145,728 octets of message.
    let mut s = Session::idle();
    let req = |api, size| Request {
        api,
        host: "h",
        port: 443,
        base_path: "/",
        mailbox: None,
        size,
        recipients: 1,
        not_before: None,
        resume: false,
    };
    // Graph: up to 3 MiB in one sendMail request; above, the draft and
    // upload sessions (the first pass reads the message, sending
    // nothing), up to 150 MB.
    assert!(s.start(&req(Api::Graph, 3 * 1024 * 1024)).is_ok());
    assert!(!events(&mut s).contains(&Event::ReadyForBody));
    assert!(s.start(&req(Api::Graph, 3 * 1024 * 1024 + 1)).is_ok());
    assert_eq!(events(&mut s), [Event::ReadyForBody]);
    assert!(s.start(&req(Api::Graph, 150 * 1024 * 1024)).is_ok());
    assert_eq!(
        s.start(&req(Api::Graph, 150 * 1024 * 1024 + 1)),
        Err(Id::ApiMessageTooLarge)
    );
    // Gmail: 5 MB in one upload, then resumable up to 35 MiB.
    assert!(s.start(&req(Api::Gmail, 5 * 1024 * 1024 + 1)).is_ok());
    assert!(s.start(&req(Api::Gmail, 36_700_160)).is_ok());
    assert_eq!(
        s.start(&req(Api::Gmail, 36_700_161)),
        Err(Id::ApiMessageTooLarge)
    );
}

fn answered_before_body(answer: &[u8]) -> (Vec<Event>, Session) {
    let mut s = graph(100);
    drain(&mut s, t(0), 4096);
    s.handle_input(t(1), answer);
    (events(&mut s), s)
}

#[test]
fn a_refused_token_asks_for_a_refresh_before_any_body_is_sent() {
    let body = r#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid.","innerError":{"date":"2026-12-07T03:00:00","request-id":"r"}}}"#;
    let answer = format!(
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"\"\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (ev, mut s) = answered_before_body(answer.as_bytes());
    assert!(
        matches!(
            ev.as_slice(),
            [Event::AuthRejected {
                diag: Id::ApiTokenRejected,
                refresh_and_retry: true,
                ..
            }]
        ),
        "{ev:?}"
    );
    assert!(s.write_body(b"x", &mut [0u8; 64]).is_err());
    assert_eq!(
        s.last_reply().unwrap().to_string(),
        "401 InvalidAuthenticationToken: Access token has expired or is not yet valid."
    );
}

#[test]
fn graph_and_google_refusals_get_their_own_diagnostics() {
    let graph_error = |status: u16, code: &str| {
        let body = format!("{{\"error\":{{\"code\":\"{code}\",\"message\":\"m\"}}}}");
        format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let google_error = |status: u16, reason: &str, st: &str| {
        let body = format!(
            "{{\"error\":{{\"code\":{status},\"message\":\"m\",\"errors\":[{{\"message\":\"x\",\"domain\":\"global\",\"reason\":\"{reason}\"}},{{\"reason\":\"other\"}}],\"status\":\"{st}\"}}}}"
        );
        format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    for (answer, diag) in [
        (graph_error(403, "ErrorAccessDenied"), Id::ApiAccessDenied),
        (graph_error(403, "ErrorSendAsDenied"), Id::ApiSendAsDenied),
        (
            graph_error(404, "MailboxNotEnabledForRESTAPI"),
            Id::ApiMailboxUnavailable,
        ),
        (
            graph_error(400, "ErrorMimeContentInvalidBase64String"),
            Id::ApiMessageRefused,
        ),
        (
            graph_error(413, "RequestBodyTooLarge"),
            Id::ApiMessageTooLarge,
        ),
        (graph_error(429, "ApplicationThrottled"), Id::ApiThrottled),
        (graph_error(503, "ServiceNotAvailable"), Id::ApiThrottled),
        (graph_error(500, "generalException"), Id::ApiServerError),
        (
            google_error(403, "insufficientPermissions", "PERMISSION_DENIED"),
            Id::ApiAccessDenied,
        ),
        (
            google_error(403, "domainPolicy", "PERMISSION_DENIED"),
            Id::ApiServiceDisabled,
        ),
        (
            google_error(400, "failedPrecondition", "FAILED_PRECONDITION"),
            Id::ApiServiceDisabled,
        ),
        (
            google_error(400, "invalidArgument", "INVALID_ARGUMENT"),
            Id::ApiMessageRefused,
        ),
        (
            google_error(403, "userRateLimitExceeded", "PERMISSION_DENIED"),
            Id::ApiThrottled,
        ),
        (
            google_error(429, "rateLimitExceeded", "RESOURCE_EXHAUSTED"),
            Id::ApiThrottled,
        ),
        (
            "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n".to_owned(),
            Id::ApiUnexpectedResponse,
        ),
    ] {
        let (ev, _) = answered_before_body(answer.as_bytes());
        assert!(
            matches!(ev.as_slice(), [Event::MessageFailed { error: Error::Api { diag: d, .. } }] if *d == diag),
            "{answer}: {ev:?}"
        );
    }
}

#[test]
fn retry_after_is_kept_for_the_throttled_answer() {
    let (_, s) = answered_before_body(
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(s.retry_after_secs(), Some(30));
    assert_eq!(s.last_reply().unwrap().code.code, 429);
}

#[test]
fn a_close_after_the_whole_body_is_delivery_unknown_and_before_it_is_not() {
    let m = mime(10);
    let mut s = graph(10);
    drain(&mut s, t(0), 4096);
    s.handle_input(t(1), b"HTTP/1.1 100 Continue\r\n\r\n");
    events(&mut s);
    stream(&mut s, &m, 10, 64);
    s.handle_close(t(8));
    assert_eq!(
        events(&mut s),
        [Event::Failed {
            error: Error::DeliveryUnknown
        }]
    );

    let mut s = graph(10);
    drain(&mut s, t(0), 4096);
    s.handle_timeout(t(0) + EXPECT_CONTINUE_WAIT);
    events(&mut s);
    let _ = s.write_body(&m[..4], &mut [0u8; 64]).unwrap();
    s.handle_close(t(8));
    assert_eq!(
        events(&mut s),
        [Event::Failed {
            error: Error::ConnectionClosed { stage: Stage::Data }
        }]
    );
}

#[test]
fn no_answer_in_time_after_the_body_is_delivery_unknown() {
    let mut s = gmail(3);
    drain(&mut s, t(0), 4096);
    s.handle_input(t(1), b"HTTP/1.1 100 Continue\r\n\r\n");
    events(&mut s);
    stream(&mut s, b"abc", 3, 64);
    let due = s.poll_timeout().unwrap();
    s.handle_timeout(due - Duration::from_millis(1));
    assert_eq!(events(&mut s), []);
    s.handle_timeout(due);
    assert_eq!(
        events(&mut s),
        [Event::Failed {
            error: Error::TimeoutAfterEndOfData
        }]
    );
}

#[test]
fn a_body_longer_or_shorter_than_announced_never_completes_the_request() {
    let mut s = gmail(3);
    drain(&mut s, t(0), 4096);
    s.handle_timeout(t(0) + EXPECT_CONTINUE_WAIT);
    events(&mut s);
    let p = s.write_body(b"abcdef", &mut [0u8; 64]).unwrap();
    assert_eq!(p.consumed, 3);
    assert!(s.write_body(b"def", &mut [0u8; 64]).is_err());

    let mut s = gmail(3);
    drain(&mut s, t(0), 4096);
    s.handle_timeout(t(0) + EXPECT_CONTINUE_WAIT);
    events(&mut s);
    let _ = s.write_body(b"ab", &mut [0u8; 64]).unwrap();
    s.finish_body(t(2)).unwrap();
    assert!(matches!(
        events(&mut s).as_slice(),
        [Event::Failed {
            error: Error::Api { status: 0, .. }
        }]
    ));
    assert_eq!(drain(&mut s, t(3), 64).0, b"");
}

#[test]
fn a_success_before_the_body_is_not_taken_for_a_sent_message() {
    let (ev, _) = answered_before_body(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(
        ev.as_slice(),
        [Event::MessageFailed {
            error: Error::Api {
                diag: Id::ApiUnexpectedResponse,
                ..
            }
        }]
    ));
}

#[test]
fn error_bodies_parse_in_any_split_and_anything_else_says_nothing() {
    let google = br#"{"error":{"code":403,"message":"Request had insufficient authentication scopes.","errors":[{"message":"Insufficient Permission","domain":"global","reason":"insufficientPermissions"}],"status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}}"#;
    // Every split natively; a sample under Miri (each parse is slow there).
    let step = if cfg!(miri) { 29 } else { 1 };
    for split in (1..google.len()).step_by(step) {
        let mut p = ErrorParser::new();
        p.feed(&google[..split]);
        p.feed(&google[split..]);
        let b = p.finish();
        assert_eq!(b.reason.as_str(), "insufficientPermissions");
        assert_eq!(b.status.as_str(), "PERMISSION_DENIED");
        assert_eq!(
            b.message.as_str(),
            "Request had insufficient authentication scopes."
        );
        assert_eq!(b.code.as_str(), "", "Google's numeric code is not a name");
    }
    let mut p = ErrorParser::new();
    p.feed(b"<html><body>502 Bad Gateway</body></html>");
    assert_eq!(p.finish(), Default::default());
    // A long message is cut, not refused.
    let long = format!(
        "{{\"error\":{{\"code\":\"ErrorAccessDenied\",\"message\":\"{}\"}}}}",
        "é".repeat(400)
    );
    let mut p = ErrorParser::new();
    p.feed(long.as_bytes());
    let b = p.finish();
    assert_eq!(b.code.as_str(), "ErrorAccessDenied");
    assert!(b.message.len() <= error_body::MAX_API_ERROR_MESSAGE_LEN);
    assert!(b.message.chars().all(|c| c == 'é'));
}

#[test]
fn every_verdict_has_a_diagnostic_of_the_api_range_or_none() {
    let empty = Default::default();
    for status in 100..600 {
        match classify(status, &empty) {
            Verdict::Sent => assert!((200..300).contains(&status)),
            v => assert_eq!(v.diag().unwrap().number() / 100, 7, "{status}"),
        }
    }
}

#[test]
fn a_request_asked_again_waits_for_its_time_before_anything_goes_out() {
    let mut s = Session::idle();
    s.start(&Request {
        api: Api::Gmail,
        host: "h",
        port: 443,
        base_path: "/",
        mailbox: None,
        size: 3,
        recipients: 1,
        not_before: Some(t(7000)),
        resume: false,
    })
    .unwrap();
    assert!(s.nothing_sent());
    assert_eq!(s.poll_timeout(), Some(t(7000)));
    assert_eq!(s.poll_transmit(t(6999), &mut [0u8; 64], TOKEN), Ok(None));
    s.handle_timeout(t(6999));
    assert_eq!(s.poll_transmit(t(6999), &mut [0u8; 64], TOKEN), Ok(None));
    s.handle_timeout(t(7000));
    assert!(s
        .poll_transmit(t(7000), &mut [0u8; 512], TOKEN)
        .unwrap()
        .is_some());
    assert!(!s.nothing_sent());
}

const BIG: usize = 6 * 1024 * 1024;

fn resumable(resume: bool, s: &mut Session) {
    s.start(&Request {
        api: Api::Gmail,
        host: "gmail.googleapis.com",
        port: 443,
        base_path: "/",
        mailbox: None,
        size: BIG as u64,
        recipients: 1,
        not_before: None,
        resume,
    })
    .unwrap();
}

fn head_of(s: &mut Session, now: Instant) -> String {
    String::from_utf8(drain(s, now, 4096).0).unwrap()
}

const SESSION: &str =
    "/upload/gmail/v1/users/me/messages/send?uploadType=resumable&upload_id=ADPycdvX";

/// A session whose resumable upload was started at `t(0)` and got its
/// session URI, on `host`, at `t(1)`.
fn gmail_session_started(host: &str) -> Session {
    let mut s = Session::idle();
    resumable(false, &mut s);
    head_of(&mut s, t(0));
    s.handle_input(
        t(1),
        format!(
            "HTTP/1.1 200 OK\r\nLocation: https://{host}{SESSION}\r\nContent-Length: 0\r\n\r\n"
        )
        .as_bytes(),
    );
    s
}

#[test]
#[cfg_attr(
    miri,
    ignore = "streams 6 MB through the session (minutes under Miri); run natively here, and the api_answer fuzz target drives the same upload"
)]
fn a_message_over_5_mb_goes_through_a_resumable_upload_that_survives_a_drop() {
    let m = mime(BIG);
    let mut s = Session::idle();
    resumable(false, &mut s);
    // The start: no body, the token, the size announced.
    let head = head_of(&mut s, t(0));
    assert!(
        head.starts_with(
            "POST /upload/gmail/v1/users/me/messages/send?uploadType=resumable HTTP/1.1\r\n"
        ),
        "{head}"
    );
    assert!(head.contains("\r\nAuthorization: Bearer "));
    assert!(head.contains(&format!(
        "\r\nX-Upload-Content-Length: {BIG}\r\nContent-Length: 0\r\n"
    )));
    assert_eq!(s.poll_timeout(), Some(t(0) + ANSWER_TIMEOUT));
    let started = format!(
        "HTTP/1.1 200 OK\r\nLocation: https://gmail.googleapis.com{SESSION}\r\nContent-Length: 0\r\n\r\n"
    );
    s.handle_input(t(1), started.as_bytes());
    assert_eq!(events(&mut s), []);
    // The upload on the same connection: the session URI, no token.
    let head = head_of(&mut s, t(1));
    assert!(
        head.starts_with(&format!("PUT {SESSION} HTTP/1.1\r\n")),
        "{head}"
    );
    assert!(!head.contains("Authorization"));
    assert!(head.contains(&format!(
        "\r\nContent-Range: bytes 0-{}/{BIG}\r\nContent-Length: {BIG}\r\n",
        BIG - 1
    )));
    s.handle_input(t(2), b"HTTP/1.1 100 Continue\r\n\r\n");
    assert_eq!(events(&mut s), [Event::ReadyForBody]);
    // The connection drops a third of the way in.
    let mut out = [0u8; 4096];
    let mut fed = 0;
    while fed < BIG / 3 {
        fed += s.write_body(&m[fed..], &mut out).unwrap().consumed;
    }
    s.handle_close(t(3));
    assert!(matches!(
        events(&mut s).as_slice(),
        [Event::Failed {
            error: Error::ConnectionClosed { .. }
        }]
    ));
    assert!(s.resumable());
    // A new connection: what does the server have?
    resumable(true, &mut s);
    let head = head_of(&mut s, t(4));
    assert!(head.starts_with(&format!("PUT {SESSION} HTTP/1.1\r\n")));
    assert!(head.contains(&format!(
        "\r\nContent-Range: bytes */{BIG}\r\nContent-Length: 0\r\n"
    )));
    let has = 256 * 1024 * 4;
    s.handle_input(
        t(5),
        format!(
            "HTTP/1.1 308 Resume Incomplete\r\nRange: bytes=0-{}\r\nContent-Length: 0\r\n\r\n",
            has - 1
        )
        .as_bytes(),
    );
    let head = head_of(&mut s, t(5));
    assert!(
        head.contains(&format!(
            "\r\nContent-Range: bytes {has}-{}/{BIG}\r\nContent-Length: {}\r\n",
            BIG - 1,
            BIG - has
        )),
        "{head}"
    );
    s.handle_timeout(t(5) + EXPECT_CONTINUE_WAIT);
    assert_eq!(events(&mut s), [Event::ReadyForBody]);
    // The driver streams the message again from its first octet; only
    // the rest goes out.
    let body = stream(&mut s, &m, 100_000, 4096);
    assert_eq!(body, &m[has..]);
    s.handle_input(t(9), b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    assert!(matches!(
        events(&mut s).as_slice(),
        [Event::MessageSent { .. }]
    ));
}

#[test]
fn an_upload_the_server_finished_is_not_sent_again_and_a_foreign_location_is_refused() {
    let mut s = Session::idle();
    resumable(false, &mut s);
    head_of(&mut s, t(0));
    let started = format!(
        "HTTP/1.1 200 OK\r\nLocation: https://gmail.googleapis.com{SESSION}\r\nContent-Length: 0\r\n\r\n"
    );
    s.handle_input(t(1), started.as_bytes());
    head_of(&mut s, t(1));
    s.handle_close(t(2));
    events(&mut s);
    resumable(true, &mut s);
    head_of(&mut s, t(3));
    // The whole message had arrived: the query's answer is the message.
    s.handle_input(t(4), b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    assert!(matches!(
        events(&mut s).as_slice(),
        [Event::MessageSent { .. }]
    ));
    assert_eq!(drain(&mut s, t(5), 4096).0, b"");

    // A session URI on another host is not followed.
    let mut s = gmail_session_started("elsewhere.example");
    assert!(matches!(
        events(&mut s).as_slice(),
        [Event::MessageFailed {
            error: Error::Api {
                diag: Id::ApiUnexpectedResponse,
                ..
            }
        }]
    ));
}

#[test]
fn a_server_error_after_the_whole_message_is_delivery_unknown_and_before_it_is_not() {
    let answer: &[u8] = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
    let (ev, _) = answered_before_body(answer);
    assert!(matches!(
        ev.as_slice(),
        [Event::MessageFailed {
            error: Error::Api {
                diag: Id::ApiServerError,
                ..
            }
        }]
    ));
    let mut s = graph(10);
    drain(&mut s, t(0), 4096);
    s.handle_input(t(1), b"HTTP/1.1 100 Continue\r\n\r\n");
    events(&mut s);
    stream(&mut s, &mime(10), 10, 64);
    s.handle_input(t(6), answer);
    assert!(matches!(
        events(&mut s).as_slice(),
        [Event::MessageFailed {
            error: Error::Api {
                status: 500,
                diag: Id::DeliveryUnknown
            }
        }]
    ));
}

#[test]
fn a_server_error_during_a_resumable_upload_asks_what_the_server_has() {
    let mut s = gmail_session_started("gmail.googleapis.com");
    head_of(&mut s, t(1));
    s.handle_input(
        t(2),
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(events(&mut s), []);
    let head = head_of(&mut s, t(2));
    assert!(
        head.contains(&format!("\r\nContent-Range: bytes */{BIG}\r\n")),
        "{head}"
    );
}

#[test]
fn a_session_uri_that_would_break_the_request_line_is_refused() {
    // Found by the api_answer fuzz target: a space in the Location's path.
    for location in [
        "https://gmail.googleapis.com/u p",
        "https://gmail.googleapis.com/u\u{7f}p",
        "https://gmail.googleapis.com/\u{e9}",
    ] {
        let mut s = Session::idle();
        resumable(false, &mut s);
        head_of(&mut s, t(0));
        s.handle_input(
            t(1),
            format!("HTTP/1.1 200 OK\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
                .as_bytes(),
        );
        // Refused: as an unexpected answer, or as a malformed head (a
        // control the HTTP parser does not take).
        let ev = events(&mut s);
        assert!(
            matches!(
                ev.as_slice(),
                [Event::MessageFailed {
                    error: Error::Api {
                        diag: Id::ApiUnexpectedResponse,
                        ..
                    }
                }] | [Event::Failed {
                    error: Error::Api { status: 0, .. }
                }]
            ),
            "{location:?}: {ev:?}"
        );
        assert_eq!(drain(&mut s, t(2), 4096).0, b"", "{location:?}");
    }
    let mut s = Session::idle();
    assert_eq!(
        s.start(&Request {
            api: Api::Graph,
            host: "h",
            port: 443,
            base_path: "/",
            mailbox: None,
            size: 0,
            recipients: 1,
            not_before: None,
            resume: false,
        }),
        Err(Id::InvalidArgument)
    );
}

#[test]
fn the_session_uri_never_shows_in_a_debug_print() {
    let s = gmail_session_started("gmail.googleapis.com");
    assert!(s.resumable());
    let shown = format!("{s:?}");
    assert!(!shown.contains("upload_id"), "{shown}");
}

#[test]
fn a_session_uri_and_graphs_upload_url_share_a_place_and_never_stand_for_each_other() {
    let mut s = gmail_session_started("gmail.googleapis.com");
    s.handle_close(t(2));
    events(&mut s);
    assert!(s.resumable());
    // The same place holds Graph's upload URL: Graph's path, begun, finds
    // it empty and names no upload host of its own.
    s.start(&graph_request(BIG as u64, true)).unwrap();
    let shown = format!("{s:?}");
    assert!(shown.contains("url_len: 0"), "{shown}");
    assert_eq!(s.next_target(), None);
    // Back on Gmail, asked to resume: nothing of the old session is left,
    // so a new upload starts (no `PUT` to a URI that is gone).
    resumable(true, &mut s);
    let head = head_of(&mut s, t(3));
    let line = head.lines().next().unwrap_or_default();
    assert!(line.starts_with("POST "), "{head}");
    assert!(line.ends_with("uploadType=resumable HTTP/1.1"), "{head}");
    assert!(!head.contains("upload_id"), "{head}");
}
