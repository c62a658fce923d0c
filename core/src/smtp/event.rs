//! What the client reports: events, the session's errors, and the errors of
//! the caller-facing calls.

use core::fmt;

use crate::diag::{Diagnostic, Id};
use crate::wire::reply::{ReplyCode, ReplyError};
use crate::wire::sasl::Mechanism;

/// The step of the session a reply or failure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Stage {
    /// Waiting for the `220` greeting.
    Greeting,
    /// EHLO.
    Ehlo,
    /// STARTTLS and the TLS handshake.
    StartTls,
    /// AUTH.
    Auth,
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
    /// DATA, up to the `354`.
    Data,
    /// The body and the reply to its final `.`.
    DataEnd,
    /// RSET after a failed transaction.
    Rset,
    /// QUIT.
    Quit,
}

/// Why the session, or one message of it, failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
// An explicit tag, and a unit variant first: the all-zero value is valid
// (`StartTlsNotOffered`), so the C API can zero a session's storage before
// building it in place (R-MEM).
#[repr(u8)]
pub enum Error {
    /// The server does not offer STARTTLS: nothing secret was sent.
    StartTlsNotOffered,
    /// The server answered `code` at `stage`; `diag` says what it means.
    Refused {
        /// Where.
        stage: Stage,
        /// The server's code and enhanced code.
        code: ReplyCode,
        /// The diagnostic for this reply.
        diag: Id,
    },
    /// The server offers neither XOAUTH2 nor OAUTHBEARER.
    NoOAuthMechanism,
    /// The message is larger than the server's SIZE; nothing was sent.
    MessageTooBig {
        /// The message's size.
        size: u64,
        /// The server's limit.
        limit: u64,
    },
    /// Every recipient was refused; no body was sent.
    AllRecipientsRefused,
    /// No reply before the deadline.
    Timeout {
        /// Where.
        stage: Stage,
    },
    /// The server closed the connection.
    ConnectionClosed {
        /// Where.
        stage: Stage,
    },
    /// A reply could not be read.
    BadReply {
        /// Where.
        stage: Stage,
        /// What was wrong with it.
        error: ReplyError,
    },
    /// A reply came when none was expected.
    UnexpectedReply {
        /// Its code.
        code: ReplyCode,
    },
    /// Octets followed the `220` to STARTTLS before TLS started (a
    /// plaintext injection attempt, RFC 3207 §6).
    PlaintextAfterStartTls,
    /// The connection was lost after the whole end of data (`.` after
    /// `DATA`, or `BDAT … LAST`) was handed to the driver and before the
    /// server's reply to it: the server may have taken the message (RFC
    /// 1047's duplicate-message problem), so it must not be sent again
    /// blindly.
    DeliveryUnknown,
    /// No reply came in time after the whole end of data (`.` after
    /// `DATA`, or `BDAT … LAST`) was handed to the driver: as with
    /// [`Error::DeliveryUnknown`], the server may have taken the message,
    /// so a retry could deliver it twice (diagnostic E330, not E324).
    TimeoutAfterEndOfData,
    /// The TLS handshake after STARTTLS failed; `diag` is the driver's
    /// reason (a refused certificate, no TLS version in common, …), so that
    /// the job reports it as it would on implicit TLS.
    TlsFailed {
        /// The driver's diagnostic.
        diag: Id,
    },
    /// An address of the envelope has non-ASCII octets and the server does
    /// not offer SMTPUTF8 (RFC 6531): refused before `MAIL`, nothing of the
    /// message was sent, and the session stays usable.
    Smtputf8NotOffered,
    /// A mail API (R-XPORT: Graph, the Gmail API) refused or failed the
    /// request on a job whose transport is not SMTP: the HTTP `status`
    /// (0 when no answer could be read) and its diagnostic.
    Api {
        /// The HTTP status, 0 for none.
        status: u16,
        /// What it means.
        diag: Id,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Refused { stage, code, .. } => write!(f, "server refused at {stage:?}: {code}"),
            Error::StartTlsNotOffered => f.write_str("server does not offer STARTTLS"),
            Error::NoOAuthMechanism => f.write_str("server offers neither XOAUTH2 nor OAUTHBEARER"),
            Error::MessageTooBig { size, limit } => {
                write!(
                    f,
                    "message of {size} octets exceeds the server's limit of {limit}"
                )
            }
            Error::AllRecipientsRefused => f.write_str("every recipient was refused"),
            Error::Timeout { stage } => write!(f, "no reply in time at {stage:?}"),
            Error::ConnectionClosed { stage } => write!(f, "connection closed at {stage:?}"),
            Error::BadReply { stage, error } => write!(f, "bad reply at {stage:?}: {error}"),
            Error::UnexpectedReply { code } => write!(f, "unexpected reply {code}"),
            Error::PlaintextAfterStartTls => f.write_str("plaintext after the STARTTLS reply"),
            Error::DeliveryUnknown => f.write_str(
                "connection lost after the end of the message, before the server's reply: delivery unknown",
            ),
            Error::TimeoutAfterEndOfData => f.write_str(
                "no reply in time after the end of the message: delivery unknown",
            ),
            Error::TlsFailed { diag } => write!(f, "TLS after STARTTLS failed: {}", diag.name()),
            Error::Smtputf8NotOffered => {
                f.write_str("a non-ASCII address needs SMTPUTF8, which the server does not offer")
            }
            Error::Api { status: 0, diag } => write!(f, "mail API request failed: {}", diag.name()),
            Error::Api { status, diag } => {
                write!(f, "mail API answered {status}: {}", diag.name())
            }
        }
    }
}

impl core::error::Error for Error {}

impl Error {
    /// Whether a reply of the server decided this failure, so that the
    /// client's last reply is the one to show with it. A close, a timeout,
    /// a reply that could not be read, a failed TLS handshake, plaintext
    /// injected after STARTTLS, a message over the SIZE announced in EHLO and
    /// a non-ASCII address without SMTPUTF8 come with no reply of their own: the last reply then is an
    /// earlier one (the `220` to STARTTLS, the `235` to AUTH) and is not the
    /// reason.
    #[must_use]
    pub const fn from_reply(&self) -> bool {
        if let Error::Api { status, .. } = self {
            return *status != 0;
        }
        !matches!(
            self,
            Error::MessageTooBig { .. }
                | Error::Timeout { .. }
                | Error::ConnectionClosed { .. }
                | Error::BadReply { .. }
                | Error::PlaintextAfterStartTls
                | Error::DeliveryUnknown
                | Error::TimeoutAfterEndOfData
                | Error::TlsFailed { .. }
                | Error::Smtputf8NotOffered
        )
    }
}

impl Diagnostic for Error {
    fn diag(&self) -> Id {
        match self {
            Error::Refused { diag, .. } => *diag,
            Error::StartTlsNotOffered => Id::StartTlsNotOffered,
            Error::NoOAuthMechanism => Id::NoOAuthMechanism,
            Error::MessageTooBig { .. } => Id::MessageTooBig,
            Error::AllRecipientsRefused => Id::AllRecipientsRejected,
            Error::Timeout { .. } => Id::SmtpTimeout,
            Error::ConnectionClosed { .. } => Id::ConnectionClosed,
            Error::BadReply { error, .. } => error.diag(),
            Error::UnexpectedReply { .. } | Error::PlaintextAfterStartTls => Id::ProtocolViolation,
            Error::DeliveryUnknown | Error::TimeoutAfterEndOfData => Id::DeliveryUnknown,
            Error::TlsFailed { diag } => *diag,
            Error::Smtputf8NotOffered => Id::Smtputf8NotOffered,
            Error::Api { diag, .. } => *diag,
        }
    }
}

/// Something the driver or the firmware must know or act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event {
    /// Start TLS on the connection now, then call
    /// [`super::Session::handle_tls_established`]. Feed no more plaintext.
    UpgradeTls,
    /// AUTH is starting; `initial_response` says whether the token went on
    /// the AUTH line (short tokens) or in a second step (long ones).
    Authenticating {
        /// The mechanism chosen from EHLO.
        mechanism: Mechanism,
        /// One step (`AUTH M <response>`) or two (`AUTH M`, `334`, response).
        initial_response: bool,
    },
    /// AUTH is next and no token was lent: call
    /// [`super::Client::set_token`] (the session waits, its timer stopped).
    NeedToken,
    /// The server accepted the token.
    Authenticated {
        /// The mechanism used.
        mechanism: Mechanism,
    },
    /// The server rejected the token. If `refresh_and_retry`, get a fresh
    /// access token and call [`super::Client::retry_auth`] once; otherwise
    /// (or after the retry fails too) call [`super::Client::quit`].
    AuthRejected {
        /// The final reply's code.
        code: ReplyCode,
        /// What it means.
        diag: Id,
        /// Whether a refreshed token may succeed.
        refresh_and_retry: bool,
    },
    /// Authenticated and idle: send a message or quit.
    Ready,
    /// The server refused recipient number `index` of the envelope; the
    /// others proceed.
    RecipientRefused {
        /// Index in [`super::Envelope::to`].
        index: usize,
        /// The server's code.
        code: ReplyCode,
        /// What it means.
        diag: Id,
    },
    /// Stream the body with [`super::Session::write_body`], then call
    /// [`super::Session::finish_body`].
    ReadyForBody,
    /// The server took responsibility for the message.
    MessageSent {
        /// The final reply's code.
        code: ReplyCode,
        /// Recipients accepted.
        accepted: usize,
        /// Recipients refused (each reported by `RecipientRefused`).
        refused: usize,
    },
    /// The message was not sent; the session remains usable.
    MessageFailed {
        /// Why.
        error: Error,
    },
    /// The session ended normally (after QUIT) or was abandoned: close the
    /// connection.
    Closed,
    /// The session failed and is over: close the connection.
    Failed {
        /// Why.
        error: Error,
    },
}

/// A message cannot be submitted now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SubmitError {
    /// A message is already in progress, or the session is over.
    WrongState,
    /// The envelope has no recipient.
    NoRecipients,
    /// More than [`crate::limits::MAX_RECIPIENTS`] recipients.
    TooManyRecipients,
    /// The recipients' addresses together are longer than
    /// [`crate::limits::MAX_RECIPIENTS_LEN`] octets.
    RecipientsTooLong,
    /// A recipient is not an acceptable address.
    InvalidAddress,
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubmitError::WrongState => "a message is in progress or the session is over",
            SubmitError::NoRecipients => "the envelope has no recipient",
            SubmitError::TooManyRecipients => "too many recipients",
            SubmitError::RecipientsTooLong => "the recipients' addresses are too long together",
            SubmitError::InvalidAddress => "a recipient is not an acceptable address",
        })
    }
}

impl core::error::Error for SubmitError {}

impl Diagnostic for SubmitError {
    fn diag(&self) -> Id {
        match self {
            SubmitError::WrongState => Id::WrongState,
            SubmitError::NoRecipients => Id::InvalidArgument,
            SubmitError::TooManyRecipients | SubmitError::RecipientsTooLong => Id::CapacityExceeded,
            SubmitError::InvalidAddress => Id::InvalidAddress,
        }
    }
}

/// The body cannot be written now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BodyError {
    /// Not after [`Event::ReadyForBody`], or already finished.
    WrongState,
    /// The output buffer is shorter than
    /// [`crate::limits::MIN_BODY_OUT_LEN`] (or the terminator's length).
    BufferTooSmall {
        /// Octets needed.
        needed: usize,
    },
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::WrongState => f.write_str("not ready for the message body"),
            BodyError::BufferTooSmall { needed } => {
                write!(f, "body output buffer too small: {needed} octets needed")
            }
        }
    }
}

impl core::error::Error for BodyError {}

impl Diagnostic for BodyError {
    fn diag(&self) -> Id {
        match self {
            BodyError::WrongState => Id::WrongState,
            BodyError::BufferTooSmall { .. } => Id::BufferTooSmall,
        }
    }
}

/// The token cannot be lent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TokenError {
    /// The session is over, or a retry is not allowed (not after a
    /// rejection, or the retry was already used).
    WrongState,
    /// An empty token.
    Empty,
    /// Longer than [`crate::limits::MAX_ACCESS_TOKEN_LEN`].
    TooLong,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenError::WrongState => "no token can be used now",
            TokenError::Empty => "empty access token",
            TokenError::TooLong => "access token longer than the client holds",
        })
    }
}

impl core::error::Error for TokenError {}

impl Diagnostic for TokenError {
    fn diag(&self) -> Id {
        match self {
            TokenError::WrongState => Id::WrongState,
            TokenError::Empty => Id::InvalidArgument,
            TokenError::TooLong => Id::TokenTooLarge,
        }
    }
}
