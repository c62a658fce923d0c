//! The SMTP submission session (`mfp_oauth_smtp`): sans-IO, driven by the
//! firmware's own TCP/TLS stack (R-SMTP, R-SASL).
//!
//! The firmware opens the connection, creates the session in storage it
//! owns, and then loops (the core's poll-order contract):
//! 1. feed received octets with `mfp_oauth_smtp_handle_input` (it may take
//!    fewer than given: keep the rest for after the events), report
//!    `handle_close` / `handle_timeout`;
//! 2. drain `mfp_oauth_smtp_poll_event` until `MFP_OAUTH_SMTP_EVENT_KIND_NONE`,
//!    acting on each (start TLS on `UPGRADE_TLS` and report its end with
//!    `handle_tls_established` or `handle_tls_failed`, stream the body on
//!    `READY_FOR_BODY`, ...);
//! 3. drain `mfp_oauth_smtp_poll_transmit` until it writes 0 octets, sending
//!    each chunk (never logging one marked sensitive);
//! 4. wait for input or until `mfp_oauth_smtp_poll_timeout`'s deadline.

use core::ffi::c_char;

use mfp_oauth_core::diag::{Diagnostic, Id};
use mfp_oauth_core::smtp::{
    Client, Envelope, Error, Event, Mechanism, MechanismPreference, ReplyCode, Security, Settings,
    Stage, Timeouts,
};
use mfp_oauth_core::{AccessToken, Address, Duration, Instant};

use crate::buf::{bytes, bytes_mut, put, put_c_string, text};
use crate::handle::{self, opaque, zeroable};
use crate::MfpOauthStatus;

/// 64-bit words of `mfp_oauth_smtp` storage: 12,800 octets, alignment 8
/// (the session needs about 12.2 KB on a 64-bit host and less on a 32-bit
/// MCU; the rest is headroom so that the core can grow without an ABI
/// change). Most of it is the access token (4 KB) and the envelope.
pub const MFP_OAUTH_SMTP_WORDS: usize = 1600;

/// Storage for one SMTP session (`mfp_oauth_smtp`), allocated by the
/// caller: static, on a task's stack, or inside the caller's own structs.
/// Its contents are private; it holds the access token while the session
/// lives and is wiped by `mfp_oauth_smtp_destroy`.
#[repr(C)]
pub struct MfpOauthSmtp {
    _opaque: [u64; MFP_OAUTH_SMTP_WORDS],
}

impl core::fmt::Debug for MfpOauthSmtp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MfpOauthSmtp").finish_non_exhaustive()
    }
}

opaque!(
    MfpOauthSmtp,
    MFP_OAUTH_SMTP_WORDS,
    Client,
    0x6d66_706f_736d_7470
);
zeroable!(Client);

/// Smallest `out_len` of `mfp_oauth_smtp_write_body`: room for a
/// `BDAT <n>` chunk header and a few octets of body.
pub const MFP_OAUTH_SMTP_MIN_BODY_OUT_LEN: usize = 32;
const _: () = assert!(MFP_OAUTH_SMTP_MIN_BODY_OUT_LEN == mfp_oauth_core::limits::MIN_BODY_OUT_LEN);

/// "No deadline" from `mfp_oauth_smtp_poll_timeout`.
pub const MFP_OAUTH_NO_DEADLINE: u64 = u64::MAX;

/// How the connection is secured (`mfp_oauth_smtp_security`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthSmtpSecurity {
    /// Plain TCP upgraded with STARTTLS before anything secret (port 587).
    Starttls = 0,
    /// TLS from the first octet (port 465): connect with TLS, then create.
    ImplicitTls = 1,
}

/// A SASL mechanism (`mfp_oauth_mechanism`): the preference in settings,
/// the mechanism chosen in events.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthMechanism {
    /// XOAUTH2 (Microsoft 365, Gmail). As a preference: OAUTHBEARER only
    /// when it is the sole one offered.
    Xoauth2 = 0,
    /// OAUTHBEARER (RFC 7628). As a preference: used when offered.
    Oauthbearer = 1,
}

/// Reply deadlines in milliseconds (`mfp_oauth_smtp_timeouts`);
/// `mfp_oauth_smtp_settings_init` fills RFC 5321's values.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfpOauthSmtpTimeouts {
    /// The `220` greeting (default 5 minutes).
    pub greeting_ms: u64,
    /// EHLO, STARTTLS, AUTH, RSET and QUIT replies (5 minutes).
    pub command_ms: u64,
    /// MAIL FROM reply (5 minutes).
    pub mail_ms: u64,
    /// Each RCPT TO reply (5 minutes).
    pub rcpt_ms: u64,
    /// The `354` to DATA (2 minutes).
    pub data_init_ms: u64,
    /// The reply after the final `.` (10 minutes).
    pub data_end_ms: u64,
}

/// Settings of a session (`mfp_oauth_smtp_settings`). Start from
/// `mfp_oauth_smtp_settings_init`, then set the names. The strings are
/// UTF-8 of the given length (no NUL needed) and are copied by
/// `mfp_oauth_smtp_create`: they need to live only during that call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthSmtpSettings {
    /// An `mfp_oauth_smtp_security` value.
    pub security: u32,
    /// An `mfp_oauth_mechanism` value: the preferred mechanism.
    pub mechanism: u32,
    /// The printer's host name (or an address literal `[192.0.2.7]`) for EHLO.
    pub ehlo_domain: *const c_char,
    /// Octets at `ehlo_domain`.
    pub ehlo_domain_len: usize,
    /// The server's host name (sent in OAUTHBEARER).
    pub server_host: *const c_char,
    /// Octets at `server_host`.
    pub server_host_len: usize,
    /// The server's port (sent in OAUTHBEARER).
    pub server_port: u16,
    /// Reply deadlines.
    pub timeouts: MfpOauthSmtpTimeouts,
}

/// A borrowed string: `len` octets of UTF-8 at `ptr` (`mfp_oauth_str`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthStr {
    /// The first octet.
    pub ptr: *const c_char,
    /// Octets.
    pub len: usize,
}

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
    /// `mfp_oauth_smtp_finish_body`.
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

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn timeouts_to_c(t: Timeouts) -> MfpOauthSmtpTimeouts {
    MfpOauthSmtpTimeouts {
        greeting_ms: t.greeting.as_millis(),
        command_ms: t.command.as_millis(),
        mail_ms: t.mail.as_millis(),
        rcpt_ms: t.rcpt.as_millis(),
        data_init_ms: t.data_init.as_millis(),
        data_end_ms: t.data_end.as_millis(),
    }
}

/// An access token the caller lends: not empty, within the capacity.
fn token_ok(token: &[u8]) -> Result<&[u8], MfpOauthStatus> {
    if token.is_empty() {
        return Err(MfpOauthStatus::InvalidArgument);
    }
    if token.len() > AccessToken::CAPACITY {
        return Err(MfpOauthStatus::CapacityExceeded);
    }
    Ok(token)
}

fn address_of(s: &str) -> Result<Address, MfpOauthStatus> {
    Address::parse(s).map_err(|_| MfpOauthStatus::InvalidAddress)
}

/// Reads and validates the C settings.
///
/// # Safety
/// The strings in `c` are valid for their lengths (caller's contract).
unsafe fn settings_from_c(c: &MfpOauthSmtpSettings) -> Result<Settings, MfpOauthStatus> {
    let security = match c.security {
        0 => Security::StartTls,
        1 => Security::ImplicitTls,
        _ => return Err(MfpOauthStatus::InvalidArgument),
    };
    let mechanism = match c.mechanism {
        0 => MechanismPreference::Xoauth2,
        1 => MechanismPreference::OAuthBearer,
        _ => return Err(MfpOauthStatus::InvalidArgument),
    };
    // SAFETY: forwarded contract for both strings.
    let ehlo = unsafe { text(c.ehlo_domain, c.ehlo_domain_len) }?;
    // SAFETY: as above.
    let host = unsafe { text(c.server_host, c.server_host_len) }?;
    let mut s = Settings::new(security, ehlo, host, c.server_port)
        .map_err(|e| MfpOauthStatus::from_diag(e.diag()))?;
    s.mechanism = mechanism;
    let t = &c.timeouts;
    s.timeouts = Timeouts {
        greeting: ms(t.greeting_ms),
        command: ms(t.command_ms),
        mail: ms(t.mail_ms),
        rcpt: ms(t.rcpt_ms),
        data_init: ms(t.data_init_ms),
        data_end: ms(t.data_end_ms),
    };
    Ok(s)
}

/// Runs `f` on the live session in `smtp`, turning its error into a status.
///
/// # Safety
/// `smtp` is NULL or valid storage as for `handle::get`.
unsafe fn with<F>(smtp: *mut MfpOauthSmtp, f: F) -> MfpOauthStatus
where
    F: FnOnce(&mut Client) -> Result<(), MfpOauthStatus>,
{
    // SAFETY: forwarded contract.
    match unsafe { handle::get(smtp) } {
        Ok(client) => match f(client) {
            Ok(()) => MfpOauthStatus::Ok,
            Err(e) => e,
        },
        Err(e) => e,
    }
}

// ---- the session calls, shared with the mailer's session ----------------
//
// Each takes the session already looked up (`Err` when the handle is NULL,
// not created, or the mailer has no session) and the caller's raw pointers.

type Session<'a> = Result<&'a mut Client, MfpOauthStatus>;

/// # Safety
/// `data` NULL or valid for `len` bytes; `out_consumed` NULL or valid.
pub(crate) unsafe fn input(
    c: Session<'_>,
    now_ms: u64,
    data: *const u8,
    len: usize,
    out_consumed: *mut usize,
) -> MfpOauthStatus {
    if out_consumed.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: valid for `len` bytes (contract).
    let data = try_status!(unsafe { bytes(data, len) });
    let n = try_status!(c).handle_input(Instant::from_millis(now_ms), data);
    // SAFETY: not NULL and valid for a write (contract).
    unsafe { put(out_consumed, n) }
}

pub(crate) fn tls_established(c: Session<'_>, now_ms: u64) -> MfpOauthStatus {
    match try_status!(c).handle_tls_established(Instant::from_millis(now_ms)) {
        Ok(()) => MfpOauthStatus::Ok,
        Err(e) => MfpOauthStatus::from_diag(e.diag()),
    }
}

pub(crate) fn close(c: Session<'_>, now_ms: u64) -> MfpOauthStatus {
    try_status!(c).handle_close(Instant::from_millis(now_ms));
    MfpOauthStatus::Ok
}

/// The diagnostics a failed TLS handshake may carry: the TLS and
/// transport ones (E603 to E610, E601 and E602 excepted: the connection
/// exists when TLS starts).
fn tls_failure(diag: u32) -> Option<Id> {
    match u16::try_from(diag).ok().and_then(Id::from_number)? {
        id @ (Id::TlsHandshakeFailed
        | Id::CertificateInvalid
        | Id::NetworkTimeout
        | Id::IoError
        | Id::CertificateExpired
        | Id::CertificateWrongName
        | Id::CertificateUntrusted
        | Id::TlsVersionMismatch) => Some(id),
        _ => None,
    }
}

pub(crate) fn tls_failed(c: Session<'_>, now_ms: u64, diag: u32) -> MfpOauthStatus {
    let Some(diag) = tls_failure(diag) else {
        return MfpOauthStatus::InvalidArgument;
    };
    try_status!(c).handle_tls_failed(Instant::from_millis(now_ms), diag);
    MfpOauthStatus::Ok
}

pub(crate) fn timeout(c: Session<'_>, now_ms: u64) -> MfpOauthStatus {
    try_status!(c).handle_timeout(Instant::from_millis(now_ms));
    MfpOauthStatus::Ok
}

pub(crate) fn finish(c: Session<'_>, now_ms: u64) -> MfpOauthStatus {
    match try_status!(c).finish_body(Instant::from_millis(now_ms)) {
        Ok(()) => MfpOauthStatus::Ok,
        Err(e) => MfpOauthStatus::from_diag(e.diag()),
    }
}

/// # Safety
/// `input` NULL or valid for `input_len` bytes; `out` NULL or valid for
/// `out_len` bytes of writes, not overlapping; outputs NULL or valid.
pub(crate) unsafe fn body(
    c: Session<'_>,
    input: *const u8,
    input_len: usize,
    out: *mut u8,
    out_len: usize,
    out_consumed: *mut usize,
    out_written: *mut usize,
) -> MfpOauthStatus {
    if out_consumed.is_null() || out_written.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: valid for `input_len` bytes (contract).
    let input = try_status!(unsafe { bytes(input, input_len) });
    // SAFETY: valid for `out_len` bytes of writes, not overlapping (contract).
    let out = try_status!(unsafe { bytes_mut(out, out_len) });
    match try_status!(c).write_body(input, out) {
        Ok(p) => {
            // SAFETY: both outputs are not NULL and valid for a write.
            unsafe {
                out_consumed.write(p.consumed);
                out_written.write(p.written);
            }
            MfpOauthStatus::Ok
        }
        Err(mfp_oauth_core::smtp::BodyError::BufferTooSmall { needed }) => {
            // SAFETY: not NULL and valid for a write.
            unsafe { out_written.write(needed) };
            MfpOauthStatus::BufferTooSmall
        }
        Err(e) => MfpOauthStatus::from_diag(e.diag()),
    }
}

/// # Safety
/// `out` NULL or valid for `out_len` bytes of writes; outputs NULL or valid.
pub(crate) unsafe fn transmit(
    c: Session<'_>,
    now_ms: u64,
    out: *mut u8,
    out_len: usize,
    out_written: *mut usize,
    out_sensitive: *mut bool,
) -> MfpOauthStatus {
    if out_written.is_null() || out_sensitive.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: valid for `out_len` bytes of writes (contract).
    let out = try_status!(unsafe { bytes_mut(out, out_len) });
    let (written, sensitive, status) =
        match try_status!(c).poll_transmit(Instant::from_millis(now_ms), out) {
            Ok(Some(t)) => (t.len, t.sensitive, MfpOauthStatus::Ok),
            Ok(None) => (0, false, MfpOauthStatus::Ok),
            Err(e) => (e.needed, false, MfpOauthStatus::BufferTooSmall),
        };
    // SAFETY: both outputs are not NULL and valid for a write (contract).
    unsafe {
        out_written.write(written);
        if status == MfpOauthStatus::Ok {
            out_sensitive.write(sensitive);
        }
    }
    status
}

/// # Safety
/// `out_deadline_ms` NULL or valid for a write.
pub(crate) unsafe fn deadline(
    c: Result<&Client, MfpOauthStatus>,
    out_deadline_ms: *mut u64,
) -> MfpOauthStatus {
    if out_deadline_ms.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    let d = try_status!(c)
        .poll_timeout()
        .map_or(MFP_OAUTH_NO_DEADLINE, Instant::as_millis);
    // SAFETY: not NULL and valid for a write (contract).
    unsafe { put(out_deadline_ms, d) }
}

/// Fills `*out_settings` with the defaults: STARTTLS, XOAUTH2 preferred,
/// port 587, RFC 5321's timeouts, and NULL names (set `ehlo_domain` and
/// `server_host` before `mfp_oauth_smtp_create`). Reentrant.
///
/// # Safety
/// `out_settings` is NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_settings_init(
    out_settings: *mut MfpOauthSmtpSettings,
) -> MfpOauthStatus {
    let s = MfpOauthSmtpSettings {
        security: MfpOauthSmtpSecurity::Starttls as u32,
        mechanism: MfpOauthMechanism::Xoauth2 as u32,
        ehlo_domain: core::ptr::null(),
        ehlo_domain_len: 0,
        server_host: core::ptr::null(),
        server_host_len: 0,
        server_port: 587,
        timeouts: timeouts_to_c(Timeouts::default()),
    };
    // SAFETY: the caller's contract, as documented above.
    unsafe { put(out_settings, s) }
}

/// Creates a session in `smtp` for a connection just opened at `now_ms`
/// (with TLS already up for `MFP_OAUTH_SMTP_SECURITY_IMPLICIT_TLS`).
/// `user` is the mailbox the access `token` was issued for. With `token`
/// NULL and `token_len` 0 no token is lent yet: the session asks for it
/// with the `NEED_TOKEN` event when AUTH is next (`mfp_oauth_smtp_set_token`).
///
/// Everything is copied: `settings`, `user` and `token` need to live only
/// during the call (wipe your copy of the token when you no longer need it).
/// Errors: `INVALID_ARGUMENT` (an enum value, an empty token, a string that
/// is not UTF-8, an invalid EHLO name), `SMTP_SERVER_MISSING` (bad host),
/// `INVALID_ADDRESS`, `CAPACITY_EXCEEDED` (a token over 4096 octets). On
/// error `smtp` is left as it was.
///
/// If `smtp` holds a live session, destroy it first (otherwise its token is
/// not wiped). Not thread-safe or ISR-safe, like every `mfp_oauth_smtp_*`
/// call: one task drives one session.
///
/// # Safety
/// `smtp` is NULL or valid for writes of `mfp_oauth_smtp`; `settings` NULL
/// or valid, with its strings valid for their lengths; `user` and `token`
/// NULL or valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_create(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
    settings: *const MfpOauthSmtpSettings,
    user: *const c_char,
    user_len: usize,
    token: *const u8,
    token_len: usize,
) -> MfpOauthStatus {
    if smtp.is_null() || settings.is_null() || user.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: not NULL; valid for reads by the caller's contract.
    let settings = unsafe { &*settings };
    // SAFETY: the strings in `settings` are valid (contract).
    let settings = try_status!(unsafe { settings_from_c(settings) });
    // SAFETY: valid for `user_len` bytes (contract).
    let user = try_status!(unsafe { text(user, user_len) }.and_then(address_of));
    let token = if token.is_null() && token_len == 0 {
        None
    } else {
        // SAFETY: valid for `token_len` bytes (contract).
        Some(try_status!(
            unsafe { bytes(token, token_len) }.and_then(token_ok)
        ))
    };
    let now = Instant::from_millis(now_ms);
    // Built in place (R-MEM): the storage is zeroed, then the session is
    // reset where it lives; the token is copied straight from the caller's
    // buffer into it, so no copy of it is left on the stack.
    let init = |client: &mut Client| {
        client.reset(now, &settings, &user);
        match token.map(|t| client.set_token(now, t)) {
            Some(Err(e)) => MfpOauthStatus::of(e),
            _ => MfpOauthStatus::Ok,
        }
    };
    // SAFETY: `smtp` is valid for writes of `mfp_oauth_smtp` (contract).
    unsafe { handle::create_zeroed(smtp, init) }
}

/// Lends the access token (copied into the session, wiped after AUTH): at
/// the `NEED_TOKEN` event, or any time before AUTH. An empty token is
/// `INVALID_ARGUMENT`, one over 4096 octets `CAPACITY_EXCEEDED`, a session
/// that is over `WRONG_STATE`.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy`; `token` NULL or valid for
/// `token_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_set_token(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
    token: *const u8,
    token_len: usize,
) -> MfpOauthStatus {
    // SAFETY: valid for `token_len` bytes (contract).
    let token = try_status!(unsafe { bytes(token, token_len) }.and_then(token_ok));
    // SAFETY: the caller's contract for `smtp`.
    let client = try_status!(unsafe { handle::get(smtp) });
    match client.set_token(Instant::from_millis(now_ms), token) {
        Ok(()) => MfpOauthStatus::Ok,
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// Ends the session's life: wipes the token and every byte of `smtp`.
/// Destroying storage that holds no session (never created, or already
/// destroyed) is allowed and does nothing. The storage may then be reused
/// or freed.
///
/// # Safety
/// `smtp` is NULL or valid for reads and writes of `mfp_oauth_smtp`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_destroy(smtp: *mut MfpOauthSmtp) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe { handle::destroy(smtp) }
}

/// Feeds `len` octets received from the server. Every octet is taken:
/// `*out_consumed` is always `len` (once the session is closed they are
/// ignored). A session that was not created is `WRONG_STATE`.
///
/// STARTTLS: once the `220` reply to STARTTLS has arrived, nothing more may
/// be read in plaintext. Octets that came after that `220`, in the same
/// read or later, before the TLS handshake, may have been injected by an
/// attacker: discard them. Never keep them to feed after the handshake,
/// and never hand them to the TLS library as TLS input; after
/// `UPGRADE_TLS`, feed only what the TLS session decrypts. If such octets
/// are fed anyway (with the `220` in one call, during the handshake, or
/// after `mfp_oauth_smtp_handle_tls_established` before the new EHLO went
/// out), none of them is taken as a reply: the session fails
/// (`FAILED` event, `MFP_OAUTH_STATUS_PROTOCOL_VIOLATION`) and the
/// connection must be closed.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy`; `data` NULL or valid for `len`
/// bytes; `out_consumed` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_handle_input(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
    data: *const u8,
    len: usize,
    out_consumed: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe { input(handle::get(smtp), now_ms, data, len, out_consumed) }
}

/// TLS is now established on the connection (after the `UPGRADE_TLS`
/// event); the session sends EHLO again. `WRONG_STATE` at any other time.
///
/// # Safety
/// As for `mfp_oauth_smtp_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_handle_tls_established(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe { tls_established(handle::get(smtp), now_ms) }
}

/// The TLS handshake started for the `UPGRADE_TLS` event failed. `diag`
/// is the TLS stack's reason, as it would be reported on implicit TLS:
/// `MFP_OAUTH_STATUS_CERTIFICATE_UNTRUSTED` (E609: unknown authority,
/// self-signed), `MFP_OAUTH_STATUS_CERTIFICATE_WRONG_NAME` (E608),
/// `MFP_OAUTH_STATUS_CERTIFICATE_EXPIRED` (E607),
/// `MFP_OAUTH_STATUS_CERTIFICATE_INVALID` (E604, any other refused
/// certificate), `MFP_OAUTH_STATUS_TLS_VERSION_MISMATCH` (E610: no TLS
/// version in common within the settings' range),
/// `MFP_OAUTH_STATUS_TLS_HANDSHAKE_FAILED` (E603, any other handshake
/// failure), `MFP_OAUTH_STATUS_NETWORK_TIMEOUT` (E605) or
/// `MFP_OAUTH_STATUS_IO_ERROR` (E606). The session fails with that
/// diagnostic (a `FAILED` event carrying it, not E325 "connection
/// closed"); nothing more is sent, the token never went out: close the
/// connection. Any other `diag` is `MFP_OAUTH_STATUS_INVALID_ARGUMENT` and
/// changes nothing. Called when no handshake is under way, it acts as
/// `mfp_oauth_smtp_handle_close`. A session that was not created is
/// `WRONG_STATE`.
///
/// # Safety
/// As for `mfp_oauth_smtp_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_handle_tls_failed(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
    diag: u32,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    tls_failed(unsafe { handle::get(smtp) }, now_ms, diag)
}

/// The server closed the connection, or the firmware lost it. The session
/// reports `CLOSED` (after QUIT) or `FAILED`.
///
/// # Safety
/// As for `mfp_oauth_smtp_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_handle_close(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe { close(handle::get(smtp), now_ms) }
}

/// Call when `now_ms` has reached the deadline of
/// `mfp_oauth_smtp_poll_timeout`; earlier calls do nothing.
///
/// # Safety
/// As for `mfp_oauth_smtp_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_handle_timeout(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe { timeout(handle::get(smtp), now_ms) }
}

/// Submits a message from `from` to the `to_count` recipients in `to`
/// (1 to 16). `size` is the message's size in octets if known (checked
/// against the server's SIZE before anything is sent), 0 if not. Accepted
/// before the session is ready (it starts once authenticated) or when idle;
/// one message at a time, else `WRONG_STATE`. Every string is copied.
///
/// Errors: `INVALID_ARGUMENT` (no recipient), `CAPACITY_EXCEEDED` (more than
/// 16), `INVALID_ADDRESS`, `WRONG_STATE`.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy`; `from` NULL or valid for
/// `from_len` bytes; `to` NULL or valid for `to_count` entries, each valid
/// for its length.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_send_message(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
    from: *const c_char,
    from_len: usize,
    to: *const MfpOauthStr,
    to_count: usize,
    size: u64,
) -> MfpOauthStatus {
    if from.is_null() || to.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: valid for `from_len` bytes (contract).
    let from = try_status!(unsafe { text(from, from_len) }.and_then(address_of));
    if to_count == 0 {
        return MfpOauthStatus::InvalidArgument;
    }
    if to_count > mfp_oauth_core::limits::MAX_RECIPIENTS {
        return MfpOauthStatus::CapacityExceeded;
    }
    // SAFETY: `to` is valid for `to_count` entries (contract).
    let list = unsafe { core::slice::from_raw_parts(to, to_count) };
    let mut envelope = Envelope::new(from);
    for r in list {
        // SAFETY: each entry is valid for its length (contract).
        let addr = try_status!(unsafe { text(r.ptr, r.len) }.and_then(address_of));
        try_status!(envelope
            .add_recipient(addr)
            .map_err(|e| MfpOauthStatus::from_diag(e.diag())));
    }
    envelope.size = (size != 0).then_some(size);
    // SAFETY: the caller's contract for `smtp`.
    let client = try_status!(unsafe { handle::get(smtp) });
    match client.send_message(Instant::from_millis(now_ms), envelope) {
        Ok(()) => MfpOauthStatus::Ok,
        Err(e) => MfpOauthStatus::from_diag(e.diag()),
    }
}

/// After `READY_FOR_BODY`: dot-stuffs and normalises body octets from
/// `input` into `out` (at least `MFP_OAUTH_SMTP_MIN_BODY_OUT_LEN` octets); send `out[..*out_written]` as
/// is. `*out_consumed` input octets were taken: offer the rest again. The
/// body may be of any size, streamed in any pieces (as BDAT chunks when the
/// server offers CHUNKING, else dot-stuffed DATA). `WRONG_STATE` when no
/// body is expected; `BUFFER_TOO_SMALL` with the size needed in
/// `*out_written` when `out_len < MFP_OAUTH_SMTP_MIN_BODY_OUT_LEN`.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy`; `input` NULL or valid for
/// `input_len` bytes; `out` NULL or valid for `out_len` bytes of writes,
/// not overlapping `input`; the outputs NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_write_body(
    smtp: *mut MfpOauthSmtp,
    input: *const u8,
    input_len: usize,
    out: *mut u8,
    out_len: usize,
    out_consumed: *mut usize,
    out_written: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        body(
            handle::get(smtp),
            input,
            input_len,
            out,
            out_len,
            out_consumed,
            out_written,
        )
    }
}

/// The whole body was written: the session queues the end of data.
/// `WRONG_STATE` when no body is in progress.
///
/// # Safety
/// As for `mfp_oauth_smtp_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_finish_body(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe { finish(handle::get(smtp), now_ms) }
}

/// After `AUTH_REJECTED` with `refresh_and_retry`: tries again, once, with
/// a freshly refreshed access token (copied). `WRONG_STATE` otherwise.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy`; `token` NULL or valid for
/// `token_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_retry_auth(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
    token: *const u8,
    token_len: usize,
) -> MfpOauthStatus {
    // SAFETY: valid for `token_len` bytes (contract).
    let token = try_status!(unsafe { bytes(token, token_len) }.and_then(token_ok));
    // SAFETY: the caller's contract for `smtp`.
    unsafe {
        with(smtp, |c| {
            c.retry_auth(Instant::from_millis(now_ms), token)
                .map_err(|e| MfpOauthStatus::from_diag(e.diag()))
        })
    }
}

/// Ends the session: QUIT when idle, otherwise abandons it at once (the
/// session reports `CLOSED`; close the connection). `WRONG_STATE` in the
/// middle of a body, where QUIT would become message text.
///
/// # Safety
/// As for `mfp_oauth_smtp_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_quit(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        with(smtp, |c| {
            c.quit(Instant::from_millis(now_ms))
                .map_err(|e| MfpOauthStatus::from_diag(e.diag()))
        })
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
    if out_event.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract for `smtp`.
    let client = try_status!(unsafe { handle::get(smtp) });
    let ev = client
        .poll_event()
        .map_or(MfpOauthSmtpEvent::EMPTY, MfpOauthSmtpEvent::from);
    // SAFETY: not NULL and valid for a write (contract).
    unsafe { put(out_event, ev) }
}

/// Writes the next octets to send into `out`; `*out_written` is their
/// count (0: nothing to send now) and `*out_sensitive` says they carry the
/// access token (never log them; the session guarantees TLS is up). Any
/// `out_len` of 1 or more works (a long AUTH line takes several calls);
/// 512 avoids splitting commands. `BUFFER_TOO_SMALL` (with 1 in
/// `*out_written`) when `out_len` is 0 and something is pending.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy`; `out` NULL or valid for
/// `out_len` bytes of writes; the outputs NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_poll_transmit(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
    out: *mut u8,
    out_len: usize,
    out_written: *mut usize,
    out_sensitive: *mut bool,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        transmit(
            handle::get(smtp),
            now_ms,
            out,
            out_len,
            out_written,
            out_sensitive,
        )
    }
}

/// Writes when `mfp_oauth_smtp_handle_timeout` must be called, in the
/// caller's milliseconds, or `MFP_OAUTH_NO_DEADLINE` when no reply is
/// awaited.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy` (only read); `out_deadline_ms`
/// NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_poll_timeout(
    smtp: *const MfpOauthSmtp,
    out_deadline_ms: *mut u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe { deadline(handle::get_ref(smtp), out_deadline_ms) }
}

/// Session state flags (`mfp_oauth_smtp_state`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfpOauthSmtpState {
    /// TLS is established on the connection.
    pub tls: bool,
    /// Authenticated and idle: a message can be sent now.
    pub ready: bool,
    /// The session is over: close the connection, then destroy.
    pub closed: bool,
}

/// Writes the session's state flags to `*out_state`.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy` (only read); `out_state` NULL or
/// valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_get_state(
    smtp: *const MfpOauthSmtp,
    out_state: *mut MfpOauthSmtpState,
) -> MfpOauthStatus {
    if out_state.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract for `smtp`.
    let c = try_status!(unsafe { handle::get_ref(smtp) });
    let state = MfpOauthSmtpState {
        tls: c.is_tls(),
        ready: c.is_ready(),
        closed: c.is_closed(),
    };
    // SAFETY: not NULL and valid for a write (contract).
    unsafe { put(out_state, state) }
}

/// Writes the last complete reply of the server, for display and logs: its
/// code to `*out_code` and its text (enhanced code removed, lines joined,
/// at most 256 octets, NUL-terminated: `MFP_OAUTH_REPLY_TEXT_BUF_LEN`
/// always suffices) to `buf`, with `*out_len` its length. `WRONG_STATE`
/// before any reply; `BUFFER_TOO_SMALL` with the size needed in `*out_len`
/// (nothing else written). Never contains what the client sent. For the
/// mailer's session, `mfp_oauth_mailer_last_reply`.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy` (only read); `buf` NULL or valid
/// for `buf_len` bytes of writes; the outputs NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_last_reply(
    smtp: *const MfpOauthSmtp,
    out_code: *mut u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> MfpOauthStatus {
    if out_code.is_null() || buf.is_null() || out_len.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract for `smtp`.
    let c = try_status!(unsafe { handle::get_ref(smtp) });
    let Some(reply) = c.last_reply() else {
        return MfpOauthStatus::WrongState;
    };
    // SAFETY: the caller's contract for `buf` and `out_len`.
    let status = unsafe { put_c_string(reply.text(), buf, buf_len, out_len) };
    if status == MfpOauthStatus::Ok {
        // SAFETY: not NULL and valid for a write (contract).
        unsafe { out_code.write(u32::from(reply.code.code)) };
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_size_and_slack() {
        // A benchmark figure for the report (and the header's constant):
        // run with --nocapture to see it.
        let need = size_of::<handle::Held<Client>>();
        let have = size_of::<MfpOauthSmtp>();
        println!(
            "mfp_oauth_smtp: Client {} B, storage {} B, slack {} B (align {})",
            size_of::<Client>(),
            have,
            have - need,
            align_of::<Client>()
        );
        assert!(need <= have);
    }
}
