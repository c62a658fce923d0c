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

use core::ffi::c_char;

use mfp_oauth_core::diag::Diagnostic;
use mfp_oauth_core::limits::OAUTH_RESPONSE_BUF_LEN;
use mfp_oauth_core::oauth::{Client, Event, RedirectUri, RequestKind, TransportError};
use mfp_oauth_core::provider::{AppRegistration, LoopbackHost, Provider};
use mfp_oauth_core::{Address, Instant};

use crate::buf::{bytes, bytes_mut, put, put_c_string};
use crate::handle::{self, opaque, zeroable};
use crate::settings::{opt_text, MfpOauthSettings};
use crate::{MfpOauthStatus, MFP_OAUTH_HOST_BUF_LEN};

/// The client with its response buffer inline.
pub(crate) type TokenClient = Client<[u8; OAUTH_RESPONSE_BUF_LEN]>;

/// 64-bit words of `mfp_oauth_token_client` storage: 29,184 octets,
/// alignment 8 (16 KB of it is the response buffer).
pub const MFP_OAUTH_TOKEN_CLIENT_WORDS: usize = 3648;

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
    0x6d66_706f_746f_6b6e
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
    if client.is_null() || settings.is_null() {
        return MfpOauthStatus::NullParameter;
    }
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
    if settings.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: not NULL, valid (contract).
    let (provider, app) = try_status!(unsafe { profile(&*settings) });
    // SAFETY: the caller's contract for `client`.
    let c = try_status!(unsafe { live(client) });
    c.set_profile(provider, app);
    MfpOauthStatus::Ok
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
    unsafe { handle::destroy(client) }
}

/// Runs `f` on the live client.
///
/// # Safety
/// As for `mfp_oauth_token_client_destroy`.
unsafe fn with<F>(client: *mut MfpOauthTokenClient, f: F) -> MfpOauthStatus
where
    F: FnOnce(&mut TokenClient) -> Result<(), MfpOauthStatus>,
{
    // SAFETY: forwarded contract.
    match unsafe { handle::get(client) } {
        Ok(c) => f(c).err().unwrap_or(MfpOauthStatus::Ok),
        Err(e) => e,
    }
}

pub(crate) unsafe fn live<'a>(
    client: *mut MfpOauthTokenClient,
) -> Result<&'a mut TokenClient, MfpOauthStatus> {
    // SAFETY: forwarded contract.
    unsafe { handle::get(client) }
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
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        with(client, |c| {
            c.start_device(Instant::from_millis(now_ms))
                .map_err(MfpOauthStatus::of)
        })
    }
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
        RedirectUri::loopback(LoopbackHost::Ipv4, loopback_port, "/").map_err(MfpOauthStatus::of)
    );
    // SAFETY: the caller's contract for `client`.
    unsafe {
        with(client, |c| {
            c.start_auth_code(
                Instant::from_millis(now_ms),
                &verifier,
                &state,
                redirect,
                hint.as_ref(),
            )
            .map_err(MfpOauthStatus::of)
        })
    }
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
    if buf.is_null() || out_len.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract for `client`.
    let c = try_status!(unsafe { handle::get_ref(client) });
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
        Err(mfp_oauth_core::oauth::OAuthError::BufferTooSmall(needed)) => {
            // SAFETY: not NULL and valid (contract).
            unsafe { out_len.write(needed.needed.saturating_add(1)) };
            MfpOauthStatus::BufferTooSmall
        }
        Err(e) => MfpOauthStatus::of(e),
    }
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
    // SAFETY: valid for `target_len` bytes (contract).
    let target = try_status!(unsafe { bytes(target, target_len) });
    // SAFETY: the caller's contract for `client`.
    unsafe {
        with(client, |c| {
            c.handle_redirect(Instant::from_millis(now_ms), target)
                .map_err(MfpOauthStatus::of)
        })
    }
}

/// Where a request goes (`mfp_oauth_endpoint`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthEndpoint {
    /// Host name, NUL-terminated.
    pub host: [c_char; MFP_OAUTH_HOST_BUF_LEN],
    /// TCP port.
    pub port: u16,
    /// Connect with TLS (always, for the built-in providers).
    pub tls: bool,
    /// What the request is: an `mfp_oauth_request_kind`.
    pub kind: MfpOauthRequestKind,
}

/// Which request a transmit carries (`mfp_oauth_request_kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthRequestKind {
    /// Device authorization request.
    DeviceAuthorization = 0,
    /// One device token poll.
    DeviceToken = 1,
    /// Authorization code exchange.
    CodeExchange = 2,
    /// Refresh grant.
    Refresh = 3,
    /// A request newer than this header.
    Other = 4,
}

/// Writes the next HTTP/1.1 request into `out` when one is due at `now_ms`
/// (`*out_written` 0: none), with where to send it in `*out_endpoint`;
/// `*out_sensitive` says it carries a secret (never log it). Send it on a
/// new connection. 8 KB always suffices; `BUFFER_TOO_SMALL` with the size
/// needed in `*out_written`.
///
/// # Safety
/// `client` as for `_destroy`; `out` NULL or valid for `out_len` bytes of
/// writes; the outputs NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_poll_transmit(
    client: *mut MfpOauthTokenClient,
    now_ms: u64,
    out: *mut u8,
    out_len: usize,
    out_written: *mut usize,
    out_sensitive: *mut bool,
    out_endpoint: *mut MfpOauthEndpoint,
) -> MfpOauthStatus {
    if out_written.is_null() || out_sensitive.is_null() || out_endpoint.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: valid for `out_len` bytes of writes (contract).
    let out = try_status!(unsafe { bytes_mut(out, out_len) });
    // SAFETY: the caller's contract for `client`.
    let c = try_status!(unsafe { live(client) });
    match c.poll_transmit(Instant::from_millis(now_ms), out) {
        Ok(None) => {
            // SAFETY: not NULL and valid (contract).
            unsafe { out_written.write(0) };
            MfpOauthStatus::Ok
        }
        Ok(Some(t)) => {
            let mut ep = MfpOauthEndpoint {
                host: [0; MFP_OAUTH_HOST_BUF_LEN],
                port: t.endpoint.port(),
                tls: t.endpoint.tls(),
                kind: match t.kind {
                    RequestKind::DeviceAuthorization => MfpOauthRequestKind::DeviceAuthorization,
                    RequestKind::DeviceToken => MfpOauthRequestKind::DeviceToken,
                    RequestKind::CodeExchange => MfpOauthRequestKind::CodeExchange,
                    RequestKind::Refresh => MfpOauthRequestKind::Refresh,
                    #[allow(unreachable_patterns)]
                    _ => MfpOauthRequestKind::Other,
                },
            };
            for (d, s) in ep.host.iter_mut().zip(t.endpoint.host().bytes().take(255)) {
                *d = s as c_char;
            }
            // SAFETY: the outputs are not NULL and valid (contract).
            unsafe {
                out_written.write(t.len);
                out_sensitive.write(t.sensitive);
                out_endpoint.write(ep);
            }
            MfpOauthStatus::Ok
        }
        Err(e) => {
            // SAFETY: not NULL and valid (contract).
            unsafe { out_written.write(e.needed) };
            MfpOauthStatus::BufferTooSmall
        }
    }
}

/// Feeds response octets; `*out_consumed` of them were taken. Octets after
/// the end of the response are not taken: discard them. After each call,
/// ask `mfp_oauth_token_client_connection_done` whether to close the
/// connection.
///
/// # Safety
/// `client` as for `_destroy`; `data` NULL or valid for `len` bytes;
/// `out_consumed` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_handle_input(
    client: *mut MfpOauthTokenClient,
    now_ms: u64,
    data: *const u8,
    len: usize,
    out_consumed: *mut usize,
) -> MfpOauthStatus {
    if out_consumed.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: valid for `len` bytes (contract).
    let data = try_status!(unsafe { bytes(data, len) });
    // SAFETY: the caller's contract for `client`.
    let c = try_status!(unsafe { live(client) });
    let n = c.handle_input(Instant::from_millis(now_ms), data);
    // SAFETY: not NULL and valid (contract).
    unsafe { put(out_consumed, n) }
}

/// The response's connection lifecycle, the "response complete, close
/// now" signal: after `mfp_oauth_token_client_poll_transmit` wrote a
/// request, `*out_done` is false while its response is awaited (keep
/// reading and feeding `_handle_input`), and true once the connection has
/// served: the response is complete, or the request failed or timed out
/// (after `_handle_input`, `_handle_close`, `_handle_timeout` or
/// `_handle_transport_error`). Then close the connection, whatever the
/// events say: even an answer that brings no event (a device poll still
/// pending) ends it. The next request, if any, goes on a new connection.
/// A response without Content-Length ends only with the server's close:
/// `_handle_close`. Also true when no request is out (no connection is
/// needed then).
///
/// # Safety
/// `client` as for `_destroy` (only read); `out_done` NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_connection_done(
    client: *const MfpOauthTokenClient,
    out_done: *mut bool,
) -> MfpOauthStatus {
    if out_done.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract for `client`.
    let c = try_status!(unsafe { handle::get_ref(client) });
    // SAFETY: not NULL and valid (contract).
    unsafe { put(out_done, !c.is_awaiting_response()) }
}

/// The server closed the connection (the end of a response without
/// Content-Length is its close).
///
/// # Safety
/// As for `mfp_oauth_token_client_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_handle_close(
    client: *mut MfpOauthTokenClient,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        with(client, |c| {
            c.handle_close(Instant::from_millis(now_ms));
            Ok(())
        })
    }
}

/// The connection could not be made or broke (`diag`: a 6xx network
/// diagnostic such as `MFP_OAUTH_STATUS_CONNECT_FAILED`, or
/// `MFP_OAUTH_STATUS_TLS_VERSION_MISMATCH` when the TLS stack found no
/// version in common within the settings' range); the client retries with
/// backoff or fails (a refused certificate and no TLS version in common
/// fail at once: trying again would not help). Any other `diag` is
/// `INVALID_ARGUMENT`.
///
/// # Safety
/// As for `mfp_oauth_token_client_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_handle_transport_error(
    client: *mut MfpOauthTokenClient,
    now_ms: u64,
    diag: u32,
) -> MfpOauthStatus {
    use mfp_oauth_core::diag::Id;
    let error = match u16::try_from(diag).ok().and_then(Id::from_number) {
        Some(Id::DnsFailed) => TransportError::Dns,
        Some(Id::ConnectFailed) => TransportError::Connect,
        Some(Id::TlsHandshakeFailed) => TransportError::Tls,
        Some(Id::TlsVersionMismatch) => TransportError::TlsVersion,
        Some(Id::CertificateInvalid) => TransportError::Certificate,
        Some(Id::CertificateExpired) => TransportError::CertificateExpired,
        Some(Id::CertificateWrongName) => TransportError::CertificateWrongName,
        Some(Id::CertificateUntrusted) => TransportError::CertificateUntrusted,
        Some(Id::NetworkTimeout) => TransportError::Timeout,
        Some(Id::IoError) => TransportError::Io,
        Some(Id::ProxyAuthRequired) => TransportError::ProxyAuthRequired,
        _ => return MfpOauthStatus::InvalidArgument,
    };
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        with(client, |c| {
            c.handle_transport_error(Instant::from_millis(now_ms), error);
            Ok(())
        })
    }
}

/// Call when `now_ms` reached the deadline of `_poll_timeout`.
///
/// # Safety
/// As for `mfp_oauth_token_client_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_handle_timeout(
    client: *mut MfpOauthTokenClient,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        with(client, |c| {
            c.handle_timeout(Instant::from_millis(now_ms));
            Ok(())
        })
    }
}

/// Writes when `_handle_timeout` (or the next `_poll_transmit`) is due, or
/// `MFP_OAUTH_NO_DEADLINE`.
///
/// # Safety
/// `client` as for `_destroy` (only read); `out_deadline_ms` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_poll_timeout(
    client: *const MfpOauthTokenClient,
    out_deadline_ms: *mut u64,
) -> MfpOauthStatus {
    if out_deadline_ms.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract for `client`.
    let c = try_status!(unsafe { handle::get_ref(client) });
    let d = c
        .poll_timeout()
        .map_or(crate::smtp::MFP_OAUTH_NO_DEADLINE, Instant::as_millis);
    // SAFETY: not NULL and valid (contract).
    unsafe { put(out_deadline_ms, d) }
}

/// What a token-client event is (`mfp_oauth_token_event_kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthTokenEventKind {
    /// No event pending.
    None = 0,
    /// Device flow: show `mfp_oauth_token_client_device_code` on the panel.
    UserCode = 1,
    /// The provider asked to poll more slowly (`interval_ms`).
    SlowDown = 2,
    /// A new refresh token arrived: the mailer will persist it.
    RefreshTokenRotated = 3,
    /// Success (`expires_at_ms`, 0 if unknown): hand the client to
    /// `mfp_oauth_mailer_auth_succeeded` / `_exchange_succeeded`. Terminal.
    AccessToken = 4,
    /// A transient failure (`diag`); retried at `at_ms`.
    Retrying = 5,
    /// The token endpoint refused the grant (`invalid_grant` and relatives,
    /// `diag`). Terminal. After a refresh, hand it to the mailer
    /// (`mfp_oauth_mailer_poll_token_event` or `_exchange_failed`): it
    /// decides whether the token is dead (sign in again) or kept (consent,
    /// Conditional Access: fix it at the provider).
    ReauthRequired = 6,
    /// The flow failed for good (`diag`). Terminal.
    Failed = 7,
    /// An event newer than this header.
    Other = 8,
}

/// One token-client event (`mfp_oauth_token_event`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfpOauthTokenEvent {
    /// What happened.
    pub kind: MfpOauthTokenEventKind,
    /// RETRYING, REAUTH_REQUIRED, FAILED: the diagnostic.
    pub diag: u32,
    /// SLOW_DOWN: the new polling interval.
    pub interval_ms: u64,
    /// RETRYING: when the next attempt is due.
    pub at_ms: u64,
    /// ACCESS_TOKEN: when the access token expires (0: not said).
    pub expires_at_ms: u64,
}

/// Writes the next event (`kind` NONE when none). For a job's flow, the
/// end taken here is reported with `mfp_oauth_mailer_auth_succeeded`,
/// `_exchange_succeeded`, `_auth_failed` or `_exchange_failed`, or left to
/// `mfp_oauth_mailer_poll_token_event`, which reports it all the same.
///
/// # Safety
/// `client` as for `_destroy`; `out_event` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_token_client_poll_event(
    client: *mut MfpOauthTokenClient,
    out_event: *mut MfpOauthTokenEvent,
) -> MfpOauthStatus {
    if out_event.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract for `client`.
    let c = try_status!(unsafe { live(client) });
    let ev = event_c(c.poll_event());
    // SAFETY: not NULL and valid (contract).
    unsafe { put(out_event, ev) }
}

/// The C form of a client event (`kind` NONE for `None`).
pub(crate) fn event_c(e: Option<Event>) -> MfpOauthTokenEvent {
    use MfpOauthTokenEventKind as K;
    let mut ev = MfpOauthTokenEvent {
        kind: K::None,
        diag: 0,
        interval_ms: 0,
        at_ms: 0,
        expires_at_ms: 0,
    };
    let d = |e: &mfp_oauth_core::oauth::OAuthError| u32::from(e.diag().number());
    match e {
        None => {}
        Some(Event::UserCode) => ev.kind = K::UserCode,
        Some(Event::SlowDown { interval }) => {
            ev.kind = K::SlowDown;
            ev.interval_ms = interval.as_millis();
        }
        Some(Event::RefreshTokenRotated) => ev.kind = K::RefreshTokenRotated,
        Some(Event::AccessToken { expires_at }) => {
            ev.kind = K::AccessToken;
            ev.expires_at_ms = expires_at.map_or(0, Instant::as_millis);
        }
        Some(Event::Retrying { error, at }) => {
            ev.kind = K::Retrying;
            ev.diag = d(&error);
            ev.at_ms = at.as_millis();
        }
        Some(Event::ReauthRequired(error)) => {
            ev.kind = K::ReauthRequired;
            ev.diag = d(&error);
        }
        Some(Event::Failed(error)) => {
            ev.kind = K::Failed;
            ev.diag = d(&error);
        }
        #[allow(unreachable_patterns)]
        Some(_) => ev.kind = K::Other,
    }
    ev
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
    if buf.is_null() || out_len.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract for `client`.
    let c = try_status!(unsafe { handle::get_ref(client) });
    let Some(account) = c.tokens().and_then(|t| t.account.address()) else {
        return MfpOauthStatus::WrongState;
    };
    // SAFETY: `buf` and `out_len` as the caller's contract says.
    unsafe { put_c_string(account.as_str(), buf, buf_len, out_len) }
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
    if user_code.is_null() || uri.is_null() || out_expires_in_s.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract for `client`.
    let c = try_status!(unsafe { handle::get_ref(client) });
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
}
