//! The OAuth 2.0 token-endpoint client (R-OAUTH): device authorization
//! grant (RFC 8628), authorization code with PKCE (RFC 7636) and the
//! refresh grant with refresh-token rotation, as one sans-IO state machine.
//!
//! # Driving it
//! [`Client`] owns a [provider profile](crate::provider::Provider), the app
//! registration and a response buffer the caller lends (`B`, room for the
//! HTTP head: [`OAUTH_RESPONSE_BUF_LEN`](crate::limits::OAUTH_RESPONSE_BUF_LEN)
//! octets; the JSON body is parsed as it arrives, in one pass, straight
//! into the client's tokens, R-MEM). Start one flow with [`Client::start_device`],
//! [`Client::start_auth_code`] or [`Client::start_refresh`], then follow the
//! crate's poll-order contract:
//!
//! 1. [`Client::poll_transmit`] writes an HTTP/1.1 request into the
//!    caller's buffer when one is due: whole, or in pieces when the buffer
//!    is shorter (call again until [`Transmit::last`]). For the first piece
//!    open a **new** connection to [`Transmit::endpoint`] (TLS; through the
//!    proxy with [`write_connect`](crate::wire::http::write_connect) when
//!    one is set); write each piece on it, then feed what arrives to
//!    [`Client::handle_input`] and the close to [`Client::handle_close`].
//!    Connection failures go to [`Client::handle_transport_error`].
//! 2. Drain [`Client::poll_event`]: show the user code
//!    ([`Event::UserCode`]), persist the refresh token
//!    ([`Event::RefreshTokenRotated`]), take the access token
//!    ([`Event::AccessToken`]), or report the end ([`Event::ReauthRequired`],
//!    [`Event::Failed`]). After any of those last three, or
//!    [`Event::Retrying`], close the connection.
//! 3. Sleep until [`Client::poll_timeout`] and call
//!    [`Client::handle_timeout`].
//!
//! # App-only sign-in (R-APP)
//! [`Client::start_client_credentials`] (client secret),
//! [`Client::start_client_assertion`] (certificate credential, RFC 7523
//! §2.2) and [`Client::start_service_account`] (Google, RFC 7523 §2.1)
//! each make one token request; the answer carries no refresh token, so
//! the flow is simply run again before the access token expires. The two
//! signed ones first raise [`Event::SignatureRequired`]: the key never
//! enters the core. Write the octets to sign ([`Client::signing_input`],
//! or stream them), sign them with the firmware's own crypto or secure
//! element, give the signature to [`Client::handle_signature`] (or let
//! [`Client::sign_with`] drive an [`AssertionSigner`]), then
//! [`Client::poll_transmit`] as usual. Every retry is signed anew.
//!
//! One request per connection (`Connection: close`); requests are never
//! pipelined. After success nothing is sent again: a redeemed device code
//! or authorization code replayed revokes the grant on some servers.
//!
//! # Example: a refresh with rotation
//! ```
//! use mfp_oauth_core::oauth::{Client, Event, RequestKind};
//! use mfp_oauth_core::provider::{AppRegistration, MicrosoftCloud, Provider, Tenant};
//! use mfp_oauth_core::limits::{OAUTH_REQUEST_BUF_LEN, OAUTH_RESPONSE_BUF_LEN};
//! use mfp_oauth_core::Instant;
//!
//! let provider = Provider::microsoft(MicrosoftCloud::Global, Tenant::Common)?;
//! let app = AppRegistration::public("00000000-1111-2222-3333-444444444444")?;
//! let mut response_buf = [0u8; OAUTH_RESPONSE_BUF_LEN];
//! let mut client = Client::new(provider, app, &mut response_buf[..], 0x5eed);
//! let now = Instant::from_millis(1_000);
//! client.start_refresh(now, b"0.AAA-persisted-refresh-token")?;
//!
//! let mut out = [0u8; OAUTH_REQUEST_BUF_LEN];
//! let tx = client.poll_transmit(now, &mut out)?.expect("due now");
//! assert_eq!(tx.kind, RequestKind::Refresh);
//! assert_eq!(tx.endpoint.host(), "login.microsoftonline.com");
//! assert!(tx.sensitive); // carries the refresh token: never log it
//! // ... connect (TLS, proxy), write out[..tx.len], then feed what arrives:
//! let body = r#"{"token_type":"Bearer","expires_in":3599,"access_token":"EwB","refresh_token":"0.AAA-new"}"#;
//! let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
//! client.handle_input(now, answer.as_bytes());
//!
//! assert_eq!(client.poll_event(), Some(Event::RefreshTokenRotated));
//! let tokens = client.tokens().expect("success");
//! assert_eq!(tokens.refresh_token.expose(), b"0.AAA-new"); // persist it now
//! assert!(matches!(client.poll_event(), Some(Event::AccessToken { .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod assertion;
mod backoff;
mod error;
mod pkce;

pub use crate::wire::jwt::{JwsAlg, JTI_LEN, THUMBPRINT_LEN};
pub use assertion::{
    AssertionSigner, ServiceAccount, SignError, Thumbprint, ASSERTION_LIFETIME, MIN_WALL_CLOCK,
    SIGNATURE_TIMEOUT,
};
pub use backoff::{RETRY_AFTER_CAP, RETRY_BASE, RETRY_CAP};
pub use error::{OAuthError, ProviderError, TransportError};
pub use pkce::{challenge_s256, Pkce, RedirectUri, CHALLENGE_LEN, STATE_LEN, VERIFIER_LEN};

use heapless::{Deque, String};

use crate::address::Address;
use crate::limits::{
    MAX_AUTH_CODE_LEN, MAX_KEY_ID_LEN, MAX_OAUTH_BODY_LEN, MAX_SIGNATURE_LEN, OAUTH_EVENT_QUEUE,
    OAUTH_MAX_RETRIES,
};
use crate::provider::{AppRegistration, Endpoint, Provider};
use crate::secret::{RefreshToken, SecretBuf};
use crate::time::{Duration, Instant};
use crate::wire::form::{self, Pairs, Style};
use crate::wire::http::{write_post_piece, BodySink, PostRequest, Response, ResponseParser};
use crate::wire::json::{
    AccountReader, DeviceAuthorization, DeviceParser, ErrorCode, ErrorParser, TokenParser,
    TokenResponse, TokenType, MAX_ERROR_DESCRIPTION_LEN,
};
use crate::wire::writer::Writer;
use crate::wire::{BufferTooSmall, Parsed};

/// Polling interval when the device authorization response has none
/// (RFC 8628 §3.2).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// What `slow_down` adds to the interval, for that poll and every later one
/// (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// How long the token endpoint may take to answer one request.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the browser sign-in may take before the flow gives up.
pub const REDIRECT_TIMEOUT: Duration = Duration::from_mins(10);
/// `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("mfp-oauth/", env!("CARGO_PKG_VERSION"));

const DEVICE_GRANT_TYPE: &[u8] = b"urn:ietf:params:oauth:grant-type:device_code";
/// RFC 7523 §2.1.
const JWT_BEARER_GRANT_TYPE: &[u8] = b"urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RFC 7523 §2.2.
const JWT_BEARER_ASSERTION_TYPE: &[u8] = b"urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Which grant a flow runs ([`Client::take_outcome`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FlowKind {
    /// Device authorization grant ([`Client::start_device`]).
    Device,
    /// Authorization code with PKCE ([`Client::start_auth_code`]).
    AuthCode,
    /// Refresh grant ([`Client::start_refresh`]).
    Refresh,
    /// App-only: client credentials with a client secret or a signed
    /// client assertion ([`Client::start_client_credentials`],
    /// [`Client::start_client_assertion`]).
    ClientCredentials,
    /// A service account's JWT bearer grant ([`Client::start_service_account`]).
    ServiceAccount,
}

/// Which request a [`Transmit`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RequestKind {
    /// Device authorization request (RFC 8628 §3.1).
    DeviceAuthorization,
    /// Device access token request, one poll (RFC 8628 §3.4).
    DeviceToken,
    /// Authorization code exchange with the PKCE verifier (RFC 7636 §4.5).
    CodeExchange,
    /// Refresh grant (RFC 6749 §6).
    Refresh,
    /// Client credentials grant (RFC 6749 §4.4), authenticated with the
    /// client secret or a signed client assertion (RFC 7523 §2.2).
    ClientCredentials,
    /// JWT bearer grant (RFC 7523 §2.1): a service account's assertion.
    JwtBearer,
}

/// A request written into the caller's buffer: send `out[..len]` on a new
/// connection to `endpoint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit<'a> {
    /// Octets written: the whole request, or one piece of it when the
    /// caller's buffer is shorter.
    pub len: usize,
    /// Octets of the request written by earlier calls: `0` is its first
    /// piece (open a new connection); otherwise write the piece on the
    /// connection opened for the first.
    pub offset: usize,
    /// The request is complete with this piece: wait for the answer. When
    /// false, call [`Client::poll_transmit`] again for the next piece.
    pub last: bool,
    /// Whether the octets carry a secret (refresh token, device code,
    /// authorization code, verifier, client secret, signed assertion):
    /// never log them.
    pub sensitive: bool,
    /// Where to connect.
    pub endpoint: &'a Endpoint,
    /// What the request is.
    pub kind: RequestKind,
}

/// What the client tells its driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event {
    /// Device flow: show [`Client::device_authorization`]'s user code and
    /// verification URI (and `message`, QR code of the complete URI).
    UserCode,
    /// An app-only flow needs its assertion signed: write
    /// [`Client::signing_input`] (or stream it), sign it with the app's
    /// key, and hand the signature to [`Client::handle_signature`] (or do
    /// both with [`Client::sign_with`]) before [`Client::poll_timeout`]. Comes
    /// when the flow starts and before each retry (a fresh `jti` and date).
    SignatureRequired,
    /// The provider asked to poll more slowly; the new interval.
    SlowDown {
        /// Interval now used for every later poll.
        interval: Duration,
    },
    /// A refresh token other than the one held arrived (first sign-in or
    /// rotation): persist [`Client::tokens`]' `refresh_token` now (R-TOK-2).
    RefreshTokenRotated,
    /// Success: [`Client::tokens`] holds the access token. Terminal.
    AccessToken {
        /// When the access token expires, if the provider said.
        expires_at: Option<Instant>,
    },
    /// A transient failure; the request is retried at `at`.
    Retrying {
        /// What failed.
        error: OAuthError,
        /// When the next attempt is due.
        at: Instant,
    },
    /// The token endpoint refused the grant (`invalid_grant` and
    /// relatives). Terminal; distinct from [`Event::Failed`]. For a refresh,
    /// [`crate::token::RefreshFailure::classify`] decides whether the grant
    /// is dead (sign in again, R-TOK-4) or refused by consent or Conditional
    /// Access (the refresh token is kept).
    ReauthRequired(OAuthError),
    /// The flow failed for good. Terminal.
    Failed(OAuthError),
}

#[derive(Debug, Clone)]
struct DeviceGrant {
    auth: DeviceAuthorization,
    authorized: bool,
    interval: Duration,
    expires_at: Instant,
}

#[derive(Debug, Clone)]
struct AuthCodeGrant {
    pkce: Pkce,
    redirect_uri: RedirectUri,
    login_hint: Option<Address>,
    code: SecretBuf<MAX_AUTH_CODE_LEN>,
}

#[derive(Debug, Clone)]
enum Grant {
    None,
    Device(DeviceGrant),
    AuthCode(AuthCodeGrant),
    Refresh(RefreshToken),
    /// Client credentials with the app registration's client secret.
    ClientSecret,
    /// Client credentials with a client assertion, or a service account.
    Assertion(assertion::AssertionGrant),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    /// A request is due at this instant.
    Scheduled(Instant),
    /// Waiting for the browser, until this deadline.
    AwaitingRedirect(Instant),
    /// Waiting for the assertion's signature, until this deadline.
    AwaitingSignature(Instant),
    /// A request was sent; its answer is due by this deadline.
    InFlight(Instant),
    Succeeded,
    Ended,
}

/// What a complete response means for the flow.
enum Outcome {
    DeviceAuthorized,
    Tokens,
    Pending,
    SlowDown,
    Transient(OAuthError, Option<Duration>),
    Reauth(OAuthError),
    Fatal(OAuthError),
}

/// The sans-IO OAuth client. `B` is the response buffer the caller lends
/// (`[u8; N]`, `&mut [u8]`, …).
pub struct Client<B: AsMut<[u8]>> {
    provider: Provider,
    app: AppRegistration,
    buf: B,
    http: ResponseParser,
    /// The response body's JSON, parsed as it arrives (R-MEM).
    body: BodyParser,
    grant: Grant,
    state: State,
    tokens: TokenResponse,
    /// Whether `tokens.refresh_token` is new (issued or rotated).
    rotated: bool,
    expires_at: Option<Instant>,
    events: Deque<Event, OAUTH_EVENT_QUEUE>,
    backoff: backoff::Backoff,
    last_error: Option<OAuthError>,
    last_description: String<MAX_ERROR_DESCRIPTION_LEN>,
    /// The ended flow's grant and terminal event, until
    /// [`Client::take_outcome`] or the next flow.
    outcome: Option<(FlowKind, Event)>,
    /// The request going out in pieces (R-MEM): octets written so far and
    /// its whole length; `0, 0` when none is.
    request_sent: usize,
    request_len: usize,
}

impl<B: AsMut<[u8]>> core::fmt::Debug for Client<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("provider", &self.provider.kind())
            .field("state", &self.state)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

impl<B: AsMut<[u8]>> Drop for Client<B> {
    fn drop(&mut self) {
        self.wipe_response();
    }
}

impl<B: AsMut<[u8]>> Client<B> {
    /// A client for `provider` and `app`, with the lent response buffer and
    /// a seed for retry jitter (any per-device value: serial number, RNG).
    pub fn new(provider: Provider, app: AppRegistration, buf: B, seed: u64) -> Self {
        Client {
            provider,
            app,
            buf,
            http: ResponseParser::new(),
            body: BodyParser::Idle,
            grant: Grant::None,
            state: State::Idle,
            tokens: TokenResponse::new(),
            rotated: false,
            expires_at: None,
            events: Deque::new(),
            backoff: backoff::Backoff::new(seed, OAUTH_MAX_RETRIES),
            last_error: None,
            last_description: String::new(),
            outcome: None,
            request_sent: 0,
            request_len: 0,
        }
    }

    /// Abandon any flow and wipe every secret (tokens, codes, buffer).
    pub fn reset(&mut self) {
        self.wipe_response();
        self.grant = Grant::None;
        self.state = State::Idle;
        self.tokens.clear();
        self.rotated = false;
        self.expires_at = None;
        self.events.clear();
        self.backoff.reset();
        self.last_error = None;
        self.last_description.clear();
        self.outcome = None;
    }

    /// Back to what [`Client::new`] builds, in place (R-MEM): every
    /// secret and the buffer wiped, the retry jitter seeded with `seed`,
    /// and the profile and app registration written by `fill` straight
    /// into their places ([`crate::config::ProfileParts::profile_into`],
    /// [`AppRegistration::set_public`]). Nothing the size of the client
    /// (12 KB without its buffer) or of a profile is built on the stack. If
    /// `fill` fails, the client must not be used until set up again.
    pub fn reset_with<E>(
        &mut self,
        seed: u64,
        fill: impl FnOnce(&mut Provider, &mut AppRegistration) -> Result<(), E>,
    ) -> Result<(), E> {
        self.reset();
        self.backoff = backoff::Backoff::new(seed, OAUTH_MAX_RETRIES);
        fill(&mut self.provider, &mut self.app)
    }

    /// Replace the provider profile and app registration (settings
    /// changed), abandoning any flow. Firmware that keeps one client in
    /// static storage reconfigures it this way instead of building a new one.
    pub fn set_profile(&mut self, provider: Provider, app: AppRegistration) {
        self.reset();
        self.provider = provider;
        self.app = app;
    }

    /// The provider profile.
    #[must_use]
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// Start the device authorization grant (RFC 8628). Refused with
    /// [`ProfileError::DeviceFlowNotSupported`](crate::provider::ProfileError)
    /// for Google.
    pub fn start_device(&mut self, now: Instant) -> Result<(), OAuthError> {
        self.provider.device_endpoint()?;
        self.reset();
        self.grant = Grant::Device(DeviceGrant {
            auth: DeviceAuthorization::new(),
            authorized: false,
            interval: DEFAULT_POLL_INTERVAL,
            expires_at: now,
        });
        self.state = State::Scheduled(now);
        Ok(())
    }

    /// Start the authorization code flow with PKCE: then show
    /// [`Client::authorize_url`] in the browser and give the redirect's
    /// request-target to [`Client::handle_redirect`]. `verifier_random` and
    /// `state_random` must come from a cryptographic RNG.
    pub fn start_auth_code(
        &mut self,
        now: Instant,
        verifier_random: &[u8; 32],
        state_random: &[u8; 16],
        redirect_uri: RedirectUri,
        login_hint: Option<&Address>,
    ) -> Result<(), OAuthError> {
        self.provider.authorize_endpoint()?;
        self.reset();
        self.grant = Grant::AuthCode(AuthCodeGrant {
            pkce: Pkce::new(verifier_random, state_random),
            redirect_uri,
            login_hint: login_hint.cloned(),
            code: SecretBuf::new(),
        });
        self.state = State::AwaitingRedirect(now + REDIRECT_TIMEOUT);
        Ok(())
    }

    /// Start the refresh grant with the persisted `refresh_token`.
    pub fn start_refresh(&mut self, now: Instant, refresh_token: &[u8]) -> Result<(), OAuthError> {
        if refresh_token.is_empty() {
            return Err(OAuthError::InvalidArgument);
        }
        let too_long = OAuthError::Json(crate::wire::json::JsonError::TooLong(
            crate::wire::json::Field::RefreshToken,
        ));
        if refresh_token.len() > RefreshToken::CAPACITY {
            return Err(too_long);
        }
        self.reset();
        // Copied straight into the grant (R-MEM: no 2 KB token built on the
        // stack and moved, and no copy of it left there).
        self.grant = Grant::Refresh(RefreshToken::new());
        if let Grant::Refresh(token) = &mut self.grant {
            token.set(refresh_token).map_err(|_| too_long)?;
        }
        self.state = State::Scheduled(now);
        Ok(())
    }

    /// Start app-only sign-in with the client secret of the app
    /// registration ([`AppRegistration::with_secret`]): one client
    /// credentials request (RFC 6749 §4.4) for
    /// [`Provider::app_only_scope`]. The answer has no refresh token:
    /// start again before the access token expires. Refused with
    /// [`OAuthError::InvalidArgument`] when the app has no secret.
    pub fn start_client_credentials(&mut self, now: Instant) -> Result<(), OAuthError> {
        if self.app.client_secret().is_none() {
            return Err(OAuthError::InvalidArgument);
        }
        self.reset();
        self.grant = Grant::ClientSecret;
        self.state = State::Scheduled(now);
        Ok(())
    }

    /// Start app-only sign-in with a certificate credential (Microsoft
    /// Entra): one client credentials request authenticated with a signed
    /// client assertion (RFC 7523 §2.2): `iss` = `sub` = the client id,
    /// `aud` = the token endpoint, `jti` from `jti_random` (16 octets from
    /// a cryptographic RNG), `nbf` = `wall_secs` (seconds since 1970, from
    /// the caller's wall clock), `exp` [`ASSERTION_LIFETIME`] later, and
    /// the certificate's `thumbprint` in the header's `x5t#S256`.
    ///
    /// The client then asks for a signature ([`Event::SignatureRequired`],
    /// [`Client::needs_signature`]); nothing is sent before it comes. A
    /// `wall_secs` before 2020 is refused with [`OAuthError::ClockNotSet`].
    pub fn start_client_assertion(
        &mut self,
        now: Instant,
        wall_secs: u64,
        jti_random: &[u8; JTI_LEN],
        thumbprint: &Thumbprint,
        alg: JwsAlg,
    ) -> Result<(), OAuthError> {
        if wall_secs < MIN_WALL_CLOCK {
            return Err(OAuthError::ClockNotSet);
        }
        self.reset();
        self.grant = Grant::Assertion(assertion::AssertionGrant::new(
            assertion::AssertionKind::Certificate {
                thumbprint: *thumbprint,
                alg,
                jti_seed: *jti_random,
            },
            now,
            wall_secs,
        ));
        self.await_signature(now);
        Ok(())
    }

    /// Start a Google Workspace service account's sign-in for a mailbox
    /// (domain-wide delegation): one JWT bearer grant request (RFC 7523
    /// §2.1) whose RS256 assertion has `iss` = the account's e-mail, `sub`
    /// = the mailbox, `scope` = [`Provider::app_only_scope`], `aud` = the
    /// token endpoint, `iat` = `wall_secs`, `exp` [`ASSERTION_LIFETIME`]
    /// later, and `kid` when given. Signed as for
    /// [`Client::start_client_assertion`]. The answer has no refresh token.
    pub fn start_service_account(
        &mut self,
        now: Instant,
        wall_secs: u64,
        account: &ServiceAccount<'_>,
    ) -> Result<(), OAuthError> {
        if wall_secs < MIN_WALL_CLOCK {
            return Err(OAuthError::ClockNotSet);
        }
        let issuer =
            Address::parse(account.client_email).map_err(|_| OAuthError::InvalidArgument)?;
        let mut key_id = String::<MAX_KEY_ID_LEN>::new();
        if let Some(kid) = account.key_id {
            if kid.is_empty() || !kid.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(OAuthError::InvalidArgument);
            }
            key_id
                .push_str(kid)
                .map_err(|_| OAuthError::InvalidArgument)?;
        }
        if account.subject.is_empty() {
            return Err(OAuthError::InvalidArgument);
        }
        self.reset();
        self.grant = Grant::Assertion(assertion::AssertionGrant::new(
            assertion::AssertionKind::ServiceAccount {
                issuer,
                subject: account.subject.clone(),
                key_id,
            },
            now,
            wall_secs,
        ));
        self.await_signature(now);
        Ok(())
    }

    /// Date a new assertion and ask for its signature.
    fn await_signature(&mut self, now: Instant) {
        if let Grant::Assertion(a) = &mut self.grant {
            a.date(now);
            self.state = State::AwaitingSignature(now + SIGNATURE_TIMEOUT);
            self.push_event(Event::SignatureRequired);
        }
    }

    /// A request due at `now` whose assertion is not signed yet: ask for
    /// the signature instead. Returns whether it did.
    fn sign_before_sending(&mut self, now: Instant) -> bool {
        match (&self.state, &self.grant) {
            (State::Scheduled(at), Grant::Assertion(a)) if now >= *at && !a.is_signed() => {
                self.await_signature(now);
                true
            }
            _ => false,
        }
    }

    /// Whether the flow waits for a signature ([`Event::SignatureRequired`]).
    #[must_use]
    pub fn needs_signature(&self) -> bool {
        matches!(self.state, State::AwaitingSignature(_))
    }

    /// The exact length of [`Client::signing_input`], while a signature is
    /// asked.
    #[must_use]
    pub fn signing_input_len(&self) -> Option<usize> {
        let mut n = 0usize;
        self.stream_signing_input(&mut |piece| n = n.saturating_add(piece.len()))
            .ok()
            .map(|()| n)
    }

    /// Write the octets to sign (the JWS signing input,
    /// `BASE64URL(header) "." BASE64URL(claims)`, ASCII) into `out`; at
    /// most [`MAX_SIGNING_INPUT_LEN`](crate::limits::MAX_SIGNING_INPUT_LEN)
    /// octets, exactly [`Client::signing_input_len`]. The token request
    /// buffer is free to lend while a signature is asked.
    /// [`OAuthError::WrongState`] unless a signature is asked;
    /// [`OAuthError::BufferTooSmall`] with the size needed.
    pub fn signing_input(&self, out: &mut [u8]) -> Result<usize, OAuthError> {
        let mut w = Writer::new(out);
        self.stream_signing_input(&mut |piece| w.push(piece))?;
        Ok(w.finish()?)
    }

    /// The octets to sign, handed to `sink` in pieces (for a signer that
    /// hashes as it goes, so that the whole input is never in RAM).
    pub fn stream_signing_input(&self, sink: &mut dyn FnMut(&[u8])) -> Result<(), OAuthError> {
        let (State::AwaitingSignature(_), Grant::Assertion(a)) = (&self.state, &self.grant) else {
            return Err(OAuthError::WrongState);
        };
        a.with(&self.provider, &self.app, |assertion| {
            crate::wire::jwt::stream_signing_input(assertion, sink);
        });
        Ok(())
    }

    /// The signature of [`Client::signing_input`] (RS256 or PS256 as the
    /// flow was started: 256 octets for a 2048-bit RSA key, up to
    /// [`MAX_SIGNATURE_LEN`]). The request is then due: send it with
    /// [`Client::poll_transmit`]. [`OAuthError::WrongState`] unless a
    /// signature is asked; an empty one is [`OAuthError::InvalidArgument`],
    /// a longer one [`OAuthError::SignatureTooLong`] (the flow keeps
    /// waiting for a right one until its deadline).
    pub fn handle_signature(&mut self, now: Instant, signature: &[u8]) -> Result<(), OAuthError> {
        let (State::AwaitingSignature(_), Grant::Assertion(a)) = (self.state, &mut self.grant)
        else {
            return Err(OAuthError::WrongState);
        };
        if signature.is_empty() {
            return Err(OAuthError::InvalidArgument);
        }
        if signature.len() > MAX_SIGNATURE_LEN {
            return Err(OAuthError::SignatureTooLong);
        }
        a.signature
            .set(signature)
            .map_err(|_| OAuthError::SignatureTooLong)?;
        self.state = State::Scheduled(now);
        Ok(())
    }

    /// The firmware could not sign (key missing, secure element fault):
    /// the flow ends with [`Event::Failed`] ([`OAuthError::SigningFailed`]).
    /// Ignored unless a signature is asked.
    pub fn handle_signature_error(&mut self) {
        if self.needs_signature() {
            self.end(Event::Failed(OAuthError::SigningFailed));
        }
    }

    /// Both signing steps with a Rust `signer`: the signing input is
    /// written into `scratch` (lend the token request buffer, or
    /// [`MAX_SIGNING_INPUT_LEN`](crate::limits::MAX_SIGNING_INPUT_LEN)
    /// octets), signed, and the signature handed to
    /// [`Client::handle_signature`]. A signer's failure ends the flow
    /// ([`OAuthError::SigningFailed`], also returned).
    pub fn sign_with<S: AssertionSigner + ?Sized>(
        &mut self,
        now: Instant,
        signer: &mut S,
        scratch: &mut [u8],
    ) -> Result<(), OAuthError> {
        let n = self.signing_input(scratch)?;
        let input = scratch.get(..n).ok_or(OAuthError::InvalidArgument)?;
        let mut sig = [0u8; MAX_SIGNATURE_LEN];
        let result = match signer.sign(input, &mut sig) {
            Ok(len) if len > MAX_SIGNATURE_LEN => Err(OAuthError::SignatureTooLong),
            Ok(len) => self.handle_signature(now, sig.get(..len).unwrap_or(&[])),
            Err(SignError) => {
                self.handle_signature_error();
                Err(OAuthError::SigningFailed)
            }
        };
        zeroize::Zeroize::zeroize(&mut sig);
        result
    }

    /// Write the authorize URL for the browser (PKCE flow only). The exact
    /// size needed comes back in [`OAuthError::BufferTooSmall`].
    pub fn authorize_url(&self, out: &mut [u8]) -> Result<usize, OAuthError> {
        let Grant::AuthCode(g) = &self.grant else {
            return Err(OAuthError::WrongState);
        };
        let endpoint = self.provider.authorize_endpoint()?;
        let mut w = Writer::new(out);
        endpoint.write_url(&mut w);
        w.push_byte(if endpoint.path().contains('?') {
            b'&'
        } else {
            b'?'
        });
        let mut q = Pairs::new(&mut w, Style::Query);
        q.pair("client_id", self.app.client_id().as_bytes())
            .pair("response_type", b"code")
            .pair("redirect_uri", g.redirect_uri.as_str().as_bytes())
            .pair("scope", self.provider.sign_in_scope().as_bytes())
            .pair("state", g.pkce.state().as_bytes())
            .pair("code_challenge", g.pkce.challenge().as_bytes())
            .pair("code_challenge_method", b"S256");
        if let Some(hint) = &g.login_hint {
            q.pair("login_hint", hint.as_str().as_bytes());
        }
        for (k, v) in self.provider.authorize_extra() {
            q.pair(k, v.as_bytes());
        }
        Ok(w.finish()?)
    }

    /// The PKCE flow's `state` (for a loopback listener that wants to log
    /// or route by it).
    #[must_use]
    pub fn pkce_state(&self) -> Option<&str> {
        match &self.grant {
            Grant::AuthCode(g) => Some(g.pkce.state()),
            _ => None,
        }
    }

    /// The browser came back to the loopback listener with `target`
    /// (`/?code=…&state=…`, or just the query). A wrong or missing `state`
    /// is refused with [`OAuthError::StateMismatch`] and the flow keeps
    /// waiting (a stray or forged request cannot end it). An `error=` with
    /// the right state ends the flow ([`Event::Failed`]) and is returned too.
    pub fn handle_redirect(&mut self, now: Instant, target: &[u8]) -> Result<(), OAuthError> {
        let (State::AwaitingRedirect(_), Grant::AuthCode(g)) = (self.state, &mut self.grant) else {
            return Err(OAuthError::WrongState);
        };
        let query = match target.iter().position(|&b| b == b'?') {
            Some(i) => target.get(i.saturating_add(1)..).unwrap_or(&[]),
            None => target,
        };
        let query = query.split(|&b| b == b'#').next().unwrap_or(&[]);
        let mut state = [0u8; STATE_LEN + 1];
        let state_ok = form::find(query, "state")
            .and_then(|raw| form::decode(raw, &mut state).ok())
            .is_some_and(|n| g.pkce.state_matches(state.get(..n).unwrap_or(&[])));
        if !state_ok {
            return Err(OAuthError::StateMismatch);
        }
        if let Some(raw) = form::find(query, "error") {
            let mut name = [0u8; 40];
            let code = form::decode(raw, &mut name)
                .map(|n| ErrorCode::from_name(name.get(..n).unwrap_or(&[])))
                .unwrap_or(ErrorCode::Other);
            let err = OAuthError::Redirect(code);
            self.end(Event::Failed(err));
            return Err(err);
        }
        let decoded = form::find(query, "code")
            .filter(|c| !c.is_empty())
            .map(|raw| form::decode_secret(raw, &mut g.code));
        match decoded {
            Some(Ok(())) if !g.code.is_empty() => {
                self.state = State::Scheduled(now);
                Ok(())
            }
            _ => {
                g.code.clear();
                Err(OAuthError::RedirectMalformed)
            }
        }
    }

    /// The device authorization (user code, URIs, message) once received.
    #[must_use]
    pub fn device_authorization(&self) -> Option<&DeviceAuthorization> {
        match &self.grant {
            Grant::Device(d) if d.authorized => Some(&d.auth),
            _ => None,
        }
    }

    /// The current polling interval of the device flow.
    #[must_use]
    pub fn poll_interval(&self) -> Option<Duration> {
        match &self.grant {
            Grant::Device(d) => Some(d.interval),
            _ => None,
        }
    }

    /// The tokens after [`Event::AccessToken`]: the access token, the
    /// refresh token to keep (the new one, or the one refreshed with), the
    /// granted scope.
    #[must_use]
    pub fn tokens(&self) -> Option<&TokenResponse> {
        (self.state == State::Succeeded).then_some(&self.tokens)
    }

    /// The refresh token to persist after success, only when it is new
    /// (first sign-in or rotation; [`Event::RefreshTokenRotated`] said so):
    /// `None` when the one refreshed with stays valid, so flash is not
    /// rewritten for nothing.
    #[must_use]
    pub fn new_refresh_token(&self) -> Option<&RefreshToken> {
        (self.state == State::Succeeded && self.rotated).then_some(&self.tokens.refresh_token)
    }

    /// When the access token expires, if the provider said.
    #[must_use]
    pub fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }

    /// The last failure (terminal or retried), for the diagnostic log.
    #[must_use]
    pub fn last_error(&self) -> Option<OAuthError> {
        self.last_error
    }

    /// The provider's `error_description` of the last error response (no
    /// secrets; cut to [`MAX_ERROR_DESCRIPTION_LEN`] octets).
    #[must_use]
    pub fn last_error_description(&self) -> &str {
        &self.last_description
    }

    /// Whether the flow is over (success or failure) or never started.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Idle | State::Succeeded | State::Ended)
    }

    /// Whether a request was sent and its response is still awaited. This
    /// is the connection's lifecycle: once [`Client::handle_input`] (or
    /// [`Client::handle_close`], [`Client::handle_timeout`],
    /// [`Client::handle_transport_error`]) turned it false, the request's
    /// connection has served (its response is complete, or the request
    /// failed): close it, and discard any octets `handle_input` did not
    /// take. The next request, if any, goes on a new connection. A
    /// response without a length ends with the server's close, so this
    /// stays true until [`Client::handle_close`].
    #[must_use]
    pub fn is_awaiting_response(&self) -> bool {
        matches!(self.state, State::InFlight(_))
    }

    /// How the last flow ended: its grant and its terminal event
    /// (`AccessToken`, `ReauthRequired`, `Failed`), the same one
    /// [`Client::poll_event`] reports, taken once; `None` before the end,
    /// after it was taken, and once the next flow starts. A driver whose
    /// events were drained elsewhere learns the flow's end from it.
    pub fn take_outcome(&mut self) -> Option<(FlowKind, Event)> {
        self.outcome.take()
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Client::handle_timeout`] must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let expiry = match &self.grant {
            Grant::Device(d) if d.authorized => Some(d.expires_at),
            _ => None,
        };
        match self.state {
            State::Scheduled(at) => Some(expiry.map_or(at, |e| e.min(at))),
            State::AwaitingRedirect(at) | State::AwaitingSignature(at) | State::InFlight(at) => {
                Some(at)
            }
            _ => None,
        }
    }

    /// Time passed: expire the device code, the browser wait, or an
    /// unanswered request. A due request is sent by
    /// [`Client::poll_transmit`].
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Scheduled(_) => {
                // A device code expired, or an assertion to sign first.
                let _ = self.check_device_expiry(now) || self.sign_before_sending(now);
            }
            State::AwaitingRedirect(deadline) if now >= deadline => {
                self.end(Event::Failed(OAuthError::RedirectTimeout));
            }
            State::AwaitingSignature(deadline) if now >= deadline => {
                self.end(Event::Failed(OAuthError::SigningFailed));
            }
            State::InFlight(deadline) if now >= deadline => {
                self.wipe_response();
                self.transient(now, OAuthError::ResponseTimeout, None);
            }
            _ => {}
        }
    }

    fn check_device_expiry(&mut self, now: Instant) -> bool {
        if let Grant::Device(d) = &self.grant {
            if d.authorized && now >= d.expires_at {
                self.end(Event::Failed(OAuthError::DeviceCodeExpired));
                return true;
            }
        }
        false
    }

    /// Write the next request into `out` when one is due at `now`, or the
    /// next piece of the request going out.
    ///
    /// A buffer shorter than the request gets it in pieces
    /// ([`Transmit::offset`], [`Transmit::last`]): call again after writing
    /// each piece until the last, on the same connection. The request is
    /// written anew for each piece, so no copy of it is kept (R-MEM). Only
    /// an empty buffer is [`BufferTooSmall`], with the request's length.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<Transmit<'_>>, BufferTooSmall> {
        let continuing =
            matches!(self.state, State::InFlight(_)) && self.request_sent < self.request_len;
        if !continuing {
            let State::Scheduled(at) = self.state else {
                return Ok(None);
            };
            if self.request_len > 0 {
                // A request was cut short (an early answer, a close): its
                // signature may have gone out, so the next is signed anew.
                self.request_sent = 0;
                self.request_len = 0;
                if let Grant::Assertion(a) = &mut self.grant {
                    a.sent();
                }
            }
            if self.check_device_expiry(now) || now < at || self.sign_before_sending(now) {
                return Ok(None);
            }
        }
        let (kind, endpoint) = match &self.grant {
            Grant::None => return Ok(None),
            Grant::Device(d) if !d.authorized => (
                RequestKind::DeviceAuthorization,
                self.provider.device_endpoint().ok(),
            ),
            Grant::Device(_) => (
                RequestKind::DeviceToken,
                Some(self.provider.token_endpoint()),
            ),
            Grant::AuthCode(_) => (
                RequestKind::CodeExchange,
                Some(self.provider.token_endpoint()),
            ),
            Grant::Refresh(_) => (RequestKind::Refresh, Some(self.provider.token_endpoint())),
            Grant::ClientSecret | Grant::Assertion(_) => (
                request_kind(&self.grant),
                Some(self.provider.token_endpoint()),
            ),
        };
        let Some(endpoint) = endpoint else {
            return Ok(None);
        };
        let req = PostRequest {
            host: endpoint.host(),
            port: endpoint.port(),
            path: endpoint.path(),
            user_agent: Some(USER_AGENT),
        };
        let offset = if continuing { self.request_sent } else { 0 };
        let written = write_post_piece(out, offset, &req, |w| {
            write_body(w, kind, &self.grant, &self.app, &self.provider);
        });
        let (len, total) = match written {
            Ok(n) => n,
            Err(_) => {
                // Endpoints are validated when the profile is built.
                let err = OAuthError::Profile(crate::provider::ProfileError::InvalidEndpoint);
                self.end(Event::Failed(err));
                return Ok(None);
            }
        };
        if len == 0 {
            return Err(BufferTooSmall {
                needed: total.saturating_sub(offset),
            });
        }
        if !continuing {
            self.wipe_response();
            self.state = State::InFlight(now + RESPONSE_TIMEOUT);
        }
        let sent = offset.saturating_add(len);
        let last = sent >= total;
        if last {
            self.request_sent = 0;
            self.request_len = 0;
            if let Grant::Assertion(a) = &mut self.grant {
                // Sent: a retry asks for a new signature, with a new `jti`.
                a.sent();
            }
        } else {
            self.request_sent = sent;
            self.request_len = total;
        }
        let sensitive =
            kind != RequestKind::DeviceAuthorization || self.app.client_secret().is_some();
        let endpoint = match kind {
            RequestKind::DeviceAuthorization => self
                .provider
                .device_endpoint()
                .unwrap_or(self.provider.token_endpoint()),
            _ => self.provider.token_endpoint(),
        };
        Ok(Some(Transmit {
            len,
            offset,
            last,
            sensitive,
            endpoint,
            kind,
        }))
    }

    /// Octets received on the request's connection. Returns how many were
    /// used; octets after the end of the response, or arriving when no
    /// response is awaited, are not used.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) -> usize {
        if !matches!(self.state, State::InFlight(_)) {
            return 0;
        }
        let mut route = BodyRoute {
            body: &mut self.body,
            grant: &mut self.grant,
            tokens: &mut self.tokens,
        };
        let (buf, http) = (self.buf.as_mut(), &mut self.http);
        match http.feed_to(buf, data, MAX_OAUTH_BODY_LEN, &mut route) {
            Ok(Parsed::Partial) => data.len(),
            Ok(Parsed::Complete(resp, used)) => {
                self.on_response(now, resp);
                used
            }
            Err(e) => {
                self.wipe_response();
                self.end(Event::Failed(OAuthError::Http(e)));
                data.len()
            }
        }
    }

    /// The server closed the request's connection.
    pub fn handle_close(&mut self, now: Instant) {
        if !matches!(self.state, State::InFlight(_)) {
            return;
        }
        match self.http.finish() {
            Ok(resp) => self.on_response(now, resp),
            Err(e) => {
                self.wipe_response();
                self.transient(now, OAuthError::Http(e), None);
            }
        }
    }

    /// The driver could not carry the request (DNS, TCP, TLS, proxy).
    /// Transient failures are retried with backoff; the others end the flow.
    pub fn handle_transport_error(&mut self, now: Instant, error: TransportError) {
        if !matches!(self.state, State::InFlight(_)) {
            return;
        }
        self.wipe_response();
        let err = OAuthError::Transport(error);
        if error.is_transient() {
            self.transient(now, err, None);
        } else {
            self.end(Event::Failed(err));
        }
    }

    fn push_event(&mut self, ev: Event) {
        if self.events.is_full() {
            // The caller did not drain: drop the oldest, keep the newest
            // (terminal events come last).
            let _ = self.events.pop_front();
        }
        let _ = self.events.push_back(ev);
    }

    /// End the flow with a terminal event and wipe the grant's secrets.
    fn end(&mut self, ev: Event) {
        if let Event::Failed(e) | Event::ReauthRequired(e) = ev {
            self.last_error = Some(e);
            self.tokens.clear();
        }
        let kind = match &self.grant {
            Grant::Device(_) => Some(FlowKind::Device),
            Grant::AuthCode(_) => Some(FlowKind::AuthCode),
            Grant::Refresh(_) => Some(FlowKind::Refresh),
            Grant::ClientSecret => Some(FlowKind::ClientCredentials),
            Grant::Assertion(a) if a.is_service_account() => Some(FlowKind::ServiceAccount),
            Grant::Assertion(_) => Some(FlowKind::ClientCredentials),
            Grant::None => None,
        };
        self.outcome = kind.map(|k| (k, ev));
        self.grant = Grant::None;
        self.state = if matches!(ev, Event::AccessToken { .. }) {
            State::Succeeded
        } else {
            State::Ended
        };
        self.push_event(ev);
    }

    fn transient(&mut self, now: Instant, err: OAuthError, retry_after: Option<Duration>) {
        self.last_error = Some(err);
        let Some(delay) = self.backoff.next_delay(retry_after) else {
            self.end(Event::Failed(err));
            return;
        };
        let mut at = now + delay;
        if let Grant::Device(d) = &self.grant {
            at = at.max(now + d.interval);
        }
        self.state = State::Scheduled(at);
        self.push_event(Event::Retrying { error: err, at });
    }

    fn on_response(&mut self, now: Instant, resp: Response) {
        let retry_after = resp
            .retry_after_secs
            .map(|s| Duration::from_secs(u64::from(s)));
        let kind = request_kind(&self.grant);
        if matches!(self.body, BodyParser::Idle) {
            // An empty body: nothing was handed on.
            BodyRoute {
                body: &mut self.body,
                grant: &mut self.grant,
                tokens: &mut self.tokens,
            }
            .start(resp.status);
        }
        let outcome = match (&mut self.body, &mut self.grant) {
            (BodyParser::Device(p), Grant::Device(d)) => match p.finish(&mut d.auth) {
                Ok(()) => Outcome::DeviceAuthorized,
                Err(e) => Outcome::Fatal(OAuthError::Json(e)),
            },
            // The account, if the sign-in's answer named it, was read from
            // its `id_token` on the fly (R-ACCT; not signature-checked: it
            // is the token endpoint's own answer over TLS, OpenID Connect
            // Core §3.1.3.7, see `wire::id_token`). A refresh keeps the
            // account of the sign-in: its `id_token` is skipped unread.
            (BodyParser::Token { json, .. }, _) => match json.finish(&mut self.tokens) {
                Ok(()) if self.tokens.token_type == TokenType::Other => {
                    Outcome::Fatal(OAuthError::UnsupportedTokenType)
                }
                Ok(()) => Outcome::Tokens,
                Err(e) => Outcome::Fatal(OAuthError::Json(e)),
            },
            (BodyParser::Error(p), _) => {
                let parsed = p.finish().ok();
                self.last_description.clear();
                if let Some(p) = &parsed {
                    let _ = self.last_description.push_str(&p.description);
                }
                let outcome = classify(
                    kind,
                    resp.status,
                    parsed.as_ref().map(|p| (p.code, p.aadsts)),
                    retry_after,
                );
                app_credential(outcome, kind, matches!(self.grant, Grant::Assertion(_)))
            }
            _ => Outcome::Fatal(OAuthError::UnexpectedStatus(resp.status)),
        };
        self.body = BodyParser::Idle;
        self.http.wipe(self.buf.as_mut());
        match outcome {
            Outcome::Transient(..) => {}
            _ => self.backoff.reset(),
        }
        match outcome {
            Outcome::DeviceAuthorized => {
                if let Grant::Device(d) = &mut self.grant {
                    d.authorized = true;
                    d.interval = d
                        .auth
                        .interval
                        .map_or(DEFAULT_POLL_INTERVAL, |s| Duration::from_secs(s.max(1)));
                    d.expires_at = now + Duration::from_secs(d.auth.expires_in);
                    self.state = State::Scheduled(now + d.interval);
                }
                self.push_event(Event::UserCode);
            }
            Outcome::Pending | Outcome::SlowDown => {
                if let Grant::Device(d) = &mut self.grant {
                    if matches!(outcome, Outcome::SlowDown) {
                        d.interval = d.interval + SLOW_DOWN_STEP;
                        let interval = d.interval;
                        self.state = State::Scheduled(now + interval);
                        self.push_event(Event::SlowDown { interval });
                    } else {
                        self.state = State::Scheduled(now + d.interval);
                    }
                }
            }
            Outcome::Tokens => self.on_tokens(now),
            Outcome::Transient(err, retry_after) => self.transient(now, err, retry_after),
            Outcome::Reauth(err) => self.end(Event::ReauthRequired(err)),
            Outcome::Fatal(err) => self.end(Event::Failed(err)),
        }
    }

    /// Forget the response being read: wipe the buffer (the head) and,
    /// if a token response was being parsed, what of it was written.
    fn wipe_response(&mut self) {
        self.http.wipe(self.buf.as_mut());
        match &self.body {
            BodyParser::Idle | BodyParser::Error(_) => {}
            BodyParser::Token { .. } => self.tokens.clear(),
            BodyParser::Device(_) => {
                if let Grant::Device(d) = &mut self.grant {
                    d.auth.device_code.clear();
                }
            }
        }
        self.body = BodyParser::Idle;
    }

    fn on_tokens(&mut self, now: Instant) {
        if let Some(required) = self.provider.required_granted_scope() {
            if !self.tokens.scope.is_empty() && !self.tokens.scope_includes(required) {
                self.end(Event::Failed(OAuthError::ScopeNotGranted));
                return;
            }
        }
        let rotated = match &self.grant {
            Grant::Refresh(old) if self.tokens.refresh_token.is_empty() => {
                // No new one: the one refreshed with stays valid.
                let _ = self.tokens.refresh_token.set(old.expose());
                false
            }
            Grant::Refresh(old) => !old.ct_eq(self.tokens.refresh_token.expose()),
            Grant::ClientSecret | Grant::Assertion(_) => {
                // App-only: no refresh token is expected (RFC 6749
                // §4.4.3); one sent all the same is not kept, the flow is
                // simply run again before expiry.
                self.tokens.refresh_token.clear();
                false
            }
            _ => !self.tokens.refresh_token.is_empty(),
        };
        self.rotated = rotated;
        if rotated {
            self.push_event(Event::RefreshTokenRotated);
        }
        self.expires_at = self.tokens.expires_in.map(|s| now + Duration::from_secs(s));
        self.last_error = None;
        self.end(Event::AccessToken {
            expires_at: self.expires_at,
        });
    }
}

/// Which request the grant's response answers.
fn request_kind(grant: &Grant) -> RequestKind {
    match grant {
        Grant::Device(d) if !d.authorized => RequestKind::DeviceAuthorization,
        Grant::Device(_) => RequestKind::DeviceToken,
        Grant::AuthCode(_) => RequestKind::CodeExchange,
        Grant::ClientSecret => RequestKind::ClientCredentials,
        Grant::Assertion(a) if a.is_service_account() => RequestKind::JwtBearer,
        Grant::Assertion(_) => RequestKind::ClientCredentials,
        Grant::Refresh(_) | Grant::None => RequestKind::Refresh,
    }
}

/// The JSON parser of the response body being read.
#[allow(clippy::large_enum_variant)] // in place in the client, never moved
enum BodyParser {
    /// No body octet yet.
    Idle,
    /// A 2xx answer to a token request; the account is read from its
    /// `id_token` when `read_account` (a sign-in, not a refresh).
    Token {
        json: TokenParser,
        account: AccountReader,
        read_account: bool,
    },
    /// A 2xx answer to the device authorization request.
    Device(DeviceParser),
    /// Any other status: an error body (or none, or not JSON).
    Error(ErrorParser),
}

/// Hands the body octets to the parser for the response's status and the
/// request, writing straight into the client's token response or device
/// authorization.
struct BodyRoute<'a> {
    body: &'a mut BodyParser,
    grant: &'a mut Grant,
    tokens: &'a mut TokenResponse,
}

impl BodyRoute<'_> {
    fn start(&mut self, status: u16) {
        let kind = request_kind(self.grant);
        *self.body = if !(200..300).contains(&status) {
            BodyParser::Error(ErrorParser::default())
        } else if let (Grant::Device(d), RequestKind::DeviceAuthorization) =
            (&mut *self.grant, kind)
        {
            let mut p = DeviceParser::default();
            p.start(&mut d.auth);
            BodyParser::Device(p)
        } else {
            let mut json = TokenParser::new();
            json.start(self.tokens);
            BodyParser::Token {
                json,
                account: AccountReader::new(),
                // A sign-in names its account; a refresh and app-only
                // tokens (no user signed in) do not.
                read_account: matches!(kind, RequestKind::DeviceToken | RequestKind::CodeExchange),
            }
        };
    }
}

impl BodySink for BodyRoute<'_> {
    fn body(&mut self, status: u16, data: &[u8]) {
        if matches!(self.body, BodyParser::Idle) {
            self.start(status);
        }
        match (&mut *self.body, &mut *self.grant) {
            (
                BodyParser::Token {
                    json,
                    account,
                    read_account,
                },
                _,
            ) => json.feed(data, self.tokens, read_account.then_some(account)),
            (BodyParser::Device(p), Grant::Device(d)) => p.feed(data, &mut d.auth),
            (BodyParser::Error(p), _) => p.feed(data),
            _ => {}
        }
    }
}

/// Microsoft's AADSTS53003, "BlockedByConditionalAccess".
const BLOCKED_BY_CONDITIONAL_ACCESS: u32 = 53_003;

/// What an error response means for a request of `kind`.
/// An app-only client credentials request refused with `invalid_client`
/// and no AADSTS number (a Microsoft number keeps its own diagnostic): the
/// app's own credential ([`OAuthError::AppCredentialRefused`]).
fn app_credential(outcome: Outcome, kind: RequestKind, assertion: bool) -> Outcome {
    match outcome {
        Outcome::Fatal(OAuthError::Provider(error))
            if kind == RequestKind::ClientCredentials
                && error.code == ErrorCode::InvalidClient
                && error.aadsts.is_none() =>
        {
            Outcome::Fatal(OAuthError::AppCredentialRefused { error, assertion })
        }
        other => other,
    }
}

fn classify(
    kind: RequestKind,
    status: u16,
    error: Option<(ErrorCode, Option<u32>)>,
    retry_after: Option<Duration>,
) -> Outcome {
    let polling = kind == RequestKind::DeviceToken;
    let device = polling || kind == RequestKind::DeviceAuthorization;
    let Some((code, aadsts)) = error else {
        return match status {
            // Google answers a pending device poll with 428.
            428 if polling => Outcome::Pending,
            429 | 500..=599 => Outcome::Transient(
                OAuthError::Provider(ProviderError {
                    code: ErrorCode::Other,
                    aadsts: None,
                    status,
                }),
                retry_after,
            ),
            _ => Outcome::Fatal(OAuthError::UnexpectedStatus(status)),
        };
    };
    let err = OAuthError::Provider(ProviderError {
        code,
        aadsts,
        status,
    });
    match code {
        ErrorCode::AuthorizationPending if polling => Outcome::Pending,
        ErrorCode::SlowDown | ErrorCode::RateLimitExceeded if polling => Outcome::SlowDown,
        // Conditional Access refusing a device-code request: tenants block
        // the device code flow itself, so the remedy is another sign-in
        // mode (E437), not the generic E405 of a refused refresh.
        _ if device && aadsts == Some(BLOCKED_BY_CONDITIONAL_ACCESS) => {
            Outcome::Fatal(OAuthError::DeviceFlowBlocked(ProviderError {
                code,
                aadsts,
                status,
            }))
        }
        // Google refuses its Gmail scopes here ("Invalid device flow
        // scope"): not a wrong scope (E406) but the wrong flow for it.
        // Microsoft's refusals carry an AADSTS number and stay E406.
        ErrorCode::InvalidScope if kind == RequestKind::DeviceAuthorization && aadsts.is_none() => {
            Outcome::Fatal(OAuthError::DeviceFlowScopeRefused(ProviderError {
                code,
                aadsts,
                status,
            }))
        }
        ErrorCode::ServerError
        | ErrorCode::TemporarilyUnavailable
        | ErrorCode::RateLimitExceeded => Outcome::Transient(err, retry_after),
        ErrorCode::InvalidGrant
        | ErrorCode::InteractionRequired
        | ErrorCode::ConsentRequired
        | ErrorCode::LoginRequired
            if kind == RequestKind::Refresh =>
        {
            Outcome::Reauth(err)
        }
        ErrorCode::Other if status >= 500 || status == 429 => Outcome::Transient(err, retry_after),
        // A service account's refusals name the key, the clock or the
        // delegation (E445, E446), not a user's sign-in.
        ErrorCode::InvalidGrant | ErrorCode::UnauthorizedClient | ErrorCode::AccessDenied
            if kind == RequestKind::JwtBearer =>
        {
            Outcome::Fatal(OAuthError::ServiceAccountRefused(ProviderError {
                code,
                aadsts,
                status,
            }))
        }
        _ => Outcome::Fatal(err),
    }
}

/// The form body of a request of `kind`.
fn write_body(
    w: &mut Writer<'_>,
    kind: RequestKind,
    grant: &Grant,
    app: &AppRegistration,
    provider: &Provider,
) {
    let mut p = Pairs::new(w, Style::Form);
    match (kind, grant) {
        (RequestKind::DeviceAuthorization, _) => {
            // With the OpenID scopes: the answer names the account (R-ACCT).
            p.pair("client_id", app.client_id().as_bytes())
                .pair("scope", provider.sign_in_scope().as_bytes());
        }
        (RequestKind::DeviceToken, Grant::Device(d)) => {
            p.pair("grant_type", DEVICE_GRANT_TYPE)
                .pair("device_code", d.auth.device_code.expose())
                .pair("client_id", app.client_id().as_bytes());
        }
        (RequestKind::CodeExchange, Grant::AuthCode(g)) => {
            p.pair("grant_type", b"authorization_code")
                .pair("code", g.code.expose())
                .pair("redirect_uri", g.redirect_uri.as_str().as_bytes())
                .pair("client_id", app.client_id().as_bytes())
                .pair("code_verifier", g.pkce.verifier().expose());
        }
        (RequestKind::Refresh, Grant::Refresh(token)) => {
            p.pair("grant_type", b"refresh_token")
                .pair("refresh_token", token.expose())
                .pair("client_id", app.client_id().as_bytes());
            if provider.scope_on_refresh() {
                p.pair("scope", provider.scope().as_bytes());
            }
        }
        (RequestKind::ClientCredentials, Grant::ClientSecret) => {
            p.pair("grant_type", b"client_credentials")
                .pair("client_id", app.client_id().as_bytes())
                .pair("scope", provider.app_only_scope().as_bytes());
        }
        (RequestKind::ClientCredentials, Grant::Assertion(a)) => {
            // The assertion authenticates the client: no secret besides.
            p.pair("grant_type", b"client_credentials")
                .pair("client_id", app.client_id().as_bytes())
                .pair("scope", provider.app_only_scope().as_bytes())
                .pair("client_assertion_type", JWT_BEARER_ASSERTION_TYPE)
                .pair_unescaped("client_assertion", |w| write_assertion(w, a, app, provider));
            return;
        }
        (RequestKind::JwtBearer, Grant::Assertion(a)) => {
            p.pair("grant_type", JWT_BEARER_GRANT_TYPE)
                .pair_unescaped("assertion", |w| write_assertion(w, a, app, provider));
            return;
        }
        _ => {}
    }
    if let Some(secret) = app.client_secret() {
        p.pair("client_secret", secret.expose());
    }
}

/// The signed assertion, written straight into the request body.
fn write_assertion(
    w: &mut Writer<'_>,
    a: &assertion::AssertionGrant,
    app: &AppRegistration,
    provider: &Provider,
) {
    a.with(provider, app, |assertion| {
        crate::wire::jwt::write_jwt(w, assertion, a.signature.expose());
    });
}

#[cfg(test)]
mod app_only_tests;
#[cfg(test)]
mod secret_output_tests;
#[cfg(test)]
mod tests;
