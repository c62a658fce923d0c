//! The OAuth driver: carries the core's [`oauth::Client`] requests to the
//! token endpoint over HTTPS (through the proxy when configured), one
//! request per connection, and waits as the core's `poll_timeout` says (a
//! device-flow poll interval, a retry back-off, the browser's sign-in).

use crate::clock::Clock;
use crate::driver::loopback::Loopback;
use crate::net::{Connection, NetError, NetOptions};
use crate::tls::TlsSettings;
use mfp_oauth_core::diag::Id;
use mfp_oauth_core::oauth::{
    self, AssertionSigner, Event, OAuthError, RequestKind, TransportError,
};
use mfp_oauth_core::provider::Endpoint;
use mfp_oauth_core::Instant;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Size of the request buffer (the longest request is a refresh grant with
/// a 2 KiB refresh token, or a code exchange; 8 KiB leaves room).
pub const REQUEST_BUF_LEN: usize = 8 * 1024;
/// Receive buffer per read.
pub const READ_CHUNK: usize = 4 * 1024;

/// How token requests reach the provider.
#[derive(Debug, Clone)]
pub struct HttpsTransport {
    /// Timeouts and the optional proxy.
    pub net: NetOptions,
    /// Trust; ALPN `http/1.1` is added.
    pub tls: TlsSettings,
}

/// How a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The client holds the access token (and the refresh token to keep).
    AccessToken {
        /// When the access token expires, if the provider said.
        expires_at: Option<Instant>,
    },
    /// The grant is gone: sign in again (R-TOK-4).
    ReauthRequired(OAuthError),
    /// The flow failed.
    Failed(OAuthError),
}

/// What the driver reports along the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A request is about to be sent.
    Request(RequestKind),
    /// An event from the core that is not terminal (`UserCode`,
    /// `SlowDown`, `RefreshTokenRotated`, `Retrying`).
    Event(Event),
    /// The browser came back to the loopback listener.
    Redirected,
}

/// Map a connection failure to what the core understands.
#[must_use]
pub fn transport_error(e: &NetError) -> TransportError {
    match e {
        NetError::Resolve(_) | NetError::BadServerName(_) => TransportError::Dns,
        NetError::Connect(_) => TransportError::Connect,
        NetError::Timeout => TransportError::Timeout,
        NetError::Certificate(c) => match crate::net::certificate_diag(c) {
            Id::CertificateExpired => TransportError::CertificateExpired,
            Id::CertificateWrongName => TransportError::CertificateWrongName,
            Id::CertificateUntrusted => TransportError::CertificateUntrusted,
            _ => TransportError::Certificate,
        },
        NetError::Tls(t) => match crate::net::tls_diag(t) {
            Id::TlsVersionMismatch => TransportError::TlsVersion,
            _ => TransportError::Tls,
        },
        NetError::ProxyRefused(407) => TransportError::ProxyAuthRequired,
        NetError::ProxyRefused(status) => TransportError::ProxyRefused { status: *status },
        NetError::ProxyMalformed => TransportError::ProxyRefused { status: 0 },
        NetError::Closed | NetError::Io(_) | NetError::AlreadyTls => TransportError::Io,
    }
}

/// Run the flow started on `client` to its end. `loopback` receives the
/// browser's redirect in the PKCE flow. `on_step` sees each step with the
/// client (for example to show the user code or persist a rotated refresh
/// token).
pub fn drive<B: AsMut<[u8]>>(
    clock: &dyn Clock,
    client: &mut oauth::Client<B>,
    transport: &HttpsTransport,
    loopback: Option<&Loopback>,
    on_step: &mut dyn FnMut(&oauth::Client<B>, Step),
) -> Finish {
    drive_signed(clock, client, transport, loopback, None, on_step)
}

/// [`drive`], with `signer` signing each assertion an app-only grant asks
/// for (R-APP: the first request and every retry, each with a new date);
/// without one, such a flow fails at once with the core's signing failure.
pub fn drive_signed<B: AsMut<[u8]>>(
    clock: &dyn Clock,
    client: &mut oauth::Client<B>,
    transport: &HttpsTransport,
    loopback: Option<&Loopback>,
    mut signer: Option<&mut dyn AssertionSigner>,
    on_step: &mut dyn FnMut(&oauth::Client<B>, Step),
) -> Finish {
    let tls = match transport.tls.clone().for_https().client_config() {
        Ok(c) => c,
        Err(_) => return Finish::Failed(OAuthError::Transport(TransportError::Tls)),
    };
    let mut out = vec![0u8; REQUEST_BUF_LEN];
    // Bounded: the core ends every flow (device-code expiry, redirect
    // timeout, retry limit); this cap only guards against a core bug.
    for _ in 0..100_000 {
        while let Some(ev) = client.poll_event() {
            match ev {
                Event::AccessToken { expires_at } => return Finish::AccessToken { expires_at },
                Event::ReauthRequired(e) => return Finish::ReauthRequired(e),
                Event::Failed(e) => return Finish::Failed(e),
                Event::SignatureRequired => {
                    // The platform's part: sign with its key, or say it
                    // cannot (the core then ends the flow).
                    let signed = match signer.as_deref_mut() {
                        Some(s) => client.sign_with(clock.now(), s, &mut out).is_ok(),
                        None => false,
                    };
                    if !signed && client.needs_signature() {
                        client.handle_signature_error();
                    }
                }
                other => on_step(client, Step::Event(other)),
            }
        }
        let now = clock.now();
        let request = match client.poll_transmit(now, &mut out) {
            Ok(t) => t.map(|t| (t.len, t.last, t.endpoint.clone(), t.kind)),
            Err(_) => return Finish::Failed(OAuthError::WrongState),
        };
        if let Some((len, mut last, endpoint, kind)) = request {
            on_step(client, Step::Request(kind));
            // The host's buffer holds any request whole; pieces (a request
            // longer than it) are joined before the connection opens.
            let mut request = Zeroizing::new(out.get(..len).unwrap_or_default().to_vec());
            while !last {
                match client.poll_transmit(now, &mut out) {
                    Ok(Some(t)) => {
                        request.extend_from_slice(out.get(..t.len).unwrap_or_default());
                        last = t.last;
                    }
                    _ => return Finish::Failed(OAuthError::WrongState),
                }
            }
            exchange(clock, client, transport, &tls, &endpoint, &request);
            continue;
        }
        let Some(deadline) = client.poll_timeout() else {
            return Finish::Failed(client.last_error().unwrap_or(OAuthError::WrongState));
        };
        if let Some(l) = loopback {
            if let Some(target) = l.wait(clock, deadline) {
                let accepted = client.handle_redirect(clock.now(), &target).is_ok();
                l.answer(accepted);
                if accepted {
                    on_step(client, Step::Redirected);
                }
                continue;
            }
        } else {
            clock.sleep_until(deadline);
        }
        client.handle_timeout(clock.now());
    }
    Finish::Failed(client.last_error().unwrap_or(OAuthError::WrongState))
}

fn exchange<B: AsMut<[u8]>>(
    clock: &dyn Clock,
    client: &mut oauth::Client<B>,
    transport: &HttpsTransport,
    tls: &Arc<rustls::ClientConfig>,
    endpoint: &Endpoint,
    request: &[u8],
) {
    let connected =
        Connection::connect(endpoint.host(), endpoint.port(), &transport.net).and_then(|mut c| {
            if endpoint.tls() {
                c.start_tls_with(Arc::clone(tls))?;
            }
            c.send(request)?;
            Ok(c)
        });
    let mut conn = match connected {
        Ok(c) => c,
        Err(e) => {
            client.handle_transport_error(clock.now(), transport_error(&e));
            return;
        }
    };
    let mut buf = vec![0u8; READ_CHUNK];
    // One request per connection: read until the response is complete, the
    // server closes (the request says `Connection: close`) or the core's
    // deadline passes.
    loop {
        let now = clock.now();
        let deadline = client.poll_timeout();
        if let Some(d) = deadline {
            if now >= d {
                client.handle_timeout(now);
                break;
            }
            let wait = d.saturating_since(now).as_millis();
            let _ = conn.set_read_deadline(std::time::Duration::from_millis(wait));
        }
        match conn.read_some(&mut buf) {
            Ok(0) => {
                client.handle_close(clock.now());
                break;
            }
            Ok(n) => {
                let _ = client.handle_input(clock.now(), buf.get(..n).unwrap_or_default());
                // The response is complete or refused: whatever else the
                // server sends (the rest of an oversized body, a trickle)
                // is not read, and the connection is closed now.
                if !client.is_awaiting_response() {
                    break;
                }
            }
            Err(NetError::Timeout) => {
                if deadline.is_none() {
                    break;
                }
            }
            Err(e) => {
                client.handle_transport_error(clock.now(), transport_error(&e));
                break;
            }
        }
    }
    conn.close();
}
