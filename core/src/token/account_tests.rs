//! The account that signed in, kept with the token (R-ACCT): refused when
//! it is not the slot's, shown as verified or not, persisted in the image
//! (format version 2), and images of format version 1 still load.

use super::tests::{at, grant, user};
use super::*;
use crate::config::tests::{addr, valid};
use crate::config::{SenderMode, Settings};
use crate::image::{self as nv, NvCursor, SlotId, IMAGE_MAX_LEN};

/// An image written by format version 1 (the code before R-ACCT), kept as
/// octets: [`v1_state`] saved unsealed with sequence number 7.
const V1_IMAGE: &[u8] = include_bytes!("../image/testdata/nv_format1.bin");

/// The state saved in [`V1_IMAGE`].
fn v1_state() -> (Settings, TokenStore) {
    let mut settings = valid(SenderMode::AllowUserChanges);
    settings.admin_address = Some(addr("scanner@contoso.com"));
    let mut store = TokenStore::new();
    store
        .store_acquired(
            at(0),
            Some(WallTime(1_700_000_000)),
            &TokenOwner::Admin,
            &addr("scanner@contoso.com"),
            grant(b"ACCESS-ADMIN", 3600, Some(b"REFRESH-ADMIN")),
        )
        .unwrap();
    store
        .store_acquired(
            at(0),
            None,
            &user("alice"),
            &addr("alice@contoso.com"),
            grant(b"ACCESS-ALICE", 3600, Some(b"REFRESH-ALICE")),
        )
        .unwrap();
    (settings, store)
}

/// Give `img` a new version and sequence number and a CRC that matches.
fn reseal_prefix(img: &mut [u8], version: u16, seq: u32) {
    img[4..6].copy_from_slice(&version.to_le_bytes());
    img[8..12].copy_from_slice(&seq.to_le_bytes());
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut d = crc.digest();
    d.update(&img[..16]);
    d.update(&img[20..]);
    img[16..20].copy_from_slice(&d.finalize().to_le_bytes());
}

fn save(settings: &Settings, store: &TokenStore, seq: u32) -> Vec<u8> {
    let mut out = vec![0u8; IMAGE_MAX_LEN];
    let n = nv::save(settings, store, seq, None, &mut out).unwrap();
    out.truncate(n);
    out
}

/// Writes the format-1 fixture; run once, by hand, on the code before
/// format 2 (`cargo test -p mfp-oauth-core --lib write_v1_fixture -- --ignored`).
#[test]
#[ignore = "writes the fixture; only meaningful on format-1 code"]
fn write_v1_fixture() {
    let (settings, store) = v1_state();
    let img = save(&settings, &store, 7);
    std::fs::write(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/image/testdata/nv_format1.bin"
        ),
        img,
    )
    .unwrap();
}

#[test]
fn a_token_for_another_account_is_refused_and_the_slot_kept() {
    let mut store = TokenStore::new();
    let scanner = addr("scanner@contoso.com");
    let mailbox = addr("mailbox@contoso.com");
    // The slot holds the scanner's token already.
    store
        .store_signed_in(
            at(0),
            None,
            &TokenOwner::Admin,
            &scanner,
            grant(b"AT-1", 3600, Some(b"RT-1")),
            Some(&addr("Scanner@Contoso.com")),
        )
        .unwrap();
    assert!(store.account_verified(&TokenOwner::Admin));
    while store.poll_event().is_some() {}

    // Approved as mailbox@ while the slot is for scanner@: refused.
    assert_eq!(
        store.store_signed_in(
            at(10),
            None,
            &TokenOwner::Admin,
            &scanner,
            grant(b"AT-2", 3600, Some(b"RT-2")),
            Some(&mailbox),
        ),
        Err(TokenError::AccountMismatch)
    );
    assert_eq!(TokenError::AccountMismatch.diag(), Id::AccountMismatch);
    // Nothing of the refused token is kept; the old one is untouched.
    assert!(!store.holds_secret(b"AT-2") && !store.holds_secret(b"RT-2"));
    assert_eq!(
        store.refresh_token(&TokenOwner::Admin).unwrap().expose(),
        b"RT-1"
    );
    assert_eq!(store.account(&TokenOwner::Admin), Some(&scanner));
    assert!(store.account_verified(&TokenOwner::Admin));
    assert!(!store.persist_pending());

    // A user slot is not even allocated for a refused token.
    assert_eq!(
        store.store_signed_in(
            at(10),
            None,
            &user("alice"),
            &addr("alice@contoso.com"),
            grant(b"AT-3", 3600, Some(b"RT-3")),
            Some(&mailbox),
        ),
        Err(TokenError::AccountMismatch)
    );
    assert_eq!(store.users().count(), 0);

    // No account from the provider: kept as before, unverified.
    store
        .store_signed_in(
            at(20),
            None,
            &TokenOwner::Admin,
            &scanner,
            grant(b"AT-4", 3600, Some(b"RT-4")),
            None,
        )
        .unwrap();
    assert_eq!(store.account(&TokenOwner::Admin), Some(&scanner));
    assert!(!store.account_verified(&TokenOwner::Admin));
    assert_eq!(store.status(&TokenOwner::Admin), TokenStatus::Acquired);
}

#[test]
fn a_dead_grant_keeps_whose_verified_account_it_was() {
    let mut store = TokenStore::new();
    let a = addr("alice@contoso.com");
    store
        .store_signed_in(
            at(0),
            None,
            &user("alice"),
            &a,
            grant(b"AT", 3600, Some(b"RT")),
            Some(&a),
        )
        .unwrap();
    store.refresh_failed(&user("alice"), RefreshFailure::InvalidGrant);
    assert_eq!(store.account(&user("alice")), Some(&a));
    assert!(store.account_verified(&user("alice")));
    store.delete_user("alice").unwrap();
    assert!(!store.account_verified(&user("alice")));
}

#[test]
fn the_verified_account_survives_a_power_cycle() {
    let (settings, mut store) = v1_state();
    let alice = addr("alice@contoso.com");
    store
        .store_signed_in(
            at(5),
            None,
            &user("alice"),
            &alice,
            grant(b"ACCESS-ALICE-2", 3600, Some(b"REFRESH-ALICE-2")),
            Some(&alice),
        )
        .unwrap();
    let img = save(&settings, &store, 8);
    assert_eq!(u16::from_le_bytes([img[4], img[5]]), nv::FORMAT_VERSION);
    let mut loaded = TokenStore::new();
    let mut s = Settings::default();
    nv::load(&img, &[], None, &mut s, &mut loaded).unwrap();
    assert!(loaded.account_verified(&user("alice")));
    assert!(!loaded.account_verified(&TokenOwner::Admin));
    assert_eq!(loaded.account(&user("alice")), Some(&alice));
    assert_eq!(loaded.status(&user("alice")), TokenStatus::Acquired);
    assert_eq!(
        loaded.refresh_token(&user("alice")).unwrap().expose(),
        b"REFRESH-ALICE-2"
    );
}

#[test]
fn an_image_of_format_1_still_loads_with_unverified_accounts() {
    let (settings, store) = v1_state();
    assert_eq!(u16::from_le_bytes([V1_IMAGE[4], V1_IMAGE[5]]), 1);
    let mut loaded = TokenStore::new();
    let mut s = Settings::default();
    let report = nv::load(V1_IMAGE, &[0xFF; 64], None, &mut s, &mut loaded).unwrap();
    assert_eq!((report.slot, report.sequence), (SlotId::A, 7));
    assert_eq!(
        report.other,
        nv::SlotState::Empty,
        "the fixture loads as the newest good image"
    );
    assert_eq!(s.admin_address, settings.admin_address);
    assert_eq!(s.sender_mode, settings.sender_mode);
    assert_eq!(s.smtp, settings.smtp);
    for (owner, rt) in [
        (TokenOwner::Admin, &b"REFRESH-ADMIN"[..]),
        (user("alice"), b"REFRESH-ALICE"),
    ] {
        assert_eq!(loaded.account(&owner), store.account(&owner), "{owner:?}");
        assert!(!loaded.account_verified(&owner), "{owner:?}");
        assert_eq!(loaded.status(&owner), TokenStatus::Acquired);
        assert_eq!(loaded.refresh_token(&owner).unwrap().expose(), rt);
    }
    // The next image is written in format 2 and loads the same.
    let mut cursor = NvCursor::new();
    cursor.written(report.slot, report.sequence);
    let (slot, seq) = cursor.next();
    assert_eq!((slot, seq), (SlotId::B, 8));
    let img2 = save(&s, &loaded, seq);
    let mut again = TokenStore::new();
    let mut s2 = Settings::default();
    let r2 = nv::load(V1_IMAGE, &img2, None, &mut s2, &mut again).unwrap();
    assert_eq!((r2.slot, r2.sequence), (SlotId::B, 8));
    assert_eq!(s2, s);
    assert_eq!(
        again.account(&user("alice")),
        loaded.account(&user("alice"))
    );

    // A format-1 image may not claim a verified account (the mark did not
    // exist): such an image is damaged.
    let mut forged = V1_IMAGE.to_vec();
    let status_at = forged
        .windows(b"scanner@contoso.com".len())
        .rposition(|w| w == b"scanner@contoso.com")
        .unwrap()
        + b"scanner@contoso.com".len();
    assert_eq!(forged[status_at], TokenStatus::Acquired as u8);
    forged[status_at] |= 0x80;
    reseal_prefix(&mut forged, 1, 7);
    let mut bad = TokenStore::new();
    assert_eq!(
        nv::load(&forged, &[], None, &mut Settings::default(), &mut bad).err(),
        Some(nv::NvError::Corrupt)
    );
    // The same mark in a format-2 image is the verified account.
    reseal_prefix(&mut forged, 2, 7);
    let mut good = TokenStore::new();
    nv::load(&forged, &[], None, &mut Settings::default(), &mut good).unwrap();
    assert!(good.account_verified(&TokenOwner::Admin));
}
