//! The token, error and device authorization JSON parsers and the form
//! decoder on arbitrary bytes. Invariants: no panic; a failed token parse
//! leaves no token behind; capacities hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::wire::form;
use mfp_oauth_core::wire::json::{
    parse_device_authorization, parse_error_response, parse_token_response, DeviceAuthorization,
    TokenResponse,
};

fuzz_target!(|data: &[u8]| {
    let mut t = TokenResponse::new();
    if parse_token_response(data, &mut t).is_err() {
        assert!(t.access_token.is_empty() && t.refresh_token.is_empty());
    } else {
        assert!(!t.access_token.is_empty());
    }
    let _ = parse_error_response(data);
    let mut d = DeviceAuthorization::new();
    if parse_device_authorization(data, &mut d).is_err() {
        assert!(d.device_code.is_empty());
    }
    let mut out = [0u8; 64];
    if let Ok(n) = form::decode(data, &mut out) {
        assert!(n <= data.len() && n <= out.len());
    }
    for (name, value) in form::pairs(data) {
        assert!(name.len() + value.len() < data.len() + 1);
    }
});
