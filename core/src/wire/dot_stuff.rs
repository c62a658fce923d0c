//! Message body: CRLF normalisation and, for `DATA`, dot-stuffing
//! (RFC 5321 §4.5.2) of a body streamed in chunks of any size.
//!
//! Bare CR and bare LF become CRLF (RFC 5321 §2.3.8 forbids them alone); for
//! `DATA`, a line that starts with `.` gets a second `.` (`BDAT` chunks,
//! RFC 3030, carry their length and need no stuffing). The state between
//! chunks is three booleans, so the body never needs to be in memory whole,
//! and the output does not depend on how the input was cut.

use crate::wire::BufferTooSmall;

/// Octets the end-of-data sequence can take: `\n` + `\r\n` + `.\r\n`.
pub const TERMINATOR_MAX: usize = 6;

/// Streaming encoder for the body of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DotStuffer {
    at_line_start: bool,
    pending_cr: bool,
    stuff_dots: bool,
    /// The last octet [`DotStuffer::encode_canonical`] copied was a CR or
    /// an LF (a bare one too): a dot next starts a line for any server.
    after_break: bool,
}

impl Default for DotStuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl DotStuffer {
    /// The state at the start of a `DATA` body.
    #[must_use]
    pub const fn new() -> Self {
        DotStuffer {
            at_line_start: true,
            pending_cr: false,
            stuff_dots: true,
            after_break: false,
        }
    }

    /// The state at the start of a `BDAT` body: line ends normalised, dots
    /// left alone.
    #[must_use]
    pub const fn normalise_only() -> Self {
        DotStuffer {
            at_line_start: true,
            pending_cr: false,
            stuff_dots: false,
            after_break: false,
        }
    }

    /// Encode as much of `input` as fits in `out`. Returns
    /// `(consumed, written)`; `consumed < input.len()` means `out` is full:
    /// send it and call again with the rest. `out` must hold at least
    /// [`crate::limits::MIN_BODY_OUT_LEN`] octets for progress.
    pub fn encode(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        if !input.is_empty() {
            // The state below says all from here on.
            self.after_break = false;
        }
        let mut consumed = 0;
        let mut w = 0;
        for &b in input {
            // Worst case for one input octet: "\n" + ".." (bare CR, then a dot).
            if out.len().saturating_sub(w) < 3 {
                break;
            }
            let mut put = |x: u8| {
                if let Some(slot) = out.get_mut(w) {
                    *slot = x;
                    w += 1;
                }
            };
            if self.pending_cr {
                self.pending_cr = false;
                put(b'\n');
                self.at_line_start = true;
                if b == b'\n' {
                    consumed += 1;
                    continue;
                }
            }
            match b {
                b'\r' => {
                    put(b'\r');
                    self.pending_cr = true;
                }
                b'\n' => {
                    put(b'\r');
                    put(b'\n');
                    self.at_line_start = true;
                }
                _ => {
                    if self.stuff_dots && self.at_line_start && b == b'.' {
                        put(b'.');
                    }
                    put(b);
                    self.at_line_start = false;
                }
            }
            consumed += 1;
        }
        (consumed, w)
    }

    /// Encode octets of a body whose caller declares it canonical: CRLF
    /// line ends only, and no line that starts with `.` (the core
    /// composer's output, [`crate::mime`]). Same contract as
    /// [`DotStuffer::encode`], and for a canonical body the same octets,
    /// however the body is cut; but the octets are copied, not scanned:
    ///
    /// - with `BDAT` ([`DotStuffer::normalise_only`]) as they are: the
    ///   chunk's length delimits them, so nothing in them can end the
    ///   message. A bare CR or LF in a body wrongly declared canonical
    ///   reaches the server as it is (which may refuse the message);
    /// - with `DATA`, a dot at the start of a line would end the message
    ///   early or let the rest be read as commands (SMTP smuggling), so
    ///   the body is never trusted on that point: every `.` is found
    ///   (`memchr`, a few instructions per 16 or 32 octets), and one that
    ///   follows a CR or an LF (a bare one too), or starts the body, goes
    ///   through [`DotStuffer::encode`] with the rest of its line: it is
    ///   stuffed. So a body that breaks the contract costs time, never the
    ///   protocol. Bare CR and LF elsewhere go out as they are.
    pub fn encode_canonical(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        let n = input.len().min(out.len());
        let (Some(chunk), Some(dst)) = (input.get(..n), out.get_mut(..n)) else {
            return (0, 0);
        };
        let mut safe = n;
        if self.stuff_dots {
            if self.pending_cr {
                safe = 0;
            } else {
                for i in memchr::memchr_iter(b'.', chunk) {
                    let line_start = match i.checked_sub(1).and_then(|p| chunk.get(p)) {
                        Some(&b) => b == b'\r' || b == b'\n',
                        None => self.at_line_start || self.after_break,
                    };
                    if line_start {
                        safe = i;
                        break;
                    }
                }
            }
            if safe == 0 {
                // The scanning path, to the end of this line; after a bare
                // LF too, the dot is stuffed.
                if self.after_break {
                    self.at_line_start = true;
                }
                let end = memchr::memchr(b'\n', chunk).map_or(n, |p| p + 1);
                return self.encode(chunk.get(..end).unwrap_or(chunk), out);
            }
        }
        let (Some(src), Some(dst)) = (chunk.get(..safe), dst.get_mut(..safe)) else {
            return (0, 0);
        };
        dst.copy_from_slice(src);
        if let Some(&last) = src.last() {
            let before = match src.len().checked_sub(2).and_then(|p| src.get(p)) {
                Some(&b) => b == b'\r',
                None => self.pending_cr,
            };
            self.at_line_start = last == b'\n' && before;
            self.pending_cr = last == b'\r';
            self.after_break = last == b'\r' || last == b'\n';
        }
        (safe, safe)
    }

    /// Complete the last line if it is not (the message ends with CRLF):
    /// writes 0 to 2 octets into `buf` and returns the count.
    pub fn end_line(&mut self, buf: &mut [u8; 2]) -> usize {
        let tail: &[u8] = if self.pending_cr {
            b"\n"
        } else if !self.at_line_start {
            b"\r\n"
        } else {
            b""
        };
        if let Some(dst) = buf.get_mut(..tail.len()) {
            dst.copy_from_slice(tail);
        }
        self.pending_cr = false;
        self.at_line_start = true;
        tail.len()
    }

    /// Write the end of `DATA`: completes the last line if needed, then
    /// `.\r\n`. Resets the encoder for the next message.
    pub fn finish(&mut self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut buf = [0u8; TERMINATOR_MAX];
        let mut n = 0;
        let mut put = |s: &[u8]| {
            for &x in s {
                if let Some(slot) = buf.get_mut(n) {
                    *slot = x;
                    n += 1;
                }
            }
        };
        if self.pending_cr {
            put(b"\n");
        } else if !self.at_line_start {
            put(b"\r\n");
        }
        put(b".\r\n");
        let dst = out.get_mut(..n).ok_or(BufferTooSmall { needed: n })?;
        dst.copy_from_slice(buf.get(..n).unwrap_or(&[]));
        *self = DotStuffer::new();
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn stuff(input: &[u8], chunk: usize, out_len: usize) -> Vec<u8> {
        let mut d = DotStuffer::new();
        let mut wire = Vec::new();
        let mut out = std::vec![0u8; out_len];
        for piece in input.chunks(chunk.max(1)) {
            let mut rest = piece;
            while !rest.is_empty() {
                let (c, w) = d.encode(rest, &mut out);
                wire.extend_from_slice(&out[..w]);
                rest = &rest[c..];
            }
        }
        let mut end = [0u8; TERMINATOR_MAX];
        let n = d.finish(&mut end).unwrap();
        wire.extend_from_slice(&end[..n]);
        wire
    }

    /// What a server does (RFC 5321 §4.5.2): read lines up to `.`, remove
    /// one leading dot.
    fn unstuff(wire: &[u8]) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        let mut rest = wire;
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n")?;
            let line = &rest[..end];
            rest = &rest[end + 2..];
            if line == b"." {
                return rest.is_empty().then_some(body);
            }
            body.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
            body.extend_from_slice(b"\r\n");
        }
    }

    fn normalise(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < input.len() {
            match input[i] {
                b'\r' if input.get(i + 1) == Some(&b'\n') => {
                    out.extend_from_slice(b"\r\n");
                    i += 1;
                }
                b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
                b => out.push(b),
            }
            i += 1;
        }
        if !out.is_empty() && !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    #[test]
    fn stuffs_leading_dots_and_normalises_line_ends() {
        assert_eq!(
            stuff(b".hidden\r\n..two\r\n", 100, 64),
            b"..hidden\r\n...two\r\n.\r\n"
        );
        assert_eq!(stuff(b"a\nb\rc", 100, 64), b"a\r\nb\r\nc\r\n.\r\n");
        assert_eq!(stuff(b"a\r\r\n.", 100, 64), b"a\r\n\r\n..\r\n.\r\n");
        assert_eq!(stuff(b"", 1, 3), b".\r\n");
        assert_eq!(stuff(b"x\r", 1, 3), b"x\r\n.\r\n");
        assert_eq!(stuff(b"a.b\r\n.\r\n", 1, 3), b"a.b\r\n..\r\n.\r\n");
    }

    #[test]
    fn normalise_only_leaves_dots_and_ends_the_last_line() {
        let mut d = DotStuffer::normalise_only();
        let mut out = [0u8; 32];
        let (c, w) = d.encode(b".a\n.b\r", &mut out);
        assert_eq!((c, &out[..w]), (6, &b".a\r\n.b\r"[..]));
        let mut tail = [0u8; 2];
        let n = d.end_line(&mut tail);
        assert_eq!(&tail[..n], b"\n");
        assert_eq!(d.end_line(&mut tail), 0);
    }

    #[test]
    fn finish_needs_room_for_the_terminator() {
        let mut d = DotStuffer::new();
        let (_, _) = d.encode(b"x", &mut [0u8; 8]);
        assert_eq!(d.finish(&mut [0u8; 4]), Err(BufferTooSmall { needed: 5 }));
    }

    proptest! {
        #[test]
        #[cfg_attr(miri, ignore = "no dependency and no unsafe code in this module: Miri can find nothing here that the native run misses, at minutes per case; the encoder runs under Miri in the unit tests above")]
        fn any_chunking_gives_the_same_wire_bytes(
            body in proptest::collection::vec(prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), any::<u8>()], 0..400),
            chunk in 1usize..50,
            out_len in 3usize..40,
        ) {
            prop_assert_eq!(stuff(&body, chunk, out_len), stuff(&body, body.len().max(1), 4096));
        }

        #[test]
        #[cfg_attr(miri, ignore = "no dependency and no unsafe code in this module: Miri can find nothing here that the native run misses, at minutes per case; the encoder runs under Miri in the unit tests above")]
        fn round_trips_through_a_server_unstuffer(
            body in proptest::collection::vec(prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), any::<u8>()], 0..400),
        ) {
            let wire = stuff(&body, 7, 11);
            prop_assert_eq!(unstuff(&wire), Some(normalise(&body)));
        }
    }
}
