//! The SMTP session of the running job (SESSION plan): the
//! `mfp_oauth_smtp_*` pump on the mailer's session, and the server's last
//! reply. Each entry point goes through the boundary wrapper, checks that
//! the session runs (`WRONG_STATE` when none does) and shares the bare
//! session's call (`crate::smtp::session`) on the mailer's session link:
//! its `handle_smtp_*`, `poll_smtp_*` and body calls (R-ENGINE: the mailer
//! hands out no session).

use core::ffi::c_char;

use super::{LentMailer, MailerObj, MfpOauthMailer};
use crate::call;
use crate::smtp::session;
use crate::MfpOauthStatus;

/// Runs `work` on the mailer's session link: the wrapper's checks, then
/// whether a session runs (before any other argument is looked at, as
/// before), then `work`.
///
/// # Safety
/// As for `call::with_mut`.
#[inline(always)]
unsafe fn on_session(
    mailer: *mut MfpOauthMailer,
    required: impl call::Required,
    work: impl FnOnce(&mut LentMailer) -> MfpOauthStatus,
) -> MfpOauthStatus {
    // SAFETY: forwarded contract.
    unsafe {
        call::with_mut(mailer, required, |m| {
            if m.mailer.has_smtp_session() {
                work(&mut m.mailer)
            } else {
                MfpOauthStatus::WrongState
            }
        })
    }
}

/// `mfp_oauth_smtp_handle_input` on the mailer's session (SESSION plan;
/// `WRONG_STATE` otherwise): every octet is taken, and after the `220` to
/// STARTTLS any plaintext octet must be discarded, never fed after the
/// TLS handshake (fed, it fails the job with `PROTOCOL_VIOLATION`).
///
/// # Safety
/// As for `mfp_oauth_smtp_handle_input`, with `mailer` valid storage.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_handle_input(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    data: *const u8,
    len: usize,
    out_consumed: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe {
        on_session(mailer, out_consumed, |c| {
            session::input(c, now_ms, data, len, out_consumed)
        })
    }
}

/// `mfp_oauth_smtp_handle_tls_established` on the mailer's session.
///
/// # Safety
/// `mailer` valid storage as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_handle_tls_established(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe { on_session(mailer, (), |c| session::tls_established(c, now_ms)) }
}

/// `mfp_oauth_smtp_handle_tls_failed` on the mailer's session: the TLS
/// handshake started for the `UPGRADE_TLS` event failed, for the TLS
/// stack's reason `diag` (a refused certificate: E604, E607, E608 or E609;
/// no TLS version in common: E610; or E603, E605, E606). The job fails
/// with that diagnostic, as on implicit TLS, not E325 "connection closed";
/// close the connection. Any other `diag` is
/// `MFP_OAUTH_STATUS_INVALID_ARGUMENT` and changes nothing.
///
/// # Safety
/// `mailer` valid storage as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_handle_tls_failed(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    diag: u32,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe { on_session(mailer, (), |c| session::tls_failed(c, now_ms, diag)) }
}

/// `mfp_oauth_smtp_handle_close` on the mailer's session.
///
/// # Safety
/// `mailer` valid storage as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_handle_close(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe { on_session(mailer, (), |c| session::close(c, now_ms)) }
}

/// `mfp_oauth_smtp_handle_timeout` on the mailer's session.
///
/// # Safety
/// `mailer` valid storage as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_handle_timeout(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe { on_session(mailer, (), |c| session::timeout(c, now_ms)) }
}

/// `mfp_oauth_smtp_write_body` on the mailer's session.
///
/// # Safety
/// As for `mfp_oauth_smtp_write_body`, with `mailer` valid storage.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_write_body(
    mailer: *mut MfpOauthMailer,
    input: *const u8,
    input_len: usize,
    out: *mut u8,
    out_len: usize,
    out_consumed: *mut usize,
    out_written: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe {
        on_session(mailer, (out_consumed, out_written), |c| {
            session::body(
                c,
                false,
                input,
                input_len,
                out,
                out_len,
                out_consumed,
                out_written,
            )
        })
    }
}

/// `mfp_oauth_smtp_write_body_canonical` on the mailer's session: for the
/// composer's output (`mfp_oauth_mime_poll_output`).
///
/// # Safety
/// As for `mfp_oauth_smtp_write_body`, with `mailer` valid storage.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_write_body_canonical(
    mailer: *mut MfpOauthMailer,
    input: *const u8,
    input_len: usize,
    out: *mut u8,
    out_len: usize,
    out_consumed: *mut usize,
    out_written: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe {
        on_session(mailer, (out_consumed, out_written), |c| {
            session::body(
                c,
                true,
                input,
                input_len,
                out,
                out_len,
                out_consumed,
                out_written,
            )
        })
    }
}

/// `mfp_oauth_smtp_finish_body` on the mailer's session.
///
/// # Safety
/// `mailer` valid storage as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_finish_body(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe { on_session(mailer, (), |c| session::finish(Ok(c), now_ms)) }
}

/// `mfp_oauth_smtp_poll_transmit` on the mailer's session.
///
/// # Safety
/// As for `mfp_oauth_smtp_poll_transmit`, with `mailer` valid storage.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_poll_transmit(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    out: *mut u8,
    out_len: usize,
    out_written: *mut usize,
    out_sensitive: *mut bool,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe {
        on_session(mailer, (out_written, out_sensitive), |c| {
            session::transmit(c, now_ms, out, out_len, out_written, out_sensitive)
        })
    }
}

/// `mfp_oauth_smtp_poll_timeout` on the mailer's session.
///
/// # Safety
/// As for `mfp_oauth_smtp_poll_timeout`, with `mailer` valid storage.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_poll_timeout(
    mailer: *mut MfpOauthMailer,
    out_deadline_ms: *mut u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe {
        on_session(mailer, out_deadline_ms, |c| {
            session::deadline(c, out_deadline_ms)
        })
    }
}

/// Writes the SMTP server's last complete reply, for support logs: its code
/// to `*out_code` and its text (enhanced code removed, lines joined, at most
/// 256 octets, NUL-terminated: `MFP_OAUTH_REPLY_TEXT_BUF_LEN` always
/// suffices) to `buf`, with `*out_len` its length. During a session, the
/// latest reply; once the job is DONE or FAILED, the reply that decided it
/// (e.g. `535` "5.7.139 Authentication unsuccessful, ..."), not the `221`
/// to the QUIT that follows, until the next `mfp_oauth_mailer_submit`.
/// `WRONG_STATE` when this job has had no reply (it failed before the
/// connection, or the server never answered); `BUFFER_TOO_SMALL` with the
/// size needed in `*out_len` (nothing else written). Never contains what
/// the client sent.
///
/// # Safety
/// `mailer` as for `_destroy` (only read); `buf` NULL or valid for
/// `buf_len` bytes of writes; the outputs NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_last_reply(
    mailer: *const MfpOauthMailer,
    out_code: *mut u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> MfpOauthStatus {
    let work = |m: &MailerObj| {
        // SAFETY: the outputs are not NULL and valid (contract).
        unsafe { session::last_reply(m.mailer.last_reply(), out_code, buf, buf_len, out_len) }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_ref(mailer, (out_code, buf, out_len), work) }
}
