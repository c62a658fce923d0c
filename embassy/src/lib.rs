//! The board driver of mfp-oauth for Rust firmware on embassy: the core's
//! [`Mailer`] jobs carried over [`embassy_net::tcp::TcpSocket`] and
//! [`embedded_tls::TlsConnection`] (TLS 1.3), with time from
//! [`embassy_time`], randomness from the caller's RNG and `defmt` logs
//! (feature `defmt`) that never show a secret (R-LOG).
//!
//! The driver makes no protocol decision: the [`Mailer`] says what comes
//! next ([`Plan`]) and the driver carries it out, as the host's job runner
//! and the C firmware do:
//!
//! | plan | the driver… |
//! |---|---|
//! | [`Plan::TokenExchange`] | runs the refresh grant (or app-only with a client secret) over HTTPS ([`Mailer::start_token_request`]) |
//! | [`Plan::Connect`] | resolves, connects, starts TLS first for implicit TLS (the SMTP server or the mail API; each connection of a job in turn on the same link buffers) |
//! | [`Plan::Session`] | pumps the SMTP or mail API session: STARTTLS, transmits, the streamed body (read again from its first octet when the session asks for it a second time: [`JobBody::restart`]) |
//! | [`Plan::NeedUserAuth`] / [`Plan::NeedAdminAuth`] | returns it: the panel signs in ([`Board::drive_oauth`]) then calls [`Board::run`] again |
//! | [`Plan::Done`] / [`Plan::Failed`] | closes the connection and returns it |
//!
//! # A scan-to-email job
//!
//! ```no_run
//! use embassy_net::{IpAddress, Stack};
//! use mfp_oauth_core::mailer::{Job, Mailer, Plan};
//! use mfp_oauth_core::{oauth, Address, DiagId, Function};
//! use mfp_oauth_embassy::{
//!     now, Board, Buffers, Hosts, Ignore, LinkBuffers, Octets, Trust, MIN_OUT_BUF_LEN,
//!     TLS_READ_BUF_LEN, TLS_WRITE_BUF_LEN,
//! };
//! use rand_core::{CryptoRng, RngCore};
//!
//! /// The job's memory; a board keeps it in a `static` (StaticCell).
//! struct Memory {
//!     sockets: [[u8; 4096]; 4],
//!     tls_read: [[u8; TLS_READ_BUF_LEN]; 2],
//!     tls_write: [[u8; TLS_WRITE_BUF_LEN]; 2],
//!     out: [u8; MIN_OUT_BUF_LEN],
//!     input: [u8; 1024],
//! }
//!
//! async fn scan_to_email(
//!     stack: Stack<'static>,
//!     rng: impl RngCore + CryptoRng,
//!     ca_der: &'static [u8],
//!     mem: &mut Memory,
//!     mailer: &mut Mailer,
//!     oauth: &mut oauth::Client<&'static mut [u8]>,
//!     to: &[Address],
//!     message: &[u8],
//! ) -> Plan {
//!     // No DNS on this board: the servers' addresses are configured.
//!     let hosts = [("smtp.gmail.com", IpAddress::v4(192, 0, 2, 25)),
//!                  ("oauth2.googleapis.com", IpAddress::v4(192, 0, 2, 80))];
//!     let mut board = Board::new(stack, Trust { ca_der }, rng, Hosts(&hosts), "[192.0.2.7]");
//!     let [s0, s1, s2, s3] = &mut mem.sockets;
//!     let [r0, r1] = &mut mem.tls_read;
//!     let [w0, w1] = &mut mem.tls_write;
//!     let mut bufs = Buffers {
//!         smtp: LinkBuffers { socket_rx: s0, socket_tx: s1, tls_read: r0, tls_write: w0 },
//!         token: LinkBuffers { socket_rx: s2, socket_tx: s3, tls_read: r1, tls_write: w1 },
//!         out: &mut mem.out,
//!         input: &mut mem.input,
//!     };
//!     let job = Job {
//!         function: Function::ScanToEmail,
//!         user: None,
//!         from: None,
//!         to,
//!         size: Some(message.len() as u64),
//!     };
//!     let Ok(plan) = mailer.submit(now(), &job) else {
//!         return Plan::Failed { diag: DiagId::WrongState };
//!     };
//!     // Any JobBody: a mail API may ask for the message again from its start.
//!     let mut body = Octets::new(message);
//!     // Ignore: this board writes the token store to flash after each job.
//!     board.run(mailer, oauth, plan, &mut body, &mut bufs, &mut Ignore).await
//! }
//! ```
//!
//! # Certificates
//!
//! Every TLS connection (SMTP and the token endpoint) verifies the server
//! with a [`ConstrainedVerifier`]: first the path checks `embedded-tls`
//! does not make ([`check_chain`], RFC 5280), then `embedded-tls`'s own
//! verifier (its `rustpki` feature: ECDSA P-256 signatures without an
//! allocator), for which the chain the server sends must lead, signature by
//! signature, to the caller's trust anchor ([`Trust::ca_der`], one CA
//! certificate in DER), and the end certificate must carry the server's
//! host name (DNS subjectAltName or CN). The path checks:
//! - every certificate that signs another one is a CA certificate
//!   (basicConstraints cA TRUE, keyCertSign if it has a keyUsage,
//!   serverAuth or anyExtendedKeyUsage if it has an extendedKeyUsage):
//!   without this, any end certificate the trusted CA issued, to anyone,
//!   could sign a certificate for the server's name;
//! - pathLenConstraint, the anchor's included;
//! - the server's certificate is not a CA, and is for TLS servers
//!   (serverAuth if it has an extendedKeyUsage, digitalSignature if it has
//!   a keyUsage);
//! - nameConstraints, which the driver does not process, and any critical
//!   extension it does not process are refused (RFC 5280 §4.2), as is an
//!   extension it checks appearing twice;
//! - the trust anchor is a CA certificate ([`Trust::check`], once when the
//!   [`Board`] is made; a board with a non-CA anchor refuses every
//!   connection).
//!
//! What is not checked:
//! - the validity period, unless the firmware gives a wall clock
//!   ([`Board::with_clock`] with an [`embedded_tls::TlsClock`]; [`Board::new`]
//!   uses [`embedded_tls::NoClock`], which skips the dates);
//! - revocation (no CRL or OCSP), certificate policies, and issuer/subject
//!   name chaining (the signatures link the chain);
//! - IP addresses in subjectAltName: connect by host name.
//!
//! There is no "accept any certificate" path: a server that does not
//! verify is refused before any byte of a token is sent, on implicit TLS,
//! after STARTTLS and at the token endpoint alike, with the reason as the
//! host reports it ([`ConstrainedVerifier::refusal`]): a path check
//! [`Id::CertificateInvalid`] (E604), out of its dates
//! [`Id::CertificateExpired`] (E607, with a clock), the wrong name
//! [`Id::CertificateWrongName`] (E608), a chain that does not lead to the
//! trust anchor [`Id::CertificateUntrusted`] (E609); a server without TLS
//! 1.3 is [`Id::TlsVersionMismatch`] (E610), any other handshake failure
//! [`Id::TlsHandshakeFailed`].
//! (`embedded-tls`'s other verifier, `webpki`, takes no intermediates and
//! needs `ring`, whose 0.17.14 ARM assembly, `x25519-asm-arm.S`, does not
//! assemble for armv7e-m.)
//!
//! # Two TLS options
//!
//! - `embedded-tls` (the default): TLS 1.3 only, ECDSA P-256 chains, no
//!   allocator. [`TLS_RANGE`] is TLS 1.3 only (R-RULE-2): apply the
//!   administrator's settings through [`board_settings`] so that the
//!   core's validation reports [`Id::MicrosoftTls13Only`] for a Microsoft
//!   account (the manual: Microsoft OAuth is not available with TLS 1.3
//!   only), and [`Board::run`] refuses such a job with that diagnostic
//!   before it connects anywhere. A settings range without TLS 1.3 is
//!   refused ([`Id::TlsRangeInvalid`]), not widened.
//! - `tls-rustls` (feature): rustls's no_std unbuffered client, TLS 1.2
//!   and 1.3 within the settings' `tls_min` / `tls_max`, RSA (2048 bits or
//!   more) and ECDSA P-256 chains, with a crypto provider of the driver's
//!   own over RustCrypto crates (AES-128-GCM, ECDHE on secp256r1, SHA-256;
//!   feature `tls-rustls-all-sigs` adds SHA-384/512 and P-384 signatures).
//!   Microsoft 365 (TLS 1.2 and RSA chains) is reachable. The chain gets
//!   the same path checks as above ([`check_chain`]'s rules), then webpki
//!   checks the signatures, the name (subjectAltName) and, with a clock,
//!   the dates. rustls needs an allocator: the firmware defines the global
//!   allocator over a fixed region (the footprint example: 64 KiB with
//!   `embedded-alloc`; measured high-water mark 57,398 B with two
//!   connections open at once, on x86_64). Randomness: each connection
//!   seeds a ChaCha20 generator from the board's RNG, which rustls draws
//!   from (its provider's interfaces are `'static`); time: embassy-time,
//!   and the [`embedded_tls::TlsClock`] given to [`Board::with_clock`].
//!   `TlsStream` is the connection itself, over any `embedded-io-async`
//!   transport.
//!
//! # Names
//! The driver resolves server names with the caller's [`Resolve`]r: a fixed
//! table ([`Hosts`]) or, with the feature `dns`, the stack's DNS client
//! (`Dns`).
//!
//! # Not supported (yet)
//! The proxy for the token traffic; with `embedded-tls`, RSA server
//! certificates (they need an allocator in `embedded-tls`: use
//! `tls-rustls`).

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(feature = "tls-rustls")]
extern crate alloc;

pub mod body;
pub mod compose;
#[cfg(feature = "tls-rustls")]
mod crypto;
mod log;
#[cfg(not(feature = "tls-rustls"))]
mod tls;
#[cfg(feature = "tls-rustls")]
#[path = "tls_rustls.rs"]
mod tls;
mod verify;

use embassy_net::{IpAddress, Stack};
use embassy_time::{with_deadline, with_timeout, Timer};
use embedded_tls::{NoClock, TlsClock};
use mfp_oauth_core::config::{Applied, Settings, TlsVersion, Violations};
use mfp_oauth_core::diag::{Diagnostic, Id};
use mfp_oauth_core::mailer::{Mailer, Plan, Step};
use mfp_oauth_core::oauth::{self, OAuthError, TransportError};
use mfp_oauth_core::smtp::{Event, Security};
use mfp_oauth_core::token::{StoreEvent, TokenStore, UserSlots};
use mfp_oauth_core::Instant;
use rand_core::{CryptoRng, RngCore};

pub use crate::body::{JobBody, Octets};
pub use crate::compose::{ComposeError, ComposedBody};
use crate::log::{log_debug, log_info, log_warn};
pub use crate::tls::MAX_CERT_CHAIN_LEN;
use crate::tls::{Conn, Start};
#[cfg(feature = "tls-rustls")]
pub use crate::tls::{LinkError, TlsStream};
pub use crate::verify::{check_anchor, check_chain, ChainError, ConstrainedVerifier};

/// The TLS versions this driver speaks, minimum and maximum: TLS 1.3 only
/// with `embedded-tls` (the default), TLS 1.2 and 1.3 with the feature
/// `tls-rustls`. The settings' range is narrowed to it by
/// [`board_settings`] (R-RULE-2).
#[cfg(not(feature = "tls-rustls"))]
pub const TLS_RANGE: (TlsVersion, TlsVersion) = (TlsVersion::Tls13, TlsVersion::Tls13);
/// The TLS versions this driver speaks, minimum and maximum: TLS 1.3 only
/// with `embedded-tls` (the default), TLS 1.2 and 1.3 with the feature
/// `tls-rustls`. The settings' range is narrowed to it by
/// [`board_settings`] (R-RULE-2).
#[cfg(feature = "tls-rustls")]
pub const TLS_RANGE: (TlsVersion, TlsVersion) = tls::VERSIONS;

/// A safe size for each connection's TLS read buffer: the largest TLS
/// record (2^14 octets of data plus 256 of expansion, RFC 8446 §5.2).
/// Servers send records that large, so a smaller buffer may fail a
/// handshake or a read.
pub const TLS_READ_BUF_LEN: usize = 16_640;

/// A good size for each connection's TLS write buffer (records the driver
/// sends: the ClientHello, SMTP commands, body chunks); at least
/// [`embedded_tls::TLS_RECORD_OVERHEAD`] plus the largest write.
pub const TLS_WRITE_BUF_LEN: usize = 4096;

/// The smallest [`Buffers::out`]: one whole OAuth request
/// ([`mfp_oauth_core::limits::OAUTH_REQUEST_BUF_LEN`]; SMTP commands are
/// written across as many transmits as needed).
pub const MIN_OUT_BUF_LEN: usize = mfp_oauth_core::limits::OAUTH_REQUEST_BUF_LEN;

/// The smallest [`Buffers::input`] (one read from the server).
pub const MIN_INPUT_BUF_LEN: usize = 512;

/// How long a connection may stay silent when the core awaits nothing
/// with a deadline (a TCP connect, a TLS handshake, a write): 60 s.
pub const IO_TIMEOUT: embassy_time::Duration = embassy_time::Duration::from_secs(60);

/// How long one send of the message body may take: RFC 5321's data block
/// timeout (§4.5.3.2.5, 3 minutes), which is the driver's (the SMTP client
/// sets no deadline while the body is sent).
pub const DATA_BLOCK_TIMEOUT: embassy_time::Duration = embassy_time::Duration::from_secs(180);

/// The settings as this board can honour them: the administrator's TLS
/// range narrowed to [`TLS_RANGE`] (the versions in both). Give the
/// administrator's settings to [`Mailer::apply_settings`] through this, so
/// that the core's validation tells the truth (R-RULE-2): with
/// `embedded-tls` a Microsoft account is refused with
/// [`Id::MicrosoftTls13Only`], and a range without TLS 1.3 (TLS 1.2 only)
/// has no version in common with the board and is refused with
/// [`Id::TlsRangeInvalid`] (its minimum ends up above its maximum) instead
/// of being widened. With `tls-rustls` the connections use the narrowed
/// range: a range of TLS 1.2 only offers TLS 1.2 only.
#[must_use]
pub fn board_settings(mut settings: Settings) -> Settings {
    let (min, max) = TLS_RANGE;
    settings.tls_min = settings.tls_min.max(min);
    settings.tls_max = settings.tls_max.min(max);
    settings
}

/// [`Mailer::apply_settings`] with [`board_settings`].
pub fn apply_settings<U: UserSlots>(
    mailer: &mut Mailer<U>,
    settings: Settings,
) -> Result<Applied, Violations> {
    mailer.apply_settings(board_settings(settings))
}

/// Whether jobs with `settings` can run on this board: `Err` with the
/// diagnostic when the configuration breaks a rule under [`TLS_RANGE`]
/// (for example [`Id::MicrosoftTls13Only`]).
pub fn check_settings(settings: &Settings) -> Result<(), Id> {
    match board_settings(settings.clone()).validate().first() {
        None => Ok(()),
        Some(rule) => Err(rule.diag()),
    }
}

/// The core's time from `embassy-time` (monotonic milliseconds).
#[must_use]
pub fn now() -> Instant {
    Instant::from_millis(embassy_time::Instant::now().as_millis())
}

fn at(deadline: Instant) -> embassy_time::Instant {
    embassy_time::Instant::from_millis(deadline.as_millis())
}

/// Turns a host name into an address (the board has no DNS by default).
#[allow(async_fn_in_trait)] // Board executors are single-threaded.
pub trait Resolve {
    /// The address of `host`, `None` if unknown.
    async fn resolve(&mut self, host: &str) -> Option<IpAddress>;
}

/// A fixed table of host names and their addresses; IPv4 literals resolve
/// to themselves (but certificates are checked by name: see the crate
/// docs).
#[derive(Debug, Clone, Copy)]
pub struct Hosts<'a>(pub &'a [(&'a str, IpAddress)]);

impl Resolve for Hosts<'_> {
    async fn resolve(&mut self, host: &str) -> Option<IpAddress> {
        if let Ok(ip) = host.parse::<core::net::Ipv4Addr>() {
            return Some(IpAddress::Ipv4(ip));
        }
        self.0
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(host))
            .map(|(_, ip)| *ip)
    }
}

/// Host names resolved by the stack's DNS client (feature `dns`; the
/// stack's configuration must name a DNS server). IPv4 literals resolve
/// to themselves.
#[cfg(feature = "dns")]
#[derive(Clone, Copy)]
pub struct Dns<'d>(pub Stack<'d>);

#[cfg(feature = "dns")]
impl core::fmt::Debug for Dns<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Dns")
    }
}

#[cfg(feature = "dns")]
impl Resolve for Dns<'_> {
    async fn resolve(&mut self, host: &str) -> Option<IpAddress> {
        let found = self
            .0
            .dns_query(host, embassy_net::dns::DnsQueryType::A)
            .await
            .ok()?;
        found.first().copied()
    }
}

/// The trust anchor every server must chain to.
#[derive(Debug, Clone, Copy)]
pub struct Trust<'a> {
    /// One CA certificate, DER, at the top of the SMTP and token servers'
    /// chains (a root, or an intermediate CA the firmware trusts). It must
    /// be a CA certificate ([`Trust::check`]); a [`Board`] made with one
    /// that is not refuses every connection ([`Id::CertificateInvalid`]).
    pub ca_der: &'a [u8],
}

impl Trust<'_> {
    /// Whether [`Trust::ca_der`] can be a trust anchor: DER X.509 with
    /// basicConstraints cA TRUE, keyCertSign if it has a keyUsage, no
    /// nameConstraints and no critical extension the verifier does not
    /// process ([`check_anchor`]). Call it when the certificate is
    /// installed; [`Board::new`] calls it once too.
    pub fn check(&self) -> Result<(), ChainError> {
        check_anchor(self.ca_der)
    }
}

/// Resolve `host` and open a TCP connection to `port` on the socket buffers
/// `rx` and `tx`: the part of opening a link both TLS options share.
pub(crate) async fn connect_tcp<'a, 'd: 'a, R, N, C>(
    board: &mut Board<'d, R, N, C>,
    rx: &'a mut [u8],
    tx: &'a mut [u8],
    host: &str,
    port: u16,
) -> Result<embassy_net::tcp::TcpSocket<'a>, Id>
where
    R: RngCore + CryptoRng,
    N: Resolve,
    C: TlsClock,
{
    let Some(ip) = board.resolver.resolve(host).await else {
        log_warn!("no address for the server");
        return Err(Id::DnsFailed);
    };
    let mut socket = embassy_net::tcp::TcpSocket::new(board.stack, rx, tx);
    socket.set_timeout(Some(IO_TIMEOUT));
    match with_timeout(IO_TIMEOUT, socket.connect((ip, port))).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return Err(Id::ConnectFailed),
        Err(_) => return Err(Id::NetworkTimeout),
    }
    log_debug!("tcp connected to port {=u16}", port);
    Ok(socket)
}

/// Memory for one connection, lent by the caller.
#[derive(Debug)]
pub struct LinkBuffers<'b> {
    /// The TCP socket's receive buffer (a few KiB).
    pub socket_rx: &'b mut [u8],
    /// The TCP socket's transmit buffer (a few KiB).
    pub socket_tx: &'b mut [u8],
    /// TLS record read buffer ([`TLS_READ_BUF_LEN`]).
    pub tls_read: &'b mut [u8],
    /// TLS record write buffer ([`TLS_WRITE_BUF_LEN`]).
    pub tls_write: &'b mut [u8],
}

/// All the memory the driver uses, lent by the caller: the SMTP connection
/// and the token endpoint's connection are open at the same time when a
/// token is refreshed in the middle of a session, so each has its own.
#[derive(Debug)]
pub struct Buffers<'b> {
    /// The SMTP connection.
    pub smtp: LinkBuffers<'b>,
    /// The token endpoint's connection.
    pub token: LinkBuffers<'b>,
    /// Requests and commands to send ([`MIN_OUT_BUF_LEN`]); during DATA
    /// its first half holds body input and its second half the
    /// dot-stuffed output.
    pub out: &'b mut [u8],
    /// Server input ([`MIN_INPUT_BUF_LEN`]); during a job, half for each
    /// link.
    pub input: &'b mut [u8],
}

impl Buffers<'_> {
    fn check(&self) -> Result<(), Id> {
        let link_ok = |l: &LinkBuffers<'_>| {
            !l.socket_rx.is_empty()
                && !l.socket_tx.is_empty()
                && l.tls_write.len() > embedded_tls::TLS_RECORD_OVERHEAD
                && !l.tls_read.is_empty()
        };
        if link_ok(&self.smtp)
            && link_ok(&self.token)
            && self.out.len() >= MIN_OUT_BUF_LEN
            && self.input.len() >= MIN_INPUT_BUF_LEN
        {
            Ok(())
        } else {
            Err(Id::InvalidArgument)
        }
    }
}

/// What the firmware must do for the token store during a job.
pub trait Observer {
    /// The store changed: write the persistence image
    /// ([`StoreEvent::Persist`], for example a rotated refresh token,
    /// R-TOK-2), or show a notice (R-TOK-4). Called during [`Board::run`].
    fn store_event<U: UserSlots>(&mut self, store: &TokenStore<U>, event: &StoreEvent);
}

/// An [`Observer`] that ignores everything (tests, or a board that
/// persists the store after every job).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ignore;

impl Observer for Ignore {
    fn store_event<U: UserSlots>(&mut self, _: &TokenStore<U>, _: &StoreEvent) {}
}

/// The driver: the network stack, the trust anchor, the RNG for TLS, the
/// resolver and the name the printer gives in EHLO.
pub struct Board<'d, R, N, C = NoClock> {
    stack: Stack<'d>,
    trust: Trust<'d>,
    rng: R,
    resolver: N,
    ehlo: &'d str,
    /// [`Trust::check`], once, when the board was made.
    anchor: Result<(), ChainError>,
    /// The TLS versions the connections offer (`tls-rustls`): the
    /// settings' range ([`board_settings`]) of the last [`Board::run`], or
    /// [`Board::set_tls_range`]'s.
    #[cfg_attr(not(feature = "tls-rustls"), allow(dead_code))]
    tls_range: (TlsVersion, TlsVersion),
    clock: core::marker::PhantomData<C>,
}

impl<R, N, C> core::fmt::Debug for Board<'_, R, N, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Board")
            .field("ehlo", &self.ehlo)
            .finish_non_exhaustive()
    }
}

impl<'d, R, N> Board<'d, R, N, NoClock>
where
    R: RngCore + CryptoRng,
    N: Resolve,
{
    /// A driver on `stack` that does not check certificate dates (the
    /// board has no wall clock; see the crate docs). `ehlo` is the
    /// printer's host name or address literal (`[192.0.2.7]`) for EHLO.
    pub fn new(stack: Stack<'d>, trust: Trust<'d>, rng: R, resolver: N, ehlo: &'d str) -> Self {
        Self::with_clock(stack, trust, rng, resolver, ehlo)
    }
}

impl<'d, R, N, C> Board<'d, R, N, C>
where
    R: RngCore + CryptoRng,
    N: Resolve,
    C: TlsClock,
{
    /// A driver whose certificate checks include the validity dates, with
    /// the wall clock `C` (UNIX seconds, from an RTC or SNTP).
    pub fn with_clock(
        stack: Stack<'d>,
        trust: Trust<'d>,
        rng: R,
        resolver: N,
        ehlo: &'d str,
    ) -> Self {
        let anchor = trust.check();
        if let Err(e) = anchor {
            log_warn!("trust anchor refused: {}", e);
        }
        Board {
            stack,
            trust,
            rng,
            resolver,
            ehlo,
            anchor,
            tls_range: TLS_RANGE,
            clock: core::marker::PhantomData,
        }
    }

    /// The TLS versions the board's connections offer, narrowed to
    /// [`TLS_RANGE`]: give the administrator's `tls_min` and `tls_max`
    /// before [`Board::drive_oauth`] ([`Board::run`] takes them from the
    /// `Mailer`'s settings itself). With `embedded-tls`, TLS 1.3 is the only
    /// version whatever is given.
    pub fn set_tls_range(&mut self, min: TlsVersion, max: TlsVersion) {
        self.tls_range = (min.max(TLS_RANGE.0), max.min(TLS_RANGE.1));
    }

    /// Carry out `plan` (from [`Mailer::submit`], or from
    /// [`Mailer::handle_oauth_event`] after a sign-in) and the plans that
    /// follow, until the job is done or failed or someone must sign in;
    /// returns that plan. `oauth` carries the refresh grants (built from
    /// [`Settings::provider_profile`] and [`Settings::app_registration`]);
    /// `body` is the whole message (MIME), read as it is sent.
    pub async fn run<U: UserSlots, B, Body>(
        &mut self,
        mailer: &mut Mailer<U>,
        oauth: &mut oauth::Client<B>,
        plan: Plan,
        body: &mut Body,
        bufs: &mut Buffers<'_>,
        observer: &mut impl Observer,
    ) -> Plan
    where
        B: AsMut<[u8]>,
        Body: JobBody,
    {
        // R-RULE-2: nothing reaches the network with settings this board
        // cannot honour.
        if let Err(diag) = check_settings(mailer.settings()) {
            log_warn!("settings refused: E{=u16}", diag.number());
            let plan = mailer.cancel(now(), diag);
            return self.finish(mailer, plan, observer);
        }
        if let Err(diag) = bufs.check() {
            let plan = mailer.cancel(now(), diag);
            return self.finish(mailer, plan, observer);
        }
        self.set_tls_range(mailer.settings().tls_min, mailer.settings().tls_max);
        let Buffers {
            smtp,
            token,
            out,
            input,
        } = bufs;
        // Server input the SMTP client has not taken yet must survive a
        // refresh in the middle of the session: each link reads into its
        // own half.
        let (input, token_input) = input.split_at_mut(input.len() / 2);
        // Whether the body was read in this job: a second `ReadyForBody`
        // (a mail API's retry, a resumed upload) reads it again from its
        // first octet.
        let mut body = JobBodyRead { body, read: false };
        let mut io = JobIo {
            oauth,
            token,
            out,
            input,
            token_input,
        };
        let mut plan = plan;
        // Bounded by the core: it fails a job that goes through more than
        // `limits::MAX_PLANS` plans (R-ENGINE).
        loop {
            self.drain_store(mailer, observer);
            plan = match plan {
                Plan::TokenExchange { .. } => self.refresh(mailer, &mut io).await,
                Plan::Connect {
                    host,
                    port,
                    security,
                } => {
                    let to = (host.as_str(), port, security);
                    self.connection(mailer, smtp, to, &mut io, &mut body, observer)
                        .await
                }
                // A session needs the connection its `Connect` opened.
                Plan::Session => mailer.cancel(now(), Id::WrongState),
                end => return self.finish(mailer, end, observer),
            };
        }
    }

    /// A refresh (or an app-only grant with the app's client secret) on
    /// the token link; returns the next plan.
    async fn refresh<U: UserSlots, B: AsMut<[u8]>>(
        &mut self,
        mailer: &mut Mailer<U>,
        io: &mut JobIo<'_, '_, B>,
    ) -> Plan {
        log_info!("refreshing the access token");
        // No wall clock is given: an app-only grant the board would have
        // to sign and date (certificate, service account) stops at once
        // with E443, before any octet (and before the `jti` octets,
        // unused, are read).
        let started = mailer.start_token_request(now(), None, &[0; 16], io.oauth);
        let r = match started {
            Ok(()) => {
                let ev = self
                    .flow(io.oauth, io.token, io.out, io.token_input, &mut |_, _| {})
                    .await;
                mailer.handle_oauth_event(now(), None, io.oauth, ev)
            }
            // The flow did not start: no answer from the token endpoint
            // to classify.
            Err(e) => mailer.exchange_failed(now(), false, e.diag()).map(Some),
        };
        match r {
            Ok(Some(p)) => p,
            Ok(None) => mailer.plan().clone(),
            Err(e) => mailer.cancel(now(), e.diag()),
        }
    }

    /// One connection to the mail server or the mail API, from its
    /// `Connect` to its close, borrowing the link's buffers for that time
    /// only: a mail API job can need several in turn (a refused token
    /// asked again, a throttled request after its wait, a resumed
    /// upload). Carries the plans that belong to the open connection: the
    /// session, a refresh in its middle (SMTP's refresh-and-retry of
    /// `AUTH`), and a `Connect` again before any session ran on it (the
    /// token expired between the plan and the connection: the session
    /// starts on it). Returns the first plan that needs another
    /// connection or none, once this one is closed.
    async fn connection<U: UserSlots, B: AsMut<[u8]>, Body: JobBody>(
        &mut self,
        mailer: &mut Mailer<U>,
        link: &mut LinkBuffers<'_>,
        (host, port, security): (&str, u16, Security),
        io: &mut JobIo<'_, '_, B>,
        body: &mut JobBodyRead<'_, Body>,
        observer: &mut impl Observer,
    ) -> Plan {
        log_info!("connecting to port {=u16}", port);
        let start = match security {
            Security::ImplicitTls => Start::Smtps,
            _ => Start::Plain,
        };
        let mut conn = Conn::Closed;
        let opened = conn.open(self, link, host, port, start).await;
        let mut plan = match opened {
            Ok(()) => mailer.connected(now(), self.ehlo),
            Err(diag) => mailer.connect_failed(diag),
        }
        .unwrap_or_else(|e| mailer.cancel(now(), e.diag()));
        let mut pump = Pump::default();
        let mut session_ran = false;
        loop {
            self.drain_store(mailer, observer);
            plan = match plan {
                Plan::Session if conn.is_open() => {
                    session_ran = true;
                    let (out, input) = (&mut *io.out, &mut *io.input);
                    self.session(mailer, &mut conn, &mut pump, body, out, input, observer)
                        .await
                }
                Plan::TokenExchange { .. } if conn.is_open() => self.refresh(mailer, io).await,
                Plan::Connect { .. } if conn.is_open() && !session_ran => mailer
                    .connected(now(), self.ehlo)
                    .unwrap_or_else(|e| mailer.cancel(now(), e.diag())),
                next => {
                    conn.close().await;
                    return next;
                }
            };
        }
    }

    fn finish<U: UserSlots>(
        &self,
        mailer: &mut Mailer<U>,
        plan: Plan,
        observer: &mut impl Observer,
    ) -> Plan {
        self.drain_store(mailer, observer);
        match &plan {
            Plan::Done { reply, .. } => log_info!("job done: {=u16}", reply.code),
            Plan::Failed { diag } => log_warn!("job failed: E{=u16}", diag.number()),
            _ => log_info!("job waits for a sign-in"),
        }
        plan
    }

    fn drain_store<U: UserSlots>(&self, mailer: &mut Mailer<U>, observer: &mut impl Observer) {
        // Only store events are queued outside a session.
        while let Some(ev) = mailer.poll_store_event() {
            observer.store_event(mailer.store(), &ev);
        }
    }

    /// Run an OAuth flow already started on `client` (a device-flow or
    /// authorization-code sign-in, or a refresh) to its end, carrying each
    /// request over HTTPS on the token link of `bufs` and waiting as the
    /// client says; `on_event` sees the other events (show the user code
    /// on `UserCode`). Returns the terminal event for
    /// [`Mailer::handle_oauth_event`] or [`Mailer::acquire_admin`].
    ///
    /// The browser flow's redirect is not received here: start the flow,
    /// let the firmware's web server receive the redirect and give it to
    /// [`oauth::Client::handle_redirect`], then call this to carry the code
    /// exchange.
    pub async fn drive_oauth<B: AsMut<[u8]>>(
        &mut self,
        client: &mut oauth::Client<B>,
        bufs: &mut Buffers<'_>,
        on_event: &mut dyn FnMut(&oauth::Client<B>, oauth::Event),
    ) -> oauth::Event {
        if bufs.check().is_err() {
            return oauth::Event::Failed(OAuthError::WrongState);
        }
        let Buffers {
            token, out, input, ..
        } = bufs;
        self.flow(client, token, out, input, on_event).await
    }

    async fn flow<B: AsMut<[u8]>>(
        &mut self,
        client: &mut oauth::Client<B>,
        link: &mut LinkBuffers<'_>,
        out: &mut [u8],
        input: &mut [u8],
        on_event: &mut dyn FnMut(&oauth::Client<B>, oauth::Event),
    ) -> oauth::Event {
        // Bounded: the core ends every flow (expiry, retry limit); this cap
        // only guards against a core bug.
        for _ in 0..10_000u32 {
            while let Some(ev) = client.poll_event() {
                match ev {
                    oauth::Event::AccessToken { .. }
                    | oauth::Event::ReauthRequired(_)
                    | oauth::Event::Failed(_) => return ev,
                    other => on_event(client, other),
                }
            }
            let request = match client.poll_transmit(now(), out) {
                Ok(t) => t.map(|t| (t.len, t.last, t.endpoint.clone())),
                Err(_) => return oauth::Event::Failed(OAuthError::WrongState),
            };
            if let Some((len, last, endpoint)) = request {
                let first = Piece { len, last };
                self.exchange(client, link, &endpoint, first, out, input)
                    .await;
                continue;
            }
            let Some(deadline) = client.poll_timeout() else {
                return oauth::Event::Failed(client.last_error().unwrap_or(OAuthError::WrongState));
            };
            Timer::at(at(deadline)).await;
            client.handle_timeout(now());
        }
        oauth::Event::Failed(client.last_error().unwrap_or(OAuthError::WrongState))
    }

    /// One request on its own HTTPS connection, the response fed to the
    /// client until the server closes or the client's deadline passes.
    /// The request's first piece is in `out` (`first`); a request longer
    /// than `out` follows piece by piece on the same connection.
    async fn exchange<B: AsMut<[u8]>>(
        &mut self,
        client: &mut oauth::Client<B>,
        link: &mut LinkBuffers<'_>,
        endpoint: &mfp_oauth_core::provider::Endpoint,
        first: Piece,
        out: &mut [u8],
        input: &mut [u8],
    ) {
        // The request carries a secret (refresh token, code, verifier):
        // never without TLS.
        if !endpoint.tls() {
            client.handle_transport_error(now(), TransportError::Tls);
            return;
        }
        log_debug!("token request: {=usize} octets", first.len);
        let mut conn = Conn::Closed;
        let opened = conn
            .open(self, link, endpoint.host(), endpoint.port(), Start::Https)
            .await;
        if let Err(diag) = opened {
            client.handle_transport_error(now(), transport_error(diag));
            return;
        }
        let mut piece = first;
        loop {
            if conn
                .send(out.get(..piece.len).unwrap_or_default())
                .await
                .is_err()
            {
                conn.close().await;
                client.handle_transport_error(now(), TransportError::Io);
                return;
            }
            if piece.last {
                break;
            }
            piece = match client.poll_transmit(now(), out) {
                Ok(Some(t)) => Piece {
                    len: t.len,
                    last: t.last,
                },
                // The request ended early (an answer, a deadline): read it.
                _ => break,
            };
        }
        loop {
            let deadline = client.poll_timeout();
            let read = match deadline {
                Some(d) => with_deadline(at(d), conn.read(input)).await.ok(),
                None => with_timeout(IO_TIMEOUT, conn.read(input)).await.ok(),
            };
            match read {
                None if deadline.is_some() => {
                    client.handle_timeout(now());
                    break;
                }
                None => {
                    client.handle_transport_error(now(), TransportError::Timeout);
                    break;
                }
                Some(Ok(0)) | Some(Err(tls::ReadError::Closed)) => {
                    client.handle_close(now());
                    break;
                }
                Some(Ok(n)) => {
                    let _ = client.handle_input(now(), input.get(..n).unwrap_or_default());
                    if client.is_finished() || !client.is_awaiting_response() {
                        break;
                    }
                }
                Some(Err(tls::ReadError::Io)) => {
                    client.handle_transport_error(now(), TransportError::Io);
                    break;
                }
            }
        }
        conn.close().await;
    }

    /// Pump the SMTP session until the plan changes.
    #[allow(clippy::too_many_arguments)]
    async fn session<U: UserSlots, Body: JobBody>(
        &mut self,
        mailer: &mut Mailer<U>,
        conn: &mut Conn<'_>,
        pump: &mut Pump,
        body: &mut JobBodyRead<'_, Body>,
        out: &mut [u8],
        input: &mut [u8],
        observer: &mut impl Observer,
    ) -> Plan {
        // Bounded by the SMTP client's own deadlines: every wait ends with
        // input, a close or a timeout, and every timeout ends the session.
        loop {
            // Events, transmits, then the events the transmits caused
            // (a write failure), before waiting for the server.
            for _ in 0..2 {
                while let Some(step) = mailer.poll_event(now()) {
                    match step {
                        Step::Store(ev) => observer.store_event(mailer.store(), &ev),
                        Step::PlanChanged => return mailer.plan().clone(),
                        Step::Smtp(ev) => {
                            log_event(&ev);
                            if !mailer.has_smtp_session() {
                                continue;
                            }
                            match ev {
                                Event::UpgradeTls => match conn.upgrade(self).await {
                                    Ok(()) => {
                                        let _ = mailer.handle_smtp_tls_established(now());
                                    }
                                    // The reason (a refused certificate: E604,
                                    // E607, E608, E609; no TLS version in
                                    // common: E610) is the session's, and so
                                    // the job's, result, not "closed".
                                    Err(diag) => {
                                        let _ = mailer.handle_smtp_tls_failed(now(), diag);
                                    }
                                },
                                Event::ReadyForBody => {
                                    stream_body(mailer, conn, body, out).await;
                                }
                                _ => {}
                            }
                        }
                        _ => {}
                    }
                }
                if !matches!(mailer.plan(), Plan::Session) {
                    return mailer.plan().clone();
                }
                if !mailer.has_smtp_session() {
                    return mailer.plan().clone();
                }
                let _ = flush(mailer, conn, out).await;
            }
            if !mailer.has_smtp_session() {
                return mailer.plan().clone();
            }
            pump.wait(mailer, conn, input).await;
        }
    }
}

/// What a job's connections and refreshes share: the refresh's client,
/// the token link, and the driver's buffers.
struct JobIo<'i, 'b, B: AsMut<[u8]>> {
    oauth: &'i mut oauth::Client<B>,
    token: &'i mut LinkBuffers<'b>,
    out: &'i mut [u8],
    input: &'i mut [u8],
    token_input: &'i mut [u8],
}

/// The job's body and whether it was read in this job.
struct JobBodyRead<'b, Body> {
    body: &'b mut Body,
    read: bool,
}

/// Leftover server input (indices into the input buffer) that the client
/// did not take yet.
#[derive(Debug, Default)]
struct Pump {
    start: usize,
    end: usize,
}

impl Pump {
    async fn wait<U: UserSlots>(
        &mut self,
        mailer: &mut Mailer<U>,
        conn: &mut Conn<'_>,
        input: &mut [u8],
    ) {
        if self.start < self.end {
            let data = input.get(self.start..self.end).unwrap_or_default();
            // No session: nothing takes them.
            let used = mailer.handle_smtp_input(now(), data).unwrap_or(0);
            // Nothing taken: the client will not take these octets in its
            // state (for example after the reply to STARTTLS, RFC 3207
            // §5): they are dropped.
            self.start = match used {
                0 => self.end,
                n => self.start.saturating_add(n).min(self.end),
            };
            return;
        }
        let deadline = mailer.poll_smtp_timeout().ok().flatten();
        let read = match deadline {
            Some(d) => with_deadline(at(d), conn.read(input)).await.ok(),
            None => with_timeout(IO_TIMEOUT, conn.read(input)).await.ok(),
        };
        // Answered `WrongState` only when no session runs: nothing to tell.
        match read {
            None if deadline.is_some() => {
                let _ = mailer.handle_smtp_timeout(now());
            }
            None | Some(Ok(0)) | Some(Err(_)) => {
                let _ = mailer.handle_smtp_close(now());
            }
            Some(Ok(n)) => {
                let data = input.get(..n).unwrap_or_default();
                let used = mailer.handle_smtp_input(now(), data).unwrap_or(n);
                (self.start, self.end) = (used.min(n), n);
            }
        }
    }
}

/// Write every transmit the session has; a failed write tells the session
/// the connection closed.
async fn flush<U: UserSlots>(
    mailer: &mut Mailer<U>,
    conn: &mut Conn<'_>,
    out: &mut [u8],
) -> Result<(), ()> {
    loop {
        match mailer.poll_smtp_transmit(now(), out) {
            Ok(Some(t)) => {
                // `t.sensitive`: the octets carry the token; only the
                // length is ever logged.
                log_debug!("smtp transmit: {=usize} octets", t.len);
                let bytes = out.get(..t.len).unwrap_or_default();
                if conn.send(bytes).await.is_err() {
                    let _ = mailer.handle_smtp_close(now());
                    return Err(());
                }
            }
            Ok(None) | Err(_) => return Ok(()),
        }
    }
}

/// Stream the body (after `ReadyForBody`, once the commands before it are
/// out), dot-stuffed by the client, then queue the end of data. A failure
/// tells the client the connection closed, so no partial message is
/// reported sent.
async fn stream_body<U: UserSlots, Body: JobBody>(
    mailer: &mut Mailer<U>,
    conn: &mut Conn<'_>,
    body: &mut JobBodyRead<'_, Body>,
    out: &mut [u8],
) {
    if flush(mailer, conn, out).await.is_err() {
        return;
    }
    let first = !core::mem::replace(&mut body.read, true);
    if !first && body.body.restart().await.is_err() {
        // The message cannot be read again: as a failed read, the
        // connection is given up before the end of the body, so nothing
        // incomplete is ever reported sent, nor anything sent twice.
        log_warn!("the body cannot be read again");
        let _ = mailer.handle_smtp_close(now());
        return;
    }
    let body = &mut *body.body;
    let half = out.len() / 2;
    let (chunk_buf, wire) = out.split_at_mut(half);
    let mut sent: usize = 0;
    loop {
        let n = match body.read(chunk_buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) => {
                let _ = mailer.handle_smtp_close(now());
                return;
            }
        };
        let mut chunk = chunk_buf.get(..n).unwrap_or_default();
        while !chunk.is_empty() {
            let Ok(p) = mailer.write_smtp_body(chunk, wire) else {
                let _ = mailer.handle_smtp_close(now());
                return;
            };
            if conn
                .send_within(
                    wire.get(..p.written).unwrap_or_default(),
                    DATA_BLOCK_TIMEOUT,
                )
                .await
                .is_err()
            {
                let _ = mailer.handle_smtp_close(now());
                return;
            }
            chunk = chunk.get(p.consumed..).unwrap_or_default();
        }
        sent = sent.saturating_add(n);
    }
    log_debug!("body: {=usize} octets", sent);
    let _ = sent;
    let _ = mailer.finish_smtp_body(now());
}

fn log_event(ev: &Event) {
    #[cfg(feature = "defmt")]
    defmt::info!("smtp: {}", ev);
    let _ = ev;
}

/// One piece of a token request written into the driver's `out`.
#[derive(Debug, Clone, Copy)]
struct Piece {
    len: usize,
    last: bool,
}

fn transport_error(diag: Id) -> TransportError {
    match diag {
        Id::DnsFailed => TransportError::Dns,
        Id::ConnectFailed => TransportError::Connect,
        Id::CertificateInvalid => TransportError::Certificate,
        Id::CertificateExpired => TransportError::CertificateExpired,
        Id::CertificateWrongName => TransportError::CertificateWrongName,
        Id::CertificateUntrusted => TransportError::CertificateUntrusted,
        Id::TlsVersionMismatch => TransportError::TlsVersion,
        Id::NetworkTimeout => TransportError::Timeout,
        Id::TlsHandshakeFailed => TransportError::Tls,
        _ => TransportError::Io,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use mfp_oauth_core::config::{ConfigError, ProviderKind, SmtpServer};
    use mfp_oauth_core::Address;

    fn configured(provider: ProviderKind) -> Settings {
        Settings {
            oauth_enabled: true,
            provider,
            admin_address: Some(Address::parse("admin@contoso.com").unwrap()),
            smtp: SmtpServer::new("smtp.office365.com", 587, Security::StartTls),
            webdav_http: mfp_oauth_core::config::WebDavHttpVersion::Http2Http11,
            ..Settings::default()
        }
    }

    // R-RULE-2: the board's range is TLS 1.3 only, so Microsoft is refused
    // with its own diagnostic and Google is not.
    #[cfg(not(feature = "tls-rustls"))]
    #[test]
    fn microsoft_is_not_available_with_the_boards_tls_range() {
        assert_eq!(TLS_RANGE, (TlsVersion::Tls13, TlsVersion::Tls13));
        let ms = configured(ProviderKind::Microsoft);
        // Valid with the device's default range (1.2 to 1.3)...
        assert!(ms.validate().is_empty(), "{:?}", ms.validate());
        // ...but not on this board.
        assert!(board_settings(ms.clone())
            .validate()
            .contains(ConfigError::MicrosoftTls13Only));
        assert_eq!(check_settings(&ms), Err(Id::MicrosoftTls13Only));
        let mut m = Mailer::new(Settings::default(), TokenStore::new());
        let refused = apply_settings(&mut m, ms).unwrap_err();
        assert_eq!(refused.first(), Some(ConfigError::MicrosoftTls13Only));
        assert_eq!(Id::MicrosoftTls13Only.number(), 202);
        let google = configured(ProviderKind::Google);
        assert_eq!(check_settings(&google), Ok(()));
        assert!(apply_settings(&mut m, google).is_ok());
        assert_eq!(
            (m.settings().tls_min, m.settings().tls_max),
            TLS_RANGE,
            "the applied settings say what the board speaks"
        );
    }

    // The driver takes a mailer whatever keeps its user slots: a board
    // lends as many as the users it keeps signed in (R-MEM).
    #[test]
    fn a_boards_mailer_may_keep_its_user_slots_in_storage_it_lends() {
        use mfp_oauth_core::token::UserSlot;
        let mut slots: [UserSlot; 2] = [None, None];
        let mut m = Mailer::new(
            Settings::default(),
            TokenStore::with_user_slots(&mut slots[..]),
        );
        assert!(apply_settings(&mut m, configured(ProviderKind::Google)).is_ok());
        assert_eq!(m.store().user_capacity(), 2);
        assert_eq!(m.settings().provider, ProviderKind::Google);
    }

    // A range without TLS 1.3 is refused by embedded-tls's board (it was
    // widened to TLS 1.3 before): the minimum narrowed to 1.3 ends above
    // the maximum.
    #[cfg(not(feature = "tls-rustls"))]
    #[test]
    fn a_tls12_only_range_is_refused_with_embedded_tls() {
        let mut s = configured(ProviderKind::Google);
        (s.tls_min, s.tls_max) = (TlsVersion::Tls12, TlsVersion::Tls12);
        assert!(s.validate().is_empty(), "{:?}", s.validate());
        assert_eq!(check_settings(&s), Err(Id::TlsRangeInvalid));
        let mut m = Mailer::new(Settings::default(), TokenStore::new());
        let refused = apply_settings(&mut m, s).unwrap_err();
        assert_eq!(refused.first(), Some(ConfigError::TlsRangeInvalid));
        // The device's default range (1.2 to 1.3) narrows to 1.3.
        let s = configured(ProviderKind::Google);
        let b = board_settings(s);
        assert_eq!((b.tls_min, b.tls_max), TLS_RANGE);
    }

    // With rustls the board speaks TLS 1.2 and 1.3: Microsoft is available
    // with the device's default range, and the settings' range is kept
    // (and offered: tests/rustls_link.rs).
    #[cfg(feature = "tls-rustls")]
    #[test]
    fn microsoft_is_available_with_rustls_and_the_range_is_the_settings() {
        assert_eq!(TLS_RANGE, (TlsVersion::Tls12, TlsVersion::Tls13));
        let ms = configured(ProviderKind::Microsoft);
        assert!(!board_settings(ms.clone())
            .validate()
            .contains(ConfigError::MicrosoftTls13Only));
        assert_eq!(check_settings(&ms), Ok(()));
        let mut m = Mailer::new(Settings::default(), TokenStore::new());
        assert!(apply_settings(&mut m, ms.clone()).is_ok());
        for range in [
            (TlsVersion::Tls12, TlsVersion::Tls12),
            (TlsVersion::Tls12, TlsVersion::Tls13),
        ] {
            let mut s = ms.clone();
            (s.tls_min, s.tls_max) = range;
            let b = board_settings(s);
            assert_eq!((b.tls_min, b.tls_max), range);
        }
        // TLS 1.3 only is still R-RULE-2's refusal for Microsoft.
        let mut s = ms;
        (s.tls_min, s.tls_max) = (TlsVersion::Tls13, TlsVersion::Tls13);
        assert_eq!(check_settings(&s), Err(Id::MicrosoftTls13Only));
    }

    #[test]
    fn hosts_resolve_names_case_insensitively_and_ipv4_literals() {
        let ip = IpAddress::Ipv4(core::net::Ipv4Addr::new(192, 0, 2, 7));
        let table = [("smtp.example.com", ip)];
        let mut h = Hosts(&table);
        let r = |h: &mut Hosts<'_>, name: &str| embassy_futures::block_on(h.resolve(name));
        assert_eq!(r(&mut h, "SMTP.example.com"), Some(ip));
        assert_eq!(
            r(&mut h, "192.0.2.9"),
            Some(IpAddress::Ipv4(core::net::Ipv4Addr::new(192, 0, 2, 9)))
        );
        assert_eq!(r(&mut h, "other.example.com"), None);
    }

    #[test]
    fn short_buffers_are_refused() {
        let mut a = [[0u8; 600]; 8];
        let mut out = [0u8; MIN_OUT_BUF_LEN];
        let mut input = [0u8; MIN_INPUT_BUF_LEN];
        let [a0, a1, a2, a3, a4, a5, a6, a7] = &mut a;
        let mut bufs = Buffers {
            smtp: LinkBuffers {
                socket_rx: a0,
                socket_tx: a1,
                tls_read: a2,
                tls_write: a3,
            },
            token: LinkBuffers {
                socket_rx: a4,
                socket_tx: a5,
                tls_read: a6,
                tls_write: a7,
            },
            out: &mut out,
            input: &mut input,
        };
        assert_eq!(bufs.check(), Ok(()));
        bufs.input = &mut [];
        assert_eq!(bufs.check(), Err(Id::InvalidArgument));
    }
}
