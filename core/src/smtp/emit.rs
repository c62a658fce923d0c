//! Writing commands into caller buffers, resumable at any octet.
//!
//! A queued command is not a byte string but a description ([`Cmd`]); it is
//! written straight into the caller's output buffer. When the buffer fills
//! in the middle of a command, the next `poll_transmit` resumes at the same
//! octet, so any buffer size works and nothing is copied twice.

use crate::wire::base64_stream::{encode_window, encoded_len};
use crate::wire::sasl::Plaintext;

/// A command waiting to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmd {
    Ehlo,
    StartTls,
    /// `AUTH <mech> <response>` on one line.
    AuthInitial,
    /// `AUTH <mech>` alone (two-step for long tokens).
    AuthBare,
    /// The response line after the `334` go-ahead.
    AuthResponse,
    /// The answer to an error challenge (empty line or `AQ==`).
    AuthAck,
    Mail,
    Rcpt(u8),
    Data,
    /// End of data (`.\r\n`, after completing the last line).
    Terminator {
        bytes: [u8; 6],
        len: u8,
    },
    /// `BDAT <len> LAST` with the 0–2 octets that end the last line.
    BdatLast {
        tail: [u8; 2],
        len: u8,
    },
    Rset,
    Quit,
}

impl Cmd {
    /// Whether the command carries the token (its transmit is marked
    /// sensitive and travels alone).
    pub(super) const fn is_sensitive(self) -> bool {
        matches!(self, Cmd::AuthInitial | Cmd::AuthResponse)
    }
}

/// Writes the virtual octets of one command from `skip` on.
pub(super) struct Cursor<'o> {
    out: &'o mut [u8],
    skip: usize,
    pos: usize,
    written: usize,
}

impl<'o> Cursor<'o> {
    pub(super) fn new(out: &'o mut [u8], skip: usize) -> Self {
        Cursor {
            out,
            skip,
            pos: 0,
            written: 0,
        }
    }

    fn next_wanted(&self) -> usize {
        self.skip + self.written
    }

    pub(super) fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        let want = self.next_wanted();
        if want >= self.pos && want < end {
            let from = bytes.get(want - self.pos..).unwrap_or(&[]);
            let room = self.out.len() - self.written;
            let n = from.len().min(room);
            if let (Some(dst), Some(src)) = (
                self.out.get_mut(self.written..self.written + n),
                from.get(..n),
            ) {
                dst.copy_from_slice(src);
                self.written += n;
            }
        }
        self.pos = end;
    }

    pub(super) fn put_decimal(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        self.put(crate::wire::decimal(n, &mut digits));
    }

    pub(super) fn put_base64<P: Plaintext + ?Sized>(&mut self, msg: &P) {
        let total = encoded_len(msg.plain_len());
        let want = self.next_wanted();
        if want >= self.pos && want < self.pos + total {
            let dst = self.out.get_mut(self.written..).unwrap_or(&mut []);
            self.written += encode_window(msg, want - self.pos, dst);
        }
        self.pos += total;
    }

    /// Octets written into the buffer by this cursor.
    pub(super) fn written(&self) -> usize {
        self.written
    }

    /// Whether the whole command has now been written.
    pub(super) fn complete(&self) -> bool {
        self.next_wanted() >= self.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::sasl::xoauth2;

    fn write_in_pieces(size: usize) -> Vec<u8> {
        let msg = xoauth2("user", b"mF_9.B5f-4.1JqM");
        let mut all = Vec::new();
        let mut skip = 0;
        loop {
            let mut buf = std::vec![0u8; size];
            let mut c = Cursor::new(&mut buf, skip);
            c.put(b"AUTH XOAUTH2 ");
            c.put_base64(&msg);
            c.put(b" SIZE=");
            c.put_decimal(1_048_576);
            c.put(b"\r\n");
            let n = c.written();
            let done = c.complete();
            all.extend_from_slice(&buf[..n]);
            skip += n;
            if done {
                return all;
            }
        }
    }

    #[test]
    fn resumes_at_any_octet() {
        let want =
            b"AUTH XOAUTH2 dXNlcj11c2VyAWF1dGg9QmVhcmVyIG1GXzkuQjVmLTQuMUpxTQEB SIZE=1048576\r\n";
        for size in 1..=want.len() + 3 {
            assert_eq!(write_in_pieces(size), want.to_vec(), "buffer of {size}");
        }
    }
}
