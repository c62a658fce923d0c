//! The `tls-rustls` option's TLS link ([`TlsStream`], what the driver opens
//! over its embassy-net sockets) against rustls servers on loopback (std
//! and ring, the host's TLS): TLS 1.2 with an RSA chain (Microsoft's
//! shape), TLS 1.3 with ECDSA, the settings' TLS range, the driver's path
//! checks and webpki's refusals with the host's diagnostics, and the heap
//! high-water mark of a connection (printed with `--nocapture`; read by
//! `embassy/tools/size-report.sh`).
//!
//! RSA keys come from `tests/data` (test keys, made with openssl; ring
//! cannot generate RSA keys); the certificates are made at each run.

#![cfg(feature = "tls-rustls")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::thread;

use embassy_futures::block_on;
use embedded_tls::{NoClock, TlsClock};
use mfp_oauth_core::config::TlsVersion;
use mfp_oauth_core::diag::Id;
use mfp_oauth_embassy::{LinkError, TlsStream, TLS_READ_BUF_LEN, TLS_WRITE_BUF_LEN};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_RSA_SHA256,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ProtocolVersion, ServerConfig, ServerConnection};

const SERVER: &str = "smtp.office365.test";
const RSA_CA_KEY: &str = include_str!("data/rsa-ca.key.pem");
const RSA_SERVER_KEY: &str = include_str!("data/rsa-server.key.pem");

// ---- heap high-water mark of the client's thread ----------------------------

struct Counting;

thread_local! {
    static TRACK: Cell<bool> = const { Cell::new(false) };
}
static CURRENT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn tracked() -> bool {
    TRACK.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: every call goes to the system allocator unchanged; the counters
// only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if tracked() {
            let now = CURRENT.fetch_add(layout.size() as isize, Ordering::Relaxed)
                + layout.size() as isize;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if tracked() {
            CURRENT.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if tracked() {
            let now = CURRENT.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            ) + new_size as isize
                - layout.size() as isize;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

// ---- certificates ---------------------------------------------------------

struct Cert {
    der: Vec<u8>,
    params: CertificateParams,
    key: KeyPair,
}

impl Cert {
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

fn server_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::new(vec![name.to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::NoCa;
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p
}

fn rsa_key(pem: &str) -> KeyPair {
    KeyPair::from_pem_and_sign_algo(pem, &PKCS_RSA_SHA256).unwrap()
}

fn self_signed(params: CertificateParams, key: KeyPair) -> Cert {
    let der = params.self_signed(&key).unwrap().der().to_vec();
    Cert { der, params, key }
}

fn signed(params: CertificateParams, key: KeyPair, by: &Cert) -> Cert {
    let der = params.signed_by(&key, &by.issuer()).unwrap().der().to_vec();
    Cert { der, params, key }
}

fn ecdsa_key() -> KeyPair {
    KeyPair::generate().unwrap()
}

/// Microsoft's shape: an RSA root, an RSA intermediate CA, an RSA server
/// certificate (the intermediate's key is the root's test key again: the
/// chain's signatures are what is checked).
struct RsaPki {
    root: Cert,
    chain: Vec<Vec<u8>>,
    server_key: String,
}

fn rsa_pki(name: &str) -> RsaPki {
    let root = self_signed(ca_params("Test RSA Root"), rsa_key(RSA_CA_KEY));
    let inter = signed(ca_params("Test RSA Issuing CA"), rsa_key(RSA_CA_KEY), &root);
    let leaf = signed(server_params(name), rsa_key(RSA_SERVER_KEY), &inter);
    RsaPki {
        chain: vec![leaf.der.clone(), inter.der.clone()],
        root,
        server_key: RSA_SERVER_KEY.to_string(),
    }
}

// ---- the server -------------------------------------------------------------

/// What the server saw.
#[derive(Debug)]
struct Seen {
    version: Option<ProtocolVersion>,
    line: Vec<u8>,
}

/// A rustls server on loopback for one connection: it reads one line,
/// answers it with `reply` (any length), reads until the client closes.
fn serve(
    versions: &[&'static rustls::SupportedProtocolVersion],
    chain: Vec<Vec<u8>>,
    key_pem: &str,
    reply: Vec<u8>,
) -> (u16, thread::JoinHandle<Seen>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        KeyPair::from_pem(key_pem).unwrap().serialize_der(),
    ));
    let chain: Vec<CertificateDer<'static>> = chain.into_iter().map(CertificateDer::from).collect();
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        let mut conn = ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = rustls::Stream::new(&mut conn, &mut sock);
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match tls.read(&mut byte) {
                Ok(1) if byte[0] == b'\n' => break,
                Ok(1) => line.push(byte[0]),
                _ => break,
            }
        }
        let version = tls.conn.protocol_version();
        if !line.is_empty() {
            let _ = tls.write_all(&reply);
            let _ = tls.flush();
            let mut rest = [0u8; 256];
            while matches!(tls.read(&mut rest), Ok(n) if n > 0) {}
        }
        Seen { version, line }
    });
    (port, handle)
}

// ---- the client (the board's side, over a blocking std socket) ------------

/// A std TCP socket as an `embedded-io-async` transport (blocking inside
/// the futures, which `block_on` runs).
struct StdIo(TcpStream);

#[derive(Debug)]
struct IoError;

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("socket error")
    }
}

impl std::error::Error for IoError {}

impl embedded_io_async::Error for IoError {
    fn kind(&self) -> embedded_io_async::ErrorKind {
        embedded_io_async::ErrorKind::Other
    }
}

impl embedded_io_async::ErrorType for StdIo {
    type Error = IoError;
}

impl embedded_io_async::Read for StdIo {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.0.read(buf).map_err(|_| IoError)
    }
}

impl embedded_io_async::Write for StdIo {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.write(buf).map_err(|_| IoError)
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.0.flush().map_err(|_| IoError)
    }
}

/// A wall clock past rcgen's default notAfter (4096-01-01).
struct FarFuture;

impl TlsClock for FarFuture {
    fn now() -> Option<u64> {
        Some(70_000_000_000) // in the year 4188
    }
}

struct Outcome {
    result: Result<usize, Id>,
    seen: Option<Seen>,
}

/// Connects to `port` as `host` with `range`, trusting `ca`; on success
/// sends a line and reads the whole reply through a 512-octet buffer (the
/// driver's input half).
fn client<C: TlsClock>(
    port: u16,
    host: &str,
    ca: &[u8],
    range: (TlsVersion, TlsVersion),
    track: bool,
) -> Result<usize, Id> {
    // Nested in a measured link (two links at once): the test's own
    // buffers are not the TLS stack's heap.
    let was = tracked();
    TRACK.with(|t| t.set(false));
    let expected = reply();
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut rx = vec![0u8; TLS_READ_BUF_LEN];
    let mut tx = vec![0u8; TLS_WRITE_BUF_LEN];
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    // The buffers above are the caller's (statics on a board): from here
    // on, the heap is the TLS stack's.
    if track {
        CURRENT.store(0, Ordering::Relaxed);
        PEAK.store(0, Ordering::Relaxed);
    }
    TRACK.with(|t| t.set(track || was));
    let r = block_on(async {
        let mut tls = match TlsStream::connect::<C>(
            StdIo(sock),
            &mut rx,
            &mut tx,
            host,
            None,
            ca,
            range,
            &mut rng,
        )
        .await
        {
            Ok(t) => t,
            Err((io, diag)) => {
                let _ = io.0.shutdown(std::net::Shutdown::Both);
                return Err(diag);
            }
        };
        tls.write_all(b"EHLO printer\n").await.unwrap();
        // Compared as it comes, so that the test keeps nothing on the heap.
        let mut got = 0;
        let mut buf = [0u8; 512];
        while got < expected.len() {
            match tls.read(&mut buf).await {
                Ok(0) | Err(LinkError::Closed) => break,
                Ok(n) => {
                    assert_eq!(&buf[..n], &expected[got..got + n], "at {got}");
                    got += n;
                }
                Err(LinkError::Io) => panic!("read failed"),
            }
        }
        let io = tls.close().await;
        let _ = io.0.shutdown(std::net::Shutdown::Both);
        Ok(got)
    });
    TRACK.with(|t| t.set(false));
    drop((expected, rx, tx));
    TRACK.with(|t| t.set(was));
    r
}

fn reply() -> Vec<u8> {
    // Larger than one TLS record and than the read buffer's 512 octets.
    let mut r: Vec<u8> = (0..40_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    r.extend_from_slice(b"\n.\n");
    r
}

fn run<C: TlsClock>(
    server_versions: &[&'static rustls::SupportedProtocolVersion],
    chain: Vec<Vec<u8>>,
    key_pem: &str,
    host: &str,
    ca: &[u8],
    range: (TlsVersion, TlsVersion),
) -> Outcome {
    let (port, server) = serve(server_versions, chain, key_pem, reply());
    let result = client::<C>(port, host, ca, range, false);
    let seen = server.join().ok();
    Outcome { result, seen }
}

const BOTH: (TlsVersion, TlsVersion) = (TlsVersion::Tls12, TlsVersion::Tls13);
const ONLY_12: (TlsVersion, TlsVersion) = (TlsVersion::Tls12, TlsVersion::Tls12);
const ONLY_13: (TlsVersion, TlsVersion) = (TlsVersion::Tls13, TlsVersion::Tls13);

fn ecdsa_pki(name: &str) -> (Cert, Vec<Vec<u8>>, String) {
    let root = self_signed(ca_params("Test ECDSA Root"), ecdsa_key());
    let leaf = signed(server_params(name), ecdsa_key(), &root);
    let key = leaf.key.serialize_pem();
    (root, vec![leaf.der], key)
}

#[test]
fn tls12_only_server_with_an_rsa_chain_is_reached() {
    let pki = rsa_pki(SERVER);
    let out = run::<NoClock>(
        &[&rustls::version::TLS12],
        pki.chain,
        &pki.server_key,
        SERVER,
        &pki.root.der,
        BOTH,
    );
    assert_eq!(out.result, Ok(reply().len()));
    let seen = out.seen.unwrap();
    assert_eq!(seen.version, Some(ProtocolVersion::TLSv1_2));
    assert_eq!(seen.line, b"EHLO printer");
}

#[test]
fn tls13_server_with_an_rsa_chain_is_reached() {
    let pki = rsa_pki(SERVER);
    let out = run::<NoClock>(
        &[&rustls::version::TLS13],
        pki.chain,
        &pki.server_key,
        SERVER,
        &pki.root.der,
        BOTH,
    );
    assert_eq!(out.result, Ok(reply().len()));
    assert_eq!(out.seen.unwrap().version, Some(ProtocolVersion::TLSv1_3));
}

#[test]
fn tls13_server_with_an_ecdsa_chain_is_reached() {
    let (root, chain, key) = ecdsa_pki(SERVER);
    let out = run::<NoClock>(
        &[&rustls::version::TLS13, &rustls::version::TLS12],
        chain,
        &key,
        SERVER,
        &root.der,
        BOTH,
    );
    assert_eq!(out.result, Ok(reply().len()));
    assert_eq!(out.seen.unwrap().version, Some(ProtocolVersion::TLSv1_3));
}

#[test]
fn tls12_with_an_ecdsa_chain_is_reached() {
    let (root, chain, key) = ecdsa_pki(SERVER);
    let out = run::<NoClock>(
        &[&rustls::version::TLS12],
        chain,
        &key,
        SERVER,
        &root.der,
        BOTH,
    );
    assert_eq!(out.result, Ok(reply().len()));
    assert_eq!(out.seen.unwrap().version, Some(ProtocolVersion::TLSv1_2));
}

// The settings' range is what the board offers.
#[test]
fn a_tls13_only_range_refuses_a_tls12_only_server() {
    let pki = rsa_pki(SERVER);
    let out = run::<NoClock>(
        &[&rustls::version::TLS12],
        pki.chain,
        &pki.server_key,
        SERVER,
        &pki.root.der,
        ONLY_13,
    );
    assert_eq!(out.result.unwrap_err(), Id::TlsVersionMismatch);
    assert!(out.seen.unwrap().line.is_empty(), "nothing was sent");
}

#[test]
fn a_tls12_only_range_refuses_a_tls13_only_server() {
    let (root, chain, key) = ecdsa_pki(SERVER);
    let out = run::<NoClock>(
        &[&rustls::version::TLS13],
        chain,
        &key,
        SERVER,
        &root.der,
        ONLY_12,
    );
    assert_eq!(out.result.unwrap_err(), Id::TlsVersionMismatch);
    assert!(out.seen.unwrap().line.is_empty(), "nothing was sent");
}

#[test]
fn a_tls12_only_range_gets_tls12_from_a_tls13_server() {
    let (root, chain, key) = ecdsa_pki(SERVER);
    let out = run::<NoClock>(
        &[&rustls::version::TLS13, &rustls::version::TLS12],
        chain,
        &key,
        SERVER,
        &root.der,
        ONLY_12,
    );
    assert_eq!(out.result, Ok(reply().len()));
    assert_eq!(out.seen.unwrap().version, Some(ProtocolVersion::TLSv1_2));
}

#[test]
fn a_range_without_tls12_or_13_connects_nowhere() {
    let (root, _, _) = ecdsa_pki(SERVER);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let r = client::<NoClock>(
        port,
        SERVER,
        &root.der,
        (TlsVersion::Tls10, TlsVersion::Tls11),
        false,
    );
    assert_eq!(r, Err(Id::TlsVersionMismatch));
}

// Impostors: refused before the client sends anything (the server sees no
// line), with the host's diagnostics.

#[test]
fn another_ca_is_refused_untrusted() {
    let pki = rsa_pki(SERVER);
    let (other_root, _, _) = ecdsa_pki(SERVER);
    let out = run::<NoClock>(
        &[&rustls::version::TLS12],
        pki.chain,
        &pki.server_key,
        SERVER,
        &other_root.der,
        BOTH,
    );
    assert_eq!(out.result.unwrap_err(), Id::CertificateUntrusted);
    assert!(out.seen.unwrap().line.is_empty());
}

#[test]
fn another_name_is_refused_wrong_name() {
    let pki = rsa_pki("smtp.elsewhere.test");
    let out = run::<NoClock>(
        &[&rustls::version::TLS12],
        pki.chain,
        &pki.server_key,
        SERVER,
        &pki.root.der,
        BOTH,
    );
    assert_eq!(out.result.unwrap_err(), Id::CertificateWrongName);
    assert!(out.seen.unwrap().line.is_empty());
}

/// The attack the driver's path checks close: a certificate for the
/// server's name signed by another server's certificate (of the trusted
/// CA, but not a CA). Refused by the same checks as with embedded-tls.
#[test]
fn a_chain_through_a_server_certificate_is_refused_invalid() {
    let root = self_signed(ca_params("Test RSA Root"), rsa_key(RSA_CA_KEY));
    let real = signed(
        server_params("smtp.real.test"),
        rsa_key(RSA_SERVER_KEY),
        &root,
    );
    let forged = signed(server_params(SERVER), ecdsa_key(), &real);
    let key = forged.key.serialize_pem();
    let out = run::<NoClock>(
        &[&rustls::version::TLS12],
        vec![forged.der, real.der],
        &key,
        SERVER,
        &root.der,
        BOTH,
    );
    assert_eq!(out.result.unwrap_err(), Id::CertificateInvalid);
    assert!(out.seen.unwrap().line.is_empty());
}

#[test]
fn a_server_certificate_as_trust_anchor_is_refused() {
    let pki = rsa_pki(SERVER);
    let out = run::<NoClock>(
        &[&rustls::version::TLS12],
        pki.chain.clone(),
        &pki.server_key,
        SERVER,
        &pki.chain[0],
        BOTH,
    );
    assert_eq!(out.result.unwrap_err(), Id::CertificateInvalid);
}

#[test]
fn expired_certificate_is_refused_with_a_clock() {
    let pki = rsa_pki(SERVER);
    let out = run::<FarFuture>(
        &[&rustls::version::TLS12],
        pki.chain,
        &pki.server_key,
        SERVER,
        &pki.root.der,
        BOTH,
    );
    assert_eq!(out.result.unwrap_err(), Id::CertificateExpired);
    assert!(out.seen.unwrap().line.is_empty());
}

/// The heap a connection needs: the high-water mark of the client's
/// allocations through a handshake, a command and a 40 KB answer read in
/// 512-octet pieces, and the close (x86_64: pointers are twice a Cortex-M's
/// size, so a board's figure is no larger). Printed for
/// `embassy/tools/size-report.sh`.
#[test]
fn heap_high_water() {
    let measure =
        |label: &str, versions: &[&'static rustls::SupportedProtocolVersion], rsa: bool| {
            let (ca, chain, key) = if rsa {
                let p = rsa_pki(SERVER);
                (p.root.der, p.chain, p.server_key)
            } else {
                let (root, chain, key) = ecdsa_pki(SERVER);
                (root.der, chain, key)
            };
            let (port, server) = serve(versions, chain, &key, reply());
            let peak = thread::spawn(move || {
                let r = client::<NoClock>(port, SERVER, &ca, BOTH, true);
                assert_eq!(r, Ok(reply().len()));
                PEAK.load(Ordering::Relaxed)
            })
            .join()
            .unwrap();
            server.join().unwrap();
            println!("rustls heap high-water, {label}: {peak} B");
            assert!(peak > 0);
            peak
        };
    // One at a time: the counters are the measuring thread's.
    let a = measure("TLS 1.2, RSA-2048 chain", &[&rustls::version::TLS12], true);
    let b = measure(
        "TLS 1.3, ECDSA P-256 chain",
        &[&rustls::version::TLS13],
        false,
    );
    // The figure the README gives for the heap to reserve must cover both.
    assert!(a.max(b) < 64 * 1024, "{a} {b}");

    // A token refused in the middle of a session: the SMTP link stays open
    // (its reply half read) while the token endpoint's link runs whole.
    let smtp = rsa_pki(SERVER);
    let token = rsa_pki(SERVER);
    let (smtp_port, smtp_server) = serve(
        &[&rustls::version::TLS12],
        smtp.chain,
        &smtp.server_key,
        reply(),
    );
    let (token_port, token_server) = serve(
        &[&rustls::version::TLS12],
        token.chain,
        &token.server_key,
        reply(),
    );
    let (smtp_ca, token_ca) = (smtp.root.der, token.root.der);
    let both = thread::spawn(move || {
        let expected = reply();
        let sock = TcpStream::connect(("127.0.0.1", smtp_port)).unwrap();
        let (mut rx, mut tx) = (vec![0u8; TLS_READ_BUF_LEN], vec![0u8; TLS_WRITE_BUF_LEN]);
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        CURRENT.store(0, Ordering::Relaxed);
        PEAK.store(0, Ordering::Relaxed);
        TRACK.with(|t| t.set(true));
        block_on(async {
            let mut tls = TlsStream::connect::<NoClock>(
                StdIo(sock),
                &mut rx,
                &mut tx,
                SERVER,
                None,
                &smtp_ca,
                BOTH,
                &mut rng,
            )
            .await
            .map_err(|(_, d)| d)
            .unwrap();
            tls.write_all(b"EHLO printer\n").await.unwrap();
            let mut buf = [0u8; 512];
            let mut got = 0;
            while got < expected.len() / 2 {
                got += tls.read(&mut buf).await.unwrap();
            }
            let r = client::<NoClock>(token_port, SERVER, &token_ca, BOTH, false);
            assert_eq!(r, Ok(expected.len()));
            while got < expected.len() {
                got += tls.read(&mut buf).await.unwrap();
            }
            let _ = tls.close().await;
        });
        TRACK.with(|t| t.set(false));
        PEAK.load(Ordering::Relaxed)
    })
    .join()
    .unwrap();
    smtp_server.join().unwrap();
    token_server.join().unwrap();
    println!("rustls heap high-water, two links at once (TLS 1.2, RSA-2048): {both} B");
    assert!(both >= a);
}
