//! One connection of the driver: TCP from embassy-net, then TLS 1.3 from
//! embedded-tls (from the start, or after STARTTLS), with the server's
//! certificate verified against the caller's trust anchor and host name.

use embassy_net::tcp::TcpSocket;
use embassy_time::with_timeout;
use embedded_io_async::Write;
use embedded_tls::alert::AlertDescription;
use embedded_tls::{
    Aes128GcmSha256, CryptoProvider, CryptoRngCore, TlsClock, TlsConfig, TlsConnection, TlsContext,
    TlsError, TlsVerifier,
};
use mfp_oauth_core::config::HostName;
use mfp_oauth_core::diag::Id;
use rand_core::{CryptoRng, RngCore};

use crate::log::{log_debug, log_warn};
use crate::verify::ConstrainedVerifier;
use crate::{Board, LinkBuffers, Resolve, IO_TIMEOUT};

/// The largest certificate chain a server may send (octets, DER, all
/// certificates together): the verifier keeps a copy until the server's
/// CertificateVerify. 4 KiB holds an ECDSA end certificate with two
/// intermediates.
pub const MAX_CERT_CHAIN_LEN: usize = 4096;

/// The one TLS 1.3 cipher suite offered (mandatory to implement,
/// RFC 8446 §9.1).
type Suite = Aes128GcmSha256;

/// ALPN for the token endpoint.
const HTTP11: &[&[u8]] = &[b"http/1.1"];

/// What a failed read means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// The peer closed (FIN, or TLS close_notify).
    Closed,
    /// Anything else.
    Io,
}

/// The caller's RNG and the verifier, for embedded-tls. The verifier is
/// borrowed, so that after a refused handshake the driver can ask it why.
struct Provider<'a, 'v, R, C: TlsClock> {
    rng: R,
    verifier: &'v mut ConstrainedVerifier<'a, Suite, C, MAX_CERT_CHAIN_LEN>,
}

impl<R: CryptoRngCore, C: TlsClock> CryptoProvider for Provider<'_, '_, R, C> {
    type CipherSuite = Suite;
    type Signature = &'static [u8];

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Suite>, TlsError> {
        Ok(&mut *self.verifier)
    }
}

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

/// A connection: closed, plain TCP (before STARTTLS), or TLS.
// The TLS variant is large (key schedule, transcript); there is one
// connection open at a time, on the caller's future, and no heap to box it in.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Conn<'a> {
    Closed,
    Plain {
        socket: TcpSocket<'a>,
        tls_read: &'a mut [u8],
        tls_write: &'a mut [u8],
        host: HostName,
    },
    Tls(TlsConnection<'a, TcpSocket<'a>, Suite>),
}

impl<'a> Conn<'a> {
    pub(crate) fn is_open(&self) -> bool {
        !matches!(self, Conn::Closed)
    }

    /// Resolve `host`, connect, and start TLS at once when `tls` says so
    /// (with its ALPN protocols, if any).
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
        alpn: Option<&'static [&'static [u8]]>,
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
            // Checked once when the board was made: refused at every
            // connection, before any byte of TLS.
            log_warn!("trust anchor refused: {}", e);
            socket.abort();
            let _ = with_timeout(embassy_time::Duration::from_secs(1), socket.flush()).await;
            return Err(Id::CertificateInvalid);
        }
        let mut tls = TlsConnection::new(socket, tls_read, tls_write);
        let mut config = TlsConfig::new().with_server_name(host.as_str());
        if let Some(p) = alpn {
            config = config.with_alpn(p);
        }
        let mut verifier: ConstrainedVerifier<'_, Suite, C, MAX_CERT_CHAIN_LEN> =
            ConstrainedVerifier::new(board.trust.ca_der);
        let provider = Provider {
            rng: &mut board.rng,
            verifier: &mut verifier,
        };
        let result = with_timeout(IO_TIMEOUT, tls.open(TlsContext::new(&config, provider))).await;
        let diag = match result {
            Ok(Ok(())) => {
                log_debug!("tls 1.3 up");
                *self = Conn::Tls(tls);
                return Ok(());
            }
            // A refused certificate: the verifier says why (expired,
            // wrong name, untrusted), as on the host.
            Ok(Err(e)) => verifier.refusal().unwrap_or_else(|| handshake_diag(e)),
            Err(_) => Id::NetworkTimeout,
        };
        log_warn!("tls refused: E{=u16}", diag.number());
        // The handshake failed: reset the TCP connection, send nothing.
        let (Err((mut socket, _)) | Ok(mut socket)) = tls.close().await;
        socket.abort();
        let _ = with_timeout(embassy_time::Duration::from_secs(1), socket.flush()).await;
        Err(diag)
    }

    /// Write all of `bytes` (and push them out of TLS's record buffer)
    /// within [`IO_TIMEOUT`].
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
            Conn::Tls(tls) => {
                with_timeout(limit, async {
                    tls.write_all(bytes).await.map_err(|_| ReadError::Io)?;
                    tls.flush().await.map_err(|_| ReadError::Io)
                })
                .await
            }
        };
        r.unwrap_or(Err(ReadError::Io))
    }

    /// Read what the server sent (waits; `Ok(0)` or `Closed` at its end).
    pub(crate) async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ReadError> {
        match self {
            Conn::Closed => Err(ReadError::Closed),
            Conn::Plain { socket, .. } => socket.read(buf).await.map_err(|_| ReadError::Io),
            Conn::Tls(tls) => tls.read(buf).await.map_err(|e| match e {
                TlsError::ConnectionClosed => ReadError::Closed,
                _ => ReadError::Io,
            }),
        }
    }

    /// Close: TLS close_notify, then TCP FIN (bounded waits).
    pub(crate) async fn close(&mut self) {
        let socket = match core::mem::replace(self, Conn::Closed) {
            Conn::Closed => return,
            Conn::Plain { socket, .. } => Some(socket),
            Conn::Tls(tls) => {
                match with_timeout(embassy_time::Duration::from_secs(2), tls.close()).await {
                    Ok(Ok(s)) | Ok(Err((s, _))) => Some(s),
                    Err(_) => None,
                }
            }
        };
        if let Some(mut s) = socket {
            s.close();
            let _ = with_timeout(embassy_time::Duration::from_secs(2), s.flush()).await;
        }
    }
}

/// What a failed handshake means for the administrator (a certificate
/// refused by the verifier is told by the verifier itself).
fn handshake_diag(e: TlsError) -> Id {
    match e {
        // The server speaks no TLS 1.3 (the only version offered): it
        // answers with a protocol_version alert, or picks another version.
        TlsError::HandshakeAborted(_, AlertDescription::ProtocolVersion)
        | TlsError::InvalidSupportedVersions => Id::TlsVersionMismatch,
        TlsError::InvalidCertificate
        | TlsError::InvalidCertificateEntry
        | TlsError::InvalidSignature
        | TlsError::InvalidSignatureScheme
        | TlsError::DecodeError => Id::CertificateInvalid,
        TlsError::ConnectionClosed | TlsError::Io(_) | TlsError::IoError => Id::IoError,
        _ => Id::TlsHandshakeFailed,
    }
}
