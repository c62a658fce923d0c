//! Graph's path for a message over one `sendMail` request (R-XPORT): a
//! draft from the MIME message without its large attachments, an upload
//! session per large attachment (its raw octets in ranged `PUT`s of at
//! most [`UPLOAD_CHUNK`] to a pre-authenticated URL, often on another
//! host, with no `Authorization`), then `send`.
//!
//! The message is never held: each request reads it again from its first
//! octet and takes only what it carries. A first pass (no request) surveys
//! it ([`super::layout`]): where each large attachment lies, its name and
//! size. The draft's pass base64-encodes the message without those parts;
//! each chunk's pass decodes its range out of the part's base64.
//!
//! What Graph answers is read as it arrives into the few members used:
//! the draft's `id`, the session's `uploadUrl` and the first of
//! `nextExpectedRanges`. The upload URL is a credential of its own (its
//! `authtoken`): never in a Debug print, only its length.

use heapless::String;

use super::layout::{Layout, Survey, UploadPart};
use crate::secret::SecretBuf;
use crate::wire::json::JsonError;
use crate::wire::json_stream::{text, Ev, Scanner, Sink};
use crate::wire::writer::Writer;

/// The largest message sent through upload sessions: Exchange Online's
/// largest message (150 MB), which is also the most one attachment may be.
pub const GRAPH_MAX_MESSAGE: u64 = 150 * 1024 * 1024;
/// Raw octets of one upload `PUT`: under Graph's 4 MB per request, and a
/// whole number of base64 lines (57 octets each), so that a chunk starts
/// at a line of the part's base64.
pub const UPLOAD_CHUNK: u64 = 57 * 64_000;
/// Longest draft id kept (Graph's are about 150 characters).
pub const MAX_DRAFT_ID_LEN: usize = 256;
/// Longest upload URL kept (its `authtoken` is a signed token of about a
/// thousand characters).
pub const UPLOAD_URL_LEN: usize = 2048;

/// Raw octets per base64 line of the composer.
const LINE_RAW: u64 = 57;
/// Octets per base64 line of the composer, CRLF included.
const LINE_WIRE: u64 = 78;

/// Which request of the path is next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Read the message once, sending nothing: the layout.
    Survey,
    /// `POST …/messages`: the draft, without the upload parts.
    Draft,
    /// `POST …/messages/{id}/attachments/createUploadSession` for the
    /// current part (3 MB or more).
    Create,
    /// `POST …/messages/{id}/attachments`: the current part (under 3 MB)
    /// whole, its base64 in a `fileAttachment`'s `contentBytes`.
    Attach,
    /// `PUT {uploadUrl}`: the next range of the current part.
    Chunk,
    /// `GET {uploadUrl}`: what the server has of the current part (after
    /// a lost connection).
    Query,
    /// `POST …/messages/{id}/send`.
    Send,
}

/// Which member of an answer is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    Other,
    Id,
    Url,
    Ranges,
}

/// The path's place, kept across connections until the job ends.
pub(super) struct GraphUpload {
    /// The message's size it is for (0: none).
    pub(super) size: u64,
    pub(super) phase: Phase,
    /// The survey while it reads, then what it found (lent by it: the
    /// layout is never moved, R-MEM).
    survey: Survey,
    /// The draft's id (empty: not created).
    pub(super) id: String<MAX_DRAFT_ID_LEN>,
    /// The current part (index into the layout's parts).
    pub(super) part: usize,
    /// The current part's upload URL, whole (empty: no session yet): a
    /// credential of its own (its `authtoken`), wiped when cleared.
    pub(super) url: SecretBuf<UPLOAD_URL_LEN>,
    /// Raw octets of the current part the server has.
    pub(super) committed: u64,
    /// The first of `nextExpectedRanges` read (its start), `Some(None)`
    /// for an empty list (the part is complete).
    pub(super) next: Option<Option<u64>>,
    /// A member was longer than its place: the answer is not usable.
    pub(super) overflow: bool,
    /// The next request's connection was asked for by the path itself
    /// (not after a lost one, when a chunk first asks what the server
    /// has).
    pub(super) planned: bool,
    scanner: Scanner,
    member: Member,
    /// Elements of `nextExpectedRanges` begun.
    element: u8,
    /// The digits of the first range's start are still being read.
    digits: bool,
}

impl core::fmt::Debug for GraphUpload {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GraphUpload")
            .field("size", &self.size)
            .field("phase", &self.phase)
            .field("survey", &self.survey)
            .field("id_len", &self.id.len())
            .field("part", &self.part)
            .field("url_len", &self.url.len())
            .field("committed", &self.committed)
            .finish_non_exhaustive()
    }
}

impl GraphUpload {
    pub(super) const fn new() -> Self {
        GraphUpload {
            size: 0,
            phase: Phase::Survey,
            survey: Survey::new(),
            id: String::new(),
            part: 0,
            url: SecretBuf::new(),
            committed: 0,
            next: None,
            overflow: false,
            planned: false,
            scanner: Scanner::new(),
            member: Member::Other,
            element: 0,
            digits: false,
        }
    }

    /// Forget the path (the job is over, or another message starts), in
    /// place (R-MEM: the path's place is 4 KB).
    pub(super) fn forget(&mut self) {
        self.size = 0;
        self.phase = Phase::Survey;
        self.survey.reset();
        self.id.clear();
        self.part = 0;
        self.url.clear();
        self.committed = 0;
        self.planned = false;
        self.answer_starts();
    }

    /// A path for a message of `size` octets, from its survey.
    pub(super) fn begin(&mut self, size: u64) {
        self.forget();
        self.size = size;
    }

    /// What the survey found, once it has.
    pub(super) fn layout(&self) -> Option<&Layout> {
        self.survey.layout()
    }

    /// The current upload part.
    pub(super) fn current(&self) -> Option<&UploadPart> {
        self.layout().and_then(|l| l.parts.get(self.part))
    }

    /// The survey reads the next octets of the message (a pass from its
    /// first octet: a survey begun before is started again).
    pub(super) fn survey(&mut self, data: &[u8]) {
        self.survey.feed(data);
    }

    /// A survey's pass begins.
    pub(super) fn survey_starts(&mut self) {
        self.survey.reset();
    }

    /// The survey's pass ended: the layout, or why the path cannot go.
    pub(super) fn surveyed(&mut self) -> Result<(), crate::diag::Id> {
        self.survey.finish().map(|_| ())
    }

    /// A new answer is to be read.
    pub(super) fn answer_starts(&mut self) {
        self.scanner = Scanner::new();
        self.member = Member::Other;
        self.element = 0;
        self.digits = false;
        self.next = None;
        self.overflow = false;
    }

    /// The next octets of an answer's body.
    pub(super) fn feed(&mut self, data: &[u8]) {
        let mut scanner = core::mem::take(&mut self.scanner);
        scanner.feed(data, self);
        self.scanner = scanner;
    }

    /// Where the next request goes when it is not the API's own host: the
    /// upload URL's host and port, for a chunk or its question.
    pub(super) fn chunk_target(&self) -> Option<(&str, u16)> {
        if self.size == 0 || !matches!(self.phase, Phase::Chunk | Phase::Query) {
            return None;
        }
        self.upload_target().map(|(h, p, _)| (h, p))
    }

    /// The upload URL's host, port and path with its query, when it is an
    /// `https` URL whose path can go on a request line as it is.
    pub(super) fn upload_target(&self) -> Option<(&str, u16, &str)> {
        split_url(core::str::from_utf8(self.url.expose()).ok()?)
    }

    /// The raw range of the current part the next chunk carries
    /// (`first..=last`).
    pub(super) fn chunk_range(&self) -> Option<(u64, u64)> {
        let part = self.current()?;
        let first = self.committed;
        let end = first.saturating_add(UPLOAD_CHUNK).min(part.raw_len);
        (first < end).then(|| (first, end - 1))
    }
}

/// `https://host[:port]/path?query` split, the path as visible ASCII.
pub(super) fn split_url(url: &str) -> Option<(&str, u16, &str)> {
    let rest = url.strip_prefix("https://")?;
    let slash = rest.find('/')?;
    let (authority, path) = rest.split_at(slash);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !authority.ends_with(']') => (h, p.parse::<u16>().ok()?),
        _ => (authority, 443),
    };
    // A host name or an IPv4 address, nothing that could end up in the
    // `Host` field or a TLS name otherwise; the path goes on the request
    // line as it is: visible ASCII only.
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && path.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some((host, port, path))
}

/// Append `s` to `place`; `false` when it does not fit.
fn push_all<const N: usize>(place: &mut String<N>, s: &[u8]) -> Result<bool, JsonError> {
    Ok(place.push_str(text(s)?).is_ok())
}

impl Sink for GraphUpload {
    fn member(&mut self, name: Option<&[u8]>) -> Result<u8, JsonError> {
        // Each answer's own members only: an attachment's `id` is not the
        // draft's.
        self.member = match (name, self.phase) {
            (Some(b"id"), Phase::Draft) => Member::Id,
            (Some(b"uploadUrl"), Phase::Create) => Member::Url,
            (Some(b"nextExpectedRanges"), Phase::Create | Phase::Chunk | Phase::Query) => {
                Member::Ranges
            }
            _ => Member::Other,
        };
        Ok(u8::from(self.member != Member::Other))
    }

    fn event(&mut self, _slot: u8, depth: u8, ev: Ev<'_>) -> Result<(), JsonError> {
        match (self.member, depth, ev) {
            (Member::Id, 1, Ev::StrStart) => self.id.clear(),
            (Member::Id, 1, Ev::Str(s)) => self.overflow |= !push_all(&mut self.id, s)?,
            (Member::Url, 1, Ev::StrStart) => self.url.clear(),
            (Member::Url, 1, Ev::Str(s)) => {
                self.overflow |= self.url.extend(text(s)?.as_bytes()).is_err();
            }
            (Member::Ranges, 1, Ev::Open) => self.next = Some(None),
            (Member::Ranges, 2, Ev::StrStart) => {
                self.element = self.element.saturating_add(1);
                if self.element == 1 {
                    self.next = Some(Some(0));
                    self.digits = true;
                }
            }
            (Member::Ranges, 2, Ev::Str(s)) if self.element == 1 && self.digits => {
                // `"12345-"`, `"12345-67890"` or `"12345"`: the start.
                for &c in s {
                    match (c.is_ascii_digit(), self.next) {
                        (true, Some(Some(n))) => {
                            let n = n
                                .checked_mul(10)
                                .and_then(|n| n.checked_add(u64::from(c - b'0')));
                            match n {
                                Some(n) => self.next = Some(Some(n)),
                                None => self.overflow = true,
                            }
                        }
                        _ => {
                            self.digits = false;
                            break;
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// `{"AttachmentItem":{"attachmentType":"file","name":"…","size":N}}`
/// (the name escaped for JSON), the body of `createUploadSession`.
pub(super) fn write_session_json(w: &mut Writer<'_>, name: &str, size: u64) {
    w.push_str("{\"AttachmentItem\":{\"attachmentType\":\"file\",\"name\":\"");
    write_json_text(w, name);
    w.push_str("\",\"size\":");
    w.push_decimal(size);
    w.push_str("}}");
}

/// `text` inside a JSON string: `"`, `\\` and controls escaped.
fn write_json_text(w: &mut Writer<'_>, text: &str) {
    for c in text.chars() {
        match c {
            '"' => w.push_str("\\\""),
            '\\' => w.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let n = u32::from(c) as usize;
                w.push_str("\\u00");
                w.push_byte(HEX.get(n >> 4).copied().unwrap_or(b'0'));
                w.push_byte(HEX.get(n & 15).copied().unwrap_or(b'0'));
            }
            c => {
                let mut b = [0u8; 4];
                w.push_str(c.encode_utf8(&mut b));
            }
        }
    }
}

/// The start of a `fileAttachment` up to its `contentBytes`' first
/// character (the name escaped for JSON); `"}` ends it.
pub(super) fn write_attachment_json_start(w: &mut Writer<'_>, name: &str) {
    w.push_str("{\"@odata.type\":\"#microsoft.graph.fileAttachment\",\"name\":\"");
    write_json_text(w, name);
    w.push_str("\",\"contentBytes\":\"");
}

/// The end of a `fileAttachment`, after its `contentBytes`.
pub(super) const ATTACHMENT_JSON_END: &[u8] = b"\"}";

/// Octets of a `fileAttachment` of `raw_len` octets named `name`.
pub(super) fn attachment_json_len(name: &str, raw_len: u64) -> u64 {
    let mut w = Writer::counting();
    write_attachment_json_start(&mut w, name);
    (w.len() + ATTACHMENT_JSON_END.len()) as u64 + raw_len.div_ceil(3).saturating_mul(4)
}

/// The first request for `part`: an upload session for 3 MB or more,
/// else the file attached whole.
pub(super) fn first_phase(part: &UploadPart) -> Phase {
    if part.raw_len >= super::layout::UPLOAD_MIN {
        Phase::Create
    } else {
        Phase::Attach
    }
}

/// Octets of [`write_session_json`]'s output.
pub(super) fn session_json_len(name: &str, size: u64) -> u64 {
    let mut w = Writer::counting();
    write_session_json(&mut w, name, size);
    w.len() as u64
}

/// Where a chunk's pass starts decoding: the message offset of the base64
/// line that holds raw octet `first` of `part`, and the raw index of that
/// line's first octet.
pub(super) fn chunk_start(part: &UploadPart, first: u64) -> (u64, u64) {
    let line = first / LINE_RAW;
    (
        part.body_start
            .saturating_add(line.saturating_mul(LINE_WIRE)),
        line.saturating_mul(LINE_RAW),
    )
}

/// Decodes a part's base64 as it streams past, a group of four characters
/// at a time (line ends skipped), and keeps the raw octets of one range.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ChunkDecoder {
    quad: [u8; 4],
    quad_len: u8,
    /// Raw index of the next decoded octet.
    pub(super) raw: u64,
    /// The range kept.
    first: u64,
    last: u64,
}

impl ChunkDecoder {
    /// Decoding from the raw index `raw`, keeping `first..=last`.
    pub(super) const fn new(raw: u64, first: u64, last: u64) -> Self {
        ChunkDecoder {
            quad: [0; 4],
            quad_len: 0,
            raw,
            first,
            last,
        }
    }

    /// Whether the whole range was written.
    pub(super) const fn done(&self) -> bool {
        self.raw > self.last
    }

    /// Decodes from `input` into `out` until the range is done, `out` has
    /// no room for a group, or the input ends; returns (octets of input
    /// taken, octets written). `Err` for a character that is no base64.
    pub(super) fn decode(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), ()> {
        let (mut taken, mut written) = (0usize, 0usize);
        while !self.done() {
            let rest = input.get(taken..).unwrap_or(&[]);
            let Some(&c) = rest.first() else { break };
            if c == b'\r' || c == b'\n' {
                taken += 1;
                continue;
            }
            let room = out.len().saturating_sub(written);
            // A line's whole groups at once when no group is begun and
            // `out` holds them (the common case).
            let run = rest
                .iter()
                .take(LINE_WIRE as usize - 2)
                .take_while(|&&c| c != b'\r' && c != b'\n')
                .count()
                / 4
                * 4;
            if self.quad_len == 0 && run > 0 && room >= run / 4 * 3 {
                let mut raw = [0u8; LINE_RAW as usize];
                let n = base64::Engine::decode_slice(
                    &base64::engine::general_purpose::STANDARD,
                    rest.get(..run).unwrap_or(&[]),
                    &mut raw,
                )
                .map_err(|_| ())?;
                written = self.keep(raw.get(..n).unwrap_or(&[]), out, written);
                taken += run;
                continue;
            }
            if room < 3 {
                break;
            }
            taken += 1;
            if let Some(q) = self.quad.get_mut(usize::from(self.quad_len)) {
                *q = c;
            }
            self.quad_len += 1;
            if self.quad_len < 4 {
                continue;
            }
            self.quad_len = 0;
            let mut raw = [0u8; 3];
            let n = base64::Engine::decode_slice(
                &base64::engine::general_purpose::STANDARD,
                self.quad,
                &mut raw,
            )
            .map_err(|_| ())?;
            written = self.keep(raw.get(..n).unwrap_or(&[]), out, written);
        }
        Ok((taken, written))
    }

    /// The decoded octets of the range into `out` from `written`; returns
    /// the new `written`.
    fn keep(&mut self, raw: &[u8], out: &mut [u8], mut written: usize) -> usize {
        let n = raw.len() as u64;
        if self.raw >= self.first && self.raw.saturating_add(n) <= self.last.saturating_add(1) {
            // All of it in the range (every line but the range's ends).
            if let Some(d) = out.get_mut(written..written + raw.len()) {
                d.copy_from_slice(raw);
                self.raw += n;
                return written + raw.len();
            }
        }
        for &b in raw {
            if self.raw >= self.first && self.raw <= self.last {
                if let Some(d) = out.get_mut(written) {
                    *d = b;
                }
                written += 1;
            }
            self.raw += 1;
        }
        written
    }
}
