//! `mfp_oauth_mailer_apply_settings` converts the C settings in the
//! caller's draft and swaps them in (R-MEM, issue 15 part 2): the C
//! settings may point anywhere into the settings in force (a
//! `get_settings` result, fields exchanged), and nothing of the settings
//! it staged, a proxy password included, stays behind in the mailer's
//! storage or in the draft.

#![allow(unsafe_code)]

use mfp_oauth::mailer::*;
use mfp_oauth::settings::*;
use mfp_oauth::smtp::MfpOauthStr;
use mfp_oauth::MfpOauthStatus as S;
use std::mem::{size_of, MaybeUninit};
use std::ptr::null_mut;

fn s(v: &'static str) -> MfpOauthStr {
    MfpOauthStr {
        ptr: v.as_ptr().cast(),
        len: v.len(),
    }
}

fn text_of(v: &MfpOauthStr) -> String {
    // SAFETY: the library's strings are valid for their lengths.
    let b = unsafe { std::slice::from_raw_parts(v.ptr.cast::<u8>(), v.len) };
    String::from_utf8(b.to_vec()).unwrap()
}

/// Caller storage, zeroed, on the heap.
fn storage<T>() -> Box<MaybeUninit<T>> {
    Box::new(MaybeUninit::zeroed())
}

/// Whether the storage's octets hold `secret`.
fn holds<T>(p: &MaybeUninit<T>, secret: &str) -> bool {
    // SAFETY: zeroed when made, only written by the library, read as octets.
    let o = unsafe { std::slice::from_raw_parts(p.as_ptr().cast::<u8>(), size_of::<T>()) };
    o.windows(secret.len()).any(|w| w == secret.as_bytes())
}

fn microsoft() -> MfpOauthSettings {
    let mut c = MaybeUninit::<MfpOauthSettings>::uninit();
    // SAFETY: valid for a write of the struct.
    assert_eq!(unsafe { mfp_oauth_settings_init(c.as_mut_ptr()) }, S::Ok);
    // SAFETY: initialised by the call.
    let mut c = unsafe { c.assume_init() };
    c.oauth_enabled = true;
    c.admin_address = s("admin@contoso.com");
    c.smtp_host = s("smtp.office365.com");
    c.smtp_port = 587;
    c.sender_mode = MfpOauthSenderMode::AdminFixedAddress as u32;
    c.send_as[0] = s("scans@contoso.com");
    c.send_as[1] = s("fax@contoso.com");
    c.send_as_count = 2;
    c.proxy_host = s("proxy.contoso.com");
    c.proxy_port = 3128;
    c.proxy_user = s("printer");
    c
}

fn settings_of(m: *const MfpOauthMailer) -> MfpOauthSettings {
    let mut out = MaybeUninit::<MfpOauthSettings>::uninit();
    // SAFETY: a live mailer and a place for the result.
    assert_eq!(
        unsafe { mfp_oauth_mailer_settings(m, out.as_mut_ptr()) },
        S::Ok
    );
    // SAFETY: written by the call.
    unsafe { out.assume_init() }
}

#[test]
#[cfg_attr(miri, ignore = "reads the storage octets of typed values")]
fn settings_pointing_across_the_settings_in_force_apply_as_they_read() {
    let mut store = storage::<MfpOauthMailer>();
    let m = store.as_mut_ptr();
    let mut draft = storage::<MfpOauthSettingsDraft>();
    let d = draft.as_mut_ptr();
    // SAFETY (every call): the storage and locals.
    unsafe {
        assert_eq!(
            mfp_oauth_mailer_create(m, null_mut(), 0, &microsoft()),
            S::Ok
        );
        // The read-back settings with two of their strings exchanged and
        // one copied into another field: each reads the settings in force.
        let mut back = settings_of(m);
        back.send_as.swap(0, 1);
        back.admin_address = back.send_as[0];
        back.proxy_user = back.proxy_host;
        back.proxy_host = s("proxy.fabrikam.com");
        back.proxy_password_keep = false;
        assert_eq!(mfp_oauth_mailer_apply_settings(m, &back, d), S::Ok);
        let now = settings_of(m);
        assert_eq!(text_of(&now.admin_address), "fax@contoso.com");
        assert_eq!(text_of(&now.send_as[0]), "fax@contoso.com");
        assert_eq!(text_of(&now.send_as[1]), "scans@contoso.com");
        assert_eq!(text_of(&now.proxy_host), "proxy.fabrikam.com");
        assert_eq!(text_of(&now.proxy_user), "proxy.contoso.com");
        assert_eq!(mfp_oauth_mailer_destroy(m), S::Ok);
    }
}

#[test]
#[cfg_attr(miri, ignore = "reads the storage octets of typed values")]
fn no_staged_proxy_password_stays_in_the_storage() {
    let mut store = storage::<MfpOauthMailer>();
    let m = store.as_mut_ptr();
    let mut draft = storage::<MfpOauthSettingsDraft>();
    let d = draft.as_mut_ptr();
    let mut c = microsoft();
    c.proxy_password = s("PW-First-7Hq2");
    // SAFETY (every call): the storage and locals.
    unsafe {
        assert_eq!(mfp_oauth_mailer_create(m, null_mut(), 0, &c), S::Ok);
        assert!(holds(&store, "PW-First-7Hq2"));
        // Replaced: the old password is nowhere in the storage.
        let mut next = settings_of(m);
        next.proxy_password = s("PW-Second-3Kx9");
        assert_eq!(mfp_oauth_mailer_apply_settings(m, &next, d), S::Ok);
        assert!(!holds(&store, "PW-First-7Hq2"));
        assert!(holds(&store, "PW-Second-3Kx9"));
        assert!(!holds(&draft, "PW-First-7Hq2") && !holds(&draft, "PW-Second-3Kx9"));
        // Refused (a broken rule): nothing changes and the refused
        // settings' password is not kept either.
        let mut refused = settings_of(m);
        refused.vlan_on_network2 = true;
        refused.proxy_password = s("PW-Refused-5Lm1");
        assert_eq!(
            mfp_oauth_mailer_apply_settings(m, &refused, d),
            S::VlanOnNetwork2
        );
        assert!(!holds(&store, "PW-Refused-5Lm1") && !holds(&draft, "PW-Refused-5Lm1"));
        assert!(holds(&store, "PW-Second-3Kx9"));
        assert!(!settings_of(m).vlan_on_network2);
        // Refused while converting (an address that is not one): the same.
        let mut bad = settings_of(m);
        bad.proxy_password = s("PW-Bad-8Nz4");
        bad.bulk_address = s("not an address");
        assert_eq!(
            mfp_oauth_mailer_apply_settings(m, &bad, d),
            S::InvalidAddress
        );
        assert!(!holds(&store, "PW-Bad-8Nz4") && !holds(&draft, "PW-Bad-8Nz4"));
        assert_eq!(mfp_oauth_mailer_destroy(m), S::Ok);
        assert!(!holds(&store, "PW-Second-3Kx9"));
    }
}
