//! The printer's OAuth settings (`mfp_oauth_settings`), as a flat C struct
//! the firmware fills from its own configuration store (R-CFG, R-RULE).
//!
//! This file: the C types, `mfp_oauth_settings_init` and `_validate`.
//! `convert.rs`: reading them into the core's settings and back.

use mfp_oauth_core::config::DEFAULT_REFRESH_MARGIN_S;
use mfp_oauth_core::diag::Diagnostic;

use crate::buf::put;
use crate::call;
use crate::smtp::MfpOauthStr;
use crate::MfpOauthStatus;

mod convert;

pub(crate) use convert::*;

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
/// The settings round-trip: `mfp_oauth_mailer_settings`, change one
/// field, `mfp_oauth_mailer_apply_settings` keeps every other setting,
/// the "Send As" list and the proxy password included (the password is
/// never read back: `mfp_oauth_mailer_settings` sets `proxy_password_keep` instead).
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
    /// first `send_as_count` entries (`mfp_oauth_mailer_settings` fills them too).
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
    /// false removes it. `mfp_oauth_mailer_settings` sets it, so that
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
    /// How long before an access token expires it is renewed, in seconds:
    /// 60 to 1800, default 600 (`mfp_oauth_settings_init`); Microsoft's High
    /// Volume Email refuses a token with less than 600 s left. Out of range
    /// is `MFP_OAUTH_STATUS_REFRESH_MARGIN_INVALID`.
    pub refresh_margin_s: u32,
}

const EMPTY: MfpOauthStr = MfpOauthStr {
    ptr: core::ptr::null(),
    len: 0,
};

/// Fills `*out_settings` with the manual's defaults: OAuth off, Microsoft,
/// tenant `organizations`, administrator fixed address, TLS 1.2 to 1.3,
/// HTTP/1.1, no VLAN, no automatic deletion, SMTP port 587 with STARTTLS,
/// access tokens renewed 600 s before they expire, and every string empty.
/// Reentrant.
///
/// # Safety
/// `out_settings` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_settings_init(
    out_settings: *mut MfpOauthSettings,
) -> MfpOauthStatus {
    call::call(out_settings, || {
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
            refresh_margin_s: u32::from(DEFAULT_REFRESH_MARGIN_S),
        };
        // SAFETY: the caller's contract, as documented above.
        unsafe { put(out_settings, s) }
    })
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
    call::call((settings, out_diags, out_count), || {
        // SAFETY: not NULL, valid (contract).
        let s = try_status!(unsafe { from_c(&*settings) });
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
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use mfp_oauth_core::config::Settings;

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
