//! The OAuth token-endpoint client (`mfp_oauth_token_client`): device
//! grant, authorization code with PKCE, refresh (R-OAUTH), sans-IO.
//!
//! One flow at a time. Drive it like the SMTP session: when
//! `mfp_oauth_token_client_poll_transmit` writes a request, open a new TLS
//! connection to the endpoint it names (through the proxy if set), send the
//! request, feed the response to `handle_input` and the close to
//! `handle_close`; once `mfp_oauth_token_client_connection_done` says so,
//! close that connection; drain `poll_event`; sleep until `poll_timeout`.
//! The tokens never reach the caller: `mfp_oauth_mailer_auth_succeeded` and
//! `_exchange_succeeded` take them from the finished client (for a job's
//! flow, see `mfp_oauth_mailer_poll_token_event`: one way per flow).
//!
//! This file: the storage, the client's life and its flows (start, the
//! browser's URL and redirect, the device code, the account that signed
//! in). `transport.rs`: the requests and their connection; `event.rs`: the
//! events.

use core::ffi::c_char;

use mfp_oauth_core::limits::OAUTH_RESPONSE_BUF_LEN;
use mfp_oauth_core::oauth::{Client, OAuthError, RedirectUri};
use mfp_oauth_core::provider::{AppRegistration, LoopbackHost, Provider};
use mfp_oauth_core::{Address, Instant};

use crate::buf::{bytes, bytes_mut, put, put_c_string};
use crate::call;
use crate::handle::{self, opaque, zeroable};
use crate::settings::{opt_text, MfpOauthSettings};
use crate::MfpOauthStatus;

mod event;
mod signing;
mod transport;

pub(crate) use event::event_c;
pub use event::*;
pub use signing::*;
pub use transport::*;

/// The client with its response buffer inline.
pub(crate) type TokenClient = Client<[u8; OAUTH_RESPONSE_BUF_LEN]>;

/// 64-bit words of `mfp_oauth_token_client` storage on a 64-bit target:
/// 13,632 octets, alignment 8 (512 octets of it are the response buffer,
/// which holds one line of the HTTP head at a time: the JSON body is parsed
/// as it arrives).
#[cfg(target_pointer_width = "64")]
pub const MFP_OAUTH_TOKEN_CLIENT_WORDS: usize = 1704;
/// 64-bit words of `mfp_oauth_token_client` storage on a 32-bit target (a
/// Cortex-M): 13,416 octets, alignment 8.
#[cfg(not(target_pointer_width = "64"))]
pub const MFP_OAUTH_TOKEN_CLIENT_WORDS: usize = 1677;

/// Storage for one token-endpoint client (`mfp_oauth_token_client`),
/// allocated by the caller. It holds the tokens of the last exchange until
/// the next flow starts or it is destroyed (which wipes them).
#[repr(C)]
pub struct MfpOauthTokenClient {
    _opaque: [u64; MFP_OAUTH_TOKEN_CLIENT_WORDS],
}

impl core::fmt::Debug for MfpOauthTokenClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MfpOauthTokenClient")
            .finish_non_exhaustive()
    }
}

opaque!(
    MfpOauthTokenClient,
    MFP_OAUTH_TOKEN_CLIENT_WORDS,
    TokenClient,
    0x6d66_706f_746f_6b6e,
    tight
);
zeroable!(TokenClient);

/// The provider profile and app registration the settings name (the
/// core's `Settings::provider_profile`; the client id is required).
///
/// # Safety
/// As for `settings::from_c`.
unsafe fn profile(c: &MfpOauthSettings) -> Result<(Provider, AppRegistration), MfpOauthStatus> {
    // SAFETY: forwarded contract.
    let s = unsafe { crate::settings::from_c(c) }?;
    let provider = s.provider_profile().map_err(MfpOauthStatus::of)?;
    let app = AppRegistration::public(&s.client_id).map_err(MfpOauthStatus::of)?;
    Ok((provider, app))
}

/// Creates a token client in `client` for the provider, tenant, client id
/// and custom endpoints of `settings` (the other fields are ignored).
/// `seed` feeds the retry jitter (any value; a per-device one spreads
/// retries). Errors: `INVALID_ARGUMENT`, `PROVIDER_PROFILE_INCOMPLETE` and
/// the provider profile's diagnostics (bad tenant, client id or URL).
///
/// If `client` holds a live client, destroy it first. Not thread-safe or
/// ISR-safe, like every `mfp_oauth_token_client_*` call.
///
/// # Safety
/// `client` NULL or valid for writes of `mfp_oauth_token_client`;
/// `settings` NULL or valid with its strings valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_create(
    client: *mut MfpOauthTokenClient,
    settings: *const MfpOauthSettings,
    seed: u64,
) -> MfpOauthStatus {
    call::call((client, settings), || {
        // SAFETY: not NULL, valid (contract).
        let (parts, client_id) = try_status!(unsafe { crate::settings::profile_parts(&*settings) });
        // Built in place (R-MEM): the storage is zeroed (the response buffer
        // with it), then the profile and the app registration are written
        // straight into the client; no client or profile passes through the
        // stack.
        let init = |c: &mut TokenClient| {
            let filled = c.reset_with(seed, |provider, app| {
                parts.profile_into(provider)?;
                app.set_public(client_id)
            });
            match filled {
                Ok(()) => MfpOauthStatus::Ok,
                Err(e) => MfpOauthStatus::of(e),
            }
        };
        // SAFETY: valid for writes (contract).
        unsafe { handle::create_zeroed(client, init) }
    })
}

/// The settings changed: takes the provider, tenant, client id and custom
/// endpoints of `settings` anew and abandons any flow (firmware that keeps
/// one client in static storage reconfigures it this way). On error the
/// client is unchanged.
///
/// # Safety
/// `client` as for `_destroy`; `settings` NULL or valid with its strings
/// valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_set_profile(
    client: *mut MfpOauthTokenClient,
    settings: *const MfpOauthSettings,
) -> MfpOauthStatus {
    let work = |c: &mut TokenClient| {
        // SAFETY: not NULL, valid (contract).
        let (provider, app) = try_status!(unsafe { profile(&*settings) });
        c.set_profile(provider, app);
        MfpOauthStatus::Ok
    };
    // SAFETY: the caller's contract for `client`.
    unsafe { call::with_mut(client, settings, work) }
}

/// Wipes the client (tokens, codes, verifier) and every byte of its
/// storage. Destroying storage that holds no client does nothing.
///
/// # Safety
/// `client` NULL or valid for reads and writes of `mfp_oauth_token_client`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_destroy(
    client: *mut MfpOauthTokenClient,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    call::call((), || unsafe { handle::destroy(client) })
}

/// Starts the device authorization grant (RFC 8628): the `USER_CODE`
/// event says when to show `mfp_oauth_token_client_device_code`. Google
/// refuses it (`DEVICE_FLOW_NOT_SUPPORTED`): use the PKCE flow.
///
/// # Safety
/// As for `mfp_oauth_token_client_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_start_device(
    client: *mut MfpOauthTokenClient,
    now_ms: u64,
) -> MfpOauthStatus {
    let work = |c: &mut TokenClient| match c.start_device(Instant::from_millis(now_ms)) {
        Ok(()) => MfpOauthStatus::Ok,
        Err(e) => MfpOauthStatus::of(e),
    };
    // SAFETY: the caller's contract, as documented above.
    unsafe { call::with_mut(client, (), work) }
}

/// Starts the authorization code flow with PKCE S256 and a loopback
/// redirect `http://127.0.0.1:<port>/` (`loopback_port`); then show
/// `mfp_oauth_token_client_authorize_url` in the browser and give the
/// redirect's request-target to `mfp_oauth_token_client_handle_redirect`.
/// `random` is 48 octets from a cryptographic RNG (verifier and state);
/// `login_hint` is an address or `{NULL, 0}`.
///
/// # Safety
/// `client` as for `_destroy`; `random` NULL or valid for 48 bytes;
/// `login_hint` NULL or valid for `login_hint_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_start_auth_code(
    client: *mut MfpOauthTokenClient,
    now_ms: u64,
    random: *const u8,
    loopback_port: u16,
    login_hint: *const c_char,
    login_hint_len: usize,
) -> MfpOauthStatus {
    let work = |c: &mut TokenClient| {
        // SAFETY: valid for 48 bytes (contract).
        let r = try_status!(unsafe { bytes(random, 48) });
        let (Ok(verifier), Ok(state)) = (
            <[u8; 32]>::try_from(r.get(..32).unwrap_or(&[])),
            <[u8; 16]>::try_from(r.get(32..48).unwrap_or(&[])),
        ) else {
            return MfpOauthStatus::InvalidArgument;
        };
        let hint = crate::smtp::MfpOauthStr {
            ptr: login_hint,
            len: login_hint_len,
        };
        // SAFETY: valid for its length (contract).
        let hint = try_status!(unsafe { opt_text(&hint) });
        let hint = if hint.is_empty() {
            None
        } else {
            Some(try_status!(
                Address::parse(hint).map_err(|_| MfpOauthStatus::InvalidAddress)
            ))
        };
        let redirect = try_status!(
            RedirectUri::loopback(LoopbackHost::Ipv4, loopback_port, "/")
                .map_err(MfpOauthStatus::of)
        );
        match c.start_auth_code(
            Instant::from_millis(now_ms),
            &verifier,
            &state,
            redirect,
            hint.as_ref(),
        ) {
            Ok(()) => MfpOauthStatus::Ok,
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract for `client`.
    unsafe { call::with_mut(client, random, work) }
}

/// Writes the authorize URL for the browser (PKCE flow) as a NUL-terminated
/// string; `BUFFER_TOO_SMALL` with the size needed in `*out_len`.
///
/// # Safety
/// `client` as for `_destroy` (only read); `buf` NULL or valid for
/// `buf_len` bytes of writes; `out_len` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_authorize_url(
    client: *const MfpOauthTokenClient,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> MfpOauthStatus {
    let work = |c: &TokenClient| {
        // SAFETY: valid for `buf_len` bytes of writes (contract).
        let out = try_status!(unsafe { bytes_mut(buf.cast::<u8>(), buf_len) });
        let room = out.len().saturating_sub(1);
        match c.authorize_url(out.get_mut(..room).unwrap_or(&mut [])) {
            Ok(n) => {
                if let Some(b) = out.get_mut(n) {
                    *b = 0;
                }
                // SAFETY: not NULL and valid (contract).
                unsafe { put(out_len, n) }
            }
            Err(OAuthError::BufferTooSmall(needed)) => {
                // SAFETY: not NULL and valid (contract).
                unsafe { out_len.write(needed.needed.saturating_add(1)) };
                MfpOauthStatus::BufferTooSmall
            }
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract for `client`.
    unsafe { call::with_ref(client, (buf, out_len), work) }
}

/// The browser came back to the loopback listener: `target` is the
/// request-target of its `GET` (`/?code=...&state=...`). A wrong `state` is
/// `STATE_MISMATCH`; an error redirect is reported as its diagnostic.
///
/// # Safety
/// `client` as for `_destroy`; `target` NULL or valid for `target_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_handle_redirect(
    client: *mut MfpOauthTokenClient,
    now_ms: u64,
    target: *const u8,
    target_len: usize,
) -> MfpOauthStatus {
    let work = |c: &mut TokenClient| {
        // SAFETY: valid for `target_len` bytes (contract).
        let target = try_status!(unsafe { bytes(target, target_len) });
        match c.handle_redirect(Instant::from_millis(now_ms), target) {
            Ok(()) => MfpOauthStatus::Ok,
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract for `client`.
    unsafe { call::with_mut(client, target, work) }
}

/// After `ACCESS_TOKEN` of a sign-in: writes the account the provider says
/// signed in (read from the `id_token` of the token endpoint's answer,
/// R-ACCT) into `buf` (NUL-terminated; `MFP_OAUTH_ADDRESS_BUF_LEN` always
/// suffices) with its length in `*out_len`, so the panel can show "signed
/// in as …", and both addresses when the mailer refuses the token with
/// `ACCOUNT_MISMATCH`. `WRONG_STATE` when there is no
/// such account: no flow succeeded yet, a refresh, or a provider that named
/// none (the account is then unverified); `BUFFER_TOO_SMALL` with the
/// length needed in `*out_len`.
///
/// # Safety
/// `client` as for `_destroy` (only read); `buf` NULL or valid for
/// `buf_len` bytes; `out_len` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_signed_in_account(
    client: *const MfpOauthTokenClient,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> MfpOauthStatus {
    let work = |c: &TokenClient| {
        let Some(account) = c.tokens().and_then(|t| t.account.address()) else {
            return MfpOauthStatus::WrongState;
        };
        // SAFETY: `buf` and `out_len` as the caller's contract says.
        unsafe { put_c_string(account.as_str(), buf, buf_len, out_len) }
    };
    // SAFETY: the caller's contract for `client`.
    unsafe { call::with_ref(client, (buf, out_len), work) }
}

/// Device flow, after `USER_CODE`: writes the code the user types and the
/// URI where (NUL-terminated, into `user_code` of `user_code_len` octets —
/// 33 suffice — and `uri` of `uri_len` — 257 suffice), and the code's
/// lifetime. `WRONG_STATE` before the code arrived; `BUFFER_TOO_SMALL`
/// (nothing written) if either buffer is short.
///
/// # Safety
/// `client` as for `_destroy` (only read); buffers NULL or valid for their
/// lengths; `out_expires_in_s` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_device_code(
    client: *const MfpOauthTokenClient,
    user_code: *mut c_char,
    user_code_len: usize,
    uri: *mut c_char,
    uri_len: usize,
    out_expires_in_s: *mut u64,
) -> MfpOauthStatus {
    let work = |c: &TokenClient| {
        let Some(auth) = c.device_authorization() else {
            return MfpOauthStatus::WrongState;
        };
        if auth.user_code.is_empty() {
            return MfpOauthStatus::WrongState;
        }
        if auth.user_code.len() >= user_code_len || auth.verification_uri.len() >= uri_len {
            return MfpOauthStatus::BufferTooSmall;
        }
        let mut n = 0;
        // SAFETY: the buffers are valid and long enough (checked above).
        unsafe {
            let _ = put_c_string(&auth.user_code, user_code, user_code_len, &mut n);
            let _ = put_c_string(&auth.verification_uri, uri, uri_len, &mut n);
            out_expires_in_s.write(auth.expires_in);
        }
        MfpOauthStatus::Ok
    };
    // SAFETY: the caller's contract for `client`.
    unsafe { call::with_ref(client, (user_code, uri, out_expires_in_s), work) }
}
