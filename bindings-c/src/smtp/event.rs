//! The session's events (`mfp_oauth_smtp_event`) and how the firmware
//! drains them.

use mfp_oauth_core::diag::Diagnostic;
use mfp_oauth_core::smtp::{Client, Error, Event, Mechanism, ReplyCode, Stage};

use super::{MfpOauthMechanism, MfpOauthSmtp};
use crate::buf::put;
use crate::call;
use crate::MfpOauthStatus;

/// What an event is (`mfp_oauth_smtp_event_kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthSmtpEventKind {
    /// No event pending.
    None = 0,
    /// Start TLS on the connection now, then call
    /// `mfp_oauth_smtp_handle_tls_established`, or, if the handshake
    /// fails, `mfp_oauth_smtp_handle_tls_failed` with the TLS stack's
    /// reason; feed no more plaintext.
    UpgradeTls = 1,
    /// AUTH is starting (`mechanism`, `initial_response`).
    Authenticating = 2,
    /// The server accepted the token (`mechanism`).
    Authenticated = 3,
    /// The server rejected the token (`reply_code`, `diag`). If
    /// `refresh_and_retry`, refresh the access token and call
    /// `mfp_oauth_smtp_retry_auth` once; otherwise quit.
    AuthRejected = 4,
    /// Authenticated and idle: send a message or quit.
    Ready = 5,
    /// Recipient `index` was refused (`reply_code`, `diag`); the others go on.
    RecipientRefused = 6,
    /// Stream the body with `mfp_oauth_smtp_write_body`, then call
    /// `mfp_oauth_smtp_finish_body`. In a mailer job whose transport is a
    /// mail API it can come again (the request asked once more after
    /// throttling or a refreshed token): stream the body again from its
    /// first octet.
    ReadyForBody = 7,
    /// The server took the message (`reply_code`, `accepted`, `refused`).
    MessageSent = 8,
    /// The message was not sent (`diag`, `stage`, ...); the session goes on.
    MessageFailed = 9,
    /// The session ended (after QUIT) or was abandoned: close the connection.
    Closed = 10,
    /// The session failed and is over (`diag`, `stage`, ...): close the
    /// connection.
    Failed = 11,
    /// An event newer than this header; treat it as informational.
    Other = 12,
    /// AUTH is next and no token was lent: call `mfp_oauth_smtp_set_token`
    /// (the session waits, its timer stopped).
    NeedToken = 13,
}

/// The step of the session a failure belongs to (`mfp_oauth_smtp_stage`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthSmtpStage {
    /// Not applicable.
    None = 0,
    /// Waiting for the `220` greeting.
    Greeting = 1,
    /// EHLO.
    Ehlo = 2,
    /// STARTTLS and the TLS handshake.
    Starttls = 3,
    /// AUTH.
    Auth = 4,
    /// MAIL FROM.
    Mail = 5,
    /// RCPT TO.
    Rcpt = 6,
    /// DATA, up to the `354`.
    Data = 7,
    /// The body and the reply to its final `.`.
    DataEnd = 8,
    /// RSET after a failed transaction.
    Rset = 9,
    /// QUIT.
    Quit = 10,
}

/// One event of a session (`mfp_oauth_smtp_event`). Fields that do not
/// apply to `kind` are zero.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfpOauthSmtpEvent {
    /// What happened.
    pub kind: MfpOauthSmtpEventKind,
    /// The diagnostic number (also a `mfp_oauth_status`): AUTH_REJECTED,
    /// RECIPIENT_REFUSED, MESSAGE_FAILED, FAILED.
    pub diag: u32,
    /// Where a failure happened, when known.
    pub stage: MfpOauthSmtpStage,
    /// AUTHENTICATING, AUTHENTICATED: the mechanism.
    pub mechanism: MfpOauthMechanism,
    /// The server's reply code (`535`), when the event has one.
    pub reply_code: u32,
    /// Enhanced status code class (`5` of `5.7.139`), 0 when absent.
    pub enhanced_class: u32,
    /// Enhanced status code subject (`7`).
    pub enhanced_subject: u32,
    /// Enhanced status code detail (`139`).
    pub enhanced_detail: u32,
    /// AUTHENTICATING: the token went on the AUTH line (one step).
    pub initial_response: bool,
    /// AUTH_REJECTED: a refreshed token may succeed.
    pub refresh_and_retry: bool,
    /// RECIPIENT_REFUSED: index of the recipient in the send call's array.
    pub index: usize,
    /// MESSAGE_SENT: recipients accepted.
    pub accepted: usize,
    /// MESSAGE_SENT: recipients refused.
    pub refused: usize,
    /// MESSAGE_FAILED / FAILED with E318: the message's size.
    pub size: u64,
    /// MESSAGE_FAILED / FAILED with E318: the server's SIZE limit.
    pub limit: u64,
}

impl MfpOauthSmtpEvent {
    /// The "no event" value (for the mailer's steps).
    pub(crate) const fn from_none() -> Self {
        Self::EMPTY
    }

    const EMPTY: Self = MfpOauthSmtpEvent {
        kind: MfpOauthSmtpEventKind::None,
        diag: 0,
        stage: MfpOauthSmtpStage::None,
        mechanism: MfpOauthMechanism::Xoauth2,
        reply_code: 0,
        enhanced_class: 0,
        enhanced_subject: 0,
        enhanced_detail: 0,
        initial_response: false,
        refresh_and_retry: false,
        index: 0,
        accepted: 0,
        refused: 0,
        size: 0,
        limit: 0,
    };

    fn with_code(mut self, code: ReplyCode) -> Self {
        self.reply_code = u32::from(code.code);
        if let Some(e) = code.enhanced {
            self.enhanced_class = u32::from(e.class);
            self.enhanced_subject = u32::from(e.subject);
            self.enhanced_detail = u32::from(e.detail);
        }
        self
    }

    fn with_error(mut self, error: Error) -> Self {
        self.diag = u32::from(error.diag().number());
        match error {
            Error::Refused { stage, code, .. } => {
                self.stage = stage.into();
                self = self.with_code(code);
            }
            Error::Timeout { stage } | Error::ConnectionClosed { stage } => {
                self.stage = stage.into();
            }
            Error::BadReply { stage, .. } => self.stage = stage.into(),
            Error::UnexpectedReply { code } => self = self.with_code(code),
            Error::MessageTooBig { size, limit } => {
                self.size = size;
                self.limit = limit;
            }
            _ => {}
        }
        self
    }
}

impl From<Stage> for MfpOauthSmtpStage {
    fn from(s: Stage) -> Self {
        match s {
            Stage::Greeting => Self::Greeting,
            Stage::Ehlo => Self::Ehlo,
            Stage::StartTls => Self::Starttls,
            Stage::Auth => Self::Auth,
            Stage::Mail => Self::Mail,
            Stage::Rcpt => Self::Rcpt,
            Stage::Data => Self::Data,
            Stage::DataEnd => Self::DataEnd,
            Stage::Rset => Self::Rset,
            Stage::Quit => Self::Quit,
        }
    }
}

impl From<Mechanism> for MfpOauthMechanism {
    fn from(m: Mechanism) -> Self {
        match m {
            Mechanism::Xoauth2 => Self::Xoauth2,
            Mechanism::OAuthBearer => Self::Oauthbearer,
        }
    }
}

impl From<Event> for MfpOauthSmtpEvent {
    fn from(e: Event) -> Self {
        use MfpOauthSmtpEventKind as K;
        let ev = |kind| MfpOauthSmtpEvent {
            kind,
            ..Self::EMPTY
        };
        match e {
            Event::UpgradeTls => ev(K::UpgradeTls),
            Event::Authenticating {
                mechanism,
                initial_response,
            } => MfpOauthSmtpEvent {
                mechanism: mechanism.into(),
                initial_response,
                ..ev(K::Authenticating)
            },
            Event::NeedToken => ev(K::NeedToken),
            Event::Authenticated { mechanism } => MfpOauthSmtpEvent {
                mechanism: mechanism.into(),
                ..ev(K::Authenticated)
            },
            Event::AuthRejected {
                code,
                diag,
                refresh_and_retry,
            } => MfpOauthSmtpEvent {
                diag: u32::from(diag.number()),
                refresh_and_retry,
                stage: MfpOauthSmtpStage::Auth,
                ..ev(K::AuthRejected)
            }
            .with_code(code),
            Event::Ready => ev(K::Ready),
            Event::RecipientRefused { index, code, diag } => MfpOauthSmtpEvent {
                diag: u32::from(diag.number()),
                index,
                stage: MfpOauthSmtpStage::Rcpt,
                ..ev(K::RecipientRefused)
            }
            .with_code(code),
            Event::ReadyForBody => ev(K::ReadyForBody),
            Event::MessageSent {
                code,
                accepted,
                refused,
            } => MfpOauthSmtpEvent {
                accepted,
                refused,
                ..ev(K::MessageSent)
            }
            .with_code(code),
            Event::MessageFailed { error } => ev(K::MessageFailed).with_error(error),
            Event::Closed => ev(K::Closed),
            Event::Failed { error } => ev(K::Failed).with_error(error),
            _ => ev(K::Other),
        }
    }
}

/// Writes the next event to `*out_event`; its `kind` is
/// `MFP_OAUTH_SMTP_EVENT_KIND_NONE` when none is pending. Drain events after
/// every input.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy`; `out_event` NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_poll_event(
    smtp: *mut MfpOauthSmtp,
    out_event: *mut MfpOauthSmtpEvent,
) -> MfpOauthStatus {
    let work = |client: &mut Client| {
        let ev = client
            .poll_event()
            .map_or(MfpOauthSmtpEvent::EMPTY, MfpOauthSmtpEvent::from);
        // SAFETY: not NULL and valid for a write (contract).
        unsafe { put(out_event, ev) }
    };
    // SAFETY: the caller's contract for `smtp`.
    unsafe { call::with_mut(smtp, out_event, work) }
}
