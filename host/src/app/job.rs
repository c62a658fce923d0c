//! Running one job through the core's [`Mailer`](mfp_oauth_core::mailer::Mailer): each [`Plan`] it returns
//! is carried out with the drivers (sign-in, refresh grant, connection,
//! SMTP session) and its result reported back, until the job is done or
//! failed. The loop only follows plans; the order of things is the core's,
//! and so is the bound on a job's plans (`limits::MAX_PLANS`): the loop
//! runs until the core says done or failed.

use super::signin::{self, FlowError, Prompt, SignedIn};
use super::{AppError, Device};
use crate::driver::smtp::{Pump, Waited};
use crate::net::{Connection, NetOptions, TlsInfo};
use mfp_oauth_core::diag::{Diagnostic, Id};
use mfp_oauth_core::function::Function;
use mfp_oauth_core::mailer::{AuthMethod, Job, Plan, Step};
use mfp_oauth_core::policy::User;
use mfp_oauth_core::smtp::{Event, Security};
use mfp_oauth_core::token::{StoreEvent, TokenOwner};
use mfp_oauth_core::{Address, Duration};

/// A job to send.
#[derive(Debug, Clone, Copy)]
pub struct JobSpec<'a> {
    /// The function sending.
    pub function: Function,
    /// The logged-in user, if any.
    pub user: Option<User<'a>>,
    /// The From address asked for, if any.
    pub from: Option<&'a Address>,
    /// Recipients.
    pub to: &'a [Address],
    /// The message's exact size in octets, if known (announced with
    /// `SIZE=`, checked against the server's limit before MAIL).
    pub size: Option<u64>,
}

/// What happens during a job, for the story or the progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEvent {
    /// Someone must sign in (`admin` true for the administrator).
    SignInNeeded {
        /// The administrator's token is missing or dead.
        admin: bool,
        /// The account to sign in as.
        account: Address,
        /// How.
        method: AuthMethod,
    },
    /// A refresh grant is being carried for this owner.
    Refreshing(TokenOwner),
    /// The refresh worked; `rotated` when a new refresh token came back.
    Refreshed {
        /// A new refresh token was stored (and persisted).
        rotated: bool,
    },
    /// The refresh grant's request goes to this endpoint (`host:port`).
    RefreshContacting(String),
    /// The refresh grant's request to `endpoint` failed for a reason that
    /// may pass (`error`); attempt `attempt + 1` follows after `delay`, the
    /// core's back-off (issue 17: no silent waits, as at sign-in).
    RefreshRetrying {
        /// `host:port` of the token endpoint.
        endpoint: String,
        /// Attempts failed so far, from 1.
        attempt: u32,
        /// What failed.
        error: Id,
        /// The wait before the next attempt.
        delay: Duration,
    },
    /// The provider refused the refresh and said why (its
    /// `error_description`; never a secret).
    RefreshRefusedSaying(String),
    /// The refresh failed.
    RefreshFailed(FlowError),
    /// The mail API throttled the request (R-XPORT): it is asked again on
    /// a new connection after this wait, the server's `Retry-After`.
    ApiWaiting(Duration),
    /// Connected to the SMTP server.
    Connected,
    /// TLS is up.
    Tls(TlsInfo),
    /// An SMTP event (authenticated, rejected, recipient refused, …).
    Smtp(Event),
    /// The server's reply text that came with a refusal.
    ServerSaid(String),
    /// Body octets sent so far.
    Body(u64),
    /// A notice for the Information screen (R-TOK-4) or an expiry warning.
    Notice(StoreEvent),
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    /// `Plan::Done` or `Plan::Failed`.
    pub result: Plan,
    /// The server's last reply (final `250`, or the refusal).
    pub server_reply: Option<String>,
}

impl JobReport {
    /// Whether the message was sent.
    #[must_use]
    pub fn sent(&self) -> bool {
        matches!(self.result, Plan::Done { .. })
    }

    /// The diagnostic of a failed job.
    #[must_use]
    pub fn diag(&self) -> Option<Id> {
        match self.result {
            Plan::Failed { diag } => Some(diag),
            _ => None,
        }
    }
}

/// Sign-in callback: for the plan's account and method, the tokens (or
/// why not). `admin` is set when the administrator's token is needed: the
/// manual has the administrator Acquire it beforehand, in the settings, so
/// a panel job normally declines (with [`Id::AdminReauthNeeded`] or
/// [`Id::AdminTokenRequired`]).
pub type SignInFn<'a> =
    dyn FnMut(&Device, bool, AuthMethod, &Address) -> Result<SignedIn, FlowError> + 'a;

/// A message body a job reads while it sends it, never held whole.
pub trait Body: std::io::Read {
    /// Start again from the first octet. A mail API request refused after
    /// its body went out (a token expired meanwhile, throttling) is asked
    /// again with the whole body (R-XPORT); SMTP never asks. A body that
    /// cannot start again fails such a retry (the request then never
    /// completes, so nothing is sent twice).
    fn restart(&mut self) -> std::io::Result<()> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "this message body cannot be read a second time",
        ))
    }
}

/// A reader read once.
struct Once<'a>(&'a mut dyn std::io::Read);

impl std::io::Read for Once<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Body for Once<'_> {}

impl<T: AsRef<[u8]>> Body for std::io::Cursor<T> {
    fn restart(&mut self) -> std::io::Result<()> {
        self.set_position(0);
        Ok(())
    }
}

impl Body for crate::mime::MimeStream {
    fn restart(&mut self) -> std::io::Result<()> {
        crate::mime::MimeStream::restart(self)
    }
}

/// Run `job` to its end; the message (MIME, `job.size` octets) is read
/// from `body` while it is sent, never held whole.
pub fn run(
    device: &mut Device,
    job: &JobSpec<'_>,
    body: &mut dyn std::io::Read,
    sign_in: &mut SignInFn<'_>,
    on: &mut dyn FnMut(&JobEvent),
) -> Result<JobReport, AppError> {
    run_as(device, job, &mut Once(body), false, sign_in, on)
}

/// [`run`] for a body made by the core composer ([`crate::mime`]): it is
/// canonical, so the SMTP client sends it without scanning every octet
/// (`write_body_canonical`), and it can start again ([`Body`]).
pub fn run_composed(
    device: &mut Device,
    job: &JobSpec<'_>,
    body: &mut dyn Body,
    sign_in: &mut SignInFn<'_>,
    on: &mut dyn FnMut(&JobEvent),
) -> Result<JobReport, AppError> {
    run_as(device, job, body, true, sign_in, on)
}

fn run_as(
    device: &mut Device,
    job: &JobSpec<'_>,
    body: &mut dyn Body,
    canonical: bool,
    sign_in: &mut SignInFn<'_>,
    on: &mut dyn FnMut(&JobEvent),
) -> Result<JobReport, AppError> {
    let now = device.clock.now();
    let spec = Job {
        function: job.function,
        user: job.user,
        from: job.from,
        to: job.to,
        size: job.size,
    };
    let mut plan = device
        .mailer
        .submit(now, &spec)
        .map_err(|e| AppError::Diag(e.diag()))?;
    let mut pump: Option<Pump> = None;
    // Whether the body was streamed once already in this job.
    let mut streamed = false;
    // Bounded by the core: it fails a job that goes through more than
    // `limits::MAX_PLANS` plans (R-ENGINE).
    loop {
        for n in device.drain_store()? {
            on(&JobEvent::Notice(n));
        }
        let now = device.clock.now();
        plan = match plan {
            Plan::Done { .. } | Plan::Failed { .. } => {
                if let Some(mut p) = pump.take() {
                    p.conn.close();
                }
                for n in device.drain_store()? {
                    on(&JobEvent::Notice(n));
                }
                return Ok(JobReport {
                    result: plan,
                    server_reply: decided_by(device),
                });
            }
            Plan::NeedAdminAuth { account, method }
            | Plan::NeedUserAuth {
                account, method, ..
            } => {
                let admin = matches!(device.mailer.plan(), Plan::NeedAdminAuth { .. });
                on(&JobEvent::SignInNeeded {
                    admin,
                    account: account.clone(),
                    method,
                });
                let now = device.clock.now();
                let r = match sign_in(device, admin, method, &account) {
                    Ok(done) => device
                        .mailer
                        .handle_oauth_event(now, super::wall_now(), done.client(), done.event())
                        .map(|p| p.unwrap_or_else(|| device.mailer.plan().clone())),
                    Err(e) => device.mailer.auth_failed(e.diag()),
                };
                r.map_err(|e| AppError::Diag(e.diag()))?
            }
            Plan::TokenExchange { owner } => {
                on(&JobEvent::Refreshing(owner.clone()));
                // A refresh, or the app-only grant the core runs itself
                // (R-APP), dated by the wall clock.
                let started = signin::client(device).and_then(|mut c| {
                    device
                        .mailer
                        .start_token_request(now, super::wall_now(), &super::random(), &mut c)
                        .map_err(|e| FlowError::Failed(e.diag()))?;
                    Ok(c)
                });
                let mut rotated = false;
                // Each attempt shown, as at sign-in (issue 17).
                let result = started.and_then(|c| {
                    signin::run_with(device, c, &mut rotated, &mut |p| match p {
                        Prompt::Contacting(e) => on(&JobEvent::RefreshContacting(e.to_owned())),
                        Prompt::Retrying {
                            endpoint,
                            attempt,
                            error,
                            delay,
                        } => on(&JobEvent::RefreshRetrying {
                            endpoint: endpoint.to_owned(),
                            attempt,
                            error,
                            delay,
                        }),
                        Prompt::ProviderSaid(t) => {
                            on(&JobEvent::RefreshRefusedSaying(t.to_owned()))
                        }
                        _ => {}
                    })
                });
                let now = device.clock.now();
                let r = match &result {
                    Ok(done) => {
                        on(&JobEvent::Refreshed { rotated });
                        device
                            .mailer
                            .handle_oauth_event(now, super::wall_now(), done.client(), done.event())
                            .map(|p| p.unwrap_or_else(|| device.mailer.plan().clone()))
                    }
                    Err(e) => {
                        on(&JobEvent::RefreshFailed(*e));
                        // How the flow ended, as the OAuth client said; the
                        // core decides what it means (R-ENGINE).
                        let grant_refused = matches!(e, FlowError::Reauth(_));
                        device.mailer.exchange_failed(now, grant_refused, e.diag())
                    }
                };
                r.map_err(|e| AppError::Diag(e.diag()))?
            }
            Plan::Connect {
                host,
                port,
                security,
            } => {
                if let Some(at) = device.mailer.api_retry_at().filter(|t| *t > now) {
                    on(&JobEvent::ApiWaiting(at.saturating_since(now)));
                }
                let net = NetOptions {
                    proxy: None,
                    ..device.net.clone()
                };
                // The settings' TLS range (R-CFG, R-RULE-2), for implicit
                // TLS and STARTTLS alike.
                let opened = device
                    .server_tls()
                    .and_then(|t| t.client_config())
                    .map_err(|e| e.diag())
                    .and_then(|cfg| {
                        let mut c = Connection::connect(&host, port, &net).map_err(|e| e.diag())?;
                        if security == Security::ImplicitTls {
                            c.start_tls_with(cfg.clone()).map_err(|e| e.diag())?;
                        }
                        let mut p = Pump::new(c, cfg);
                        p.set_canonical_body(canonical);
                        Ok(p)
                    });
                let r = match opened {
                    Ok(p) => {
                        on(&JobEvent::Connected);
                        if let Some(info) = p.conn.tls_info() {
                            on(&JobEvent::Tls(info));
                        }
                        pump = Some(p);
                        let ehlo = device.ehlo.clone();
                        device.mailer.connected(now, &ehlo)
                    }
                    Err(diag) => device.mailer.connect_failed(diag),
                };
                r.map_err(|e| AppError::Diag(e.diag()))?
            }
            Plan::Session => {
                let Some(p) = pump.as_mut() else {
                    return Err(AppError::Diag(Id::WrongState));
                };
                session(device, p, body, &mut streamed, on)?
            }
            // Idle or a plan this host does not know: nothing to carry out.
            _ => return Err(AppError::Diag(Id::WrongState)),
        };
    }
}

/// The server's reply that decided the job, as the core kept it: the last
/// refusal, or the `250` that took the message; none when nothing the
/// server said decided it (a close, a timeout, a refused certificate), and
/// never the `220` to STARTTLS or the `221` to QUIT.
fn decided_by(device: &Device) -> Option<String> {
    device.mailer.last_reply().map(ToString::to_string)
}

/// Pump the session until the plan changes (a refresh mid-session, or the
/// end of the job); returns the new plan.
fn session(
    device: &mut Device,
    pump: &mut Pump,
    body: &mut dyn Body,
    streamed: &mut bool,
    on: &mut dyn FnMut(&JobEvent),
) -> Result<Plan, AppError> {
    // Bounded by the SMTP client's own deadlines: every wait ends with
    // input, a close or a timeout, and every timeout ends the session.
    loop {
        for _ in 0..2 {
            while let Some(step) = device.mailer.poll_event(device.clock.now()) {
                let now = device.clock.now();
                match step {
                    Step::Store(StoreEvent::Persist { erase_other_slot }) => {
                        device.persist(erase_other_slot)?;
                    }
                    Step::Store(other) => on(&JobEvent::Notice(other)),
                    Step::PlanChanged => return Ok(device.mailer.plan().clone()),
                    Step::Smtp(ev) => {
                        if !device.mailer.has_smtp_session() {
                            continue;
                        }
                        let mailer = &mut device.mailer;
                        match ev {
                            // A refused certificate or no TLS version in
                            // common gets its own diagnostic, as on
                            // implicit TLS (not "connection closed").
                            Event::UpgradeTls => match pump.start_tls(mailer, now) {
                                Ok(info) => on(&JobEvent::Tls(info)),
                                Err(e) => {
                                    let _ = mailer.handle_smtp_tls_failed(now, e.diag());
                                }
                            },
                            Event::ReadyForBody => {
                                // Asked again (a mail API's retry): from
                                // the first octet, or not at all.
                                let ready =
                                    !std::mem::replace(streamed, true) || body.restart().is_ok();
                                if ready && pump.flush(mailer, now).is_ok() {
                                    let _ = pump.stream_body(mailer, now, body, &mut |n| {
                                        on(&JobEvent::Body(n));
                                    });
                                }
                            }
                            Event::AuthRejected { .. } | Event::MessageFailed { .. } => {
                                // The refusal just read; none for a message
                                // refused before MAIL (SIZE, SMTPUTF8),
                                // where the last reply is the `235`.
                                let by_reply = match ev {
                                    Event::MessageFailed { error } => error.from_reply(),
                                    _ => true,
                                };
                                if let Some(r) = mailer.last_reply().filter(|_| by_reply) {
                                    on(&JobEvent::ServerSaid(r.to_string()));
                                }
                                on(&JobEvent::Smtp(ev));
                            }
                            other => on(&JobEvent::Smtp(other)),
                        }
                    }
                    // Steps added later by the core: nothing to do here.
                    _ => {}
                }
            }
            if !matches!(device.mailer.plan(), Plan::Session) {
                return Ok(device.mailer.plan().clone());
            }
            let now = device.clock.now();
            if !device.mailer.has_smtp_session() {
                return Ok(device.mailer.plan().clone());
            }
            if pump.flush(&mut device.mailer, now).is_err() {
                continue;
            }
        }
        let clock = device.clock.clone();
        if !device.mailer.has_smtp_session() {
            return Ok(device.mailer.plan().clone());
        }
        match pump.wait(&mut device.mailer, &*clock) {
            Ok(Waited::Progress) | Err(_) => {}
            Ok(Waited::Idle) => {
                let _ = device.mailer.handle_smtp_close(clock.now());
            }
        }
    }
}
