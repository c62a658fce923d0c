//! The Mailer facade for one job (R-POL, R-TOK, R-SMTP), administrator-fixed
//! mode with the administrator's tokens held: the token refresh (before the
//! session when the access token expired, or mid-session after a rejected
//! token) and the SMTP session both fed arbitrary server bytes in arbitrary
//! chunks. Invariants: no panic; never more consumed than given; no token
//! in an SMTP transmit not marked sensitive, none before TLS; the refresh
//! token only in requests marked sensitive; the job always ends (Done or
//! Failed) and a second job is then accepted.
#![no_main]

mod common;

use common::{b64_marker, contains, drive_oauth, Feed, Wire};
use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::config::{SenderMode, SmtpServer};
use mfp_oauth_core::mailer::{Job, Mailer, Plan, Step};
use mfp_oauth_core::oauth::Client;
use mfp_oauth_core::provider::AppRegistration;
use mfp_oauth_core::smtp::{Event, Security};
use mfp_oauth_core::token::TokenGrant;
use mfp_oauth_core::{
    Address, DiagId, Duration, Function, Instant, Settings, TokenOwner, TokenStore,
};

const ADMIN: &str = "admin@contoso.com";
const ACCESS: &[u8] = b"AT-fuzz-EwBAAl3BAAUFFpUAo7J3Ve0";
const REFRESH: &[u8] = b"RT-fuzz-0.AXkA7f3a9c51";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, payload)) = data.split_first() else {
        return;
    };
    let admin = Address::parse(ADMIN).expect("address");
    let smtp = if flags & 1 == 0 {
        SmtpServer::new("smtp.office365.com", 587, Security::StartTls)
    } else {
        SmtpServer::new("smtp.office365.com", 465, Security::ImplicitTls)
    };
    let settings = Settings {
        admin_address: Some(admin.clone()),
        oauth_enabled: true,
        smtp,
        sender_mode: SenderMode::AdminFixedAddress,
        ..Settings::default()
    };
    let mut store = TokenStore::new();
    // Half the jobs find the access token expired: refresh first.
    let lifetime = if flags & 2 == 0 { 3600 } else { 0 };
    let grant = TokenGrant {
        access_token: ACCESS,
        expires_in: Duration::from_secs(lifetime),
        refresh_token: Some(REFRESH),
        refresh_expires_in: None,
    };
    store
        .store_acquired(Instant::ZERO, None, &TokenOwner::Admin, &admin, grant)
        .expect("store the administrator's tokens");
    let mut m = Mailer::new(settings, store);
    let built_in = AppRegistration::public("printer-app").expect("client id");
    let provider = m.settings().provider_profile().expect("Microsoft profile");
    let app = m.settings().app_registration(&built_in).expect("app");
    let mut oauth = Client::new(provider, app, vec![0u8; 4096], u64::from(flags));

    let markers = [
        b64_marker(format!("user={ADMIN}\x01auth=Bearer ").as_bytes()),
        b64_marker(format!("n,a={ADMIN},\x01").as_bytes()),
    ];
    let to = [Address::parse("bob@fabrikam.com").expect("address")];
    let job = Job {
        function: Function::ScanToEmail,
        user: None,
        from: None,
        to: &to,
        size: (flags & 4 != 0).then_some(5000),
    };
    let mut wire = Wire::default();
    let mut now = 1000u64;
    let mut plan = m
        .submit(Instant::from_millis(now), &job)
        .expect("the first job");
    let mut feed = Feed::new(payload, usize::from(flags >> 4));
    let mut out = vec![0u8; 1 + usize::from(flags) * 7 % 600];
    for _ in 0..64 {
        let t = Instant::from_millis(now);
        match plan {
            Plan::TokenExchange { .. } => {
                m.start_exchange(t, &mut oauth).expect("start the refresh");
                let mut next = None;
                now = drive_oauth(
                    &mut oauth,
                    &mut feed,
                    now,
                    "login.microsoftonline.com",
                    &[REFRESH],
                    |c, ev, t| {
                        if let Some(p) = m
                            .handle_oauth_event(t, None, c, ev)
                            .expect("an event during the exchange")
                        {
                            next = Some(p);
                        }
                    },
                );
                plan = match next {
                    Some(p) => p,
                    None => m.cancel(Instant::from_millis(now), DiagId::NetworkTimeout),
                };
            }
            Plan::Connect { .. } => {
                plan = m.connected(t, "mfp.contoso.com").expect("connected");
            }
            Plan::Session => {
                let mut closed = false;
                loop {
                    now += 1000;
                    let t = Instant::from_millis(now);
                    while let Ok(Some(tx)) = m.poll_smtp_transmit(t, &mut out) {
                        assert!(tx.len <= out.len());
                        let sent = &out[..tx.len];
                        if tx.sensitive {
                            assert!(m.smtp_is_tls(), "a token before TLS");
                        } else {
                            assert!(!contains(sent, ACCESS));
                        }
                        wire.push(sent, tx.sensitive);
                    }
                    let mut changed = false;
                    while let Some(step) = m.poll_event(t) {
                        match step {
                            Step::Smtp(Event::UpgradeTls) => {
                                let _ = m.handle_smtp_tls_established(t);
                            }
                            Step::Smtp(Event::ReadyForBody) => {
                                let mut body = [0u8; 64];
                                let _ =
                                    m.write_smtp_body(b"Subject: scan\r\n\r\n.hello\n", &mut body);
                                let _ = m.finish_smtp_body(t);
                            }
                            Step::PlanChanged => changed = true,
                            _ => {}
                        }
                    }
                    if changed || *m.plan() != Plan::Session {
                        break;
                    }
                    if !m.has_smtp_session() {
                        break;
                    }
                    if feed.is_empty() {
                        assert!(!closed, "the session outlived its close");
                        let _ = m.handle_smtp_close(t);
                        closed = true;
                        continue;
                    }
                    let piece = feed.piece();
                    let used = m.handle_smtp_input(t, piece).expect("a session");
                    feed.used(used);
                    if flags & 8 != 0 {
                        let _ = m.handle_smtp_timeout(Instant::from_millis(now + 600_000));
                    }
                }
                plan = m.plan().clone();
            }
            Plan::NeedAdminAuth { .. } | Plan::NeedUserAuth { .. } => {
                plan = m
                    .auth_failed(DiagId::AdminReauthNeeded)
                    .expect("cancel the sign-in");
            }
            _ => break,
        }
    }
    wire.assert_secrets_only_in_sensitive_lines(&[ACCESS, &markers[0], &markers[1]]);
    assert!(
        matches!(plan, Plan::Done { .. } | Plan::Failed { .. }),
        "the job did not end: {plan:?}"
    );
    assert!(!m.has_smtp_session(), "a session left after the job");
    assert!(
        m.submit(Instant::from_millis(now), &job).is_ok(),
        "the next job refused"
    );
});
