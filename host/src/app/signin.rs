//! Signing in to the provider (device code or browser with PKCE) and the
//! refresh grant, through the OAuth driver. The tokens stay in the OAuth
//! client's buffers and go from there to the core's token store.

use super::{AppError, Device};
use crate::driver::loopback::Loopback;
use crate::driver::oauth::{drive, drive_signed, Finish, HttpsTransport, Step};
use mfp_oauth_core::diag::{Diagnostic, Id};
use mfp_oauth_core::mailer::AuthMethod;
use mfp_oauth_core::oauth::{self, Event, RedirectUri};
use mfp_oauth_core::provider::LoopbackHost;
use mfp_oauth_core::secret::{AccessToken, RefreshToken};
use mfp_oauth_core::token::TokenGrant;
use mfp_oauth_core::wire::json::DeviceAuthorization;
use mfp_oauth_core::{Address, Duration, Instant};
use std::fmt;

/// The OAuth client of a flow that ended with tokens. The tokens stay in
/// the client's buffers (zeroized when it is dropped) and go from there to
/// the core's token store.
pub struct SignedIn {
    client: OAuthClient,
    expires_at: Option<Instant>,
}

impl fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedIn").finish_non_exhaustive()
    }
}

impl SignedIn {
    /// The finished client (for `Mailer::acquire_admin` and
    /// `Mailer::handle_oauth_event`).
    #[must_use]
    pub fn client(&self) -> &OAuthClient {
        &self.client
    }

    /// The terminal event of the flow, as the core reported it.
    #[must_use]
    pub fn event(&self) -> Event {
        Event::AccessToken {
            expires_at: self.expires_at,
        }
    }

    /// The grant to give the core's token store.
    #[must_use]
    pub fn grant(&self) -> Option<TokenGrant<'_>> {
        self.client.tokens().map(TokenGrant::from_response)
    }

    /// The access token (for a probe that is not a job).
    #[must_use]
    pub fn access_token(&self) -> Option<&AccessToken> {
        self.client.tokens().map(|t| &t.access_token)
    }

    /// The account the provider says signed in (the `id_token`, R-ACCT),
    /// `None` when it named none (the account is then unverified).
    #[must_use]
    pub fn account(&self) -> Option<&Address> {
        self.client.tokens().and_then(|t| t.account.address())
    }

    /// The refresh token returned, empty if none.
    #[must_use]
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.client.tokens().map(|t| &t.refresh_token)
    }
}

/// What a sign-in shows to the person signing in.
#[derive(Debug)]
pub enum Prompt<'a> {
    /// Device flow: enter this code at this address.
    DeviceCode(&'a DeviceAuthorization),
    /// Browser flow: open this URL.
    OpenUrl(&'a str),
    /// The provider asked to poll more slowly.
    SlowDown(Duration),
    /// Still waiting for the person (one poll answered "pending").
    Polled,
    /// A request is sent to this endpoint (`host:port`).
    Contacting(&'a str),
    /// A request to `endpoint` failed for a reason that may pass
    /// (`error`); attempt `attempt + 1` follows after `delay` (the core's
    /// back-off; issue 17: no silent waits).
    Retrying {
        /// `host:port` of the endpoint that failed.
        endpoint: &'a str,
        /// Attempts failed so far, from 1.
        attempt: u32,
        /// What failed.
        error: Id,
        /// The wait before the next attempt.
        delay: Duration,
    },
    /// The provider refused and said why, in its own words (its
    /// `error_description`, e.g. Google's "Invalid device flow scope: …";
    /// never a secret). Shown before the flow fails.
    ProviderSaid(&'a str),
}

/// `host:port` of the endpoint a request of `kind` goes to.
fn endpoint_of(c: &OAuthClient, kind: oauth::RequestKind) -> String {
    let p = c.provider();
    let e = match kind {
        oauth::RequestKind::DeviceAuthorization => p.device_endpoint().ok(),
        _ => None,
    }
    .unwrap_or_else(|| p.token_endpoint());
    format!("{}:{}", e.host(), e.port())
}

/// Turns the driver's steps into the prompts every flow shares: the
/// endpoint contacted, and each retry with its delay.
#[derive(Default)]
struct Progress {
    endpoint: String,
    failed: u32,
}

impl Progress {
    fn step(
        &mut self,
        device: &Device,
        c: &OAuthClient,
        step: Step,
        prompt: &mut dyn FnMut(Prompt<'_>),
    ) {
        match step {
            Step::Request(kind) => {
                let e = endpoint_of(c, kind);
                if e != self.endpoint {
                    self.endpoint = e;
                    prompt(Prompt::Contacting(&self.endpoint));
                }
            }
            Step::Event(Event::Retrying { error, at }) => {
                self.failed = self.failed.saturating_add(1);
                prompt(Prompt::Retrying {
                    endpoint: &self.endpoint,
                    attempt: self.failed,
                    error: error.diag(),
                    delay: at.saturating_since(device.clock.now()),
                });
            }
            _ => {}
        }
    }
}

/// How a sign-in or refresh ended without tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowError {
    /// The token endpoint refused the grant (the OAuth client's
    /// `ReauthRequired`: `invalid_grant` and relatives). For a refresh the
    /// core decides whether the token is dead (R-TOK-4) or kept (consent,
    /// Conditional Access): `Mailer::exchange_failed`,
    /// `RefreshFailure::classify`.
    Reauth(Id),
    /// Anything else, with its diagnostic.
    Failed(Id),
}

impl FlowError {
    /// The diagnostic.
    #[must_use]
    pub fn diag(self) -> Id {
        match self {
            FlowError::Reauth(id) | FlowError::Failed(id) => id,
        }
    }
}

/// The OAuth client the host lends its response buffer to.
pub type OAuthClient = oauth::Client<Vec<u8>>;

/// A client for the provider and app registration in the settings.
pub fn client(device: &Device) -> Result<OAuthClient, FlowError> {
    let (provider, app) = device.provider().map_err(FlowError::Failed)?;
    let seed = u64::from_le_bytes(super::random());
    Ok(oauth::Client::new(
        provider,
        app,
        vec![0u8; mfp_oauth_core::limits::OAUTH_RESPONSE_BUF_LEN],
        seed,
    ))
}

/// How the token endpoint is reached: the settings' proxy, the device's
/// trust within the settings' TLS range.
fn transport(device: &Device) -> Result<HttpsTransport, FlowError> {
    Ok(HttpsTransport {
        net: device.token_net(),
        tls: device
            .server_tls()
            .map_err(|e| FlowError::Failed(e.diag()))?,
    })
}

/// A flow that ended with the provider's refusal: show its words.
fn show_refusal(c: &OAuthClient, f: &Finish, prompt: &mut dyn FnMut(Prompt<'_>)) {
    let refused = match f {
        Finish::ReauthRequired(e) | Finish::Failed(e) => matches!(
            e,
            oauth::OAuthError::Provider(_)
                | oauth::OAuthError::DeviceFlowScopeRefused(_)
                | oauth::OAuthError::DeviceFlowBlocked(_)
                | oauth::OAuthError::AppCredentialRefused { .. }
        ),
        Finish::AccessToken { .. } => false,
    };
    let said = c.last_error_description();
    if refused && !said.is_empty() {
        prompt(Prompt::ProviderSaid(said));
    }
}

fn finish(c: OAuthClient, f: Finish) -> Result<SignedIn, FlowError> {
    match f {
        Finish::AccessToken { expires_at } if c.tokens().is_some() => Ok(SignedIn {
            client: c,
            expires_at,
        }),
        Finish::AccessToken { .. } => Err(FlowError::Failed(Id::WrongState)),
        Finish::ReauthRequired(e) => Err(FlowError::Reauth(e.diag())),
        Finish::Failed(e) => Err(FlowError::Failed(e.diag())),
    }
}

/// Drive a flow already started on `c` (a refresh from
/// `Mailer::start_exchange`) to its end.
pub fn run(device: &Device, c: OAuthClient, rotated: &mut bool) -> Result<SignedIn, FlowError> {
    run_with(device, c, rotated, &mut |_| {})
}

/// [`run`], showing the endpoint contacted and each retry to `prompt`.
pub fn run_with(
    device: &Device,
    mut c: OAuthClient,
    rotated: &mut bool,
    prompt: &mut dyn FnMut(Prompt<'_>),
) -> Result<SignedIn, FlowError> {
    let mut progress = Progress::default();
    // An app-only grant's assertions are signed with the installed key
    // (read only for such a grant: a delegated flow never needs it).
    let mut signer = if c.needs_signature() {
        device.app_signer().map_err(|e| match e {
            AppError::Diag(id) => FlowError::Failed(id),
            _ => FlowError::Failed(Id::SigningFailed),
        })?
    } else {
        None
    };
    let f = drive_signed(
        &*device.clock,
        &mut c,
        &transport(device)?,
        None,
        signer
            .as_mut()
            .map(|s| s as &mut dyn oauth::AssertionSigner),
        &mut |c, s| {
            if s == Step::Event(Event::RefreshTokenRotated) {
                *rotated = true;
            }
            progress.step(device, c, s, prompt);
        },
    );
    show_refusal(&c, &f, prompt);
    finish(c, f)
}

/// Sign in for `account` with `method`. `prompt` shows the code or URL;
/// `browser`, for the PKCE flow, is started with the authorize URL (a real
/// browser on a workstation, the simulated one in the demo).
pub fn sign_in(
    device: &Device,
    method: AuthMethod,
    account: &Address,
    prompt: &mut dyn FnMut(Prompt<'_>),
    browser: &mut dyn FnMut(String),
) -> Result<SignedIn, FlowError> {
    let mut c = client(device)?;
    let now = device.clock.now();
    let t = transport(device)?;
    let mut progress = Progress::default();
    let f = match method {
        AuthMethod::DeviceCode => {
            c.start_device(now)
                .map_err(|e| FlowError::Failed(e.diag()))?;
            drive(&*device.clock, &mut c, &t, None, &mut |c, step| {
                progress.step(device, c, step, prompt);
                match step {
                    Step::Event(Event::UserCode) => {
                        if let Some(d) = c.device_authorization() {
                            prompt(Prompt::DeviceCode(d));
                        }
                    }
                    Step::Event(Event::SlowDown { interval }) => prompt(Prompt::SlowDown(interval)),
                    Step::Request(oauth::RequestKind::DeviceToken) => prompt(Prompt::Polled),
                    _ => {}
                }
            })
        }
        _ => {
            let lo = Loopback::bind().map_err(|_| FlowError::Failed(Id::IoError))?;
            let redirect = RedirectUri::loopback(LoopbackHost::Ipv4, lo.port(), "/")
                .map_err(|e| FlowError::Failed(e.diag()))?;
            c.start_auth_code(
                now,
                &super::random(),
                &super::random(),
                redirect,
                Some(account),
            )
            .map_err(|e| FlowError::Failed(e.diag()))?;
            let mut url = vec![0u8; 4096];
            let n = c
                .authorize_url(&mut url)
                .map_err(|e| FlowError::Failed(e.diag()))?;
            let url = String::from_utf8_lossy(url.get(..n).unwrap_or_default()).into_owned();
            prompt(Prompt::OpenUrl(&url));
            browser(url);
            drive(&*device.clock, &mut c, &t, Some(&lo), &mut |c, step| {
                progress.step(device, c, step, prompt)
            })
        }
    };
    show_refusal(&c, &f, prompt);
    finish(c, f)
}
