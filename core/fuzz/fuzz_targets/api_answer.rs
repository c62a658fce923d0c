//! One mail API request (R-XPORT: Graph `sendMail`, the Gmail API media
//! upload, or the Gmail resumable upload with its start, `308` answers and
//! `PUT`s on one connection) driven by a script of fuzz-chosen steps: the
//! server's answer in fuzz-chosen pieces, timeouts, closes, quits, body
//! writes with fuzz-chosen input and output lengths, the end of the body.
//! The same answer octets also go to the error body parser, whole and in
//! two pieces.
//!
//! Input: flags (bit 0 Gmail, bit 1 an app-only mailbox, bit 2 a port other
//! than 443, bits 3-4 the size's high bits, bit 5 two recipients, bit 6
//! Gmail over 5 MB: the resumable upload, bit 7 a request asked again after
//! `Retry-After`: nothing before 30 s), the size's low octet, the transmit
//! buffer's length, the error parser's split (a fraction of 255), the
//! number of steps, the steps, then the answer. Steps (low 3 bits, `arg`
//! the high 5): 0 the next `arg + 1` octets of the answer, 1 the next
//! `16 (arg + 1)`, 2 all the rest (`arg` 0) or up to the next blank line;
//! 3 time to the next deadline (`arg` odd), just before it (even) or
//! `arg + 1` s on; 4 a body write of `11 arg` octets (resumable: `2^15`
//! times more) from where the driver is into an output as long as the next
//! step octet; 5 the body's end; 6 the close; 7 `quit` (`arg` even) or
//! `end`. What the steps leave of the answer is fed at the end in pieces,
//! then the close.
//!
//! Invariants: no panic; every transmit fits `out`, is not empty, and a
//! refused buffer names a larger need that then suffices; every head is
//! sent entirely as sensitive transmits, has a well-formed request line on
//! the request's host and the `Content-Length` (and `Content-Range`) of the
//! request; the token is in the `POST`s only, never in a resumable upload's
//! `PUT` or a body; nothing is sent before `Retry-After`; a body is never
//! sensitive and is, decoded (Graph: base64), exactly the octets written,
//! less what the server said it has; `MessageSent` only once the request
//! carrying the message's end was written, finished and sent whole; at
//! most one of `MessageSent`, `MessageFailed`, `AuthRejected`, `Failed`;
//! after `quit` or `Failed` at most `Closed`, no transmit, no timer; the
//! error parser gives the same fields whole, in two pieces and when
//! reused, each within its capacity.
#![no_main]

mod common;

use base64::Engine;
use common::{contains, field_number, Wire};
use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::api::error_body::{
    ErrorBody, ErrorParser, MAX_API_ERROR_CODE_LEN, MAX_API_ERROR_MESSAGE_LEN,
};
use mfp_oauth_core::api::{Api, Request, Session, GMAIL_MAX_MEDIA_UPLOAD};
use mfp_oauth_core::smtp::{Error, Event};
use mfp_oauth_core::wire::BufferTooSmall;
use mfp_oauth_core::{Address, Duration, Instant};

const TOKEN: &[u8] = b"eyJ0eXAiOiJKV1Qi.fuzz-token.c2lnbmF0dXJl";
const MAILBOX: &str = "scan+desk#1@contoso.com";

/// The message's octets (enough for a resumable upload's sizes).
fn message() -> &'static [u8] {
    static MESSAGE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    MESSAGE.get_or_init(|| {
        let m: Vec<u8> = (0..GMAIL_MAX_MEDIA_UPLOAD + 2048)
            .map(|i| (i.wrapping_mul(7) ^ (i >> 5)) as u8)
            .collect();
        assert!(!contains(&m, TOKEN));
        m
    })
}

fn parse_errors(data: &[u8], split: usize) -> ErrorBody {
    let mut whole = ErrorParser::new();
    whole.feed(data);
    let one = whole.finish();
    // `finish` leaves a new parser: the same input gives the same fields.
    whole.feed(data);
    assert_eq!(whole.finish(), one, "a reused parser differs");
    let (a, b) = data.split_at(split.min(data.len()));
    let mut two = ErrorParser::new();
    two.feed(a);
    two.feed(b);
    assert_eq!(two.finish(), one, "split at {split}");
    assert!(one.code.len() <= MAX_API_ERROR_CODE_LEN);
    assert!(one.reason.len() <= MAX_API_ERROR_CODE_LEN);
    assert!(one.status.len() <= MAX_API_ERROR_CODE_LEN);
    assert!(one.message.len() <= MAX_API_ERROR_MESSAGE_LEN);
    one
}

/// The driver: the session, what it sent, what it said.
struct Run {
    s: Session,
    api: Api,
    size: u64,
    not_before: Option<Instant>,
    now: u64,
    out: Vec<u8>,
    wire: Wire,
    /// Every octet sent, in order (the wire's copy, for the body checks).
    sent: Vec<u8>,
    /// Requests begun (a resumable upload makes several on one connection).
    requests: usize,
    /// Where the request on the wire begins in `sent`.
    req_start: usize,
    /// Where its head ends in `sent` (its blank line read).
    head_end: Option<usize>,
    /// Its head's `Content-Length`.
    content_length: u64,
    /// Its first message octet (a resumable upload's `Content-Range`).
    range_start: u64,
    /// A Gmail message over the media upload's limit.
    resumable: bool,
    /// The answer holds the token.
    echoed: bool,
    /// Message octets the session took for this request (from the first).
    fed: u64,
    /// `ReadyForBody` came for this request.
    ready: bool,
    /// `finish_body` accepted the whole message.
    finished: bool,
    verdicts: usize,
    /// `quit` was called or `Failed` came: nothing more but `Closed`.
    over: bool,
    closed: bool,
    /// `end` was called: nothing at all.
    ended: bool,
}

impl Run {
    fn t(&self) -> Instant {
        Instant::from_millis(self.now)
    }

    fn transmit(&mut self) {
        for _ in 0..10_000 {
            let t = self.t();
            if self.s.nothing_sent() && (self.requests == 0 || self.sent.len() > self.req_start) {
                // The next transmit begins a request.
                self.requests += 1;
                self.req_start = self.sent.len();
                self.head_end = None;
                (self.content_length, self.range_start, self.fed) = (0, 0, 0);
                (self.ready, self.finished) = (false, false);
            }
            let mut buf = self.out.clone();
            let tx = match self.s.poll_transmit(t, &mut buf, TOKEN) {
                Ok(Some(tx)) => tx,
                Ok(None) => return,
                // Too small: the need named is more and then suffices.
                Err(BufferTooSmall { needed }) => {
                    assert!(needed > buf.len(), "refused a buffer of {needed}");
                    buf = vec![0u8; needed];
                    match self.s.poll_transmit(t, &mut buf, TOKEN) {
                        Ok(Some(tx)) => tx,
                        Ok(None) => panic!("refused, then nothing to send"),
                        Err(e) => panic!("{needed} octets asked, then {e:?}"),
                    }
                }
            };
            assert!(
                tx.len <= buf.len(),
                "transmit of {} in {}",
                tx.len,
                buf.len()
            );
            assert!(tx.len > 0, "an empty transmit");
            assert!(!self.over && !self.ended, "a transmit after the end");
            assert_eq!(self.verdicts, 0, "a transmit after the verdict");
            self.record(&buf[..tx.len], tx.sensitive);
        }
        panic!("transmits without end");
    }

    fn record(&mut self, octets: &[u8], sensitive: bool) {
        let head_done = self.head_end.is_some();
        assert_eq!(
            sensitive, !head_done,
            "the head is sensitive, the body is not"
        );
        if let Some(t) = self.not_before {
            assert!(self.t() >= t, "sent before Retry-After");
        }
        // A body is checked octet for octet against the message, which
        // holds no token (nor does base64, which has no `.` or `-`): only
        // the heads go to the secret check.
        if !head_done {
            self.wire.push(octets, sensitive);
        }
        let from = self.sent.len().saturating_sub(3).max(self.req_start);
        self.sent.extend_from_slice(octets);
        if !head_done {
            self.head_end = self.sent[from..]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|i| from + i + 4);
            if let Some(end) = self.head_end {
                assert_eq!(end, self.sent.len(), "head and body in one transmit");
                self.check_head();
            }
        }
    }

    /// The head just sent: the request the session is at.
    fn check_head(&mut self) {
        let end = self.head_end.unwrap_or(self.sent.len());
        let raw = &self.sent[self.req_start..end];
        let head = core::str::from_utf8(raw).expect("a head in UTF-8");
        let line = head.split("\r\n").next().unwrap_or("");
        let target = line.split(' ').nth(1).unwrap_or("");
        assert!(
            line.split(' ').count() == 3 && target.starts_with('/') && line.ends_with(" HTTP/1.1"),
            "request line {line:?}"
        );
        assert!(
            target.bytes().all(|c| c.is_ascii_graphic()),
            "request target {target:?}"
        );
        let host = match self.api {
            Api::Graph => "\r\nHost: graph.microsoft.com",
            Api::Gmail => "\r\nHost: gmail.googleapis.com",
        };
        assert!(head.contains(host), "{head:?}");
        let length = field_number(head, "\r\nContent-Length: ").expect("Content-Length");
        let size = self.size;
        if head.starts_with("POST ") {
            assert!(contains(raw, TOKEN), "a POST without the token");
            if target.contains("uploadType=resumable") {
                assert!(self.resumable && length == 0);
                assert_eq!(field_number(head, "X-Upload-Content-Length: "), Some(size));
            } else {
                assert!(!self.resumable && self.requests == 1);
                assert_eq!(length, self.body_len(), "{head:?}");
            }
        } else {
            assert!(head.starts_with("PUT "), "{line:?}");
            assert!(self.resumable, "a PUT of a media upload");
            // (Unless the server put it in the session URI.)
            assert!(
                self.echoed || !contains(raw, TOKEN),
                "the token in an upload's PUT"
            );
            if head.contains(&format!("\r\nContent-Range: bytes */{size}\r\n")) {
                assert_eq!(length, 0);
            } else {
                let from = field_number(head, "\r\nContent-Range: bytes ").expect("a range");
                let range = format!("\r\nContent-Range: bytes {from}-{}/{size}\r\n", size - 1);
                assert!(head.contains(&range) && from < size, "{head:?}");
                assert_eq!(length, size - from);
                self.range_start = from;
            }
        }
        self.content_length = length;
    }

    /// The body sent so far (after the head).
    fn body(&self) -> &[u8] {
        &self.sent[self.head_end.unwrap_or(self.sent.len())..]
    }

    fn body_len(&self) -> u64 {
        Session::body_len_of(self.api, self.size)
    }

    fn events(&mut self) {
        while let Some(ev) = self.s.poll_event() {
            assert!(!self.closed && !self.ended, "{ev:?} after the end");
            if self.over {
                assert_eq!(ev, Event::Closed, "only Closed after quit or Failed");
            }
            match ev {
                Event::ReadyForBody => {
                    assert!(!self.ready, "ReadyForBody twice");
                    assert_eq!(self.verdicts, 0);
                    assert!(self.head_end.is_some() && self.content_length > 0);
                    self.ready = true;
                }
                Event::MessageSent { code, .. } => {
                    // The request with the message's end, whole.
                    let body = self.body().len() as u64;
                    assert_eq!(body, self.content_length, "sent unsent");
                    assert_eq!(self.range_start + body, self.body_len(), "a part sent");
                    if body > 0 {
                        assert!(self.ready && self.finished, "sent before the body");
                        assert_eq!(self.fed, self.size);
                    }
                    assert_eq!(self.s.last_reply().map(|r| r.code), Some(code));
                    self.verdict();
                }
                Event::AuthRejected { code, .. } => {
                    assert_eq!(self.s.last_reply().map(|r| r.code), Some(code));
                    self.verdict();
                }
                Event::MessageFailed { ref error } => {
                    if let Error::Api { status, .. } = error {
                        assert_eq!(self.s.last_reply().map(|r| r.code.code), Some(*status));
                    }
                    self.verdict();
                }
                Event::Failed { .. } => {
                    self.verdict();
                    self.over = true;
                    assert!(!self.s.is_live());
                }
                Event::Closed => {
                    self.closed = true;
                    assert!(!self.s.is_live());
                }
                ev => panic!("an SMTP event from an API session: {ev:?}"),
            }
        }
    }

    fn verdict(&mut self) {
        self.verdicts += 1;
        assert_eq!(self.verdicts, 1, "two verdicts on one request");
    }

    fn settle(&mut self) {
        self.events();
        self.transmit();
        self.events();
        if self.s.nothing_sent() {
            assert!(self.sent.is_empty() && self.s.is_live());
        }
    }

    fn input(&mut self, piece: &[u8]) {
        let used = self.s.handle_input(self.t(), piece);
        assert_eq!(used, piece.len(), "an API session takes every octet");
        self.settle();
    }

    fn write(&mut self, input_len: usize, out_len: usize) {
        let mut out = vec![0u8; out_len];
        // The driver offers what is left of the message, and past it.
        let msg = message();
        let from = usize::try_from(self.fed)
            .unwrap_or(usize::MAX)
            .min(msg.len());
        let mut rest = &msg[from..(from + input_len).min(msg.len())];
        while !rest.is_empty() {
            match self.s.write_body(rest, &mut out) {
                Ok(p) => {
                    assert!(
                        self.ready
                            && self.verdicts == 0
                            && !self.over
                            && !self.closed
                            && !self.ended
                    );
                    assert!(p.consumed <= rest.len() && p.written <= out.len());
                    assert!(p.consumed + p.written > 0, "write_body stalls");
                    self.fed += p.consumed as u64;
                    assert!(self.fed <= self.size, "more taken than announced");
                    rest = &rest[p.consumed..];
                    assert!(self.head_end.is_some());
                    self.record(&out[..p.written], false);
                }
                Err(_) => break,
            }
        }
        self.settle();
    }

    fn finish(&mut self) {
        if self.s.finish_body(self.t()).is_ok() {
            assert!(self.ready);
            self.finished = self.fed == self.size;
        }
        self.settle();
    }

    /// The body on the wire is, decoded, exactly the message octets taken.
    fn check_body(&self) {
        let fed = usize::try_from(self.fed).unwrap_or(usize::MAX);
        let written = &message()[..fed];
        let body = self.body();
        match self.api {
            // What the server has is skipped.
            Api::Gmail => {
                let start = usize::try_from(self.range_start).unwrap_or(usize::MAX);
                assert_eq!(body, written.get(start..).unwrap_or(&[]));
            }
            Api::Graph => {
                assert_eq!(body.len() % 4, 0, "a base64 group cut");
                let plain = base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .expect("the body is base64");
                if self.finished && body.len() as u64 == self.body_len() {
                    assert_eq!(plain, written);
                } else {
                    // Up to two octets wait for their group.
                    assert!(written.starts_with(&plain));
                    assert!(written.len() - plain.len() <= 2);
                }
            }
        }
        assert!(body.len() as u64 <= self.content_length);
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, size_low, out_len, split, steps, ref rest @ ..] = *data else {
        return;
    };
    let steps = usize::from(steps).min(rest.len());
    let (script, answer) = rest.split_at(steps);

    let split = usize::from(split) * answer.len() / 255;
    parse_errors(answer, split);

    let api = if flags & 1 == 0 {
        Api::Graph
    } else {
        Api::Gmail
    };
    let Ok(mailbox) = Address::parse(MAILBOX) else {
        return;
    };
    // A throttled request asked again: nothing before `Retry-After`.
    let not_before = (flags & 0x80 != 0).then_some(Instant::from_millis(30_000));
    let mut size = u64::from(size_low) | u64::from(flags >> 3 & 3) << 8;
    // Gmail: over the media upload's limit, a resumable upload.
    let resumable = api == Api::Gmail && flags & 0x40 != 0;
    if resumable {
        size += GMAIL_MAX_MEDIA_UPLOAD + 1;
    }
    let req = Request {
        api,
        host: match api {
            Api::Graph => "graph.microsoft.com",
            Api::Gmail => "gmail.googleapis.com",
        },
        port: if flags & 4 == 0 { 443 } else { 8443 },
        base_path: if flags & 4 == 0 { "/" } else { "/prefix/" },
        mailbox: (flags & 2 != 0).then_some(&mailbox),
        size,
        recipients: 1 + usize::from(flags >> 5 & 1),
        not_before,
        resume: false,
    };
    let mut s = Session::idle();
    assert!(!s.is_live() && !s.nothing_sent());
    if s.start(&req).is_err() {
        return;
    }
    let mut run = Run {
        s,
        api,
        size,
        not_before,
        now: 0,
        out: vec![0u8; usize::from(out_len)],
        wire: Wire::default(),
        sent: Vec::new(),
        requests: 0,
        req_start: 0,
        head_end: None,
        content_length: 0,
        range_start: 0,
        resumable,
        echoed: contains(answer, TOKEN),
        fed: 0,
        ready: false,
        finished: false,
        verdicts: 0,
        over: false,
        closed: false,
        ended: false,
    };
    run.settle();

    let mut pos = 0;
    let mut ops = script.iter().copied();
    while let Some(op) = ops.next() {
        let arg = usize::from(op >> 3);
        match op & 7 {
            // The next piece of the answer: short, long, or all the rest.
            k @ 0..=2 => {
                let len = match k {
                    0 => arg + 1,
                    1 => (arg + 1) * 16,
                    // To the end of the next head (a whole answer without
                    // a body).
                    _ if arg > 0 => answer[pos..]
                        .windows(4)
                        .position(|w| w == b"\r\n\r\n")
                        .map_or(answer.len(), |i| i + 4),
                    _ => answer.len(),
                };
                let end = (pos + len).min(answer.len());
                run.input(&answer[pos..end]);
                pos = end;
            }
            // Time passes: to the deadline, just before it, or a while.
            3 => {
                run.now = match run.s.poll_timeout() {
                    Some(at) if arg & 1 == 1 => at.as_millis(),
                    Some(at) => (at - Duration::from_millis(1)).as_millis(),
                    None => run.now + (arg as u64 + 1) * 1000,
                }
                .max(run.now);
                let t = run.t();
                run.s.handle_timeout(t);
                run.settle();
            }
            // Body octets: input length from the step, output from the next.
            4 => {
                let out = usize::from(ops.next().unwrap_or(64));
                // A resumable upload's message is read again from its
                // first octet for each request: far longer inputs.
                let scale = if run.resumable { 1 << 15 } else { 1 };
                run.write(arg * 11 * scale, out);
            }
            5 => run.finish(),
            6 => {
                let t = run.t();
                run.s.handle_close(t);
                run.settle();
            }
            _ => {
                let t = run.t();
                if arg & 1 == 0 {
                    let live = run.s.is_live();
                    run.s.quit(t);
                    run.settle();
                    assert!(!run.s.is_live());
                    assert!(!live || run.closed, "quit without Closed");
                    run.over = true;
                } else {
                    run.s.end();
                    run.ended = true;
                    assert!(!run.s.is_live());
                    assert_eq!(run.s.poll_event(), None);
                    assert_eq!(run.s.poll_timeout(), None);
                    assert!(run.s.last_reply().is_none());
                    run.settle();
                }
            }
        }
        if run.over || run.closed || run.ended {
            assert_eq!(run.s.poll_timeout(), None, "a timer after the end");
        }
        run.check_body();
    }
    // What is left of the answer, then the close.
    let step = usize::from(out_len % 13) + 1;
    for piece in answer[pos..].chunks(step) {
        run.input(piece);
    }
    let t = run.t();
    run.s.handle_close(t);
    run.settle();
    run.s.quit(t);
    run.settle();
    if !run.ended {
        assert!(
            run.verdicts == 1 || run.closed,
            "a request closed without a verdict or Closed"
        );
    }
    assert!(!run.s.is_live());
    run.check_body();
    run.wire.assert_secrets_only_in_sensitive_lines(&[TOKEN]);
    if !run.sent.is_empty() {
        assert!(contains(&run.sent, TOKEN), "a head without the token");
    }
});
