//! The OAuth client (device flow, then refresh) fed arbitrary server bytes
//! in arbitrary chunks, with time moving on. Invariants: no panic; never
//! more consumed than given; nothing is ever sent after success; every
//! request is a whole HTTP request to the profile's host.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::oauth::{Client, Event};
use mfp_oauth_core::provider::{AppRegistration, CustomEndpoints, Provider};
use mfp_oauth_core::Instant;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, payload)) = data.split_first() else { return };
    let Ok(provider) = Provider::custom(&CustomEndpoints {
        authorize_url: None,
        token_url: "https://idp.example/token",
        device_url: Some("https://idp.example/device"),
        scope: "smtp offline_access",
    }) else {
        return;
    };
    let Ok(app) = AppRegistration::public("printer") else { return };
    let mut c = Client::new(provider, app, vec![0u8; 256 + usize::from(flags) * 32], u64::from(flags));
    let now0 = Instant::from_millis(1);
    let started = if flags & 1 == 0 {
        c.start_device(now0)
    } else {
        c.start_refresh(now0, b"rt-1")
    };
    if started.is_err() {
        return;
    }
    let mut out = vec![0u8; 2048];
    let mut now = 1u64;
    let mut succeeded = false;
    let mut pos = 0;
    let mut step = usize::from(flags >> 4) + 1;
    for _ in 0..200 {
        while let Some(ev) = c.poll_event() {
            if matches!(ev, Event::AccessToken { .. }) {
                succeeded = true;
                assert!(c.tokens().is_some());
            }
        }
        let t = Instant::from_millis(now);
        match c.poll_transmit(t, &mut out) {
            Ok(Some(tx)) => {
                assert!(!succeeded, "a request after success");
                assert!(out[..tx.len].starts_with(b"POST /"));
                assert_eq!(tx.endpoint.host(), "idp.example");
                // The server's answer: a length byte (times 4), then octets
                // fed in pieces.
                let len = usize::from(payload.get(pos).copied().unwrap_or(0)) * 4;
                let start = (pos + 1).min(payload.len());
                let end = (start + len).min(payload.len());
                let answer = &payload[start..end];
                pos = end;
                for piece in answer.chunks(step) {
                    let used = c.handle_input(t, piece);
                    assert!(used <= piece.len());
                }
                step = step % 7 + 1;
                c.handle_close(t);
            }
            Ok(None) => match c.poll_timeout() {
                Some(at) => {
                    now = at.as_millis().max(now);
                    c.handle_timeout(Instant::from_millis(now));
                }
                None => break,
            },
            Err(_) => break,
        }
        if c.poll_timeout().is_none() {
            break;
        }
    }
});
