//! The token client's events (`mfp_oauth_token_event`).

use mfp_oauth_core::diag::Diagnostic;
use mfp_oauth_core::oauth::Event;
use mfp_oauth_core::Instant;

use super::{MfpOauthTokenClient, TokenClient};
use crate::buf::put;
use crate::call;
use crate::MfpOauthStatus;

/// What a token-client event is (`mfp_oauth_token_event_kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthTokenEventKind {
    /// No event pending.
    None = 0,
    /// Device flow: show `mfp_oauth_token_client_device_code` on the panel.
    UserCode = 1,
    /// The provider asked to poll more slowly (`interval_ms`).
    SlowDown = 2,
    /// A new refresh token arrived: the mailer will persist it.
    RefreshTokenRotated = 3,
    /// Success (`expires_at_ms`, 0 if unknown): hand the client to
    /// `mfp_oauth_mailer_auth_succeeded` / `_exchange_succeeded`. Terminal.
    AccessToken = 4,
    /// A transient failure (`diag`); retried at `at_ms`.
    Retrying = 5,
    /// The token endpoint refused the grant (`invalid_grant` and relatives,
    /// `diag`). Terminal. After a refresh, hand it to the mailer
    /// (`mfp_oauth_mailer_poll_token_event` or `_exchange_failed`): it
    /// decides whether the token is dead (sign in again) or kept (consent,
    /// Conditional Access: fix it at the provider).
    ReauthRequired = 6,
    /// The flow failed for good (`diag`). Terminal.
    Failed = 7,
    /// An event newer than this header.
    Other = 8,
    /// An app-only grant waits for its assertion's signature (R-APP): read
    /// the octets with `mfp_oauth_token_client_signing_input`, sign them
    /// with the firmware's key and hand the signature to
    /// `mfp_oauth_token_client_handle_signature` (or report
    /// `mfp_oauth_token_client_signing_failed`). Nothing is sent before.
    SignatureRequired = 9,
}

/// One token-client event (`mfp_oauth_token_event`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfpOauthTokenEvent {
    /// What happened.
    pub kind: MfpOauthTokenEventKind,
    /// RETRYING, REAUTH_REQUIRED, FAILED: the diagnostic.
    pub diag: u32,
    /// SLOW_DOWN: the new polling interval.
    pub interval_ms: u64,
    /// RETRYING: when the next attempt is due.
    pub at_ms: u64,
    /// ACCESS_TOKEN: when the access token expires (0: not said).
    pub expires_at_ms: u64,
}

/// Writes the next event (`kind` NONE when none). For a job's flow, the
/// end taken here is reported with `mfp_oauth_mailer_auth_succeeded`,
/// `_exchange_succeeded`, `_auth_failed` or `_exchange_failed`, or left to
/// `mfp_oauth_mailer_poll_token_event`, which reports it all the same.
///
/// # Safety
/// `client` as for `_destroy`; `out_event` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_poll_event(
    client: *mut MfpOauthTokenClient,
    out_event: *mut MfpOauthTokenEvent,
) -> MfpOauthStatus {
    let work = |c: &mut TokenClient| {
        let ev = event_c(c.poll_event());
        // SAFETY: not NULL and valid (contract).
        unsafe { put(out_event, ev) }
    };
    // SAFETY: the caller's contract for `client`.
    unsafe { call::with_mut(client, out_event, work) }
}

/// The C form of a client event (`kind` NONE for `None`).
pub(crate) fn event_c(e: Option<Event>) -> MfpOauthTokenEvent {
    use MfpOauthTokenEventKind as K;
    let mut ev = MfpOauthTokenEvent {
        kind: K::None,
        diag: 0,
        interval_ms: 0,
        at_ms: 0,
        expires_at_ms: 0,
    };
    let d = |e: &mfp_oauth_core::oauth::OAuthError| u32::from(e.diag().number());
    match e {
        None => {}
        Some(Event::UserCode) => ev.kind = K::UserCode,
        Some(Event::SlowDown { interval }) => {
            ev.kind = K::SlowDown;
            ev.interval_ms = interval.as_millis();
        }
        Some(Event::RefreshTokenRotated) => ev.kind = K::RefreshTokenRotated,
        Some(Event::SignatureRequired) => ev.kind = K::SignatureRequired,
        Some(Event::AccessToken { expires_at }) => {
            ev.kind = K::AccessToken;
            ev.expires_at_ms = expires_at.map_or(0, Instant::as_millis);
        }
        Some(Event::Retrying { error, at }) => {
            ev.kind = K::Retrying;
            ev.diag = d(&error);
            ev.at_ms = at.as_millis();
        }
        Some(Event::ReauthRequired(error)) => {
            ev.kind = K::ReauthRequired;
            ev.diag = d(&error);
        }
        Some(Event::Failed(error)) => {
            ev.kind = K::Failed;
            ev.diag = d(&error);
        }
        #[allow(unreachable_patterns)]
        Some(_) => ev.kind = K::Other,
    }
    ev
}
