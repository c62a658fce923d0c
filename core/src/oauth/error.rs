//! Why an OAuth exchange failed, and which diagnostic each failure maps to.

use core::fmt;

use crate::diag::{Diagnostic, Id};
use crate::provider::ProfileError;
use crate::wire::http::HttpError;
use crate::wire::json::{ErrorCode, JsonError};
use crate::wire::BufferTooSmall;

/// An error response from the provider, reduced to what identifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ProviderError {
    /// The `error` code ([`ErrorCode::Other`] when absent or unknown).
    pub code: ErrorCode,
    /// Microsoft's AADSTS number, when given.
    pub aadsts: Option<u32>,
    /// HTTP status of the response.
    pub status: u16,
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "provider error {} (HTTP {}", self.code, self.status)?;
        if let Some(n) = self.aadsts {
            write!(f, ", AADSTS{n}")?;
        }
        f.write_str(")")
    }
}

impl core::error::Error for ProviderError {}

impl Diagnostic for ProviderError {
    fn diag(&self) -> Id {
        // Microsoft's AADSTS number is more precise than the RFC code.
        let by_aadsts = match self.aadsts {
            Some(7_000_218) => Some(Id::PublicClientFlowsOff),
            Some(65_001) => Some(Id::ConsentMissing),
            Some(90_094 | 90_095) => Some(Id::AdminConsentRequired),
            Some(65_004) => Some(Id::AuthorizationDeclined),
            Some(7_000_112 | 70_001) => Some(Id::AppDisabled),
            Some(50_105) => Some(Id::UserNotAssigned),
            Some(700_082 | 70_008) => Some(Id::RefreshExpiredInactivity),
            Some(50_173 | 70_000) => Some(Id::RefreshRevoked),
            Some(53_003) => Some(Id::ConditionalAccess),
            Some(700_016) => Some(Id::AppNotInTenant),
            Some(90_002) => Some(Id::BadTenant),
            Some(9_001_023) => Some(Id::TenantEndpointRequired),
            Some(70_043) => Some(Id::SignInFrequency),
            Some(70_018) => Some(Id::BadVerificationCode),
            Some(70_019) => Some(Id::DeviceCodeExpired),
            Some(70_011) => Some(Id::InvalidScope),
            // App-only sign-in (issue 18): the certificate credential's
            // signature, the client secret, the assertion's dates.
            Some(700_027) => Some(Id::AssertionSignatureInvalid),
            Some(7_000_215 | 7_000_222) => Some(Id::ClientSecretInvalid),
            Some(700_024) => Some(Id::AssertionTimeRange),
            _ => None,
        };
        if let Some(id) = by_aadsts {
            return id;
        }
        match self.code {
            ErrorCode::InvalidRequest => Id::InvalidRequest,
            ErrorCode::InvalidClient => Id::InvalidClient,
            ErrorCode::InvalidGrant | ErrorCode::InteractionRequired | ErrorCode::LoginRequired => {
                Id::InvalidGrant
            }
            ErrorCode::ConsentRequired => Id::ConsentMissing,
            ErrorCode::UnauthorizedClient => Id::UnauthorizedClient,
            ErrorCode::UnsupportedGrantType | ErrorCode::UnsupportedResponseType => {
                Id::UnsupportedGrantType
            }
            ErrorCode::InvalidScope => Id::InvalidScope,
            ErrorCode::AccessDenied | ErrorCode::AuthorizationDeclined => Id::AuthorizationDeclined,
            ErrorCode::ExpiredToken => Id::DeviceCodeExpired,
            ErrorCode::BadVerificationCode => Id::BadVerificationCode,
            ErrorCode::AdminPolicyEnforced => Id::GoogleAdminPolicy,
            ErrorCode::OrgInternal => Id::GoogleOrgInternal,
            ErrorCode::RateLimitExceeded | ErrorCode::SlowDown => Id::RateLimited,
            ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable => Id::ProviderUnavailable,
            ErrorCode::AuthorizationPending | ErrorCode::Other => match self.status {
                429 => Id::RateLimited,
                500..=599 => Id::ProviderUnavailable,
                _ => Id::OAuthError,
            },
        }
    }
}

/// A failure the driver met while carrying a request (DNS, TCP, TLS, proxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TransportError {
    /// The host name did not resolve.
    Dns,
    /// The TCP connection failed (refused, unreachable).
    Connect,
    /// The TLS handshake failed.
    Tls,
    /// The server and the device have no TLS version in common within the
    /// settings' TLS range (a setting to change, not worth a retry).
    TlsVersion,
    /// The server's certificate did not verify (for a reason other than
    /// the three below).
    Certificate,
    /// The server's certificate has expired or is not valid yet (or the
    /// device's clock is wrong).
    CertificateExpired,
    /// The server's certificate names another host.
    CertificateWrongName,
    /// The server's certificate chains to no trusted root (unknown
    /// authority, self-signed).
    CertificateUntrusted,
    /// The network did not answer in time.
    Timeout,
    /// A read or write failed.
    Io,
    /// The proxy answered `CONNECT` with this non-2xx, non-407 status.
    ProxyRefused {
        /// The proxy's status code.
        status: u16,
    },
    /// The proxy answered `407`.
    ProxyAuthRequired,
}

impl TransportError {
    /// Whether trying again later may succeed.
    #[must_use]
    pub const fn is_transient(self) -> bool {
        match self {
            TransportError::Dns
            | TransportError::Connect
            | TransportError::Tls
            | TransportError::Timeout
            | TransportError::Io => true,
            TransportError::ProxyRefused { status } => status >= 500,
            TransportError::Certificate
            | TransportError::CertificateExpired
            | TransportError::CertificateWrongName
            | TransportError::CertificateUntrusted
            | TransportError::TlsVersion
            | TransportError::ProxyAuthRequired => false,
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Dns => f.write_str("name resolution failed"),
            TransportError::Connect => f.write_str("connection failed"),
            TransportError::Tls => f.write_str("TLS handshake failed"),
            TransportError::TlsVersion => f.write_str("no TLS version in common"),
            TransportError::Certificate => f.write_str("certificate verification failed"),
            TransportError::CertificateExpired => {
                f.write_str("certificate expired or not valid yet")
            }
            TransportError::CertificateWrongName => {
                f.write_str("certificate issued for another name")
            }
            TransportError::CertificateUntrusted => {
                f.write_str("certificate not signed by a trusted authority")
            }
            TransportError::Timeout => f.write_str("network timeout"),
            TransportError::Io => f.write_str("read or write failed"),
            TransportError::ProxyRefused { status } => {
                write!(f, "proxy refused the tunnel ({status})")
            }
            TransportError::ProxyAuthRequired => f.write_str("proxy requires authentication"),
        }
    }
}

impl core::error::Error for TransportError {}

impl Diagnostic for TransportError {
    fn diag(&self) -> Id {
        match self {
            TransportError::Dns => Id::DnsFailed,
            TransportError::Connect => Id::ConnectFailed,
            TransportError::Tls => Id::TlsHandshakeFailed,
            TransportError::TlsVersion => Id::TlsVersionMismatch,
            TransportError::Certificate => Id::CertificateInvalid,
            TransportError::CertificateExpired => Id::CertificateExpired,
            TransportError::CertificateWrongName => Id::CertificateWrongName,
            TransportError::CertificateUntrusted => Id::CertificateUntrusted,
            TransportError::Timeout => Id::NetworkTimeout,
            TransportError::Io => Id::IoError,
            TransportError::ProxyRefused { .. } => Id::ProxyRefused,
            TransportError::ProxyAuthRequired => Id::ProxyAuthRequired,
        }
    }
}

/// Why an OAuth flow failed (or, for a retry, why it is being retried).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum OAuthError {
    /// The provider answered with an error.
    Provider(ProviderError),
    /// The device-authorization endpoint refused the scope with
    /// `invalid_scope` and no AADSTS number: the provider does not allow
    /// this scope in the device flow (Google: "Invalid device flow scope",
    /// for every Gmail scope). The browser sign-in is the way.
    DeviceFlowScopeRefused(ProviderError),
    /// A device-code request (device authorization or a poll) was refused
    /// by a tenant policy that blocks the device code flow (Conditional
    /// Access, AADSTS53003). The same number on a refresh stays
    /// [`OAuthError::Provider`]: there it is not the flow that is refused.
    DeviceFlowBlocked(ProviderError),
    /// An app-only client credentials request refused with
    /// `invalid_client` and no AADSTS number that says more (a standard
    /// server's answer): the app's credential is wrong, the certificate
    /// assertion's (`assertion`) or the client secret's. Not E407's "make
    /// the app a public client".
    AppCredentialRefused {
        /// The answer.
        error: ProviderError,
        /// The request carried a signed assertion (else a client secret).
        assertion: bool,
    },
    /// The HTTP response could not be read.
    Http(HttpError),
    /// The JSON body could not be read.
    Json(JsonError),
    /// A status without an OAuth error body (a proxy's 403, a 302…).
    UnexpectedStatus(u16),
    /// The token is not a Bearer token, so SMTP cannot use it.
    UnsupportedTokenType,
    /// The granted scope lacks the e-mail scope (Google's granular consent).
    ScopeNotGranted,
    /// The device code expired before the user finished.
    DeviceCodeExpired,
    /// The browser did not come back to the loopback redirect in time.
    RedirectTimeout,
    /// The redirect's `state` is not this flow's (refused; the flow waits on).
    StateMismatch,
    /// The redirect carried `error=…`.
    Redirect(ErrorCode),
    /// The redirect had neither `code` nor `error`, or a bad escape.
    RedirectMalformed,
    /// The provider did not answer in time.
    ResponseTimeout,
    /// The driver could not carry the request.
    Transport(TransportError),
    /// The provider profile does not allow this flow.
    Profile(ProfileError),
    /// A buffer lent to the call is too small.
    BufferTooSmall(BufferTooSmall),
    /// The call does not fit the client's current state.
    WrongState,
    /// An argument is empty, out of range or malformed.
    InvalidArgument,
    /// A service account's assertion was refused (RFC 7523 §2.1 grant:
    /// `invalid_grant` for a bad signature, dates or subject;
    /// `unauthorized_client` when domain-wide delegation is missing).
    ServiceAccountRefused(ProviderError),
    /// The signature handed back is longer than
    /// [`MAX_SIGNATURE_LEN`](crate::limits::MAX_SIGNATURE_LEN) octets
    /// (a key above 4096 bits, or not a signature).
    SignatureTooLong,
    /// The firmware's signer failed, or no signature came within
    /// [`SIGNATURE_TIMEOUT`](super::SIGNATURE_TIMEOUT).
    SigningFailed,
    /// The wall clock given to date an assertion is not set (before 2020).
    ClockNotSet,
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OAuthError::Provider(e) => e.fmt(f),
            OAuthError::DeviceFlowScopeRefused(e) => {
                write!(f, "scope refused for the device flow: {e}")
            }
            OAuthError::DeviceFlowBlocked(e) => {
                write!(f, "device code flow blocked by the tenant: {e}")
            }
            OAuthError::AppCredentialRefused { error, .. } => {
                write!(f, "the app's credential was refused: {error}")
            }
            OAuthError::Http(e) => e.fmt(f),
            OAuthError::Json(e) => e.fmt(f),
            OAuthError::UnexpectedStatus(s) => write!(f, "unexpected HTTP status {s}"),
            OAuthError::UnsupportedTokenType => f.write_str("token type is not Bearer"),
            OAuthError::ScopeNotGranted => f.write_str("the e-mail scope was not granted"),
            OAuthError::DeviceCodeExpired => f.write_str("device code expired"),
            OAuthError::RedirectTimeout => f.write_str("browser sign-in timed out"),
            OAuthError::StateMismatch => f.write_str("redirect state mismatch"),
            OAuthError::Redirect(c) => write!(f, "sign-in returned error {c}"),
            OAuthError::RedirectMalformed => f.write_str("malformed redirect"),
            OAuthError::ResponseTimeout => f.write_str("token endpoint did not answer in time"),
            OAuthError::Transport(e) => e.fmt(f),
            OAuthError::Profile(e) => e.fmt(f),
            OAuthError::BufferTooSmall(e) => e.fmt(f),
            OAuthError::WrongState => f.write_str("call not allowed in this state"),
            OAuthError::InvalidArgument => f.write_str("invalid argument"),
            OAuthError::ServiceAccountRefused(e) => {
                write!(f, "service account assertion refused: {e}")
            }
            OAuthError::SignatureTooLong => write!(
                f,
                "signature longer than {} octets",
                crate::limits::MAX_SIGNATURE_LEN
            ),
            OAuthError::SigningFailed => f.write_str("the assertion could not be signed"),
            OAuthError::ClockNotSet => {
                f.write_str("the clock is not set: no assertion can be dated")
            }
        }
    }
}

impl core::error::Error for OAuthError {}

impl Diagnostic for OAuthError {
    fn diag(&self) -> Id {
        match self {
            OAuthError::Provider(e) => e.diag(),
            OAuthError::DeviceFlowScopeRefused(_) => Id::DeviceFlowNotSupported,
            OAuthError::DeviceFlowBlocked(_) => Id::DeviceCodeFlowBlocked,
            OAuthError::AppCredentialRefused {
                assertion: true, ..
            } => Id::AssertionSignatureInvalid,
            OAuthError::AppCredentialRefused { .. } => Id::ClientSecretInvalid,
            OAuthError::Http(e) => e.diag(),
            OAuthError::Json(e) => e.diag(),
            OAuthError::UnexpectedStatus(_) => Id::HttpUnexpectedStatus,
            OAuthError::UnsupportedTokenType => Id::OAuthError,
            OAuthError::ScopeNotGranted => Id::ScopeNotGranted,
            OAuthError::DeviceCodeExpired => Id::DeviceCodeExpired,
            OAuthError::RedirectTimeout => Id::SignInTimedOut,
            OAuthError::StateMismatch => Id::StateMismatch,
            OAuthError::Redirect(code) => match code {
                ErrorCode::AccessDenied => Id::AuthorizationDeclined,
                ErrorCode::AdminPolicyEnforced => Id::GoogleAdminPolicy,
                ErrorCode::OrgInternal => Id::GoogleOrgInternal,
                ErrorCode::InvalidScope => Id::InvalidScope,
                ErrorCode::UnauthorizedClient => Id::UnauthorizedClient,
                ErrorCode::ConsentRequired => Id::ConsentMissing,
                _ => Id::RedirectError,
            },
            OAuthError::RedirectMalformed => Id::RedirectError,
            OAuthError::ResponseTimeout => Id::NetworkTimeout,
            OAuthError::Transport(e) => e.diag(),
            OAuthError::Profile(e) => e.diag(),
            OAuthError::BufferTooSmall(_) => Id::BufferTooSmall,
            OAuthError::WrongState => Id::WrongState,
            OAuthError::InvalidArgument => Id::InvalidArgument,
            OAuthError::ServiceAccountRefused(e) => match e.code {
                ErrorCode::UnauthorizedClient | ErrorCode::AccessDenied => Id::DelegationMissing,
                ErrorCode::InvalidGrant => Id::ServiceAccountRefused,
                _ => e.diag(),
            },
            OAuthError::SignatureTooLong | OAuthError::SigningFailed => Id::SigningFailed,
            OAuthError::ClockNotSet => Id::AssertionTimeRange,
        }
    }
}

impl From<ProfileError> for OAuthError {
    fn from(e: ProfileError) -> Self {
        OAuthError::Profile(e)
    }
}

impl From<BufferTooSmall> for OAuthError {
    fn from(e: BufferTooSmall) -> Self {
        OAuthError::BufferTooSmall(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(code: ErrorCode, aadsts: u32) -> Id {
        ProviderError {
            code,
            aadsts: Some(aadsts),
            status: 400,
        }
        .diag()
    }

    fn plain(code: ErrorCode, status: u16) -> Id {
        ProviderError {
            code,
            aadsts: None,
            status,
        }
        .diag()
    }

    #[test]
    fn microsoft_aadsts_numbers_map_to_their_remedies() {
        assert_eq!(
            ms(ErrorCode::InvalidClient, 7_000_218),
            Id::PublicClientFlowsOff
        );
        assert_eq!(ms(ErrorCode::InvalidGrant, 65_001), Id::ConsentMissing);
        assert_eq!(
            ms(ErrorCode::InvalidGrant, 700_082),
            Id::RefreshExpiredInactivity
        );
        assert_eq!(
            ms(ErrorCode::InvalidGrant, 70_008),
            Id::RefreshExpiredInactivity
        );
        assert_eq!(ms(ErrorCode::InvalidGrant, 50_173), Id::RefreshRevoked);
        assert_eq!(ms(ErrorCode::InvalidGrant, 70_000), Id::RefreshRevoked);
        assert_eq!(ms(ErrorCode::InvalidGrant, 53_003), Id::ConditionalAccess);
        assert_eq!(
            ms(ErrorCode::UnauthorizedClient, 700_016),
            Id::AppNotInTenant
        );
        assert_eq!(ms(ErrorCode::InvalidRequest, 90_002), Id::BadTenant);
        assert_eq!(
            ms(ErrorCode::InvalidRequest, 9_001_023),
            Id::TenantEndpointRequired
        );
        assert_eq!(ms(ErrorCode::InvalidGrant, 70_043), Id::SignInFrequency);
        // Issue 18: the tenant's refusals of the app, each its own id.
        assert_eq!(
            ms(ErrorCode::UnauthorizedClient, 7_000_112),
            Id::AppDisabled
        );
        assert_eq!(ms(ErrorCode::UnauthorizedClient, 70_001), Id::AppDisabled);
        assert_eq!(ms(ErrorCode::InvalidGrant, 50_105), Id::UserNotAssigned);
        assert_eq!(
            ms(ErrorCode::InvalidGrant, 90_094),
            Id::AdminConsentRequired
        );
        assert_eq!(
            ms(ErrorCode::InvalidGrant, 90_095),
            Id::AdminConsentRequired
        );
        assert_eq!(
            ms(ErrorCode::AccessDenied, 65_004),
            Id::AuthorizationDeclined
        );
        // An unknown AADSTS number falls back to the RFC code.
        assert_eq!(ms(ErrorCode::InvalidScope, 1), Id::InvalidScope);
    }

    #[test]
    fn rfc_and_google_codes_map_to_their_remedies() {
        assert_eq!(plain(ErrorCode::InvalidScope, 400), Id::InvalidScope);
        assert_eq!(plain(ErrorCode::InvalidClient, 401), Id::InvalidClient);
        assert_eq!(plain(ErrorCode::InvalidGrant, 400), Id::InvalidGrant);
        assert_eq!(
            plain(ErrorCode::AdminPolicyEnforced, 400),
            Id::GoogleAdminPolicy
        );
        assert_eq!(plain(ErrorCode::OrgInternal, 400), Id::GoogleOrgInternal);
        assert_eq!(plain(ErrorCode::RateLimitExceeded, 403), Id::RateLimited);
        assert_eq!(
            plain(ErrorCode::AccessDenied, 403),
            Id::AuthorizationDeclined
        );
        assert_eq!(
            plain(ErrorCode::AuthorizationDeclined, 400),
            Id::AuthorizationDeclined
        );
        assert_eq!(plain(ErrorCode::ExpiredToken, 400), Id::DeviceCodeExpired);
        assert_eq!(
            plain(ErrorCode::BadVerificationCode, 400),
            Id::BadVerificationCode
        );
        assert_eq!(plain(ErrorCode::Other, 503), Id::ProviderUnavailable);
        assert_eq!(plain(ErrorCode::Other, 429), Id::RateLimited);
        assert_eq!(plain(ErrorCode::Other, 400), Id::OAuthError);
    }

    #[test]
    fn every_oauth_error_has_a_4xx_or_network_or_firmware_diagnostic() {
        let all = [
            OAuthError::UnexpectedStatus(302),
            OAuthError::UnsupportedTokenType,
            OAuthError::ScopeNotGranted,
            OAuthError::DeviceCodeExpired,
            OAuthError::RedirectTimeout,
            OAuthError::StateMismatch,
            OAuthError::Redirect(ErrorCode::AccessDenied),
            OAuthError::RedirectMalformed,
            OAuthError::ResponseTimeout,
            OAuthError::Transport(TransportError::ProxyAuthRequired),
            OAuthError::Profile(ProfileError::DeviceFlowNotSupported),
            OAuthError::Http(HttpError::BadChunk),
            OAuthError::Json(JsonError::Syntax),
            OAuthError::DeviceFlowBlocked(ProviderError {
                code: ErrorCode::InvalidGrant,
                aadsts: Some(53_003),
                status: 400,
            }),
        ];
        for e in all {
            let n = e.diag().number();
            assert!(
                (400..500).contains(&n) || (600..700).contains(&n),
                "{e:?} -> {n}"
            );
            assert!(!format!("{e}").is_empty());
        }
        assert_eq!(
            OAuthError::Profile(ProfileError::DeviceFlowNotSupported).diag(),
            Id::DeviceFlowNotSupported
        );
        assert!(TransportError::Connect.is_transient());
        for e in [
            TransportError::Certificate,
            TransportError::CertificateExpired,
            TransportError::CertificateWrongName,
            TransportError::CertificateUntrusted,
        ] {
            // Trying again meets the same certificate.
            assert!(!e.is_transient(), "{e}");
            assert_eq!(e.diag().actor(), crate::diag::Actor::Network);
        }
        assert!(TransportError::ProxyRefused { status: 502 }.is_transient());
        assert!(!TransportError::ProxyRefused { status: 403 }.is_transient());
    }
}
