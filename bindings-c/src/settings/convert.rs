//! The C settings read into the core's `Settings` (validated field by
//! field) and written back for the panel.

use heapless::String;
use mfp_oauth_core::config::{
    ProfileParts, ProviderKind, Proxy, SenderMode, Settings, SmtpServer, TlsVersion,
    WebDavHttpVersion, DEFAULT_TENANT,
};
use mfp_oauth_core::limits::{MAX_CLIENT_ID_LEN, MAX_TENANT_LEN, MAX_URL_LEN};
use mfp_oauth_core::provider::MicrosoftCloud;
use mfp_oauth_core::smtp::Security;
use mfp_oauth_core::{Address, SecretBuf};

use super::*;
use crate::buf::text;
use crate::smtp::MfpOauthStr;
use crate::MfpOauthStatus;

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
    // A value past u16 is out of the rule's range too: the rule reports it.
    s.refresh_margin_s = u16::try_from(c.refresh_margin_s).unwrap_or(u16::MAX);
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
        refresh_margin_s: u32::from(s.refresh_margin_s),
    }
}
