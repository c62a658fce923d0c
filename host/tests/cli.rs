//! The `mfp-oauth` binary against the in-process simulator (R-CLI): every
//! subcommand, and the demo itself.

use mfp_oauth_core::token::WallTime;
use mfp_oauth_core::Duration;
use mfp_oauth_host::sim::smtp::SmtpConfig;
use mfp_oauth_host::sim::{SimConfig, World};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_mfp-oauth");
const ADMIN: &str = "admin@contoso.test";

struct Env {
    w: World,
    dir: PathBuf,
    ca: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn env(name: &str) -> Env {
    let w = World::start(
        SimConfig {
            device_interval_s: 1,
            ..SimConfig::default()
        },
        SmtpConfig::default(),
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("mfp-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, w.pki.ca_pem()).unwrap();
    Env { w, dir, ca }
}

impl Env {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--store")
            .arg(self.dir.join("state"))
            .arg("--ca-file")
            .arg(&self.ca)
            .args(args)
            .env("LANG", "C");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?} failed:\n{}\n{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        text(&o.stdout)
    }

    /// Configure a printer pointing at the simulator.
    fn configure(&self) {
        for (k, v) in self
            .w
            .config_set_pairs(ADMIN, "https://outlook.office.com/SMTP.Send offline_access")
        {
            self.ok(&["config", "set", k, &v]);
        }
    }

    /// Run `args` while the simulated user approves every device code for
    /// `account`.
    fn with_approval(&self, account: &str, args: &[&str]) -> Output {
        let done = Arc::new(AtomicBool::new(false));
        let (sim, flag, who) = (self.w.sim.clone(), Arc::clone(&done), account.to_owned());
        let approver = std::thread::spawn(move || {
            for _ in 0..3000 {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                for code in sim.pending_user_codes() {
                    sim.approve_device(&code, &who);
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        });
        let out = self.cmd(args).stdin(Stdio::null()).output().unwrap();
        done.store(true, Ordering::SeqCst);
        approver.join().unwrap();
        out
    }

    fn login_admin(&self) -> String {
        let o = self.with_approval(ADMIN, &["login", "--admin"]);
        assert!(
            o.status.success(),
            "{}\n{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        text(&o.stdout)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn file(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn help_reads_like_a_manual() {
    // English whatever the machine's locale: --help follows LANG.
    let o = Command::new(BIN)
        .arg("--help")
        .env("LANG", "C")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .output()
        .unwrap();
    let h = text(&o.stdout);
    for cmd in [
        "demo",
        "login",
        "send",
        "tokens",
        "power-cycle",
        "logout",
        "config",
        "doctor",
        "diag",
    ] {
        assert!(h.contains(cmd), "--help lacks {cmd}");
    }
    assert!(h.contains("mfp-oauth demo"));
    let s = text(
        &Command::new(BIN)
            .args(["send", "--help"])
            .output()
            .unwrap()
            .stdout,
    );
    assert!(s.contains("--function") && s.contains("FILE"));
}

// R-CFG / R-RULE: config set, show, check with diagnostics.
#[test]
fn config_set_show_and_check() {
    let e = env("config");
    let check = e.run(&["config", "check"]);
    assert!(!check.status.success());
    e.configure();
    let show = e.ok(&["config", "show"]);
    assert!(
        show.contains(&format!(
            "smtp                 127.0.0.1:{} starttls",
            e.w.smtp.port()
        )),
        "{show}"
    );
    assert!(show.contains("oauth                on"));
    // R-RULE-1: VLAN on network 2 with OAuth on is refused, with its diagnostic.
    let vlan = e.run(&["config", "set", "vlan", "on"]);
    assert!(!vlan.status.success());
    assert!(
        text(&vlan.stderr).contains("VLAN"),
        "{}",
        text(&vlan.stderr)
    );
    let check = e.run(&["config", "check"]);
    let out = text(&check.stdout);
    assert!(out.contains("✔ R-RULE-1"), "{out}");
    // Rules pass, but the administrator's token is still Required (R-RULE-5).
    assert!(!check.status.success());
    assert!(
        out.contains("E205") || out.contains("AdminTokenRequired"),
        "{out}"
    );
    let bad = e.run(&["config", "set", "no-such-key", "x"]);
    assert_eq!(bad.status.code(), Some(2));
    // R-APP: the refresh margin, 600 s by default, kept across a restart
    // (the image), refused outside 60..1800 s with its diagnostic.
    assert!(show.contains("refresh-margin       600"), "{show}");
    e.ok(&["config", "set", "refresh-margin", "900"]);
    let show = e.ok(&["config", "show"]);
    assert!(show.contains("refresh-margin       900"), "{show}");
    for v in ["30", "1801"] {
        let out = e.run(&["config", "set", "refresh-margin", v]);
        assert!(!out.status.success(), "{v}");
        assert!(text(&out.stderr).contains("E215"), "{}", text(&out.stderr));
    }
    let out = e.run(&["config", "set", "refresh-margin", "ten"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("60 to 1800"),
        "{}",
        text(&out.stderr)
    );
    assert!(e
        .ok(&["config", "show"])
        .contains("refresh-margin       900"));
}

// R-CLI: login (device code with QR), send, tokens, power-cycle, logout, doctor.
#[test]
fn login_send_tokens_logout_doctor() {
    let e = env("flow");
    e.configure();
    let login = e.login_admin();
    assert!(login.contains("enter the code"), "{login}");
    assert!(login.contains('█'), "no QR code:\n{login}");
    assert!(login.contains("refresh token: Acquired"), "{login}");
    assert!(e.ok(&["config", "check"]).contains("ready to send"));

    let pdf = file(&e.dir, "scan.pdf", b"%PDF-1.7 fake scan\n");
    let sent = e.ok(&[
        "send",
        "--function",
        "scan-to-email",
        "--to",
        "carol@fabrikam.test",
        &pdf,
    ]);
    assert!(sent.contains("server: 250 2.0.0"), "{sent}");
    let m = e.w.sim.messages();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].from, ADMIN);
    assert!(String::from_utf8_lossy(&m[0].data).contains("Content-Type: application/pdf"));

    // A user in "login user address" mode: refused without a token, then signs in.
    e.ok(&["config", "set", "sender-mode", "login-user"]);
    e.ok(&["config", "set", "auto-delete", "on"]);
    let args = [
        "send",
        "--function",
        "scan-to-me",
        "--user",
        "alice",
        "--user-address",
        "alice@contoso.test",
        "--to",
        "alice@contoso.test",
        pdf.as_str(),
    ];
    let refused = e.run(&args);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("E211"),
        "{}",
        text(&refused.stderr)
    );
    let mut with_sign_in = args.to_vec();
    with_sign_in.push("--sign-in");
    let o = e.with_approval("alice@contoso.test", &with_sign_in);
    assert!(
        o.status.success(),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert_eq!(
        e.w.sim.messages().last().unwrap().account,
        "alice@contoso.test"
    );

    let list = e.ok(&["tokens", "list"]);
    assert!(
        list.contains("user alice") && list.contains("Acquired"),
        "{list}"
    );
    let pc = e.ok(&["power-cycle"]);
    assert!(
        pc.contains("access tokens in memory after restart: 0"),
        "{pc}"
    );
    assert!(e.ok(&["logout", "alice"]).contains("deleted"));
    assert!(!e.ok(&["tokens", "list"]).contains("alice"));

    let doc = e.ok(&["doctor"]);
    assert!(
        doc.contains("TLS")
            && doc.contains("XOAUTH2 OAUTHBEARER")
            && doc.contains("token accepted"),
        "{doc}"
    );
    e.w.sim.set_smtp_auth_disabled(ADMIN, true);
    let doc = e.run(&["--lang", "fr", "doctor"]);
    assert!(!doc.status.success());
    let out = text(&doc.stdout);
    assert!(
        out.contains("E305") && out.contains("SMTP authentifié"),
        "{out}"
    );
}

#[test]
fn tokens_delete_and_unknown_user() {
    let e = env("tokens");
    e.configure();
    e.ok(&["config", "set", "sender-mode", "login-user"]);
    let o = e.with_approval(
        "bob@contoso.test",
        &["login", "--user", "bob", "--account", "bob@contoso.test"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(e.ok(&["tokens", "list"]).contains("user bob"));
    let unknown = e.run(&["tokens", "delete", "nobody"]);
    assert!(!unknown.status.success());
    assert!(e.ok(&["tokens", "delete", "--all"]).contains("deleted"));
    assert!(!e.ok(&["tokens", "list"]).contains("user bob"));
}

#[test]
fn diag_in_french() {
    let o = Command::new(BIN)
        .args(["--lang", "fr", "diag", "305"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(text(&o.stdout).contains("SMTP authentifié"));
    assert_eq!(
        Command::new(BIN)
            .args(["diag", "999"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

// The README's main command: the whole story, exit 0.
#[test]
fn demo_tells_the_story_and_exits_zero() {
    let o = Command::new(BIN).arg("demo").output().unwrap();
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}");
    for needle in [
        "enter the code",
        "Scan to E-mail",
        "rotated",
        "Power cycle",
        "logs out",
        "5.7.139",
        "E305",
        "checks passed",
    ] {
        assert!(out.contains(needle), "demo output lacks {needle:?}");
    }
    assert!(
        !out.contains("sim-at-") && !out.contains("sim-rt-"),
        "a token reached the output"
    );
}

#[test]
fn demo_json_events() {
    let o = Command::new(BIN).args(["demo", "--json"]).output().unwrap();
    assert!(o.status.success());
    let events: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = events.last().unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(last["ok"], true);
    assert!(events
        .iter()
        .any(|e| e["type"] == "diagnostic" && e["id"] == 305));
    assert!(events.iter().filter(|e| e["type"] == "check").count() >= 20);
    let _ = Duration::from_secs(0);
}

// R-OAUTH: `login --browser`: PKCE with the loopback listener; the test plays
// the browser with the URL the tool prints.
#[test]
fn login_with_the_browser_flow() {
    use std::io::{BufRead, BufReader};
    let e = env("pkce");
    e.configure();
    let mut child = e
        .cmd(&["login", "--admin", "--browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.starts_with("https://"))
        .expect("the tool prints the authorize URL");
    assert!(
        url.contains("code_challenge_method=S256")
            && url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{url}"
    );
    let status = mfp_oauth_host::sim::browser::sign_in(&url, &e.w.tls_settings()).unwrap();
    assert_eq!(status, 200);
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(child.wait().unwrap().success());
    assert!(
        rest.iter().any(|l| l.contains("refresh token: Acquired")),
        "{rest:?}"
    );
}

// R-LOG (issue 17 item 1): `config set` of a secret setting echoes that it
// was set, never the value; `config show` neither, in either language.
#[test]
fn config_set_and_show_never_print_a_secret_setting() {
    let e = env("secret-echo");
    e.ok(&["config", "set", "proxy", "127.0.0.1:3128"]);
    e.ok(&["config", "set", "proxy-user", "mfp"]);
    for lang in ["en", "fr"] {
        let o = e.run(&[
            "--lang",
            lang,
            "config",
            "set",
            "proxy-password",
            "S3cretPW",
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
        assert!(!out.contains("S3cretPW"), "{out}");
        assert!(out.contains("proxy-password = ("), "{out}");
        let show = e.ok(&["--lang", lang, "config", "show"]);
        assert!(!show.contains("S3cretPW"), "{show}");
        let set = if lang == "fr" {
            "utilisateur mfp (mot de passe défini)"
        } else {
            "user mfp (password set)"
        };
        assert!(show.contains(set), "{show}");
    }
    assert!(e
        .ok(&[
            "--lang",
            "fr",
            "config",
            "set",
            "proxy-password",
            "S3cretPW"
        ])
        .contains("non affiché"));
}

// Issue 17 item 10: a new proxy address keeps the proxy's user and
// password (the next send must not meet a 407), and says so.
#[test]
fn config_set_proxy_keeps_the_proxy_login() {
    let e = env("proxy-keep");
    e.ok(&["config", "set", "proxy", "127.0.0.1:3128"]);
    e.ok(&["config", "set", "proxy-user", "mfp"]);
    e.ok(&["config", "set", "proxy-password", "S3cretPW"]);
    let moved = e.ok(&["config", "set", "proxy", "127.0.0.2:8080"]);
    assert!(moved.contains("kept"), "{moved}");
    let show = e.ok(&["config", "show"]);
    assert!(
        show.contains("proxy                127.0.0.2:8080 user mfp (password set)"),
        "{show}"
    );
    // `none` still removes the proxy with its login.
    e.ok(&["config", "set", "proxy", "none"]);
    e.ok(&["config", "set", "proxy", "127.0.0.1:3128"]);
    let show = e.ok(&["config", "show"]);
    assert!(
        show.contains("proxy                127.0.0.1:3128\n"),
        "{show}"
    );
}

// Issue 17 item 11: E209's remedy names the send-as list; `config set
// send-as` edits it (replace, add, remove, clear) and `config show` shows it.
#[test]
fn config_set_send_as_edits_the_list() {
    let e = env("send-as");
    let help = text(
        &Command::new(BIN)
            .args(["config", "set", "--help"])
            .output()
            .unwrap()
            .stdout,
    );
    assert!(help.contains("send-as"), "{help}");
    e.ok(&[
        "config",
        "set",
        "send-as",
        "scans@contoso.test, desk@contoso.test",
    ]);
    let line = |e: &Env| {
        e.ok(&["config", "show"])
            .lines()
            .find(|l| l.starts_with("send-as "))
            .map(str::to_owned)
            .unwrap()
    };
    assert!(
        line(&e).ends_with(" scans@contoso.test,desk@contoso.test"),
        "{}",
        line(&e)
    );
    e.ok(&["config", "set", "send-as", "+front@contoso.test"]);
    e.ok(&["config", "set", "send-as", "-SCANS@contoso.test"]);
    assert!(
        line(&e).ends_with(" desk@contoso.test,front@contoso.test"),
        "{}",
        line(&e)
    );
    let missing = e.run(&["config", "set", "send-as", "-nobody@contoso.test"]);
    assert_eq!(missing.status.code(), Some(2));
    let bad = e.run(&["config", "set", "send-as", "not an address"]);
    assert_eq!(bad.status.code(), Some(2));
    e.ok(&["config", "set", "send-as", "none"]);
    assert!(line(&e).ends_with(" (none)"), "{}", line(&e));
}

// Issue 17 item 9: a reader that goes away (`mfp-oauth diag | head -1`)
// ends the output, not the process: no panic, a normal exit. The read end
// of the pipe is closed before the tool writes its first line.
#[test]
fn output_to_a_closed_pipe_exits_normally() {
    for args in [&["diag"][..], &["diag", "305"], &["--lang", "fr", "diag"]] {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {:?} {}",
            o.status,
            text(&o.stderr)
        );
        assert!(!text(&o.stderr).contains("panicked"), "{}", text(&o.stderr));
    }
    // The same for stderr (an error message to a closed pipe).
    let mut child = Command::new(BIN)
        .args(["diag", "999"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(2));
}

fn slot_files(e: &Env) -> Vec<PathBuf> {
    ["slot-a.bin", "slot-b.bin"]
        .iter()
        .map(|n| e.dir.join("state").join(n))
        .filter(|p| p.exists())
        .collect()
}

// Issue 15 defect 6 (R-NV): the newest image damaged (one flipped octet),
// the older one good: the tool starts from the previous settings and says
// so (E511) once; the restored state is written again over the damaged
// slot, so the next start is quiet.
#[test]
fn a_damaged_newest_image_restores_the_previous_settings_with_a_notice() {
    let e = env("newest-damaged");
    e.configure();
    let auto_delete = |show: &str| {
        show.lines()
            .find(|l| l.starts_with("auto-delete"))
            .map(|l| l.split_whitespace().last().unwrap_or("").to_owned())
    };
    let before = auto_delete(&e.ok(&["config", "show"])).unwrap();
    let flipped = if before == "on" { "off" } else { "on" };
    e.ok(&["config", "set", "auto-delete", flipped]);
    assert_eq!(auto_delete(&e.ok(&["config", "show"])).unwrap(), flipped);
    // The newest slot: the higher sequence number (octets 8..12).
    let seq = |p: &PathBuf| {
        let b = std::fs::read(p).unwrap();
        u32::from_le_bytes(b[8..12].try_into().unwrap())
    };
    let slots = slot_files(&e);
    assert_eq!(slots.len(), 2, "both slots hold an image");
    let newest = slots.iter().max_by_key(|p| seq(p)).unwrap();
    let mut b = std::fs::read(newest).unwrap();
    let last = b.len() - 1;
    b[last] ^= 0x01;
    std::fs::write(newest, b).unwrap();

    let o = e.run(&["config", "show"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("E511") && err.contains("the previous ones were restored"),
        "{err}"
    );
    assert_eq!(auto_delete(&text(&o.stdout)).unwrap(), before);
    // Shown once: the restored state was written over the damaged slot.
    let o = e.run(&["config", "show"]);
    assert!(o.status.success());
    assert!(!text(&o.stderr).contains("E511"), "{}", text(&o.stderr));
    assert_eq!(auto_delete(&text(&o.stdout)).unwrap(), before);
    let fr = e.run(&["--lang", "fr", "config", "show"]);
    assert!(!text(&fr.stderr).contains("E511"));
}

// Issue 17 item 8: a damaged image (a flipped byte in every slot: nothing
// loads) no longer locks the tool: the failure names the way out, and
// `reset` (confirmed) erases the state, after which every command works.
#[test]
fn a_damaged_store_is_recovered_with_reset() {
    let e = env("damaged");
    e.configure();
    let slots = slot_files(&e);
    assert!(!slots.is_empty());
    for p in &slots {
        let mut b = std::fs::read(p).unwrap();
        let mid = b.len() / 2;
        b[mid] ^= 0x40;
        std::fs::write(p, b).unwrap();
    }
    let show = e.run(&["config", "show"]);
    assert!(!show.status.success());
    let err = text(&show.stderr);
    assert!(
        err.contains("E505") && err.contains("mfp-oauth reset --yes"),
        "{err}"
    );
    // Without a terminal, reset needs --yes; nothing is erased.
    let refused = e.cmd(&["reset"]).stdin(Stdio::null()).output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("--yes"));
    assert!(slots.iter().all(|p| p.exists()));
    let fr = e
        .cmd(&["--lang", "fr", "reset"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(text(&fr.stderr).contains("rien n'a été effacé"));
    let done = e.ok(&["reset", "--yes"]);
    assert!(done.contains("erased"), "{done}");
    assert!(slots.iter().all(|p| !p.exists()));
    assert!(e
        .ok(&["config", "show"])
        .contains("oauth                off"));
    e.ok(&["tokens", "delete", "--all"]);
    e.ok(&["power-cycle"]);
    e.configure();
    assert!(e
        .ok(&["config", "show"])
        .contains("oauth                on"));
}

// Issue 17 item 8: a local file fault (an oversized slot, a directory in
// the place of a slot) is a local-storage diagnostic, not a network one.
#[test]
fn local_file_faults_are_storage_faults_not_network_ones() {
    let e = env("file-fault");
    e.configure();
    let slot = e.dir.join("state").join("slot-a.bin");
    let _ = std::fs::remove_file(&slot);
    std::fs::File::create(&slot)
        .unwrap()
        .set_len(30 * 1024 * 1024)
        .unwrap();
    for lang in ["en", "fr"] {
        let o = e.run(&["--lang", lang, "config", "show"]);
        assert!(!o.status.success());
        let err = text(&o.stderr);
        assert!(err.contains("E510") && !err.contains("E606"), "{err}");
        assert!(
            !err.to_lowercase().contains("network") && !err.contains("réseau"),
            "{err}"
        );
    }
    std::fs::remove_file(&slot).unwrap();
    std::fs::create_dir(&slot).unwrap();
    let o = e.run(&["config", "set", "vlan", "off"]);
    let err = text(&o.stderr);
    assert!(err.contains("E510") && !err.contains("E606"), "{err}");
    e.ok(&["reset", "--yes"]);
    assert!(!slot.exists());
    e.ok(&["config", "show"]);
}

// Issue 17 item 2 (R-PROV): a preset takes the endpoint overrides given to
// `login` (a national cloud, a gateway, a test tenant: here the simulator),
// shows them in `config show` as overrides, and refuses a URL the core
// would not use.
#[test]
fn a_preset_uses_its_endpoint_overrides() {
    let e = env("preset-overrides");
    let p = &e.w.provider;
    for (k, v) in [
        ("smtp", format!("127.0.0.1:{}", e.w.smtp.port())),
        ("admin-address", ADMIN.to_owned()),
        ("oauth", "on".to_owned()),
    ] {
        e.ok(&["config", "set", k, &v]);
    }
    let show = e.ok(&["config", "show"]);
    assert!(
        show.contains("token-url            (preset) https://login.microsoftonline.com/organizations/oauth2/v2.0/token"),
        "{show}"
    );
    let (token, device, authorize) = (
        p.token_endpoint(),
        p.device_endpoint(),
        p.authorize_endpoint(),
    );
    let client_id = e.w.sim.config().client_id;
    let o = e.with_approval(
        ADMIN,
        &[
            "login",
            "--admin",
            "--provider",
            "microsoft",
            "--client-id",
            &client_id,
            "--token-url",
            &token,
            "--device-url",
            &device,
            "--authorize-url",
            &authorize,
        ],
    );
    assert!(
        o.status.success(),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(text(&o.stdout).contains("refresh token: Acquired"));
    let show = e.ok(&["config", "show"]);
    assert!(show.contains("provider             microsoft"), "{show}");
    assert!(
        show.contains(&format!(
            "token-url            {token} (overrides the microsoft preset)"
        )) && show.contains(&format!(
            "device-url           {device} (overrides the microsoft preset)"
        )),
        "{show}"
    );
    assert!(e
        .ok(&["--lang", "fr", "config", "show"])
        .contains("(remplace le préréglage microsoft)"));
    // The token went where the override says: a send refreshes there.
    let pdf = file(&e.dir, "scan.pdf", b"%PDF-1.7 fake scan\n");
    let sent = e.ok(&["send", "--to", "carol@fabrikam.test", &pdf]);
    assert!(sent.contains("server: 250"), "{sent}");
    // A URL the core would not use is refused where it is typed.
    let bad = e.run(&["config", "set", "token-url", "http://gateway.example/token"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("https://host"),
        "{}",
        text(&bad.stderr)
    );
    // `none` gives the preset's endpoint back.
    e.ok(&["config", "set", "token-url", "none"]);
    assert!(e
        .ok(&["config", "show"])
        .contains("token-url            (preset) https://login.microsoftonline.com/"));
}

/// Issue 17 item 5 (R-ACCT): the code approved as another mailbox than the
/// administrator address is refused at login, naming both addresses (no
/// `535` later); the account that signed in is what login and `tokens
/// list` show, verified or not.
#[test]
fn login_shows_the_account_that_signed_in_and_refuses_another() {
    let e = env("account");
    for (k, v) in e.w.config_set_pairs(
        ADMIN,
        "https://outlook.office.com/SMTP.Send offline_access openid profile",
    ) {
        e.ok(&["config", "set", k, &v]);
    }
    let other = "mailbox@contoso.test";
    let o = e.with_approval(other, &["login", "--admin"]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!(
            "the account that signed in is {other}, but this token is for {ADMIN}"
        )) && err.contains("E436"),
        "{err}"
    );
    assert!(!text(&o.stdout).contains("signed in as"));
    let list = e.ok(&["tokens", "list"]);
    assert!(list.contains("Required") && !list.contains(other), "{list}");
    let fr = e.with_approval(other, &["--lang", "fr", "login", "--admin"]);
    assert!(
        text(&fr.stderr).contains(&format!(
            "le compte qui s'est connecté est {other}, mais ce jeton est destiné à {ADMIN}"
        )),
        "{}",
        text(&fr.stderr)
    );

    // The right account: shown as the one that signed in, verified.
    let login = e.login_admin();
    assert!(
        login.contains(&format!("signed in as {ADMIN}; refresh token: Acquired")),
        "{login}"
    );
    let list = e.ok(&["tokens", "list"]);
    assert!(list.contains(&format!("{ADMIN} (verified)")), "{list}");
    let pdf = file(&e.dir, "scan.pdf", b"%PDF-1.7 fake scan\n");
    assert!(e
        .ok(&["send", "--to", "carol@fabrikam.test", &pdf])
        .contains("server: 250"));

    // A provider that names no account (no `openid` asked): today's
    // behaviour, said to be unverified.
    e.ok(&[
        "config",
        "set",
        "scope",
        "https://outlook.office.com/SMTP.Send offline_access",
    ]);
    let login = e.login_admin();
    assert!(
        login.contains(&format!(
            "signed in as {ADMIN} (unverified: the provider did not name the account); refresh token: Acquired"
        )),
        "{login}"
    );
    assert!(e
        .ok(&["tokens", "list"])
        .contains(&format!("{ADMIN} (unverified)")));
}

/// Issue 17 item 4: Google allows no Gmail scope in the device flow and
/// says so (`invalid_scope`, "Invalid device flow scope: …"). The CLI shows
/// Google's own words and E415 with the browser sign-in, not E406 (whose
/// remedy names the very scope refused); the browser sign-in then works.
#[test]
fn google_refusing_the_device_flow_scope_points_to_the_browser_sign_in() {
    use std::io::{BufRead, BufReader};
    let e = env("google-device-scope");
    let p = &e.w.provider;
    for (k, v) in [
        ("smtp", format!("127.0.0.1:{}", e.w.smtp.port())),
        ("admin-address", ADMIN.to_owned()),
        ("oauth", "on".to_owned()),
        ("webdav-http", "2".to_owned()),
    ] {
        e.ok(&["config", "set", k, &v]);
    }
    let client_id = e.w.sim.config().client_id;
    let (token, device, authorize) = (
        p.token_endpoint(),
        p.device_endpoint(),
        p.authorize_endpoint(),
    );
    let o = e.run(&[
        "login",
        "--admin",
        "--provider",
        "google",
        "--client-id",
        &client_id,
        "--token-url",
        &token,
        "--device-url",
        &device,
        "--authorize-url",
        &authorize,
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the provider said: Invalid device flow scope: https://mail.google.com/"),
        "{err}"
    );
    assert!(err.contains("E415 DeviceFlowNotSupported"), "{err}");
    assert!(!err.contains("E406"), "{err}");
    assert!(
        err.contains("Sign in with the browser instead: mfp-oauth login --browser"),
        "{err}"
    );
    let fr = e.run(&["--lang", "fr", "login", "--admin"]);
    let err = text(&fr.stderr);
    assert!(
        err.contains(
            "le fournisseur a répondu : Invalid device flow scope: https://mail.google.com/"
        ) && err.contains("mfp-oauth login --browser (avec les mêmes options)"),
        "{err}"
    );
    // What it suggests works.
    let mut child = e
        .cmd(&["login", "--admin", "--browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.starts_with("https://"))
        .expect("the tool prints the authorize URL");
    assert!(
        url.contains("scope=https%3A%2F%2Fmail.google.com%2F"),
        "{url}"
    );
    let status = mfp_oauth_host::sim::browser::sign_in(&url, &e.w.tls_settings()).unwrap();
    assert_eq!(status, 200);
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(child.wait().unwrap().success(), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("refresh token: Acquired")),
        "{rest:?}"
    );
}

/// Issue 18 item 4: a tenant whose Conditional Access blocks the device
/// code flow (AADSTS53003 on the device-code poll). The CLI shows the
/// provider's words and E437, whose remedy names the other sign-in modes,
/// not the generic E405, and suggests the browser sign-in.
#[test]
fn a_tenant_blocking_the_device_code_flow_gets_e437_and_the_other_modes() {
    let e = env("device-flow-blocked");
    e.configure();
    e.w.sim.configure(|c| c.device_flow_blocked = true);
    let o = e.with_approval(ADMIN, &["login", "--admin"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "the provider said: AADSTS53003: Access has been blocked by Conditional Access"
        ),
        "{err}"
    );
    assert!(err.contains("E437 DeviceCodeFlowBlocked"), "{err}");
    assert!(!err.contains("E405"), "{err}");
    for mode in ["browser sign-in", "app-only", "print-management server"] {
        assert!(err.contains(mode), "{mode}: {err}");
    }
    assert!(
        err.contains("Sign in with the browser instead: mfp-oauth login --browser"),
        "{err}"
    );
    assert!(!e.ok(&["tokens", "list"]).contains("Acquired"));
}

/// Issue 17 ("progress for every wait"): `send`'s own refresh grant is
/// shown as a sign-in is: when it fails, the endpoint and the provider's
/// words come before the diagnostic (each retry is the same line as at
/// sign-in: `progress.rs`).
#[test]
fn a_refused_refresh_at_send_names_the_endpoint_and_the_provider_s_words() {
    let e = env("send-refresh-refused");
    e.configure();
    e.login_admin();
    e.w.sim.configure(|c| c.refresh_refused = Some(65_001));
    let pdf = file(&e.dir, "scan.pdf", b"%PDF-1.7 fake scan\n");
    let o = e.run(&["send", "--to", "carol@fabrikam.test", &pdf]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{}: failed", e.w.provider.port())),
        "{err}"
    );
    assert!(
        err.contains("the provider said: AADSTS65001: The user or administrator has not consented"),
        "{err}"
    );
    assert!(err.contains("E402 ConsentMissing"), "{err}");
}

/// Issue 17 item 6 (R-SMTP): a non-ASCII recipient and a server without
/// SMTPUTF8: the job is refused before MAIL with E331, nothing is sent, and
/// no earlier reply of the server (the `235` to AUTH) is shown as if it
/// had decided the job.
#[test]
fn a_non_ascii_recipient_without_smtputf8_is_refused_before_mail() {
    let e = env("smtputf8");
    e.configure();
    e.login_admin();
    let pdf = file(&e.dir, "scan.pdf", b"%PDF-1.7 fake scan\n");
    let o = e.run(&["send", "--to", "jörg.müller@fabrikam.test", &pdf]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(err.contains("E331 Smtputf8NotOffered"), "{err}");
    assert!(!out.contains("server: 235"), "{out}");
    assert!(e.w.sim.messages().is_empty());
    assert!(e.w.sim.requests().iter().all(|r| !r.contains("MAIL FROM")));
}

/// Issue 18 item 5: a provider that says how long its refresh tokens live
/// (`refresh_token_expires_in`, Google's time-based access). `tokens list`
/// shows the day the administrator's refresh token dies: the provider's
/// three days, earlier than 90 days unused.
#[test]
fn tokens_list_shows_the_refresh_token_death_date_the_provider_gave() {
    let e = env("refresh-token-lifetime");
    e.configure();
    e.w.sim
        .configure(|c| c.refresh_token_lifetime = Some(Duration::from_secs(3 * 86_400)));
    let day = |offset: u64| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let (y, m, d) = WallTime(now + offset).date();
        format!("{y:04}-{m:02}-{d:02}")
    };
    let before = day(3 * 86_400);
    e.login_admin();
    let after = day(3 * 86_400);
    let list = e.ok(&["tokens", "list"]);
    assert!(
        list.contains(&format!("refresh token until {before}"))
            || list.contains(&format!("refresh token until {after}")),
        "{list}"
    );
    let fr = e.ok(&["--lang", "fr", "tokens", "list"]);
    assert!(fr.contains("jeton d'actualisation jusqu'au 2"), "{fr}");
}

/// Issue 18 item 3, R-APP: a print-management server hands in an access
/// token (its token endpoint's answer, in a file) and the job sends with
/// it, nobody signing in at the printer. The token is never written to the
/// printer's state; an expired one is refused with E513; a bare token needs
/// its lifetime.
#[test]
fn send_with_a_token_handed_in_by_a_print_management_server() {
    let e = env("handed-token");
    e.configure();
    let client_id = e.w.sim.config().client_id;
    let (access, _, life) = e.w.sim.issue(
        ADMIN,
        &client_id,
        "https://outlook.office.com/SMTP.Send offline_access",
    );
    let answer = file(
        &e.dir,
        "handed.json",
        format!(r#"{{"token_type":"Bearer","expires_in":{life},"access_token":"{access}"}}"#)
            .as_bytes(),
    );
    let pdf = file(&e.dir, "scan.pdf", b"%PDF-1.7 handed-in scan\n");
    let out = e.ok(&[
        "send",
        "--handed-token",
        &answer,
        "--to",
        "carol@fabrikam.test",
        &pdf,
    ]);
    assert!(
        out.contains(&format!(
            "handed-in access token for {ADMIN}, valid {life} s"
        )) && out.contains("server: 250"),
        "{out}"
    );
    assert!(!out.contains(&access), "the token is never shown");
    // Nothing of it is kept: the administrator's slot is still Required,
    // and no file of the printer's state holds the token.
    assert!(e.ok(&["tokens", "list"]).contains("Required"));
    for entry in std::fs::read_dir(&e.dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && !path.ends_with("handed.json") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(access.len()).any(|w| w == access.as_bytes()),
                "{} holds the token",
                path.display()
            );
        }
    }
    // Already expired: E513, nothing sent.
    let o = e.run(&[
        "send",
        "--handed-token",
        &answer,
        "--handed-expires-in",
        "0",
        "--to",
        "carol@fabrikam.test",
        &pdf,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("E513 HandedTokenExpired"),
        "{}",
        text(&o.stderr)
    );
    // A bare token without its lifetime: said so, exit 2.
    let bare = file(&e.dir, "bare.txt", access.as_bytes());
    let o = e.run(&[
        "send",
        "--handed-token",
        &bare,
        "--to",
        "carol@fabrikam.test",
        &pdf,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--handed-expires-in"),
        "{}",
        text(&o.stderr)
    );
}

/// The test key and certificate of the app-only tests (registered nowhere).
fn test_key(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Issue 18 items 1 and 6, R-APP: `login --app-only` with a certificate.
/// The provider (here a Microsoft preset whose token endpoint is the
/// simulated one) checks the assertion's RS256 signature with the
/// certificate's public key; the token sends a scan with no one signed in;
/// the key is kept mode 0600 and never printed.
#[test]
fn login_app_only_with_a_certificate_then_send() {
    use mfp_oauth_host::signer::RsaSigner;
    let e = env("app-only");
    let key = test_key("TEST-ONLY-app-key.pem");
    let public = RsaSigner::from_file(&key)
        .unwrap()
        .public_key_der()
        .to_vec();
    e.w.sim.configure(|c| {
        c.app_public_key = Some(public.clone());
        c.app_mailbox = ADMIN.to_owned();
    });
    let client_id = e.w.sim.config().client_id;
    for (k, v) in [
        ("provider", "microsoft".to_owned()),
        ("client-id", client_id),
        ("token-url", e.w.provider.token_endpoint()),
        ("smtp", format!("127.0.0.1:{}", e.w.smtp.port())),
        ("admin-address", ADMIN.to_owned()),
        ("oauth", "on".to_owned()),
    ] {
        e.ok(&["config", "set", k, &v]);
    }
    let out = e.ok(&[
        "login",
        "--app-only",
        "--key",
        key.to_str().unwrap(),
        "--certificate",
        test_key("TEST-ONLY-app-cert.pem").to_str().unwrap(),
    ]);
    assert!(
        out.contains(&format!("app-only sign-in works for {ADMIN}")),
        "{out}"
    );
    let show = e.ok(&["config", "show"]);
    assert!(
        show.contains("admin-sign-in        app-certificate"),
        "{show}"
    );
    let pem = std::fs::read_to_string(&key).unwrap();
    let body = pem.lines().nth(1).unwrap();
    assert!(
        !out.contains(body) && !show.contains(body),
        "the key is never printed"
    );
    let kept = e.dir.join("state").join("app-key.pem");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A job gets its own token the same way and sends.
    let pdf = file(&e.dir, "scan.pdf", b"%PDF-1.7 app-only scan\n");
    let sent = e.ok(&["send", "--to", "carol@fabrikam.test", &pdf]);
    assert!(sent.contains("server: 250"), "{sent}");
    // Another key: the provider refuses the signature, the job says so
    // with its own diagnostic, and no one is asked to sign in.
    std::fs::write(
        &kept,
        std::fs::read(test_key("TEST-ONLY-app-key-pkcs1.pem")).unwrap(),
    )
    .ok();
    e.w.sim
        .configure(|c| c.app_public_key = Some(vec![0x30, 0x00]));
    let o = e.run(&["send", "--to", "carol@fabrikam.test", &pdf]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("E441"), "{err}");
}

/// Issue 18 items 2 and 6, R-APP: `login --service-account KEY.json`, a
/// Google Workspace service account acting for the administrator's mailbox.
#[test]
fn login_with_a_service_account_then_send() {
    use mfp_oauth_host::signer::RsaSigner;
    let e = env("service-account");
    let key = test_key("TEST-ONLY-app-key.pem");
    let public = RsaSigner::from_file(&key)
        .unwrap()
        .public_key_der()
        .to_vec();
    e.w.sim
        .configure(|c| c.app_public_key = Some(public.clone()));
    let client_id = e.w.sim.config().client_id;
    for (k, v) in [
        ("provider", "google".to_owned()),
        ("webdav-http", "2".to_owned()),
        ("client-id", client_id),
        ("token-url", e.w.provider.token_endpoint()),
        ("smtp", format!("127.0.0.1:{}", e.w.smtp.port())),
        ("admin-address", ADMIN.to_owned()),
        ("oauth", "on".to_owned()),
    ] {
        e.ok(&["config", "set", k, &v]);
    }
    let json = serde_json::json!({
        "type": "service_account",
        "client_email": "mfp-sender@contoso-mfp.iam.gserviceaccount.com",
        "private_key_id": "k1",
        "private_key": std::fs::read_to_string(&key).unwrap(),
    });
    let key_file = file(&e.dir, "sa.json", json.to_string().as_bytes());
    let out = e.ok(&["login", "--service-account", &key_file]);
    assert!(
        out.contains(&format!("app-only sign-in works for {ADMIN}")),
        "{out}"
    );
    assert!(e
        .ok(&["config", "show"])
        .contains("service-account      mfp-sender@contoso-mfp.iam.gserviceaccount.com"));
    let pdf = file(&e.dir, "scan.pdf", b"%PDF-1.7 service-account scan\n");
    assert!(e
        .ok(&["send", "--to", "carol@fabrikam.test", &pdf])
        .contains("server: 250"));
}

/// Issue 18 items 1 and 6, R-APP: `login --app-only --secret-file`, the
/// app's client secret sealed in the printer's state and never shown; a
/// wrong secret is the secret's own diagnostic (E442).
#[test]
fn login_app_only_with_a_client_secret_then_send() {
    const SECRET: &str = "Qx8~sim-app-secret-7f3a";
    let e = env("app-secret");
    e.w.sim.configure(|c| {
        c.app_secret = Some(SECRET.to_owned());
        c.app_mailbox = ADMIN.to_owned();
    });
    let client_id = e.w.sim.config().client_id;
    for (k, v) in [
        ("provider", "microsoft".to_owned()),
        ("client-id", client_id),
        ("token-url", e.w.provider.token_endpoint()),
        ("smtp", format!("127.0.0.1:{}", e.w.smtp.port())),
        ("admin-address", ADMIN.to_owned()),
        ("oauth", "on".to_owned()),
    ] {
        e.ok(&["config", "set", k, &v]);
    }
    let secret_file = file(&e.dir, "secret.txt", format!("{SECRET}\n").as_bytes());
    let out = e.ok(&["login", "--app-only", "--secret-file", &secret_file]);
    assert!(
        out.contains(&format!("app-only sign-in works for {ADMIN}")),
        "{out}"
    );
    let show = e.ok(&["config", "show"]);
    assert!(
        show.contains("client-secret        (set, not shown)"),
        "{show}"
    );
    assert!(show.contains("admin-sign-in        app-secret"), "{show}");
    let pdf = file(&e.dir, "scan.pdf", b"%PDF-1.7 app-secret scan\n");
    let sent = e.ok(&["send", "--to", "carol@fabrikam.test", &pdf]);
    assert!(sent.contains("server: 250"), "{sent}");
    // Sealed: not in the state's files in clear.
    for entry in std::fs::read_dir(e.dir.join("state")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
    }
    for text in [&out, &show, &sent] {
        assert!(!text.contains(SECRET));
    }
    // The provider no longer takes it: E442, not E407.
    e.w.sim
        .configure(|c| c.app_secret = Some("rotated".to_owned()));
    let o = e.run(&["send", "--to", "carol@fabrikam.test", &pdf]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("E442"), "{err}");
    assert!(!err.contains(SECRET));
}

/// Issue 19 (R-XPORT): the printer configured for a mail API sends
/// through it, with the same sign-in and job as SMTP, and the SMTP
/// server sees nothing.
fn api_env(name: &str, transport: &str, scope: &str) -> Env {
    let e = env(name);
    for (k, v) in e.w.config_set_pairs(ADMIN, scope) {
        e.ok(&["config", "set", k, &v]);
    }
    // A custom provider needs the API's URL before the transport.
    e.ok(&["config", "set", "api-url", &e.w.api_url()]);
    e.ok(&["config", "set", "transport", transport]);
    if transport == "gmail-api" {
        // No Gmail scope through the device flow: the browser sign-in.
        use std::io::{BufRead, BufReader};
        let mut child = e
            .cmd(&["login", "--admin", "--browser"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = lines
            .by_ref()
            .map(Result::unwrap)
            .find(|l| l.starts_with("https://"))
            .expect("the tool prints the authorize URL");
        assert!(url.contains("gmail.send"), "{url}");
        mfp_oauth_host::sim::browser::sign_in(&url, &e.w.tls_settings()).unwrap();
        let _rest: Vec<String> = lines.map(Result::unwrap).collect();
        assert!(child.wait().unwrap().success());
    } else {
        e.login_admin();
    }
    e
}

/// Graph's permissions asked for: `Mail.Send`, and `Mail.ReadWrite` for
/// the draft and upload sessions of a large message.
const GRAPH_SCOPE: &str =
    "https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.ReadWrite offline_access";

/// The first base64 line of an attachment, as the composer writes it.
fn first_b64_line(content: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(&content[..57])
}

#[test]
fn send_through_graph_and_the_gmail_api() {
    use mfp_oauth_host::sim::api::Api;
    let e = api_env("graph", "graph", GRAPH_SCOPE);
    let scan: Vec<u8> = (0..1024u32).map(|i| (i * 31 % 251) as u8).collect();
    let pdf = file(&e.dir, "scan.pdf", &scan);
    let sent = e.ok(&["send", "--to", "carol@fabrikam.test", &pdf]);
    assert!(sent.contains("202"), "{sent}");
    let d = e.w.sim.api_deliveries();
    assert_eq!(d.len(), 1, "sent once");
    assert_eq!(d[0].api, Api::Graph);
    assert_eq!(d[0].account, ADMIN);
    let mime = String::from_utf8_lossy(&d[0].mime);
    assert!(mime.contains("To: <carol@fabrikam.test>"), "{mime}");
    assert!(mime.contains(&first_b64_line(&scan)));
    assert!(e.w.sim.messages().is_empty(), "nothing went by SMTP");

    // The Gmail API takes a 3.5 MB scan in one media upload.
    let e = api_env(
        "gmail",
        "gmail-api",
        "https://www.googleapis.com/auth/gmail.send",
    );
    let scan: Vec<u8> = (0..3_500_000u32).map(|i| (i * 7 % 253) as u8).collect();
    let pdf = file(&e.dir, "big.pdf", &scan);
    let sent = e.ok(&["send", "--to", "carol@fabrikam.test", &pdf]);
    assert!(sent.contains("200"), "{sent}");
    let d = e.w.sim.api_deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].api, Api::Gmail);
    assert!(d[0].mime.len() > 3_500_000 * 4 / 3);
    assert!(String::from_utf8_lossy(&d[0].mime).contains(&first_b64_line(&scan)));
}

#[test]
fn graph_refusals_and_limits_get_their_diagnostics_and_send_nothing() {
    use mfp_oauth_host::sim::api::{Api, ApiFault};
    let e = api_env("graph-limits", "graph", GRAPH_SCOPE);
    // Over Graph's 150 MB (a sparse file: its size is all the job needs
    // to know): refused before any request.
    let pdf = e.dir.join("huge.pdf");
    std::fs::File::create(&pdf)
        .unwrap()
        .set_len(160_000_000)
        .unwrap();
    let pdf = pdf.to_str().unwrap();
    let o = e.run(&["send", "--to", "carol@fabrikam.test", pdf]);
    assert!(!o.status.success());
    assert!(text(&o.stdout).contains("E706") || text(&o.stderr).contains("E706"));
    assert!(e.w.sim.api_requests().is_empty());
    // Throttled for a second before the body (`Expect: 100-continue`):
    // the job waits it out and sends once, the body uploaded once.
    let small = file(&e.dir, "small.pdf", b"%PDF-1.7 small\n");
    e.w.sim
        .push_api_fault(Api::Graph, ApiFault::Throttled { retry_after_s: 1 }, 1);
    let sent = e.ok(&["send", "--to", "carol@fabrikam.test", &small]);
    assert!(
        sent.contains("sending again in 1 s") && sent.contains("202"),
        "{sent}"
    );
    assert_eq!(e.w.sim.api_deliveries().len(), 1);
    let statuses =
        |e: &Env| -> Vec<u16> { e.w.sim.api_requests().iter().map(|r| r.status).collect() };
    assert_eq!(statuses(&e), [429, 202]);
    // Throttled after the body: the composed message is read again from
    // its first octet and arrives whole, once.
    e.w.sim.push_api_fault(
        Api::Graph,
        ApiFault::ThrottledAfterBody { retry_after_s: 1 },
        1,
    );
    e.ok(&["send", "--to", "carol@fabrikam.test", &small]);
    assert_eq!(statuses(&e), [429, 202, 429, 202]);
    let d = e.w.sim.api_deliveries();
    assert_eq!(d.len(), 2);
    assert_eq!(d[1].mime.len(), d[0].mime.len(), "the same message, whole");
    // Asked to wait an hour: the job fails with its own diagnostic.
    e.w.sim.push_api_fault(
        Api::Graph,
        ApiFault::Throttled {
            retry_after_s: 3600,
        },
        1,
    );
    let o = e.run(&["send", "--to", "carol@fabrikam.test", &small]);
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(!o.status.success());
    assert!(all.contains("E705"), "{all}");
    assert_eq!(e.w.sim.api_deliveries().len(), 2);
    // An expired token: refreshed and asked again, sent once.
    e.w.sim.forget_access_tokens();
    let sent = e.ok(&["send", "--to", "carol@fabrikam.test", &small]);
    assert!(sent.contains("202"), "{sent}");
    assert_eq!(e.w.sim.api_deliveries().len(), 3);
}

/// Issue 19 (R-XPORT): a 22 MB scan (a 30 MB message) through Graph, over one `sendMail`:
/// a draft without the scan, an upload session for it (ranged `PUT`s of
/// raw octets to the session's URL, no token), then `send`; one chunk's
/// connection drops halfway: the job asks the upload URL what it has and
/// goes on from there. The scan arrives byte-identical, the message once.
#[test]
fn a_22_mb_scan_through_graph_goes_by_an_upload_session_and_survives_a_drop() {
    use mfp_oauth_host::sim::api::{Api, ApiFault};
    let e = api_env("graph-upload", "graph", GRAPH_SCOPE);
    let scan: Vec<u8> = (0..22_000_000u32).map(|i| (i * 11 % 241) as u8).collect();
    let pdf = file(&e.dir, "scan-0001.pdf", &scan);
    // The draft, the upload session and the first chunk pass; the second
    // chunk is cut.
    for _ in 0..3 {
        e.w.sim.push_api_fault(Api::Graph, ApiFault::Pass, 1);
    }
    e.w.sim
        .push_api_fault(Api::Graph, ApiFault::Drop { after: 1_000_000 }, 1);
    let sent = e.ok(&["send", "--to", "carol@fabrikam.test", &pdf]);
    assert!(sent.contains("202"), "{sent}");
    assert_eq!(e.w.sim.pending_api_faults(Api::Graph), 0);
    let d = e.w.sim.api_deliveries();
    assert_eq!(d.len(), 1, "sent once");
    assert!(d[0].path.ends_with("/send"), "{}", d[0].path);
    assert_eq!(d[0].attachments.len(), 1);
    assert_eq!(d[0].attachments[0].name, "scan-0001.pdf");
    assert!(d[0].attachments[0].content == scan, "byte-identical");
    // The draft is the message without the scan.
    let mime = String::from_utf8_lossy(&d[0].mime);
    assert!(mime.contains("To: <carol@fabrikam.test>"), "{mime}");
    assert!(!mime.contains(&first_b64_line(&scan)));
    let requests = e.w.sim.api_requests();
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert!(
        methods.contains(&"GET"),
        "the question after the drop: {methods:?}"
    );
    assert!(
        requests.iter().all(|r| r.status != 0 || r.method == "PUT"),
        "{requests:?}"
    );
}

/// Issue 19 (R-XPORT): a drop at each request of Graph's upload path (the
/// draft, the upload session, each chunk): the job goes on from where
/// the server is and the message arrives whole, once. A token that
/// expires during the upload is refreshed when `send` is refused. A drop
/// once `send` went out is "delivery unknown" (E330): never asked again.
#[test]
fn a_drop_or_an_expired_token_at_any_request_of_graphs_upload_path_sends_the_message_once() {
    use mfp_oauth_host::sim::api::{Api, ApiFault};
    let e = api_env("graph-stages", "graph", GRAPH_SCOPE);
    let scan: Vec<u8> = (0..4_000_000u32).map(|i| (i * 3 % 247) as u8).collect();
    let pdf = file(&e.dir, "scan.pdf", &scan);
    let cut = ApiFault::Drop { after: 100_000 };
    // The requests in order: the draft, the upload session, two chunks,
    // send.
    for (n, (stage, passes)) in [
        ("the draft", 0),
        ("the upload session", 1),
        ("the first chunk", 2),
        ("the last chunk", 3),
    ]
    .into_iter()
    .enumerate()
    {
        for _ in 0..passes {
            e.w.sim.push_api_fault(Api::Graph, ApiFault::Pass, 1);
        }
        e.w.sim.push_api_fault(Api::Graph, cut, 1);
        let sent = e.ok(&["send", "--to", "carol@fabrikam.test", &pdf]);
        assert!(sent.contains("202"), "{stage}: {sent}");
        assert_eq!(e.w.sim.pending_api_faults(Api::Graph), 0, "{stage}");
        let d = e.w.sim.api_deliveries();
        assert_eq!(d.len(), n + 1, "{stage}: sent once");
        assert_eq!(d[n].attachments.len(), 1, "{stage}");
        assert!(
            d[n].attachments[0].content == scan,
            "{stage}: byte-identical"
        );
    }
    // The token expires while the last chunk goes (its URL needs none):
    // `send` is refused (401), the token refreshed, `send` asked again.
    for _ in 0..3 {
        e.w.sim.push_api_fault(Api::Graph, ApiFault::Pass, 1);
    }
    e.w.sim
        .push_api_fault(Api::Graph, ApiFault::ExpireTokens, 1);
    let before = e.w.sim.api_requests().len();
    let sent = e.ok(&["send", "--to", "carol@fabrikam.test", &pdf]);
    assert!(sent.contains("202"), "{sent}");
    let statuses: Vec<u16> = e.w.sim.api_requests()[before..]
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [201, 201, 200, 201, 401, 202], "{statuses:?}");
    let d = e.w.sim.api_deliveries();
    assert_eq!(d.len(), 5, "sent once");
    assert!(d[4].attachments[0].content == scan);
    // `send` lost: it may have been carried out; the job says so and does
    // not ask again.
    for _ in 0..4 {
        e.w.sim.push_api_fault(Api::Graph, ApiFault::Pass, 1);
    }
    e.w.sim.push_api_fault(Api::Graph, ApiFault::LoseAnswer, 1);
    let o = e.run(&["send", "--to", "carol@fabrikam.test", &pdf]);
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(!o.status.success(), "{all}");
    assert!(all.contains("E330"), "{all}");
    assert_eq!(e.w.sim.api_deliveries().len(), 6, "carried out once");
}

/// Issue 19 (R-XPORT): a 2.5 MB scan through Graph makes a message over
/// one `sendMail` whose file is under Graph's 3 MB for an upload session:
/// a draft, the file attached whole (`contentBytes`), `send`.
#[test]
fn a_2_5_mb_scan_through_graph_is_attached_to_a_draft() {
    let e = api_env("graph-attach", "graph", GRAPH_SCOPE);
    let scan: Vec<u8> = (0..2_500_000u32).map(|i| (i * 17 % 239) as u8).collect();
    let pdf = file(&e.dir, "scan-0002.pdf", &scan);
    let sent = e.ok(&["send", "--to", "carol@fabrikam.test", &pdf]);
    assert!(sent.contains("202"), "{sent}");
    let d = e.w.sim.api_deliveries();
    assert_eq!(d.len(), 1, "sent once");
    assert!(d[0].path.ends_with("/send"), "{}", d[0].path);
    assert_eq!(d[0].attachments.len(), 1);
    assert_eq!(d[0].attachments[0].name, "scan-0002.pdf");
    assert!(d[0].attachments[0].content == scan, "byte-identical");
    let paths: Vec<String> =
        e.w.sim
            .api_requests()
            .iter()
            .map(|r| r.path.clone())
            .collect();
    assert!(
        paths.iter().any(|p| p.ends_with("/attachments")),
        "{paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p.ends_with("/createUploadSession")),
        "{paths:?}"
    );
}

/// Issue 19 (R-XPORT): a 26 MB scan (a 35 MB message, near the Gmail
/// API's 35 MiB limit) through the resumable upload, the connection
/// dropped a third of the way in: the job asks the
/// server what it has, sends the rest, and the message arrives whole,
/// once.
#[test]
fn a_26_mb_scan_through_the_gmail_api_survives_a_dropped_connection() {
    use mfp_oauth_host::sim::api::{Api, ApiFault};
    let e = api_env(
        "gmail-big",
        "gmail-api",
        "https://www.googleapis.com/auth/gmail.send",
    );
    let scan: Vec<u8> = (0..26_000_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let pdf = file(&e.dir, "big.pdf", &scan);
    // The upload's start passes; its PUT is cut.
    e.w.sim.push_api_fault(Api::Gmail, ApiFault::Pass, 1);
    e.w.sim
        .push_api_fault(Api::Gmail, ApiFault::Drop { after: 13_000_000 }, 1);
    let sent = e.ok(&["send", "--to", "carol@fabrikam.test", &pdf]);
    assert!(sent.contains("200"), "{sent}");
    let d = e.w.sim.api_deliveries();
    assert_eq!(d.len(), 1, "sent once");
    assert!(d[0].mime.len() > 26_000_000 * 4 / 3);
    let mime = String::from_utf8_lossy(&d[0].mime);
    assert!(mime.contains(&first_b64_line(&scan)));
    // The whole file, in the message's base64 lines.
    use base64::Engine as _;
    let start = mime.find(&first_b64_line(&scan)).unwrap();
    let b64: String = mime[start..]
        .lines()
        .take_while(|l| !l.starts_with("--"))
        .collect();
    let back = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert!(back == scan, "the attachment arrived byte-identical");
    let requests = e.w.sim.api_requests();
    let puts = requests.iter().filter(|r| r.method == "PUT").count();
    assert!(puts >= 3, "{requests:?}");
}

/// Issue 19 (R-XPORT): a drop at each stage of the Gmail API's resumable
/// upload (its start, its upload, the question of what the server has):
/// the job goes on from where the server is and the message arrives
/// whole, once.
#[test]
fn a_drop_at_every_stage_of_a_resumable_upload_sends_the_message_once() {
    use mfp_oauth_host::sim::api::{Api, ApiFault};
    let e = api_env(
        "gmail-stages",
        "gmail-api",
        "https://www.googleapis.com/auth/gmail.send",
    );
    let scan: Vec<u8> = (0..6_000_000u32).map(|i| (i * 7 % 241) as u8).collect();
    let pdf = file(&e.dir, "scan.pdf", &scan);
    let cut = ApiFault::Drop { after: 1_500_000 };
    let stages: [(&str, &[ApiFault]); 3] = [
        ("the start", &[cut]),
        ("the upload", &[ApiFault::Pass, cut]),
        (
            "the question after a cut upload",
            &[ApiFault::Pass, cut, cut],
        ),
    ];
    for (n, (stage, faults)) in stages.iter().enumerate() {
        for f in *faults {
            e.w.sim.push_api_fault(Api::Gmail, *f, 1);
        }
        let sent = e.ok(&["send", "--to", "carol@fabrikam.test", &pdf]);
        assert!(sent.contains("200"), "{stage}: {sent}");
        assert_eq!(e.w.sim.pending_api_faults(Api::Gmail), 0, "{stage}");
        let d = e.w.sim.api_deliveries();
        assert_eq!(d.len(), n + 1, "{stage}: sent once");
        let mime = String::from_utf8_lossy(&d[n].mime);
        assert!(mime.contains(&first_b64_line(&scan)), "{stage}");
        assert_eq!(d[n].mime.len(), d[0].mime.len(), "{stage}: whole");
    }
}
