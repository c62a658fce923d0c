//! SASL messages that carry the bearer token: XOAUTH2 and OAUTHBEARER
//! (RFC 7628), and the `334` error challenge they may get back.
//!
//! A message is described as a short list of borrowed pieces, never built
//! in a buffer: the token stays where it is and is base64-encoded straight
//! into the output by [`crate::wire::base64_stream`], a window at a time,
//! so a 4 KiB token needs no 6 KiB line buffer.

use base64::Engine as _;

use crate::limits::MAX_CHALLENGE_LEN;
use crate::wire::json::JsonError;
use crate::wire::json_stream::{text as json_text, Ev, Scanner, Sink};

/// The mechanisms this client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Mechanism {
    /// Google's and Microsoft's XOAUTH2.
    Xoauth2,
    /// RFC 7628 OAUTHBEARER.
    OAuthBearer,
}

impl Mechanism {
    /// The name sent in `AUTH` (upper case: Exchange Online is reported to
    /// reject lower case).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Mechanism::Xoauth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// What the client answers to an error challenge: an empty line for
    /// XOAUTH2, a single `%x01` (`AQ==`) for OAUTHBEARER (RFC 7628 §3.2.3).
    #[must_use]
    pub const fn error_ack(self) -> &'static [u8] {
        match self {
            Mechanism::Xoauth2 => b"",
            Mechanism::OAuthBearer => b"AQ==",
        }
    }
}

/// One piece of a SASL message.
#[derive(Clone, Copy)]
pub enum Piece<'a> {
    /// Octets copied as they are.
    Raw(&'a [u8]),
    /// A GS2 `saslname`: `,` and `=` are written `=2C` and `=3D` (RFC 5801).
    SaslName(&'a [u8]),
}

impl core::fmt::Debug for Piece<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Pieces may hold the token: show only sizes.
        match self {
            Piece::Raw(b) => write!(f, "Raw({} octets)", b.len()),
            Piece::SaslName(b) => write!(f, "SaslName({} octets)", b.len()),
        }
    }
}

impl Piece<'_> {
    fn len(&self) -> usize {
        match self {
            Piece::Raw(b) => b.len(),
            Piece::SaslName(b) => b
                .iter()
                .map(|&c| if c == b',' || c == b'=' { 3 } else { 1 })
                .sum(),
        }
    }

    /// Copy this piece's octets from `offset` into `dst`; returns the count.
    fn copy(&self, offset: usize, dst: &mut [u8]) -> usize {
        match self {
            Piece::Raw(b) => {
                let src = b.get(offset..).unwrap_or(&[]);
                let n = src.len().min(dst.len());
                if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
                    d.copy_from_slice(s);
                }
                n
            }
            Piece::SaslName(b) => {
                let mut pos = 0usize;
                let mut written = 0usize;
                for &c in b.iter() {
                    let esc: &[u8] = match c {
                        b',' => b"=2C",
                        b'=' => b"=3D",
                        _ => core::slice::from_ref(&c),
                    };
                    for &e in esc {
                        if pos >= offset {
                            match dst.get_mut(written) {
                                Some(slot) => *slot = e,
                                None => return written,
                            }
                            written += 1;
                        }
                        pos += 1;
                    }
                }
                written
            }
        }
    }
}

/// A SASL client message as a sequence of pieces.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a, const K: usize> {
    pieces: [Piece<'a>; K],
}

/// Anything whose plaintext can be copied out a window at a time.
pub trait Plaintext {
    /// Total plaintext length in octets.
    fn plain_len(&self) -> usize;
    /// Copy plaintext from `offset` into `dst`; returns octets copied (less
    /// than `dst.len()` only at the end).
    fn copy_plain(&self, offset: usize, dst: &mut [u8]) -> usize;
}

impl<const K: usize> Plaintext for Message<'_, K> {
    fn plain_len(&self) -> usize {
        self.pieces.iter().map(Piece::len).sum()
    }

    fn copy_plain(&self, mut offset: usize, dst: &mut [u8]) -> usize {
        let mut written = 0;
        for piece in &self.pieces {
            let len = piece.len();
            if offset >= len {
                offset -= len;
                continue;
            }
            let Some(rest) = dst.get_mut(written..) else {
                break;
            };
            written += piece.copy(offset, rest);
            offset = 0;
            if written == dst.len() {
                break;
            }
        }
        written
    }
}

/// The XOAUTH2 message `user=<user>^Aauth=Bearer <token>^A^A`.
#[must_use]
pub fn xoauth2<'a>(user: &'a str, token: &'a [u8]) -> Message<'a, 5> {
    Message {
        pieces: [
            Piece::Raw(b"user="),
            Piece::Raw(user.as_bytes()),
            Piece::Raw(b"\x01auth=Bearer "),
            Piece::Raw(token),
            Piece::Raw(b"\x01\x01"),
        ],
    }
}

/// The OAUTHBEARER message (RFC 7628 §3.1):
/// `n,a=<user>,^Ahost=<host>^Aport=<port>^Aauth=Bearer <token>^A^A`.
/// `port` is the decimal port as text (see [`crate::wire::decimal`]).
#[must_use]
pub fn oauthbearer<'a>(
    user: &'a str,
    host: &'a str,
    port: &'a [u8],
    token: &'a [u8],
) -> Message<'a, 9> {
    Message {
        pieces: [
            Piece::Raw(b"n,a="),
            Piece::SaslName(user.as_bytes()),
            Piece::Raw(b",\x01host="),
            Piece::Raw(host.as_bytes()),
            Piece::Raw(b"\x01port="),
            Piece::Raw(port),
            Piece::Raw(b"\x01auth=Bearer "),
            Piece::Raw(token),
            Piece::Raw(b"\x01\x01"),
        ],
    }
}

/// The server's error challenge after a rejected token: base64 JSON with
/// `status`, `schemes`, `scope` (Google; RFC 7628 §3.2.2 also
/// `openid-configuration`). Only what decides the next step is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ErrorChallenge {
    /// The status says the token itself is bad (`401`, `invalid_token`):
    /// refreshing it and retrying once can help.
    pub token_invalid: bool,
    /// The status says the token lacks scope (`403`, `insufficient_scope`):
    /// a new authorization is needed, not a refresh.
    pub insufficient_scope: bool,
}

/// The `334` challenge text is not base64 of a JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChallengeMalformed;

/// Decode a `334` error challenge (the text after `334 `).
///
/// The JSON is decoded a few base64 groups at a time and read by the
/// token endpoints' push parser (`wire::json_stream`), which keeps only
/// `status`: no 1 KiB copy of the JSON on the SMTP session's stack, and no
/// second JSON parser in the firmware (R-MEM). At most
/// [`MAX_CHALLENGE_LEN`] decoded octets and
/// [`MAX_JSON_DEPTH`](crate::limits::MAX_JSON_DEPTH) levels are
/// accepted.
pub fn decode_error_challenge(text: &[u8]) -> Result<ErrorChallenge, ChallengeMalformed> {
    // 64 base64 characters (a multiple of a 4-character group) make 48
    // octets; padding may only end the last piece.
    const PIECE: usize = 64;
    let mut json = Scanner::new();
    let mut sink = StatusSink::default();
    let mut decoded = 0usize;
    let pieces = text.chunks(PIECE);
    let last = pieces.len().saturating_sub(1);
    for (i, piece) in pieces.enumerate() {
        // Padding ends the whole text, not a piece of it.
        if i < last && piece.contains(&b'=') {
            return Err(ChallengeMalformed);
        }
        let mut out = [0u8; PIECE / 4 * 3];
        let n = base64::engine::general_purpose::STANDARD
            .decode_slice(piece, &mut out)
            .map_err(|_| ChallengeMalformed)?;
        decoded = decoded.saturating_add(n);
        if decoded > MAX_CHALLENGE_LEN {
            return Err(ChallengeMalformed);
        }
        json.feed(out.get(..n).ok_or(ChallengeMalformed)?, &mut sink);
    }
    json.finish(&mut sink).map_err(|_| ChallengeMalformed)?;
    let status = sink.status.as_deref().unwrap_or("");
    Ok(ErrorChallenge {
        token_invalid: matches!(status, "401" | "invalid_token"),
        insufficient_scope: matches!(status, "403" | "insufficient_scope"),
    })
}

/// Longest `status` kept: the values that decide something are at most 18
/// octets (`insufficient_scope`); a longer one decides nothing.
const STATUS_CAP: usize = 24;

/// Keeps the challenge's `status` member (a string, or `null` for none).
#[derive(Default)]
struct StatusSink {
    /// `None`: no status, `null`, or longer than [`STATUS_CAP`].
    status: Option<heapless::String<STATUS_CAP>>,
}

impl Sink for StatusSink {
    fn member(&mut self, name: Option<&[u8]>) -> Result<u8, JsonError> {
        Ok(u8::from(name == Some(b"status".as_slice())))
    }

    fn event(&mut self, _slot: u8, _depth: u8, ev: Ev<'_>) -> Result<(), JsonError> {
        match ev {
            Ev::StrStart => self.status = Some(heapless::String::new()),
            Ev::Str(piece) => {
                let fits = match self.status.as_mut() {
                    Some(s) => s.push_str(json_text(piece)?).is_ok(),
                    None => true,
                };
                if !fits {
                    self.status = None;
                }
            }
            Ev::StrEnd => {}
            Ev::Null => self.status = None,
            // A status that is not a string is not a challenge.
            _ => return Err(JsonError::Syntax),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::base64_stream::encode_all;

    fn encoded<P: Plaintext>(msg: &P) -> String {
        let mut out = [0u8; 512];
        let n = encode_all(msg, &mut out).unwrap();
        String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn xoauth2_vectors_google_microsoft_curl() {
        // PROVIDERS.md §1 (Google and Microsoft docs, curl test922).
        assert_eq!(
            encoded(&xoauth2("someuser@example.com", b"ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
        );
        assert_eq!(
            encoded(&xoauth2("test@contoso.onmicrosoft.com", b"EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA")),
            "dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9QmVhcmVyIEV3QkFBbDNCQUFVRkZwVUFvN0ozVmUwYmpMQldaV0NjbFJDM0VvQUEBAQ=="
        );
        assert_eq!(
            encoded(&xoauth2("user", b"mF_9.B5f-4.1JqM")),
            "dXNlcj11c2VyAWF1dGg9QmVhcmVyIG1GXzkuQjVmLTQuMUpxTQEB"
        );
    }

    #[test]
    fn oauthbearer_rfc7628_vectors() {
        let token = b"vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==";
        let mut port = [0u8; 20];
        assert_eq!(
            encoded(&oauthbearer("user@example.com", "server.example.com", crate::wire::decimal(143, &mut port), token)),
            "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"
        );
        assert_eq!(
            encoded(&oauthbearer("user@example.com", "server.example.com", crate::wire::decimal(587, &mut port), token)),
            "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9NTg3AWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"
        );
        // §4.3: the failure case sends an empty auth= value.
        let empty = Message {
            pieces: [
                Piece::Raw(b"n,a="),
                Piece::SaslName(b"user@example.com"),
                Piece::Raw(b",\x01host=server.example.com\x01port=143\x01auth=\x01\x01"),
            ],
        };
        assert_eq!(
            encoded(&empty),
            "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9AQE="
        );
    }

    #[test]
    fn saslname_escapes_comma_and_equals() {
        let msg = Message {
            pieces: [Piece::SaslName(b"a=b,c")],
        };
        let mut out = [0u8; 16];
        let n = msg.copy_plain(0, &mut out);
        assert_eq!(&out[..n], b"a=3Db=2Cc");
        assert_eq!(msg.plain_len(), 9);
        let n = msg.copy_plain(2, &mut out[..3]);
        assert_eq!(&out[..n], b"3Db");
    }

    #[test]
    fn error_challenges_google_and_rfc7628() {
        // Google's documented challenge (with its trailing newline).
        let g = decode_error_challenge(b"eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K").unwrap();
        assert!(g.token_invalid && !g.insufficient_scope);
        let rfc = decode_error_challenge(b"eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=").unwrap();
        assert!(rfc.token_invalid);
        // {"status":"insufficient_scope"}
        let scope =
            decode_error_challenge(b"eyJzdGF0dXMiOiJpbnN1ZmZpY2llbnRfc2NvcGUifQ==").unwrap();
        assert!(scope.insufficient_scope && !scope.token_invalid);
    }

    #[test]
    fn malformed_challenges_are_errors() {
        assert_eq!(
            decode_error_challenge(b"not base64!"),
            Err(ChallengeMalformed)
        );
        // "[[[[...": base64 of 40 '[' characters, deeper than allowed.
        let deep = base64::engine::general_purpose::STANDARD.encode([b'['; 40]);
        assert_eq!(
            decode_error_challenge(deep.as_bytes()),
            Err(ChallengeMalformed)
        );
        let long = base64::engine::general_purpose::STANDARD.encode([b' '; MAX_CHALLENGE_LEN + 3]);
        assert_eq!(
            decode_error_challenge(long.as_bytes()),
            Err(ChallengeMalformed)
        );
        // Padding inside the text (here where a piece of 64 characters
        // ends) is not base64, even when each side decodes.
        let first = base64::engine::general_purpose::STANDARD.encode([b' '; 46]);
        assert!(first.ends_with('=') && first.len() == 64);
        let rest = base64::engine::general_purpose::STANDARD.encode(r#"{"status":"401"}"#);
        assert_eq!(
            decode_error_challenge(std::format!("{first}{rest}").as_bytes()),
            Err(ChallengeMalformed)
        );
        for json in [
            r#"{"status":401}"#,
            r#"{"status":{"code":"401"}}"#,
            r#"{"status":"401""#,
            r#"["401"]"#,
            r#"{"status":"401"} x"#,
        ] {
            assert_eq!(challenge(json), Err(ChallengeMalformed), "{json}");
        }
    }

    fn challenge(json: &str) -> Result<ErrorChallenge, ChallengeMalformed> {
        let text = base64::engine::general_purpose::STANDARD.encode(json);
        decode_error_challenge(text.as_bytes())
    }

    #[test]
    fn a_challenge_is_read_whatever_its_length_and_escapes() {
        let neither = ErrorChallenge {
            token_invalid: false,
            insufficient_scope: false,
        };
        // A status written with escapes, after a member long enough that
        // the JSON spans several decoded pieces.
        let padded = std::format!(
            r#"{{"scope":"{}","status":"\u0034\u00301","schemes":"bearer"}}"#,
            "s".repeat(300)
        );
        assert!(challenge(&padded).unwrap().token_invalid);
        // Exactly the longest accepted challenge.
        let full = std::format!(
            r#"{{"status":"403"{}}}"#,
            " ".repeat(MAX_CHALLENGE_LEN - 16)
        );
        assert_eq!(full.len(), MAX_CHALLENGE_LEN);
        assert!(challenge(&full).unwrap().insufficient_scope);
        // No status, a null one, an unknown one or one too long to keep:
        // a challenge that decides nothing, not a malformed one.
        let long_status = std::format!(r#"{{"status":"401{}"}}"#, "0".repeat(40));
        for json in [
            "{}",
            r#"{"status":null}"#,
            r#"{"status":"500"}"#,
            long_status.as_str(),
            r#"{"schemes":"bearer","nested":{"status":"401"}}"#,
        ] {
            assert_eq!(challenge(json), Ok(neither), "{json}");
        }
    }
}
