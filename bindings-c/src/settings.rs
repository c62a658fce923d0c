//! The printer's OAuth settings (`mfp_oauth_settings`), as a flat C struct
//! the firmware fills from its own configuration store (R-CFG, R-RULE).

use crate::buf::{put, text};
use crate::smtp::MfpOauthStr;
use crate::MfpOauthStatus;

/// The OAuth provider (`mfp_oauth_provider`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthProvider {
    /// Microsoft 365 / Exchange Online (the default).
    Microsoft = 0,
    /// Google Workspace / Gmail.
    Google = 1,
    /// Any other standards-compliant provider, with the `custom_*` endpoints.
    Custom = 2,
}

/// Sender address change (`mfp_oauth_sender_mode`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthSenderMode {
    /// The logged-in user's address; the user's token.
    LoginUserAddress = 0,
    /// The address the user enters; the user's token for that address.
    AllowUserChanges = 1,
    /// The administrator's address and token (the shipping default).
    AdminFixedAddress = 2,
    /// The bulk-setting address (= the administrator's); the administrator's token.
    BulkSetting = 3,
}

/// An SSL/TLS version (`mfp_oauth_tls_version`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthTlsVersion {
    /// TLS 1.0.
    Tls10 = 0,
    /// TLS 1.1.
    Tls11 = 1,
    /// TLS 1.2.
    Tls12 = 2,
    /// TLS 1.3.
    Tls13 = 3,
}

/// The WebDAV client's HTTP version (`mfp_oauth_webdav_http`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthWebdavHttp {
    /// HTTP/1.1 only (the device default).
    Http11 = 0,
    /// "HTTP/2,HTTP/1.1" (Google needs it, R-RULE-3).
    Http2Http11 = 1,
}

/// The printer's OAuth settings (`mfp_oauth_settings`). Start from
/// `mfp_oauth_settings_init` (the manual's defaults), then set fields.
/// Strings are `mfp_oauth_str` (UTF-8, no NUL needed); `{NULL, 0}` means
/// empty or not set. Everything is copied by the calls that take it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthSettings {
    /// The administrator's e-mail address; empty: not set.
    pub admin_address: MfpOauthStr,
    /// OAuth 2.0 on (default off).
    pub oauth_enabled: bool,
    /// An `mfp_oauth_provider` (default Microsoft).
    pub provider: u32,
    /// Microsoft tenant (`organizations`, a domain or a tenant id); empty:
    /// `organizations`.
    pub tenant: MfpOauthStr,
    /// The app registration's client id.
    pub client_id: MfpOauthStr,
    /// Custom provider: token endpoint URL.
    pub custom_token_url: MfpOauthStr,
    /// Custom provider: device authorization endpoint URL, empty if none.
    pub custom_device_url: MfpOauthStr,
    /// Custom provider: authorization endpoint URL, empty if none.
    pub custom_authorize_url: MfpOauthStr,
    /// Custom provider: space-separated scopes.
    pub custom_scope: MfpOauthStr,
    /// The Google app is in "Testing" status (refresh tokens last 7 days).
    pub google_app_testing: bool,
    /// SMTP server host; empty: not set.
    pub smtp_host: MfpOauthStr,
    /// SMTP server port (default 587).
    pub smtp_port: u16,
    /// An `mfp_oauth_smtp_security` (default STARTTLS).
    pub smtp_security: u32,
    /// An `mfp_oauth_sender_mode` (default administrator fixed address).
    pub sender_mode: u32,
    /// Bulk-setting sender address; empty: not set.
    pub bulk_address: MfpOauthStr,
    /// Up to 4 From addresses allowed besides the signing account ("Send As").
    pub send_as: *const MfpOauthStr,
    /// Entries at `send_as` (0 to 4).
    pub send_as_count: usize,
    /// Proxy host for the token traffic; empty: no proxy.
    pub proxy_host: MfpOauthStr,
    /// Proxy port.
    pub proxy_port: u16,
    /// Proxy user name; empty: no credentials.
    pub proxy_user: MfpOauthStr,
    /// Proxy password (a secret: copied into a wiped buffer).
    pub proxy_password: MfpOauthStr,
    /// An `mfp_oauth_tls_version`: minimum (default TLS 1.2).
    pub tls_min: u32,
    /// An `mfp_oauth_tls_version`: maximum (default TLS 1.3).
    pub tls_max: u32,
    /// An `mfp_oauth_webdav_http` (default HTTP/1.1).
    pub webdav_http: u32,
    /// Network 2 with VLAN (default off).
    pub vlan_on_network2: bool,
    /// Automatic deletion of user tokens at logout and auto-reset (default off).
    pub auto_delete_user_tokens: bool,
}

const EMPTY: MfpOauthStr = MfpOauthStr {
    ptr: core::ptr::null(),
    len: 0,
};

/// The string, empty for `{NULL, 0}`.
///
/// # Safety
/// `s.ptr` is NULL or valid for `s.len` bytes.
pub(crate) unsafe fn opt_text<'a>(s: &MfpOauthStr) -> Result<&'a str, MfpOauthStatus> {
    if s.ptr.is_null() && s.len == 0 {
        return Ok("");
    }
    // SAFETY: forwarded contract.
    unsafe { text(s.ptr, s.len) }
}

/// Fills `*out_settings` with the manual's defaults: OAuth off, Microsoft,
/// tenant `organizations`, administrator fixed address, TLS 1.2 to 1.3,
/// HTTP/1.1, no VLAN, no automatic deletion, SMTP port 587 with STARTTLS,
/// and every string empty. Reentrant.
///
/// # Safety
/// `out_settings` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_settings_init(
    out_settings: *mut MfpOauthSettings,
) -> MfpOauthStatus {
    let s = MfpOauthSettings {
        admin_address: EMPTY,
        oauth_enabled: false,
        provider: MfpOauthProvider::Microsoft as u32,
        tenant: EMPTY,
        client_id: EMPTY,
        custom_token_url: EMPTY,
        custom_device_url: EMPTY,
        custom_authorize_url: EMPTY,
        custom_scope: EMPTY,
        google_app_testing: false,
        smtp_host: EMPTY,
        smtp_port: 587,
        smtp_security: 0,
        sender_mode: MfpOauthSenderMode::AdminFixedAddress as u32,
        bulk_address: EMPTY,
        send_as: core::ptr::null(),
        send_as_count: 0,
        proxy_host: EMPTY,
        proxy_port: 0,
        proxy_user: EMPTY,
        proxy_password: EMPTY,
        tls_min: MfpOauthTlsVersion::Tls12 as u32,
        tls_max: MfpOauthTlsVersion::Tls13 as u32,
        webdav_http: MfpOauthWebdavHttp::Http11 as u32,
        vlan_on_network2: false,
        auto_delete_user_tokens: false,
    };
    // SAFETY: the caller's contract, as documented above.
    unsafe { put(out_settings, s) }
}
