//! One connection of the driver with the `tls-rustls` option: TCP from
//! embassy-net, then TLS 1.2 or 1.3 from rustls's no_std unbuffered client
//! (from the start, or after STARTTLS), with the driver's RustCrypto
//! provider ([`crate::crypto`]) and the server's chain checked by
//! [`check_chain`](crate::check_chain)'s rules, then by webpki (signatures
//! up to the trust anchor, the host name, the dates with a clock).
//!
//! rustls needs an allocator: the firmware defines the global allocator
//! (for example `embedded-alloc` with a fixed heap; the crate docs give the
//! size measured). The TLS records themselves go through the caller's
//! [`LinkBuffers`], as with embedded-tls.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use embassy_net::tcp::TcpSocket;
use embassy_time::with_timeout;
use embedded_io_async::{Read, Write};
use embedded_tls::TlsClock;
use mfp_oauth_core::config::{HostName, TlsVersion};
use mfp_oauth_core::diag::{Diagnostic, Id};
use rand_core::{CryptoRng, RngCore};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, UnbufferedClientConnection};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::time_provider::TimeProvider;
use rustls::unbuffered::{ConnectionState, UnbufferedStatus};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, Error,
    PeerIncompatible, SignatureScheme, SupportedProtocolVersion,
};

use crate::crypto;
use crate::log::{log_debug, log_warn};
use crate::verify::{check_der_chain, latest_not_before};
use crate::{Board, LinkBuffers, Resolve, IO_TIMEOUT};

/// The largest certificate chain a server may send, in octets: rustls
/// keeps the chain on the heap, up to its own limit on a handshake message
/// (64 KiB); the embedded-tls option keeps 4 KiB in the driver's future.
pub const MAX_CERT_CHAIN_LEN: usize = 65_536;

/// The TLS versions this option speaks.
pub(crate) const VERSIONS: (TlsVersion, TlsVersion) = (TlsVersion::Tls12, TlsVersion::Tls13);

/// Room kept in the write buffer for a record's header, nonce and tag.
const RECORD_OVERHEAD: usize = 64;

/// ALPN for the token endpoint.
const HTTP11: &[u8] = b"http/1.1";

/// Why a read or write of a [`TlsStream`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LinkError {
    /// The peer closed (FIN, or TLS close_notify).
    Closed,
    /// Anything else (the transport failed, a record did not decrypt,
    /// rustls refused).
    Io,
}

pub(crate) use LinkError as ReadError;

/// How a connection starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Plain TCP (SMTP before STARTTLS).
    Plain,
    /// TLS at once, no ALPN (SMTP on the implicit-TLS port).
    Smtps,
    /// TLS at once with ALPN `http/1.1` (the token endpoint).
    Https,
}

/// The rustls versions within `range` (settings' minimum and maximum).
fn versions(range: (TlsVersion, TlsVersion)) -> Vec<&'static SupportedProtocolVersion> {
    let (min, max) = range;
    let mut v = Vec::new();
    if min <= TlsVersion::Tls13 && TlsVersion::Tls13 <= max {
        v.push(&rustls::version::TLS13);
    }
    if min <= TlsVersion::Tls12 && TlsVersion::Tls12 <= max {
        v.push(&rustls::version::TLS12);
    }
    v
}

/// Wall-clock time for rustls: the board's clock, or the epoch when it has
/// none (the verifier then picks its own instant: see [`Verifier`]).
#[derive(Debug)]
struct Time(fn() -> Option<u64>);

impl TimeProvider for Time {
    fn current_time(&self) -> Option<UnixTime> {
        let secs = (self.0)().unwrap_or(0);
        Some(UnixTime::since_unix_epoch(core::time::Duration::from_secs(
            secs,
        )))
    }
}

/// The server's chain: the driver's path checks ([`check_der_chain`], the
/// same as the embedded-tls option's [`crate::ConstrainedVerifier`]), then
/// webpki with the provider's algorithms.
struct Verifier {
    anchor: Vec<u8>,
    /// The board's wall clock ([`TlsClock::now`]).
    now: fn() -> Option<u64>,
}

impl core::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Verifier")
            .field("anchor_len", &self.anchor.len())
            .finish()
    }
}

fn webpki_error(e: webpki::Error) -> Error {
    use webpki::Error as W;
    Error::InvalidCertificate(match e {
        W::CertExpired { .. } => CertificateError::Expired,
        W::CertNotValidYet { .. } => CertificateError::NotValidYet,
        W::CertNotValidForName(_) => CertificateError::NotValidForName,
        W::UnknownIssuer => CertificateError::UnknownIssuer,
        W::InvalidSignatureForPublicKey
        | W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => CertificateError::BadSignature,
        _ => CertificateError::BadEncoding,
    })
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let mut issuers = intermediates.iter().map(|c| Ok(c.as_ref()));
        if let Err(e) = check_der_chain(&self.anchor, end_entity.as_ref(), &mut issuers) {
            log_warn!("certificate chain refused: {}", e);
            return Err(Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        let anchor = CertificateDer::from(self.anchor.as_slice());
        let anchors = [webpki::anchor_from_trusted_cert(&anchor)
            .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?];
        let leaf = webpki::EndEntityCert::try_from(end_entity).map_err(webpki_error)?;
        // Without a wall clock the dates are not checked (as with the
        // embedded-tls option): the chain is verified at the latest start
        // of its certificates' periods, which refuses only a chain whose
        // periods do not overlap.
        let secs = match (self.now)() {
            Some(now) => now,
            None => latest_not_before(
                core::iter::once(end_entity.as_ref())
                    .chain(intermediates.iter().map(|c| c.as_ref())),
            )
            .ok_or(Error::InvalidCertificate(CertificateError::BadEncoding))?,
        };
        let time = UnixTime::since_unix_epoch(core::time::Duration::from_secs(secs));
        leaf.verify_for_usage(
            crypto::ALGORITHMS.all,
            &anchors,
            intermediates,
            time,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .map_err(webpki_error)?;
        leaf.verify_is_valid_for_subject_name(server_name)
            .map_err(webpki_error)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &crypto::ALGORITHMS)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &crypto::ALGORITHMS)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        crypto::ALGORITHMS.supported_schemes()
    }
}

/// What a failed handshake means for the administrator.
fn handshake_diag(e: &Error) -> Id {
    match e {
        Error::InvalidCertificate(c) => match c {
            CertificateError::Expired
            | CertificateError::NotValidYet
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYetContext { .. } => Id::CertificateExpired,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                Id::CertificateWrongName
            }
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                Id::CertificateUntrusted
            }
            _ => Id::CertificateInvalid,
        },
        Error::AlertReceived(AlertDescription::ProtocolVersion) => Id::TlsVersionMismatch,
        Error::PeerIncompatible(
            PeerIncompatible::ServerDoesNotSupportTls12Or13
            | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
            | PeerIncompatible::SupportedVersionsExtensionRequired
            | PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::Tls12NotOfferedOrEnabled,
        ) => Id::TlsVersionMismatch,
        _ => Id::TlsHandshakeFailed,
    }
}

/// What one turn of rustls's state machine asks for.
enum Step {
    /// Turn again.
    Again,
    /// Send the encoded records.
    Transmit,
    /// Read more from the peer.
    NeedInput,
    /// The handshake is over: application data may be written.
    Ready,
    /// A record was encrypted into the write buffer.
    Wrote,
    /// The peer closed.
    Closed,
    /// rustls refused.
    Failed(Error),
    /// The driver's own failure (a buffer too small).
    Local(Id),
}

/// A TLS 1.2 / 1.3 client connection (feature `tls-rustls`) over any
/// `embedded-io-async` transport, as the driver opens them over its
/// embassy-net sockets: rustls's unbuffered client with the driver's
/// RustCrypto provider and certificate checks. The TLS records go through
/// the caller's buffers (`rx`: [`crate::TLS_READ_BUF_LEN`], `tx`:
/// [`crate::TLS_WRITE_BUF_LEN`]); the handshake state, the server's chain
/// and decrypted records not read yet are on the heap.
pub struct TlsStream<'b, T> {
    io: T,
    conn: UnbufferedClientConnection,
    rx: &'b mut [u8],
    rx_used: usize,
    tx: &'b mut [u8],
    tx_used: usize,
    /// Application data decrypted and not read yet.
    plain: Vec<u8>,
    plain_pos: usize,
    peer_closed: bool,
}

impl<T> core::fmt::Debug for TlsStream<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TlsStream")
            .field("rx_used", &self.rx_used)
            .field("peer_closed", &self.peer_closed)
            .finish_non_exhaustive()
    }
}

impl<'b, T: Read + Write> TlsStream<'b, T> {
    /// Runs the handshake on `io` for `host`, trusting `ca_der` (one CA
    /// certificate, DER), with the versions in `range` (the settings'
    /// `tls_min`, `tls_max`), ALPN `alpn` if any, randomness seeded from
    /// `rng` and the dates checked with the wall clock `C`
    /// ([`embedded_tls::NoClock`]: not checked). On failure the transport
    /// comes back with the reason, as the host reports it (E604, E607,
    /// E608, E609, E610, ...), for the caller to reset it.
    #[allow(clippy::too_many_arguments)]
    pub async fn connect<C: TlsClock>(
        io: T,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        host: &str,
        alpn: Option<&[u8]>,
        ca_der: &[u8],
        range: (TlsVersion, TlsVersion),
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self, (T, Id)> {
        let versions = versions(range);
        if versions.is_empty() {
            return Err((io, Id::TlsVersionMismatch));
        }
        let Ok(name) = ServerName::try_from(host) else {
            return Err((io, Id::DnsFailed));
        };
        crypto::seed(rng);
        let verifier = Verifier {
            anchor: ca_der.to_vec(),
            now: C::now,
        };
        let builder = ClientConfig::builder_with_details(
            Arc::new(crypto::provider()),
            Arc::new(Time(C::now)),
        )
        .with_protocol_versions(&versions);
        let Ok(builder) = builder else {
            return Err((io, Id::TlsVersionMismatch));
        };
        let mut config = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        config.resumption = Resumption::disabled();
        if let Some(p) = alpn {
            config.alpn_protocols = vec![p.to_vec()];
        }
        let conn = match UnbufferedClientConnection::new(Arc::new(config), name.to_owned()) {
            Ok(c) => c,
            Err(e) => return Err((io, handshake_diag(&e))),
        };
        let mut s = TlsStream {
            io,
            conn,
            rx,
            rx_used: 0,
            tx,
            tx_used: 0,
            plain: Vec::new(),
            plain_pos: 0,
            peer_closed: false,
        };
        match s.handshake().await {
            Ok(()) => Ok(s),
            Err(diag) => Err((s.io, diag)),
        }
    }

    async fn handshake(&mut self) -> Result<(), Id> {
        // Bounded: each turn consumes input, sends output or ends; a
        // silent peer is bounded by the caller's timeout.
        loop {
            let (discard, step) = {
                let UnbufferedStatus { discard, state } = self
                    .conn
                    .process_tls_records(self.rx.get_mut(..self.rx_used).unwrap_or_default());
                let step = match state {
                    Err(e) => Step::Failed(e),
                    Ok(ConnectionState::EncodeTlsData(mut s)) => {
                        match s.encode(self.tx.get_mut(self.tx_used..).unwrap_or_default()) {
                            Ok(n) => {
                                self.tx_used = self.tx_used.saturating_add(n);
                                Step::Again
                            }
                            Err(_) => Step::Local(Id::TlsHandshakeFailed),
                        }
                    }
                    Ok(ConnectionState::TransmitTlsData(s)) => {
                        s.done();
                        Step::Transmit
                    }
                    Ok(ConnectionState::BlockedHandshake) => Step::NeedInput,
                    Ok(ConnectionState::WriteTraffic(_) | ConnectionState::ReadTraffic(_)) => {
                        Step::Ready
                    }
                    Ok(ConnectionState::PeerClosed | ConnectionState::Closed) => Step::Closed,
                    Ok(_) => Step::Local(Id::TlsHandshakeFailed),
                };
                (discard, step)
            };
            self.discard(discard);
            match step {
                Step::Again => {}
                Step::Transmit => self.transmit().await.map_err(|_| Id::IoError)?,
                Step::NeedInput => self.fill().await.map_err(|_| Id::IoError)?,
                Step::Ready | Step::Wrote => {
                    log_debug!("tls up");
                    return Ok(());
                }
                Step::Closed => return Err(Id::IoError),
                Step::Failed(e) => {
                    let diag = handshake_diag(&e);
                    if diag == Id::TlsHandshakeFailed {
                        log_warn!("tls handshake failed");
                    }
                    return Err(diag);
                }
                Step::Local(diag) => return Err(diag),
            }
        }
    }

    /// Drops `n` processed octets from the front of the read buffer.
    fn discard(&mut self, n: usize) {
        let n = n.min(self.rx_used);
        if n > 0 {
            self.rx.copy_within(n..self.rx_used, 0);
            self.rx_used -= n;
        }
    }

    /// Sends the records encoded so far.
    async fn transmit(&mut self) -> Result<(), ReadError> {
        let out = self.tx.get(..self.tx_used).unwrap_or_default();
        self.tx_used = 0;
        self.io.write_all(out).await.map_err(|_| ReadError::Io)?;
        self.io.flush().await.map_err(|_| ReadError::Io)
    }

    /// Reads what the peer sent into the free end of the read buffer.
    async fn fill(&mut self) -> Result<(), ReadError> {
        let free = self.rx.get_mut(self.rx_used..).unwrap_or_default();
        if free.is_empty() {
            // A record larger than the buffer.
            return Err(ReadError::Io);
        }
        match self.io.read(free).await {
            Ok(0) => Err(ReadError::Closed),
            Ok(n) => {
                self.rx_used = self.rx_used.saturating_add(n);
                Ok(())
            }
            Err(_) => Err(ReadError::Io),
        }
    }

    /// One turn outside the handshake: decrypted records are kept, records
    /// rustls wants to send (an alert, a key update) are encoded; when
    /// application data may be written and nothing waits, `write` is
    /// encrypted into the write buffer (`Wrote`), or `Ready` without it.
    fn turn(&mut self, write: Option<Outgoing<'_>>) -> (usize, Step) {
        let UnbufferedStatus { mut discard, state } = self
            .conn
            .process_tls_records(self.rx.get_mut(..self.rx_used).unwrap_or_default());
        let step = match state {
            Err(e) => Step::Failed(e),
            Ok(ConnectionState::ReadTraffic(mut r)) => match r.next_record() {
                Some(Ok(record)) => {
                    discard = discard.saturating_add(record.discard);
                    if self.plain_pos >= self.plain.len() {
                        self.plain.clear();
                        self.plain_pos = 0;
                    }
                    self.plain.extend_from_slice(record.payload);
                    Step::Again
                }
                Some(Err(e)) => Step::Failed(e),
                None => Step::Again,
            },
            Ok(ConnectionState::EncodeTlsData(mut s)) => {
                match s.encode(self.tx.get_mut(self.tx_used..).unwrap_or_default()) {
                    Ok(n) => {
                        self.tx_used = self.tx_used.saturating_add(n);
                        Step::Again
                    }
                    Err(_) => Step::Local(Id::IoError),
                }
            }
            Ok(ConnectionState::TransmitTlsData(s)) => {
                s.done();
                Step::Transmit
            }
            Ok(ConnectionState::WriteTraffic(mut w)) => {
                let out = self.tx.get_mut(self.tx_used..).unwrap_or_default();
                let written = match write {
                    None => return (discard, Step::Ready),
                    Some(Outgoing::Data(chunk)) => w.encrypt(chunk, out),
                    Some(Outgoing::CloseNotify) => w.queue_close_notify(out),
                };
                match written {
                    Ok(n) => {
                        self.tx_used = self.tx_used.saturating_add(n);
                        Step::Wrote
                    }
                    Err(_) => Step::Local(Id::IoError),
                }
            }
            Ok(ConnectionState::BlockedHandshake) => Step::NeedInput,
            Ok(ConnectionState::PeerClosed | ConnectionState::Closed) => Step::Closed,
            Ok(_) => Step::Local(Id::IoError),
        };
        (discard, step)
    }

    /// Reads application data (waits; `Closed` at the peer's close_notify
    /// or FIN).
    pub async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ReadError> {
        loop {
            if self.plain_pos < self.plain.len() {
                let avail = self.plain.get(self.plain_pos..).unwrap_or_default();
                let n = avail.len().min(buf.len());
                if let (Some(dst), Some(src)) = (buf.get_mut(..n), avail.get(..n)) {
                    dst.copy_from_slice(src);
                }
                self.plain_pos = self.plain_pos.saturating_add(n);
                if self.plain_pos >= self.plain.len() {
                    self.plain.clear();
                    self.plain_pos = 0;
                }
                return Ok(n);
            }
            if self.peer_closed {
                return Err(ReadError::Closed);
            }
            let (discard, step) = self.turn(None);
            self.discard(discard);
            match step {
                Step::Again => {}
                Step::Transmit => self.transmit().await?,
                Step::Ready | Step::Wrote | Step::NeedInput => self.fill().await?,
                Step::Closed => self.peer_closed = true,
                Step::Failed(_) | Step::Local(_) => return Err(ReadError::Io),
            }
        }
    }

    /// Encrypts and sends all of `bytes`.
    pub async fn write_all(&mut self, bytes: &[u8]) -> Result<(), ReadError> {
        let room = self.tx.len().saturating_sub(RECORD_OVERHEAD).max(1);
        for chunk in bytes.chunks(room) {
            self.write_record(Outgoing::Data(chunk)).await?;
        }
        Ok(())
    }

    /// Encrypts one record and sends it (records waiting to be read are
    /// kept first; bounded: each turn consumes a record or sends).
    async fn write_record(&mut self, record: Outgoing<'_>) -> Result<(), ReadError> {
        loop {
            let (discard, step) = self.turn(Some(record));
            self.discard(discard);
            match step {
                Step::Again => {}
                Step::Transmit => self.transmit().await?,
                Step::Wrote => return self.transmit().await,
                Step::Ready | Step::NeedInput | Step::Closed | Step::Failed(_) | Step::Local(_) => {
                    return Err(ReadError::Io)
                }
            }
        }
    }

    /// Sends close_notify (if it can) and gives the transport back.
    pub async fn close(mut self) -> T {
        let _ = self.write_record(Outgoing::CloseNotify).await;
        self.io
    }
}

/// What [`TlsStream::turn`] writes when it may.
#[derive(Clone, Copy)]
enum Outgoing<'a> {
    Data(&'a [u8]),
    CloseNotify,
}

/// A connection: closed, plain TCP (before STARTTLS), or TLS.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Conn<'a> {
    Closed,
    Plain {
        socket: TcpSocket<'a>,
        tls_read: &'a mut [u8],
        tls_write: &'a mut [u8],
        host: HostName,
    },
    Tls(TlsStream<'a, TcpSocket<'a>>),
}

impl<'a> Conn<'a> {
    pub(crate) fn is_open(&self) -> bool {
        !matches!(self, Conn::Closed)
    }

    /// Resolve `host`, connect, and start TLS at once when `tls` says so.
    pub(crate) async fn open<'d: 'a, R, N, C>(
        &mut self,
        board: &mut Board<'d, R, N, C>,
        link: &'a mut LinkBuffers<'_>,
        host: &str,
        port: u16,
        tls: Start,
    ) -> Result<(), Id>
    where
        R: RngCore + CryptoRng,
        N: Resolve,
        C: TlsClock,
    {
        self.close().await;
        let name = HostName::try_from(host).map_err(|_| Id::DnsFailed)?;
        let socket = crate::connect_tcp(
            board,
            &mut *link.socket_rx,
            &mut *link.socket_tx,
            host,
            port,
        )
        .await?;
        *self = Conn::Plain {
            socket,
            tls_read: &mut *link.tls_read,
            tls_write: &mut *link.tls_write,
            host: name,
        };
        match tls {
            Start::Plain => Ok(()),
            Start::Smtps => self.upgrade_with(board, None).await,
            Start::Https => self.upgrade_with(board, Some(HTTP11)).await,
        }
    }

    /// Start TLS on the plain connection (STARTTLS).
    pub(crate) async fn upgrade<R, N, C>(
        &mut self,
        board: &mut Board<'_, R, N, C>,
    ) -> Result<(), Id>
    where
        R: RngCore + CryptoRng,
        N: Resolve,
        C: TlsClock,
    {
        self.upgrade_with(board, None).await
    }

    async fn upgrade_with<R, N, C>(
        &mut self,
        board: &mut Board<'_, R, N, C>,
        alpn: Option<&'static [u8]>,
    ) -> Result<(), Id>
    where
        R: RngCore + CryptoRng,
        N: Resolve,
        C: TlsClock,
    {
        let Conn::Plain {
            mut socket,
            tls_read,
            tls_write,
            host,
        } = core::mem::replace(self, Conn::Closed)
        else {
            return Err(Id::WrongState);
        };
        if let Err(e) = board.anchor {
            log_warn!("trust anchor refused: {}", e);
            socket.abort();
            let _ = with_timeout(embassy_time::Duration::from_secs(1), socket.flush()).await;
            return Err(e.diag());
        }
        let connecting = TlsStream::connect::<C>(
            socket,
            tls_read,
            tls_write,
            host.as_str(),
            alpn,
            board.trust.ca_der,
            board.tls_range,
            &mut board.rng,
        );
        let diag = match with_timeout(IO_TIMEOUT, connecting).await {
            Ok(Ok(tls)) => {
                *self = Conn::Tls(tls);
                return Ok(());
            }
            Ok(Err((mut socket, diag))) => {
                log_warn!("tls refused: E{=u16}", diag.number());
                // The handshake failed: reset the TCP connection.
                socket.abort();
                let _ = with_timeout(embassy_time::Duration::from_secs(1), socket.flush()).await;
                return Err(diag);
            }
            Err(_) => Id::NetworkTimeout,
        };
        // Timed out: the socket went with the dropped future (dropping an
        // embassy-net socket aborts it).
        log_warn!("tls refused: E{=u16}", diag.number());
        Err(diag)
    }

    /// Write all of `bytes` within [`IO_TIMEOUT`].
    pub(crate) async fn send(&mut self, bytes: &[u8]) -> Result<(), ReadError> {
        self.send_within(bytes, IO_TIMEOUT).await
    }

    /// Write all of `bytes` within `limit`.
    pub(crate) async fn send_within(
        &mut self,
        bytes: &[u8],
        limit: embassy_time::Duration,
    ) -> Result<(), ReadError> {
        let r = match self {
            Conn::Closed => return Err(ReadError::Io),
            Conn::Plain { socket, .. } => {
                with_timeout(limit, async {
                    socket.write_all(bytes).await.map_err(|_| ReadError::Io)?;
                    socket.flush().await.map_err(|_| ReadError::Io)
                })
                .await
            }
            Conn::Tls(tls) => with_timeout(limit, tls.write_all(bytes)).await,
        };
        r.unwrap_or(Err(ReadError::Io))
    }

    /// Read what the server sent (waits; `Ok(0)` or `Closed` at its end).
    pub(crate) async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ReadError> {
        match self {
            Conn::Closed => Err(ReadError::Closed),
            Conn::Plain { socket, .. } => socket.read(buf).await.map_err(|_| ReadError::Io),
            Conn::Tls(tls) => tls.read(buf).await,
        }
    }

    /// Close: TLS close_notify, then TCP FIN (bounded waits).
    pub(crate) async fn close(&mut self) {
        let socket = match core::mem::replace(self, Conn::Closed) {
            Conn::Closed => return,
            Conn::Plain { socket, .. } => Some(socket),
            Conn::Tls(tls) => with_timeout(embassy_time::Duration::from_secs(2), tls.close())
                .await
                .ok(),
        };
        if let Some(mut s) = socket {
            s.close();
            let _ = with_timeout(embassy_time::Duration::from_secs(2), s.flush()).await;
        }
    }
}
