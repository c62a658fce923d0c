//! The mailer's settings: applied by the administrator, read back for the
//! panel (R-CFG, R-RULE).

use mfp_oauth_core::Settings;

use super::{MailerObj, MfpOauthMailer};
use crate::buf::put;
use crate::call;
use crate::handle::{self, opaque, zeroable, Opaque};
use crate::mime::MfpOauthMime;
use crate::settings::{self as csettings, MfpOauthSettings};
use crate::smtp::MfpOauthSmtp;
use crate::token_client::MfpOauthTokenClient;
use crate::MfpOauthStatus;

/// 64-bit words of `mfp_oauth_settings_draft` storage on a 64-bit target:
/// 4,560 octets, alignment 8 (the settings with their "Send As" list, the
/// custom provider's endpoints and the proxy).
#[cfg(target_pointer_width = "64")]
pub const MFP_OAUTH_SETTINGS_DRAFT_WORDS: usize = 570;
/// 64-bit words of `mfp_oauth_settings_draft` storage on a 32-bit target
/// (a Cortex-M): 4,456 octets, alignment 8.
#[cfg(not(target_pointer_width = "64"))]
pub const MFP_OAUTH_SETTINGS_DRAFT_WORDS: usize = 557;

/// Storage where `mfp_oauth_mailer_apply_settings` converts and checks
/// the new settings before they replace the ones in force (R-MEM: the
/// mailer keeps no second copy of the settings for the time of a call).
/// It holds nothing between calls: the call zeroes it when it returns, the
/// refused settings and any proxy password with it. So it may share its
/// memory with storage that is idle whenever settings are applied, for
/// example in a union with the `mfp_oauth_token_client`, which is free
/// outside a token exchange:
///
/// ```c
/// static union {
///   mfp_oauth_token_client tokens;   // during a sign-in or a refresh
///   mfp_oauth_settings_draft draft;  // during apply_settings
/// } shared;
/// ```
///
/// Storage that holds a live library object (a token client that was
/// created and not destroyed, a mailer, ...) is refused with
/// `MFP_OAUTH_STATUS_WRONG_STATE`, untouched.
#[repr(C)]
pub struct MfpOauthSettingsDraft {
    _opaque: [u64; MFP_OAUTH_SETTINGS_DRAFT_WORDS],
}

impl core::fmt::Debug for MfpOauthSettingsDraft {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MfpOauthSettingsDraft")
            .finish_non_exhaustive()
    }
}

opaque!(
    MfpOauthSettingsDraft,
    MFP_OAUTH_SETTINGS_DRAFT_WORDS,
    Settings,
    0x6d66_706f_6472_6674,
    tight
);
zeroable!(Settings);

/// Whether the draft's storage holds a live object of the library: it
/// starts with that object's magic (`handle::Held`). A token client
/// sharing the draft's memory in a union is the likely one.
///
/// # Safety
/// `draft` valid for reads of its storage (not NULL).
unsafe fn holds_live_object(draft: *const MfpOauthSettingsDraft) -> bool {
    // SAFETY: the storage is at least one aligned word (contract).
    let first = unsafe { draft.cast::<u64>().read() };
    [
        <MfpOauthTokenClient as Opaque>::MAGIC,
        <MfpOauthMailer as Opaque>::MAGIC,
        <MfpOauthSmtp as Opaque>::MAGIC,
        <MfpOauthMime as Opaque>::MAGIC,
        <MfpOauthSettingsDraft as Opaque>::MAGIC,
    ]
    .contains(&first)
}

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
/// The new settings are converted and checked in `draft` (see
/// `mfp_oauth_settings_draft`), which is zeroed again when the call
/// returns, whatever the settings' fate. A call refused before the draft
/// is used leaves it as it was: a NULL parameter, a mailer not created,
/// or a `draft` that holds a live object (`MFP_OAUTH_STATUS_WRONG_STATE`,
/// and nothing changes).
///
/// # Safety
/// `mailer` as for `_destroy`; `settings` NULL or valid; `draft` NULL or
/// valid for reads and writes of its storage, overlapping neither the
/// mailer nor anything `settings` points to.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_apply_settings(
    mailer: *mut MfpOauthMailer,
    settings: *const MfpOauthSettings,
    draft: *mut MfpOauthSettingsDraft,
) -> MfpOauthStatus {
    call::call((settings, draft), || {
        // SAFETY: the caller's contract.
        let place: *mut MailerObj = try_status!(unsafe { handle::get_place(mailer) });
        // SAFETY: `draft` is valid for reads (contract, not NULL: checked).
        if unsafe { holds_live_object(draft) } {
            return MfpOauthStatus::WrongState;
        }
        // SAFETY: valid for writes, not aliased, and no live object is
        // there (checked above): zeroed, a valid `Settings`.
        let made = unsafe { handle::create_zeroed(draft, |_| MfpOauthStatus::Ok) };
        if made != MfpOauthStatus::Ok {
            return made;
        }
        // SAFETY: created just above.
        let staged: *mut Settings = try_status!(unsafe { handle::get_place(draft) });
        // Converted into the draft while the mailer is only read: the C
        // strings may point into the settings in force (a
        // `mfp_oauth_mailer_settings` result, fields exchanged), which a
        // `&mut` borrow of the whole mailer would invalidate.
        // SAFETY: `place` is the live mailer, only read here; `staged` is
        // the draft's value, apart from it (contract); `settings` is
        // valid (contract).
        let filled = unsafe {
            let current = (*place).mailer.settings();
            csettings::fill(&*settings, &mut *staged, Some(current))
        };
        // SAFETY: the C strings are no longer read; nothing else borrows
        // the mailer or the draft.
        let (m, staged) = unsafe { (&mut *place, &mut *staged) };
        let status = match filled {
            // Validated where they are and swapped in: nothing the size of
            // the settings passes through the stack (R-MEM).
            Ok(()) => match m.mailer.apply_settings_from(staged) {
                Ok(_) => MfpOauthStatus::Ok,
                Err(v) => v
                    .first()
                    .map_or(MfpOauthStatus::InvalidArgument, MfpOauthStatus::of),
            },
            Err(e) => e,
        };
        // Whatever is left there (refused settings, a proxy password, the
        // settings replaced) is dropped, its secrets wiped, and the
        // storage zeroed: the draft holds nothing between calls.
        // SAFETY: the draft's value is live and no longer borrowed.
        let _ = unsafe { handle::destroy(draft) };
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
