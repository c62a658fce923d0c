//! The user slots the firmware lends to a mailer (`mfp_oauth_user_slot`):
//! one per user it keeps signed in, so that a printer that keeps few pays
//! for few (R-MEM).

use mfp_oauth_core::limits::MAX_USER_TOKENS;
use mfp_oauth_core::token::UserSlot;

use crate::handle::{fits, zeroable};
use crate::MfpOauthStatus;

/// The most user slots a mailer uses (and an image holds): lending more is
/// `MFP_OAUTH_STATUS_INVALID_ARGUMENT`.
pub const MFP_OAUTH_MAX_USER_SLOTS: usize = 8;
const _: () = assert!(MFP_OAUTH_MAX_USER_SLOTS == MAX_USER_TOKENS);

/// 64-bit words of one `mfp_oauth_user_slot` on a 64-bit target: 2,456
/// octets, alignment 8 (a user's login name, account and status, and room
/// for a refresh token of 2 KiB).
#[cfg(target_pointer_width = "64")]
pub const MFP_OAUTH_USER_SLOT_WORDS: usize = 307;
/// 64-bit words of one `mfp_oauth_user_slot` on a 32-bit target (a
/// Cortex-M): 2,440 octets, alignment 8.
#[cfg(not(target_pointer_width = "64"))]
pub const MFP_OAUTH_USER_SLOT_WORDS: usize = 305;

/// Storage for one user's token slot, lent by the firmware with the mailer
/// (`mfp_oauth_mailer_create`, `_load`, `_load_from`): an array of one per
/// user the printer keeps signed in at once, at most
/// `MFP_OAUTH_MAX_USER_SLOTS`, usually static. The mailer empties them
/// when it is created, keeps the users' refresh tokens there, and wipes
/// them when it is destroyed; until then the firmware must not read,
/// write or lend them to another mailer.
#[repr(C)]
pub struct MfpOauthUserSlot {
    _opaque: [u64; MFP_OAUTH_USER_SLOT_WORDS],
}

impl core::fmt::Debug for MfpOauthUserSlot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MfpOauthUserSlot").finish_non_exhaustive()
    }
}

// The lent array is used as an array of `UserSlot`s from its first octet
// (no magic: the slots belong to the mailer they are lent to): each C slot
// must hold one, so that `count` of them fit, aligned; and no word more on
// the targets measured, since the size report counts them (R-MEM).
fits!(MfpOauthUserSlot, MFP_OAUTH_USER_SLOT_WORDS, UserSlot, tight);
zeroable!(UserSlot);

/// The user slots as the mailer's token store keeps them: `None` for none.
pub(crate) type LentSlots = Option<&'static mut [UserSlot]>;

/// Takes the firmware's `count` slots at `users` for a mailer: zeroed (a
/// valid, empty slot each), then handed to the store, which empties them
/// ([`mfp_oauth_core::token::TokenStore::set_user_slots`]). `NULL, 0` lends
/// none (the administrator's and the public user's tokens need no slot).
///
/// # Safety
/// `users` NULL or valid for reads and writes of `count` slots, used by
/// nothing else until the mailer is destroyed (the caller's contract).
pub(crate) unsafe fn lend(
    users: *mut MfpOauthUserSlot,
    count: usize,
) -> Result<LentSlots, MfpOauthStatus> {
    if count > MFP_OAUTH_MAX_USER_SLOTS {
        return Err(MfpOauthStatus::InvalidArgument);
    }
    if count == 0 {
        return Ok(None);
    }
    if users.is_null() {
        return Err(MfpOauthStatus::NullParameter);
    }
    let first = users.cast::<UserSlot>();
    // SAFETY: the `count` C slots are valid for writes (contract) and hold
    // `count` `UserSlot`s from their first octet, aligned (asserted above).
    unsafe { core::ptr::write_bytes(first, 0, count) };
    // SAFETY: as above; all-zero bytes are a valid `UserSlot` (`zeroable!`);
    // nothing else uses the slots until the mailer is destroyed (contract),
    // which gives them back through `wipe` before its storage goes.
    Ok(Some(unsafe {
        core::slice::from_raw_parts_mut(first, count)
    }))
}

/// Gives back slots the store let go of (emptied, their secrets zeroized):
/// every octet is wiped, login names and accounts too.
pub(crate) fn wipe(slots: LentSlots) {
    if let Some(s) = slots {
        let (first, count) = (s.as_mut_ptr(), s.len());
        // SAFETY: `first` is valid for writes of `count` `UserSlot`s (the
        // lent storage), and the only reference to it has been given up:
        // the octets are the firmware's again.
        unsafe { core::ptr::write_bytes(first, 0, count) };
    }
}
