//! Jobs and their plans: submit, the plan to act on, and the reports of
//! the connection (R-POL, R-FN).

use core::ffi::c_char;

use mfp_oauth_core::function::Function;
use mfp_oauth_core::mailer::{AuthMethod, JobText, MailerError, Plan};
use mfp_oauth_core::smtp::Security;
use mfp_oauth_core::{Address, Instant};

use super::{copy_str, diag_of, LentMailer, MailerObj, MfpOauthMailer};
use crate::buf::text;
use crate::call;
use crate::settings::opt_text;
use crate::smtp::MfpOauthStr;
use crate::MfpOauthStatus;
use crate::{MFP_OAUTH_ADDRESS_BUF_LEN, MFP_OAUTH_HOST_BUF_LEN, MFP_OAUTH_USER_ID_BUF_LEN};

/// A job (`mfp_oauth_job`). Strings are `mfp_oauth_str`; `{NULL, 0}` means
/// not given.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthJob {
    /// An `mfp_oauth_function` (1 = Scan to E-mail ... 12).
    pub function: u32,
    /// The logged-in user's login name; empty: the public user.
    pub user_id: MfpOauthStr,
    /// The logged-in user's registered address, if any.
    pub user_address: MfpOauthStr,
    /// The From address entered or set by the application; empty: the
    /// mode's default.
    pub from: MfpOauthStr,
    /// Recipients (1 to 16, their addresses at most 1,280 octets together:
    /// past either bound `mfp_oauth_mailer_submit` returns
    /// `CAPACITY_EXCEEDED`).
    pub to: *const MfpOauthStr,
    /// Entries at `to`.
    pub to_count: usize,
    /// The message's size in octets, 0 if unknown.
    pub size: u64,
}

/// The function sending a job (`mfp_oauth_function`), R-FN.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthFunction {
    /// Scan to E-mail (user function).
    ScanToEmail = 1,
    /// Scan to Me.
    ScanToMe = 2,
    /// Scan to URL.
    ScanToUrl = 3,
    /// Internet Fax transmission.
    InternetFax = 4,
    /// E-mail from a User Box.
    EmailFromUserBox = 5,
    /// E-mail from an OpenAPI/IWS application.
    EmailFromOpenApi = 6,
    /// E-mail notification (administrator function).
    EmailNotification = 7,
    /// Total counter notification.
    TotalCounterNotification = 8,
    /// Forward transmission.
    ForwardTransmission = 9,
    /// TSI routing.
    TsiRouting = 10,
    /// Status notification.
    StatusNotification = 11,
    /// Transmission result report.
    TransmissionResultReport = 12,
}

fn function_of(n: u32) -> Option<Function> {
    Function::ALL.iter().copied().find(|f| *f as u32 == n)
}

/// What the firmware must do next (`mfp_oauth_plan_kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthPlanKind {
    /// No job.
    Idle = 0,
    /// Show the OAuth screen: `user_id` (empty: the public user) signs in
    /// as `account` with `method`; then `_auth_succeeded` / `_auth_failed`.
    NeedUserAuth = 1,
    /// The administrator must Acquire the token for `account` beforehand;
    /// `_auth_succeeded` / `_auth_failed`.
    NeedAdminAuth = 2,
    /// Run a refresh grant: `mfp_oauth_mailer_start_refresh` with a token
    /// client, then drain `mfp_oauth_mailer_poll_token_event` (or the
    /// client's own events and `_exchange_succeeded` / `_exchange_failed`:
    /// see `mfp_oauth_mailer_poll_token_event` for the rule).
    TokenExchange = 3,
    /// Connect to `host`:`port` (TLS first for implicit TLS), then
    /// `_connected` / `_connect_failed`.
    Connect = 4,
    /// The SMTP session runs: pump `mfp_oauth_mailer_smtp_*`, drain
    /// `mfp_oauth_mailer_poll_event`, until a PLAN_CHANGED step. The SMTP
    /// events MESSAGE_SENT, MESSAGE_FAILED and AUTH_REJECTED do not end
    /// this plan: the result is known (the panel may show it), and the
    /// mailer has queued QUIT. Keep pumping: send the QUIT
    /// (`mfp_oauth_mailer_smtp_poll_transmit`), feed the server's reply or
    /// its close, until the plan turns DONE or FAILED.
    Session = 5,
    /// Sent (`reply_code`, `accepted`, `refused`). The session is over: its
    /// QUIT went out and was answered (or the server closed, or did not
    /// answer in time). Nothing is left to send (the
    /// `mfp_oauth_mailer_smtp_*` calls now return `WRONG_STATE`): close the
    /// connection.
    Done = 6,
    /// The job failed (`diag`). As after DONE, nothing is left to send:
    /// close the connection if one is open.
    Failed = 7,
    /// A plan newer than this header.
    Other = 8,
}

/// How the person signs in (`mfp_oauth_auth_method`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthAuthMethod {
    /// Device code: show the code and URL (`_token_client_start_device`).
    DeviceCode = 0,
    /// Browser with PKCE (`_token_client_start_auth_code`).
    BrowserPkce = 1,
}

/// The plan (`mfp_oauth_plan`); fields that do not apply are zero or empty.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthPlan {
    /// What to do.
    pub kind: MfpOauthPlanKind,
    /// FAILED: the diagnostic (also a status).
    pub diag: u32,
    /// NEED_*_AUTH: how to sign in.
    pub method: MfpOauthAuthMethod,
    /// NEED_USER_AUTH: the user's login name (empty: public user), NUL-terminated.
    pub user_id: [c_char; MFP_OAUTH_USER_ID_BUF_LEN],
    /// NEED_*_AUTH: the account to sign in as, NUL-terminated.
    pub account: [c_char; MFP_OAUTH_ADDRESS_BUF_LEN],
    /// CONNECT: the SMTP server, NUL-terminated.
    pub host: [c_char; MFP_OAUTH_HOST_BUF_LEN],
    /// CONNECT: its port.
    pub port: u16,
    /// CONNECT: an `mfp_oauth_smtp_security`.
    pub security: u32,
    /// DONE: the server's reply code.
    pub reply_code: u32,
    /// DONE: recipients accepted.
    pub accepted: usize,
    /// DONE: recipients refused.
    pub refused: usize,
    /// While a job runs (every plan from the submit's first one up to
    /// SESSION): the From address the sender policy chose, NUL-terminated.
    /// The server gets it in MAIL FROM; write the same address in the
    /// message's From header. Empty in IDLE, DONE and FAILED.
    pub from: [c_char; MFP_OAUTH_ADDRESS_BUF_LEN],
}

/// Fills `c`, all zero bytes (every text empty, every number 0), with `p`
/// and the running job's From address `from`.
fn plan_c(c: &mut MfpOauthPlan, p: &Plan, from: Option<&Address>) {
    c.kind = MfpOauthPlanKind::Other;
    if let Some(f) = from {
        copy_str(&mut c.from, f.as_str());
    }
    let method = |m: &AuthMethod| match m {
        AuthMethod::DeviceCode => MfpOauthAuthMethod::DeviceCode,
        AuthMethod::BrowserPkce => MfpOauthAuthMethod::BrowserPkce,
    };
    match p {
        Plan::Idle => c.kind = MfpOauthPlanKind::Idle,
        Plan::NeedUserAuth {
            user,
            account,
            method: m,
        } => {
            c.kind = MfpOauthPlanKind::NeedUserAuth;
            c.method = method(m);
            copy_str(&mut c.account, account.as_str());
            if let Some(u) = user {
                copy_str(&mut c.user_id, u);
            }
        }
        Plan::NeedAdminAuth { account, method: m } => {
            c.kind = MfpOauthPlanKind::NeedAdminAuth;
            c.method = method(m);
            copy_str(&mut c.account, account.as_str());
        }
        Plan::TokenExchange { .. } => c.kind = MfpOauthPlanKind::TokenExchange,
        Plan::Connect {
            host,
            port,
            security,
        } => {
            c.kind = MfpOauthPlanKind::Connect;
            copy_str(&mut c.host, host);
            c.port = *port;
            c.security = match security {
                Security::StartTls => 0,
                Security::ImplicitTls => 1,
            };
        }
        Plan::Session => c.kind = MfpOauthPlanKind::Session,
        Plan::Done {
            reply,
            accepted,
            refused,
        } => {
            c.kind = MfpOauthPlanKind::Done;
            c.reply_code = u32::from(reply.code);
            c.accepted = *accepted;
            c.refused = *refused;
        }
        Plan::Failed { diag } => {
            c.kind = MfpOauthPlanKind::Failed;
            c.diag = u32::from(diag.number());
        }
        _ => {}
    }
}

/// Writes `plan`, with the running job's From address `from`, to
/// `out_plan`. The plan is filled where the caller keeps it (R-MEM): none
/// (1 KB) is built on the stack and copied.
///
/// # Safety
/// `out_plan` not NULL and valid for a write.
pub(super) unsafe fn plan_out(
    plan: &Plan,
    from: Option<&Address>,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    // SAFETY: valid for a write (contract); all-zero bytes are a valid
    // plan (IDLE, every text empty), so the reference is to a valid value.
    let c = unsafe {
        out_plan.write_bytes(0, 1);
        &mut *out_plan
    };
    plan_c(c, plan, from);
    MfpOauthStatus::Ok
}

/// Writes the plan that followed a report, read where the mailer keeps it
/// (R-MEM: the report returns no copy of it), or fails with the report's
/// error's status.
///
/// # Safety
/// As for [`plan_out`].
pub(super) unsafe fn next_plan(
    mailer: &LentMailer,
    reported: Result<(), MailerError>,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    match reported {
        // SAFETY: forwarded contract.
        Ok(()) => unsafe { plan_out(mailer.plan(), mailer.job_from(), out_plan) },
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// Whether `s` is an address (checked, not made: R-MEM).
fn check_address(s: &str) -> Result<(), MfpOauthStatus> {
    Address::check(s).map_err(|_| MfpOauthStatus::InvalidAddress)
}

/// An optional address field of the job: `None` when empty (not given),
/// checked otherwise.
fn given_address(s: &str) -> Result<Option<&str>, MfpOauthStatus> {
    if s.is_empty() {
        Ok(None)
    } else {
        check_address(s).map(|()| Some(s))
    }
}

/// Submits a job: the sender policy decides the From address and whose
/// token signs (R-POL), nothing is sent before it accepted them. Writes
/// the first plan. `WRONG_STATE` while another job runs; a refused job is a
/// FAILED plan (the call itself succeeds).
///
/// # Safety
/// `mailer` as for `_destroy`; `job` NULL or valid, its strings and `to`
/// valid for their lengths; `out_plan` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_submit(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    job: *const MfpOauthJob,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        // SAFETY: not NULL, valid (contract).
        let j = unsafe { &*job };
        let Some(function) = function_of(j.function) else {
            return MfpOauthStatus::InvalidArgument;
        };
        // SAFETY: valid for its length (contract).
        let user_id = try_status!(unsafe { opt_text(&j.user_id) });
        // SAFETY: as above.
        let user_addr = try_status!(unsafe { opt_text(&j.user_address) });
        // SAFETY: as above.
        let from = try_status!(unsafe { opt_text(&j.from) });
        // The From and the user's address are checked here and parsed where
        // the mailer keeps the job's addresses: none on this frame (R-MEM).
        let user_addr = try_status!(given_address(user_addr));
        let from = try_status!(given_address(from));
        if j.to.is_null() {
            return MfpOauthStatus::NullParameter;
        }
        if j.to_count == 0 {
            return MfpOauthStatus::InvalidArgument;
        }
        if j.to_count > mfp_oauth_core::limits::MAX_RECIPIENTS {
            return MfpOauthStatus::CapacityExceeded;
        }
        // SAFETY: `to` is valid for `to_count` entries (contract).
        let list = unsafe { core::slice::from_raw_parts(j.to, j.to_count) };
        // The envelope keeps the addresses packed: longer together than
        // that, the same status as too many.
        let together = list.iter().fold(0usize, |n, r| n.saturating_add(r.len));
        if together > mfp_oauth_core::limits::MAX_RECIPIENTS_LEN {
            return MfpOauthStatus::CapacityExceeded;
        }
        // The recipients go to the mailer as text, each checked here one at a
        // time and parsed straight into the job's envelope: no list of
        // addresses (4 KB) on the stack (R-MEM).
        let mut to = [""; mfp_oauth_core::limits::MAX_RECIPIENTS];
        for (slot, r) in to.iter_mut().zip(list) {
            // SAFETY: each entry valid for its length (contract).
            let t = try_status!(unsafe { text(r.ptr, r.len) });
            try_status!(check_address(t));
            *slot = t;
        }
        let to = to.get(..list.len()).unwrap_or(&[]);
        let job = JobText {
            function,
            user_id: (!user_id.is_empty()).then_some(user_id),
            user_address: user_addr,
            from,
            to,
            size: (j.size != 0).then_some(j.size),
        };
        // The plan is read where the mailer keeps it: no copy on this
        // frame (R-MEM).
        match m
            .mailer
            .submit_text_in_place(Instant::from_millis(now_ms), &job)
        {
            // SAFETY: not NULL and valid (contract).
            Ok(()) => unsafe { plan_out(m.mailer.plan(), m.mailer.job_from(), out_plan) },
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mailer, (job, out_plan), work) }
}

/// Writes the current plan.
///
/// # Safety
/// `mailer` as for `_destroy` (only read); `out_plan` NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_plan(
    mailer: *const MfpOauthMailer,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    let work = |m: &MailerObj| {
        // SAFETY: not NULL and valid (contract).
        unsafe { plan_out(m.mailer.plan(), m.mailer.job_from(), out_plan) }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_ref(mailer, out_plan, work) }
}

/// Sets the running job's message size in octets, after
/// `mfp_oauth_mailer_submit` and before the SMTP session starts (plans up to
/// CONNECT). For a message composed after the submit: its From: header is
/// the plan's `from`, the address the sender policy chose, so compose it
/// (`mfp_oauth_mime_begin`) once the first plan is known, then give the
/// composer's size here. The session announces it with `SIZE=` and refuses
/// a message over the server's limit before MAIL. `WRONG_STATE` when no job
/// runs or its session has started.
///
/// # Safety
/// `mailer` as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_set_message_size(
    mailer: *mut MfpOauthMailer,
    size: u64,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| match m.mailer.set_message_size(size) {
        Ok(()) => MfpOauthStatus::Ok,
        Err(e) => MfpOauthStatus::of(e),
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mailer, (), work) }
}

/// CONNECT: the connection is open (with TLS for implicit TLS); the SMTP
/// session starts, greeting with `ehlo_domain`. Writes the next plan.
///
/// # Safety
/// `mailer` as for `_destroy`; `ehlo_domain` NULL or valid for its length;
/// `out_plan` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_connected(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    ehlo_domain: *const c_char,
    ehlo_domain_len: usize,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        // SAFETY: valid for its length (contract).
        let ehlo = try_status!(unsafe { text(ehlo_domain, ehlo_domain_len) });
        // The plan is read where the mailer keeps it: no copy on this
        // frame (R-MEM).
        match m
            .mailer
            .connected_in_place(Instant::from_millis(now_ms), ehlo)
        {
            // SAFETY: not NULL and valid (contract).
            Ok(()) => unsafe { plan_out(m.mailer.plan(), m.mailer.job_from(), out_plan) },
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mailer, out_plan, work) }
}

/// CONNECT failed (`diag`: a 6xx network diagnostic): the job fails.
///
/// # Safety
/// `mailer` as for `_destroy`; `out_plan` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_connect_failed(
    mailer: *mut MfpOauthMailer,
    diag: u32,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        let reported = m
            .mailer
            .connect_failed(try_status!(diag_of(diag)))
            .map(drop);
        // SAFETY: not NULL and valid (contract).
        unsafe { next_plan(&m.mailer, reported, out_plan) }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mailer, out_plan, work) }
}

/// Cancels the job (the user pressed Stop): the session quits, the job
/// fails with `diag`. Writes the plan.
///
/// # Safety
/// `mailer` as for `_destroy`; `out_plan` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_cancel(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    diag: u32,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        let diag = try_status!(diag_of(diag));
        let plan = m.mailer.cancel(Instant::from_millis(now_ms), diag);
        // SAFETY: not NULL and valid (contract).
        unsafe { plan_out(&plan, m.mailer.job_from(), out_plan) }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mailer, out_plan, work) }
}
