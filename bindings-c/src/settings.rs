//! The printer's OAuth settings (`mfp_oauth_settings`), as a flat C struct
//! the firmware fills from its own configuration store (R-CFG, R-RULE).

use heapless::String;
use mfp_oauth_core::config::{
    ProfileParts, ProviderKind, Proxy, SenderMode, Settings, SmtpServer, TlsVersion,
    WebDavHttpVersion, DEFAULT_TENANT,
};
use mfp_oauth_core::diag::Diagnostic;
use mfp_oauth_core::limits::{MAX_CLIENT_ID_LEN, MAX_TENANT_LEN, MAX_URL_LEN};
use mfp_oauth_core::provider::MicrosoftCloud;
use mfp_oauth_core::smtp::Security;
use mfp_oauth_core::{Address, SecretBuf};

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

/// The Microsoft cloud (`mfp_oauth_microsoft_cloud`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthMicrosoftCloud {
    /// Worldwide (the default).
    Global = 0,
    /// US Government GCC High.
    UsGovGccHigh = 1,
    /// US Government DoD.
    UsGovDod = 2,
    /// China, operated by 21Vianet.
    China = 3,
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

/// Entries of `mfp_oauth_settings.send_as` (the "Send As" list).
pub const MFP_OAUTH_MAX_SEND_AS: usize = 4;
const _: () = assert!(MFP_OAUTH_MAX_SEND_AS == mfp_oauth_core::limits::MAX_SEND_AS);

/// The printer's OAuth settings (`mfp_oauth_settings`). Start from
/// `mfp_oauth_settings_init` (the manual's defaults), then set fields.
/// Strings are `mfp_oauth_str` (UTF-8, no NUL needed); `{NULL, 0}` means
/// empty or not set. Everything is copied by the calls that take it.
///
/// The settings round-trip: `mfp_oauth_mailer_get_settings`, change one
/// field, `mfp_oauth_mailer_apply_settings` keeps every other setting,
/// the "Send As" list and the proxy password included (the password is
/// never read back: `get_settings` sets `proxy_password_keep` instead).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthSettings {
    /// The administrator's e-mail address; empty: not set.
    pub admin_address: MfpOauthStr,
    /// OAuth 2.0 on (default off).
    pub oauth_enabled: bool,
    /// An `mfp_oauth_provider` (default Microsoft).
    pub provider: u32,
    /// An `mfp_oauth_microsoft_cloud` (default worldwide).
    pub microsoft_cloud: u32,
    /// Microsoft tenant (`organizations`, `common`, `consumers`, a domain or
    /// a tenant id); empty: `organizations`.
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
    /// From addresses allowed besides the signing account ("Send As"): the
    /// first `send_as_count` entries (`get_settings` fills them too).
    pub send_as: [MfpOauthStr; MFP_OAUTH_MAX_SEND_AS],
    /// Entries in use in `send_as` (0 to `MFP_OAUTH_MAX_SEND_AS`).
    pub send_as_count: usize,
    /// Proxy host for the token traffic; empty: no proxy.
    pub proxy_host: MfpOauthStr,
    /// Proxy port.
    pub proxy_port: u16,
    /// Proxy user name; empty: no credentials.
    pub proxy_user: MfpOauthStr,
    /// Proxy password (a secret: copied into a wiped buffer); never read
    /// back. A non-empty password always replaces the one in force.
    pub proxy_password: MfpOauthStr,
    /// With `proxy_password` empty: true keeps the proxy password in force,
    /// false removes it. `mfp_oauth_mailer_get_settings` sets it, so that
    /// applying its result keeps the password; `mfp_oauth_settings_init`
    /// clears it. The password is kept only for the same proxy host and
    /// user: with either changed, `mfp_oauth_mailer_apply_settings` returns
    /// `MFP_OAUTH_STATUS_INVALID_ARGUMENT` (a password never follows the
    /// settings to another proxy: enter it again, or clear the flag to go
    /// without). Where no password is in force (`mfp_oauth_mailer_create`,
    /// `mfp_oauth_settings_validate`) it means no password.
    pub proxy_password_keep: bool,
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

fn address(s: &str) -> Result<Option<Address>, MfpOauthStatus> {
    if s.is_empty() {
        return Ok(None);
    }
    Address::parse(s)
        .map(Some)
        .map_err(|_| MfpOauthStatus::InvalidAddress)
}

fn provider_kind(v: u32) -> Result<ProviderKind, MfpOauthStatus> {
    Ok(match v {
        0 => ProviderKind::Microsoft,
        1 => ProviderKind::Google,
        2 => ProviderKind::Custom,
        _ => return Err(MfpOauthStatus::InvalidArgument),
    })
}

fn microsoft_cloud(v: u32) -> Result<MicrosoftCloud, MfpOauthStatus> {
    Ok(match v {
        0 => MicrosoftCloud::Global,
        1 => MicrosoftCloud::UsGovGccHigh,
        2 => MicrosoftCloud::UsGovDod,
        3 => MicrosoftCloud::China,
        _ => return Err(MfpOauthStatus::InvalidArgument),
    })
}

/// `s` if it fits a setting of capacity `N` (as [`fixed`] checks it).
fn fits<const N: usize>(s: &str) -> Result<&str, MfpOauthStatus> {
    if s.len() <= N {
        Ok(s)
    } else {
        Err(MfpOauthStatus::CapacityExceeded)
    }
}

/// The provider-profile settings of `c` and its client id, borrowed from
/// `c`'s strings and checked as [`from_c`] checks them, without building
/// whole settings (about 4 KB) on the stack (R-MEM). The other fields of
/// `c` are not read.
///
/// # Safety
/// The strings of `c` read here are valid for their lengths.
pub(crate) unsafe fn profile_parts<'a>(
    c: &'a MfpOauthSettings,
) -> Result<(ProfileParts<'a>, &'a str), MfpOauthStatus> {
    // SAFETY: every string of `c` is valid for its length (caller contract).
    let t = |s: &'a MfpOauthStr| unsafe { opt_text(s) };
    let tenant = t(&c.tenant)?;
    let parts = ProfileParts {
        provider: provider_kind(c.provider)?,
        microsoft_cloud: microsoft_cloud(c.microsoft_cloud)?,
        tenant: if tenant.is_empty() {
            DEFAULT_TENANT
        } else {
            fits::<MAX_TENANT_LEN>(tenant)?
        },
        token_url: fits::<MAX_URL_LEN>(t(&c.custom_token_url)?)?,
        device_url: fits::<MAX_URL_LEN>(t(&c.custom_device_url)?)?,
        authorize_url: fits::<MAX_URL_LEN>(t(&c.custom_authorize_url)?)?,
        scope: fits::<MAX_URL_LEN>(t(&c.custom_scope)?)?,
    };
    let client_id = fits::<MAX_CLIENT_ID_LEN>(t(&c.client_id)?)?;
    Ok((parts, client_id))
}

/// `s` written into `place` (R-MEM: no string temporary), as [`fixed`]
/// checks it.
fn set_fixed<const N: usize>(place: &mut String<N>, s: &str) -> Result<(), MfpOauthStatus> {
    place.clear();
    place
        .push_str(s)
        .map_err(|_| MfpOauthStatus::CapacityExceeded)
}

fn fixed<const N: usize>(s: &str) -> Result<String<N>, MfpOauthStatus> {
    String::try_from(s).map_err(|_| MfpOauthStatus::CapacityExceeded)
}

fn tls(v: u32) -> Result<TlsVersion, MfpOauthStatus> {
    Ok(match v {
        0 => TlsVersion::Tls10,
        1 => TlsVersion::Tls11,
        2 => TlsVersion::Tls12,
        3 => TlsVersion::Tls13,
        _ => return Err(MfpOauthStatus::InvalidArgument),
    })
}

pub(crate) fn security(v: u32) -> Result<Security, MfpOauthStatus> {
    match v {
        0 => Ok(Security::StartTls),
        1 => Ok(Security::ImplicitTls),
        _ => Err(MfpOauthStatus::InvalidArgument),
    }
}

/// Reads and converts the C settings (not yet validated against R-RULE),
/// with no settings in force (`proxy_password_keep` means no password).
///
/// # Safety
/// Every string of `c` (the first `send_as_count` of `send_as` included)
/// is `{NULL, 0}` or valid for its length.
pub(crate) unsafe fn from_c(c: &MfpOauthSettings) -> Result<Settings, MfpOauthStatus> {
    // SAFETY: forwarded contract.
    unsafe { from_c_over(c, None) }
}

/// The proxy password `c` asks for: its own, or with `proxy_password_keep`
/// and no password given, the one in force in `current` (same proxy host
/// and user only).
///
/// # Safety
/// `c.proxy_password` is `{NULL, 0}` or valid for its length.
unsafe fn proxy_password(
    c: &MfpOauthSettings,
    host: &str,
    user: &str,
    current: Option<&Settings>,
) -> Result<SecretBuf<{ mfp_oauth_core::limits::MAX_PROXY_PASSWORD_LEN }>, MfpOauthStatus> {
    let too_long = |_| MfpOauthStatus::CapacityExceeded;
    let given = c.proxy_password.len != 0;
    if c.proxy_password_keep && !given {
        return match current.and_then(|s| s.proxy.as_ref()) {
            Some(old) if old.host.as_str() == host && old.user.as_str() == user => {
                SecretBuf::from_slice(old.password.expose()).map_err(too_long)
            }
            // Never hand the password to another proxy or user.
            Some(old) if !old.password.is_empty() => Err(MfpOauthStatus::InvalidArgument),
            _ => Ok(SecretBuf::new()),
        };
    }
    let pw = if c.proxy_password.ptr.is_null() && c.proxy_password.len == 0 {
        &[][..]
    } else {
        // SAFETY: valid for its length (contract).
        unsafe { crate::buf::bytes(c.proxy_password.ptr.cast(), c.proxy_password.len) }?
    };
    SecretBuf::from_slice(pw).map_err(too_long)
}

/// Reads and converts the C settings (not yet validated against R-RULE);
/// `current` is the settings in force, for `proxy_password_keep`.
///
/// # Safety
/// As for [`from_c`].
// Field by field from the defaults, so that a setting the core adds later
// keeps its default here until the C struct grows.
#[allow(clippy::field_reassign_with_default)]
pub(crate) unsafe fn from_c_over(
    c: &MfpOauthSettings,
    current: Option<&Settings>,
) -> Result<Settings, MfpOauthStatus> {
    let mut s = Settings::default();
    // SAFETY: forwarded contract.
    unsafe { fill(c, &mut s, current) }?;
    Ok(s)
}

/// As [`from_c_over`], written straight into `s` (reset to the defaults
/// first), so that no settings value (about 4 KB) is built on the stack
/// and moved (R-MEM). On error `s` holds a mix: reset it.
///
/// # Safety
/// As for [`from_c`].
pub(crate) unsafe fn fill(
    c: &MfpOauthSettings,
    s: &mut Settings,
    current: Option<&Settings>,
) -> Result<(), MfpOauthStatus> {
    // SAFETY: every string of `c` is valid for its length (caller contract).
    let t = |s: &MfpOauthStr| unsafe { opt_text(s) };
    s.reset();
    s.admin_address = address(t(&c.admin_address)?)?;
    s.oauth_enabled = c.oauth_enabled;
    s.provider = provider_kind(c.provider)?;
    s.microsoft_cloud = microsoft_cloud(c.microsoft_cloud)?;
    let tenant = t(&c.tenant)?;
    if !tenant.is_empty() {
        set_fixed(&mut s.tenant, tenant)?;
    }
    set_fixed(&mut s.client_id, t(&c.client_id)?)?;
    set_fixed(&mut s.custom.token_url, t(&c.custom_token_url)?)?;
    set_fixed(&mut s.custom.device_url, t(&c.custom_device_url)?)?;
    set_fixed(&mut s.custom.authorize_url, t(&c.custom_authorize_url)?)?;
    set_fixed(&mut s.custom.scope, t(&c.custom_scope)?)?;
    s.google_app_testing = c.google_app_testing;
    let host = t(&c.smtp_host)?;
    let sec = security(c.smtp_security)?;
    s.smtp = if host.is_empty() {
        None
    } else {
        Some(SmtpServer::new(host, c.smtp_port, sec).ok_or(MfpOauthStatus::CapacityExceeded)?)
    };
    s.sender_mode = match c.sender_mode {
        0 => SenderMode::LoginUserAddress,
        1 => SenderMode::AllowUserChanges,
        2 => SenderMode::AdminFixedAddress,
        3 => SenderMode::BulkSetting,
        _ => return Err(MfpOauthStatus::InvalidArgument),
    };
    s.bulk_address = address(t(&c.bulk_address)?)?;
    let list = c
        .send_as
        .get(..c.send_as_count)
        .ok_or(MfpOauthStatus::CapacityExceeded)?;
    for a in list {
        let a = address(t(a)?)?.ok_or(MfpOauthStatus::InvalidAddress)?;
        s.send_as
            .push(a)
            .map_err(|_| MfpOauthStatus::CapacityExceeded)?;
    }
    let proxy_host = t(&c.proxy_host)?;
    s.proxy = if proxy_host.is_empty() {
        None
    } else {
        let user = t(&c.proxy_user)?;
        Some(Proxy {
            host: fixed(proxy_host)?,
            port: c.proxy_port,
            user: fixed(user)?,
            // SAFETY: the caller's contract for `c`.
            password: unsafe { proxy_password(c, proxy_host, user, current) }?,
        })
    };
    s.tls_min = tls(c.tls_min)?;
    s.tls_max = tls(c.tls_max)?;
    s.webdav_http = match c.webdav_http {
        0 => WebDavHttpVersion::Http11,
        1 => WebDavHttpVersion::Http2Http11,
        _ => return Err(MfpOauthStatus::InvalidArgument),
    };
    s.vlan_on_network2 = c.vlan_on_network2;
    s.auto_delete_user_tokens = c.auto_delete_user_tokens;
    Ok(())
}

fn str_c(s: &str) -> MfpOauthStr {
    MfpOauthStr {
        ptr: s.as_ptr().cast(),
        len: s.len(),
    }
}

/// The C view of `s`; its strings borrow from `s`.
pub(crate) fn to_c(s: &Settings) -> MfpOauthSettings {
    let addr = |a: &Option<Address>| a.as_ref().map_or(EMPTY, |a| str_c(a.as_str()));
    let (smtp_host, smtp_port, smtp_security) = match &s.smtp {
        Some(x) => (
            str_c(&x.host),
            x.port,
            match x.security {
                Security::StartTls => 0,
                Security::ImplicitTls => 1,
            },
        ),
        None => (EMPTY, 587, 0),
    };
    let (proxy_host, proxy_port, proxy_user) = match &s.proxy {
        Some(p) => (str_c(&p.host), p.port, str_c(&p.user)),
        None => (EMPTY, 0, EMPTY),
    };
    let mut send_as = [EMPTY; MFP_OAUTH_MAX_SEND_AS];
    for (c, a) in send_as.iter_mut().zip(s.send_as.iter()) {
        *c = str_c(a.as_str());
    }
    MfpOauthSettings {
        admin_address: addr(&s.admin_address),
        oauth_enabled: s.oauth_enabled,
        provider: match s.provider {
            ProviderKind::Microsoft => 0,
            ProviderKind::Google => 1,
            _ => 2,
        },
        microsoft_cloud: match s.microsoft_cloud {
            MicrosoftCloud::Global => 0,
            MicrosoftCloud::UsGovGccHigh => 1,
            MicrosoftCloud::UsGovDod => 2,
            MicrosoftCloud::China => 3,
        },
        tenant: str_c(&s.tenant),
        client_id: str_c(&s.client_id),
        custom_token_url: str_c(&s.custom.token_url),
        custom_device_url: str_c(&s.custom.device_url),
        custom_authorize_url: str_c(&s.custom.authorize_url),
        custom_scope: str_c(&s.custom.scope),
        google_app_testing: s.google_app_testing,
        smtp_host,
        smtp_port,
        smtp_security,
        sender_mode: match s.sender_mode {
            SenderMode::LoginUserAddress => 0,
            SenderMode::AllowUserChanges => 1,
            SenderMode::AdminFixedAddress => 2,
            _ => 3,
        },
        bulk_address: addr(&s.bulk_address),
        send_as,
        send_as_count: s.send_as.len(),
        proxy_host,
        proxy_port,
        proxy_user,
        // Never read back (R-LOG): applying this keeps it instead.
        proxy_password: EMPTY,
        proxy_password_keep: true,
        tls_min: s.tls_min as u32,
        tls_max: s.tls_max as u32,
        webdav_http: s.webdav_http as u32,
        vlan_on_network2: s.vlan_on_network2,
        auto_delete_user_tokens: s.auto_delete_user_tokens,
    }
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
        microsoft_cloud: MfpOauthMicrosoftCloud::Global as u32,
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
        send_as: [EMPTY; MFP_OAUTH_MAX_SEND_AS],
        send_as_count: 0,
        proxy_host: EMPTY,
        proxy_port: 0,
        proxy_user: EMPTY,
        proxy_password: EMPTY,
        proxy_password_keep: false,
        tls_min: MfpOauthTlsVersion::Tls12 as u32,
        tls_max: MfpOauthTlsVersion::Tls13 as u32,
        webdav_http: MfpOauthWebdavHttp::Http11 as u32,
        vlan_on_network2: false,
        auto_delete_user_tokens: false,
    };
    // SAFETY: the caller's contract, as documented above.
    unsafe { put(out_settings, s) }
}

/// Checks `settings` against the configuration rules (R-RULE) and writes
/// the diagnostic of every rule broken, in order, to `out_diags` (room for
/// `cap`; 16 is always enough) and their number to `*out_count` (0: the
/// settings are valid). An unreadable field (bad enum value, bad address,
/// too long) is reported as the call's status instead. `BUFFER_TOO_SMALL`
/// with the count needed in `*out_count` when `cap` is too small.
/// Reentrant.
///
/// # Safety
/// `settings` NULL or valid, with its strings valid for their lengths;
/// `out_diags` NULL or valid for `cap` writes; `out_count` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_settings_validate(
    settings: *const MfpOauthSettings,
    out_diags: *mut u32,
    cap: usize,
    out_count: *mut usize,
) -> MfpOauthStatus {
    if settings.is_null() || out_diags.is_null() || out_count.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: not NULL, valid (contract).
    let s = match unsafe { from_c(&*settings) } {
        Ok(s) => s,
        Err(e) => return e,
    };
    let violations = s.validate();
    let n = violations.iter().count();
    if n > cap {
        // SAFETY: not NULL and valid for a write (contract).
        unsafe { out_count.write(n) };
        return MfpOauthStatus::BufferTooSmall;
    }
    for (i, v) in violations.iter().enumerate() {
        // SAFETY: `i < n <= cap` and `out_diags` is valid for `cap` writes.
        unsafe { out_diags.add(i).write(u32::from(v.diag().number())) };
    }
    // SAFETY: not NULL and valid for a write (contract).
    unsafe { put(out_count, n) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn init() -> MfpOauthSettings {
        let mut c = core::mem::MaybeUninit::<MfpOauthSettings>::uninit();
        // SAFETY: a valid pointer to writable memory.
        let status = unsafe { mfp_oauth_settings_init(c.as_mut_ptr()) };
        assert_eq!(status, MfpOauthStatus::Ok);
        // SAFETY: initialised by the call above.
        unsafe { c.assume_init() }
    }

    fn convert(c: &MfpOauthSettings) -> Result<Settings, MfpOauthStatus> {
        // SAFETY: every string of `c` is {NULL, 0}.
        unsafe { from_c(c) }
    }

    #[test]
    fn init_gives_the_cores_defaults() {
        // R-CFG: the C defaults are the manual's, as the core defines them.
        assert_eq!(convert(&init()).unwrap(), Settings::default());
    }

    #[test]
    fn settings_read_back_as_they_were_given() {
        let lit = |s: &'static str| MfpOauthStr {
            ptr: s.as_ptr().cast(),
            len: s.len(),
        };
        let mut c = init();
        c.admin_address = lit("admin@contoso.com");
        c.oauth_enabled = true;
        c.provider = MfpOauthProvider::Google as u32;
        c.microsoft_cloud = MfpOauthMicrosoftCloud::China as u32;
        c.tenant = lit("contoso.onmicrosoft.com");
        c.client_id = lit("1406020730");
        c.custom_token_url = lit("https://server.example.com/token");
        c.smtp_host = lit("smtp.gmail.com");
        c.smtp_port = 465;
        c.smtp_security = 1;
        c.sender_mode = MfpOauthSenderMode::BulkSetting as u32;
        c.bulk_address = lit("admin@contoso.com");
        c.proxy_host = lit("proxy.contoso.com");
        c.proxy_port = 3128;
        c.proxy_user = lit("printer");
        c.tls_min = MfpOauthTlsVersion::Tls13 as u32;
        c.webdav_http = MfpOauthWebdavHttp::Http2Http11 as u32;
        c.auto_delete_user_tokens = true;
        let s = convert(&c).unwrap();
        let back = convert(&to_c(&s)).unwrap();
        assert_eq!(back, s);
        // The proxy password is never read back.
        assert!(to_c(&s).proxy_password.ptr.is_null());
    }

    #[test]
    fn out_of_range_enums_are_refused() {
        let cases: [fn(&mut MfpOauthSettings); 7] = [
            |c| c.microsoft_cloud = 4,
            |c| c.provider = 3,
            |c| c.sender_mode = 4,
            |c| c.tls_min = 4,
            |c| c.tls_max = u32::MAX,
            |c| c.webdav_http = 2,
            |c| c.smtp_security = 2,
        ];
        for set in cases {
            let mut c = init();
            set(&mut c);
            assert_eq!(convert(&c).err(), Some(MfpOauthStatus::InvalidArgument));
        }
    }
}
