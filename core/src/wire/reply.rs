//! SMTP replies (RFC 5321 §4.2) and enhanced status codes (RFC 2034, 3463).
//!
//! A reply is one or more lines `NNN-text` ending with a line `NNN text` (or
//! just `NNN`). The client feeds lines one at a time to a [`ReplyAssembler`],
//! which checks them, keeps a bounded summary for diagnostics and hands back
//! the [`Reply`] when its last line arrives; the EHLO parser sees every line
//! on the way, so no multi-line reply is ever held whole.

use core::fmt;
use heapless::String;

use crate::limits::{MAX_REPLY_LINES, MAX_REPLY_LINE_LEN, MAX_REPLY_TEXT_LEN};
use crate::wire::Parsed;

/// An enhanced status code `class.subject.detail` (RFC 3463), e.g. `5.7.139`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EnhancedCode {
    /// 2 (success), 4 (persistent transient) or 5 (permanent).
    pub class: u8,
    /// Subject, 0–999.
    pub subject: u16,
    /// Detail, 0–999.
    pub detail: u16,
}

impl EnhancedCode {
    /// A code from its three parts.
    #[must_use]
    pub const fn new(class: u8, subject: u16, detail: u16) -> Self {
        EnhancedCode {
            class,
            subject,
            detail,
        }
    }

    /// Parse a code at the start of `text`; returns it and the rest of the
    /// text after the separating space.
    #[must_use]
    pub fn parse_prefix(text: &[u8]) -> Option<(EnhancedCode, &[u8])> {
        let class = *text.first()?;
        if !matches!(class, b'2' | b'4' | b'5') || text.get(1) != Some(&b'.') {
            return None;
        }
        let rest = text.get(2..)?;
        let (subject, rest) = parse_number(rest)?;
        let rest = rest.strip_prefix(b".")?;
        let (detail, rest) = parse_number(rest)?;
        let rest = match rest.first() {
            None => rest,
            Some(b' ') => rest.get(1..).unwrap_or(&[]),
            Some(_) => return None,
        };
        Some((EnhancedCode::new(class - b'0', subject, detail), rest))
    }
}

/// 1 to 3 digits.
fn parse_number(s: &[u8]) -> Option<(u16, &[u8])> {
    let digits = s.iter().take(4).take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 3 {
        return None;
    }
    let (num, rest) = s.split_at_checked(digits)?;
    let value = num
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    Some((value, rest))
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// The code part of a reply: basic code and, when present, enhanced code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReplyCode {
    /// The three-digit code, 200–599.
    pub code: u16,
    /// The enhanced status code of the first line, if it had one.
    pub enhanced: Option<EnhancedCode>,
}

impl ReplyCode {
    /// Whether the code is 2xx.
    #[must_use]
    pub const fn is_positive(&self) -> bool {
        self.code / 100 == 2
    }

    /// Whether the code is 3xx (intermediate: 334, 354).
    #[must_use]
    pub const fn is_intermediate(&self) -> bool {
        self.code / 100 == 3
    }

    /// Whether the code is 4xx (try again later).
    #[must_use]
    pub const fn is_transient(&self) -> bool {
        self.code / 100 == 4
    }

    /// Whether the enhanced code equals `class.subject.detail`.
    #[must_use]
    pub fn has_enhanced(&self, class: u8, subject: u16, detail: u16) -> bool {
        self.enhanced == Some(EnhancedCode::new(class, subject, detail))
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.enhanced {
            Some(e) => write!(f, "{} {}", self.code, e),
            None => write!(f, "{}", self.code),
        }
    }
}

/// A whole reply, with a bounded copy of its text for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Code and enhanced code.
    pub code: ReplyCode,
    /// Number of lines the reply had.
    pub lines: usize,
    text: String<MAX_REPLY_TEXT_LEN>,
}

impl Reply {
    /// A reply made from another protocol's answer (a mail API's status
    /// and error, R-XPORT), for the support log: `text` cut at
    /// [`MAX_REPLY_TEXT_LEN`] octets on a character boundary.
    #[must_use]
    pub fn from_text(code: ReplyCode, text: &str) -> Reply {
        let mut r = Reply {
            code,
            lines: 1,
            text: String::new(),
        };
        for c in text.chars() {
            if r.text.push(c).is_err() {
                break;
            }
        }
        r
    }

    /// The reply's text (enhanced codes removed, lines joined by a space),
    /// cut at [`MAX_REPLY_TEXT_LEN`] octets; non-UTF-8 octets show as `?`.
    #[must_use]
    pub fn text(&self) -> &str {
        self.text.as_str()
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

/// Why a reply could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ReplyError {
    /// A line is longer than [`MAX_REPLY_LINE_LEN`].
    LineTooLong,
    /// More than [`MAX_REPLY_LINES`] lines in one reply.
    TooManyLines,
    /// A line does not start with a valid three-digit code and separator.
    Malformed,
    /// A continuation line has a different code from the first line.
    CodeMismatch,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplyError::LineTooLong => "reply line too long",
            ReplyError::TooManyLines => "reply has too many lines",
            ReplyError::Malformed => "malformed reply line",
            ReplyError::CodeMismatch => "reply lines carry different codes",
        })
    }
}

impl core::error::Error for ReplyError {}

impl crate::diag::Diagnostic for ReplyError {
    fn diag(&self) -> crate::diag::Id {
        match self {
            ReplyError::LineTooLong | ReplyError::TooManyLines => crate::diag::Id::ReplyTooLong,
            ReplyError::Malformed | ReplyError::CodeMismatch => crate::diag::Id::ProtocolViolation,
        }
    }
}

/// One reply line, CRLF removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLine<'a> {
    /// The three-digit code.
    pub code: u16,
    /// Whether this is the last line of the reply.
    pub last: bool,
    /// The text after the separator (may be empty).
    pub text: &'a [u8],
}

impl<'a> ReplyLine<'a> {
    /// Parse one line without its line ending.
    pub fn parse(line: &'a [u8]) -> Result<Self, ReplyError> {
        let (head, rest) = line.split_at_checked(3).ok_or(ReplyError::Malformed)?;
        let [a, b, c] = *head else {
            return Err(ReplyError::Malformed);
        };
        // RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39
        if !(b'2'..=b'5').contains(&a) || !(b'0'..=b'5').contains(&b) || !c.is_ascii_digit() {
            return Err(ReplyError::Malformed);
        }
        let code = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
        let (last, text) = match rest.split_first() {
            None => (true, rest),
            Some((b' ', t)) => (true, t),
            Some((b'-', t)) => (false, t),
            Some(_) => return Err(ReplyError::Malformed),
        };
        Ok(ReplyLine { code, last, text })
    }
}

/// Builds a [`Reply`] from its lines, with every bound checked.
#[derive(Debug, Clone, Default)]
pub struct ReplyAssembler {
    code: Option<ReplyCode>,
    lines: usize,
    text: String<MAX_REPLY_TEXT_LEN>,
}

impl ReplyAssembler {
    /// A fresh assembler.
    #[must_use]
    pub const fn new() -> Self {
        ReplyAssembler {
            code: None,
            lines: 0,
            text: String::new(),
        }
    }

    /// Whether a reply has started but not ended.
    #[must_use]
    pub fn in_progress(&self) -> bool {
        self.lines > 0
    }

    /// Feed one line (without CRLF). Returns the parsed line, and the whole
    /// reply when this line ended it. After an error, call [`Self::reset`].
    pub fn push_line<'a>(
        &mut self,
        line: &'a [u8],
    ) -> Result<(ReplyLine<'a>, Option<Reply>), ReplyError> {
        if line.len() > MAX_REPLY_LINE_LEN {
            return Err(ReplyError::LineTooLong);
        }
        let parsed = ReplyLine::parse(line)?;
        let mut text = parsed.text;
        match self.code {
            Some(c) if c.code != parsed.code => return Err(ReplyError::CodeMismatch),
            Some(_) => {
                if let Some((_, rest)) = EnhancedCode::parse_prefix(text) {
                    text = rest;
                }
            }
            None => {
                let enhanced = EnhancedCode::parse_prefix(text).map(|(e, rest)| {
                    text = rest;
                    e
                });
                self.code = Some(ReplyCode {
                    code: parsed.code,
                    enhanced,
                });
            }
        }
        self.lines += 1;
        if self.lines > MAX_REPLY_LINES {
            return Err(ReplyError::TooManyLines);
        }
        self.append_text(text);
        if !parsed.last {
            return Ok((parsed, None));
        }
        let reply = match self.code {
            Some(code) => Reply {
                code,
                lines: self.lines,
                text: core::mem::take(&mut self.text),
            },
            None => return Err(ReplyError::Malformed),
        };
        self.reset();
        Ok((parsed, Some(reply)))
    }

    /// Forget a partial reply.
    pub fn reset(&mut self) {
        *self = ReplyAssembler::new();
    }

    fn append_text(&mut self, text: &[u8]) {
        if !self.text.is_empty() && !text.is_empty() && self.text.push(' ').is_err() {
            return;
        }
        for &b in text {
            let ch = if (0x20..0x7f).contains(&b) {
                char::from(b)
            } else {
                '?'
            };
            if self.text.push(ch).is_err() {
                return;
            }
        }
    }
}

/// Split the first line off `input`: the line without its ending (CRLF, or
/// a bare LF, accepted from lenient servers) and the octets consumed.
#[must_use]
pub fn split_line(input: &[u8]) -> Option<(&[u8], usize)> {
    let lf = input.iter().position(|&b| b == b'\n')?;
    let line = input.get(..lf)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, lf + 1))
}

/// Parse one whole reply from contiguous input (for tests, tools and fuzzing;
/// the client feeds lines itself).
pub fn parse_reply(input: &[u8]) -> Result<Parsed<Reply>, ReplyError> {
    let mut assembler = ReplyAssembler::new();
    let mut offset = 0;
    while let Some((line, used)) = input.get(offset..).and_then(split_line) {
        offset += used;
        if let (_, Some(reply)) = assembler.push_line(line)? {
            return Ok(Parsed::Complete(reply, offset));
        }
    }
    if input.len().saturating_sub(offset) > MAX_REPLY_LINE_LEN {
        return Err(ReplyError::LineTooLong);
    }
    Ok(Parsed::Partial)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(input: &[u8]) -> (Reply, usize) {
        match parse_reply(input) {
            Ok(Parsed::Complete(r, n)) => (r, n),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn microsoft_smtp_auth_disabled_reply() {
        let input = b"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.\r\nrest";
        let (r, n) = complete(input);
        assert_eq!(r.code.code, 535);
        assert!(r.code.has_enhanced(5, 7, 139));
        assert!(r.text().starts_with("Authentication unsuccessful"));
        assert_eq!(n, input.len() - 4);
    }

    #[test]
    fn google_multiline_535_keeps_first_enhanced_code() {
        let (r, _) = complete(
            b"535-5.7.1 Username and Password not accepted. Learn more at\r\n535 5.7.1 https://support.google.com/mail/?p=BadCredentials hx9sm5317360pbc.68\r\n",
        );
        assert_eq!(r.lines, 2);
        assert_eq!(r.code.enhanced, Some(EnhancedCode::new(5, 7, 1)));
        assert_eq!(
            r.text(),
            "Username and Password not accepted. Learn more at https://support.google.com/mail/?p=BadCredentials hx9sm5317360pbc.68"
        );
    }

    #[test]
    fn bare_code_and_empty_334() {
        assert_eq!(complete(b"250\r\n").0.code.code, 250);
        let (r, n) = complete(b"334 \r\n");
        assert_eq!((r.code.code, r.text(), n), (334, "", 6));
    }

    #[test]
    fn partial_until_the_last_line() {
        assert_eq!(parse_reply(b"250-a\r\n250-b\r\n250 c"), Ok(Parsed::Partial));
    }

    #[test]
    fn rejects_bad_codes_and_mixed_lines() {
        assert_eq!(parse_reply(b"600 x\r\n"), Err(ReplyError::Malformed));
        assert_eq!(parse_reply(b"260 x\r\n"), Err(ReplyError::Malformed));
        assert_eq!(parse_reply(b"25\r\n"), Err(ReplyError::Malformed));
        assert_eq!(parse_reply(b"250x\r\n"), Err(ReplyError::Malformed));
        assert_eq!(
            parse_reply(b"250-a\r\n251 b\r\n"),
            Err(ReplyError::CodeMismatch)
        );
    }

    #[test]
    fn bounds_line_length_and_line_count() {
        let mut long = [b'a'; MAX_REPLY_LINE_LEN + 10];
        long[..4].copy_from_slice(b"250 ");
        assert_eq!(parse_reply(&long), Err(ReplyError::LineTooLong));
        let mut endless = heapless::Vec::<u8, 2048>::new();
        for _ in 0..(MAX_REPLY_LINES + 1) {
            endless.extend_from_slice(b"250-x\r\n").unwrap();
        }
        assert_eq!(parse_reply(&endless), Err(ReplyError::TooManyLines));
    }

    #[test]
    fn enhanced_code_prefix_rules() {
        assert_eq!(
            EnhancedCode::parse_prefix(b"5.7.139 x"),
            Some((EnhancedCode::new(5, 7, 139), &b"x"[..]))
        );
        assert_eq!(
            EnhancedCode::parse_prefix(b"2.0.0"),
            Some((EnhancedCode::new(2, 0, 0), &b""[..]))
        );
        assert_eq!(EnhancedCode::parse_prefix(b"3.0.0 x"), None);
        assert_eq!(EnhancedCode::parse_prefix(b"5.7.1399 x"), None);
        assert_eq!(EnhancedCode::parse_prefix(b"5.7.1x"), None);
        assert_eq!(EnhancedCode::parse_prefix(b"5..1 x"), None);
    }
}
