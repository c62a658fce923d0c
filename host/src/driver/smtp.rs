//! The SMTP submission driver: one session of the core's [`smtp::Client`]
//! over a real connection (plain then STARTTLS, or implicit TLS).

use crate::clock::Clock;
use crate::net::{Connection, NetError, NetOptions, TlsInfo};
use crate::tls::TlsSettings;
use mfp_oauth_core::diag::{Diagnostic, Id};
use mfp_oauth_core::mailer::SessionLink;
use mfp_oauth_core::smtp::{
    self, Envelope, Event, Mechanism, MechanismPreference, ReplyCode, Security, Settings,
};
use mfp_oauth_core::wire::ehlo::AuthMechanisms;
use mfp_oauth_core::{AccessToken, Address, Instant};
use std::fmt;
use std::io::Read;

/// Size of the driver's receive and transmit buffers.
pub const IO_BUF_LEN: usize = 16 * 1024;

/// The least time one send of the message body may take: RFC 5321
/// §4.5.3.2.5's data block timeout (3 minutes), used while the body streams
/// when the connection's I/O timeout is shorter. A server that stops
/// reading for a while (a busy relay, a virus scanner) is waited for.
pub const DATA_BLOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(180);

/// Where and how to submit.
#[derive(Debug, Clone)]
pub struct SmtpEndpoint {
    /// Server host name (also the TLS name and OAUTHBEARER `host=`).
    pub host: String,
    /// Server port (587 STARTTLS, 465 implicit TLS).
    pub port: u16,
    /// How TLS starts.
    pub security: Security,
    /// The name sent in EHLO.
    pub ehlo_name: String,
    /// XOAUTH2 or OAUTHBEARER when both are offered.
    pub mechanism: MechanismPreference,
    /// Sockets: timeouts and proxy (SMTP never goes through the proxy).
    pub net: NetOptions,
    /// Trust anchors and versions.
    pub tls: TlsSettings,
}

/// What happened, step by step, for the CLI's and the demo's story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// TCP (or TLS for implicit TLS) is up.
    Connected,
    /// TLS is established.
    TlsEstablished(TlsInfo),
    /// AUTH started with this mechanism; the SASL mechanisms the server
    /// offered after TLS.
    Authenticating(Mechanism, AuthMechanisms),
    /// The token was accepted.
    Authenticated(Mechanism),
    /// The token was refused; `retrying` when a refreshed one is tried.
    AuthRejected {
        /// The server's code.
        code: ReplyCode,
        /// What it means.
        diag: Id,
        /// A fresh token is being tried.
        retrying: bool,
    },
    /// A recipient was refused (the others proceed).
    RecipientRefused {
        /// The refused address.
        address: String,
        /// What it means.
        diag: Id,
    },
    /// Body octets handed to the connection so far, of `total` if known.
    Body {
        /// Octets of the message read so far.
        sent: u64,
        /// The message's size.
        total: Option<u64>,
    },
}

/// A message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The server's final reply (for example `250 2.0.0 OK: queued as …`).
    pub reply: String,
    /// Recipients accepted.
    pub accepted: usize,
    /// Recipients refused.
    pub refused: usize,
    /// The mechanism that authenticated.
    pub mechanism: Option<Mechanism>,
    /// The TLS session's parameters.
    pub tls: Option<TlsInfo>,
    /// Whether the first token was refused and a refreshed one worked.
    pub retried_auth: bool,
}

/// Why a message was not sent. Nothing is reported as sent unless the
/// server's final `250` arrived.
#[derive(Debug)]
pub enum SendError {
    /// The connection failed (DNS, TCP, TLS, certificate, timeout).
    Net(NetError),
    /// The session failed (refusal, protocol, closed, timeout).
    Session {
        /// The core's error.
        error: smtp::Error,
        /// The server's last reply, if any.
        reply: Option<String>,
    },
    /// The token was refused and no refresh could help.
    AuthRejected {
        /// The server's code.
        code: ReplyCode,
        /// What it means.
        diag: Id,
        /// The server's reply.
        reply: Option<String>,
    },
    /// The message was refused; the session itself was fine.
    Message {
        /// The core's error.
        error: smtp::Error,
        /// The server's reply.
        reply: Option<String>,
    },
    /// The envelope or settings were not usable.
    Invalid(Id),
    /// Reading the message body failed.
    Body(std::io::Error),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_reply = |f: &mut fmt::Formatter<'_>, r: &Option<String>| match r {
            Some(r) => write!(f, " (server said: {r})"),
            None => Ok(()),
        };
        match self {
            SendError::Net(e) => write!(f, "{e}"),
            SendError::Session { error, reply } => {
                write!(f, "{error}")?;
                with_reply(f, reply)
            }
            SendError::AuthRejected { code, reply, .. } => {
                write!(f, "token refused: {code}")?;
                with_reply(f, reply)
            }
            SendError::Message { error, reply } => {
                write!(f, "message refused: {error}")?;
                with_reply(f, reply)
            }
            SendError::Invalid(id) => write!(f, "invalid request: {}", id.name()),
            SendError::Body(e) => write!(f, "cannot read the message: {e}"),
        }
    }
}

impl std::error::Error for SendError {}

impl Diagnostic for SendError {
    fn diag(&self) -> Id {
        match self {
            SendError::Net(e) => e.diag(),
            SendError::Session { error, .. } | SendError::Message { error, .. } => error.diag(),
            SendError::AuthRejected { diag, .. } => *diag,
            SendError::Invalid(id) => *id,
            SendError::Body(_) => Id::IoError,
        }
    }
}

/// What the session asks of the code around it.
pub struct Hooks<'a> {
    /// A fresh access token after the server refused one that a refresh may
    /// fix (`None`: no refresh possible).
    pub refresh: &'a mut dyn FnMut() -> Option<AccessToken>,
    /// Progress reports.
    pub progress: &'a mut dyn FnMut(&Progress),
}

impl fmt::Debug for Hooks<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hooks")
    }
}

fn std_wait(now: Instant, deadline: Instant) -> std::time::Duration {
    std::time::Duration::from_millis(deadline.saturating_since(now).as_millis())
}

/// Submit one message: connect, secure, authenticate as `user` with
/// `token`, send `envelope` and the body read from `body` (`size` octets if
/// known), quit. Returns only after the server's final reply or a failure.
pub fn send<'a>(
    clock: &'a dyn Clock,
    endpoint: &SmtpEndpoint,
    user: Address,
    token: AccessToken,
    envelope: Envelope,
    body: &'a mut dyn Read,
    hooks: Hooks<'a>,
) -> Result<Delivery, SendError> {
    session(clock, endpoint, user, token, Some(envelope), body, hooks)
}

/// Connect, secure and authenticate as `user` with `token`, then QUIT
/// without sending anything (`doctor`): the [`Delivery`] carries the TLS
/// parameters, the mechanism and the server's last reply.
pub fn probe<'a>(
    clock: &'a dyn Clock,
    endpoint: &SmtpEndpoint,
    user: Address,
    token: AccessToken,
    hooks: Hooks<'a>,
) -> Result<Delivery, SendError> {
    let mut nothing: &[u8] = &[];
    session(clock, endpoint, user, token, None, &mut nothing, hooks)
}

fn session<'a>(
    clock: &'a dyn Clock,
    endpoint: &SmtpEndpoint,
    user: Address,
    token: AccessToken,
    envelope: Option<Envelope>,
    body: &mut dyn Read,
    hooks: Hooks<'a>,
) -> Result<Delivery, SendError> {
    let tls_config = endpoint
        .tls
        .client_config()
        .map_err(|e| SendError::Net(NetError::Io(std::io::Error::other(e.to_string()))))?;
    let mut settings = Settings::new(
        endpoint.security,
        &endpoint.ehlo_name,
        &endpoint.host,
        endpoint.port,
    )
    .map_err(|e| SendError::Invalid(e.diag()))?;
    settings.mechanism = endpoint.mechanism;
    // SMTP goes direct: the configured proxy is for the token traffic.
    let net = NetOptions {
        proxy: None,
        ..endpoint.net.clone()
    };
    let mut conn =
        Connection::connect(&endpoint.host, endpoint.port, &net).map_err(SendError::Net)?;
    if endpoint.security == Security::ImplicitTls {
        conn.start_tls_with(tls_config.clone())
            .map_err(SendError::Net)?;
    }
    (hooks.progress)(&Progress::Connected);
    if let Some(info) = conn.tls_info() {
        (hooks.progress)(&Progress::TlsEstablished(info));
    }
    let total = envelope.as_ref().and_then(|e| e.size);
    let recipients: Vec<String> = envelope
        .as_ref()
        .map(|e| e.to.iter().map(str::to_owned).collect())
        .unwrap_or_default();
    let probing = envelope.is_none();
    let mut client = smtp::Client::new(clock.now(), settings, user);
    // Copied into the client; the caller's copy is wiped when it drops.
    client
        .set_token(clock.now(), token.expose())
        .map_err(|e| SendError::Invalid(e.diag()))?;
    drop(token);
    if let Some(envelope) = envelope {
        client
            .send_message(clock.now(), envelope)
            .map_err(|e| SendError::Invalid(e.diag()))?;
    }

    let mut session = Session {
        clock,
        pump: Pump::new(conn, tls_config),
        client,
        hooks,
        body,
        recipients,
        total,
        delivery: None,
        failure: None,
        mechanism: None,
        retried: false,
        probing,
    };
    session.run();
    session.pump.conn.close();
    let tls = session.pump.conn.tls_info();
    match (session.delivery, session.failure) {
        (Some(mut d), None) => {
            d.tls = tls;
            d.mechanism = session.mechanism;
            d.retried_auth = session.retried;
            Ok(d)
        }
        (_, Some(f)) => Err(f),
        (None, None) => Err(SendError::Session {
            error: smtp::Error::ConnectionClosed {
                stage: smtp::Stage::Quit,
            },
            reply: None,
        }),
    }
}

/// What one wait for the server produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// Input was fed, a close or a deadline was reported to the client.
    Progress,
    /// The socket's own limit passed while the client awaited nothing.
    Idle,
}

/// The byte mover between one SMTP session and its connection, shared by
/// [`send`] (a bare [`smtp::Client`]) and by the Mailer's job runner (the
/// job's session inside the core's `Mailer`, reached through its
/// `handle_smtp_*` / `poll_smtp_*` calls, R-ENGINE): both are a
/// [`SessionLink`]. It feeds input, writes
/// transmits, starts TLS, streams the body, and waits no longer than the
/// client's `poll_timeout`. It makes no protocol decision.
pub struct Pump {
    /// The connection.
    pub conn: Connection,
    tls_config: std::sync::Arc<rustls::ClientConfig>,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    pending: Vec<u8>,
    /// The body is the core composer's output: sent with
    /// `write_body_canonical` (no per-octet scan).
    canonical_body: bool,
}

impl fmt::Debug for Pump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pump")
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

impl Pump {
    /// A pump over `conn`; `tls_config` is used on `UpgradeTls`.
    #[must_use]
    pub fn new(conn: Connection, tls_config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        Pump {
            conn,
            tls_config,
            inbuf: vec![0; IO_BUF_LEN],
            outbuf: vec![0; IO_BUF_LEN],
            pending: Vec::new(),
            canonical_body: false,
        }
    }

    /// Declare the bodies this pump streams canonical (CRLF line ends, no
    /// line starting with a dot: the core composer's output), so that the
    /// client copies them instead of scanning every octet
    /// ([`smtp::Client::write_body_canonical`]; a line-start dot is still
    /// stuffed with `DATA`).
    pub fn set_canonical_body(&mut self, canonical: bool) {
        self.canonical_body = canonical;
    }

    /// Start TLS (after `UpgradeTls`) and tell the client the moment the
    /// handshake completes; what it then sends (EHLO) is written together
    /// with the end of the handshake, in one TCP write under TLS 1.3
    /// ([`Connection::start_tls_then`]).
    pub fn start_tls(
        &mut self,
        client: &mut impl SessionLink,
        now: Instant,
    ) -> Result<TlsInfo, NetError> {
        let outbuf = &mut self.outbuf;
        self.conn
            .start_tls_then(self.tls_config.clone(), &mut |w| {
                let _ = client.handle_tls_established(now);
                while let Ok(Some(t)) = client.poll_transmit(now, outbuf) {
                    w.write_all(outbuf.get(..t.len).unwrap_or_default())?;
                }
                Ok(())
            })?;
        self.conn.tls_info().ok_or(NetError::Closed)
    }

    /// Write every transmit the client has. On a failed write the client
    /// is told the connection closed and the error is returned.
    pub fn flush(&mut self, client: &mut impl SessionLink, now: Instant) -> Result<(), NetError> {
        loop {
            match client.poll_transmit(now, &mut self.outbuf) {
                Ok(Some(t)) => {
                    let bytes = self.outbuf.get(..t.len).unwrap_or_default();
                    if let Err(e) = self.conn.send(bytes) {
                        let _ = client.handle_close(now);
                        return Err(e);
                    }
                }
                // IO_BUF_LEN is far above what any transmit needs; no
                // session left: nothing to send.
                Ok(None) | Err(_) => return Ok(()),
            }
        }
    }

    /// Feed input kept from an earlier read, or wait for the server until
    /// the client's deadline and feed what arrives (or the close, or the
    /// timeout). A hard socket error is returned after telling the client.
    pub fn wait(
        &mut self,
        client: &mut impl SessionLink,
        clock: &dyn Clock,
    ) -> Result<Waited, NetError> {
        if !self.pending.is_empty() {
            let data = std::mem::take(&mut self.pending);
            self.feed(client, clock.now(), &data);
            return Ok(Waited::Progress);
        }
        let now = clock.now();
        let deadline = client.poll_timeout().ok().flatten();
        if let Some(d) = deadline {
            if now >= d {
                let _ = client.handle_timeout(now);
                return Ok(Waited::Progress);
            }
            let _ = self.conn.set_read_deadline(std_wait(now, d));
        }
        match self.conn.read_some(&mut self.inbuf) {
            Ok(0) => {
                let _ = client.handle_close(clock.now());
            }
            Ok(n) => {
                let data = self.inbuf.get(..n).unwrap_or_default().to_vec();
                self.feed(client, clock.now(), &data);
            }
            Err(NetError::Timeout) if deadline.is_some() => {}
            Err(NetError::Timeout) => return Ok(Waited::Idle),
            Err(NetError::Closed) => {
                let _ = client.handle_close(clock.now());
            }
            Err(e) => {
                let _ = client.handle_close(clock.now());
                return Err(e);
            }
        }
        Ok(Waited::Progress)
    }

    fn feed(&mut self, client: &mut impl SessionLink, now: Instant, data: &[u8]) {
        let used = client.handle_input(now, data).unwrap_or(data.len());
        if let Some(rest) = data.get(used..).filter(|r| !r.is_empty()) {
            self.pending = rest.to_vec();
        }
    }

    /// Stream the body (after `ReadyForBody`): read from `body` into one
    /// fixed buffer, encoded by the client (dot-stuffed for `DATA`, one
    /// `BDAT` chunk per call) into the other, written as it comes;
    /// `progress` is called with the octets read so far; then the end of
    /// data is queued. Each send may take [`DATA_BLOCK_TIMEOUT`]. Replies
    /// that arrive meanwhile (to `BDAT` chunks) are fed to the client at
    /// once: if it stops the body (a refused chunk), streaming ends there
    /// and the events tell why. On a read or write failure the client is
    /// told the connection closed, so no partial message can be reported
    /// sent.
    pub fn stream_body(
        &mut self,
        client: &mut impl SessionLink,
        now: Instant,
        body: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), SendError> {
        let io_timeout = self.conn.io_timeout();
        let _ = self
            .conn
            .set_write_timeout(io_timeout.max(DATA_BLOCK_TIMEOUT));
        let streamed = self.write_body(client, now, body, progress);
        let _ = self.conn.set_write_timeout(io_timeout);
        streamed
    }

    fn write_body(
        &mut self,
        client: &mut impl SessionLink,
        now: Instant,
        body: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), SendError> {
        // Room for the chunk header in the output buffer.
        let mut input = vec![0u8; IO_BUF_LEN - 64];
        let mut sent: u64 = 0;
        loop {
            let n = match body.read(&mut input) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = client.handle_close(now);
                    return Err(SendError::Body(e));
                }
            };
            let mut chunk = input.get(..n).unwrap_or_default();
            while !chunk.is_empty() {
                let written = if self.canonical_body {
                    client.write_body_canonical(chunk, &mut self.outbuf)
                } else {
                    client.write_body(chunk, &mut self.outbuf)
                };
                let Ok(p) = written else {
                    // The client left the body (a refusal fed below).
                    return Ok(());
                };
                if let Err(e) = self
                    .conn
                    .send(self.outbuf.get(..p.written).unwrap_or_default())
                {
                    let _ = client.handle_close(now);
                    return Err(SendError::Net(e));
                }
                chunk = chunk.get(p.consumed..).unwrap_or_default();
                if self.pending.is_empty() {
                    match self.conn.read_ready(&mut self.inbuf) {
                        Ok(0) => {}
                        Ok(got) => {
                            let data = self.inbuf.get(..got).unwrap_or_default().to_vec();
                            self.feed(client, now, &data);
                        }
                        Err(_) => {
                            let _ = client.handle_close(now);
                            return Err(SendError::Net(NetError::Closed));
                        }
                    }
                }
            }
            sent = sent.saturating_add(n as u64);
            progress(sent);
        }
        client
            .finish_body(now)
            .map_err(|_| SendError::Invalid(Id::WrongState))
    }
}

struct Session<'a, 'b> {
    clock: &'a dyn Clock,
    pump: Pump,
    client: smtp::Client,
    hooks: Hooks<'a>,
    body: &'b mut dyn Read,
    recipients: Vec<String>,
    total: Option<u64>,
    delivery: Option<Delivery>,
    failure: Option<SendError>,
    mechanism: Option<Mechanism>,
    retried: bool,
    probing: bool,
}

impl Session<'_, '_> {
    fn last_reply(&self) -> Option<String> {
        self.client.last_reply().map(ToString::to_string)
    }

    /// The reply to report with `error`: the server's last one when it
    /// decided the failure, none after a close, a timeout or a TLS failure
    /// (never the `220` to STARTTLS as if it were the reason).
    fn reply_of(&self, error: &smtp::Error) -> Option<String> {
        if error.from_reply() {
            self.last_reply()
        } else {
            None
        }
    }

    fn fail(&mut self, e: SendError) {
        if self.failure.is_none() {
            self.failure = Some(e);
        }
    }

    fn quit(&mut self) {
        let _ = self.client.quit(self.clock.now());
    }

    /// Drain the core's events, acting on each. Returns false to stop.
    fn events(&mut self) -> bool {
        while let Some(ev) = self.client.poll_event() {
            let now = self.clock.now();
            match ev {
                Event::UpgradeTls => match self.pump.start_tls(&mut self.client, now) {
                    Ok(info) => (self.hooks.progress)(&Progress::TlsEstablished(info)),
                    Err(e) => {
                        self.fail(SendError::Net(e));
                        return false;
                    }
                },
                Event::Authenticating { mechanism, .. } => {
                    let offered = self.client.capabilities().auth;
                    (self.hooks.progress)(&Progress::Authenticating(mechanism, offered));
                }
                Event::Authenticated { mechanism } => {
                    self.mechanism = Some(mechanism);
                    (self.hooks.progress)(&Progress::Authenticated(mechanism));
                }
                Event::AuthRejected {
                    code,
                    diag,
                    refresh_and_retry,
                } => {
                    let fresh = if refresh_and_retry && !self.retried {
                        (self.hooks.refresh)()
                    } else {
                        None
                    };
                    (self.hooks.progress)(&Progress::AuthRejected {
                        code,
                        diag,
                        retrying: fresh.is_some(),
                    });
                    let retried = match fresh {
                        Some(t) => self.client.retry_auth(now, t.expose()).is_ok(),
                        None => false,
                    };
                    if retried {
                        self.retried = true;
                    } else {
                        let reply = self.last_reply();
                        self.fail(SendError::AuthRejected { code, diag, reply });
                        self.quit();
                    }
                }
                Event::RecipientRefused { index, diag, .. } => {
                    let address = self.recipients.get(index).cloned().unwrap_or_default();
                    (self.hooks.progress)(&Progress::RecipientRefused { address, diag });
                }
                Event::ReadyForBody => {
                    if let Err(e) = self.pump.flush(&mut self.client, now) {
                        self.fail(SendError::Net(e));
                        return false;
                    }
                    let total = self.total;
                    let progress = &mut *self.hooks.progress;
                    let streamed =
                        self.pump
                            .stream_body(&mut self.client, now, self.body, &mut |sent| {
                                progress(&Progress::Body { sent, total });
                            });
                    if let Err(e) = streamed {
                        // A closed connection is best told by the core's
                        // ConnectionClosed (with its stage), drained next.
                        if !matches!(e, SendError::Net(NetError::Closed)) {
                            self.fail(e);
                        }
                    }
                }
                Event::MessageSent {
                    accepted, refused, ..
                } => {
                    self.delivery = Some(Delivery {
                        reply: self.last_reply().unwrap_or_default(),
                        accepted,
                        refused,
                        mechanism: None,
                        tls: None,
                        retried_auth: false,
                    });
                    self.quit();
                }
                Event::MessageFailed { error } => {
                    let reply = self.reply_of(&error);
                    self.fail(SendError::Message { error, reply });
                    self.quit();
                }
                Event::Failed { error } => {
                    let reply = self.reply_of(&error);
                    self.fail(SendError::Session { error, reply });
                    return false;
                }
                Event::Closed => return false,
                Event::Ready if self.probing => {
                    self.delivery = Some(Delivery {
                        reply: self.last_reply().unwrap_or_default(),
                        accepted: 0,
                        refused: 0,
                        mechanism: None,
                        tls: None,
                        retried_auth: false,
                    });
                    self.quit();
                }
                // Ready with a message: it was submitted up front.
                _ => {}
            }
        }
        !self.client.is_closed()
    }

    fn run(&mut self) {
        // Bounded: every turn gets input, a close, or reaches the core's
        // deadline; the core's timers end every wait.
        loop {
            if !self.events() {
                return;
            }
            if let Err(e) = self.pump.flush(&mut self.client, self.clock.now()) {
                self.fail(SendError::Net(e));
                let _ = self.events();
                return;
            }
            if !self.events() {
                return;
            }
            match self.pump.wait(&mut self.client, self.clock) {
                Ok(Waited::Progress) => {}
                Ok(Waited::Idle) => {
                    self.fail(SendError::Net(NetError::Timeout));
                    self.client.handle_close(self.clock.now());
                    let _ = self.events();
                    return;
                }
                Err(e) => {
                    self.fail(SendError::Net(e));
                    let _ = self.events();
                    return;
                }
            }
        }
    }
}
