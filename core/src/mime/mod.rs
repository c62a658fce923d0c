//! The message a job sends, composed as a stream (R-MIME): a header, an
//! optional text part and the scanned files as base64 attachments.
//!
//! The composer is sans-IO like the rest of the core. It never holds the
//! message: the caller pulls it in pieces into a buffer it lends
//! ([`Composer::poll_output`]), and pushes each file's octets when the
//! composer asks for them ([`Output::NeedInput`], [`Composer::handle_input`]);
//! they pass through one fixed buffer of [`INPUT_BUF_LEN`] octets, whatever
//! the file's size.
//!
//! The size is exact before the first octet ([`Composer::size`], from the
//! files' announced lengths), for `MAIL FROM … SIZE=` and `BDAT`. A file
//! that turns out shorter or longer than announced fails the composer
//! ([`Error::FileShorter`], [`Error::FileLonger`]): the message must then be
//! abandoned, never completed.
//!
//! What is produced (RFC 5322, 2045, 2046, 2047, 2231), canonically:
//! - `Date` (when the caller knows the time), `From`, `To` (folded),
//!   `Subject` (RFC 2047 encoded words when not plain ASCII), `Message-ID`,
//!   `MIME-Version`, `Content-Type: multipart/mixed` with a boundary
//!   `=_mfp_` + 24 hex digits from the caller's random octets;
//! - a text part (UTF-8, base64) when there is a text or no attachment;
//! - one part per file: its content type, `name` and `filename` parameters
//!   (RFC 2231 `*0*=utf-8''…` continuations when the name is not plain
//!   ASCII or is long), base64 in 76-column lines;
//! - CRLF line ends everywhere, no line above 78 octets except a long plain
//!   ASCII subject word (never above 998).
//!
//! Every part is base64, so the boundary (which holds `=_`, a pair that
//! base64 never contains) cannot occur in any content, and no line starts
//! with a dot: with `DATA` the message needs no dot-stuffing and with
//! `BDAT` it can be sent as is.

mod head;
#[cfg(test)]
mod tests;

use base64::Engine as _;

use head::Sink;

/// Octets of file input the composer holds (8 base64 lines of 57 octets):
/// the most [`Output::NeedInput`] asks for at once.
pub const INPUT_BUF_LEN: usize = 57 * 8;

/// Files one message can carry.
pub const MAX_ATTACHMENTS: usize = 32;

/// Addresses in the `To` field (as many as the envelope's recipients).
pub const MAX_TO: usize = crate::limits::MAX_RECIPIENTS;

/// Longest subject, in octets of UTF-8.
pub const MAX_SUBJECT_LEN: usize = 998;

/// Longest file name, in octets of UTF-8.
pub const MAX_FILE_NAME_LEN: usize = 255;

/// Longest content type (`type/subtype`), in octets.
pub const MAX_CONTENT_TYPE_LEN: usize = 127;

/// Longest Message-ID local part, in octets.
pub const MAX_MESSAGE_ID_LOCAL_LEN: usize = 64;

/// Random octets the caller gives for each message: they make the boundary
/// and, when the caller gives no Message-ID local part, that part.
pub const RANDOM_LEN: usize = 12;

/// Octets of the boundary: `=_mfp_` and 24 hex digits.
pub const BOUNDARY_LEN: usize = 6 + ID_HEX_LEN;

/// Hex digits of the random octets.
const ID_HEX_LEN: usize = 2 * RANDOM_LEN;

/// Octets of input per base64 line (RFC 2045 §6.8: 76 characters).
const LINE_IN: usize = 57;
/// Characters of a full base64 line.
const LINE_OUT: usize = 76;

/// One attached file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Attachment<'a> {
    /// File name shown to the recipient (any UTF-8; encoded as needed).
    pub name: &'a str,
    /// MIME type (`type/subtype`); empty for the type by the name's
    /// extension ([`content_type_for`]).
    pub content_type: &'a str,
    /// Octets of the file: exactly what the caller will push.
    pub len: u64,
}

impl Attachment<'_> {
    fn content_type_or_default(&self) -> &str {
        if self.content_type.is_empty() {
            content_type_for(self.name)
        } else {
            self.content_type
        }
    }
}

/// What the message says. The composer reads it again on every call, so it
/// must not change while the message is composed.
pub trait Message {
    /// The From address (`local@domain`).
    fn from(&self) -> &str;
    /// The `i`-th To address, `None` past the last.
    fn to(&self, i: usize) -> Option<&str>;
    /// The subject (any UTF-8; encoded as needed).
    fn subject(&self) -> &str;
    /// The text part (any UTF-8; line ends become CRLF), if any.
    fn text(&self) -> Option<&str>;
    /// The `i`-th attachment, `None` past the last.
    fn attachment(&self, i: usize) -> Option<Attachment<'_>>;
    /// Local part of the Message-ID (its domain is the From address's);
    /// empty for the hex of the random octets.
    fn message_id_local(&self) -> &str {
        ""
    }
}

impl<T: Message + ?Sized> Message for &T {
    fn from(&self) -> &str {
        (**self).from()
    }
    fn to(&self, i: usize) -> Option<&str> {
        (**self).to(i)
    }
    fn subject(&self) -> &str {
        (**self).subject()
    }
    fn text(&self) -> Option<&str> {
        (**self).text()
    }
    fn attachment(&self, i: usize) -> Option<Attachment<'_>> {
        (**self).attachment(i)
    }
    fn message_id_local(&self) -> &str {
        (**self).message_id_local()
    }
}

/// A [`Message`] made of borrowed slices.
#[derive(Debug, Clone, Copy)]
pub struct Parts<'a> {
    /// From address.
    pub from: &'a str,
    /// To addresses.
    pub to: &'a [&'a str],
    /// Subject.
    pub subject: &'a str,
    /// Text part.
    pub text: Option<&'a str>,
    /// Files.
    pub attachments: &'a [Attachment<'a>],
    /// Message-ID local part (empty: from the random octets).
    pub message_id_local: &'a str,
}

impl Message for Parts<'_> {
    fn from(&self) -> &str {
        self.from
    }
    fn to(&self, i: usize) -> Option<&str> {
        self.to.get(i).copied()
    }
    fn subject(&self) -> &str {
        self.subject
    }
    fn text(&self) -> Option<&str> {
        self.text
    }
    fn attachment(&self, i: usize) -> Option<Attachment<'_>> {
        self.attachments.get(i).copied()
    }
    fn message_id_local(&self) -> &str {
        self.message_id_local
    }
}

/// What [`Composer::poll_output`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Output {
    /// This many octets of the message are at the start of the buffer
    /// (at least one).
    Wrote(usize),
    /// The next octets of attachment `part` (counted from 0) are needed:
    /// push at most `max` of them with [`Composer::handle_input`], or an
    /// empty slice at the end of the file.
    NeedInput {
        /// Attachment index.
        part: usize,
        /// Octets the composer can take now.
        max: usize,
    },
    /// The message is complete.
    Done,
}

/// Why a message cannot be composed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The From address is not a plain `local@domain` address.
    InvalidFrom,
    /// To address `i` is not a plain address.
    InvalidTo(usize),
    /// More To addresses than [`MAX_TO`].
    TooManyRecipients,
    /// More attachments than [`MAX_ATTACHMENTS`].
    TooManyAttachments,
    /// The subject is longer than [`MAX_SUBJECT_LEN`].
    SubjectTooLong,
    /// The Message-ID local part is too long or has characters a
    /// Message-ID cannot hold.
    InvalidMessageId,
    /// Attachment `i`'s file name is empty or longer than
    /// [`MAX_FILE_NAME_LEN`].
    InvalidFileName(usize),
    /// Attachment `i`'s content type is not a plain `type/subtype`.
    InvalidContentType(usize),
    /// The message's size does not fit 64 bits.
    TooLarge,
    /// Attachment `part` ended before its announced length.
    FileShorter {
        /// Attachment index.
        part: usize,
    },
    /// Attachment `part` has more octets than announced.
    FileLonger {
        /// Attachment index.
        part: usize,
    },
    /// Input pushed while the composer is not reading a file.
    NotExpectingInput,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::InvalidFrom => f.write_str("the From address is not a plain address"),
            Error::InvalidTo(i) => write!(f, "To address {i} is not a plain address"),
            Error::TooManyRecipients => write!(f, "more than {MAX_TO} To addresses"),
            Error::TooManyAttachments => write!(f, "more than {MAX_ATTACHMENTS} attachments"),
            Error::SubjectTooLong => write!(f, "subject longer than {MAX_SUBJECT_LEN} octets"),
            Error::InvalidMessageId => f.write_str("the Message-ID local part is not valid"),
            Error::InvalidFileName(i) => write!(f, "attachment {i}: empty or too long file name"),
            Error::InvalidContentType(i) => write!(f, "attachment {i}: invalid content type"),
            Error::TooLarge => f.write_str("the message's size does not fit 64 bits"),
            Error::FileShorter { part } => {
                write!(f, "attachment {part} is shorter than announced")
            }
            Error::FileLonger { part } => write!(f, "attachment {part} is longer than announced"),
            Error::NotExpectingInput => f.write_str("no file input expected now"),
        }
    }
}

impl core::error::Error for Error {}

impl crate::diag::Diagnostic for Error {
    fn diag(&self) -> crate::diag::Id {
        use crate::diag::Id;
        match self {
            Error::InvalidFrom | Error::InvalidTo(_) => Id::InvalidAddress,
            Error::TooManyRecipients | Error::TooManyAttachments => Id::CapacityExceeded,
            Error::NotExpectingInput => Id::WrongState,
            _ => Id::InvalidArgument,
        }
    }
}

/// The MIME type a scanner's output file has, by its name's extension
/// (case-insensitive); `application/octet-stream` when unknown.
#[must_use]
pub fn content_type_for(name: &str) -> &'static str {
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !stem.ends_with('/') => ext,
        _ => "",
    };
    const TYPES: [(&str, &str); 13] = [
        ("pdf", "application/pdf"),
        ("jpg", "image/jpeg"),
        ("jpeg", "image/jpeg"),
        ("png", "image/png"),
        ("tif", "image/tiff"),
        ("tiff", "image/tiff"),
        ("xps", "application/vnd.ms-xpsdocument"),
        ("oxps", "application/oxps"),
        (
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        ("txt", "text/plain"),
        ("", "application/octet-stream"),
    ];
    TYPES
        .iter()
        .find(|(e, _)| !e.is_empty() && e.eq_ignore_ascii_case(ext))
        .map_or("application/octet-stream", |(_, t)| t)
}

/// Octets of `n` input octets in base64, in 76-column lines joined by CRLF
/// (no line end after the last line: it belongs to the delimiter that
/// follows, RFC 2046 §5.1.1).
#[must_use]
pub const fn base64_lines_len(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let chars = n.div_ceil(3).saturating_mul(4);
    let lines = n.div_ceil(LINE_IN as u64);
    chars.saturating_add(2 * (lines - 1))
}

/// Octets of `text` once its line ends are CRLF.
fn crlf_len(text: &str) -> usize {
    let b = text.as_bytes();
    let mut n = 0usize;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        i += 1;
        match c {
            b'\r' => {
                if b.get(i) == Some(&b'\n') {
                    i += 1;
                }
                n = n.saturating_add(2);
            }
            b'\n' => n = n.saturating_add(2),
            _ => n = n.saturating_add(1),
        }
    }
    n
}

/// A plain address: 3 to 254 octets of printable ASCII without white
/// space, angle brackets, quotes or commas, or of non-ASCII characters that
/// are not controls (an internationalised address, RFC 6532: it goes out
/// only through a server offering SMTPUTF8, E331 otherwise), with an `@`
/// inside.
fn valid_address(a: &str) -> bool {
    let b = a.as_bytes();
    (3..=crate::limits::MAX_ADDRESS_LEN).contains(&b.len())
        && a.chars().all(|c| {
            if c.is_ascii() {
                c.is_ascii_graphic() && !"<>\",;()\\[]".contains(c)
            } else {
                !c.is_control()
            }
        })
        && a.rfind('@').is_some_and(|i| i > 0 && i + 1 < b.len())
}

/// `type/subtype` of RFC 2045 token characters.
fn valid_content_type(t: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| (0x21..0x7f).contains(&c) && !b"()<>@,;:\\\"/[]?=".contains(&c))
    };
    t.len() <= MAX_CONTENT_TYPE_LEN
        && t.split_once('/')
            .is_some_and(|(ty, sub)| token(ty) && token(sub))
}

/// Message-ID local part: dot-atom text (RFC 5322 §3.6.4).
fn valid_id_local(id: &str) -> bool {
    id.len() <= MAX_MESSAGE_ID_LOCAL_LEN
        && !id.starts_with('.')
        && !id.ends_with('.')
        && !id.contains("..")
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&c))
}

/// Where the composer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The message's header (and the text part's).
    Head,
    /// The text part's base64.
    Text,
    /// Attachment `i`'s delimiter and header.
    PartHead(usize),
    /// Attachment `i`'s base64.
    PartBody(usize),
    /// The close delimiter.
    Close,
    Done,
    Failed(Error),
}

/// Composes one message as a stream; see the [module](self) text.
pub struct Composer<M> {
    msg: M,
    size: u64,
    produced: u64,
    attachments: usize,
    has_text: bool,
    date: Option<u64>,
    boundary: [u8; BOUNDARY_LEN],
    id_hex: [u8; ID_HEX_LEN],
    stage: Stage,
    /// Octets of the current header already written, and its length.
    offset: usize,
    seg_len: usize,
    /// Raw octets waiting to be encoded: `raw[raw_start..raw_end]`.
    raw: [u8; INPUT_BUF_LEN],
    raw_start: usize,
    raw_end: usize,
    /// Characters on the current base64 line (0 to 76).
    col: usize,
    /// File octets not yet pushed.
    remaining: u64,
    /// The part's input has ended.
    ended: bool,
    /// Octets of the text already moved into `raw`.
    text_pos: usize,
    /// Encoded octets that did not fit the caller's buffer.
    pend: [u8; 4],
    pend_start: usize,
    pend_end: usize,
}

impl<M> core::fmt::Debug for Composer<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Composer")
            .field("size", &self.size)
            .field("produced", &self.produced)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

impl<M: Message> Composer<M> {
    /// Checks the message and measures it. `date` is the `Date` field's
    /// time in seconds since 1970-01-01 00:00:00 UTC (`None`: no `Date`
    /// field; the submission server adds one). `random` are fresh random
    /// octets: the boundary is made from them.
    pub fn new(msg: M, date: Option<u64>, random: &[u8; RANDOM_LEN]) -> Result<Self, Error> {
        if !valid_address(msg.from()) {
            return Err(Error::InvalidFrom);
        }
        let mut i = 0;
        while let Some(t) = msg.to(i) {
            if i >= MAX_TO {
                return Err(Error::TooManyRecipients);
            }
            if !valid_address(t) {
                return Err(Error::InvalidTo(i));
            }
            i += 1;
        }
        if msg.subject().len() > MAX_SUBJECT_LEN {
            return Err(Error::SubjectTooLong);
        }
        if !valid_id_local(msg.message_id_local()) {
            return Err(Error::InvalidMessageId);
        }
        let mut attachments = 0;
        while let Some(a) = msg.attachment(attachments) {
            if attachments >= MAX_ATTACHMENTS {
                return Err(Error::TooManyAttachments);
            }
            if a.name.is_empty() || a.name.len() > MAX_FILE_NAME_LEN {
                return Err(Error::InvalidFileName(attachments));
            }
            if !a.content_type.is_empty() && !valid_content_type(a.content_type) {
                return Err(Error::InvalidContentType(attachments));
            }
            attachments += 1;
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id_hex = [0u8; ID_HEX_LEN];
        for (pair, &b) in id_hex.chunks_exact_mut(2).zip(random) {
            for (d, nibble) in pair.iter_mut().zip([b >> 4, b & 15]) {
                *d = HEX.get(usize::from(nibble)).copied().unwrap_or(b'0');
            }
        }
        let mut boundary = [0u8; BOUNDARY_LEN];
        for (d, &s) in boundary
            .iter_mut()
            .zip(b"=_mfp_".iter().chain(id_hex.iter()))
        {
            *d = s;
        }
        let has_text = msg.text().is_some() || attachments == 0;
        let mut c = Composer {
            msg,
            size: 0,
            produced: 0,
            attachments,
            has_text,
            date,
            boundary,
            id_hex,
            stage: Stage::Head,
            offset: 0,
            seg_len: 0,
            raw: [0; INPUT_BUF_LEN],
            raw_start: 0,
            raw_end: 0,
            col: 0,
            remaining: 0,
            ended: false,
            text_pos: 0,
            pend: [0; 4],
            pend_start: 0,
            pend_end: 0,
        };
        let mut size = c.literal_len(Stage::Head) as u64;
        if has_text {
            let text_len = c.msg.text().map_or(0, crlf_len) as u64;
            size = size
                .checked_add(base64_lines_len(text_len))
                .ok_or(Error::TooLarge)?;
        }
        for i in 0..attachments {
            let len = c.msg.attachment(i).map_or(0, |a| a.len);
            size = size
                .checked_add(c.literal_len(Stage::PartHead(i)) as u64)
                .and_then(|s| s.checked_add(base64_lines_len(len)))
                .filter(|_| len <= u64::MAX / 2)
                .ok_or(Error::TooLarge)?;
        }
        c.size = size
            .checked_add(c.literal_len(Stage::Close) as u64)
            .ok_or(Error::TooLarge)?;
        c.seg_len = c.literal_len(Stage::Head);
        Ok(c)
    }

    /// Octets of the whole message, exact, known before the first.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Octets produced so far.
    #[must_use]
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// The message being composed.
    pub fn message(&self) -> &M {
        &self.msg
    }

    /// Whether the whole message has been produced.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// The boundary (`=_mfp_` and 24 hex digits).
    #[must_use]
    pub fn boundary(&self) -> &[u8; BOUNDARY_LEN] {
        &self.boundary
    }

    /// Back to the message's first octet, the same message again: the
    /// same date, boundary and Message-ID, so octet for octet what was
    /// produced before (a mail API asks a refused request again with the
    /// whole body, or a resumed upload drops what the server holds; the
    /// caller reads its files again from their start). A composer that
    /// failed (a file shorter or longer than announced) starts clean.
    pub fn restart(&mut self) {
        self.stage = Stage::Head;
        self.offset = 0;
        self.seg_len = self.literal_len(Stage::Head);
        self.produced = 0;
        self.raw_start = 0;
        self.raw_end = 0;
        self.col = 0;
        self.remaining = 0;
        self.ended = false;
        self.text_pos = 0;
        self.pend_start = 0;
        self.pend_end = 0;
        // The file octets of the last message stay nowhere.
        zeroize::Zeroize::zeroize(&mut self.raw);
        zeroize::Zeroize::zeroize(&mut self.pend);
    }

    /// Writes the next octets of the message into `out` (any length, even
    /// one octet), or says which file's octets are needed, or that the
    /// message is complete. An empty `out` gets `Wrote(0)`.
    pub fn poll_output(&mut self, out: &mut [u8]) -> Result<Output, Error> {
        let mut n = 0;
        loop {
            if self.pend_start < self.pend_end {
                let src = self.pend.get(self.pend_start..self.pend_end).unwrap_or(&[]);
                let k = src.len().min(out.len() - n);
                if let (Some(d), Some(s)) = (out.get_mut(n..n + k), src.get(..k)) {
                    d.copy_from_slice(s);
                }
                n += k;
                self.pend_start += k;
            }
            if n == out.len() {
                break;
            }
            match self.stage {
                Stage::Failed(e) => return Err(e),
                Stage::Done => break,
                stage @ (Stage::Head | Stage::PartHead(_) | Stage::Close) => {
                    let mut sink = Sink::new(out.get_mut(n..).unwrap_or(&mut []), self.offset);
                    self.write_literal(stage, &mut sink);
                    n += sink.kept();
                    self.offset += sink.kept();
                    if self.offset >= self.seg_len {
                        self.advance();
                    }
                }
                Stage::Text => {
                    if self.raw_end - self.raw_start < 3 && !self.ended {
                        self.fill_text();
                    }
                    n = self.encode(out, n);
                    if self.ended && self.raw_start == self.raw_end {
                        self.advance();
                    }
                }
                Stage::PartBody(part) => {
                    n = self.encode(out, n);
                    if self.ended && self.raw_start == self.raw_end {
                        self.advance();
                    } else if self.raw_end - self.raw_start < 3 && n < out.len() {
                        if n > 0 {
                            break;
                        }
                        self.compact();
                        return Ok(Output::NeedInput {
                            part,
                            max: INPUT_BUF_LEN - self.raw_end,
                        });
                    }
                }
            }
        }
        self.produced += n as u64;
        if n == 0 && self.stage == Stage::Done {
            return Ok(Output::Done);
        }
        Ok(Output::Wrote(n))
    }

    /// Pushes octets of the file [`Output::NeedInput`] asked for; returns
    /// how many were taken (at most `max`: offer the rest again after
    /// polling). An empty `input` says the file has ended.
    ///
    /// Errors: [`Error::FileShorter`] for an end before the announced
    /// length, [`Error::FileLonger`] for octets past it (the composer then
    /// fails: abandon the message); [`Error::NotExpectingInput`] when no
    /// file is being read (the composer goes on).
    pub fn handle_input(&mut self, input: &[u8]) -> Result<usize, Error> {
        let part = match self.stage {
            Stage::Failed(e) => return Err(e),
            Stage::PartBody(part) if !self.ended => part,
            _ => return Err(Error::NotExpectingInput),
        };
        if input.is_empty() {
            if self.remaining > 0 {
                return Err(self.fail(Error::FileShorter { part }));
            }
            self.ended = true;
            return Ok(0);
        }
        self.compact();
        let take = input.len().min(INPUT_BUF_LEN - self.raw_end);
        if take as u64 > self.remaining {
            return Err(self.fail(Error::FileLonger { part }));
        }
        if let (Some(d), Some(s)) = (
            self.raw.get_mut(self.raw_end..self.raw_end + take),
            input.get(..take),
        ) {
            d.copy_from_slice(s);
        }
        self.raw_end += take;
        self.remaining -= take as u64;
        Ok(take)
    }

    fn fail(&mut self, e: Error) -> Error {
        self.stage = Stage::Failed(e);
        e
    }

    fn write_literal(&self, stage: Stage, sink: &mut Sink<'_>) {
        match stage {
            Stage::Head => head::top(
                &self.msg,
                self.date,
                &self.boundary,
                &self.id_hex,
                self.has_text,
                sink,
            ),
            Stage::PartHead(i) => {
                if let Some(a) = self.msg.attachment(i) {
                    head::part(&a, &self.boundary, sink);
                }
            }
            Stage::Close => head::close(&self.boundary, sink),
            _ => {}
        }
    }

    fn literal_len(&self, stage: Stage) -> usize {
        let mut sink = Sink::measure();
        self.write_literal(stage, &mut sink);
        sink.len()
    }

    /// Moves to the stage after the current one.
    fn advance(&mut self) {
        let next_part = |i: usize, n: usize| {
            if i < n {
                Stage::PartHead(i)
            } else {
                Stage::Close
            }
        };
        self.stage = match self.stage {
            Stage::Head if self.has_text => Stage::Text,
            Stage::Head => next_part(0, self.attachments),
            Stage::Text => next_part(0, self.attachments),
            Stage::PartHead(i) => Stage::PartBody(i),
            Stage::PartBody(i) => next_part(i + 1, self.attachments),
            Stage::Close | Stage::Done => Stage::Done,
            s @ Stage::Failed(_) => s,
        };
        self.offset = 0;
        self.seg_len = self.literal_len(self.stage);
        self.raw_start = 0;
        self.raw_end = 0;
        self.col = 0;
        self.text_pos = 0;
        self.ended = false;
        self.remaining = match self.stage {
            Stage::PartBody(i) => self.msg.attachment(i).map_or(0, |a| a.len),
            _ => 0,
        };
    }

    /// Moves the waiting raw octets to the start of `raw`.
    fn compact(&mut self) {
        if self.raw_start > 0 {
            self.raw.copy_within(self.raw_start..self.raw_end, 0);
            self.raw_end -= self.raw_start;
            self.raw_start = 0;
        }
    }

    /// Moves the next octets of the text into `raw`, line ends as CRLF.
    fn fill_text(&mut self) {
        self.compact();
        let text = self.msg.text().unwrap_or("").as_bytes();
        while self.raw_end + 2 <= INPUT_BUF_LEN {
            let Some(&c) = text.get(self.text_pos) else {
                self.ended = true;
                return;
            };
            self.text_pos += 1;
            let (pair, k): ([u8; 2], usize) = match c {
                b'\r' => {
                    if text.get(self.text_pos) == Some(&b'\n') {
                        self.text_pos += 1;
                    }
                    (*b"\r\n", 2)
                }
                b'\n' => (*b"\r\n", 2),
                c => ([c, 0], 1),
            };
            if let (Some(d), Some(s)) = (
                self.raw.get_mut(self.raw_end..self.raw_end + k),
                pair.get(..k),
            ) {
                d.copy_from_slice(s);
            }
            self.raw_end += k;
        }
    }

    /// Encodes waiting raw octets into `out[n..]`: whole 3-octet groups,
    /// and the last 1 or 2 octets once the input has ended. Returns the new
    /// `n`.
    fn encode(&mut self, out: &mut [u8], mut n: usize) -> usize {
        let b64 = &base64::engine::general_purpose::STANDARD;
        while n < out.len() && self.pend_start == self.pend_end {
            let avail = self.raw_end - self.raw_start;
            let group = if avail >= 3 {
                3
            } else if self.ended && avail > 0 {
                avail
            } else {
                break;
            };
            if self.col == LINE_OUT {
                n = self.emit(b"\r\n", out, n);
                self.col = 0;
                continue;
            }
            let room = out.len() - n;
            if self.col == 0 && avail >= LINE_IN && room >= LINE_OUT {
                // As many whole lines as are waiting and fit, in one go:
                // each but the last with its CRLF (the last one's comes
                // with the next group, or with the part's end).
                let lines = (avail / LINE_IN).min((room + 2) / (LINE_OUT + 2));
                let len = lines * (LINE_OUT + 2) - 2;
                let (Some(src), Some(dst)) = (
                    self.raw
                        .get(self.raw_start..self.raw_start + lines * LINE_IN),
                    out.get_mut(n..n + len),
                ) else {
                    break;
                };
                for (s, d) in src.chunks_exact(LINE_IN).zip(dst.chunks_mut(LINE_OUT + 2)) {
                    let (line, crlf) = d.split_at_mut(LINE_OUT.min(d.len()));
                    encode_line(s, line);
                    if let Some(e) = crlf.get_mut(..2) {
                        e.copy_from_slice(b"\r\n");
                    }
                }
                n += len;
                self.raw_start += lines * LINE_IN;
                self.col = LINE_OUT;
                continue;
            }
            let mut quad = [0u8; 4];
            let src = self
                .raw
                .get(self.raw_start..self.raw_start + group)
                .unwrap_or(&[]);
            let k = b64.encode_slice(src, &mut quad).unwrap_or(0);
            self.raw_start += group;
            self.col += 4;
            n = self.emit(quad.get(..k).unwrap_or(&[]), out, n);
        }
        n
    }

    /// Writes `s` (at most 4 octets) into `out[n..]`, keeping what does not
    /// fit for the next call.
    fn emit(&mut self, s: &[u8], out: &mut [u8], n: usize) -> usize {
        let k = s.len().min(out.len() - n);
        if let (Some(d), Some(src)) = (out.get_mut(n..n + k), s.get(..k)) {
            d.copy_from_slice(src);
        }
        let rest = s.get(k..).unwrap_or(&[]);
        if let Some(p) = self.pend.get_mut(..rest.len()) {
            p.copy_from_slice(rest);
            self.pend_start = 0;
            self.pend_end = rest.len();
        }
        n + k
    }
}

/// The base64 alphabet (RFC 4648 §4).
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The characters of every 12-bit value, two at a time: one look-up per
/// two characters. 8 KiB, so only where memory is plentiful (64-bit
/// hosts); a 32-bit board keeps the 64-octet alphabet.
#[cfg(any(test, target_pointer_width = "64"))]
#[allow(
    clippy::indexing_slicing,
    reason = "evaluated while compiling: an index out of bounds fails the build, never a run"
)]
static PAIRS: [[u8; 2]; 4096] = {
    let mut t = [[0u8; 2]; 4096];
    let mut i = 0;
    while i < 4096 {
        t[i] = [B64[i >> 6], B64[i & 63]];
        i += 1;
    }
    t
};

/// One base64 character of the low 6 bits of `v`.
fn sym(v: u64) -> u8 {
    B64.get((v & 63) as usize).copied().unwrap_or(b'A')
}

/// Two base64 characters of the low 12 bits of `v`.
#[cfg(any(test, target_pointer_width = "64"))]
fn pair(v: u64) -> [u8; 2] {
    PAIRS.get((v & 0xfff) as usize).copied().unwrap_or(*b"AA")
}

/// Encodes `src` (a multiple of 3 octets) into `dst` (4 characters for
/// each 3), six octets at a time: no padding, no length checks per
/// octet. The hot loop of an attachment (R-MIME).
fn encode_line(src: &[u8], dst: &mut [u8]) {
    #[cfg(target_pointer_width = "64")]
    encode_groups_by_pairs(src, dst);
    #[cfg(not(target_pointer_width = "64"))]
    encode_groups(src, dst);
}

/// [`encode_line`] with one look-up per character.
#[cfg(any(test, not(target_pointer_width = "64")))]
fn encode_groups(src: &[u8], dst: &mut [u8]) {
    let mut d6 = dst.chunks_exact_mut(8);
    let mut s6 = src.chunks_exact(6);
    for (s, d) in (&mut s6).zip(&mut d6) {
        let (&[a, b, c, e, f, g], Ok(d)) = (s, <&mut [u8; 8]>::try_from(d)) else {
            continue;
        };
        let v = u64::from_be_bytes([0, 0, a, b, c, e, f, g]);
        *d = [
            sym(v >> 42),
            sym(v >> 36),
            sym(v >> 30),
            sym(v >> 24),
            sym(v >> 18),
            sym(v >> 12),
            sym(v >> 6),
            sym(v),
        ];
    }
    encode_rest(s6.remainder(), d6.into_remainder());
}

/// [`encode_line`] with one look-up per two characters.
#[cfg(any(test, target_pointer_width = "64"))]
fn encode_groups_by_pairs(src: &[u8], dst: &mut [u8]) {
    let mut d6 = dst.chunks_exact_mut(8);
    let mut s6 = src.chunks_exact(6);
    for (s, d) in (&mut s6).zip(&mut d6) {
        let (&[a, b, c, e, f, g], Ok(d)) = (s, <&mut [u8; 8]>::try_from(d)) else {
            continue;
        };
        let v = u64::from_be_bytes([0, 0, a, b, c, e, f, g]);
        let [p, q] = pair(v >> 36);
        let [r, t] = pair(v >> 24);
        let [w, x] = pair(v >> 12);
        let [y, z] = pair(v);
        *d = [p, q, r, t, w, x, y, z];
    }
    encode_rest(s6.remainder(), d6.into_remainder());
}

/// The last 3-octet groups of a line (fewer than six octets).
fn encode_rest(src: &[u8], dst: &mut [u8]) {
    for (s, d) in src.chunks_exact(3).zip(dst.chunks_exact_mut(4)) {
        let (&[a, b, c], Ok(d)) = (s, <&mut [u8; 4]>::try_from(d)) else {
            continue;
        };
        let v = u64::from_be_bytes([0, 0, 0, 0, 0, a, b, c]);
        *d = [sym(v >> 18), sym(v >> 12), sym(v >> 6), sym(v)];
    }
}
