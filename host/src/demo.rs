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
use mfp_oauth_core::config::{CustomProvider, ProviderKind, SenderMode, SmtpServer, Transport};
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

fn status_name(s: TokenStatus, lang: Lang) -> &'static str {
    match (s, lang) {
        (TokenStatus::Required, Lang::Fr) => "Obligatoire",
        (TokenStatus::Acquired, Lang::Fr) => "Acquis",
        (TokenStatus::ReauthNeeded, Lang::Fr) => "Réauthentification nécessaire",
        (TokenStatus::Required, _) => "Required",
        (TokenStatus::Acquired, _) => "Acquired",
        (TokenStatus::ReauthNeeded, _) => "Re-authentication needed",
    }
}

/// `en` or `fr`, as `lang` says.
fn tr(lang: Lang, en: &'static str, fr: &'static str) -> &'static str {
    match lang {
        Lang::Fr => fr,
        _ => en,
    }
}

impl<W: Write> Ctx<'_, W> {
    /// The story's language.
    fn lang(&self) -> Lang {
        self.story.borrow().lang()
    }

    /// `en` or `fr`, in the story's language (the demo is told in both).
    fn t(&self, en: &'static str, fr: &'static str) -> &'static str {
        tr(self.lang(), en, fr)
    }

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
                    self.say(
                        &self
                            .t(
                                "The panel shows: go to {uri} and enter the code {code}",
                                "Le panneau affiche : aller sur {uri} et saisir le code {code}",
                            )
                            .replace("{uri}", &d.verification_uri)
                            .replace("{code}", &d.user_code),
                    );
                    let target = d.qr_text();
                    if self.qr_shown.replace(true) {
                        self.say(self.t(
                            "(with the same QR code as before)",
                            "(avec le même code QR que précédemment)",
                        ));
                    } else if let Some(qr) = crate::qr::render(target) {
                        self.story.borrow_mut().block(&qr);
                    }
                }
                Prompt::OpenUrl(url) => self.fact("authorize URL", url),
                Prompt::Contacting(_) | Prompt::Retrying { .. } | Prompt::ProviderSaid(_) => {}
                Prompt::SlowDown(i) => self.say(
                    &self
                        .t(
                            "The provider asks to poll every {s} s.",
                            "Le fournisseur demande d'interroger toutes les {s} s.",
                        )
                        .replace("{s}", &i.as_secs().to_string()),
                ),
                Prompt::Polled => {
                    if !approved {
                        self.say(self.t("Polling the token endpoint: authorization pending…", "Interrogation du point de terminaison des jetons : autorisation en attente…"));
                        self.say(&self.t("(simulated) {who} opens the page on a phone, enters the code and approves.", "(simulé) {who} ouvre la page sur un téléphone, saisit le code et approuve.").replace("{who}", &who));
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
            self.say(&self.t("{who} is signed in; the access token stays in RAM, the refresh token goes to the image.", "{who} est connecté ; le jeton d'accès reste en RAM, le jeton d'actualisation va dans l'image.").replace("{who}", &who));
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
        let mut body = std::io::Cursor::new(job.body);
        let result = job::run_composed(device, &job.spec, &mut body, &mut sign_in, &mut |e| {
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
                        self.say(self.t("The job failed:", "La tâche a échoué :"));
                        self.story.borrow_mut().diagnostic(*diag);
                    }
                    _ => {}
                }
                Some(r)
            }
            Err(e) => {
                self.say(
                    &self
                        .t(
                            "The job could not run: {e}",
                            "La tâche n'a pas pu s'exécuter : {e}",
                        )
                        .replace("{e}", &e.to_string()),
                );
                None
            }
        }
    }

    fn tell(&self, e: &JobEvent) {
        match e {
            JobEvent::SignInNeeded { admin: false, account, .. } => {
                self.say(&self.t("No token yet for {account}: the panel shows the OAuth screen and the user signs in.", "Pas encore de jeton pour {account} : le panneau affiche l'écran OAuth et l'utilisateur se connecte.").replace("{account}", account.as_str()));
            }
            JobEvent::SignInNeeded { admin: true, .. } => {
                self.say(self.t("The administrator's token is needed and must be Acquired in the settings.", "Le jeton de l'administrateur est nécessaire et doit être acquis dans les réglages."));
            }
            JobEvent::Refreshing(owner) => {
                let text = match owner {
                    TokenOwner::Admin => self.t("No valid access token in RAM: refresh grant with the administrator's refresh token.", "Aucun jeton d'accès valide en RAM : renouvellement avec le jeton d'actualisation de l'administrateur."),
                    TokenOwner::User(_) => self.t("No valid access token in RAM: refresh grant with {id}'s refresh token.", "Aucun jeton d'accès valide en RAM : renouvellement avec le jeton d'actualisation de l'utilisateur {id}."),
                    _ => self.t("No valid access token in RAM: refresh grant with the public user's refresh token.", "Aucun jeton d'accès valide en RAM : renouvellement avec le jeton d'actualisation de l'utilisateur public."),
                };
                let id = match owner {
                    TokenOwner::User(id) => id.to_string(),
                    _ => String::new(),
                };
                self.say(&text.replace("{id}", &id));
            }
            JobEvent::Refreshed { rotated } => self.say(if *rotated {
                self.t("New access token; the provider rotated the refresh token and the new one was saved.", "Nouveau jeton d'accès ; le fournisseur a remplacé le jeton d'actualisation et le nouveau a été enregistré.")
            } else {
                self.t("New access token.", "Nouveau jeton d'accès.")
            }),
            JobEvent::RefreshFailed(e) => self.say(&self.t("The refresh grant failed (E{n} {name}).", "Le renouvellement a échoué (E{n} {name}).").replace("{n}", &e.diag().number().to_string()).replace("{name}", e.diag().name())),
            JobEvent::Connected => {}
            JobEvent::Tls(info) => self.fact("TLS", &format!("{} {}", info.version, info.cipher_suite)),
            JobEvent::Smtp(mfp_oauth_core::smtp::Event::Authenticated { mechanism }) => {
                self.fact("SMTP AUTH", &self.t("{m} accepted", "{m} accepté").replace("{m}", mechanism.name()));
            }
            JobEvent::Smtp(mfp_oauth_core::smtp::Event::AuthRejected { code, .. }) => {
                self.fact("SMTP AUTH", &self.t("rejected ({code})", "refusé ({code})").replace("{code}", &code.to_string()));
            }
            JobEvent::Notice(StoreEvent::AdminReauthNeeded) => {
                self.say(self.t("Information screen: \"The administrator's authentication was cancelled.\" [Acquire]", "Écran Information : \"L'authentification de l'administrateur a été annulée.\" [Acquérir]"));
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
                self.check(
                    &self
                        .t(
                            "the printer state opens ({e})",
                            "l'état de l'imprimante s'ouvre ({e})",
                        )
                        .replace("{e}", &e.to_string()),
                    false,
                );
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
            story.check(
                &tr(
                    lang,
                    "the simulated servers start ({e})",
                    "les serveurs simulés démarrent ({e})",
                )
                .replace("{e}", &e.to_string()),
                false,
            );
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
    c.chapter(c.t("Setting up: a simulated Microsoft-like provider and SMTP server on 127.0.0.1", "Mise en place : un fournisseur simulé à la manière de Microsoft et un serveur SMTP sur 127.0.0.1"));
    c.fact("provider", &w.provider.base_url());
    c.fact(
        "SMTP",
        &format!(
            "127.0.0.1:{} (STARTTLS, XOAUTH2 {} OAUTHBEARER)",
            w.smtp.port(),
            c.t("and", "et")
        ),
    );
    c.fact(
        "certificates",
        c.t(
            "private CA generated at start; the drivers trust it explicitly",
            "AC privée générée au démarrage ; les pilotes lui font confiance explicitement",
        ),
    );
    c.say(c.t(
        "These are test doubles inside this process; everything else is the real code.",
        "Ce sont des doublures de test dans ce processus ; tout le reste est le vrai code.",
    ));
    let Some(mut dev) = c.open() else { return };

    // 1. Settings.
    c.chapter(c.t(
        "The administrator turns OAuth 2.0 on",
        "L'administrateur active OAuth 2.0",
    ));
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
    c.say(c.t("Administrator address admin@contoso.test, sender mode \"administrator fixed address\", automatic deletion of user tokens on.", "Adresse de l'administrateur admin@contoso.test, mode d'expéditeur \"adresse fixe de l'administrateur\", suppression automatique des jetons des utilisateurs activée."));
    c.check(
        c.t(
            "the settings pass every configuration rule",
            "les réglages respectent toutes les règles de configuration",
        ),
        applied.is_ok(),
    );
    c.check(
        c.t(
            "turning OAuth on asks the panel for the OAuth screen (R-RULE-6)",
            "l'activation d'OAuth demande au panneau l'écran OAuth (R-RULE-6)",
        ),
        matches!(applied, Ok(true)),
    );
    let status = dev.mailer.store().admin_status();
    c.fact("administrator refresh token", status_name(status, c.lang()));
    c.check(
        c.t(
            "the administrator's refresh token reads Required (R-TOK-3)",
            "le jeton d'actualisation de l'administrateur indique Obligatoire (R-TOK-3)",
        ),
        status == TokenStatus::Required,
    );

    // 2. Admin acquires.
    c.chapter(c.t(
        "The administrator acquires a token with a device code",
        "L'administrateur acquiert un jeton avec un code d'appareil",
    ));
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
                c.t(
                    "the refresh token is saved in the persistence image",
                    "le jeton d'actualisation est enregistré dans l'image de persistance",
                ),
                stored.is_ok() && !on_disk.is_empty(),
            );
            c.check(
                c.t(
                    "the image holds the refresh token sealed, never in clear (R-NV)",
                    "l'image contient le jeton d'actualisation scellé, jamais en clair (R-NV)",
                ),
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
    c.fact("administrator refresh token", status_name(status, c.lang()));
    c.check(
        c.t(
            "the administrator signed in and the status reads Acquired (R-TOK-3)",
            "l'administrateur s'est connecté et l'état indique Acquis (R-TOK-3)",
        ),
        ok && status == TokenStatus::Acquired,
    );

    // 3. Scan to e-mail.
    c.chapter(c.t("Scan to E-mail: a 2-page scan to two colleagues (administrator's token)", "Numériser vers e-mail : une numérisation de 2 pages à deux collègues (jeton de l'administrateur)"));
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
    c.check(c.t("the message was sent from the administrator's address with the administrator's token (R-POL)", "le message a été envoyé depuis l'adresse de l'administrateur avec le jeton de l'administrateur (R-POL)"),
        report.as_ref().is_some_and(job::JobReport::sent) && got.last().is_some_and(|m| m.from == ADMIN && m.account == ADMIN && m.recipients.len() == 2));
    c.check(
        c.t(
            "the server received the attachment intact (base64 MIME, dot-stuffing undone)",
            "le serveur a reçu la pièce jointe intacte (MIME base64, doublement des points défait)",
        ),
        got.last().is_some_and(|m| m.data == body),
    );

    // 4. Alice's scan to me.
    c.chapter(c.t(
        "Alice scans to herself with her own token",
        "Alice se numérise un document avec son propre jeton",
    ));
    let mut s = dev.mailer.settings().clone();
    s.sender_mode = SenderMode::LoginUserAddress;
    c.check(
        c.t(
            "the administrator switches the sender to \"login user address\"",
            "l'administrateur passe l'expéditeur à \"adresse de l'utilisateur connecté\"",
        ),
        dev.apply_settings(s).is_ok(),
    );
    c.say(c.t(
        "Alice logs in at the panel and presses Scan to Me.",
        "Alice se connecte au panneau et appuie sur Numériser vers moi.",
    ));
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
        c.t("Alice signed in at send time and her message went out with her token (R-TOK-6, R-POL)", "Alice s'est connectée à l'envoi et son message est parti avec son jeton (R-TOK-6, R-POL)"),
        report.as_ref().is_some_and(job::JobReport::sent)
            && got.len() == before + 1
            && got
                .last()
                .is_some_and(|m| m.account == ALICE && m.from == ALICE),
    );

    // 5. Expiry and silent refresh.
    c.chapter(c.t(
        "65 minutes later: the access token has expired",
        "65 minutes plus tard : le jeton d'accès a expiré",
    ));
    w.clock.advance(Duration::from_mins(65));
    w.sim.configure(|cfg| cfg.chunked = true);
    c.say(c.t(
        "(The provider now answers with Transfer-Encoding: chunked.)",
        "(Le fournisseur répond maintenant avec Transfer-Encoding: chunked.)",
    ));
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
        c.t("the job refreshed silently and was sent, no sign-in asked (R-TOK-1, R-TOK-2)", "la tâche a renouvelé le jeton sans rien demander et a été envoyée, sans connexion (R-TOK-1, R-TOK-2)"),
        report.as_ref().is_some_and(job::JobReport::sent),
    );
    let rotated = alice_rt_before.is_some() && alice_rt_before != alice_rt_after;
    let old_dead = alice_rt_before
        .as_ref()
        .is_some_and(|rt| !w.sim.refresh_token_valid(&String::from_utf8_lossy(rt)));
    c.check(
        c.t(
            "the refresh token was rotated and the provider retired the old one",
            "le jeton d'actualisation a été remplacé et le fournisseur a retiré l'ancien",
        ),
        rotated && old_dead,
    );
    c.check(
        c.t(
            "the rotated refresh token was persisted at once",
            "le nouveau jeton d'actualisation a été enregistré aussitôt",
        ),
        dev.images_written > images,
    );

    // 6. Power cycle.
    c.chapter(c.t("Power cycle", "Redémarrage"));
    drop(dev);
    let Some(mut dev) = c.open() else { return };
    c.say(c.t(
        "The printer restarts and reads its persistence image.",
        "L'imprimante redémarre et lit son image de persistance.",
    ));
    c.check(
        c.t(
            "no access token survived the restart (R-TOK-1)",
            "aucun jeton d'accès n'a survécu au redémarrage (R-TOK-1)",
        ),
        dev.mailer.store().cached_access_tokens() == 0,
    );
    let alice_status = dev
        .mailer
        .store()
        .users()
        .find(|u| u.0 == "alice")
        .map(|u| u.1);
    c.check(
        c.t(
            "the administrator's and Alice's refresh tokens did (R-TOK-2, R-NV)",
            "les jetons d'actualisation de l'administrateur et d'Alice, si (R-TOK-2, R-NV)",
        ),
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
        c.t("Alice's next scan refreshes with the rotated token from the image and is sent", "la numérisation suivante d'Alice renouvelle avec le jeton remplacé lu dans l'image et est envoyée"),
        report.as_ref().is_some_and(job::JobReport::sent),
    );

    // 7. Admin notification.
    c.chapter(c.t(
        "The printer e-mails a status notification (an administrator function)",
        "L'imprimante envoie une notification d'état par e-mail (une fonction de l'administrateur)",
    ));
    let admin_to = [addr("helpdesk@contoso.test")];
    let body = b"Subject: Toner low\r\nFrom: admin@contoso.test\r\nTo: helpdesk@contoso.test\r\n\r\nMFP 3F-East: black toner at 5%.\r\n".to_vec();
    let before = w.sim.messages().len();
    let report = c.job(
        &mut dev,
        &js(Function::StatusNotification, None, &admin_to, &body),
    );
    let got = w.sim.messages();
    c.check(
        c.t("administrator functions always send with the administrator's token (R-POL)", "les fonctions de l'administrateur envoient toujours avec le jeton de l'administrateur (R-POL)"),
        report.as_ref().is_some_and(job::JobReport::sent)
            && got.len() == before + 1
            && got.last().is_some_and(|m| m.account == ADMIN),
    );

    // 8. Logout with auto-delete.
    c.chapter(c.t(
        "Alice logs out (automatic deletion of user tokens is on)",
        "Alice se déconnecte (la suppression automatique des jetons des utilisateurs est activée)",
    ));
    let deleted = dev.mailer.logout("alice");
    let saved = dev.drain_store().is_ok();
    c.check(
        c.t(
            "Alice's tokens were deleted at logout (R-TOK-5)",
            "les jetons d'Alice ont été supprimés à la déconnexion (R-TOK-5)",
        ),
        deleted && saved && dev.mailer.store().users().all(|u| u.0 != "alice"),
    );
    drop(dev);
    let Some(mut dev) = c.open() else { return };
    c.check(
        c.t(
            "and they are gone from the saved image too",
            "et ils ont aussi disparu de l'image enregistrée",
        ),
        dev.mailer.store().users().all(|u| u.0 != "alice"),
    );

    // 9. Admin token revoked.
    c.chapter(c.t(
        "The administrator's refresh token is revoked at the provider",
        "Le jeton d'actualisation de l'administrateur est révoqué chez le fournisseur",
    ));
    w.sim.revoke_refresh_tokens(ADMIN);
    w.clock.advance(Duration::from_mins(65));
    c.say(c.t(
        "(A password change at the provider revoked it; an hour passes.)",
        "(Un changement de mot de passe chez le fournisseur l'a révoqué ; une heure passe.)",
    ));
    let report = c.job(
        &mut dev,
        &js(Function::StatusNotification, None, &admin_to, &body),
    );
    c.check(
        c.t("the notification is held with \"administrator must re-authenticate\" (R-TOK-4)", "la notification est retenue avec \"l'administrateur doit se réauthentifier\" (R-TOK-4)"),
        report.as_ref().and_then(job::JobReport::diag) == Some(Id::AdminReauthNeeded),
    );
    c.check(
        c.t(
            "the Information screen warns",
            "l'écran Information avertit",
        ),
        dev.mailer.store().admin_notice()
            || dev.mailer.store().admin_status() == TokenStatus::ReauthNeeded,
    );
    c.say(c.t(
        "The administrator presses Acquire.",
        "L'administrateur appuie sur Acquérir.",
    ));
    let again = c.sign_in(&dev, AuthMethod::DeviceCode, &addr(ADMIN));
    let ok = again.is_ok_and(|t| dev.acquire(None, &t).is_ok());
    let report = c.job(
        &mut dev,
        &js(Function::StatusNotification, None, &admin_to, &body),
    );
    c.check(
        c.t(
            "after Acquire the status is Acquired again and the notification goes out",
            "après Acquérir, l'état est de nouveau Acquis et la notification part",
        ),
        ok && report.as_ref().is_some_and(job::JobReport::sent),
    );

    // 10. 5.7.139.
    c.chapter(c.t(
        "Bob's mailbox has SMTP AUTH disabled",
        "La boîte de Bob a SMTP AUTH désactivé",
    ));
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
        c.t(
            "the 535 5.7.139 answer is reported as E305 with its remedy (R-DIAG)",
            "la réponse 535 5.7.139 est signalée comme E305 avec sa solution (R-DIAG)",
        ),
        report.as_ref().and_then(job::JobReport::diag) == Some(Id::SmtpAuthDisabled)
            && report
                .as_ref()
                .and_then(|r| r.server_reply.as_deref())
                .is_some_and(|s| s.contains("5.7.139")),
    );
    c.check(
        c.t(
            "nothing was sent for Bob, and no refresh loop was tried",
            "rien n'a été envoyé pour Bob, et aucune boucle de renouvellement n'a été tentée",
        ),
        w.sim.messages().len() == before,
    );

    // 11. Graph instead of SMTP AUTH (issue 19, R-XPORT).
    c.chapter(c.t(
        "The administrator switches the transport to Microsoft Graph",
        "L'administrateur passe le transport à Microsoft Graph",
    ));
    c.say(c.t(
        "E305's remedy names it: Graph sendMail needs the Mail.Send permission, not SMTP AUTH.",
        "La solution de E305 le propose : Graph sendMail demande l'autorisation Mail.Send, pas SMTP AUTH.",
    ));
    let mut s = dev.mailer.settings().clone();
    s.transport = Transport::Graph;
    s.api_url = w.api_url().as_str().try_into().unwrap_or_default();
    s.custom.scope = "https://graph.microsoft.com/Mail.Send offline_access"
        .try_into()
        .unwrap_or_default();
    let applied = dev.apply_settings(s);
    c.fact("transport", "graph");
    c.fact("API", &w.api_url());
    c.check(
        c.t(
            "the new settings pass the rules; the tokens of the SMTP scope are to be asked for again (R-XPORT, R-RULE)",
            "les nouveaux réglages respectent les règles ; les jetons de la portée SMTP sont à redemander (R-XPORT, R-RULE)",
        ),
        applied.is_ok() && !dev.mailer.store().users().any(|(id, _, _)| id == "bob"),
    );
    let body = message(BOB, &[BOB], "Scan to Me", "plans.pdf", 10_000, "job-0006");
    let smtp_before = w.sim.messages().len();
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
    let delivered = w.sim.api_deliveries();
    c.check(
        c.t(
            "Bob signed in for Graph and his scan went out through sendMail: 202 Accepted, with SMTP AUTH still off",
            "Bob s'est connecté pour Graph et sa numérisation est partie par sendMail : 202 Accepted, SMTP AUTH toujours désactivé",
        ),
        report.as_ref().is_some_and(job::JobReport::sent)
            && delivered
                .last()
                .is_some_and(|d| d.account == BOB && d.mime == body)
            && w.sim.messages().len() == smtp_before,
    );
}
