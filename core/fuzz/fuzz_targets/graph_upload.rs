//! Graph's path for a message over one `sendMail` request (R-XPORT): the
//! survey, the draft without the large file, the file attached whole
//! (`POST …/attachments`, a 2.5 MB file) or through an upload session
//! (`createUploadSession`, ranged `PUT`s to the session's URL on its own
//! host, `GET` after a lost connection: a 3.2 MiB file), then `send`,
//! driven by a fuzz-chosen script as the mailer drives it: every
//! `ReadyForBody` starts a pass of the message from its first octet,
//! `finish_body` ends it, and a `Closed` with `wants_connection` (or a
//! failure the session can go on from: `resumable`) is followed by `end`
//! and `start` with `resume: true` on a new connection, to `next_target`
//! or the API's host.
//!
//! Input: flags (bit 0 the 3.2 MiB file, bit 1 an app-only mailbox, bit 2
//! a port other than 443), the transmit buffer's length, then the steps,
//! each an operation octet (`op & 15`, `arg = op >> 4`) and the octets it
//! reads:
//! 0 the server's answer to the request on the wire: a status choice (0
//!   the natural answer: 201 draft with an `id`, 201 `createUploadSession`
//!   with an `uploadUrl` and `nextExpectedRanges`, 200 with the next range
//!   or 201 for a chunk, 200 with ranges to a `GET`, 201 attachment, 202
//!   `send`; else 401, 403, 404, 429, 500, 503, 504, 400, 413 with Graph's
//!   error JSON, or a 200/201/202 with the natural body), the piece size,
//!   then what the natural body chooses (the id, the URL, the ranges);
//!   fed whole or (`arg` bit 3) in part;
//! 1 raw octets (a length, then the octets);
//! 2 `100 Continue`; 3 more of what was not fed;
//! 4 (and 11-15) the body pass: where to stop (255: the end, then
//!   `finish_body` unless `arg` is odd), the piece length inside a window
//!   and the window's place (big pieces elsewhere), the output length;
//!   a pass stopped goes on from there with the next pass step;
//! 5 `finish_body`; 6 the close; 7 time to the next deadline (`arg` odd:
//!   just before); 8 `quit`; 9 the driver's new connection (only when the
//!   mailer would make one); 10 `arg + 1` s on.
//!
//! Invariants: no panic; every transmit fits `out`; every head is
//! well-formed (request line, visible ASCII, `Host` of the connection) and
//! sent as sensitive; the access token is only in the heads of `POST`s to
//! the API's host (draft, `createUploadSession`, attachments, `send`),
//! never in a `PUT` or `GET` head nor in a body; a `PUT` body is exactly
//! the file's octets of its `Content-Range`; an attachments body is the
//! `fileAttachment` JSON whose `contentBytes` are the whole file; the draft
//! body is the base64 of the message without the file's part (a prefix of
//! it while it goes); no body passes its `Content-Length`; `MessageSent`
//! only after a `send` head went out whole and its answer was 2xx; at most
//! one of `MessageSent`, `MessageFailed`, `AuthRejected`, `Failed` per
//! connection; after `Failed` or `quit` nothing but `Closed`.
#![no_main]

mod common;

use std::sync::OnceLock;

use base64::Engine;
use common::{contains, field_number};
use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::api::{Api, Request, Session};
use mfp_oauth_core::mime::{Attachment, Composer, Output, Parts};
use mfp_oauth_core::smtp::Event;
use mfp_oauth_core::wire::BufferTooSmall;
use mfp_oauth_core::{Address, Duration, Instant};

const TOKEN: &[u8] = b"eyJ0eXAiOiJKV1Qi.graph-upload.c2lnbmF0dXJl";
const GRAPH: &str = "graph.microsoft.com";
const MAILBOX: &str = "scan+desk#1@contoso.com";
const NAME: &str = "scan \"3F\".pdf";
/// 2.5 MB: out of the draft, attached whole (a 1.2 MiB file would leave
/// the message under one `sendMail` request: no draft at all).
const SMALL_LEN: usize = 2_500_000;
/// 3.2 MiB: through an upload session.
const LARGE_LEN: usize = 3_355_443;
/// A pass's pieces outside the fuzz-chosen window.
const BIG_PIECE: usize = 65_536;
/// The window of small pieces.
const WINDOW: usize = 8192;
/// Passes of the message begun in one run at most (each reads 3 to 4.6 MB:
/// a run stays well under the smoke run's 10 s).
const MAX_PASSES: usize = 8;
/// The end of every head the session writes (a draft id may hold a blank
/// line of its own).
const HEAD_END: &[u8] = b"\r\nUser-Agent: mfp-oauth\r\n\r\n";

/// The composed message and what Graph must receive of it.
struct Fixture {
    file: Vec<u8>,
    msg: Vec<u8>,
    /// The draft's body: base64 of the message without the file's part.
    draft_b64: Vec<u8>,
    /// The `fileAttachment` JSON with the whole file.
    attach_json: Vec<u8>,
    /// `createUploadSession`'s JSON.
    session_json: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| from + i)
}

fn compose(file: &[u8]) -> Vec<u8> {
    let atts = [Attachment {
        name: NAME,
        content_type: "",
        len: file.len() as u64,
    }];
    let msg = Parts {
        from: "scanner@contoso.com",
        to: &["bob@fabrikam.com"],
        subject: "Scan",
        text: Some("Attached: 40 pages."),
        attachments: &atts,
        message_id_local: "",
    };
    let mut c = Composer::new(msg, Some(1_795_516_072), &[7; 12]).expect("composer");
    let (mut got, mut fed, mut buf) = (Vec::new(), 0usize, vec![0u8; 65536]);
    loop {
        match c.poll_output(&mut buf).expect("compose") {
            Output::Wrote(n) => got.extend_from_slice(&buf[..n]),
            Output::NeedInput { max, .. } => {
                let k = (file.len() - fed).min(max);
                fed += c.handle_input(&file[fed..fed + k]).expect("input");
            }
            Output::Done => return got,
        }
    }
}

fn fixture(large: bool) -> &'static Fixture {
    static SMALL: OnceLock<Fixture> = OnceLock::new();
    static LARGE: OnceLock<Fixture> = OnceLock::new();
    let (cell, len) = if large {
        (&LARGE, LARGE_LEN)
    } else {
        (&SMALL, SMALL_LEN)
    };
    cell.get_or_init(|| {
        let file: Vec<u8> = (0..len).map(|i| (i * 31 + i / 977) as u8).collect();
        let msg = compose(&file);
        // The file's part: from the second part's delimiter to the
        // closing one.
        let start = find(&msg, b"\r\n--=_mfp_", 0).expect("a first part") + 2;
        let part = find(&msg, b"--=_mfp_", start + 2).expect("the file's part");
        let end = find(&msg, b"--=_mfp_", part + 2).expect("the closing delimiter");
        assert!(find(&msg[part..end], b"filename", 0).is_some());
        let draft = [&msg[..part], &msg[end..]].concat();
        let b64 = base64::engine::general_purpose::STANDARD;
        let name = NAME.replace('"', "\\\"");
        let attach_json = format!(
            r##"{{"@odata.type":"#microsoft.graph.fileAttachment","name":"{name}","contentBytes":"{}"}}"##,
            b64.encode(&file)
        )
        .into_bytes();
        let session_json = format!(
            r#"{{"AttachmentItem":{{"attachmentType":"file","name":"{name}","size":{len}}}}}"#
        )
        .into_bytes();
        for m in [&file, &msg] {
            assert!(!contains(m, TOKEN));
        }
        Fixture {
            draft_b64: b64.encode(&draft).into_bytes(),
            file,
            msg,
            attach_json,
            session_json,
        }
    })
}

/// The fuzz input, read as the steps ask (zeros past its end).
struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    fn next(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        let end = (start + n).min(self.data.len());
        self.pos = start + n;
        &self.data[start..end]
    }

    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
}

/// Which request of the path a head is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Draft,
    Create,
    Attach,
    Send,
    /// A chunk: its first offset and its last.
    Put(usize, usize),
    Get,
}

/// The request on the wire.
struct Req {
    kind: Option<Kind>,
    head: Vec<u8>,
    head_done: bool,
    content_length: usize,
    body_len: usize,
}

struct Run {
    fx: &'static Fixture,
    base: String,
    s: Session,
    now: u64,
    out: Vec<u8>,
    /// The connection's host and port (the `Host` field).
    host: String,
    port: u16,
    cur: Option<Req>,
    /// `ReadyForBody` came: the next pass starts from the first octet.
    ready: bool,
    /// A pass under way: the next message octet offered.
    pass: Option<usize>,
    /// Answer octets not fed yet.
    pending: Vec<u8>,
    /// An answer carried the token (then it may come back in a URL).
    echoed: bool,
    /// Terminal events on this connection.
    verdicts: usize,
    /// The last terminal event was `Failed` (else a reply's verdict).
    failed: bool,
    /// `quit` was called or `Failed` came: nothing more but `Closed`.
    over: bool,
    closed: bool,
    ended: bool,
    sent: bool,
    /// Passes begun.
    passes: usize,
}

impl Run {
    fn t(&self) -> Instant {
        Instant::from_millis(self.now)
    }

    fn transmit(&mut self) {
        for _ in 0..100_000 {
            let fresh = self.s.nothing_sent();
            let t = self.t();
            let mut buf = std::mem::take(&mut self.out);
            let got = match self.s.poll_transmit(t, &mut buf, TOKEN) {
                Ok(tx) => tx,
                Err(BufferTooSmall { needed }) => {
                    assert!(needed > buf.len(), "refused a buffer of {needed}");
                    let mut big = vec![0u8; needed];
                    let tx = self
                        .s
                        .poll_transmit(t, &mut big, TOKEN)
                        .expect("the need named suffices")
                        .expect("refused, then nothing to send");
                    assert!(tx.len <= big.len() && tx.len > 0);
                    self.may_transmit();
                    self.out = buf;
                    self.sent_octets(&big[..tx.len], tx.sensitive, fresh);
                    continue;
                }
            };
            let Some(tx) = got else {
                self.out = buf;
                return;
            };
            assert!(
                tx.len <= buf.len(),
                "transmit of {} in {}",
                tx.len,
                buf.len()
            );
            assert!(tx.len > 0, "an empty transmit");
            self.may_transmit();
            self.sent_octets(&buf[..tx.len], tx.sensitive, fresh);
            self.out = buf;
        }
        panic!("transmits without end");
    }

    fn may_transmit(&self) {
        assert!(
            !self.over && !self.closed && !self.ended,
            "a transmit after the end"
        );
        assert_eq!(self.verdicts, 0, "a transmit after the verdict");
    }

    fn sent_octets(&mut self, octets: &[u8], sensitive: bool, fresh: bool) {
        if fresh {
            self.finish_request();
            self.cur = Some(Req {
                kind: None,
                head: Vec::new(),
                head_done: false,
                content_length: 0,
                body_len: 0,
            });
        }
        let req = self.cur.as_mut().expect("octets without a request");
        if req.head_done {
            self.body_octets(octets);
            return;
        }
        assert!(sensitive, "a head's octets not marked sensitive");
        let from = req.head.len().saturating_sub(HEAD_END.len() - 1);
        req.head.extend_from_slice(octets);
        let Some(end) = find(&req.head, HEAD_END, from).map(|i| i + HEAD_END.len()) else {
            return;
        };
        let rest = req.head.split_off(end);
        req.head_done = true;
        self.check_head();
        self.body_octets(&rest);
    }

    /// The head just sent whole.
    fn check_head(&mut self) {
        let mut req = self.cur.take().expect("a request");
        let kind = self.head_kind(&req);
        req.content_length = kind.1;
        req.kind = Some(kind.0);
        self.cur = Some(req);
    }

    /// The head's request and its `Content-Length`.
    fn head_kind(&self, req: &Req) -> (Kind, usize) {
        let fx = self.fx;
        let head = std::str::from_utf8(&req.head).expect("a head in UTF-8");
        let messages = format!("{}/messages", self.base);
        // The request line ends where the session's own fields begin.
        let split = head.rfind(" HTTP/1.1\r\nHost: ").expect("a request line");
        let (line, fields) = (&head[..split], &head[split + 11..]);
        let (method, target) = line.split_once(' ').expect("a method");
        assert!(target.starts_with('/'), "request line {line:?}");
        // Every target, the draft's id in it too (percent-encoded as a path
        // segment: this target found it going in raw, CR LF and all).
        assert!(
            target.bytes().all(|c| c.is_ascii_graphic()),
            "request target {target:?}"
        );
        for l in fields
            .strip_suffix("\r\n\r\n")
            .expect("a head")
            .split("\r\n")
        {
            assert!(
                l.bytes().all(|c| c.is_ascii_graphic() || c == b' ') && l.contains(": "),
                "field {l:?}"
            );
        }
        let host = if self.port == 443 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        };
        assert!(
            fields.starts_with(&format!("Host: {host}\r\n")),
            "{head:?} on {host}"
        );
        let head = fields;
        let length = field_number(head, "\r\nContent-Length: ").expect("Content-Length");
        let length = usize::try_from(length).expect("a length");
        let has_token = contains(&req.head, TOKEN);
        let kind = match method {
            "POST" => {
                assert!(has_token, "a POST without the token: {head:?}");
                assert_eq!(self.host, GRAPH, "the token to another host");
                assert!(target.starts_with(&messages), "{target:?}");
                if target == messages {
                    assert!(head.contains("\r\nContent-Type: text/plain\r\n"));
                    assert_eq!(length, fx.draft_b64.len(), "the draft's length");
                    Kind::Draft
                } else if target.ends_with("/attachments/createUploadSession") {
                    assert_eq!(length, fx.session_json.len());
                    Kind::Create
                } else if target.ends_with("/attachments") {
                    assert_eq!(fx.file.len(), SMALL_LEN, "the large file attached");
                    assert_eq!(length, fx.attach_json.len(), "the attachment's length");
                    Kind::Attach
                } else if target.ends_with("/send") {
                    assert_eq!(length, 0);
                    Kind::Send
                } else {
                    panic!("a POST to {target:?}");
                }
            }
            "PUT" | "GET" => {
                assert!(
                    self.echoed || !has_token,
                    "the token in a {method}: {head:?}"
                );
                assert!(!head.contains("Authorization"), "{head:?}");
                if method == "GET" {
                    assert_eq!(length, 0);
                    Kind::Get
                } else {
                    let total = fx.file.len();
                    let a = field_number(head, "\r\nContent-Range: bytes ").expect("a range");
                    let a = usize::try_from(a).expect("a range");
                    let tail = head
                        .split("\r\nContent-Range: bytes ")
                        .nth(1)
                        .and_then(|r| r.split("\r\n").next())
                        .unwrap_or("");
                    let (range, size) = tail.split_once('/').expect("a range's size");
                    let b: usize = range
                        .split_once('-')
                        .and_then(|(_, b)| b.parse().ok())
                        .expect("a range's end");
                    assert_eq!(size, total.to_string(), "{head:?}");
                    assert!(a <= b && b < total, "{head:?}");
                    assert_eq!(length, b - a + 1, "{head:?}");
                    Kind::Put(a, b)
                }
            }
            _ => panic!("a {method} request"),
        };
        (kind, length)
    }

    fn body_octets(&mut self, octets: &[u8]) {
        if octets.is_empty() {
            return;
        }
        let fx = self.fx;
        let req = self.cur.as_mut().expect("body octets without a request");
        assert!(req.head_done, "body octets before the head");
        let (at, end) = (req.body_len, req.body_len + octets.len());
        assert!(
            end <= req.content_length,
            "a body of {end} past its Content-Length {}",
            req.content_length
        );
        let want: &[u8] = match req.kind {
            Some(Kind::Draft) => &fx.draft_b64,
            Some(Kind::Attach) => &fx.attach_json,
            Some(Kind::Create) => &fx.session_json,
            Some(Kind::Put(a, _)) => &fx.file[a..],
            _ => &[],
        };
        assert!(
            want.get(at..end) == Some(octets),
            "{:?}: body octets {at}..{end} differ",
            req.kind
        );
        req.body_len = end;
    }

    /// The request on the wire is done with (another begins, or the
    /// connection ends).
    fn finish_request(&mut self) {
        if let Some(req) = self.cur.take() {
            if req.kind == Some(Kind::Create) {
                assert_eq!(req.body_len, req.content_length, "createUploadSession cut");
            }
        }
    }

    fn events(&mut self) {
        while let Some(ev) = self.s.poll_event() {
            assert!(!self.closed && !self.ended, "{ev:?} after the end");
            if self.over {
                assert_eq!(ev, Event::Closed, "only Closed after quit or Failed");
            }
            match ev {
                Event::ReadyForBody => {
                    // Every pass from the first octet.
                    self.ready = true;
                    self.pass = None;
                }
                Event::MessageSent { code, .. } => {
                    let req = self.cur.as_ref().expect("sent without a request");
                    assert!(
                        req.kind == Some(Kind::Send) && req.head_done && req.body_len == 0,
                        "MessageSent after {:?}",
                        req.kind
                    );
                    assert!((200..300).contains(&code.code), "sent on {}", code.code);
                    assert_eq!(self.s.last_reply().map(|r| r.code), Some(code));
                    self.sent = true;
                    self.verdict(false);
                }
                Event::AuthRejected { .. } | Event::MessageFailed { .. } => self.verdict(false),
                Event::Failed { .. } => {
                    self.verdict(true);
                    self.over = true;
                    assert!(!self.s.is_live());
                }
                Event::Closed => {
                    (self.ready, self.pass) = (false, None);
                    self.closed = true;
                    assert!(!self.s.is_live());
                }
                ev => panic!("an SMTP event from an API session: {ev:?}"),
            }
        }
    }

    fn verdict(&mut self, failed: bool) {
        // The driver stops the message's pass.
        (self.ready, self.pass) = (false, None);
        self.verdicts += 1;
        self.failed = failed;
        assert_eq!(self.verdicts, 1, "two verdicts on one connection");
    }

    fn settle(&mut self) {
        self.events();
        self.transmit();
        self.events();
        if self.over || self.closed || self.ended {
            assert_eq!(self.s.poll_timeout(), None, "a timer after the end");
        }
    }

    fn feed(&mut self, n: usize, piece: usize) {
        let n = n.min(self.pending.len());
        let data: Vec<u8> = self.pending.drain(..n).collect();
        for p in data.chunks(piece.max(1)) {
            let t = self.t();
            assert_eq!(self.s.handle_input(t, p), p.len(), "every octet taken");
            self.settle();
        }
    }

    /// A pass of the message: from where it is to `stop`, in big pieces
    /// but in the window; `finish_body` at the message's end.
    fn pass(&mut self, stop: u8, small: u8, place: u8, out_len: u8, finish: bool) {
        let msg = &self.fx.msg;
        let at = match self.pass {
            Some(at) => at,
            None if self.ready && self.passes < MAX_PASSES => {
                self.ready = false;
                self.passes += 1;
                0
            }
            None => return,
        };
        let stop = if stop == 255 {
            msg.len()
        } else {
            (msg.len() * usize::from(stop) / 255).max(at + 1)
        };
        let window = msg.len() * usize::from(place) / 256;
        let mut out = vec![
            0u8;
            if out_len == 0 {
                65536
            } else {
                usize::from(out_len) + 31
            }
        ];
        let mut pos = at;
        while pos < stop {
            let piece = if small != 0 && (window..window + WINDOW).contains(&pos) {
                usize::from(small)
            } else {
                BIG_PIECE
            };
            let mut rest = &msg[pos..(pos + piece).min(stop)];
            while !rest.is_empty() {
                match self.s.write_body(rest, &mut out) {
                    Ok(p) => {
                        assert!(
                            p.written == 0 || !(self.over || self.closed || self.ended),
                            "body after the end"
                        );
                        assert!(p.consumed <= rest.len() && p.written <= out.len());
                        assert!(p.consumed + p.written > 0, "write_body stalls");
                        if p.written > 0 {
                            self.sent_octets(&out[..p.written], false, false);
                        }
                        rest = &rest[p.consumed..];
                        pos += p.consumed;
                    }
                    Err(_) => {
                        // The driver gives up this pass.
                        self.pass = None;
                        self.settle();
                        return;
                    }
                }
            }
        }
        if pos >= msg.len() {
            self.pass = None;
            if finish {
                let t = self.t();
                let _ = self.s.finish_body(t);
            }
        } else {
            self.pass = Some(pos);
        }
        self.settle();
    }

    /// The mailer's new connection, when it would make one.
    fn reconnect(&mut self, mailbox: Option<&Address>, port: u16) -> bool {
        let wanted = self.closed && self.s.wants_connection();
        let resumable = self.verdicts == 1 && self.failed && self.s.resumable();
        let retried = self.verdicts == 1 && !self.failed && !self.sent;
        if !(wanted || resumable || retried) {
            return true;
        }
        if retried {
            // The job asked again: from the start.
            self.s.forget_upload();
        }
        self.finish_request();
        let (host, port) = match self.s.next_target() {
            Some((h, p)) => (h.to_owned(), p),
            None => (GRAPH.to_owned(), port),
        };
        // A name no resolver takes: the connection fails before TLS, and
        // the job with it.
        let name_ok = host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-');
        if host.is_empty() || !name_ok {
            return false;
        }
        self.s.end();
        let req = Request {
            api: Api::Graph,
            host: &host,
            port,
            base_path: "/",
            mailbox,
            size: self.fx.msg.len() as u64,
            recipients: 1,
            not_before: None,
            resume: true,
        };
        if self.s.start(&req).is_err() {
            return false;
        }
        self.host = host;
        self.port = port;
        self.pending.clear();
        (self.ready, self.pass) = (false, None);
        (self.verdicts, self.failed, self.over, self.closed) = (0, false, false, false);
        self.settle();
        true
    }
}

/// Graph's error JSON for `status`.
fn graph_error(status: u16) -> String {
    let code = match status {
        401 => "InvalidAuthenticationToken",
        403 => "ErrorAccessDenied",
        404 => "ErrorItemNotFound",
        429 => "ApplicationThrottled",
        413 => "RequestEntityTooLarge",
        400 => "invalidRequest",
        _ => "UnknownError",
    };
    format!(
        r#"{{"error":{{"code":"{code}","message":"Graph says {status}.","innerError":{{"date":"2026-12-07T03:00:00","request-id":"8a2c","client-request-id":"8a2c"}}}}}}"#
    )
}

/// A JSON string's text from fuzz octets (quotes and controls escaped).
fn json_text(raw: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for &c in raw {
        match c {
            b'"' | b'\\' => v.extend_from_slice(&[b'\\', c]),
            c if c < 0x20 => v.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => v.push(c),
        }
    }
    v
}

/// A `nextExpectedRanges` list: the natural next offset, another one, an
/// empty list, or nonsense.
fn ranges(b: &mut Bytes<'_>, natural: usize, total: usize) -> String {
    let sel = b.next();
    match sel % 5 {
        0 => format!(r#"["{natural}-"]"#),
        1 => format!(
            r#"["{}-{}"]"#,
            usize::from(b.next()) * 13_001 % (total + 100),
            total - 1
        ),
        2 => "[]".to_owned(),
        3 => format!(
            r#"["{}"]"#,
            String::from_utf8_lossy(&json_text(b.take(usize::from(sel >> 4))))
        ),
        _ => format!(r#"["{}-", "{}-"]"#, natural / 2, natural),
    }
}

/// The natural answer's body to `kind`, and its status.
fn natural(kind: Option<Kind>, b: &mut Bytes<'_>, total: usize) -> (u16, Vec<u8>) {
    const CONTEXT: &str = r#""@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users('x')/messages/$entity""#;
    match kind {
        Some(Kind::Draft) => {
            let sel = b.next();
            let id: Vec<u8> = match sel % 4 {
                0 => b"AAMkAGI2TG93AAA=".to_vec(),
                1 => vec![b'A'; usize::from(sel) * 2],
                2 => br"AA\u002fMk\/x+=".to_vec(),
                _ => {
                    let n = b.next() % 64;
                    json_text(b.take(usize::from(n)))
                }
            };
            let mut body = format!(r#"{{{CONTEXT},"id":""#).into_bytes();
            body.extend_from_slice(&id);
            body.extend_from_slice(br#"","subject":"Scan","hasAttachments":false}"#);
            (201, body)
        }
        Some(Kind::Create) => {
            let sel = b.next();
            let url: Vec<u8> = match sel % 8 {
                0 => b"https://outlook.office.com/api/v2.0/Users('x')/Messages('AAMk')/AttachmentSessions('AAMk%3D')?authtoken=eyJhbGci.sig".to_vec(),
                1 => b"https://outlook.example:444/up/load?x=1".to_vec(),
                2 => b"https://graph.microsoft.com/upload/x".to_vec(),
                3 => b"http://outlook.office.com/x".to_vec(),
                4 => b"https://outlook.office.com".to_vec(),
                5 => b"https://outlook.office.com:99999/x".to_vec(),
                6 => {
                    let n = b.next() % 32;
                    let host = json_text(b.take(usize::from(n)));
                    let port = u16::from_be_bytes([b.next(), b.next()]);
                    let n = b.next() % 32;
                    let path = json_text(b.take(usize::from(n)));
                    [b"https://".as_slice(), &host, format!(":{port}/").as_bytes(), &path].concat()
                }
                _ => [b"https://o.example/".as_slice(), &vec![b'a'; 2000 + usize::from(sel)]].concat(),
            };
            let mut body = format!(r#"{{{CONTEXT},"uploadUrl":""#).into_bytes();
            body.extend_from_slice(&url);
            body.extend_from_slice(
                format!(
                    r#"","expirationDateTime":"2026-12-08T03:00:00Z","nextExpectedRanges":{}}}"#,
                    ranges(b, 0, total)
                )
                .as_bytes(),
            );
            (201, body)
        }
        Some(Kind::Put(_, last)) if last + 1 == total => (201, b"{}".to_vec()),
        Some(Kind::Put(_, last)) => (
            200,
            format!(
                r#"{{"expirationDateTime":"2026-12-08T03:00:00Z","nextExpectedRanges":{}}}"#,
                ranges(b, last + 1, total)
            )
            .into_bytes(),
        ),
        Some(Kind::Get) => {
            let at = usize::from(b.next()) * 13_001 % total;
            (
                200,
                format!(
                    r#"{{"expirationDateTime":"2026-12-08T03:00:00Z","nextExpectedRanges":{}}}"#,
                    ranges(b, at, total)
                )
                .into_bytes(),
            )
        }
        Some(Kind::Attach) => (
            201,
            format!(
                r##"{{{CONTEXT},"@odata.type":"#microsoft.graph.fileAttachment","id":"AAMkATT=","name":"scan.pdf","size":{total}}}"##
            )
            .into_bytes(),
        ),
        Some(Kind::Send) => (202, Vec::new()),
        None => (200, b"{}".to_vec()),
    }
}

/// An HTTP answer: `Content-Length` or chunked.
fn http(status: u16, body: &[u8], chunked: bool, retry_after: bool) -> Vec<u8> {
    let mut a = format!("HTTP/1.1 {status} Reason\r\nContent-Type: application/json\r\n");
    if retry_after {
        a.push_str("Retry-After: 10\r\n");
    }
    let mut a = a.into_bytes();
    if chunked {
        a.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        if !body.is_empty() {
            a.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
            a.extend_from_slice(body);
            a.extend_from_slice(b"\r\n");
        }
        a.extend_from_slice(b"0\r\n\r\n");
    } else {
        a.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        a.extend_from_slice(body);
    }
    a
}

fuzz_target!(|data: &[u8]| {
    let [flags, out_len, ref script @ ..] = *data else {
        return;
    };
    let fx = fixture(flags & 1 != 0);
    let Ok(mailbox) = Address::parse(MAILBOX) else {
        return;
    };
    let mailbox = (flags & 2 != 0).then_some(&mailbox);
    let port = if flags & 4 == 0 { 443 } else { 8443 };
    let base = match mailbox {
        Some(_) => "/v1.0/users/scan+desk%231@contoso.com".to_owned(),
        None => "/v1.0/me".to_owned(),
    };
    let mut run = Run {
        fx,
        base,
        s: Session::idle(),
        now: 0,
        out: vec![0u8; usize::from(out_len).max(1) * 4],
        host: GRAPH.to_owned(),
        port,
        cur: None,
        ready: false,
        pass: None,
        pending: Vec::new(),
        echoed: false,
        verdicts: 0,
        failed: false,
        over: false,
        closed: false,
        ended: false,
        sent: false,
        passes: 0,
    };
    let req = Request {
        api: Api::Graph,
        host: GRAPH,
        port,
        base_path: "/",
        mailbox,
        size: fx.msg.len() as u64,
        recipients: 1,
        not_before: None,
        resume: true,
    };
    run.s.start(&req).expect("a Graph path");
    run.settle();

    let total = fx.file.len();
    let mut b = Bytes {
        data: script,
        pos: 0,
    };
    let mut steps = 0;
    while !b.done() && steps < 64 {
        steps += 1;
        let op = b.next();
        let arg = op >> 4;
        match op & 15 {
            0 => {
                let sel = b.next();
                let piece = usize::from(b.next());
                let kind = run.cur.as_ref().and_then(|r| r.kind);
                let (status, body) = match sel % 13 {
                    0 => natural(kind, &mut b, total),
                    k @ 1..=9 => {
                        let status =
                            [401, 403, 404, 429, 500, 503, 504, 400, 413][usize::from(k - 1)];
                        (status, graph_error(status).into_bytes())
                    }
                    k => (
                        [200, 201, 202][usize::from(k - 10)],
                        natural(kind, &mut b, total).1,
                    ),
                };
                let answer = http(
                    status,
                    &body,
                    sel & 0x40 != 0,
                    status == 429 || sel & 0x80 != 0,
                );
                run.echoed |= contains(&answer, TOKEN);
                run.pending.extend_from_slice(&answer);
                let n = if arg & 8 == 0 {
                    run.pending.len()
                } else {
                    run.pending.len() * usize::from((arg & 7) + 1) / 9
                };
                run.feed(n, if piece == 0 { usize::MAX } else { piece });
            }
            1 => {
                let len = usize::from(b.next());
                let raw = b.take(len);
                run.echoed |= contains(raw, TOKEN);
                run.pending.extend_from_slice(raw);
                run.feed(usize::MAX, usize::from(arg) + 1);
            }
            2 => {
                run.pending
                    .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                run.feed(
                    usize::MAX,
                    if arg == 0 {
                        usize::MAX
                    } else {
                        usize::from(arg)
                    },
                );
            }
            3 => run.feed(
                if arg == 0 {
                    usize::MAX
                } else {
                    usize::from(arg) * 16
                },
                usize::from(b.next()).max(1),
            ),
            5 => {
                let t = run.t();
                let _ = run.s.finish_body(t);
                run.pass = None;
                run.settle();
            }
            6 => {
                let t = run.t();
                run.s.handle_close(t);
                run.settle();
            }
            7 => {
                if let Some(at) = run.s.poll_timeout() {
                    let at = if arg & 1 == 1 {
                        at - Duration::from_millis(1)
                    } else {
                        at
                    };
                    run.now = at.as_millis().max(run.now);
                }
                let t = run.t();
                run.s.handle_timeout(t);
                run.settle();
            }
            8 => {
                let t = run.t();
                let live = run.s.is_live();
                run.s.quit(t);
                run.settle();
                assert!(!run.s.is_live());
                assert!(!live || run.closed, "quit without Closed");
                run.over = true;
            }
            9 => {
                if !run.reconnect(mailbox, port) {
                    break;
                }
            }
            10 => {
                run.now += (u64::from(arg) + 1) * 1000;
                let t = run.t();
                run.s.handle_timeout(t);
                run.settle();
            }
            _ => {
                let (stop, small, place, out) = (b.next(), b.next(), b.next(), b.next());
                run.pass(stop, small, place, out, arg & 1 == 0);
            }
        }
    }
    // The connection closes, the driver quits.
    let t = run.t();
    run.s.handle_close(t);
    run.settle();
    run.s.quit(t);
    run.settle();
    assert!(!run.s.is_live());
    run.finish_request();
    run.s.end();
    run.ended = true;
    assert_eq!(run.s.poll_event(), None);
    assert_eq!(run.s.poll_timeout(), None);
});
