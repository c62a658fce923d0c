//! HTTP/1.1 for the token endpoints: request emit, `CONNECT` through a proxy,
//! and a push parser for responses (RFC 9112).
//!
//! The core speaks HTTP/1.1 over whatever TLS socket the firmware has: one
//! request per connection (`Connection: close`), a form body with its
//! `Content-Length`, and a response whose body is either `Content-Length`
//! framed, `Transfer-Encoding: chunked` (Google has answered chunked), or
//! delimited by the close. The head is parsed by `httparse` from a buffer
//! the caller lends; the body is either assembled into that same buffer
//! ([`ResponseParser::feed`]) or handed on as it arrives
//! ([`ResponseParser::feed_to`], what the OAuth client does: its JSON is
//! parsed on the fly, so its buffer,
//! [`crate::limits::OAUTH_RESPONSE_BUF_LEN`] octets, only holds the head).

use core::fmt;

use super::http_head::{self, Framing};
use super::writer::Writer;
use super::{BufferTooSmall, Parsed};
use crate::diag::{Diagnostic, Id};
use crate::limits::{MAX_CHUNK_EXT_LEN, MAX_HTTP_HEADERS, MAX_HTTP_HEAD_LEN};

// ---------------------------------------------------------------- emit

/// A request could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RequestError {
    /// The host is empty, too long, or has characters a host cannot have.
    InvalidHost,
    /// The path does not start with `/` or has spaces or control characters.
    InvalidPath,
    /// A header value (user agent, proxy user) has forbidden characters.
    InvalidHeaderValue,
    /// The output buffer is too small.
    BufferTooSmall(BufferTooSmall),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::InvalidHost => f.write_str("invalid host name"),
            RequestError::InvalidPath => f.write_str("invalid request path"),
            RequestError::InvalidHeaderValue => f.write_str("invalid header value"),
            RequestError::BufferTooSmall(b) => b.fmt(f),
        }
    }
}

impl core::error::Error for RequestError {}

impl Diagnostic for RequestError {
    fn diag(&self) -> Id {
        match self {
            RequestError::BufferTooSmall(_) => Id::BufferTooSmall,
            _ => Id::InvalidArgument,
        }
    }
}

impl From<BufferTooSmall> for RequestError {
    fn from(b: BufferTooSmall) -> Self {
        RequestError::BufferTooSmall(b)
    }
}

/// Whether `host` is a DNS name or an IP literal safe to put in a request
/// line and a `Host` header.
#[must_use]
pub fn valid_host(host: &str) -> bool {
    let b = host.as_bytes();
    if b.is_empty() || b.len() > crate::limits::MAX_DOMAIN_LEN {
        return false;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !inner.is_empty()
            && inner
                .bytes()
                .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.');
    }
    b.iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_')
        && !host.starts_with('.')
        && !host.starts_with('-')
}

/// Whether `path` is an origin-form request target (`/…`, visible ASCII).
#[must_use]
pub fn valid_path(path: &str) -> bool {
    path.starts_with('/') && path.bytes().all(|c| c.is_ascii_graphic() && c != b'#')
}

fn valid_header_value(v: &[u8]) -> bool {
    v.iter()
        .all(|&c| c == b' ' || c == b'\t' || c.is_ascii_graphic())
}

fn push_authority(w: &mut Writer<'_>, host: &str, port: u16) {
    w.push_str(host);
    w.push_byte(b':');
    w.push_decimal(u64::from(port));
}

/// What [`write_post`] sends, besides the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostRequest<'a> {
    /// Host name (the TLS server name too).
    pub host: &'a str,
    /// TCP port; 443 is left out of the `Host` header.
    pub port: u16,
    /// Origin-form path, e.g. `/common/oauth2/v2.0/token`.
    pub path: &'a str,
    /// Optional `User-Agent` value.
    pub user_agent: Option<&'a str>,
}

/// Write a complete `POST` with a form body into `out`; returns its length.
///
/// `body` is called twice, once to count the octets for `Content-Length`
/// and once to write them, so it must write the same octets both times.
pub fn write_post(
    out: &mut [u8],
    req: &PostRequest<'_>,
    body: impl Fn(&mut Writer<'_>),
) -> Result<usize, RequestError> {
    check_post(req)?;
    let mut w = Writer::new(out);
    emit_post(&mut w, req, &body);
    Ok(w.finish()?)
}

/// [`write_post`] one piece at a time: writes the request's octets from
/// offset `sent` on into `out`, as many as fit, and returns the octets
/// written and the request's whole length. The request is written anew for
/// each piece, so `body` must write the same octets every time.
pub fn write_post_piece(
    out: &mut [u8],
    sent: usize,
    req: &PostRequest<'_>,
    body: impl Fn(&mut Writer<'_>),
) -> Result<(usize, usize), RequestError> {
    check_post(req)?;
    let mut w = Writer::window(out, sent);
    emit_post(&mut w, req, &body);
    Ok((w.written(), w.len()))
}

fn check_post(req: &PostRequest<'_>) -> Result<(), RequestError> {
    if !valid_host(req.host) {
        return Err(RequestError::InvalidHost);
    }
    if !valid_path(req.path) {
        return Err(RequestError::InvalidPath);
    }
    if let Some(ua) = req.user_agent {
        if !valid_header_value(ua.as_bytes()) {
            return Err(RequestError::InvalidHeaderValue);
        }
    }
    Ok(())
}

fn emit_post(w: &mut Writer<'_>, req: &PostRequest<'_>, body: &impl Fn(&mut Writer<'_>)) {
    let mut counter = Writer::counting();
    body(&mut counter);
    let body_len = counter.len();

    w.push(b"POST ");
    w.push_str(req.path);
    w.push(b" HTTP/1.1\r\nHost: ");
    if req.port == 443 {
        w.push_str(req.host);
    } else {
        push_authority(w, req.host, req.port);
    }
    w.push(b"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ");
    w.push_decimal(body_len as u64);
    w.push(b"\r\nAccept: application/json\r\n");
    if let Some(ua) = req.user_agent {
        w.push(b"User-Agent: ");
        w.push_str(ua);
        w.push(b"\r\n");
    }
    w.push(b"Connection: close\r\n\r\n");
    body(w);
}

/// Credentials for a proxy's `Basic` authentication (RFC 7617).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ProxyCredentials<'a> {
    /// User name (no `:`).
    pub user: &'a str,
    /// Password (secret).
    pub password: &'a [u8],
}

impl fmt::Debug for ProxyCredentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyCredentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

fn push_base64(w: &mut Writer<'_>, input: impl Iterator<Item = u8>) {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut group = [0u8; 3];
    let mut n = 0usize;
    let flush = |w: &mut Writer<'_>, group: &[u8]| {
        let mut quad = [0u8; 4];
        if let Ok(k) = engine.encode_slice(group, &mut quad) {
            w.push(quad.get(..k).unwrap_or(&[]));
        }
    };
    for b in input {
        if let Some(slot) = group.get_mut(n) {
            *slot = b;
        }
        n = n.saturating_add(1);
        if n == 3 {
            flush(w, &group);
            n = 0;
        }
    }
    if n > 0 {
        flush(w, group.get(..n).unwrap_or(&[]));
    }
    group.fill(0);
}

/// Write `CONNECT host:port HTTP/1.1` for an HTTP proxy (RFC 9110 §9.3.6).
/// With credentials the request carries a secret: treat the bytes as such.
pub fn write_connect(
    out: &mut [u8],
    host: &str,
    port: u16,
    credentials: Option<ProxyCredentials<'_>>,
    user_agent: Option<&str>,
) -> Result<usize, RequestError> {
    if !valid_host(host) {
        return Err(RequestError::InvalidHost);
    }
    if let Some(c) = credentials {
        if c.user.contains(':') || !valid_header_value(c.user.as_bytes()) {
            return Err(RequestError::InvalidHeaderValue);
        }
    }
    if let Some(ua) = user_agent {
        if !valid_header_value(ua.as_bytes()) {
            return Err(RequestError::InvalidHeaderValue);
        }
    }
    let mut w = Writer::new(out);
    w.push(b"CONNECT ");
    push_authority(&mut w, host, port);
    w.push(b" HTTP/1.1\r\nHost: ");
    push_authority(&mut w, host, port);
    w.push(b"\r\n");
    if let Some(c) = credentials {
        w.push(b"Proxy-Authorization: Basic ");
        let raw = c
            .user
            .bytes()
            .chain(core::iter::once(b':'))
            .chain(c.password.iter().copied());
        push_base64(&mut w, raw);
        w.push(b"\r\n");
    }
    if let Some(ua) = user_agent {
        w.push(b"User-Agent: ");
        w.push_str(ua);
        w.push(b"\r\n");
    }
    w.push(b"\r\n");
    Ok(w.finish()?)
}

// ---------------------------------------------------------------- parse

/// A response could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HttpError {
    /// The status line and headers exceed the head limit or the buffer.
    HeadTooLarge,
    /// The body does not fit the lent buffer, or is longer than the limit
    /// of a streamed body.
    BodyTooLarge {
        /// Capacity of the lent buffer (or the streaming limit), in octets.
        capacity: usize,
    },
    /// The status line or a header is not HTTP/1.x.
    Malformed,
    /// Ambiguous framing (RFC 9112 §6.1, §6.3: request smuggling): both
    /// `Content-Length` and `Transfer-Encoding: chunked`, or chunked on an
    /// HTTP/1.0 response.
    ConflictingFraming,
    /// `Content-Length` is not a number, or two of them differ.
    BadContentLength,
    /// A transfer or content coding other than `chunked`/`identity`.
    UnsupportedCoding,
    /// Chunked framing is broken (size line, CRLF after data, trailers).
    BadChunk,
    /// A chunk size does not fit in 64 bits.
    ChunkSizeOverflow,
    /// The connection closed before the body was complete.
    Truncated,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::HeadTooLarge => f.write_str("HTTP response head too large"),
            HttpError::BodyTooLarge { capacity } => {
                write!(f, "HTTP response body exceeds the {capacity}-octet buffer")
            }
            HttpError::Malformed => f.write_str("malformed HTTP response"),
            HttpError::ConflictingFraming => {
                f.write_str("ambiguous framing: chunked with Content-Length or on HTTP/1.0")
            }
            HttpError::BadContentLength => f.write_str("invalid Content-Length"),
            HttpError::UnsupportedCoding => f.write_str("unsupported transfer or content coding"),
            HttpError::BadChunk => f.write_str("malformed chunked body"),
            HttpError::ChunkSizeOverflow => f.write_str("chunk size overflows"),
            HttpError::Truncated => f.write_str("connection closed before the body ended"),
        }
    }
}

impl core::error::Error for HttpError {}

impl Diagnostic for HttpError {
    fn diag(&self) -> Id {
        match self {
            HttpError::HeadTooLarge | HttpError::BodyTooLarge { .. } => Id::ResponseTooLarge,
            HttpError::Truncated => Id::IoError,
            _ => Id::HttpMalformed,
        }
    }
}

/// What a complete response said (the body is in the lent buffer, or was
/// handed on with [`ResponseParser::feed_to`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Body octets (at the start of the lent buffer, or handed on).
    pub body_len: usize,
    /// `Retry-After` in seconds, when given as a number.
    pub retry_after_secs: Option<u32>,
    /// Whether `Content-Type` says JSON.
    pub json: bool,
}

/// Where the body of a response goes ([`ResponseParser::feed_to`]).
pub trait BodySink {
    /// The next body octets of a response with `status`, in order, after
    /// chunked framing is removed.
    fn body(&mut self, status: u16, data: &[u8]);
    /// A header field of the response, as it is read (a line longer than
    /// the lent buffer, of a field the parser itself does not read, is
    /// skipped unseen). Ignored unless the sink needs one (a mail API's
    /// `Location` and `Range`, R-XPORT).
    fn field(&mut self, _name: &[u8], _value: &[u8]) {}
}

/// Where the parser puts body octets.
trait Dest {
    /// The most body octets accepted.
    fn capacity(&self, buf: &[u8]) -> usize;
    /// A header field of the response (that fit the lent buffer).
    fn field(&mut self, _name: &[u8], _value: &[u8]) {}
    fn put(&mut self, p: &mut ResponseParser, buf: &mut [u8], data: &[u8])
        -> Result<(), HttpError>;
}

/// Into the lent buffer.
struct Store;

impl Dest for Store {
    fn capacity(&self, buf: &[u8]) -> usize {
        buf.len()
    }
    fn put(
        &mut self,
        p: &mut ResponseParser,
        buf: &mut [u8],
        data: &[u8],
    ) -> Result<(), HttpError> {
        p.store(buf, data)
    }
}

/// Handed on, at most `limit` octets.
struct Stream<'s, S> {
    sink: &'s mut S,
    limit: usize,
}

impl<S: BodySink> Dest for Stream<'_, S> {
    fn capacity(&self, _buf: &[u8]) -> usize {
        self.limit
    }
    fn field(&mut self, name: &[u8], value: &[u8]) {
        self.sink.field(name, value);
    }
    fn put(
        &mut self,
        p: &mut ResponseParser,
        _buf: &mut [u8],
        data: &[u8],
    ) -> Result<(), HttpError> {
        let end = p.filled.saturating_add(data.len());
        if end > self.limit {
            return Err(HttpError::BodyTooLarge {
                capacity: self.limit,
            });
        }
        p.filled = end;
        if !data.is_empty() {
            self.sink.body(p.resp.status, data);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size { value: u64, digits: bool },
    Ext,
    SizeLf,
    Data(u64),
    DataCr,
    DataLf,
    TrailerStart,
    TrailerLine,
    TrailerLf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Body(Framing),
    Chunked(Chunk),
    Done,
}

/// Push parser for one HTTP/1.1 response into a caller-lent buffer.
///
/// Feed every received octet with [`ResponseParser::feed`], lending the same
/// buffer each time; call [`ResponseParser::finish`] when the connection
/// closes. Any split of the input gives the same result.
#[derive(Debug, Clone)]
pub struct ResponseParser {
    phase: Phase,
    /// The head read so far (one line held in the buffer at a time).
    head: http_head::Lines,
    /// Body octets assembled (or counted, when streamed).
    filled: usize,
    /// Chunk-extension or trailer octets seen (bounded).
    overhead: usize,
    /// Size of the chunk whose size line is being read.
    chunk_size: u64,
    /// Highest buffer offset ever written (what must be wiped).
    high_water: usize,
    resp: Response,
}

impl Default for ResponseParser {
    fn default() -> Self {
        Self::new()
    }
}

fn hex_digit(b: u8) -> Option<u64> {
    char::from(b).to_digit(16).map(u64::from)
}

/// Where the blank line ending a head is: the index just after it.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(&b) = buf.get(i) {
        if b == b'\n' {
            match (buf.get(i.saturating_add(1)), buf.get(i.saturating_add(2))) {
                (Some(b'\n'), _) => return Some(i.saturating_add(2)),
                (Some(b'\r'), Some(b'\n')) => return Some(i.saturating_add(3)),
                _ => {}
            }
        }
        i = i.saturating_add(1);
    }
    None
}

impl ResponseParser {
    /// A parser waiting for a status line.
    #[must_use]
    pub const fn new() -> Self {
        ResponseParser {
            phase: Phase::Head,
            head: http_head::Lines::new(),
            filled: 0,
            overhead: 0,
            chunk_size: 0,
            high_water: 0,
            resp: Response {
                status: 0,
                body_len: 0,
                retry_after_secs: None,
                json: false,
            },
        }
    }

    /// Forget everything and wait for a new response (the buffer is not
    /// wiped: see [`ResponseParser::wipe`]).
    pub fn reset(&mut self) {
        let high_water = self.high_water;
        *self = Self::new();
        self.high_water = high_water;
    }

    /// Overwrite with zeros every octet of `buf` this parser ever wrote
    /// (response bodies carry tokens), then reset.
    pub fn wipe(&mut self, buf: &mut [u8]) {
        if let Some(used) = buf.get_mut(..self.high_water) {
            zeroize::Zeroize::zeroize(used);
        } else {
            zeroize::Zeroize::zeroize(buf);
        }
        *self = Self::new();
    }

    /// Whether a complete response has been parsed.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Whether no octet of a response has arrived yet.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Head && self.head.is_empty()
    }

    fn store(&mut self, buf: &mut [u8], data: &[u8]) -> Result<(), HttpError> {
        let end = self.filled.saturating_add(data.len());
        let capacity = buf.len();
        let dst = buf
            .get_mut(self.filled..end)
            .ok_or(HttpError::BodyTooLarge { capacity })?;
        dst.copy_from_slice(data);
        self.filled = end;
        self.high_water = self.high_water.max(end);
        Ok(())
    }

    fn complete(&mut self, used: usize) -> Parsed<Response> {
        self.phase = Phase::Done;
        self.resp.body_len = self.filled;
        Parsed::Complete(self.resp, used)
    }

    /// Feed received octets. `buf` is the lent body buffer, the same one on
    /// every call. `Complete(response, consumed)` once the whole response is
    /// in; octets after its end are left unconsumed.
    pub fn feed(&mut self, buf: &mut [u8], input: &[u8]) -> Result<Parsed<Response>, HttpError> {
        self.feed_into(buf, input, &mut Store)
    }

    /// [`ResponseParser::feed`], handing the body to `sink` as it arrives
    /// instead of assembling it: `buf` holds only the head. A body longer
    /// than `limit` octets is [`HttpError::BodyTooLarge`] (at the head when
    /// its `Content-Length` says so).
    pub fn feed_to<S: BodySink>(
        &mut self,
        buf: &mut [u8],
        input: &[u8],
        limit: usize,
        sink: &mut S,
    ) -> Result<Parsed<Response>, HttpError> {
        self.feed_into(buf, input, &mut Stream { sink, limit })
    }

    fn feed_into<D: Dest>(
        &mut self,
        buf: &mut [u8],
        input: &[u8],
        dest: &mut D,
    ) -> Result<Parsed<Response>, HttpError> {
        let mut used = 0usize;
        loop {
            let rest = input.get(used..).unwrap_or(&[]);
            match self.phase {
                Phase::Done => return Ok(Parsed::Complete(self.resp, used)),
                Phase::Head => {
                    if rest.is_empty() {
                        return Ok(Parsed::Partial);
                    }
                    let (n, written, head) =
                        self.head.step(buf, rest, &mut |n, v| dest.field(n, v))?;
                    self.high_water = self.high_water.max(written);
                    used = used.saturating_add(n);
                    let Some(h) = head else {
                        continue;
                    };
                    if (100..=199).contains(&h.status) {
                        // An interim response: the real one follows.
                        continue;
                    }
                    self.resp = Response {
                        status: h.status,
                        body_len: 0,
                        retry_after_secs: h.retry_after_secs,
                        json: h.json,
                    };
                    if let Framing::Length(n) = h.framing {
                        let capacity = dest.capacity(buf);
                        if n > capacity as u64 {
                            return Err(HttpError::BodyTooLarge { capacity });
                        }
                    }
                    self.phase = match h.framing {
                        Framing::Length(0) => return Ok(self.complete(used)),
                        Framing::Chunked => Phase::Chunked(Chunk::Size {
                            value: 0,
                            digits: false,
                        }),
                        f => Phase::Body(f),
                    };
                }
                Phase::Body(Framing::Length(remaining)) => {
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(rest.len());
                    dest.put(self, buf, rest.get(..n).unwrap_or(&[]))?;
                    used = used.saturating_add(n);
                    let left = remaining.saturating_sub(n as u64);
                    if left == 0 {
                        return Ok(self.complete(used));
                    }
                    self.phase = Phase::Body(Framing::Length(left));
                    return Ok(Parsed::Partial);
                }
                Phase::Body(_) => {
                    dest.put(self, buf, rest)?;
                    return Ok(Parsed::Partial);
                }
                Phase::Chunked(state) => {
                    if rest.is_empty() {
                        return Ok(Parsed::Partial);
                    }
                    let (n, next) = self.chunk_step(buf, state, rest, dest)?;
                    used = used.saturating_add(n);
                    match next {
                        Some(s) => self.phase = Phase::Chunked(s),
                        None => return Ok(self.complete(used)),
                    }
                }
            }
        }
    }

    /// One step of the chunked decoder: octets consumed and the next state
    /// (`None` when the body ended).
    fn chunk_step<D: Dest>(
        &mut self,
        buf: &mut [u8],
        state: Chunk,
        rest: &[u8],
        dest: &mut D,
    ) -> Result<(usize, Option<Chunk>), HttpError> {
        let capacity = dest.capacity(buf);
        if let Chunk::Data(remaining) = state {
            let n = usize::try_from(remaining)
                .unwrap_or(usize::MAX)
                .min(rest.len());
            dest.put(self, buf, rest.get(..n).unwrap_or(&[]))?;
            let left = remaining.saturating_sub(n as u64);
            return Ok((
                n,
                Some(if left == 0 {
                    Chunk::DataCr
                } else {
                    Chunk::Data(left)
                }),
            ));
        }
        let b = *rest.first().ok_or(HttpError::BadChunk)?;
        let next = match state {
            Chunk::Size { value, digits } => {
                if let Some(d) = hex_digit(b) {
                    let v = value
                        .checked_mul(16)
                        .and_then(|v| v.checked_add(d))
                        .ok_or(HttpError::ChunkSizeOverflow)?;
                    Chunk::Size {
                        value: v,
                        digits: true,
                    }
                } else if !digits {
                    return Err(HttpError::BadChunk);
                } else {
                    self.overhead = 0;
                    match b {
                        b';' | b' ' | b'\t' => {
                            self.chunk_size = value;
                            Chunk::Ext
                        }
                        b'\r' => {
                            self.chunk_size = value;
                            Chunk::SizeLf
                        }
                        b'\n' => self.size_done(capacity, value)?,
                        _ => return Err(HttpError::BadChunk),
                    }
                }
            }
            Chunk::Ext => match b {
                b'\r' => Chunk::SizeLf,
                b'\n' => self.size_done(capacity, self.chunk_size)?,
                _ => {
                    self.overhead = self.overhead.saturating_add(1);
                    if self.overhead > MAX_CHUNK_EXT_LEN {
                        return Err(HttpError::BadChunk);
                    }
                    Chunk::Ext
                }
            },
            Chunk::SizeLf => match b {
                b'\n' => self.size_done(capacity, self.chunk_size)?,
                _ => return Err(HttpError::BadChunk),
            },
            Chunk::DataCr => match b {
                b'\r' => Chunk::DataLf,
                b'\n' => Chunk::Size {
                    value: 0,
                    digits: false,
                },
                _ => return Err(HttpError::BadChunk),
            },
            Chunk::DataLf => match b {
                b'\n' => Chunk::Size {
                    value: 0,
                    digits: false,
                },
                _ => return Err(HttpError::BadChunk),
            },
            Chunk::TrailerStart => match b {
                b'\r' => Chunk::TrailerLf,
                b'\n' => return Ok((1, None)),
                _ => self.trailer_octet()?,
            },
            Chunk::TrailerLine => match b {
                b'\n' => Chunk::TrailerStart,
                _ => self.trailer_octet()?,
            },
            Chunk::TrailerLf => match b {
                b'\n' => return Ok((1, None)),
                _ => return Err(HttpError::BadChunk),
            },
            Chunk::Data(_) => return Err(HttpError::BadChunk),
        };
        Ok((1, Some(next)))
    }

    fn trailer_octet(&mut self) -> Result<Chunk, HttpError> {
        self.overhead = self.overhead.saturating_add(1);
        if self.overhead > MAX_HTTP_HEAD_LEN {
            return Err(HttpError::HeadTooLarge);
        }
        Ok(Chunk::TrailerLine)
    }

    fn size_done(&mut self, capacity: usize, size: u64) -> Result<Chunk, HttpError> {
        self.overhead = 0;
        if size == 0 {
            return Ok(Chunk::TrailerStart);
        }
        if size > capacity.saturating_sub(self.filled) as u64 {
            return Err(HttpError::BodyTooLarge { capacity });
        }
        Ok(Chunk::Data(size))
    }

    /// The connection closed: complete a close-delimited body, or report
    /// what is missing.
    pub fn finish(&mut self) -> Result<Response, HttpError> {
        match self.phase {
            Phase::Done => Ok(self.resp),
            Phase::Body(Framing::Close) => match self.complete(0) {
                Parsed::Complete(r, _) => Ok(r),
                Parsed::Partial => Err(HttpError::Truncated),
            },
            _ => Err(HttpError::Truncated),
        }
    }
}

// ---------------------------------------------------------------- CONNECT reply

/// The head of a proxy's answer to `CONNECT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConnectReply {
    /// Status code: 2xx means the tunnel is open.
    pub status: u16,
}

impl ConnectReply {
    /// Whether the tunnel is open.
    #[must_use]
    pub const fn is_established(&self) -> bool {
        self.status >= 200 && self.status <= 299
    }

    /// Whether the proxy wants (other) credentials.
    #[must_use]
    pub const fn needs_auth(&self) -> bool {
        self.status == 407
    }
}

/// Parse a proxy's reply to `CONNECT` from the octets received so far.
/// `Complete(reply, n)`: the head took `n` octets; on 2xx everything after
/// them belongs to the tunnel (the TLS handshake).
pub fn parse_connect_reply(input: &[u8]) -> Result<Parsed<ConnectReply>, HttpError> {
    let window = input.get(..MAX_HTTP_HEAD_LEN).unwrap_or(input);
    match head_end(window, 0) {
        None if input.len() >= MAX_HTTP_HEAD_LEN => Err(HttpError::HeadTooLarge),
        None => Ok(Parsed::Partial),
        Some(end) => {
            let h = http_head::parse_whole(window.get(..end).unwrap_or(&[]))?;
            Ok(Parsed::Complete(ConnectReply { status: h.status }, end))
        }
    }
}

/// Parse the head of a request that the browser sends to the loopback
/// redirect listener; answers the request-target (`/?code=…&state=…`) of a
/// `GET`. Other methods are [`HttpError::Malformed`].
pub fn parse_redirect_request(input: &[u8]) -> Result<Parsed<&[u8]>, HttpError> {
    let window = input.get(..MAX_HTTP_HEAD_LEN).unwrap_or(input);
    let Some(end) = head_end(window, 0) else {
        if input.len() >= MAX_HTTP_HEAD_LEN {
            return Err(HttpError::HeadTooLarge);
        }
        return Ok(Parsed::Partial);
    };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HTTP_HEADERS];
    let mut r = httparse::Request::new(&mut headers);
    match r.parse(window.get(..end).unwrap_or(&[])) {
        Ok(httparse::Status::Complete(_)) => {}
        Err(httparse::Error::TooManyHeaders) => return Err(HttpError::HeadTooLarge),
        _ => return Err(HttpError::Malformed),
    }
    if r.method != Some("GET") {
        return Err(HttpError::Malformed);
    }
    let target = r.path.ok_or(HttpError::Malformed)?;
    Ok(Parsed::Complete(target.as_bytes(), end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::form::{Pairs, Style};

    fn feed_all(input: &[u8], buf: &mut [u8]) -> Result<Parsed<Response>, HttpError> {
        let mut p = ResponseParser::new();
        p.feed(buf, input)
    }

    #[test]
    fn post_has_every_header_and_the_exact_content_length() {
        let mut out = [0u8; 512];
        let req = PostRequest {
            host: "server.example.com",
            port: 443,
            path: "/device_authorization",
            user_agent: None,
        };
        let n = write_post(&mut out, &req, |w| {
            Pairs::new(w, Style::Form)
                .pair("client_id", b"1406020730")
                .pair("scope", b"example_scope");
        })
        .unwrap();
        assert_eq!(
            core::str::from_utf8(&out[..n]).unwrap(),
            "POST /device_authorization HTTP/1.1\r\nHost: server.example.com\r\n\
Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\
Accept: application/json\r\nConnection: close\r\n\r\n\
client_id=1406020730&scope=example_scope"
        );
    }

    #[test]
    fn post_reports_the_size_it_needs_and_refuses_injection() {
        let req = PostRequest {
            host: "h.example",
            port: 8443,
            path: "/t",
            user_agent: Some("mfp-oauth/0.1"),
        };
        let mut big = [0u8; 512];
        let n = write_post(&mut big, &req, |w| w.push(b"a=b")).unwrap();
        assert!(big[..n].windows(20).any(|x| x == b"Host: h.example:8443"));
        assert!(big[..n]
            .windows(27)
            .any(|x| x == b"User-Agent: mfp-oauth/0.1\r\n"));
        let mut small = [0u8; 10];
        assert_eq!(
            write_post(&mut small, &req, |w| w.push(b"a=b")),
            Err(RequestError::BufferTooSmall(BufferTooSmall { needed: n }))
        );
        let bad_host = PostRequest {
            host: "h\r\nX: y",
            ..req
        };
        assert_eq!(
            write_post(&mut big, &bad_host, |_| {}),
            Err(RequestError::InvalidHost)
        );
        let bad_path = PostRequest {
            path: "/a b",
            ..req
        };
        assert_eq!(
            write_post(&mut big, &bad_path, |_| {}),
            Err(RequestError::InvalidPath)
        );
        let bad_ua = PostRequest {
            user_agent: Some("x\r\n"),
            ..req
        };
        assert_eq!(
            write_post(&mut big, &bad_ua, |_| {}),
            Err(RequestError::InvalidHeaderValue)
        );
    }

    #[test]
    fn connect_with_and_without_basic_credentials() {
        let mut out = [0u8; 256];
        let n = write_connect(&mut out, "login.microsoftonline.com", 443, None, None).unwrap();
        assert_eq!(
            &out[..n],
            b"CONNECT login.microsoftonline.com:443 HTTP/1.1\r\nHost: login.microsoftonline.com:443\r\n\r\n"
        );
        // RFC 7617 §2 example: Aladdin / open sesame.
        let creds = ProxyCredentials {
            user: "Aladdin",
            password: b"open sesame",
        };
        let n = write_connect(&mut out, "oauth2.googleapis.com", 443, Some(creds), None).unwrap();
        let text = core::str::from_utf8(&out[..n]).unwrap();
        assert!(text.contains("\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
        assert!(!format!("{creds:?}").contains("sesame"));
        let colon = ProxyCredentials {
            user: "a:b",
            password: b"",
        };
        assert_eq!(
            write_connect(&mut out, "h", 443, Some(colon), None),
            Err(RequestError::InvalidHeaderValue)
        );
    }

    #[test]
    fn connect_replies() {
        let ok = b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03";
        assert_eq!(
            parse_connect_reply(ok),
            Ok(Parsed::Complete(ConnectReply { status: 200 }, ok.len() - 3))
        );
        let auth = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n";
        let Ok(Parsed::Complete(r, _)) = parse_connect_reply(auth) else {
            panic!()
        };
        assert!(r.needs_auth() && !r.is_established());
        assert_eq!(
            parse_connect_reply(b"HTTP/1.1 200 OK\r\n"),
            Ok(Parsed::Partial)
        );
        assert_eq!(
            parse_connect_reply(b"SMTP 220 hello\r\n\r\n"),
            Err(HttpError::Malformed)
        );
        assert_eq!(
            parse_connect_reply(&[b'a'; MAX_HTTP_HEAD_LEN + 1]),
            Err(HttpError::HeadTooLarge)
        );
    }

    #[test]
    fn content_length_body() {
        let mut buf = [0u8; 128];
        let input = b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}extra";
        let r = feed_all(input, &mut buf).unwrap();
        let Parsed::Complete(resp, used) = r else {
            panic!()
        };
        assert_eq!(resp.status, 200);
        assert!(resp.json);
        assert_eq!(&buf[..resp.body_len], b"{}");
        assert_eq!(used, input.len() - 5);
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers() {
        let mut buf = [0u8; 128];
        let input =
            b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nRetry-After: 30\r\n\r\n\
5;name=\"v;al\"\r\nhello\r\n000006 \r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
        let Parsed::Complete(resp, used) = feed_all(input, &mut buf).unwrap() else {
            panic!()
        };
        assert_eq!(used, input.len());
        assert_eq!(resp.status, 400);
        assert_eq!(resp.retry_after_secs, Some(30));
        assert_eq!(&buf[..resp.body_len], b"hello world");
    }

    #[test]
    fn framing_errors() {
        let mut buf = [0u8; 128];
        let cases: &[(&[u8], HttpError)] = &[
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
                HttpError::ConflictingFraming,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
                HttpError::BadContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                HttpError::BadContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 129\r\n\r\n",
                HttpError::BodyTooLarge { capacity: 128 },
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                HttpError::UnsupportedCoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n",
                HttpError::UnsupportedCoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
                HttpError::ChunkSizeOverflow,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                HttpError::BadChunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX",
                HttpError::BadChunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n81\r\n",
                HttpError::BodyTooLarge { capacity: 128 },
            ),
            (b"HTTX/1.1 200 OK\r\n\r\n", HttpError::Malformed),
        ];
        for (input, err) in cases {
            assert_eq!(feed_all(input, &mut buf), Err(*err), "{input:?}");
        }
    }

    #[test]
    fn a_long_line_of_a_field_not_read_is_skipped() {
        // The buffer holds one line; a cookie longer than it is dropped
        // (R-MEM) and the fields read still count, in any split.
        let mut input = b"HTTP/1.1 200 OK\r\nSet-Cookie: ".to_vec();
        input.extend([b'c'; 300]);
        input.extend(b"\r\nContent-Length: 3\r\nContent-Type: application/json\r\n\r\nabc");
        for step in [1, 7, input.len()] {
            let mut buf = [0u8; 48];
            let mut p = ResponseParser::new();
            let mut got = None;
            for part in input.chunks(step) {
                if let Parsed::Complete(r, _) = p.feed(&mut buf, part).unwrap() {
                    got = Some(r);
                }
            }
            let r = got.expect("complete");
            assert_eq!(
                (r.status, r.body_len, r.json),
                (200, 3, true),
                "step {step}"
            );
            assert_eq!(&buf[..3], b"abc");
        }
    }

    #[test]
    fn a_line_too_long_for_the_buffer_is_refused_when_its_field_is_read() {
        let mut buf = [0u8; 48];
        let mut long_type = b"HTTP/1.1 200 OK\r\nContent-Type: application/json; x=".to_vec();
        long_type.extend([b'a'; 60]);
        long_type.extend(b"\r\n\r\n");
        assert_eq!(feed_all(&long_type, &mut buf), Err(HttpError::HeadTooLarge));
        let mut long_status = b"HTTP/1.1 200 ".to_vec();
        long_status.extend([b'o'; 60]);
        long_status.extend(b"\r\n\r\n");
        assert_eq!(
            feed_all(&long_status, &mut buf),
            Err(HttpError::HeadTooLarge)
        );
        // A name that does not fit is refused, a bad one is malformed.
        let mut long_name = b"HTTP/1.1 200 OK\r\n".to_vec();
        long_name.extend([b'n'; 60]);
        long_name.extend(b": v\r\n\r\n");
        assert_eq!(feed_all(&long_name, &mut buf), Err(HttpError::HeadTooLarge));
        let mut bad_name = b"HTTP/1.1 200 OK\r\nBad Name: ".to_vec();
        bad_name.extend([b'v'; 60]);
        bad_name.extend(b"\r\n\r\n");
        assert_eq!(feed_all(&bad_name, &mut buf), Err(HttpError::Malformed));
    }

    #[test]
    fn the_whole_head_stays_bounded_when_lines_are_skipped() {
        // Skipped lines still count towards the head's limit.
        let mut buf = [0u8; 64];
        let mut input = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
        input.extend([b'p'; MAX_HTTP_HEAD_LEN]);
        input.extend(b"\r\n\r\n");
        assert_eq!(feed_all(&input, &mut buf), Err(HttpError::HeadTooLarge));
        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for _ in 0..=MAX_HTTP_HEADERS {
            many.extend(b"X-A: 1\r\n");
        }
        many.extend(b"\r\n");
        assert_eq!(feed_all(&many, &mut buf), Err(HttpError::HeadTooLarge));
    }

    #[test]
    fn close_delimited_body_and_truncation() {
        let mut buf = [0u8; 64];
        let mut p = ResponseParser::new();
        assert_eq!(
            p.feed(&mut buf, b"HTTP/1.0 503 Busy\r\n\r\nlater"),
            Ok(Parsed::Partial)
        );
        let r = p.finish().unwrap();
        assert_eq!((r.status, &buf[..r.body_len]), (503, &b"later"[..]));
        let mut p = ResponseParser::new();
        assert_eq!(
            p.feed(&mut buf, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"),
            Ok(Parsed::Partial)
        );
        assert_eq!(p.finish(), Err(HttpError::Truncated));
    }

    #[test]
    fn interim_responses_are_skipped() {
        let mut buf = [0u8; 64];
        let Parsed::Complete(r, _) = feed_all(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            &mut buf,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!((r.status, r.body_len), (204, 0));
    }

    #[test]
    fn wipe_zeroes_what_was_written() {
        let mut buf = [0u8; 64];
        let mut p = ResponseParser::new();
        p.feed(&mut buf, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
            .unwrap();
        p.wipe(&mut buf);
        assert_eq!(buf, [0u8; 64]);
        assert!(p.is_idle());
    }

    #[test]
    fn redirect_request_target() {
        let req = b"GET /?code=abc&state=xyz HTTP/1.1\r\nHost: 127.0.0.1:8400\r\n\r\n";
        assert_eq!(
            parse_redirect_request(req),
            Ok(Parsed::Complete(&b"/?code=abc&state=xyz"[..], req.len()))
        );
        assert_eq!(
            parse_redirect_request(b"POST / HTTP/1.1\r\n\r\n"),
            Err(HttpError::Malformed)
        );
        assert_eq!(
            parse_redirect_request(b"GET / HTTP/1.1\r\n"),
            Ok(Parsed::Partial)
        );
    }

    fn split_feed(input: &[u8], cuts: &[usize]) -> (Result<Response, HttpError>, Vec<u8>) {
        let mut buf = [0u8; 256];
        let mut p = ResponseParser::new();
        let mut start = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.push(input.len());
        for c in cuts {
            if c < start {
                continue;
            }
            match p.feed(&mut buf, &input[start..c]) {
                Ok(Parsed::Complete(r, _)) => return (Ok(r), buf[..r.body_len].to_vec()),
                Ok(Parsed::Partial) => {}
                Err(e) => return (Err(e), Vec::new()),
            }
            start = c;
        }
        match p.finish() {
            Ok(r) => (Ok(r), buf[..r.body_len].to_vec()),
            Err(e) => (Err(e), Vec::new()),
        }
    }

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
19\r\n{\"access_token\":\"ya29.a0A\r\n7;x=1\r\nbc\",\"ex\r\n11\r\npires_in\":3599}\r\n\r\n0\r\n\r\n";

    #[test]
    fn chunked_split_at_every_byte_boundary_gives_the_same_body() {
        let (whole, body) = split_feed(CHUNKED, &[]);
        let whole = whole.unwrap();
        assert_eq!(
            body,
            b"{\"access_token\":\"ya29.a0Abc\",\"expires_in\":3599}\r\n"
        );
        for cut in 0..=CHUNKED.len() {
            assert_eq!(
                split_feed(CHUNKED, &[cut]),
                (Ok(whole), body.clone()),
                "cut {cut}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_chunking_gives_the_same_result(cuts in proptest::collection::vec(0usize..200, 0..12)) {
            let reference = split_feed(CHUNKED, &[]);
            proptest::prop_assert_eq!(split_feed(CHUNKED, &cuts), reference);
        }

        #[test]
        fn arbitrary_input_never_panics(input in proptest::collection::vec(proptest::num::u8::ANY, 0..300), cuts in proptest::collection::vec(0usize..300, 0..6)) {
            let _ = split_feed(&input, &cuts);
            let _ = parse_connect_reply(&input);
            let _ = parse_redirect_request(&input);
        }
    }
}
