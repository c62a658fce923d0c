//! OAuth provider profiles (R-PROV): endpoints, scope, SMTP servers and
//! which sign-in flows each provider allows.
//!
//! - **Microsoft** (Entra ID): tenant `common` / `organizations` /
//!   `consumers` / a tenant id or domain, in the global, US Government (GCC
//!   High, DoD) or China (21Vianet) cloud; scope
//!   `https://outlook.office.com/SMTP.Send offline_access` or the cloud's
//!   equivalent; `smtp.office365.com:587` STARTTLS; device flow and PKCE.
//! - **Google**: scope `https://mail.google.com/`; `smtp.gmail.com` 587
//!   STARTTLS and 465 implicit TLS; the device flow cannot obtain the Gmail
//!   scope (Google's list of device-flow scopes excludes it), so the profile
//!   offers PKCE with a loopback redirect only and refuses the device flow
//!   with [`ProfileError::DeviceFlowNotSupported`].
//! - **Custom**: explicit endpoints for any standards-compliant server.
//!
//! Endpoints are host + port + path: the driver connects to `host:port`
//! with TLS (through a `CONNECT` proxy when configured) and sends the
//! request the OAuth client writes.

use core::fmt;
use heapless::String;

use crate::diag::{Diagnostic, Id};
use crate::limits::{
    MAX_CLIENT_ID_LEN, MAX_CLIENT_SECRET_LEN, MAX_ENDPOINT_PATH_LEN, MAX_SCOPE_LEN, MAX_URL_LEN,
};
use crate::secret::SecretBuf;
use crate::wire::http::{valid_host, valid_path};
use crate::wire::writer::Writer;

pub(crate) mod build;

/// A provider profile cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ProfileError {
    /// The tenant is empty, too long, or not a name, domain or GUID.
    InvalidTenant,
    /// An endpoint URL is not `https://host[:port]/path` (plain `http` is
    /// accepted for loopback hosts only, for local test servers).
    InvalidEndpoint,
    /// The scope is empty, too long, or has control characters.
    InvalidScope,
    /// The client id is empty, too long, or has forbidden characters.
    InvalidClientId,
    /// The client secret is too long.
    ClientSecretTooLong,
    /// The provider does not allow the device flow for e-mail (Google).
    DeviceFlowNotSupported,
    /// The profile has no authorization endpoint, so no browser sign-in.
    AuthCodeNotSupported,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProfileError::InvalidTenant => "invalid tenant",
            ProfileError::InvalidEndpoint => "invalid endpoint URL",
            ProfileError::InvalidScope => "invalid scope",
            ProfileError::InvalidClientId => "invalid client id",
            ProfileError::ClientSecretTooLong => "client secret too long",
            ProfileError::DeviceFlowNotSupported => {
                "this provider does not allow the device flow for e-mail"
            }
            ProfileError::AuthCodeNotSupported => "this profile has no authorization endpoint",
        })
    }
}

impl core::error::Error for ProfileError {}

impl Diagnostic for ProfileError {
    fn diag(&self) -> Id {
        match self {
            ProfileError::DeviceFlowNotSupported => Id::DeviceFlowNotSupported,
            ProfileError::InvalidTenant => Id::BadTenant,
            _ => Id::ProviderProfileIncomplete,
        }
    }
}

/// The Gmail API's send-only scope (R-XPORT).
pub const GMAIL_SEND_SCOPE: &str = "https://www.googleapis.com/auth/gmail.send";

/// An endpoint URL's parts, borrowed from the URL and checked as an
/// [`Endpoint`] checks them: where a request would go, without copying
/// the host and path into an endpoint on the caller's frame (R-MEM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// Host to connect to (and the TLS server name).
    pub host: &'a str,
    /// TCP port.
    pub port: u16,
    /// Origin-form path (may carry a query).
    pub path: &'a str,
    /// `https`; `http` only to a loopback host.
    pub tls: bool,
}

impl<'a> UrlParts<'a> {
    /// Parse `https://host[:port][/path]` (or `http://` for a loopback
    /// host): the URLs [`Endpoint::parse_url`] takes.
    pub fn parse(url: &'a str) -> Result<Self, ProfileError> {
        let (rest, tls, default_port) = if let Some(r) = url.strip_prefix("https://") {
            (r, true, 443)
        } else if let Some(r) = url.strip_prefix("http://") {
            (r, false, 80)
        } else {
            return Err(ProfileError::InvalidEndpoint);
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("/")),
            None => (rest, "/"),
        };
        // An IPv6 literal keeps its brackets; the port follows `]:` (found
        // octet by octet: `str::find` with a string would link a substring
        // searcher, 1.3 KB of firmware flash, for this one use; R-MEM).
        let split = if authority.starts_with('[') {
            authority
                .as_bytes()
                .windows(2)
                .position(|w| w == b"]:")
                .map(|i| i.saturating_add(1))
        } else {
            authority.rfind(':')
        };
        let (host, port) = match split {
            Some(i) => {
                let port = authority
                    .get(i.saturating_add(1)..)
                    .and_then(|p| p.parse::<u16>().ok())
                    .ok_or(ProfileError::InvalidEndpoint)?;
                (authority.get(..i).unwrap_or(""), port)
            }
            None => (authority, default_port),
        };
        if authority.contains('@') || (!tls && !is_loopback(host)) {
            return Err(ProfileError::InvalidEndpoint);
        }
        UrlParts::checked(host, port, path, tls)
    }

    /// The parts, if an [`Endpoint`] can hold them: a host of at most
    /// [`MAX_DOMAIN_LEN`](crate::limits::MAX_DOMAIN_LEN) octets, a path of at most
    /// [`MAX_ENDPOINT_PATH_LEN`], both together at most [`MAX_URL_LEN`].
    fn checked(host: &'a str, port: u16, path: &'a str, tls: bool) -> Result<Self, ProfileError> {
        if !valid_host(host)
            || !valid_path(path)
            || port == 0
            || path.len() > MAX_ENDPOINT_PATH_LEN
            || host.len().saturating_add(path.len()) > MAX_URL_LEN
        {
            return Err(ProfileError::InvalidEndpoint);
        }
        Ok(UrlParts {
            host,
            port,
            path,
            tls,
        })
    }
}

/// Where a request goes: `https://host:port/path`. The host and the path
/// are kept one after the other in one string of at most [`MAX_URL_LEN`]
/// octets, what any endpoint URL setting can hold (R-MEM: a provider
/// profile, with its three endpoints, is then 1.3 KB instead of 1.9 KB on
/// the frames and in the token client that hold one).
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The host, then the path.
    text: String<MAX_URL_LEN>,
    /// Octets of `text` that are the host (at most [`MAX_DOMAIN_LEN`](crate::limits::MAX_DOMAIN_LEN)).
    host_len: u8,
    port: u16,
    tls: bool,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}:{}{}",
            if self.tls { "https" } else { "http" },
            self.host(),
            self.port,
            self.path()
        )
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "[::1]" || host.starts_with("127.")
}

impl Endpoint {
    /// No endpoint yet (no host): only a destination for one.
    const fn blank() -> Self {
        Endpoint {
            text: String::new(),
            host_len: 0,
            port: 0,
            tls: true,
        }
    }

    /// An HTTPS endpoint from its parts (checked).
    pub fn new(host: &str, port: u16, path: &str) -> Result<Self, ProfileError> {
        Self::with_tls(host, port, path, true)
    }

    fn with_tls(host: &str, port: u16, path: &str, tls: bool) -> Result<Self, ProfileError> {
        let mut e = Endpoint::blank();
        e.set(host, port, path, tls)?;
        Ok(e)
    }

    /// [`Endpoint::with_tls`] written into `self` (R-MEM).
    fn set(&mut self, host: &str, port: u16, path: &str, tls: bool) -> Result<(), ProfileError> {
        self.put(UrlParts::checked(host, port, path, tls)?)
    }

    /// Checked parts written into `self` (they fit: see
    /// [`UrlParts::checked`]; if they did not, `self` is left blank).
    fn put(&mut self, p: UrlParts<'_>) -> Result<(), ProfileError> {
        self.text.clear();
        let fits = u8::try_from(p.host.len())
            .ok()
            .filter(|_| self.text.push_str(p.host).is_ok() && self.text.push_str(p.path).is_ok());
        let Some(host_len) = fits else {
            *self = Endpoint::blank();
            return Err(ProfileError::InvalidEndpoint);
        };
        self.host_len = host_len;
        self.port = p.port;
        self.tls = p.tls;
        Ok(())
    }

    /// Parse `https://host[:port][/path]` (or `http://` for a loopback host).
    pub fn parse_url(url: &str) -> Result<Self, ProfileError> {
        let mut e = Endpoint::blank();
        e.set_url(url)?;
        Ok(e)
    }

    /// [`Endpoint::parse_url`] written into `self` (R-MEM).
    fn set_url(&mut self, url: &str) -> Result<(), ProfileError> {
        self.put(UrlParts::parse(url)?)
    }

    /// Host to connect to (and the TLS server name).
    #[must_use]
    pub fn host(&self) -> &str {
        self.text.get(..usize::from(self.host_len)).unwrap_or("")
    }

    /// TCP port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Origin-form path (may carry a query).
    #[must_use]
    pub fn path(&self) -> &str {
        self.text.get(usize::from(self.host_len)..).unwrap_or("")
    }

    /// Whether the connection uses TLS (always, except loopback test servers).
    #[must_use]
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// Write the endpoint as a URL.
    pub fn write_url(&self, w: &mut Writer<'_>) {
        w.push_str(if self.tls { "https://" } else { "http://" });
        w.push_str(self.host());
        if self.port != if self.tls { 443 } else { 80 } {
            w.push_byte(b':');
            w.push_decimal(u64::from(self.port));
        }
        w.push_str(self.path());
    }
}

/// The app registration the printer signs in with.
#[derive(Debug, Clone)]
pub struct AppRegistration {
    client_id: String<MAX_CLIENT_ID_LEN>,
    client_secret: SecretBuf<MAX_CLIENT_SECRET_LEN>,
}

impl AppRegistration {
    /// A public client (no secret), as Microsoft's device and PKCE flows use.
    pub fn public(client_id: &str) -> Result<Self, ProfileError> {
        if client_id.is_empty()
            || !client_id
                .bytes()
                .all(|c| c.is_ascii_graphic() && c != b'&' && c != b'#')
        {
            return Err(ProfileError::InvalidClientId);
        }
        Ok(AppRegistration {
            client_id: String::try_from(client_id).map_err(|_| ProfileError::InvalidClientId)?,
            client_secret: SecretBuf::new(),
        })
    }

    /// [`AppRegistration::public`] written into `self` (R-MEM); the old
    /// secret is wiped. On error `self` is left without a client id.
    pub fn set_public(&mut self, client_id: &str) -> Result<(), ProfileError> {
        self.client_secret.clear();
        self.client_id.clear();
        if client_id.is_empty()
            || !client_id
                .bytes()
                .all(|c| c.is_ascii_graphic() && c != b'&' && c != b'#')
        {
            return Err(ProfileError::InvalidClientId);
        }
        self.client_id
            .push_str(client_id)
            .map_err(|_| ProfileError::InvalidClientId)
    }

    /// A client with a secret; Google's "Desktop app" clients have one that
    /// is not confidential but must be sent to the token endpoint.
    pub fn with_secret(client_id: &str, secret: &[u8]) -> Result<Self, ProfileError> {
        let mut app = Self::public(client_id)?;
        app.client_secret
            .set(secret)
            .map_err(|_| ProfileError::ClientSecretTooLong)?;
        Ok(app)
    }

    /// The client id.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client secret, if any.
    #[must_use]
    pub fn client_secret(&self) -> Option<&SecretBuf<MAX_CLIENT_SECRET_LEN>> {
        (!self.client_secret.is_empty()).then_some(&self.client_secret)
    }
}

/// A Microsoft national or global cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MicrosoftCloud {
    /// Worldwide: `login.microsoftonline.com`, `smtp.office365.com`.
    Global,
    /// US Government GCC High: `login.microsoftonline.us`,
    /// `outlook.office365.us`.
    UsGovGccHigh,
    /// US Government DoD: `login.microsoftonline.us`,
    /// `outlook-dod.office365.us`.
    UsGovDod,
    /// China, operated by 21Vianet: `login.chinacloudapi.cn`,
    /// `partner.outlook.cn`.
    China,
}

impl MicrosoftCloud {
    /// The sign-in host.
    #[must_use]
    pub const fn login_host(self) -> &'static str {
        match self {
            MicrosoftCloud::Global => "login.microsoftonline.com",
            MicrosoftCloud::UsGovGccHigh | MicrosoftCloud::UsGovDod => "login.microsoftonline.us",
            MicrosoftCloud::China => "login.chinacloudapi.cn",
        }
    }

    /// The scope for SMTP submission with a refresh token.
    #[must_use]
    pub const fn smtp_scope(self) -> &'static str {
        match self {
            MicrosoftCloud::Global => "https://outlook.office.com/SMTP.Send offline_access",
            MicrosoftCloud::UsGovGccHigh => "https://outlook.office365.us/SMTP.Send offline_access",
            MicrosoftCloud::UsGovDod => "https://outlook-dod.office365.us/SMTP.Send offline_access",
            MicrosoftCloud::China => "https://partner.outlook.cn/SMTP.Send offline_access",
        }
    }

    /// The cloud's Microsoft Graph host (R-XPORT).
    #[must_use]
    pub const fn graph_host(self) -> &'static str {
        match self {
            MicrosoftCloud::Global => "graph.microsoft.com",
            MicrosoftCloud::UsGovGccHigh => "graph.microsoft.us",
            MicrosoftCloud::UsGovDod => "dod-graph.microsoft.us",
            MicrosoftCloud::China => "microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The scope for Graph with a refresh token (R-XPORT): `Mail.Send`,
    /// and `Mail.ReadWrite` for a message over one `sendMail` request (its
    /// draft and upload sessions).
    #[must_use]
    pub const fn graph_scope(self) -> &'static str {
        match self {
            MicrosoftCloud::Global => {
                "https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.ReadWrite offline_access"
            }
            MicrosoftCloud::UsGovGccHigh => {
                "https://graph.microsoft.us/Mail.Send https://graph.microsoft.us/Mail.ReadWrite offline_access"
            }
            MicrosoftCloud::UsGovDod => {
                "https://dod-graph.microsoft.us/Mail.Send https://dod-graph.microsoft.us/Mail.ReadWrite offline_access"
            }
            MicrosoftCloud::China => {
                "https://microsoftgraph.chinacloudapi.cn/Mail.Send https://microsoftgraph.chinacloudapi.cn/Mail.ReadWrite offline_access"
            }
        }
    }

    /// The scope of app-only sending through Graph (application
    /// permission `Mail.Send`): the Graph resource's `.default`.
    #[must_use]
    pub const fn graph_app_only_scope(self) -> &'static str {
        match self {
            MicrosoftCloud::Global => "https://graph.microsoft.com/.default",
            MicrosoftCloud::UsGovGccHigh => "https://graph.microsoft.us/.default",
            MicrosoftCloud::UsGovDod => "https://dod-graph.microsoft.us/.default",
            MicrosoftCloud::China => "https://microsoftgraph.chinacloudapi.cn/.default",
        }
    }

    /// The scope of app-only sending (client credentials, permission
    /// `SMTP.SendAsApp`): the Exchange Online resource's `.default`.
    #[must_use]
    pub const fn app_only_scope(self) -> &'static str {
        match self {
            MicrosoftCloud::Global => "https://outlook.office365.com/.default",
            MicrosoftCloud::UsGovGccHigh => "https://outlook.office365.us/.default",
            MicrosoftCloud::UsGovDod => "https://outlook-dod.office365.us/.default",
            MicrosoftCloud::China => "https://partner.outlook.cn/.default",
        }
    }

    /// The SMTP submission servers. Only the global one is documented by
    /// Microsoft's SMTP AUTH page; the national clouds' hosts come from
    /// third-party sources (PROVIDERS.md §4) and can be overridden in the
    /// SMTP settings.
    #[must_use]
    pub const fn smtp_servers(self) -> &'static [SmtpServer] {
        match self {
            MicrosoftCloud::Global => &[SmtpServer {
                host: "smtp.office365.com",
                port: 587,
                security: SmtpSecurity::StartTls,
            }],
            MicrosoftCloud::UsGovGccHigh => &[SmtpServer {
                host: "smtp.office365.us",
                port: 587,
                security: SmtpSecurity::StartTls,
            }],
            MicrosoftCloud::UsGovDod => &[SmtpServer {
                host: "outlook-dod.office365.us",
                port: 587,
                security: SmtpSecurity::StartTls,
            }],
            MicrosoftCloud::China => &[SmtpServer {
                host: "smtp.partner.outlook.cn",
                port: 587,
                security: SmtpSecurity::StartTls,
            }],
        }
    }
}

/// Which Microsoft accounts may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tenant<'a> {
    /// Work, school and personal accounts.
    Common,
    /// Work and school accounts only.
    Organizations,
    /// Personal Microsoft accounts only.
    Consumers,
    /// One directory: its GUID or a verified domain (`contoso.onmicrosoft.com`).
    Id(&'a str),
}

impl<'a> Tenant<'a> {
    fn segment(self) -> Result<&'a str, ProfileError> {
        match self {
            Tenant::Common => Ok("common"),
            Tenant::Organizations => Ok("organizations"),
            Tenant::Consumers => Ok("consumers"),
            Tenant::Id(id) => {
                let ok = !id.is_empty()
                    && id.len() <= 64
                    && id
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
                    && !id.starts_with('.');
                if ok {
                    Ok(id)
                } else {
                    Err(ProfileError::InvalidTenant)
                }
            }
        }
    }
}

/// How an SMTP server starts TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SmtpSecurity {
    /// Plain connect, then `STARTTLS` (RFC 3207), usually port 587.
    StartTls,
    /// TLS from the first octet, usually port 465.
    ImplicitTls,
}

/// A provider's SMTP submission server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SmtpServer {
    /// Host name.
    pub host: &'static str,
    /// TCP port.
    pub port: u16,
    /// How TLS starts.
    pub security: SmtpSecurity,
}

const GOOGLE_SMTP: &[SmtpServer] = &[
    SmtpServer {
        host: "smtp.gmail.com",
        port: 587,
        security: SmtpSecurity::StartTls,
    },
    SmtpServer {
        host: "smtp.gmail.com",
        port: 465,
        security: SmtpSecurity::ImplicitTls,
    },
];

/// Which provider a profile is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProviderKind {
    /// Microsoft Entra ID / Microsoft 365.
    Microsoft(MicrosoftCloud),
    /// Google / Gmail / Google Workspace.
    Google,
    /// Any other standards-compliant authorization server.
    Custom,
}

/// Host part of a loopback redirect URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LoopbackHost {
    /// `127.0.0.1` (Google's recommendation).
    Ipv4,
    /// `[::1]`.
    Ipv6,
    /// `localhost` (what Microsoft's app registration portal accepts).
    Localhost,
}

impl LoopbackHost {
    /// The host as written in the URI.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            LoopbackHost::Ipv4 => "127.0.0.1",
            LoopbackHost::Ipv6 => "[::1]",
            LoopbackHost::Localhost => "localhost",
        }
    }
}

/// Explicit endpoints for [`Provider::custom`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomEndpoints<'a> {
    /// Authorization endpoint URL (browser sign-in), if any.
    pub authorize_url: Option<&'a str>,
    /// Token endpoint URL (required).
    pub token_url: &'a str,
    /// Device authorization endpoint URL (RFC 8628), if any.
    pub device_url: Option<&'a str>,
    /// Scope to request (space-separated).
    pub scope: &'a str,
}

/// Endpoints that replace a preset's, for [`Provider::with_overrides`];
/// `None` keeps the preset's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndpointOverrides<'a> {
    /// Token endpoint URL.
    pub token_url: Option<&'a str>,
    /// Device authorization endpoint URL.
    pub device_url: Option<&'a str>,
    /// Authorization endpoint URL (browser sign-in).
    pub authorize_url: Option<&'a str>,
}

/// A provider profile: everything the OAuth client needs to know about the
/// authorization server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    kind: ProviderKind,
    authorize: Option<Endpoint>,
    token: Endpoint,
    device: Option<Endpoint>,
    scope: String<MAX_SCOPE_LEN>,
    /// Whether the tokens are for Graph (R-XPORT): the app-only scope is
    /// then Graph's `.default`, not Exchange Online's.
    graph: bool,
}

impl Provider {
    /// A profile with no endpoint yet (a custom one), to be filled in place
    /// by [`Provider::set_microsoft`], [`Provider::set_google`] or
    /// [`Provider::set_custom`]. Only useful as their destination.
    #[must_use]
    pub const fn blank() -> Self {
        Provider {
            kind: ProviderKind::Custom,
            authorize: None,
            token: Endpoint::blank(),
            device: None,
            scope: String::new(),
            graph: false,
        }
    }

    /// Microsoft Entra ID in `cloud` for `tenant`, with the cloud's SMTP
    /// scope.
    pub fn microsoft(cloud: MicrosoftCloud, tenant: Tenant<'_>) -> Result<Self, ProfileError> {
        let mut p = Provider::blank();
        p.set_microsoft(cloud, tenant)?;
        Ok(p)
    }

    /// Google, with the Gmail scope `https://mail.google.com/`.
    pub fn google() -> Result<Self, ProfileError> {
        let mut p = Provider::blank();
        p.set_google()?;
        Ok(p)
    }

    /// Any standards-compliant server with explicit endpoints.
    pub fn custom(e: &CustomEndpoints<'_>) -> Result<Self, ProfileError> {
        let mut p = Provider::blank();
        p.set_custom(e)?;
        Ok(p)
    }

    /// [`Provider::microsoft`] written into `self`, field by field, so that
    /// no profile (2 KB) is built on the stack and moved (R-MEM). On error
    /// `self` is incomplete: set it again before use.
    pub fn set_microsoft(
        &mut self,
        cloud: MicrosoftCloud,
        tenant: Tenant<'_>,
    ) -> Result<(), ProfileError> {
        build::microsoft(self, cloud, tenant)
    }

    /// The tokens are for Microsoft Graph `sendMail` instead of SMTP
    /// (R-XPORT): Graph's delegated scope replaces the SMTP one, and the
    /// app-only scope is Graph's `.default`. Only for a Microsoft profile.
    pub fn use_graph(&mut self) -> Result<(), ProfileError> {
        build::graph(self)
    }

    /// The tokens are for the Gmail API's send upload instead of SMTP
    /// (R-XPORT): scope `gmail.send`, which Google ranks sensitive, not
    /// restricted like `https://mail.google.com/`. Only for Google.
    pub fn use_gmail_api(&mut self) -> Result<(), ProfileError> {
        build::gmail_api(self)
    }

    /// [`Provider::google`] written into `self` (as
    /// [`Provider::set_microsoft`]).
    pub fn set_google(&mut self) -> Result<(), ProfileError> {
        build::google(self)
    }

    /// [`Provider::custom`] written into `self` (as
    /// [`Provider::set_microsoft`]).
    pub fn set_custom(&mut self, e: &CustomEndpoints<'_>) -> Result<(), ProfileError> {
        build::custom(self, e)
    }

    /// A preset with some of its endpoints replaced (a national cloud, a
    /// gateway, a test tenant): each URL given is checked as a custom
    /// provider's is (`https`, or `http` to a loopback host) and replaces
    /// the preset's; the scope and everything else stay the preset's.
    pub fn with_overrides(mut self, o: &EndpointOverrides<'_>) -> Result<Self, ProfileError> {
        self.apply_overrides(o)?;
        Ok(self)
    }

    /// [`Provider::with_overrides`] in place (R-MEM).
    pub fn apply_overrides(&mut self, o: &EndpointOverrides<'_>) -> Result<(), ProfileError> {
        build::overrides(self, o)
    }

    /// Replace the scope (for example Microsoft's `SMTP.SendAsApp` variant).
    pub fn set_scope(&mut self, scope: &str) -> Result<(), ProfileError> {
        build::ProfileSink::put_scope(self, build::checked_scope(scope)?);
        Ok(())
    }

    /// Which provider this is.
    #[must_use]
    pub fn kind(&self) -> ProviderKind {
        self.kind
    }

    /// The scope requested.
    #[must_use]
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The scope of an app-only token request (client credentials, or a
    /// service account's assertion): Microsoft's cloud's
    /// [`MicrosoftCloud::app_only_scope`] (a client credentials request
    /// names a resource's `.default`, never delegated scopes); for Google
    /// and custom profiles, [`Provider::scope`].
    #[must_use]
    pub fn app_only_scope(&self) -> &str {
        match self.kind {
            ProviderKind::Microsoft(cloud) if self.graph => cloud.graph_app_only_scope(),
            ProviderKind::Microsoft(cloud) => cloud.app_only_scope(),
            _ => &self.scope,
        }
    }

    /// The token endpoint.
    #[must_use]
    pub fn token_endpoint(&self) -> &Endpoint {
        &self.token
    }

    /// The device authorization endpoint, or why there is none.
    pub fn device_endpoint(&self) -> Result<&Endpoint, ProfileError> {
        self.device
            .as_ref()
            .ok_or(ProfileError::DeviceFlowNotSupported)
    }

    /// The authorization endpoint (browser sign-in), or why there is none.
    pub fn authorize_endpoint(&self) -> Result<&Endpoint, ProfileError> {
        self.authorize
            .as_ref()
            .ok_or(ProfileError::AuthCodeNotSupported)
    }

    /// Whether the device flow is available for e-mail.
    #[must_use]
    pub fn supports_device_flow(&self) -> bool {
        self.device.is_some()
    }

    /// The SMTP servers of the provider (empty for custom profiles: the
    /// administrator sets one).
    #[must_use]
    pub fn smtp_servers(&self) -> &'static [SmtpServer] {
        match self.kind {
            ProviderKind::Microsoft(cloud) => cloud.smtp_servers(),
            ProviderKind::Google => GOOGLE_SMTP,
            ProviderKind::Custom => &[],
        }
    }

    /// The loopback host the provider's app registrations accept by default.
    #[must_use]
    pub fn default_loopback(&self) -> LoopbackHost {
        match self.kind {
            ProviderKind::Microsoft(_) => LoopbackHost::Localhost,
            _ => LoopbackHost::Ipv4,
        }
    }

    /// Whether the refresh request repeats the scope. Microsoft recommends
    /// it (the v2 endpoint issues tokens per resource); Google does not need it.
    #[must_use]
    pub fn scope_on_refresh(&self) -> bool {
        !matches!(self.kind, ProviderKind::Google)
    }

    /// Extra authorize-URL parameters the provider needs: Google returns a
    /// refresh token only with `access_type=offline`.
    #[must_use]
    pub fn authorize_extra(&self) -> &'static [(&'static str, &'static str)] {
        match self.kind {
            ProviderKind::Google => &[("access_type", "offline")],
            _ => &[],
        }
    }

    /// A scope the granted scope must include for SMTP to work, when the
    /// provider echoes granted scopes reliably: Google's granular consent
    /// lets a user untick Gmail access.
    #[must_use]
    pub fn required_granted_scope(&self) -> Option<&'static str> {
        match self.kind {
            ProviderKind::Google => Some("https://mail.google.com/"),
            _ => None,
        }
    }

    /// The OpenID Connect scopes a sign-in adds so that the token endpoint
    /// names the account that signed in, in an `id_token` (R-ACCT):
    /// `openid email` for Google (its `email` and `email_verified` claims);
    /// `openid email profile` for Microsoft (`profile` gives
    /// `preferred_username`, `email` the optional `email` claim). None for
    /// a custom profile: its administrator lists `openid` (and `email`) in
    /// the scope if the server supports OpenID Connect.
    #[must_use]
    pub fn openid_scopes(&self) -> &'static str {
        match self.kind {
            ProviderKind::Microsoft(_) => "openid email profile",
            ProviderKind::Google => "openid email",
            ProviderKind::Custom => "",
        }
    }

    /// The scope of a sign-in (device authorization, authorize URL): the
    /// mail scope and [`Provider::openid_scopes`] it does not list yet. The
    /// refresh grant asks for the mail scope alone.
    #[must_use]
    pub fn sign_in_scope(&self) -> String<SIGN_IN_SCOPE_LEN> {
        let mut s = String::new();
        // Fits: SIGN_IN_SCOPE_LEN has room for the scope and every addition.
        let _ = s.push_str(&self.scope);
        for extra in self.openid_scopes().split(' ').filter(|e| !e.is_empty()) {
            if !self.scope.split(' ').any(|have| have == extra) {
                let _ = s.push(' ');
                let _ = s.push_str(extra);
            }
        }
        s
    }
}

/// Capacity of [`Provider::sign_in_scope`]: the longest scope and
/// ` openid email profile`.
pub const SIGN_IN_SCOPE_LEN: usize = MAX_SCOPE_LEN + 21;

#[cfg(test)]
mod tests {
    use super::*;

    fn url(e: &Endpoint) -> std::string::String {
        let mut buf = [0u8; 300];
        let mut w = Writer::new(&mut buf);
        e.write_url(&mut w);
        let n = w.finish().unwrap();
        std::string::String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn microsoft_endpoints_for_each_tenant_and_cloud() {
        let p = Provider::microsoft(MicrosoftCloud::Global, Tenant::Common).unwrap();
        assert_eq!(
            url(p.token_endpoint()),
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
        assert_eq!(
            url(p.device_endpoint().unwrap()),
            "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode"
        );
        assert_eq!(
            url(p.authorize_endpoint().unwrap()),
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
        );
        assert_eq!(
            p.scope(),
            "https://outlook.office.com/SMTP.Send offline_access"
        );
        assert_eq!(
            p.smtp_servers(),
            &[SmtpServer {
                host: "smtp.office365.com",
                port: 587,
                security: SmtpSecurity::StartTls
            }]
        );
        let t = Provider::microsoft(
            MicrosoftCloud::UsGovGccHigh,
            Tenant::Id("72f988bf-86f1-41af-91ab-2d7cd011db47"),
        )
        .unwrap();
        assert_eq!(
            url(t.token_endpoint()),
            "https://login.microsoftonline.us/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"
        );
        assert!(t
            .scope()
            .starts_with("https://outlook.office365.us/SMTP.Send"));
        let cn = Provider::microsoft(MicrosoftCloud::China, Tenant::Organizations).unwrap();
        assert_eq!(cn.token_endpoint().host(), "login.chinacloudapi.cn");
        assert_eq!(
            cn.token_endpoint().path(),
            "/organizations/oauth2/v2.0/token"
        );
        let c = Provider::microsoft(MicrosoftCloud::Global, Tenant::Consumers).unwrap();
        assert_eq!(c.token_endpoint().path(), "/consumers/oauth2/v2.0/token");
        for bad in ["", "a/b", "x y", ".x", &"a".repeat(65)] {
            assert_eq!(
                Provider::microsoft(MicrosoftCloud::Global, Tenant::Id(bad)),
                Err(ProfileError::InvalidTenant)
            );
        }
        assert_eq!(p.default_loopback(), LoopbackHost::Localhost);
        assert!(p.scope_on_refresh());
    }

    #[test]
    fn google_refuses_the_device_flow() {
        let g = Provider::google().unwrap();
        assert_eq!(
            g.device_endpoint(),
            Err(ProfileError::DeviceFlowNotSupported)
        );
        assert_eq!(
            ProfileError::DeviceFlowNotSupported.diag(),
            Id::DeviceFlowNotSupported
        );
        assert!(!g.supports_device_flow());
        assert_eq!(
            url(g.token_endpoint()),
            "https://oauth2.googleapis.com/token"
        );
        assert_eq!(g.scope(), "https://mail.google.com/");
        assert_eq!(g.smtp_servers().len(), 2);
        assert_eq!(g.smtp_servers()[1].port, 465);
        assert_eq!(g.smtp_servers()[1].security, SmtpSecurity::ImplicitTls);
        assert_eq!(g.default_loopback(), LoopbackHost::Ipv4);
        assert!(!g.scope_on_refresh());
    }

    #[test]
    fn custom_profiles_parse_urls() {
        let p = Provider::custom(&CustomEndpoints {
            authorize_url: Some("https://idp.example.com:8443/oauth2/auth"),
            token_url: "https://idp.example.com:8443/oauth2/token?x=1",
            device_url: None,
            scope: "smtp offline_access",
        })
        .unwrap();
        assert_eq!(p.token_endpoint().port(), 8443);
        assert_eq!(p.token_endpoint().path(), "/oauth2/token?x=1");
        assert_eq!(
            url(p.token_endpoint()),
            "https://idp.example.com:8443/oauth2/token?x=1"
        );
        assert_eq!(
            p.device_endpoint(),
            Err(ProfileError::DeviceFlowNotSupported)
        );
        let local = Endpoint::parse_url("http://127.0.0.1:3000/token").unwrap();
        assert!(!local.tls());
        assert_eq!(url(&local), "http://127.0.0.1:3000/token");
        let v6 = Endpoint::parse_url("https://[::1]:9443").unwrap();
        assert_eq!((v6.host(), v6.port(), v6.path()), ("[::1]", 9443, "/"));
        for bad in [
            "http://idp.example.com/token",
            "ftp://x/y",
            "https://user@idp/x",
            "https://idp:99999/x",
            "https:///x",
            "https://idp/a b",
            "https://i\r\ndp/x",
        ] {
            assert_eq!(
                Endpoint::parse_url(bad),
                Err(ProfileError::InvalidEndpoint),
                "{bad}"
            );
        }
        let no_scope = CustomEndpoints {
            authorize_url: None,
            token_url: "https://a/t",
            device_url: None,
            scope: " ",
        };
        assert_eq!(Provider::custom(&no_scope), Err(ProfileError::InvalidScope));
    }

    /// R-MEM: the parts of a URL, borrowed, are what an endpoint parsed
    /// from it holds, and a URL refused for one is refused for the other
    /// (the mail API's target is read this way, without an endpoint).
    #[test]
    fn url_parts_are_the_endpoint_without_the_copy() {
        let long_path = format!("https://h/{}", "p".repeat(MAX_ENDPOINT_PATH_LEN));
        let long_host = format!("https://{}/", "h".repeat(crate::limits::MAX_DOMAIN_LEN + 1));
        // Host and path each within their bounds, not together.
        let long_both = format!(
            "https://{}/{}",
            "h".repeat(crate::limits::MAX_DOMAIN_LEN - 55),
            "p".repeat(MAX_ENDPOINT_PATH_LEN - 1)
        );
        for u in [
            "https://graph.microsoft.com",
            "https://idp.example.com:8443/oauth2/token?x=1",
            "http://127.0.0.1:3000/token",
            "http://localhost/x",
            "https://[::1]:9443",
            "https://[::1]/",
            "http://idp.example.com/token",
            "ftp://x/y",
            "https://user@idp/x",
            "https://idp:99999/x",
            "https://idp:0/x",
            "https:///x",
            "https://idp/a b",
            "https://idp/a#frag",
            "https://i\r\ndp/x",
            &long_path,
            &long_host,
            &long_both,
        ] {
            let parts = UrlParts::parse(u);
            match Endpoint::parse_url(u) {
                Ok(e) => assert_eq!(
                    parts,
                    Ok(UrlParts {
                        host: e.host(),
                        port: e.port(),
                        path: e.path(),
                        tls: e.tls(),
                    }),
                    "{u}"
                ),
                Err(err) => assert_eq!(parts, Err(err), "{u}"),
            }
        }
        assert!(UrlParts::parse("https://graph.microsoft.com").is_ok());
        assert!(UrlParts::parse(&long_path).is_err());
        assert!(UrlParts::parse(&long_both).is_err());
        // The longest an endpoint holds: host and path MAX_URL_LEN together.
        let longest = format!(
            "https://{}/{}",
            "h".repeat(MAX_URL_LEN - MAX_ENDPOINT_PATH_LEN),
            "p".repeat(MAX_ENDPOINT_PATH_LEN - 1)
        );
        let e = Endpoint::parse_url(&longest).unwrap();
        assert_eq!(e.host().len() + e.path().len(), MAX_URL_LEN);
        assert_eq!(url(&e), longest);
    }

    #[test]
    fn app_registrations() {
        let a = AppRegistration::public("00000000-0000-0000-0000-000000000001").unwrap();
        assert!(a.client_secret().is_none());
        let g = AppRegistration::with_secret("123-abc.apps.googleusercontent.com", b"GOCSPX-s")
            .unwrap();
        assert_eq!(g.client_secret().unwrap().expose(), b"GOCSPX-s");
        assert!(!format!("{g:?}").contains("GOCSPX"));
        assert_eq!(
            AppRegistration::public("a b").err(),
            Some(ProfileError::InvalidClientId)
        );
        assert_eq!(
            AppRegistration::public("").err(),
            Some(ProfileError::InvalidClientId)
        );
    }

    // R-PROV, issue 17: a preset takes validated endpoint overrides and
    // keeps the rest (scope, flows' extras); the settings apply them.
    #[test]
    fn presets_take_validated_endpoint_overrides() {
        let ms = Provider::microsoft(MicrosoftCloud::Global, Tenant::Organizations).unwrap();
        let o = EndpointOverrides {
            token_url: Some("https://gateway.example:8443/tenant/token"),
            ..EndpointOverrides::default()
        };
        let p = ms.clone().with_overrides(&o).unwrap();
        assert_eq!(
            url(p.token_endpoint()),
            "https://gateway.example:8443/tenant/token"
        );
        assert_eq!(p.device_endpoint(), ms.device_endpoint());
        assert_eq!(p.authorize_endpoint(), ms.authorize_endpoint());
        assert_eq!(p.scope(), ms.scope());
        assert_eq!(p.kind(), ms.kind());
        assert_eq!(
            ms.clone()
                .with_overrides(&EndpointOverrides::default())
                .unwrap(),
            ms
        );
        for bad in [
            "http://gateway.example/token",
            "ftp://x/y",
            "https://u@h/t",
            "",
        ] {
            let o = EndpointOverrides {
                device_url: Some(bad),
                ..EndpointOverrides::default()
            };
            assert_eq!(
                ms.clone().with_overrides(&o),
                Err(ProfileError::InvalidEndpoint),
                "{bad}"
            );
        }
        let g = Provider::google()
            .unwrap()
            .with_overrides(&EndpointOverrides {
                device_url: Some("http://127.0.0.1:9/device"),
                authorize_url: Some("https://accounts.example/auth"),
                ..EndpointOverrides::default()
            })
            .unwrap();
        assert!(g.supports_device_flow());
        assert_eq!(
            url(g.authorize_endpoint().unwrap()),
            "https://accounts.example/auth"
        );
        assert_eq!(g.scope(), "https://mail.google.com/");

        let mut s = crate::config::Settings {
            provider: crate::config::ProviderKind::Microsoft,
            ..crate::config::Settings::default()
        };
        s.custom.token_url = "https://login.example.us/t/oauth2/v2.0/token"
            .try_into()
            .unwrap();
        let p = s.provider_profile().unwrap();
        assert_eq!(p.token_endpoint().host(), "login.example.us");
        assert_eq!(
            p.device_endpoint().unwrap().host(),
            "login.microsoftonline.com"
        );
        s.custom.token_url = "http://login.example.us/token".try_into().unwrap();
        assert_eq!(s.provider_profile(), Err(ProfileError::InvalidEndpoint));
        s.provider = crate::config::ProviderKind::Google;
        s.custom.token_url = "https://oauth2.example/token".try_into().unwrap();
        assert_eq!(
            s.provider_profile().unwrap().token_endpoint().host(),
            "oauth2.example"
        );
    }
}
