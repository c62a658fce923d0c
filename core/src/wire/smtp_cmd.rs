//! SMTP command lines, written into caller buffers, resumable at any octet.
//!
//! The octet-level half of the submission client's output (R-SMTP, R-SASL):
//! a [`Command`] says everything its line carries (the addresses, the SIZE
//! and SMTPUTF8 parameters, the SASL message), and [`Command::write`] puts
//! its octets into the caller's output buffer. The session state (which
//! command is due, with which envelope and token) stays in `smtp`; nothing
//! here knows of it, so this module is plain emission like the rest of
//! `wire`.
//!
//! A queued command is not a byte string but a description; it is written
//! straight into the caller's output buffer. When the buffer fills in the
//! middle of a command, the next `poll_transmit` resumes at the same octet
//! ([`Cursor`]), so any buffer size works and nothing is copied twice.

use super::base64_stream::{encode_window, encoded_len};
use super::sasl::{Mechanism, Plaintext};

/// `"BDAT \r\n"`: a chunk header without its size.
const BDAT_HEADER_FIXED: usize = "BDAT \r\n".len();

/// One command line with everything it carries (for the end of data, the
/// octets that end the body).
#[derive(Clone, Copy)]
pub(crate) enum Command<'a> {
    /// `EHLO <domain>`.
    Ehlo(&'a str),
    /// `STARTTLS`.
    StartTls,
    /// `AUTH <mechanism>`, with ` <initial response>` in base64 when given
    /// (RFC 4954 §4); without it the response follows the `334`.
    Auth {
        mechanism: Mechanism,
        initial_response: Option<&'a dyn Plaintext>,
    },
    /// The response line after the `334` go-ahead: the message in base64.
    AuthResponse(&'a dyn Plaintext),
    /// The answer to an error challenge (empty line or `AQ==`).
    AuthAck(Mechanism),
    /// `MAIL FROM:<from>` and its parameters.
    Mail {
        from: &'a str,
        /// ` SIZE=<n>` (RFC 1870), only to a server that offers SIZE.
        size: Option<u64>,
        /// ` BODY=8BITMIME` (RFC 6152).
        eight_bit_mime: bool,
        /// ` SMTPUTF8` (RFC 6531).
        smtputf8: bool,
    },
    /// `RCPT TO:<to>`.
    Rcpt(&'a str),
    /// `DATA`.
    Data,
    /// `BDAT <n>`, a chunk header: the chunk's `n` octets follow its line
    /// (RFC 3030).
    Bdat(u64),
    /// `BDAT <len> LAST` followed by `tail`, the 0–2 octets that end the
    /// last line (no line end after them).
    BdatLast(&'a [u8]),
    /// End of data (`.\r\n`, after completing the last line), as is.
    Terminator(&'a [u8]),
    /// `RSET`.
    Rset,
    /// `QUIT`.
    Quit,
}

impl Command<'_> {
    /// Write the command from octet `skip` into `out`: (octets written,
    /// complete).
    pub(crate) fn write(self, skip: usize, out: &mut [u8]) -> (usize, bool) {
        let mut c = Cursor::new(out, skip);
        match self {
            Command::Ehlo(domain) => {
                c.put(b"EHLO ");
                c.put(domain.as_bytes());
            }
            Command::StartTls => c.put(b"STARTTLS"),
            Command::Auth {
                mechanism,
                initial_response,
            } => {
                c.put(b"AUTH ");
                c.put(mechanism.name().as_bytes());
                if let Some(m) = initial_response {
                    c.put(b" ");
                    c.put_base64(m);
                }
            }
            Command::AuthResponse(m) => c.put_base64(m),
            Command::AuthAck(mechanism) => c.put(mechanism.error_ack()),
            Command::Mail {
                from,
                size,
                eight_bit_mime,
                smtputf8,
            } => {
                c.put(b"MAIL FROM:<");
                c.put(from.as_bytes());
                c.put(b">");
                if let Some(size) = size {
                    c.put(b" SIZE=");
                    c.put_decimal(size);
                }
                if eight_bit_mime {
                    c.put(b" BODY=8BITMIME");
                }
                if smtputf8 {
                    c.put(b" SMTPUTF8");
                }
            }
            Command::Rcpt(to) => {
                c.put(b"RCPT TO:<");
                c.put(to.as_bytes());
                c.put(b">");
            }
            Command::Data => c.put(b"DATA"),
            Command::Bdat(size) => {
                c.put(b"BDAT ");
                c.put_decimal(size);
            }
            Command::BdatLast(tail) => {
                c.put(b"BDAT ");
                c.put_decimal(tail.len() as u64);
                c.put(b" LAST\r\n");
                c.put(tail);
                return (c.written(), c.complete());
            }
            Command::Terminator(bytes) => {
                c.put(bytes);
                return (c.written(), c.complete());
            }
            Command::Rset => c.put(b"RSET"),
            Command::Quit => c.put(b"QUIT"),
        }
        c.put(b"\r\n");
        (c.written(), c.complete())
    }
}

/// Length of `AUTH <mechanism> <initial response>\r\n` for a SASL message
/// of `plain_len` octets before base64: above the command line limit the
/// client sends AUTH alone and the response after the `334` (RFC 4954 §4).
pub(crate) fn auth_initial_len(mechanism: Mechanism, plain_len: usize) -> usize {
    "AUTH ".len() + mechanism.name().len() + 1 + encoded_len(plain_len) + 2
}

/// Length of the chunk header `BDAT <size>\r\n` ([`Command::Bdat`]).
pub(crate) fn bdat_header_len(size: u64) -> usize {
    let mut digits = [0u8; 20];
    BDAT_HEADER_FIXED + super::decimal(size, &mut digits).len()
}

/// Writes the virtual octets of one command from `skip` on.
pub(crate) struct Cursor<'o> {
    out: &'o mut [u8],
    skip: usize,
    pos: usize,
    written: usize,
}

impl<'o> Cursor<'o> {
    pub(crate) fn new(out: &'o mut [u8], skip: usize) -> Self {
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

    pub(crate) fn put(&mut self, bytes: &[u8]) {
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

    pub(crate) fn put_decimal(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        self.put(super::decimal(n, &mut digits));
    }

    pub(crate) fn put_base64<P: Plaintext + ?Sized>(&mut self, msg: &P) {
        let total = encoded_len(msg.plain_len());
        let want = self.next_wanted();
        if want >= self.pos && want < self.pos + total {
            let dst = self.out.get_mut(self.written..).unwrap_or(&mut []);
            self.written += encode_window(msg, want - self.pos, dst);
        }
        self.pos += total;
    }

    /// Octets written into the buffer by this cursor.
    pub(crate) fn written(&self) -> usize {
        self.written
    }

    /// Whether the whole command has now been written.
    pub(crate) fn complete(&self) -> bool {
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

    /// Every command, whole.
    fn line(cmd: Command<'_>) -> Vec<u8> {
        let mut buf = [0u8; 256];
        let (n, complete) = cmd.write(0, &mut buf);
        assert!(complete);
        buf[..n].to_vec()
    }

    #[test]
    fn each_command_line() {
        let msg = xoauth2("user", b"mF_9.B5f-4.1JqM");
        let b64 = b"dXNlcj11c2VyAWF1dGg9QmVhcmVyIG1GXzkuQjVmLTQuMUpxTQEB";
        assert_eq!(
            line(Command::Ehlo("printer.example.com")),
            b"EHLO printer.example.com\r\n"
        );
        assert_eq!(line(Command::StartTls), b"STARTTLS\r\n");
        let mut want = b"AUTH XOAUTH2 ".to_vec();
        want.extend_from_slice(b64);
        want.extend_from_slice(b"\r\n");
        let auth = Command::Auth {
            mechanism: Mechanism::Xoauth2,
            initial_response: Some(&msg),
        };
        assert_eq!(line(auth), want);
        assert_eq!(
            auth_initial_len(Mechanism::Xoauth2, msg.plain_len()),
            want.len()
        );
        let bare = Command::Auth {
            mechanism: Mechanism::OAuthBearer,
            initial_response: None,
        };
        assert_eq!(line(bare), b"AUTH OAUTHBEARER\r\n");
        assert_eq!(
            line(Command::AuthResponse(&msg)),
            [&b64[..], b"\r\n"].concat()
        );
        assert_eq!(line(Command::AuthAck(Mechanism::Xoauth2)), b"\r\n");
        assert_eq!(line(Command::AuthAck(Mechanism::OAuthBearer)), b"AQ==\r\n");
        let mail = Command::Mail {
            from: "a@example.com",
            size: Some(1234),
            eight_bit_mime: true,
            smtputf8: true,
        };
        assert_eq!(
            line(mail),
            b"MAIL FROM:<a@example.com> SIZE=1234 BODY=8BITMIME SMTPUTF8\r\n"
        );
        let plain = Command::Mail {
            from: "",
            size: None,
            eight_bit_mime: false,
            smtputf8: false,
        };
        assert_eq!(line(plain), b"MAIL FROM:<>\r\n");
        assert_eq!(
            line(Command::Rcpt("b@example.com")),
            b"RCPT TO:<b@example.com>\r\n"
        );
        assert_eq!(line(Command::Data), b"DATA\r\n");
        assert_eq!(line(Command::Bdat(4096)), b"BDAT 4096\r\n");
        assert_eq!(bdat_header_len(4096), b"BDAT 4096\r\n".len());
        assert_eq!(line(Command::BdatLast(b"\r\n")), b"BDAT 2 LAST\r\n\r\n");
        assert_eq!(line(Command::BdatLast(b"")), b"BDAT 0 LAST\r\n");
        assert_eq!(line(Command::Terminator(b"\r\n.\r\n")), b"\r\n.\r\n");
        assert_eq!(line(Command::Rset), b"RSET\r\n");
        assert_eq!(line(Command::Quit), b"QUIT\r\n");
    }

    #[test]
    fn knows_nothing_of_the_session() {
        // R-ENGINE layering (issue 15): emission is `wire`; the session
        // state machine (`smtp`) builds on it, never the other way.
        let src = include_str!("smtp_cmd.rs");
        let smtp = concat!("crate", "::", "smtp");
        assert!(!src.contains(smtp));
    }
}
