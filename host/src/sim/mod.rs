//! Test doubles for the demo and the tests: a simulated OAuth provider, a
//! simulated SMTP submission server and simulated mail APIs (Graph, Gmail)
//! on 127.0.0.1. **Not a product feature**:
//! nothing here is used when the tool talks to a real provider.
//!
//! They share one [`Sim`] state, so the SMTP server accepts exactly the access
//! tokens the provider issued, and both read the same [`VirtualClock`], so the
//! demo can let an hour pass and see a token expire.
//!
//! Plain std threads and blocking sockets: one accept thread per server and
//! one thread per connection, every socket with read and write timeouts, and a
//! cap on simultaneous connections. A test double needs to be obviously
//! correct more than fast, and blocking code that reads like the protocol
//! transcript is easiest to check. Everything is bounded: line lengths,
//! message sizes, commands per session, request sizes, connection counts.

pub mod api;
pub mod browser;
pub mod pki;
pub mod provider;
pub mod proxy;
pub mod smtp;

use crate::clock::{Clock, VirtualClock};
use base64::Engine as _;
use mfp_oauth_core::{Duration, Instant};
use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// Socket timeout of every simulated server connection.
pub const SERVER_IO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Most connections a simulated server serves at once; more are closed.
pub const MAX_CONNECTIONS: usize = 32;

/// An access token the provider issued.
#[derive(Debug, Clone)]
struct AccessGrant {
    account: String,
    /// The scope granted (the simulated APIs check it).
    scope: String,
    expires_at: Instant,
}

/// A refresh token the provider issued.
#[derive(Debug, Clone)]
struct RefreshGrant {
    account: String,
    client_id: String,
    scope: String,
    revoked: bool,
}

/// A pending device authorization (RFC 8628).
#[derive(Debug, Clone)]
struct DeviceGrant {
    user_code: String,
    client_id: String,
    scope: String,
    expires_at: Instant,
    interval_s: u64,
    last_poll: Option<Instant>,
    approved_for: Option<String>,
    denied: bool,
    used: bool,
}

/// A pending authorization code (PKCE, RFC 7636).
#[derive(Debug, Clone)]
struct CodeGrant {
    account: String,
    client_id: String,
    scope: String,
    redirect_uri: String,
    challenge: String,
    expires_at: Instant,
}

/// A message the simulated SMTP server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The account whose token authenticated the session.
    pub account: String,
    /// `XOAUTH2` or `OAUTHBEARER`.
    pub mechanism: String,
    /// MAIL FROM address.
    pub from: String,
    /// RCPT TO addresses.
    pub recipients: Vec<String>,
    /// The message as the client meant it (dot-unstuffed, CRLF line ends).
    pub data: Vec<u8>,
}

/// Why the SMTP server refused a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    /// Issued, unexpired, for this account.
    Valid,
    /// Never issued (or forgotten).
    Unknown,
    /// Issued but past its lifetime.
    Expired,
    /// Issued for another account.
    WrongAccount,
}

#[derive(Debug, Default)]
struct Book {
    access: HashMap<String, AccessGrant>,
    refresh: HashMap<String, RefreshGrant>,
    devices: HashMap<String, DeviceGrant>,
    codes: HashMap<String, CodeGrant>,
    smtp_auth_disabled: HashSet<String>,
    messages: Vec<ReceivedMessage>,
    requests: Vec<String>,
    auth_attempts: Vec<(String, &'static str)>,
    browser_account: Option<String>,
    api: api::ApiState,
}

/// Settings of the simulated provider.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The only client id the provider knows.
    pub client_id: String,
    /// Lifetime of access tokens (`expires_in`).
    pub access_lifetime: Duration,
    /// Device-flow polling interval announced, in seconds.
    pub device_interval_s: u64,
    /// Device-code lifetime announced, in seconds.
    pub device_expires_s: u64,
    /// Answer token requests with `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// A used refresh token stops working once a new one was issued.
    pub rotation_revokes_old: bool,
    /// Refuse every refresh grant with `invalid_grant` and this AADSTS
    /// number while the grant itself stays valid (65001: consent
    /// withdrawn; 53003: blocked by Conditional Access).
    pub refresh_refused: Option<u32>,
    /// Answer every refresh grant with `503` and no body (an endpoint
    /// that is down): the client retries with its back-off.
    pub refresh_unavailable: bool,
    /// A tenant whose Conditional Access blocks the device code flow:
    /// every device-code poll is refused with AADSTS53003.
    pub device_flow_blocked: bool,
    /// Say how long each refresh token lives (`refresh_token_expires_in`,
    /// as Google does for time-based access); `None`: say nothing.
    pub refresh_token_lifetime: Option<Duration>,
    /// The public key app-only assertions are verified with (an RSA
    /// `RSAPublicKey` in DER); `None`: every assertion is refused.
    pub app_public_key: Option<Vec<u8>>,
    /// The mailbox an app-only (client credentials) token is for: the one
    /// the app was granted.
    pub app_mailbox: String,
    /// The app's client secret, for client credentials with a secret;
    /// `None`: every secret is refused.
    pub app_secret: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            client_id: "mfp-oauth-demo".to_owned(),
            access_lifetime: Duration::from_secs(3600),
            device_interval_s: 5,
            device_expires_s: 900,
            chunked: false,
            rotation_revokes_old: true,
            refresh_refused: None,
            refresh_unavailable: false,
            device_flow_blocked: false,
            refresh_token_lifetime: None,
            app_public_key: None,
            app_mailbox: String::new(),
            app_secret: None,
        }
    }
}

/// The state the simulated provider and SMTP server share.
#[derive(Debug, Clone)]
pub struct Sim {
    book: Arc<Mutex<Book>>,
    config: Arc<Mutex<SimConfig>>,
    clock: VirtualClock,
}

fn random_token(prefix: &str, octets: usize) -> String {
    let mut bytes = vec![0u8; octets];
    // The system RNG failing is not something a test double can work around;
    // fall back to a counter so tokens stay unique (they are not secrets).
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).is_err() {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        for (i, b) in n.to_le_bytes().iter().enumerate() {
            if let Some(slot) = bytes.get_mut(i) {
                *slot = *b;
            }
        }
    }
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

fn user_code() -> String {
    const LETTERS: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let mut bytes = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    let mut s = String::with_capacity(9);
    for (i, b) in bytes.iter().enumerate() {
        if i == 4 {
            s.push('-');
        }
        let idx = usize::from(*b) % LETTERS.len();
        s.push(char::from(LETTERS.get(idx).copied().unwrap_or(b'X')));
    }
    s
}

impl Sim {
    /// A fresh provider state on `clock`.
    #[must_use]
    pub fn new(config: SimConfig, clock: VirtualClock) -> Self {
        Sim {
            book: Arc::new(Mutex::new(Book::default())),
            config: Arc::new(Mutex::new(config)),
            clock,
        }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        // A panicking connection thread must not take the whole sim down.
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current settings.
    #[must_use]
    pub fn config(&self) -> SimConfig {
        self.config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Change settings (for example switch to chunked answers).
    pub fn configure(&self, f: impl FnOnce(&mut SimConfig)) {
        f(&mut self.config.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// The shared clock.
    #[must_use]
    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    /// The simulated user enters `user_code` on the verification page and
    /// signs in as `account`. Returns false for an unknown code.
    pub fn approve_device(&self, user_code: &str, account: &str) -> bool {
        let mut book = self.book();
        match book.devices.values_mut().find(|d| d.user_code == user_code) {
            Some(d) => {
                d.approved_for = Some(account.to_owned());
                true
            }
            None => false,
        }
    }

    /// The account signed in in the simulated browser: who consents on the
    /// authorize page when the request carries no `login_hint`.
    pub fn set_browser_account(&self, account: Option<&str>) {
        self.book().browser_account = account.map(str::to_owned);
    }

    /// The simulated user declines the request for `user_code`.
    pub fn deny_device(&self, user_code: &str) -> bool {
        let mut book = self.book();
        match book.devices.values_mut().find(|d| d.user_code == user_code) {
            Some(d) => {
                d.denied = true;
                true
            }
            None => false,
        }
    }

    /// User codes of device authorizations still waiting for the user.
    #[must_use]
    pub fn pending_user_codes(&self) -> Vec<String> {
        self.book()
            .devices
            .values()
            .filter(|d| d.approved_for.is_none() && !d.denied && !d.used)
            .map(|d| d.user_code.clone())
            .collect()
    }

    /// Revoke every refresh token of `account` (password change, admin).
    pub fn revoke_refresh_tokens(&self, account: &str) {
        for r in self.book().refresh.values_mut() {
            if r.account == account {
                r.revoked = true;
            }
        }
    }

    /// Forget every access token issued so far (as if the provider revoked
    /// sessions): the SMTP server then refuses them although the client's
    /// cache still thinks them valid.
    pub fn forget_access_tokens(&self) {
        self.book().access.clear();
    }

    /// Whether `token` is a live refresh token.
    #[must_use]
    pub fn refresh_token_valid(&self, token: &str) -> bool {
        self.book().refresh.get(token).is_some_and(|r| !r.revoked)
    }

    /// Switch SMTP AUTH off (or on) for a mailbox: the server then answers
    /// `535 5.7.139` like Exchange Online.
    pub fn set_smtp_auth_disabled(&self, account: &str, disabled: bool) {
        let mut book = self.book();
        if disabled {
            book.smtp_auth_disabled.insert(account.to_ascii_lowercase());
        } else {
            book.smtp_auth_disabled
                .remove(&account.to_ascii_lowercase());
        }
    }

    fn smtp_auth_disabled(&self, account: &str) -> bool {
        self.book()
            .smtp_auth_disabled
            .contains(&account.to_ascii_lowercase())
    }

    /// Check a bearer token presented for `account` over SMTP.
    #[must_use]
    pub fn check_access_token(&self, token: &str, account: &str) -> TokenCheck {
        let now = self.clock.now();
        match self.book().access.get(token) {
            None => TokenCheck::Unknown,
            Some(g) if !g.account.eq_ignore_ascii_case(account) => TokenCheck::WrongAccount,
            Some(g) if now >= g.expires_at => TokenCheck::Expired,
            Some(_) => TokenCheck::Valid,
        }
    }

    /// Messages the SMTP server accepted, oldest first.
    #[must_use]
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        self.book().messages.clone()
    }

    /// What the provider was asked, one line per request (`POST /token
    /// grant_type=refresh_token -> 200`), oldest first.
    #[must_use]
    pub fn requests(&self) -> Vec<String> {
        self.book().requests.clone()
    }

    /// SMTP AUTH attempts: account and outcome (`ok`, `challenge`,
    /// `disabled`), oldest first.
    #[must_use]
    pub fn auth_attempts(&self) -> Vec<(String, &'static str)> {
        self.book().auth_attempts.clone()
    }

    fn record_request(&self, line: String) {
        let mut book = self.book();
        if book.requests.len() < 10_000 {
            book.requests.push(line);
        }
    }

    fn record_auth(&self, account: &str, outcome: &'static str) {
        let mut book = self.book();
        if book.auth_attempts.len() < 10_000 {
            book.auth_attempts.push((account.to_owned(), outcome));
        }
    }

    fn store_message(&self, m: ReceivedMessage) {
        let mut book = self.book();
        if book.messages.len() < 1_000 {
            book.messages.push(m);
        }
    }

    /// Issue an access token and a refresh token for `account` as if it had
    /// just completed a login: (access, refresh, lifetime in seconds). For
    /// tests of the SMTP side that are not about how tokens are obtained.
    pub fn issue(&self, account: &str, client_id: &str, scope: &str) -> (String, String, u64) {
        let lifetime = self.config().access_lifetime;
        let access = random_token("sim-at-", 32);
        let refresh = random_token("sim-rt-", 32);
        let now = self.clock.now();
        let mut book = self.book();
        book.access.insert(
            access.clone(),
            AccessGrant {
                account: account.to_owned(),
                scope: scope.to_owned(),
                expires_at: now + lifetime,
            },
        );
        book.refresh.insert(
            refresh.clone(),
            RefreshGrant {
                account: account.to_owned(),
                client_id: client_id.to_owned(),
                scope: scope.to_owned(),
                revoked: false,
            },
        );
        (access, refresh, lifetime.as_secs())
    }
}

/// A running simulated server; dropping it stops the accept loop.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The address it listens on (127.0.0.1, an ephemeral port).
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept with one last connection.
        let _ = TcpStream::connect_timeout(&self.addr, std::time::Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Listen on 127.0.0.1 (ephemeral port) and serve each connection on its own
/// thread with `serve`.
fn spawn_server<F>(name: &str, serve: F) -> io::Result<ServerHandle>
where
    F: Fn(TcpStream) + Send + Sync + 'static,
{
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    let addr = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let serve = Arc::new(serve);
    let active = Arc::new(AtomicUsize::new(0));
    let thread = std::thread::Builder::new()
        .name(format!("sim-{name}-accept"))
        .spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                    continue; // dropped: closed at once
                }
                let _ = stream.set_read_timeout(Some(SERVER_IO_TIMEOUT));
                let _ = stream.set_write_timeout(Some(SERVER_IO_TIMEOUT));
                let _ = stream.set_nodelay(true);
                active.fetch_add(1, Ordering::SeqCst);
                let serve = Arc::clone(&serve);
                let done = Arc::clone(&active);
                let spawned = std::thread::Builder::new()
                    .name("sim-conn".to_owned())
                    .spawn(move || {
                        serve(stream);
                        done.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    // The OS refused a thread: the connection was dropped.
                    active.fetch_sub(1, Ordering::SeqCst);
                }
            }
        })?;
    Ok(ServerHandle {
        addr,
        stop,
        thread: Some(thread),
    })
}

/// Everything the demo needs, started together: a clock, the shared state,
/// a private CA, the provider and one SMTP server.
#[derive(Debug)]
pub struct World {
    /// The shared clock.
    pub clock: VirtualClock,
    /// The shared provider state.
    pub sim: Sim,
    /// The private CA and server certificate.
    pub pki: pki::Pki,
    /// The HTTPS provider.
    pub provider: provider::Provider,
    /// The SMTP submission server.
    pub smtp: smtp::SmtpServer,
    /// The mail API server (Graph and Gmail, one port).
    pub api: api::ApiServer,
}

impl World {
    /// Start a provider and an SMTP server (STARTTLS) on 127.0.0.1.
    pub fn start(config: SimConfig, smtp_config: smtp::SmtpConfig) -> io::Result<Self> {
        let clock = VirtualClock::new();
        let sim = Sim::new(config, clock.clone());
        let pki = pki::Pki::generate(&["localhost", "127.0.0.1"])
            .map_err(|e| io::Error::other(e.to_string()))?;
        let provider = provider::Provider::start(&sim, &pki)?;
        let smtp = smtp::SmtpServer::start(&sim, &pki, smtp_config)?;
        let api = api::ApiServer::start(&sim, &pki)?;
        Ok(World {
            clock,
            sim,
            pki,
            provider,
            smtp,
            api,
        })
    }

    /// The mail API server's root, `https://127.0.0.1:PORT` (Graph under
    /// `/v1.0`, Gmail under `/upload/gmail/v1`).
    #[must_use]
    pub fn api_url(&self) -> String {
        self.api.base_url()
    }

    /// Another SMTP server sharing this world's state and certificate (for
    /// example implicit TLS, or one that drops connections).
    pub fn start_smtp(&self, config: smtp::SmtpConfig) -> io::Result<smtp::SmtpServer> {
        smtp::SmtpServer::start(&self.sim, &self.pki, config)
    }

    /// `settings` pointed at this world: OAuth on, the custom provider with
    /// this provider's endpoints and client id, this SMTP server (STARTTLS),
    /// `admin` as the administrator's address.
    pub fn configure(&self, settings: &mut mfp_oauth_core::config::Settings, admin: &str) {
        use mfp_oauth_core::config::{CustomProvider, ProviderKind, SmtpServer};
        let url = |u: String| u.as_str().try_into().unwrap_or_default();
        settings.oauth_enabled = true;
        settings.provider = ProviderKind::Custom;
        settings.client_id = self
            .sim
            .config()
            .client_id
            .as_str()
            .try_into()
            .unwrap_or_default();
        settings.custom = CustomProvider {
            token_url: url(self.provider.token_endpoint()),
            device_url: url(self.provider.device_endpoint()),
            authorize_url: url(self.provider.authorize_endpoint()),
            scope: url("s offline_access".to_owned()),
        };
        settings.smtp = SmtpServer::new(
            "127.0.0.1",
            self.smtp.port(),
            mfp_oauth_core::smtp::Security::StartTls,
        );
        settings.admin_address = mfp_oauth_core::Address::parse(admin).ok();
    }

    /// The same as [`World::configure`] as `mfp-oauth config set KEY VALUE`
    /// pairs, with `scope`.
    #[must_use]
    pub fn config_set_pairs(&self, admin: &str, scope: &str) -> Vec<(&'static str, String)> {
        let p = &self.provider;
        vec![
            ("provider", "custom".to_owned()),
            ("client-id", self.sim.config().client_id),
            ("token-url", p.token_endpoint()),
            ("device-url", p.device_endpoint()),
            ("authorize-url", p.authorize_endpoint()),
            ("scope", scope.to_owned()),
            ("smtp", format!("127.0.0.1:{}", self.smtp.port())),
            ("admin-address", admin.to_owned()),
            ("oauth", "on".to_owned()),
        ]
    }

    /// Client TLS settings that trust this world's CA and nothing else.
    #[must_use]
    pub fn tls_settings(&self) -> crate::tls::TlsSettings {
        crate::tls::TlsSettings {
            webpki_roots: false,
            extra_roots: vec![self.pki.ca_der()],
            ..crate::tls::TlsSettings::default()
        }
    }
}
