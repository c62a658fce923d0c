//! Recorded-style token responses from Microsoft (about 6.5 KB, Content-Length)
//! and Google (chunked, pretty-printed JSON) driven through the OAuth client,
//! split at every byte boundary and in arbitrary pieces (R-OAUTH).

use mfp_oauth_core::limits::{OAUTH_REQUEST_BUF_LEN, OAUTH_RESPONSE_BUF_LEN};
use mfp_oauth_core::oauth::{Client, Event, RedirectUri, RequestKind};
use mfp_oauth_core::provider::{AppRegistration, LoopbackHost, MicrosoftCloud, Provider, Tenant};
use mfp_oauth_core::Instant;
use proptest::prelude::*;

/// Deterministic token-like text: base64url characters with dots.
fn token_text(seed: u64, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x = seed;
    (0..len)
        .map(|i| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if i % 700 == 699 {
                '.'
            } else {
                char::from(CHARS[(x >> 58) as usize])
            }
        })
        .collect()
}

struct Recorded {
    response: String,
    access_token: String,
    refresh_token: String,
}

fn microsoft_recorded() -> Recorded {
    let access_token = format!("eyJ0eXAiOiJKV1QiLCJub25jZSI6{}", token_text(1, 3600));
    let refresh_token = format!("1.AXkA{}", token_text(2, 1750));
    let id_token = format!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{}",
        token_text(3, 900)
    );
    let body = format!(
        r#"{{"token_type":"Bearer","scope":"https://outlook.office.com/SMTP.Send","expires_in":4383,"ext_expires_in":4383,"access_token":"{access_token}","refresh_token":"{refresh_token}","id_token":"{id_token}","client_info":"eyJ1aWQiOiIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAiLCJ1dGlkIjoiOTE4ODA0MGQtNmM2Ny00YzViLWIxMTItMzZhMzA0YjY2ZGFkIn0"}}"#
    );
    let response = format!(
        "HTTP/1.1 200 OK\r\n\
Cache-Control: no-store, no-cache\r\n\
Pragma: no-cache\r\n\
Content-Type: application/json; charset=utf-8\r\n\
Expires: -1\r\n\
Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n\
X-Content-Type-Options: nosniff\r\n\
P3P: CP=\"DSP CUR OTPi IND OTRi ONL FIN\"\r\n\
x-ms-request-id: 5f1c3f0e-8c1a-4c1e-9a35-2f4c9d6b1200\r\n\
x-ms-ests-server: 2.1.19283.4 - WEULR1 ProdSlices\r\n\
x-ms-clitelem: 1,0,0,,\r\n\
X-XSS-Protection: 0\r\n\
Set-Cookie: fpc=AkR0d3Fz{}; expires=Thu, 24-Dec-2026 08:00:00 GMT; path=/; secure; HttpOnly; SameSite=None\r\n\
Set-Cookie: x-ms-gateway-slice=estsfd; path=/; secure; samesite=none; httponly\r\n\
Set-Cookie: stsservicecookie=estsfd; path=/; secure; samesite=none; httponly\r\n\
Date: Tue, 24 Nov 2026 08:00:00 GMT\r\n\
Content-Length: {}\r\n\r\n{body}",
        token_text(4, 60),
        body.len()
    );
    Recorded {
        response,
        access_token,
        refresh_token,
    }
}

fn google_recorded() -> Recorded {
    let access_token = format!("ya29.a0AfB_by{}", token_text(5, 210));
    let refresh_token = format!("1//0g{}", token_text(6, 98));
    let body = format!(
        "{{\n  \"access_token\": \"{access_token}\",\n  \"expires_in\": 3599,\n  \"refresh_token\": \"{}\",\n  \"scope\": \"https://mail.google.com/\",\n  \"token_type\": \"Bearer\",\n  \"refresh_token_expires_in\": 604799\n}}",
        refresh_token.replace('/', "\\/")
    );
    // Two data chunks of uneven size, one with an extension, and a trailer.
    let (a, b) = body.split_at(137);
    let response = format!(
        "HTTP/1.1 200 OK\r\n\
Content-Type: application/json; charset=utf-8\r\n\
Vary: Origin\r\nVary: X-Origin\r\nVary: Referer\r\n\
Date: Tue, 24 Nov 2026 08:00:00 GMT\r\n\
Server: scaffolding on HTTPServer2\r\n\
Cache-Control: private\r\n\
X-XSS-Protection: 0\r\n\
X-Frame-Options: SAMEORIGIN\r\n\
X-Content-Type-Options: nosniff\r\n\
Alt-Svc: h3=\":443\"; ma=2592000,h3-29=\":443\"; ma=2592000\r\n\
Transfer-Encoding: chunked\r\n\r\n\
{:x}\r\n{a}\r\n{:X};ext=\"v\"\r\n{b}\r\n0\r\nX-Trailer: done\r\n\r\n",
        a.len(),
        b.len()
    );
    Recorded {
        response,
        access_token,
        refresh_token,
    }
}

type TestClient = Client<Vec<u8>>;

/// The events, and the access and refresh tokens if the flow succeeded.
type Outcome = (Vec<Event>, Option<(Vec<u8>, Vec<u8>)>);

fn microsoft_refreshing() -> TestClient {
    microsoft_refreshing_with(OAUTH_RESPONSE_BUF_LEN)
}

fn microsoft_refreshing_with(buf_len: usize) -> TestClient {
    let p = Provider::microsoft(MicrosoftCloud::Global, Tenant::Common).unwrap();
    let mut c = Client::new(
        p,
        AppRegistration::public("9e5f94bc-e8a4-4e73-b8be-63364c29d753").unwrap(),
        vec![0u8; buf_len],
        11,
    );
    c.start_refresh(Instant::ZERO, b"1.AXkA-old").unwrap();
    send(&mut c, RequestKind::Refresh);
    c
}

fn google_exchanging() -> TestClient {
    google_exchanging_with(OAUTH_RESPONSE_BUF_LEN)
}

fn google_exchanging_with(buf_len: usize) -> TestClient {
    let mut c = Client::new(
        Provider::google().unwrap(),
        AppRegistration::with_secret("1-abc.apps.googleusercontent.com", b"GOCSPX-x").unwrap(),
        vec![0u8; buf_len],
        12,
    );
    let redirect = RedirectUri::loopback(LoopbackHost::Ipv4, 8400, "").unwrap();
    c.start_auth_code(Instant::ZERO, &[7; 32], &[8; 16], redirect, None)
        .unwrap();
    let target = format!(
        "/?state={}&code=4/0AeaYSHB&scope=https://mail.google.com/",
        c.pkce_state().unwrap()
    );
    c.handle_redirect(Instant::ZERO, target.as_bytes()).unwrap();
    send(&mut c, RequestKind::CodeExchange);
    c
}

fn send(c: &mut TestClient, kind: RequestKind) {
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    let tx = c.poll_transmit(Instant::ZERO, &mut out).unwrap().unwrap();
    assert_eq!(tx.kind, kind);
    assert!(tx.sensitive);
}

/// Feed `response` in pieces cut at `cuts`; the events and tokens that result.
fn run(mut c: TestClient, response: &[u8], cuts: &[usize]) -> Outcome {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (response.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(response.len());
    let mut start = 0;
    for cut in cuts {
        if cut > start {
            let used = c.handle_input(Instant::ZERO, &response[start..cut]);
            assert_eq!(used, cut - start);
            start = cut;
        }
    }
    c.handle_close(Instant::ZERO);
    let events = std::iter::from_fn(|| c.poll_event()).collect();
    let tokens = c.tokens().map(|t| {
        (
            t.access_token.expose().to_vec(),
            t.refresh_token.expose().to_vec(),
        )
    });
    (events, tokens)
}

fn expected(r: &Recorded, expires_in: u64) -> Outcome {
    (
        vec![
            Event::RefreshTokenRotated,
            Event::AccessToken {
                expires_at: Some(Instant::from_millis(expires_in * 1000)),
            },
        ],
        Some((
            r.access_token.as_bytes().to_vec(),
            r.refresh_token.as_bytes().to_vec(),
        )),
    )
}

#[test]
fn microsoft_recorded_response_is_about_6_5_kb_and_parses() {
    let r = microsoft_recorded();
    let body_len = r.response.split("\r\n\r\n").nth(1).unwrap().len();
    assert!((6_300..7_000).contains(&body_len), "{body_len}");
    println!(
        "Microsoft recorded response: {} octets ({body_len} of body)",
        r.response.len()
    );
    assert_eq!(
        run(microsoft_refreshing(), r.response.as_bytes(), &[]),
        expected(&r, 4383)
    );
}

#[test]
fn microsoft_recorded_response_split_at_every_byte_boundary() {
    let r = microsoft_recorded();
    let want = expected(&r, 4383);
    for cut in 0..=r.response.len() {
        assert_eq!(
            run(microsoft_refreshing(), r.response.as_bytes(), &[cut]),
            want,
            "cut at {cut}"
        );
    }
}

#[test]
fn google_recorded_chunked_response_split_at_every_byte_boundary() {
    let r = google_recorded();
    println!("Google recorded response: {} octets", r.response.len());
    let want = expected(&r, 3599);
    assert_eq!(run(google_exchanging(), r.response.as_bytes(), &[]), want);
    for cut in 0..=r.response.len() {
        assert_eq!(
            run(google_exchanging(), r.response.as_bytes(), &[cut]),
            want,
            "cut at {cut}"
        );
    }
}

#[test]
fn smallest_response_buffers_for_the_recorded_responses() {
    // The lent buffer holds the head first, then the decoded body, so the
    // least that works is the larger of the two; one octet less fails
    // cleanly. Printed for the integration notes.
    for (name, r, expires, make) in [
        (
            "Microsoft",
            microsoft_recorded(),
            4383,
            microsoft_refreshing_with as fn(usize) -> TestClient,
        ),
        ("Google", google_recorded(), 3599, google_exchanging_with),
    ] {
        let head = r.response.find("\r\n\r\n").unwrap() + 4;
        let (_, Some((access, refresh))) =
            run(make(OAUTH_RESPONSE_BUF_LEN), r.response.as_bytes(), &[])
        else {
            panic!("{name}")
        };
        assert_eq!(
            (access.len(), refresh.len()),
            (r.access_token.len(), r.refresh_token.len())
        );
        // Success is monotonic in the buffer size: bisect for the least.
        let works = |n: usize| run(make(n), r.response.as_bytes(), &[]) == expected(&r, expires);
        assert!(works(OAUTH_RESPONSE_BUF_LEN), "{name}");
        let (mut lo, mut hi) = (0, OAUTH_RESPONSE_BUF_LEN);
        while lo + 1 < hi {
            let mid = (lo + hi) / 2;
            if works(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let least = hi;
        assert!(least >= head);
        println!("{name}: head {head} octets, least response buffer {least} octets");
        let (events, tokens) = run(make(least - 1), r.response.as_bytes(), &[]);
        assert!(tokens.is_none());
        assert!(
            matches!(events[..], [Event::Failed(_)]),
            "{name}: {events:?}"
        );
    }
}

proptest! {
    #[test]
    fn any_chunking_gives_the_same_tokens(cuts in proptest::collection::vec(0usize..8_000, 0..24)) {
        let ms = microsoft_recorded();
        prop_assert_eq!(run(microsoft_refreshing(), ms.response.as_bytes(), &cuts), expected(&ms, 4383));
        let g = google_recorded();
        prop_assert_eq!(run(google_exchanging(), g.response.as_bytes(), &cuts), expected(&g, 3599));
    }
}

#[test]
fn request_and_authorize_url_sizes() {
    // The request buffer a refresh needs with the recorded Microsoft refresh
    // token, and the authorize URL's length, for the integration notes.
    let r = microsoft_recorded();
    let p = Provider::microsoft(MicrosoftCloud::Global, Tenant::Common).unwrap();
    let mut c = Client::new(
        p,
        AppRegistration::public("9e5f94bc-e8a4-4e73-b8be-63364c29d753").unwrap(),
        vec![0u8; OAUTH_RESPONSE_BUF_LEN],
        1,
    );
    c.start_refresh(Instant::ZERO, r.refresh_token.as_bytes())
        .unwrap();
    let Err(need) = c.poll_transmit(Instant::ZERO, &mut [0u8; 16]) else {
        panic!()
    };
    println!(
        "Microsoft refresh request with a {}-octet refresh token: {} octets",
        r.refresh_token.len(),
        need.needed
    );
    assert!(need.needed < OAUTH_REQUEST_BUF_LEN);
    assert!(need.needed > r.refresh_token.len());

    let mut c = Client::new(
        Provider::google().unwrap(),
        AppRegistration::with_secret(
            "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com",
            b"GOCSPX-abcdefghijklmnopqrstuvwxyz1",
        )
        .unwrap(),
        vec![0u8; 1024],
        1,
    );
    let redirect = RedirectUri::loopback(LoopbackHost::Ipv4, 65535, "").unwrap();
    let hint = mfp_oauth_core::Address::parse("first.last@example.com").unwrap();
    c.start_auth_code(Instant::ZERO, &[1; 32], &[2; 16], redirect, Some(&hint))
        .unwrap();
    let Err(mfp_oauth_core::oauth::OAuthError::BufferTooSmall(url)) =
        c.authorize_url(&mut [0u8; 8])
    else {
        panic!()
    };
    println!("Google authorize URL: {} octets", url.needed);
    assert!(url.needed < 1024);
}
