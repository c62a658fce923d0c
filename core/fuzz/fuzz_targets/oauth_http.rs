//! The HTTP/1.1 response parser fed arbitrary bytes in arbitrary chunks,
//! plus the CONNECT reply and loopback request parsers. Invariants: no
//! panic; never more consumed than given; the same result for the whole
//! input fed at once and fed in pieces; a complete body fits the buffer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::wire::http::{
    parse_connect_reply, parse_redirect_request, HttpError, Response, ResponseParser,
};
use mfp_oauth_core::wire::Parsed;

fn parse(
    data: &[u8],
    buf: &mut [u8],
    step: usize,
) -> (Result<Option<Response>, HttpError>, Vec<u8>) {
    let mut p = ResponseParser::new();
    for piece in data.chunks(step) {
        match p.feed(buf, piece) {
            Ok(Parsed::Complete(r, used)) => {
                assert!(used <= piece.len());
                assert!(r.body_len <= buf.len());
                return (Ok(Some(r)), buf[..r.body_len].to_vec());
            }
            Ok(Parsed::Partial) => {}
            Err(e) => return (Err(e), Vec::new()),
        }
    }
    match p.finish() {
        Ok(r) => (Ok(Some(r)), buf[..r.body_len].to_vec()),
        Err(HttpError::Truncated) => (Ok(None), Vec::new()),
        Err(e) => (Err(e), Vec::new()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let mut buf = vec![0u8; 64 + usize::from(seed) * 16];
    let whole = parse(rest, &mut buf, rest.len().max(1));
    let pieces = parse(rest, &mut buf, usize::from(seed % 11) + 1);
    assert_eq!(whole, pieces);
    if let Ok(Parsed::Complete(_, used)) = parse_connect_reply(rest) {
        assert!(used <= rest.len());
    }
    if let Ok(Parsed::Complete(target, used)) = parse_redirect_request(rest) {
        assert!(used <= rest.len() && target.len() <= used);
    }
});
