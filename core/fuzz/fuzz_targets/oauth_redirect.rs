//! The authorization code flow with PKCE (R-OAUTH, RFC 7636): the loopback
//! listener's request and its redirect query (`code`, `state`, `error`),
//! then the code exchange fed arbitrary server bytes in arbitrary chunks.
//! `STATE` in the input stands for the flow's real state, so that the
//! fuzzer gets past the state check. Invariants: no panic; the authorize
//! URL (shown in a browser) never carries the verifier; a redirect without
//! the state is refused and the flow keeps waiting; an accepted code leads
//! to exactly one code exchange, marked sensitive, with the verifier; a
//! malformed code keeps the flow waiting; `error=` ends it; every request
//! fits the documented `OAUTH_REQUEST_BUF_LEN`.
#![no_main]

mod common;

use base64::Engine;
use common::{contains, drive_oauth, Feed};
use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::limits::OAUTH_REQUEST_BUF_LEN;
use mfp_oauth_core::oauth::{Client, OAuthError, RedirectUri, RequestKind};
use mfp_oauth_core::provider::{AppRegistration, CustomEndpoints, LoopbackHost, Provider};
use mfp_oauth_core::wire::http::parse_redirect_request;
use mfp_oauth_core::wire::Parsed;
use mfp_oauth_core::Instant;

const HOST: &str = "login.idp.example";

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(provider) = Provider::custom(&CustomEndpoints {
        authorize_url: Some("https://login.idp.example/authorize?tenant=x"),
        token_url: "https://login.idp.example/token",
        device_url: None,
        scope: "smtp offline_access",
    }) else {
        return;
    };
    let Ok(app) = AppRegistration::public("printer") else {
        return;
    };
    let mut c = Client::new(
        provider,
        app,
        vec![0u8; 512 + usize::from(flags) * 32],
        u64::from(flags),
    );
    let host = [
        LoopbackHost::Ipv4,
        LoopbackHost::Ipv6,
        LoopbackHost::Localhost,
    ][usize::from(flags % 3)];
    let Ok(redirect) = RedirectUri::loopback(host, 8400, "/cb") else {
        return;
    };
    let now = Instant::from_millis(1);
    let verifier_random = [flags; 32];
    let state_random = [flags ^ 0x5a; 16];
    c.start_auth_code(now, &verifier_random, &state_random, redirect, None)
        .expect("a profile with an authorize endpoint");
    // RFC 7636 §4.1: the verifier is BASE64URL of the random octets.
    let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(verifier_random);
    let state = c
        .pkce_state()
        .expect("the state of a started flow")
        .as_bytes()
        .to_vec();

    let mut url = vec![0u8; 64 + usize::from(flags) * 2];
    match c.authorize_url(&mut url) {
        Ok(n) => {
            let url = &url[..n];
            assert!(url.starts_with(b"https://login.idp.example/authorize?tenant=x&"));
            assert!(contains(url, &state));
            assert!(
                !contains(url, verifier.as_bytes()),
                "the verifier in the authorize URL"
            );
        }
        Err(OAuthError::BufferTooSmall(b)) => assert!(b.needed > url.len()),
        Err(e) => panic!("authorize URL: {e:?}"),
    }

    // The listener's request (or a bare target), up to the first newline.
    let split = rest
        .iter()
        .position(|&b| b == b'\n')
        .map_or(rest.len(), |i| i + 1);
    let (request, answers) = rest.split_at(split);
    let request = replace(request, b"STATE", &state);
    let target: &[u8] = match parse_redirect_request(&request) {
        Ok(Parsed::Complete(target, used)) => {
            assert!(used <= request.len());
            target
        }
        _ => request.strip_suffix(b"\n").unwrap_or(&request),
    };
    let result = c.handle_redirect(now, target);
    if !contains(target, &state) && !target.contains(&b'%') {
        assert_eq!(
            result,
            Err(OAuthError::StateMismatch),
            "accepted without the state"
        );
    }
    // The documented request buffer holds any request the client makes.
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    match result {
        Ok(()) => {
            let tx = c
                .poll_transmit(now, &mut out)
                .expect("the code exchange within OAUTH_REQUEST_BUF_LEN")
                .expect("the code exchange");
            assert_eq!(tx.kind, RequestKind::CodeExchange);
            assert!(tx.sensitive);
            let mut field = b"code_verifier=".to_vec();
            field.extend_from_slice(verifier.as_bytes());
            assert!(contains(&out[..tx.len], &field));
            assert!(contains(&out[..tx.len], b"grant_type=authorization_code"));
            // The exchange's answer, then whatever retries follow.
            let mut feed = Feed::new(answers, usize::from(flags >> 4));
            let answer = feed.answer();
            for piece in answer.chunks(feed.step()) {
                assert!(c.handle_input(now, piece) <= piece.len());
            }
            c.handle_close(now);
            drive_oauth(&mut c, &mut feed, 1, HOST, &[], |_, _, _| {});
        }
        Err(OAuthError::StateMismatch | OAuthError::RedirectMalformed) => {
            assert!(!c.is_finished(), "a refused redirect ended the flow");
            assert_eq!(c.poll_transmit(now, &mut out), Ok(None));
        }
        Err(OAuthError::Redirect(_)) => assert!(c.is_finished()),
        Err(e) => panic!("unexpected redirect error {e:?}"),
    }
});
