//! The facade the firmware drives for one job: job → policy → token → SMTP.
//!
//! A [`Mailer`] owns the [`Settings`] and the [`TokenStore`]. For each job
//! [`Mailer::submit`] returns a [`Plan`], the one thing the firmware must do
//! next; each `*_succeeded` / `*_failed` / [`Mailer::connected`] call reports
//! how it went and returns the next plan:
//!
//! | plan | the firmware… | then calls |
//! |---|---|---|
//! | [`Plan::NeedUserAuth`] | shows the OAuth screen; the user signs in with its [`oauth::Client`] (R-TOK-6) | [`Mailer::handle_oauth_event`] (or [`Mailer::auth_failed`] on cancel) |
//! | [`Plan::NeedAdminAuth`] | holds or fails the job; the administrator must Acquire | [`Mailer::handle_oauth_event`] / [`Mailer::auth_failed`] |
//! | [`Plan::TokenExchange`] | runs the refresh grant on its [`oauth::Client`] ([`Mailer::start_exchange`]) | [`Mailer::handle_oauth_event`] |
//! | [`Plan::Connect`] | opens the connection (TLS first for implicit TLS) | [`Mailer::connected`] / [`Mailer::connect_failed`] |
//! | [`Plan::Session`] | moves the SMTP link's octets and time (below) and drains [`Mailer::poll_event`] | (events say what comes next) |
//! | [`Plan::Done`] / [`Plan::Failed`] | reports the job's result | [`Mailer::submit`] for the next job |
//!
//! The OAuth client ([`oauth::Client`]) stays the driver's: it owns the
//! response buffer and carries the HTTPS requests. The mailer starts the
//! refresh grant on it (the refresh token goes from the store straight into
//! the request) and takes the tokens from it when its flow succeeds, through
//! [`TokenGrant::from_response`]. The `*_succeeded` / `*_failed` calls are
//! the same steps for drivers that obtain tokens another way.
//!
//! During [`Plan::Session`] the driver carries the SMTP session's link
//! through the mailer, never through the session itself: its inputs are
//! `handle_smtp_*(now, …)` ([`Mailer::handle_smtp_input`],
//! [`Mailer::handle_smtp_tls_established`], [`Mailer::handle_smtp_tls_failed`],
//! [`Mailer::handle_smtp_close`], [`Mailer::handle_smtp_timeout`]), its
//! outputs `poll_smtp_*` ([`Mailer::poll_smtp_transmit`],
//! [`Mailer::poll_smtp_timeout`]), and the message body goes in with
//! [`Mailer::write_smtp_body`] (or [`Mailer::write_smtp_body_canonical`])
//! and [`Mailer::finish_smtp_body`]. Each is the [`smtp::Client`] call of
//! the same name on the job's session (the C API's
//! `mfp_oauth_mailer_smtp_*`), and answers [`MailerError::WrongState`] when
//! no session runs. [`SessionLink`] gives both the mailer and a bare
//! [`smtp::Client`] that one shape, for byte movers that serve both.
//!
//! Outside a job the token store changes only through purposeful calls:
//! [`Mailer::delete_user_tokens`], [`Mailer::delete_all_user_tokens`],
//! [`Mailer::delete_admin_tokens`], [`Mailer::logout`],
//! [`Mailer::auto_reset`], [`Mailer::acquire_admin`],
//! [`Mailer::store_user_sign_in`], [`Mailer::refresh_ended`] (a refresh run
//! outside a job), and its events come from [`Mailer::poll_store_event`].
//!
//! A job goes through at most [`MAX_PLANS`] plans: one that would go through
//! more is failed with [`Id::WrongState`], so a driver's loop runs until the
//! plan is [`Plan::Done`] or [`Plan::Failed`] and needs no guard of its own.
//!
//! The token refresh happens at most once after the server rejects a token
//! (then one AUTH retry on the same connection), never in a loop. Nothing is
//! sent to the network before the policy accepted the From address and the
//! token's account (R-POL). [`Step::Store`] events say when the persistence
//! image must be written (refresh-token rotation, deletion) and when the
//! Information screen must warn (R-TOK-4).

use core::fmt;

use crate::address::Address;
use crate::api;
use crate::config::{oauth_available, AdminSignIn, Applied, HostName, Settings, Violations};
use crate::diag::{Diagnostic, Id};
use crate::function::Function;
use crate::image;
use crate::limits::{MAX_PLANS, MAX_USER_TOKENS};
use crate::oauth::{self, OAuthError};
use crate::policy::{self, Decision, User};
use crate::secret::RefreshToken;
use crate::smtp::{self, BodyError, BodyProgress, Envelope, Event, ReplyCode, Security, Transmit};
use crate::time::{Duration, Instant};
use crate::token::{
    Access, RefreshFailure, StoreEvent, TokenError, TokenGrant, TokenOwner, TokenStore, UserId,
    UserSlot, UserSlots, WallTime,
};
use crate::wire::BufferTooSmall;

mod session_place;
pub use session_place::{HeldSession, SessionPair, SessionPlace};

/// One job to send.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// The function sending (decides the token class).
    pub function: Function,
    /// The logged-in user, `None` for the public user.
    pub user: Option<User<'a>>,
    /// The From address the user entered or the application set, `None`
    /// for the mode's default.
    pub from: Option<&'a Address>,
    /// Recipients (at most [`crate::limits::MAX_RECIPIENTS`]).
    pub to: &'a [Address],
    /// The message's size in octets, if known (checked against SIZE).
    pub size: Option<u64>,
}

/// One job to send, every address as the panel or the application gave
/// it: checked and parsed where the job keeps its addresses, so that the
/// caller holds no [`Address`] on its stack (R-MEM). An address that is
/// not one fails the job (`InvalidAddress`).
#[derive(Debug, Clone, Copy)]
pub struct JobText<'a> {
    /// The function sending (decides the token class).
    pub function: Function,
    /// The logged-in user's login name, `None` for the public user.
    pub user_id: Option<&'a str>,
    /// The logged-in user's registered e-mail address, if any (read only
    /// with `user_id`).
    pub user_address: Option<&'a str>,
    /// The From address the user entered or the application set, `None`
    /// for the mode's default.
    pub from: Option<&'a str>,
    /// Recipients (at most [`crate::limits::MAX_RECIPIENTS`]).
    pub to: &'a [&'a str],
    /// The message's size in octets, if known (checked against SIZE).
    pub size: Option<u64>,
}

/// How the person signs in at the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AuthMethod {
    /// Device authorization grant (RFC 8628): show the code and URL.
    DeviceCode,
    /// Authorization code with PKCE in a browser, loopback redirect.
    BrowserPkce,
}

/// What the firmware must do next for the current job.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Plan {
    /// No job.
    Idle,
    /// Show the OAuth screen: the user (or the public user, `user: None`)
    /// signs in for `account` with `method`.
    NeedUserAuth {
        /// The logged-in user, `None` for the public user.
        user: Option<UserId>,
        /// The account to sign in as.
        account: Address,
        /// How.
        method: AuthMethod,
    },
    /// The administrator's token is Required or needs re-authentication:
    /// the administrator must Acquire it for `account` (beforehand, in
    /// [Configuration OAuth]).
    NeedAdminAuth {
        /// The administrator's account.
        account: Address,
        /// How.
        method: AuthMethod,
    },
    /// Run a refresh grant for `owner`: [`Mailer::start_exchange`] on the
    /// OAuth client, then feed its events to [`Mailer::handle_oauth_event`].
    TokenExchange {
        /// Whose token.
        owner: TokenOwner,
    },
    /// Open a connection to the SMTP server (with TLS from the start for
    /// [`Security::ImplicitTls`]), then call [`Mailer::connected`].
    Connect {
        /// Server host.
        host: HostName,
        /// Server port.
        port: u16,
        /// Transport security.
        security: Security,
    },
    /// The SMTP session runs: carry its link with the `handle_smtp_*`,
    /// `poll_smtp_*` and body calls, drain [`Mailer::poll_event`].
    Session,
    /// The message was sent; close the connection if still open.
    Done {
        /// The server's final reply to the message.
        reply: ReplyCode,
        /// Recipients accepted.
        accepted: usize,
        /// Recipients refused.
        refused: usize,
    },
    /// The job failed; `diag` says why and what to do.
    Failed {
        /// The diagnostic.
        diag: Id,
    },
}

/// Something the driver must act on during a job, from
/// [`Mailer::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// An SMTP event: act on [`Event::UpgradeTls`] and
    /// [`Event::ReadyForBody`]; the others are progress to show or log.
    Smtp(Event),
    /// The plan changed: act on [`Mailer::plan`] (a refresh mid-session, or
    /// the job's end).
    PlanChanged,
    /// The token store needs persisting or a notice shown.
    Store(StoreEvent),
}

/// A call made in the wrong state of the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MailerError {
    /// Not allowed in the current plan (for example a second submit while a
    /// job runs).
    WrongState,
    /// The OAuth client refused to start the flow.
    OAuth(OAuthError),
    /// The token store refused the tokens.
    Token(TokenError),
    /// Acquire without an administrator address in the settings.
    AdminAddressMissing,
    /// The caller's output buffer is too short ([`Mailer::poll_smtp_transmit`],
    /// [`Mailer::write_smtp_body`]); nothing was written.
    BufferTooSmall {
        /// Octets needed.
        needed: usize,
    },
}

impl From<BodyError> for MailerError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::BufferTooSmall { needed } => MailerError::BufferTooSmall { needed },
            // Not after `ReadyForBody`, or already finished.
            _ => MailerError::WrongState,
        }
    }
}

impl From<BufferTooSmall> for MailerError {
    fn from(e: BufferTooSmall) -> Self {
        MailerError::BufferTooSmall { needed: e.needed }
    }
}

impl Diagnostic for MailerError {
    fn diag(&self) -> Id {
        match self {
            MailerError::WrongState => Id::WrongState,
            MailerError::OAuth(e) => e.diag(),
            MailerError::Token(e) => e.diag(),
            MailerError::AdminAddressMissing => Id::AdminAddressMissing,
            MailerError::BufferTooSmall { .. } => Id::BufferTooSmall,
        }
    }
}

impl fmt::Display for MailerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.diag(), f)
    }
}

impl core::error::Error for MailerError {}

/// The SMTP session's link in one shape, for a bare [`smtp::Client`] and
/// for the job's session inside the [`Mailer`] (its `handle_smtp_*`,
/// `poll_smtp_*` and body calls), so that a driver's byte mover (the
/// host's pump, the C API's session calls) is written once for both.
/// Errors keep their diagnostic: [`MailerError::WrongState`] when the
/// session does not take the call (none runs, or not in this state),
/// [`MailerError::BufferTooSmall`] with the size needed.
pub trait SessionLink {
    /// Octets from the server; returns how many were taken.
    fn handle_input(&mut self, now: Instant, data: &[u8]) -> Result<usize, MailerError>;
    /// TLS is up after [`Event::UpgradeTls`].
    fn handle_tls_established(&mut self, now: Instant) -> Result<(), MailerError>;
    /// The handshake of [`Event::UpgradeTls`] failed for the TLS stack's
    /// reason `diag`.
    fn handle_tls_failed(&mut self, now: Instant, diag: Id) -> Result<(), MailerError>;
    /// The connection closed, or a write to it failed.
    fn handle_close(&mut self, now: Instant) -> Result<(), MailerError>;
    /// `now` reached the deadline of [`SessionLink::poll_timeout`].
    fn handle_timeout(&mut self, now: Instant) -> Result<(), MailerError>;
    /// When to call [`SessionLink::handle_timeout`] (`None`: no reply
    /// awaited).
    fn poll_timeout(&self) -> Result<Option<Instant>, MailerError>;
    /// The next octets to send, written into `out` (`None`: nothing now).
    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<Transmit>, MailerError>;
    /// Body octets from `input` encoded into `out` (after
    /// [`Event::ReadyForBody`]).
    fn write_body(&mut self, input: &[u8], out: &mut [u8]) -> Result<BodyProgress, MailerError>;
    /// [`SessionLink::write_body`] for a canonical body (the composer's).
    fn write_body_canonical(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<BodyProgress, MailerError>;
    /// The whole body was written: the end of data is queued.
    fn finish_body(&mut self, now: Instant) -> Result<(), MailerError>;
}

impl SessionLink for smtp::Client {
    #[inline(always)]
    fn handle_input(&mut self, now: Instant, data: &[u8]) -> Result<usize, MailerError> {
        Ok(smtp::Client::handle_input(self, now, data))
    }
    #[inline(always)]
    fn handle_tls_established(&mut self, now: Instant) -> Result<(), MailerError> {
        // Its only refusal: no handshake was asked for.
        smtp::Session::handle_tls_established(self, now).map_err(|_| MailerError::WrongState)
    }
    #[inline(always)]
    fn handle_tls_failed(&mut self, now: Instant, diag: Id) -> Result<(), MailerError> {
        smtp::Client::handle_tls_failed(self, now, diag);
        Ok(())
    }
    #[inline(always)]
    fn handle_close(&mut self, now: Instant) -> Result<(), MailerError> {
        smtp::Client::handle_close(self, now);
        Ok(())
    }
    #[inline(always)]
    fn handle_timeout(&mut self, now: Instant) -> Result<(), MailerError> {
        smtp::Client::handle_timeout(self, now);
        Ok(())
    }
    #[inline(always)]
    fn poll_timeout(&self) -> Result<Option<Instant>, MailerError> {
        Ok(smtp::Session::poll_timeout(self))
    }
    #[inline(always)]
    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<Transmit>, MailerError> {
        Ok(smtp::Client::poll_transmit(self, now, out)?)
    }
    #[inline(always)]
    fn write_body(&mut self, input: &[u8], out: &mut [u8]) -> Result<BodyProgress, MailerError> {
        Ok(smtp::Session::write_body(self, input, out)?)
    }
    #[inline(always)]
    fn write_body_canonical(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<BodyProgress, MailerError> {
        Ok(smtp::Session::write_body_canonical(self, input, out)?)
    }
    #[inline(always)]
    fn finish_body(&mut self, now: Instant) -> Result<(), MailerError> {
        Ok(smtp::Session::finish_body(self, now)?)
    }
}

impl<U: UserSlots, S: SessionPlace> SessionLink for Mailer<U, S> {
    #[inline(always)]
    fn handle_input(&mut self, now: Instant, data: &[u8]) -> Result<usize, MailerError> {
        self.handle_smtp_input(now, data)
    }
    #[inline(always)]
    fn handle_tls_established(&mut self, now: Instant) -> Result<(), MailerError> {
        self.handle_smtp_tls_established(now)
    }
    #[inline(always)]
    fn handle_tls_failed(&mut self, now: Instant, diag: Id) -> Result<(), MailerError> {
        self.handle_smtp_tls_failed(now, diag)
    }
    #[inline(always)]
    fn handle_close(&mut self, now: Instant) -> Result<(), MailerError> {
        self.handle_smtp_close(now)
    }
    #[inline(always)]
    fn handle_timeout(&mut self, now: Instant) -> Result<(), MailerError> {
        self.handle_smtp_timeout(now)
    }
    #[inline(always)]
    fn poll_timeout(&self) -> Result<Option<Instant>, MailerError> {
        self.poll_smtp_timeout()
    }
    #[inline(always)]
    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<Transmit>, MailerError> {
        self.poll_smtp_transmit(now, out)
    }
    #[inline(always)]
    fn write_body(&mut self, input: &[u8], out: &mut [u8]) -> Result<BodyProgress, MailerError> {
        self.write_smtp_body(input, out)
    }
    #[inline(always)]
    fn write_body_canonical(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<BodyProgress, MailerError> {
        self.write_smtp_body_canonical(input, out)
    }
    #[inline(always)]
    fn finish_body(&mut self, now: Instant) -> Result<(), MailerError> {
        self.finish_smtp_body(now)
    }
}

/// The job's session, in the place `S` keeps it ([`SessionPlace`]): the
/// SMTP session, kept in place between jobs (R-MEM: a new one is reset
/// where it lives, [`smtp::Session::reset`], instead of being built (5 KB)
/// and moved), which also stages every job's envelope; or, for a job whose
/// transport is a mail API (R-XPORT), the [`api::Session`], on the same
/// link calls and with the same events. `live` and `api_live` say whether
/// one runs on a link.
#[derive(Debug)]
struct Session<S> {
    place: S,
    live: bool,
    /// The API session runs (from its start until [`Session::end`]).
    api_live: bool,
}

impl<S: SessionPlace> Session<S> {
    /// Whether a session of either kind runs.
    fn is_some(&self) -> bool {
        self.live || self.api_live
    }

    fn as_ref(&self) -> Option<&smtp::Session> {
        if self.live {
            self.place.smtp()
        } else {
            None
        }
    }

    fn as_mut(&mut self) -> Option<&mut smtp::Session> {
        if self.live {
            self.place.smtp_mut()
        } else {
            None
        }
    }

    /// The API session, when the job's runs through a mail API.
    fn api_mut(&mut self) -> Option<&mut api::Session> {
        if self.api_live {
            self.place.api_mut()
        } else {
            None
        }
    }

    /// The API session the place holds, running or not: an API job's keeps
    /// its upload's progress between connections until the job ends.
    fn api(&self) -> Option<&api::Session> {
        self.place.api()
    }

    fn poll_event(&mut self) -> Option<Event> {
        match self.api_mut() {
            Some(a) => a.poll_event(),
            None => self.as_mut()?.poll_event(),
        }
    }

    fn quit(&mut self, now: Instant) {
        match self.api_mut() {
            Some(a) => a.quit(now),
            None => {
                if let Some(c) = self.as_mut() {
                    let _ = c.quit(now);
                }
            }
        }
    }

    fn last_reply(&self) -> Option<&smtp::Reply> {
        if self.api_live {
            self.place.api().and_then(api::Session::last_reply)
        } else {
            self.as_ref().and_then(smtp::Session::last_reply)
        }
    }

    /// The envelope staged for the job's SMTP session (or, for an API job,
    /// read when its first request starts): the place is made to hold the
    /// SMTP session if it held an API session (wiped).
    fn stage(&mut self) -> Option<&mut Envelope> {
        self.place.hold_smtp().staged_envelope_mut()
    }

    /// The envelope staged, if the place holds the SMTP session.
    fn staged(&mut self) -> Option<&mut Envelope> {
        self.place.smtp_mut()?.staged_envelope_mut()
    }

    /// A session on a connection just opened at `now` to the server of
    /// `security`, `host` and `port`, its settings written in place.
    fn start(
        &mut self,
        now: Instant,
        server: (Security, &str, &str, u16),
        user: &Address,
    ) -> Result<&mut smtp::Session, smtp::SettingsError> {
        let (security, ehlo_domain, host, port) = server;
        let client = self.place.hold_smtp();
        client.reset_with(now, user, |s| {
            s.set_server(security, ehlo_domain, host, port)
        })?;
        self.live = true;
        Ok(client)
    }

    /// The API session for the job's request on a connection just opened:
    /// the place is made to hold it (the staged envelope, read before, is
    /// wiped with the SMTP session on the first).
    fn start_api(&mut self) -> &mut api::Session {
        self.live = false;
        self.place.hold_api()
    }

    /// The session is over: its copy of the token is wiped.
    fn end(&mut self) {
        if let Some(client) = self.place.smtp_mut() {
            client.forget_token();
            client.forget_message();
        }
        self.live = false;
        if let Some(api) = self.place.api_mut() {
            api.end();
        }
        self.api_live = false;
    }

    /// The job is over: an API job's upload is forgotten.
    fn end_job(&mut self) {
        self.end();
        if let Some(api) = self.place.api_mut() {
            api.forget_upload();
        }
    }
}

/// How a refresh grant run outside a job ended, as its OAuth client
/// reported it ([`Mailer::refresh_ended`]).
#[derive(Debug, Clone, Copy)]
pub enum RefreshOutcome<'a> {
    /// The client's `AccessToken` event: the tokens it received.
    Refreshed(TokenGrant<'a>),
    /// No tokens: `grant_refused` for the client's `ReauthRequired` event,
    /// `false` for `Failed` (or a flow that could not start); `diag` is the
    /// event's diagnostic.
    Failed {
        /// The token endpoint refused the grant (`ReauthRequired`).
        grant_refused: bool,
        /// The event's diagnostic.
        diag: Id,
    },
}

/// What a failed refresh means for `owner`: a dead grant needs a new
/// sign-in; anything else is the flow's own diagnostic.
fn refresh_failure_diag(failure: RefreshFailure, owner: &TokenOwner, diag: Id) -> Id {
    match (failure, owner) {
        (RefreshFailure::InvalidGrant, TokenOwner::Admin) => Id::AdminReauthNeeded,
        (RefreshFailure::InvalidGrant, _) => Id::UserReauthNeeded,
        (RefreshFailure::Refused | RefreshFailure::Transient, _) => diag,
    }
}

/// A job as submitted: its addresses parsed by the caller, or as text.
#[derive(Clone, Copy)]
enum JobInput<'a> {
    Parsed(&'a Job<'a>),
    Text(&'a JobText<'a>),
}

/// A job's recipients, parsed or as text.
#[derive(Clone, Copy)]
enum Recipients<'a> {
    Parsed(&'a [Address]),
    Text(&'a [&'a str]),
}

impl Recipients<'_> {
    /// Adds them to `envelope`, each written where the envelope keeps it.
    /// Not inlined: its frame stays off the job's (R-MEM).
    #[inline(never)]
    fn add_to(self, envelope: &mut Envelope) -> Result<(), Id> {
        match self {
            Recipients::Parsed(list) => {
                for to in list {
                    envelope
                        .add_recipient_text(to.as_str())
                        .map_err(|e| e.diag())?;
                }
            }
            Recipients::Text(list) => {
                for to in list {
                    envelope.add_recipient_text(to).map_err(|e| e.diag())?;
                }
            }
        }
        Ok(())
    }
}

/// Where the job in progress is kept: its state has its place in the
/// mailer whether a job runs or not, and a job starts by resetting that
/// place (R-MEM: a job's state, 1 KB with its decision and result plan, is
/// never made on a frame and moved). Read like an `Option<JobState>`.
#[derive(Debug)]
struct JobSlot(JobState);

impl JobSlot {
    const fn empty() -> Self {
        JobSlot(JobState {
            live: false,
            decision: Decision::EMPTY,
            user_address: Address::NONE,
            retried: false,
            result: None,
            plans: 0,
            throttled: 0,
            resumes: 0,
            not_before: None,
            api_message: None,
        })
    }

    fn as_ref(&self) -> Option<&JobState> {
        self.0.live.then_some(&self.0)
    }

    fn as_mut(&mut self) -> Option<&mut JobState> {
        if self.0.live {
            Some(&mut self.0)
        } else {
            None
        }
    }

    fn is_some(&self) -> bool {
        self.0.live
    }

    fn is_none(&self) -> bool {
        !self.0.live
    }

    /// A new job's state, reset in place.
    fn start(&mut self) -> &mut JobState {
        self.clear();
        self.0.live = true;
        &mut self.0
    }

    /// No job: its state is reset in place.
    fn clear(&mut self) {
        // Destructured without `..`: a new field must be reset here too.
        let JobState {
            live,
            decision,
            user_address,
            retried,
            result,
            plans,
            throttled,
            resumes,
            not_before,
            api_message,
        } = &mut self.0;
        *live = false;
        decision.reset();
        user_address.clear();
        *retried = false;
        *result = None;
        *plans = 0;
        *throttled = 0;
        *resumes = 0;
        *not_before = None;
        *api_message = None;
    }
}

/// The job in progress.
#[derive(Debug)]
struct JobState {
    /// A job runs ([`JobSlot`]; a byte beside the other small fields, so
    /// the mailer's size does not change).
    live: bool,
    decision: Decision,
    /// The logged-in user's address of a job given as text, parsed here for
    /// the policy (the envelope's recipients are packed text, no
    /// [`Address`] place).
    user_address: Address,
    /// The one refresh-and-retry after a token rejection was used.
    retried: bool,
    /// The result to report once the session has closed.
    result: Option<Plan>,
    /// Plans this job went through so far (at most [`MAX_PLANS`]; a byte,
    /// next to `retried`, so the mailer's size does not change).
    plans: u8,
    /// Times a mail API throttled this job's request (R-XPORT).
    throttled: u8,
    /// Times this job's resumable upload went on after a lost connection.
    resumes: u8,
    /// The API request is not sent again before this time (the server's
    /// `Retry-After`).
    not_before: Option<Instant>,
    /// An API job's message size and recipient count, read from the staged
    /// envelope when its first request starts ([`SessionPlace`]: the
    /// envelope is wiped then).
    api_message: Option<(u64, usize)>,
}

/// Times a throttled API request is asked again within one job (R-XPORT).
pub const MAX_API_RETRIES: u8 = 3;
/// Times a resumable upload goes on after a lost connection within one
/// job (R-XPORT).
pub const MAX_API_RESUMES: u8 = 3;
/// The longest `Retry-After` waited out within a job; a longer one fails
/// the job with [`Id::ApiThrottled`] (the firmware's queue tries later).
pub const MAX_API_RETRY_WAIT: Duration = Duration::from_secs(120);
/// The wait before the first retry of a request throttled without
/// `Retry-After`; it doubles each time.
pub const API_RETRY_BASE_WAIT: Duration = Duration::from_secs(5);

/// The firmware's OAuth mail facade (one job at a time).
///
/// `U` keeps the token store's user slots: by default the store's own
/// array of [`crate::limits::MAX_USER_TOKENS`], or slots the firmware lends
/// ([`Mailer::set_user_slots`], R-MEM). `S` keeps the job's SMTP or mail
/// API session: by default both side by side ([`SessionPair`]), or one
/// place shared by the two ([`SessionPlace`]; the C binding's).
#[derive(Debug)]
pub struct Mailer<U: UserSlots = [UserSlot; MAX_USER_TOKENS], S: SessionPlace = SessionPair> {
    settings: Settings,
    store: TokenStore<U>,
    plan: Plan,
    job: JobSlot,
    client: Session<S>,
    /// The server reply that decided the last session's result, kept after
    /// the session is dropped (for support logs); cleared by the next job.
    /// `Some(None)`: the result is known and no reply decided it (a message
    /// refused before MAIL for its size or a non-ASCII address).
    last_reply: Option<Option<smtp::Reply>>,
    /// [`Mailer::auth_method`] for the settings in force, worked out when
    /// they change, so that a job does not build a provider profile (2 KB)
    /// on its stack (R-MEM).
    method: AuthMethod,
    /// The rules the settings in force violate, worked out likewise.
    violations: Violations,
}

impl<U: UserSlots> Mailer<U, SessionPair> {
    /// A mailer with `settings` and `store` (loaded with
    /// [`crate::image::load`], or new).
    #[must_use]
    pub fn new(settings: Settings, store: TokenStore<U>) -> Self {
        let mut mailer = Mailer {
            settings,
            store,
            plan: Plan::Idle,
            job: JobSlot::empty(),
            client: Session {
                place: SessionPair::new(),
                live: false,
                api_live: false,
            },
            last_reply: None,
            method: AuthMethod::BrowserPkce,
            violations: Violations::default(),
        };
        mailer.client.place.hold_smtp();
        mailer.settings_changed();
        mailer
    }
}

impl<U: UserSlots, S: SessionPlace> Mailer<U, S> {
    /// The settings changed: work out what depends on them.
    fn settings_changed(&mut self) {
        let (built, device_flow) = self.settings.profile_outcome();
        self.method = match built {
            Ok(()) if device_flow => AuthMethod::DeviceCode,
            _ => AuthMethod::BrowserPkce,
        };
        // Checked once the profile's frame is gone: the rules' own calls
        // (a certificate's thumbprint decoded) do not stack on it (R-MEM).
        self.violations = self.settings.validate_with(built);
        self.store
            .set_refresh_margin(self.settings.refresh_margin_s);
    }

    /// Back to `Mailer::new(Settings::default(), TokenStore::new())` in
    /// place, field by field: no job, no session, the default settings, an
    /// empty store, every secret wiped, an idle SMTP session held (a place
    /// all zero, as a firmware's storage starts, holds none before).
    /// Nothing the size of the mailer (27 to 53 KB) or of a part of it is
    /// built on the stack (R-MEM), so a firmware can build the mailer
    /// straight in its own storage.
    pub fn reset(&mut self) {
        // Destructured without `..`: a new field must be reset here too.
        let Mailer {
            settings,
            store,
            plan,
            job,
            client,
            last_reply,
            method: _,
            violations: _,
        } = self;
        client.end_job();
        // An idle SMTP session: the place may hold none yet (zeroed).
        client.place.hold_smtp();
        job.clear();
        *plan = Plan::Idle;
        *last_reply = None;
        settings.reset();
        store.reset();
        self.settings_changed();
    }

    /// A new mailer built in place ([`Mailer::reset`]): `fill` writes the
    /// settings straight into their place, then they are validated. Like
    /// `new` followed by [`Mailer::apply_settings`], settings other than
    /// the defaults ask for an image ([`StoreEvent::Persist`]). On any
    /// error the mailer is left reset.
    pub fn reset_with<E: From<Violations>>(
        &mut self,
        fill: impl FnOnce(&mut Settings) -> Result<(), E>,
    ) -> Result<(), E> {
        self.reset();
        let filled = fill(&mut self.settings).and_then(|()| {
            let v = self.settings.validate();
            if v.is_empty() {
                Ok(())
            } else {
                Err(E::from(v))
            }
        });
        match filled {
            Ok(()) => {
                if !self.settings.is_default() {
                    self.store.settings_changed(false);
                }
                self.settings_changed();
                Ok(())
            }
            Err(e) => {
                self.reset();
                Err(e)
            }
        }
    }

    /// Keep the token store's user slots in `users` from now on
    /// ([`TokenStore::set_user_slots`]): storage the firmware lends, sized
    /// for the users it keeps signed in (R-MEM). The users held so far are
    /// wiped and forgotten, and `users` is emptied: call it at power-on,
    /// before [`Mailer::load_into`] or [`Mailer::load_from`] (an image
    /// with more users than slots is refused with
    /// [`image::NvError::TooManyUsers`]) or before the first job. Returns
    /// the slots kept so far, emptied.
    pub fn set_user_slots(&mut self, users: U) -> U {
        self.store.set_user_slots(users)
    }

    /// Power-on in place: [`Mailer::reset`], then the newest good image of
    /// the NV slots `a` and `b` is decoded straight into the settings and
    /// the token store ([`image::load`]); no access token survives (R-TOK-1).
    /// On error the mailer is left reset.
    pub fn load_into(
        &mut self,
        a: &[u8],
        b: &[u8],
        key: Option<&image::DeviceKey>,
    ) -> Result<image::LoadReport, image::NvError> {
        self.reset();
        let loaded = image::load(a, b, key, &mut self.settings, &mut self.store);
        self.loaded(loaded)
    }

    /// [`Mailer::load_into`] from flash that is not memory-mapped, read a
    /// piece at a time through `reader` ([`image::load_from`]; `scratch`
    /// holds the image's records, [`image::RECORDS_MAX_LEN`] always does).
    pub fn load_from(
        &mut self,
        reader: &mut dyn image::SlotReader,
        scratch: &mut [u8],
        key: Option<&image::DeviceKey>,
    ) -> Result<image::LoadReport, image::NvError> {
        self.reset();
        let loaded = image::load_from(reader, scratch, key, &mut self.settings, &mut self.store);
        self.loaded(loaded)
    }

    fn loaded(
        &mut self,
        loaded: Result<image::LoadReport, image::NvError>,
    ) -> Result<image::LoadReport, image::NvError> {
        match loaded {
            Ok(_) => {
                self.store.power_on();
                self.settings_changed();
            }
            Err(_) => self.reset(),
        }
        loaded
    }

    // ----- getters -----

    /// The settings in force.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The token store (statuses for the OAuth screen, persistence).
    #[must_use]
    pub fn store(&self) -> &TokenStore<U> {
        &self.store
    }

    /// The raw token store, for the core's own tests.
    #[cfg(all(test, feature = "oauth"))]
    pub(crate) fn store_mut(&mut self) -> &mut TokenStore<U> {
        &mut self.store
    }

    /// The current plan.
    #[must_use]
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The From address the sender policy chose for the running job
    /// (R-POL): the one `MAIL FROM` carries, so the one the message's
    /// `From:` header must show. `None` when no job runs (before the first
    /// submit, after a refused submit, once the job is done or failed).
    #[must_use]
    pub fn job_from(&self) -> Option<&Address> {
        self.job.as_ref().map(|j| &j.decision.from)
    }

    /// Sets the running job's message size (for `SIZE=` and the check
    /// against the server's limit) after [`Mailer::submit`]: the From
    /// address the policy chose ([`Mailer::job_from`]) goes into the
    /// message's `From:` header, so a message composed after the submit
    /// learns its exact size only then. Allowed until the SMTP session
    /// starts; `WrongState` when no job runs, while its session runs, and
    /// once an API job's first request has started (its size and
    /// recipients are read once, then).
    pub fn set_message_size(&mut self, size: u64) -> Result<(), MailerError> {
        if self.client.is_some() {
            return Err(MailerError::WrongState);
        }
        if self.job.is_none() {
            return Err(MailerError::WrongState);
        }
        // An API job's first request has read its envelope: too late.
        let envelope = self.client.staged().ok_or(MailerError::WrongState)?;
        envelope.size = Some(size);
        Ok(())
    }

    /// Whether the job's SMTP session runs (during [`Plan::Session`]): the
    /// `handle_smtp_*`, `poll_smtp_*` and body calls reach it.
    #[must_use]
    pub fn has_smtp_session(&self) -> bool {
        self.client.is_some()
    }

    /// Whether the job's session is a mail API request (R-XPORT), not
    /// SMTP; the same link calls carry it.
    #[must_use]
    pub fn has_api_session(&self) -> bool {
        self.client.api_live
    }

    /// Whether the job's SMTP session runs over TLS (`false` when none
    /// runs): a transmit marked `sensitive` only ever goes out over TLS.
    #[must_use]
    pub fn smtp_is_tls(&self) -> bool {
        // An API session starts only on a connection with TLS up.
        self.client.api_live || self.client.as_ref().is_some_and(smtp::Session::is_tls)
    }

    fn session(&mut self) -> Result<&mut smtp::Session, MailerError> {
        self.client.as_mut().ok_or(MailerError::WrongState)
    }

    /// The last complete reply of the SMTP server, for support logs: during
    /// a session its latest reply; once the job's result is known, the reply
    /// that decided it (not the `221` to the `QUIT` that follows), kept after
    /// the session is dropped until the next [`Mailer::submit`]. `None`
    /// before any reply of the current job's server.
    #[must_use]
    pub fn last_reply(&self) -> Option<&smtp::Reply> {
        match &self.last_reply {
            Some(kept) => kept.as_ref(),
            None => self.client.last_reply(),
        }
    }

    /// The refresh token for [`Plan::TokenExchange`].
    fn refresh_token(&self) -> Option<&RefreshToken> {
        match &self.plan {
            Plan::TokenExchange { owner } => self.store.refresh_token(owner),
            _ => None,
        }
    }

    // ----- settings -----

    /// Change the settings (refused whole if a rule is violated); tokens the
    /// change orphans are deleted. `go_to_oauth_screen` in the result is
    /// R-RULE-6. Any change asks for a new image ([`StoreEvent::Persist`]:
    /// the settings live in it, R-NV), erasing the other slot when a secret
    /// left (an orphaned token, or the proxy password changed or removed).
    pub fn apply_settings(&mut self, mut new: Settings) -> Result<Applied, Violations> {
        self.apply_settings_from(&mut new)
    }

    /// [`Mailer::apply_settings`] with the new settings where the caller
    /// keeps them (R-MEM: nothing the size of the settings, about 4 KB, is
    /// moved or copied on the stack): they are validated in place and
    /// swapped in. On success `new` is left reset (the previous settings,
    /// their proxy password wiped); on error neither changes.
    pub fn apply_settings_from(&mut self, new: &mut Settings) -> Result<Applied, Violations> {
        let changed = *new != self.settings;
        let password_left = match (&self.settings.proxy, &new.proxy) {
            (Some(old), Some(now)) => {
                !old.password.is_empty() && !old.password.ct_eq(now.password.expose())
            }
            (Some(old), None) => !old.password.is_empty(),
            (None, _) => false,
        };
        // A client secret changed or removed leaves the old one in the
        // older image slot: that slot is erased once the new image is in.
        let secret_left = !self.settings.app_client_secret.0.is_empty()
            && self.settings.app_client_secret != new.app_client_secret;
        let password_left = password_left || secret_left;
        let applied = self.settings.apply_swap(new)?;
        new.reset();
        self.store.apply_config(&applied);
        if changed {
            self.store.settings_changed(password_left);
        }
        self.settings_changed();
        Ok(applied)
    }

    // ----- panel and system events that need the settings -----

    /// The user logged out: with automatic deletion on, their tokens are
    /// deleted (R-TOK-5). Returns whether a slot was deleted.
    pub fn logout(&mut self, user: &str) -> bool {
        self.store.logout(user, &self.settings)
    }

    /// The system auto-reset fired with `current` logged in: as a logout
    /// (R-TOK-5).
    pub fn auto_reset(&mut self, current: Option<&str>) -> bool {
        self.store.auto_reset(current, &self.settings)
    }

    /// Check the refresh tokens' ages against the provider's expiry rule at
    /// wall-clock time `wall` (call daily); warnings come as
    /// [`Step::Store`] events.
    pub fn check_expiry(&mut self, wall: WallTime) {
        self.store.check_expiry(wall, &self.settings);
    }

    // ----- the token store outside a job -----

    /// The panel's Delete for user `id` (R-TOK-5): their tokens are wiped
    /// and a [`StoreEvent::Persist`] follows. [`TokenError::UnknownUser`]
    /// when the user holds none.
    pub fn delete_user_tokens(&mut self, id: &str) -> Result<(), TokenError> {
        self.store.delete_user(id)
    }

    /// Every user's tokens deleted (the administrator's kept); a
    /// [`StoreEvent::Persist`] follows when any was held.
    pub fn delete_all_user_tokens(&mut self) {
        self.store.delete_all_users();
    }

    /// The administrator's tokens deleted: the status reads Required and a
    /// [`StoreEvent::Persist`] follows.
    pub fn delete_admin_tokens(&mut self) {
        self.store.delete_admin();
    }

    /// `user`'s sign-in for `account`, done outside a job (the panel's or
    /// the CLI's sign-in ahead of a job), succeeded on `client` (after its
    /// `AccessToken` event): the tokens are stored for `user` and persisted.
    /// When the provider named another account than `account` (R-ACCT), the
    /// token is refused with [`TokenError::AccountMismatch`] and nothing
    /// changes. The user's counterpart of [`Mailer::acquire_admin`].
    pub fn store_user_sign_in<B: AsMut<[u8]>>(
        &mut self,
        now: Instant,
        wall: Option<WallTime>,
        user: &UserId,
        account: &Address,
        client: &oauth::Client<B>,
    ) -> Result<(), MailerError> {
        let tokens = client.tokens().ok_or(MailerError::WrongState)?;
        self.store
            .store_signed_in(
                now,
                wall,
                &TokenOwner::User(user.clone()),
                account,
                TokenGrant::from_response(tokens),
                tokens.account.address(),
            )
            .map_err(MailerError::Token)
    }

    /// An access token handed in from outside (R-APP: a print-management
    /// server obtained it) for `owner`'s slot: the administrator's, whose
    /// `account` must be the administrator address of the settings, or a
    /// logged-in user's. It lives `lifetime` from `now`, in RAM only (a
    /// power-on forgets it, R-TOK-1), and jobs use it under the same
    /// sender policy as a signed-in token (R-POL: a From it may not send
    /// as is refused before any network octet). When it ends without a
    /// refresh token behind it, the job fails with
    /// [`Id::HandedTokenExpired`]. The caller wipes its own copy.
    pub fn install_handed_token(
        &mut self,
        now: Instant,
        owner: &TokenOwner,
        account: &Address,
        token: &[u8],
        lifetime: Duration,
    ) -> Result<(), MailerError> {
        if *owner == TokenOwner::Admin {
            let admin = self
                .settings
                .admin_address
                .as_ref()
                .ok_or(MailerError::AdminAddressMissing)?;
            if !admin.same_mailbox(account) {
                return Err(MailerError::Token(TokenError::AccountMismatch));
            }
        }
        self.store
            .install_handed(now, owner, account, token, lifetime)
            .map_err(MailerError::Token)
    }

    /// A refresh grant for `owner`, run outside a job (a token check such
    /// as the CLI's `doctor`), ended with `outcome`, as its OAuth client
    /// reported it. [`RefreshOutcome::Refreshed`] stores the tokens (a
    /// rotated refresh token is persisted, or the next use would fail).
    /// [`RefreshOutcome::Failed`] is classified by the core as in a job
    /// ([`Mailer::exchange_failed`], [`RefreshFailure::classify`]): a dead
    /// grant erases the token (R-TOK-4, and a [`StoreEvent::Persist`]
    /// follows); a consent or Conditional Access refusal, or a transient
    /// failure, keeps it. `Ok(rotated)`: stored, `rotated` when a new
    /// refresh token came back. `Err` carries what the failure means for the
    /// owner ([`Id::AdminReauthNeeded`] / [`Id::UserReauthNeeded`] for a
    /// dead grant, else the flow's diagnostic), or why the tokens could not
    /// be stored.
    pub fn refresh_ended(
        &mut self,
        now: Instant,
        wall: Option<WallTime>,
        owner: &TokenOwner,
        outcome: RefreshOutcome<'_>,
    ) -> Result<bool, Id> {
        match outcome {
            RefreshOutcome::Refreshed(grant) => self
                .store
                .refreshed(now, wall, owner, grant)
                .map_err(|e| e.diag()),
            RefreshOutcome::Failed {
                grant_refused,
                diag,
            } => {
                let failure = RefreshFailure::classify(grant_refused, diag);
                self.store.refresh_failed(owner, failure);
                Err(refresh_failure_diag(failure, owner, diag))
            }
        }
    }

    /// The token store's next event outside a job (persist the image, a
    /// notice for the Information screen, R-TOK-4); during a job
    /// [`Mailer::poll_event`] gives them as [`Step::Store`].
    #[must_use]
    pub fn poll_store_event(&mut self) -> Option<StoreEvent> {
        self.store.poll_event()
    }

    // ----- the job -----

    /// Start a job: decide From and token (R-POL), then plan the first step.
    /// A refused job is [`Plan::Failed`] before anything reaches the network.
    pub fn submit(&mut self, now: Instant, job: &Job<'_>) -> Result<Plan, MailerError> {
        self.submit_to(now, JobInput::Parsed(job))?;
        Ok(self.plan.clone())
    }

    /// [`Mailer::submit`] with every address given as text, each parsed
    /// straight into the job's place: the caller needs no address, nor a
    /// list of them (4 KB), on its stack (R-MEM). An address that is not
    /// one fails the job (`InvalidAddress`).
    pub fn submit_text(&mut self, now: Instant, job: &JobText<'_>) -> Result<Plan, MailerError> {
        self.submit_to(now, JobInput::Text(job))?;
        Ok(self.plan.clone())
    }

    /// [`Mailer::submit_text`] that returns no copy of the plan: read it
    /// where it is kept, with [`Mailer::plan`] (R-MEM: the caller's frame
    /// holds no plan, and its addresses, on top of the job's).
    pub fn submit_text_in_place(
        &mut self,
        now: Instant,
        job: &JobText<'_>,
    ) -> Result<(), MailerError> {
        self.submit_to(now, JobInput::Text(job))
    }

    fn submit_to(&mut self, now: Instant, job: JobInput<'_>) -> Result<(), MailerError> {
        if self.job.is_some() {
            return Err(MailerError::WrongState);
        }
        self.last_reply = None;
        match self.start(job) {
            Ok(()) => self.set_next_step(now),
            Err(diag) => {
                self.job.clear();
                self.plan = Plan::Failed { diag };
            }
        }
        self.count_plan();
        Ok(())
    }

    /// Sets the job up in place (R-MEM): the envelope (1.6 KB) is filled
    /// where the job keeps it, never built on the stack and moved. On error
    /// the caller drops the job. Not inlined: the policy's decision is
    /// built on this frame, gone before the plan is worked out (R-MEM).
    #[inline(never)]
    fn start(&mut self, job: JobInput<'_>) -> Result<(), Id> {
        oauth_available().map_err(|e| e.diag())?;
        // The policy's decision is written where the job is kept (R-MEM:
        // no decision or job state built on this frame and moved).
        let state = self.job.start();
        // Staged where the job's sessions send it from: no second copy.
        let envelope = self.client.stage().ok_or(Id::WrongState)?;
        *envelope = Envelope::EMPTY;
        let size = match job {
            JobInput::Parsed(j) => {
                policy::decide_into(
                    j.function,
                    &self.settings,
                    self.violations,
                    j.user,
                    j.from,
                    &mut state.decision,
                )
                .map_err(|e| e.diag())?;
                j.size
            }
            JobInput::Text(j) => {
                // The addresses given as text are parsed where the envelope
                // keeps its From (scratch until the policy has decided, then
                // written over) and where the job keeps the user's address
                // (R-MEM: no address on the caller's frame or on this one).
                if let Some(from) = j.from {
                    envelope.from.set(from).map_err(|_| Id::InvalidAddress)?;
                }
                let user_address = match (j.user_id, j.user_address) {
                    (Some(_), Some(address)) => {
                        state
                            .user_address
                            .set(address)
                            .map_err(|_| Id::InvalidAddress)?;
                        Some(&state.user_address)
                    }
                    _ => None,
                };
                let user = j.user_id.map(|id| User {
                    id,
                    address: user_address,
                });
                policy::decide_into(
                    j.function,
                    &self.settings,
                    self.violations,
                    user,
                    j.from.map(|_| &envelope.from),
                    &mut state.decision,
                )
                .map_err(|e| e.diag())?;
                j.size
            }
        };
        envelope.from.clone_from(&state.decision.from);
        match job {
            JobInput::Parsed(j) => Recipients::Parsed(j.to),
            JobInput::Text(j) => Recipients::Text(j.to),
        }
        .add_to(envelope)?;
        if envelope.to.is_empty() {
            return Err(Id::InvalidArgument);
        }
        envelope.size = size;
        Ok(())
    }

    /// Before the session: which token step comes next.
    fn next_step(&mut self, now: Instant) -> Plan {
        let Some(job) = self.job.as_ref() else {
            return Plan::Idle;
        };
        let owner = job.decision.owner.clone();
        // A token for another account must not sign this job (R-POL).
        if let Some(held) = self.store.account(&owner) {
            if !job.decision.token_fits(held) {
                return match owner {
                    TokenOwner::Admin => self.fail(Id::FromNotTokenAccount),
                    _ => self.need_auth(),
                };
            }
        }
        match self.store.access(now, &owner) {
            Access::Valid(_) if self.settings.transport.is_api() => self.api_connect(),
            Access::Valid(_) => self.smtp_connect(),
            Access::Refresh => Plan::TokenExchange { owner },
            Access::Authenticate => self.need_token(&owner),
        }
    }

    /// The connection to the SMTP server of the settings. Not inlined: the
    /// host name it copies into the plan stays off [`Mailer::next_step`]'s
    /// frame, under every entry point that plans (R-MEM).
    #[inline(never)]
    fn smtp_connect(&mut self) -> Plan {
        match &self.settings.smtp {
            Some(s) => Plan::Connect {
                host: s.host.clone(),
                port: s.port,
                security: s.security,
            },
            None => self.fail(Id::SmtpServerMissing),
        }
    }

    /// The job fails with `diag` ([`Mailer::end_job`], then
    /// [`Plan::Failed`]).
    /// Not inlined: the plan is made on this frame, not on the callers'
    /// (R-MEM).
    #[inline(never)]
    fn fail(&mut self, diag: Id) -> Plan {
        self.end_job();
        Plan::Failed { diag }
    }

    /// The plan becomes [`Plan::Failed`] with `diag` and the job ends, on
    /// this short frame (R-MEM, as [`Mailer::fail`]).
    #[inline(never)]
    fn set_failed(&mut self, diag: Id) {
        self.end_job();
        self.plan = Plan::Failed { diag };
    }

    /// No usable token for `owner`: a sign-in, or, for a token handed in
    /// from outside with no refresh token behind it, a new one to hand in
    /// (R-APP; nobody at the panel can sign in for it).
    fn need_token(&mut self, owner: &TokenOwner) -> Plan {
        if self.app_grant(owner) {
            // App-only: the core asks for the token itself (R-APP).
            Plan::TokenExchange {
                owner: owner.clone(),
            }
        } else if self.store.handed_in(owner) {
            self.fail(Id::HandedTokenExpired)
        } else if !self.store.has_room_for(owner) {
            // Every user slot is taken: said now, not after the user went
            // through a sign-in whose tokens could not be kept.
            self.fail(Id::TokenStoreFull)
        } else {
            self.need_auth()
        }
    }

    fn need_auth(&self) -> Plan {
        let method = self.auth_method();
        match self.job.as_ref() {
            None => Plan::Idle,
            Some(j) => match &j.decision.owner {
                TokenOwner::Admin => Plan::NeedAdminAuth {
                    account: j.decision.account.clone(),
                    method,
                },
                TokenOwner::User(id) => Plan::NeedUserAuth {
                    user: Some(id.clone()),
                    account: j.decision.account.clone(),
                    method,
                },
                TokenOwner::Guest => Plan::NeedUserAuth {
                    user: None,
                    account: j.decision.account.clone(),
                    method,
                },
            },
        }
    }

    /// How the panel signs in with the configured provider: Google does
    /// not allow the device flow for e-mail scopes.
    #[must_use]
    pub fn auth_method(&self) -> AuthMethod {
        self.method
    }

    /// The administrator's **Acquire** in [Configuration OAuth] succeeded on
    /// `client` (after its `AccessToken` event): the tokens are stored for
    /// the administrator's address, the status reads Acquired and the
    /// Information-screen notice clears. When the provider named another
    /// account than that address (R-ACCT), the token is refused with
    /// [`TokenError::AccountMismatch`] and nothing changes.
    pub fn acquire_admin<B: AsMut<[u8]>>(
        &mut self,
        now: Instant,
        wall: Option<WallTime>,
        client: &oauth::Client<B>,
    ) -> Result<(), MailerError> {
        let tokens = client.tokens().ok_or(MailerError::WrongState)?;
        let account = self
            .settings
            .admin_address
            .clone()
            .ok_or(MailerError::AdminAddressMissing)?;
        self.store
            .store_signed_in(
                now,
                wall,
                &TokenOwner::Admin,
                &account,
                TokenGrant::from_response(tokens),
                tokens.account.address(),
            )
            .map_err(MailerError::Token)
    }

    /// Start the refresh grant of [`Plan::TokenExchange`] on `client` (built
    /// from [`Settings::provider_profile`] and
    /// [`Settings::app_registration`]); the refresh token goes from the
    /// store straight into the request. Then drive `client` and feed its
    /// events to [`Mailer::handle_oauth_event`].
    pub fn start_exchange<B: AsMut<[u8]>>(
        &self,
        now: Instant,
        client: &mut oauth::Client<B>,
    ) -> Result<(), MailerError> {
        let token = self.refresh_token().ok_or(MailerError::WrongState)?;
        client
            .start_refresh(now, token.expose())
            .map_err(MailerError::OAuth)
    }

    /// Whether `owner`'s token comes from an app-only grant the core runs
    /// itself (the administrator's, with [`Settings::app_only`]).
    fn app_grant(&self, owner: &TokenOwner) -> bool {
        *owner == TokenOwner::Admin && self.settings.app_only()
    }

    /// Start the token request of [`Plan::TokenExchange`] on `client` (built
    /// from [`Settings::provider_profile`] and
    /// [`Settings::app_registration`]), whatever the administrator's
    /// sign-in ([`Settings::admin_sign_in`], R-APP): the refresh grant of a
    /// delegated sign-in (as [`Mailer::start_exchange`]); for app-only,
    /// the client credentials grant with a certificate assertion or with
    /// the app's client secret; for a Google service account, the JWT
    /// bearer grant for the administrator's mailbox. The certificate and
    /// service-account grants are signed by the firmware: `client` asks for the signature
    /// ([`oauth::Event::SignatureRequired`]; [`oauth::Client::sign_with`]
    /// or `signing_input` / `handle_signature`) before anything is sent.
    /// They need the wall clock (`wall`, else [`OAuthError::ClockNotSet`])
    /// and 16 random octets for the assertion's `jti`. Then feed the
    /// client's events to [`Mailer::handle_oauth_event`] as for a refresh.
    pub fn start_token_request<B: AsMut<[u8]>>(
        &self,
        now: Instant,
        wall: Option<WallTime>,
        jti_random: &[u8; oauth::JTI_LEN],
        client: &mut oauth::Client<B>,
    ) -> Result<(), MailerError> {
        let Plan::TokenExchange { owner } = &self.plan else {
            return Err(MailerError::WrongState);
        };
        if !self.app_grant(owner) {
            return self.start_exchange(now, client);
        }
        self.start_app_grant(now, wall, jti_random, client)
    }

    /// Start the administrator's app-only grant on `client`, as
    /// [`Mailer::start_token_request`] does in a job, outside one: the
    /// administrator's check of an app-only sign-in (the CLI's
    /// `login --app-only`). [`OAuthError::InvalidArgument`] for a delegated
    /// sign-in or incomplete settings.
    pub fn start_app_grant<B: AsMut<[u8]>>(
        &self,
        now: Instant,
        wall: Option<WallTime>,
        jti_random: &[u8; oauth::JTI_LEN],
        client: &mut oauth::Client<B>,
    ) -> Result<(), MailerError> {
        let wall_secs = wall.map_or(0, |w| w.0);
        let started = match self.settings.admin_sign_in {
            AdminSignIn::AppCertificate => {
                let thumbprint =
                    oauth::Thumbprint::parse(&self.settings.app_certificate_thumbprint)
                        .map_err(MailerError::OAuth)?;
                client.start_client_assertion(
                    now,
                    wall_secs,
                    jti_random,
                    &thumbprint,
                    oauth::JwsAlg::Rs256,
                )
            }
            AdminSignIn::ServiceAccount => {
                let (Some(sa), Some(admin)) = (
                    self.settings.service_account.as_ref(),
                    self.settings.admin_address.as_ref(),
                ) else {
                    return Err(MailerError::OAuth(OAuthError::InvalidArgument));
                };
                client.start_service_account(
                    now,
                    wall_secs,
                    &oauth::ServiceAccount {
                        client_email: sa.as_str(),
                        subject: admin,
                        key_id: None,
                    },
                )
            }
            // The client was built with the secret
            // ([`Settings::app_registration`]).
            AdminSignIn::AppSecret => client.start_client_credentials(now),
            AdminSignIn::Delegated => return Err(MailerError::OAuth(OAuthError::InvalidArgument)),
        };
        started.map_err(MailerError::OAuth)
    }

    /// An event of the OAuth client running this job's sign-in
    /// ([`Plan::NeedUserAuth`], [`Plan::NeedAdminAuth`]) or refresh
    /// ([`Plan::TokenExchange`]). The flow's end moves the job on and
    /// returns the next plan: `AccessToken` stores the tokens (a rotated
    /// refresh token is persisted); a refresh's `ReauthRequired` or `Failed`
    /// is classified by [`RefreshFailure::classify`] (a dead grant asks for a
    /// new sign-in, R-TOK-4; a consent or Conditional Access refusal keeps
    /// the token and fails the job with its diagnostic); a sign-in's
    /// failure fails the step. Other events (`UserCode`,
    /// `SlowDown`, `Retrying`, `RefreshTokenRotated`) return `None`: the
    /// driver shows the code or waits.
    pub fn handle_oauth_event<B: AsMut<[u8]>>(
        &mut self,
        now: Instant,
        wall: Option<WallTime>,
        client: &oauth::Client<B>,
        event: oauth::Event,
    ) -> Result<Option<Plan>, MailerError> {
        let moved = self.handle_oauth_event_in_place(now, wall, client, event)?;
        Ok(moved.then(|| self.plan.clone()))
    }

    /// [`Mailer::handle_oauth_event`] that returns no copy of the plan:
    /// `true` when the job moved on (read the plan where it is kept, with
    /// [`Mailer::plan`]; R-MEM: no plan on the callers' frames).
    pub fn handle_oauth_event_in_place<B: AsMut<[u8]>>(
        &mut self,
        now: Instant,
        wall: Option<WallTime>,
        client: &oauth::Client<B>,
        event: oauth::Event,
    ) -> Result<bool, MailerError> {
        let exchange = matches!(self.plan, Plan::TokenExchange { .. });
        let sign_in = matches!(
            self.plan,
            Plan::NeedUserAuth { .. } | Plan::NeedAdminAuth { .. }
        );
        if !exchange && !sign_in {
            return Err(MailerError::WrongState);
        }
        match event {
            oauth::Event::AccessToken { .. } => {
                let tokens = client.tokens().ok_or(MailerError::WrongState)?;
                let grant = TokenGrant::from_response(tokens);
                if exchange {
                    self.exchange_succeeded_in_place(now, wall, grant)?;
                } else {
                    self.auth_succeeded_in_place(now, wall, grant, tokens.account.address())?;
                }
            }
            oauth::Event::ReauthRequired(e) | oauth::Event::Failed(e) if sign_in => {
                self.auth_failed_in_place(e.diag())?;
            }
            ev => match RefreshFailure::of_event(&ev) {
                Some((failure, diag)) => {
                    self.refresh_failed(now, failure, diag)?;
                }
                None => return Ok(false),
            },
        }
        Ok(true)
    }

    /// The sign-in asked by [`Plan::NeedUserAuth`] / [`Plan::NeedAdminAuth`]
    /// succeeded with `grant` (for the plan's account, unverified: the
    /// OAuth client's events, through [`Mailer::handle_oauth_event`], also
    /// carry the account the provider named).
    pub fn auth_succeeded(
        &mut self,
        now: Instant,
        wall: Option<WallTime>,
        grant: TokenGrant<'_>,
    ) -> Result<Plan, MailerError> {
        self.auth_succeeded_as(now, wall, grant, None)
    }

    /// [`Mailer::auth_succeeded`] with `learned`, the account the provider
    /// named (R-ACCT: `client.tokens()`'s `account`): another account than
    /// the plan's fails the job with [`Id::AccountMismatch`] before anything
    /// is sent.
    pub fn auth_succeeded_as(
        &mut self,
        now: Instant,
        wall: Option<WallTime>,
        grant: TokenGrant<'_>,
        learned: Option<&Address>,
    ) -> Result<Plan, MailerError> {
        self.auth_succeeded_in_place(now, wall, grant, learned)?;
        Ok(self.plan.clone())
    }

    /// [`Mailer::auth_succeeded_as`] that returns no copy of the plan: read
    /// it where it is kept, with [`Mailer::plan`] (R-MEM).
    pub fn auth_succeeded_in_place(
        &mut self,
        now: Instant,
        wall: Option<WallTime>,
        grant: TokenGrant<'_>,
        learned: Option<&Address>,
    ) -> Result<(), MailerError> {
        if !matches!(
            self.plan,
            Plan::NeedUserAuth { .. } | Plan::NeedAdminAuth { .. }
        ) {
            return Err(MailerError::WrongState);
        }
        // The job's owner and account borrowed where they are, not cloned
        // onto this frame (R-MEM: 330 octets under the deepest API path).
        let job = self.job.as_ref().ok_or(MailerError::WrongState)?;
        let stored = self.store.store_signed_in(
            now,
            wall,
            &job.decision.owner,
            &job.decision.account,
            grant,
            learned,
        );
        // The next plan written where it is kept (R-MEM, as a refresh's
        // report).
        match stored {
            Ok(()) => self.set_next_step(now),
            Err(e) => self.set_failed(e.diag()),
        }
        self.count_plan();
        Ok(())
    }

    /// The sign-in was cancelled or failed with `diag`.
    pub fn auth_failed(&mut self, diag: Id) -> Result<Plan, MailerError> {
        self.auth_failed_in_place(diag)?;
        Ok(self.plan.clone())
    }

    /// [`Mailer::auth_failed`] that returns no copy of the plan.
    pub fn auth_failed_in_place(&mut self, diag: Id) -> Result<(), MailerError> {
        if !matches!(
            self.plan,
            Plan::NeedUserAuth { .. } | Plan::NeedAdminAuth { .. }
        ) {
            return Err(MailerError::WrongState);
        }
        self.set_failed(diag);
        Ok(())
    }

    /// The refresh grant of [`Plan::TokenExchange`] succeeded. A rotated
    /// refresh token is stored (and a [`StoreEvent::Persist`] follows).
    pub fn exchange_succeeded(
        &mut self,
        now: Instant,
        wall: Option<WallTime>,
        grant: TokenGrant<'_>,
    ) -> Result<Plan, MailerError> {
        self.exchange_succeeded_in_place(now, wall, grant)?;
        Ok(self.plan.clone())
    }

    /// [`Mailer::exchange_succeeded`] that returns no copy of the plan:
    /// read it where it is kept, with [`Mailer::plan`] (R-MEM).
    pub fn exchange_succeeded_in_place(
        &mut self,
        now: Instant,
        wall: Option<WallTime>,
        grant: TokenGrant<'_>,
    ) -> Result<(), MailerError> {
        let Plan::TokenExchange { owner } = &self.plan else {
            return Err(MailerError::WrongState);
        };
        let owner = owner.clone();
        let stored = if self.app_grant(&owner) {
            // No refresh token comes with an app-only token: it is held
            // for the administrator's address (borrowed where the settings
            // keep it) and asked for again later.
            match &self.settings.admin_address {
                Some(admin) => self.store.install_app_token(
                    now,
                    &owner,
                    admin,
                    grant.access_token,
                    grant.expires_in,
                ),
                None => Err(TokenError::AccountMismatch),
            }
        } else {
            self.store.refreshed(now, wall, &owner, grant).map(drop)
        };
        if let Err(e) = stored {
            return self.refresh_failed(now, RefreshFailure::Transient, e.diag());
        }
        if self.client.is_some() {
            self.retry_in_session(now, &owner);
        } else {
            self.set_next_step(now);
        }
        self.count_plan();
        Ok(())
    }

    /// The refresh grant of [`Plan::TokenExchange`] ended without tokens, as
    /// the OAuth client reported it: `grant_refused` for its
    /// `ReauthRequired` event, `false` for `Failed` (or a flow that could
    /// not start); `diag` is the event's diagnostic. The core decides what
    /// it means ([`RefreshFailure::classify`], R-ENGINE): a dead grant
    /// erases the token and asks for a new sign-in (R-TOK-4); a consent or
    /// Conditional Access refusal keeps the token and fails the job with
    /// that diagnostic; anything else keeps the token and fails the job.
    pub fn exchange_failed(
        &mut self,
        now: Instant,
        grant_refused: bool,
        diag: Id,
    ) -> Result<Plan, MailerError> {
        self.exchange_failed_in_place(now, grant_refused, diag)?;
        Ok(self.plan.clone())
    }

    /// [`Mailer::exchange_failed`] that returns no copy of the plan.
    pub fn exchange_failed_in_place(
        &mut self,
        now: Instant,
        grant_refused: bool,
        diag: Id,
    ) -> Result<(), MailerError> {
        self.refresh_failed(now, RefreshFailure::classify(grant_refused, diag), diag)
    }

    fn refresh_failed(
        &mut self,
        now: Instant,
        failure: RefreshFailure,
        diag: Id,
    ) -> Result<(), MailerError> {
        let Plan::TokenExchange { owner } = &self.plan else {
            return Err(MailerError::WrongState);
        };
        let owner = owner.clone();
        // An app-only grant refused: no refresh token to erase and no one
        // to sign in again; the flow's own diagnostic says what to fix.
        let failure = if self.app_grant(&owner) {
            RefreshFailure::Refused
        } else {
            failure
        };
        self.store.refresh_failed(&owner, failure);
        let diag = refresh_failure_diag(failure, &owner, diag);
        // Each plan written where it is kept, on a short frame of its own
        // (R-MEM: no plan made on this frame).
        if self.client.is_some() {
            // Mid-session: end the session; the result follows its close,
            // and the refusal that started the refresh (the `535`) stays
            // the reply that decided the job.
            if let Some(j) = self.job.as_mut() {
                j.result = Some(Plan::Failed { diag });
            }
            self.end_session(now, Err(diag));
            self.plan = Plan::Session;
        } else if failure == RefreshFailure::InvalidGrant {
            // Before the session: someone must sign in again (R-TOK-6).
            self.set_need_auth();
        } else {
            self.set_failed(diag);
        }
        self.count_plan();
        Ok(())
    }

    /// The connection of [`Plan::Connect`] is open (TLS up for implicit
    /// TLS); `ehlo_domain` is the printer's host name or address literal.
    /// The SMTP session starts with the message queued.
    pub fn connected(&mut self, now: Instant, ehlo_domain: &str) -> Result<Plan, MailerError> {
        self.connected_in_place(now, ehlo_domain)?;
        Ok(self.plan.clone())
    }

    /// [`Mailer::connected`] that returns no copy of the plan: read it
    /// where it is kept, with [`Mailer::plan`] (R-MEM).
    pub fn connected_in_place(
        &mut self,
        now: Instant,
        ehlo_domain: &str,
    ) -> Result<(), MailerError> {
        let Plan::Connect { .. } = &self.plan else {
            return Err(MailerError::WrongState);
        };
        let owner = match self.job.as_ref() {
            Some(job) => &job.decision.owner,
            None => return Err(MailerError::WrongState),
        };
        match self.store.access(now, owner) {
            Access::Valid(_) => {}
            // Expired between the plan and the connection: refresh first.
            Access::Refresh => {
                self.plan = Plan::TokenExchange {
                    owner: owner.clone(),
                };
                self.count_plan();
                return Ok(());
            }
            Access::Authenticate => {
                let owner = owner.clone();
                self.plan = self.need_token(&owner);
                self.count_plan();
                return Ok(());
            }
        }
        self.start_session(now, ehlo_domain);
        self.count_plan();
        Ok(())
    }

    /// The connection of [`Plan::Connect`] is open and the token valid:
    /// the session is reset where the mailer keeps it, its settings written
    /// in place (R-MEM), the token lent by its length (its octets stay in
    /// the store, read at each AUTH transmit) and the job's envelope, staged
    /// in the session's own place, submitted: no copy of any of them. Not
    /// inlined: its locals stay off the callers' frames.
    #[inline(never)]
    fn start_session(&mut self, now: Instant, ehlo_domain: &str) {
        if self.settings.transport.is_api() {
            self.start_api_session();
            return;
        }
        let (
            Plan::Connect {
                host,
                port,
                security,
            },
            Some(job),
        ) = (&self.plan, self.job.as_ref())
        else {
            return;
        };
        if job.api_message.is_some() {
            // The job's first request went through a mail API, which took
            // its staged envelope: the transport changed during the job,
            // which must be submitted again.
            self.set_failed(Id::WrongState);
            return;
        }
        let server = (*security, ehlo_domain, host.as_str(), *port);
        let client = match self.client.start(now, server, &job.decision.account) {
            Ok(c) => c,
            Err(e) => {
                self.client.end();
                self.set_failed(e.diag());
                return;
            }
        };
        let owner = &job.decision.owner;
        let lent = match self.store.access(now, owner) {
            Access::Valid(t) => client.lend_token(now, t.len()).map_err(|e| e.diag()),
            _ => Err(Id::WrongState),
        };
        let submitted = lent.and_then(|()| match self.job.as_ref() {
            Some(_) => client.send_staged(now).map_err(|e| e.diag()),
            None => Err(Id::WrongState),
        });
        self.plan = match submitted {
            Ok(()) => Plan::Session,
            Err(diag) => {
                self.client.end();
                self.fail(diag)
            }
        };
    }

    /// Which mail API the settings' transport names.
    fn api_kind(&self) -> api::Api {
        match self.settings.transport {
            crate::config::Transport::Graph => api::Api::Graph,
            _ => api::Api::Gmail,
        }
    }

    /// Where the mail API of the settings' transport is (R-XPORT): the API
    /// URL when one is set, otherwise the provider's (Graph in the
    /// Microsoft cloud set, `gmail.googleapis.com`). Borrowed from the
    /// settings, so nothing is copied onto the callers' frames (R-MEM).
    fn api_target(s: &Settings) -> Result<crate::provider::UrlParts<'_>, Id> {
        use crate::provider::UrlParts;
        let preset = |host| UrlParts {
            host,
            port: 443,
            path: "/",
            tls: true,
        };
        let target = if !s.api_url.is_empty() {
            UrlParts::parse(&s.api_url).ok().filter(|u| u.tls)
        } else {
            match s.provider {
                crate::config::ProviderKind::Microsoft => {
                    Some(preset(s.microsoft_cloud.graph_host()))
                }
                crate::config::ProviderKind::Google => Some(preset("gmail.googleapis.com")),
                _ => None,
            }
        };
        target.ok_or(Id::ApiUrlInvalid)
    }

    /// The API throttled the request (`429`, `503`): unless it has done
    /// so [`MAX_API_RETRIES`] times, or asks for more than
    /// [`MAX_API_RETRY_WAIT`], the request is asked again on a new
    /// connection once its `Retry-After` (or a doubling wait from
    /// [`API_RETRY_BASE_WAIT`]) has passed. Nothing was taken: with
    /// `Expect: 100-continue` the body was not even sent.
    #[inline(never)]
    fn api_retry(&mut self, now: Instant) -> bool {
        let asked = self
            .client
            .api()
            .and_then(api::Session::retry_after_secs)
            .map(|s| Duration::from_secs(u64::from(s)));
        let Some(job) = self.job.as_mut() else {
            return false;
        };
        if job.throttled >= MAX_API_RETRIES {
            return false;
        }
        let wait = asked.unwrap_or(Duration::from_millis(
            API_RETRY_BASE_WAIT.as_millis() << job.throttled,
        ));
        if wait > MAX_API_RETRY_WAIT {
            return false;
        }
        job.throttled += 1;
        job.not_before = Some(now + wait);
        self.api_reconnect();
        true
    }

    /// The API session is over and the job goes on over a new connection
    /// (a retry, a resumed upload, Graph's next host): its plan. Not
    /// inlined: the plan is made on this frame (R-MEM).
    #[inline(never)]
    fn api_reconnect(&mut self) -> Step {
        self.client.end();
        self.plan = self.api_connect();
        self.count_plan();
        Step::PlanChanged
    }

    /// The session is over: the job ends with the result recorded, or
    /// [`Plan::Failed`] with `diag` when none was. Not inlined (R-MEM, as
    /// [`Mailer::api_reconnect`]).
    #[inline(never)]
    fn session_over(&mut self, diag: Id) -> Step {
        // The recorded result is exchanged with the plan where both are
        // kept, not taken out onto this frame (R-MEM).
        match self.job.as_mut().and_then(|j| j.result.as_mut()) {
            Some(result) => core::mem::swap(&mut self.plan, result),
            None => self.plan = Plan::Failed { diag },
        }
        self.end_job();
        Step::PlanChanged
    }

    /// When a throttled API request of the running job is asked again
    /// (R-XPORT): for the panel ("waiting for the server").
    #[must_use]
    pub fn api_retry_at(&self) -> Option<Instant> {
        self.job.as_ref().and_then(|j| j.not_before)
    }

    /// Before an API session: the connection to open, with TLS from the
    /// start (the token goes in the request's head): Graph's upload URL's
    /// host for a chunk, else the API's. Only a dispatch: each target's
    /// host name is copied into the plan on a frame of its own, not one
    /// under the other on the frames of `submit` and the other callers
    /// (R-MEM).
    fn api_connect(&mut self) -> Plan {
        // A message the API cannot take fails before a connection is
        // opened for nothing (its size may also come later, with
        // `set_message_size`: the session checks it again).
        let size = self.api_message().ok().map(|(size, _)| size);
        if let Some(Err(diag)) = size.map(|n| api::Session::check_size(self.api_kind(), n)) {
            return self.fail(diag);
        }
        if self.client.api().is_some_and(|a| a.next_target().is_some()) {
            self.upload_connect()
        } else {
            self.api_host_connect()
        }
    }

    /// An API job's message size and recipient count: read from the staged
    /// envelope for the job's first request, kept in the job for the next
    /// ones (the place holds the API session from then on, the envelope
    /// wiped with the SMTP session). `MessageSizeRequired` while the size
    /// is not known yet.
    fn api_message(&mut self) -> Result<(u64, usize), Id> {
        if let Some(kept) = self.job.as_ref().and_then(|j| j.api_message) {
            return Ok(kept);
        }
        let envelope = self.client.staged().ok_or(Id::WrongState)?;
        let size = envelope.size.ok_or(Id::MessageSizeRequired)?;
        Ok((size, envelope.to.len()))
    }

    /// The connection to the API's host ([`Mailer::api_target`]).
    #[inline(never)]
    fn api_host_connect(&mut self) -> Plan {
        let target = Self::api_target(&self.settings).and_then(|t| {
            let host = HostName::try_from(t.host).map_err(|_| Id::ApiUrlInvalid)?;
            Ok((host, t.port))
        });
        match target {
            Ok((host, port)) => Plan::Connect {
                host,
                port,
                security: Security::ImplicitTls,
            },
            Err(diag) => self.fail(diag),
        }
    }

    /// The connection to Graph's upload URL's host.
    #[inline(never)]
    fn upload_connect(&mut self) -> Plan {
        let host = self
            .client
            .api()
            .and_then(api::Session::next_target)
            .and_then(|(h, p)| Some((HostName::try_from(h).ok()?, p)));
        match host {
            Some((host, port)) => Plan::Connect {
                host,
                port,
                security: Security::ImplicitTls,
            },
            None => self.fail(Id::ApiUnexpectedResponse),
        }
    }

    /// The connection of [`Plan::Connect`] is open with TLS and the token
    /// valid: the API request starts with the job's staged envelope (its
    /// size and recipients). An app-only token sends as the job's From
    /// mailbox (`/users/{address}`), a delegated one as its own (`/me`).
    /// Not inlined: the target stays off the callers' frames (R-MEM).
    #[inline(never)]
    fn start_api_session(&mut self) {
        let Some(owner) = self.job.as_ref().map(|j| j.decision.owner.clone()) else {
            return;
        };
        let app_only = self.app_grant(&owner);
        let message = self.api_message();
        let target = Self::api_target(&self.settings);
        let api = self.api_kind();
        let started = match (target, message) {
            (Err(diag), _) | (Ok(_), Err(diag)) => Err(diag),
            (Ok(t), Ok((size, recipients))) => match self.job.as_mut() {
                Some(job) => {
                    job.api_message = Some((size, recipients));
                    // The connection `api_connect` planned: the session
                    // itself sends a chunk to Graph's upload URL's host.
                    self.client.start_api().start(&api::Request {
                        api,
                        host: t.host,
                        port: t.port,
                        base_path: t.path,
                        mailbox: (app_only && api == api::Api::Graph).then_some(&job.decision.from),
                        size,
                        recipients,
                        not_before: job.not_before,
                        // Goes on with the upload the server has started for
                        // this job, if any (forgotten when a job ends).
                        resume: true,
                    })
                }
                None => Err(Id::WrongState),
            },
        };
        self.plan = match started {
            Ok(()) => {
                self.client.api_live = true;
                Plan::Session
            }
            Err(diag) => {
                self.client.end();
                self.fail(diag)
            }
        };
    }

    /// The connection of [`Plan::Connect`] could not be opened.
    pub fn connect_failed(&mut self, diag: Id) -> Result<Plan, MailerError> {
        if !matches!(self.plan, Plan::Connect { .. }) {
            return Err(MailerError::WrongState);
        }
        self.set_failed(diag);
        Ok(self.plan.clone())
    }

    /// Abandon the job (the panel's Stop): the session is dropped and the
    /// job fails with `diag`.
    pub fn cancel(&mut self, now: Instant, diag: Id) -> Plan {
        self.client.quit(now);
        if self.job.is_some() {
            self.set_failed(diag);
        }
        self.plan.clone()
    }

    /// The next thing to act on: store notices and persistence first, then
    /// the SMTP session's events, which the mailer also acts on (send the
    /// message, refresh once after a rejected token, QUIT after the result).
    #[must_use]
    pub fn poll_event(&mut self, now: Instant) -> Option<Step> {
        if let Some(e) = self.store.poll_event() {
            return Some(Step::Store(e));
        }
        let event = self.client.poll_event()?;
        match event {
            Event::AuthRejected {
                diag,
                refresh_and_retry,
                ..
            } => {
                let retry = refresh_and_retry && self.job.as_ref().is_some_and(|j| !j.retried);
                if retry {
                    if let Some(j) = self.job.as_mut() {
                        j.retried = true;
                        let owner = j.decision.owner.clone();
                        self.store.token_rejected(&owner);
                        if self.store.refresh_token(&owner).is_some() || self.app_grant(&owner) {
                            self.plan = Plan::TokenExchange { owner };
                            self.count_plan();
                            return Some(Step::PlanChanged);
                        }
                    }
                }
                self.end_session(now, Err(diag));
                Some(Step::Smtp(event))
            }
            Event::MessageSent {
                code,
                accepted,
                refused,
            } => {
                self.end_session(now, Ok((code, accepted, refused)));
                Some(Step::Smtp(event))
            }
            Event::MessageFailed {
                error:
                    smtp::Error::Api {
                        diag: Id::ApiThrottled,
                        ..
                    },
            } if self.client.api_live && self.api_retry(now) => Some(Step::PlanChanged),
            Event::Failed {
                error: smtp::Error::ConnectionClosed { .. },
            } if self.client.api_live
                && self
                    .client
                    .api()
                    .is_some_and(api::Session::closed_before_sending)
                && self.job.as_ref().is_some_and(|j| j.not_before.is_some()) =>
            {
                // Closed while the request waited out `Retry-After`, before
                // any octet of it: the same wait on a new connection.
                Some(self.api_reconnect())
            }
            Event::Failed { error }
                if self.client.api_live
                    && !error.from_reply()
                    && self.client.api().is_some_and(api::Session::resumable)
                    && self
                        .job
                        .as_ref()
                        .is_some_and(|j| j.resumes < MAX_API_RESUMES) =>
            {
                // A resumable upload lost its connection: a new one asks
                // the server what it has and sends the rest (R-XPORT).
                if let Some(j) = self.job.as_mut() {
                    j.resumes += 1;
                }
                Some(self.api_reconnect())
            }
            Event::MessageFailed { error } => {
                if !error.from_reply() {
                    // Refused before MAIL (SIZE, SMTPUTF8): the latest
                    // reply, the `235` to AUTH, is not the reason.
                    self.last_reply.get_or_insert(None);
                }
                self.end_session(now, Err(error.diag()));
                Some(Step::Smtp(event))
            }
            Event::Failed { error } => {
                if !error.from_reply() {
                    // No reply decided this (a close, a timeout, TLS): the
                    // session's last reply, such as the `220` to STARTTLS,
                    // is not kept as the reason.
                    self.client.end();
                }
                Some(self.session_over(error.diag()))
            }
            Event::Closed
                if self.client.api_live
                    && self
                        .client
                        .api()
                        .is_some_and(api::Session::wants_connection) =>
            {
                // Graph's path goes on over a new connection (the upload
                // URL's host, or back to Graph's): not the job's end.
                Some(self.api_reconnect())
            }
            Event::Closed => {
                // The deciding reply, if any, was kept when the result was
                // (not the `221` to QUIT).
                self.client.end();
                Some(self.session_over(Id::ConnectionClosed))
            }
            other => Some(Step::Smtp(other)),
        }
    }

    // ----- the SMTP session's link, during Plan::Session -----

    /// Octets received from the SMTP server: [`smtp::Session::handle_input`]
    /// on the job's session; returns how many were taken (the rest is
    /// offered again later, or dropped after the `220` to STARTTLS).
    pub fn handle_smtp_input(&mut self, now: Instant, data: &[u8]) -> Result<usize, MailerError> {
        if let Some(a) = self.client.api_mut() {
            return Ok(a.handle_input(now, data));
        }
        Ok(self.session()?.handle_input(now, data))
    }

    /// TLS is up on the SMTP connection after [`Event::UpgradeTls`]:
    /// [`smtp::Session::handle_tls_established`] (`WrongState` when no
    /// handshake was asked for).
    pub fn handle_smtp_tls_established(&mut self, now: Instant) -> Result<(), MailerError> {
        self.session()?
            .handle_tls_established(now)
            .map_err(|_| MailerError::WrongState)
    }

    /// The TLS handshake asked by [`Event::UpgradeTls`] failed for the TLS
    /// stack's reason `diag` (a refused certificate, no version in common):
    /// [`smtp::Session::handle_tls_failed`]; the job fails with `diag`, not
    /// "connection closed".
    pub fn handle_smtp_tls_failed(&mut self, now: Instant, diag: Id) -> Result<(), MailerError> {
        self.session()?.handle_tls_failed(now, diag);
        Ok(())
    }

    /// The SMTP connection closed, or a write to it failed:
    /// [`smtp::Session::handle_close`].
    pub fn handle_smtp_close(&mut self, now: Instant) -> Result<(), MailerError> {
        if let Some(a) = self.client.api_mut() {
            a.handle_close(now);
            return Ok(());
        }
        self.session()?.handle_close(now);
        Ok(())
    }

    /// `now` reached [`Mailer::poll_smtp_timeout`]'s deadline:
    /// [`smtp::Session::handle_timeout`] (earlier calls do nothing).
    pub fn handle_smtp_timeout(&mut self, now: Instant) -> Result<(), MailerError> {
        if let Some(a) = self.client.api_mut() {
            a.handle_timeout(now);
            return Ok(());
        }
        self.session()?.handle_timeout(now);
        Ok(())
    }

    /// When to call [`Mailer::handle_smtp_timeout`] (`None`: no reply
    /// awaited): [`smtp::Client::poll_timeout`].
    pub fn poll_smtp_timeout(&self) -> Result<Option<Instant>, MailerError> {
        if self.client.api_live {
            return Ok(self.client.api().and_then(api::Session::poll_timeout));
        }
        self.client
            .as_ref()
            .map(smtp::Session::poll_timeout)
            .ok_or(MailerError::WrongState)
    }

    /// The next octets to send to the SMTP server, written into `out`
    /// (`None`: nothing now): [`smtp::Session::poll_transmit`]; a transmit
    /// that carries the token says so (`sensitive`).
    #[must_use = "the octets written must be sent"]
    pub fn poll_smtp_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<Transmit>, MailerError> {
        // The token AUTH carries is read where the store keeps it: the
        // session holds no copy (R-MEM).
        let owner = self.job.as_ref().map(|j| &j.decision.owner);
        let token = owner
            .and_then(|o| self.store.lent_token(o))
            .unwrap_or_default();
        if let Some(a) = self.client.api_mut() {
            return Ok(a.poll_transmit(now, out, token)?);
        }
        let session = self.client.as_mut().ok_or(MailerError::WrongState)?;
        Ok(session.poll_transmit(now, out, token)?)
    }

    /// After [`Event::ReadyForBody`]: body octets from `input` encoded into
    /// `out` for the wire ([`smtp::Session::write_body`]); send
    /// `out[..written]` and offer the input past `consumed` again.
    pub fn write_smtp_body(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<BodyProgress, MailerError> {
        if let Some(a) = self.client.api_mut() {
            return Ok(a.write_body(input, out)?);
        }
        Ok(self.session()?.write_body(input, out)?)
    }

    /// [`Mailer::write_smtp_body`] for a canonical body (CRLF line ends, no
    /// line starting with a dot: the composer's output):
    /// [`smtp::Session::write_body_canonical`].
    pub fn write_smtp_body_canonical(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<BodyProgress, MailerError> {
        if let Some(a) = self.client.api_mut() {
            return Ok(a.write_body_canonical(input, out)?);
        }
        Ok(self.session()?.write_body_canonical(input, out)?)
    }

    /// The whole body was written: the session queues the end of data
    /// ([`smtp::Session::finish_body`]).
    pub fn finish_smtp_body(&mut self, now: Instant) -> Result<(), MailerError> {
        if let Some(a) = self.client.api_mut() {
            return Ok(a.finish_body(now)?);
        }
        Ok(self.session()?.finish_body(now)?)
    }

    // ----- internals -----

    /// The job moved on to the plan just written: every plan of a job is
    /// counted, and one that goes through more than [`MAX_PLANS`] is failed
    /// instead (the session, if any, dropped), so no driver loops forever
    /// on a job that never ends (R-ENGINE). The plan is written in place by
    /// the caller, not passed here (R-MEM: a plan with its addresses is
    /// 600 octets, and one passed by value stayed on each caller's frame).
    fn count_plan(&mut self) {
        let over = match self.job.as_mut() {
            Some(j) => {
                j.plans = j.plans.saturating_add(1);
                usize::from(j.plans) > MAX_PLANS
            }
            None => false,
        };
        if over {
            self.set_failed(Id::WrongState);
        }
    }

    /// A token was refreshed during the session: the plan that retries
    /// with it, written in place.
    fn retry_in_session(&mut self, now: Instant, owner: &TokenOwner) {
        if self.client.api_live {
            // The API request was refused before its body: it is asked
            // again on a new connection with the new token (R-XPORT).
            self.client.end();
            self.set_next_step(now);
            return;
        }
        // Straight from the store into the client: no copy in between.
        let retried = match (self.store.access(now, owner), self.client.as_mut()) {
            (Access::Valid(t), Some(c)) => c.relend_token(now, t.len()).is_ok(),
            _ => false,
        };
        if !retried {
            self.end_session(now, Err(Id::TokenRejected));
        }
        self.plan = Plan::Session;
    }

    /// The plan becomes the job's next step ([`Mailer::next_step`]). Not
    /// inlined: the plan is made on this frame, not on the callers'
    /// (R-MEM).
    #[inline(never)]
    fn set_next_step(&mut self, now: Instant) {
        self.plan = self.next_step(now);
    }

    /// The plan becomes a sign-in ([`Mailer::need_auth`]), on a short frame
    /// of its own (R-MEM, as [`Mailer::set_next_step`]).
    #[inline(never)]
    fn set_need_auth(&mut self) {
        self.plan = self.need_auth();
    }

    /// Record the job's result, [`Plan::Done`] with the final reply's
    /// code and the recipients accepted and refused, or [`Plan::Failed`]
    /// with its diagnostic, and QUIT; the result is reported on close. Not
    /// inlined, and given the result's parts, not a plan: the plan (350
    /// octets) is made on this short frame, not on
    /// [`Mailer::poll_event`]'s (R-MEM).
    #[inline(never)]
    fn end_session(&mut self, now: Instant, result: Result<(ReplyCode, usize, usize), Id>) {
        if let Some(j) = self.job.as_mut() {
            j.result.get_or_insert(match result {
                Ok((reply, accepted, refused)) => Plan::Done {
                    reply,
                    accepted,
                    refused,
                },
                Err(diag) => Plan::Failed { diag },
            });
        }
        if self.client.is_some() {
            self.keep_last_reply();
            self.client.quit(now);
        }
    }

    /// The session's last reply kept as the one that decided the job,
    /// unless one already was (R-DIAG). Not inlined: the reply's copy
    /// stays on this frame (R-MEM).
    #[inline(never)]
    fn keep_last_reply(&mut self) {
        if self.last_reply.is_none() {
            self.last_reply = Some(self.client.last_reply().cloned());
        }
    }

    /// The job is over (its result is the plan the caller sets): the
    /// session (and its token copy) is dropped and a public user's tokens
    /// are wiped. Takes no plan and gives none back: a plan (350 octets)
    /// is written where the mailer keeps it, not passed through frames
    /// (R-MEM).
    fn end_job(&mut self) {
        self.keep_last_reply();
        // Dropped in place (no move of a session, 7 KB, to the stack).
        self.client.end_job();
        // Dropped in place too, not taken out (a 4.7 KB move, R-MEM).
        let guest = self
            .job
            .as_ref()
            .is_some_and(|j| j.decision.owner == TokenOwner::Guest);
        self.job.clear();
        if guest {
            self.store.job_finished();
        }
    }
}

#[cfg(all(test, feature = "oauth"))]
mod account_tests;
#[cfg(all(test, feature = "oauth"))]
mod in_place_tests;
#[cfg(all(test, feature = "oauth"))]
mod settings_persist_tests;
#[cfg(all(test, feature = "oauth"))]
mod tests;

#[cfg(all(test, not(feature = "oauth")))]
mod tests_without_oauth {
    use super::*;

    #[test]
    fn every_job_answers_not_available() {
        // R-RULE-7.
        let mut m = Mailer::new(Settings::default(), TokenStore::new());
        let to = [Address::parse("bob@fabrikam.com").unwrap()];
        let job = Job {
            function: Function::ScanToEmail,
            user: None,
            from: None,
            to: &to,
            size: None,
        };
        assert_eq!(
            m.submit(Instant::ZERO, &job).unwrap(),
            Plan::Failed {
                diag: Id::NotAvailable
            }
        );
    }
}
