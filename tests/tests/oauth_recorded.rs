//! Recorded-style token responses from Microsoft (about 6.5 KB, Content-Length)
//! and Google (chunked, pretty-printed JSON) driven through the OAuth client,
//! split at every byte boundary and in arbitrary pieces (R-OAUTH).

use mfp_oauth_core::limits::{OAUTH_REQUEST_BUF_LEN, OAUTH_RESPONSE_BUF_LEN};
use mfp_oauth_core::oauth::{Client, Event, RedirectUri};
use mfp_oauth_core::provider::{AppRegistration, LoopbackHost, MicrosoftCloud, Provider, Tenant};
use mfp_oauth_core::Instant;
use mfp_oauth_tests::oauth::{
    google_exchanging, google_exchanging_with, google_recorded, microsoft_recorded,
    microsoft_refreshing, microsoft_refreshing_with, Recorded, TestClient,
};
use proptest::prelude::*;

/// The events, and the access and refresh tokens if the flow succeeded.
type Outcome = (Vec<Event>, Option<(Vec<u8>, Vec<u8>)>);

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
    // The lent buffer holds one head line at a time: the body is parsed as
    // it arrives and lines of fields not read are skipped (R-MEM), so the
    // least that works is the longest line read; one octet less fails
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
        // The buffer holds one head line at a time (and the CRLF added to
        // check it): the least is the longest line the client reads, the
        // status line or a framing or type field, not the whole head.
        let read = [
            "content-length:",
            "transfer-encoding:",
            "content-encoding:",
            "retry-after:",
            "content-type:",
        ];
        let longest_read = r.response[..head]
            .split_inclusive('\n')
            .enumerate()
            .filter(|(i, l)| *i == 0 || read.iter().any(|f| l.to_ascii_lowercase().starts_with(f)))
            .map(|(_, l)| l.len() + 2)
            .max()
            .unwrap();
        assert_eq!(least, longest_read, "{name}: the body needs no room");
        assert!(least < head, "{name}: less than the whole head");
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
    // The request buffer that holds a refresh with the recorded Microsoft refresh
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
    let Err(need) = c.poll_transmit(Instant::ZERO, &mut []) else {
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
