//! The OAuth client (device flow or refresh grant, public or confidential
//! app) fed arbitrary server bytes in arbitrary chunks, with time moving
//! on. Invariants (`common::drive_oauth`): no panic; never more consumed
//! than given; every request a whole POST to the profile's host; the
//! refresh token and client secret only in requests marked sensitive
//! (and every request but the device authorization is); nothing sent after success.
#![no_main]

mod common;

use common::{drive_oauth, Feed};
use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::oauth::{Client, Event};
use mfp_oauth_core::provider::{AppRegistration, CustomEndpoints, Provider};
use mfp_oauth_core::Instant;

const REFRESH: &[u8] = b"RT-fuzz-0.AXkA7f3a9c51";
const SECRET: &[u8] = b"CS-fuzz-Qx8~b2d4e6";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, payload)) = data.split_first() else {
        return;
    };
    let Ok(provider) = Provider::custom(&CustomEndpoints {
        authorize_url: None,
        token_url: "https://idp.example/token",
        device_url: Some("https://idp.example/device"),
        scope: "smtp offline_access",
    }) else {
        return;
    };
    let app = if flags & 2 == 0 {
        AppRegistration::public("printer")
    } else {
        AppRegistration::with_secret("printer", SECRET)
    };
    let Ok(app) = app else { return };
    let mut c = Client::new(
        provider,
        app,
        vec![0u8; 256 + usize::from(flags) * 32],
        u64::from(flags),
    );
    let now0 = Instant::from_millis(1);
    let started = if flags & 1 == 0 {
        c.start_device(now0)
    } else {
        c.start_refresh(now0, REFRESH)
    };
    if started.is_err() {
        return;
    }
    let mut feed = Feed::new(payload, usize::from(flags >> 4));
    let mut terminal = 0;
    drive_oauth(
        &mut c,
        &mut feed,
        1,
        "idp.example",
        &[REFRESH, SECRET],
        |c, ev, _| {
            if ev == Event::UserCode {
                // The device code goes only into device token requests, which
                // drive_oauth checks are marked sensitive.
                let auth = c
                    .device_authorization()
                    .expect("UserCode without the authorization");
                assert!(!auth.device_code.is_empty());
            }
            if matches!(
                ev,
                Event::AccessToken { .. } | Event::ReauthRequired(_) | Event::Failed(_)
            ) {
                terminal += 1;
            }
        },
    );
    assert!(terminal <= 1, "more than one terminal event");
});
