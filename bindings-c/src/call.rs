//! The boundary: the one wrapper every C entry point goes through (R-FFI).
//!
//! Each exported function names the pointers it requires and the object it
//! works on, and hands the work to [`with_mut`], [`with_ref`] or [`call`]:
//!
//! 1. a required pointer that is NULL is `NULL_PARAMETER` (before anything
//!    else, so that a NULL is reported whatever the object's state);
//! 2. the live value is taken from the caller's opaque storage
//!    ([`handle::get`] / [`handle::get_ref`]): a NULL handle is
//!    `NULL_PARAMETER`, storage that holds no live object `WRONG_STATE`;
//! 3. the work runs with a panic caught where std is there to catch it
//!    (host builds in development and tests): a panic, a bug, is reported as
//!    `MFP_OAUTH_STATUS_UNLISTED` instead of unwinding into C. Release and
//!    firmware builds abort on a panic (`panic = "abort"`; on a bare-metal
//!    target the firmware's `mfp_oauth_panic_hook`), so nothing is caught
//!    there and the wrapper adds no code;
//! 4. the work returns the status (its early returns use `try_status!`).
//!
//! The wrappers are generic and always inlined: the work's closure borrows
//! the caller's arguments (nothing large is copied or moved), so an entry
//! point costs no more stack than the hand-written checks did. The work
//! returns a plain status, not a `Result`: measured on the Cortex-M4F, a
//! closure returning `Result<(), _>` kept a second copy of a large local
//! (the SMTP settings, 576 octets, in `mfp_oauth_smtp_create`), one
//! returning the status did not.

use crate::handle::{self, Opaque};
use crate::MfpOauthStatus;

/// Pointers a call requires (not NULL): one raw pointer, or a tuple of
/// them, or `()` for none.
pub(crate) trait Required {
    /// Whether any of them is NULL.
    fn any_null(&self) -> bool;
}

impl Required for () {
    #[inline(always)]
    fn any_null(&self) -> bool {
        false
    }
}

impl<T> Required for *const T {
    #[inline(always)]
    fn any_null(&self) -> bool {
        self.is_null()
    }
}

impl<T> Required for *mut T {
    #[inline(always)]
    fn any_null(&self) -> bool {
        self.is_null()
    }
}

macro_rules! required_tuple {
    ($($p:ident),+) => {
        impl<$($p: Required),+> Required for ($($p,)+) {
            #[inline(always)]
            #[allow(non_snake_case)]
            fn any_null(&self) -> bool {
                let ($($p,)+) = self;
                false $(|| $p.any_null())+
            }
        }
    };
}
required_tuple!(A);
required_tuple!(A, B);
required_tuple!(A, B, C);
required_tuple!(A, B, C, D);
required_tuple!(A, B, C, D, E);

/// Runs `work`, with a panic caught on builds that have std (step 3 of the
/// module's list).
#[inline(always)]
fn guarded(work: impl FnOnce() -> MfpOauthStatus) -> MfpOauthStatus {
    #[cfg(not(target_os = "none"))]
    let status = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
        .unwrap_or(MfpOauthStatus::Unlisted);
    #[cfg(target_os = "none")]
    let status = work();
    status
}

/// A call on no object: `required` checked, then `work` (guarded).
#[inline(always)]
pub(crate) fn call(
    required: impl Required,
    work: impl FnOnce() -> MfpOauthStatus,
) -> MfpOauthStatus {
    if required.any_null() {
        return MfpOauthStatus::NullParameter;
    }
    guarded(work)
}

/// A call that changes the object in `storage`: `required` checked, then
/// `work` on its live value (guarded).
///
/// # Safety
/// `storage` is NULL or valid for reads and writes of `S` and not aliased
/// during the call (as for [`handle::get`]); `work`'s own pointer uses are
/// its own contract.
#[inline(always)]
pub(crate) unsafe fn with_mut<S: Opaque>(
    storage: *mut S,
    required: impl Required,
    work: impl FnOnce(&mut S::Value) -> MfpOauthStatus,
) -> MfpOauthStatus {
    call(required, || {
        // SAFETY: forwarded contract.
        let value = try_status!(unsafe { handle::get(storage) });
        work(value)
    })
}

/// As [`with_mut`], but `work` gets the lookup's result (`Err`: a NULL
/// handle or no live object) and reports it itself: for a work that is one
/// call to a function shared with the mailer, which checks it. Measured on
/// the Cortex-M4F, `mfp_oauth_smtp_finish_body` needs 8 octets less stack
/// this way than with [`with_mut`] (76 B at opt-level s).
///
/// # Safety
/// As for [`with_mut`].
#[inline(always)]
pub(crate) unsafe fn with_lookup<S: Opaque>(
    storage: *mut S,
    required: impl Required,
    work: impl FnOnce(Result<&mut S::Value, MfpOauthStatus>) -> MfpOauthStatus,
) -> MfpOauthStatus {
    call(required, || {
        // SAFETY: forwarded contract.
        work(unsafe { handle::get(storage) })
    })
}

/// A call on two objects (a token client and the mailer): `required`
/// checked, then `work` on both live values, `a`'s looked up first.
///
/// # Safety
/// As for [`with_mut`], for `a` and for `b`, which are distinct storages.
#[inline(always)]
pub(crate) unsafe fn with_mut2<A: Opaque, B: Opaque>(
    a: *mut A,
    b: *mut B,
    required: impl Required,
    work: impl FnOnce(&mut A::Value, &mut B::Value) -> MfpOauthStatus,
) -> MfpOauthStatus {
    call(required, || {
        // SAFETY: forwarded contract.
        let a = try_status!(unsafe { handle::get(a) });
        // SAFETY: forwarded contract; distinct from `a`'s storage.
        let b = try_status!(unsafe { handle::get(b) });
        work(a, b)
    })
}

/// A call that only reads the object in `storage` (a `const` handle in C):
/// `required` checked, then `work` on its live value (guarded).
///
/// # Safety
/// `storage` is NULL or valid for reads of `S` and not written during the
/// call (as for [`handle::get_ref`]).
#[inline(always)]
pub(crate) unsafe fn with_ref<S: Opaque>(
    storage: *const S,
    required: impl Required,
    work: impl FnOnce(&S::Value) -> MfpOauthStatus,
) -> MfpOauthStatus {
    call(required, || {
        // SAFETY: forwarded contract.
        let value = try_status!(unsafe { handle::get_ref(storage) });
        work(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mime::MfpOauthMime;

    fn zeroed() -> MfpOauthMime {
        // SAFETY: a `#[repr(C)]` array of u64 words: zero is a valid value.
        unsafe { core::mem::zeroed() }
    }

    #[test]
    fn a_null_required_pointer_comes_first() {
        let mut out = 0u32;
        let out_ptr: *mut u32 = &mut out;
        let null: *const u8 = core::ptr::null();
        let mut ran = false;
        let s = call((out_ptr, null), || {
            ran = true;
            MfpOauthStatus::Ok
        });
        assert_eq!(s, MfpOauthStatus::NullParameter);
        assert!(!ran);
        // Before the handle: a NULL output on storage that holds nothing is
        // still NULL_PARAMETER.
        let mut m = zeroed();
        // SAFETY: valid storage.
        let s = unsafe { with_ref(core::ptr::addr_of!(m), null, |_| MfpOauthStatus::Ok) };
        assert_eq!(s, MfpOauthStatus::NullParameter);
        // SAFETY: valid storage.
        let s = unsafe { with_mut(core::ptr::addr_of_mut!(m), (), |_| MfpOauthStatus::Ok) };
        assert_eq!(s, MfpOauthStatus::WrongState);
        // SAFETY: NULL storage is allowed.
        let s = unsafe {
            with_mut(core::ptr::null_mut::<MfpOauthMime>(), (), |_| {
                MfpOauthStatus::Ok
            })
        };
        assert_eq!(s, MfpOauthStatus::NullParameter);
    }

    #[test]
    fn the_work_result_is_the_status() {
        assert_eq!(call((), || MfpOauthStatus::Ok), MfpOauthStatus::Ok);
        assert_eq!(
            call((), || MfpOauthStatus::BufferTooSmall),
            MfpOauthStatus::BufferTooSmall
        );
    }

    #[test]
    #[allow(clippy::panic)]
    fn a_panic_does_not_cross_the_boundary() {
        // Where panics unwind (host test builds), the wrapper catches one
        // and reports UNLISTED; without the catch this test would fail.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let s = call((), || panic!("a bug"));
        std::panic::set_hook(hook);
        assert_eq!(s, MfpOauthStatus::Unlisted);
    }
}
