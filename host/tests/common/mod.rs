//! Hostile and misconfigured servers on 127.0.0.1 for the host drivers'
//! tests: certificates of every kind of wrongness (rcgen), and servers
//! that record every octet they receive, before and after TLS.

#![allow(dead_code, unreachable_pub)]

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cert {
    /// Signed by the trusted CA, for 127.0.0.1, valid now.
    Good,
    /// Signed by a CA the client does not trust.
    UntrustedCa,
    /// Signed by an impostor CA bearing the trusted CA's name.
    ImpostorCa,
    /// Signed by the trusted CA, valid only in 2020.
    Expired,
    /// Signed by the trusted CA, for `other.invalid`.
    WrongName,
    /// Self-signed, for 127.0.0.1.
    SelfSigned,
}

const TRUSTED_CA_NAME: &str = "mfp-oauth test CA";

/// A trusted CA and the server certificates of every [`Cert`] kind.
pub struct Pki {
    /// The one root the client trusts.
    pub ca: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> (CertificateDer<'static>, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).unwrap();
    (cert.der().clone(), Issuer::new(params, key))
}

impl Pki {
    /// A new trusted CA.
    pub fn new() -> Self {
        let (ca, issuer) = ca(TRUSTED_CA_NAME);
        Pki { ca, issuer }
    }

    /// The client's trust: this CA only.
    pub fn trust(&self) -> mfp_oauth_host::tls::TlsSettings {
        mfp_oauth_host::tls::TlsSettings {
            webpki_roots: false,
            extra_roots: vec![self.ca.clone()],
            ..mfp_oauth_host::tls::TlsSettings::default()
        }
    }

    /// A server configuration presenting a certificate of kind `kind`.
    pub fn server(&self, kind: Cert) -> Arc<ServerConfig> {
        self.server_speaking(kind, rustls::DEFAULT_VERSIONS)
    }

    /// [`Pki::server`] speaking only `versions` (a server capped at TLS
    /// 1.2, or one that speaks nothing older than TLS 1.3).
    pub fn server_speaking(
        &self,
        kind: Cert,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let name = if kind == Cert::WrongName {
            "other.invalid"
        } else {
            "127.0.0.1"
        };
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        if kind == Cert::Expired {
            params.not_before = date_time_ymd(2020, 1, 1);
            params.not_after = date_time_ymd(2021, 1, 1);
        }
        let cert = match kind {
            Cert::SelfSigned => params.self_signed(&key).unwrap(),
            Cert::UntrustedCa => {
                let (_, stranger) = ca("some other CA");
                params.signed_by(&key, &stranger).unwrap()
            }
            Cert::ImpostorCa => {
                let (_, impostor) = ca(TRUSTED_CA_NAME);
                params.signed_by(&key, &impostor).unwrap()
            }
            _ => params.signed_by(&key, &self.issuer).unwrap(),
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_protocol_versions(versions)
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![cert.der().clone()], key)
                .unwrap();
        Arc::new(config)
    }
}

/// A socket that keeps a copy of every octet read from it.
pub struct Recording {
    stream: TcpStream,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Read for Recording {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read(buf)?;
        self.seen.lock().unwrap().extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl Write for Recording {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// What a server received.
#[derive(Debug, Default)]
pub struct Received {
    /// Every octet read from the socket, TLS records included.
    pub raw: Vec<u8>,
    /// The plaintext read inside TLS (empty when no handshake completed).
    pub decrypted: Vec<u8>,
    /// Whether a TLS handshake completed.
    pub handshake_done: bool,
}

impl Received {
    /// Whether `needle` appears in what came in the clear or inside TLS.
    pub fn contains(&self, needle: &[u8]) -> bool {
        let has = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        has(&self.raw) || has(&self.decrypted)
    }
}

/// A server thread on 127.0.0.1; `join` gives what it received.
pub struct Server {
    /// Its port.
    pub port: u16,
    handle: JoinHandle<Received>,
}

impl Server {
    /// Start `script` on one accepted connection.
    pub fn start(
        script: impl FnOnce(Recording, Arc<Mutex<Vec<u8>>>) -> (bool, Vec<u8>) + Send + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let sock = Recording {
                stream,
                seen: Arc::clone(&seen),
            };
            let (handshake_done, decrypted) = script(sock, Arc::clone(&seen));
            let raw = seen.lock().unwrap().clone();
            Received {
                raw,
                decrypted,
                handshake_done,
            }
        });
        Server { port, handle }
    }

    /// Wait for the server's end.
    pub fn join(self) -> Received {
        self.handle.join().unwrap()
    }
}

/// Read one CRLF line.
fn line(r: &mut impl BufRead) -> Option<String> {
    let mut l = String::new();
    match r.read_line(&mut l) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(l.trim_end().to_owned()),
    }
}

/// Complete a TLS handshake as a server over `sock`; `None` if it failed.
pub fn accept_tls(
    config: Arc<ServerConfig>,
    mut sock: Recording,
) -> Option<StreamOwned<ServerConnection, Recording>> {
    let mut conn = ServerConnection::new(config).unwrap();
    while conn.is_handshaking() {
        if conn.complete_io(&mut sock).is_err() {
            return None;
        }
    }
    Some(StreamOwned::new(conn, sock))
}

/// An SMTP submission server inside TLS: EHLO offers XOAUTH2 (or nothing
/// when `offer_auth` is false), AUTH gets 235, a message gets 250, QUIT
/// 221. Returns the plaintext it read.
pub fn smtp_inside_tls(tls: impl Read + Write, offer_auth: bool) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut r = BufReader::new(tls);
    let mut in_data = false;
    while let Some(l) = line(&mut r) {
        seen.extend_from_slice(l.as_bytes());
        seen.extend_from_slice(b"\r\n");
        let upper = l.to_ascii_uppercase();
        let reply: &[u8] = if in_data {
            if l == "." {
                in_data = false;
                b"250 2.0.0 queued\r\n"
            } else {
                continue;
            }
        } else if upper.starts_with("EHLO") {
            if offer_auth {
                b"250-test.invalid\r\n250-PIPELINING\r\n250 AUTH XOAUTH2\r\n"
            } else {
                b"250-test.invalid\r\n250 PIPELINING\r\n"
            }
        } else if upper.starts_with("AUTH") {
            b"235 2.7.0 Accepted\r\n"
        } else if upper == "DATA" {
            in_data = true;
            b"354 go ahead\r\n"
        } else if upper == "QUIT" {
            let _ = r.get_mut().write_all(b"221 2.0.0 bye\r\n");
            break;
        } else {
            b"250 2.1.0 OK\r\n"
        };
        if r.get_mut()
            .write_all(reply)
            .and_then(|()| r.get_mut().flush())
            .is_err()
        {
            break;
        }
    }
    seen
}

/// A submission server on port 587's model: greeting, EHLO offering
/// STARTTLS (and, to tempt a downgrade, AUTH XOAUTH2 in the clear),
/// STARTTLS with `config`, then [`smtp_inside_tls`].
pub fn starttls_server(config: Arc<ServerConfig>, offer_auth_after_tls: bool) -> Server {
    Server::start(move |sock, _| {
        let mut r = BufReader::new(sock);
        let _ = r.get_mut().write_all(b"220 test.invalid ESMTP\r\n");
        while let Some(l) = line(&mut r) {
            let upper = l.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                let _ = r
                    .get_mut()
                    .write_all(b"250-test.invalid\r\n250-AUTH XOAUTH2\r\n250 STARTTLS\r\n");
            } else if upper == "STARTTLS" {
                let _ = r.get_mut().write_all(b"220 2.0.0 go ahead\r\n");
                assert!(r.buffer().is_empty(), "the client wrote after STARTTLS");
                return match accept_tls(config, r.into_inner()) {
                    Some(tls) => (true, smtp_inside_tls(tls, offer_auth_after_tls)),
                    None => (false, Vec::new()),
                };
            } else {
                let _ = r
                    .get_mut()
                    .write_all(b"530 5.7.0 Must issue a STARTTLS command first\r\n");
            }
        }
        (false, Vec::new())
    })
}

/// An implicit-TLS (465) submission server presenting `config`.
pub fn implicit_tls_server(config: Arc<ServerConfig>) -> Server {
    Server::start(move |sock, _| match accept_tls(config, sock) {
        Some(mut tls) => {
            let _ = tls.write_all(b"220 test.invalid ESMTP\r\n");
            (true, smtp_inside_tls(tls, true))
        }
        None => (false, Vec::new()),
    })
}

/// An HTTPS server presenting `config` that reads one request and answers
/// `response`; `hold` keeps the connection open afterwards until the
/// client closes it (or 20 s pass). Returns (plaintext read, whether the
/// client closed first).
pub fn https_server(config: Arc<ServerConfig>, response: Vec<u8>, hold: bool) -> Server {
    Server::start(move |sock, _| {
        let Some(mut tls) = accept_tls(config, sock) else {
            return (false, Vec::new());
        };
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        // Head, then the body by its Content-Length.
        loop {
            match tls.read(&mut buf) {
                Ok(0) | Err(_) => return (true, request),
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
            if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if request.len() >= end + 4 + len {
                    break;
                }
            }
        }
        let _ = tls.write_all(&response);
        let _ = tls.flush();
        if hold {
            // Say nothing more; report whether the client hung up.
            let closed_by_client = match tls.read(&mut buf) {
                Ok(_) => true,
                Err(e) => !matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ),
            };
            request.extend_from_slice(if closed_by_client {
                b"\n#client-closed"
            } else {
                b"\n#server-gave-up"
            });
        }
        (true, request)
    })
}

/// An OAuth client whose token endpoint is `https://127.0.0.1:port/token`,
/// started on the refresh grant with `refresh_token`.
pub fn refreshing(port: u16, refresh_token: &[u8]) -> mfp_oauth_core::oauth::Client<Vec<u8>> {
    use mfp_oauth_core::provider::{AppRegistration, CustomEndpoints, Provider};
    let token_url = format!("https://127.0.0.1:{port}/token");
    let provider = Provider::custom(&CustomEndpoints {
        authorize_url: None,
        token_url: &token_url,
        device_url: None,
        scope: "https://outlook.office.com/SMTP.Send offline_access",
    })
    .unwrap();
    let app = AppRegistration::public("mfp-oauth-host-tests").unwrap();
    let buf = vec![0u8; mfp_oauth_core::limits::OAUTH_RESPONSE_BUF_LEN];
    let mut c = mfp_oauth_core::oauth::Client::new(provider, app, buf, 9);
    c.start_refresh(mfp_oauth_core::Instant::ZERO, refresh_token)
        .unwrap();
    c
}

/// The printer's SMTP settings for a test server on 127.0.0.1 (XOAUTH2).
pub fn endpoint(
    port: u16,
    security: mfp_oauth_core::smtp::Security,
    tls: mfp_oauth_host::tls::TlsSettings,
) -> mfp_oauth_host::driver::smtp::SmtpEndpoint {
    mfp_oauth_host::driver::smtp::SmtpEndpoint {
        host: "127.0.0.1".into(),
        port,
        security,
        ehlo_name: "printer.contoso.test".into(),
        mechanism: mfp_oauth_core::smtp::MechanismPreference::Xoauth2,
        net: mfp_oauth_host::net::NetOptions::default(),
        tls,
    }
}
