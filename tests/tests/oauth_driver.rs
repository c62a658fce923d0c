//! A driver loop following the crate's poll-order contract, against a
//! simulated authorization server and an HTTP proxy, on simulated time
//! (R-OAUTH, RFC 8628, RFC 9110 CONNECT).

use mfp_oauth_core::limits::{OAUTH_REQUEST_BUF_LEN, OAUTH_RESPONSE_BUF_LEN};
use mfp_oauth_core::oauth::{Client, Event, RequestKind, TransportError};
use mfp_oauth_core::provider::{AppRegistration, CustomEndpoints, Provider};
use mfp_oauth_core::wire::form;
use mfp_oauth_core::wire::http::{parse_connect_reply, write_connect, ProxyCredentials};
use mfp_oauth_core::wire::Parsed;
use mfp_oauth_core::{Duration, Instant};

/// The server's script: what each token poll gets.
struct Server {
    polls: Vec<&'static str>,
    seen: Vec<(Instant, RequestKind)>,
}

fn reply(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    )
    .into_bytes()
}

impl Server {
    fn answer(&mut self, now: Instant, kind: RequestKind, request: &[u8]) -> Vec<u8> {
        self.seen.push((now, kind));
        let body = &request[request.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
        assert_eq!(form::find(body, "client_id"), Some(&b"printer-1"[..]));
        match kind {
            RequestKind::DeviceAuthorization => reply(
                200,
                r#"{"device_code":"dc-1","user_code":"ABCD-EFGH","verification_uri":"https://idp.example/device","expires_in":600,"interval":3}"#,
            ),
            RequestKind::DeviceToken => {
                assert_eq!(form::find(body, "device_code"), Some(&b"dc-1"[..]));
                match self.polls.remove(0) {
                    "ok" => reply(
                        200,
                        r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-1"}"#,
                    ),
                    "503" => b"HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n".to_vec(),
                    code => reply(400, &format!(r#"{{"error":"{code}"}}"#)),
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// One driver: proxy tunnel, request, response, events, timers. Returns
/// the events in order and the final simulated time.
fn drive(polls: Vec<&'static str>) -> (Vec<Event>, Server, Instant) {
    let provider = Provider::custom(&CustomEndpoints {
        authorize_url: None,
        token_url: "https://idp.example/token",
        device_url: Some("https://idp.example/device"),
        scope: "smtp offline_access",
    })
    .unwrap();
    let mut client = Client::new(
        provider,
        AppRegistration::public("printer-1").unwrap(),
        vec![0u8; OAUTH_RESPONSE_BUF_LEN],
        5,
    );
    let mut server = Server {
        polls,
        seen: vec![],
    };
    let mut now = Instant::from_millis(1_000);
    client.start_device(now).unwrap();
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    let mut events = vec![];
    for _ in 0..10_000 {
        // 2. events
        while let Some(ev) = client.poll_event() {
            events.push(ev);
        }
        if client.is_finished() {
            return (events, server, now);
        }
        // 3. transmits: each on a new connection through the proxy.
        if let Some(tx) = client.poll_transmit(now, &mut out).unwrap() {
            let (kind, len) = (tx.kind, tx.len);
            let mut connect = [0u8; 256];
            let creds = ProxyCredentials {
                user: "scanner",
                password: b"pw",
            };
            let n = write_connect(
                &mut connect,
                tx.endpoint.host(),
                tx.endpoint.port(),
                Some(creds),
                None,
            )
            .unwrap();
            assert!(connect[..n].starts_with(b"CONNECT idp.example:443 HTTP/1.1\r\n"));
            let proxy_reply = b"HTTP/1.1 200 Connection established\r\n\r\n";
            let Ok(Parsed::Complete(r, _)) = parse_connect_reply(proxy_reply) else {
                panic!()
            };
            if !r.is_established() {
                client
                    .handle_transport_error(now, TransportError::ProxyRefused { status: r.status });
                continue;
            }
            let response = server.answer(now, kind, &out[..len]);
            // The network delivers the answer in small pieces.
            for piece in response.chunks(7) {
                client.handle_input(now, piece);
            }
            client.handle_close(now);
            continue;
        }
        // 4. wait for the deadline.
        let at = client
            .poll_timeout()
            .expect("a live flow always has a deadline");
        assert!(at >= now, "deadline in the past");
        now = at;
        client.handle_timeout(now);
    }
    panic!("the flow did not end: {events:?}");
}

#[test]
fn device_flow_through_a_proxy_pending_slow_down_then_tokens() {
    let (events, server, end) = drive(vec![
        "authorization_pending",
        "slow_down",
        "authorization_pending",
        "ok",
    ]);
    assert_eq!(events[0], Event::UserCode);
    assert_eq!(
        events[1],
        Event::SlowDown {
            interval: Duration::from_secs(8)
        }
    );
    assert_eq!(
        &events[2..],
        [
            Event::RefreshTokenRotated,
            Event::AccessToken {
                expires_at: Some(end + Duration::from_secs(3600))
            }
        ]
    );
    // Poll times: 3 s apart, then 8 s apart after slow_down.
    let times: Vec<u64> = server.seen.iter().map(|(t, _)| t.as_millis()).collect();
    assert_eq!(times, [1_000, 4_000, 7_000, 15_000, 23_000]);
    // Exactly one successful token poll: nothing after success.
    assert_eq!(server.seen.last().unwrap().1, RequestKind::DeviceToken);
}

#[test]
fn device_flow_terminal_errors_end_the_loop() {
    for code in ["access_denied", "expired_token", "bad_verification_code"] {
        let (events, server, _) = drive(vec!["authorization_pending", code]);
        assert!(
            matches!(events.last(), Some(Event::Failed(_))),
            "{code}: {events:?}"
        );
        assert_eq!(server.seen.len(), 3, "{code}");
    }
}

#[test]
fn device_code_expiry_ends_the_loop_without_another_poll() {
    let (events, server, end) = drive(vec!["authorization_pending"; 400]);
    assert!(matches!(events.last(), Some(Event::Failed(_))));
    // Code issued at 1 s with expires_in 600: no poll after 601 s.
    assert_eq!(end, Instant::from_millis(601_000));
    assert!(server.seen.iter().all(|(t, _)| t.as_millis() < 601_000));
}

#[test]
fn a_server_error_is_retried_no_faster_than_the_interval() {
    let (events, server, _) = drive(vec!["503", "ok"]);
    assert!(matches!(events[1], Event::Retrying { .. }));
    assert!(matches!(events.last(), Some(Event::AccessToken { .. })));
    let t: Vec<u64> = server.seen.iter().map(|(t, _)| t.as_millis()).collect();
    assert!(t[2] - t[1] >= 3_000, "{t:?}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn answer() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            4 => Just("authorization_pending"),
            2 => Just("slow_down"),
            1 => Just("503"),
            1 => Just("ok"),
        ]
    }

    proptest! {
        /// R-OAUTH, RFC 8628 §3.5: whatever the server says, polls are never
        /// closer than the interval in force (3 s, plus 5 s per slow_down so
        /// far), nothing is polled after success, and the loop always ends.
        #[test]
        fn polls_respect_the_interval_and_stop_after_success(
            mut polls in proptest::collection::vec(answer(), 1..40)
        ) {
            // Pad so the script never runs dry before the code expires.
            polls.extend(std::iter::repeat_n("authorization_pending", 400));
            let script = polls.clone();
            let (events, server, _) = drive(polls);
            let times: Vec<Instant> = server
                .seen
                .iter()
                .filter(|(_, k)| *k == RequestKind::DeviceToken)
                .map(|(t, _)| *t)
                .collect();
            let mut interval = Duration::from_secs(3);
            for (i, pair) in times.windows(2).enumerate() {
                if script[i] == "slow_down" {
                    interval = interval + Duration::from_secs(5);
                }
                prop_assert!(pair[1].saturating_since(pair[0]) >= interval, "poll {} too early", i + 1);
            }
            match script.iter().position(|a| *a == "ok") {
                Some(k) if k < times.len() => {
                    prop_assert_eq!(times.len(), k + 1, "polled after success");
                    let succeeded = matches!(events.last(), Some(Event::AccessToken { .. }));
                    prop_assert!(succeeded, "{:?}", events);
                }
                _ => {
                    let failed = matches!(events.last(), Some(Event::Failed(_)));
                    prop_assert!(failed, "{:?}", events);
                }
            }
        }
    }
}
