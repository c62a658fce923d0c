//! The printer's OAuth settings (`mfp_oauth_settings`), as a flat C struct
//! the firmware fills from its own configuration store (R-CFG, R-RULE).
//!
//! This file: the C types, `mfp_oauth_settings_init` and `_validate`.
//! `convert.rs`: reading them into the core's settings and back.

use mfp_oauth_core::diag::Diagnostic;

use crate::buf::put;
use crate::call;
use crate::smtp::MfpOauthStr;
use crate::MfpOauthStatus;

mod convert;
// Written by the `generated` test from the core's schema, as it writes it.
#[rustfmt::skip]
mod generated;

pub(crate) use convert::*;
pub use generated::*;

/// Entries of `mfp_oauth_settings.send_as` (the "Send As" list).
pub const MFP_OAUTH_MAX_SEND_AS: usize = 4;
const _: () = assert!(MFP_OAUTH_MAX_SEND_AS == mfp_oauth_core::limits::MAX_SEND_AS);

pub(crate) const EMPTY: MfpOauthStr = MfpOauthStr {
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
        let s = INIT;
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
        // Nor the app's client secret: applying the settings read back
        // keeps it; clearing the flag removes it.
        let mut s = s;
        s.app_client_secret.0.set(b"Qx8~app-secret").unwrap();
        let back = to_c(&s);
        assert!(back.app_client_secret.ptr.is_null() && back.app_client_secret_keep);
        // SAFETY: the strings of `back` borrow from `s`, alive here.
        let kept = unsafe { from_c_over(&back, Some(&s)) }.unwrap();
        assert_eq!(kept.app_client_secret.0.expose(), b"Qx8~app-secret");
        let mut cleared = back;
        cleared.app_client_secret_keep = false;
        // SAFETY: as above.
        let gone = unsafe { from_c_over(&cleared, Some(&s)) }.unwrap();
        assert!(gone.app_client_secret.0.is_empty());
    }

    /// Issue 15 item 4: every plain setting of the core's schema reaches
    /// the C struct and comes back, without a line of its own here.
    #[test]
    fn every_plain_setting_of_the_schema_round_trips_through_c() {
        use mfp_oauth_core::config::{Kind, Value, SCHEMA};
        let defaults = Settings::default();
        for setting in SCHEMA {
            let v = match setting.kind {
                Kind::Bool => Value::Bool(true),
                Kind::Number { min, max } => Value::Number((min + max) / 2),
                Kind::Choice(c) => {
                    let current = defaults.value(setting.field);
                    c.names
                        .iter()
                        .map(|n| Value::Choice(n.code))
                        .find(|v| Some(*v) != current)
                        .unwrap()
                }
                Kind::Text { .. } => Value::Text("contoso.example"),
                Kind::Address => Value::Text("someone@contoso.example"),
                Kind::Composite => continue,
            };
            let mut s = Settings::default();
            s.set_value(setting.field, v).unwrap();
            assert_ne!(s, Settings::default(), "{}", setting.field);
            let back = convert(&to_c(&s)).unwrap();
            assert_eq!(back, s, "{}", setting.field);
        }
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
