//! The error body of a mail API answer, read as it arrives (R-XPORT,
//! R-MEM): only the members that name the failure are kept, each cut at a
//! fixed length; everything else is skipped by the streaming scanner
//! without being held.
//!
//! - Microsoft Graph: `{"error": {"code": "ErrorAccessDenied",
//!   "message": "…", "innerError": {…}}}`.
//! - Google APIs: `{"error": {"code": 403, "message": "…", "errors":
//!   [{"reason": "insufficientPermissions", …}], "status":
//!   "PERMISSION_DENIED"}}`; the first `reason` is kept.

use heapless::String;

use crate::wire::json::JsonError;
use crate::wire::json_stream::{text, Ev, Scanner, Sink};

/// Longest error code or reason kept (longer ones are cut: no documented
/// one comes near).
pub const MAX_API_ERROR_CODE_LEN: usize = 48;
/// Longest error message kept, for the support log and the panel.
pub const MAX_API_ERROR_MESSAGE_LEN: usize = 160;

/// What an error body said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// Graph's `error.code` (a string; Google's numeric code is not kept).
    pub code: String<MAX_API_ERROR_CODE_LEN>,
    /// Google's first `error.errors[].reason`.
    pub reason: String<MAX_API_ERROR_CODE_LEN>,
    /// Google's `error.status` (`PERMISSION_DENIED`, …).
    pub status: String<MAX_API_ERROR_CODE_LEN>,
    /// `error.message`, cut at [`MAX_API_ERROR_MESSAGE_LEN`] octets.
    pub message: String<MAX_API_ERROR_MESSAGE_LEN>,
}

/// Which member of the error object a value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Member {
    #[default]
    Other,
    Code,
    Message,
    Status,
    Errors,
}

/// The parser: feed the body in any pieces, then [`ErrorParser::finish`].
#[derive(Debug, Clone)]
pub struct ErrorParser {
    scanner: Scanner,
    sink: ErrorSink,
}

#[derive(Debug, Clone)]
struct ErrorSink {
    body: ErrorBody,
    /// The member of `error` being read (depth 2).
    member: Member,
    /// Index of the element of `errors` being read, from 1 (0: none yet).
    element: u8,
    /// The member of an `errors` element being read is `reason`.
    in_reason: bool,
}

/// Append `s` to `place`, cut at its capacity on a character boundary.
fn push_cut<const N: usize>(place: &mut String<N>, s: &[u8]) -> Result<(), JsonError> {
    for c in text(s)?.chars() {
        if place.push(c).is_err() {
            break;
        }
    }
    Ok(())
}

impl Sink for ErrorSink {
    fn member(&mut self, name: Option<&[u8]>) -> Result<u8, JsonError> {
        Ok(u8::from(name == Some(b"error")))
    }

    fn event(&mut self, _slot: u8, depth: u8, ev: Ev<'_>) -> Result<(), JsonError> {
        match (depth, ev) {
            (2, Ev::Key(name)) => {
                self.member = match name {
                    Some(b"code") => Member::Code,
                    Some(b"message") => Member::Message,
                    Some(b"status") => Member::Status,
                    Some(b"errors") => Member::Errors,
                    _ => Member::Other,
                };
            }
            (2, Ev::Str(s)) => match self.member {
                Member::Code => push_cut(&mut self.body.code, s)?,
                Member::Message => push_cut(&mut self.body.message, s)?,
                Member::Status => push_cut(&mut self.body.status, s)?,
                Member::Other | Member::Errors => {}
            },
            // An element of `errors` opens (the array itself opens at 2).
            (3, Ev::Open) if self.member == Member::Errors => {
                self.element = self.element.saturating_add(1);
            }
            (4, Ev::Key(name)) => self.in_reason = name == Some(b"reason"),
            (4, Ev::Str(s))
                if self.member == Member::Errors && self.in_reason && self.element == 1 =>
            {
                push_cut(&mut self.body.reason, s)?;
            }
            _ => {}
        }
        Ok(())
    }
}

impl Default for ErrorParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ErrorParser {
    /// A parser before the body's first octet.
    #[must_use]
    pub const fn new() -> Self {
        ErrorParser {
            scanner: Scanner::new(),
            sink: ErrorSink {
                body: ErrorBody {
                    code: String::new(),
                    reason: String::new(),
                    status: String::new(),
                    message: String::new(),
                },
                member: Member::Other,
                element: 0,
                in_reason: false,
            },
        }
    }

    /// The next octets of the body.
    pub fn feed(&mut self, input: &[u8]) {
        self.scanner.feed(input, &mut self.sink);
    }

    /// The body ended: what it said. A body that is not a JSON object (an
    /// HTML error page from a gateway) says nothing: every field is empty.
    #[must_use]
    pub fn finish(&mut self) -> ErrorBody {
        let done = self.scanner.finish(&mut self.sink);
        let body = core::mem::take(&mut self.sink.body);
        *self = Self::new();
        match done {
            Ok(()) => body,
            Err(_) => ErrorBody::default(),
        }
    }
}
