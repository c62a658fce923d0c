//! The image as octets: a sealed format-2 image committed by the release
//! that wrote it still loads, and today's writer produces it octet for
//! octet (R-NV: an image written by the current version loads after an
//! update; the writer in pieces changed nothing on flash).

use super::{self as nv, DeviceKey, Seal, IMAGE_MAX_LEN};
use crate::config::tests::{addr, valid};
use crate::config::{Proxy, SenderMode, Settings};
use crate::secret::SecretBuf;
use crate::token::tests::{at, grant, user};
use crate::token::{TokenOwner, TokenStatus, TokenStore, WallTime};

/// A sealed image of [`fixture_state`], sequence [`FIXTURE_SEQ`], written
/// by format version 2 before the image could be written in pieces.
const V2_SEALED_IMAGE: &[u8] = include_bytes!("testdata/nv_format2_sealed.bin");
const FIXTURE_SEQ: u32 = 0x0102_0304;
const FIXTURE_KEY: [u8; 32] = [0x5A; 32];
const FIXTURE_RANDOM: [u8; nv::RANDOM_LEN] = [1, 2, 3, 4, 5, 6, 7];

/// Settings with a proxy password and a send-as list, the administrator's
/// token with a verified account, two users' (one verified, one not).
pub(super) fn fixture_state() -> (Settings, TokenStore) {
    let mut settings = valid(SenderMode::AllowUserChanges);
    settings.admin_address = Some(addr("scanner@contoso.com"));
    settings.proxy = Some(Proxy {
        host: "proxy.contoso.local".try_into().unwrap(),
        port: 3128,
        user: "mfp".try_into().unwrap(),
        password: SecretBuf::from_slice(b"proxy-password-fixture").unwrap(),
    });
    settings.send_as.push(addr("reports@contoso.com")).unwrap();
    let mut store = TokenStore::new();
    let wall = Some(WallTime(1_790_000_000));
    let scanner = addr("scanner@contoso.com");
    store
        .store_signed_in(
            at(0),
            wall,
            &TokenOwner::Admin,
            &scanner,
            grant(b"AT-ADMIN", 3600, Some(b"RT-ADMIN-fixture")),
            Some(&scanner),
        )
        .unwrap();
    let alice = addr("alice@contoso.com");
    store
        .store_signed_in(
            at(0),
            wall,
            &user("alice"),
            &alice,
            grant(b"AT-ALICE", 3600, Some(b"RT-ALICE-fixture")),
            Some(&alice),
        )
        .unwrap();
    store
        .store_signed_in(
            at(0),
            None,
            &user("bob"),
            &addr("bob@contoso.com"),
            grant(b"AT-BOB", 3600, Some(b"RT-BOB-fixture-longer")),
            None,
        )
        .unwrap();
    (settings, store)
}

fn fixture_image() -> Vec<u8> {
    let (settings, store) = fixture_state();
    let key = DeviceKey::new(&FIXTURE_KEY);
    let seal = Seal {
        key: &key,
        random: FIXTURE_RANDOM,
    };
    let mut out = vec![0u8; IMAGE_MAX_LEN];
    let n = nv::save(&settings, &store, FIXTURE_SEQ, Some(seal), &mut out).unwrap();
    out.truncate(n);
    out
}

/// Writes the fixture: `MFP_IMAGE_BLESS=1 cargo test -p mfp-oauth-core --lib
/// write_v2_fixture -- --ignored`. Only meaningful on the code that wrote
/// format 2 as one buffer (kept for a later format change).
#[test]
#[ignore = "writes the fixture"]
fn write_v2_fixture() {
    if std::env::var_os("MFP_IMAGE_BLESS").is_some() {
        std::fs::write(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/image/testdata/nv_format2_sealed.bin"
            ),
            fixture_image(),
        )
        .unwrap();
    }
}

#[test]
fn todays_writer_produces_the_committed_format_2_image_octet_for_octet() {
    assert_eq!(
        u16::from_le_bytes([V2_SEALED_IMAGE[4], V2_SEALED_IMAGE[5]]),
        2
    );
    assert_eq!(fixture_image(), V2_SEALED_IMAGE);
}

#[test]
fn the_committed_format_2_image_loads_with_its_key() {
    let (settings, store) = fixture_state();
    let key = DeviceKey::new(&FIXTURE_KEY);
    let mut s = Settings::default();
    let mut loaded = TokenStore::new();
    let report = nv::load(V2_SEALED_IMAGE, &[], Some(&key), &mut s, &mut loaded).unwrap();
    assert_eq!(report.sequence, FIXTURE_SEQ);
    assert_eq!(s.admin_address, settings.admin_address);
    assert_eq!(s.send_as, settings.send_as);
    assert_eq!(
        s.proxy.as_ref().unwrap().password.expose(),
        b"proxy-password-fixture"
    );
    for (owner, rt, verified) in [
        (TokenOwner::Admin, &b"RT-ADMIN-fixture"[..], true),
        (user("alice"), b"RT-ALICE-fixture", true),
        (user("bob"), b"RT-BOB-fixture-longer", false),
    ] {
        assert_eq!(loaded.refresh_token(&owner).unwrap().expose(), rt);
        assert_eq!(loaded.account(&owner), store.account(&owner));
        assert_eq!(loaded.account_verified(&owner), verified);
        assert_eq!(loaded.status(&owner), store.status(&owner));
        assert_ne!(loaded.status(&owner), TokenStatus::Required);
    }
    // The wrong key opens nothing.
    let mut wrong = TokenStore::new();
    assert_eq!(
        nv::load(
            V2_SEALED_IMAGE,
            &[],
            Some(&DeviceKey::new(&[0; 32])),
            &mut Settings::default(),
            &mut wrong
        )
        .err(),
        Some(nv::NvError::SealOpenFailed)
    );
}
