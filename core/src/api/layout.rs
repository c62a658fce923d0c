//! Where the large attachments are in a composed message, for Graph's
//! upload sessions (R-XPORT).
//!
//! Microsoft Graph takes a message of more than about 3 MB in three steps:
//! a draft made from MIME without the large attachments, one upload session
//! per large attachment (its raw octets in ranged `PUT`s), then the send.
//! [`Survey`] reads the composer's output ([`crate::mime::Composer`]) as it
//! streams past, in pieces of any size, holding only fixed small state (it
//! never holds the message), and finds the attachment parts of at least
//! [`SEPARATE_MIN`] octets: where each part is, where its base64 starts, its
//! decoded size and its file name.
//!
//! It is strict: a message that does not have the composer's shape (a
//! `multipart/mixed` header with an `=_mfp_` boundary, base64 parts in lines
//! of at most 76 characters, CRLF line ends, a close delimiter and nothing
//! after it) is refused rather than cut at a wrong place.

use heapless::{String, Vec};

use crate::diag::Id;
use crate::mime::{BOUNDARY_LEN, MAX_FILE_NAME_LEN};

/// Most attachments of one message that leave the draft.
pub const MAX_UPLOAD_PARTS: usize = 4;

/// Smallest attachment Graph takes through an upload session (3 MB,
/// Graph's "between 3 MB and 150 MB"; `3 * 1024 * 1024` octets, as the
/// simulator checks). A smaller one that leaves the draft is attached on
/// its own (`POST …/attachments`, its base64 in one request).
pub const UPLOAD_MIN: u64 = 3 * 1024 * 1024;

/// Smallest attachment that leaves the draft (1 MiB): the draft must fit
/// one 4 MB request, so a scan of 2 or 3 MB cannot stay in it; smaller
/// files stay.
pub const SEPARATE_MIN: u64 = 1024 * 1024;

/// Octets kept of each line: the composer's lines are at most 78 octets
/// except the message header's long fields (`Subject`, `To`, a long
/// content type), of which only the start matters.
const LINE_KEEP: usize = 80;

/// Whether `c` is a base64 character (the standard alphabet, not `=`).
const fn is_base64(c: u8) -> bool {
    matches!(c, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/')
}

/// Characters of a full base64 line.
const BASE64_LINE: u32 = 76;

/// One attachment for an upload session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPart {
    /// Offset in the message of the first octet of this part's delimiter
    /// line (`--boundary` CRLF before its headers).
    pub start: u64,
    /// Offset of the first octet of the next delimiter line (the next
    /// part's or the close delimiter): the part is `start..end`. The CRLF
    /// before `end` ends the part's last base64 line.
    pub end: u64,
    /// Offset of the first base64 character of its body.
    pub body_start: u64,
    /// Octets of the file (its base64 decoded).
    pub raw_len: u64,
    /// The file name, decoded (RFC 2231 continuations percent-decoded to
    /// UTF-8; the quoted form as is), from `filename` (or `name` when
    /// there is no `filename`).
    pub name: String<MAX_FILE_NAME_LEN>,
}

/// What a survey found: the attachments that go through upload sessions,
/// in message order. On x86_64 it takes 1,200 octets (296 per part).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    /// Attachments of at least [`SEPARATE_MIN`] octets.
    pub parts: Vec<UploadPart, MAX_UPLOAD_PARTS>,
    /// Octets of the message.
    pub size: u64,
}

impl Layout {
    /// Octets of the message without the upload parts (the draft's MIME).
    #[must_use]
    pub fn draft_len(&self) -> u64 {
        self.parts.iter().fold(self.size, |n, p| {
            n.saturating_sub(p.end.saturating_sub(p.start))
        })
    }
}

/// Where the survey is in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The message's header.
    Head,
    /// Between the header and the first delimiter (empty lines only).
    Preamble,
    /// A part's header.
    PartHead,
    /// A part's base64.
    PartBody,
    /// After the close delimiter: nothing may follow.
    Epilogue,
    /// Not the composer's shape.
    Bad,
}

/// The header field the current line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Other,
    /// The message's `Content-Type: multipart/mixed`.
    TopType,
    /// A part's `Content-Type`.
    Type,
    /// A part's `Content-Disposition`.
    Disposition,
}

/// Which parameter gives a part's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameFrom {
    None,
    Name,
    Filename,
}

/// Surveys one message as it streams past; see the [module](self) text.
/// On x86_64 it takes 1,640 octets: the parts found so far, the current
/// part's name and the first 80 octets of the current line.
pub struct Survey {
    /// Octets fed so far.
    pos: u64,
    /// Offset of the current line's first octet.
    line_start: u64,
    /// Octets of the current line so far (without CRLF), saturating.
    line_len: u32,
    /// Its first [`LINE_KEEP`] octets.
    line: [u8; LINE_KEEP],
    /// The last octet was a CR.
    cr: bool,
    stage: Stage,
    field: Field,
    boundary: [u8; BOUNDARY_LEN],
    has_boundary: bool,
    /// The current part.
    part_start: u64,
    body_start: u64,
    attachment: bool,
    base64: bool,
    /// Base64 characters of its body (padding included), and the `=` among
    /// them.
    chars: u64,
    pad: u8,
    /// Its name so far (decoded octets) and where it comes from.
    name: Vec<u8, MAX_FILE_NAME_LEN>,
    name_from: NameFrom,
    /// The RFC 2231 continuation expected next (`None`: none) and its
    /// number.
    cont: NameFrom,
    cont_next: u16,
    /// Attachments of at least [`SEPARATE_MIN`] octets seen (also those past
    /// [`MAX_UPLOAD_PARTS`]).
    big: usize,
    /// What was found: the parts so far, the size once finished. Kept
    /// here and lent out ([`Survey::layout`]): never moved (R-MEM).
    found: Layout,
    /// [`Survey::finish`] accepted the message.
    done: bool,
}

impl core::fmt::Debug for Survey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Survey")
            .field("pos", &self.pos)
            .field("stage", &self.stage)
            .field(
                "boundary",
                &core::str::from_utf8(&self.boundary).unwrap_or(""),
            )
            .field("big", &self.big)
            .field("found", &self.found)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Default for Survey {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `s` starts with `prefix`, ASCII case-insensitively.
fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// `s` without leading and trailing spaces and tabs.
fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or(&[])
}

/// The kept octets of a line of `len` octets, and whether they are the
/// whole line.
fn kept(line: &[u8; LINE_KEEP], len: u32) -> (&[u8], bool) {
    let n = (len as usize).min(LINE_KEEP);
    (line.get(..n).unwrap_or(&[]), len as usize <= LINE_KEEP)
}

/// The value of hex digit `b`.
fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// `=_mfp_` and 24 hex digits.
fn valid_boundary(b: &[u8]) -> bool {
    b.len() == BOUNDARY_LEN
        && b.starts_with(b"=_mfp_")
        && b.get(6..)
            .is_some_and(|h| h.iter().all(|&c| hex(c).is_some()))
}

/// A decimal continuation number without leading zeros (at most 3 digits).
fn index(s: &[u8]) -> Option<u16> {
    if s.is_empty() || s.len() > 3 || (s.len() > 1 && s.first() == Some(&b'0')) {
        return None;
    }
    s.iter().try_fold(0u16, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u16::from(c - b'0'))
    })
}

impl Survey {
    /// A survey of a message not fed yet.
    #[must_use]
    pub const fn new() -> Self {
        Survey {
            pos: 0,
            line_start: 0,
            line_len: 0,
            line: [0; LINE_KEEP],
            cr: false,
            stage: Stage::Head,
            field: Field::Other,
            boundary: [0; BOUNDARY_LEN],
            has_boundary: false,
            part_start: 0,
            body_start: 0,
            attachment: false,
            base64: false,
            chars: 0,
            pad: 0,
            name: Vec::new(),
            name_from: NameFrom::None,
            cont: NameFrom::None,
            cont_next: 0,
            big: 0,
            found: Layout {
                parts: Vec::new(),
                size: 0,
            },
            done: false,
        }
    }

    /// As new, for another message, in place.
    pub fn reset(&mut self) {
        self.pos = 0;
        self.line_start = 0;
        self.line_len = 0;
        self.line = [0; LINE_KEEP];
        self.cr = false;
        self.stage = Stage::Head;
        self.boundary = [0; BOUNDARY_LEN];
        self.has_boundary = false;
        self.part_start = 0;
        self.body_start = 0;
        self.clear_part();
        self.big = 0;
        self.found.parts.clear();
        self.found.size = 0;
        self.done = false;
    }

    /// What [`Survey::finish`] accepted (`None` before).
    #[must_use]
    pub fn layout(&self) -> Option<&Layout> {
        self.done.then_some(&self.found)
    }

    /// The next octets of the message.
    pub fn feed(&mut self, data: &[u8]) {
        let mut rest = data;
        while let Some((&b, tail)) = rest.split_first() {
            if self.stage == Stage::Bad {
                return;
            }
            if self.cr || b == b'\r' || b == b'\n' {
                self.pos = self.pos.saturating_add(1);
                rest = tail;
                if self.cr {
                    self.cr = false;
                    if b == b'\n' {
                        self.end_line();
                        self.line_start = self.pos;
                        self.line_len = 0;
                    } else {
                        self.stage = Stage::Bad;
                    }
                } else if b == b'\r' {
                    self.cr = true;
                } else {
                    self.stage = Stage::Bad;
                }
                continue;
            }
            // A whole base64 line of a part's body (76 characters and
            // CRLF), the common case: checked and counted where it lies.
            if let (Stage::PartBody, false, 0, 0) = (self.stage, self.cr, self.line_len, self.pad) {
                if let (Some(line), Some(b"\r\n")) = (rest.get(..76), rest.get(76..78)) {
                    if line.iter().all(|&c| is_base64(c)) {
                        self.chars = self.chars.saturating_add(76);
                        self.pos = self.pos.saturating_add(78);
                        self.line_start = self.pos;
                        rest = rest.get(78..).unwrap_or(&[]);
                        continue;
                    }
                }
            }
            // The line's octets up to its end, at once: the first
            // LINE_KEEP kept, the rest counted (R-MEM, and about 3
            // instructions an octet instead of 40).
            let run = rest
                .iter()
                .position(|&c| c == b'\r' || c == b'\n')
                .unwrap_or(rest.len());
            let (line, after) = rest.split_at(run);
            let have = self.line_len as usize;
            if have < LINE_KEEP {
                let n = (LINE_KEEP - have).min(run);
                if let (Some(d), Some(s)) = (self.line.get_mut(have..have + n), line.get(..n)) {
                    d.copy_from_slice(s);
                }
            }
            let run32 = u32::try_from(run).unwrap_or(u32::MAX);
            self.line_len = self.line_len.saturating_add(run32);
            self.pos = self.pos.saturating_add(run as u64);
            rest = after;
        }
    }

    /// The whole message was fed: what it holds (also lent by
    /// [`Survey::layout`] until [`Survey::reset`]).
    ///
    /// # Errors
    /// [`Id::InvalidArgument`] when the message does not have the
    /// composer's shape (no boundary, a part never closed, a base64 body or
    /// a name that does not decode, a name over 255 octets, anything after
    /// the close delimiter); [`Id::ApiMessageTooLarge`] when more than
    /// [`MAX_UPLOAD_PARTS`] attachments have at least [`SEPARATE_MIN`]
    /// octets.
    pub fn finish(&mut self) -> Result<&Layout, Id> {
        if self.stage != Stage::Epilogue || self.line_len != 0 || self.cr {
            return Err(Id::InvalidArgument);
        }
        if self.big > MAX_UPLOAD_PARTS {
            return Err(Id::ApiMessageTooLarge);
        }
        self.found.size = self.pos;
        self.done = true;
        Ok(&self.found)
    }

    fn fail(&mut self) {
        self.stage = Stage::Bad;
    }

    /// The current line's kept octets, and whether they are the whole line.
    fn kept(&self) -> (&[u8], bool) {
        kept(&self.line, self.line_len)
    }

    /// `--boundary` (`close`: `--boundary--`), exactly.
    fn is_delimiter(&self, close: bool) -> bool {
        let (line, whole) = self.kept();
        let want = 2 + BOUNDARY_LEN + if close { 2 } else { 0 };
        whole
            && line.len() == want
            && line.starts_with(b"--")
            && line.get(2..2 + BOUNDARY_LEN) == Some(&self.boundary[..])
            && (!close || line.ends_with(b"--"))
    }

    /// A whole line (CRLF included) was fed: `self.pos` is the offset of
    /// the next one.
    fn end_line(&mut self) {
        match self.stage {
            Stage::Head => self.head_line(),
            Stage::Preamble => {
                if self.is_delimiter(false) {
                    self.open_part();
                } else if self.line_len != 0 {
                    self.fail();
                }
            }
            Stage::PartHead => self.part_head_line(),
            Stage::PartBody => self.body_line(),
            Stage::Epilogue | Stage::Bad => self.fail(),
        }
    }

    fn head_line(&mut self) {
        let copy = self.line;
        let (line, whole) = kept(&copy, self.line_len);
        if line.is_empty() {
            if self.has_boundary {
                self.stage = Stage::Preamble;
            } else {
                self.fail();
            }
            return;
        }
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            if self.field != Field::TopType {
                return;
            }
            let value = trim(line);
            let value = value.strip_suffix(b";").unwrap_or(value);
            if !starts_with_ci(value, b"boundary=") {
                return;
            }
            let quoted = value
                .get(b"boundary=".len()..)
                .and_then(|v| v.strip_prefix(b"\""))
                .and_then(|v| v.strip_suffix(b"\""));
            match quoted {
                Some(b) if whole && !self.has_boundary && valid_boundary(b) => {
                    self.boundary.copy_from_slice(b);
                    self.has_boundary = true;
                }
                _ => self.fail(),
            }
            return;
        }
        self.field = Field::Other;
        if starts_with_ci(line, b"Content-Type:") {
            let value = trim(line.get(b"Content-Type:".len()..).unwrap_or(&[]));
            let value = value.strip_suffix(b";").unwrap_or(value);
            if whole && value.eq_ignore_ascii_case(b"multipart/mixed") {
                self.field = Field::TopType;
            } else {
                self.fail();
            }
        }
    }

    fn open_part(&mut self) {
        self.stage = Stage::PartHead;
        self.part_start = self.line_start;
        self.body_start = self.pos;
        self.clear_part();
    }

    /// What a part's headers and body have said so far: nothing.
    fn clear_part(&mut self) {
        self.field = Field::Other;
        self.attachment = false;
        self.base64 = false;
        self.chars = 0;
        self.pad = 0;
        self.name.clear();
        self.name_from = NameFrom::None;
        self.cont = NameFrom::None;
        self.cont_next = 0;
    }

    fn part_head_line(&mut self) {
        let copy = self.line;
        let (line, whole) = kept(&copy, self.line_len);
        if line.is_empty() {
            let named = self.name_from != NameFrom::None
                && !self.name.is_empty()
                && core::str::from_utf8(&self.name).is_ok();
            if !self.base64 || (self.attachment && !named) {
                self.fail();
                return;
            }
            self.stage = Stage::PartBody;
            self.body_start = self.pos;
            return;
        }
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            if matches!(self.field, Field::Type | Field::Disposition) {
                if whole {
                    self.parameter();
                } else {
                    self.fail();
                }
            }
            return;
        }
        self.cont = NameFrom::None;
        self.field = Field::Other;
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            self.fail();
            return;
        };
        let (field, value) = line.split_at(colon);
        let value = trim(value.get(1..).unwrap_or(&[]));
        let value = value.strip_suffix(b";").unwrap_or(value);
        if field.eq_ignore_ascii_case(b"Content-Type") {
            self.field = Field::Type;
        } else if field.eq_ignore_ascii_case(b"Content-Disposition") {
            self.field = Field::Disposition;
            if whole && value.eq_ignore_ascii_case(b"attachment") {
                self.attachment = true;
            }
        } else if field.eq_ignore_ascii_case(b"Content-Transfer-Encoding") {
            self.base64 = whole && value.eq_ignore_ascii_case(b"base64");
        }
    }

    /// A folded line of a part's `Content-Type` or `Content-Disposition`:
    /// one parameter, `name`/`filename` as a quoted string or an RFC 2231
    /// `*N*=` continuation; other parameters are passed over.
    fn parameter(&mut self) {
        let mut buf = [0u8; LINE_KEEP];
        let n = {
            let (line, _) = self.kept();
            let p = trim(line);
            let p = p.strip_suffix(b";").unwrap_or(p);
            let n = p.len().min(LINE_KEEP);
            if let (Some(d), Some(s)) = (buf.get_mut(..n), p.get(..n)) {
                d.copy_from_slice(s);
            }
            n
        };
        let p = buf.get(..n).unwrap_or(&[]);
        let Some(eq) = p.iter().position(|&b| b == b'=') else {
            self.fail();
            return;
        };
        let (attr, value) = p.split_at(eq);
        let value = value.get(1..).unwrap_or(&[]);
        let (which, rest) = if starts_with_ci(attr, b"filename") {
            (NameFrom::Filename, attr.get(8..).unwrap_or(&[]))
        } else if starts_with_ci(attr, b"name") {
            (NameFrom::Name, attr.get(4..).unwrap_or(&[]))
        } else {
            return;
        };
        if rest.is_empty() {
            // `name="value"`.
            let Some(v) = value
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
            else {
                self.fail();
                return;
            };
            if v.iter().any(|&b| b == b'"' || b == b'\\') || !self.begin_name(which) {
                self.fail();
                return;
            }
            self.cont = NameFrom::None;
            if self.name_from == which && self.name.extend_from_slice(v).is_err() {
                self.fail();
            }
            return;
        }
        // `name*N*=value`.
        let Some(i) = rest
            .strip_prefix(b"*")
            .and_then(|r| r.strip_suffix(b"*"))
            .and_then(index)
        else {
            self.fail();
            return;
        };
        let mut value = value;
        if i == 0 {
            let Some(v) = (starts_with_ci(value, b"utf-8''"))
                .then(|| value.get(7..))
                .flatten()
            else {
                self.fail();
                return;
            };
            if !self.begin_name(which) {
                self.fail();
                return;
            }
            value = v;
        } else if self.cont != which || self.cont_next != i {
            self.fail();
            return;
        }
        self.cont = which;
        self.cont_next = i + 1;
        let mut k = 0;
        while let Some(&c) = value.get(k) {
            let octet = if c == b'%' {
                match (
                    value.get(k + 1).copied().and_then(hex),
                    value.get(k + 2).copied().and_then(hex),
                ) {
                    (Some(hi), Some(lo)) => {
                        k += 3;
                        hi << 4 | lo
                    }
                    _ => {
                        self.fail();
                        return;
                    }
                }
            } else if c.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&c) {
                k += 1;
                c
            } else {
                self.fail();
                return;
            };
            if self.name_from == which && self.name.push(octet).is_err() {
                self.fail();
                return;
            }
        }
    }

    /// The first piece of a `name` or `filename` parameter: `filename`
    /// wins over `name`. False for a parameter given twice.
    fn begin_name(&mut self, which: NameFrom) -> bool {
        if self.name_from == which {
            return false;
        }
        if which == NameFrom::Filename {
            self.name.clear();
            self.name_from = NameFrom::Filename;
        } else if self.name_from == NameFrom::None {
            self.name_from = NameFrom::Name;
        } else {
            // `name` after `filename`: passed over. A second `name` would
            // not be seen; the composer writes one.
        }
        true
    }

    fn body_line(&mut self) {
        if self.is_delimiter(false) {
            self.close_part();
            self.open_part();
            return;
        }
        if self.is_delimiter(true) {
            self.close_part();
            if self.stage != Stage::Bad {
                self.stage = Stage::Epilogue;
            }
            return;
        }
        if self.line_len > BASE64_LINE || (self.line_len == 0 && self.chars != 0) {
            self.fail();
            return;
        }
        let (line, _) = self.kept();
        // Base64 characters, then the padding: nothing after an `=`, in
        // this line or an earlier one.
        let data = line.iter().rposition(|&c| c != b'=').map_or(0, |i| i + 1);
        let pad = self
            .pad
            .saturating_add(u8::try_from(line.len() - data).unwrap_or(u8::MAX));
        let chars = line.get(..data).unwrap_or(&[]);
        let ok = (self.pad == 0 || data == 0) && chars.iter().all(|&c| is_base64(c));
        if !ok || pad > 2 {
            self.fail();
            return;
        }
        self.pad = pad;
        self.chars = self.chars.saturating_add(u64::from(self.line_len));
    }

    /// The current part ends where the current line starts.
    fn close_part(&mut self) {
        if self.chars % 4 != 0 {
            self.fail();
            return;
        }
        let raw_len = (self.chars / 4 * 3).saturating_sub(u64::from(self.pad));
        if !self.attachment || raw_len < SEPARATE_MIN {
            return;
        }
        self.big = self.big.saturating_add(1);
        if self.found.parts.is_full() {
            return;
        }
        let Ok(name) = String::from_utf8(self.name.clone()) else {
            self.fail();
            return;
        };
        let part = UploadPart {
            start: self.part_start,
            end: self.line_start,
            body_start: self.body_start,
            raw_len,
            name,
        };
        if self.found.parts.push(part).is_err() {
            self.fail();
        }
    }
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
