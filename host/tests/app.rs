//! The job runner and the on-disk persistence with the core's Mailer, over
//! the real drivers and the simulator (R-TOK, R-NV, R-HOST).

use mfp_oauth_core::config::SmtpServer;
use mfp_oauth_core::function::Function;
use mfp_oauth_core::mailer::AuthMethod;
use mfp_oauth_core::smtp::Security;
use mfp_oauth_core::token::{TokenOwner, TokenStatus};
use mfp_oauth_core::Address;
use mfp_oauth_host::app::job::{self, JobEvent, JobSpec};
use mfp_oauth_host::app::signin::{self, FlowError, Prompt};
use mfp_oauth_host::app::{Device, SLOT_A, SLOT_B};
use mfp_oauth_host::clock::Clock;
use mfp_oauth_host::sim::smtp::SmtpConfig;
use mfp_oauth_host::sim::{SimConfig, World};
use std::path::PathBuf;
use std::sync::Arc;

const ADMIN: &str = "admin@contoso.test";

fn setup(name: &str) -> (World, PathBuf, Device) {
    let w = World::start(SimConfig::default(), SmtpConfig::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("mfp-app-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut dev = open(&w, &dir);
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
    (w, dir, dev)
}

fn admin_rt(dev: &Device) -> Vec<u8> {
    let rt = dev
        .mailer
        .store()
        .refresh_token(&TokenOwner::Admin)
        .unwrap();
    rt.expose().to_vec()
}

fn open(w: &World, dir: &std::path::Path) -> Device {
    let clock: Arc<dyn Clock> = Arc::new(w.clock.clone());
    Device::open(dir, clock, w.tls_settings()).unwrap()
}

fn send(dev: &mut Device) -> (job::JobReport, Vec<JobEvent>) {
    let to = [Address::parse("carol@fabrikam.test").unwrap()];
    let mut events = Vec::new();
    let spec = JobSpec {
        function: Function::ScanToEmail,
        user: None,
        from: None,
        to: &to,
        size: None,
    };
    let mut body: &[u8] = b"Subject: x\r\n\r\nbody\r\n";
    let mut no_sign_in = |_: &Device, _: bool, _: AuthMethod, _: &Address| {
        Err(FlowError::Failed(
            mfp_oauth_core::diag::Id::AdminTokenRequired,
        ))
    };
    let r = job::run(dev, &spec, &mut body, &mut no_sign_in, &mut |e| {
        events.push(e.clone())
    })
    .unwrap();
    (r, events)
}

// R-TOK / R-SASL: the server refuses a cached token; the Mailer refreshes
// once mid-session and the job goes out on the same connection.
#[test]
fn refresh_in_the_middle_of_a_session() {
    let (w, dir, mut dev) = setup("midsession");
    assert!(send(&mut dev).0.sent());
    w.sim.forget_access_tokens();
    let (r, events) = send(&mut dev);
    assert!(r.sent(), "{r:?}");
    assert!(events
        .iter()
        .any(|e| matches!(e, JobEvent::Refreshed { rotated: true })));
    let outcomes: Vec<_> = w.sim.auth_attempts().into_iter().map(|a| a.1).collect();
    assert_eq!(outcomes, vec!["ok", "challenge", "ok"]);
    assert_eq!(w.sim.messages().len(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

// R-NV: images alternate between the slots; a torn newest slot falls back to
// the previous good image; access tokens never reach the disk.
#[test]
fn slots_alternate_and_a_torn_write_loses_nothing() {
    let (w, dir, mut dev) = setup("slots");
    // A settings change goes to the other slot; the older one stays.
    let mut s = dev.mailer.settings().clone();
    s.auto_delete_user_tokens = true;
    dev.apply_settings(s).unwrap();
    let mtime = |f: &str| std::fs::metadata(dir.join(f)).unwrap().modified().unwrap();
    let newest = if mtime(SLOT_A) > mtime(SLOT_B) {
        SLOT_A
    } else {
        SLOT_B
    };
    // A power cut in the middle of writing the newest slot.
    let mut torn = std::fs::read(dir.join(newest)).unwrap();
    torn.truncate(torn.len() / 2);
    std::fs::write(dir.join(newest), torn).unwrap();
    drop(dev);
    let dev = open(&w, &dir);
    assert_eq!(dev.mailer.store().admin_status(), TokenStatus::Acquired);
    assert!(
        !dev.mailer.settings().auto_delete_user_tokens,
        "the older image was loaded"
    );
    assert_eq!(dev.mailer.store().cached_access_tokens(), 0);
    let _ = std::fs::remove_dir_all(dir);
}

// R-NV: a rotated refresh token replaces the old one and the older slot is
// erased, so no copy of the retired token stays on disk.
#[test]
fn rotation_erases_the_older_slot() {
    let (w, dir, mut dev) = setup("rotation");
    let old = admin_rt(&dev);
    w.clock.advance(mfp_oauth_core::Duration::from_mins(61));
    let (r, events) = send(&mut dev);
    assert!(r.sent());
    assert!(events
        .iter()
        .any(|e| matches!(e, JobEvent::Refreshed { rotated: true })));
    let new = admin_rt(&dev);
    assert_ne!(old, new);
    let slots = [SLOT_A, SLOT_B]
        .iter()
        .filter(|f| dir.join(f).exists())
        .count();
    assert_eq!(slots, 1, "the slot with the retired token was erased");
    drop(dev);
    let dev = open(&w, &dir);
    assert_eq!(
        dev.mailer
            .store()
            .refresh_token(&TokenOwner::Admin)
            .unwrap()
            .expose(),
        new.as_slice()
    );
    let _ = std::fs::remove_dir_all(dir);
}

// Issue 15 defect 1 (R-ENGINE, R-TOK-4): a refresh refused for missing
// consent (AADSTS65001) or by Conditional Access (AADSTS53003) fails the job
// with E402 / E405 and keeps the administrator's refresh token, on disk too;
// once the tenant is fixed the next job refreshes with it. A revoked grant
// still erases it (E501).
#[test]
fn a_consent_or_conditional_access_refusal_keeps_the_administrators_token() {
    use mfp_oauth_core::diag::Id;
    for (aadsts, diag) in [
        (65_001, Id::ConsentMissing),
        (53_003, Id::ConditionalAccess),
    ] {
        let (w, dir, mut dev) = setup(&format!("refused-{aadsts}"));
        let kept = admin_rt(&dev);
        w.sim.configure(|c| c.refresh_refused = Some(aadsts));
        w.clock.advance(mfp_oauth_core::Duration::from_mins(61));
        let (r, events) = send(&mut dev);
        assert_eq!(r.diag(), Some(diag), "AADSTS{aadsts}: {r:?}");
        assert!(!events.iter().any(|e| matches!(e, JobEvent::Notice(_))));
        assert_eq!(dev.mailer.store().admin_status(), TokenStatus::Acquired);
        assert_eq!(admin_rt(&dev), kept);
        drop(dev);
        let mut dev = open(&w, &dir);
        assert_eq!(admin_rt(&dev), kept, "still on disk");
        w.sim.configure(|c| c.refresh_refused = None);
        let (r, _) = send(&mut dev);
        assert!(r.sent(), "{r:?}");
        let _ = std::fs::remove_dir_all(dir);
    }
    let (w, dir, mut dev) = setup("revoked");
    w.sim.revoke_refresh_tokens(ADMIN);
    w.clock.advance(mfp_oauth_core::Duration::from_mins(61));
    let (r, events) = send(&mut dev);
    assert!(!r.sent());
    assert!(events.iter().any(|e| matches!(
        e,
        JobEvent::Notice(mfp_oauth_core::token::StoreEvent::AdminReauthNeeded)
    )));
    assert!(dev
        .mailer
        .store()
        .refresh_token(&TokenOwner::Admin)
        .is_none());
    assert_eq!(dev.mailer.store().admin_status(), TokenStatus::ReauthNeeded);
    let _ = std::fs::remove_dir_all(dir);
}

/// Sizes of the host-side objects, for the report (`--nocapture`).
#[test]
fn print_sizes() {
    use std::mem::size_of;
    let sizes = [
        ("app::Device (Mailer inside)", size_of::<Device>()),
        (
            "core mailer::Mailer",
            size_of::<mfp_oauth_core::mailer::Mailer>(),
        ),
        (
            "core smtp::Client",
            size_of::<mfp_oauth_core::smtp::Client>(),
        ),
        (
            "core oauth::Client<Vec<u8>>",
            size_of::<mfp_oauth_core::oauth::Client<Vec<u8>>>(),
        ),
        (
            "driver::smtp::Pump (+2x16 KiB heap, +16 KiB while streaming a body)",
            size_of::<mfp_oauth_host::driver::smtp::Pump>(),
        ),
        (
            "mime::MimeStream (core composer inside)",
            size_of::<mfp_oauth_host::mime::MimeStream>(),
        ),
        (
            "net::Connection",
            size_of::<mfp_oauth_host::net::Connection>(),
        ),
    ];
    for (name, n) in sizes {
        println!("{name:<40} {n:>7} bytes");
        assert!(n > 0);
    }
}

// A server that drops the connection mid-DATA, through the Mailer: the job
// fails with "connection closed", nothing is reported sent or stored. The
// body (4 MiB) is far larger than the loopback socket buffers, so the drop
// is seen before the final dot can go out (after it, the client could not
// tell whether the message was taken: E330, issue 15).
#[test]
fn dropped_mid_data_fails_the_job_cleanly() {
    let (w, dir, mut dev) = setup("dropdata");
    let dropping = w
        .start_smtp(SmtpConfig {
            drop_during_data_after: Some(100),
            ..SmtpConfig::default()
        })
        .unwrap();
    let mut s = dev.mailer.settings().clone();
    s.smtp = SmtpServer::new("127.0.0.1", dropping.port(), Security::StartTls);
    dev.apply_settings(s).unwrap();
    let to = [Address::parse("carol@fabrikam.test").unwrap()];
    let body = "a line of a large scan\r\n".repeat(175_000);
    let spec = JobSpec {
        function: Function::ScanToEmail,
        user: None,
        from: None,
        to: &to,
        size: Some(body.len() as u64),
    };
    let mut no_sign_in = |_: &Device, _: bool, _: AuthMethod, _: &Address| {
        Err(FlowError::Failed(
            mfp_oauth_core::diag::Id::AdminTokenRequired,
        ))
    };
    let r = job::run(
        &mut dev,
        &spec,
        &mut body.as_bytes(),
        &mut no_sign_in,
        &mut |_| {},
    )
    .unwrap();
    assert!(!r.sent());
    assert_eq!(
        r.diag(),
        Some(mfp_oauth_core::diag::Id::ConnectionClosed),
        "{r:?}"
    );
    assert!(w.sim.messages().is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

// Issue 11: the CLI's streamed MIME message (a 6 MiB file read through one
// fixed buffer) arrives as announced: its size is the SIZE the client
// declared, a real MIME parser reads it back, and the attachment decodes
// to the file, octet for octet.
#[test]
fn streamed_scan_arrives_whole_and_parses_back() {
    use mail_parser::MimeHeaders as _;
    use mfp_oauth_host::mime::{self, Attachment, Composition};
    let (w, dir, mut dev) = setup("streamed");
    let file = dir.join("relevé 0001.pdf");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let data: Vec<u8> = (0..6 * 1024 * 1024 + 7)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&file, &data).unwrap();
    let atts = [Attachment::from_file(&file).unwrap()];
    let to_s = [
        "carol@fabrikam.test".to_owned(),
        "dan@fabrikam.test".to_owned(),
    ];
    let to: Vec<Address> = to_s.iter().map(|t| Address::parse(t).unwrap()).collect();
    let mut body = mime::stream(&Composition {
        from: ADMIN,
        to: &to_s,
        subject: "Numérisation du 24 novembre",
        text: "Document numérisé en pièce jointe.\n",
        attachments: &atts,
        message_id_local: "streamed-1",
        date: std::time::SystemTime::now(),
    });
    let announced = body.len();
    let spec = JobSpec {
        function: Function::ScanToEmail,
        user: None,
        from: None,
        to: &to,
        size: Some(announced),
    };
    let mut no_sign_in = |_: &Device, _: bool, _: AuthMethod, _: &Address| {
        Err(FlowError::Failed(
            mfp_oauth_core::diag::Id::AdminTokenRequired,
        ))
    };
    let r = job::run(&mut dev, &spec, &mut body, &mut no_sign_in, &mut |_| {}).unwrap();
    assert!(r.sent(), "{r:?}");
    let got = w.sim.messages().pop().unwrap();
    assert_eq!(got.recipients, to_s.to_vec());
    assert_eq!(got.data.len() as u64, announced, "produced = announced");
    let parsed = mail_parser::MessageParser::default()
        .parse(&got.data)
        .expect("a MIME message");
    assert_eq!(parsed.subject(), Some("Numérisation du 24 novembre"));
    assert_eq!(
        parsed.message_id(),
        Some("streamed-1@contoso.test"),
        "Message-ID"
    );
    assert!(parsed.date().is_some(), "Date");
    assert_eq!(
        parsed.body_text(0).as_deref(),
        Some("Document numérisé en pièce jointe.\r\n")
    );
    assert_eq!(parsed.attachment_count(), 1);
    let att = parsed.attachment(0).unwrap();
    assert_eq!(att.attachment_name(), Some("relevé 0001.pdf"));
    assert!(
        att.contents() == data.as_slice(),
        "attachment differs from the file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// Issue 16: a job whose body the core composer made goes out declared
// canonical (`job::run_composed`, `write_body_canonical`); the server
// stores the very octets composed, as through the scanning path.
#[test]
fn a_composed_body_declared_canonical_arrives_as_composed() {
    use mfp_oauth_host::mime::{self, Attachment, Composition};
    let (w, dir, mut dev) = setup("canonical");
    let file = dir.join("scan.pdf");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 31 + i / 7) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let atts = [Attachment::from_file(&file).unwrap()];
    let to_s = ["carol@fabrikam.test".to_owned()];
    let to: Vec<Address> = to_s.iter().map(|t| Address::parse(t).unwrap()).collect();
    let when = std::time::SystemTime::now();
    let composition = Composition {
        from: ADMIN,
        to: &to_s,
        subject: "Scan",
        text: ".\n..two dots\n.end\n",
        attachments: &atts,
        message_id_local: "canonical-1",
        date: when,
    };
    let composed = mime::compose(&composition).unwrap();
    let mut no_sign_in = |_: &Device, _: bool, _: AuthMethod, _: &Address| {
        Err(FlowError::Failed(
            mfp_oauth_core::diag::Id::AdminTokenRequired,
        ))
    };
    let mut stored = Vec::new();
    for composed_path in [true, false] {
        let mut body = mime::stream(&composition);
        let spec = JobSpec {
            function: Function::ScanToEmail,
            user: None,
            from: None,
            to: &to,
            size: Some(body.len()),
        };
        let r = if composed_path {
            job::run_composed(&mut dev, &spec, &mut body, &mut no_sign_in, &mut |_| {})
        } else {
            job::run(&mut dev, &spec, &mut body, &mut no_sign_in, &mut |_| {})
        }
        .unwrap();
        assert!(r.sent(), "{r:?}");
        stored.push(w.sim.messages().pop().unwrap().data);
    }
    assert!(
        stored[0] == composed,
        "the canonical path changed the message"
    );
    assert!(
        stored[1] == composed,
        "the scanning path changed the message"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
