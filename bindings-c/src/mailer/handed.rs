//! A token handed in from outside (R-APP): a print-management server that
//! obtained an access token gives it to the printer for a slot.

use core::ffi::c_char;

use mfp_oauth_core::time::{Duration, Instant};
use mfp_oauth_core::token::TokenOwner;
use mfp_oauth_core::Address;

use super::{MailerObj, MfpOauthMailer};
use crate::buf::{bytes, text};
use crate::call;
use crate::MfpOauthStatus;

/// Installs an access token handed in from outside (a print-management
/// server obtained it from the provider) for the administrator (`user_id`
/// `{NULL, 0}`) or for user `user_id`, for `account`, living
/// `expires_in_s` seconds from `now_ms`. Jobs use it under the same sender
/// policy as a signed-in token (a From it may not send as is refused
/// before any network octet). It is held in RAM only: a power-on forgets
/// it, and it is never saved in the image. When it ends with no refresh
/// token behind it, the next job fails with `HANDED_TOKEN_EXPIRED` (E513):
/// hand in a new one. The token is copied; wipe your own copy.
///
/// `ADMIN_ADDRESS_MISSING` / `ACCOUNT_MISMATCH` for the administrator's
/// slot without an administrator address or for another account;
/// `ACCOUNT_MISMATCH` for a user whose slot holds another account's refresh
/// token; `HANDED_TOKEN_EXPIRED` for an empty token or `expires_in_s` 0;
/// `TOKEN_TOO_LARGE` over 4096 octets; `INVALID_ADDRESS`; `TOKEN_STORE_FULL`
/// for a new user with every slot taken. Nothing changes on an error.
///
/// # Safety
/// `mailer` as for `_destroy`; `user_id` NULL or valid for `user_id_len`
/// bytes; `account` valid for `account_len` bytes of UTF-8; `token` valid
/// for `token_len` bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mfp_oauth_mailer_install_token(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    user_id: *const c_char,
    user_id_len: usize,
    account: *const c_char,
    account_len: usize,
    token: *const u8,
    token_len: usize,
    expires_in_s: u32,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        // SAFETY: each valid for its length (contract).
        let (id, account, token) = unsafe {
            (
                try_status!(super::tokens::user_id(user_id, user_id_len)),
                try_status!(text(account, account_len)),
                try_status!(bytes(token, token_len)),
            )
        };
        let owner = if id.is_empty() {
            TokenOwner::Admin
        } else {
            TokenOwner::User(try_status!(
                heapless::String::try_from(id).map_err(|_| MfpOauthStatus::CapacityExceeded)
            ))
        };
        let account =
            try_status!(Address::parse(account).map_err(|_| MfpOauthStatus::InvalidAddress));
        match m.mailer.install_handed_token(
            Instant::from_millis(now_ms),
            &owner,
            &account,
            token,
            Duration::from_secs(u64::from(expires_in_s)),
        ) {
            Ok(()) => MfpOauthStatus::Ok,
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mailer, (), work) }
}
