//! C API of mfp-oauth (grows with the core; see the C integration guide in
//! the README). Every function returns an `mfp_oauth_status`.
#![no_std]

use mfp_oauth_core::diag::Id;

/// Status of every C call. Numbers never change once released.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthStatus {
    /// Success.
    Ok = 0,
    /// A required pointer was NULL.
    NullParameter = 1,
    /// An output buffer was too small.
    BufferTooSmall = 2,
    /// An integer did not name a known value.
    InvalidArgument = 3,
}

/// The diagnostic number of a status, for the panel.
#[must_use]
pub fn status_diag(status: MfpOauthStatus) -> Option<Id> {
    match status {
        MfpOauthStatus::Ok => None,
        MfpOauthStatus::NullParameter | MfpOauthStatus::InvalidArgument => {
            Some(Id::InvalidArgument)
        }
        MfpOauthStatus::BufferTooSmall => Some(Id::BufferTooSmall),
    }
}
