//! A settings change reaches the flash (R-NV, R-CFG; issue 9 item 4).
//!
//! Finding: the firmware writes the image on `Store(Persist)` steps (the
//! README's guide, `printer_day.c`), but a settings change that orphaned no
//! token raised none, so the new settings were lost at the next power-off.

use super::*;
use crate::config::tests::{addr, valid};
use crate::config::{Proxy, SenderMode};
use crate::image as nv;
use crate::secret::SecretBuf;
use std::vec::Vec;

fn persists(m: &mut Mailer) -> Vec<StoreEvent> {
    core::iter::from_fn(|| m.poll_event(Instant::ZERO))
        .filter_map(|s| match s {
            Step::Store(e @ StoreEvent::Persist { .. }) => Some(e),
            _ => None,
        })
        .collect()
}

fn proxy(password: &[u8]) -> Option<Proxy> {
    Some(Proxy {
        host: "proxy.contoso.local".try_into().unwrap(),
        port: 3128,
        user: "mfp".try_into().unwrap(),
        password: SecretBuf::from_slice(password).unwrap(),
    })
}

#[test]
fn every_settings_change_asks_for_a_new_image_and_it_holds_the_change() {
    let mut m = Mailer::new(valid(SenderMode::AdminFixedAddress), TokenStore::new());
    let keep = |e| {
        [StoreEvent::Persist {
            erase_other_slot: e,
        }]
    };

    // The reference firmware's step 6: login-user mode, automatic deletion.
    let mut s = m.settings().clone();
    s.sender_mode = SenderMode::LoginUserAddress;
    s.auto_delete_user_tokens = true;
    let _ = m.apply_settings(s.clone()).unwrap();
    assert_eq!(persists(&mut m), keep(false));
    // Written and reloaded after a power cycle: the change is there.
    let mut out = std::vec![0u8; nv::IMAGE_MAX_LEN];
    let n = nv::save(m.settings(), m.store(), 1, None, &mut out).unwrap();
    let mut loaded = Settings::default();
    let mut store = TokenStore::new();
    nv::load(&out[..n], &[], None, &mut loaded, &mut store).unwrap();
    assert_eq!(loaded, s);

    // The same settings again: nothing to write.
    let _ = m.apply_settings(s.clone()).unwrap();
    assert!(persists(&mut m).is_empty());

    // A proxy password: set (nothing secret left behind), changed and
    // removed (the older slot holds the old one: erase it).
    s.proxy = proxy(b"first-password");
    let _ = m.apply_settings(s.clone()).unwrap();
    assert_eq!(persists(&mut m), keep(false));
    s.proxy = proxy(b"second-password");
    let _ = m.apply_settings(s.clone()).unwrap();
    assert_eq!(persists(&mut m), keep(true));
    s.proxy = None;
    let _ = m.apply_settings(s.clone()).unwrap();
    assert_eq!(persists(&mut m), keep(true));

    // A change that orphans the administrator's token still erases.
    m.store_mut()
        .store_acquired(
            Instant::ZERO,
            None,
            &TokenOwner::Admin,
            &addr("admin@contoso.com"),
            TokenGrant {
                access_token: b"AT",
                expires_in: Duration::from_secs(60),
                refresh_token: Some(b"RT"),
                refresh_expires_in: None,
            },
        )
        .unwrap();
    let _ = persists(&mut m);
    s.admin_address = Some(addr("boss@contoso.com"));
    let _ = m.apply_settings(s).unwrap();
    assert_eq!(persists(&mut m), keep(true));
}
