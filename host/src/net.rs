//! Connections for the drivers (R-HOST): TCP that can become TLS in the middle
//! of a session (SMTP STARTTLS, RFC 3207) or start with TLS (implicit TLS on
//! 465, HTTPS), optionally tunnelled through an HTTP CONNECT proxy, with read
//! and write timeouts on every socket.
//!
//! Blocking std sockets, one connection at a time: a printer sends one job
//! after another and the CLI does one thing per run, so threads or an async
//! runtime would add weight without adding anything a user can observe. The
//! core's `poll_timeout` deadlines are enforced by the driver through
//! [`Connection::set_read_deadline`].

use crate::tls::TlsSettings;
use mfp_oauth_core::diag::{Diagnostic, Id};
use mfp_oauth_core::oauth;
use mfp_oauth_core::wire::http::{parse_connect_reply, write_connect, ProxyCredentials};
use mfp_oauth_core::wire::Parsed;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration as StdDuration;
use zeroize::Zeroizing;

/// Longest proxy response head accepted (status line and headers).
pub const MAX_PROXY_RESPONSE: usize = 8 * 1024;

/// An HTTP proxy that tunnels with CONNECT (R-CFG: proxy for token traffic).
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// Proxy host name or address.
    pub host: String,
    /// Proxy port.
    pub port: u16,
    /// User name for `Proxy-Authorization: Basic`, if the proxy wants one.
    pub user: Option<String>,
    /// Its password (secret: redacted in `Debug`, wiped from the heap when
    /// dropped, R-LOG).
    pub password: Zeroizing<String>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How to reach a server.
#[derive(Debug, Clone)]
pub struct NetOptions {
    /// Limit for the TCP connect (each resolved address).
    pub connect_timeout: StdDuration,
    /// Default read and write timeout on the socket.
    pub io_timeout: StdDuration,
    /// Tunnel through this proxy.
    pub proxy: Option<Proxy>,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            connect_timeout: StdDuration::from_secs(15),
            io_timeout: StdDuration::from_secs(30),
            proxy: None,
        }
    }
}

/// A network failure, with the diagnostic the user sees.
#[derive(Debug)]
pub enum NetError {
    /// The host name did not resolve.
    Resolve(String),
    /// No TCP connection could be made.
    Connect(io::Error),
    /// A read or write did not complete in time.
    Timeout,
    /// The server's certificate was refused (untrusted, wrong name, expired).
    Certificate(rustls::Error),
    /// The TLS handshake or record layer failed otherwise.
    Tls(rustls::Error),
    /// The proxy answered CONNECT with this status.
    ProxyRefused(u16),
    /// The proxy's answer was not HTTP.
    ProxyMalformed,
    /// The peer closed the connection.
    Closed,
    /// Any other I/O error.
    Io(io::Error),
    /// STARTTLS was asked on a connection that is already TLS.
    AlreadyTls,
    /// The server name is not a valid DNS name or IP address.
    BadServerName(String),
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Resolve(h) => write!(f, "cannot resolve {h}"),
            NetError::Connect(e) => write!(f, "cannot connect: {e}"),
            NetError::Timeout => f.write_str("network timeout"),
            NetError::Certificate(e) => write!(f, "server certificate refused: {e}"),
            NetError::Tls(e) => write!(f, "TLS failed: {e}"),
            NetError::ProxyRefused(s) => write!(f, "proxy refused CONNECT with status {s}"),
            NetError::ProxyMalformed => f.write_str("proxy answer is not HTTP"),
            NetError::Closed => f.write_str("connection closed by the server"),
            NetError::Io(e) => write!(f, "I/O error: {e}"),
            NetError::AlreadyTls => f.write_str("connection is already TLS"),
            NetError::BadServerName(n) => write!(f, "invalid server name {n:?}"),
        }
    }
}

impl std::error::Error for NetError {}

impl Diagnostic for NetError {
    fn diag(&self) -> Id {
        match self {
            NetError::Resolve(_) | NetError::BadServerName(_) => Id::DnsFailed,
            NetError::Connect(_) => Id::ConnectFailed,
            NetError::Timeout => Id::NetworkTimeout,
            NetError::Certificate(e) => certificate_diag(e),
            NetError::Tls(e) => tls_diag(e),
            NetError::ProxyRefused(407) => Id::ProxyAuthRequired,
            NetError::ProxyRefused(_) | NetError::ProxyMalformed => Id::ProxyRefused,
            NetError::Closed => Id::ConnectionClosed,
            NetError::Io(_) | NetError::AlreadyTls => Id::IoError,
        }
    }
}

/// The diagnostic for a refused certificate: the date (a printer's clock
/// is a common cause), the name, or the issuer, each with its own remedy.
#[must_use]
pub fn certificate_diag(e: &rustls::Error) -> Id {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        ) => Id::CertificateExpired,
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => Id::CertificateWrongName,
        // A bad signature: signed by an impostor bearing a trusted name.
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            Id::CertificateUntrusted
        }
        _ => Id::CertificateInvalid,
    }
}

/// The diagnostic for a failed handshake: no TLS version in common with
/// the server within the settings' TLS range (E610: the server refused the
/// versions offered, or chose one the range excludes), or any other
/// failure (E603).
#[must_use]
pub fn tls_diag(e: &rustls::Error) -> Id {
    use rustls::{AlertDescription as A, PeerIncompatible as P};
    match e {
        rustls::Error::AlertReceived(A::ProtocolVersion)
        | rustls::Error::PeerIncompatible(
            P::ServerTlsVersionIsDisabledByOurConfig
            | P::ServerDoesNotSupportTls12Or13
            | P::SupportedVersionsExtensionRequired
            | P::Tls12NotOffered
            | P::Tls12NotOfferedOrEnabled,
        ) => Id::TlsVersionMismatch,
        _ => Id::TlsHandshakeFailed,
    }
}

impl NetError {
    /// Classify an I/O error from a socket or from rustls.
    #[must_use]
    pub fn from_io(e: io::Error) -> Self {
        if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return Self::from_tls(tls.clone());
        }
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => NetError::Timeout,
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => NetError::Closed,
            _ => NetError::Io(e),
        }
    }

    fn from_tls(e: rustls::Error) -> Self {
        match e {
            rustls::Error::InvalidCertificate(_) => NetError::Certificate(e),
            other => NetError::Tls(other),
        }
    }
}

/// What the TLS session negotiated (for `doctor` and the demo's story).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// For example `TLSv1_3`.
    pub version: String,
    /// For example `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The ALPN protocol agreed, if any.
    pub alpn: Option<String>,
}

enum Inner {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
    /// Only between taking the plain socket and installing the TLS one.
    Gone,
}

/// A client connection, plain or TLS.
pub struct Connection {
    inner: Inner,
    host: String,
    io_timeout: StdDuration,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.host)
            .field("tls", &self.is_tls())
            .finish()
    }
}

fn tcp_connect(host: &str, port: u16, opts: &NetOptions) -> Result<TcpStream, NetError> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|_| NetError::Resolve(host.to_owned()))?
        .collect();
    if addrs.is_empty() {
        return Err(NetError::Resolve(host.to_owned()));
    }
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, opts.connect_timeout) {
            Ok(s) => {
                s.set_read_timeout(Some(opts.io_timeout))
                    .map_err(NetError::Io)?;
                s.set_write_timeout(Some(opts.io_timeout))
                    .map_err(NetError::Io)?;
                // Commands are small and answered one by one: no Nagle delay.
                s.set_nodelay(true).map_err(NetError::Io)?;
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(NetError::Connect(last.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, "no address")
    })))
}

/// Open a tunnel through `proxy`. The request comes from the core's HTTP
/// emitter and the answer goes to its parser; the answer is read one octet
/// at a time so that nothing the origin server sends after the proxy's
/// `200` is swallowed.
fn proxy_tunnel(
    proxy: &Proxy,
    host: &str,
    port: u16,
    opts: &NetOptions,
) -> Result<TcpStream, NetError> {
    let mut s = tcp_connect(&proxy.host, proxy.port, opts)?;
    let credentials = proxy.user.as_deref().map(|user| ProxyCredentials {
        user,
        password: proxy.password.as_bytes(),
    });
    let mut request = vec![0u8; MAX_PROXY_RESPONSE];
    let len = write_connect(
        &mut request,
        host,
        port,
        credentials,
        Some(oauth::USER_AGENT),
    )
    .map_err(|_| NetError::BadServerName(host.to_owned()))?;
    let sent = s.write_all(request.get(..len).unwrap_or_default());
    zeroize::Zeroize::zeroize(&mut request);
    sent.map_err(NetError::from_io)?;
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    loop {
        if head.len() >= MAX_PROXY_RESPONSE {
            return Err(NetError::ProxyMalformed);
        }
        match s.read(&mut byte).map_err(NetError::from_io)? {
            0 => return Err(NetError::Closed),
            _ => head.extend_from_slice(&byte),
        }
        if !head.ends_with(b"\r\n\r\n") {
            continue;
        }
        return match parse_connect_reply(&head) {
            Ok(Parsed::Complete(reply, _)) if reply.is_established() => Ok(s),
            Ok(Parsed::Complete(reply, _)) => Err(NetError::ProxyRefused(reply.status)),
            Ok(Parsed::Partial) => continue,
            Err(_) => Err(NetError::ProxyMalformed),
        };
    }
}

fn server_name(host: &str) -> Result<ServerName<'static>, NetError> {
    ServerName::try_from(host.to_owned()).map_err(|_| NetError::BadServerName(host.to_owned()))
}

/// What to write the moment the handshake completes (see
/// [`Connection::start_tls_then`]).
pub type FirstWrite<'a> = &'a mut dyn FnMut(&mut dyn Write) -> io::Result<()>;

/// Run the TLS handshake on `tcp`, then hand `first` the plaintext writer
/// before anything more is written: with TLS 1.3 the client's Finished is
/// still unsent when the server's flight completes the handshake, so the
/// octets `first` writes leave in the same TCP write as the Finished (one
/// `writev` of every pending record), saving the client a flight.
fn handshake(
    config: Arc<ClientConfig>,
    host: &str,
    mut tcp: TcpStream,
    first: Option<FirstWrite<'_>>,
) -> Result<StreamOwned<ClientConnection, TcpStream>, NetError> {
    let mut conn = ClientConnection::new(config, server_name(host)?).map_err(NetError::from_tls)?;
    // Finish the handshake now so that a refused certificate is reported as
    // such, before the protocol above writes anything.
    loop {
        // While handshaking: ClientHello, and TLS 1.2's second flight.
        while conn.is_handshaking() && conn.wants_write() {
            conn.write_tls(&mut tcp).map_err(NetError::from_io)?;
        }
        if !conn.is_handshaking() {
            break;
        }
        if conn.read_tls(&mut tcp).map_err(NetError::from_io)? == 0 {
            return Err(NetError::Closed);
        }
        if let Err(e) = conn.process_new_packets() {
            // Tell the server why (the alert rustls queued), then fail.
            let _ = conn.write_tls(&mut tcp);
            return Err(NetError::from_tls(e));
        }
    }
    if let Some(first) = first {
        first(&mut conn.writer()).map_err(NetError::from_io)?;
    }
    while conn.wants_write() {
        conn.write_tls(&mut tcp).map_err(NetError::from_io)?;
    }
    Ok(StreamOwned::new(conn, tcp))
}

impl Connection {
    /// A plain TCP connection (SMTP before STARTTLS).
    pub fn connect(host: &str, port: u16, opts: &NetOptions) -> Result<Self, NetError> {
        let tcp = match &opts.proxy {
            Some(p) => proxy_tunnel(p, host, port, opts)?,
            None => tcp_connect(host, port, opts)?,
        };
        Ok(Connection {
            inner: Inner::Plain(tcp),
            host: host.to_owned(),
            io_timeout: opts.io_timeout,
        })
    }

    /// A connection that is TLS from the first octet (implicit TLS, HTTPS).
    /// The certificate is verified for `host` (also the SNI name).
    pub fn connect_tls(
        host: &str,
        port: u16,
        opts: &NetOptions,
        tls: &TlsSettings,
    ) -> Result<Self, NetError> {
        let mut c = Self::connect(host, port, opts)?;
        c.start_tls(tls)?;
        Ok(c)
    }

    /// Upgrade a plain connection to TLS (after the server's `220` to
    /// STARTTLS). The handshake completes before this returns.
    pub fn start_tls(&mut self, tls: &TlsSettings) -> Result<(), NetError> {
        let config = tls
            .client_config()
            .map_err(|e| NetError::Io(io::Error::other(e.to_string())))?;
        self.start_tls_with(config)
    }

    /// [`Connection::start_tls`] with a prepared rustls configuration.
    pub fn start_tls_with(&mut self, config: Arc<ClientConfig>) -> Result<(), NetError> {
        self.upgrade(config, None)
    }

    /// Upgrade to TLS and, the moment the handshake completes, let `first`
    /// write the first plaintext (after STARTTLS: the new EHLO). With TLS
    /// 1.3 it leaves in the same TCP write as the client's Finished, one
    /// client flight instead of two; with TLS 1.2 the client's Finished
    /// precedes the server's, so the octets go alone. (Implicit TLS gains
    /// nothing: the server speaks first there, after the client's Finished.)
    pub fn start_tls_then(
        &mut self,
        config: Arc<ClientConfig>,
        first: FirstWrite<'_>,
    ) -> Result<(), NetError> {
        self.upgrade(config, Some(first))
    }

    fn upgrade(
        &mut self,
        config: Arc<ClientConfig>,
        first: Option<FirstWrite<'_>>,
    ) -> Result<(), NetError> {
        match std::mem::replace(&mut self.inner, Inner::Gone) {
            Inner::Plain(tcp) => {
                let stream = handshake(config, &self.host, tcp, first)?;
                self.inner = Inner::Tls(Box::new(stream));
                Ok(())
            }
            other => {
                let already = matches!(other, Inner::Tls(_));
                self.inner = other;
                Err(if already {
                    NetError::AlreadyTls
                } else {
                    NetError::Closed
                })
            }
        }
    }

    /// Whether the connection is encrypted now.
    #[must_use]
    pub fn is_tls(&self) -> bool {
        matches!(self.inner, Inner::Tls(_))
    }

    /// What TLS negotiated, if the connection is TLS.
    #[must_use]
    pub fn tls_info(&self) -> Option<TlsInfo> {
        match &self.inner {
            Inner::Tls(s) => Some(TlsInfo {
                version: s
                    .conn
                    .protocol_version()
                    .map_or_else(|| "?".to_owned(), |v| format!("{v:?}")),
                cipher_suite: s
                    .conn
                    .negotiated_cipher_suite()
                    .map_or_else(|| "?".to_owned(), |c| format!("{:?}", c.suite())),
                alpn: s
                    .conn
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
            }),
            _ => None,
        }
    }

    fn tcp(&self) -> Option<&TcpStream> {
        match &self.inner {
            Inner::Plain(t) => Some(t),
            Inner::Tls(s) => Some(&s.sock),
            Inner::Gone => None,
        }
    }

    /// Limit the next reads to `wait` (the time left until the core's
    /// `poll_timeout`), never more than the connection's I/O timeout and
    /// never zero (which std would read as "no timeout").
    pub fn set_read_deadline(&self, wait: StdDuration) -> Result<(), NetError> {
        let wait = wait.clamp(StdDuration::from_millis(1), self.io_timeout);
        if let Some(t) = self.tcp() {
            t.set_read_timeout(Some(wait)).map_err(NetError::Io)?;
        }
        Ok(())
    }

    /// Limit each write to `limit` (RFC 5321 §4.5.3.2.5 gives each send of
    /// the message body at least 3 minutes; [`Connection::io_timeout`]
    /// applies otherwise).
    pub fn set_write_timeout(&self, limit: StdDuration) -> Result<(), NetError> {
        let limit = limit.max(StdDuration::from_millis(1));
        if let Some(t) = self.tcp() {
            t.set_write_timeout(Some(limit)).map_err(NetError::Io)?;
        }
        Ok(())
    }

    /// The read and write timeout the connection was opened with.
    #[must_use]
    pub fn io_timeout(&self) -> StdDuration {
        self.io_timeout
    }

    /// Read some bytes; `Ok(0)` means the peer closed.
    pub fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        match self.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            Err(e) => Err(NetError::from_io(e)),
        }
    }

    /// Read what has already arrived, without waiting: `Ok(0)` when
    /// nothing is there yet. Used between body chunks so that the server's
    /// replies to `BDAT` chunks are taken as they come (a server whose
    /// replies are never read stops reading in turn) and a refusal stops
    /// the body early.
    pub fn read_ready(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        let Some(tcp) = self.tcp() else {
            return Err(NetError::Closed);
        };
        tcp.set_nonblocking(true).map_err(NetError::Io)?;
        let r = self.read(buf);
        if let Some(tcp) = self.tcp() {
            tcp.set_nonblocking(false).map_err(NetError::Io)?;
        }
        match r {
            Ok(0) => Err(NetError::Closed),
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(NetError::Closed),
            Err(e) => Err(NetError::from_io(e)),
        }
    }

    /// Write all of `buf` and flush it to the socket.
    pub fn send(&mut self, buf: &[u8]) -> Result<(), NetError> {
        self.write_all(buf).map_err(NetError::from_io)?;
        self.flush().map_err(NetError::from_io)
    }

    /// Close politely (TLS close_notify) and shut the socket down.
    pub fn close(&mut self) {
        if let Inner::Tls(s) = &mut self.inner {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        if let Some(t) = self.tcp() {
            let _ = t.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(t) => t.read(buf),
            Inner::Tls(s) => s.read(buf),
            Inner::Gone => Ok(0),
        }
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(t) => t.write(buf),
            Inner::Tls(s) => s.write(buf),
            Inner::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Plain(t) => t.flush(),
            Inner::Tls(s) => s.flush(),
            Inner::Gone => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_debug_redacts_credentials() {
        let p = Proxy {
            host: "proxy".into(),
            port: 3128,
            user: Some("alice".into()),
            password: Zeroizing::new("secret".into()),
        };
        assert!(!format!("{p:?}").contains("secret"));
    }

    #[test]
    fn errors_map_to_network_diagnostics() {
        assert_eq!(NetError::Timeout.diag(), Id::NetworkTimeout);
        assert_eq!(NetError::ProxyRefused(407).diag(), Id::ProxyAuthRequired);
        assert_eq!(NetError::ProxyRefused(403).diag(), Id::ProxyRefused);
        assert_eq!(
            NetError::from_io(io::Error::from(io::ErrorKind::ConnectionReset)).diag(),
            Id::ConnectionClosed
        );
    }
}
