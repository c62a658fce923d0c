//! The C mailer's one place for its job's session: the SMTP session or the
//! mail API session, built in place in the same octets (R-MEM).
//!
//! A job needs one of them at a time (`mfp_oauth_core::mailer::SessionPlace`
//! says when each is held). Side by side they take 11.6 KB of the
//! mailer's storage; here they share the larger one's 6.5 KB. Safe Rust cannot switch
//! such a place between two kinds without building the new session on the
//! stack and moving it (a 7 KB frame, measured), so the switch is done here,
//! at the FFI edge, as `handle::create_zeroed` builds the C objects: the
//! session held is dropped (its secrets zeroized), the area zeroed, which
//! is a valid session of either kind (`zeroable!`), and the new one made
//! idle in place through `&mut`.

use core::mem::{align_of, size_of};
use core::ptr;

use mfp_oauth_core::api;
use mfp_oauth_core::mailer::{HeldSession, SessionPlace};
use mfp_oauth_core::smtp;

use crate::handle::zeroable;

const fn larger(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// 64-bit words of the area: the larger session.
const AREA_WORDS: usize = larger(size_of::<smtp::Session>(), size_of::<api::Session>()).div_ceil(8);

// Either session fits the area from its first octet, aligned.
const _: () = assert!(size_of::<smtp::Session>() <= AREA_WORDS * 8);
const _: () = assert!(size_of::<api::Session>() <= AREA_WORDS * 8);
const _: () = assert!(align_of::<smtp::Session>() <= align_of::<u64>());
const _: () = assert!(align_of::<api::Session>() <= align_of::<u64>());

zeroable!(smtp::Session);
zeroable!(api::Session);

/// The session place of the C mailer. All-zero, it holds nothing (as the
/// mailer's storage is when it is created); the mailer then makes it hold
/// an idle SMTP session.
pub(crate) struct SharedSession {
    /// The held session's octets, from the first (zero when nothing is
    /// held).
    area: [u64; AREA_WORDS],
    held: HeldSession,
}

impl SharedSession {
    fn smtp_ptr(&self) -> *const smtp::Session {
        self.area.as_ptr().cast()
    }

    fn smtp_mut_ptr(&mut self) -> *mut smtp::Session {
        self.area.as_mut_ptr().cast()
    }

    fn api_ptr(&self) -> *const api::Session {
        self.area.as_ptr().cast()
    }

    fn api_mut_ptr(&mut self) -> *mut api::Session {
        self.area.as_mut_ptr().cast()
    }

    /// The place holds nothing from now on: the session it held is
    /// dropped (its secrets zeroized) and every octet of it zeroed.
    fn release(&mut self) {
        match self.held {
            // SAFETY: `held` says a valid session of that kind lives in the
            // area (made by `hold_*`); it is dropped once, as `held` is
            // set to `Nothing` before anything else reads the area.
            HeldSession::Smtp => unsafe { ptr::drop_in_place(self.smtp_mut_ptr()) },
            // SAFETY: as above.
            HeldSession::Api => unsafe { ptr::drop_in_place(self.api_mut_ptr()) },
            HeldSession::Nothing => {}
        }
        self.held = HeldSession::Nothing;
        // SAFETY: the area is this struct's own `[u64; AREA_WORDS]`; zero
        // words are valid `u64`s, and no session lives there any more.
        unsafe { ptr::write_bytes(self.area.as_mut_ptr(), 0, AREA_WORDS) };
    }
}

impl SessionPlace for SharedSession {
    fn held(&self) -> HeldSession {
        self.held
    }

    fn smtp(&self) -> Option<&smtp::Session> {
        if self.held == HeldSession::Smtp {
            // SAFETY: `held` says an SMTP session lives in the area (sized
            // and aligned for it, asserted above); the reference borrows
            // `self`.
            Some(unsafe { &*self.smtp_ptr() })
        } else {
            None
        }
    }

    fn smtp_mut(&mut self) -> Option<&mut smtp::Session> {
        if self.held == HeldSession::Smtp {
            // SAFETY: as in `smtp`, with `self` borrowed mutably.
            Some(unsafe { &mut *self.smtp_mut_ptr() })
        } else {
            None
        }
    }

    fn api(&self) -> Option<&api::Session> {
        if self.held == HeldSession::Api {
            // SAFETY: `held` says an API session lives in the area (sized
            // and aligned for it, asserted above); the reference borrows
            // `self`.
            Some(unsafe { &*self.api_ptr() })
        } else {
            None
        }
    }

    fn api_mut(&mut self) -> Option<&mut api::Session> {
        if self.held == HeldSession::Api {
            // SAFETY: as in `api`, with `self` borrowed mutably.
            Some(unsafe { &mut *self.api_mut_ptr() })
        } else {
            None
        }
    }

    fn hold_smtp(&mut self) -> &mut smtp::Session {
        if self.held != HeldSession::Smtp {
            self.release();
            // SAFETY: the area is zeroed (`release`): all-zero octets are a
            // valid SMTP session (`zeroable!`), sized and aligned for it
            // (asserted above). It is made idle in place, never moved.
            unsafe { &mut *self.smtp_mut_ptr() }.make_idle();
            self.held = HeldSession::Smtp;
        }
        // SAFETY: an SMTP session lives in the area (`held`).
        unsafe { &mut *self.smtp_mut_ptr() }
    }

    fn hold_api(&mut self) -> &mut api::Session {
        if self.held != HeldSession::Api {
            self.release();
            // SAFETY: as in `hold_smtp`, for an API session.
            unsafe { &mut *self.api_mut_ptr() }.make_idle();
            self.held = HeldSession::Api;
        }
        // SAFETY: an API session lives in the area (`held`).
        unsafe { &mut *self.api_mut_ptr() }
    }
}

impl Drop for SharedSession {
    /// The session held is dropped and its octets wiped.
    fn drop(&mut self) {
        self.release();
    }
}

impl core::fmt::Debug for SharedSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedSession")
            .field("smtp", &self.smtp())
            .field("api", &self.api())
            .finish()
    }
}
