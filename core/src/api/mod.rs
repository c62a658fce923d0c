//! Mail APIs as transports (R-XPORT): Microsoft Graph `sendMail` and the
//! Gmail API's send upload, for tenants and mailboxes where SMTP AUTH is
//! off and for Google's send-only scope.
//!
//! A job with an API transport goes through the same mailer as an SMTP
//! job: the same sender policy, tokens, streamed composer, fixed buffers
//! and panel events. Only the session differs: [`Session`] sends one HTTPS
//! request where the SMTP session holds a dialogue, and reports with the
//! same [`crate::smtp::Event`]s (`ReadyForBody`, `MessageSent`,
//! `AuthRejected`, `MessageFailed`, `Failed`, `Closed`), so a driver that
//! carries the SMTP session carries it unchanged.
//!
//! A Gmail message over 5 MB goes through a resumable upload (up to
//! 35 MiB): its session URI survives a lost connection, and a new one asks
//! the server what it has and sends the rest. A request refused before its
//! body (`Expect: 100-continue`) costs no upload; one refused after it is
//! asked again with the body streamed again from its first octet
//! (`ReadyForBody` comes a second time; the octets the server already
//! holds are dropped by the session).
//!
//! What the APIs answer is read by [`error_body`] (the documented error
//! bodies of both) and judged by [`classify`] (a diagnostic for each).
//!
//! A Graph message over one `sendMail` request (about 3 MB) goes as a
//! draft without its large attachments, an upload session per attachment
//! of 3 MB or more (raw octets in ranged `PUT`s to the session's URL, on
//! its own host, resumed from what the server has after a lost
//! connection), then `send` ([`graph_upload`]); the message is surveyed
//! first ([`layout`]), read once more for the draft and once per chunk.

pub mod classify;
pub mod error_body;
#[cfg(test)]
mod graph_tests;
pub mod graph_upload;
pub mod layout;
mod session;
#[cfg(test)]
mod tests;

pub use classify::Verdict;
pub use session::{
    Api, Request, Session, ANSWER_TIMEOUT, EXPECT_CONTINUE_WAIT, GMAIL_MAX_MEDIA_UPLOAD,
    GMAIL_MAX_UPLOAD, GRAPH_MAX_REQUEST_BODY, HEAD_LINE_LEN,
};
