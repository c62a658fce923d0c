//! `mfp-oauth demo`: a printer's day, played with the real drivers against
//! the simulated provider and SMTP server on 127.0.0.1 (see [`crate::sim`]),
//! told as a story (or JSON lines). Every step is checked; the demo
//! succeeds only if all checks pass.

use crate::app::job::{self, JobEvent, JobSpec};
use crate::app::signin::{self, FlowError, Prompt, SignedIn};
use crate::app::Device;
use crate::clock::Clock;
use crate::mime::{self, Attachment, Composition};
use crate::sim::smtp::SmtpConfig;
use crate::sim::{SimConfig, World};
use crate::story::{Format, Story};
use mfp_oauth_core::config::{CustomProvider, ProviderKind, SenderMode, SmtpServer};
use mfp_oauth_core::diag::{Id, Lang};
use mfp_oauth_core::function::Function;
use mfp_oauth_core::mailer::{AuthMethod, Plan};
use mfp_oauth_core::policy::User;
use mfp_oauth_core::smtp::Security;
use mfp_oauth_core::token::{StoreEvent, TokenOwner, TokenStatus};
use mfp_oauth_core::{Address, Duration};
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

const ADMIN: &str = "admin@contoso.test";
const ALICE: &str = "alice@contoso.test";
const BOB: &str = "bob@contoso.test";

fn addr(s: &str) -> Address {
    // Every address of the demo is a valid literal; an invalid one would
    // show up as a failed check, never as a panic.
    Address::parse(s).unwrap_or_default()
}

struct Ctx<'w, W: Write> {
    story: RefCell<Story<W>>,
    world: &'w World,
    dir: PathBuf,
    qr_shown: Cell<bool>,
}

fn status_name(s: TokenStatus) -> &'static str {
    match s {
        TokenStatus::Required => "Required",
        TokenStatus::Acquired => "Acquired",
        TokenStatus::ReauthNeeded => "Re-authentication needed",
    }
}

impl<W: Write> Ctx<'_, W> {
    fn say(&self, text: &str) {
        self.story.borrow_mut().say(text);
    }

    fn fact(&self, k: &str, v: &str) {
        self.story.borrow_mut().fact(k, v);
    }

    fn check(&self, what: &str, ok: bool) -> bool {
        self.story.borrow_mut().check(what, ok)
    }

    fn chapter(&self, title: &str) {
        self.story.borrow_mut().chapter(title);
    }

    /// The simulated person signs in: approves the device code at the
    /// first poll, or the simulated browser consents.
    fn sign_in(
        &self,
        device: &Device,
        method: AuthMethod,
        account: &Address,
    ) -> Result<SignedIn, FlowError> {
        let world = self.world;
        let mut code = String::new();
        let mut approved = false;
        let who = account.as_str().to_owned();
        let r = signin::sign_in(
            device,
            method,
            account,
            &mut |p| match p {
                Prompt::DeviceCode(d) => {
                    code = d.user_code.to_string();
                    self.say(&format!(
                        "The panel shows: go to {} and enter the code {}",
                        d.verification_uri, d.user_code
                    ));
                    let target = d.qr_text();
                    if self.qr_shown.replace(true) {
                        self.say("(with the same QR code as before)");
                    } else if let Some(qr) = crate::qr::render(target) {
                        self.story.borrow_mut().block(&qr);
                    }
                }
                Prompt::OpenUrl(url) => self.fact("authorize URL", url),
                Prompt::Contacting(_) | Prompt::Retrying { .. } | Prompt::ProviderSaid(_) => {}
                Prompt::SlowDown(i) => self.say(&format!(
                    "The provider asks to poll every {} s.",
                    i.as_secs()
                )),
                Prompt::Polled => {
                    if !approved {
                        self.say("Polling the token endpoint: authorization pending…");
                        self.say(&format!("(simulated) {who} opens the page on a phone, enters the code and approves."));
                        approved = world.sim.approve_device(&code, &who);
                    }
                }
            },
            &mut |url| {
                let tls = world.tls_settings();
                std::thread::spawn(move || {
                    let _ = crate::sim::browser::sign_in(&url, &tls);
                });
            },
        );
        if r.is_ok() {
            self.say(&format!("{who} is signed in; the access token stays in RAM, the refresh token goes to the image."));
        }
        r
    }

    fn job(&self, device: &mut Device, job: &DemoJob<'_>) -> Option<job::JobReport> {
        let mut sign_in = |d: &Device, admin: bool, m: AuthMethod, a: &Address| {
            if admin {
                // The administrator Acquires in the settings, not at a job.
                return Err(FlowError::Failed(match d.mailer.store().admin_status() {
                    TokenStatus::ReauthNeeded => Id::AdminReauthNeeded,
                    _ => Id::AdminTokenRequired,
                }));
            }
            self.sign_in(d, m, a)
        };
        let mut body = job.body;
        let result = job::run(device, &job.spec, &mut body, &mut sign_in, &mut |e| {
            self.tell(e);
        });
        match result {
            Ok(r) => {
                match &r.result {
                    Plan::Done { reply, .. } => self.fact(
                        "server",
                        &r.server_reply.clone().unwrap_or_else(|| reply.to_string()),
                    ),
                    Plan::Failed { diag } => {
                        if let Some(s) = &r.server_reply {
                            self.fact("server", s);
                        }
                        self.say("The job failed:");
                        self.story.borrow_mut().diagnostic(*diag);
                    }
                    _ => {}
                }
                Some(r)
            }
            Err(e) => {
                self.say(&format!("The job could not run: {e}"));
                None
            }
        }
    }

    fn tell(&self, e: &JobEvent) {
        match e {
            JobEvent::SignInNeeded { admin: false, account, .. } => {
                self.say(&format!("No token yet for {account}: the panel shows the OAuth screen and the user signs in."));
            }
            JobEvent::SignInNeeded { admin: true, .. } => {
                self.say("The administrator's token is needed and must be Acquired in the settings.");
            }
            JobEvent::Refreshing(owner) => {
                let who = match owner {
                    TokenOwner::Admin => "the administrator's".to_owned(),
                    TokenOwner::User(id) => format!("{id}'s"),
                    _ => "the public user's".to_owned(),
                };
                self.say(&format!("No valid access token in RAM: refresh grant with {who} refresh token."));
            }
            JobEvent::Refreshed { rotated } => self.say(if *rotated {
                "New access token; the provider rotated the refresh token and the new one was saved."
            } else {
                "New access token."
            }),
            JobEvent::RefreshFailed(e) => self.say(&format!("The refresh grant failed (E{} {}).", e.diag().number(), e.diag().name())),
            JobEvent::Connected => {}
            JobEvent::Tls(info) => self.fact("TLS", &format!("{} {}", info.version, info.cipher_suite)),
            JobEvent::Smtp(mfp_oauth_core::smtp::Event::Authenticated { mechanism }) => {
                self.fact("SMTP AUTH", &format!("{} accepted", mechanism.name()));
            }
            JobEvent::Smtp(mfp_oauth_core::smtp::Event::AuthRejected { code, .. }) => {
                self.fact("SMTP AUTH", &format!("rejected ({code})"));
            }
            JobEvent::Notice(StoreEvent::AdminReauthNeeded) => {
                self.say("Information screen: \"The administrator's authentication was cancelled.\" [Acquire]");
            }
            JobEvent::Notice(n) => {
                if let Some(id) = n.diag() {
                    self.story.borrow_mut().diagnostic(id);
                }
            }
            _ => {}
        }
    }

    fn open(&self) -> Option<Device> {
        let clock: Arc<dyn Clock> = Arc::new(self.world.clock.clone());
        match Device::open(&self.dir, clock, self.world.tls_settings()) {
            Ok(mut d) => {
                d.ehlo = "mfp-3f-east.contoso.test".to_owned();
                Some(d)
            }
            Err(e) => {
                self.check(&format!("the printer state opens ({e})"), false);
                None
            }
        }
    }
}

/// A job and its message.
struct DemoJob<'a> {
    spec: JobSpec<'a>,
    body: &'a [u8],
}

/// A job of `function` with the mode's default From address.
fn js<'a>(
    function: Function,
    user: Option<User<'a>>,
    to: &'a [Address],
    body: &'a [u8],
) -> DemoJob<'a> {
    DemoJob {
        spec: JobSpec {
            function,
            user,
            from: None,
            to,
            size: Some(body.len() as u64),
        },
        body,
    }
}

fn scan(n: usize) -> Vec<u8> {
    // A stand-in for a scanned PDF: a header and pseudo-random pages.
    let mut v = b"%PDF-1.7\n% simulated scan\n".to_vec();
    let mut x: u32 = 0x2545_F491;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push((x & 0xFF) as u8);
    }
    v.extend_from_slice(b"\n%%EOF\n");
    v
}

fn message(from: &str, to: &[&str], subject: &str, file: &str, size: usize, id: &str) -> Vec<u8> {
    let to: Vec<String> = to.iter().map(|s| (*s).to_owned()).collect();
    let att = [Attachment::from_bytes(
        file,
        mime::content_type_for(std::path::Path::new(file)),
        scan(size),
    )];
    mime::compose(&Composition {
        from,
        to: &to,
        subject,
        text: "Scanned on the 3rd-floor printer.",
        attachments: &att,
        message_id_local: id,
        date: std::time::SystemTime::now(),
    })
    .unwrap_or_default()
}

/// Play the demo; true when every check passed.
pub fn run<W: Write>(out: W, format: Format, lang: Lang) -> bool {
    let mut story = Story::new(out, format, lang);
    let world = match World::start(
        SimConfig {
            access_lifetime: Duration::from_mins(60),
            ..SimConfig::default()
        },
        SmtpConfig::default(),
    ) {
        Ok(w) => w,
        Err(e) => {
            story.check(&format!("the simulated servers start ({e})"), false);
            return story.finish();
        }
    };
    let dir = std::env::temp_dir().join(format!(
        "mfp-oauth-demo-{}-{}",
        std::process::id(),
        world.provider.port()
    ));
    let ctx = Ctx {
        story: RefCell::new(story),
        world: &world,
        dir: dir.clone(),
        qr_shown: Cell::new(false),
    };
    play(&ctx);
    let _ = std::fs::remove_dir_all(&dir);
    ctx.story.into_inner().finish()
}

fn play<W: Write>(c: &Ctx<'_, W>) {
    let w = c.world;
    c.chapter("Setting up: a simulated Microsoft-like provider and SMTP server on 127.0.0.1");
    c.fact("provider", &w.provider.base_url());
    c.fact(
        "SMTP",
        &format!(
            "127.0.0.1:{} (STARTTLS, XOAUTH2 and OAUTHBEARER)",
            w.smtp.port()
        ),
    );
    c.fact(
        "certificates",
        "private CA generated at start; the drivers trust it explicitly",
    );
    c.say("These are test doubles inside this process; everything else is the real code.");
    let Some(mut dev) = c.open() else { return };

    // 1. Settings.
    c.chapter("The administrator turns OAuth 2.0 on");
    let mut s = dev.mailer.settings().clone();
    s.oauth_enabled = true;
    s.provider = ProviderKind::Custom;
    s.client_id = "mfp-oauth-demo".try_into().unwrap_or_default();
    s.custom = CustomProvider {
        token_url: w
            .provider
            .token_endpoint()
            .as_str()
            .try_into()
            .unwrap_or_default(),
        device_url: w
            .provider
            .device_endpoint()
            .as_str()
            .try_into()
            .unwrap_or_default(),
        authorize_url: w
            .provider
            .authorize_endpoint()
            .as_str()
            .try_into()
            .unwrap_or_default(),
        scope: "https://outlook.office.com/SMTP.Send offline_access"
            .try_into()
            .unwrap_or_default(),
    };
    s.smtp = SmtpServer::new("127.0.0.1", w.smtp.port(), Security::StartTls);
    s.admin_address = Some(addr(ADMIN));
    s.sender_mode = SenderMode::AdminFixedAddress;
    s.auto_delete_user_tokens = true;
    let applied = dev.apply_settings(s);
    c.say("Administrator address admin@contoso.test, sender mode \"administrator fixed address\", automatic deletion of user tokens on.");
    c.check(
        "the settings pass every configuration rule",
        applied.is_ok(),
    );
    c.check(
        "turning OAuth on asks the panel for the OAuth screen (R-RULE-6)",
        matches!(applied, Ok(true)),
    );
    let status = dev.mailer.store().admin_status();
    c.fact("administrator refresh token", status_name(status));
    c.check(
        "the administrator's refresh token reads Required (R-TOK-3)",
        status == TokenStatus::Required,
    );

    // 2. Admin acquires.
    c.chapter("The administrator acquires a token with a device code");
    let acquired = c.sign_in(&dev, AuthMethod::DeviceCode, &addr(ADMIN));
    let ok = match &acquired {
        Ok(t) => {
            let stored = dev.acquire(None, t);
            let rt = t
                .refresh_token()
                .map(|r| r.expose().to_vec())
                .unwrap_or_default();
            let on_disk: Vec<u8> = [crate::app::SLOT_A, crate::app::SLOT_B]
                .iter()
                .filter_map(|f| std::fs::read(c.dir.join(f)).ok())
                .flatten()
                .collect();
            c.check(
                "the refresh token is saved in the persistence image",
                stored.is_ok() && !on_disk.is_empty(),
            );
            c.check(
                "the image holds the refresh token sealed, never in clear (R-NV)",
                !rt.is_empty() && !on_disk.windows(rt.len()).any(|win| win == rt.as_slice()),
            );
            stored.is_ok()
        }
        Err(e) => {
            c.story.borrow_mut().diagnostic(e.diag());
            false
        }
    };
    let status = dev.mailer.store().admin_status();
    c.fact("administrator refresh token", status_name(status));
    c.check(
        "the administrator signed in and the status reads Acquired (R-TOK-3)",
        ok && status == TokenStatus::Acquired,
    );

    // 3. Scan to e-mail.
    c.chapter("Scan to E-mail: a 2-page scan to two colleagues (administrator's token)");
    let to = [addr("carol@fabrikam.test"), addr("dave@fabrikam.test")];
    let body = message(
        ADMIN,
        &["carol@fabrikam.test", "dave@fabrikam.test"],
        "Scan from MFP 3F-East",
        "scan-0001.pdf",
        120_000,
        "job-0001",
    );
    let report = c.job(&mut dev, &js(Function::ScanToEmail, None, &to, &body));
    let got = w.sim.messages();
    c.check("the message was sent from the administrator's address with the administrator's token (R-POL)",
        report.as_ref().is_some_and(job::JobReport::sent) && got.last().is_some_and(|m| m.from == ADMIN && m.account == ADMIN && m.recipients.len() == 2));
    c.check(
        "the server received the attachment intact (base64 MIME, dot-stuffing undone)",
        got.last().is_some_and(|m| m.data == body),
    );

    // 4. Alice's scan to me.
    c.chapter("Alice scans to herself with her own token");
    let mut s = dev.mailer.settings().clone();
    s.sender_mode = SenderMode::LoginUserAddress;
    c.check(
        "the administrator switches the sender to \"login user address\"",
        dev.apply_settings(s).is_ok(),
    );
    c.say("Alice logs in at the panel and presses Scan to Me.");
    let alice = addr(ALICE);
    let body = message(
        ALICE,
        &[ALICE],
        "Scan to Me",
        "expenses.pdf",
        40_000,
        "job-0002",
    );
    let to = [alice.clone()];
    let user = User {
        id: "alice",
        address: Some(&alice),
    };
    let before = w.sim.messages().len();
    let report = c.job(&mut dev, &js(Function::ScanToMe, Some(user), &to, &body));
    let got = w.sim.messages();
    c.check(
        "Alice signed in at send time and her message went out with her token (R-TOK-6, R-POL)",
        report.as_ref().is_some_and(job::JobReport::sent)
            && got.len() == before + 1
            && got
                .last()
                .is_some_and(|m| m.account == ALICE && m.from == ALICE),
    );

    // 5. Expiry and silent refresh.
    c.chapter("65 minutes later: the access token has expired");
    w.clock.advance(Duration::from_mins(65));
    w.sim.configure(|cfg| cfg.chunked = true);
    c.say("(The provider now answers with Transfer-Encoding: chunked.)");
    let alice_rt_before = dev
        .mailer
        .store()
        .refresh_token(&TokenOwner::User("alice".try_into().unwrap_or_default()))
        .map(|t| t.expose().to_vec());
    let images = dev.images_written;
    let body = message(
        ALICE,
        &[ALICE],
        "Scan to Me",
        "receipt.pdf",
        8_000,
        "job-0003",
    );
    let report = c.job(&mut dev, &js(Function::ScanToMe, Some(user), &to, &body));
    let alice_rt_after = dev
        .mailer
        .store()
        .refresh_token(&TokenOwner::User("alice".try_into().unwrap_or_default()))
        .map(|t| t.expose().to_vec());
    c.check(
        "the job refreshed silently and was sent, no sign-in asked (R-TOK-1, R-TOK-2)",
        report.as_ref().is_some_and(job::JobReport::sent),
    );
    let rotated = alice_rt_before.is_some() && alice_rt_before != alice_rt_after;
    let old_dead = alice_rt_before
        .as_ref()
        .is_some_and(|rt| !w.sim.refresh_token_valid(&String::from_utf8_lossy(rt)));
    c.check(
        "the refresh token was rotated and the provider retired the old one",
        rotated && old_dead,
    );
    c.check(
        "the rotated refresh token was persisted at once",
        dev.images_written > images,
    );

    // 6. Power cycle.
    c.chapter("Power cycle");
    drop(dev);
    let Some(mut dev) = c.open() else { return };
    c.say("The printer restarts and reads its persistence image.");
    c.check(
        "no access token survived the restart (R-TOK-1)",
        dev.mailer.store().cached_access_tokens() == 0,
    );
    let alice_status = dev
        .mailer
        .store()
        .users()
        .find(|u| u.0 == "alice")
        .map(|u| u.1);
    c.check(
        "the administrator's and Alice's refresh tokens did (R-TOK-2, R-NV)",
        dev.mailer.store().admin_status() == TokenStatus::Acquired
            && alice_status == Some(TokenStatus::Acquired),
    );
    let body = message(
        ALICE,
        &[ALICE],
        "Scan to Me",
        "contract.pdf",
        20_000,
        "job-0004",
    );
    let report = c.job(&mut dev, &js(Function::ScanToMe, Some(user), &to, &body));
    c.check(
        "Alice's next scan refreshes with the rotated token from the image and is sent",
        report.as_ref().is_some_and(job::JobReport::sent),
    );

    // 7. Admin notification.
    c.chapter("The printer e-mails a status notification (an administrator function)");
    let admin_to = [addr("helpdesk@contoso.test")];
    let body = b"Subject: Toner low\r\nFrom: admin@contoso.test\r\nTo: helpdesk@contoso.test\r\n\r\nMFP 3F-East: black toner at 5%.\r\n".to_vec();
    let before = w.sim.messages().len();
    let report = c.job(
        &mut dev,
        &js(Function::StatusNotification, None, &admin_to, &body),
    );
    let got = w.sim.messages();
    c.check(
        "administrator functions always send with the administrator's token (R-POL)",
        report.as_ref().is_some_and(job::JobReport::sent)
            && got.len() == before + 1
            && got.last().is_some_and(|m| m.account == ADMIN),
    );

    // 8. Logout with auto-delete.
    c.chapter("Alice logs out (automatic deletion of user tokens is on)");
    let settings = dev.mailer.settings().clone();
    let deleted = dev.mailer.store_mut().logout("alice", &settings);
    let saved = dev.drain_store().is_ok();
    c.check(
        "Alice's tokens were deleted at logout (R-TOK-5)",
        deleted && saved && dev.mailer.store().users().all(|u| u.0 != "alice"),
    );
    drop(dev);
    let Some(mut dev) = c.open() else { return };
    c.check(
        "and they are gone from the saved image too",
        dev.mailer.store().users().all(|u| u.0 != "alice"),
    );

    // 9. Admin token revoked.
    c.chapter("The administrator's refresh token is revoked at the provider");
    w.sim.revoke_refresh_tokens(ADMIN);
    w.clock.advance(Duration::from_mins(65));
    c.say("(A password change at the provider revoked it; an hour passes.)");
    let report = c.job(
        &mut dev,
        &js(Function::StatusNotification, None, &admin_to, &body),
    );
    c.check(
        "the notification is held with \"administrator must re-authenticate\" (R-TOK-4)",
        report.as_ref().and_then(job::JobReport::diag) == Some(Id::AdminReauthNeeded),
    );
    c.check(
        "the Information screen warns",
        dev.mailer.store().admin_notice()
            || dev.mailer.store().admin_status() == TokenStatus::ReauthNeeded,
    );
    c.say("The administrator presses Acquire.");
    let again = c.sign_in(&dev, AuthMethod::DeviceCode, &addr(ADMIN));
    let ok = again.is_ok_and(|t| dev.acquire(None, &t).is_ok());
    let report = c.job(
        &mut dev,
        &js(Function::StatusNotification, None, &admin_to, &body),
    );
    c.check(
        "after Acquire the status is Acquired again and the notification goes out",
        ok && report.as_ref().is_some_and(job::JobReport::sent),
    );

    // 10. 5.7.139.
    c.chapter("Bob's mailbox has SMTP AUTH disabled");
    w.sim.set_smtp_auth_disabled(BOB, true);
    let bob = addr(BOB);
    let bob_to = [bob.clone()];
    let body = message(BOB, &[BOB], "Scan to Me", "plans.pdf", 10_000, "job-0005");
    let before = w.sim.messages().len();
    let report = c.job(
        &mut dev,
        &DemoJob {
            spec: JobSpec {
                function: Function::ScanToMe,
                user: Some(User {
                    id: "bob",
                    address: Some(&bob),
                }),
                from: None,
                to: &bob_to,
                size: Some(body.len() as u64),
            },
            body: &body,
        },
    );
    c.check(
        "the 535 5.7.139 answer is reported as E305 with its remedy (R-DIAG)",
        report.as_ref().and_then(job::JobReport::diag) == Some(Id::SmtpAuthDisabled)
            && report
                .as_ref()
                .and_then(|r| r.server_reply.as_deref())
                .is_some_and(|s| s.contains("5.7.139")),
    );
    c.check(
        "nothing was sent for Bob, and no refresh loop was tried",
        w.sim.messages().len() == before,
    );
}
