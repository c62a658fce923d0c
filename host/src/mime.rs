//! Composing a scan job's e-mail as a stream: the header, a text part and
//! the scanned files as base64 attachments, produced on the fly while the
//! SMTP driver sends it (issue 11). Nothing holds the whole message: an
//! attachment is read from its file through one fixed buffer
//! ([`RAW_BUF_LEN`] octets) and encoded line by line into the caller's
//! buffer, so the memory a job needs does not grow with the scan's size.
//!
//! The size is exact before the first octet is produced ([`MimeStream::len`],
//! from the files' lengths), so `MAIL FROM … SIZE=` announces the octets
//! that follow and a server's size limit refuses the job before the body.
//!
//! What is produced (RFC 5322, 2045, 2046, 2047, 2231):
//! - `Date`, `From`, `To` (folded), `Subject` (RFC 2047 encoded words when
//!   not plain ASCII), `Message-ID`, `MIME-Version`, `Content-Type:
//!   multipart/mixed` with a boundary that cannot occur in any part
//!   (`=_` never appears in base64; the text part is checked);
//! - a text part, `7bit` when it is plain ASCII with short lines, base64
//!   UTF-8 otherwise;
//! - one part per file: its content type, `name` and `filename` parameters
//!   (RFC 2231 `*0*=utf-8''…` continuations when the name is not plain
//!   ASCII or is long), base64 in 76-column lines;
//! - CRLF line ends everywhere and no line above 78 octets except a long
//!   ASCII subject word (never above 998).

use base64::Engine as _;
use std::fmt::Write as _;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Octets of a file read at once (64 base64 lines of 57 octets).
pub const RAW_BUF_LEN: usize = 57 * 64;

/// Octets of input per base64 line (RFC 2045 §6.8: 76 characters).
const LINE_IN: usize = 57;
/// Characters of a full base64 line.
const LINE_OUT: usize = 76;

/// Where an attachment's octets come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file, opened when its part is reached (one file open at a time).
    File(PathBuf),
    /// Octets in memory (the demo's simulated scans, notifications).
    Memory(Arc<[u8]>),
}

/// One attached file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name shown to the recipient.
    pub name: String,
    /// MIME type, from the file name's extension.
    pub content_type: &'static str,
    /// The octets.
    pub source: Source,
    /// How many octets the source holds; the stream fails if the file
    /// turns out shorter or longer when it is read.
    pub len: u64,
}

/// The MIME type a scanner's output file has, by extension (case-insensitive);
/// `application/octet-stream` when unknown.
#[must_use]
pub fn content_type_for(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "tif" | "tiff" => "image/tiff",
        "xps" => "application/vnd.ms-xpsdocument",
        "oxps" => "application/oxps",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

impl Attachment {
    /// A file to attach: its name, type and length (the file is read only
    /// while the message is sent).
    pub fn from_file(path: &Path) -> io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scan".to_owned());
        Ok(Attachment {
            name,
            content_type: content_type_for(path),
            source: Source::File(path.to_owned()),
            len: meta.len(),
        })
    }

    /// Octets held in memory.
    #[must_use]
    pub fn from_bytes(name: &str, content_type: &'static str, data: Vec<u8>) -> Self {
        Attachment {
            name: name.to_owned(),
            content_type,
            len: data.len() as u64,
            source: Source::Memory(data.into()),
        }
    }
}

/// What the message says.
#[derive(Debug, Clone)]
pub struct Composition<'a> {
    /// From address.
    pub from: &'a str,
    /// To addresses.
    pub to: &'a [String],
    /// Subject line (any Unicode; encoded as needed).
    pub subject: &'a str,
    /// Text part (any Unicode; line ends become CRLF).
    pub text: &'a str,
    /// Files.
    pub attachments: &'a [Attachment],
    /// Unique part of the Message-ID (the domain is the sender's); also
    /// seeds the boundary.
    pub message_id_local: &'a str,
    /// The `Date` header field's time (shown in UTC).
    pub date: SystemTime,
}

/// Octets of `n` input octets in base64, in 76-column lines joined by
/// CRLF (no line end after the last line: it belongs to the boundary
/// delimiter that follows, RFC 2046 §5.1.1).
#[must_use]
pub fn base64_lines_len(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let chars = n.div_ceil(3) * 4;
    let lines = n.div_ceil(LINE_IN as u64);
    chars + 2 * (lines - 1)
}

enum Piece {
    Literal(Vec<u8>),
    Base64(Source, u64),
}

/// The part being base64-encoded.
struct Encoding {
    reader: Box<dyn Read + Send>,
    /// Octets still to read from the source.
    remaining: u64,
    first_line: bool,
}

/// The message as a [`Read`]er of its octets, produced on demand.
pub struct MimeStream {
    pieces: Vec<Piece>,
    index: usize,
    offset: usize,
    encoding: Option<Encoding>,
    raw: Box<[u8]>,
    raw_start: usize,
    raw_end: usize,
    /// One encoded line that did not fit the caller's buffer.
    carry: [u8; LINE_OUT + 2],
    carry_start: usize,
    carry_end: usize,
    len: u64,
}

impl std::fmt::Debug for MimeStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MimeStream")
            .field("len", &self.len)
            .field("part", &self.index)
            .finish_non_exhaustive()
    }
}

impl MimeStream {
    /// Octets the stream produces in all (exact, known before the first).
    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the message is empty (never: there is always a header).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn next_line(&mut self) -> io::Result<Option<usize>> {
        let Some(enc) = self.encoding.as_mut() else {
            return Ok(None);
        };
        if self.raw_end - self.raw_start < LINE_IN && enc.remaining > 0 {
            self.raw.copy_within(self.raw_start..self.raw_end, 0);
            self.raw_end -= self.raw_start;
            self.raw_start = 0;
            while self.raw_end < self.raw.len() && enc.remaining > 0 {
                let want = (self.raw.len() - self.raw_end)
                    .min(usize::try_from(enc.remaining).unwrap_or(usize::MAX));
                match enc
                    .reader
                    .read(&mut self.raw[self.raw_end..self.raw_end + want])
                {
                    Ok(0) => {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "an attached file got shorter while it was sent",
                        ))
                    }
                    Ok(n) => {
                        self.raw_end += n;
                        enc.remaining -= n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let avail = self.raw_end - self.raw_start;
        if avail == 0 {
            let mut probe = [0u8; 1];
            if enc.reader.read(&mut probe)? != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "an attached file grew while it was sent",
                ));
            }
            self.encoding = None;
            return Ok(None);
        }
        Ok(Some(avail.min(LINE_IN)))
    }

    /// Encode the next `take` raw octets as one line (after a CRLF unless
    /// it is the part's first) into `out`, which has room for it.
    fn encode_line(&mut self, take: usize, out: &mut [u8]) -> usize {
        let mut n = 0;
        if let Some(enc) = self.encoding.as_mut() {
            if !enc.first_line {
                out[..2].copy_from_slice(b"\r\n");
                n = 2;
            }
            enc.first_line = false;
        }
        let input = &self.raw[self.raw_start..self.raw_start + take];
        n += base64::engine::general_purpose::STANDARD
            .encode_slice(input, &mut out[n..])
            .unwrap_or(0);
        self.raw_start += take;
        n
    }
}

impl Read for MimeStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            if self.carry_start < self.carry_end {
                let k = (self.carry_end - self.carry_start).min(buf.len() - n);
                buf[n..n + k].copy_from_slice(&self.carry[self.carry_start..self.carry_start + k]);
                self.carry_start += k;
                n += k;
                continue;
            }
            match self.pieces.get(self.index) {
                None => break,
                Some(Piece::Literal(bytes)) => {
                    let rest = &bytes[self.offset..];
                    let k = rest.len().min(buf.len() - n);
                    buf[n..n + k].copy_from_slice(&rest[..k]);
                    n += k;
                    self.offset += k;
                    if self.offset == bytes.len() {
                        self.index += 1;
                        self.offset = 0;
                    }
                }
                Some(Piece::Base64(source, len)) => {
                    if self.encoding.is_none() && self.offset == 0 {
                        let reader: Box<dyn Read + Send> = match source {
                            Source::File(p) => Box::new(std::fs::File::open(p)?),
                            Source::Memory(m) => Box::new(io::Cursor::new(Arc::clone(m))),
                        };
                        self.encoding = Some(Encoding {
                            reader,
                            remaining: *len,
                            first_line: true,
                        });
                        self.offset = 1;
                    }
                    let Some(take) = self.next_line()? else {
                        self.index += 1;
                        self.offset = 0;
                        continue;
                    };
                    if buf.len() - n >= LINE_OUT + 2 {
                        n += self.encode_line(take, &mut buf[n..]);
                    } else {
                        let mut line = [0u8; LINE_OUT + 2];
                        let k = self.encode_line(take, &mut line);
                        self.carry = line;
                        self.carry_start = 0;
                        self.carry_end = k;
                    }
                }
            }
        }
        Ok(n)
    }
}

/// The message as a stream; its length is exact before the first octet.
pub fn stream(c: &Composition<'_>) -> MimeStream {
    let text = crlf(c.text);
    let seven_bit = text.split("\r\n").all(|l| l.len() <= 998)
        && text
            .bytes()
            .all(|b| b == b'\t' || b == b'\r' || b == b'\n' || (0x20..0x7f).contains(&b));
    let mut salt = 0u32;
    let boundary = loop {
        let b = boundary(c.message_id_local, salt);
        // Base64 never holds `=_`; only a 7bit text part could hold it.
        if !(seven_bit && text.contains(&b)) {
            break b;
        }
        salt += 1;
    };
    let domain = c.from.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let mut head = String::new();
    let _ = write!(head, "Date: {}\r\n", rfc5322_date(c.date));
    let _ = write!(head, "From: <{}>\r\n", c.from);
    if !c.to.is_empty() {
        head.push_str(&fold_list("To:", c.to.iter().map(|t| format!("<{t}>"))));
    }
    head.push_str(&subject_field(c.subject));
    let _ = write!(head, "Message-ID: <{}@{domain}>\r\n", c.message_id_local);
    head.push_str("MIME-Version: 1.0\r\n");
    let _ = write!(
        head,
        "Content-Type: multipart/mixed;\r\n boundary=\"{boundary}\"\r\n"
    );
    head.push_str("X-Mailer: mfp-oauth\r\n\r\n");
    let _ = write!(head, "--{boundary}\r\n");
    let mut pieces = Vec::new();
    if seven_bit {
        head.push_str("Content-Type: text/plain; charset=us-ascii\r\n");
        head.push_str("Content-Transfer-Encoding: 7bit\r\n\r\n");
        head.push_str(&text);
        pieces.push(Piece::Literal(head.into_bytes()));
    } else {
        head.push_str("Content-Type: text/plain; charset=utf-8\r\n");
        head.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        pieces.push(Piece::Literal(head.into_bytes()));
        let bytes: Arc<[u8]> = text.into_bytes().into();
        let len = bytes.len() as u64;
        pieces.push(Piece::Base64(Source::Memory(bytes), len));
    }
    for a in c.attachments {
        let mut h = format!("\r\n--{boundary}\r\n");
        let _ = write!(h, "Content-Type: {}", a.content_type);
        h.push_str(&parameter("name", &a.name));
        h.push_str("\r\nContent-Transfer-Encoding: base64\r\n");
        h.push_str("Content-Disposition: attachment");
        h.push_str(&parameter("filename", &a.name));
        h.push_str("\r\n\r\n");
        pieces.push(Piece::Literal(h.into_bytes()));
        pieces.push(Piece::Base64(a.source.clone(), a.len));
    }
    pieces.push(Piece::Literal(
        format!("\r\n--{boundary}--\r\n").into_bytes(),
    ));
    let len = pieces
        .iter()
        .map(|p| match p {
            Piece::Literal(v) => v.len() as u64,
            Piece::Base64(_, n) => base64_lines_len(*n),
        })
        .sum();
    MimeStream {
        pieces,
        index: 0,
        offset: 0,
        encoding: None,
        raw: vec![0u8; RAW_BUF_LEN].into_boxed_slice(),
        raw_start: 0,
        raw_end: 0,
        carry: [0u8; LINE_OUT + 2],
        carry_start: 0,
        carry_end: 0,
        len,
    }
}

/// The whole message in memory (small messages, tests).
pub fn compose(c: &Composition<'_>) -> io::Result<Vec<u8>> {
    let mut s = stream(c);
    let mut v = Vec::with_capacity(usize::try_from(s.len()).unwrap_or(0));
    s.read_to_end(&mut v)?;
    Ok(v)
}

/// `=_mfp_` and 24 hex digits from the Message-ID's local part.
fn boundary(seed: &str, salt: u32) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(seed.as_bytes());
    h.update(salt.to_be_bytes());
    let d = h.finalize();
    let mut s = String::from("=_mfp_");
    for b in d.iter().take(12) {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Line ends as CRLF (lone CR and lone LF alike).
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\r\n");
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

/// `Name: a, b, …` folded before an item that would pass 78 columns.
fn fold_list(name: &str, items: impl Iterator<Item = String>) -> String {
    let mut out = String::from(name);
    let mut col = name.len();
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
            col += 1;
        }
        if i > 0 && col + 1 + item.len() > 78 {
            out.push_str("\r\n");
            col = 0;
        }
        out.push(' ');
        out.push_str(&item);
        col += 1 + item.len();
    }
    out.push_str("\r\n");
    out
}

/// `Subject:` as is when plain printable ASCII (folded at spaces), else
/// RFC 2047 `B` encoded words of at most 75 characters, one per line.
fn subject_field(subject: &str) -> String {
    let plain = subject.len() <= 900 && subject.bytes().all(|b| (0x20..0x7f).contains(&b));
    if plain {
        return fold_words("Subject:", subject);
    }
    // Line breaks in a subject are not content: they would end the field.
    let flat: String = subject
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    let mut words = Vec::new();
    let mut chunk = String::new();
    for ch in flat.chars() {
        // 45 octets give 60 base64 characters: `=?UTF-8?B?` + 60 + `?=` = 72.
        if chunk.len() + ch.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(ch);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(chunk);
    }
    let mut out = String::from("Subject:");
    for w in words {
        let enc = base64::engine::general_purpose::STANDARD.encode(w.as_bytes());
        let _ = write!(out, " =?UTF-8?B?{enc}?=\r\n");
    }
    out
}

fn fold_words(name: &str, text: &str) -> String {
    let mut out = String::from(name);
    let mut col = name.len();
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 && col + 1 + word.len() > 78 {
            out.push_str("\r\n");
            col = 0;
        }
        out.push(' ');
        out.push_str(word);
        col += 1 + word.len();
    }
    out.push_str("\r\n");
    out
}

/// `; attr="value"` for a short plain ASCII value, else RFC 2231
/// `attr*0*=utf-8''…` continuations of at most 60 characters per line.
fn parameter(attr: &str, value: &str) -> String {
    let plain = value.len() <= 60
        && !value.is_empty()
        && value
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    if plain {
        return format!(";\r\n {attr}=\"{value}\"");
    }
    let mut pieces = vec![String::from("utf-8''")];
    for b in value.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b);
        let enc = if keep {
            (b as char).to_string()
        } else {
            format!("%{b:02X}")
        };
        let last = pieces.last_mut().map_or(0, |p| p.len());
        if last + enc.len() > 60 {
            pieces.push(String::new());
        }
        if let Some(p) = pieces.last_mut() {
            p.push_str(&enc);
        }
    }
    let mut out = String::new();
    for (i, p) in pieces.iter().enumerate() {
        let _ = write!(out, ";\r\n {attr}*{i}*={p}");
    }
    out
}

/// `Tue, 24 Nov 2026 10:27:52 +0000` (RFC 5322 §3.3), in UTC.
#[must_use]
pub fn rfc5322_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// (year, month 1–12, day 1–31) of a day count since 1970-01-01
/// (the proleptic Gregorian calendar, by 400-year eras).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn when() -> SystemTime {
        // 2026-11-24 10:27:52 UTC, a Tuesday.
        UNIX_EPOCH + Duration::from_secs(1_795_516_072)
    }

    fn data(n: usize) -> Vec<u8> {
        let mut x: u32 = 0x2545_F491;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    fn message(text: &str, subject: &str, atts: &[Attachment]) -> (MimeStream, Vec<u8>) {
        let to = ["a@x.test".to_owned(), "b@x.test".to_owned()];
        let c = Composition {
            from: "scanner@contoso.test",
            to: &to,
            subject,
            text,
            attachments: atts,
            message_id_local: "job-1",
            date: when(),
        };
        (stream(&c), compose(&c).unwrap())
    }

    #[test]
    fn types_by_extension() {
        assert_eq!(content_type_for(Path::new("a/SCAN.PDF")), "application/pdf");
        assert_eq!(content_type_for(Path::new("x.tiff")), "image/tiff");
        assert_eq!(
            content_type_for(Path::new("noext")),
            "application/octet-stream"
        );
    }

    #[test]
    fn dates_are_rfc5322_in_utc() {
        assert_eq!(rfc5322_date(when()), "Tue, 24 Nov 2026 10:27:52 +0000");
        assert_eq!(rfc5322_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 +0000");
        // A leap day.
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc5322_date(leap), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn base64_length_formula_matches_the_encoder() {
        for n in (0..300).chain([57 * 64, 57 * 64 + 1, 100_000]) {
            let raw = data(n);
            let enc = base64::engine::general_purpose::STANDARD.encode(&raw);
            let lines: Vec<&str> = enc
                .as_bytes()
                .chunks(LINE_OUT)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            assert_eq!(
                base64_lines_len(n as u64),
                lines.join("\r\n").len() as u64,
                "n = {n}"
            );
        }
    }

    #[test]
    fn announced_length_is_the_produced_length_for_any_read_size() {
        for size in [0usize, 1, 56, 57, 58, 3648, 3649, 70_000] {
            let atts = [
                Attachment::from_bytes("scan 1.pdf", "application/pdf", data(size)),
                Attachment::from_bytes("b.png", "image/png", data(size / 3)),
            ];
            for text in ["Attached: 1 page.", "Été\n", ""] {
                let (s, whole) = message(text, "Scan", &atts);
                assert_eq!(s.len(), whole.len() as u64, "size {size} text {text:?}");
                // Every read size gives the same octets.
                for step in [1usize, 7, 77, 78, 79, 4096] {
                    let (mut s, _) = message(text, "Scan", &atts);
                    let mut got = Vec::new();
                    let mut buf = vec![0u8; step];
                    loop {
                        let n = s.read(&mut buf).unwrap();
                        if n == 0 {
                            break;
                        }
                        got.extend_from_slice(&buf[..n]);
                    }
                    assert!(got == whole, "size {size} step {step}");
                }
            }
        }
    }

    #[test]
    fn lines_are_crlf_and_short() {
        let atts = [Attachment::from_bytes(
            "a.pdf",
            "application/pdf",
            data(10_000),
        )];
        let (_, m) = message("one\ntwo\rthree\r\n", &"word ".repeat(40), &atts);
        let text = String::from_utf8(m).unwrap();
        for line in text.split("\r\n") {
            assert!(line.len() <= 78, "{line:?}");
            assert!(!line.contains('\r') && !line.contains('\n'));
        }
        assert!(text.ends_with("--\r\n"));
    }

    #[test]
    fn a_file_that_changes_size_fails_the_stream() {
        let dir = std::env::temp_dir().join(format!("mfp-mime-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("scan.pdf");
        std::fs::write(&path, data(1000)).unwrap();
        let att = [Attachment::from_file(&path).unwrap()];
        assert_eq!(att[0].len, 1000);
        let c = Composition {
            from: "a@b.test",
            to: &[],
            subject: "s",
            text: "t",
            attachments: &att,
            message_id_local: "x",
            date: when(),
        };
        for (now, kind) in [
            (900, io::ErrorKind::UnexpectedEof),
            (1100, io::ErrorKind::InvalidData),
        ] {
            std::fs::write(&path, data(now)).unwrap();
            let err = stream(&c).read_to_end(&mut Vec::new()).unwrap_err();
            assert_eq!(err.kind(), kind, "file now {now} octets");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_boundary_never_occurs_in_the_text() {
        let first = boundary("job-1", 0);
        let text = format!("a line\n--{first}\nanother");
        let (_, m) = message(&text, "s", &[]);
        let m = String::from_utf8(m).unwrap();
        let chosen = boundary("job-1", 1);
        assert!(m.contains(&format!("boundary=\"{chosen}\"")), "{m}");
        assert_eq!(m.matches(&format!("--{chosen}")).count(), 2, "{m}");
        assert!(m.contains(&format!("\r\n--{first}\r\n")), "text kept");
    }

    #[test]
    fn non_ascii_subject_and_file_name_are_encoded() {
        let atts = [Attachment::from_bytes(
            "relevé d'été n°1 — scanné au 3ᵉ étage, bureau 42, très long nom.pdf",
            "application/pdf",
            data(10),
        )];
        let (_, m) = message("x", "Numérisation « été » ✓", &atts);
        let text = String::from_utf8(m).unwrap();
        assert!(text.is_ascii());
        assert!(text.contains("Subject: =?UTF-8?B?"), "{text}");
        assert!(text.contains(" filename*0*=utf-8''relev%C3%A9"), "{text}");
        assert!(text.contains(" filename*1*="), "{text}");
    }
}
