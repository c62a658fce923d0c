//! Pumping the session: input, TLS, body, transmit, timers and state.
//!
//! Each call has two entry points, `mfp_oauth_smtp_*` on a bare session and
//! `mfp_oauth_mailer_smtp_*` on the mailer's: both go through the boundary
//! wrapper (`crate::call`) and then share the functions below, which take
//! the session's link (the core's `SessionLink`: the bare session, or the
//! mailer's through its `handle_smtp_*` / `poll_smtp_*` calls; errors keep
//! their diagnostic, so a status is the same either way) and the caller's
//! remaining pointers.

use core::ffi::c_char;

use mfp_oauth_core::diag::Id;
use mfp_oauth_core::mailer::{MailerError, SessionLink};
use mfp_oauth_core::smtp::Client;
use mfp_oauth_core::Instant;

use super::{MfpOauthSmtp, MFP_OAUTH_NO_DEADLINE};
use crate::buf::{bytes, bytes_mut, put, put_c_string};
use crate::call;
use crate::MfpOauthStatus;

// ---- the session calls, shared with the mailer's session ----------------
//
// Each takes the live session's link; the pointers the entry point lists as
// required are already checked not NULL.

/// The status of a call that returns nothing else.
#[inline(always)]
fn status(r: Result<(), MailerError>) -> MfpOauthStatus {
    match r {
        Ok(()) => MfpOauthStatus::Ok,
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// # Safety
/// `data` NULL or valid for `len` bytes; `out_consumed` valid for a write.
pub(crate) unsafe fn input(
    c: &mut impl SessionLink,
    now_ms: u64,
    data: *const u8,
    len: usize,
    out_consumed: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: valid for `len` bytes (contract).
    let data = try_status!(unsafe { bytes(data, len) });
    match c.handle_input(Instant::from_millis(now_ms), data) {
        // SAFETY: valid for a write (contract).
        Ok(n) => unsafe { put(out_consumed, n) },
        Err(e) => MfpOauthStatus::of(e),
    }
}

pub(crate) fn tls_established(c: &mut impl SessionLink, now_ms: u64) -> MfpOauthStatus {
    status(c.handle_tls_established(Instant::from_millis(now_ms)))
}

pub(crate) fn close(c: &mut impl SessionLink, now_ms: u64) -> MfpOauthStatus {
    status(c.handle_close(Instant::from_millis(now_ms)))
}

/// The diagnostics a failed TLS handshake may carry: the TLS and
/// transport ones (E603 to E610, E601 and E602 excepted: the connection
/// exists when TLS starts).
fn tls_failure(diag: u32) -> Option<Id> {
    match u16::try_from(diag).ok().and_then(Id::from_number)? {
        id @ (Id::TlsHandshakeFailed
        | Id::CertificateInvalid
        | Id::NetworkTimeout
        | Id::IoError
        | Id::CertificateExpired
        | Id::CertificateWrongName
        | Id::CertificateUntrusted
        | Id::TlsVersionMismatch) => Some(id),
        _ => None,
    }
}

pub(crate) fn tls_failed(c: &mut impl SessionLink, now_ms: u64, diag: u32) -> MfpOauthStatus {
    let Some(diag) = tls_failure(diag) else {
        return MfpOauthStatus::InvalidArgument;
    };
    status(c.handle_tls_failed(Instant::from_millis(now_ms), diag))
}

pub(crate) fn timeout(c: &mut impl SessionLink, now_ms: u64) -> MfpOauthStatus {
    status(c.handle_timeout(Instant::from_millis(now_ms)))
}

/// Takes the session's lookup itself (see `call::with_lookup`).
pub(crate) fn finish<L: SessionLink>(
    c: Result<&mut L, MfpOauthStatus>,
    now_ms: u64,
) -> MfpOauthStatus {
    status(try_status!(c).finish_body(Instant::from_millis(now_ms)))
}

/// # Safety
/// `input` NULL or valid for `input_len` bytes; `out` NULL or valid for
/// `out_len` bytes of writes, not overlapping; the outputs valid.
#[allow(clippy::too_many_arguments)] // the C call's own arguments, passed on
pub(crate) unsafe fn body(
    c: &mut impl SessionLink,
    canonical: bool,
    input: *const u8,
    input_len: usize,
    out: *mut u8,
    out_len: usize,
    out_consumed: *mut usize,
    out_written: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: valid for `input_len` bytes (contract).
    let input = try_status!(unsafe { bytes(input, input_len) });
    // SAFETY: valid for `out_len` bytes of writes, not overlapping (contract).
    let out = try_status!(unsafe { bytes_mut(out, out_len) });
    let written = if canonical {
        c.write_body_canonical(input, out)
    } else {
        c.write_body(input, out)
    };
    match written {
        Ok(p) => {
            // SAFETY: both outputs are valid for a write (contract).
            unsafe {
                out_consumed.write(p.consumed);
                out_written.write(p.written);
            }
            MfpOauthStatus::Ok
        }
        Err(MailerError::BufferTooSmall { needed }) => {
            // SAFETY: valid for a write (contract).
            unsafe { out_written.write(needed) };
            MfpOauthStatus::BufferTooSmall
        }
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// # Safety
/// `out` NULL or valid for `out_len` bytes of writes; the outputs valid.
pub(crate) unsafe fn transmit(
    c: &mut impl SessionLink,
    now_ms: u64,
    out: *mut u8,
    out_len: usize,
    out_written: *mut usize,
    out_sensitive: *mut bool,
) -> MfpOauthStatus {
    // SAFETY: valid for `out_len` bytes of writes (contract).
    let out = try_status!(unsafe { bytes_mut(out, out_len) });
    let (written, sensitive, status) = match c.poll_transmit(Instant::from_millis(now_ms), out) {
        Ok(Some(t)) => (t.len, t.sensitive, MfpOauthStatus::Ok),
        Ok(None) => (0, false, MfpOauthStatus::Ok),
        Err(MailerError::BufferTooSmall { needed }) => {
            (needed, false, MfpOauthStatus::BufferTooSmall)
        }
        // No session (the mailer's): nothing written.
        Err(e) => return MfpOauthStatus::of(e),
    };
    // SAFETY: both outputs are valid for a write (contract).
    unsafe {
        out_written.write(written);
        if status == MfpOauthStatus::Ok {
            out_sensitive.write(sensitive);
        }
    }
    status
}

/// # Safety
/// `out_deadline_ms` valid for a write.
pub(crate) unsafe fn deadline(c: &impl SessionLink, out_deadline_ms: *mut u64) -> MfpOauthStatus {
    let d = try_status!(c.poll_timeout().map_err(MfpOauthStatus::of))
        .map_or(MFP_OAUTH_NO_DEADLINE, Instant::as_millis);
    // SAFETY: valid for a write (contract).
    unsafe { put(out_deadline_ms, d) }
}

/// # Safety
/// The three outputs valid; `buf` for `buf_len` bytes of writes.
pub(crate) unsafe fn last_reply(
    reply: Option<&mfp_oauth_core::smtp::Reply>,
    out_code: *mut u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> MfpOauthStatus {
    let Some(reply) = reply else {
        return MfpOauthStatus::WrongState;
    };
    // SAFETY: the caller's contract for `buf` and `out_len`.
    let status = unsafe { put_c_string(reply.text(), buf, buf_len, out_len) };
    if status == MfpOauthStatus::Ok {
        // SAFETY: valid for a write (contract).
        unsafe { out_code.write(u32::from(reply.code.code)) };
    }
    status
}

// ---- the entry points on a bare session ----------------------------------

/// Feeds `len` octets received from the server. Every octet is taken:
/// `*out_consumed` is always `len` (once the session is closed they are
/// ignored). A session that was not created is `WRONG_STATE`.
///
/// STARTTLS: once the `220` reply to STARTTLS has arrived, nothing more may
/// be read in plaintext. Octets that came after that `220`, in the same
/// read or later, before the TLS handshake, may have been injected by an
/// attacker: discard them. Never keep them to feed after the handshake,
/// and never hand them to the TLS library as TLS input; after
/// `UPGRADE_TLS`, feed only what the TLS session decrypts. If such octets
/// are fed anyway (with the `220` in one call, during the handshake, or
/// after `mfp_oauth_smtp_handle_tls_established` before the new EHLO went
/// out), none of them is taken as a reply: the session fails
/// (`FAILED` event, `MFP_OAUTH_STATUS_PROTOCOL_VIOLATION`) and the
/// connection must be closed.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy`; `data` NULL or valid for `len`
/// bytes; `out_consumed` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_handle_input(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
    data: *const u8,
    len: usize,
    out_consumed: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        call::with_mut(smtp, out_consumed, |c| {
            input(c, now_ms, data, len, out_consumed)
        })
    }
}

/// TLS is now established on the connection (after the `UPGRADE_TLS`
/// event); the session sends EHLO again. `WRONG_STATE` at any other time.
///
/// # Safety
/// As for `mfp_oauth_smtp_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_handle_tls_established(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe { call::with_mut(smtp, (), |c| tls_established(c, now_ms)) }
}

/// The TLS handshake started for the `UPGRADE_TLS` event failed. `diag`
/// is the TLS stack's reason, as it would be reported on implicit TLS:
/// `MFP_OAUTH_STATUS_CERTIFICATE_UNTRUSTED` (E609: unknown authority,
/// self-signed), `MFP_OAUTH_STATUS_CERTIFICATE_WRONG_NAME` (E608),
/// `MFP_OAUTH_STATUS_CERTIFICATE_EXPIRED` (E607),
/// `MFP_OAUTH_STATUS_CERTIFICATE_INVALID` (E604, any other refused
/// certificate), `MFP_OAUTH_STATUS_TLS_VERSION_MISMATCH` (E610: no TLS
/// version in common within the settings' range),
/// `MFP_OAUTH_STATUS_TLS_HANDSHAKE_FAILED` (E603, any other handshake
/// failure), `MFP_OAUTH_STATUS_NETWORK_TIMEOUT` (E605) or
/// `MFP_OAUTH_STATUS_IO_ERROR` (E606). The session fails with that
/// diagnostic (a `FAILED` event carrying it, not E325 "connection
/// closed"); nothing more is sent, the token never went out: close the
/// connection. Any other `diag` is `MFP_OAUTH_STATUS_INVALID_ARGUMENT` and
/// changes nothing. Called when no handshake is under way, it acts as
/// `mfp_oauth_smtp_handle_close`. A session that was not created is
/// `WRONG_STATE`.
///
/// # Safety
/// As for `mfp_oauth_smtp_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_handle_tls_failed(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
    diag: u32,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe { call::with_mut(smtp, (), |c| tls_failed(c, now_ms, diag)) }
}

/// The server closed the connection, or the firmware lost it. The session
/// reports `CLOSED` (after QUIT) or `FAILED`.
///
/// # Safety
/// As for `mfp_oauth_smtp_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_handle_close(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe { call::with_mut(smtp, (), |c| close(c, now_ms)) }
}

/// Call when `now_ms` has reached the deadline of
/// `mfp_oauth_smtp_poll_timeout`; earlier calls do nothing.
///
/// # Safety
/// As for `mfp_oauth_smtp_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_handle_timeout(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe { call::with_mut(smtp, (), |c| timeout(c, now_ms)) }
}

/// After `READY_FOR_BODY`: dot-stuffs and normalises body octets from
/// `input` into `out` (at least `MFP_OAUTH_SMTP_MIN_BODY_OUT_LEN` octets); send `out[..*out_written]` as
/// is. `*out_consumed` input octets were taken: offer the rest again. The
/// body may be of any size, streamed in any pieces (as BDAT chunks when the
/// server offers CHUNKING, else dot-stuffed DATA). `WRONG_STATE` when no
/// body is expected; `BUFFER_TOO_SMALL` with the size needed in
/// `*out_written` when `out_len < MFP_OAUTH_SMTP_MIN_BODY_OUT_LEN`.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy`; `input` NULL or valid for
/// `input_len` bytes; `out` NULL or valid for `out_len` bytes of writes,
/// not overlapping `input`; the outputs NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_write_body(
    smtp: *mut MfpOauthSmtp,
    input: *const u8,
    input_len: usize,
    out: *mut u8,
    out_len: usize,
    out_consumed: *mut usize,
    out_written: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        call::with_mut(smtp, (out_consumed, out_written), |c| {
            body(
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

/// `mfp_oauth_smtp_write_body` for a body the caller declares canonical:
/// CRLF line ends only and no line that starts with a dot, as the message
/// composer (`mfp_oauth_mime_poll_output`) produces. Same contract and, for
/// such a body, the same octets on the wire, at a fraction of the cost:
/// with BDAT the octets are copied unscanned; with DATA only the dots are
/// looked at, and a dot that starts a line is still doubled, so a body
/// wrongly declared canonical can never end the message early. Calls of
/// both kinds may be mixed within one body.
///
/// # Safety
/// As for `mfp_oauth_smtp_write_body`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_write_body_canonical(
    smtp: *mut MfpOauthSmtp,
    input: *const u8,
    input_len: usize,
    out: *mut u8,
    out_len: usize,
    out_consumed: *mut usize,
    out_written: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        call::with_mut(smtp, (out_consumed, out_written), |c| {
            body(
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

/// The whole body was written: the session queues the end of data.
/// `WRONG_STATE` when no body is in progress.
///
/// # Safety
/// As for `mfp_oauth_smtp_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_finish_body(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe { call::with_lookup(smtp, (), |c| finish(c, now_ms)) }
}

/// Writes the next octets to send into `out`; `*out_written` is their
/// count (0: nothing to send now) and `*out_sensitive` says they carry the
/// access token (never log them; the session guarantees TLS is up). Any
/// `out_len` of 1 or more works (a long AUTH line takes several calls);
/// 512 avoids splitting commands. `BUFFER_TOO_SMALL` (with 1 in
/// `*out_written`) when `out_len` is 0 and something is pending.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy`; `out` NULL or valid for
/// `out_len` bytes of writes; the outputs NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_poll_transmit(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
    out: *mut u8,
    out_len: usize,
    out_written: *mut usize,
    out_sensitive: *mut bool,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        call::with_mut(smtp, (out_written, out_sensitive), |c| {
            transmit(c, now_ms, out, out_len, out_written, out_sensitive)
        })
    }
}

/// Writes when `mfp_oauth_smtp_handle_timeout` must be called, in the
/// caller's milliseconds, or `MFP_OAUTH_NO_DEADLINE` when no reply is
/// awaited.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy` (only read); `out_deadline_ms`
/// NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_poll_timeout(
    smtp: *const MfpOauthSmtp,
    out_deadline_ms: *mut u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe { call::with_ref(smtp, out_deadline_ms, |c| deadline(c, out_deadline_ms)) }
}

/// Session state flags (`mfp_oauth_smtp_state`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfpOauthSmtpState {
    /// TLS is established on the connection.
    pub tls: bool,
    /// Authenticated and idle: a message can be sent now.
    pub ready: bool,
    /// The session is over: close the connection, then destroy.
    pub closed: bool,
}

/// Writes the session's state flags to `*out_state`.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy` (only read); `out_state` NULL or
/// valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_session_state(
    smtp: *const MfpOauthSmtp,
    out_state: *mut MfpOauthSmtpState,
) -> MfpOauthStatus {
    let work = |c: &Client| {
        let state = MfpOauthSmtpState {
            tls: c.is_tls(),
            ready: c.is_ready(),
            closed: c.is_closed(),
        };
        // SAFETY: not NULL and valid for a write (contract).
        unsafe { put(out_state, state) }
    };
    // SAFETY: the caller's contract for `smtp`.
    unsafe { call::with_ref(smtp, out_state, work) }
}

/// Writes the last complete reply of the server, for display and logs: its
/// code to `*out_code` and its text (enhanced code removed, lines joined,
/// at most 256 octets, NUL-terminated: `MFP_OAUTH_REPLY_TEXT_BUF_LEN`
/// always suffices) to `buf`, with `*out_len` its length. `WRONG_STATE`
/// before any reply; `BUFFER_TOO_SMALL` with the size needed in `*out_len`
/// (nothing else written). Never contains what the client sent. For the
/// mailer's session, `mfp_oauth_mailer_last_reply`.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy` (only read); `buf` NULL or valid
/// for `buf_len` bytes of writes; the outputs NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_last_reply(
    smtp: *const MfpOauthSmtp,
    out_code: *mut u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        call::with_ref(smtp, (out_code, buf, out_len), |c| {
            last_reply(c.last_reply(), out_code, buf, buf_len, out_len)
        })
    }
}
