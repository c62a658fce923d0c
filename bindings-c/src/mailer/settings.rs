//! The mailer's settings: applied by the administrator, read back for the
//! panel (R-CFG, R-RULE).

use super::{MailerObj, MfpOauthMailer};
use crate::buf::put;
use crate::call;
use crate::handle;
use crate::settings::{self as csettings, MfpOauthSettings};
use crate::MfpOauthStatus;

/// The administrator changed the settings: validated (the first broken rule
/// is the status, and nothing changes) and applied; tokens of a changed
/// provider or account are dropped. Any change brings a `PERSIST` step
/// (the settings live in the image), with `erase_other_slot` when a secret
/// left (an orphaned token, or the proxy password changed or removed).
/// The result of `mfp_oauth_mailer_settings` with one field changed
/// changes only that field: its "Send As" list is the one in force, and
/// its `proxy_password_keep` keeps the proxy password (see
/// `mfp_oauth_settings`).
///
/// # Safety
/// `mailer` as for `_destroy`; `settings` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_apply_settings(
    mailer: *mut MfpOauthMailer,
    settings: *const MfpOauthSettings,
) -> MfpOauthStatus {
    call::call(settings, || {
        // SAFETY: the caller's contract.
        let place: *mut MailerObj = try_status!(unsafe { handle::get_place(mailer) });
        // Converted into the staging area while the mailer is only read:
        // the C strings may point into the settings in force (a
        // `mfp_oauth_mailer_settings` result, fields exchanged), which a
        // `&mut` borrow of the whole mailer would invalidate.
        // SAFETY: `place` is the live value; the staging area is written
        // and the mailer read, two disjoint fields; `settings` is valid
        // (contract).
        let filled = unsafe {
            let current = (*place).mailer.settings();
            csettings::fill(&*settings, &mut (*place).staged, Some(current))
        };
        // SAFETY: the C strings are no longer read; nothing else borrows it.
        let m = unsafe { &mut *place };
        let status = match filled {
            // Validated where they are and swapped in: nothing the size of
            // the settings passes through the stack (R-MEM).
            Ok(()) => match m.mailer.apply_settings_from(&mut m.staged) {
                Ok(_) => MfpOauthStatus::Ok,
                Err(v) => v
                    .first()
                    .map_or(MfpOauthStatus::InvalidArgument, MfpOauthStatus::of),
            },
            Err(e) => e,
        };
        // Whatever is left there (refused settings, a proxy password) is
        // wiped.
        m.staged.reset();
        status
    })
}

/// Writes the settings in force to `*out_settings` (after
/// `mfp_oauth_mailer_load`, these are the persisted ones, for the panel),
/// the "Send As" list included. The strings point into the mailer's
/// storage: they stay valid until the next `mfp_oauth_mailer_apply_settings`
/// or `_destroy`, and must not be written through. The proxy password is
/// never read back (`{NULL, 0}`); `proxy_password_keep` is set instead, so
/// that passing the result, with any field changed, to
/// `mfp_oauth_mailer_apply_settings` keeps the password and everything else.
///
/// # Safety
/// `mailer` as for `_destroy` (only read); `out_settings` NULL or valid for
/// a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_settings(
    mailer: *const MfpOauthMailer,
    out_settings: *mut MfpOauthSettings,
) -> MfpOauthStatus {
    let work = |m: &MailerObj| {
        let c = csettings::to_c(m.mailer.settings());
        // SAFETY: not NULL and valid (contract).
        unsafe { put(out_settings, c) }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_ref(mailer, out_settings, work) }
}
