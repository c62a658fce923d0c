//! The token store as the panel shows it: statuses, the token list,
//! deleting and logging out, expiry checks (R-TOK-3, R-TOK-4, R-TOK-5,
//! R-ACCT).

use core::ffi::c_char;

use mfp_oauth_core::token::{TokenOwner, TokenStatus, UserId, WallTime};
use mfp_oauth_core::Address;

use super::{copy_str, MailerObj, MfpOauthMailer};
use crate::buf::{put, text};
use crate::call;
use crate::settings::opt_text;
use crate::smtp::MfpOauthStr;
use crate::{MfpOauthStatus, MFP_OAUTH_ADDRESS_BUF_LEN, MFP_OAUTH_USER_ID_BUF_LEN};

/// A refresh-token status (`mfp_oauth_token_status`), as the panel shows it.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthTokenStatus {
    /// "Required": no refresh token.
    Required = 0,
    /// "Acquired".
    Acquired = 1,
    /// Rejected by the provider: authenticate again.
    ReauthNeeded = 2,
}

/// The caller's optional user id: `{NULL, 0}` is empty.
///
/// # Safety
/// `ptr` NULL or valid for `len` bytes.
pub(super) unsafe fn user_id<'a>(
    ptr: *const c_char,
    len: usize,
) -> Result<&'a str, MfpOauthStatus> {
    // SAFETY: forwarded contract.
    unsafe { opt_text(&MfpOauthStr { ptr, len }) }
}

/// Writes the refresh-token status of the administrator (`user_id`
/// `{NULL, 0}`) or of user `user_id` (R-TOK-3).
///
/// # Safety
/// `mailer` as for `_destroy` (only read); `user_id` NULL or valid for its
/// length; `out_status` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_token_status(
    mailer: *const MfpOauthMailer,
    user_id: *const c_char,
    user_id_len: usize,
    out_status: *mut MfpOauthTokenStatus,
) -> MfpOauthStatus {
    let work = |m: &MailerObj| {
        // SAFETY: valid for its length (contract).
        let id = try_status!(unsafe { self::user_id(user_id, user_id_len) });
        let owner = if id.is_empty() {
            TokenOwner::Admin
        } else {
            TokenOwner::User(try_status!(
                heapless::String::try_from(id).map_err(|_| MfpOauthStatus::CapacityExceeded)
            ))
        };
        let s = status_c(m.mailer.store().status(&owner));
        // SAFETY: not NULL and valid (contract).
        unsafe { put(out_status, s) }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_ref(mailer, out_status, work) }
}

/// Deletes user `user_id`'s tokens (the panel's Delete, R-TOK-5), or the
/// administrator's with `{NULL, 0}`; a PERSIST step follows.
/// `UNKNOWN_USER` if the user holds none.
///
/// # Safety
/// `mailer` as for `_destroy`; `user_id` NULL or valid for its length.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_delete_tokens(
    mailer: *mut MfpOauthMailer,
    user_id: *const c_char,
    user_id_len: usize,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        // SAFETY: valid for its length (contract).
        let id = try_status!(unsafe { self::user_id(user_id, user_id_len) });
        if id.is_empty() {
            m.mailer.delete_admin_tokens();
            return MfpOauthStatus::Ok;
        }
        match m.mailer.delete_user_tokens(id) {
            Ok(()) => MfpOauthStatus::Ok,
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mailer, (), work) }
}

/// User `user_id` logged out: with automatic deletion on, their tokens are
/// deleted (`*out_deleted` true, and a PERSIST step follows).
///
/// # Safety
/// `mailer` as for `_destroy`; `user_id` NULL or valid for its length;
/// `out_deleted` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_logout(
    mailer: *mut MfpOauthMailer,
    user_id: *const c_char,
    user_id_len: usize,
    out_deleted: *mut bool,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        // SAFETY: valid for its length (contract).
        let id = try_status!(unsafe { text(user_id, user_id_len) });
        let deleted = m.mailer.logout(id);
        // SAFETY: not NULL and valid (contract).
        unsafe { put(out_deleted, deleted) }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mailer, out_deleted, work) }
}

/// The system auto-reset fired (`user_id`: who was logged in, `{NULL, 0}`
/// for nobody): with automatic deletion on, user tokens are deleted.
///
/// # Safety
/// As for `mfp_oauth_mailer_logout`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_auto_reset(
    mailer: *mut MfpOauthMailer,
    user_id: *const c_char,
    user_id_len: usize,
    out_deleted: *mut bool,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        // SAFETY: valid for its length (contract).
        let id = try_status!(unsafe { self::user_id(user_id, user_id_len) });
        let current = (!id.is_empty()).then_some(id);
        let deleted = m.mailer.auto_reset(current);
        // SAFETY: not NULL and valid (contract).
        unsafe { put(out_deleted, deleted) }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mailer, out_deleted, work) }
}

/// Daily (or at power-on) with the wall clock `wall_s` (seconds since
/// 1970): refresh tokens near their provider's expiry raise
/// REFRESH_TOKEN_EXPIRING steps.
///
/// # Safety
/// `mailer` as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_check_expiry(
    mailer: *mut MfpOauthMailer,
    wall_s: u64,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        m.mailer.check_expiry(WallTime(wall_s));
        MfpOauthStatus::Ok
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mailer, (), work) }
}

/// One user who holds tokens (`mfp_oauth_user_token`), for the panel's
/// token list (R-TOK-5).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthUserToken {
    /// The login name, NUL-terminated.
    pub user_id: [c_char; MFP_OAUTH_USER_ID_BUF_LEN],
    /// The account the token was acquired for, NUL-terminated (empty if none).
    pub account: [c_char; MFP_OAUTH_ADDRESS_BUF_LEN],
    /// Its status.
    pub status: MfpOauthTokenStatus,
    /// The provider named `account` as the one that signed in (its
    /// `id_token`, R-ACCT); false: the configured address was assumed
    /// (show it as unverified).
    pub account_verified: bool,
    /// When the refresh token is expected to die, in wall-clock seconds
    /// since 1970-01-01 UTC: the earlier of the provider's rule (90 days
    /// unused at Microsoft, 180 at Google, 7 days for a Google app in
    /// testing) and the date the provider gave with the token
    /// (`refresh_token_expires_in`). 0 when unknown (no wall clock was
    /// given at sign-in, or no token). The panel shows it; the notice comes
    /// from `mfp_oauth_mailer_check_expiry`.
    pub refresh_expires_at: u64,
}

fn status_c(s: TokenStatus) -> MfpOauthTokenStatus {
    match s {
        TokenStatus::Required => MfpOauthTokenStatus::Required,
        TokenStatus::Acquired => MfpOauthTokenStatus::Acquired,
        TokenStatus::ReauthNeeded => MfpOauthTokenStatus::ReauthNeeded,
    }
}

/// Writes the number of users holding a token slot to `*out_count` and,
/// with `mfp_oauth_mailer_user_token`, lets the panel list them; also whether
/// the Information screen must show the administrator's re-authentication
/// notice (R-TOK-4) in `*out_admin_notice`.
///
/// # Safety
/// `mailer` as for `_destroy` (only read); the outputs NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_token_overview(
    mailer: *const MfpOauthMailer,
    out_user_count: *mut usize,
    out_admin_notice: *mut bool,
) -> MfpOauthStatus {
    let work = |m: &MailerObj| {
        let store = m.mailer.store();
        // SAFETY: both outputs are not NULL and valid (contract).
        unsafe {
            out_user_count.write(store.users().count());
            out_admin_notice.write(store.admin_notice());
        }
        MfpOauthStatus::Ok
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_ref(mailer, (out_user_count, out_admin_notice), work) }
}

/// Writes the `index`-th user holding a token slot (`index` below the count
/// of `mfp_oauth_mailer_token_overview`); `INVALID_ARGUMENT` past the end.
///
/// # Safety
/// `mailer` as for `_destroy` (only read); `out_user` NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_user_token(
    mailer: *const MfpOauthMailer,
    index: usize,
    out_user: *mut MfpOauthUserToken,
) -> MfpOauthStatus {
    let work = |m: &MailerObj| {
        let store = m.mailer.store();
        let Some((id, status, account)) = store.users().nth(index) else {
            return MfpOauthStatus::InvalidArgument;
        };
        let owner = UserId::try_from(id).ok().map(TokenOwner::User);
        let verified = owner.as_ref().is_some_and(|o| store.account_verified(o));
        let expiry = owner
            .as_ref()
            .and_then(|o| store.expected_expiry(o, m.mailer.settings()));
        // SAFETY: not NULL and valid (contract).
        unsafe { put(out_user, token_entry(id, status, account, verified, expiry)) }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_ref(mailer, out_user, work) }
}

fn token_entry(
    id: &str,
    status: TokenStatus,
    account: Option<&Address>,
    verified: bool,
    expiry: Option<WallTime>,
) -> MfpOauthUserToken {
    let mut u = MfpOauthUserToken {
        user_id: [0; MFP_OAUTH_USER_ID_BUF_LEN],
        account: [0; MFP_OAUTH_ADDRESS_BUF_LEN],
        status: status_c(status),
        account_verified: verified,
        refresh_expires_at: expiry.map_or(0, |w| w.0),
    };
    copy_str(&mut u.user_id, id);
    if let Some(a) = account {
        copy_str(&mut u.account, a.as_str());
    }
    u
}

/// Writes the administrator's token slot as a token entry (`user_id`
/// empty): the account the token was acquired for, its status, and
/// whether the provider named that account at sign-in (R-ACCT), for the
/// OAuth screen and the token overview.
///
/// # Safety
/// `mailer` as for `_destroy` (only read); `out_admin` NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_admin_token(
    mailer: *const MfpOauthMailer,
    out_admin: *mut MfpOauthUserToken,
) -> MfpOauthStatus {
    let work = |m: &MailerObj| {
        let store = m.mailer.store();
        let owner = TokenOwner::Admin;
        let u = token_entry(
            "",
            store.admin_status(),
            store.account(&owner),
            store.account_verified(&owner),
            store.expected_expiry(&owner, m.mailer.settings()),
        );
        // SAFETY: not NULL and valid (contract).
        unsafe { put(out_admin, u) }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_ref(mailer, out_admin, work) }
}
