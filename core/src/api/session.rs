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
//!   it streams. `202 Accepted` means sent.
//! - **Gmail API**: `POST {base}/upload/gmail/v1/users/me/messages/send?uploadType=media`,
//!   `Content-Type: message/rfc822`, the MIME octets as they are. `200`
//!   with the message's id means sent.

use base64::Engine as _;
use heapless::{Deque, String};

use super::classify::{classify, Verdict};
use super::error_body::{ErrorBody, ErrorParser};
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
/// The most the Gmail API's media upload takes (5 MB).
pub const GMAIL_MAX_MEDIA_UPLOAD: u64 = 5 * 1024 * 1024;
/// How long the body waits for `100 Continue` before it is sent anyway.
pub const EXPECT_CONTINUE_WAIT: Duration = Duration::from_secs(3);
/// How long the answer may take once the whole body is sent (a 3 MB
/// message is checked and filed before the answer comes).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// Octets of one line of the answer's head (longer lines of fields that
/// are not read are skipped).
pub const HEAD_LINE_LEN: usize = 256;
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
    /// The API's host (the `Host` field; also the TLS server name).
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

/// Where the answer's body goes: the error parser.
#[derive(Debug, Clone, Default)]
struct Answer {
    errors: ErrorParser,
}

impl BodySink for Answer {
    fn body(&mut self, _status: u16, data: &[u8]) {
        self.errors.feed(data);
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
    path: String<{ MAX_ENDPOINT_PATH_LEN + 3 * crate::limits::MAX_ADDRESS_LEN + 64 }>,
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
    events: Deque<Event, 4>,
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
            },
            reply: None,
            retry_after_secs: None,
            not_before: None,
            events: Deque::new(),
        }
    }

    /// A request on a connection just opened (TLS up): its head is the
    /// next transmit. A message the API cannot take in one request is
    /// refused here, before anything is sent ([`Id::ApiMessageTooLarge`]).
    pub fn start(&mut self, req: &Request<'_>) -> Result<(), Id> {
        self.end();
        let body_len = Self::body_len_of(req.api, req.size);
        let limit = match req.api {
            Api::Graph => GRAPH_MAX_REQUEST_BODY,
            Api::Gmail => GMAIL_MAX_MEDIA_UPLOAD,
        };
        if body_len > limit {
            return Err(Id::ApiMessageTooLarge);
        }
        self.host
            .push_str(req.host)
            .map_err(|_| Id::InvalidArgument)?;
        self.write_path(req).map_err(|_| Id::CapacityExceeded)?;
        self.api = req.api;
        self.port = req.port;
        self.size = req.size;
        self.recipients = req.recipients;
        self.not_before = req.not_before;
        self.state = State::Head { sent: 0 };
        Ok(())
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
                        for &c in a.as_str().as_bytes() {
                            if path_safe(c) {
                                p.push(char::from(c))?;
                            } else {
                                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                                p.push('%')?;
                                for n in [c >> 4, c & 15] {
                                    let h = HEX.get(usize::from(n)).copied().unwrap_or(b'0');
                                    p.push(char::from(h))?;
                                }
                            }
                        }
                    }
                }
                p.push_str("/sendMail")
            }
            Api::Gmail => p.push_str("/upload/gmail/v1/users/me/messages/send?uploadType=media"),
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

    /// The request's head, with `token`, written from offset `skip` on.
    fn write_head(&self, w: &mut Writer<'_>, token: &[u8]) {
        w.push_str("POST ");
        w.push_str(&self.path);
        w.push_str(" HTTP/1.1\r\nHost: ");
        w.push_str(&self.host);
        if self.port != 443 {
            w.push_byte(b':');
            w.push_decimal(u64::from(self.port));
        }
        w.push_str("\r\nAuthorization: Bearer ");
        w.push(token);
        w.push_str("\r\nContent-Type: ");
        w.push_str(match self.api {
            Api::Graph => "text/plain",
            Api::Gmail => "message/rfc822",
        });
        w.push_str("\r\nContent-Length: ");
        w.push_decimal(Self::body_len_of(self.api, self.size));
        w.push_str(
            "\r\nExpect: 100-continue\r\nConnection: close\r\nUser-Agent: mfp-oauth\r\n\r\n",
        );
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
                self.state = if sent >= total {
                    State::AwaitContinue {
                        until: now + EXPECT_CONTINUE_WAIT,
                    }
                } else {
                    State::Head { sent }
                };
                Ok(Some(Transmit {
                    len,
                    sensitive: true,
                }))
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
        if self.state != State::Body {
            return Err(BodyError::WrongState);
        }
        if out.len() < MIN_BODY_OUT_LEN {
            return Err(BodyError::BufferTooSmall {
                needed: MIN_BODY_OUT_LEN,
            });
        }
        let left = self.size.saturating_sub(self.fed);
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
        if self.state != State::Body {
            return Err(BodyError::WrongState);
        }
        if self.fed != self.size {
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
        let _ = self.events.push_back(Event::ReadyForBody);
    }

    /// The final answer with `status` is in.
    fn answered(&mut self, status: u16) {
        let body = self.answer.errors.finish();
        let complete = matches!(self.state, State::AwaitAnswer { .. });
        let verdict = match classify(status, &body) {
            // A success before the whole body was sent is no success.
            Verdict::Sent if !complete => Verdict::Failed(Id::ApiUnexpectedResponse),
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
            Verdict::Failed(diag) => Event::MessageFailed {
                error: Error::Api { status, diag },
            },
        };
        let _ = self.events.push_back(event);
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
                // The whole message went and no answer came: it may have
                // been sent; a retry could send it twice.
                _ => self.fail(Error::DeliveryUnknown),
            },
            State::Head { .. } | State::AwaitContinue { .. } | State::Body | State::Tail => {
                self.fail(Error::ConnectionClosed { stage: Stage::Data });
            }
        }
    }

    fn closed(&mut self) {
        self.state = State::Over;
        let _ = self.events.push_back(Event::Closed);
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

    /// Whether a request runs (not idle and not over).
    #[must_use]
    pub fn is_live(&self) -> bool {
        !matches!(self.state, State::Idle | State::Over)
    }

    /// Back to idle, the head line buffer wiped.
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
        self.answer = Answer::default();
        self.reply = None;
        self.retry_after_secs = None;
        self.not_before = None;
        self.events.clear();
    }
}
