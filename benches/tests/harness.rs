//! The benchmark harness measures what it claims: the sink un-stuffs and
//! counts exactly the message each contender sent, checks the token, and
//! every contender delivers the same message over loopback. No timing here.

use std::time::Duration;

use mfp_oauth_benches::cases;
use mfp_oauth_benches::clients::{self, OursBuffers};
use mfp_oauth_benches::fixtures::{self, USER};
use mfp_oauth_benches::sink::{Session, Sink};
use mfp_oauth_core::wire::dot_stuff::DotStuffer;

const TOKEN_LEN: usize = 2_500;

fn stuffed(msg: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 64 * 1024];
    let mut wire = Vec::new();
    let mut s = DotStuffer::new();
    let mut rest = msg;
    while !rest.is_empty() {
        let (c, w) = s.encode(rest, &mut out);
        wire.extend_from_slice(&out[..w]);
        rest = &rest[c..];
    }
    let n = s.finish(&mut out).unwrap();
    wire.extend_from_slice(&out[..n]);
    wire
}

fn envelope_then(token: &str, body: &[u8]) -> Vec<u8> {
    let mut c = b"EHLO x\r\nAUTH XOAUTH2 ".to_vec();
    let mut line = vec![0u8; cases::auth_line_len(USER, token.len())];
    let n = cases::xoauth2_ours(USER, token.as_bytes(), &mut line);
    c.extend_from_slice(&line[13..n]);
    c.extend_from_slice(b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n");
    c.extend_from_slice(body);
    c.extend_from_slice(b"QUIT\r\n");
    c
}

#[test]
fn sink_unstuffs_data_in_any_chunking() {
    let token = fixtures::access_token(TOKEN_LEN);
    let msg = fixtures::message(3_000);
    assert_eq!(fixtures::dot_lines(&msg), 3);
    let client = envelope_then(&token, &stuffed(&msg));
    for size in [1, 2, 3, 7, 64, 1_000, client.len()] {
        let mut session = Session::new(false, token.as_bytes());
        let mut replies = Vec::new();
        for piece in client.chunks(size) {
            session.feed(piece, &mut replies);
        }
        let stats = session.stats();
        assert!(session.closed(), "chunks of {size}");
        assert!(stats.token_ok);
        assert_eq!(stats.messages, 1);
        assert_eq!(stats.recipients, 2);
        assert_eq!(stats.body_octets, msg.len() as u64, "chunks of {size}");
        let text = String::from_utf8(replies).unwrap();
        assert!(
            text.contains("235 ") && text.contains("354 ") && text.ends_with("221 2.0.0 Bye\r\n")
        );
    }
}

#[test]
fn sink_refuses_a_wrong_token_and_takes_bdat() {
    let token = fixtures::access_token(TOKEN_LEN);
    let mut session = Session::new(true, token.as_bytes());
    let mut replies = Vec::new();
    let wrong = fixtures::access_token(TOKEN_LEN - 1);
    let mut client = envelope_then(&wrong, b"");
    client.truncate(client.len() - b"DATA\r\nQUIT\r\n".len());
    client.extend_from_slice(b"BDAT 5\r\nHello");
    client.extend_from_slice(b"BDAT 2 LAST\r\n\r\nQUIT\r\n");
    session.feed(&client, &mut replies);
    let stats = session.stats();
    assert!(!stats.token_ok);
    assert!(stats.chunked);
    assert_eq!(stats.body_octets, 7);
    assert!(String::from_utf8(replies).unwrap().contains("535 5.7.8"));
}

#[test]
fn every_contender_delivers_the_same_message() {
    let token = fixtures::access_token(TOKEN_LEN);
    let msg = fixtures::message(20_000);
    for chunking in [true, false] {
        let sink = Sink::start(chunking, token.as_bytes(), None).unwrap();
        clients::send_ours(
            sink.addr(),
            token.as_bytes(),
            &mut msg.as_slice(),
            msg.len() as u64,
            chunking,
            OursBuffers {
                read: 512,
                out: 1_024,
                body: 700,
            },
        )
        .unwrap();
        let stats = sink.next_session(Duration::from_secs(10)).unwrap();
        assert_eq!(stats.chunked, chunking);
        assert!(stats.token_ok);
        assert_eq!((stats.messages, stats.recipients), (1, 3));
        assert_eq!(stats.body_octets, msg.len() as u64);

        clients::send_lettre(sink.addr(), &token, &msg).unwrap();
        let stats = sink.next_session(Duration::from_secs(10)).unwrap();
        assert!(stats.token_ok && !stats.chunked);
        assert_eq!((stats.messages, stats.recipients), (1, 3));
        // lettre always adds CRLF before the final dot.
        assert_eq!(stats.body_octets, msg.len() as u64 + 2);
    }
}

#[test]
fn ours_and_lettre_write_the_same_auth_line() {
    use lettre::transport::smtp::authentication::Credentials;
    let token = fixtures::access_token(TOKEN_LEN);
    let mut line = vec![0u8; cases::auth_line_len(USER, token.len())];
    let n = cases::xoauth2_ours(USER, token.as_bytes(), &mut line);
    assert_eq!(n, line.len());
    let creds = Credentials::new(USER.to_owned(), token);
    assert_eq!(cases::xoauth2_lettre(&creds).as_bytes(), &line[..]);
    // One octet short: nothing written, no panic.
    assert_eq!(cases::xoauth2_ours(USER, b"t", &mut line[..10]), 0);
}

#[test]
fn the_mail_api_cases_carry_their_exchange_to_the_end() {
    // Issue 19 (R-XPORT): the benchmark's scripted exchanges end sent
    // (0 would mean the session refused a step), with every octet of the
    // message's file on the wire.
    let token = fixtures::access_token(TOKEN_LEN);
    let mut out = vec![0u8; 64 * 1024];
    let len = 5 * 1024 * 1024;
    let msg = fixtures::canonical_message(len);
    let sent = cases::api_graph_upload_ours(&msg, token.as_bytes(), &mut out);
    // The file raw (57 octets per 78-octet line of the message), the
    // draft and the heads: less than the message.
    let file = (len - 1024) / 78 * 57;
    assert!(sent > file && sent < msg.len(), "{sent} of {}", msg.len());
    // Gmail's script is a resumable upload (over 5 MB); Graph's one
    // `sendMail` (under 3 MiB).
    for (graph, len) in [(false, 6 * 1024 * 1024), (true, 1024 * 1024)] {
        let m = fixtures::canonical_message(len);
        let sent = cases::api_ours(graph, &m, token.as_bytes(), &mut out);
        assert!(sent > m.len(), "graph {graph}: {sent}");
    }
}
