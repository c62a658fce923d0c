//! Issue 17 item 3 (R-CLI, R-DIAG): no silent waits. A sign-in whose
//! endpoint refuses the connection, or answers 503, shows each failed
//! attempt with its endpoint and the delay before the next one, and the
//! `mfp-oauth` binary names the endpoint when a sign-in fails.

use mfp_oauth_core::config::{CustomProvider, ProviderKind, SmtpServer};
use mfp_oauth_core::diag::{Id, Lang};
use mfp_oauth_core::limits::OAUTH_MAX_RETRIES;
use mfp_oauth_core::mailer::AuthMethod;
use mfp_oauth_core::smtp::Security;
use mfp_oauth_core::{Address, Duration};
use mfp_oauth_host::app::signin::{self, FlowError, Prompt};
use mfp_oauth_host::app::Device;
use mfp_oauth_host::clock::{Clock, VirtualClock};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

const ADMIN: &str = "admin@contoso.test";

/// A printer whose custom provider's endpoints are `base` (plain HTTP on
/// loopback), with a virtual clock: the back-off delays pass at once.
fn device(name: &str, base: &str) -> (Device, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("mfp-progress-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new());
    let mut dev = Device::open(&dir, clock, Default::default()).unwrap();
    let mut s = dev.mailer.settings().clone();
    let url = |p: &str| format!("{base}{p}").as_str().try_into().unwrap();
    s.oauth_enabled = true;
    s.provider = ProviderKind::Custom;
    s.client_id = "client".try_into().unwrap();
    s.custom = CustomProvider {
        token_url: url("/token"),
        device_url: url("/device"),
        authorize_url: url("/authorize"),
        scope: "s offline_access".try_into().unwrap(),
    };
    s.smtp = SmtpServer::new("127.0.0.1", 587, Security::StartTls);
    s.admin_address = Address::parse(ADMIN).ok();
    dev.apply_settings(s).unwrap();
    (dev, dir)
}

#[derive(Debug, PartialEq)]
struct Retry {
    endpoint: String,
    attempt: u32,
    error: Id,
    delay: Duration,
}

fn sign_in(dev: &Device) -> (Vec<String>, Vec<Retry>, Result<(), FlowError>) {
    let (mut contacted, mut retries) = (Vec::new(), Vec::new());
    let r = signin::sign_in(
        dev,
        AuthMethod::DeviceCode,
        &Address::parse(ADMIN).unwrap(),
        &mut |p| match p {
            Prompt::Contacting(e) => contacted.push(e.to_owned()),
            Prompt::Retrying {
                endpoint,
                attempt,
                error,
                delay,
            } => retries.push(Retry {
                endpoint: endpoint.to_owned(),
                attempt,
                error,
                delay,
            }),
            _ => {}
        },
        &mut |_| {},
    );
    (contacted, retries, r.map(|_| ()))
}

fn assert_every_attempt_shown(endpoint: &str, retries: &[Retry], error: Id) {
    assert_eq!(retries.len(), usize::from(OAUTH_MAX_RETRIES), "{retries:?}");
    for (i, r) in retries.iter().enumerate() {
        assert_eq!(r.endpoint, endpoint);
        assert_eq!(r.attempt, u32::try_from(i).unwrap() + 1);
        assert_eq!(r.error, error);
        assert!(r.delay > Duration::ZERO, "{r:?}");
    }
}

#[test]
fn a_refused_connection_shows_each_attempt_and_its_endpoint() {
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (dev, dir) = device("refused", &format!("http://127.0.0.1:{port}"));
    let (contacted, retries, r) = sign_in(&dev);
    let endpoint = format!("127.0.0.1:{port}");
    assert_eq!(contacted, std::slice::from_ref(&endpoint));
    assert_every_attempt_shown(&endpoint, &retries, Id::ConnectFailed);
    assert_eq!(r, Err(FlowError::Failed(Id::ConnectFailed)));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_503_shows_each_attempt_and_its_endpoint() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let (dev, dir) = device("503", &format!("http://127.0.0.1:{port}"));
    let (_, retries, r) = sign_in(&dev);
    assert_every_attempt_shown(
        &format!("127.0.0.1:{port}"),
        &retries,
        Id::ProviderUnavailable,
    );
    assert_eq!(r, Err(FlowError::Failed(Id::ProviderUnavailable)));
    let _ = std::fs::remove_dir_all(dir);
}

/// The line the tool prints for each retry, in both languages.
#[test]
fn the_retry_line_names_the_endpoint_the_error_and_the_delay() {
    let en = mfp_oauth_host::cli::retry_line(
        Lang::En,
        "login.example:443",
        2,
        Id::ProviderUnavailable,
        20,
    );
    assert_eq!(
        en,
        "login.example:443: attempt 2 failed (E425 ProviderUnavailable); next attempt in 20 s"
    );
    let fr = mfp_oauth_host::cli::retry_line(Lang::Fr, "h:443", 1, Id::ConnectFailed, 5);
    assert!(
        fr.contains("h:443") && fr.contains("tentative 1") && fr.contains("5 s"),
        "{fr}"
    );
}

/// The binary names the endpoint when a sign-in fails (here at once: the
/// provider does not know the client).
#[test]
fn a_failed_login_names_the_endpoint() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = br#"{"error":"invalid_client"}"#;
            let _ = write!(
                s,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(body);
        }
    });
    let dir = std::env::temp_dir().join(format!("mfp-progress-{}-cli", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let tool = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mfp-oauth"))
            .arg("--store")
            .arg(&dir)
            .args(args)
            .env("LANG", "C")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let base = format!("http://127.0.0.1:{port}");
    for (k, v) in [
        ("provider", "custom".to_owned()),
        ("client-id", "client".to_owned()),
        ("token-url", format!("{base}/token")),
        ("device-url", format!("{base}/device")),
        ("scope", "s offline_access".to_owned()),
        ("smtp", "127.0.0.1:587".to_owned()),
        ("admin-address", ADMIN.to_owned()),
        ("oauth", "on".to_owned()),
    ] {
        assert!(tool(&["config", "set", k, &v]).status.success(), "{k}");
    }
    for (lang, word) in [("en", "failed"), ("fr", "échec")] {
        let o = tool(&["--lang", lang, "login", "--admin"]);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("127.0.0.1:{port}"))
                && err.contains(word)
                && err.contains("E407"),
            "{err}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Issue 17 ("progress for every wait"): the refresh grant a job runs
/// shows each failed attempt with its endpoint and delay, as the sign-in
/// does (here the token endpoint answers every refresh with 503).
#[test]
fn a_job_s_refresh_grant_shows_each_attempt_and_its_endpoint() {
    use mfp_oauth_core::function::Function;
    use mfp_oauth_core::mailer::Plan;
    use mfp_oauth_host::app::job::{self, JobEvent, JobSpec};
    use mfp_oauth_host::sim::smtp::SmtpConfig;
    use mfp_oauth_host::sim::{SimConfig, World};

    let w = World::start(SimConfig::default(), SmtpConfig::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("mfp-progress-{}-job", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let open = || {
        let clock: Arc<dyn Clock> = Arc::new(w.clock.clone());
        Device::open(&dir, clock, w.tls_settings()).unwrap()
    };
    let mut dev = open();
    let mut s = dev.mailer.settings().clone();
    w.configure(&mut s, ADMIN);
    dev.apply_settings(s).unwrap();
    let sim = w.sim.clone();
    let t = signin::sign_in(
        &dev,
        AuthMethod::DeviceCode,
        &Address::parse(ADMIN).unwrap(),
        &mut |p| {
            if let Prompt::DeviceCode(d) = p {
                sim.approve_device(&d.user_code, ADMIN);
            }
        },
        &mut |_| {},
    )
    .unwrap();
    dev.acquire(None, &t).unwrap();
    drop(t);
    // Power cycle: no access token in RAM, so the job refreshes.
    drop(dev);
    let mut dev = open();
    w.sim.configure(|c| c.refresh_unavailable = true);
    let to = [Address::parse("carol@fabrikam.test").unwrap()];
    let spec = JobSpec {
        function: Function::ScanToEmail,
        user: None,
        from: None,
        to: &to,
        size: None,
    };
    let mut body: &[u8] = b"Subject: x\r\n\r\nbody\r\n";
    let mut no_sign_in = |_: &Device, _: bool, _: AuthMethod, _: &Address| {
        Err(FlowError::Failed(Id::AdminTokenRequired))
    };
    let mut events = Vec::new();
    let report = job::run(&mut dev, &spec, &mut body, &mut no_sign_in, &mut |e| {
        events.push(e.clone())
    })
    .unwrap();
    assert_eq!(
        report.result,
        Plan::Failed {
            diag: Id::ProviderUnavailable
        },
        "{events:?}"
    );
    let endpoint = format!("127.0.0.1:{}", w.provider.port());
    let contacted: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            JobEvent::RefreshContacting(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(contacted, [&endpoint]);
    let retries: Vec<Retry> = events
        .iter()
        .filter_map(|e| match e {
            JobEvent::RefreshRetrying {
                endpoint,
                attempt,
                error,
                delay,
            } => Some(Retry {
                endpoint: endpoint.clone(),
                attempt: *attempt,
                error: *error,
                delay: *delay,
            }),
            _ => None,
        })
        .collect();
    assert_every_attempt_shown(&endpoint, &retries, Id::ProviderUnavailable);
    let _ = std::fs::remove_dir_all(dir);
}
