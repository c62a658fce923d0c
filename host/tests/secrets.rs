//! No secret reaches any output, and secrets are wiped (R-LOG, R-NV,
//! R-TOK-5; issue 9 item 5).
//!
//! The host has no logging facade: what it shows goes through the demo's
//! story (text and JSON lines), the CLI's output, `Debug`/`Display` of its
//! types and errors, and panic messages. Full sessions run against the
//! simulated provider, SMTP server and an authenticating CONNECT proxy:
//! sign-in by device code and by the PKCE browser flow, sends, a refresh
//! with rotation; then the same through the `mfp-oauth` binary (its
//! stdout and stderr). Every token the provider issued (access, refresh,
//! device code), the proxy password and the SASL lines are collected from
//! the simulator's records; every captured text is checked for every
//! 8-octet window of each of them. (The PKCE verifier and the client
//! secret never leave the core's OAuth client: `core/src/wipe_tests.rs`.)
//!
//! Zeroization on drop is observed without reading freed memory: a watching
//! allocator (every block zero-initialised, so all its octets are defined)
//! looks into each block as it is freed, while a test holds a sentinel.

use base64::Engine;
use mfp_oauth_core::config::Proxy as CfgProxy;
use mfp_oauth_core::function::Function;
use mfp_oauth_core::mailer::AuthMethod;
use mfp_oauth_core::secret::{AccessToken, RefreshToken, SecretBuf};
use mfp_oauth_core::token::TokenOwner;
use mfp_oauth_core::Address;
use mfp_oauth_host::app::job::{self, JobSpec};
use mfp_oauth_host::app::signin::{self, Prompt};
use mfp_oauth_host::app::Device;
use mfp_oauth_host::clock::Clock;
use mfp_oauth_host::sim::proxy::ConnectProxy;
use mfp_oauth_host::sim::smtp::SmtpConfig;
use mfp_oauth_host::sim::{SimConfig, World};
use mfp_oauth_host::{demo, story};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const ADMIN: &str = "admin@contoso.test";
const PROXY_PASSWORD: &str = "PXPW-q7Z3-Kd9v-uniq-Zr2m";

// ----- the watching allocator -----

const SENTINEL_MAX: usize = 64;
static WATCHING: AtomicBool = AtomicBool::new(false);
static SENTINEL_LEN: AtomicUsize = AtomicUsize::new(0);
static SENTINEL: [std::sync::atomic::AtomicU8; SENTINEL_MAX] =
    [const { std::sync::atomic::AtomicU8::new(0) }; SENTINEL_MAX];
static UNWIPED: AtomicUsize = AtomicUsize::new(0);

struct Watcher;

// SAFETY: every call is forwarded to `System`; blocks are zero-initialised
// so that the scan in `dealloc` reads only defined octets, and the scan
// reads the block before it is returned.
unsafe impl GlobalAlloc for Watcher {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if WATCHING.load(Ordering::Acquire) {
            // SAFETY: `ptr` is a live block of `layout.size()` octets,
            // all initialised (zeroed at allocation).
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            let n = SENTINEL_LEN.load(Ordering::Acquire);
            if n > 0 && block.len() >= n {
                let found = block.windows(n).any(|w| {
                    w.iter()
                        .zip(&SENTINEL)
                        .all(|(a, b)| *a == b.load(Ordering::Relaxed))
                });
                if found {
                    UNWIPED.fetch_add(1, Ordering::AcqRel);
                }
            }
        }
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Watcher = Watcher;

static WATCH_LOCK: Mutex<()> = Mutex::new(());

/// Count the freed heap blocks that still hold `sentinel` while `f` runs.
fn unwiped_frees(sentinel: &[u8], f: impl FnOnce()) -> usize {
    let _g = WATCH_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    assert!(sentinel.len() <= SENTINEL_MAX);
    for (slot, b) in SENTINEL.iter().zip(sentinel) {
        slot.store(*b, Ordering::Relaxed);
    }
    SENTINEL_LEN.store(sentinel.len(), Ordering::Release);
    UNWIPED.store(0, Ordering::Release);
    WATCHING.store(true, Ordering::Release);
    f();
    WATCHING.store(false, Ordering::Release);
    SENTINEL_LEN.store(0, Ordering::Release);
    UNWIPED.load(Ordering::Acquire)
}

// ----- secrets and captures -----

/// Every window of 8 octets (the whole value if shorter) of each secret,
/// and the same of its base64, must be absent from `text`. (A secret's
/// every substring of 8 octets or more contains such a window.)
fn assert_no_secret(what: &str, text: &str, secrets: &[Vec<u8>]) {
    for s in secrets {
        let b64 = base64::engine::general_purpose::STANDARD.encode(s);
        for form in [s.as_slice(), b64.as_bytes()] {
            let n = form.len().min(8);
            for w in form.windows(n) {
                assert!(
                    !text.as_bytes().windows(n).any(|t| t == w),
                    "{what} shows part of a secret: {:?}",
                    String::from_utf8_lossy(w)
                );
            }
        }
    }
}

/// Every token the simulated provider issued (access, refresh, device code,
/// authorization code: the test double's book, read through its `Debug`,
/// at several moments so that tokens it later forgets are collected too),
/// the SASL lines the access tokens made, and the proxy password.
struct Issued {
    secrets: Vec<Vec<u8>>,
    sasl: Vec<String>,
    counts: std::collections::HashMap<&'static str, usize>,
}

impl Issued {
    fn from_books(books: &[String]) -> Self {
        let book = books.join("\n");
        let mut me = Issued {
            secrets: vec![PROXY_PASSWORD.as_bytes().to_vec()],
            sasl: Vec::new(),
            counts: Default::default(),
        };
        for prefix in ["sim-at-", "sim-rt-", "sim-dc-", "sim-ac-"] {
            let mut seen = std::collections::HashSet::new();
            for (i, _) in book.match_indices(prefix) {
                let token: String = book[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
                    .collect();
                if !seen.insert(token.clone()) {
                    continue;
                }
                if prefix == "sim-at-" {
                    me.sasl
                        .push(format!("user={ADMIN}\x01auth=Bearer {token}\x01\x01"));
                }
                me.secrets.push(token.into_bytes());
                *me.counts.entry(prefix).or_insert(0) += 1;
            }
        }
        me
    }

    /// The sessions ran what they should have (the authorization code is
    /// spent as soon as it is exchanged: the book rarely holds it).
    fn assert_counts(&self, device_codes: usize, refresh: usize, access: usize) {
        let n = |p| self.counts.get(p).copied().unwrap_or(0);
        assert!(
            n("sim-dc-") >= device_codes && n("sim-rt-") >= refresh && n("sim-at-") >= access,
            "{:?}",
            self.counts
        );
    }

    fn assert_absent(&self, what: &str, text: &str) {
        assert_no_secret(what, text, &self.secrets);
        // The SASL line as it goes on the wire (base64; its account part
        // is not secret, the token part is covered above).
        for line in &self.sasl {
            let b64 = base64::engine::general_purpose::STANDARD.encode(line);
            for w in b64.as_bytes().windows(8).step_by(4) {
                assert!(
                    !text.as_bytes().windows(8).any(|t| t == w),
                    "{what} shows the SASL line"
                );
            }
        }
    }
}

/// A fresh directory for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mfp-secrets-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn setup(name: &str) -> (World, ConnectProxy, std::path::PathBuf, Device) {
    let w = World::start(SimConfig::default(), SmtpConfig::default()).unwrap();
    let proxy = ConnectProxy::start(true).unwrap();
    let dir = scratch(name);
    let clock: Arc<dyn Clock> = Arc::new(w.clock.clone());
    let mut dev = Device::open(&dir, clock, w.tls_settings()).unwrap();
    let mut s = dev.mailer.settings().clone();
    w.configure(&mut s, ADMIN);
    s.proxy = Some(CfgProxy {
        host: "127.0.0.1".try_into().unwrap(),
        port: proxy.port(),
        user: "mfp".try_into().unwrap(),
        password: SecretBuf::from_slice(PROXY_PASSWORD.as_bytes()).unwrap(),
    });
    dev.apply_settings(s).unwrap();
    (w, proxy, dir, dev)
}

/// R-LOG: a device-code sign-in, a browser (PKCE) sign-in, sends, a refresh
/// with rotation, all through the authenticating proxy; nothing shown
/// anywhere holds any part of any secret.
#[test]
fn full_sessions_show_no_part_of_any_secret() {
    let (w, proxy, dir, mut dev) = setup("sessions");
    let shown: std::cell::RefCell<Vec<(String, String)>> = Default::default();
    let show = |what: &str, text: String| shown.borrow_mut().push((what.to_owned(), text));

    // Device code, with every prompt shown.
    let sim = w.sim.clone();
    let signed = signin::sign_in(
        &dev,
        AuthMethod::DeviceCode,
        &Address::parse(ADMIN).unwrap(),
        &mut |p| {
            show("prompt", format!("{p:?}"));
            if let Prompt::DeviceCode(d) = p {
                show("device authorization", format!("{d:?}"));
                show("qr target", d.qr_text().to_owned());
                sim.approve_device(&d.user_code, ADMIN);
            }
        },
        &mut |url| show("browser", url),
    )
    .unwrap();
    show("signed in", format!("{signed:?}"));
    show("signed-in event", format!("{:?}", signed.event()));
    show("grant", format!("{:?}", signed.grant()));
    show("client", format!("{:?}", signed.client()));
    dev.acquire(None, &signed).unwrap();
    drop(signed);
    // The provider's book (every token it issued and still knows, read
    // through the test double's Debug) at each stage: tokens it later
    // forgets are collected too.
    let mut books = vec![format!("{:?}", w.sim)];

    // The browser flow (PKCE) for a user, consented by the simulated browser.
    w.sim.set_browser_account(Some("alice@contoso.test"));
    let tls = w.tls_settings();
    let alice = signin::sign_in(
        &dev,
        AuthMethod::BrowserPkce,
        &Address::parse("alice@contoso.test").unwrap(),
        &mut |p| show("prompt", format!("{p:?}")),
        &mut |url| {
            show("authorize url", url.clone());
            let tls = tls.clone();
            std::thread::spawn(move || {
                let _ = mfp_oauth_host::sim::browser::sign_in(&url, &tls);
            });
        },
    )
    .unwrap();
    show("pkce signed in", format!("{alice:?}"));
    drop(alice);
    books.push(format!("{:?}", w.sim));

    // Sends, then the access token expires: refresh with rotation, send.
    let to = [Address::parse("carol@fabrikam.test").unwrap()];
    let spec = JobSpec {
        function: Function::ScanToEmail,
        user: None,
        from: None,
        to: &to,
        size: None,
    };
    for round in 0..3 {
        books.push(format!("{:?}", w.sim));
        if round == 1 {
            w.sim.forget_access_tokens();
        }
        if round == 2 {
            w.clock.advance(mfp_oauth_core::Duration::from_secs(7200));
        }
        let mut events = Vec::new();
        let mut body: &[u8] = b"Subject: x\r\n\r\nbody\r\n";
        let r = job::run(
            &mut dev,
            &spec,
            &mut body,
            &mut |_: &Device, _: bool, _: AuthMethod, _: &Address| {
                Err(signin::FlowError::Failed(
                    mfp_oauth_core::diag::Id::AdminTokenRequired,
                ))
            },
            &mut |e| events.push(format!("{e:?}")),
        )
        .unwrap();
        assert!(r.sent(), "{r:?}");
        show("job report", format!("{r:?}"));
        show("mailer after the job", format!("{:?}", dev.mailer));
        for e in events {
            show("job event", e);
        }
    }
    show("device", format!("{dev:?}"));
    // The Mailer facade itself (the Device's Debug leaves it out).
    show("mailer", format!("{:?}", dev.mailer));
    show("plan", format!("{:?}", dev.mailer.plan()));
    show("settings", format!("{:?}", dev.mailer.settings()));
    show("store", format!("{:?}", dev.mailer.store()));
    show("token net options", format!("{:?}", dev.token_net()));
    show("proxy seen", proxy.seen().join("\n"));

    books.push(format!("{:?}", w.sim));
    let found = Issued::from_books(&books);
    // Device code and PKCE sign-ins, refreshes with rotation.
    found.assert_counts(1, 4, 4);
    for (what, text) in shown.borrow().iter() {
        found.assert_absent(what, text);
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// R-LOG: the demo's whole story, as text and as JSON lines, shows no
/// token of the simulated provider (every issued token carries its
/// `sim-at-` / `sim-rt-` / `sim-dc-` prefix) and no SASL line.
#[test]
fn the_demo_story_shows_no_token() {
    for format in [story::Format::Text, story::Format::Json] {
        let mut out = Vec::new();
        assert!(
            demo::run(&mut out, format, mfp_oauth_core::diag::Lang::En),
            "demo passed"
        );
        let text = String::from_utf8(out).unwrap();
        for needle in ["sim-at-", "sim-rt-", "sim-dc-", "auth=Bearer", "dXNlcj"] {
            assert!(!text.contains(needle), "{format:?} shows {needle}");
        }
    }
}

/// R-LOG: a panic with the device and its tokens in scope prints no secret
/// (the message is whatever the code formats: only redacted `Debug`).
#[test]
fn a_panic_message_with_secrets_in_scope_shows_none() {
    let at = AccessToken::from_slice(b"AT-PANIC-0123456789abcdef").unwrap();
    let rt = RefreshToken::from_slice(b"RT-PANIC-0123456789abcdef").unwrap();
    let proxy = mfp_oauth_host::net::Proxy {
        host: "p".into(),
        port: 1,
        user: Some("u".into()),
        password: zeroize::Zeroizing::new(PROXY_PASSWORD.to_owned()),
    };
    let message = std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            panic!("job failed with {at:?} {rt:?} {proxy:?}");
        }));
        match r {
            Err(e) => e.downcast_ref::<String>().cloned().unwrap_or_default(),
            Ok(()) => String::new(),
        }
    })
    .join()
    .unwrap();
    assert!(message.contains("job failed"), "{message}");
    assert_no_secret(
        "panic message",
        &message,
        &[
            b"AT-PANIC-0123456789abcdef".to_vec(),
            b"RT-PANIC-0123456789abcdef".to_vec(),
            PROXY_PASSWORD.as_bytes().to_vec(),
        ],
    );
}

/// R-LOG, R-TOK-5: the host's proxy password (and every copy the token
/// traffic's options make) is wiped from the heap when dropped; a plain
/// `String` copy is caught by the same watch (the check can fail).
#[test]
fn the_proxy_password_is_wiped_from_the_heap() {
    let sentinel = b"PXPW-heap-sentinel-5c1d";
    let plain = unwiped_frees(sentinel, || {
        let s = String::from_utf8(sentinel.to_vec()).unwrap();
        drop(s);
    });
    assert_eq!(plain, 1, "the watch sees an unwiped copy");

    let wiped = unwiped_frees(sentinel, || {
        let p = mfp_oauth_host::net::Proxy {
            host: "proxy".into(),
            port: 3128,
            user: Some("mfp".into()),
            password: zeroize::Zeroizing::new(String::from_utf8(sentinel.to_vec()).unwrap()),
        };
        let copy = p.clone();
        let _ = format!("{p:?} {copy:?}");
        drop((p, copy));
    });
    assert_eq!(wiped, 0, "a proxy password was freed unwiped");

    // Through the device: settings -> token traffic options -> dropped.
    let dir = scratch("heap");
    let clock: Arc<dyn Clock> = Arc::new(mfp_oauth_host::clock::VirtualClock::new());
    let mut dev = Device::open(&dir, clock, Default::default()).unwrap();
    let mut s = dev.mailer.settings().clone();
    s.proxy = Some(CfgProxy {
        host: "proxy".try_into().unwrap(),
        port: 3128,
        user: "mfp".try_into().unwrap(),
        password: SecretBuf::from_slice(sentinel).unwrap(),
    });
    dev.apply_settings(s).unwrap();
    let through = unwiped_frees(sentinel, || {
        let opts = dev.token_net();
        assert_eq!(
            opts.proxy.as_ref().map(|p| p.password.as_bytes()),
            Some(&sentinel[..])
        );
        drop(opts);
    });
    assert_eq!(through, 0, "token_net left an unwiped copy");
    let _ = std::fs::remove_dir_all(dir);
}

/// R-LOG: a secret buffer is wiped in place when dropped: the value is
/// dropped inside storage the test owns, then that storage is read (the
/// buffers have no padding: `[u8; N]` then `usize`, `N` a multiple of 8).
#[test]
fn secret_buffers_are_wiped_on_drop() {
    fn check<const N: usize>() {
        let secret = b"DROP-SENTINEL-1234567890";
        let mut place = std::mem::MaybeUninit::new(SecretBuf::<N>::from_slice(secret).unwrap());
        assert_eq!(size_of::<SecretBuf<N>>(), N + size_of::<usize>());
        let bytes = |p: &std::mem::MaybeUninit<SecretBuf<N>>| {
            // SAFETY: the storage is initialised (written above; drop does
            // not uninitialise it) and has no padding (asserted).
            unsafe {
                std::slice::from_raw_parts(p.as_ptr().cast::<u8>(), size_of::<SecretBuf<N>>())
            }
            .to_vec()
        };
        assert!(bytes(&place).windows(secret.len()).any(|w| w == secret));
        // SAFETY: initialised, dropped once, never used as a value again.
        unsafe { place.assume_init_drop() };
        let after = bytes(&place);
        assert!(
            !after.windows(4).any(|w| secret.windows(4).any(|s| s == w)),
            "SecretBuf<{N}> left its bytes behind"
        );
    }
    check::<{ AccessToken::CAPACITY }>();
    check::<{ RefreshToken::CAPACITY }>();
    check::<128>();
}

/// R-LOG, R-CLI: the `mfp-oauth` binary's whole output (stdout and stderr
/// of configuration with a proxy password, device-code and browser
/// sign-ins, sends with a refresh and rotation, the token list, a power
/// cycle, doctor) shows no part of any secret.
#[test]
fn the_command_line_tool_shows_no_part_of_any_secret() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let fast_polling = SimConfig {
        device_interval_s: 1,
        ..SimConfig::default()
    };
    let (w, proxy) = (
        World::start(fast_polling, SmtpConfig::default()).unwrap(),
        ConnectProxy::start(true).unwrap(),
    );
    let dir = scratch("cli");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, w.pki.ca_pem()).unwrap();
    let tool = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mfp-oauth"));
        c.arg("--store")
            .arg(dir.join("state"))
            .arg("--ca-file")
            .arg(&ca)
            .args(args)
            .env("LANG", "C")
            .stdin(Stdio::null());
        c
    };
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut books = Vec::new();
    let run = |args: &[&str], outputs: &mut Vec<(String, String)>| {
        let o = tool(args).output().unwrap();
        let both = format!(
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "{args:?}: {both}");
        outputs.push((args.join(" "), both));
    };
    let mut pairs = w.config_set_pairs(ADMIN, "s offline_access");
    pairs.extend([
        ("proxy", format!("127.0.0.1:{}", proxy.port())),
        ("proxy-user", "mfp".to_owned()),
        ("proxy-password", PROXY_PASSWORD.to_owned()),
    ]);
    for (k, v) in pairs {
        run(&["config", "set", k, &v], &mut outputs);
    }
    // Every secret setting, set and shown, in both languages: the value
    // given on the command line is input; what the tool prints back (the
    // `what` label holds the arguments and is not scanned) must not hold it.
    for key in mfp_oauth_host::cli::SECRET_KEYS {
        for lang in ["en", "fr"] {
            run(
                &["--lang", lang, "config", "set", key, PROXY_PASSWORD],
                &mut outputs,
            );
            run(&["--lang", lang, "config", "show"], &mut outputs);
        }
    }

    // Device code: the simulated user approves whatever code is pending.
    let done = Arc::new(AtomicBool::new(false));
    let (sim, flag) = (w.sim.clone(), Arc::clone(&done));
    let approver = std::thread::spawn(move || {
        while !flag.load(Ordering::SeqCst) {
            for code in sim.pending_user_codes() {
                sim.approve_device(&code, ADMIN);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    });
    run(&["login", "--admin"], &mut outputs);
    done.store(true, Ordering::SeqCst);
    approver.join().unwrap();
    books.push(format!("{:?}", w.sim));

    // The browser flow, the test playing the browser.
    let mut child = tool(&["login", "--admin", "--browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for l in lines.by_ref() {
        let l = l.unwrap();
        let url = l.starts_with("https://").then(|| l.clone());
        seen.push(l);
        if let Some(url) = url {
            assert_eq!(
                mfp_oauth_host::sim::browser::sign_in(&url, &w.tls_settings()).unwrap(),
                200
            );
            break;
        }
    }
    seen.extend(lines.map(Result::unwrap));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(child.wait().unwrap().success(), "{seen:?} {err}");
    outputs.push((
        "login --browser".into(),
        format!("{}\n{err}", seen.join("\n")),
    ));
    books.push(format!("{:?}", w.sim));

    let pdf = dir.join("scan.pdf");
    std::fs::write(&pdf, b"%PDF-1.7 fake scan\n").unwrap();
    let pdf = pdf.to_string_lossy().into_owned();
    // (The scratch path has no spaces.)
    let send_line = format!("send --function scan-to-email --to carol@fabrikam.test {pdf}");
    let send: Vec<&str> = send_line.split(' ').collect();
    run(&send, &mut outputs);
    books.push(format!("{:?}", w.sim));
    // Each run of the tool is a power-on: the next send refreshes (and the
    // provider rotates the refresh token).
    run(&send, &mut outputs);
    for args in [
        &["tokens", "list"][..],
        &["power-cycle"],
        &["config", "show"],
        &["config", "check"],
        &["doctor"],
    ] {
        run(args, &mut outputs);
    }
    books.push(format!("{:?}", w.sim));
    assert_eq!(w.sim.messages().len(), 2);
    assert!(
        proxy.seen().len() >= 3,
        "the token traffic went through the proxy"
    );
    let found = Issued::from_books(&books);
    found.assert_counts(1, 3, 3);
    for (what, text) in &outputs {
        found.assert_absent(what, text);
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// R-TOK-5, R-NV: a deleted user's slot (freed, not only emptied), a
/// rotated refresh token, an evicted or expired access token, and the
/// guest's tokens leave nothing in the store's memory: the store lives in
/// storage the test owns (zeroed first) and is read in place, alive.
#[test]
fn deleted_token_store_slots_leave_nothing_in_memory() {
    use mfp_oauth_core::token::{RefreshFailure, TokenGrant, TokenStore, UserId};
    use mfp_oauth_core::{Duration, Instant};
    let mut place: Box<std::mem::MaybeUninit<TokenStore>> =
        Box::new(std::mem::MaybeUninit::zeroed());
    let store = place.write(TokenStore::new());
    let grant = |at: &'static [u8], rt: Option<&'static [u8]>| TokenGrant {
        access_token: at,
        expires_in: Duration::from_secs(3600),
        refresh_token: rt,
        refresh_expires_in: None,
    };
    let user = |id: &str| TokenOwner::User(UserId::try_from(id).unwrap());
    let acct = Address::parse("u@contoso.test").unwrap();
    let t0 = Instant::from_millis(0);
    for (owner, at, rt) in [
        (
            user("bob"),
            &b"AT-bob-Qw7Er4Ty"[..],
            &b"RT-bob-Ui8Op2As"[..],
        ),
        (user("eve"), b"AT-eve-Df5Gh1Jk", b"RT-eve-Lz9Xc3Vb"),
        (TokenOwner::Admin, b"AT-adm-Nm6Qa0Ws", b"RT-adm-Ed4Rf8Tg"),
        (TokenOwner::Guest, b"AT-gst-Yh2Uj7Ik", b"RT-gst-Ol3Pz5Xa"),
    ] {
        store
            .store_acquired(t0, None, &owner, &acct, grant(at, Some(rt)))
            .unwrap();
    }
    store
        .refreshed(
            t0,
            None,
            &TokenOwner::Admin,
            grant(b"AT-adm-2", Some(b"RT-adm-Cv1Bn6Mq")),
        )
        .unwrap();
    store.delete_user("bob").unwrap();
    store.refresh_failed(&user("eve"), RefreshFailure::InvalidGrant);
    store.job_finished();
    let mem = |p: &std::mem::MaybeUninit<TokenStore>| {
        // SAFETY: the storage was zeroed, then written by the store; it is
        // read as octets while the store lives (not under Miri: padding).
        unsafe {
            std::slice::from_raw_parts(p.as_ptr().cast::<u8>(), size_of::<TokenStore>()).to_vec()
        }
    };
    let m = mem(&place);
    let find = |s: &[u8]| m.windows(s.len()).any(|w| w == s);
    assert!(find(b"RT-adm-Cv1Bn6Mq"), "the live token is seen");
    for gone in [
        &b"AT-bob-Qw7Er4Ty"[..],
        b"RT-bob-Ui8Op2As",
        b"AT-eve-Df5Gh1Jk",
        b"RT-eve-Lz9Xc3Vb",
        b"AT-adm-Nm6Qa0Ws",
        b"RT-adm-Ed4Rf8Tg",
        b"AT-gst-Yh2Uj7Ik",
        b"RT-gst-Ol3Pz5Xa",
    ] {
        assert!(
            !find(gone),
            "{} left in memory",
            String::from_utf8_lossy(gone)
        );
    }
    // SAFETY: initialised above, dropped once.
    unsafe { place.assume_init_drop() };
    let m = mem(&place);
    assert!(
        !m.windows(15).any(|w| w == b"RT-adm-Cv1Bn6Mq"),
        "dropped: wiped"
    );
}
