//! # mfp-oauth-c: the C API of mfp-oauth
//!
//! Printer firmware written in C links `libmfp_oauth.a` and includes
//! `include/mfp_oauth.h` (generated from this crate by cbindgen, checked in,
//! verified by the `generated` test). The README's "Using it from C" guide
//! walks through a complete program.
//!
//! ## Conventions (DESIGN.md, R-FFI)
//! - Functions are named `mfp_oauth_<object>_<verb>`; enums
//!   `MFP_OAUTH_<ENUM>_<VARIANT>`; `out_*` parameters come last. A
//!   function that only writes out what an object holds is named by that
//!   noun, without `get_`: `mfp_oauth_mailer_plan`, `_settings`,
//!   `_user_token`, `_last_reply`, `mfp_oauth_smtp_session_state`,
//!   `mfp_oauth_diag_id`; an index is an argument, not a suffix.
//! - Every function returns an [`MfpOauthStatus`] (`mfp_oauth_status`, 0 =
//!   `MFP_OAUTH_STATUS_OK`) except the few that return a static string. A
//!   failing status *is* the diagnostic number of the failure (`305` =
//!   `MFP_OAUTH_STATUS_SMTP_AUTH_DISABLED` = diagnostic E305), so the firmware
//!   can show it and fetch its English or French text with
//!   `mfp_oauth_diag_message()`. `MFP_OAUTH_STATUS_NULL_PARAMETER` (1) is the
//!   only status that is not a diagnostic.
//! - A NULL pointer is `NULL_PARAMETER`; a short output buffer is
//!   `BUFFER_TOO_SMALL`, with the size needed written to the length output;
//!   an integer that does not name a value of its enum is `INVALID_ARGUMENT`.
//!   Otherwise outputs are written only on success.
//! - The caller owns all memory: objects live in caller-allocated opaque
//!   storage (`typedef struct { uint64_t _opaque[N]; } mfp_oauth_x;`, static
//!   or on the stack); the library has no heap, no globals, no callbacks.
//! - Nothing is thread-safe or ISR-safe: one object is used by one task at a
//!   time; distinct objects are independent.
//! - No panic crosses the boundary: the core is written not to panic, release
//!   builds abort on a panic, and on a bare-metal target the panic handler
//!   calls the firmware's `mfp_oauth_panic_hook()` and then spins.
//!
//! `unsafe` exists only in this crate, at the boundary, each block with a
//! `// SAFETY:` comment saying why the pointer use is sound.
#![cfg_attr(target_os = "none", no_std)]
#![deny(missing_docs)]
#![deny(
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[macro_use]
mod buf;
mod call;
pub mod diag;
mod handle;
pub mod mailer;
pub mod mime;
pub mod qr;
pub mod settings;
pub mod smtp;
pub mod status;
pub mod token_client;

pub use status::MfpOauthStatus;

/// Octets of a user id field (`char user_id[...]` of `mfp_oauth_plan`,
/// `mfp_oauth_step`, `mfp_oauth_user_token`): 64 octets and the NUL.
pub const MFP_OAUTH_USER_ID_BUF_LEN: usize = 65;
/// Octets of an e-mail address field (`char account[...]`): 254 octets and
/// the NUL.
pub const MFP_OAUTH_ADDRESS_BUF_LEN: usize = 255;
/// Octets of a host name field (`char host[...]` of `mfp_oauth_plan` and
/// `mfp_oauth_endpoint`): 255 octets and the NUL.
pub const MFP_OAUTH_HOST_BUF_LEN: usize = 256;
/// Octets that always hold a server reply's text and its NUL
/// (`mfp_oauth_smtp_last_reply`, `mfp_oauth_mailer_last_reply`).
pub const MFP_OAUTH_REPLY_TEXT_BUF_LEN: usize = 257;

/// The library's version, `"0.1.0"` (a static NUL-terminated string).
///
/// The returned pointer is valid for the whole program and must not be
/// freed. Safe to call from any context.
#[no_mangle]
pub extern "C" fn mfp_oauth_version() -> *const core::ffi::c_char {
    const VERSION: &core::ffi::CStr = match core::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };
    VERSION.as_ptr()
}

#[cfg(target_os = "none")]
mod panic {
    extern "C" {
        /// Supplied by the firmware: called if the library ever panics (a
        /// bug: the core is written and fuzzed not to). It should log and
        /// reset the device; if it returns, the library spins forever.
        fn mfp_oauth_panic_hook();
    }

    #[panic_handler]
    fn on_panic(_info: &core::panic::PanicInfo<'_>) -> ! {
        // SAFETY: the hook takes no arguments and is provided by the firmware
        // with the documented C signature `void mfp_oauth_panic_hook(void)`.
        unsafe { mfp_oauth_panic_hook() };
        loop {
            core::hint::spin_loop();
        }
    }
}
