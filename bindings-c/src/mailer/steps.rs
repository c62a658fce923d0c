//! The steps the firmware drains after every input: SMTP events, plan
//! changes, and the store's events (when to write the image, notices).

use core::ffi::c_char;

use mfp_oauth_core::mailer::Step;
use mfp_oauth_core::token::{StoreEvent, TokenOwner};
use mfp_oauth_core::Instant;

use super::{copy_str, MailerObj, MfpOauthMailer};
use crate::buf::put;
use crate::call;
use crate::smtp::MfpOauthSmtpEvent;
use crate::{MfpOauthStatus, MFP_OAUTH_USER_ID_BUF_LEN};

/// What a mailer step is (`mfp_oauth_step_kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthStepKind {
    /// Nothing pending.
    None = 0,
    /// An SMTP event (`smtp`): act on UPGRADE_TLS and READY_FOR_BODY; the
    /// others are progress to show or log.
    Smtp = 1,
    /// The plan changed: read it with `mfp_oauth_mailer_plan`.
    PlanChanged = 2,
    /// Write a new image (`mfp_oauth_mailer_save_begin` and `_save_next`
    /// through a flash page, or `mfp_oauth_mailer_save`); if `erase_other_slot`,
    /// erase the other slot once it is written (no old refresh token stays
    /// in flash).
    Persist = 3,
    /// R-TOK-4: show the warning on the Information screen: the
    /// administrator's authentication was cancelled (`diag`).
    AdminReauthNeeded = 4,
    /// User `user_id`'s token was rejected; they sign in at the next send.
    UserReauthNeeded = 5,
    /// A refresh token expires in `days_left` days (`user_id` empty: the
    /// administrator's).
    RefreshTokenExpiring = 6,
    /// A step newer than this header.
    Other = 7,
    /// At power-on the newest image was damaged and the previous one was
    /// loaded (`diag` NV_PREVIOUS_RESTORED): show the notice; the last change
    /// saved before the power-on may be lost. A PERSIST step follows (the
    /// new image goes over the damaged slot).
    PreviousImageRestored = 8,
}

/// One step (`mfp_oauth_step`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthStep {
    /// What it is.
    pub kind: MfpOauthStepKind,
    /// SMTP: the event.
    pub smtp: MfpOauthSmtpEvent,
    /// PERSIST: erase the other slot after writing.
    pub erase_other_slot: bool,
    /// The diagnostic to show, 0 if none.
    pub diag: u32,
    /// USER_REAUTH_NEEDED, REFRESH_TOKEN_EXPIRING: the user, NUL-terminated.
    pub user_id: [c_char; MFP_OAUTH_USER_ID_BUF_LEN],
    /// REFRESH_TOKEN_EXPIRING: whole days left.
    pub days_left: u32,
}

/// Writes the next step (`kind` NONE when none). Drain after every input.
///
/// # Safety
/// `mailer` as for `_destroy`; `out_step` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_poll_event(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    out_step: *mut MfpOauthStep,
) -> MfpOauthStatus {
    use MfpOauthStepKind as K;
    let work = |m: &mut MailerObj| {
        let mut s = MfpOauthStep {
            kind: K::None,
            smtp: MfpOauthSmtpEvent::from_none(),
            erase_other_slot: false,
            diag: 0,
            user_id: [0; MFP_OAUTH_USER_ID_BUF_LEN],
            days_left: 0,
        };
        match m.mailer.poll_event(Instant::from_millis(now_ms)) {
            None => {}
            Some(Step::Smtp(e)) => {
                s.kind = K::Smtp;
                s.smtp = e.into();
            }
            Some(Step::PlanChanged) => s.kind = K::PlanChanged,
            Some(Step::Store(e)) => {
                s.diag = e.diag().map_or(0, |d| u32::from(d.number()));
                match e {
                    StoreEvent::Persist { erase_other_slot } => {
                        s.kind = K::Persist;
                        s.erase_other_slot = erase_other_slot;
                    }
                    StoreEvent::AdminReauthNeeded => s.kind = K::AdminReauthNeeded,
                    StoreEvent::UserReauthNeeded(id) => {
                        s.kind = K::UserReauthNeeded;
                        copy_str(&mut s.user_id, &id);
                    }
                    StoreEvent::PreviousImageRestored => s.kind = K::PreviousImageRestored,
                    StoreEvent::RefreshTokenExpiring { owner, days_left } => {
                        s.kind = K::RefreshTokenExpiring;
                        s.days_left = u32::from(days_left);
                        if let TokenOwner::User(id) = owner {
                            copy_str(&mut s.user_id, &id);
                        }
                    }
                    _ => s.kind = K::Other,
                }
            }
            Some(_) => s.kind = K::Other,
        }
        // SAFETY: not NULL and valid (contract).
        unsafe { put(out_step, s) }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mailer, out_step, work) }
}
