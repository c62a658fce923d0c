//! Hostile token endpoints (issue 9, item 3; R-OAUTH, R-DIAG): a server
//! that closes after any octet, frames its response ambiguously (request
//! smuggling, RFC 9112 §6.1 and §6.3), overflows a chunk size, nests JSON
//! 10,000 deep, or sends a 1 MB access token. Each case ends in one
//! specific error with its diagnostic; no access token is handed out; the
//! client never holds more than the buffer its caller lent; and the JSON
//! parsers run on a 64 KiB stack whatever the nesting.

use mfp_oauth_core::diag::{Diagnostic, Id};
use mfp_oauth_core::limits::{MAX_OAUTH_BODY_LEN, OAUTH_REQUEST_BUF_LEN, OAUTH_RESPONSE_BUF_LEN};
use mfp_oauth_core::oauth::{Client, Event, OAuthError, RequestKind};
use mfp_oauth_core::provider::{AppRegistration, MicrosoftCloud, Provider, Tenant};
use mfp_oauth_core::wire::http::HttpError;
use mfp_oauth_core::wire::json::{
    parse_device_authorization, parse_error_response, parse_token_response, DeviceAuthorization,
    Field, JsonError, TokenResponse,
};
use mfp_oauth_core::wire::sasl::decode_error_challenge;
use mfp_oauth_core::Instant;
use mfp_oauth_tests::oauth::{
    google_exchanging, google_recorded, microsoft_recorded, microsoft_refreshing, send, TestClient,
};

/// The stack a firmware task might give the code that feeds the client.
const SMALL_STACK: usize = 64 * 1024;

fn http(status: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn microsoft() -> Provider {
    Provider::microsoft(MicrosoftCloud::Global, Tenant::Common).unwrap()
}

fn app() -> AppRegistration {
    AppRegistration::public("9e5f94bc-e8a4-4e73-b8be-63364c29d753").unwrap()
}

/// A Microsoft client that sent a refresh, with a response buffer of `len`.
fn refreshing(len: usize) -> TestClient {
    let mut c = Client::new(microsoft(), app(), vec![0u8; len], 3);
    c.start_refresh(Instant::ZERO, b"0.AAA-refresh").unwrap();
    send(&mut c, RequestKind::Refresh);
    c
}

/// A Microsoft client that sent the device authorization request.
fn device_starting(len: usize) -> TestClient {
    let mut c = Client::new(microsoft(), app(), vec![0u8; len], 4);
    c.start_device(Instant::ZERO).unwrap();
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    let tx = c.poll_transmit(Instant::ZERO, &mut out).unwrap().unwrap();
    assert_eq!(tx.kind, RequestKind::DeviceAuthorization);
    c
}

fn events(c: &mut TestClient) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// Feed `response` whole, then the close; the events.
fn answer(c: &mut TestClient, response: &[u8]) -> Vec<Event> {
    c.handle_input(Instant::ZERO, response);
    c.handle_close(Instant::ZERO);
    events(c)
}

/// The one terminal failure a response must end in, and no tokens.
fn assert_fails(c: &mut TestClient, response: &[u8], error: OAuthError, diag: Id) {
    let ev = answer(c, response);
    assert_eq!(
        ev,
        [Event::Failed(error)],
        "{}",
        String::from_utf8_lossy(&response[..response.len().min(200)])
    );
    assert_eq!(error.diag(), diag);
    assert!(c.tokens().is_none());
    assert!(c.is_finished() && !c.is_awaiting_response());
}

const DEVICE_BODY: &str = r#"{"user_code":"FLQRX7GZC","device_code":"FAQABAAEAAAD--DLA3VO7QrddgJg7WevrFLQRX7GZC-secret","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5,"message":"To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FLQRX7GZC to authenticate."}"#;
const INVALID_GRANT: &str = r#"{"error":"invalid_grant","error_description":"AADSTS70000: The provided grant has expired due to it being revoked.","error_codes":[70000],"timestamp":"2026-11-24 08:00:00Z","trace_id":"0b1f","correlation_id":"7d2e"}"#;

/// Issue 9: the token endpoint closes after every octet offset of each
/// recorded exchange (Microsoft's 6.5 KB refresh answer, Google's chunked
/// code exchange, a device authorization, an `invalid_grant` error). Only
/// the whole response gives its outcome; every shorter one is the
/// transient `Truncated` (E606), retried later, never an access token.
#[test]
fn closing_after_every_octet_of_every_recorded_exchange() {
    let ms = microsoft_recorded();
    let g = google_recorded();
    let device = http(200, DEVICE_BODY);
    let chunked_error = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{INVALID_GRANT}\r\n0\r\n\r\n",
        INVALID_GRANT.len()
    );
    type Make = fn() -> TestClient;
    type Whole = fn(&[Event]) -> bool;
    let exchanges: [(&str, &str, Make, Whole); 4] = [
        (
            "Microsoft refresh",
            &ms.response,
            microsoft_refreshing,
            |e| matches!(e, [Event::RefreshTokenRotated, Event::AccessToken { .. }]),
        ),
        (
            "Google code exchange",
            &g.response,
            google_exchanging,
            |e| matches!(e, [Event::RefreshTokenRotated, Event::AccessToken { .. }]),
        ),
        (
            "device authorization",
            &device,
            || device_starting(OAUTH_RESPONSE_BUF_LEN),
            |e| e == [Event::UserCode],
        ),
        (
            "invalid_grant",
            &chunked_error,
            || refreshing(OAUTH_RESPONSE_BUF_LEN),
            |e| matches!(e, [Event::ReauthRequired(err)] if err.diag() == Id::RefreshRevoked),
        ),
    ];
    for (name, response, make, whole) in exchanges {
        let bytes = response.as_bytes();
        for cut in 0..=bytes.len() {
            let mut c = make();
            let used = c.handle_input(Instant::ZERO, &bytes[..cut]);
            assert_eq!(used, cut, "{name} cut at {cut}");
            c.handle_close(Instant::ZERO);
            let ev = events(&mut c);
            if cut == bytes.len() {
                assert!(whole(&ev), "{name}: {ev:?}");
                continue;
            }
            let [Event::Retrying { error, .. }] = ev[..] else {
                panic!("{name} cut at {cut}: {ev:?}");
            };
            assert_eq!(
                error,
                OAuthError::Http(HttpError::Truncated),
                "{name} cut at {cut}"
            );
            assert_eq!(error.diag(), Id::IoError);
            assert!(
                c.tokens().is_none() && !c.is_awaiting_response(),
                "{name} cut at {cut}"
            );
            assert!(c.device_authorization().is_none(), "{name} cut at {cut}");
        }
    }
}

/// RFC 9112 §6.1 / §6.3: a response framed both by `Content-Length` and
/// `Transfer-Encoding: chunked` (either order, either case, with the
/// length first or last) is refused as a smuggling attempt, as are
/// `chunked` that is not the final coding, a repeated `chunked`,
/// conflicting lengths and chunked framing on an HTTP/1.0 response.
#[test]
fn ambiguous_framing_is_refused() {
    let body = r#"{"access_token":"SMUGGLED","token_type":"Bearer"}"#;
    let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    let cases: Vec<(String, HttpError)> = vec![
        (
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}", body.len()),
            HttpError::ConflictingFraming,
        ),
        (
            format!("HTTP/1.1 200 OK\r\ntransfer-encoding: CHUNKED\r\ncontent-length: {}\r\n\r\n{chunked}", chunked.len()),
            HttpError::ConflictingFraming,
        ),
        (
            format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n{chunked}"),
            HttpError::ConflictingFraming,
        ),
        (
            format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n{chunked}"),
            HttpError::UnsupportedCoding,
        ),
        (
            format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}"),
            HttpError::UnsupportedCoding,
        ),
        (
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Length: 3\r\n\r\n{body}", body.len()),
            HttpError::BadContentLength,
        ),
        (
            format!("HTTP/1.1 200 OK\r\nContent-Length: {0}, {0}\r\n\r\n{body}", body.len()),
            HttpError::BadContentLength,
        ),
        (
            format!("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}"),
            HttpError::ConflictingFraming,
        ),
    ];
    for (response, error) in cases {
        let mut c = refreshing(OAUTH_RESPONSE_BUF_LEN);
        assert_fails(
            &mut c,
            response.as_bytes(),
            OAuthError::Http(error),
            Id::HttpMalformed,
        );
    }
}

/// A chunk size that overflows 64 bits (`ffffffffffffffffff`) is
/// `ChunkSizeOverflow` (E419); one that fits 64 bits but not the buffer is
/// refused at its size line (E420: longer than a body may be), before any
/// of its data is read.
#[test]
fn chunk_size_overflow_and_oversize() {
    let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (size, error, diag) in [
        (
            "ffffffffffffffffff",
            HttpError::ChunkSizeOverflow,
            Id::HttpMalformed,
        ),
        (
            "10000000000000000",
            HttpError::ChunkSizeOverflow,
            Id::HttpMalformed,
        ),
        (
            "fffffffffffffffff",
            HttpError::ChunkSizeOverflow,
            Id::HttpMalformed,
        ),
        (
            "ffffffffffffffff",
            HttpError::BodyTooLarge {
                capacity: MAX_OAUTH_BODY_LEN,
            },
            Id::ResponseTooLarge,
        ),
    ] {
        let response = format!("{head}{size}\r\n{{\"access_token\":\"x\"");
        let mut c = refreshing(OAUTH_RESPONSE_BUF_LEN);
        let err = OAuthError::Http(error);
        let ev = answer(&mut c, response.as_bytes());
        assert_eq!(ev, [Event::Failed(err)], "{size}");
        assert_eq!(err.diag(), diag);
        assert!(c.tokens().is_none());
    }
}

/// A JSON value nested `depth` deep: arrays, or objects.
fn deep(depth: usize, objects: bool) -> String {
    if objects {
        format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
    } else {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }
}

/// Run `f` on a thread with [`SMALL_STACK`] octets of stack: an unbounded
/// recursion would overflow it and abort the test binary.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// Issue 9 (serde-json-core recurses about 32 octets per
/// level when it skips a value): every JSON body the core parses (token,
/// device authorization, error, `334` challenge) nested 10,000 deep is
/// refused by the depth guard on a 64 KiB stack, directly and through the
/// clients; the deepest nesting allowed (`MAX_JSON_DEPTH`) still parses
/// there.
#[test]
fn json_nested_ten_thousand_deep_on_a_small_stack() {
    use mfp_oauth_core::limits::MAX_JSON_DEPTH;
    on_small_stack(|| {
        for objects in [false, true] {
            let d = deep(10_000, objects);
            let token = format!(r#"{{"access_token":"a","token_type":"Bearer","x":{d}}}"#);
            let mut t = Box::new(TokenResponse::new());
            assert_eq!(
                parse_token_response(token.as_bytes(), &mut t),
                Err(JsonError::TooDeep)
            );
            assert_eq!(
                parse_token_response(d.as_bytes(), &mut t),
                Err(JsonError::TooDeep)
            );
            let device = format!(
                r#"{{"device_code":"d","user_code":"u","verification_uri":"https://v","expires_in":9,"x":{d}}}"#
            );
            let mut a = Box::new(DeviceAuthorization::new());
            assert_eq!(
                parse_device_authorization(device.as_bytes(), &mut a),
                Err(JsonError::TooDeep)
            );
            let error = format!(r#"{{"error":"invalid_grant","x":{d}}}"#);
            assert_eq!(
                parse_error_response(error.as_bytes()).map(|_| ()),
                Err(JsonError::TooDeep)
            );
            assert!(decode_error_challenge(d.as_bytes()).is_err());
        }
        // The challenge decoder takes at most MAX_CHALLENGE_LEN decoded
        // octets: the deepest challenge that fits is refused too.
        use base64::Engine as _;
        let challenge = base64::engine::general_purpose::STANDARD
            .encode("[".repeat(mfp_oauth_core::limits::MAX_CHALLENGE_LEN));
        assert!(decode_error_challenge(challenge.as_bytes()).is_err());

        // The allowed depth parses on the same stack.
        let ok = format!(
            r#"{{"access_token":"a","token_type":"Bearer","x":{}}}"#,
            deep(MAX_JSON_DEPTH - 1, true)
        );
        let mut t = Box::new(TokenResponse::new());
        assert_eq!(parse_token_response(ok.as_bytes(), &mut t), Ok(()));
        assert_eq!(t.access_token.expose(), b"a");
    });

    // Through the client: the clients are built where firmware keeps them
    // (off the task's stack), the responses are fed on the small stack.
    let d = deep(10_000, false);
    let token = http(
        200,
        &format!(r#"{{"access_token":"a","token_type":"Bearer","x":{d}}}"#),
    );
    let device = http(
        200,
        &format!(
            r#"{{"device_code":"d","user_code":"u","verification_uri":"https://v","expires_in":9,"x":{d}}}"#
        ),
    );
    let error = http(400, &format!(r#"{{"error":"invalid_grant","x":{d}}}"#));
    let cases = [
        (
            refreshing(64 * 1024),
            token,
            OAuthError::Json(JsonError::TooDeep),
            Id::JsonMalformed,
        ),
        (
            device_starting(64 * 1024),
            device,
            OAuthError::Json(JsonError::TooDeep),
            Id::JsonMalformed,
        ),
        // An error body that cannot be read leaves only its status.
        (
            refreshing(64 * 1024),
            error,
            OAuthError::UnexpectedStatus(400),
            Id::HttpUnexpectedStatus,
        ),
    ];
    for (c, response, err, diag) in cases {
        let mut c = Box::new(c);
        let ev = on_small_stack(move || {
            let ev = answer(&mut c, response.as_bytes());
            assert!(c.tokens().is_none());
            ev
        });
        assert_eq!(ev, [Event::Failed(err)]);
        assert_eq!(err.diag(), diag);
    }
}

/// The `334` error challenge through the SMTP client: a challenge nested as
/// deep as a reply line allows is refused by the depth guard on the small
/// stack; the final reply is reported as a malformed challenge (E327).
#[test]
fn deep_334_challenge_through_the_smtp_client_on_a_small_stack() {
    use base64::Engine as _;
    use mfp_oauth_core::smtp::{Client as Smtp, Event as SmtpEvent, Security, Settings};
    let settings = Settings::new(
        Security::ImplicitTls,
        "printer.example.com",
        "smtp.example.com",
        465,
    )
    .unwrap();
    let mut c = Box::new(Smtp::new(
        Instant::ZERO,
        settings,
        mfp_oauth_core::Address::parse("scanner@contoso.com").unwrap(),
    ));
    c.set_token(Instant::ZERO, b"EwB-token").unwrap();
    let mut out = [0u8; 512];
    for reply in [&b"220 x\r\n"[..], b"250-x\r\n250 AUTH XOAUTH2\r\n"] {
        c.handle_input(Instant::ZERO, reply);
        while c.poll_transmit(Instant::ZERO, &mut out).unwrap().is_some() {}
    }
    // 760 brackets: 1,016 base64 octets, the longest that fits a reply line.
    let challenge = base64::engine::general_purpose::STANDARD.encode("[".repeat(760));
    let lines = format!("334 {challenge}\r\n");
    assert!(lines.len() <= mfp_oauth_core::limits::MAX_REPLY_LINE_LEN + 2);
    let events = on_small_stack(move || {
        c.handle_input(Instant::ZERO, lines.as_bytes());
        let mut out = [0u8; 64];
        let t = c.poll_transmit(Instant::ZERO, &mut out).unwrap().unwrap();
        assert_eq!(&out[..t.len], b"\r\n", "the challenge is acknowledged");
        c.handle_input(Instant::ZERO, b"535 failed\r\n");
        std::iter::from_fn(|| c.poll_event()).collect::<Vec<_>>()
    });
    let Some(SmtpEvent::AuthRejected {
        diag,
        refresh_and_retry,
        ..
    }) = events.last()
    else {
        panic!("{events:?}");
    };
    assert_eq!(
        (*diag, *refresh_and_retry),
        (Id::AuthChallengeMalformed, true)
    );
}

/// A response whose body outgrows the lent buffer: the client takes what
/// arrived up to the failure and nothing after, so a driver that keeps
/// reading moves no more octets in.
fn feed_in_reads(c: &mut TestClient, response: &[u8]) -> (usize, Vec<Event>) {
    let mut taken = 0;
    for read in response.chunks(4096) {
        taken += c.handle_input(Instant::ZERO, read);
    }
    c.handle_close(Instant::ZERO);
    (taken, events(c))
}

/// Issue 9: a token response carrying a 1 MB access token. With a
/// `Content-Length` it is refused at the head; chunked (one chunk or many)
/// or delimited by the close, it is refused once the body passes
/// `MAX_OAUTH_BODY_LEN` (the body is parsed as it arrives, not buffered).
/// Either way: `BodyTooLarge` with that limit (E420), no token, and the
/// client took at most the limit's worth of the body. A token that fits the
/// limit but not the client's token slot is `TooLong` (E422, token too
/// large).
#[test]
fn a_one_megabyte_access_token() {
    let token = "A".repeat(1 << 20);
    let body = format!(r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"{token}"}}"#);
    let too_large = OAuthError::Http(HttpError::BodyTooLarge {
        capacity: MAX_OAUTH_BODY_LEN,
    });
    let chunks_of = |n: usize| {
        let mut s = String::from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for piece in body.as_bytes().chunks(n) {
            s.push_str(&format!(
                "{:x}\r\n{}\r\n",
                piece.len(),
                std::str::from_utf8(piece).unwrap()
            ));
        }
        s.push_str("0\r\n\r\n");
        s
    };
    let responses = [
        ("Content-Length", http(200, &body)),
        ("one chunk", chunks_of(body.len())),
        ("4 KiB chunks", chunks_of(4096)),
        ("close-delimited", format!("HTTP/1.1 200 OK\r\n\r\n{body}")),
    ];
    for (name, response) in responses {
        let mut c = refreshing(OAUTH_RESPONSE_BUF_LEN);
        let (taken, ev) = feed_in_reads(&mut c, response.as_bytes());
        assert_eq!(ev, [Event::Failed(too_large)], "{name}");
        assert_eq!(too_large.diag(), Id::ResponseTooLarge);
        assert!(c.tokens().is_none(), "{name}");
        // The head, at most the limit of body and the chunk lines of that
        // much, and at most one read past the failure.
        assert!(
            taken <= MAX_OAUTH_BODY_LEN + 4096 + 4096,
            "{name}: took {taken} octets"
        );
        assert_eq!(c.handle_input(Instant::ZERO, b"more"), 0, "{name}");
    }

    // Fits the buffer, not the token slot (MAX_ACCESS_TOKEN_LEN).
    let long = "B".repeat(mfp_oauth_core::limits::MAX_ACCESS_TOKEN_LEN + 1);
    let mut c = refreshing(OAUTH_RESPONSE_BUF_LEN);
    assert_fails(
        &mut c,
        http(
            200,
            &format!(r#"{{"token_type":"Bearer","access_token":"{long}"}}"#),
        )
        .as_bytes(),
        OAuthError::Json(JsonError::TooLong(Field::AccessToken)),
        Id::TokenTooLarge,
    );
}

/// Issue 9: a token endpoint that never answers, or dribbles one octet
/// every ten seconds, gets `RESPONSE_TIMEOUT` per request (octets do not
/// extend it), the retries with backoff, then a final `ResponseTimeout`
/// (E605): `1 + OAUTH_MAX_RETRIES` requests in all, never a loop.
#[test]
fn a_silent_or_dribbling_token_endpoint_times_out_then_gives_up() {
    use mfp_oauth_core::limits::OAUTH_MAX_RETRIES;
    use mfp_oauth_core::oauth::RESPONSE_TIMEOUT;
    use mfp_oauth_core::Duration;
    for dribble in [false, true] {
        let mut c = refreshing(OAUTH_RESPONSE_BUF_LEN);
        let mut now = Instant::ZERO;
        let mut requests = 1;
        let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
        loop {
            let deadline = c.poll_timeout().unwrap();
            assert_eq!(deadline, now + RESPONSE_TIMEOUT);
            if dribble {
                for i in 0..3u64 {
                    let at = now + Duration::from_secs(10 * i);
                    c.handle_timeout(at);
                    assert_eq!(c.handle_input(at, b"H"), 1);
                }
            }
            c.handle_timeout(Instant::from_millis(deadline.as_millis() - 1));
            assert!(c.is_awaiting_response());
            c.handle_timeout(deadline);
            let ev = events(&mut c);
            match ev[..] {
                [Event::Retrying { error, at }] => {
                    assert_eq!(error, OAuthError::ResponseTimeout);
                    now = at;
                    assert!(c.poll_transmit(now, &mut out).unwrap().is_some());
                    requests += 1;
                }
                [Event::Failed(error)] => {
                    assert_eq!(error, OAuthError::ResponseTimeout);
                    assert_eq!(error.diag(), Id::NetworkTimeout);
                    break;
                }
                _ => panic!("{ev:?}"),
            }
        }
        assert_eq!(
            requests,
            1 + usize::from(OAUTH_MAX_RETRIES),
            "dribble {dribble}"
        );
        assert!(c.tokens().is_none() && c.is_finished());
    }
}

/// Lines longer than any buffer in HTTP: a status line or header without
/// end, more headers than `MAX_HTTP_HEADERS`, a chunk extension without
/// end, trailers without end. Each is refused with its error (E420 for the
/// head, E419 for the chunk framing) after at most the head's limit of input.
#[test]
fn endless_http_lines_are_bounded() {
    use mfp_oauth_core::limits::{MAX_CHUNK_EXT_LEN, MAX_HTTP_HEADERS, MAX_HTTP_HEAD_LEN};
    let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let many_headers: String = (0..=MAX_HTTP_HEADERS)
        .map(|i| format!("X-{i}: v\r\n"))
        .collect();
    let cases = [
        (
            format!("HTTP/1.1 200 {}", "x".repeat(4 * MAX_HTTP_HEAD_LEN)),
            HttpError::HeadTooLarge,
        ),
        (
            format!(
                "HTTP/1.1 200 OK\r\nX: {}",
                "x".repeat(4 * MAX_HTTP_HEAD_LEN)
            ),
            HttpError::HeadTooLarge,
        ),
        (
            format!("HTTP/1.1 200 OK\r\n{many_headers}\r\n"),
            HttpError::HeadTooLarge,
        ),
        (
            format!("{chunked}5;{}", "e".repeat(2 * MAX_CHUNK_EXT_LEN)),
            HttpError::BadChunk,
        ),
        (
            format!("{chunked}0\r\nX: {}", "t".repeat(2 * MAX_HTTP_HEAD_LEN)),
            HttpError::HeadTooLarge,
        ),
    ];
    for (response, error) in cases {
        let mut c = refreshing(OAUTH_RESPONSE_BUF_LEN);
        let (taken, ev) = feed_in_reads(&mut c, response.as_bytes());
        let err = OAuthError::Http(error);
        assert_eq!(ev, [Event::Failed(err)], "{}", &response[..60]);
        assert!(matches!(
            err.diag(),
            Id::ResponseTooLarge | Id::HttpMalformed
        ));
        // The head is read a line at a time, so a refusal comes within
        // the head's limit (not the smaller buffer's) and one read.
        assert!(taken <= MAX_HTTP_HEAD_LEN + 4096, "took {taken}");
    }
}
