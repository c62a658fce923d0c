//! Where a token store keeps its users' slots (R-MEM).
//!
//! A user's slot (login name, account, refresh token, status) is the
//! largest part of the store, about 2.4 KB, most of it room for a refresh
//! token at its longest. A store keeps [`MAX_USER_TOKENS`] of them by
//! default; a firmware that keeps fewer users signed in lends only as many
//! ([`crate::token::TokenStore::set_user_slots`]) and does not pay for the
//! others.

use super::store::UserEntry;
use crate::limits::MAX_USER_TOKENS;

/// One user's token slot. Opaque: only a [`crate::token::TokenStore`] fills
/// it; lend them empty (`None`).
pub type UserSlot = Option<UserEntry>;

mod sealed {
    pub trait Sealed {}
}

/// Storage for a [`crate::token::TokenStore`]'s user slots: an array the
/// store owns, or slots the firmware lends (`&mut [UserSlot]`, or
/// `Option<&mut [UserSlot]>` where storage that starts zeroed must be
/// valid, `None` then meaning no slot). At most [`MAX_USER_TOKENS`] slots
/// are used, whatever is lent: the image is bounded for that many.
pub trait UserSlots: sealed::Sealed {
    /// The slots in use.
    fn slots(&self) -> &[UserSlot];
    /// The slots in use, to change.
    fn slots_mut(&mut self) -> &mut [UserSlot];
}

fn bounded(slots: &[UserSlot]) -> &[UserSlot] {
    slots.get(..MAX_USER_TOKENS).unwrap_or(slots)
}

fn bounded_mut(slots: &mut [UserSlot]) -> &mut [UserSlot] {
    let n = slots.len().min(MAX_USER_TOKENS);
    slots.get_mut(..n).unwrap_or_default()
}

impl<const N: usize> sealed::Sealed for [UserSlot; N] {}

impl<const N: usize> UserSlots for [UserSlot; N] {
    fn slots(&self) -> &[UserSlot] {
        bounded(self)
    }
    fn slots_mut(&mut self) -> &mut [UserSlot] {
        bounded_mut(self)
    }
}

impl sealed::Sealed for &mut [UserSlot] {}

impl UserSlots for &mut [UserSlot] {
    fn slots(&self) -> &[UserSlot] {
        bounded(self)
    }
    fn slots_mut(&mut self) -> &mut [UserSlot] {
        bounded_mut(self)
    }
}

impl sealed::Sealed for Option<&mut [UserSlot]> {}

// Not inlined: called from every place the store looks at its users, where
// one call is smaller than the checks repeated (flash, R-MEM).
impl UserSlots for Option<&mut [UserSlot]> {
    #[inline(never)]
    fn slots(&self) -> &[UserSlot] {
        self.as_deref().map_or(&[], bounded)
    }
    #[inline(never)]
    fn slots_mut(&mut self) -> &mut [UserSlot] {
        self.as_deref_mut().map_or(&mut [], bounded_mut)
    }
}
