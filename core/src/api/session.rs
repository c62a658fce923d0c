//! One message sent through a mail API over HTTPS (R-XPORT), sans-IO, in
//! the shape of the SMTP session so that a driver carries either with the
//! same calls: octets out ([`Session::poll_transmit`]), octets in
//! ([`Session::handle_input`]), the body streamed after
//! [`Event::ReadyForBody`] ([`Session::write_body`],
//! [`Session::finish_body`]), a close, a timer, and events.
//!
//! The request carries `Expect: 100-continue` (RFC 9110 §10.1.1): a `401`
//! or `429` comes before the body is sent, so nothing is uploaded for
//! nothing and the body never needs to be read twice. A server that does
//! not answer `100` within [`EXPECT_CONTINUE_WAIT`] gets the body anyway.
//! One request per connection (`Connection: close`).
//!
//! - **Graph**: `POST {base}/v1.0/me/sendMail` (a delegated token) or
//!   `…/users/{address}/sendMail` (an app-only token), `Content-Type:
//!   text/plain`, the MIME message as one base64 string, encoded here as
//!   it streams. `202 Accepted` means sent. A message over one request
//!   goes by a draft, upload sessions and `send`
//!   ([`super::graph_upload`]): `ReadyForBody` then comes once per pass
//!   of the message (the survey, the draft, each chunk), and the session
//!   closes ([`Event::Closed`] with [`Session::wants_connection`]) when
//!   the next request needs another connection ([`Session::next_target`]).
//! - **Gmail API**: `POST {base}/upload/gmail/v1/users/me/messages/send?uploadType=media`,
//!   `Content-Type: message/rfc822`, the MIME octets as they are. `200`
//!   with the message's id means sent.

use base64::Engine as _;
use heapless::{Deque, String};

use super::classify::{classify, Verdict};
use super::error_body::{ErrorBody, ErrorParser};
use super::graph_upload::{self, ChunkDecoder, GraphUpload, Phase, GRAPH_MAX_MESSAGE};
use crate::address::Address;
use crate::diag::Id;
use crate::limits::{MAX_DOMAIN_LEN, MAX_ENDPOINT_PATH_LEN, MIN_BODY_OUT_LEN};
use crate::smtp::{BodyError, BodyProgress, Error, Event, Reply, ReplyCode, Stage, Transmit};
use crate::time::{Duration, Instant};
use crate::wire::http::{BodySink, ResponseParser};
use crate::wire::writer::Writer;
use crate::wire::BufferTooSmall;

/// The most a Graph request may carry (R-XPORT: Graph's 4 MB request
/// limit), base64 included: about 3 MB of message.
pub const GRAPH_MAX_REQUEST_BODY: u64 = 4 * 1024 * 1024;
/// The most the Gmail API's media upload takes (5 MB); a larger message
/// goes through a resumable upload.
pub const GMAIL_MAX_MEDIA_UPLOAD: u64 = 5 * 1024 * 1024;
/// The most the Gmail API takes through a resumable upload (35 MiB).
pub const GMAIL_MAX_UPLOAD: u64 = 36_700_160;
/// How long the body waits for `100 Continue` before it is sent anyway.
pub const EXPECT_CONTINUE_WAIT: Duration = Duration::from_secs(3);
/// How long the answer may take once the whole body is sent (a 3 MB
/// message is checked and filed before the answer comes).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// Octets of one line of the answer's head (longer lines of fields that
/// are not read are skipped).
pub const HEAD_LINE_LEN: usize = 512;
/// The longest error body read (a longer one is refused unread).
const MAX_ERROR_BODY_LEN: usize = 64 * 1024;

/// Which mail API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Api {
    /// Microsoft Graph `sendMail`.
    Graph,
    /// The Gmail API's `messages.send` media upload.
    Gmail,
}

/// What to send, for [`Session::start`].
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Which API.
    pub api: Api,
    /// The API's host (the `Host` field; also the TLS server name). A
    /// Graph upload's chunk, or its question, goes to the upload URL's
    /// host instead ([`Session::next_target`]).
    pub host: &'a str,
    /// Its port.
    pub port: u16,
    /// The base path the API's paths follow (`/` for the provider's).
    pub base_path: &'a str,
    /// Graph only: send as this mailbox (`/users/{address}`, for an
    /// app-only token); `None` is the token's own (`/me`).
    pub mailbox: Option<&'a Address>,
    /// The MIME message's exact size in octets.
    pub size: u64,
    /// Recipients in the message (reported as accepted when it is sent).
    pub recipients: usize,
    /// Send nothing before this time (a throttled request asked again
    /// after the server's `Retry-After`): the session's timer runs until
    /// then.
    pub not_before: Option<Instant>,
    /// Go on with the resumable upload this session started for the same
    /// message, if any (a new connection after a drop): the server is
    /// asked what it has, and only the rest is sent.
    pub resume: bool,
}

/// Which request of the exchange is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The one request of a message small enough (Graph, Gmail media).
    Single,
    /// Gmail resumable: the session is asked for (`POST`, no body).
    Initiate,
    /// Gmail resumable: what the server has (`PUT`, `bytes */N`).
    Query,
    /// Gmail resumable: the rest of the message (`PUT`, `Content-Range`).
    Upload,
    /// Graph, a message over one `sendMail`: the request of this phase
    /// (see [`graph_upload`]).
    Graph(Phase),
}

/// A resumable upload's place, kept across connections (not wiped by
/// [`Session::end`]; by [`Session::forget_upload`] when the job ends).
/// Its session URI, a credential of its own (whoever holds it can upload
/// into the message), is kept whole in the place of Graph's upload URL
/// (`GraphUpload::url`, wiped when cleared, only its length in a Debug
/// print): a job goes through one API, so the two never meet (R-MEM).
#[derive(Debug)]
struct Upload {
    /// The message's size the upload is for (0: no resumable upload).
    size: u64,
    /// Octets the server said it has.
    committed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No request.
    Idle,
    /// The request head is being sent; `sent` octets of it so far.
    Head { sent: usize },
    /// The head is sent; waiting for `100 Continue` until `until`.
    AwaitContinue { until: Instant },
    /// The body streams.
    Body,
    /// The body is in; the last base64 quantum is to be sent.
    Tail,
    /// Everything is sent; the answer is due by `until`.
    AwaitAnswer { until: Instant },
    /// The answer was read (or the request failed): waiting for the close.
    Answered,
    /// Over ([`Event::Closed`] given).
    Over,
}

/// Where the answer's body goes (the error parser), and the fields a
/// resumable upload reads.
#[derive(Debug)]
struct Answer {
    errors: ErrorParser,
    /// The last octet of `Range: bytes=0-N`.
    range_end: Option<u64>,
    /// The answer to a resumable upload's start: its `Location` (the
    /// session URI) is written whole into `graph.url` (checked by
    /// [`Session::session_path`]).
    take_location: bool,
    upload: Upload,
    /// Graph's path for a large message; its answers' members are read
    /// when `graph_answer` is set.
    graph: GraphUpload,
    graph_answer: bool,
}

impl BodySink for Answer {
    fn body(&mut self, _status: u16, data: &[u8]) {
        self.errors.feed(data);
        if self.graph_answer {
            self.graph.feed(data);
        }
    }

    fn field(&mut self, name: &[u8], value: &[u8]) {
        if name.eq_ignore_ascii_case(b"location") && self.take_location {
            let url = &mut self.graph.url;
            url.clear();
            if let Ok(v) = core::str::from_utf8(value) {
                if url.extend(v.trim().as_bytes()).is_err() {
                    url.clear();
                }
            }
        } else if name.eq_ignore_ascii_case(b"range") {
            self.range_end = core::str::from_utf8(value)
                .ok()
                .and_then(|v| v.trim().strip_prefix("bytes=0-"))
                .and_then(|n| n.parse().ok());
        }
    }
}

/// One API request (see the module documentation).
#[derive(Debug)]
pub struct Session {
    state: State,
    api: Api,
    host: String<MAX_DOMAIN_LEN>,
    port: u16,
    /// The request's path and query.
    /// (A mailbox needing much percent-encoding may not fit: the request
    /// is then refused with [`Id::CapacityExceeded`] before it starts.)
    path: String<{ MAX_ENDPOINT_PATH_LEN + crate::limits::MAX_ADDRESS_LEN + 64 }>,
    size: u64,
    recipients: usize,
    /// Message octets taken so far.
    fed: u64,
    /// Message octets waiting for a whole base64 group (Graph).
    carry: [u8; 3],
    carry_len: u8,
    response: ResponseParser,
    line: [u8; HEAD_LINE_LEN],
    answer: Answer,
    /// The answer, for the support log.
    reply: Option<Reply>,
    /// `Retry-After` of a throttled answer, in seconds.
    retry_after_secs: Option<u32>,
    /// [`Request::not_before`], until it has passed.
    not_before: Option<Instant>,
    step: Step,
    /// The connection closed before any octet of the request went out
    /// (while it waited out `Retry-After`): nothing was lost.
    closed_unsent: bool,
    /// Octets at the start of the message, read again from its first
    /// octet, that the server already has: taken and dropped.
    skip: u64,
    /// Graph's path: the message offset of the next octet of this pass.
    pos: u64,
    /// Graph's path: the chunk's range out of the part's base64.
    decoder: ChunkDecoder,
    /// The request's body is complete: the rest of the pass is taken and
    /// dropped until [`Session::finish_body`].
    draining: bool,
    /// The next request of Graph's path needs a new connection (another
    /// host): [`Session::next_target`] names it.
    reconnect: bool,
    events: Deque<Event, 4>,
}

/// `n` as an index into a slice of `len` (at most `len`).
fn clamp(n: u64, len: usize) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX).min(len)
}

/// `segment` as a path segment (RFC 3986): octets that may not stand as
/// they are percent-encoded, into `put`.
fn path_segment(segment: &[u8], mut put: impl FnMut(u8)) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &c in segment {
        if path_safe(c) {
            put(c);
        } else {
            put(b'%');
            for n in [c >> 4, c & 15] {
                put(HEX.get(usize::from(n)).copied().unwrap_or(b'0'));
            }
        }
    }
}

/// Whether `c` may stand in a path segment as is (RFC 3986 `pchar`
/// without `%`).
fn path_safe(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&c)
}

impl Session {
    /// No request.
    #[must_use]
    pub const fn idle() -> Self {
        Session {
            state: State::Idle,
            api: Api::Graph,
            host: String::new(),
            port: 0,
            path: String::new(),
            size: 0,
            recipients: 0,
            fed: 0,
            carry: [0; 3],
            carry_len: 0,
            response: ResponseParser::new(),
            line: [0; HEAD_LINE_LEN],
            answer: Answer {
                errors: ErrorParser::new(),
                range_end: None,
                take_location: false,
                upload: Upload {
                    size: 0,
                    committed: 0,
                },
                graph: GraphUpload::new(),
                graph_answer: false,
            },
            reply: None,
            retry_after_secs: None,
            not_before: None,
            step: Step::Single,
            closed_unsent: false,
            skip: 0,
            pos: 0,
            decoder: ChunkDecoder::new(0, 0, 0),
            draining: false,
            reconnect: false,
            events: Deque::new(),
        }
    }

    /// A request on a connection just opened (TLS up): its head is the
    /// next transmit. A message the API cannot take in one request is
    /// refused here, before anything is sent ([`Id::ApiMessageTooLarge`]).
    pub fn start(&mut self, req: &Request<'_>) -> Result<(), Id> {
        self.end();
        if req.size == 0 {
            // There is always a header: an empty message is a mistake.
            return Err(Id::InvalidArgument);
        }
        Self::check_size(req.api, req.size)?;
        let resumable = req.api == Api::Gmail && req.size > GMAIL_MAX_MEDIA_UPLOAD;
        let graph_path = req.api == Api::Graph
            && Self::body_len_of(Api::Graph, req.size) > GRAPH_MAX_REQUEST_BODY;
        self.step = if graph_path {
            let g = &mut self.answer.graph;
            if !(req.resume && g.size == req.size) {
                // No Gmail upload either (the URL's place is shared).
                self.answer.upload.size = 0;
                self.answer.upload.committed = 0;
                g.begin(req.size);
            }
            // After a lost connection a chunk asks first what the server
            // has.
            if g.phase == Phase::Chunk && !g.planned {
                g.phase = Phase::Query;
            }
            // An attachment whose answer may have been lost could be on
            // the draft already: asked again it could go twice. A new
            // draft instead (the old one is never sent).
            if g.phase == Phase::Attach && !g.planned {
                g.phase = Phase::Draft;
                g.part = 0;
                g.url.clear();
                g.committed = 0;
            }
            g.planned = false;
            g.answer_starts();
            Step::Graph(g.phase)
        } else if !resumable {
            self.forget_upload();
            Step::Single
        } else if req.resume && self.gmail_session_known() && self.answer.upload.size == req.size {
            Step::Query
        } else {
            self.forget_upload();
            self.answer.upload.size = req.size;
            Step::Initiate
        };
        self.answer.take_location = self.step == Step::Initiate;
        // Graph's chunk, or its question, goes to the upload URL's host
        // ([`Session::next_target`]), whatever `req` names: the caller
        // need not copy that host out to hand it back (R-MEM).
        let (host, port) = self
            .answer
            .graph
            .chunk_target()
            .unwrap_or((req.host, req.port));
        self.host.push_str(host).map_err(|_| Id::InvalidArgument)?;
        self.write_path(req).map_err(|_| Id::CapacityExceeded)?;
        self.api = req.api;
        self.port = port;
        self.size = req.size;
        self.recipients = req.recipients;
        self.not_before = req.not_before;
        self.answer.graph_answer = matches!(self.step, Step::Graph(_));
        if self.step == Step::Graph(Phase::Survey) {
            // No request: the message is read once for its layout.
            self.go_body();
        } else {
            self.state = State::Head { sent: 0 };
        }
        Ok(())
    }

    /// Whether `api` takes a message of `size` octets
    /// ([`Id::ApiMessageTooLarge`] when not): Graph's 150 MB (over one 4 MB
    /// request, by a draft and upload sessions), the Gmail API's 35 MiB
    /// resumable upload.
    pub const fn check_size(api: Api, size: u64) -> Result<(), Id> {
        let (len, limit) = match api {
            // Over one request: a draft and upload sessions.
            Api::Graph if Self::body_len_of(api, size) > GRAPH_MAX_REQUEST_BODY => {
                (size, GRAPH_MAX_MESSAGE)
            }
            Api::Graph => (0, 0),
            Api::Gmail if size > GMAIL_MAX_MEDIA_UPLOAD => (size, GMAIL_MAX_UPLOAD),
            Api::Gmail => (size, GMAIL_MAX_MEDIA_UPLOAD),
        };
        if len > limit {
            Err(Id::ApiMessageTooLarge)
        } else {
            Ok(())
        }
    }

    fn write_path(&mut self, req: &Request<'_>) -> Result<(), heapless::CapacityError> {
        let p = &mut self.path;
        p.push_str(req.base_path.trim_end_matches('/'))?;
        match req.api {
            Api::Graph => {
                p.push_str("/v1.0/")?;
                match req.mailbox {
                    None => p.push_str("me")?,
                    Some(a) => {
                        p.push_str("users/")?;
                        let mut fits = Ok(());
                        path_segment(a.as_str().as_bytes(), |b| {
                            if fits.is_ok() {
                                fits = p.push(char::from(b));
                            }
                        });
                        fits?;
                    }
                }
                // The request's own part (`/sendMail`, `/messages…`) is
                // written with its head.
                Ok(())
            }
            Api::Gmail if req.size > GMAIL_MAX_MEDIA_UPLOAD => {
                p.push_str("/upload/gmail/v1/users/me/messages/send?uploadType=resumable")
            }
            Api::Gmail => p.push_str("/upload/gmail/v1/users/me/messages/send?uploadType=media"),
        }
    }

    /// Forget a resumable upload or Graph's path (the job is over).
    pub fn forget_upload(&mut self) {
        self.answer.upload.size = 0;
        self.answer.upload.committed = 0;
        self.answer.graph.forget();
    }

    /// Octets of the message the request on the wire carries (the body's
    /// input: base64 makes Graph's body longer).
    fn input_len(&self) -> u64 {
        match self.step {
            Step::Single => self.size,
            Step::Initiate | Step::Query => 0,
            Step::Upload => self.size.saturating_sub(self.answer.upload.committed),
            Step::Graph(Phase::Draft) => self.draft_len(),
            Step::Graph(Phase::Chunk) => self.chunk_len(),
            Step::Graph(Phase::Attach) => self.attach_len(),
            Step::Graph(_) => 0,
        }
    }

    /// Octets of the current part's `fileAttachment` JSON.
    fn attach_len(&self) -> u64 {
        self.answer
            .graph
            .current()
            .map_or(0, |p| graph_upload::attachment_json_len(&p.name, p.raw_len))
    }

    /// Octets of Graph's draft: the message without its upload parts.
    fn draft_len(&self) -> u64 {
        self.answer.graph.layout().map_or(0, |l| l.draft_len())
    }

    /// Raw octets of the next chunk.
    fn chunk_len(&self) -> u64 {
        self.answer
            .graph
            .chunk_range()
            .map_or(0, |(a, b)| b.saturating_sub(a).saturating_add(1))
    }

    /// Octets of the body of the request on the wire.
    fn request_body_len(&self) -> u64 {
        match self.step {
            Step::Single => Self::body_len_of(self.api, self.size),
            Step::Initiate | Step::Query => 0,
            Step::Upload => self.size.saturating_sub(self.answer.upload.committed),
            Step::Graph(Phase::Draft) => Self::body_len_of(Api::Graph, self.draft_len()),
            Step::Graph(Phase::Chunk) => self.chunk_len(),
            Step::Graph(Phase::Attach) => self.attach_len(),
            // `createUploadSession`'s JSON goes with the head.
            Step::Graph(_) => 0,
        }
    }

    /// Octets of the request body for a message of `size` octets.
    #[must_use]
    pub const fn body_len_of(api: Api, size: u64) -> u64 {
        match api {
            Api::Graph => size.div_ceil(3).saturating_mul(4),
            Api::Gmail => size,
        }
    }

    /// The request's head, with `token` (its start only: a resumable
    /// upload's session URI is its own credential).
    fn write_head(&self, w: &mut Writer<'_>, token: &[u8]) {
        if let Step::Graph(phase) = self.step {
            self.write_graph_head(w, token, phase);
            return;
        }
        let (method, path) = match self.step {
            Step::Query | Step::Upload => (
                "PUT ",
                self.answer.graph.upload_target().map_or("", |(_, _, p)| p),
            ),
            _ => ("POST ", self.path.as_str()),
        };
        w.push_str(method);
        w.push_str(path);
        if self.api == Api::Graph {
            w.push_str("/sendMail");
        }
        self.write_host(w);
        if matches!(self.step, Step::Single | Step::Initiate) {
            w.push_str("\r\nAuthorization: Bearer ");
            w.push(token);
        }
        match self.step {
            Step::Initiate => {
                w.push_str(
                    "\r\nX-Upload-Content-Type: message/rfc822\r\nX-Upload-Content-Length: ",
                );
                w.push_decimal(self.size);
            }
            Step::Query => {
                w.push_str("\r\nContent-Range: bytes */");
                w.push_decimal(self.size);
            }
            _ => {
                w.push_str("\r\nContent-Type: ");
                w.push_str(match self.api {
                    Api::Graph => "text/plain",
                    Api::Gmail => "message/rfc822",
                });
            }
        }
        if self.step == Step::Upload {
            w.push_str("\r\nContent-Range: bytes ");
            w.push_decimal(self.answer.upload.committed);
            w.push_byte(b'-');
            w.push_decimal(self.size.saturating_sub(1));
            w.push_byte(b'/');
            w.push_decimal(self.size);
        }
        w.push_str("\r\nContent-Length: ");
        w.push_decimal(self.request_body_len());
        if matches!(self.step, Step::Single | Step::Upload) {
            w.push_str("\r\nExpect: 100-continue\r\nConnection: close");
        }
        w.push_str("\r\nUser-Agent: mfp-oauth\r\n\r\n");
    }

    /// ` HTTP/1.1`, then the `Host` field (with the port when not 443).
    fn write_host(&self, w: &mut Writer<'_>) {
        w.push_str(" HTTP/1.1\r\nHost: ");
        w.push_str(&self.host);
        if self.port != 443 {
            w.push_byte(b':');
            w.push_decimal(u64::from(self.port));
        }
    }

    /// The head of a request of Graph's path (see [`graph_upload`]): the
    /// draft and `send` with the token, the upload URL's requests
    /// without (the URL is its own credential); `createUploadSession`'s
    /// JSON follows its head here.
    fn write_graph_head(&self, w: &mut Writer<'_>, token: &[u8], phase: Phase) {
        let g = &self.answer.graph;
        let url_path = g.upload_target().map_or("", |(_, _, p)| p);
        let method = match phase {
            Phase::Chunk => "PUT ",
            Phase::Query => "GET ",
            _ => "POST ",
        };
        w.push_str(method);
        match phase {
            Phase::Chunk | Phase::Query => w.push_str(url_path),
            _ => {
                w.push_str(&self.path);
                w.push_str("/messages");
                if phase != Phase::Draft {
                    w.push_byte(b'/');
                    // As Graph gave it, but a path segment: whatever it
                    // holds (`/`, a space, CR LF from a JSON escape) is
                    // percent-encoded, never a break in the request line.
                    path_segment(g.id.as_bytes(), |b| w.push_byte(b));
                }
                match phase {
                    Phase::Create => w.push_str("/attachments/createUploadSession"),
                    Phase::Attach => w.push_str("/attachments"),
                    Phase::Send => w.push_str("/send"),
                    _ => {}
                }
            }
        }
        self.write_host(w);
        if matches!(
            phase,
            Phase::Draft | Phase::Create | Phase::Attach | Phase::Send
        ) {
            w.push_str("\r\nAuthorization: Bearer ");
            w.push(token);
        }
        let part = g.current();
        match phase {
            Phase::Draft => w.push_str("\r\nContent-Type: text/plain"),
            Phase::Create | Phase::Attach => w.push_str("\r\nContent-Type: application/json"),
            Phase::Chunk => {
                let (a, b) = g.chunk_range().unwrap_or((0, 0));
                w.push_str("\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ");
                w.push_decimal(a);
                w.push_byte(b'-');
                w.push_decimal(b);
                w.push_byte(b'/');
                w.push_decimal(part.map_or(0, |p| p.raw_len));
            }
            _ => {}
        }
        w.push_str("\r\nContent-Length: ");
        match (phase, part) {
            (Phase::Create, Some(p)) => {
                w.push_decimal(graph_upload::session_json_len(&p.name, p.raw_len));
            }
            _ => w.push_decimal(self.request_body_len()),
        }
        if matches!(phase, Phase::Draft | Phase::Chunk | Phase::Attach) {
            w.push_str("\r\nExpect: 100-continue");
        }
        if phase == Phase::Send {
            w.push_str("\r\nConnection: close");
        }
        w.push_str("\r\nUser-Agent: mfp-oauth\r\n\r\n");
        if let (Phase::Create, Some(p)) = (phase, part) {
            graph_upload::write_session_json(w, &p.name, p.raw_len);
        }
    }

    /// The next octets to send, written into `out` (`None`: nothing now).
    /// The head carries the access `token` (read where its owner keeps
    /// it, never copied here): such a transmit is `sensitive` and goes only
    /// on the TLS connection the session was started on.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
        token: &[u8],
    ) -> Result<Option<Transmit>, BufferTooSmall> {
        match self.state {
            State::Head { sent: 0 } if self.not_before.is_some_and(|t| now < t) => Ok(None),
            State::Head { sent } => {
                if out.is_empty() {
                    return Err(BufferTooSmall { needed: 1 });
                }
                let mut w = Writer::window(out, sent);
                self.write_head(&mut w, token);
                let (total, len) = (w.len(), w.written());
                let sent = sent.saturating_add(len);
                self.state = if sent < total {
                    State::Head { sent }
                } else if self.request_body_len() == 0 {
                    State::AwaitAnswer {
                        until: now + ANSWER_TIMEOUT,
                    }
                } else {
                    State::AwaitContinue {
                        until: now + EXPECT_CONTINUE_WAIT,
                    }
                };
                Ok(Some(Transmit {
                    len,
                    sensitive: true,
                }))
            }
            State::Tail if self.carry_len == 0 => {
                // A chunk's body is complete: nothing more to send.
                self.state = State::AwaitAnswer {
                    until: now + ANSWER_TIMEOUT,
                };
                Ok(None)
            }
            State::Tail => {
                let n = usize::from(self.carry_len);
                let dst = out.get_mut(..4).ok_or(BufferTooSmall { needed: 4 })?;
                let src = self.carry.get(..n).unwrap_or(&[]);
                let len = base64::engine::general_purpose::STANDARD
                    .encode_slice(src, dst)
                    .unwrap_or(0);
                self.carry_len = 0;
                self.state = State::AwaitAnswer {
                    until: now + ANSWER_TIMEOUT,
                };
                Ok(Some(Transmit {
                    len,
                    sensitive: false,
                }))
            }
            _ => Ok(None),
        }
    }

    /// After [`Event::ReadyForBody`]: message octets from `input` encoded
    /// for the request into `out`; send `out[..written]` and offer the
    /// input past `consumed` again. More octets than the announced size
    /// are refused ([`BodyError::WrongState`]).
    pub fn write_body(&mut self, input: &[u8], out: &mut [u8]) -> Result<BodyProgress, BodyError> {
        if self.draining {
            // The request's body is complete: the rest of this pass of
            // the message is not for it.
            return Ok(BodyProgress {
                consumed: input.len(),
                written: 0,
            });
        }
        if self.state != State::Body {
            return Err(BodyError::WrongState);
        }
        if out.len() < MIN_BODY_OUT_LEN {
            return Err(BodyError::BufferTooSmall {
                needed: MIN_BODY_OUT_LEN,
            });
        }
        if let Step::Graph(phase) = self.step {
            return Ok(self.write_graph_body(phase, input, out));
        }
        if self.skip > 0 {
            // The message read again from its first octet: the server has
            // this part already.
            let drop = usize::try_from(self.skip)
                .unwrap_or(usize::MAX)
                .min(input.len());
            self.skip = self.skip.saturating_sub(drop as u64);
            return Ok(BodyProgress {
                consumed: drop,
                written: 0,
            });
        }
        let left = self.input_len().saturating_sub(self.fed);
        if left == 0 && !input.is_empty() {
            return Err(BodyError::WrongState);
        }
        let take = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
        let input = input.get(..take).unwrap_or(&[]);
        let progress = match self.api {
            Api::Gmail => {
                let n = input.len().min(out.len());
                if let (Some(d), Some(s)) = (out.get_mut(..n), input.get(..n)) {
                    d.copy_from_slice(s);
                }
                BodyProgress {
                    consumed: n,
                    written: n,
                }
            }
            Api::Graph => self.encode(input, out),
        };
        self.fed = self.fed.saturating_add(progress.consumed as u64);
        Ok(progress)
    }

    /// [`Session::write_body`] for the composer's output (the same here:
    /// the API takes the message as it is).
    pub fn write_body_canonical(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<BodyProgress, BodyError> {
        self.write_body(input, out)
    }

    /// A pass of the message for a request of Graph's path: the survey
    /// reads it all, the draft encodes it without the upload parts, a
    /// chunk decodes its range out of the part's base64.
    fn write_graph_body(&mut self, phase: Phase, input: &[u8], out: &mut [u8]) -> BodyProgress {
        let none = BodyProgress {
            consumed: 0,
            written: 0,
        };
        let at = self.pos;
        let left = self.size.saturating_sub(at);
        let input = input
            .get(..usize::try_from(left).unwrap_or(usize::MAX).min(input.len()))
            .unwrap_or(&[]);
        let progress = match phase {
            Phase::Survey => {
                self.answer.graph.survey(input);
                BodyProgress {
                    consumed: input.len(),
                    written: 0,
                }
            }
            Phase::Draft => {
                // Inside an upload part: dropped; else up to the next one.
                let (inside, next) = self.answer.graph.layout().map_or((None, None), |l| {
                    let inside = l.parts.iter().find(|p| p.start <= at && at < p.end);
                    let next = l.parts.iter().map(|p| p.start).filter(|&s| s > at).min();
                    (inside.map(|p| p.end), next)
                });
                match inside {
                    Some(end) => BodyProgress {
                        consumed: clamp(end - at, input.len()),
                        written: 0,
                    },
                    None => {
                        let take = next.map_or(input.len(), |n| clamp(n - at, input.len()));
                        let p = self.encode(input.get(..take).unwrap_or(&[]), out);
                        self.fed = self.fed.saturating_add(p.consumed as u64);
                        p
                    }
                }
            }
            Phase::Chunk => {
                let start = self.answer.graph.current().map_or(0, |p| {
                    graph_upload::chunk_start(p, self.answer.graph.committed).0
                });
                if at < start {
                    BodyProgress {
                        consumed: clamp(start - at, input.len()),
                        written: 0,
                    }
                } else {
                    match self.decoder.decode(input, out) {
                        Ok((consumed, written)) => {
                            self.fed = self.fed.saturating_add(written as u64);
                            if self.decoder.done() {
                                // The chunk is whole: the answer is due;
                                // the rest of the pass is dropped.
                                self.draining = true;
                                self.state = State::Tail;
                            }
                            BodyProgress { consumed, written }
                        }
                        Err(()) => {
                            self.message_failed(Id::InvalidArgument);
                            none
                        }
                    }
                }
            }
            Phase::Attach => self.write_attachment(input, out),
            _ => none,
        };
        self.pos = self.pos.saturating_add(progress.consumed as u64);
        progress
    }

    /// The current part as a `fileAttachment`: the JSON's start (written
    /// before any input is taken), the part's base64 characters as they
    /// pass (line ends dropped), then its end; `fed` counts the body's
    /// octets written.
    fn write_attachment(&mut self, input: &[u8], out: &mut [u8]) -> BodyProgress {
        let Some(part) = self.answer.graph.current() else {
            return BodyProgress {
                consumed: 0,
                written: 0,
            };
        };
        let fed = usize::try_from(self.fed).unwrap_or(usize::MAX);
        let mut w = Writer::window(out, fed);
        graph_upload::write_attachment_json_start(&mut w, &part.name);
        let (start_len, written) = (w.len(), w.written());
        if fed < start_len {
            self.fed = self.fed.saturating_add(written as u64);
            return BodyProgress {
                consumed: 0,
                written,
            };
        }
        let (at, body_start) = (self.pos, part.body_start);
        let chars = part.raw_len.div_ceil(3).saturating_mul(4);
        if at < body_start {
            return BodyProgress {
                consumed: clamp(body_start - at, input.len()),
                written: 0,
            };
        }
        // Room kept for the JSON's end.
        let room = out
            .len()
            .saturating_sub(graph_upload::ATTACHMENT_JSON_END.len());
        let mut left = chars.saturating_sub(self.fed - start_len as u64);
        let (mut consumed, mut written) = (0, 0);
        for &c in input {
            if left == 0 || written >= room {
                break;
            }
            consumed += 1;
            if c == b'\r' || c == b'\n' {
                continue;
            }
            if let Some(d) = out.get_mut(written) {
                *d = c;
            }
            written += 1;
            left -= 1;
        }
        if left == 0 {
            let end = graph_upload::ATTACHMENT_JSON_END;
            if let Some(d) = out.get_mut(written..written + end.len()) {
                d.copy_from_slice(end);
                written += end.len();
            }
            // The attachment is whole: the rest of the pass is dropped.
            self.draining = true;
            self.state = State::Tail;
        }
        self.fed = self.fed.saturating_add(written as u64);
        BodyProgress { consumed, written }
    }

    /// Base64 of `input` (after the octets carried from the last call)
    /// into `out`, whole groups only; up to two octets are carried.
    fn encode(&mut self, input: &[u8], out: &mut [u8]) -> BodyProgress {
        let engine = &base64::engine::general_purpose::STANDARD;
        let (mut consumed, mut written) = (0usize, 0usize);
        // Complete the carried group first.
        if self.carry_len > 0 {
            let have = usize::from(self.carry_len);
            let need = (3 - have).min(input.len());
            if let (Some(d), Some(s)) = (self.carry.get_mut(have..have + need), input.get(..need)) {
                d.copy_from_slice(s);
            }
            consumed = need;
            self.carry_len = (have + need) as u8;
            if self.carry_len < 3 {
                return BodyProgress { consumed, written };
            }
            let n = out
                .get_mut(..4)
                .and_then(|d| engine.encode_slice(self.carry, d).ok())
                .unwrap_or(0);
            written = n;
            self.carry_len = 0;
        }
        let rest = input.get(consumed..).unwrap_or(&[]);
        let room = out.len().saturating_sub(written);
        let groups = (rest.len() / 3).min(room / 4);
        if groups > 0 {
            let (src, dst) = (
                rest.get(..groups * 3).unwrap_or(&[]),
                out.get_mut(written..written + groups * 4)
                    .unwrap_or(&mut []),
            );
            written += engine.encode_slice(src, dst).unwrap_or(0);
            consumed += groups * 3;
        }
        // A last part shorter than a group is carried, once every whole
        // group before it is out.
        let rest = input.get(consumed..).unwrap_or(&[]);
        if rest.len() < 3 && !rest.is_empty() {
            if let Some(d) = self.carry.get_mut(..rest.len()) {
                d.copy_from_slice(rest);
            }
            self.carry_len = rest.len() as u8;
            consumed += rest.len();
        }
        BodyProgress { consumed, written }
    }

    /// The whole message was written. A message shorter than its
    /// announced size cannot be completed: the request fails (the API
    /// never sees a whole body, so nothing is sent).
    pub fn finish_body(&mut self, now: Instant) -> Result<(), BodyError> {
        if self.draining {
            self.draining = false;
            if self.state == State::Tail {
                self.state = State::AwaitAnswer {
                    until: now + ANSWER_TIMEOUT,
                };
            }
            return Ok(());
        }
        if self.state != State::Body {
            return Err(BodyError::WrongState);
        }
        if self.step == Step::Graph(Phase::Survey) {
            self.surveyed();
            return Ok(());
        }
        if self.fed != self.input_len() || self.skip > 0 {
            self.fail(Error::Api {
                status: 0,
                diag: Id::InvalidArgument,
            });
            return Ok(());
        }
        self.state = if self.carry_len > 0 {
            State::Tail
        } else {
            State::AwaitAnswer {
                until: now + ANSWER_TIMEOUT,
            }
        };
        Ok(())
    }

    /// Octets received; returns how many were taken (all: what follows
    /// the answer on a closing connection is dropped).
    pub fn handle_input(&mut self, _now: Instant, data: &[u8]) -> usize {
        let waiting = matches!(
            self.state,
            State::Head { .. }
                | State::AwaitContinue { .. }
                | State::Body
                | State::Tail
                | State::AwaitAnswer { .. }
        );
        if !waiting || data.is_empty() {
            return data.len();
        }
        let parsed =
            self.response
                .feed_to(&mut self.line, data, MAX_ERROR_BODY_LEN, &mut self.answer);
        match parsed {
            Ok(crate::wire::Parsed::Complete(resp, _)) => {
                self.retry_after_secs = resp.retry_after_secs;
                self.answered(resp.status);
            }
            Ok(crate::wire::Parsed::Partial) => {
                // `100 Continue` read whole: the parser waits for the next
                // head with nothing held.
                if matches!(self.state, State::AwaitContinue { .. }) && self.response.is_idle() {
                    self.go_body();
                }
            }
            Err(e) => self.fail(Error::Api {
                status: 0,
                diag: crate::diag::Diagnostic::diag(&e),
            }),
        }
        data.len()
    }

    fn go_body(&mut self) {
        self.state = State::Body;
        // Every pass reads the message from its first octet.
        self.pos = 0;
        self.draining = false;
        if self.step == Step::Graph(Phase::Survey) {
            self.answer.graph.survey_starts();
        }
        if self.step == Step::Graph(Phase::Chunk) {
            let g = &self.answer.graph;
            if let (Some(part), Some((a, b))) = (g.current(), g.chunk_range()) {
                let (_, raw) = graph_upload::chunk_start(part, a);
                self.decoder = ChunkDecoder::new(raw, a, b);
            }
        }
        let _ = self.events.push_back(Event::ReadyForBody);
    }

    /// The survey's pass is over: the draft is next, on this connection,
    /// unless the message cannot go this way (more upload parts than kept,
    /// a draft over one request, not the composer's shape).
    fn surveyed(&mut self) {
        let ok = self.answer.graph.surveyed().and_then(|()| {
            let draft = Self::body_len_of(Api::Graph, self.draft_len());
            if draft > GRAPH_MAX_REQUEST_BODY {
                Err(Id::ApiMessageTooLarge)
            } else {
                Ok(())
            }
        });
        match ok {
            Ok(()) => self.next_graph_request(Phase::Draft, false),
            Err(diag) => self.message_failed(diag),
        }
    }

    /// The next request of Graph's path: on this connection, or (another
    /// host, or back from the upload host) on a new one: the session then
    /// closes ([`Event::Closed`]) with [`Session::wants_connection`] set.
    fn next_graph_request(&mut self, phase: Phase, reconnect: bool) {
        self.step = Step::Graph(phase);
        self.answer.graph.phase = phase;
        self.answer.graph.answer_starts();
        self.fed = 0;
        self.carry_len = 0;
        self.pos = 0;
        self.skip = 0;
        // `draining` stays: the pass that carried the last chunk may still
        // run; it ends with `finish_body`, or a new pass begins.
        self.response.reset();
        self.answer.errors = ErrorParser::new();
        self.answer.range_end = None;
        if reconnect {
            self.reconnect = true;
            self.answer.graph.planned = true;
            self.closed();
        } else {
            self.state = State::Head { sent: 0 };
        }
    }

    /// An answer of Graph's path that leads to its next request. Returns
    /// whether it was one (others are judged as any answer).
    fn graph_step(&mut self, status: u16) -> bool {
        let Step::Graph(phase) = self.step else {
            return false;
        };
        let g = &mut self.answer.graph;
        let parts = g.layout().map_or(0, |l| l.parts.len());
        let last = g.chunk_range().map_or(0, |(_, b)| b);
        // After the current part is complete: the next one, or send.
        let after_part = |g: &mut GraphUpload| {
            g.part += 1;
            g.url.clear();
            g.committed = 0;
            if g.part < parts {
                g.current().map_or(Phase::Send, graph_upload::first_phase)
            } else {
                Phase::Send
            }
        };
        let (next, reconnect) = match (phase, status) {
            (Phase::Draft, 201) if !g.id.is_empty() && !g.overflow && parts > 0 => {
                g.part = 0;
                (
                    g.current().map_or(Phase::Send, graph_upload::first_phase),
                    false,
                )
            }
            (Phase::Create, 200 | 201) if !g.overflow && g.upload_target().is_some() => {
                g.committed = match g.next {
                    Some(Some(n)) => n,
                    _ => 0,
                };
                (Phase::Chunk, true)
            }
            // Attached: the next part or `send`, on this connection.
            (Phase::Attach, 201) => (after_part(g), false),
            (Phase::Chunk, 200) => {
                g.committed = match g.next {
                    Some(Some(n)) => n,
                    _ => last.saturating_add(1),
                };
                match g.current() {
                    Some(p) if g.committed < p.raw_len => (Phase::Chunk, false),
                    _ => (after_part(g), true),
                }
            }
            (Phase::Chunk, 201) | (Phase::Query, 200) if matches!(g.next, None | Some(None)) => {
                (after_part(g), true)
            }
            (Phase::Query, 200) => {
                g.committed = match g.next {
                    Some(Some(n)) => n,
                    _ => 0,
                };
                match g.current() {
                    Some(p) if g.committed < p.raw_len => (Phase::Chunk, false),
                    _ => (after_part(g), true),
                }
            }
            // The upload session is gone (expired): a new one for the
            // part, from its first octet.
            (Phase::Chunk | Phase::Query, 404) => {
                g.url.clear();
                g.committed = 0;
                (Phase::Create, true)
            }
            _ => return false,
        };
        if g.committed > g.current().map_or(0, |p| p.raw_len) {
            return false;
        }
        self.next_graph_request(next, reconnect);
        true
    }

    /// The final answer with `status` is in.
    fn answered(&mut self, status: u16) {
        if self.graph_step(status) || self.resumable_step(status) {
            return;
        }
        let body = self.answer.errors.finish();
        let complete = matches!(self.state, State::AwaitAnswer { .. })
            || (self.draining && self.state == State::Tail);
        let verdict = match classify(status, &body) {
            // A success before the whole body was sent is no success, nor
            // is a resumable upload's start without a session URI here,
            // nor a step of Graph's path other than `send` that did not
            // lead to the next.
            Verdict::Sent
                if !complete
                    || self.step == Step::Initiate
                    || matches!(self.step, Step::Graph(p) if p != Phase::Send) =>
            {
                Verdict::Failed(Id::ApiUnexpectedResponse)
            }
            v => v,
        };
        let code = ReplyCode {
            code: status,
            enhanced: None,
        };
        self.reply = Some(Self::reply_text(code, &body, verdict));
        self.state = State::Answered;
        let event = match verdict {
            Verdict::Sent => Event::MessageSent {
                code,
                accepted: self.recipients,
                refused: 0,
            },
            Verdict::TokenRejected => Event::AuthRejected {
                code,
                diag: Id::ApiTokenRejected,
                refresh_and_retry: true,
            },
            Verdict::Throttled => Event::MessageFailed {
                error: Error::Api {
                    status,
                    diag: Id::ApiThrottled,
                },
            },
            // A server error once Graph has the whole message: sendMail
            // files and sends after it answers, so the message may have
            // gone (Microsoft's throttling guidance); asking again could
            // send it twice.
            Verdict::Failed(Id::ApiServerError)
                if complete && matches!(self.step, Step::Single | Step::Graph(Phase::Send)) =>
            {
                Event::MessageFailed {
                    error: Error::Api {
                        status,
                        diag: Id::DeliveryUnknown,
                    },
                }
            }
            Verdict::Failed(diag) => Event::MessageFailed {
                error: Error::Api { status, diag },
            },
        };
        let _ = self.events.push_back(event);
    }

    /// A resumable upload's answer that leads to its next request on the
    /// same connection: the session URI (`200` to the start), what the
    /// server has (`308`), or a session gone (`404`, `410`: started
    /// again). Returns whether it was one.
    fn resumable_step(&mut self, status: u16) -> bool {
        let next = match (self.step, status) {
            (Step::Initiate, 200 | 201) => match self.session_path() {
                Some(()) => {
                    self.answer.upload.committed = 0;
                    Step::Upload
                }
                None => {
                    self.answer.graph.url.clear();
                    return false;
                }
            },
            (Step::Query | Step::Upload, 308) => {
                self.answer.upload.committed =
                    self.answer.range_end.map_or(0, |e| e.saturating_add(1));
                Step::Upload
            }
            (Step::Query, 404 | 410) => {
                self.answer.graph.url.clear();
                Step::Initiate
            }
            // Google: a server error during the upload is resumed, from
            // what the server says it has.
            (Step::Upload, 500..=599) => Step::Query,
            _ => return false,
        };
        if self.answer.upload.committed > self.size {
            return false;
        }
        // The next request: the body (if any) is read again from its
        // first octet, and what the server has is dropped.
        self.step = next;
        self.skip = self.answer.upload.committed;
        self.fed = 0;
        self.carry_len = 0;
        self.response.reset();
        self.answer.errors = ErrorParser::new();
        self.answer.range_end = None;
        self.answer.take_location = next == Step::Initiate;
        self.state = State::Head { sent: 0 };
        true
    }

    /// Whether the session URI of the `Location` just read can be used:
    /// an `https` URL on this host and port whose path goes into the
    /// request line as it is (visible ASCII only, checked by
    /// `split_url`). It is kept whole; each request takes its path.
    fn session_path(&self) -> Option<()> {
        let (host, port, _) = self.answer.graph.upload_target()?;
        (host.eq_ignore_ascii_case(&self.host) && port == self.port).then_some(())
    }

    /// A Gmail resumable upload's session URI is known. Its place is
    /// Graph's upload URL's: it counts only while a resumable upload is
    /// under way (its size is set by a Gmail start only, and cleared when
    /// Graph's path begins).
    fn gmail_session_known(&self) -> bool {
        self.answer.upload.size != 0 && !self.answer.graph.url.is_empty()
    }

    /// Whether a transport failure of this session can be carried on
    /// from where the server is, on a new connection (a resumable upload
    /// whose session URI is known, or whose start got no answer).
    #[must_use]
    pub fn resumable(&self) -> bool {
        // A start lost before its answer is asked again: it carries no
        // message. Graph's path goes on from its place, but for `send`.
        self.gmail_session_known()
            || self.step == Step::Initiate
            || matches!(self.step, Step::Graph(p) if p != Phase::Send)
    }

    /// The support log's line for an answer: the API's error name and
    /// message, or what a success means.
    fn reply_text(code: ReplyCode, body: &ErrorBody, verdict: Verdict) -> Reply {
        let mut text: String<{ crate::limits::MAX_REPLY_TEXT_LEN }> = String::new();
        let name = [
            body.code.as_str(),
            body.reason.as_str(),
            body.status.as_str(),
        ]
        .into_iter()
        .find(|s| !s.is_empty());
        let mut put = |s: &str| {
            for c in s.chars() {
                if text.push(c).is_err() {
                    break;
                }
            }
        };
        match (verdict, name) {
            (Verdict::Sent, _) => put("message accepted by the mail API"),
            (_, Some(n)) => {
                put(n);
                if !body.message.is_empty() {
                    put(": ");
                    put(&body.message);
                }
            }
            (_, None) => put(&body.message),
        }
        Reply::from_text(code, &text)
    }

    /// The message itself cannot go this way (not the composer's shape,
    /// too many large files, a draft over one request): the job fails,
    /// and no new connection would change that.
    fn message_failed(&mut self, diag: Id) {
        self.state = State::Answered;
        self.draining = false;
        self.events.clear();
        let _ = self.events.push_back(Event::MessageFailed {
            error: Error::Api { status: 0, diag },
        });
    }

    fn fail(&mut self, error: Error) {
        self.state = State::Over;
        self.events.clear();
        let _ = self.events.push_back(Event::Failed { error });
    }

    /// The connection closed, or a write to it failed.
    pub fn handle_close(&mut self, _now: Instant) {
        match self.state {
            State::Idle | State::Over => {}
            State::Answered => self.closed(),
            State::AwaitAnswer { .. } => match self.response.finish() {
                // An answer whose body ran to the close.
                Ok(resp) => {
                    self.retry_after_secs = resp.retry_after_secs;
                    self.answered(resp.status);
                }
                // A resumable upload's start or query, or a step of
                // Graph's path before `send`, sends no message: nothing
                // can have been sent.
                _ if self.carries_no_message() => {
                    self.fail(Error::ConnectionClosed { stage: Stage::Data });
                }
                // The whole message went and no answer came: it may have
                // been sent; a retry could send it twice.
                _ => self.fail(Error::DeliveryUnknown),
            },
            State::Head { .. } | State::AwaitContinue { .. } | State::Body | State::Tail => {
                self.closed_unsent = self.state == State::Head { sent: 0 };
                self.fail(Error::ConnectionClosed { stage: Stage::Data });
            }
        }
    }

    fn closed(&mut self) {
        self.state = State::Over;
        let _ = self.events.push_back(Event::Closed);
    }

    /// Whether the request on the wire sends no message whatever happens
    /// to it (a resumable upload's start or question; Graph's draft,
    /// upload session and chunks before `send`).
    fn carries_no_message(&self) -> bool {
        matches!(self.step, Step::Initiate | Step::Query)
            || matches!(self.step, Step::Graph(p) if p != Phase::Send)
    }

    /// The session closed because Graph's path goes on over a new
    /// connection ([`Session::next_target`]); the job is not over.
    #[must_use]
    pub fn wants_connection(&self) -> bool {
        self.reconnect
    }

    /// Where the next request goes when it is not the API's own host:
    /// Graph's upload URL (its host and port) for a chunk or its question.
    #[must_use]
    pub fn next_target(&self) -> Option<(&str, u16)> {
        self.answer.graph.chunk_target()
    }

    /// `now` reached [`Session::poll_timeout`]'s deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.not_before.is_some_and(|t| now >= t) {
            // The wait is over: the head is the next transmit.
            self.not_before = None;
        }
        match self.state {
            // No `100 Continue`: the server reads the body anyway.
            State::AwaitContinue { until } if now >= until => self.go_body(),
            // A resumable upload's start or question carries no message.
            State::AwaitAnswer { until } if now >= until && self.carries_no_message() => {
                self.fail(Error::Timeout { stage: Stage::Data });
            }
            State::AwaitAnswer { until } if now >= until => {
                self.fail(Error::TimeoutAfterEndOfData);
            }
            _ => {}
        }
    }

    /// When to call [`Session::handle_timeout`] (`None`: nothing awaited).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::AwaitContinue { until } | State::AwaitAnswer { until } => Some(until),
            State::Head { sent: 0 } => self.not_before,
            _ => None,
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Abandon the request, or end it once its answer is read: the
    /// connection is to be closed ([`Event::Closed`]).
    pub fn quit(&mut self, _now: Instant) {
        if !matches!(self.state, State::Idle | State::Over) {
            self.closed();
        }
    }

    /// The answer that decided the request, for the support log.
    #[must_use]
    pub fn last_reply(&self) -> Option<&Reply> {
        self.reply.as_ref()
    }

    /// `Retry-After` of the last answer, in seconds (a throttled one).
    #[must_use]
    pub fn retry_after_secs(&self) -> Option<u32> {
        self.retry_after_secs
    }

    /// Whether nothing of the request has gone out yet (its head not
    /// begun): a connection lost then loses nothing.
    #[must_use]
    pub fn nothing_sent(&self) -> bool {
        matches!(self.state, State::Head { sent: 0 })
    }

    /// Whether the connection closed before any octet of the request went
    /// out (while it waited out `Retry-After`): the request failed and
    /// nothing was lost; a new connection can ask it again.
    #[must_use]
    pub fn closed_before_sending(&self) -> bool {
        self.closed_unsent
    }

    /// Whether a request runs (not idle and not over).
    #[must_use]
    pub fn is_live(&self) -> bool {
        !matches!(self.state, State::Idle | State::Over)
    }

    /// Back to [`Session::idle`] in place: no request, no upload under
    /// way, every secret wiped. For a place that holds this session from
    /// now on ([`crate::mailer::SessionPlace::hold_api`]): whatever it held
    /// before, an all-zero session included, is overwritten.
    pub fn make_idle(&mut self) {
        self.end();
        self.forget_upload();
        self.api = Api::Graph;
    }

    /// Back to idle, the head line buffer wiped. Not inlined: the parser
    /// state it resets is built on its own frame, not its callers' (R-MEM).
    #[inline(never)]
    pub fn end(&mut self) {
        self.state = State::Idle;
        self.host.clear();
        self.path.clear();
        self.port = 0;
        self.size = 0;
        self.recipients = 0;
        self.fed = 0;
        zeroize::Zeroize::zeroize(&mut self.carry);
        self.carry_len = 0;
        self.response.wipe(&mut self.line);
        self.answer.errors = ErrorParser::new();
        self.answer.range_end = None;
        self.answer.take_location = false;
        self.reply = None;
        self.retry_after_secs = None;
        self.not_before = None;
        self.step = Step::Single;
        self.closed_unsent = false;
        self.skip = 0;
        self.pos = 0;
        self.decoder = ChunkDecoder::new(0, 0, 0);
        self.draining = false;
        self.reconnect = false;
        self.answer.graph_answer = false;
        self.events.clear();
    }
}
