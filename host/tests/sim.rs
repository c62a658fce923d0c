//! The test doubles and the connection layer against each other: the
//! simulated provider and SMTP server reached through `net::Connection` with
//! real TLS (R-HOST). Raw protocol bytes are written by hand here on purpose:
//! these tests pin what the simulator does, independent of the core.

use base64::Engine as _;
use mfp_oauth_core::diag::{Diagnostic, Id};
use mfp_oauth_core::Duration;
use mfp_oauth_host::net::{Connection, NetError, NetOptions};
use mfp_oauth_host::sim::proxy::ConnectProxy;
use mfp_oauth_host::sim::smtp::{SmtpConfig, TlsMode};
use mfp_oauth_host::sim::{pki::Pki, provider, SimConfig, World};
use mfp_oauth_host::tls::TlsSettings;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};

fn world(config: SimConfig) -> World {
    World::start(config, SmtpConfig::default()).unwrap()
}

/// POST a form to the simulated provider; (status, JSON body).
fn post(w: &World, path: &str, form: &[(&str, &str)], opts: &NetOptions) -> (u16, Value) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut c = Connection::connect_tls(
        "127.0.0.1",
        w.provider.port(),
        opts,
        &w.tls_settings().for_https(),
    )
    .unwrap();
    assert_eq!(c.tls_info().unwrap().alpn.as_deref(), Some("http/1.1"));
    let req = format!(
        "POST {}{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        provider::PREFIX,
        body.len()
    );
    c.send(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = c.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8(raw.to_vec()).unwrap();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head[9..12].parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut body = String::new();
        let mut rest = rest;
        loop {
            let (size, after) = rest.split_once("\r\n").unwrap();
            let n = usize::from_str_radix(size, 16).unwrap();
            if n == 0 {
                break;
            }
            body.push_str(&after[..n]);
            rest = &after[n + 2..];
        }
        body
    } else {
        rest.to_owned()
    };
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn device_login(w: &World, account: &str) -> Value {
    let opts = NetOptions::default();
    let (s, dev) = post(
        w,
        "/devicecode",
        &[
            ("client_id", "mfp-oauth-demo"),
            (
                "scope",
                "https://outlook.office.com/SMTP.Send offline_access",
            ),
        ],
        &opts,
    );
    assert_eq!(s, 200, "{dev}");
    let code = dev["device_code"].as_str().unwrap().to_owned();
    let poll = |w: &World| {
        post(
            w,
            "/token",
            &[
                ("grant_type", DEVICE_GRANT),
                ("client_id", "mfp-oauth-demo"),
                ("device_code", &code),
            ],
            &opts,
        )
    };
    let (s, pending) = poll(w);
    assert_eq!(
        (s, pending["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    w.clock
        .advance(Duration::from_secs(dev["interval"].as_u64().unwrap()));
    assert!(w
        .sim
        .approve_device(dev["user_code"].as_str().unwrap(), account));
    let (s, tok) = poll(w);
    assert_eq!(s, 200, "{tok}");
    tok
}

// R-OAUTH: device grant with pending, slow_down (interval + 5), success.
#[test]
fn device_flow_pending_slow_down_then_tokens() {
    let w = world(SimConfig::default());
    let opts = NetOptions::default();
    let (_, dev) = post(
        &w,
        "/devicecode",
        &[
            ("client_id", "mfp-oauth-demo"),
            ("scope", "s offline_access"),
        ],
        &opts,
    );
    let code = dev["device_code"].as_str().unwrap().to_owned();
    assert_eq!(dev["interval"], 5);
    let form = [
        ("grant_type", DEVICE_GRANT),
        ("client_id", "mfp-oauth-demo"),
        ("device_code", code.as_str()),
    ];
    assert_eq!(
        post(&w, "/token", &form, &opts).1["error"],
        "authorization_pending"
    );
    // Polling again at once is too fast.
    assert_eq!(post(&w, "/token", &form, &opts).1["error"], "slow_down");
    w.clock.advance(Duration::from_secs(5));
    // Still too fast: the interval is now 10 s.
    assert_eq!(post(&w, "/token", &form, &opts).1["error"], "slow_down");
    w.clock.advance(Duration::from_secs(15));
    w.sim
        .approve_device(dev["user_code"].as_str().unwrap(), "admin@contoso.test");
    let (s, tok) = post(&w, "/token", &form, &opts);
    assert_eq!(s, 200);
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 3600);
    // A device code is redeemed once.
    w.clock.advance(Duration::from_secs(15));
    assert_eq!(post(&w, "/token", &form, &opts).1["error"], "invalid_grant");
}

fn refresh(w: &World, rt: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", "mfp-oauth-demo"),
        ("refresh_token", rt),
    ];
    post(w, "/token", &form, &NetOptions::default())
}

// R-OAUTH / R-TOK-4: rotation, the old refresh token dies, revoked gives invalid_grant.
#[test]
fn refresh_rotates_and_revocation_gives_invalid_grant() {
    let w = world(SimConfig {
        chunked: true,
        ..SimConfig::default()
    });
    let tok = device_login(&w, "admin@contoso.test");
    let rt1 = tok["refresh_token"].as_str().unwrap().to_owned();
    let (s, t2) = refresh(&w, &rt1);
    assert_eq!(s, 200);
    let rt2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);
    assert!(!w.sim.refresh_token_valid(&rt1));
    let (s, old) = refresh(&w, &rt1);
    assert_eq!((s, old["error"].as_str()), (400, Some("invalid_grant")));
    w.sim.revoke_refresh_tokens("admin@contoso.test");
    let (_, rev) = refresh(&w, &rt2);
    assert_eq!(rev["error"], "invalid_grant");
    assert_eq!(rev["error_codes"][0], 50173);
    assert!(w
        .sim
        .requests()
        .iter()
        .any(|r| r.contains("grant_type=refresh_token -> 400")));
}

fn get_location(w: &World, url_path_and_query: &str) -> String {
    let mut c = Connection::connect_tls(
        "127.0.0.1",
        w.provider.port(),
        &NetOptions::default(),
        &w.tls_settings(),
    )
    .unwrap();
    c.send(format!("GET {url_path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .unwrap();
    let mut raw = String::new();
    let _ = c.read_to_string(&mut raw);
    assert!(raw.starts_with("HTTP/1.1 302 "), "{raw}");
    raw.lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .unwrap()
        .to_owned()
}

// R-OAUTH: authorization code with PKCE S256, verifier checked, code single-use.
#[test]
fn pkce_code_flow_checks_the_verifier() {
    let w = world(SimConfig::default());
    w.sim.set_browser_account(Some("user@contoso.test"));
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = provider::s256(verifier);
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", "mfp-oauth-demo"),
            ("response_type", "code"),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("scope", "s"),
            ("state", "xyz"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let loc = get_location(&w, &format!("{}/authorize?{q}", provider::PREFIX));
    let (base, query) = loc.split_once('?').unwrap();
    assert_eq!(base, "http://127.0.0.1:9/cb");
    let params: std::collections::HashMap<String, String> =
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(params["state"], "xyz");
    let code = params["code"].clone();
    let exchange = |v: &str| {
        post(
            &w,
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "mfp-oauth-demo"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("code_verifier", v),
            ],
            &NetOptions::default(),
        )
    };
    let (s, bad) = exchange("wrong-verifier-wrong-verifier-wrong-verifier-x");
    assert_eq!((s, bad["error"].as_str()), (400, Some("invalid_grant")));
    // The failed attempt burnt the code.
    assert_eq!(exchange(verifier).1["error"], "invalid_grant");
}

// --- SMTP ---------------------------------------------------------------

struct Smtp {
    c: BufReader<Connection>,
}

impl Smtp {
    fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            assert!(
                self.c.read_line(&mut line).unwrap() > 0,
                "closed after {all:?}"
            );
            all.push_str(&line);
            if line.as_bytes().get(3) == Some(&b' ') || line.trim_end().len() == 3 {
                return all;
            }
        }
    }
    fn cmd(&mut self, line: &str) -> String {
        self.c
            .get_mut()
            .send(format!("{line}\r\n").as_bytes())
            .unwrap();
        self.reply()
    }
}

fn smtp_session(w: &World, port: u16, tls: &TlsSettings) -> Smtp {
    let c = Connection::connect("127.0.0.1", port, &NetOptions::default()).unwrap();
    let mut s = Smtp {
        c: BufReader::new(c),
    };
    assert!(s.reply().starts_with("220 "));
    let ehlo = s.cmd("EHLO printer");
    assert!(
        ehlo.contains("250-STARTTLS") || ehlo.contains("250 STARTTLS"),
        "{ehlo}"
    );
    assert!(!ehlo.contains("AUTH"), "AUTH offered before TLS: {ehlo}");
    assert!(s.cmd("AUTH XOAUTH2 =").starts_with("530 5.7.0"));
    assert!(s.cmd("STARTTLS").starts_with("220 "));
    s.c.get_mut().start_tls(tls).unwrap();
    let _ = w;
    let ehlo = s.cmd("EHLO printer");
    assert!(ehlo.contains("AUTH XOAUTH2 OAUTHBEARER"), "{ehlo}");
    assert!(ehlo.contains("PIPELINING") && ehlo.contains("SIZE "));
    s
}

fn xoauth2(user: &str, token: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(format!("user={user}\x01auth=Bearer {token}\x01\x01"))
}

// R-SMTP / R-SASL: STARTTLS, XOAUTH2 with a token the provider issued, dot-unstuffing.
#[test]
fn smtp_accepts_provider_tokens_and_unstuffs_dots() {
    let w = world(SimConfig::default());
    let tok = device_login(&w, "admin@contoso.test");
    let at = tok["access_token"].as_str().unwrap();
    let mut s = smtp_session(&w, w.smtp.port(), &w.tls_settings());
    assert!(s
        .cmd(&format!(
            "AUTH XOAUTH2 {}",
            xoauth2("admin@contoso.test", at)
        ))
        .starts_with("235 2.7.0"));
    assert!(s
        .cmd("MAIL FROM:<someone@else.test>")
        .starts_with("550 5.7.60"));
    // Pipelined: MAIL, RCPT, RCPT, DATA in one write, four replies in order.
    s.c.get_mut().send(b"MAIL FROM:<admin@contoso.test> SIZE=100\r\nRCPT TO:<a@x.test>\r\nRCPT TO:<b@reject.invalid>\r\nDATA\r\n").unwrap();
    assert!(s.reply().starts_with("250 2.1.0"));
    assert!(s.reply().starts_with("250 2.1.5"));
    assert!(s.reply().starts_with("550 5.1.1"));
    assert!(s.reply().starts_with("354"));
    assert!(s
        .cmd("Subject: t\r\n\r\n..leading dot\r\nplain\r\n.")
        .starts_with("250 2.0.0"));
    assert!(s.cmd("QUIT").starts_with("221"));
    let m = &w.sim.messages()[0];
    assert_eq!(m.from, "admin@contoso.test");
    assert_eq!(m.recipients, vec!["a@x.test"]);
    assert_eq!(m.data, b"Subject: t\r\n\r\n.leading dot\r\nplain\r\n");
    assert_eq!(m.mechanism, "XOAUTH2");
}

// R-SASL: expired token -> 334 base64 JSON, empty line -> 535 5.7.8; OAUTHBEARER too.
#[test]
fn smtp_error_challenge_on_expired_token() {
    let w = world(SimConfig {
        access_lifetime: Duration::from_secs(60),
        ..SimConfig::default()
    });
    let tok = device_login(&w, "admin@contoso.test");
    let at = tok["access_token"].as_str().unwrap().to_owned();
    w.clock.advance(Duration::from_secs(61));
    let mut s = smtp_session(&w, w.smtp.port(), &w.tls_settings());
    let r = s.cmd(&format!(
        "AUTH XOAUTH2 {}",
        xoauth2("admin@contoso.test", &at)
    ));
    let b64 = r.trim_end().strip_prefix("334 ").unwrap();
    let json = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&json).unwrap()["status"],
        "401"
    );
    assert!(s.cmd("").starts_with("535 5.7.8"));
    // OAUTHBEARER, two-step, answers the challenge with %x01.
    assert_eq!(s.cmd("AUTH OAUTHBEARER"), "334 \r\n");
    let ob = base64::engine::general_purpose::STANDARD.encode(format!(
        "n,a=admin@contoso.test,\x01host=127.0.0.1\x01port=587\x01auth=Bearer {at}\x01\x01"
    ));
    assert!(s.cmd(&ob).starts_with("334 "));
    assert!(s.cmd("AQ==").starts_with("535 5.7.8"));
    assert_eq!(
        w.sim
            .auth_attempts()
            .iter()
            .filter(|a| a.1 == "challenge")
            .count(),
        2
    );
}

// R-DIAG: a mailbox with SMTP AUTH disabled answers 535 5.7.139.
#[test]
fn smtp_auth_disabled_mailbox() {
    let w = world(SimConfig::default());
    let tok = device_login(&w, "user@contoso.test");
    w.sim.set_smtp_auth_disabled("user@contoso.test", true);
    let mut s = smtp_session(&w, w.smtp.port(), &w.tls_settings());
    let r = s.cmd(&format!(
        "AUTH XOAUTH2 {}",
        xoauth2("user@contoso.test", tok["access_token"].as_str().unwrap())
    ));
    assert!(
        r.starts_with(
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled"
        ),
        "{r}"
    );
}

// R-SMTP: implicit TLS (465): TLS from the first octet, AUTH offered at once.
#[test]
fn smtp_implicit_tls() {
    let w = world(SimConfig::default());
    let implicit = w
        .start_smtp(SmtpConfig {
            tls: TlsMode::Implicit,
            ..SmtpConfig::default()
        })
        .unwrap();
    let c = Connection::connect_tls(
        "127.0.0.1",
        implicit.port(),
        &NetOptions::default(),
        &w.tls_settings(),
    )
    .unwrap();
    assert!(c.tls_info().unwrap().version.starts_with("TLSv1_"));
    let mut s = Smtp {
        c: BufReader::new(c),
    };
    assert!(s.reply().starts_with("220 "));
    let ehlo = s.cmd("EHLO printer");
    assert!(
        ehlo.contains("AUTH XOAUTH2") && !ehlo.contains("STARTTLS"),
        "{ehlo}"
    );
}

// R-HOST: a certificate from an unknown CA, or for another name, is refused.
#[test]
fn wrong_certificates_are_refused() {
    let w = world(SimConfig::default());
    let stranger = Pki::generate(&["127.0.0.1"]).unwrap();
    let untrusting = TlsSettings {
        webpki_roots: true,
        extra_roots: vec![stranger.ca_der()],
        ..TlsSettings::default()
    };
    let err = Connection::connect_tls(
        "127.0.0.1",
        w.provider.port(),
        &NetOptions::default(),
        &untrusting,
    )
    .unwrap_err();
    assert!(matches!(err, NetError::Certificate(_)), "{err}");
    assert_eq!(err.diag(), Id::CertificateUntrusted);
    // STARTTLS to the SMTP server with the same wrong trust.
    let c = Connection::connect("127.0.0.1", w.smtp.port(), &NetOptions::default()).unwrap();
    let mut s = Smtp {
        c: BufReader::new(c),
    };
    s.reply();
    s.cmd("EHLO printer");
    assert!(s.cmd("STARTTLS").starts_with("220"));
    assert!(matches!(
        s.c.get_mut().start_tls(&untrusting),
        Err(NetError::Certificate(_))
    ));
    // Right CA, wrong name.
    let other = World::start(SimConfig::default(), SmtpConfig::default()).unwrap();
    let misnamed_pki = Pki::generate(&["other.invalid"]).unwrap();
    let misnamed = provider::Provider::start(&other.sim, &misnamed_pki).unwrap();
    let trust = TlsSettings {
        webpki_roots: false,
        extra_roots: vec![misnamed_pki.ca_der()],
        ..TlsSettings::default()
    };
    let err = Connection::connect_tls("127.0.0.1", misnamed.port(), &NetOptions::default(), &trust)
        .unwrap_err();
    assert!(matches!(err, NetError::Certificate(_)), "{err}");
    assert_eq!(err.diag(), Id::CertificateWrongName);
}

// R-HOST / R-CFG: token traffic through an HTTP CONNECT proxy.
#[test]
fn proxy_tunnel_is_used_and_407_is_reported() {
    let w = world(SimConfig::default());
    let proxy = ConnectProxy::start(false).unwrap();
    let opts = proxy.net_options(None);
    let (s, dev) = post(
        &w,
        "/devicecode",
        &[("client_id", "mfp-oauth-demo"), ("scope", "s")],
        &opts,
    );
    assert_eq!(s, 200, "{dev}");
    assert_eq!(
        proxy.seen(),
        vec![format!("CONNECT 127.0.0.1:{} HTTP/1.1", w.provider.port())]
    );
    let strict = ConnectProxy::start(true).unwrap();
    let opts = strict.net_options(None);
    let err = Connection::connect_tls("127.0.0.1", w.provider.port(), &opts, &w.tls_settings())
        .unwrap_err();
    assert!(matches!(err, NetError::ProxyRefused(407)));
    assert_eq!(err.diag(), Id::ProxyAuthRequired);
    let opts = strict.net_options(Some(("u", "p")));
    assert!(
        Connection::connect_tls("127.0.0.1", w.provider.port(), &opts, &w.tls_settings()).is_ok()
    );
}

// A server that drops the connection mid-DATA: the client sees the close.
#[test]
fn smtp_drop_during_data_closes_without_reply() {
    let w = world(SimConfig::default());
    let tok = device_login(&w, "admin@contoso.test");
    let dropping = w
        .start_smtp(SmtpConfig {
            drop_during_data_after: Some(64),
            ..SmtpConfig::default()
        })
        .unwrap();
    let mut s = smtp_session(&w, dropping.port(), &w.tls_settings());
    assert!(s
        .cmd(&format!(
            "AUTH XOAUTH2 {}",
            xoauth2("admin@contoso.test", tok["access_token"].as_str().unwrap())
        ))
        .starts_with("235"));
    assert!(s.cmd("MAIL FROM:<admin@contoso.test>").starts_with("250"));
    assert!(s.cmd("RCPT TO:<a@x.test>").starts_with("250"));
    assert!(s.cmd("DATA").starts_with("354"));
    let _ = s.c.get_mut().send(&[b'x'; 200]);
    let _ = s.c.get_mut().send(b"\r\nmore\r\n.\r\n");
    let mut rest = String::new();
    let _ = s.c.read_line(&mut rest);
    assert!(!rest.starts_with("250"), "{rest}");
    assert!(w.sim.messages().is_empty());
    let _ = s.c.get_mut().flush();
}
