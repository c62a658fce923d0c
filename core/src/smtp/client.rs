//! The submission session state machine.

use heapless::{Deque, Vec};

use super::classify::{classify, refresh_may_help};
use super::emit::{Cmd, Cursor};
use super::event::{BodyError, Error, Event, Stage, SubmitError, TokenError};
use super::settings::{Envelope, MechanismPreference, Security, Settings};
use crate::address::Address;
use crate::diag::Id;
use crate::limits::{
    MAX_RECIPIENTS, MAX_REPLY_LINE_LEN, MIN_BODY_OUT_LEN, SMTP_COMMAND_LINE_LIMIT, SMTP_EVENT_QUEUE,
};
use crate::secret::AccessToken;
use crate::time::{Duration, Instant};
use crate::wire::base64_stream::encoded_len;
use crate::wire::dot_stuff::{DotStuffer, TERMINATOR_MAX};
use crate::wire::ehlo::Capabilities;
use crate::wire::reply::{split_line, Reply, ReplyAssembler, ReplyCode};
use crate::wire::sasl::{decode_error_challenge, oauthbearer, xoauth2, Mechanism, Plaintext};
use crate::wire::BufferTooSmall;

/// AUTH attempts per session: the first, and one retry with a refreshed
/// token (never a loop).
pub const MAX_AUTH_ATTEMPTS: u8 = 2;

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

/// Progress of one [`Client::write_body`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use]
pub struct BodyProgress {
    /// Input octets taken (the rest must be offered again).
    pub consumed: usize,
    /// Output octets to send.
    pub written: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Greeting,
    Ehlo,
    StartTls,
    TlsHandshake,
    /// TLS and EHLO done; AUTH waits for [`Client::set_token`].
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthStep {
    /// `AUTH M` sent, waiting for the `334` go-ahead.
    GoAhead,
    /// Response sent, waiting for `235` (or an error challenge).
    Outcome,
    /// Error challenge acknowledged, waiting for the final failure.
    FinalAfterChallenge {
        token_invalid: bool,
        insufficient_scope: bool,
    },
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

/// A sans-IO SMTP submission session with OAuth 2.0 authentication.
///
/// Drive it as the crate documentation's poll-order contract says. Its size
/// is dominated by the access token and the envelope (see the README's
/// capacities table); it holds no I/O buffer of its own beyond one reply
/// line.
pub struct Client {
    settings: Settings,
    user: Address,
    token: AccessToken,
    state: State,
    tls: bool,
    caps: Capabilities,
    mechanism: Mechanism,
    auth_attempts: u8,
    envelope: Option<Envelope>,
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

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("state", &self.state)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("token", &self.token)
            .field("caps", &self.caps)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A session on a connection that has just been opened at `now` (with
    /// TLS already up if `settings.security` is [`Security::ImplicitTls`]).
    /// `user` is the mailbox whose access token [`Self::set_token`] lends.
    ///
    /// The token is not a parameter: it is copied in by `set_token` once the
    /// client is where it will stay, so no moved copy of it is left behind
    /// (a Rust move does not wipe its source).
    #[must_use]
    pub fn new(now: Instant, settings: Settings, user: Address) -> Self {
        let tls = settings.security == Security::ImplicitTls;
        let mut client = Client {
            settings,
            user,
            token: AccessToken::new(),
            state: State::Greeting,
            tls,
            caps: Capabilities::default(),
            mechanism: Mechanism::Xoauth2,
            auth_attempts: 0,
            envelope: None,
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
        Client::new(Instant::ZERO, Settings::idle(), Address::NONE)
    }

    /// Wipe the token (the session is over).
    pub(crate) fn forget_token(&mut self) {
        self.token.clear();
    }

    /// Back to what [`Client::new`] builds, in place, field by field: a
    /// session on a connection just opened at `now`, no token (the old one
    /// is wiped). Nothing the size of the session (12 KB) is built on the
    /// stack and moved (R-MEM): a firmware keeps one session in its storage
    /// and resets it for each connection.
    pub fn reset(&mut self, now: Instant, settings: &Settings, user: &Address) {
        // Destructured without `..`: a new field must be reset here too.
        let Client {
            settings: settings_place,
            user: user_place,
            token,
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
        settings_place.clone_from(settings);
        user_place.clone_from(user);
        token.clear();
        *state = State::Greeting;
        *caps = Capabilities::default();
        *mechanism = Mechanism::Xoauth2;
        *auth_attempts = 0;
        *envelope = None;
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
    /// [`Client::handle_tls_established`] before the new EHLO went out, a
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

    /// [`Client::send_message`] with the envelope copied from `envelope`
    /// straight into the session (R-MEM: no 4.4 KB envelope moved on the
    /// stack).
    pub fn send_message_from(
        &mut self,
        now: Instant,
        envelope: &Envelope,
    ) -> Result<(), SubmitError> {
        if envelope.to.is_empty() {
            return Err(SubmitError::NoRecipients);
        }
        if self.envelope.is_some() || matches!(self.state, State::Closed | State::Quit) {
            return Err(SubmitError::WrongState);
        }
        let e = self.envelope.insert(Envelope::EMPTY);
        e.from.clone_from(&envelope.from);
        for to in &envelope.to {
            e.add_recipient(to.clone())?;
        }
        e.size = envelope.size;
        if self.state == State::Ready {
            self.start_transaction(now);
        }
        Ok(())
    }

    /// [`Client::send_message`] with the envelope filled by `fill` where
    /// the session keeps it, starting from no sender and no recipient
    /// (R-MEM: no 4.4 KB envelope built on the caller's stack and moved).
    /// The state is checked first; if `fill` fails or adds no recipient,
    /// the session holds no message and the error is returned.
    pub fn send_message_with<E: From<SubmitError>>(
        &mut self,
        now: Instant,
        fill: impl FnOnce(&mut Envelope) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.envelope.is_some() || matches!(self.state, State::Closed | State::Quit) {
            return Err(SubmitError::WrongState.into());
        }
        let e = self.envelope.insert(Envelope::EMPTY);
        let filled = match fill(e) {
            Ok(()) if e.to.is_empty() => Err(SubmitError::NoRecipients.into()),
            other => other,
        };
        if filled.is_err() {
            self.envelope = None;
            return filled;
        }
        if self.state == State::Ready {
            self.start_transaction(now);
        }
        Ok(())
    }

    /// Submit a message. Accepted any time before the session is ready (it
    /// starts once authenticated) or when idle; one message at a time.
    pub fn send_message(&mut self, now: Instant, envelope: Envelope) -> Result<(), SubmitError> {
        if envelope.to.is_empty() {
            return Err(SubmitError::NoRecipients);
        }
        if self.envelope.is_some() || matches!(self.state, State::Closed | State::Quit) {
            return Err(SubmitError::WrongState);
        }
        self.envelope = Some(envelope);
        if self.state == State::Ready {
            self.start_transaction(now);
        }
        Ok(())
    }

    /// Encode body octets from `input` into `out` (at least
    /// [`MIN_BODY_OUT_LEN`] octets); send `out[..written]` as is, then call
    /// again with `input[consumed..]` until all is taken.
    ///
    /// With `DATA` the octets are normalised and dot-stuffed. With `BDAT`
    /// each call writes one chunk, `BDAT <n>` and its octets; a call may
    /// first write the transaction's commands still waiting to go (it then
    /// takes no input), so that they lead the same flight.
    pub fn write_body(&mut self, input: &[u8], out: &mut [u8]) -> Result<BodyProgress, BodyError> {
        self.write_body_as(input, out, false)
    }

    /// [`Client::write_body`] for a body the caller declares canonical:
    /// CRLF line ends only and no line that starts with `.`, as the core
    /// composer ([`crate::mime::Composer`]) produces. Same contract, and
    /// for such a body the same octets on the wire, at a fraction of the
    /// cost: with `BDAT` the octets are copied after the chunk header
    /// unscanned; with `DATA` only the dots are looked at, and one that
    /// starts a line is stuffed all the same, so a body wrongly declared
    /// canonical can never end the message early
    /// ([`DotStuffer::encode_canonical`]). Calls of both kinds may be mixed
    /// within one body.
    pub fn write_body_canonical(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<BodyProgress, BodyError> {
        self.write_body_as(input, out, true)
    }

    fn write_body_as(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        canonical: bool,
    ) -> Result<BodyProgress, BodyError> {
        if self.state != State::Body {
            return Err(BodyError::WrongState);
        }
        if out.len() < MIN_BODY_OUT_LEN {
            return Err(BodyError::BufferTooSmall {
                needed: MIN_BODY_OUT_LEN,
            });
        }
        if !self.txn.bdat {
            let (consumed, written) = if canonical {
                self.stuffer.encode_canonical(input, out)
            } else {
                self.stuffer.encode(input, out)
            };
            return Ok(BodyProgress { consumed, written });
        }
        let (pending, _) = self.drain_outbox(self.last_progress, out);
        if pending > 0 || input.is_empty() {
            return Ok(BodyProgress {
                consumed: 0,
                written: pending,
            });
        }
        // Encode after room for the longest header, then move the octets
        // next to the real header: the chunk's length is known only after
        // normalising. A canonical body keeps its length: its octets go
        // straight after the real header.
        let mut digits = [0u8; 20];
        let room = out.len();
        let header_max = "BDAT \r\n".len() + crate::wire::decimal(room as u64, &mut digits).len();
        let (start, (consumed, n)) = if canonical {
            let take = input.len().min(room.saturating_sub(header_max));
            let at = "BDAT \r\n".len() + crate::wire::decimal(take as u64, &mut digits).len();
            let area = out.get_mut(at..).unwrap_or(&mut []);
            let input = input.get(..take).unwrap_or(input);
            (at, self.stuffer.encode_canonical(input, area))
        } else {
            let area = out.get_mut(header_max..).unwrap_or(&mut []);
            (header_max, self.stuffer.encode(input, area))
        };
        let size = crate::wire::decimal(n as u64, &mut digits);
        let header_len = "BDAT \r\n".len() + size.len();
        if start != header_len {
            out.copy_within(start..start + n, header_len);
        }
        let mut c = Cursor::new(out, 0);
        c.put(b"BDAT ");
        c.put(size);
        c.put(b"\r\n");
        self.txn.bdat_due += 1;
        self.in_flight += 1;
        Ok(BodyProgress {
            consumed,
            written: header_len + n,
        })
    }

    /// The whole body has been written: queue the end of data (`.` after
    /// `DATA`, `BDAT <n> LAST` when chunking), sent by `poll_transmit`.
    pub fn finish_body(&mut self, _now: Instant) -> Result<(), BodyError> {
        if self.state != State::Body {
            return Err(BodyError::WrongState);
        }
        if self.txn.bdat {
            let mut tail = [0u8; 2];
            let len = self.stuffer.end_line(&mut tail) as u8;
            self.queue(Cmd::BdatLast { tail, len });
            self.txn.bdat_due += 1;
            self.state = State::DataEnd;
            return Ok(());
        }
        let mut bytes = [0u8; TERMINATOR_MAX];
        let len = self
            .stuffer
            .finish(&mut bytes)
            .map_err(|BufferTooSmall { needed }| BodyError::BufferTooSmall { needed })?;
        self.queue(Cmd::Terminator {
            bytes,
            len: len as u8,
        });
        self.state = State::DataEnd;
        Ok(())
    }

    /// The storage of the client's copy of the token (tests of wiping).
    #[cfg(all(test, feature = "oauth"))]
    pub(crate) fn token_storage(&self) -> &[u8] {
        self.token.storage()
    }

    /// Lend the access token for `user` (copied into the client, wiped
    /// after AUTH). Call it before AUTH starts, or when
    /// [`Event::NeedToken`] asks for it.
    pub fn set_token(&mut self, now: Instant, token: &[u8]) -> Result<(), TokenError> {
        if matches!(self.state, State::Closed | State::Quit) {
            return Err(TokenError::WrongState);
        }
        if token.is_empty() {
            return Err(TokenError::Empty);
        }
        self.token.set(token).map_err(|_| TokenError::TooLong)?;
        if self.state == State::AwaitToken {
            self.last_progress = now;
            self.start_auth();
        }
        Ok(())
    }

    /// After [`Event::AuthRejected`] with `refresh_and_retry`: try again
    /// with a freshly refreshed token, once.
    pub fn retry_auth(&mut self, _now: Instant, token: &[u8]) -> Result<(), TokenError> {
        if self.state != State::AuthFailed || self.auth_attempts >= MAX_AUTH_ATTEMPTS {
            return Err(TokenError::WrongState);
        }
        if token.is_empty() {
            return Err(TokenError::Empty);
        }
        self.token.set(token).map_err(|_| TokenError::TooLong)?;
        self.start_auth();
        Ok(())
    }

    /// End the session: QUIT when idle, otherwise abandon it at once (the
    /// driver then closes the connection). Not allowed in the middle of a
    /// body, where QUIT would become message text.
    pub fn quit(&mut self, _now: Instant) -> Result<(), SubmitError> {
        match self.state {
            State::Ready | State::AuthFailed | State::AwaitToken => {
                self.envelope = None;
                self.token.clear();
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
    /// several transmits.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<Transmit>, BufferTooSmall> {
        let (written, sensitive) = self.drain_outbox(now, out);
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
    fn drain_outbox(&mut self, now: Instant, out: &mut [u8]) -> (usize, bool) {
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
            let (n, complete) = self.write_cmd(cmd, self.emit_offset, dst);
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
        self.token.clear();
        self.outbox.clear();
        self.expect.clear();
        self.in_flight = 0;
        self.envelope = None;
    }

    fn take_line(&mut self, now: Instant) {
        let line_buf = core::mem::take(&mut self.line);
        let line = split_line(&line_buf).map_or(&line_buf[..], |(l, _)| l);
        let continuation = self.assembler.in_progress();
        let parsed = self.assembler.push_line(line);
        let stage = self.current_stage();
        let reply = match parsed {
            Err(error) => {
                self.fail(Error::BadReply { stage, error });
                return;
            }
            Ok((line, reply)) => {
                if continuation && self.expect.front() == Some(&Expect::Ehlo) {
                    self.caps.parse_line(line.text);
                }
                if reply.is_some()
                    && line.code == 334
                    && self.state == State::Auth(AuthStep::Outcome)
                {
                    // An error challenge (RFC 7628 §3.2.2) on one line of up
                    // to MAX_REPLY_LINE_LEN octets.
                    self.challenge = match decode_error_challenge(line.text) {
                        Ok(c) => (c.token_invalid, c.insufficient_scope),
                        Err(_) => (false, false),
                    };
                }
                match reply {
                    Some(r) => r,
                    None => return,
                }
            }
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
                Error::Refused {
                    stage,
                    code,
                    diag: classify(stage, code),
                }
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
            let stage = expect.stage();
            self.fail(Error::Refused {
                stage,
                code,
                diag: classify(stage, code),
            });
            return;
        }
        self.on_reply(now, expect, code);
    }

    fn on_reply(&mut self, now: Instant, expect: Expect, code: ReplyCode) {
        let refused = |stage: Stage| Error::Refused {
            stage,
            code,
            diag: classify(stage, code),
        };
        match expect {
            Expect::Greeting => {
                if code.code == 220 {
                    self.state = State::Ehlo;
                    self.caps = Capabilities::default();
                    self.queue(Cmd::Ehlo);
                } else {
                    self.fail(refused(Stage::Greeting));
                }
            }
            Expect::Ehlo => {
                if !code.is_positive() {
                    self.fail(refused(Stage::Ehlo));
                } else if !self.tls {
                    // Only StartTls sessions are ever without TLS here.
                    if self.caps.starttls {
                        self.state = State::StartTls;
                        self.queue(Cmd::StartTls);
                    } else {
                        self.fail(Error::StartTlsNotOffered);
                    }
                } else if !self.caps.auth.any_oauth() {
                    self.fail(Error::NoOAuthMechanism);
                } else {
                    self.mechanism = self.choose_mechanism();
                    if self.token.is_empty() {
                        self.state = State::AwaitToken;
                        self.event(Event::NeedToken);
                    } else {
                        self.start_auth();
                    }
                }
            }
            Expect::StartTls => {
                if code.code == 220 {
                    self.state = State::TlsHandshake;
                    self.event(Event::UpgradeTls);
                } else {
                    self.fail(refused(Stage::StartTls));
                }
            }
            Expect::Auth => self.on_auth_reply(code),
            Expect::Mail => {
                if code.is_positive() {
                    self.txn.mail_ok = true;
                    if !self.caps.pipelining {
                        self.queue(Cmd::Rcpt(0));
                    }
                } else {
                    self.txn.failure = Some(refused(Stage::Mail));
                    if !self.caps.pipelining {
                        self.abort_transaction();
                    }
                }
            }
            Expect::Rcpt(i) => {
                if code.is_positive() {
                    self.txn.accepted += 1;
                } else {
                    self.txn.refused += 1;
                    let diag = classify(Stage::Rcpt, code);
                    self.event(Event::RecipientRefused {
                        index: usize::from(i),
                        code,
                        diag,
                    });
                }
                let count = self.envelope.as_ref().map_or(0, |e| e.to.len());
                if self.txn.bdat && usize::from(i) + 1 == count {
                    self.bdat_envelope_answered(now);
                } else if !self.caps.pipelining {
                    if usize::from(i) + 1 < count {
                        self.queue(Cmd::Rcpt(i + 1));
                    } else if self.txn.accepted > 0 {
                        self.queue(Cmd::Data);
                    } else {
                        self.txn.failure = Some(Error::AllRecipientsRefused);
                        self.abort_transaction();
                    }
                }
            }
            Expect::Data => {
                let usable = self.txn.mail_ok && self.txn.accepted > 0;
                if code.code == 354 && usable {
                    self.state = State::Body;
                    self.stuffer = DotStuffer::new();
                    self.event(Event::ReadyForBody);
                } else if code.code == 354 {
                    // Pipelined DATA accepted although nothing can be
                    // delivered: end the empty message at once.
                    if self.txn.failure.is_none() {
                        self.txn.failure = Some(Error::AllRecipientsRefused);
                    }
                    let mut bytes = [0u8; TERMINATOR_MAX];
                    if let Some(t) = bytes.get_mut(..3) {
                        t.copy_from_slice(b".\r\n");
                    }
                    self.queue(Cmd::Terminator { bytes, len: 3 });
                    self.state = State::DataEnd;
                } else {
                    if self.txn.failure.is_none() {
                        self.txn.failure = Some(if self.txn.accepted == 0 {
                            Error::AllRecipientsRefused
                        } else {
                            refused(Stage::Data)
                        });
                    }
                    self.abort_transaction();
                }
            }
            Expect::DataEnd => {
                self.envelope = None;
                let event = match self.txn.failure {
                    Some(error) => Event::MessageFailed { error },
                    None if code.is_positive() => Event::MessageSent {
                        code,
                        accepted: self.txn.accepted,
                        refused: self.txn.refused,
                    },
                    None => Event::MessageFailed {
                        error: refused(Stage::DataEnd),
                    },
                };
                self.event(event);
                self.become_ready(now);
            }
            Expect::Rset => {
                if code.is_positive() {
                    self.become_ready(now);
                } else {
                    self.fail(refused(Stage::Rset));
                }
            }
            Expect::Quit => self.close(),
        }
    }

    fn on_auth_reply(&mut self, code: ReplyCode) {
        let State::Auth(step) = self.state else {
            self.fail(Error::UnexpectedReply { code });
            return;
        };
        if code.code == 235 {
            self.token.clear();
            self.event(Event::Authenticated {
                mechanism: self.mechanism,
            });
            self.become_ready(self.last_progress);
            return;
        }
        match (step, code.code) {
            (AuthStep::GoAhead, 334) => {
                self.state = State::Auth(AuthStep::Outcome);
                self.queue(Cmd::AuthResponse);
            }
            (AuthStep::Outcome, 334) => {
                // An error challenge: read it, acknowledge it, then the
                // server sends the final failure (RFC 7628 §3.2.3).
                let (token_invalid, insufficient_scope) = self.challenge;
                self.state = State::Auth(AuthStep::FinalAfterChallenge {
                    token_invalid,
                    insufficient_scope,
                });
                self.queue(Cmd::AuthAck);
            }
            (
                AuthStep::FinalAfterChallenge {
                    token_invalid,
                    insufficient_scope,
                },
                _,
            ) => {
                let diag = if insufficient_scope {
                    Id::InvalidScope
                } else if token_invalid {
                    Id::TokenRejected
                } else {
                    match classify(Stage::Auth, code) {
                        Id::AuthRejected => Id::AuthChallengeMalformed,
                        other => other,
                    }
                };
                self.auth_rejected(code, diag);
            }
            _ => {
                let diag = classify(Stage::Auth, code);
                self.auth_rejected(code, diag);
            }
        }
    }

    fn auth_rejected(&mut self, code: ReplyCode, diag: Id) {
        let refresh_and_retry = (refresh_may_help(diag) || diag == Id::AuthChallengeMalformed)
            && self.auth_attempts < MAX_AUTH_ATTEMPTS;
        self.token.clear();
        self.state = State::AuthFailed;
        self.event(Event::AuthRejected {
            code,
            diag,
            refresh_and_retry,
        });
    }

    fn choose_mechanism(&self) -> Mechanism {
        let offered = self.caps.auth;
        match self.settings.mechanism {
            MechanismPreference::OAuthBearer if offered.oauthbearer => Mechanism::OAuthBearer,
            _ if offered.xoauth2 => Mechanism::Xoauth2,
            _ => Mechanism::OAuthBearer,
        }
    }

    /// Length of `AUTH <mech> <response>\r\n`.
    fn initial_line_len(&self) -> usize {
        let plain = self.with_message(|m| m.plain_len());
        "AUTH ".len() + self.mechanism.name().len() + 1 + encoded_len(plain) + 2
    }

    fn start_auth(&mut self) {
        self.auth_attempts = self.auth_attempts.saturating_add(1);
        let initial_response = self.initial_line_len() <= SMTP_COMMAND_LINE_LIMIT;
        if initial_response {
            self.state = State::Auth(AuthStep::Outcome);
            self.queue(Cmd::AuthInitial);
        } else {
            self.state = State::Auth(AuthStep::GoAhead);
            self.queue(Cmd::AuthBare);
        }
        self.event(Event::Authenticating {
            mechanism: self.mechanism,
            initial_response,
        });
    }

    fn become_ready(&mut self, now: Instant) {
        self.state = State::Ready;
        if self.envelope.is_some() {
            self.start_transaction(now);
        } else {
            self.event(Event::Ready);
        }
    }

    fn start_transaction(&mut self, _now: Instant) {
        let Some(env) = self.envelope.as_ref() else {
            return;
        };
        self.txn = Txn::default();
        // RFC 6531: a non-ASCII address goes only to a server that offers
        // SMTPUTF8; otherwise nothing of the message is sent.
        if needs_smtputf8(env) && !self.caps.smtputf8 {
            self.envelope = None;
            self.event(Event::MessageFailed {
                error: Error::Smtputf8NotOffered,
            });
            self.event(Event::Ready);
            return;
        }
        if let (Some(size), Some(limit)) = (env.size, self.caps.size) {
            if self.caps.exceeds_size(size) {
                self.envelope = None;
                self.event(Event::MessageFailed {
                    error: Error::MessageTooBig { size, limit },
                });
                self.event(Event::Ready);
                return;
            }
        }
        let count = env.to.len();
        // RFC 3030 §4.2: BDAT chunks are pipelined only with PIPELINING.
        let bdat = self.settings.chunking && self.caps.chunking && self.caps.pipelining;
        self.txn.bdat = bdat;
        self.state = State::Transaction;
        self.queue(Cmd::Mail);
        if self.caps.pipelining {
            // RFC 2920: MAIL, every RCPT and DATA (or the BDAT chunks) in
            // one flight.
            for i in 0..count {
                self.queue(Cmd::Rcpt(i as u8));
            }
            if !bdat {
                self.queue(Cmd::Data);
            }
        }
        if bdat {
            // No 354 to wait for: the body follows the envelope at once.
            self.state = State::Body;
            self.stuffer = DotStuffer::normalise_only();
            self.event(Event::ReadyForBody);
        }
    }

    /// Every MAIL/RCPT reply of a chunked transaction is in.
    fn bdat_envelope_answered(&mut self, now: Instant) {
        if self.txn.mail_ok && self.txn.accepted > 0 {
            return;
        }
        if self.txn.failure.is_none() {
            self.txn.failure = Some(Error::AllRecipientsRefused);
        }
        self.bdat_stop(now);
    }

    fn on_bdat_reply(&mut self, now: Instant, code: ReplyCode) {
        self.txn.bdat_due = self.txn.bdat_due.saturating_sub(1);
        if !code.is_positive() && self.txn.failure.is_none() {
            let diag = classify(Stage::DataEnd, code);
            self.txn.failure = Some(Error::Refused {
                stage: Stage::DataEnd,
                code,
                diag,
            });
        }
        if self.txn.failure.is_some() {
            // RFC 3030 §3: after a failed chunk, send no more.
            self.bdat_stop(now);
        } else if self.txn.bdat_due == 0 && self.state == State::DataEnd {
            self.envelope = None;
            let (accepted, refused) = (self.txn.accepted, self.txn.refused);
            self.event(Event::MessageSent {
                code,
                accepted,
                refused,
            });
            self.become_ready(now);
        }
    }

    /// A chunked transaction failed: stop the body, and once every chunk
    /// sent has its reply, report and RSET.
    fn bdat_stop(&mut self, _now: Instant) {
        if self.state == State::Body {
            self.state = State::BdatDrain;
        }
        if self.txn.bdat_due == 0 && matches!(self.state, State::BdatDrain | State::DataEnd) {
            self.abort_transaction();
        }
    }

    fn abort_transaction(&mut self) {
        self.envelope = None;
        let error = self.txn.failure.unwrap_or(Error::AllRecipientsRefused);
        self.event(Event::MessageFailed { error });
        self.state = State::Rset;
        self.queue(Cmd::Rset);
    }

    fn with_message<R>(&self, f: impl FnOnce(&dyn Plaintext) -> R) -> R {
        let user = self.user.as_str();
        let token = self.token.expose();
        match self.mechanism {
            Mechanism::Xoauth2 => f(&xoauth2(user, token)),
            Mechanism::OAuthBearer => {
                let mut port = [0u8; 20];
                let port = crate::wire::decimal(u64::from(self.settings.server_port()), &mut port);
                f(&oauthbearer(user, self.settings.server_host(), port, token))
            }
        }
    }

    /// Write `cmd` from octet `skip` into `out`: (octets written, complete).
    fn write_cmd(&self, cmd: Cmd, skip: usize, out: &mut [u8]) -> (usize, bool) {
        let mut c = Cursor::new(out, skip);
        match cmd {
            Cmd::Ehlo => {
                c.put(b"EHLO ");
                c.put(self.settings.ehlo_domain().as_bytes());
            }
            Cmd::StartTls => c.put(b"STARTTLS"),
            Cmd::AuthInitial | Cmd::AuthBare => {
                c.put(b"AUTH ");
                c.put(self.mechanism.name().as_bytes());
                if cmd == Cmd::AuthInitial {
                    c.put(b" ");
                    self.with_message(|m| c.put_base64(m));
                }
            }
            Cmd::AuthResponse => self.with_message(|m| c.put_base64(m)),
            Cmd::AuthAck => c.put(self.mechanism.error_ack()),
            Cmd::Mail => {
                c.put(b"MAIL FROM:<");
                if let Some(env) = &self.envelope {
                    c.put(env.from.as_str().as_bytes());
                    c.put(b">");
                    if let (Some(size), Some(_)) = (env.size, self.caps.size) {
                        c.put(b" SIZE=");
                        c.put_decimal(size);
                    }
                    // Only when an address needs it (the transaction was
                    // refused before MAIL if the server does not offer it).
                    // The header may then carry UTF-8 (RFC 6532): 8-bit
                    // content, declared as such (RFC 6152) to a server that
                    // offers 8BITMIME, as RFC 6531 asks of SMTPUTF8 servers.
                    if needs_smtputf8(env) && self.caps.smtputf8 {
                        if self.caps.eight_bit_mime {
                            c.put(b" BODY=8BITMIME");
                        }
                        c.put(b" SMTPUTF8");
                    }
                } else {
                    c.put(b">");
                }
            }
            Cmd::Rcpt(i) => {
                c.put(b"RCPT TO:<");
                if let Some(to) = self
                    .envelope
                    .as_ref()
                    .and_then(|e| e.to.get(usize::from(i)))
                {
                    c.put(to.as_str().as_bytes());
                }
                c.put(b">");
            }
            Cmd::Data => c.put(b"DATA"),
            Cmd::BdatLast { tail, len } => {
                c.put(b"BDAT ");
                c.put_decimal(u64::from(len));
                c.put(b" LAST\r\n");
                c.put(tail.get(..usize::from(len)).unwrap_or(&[]));
                return (c.written(), c.complete());
            }
            Cmd::Terminator { bytes, len } => {
                c.put(bytes.get(..usize::from(len)).unwrap_or(&[]));
                return (c.written(), c.complete());
            }
            Cmd::Rset => c.put(b"RSET"),
            Cmd::Quit => c.put(b"QUIT"),
        }
        c.put(b"\r\n");
        (c.written(), c.complete())
    }
}

/// Whether an address of `env` needs SMTPUTF8 (RFC 6531).
fn needs_smtputf8(env: &Envelope) -> bool {
    env.from.needs_smtputf8() || env.to.iter().any(Address::needs_smtputf8)
}
