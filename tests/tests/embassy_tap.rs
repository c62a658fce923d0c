//! The embassy board driver (issue 10) against the real servers of the
//! interop suite: an embassy-net stack (192.168.69.2) on a Linux TAP
//! device, embedded-tls for TLS 1.3, the token exchange at oidc-provider
//! and the scan job at Dovecot submission, delivered to the sink.
//!
//! Run with `bash tests/embassy/run.sh` (root: it makes the TAP device
//! `mfptap0` with 192.168.69.1/24, then runs the interop servers and these
//! tests with `--ignored`). The servers bind loopback; this test forwards
//! 192.168.69.1:24550..24552 to them (plain TCP: TLS is end to end between
//! the board and the real server), and one test runs an impostor TLS 1.3
//! server of its own (rustls) on 192.168.69.1:24553. Without the device or
//! the servers each test fails: none skips silently.
//!
//! The tests share one TAP device, so they take turns (a lock), and one
//! administrator grant whose refresh token rotates at every refresh.
//!
//! R-SMTP, R-SASL, R-OAUTH, R-TOK-1, R-TOK-2, R-RULE-2, R-LOG, R-BARE.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "interop/browser.rs"]
#[allow(dead_code)]
mod browser;
#[path = "interop/servers.rs"]
#[allow(dead_code)]
mod servers;

use browser::enter_device_code;
use embassy_net::{Config, IpAddress, Ipv4Cidr, Stack, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use embedded_tls::{NoClock, TlsClock};
use mfp_oauth_core::config::{
    ConfigError, CustomProvider, ProviderKind, Settings, SmtpServer, TlsVersion,
};
use mfp_oauth_core::diag::Id;
use mfp_oauth_core::function::Function;
use mfp_oauth_core::limits::OAUTH_RESPONSE_BUF_LEN;
use mfp_oauth_core::mailer::{Job, Mailer, Plan};
use mfp_oauth_core::oauth::{self, Event};
use mfp_oauth_core::provider::{AppRegistration, LoopbackHost};
use mfp_oauth_core::smtp::Security;
use mfp_oauth_core::token::{
    StoreEvent, TokenGrant, TokenOwner, TokenStatus, TokenStore, UserSlots,
};
use mfp_oauth_core::{Address, Duration as CoreDuration};
use mfp_oauth_embassy::{
    board_settings, Board, Buffers, Dns, Hosts, LinkBuffers, Observer, Resolve, Trust, TLS_RANGE,
    TLS_READ_BUF_LEN, TLS_WRITE_BUF_LEN,
};
use mfp_oauth_host::clock::{Clock, SystemClock};
use mfp_oauth_host::driver::oauth::{drive, Finish};
use mfp_oauth_host::mime::{compose, Attachment, Composition};
use servers::{find, scan_data, servers};
use std::future::Future;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

const ADMIN: &str = "admin@contoso.test";
const PRINTER: &str = "mfp-printer";
const SCOPE: &str = "smtp offline_access";
/// The host's end of the TAP device.
const HOST_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 69, 1);
/// The board's address.
const BOARD_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 69, 2);
/// The name the servers go by (in the run's server certificate); the
/// board's host table maps it to the TAP device's host end.
const NAME: &str = "mail.interop.test";
/// A name the certificate does not carry, at the same address.
const WRONG_NAME: &str = "wrong.interop.test";
/// Forwarders on the TAP address: the token endpoint (HTTPS), Dovecot
/// submission (STARTTLS) and submissions (implicit TLS).
const P_HTTPS: u16 = 24550;
const P_SUB: u16 = 24551;
const P_SUBS: u16 = 24552;

fn tap_name() -> String {
    std::env::var("MFP_EMBASSY_TAP").unwrap_or_else(|_| "mfptap0".into())
}

// ------------------------------------------------------------ executor

/// Wakes the test thread; embassy-time's std driver and the TAP device's
/// reactor call it from their threads.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Poll `f` on this thread, sleeping until something wakes it.
fn block_on<F: Future>(f: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

/// Run `scenario` with a fresh embassy-net stack on the TAP device (the
/// stack's runner polled beside it). Fails loudly without the device.
fn on_tap<T>(
    scenario: impl FnOnce(Stack<'static>) -> std::pin::Pin<Box<dyn Future<Output = T>>>,
) -> T {
    let tap = tap_name();
    let device = TunTapDevice::new(&tap).unwrap_or_else(|e| {
        panic!("cannot open the TAP device {tap} ({e}): run bash tests/embassy/run.sh as root")
    });
    let config = Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(BOARD_IP, 24),
        gateway: None,
        // The test's own DNS responder (dns_responder).
        dns_servers: [HOST_IP].into_iter().collect(),
    });
    let resources = Box::leak(Box::new(StackResources::<4>::new()));
    let (stack, mut runner) = embassy_net::new(device, config, resources, 0x5eed_1234);
    block_on(async move {
        match embassy_futures::select::select(runner.run(), scenario(stack)).await {
            embassy_futures::select::Either::First(never) => match never {},
            embassy_futures::select::Either::Second(v) => v,
        }
    })
}

// ------------------------------------------------------------ forwarders

/// What the board sent through one forwarded connection (plain TCP
/// octets: before STARTTLS in clear, after it TLS records).
type Seen = Arc<Mutex<Vec<Vec<u8>>>>;

struct Forwarders {
    https: Seen,
    sub: Seen,
    subs: Seen,
}

fn pipe(mut from: TcpStream, mut to: TcpStream, record: Option<(Seen, usize)>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some((seen, i)) = &record {
                    seen.lock().unwrap()[*i].extend_from_slice(&buf[..n]);
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

fn forward(port: u16, upstream: (Ipv4Addr, u16)) -> Seen {
    let listener = TcpListener::bind((HOST_IP, port)).unwrap_or_else(|e| {
        panic!("cannot listen on {HOST_IP}:{port} ({e}): is the TAP device up?")
    });
    let seen: Seen = Arc::default();
    let record = seen.clone();
    std::thread::spawn(move || {
        for board in listener.incoming().flatten() {
            let server = TcpStream::connect(upstream).expect("upstream server");
            let i = {
                let mut s = record.lock().unwrap();
                s.push(Vec::new());
                s.len() - 1
            };
            let (b2, s2) = (board.try_clone().unwrap(), server.try_clone().unwrap());
            let r = record.clone();
            std::thread::spawn(move || pipe(board, server, Some((r, i))));
            std::thread::spawn(move || pipe(s2, b2, None));
        }
    });
    seen
}

fn forwarders() -> &'static Forwarders {
    static F: OnceLock<Forwarders> = OnceLock::new();
    F.get_or_init(|| {
        let s = servers();
        let issuer_port: u16 = s.issuer.rsplit(':').next().unwrap().parse().unwrap();
        let lo = Ipv4Addr::LOCALHOST;
        Forwarders {
            https: forward(P_HTTPS, (lo, issuer_port)),
            // 127.0.0.2: Dovecot applies its real TLS policy there.
            sub: forward(P_SUB, (Ipv4Addr::new(127, 0, 0, 2), s.dovecot_submission)),
            subs: forward(P_SUBS, (lo, s.dovecot_submissions)),
        }
    })
}

// ------------------------------------------------------------ fixtures

/// The tests take turns on the TAP device; the guard holds the
/// administrator's current refresh token (it rotates at each refresh).
fn turn() -> MutexGuard<'static, Option<Vec<u8>>> {
    static T: Mutex<Option<Vec<u8>>> = Mutex::new(None);
    T.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The run's CA (DER), the board's trust anchor.
fn run_ca() -> &'static [u8] {
    static CA: OnceLock<Vec<u8>> = OnceLock::new();
    CA.get_or_init(|| {
        let pem = std::fs::read_to_string(&servers().ca).unwrap();
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    })
}

/// A CA that signed none of the servers.
fn wrong_ca() -> &'static [u8] {
    static CA: OnceLock<Vec<u8>> = OnceLock::new();
    CA.get_or_init(|| {
        mfp_oauth_host::sim::pki::Pki::generate(&[NAME])
            .unwrap()
            .ca_der()
            .to_vec()
    })
}

fn url<T: for<'a> TryFrom<&'a str>>(path: &str) -> T {
    let u = format!("https://{NAME}:{P_HTTPS}{path}");
    T::try_from(u.as_str()).unwrap_or_else(|_| panic!("{u} too long"))
}

/// The administrator's settings on the board: oidc-provider as a custom
/// provider, Dovecot as the SMTP server, both by name over the TAP link.
fn settings(security: Security) -> Settings {
    let port = match security {
        Security::ImplicitTls => P_SUBS,
        _ => P_SUB,
    };
    Settings {
        oauth_enabled: true,
        provider: ProviderKind::Custom,
        client_id: PRINTER.try_into().unwrap(),
        custom: CustomProvider {
            token_url: url("/token"),
            device_url: url("/device/auth"),
            authorize_url: url("/auth"),
            scope: SCOPE.try_into().unwrap(),
        },
        smtp: SmtpServer::new(NAME, port, security),
        admin_address: Some(Address::parse(ADMIN).unwrap()),
        ..Settings::default()
    }
}

fn mailer(st: Settings) -> Mailer {
    let mut m = Mailer::new(Settings::default(), TokenStore::new());
    let _ = mfp_oauth_embassy::apply_settings(&mut m, st).unwrap();
    m
}

fn oauth_client(m: &Mailer) -> oauth::Client<Vec<u8>> {
    let st = m.settings();
    let app = st
        .app_registration(&AppRegistration::public("unused").unwrap())
        .unwrap();
    oauth::Client::new(
        st.provider_profile().unwrap(),
        app,
        vec![0u8; OAUTH_RESPONSE_BUF_LEN],
        0x0b0a_4d00,
    )
}

/// The administrator's refresh token: from an earlier test, or from a
/// device-flow sign-in with the host's driver on loopback.
fn admin_refresh_token(held: &mut Option<Vec<u8>>) -> Vec<u8> {
    if let Some(t) = held {
        return t.clone();
    }
    let s = servers();
    let mut client = s.oauth_client(PRINTER, SCOPE);
    let clock = SystemClock::new();
    client.start_device(clock.now()).unwrap();
    let mut user = None;
    let finish = drive(&clock, &mut client, &s.transport(), None, &mut |c, step| {
        if step == mfp_oauth_host::driver::oauth::Step::Event(Event::UserCode) {
            let code = c.device_authorization().unwrap().user_code.to_string();
            let (tls, issuer) = (s.tls(), s.issuer.clone());
            user = Some(std::thread::spawn(move || {
                enter_device_code(tls, &issuer, &code, ADMIN, true)
            }));
        }
    });
    user.expect("a user code").join().unwrap();
    assert!(matches!(finish, Finish::AccessToken { .. }), "{finish:?}");
    let t = client.tokens().unwrap().refresh_token.expose().to_vec();
    assert!(!t.is_empty(), "a refresh token");
    *held = Some(t.clone());
    t
}

/// A store holding the administrator's tokens, as after an Acquire.
fn admin_store(access_token: &[u8], refresh_token: &[u8]) -> TokenStore {
    let account = Address::parse(ADMIN).unwrap();
    let mut store = TokenStore::new();
    store
        .store_acquired(
            mfp_oauth_embassy::now(),
            None,
            &TokenOwner::Admin,
            &account,
            TokenGrant {
                access_token,
                expires_in: CoreDuration::from_secs(3600),
                refresh_token: Some(refresh_token),
                refresh_expires_in: None,
            },
        )
        .unwrap();
    store
}

/// The administrator's tokens in the board's store, as after an Acquire:
/// the board's mailer with its settings as they are, over that store (the
/// mailer lends no raw store, R-ENGINE).
fn holding(m: &mut Mailer, access_token: &[u8], refresh_token: &[u8]) {
    *m = Mailer::new(
        m.settings().clone(),
        admin_store(access_token, refresh_token),
    );
}

/// A board after a power cycle (R-TOK-1): the refresh token in the store,
/// no access token.
fn rebooted(st: Settings, refresh_token: &[u8]) -> Mailer {
    let m = mailer(st);
    let mut store = admin_store(b"lost-at-power-off", refresh_token);
    store.power_on();
    while store.poll_event().is_some() {}
    Mailer::new(m.settings().clone(), store)
}

/// A scan job's message: a text part and a 300 KB "scan" attachment
/// (pseudo-random octets: base64 lines of every shape), after a marker.
fn scan_message(marker: &str) -> Vec<u8> {
    let data = scan_data(300 * 1024);
    let to = ["scan-inbox@example.test".to_owned()];
    let mut m = format!("X-Interop-Marker: {marker}\r\n").into_bytes();
    m.extend(
        compose(&Composition {
            from: ADMIN,
            to: &to,
            subject: "Scan from the embassy board",
            text: "Scanned document attached.\r\n.\r\nA line with only a dot, above.",
            attachments: &[Attachment::from_bytes(
                "scan-0001.pdf",
                "application/pdf",
                data,
            )],
            message_id_local: marker,
            date: std::time::SystemTime::now(),
        })
        .unwrap(),
    );
    m
}

/// The sink's copy ends with the submitted message, octet for octet
/// (after the trace fields the servers prepend).
fn assert_delivered(marker: &str, submitted: &[u8]) {
    let s = servers();
    let got = s
        .delivered(marker, Duration::from_secs(30))
        .unwrap_or_else(|| {
            panic!(
                "nothing delivered with {marker}\n{}",
                s.log_tail("dovecot/dovecot.log")
            )
        });
    assert!(
        got.ends_with(submitted),
        "the delivered message ({} octets) does not end with the submitted one ({} octets)",
        got.len(),
        submitted.len()
    );
}

/// Counts the store's persistence requests (a rotated refresh token must
/// be written to flash, R-TOK-2).
#[derive(Default)]
struct Persisted {
    persists: usize,
}

impl Observer for Persisted {
    fn store_event<U: UserSlots>(&mut self, _: &TokenStore<U>, event: &StoreEvent) {
        if matches!(event, StoreEvent::Persist { .. }) {
            self.persists += 1;
        }
    }
}

/// The caller's memory for the driver (on a board: statics).
struct Memory {
    smtp: [Vec<u8>; 4],
    token: [Vec<u8>; 4],
    out: Vec<u8>,
    input: Vec<u8>,
}

impl Memory {
    fn new() -> Self {
        let link = || {
            [
                vec![0u8; 8192],
                vec![0u8; 8192],
                vec![0u8; TLS_READ_BUF_LEN],
                vec![0u8; TLS_WRITE_BUF_LEN],
            ]
        };
        Memory {
            smtp: link(),
            token: link(),
            out: vec![0u8; 8192],
            input: vec![0u8; 2048],
        }
    }

    fn buffers(&mut self) -> Buffers<'_> {
        let [a, b, c, d] = &mut self.smtp;
        let [e, f, g, h] = &mut self.token;
        Buffers {
            smtp: LinkBuffers {
                socket_rx: a,
                socket_tx: b,
                tls_read: c,
                tls_write: d,
            },
            token: LinkBuffers {
                socket_rx: e,
                socket_tx: f,
                tls_read: g,
                tls_write: h,
            },
            out: &mut self.out,
            input: &mut self.input,
        }
    }
}

/// How the board finds the servers: its host table, or DNS.
enum Names {
    Table(Hosts<'static>),
    Dns(Dns<'static>),
}

impl Resolve for Names {
    async fn resolve(&mut self, host: &str) -> Option<IpAddress> {
        match self {
            Names::Table(h) => h.resolve(host).await,
            Names::Dns(d) => d.resolve(host).await,
        }
    }
}

type TestBoard<C = NoClock> = Board<'static, rand_core::OsRng, Names, C>;

fn board<C: TlsClock>(stack: Stack<'static>, ca: &'static [u8], dns: bool) -> TestBoard<C> {
    static HOSTS: OnceLock<[(&'static str, IpAddress); 2]> = OnceLock::new();
    let hosts = HOSTS.get_or_init(|| {
        [
            (NAME, IpAddress::Ipv4(HOST_IP)),
            (WRONG_NAME, IpAddress::Ipv4(HOST_IP)),
        ]
    });
    let names = if dns {
        Names::Dns(Dns(stack))
    } else {
        Names::Table(Hosts(hosts))
    };
    Board::with_clock(
        stack,
        Trust { ca_der: ca },
        rand_core::OsRng,
        names,
        "[192.168.69.2]",
    )
}

/// A minimal DNS responder on the TAP address (RFC 1035 §4.1): `NAME`
/// has an A record, 192.168.69.1; every other name is NXDOMAIN. Returns
/// the number of queries answered so far.
fn dns_responder() -> &'static std::sync::atomic::AtomicUsize {
    static ANSWERED: OnceLock<&'static std::sync::atomic::AtomicUsize> = OnceLock::new();
    ANSWERED.get_or_init(|| {
        let answered: &'static std::sync::atomic::AtomicUsize =
            Box::leak(Box::new(std::sync::atomic::AtomicUsize::new(0)));
        let socket = std::net::UdpSocket::bind((HOST_IP, 53))
            .unwrap_or_else(|e| panic!("cannot serve DNS on {HOST_IP}:53 ({e})"));
        std::thread::spawn(move || {
            let mut q = [0u8; 512];
            while let Ok((n, from)) = socket.recv_from(&mut q) {
                let q = &q[..n];
                // Header, then one question: labels, type, class.
                let mut at = 12;
                let mut labels = Vec::new();
                while at < n && q[at] != 0 {
                    let len = q[at] as usize;
                    labels.push(String::from_utf8_lossy(&q[at + 1..at + 1 + len]).into_owned());
                    at += 1 + len;
                }
                let question_end = at + 5;
                let qtype = u16::from_be_bytes([q[at + 1], q[at + 2]]);
                let known = labels.join(".").eq_ignore_ascii_case(NAME) && qtype == 1;
                let mut r = q[..question_end].to_vec();
                r[2] = 0x81; // response, recursion desired
                r[3] = if known { 0x80 } else { 0x83 }; // recursion available; NXDOMAIN
                r[6..8].copy_from_slice(&u16::from(known).to_be_bytes());
                r[8..12].fill(0);
                if known {
                    r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
                    r.extend_from_slice(&HOST_IP.octets());
                }
                let _ = socket.send_to(&r, from);
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        answered
    })
}

/// What one job on the board produced.
struct Ran {
    plan: Plan,
    mailer: Mailer,
    persists: usize,
}

/// Keep the administrator's (possibly rotated) refresh token for the next
/// test, whatever happened to the job.
fn keep_refresh_token(held: &mut Option<Vec<u8>>, r: &Ran) {
    if let Some(t) = r.mailer.store().refresh_token(&TokenOwner::Admin) {
        *held = Some(t.expose().to_vec());
    }
}

/// Submit a scan-to-email job with `message` and run it on the board.
fn run_job(m: Mailer, ca: &'static [u8], message: Vec<u8>) -> Ran {
    run_job_with::<NoClock>(m, ca, message, false)
}

/// [`run_job`], the board finding the servers by DNS when `dns`.
fn run_job_with<C: TlsClock + 'static>(
    mut m: Mailer,
    ca: &'static [u8],
    message: Vec<u8>,
    dns: bool,
) -> Ran {
    on_tap(move |stack| {
        Box::pin(async move {
            let mut b = board::<C>(stack, ca, dns);
            let mut mem = Memory::new();
            let mut oauth = oauth_client(&m);
            let to = [Address::parse("scan-inbox@example.test").unwrap()];
            let job = Job {
                function: Function::ScanToEmail,
                user: None,
                from: None,
                to: &to,
                size: Some(message.len() as u64),
            };
            let plan = m.submit(mfp_oauth_embassy::now(), &job).unwrap();
            let mut body = mfp_oauth_embassy::Octets::new(&message);
            let mut seen = Persisted::default();
            let mut bufs = mem.buffers();
            let job = b.run(&mut m, &mut oauth, plan, &mut body, &mut bufs, &mut seen);
            // What a board's task holds during a job (x86_64; printed with
            // --nocapture): the open connection and the TLS state.
            println!(
                "embassy: Board::run future {} B, Mailer {} B, oauth::Client {} B",
                size_of_val(&job),
                size_of::<Mailer>(),
                size_of::<oauth::Client<Vec<u8>>>()
            );
            let plan = job.await;
            Ran {
                plan,
                mailer: m,
                persists: seen.persists,
            }
        })
    })
}

fn unique(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

/// Connections the board made through the forwarder `seen`.
fn count(seen: &Seen) -> usize {
    seen.lock().unwrap().len()
}

/// A scan job from a rebooted board: the refresh grant over HTTPS on the
/// board's stack, then the message over `security`; delivered intact.
fn scan_job_after_reboot(security: Security, dns: bool) {
    let mut held = turn();
    let f = forwarders();
    let smtp = match security {
        Security::ImplicitTls => &f.subs,
        _ => &f.sub,
    };
    let rt = admin_refresh_token(&mut held);
    let m = rebooted(settings(security), &rt);
    assert_eq!(m.store().admin_status(), TokenStatus::Acquired);
    let (https_before, smtp_before) = (count(&f.https), count(smtp));
    let marker = unique("embassy");
    let message = scan_message(&marker);
    let r = run_job_with::<NoClock>(m, run_ca(), message.clone(), dns);
    keep_refresh_token(&mut held, &r);
    assert!(
        matches!(
            r.plan,
            Plan::Done {
                accepted: 1,
                refused: 0,
                ..
            }
        ),
        "{:?}\n{}",
        r.plan,
        servers().log_tail("dovecot/dovecot.log")
    );
    assert_delivered(&marker, &message);
    // The refresh went over the board's HTTPS link and the rotated
    // refresh token was handed over for persistence (R-TOK-2).
    assert_eq!(count(&f.https), https_before + 1);
    assert!(r.persists >= 1);
    let seen = smtp.lock().unwrap();
    assert_eq!(seen.len(), smtp_before + 1);
    let sent = seen.last().unwrap();
    // Neither the token nor the message went in clear: before STARTTLS
    // only EHLO and STARTTLS; with implicit TLS nothing readable at all.
    assert!(find(sent, b"AUTH").is_none());
    assert!(find(sent, marker.as_bytes()).is_none());
    if security == Security::StartTls {
        assert!(find(sent, b"STARTTLS\r\n").is_some());
    }
    servers().record(
        &format!(
            "embassy board scan job ({security:?}{})",
            if dns { ", names by DNS" } else { "" }
        ),
        &format!("{:?}", r.plan),
    );
}

// ------------------------------------------------------------ tests

// R-SMTP, R-OAUTH, R-TOK-1/2: STARTTLS on Dovecot submission from the
// embassy-net stack, after the refresh grant at oidc-provider.
#[test]
#[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
fn scan_job_starttls_from_the_board() {
    scan_job_after_reboot(Security::StartTls, false);
}

// R-SMTP: implicit TLS (submissions) from the embassy-net stack.
#[test]
#[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
fn scan_job_implicit_tls_from_the_board() {
    scan_job_after_reboot(Security::ImplicitTls, false);
}

// The feature `dns`: the board finds the token endpoint and the SMTP
// server by embassy-net's DNS client (a responder on the TAP address).
#[test]
#[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
fn scan_job_with_the_servers_found_by_dns() {
    let answered = dns_responder();
    let before = answered.load(std::sync::atomic::Ordering::SeqCst);
    scan_job_after_reboot(Security::StartTls, true);
    // One query for the token endpoint, one for the SMTP server.
    assert!(answered.load(std::sync::atomic::Ordering::SeqCst) >= before + 2);
}

// R-OAUTH, R-TOK-3: the administrator's Acquire on the board: the device
// flow over the board's HTTPS link (the person approves on the provider's
// pages), then a job with the fresh access token (no refresh).
#[test]
#[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
fn device_sign_in_on_the_board_then_a_job() {
    let mut held = turn();
    let f = forwarders();
    let s = servers();
    let mut m = mailer(settings(Security::StartTls));
    assert_eq!(m.store().admin_status(), TokenStatus::Required);
    let https_before = count(&f.https);
    let m = on_tap(move |stack| {
        Box::pin(async move {
            let mut b = board::<NoClock>(stack, run_ca(), false);
            let mut mem = Memory::new();
            let mut client = oauth_client(&m);
            client.start_device(mfp_oauth_embassy::now()).unwrap();
            let mut user = None;
            let end = b
                .drive_oauth(&mut client, &mut mem.buffers(), &mut |c, ev| {
                    if ev == Event::UserCode {
                        let code = c.device_authorization().unwrap().user_code.to_string();
                        let (tls, issuer) = (s.tls(), s.issuer.clone());
                        user = Some(std::thread::spawn(move || {
                            enter_device_code(tls, &issuer, &code, ADMIN, true)
                        }));
                    }
                })
                .await;
            assert!(matches!(end, Event::AccessToken { .. }), "{end:?}");
            user.expect("a user code").join().unwrap();
            m.acquire_admin(mfp_oauth_embassy::now(), None, &client)
                .unwrap();
            m
        })
    });
    assert_eq!(m.store().admin_status(), TokenStatus::Acquired);
    // The device authorization and at least one token poll.
    let polls = count(&f.https) - https_before;
    assert!(polls >= 2, "{polls}");
    let marker = unique("embassy-signin");
    let message = scan_message(&marker);
    let r = run_job(m, run_ca(), message.clone());
    keep_refresh_token(&mut held, &r);
    assert!(matches!(r.plan, Plan::Done { .. }), "{:?}", r.plan);
    assert_delivered(&marker, &message);
    // The fresh access token signed the job: no refresh was needed.
    assert_eq!(count(&f.https) - https_before, polls);
}

// Certificates: with a CA that did not sign Dovecot's certificate the
// STARTTLS handshake is refused, before any AUTH: the job fails with
// CertificateUntrusted (E609, as the host and implicit TLS report it; it
// was E604 "certificate invalid", issue 15) and nothing but EHLO and
// STARTTLS went in clear.
#[test]
#[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
fn wrong_ca_refuses_the_smtp_server_before_auth() {
    let _held = turn();
    let f = forwarders();
    let mut m = mailer(settings(Security::StartTls));
    // A valid-looking access token: the job goes straight to SMTP.
    holding(&mut m, b"never-leaves-the-board", b"never-leaves-either");
    let before = count(&f.sub);
    let r = run_job(m, wrong_ca(), b"Subject: x\r\n\r\nx\r\n".to_vec());
    assert_eq!(
        r.plan,
        Plan::Failed {
            diag: Id::CertificateUntrusted
        }
    );
    let seen = f.sub.lock().unwrap();
    assert_eq!(seen.len(), before + 1);
    let sent = seen.last().unwrap();
    assert!(find(sent, b"STARTTLS\r\n").is_some());
    assert!(find(sent, b"AUTH").is_none());
    assert!(find(sent, b"never-leaves").is_none());
}

// Certificates: the token endpoint with the wrong CA, and under a name its
// certificate does not carry: the refresh grant fails with
// CertificateUntrusted (E609) and CertificateWrongName (E608) before the
// request is sent, and no SMTP connection is made.
#[test]
#[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
fn token_endpoint_must_verify_before_the_refresh_token_goes() {
    let _held = turn();
    let f = forwarders();
    for (ca, name, why) in [
        (wrong_ca(), NAME, Id::CertificateUntrusted),
        (run_ca(), WRONG_NAME, Id::CertificateWrongName),
    ] {
        let mut st = settings(Security::StartTls);
        st.custom.token_url = format!("https://{name}:{P_HTTPS}/token")
            .as_str()
            .try_into()
            .unwrap();
        let m = rebooted(st, b"a-refresh-token-that-must-not-leave");
        let (https_before, sub_before) = (count(&f.https), count(&f.sub));
        let r = run_job(m, ca, b"Subject: x\r\n\r\nx\r\n".to_vec());
        assert_eq!(r.plan, Plan::Failed { diag: why }, "{name}");
        let https = f.https.lock().unwrap();
        assert!(https.len() > https_before);
        for sent in &https[https_before..] {
            assert!(find(sent, b"a-refresh-token").is_none());
            assert!(find(sent, b"POST").is_none());
        }
        assert_eq!(count(&f.sub), sub_before);
    }
}

// R-RULE-2: the board speaks TLS 1.3 only; a Microsoft account is refused
// by the settings validation (what the administrator sees) and a job with
// such settings fails with MicrosoftTls13Only before any connection.
#[test]
#[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
fn microsoft_is_refused_before_connecting() {
    let _held = turn();
    let f = forwarders();
    assert_eq!(TLS_RANGE, (TlsVersion::Tls13, TlsVersion::Tls13));
    let mut st = settings(Security::StartTls);
    st.provider = ProviderKind::Microsoft;
    // What the administrator sees when applying the settings.
    let mut m = Mailer::new(Settings::default(), TokenStore::new());
    let refused = mfp_oauth_embassy::apply_settings(&mut m, st.clone()).unwrap_err();
    assert!(refused.contains(ConfigError::MicrosoftTls13Only));
    // A board whose settings bypassed board_settings: the job is refused.
    assert!(m.apply_settings(st.clone()).is_ok());
    assert!(board_settings(st)
        .validate()
        .contains(ConfigError::MicrosoftTls13Only));
    holding(&mut m, b"t", b"r");
    let before = (count(&f.https), count(&f.sub));
    let r = run_job(m, run_ca(), b"Subject: x\r\n\r\nx\r\n".to_vec());
    assert_eq!(
        r.plan,
        Plan::Failed {
            diag: Id::MicrosoftTls13Only
        }
    );
    assert_eq!((count(&f.https), count(&f.sub)), before);
}

// R-TOK-4's transient case, R-SASL: the server refuses the access token
// (334 challenge, 535): the board refreshes it over its second link while
// the SMTP connection stays open, retries AUTH once on the same
// connection, and the message is delivered.
#[test]
#[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
fn refused_token_is_refreshed_during_the_session() {
    let mut held = turn();
    let f = forwarders();
    let rt = admin_refresh_token(&mut held);
    let mut m = mailer(settings(Security::StartTls));
    holding(&mut m, b"revoked-or-expired-at-the-server", &rt);
    let (https_before, sub_before) = (count(&f.https), count(&f.sub));
    let marker = unique("embassy-retry");
    let message = scan_message(&marker);
    let r = run_job(m, run_ca(), message.clone());
    keep_refresh_token(&mut held, &r);
    assert!(matches!(r.plan, Plan::Done { .. }), "{:?}", r.plan);
    assert_delivered(&marker, &message);
    assert_eq!(count(&f.https), https_before + 1, "one refresh grant");
    assert_eq!(count(&f.sub), sub_before + 1, "one SMTP connection");
    assert!(r.persists >= 1, "the rotated refresh token is persisted");
}

/// The wall clock of a board with an RTC (UNIX seconds).
struct Rtc;

impl TlsClock for Rtc {
    fn now() -> Option<u64> {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs())
    }
}

/// A wall clock three days ahead: the run's certificates (valid two days)
/// have expired.
struct ThreeDaysLater;

impl TlsClock for ThreeDaysLater {
    fn now() -> Option<u64> {
        Rtc::now().map(|t| t + 3 * 24 * 3600)
    }
}

// Certificates with a wall clock (Board::with_clock): the dates are
// checked; today the server is accepted, three days later (after the
// certificate's notAfter) it is refused before AUTH, as expired (E607).
#[test]
#[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
fn with_a_wall_clock_an_expired_certificate_is_refused() {
    let _held = turn();
    let f = forwarders();
    let job = || {
        let mut m = mailer(settings(Security::StartTls));
        // A token the server refuses: the session reaches AUTH only if
        // the certificate was accepted; the refresh token is dead too.
        holding(&mut m, b"not-a-real-token", b"not-a-real-refresh-token");
        m
    };
    let before = count(&f.sub);
    let today = run_job_with::<Rtc>(job(), run_ca(), b"Subject: x\r\n\r\nx\r\n".to_vec(), false);
    // Past TLS: the server refused the token at AUTH, the refresh grant
    // (over the verified HTTPS link) said the grant is dead.
    assert_eq!(
        today.plan,
        Plan::Failed {
            diag: Id::AdminReauthNeeded
        }
    );
    let later =
        run_job_with::<ThreeDaysLater>(job(), run_ca(), b"Subject: x\r\n\r\nx\r\n".to_vec(), false);
    assert_eq!(
        later.plan,
        Plan::Failed {
            diag: Id::CertificateExpired
        }
    );
    let seen = f.sub.lock().unwrap();
    assert_eq!(seen.len(), before + 2);
    // The expired one stopped at the handshake: nothing after STARTTLS.
    let sent = seen.last().unwrap();
    assert!(find(sent, b"AUTH").is_none());
    assert!(find(sent, b"not-a-real").is_none());
}

// R-OAUTH (authorization code with PKCE, the flow Google requires): the
// person signs in in a browser; the firmware's web server would receive
// the loopback redirect (here the test takes it from the browser) and
// hands it to the client; the board carries the code exchange over its
// HTTPS link; the administrator's tokens then send a job.
#[test]
#[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
fn pkce_code_exchange_on_the_board_then_a_job() {
    let _held = turn();
    let f = forwarders();
    let s = servers();
    let mut m = mailer(settings(Security::StartTls));
    let mut client = oauth_client(&m);
    let port = 24553;
    let redirect = oauth::RedirectUri::loopback(LoopbackHost::Ipv4, port, "/").unwrap();
    let (mut verifier, mut state) = ([0u8; 32], [0u8; 16]);
    let rng = ring::rand::SystemRandom::new();
    ring::rand::SecureRandom::fill(&rng, &mut verifier).unwrap();
    ring::rand::SecureRandom::fill(&rng, &mut state).unwrap();
    let login = Address::parse(ADMIN).unwrap();
    client
        .start_auth_code(
            mfp_oauth_embassy::now(),
            &verifier,
            &state,
            redirect,
            Some(&login),
        )
        .unwrap();
    let mut url = vec![0u8; 2048];
    let n = client.authorize_url(&mut url).unwrap();
    let url = String::from_utf8(url[..n].to_vec()).unwrap();
    // The browser (on the host, which knows the provider by its issuer
    // address), on the provider's pages, up to the redirect.
    let url = url.replace(&format!("https://{NAME}:{P_HTTPS}"), &s.issuer);
    let mut b = browser::Browser::new(s.tls());
    let first = b.get(&url);
    let prefix = format!("http://127.0.0.1:{port}/");
    let back = b.sign_in_and_consent(first, ADMIN, Some(&prefix));
    let location = back.location.expect("the redirect to the printer");
    let target = location.strip_prefix(&prefix[..prefix.len() - 1]).unwrap();
    client
        .handle_redirect(mfp_oauth_embassy::now(), target.as_bytes())
        .unwrap();
    let https_before = count(&f.https);
    let m = on_tap(move |stack| {
        Box::pin(async move {
            let mut b = board::<NoClock>(stack, run_ca(), false);
            let mut mem = Memory::new();
            let end = b
                .drive_oauth(&mut client, &mut mem.buffers(), &mut |_, _| {})
                .await;
            assert!(matches!(end, Event::AccessToken { .. }), "{end:?}");
            m.acquire_admin(mfp_oauth_embassy::now(), None, &client)
                .unwrap();
            m
        })
    });
    assert_eq!(count(&f.https), https_before + 1, "one code exchange");
    assert_eq!(m.store().admin_status(), TokenStatus::Acquired);
    let marker = unique("embassy-pkce");
    let message = scan_message(&marker);
    // This grant's refresh token is not kept for the other tests: at
    // oidc-provider a refresh of an authorization-code grant with the
    // printer's scope is refused (invalid_scope), unlike the device grant's.
    let r = run_job(m, run_ca(), message.clone());
    assert!(matches!(r.plan, Plan::Done { .. }), "{:?}", r.plan);
    assert_delivered(&marker, &message);
}

// ------------------------------------------------------------ impostor

/// Where the impostor listens, on the TAP address (no forwarder: it is a
/// TLS 1.3 server of this test process, rustls).
const P_IMPOSTOR: u16 = 24553;

/// The DER of the first PEM block of the run's file `name` (beside the
/// CA).
fn run_pem(name: &str) -> String {
    let dir = servers().ca.parent().unwrap().to_path_buf();
    std::fs::read_to_string(dir.join(name)).unwrap()
}

fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

/// A TLS 1.3 server on 192.168.69.1:`P_IMPOSTOR` that presents `chain`
/// (its own certificate first) with `key`, for one connection. Says
/// whether the board sent anything (a ClientHello), whether the handshake
/// completed and what the board sent inside TLS.
fn impostor(
    chain: Vec<Vec<u8>>,
    key: &rcgen::KeyPair,
) -> std::thread::JoinHandle<(bool, bool, Vec<u8>)> {
    use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        chain.into_iter().map(CertificateDer::from).collect(),
        PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    )
    .unwrap();
    let listener = TcpListener::bind((HOST_IP, P_IMPOSTOR)).unwrap();
    std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let hello = tcp.peek(&mut [0u8; 1]).is_ok_and(|n| n > 0);
        let mut tls = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        while tls.is_handshaking() {
            if tls.complete_io(&mut tcp).is_err() {
                return (hello, false, Vec::new());
            }
        }
        // Greet as an SMTP server would, and take what the board sends
        // until it gives up.
        let _ = tls.writer().write_all(b"220 mail.interop.test ESMTP\r\n");
        let mut got = Vec::new();
        while tls.complete_io(&mut tcp).is_ok_and(|(r, w)| r + w > 0) {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = tls.reader().read(&mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
            if find(&got, b"EHLO").is_some() {
                break;
            }
        }
        (hello, true, got)
    })
}

// THE ATTACK the driver's path checks close: a server certificate of the
// trusted CA (the run's own Dovecot certificate, CA:FALSE, and its key)
// signs a certificate for the printer's SMTP server name, and an impostor
// presents that chain. embedded-tls's verifier alone checks only the
// signatures and the name, and would take it (embassy/tests/chain.rs
// shows it); the board refuses it at the handshake, before any SMTP
// command or token. The control: the same impostor with the run's real
// server certificate is taken (so the refusal is the chain's, not an
// incompatibility of the two TLS stacks).
#[test]
#[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
fn chain_forged_by_a_server_certificate_is_refused_before_any_command() {
    let _held = turn();
    let server_der = pem_der(&run_pem("server.pem"));
    let server_key = rcgen::KeyPair::from_pem(&run_pem("server.key")).unwrap();
    let job = || {
        let mut st = settings(Security::ImplicitTls);
        st.smtp = SmtpServer::new(NAME, P_IMPOSTOR, Security::ImplicitTls);
        let mut m = mailer(st);
        // An access token in the store: the job goes straight to SMTP.
        holding(&mut m, b"never-leaves-the-board", b"never-leaves-either");
        m
    };

    // Control: the run's real server certificate.
    let served = impostor(vec![server_der.clone()], &server_key);
    let r = run_job(job(), run_ca(), b"Subject: x\r\n\r\nx\r\n".to_vec());
    let (_, handshake, got) = served.join().unwrap();
    assert!(handshake, "the real chain is taken: {:?}", r.plan);
    assert!(find(&got, b"EHLO").is_some(), "{got:?}");
    assert_ne!(
        r.plan,
        Plan::Failed {
            diag: Id::CertificateInvalid
        }
    );

    // The forged chain: a certificate for NAME issued by the server
    // certificate's key (issuer name: its subject, CN=localhost).
    let mut issuer = rcgen::CertificateParams::default();
    issuer
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let issuer = rcgen::Issuer::new(issuer, &server_key);
    let forged_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut forged = rcgen::CertificateParams::new(vec![NAME.to_owned()]).unwrap();
    forged
        .distinguished_name
        .push(rcgen::DnType::CommonName, NAME);
    forged.is_ca = rcgen::IsCa::ExplicitNoCa;
    forged.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    forged.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let forged = forged.signed_by(&forged_key, &issuer).unwrap();
    let served = impostor(vec![forged.der().to_vec(), server_der.clone()], &forged_key);
    let r = run_job(job(), run_ca(), b"Subject: x\r\n\r\nx\r\n".to_vec());
    let (hello, handshake, got) = served.join().unwrap();
    assert_eq!(
        r.plan,
        Plan::Failed {
            diag: Id::CertificateInvalid
        }
    );
    assert!(hello, "refused by the verifier, in the handshake");
    assert!(!handshake, "the board must not finish the handshake");
    assert!(got.is_empty());

    // A trust anchor that is not a CA (the server certificate itself,
    // under which embedded-tls's verifier would take the forged
    // certificate alone): the board refuses every connection before its
    // ClientHello.
    let leaked: &'static [u8] = Box::leak(server_der.into_boxed_slice());
    assert!(Trust { ca_der: leaked }.check().is_err());
    let served = impostor(vec![forged.der().to_vec()], &forged_key);
    let r = run_job(job(), leaked, b"Subject: x\r\n\r\nx\r\n".to_vec());
    let (hello, handshake, got) = served.join().unwrap();
    assert_eq!(
        r.plan,
        Plan::Failed {
            diag: Id::CertificateInvalid
        }
    );
    assert!(!hello && !handshake && got.is_empty());
}

// ------------------------------------------------------------ mail APIs

/// Where the board reaches the simulated mail APIs (forwarded to the
/// host's Graph- and Gmail-like server on loopback).
const P_API: u16 = 24556;

/// The host's simulated Graph and Gmail APIs (the CLI's test double),
/// started once per run under `NAME` with a CA of their own, reached from
/// the board through a forwarder at `P_API`.
struct ApiSim {
    sim: mfp_oauth_host::sim::Sim,
    _server: mfp_oauth_host::sim::api::ApiServer,
    ca: &'static [u8],
    seen: Seen,
}

fn api_sim() -> &'static ApiSim {
    static S: OnceLock<ApiSim> = OnceLock::new();
    S.get_or_init(|| {
        use mfp_oauth_host::sim::{api::ApiServer, pki::Pki, Sim, SimConfig};
        let pki = Pki::generate(&[NAME]).unwrap();
        let sim = Sim::new(
            SimConfig::default(),
            mfp_oauth_host::clock::VirtualClock::new(),
        );
        let server = ApiServer::start(&sim, &pki).unwrap();
        let seen = forward(P_API, (Ipv4Addr::LOCALHOST, server.port()));
        ApiSim {
            sim,
            _server: server,
            ca: Box::leak(pki.ca_der().to_vec().into_boxed_slice()),
            seen,
        }
    })
}

/// The board's mailer sending through `transport` to the simulated API,
/// holding an access token the simulator issued to the administrator.
fn api_mailer(transport: mfp_oauth_core::config::Transport, scope: &str) -> Mailer {
    let mut st = settings(Security::StartTls);
    st.transport = transport;
    st.custom.scope = scope.try_into().unwrap();
    st.api_url = format!("https://{NAME}:{P_API}")
        .as_str()
        .try_into()
        .unwrap();
    let mut m = mailer(st);
    let (access, refresh, _) = api_sim().sim.issue(ADMIN, PRINTER, scope);
    holding(&mut m, access.as_bytes(), refresh.as_bytes());
    m
}

/// A message of about `scan_len` octets of scan, composed by the host.
fn api_message(marker: &str, scan_len: usize) -> Vec<u8> {
    let to = ["scan-inbox@example.test".to_owned()];
    compose(&Composition {
        from: ADMIN,
        to: &to,
        subject: "Scan from the embassy board through a mail API",
        text: "Scanned document attached.",
        attachments: &[Attachment::from_bytes(
            "scan-0001.pdf",
            "application/pdf",
            scan_data(scan_len),
        )],
        message_id_local: marker,
        date: std::time::SystemTime::now(),
    })
    .unwrap()
}

/// Runs the job on the board against the simulated API: it must end
/// done, over `connections` connections, the message with `marker`
/// delivered once, octet for octet.
fn run_api_job(m: Mailer, marker: &str, message: &[u8], connections: usize) {
    let api = api_sim();
    let before = count(&api.seen);
    let r = run_job(m, api.ca, message.to_vec());
    assert!(
        matches!(r.plan, Plan::Done { accepted: 1, .. }),
        "{:?}",
        r.plan
    );
    let got: Vec<_> = api
        .sim
        .api_deliveries()
        .into_iter()
        .filter(|d| find(&d.mime, marker.as_bytes()).is_some())
        .collect();
    assert_eq!(got.len(), 1, "sent once");
    assert!(
        got[0].mime == message,
        "the message arrives octet for octet"
    );
    assert_eq!(count(&api.seen) - before, connections);
}

// R-XPORT (issue 19): the board carries a Gmail API job with a resumable
// upload (a message over 5 MB) whose connection drops a third of the way
// in: a new connection asks what the server has (`308`), the body is read
// again from its first octet (`JobBody::restart`) and only the rest goes.
// The message arrives once, octet for octet.
#[test]
#[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
fn gmail_api_upload_from_the_board_resumes_after_a_drop() {
    use mfp_oauth_host::sim::api::{Api, ApiFault};
    let _held = turn();
    let api = api_sim();
    let m = api_mailer(
        mfp_oauth_core::config::Transport::GmailApi,
        "https://www.googleapis.com/auth/gmail.send",
    );
    let marker = unique("embassy-gmail");
    let message = api_message(&marker, 4_000_000);
    assert!(message.len() > 5 * 1024 * 1024, "{}", message.len());
    // The start passes; the upload's connection drops after 2 MB.
    api.sim.push_api_fault(Api::Gmail, ApiFault::Pass, 1);
    api.sim
        .push_api_fault(Api::Gmail, ApiFault::Drop { after: 2 << 20 }, 1);
    // Two connections: the start and the cut upload, then the question
    // and the rest.
    run_api_job(m, &marker, &message, 2);
    assert_eq!(api.sim.pending_api_faults(Api::Gmail), 0);
}

// R-XPORT (issue 19): Graph on the board, throttled once the whole body
// is in (`429` with `Retry-After: 1`): the request is asked again on a
// new connection after the wait, the body read again from its first
// octet; the message is sent once.
#[test]
#[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
fn graph_job_from_the_board_is_asked_again_after_a_throttle() {
    use mfp_oauth_host::sim::api::{Api, ApiFault};
    let _held = turn();
    let api = api_sim();
    let m = api_mailer(
        mfp_oauth_core::config::Transport::Graph,
        "https://graph.microsoft.com/Mail.Send offline_access",
    );
    let marker = unique("embassy-graph");
    let message = api_message(&marker, 20_000);
    api.sim.push_api_fault(
        Api::Graph,
        ApiFault::ThrottledAfterBody { retry_after_s: 1 },
        1,
    );
    run_api_job(m, &marker, &message, 2);
}

// R-XPORT (issue 19): Graph's path for a message over one request from the
// board: the survey, the draft and the upload session on one connection,
// the chunks on a second (the upload URL's host: here the same name
// through the forwarder), `send` on a third; the scan arrives
// byte-identical, the message once.
#[test]
#[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
fn graph_upload_session_from_the_board() {
    let _held = turn();
    let api = api_sim();
    let m = api_mailer(
        mfp_oauth_core::config::Transport::Graph,
        "https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.ReadWrite offline_access",
    );
    let marker = unique("embassy-graph-upload");
    let message = api_message(&marker, 3_400_000);
    let before = count(&api.seen);
    let r = run_job(m, api.ca, message.clone());
    assert!(
        matches!(r.plan, Plan::Done { accepted: 1, .. }),
        "{:?}",
        r.plan
    );
    let d = api.sim.api_deliveries();
    let got: Vec<_> = d
        .iter()
        .filter(|d| find(&d.mime, marker.as_bytes()).is_some())
        .collect();
    assert_eq!(got.len(), 1, "sent once");
    assert_eq!(got[0].attachments.len(), 1);
    assert!(
        got[0].attachments[0].content == scan_data(3_400_000),
        "byte-identical"
    );
    assert_eq!(count(&api.seen) - before, 3);
}

// ------------------------------------------------------------ rustls option

/// The board with the `tls-rustls` option (issue 20) against a
/// Microsoft-shaped front: TLS 1.2 only, an RSA root, an RSA intermediate
/// CA and an RSA server certificate, as Microsoft 365's endpoints present
/// them. The fronts are servers of this test process (rustls, ring) on the
/// TAP address: the token endpoint's relays each request to oidc-provider
/// over TLS, the SMTP server's (implicit TLS) relays the session to
/// Dovecot's submission port on 127.0.0.1. Run by tests/interop/run.sh
/// with `--features embassy-rustls` (the tests named `rustls_`).
#[cfg(feature = "embassy-rustls")]
mod rustls_option {
    use super::*;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

    const P_MS_HTTPS: u16 = 24554;
    const P_MS_SUBS: u16 = 24555;
    /// Test keys (embassy/tests/data): ring cannot generate RSA keys.
    const RSA_CA_KEY: &str = include_str!("../../embassy/tests/data/rsa-ca.key.pem");
    const RSA_SERVER_KEY: &str = include_str!("../../embassy/tests/data/rsa-server.key.pem");

    /// The Microsoft-shaped chain: the root (the board's anchor) and the
    /// chain the fronts present.
    struct RsaPki {
        root: &'static [u8],
        chain: Vec<CertificateDer<'static>>,
    }

    fn rsa_pki() -> &'static RsaPki {
        static P: OnceLock<RsaPki> = OnceLock::new();
        P.get_or_init(|| {
            let key =
                |pem| rcgen::KeyPair::from_pem_and_sign_algo(pem, &rcgen::PKCS_RSA_SHA256).unwrap();
            let ca = |cn: &str| {
                let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
                p.distinguished_name.push(rcgen::DnType::CommonName, cn);
                p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
                p.key_usages = vec![
                    rcgen::KeyUsagePurpose::KeyCertSign,
                    rcgen::KeyUsagePurpose::CrlSign,
                ];
                p
            };
            let root_key = key(RSA_CA_KEY);
            let root_params = ca("Test RSA Global Root");
            let root = root_params.self_signed(&root_key).unwrap();
            let root_issuer = rcgen::Issuer::new(root_params, &root_key);
            // The intermediate's key is the root's test key again: the
            // signatures along the chain are what is checked.
            let inter_key = key(RSA_CA_KEY);
            let inter_params = ca("Test RSA Cloud Services CA-1");
            let inter = inter_params.signed_by(&inter_key, &root_issuer).unwrap();
            let inter_issuer = rcgen::Issuer::new(inter_params, &inter_key);
            let mut leaf = rcgen::CertificateParams::new(vec![NAME.to_owned()]).unwrap();
            leaf.distinguished_name
                .push(rcgen::DnType::CommonName, NAME);
            leaf.is_ca = rcgen::IsCa::NoCa;
            leaf.key_usages = vec![
                rcgen::KeyUsagePurpose::DigitalSignature,
                rcgen::KeyUsagePurpose::KeyEncipherment,
            ];
            leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
            let leaf = leaf.signed_by(&key(RSA_SERVER_KEY), &inter_issuer).unwrap();
            RsaPki {
                root: Box::leak(root.der().to_vec().into_boxed_slice()),
                chain: vec![leaf.der().clone(), inter.der().clone()],
            }
        })
    }

    /// TLS 1.2 only, the RSA chain.
    fn front_config() -> Arc<rustls::ServerConfig> {
        let key = rcgen::KeyPair::from_pem(RSA_SERVER_KEY).unwrap();
        Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                rsa_pki().chain.clone(),
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap(),
        )
    }

    /// What a front saw: per connection, whether its handshake completed,
    /// the TLS version and the plaintext the board sent.
    #[derive(Default)]
    struct Front {
        handshakes: Vec<(bool, Option<rustls::ProtocolVersion>)>,
        plaintext: Vec<Vec<u8>>,
    }

    type Fronts = (Arc<Mutex<Front>>, Arc<Mutex<Front>>);

    /// Handshake `conn` on `tcp` (bounded by the socket's timeout).
    fn accept(
        conn: &mut rustls::ServerConnection,
        tcp: &mut TcpStream,
    ) -> Option<rustls::ProtocolVersion> {
        while conn.is_handshaking() {
            if conn.complete_io(tcp).is_err() {
                return None;
            }
        }
        conn.protocol_version()
    }

    fn listen(port: u16, front: Arc<Mutex<Front>>, serve: fn(TcpStream, Arc<Mutex<Front>>, usize)) {
        let listener = TcpListener::bind((HOST_IP, port)).unwrap_or_else(|e| {
            panic!("cannot listen on {HOST_IP}:{port} ({e}): is the TAP device up?")
        });
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let i = {
                    let mut f = front.lock().unwrap();
                    f.handshakes.push((false, None));
                    f.plaintext.push(Vec::new());
                    f.handshakes.len() - 1
                };
                let f = front.clone();
                std::thread::spawn(move || serve(tcp, f, i));
            }
        });
    }

    /// The token endpoint's front: one request per connection (the
    /// board's requests say `Connection: close`), relayed to oidc-provider
    /// over TLS; the answer relayed back until oidc-provider closes.
    fn serve_https(mut tcp: TcpStream, front: Arc<Mutex<Front>>, i: usize) {
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut conn = rustls::ServerConnection::new(front_config()).unwrap();
        let version = accept(&mut conn, &mut tcp);
        front.lock().unwrap().handshakes[i] = (version.is_some(), version);
        if version.is_none() {
            return;
        }
        let mut board = rustls::StreamOwned::new(conn, tcp);
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        let complete = |r: &[u8]| {
            let Some(end) = find(r, b"\r\n\r\n") else {
                return false;
            };
            let head = String::from_utf8_lossy(&r[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse::<usize>().unwrap());
            r.len() >= end + 4 + len
        };
        while !complete(&request) {
            match board.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        front.lock().unwrap().plaintext[i] = request.clone();
        let s = servers();
        let issuer_port: u16 = s.issuer.rsplit(':').next().unwrap().parse().unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(run_ca().to_vec())).unwrap();
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let upstream_conn = rustls::ClientConnection::new(
            Arc::new(client),
            ServerName::try_from("localhost").unwrap(),
        )
        .unwrap();
        let tcp_up = TcpStream::connect((Ipv4Addr::LOCALHOST, issuer_port)).unwrap();
        tcp_up
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut upstream = rustls::StreamOwned::new(upstream_conn, tcp_up);
        upstream.write_all(&request).unwrap();
        loop {
            match upstream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if board.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
        board.conn.send_close_notify();
        let _ = board.flush();
    }

    /// The SMTP server's front (implicit TLS): the session relayed both
    /// ways to Dovecot's submission port on 127.0.0.1 (a local client,
    /// which Dovecot lets authenticate without its own TLS).
    fn serve_smtps(mut tcp: TcpStream, front: Arc<Mutex<Front>>, i: usize) {
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut conn = rustls::ServerConnection::new(front_config()).unwrap();
        let version = accept(&mut conn, &mut tcp);
        front.lock().unwrap().handshakes[i] = (version.is_some(), version);
        if version.is_none() {
            return;
        }
        let tick = Some(Duration::from_millis(20));
        tcp.set_read_timeout(tick).unwrap();
        let mut board = rustls::StreamOwned::new(conn, tcp);
        let port = servers().dovecot_submission;
        let mut up = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        up.set_read_timeout(tick).unwrap();
        let mut buf = [0u8; 16 * 1024];
        let started = std::time::Instant::now();
        // Bounded: the session ends when either side closes, or after two
        // minutes.
        while started.elapsed() < Duration::from_secs(120) {
            match board.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    front.lock().unwrap().plaintext[i].extend_from_slice(&buf[..n]);
                    if up.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
            match up.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if board
                        .write_all(&buf[..n])
                        .and_then(|()| board.flush())
                        .is_err()
                    {
                        break;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
        board.conn.send_close_notify();
        let _ = board.flush();
    }

    fn fronts() -> &'static Fronts {
        static F: OnceLock<Fronts> = OnceLock::new();
        F.get_or_init(|| {
            let https = Arc::new(Mutex::new(Front::default()));
            let smtps = Arc::new(Mutex::new(Front::default()));
            listen(P_MS_HTTPS, https.clone(), serve_https);
            listen(P_MS_SUBS, smtps.clone(), serve_smtps);
            (https, smtps)
        })
    }

    fn ms_url<T: for<'a> TryFrom<&'a str>>(host: &str, path: &str) -> T {
        let u = format!("https://{host}:{P_MS_HTTPS}{path}");
        T::try_from(u.as_str()).unwrap_or_else(|_| panic!("{u} too long"))
    }

    /// The provider client whose access tokens are 2,500 octets, like
    /// Microsoft's JWTs (tests/interop/provider.mjs): too long for AUTH
    /// with an initial response (RFC 4954 §4), so AUTH takes two steps.
    const LONG: &str = "mfp-printer-long";

    /// The settings: the fronts' endpoints, implicit TLS, the device's
    /// default TLS range (1.2 to 1.3), the long-token client.
    fn ms_settings(host: &str) -> Settings {
        let mut st = settings(Security::ImplicitTls);
        st.client_id = LONG.try_into().unwrap();
        st.custom.token_url = ms_url(host, "/token");
        st.custom.device_url = ms_url(host, "/device/auth");
        st.custom.authorize_url = ms_url(host, "/auth");
        st.smtp = SmtpServer::new(host, P_MS_SUBS, Security::ImplicitTls);
        st
    }

    fn connections(f: &Arc<Mutex<Front>>) -> usize {
        f.lock().unwrap().handshakes.len()
    }

    // Issue 20: the board with rustls signs in (device flow) at
    // oidc-provider and sends a scan job through Dovecot with a 2,500-octet
    // token (AUTH in two steps), every connection TLS 1.2 with an RSA
    // chain: what Microsoft 365 needs.
    #[test]
    #[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
    fn rustls_tls12_rsa_device_sign_in_then_a_scan_job() {
        // Not the administrator's refresh token of the other tests: this
        // one would be the long-token client's.
        let _held = turn();
        let (https, smtps) = fronts();
        let s = servers();
        let mut m = mailer(ms_settings(NAME));
        assert_eq!(
            (m.settings().tls_min, m.settings().tls_max),
            (TlsVersion::Tls12, TlsVersion::Tls13)
        );
        let https_before = connections(https);
        let root = rsa_pki().root;
        let m = on_tap(move |stack| {
            Box::pin(async move {
                let mut b = board::<NoClock>(stack, root, false);
                let mut mem = Memory::new();
                let mut client = oauth_client(&m);
                client.start_device(mfp_oauth_embassy::now()).unwrap();
                let mut user = None;
                let end = b
                    .drive_oauth(&mut client, &mut mem.buffers(), &mut |c, ev| {
                        if ev == Event::UserCode {
                            let code = c.device_authorization().unwrap().user_code.to_string();
                            let (tls, issuer) = (s.tls(), s.issuer.clone());
                            user = Some(std::thread::spawn(move || {
                                enter_device_code(tls, &issuer, &code, ADMIN, true)
                            }));
                        }
                    })
                    .await;
                assert!(matches!(end, Event::AccessToken { .. }), "{end:?}");
                user.expect("a user code").join().unwrap();
                m.acquire_admin(mfp_oauth_embassy::now(), None, &client)
                    .unwrap();
                m
            })
        });
        assert_eq!(m.store().admin_status(), TokenStatus::Acquired);
        let polls = connections(https) - https_before;
        assert!(polls >= 2, "{polls}");
        let smtps_before = connections(smtps);
        let marker = unique("embassy-rustls");
        let message = scan_message(&marker);
        let r = run_job(m, root, message.clone());
        assert!(
            matches!(
                r.plan,
                Plan::Done {
                    accepted: 1,
                    refused: 0,
                    ..
                }
            ),
            "{:?}\n{}",
            r.plan,
            servers().log_tail("dovecot/dovecot.log")
        );
        assert_delivered(&marker, &message);
        let f = smtps.lock().unwrap();
        assert_eq!(f.handshakes.len(), smtps_before + 1);
        assert_eq!(
            f.handshakes.last().unwrap(),
            &(true, Some(rustls::ProtocolVersion::TLSv1_2))
        );
        // The long token: AUTH without an initial response, then the
        // token alone on its line after the server's 334.
        let plain = f.plaintext.last().unwrap();
        assert!(
            find(plain, b"AUTH XOAUTH2\r\n").is_some()
                || find(plain, b"AUTH OAUTHBEARER\r\n").is_some(),
            "{}",
            String::from_utf8_lossy(&plain[..plain.len().min(400)])
        );
        let h = https.lock().unwrap();
        assert!(h
            .handshakes
            .iter()
            .skip(https_before)
            .all(|v| v == &(true, Some(rustls::ProtocolVersion::TLSv1_2))));
        servers().record(
            "embassy board with rustls: TLS 1.2, RSA chain, sign-in and scan job",
            &format!("{:?}", r.plan),
        );
    }

    // Impostors: another CA at the token endpoint and at the SMTP server,
    // another name: refused in the handshake, before the refresh token or
    // AUTH goes (the fronts decrypt nothing).
    #[test]
    #[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
    fn rustls_impostors_are_refused_before_any_token() {
        let _held = turn();
        let (https, smtps) = fronts();
        // The refresh grant first (no access token): another CA.
        let m = rebooted(ms_settings(NAME), b"refresh-token-that-never-leaves");
        let before = connections(https);
        let r = run_job(m, run_ca(), b"Subject: x\r\n\r\nx\r\n".to_vec());
        assert!(matches!(r.plan, Plan::Failed { .. }), "{:?}", r.plan);
        let h = https.lock().unwrap();
        assert_eq!(h.handshakes.len(), before + 1, "one attempt");
        assert_eq!(h.handshakes[before], (false, None));
        assert!(h.plaintext[before].is_empty());
        drop(h);
        // SMTP with an access token: another CA (E609), then another name
        // (E608).
        for (ca, host, diag) in [
            (run_ca(), NAME, Id::CertificateUntrusted),
            (rsa_pki().root, WRONG_NAME, Id::CertificateWrongName),
        ] {
            let mut m = mailer(ms_settings(host));
            holding(&mut m, b"access-token-that-never-leaves", b"refresh-too");
            let before = connections(smtps);
            let r = run_job(m, ca, b"Subject: x\r\n\r\nx\r\n".to_vec());
            assert_eq!(r.plan, Plan::Failed { diag }, "{host}");
            let f = smtps.lock().unwrap();
            assert_eq!(f.handshakes.len(), before + 1);
            assert_eq!(f.handshakes[before], (false, None));
            assert!(f.plaintext[before].is_empty());
        }
    }

    // The settings' TLS range is what the board offers: TLS 1.3 only does
    // not reach the TLS 1.2-only front (E610), before AUTH.
    #[test]
    #[ignore = "needs the TAP device and the real servers: bash tests/embassy/run.sh"]
    fn rustls_a_tls13_only_range_does_not_reach_a_tls12_server() {
        let _held = turn();
        let (_, smtps) = fronts();
        let mut st = ms_settings(NAME);
        (st.tls_min, st.tls_max) = (TlsVersion::Tls13, TlsVersion::Tls13);
        let mut m = mailer(st);
        holding(&mut m, b"access-token-that-never-leaves", b"refresh-too");
        let before = connections(smtps);
        let r = run_job(m, rsa_pki().root, b"Subject: x\r\n\r\nx\r\n".to_vec());
        assert_eq!(
            r.plan,
            Plan::Failed {
                diag: Id::TlsVersionMismatch
            }
        );
        let f = smtps.lock().unwrap();
        assert_eq!(f.handshakes.len(), before + 1);
        assert!(f.plaintext[before].is_empty());
    }
}
