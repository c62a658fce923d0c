//! The token client's requests and the connection each goes on.

use core::ffi::c_char;

use mfp_oauth_core::oauth::{RequestKind, TransportError};
use mfp_oauth_core::Instant;

use super::{MfpOauthTokenClient, TokenClient};
use crate::buf::{bytes, bytes_mut, put};
use crate::call;
use crate::{MfpOauthStatus, MFP_OAUTH_HOST_BUF_LEN};

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
    /// Octets of the request written by earlier calls: 0 for its first
    /// piece (open a new connection), otherwise write this piece on the
    /// connection opened for the first.
    pub offset: usize,
    /// The request is complete with this piece: read the answer. When
    /// false, call `mfp_oauth_token_client_poll_transmit` again for the
    /// next piece.
    pub last: bool,
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
/// new connection. A buffer shorter than the request gets it in pieces:
/// `out_endpoint->offset` 0 opens the connection, and until
/// `out_endpoint->last` call again and write each piece on that
/// connection (a few hundred octets suffice; 8 KB always holds a request
/// whole). Only an empty buffer is `BUFFER_TOO_SMALL`, with the request's
/// length in `*out_written`.
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
    let work = |c: &mut TokenClient| {
        // SAFETY: valid for `out_len` bytes of writes (contract).
        let out = try_status!(unsafe { bytes_mut(out, out_len) });
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
                        RequestKind::DeviceAuthorization => {
                            MfpOauthRequestKind::DeviceAuthorization
                        }
                        RequestKind::DeviceToken => MfpOauthRequestKind::DeviceToken,
                        RequestKind::CodeExchange => MfpOauthRequestKind::CodeExchange,
                        RequestKind::Refresh => MfpOauthRequestKind::Refresh,
                        #[allow(unreachable_patterns)]
                        _ => MfpOauthRequestKind::Other,
                    },
                    offset: t.offset,
                    last: t.last,
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
    };
    // SAFETY: the caller's contract for `client`.
    unsafe { call::with_mut(client, (out_written, out_sensitive, out_endpoint), work) }
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
    let work = |c: &mut TokenClient| {
        // SAFETY: valid for `len` bytes (contract).
        let data = try_status!(unsafe { bytes(data, len) });
        let n = c.handle_input(Instant::from_millis(now_ms), data);
        // SAFETY: not NULL and valid (contract).
        unsafe { put(out_consumed, n) }
    };
    // SAFETY: the caller's contract for `client`.
    unsafe { call::with_mut(client, out_consumed, work) }
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
    let work = |c: &TokenClient| {
        // SAFETY: not NULL and valid (contract).
        unsafe { put(out_done, !c.is_awaiting_response()) }
    };
    // SAFETY: the caller's contract for `client`.
    unsafe { call::with_ref(client, out_done, work) }
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
    let work = |c: &mut TokenClient| {
        c.handle_close(Instant::from_millis(now_ms));
        MfpOauthStatus::Ok
    };
    // SAFETY: the caller's contract, as documented above.
    unsafe { call::with_mut(client, (), work) }
}

/// The transport failure a diagnostic number names, if it names one.
fn transport_error(diag: u32) -> Option<TransportError> {
    use mfp_oauth_core::diag::Id;
    Some(match u16::try_from(diag).ok().and_then(Id::from_number)? {
        Id::DnsFailed => TransportError::Dns,
        Id::ConnectFailed => TransportError::Connect,
        Id::TlsHandshakeFailed => TransportError::Tls,
        Id::TlsVersionMismatch => TransportError::TlsVersion,
        Id::CertificateInvalid => TransportError::Certificate,
        Id::CertificateExpired => TransportError::CertificateExpired,
        Id::CertificateWrongName => TransportError::CertificateWrongName,
        Id::CertificateUntrusted => TransportError::CertificateUntrusted,
        Id::NetworkTimeout => TransportError::Timeout,
        Id::IoError => TransportError::Io,
        Id::ProxyAuthRequired => TransportError::ProxyAuthRequired,
        _ => return None,
    })
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
    // Checked before the client, as it always was.
    let Some(error) = transport_error(diag) else {
        return MfpOauthStatus::InvalidArgument;
    };
    let work = |c: &mut TokenClient| {
        c.handle_transport_error(Instant::from_millis(now_ms), error);
        MfpOauthStatus::Ok
    };
    // SAFETY: the caller's contract, as documented above.
    unsafe { call::with_mut(client, (), work) }
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
    let work = |c: &mut TokenClient| {
        c.handle_timeout(Instant::from_millis(now_ms));
        MfpOauthStatus::Ok
    };
    // SAFETY: the caller's contract, as documented above.
    unsafe { call::with_mut(client, (), work) }
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
    let work = |c: &TokenClient| {
        let d = c
            .poll_timeout()
            .map_or(crate::smtp::MFP_OAUTH_NO_DEADLINE, Instant::as_millis);
        // SAFETY: not NULL and valid (contract).
        unsafe { put(out_deadline_ms, d) }
    };
    // SAFETY: the caller's contract for `client`.
    unsafe { call::with_ref(client, out_deadline_ms, work) }
}
