//! The `334` error challenge after a rejected token (R-SASL, RFC 7628
//! §3.2.2): the fuzz input is the JSON the server encodes, so that the JSON
//! parser behind the base64 decoding is reached; it is also decoded as raw
//! challenge text and carried in a whole `334` reply. Invariants: no panic;
//! a challenge is never both "token invalid" and "insufficient scope"; a
//! reply whose text fits `MAX_REPLY_TEXT_LEN` keeps the verdict of the bare
//! text. (The SMTP client decodes the whole `334` line, up to
//! `MAX_REPLY_LINE_LEN`, not the reply's capped text: see
//! `hostile_smtp::a_long_error_challenge_is_read_whole`.)
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::limits::MAX_REPLY_TEXT_LEN;
use mfp_oauth_core::wire::reply::parse_reply;
use mfp_oauth_core::wire::sasl::decode_error_challenge;
use mfp_oauth_core::wire::Parsed;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = decode_error_challenge(data) {
        assert!(!(c.token_invalid && c.insufficient_scope));
    }
    let text = base64::engine::general_purpose::STANDARD.encode(data);
    let verdict = decode_error_challenge(text.as_bytes());
    if let Ok(c) = verdict {
        assert!(!(c.token_invalid && c.insufficient_scope));
    }
    let line = format!("334 {text}\r\n");
    if let Ok(Parsed::Complete(reply, used)) = parse_reply(line.as_bytes()) {
        assert_eq!(used, line.len());
        assert_eq!(reply.code.code, 334);
        if text.len() <= MAX_REPLY_TEXT_LEN {
            assert_eq!(decode_error_challenge(reply.text().as_bytes()), verdict);
        }
    }
});
