//! The submission session state machine: [`Session`], its construction,
//! the input and output pumping and the timers; [`Client`] is a session
//! with its own copy of the access token (`lent.rs`).
//!
//! `Session` is one type whose `impl` is split by phase, so that each file
//! reads as one part of the session (R-ENGINE layering, issue 15):
//! - here: the session itself (greeting, EHLO, STARTTLS, QUIT), the reply
//!   reader, the command queues and their emission, the deadlines;
//! - `auth.rs`: AUTH with XOAUTH2 or OAUTHBEARER, the two-step AUTH and the
//!   `334` challenges, the token lent and wiped, the retry;
//! - `transaction.rs`: MAIL, RCPT, DATA or BDAT, the body stream and the
//!   message's result.
//!
//! The octets of each command line are written by `wire::smtp_cmd`, which
//! knows nothing of the session.

use heapless::{Deque, Vec};

use super::classify::classify;
use super::event::{Error, Event, Stage, SubmitError};
use super::settings::{Security, Settings};
use crate::address::Address;
use crate::diag::Id;
use crate::limits::{MAX_RECIPIENTS, MAX_REPLY_LINE_LEN, SMTP_EVENT_QUEUE};
use crate::time::{Duration, Instant};
use crate::wire::dot_stuff::DotStuffer;
use crate::wire::ehlo::Capabilities;
use crate::wire::reply::{split_line, Reply, ReplyAssembler, ReplyCode};
use crate::wire::sasl::Mechanism;
use crate::wire::smtp_cmd::Command;
use crate::wire::BufferTooSmall;

mod auth;
mod lent;
mod message;
mod transaction;

use auth::AuthStep;
pub use auth::MAX_AUTH_ATTEMPTS;
pub use lent::Client;
pub use transaction::BodyProgress;

/// Commands queued or awaiting replies at once: MAIL, every RCPT, DATA,
/// and room for RSET/QUIT.
const PIPELINE: usize = MAX_RECIPIENTS + 4;

/// One write for the driver: `out[..len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use]
pub struct Transmit {
    /// Octets written at the start of the buffer.
    pub len: usize,
    /// The octets carry the access token: never log them, and send them
    /// only on the TLS connection (the client guarantees TLS is up).
    pub sensitive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Greeting,
    Ehlo,
    StartTls,
    TlsHandshake,
    /// TLS and EHLO done; AUTH waits for the token ([`Client::set_token`],
    /// [`Session::lend_token`]).
    AwaitToken,
    Auth(AuthStep),
    AuthFailed,
    Ready,
    Transaction,
    Body,
    /// A chunked transaction failed while the body was being sent: wait
    /// for the replies to the chunks already sent, then RSET.
    BdatDrain,
    DataEnd,
    Rset,
    Quit,
    Closed,
}

/// A command waiting to be written: a description, not octets. When its
/// turn comes, [`Session::write_cmd`] gives it what it carries (envelope,
/// token, capabilities) as a [`Command`] and writes it into the caller's
/// buffer, resuming at the same octet if the buffer fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
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
    const fn is_sensitive(self) -> bool {
        matches!(self, Cmd::AuthInitial | Cmd::AuthResponse)
    }
}

/// Which reply is expected next, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Greeting,
    Ehlo,
    StartTls,
    Auth,
    Mail,
    Rcpt(u8),
    Data,
    DataEnd,
    Rset,
    Quit,
}

impl Expect {
    const fn stage(self) -> Stage {
        match self {
            Expect::Greeting => Stage::Greeting,
            Expect::Ehlo => Stage::Ehlo,
            Expect::StartTls => Stage::StartTls,
            Expect::Auth => Stage::Auth,
            Expect::Mail => Stage::Mail,
            Expect::Rcpt(_) => Stage::Rcpt,
            Expect::Data => Stage::Data,
            Expect::DataEnd => Stage::DataEnd,
            Expect::Rset => Stage::Rset,
            Expect::Quit => Stage::Quit,
        }
    }

    /// The reply a command waits for; `BDAT` replies are counted instead
    /// (a streamed body has as many chunks as it needs).
    const fn of(cmd: Cmd) -> Option<Expect> {
        Some(match cmd {
            Cmd::Ehlo => Expect::Ehlo,
            Cmd::StartTls => Expect::StartTls,
            Cmd::AuthInitial | Cmd::AuthBare | Cmd::AuthResponse | Cmd::AuthAck => Expect::Auth,
            Cmd::Mail => Expect::Mail,
            Cmd::Rcpt(i) => Expect::Rcpt(i),
            Cmd::Data => Expect::Data,
            Cmd::Terminator { .. } => Expect::DataEnd,
            Cmd::Rset => Expect::Rset,
            Cmd::Quit => Expect::Quit,
            Cmd::BdatLast { .. } => return None,
        })
    }
}

/// The transaction in progress.
#[derive(Debug, Clone, Copy, Default)]
struct Txn {
    mail_ok: bool,
    accepted: usize,
    refused: usize,
    failure: Option<Error>,
    /// The body goes in `BDAT` chunks (RFC 3030) instead of `DATA`.
    bdat: bool,
    /// `BDAT` chunks sent (or queued) whose replies have not come yet.
    bdat_due: usize,
}

/// A sans-IO SMTP submission session with OAuth 2.0 authentication, with
/// no copy of the access token: the owner of the token says its length
/// when it lends it ([`Session::lend_token`]) and passes its octets to each
/// [`Session::poll_transmit`], so a firmware that keeps the token elsewhere
/// (the mailer's token store) keeps no second 4 KiB copy (R-MEM).
/// [`Client`] is the session with a token of its own.
///
/// Drive it as the crate documentation's poll-order contract says. Its size
/// is dominated by the envelope (see the README's capacities table); it
/// holds no I/O buffer of its own beyond one reply line.
pub struct Session {
    settings: Settings,
    user: Address,
    /// Octets of the access token lent for AUTH (0: none lent, or AUTH is
    /// over); its octets come with each `poll_transmit`.
    token_len: usize,
    state: State,
    tls: bool,
    caps: Capabilities,
    mechanism: Mechanism,
    auth_attempts: u8,
    envelope: message::Message,
    txn: Txn,
    stuffer: DotStuffer,
    line: Vec<u8, MAX_REPLY_LINE_LEN>,
    assembler: ReplyAssembler,
    last_reply: Option<Reply>,
    /// What the latest `334` error challenge said: (token invalid,
    /// insufficient scope). Decoded from the whole line, not from the
    /// display text, which is cut at `MAX_REPLY_TEXT_LEN`.
    challenge: (bool, bool),
    outbox: Deque<Cmd, PIPELINE>,
    emit_offset: usize,
    expect: Deque<Expect, PIPELINE>,
    in_flight: usize,
    last_progress: Instant,
    events: Deque<Event, SMTP_EVENT_QUEUE>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.state)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("caps", &self.caps)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session on a connection that has just been opened at `now` (with
    /// TLS already up if `settings.security` is [`Security::ImplicitTls`]).
    /// `user` is the mailbox whose access token [`Self::lend_token`] lends.
    #[must_use]
    pub fn new(now: Instant, settings: Settings, user: Address) -> Self {
        let tls = settings.security == Security::ImplicitTls;
        let mut client = Session {
            settings,
            user,
            token_len: 0,
            state: State::Greeting,
            tls,
            caps: Capabilities::default(),
            mechanism: Mechanism::Xoauth2,
            auth_attempts: 0,
            envelope: message::Message::NONE,
            txn: Txn::default(),
            stuffer: DotStuffer::new(),
            line: Vec::new(),
            assembler: ReplyAssembler::new(),
            last_reply: None,
            challenge: (false, false),
            outbox: Deque::new(),
            emit_offset: 0,
            expect: Deque::new(),
            in_flight: 1,
            last_progress: now,
            events: Deque::new(),
        };
        // The greeting is awaited like the reply to a command sent at `now`.
        let _ = client.expect.push_back(Expect::Greeting);
        client
    }

    /// A session with no connection, only a place for one (see
    /// [`Client::reset`]).
    pub(crate) fn idle() -> Self {
        Session::new(Instant::ZERO, Settings::idle(), Address::NONE)
    }

    /// Back to an idle session in place: no connection, no token lent,
    /// no message, an empty envelope staged, the settings idle. For a
    /// place that holds this session from now on
    /// ([`crate::mailer::SessionPlace::hold_smtp`]): whatever it held
    /// before, an all-zero session included, is overwritten.
    pub fn make_idle(&mut self) {
        self.settings.make_idle();
        self.reset_session(Instant::ZERO, &Address::NONE);
        // All zero or unset: a memset in place (`Envelope::EMPTY`).
        self.envelope = message::Message::NONE;
    }

    /// Back to what [`Session::new`] builds, in place, field by field: a
    /// session on a connection just opened at `now`, no token lent. Nothing
    /// the size of the session (5 KB) is built on the stack and moved
    /// (R-MEM): a firmware keeps one session in its storage and resets it
    /// for each connection.
    pub fn reset(&mut self, now: Instant, settings: &Settings, user: &Address) {
        self.settings.clone_from(settings);
        self.reset_session(now, user);
    }

    /// [`Session::reset`] with the settings written in place by `fill`
    /// (typically [`Settings::set_server`], then the mechanism and the
    /// timeouts): nothing the size of the settings is built on the caller's
    /// stack (R-MEM). If `fill` fails, the session is not reset and its
    /// settings must not be used (reset it again before any other call).
    pub fn reset_with<E>(
        &mut self,
        now: Instant,
        user: &Address,
        fill: impl FnOnce(&mut Settings) -> Result<(), E>,
    ) -> Result<(), E> {
        fill(&mut self.settings)?;
        self.reset_session(now, user);
        Ok(())
    }

    /// Everything of [`Session::reset`] but the settings, kept as they are.
    fn reset_session(&mut self, now: Instant, user: &Address) {
        // Destructured without `..`: a new field must be reset here too.
        let Session {
            settings,
            user: user_place,
            token_len,
            state,
            tls,
            caps,
            mechanism,
            auth_attempts,
            envelope,
            txn,
            stuffer,
            line,
            assembler,
            last_reply,
            challenge,
            outbox,
            emit_offset,
            expect,
            in_flight,
            last_progress,
            events,
        } = self;
        *tls = settings.security == Security::ImplicitTls;
        user_place.clone_from(user);
        *token_len = 0;
        *state = State::Greeting;
        *caps = Capabilities::default();
        *mechanism = Mechanism::Xoauth2;
        *auth_attempts = 0;
        envelope.end();
        *txn = Txn::default();
        *stuffer = DotStuffer::new();
        line.clear();
        assembler.reset();
        *last_reply = None;
        *challenge = (false, false);
        outbox.clear();
        *emit_offset = 0;
        expect.clear();
        *in_flight = 1;
        *last_progress = now;
        events.clear();
        // The greeting is awaited like the reply to a command sent at `now`.
        let _ = expect.push_back(Expect::Greeting);
    }

    // ---- getters ------------------------------------------------------

    /// Whether TLS is established on the connection.
    #[must_use]
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether the session is over (close the connection).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether the session is authenticated and idle.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.state == State::Ready && self.envelope.is_none()
    }

    /// The capabilities of the latest EHLO reply.
    #[must_use]
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// The last complete reply from the server (for display and logs; it
    /// never contains anything the client sent).
    #[must_use]
    pub fn last_reply(&self) -> Option<&Reply> {
        self.last_reply.as_ref()
    }

    // ---- inputs -------------------------------------------------------

    /// Feed octets received from the server. Every octet given is taken
    /// (the result is `data.len()`); once closed they are ignored.
    ///
    /// STARTTLS (RFC 3207 §5, the command injection of CVE-2011-0411):
    /// octets that follow the `220` to STARTTLS in plaintext may have been
    /// injected by anyone on the path. They must never be taken as replies
    /// after the upgrade, so the driver must discard them, never keep them
    /// to feed after the handshake. Fed anyway (after the `220` in the
    /// same call, during the handshake, or after
    /// [`Session::handle_tls_established`] before the new EHLO went out, a
    /// reply to nothing), they end the session with
    /// [`Error::PlaintextAfterStartTls`].
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) -> usize {
        if self.state == State::Closed {
            return data.len();
        }
        let leftover = self.state == State::TlsHandshake
            || (self.state == State::Ehlo
                && self.tls
                && self.in_flight == 0
                && self.settings.security == Security::StartTls);
        if leftover {
            if !data.is_empty() {
                self.fail(Error::PlaintextAfterStartTls);
            }
            return data.len();
        }
        let mut consumed = 0;
        while consumed < data.len() {
            let rest = data.get(consumed..).unwrap_or(&[]);
            let (part, end_of_line) = match rest.iter().position(|&b| b == b'\n') {
                Some(lf) => (rest.get(..=lf).unwrap_or(rest), true),
                None => (rest, false),
            };
            consumed += part.len();
            if self.line.extend_from_slice(part).is_err() {
                let stage = self.current_stage();
                self.fail(Error::BadReply {
                    stage,
                    error: crate::wire::reply::ReplyError::LineTooLong,
                });
                return data.len();
            }
            if !end_of_line {
                break;
            }
            self.take_line(now);
            match self.state {
                State::Closed => return data.len(),
                State::TlsHandshake => {
                    if consumed < data.len() {
                        // No handshake for the driver to start: the
                        // session ends here.
                        if self.events.back() == Some(&Event::UpgradeTls) {
                            let _ = self.events.pop_back();
                        }
                        self.fail(Error::PlaintextAfterStartTls);
                        return data.len();
                    }
                    return consumed;
                }
                _ => {}
            }
        }
        consumed
    }

    /// TLS is now established on the connection (after [`Event::UpgradeTls`]).
    pub fn handle_tls_established(&mut self, now: Instant) -> Result<(), SubmitError> {
        if self.state != State::TlsHandshake {
            return Err(SubmitError::WrongState);
        }
        self.tls = true;
        // RFC 3207 §4.2: forget everything learnt before TLS.
        self.caps = Capabilities::default();
        self.state = State::Ehlo;
        self.last_progress = now;
        self.queue(Cmd::Ehlo);
        Ok(())
    }

    /// The server closed the connection (or the driver lost it). Once the
    /// end of data has gone out and before its reply, the message may have
    /// been delivered: the session fails with [`Error::DeliveryUnknown`],
    /// never with a plain "closed, try again".
    pub fn handle_close(&mut self, _now: Instant) {
        match self.state {
            State::Closed => {}
            State::Quit => self.close(),
            _ if self.end_of_data_sent() => self.fail(Error::DeliveryUnknown),
            _ => {
                let stage = self.current_stage();
                self.fail(Error::ConnectionClosed { stage });
            }
        }
    }

    /// The TLS handshake asked by [`Event::UpgradeTls`] failed, for the
    /// driver's reason `diag` (a refused certificate: `CertificateUntrusted`,
    /// `CertificateWrongName`, …): the session fails with
    /// [`Error::TlsFailed`] carrying it. Anywhere else it is a close.
    pub fn handle_tls_failed(&mut self, now: Instant, diag: Id) {
        if self.state == State::TlsHandshake {
            self.fail(Error::TlsFailed { diag });
        } else {
            self.handle_close(now);
        }
    }

    /// Call when `now` has reached [`Self::poll_timeout`]. A deadline
    /// passed once the whole end of data has gone out, before its reply,
    /// is [`Error::TimeoutAfterEndOfData`] (delivery unknown, as for a
    /// close there: the server may have taken the message); before, it is
    /// [`Error::Timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(deadline) = self.poll_timeout() {
            if now >= deadline {
                if self.end_of_data_sent() {
                    self.fail(Error::TimeoutAfterEndOfData);
                } else {
                    let stage = self.current_stage();
                    self.fail(Error::Timeout { stage });
                }
            }
        }
    }

    // ---- mutators -----------------------------------------------------

    /// End the session: QUIT when idle, otherwise abandon it at once (the
    /// driver then closes the connection). Not allowed in the middle of a
    /// body, where QUIT would become message text.
    pub fn quit(&mut self, _now: Instant) -> Result<(), SubmitError> {
        match self.state {
            State::Ready | State::AuthFailed | State::AwaitToken => {
                self.envelope.end();
                self.token_len = 0;
                self.queue(Cmd::Quit);
                self.state = State::Quit;
                Ok(())
            }
            State::Body | State::BdatDrain => Err(SubmitError::WrongState),
            State::Closed | State::Quit => Ok(()),
            _ => {
                self.close();
                Ok(())
            }
        }
    }

    // ---- outputs ------------------------------------------------------

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] must be called, if a reply is awaited.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.in_flight == 0 || matches!(self.state, State::Closed | State::TlsHandshake) {
            return None;
        }
        let timeout = match self.expect.front() {
            Some(&front) => self.timeout_for(front),
            None if self.txn.bdat_due > 0 => self.settings.timeouts.data_end,
            None => return None,
        };
        Some(self.last_progress + timeout)
    }

    /// Write the next octets to send into `out`. Pipelined commands share a
    /// transmit; a command carrying the token travels alone and is marked
    /// `sensitive`. Any buffer size works: a long AUTH line simply takes
    /// several transmits. `token` is the access token lent
    /// ([`Session::lend_token`]), the same octets on every call until AUTH
    /// is over; only AUTH's lines read it.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
        token: &[u8],
    ) -> Result<Option<Transmit>, BufferTooSmall> {
        let (written, sensitive) = self.drain_outbox(now, out, token);
        if written == 0 {
            if !self.outbox.is_empty() && !self.is_closed() {
                return Err(BufferTooSmall { needed: 1 });
            }
            return Ok(None);
        }
        Ok(Some(Transmit {
            len: written,
            sensitive,
        }))
    }

    // ---- internals ----------------------------------------------------

    /// Write queued commands into `out`: (octets written, sensitive).
    fn drain_outbox(&mut self, now: Instant, out: &mut [u8], token: &[u8]) -> (usize, bool) {
        let mut written = 0;
        let mut sensitive = false;
        while let Some(&cmd) = self.outbox.front() {
            if cmd.is_sensitive() && !self.tls {
                // Unreachable by construction; refuse rather than leak.
                self.fail(Error::StartTlsNotOffered);
                return (0, false);
            }
            if written > 0 && (sensitive || cmd.is_sensitive()) {
                break;
            }
            if written == out.len() {
                break;
            }
            let dst = out.get_mut(written..).unwrap_or(&mut []);
            let (n, complete) = self.write_cmd(cmd, self.emit_offset, dst, token);
            written += n;
            sensitive |= cmd.is_sensitive();
            if !complete {
                self.emit_offset += n;
                break;
            }
            self.emit_offset = 0;
            let _ = self.outbox.pop_front();
            self.in_flight += 1;
            self.last_progress = now;
        }
        (written, sensitive)
    }

    fn timeout_for(&self, e: Expect) -> Duration {
        let t = &self.settings.timeouts;
        match e {
            Expect::Greeting => t.greeting,
            Expect::Mail => t.mail,
            Expect::Rcpt(_) => t.rcpt,
            Expect::Data => t.data_init,
            Expect::DataEnd => t.data_end,
            Expect::Ehlo | Expect::StartTls | Expect::Auth | Expect::Rset | Expect::Quit => {
                t.command
            }
        }
    }

    /// The whole end of data of a transaction that has not failed has been
    /// handed to the driver and its reply has not come: the server may
    /// have taken the message. (An end of data still queued, or written in
    /// part, cannot have completed the message.)
    fn end_of_data_sent(&self) -> bool {
        self.state == State::DataEnd
            && self.txn.failure.is_none()
            && !self
                .outbox
                .iter()
                .any(|c| matches!(c, Cmd::Terminator { .. } | Cmd::BdatLast { .. }))
    }

    fn current_stage(&self) -> Stage {
        if let Some(e) = self.expect.front() {
            return e.stage();
        }
        match self.state {
            State::Greeting => Stage::Greeting,
            State::Ehlo => Stage::Ehlo,
            State::StartTls | State::TlsHandshake => Stage::StartTls,
            State::AwaitToken | State::Auth(_) | State::AuthFailed => Stage::Auth,
            State::Ready | State::Transaction => Stage::Mail,
            State::Body | State::BdatDrain | State::DataEnd => Stage::DataEnd,
            State::Rset => Stage::Rset,
            State::Quit | State::Closed => Stage::Quit,
        }
    }

    fn queue(&mut self, cmd: Cmd) {
        // Both queues hold PIPELINE entries and the state machine never has
        // more outstanding; a full queue would be a bug, reported as such.
        let expect_full = match Expect::of(cmd) {
            Some(e) => self.expect.push_back(e).is_err(),
            None => false,
        };
        if self.outbox.push_back(cmd).is_err() || expect_full {
            self.fail(Error::UnexpectedReply {
                code: ReplyCode {
                    code: 0,
                    enhanced: None,
                },
            });
        }
    }

    fn event(&mut self, e: Event) {
        // The queue holds one event per recipient plus the session's own; if
        // a driver never polls, the oldest information is kept.
        let _ = self.events.push_back(e);
    }

    fn fail(&mut self, error: Error) {
        self.event(Event::Failed { error });
        self.shut();
    }

    fn close(&mut self) {
        self.event(Event::Closed);
        self.shut();
    }

    fn shut(&mut self) {
        self.state = State::Closed;
        self.token_len = 0;
        self.outbox.clear();
        self.expect.clear();
        self.in_flight = 0;
        self.envelope.end();
    }

    fn take_line(&mut self, now: Instant) {
        let continuation = self.assembler.in_progress();
        let stage = self.current_stage();
        let in_ehlo = self.expect.front() == Some(&Expect::Ehlo);
        let awaiting_outcome = self.awaiting_auth_outcome();
        // The line is read where it was assembled, not moved onto this
        // frame (R-MEM: a 1 KB line), and cleared once read.
        let parsed = {
            let line_buf = &self.line;
            let line = split_line(line_buf).map_or(&line_buf[..], |(l, _)| l);
            match self.assembler.push_line(line) {
                Err(error) => Err(error),
                Ok((line, reply)) => {
                    if continuation && in_ehlo {
                        self.caps.parse_line(line.text);
                    }
                    if reply.is_some() && line.code == 334 && awaiting_outcome {
                        self.challenge = auth::challenge_flags(line.text);
                    }
                    Ok(reply)
                }
            }
        };
        self.line.clear();
        let reply = match parsed {
            Err(error) => {
                self.fail(Error::BadReply { stage, error });
                return;
            }
            Ok(Some(r)) => r,
            Ok(None) => return,
        };
        let code = reply.code;
        self.last_reply = Some(reply);
        if self.expect.is_empty() && self.txn.bdat_due > 0 {
            // Replies to BDAT chunks come after every queued command's.
            self.in_flight = self.in_flight.saturating_sub(1);
            self.last_progress = now;
            self.on_bdat_reply(now, code);
            return;
        }
        let Some(expect) = self.expect.pop_front() else {
            let error = if code.code == 421 {
                refused(stage, code)
            } else {
                Error::UnexpectedReply { code }
            };
            self.fail(error);
            return;
        };
        self.in_flight = self.in_flight.saturating_sub(1);
        self.last_progress = now;
        if code.code == 421 && expect != Expect::Quit {
            // The server is closing the channel (RFC 5321 §3.8).
            self.fail(refused(expect.stage(), code));
            return;
        }
        self.on_reply(now, expect, code);
    }

    fn on_reply(&mut self, now: Instant, expect: Expect, code: ReplyCode) {
        match expect {
            Expect::Greeting => {
                if code.code == 220 {
                    self.state = State::Ehlo;
                    self.caps = Capabilities::default();
                    self.queue(Cmd::Ehlo);
                } else {
                    self.fail(refused(Stage::Greeting, code));
                }
            }
            Expect::Ehlo => {
                if !code.is_positive() {
                    self.fail(refused(Stage::Ehlo, code));
                } else if !self.tls {
                    // Only StartTls sessions are ever without TLS here.
                    if self.caps.starttls {
                        self.state = State::StartTls;
                        self.queue(Cmd::StartTls);
                    } else {
                        self.fail(Error::StartTlsNotOffered);
                    }
                } else {
                    self.begin_auth();
                }
            }
            Expect::StartTls => {
                if code.code == 220 {
                    self.state = State::TlsHandshake;
                    self.event(Event::UpgradeTls);
                } else {
                    self.fail(refused(Stage::StartTls, code));
                }
            }
            Expect::Auth => self.on_auth_reply(code),
            Expect::Mail | Expect::Rcpt(_) | Expect::Data | Expect::DataEnd | Expect::Rset => {
                self.on_transaction_reply(now, expect, code)
            }
            Expect::Quit => self.close(),
        }
    }

    /// Write `cmd` from octet `skip` into `out`: (octets written, complete).
    fn write_cmd(&self, cmd: Cmd, skip: usize, out: &mut [u8], token: &[u8]) -> (usize, bool) {
        let mechanism = self.mechanism;
        let line = match &cmd {
            Cmd::Ehlo => Command::Ehlo(self.settings.ehlo_domain()),
            Cmd::StartTls => Command::StartTls,
            Cmd::AuthInitial => {
                return self.with_message(token, |m| {
                    Command::Auth {
                        mechanism,
                        initial_response: Some(m),
                    }
                    .write(skip, out)
                });
            }
            Cmd::AuthBare => Command::Auth {
                mechanism,
                initial_response: None,
            },
            Cmd::AuthResponse => {
                return self.with_message(token, |m| Command::AuthResponse(m).write(skip, out));
            }
            Cmd::AuthAck => Command::AuthAck(mechanism),
            Cmd::Mail => self.mail_command(),
            Cmd::Rcpt(i) => Command::Rcpt(
                self.envelope
                    .as_ref()
                    .and_then(|e| e.to.get(usize::from(*i)))
                    .unwrap_or(""),
            ),
            Cmd::Data => Command::Data,
            Cmd::BdatLast { tail, len } => {
                Command::BdatLast(tail.get(..usize::from(*len)).unwrap_or(&[]))
            }
            Cmd::Terminator { bytes, len } => {
                Command::Terminator(bytes.get(..usize::from(*len)).unwrap_or(&[]))
            }
            Cmd::Rset => Command::Rset,
            Cmd::Quit => Command::Quit,
        };
        line.write(skip, out)
    }
}

/// The server refused the command of `stage` with `code`.
fn refused(stage: Stage, code: ReplyCode) -> Error {
    Error::Refused {
        stage,
        code,
        diag: classify(stage, code),
    }
}
