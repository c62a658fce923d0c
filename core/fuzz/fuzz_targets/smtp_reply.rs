//! Every stateless SMTP parser on arbitrary bytes: reply lines, EHLO
//! capabilities, the 334 error challenge.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::wire::{
    ehlo::Capabilities, reply::parse_reply, sasl::decode_error_challenge, Parsed,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(Parsed::Complete(reply, used)) = parse_reply(data) {
        assert!(used <= data.len());
        assert!(reply.lines >= 1);
    }
    let mut caps = Capabilities::default();
    for line in data.split(|&b| b == b'\n') {
        caps.parse_line(line);
    }
    let _ = decode_error_challenge(data);
});
