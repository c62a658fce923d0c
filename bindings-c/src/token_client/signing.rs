//! Signing an app-only grant's assertion with the firmware's own key
//! (R-APP): the core gives the octets to sign and takes the signature
//! back; the key never enters it.

use mfp_oauth_core::oauth::OAuthError;
use mfp_oauth_core::Instant;

use super::{MfpOauthTokenClient, TokenClient};

/// The longest JWS signing input of an app-only assertion, in octets
/// (`mfp_oauth_token_client_signing_input`).
pub const MFP_OAUTH_MAX_SIGNING_INPUT_LEN: usize = 4096;
const _: () =
    assert!(MFP_OAUTH_MAX_SIGNING_INPUT_LEN == mfp_oauth_core::limits::MAX_SIGNING_INPUT_LEN);

/// The longest signature the token client takes (a 4096-bit RSA key's).
pub const MFP_OAUTH_MAX_SIGNATURE_LEN: usize = 512;
const _: () = assert!(MFP_OAUTH_MAX_SIGNATURE_LEN == mfp_oauth_core::limits::MAX_SIGNATURE_LEN);

/// Octets of randomness `mfp_oauth_mailer_start_token_request` takes for
/// an assertion's unique id (`jti`).
pub const MFP_OAUTH_JTI_RANDOM_LEN: usize = 16;
const _: () = assert!(MFP_OAUTH_JTI_RANDOM_LEN == mfp_oauth_core::oauth::JTI_LEN);
use crate::buf::{bytes, bytes_mut};
use crate::call;
use crate::MfpOauthStatus;

/// After SIGNATURE_REQUIRED: writes the octets to sign (the JWS signing
/// input, `BASE64URL(header) "." BASE64URL(claims)`, never a secret) into
/// `buf` and their length to `*out_len`. `BUFFER_TOO_SMALL` with the length
/// needed in `*out_len` (at most `MFP_OAUTH_MAX_SIGNING_INPUT_LEN`; the
/// token request buffer may be lent for it); `WRONG_STATE` when no
/// signature is awaited.
///
/// # Safety
/// `client` as for `_destroy` (only read); `buf` NULL or valid for
/// `buf_len` bytes; `out_len` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_signing_input(
    client: *const MfpOauthTokenClient,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> MfpOauthStatus {
    let work = |c: &TokenClient| {
        let Some(needed) = c.signing_input_len() else {
            return MfpOauthStatus::WrongState;
        };
        // SAFETY: not NULL and valid for a write (contract).
        unsafe { out_len.write(needed) };
        if buf_len < needed {
            return MfpOauthStatus::BufferTooSmall;
        }
        // SAFETY: valid for `buf_len` bytes (contract).
        let out = try_status!(unsafe { bytes_mut(buf, buf_len) });
        match c.signing_input(out) {
            Ok(_) => MfpOauthStatus::Ok,
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract for `client`.
    unsafe { call::with_ref(client, out_len, work) }
}

/// The signature of the octets `mfp_oauth_token_client_signing_input`
/// gave (RS256: RSASSA-PKCS1-v1_5 with SHA-256, 256 octets for a 2048-bit
/// key; at most `MFP_OAUTH_MAX_SIGNATURE_LEN`): the grant's request goes
/// out with the next `mfp_oauth_token_client_poll_transmit`.
/// `SIGNING_FAILED` past the limit; `WRONG_STATE` when no signature is
/// awaited.
///
/// # Safety
/// `client` as for `_destroy`; `signature` NULL or valid for
/// `signature_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_handle_signature(
    client: *mut MfpOauthTokenClient,
    now_ms: u64,
    signature: *const u8,
    signature_len: usize,
) -> MfpOauthStatus {
    let work = |c: &mut TokenClient| {
        // SAFETY: valid for its length (contract).
        let sig = try_status!(unsafe { bytes(signature, signature_len) });
        match c.handle_signature(Instant::from_millis(now_ms), sig) {
            Ok(()) => MfpOauthStatus::Ok,
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract for `client`.
    unsafe { call::with_mut(client, signature, work) }
}

/// The firmware could not sign (its key or secure element failed): the
/// flow ends with FAILED (`SIGNING_FAILED`) and nothing is sent.
/// `WRONG_STATE` when no signature is awaited.
///
/// # Safety
/// `client` as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_signing_failed(
    client: *mut MfpOauthTokenClient,
) -> MfpOauthStatus {
    let work = |c: &mut TokenClient| {
        if !c.needs_signature() {
            return MfpOauthStatus::of(OAuthError::WrongState);
        }
        c.handle_signature_error();
        MfpOauthStatus::Ok
    };
    // SAFETY: the caller's contract for `client`.
    unsafe { call::with_mut(client, (), work) }
}
