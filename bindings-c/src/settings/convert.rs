//! The C settings read into the core's `Settings` (validated field by
//! field) and written back for the panel.

use heapless::String;
use mfp_oauth_core::config::{
    Choice, ProfileParts, ProviderKind, Proxy, Settings, SmtpServer, Transport, DEFAULT_TENANT,
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

fn provider_kind(v: u32) -> Result<ProviderKind, MfpOauthStatus> {
    Ok(match v {
        0 => ProviderKind::Microsoft,
        1 => ProviderKind::Google,
        2 => ProviderKind::Custom,
        _ => return Err(MfpOauthStatus::InvalidArgument),
    })
}

/// The schema's codes (`mfp_oauth_transport`), as the generated reader
/// checks them.
fn transport(v: u32) -> Result<Transport, MfpOauthStatus> {
    u8::try_from(v)
        .ok()
        .and_then(Transport::from_code)
        .ok_or(MfpOauthStatus::InvalidArgument)
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
        transport: transport(c.transport)?,
    };
    let client_id = fits::<MAX_CLIENT_ID_LEN>(t(&c.client_id)?)?;
    Ok((parts, client_id))
}

/// `s` written into `place` (R-MEM: no string temporary);
/// `CAPACITY_EXCEEDED` when it does not fit.
fn set_fixed<const N: usize>(place: &mut String<N>, s: &str) -> Result<(), MfpOauthStatus> {
    place.clear();
    place
        .push_str(s)
        .map_err(|_| MfpOauthStatus::CapacityExceeded)
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

/// The client secret `c` asks for, written into `s`: its own, or with
/// `app_client_secret_keep` and none given, the one in force in `current`.
///
/// # Safety
/// `c.app_client_secret` is `{NULL, 0}` or valid for its length.
unsafe fn client_secret(
    c: &MfpOauthSettings,
    s: &mut Settings,
    current: Option<&Settings>,
) -> Result<(), MfpOauthStatus> {
    let given = c.app_client_secret.len != 0;
    let secret = if c.app_client_secret_keep && !given {
        current.map_or(&[][..], |cur| cur.app_client_secret.0.expose())
    } else if given {
        // SAFETY: valid for its length (contract).
        unsafe { crate::buf::bytes(c.app_client_secret.ptr.cast(), c.app_client_secret.len) }?
    } else {
        &[][..]
    };
    s.app_client_secret
        .0
        .set(secret)
        .map_err(|_| MfpOauthStatus::CapacityExceeded)
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
    // SAFETY: forwarded contract.
    unsafe { plain_from_c(c, s) }?;
    set_fixed(&mut s.custom.token_url, t(&c.custom_token_url)?)?;
    set_fixed(&mut s.custom.device_url, t(&c.custom_device_url)?)?;
    set_fixed(&mut s.custom.authorize_url, t(&c.custom_authorize_url)?)?;
    set_fixed(&mut s.custom.scope, t(&c.custom_scope)?)?;
    // Each composite setting is written where the settings keep it, not
    // made on this frame and moved (R-MEM: a kilobyte of temporaries under
    // mfp_oauth_mailer_create and _apply_settings).
    let host = t(&c.smtp_host)?;
    let sec = security(c.smtp_security)?;
    s.smtp = None;
    if !host.is_empty() && !SmtpServer::set_in(&mut s.smtp, host, c.smtp_port, sec) {
        return Err(MfpOauthStatus::CapacityExceeded);
    }
    let list = c
        .send_as
        .get(..c.send_as_count)
        .ok_or(MfpOauthStatus::CapacityExceeded)?;
    for a in list {
        Address::push_onto(&mut s.send_as, t(a)?).map_err(|e| match e {
            Some(_) => MfpOauthStatus::InvalidAddress,
            None => MfpOauthStatus::CapacityExceeded,
        })?;
    }
    // SAFETY: the caller's contract for `c`.
    unsafe { client_secret(c, s, current) }?;
    let proxy_host = t(&c.proxy_host)?;
    s.proxy = None;
    if !proxy_host.is_empty() {
        let user = t(&c.proxy_user)?;
        // SAFETY: the caller's contract for `c`.
        let password = unsafe { proxy_password(c, proxy_host, user, current) }?;
        let p = s.proxy.insert(Proxy {
            host: String::new(),
            port: c.proxy_port,
            user: String::new(),
            password,
        });
        set_fixed(&mut p.host, proxy_host)?;
        set_fixed(&mut p.user, user)?;
    }
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
    let mut c = INIT;
    plain_to_c(s, &mut c);
    c.custom_token_url = str_c(&s.custom.token_url);
    c.custom_device_url = str_c(&s.custom.device_url);
    c.custom_authorize_url = str_c(&s.custom.authorize_url);
    c.custom_scope = str_c(&s.custom.scope);
    if let Some(x) = &s.smtp {
        c.smtp_host = str_c(&x.host);
        c.smtp_port = x.port;
        c.smtp_security = match x.security {
            Security::StartTls => 0,
            Security::ImplicitTls => 1,
        };
    }
    for (out, a) in c.send_as.iter_mut().zip(s.send_as.iter()) {
        *out = str_c(a.as_str());
    }
    c.send_as_count = s.send_as.len();
    if let Some(p) = &s.proxy {
        c.proxy_host = str_c(&p.host);
        c.proxy_port = p.port;
        c.proxy_user = str_c(&p.user);
    }
    // Never read back (R-LOG): applying this keeps it instead.
    c.proxy_password = EMPTY;
    c.proxy_password_keep = true;
    c.app_client_secret = EMPTY;
    c.app_client_secret_keep = true;
    c
}

/// The index in the core's settings table of the setting whose field is
/// `$field`, found when the library is compiled (the generated code names
/// each field; the core selects it by its index: R-MEM).
macro_rules! at {
    ($field:literal) => {
        const {
            match mfp_oauth_core::config::field_index($field) {
                Some(index) => index,
                None => panic!(concat!("no setting ", $field)),
            }
        }
    };
}
pub(crate) use at;

/// Writing a plain setting from its C field, by kind (the generated
/// `plain_from_c` calls these); `field` is its index ([`at`]).
pub(crate) mod put {
    use mfp_oauth_core::config::{SetError, Settings, Value};

    use super::opt_text;
    use crate::smtp::MfpOauthStr;
    use crate::MfpOauthStatus;

    fn status(e: SetError) -> MfpOauthStatus {
        match e {
            SetError::TooLong => MfpOauthStatus::CapacityExceeded,
            SetError::InvalidAddress => MfpOauthStatus::InvalidAddress,
            _ => MfpOauthStatus::InvalidArgument,
        }
    }

    pub(crate) fn bool(s: &mut Settings, field: usize, v: bool) -> Result<(), MfpOauthStatus> {
        s.set_value_at(field, Value::Bool(v)).map_err(status)
    }

    /// A value past what the setting's type holds is kept as `max + 1`:
    /// out of the rule's range too, so that the rule reports it with its
    /// own diagnostic.
    pub(crate) fn number(
        s: &mut Settings,
        field: usize,
        v: u32,
        max: u32,
    ) -> Result<(), MfpOauthStatus> {
        match s.set_value_at(field, Value::Number(v)) {
            Err(SetError::OutOfRange) => s
                .set_value_at(field, Value::Number(max.saturating_add(1)))
                .map_err(status),
            r => r.map_err(status),
        }
    }

    pub(crate) fn choice(s: &mut Settings, field: usize, v: u32) -> Result<(), MfpOauthStatus> {
        let code = u8::try_from(v).map_err(|_| MfpOauthStatus::InvalidArgument)?;
        s.set_value_at(field, Value::Choice(code)).map_err(status)
    }

    /// Empty keeps the default (the settings were reset first).
    ///
    /// # Safety
    /// `v` is `{NULL, 0}` or valid for its length.
    pub(crate) unsafe fn text(
        s: &mut Settings,
        field: usize,
        v: &MfpOauthStr,
    ) -> Result<(), MfpOauthStatus> {
        // SAFETY: forwarded contract.
        let t = unsafe { opt_text(v) }?;
        if t.is_empty() {
            return Ok(());
        }
        s.set_value_at(field, Value::Text(t)).map_err(status)
    }

    /// Empty: no address.
    ///
    /// # Safety
    /// `v` is `{NULL, 0}` or valid for its length.
    pub(crate) unsafe fn address(
        s: &mut Settings,
        field: usize,
        v: &MfpOauthStr,
    ) -> Result<(), MfpOauthStatus> {
        // SAFETY: forwarded contract.
        let t = unsafe { opt_text(v) }?;
        // Checked first, for its status (not made: R-MEM).
        if !t.is_empty() {
            mfp_oauth_core::address::Address::check(t)
                .map_err(|_| MfpOauthStatus::InvalidAddress)?;
        }
        s.set_value_at(field, Value::Text(t)).map_err(status)
    }
}

/// Reading a plain setting into its C field, by kind (the generated
/// `plain_to_c` calls these; `field` is its index, [`at`]); a setting of
/// another kind reads as empty.
pub(crate) mod get {
    use mfp_oauth_core::config::{Settings, Value};

    use super::{str_c, EMPTY};
    use crate::smtp::MfpOauthStr;

    pub(crate) fn bool(s: &Settings, field: usize) -> bool {
        matches!(s.value_at(field), Some(Value::Bool(true)))
    }

    pub(crate) fn number(s: &Settings, field: usize) -> u32 {
        match s.value_at(field) {
            Some(Value::Number(n)) => n,
            _ => 0,
        }
    }

    pub(crate) fn choice(s: &Settings, field: usize) -> u32 {
        match s.value_at(field) {
            Some(Value::Choice(c)) => u32::from(c),
            _ => 0,
        }
    }

    /// A text, or an address (`EMPTY` for none); borrows from `s`.
    pub(crate) fn text(s: &Settings, field: usize) -> MfpOauthStr {
        match s.value_at(field) {
            Some(Value::Text(t)) => str_c(t),
            Some(Value::Address(Some(a))) => str_c(a.as_str()),
            _ => EMPTY,
        }
    }
}
