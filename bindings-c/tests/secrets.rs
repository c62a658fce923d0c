//! The C API shows no secret and leaves none behind (R-LOG, R-FFI, R-NV,
//! R-TOK-5; issue 9 item 5), through its Rust-callable functions.
//!
//! A device-code Acquire with distinctive values (device code, access and
//! refresh tokens, proxy password) through the token client and the
//! mailer: every request not flagged sensitive, the panel's device-code
//! strings, the settings read back, every status name and every
//! diagnostic text (en, fr) hold no 8-octet window of any secret; the
//! image never holds the access token, and sealed it holds none; after
//! `_destroy`, the caller's storage of the token client and of the mailer
//! holds none (read in place: the storage is the test's own, zeroed
//! before use).

use core::ffi::{c_char, CStr};
use mfp_oauth::diag::*;
use mfp_oauth::mailer::*;
use mfp_oauth::settings::*;
use mfp_oauth::smtp::MfpOauthStr;
use mfp_oauth::status::mfp_oauth_status_str;
use mfp_oauth::token_client::*;
use mfp_oauth::MfpOauthStatus;
use std::mem::{size_of, MaybeUninit};

const DEVICE_CODE: &str = "DC-Vq8Lr2Xn5Tb0Mw7K";
const ACCESS: &str = "AT-Hs3Jp9Fc6Gd1Zu4Y";
const REFRESH: &str = "RT-Ke7Oa2Ni5Wl8Qm0E";
const PROXY_PASSWORD: &str = "PW-Bx4Cy9Dz1Ev6Fw3G";
const SECRETS: [&str; 4] = [DEVICE_CODE, ACCESS, REFRESH, PROXY_PASSWORD];

fn leak(text: &[u8]) -> Option<String> {
    SECRETS.iter().find_map(|s| {
        s.as_bytes()
            .windows(8)
            .find(|w| text.windows(8).any(|t| t == *w))
            .map(|w| String::from_utf8_lossy(w).into_owned())
    })
}

fn assert_clean(what: &str, text: &[u8]) {
    assert_eq!(
        leak(text),
        None,
        "{what}: {}",
        String::from_utf8_lossy(text)
    );
}

fn s(v: &'static str) -> MfpOauthStr {
    MfpOauthStr {
        ptr: v.as_ptr().cast(),
        len: v.len(),
    }
}

fn http(json: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
        json.len()
    )
}

/// Caller storage, zeroed, on the heap (the objects are tens of KB).
fn storage<T>() -> Box<MaybeUninit<T>> {
    Box::new(MaybeUninit::zeroed())
}

/// The octets of the caller's storage.
fn octets<T>(p: &MaybeUninit<T>) -> &[u8] {
    // SAFETY: the storage was zeroed when made and is only ever written by
    // the library; it is read as plain octets, never as a `T`.
    unsafe { std::slice::from_raw_parts(p.as_ptr().cast::<u8>(), size_of::<T>()) }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "reads the storage octets a typed value with padding was written to"
)]
fn the_c_api_shows_no_secret_and_wipes_what_it_destroys() {
    // SAFETY (whole test): every pointer passed is valid for the call, as
    // each function's contract asks.
    unsafe {
        let mut settings = MaybeUninit::<MfpOauthSettings>::zeroed();
        assert_eq!(
            mfp_oauth_settings_init(settings.as_mut_ptr()),
            MfpOauthStatus::Ok
        );
        let mut settings = settings.assume_init();
        settings.oauth_enabled = true;
        settings.tenant = s("contoso.onmicrosoft.com");
        settings.client_id = s("4f1c3b2a-9d8e-4c7b-a6f5-0e1d2c3b4a59");
        settings.admin_address = s("admin@contoso.com");
        settings.smtp_host = s("smtp.office365.com");
        settings.proxy_host = s("proxy.contoso.local");
        settings.proxy_port = 3128;
        settings.proxy_user = s("mfp");
        settings.proxy_password = s(PROXY_PASSWORD);

        let mut mailer = storage::<MfpOauthMailer>();
        let mut users = storage::<[MfpOauthUserSlot; MFP_OAUTH_MAX_USER_SLOTS]>();
        assert_eq!(
            mfp_oauth_mailer_create(
                mailer.as_mut_ptr(),
                users.as_mut_ptr().cast(),
                MFP_OAUTH_MAX_USER_SLOTS,
                &settings
            ),
            MfpOauthStatus::Ok
        );
        let mut tc = storage::<MfpOauthTokenClient>();
        assert_eq!(
            mfp_oauth_token_client_create(tc.as_mut_ptr(), &settings, 7),
            MfpOauthStatus::Ok
        );
        let mut now = 1000u64;
        assert_eq!(
            mfp_oauth_token_client_start_device(tc.as_mut_ptr(), now),
            MfpOauthStatus::Ok
        );
        let device = format!(
            r#"{{"device_code":"{DEVICE_CODE}","user_code":"FJ7K-2QXM","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5,"message":"enter FJ7K-2QXM"}}"#
        );
        let token = format!(
            r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"{ACCESS}","refresh_token":"{REFRESH}"}}"#
        );
        let mut answers = [http(&device), http(&token)].into_iter();
        let mut req = vec![0u8; 8192];
        let mut got_token = false;
        for _ in 0..10 {
            let (mut n, mut sensitive) = (0usize, false);
            let mut ep = MaybeUninit::<MfpOauthEndpoint>::zeroed();
            assert_eq!(
                mfp_oauth_token_client_poll_transmit(
                    tc.as_mut_ptr(),
                    now,
                    req.as_mut_ptr(),
                    req.len(),
                    &mut n,
                    &mut sensitive,
                    ep.as_mut_ptr()
                ),
                MfpOauthStatus::Ok
            );
            if n > 0 {
                let sent = &req[..n];
                assert!(leak(sent).is_none() || sensitive, "a secret unflagged");
                if !sensitive {
                    assert_clean("plain request", sent);
                }
                let answer = answers.next().expect("a scripted answer");
                let mut used = 0;
                assert_eq!(
                    mfp_oauth_token_client_handle_input(
                        tc.as_mut_ptr(),
                        now,
                        answer.as_ptr(),
                        answer.len(),
                        &mut used
                    ),
                    MfpOauthStatus::Ok
                );
                let _ = mfp_oauth_token_client_handle_close(tc.as_mut_ptr(), now);
            }
            loop {
                let mut e = MaybeUninit::<MfpOauthTokenEvent>::zeroed();
                assert_eq!(
                    mfp_oauth_token_client_poll_event(tc.as_mut_ptr(), e.as_mut_ptr()),
                    MfpOauthStatus::Ok
                );
                let e = e.assume_init();
                match e.kind {
                    MfpOauthTokenEventKind::None => break,
                    MfpOauthTokenEventKind::UserCode => {
                        let (mut code, mut uri) = ([0 as c_char; 33], [0 as c_char; 257]);
                        let mut expires = 0u64;
                        assert_eq!(
                            mfp_oauth_token_client_device_code(
                                tc.as_mut_ptr(),
                                code.as_mut_ptr(),
                                code.len(),
                                uri.as_mut_ptr(),
                                uri.len(),
                                &mut expires
                            ),
                            MfpOauthStatus::Ok
                        );
                        for t in [code.as_ptr(), uri.as_ptr()] {
                            assert_clean("device-code panel", CStr::from_ptr(t).to_bytes());
                        }
                    }
                    MfpOauthTokenEventKind::AccessToken => got_token = true,
                    MfpOauthTokenEventKind::RefreshTokenRotated => {}
                    other => panic!("{other:?}"),
                }
            }
            if got_token {
                break;
            }
            let mut deadline = 0u64;
            let _ = mfp_oauth_token_client_poll_timeout(tc.as_mut_ptr(), &mut deadline);
            if deadline != u64::MAX && deadline > now {
                now = deadline;
            }
        }
        assert!(got_token, "the device flow completed");
        assert_eq!(
            mfp_oauth_mailer_acquire_admin(
                mailer.as_mut_ptr(),
                now,
                1_764_000_000,
                tc.as_mut_ptr()
            ),
            MfpOauthStatus::Ok
        );
        // One copy of each secret in the mailer; the token client keeps only
        // its parsed response (the raw HTTP answer and the device code are
        // wiped once the flow is over).
        let copies = |storage: &[u8], secret: &str| {
            storage
                .windows(secret.len())
                .filter(|w| *w == secret.as_bytes())
                .count()
        };
        for secret in [ACCESS, REFRESH, PROXY_PASSWORD] {
            assert_eq!(copies(octets(&mailer), secret), 1, "{secret} in the mailer");
        }
        assert_eq!(copies(octets(&tc), DEVICE_CODE), 0);
        assert_eq!(copies(octets(&tc), ACCESS), 1);
        assert_eq!(copies(octets(&tc), REFRESH), 1);
        let raw = format!("\"access_token\":\"{ACCESS}");
        assert_eq!(copies(octets(&tc), &raw), 0, "the raw response is wiped");

        // Settings read back: no proxy password.
        let mut back = MaybeUninit::<MfpOauthSettings>::zeroed();
        assert_eq!(
            mfp_oauth_mailer_settings(mailer.as_mut_ptr(), back.as_mut_ptr()),
            MfpOauthStatus::Ok
        );
        let back = back.assume_init();
        assert!(back.proxy_password.ptr.is_null() && back.proxy_password.len == 0);

        // Images: the access token never; sealed, nothing.
        let key = [0x42u8; MFP_OAUTH_DEVICE_KEY_LEN];
        let random = [9u8; MFP_OAUTH_SEAL_RANDOM_LEN];
        let mut save = |sealed: bool| {
            let mut image = vec![0u8; MFP_OAUTH_NV_IMAGE_MAX_LEN];
            let (mut n, mut slot, mut seq) = (0usize, MfpOauthNvSlot::A, 0u32);
            let (k, r) = match sealed {
                true => (key.as_ptr(), random.as_ptr()),
                false => (core::ptr::null(), core::ptr::null()),
            };
            let status = mfp_oauth_mailer_save(
                mailer.as_mut_ptr(),
                k,
                r,
                image.as_mut_ptr(),
                image.len(),
                &mut n,
                &mut slot,
                &mut seq,
            );
            assert_eq!(status, MfpOauthStatus::Ok);
            image.truncate(n);
            image
        };
        let plain = save(false);
        assert!(!plain.windows(ACCESS.len()).any(|w| w == ACCESS.as_bytes()));
        assert!(plain
            .windows(REFRESH.len())
            .any(|w| w == REFRESH.as_bytes()));
        let sealed = save(true);
        assert_clean("sealed image", &sealed);

        // Every status name and diagnostic text.
        for status in 0..1000u32 {
            assert_clean(
                "status name",
                CStr::from_ptr(mfp_oauth_status_str(status)).to_bytes(),
            );
        }
        let mut count = 0usize;
        assert_eq!(mfp_oauth_diag_count(&mut count), MfpOauthStatus::Ok);
        let mut buf = vec![0 as c_char; 2048];
        for i in 0..count {
            let mut id = 0u32;
            assert_eq!(mfp_oauth_diag_id(i, &mut id), MfpOauthStatus::Ok);
            for lang in [MfpOauthLang::En as u32, MfpOauthLang::Fr as u32] {
                let mut len = 0usize;
                for f in [mfp_oauth_diag_message, mfp_oauth_diag_remedy] {
                    assert_eq!(
                        f(id, lang, buf.as_mut_ptr(), buf.len(), &mut len),
                        MfpOauthStatus::Ok
                    );
                    assert_clean("diagnostic", CStr::from_ptr(buf.as_ptr()).to_bytes());
                }
            }
        }

        // Destroyed: nothing left in the caller's storage.
        assert_eq!(
            mfp_oauth_token_client_destroy(tc.as_mut_ptr()),
            MfpOauthStatus::Ok
        );
        assert_clean("token client storage after destroy", octets(&tc));
        assert_eq!(
            mfp_oauth_mailer_destroy(mailer.as_mut_ptr()),
            MfpOauthStatus::Ok
        );
        assert_clean("mailer storage after destroy", octets(&mailer));
        assert_clean("user slots after destroy", octets(&users));
    }
}
