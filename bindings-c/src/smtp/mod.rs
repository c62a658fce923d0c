//! The SMTP submission session (`mfp_oauth_smtp`): sans-IO, driven by the
//! firmware's own TCP/TLS stack (R-SMTP, R-SASL).
//!
//! The firmware opens the connection, creates the session in storage it
//! owns, and then loops (the core's poll-order contract):
//! 1. feed received octets with `mfp_oauth_smtp_handle_input` (it may take
//!    fewer than given: keep the rest for after the events), report
//!    `handle_close` / `handle_timeout`;
//! 2. drain `mfp_oauth_smtp_poll_event` until `MFP_OAUTH_SMTP_EVENT_KIND_NONE`,
//!    acting on each (start TLS on `UPGRADE_TLS` and report its end with
//!    `handle_tls_established` or `handle_tls_failed`, stream the body on
//!    `READY_FOR_BODY`, ...);
//! 3. drain `mfp_oauth_smtp_poll_transmit` until it writes 0 octets, sending
//!    each chunk (never logging one marked sensitive);
//! 4. wait for input or until `mfp_oauth_smtp_poll_timeout`'s deadline.
//!
//! This file: the storage, the settings, and the session's life (create,
//! token, messages, quit, destroy). `event.rs`: the events; `session.rs`:
//! the pump (input, TLS, body, transmit, timers, state), whose calls the
//! mailer's session shares.

use core::ffi::c_char;

use mfp_oauth_core::diag::Diagnostic;
use mfp_oauth_core::smtp::{Client, MechanismPreference, Security, Settings, Timeouts};
use mfp_oauth_core::{AccessToken, Address, Duration, Instant};

use crate::buf::{bytes, put, text};
use crate::call;
use crate::handle::{self, opaque, zeroable};
use crate::MfpOauthStatus;

mod event;
pub(crate) mod session;

pub use event::*;
pub use session::*;

/// 64-bit words of `mfp_oauth_smtp` storage: 10,240 octets, alignment 8
/// (the session needs about 9.4 KB on a 64-bit host and a little less on a
/// 32-bit MCU; the rest is headroom so that the core can grow without an
/// ABI change). Most of it is the access token (4 KB), the command line
/// and the envelope (1.6 KB, the recipients packed).
pub const MFP_OAUTH_SMTP_WORDS: usize = 1280;

/// Storage for one SMTP session (`mfp_oauth_smtp`), allocated by the
/// caller: static, on a task's stack, or inside the caller's own structs.
/// Its contents are private; it holds the access token while the session
/// lives and is wiped by `mfp_oauth_smtp_destroy`.
#[repr(C)]
pub struct MfpOauthSmtp {
    _opaque: [u64; MFP_OAUTH_SMTP_WORDS],
}

impl core::fmt::Debug for MfpOauthSmtp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MfpOauthSmtp").finish_non_exhaustive()
    }
}

opaque!(
    MfpOauthSmtp,
    MFP_OAUTH_SMTP_WORDS,
    Client,
    0x6d66_706f_736d_7470
);
zeroable!(Client);

/// Smallest `out_len` of `mfp_oauth_smtp_write_body`: room for a
/// `BDAT <n>` chunk header and a few octets of body.
pub const MFP_OAUTH_SMTP_MIN_BODY_OUT_LEN: usize = 32;
const _: () = assert!(MFP_OAUTH_SMTP_MIN_BODY_OUT_LEN == mfp_oauth_core::limits::MIN_BODY_OUT_LEN);

/// "No deadline" from `mfp_oauth_smtp_poll_timeout`.
pub const MFP_OAUTH_NO_DEADLINE: u64 = u64::MAX;

/// How the connection is secured (`mfp_oauth_smtp_security`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthSmtpSecurity {
    /// Plain TCP upgraded with STARTTLS before anything secret (port 587).
    Starttls = 0,
    /// TLS from the first octet (port 465): connect with TLS, then create.
    ImplicitTls = 1,
}

/// A SASL mechanism (`mfp_oauth_mechanism`): the preference in settings,
/// the mechanism chosen in events.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthMechanism {
    /// XOAUTH2 (Microsoft 365, Gmail). As a preference: OAUTHBEARER only
    /// when it is the sole one offered.
    Xoauth2 = 0,
    /// OAUTHBEARER (RFC 7628). As a preference: used when offered.
    Oauthbearer = 1,
}

/// Reply deadlines in milliseconds (`mfp_oauth_smtp_timeouts`);
/// `mfp_oauth_smtp_settings_init` fills RFC 5321's values.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfpOauthSmtpTimeouts {
    /// The `220` greeting (default 5 minutes).
    pub greeting_ms: u64,
    /// EHLO, STARTTLS, AUTH, RSET and QUIT replies (5 minutes).
    pub command_ms: u64,
    /// MAIL FROM reply (5 minutes).
    pub mail_ms: u64,
    /// Each RCPT TO reply (5 minutes).
    pub rcpt_ms: u64,
    /// The `354` to DATA (2 minutes).
    pub data_init_ms: u64,
    /// The reply after the final `.` (10 minutes).
    pub data_end_ms: u64,
}

/// Settings of a session (`mfp_oauth_smtp_settings`). Start from
/// `mfp_oauth_smtp_settings_init`, then set the names. The strings are
/// UTF-8 of the given length (no NUL needed) and are copied by
/// `mfp_oauth_smtp_create`: they need to live only during that call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthSmtpSettings {
    /// An `mfp_oauth_smtp_security` value.
    pub security: u32,
    /// An `mfp_oauth_mechanism` value: the preferred mechanism.
    pub mechanism: u32,
    /// The printer's host name (or an address literal `[192.0.2.7]`) for EHLO.
    pub ehlo_domain: *const c_char,
    /// Octets at `ehlo_domain`.
    pub ehlo_domain_len: usize,
    /// The server's host name (sent in OAUTHBEARER).
    pub server_host: *const c_char,
    /// Octets at `server_host`.
    pub server_host_len: usize,
    /// The server's port (sent in OAUTHBEARER).
    pub server_port: u16,
    /// Reply deadlines.
    pub timeouts: MfpOauthSmtpTimeouts,
}

/// A borrowed string: `len` octets of UTF-8 at `ptr` (`mfp_oauth_str`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthStr {
    /// The first octet.
    pub ptr: *const c_char,
    /// Octets.
    pub len: usize,
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn timeouts_to_c(t: Timeouts) -> MfpOauthSmtpTimeouts {
    MfpOauthSmtpTimeouts {
        greeting_ms: t.greeting.as_millis(),
        command_ms: t.command.as_millis(),
        mail_ms: t.mail.as_millis(),
        rcpt_ms: t.rcpt.as_millis(),
        data_init_ms: t.data_init.as_millis(),
        data_end_ms: t.data_end.as_millis(),
    }
}

/// An access token the caller lends: not empty, within the capacity.
fn token_ok(token: &[u8]) -> Result<&[u8], MfpOauthStatus> {
    if token.is_empty() {
        return Err(MfpOauthStatus::InvalidArgument);
    }
    if token.len() > AccessToken::CAPACITY {
        return Err(MfpOauthStatus::CapacityExceeded);
    }
    Ok(token)
}

fn address_of(s: &str) -> Result<Address, MfpOauthStatus> {
    Address::parse(s).map_err(|_| MfpOauthStatus::InvalidAddress)
}

/// Reads and validates the C settings into `s`, where the session keeps
/// them (R-MEM: no settings built on the stack and moved).
///
/// # Safety
/// The strings in `c` are valid for their lengths (caller's contract).
unsafe fn settings_from_c(
    c: &MfpOauthSmtpSettings,
    s: &mut Settings,
) -> Result<(), MfpOauthStatus> {
    let security = match c.security {
        0 => Security::StartTls,
        1 => Security::ImplicitTls,
        _ => return Err(MfpOauthStatus::InvalidArgument),
    };
    let mechanism = match c.mechanism {
        0 => MechanismPreference::Xoauth2,
        1 => MechanismPreference::OAuthBearer,
        _ => return Err(MfpOauthStatus::InvalidArgument),
    };
    // SAFETY: forwarded contract for both strings.
    let ehlo = unsafe { text(c.ehlo_domain, c.ehlo_domain_len) }?;
    // SAFETY: as above.
    let host = unsafe { text(c.server_host, c.server_host_len) }?;
    s.set_server(security, ehlo, host, c.server_port)
        .map_err(|e| MfpOauthStatus::from_diag(e.diag()))?;
    s.mechanism = mechanism;
    let t = &c.timeouts;
    s.timeouts = Timeouts {
        greeting: ms(t.greeting_ms),
        command: ms(t.command_ms),
        mail: ms(t.mail_ms),
        rcpt: ms(t.rcpt_ms),
        data_init: ms(t.data_init_ms),
        data_end: ms(t.data_end_ms),
    };
    Ok(())
}

/// Fills `*out_settings` with the defaults: STARTTLS, XOAUTH2 preferred,
/// port 587, RFC 5321's timeouts, and NULL names (set `ehlo_domain` and
/// `server_host` before `mfp_oauth_smtp_create`). Reentrant.
///
/// # Safety
/// `out_settings` is NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_settings_init(
    out_settings: *mut MfpOauthSmtpSettings,
) -> MfpOauthStatus {
    call::call(out_settings, || {
        let s = MfpOauthSmtpSettings {
            security: MfpOauthSmtpSecurity::Starttls as u32,
            mechanism: MfpOauthMechanism::Xoauth2 as u32,
            ehlo_domain: core::ptr::null(),
            ehlo_domain_len: 0,
            server_host: core::ptr::null(),
            server_host_len: 0,
            server_port: 587,
            timeouts: timeouts_to_c(Timeouts::default()),
        };
        // SAFETY: the caller's contract, as documented above.
        unsafe { put(out_settings, s) }
    })
}

/// Creates a session in `smtp` for a connection just opened at `now_ms`
/// (with TLS already up for `MFP_OAUTH_SMTP_SECURITY_IMPLICIT_TLS`).
/// `user` is the mailbox the access `token` was issued for. With `token`
/// NULL and `token_len` 0 no token is lent yet: the session asks for it
/// with the `NEED_TOKEN` event when AUTH is next (`mfp_oauth_smtp_set_token`).
///
/// Everything is copied: `settings`, `user` and `token` need to live only
/// during the call (wipe your copy of the token when you no longer need it).
/// Errors: `INVALID_ARGUMENT` (an enum value, an empty token, a string that
/// is not UTF-8, an invalid EHLO name), `SMTP_SERVER_MISSING` (bad host),
/// `INVALID_ADDRESS`, `CAPACITY_EXCEEDED` (a token over 4096 octets). On
/// error `smtp` is left as it was.
///
/// If `smtp` holds a live session, destroy it first (otherwise its token is
/// not wiped). Not thread-safe or ISR-safe, like every `mfp_oauth_smtp_*`
/// call: one task drives one session.
///
/// # Safety
/// `smtp` is NULL or valid for writes of `mfp_oauth_smtp`; `settings` NULL
/// or valid, with its strings valid for their lengths; `user` and `token`
/// NULL or valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_create(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
    settings: *const MfpOauthSmtpSettings,
    user: *const c_char,
    user_len: usize,
    token: *const u8,
    token_len: usize,
) -> MfpOauthStatus {
    call::call((smtp, settings, user), || {
        // SAFETY: valid for `user_len` bytes (contract).
        let user = try_status!(unsafe { text(user, user_len) }.and_then(address_of));
        let token = if token.is_null() && token_len == 0 {
            None
        } else {
            // SAFETY: valid for `token_len` bytes (contract).
            Some(try_status!(
                unsafe { bytes(token, token_len) }.and_then(token_ok)
            ))
        };
        let now = Instant::from_millis(now_ms);
        // Built in place (R-MEM): the storage is zeroed, then the session is
        // reset where it lives, its settings read from the C ones straight
        // into it; the token is copied straight from the caller's buffer
        // into it, so no copy of it is left on the stack.
        let init = |client: &mut Client| {
            // SAFETY: not NULL; valid for reads, its strings valid (contract).
            let filled =
                client.reset_with(now, &user, |s| unsafe { settings_from_c(&*settings, s) });
            if let Err(e) = filled {
                return e;
            }
            match token.map(|t| client.set_token(now, t)) {
                Some(Err(e)) => MfpOauthStatus::of(e),
                _ => MfpOauthStatus::Ok,
            }
        };
        // SAFETY: `smtp` is valid for writes of `mfp_oauth_smtp` (contract).
        unsafe { handle::create_zeroed(smtp, init) }
    })
}

/// Lends the access token (copied into the session, wiped after AUTH): at
/// the `NEED_TOKEN` event, or any time before AUTH. An empty token is
/// `INVALID_ARGUMENT`, one over 4096 octets `CAPACITY_EXCEEDED`, a session
/// that is over `WRONG_STATE`.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy`; `token` NULL or valid for
/// `token_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_set_token(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
    token: *const u8,
    token_len: usize,
) -> MfpOauthStatus {
    let work = |client: &mut Client| {
        // SAFETY: valid for `token_len` bytes (contract).
        let token = try_status!(unsafe { bytes(token, token_len) }.and_then(token_ok));
        match client.set_token(Instant::from_millis(now_ms), token) {
            Ok(()) => MfpOauthStatus::Ok,
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract for `smtp`.
    unsafe { call::with_mut(smtp, token, work) }
}

/// Ends the session's life: wipes the token and every byte of `smtp`.
/// Destroying storage that holds no session (never created, or already
/// destroyed) is allowed and does nothing. The storage may then be reused
/// or freed.
///
/// # Safety
/// `smtp` is NULL or valid for reads and writes of `mfp_oauth_smtp`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_destroy(smtp: *mut MfpOauthSmtp) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    call::call((), || unsafe { handle::destroy(smtp) })
}

/// Submits a message from `from` to the `to_count` recipients in `to`
/// (1 to 16, their addresses at most 1,280 octets together). `size` is
/// the message's size in octets if known (checked
/// against the server's SIZE before anything is sent), 0 if not. Accepted
/// before the session is ready (it starts once authenticated) or when idle;
/// one message at a time, else `WRONG_STATE`. Every string is copied.
///
/// Errors: `INVALID_ARGUMENT` (no recipient), `CAPACITY_EXCEEDED` (more than
/// 16, or longer together than 1,280 octets), `INVALID_ADDRESS`,
/// `WRONG_STATE`.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy`; `from` NULL or valid for
/// `from_len` bytes; `to` NULL or valid for `to_count` entries, each valid
/// for its length.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_send_message(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
    from: *const c_char,
    from_len: usize,
    to: *const MfpOauthStr,
    to_count: usize,
    size: u64,
) -> MfpOauthStatus {
    let work = |client: &mut Client| {
        // SAFETY: valid for `from_len` bytes (contract).
        let from = try_status!(unsafe { text(from, from_len) }.and_then(address_of));
        if to_count == 0 {
            return MfpOauthStatus::InvalidArgument;
        }
        if to_count > mfp_oauth_core::limits::MAX_RECIPIENTS {
            return MfpOauthStatus::CapacityExceeded;
        }
        // SAFETY: `to` is valid for `to_count` entries (contract).
        let list = unsafe { core::slice::from_raw_parts(to, to_count) };
        // Filled where the session keeps it (R-MEM): no envelope (1.6 KB)
        // built on this stack and moved.
        let filled = client.send_message_with(Instant::from_millis(now_ms), |e| {
            e.from = from;
            for r in list {
                // SAFETY: each entry is valid for its length (contract).
                let addr = unsafe { text(r.ptr, r.len) }.and_then(address_of)?;
                e.add_recipient(addr)?;
            }
            e.size = (size != 0).then_some(size);
            Ok(())
        });
        match filled {
            Ok(()) => MfpOauthStatus::Ok,
            Err(e) => e,
        }
    };
    // SAFETY: the caller's contract for `smtp`.
    unsafe { call::with_mut(smtp, (from, to), work) }
}

/// After `AUTH_REJECTED` with `refresh_and_retry`: tries again, once, with
/// a freshly refreshed access token (copied). `WRONG_STATE` otherwise.
///
/// # Safety
/// `smtp` as for `mfp_oauth_smtp_destroy`; `token` NULL or valid for
/// `token_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_retry_auth(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
    token: *const u8,
    token_len: usize,
) -> MfpOauthStatus {
    let work = |client: &mut Client| {
        // SAFETY: valid for `token_len` bytes (contract).
        let token = try_status!(unsafe { bytes(token, token_len) }.and_then(token_ok));
        match client.retry_auth(Instant::from_millis(now_ms), token) {
            Ok(()) => MfpOauthStatus::Ok,
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract for `smtp`.
    unsafe { call::with_mut(smtp, token, work) }
}

/// Ends the session: QUIT when idle, otherwise abandons it at once (the
/// session reports `CLOSED`; close the connection). `WRONG_STATE` in the
/// middle of a body, where QUIT would become message text.
///
/// # Safety
/// As for `mfp_oauth_smtp_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_smtp_quit(
    smtp: *mut MfpOauthSmtp,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        call::with_mut(smtp, (), |client| {
            match client.quit(Instant::from_millis(now_ms)) {
                Ok(()) => MfpOauthStatus::Ok,
                Err(e) => MfpOauthStatus::of(e),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_size_and_slack() {
        // A benchmark figure for the report (and the header's constant):
        // run with --nocapture to see it.
        let need = size_of::<handle::Held<Client>>();
        let have = size_of::<MfpOauthSmtp>();
        println!(
            "mfp_oauth_smtp: Client {} B, storage {} B, slack {} B (align {})",
            size_of::<Client>(),
            have,
            have - need,
            align_of::<Client>()
        );
        assert!(need <= have);
    }
}
