//! The header text of the message and of its parts, written through a
//! [`Sink`] that keeps only a window of it: the composer writes a header
//! again from its start on every call and keeps the octets it has not sent
//! yet, so no header is ever held in memory whole.

use base64::Engine as _;

use super::{Attachment, Message, BOUNDARY_LEN, ID_HEX_LEN};

/// A window `skip..` of the text written to it, into `out`; counts every
/// octet (`pos`) so that the same writer also measures.
pub(super) struct Sink<'o> {
    out: &'o mut [u8],
    skip: usize,
    pos: usize,
    n: usize,
}

impl<'o> Sink<'o> {
    /// Keeps the octets from `skip` on, as many as `out` holds.
    pub(super) fn new(out: &'o mut [u8], skip: usize) -> Self {
        Sink {
            out,
            skip,
            pos: 0,
            n: 0,
        }
    }

    /// Keeps nothing: only measures.
    pub(super) fn measure() -> Sink<'static> {
        Sink {
            out: &mut [],
            skip: 0,
            pos: 0,
            n: 0,
        }
    }

    /// Octets written to it so far (kept or not).
    pub(super) fn len(&self) -> usize {
        self.pos
    }

    /// Octets kept in `out`.
    pub(super) fn kept(&self) -> usize {
        self.n
    }

    pub(super) fn put(&mut self, s: &[u8]) {
        let start = self.pos;
        self.pos = self.pos.saturating_add(s.len());
        if self.pos <= self.skip || self.n >= self.out.len() {
            return;
        }
        let src = s.get(self.skip.saturating_sub(start)..).unwrap_or(&[]);
        let k = src.len().min(self.out.len() - self.n);
        if let (Some(dst), Some(src)) = (self.out.get_mut(self.n..self.n + k), src.get(..k)) {
            dst.copy_from_slice(src);
        }
        self.n += k;
    }

    fn put_str(&mut self, s: &str) {
        self.put(s.as_bytes());
    }

    fn put_decimal(&mut self, n: u64, min_digits: usize) {
        let mut buf = [0u8; 20];
        let digits = crate::wire::decimal(n, &mut buf);
        for _ in digits.len()..min_digits {
            self.put(b"0");
        }
        self.put(digits);
    }
}

/// Longest header line the composer writes before folding, in columns.
const FOLD_AT: usize = 78;

/// The message's header and, when there is a text part, that part's
/// header: everything up to the text's first base64 line.
pub(super) fn top<M: Message + ?Sized>(
    m: &M,
    date: Option<u64>,
    boundary: &[u8; BOUNDARY_LEN],
    id_hex: &[u8; ID_HEX_LEN],
    has_text: bool,
    s: &mut Sink<'_>,
) {
    if let Some(t) = date {
        s.put(b"Date: ");
        rfc5322_date(t, s);
        s.put(b"\r\n");
    }
    s.put(b"From: <");
    s.put_str(m.from());
    s.put(b">\r\n");
    if m.to(0).is_some() {
        s.put(b"To:");
        let mut col = 3;
        let mut i = 0;
        while let Some(t) = m.to(i) {
            let item = t.len() + 2;
            if i > 0 {
                s.put(b",");
                col += 1;
                if col + 1 + item > FOLD_AT {
                    s.put(b"\r\n");
                    col = 0;
                }
            }
            s.put(b" <");
            s.put_str(t);
            s.put(b">");
            col += 1 + item;
            i += 1;
        }
        s.put(b"\r\n");
    }
    subject(m.subject(), s);
    s.put(b"Message-ID: <");
    let local = m.message_id_local();
    if local.is_empty() {
        s.put(id_hex);
    } else {
        s.put_str(local);
    }
    s.put(b"@");
    s.put_str(domain_of(m.from()));
    s.put(b">\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"");
    s.put(boundary);
    s.put(b"\"\r\nX-Mailer: mfp-oauth\r\n\r\n");
    if has_text {
        s.put(b"--");
        s.put(boundary);
        s.put(
            b"\r\nContent-Type: text/plain; charset=utf-8\r\n\
              Content-Transfer-Encoding: base64\r\n\r\n",
        );
    }
}

/// The delimiter and header of an attachment's part, up to its first base64
/// line.
pub(super) fn part(a: &Attachment<'_>, boundary: &[u8; BOUNDARY_LEN], s: &mut Sink<'_>) {
    s.put(b"\r\n--");
    s.put(boundary);
    s.put(b"\r\nContent-Type: ");
    s.put_str(a.content_type_or_default());
    parameter("name", a.name, s);
    s.put(b"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment");
    parameter("filename", a.name, s);
    s.put(b"\r\n\r\n");
}

/// The close delimiter that ends the message.
pub(super) fn close(boundary: &[u8; BOUNDARY_LEN], s: &mut Sink<'_>) {
    s.put(b"\r\n--");
    s.put(boundary);
    s.put(b"--\r\n");
}

/// The domain of an address (after its last `@`), `localhost` without one.
fn domain_of(address: &str) -> &str {
    match address.rsplit_once('@') {
        Some((_, d)) if !d.is_empty() => d,
        _ => "localhost",
    }
}

/// `Subject:` as is when plain printable ASCII (folded at spaces), else
/// RFC 2047 `B` encoded words of at most 64 characters, one per line (the
/// first line is 73 columns: RFC 2047 §2 allows 76).
fn subject(text: &str, s: &mut Sink<'_>) {
    let plain = text.len() <= 900
        && text.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !text.contains("=?");
    s.put(b"Subject:");
    if plain {
        let mut col = 8;
        for (i, word) in text.split(' ').enumerate() {
            // Never fold before an empty word: a folded line of white
            // space only is not allowed (RFC 5322 §3.2.2).
            if i > 0 && !word.is_empty() && col + 1 + word.len() > FOLD_AT {
                s.put(b"\r\n");
                col = 0;
            }
            s.put(b" ");
            s.put_str(word);
            col += 1 + word.len();
        }
        s.put(b"\r\n");
        return;
    }
    // 39 octets give 52 base64 characters: `=?UTF-8?B?` + 52 + `?=` = 64.
    const WORD_IN: usize = 39;
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let mut end = start;
        for (i, c) in text.get(start..).unwrap_or("").char_indices() {
            if i + c.len_utf8() > WORD_IN {
                break;
            }
            end = start + i + c.len_utf8();
        }
        if end == start {
            break; // unreachable: a character has at most 4 octets
        }
        let mut raw = [0u8; WORD_IN];
        let chunk = bytes.get(start..end).unwrap_or(&[]);
        for (d, &b) in raw.iter_mut().zip(chunk) {
            // Line breaks in a subject are not content: they would end the
            // field.
            *d = if b == b'\r' || b == b'\n' { b' ' } else { b };
        }
        let mut enc = [0u8; 52];
        let n = base64::engine::general_purpose::STANDARD
            .encode_slice(raw.get(..chunk.len()).unwrap_or(&[]), &mut enc)
            .unwrap_or(0);
        s.put(b" =?UTF-8?B?");
        s.put(enc.get(..n).unwrap_or(&[]));
        s.put(b"?=\r\n");
        start = end;
    }
}

/// Whether a parameter value goes as a plain quoted string.
fn plain_value(value: &str) -> bool {
    value.len() <= 60
        && !value.is_empty()
        && value
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

/// `; attr="value"` for a short plain ASCII value, else RFC 2231
/// `attr*0*=utf-8''…` continuations of at most 60 characters per line.
fn parameter(attr: &str, value: &str, s: &mut Sink<'_>) {
    s.put(b";\r\n ");
    s.put_str(attr);
    if plain_value(value) {
        s.put(b"=\"");
        s.put_str(value);
        s.put(b"\"");
        return;
    }
    s.put(b"*0*=utf-8''");
    let mut piece = 7;
    let mut index = 0;
    for b in value.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b);
        let len = if keep { 1 } else { 3 };
        if piece + len > 60 {
            index += 1;
            s.put(b";\r\n ");
            s.put_str(attr);
            s.put(b"*");
            s.put_decimal(index, 1);
            s.put(b"*=");
            piece = 0;
        }
        if keep {
            s.put(&[b]);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            let lo = HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0');
            s.put(&[b'%', hi, lo]);
        }
        piece += len;
    }
}

/// `Tue, 24 Nov 2026 10:27:52 +0000` (RFC 5322 §3.3) for `secs` seconds
/// since 1970-01-01 00:00:00 UTC, in UTC.
pub(super) fn rfc5322_date(secs: u64, s: &mut Sink<'_>) {
    const WEEKDAYS: [&[u8]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = crate::time::civil_from_days(days);
    s.put(WEEKDAYS.get((days % 7) as usize).copied().unwrap_or(b"Thu"));
    s.put(b", ");
    s.put_decimal(d, 2);
    s.put(b" ");
    s.put(
        MONTHS
            .get(m.saturating_sub(1) as usize)
            .copied()
            .unwrap_or(b"Jan"),
    );
    s.put(b" ");
    s.put_decimal(y, 4);
    s.put(b" ");
    s.put_decimal(rem / 3600, 2);
    s.put(b":");
    s.put_decimal(rem % 3600 / 60, 2);
    s.put(b":");
    s.put_decimal(rem % 60, 2);
    s.put(b" +0000");
}
