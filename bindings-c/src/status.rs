//! `mfp_oauth_status`: what every C call returns.
//!
//! The list itself is generated from the core's diagnostic catalogue into
//! `status/list.rs` by the `generated` test (`MFP_OAUTH_BLESS=1 cargo test
//! -p mfp-oauth-c --test generated` rewrites it and the header after a new
//! diagnostic id lands; the test fails until then). Numbers are the
//! diagnostic numbers, which never change, so statuses are never renumbered.

use core::ffi::{c_char, CStr};

use mfp_oauth_core::diag::Id;

#[rustfmt::skip]
mod list;

pub use list::MfpOauthStatus;

/// A message refused by the SMTP session (for its in-place submit, whose
/// fill reports statuses).
impl From<mfp_oauth_core::smtp::SubmitError> for MfpOauthStatus {
    fn from(e: mfp_oauth_core::smtp::SubmitError) -> Self {
        Self::of(e)
    }
}

impl MfpOauthStatus {
    /// The status of a failure with diagnostic `id`.
    #[must_use]
    pub fn from_diag(id: Id) -> Self {
        match Self::from_number(u32::from(id.number())) {
            Some(s) if s.number() >= 100 => s,
            _ => Self::Unlisted,
        }
    }

    /// The status of a core error.
    #[must_use]
    pub fn of<E: mfp_oauth_core::diag::Diagnostic>(e: E) -> Self {
        Self::from_diag(e.diag())
    }

    /// The public number.
    #[must_use]
    pub const fn number(self) -> u32 {
        self as u32
    }

    /// The diagnostic behind a failing status (`None` for `Ok`; a NULL
    /// parameter is reported as an invalid argument).
    #[must_use]
    pub fn diag(self) -> Option<Id> {
        match self {
            Self::Ok => None,
            Self::NullParameter | Self::Unlisted => Some(Id::InvalidArgument),
            other => Id::from_number(u16::try_from(other.number()).ok()?),
        }
    }
}

/// The C name of a status, e.g. `"MFP_OAUTH_STATUS_SMTP_AUTH_DISABLED"` for
/// 305, or `"MFP_OAUTH_STATUS_UNKNOWN"` for a number that is no status.
///
/// Takes the status as a plain integer so that any value is safe to pass.
/// The returned pointer is a static NUL-terminated string, valid for the
/// whole program; never NULL; do not free it. Reentrant: safe from any task
/// or interrupt.
#[no_mangle]
pub extern "C" fn mfp_oauth_status_str(status: u32) -> *const c_char {
    let name: &CStr = match MfpOauthStatus::from_number(status) {
        Some(s) => s.c_name(),
        None => c"MFP_OAUTH_STATUS_UNKNOWN",
    };
    name.as_ptr()
}
