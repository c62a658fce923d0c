//! Where the real servers of this run are (`servers.env`, written by
//! `tests/interop/run.sh`), and what the tests need around them: the
//! product's TLS settings for the run's private CA, OAuth clients for the
//! oidc-provider, the sink's delivered messages, and a recording TCP relay
//! (optionally stripping STARTTLS) for the TLS-policy tests.

use mfp_oauth_core::oauth;
use mfp_oauth_core::provider::{AppRegistration, CustomEndpoints, Provider};
use mfp_oauth_host::driver::oauth::HttpsTransport;
use mfp_oauth_host::net::NetOptions;
use mfp_oauth_host::tls::{load_ca_file, TlsSettings};
use mfp_oauth_tests::relay::accept_within;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The run's servers.
#[derive(Debug)]
pub struct Servers {
    pub ca: PathBuf,
    /// `https://127.0.0.1:PORT` (oidc-provider's issuer).
    pub issuer: String,
    pub short_ttl: Duration,
    /// The client secret of the app-only client `mfp-app-secret` (random
    /// per run).
    pub app_secret: String,
    pub dovecot_submission: u16,
    pub dovecot_submissions: u16,
    pub dovecot_slow_submission: u16,
    pub postfix_submission: u16,
    pub postfix_submissions: u16,
    /// Postfix offering neither PIPELINING nor CHUNKING (127.0.0.2).
    pub postfix_lockstep_submission: u16,
    pub sink_dir: PathBuf,
    pub logs: PathBuf,
}

/// The servers started by `tests/interop/run.sh`. Panics (the test fails)
/// when the suite runs without them: these tests never skip silently.
pub fn servers() -> &'static Servers {
    static S: OnceLock<Servers> = OnceLock::new();
    S.get_or_init(|| {
        let path = std::env::var("MFP_INTEROP_ENV").unwrap_or_else(|_| {
            panic!("MFP_INTEROP_ENV is not set: run these tests with `bash tests/interop/run.sh`")
        });
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let kv: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
        let get = |k: &str| kv.get(k).unwrap_or_else(|| panic!("{k} missing in {path}"));
        let port = |k: &str| get(k).parse::<u16>().expect("port");
        Servers {
            ca: PathBuf::from(get("CA")),
            issuer: get("ISSUER").to_string(),
            short_ttl: Duration::from_secs(get("SHORT_TTL_S").parse().expect("ttl")),
            app_secret: get("APP_SECRET").to_string(),
            dovecot_submission: port("DOVECOT_SUBMISSION"),
            dovecot_submissions: port("DOVECOT_SUBMISSIONS"),
            dovecot_slow_submission: port("DOVECOT_SLOW_SUBMISSION"),
            postfix_submission: port("POSTFIX_SUBMISSION"),
            postfix_submissions: port("POSTFIX_SUBMISSIONS"),
            postfix_lockstep_submission: port("POSTFIX_LOCKSTEP_SUBMISSION"),
            sink_dir: PathBuf::from(get("SINK_DIR")),
            logs: PathBuf::from(get("LOGS")),
        }
    })
}

impl Servers {
    /// The product's TLS settings trusting only the run's private CA.
    pub fn tls(&self) -> TlsSettings {
        TlsSettings {
            webpki_roots: false,
            extra_roots: load_ca_file(&self.ca).expect("CA file"),
            ..TlsSettings::default()
        }
    }

    pub fn transport(&self) -> HttpsTransport {
        HttpsTransport {
            net: NetOptions::default(),
            tls: self.tls(),
        }
    }

    /// The printer's OAuth client for oidc-provider as a custom provider
    /// profile (the same profile type the CLI builds from its settings).
    pub fn oauth_client(&self, client_id: &str, scope: &str) -> oauth::Client<Vec<u8>> {
        let (authorize, token, device) = (
            format!("{}/auth", self.issuer),
            format!("{}/token", self.issuer),
            format!("{}/device/auth", self.issuer),
        );
        let provider = Provider::custom(&CustomEndpoints {
            authorize_url: Some(&authorize),
            token_url: &token,
            device_url: Some(&device),
            scope,
        })
        .expect("provider profile");
        let app = AppRegistration::public(client_id).expect("app registration");
        oauth::Client::new(
            provider,
            app,
            vec![0u8; mfp_oauth_core::limits::OAUTH_RESPONSE_BUF_LEN],
            0x1f2e_3d4c,
        )
    }

    /// The message the sink stored that contains `marker`, waiting up to
    /// `patience` for it (Postfix relays after its `250`, not before).
    pub fn delivered(&self, marker: &str, patience: Duration) -> Option<Vec<u8>> {
        self.delivered_at(marker, patience).map(|(data, _)| data)
    }

    /// The stored message containing `marker` and when the sink wrote it
    /// (waiting up to `patience`).
    pub fn delivered_at(
        &self,
        marker: &str,
        patience: Duration,
    ) -> Option<(Vec<u8>, std::time::SystemTime)> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(m) = self.find_delivered_at(marker) {
                return Some(m);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn find_delivered_at(&self, marker: &str) -> Option<(Vec<u8>, std::time::SystemTime)> {
        let entries = std::fs::read_dir(&self.sink_dir).ok()?;
        let needle = marker.as_bytes();
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .filter_map(|p| {
                let data = std::fs::read(&p).ok()?;
                let at = std::fs::metadata(&p).ok()?.modified().ok()?;
                Some((data, at))
            })
            .find(|(data, _)| data.windows(needle.len()).any(|w| w == needle))
    }

    /// Note a server's reply for the run's record (`replies.txt` beside
    /// the logs, printed at the end of `run.sh`).
    pub fn record(&self, scenario: &str, reply: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join("replies.txt"))
            .expect("replies.txt");
        writeln!(f, "{scenario}: {reply}").expect("replies.txt");
    }

    /// The tail of a server's log, for failure messages.
    pub fn log_tail(&self, relative: &str) -> String {
        let text = std::fs::read_to_string(self.logs.join(relative)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// What a [`Relay`] saw.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Every octet the client sent.
    pub client: Vec<u8>,
    /// Every octet the server sent (as relayed, after any rewriting).
    pub server: Vec<u8>,
    /// The server's octets before rewriting.
    pub server_original: Vec<u8>,
}

impl Seen {
    /// The client's octets before it sent `STARTTLS` (all, if it never did):
    /// the part of the session anyone on the path could read.
    pub fn client_cleartext(&self) -> &[u8] {
        let c = &self.client;
        match find(c, b"STARTTLS\r\n") {
            Some(i) => &c[..i + 10],
            None => c,
        }
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A one-connection TCP relay on 127.0.0.1 in front of a server at
/// `upstream` that records both directions and, with `strip_starttls`,
/// removes STARTTLS from the server's EHLO answers (a downgrade attacker).
#[derive(Debug)]
pub struct Relay {
    pub port: u16,
    seen: Arc<Mutex<Seen>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    pub fn start(upstream: (&str, u16), strip_starttls: bool) -> Relay {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("relay bind");
        let port = listener.local_addr().expect("relay addr").port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let upstream = (upstream.0.to_owned(), upstream.1);
        let record = Arc::clone(&seen);
        let thread = std::thread::spawn(move || {
            let Some(client) = accept_within(&listener, Duration::from_secs(30)) else {
                return;
            };
            let server = TcpStream::connect((upstream.0.as_str(), upstream.1)).expect("upstream");
            for s in [&client, &server] {
                s.set_read_timeout(Some(Duration::from_secs(30))).ok();
            }
            let (c2, s2) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            let up_record = Arc::clone(&record);
            let up = std::thread::spawn(move || pipe(c2, s2, &up_record, false, false));
            pipe(server, client, &record, true, strip_starttls);
            let _ = up.join();
        });
        Relay {
            port,
            seen,
            thread: Some(thread),
        }
    }

    /// Wait for the connection to end; what went through.
    pub fn finish(mut self) -> Seen {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.seen.lock().expect("seen").clone()
    }
}

fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    seen: &Mutex<Seen>,
    from_server: bool,
    strip_starttls: bool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let data = &buf[..n];
        let out = if from_server && strip_starttls {
            strip(data)
        } else {
            data.to_vec()
        };
        {
            let mut s = seen.lock().expect("seen");
            if from_server {
                s.server_original.extend_from_slice(data);
                s.server.extend_from_slice(&out);
            } else {
                s.client.extend_from_slice(data);
            }
        }
        if to.write_all(&out).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Remove the STARTTLS line from an EHLO answer, keeping the multi-line
/// reply well formed (if it was the last line, the one before becomes last).
fn strip(data: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(data);
    if !text.contains("STARTTLS") {
        return data.to_vec();
    }
    let mut lines: Vec<String> = text
        .split_inclusive("\r\n")
        .filter(|l| !l.get(4..).is_some_and(|r| r.starts_with("STARTTLS")))
        .map(str::to_owned)
        .collect();
    if let Some(last) = lines.last_mut() {
        if last.starts_with("250-") {
            last.replace_range(3..4, " ");
        }
    }
    lines.concat().into_bytes()
}

/// A scan's octets: `len` deterministic pseudo-random octets (xorshift),
/// so that the attachment's base64 lines take every shape.
pub fn scan_data(len: usize) -> Vec<u8> {
    pseudo_random(len, 0x9e37_79b9_7f4a_7c15)
}

/// `len` pseudo-random octets from `seed` (xorshift: every base64 line
/// shape, no compression to help anyone).
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A scratch directory for a test's files (the persisted token store).
pub fn scratch(name: &str) -> PathBuf {
    let dir = servers().logs.join("scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
