//! Graph's path for a message over one `sendMail` request (R-XPORT): the
//! survey, the draft without the large attachment, the upload session on
//! another host in ranged chunks, `send`; a drop in the middle of a chunk.

use std::string::String;
use std::vec::Vec;

use base64::Engine as _;

use super::*;
use crate::diag::Id;
use crate::mime::{Attachment, Composer, Output, Parts};
use crate::smtp::{Error, Event, Stage};
use crate::time::Instant;

const TOKEN: &[u8] = b"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature";
const GRAPH: &str = "graph.microsoft.com";
const UPLOAD: &str = "outlook.example";
const URL: &str =
    "https://outlook.example:444/api/v2.0/AttachmentSessions('AAMk%3D')?authtoken=eyJ.sig";
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
/// The attachment: 3.5 MiB, over Graph's 3 MB for an upload session.
const SCAN_LEN: usize = 3_670_016;

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn scan() -> Vec<u8> {
    (0..SCAN_LEN).map(|i| (i * 31 + i / 977) as u8).collect()
}

/// A message from the composer: a text and the scan, named with a quote.
fn message(file: &[u8]) -> Vec<u8> {
    message_of(&[("scan \"3F\".pdf", file)])
}

/// A message from the composer: a text and `files`.
fn message_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let atts: Vec<Attachment<'_>> = files
        .iter()
        .map(|(name, f)| Attachment {
            name,
            content_type: "",
            len: f.len() as u64,
        })
        .collect();
    let msg = Parts {
        from: "scanner@contoso.com",
        to: &["bob@fabrikam.com"],
        subject: "Scan",
        text: Some("Attached: 40 pages."),
        attachments: &atts,
        message_id_local: "",
    };
    let mut c = Composer::new(msg, Some(1_795_516_072), &[7; 12]).unwrap();
    let (mut got, mut fed, mut buf) =
        (Vec::new(), std::vec![0; files.len()], std::vec![0u8; 65536]);
    loop {
        match c.poll_output(&mut buf).unwrap() {
            Output::Wrote(n) => got.extend_from_slice(&buf[..n]),
            Output::NeedInput { part, max } => {
                let (file, at) = (files[part].1, &mut fed[part]);
                let k = (file.len() - *at).min(max);
                *at += c.handle_input(&file[*at..*at + k]).unwrap();
            }
            Output::Done => return got,
        }
    }
}

fn request(host: &str, port: u16, size: u64, resume: bool) -> Request<'_> {
    Request {
        api: Api::Graph,
        host,
        port,
        base_path: "/",
        mailbox: None,
        size,
        recipients: 1,
        not_before: None,
        resume,
    }
}

fn events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// Every transmit until none is left.
fn transmit(s: &mut Session) -> String {
    let mut all = Vec::new();
    let mut out = [0u8; 700];
    while let Some(tx) = s.poll_transmit(t(1), &mut out, TOKEN).unwrap() {
        all.extend_from_slice(&out[..tx.len]);
    }
    String::from_utf8(all).unwrap()
}

/// One pass of the message from its first octet, in pieces of `piece`;
/// the body octets written, up to `stop` octets of input (then the
/// connection "drops": no finish).
fn pass(s: &mut Session, m: &[u8], piece: usize, stop: usize) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut out = std::vec![0u8; 4096];
    for (i, chunk) in m.chunks(piece).enumerate() {
        if i * piece >= stop {
            return wire;
        }
        let mut rest = chunk;
        while !rest.is_empty() {
            let p = s.write_body(rest, &mut out).unwrap();
            wire.extend_from_slice(&out[..p.written]);
            rest = &rest[p.consumed..];
        }
    }
    s.finish_body(t(2)).unwrap();
    wire
}

fn answer(s: &mut Session, status: &str, json: &str) {
    let a = std::format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
        json.len()
    );
    assert_eq!(s.handle_input(t(3), a.as_bytes()), a.len());
}

/// The head of the request on the wire, then (`100 Continue`) its body
/// from one pass of `m`.
fn request_with_body(s: &mut Session, m: &[u8], piece: usize) -> (String, Vec<u8>) {
    let head = transmit(s);
    s.handle_input(t(1), CONTINUE);
    assert_eq!(events(s), [Event::ReadyForBody]);
    let mut body = pass(s, m, piece, usize::MAX);
    // The last base64 quantum of a draft goes once the pass is over.
    body.extend_from_slice(transmit(s).as_bytes());
    (head, body)
}

/// Starts a session for `m` and carries the survey and the draft; returns
/// the draft's MIME as Graph would decode it.
fn through_the_draft(s: &mut Session, m: &[u8], piece: usize) -> Vec<u8> {
    s.start(&request(GRAPH, 443, m.len() as u64, false))
        .unwrap();
    // The survey: the message read once, nothing sent.
    assert_eq!(events(s), [Event::ReadyForBody]);
    assert_eq!(pass(s, m, piece, usize::MAX), b"");
    let (head, body) = request_with_body(s, m, piece);
    assert!(head.starts_with("POST /v1.0/me/messages HTTP/1.1\r\nHost: graph.microsoft.com\r\nAuthorization: Bearer "), "{head}");
    assert!(head.contains("\r\nContent-Type: text/plain\r\n"), "{head}");
    assert!(
        head.contains(&std::format!("\r\nContent-Length: {}\r\n", body.len())),
        "{head}"
    );
    assert!(!head.contains("Connection: close"), "{head}");
    base64::engine::general_purpose::STANDARD
        .decode(&body)
        .unwrap()
}

/// A session for `m` past its survey and draft, the draft answered
/// `201` with `json`: the next request is the first part's.
fn drafted(m: &[u8], json: &str) -> Session {
    let mut s = Session::idle();
    through_the_draft(&mut s, m, 65536);
    answer(&mut s, "201 Created", json);
    s
}

/// The draft is the message without the scan's part, whole otherwise.
fn check_draft(m: &[u8], draft: &[u8]) {
    let text = String::from_utf8(m.to_vec()).unwrap();
    let start = text.find("\r\n--=_mfp_").unwrap() + 2;
    let part = text[start + 2..].find("--=_mfp_").unwrap() + start + 2;
    let end = text[part + 2..].find("--=_mfp_").unwrap() + part + 2;
    assert!(
        text[part..end].contains("filename"),
        "the scan's part: {}",
        &text[part..part + 300]
    );
    let want = [&m[..part], &m[end..]].concat();
    assert!(draft == want.as_slice(), "draft of {} octets", draft.len());
}

#[test]
#[cfg_attr(miri, ignore = "composes and passes megabytes many times")]
fn a_large_message_goes_as_a_draft_an_upload_session_and_send() {
    let file = scan();
    let m = message(&file);
    for piece in [65536, 1001] {
        let mut s = Session::idle();
        let draft = through_the_draft(&mut s, &m, piece);
        check_draft(&m, &draft);
        answer(
            &mut s,
            "201 Created",
            r#"{"@odata.context":"x","id":"AAMk=","subject":"Scan"}"#,
        );
        // The upload session, on the same connection: its JSON follows
        // the head (the name escaped).
        let head = transmit(&mut s);
        let json = r#"{"AttachmentItem":{"attachmentType":"file","name":"scan \"3F\".pdf","size":3670016}}"#;
        assert!(
            head.starts_with(
                "POST /v1.0/me/messages/AAMk=/attachments/createUploadSession HTTP/1.1\r\n"
            ),
            "{head}"
        );
        assert!(
            head.contains(&std::format!("\r\nContent-Length: {}\r\n", json.len())),
            "{head}"
        );
        assert!(head.ends_with(&std::format!("\r\n\r\n{json}")), "{head}");
        let session = std::format!(
            r#"{{"uploadUrl":"{URL}","expirationDateTime":"2099-01-01T00:00:00Z","nextExpectedRanges":["0-"]}}"#
        );
        answer(&mut s, "201 Created", &session);
        // The chunks go to the upload URL's host: a new connection.
        assert_eq!(events(&mut s), [Event::Closed]);
        assert!(s.wants_connection());
        assert_eq!(s.next_target(), Some((UPLOAD, 444)));
        s.end();
        s.start(&request(UPLOAD, 444, m.len() as u64, true))
            .unwrap();
        let mut uploaded = Vec::new();
        for (range, next) in [
            ("0-3647999", r#"{"nextExpectedRanges":["3648000"]}"#),
            ("3648000-3670015", ""),
        ] {
            let (head, body) = request_with_body(&mut s, &m, piece);
            assert!(head.starts_with("PUT /api/v2.0/AttachmentSessions('AAMk%3D')?authtoken=eyJ.sig HTTP/1.1\r\nHost: outlook.example:444\r\n"), "{head}");
            assert!(
                !head.contains("Authorization"),
                "the URL is its own credential: {head}"
            );
            assert!(
                head.contains(&std::format!(
                    "\r\nContent-Range: bytes {range}/3670016\r\nContent-Length: {}\r\n",
                    body.len()
                )),
                "{head}"
            );
            uploaded.extend_from_slice(&body);
            if next.is_empty() {
                answer(&mut s, "201 Created", "{}");
            } else {
                answer(&mut s, "200 OK", next);
            }
        }
        assert!(uploaded == file, "the scan, octet for octet");
        // `send`, back on Graph's host.
        assert_eq!(events(&mut s), [Event::Closed]);
        assert!(s.wants_connection());
        assert_eq!(s.next_target(), None);
        s.end();
        s.start(&request(GRAPH, 443, m.len() as u64, true)).unwrap();
        let head = transmit(&mut s);
        assert!(head.starts_with("POST /v1.0/me/messages/AAMk=/send HTTP/1.1\r\nHost: graph.microsoft.com\r\nAuthorization: Bearer "), "{head}");
        assert!(head.contains("\r\nContent-Length: 0\r\n"), "{head}");
        let a = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
        s.handle_input(t(4), a.as_bytes());
        assert!(matches!(
            events(&mut s)[..],
            [Event::MessageSent { accepted: 1, .. }]
        ));
        assert!(!s.wants_connection());
    }
}

#[test]
#[cfg_attr(miri, ignore = "composes and passes megabytes many times")]
fn a_chunk_cut_by_a_drop_goes_on_from_what_the_server_has() {
    let file = scan();
    let m = message(&file);
    let mut s = drafted(&m, r#"{"id":"AAMk="}"#);
    transmit(&mut s);
    answer(
        &mut s,
        "201 Created",
        &std::format!(r#"{{"uploadUrl":"{URL}","nextExpectedRanges":["0-"]}}"#),
    );
    events(&mut s);
    s.end();
    s.start(&request(UPLOAD, 444, m.len() as u64, true))
        .unwrap();
    transmit(&mut s);
    s.handle_input(t(1), CONTINUE);
    events(&mut s);
    // A million octets of the message in, then the connection drops.
    let sent = pass(&mut s, &m, 65536, 1 << 20);
    assert!(!sent.is_empty());
    s.handle_close(t(2));
    assert_eq!(
        events(&mut s),
        [Event::Failed {
            error: Error::ConnectionClosed { stage: Stage::Data }
        }]
    );
    assert!(s.resumable(), "the upload goes on over a new connection");
    assert_eq!(s.next_target(), Some((UPLOAD, 444)));
    s.end();
    // The new connection asks what the server has (it kept 100,001
    // octets: not a line's end), and the chunk goes on from there.
    s.start(&request(UPLOAD, 444, m.len() as u64, true))
        .unwrap();
    let head = transmit(&mut s);
    assert!(
        head.starts_with(
            "GET /api/v2.0/AttachmentSessions('AAMk%3D')?authtoken=eyJ.sig HTTP/1.1\r\n"
        ),
        "{head}"
    );
    assert!(!head.contains("Authorization"), "{head}");
    answer(
        &mut s,
        "200 OK",
        r#"{"expirationDateTime":"2099-01-01T00:00:00Z","nextExpectedRanges":["100001-"]}"#,
    );
    let (head, body) = request_with_body(&mut s, &m, 4096);
    assert!(
        head.contains("\r\nContent-Range: bytes 100001-3748000/3670016\r\n")
            || head.contains("\r\nContent-Range: bytes 100001-3670015/3670016\r\n"),
        "{head}"
    );
    assert!(
        body == file[100_001..100_001 + body.len()],
        "the octets from where the server is"
    );
    answer(&mut s, "201 Created", "{}");
    assert_eq!(events(&mut s), [Event::Closed]);
    assert!(s.wants_connection());
}

/// The answer did not lead on: the message fails, unexpected answer.
fn assert_unexpected(s: &mut Session) {
    assert!(matches!(
        events(s)[..],
        [Event::MessageFailed {
            error: Error::Api {
                diag: Id::ApiUnexpectedResponse,
                ..
            }
        }]
    ));
}

#[test]
#[cfg_attr(miri, ignore = "composes and passes megabytes many times")]
fn a_draft_answer_without_an_id_or_a_broken_upload_url_is_no_success() {
    let file = scan();
    let m = message(&file);
    let mut s = drafted(&m, r#"{"subject":"no id"}"#);
    assert_unexpected(&mut s);
    let mut s = drafted(&m, r#"{"id":"AAMk="}"#);
    transmit(&mut s);
    answer(
        &mut s,
        "201 Created",
        r#"{"uploadUrl":"http://plain.example/x"}"#,
    );
    assert_unexpected(&mut s);
}

#[test]
#[cfg_attr(miri, ignore = "composes and passes megabytes many times")]
fn a_file_under_3_mb_is_attached_whole_and_a_larger_one_by_upload_session() {
    // 2 MB cannot stay in the draft next to nothing else it would fit
    // with, nor go by upload session (Graph takes 3 MB or more there):
    // attached on its own, its base64 as `contentBytes`, on the same
    // connection as the draft.
    let small: Vec<u8> = (0..2_000_000u32).map(|i| (i % 253) as u8).collect();
    let big = scan();
    let m = message_of(&[("page-1.jpg", &small), ("scan.pdf", &big)]);
    let mut s = Session::idle();
    let draft = through_the_draft(&mut s, &m, 65536);
    let text = String::from_utf8(draft).unwrap();
    assert!(
        text.contains("Content-Type: text/plain") && !text.contains("filename"),
        "{text}"
    );
    answer(&mut s, "201 Created", r#"{"id":"AAMk="}"#);
    let (head, body) = request_with_body(&mut s, &m, 4096);
    assert!(
        head.starts_with("POST /v1.0/me/messages/AAMk=/attachments HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nContent-Type: application/json\r\n"),
        "{head}"
    );
    assert!(
        head.contains(&std::format!("\r\nContent-Length: {}\r\n", body.len())),
        "{head}"
    );
    let json = String::from_utf8(body).unwrap();
    let start = r##"{"@odata.type":"#microsoft.graph.fileAttachment","name":"page-1.jpg","contentBytes":""##;
    assert!(
        json.starts_with(start) && json.ends_with("\"}"),
        "{}",
        &json[..120]
    );
    let b64 = &json[start.len()..json.len() - 2];
    assert!(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
            == small
    );
    answer(
        &mut s,
        "201 Created",
        r#"{"id":"att-1","name":"page-1.jpg","size":2000000}"#,
    );
    // The large one: its upload session, on the same connection.
    let head = transmit(&mut s);
    assert!(
        head.starts_with("POST /v1.0/me/messages/AAMk=/attachments/createUploadSession "),
        "{head}"
    );
    assert!(
        head.contains(r#""name":"scan.pdf","size":3670016"#),
        "{head}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "composes and passes megabytes many times")]
fn an_attachment_asked_again_after_a_lost_connection_goes_on_a_new_draft() {
    // Its answer may have been lost after Graph attached it: asked again
    // on the same draft the recipient could get it twice.
    let small: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    let m = message_of(&[
        ("page-1.jpg", &small),
        ("page-2.jpg", &small),
        ("page-3.jpg", &small),
    ]);
    let mut s = drafted(&m, r#"{"id":"AAMk="}"#);
    request_with_body(&mut s, &m, 65536);
    s.handle_close(t(3));
    assert!(s.resumable());
    events(&mut s);
    s.end();
    s.start(&request(GRAPH, 443, m.len() as u64, true)).unwrap();
    let head = transmit(&mut s);
    assert!(
        head.starts_with("POST /v1.0/me/messages HTTP/1.1\r\n"),
        "a new draft: {head}"
    );
}

#[test]
fn the_chunk_decoder_gives_its_range_whatever_the_pieces_and_room() {
    use super::graph_upload::ChunkDecoder;
    // Under Miri a few lines and fewer shapes (each decode call costs
    // thousands of times its native time); the same paths.
    let n: u32 = if cfg!(miri) { 240 } else { 1000 };
    let raw: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
    // The composer's lines: 76 characters, CRLF.
    let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
    let mut text = Vec::new();
    for line in b64.as_bytes().chunks(76) {
        text.extend_from_slice(line);
        text.extend_from_slice(b"\r\n");
    }
    let last_octet = u64::from(n) - 1;
    let ranges: &[(u64, u64)] = if cfg!(miri) {
        &[(1, 238), (100, 100)]
    } else {
        &[(0, 999), (1, 998), (57, 113), (500, 500), (998, 999)]
    };
    let (pieces, rooms): (&[usize], &[usize]) = if cfg!(miri) {
        (&[1, 78], &[3, 100])
    } else {
        (&[1, 3, 77, 78, 4096], &[3, 4, 57, 100, 4096])
    };
    assert!(ranges.iter().all(|&(_, l)| l <= last_octet));
    for &(first, last) in ranges {
        // From the line that holds `first`.
        let line = first / 57;
        let from = (line * 78) as usize;
        for &piece in pieces {
            for &room in rooms {
                let mut d = ChunkDecoder::new(line * 57, first, last);
                let mut got = Vec::new();
                let mut out = std::vec![0u8; room];
                for chunk in text[from..].chunks(piece) {
                    let mut rest = chunk;
                    while !rest.is_empty() && !d.done() {
                        let (taken, written) = d.decode(rest, &mut out).unwrap();
                        got.extend_from_slice(&out[..written]);
                        assert!(taken > 0 || written > 0, "progress");
                        rest = &rest[taken..];
                    }
                }
                assert!(d.done());
                assert_eq!(
                    got,
                    raw[first as usize..=last as usize],
                    "{first}-{last} piece {piece} room {room}"
                );
            }
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "composes and passes megabytes many times")]
fn an_id_or_upload_url_from_graph_never_breaks_a_request_line() {
    // The draft's id goes into the next requests' targets (which carry the
    // token): a CR LF from a JSON escape, a space or a `/` is
    // percent-encoded (found by the graph_upload fuzz target: it put a
    // header line of its own into a POST with the token).
    let file = scan();
    let m = message(&file);
    let mut s = drafted(&m, r#"{"id":"a\r\nX-Evil: 1/b"}"#);
    let head = transmit(&mut s);
    assert!(
        head.starts_with("POST /v1.0/me/messages/a%0D%0AX-Evil:%201%2Fb/attachments/createUploadSession HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(!head.contains("\r\nX-Evil"), "{head}");
    // An upload URL whose host is no host name is not followed.
    for url in [
        "https://evil.example@outlook.example/up?authtoken=x",
        "https://outlook example/up",
        "https://outlook.example\r\nX: 1/up",
    ] {
        let mut s = drafted(&m, r#"{"id":"AAMk="}"#);
        transmit(&mut s);
        let json = std::format!(r#"{{"uploadUrl":{}}}"#, serde_json_escape(url));
        answer(&mut s, "201 Created", &json);
        assert_unexpected(&mut s);
    }
}

/// `s` as a JSON string.
fn serde_json_escape(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
#[cfg_attr(miri, ignore = "passes megabytes")]
fn a_large_message_not_of_the_composers_shape_fails_once_without_a_new_connection() {
    // The survey cannot find the files of a message it did not compose:
    // the message fails (E102), as a property of the message: no new
    // connection would change it, so none is asked for.
    let m: Vec<u8> = b"Subject: x\r\n\r\n"
        .iter()
        .copied()
        .chain((0..4_000_000u32).map(|i| {
            if i % 78 >= 76 {
                b"\r\n"[(i % 78 - 76) as usize]
            } else {
                b'a'
            }
        }))
        .collect();
    let mut s = Session::idle();
    s.start(&request(GRAPH, 443, m.len() as u64, false))
        .unwrap();
    assert_eq!(events(&mut s), [Event::ReadyForBody]);
    assert_eq!(pass(&mut s, &m, 65536, usize::MAX), b"");
    assert_eq!(
        events(&mut s),
        [Event::MessageFailed {
            error: Error::Api {
                status: 0,
                diag: Id::InvalidArgument
            }
        }]
    );
    assert_eq!(transmit(&mut s), "", "nothing sent");
}
