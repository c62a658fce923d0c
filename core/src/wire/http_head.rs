//! A response head read one line at a time (R-MEM).
//!
//! The token endpoints' heads carry about 1.2 KB of cookies and telemetry
//! the client never reads. Holding a whole head needs a buffer the size of
//! the largest head ([`MAX_HTTP_HEAD_LEN`]); holding one line needs only the
//! longest line of a field the client reads (a few dozen octets), so the
//! lent buffer is [`crate::limits::OAUTH_RESPONSE_BUF_LEN`] octets. Each line
//! is still checked by `httparse` (status line, header syntax); a line
//! longer than the buffer is skipped to its end when its field is one the
//! client does not read, and refused when it is one it reads.

use super::http::HttpError;
use crate::limits::{MAX_HTTP_HEADERS, MAX_HTTP_HEAD_LEN};

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// `Content-Length` octets.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Up to the close of the connection.
    Close,
}

/// What the parser keeps of a response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Head {
    pub(super) status: u16,
    pub(super) framing: Framing,
    pub(super) retry_after_secs: Option<u32>,
    pub(super) json: bool,
}

/// The header fields the client reads, gathered as they come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fields {
    length: Option<u64>,
    chunked: bool,
    retry_after_secs: Option<u32>,
    json: bool,
}

/// Fields whose value the client reads: a line of one of them must fit the
/// buffer whole.
const READ_FIELDS: [&[u8]; 5] = [
    b"content-length",
    b"transfer-encoding",
    b"content-encoding",
    b"retry-after",
    b"content-type",
];

impl Fields {
    pub(super) const fn new() -> Self {
        Fields {
            length: None,
            chunked: false,
            retry_after_secs: None,
            json: false,
        }
    }

    /// Take in one header field.
    pub(super) fn apply(&mut self, name: &[u8], value: &[u8]) -> Result<(), HttpError> {
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_decimal(value).ok_or(HttpError::BadContentLength)?;
            if self.length.is_some_and(|old| old != n) {
                return Err(HttpError::BadContentLength);
            }
            self.length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            for coding in value.split(|&c| c == b',').map(trim) {
                if coding.eq_ignore_ascii_case(b"chunked") && !self.chunked {
                    self.chunked = true;
                } else if !coding.is_empty() {
                    // gzip and friends were not asked for (no TE header sent).
                    return Err(HttpError::UnsupportedCoding);
                }
            }
        } else if name.eq_ignore_ascii_case(b"content-encoding") {
            let v = trim(value);
            if !v.is_empty() && !v.eq_ignore_ascii_case(b"identity") {
                return Err(HttpError::UnsupportedCoding);
            }
        } else if name.eq_ignore_ascii_case(b"retry-after") {
            self.retry_after_secs =
                parse_decimal(value).map(|s| u32::try_from(s).unwrap_or(u32::MAX));
        } else if name.eq_ignore_ascii_case(b"content-type") {
            let v = trim(value);
            let media = v.split(|&c| c == b';').next().map(trim).unwrap_or(&[]);
            self.json = starts_with_ignore_case(media, b"application/json")
                || media.len() >= 5
                    && media
                        .get(media.len().saturating_sub(5)..)
                        .is_some_and(|s| s.eq_ignore_ascii_case(b"+json"));
        }
        Ok(())
    }

    /// The head, once its blank line is read: `version` is the minor
    /// version of the status line (`0` for HTTP/1.0).
    pub(super) fn finish(self, status: u16, version: u8) -> Result<Head, HttpError> {
        // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has
        // faulty framing, whatever else it says.
        if self.chunked && version == 0 {
            return Err(HttpError::ConflictingFraming);
        }
        let framing = if matches!(status, 100..=199 | 204 | 304) {
            Framing::Length(0)
        } else {
            match (self.chunked, self.length) {
                (true, Some(_)) => return Err(HttpError::ConflictingFraming),
                (true, None) => Framing::Chunked,
                (false, Some(n)) => Framing::Length(n),
                (false, None) => Framing::Close,
            }
        };
        Ok(Head {
            status,
            framing,
            retry_after_secs: self.retry_after_secs,
            json: self.json,
        })
    }
}

/// Parse a whole head (a proxy's `CONNECT` reply, read from the caller's
/// input where it already lies whole).
pub(super) fn parse_whole(head: &[u8]) -> Result<Head, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HTTP_HEADERS];
    let mut r = httparse::Response::new(&mut headers);
    match r.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HttpError::Malformed),
        Err(httparse::Error::TooManyHeaders) => return Err(HttpError::HeadTooLarge),
        Err(_) => return Err(HttpError::Malformed),
    }
    let status = r.code.ok_or(HttpError::Malformed)?;
    let mut fields = Fields::new();
    for h in r.headers.iter() {
        fields.apply(h.name.as_bytes(), h.value)?;
    }
    fields.finish(status, r.version.unwrap_or(1))
}

/// The head read so far, a line at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Lines {
    /// Status code and minor version, once the status line is read.
    status: Option<(u16, u8)>,
    fields: Fields,
    /// Octets of the head so far (at most [`MAX_HTTP_HEAD_LEN`]).
    total: usize,
    /// Header lines so far (at most [`MAX_HTTP_HEADERS`]).
    headers: usize,
    /// Octets of the current line held at the start of the buffer.
    held: usize,
    /// The current line is too long for the buffer and its field is not
    /// read: its octets are dropped up to its LF.
    skipping: bool,
}

impl Lines {
    pub(super) const fn new() -> Self {
        Lines {
            status: None,
            fields: Fields::new(),
            total: 0,
            headers: 0,
            held: 0,
            skipping: false,
        }
    }

    /// Whether no octet of the head has arrived.
    pub(super) const fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Read head octets from `input` (not empty), holding at most one line
    /// in `buf`. Returns the octets used, the highest buffer offset
    /// written, and the head once its blank line is in; a line ends with
    /// its LF, so nothing after the head is used.
    pub(super) fn step(
        &mut self,
        buf: &mut [u8],
        input: &[u8],
        seen: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<(usize, usize, Option<Head>), HttpError> {
        let lf = input.iter().position(|&b| b == b'\n');
        let take = lf.map_or(input.len(), |i| i.saturating_add(1));
        let total = self.total.saturating_add(take);
        if total > MAX_HTTP_HEAD_LEN {
            return Err(HttpError::HeadTooLarge);
        }
        self.total = total;
        if self.skipping {
            self.skipping = lf.is_none();
            return Ok((take, 0, None));
        }
        let chunk = input.get(..take).unwrap_or(&[]);
        // The line, and the CRLF appended for `httparse`, must fit.
        let limit = buf.len().min(MAX_HTTP_HEAD_LEN).saturating_sub(2);
        let end = self.held.saturating_add(take);
        if end > limit {
            let written = self.too_long(buf, chunk, limit)?;
            self.skipping = lf.is_none();
            return Ok((take, written, None));
        }
        if let Some(dst) = buf.get_mut(self.held..end) {
            dst.copy_from_slice(chunk);
        }
        self.held = end;
        if lf.is_none() {
            return Ok((take, end, None));
        }
        let head = self.line(buf, seen)?;
        Ok((take, end.saturating_add(2), head))
    }

    /// A complete line of `held` octets (its LF included) is in `buf`.
    fn line(
        &mut self,
        buf: &mut [u8],
        seen: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<Option<Head>, HttpError> {
        let len = self.held;
        self.held = 0;
        let Some(crlf) = buf.get_mut(len..len.saturating_add(2)) else {
            return Err(HttpError::HeadTooLarge);
        };
        crlf.copy_from_slice(b"\r\n");
        let text = buf.get(..len.saturating_add(2)).unwrap_or(&[]);
        let Some((status, version)) = self.status else {
            let mut none = [];
            let mut r = httparse::Response::new(&mut none);
            match r.parse(text) {
                Ok(httparse::Status::Complete(_)) => {}
                _ => return Err(HttpError::Malformed),
            }
            let status = r.code.ok_or(HttpError::Malformed)?;
            self.status = Some((status, r.version.unwrap_or(1)));
            return Ok(None);
        };
        let line = text.get(..len).unwrap_or(&[]);
        if line == b"\r\n" || line == b"\n" {
            let head = self.fields.finish(status, version)?;
            *self = Lines::new();
            return Ok(Some(head));
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            // Line folding (obs-fold) is refused, as `httparse` does.
            return Err(HttpError::Malformed);
        }
        self.count_header()?;
        let mut one = [httparse::EMPTY_HEADER; 1];
        match httparse::parse_headers(text, &mut one) {
            Ok(httparse::Status::Complete((_, [h]))) => {
                self.fields.apply(h.name.as_bytes(), h.value)?;
                seen(h.name.as_bytes(), h.value);
                Ok(None)
            }
            _ => Err(HttpError::Malformed),
        }
    }

    /// The current line does not fit: keep what fits to learn its field's
    /// name, refuse it if the field is read, else drop the line. Returns
    /// the highest buffer offset written.
    fn too_long(&mut self, buf: &mut [u8], chunk: &[u8], limit: usize) -> Result<usize, HttpError> {
        if self.status.is_none() {
            return Err(HttpError::HeadTooLarge);
        }
        let room = limit.saturating_sub(self.held);
        let part = chunk.get(..room.min(chunk.len())).unwrap_or(&[]);
        let end = self.held.saturating_add(part.len());
        if let Some(dst) = buf.get_mut(self.held..end) {
            dst.copy_from_slice(part);
        }
        self.held = 0;
        let held = buf.get(..end).unwrap_or(&[]);
        let colon = held.iter().position(|&b| b == b':');
        let name = colon
            .and_then(|c| held.get(..c))
            .ok_or(HttpError::HeadTooLarge)?;
        if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
            return Err(HttpError::Malformed);
        }
        if READ_FIELDS.iter().any(|f| name.eq_ignore_ascii_case(f)) {
            return Err(HttpError::HeadTooLarge);
        }
        self.count_header()?;
        Ok(end)
    }

    fn count_header(&mut self) -> Result<(), HttpError> {
        self.headers = self.headers.saturating_add(1);
        if self.headers > MAX_HTTP_HEADERS {
            return Err(HttpError::HeadTooLarge);
        }
        Ok(())
    }
}

/// A `tchar` of RFC 9110 §5.6.2.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

pub(super) fn parse_decimal(v: &[u8]) -> Option<u64> {
    let v = trim(v);
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    v.iter().try_fold(0u64, |n, &c| {
        c.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(u64::from(c - b'0')))
            .flatten()
    })
}

pub(super) fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e.saturating_add(1));
    v.get(start..end).unwrap_or(&[])
}

fn starts_with_ignore_case(v: &[u8], prefix: &[u8]) -> bool {
    v.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}
