//! A push parser for the JSON bodies of the token endpoints (R-MEM): the
//! body is read as it arrives, in one pass, straight into its destinations.
//!
//! [`Scanner`] is the JSON tokenizer: any chunking of the input gives the
//! same result; it never recurses and keeps O(1) state per nesting level
//! (one bit), refusing more than [`MAX_JSON_DEPTH`] levels; strings are
//! unescaped (`\uXXXX`, surrogate pairs) and handed over in pieces that are
//! whole UTF-8 characters; unknown members and values of any size are
//! skipped without being held. Only members of the top-level object are
//! routed (by name) to a [`Sink`].
//!
//! On top of it: [`TokenParser`] (RFC 6749 §5.1, the `id_token`'s account
//! decoded on the fly when asked: base64url in a few octets of state feeding
//! a nested scanner), [`DeviceParser`] (RFC 8628 §3.2) and [`ErrorParser`]
//! (RFC 6749 §5.2 with the providers' additions). Each has `feed` (any
//! number of times) and `finish` (once, at the end of the body).

use heapless::String;

use super::id_token::{b64url, IdTokenError, SignedInAccount};
use super::json::{DeviceAuthorization, ErrorCode, ErrorResponse, Field, JsonError, TokenResponse};
use super::json::{TokenType, MAX_ERROR_DESCRIPTION_LEN};
use crate::address::Address;
use crate::limits::{MAX_ADDRESS_LEN, MAX_JSON_DEPTH};

// ---------------------------------------------------------------- scanner

/// What the scanner hands to a [`Sink`] about a routed member's value.
/// `depth` 1 is the member's value itself, 2 what it contains, …
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ev<'a> {
    /// A string begins.
    StrStart,
    /// A piece of the string, unescaped: whole UTF-8 characters, checked
    /// ([`text`] gives the `str`).
    Str(&'a [u8]),
    /// The string ended.
    StrEnd,
    /// A number, as written (at most [`NUM_CAP`] octets; longer is refused).
    Num(&'a [u8]),
    /// `true`.
    True,
    /// `false`.
    False,
    /// `null`.
    Null,
    /// An object or array begins.
    Open,
    /// An object or array ends.
    Close,
    /// A member name inside a routed object, before its value (`None`
    /// when longer than [`KEY_CAP`]). Nested members are not routed: the
    /// sink tells them apart by this name and the depth.
    Key(Option<&'a [u8]>),
}

/// Where the values of the top-level object's members go.
///
/// The scanner calls it through `&mut dyn Sink`: one scanner in the
/// firmware for every sink (token response, device code, errors, claims)
/// instead of one copy per sink, 8 KB of flash on the Cortex-M4F (R-MEM).
pub(crate) trait Sink {
    /// A member of the top-level object named `name` (unescaped; `None`
    /// when longer than [`KEY_CAP`]): its slot, 0 to skip its value.
    fn member(&mut self, name: Option<&[u8]>) -> Result<u8, JsonError>;
    /// A value (or part of one) of the member routed to `slot`.
    fn event(&mut self, slot: u8, depth: u8, ev: Ev<'_>) -> Result<(), JsonError>;
}

/// Longest member name matched (longer ones are unknown).
pub(crate) const KEY_CAP: usize = 32;
/// Longest number delivered, in octets.
pub(crate) const NUM_CAP: usize = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    /// Before the top-level value.
    Start,
    /// A value is expected (after `:`, or `,` in an array).
    Value,
    /// After `[`: a value or `]`.
    ArrFirst,
    /// After `{`: a member name or `}`.
    ObjFirst,
    /// After `,` in an object: a member name.
    Key,
    /// After a member name: `:`.
    Colon,
    /// After a value: `,` or the container's end.
    After,
    /// Inside a string.
    Str,
    /// After a backslash in a string.
    Esc,
    /// In `\uXXXX`: digits read so far and their value.
    Hex(u8, u16),
    /// After a high surrogate: its `\` of the low one.
    LowBackslash,
    /// After a high surrogate's `\`: the `u`.
    LowU,
    /// In `true`, `false` or `null`: which word, octets matched.
    Lit(u8, u8),
    /// In a number.
    Num,
    /// After the top-level value: whitespace only.
    Done,
    /// A fatal error (sticky).
    Failed(JsonError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrKind {
    /// A member name of the top-level object: collected.
    Key,
    /// A routed value: handed to the sink.
    Deliver,
    /// A member name of an object inside a routed value: collected and
    /// handed to the sink ([`Ev::Key`]).
    NestedKey,
    /// A member name of a nested object: skipped.
    SkipKey,
    /// Any other string: skipped.
    Skip,
}

const WORDS: [&[u8]; 3] = [b"true", b"false", b"null"];

/// The JSON push tokenizer (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    st: St,
    kind: StrKind,
    depth: u8,
    /// Bit `d` set: nesting level `d + 1` is an array.
    arrays: u32,
    /// Slot of the top-level member being read (0: skipped).
    slot: u8,
    top_object: bool,
    /// Pending high surrogate.
    hi: u16,
    key: [u8; KEY_CAP],
    /// Octets of `key` used; `KEY_CAP + 1` when it overflowed.
    key_len: u8,
    /// An incomplete UTF-8 character at the end of a piece.
    pend: [u8; 4],
    pend_len: u8,
    pend_need: u8,
    num: [u8; NUM_CAP],
    /// Octets of `num`; `NUM_CAP + 1` when it overflowed.
    num_len: u8,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

/// Index of the first `"` or `\` in `s` (`s.len()` if none), sixteen
/// octets at a time, and whether the octets before it are all ASCII. Not
/// inlined: its loop keeps its constants in registers.
#[inline(never)]
fn find_special(s: &[u8]) -> (usize, bool) {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const QUOTE: u64 = LO * b'"' as u64;
    const BACKSLASH: u64 = LO * b'\\' as u64;
    /// High bit of each octet that is `"`, `\` or not ASCII (exact for the
    /// lowest such octet; octets above it may be flagged wrongly).
    #[inline(always)]
    fn flags(v: u64) -> u64 {
        let x = v ^ QUOTE;
        let y = v ^ BACKSLASH;
        (x.wrapping_sub(LO) & !x | y.wrapping_sub(LO) & !y | v) & HI
    }
    let word = |i: usize| {
        s.get(i..i.wrapping_add(8))
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_le_bytes)
    };
    let mut i = 0usize;
    let mut stop = None;
    while let (Some(a), Some(b)) = (word(i), word(i.wrapping_add(8))) {
        let (fa, fb) = (flags(a), flags(b));
        if fa | fb != 0 {
            stop = Some(if fa != 0 {
                i + (fa.trailing_zeros() / 8) as usize
            } else {
                i + 8 + (fb.trailing_zeros() / 8) as usize
            });
            break;
        }
        i += 16;
    }
    if stop.is_none() {
        if let Some(a) = word(i) {
            let fa = flags(a);
            if fa != 0 {
                stop = Some(i + (fa.trailing_zeros() / 8) as usize);
            } else {
                i += 8;
            }
        }
    }
    if let Some(k) = stop {
        match s.get(k) {
            Some(b'"' | b'\\') => return (k, true),
            _ => i = k,
        }
    }
    // The last octets, or after a non-ASCII one.
    let mut ascii = stop.is_none();
    for (k, &b) in s.get(i..).unwrap_or(&[]).iter().enumerate() {
        if b == b'"' || b == b'\\' {
            return (i + k, ascii);
        }
        ascii &= b < 0x80;
    }
    (s.len(), ascii)
}

/// A checked string piece as `str`.
pub(crate) fn text(s: &[u8]) -> Result<&str, JsonError> {
    core::str::from_utf8(s).map_err(|_| JsonError::Syntax)
}

/// Octets at the end of `s` that start a UTF-8 character not yet complete,
/// and how long that character is.
fn utf8_tail(s: &[u8]) -> (usize, u8) {
    let n = s.len();
    for back in 1..=3usize.min(n) {
        let Some(&b) = s.get(n - back) else {
            break;
        };
        if b & 0xC0 == 0x80 {
            continue;
        }
        let need = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return (0, 0),
        };
        return if back < usize::from(need) {
            (back, need)
        } else {
            (0, 0)
        };
    }
    (0, 0)
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl Scanner {
    /// A scanner before its first octet.
    #[must_use]
    pub(crate) const fn new() -> Self {
        Scanner {
            st: St::Start,
            kind: StrKind::Skip,
            depth: 0,
            arrays: 0,
            slot: 0,
            top_object: false,
            hi: 0,
            key: [0; KEY_CAP],
            key_len: 0,
            pend: [0; 4],
            pend_len: 0,
            pend_need: 0,
            num: [0; NUM_CAP],
            num_len: 0,
        }
    }

    /// The error the input already has, if any.
    pub(crate) fn error(&self) -> Option<JsonError> {
        match self.st {
            St::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Feed the next octets. An error is kept (see [`Scanner::finish`]) and
    /// the rest of the input ignored.
    pub(crate) fn feed(&mut self, input: &[u8], sink: &mut dyn Sink) {
        if self.error().is_some() {
            return;
        }
        if let Err(e) = self.run(input, sink) {
            self.st = St::Failed(e);
        }
    }

    /// The input ended: `Ok` when it was one complete JSON object.
    pub(crate) fn finish(&mut self, sink: &mut dyn Sink) -> Result<(), JsonError> {
        if self.st == St::Num && self.depth == 0 {
            // A top-level number ends with the input.
            if let Err(e) = self.end_number(sink) {
                self.st = St::Failed(e);
            }
        }
        match self.st {
            St::Failed(e) => Err(e),
            St::Done if self.top_object => Ok(()),
            _ => {
                self.st = St::Failed(JsonError::Syntax);
                Err(JsonError::Syntax)
            }
        }
    }

    fn routed(&self) -> bool {
        self.slot != 0
    }

    fn in_array(&self) -> bool {
        self.depth > 0 && (self.arrays >> (self.depth - 1)) & 1 == 1
    }

    fn after_value(&mut self) {
        self.st = if self.depth == 0 { St::Done } else { St::After };
    }

    fn open(&mut self, array: bool, sink: &mut dyn Sink) -> Result<(), JsonError> {
        if self.depth == 0 {
            self.top_object = !array;
        }
        if self.routed() {
            sink.event(self.slot, self.depth, Ev::Open)?;
        }
        if usize::from(self.depth) >= MAX_JSON_DEPTH {
            return Err(JsonError::TooDeep);
        }
        let bit = 1u32 << self.depth;
        if array {
            self.arrays |= bit;
        } else {
            self.arrays &= !bit;
        }
        self.depth += 1;
        self.st = if array { St::ArrFirst } else { St::ObjFirst };
        Ok(())
    }

    fn close(&mut self, array: bool, sink: &mut dyn Sink) -> Result<(), JsonError> {
        if self.depth == 0 || self.in_array() != array {
            return Err(JsonError::Syntax);
        }
        self.depth -= 1;
        if self.routed() && self.depth > 0 {
            sink.event(self.slot, self.depth, Ev::Close)?;
        }
        self.after_value();
        Ok(())
    }

    /// A value starts with `b`.
    fn value(&mut self, b: u8, sink: &mut dyn Sink) -> Result<(), JsonError> {
        match b {
            b'{' => self.open(false, sink),
            b'[' => self.open(true, sink),
            b'"' => {
                self.kind = if self.routed() {
                    sink.event(self.slot, self.depth, Ev::StrStart)?;
                    StrKind::Deliver
                } else {
                    StrKind::Skip
                };
                self.st = St::Str;
                Ok(())
            }
            b't' => {
                self.st = St::Lit(0, 1);
                Ok(())
            }
            b'f' => {
                self.st = St::Lit(1, 1);
                Ok(())
            }
            b'n' => {
                self.st = St::Lit(2, 1);
                Ok(())
            }
            b'-' | b'0'..=b'9' => {
                self.num_len = 0;
                self.push_num(&[b]);
                self.st = St::Num;
                Ok(())
            }
            _ => Err(JsonError::Syntax),
        }
    }

    fn push_num(&mut self, s: &[u8]) {
        if !self.routed() {
            return;
        }
        let at = usize::from(self.num_len);
        match self.num.get_mut(at..at.saturating_add(s.len())) {
            Some(dst) => {
                dst.copy_from_slice(s);
                self.num_len += s.len() as u8;
            }
            None => self.num_len = NUM_CAP as u8 + 1,
        }
    }

    fn end_number(&mut self, sink: &mut dyn Sink) -> Result<(), JsonError> {
        if self.routed() {
            let n = self
                .num
                .get(..usize::from(self.num_len))
                .ok_or(JsonError::Syntax)?;
            sink.event(self.slot, self.depth, Ev::Num(n))?;
        }
        self.after_value();
        Ok(())
    }

    fn push_key(&mut self, s: &[u8]) {
        let at = usize::from(self.key_len);
        match self.key.get_mut(at..at.saturating_add(s.len())) {
            Some(dst) => {
                dst.copy_from_slice(s);
                self.key_len += s.len() as u8;
            }
            None => self.key_len = KEY_CAP as u8 + 1,
        }
    }

    /// Deliver whole characters of a string piece (checked unless known
    /// to be ASCII).
    fn deliver(&mut self, s: &[u8], ascii: bool, sink: &mut dyn Sink) -> Result<(), JsonError> {
        if s.is_empty() {
            return Ok(());
        }
        if !ascii {
            text(s)?;
        }
        sink.event(self.slot, self.depth, Ev::Str(s))
    }

    /// A decoded `\u` escape.
    fn emit_char(&mut self, c: char, sink: &mut dyn Sink) -> Result<(), JsonError> {
        let mut tmp = [0u8; 4];
        let s = c.encode_utf8(&mut tmp);
        self.emit(s.as_bytes(), sink)
    }

    /// The octets of one decoded escape (a whole UTF-8 character).
    fn emit(&mut self, s: &[u8], sink: &mut dyn Sink) -> Result<(), JsonError> {
        match self.kind {
            StrKind::Key | StrKind::NestedKey => {
                self.push_key(s);
                Ok(())
            }
            StrKind::Deliver => sink.event(self.slot, self.depth, Ev::Str(s)),
            StrKind::Skip | StrKind::SkipKey => Ok(()),
        }
    }

    fn end_string(&mut self, sink: &mut dyn Sink) -> Result<(), JsonError> {
        match self.kind {
            StrKind::Key | StrKind::NestedKey | StrKind::SkipKey => {
                self.st = St::Colon;
                Ok(())
            }
            StrKind::Deliver => {
                if self.pend_len != 0 {
                    return Err(JsonError::Syntax);
                }
                sink.event(self.slot, self.depth, Ev::StrEnd)?;
                self.after_value();
                Ok(())
            }
            StrKind::Skip => {
                self.after_value();
                Ok(())
            }
        }
    }

    fn key_start(&mut self) {
        self.kind = if self.depth == 1 && self.top_object {
            self.key_len = 0;
            StrKind::Key
        } else if self.routed() {
            self.key_len = 0;
            StrKind::NestedKey
        } else {
            StrKind::SkipKey
        };
        if self.depth == 1 {
            self.slot = 0;
        }
        self.st = St::Str;
    }

    /// Inside a string: the fast path over runs without `"` or `\`.
    /// Returns the octets of `rest` used.
    fn string(&mut self, rest: &[u8], sink: &mut dyn Sink) -> Result<usize, JsonError> {
        let mut used = 0usize;
        if self.pend_len != 0 {
            // Complete the character cut by the previous piece.
            for &b in rest {
                if b & 0xC0 != 0x80 {
                    return Err(JsonError::Syntax);
                }
                if let Some(p) = self.pend.get_mut(usize::from(self.pend_len)) {
                    *p = b;
                }
                self.pend_len += 1;
                used += 1;
                if self.pend_len >= self.pend_need {
                    let pend = self.pend;
                    let n = usize::from(self.pend_len);
                    self.pend_len = 0;
                    self.deliver(pend.get(..n).unwrap_or(&[]), false, sink)?;
                    break;
                }
            }
            if self.pend_len != 0 {
                return Ok(used);
            }
        }
        let rest = rest.get(used..).unwrap_or(&[]);
        let (n, ascii) = find_special(rest);
        let run = rest.get(..n).unwrap_or(&[]);
        match self.kind {
            StrKind::Skip | StrKind::SkipKey => {}
            StrKind::Key | StrKind::NestedKey => self.push_key(run),
            StrKind::Deliver => {
                if n == rest.len() {
                    let (tail, need) = utf8_tail(run);
                    let whole = run.len() - tail;
                    self.deliver(run.get(..whole).unwrap_or(&[]), ascii, sink)?;
                    if let (Some(dst), Some(src)) = (self.pend.get_mut(..tail), run.get(whole..)) {
                        dst.copy_from_slice(src);
                    }
                    self.pend_len = tail as u8;
                    self.pend_need = need;
                } else {
                    self.deliver(run, ascii, sink)?;
                }
            }
        }
        used += n;
        match rest.get(n) {
            None => {}
            Some(b'"') => {
                used += 1;
                self.end_string(sink)?;
            }
            Some(_) => {
                used += 1;
                self.st = St::Esc;
            }
        }
        Ok(used)
    }

    fn escape(&mut self, b: u8, sink: &mut dyn Sink) -> Result<(), JsonError> {
        if matches!(self.kind, StrKind::Skip | StrKind::SkipKey) {
            self.st = St::Str;
            return Ok(());
        }
        let c = match b {
            b'"' | b'\\' | b'/' => b,
            b'b' => 0x08,
            b'f' => 0x0C,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                self.st = St::Hex(0, 0);
                return Ok(());
            }
            _ => return Err(JsonError::BadEscape),
        };
        self.st = St::Str;
        // One ASCII octet: no UTF-8 encoding to do.
        self.emit(core::slice::from_ref(&c), sink)
    }

    fn hex_done(&mut self, code: u16, sink: &mut dyn Sink) -> Result<(), JsonError> {
        let code = u32::from(code);
        if self.hi != 0 {
            let hi = u32::from(self.hi);
            self.hi = 0;
            if !(0xDC00..0xE000).contains(&code) {
                return Err(JsonError::BadEscape);
            }
            let c = char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (code - 0xDC00))
                .ok_or(JsonError::BadEscape)?;
            self.st = St::Str;
            return self.emit_char(c, sink);
        }
        if (0xD800..0xDC00).contains(&code) {
            self.hi = code as u16;
            self.st = St::LowBackslash;
            return Ok(());
        }
        let c = char::from_u32(code).ok_or(JsonError::BadEscape)?;
        self.st = St::Str;
        self.emit_char(c, sink)
    }

    fn run(&mut self, input: &[u8], sink: &mut dyn Sink) -> Result<(), JsonError> {
        let mut i = 0usize;
        while let Some(&b) = input.get(i) {
            match self.st {
                St::Str => {
                    i += self.string(input.get(i..).unwrap_or(&[]), sink)?;
                    continue;
                }
                St::Esc => self.escape(b, sink)?,
                St::Hex(n, acc) => {
                    let d = char::from(b).to_digit(16).ok_or(JsonError::BadEscape)? as u16;
                    let acc = (acc << 4) | d;
                    if n == 3 {
                        self.hex_done(acc, sink)?;
                    } else {
                        self.st = St::Hex(n + 1, acc);
                    }
                }
                St::LowBackslash => {
                    if b != b'\\' {
                        return Err(JsonError::BadEscape);
                    }
                    self.st = St::LowU;
                }
                St::LowU => {
                    if b != b'u' {
                        return Err(JsonError::BadEscape);
                    }
                    self.st = St::Hex(0, 0);
                }
                St::Num => {
                    // The whole run of number octets at once.
                    let rest = input.get(i..).unwrap_or(&[]);
                    let n = rest
                        .iter()
                        .position(|&c| !matches!(c, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
                        .unwrap_or(rest.len());
                    self.push_num(rest.get(..n).unwrap_or(&[]));
                    i += n;
                    if n < rest.len() {
                        // The octet after the number is read again.
                        self.end_number(sink)?;
                    }
                    continue;
                }
                St::Lit(w, pos) => {
                    let word = WORDS.get(usize::from(w)).copied().unwrap_or(b"");
                    if word.get(usize::from(pos)) != Some(&b) {
                        return Err(JsonError::Syntax);
                    }
                    if usize::from(pos) + 1 == word.len() {
                        if self.routed() {
                            let ev = match w {
                                0 => Ev::True,
                                1 => Ev::False,
                                _ => Ev::Null,
                            };
                            sink.event(self.slot, self.depth, ev)?;
                        }
                        self.after_value();
                    } else {
                        self.st = St::Lit(w, pos + 1);
                    }
                }
                _ if is_ws(b) => {
                    // A run of whitespace between tokens.
                    i += 1;
                    while input.get(i).copied().is_some_and(is_ws) {
                        i += 1;
                    }
                    continue;
                }
                St::Start | St::Value => self.value(b, sink)?,
                St::ArrFirst => {
                    if b == b']' {
                        self.close(true, sink)?;
                    } else {
                        self.value(b, sink)?;
                    }
                }
                St::ObjFirst | St::Key => match b {
                    b'"' => self.key_start(),
                    b'}' if self.st == St::ObjFirst => self.close(false, sink)?,
                    _ => return Err(JsonError::Syntax),
                },
                St::Colon => {
                    if b != b':' {
                        return Err(JsonError::Syntax);
                    }
                    let n = usize::from(self.key_len);
                    match self.kind {
                        StrKind::Key => self.slot = sink.member(self.key.get(..n))?,
                        StrKind::NestedKey => {
                            sink.event(self.slot, self.depth, Ev::Key(self.key.get(..n)))?;
                        }
                        _ => {}
                    }
                    self.st = St::Value;
                }
                St::After => match b {
                    b',' => {
                        self.st = if self.in_array() { St::Value } else { St::Key };
                    }
                    b'}' => self.close(false, sink)?,
                    b']' => self.close(true, sink)?,
                    _ => return Err(JsonError::Syntax),
                },
                St::Done | St::Failed(_) => return Err(JsonError::Syntax),
            }
            i += 1;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- helpers

/// A non-negative integer, from a JSON number or a string (some servers
/// send `"3599"`): surrounding whitespace allowed in a string, digits only,
/// at most 19.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Digits {
    value: u64,
    digits: u8,
    /// 0 before the digits, 1 in them, 2 after them.
    phase: u8,
    bad: bool,
}

impl Digits {
    fn push_str(&mut self, s: &[u8]) {
        for &b in s {
            if is_ws(b) || b == 0x0B || b == 0x0C {
                if self.phase == 1 {
                    self.phase = 2;
                }
            } else if b.is_ascii_digit() && self.phase < 2 {
                self.phase = 1;
                self.digits = self.digits.saturating_add(1);
                self.value = self
                    .value
                    .wrapping_mul(10)
                    .wrapping_add(u64::from(b - b'0'));
                if self.digits > 19 {
                    self.bad = true;
                }
            } else {
                self.bad = true;
            }
        }
    }

    fn get(&self) -> Option<u64> {
        // At most 19 digits: always within u64.
        (!self.bad && self.digits > 0).then_some(self.value)
    }
}

/// A JSON number that is a non-negative integer.
fn integer(n: &[u8]) -> Result<u64, JsonError> {
    if n.is_empty() || n.len() > 20 {
        return Err(JsonError::Syntax);
    }
    n.iter().try_fold(0u64, |v, &c| {
        if c.is_ascii_digit() {
            v.checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(c - b'0')))
                .ok_or(JsonError::Syntax)
        } else {
            Err(JsonError::Syntax)
        }
    })
}

/// A number member: JSON number, string of digits, or `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct NumberMember {
    digits: Digits,
    value: Option<u64>,
}

impl NumberMember {
    fn event(&mut self, ev: Ev<'_>) -> Result<(), JsonError> {
        match ev {
            Ev::Num(n) => self.value = Some(integer(n)?),
            Ev::StrStart => self.digits = Digits::default(),
            Ev::Str(s) => self.digits.push_str(s),
            Ev::StrEnd => self.value = Some(self.digits.get().ok_or(JsonError::Syntax)?),
            Ev::Null => self.value = None,
            _ => return Err(JsonError::Syntax),
        }
        Ok(())
    }
}

/// A display text cut at a character boundary when full.
fn push_truncated<const N: usize>(
    out: &mut String<N>,
    full: &mut bool,
    s: &[u8],
) -> Result<(), JsonError> {
    if *full {
        return Ok(());
    }
    let s = text(s)?;
    if out.push_str(s).is_ok() {
        return Ok(());
    }
    for c in s.chars() {
        if out.push(c).is_err() {
            *full = true;
            break;
        }
    }
    Ok(())
}

/// Append a piece whole, or note that it did not fit.
fn push_or_full<const N: usize>(
    out: &mut String<N>,
    full: &mut bool,
    s: &[u8],
) -> Result<(), JsonError> {
    *full |= out.push_str(text(s)?).is_err();
    Ok(())
}

/// A string value or `null`; anything else is a syntax error.
fn string_or_null(ev: Ev<'_>) -> Result<(), JsonError> {
    match ev {
        Ev::StrStart | Ev::Str(_) | Ev::StrEnd | Ev::Null => Ok(()),
        _ => Err(JsonError::Syntax),
    }
}

/// Mark `slot` seen; a member given twice is a syntax error.
fn once(seen: &mut u16, slot: u8) -> Result<u8, JsonError> {
    let bit = 1u16 << slot;
    if *seen & bit != 0 {
        return Err(JsonError::Syntax);
    }
    *seen |= bit;
    Ok(slot)
}

// ---------------------------------------------------------------- id_token

/// The `id_token` claims that name the account (see `wire::id_token`).
#[derive(Debug, Clone, Default)]
struct Claims {
    seen: u16,
    /// The claim value being read (`None` once it overflowed).
    cur: String<MAX_ADDRESS_LEN>,
    cur_full: bool,
    /// `email_verified` read as false.
    unverified: bool,
    verified_text: String<8>,
    verified_full: bool,
    email: Option<Address>,
    /// `preferred_username`, else `upn`.
    other: Option<Address>,
    other_is_username: bool,
}

const C_EMAIL: u8 = 1;
const C_VERIFIED: u8 = 2;
const C_USERNAME: u8 = 3;
const C_UPN: u8 = 4;

impl Sink for Claims {
    fn member(&mut self, name: Option<&[u8]>) -> Result<u8, JsonError> {
        let slot = match name {
            Some(b"email") => C_EMAIL,
            Some(b"email_verified") => C_VERIFIED,
            Some(b"preferred_username") => C_USERNAME,
            Some(b"upn") => C_UPN,
            _ => return Ok(0),
        };
        once(&mut self.seen, slot)
    }

    fn event(&mut self, slot: u8, _depth: u8, ev: Ev<'_>) -> Result<(), JsonError> {
        if slot == C_VERIFIED {
            match ev {
                Ev::True | Ev::Null => {}
                Ev::False => self.unverified = true,
                Ev::StrStart => {
                    self.verified_text.clear();
                    self.verified_full = false;
                }
                Ev::Str(s) => push_truncated(&mut self.verified_text, &mut self.verified_full, s)?,
                Ev::StrEnd => {
                    self.unverified = !self.verified_full
                        && self.verified_text.trim().eq_ignore_ascii_case("false");
                }
                _ => return Err(JsonError::Syntax),
            }
            return Ok(());
        }
        string_or_null(ev)?;
        match ev {
            Ev::StrStart => {
                self.cur.clear();
                self.cur_full = false;
            }
            Ev::Str(s) => push_or_full(&mut self.cur, &mut self.cur_full, s)?,
            Ev::StrEnd if !self.cur_full => {
                if let Ok(a) = Address::parse(&self.cur) {
                    match slot {
                        C_EMAIL => self.email = Some(a),
                        C_USERNAME => {
                            self.other = Some(a);
                            self.other_is_username = true;
                        }
                        _ if !self.other_is_username => self.other = Some(a),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl Claims {
    fn account(&mut self) -> Result<Address, IdTokenError> {
        let email = if self.unverified {
            None
        } else {
            self.email.take()
        };
        email
            .or_else(|| self.other.take())
            .ok_or(if self.unverified {
                IdTokenError::EmailNotVerified
            } else {
                IdTokenError::NoAccountClaim
            })
    }
}

/// Reads who signed in from a token response's compact `id_token` as its
/// characters arrive (R-ACCT; see `wire::id_token` for the claims and why
/// the signature is not checked): the payload is base64url-decoded a few
/// octets at a time into a nested JSON scanner; nothing of the token is
/// held. Lent to [`TokenParser::feed`] when the account is wanted.
#[derive(Debug, Clone, Default)]
pub struct AccountReader {
    /// 0 header, 1 payload, 2 signature.
    part: u8,
    not_jws: bool,
    acc: u32,
    bits: u8,
    /// Payload characters (padding not counted).
    chars: u32,
    padded: bool,
    json: Scanner,
    claims: Claims,
}

impl AccountReader {
    /// A reader before its `id_token`.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Ready for a new `id_token`, in place.
    fn reset(&mut self) {
        self.part = 0;
        self.not_jws = false;
        self.acc = 0;
        self.bits = 0;
        self.chars = 0;
        self.padded = false;
        self.json = Scanner::new();
        let c = &mut self.claims;
        c.seen = 0;
        c.cur.clear();
        c.cur_full = false;
        c.unverified = false;
        c.verified_text.clear();
        c.verified_full = false;
        c.email = None;
        c.other = None;
        c.other_is_username = false;
    }

    fn push(&mut self, s: &[u8]) {
        let mut out = [0u8; 48];
        let mut n = 0usize;
        for &c in s {
            if c == b'.' {
                self.part = self.part.saturating_add(1);
                if self.part == 2 && ((self.chars == 0 && !self.padded) || self.chars % 4 == 1) {
                    self.not_jws = true;
                }
                if self.part > 2 {
                    self.not_jws = true;
                }
                continue;
            }
            if self.part != 1 || self.not_jws {
                continue;
            }
            if c == b'=' {
                self.padded = true;
                continue;
            }
            let Some(v) = b64url(c).filter(|_| !self.padded) else {
                self.not_jws = true;
                continue;
            };
            self.chars = self.chars.wrapping_add(1);
            self.acc = ((self.acc << 6) | v) & 0x00FF_FFFF;
            self.bits += 6;
            if self.bits >= 8 {
                self.bits -= 8;
                if let Some(o) = out.get_mut(n) {
                    *o = ((self.acc >> self.bits) & 0xFF) as u8;
                    n += 1;
                }
                if n == out.len() {
                    self.json.feed(&out, &mut self.claims);
                    n = 0;
                }
            }
        }
        if n > 0 {
            self.json
                .feed(out.get(..n).unwrap_or(&[]), &mut self.claims);
        }
    }

    fn finish(&mut self) -> SignedInAccount {
        if self.not_jws || self.part != 2 {
            return SignedInAccount::Unreadable(IdTokenError::NotCompactJws);
        }
        if self.json.finish(&mut self.claims).is_err() {
            return SignedInAccount::Unreadable(IdTokenError::PayloadMalformed);
        }
        match self.claims.account() {
            Ok(a) => SignedInAccount::Account(a),
            Err(e) => SignedInAccount::Unreadable(e),
        }
    }
}

// ---------------------------------------------------------------- token

const T_ACCESS: u8 = 1;
const T_TYPE: u8 = 2;
const T_EXPIRES: u8 = 3;
const T_REFRESH: u8 = 4;
const T_SCOPE: u8 = 5;
const T_ID: u8 = 6;
const T_REFRESH_EXPIRES: u8 = 7;
const T_REFRESH_EXPIRES_ALT: u8 = 8;

/// The state of a token response being parsed ([`TokenParser`]).
#[derive(Debug, Clone, Default)]
struct TokenState {
    seen: u16,
    /// Octets of `token_type` matched against `bearer` (any case).
    bearer: u8,
    bearer_bad: bool,
    token_type: Option<TokenType>,
    expires_in: NumberMember,
    /// `refresh_token_expires_in`, then `refresh_expires_in`.
    refresh_expires_in: [NumberMember; 2],
    scope_full: bool,
}

struct TokenSink<'a> {
    st: &'a mut TokenState,
    out: &'a mut TokenResponse,
    account: Option<&'a mut AccountReader>,
}

impl Sink for TokenSink<'_> {
    fn member(&mut self, name: Option<&[u8]>) -> Result<u8, JsonError> {
        let slot = match name {
            Some(b"access_token") => T_ACCESS,
            Some(b"token_type") => T_TYPE,
            Some(b"expires_in") => T_EXPIRES,
            Some(b"refresh_token") => T_REFRESH,
            Some(b"scope") => T_SCOPE,
            Some(b"id_token") if self.account.is_some() => T_ID,
            Some(b"refresh_token_expires_in") => T_REFRESH_EXPIRES,
            Some(b"refresh_expires_in") => T_REFRESH_EXPIRES_ALT,
            _ => return Ok(0),
        };
        once(&mut self.st.seen, slot)
    }

    fn event(&mut self, slot: u8, _depth: u8, ev: Ev<'_>) -> Result<(), JsonError> {
        // The tokens' pieces and their strings' ends, most of the events,
        // on a short path; the rest out of line, so that this frame saves
        // few registers.
        match (slot, ev) {
            (T_ACCESS, Ev::Str(s)) => {
                out_of_room(self.out.access_token.extend(s).is_ok(), Field::AccessToken)
            }
            (T_REFRESH, Ev::Str(s)) => out_of_room(
                self.out.refresh_token.extend(s).is_ok(),
                Field::RefreshToken,
            ),
            // Their strings' ends, and the scope's: nothing to do.
            (T_ACCESS | T_REFRESH | T_SCOPE, Ev::StrStart | Ev::StrEnd) => Ok(()),
            _ => self.other_event(slot, ev),
        }
    }
}

/// `TooLong(field)` unless the piece fitted.
fn out_of_room(fitted: bool, field: Field) -> Result<(), JsonError> {
    if fitted {
        Ok(())
    } else {
        Err(JsonError::TooLong(field))
    }
}

impl TokenSink<'_> {
    /// Every event [`Sink::event`]'s short path does not take.
    #[inline(never)]
    fn other_event(&mut self, slot: u8, ev: Ev<'_>) -> Result<(), JsonError> {
        match slot {
            T_EXPIRES => return self.st.expires_in.event(ev),
            T_REFRESH_EXPIRES => return self.st.refresh_expires_in[0].event(ev),
            T_REFRESH_EXPIRES_ALT => return self.st.refresh_expires_in[1].event(ev),
            _ => {}
        }
        string_or_null(ev)?;
        let st = &mut *self.st;
        let out = &mut *self.out;
        match (slot, ev) {
            (T_SCOPE, Ev::Str(s)) => push_truncated(&mut out.scope, &mut st.scope_full, s)?,
            (T_TYPE, Ev::StrStart) => {
                st.bearer = 0;
                st.bearer_bad = false;
            }
            (T_TYPE, Ev::Str(s)) => {
                for &b in s {
                    let want = b"bearer".get(usize::from(st.bearer));
                    if want.is_some_and(|w| w.eq_ignore_ascii_case(&b)) {
                        st.bearer += 1;
                    } else {
                        st.bearer_bad = true;
                    }
                }
            }
            (T_TYPE, Ev::StrEnd) => {
                st.token_type = Some(if !st.bearer_bad && st.bearer == 6 {
                    TokenType::Bearer
                } else {
                    TokenType::Other
                });
            }
            (T_ID, ev) => {
                if let Some(r) = self.account.as_deref_mut() {
                    match ev {
                        Ev::StrStart => r.reset(),
                        Ev::Str(s) => r.push(s),
                        Ev::StrEnd => out.account = r.finish(),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Push parser of a token response into a [`TokenResponse`].
#[derive(Debug, Clone, Default)]
pub struct TokenParser {
    json: Scanner,
    st: TokenState,
}

impl TokenParser {
    /// A parser for a new body. Call [`TokenParser::start`] with the
    /// destination before feeding.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Clear `out` for the body to come.
    pub fn start(&mut self, out: &mut TokenResponse) {
        out.clear();
        out.token_type = TokenType::Absent;
    }

    /// The next octets of the body. With `account`, who signed in is read
    /// from the `id_token` into [`TokenResponse::account`]; without, the
    /// `id_token` is skipped unread. Lend the same reader (or none) on
    /// every call.
    pub fn feed(
        &mut self,
        data: &[u8],
        out: &mut TokenResponse,
        account: Option<&mut AccountReader>,
    ) {
        let mut sink = TokenSink {
            st: &mut self.st,
            out,
            account,
        };
        self.json.feed(data, &mut sink);
    }

    /// The body ended: `out` is complete, or cleared on error.
    pub fn finish(&mut self, out: &mut TokenResponse) -> Result<(), JsonError> {
        let r = self.check(out);
        if r.is_err() {
            out.clear();
        }
        r
    }

    fn check(&mut self, out: &mut TokenResponse) -> Result<(), JsonError> {
        let mut sink = TokenSink {
            st: &mut self.st,
            out,
            account: None,
        };
        self.json.finish(&mut sink)?;
        if out.access_token.is_empty() {
            return Err(JsonError::Missing(Field::AccessToken));
        }
        out.token_type = self.st.token_type.unwrap_or(TokenType::Absent);
        out.expires_in = self.st.expires_in.value;
        let [named, alt] = &self.st.refresh_expires_in;
        out.refresh_expires_in = match (named.value, alt.value) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(())
    }
}

// ---------------------------------------------------------------- device

const D_CODE: u8 = 1;
const D_USER: u8 = 2;
const D_URI: u8 = 3;
const D_URL: u8 = 4;
const D_COMPLETE: u8 = 5;
const D_EXPIRES: u8 = 6;
const D_INTERVAL: u8 = 7;
const D_MESSAGE: u8 = 8;

#[derive(Debug, Clone, Default)]
struct DeviceState {
    seen: u16,
    expires_in: NumberMember,
    interval: NumberMember,
    message_full: bool,
}

struct DeviceSink<'a> {
    st: &'a mut DeviceState,
    out: &'a mut DeviceAuthorization,
}

fn push_field<const N: usize>(out: &mut String<N>, s: &[u8], f: Field) -> Result<(), JsonError> {
    out.push_str(text(s)?).map_err(|_| JsonError::TooLong(f))
}

impl Sink for DeviceSink<'_> {
    fn member(&mut self, name: Option<&[u8]>) -> Result<u8, JsonError> {
        let slot = match name {
            Some(b"device_code") => D_CODE,
            Some(b"user_code") => D_USER,
            Some(b"verification_uri") => D_URI,
            Some(b"verification_url") => D_URL,
            Some(b"verification_uri_complete") => D_COMPLETE,
            Some(b"expires_in") => D_EXPIRES,
            Some(b"interval") => D_INTERVAL,
            Some(b"message") => D_MESSAGE,
            _ => return Ok(0),
        };
        once(&mut self.st.seen, slot)
    }

    fn event(&mut self, slot: u8, _depth: u8, ev: Ev<'_>) -> Result<(), JsonError> {
        match slot {
            D_EXPIRES => return self.st.expires_in.event(ev),
            D_INTERVAL => return self.st.interval.event(ev),
            _ => {}
        }
        string_or_null(ev)?;
        let out = &mut *self.out;
        let uri_given = self.st.seen & (1 << D_URI) != 0;
        match (slot, ev) {
            // `verification_uri` wins over Google's `verification_url`.
            (D_URI, Ev::StrStart) => out.verification_uri.clear(),
            (D_URL, _) if uri_given => {}
            (D_CODE, Ev::Str(s)) => out
                .device_code
                .extend(s)
                .map_err(|_| JsonError::TooLong(Field::DeviceCode))?,
            (D_USER, Ev::Str(s)) => push_field(&mut out.user_code, s, Field::UserCode)?,
            (D_URI | D_URL, Ev::Str(s)) => {
                push_field(&mut out.verification_uri, s, Field::VerificationUri)?;
            }
            (D_COMPLETE, Ev::Str(s)) => push_field(
                &mut out.verification_uri_complete,
                s,
                Field::VerificationUriComplete,
            )?,
            (D_MESSAGE, Ev::Str(s)) => {
                push_truncated(&mut out.message, &mut self.st.message_full, s)?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Push parser of a device authorization response.
#[derive(Debug, Clone, Default)]
pub struct DeviceParser {
    json: Scanner,
    st: DeviceState,
}

impl DeviceParser {
    /// A parser for a new body; `out` is cleared.
    pub fn start(&mut self, out: &mut DeviceAuthorization) {
        *self = DeviceParser::default();
        out.clear();
    }

    /// The next octets of the body.
    pub fn feed(&mut self, data: &[u8], out: &mut DeviceAuthorization) {
        let mut sink = DeviceSink {
            st: &mut self.st,
            out,
        };
        self.json.feed(data, &mut sink);
    }

    /// The body ended: `out` is complete, or cleared on error.
    pub fn finish(&mut self, out: &mut DeviceAuthorization) -> Result<(), JsonError> {
        let r = self.check(out);
        if r.is_err() {
            out.clear();
        }
        r
    }

    fn check(&mut self, out: &mut DeviceAuthorization) -> Result<(), JsonError> {
        let mut sink = DeviceSink {
            st: &mut self.st,
            out,
        };
        self.json.finish(&mut sink)?;
        let seen = |s: u8| self.st.seen & (1 << s) != 0;
        if !seen(D_CODE) {
            return Err(JsonError::Missing(Field::DeviceCode));
        }
        if !seen(D_USER) {
            return Err(JsonError::Missing(Field::UserCode));
        }
        if !seen(D_URI) && !seen(D_URL) {
            return Err(JsonError::Missing(Field::VerificationUri));
        }
        out.expires_in = self
            .st
            .expires_in
            .value
            .ok_or(JsonError::Missing(Field::ExpiresIn))?;
        out.interval = self.st.interval.value;
        if out.device_code.is_empty() || out.user_code.is_empty() || out.verification_uri.is_empty()
        {
            return Err(JsonError::Missing(Field::DeviceCode));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- error

const E_ERROR: u8 = 1;
const E_DESCRIPTION: u8 = 2;
const E_CODES: u8 = 3;
const E_CODE: u8 = 4;

#[derive(Debug, Clone, Default)]
struct ErrorState {
    seen: u16,
    /// `error` as a string, when it is one.
    error: Option<ErrorCode>,
    /// `error` given as something else than a string or `null`.
    error_not_string: bool,
    error_code: Option<ErrorCode>,
    /// The name being read (`error` or `error_code`).
    name: String<32>,
    name_full: bool,
    description: String<MAX_ERROR_DESCRIPTION_LEN>,
    description_full: bool,
    first_code: Option<u32>,
    codes_read: bool,
}

impl Sink for ErrorState {
    fn member(&mut self, name: Option<&[u8]>) -> Result<u8, JsonError> {
        let slot = match name {
            Some(b"error") => E_ERROR,
            Some(b"error_description") => E_DESCRIPTION,
            Some(b"error_codes") => E_CODES,
            Some(b"error_code") => E_CODE,
            _ => return Ok(0),
        };
        once(&mut self.seen, slot)
    }

    fn event(&mut self, slot: u8, depth: u8, ev: Ev<'_>) -> Result<(), JsonError> {
        match slot {
            E_ERROR if depth > 1 => return Ok(()),
            E_ERROR if !matches!(ev, Ev::StrStart | Ev::Str(_) | Ev::StrEnd | Ev::Null) => {
                self.error_not_string = true;
                return Ok(());
            }
            E_CODES => {
                match (depth, ev) {
                    (1, Ev::Open | Ev::Null) | (1, Ev::Close) => {}
                    (2, Ev::Num(n)) => {
                        let n = integer(n)?;
                        if !self.codes_read {
                            self.first_code = u32::try_from(n).ok();
                            self.codes_read = true;
                        }
                    }
                    _ => return Err(JsonError::Syntax),
                }
                return Ok(());
            }
            _ => string_or_null(ev)?,
        }
        match (slot, ev) {
            (E_ERROR | E_CODE, Ev::StrStart) => {
                self.name.clear();
                self.name_full = false;
            }
            (E_ERROR | E_CODE, Ev::Str(s)) => push_or_full(&mut self.name, &mut self.name_full, s)?,
            (E_ERROR | E_CODE, Ev::StrEnd) => {
                let code = if self.name_full {
                    ErrorCode::Other
                } else {
                    ErrorCode::from_name(self.name.as_bytes())
                };
                if slot == E_ERROR {
                    self.error = Some(code);
                } else {
                    self.error_code = Some(code);
                }
            }
            (E_DESCRIPTION, Ev::Str(s)) => {
                push_truncated(&mut self.description, &mut self.description_full, s)?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// `AADSTS` followed by digits at the start of a description.
fn aadsts_prefix(desc: &str) -> Option<u32> {
    let digits = desc.trim_start().strip_prefix("AADSTS")?;
    let end = digits
        .bytes()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits.get(..end).and_then(|d| d.parse().ok())
}

/// Push parser of an error response.
#[derive(Debug, Clone, Default)]
pub struct ErrorParser {
    json: Scanner,
    st: ErrorState,
}

impl ErrorParser {
    /// The next octets of the body.
    pub fn feed(&mut self, data: &[u8]) {
        self.json.feed(data, &mut self.st);
    }

    /// The body ended: what it said. Google API-style bodies whose
    /// `error` is an object are accepted (the code then comes from
    /// `error_code`).
    pub fn finish(&mut self) -> Result<ErrorResponse, JsonError> {
        self.json.finish(&mut self.st)?;
        let st = &mut self.st;
        let error = if st.error_not_string { None } else { st.error };
        if error.is_none() && st.error_code.is_none() {
            if st.error_not_string {
                return Ok(ErrorResponse {
                    code: ErrorCode::Other,
                    aadsts: None,
                    description: String::new(),
                });
            }
            return Err(JsonError::Missing(Field::Error));
        }
        let mut code = error.unwrap_or(ErrorCode::Other);
        if code == ErrorCode::Other {
            code = st.error_code.unwrap_or(ErrorCode::Other);
        }
        let aadsts = st.first_code.or_else(|| aadsts_prefix(&st.description));
        Ok(ErrorResponse {
            code,
            aadsts,
            description: core::mem::take(&mut st.description),
        })
    }
}

#[cfg(test)]
#[path = "json_stream_tests.rs"]
mod tests;
