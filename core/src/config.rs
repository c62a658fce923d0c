//! The administrator's OAuth settings and their rules (R-CFG, R-RULE).
//!
//! [`Settings::default`] gives the manual's defaults: OAuth 2.0 **off**,
//! provider **Microsoft**, automatic deletion of user tokens **off**, no
//! administrator address, no SMTP server, no proxy, no VLAN on network 2.
//! Where the manual says "device setting" (sender mode, TLS range, WebDAV
//! HTTP version) the defaults are the ones a printer ships with: the
//! administrator's fixed address, TLS 1.2 to TLS 1.3, HTTP/1.1.
//!
//! [`Settings::validate`] reports **every** violated rule, each as its own
//! [`ConfigError`] with its diagnostic id. [`Settings::apply`] is how the
//! panel changes settings: it refuses invalid settings as a whole and tells
//! the firmware what follows from the change (R-RULE-6: go to the OAuth
//! screen when OAuth was just turned on; tokens that no longer fit the
//! provider or the administrator's account are invalidated).
//!
//! Whether jobs can send also depends on the administrator's token
//! (R-RULE-5): that is a readiness state ([`Settings::readiness`]), not a
//! configuration error, because the administrator acquires the token after
//! saving the settings. That method lives in `token` (`token/readiness.rs`),
//! which knows both: `config` sits below `token` and never imports it.

use core::fmt;
use heapless::String;

use crate::address::Address;
use crate::diag::{Diagnostic, Id};
use crate::limits::{
    MAX_CLIENT_SECRET_LEN, MAX_DOMAIN_LEN, MAX_PROXY_PASSWORD_LEN, MAX_PROXY_USER_LEN, MAX_URL_LEN,
};
use crate::provider::build::{self, ProfileCheck, ProfileSink};
use crate::provider::{
    AppRegistration, CustomEndpoints, EndpointOverrides, MicrosoftCloud, ProfileError, Provider,
    Tenant,
};
use crate::secret::SecretBuf;
use crate::smtp::Security;

pub mod schema;

pub use schema::{
    by_key, field_index, Choice, ChoiceName, Choices, Kind, Nv, SetError, Setting, SettingType,
    Settings, Value, SCHEMA,
};

/// Whether this build includes OAuth 2.0 sending (the cargo feature `oauth`,
/// R-RULE-7). Without it every OAuth entry point answers
/// [`Id::NotAvailable`].
pub const OAUTH_AVAILABLE: bool = cfg!(feature = "oauth");

/// OAuth is left out of this build (R-RULE-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NotAvailable;

impl fmt::Display for NotAvailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Id::NotAvailable, f)
    }
}

impl core::error::Error for NotAvailable {}

impl Diagnostic for NotAvailable {
    fn diag(&self) -> Id {
        Id::NotAvailable
    }
}

/// `Ok(())` when OAuth is built in, otherwise [`NotAvailable`].
pub const fn oauth_available() -> Result<(), NotAvailable> {
    if OAUTH_AVAILABLE {
        Ok(())
    } else {
        Err(NotAvailable)
    }
}

/// A host name or IP literal, as typed by the administrator.
pub type HostName = String<MAX_DOMAIN_LEN>;

/// The OAuth 2.0 provider ([Fournisseur OAuth 2.0]); the full profile
/// (endpoints, scope, flows) is [`Settings::provider_profile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
#[non_exhaustive]
pub enum ProviderKind {
    /// Microsoft 365 / Exchange Online (the default).
    #[default]
    Microsoft = 0,
    /// Google Workspace / Gmail.
    Google = 1,
    /// Any other standards-compliant provider, with the endpoints in
    /// [`Settings::custom`].
    Custom = 2,
}

/// Sender address change ([Changement de l'adresse de l'expéditeur]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
#[non_exhaustive]
pub enum SenderMode {
    /// The logged-in user's address; the user's token.
    LoginUserAddress = 0,
    /// The address the user enters; the user's token for that address.
    AllowUserChanges = 1,
    /// The administrator's address and token (the shipping default).
    #[default]
    AdminFixedAddress = 2,
    /// The bulk-setting address, which must be the administrator's; the
    /// administrator's token.
    BulkSetting = 3,
}

impl SenderMode {
    /// Every mode.
    pub const ALL: [SenderMode; 4] = [
        SenderMode::LoginUserAddress,
        SenderMode::AllowUserChanges,
        SenderMode::AdminFixedAddress,
        SenderMode::BulkSetting,
    ];

    /// Whether jobs of every class sign with the administrator's token, so
    /// that it must be acquired beforehand (R-RULE-5).
    #[must_use]
    pub const fn uses_admin_token(self) -> bool {
        matches!(
            self,
            SenderMode::AdminFixedAddress | SenderMode::BulkSetting
        )
    }
}

/// How the administrator's token is obtained (R-APP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum AdminSignIn {
    /// A person signs in as the administrator's mailbox (device code or
    /// browser) and the refresh token is kept.
    #[default]
    Delegated = 0,
    /// Microsoft app-only: the client credentials grant with a certificate
    /// credential (a client assertion the firmware signs; no refresh
    /// token: the core asks again before the access token ends).
    AppCertificate = 1,
    /// Google Workspace service account with domain-wide delegation: the
    /// JWT bearer grant for the administrator's mailbox, signed by the
    /// firmware.
    ServiceAccount = 2,
    /// App-only with the app registration's client secret (client
    /// credentials; the secret sealed in the image like the proxy
    /// password). Microsoft advises a certificate instead where it can.
    AppSecret = 3,
}

/// How a job's message reaches the provider (R-XPORT): SMTP submission
/// with XOAUTH2 / OAUTHBEARER, or the provider's mail API over HTTPS,
/// which needs no SMTP AUTH on the mailbox or tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Transport {
    /// SMTP submission (the default).
    #[default]
    Smtp = 0,
    /// Microsoft Graph `sendMail` (permission `Mail.Send`).
    Graph = 1,
    /// The Gmail API's `messages.send` upload (scope `gmail.send`).
    GmailApi = 2,
}

impl Transport {
    /// Whether the message goes through a mail API over HTTPS.
    #[must_use]
    pub const fn is_api(self) -> bool {
        !matches!(self, Transport::Smtp)
    }
}

/// The app registration's client secret, for [`AdminSignIn::AppSecret`]:
/// zeroized, redacted, compared in constant time.
#[derive(Clone, Default)]
pub struct ClientSecret(pub SecretBuf<MAX_CLIENT_SECRET_LEN>);

impl PartialEq for ClientSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.0.ct_eq(other.0.expose())
    }
}

impl Eq for ClientSecret {}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// An SSL/TLS protocol version of the device's TLS range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum TlsVersion {
    /// TLS 1.0.
    Tls10 = 0,
    /// TLS 1.1.
    Tls11 = 1,
    /// TLS 1.2.
    Tls12 = 2,
    /// TLS 1.3.
    Tls13 = 3,
}

/// The WebDAV client's HTTP version setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum WebDavHttpVersion {
    /// HTTP/1.1 only (the device default).
    #[default]
    Http11 = 0,
    /// "HTTP/2,HTTP/1.1", which Google needs (R-RULE-3).
    Http2Http11 = 1,
}

/// The SMTP server to submit to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpServer {
    /// Host name or address.
    pub host: HostName,
    /// TCP port.
    pub port: u16,
    /// Transport security.
    pub security: Security,
}

impl SmtpServer {
    /// `host:port` with `security`; `None` if the host name is too long.
    #[must_use]
    pub fn new(host: &str, port: u16, security: Security) -> Option<Self> {
        Some(SmtpServer {
            host: String::try_from(host).ok()?,
            port,
            security,
        })
    }

    /// [`SmtpServer::new`] written into `place` (R-MEM: no server made on
    /// the caller's frame and moved); `false`, and `place` empty, if the
    /// host name is too long.
    pub fn set_in(
        place: &mut Option<SmtpServer>,
        host: &str,
        port: u16,
        security: Security,
    ) -> bool {
        let m = place.insert(SmtpServer {
            host: String::new(),
            port,
            security,
        });
        if m.host.push_str(host).is_err() {
            *place = None;
            return false;
        }
        true
    }
}

/// The HTTP proxy for the token traffic.
#[derive(Debug, Clone)]
pub struct Proxy {
    /// Host name or address.
    pub host: HostName,
    /// TCP port.
    pub port: u16,
    /// User name for `Proxy-Authorization: Basic`, empty for none.
    pub user: String<MAX_PROXY_USER_LEN>,
    /// Password; a secret (redacted in `Debug`, sealed when persisted).
    pub password: SecretBuf<MAX_PROXY_PASSWORD_LEN>,
}

impl PartialEq for Proxy {
    /// The password is compared in constant time.
    fn eq(&self, other: &Self) -> bool {
        self.host == other.host
            && self.port == other.port
            && self.user == other.user
            && self.password.ct_eq(other.password.expose())
    }
}

impl Eq for Proxy {}

/// Endpoints of a custom provider. For Microsoft and Google, whose
/// profiles are built in, the URLs set replace the preset's (a national
/// cloud, a gateway, a test tenant) and the scope is unused.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomProvider {
    /// Token endpoint (`https://…/token`).
    pub token_url: String<MAX_URL_LEN>,
    /// Device authorization endpoint (RFC 8628), empty if none.
    pub device_url: String<MAX_URL_LEN>,
    /// Authorization endpoint for the browser flow, empty if none.
    pub authorize_url: String<MAX_URL_LEN>,
    /// Space-separated scopes to request.
    pub scope: String<MAX_URL_LEN>,
}

/// The default [`Settings::refresh_margin_s`]: 600 s, what Microsoft's High
/// Volume Email asks for at the least.
pub const DEFAULT_REFRESH_MARGIN_S: u16 = 600;
/// The least [`Settings::refresh_margin_s`]: a minute, so that a job that
/// starts just before the renewal still authenticates.
pub const MIN_REFRESH_MARGIN_S: u16 = 60;
/// The most [`Settings::refresh_margin_s`]: half an hour, half the hour an
/// access token usually lives (more would renew it at nearly every job).
pub const MAX_REFRESH_MARGIN_S: u16 = 1800;

/// The default Microsoft tenant: work and school accounts.
pub const DEFAULT_TENANT: &str = "organizations";

/// What a provider profile is made of ([`Settings::profile_parts`]),
/// borrowed: a firmware that only needs the profile (its OAuth client)
/// builds it from these without holding whole [`Settings`] (R-MEM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileParts<'a> {
    /// [`Settings::provider`].
    pub provider: ProviderKind,
    /// [`Settings::microsoft_cloud`].
    pub microsoft_cloud: MicrosoftCloud,
    /// [`Settings::tenant`].
    pub tenant: &'a str,
    /// [`CustomProvider::token_url`] (an override for a preset); empty for none.
    pub token_url: &'a str,
    /// [`CustomProvider::device_url`]; empty for none.
    pub device_url: &'a str,
    /// [`CustomProvider::authorize_url`]; empty for none.
    pub authorize_url: &'a str,
    /// [`CustomProvider::scope`] (custom providers only).
    pub scope: &'a str,
    /// [`Settings::transport`]: a preset's scope follows it (R-XPORT).
    pub transport: Transport,
}

impl ProfileParts<'_> {
    /// The profile these name, written into `p` (see
    /// [`Settings::provider_profile_into`]).
    pub fn profile_into(&self, p: &mut Provider) -> Result<(), ProfileError> {
        self.write_into(p)
    }

    /// Whether the profile these name can be built, and whether it has a
    /// device endpoint, learned without building it: the same steps as
    /// [`ProfileParts::profile_into`], with every endpoint written into the
    /// room of one (R-MEM: not the profile's 1.3 KB on the caller's frame).
    pub fn check(&self) -> (Result<(), ProfileError>, bool) {
        let mut check = ProfileCheck::blank();
        let built = self.write_into(&mut check);
        (built, check.supports_device_flow())
    }

    fn write_into(&self, p: &mut dyn ProfileSink) -> Result<(), ProfileError> {
        fn opt(s: &str) -> Option<&str> {
            (!s.is_empty()).then_some(s)
        }
        // A preset takes the endpoints set as overrides (R-PROV: a
        // national cloud, a gateway, a test tenant); issue 17.
        let overrides = EndpointOverrides {
            token_url: opt(self.token_url),
            device_url: opt(self.device_url),
            authorize_url: opt(self.authorize_url),
        };
        match self.provider {
            ProviderKind::Microsoft => {
                let tenant = match self.tenant {
                    "common" => Tenant::Common,
                    "organizations" => Tenant::Organizations,
                    "consumers" => Tenant::Consumers,
                    id => Tenant::Id(id),
                };
                build::microsoft(p, self.microsoft_cloud, tenant)?;
                if self.transport == Transport::Graph {
                    build::graph(p)?;
                }
                build::overrides(p, &overrides)
            }
            ProviderKind::Google => {
                build::google(p)?;
                if self.transport == Transport::GmailApi {
                    build::gmail_api(p)?;
                }
                build::overrides(p, &overrides)
            }
            ProviderKind::Custom => build::custom(
                p,
                &CustomEndpoints {
                    authorize_url: opt(self.authorize_url),
                    token_url: self.token_url,
                    device_url: opt(self.device_url),
                    scope: self.scope,
                },
            ),
        }
    }
}

/// One violated configuration rule (R-RULE). The discriminant orders the
/// rules in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
#[non_exhaustive]
pub enum ConfigError {
    /// R-RULE-7: OAuth is on but this product has no OAuth.
    NotAvailable = 0,
    /// R-RULE-1: VLAN on network 2 with OAuth on.
    VlanOnNetwork2 = 1,
    /// R-RULE-2: TLS 1.3 minimum and maximum with Microsoft.
    MicrosoftTls13Only = 2,
    /// R-RULE-3: Google without "HTTP/2,HTTP/1.1".
    GoogleNeedsHttp2 = 3,
    /// R-RULE-4: bulk-setting mode with a bulk address that is not the
    /// administrator's (or none).
    BulkAddressMismatch = 4,
    /// TLS minimum above maximum.
    TlsRangeInvalid = 5,
    /// OAuth on without an administrator address.
    AdminAddressMissing = 6,
    /// OAuth on without an SMTP server (or with port 0).
    SmtpServerMissing = 7,
    /// Custom provider without token endpoint, client id, scope or any way
    /// to sign in, or with an endpoint that is not an `https` URL.
    ProviderProfileIncomplete = 8,
    /// The Microsoft tenant is not `common`, `organizations`, `consumers`,
    /// a domain or a tenant id.
    TenantInvalid = 9,
    /// The refresh margin is outside [`MIN_REFRESH_MARGIN_S`] to
    /// [`MAX_REFRESH_MARGIN_S`].
    RefreshMarginInvalid = 10,
    /// App-only sign-in of the administrator without what it needs
    /// ([`AdminSignIn`]).
    AppSignInIncomplete = 11,
    /// R-XPORT: an API transport of another provider (Graph without
    /// Microsoft, the Gmail API without Google; a custom provider takes
    /// either).
    TransportProviderMismatch = 12,
    /// R-XPORT: an API transport with a custom provider and no API URL, or
    /// an API URL that is not `https` (or `http` to a loopback host).
    ApiUrlInvalid = 13,
    /// R-XPORT: a custom provider's scope without the API transport's
    /// permission.
    TransportScopeMissing = 14,
}

impl ConfigError {
    const ALL: [ConfigError; 15] = [
        ConfigError::NotAvailable,
        ConfigError::VlanOnNetwork2,
        ConfigError::MicrosoftTls13Only,
        ConfigError::GoogleNeedsHttp2,
        ConfigError::BulkAddressMismatch,
        ConfigError::TlsRangeInvalid,
        ConfigError::AdminAddressMissing,
        ConfigError::SmtpServerMissing,
        ConfigError::ProviderProfileIncomplete,
        ConfigError::TenantInvalid,
        ConfigError::RefreshMarginInvalid,
        ConfigError::AppSignInIncomplete,
        ConfigError::TransportProviderMismatch,
        ConfigError::ApiUrlInvalid,
        ConfigError::TransportScopeMissing,
    ];

    const fn bit(self) -> u16 {
        1 << (self as u8)
    }
}

impl Diagnostic for ConfigError {
    fn diag(&self) -> Id {
        match self {
            ConfigError::NotAvailable => Id::NotAvailable,
            ConfigError::VlanOnNetwork2 => Id::VlanOnNetwork2,
            ConfigError::MicrosoftTls13Only => Id::MicrosoftTls13Only,
            ConfigError::GoogleNeedsHttp2 => Id::GoogleNeedsHttp2,
            ConfigError::BulkAddressMismatch => Id::BulkAddressMismatch,
            ConfigError::TlsRangeInvalid => Id::TlsRangeInvalid,
            ConfigError::AdminAddressMissing => Id::AdminAddressMissing,
            ConfigError::SmtpServerMissing => Id::SmtpServerMissing,
            ConfigError::ProviderProfileIncomplete => Id::ProviderProfileIncomplete,
            ConfigError::TenantInvalid => Id::BadTenant,
            ConfigError::RefreshMarginInvalid => Id::RefreshMarginInvalid,
            ConfigError::AppSignInIncomplete => Id::AppSignInIncomplete,
            ConfigError::TransportProviderMismatch => Id::TransportProviderMismatch,
            ConfigError::ApiUrlInvalid => Id::ApiUrlInvalid,
            ConfigError::TransportScopeMissing => Id::TransportScopeMissing,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.diag(), f)
    }
}

impl core::error::Error for ConfigError {}

/// The set of rules a configuration violates (empty when valid).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Violations(u16);

impl Violations {
    /// Whether no rule is violated.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of violated rules.
    #[must_use]
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether `rule` is violated.
    #[must_use]
    pub const fn contains(self, rule: ConfigError) -> bool {
        self.0 & rule.bit() != 0
    }

    /// The violated rules, in rule order.
    pub fn iter(self) -> impl Iterator<Item = ConfigError> {
        ConfigError::ALL
            .into_iter()
            .filter(move |rule| self.contains(*rule))
    }

    /// The first violated rule, if any (for a one-line status).
    #[must_use]
    pub fn first(self) -> Option<ConfigError> {
        self.iter().next()
    }

    fn insert(&mut self, rule: ConfigError) {
        self.0 |= rule.bit();
    }
}

impl fmt::Debug for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Display for Violations {
    /// One diagnostic per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rule) in self.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            fmt::Display::fmt(&rule, f)?;
        }
        Ok(())
    }
}

impl core::error::Error for Violations {}

impl Diagnostic for Violations {
    /// The first violated rule's id ([`Id::InvalidArgument`] for an empty set).
    fn diag(&self) -> Id {
        self.first().map_or(Id::InvalidArgument, |rule| rule.diag())
    }
}

/// What a settings change implies, returned by [`Settings::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use]
pub struct Applied {
    /// R-RULE-6: OAuth was just turned on: the panel asks to go to the OAuth
    /// authentication screen.
    pub go_to_oauth_screen: bool,
    /// The administrator's token no longer fits (administrator address,
    /// provider, tenant or client changed): delete it, status Required.
    pub admin_token_invalidated: bool,
    /// Users' tokens no longer fit (provider, tenant or client changed):
    /// delete them.
    pub user_tokens_invalidated: bool,
}

/// Whether jobs can send, from the settings and the administrator's token
/// (R-RULE-5). Not an error: a state the OAuth screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Readiness {
    /// This product has no OAuth (R-RULE-7).
    NotAvailable,
    /// OAuth 2.0 is off: jobs send the way the rest of the SMTP settings say.
    Off,
    /// The settings violate rules; nothing sends with OAuth.
    Invalid(Violations),
    /// Administrator-fixed or bulk mode and the administrator's refresh
    /// token reads Required: the administrator must Acquire first.
    AdminTokenRequired,
    /// The administrator's authentication was cancelled (expired, revoked):
    /// the Information screen warns and Acquire re-authenticates (R-TOK-4).
    AdminReauthNeeded,
    /// Jobs can send. In user modes, users authenticate at send time, and
    /// administrator functions still need the administrator's token.
    Ready,
}

impl Readiness {
    /// The diagnostic to show, `None` when ready.
    #[must_use]
    pub fn diag(self) -> Option<Id> {
        match self {
            Readiness::NotAvailable => Some(Id::NotAvailable),
            Readiness::Off => Some(Id::OAuthOff),
            Readiness::Invalid(v) => Some(v.diag()),
            Readiness::AdminTokenRequired => Some(Id::AdminTokenRequired),
            Readiness::AdminReauthNeeded => Some(Id::AdminReauthNeeded),
            Readiness::Ready => None,
        }
    }
}

impl Settings {
    /// Whether the administrator's token is obtained by the app itself
    /// (app-only or a service account) rather than by a person signing in.
    #[must_use]
    pub fn app_only(&self) -> bool {
        self.admin_sign_in != AdminSignIn::Delegated
    }

    /// Whether the administrator's app-only sign-in has what it needs
    /// (always, for a delegated one).
    fn app_sign_in_complete(&self) -> bool {
        // The app's own registration, on a provider that has the grant (a
        // custom one may have either).
        let app = self.sender_mode.uses_admin_token() && !self.client_id.is_empty();
        let (microsoft, google) = match self.provider {
            ProviderKind::Microsoft => (true, false),
            ProviderKind::Google => (false, true),
            _ => (true, true),
        };
        match self.admin_sign_in {
            AdminSignIn::Delegated => true,
            AdminSignIn::AppCertificate => {
                app && microsoft
                    && crate::oauth::Thumbprint::parse(&self.app_certificate_thumbprint).is_ok()
            }
            AdminSignIn::AppSecret => app && microsoft && !self.app_client_secret.0.is_empty(),
            AdminSignIn::ServiceAccount => app && google && self.service_account.is_some(),
        }
    }

    /// Every rule these settings violate (R-RULE-1..4, R-RULE-7 and the
    /// completeness checks). Rules that concern OAuth apply only while OAuth
    /// is on, so a printer without OAuth keeps any VLAN or TLS setup.
    #[must_use]
    pub fn validate(&self) -> Violations {
        // The rules are checked once the profile check's frame is gone:
        // their own calls (a certificate's thumbprint decoded) do not stack
        // on it (R-MEM).
        self.validate_with(self.profile_outcome().0)
    }

    /// Whether these settings make a provider profile
    /// ([`Settings::provider_profile_into`]), and whether that profile
    /// signs in with the device flow ([`ProfileParts::check`]: the profile
    /// is not built). Not inlined: the check's frame (one endpoint) stays
    /// off its callers' frames (R-MEM).
    #[inline(never)]
    pub fn profile_outcome(&self) -> (Result<(), ProfileError>, bool) {
        self.profile_parts().check()
    }

    /// [`Settings::validate`], given the outcome of building the provider
    /// profile ([`Settings::provider_profile_into`]): a caller that builds
    /// the profile anyway checks the rules without building it twice.
    #[must_use]
    pub fn validate_with(&self, profile: Result<(), ProfileError>) -> Violations {
        let mut v = Violations::default();
        if self.tls_min > self.tls_max {
            v.insert(ConfigError::TlsRangeInvalid);
        }
        if !(MIN_REFRESH_MARGIN_S..=MAX_REFRESH_MARGIN_S).contains(&self.refresh_margin_s) {
            v.insert(ConfigError::RefreshMarginInvalid);
        }
        if !self.oauth_enabled {
            return v;
        }
        if !self.app_sign_in_complete() {
            v.insert(ConfigError::AppSignInIncomplete);
        }
        if !OAUTH_AVAILABLE {
            v.insert(ConfigError::NotAvailable);
        }
        if self.vlan_on_network2 {
            v.insert(ConfigError::VlanOnNetwork2);
        }
        if self.provider == ProviderKind::Microsoft
            && self.tls_min == TlsVersion::Tls13
            && self.tls_max == TlsVersion::Tls13
        {
            v.insert(ConfigError::MicrosoftTls13Only);
        }
        if self.provider == ProviderKind::Google
            && self.webdav_http != WebDavHttpVersion::Http2Http11
        {
            v.insert(ConfigError::GoogleNeedsHttp2);
        }
        if self.sender_mode == SenderMode::BulkSetting {
            let same = match (&self.bulk_address, &self.admin_address) {
                (Some(bulk), Some(admin)) => bulk.same_mailbox(admin),
                _ => false,
            };
            if !same {
                v.insert(ConfigError::BulkAddressMismatch);
            }
        }
        if self.admin_address.is_none() {
            v.insert(ConfigError::AdminAddressMissing);
        }
        match &self.smtp {
            Some(s) if !s.host.is_empty() && s.port != 0 => {}
            // The API transports need no SMTP server (R-XPORT).
            _ if self.transport.is_api() => {}
            _ => v.insert(ConfigError::SmtpServerMissing),
        }
        self.validate_transport(&mut v);
        match profile {
            Err(ProfileError::InvalidTenant) => v.insert(ConfigError::TenantInvalid),
            Err(_) => v.insert(ConfigError::ProviderProfileIncomplete),
            Ok(_) => {}
        }
        if self.provider == ProviderKind::Custom {
            let c = &self.custom;
            if self.client_id.is_empty() || (c.device_url.is_empty() && c.authorize_url.is_empty())
            {
                v.insert(ConfigError::ProviderProfileIncomplete);
            }
        }
        v
    }

    /// The rules of the API transports (R-XPORT).
    fn validate_transport(&self, v: &mut Violations) {
        let fits = match (self.transport, self.provider) {
            (Transport::Smtp, _) => return,
            (_, ProviderKind::Custom)
            | (Transport::Graph, ProviderKind::Microsoft)
            | (Transport::GmailApi, ProviderKind::Google) => true,
            _ => false,
        };
        if !fits {
            v.insert(ConfigError::TransportProviderMismatch);
        }
        let url_ok = if self.api_url.is_empty() {
            self.provider != ProviderKind::Custom
        } else {
            // The token goes to it: TLS always, even on loopback.
            crate::provider::UrlParts::parse(&self.api_url).is_ok_and(|u| u.tls)
        };
        if !url_ok {
            v.insert(ConfigError::ApiUrlInvalid);
        }
        if self.provider == ProviderKind::Custom {
            let scope = self.custom.scope.as_str();
            let has = |needle: &str| {
                scope
                    .split_ascii_whitespace()
                    .any(|s| s.ends_with(needle) || s.eq_ignore_ascii_case(needle))
            };
            let granted = match self.transport {
                Transport::Graph => has("Mail.Send") || has("/.default"),
                _ => has("/auth/gmail.send") || has("https://mail.google.com/"),
            };
            if !granted {
                v.insert(ConfigError::TransportScopeMissing);
            }
        }
    }

    /// The provider profile these settings name (R-PROV): endpoints, scope
    /// and which sign-in flows are allowed, for [`crate::oauth::Client`].
    pub fn provider_profile(&self) -> Result<Provider, ProfileError> {
        let mut p = Provider::blank();
        self.provider_profile_into(&mut p)?;
        Ok(p)
    }

    /// [`Settings::provider_profile`] written into `p`, field by field, so
    /// that no profile (2 KB) is built on the stack and moved (R-MEM). On
    /// error `p` is incomplete: set it again before use.
    pub fn provider_profile_into(&self, p: &mut Provider) -> Result<(), ProfileError> {
        self.profile_parts().profile_into(p)
    }

    /// The settings the provider profile is made of, borrowed.
    #[must_use]
    pub fn profile_parts(&self) -> ProfileParts<'_> {
        ProfileParts {
            provider: self.provider,
            microsoft_cloud: self.microsoft_cloud,
            tenant: &self.tenant,
            token_url: &self.custom.token_url,
            device_url: &self.custom.device_url,
            authorize_url: &self.custom.authorize_url,
            scope: &self.custom.scope,
            transport: self.transport,
        }
    }

    /// The app registration to sign in with: the administrator's client id
    /// when set (a public client), else the vendor's `built_in` one.
    pub fn app_registration(
        &self,
        built_in: &AppRegistration,
    ) -> Result<AppRegistration, ProfileError> {
        if self.client_id.is_empty() {
            Ok(built_in.clone())
        } else if self.admin_sign_in == AdminSignIn::AppSecret {
            // A confidential client: the secret authenticates its requests.
            AppRegistration::with_secret(&self.client_id, self.app_client_secret.0.expose())
        } else {
            AppRegistration::public(&self.client_id)
        }
    }

    /// Replace these settings with `new` if it violates no rule; otherwise
    /// keep the current settings and return every violation. On success,
    /// says what follows (R-RULE-6 and token invalidation).
    pub fn apply(&mut self, mut new: Settings) -> Result<Applied, Violations> {
        self.apply_swap(&mut new)
    }

    /// [`Settings::apply`] with nothing the size of the settings (about
    /// 4 KB) moved (R-MEM): `new` is validated where it lies and, if it
    /// violates no rule, swapped with these settings, so that it then holds
    /// the previous ones (wipe them with [`Settings::reset`]). On error
    /// neither changes.
    pub fn apply_swap(&mut self, new: &mut Settings) -> Result<Applied, Violations> {
        let violations = new.validate();
        if !violations.is_empty() {
            return Err(violations);
        }
        let app_changed = self.provider != new.provider
            || self.microsoft_cloud != new.microsoft_cloud
            || self.tenant != new.tenant
            || self.client_id != new.client_id
            || self.custom != new.custom
            // Another transport asks for another scope (R-XPORT): Google's
            // refresh tokens cover only the scopes granted.
            || self.transport != new.transport;
        let admin_changed = match (&self.admin_address, &new.admin_address) {
            (Some(a), Some(b)) => !a.same_mailbox(b),
            (None, None) => false,
            _ => true,
        };
        let applied = Applied {
            go_to_oauth_screen: new.oauth_enabled && !self.oauth_enabled,
            admin_token_invalidated: app_changed || admin_changed,
            user_tokens_invalidated: app_changed,
        };
        core::mem::swap(self, new);
        Ok(applied)
    }

    /// Whether `from` is on the configured send-as list.
    #[must_use]
    pub fn may_send_as(&self, from: &Address) -> bool {
        self.send_as.iter().any(|a| a.same_mailbox(from))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn addr(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    /// A complete, valid Microsoft setup in `mode`.
    pub(crate) fn valid(mode: SenderMode) -> Settings {
        let mut s = Settings {
            admin_address: Some(addr("admin@contoso.com")),
            oauth_enabled: true,
            smtp: SmtpServer::new("smtp.office365.com", 587, Security::StartTls),
            sender_mode: mode,
            ..Settings::default()
        };
        if mode == SenderMode::BulkSetting {
            s.bulk_address = Some(addr("ADMIN@contoso.com"));
        }
        s
    }

    #[test]
    fn an_smtp_server_is_written_in_place_or_not_at_all() {
        use crate::smtp::Security;
        let mut place = None;
        assert!(SmtpServer::set_in(
            &mut place,
            "smtp.office365.com",
            587,
            Security::StartTls
        ));
        let m = place.as_ref().unwrap();
        assert_eq!(
            (m.host.as_str(), m.port, m.security),
            ("smtp.office365.com", 587, Security::StartTls)
        );
        let long = "h".repeat(MAX_DOMAIN_LEN + 1);
        assert!(!SmtpServer::set_in(
            &mut place,
            &long,
            25,
            Security::StartTls
        ));
        assert!(place.is_none());
    }

    #[test]
    fn defaults_are_the_manuals() {
        // R-CFG: OAuth off, Microsoft, automatic deletion off, nothing set.
        let d = Settings::default();
        assert!(!d.oauth_enabled);
        assert_eq!(d.provider, ProviderKind::Microsoft);
        assert!(!d.auto_delete_user_tokens);
        assert!(!d.vlan_on_network2);
        assert_eq!(d.admin_address, None);
        assert_eq!(d.bulk_address, None);
        assert_eq!(d.smtp, None);
        assert_eq!(d.proxy, None);
        assert!(d.send_as.is_empty());
        assert_eq!(d.tenant.as_str(), DEFAULT_TENANT);
        assert!(d.validate().is_empty());
    }

    #[cfg(feature = "oauth")]
    #[test]
    fn each_rule_is_reported_alone_with_its_diagnostic() {
        // R-RULE-1..4 and the completeness rules, one at a time.
        type Breaker = fn(&mut Settings);
        let cases: [(Breaker, ConfigError, Id); 10] = [
            (
                |s| s.vlan_on_network2 = true,
                ConfigError::VlanOnNetwork2,
                Id::VlanOnNetwork2,
            ),
            (
                |s| {
                    s.tls_min = TlsVersion::Tls13;
                    s.tls_max = TlsVersion::Tls13;
                },
                ConfigError::MicrosoftTls13Only,
                Id::MicrosoftTls13Only,
            ),
            (
                |s| {
                    s.provider = ProviderKind::Google;
                    s.smtp = SmtpServer::new("smtp.gmail.com", 465, Security::ImplicitTls);
                },
                ConfigError::GoogleNeedsHttp2,
                Id::GoogleNeedsHttp2,
            ),
            (
                |s| {
                    s.sender_mode = SenderMode::BulkSetting;
                    s.bulk_address = Some(addr("scans@contoso.com"));
                },
                ConfigError::BulkAddressMismatch,
                Id::BulkAddressMismatch,
            ),
            (
                |s| {
                    s.tls_min = TlsVersion::Tls13;
                    s.tls_max = TlsVersion::Tls12;
                },
                ConfigError::TlsRangeInvalid,
                Id::TlsRangeInvalid,
            ),
            (
                |s| s.admin_address = None,
                ConfigError::AdminAddressMissing,
                Id::AdminAddressMissing,
            ),
            (
                |s| s.smtp = SmtpServer::new("smtp.office365.com", 0, Security::StartTls),
                ConfigError::SmtpServerMissing,
                Id::SmtpServerMissing,
            ),
            (
                |s| {
                    s.provider = ProviderKind::Custom;
                    s.client_id = String::try_from("abc").unwrap();
                    s.custom.token_url = String::try_from("https://id.example/token").unwrap();
                    s.custom.device_url = String::try_from("https://id.example/device").unwrap();
                },
                ConfigError::ProviderProfileIncomplete,
                Id::ProviderProfileIncomplete,
            ),
            (
                |s| {
                    s.provider = ProviderKind::Custom;
                    s.client_id = String::try_from("abc").unwrap();
                    s.custom.token_url = String::try_from("http://id.example/token").unwrap();
                    s.custom.device_url = String::try_from("https://id.example/device").unwrap();
                    s.custom.scope = String::try_from("smtp").unwrap();
                },
                ConfigError::ProviderProfileIncomplete,
                Id::ProviderProfileIncomplete,
            ),
            (
                |s| s.tenant = String::try_from("contoso tenant").unwrap(),
                ConfigError::TenantInvalid,
                Id::BadTenant,
            ),
        ];
        for (breaker, rule, id) in cases {
            let mut s = valid(SenderMode::LoginUserAddress);
            breaker(&mut s);
            let v = s.validate();
            assert_eq!(v.iter().collect::<Vec<_>>(), [rule], "{rule:?}");
            assert_eq!(rule.diag(), id);
            assert_eq!(v.diag(), id);
            assert!(rule.to_string().starts_with(&format!("E{}", id.number())));
        }
    }

    #[cfg(feature = "oauth")]
    #[test]
    fn every_violation_is_reported_at_once() {
        let mut s = valid(SenderMode::BulkSetting);
        s.vlan_on_network2 = true;
        s.tls_min = TlsVersion::Tls13;
        s.tls_max = TlsVersion::Tls13;
        s.bulk_address = None;
        s.smtp = None;
        let v = s.validate();
        assert_eq!(
            v.iter().collect::<Vec<_>>(),
            [
                ConfigError::VlanOnNetwork2,
                ConfigError::MicrosoftTls13Only,
                ConfigError::BulkAddressMismatch,
                ConfigError::SmtpServerMissing
            ]
        );
        assert_eq!(v.len(), 4);
        assert_eq!(v.to_string().lines().count(), 4);
        assert!(v.to_string().contains("E201"));
    }

    #[test]
    fn oauth_rules_do_not_apply_while_oauth_is_off() {
        let mut s = Settings {
            vlan_on_network2: true,
            tls_min: TlsVersion::Tls13,
            provider: ProviderKind::Google,
            sender_mode: SenderMode::BulkSetting,
            ..Settings::default()
        };
        assert!(s.validate().is_empty());
        s.tls_max = TlsVersion::Tls12;
        assert_eq!(s.validate().first(), Some(ConfigError::TlsRangeInvalid));
    }

    #[cfg(feature = "oauth")]
    #[test]
    fn google_with_http2_is_valid_and_tls13_only_is_fine_for_google() {
        let mut s = valid(SenderMode::AdminFixedAddress);
        s.provider = ProviderKind::Google;
        s.webdav_http = WebDavHttpVersion::Http2Http11;
        s.tls_min = TlsVersion::Tls13;
        assert!(s.validate().is_empty(), "{:?}", s.validate());
    }

    #[cfg(feature = "oauth")]
    #[test]
    fn turning_oauth_on_asks_for_the_oauth_screen_once() {
        // R-RULE-6.
        let mut current = Settings::default();
        let applied = current.apply(valid(SenderMode::AdminFixedAddress)).unwrap();
        assert!(applied.go_to_oauth_screen);
        let again = current.apply(valid(SenderMode::AdminFixedAddress)).unwrap();
        assert_eq!(again, Applied::default());
    }

    #[cfg(feature = "oauth")]
    #[test]
    fn invalid_settings_are_refused_whole_and_the_old_ones_kept() {
        let mut current = valid(SenderMode::AdminFixedAddress);
        let mut bad = current.clone();
        bad.vlan_on_network2 = true;
        assert_eq!(
            current.apply(bad).map_err(|v| v.first()),
            Err(Some(ConfigError::VlanOnNetwork2))
        );
        assert!(!current.vlan_on_network2);
    }

    #[cfg(feature = "oauth")]
    #[test]
    fn changes_that_orphan_tokens_are_reported() {
        let mut current = valid(SenderMode::LoginUserAddress);
        let mut other_admin = current.clone();
        other_admin.admin_address = Some(addr("boss@contoso.com"));
        let a = current.apply(other_admin).unwrap();
        assert!(a.admin_token_invalidated && !a.user_tokens_invalidated);
        let mut google = current.clone();
        google.provider = ProviderKind::Google;
        google.webdav_http = WebDavHttpVersion::Http2Http11;
        let a = current.apply(google).unwrap();
        assert!(a.admin_token_invalidated && a.user_tokens_invalidated);
        // Case only: the same mailbox, the token still fits.
        let mut upper = current.clone();
        upper.admin_address = Some(addr("BOSS@CONTOSO.COM"));
        assert_eq!(current.apply(upper).unwrap(), Applied::default());
    }

    #[cfg(not(feature = "oauth"))]
    #[test]
    fn without_the_feature_oauth_cannot_be_turned_on() {
        // R-RULE-7.
        let mut current = Settings::default();
        let v = current
            .apply(valid(SenderMode::AdminFixedAddress))
            .unwrap_err();
        assert!(v.contains(ConfigError::NotAvailable));
        assert_eq!(v.diag(), Id::NotAvailable);
        assert_eq!(oauth_available(), Err(NotAvailable));
    }

    #[test]
    fn the_provider_profile_follows_the_settings() {
        use crate::provider::{MicrosoftCloud, ProviderKind as Kind};
        let mut s = valid(SenderMode::AdminFixedAddress);
        let p = s.provider_profile().unwrap();
        assert_eq!(p.kind(), Kind::Microsoft(MicrosoftCloud::Global));
        assert_eq!(
            p.token_endpoint().path(),
            "/organizations/oauth2/v2.0/token"
        );
        assert!(p.supports_device_flow());
        s.tenant = String::try_from("contoso.onmicrosoft.com").unwrap();
        s.microsoft_cloud = MicrosoftCloud::UsGovGccHigh;
        let p = s.provider_profile().unwrap();
        assert_eq!(p.token_endpoint().host(), "login.microsoftonline.us");
        assert_eq!(
            p.token_endpoint().path(),
            "/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        s.provider = ProviderKind::Google;
        let p = s.provider_profile().unwrap();
        assert_eq!(p.kind(), Kind::Google);
        assert!(!p.supports_device_flow());
        // The administrator's client id wins over the vendor's.
        let built_in = AppRegistration::public("vendor-app").unwrap();
        assert_eq!(
            s.app_registration(&built_in).unwrap().client_id(),
            "vendor-app"
        );
        s.client_id = String::try_from("their-app").unwrap();
        assert_eq!(
            s.app_registration(&built_in).unwrap().client_id(),
            "their-app"
        );
    }

    /// Every field away from its default (R-MEM: `reset` must reach them all).
    fn everything_set() -> Settings {
        let mut s = valid(SenderMode::BulkSetting);
        s.provider = ProviderKind::Custom;
        s.microsoft_cloud = MicrosoftCloud::China;
        s.tenant = String::try_from("contoso.onmicrosoft.com").unwrap();
        s.client_id = String::try_from("their-app").unwrap();
        s.custom.token_url = String::try_from("https://id.example/token").unwrap();
        s.custom.device_url = String::try_from("https://id.example/device").unwrap();
        s.custom.authorize_url = String::try_from("https://id.example/auth").unwrap();
        s.custom.scope = String::try_from("mail").unwrap();
        s.google_app_testing = true;
        s.send_as.push(addr("shared@contoso.com")).unwrap();
        s.proxy = Some(Proxy {
            host: String::try_from("proxy.local").unwrap(),
            port: 3128,
            user: String::try_from("printer").unwrap(),
            password: SecretBuf::from_slice(b"hunter2-proxy").unwrap(),
        });
        s.tls_min = TlsVersion::Tls13;
        s.tls_max = TlsVersion::Tls13;
        s.webdav_http = WebDavHttpVersion::Http2Http11;
        s.vlan_on_network2 = true;
        s.auto_delete_user_tokens = true;
        s
    }

    #[test]
    fn reset_in_place_gives_the_defaults() {
        let mut s = everything_set();
        assert!(!s.is_default());
        s.reset();
        assert_eq!(s, Settings::default());
        assert!(s.is_default());
        assert!(Settings::default().is_default());
    }

    #[test]
    fn is_default_sees_each_setting() {
        let set = everything_set();
        let one = |f: &dyn Fn(&mut Settings, &Settings)| {
            let mut s = Settings::default();
            f(&mut s, &set);
            assert_ne!(s, Settings::default());
            assert!(!s.is_default(), "{s:?}");
        };
        one(&|s, x| s.admin_address.clone_from(&x.admin_address));
        one(&|s, _| s.oauth_enabled = true);
        one(&|s, x| s.provider = x.provider);
        one(&|s, x| s.microsoft_cloud = x.microsoft_cloud);
        one(&|s, x| s.tenant.clone_from(&x.tenant));
        one(&|s, x| s.client_id.clone_from(&x.client_id));
        one(&|s, x| s.custom.token_url.clone_from(&x.custom.token_url));
        one(&|s, x| s.custom.device_url.clone_from(&x.custom.device_url));
        one(&|s, x| s.custom.authorize_url.clone_from(&x.custom.authorize_url));
        one(&|s, x| s.custom.scope.clone_from(&x.custom.scope));
        one(&|s, _| s.google_app_testing = true);
        one(&|s, x| s.smtp.clone_from(&x.smtp));
        one(&|s, x| s.sender_mode = x.sender_mode);
        one(&|s, x| s.bulk_address.clone_from(&x.bulk_address));
        one(&|s, x| s.send_as.clone_from(&x.send_as));
        one(&|s, x| s.proxy.clone_from(&x.proxy));
        one(&|s, x| s.tls_min = x.tls_min);
        one(&|s, _| s.tls_max = TlsVersion::Tls12);
        one(&|s, x| s.webdav_http = x.webdav_http);
        one(&|s, _| s.vlan_on_network2 = true);
        one(&|s, _| s.auto_delete_user_tokens = true);
    }

    #[test]
    fn proxy_password_never_shows_in_debug() {
        let s = Settings {
            proxy: Some(Proxy {
                host: String::try_from("proxy.local").unwrap(),
                port: 3128,
                user: String::try_from("printer").unwrap(),
                password: SecretBuf::from_slice(b"hunter2-proxy").unwrap(),
            }),
            ..Settings::default()
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

#[cfg(test)]
mod profile_check_tests;

#[cfg(test)]
mod margin_tests {
    use super::tests::valid;
    use super::*;

    #[test]
    fn the_refresh_margin_must_be_a_minute_to_half_an_hour() {
        // R-APP: 600 s by default; out of range is refused, OAuth on or off.
        let mut s = valid(SenderMode::AdminFixedAddress);
        assert_eq!(s.refresh_margin_s, DEFAULT_REFRESH_MARGIN_S);
        assert!(!s.validate().contains(ConfigError::RefreshMarginInvalid));
        for (margin, ok) in [
            (59, false),
            (60, true),
            (1800, true),
            (1801, false),
            (0, false),
        ] {
            for oauth in [true, false] {
                s.oauth_enabled = oauth;
                s.refresh_margin_s = margin;
                assert_eq!(
                    !s.validate().contains(ConfigError::RefreshMarginInvalid),
                    ok,
                    "{margin} s, OAuth {oauth}"
                );
            }
        }
        assert_eq!(
            ConfigError::RefreshMarginInvalid.diag(),
            Id::RefreshMarginInvalid
        );
        s.reset();
        assert_eq!(s.refresh_margin_s, DEFAULT_REFRESH_MARGIN_S);
        assert!(s.is_default());
    }
}
