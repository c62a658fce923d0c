//! The token flows a plan asks for: reporting a sign-in, the
//! administrator's Acquire, the refresh grant (R-OAUTH, R-TOK, R-ACCT).

use mfp_oauth_core::address::Address;
use mfp_oauth_core::mailer::{MailerError, Plan};
use mfp_oauth_core::oauth::{self, Event as OAuthEvent, FlowKind};
use mfp_oauth_core::token::TokenGrant;
use mfp_oauth_core::Instant;

use super::plan::{next_plan, MfpOauthPlan};
use super::{diag_of, wall, LentMailer, MailerObj, MfpOauthMailer};
use crate::call;
use crate::token_client::{self, MfpOauthTokenClient, MfpOauthTokenEvent, TokenClient};
use crate::MfpOauthStatus;

/// The tokens of the token client's finished exchange.
fn grant_of(c: &TokenClient) -> Result<TokenGrant<'_>, MfpOauthStatus> {
    let t = c.tokens().ok_or(MfpOauthStatus::WrongState)?;
    if t.access_token.is_empty() {
        return Err(MfpOauthStatus::WrongState);
    }
    Ok(TokenGrant::from_response(t))
}

/// Hands the grant of the finished token client `tc` to `report` (a
/// sign-in or a refresh), with the account the provider named if it did
/// (borrowed from the client, not copied onto this frame: R-MEM), and
/// writes the plan that follows.
///
/// # Safety
/// `out_plan` not NULL and valid for a write.
unsafe fn report_grant(
    tc: &mut TokenClient,
    m: &mut MailerObj,
    out_plan: *mut MfpOauthPlan,
    report: impl FnOnce(&mut LentMailer, TokenGrant<'_>, Option<&Address>) -> Result<(), MailerError>,
) -> MfpOauthStatus {
    let grant = try_status!(grant_of(tc));
    let learned = tc.tokens().and_then(|t| t.account.address());
    let reported = report(&mut m.mailer, grant, learned);
    // This end is reported: `mfp_oauth_mailer_poll_token_event` will not
    // report it again.
    let _ = tc.take_outcome();
    // SAFETY: forwarded contract.
    unsafe { next_plan(&m.mailer, reported, out_plan) }
}

/// Reports an interactive sign-in that ended with the `ACCESS_TOKEN`
/// event of `token_client` (NEED_*_AUTH plans): the mailer stores the
/// tokens (they never pass through the caller) and writes the next plan.
/// When the provider named another account than the plan's (the
/// `id_token`, R-ACCT), the plan is FAILED with `ACCOUNT_MISMATCH` and
/// nothing is stored.
/// `wall_s` is the wall-clock time in seconds since 1970 if known, else 0
/// (it dates the refresh token for expiry warnings).
///
/// # Safety
/// `mailer` and `token_client` valid storage as for their `_destroy`;
/// `out_plan` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_auth_succeeded(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    wall_s: u64,
    token_client: *mut MfpOauthTokenClient,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    let work = |tc: &mut TokenClient, m: &mut MailerObj| {
        // SAFETY: not NULL and valid (contract).
        unsafe {
            report_grant(tc, m, out_plan, |m, grant, learned| {
                m.auth_succeeded_in_place(
                    Instant::from_millis(now_ms),
                    wall(wall_s),
                    grant,
                    learned,
                )
            })
        }
    };
    // SAFETY: the caller's contract, as documented above.
    unsafe { call::with_mut2(token_client, mailer, out_plan, work) }
}

/// The administrator's **Acquire** in Configuration OAuth (no job): after
/// the `ACCESS_TOKEN` event of `token_client`, the tokens are stored for the
/// administrator's address; the status reads Acquired, the Information
/// screen's notice clears, and a PERSIST step follows.
/// `ADMIN_ADDRESS_MISSING` without an administrator address;
/// `ACCOUNT_MISMATCH` (nothing stored) when the provider named another
/// account than that address (R-ACCT; `mfp_oauth_mailer_admin_token` shows
/// the account and whether it was named).
///
/// # Safety
/// `mailer` and `token_client` valid storage as for their `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_acquire_admin(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    wall_s: u64,
    token_client: *mut MfpOauthTokenClient,
) -> MfpOauthStatus {
    let work = |tc: &mut TokenClient, m: &mut MailerObj| {
        let acquired = m
            .mailer
            .acquire_admin(Instant::from_millis(now_ms), wall(wall_s), tc);
        // This end is reported (see `report_grant`).
        let _ = tc.take_outcome();
        match acquired {
            Ok(()) => MfpOauthStatus::Ok,
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut2(token_client, mailer, (), work) }
}

/// During a sign-in (NEED_*_AUTH) or a refresh (TOKEN_EXCHANGE): takes the
/// next event of `token_client` (written to `*out_event`, `kind` NONE if
/// none) and lets the mailer act on it: the flow's end (ACCESS_TOKEN,
/// REAUTH_REQUIRED, FAILED) stores the tokens or fails the step and sets
/// `*out_plan_changed`; read the plan with `mfp_oauth_mailer_plan`. The
/// other events are for the panel (show the code on USER_CODE).
///
/// A job's token flow ends in one of two ways; use one per flow:
///
/// 1. The mailer's way: drain only this function. It reports the flow's
///    end to the mailer itself: do not call `_auth_succeeded`,
///    `_exchange_succeeded`, `_auth_failed` or `_exchange_failed` for it.
/// 2. The client's way: drain `mfp_oauth_token_client_poll_event` and
///    report the end: ACCESS_TOKEN with `_auth_succeeded` (sign-in) or
///    `_exchange_succeeded` (refresh), REAUTH_REQUIRED or FAILED with
///    `_auth_failed` or `_exchange_failed`. The administrator's Acquire,
///    outside any job, always goes this way, ending with
///    `mfp_oauth_mailer_acquire_admin`.
///
/// Mixing them does no harm. When `mfp_oauth_token_client_poll_event`
/// took the end of the flow the plan waits for (a refresh in
/// TOKEN_EXCHANGE, a sign-in in NEED_*_AUTH), this function still reports
/// it, once: it writes that terminal event and acts on it, so a firmware
/// draining both never waits forever. An end already reported is not
/// reported again: a second report (`_exchange_succeeded` after this
/// function acted on ACCESS_TOKEN, for example) returns `WRONG_STATE` and
/// changes nothing. Start the flow (`mfp_oauth_mailer_start_refresh`,
/// `mfp_oauth_token_client_start_device`, ...) before draining it.
///
/// # Safety
/// `mailer` and `token_client` valid storage as for their `_destroy`;
/// `out_event` and `out_plan_changed` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_poll_token_event(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    wall_s: u64,
    token_client: *mut MfpOauthTokenClient,
    out_event: *mut MfpOauthTokenEvent,
    out_plan_changed: *mut bool,
) -> MfpOauthStatus {
    let work = |tc: &mut TokenClient, m: &mut MailerObj| {
        let now = Instant::from_millis(now_ms);
        let event = match tc.poll_event() {
            Some(e) => Some(e),
            // `mfp_oauth_token_client_poll_event` took the flow's end (the two
            // ways mixed): still report it, once, if the plan waits for it.
            None => tc
                .take_outcome()
                .filter(|(flow, _)| waits_for(m.mailer.plan(), *flow))
                .map(|(_, e)| e),
        };
        let (ev, changed) = match event {
            None => (token_client::event_c(None), false),
            Some(e) => {
                let c = token_client::event_c(Some(e));
                let handled = m
                    .mailer
                    .handle_oauth_event_in_place(now, wall(wall_s), tc, e);
                if matches!(
                    e,
                    OAuthEvent::AccessToken { .. }
                        | OAuthEvent::ReauthRequired(_)
                        | OAuthEvent::Failed(_)
                ) {
                    // Reported now: never again through the outcome.
                    let _ = tc.take_outcome();
                }
                match handled {
                    Ok(moved) => (c, moved),
                    Err(err) => return MfpOauthStatus::of(err),
                }
            }
        };
        // SAFETY: both outputs are not NULL and valid (contract).
        unsafe {
            out_event.write(ev);
            out_plan_changed.write(changed);
        }
        MfpOauthStatus::Ok
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut2(token_client, mailer, (out_event, out_plan_changed), work) }
}

/// Whether `plan` waits for the end of a token flow of kind `flow`.
fn waits_for(plan: &Plan, flow: FlowKind) -> bool {
    match plan {
        Plan::TokenExchange { .. } => matches!(
            flow,
            FlowKind::Refresh | FlowKind::ClientCredentials | FlowKind::ServiceAccount
        ),
        Plan::NeedUserAuth { .. } | Plan::NeedAdminAuth { .. } => flow != FlowKind::Refresh,
        _ => false,
    }
}

/// The sign-in failed or was cancelled (`diag`: why): the job fails.
///
/// # Safety
/// `mailer` as for `_destroy`; `out_plan` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_auth_failed(
    mailer: *mut MfpOauthMailer,
    diag: u32,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        let reported = m.mailer.auth_failed_in_place(try_status!(diag_of(diag)));
        // SAFETY: not NULL and valid (contract).
        unsafe { next_plan(&m.mailer, reported, out_plan) }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mailer, out_plan, work) }
}

/// TOKEN_EXCHANGE: starts the refresh grant on `token_client` with the
/// stored refresh token (it never passes through the caller).
///
/// # Safety
/// `mailer` and `token_client` valid storage as for their `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_start_refresh(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    token_client: *mut MfpOauthTokenClient,
) -> MfpOauthStatus {
    let work = |tc: &mut TokenClient, m: &mut MailerObj| match m
        .mailer
        .start_exchange(Instant::from_millis(now_ms), tc)
    {
        Ok(()) => MfpOauthStatus::Ok,
        Err(e) => MfpOauthStatus::of(e),
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut2(token_client, mailer, (), work) }
}

/// TOKEN_EXCHANGE, whatever the administrator's sign-in
/// (`mfp_oauth_settings.admin_sign_in`, R-APP): starts on `token_client`
/// the refresh grant of a delegated sign-in (as
/// `mfp_oauth_mailer_start_refresh`), or the app-only grant the core runs
/// itself: Microsoft client credentials with a certificate assertion, or a
/// Google service account's JWT bearer grant for the administrator's
/// mailbox. An app-only grant is signed by the firmware, whose key the
/// core never sees: the token client's next event is SIGNATURE_REQUIRED;
/// read the octets to sign with `mfp_oauth_token_client_signing_input`,
/// sign them with the key of the certificate (RS256: RSASSA-PKCS1-v1_5
/// with SHA-256) and hand the signature to
/// `mfp_oauth_token_client_handle_signature`; nothing is sent before.
/// `wall_s` is the wall clock (seconds since 1970; `ASSERTION_TIME_RANGE` when 0
/// for an app-only grant) and `jti_random` 16 octets from a cryptographic
/// random source (the assertion's unique id). Then drain the client as for
/// a refresh (`mfp_oauth_mailer_poll_token_event`).
///
/// # Safety
/// `mailer` and `token_client` valid storage as for their `_destroy`;
/// `jti_random` NULL or valid for 16 bytes.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_start_token_request(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    wall_s: u64,
    jti_random: *const u8,
    token_client: *mut MfpOauthTokenClient,
) -> MfpOauthStatus {
    let work = |tc: &mut TokenClient, m: &mut MailerObj| {
        // SAFETY: valid for 16 bytes (contract).
        let random = try_status!(unsafe { crate::buf::bytes(jti_random, oauth::JTI_LEN) });
        let mut jti = [0u8; oauth::JTI_LEN];
        jti.copy_from_slice(random);
        match m
            .mailer
            .start_token_request(Instant::from_millis(now_ms), wall(wall_s), &jti, tc)
        {
            Ok(()) => MfpOauthStatus::Ok,
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut2(token_client, mailer, (), work) }
}

/// The refresh grant ended with `ACCESS_TOKEN` on `token_client`: the new
/// tokens (and a rotated refresh token) are stored; writes the next plan.
///
/// # Safety
/// As for `mfp_oauth_mailer_auth_succeeded`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_exchange_succeeded(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    wall_s: u64,
    token_client: *mut MfpOauthTokenClient,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    let work = |tc: &mut TokenClient, m: &mut MailerObj| {
        // SAFETY: not NULL and valid (contract).
        unsafe {
            report_grant(tc, m, out_plan, |m, grant, _| {
                m.exchange_succeeded_in_place(Instant::from_millis(now_ms), wall(wall_s), grant)
            })
        }
    };
    // SAFETY: the caller's contract, as documented above.
    unsafe { call::with_mut2(token_client, mailer, out_plan, work) }
}

/// The refresh grant ended without tokens: pass on how the token client's
/// flow ended, `reauth_required` when its last event was REAUTH_REQUIRED
/// (else FAILED, or a flow that could not start) and `diag` that event's
/// diagnostic. The core decides what it means: a dead grant (plain
/// `invalid_grant`, expired, revoked) erases the refresh token and asks for
/// a new sign-in (R-TOK-4); a refusal an administrator fixes at the
/// provider (consent missing 402, Conditional Access 405, …) keeps the
/// token and fails the job with that diagnostic; anything else keeps the
/// token and fails the job with `diag`. Writes the next plan.
/// (`mfp_oauth_mailer_poll_token_event` does the same from the event.)
///
/// # Safety
/// `mailer` as for `_destroy`; `out_plan` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_exchange_failed(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    reauth_required: bool,
    diag: u32,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        let diag = try_status!(diag_of(diag));
        let reported =
            m.mailer
                .exchange_failed_in_place(Instant::from_millis(now_ms), reauth_required, diag);
        // SAFETY: not NULL and valid (contract).
        unsafe { next_plan(&m.mailer, reported, out_plan) }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mailer, out_plan, work) }
}
