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
        Some(NvError::SealOpenFailed)
    );
}

// ----- the image in pieces (R-MEM) -----

use super::{ImageWriter, NvError};
use proptest::prelude::*;

/// The image written through pieces of `sizes` (cycled), checking each
/// piece's offset, as a firmware programs them.
fn in_pieces(
    settings: &Settings,
    store: &TokenStore,
    seal: Option<Seal<'_>>,
    sizes: &[usize],
) -> Vec<u8> {
    let mut w = ImageWriter::new(settings, store, FIXTURE_SEQ, seal).unwrap();
    let mut image = Vec::new();
    for &size in sizes.iter().cycle() {
        let mut piece = vec![0u8; size];
        assert_eq!(
            w.written(),
            image.len(),
            "each piece goes where the last ended"
        );
        let n = w.next_chunk(settings, store, &mut piece).unwrap();
        if n == 0 {
            break;
        }
        assert!(
            n == size || image.len() + n == w.len(),
            "only the last piece is short"
        );
        image.extend_from_slice(&piece[..n]);
    }
    assert!(w.is_done());
    assert_eq!(image.len(), w.len());
    image
}

fn whole(settings: &Settings, store: &TokenStore, seal: Option<Seal<'_>>) -> Vec<u8> {
    let mut out = vec![0u8; IMAGE_MAX_LEN];
    let n = nv::save(settings, store, FIXTURE_SEQ, seal, &mut out).unwrap();
    out.truncate(n);
    out
}

#[test]
fn an_image_in_pieces_of_any_size_is_the_whole_image() {
    let (settings, store) = fixture_state();
    let key = DeviceKey::new(&FIXTURE_KEY);
    for seal in [
        None,
        Some(Seal {
            key: &key,
            random: FIXTURE_RANDOM,
        }),
    ] {
        let expected = whole(&settings, &store, seal);
        for size in [1, 7, 19, 20, 21, 64, 100, 333, expected.len()] {
            assert_eq!(
                in_pieces(&settings, &store, seal, &[size]),
                expected,
                "pieces of {size}, sealed: {}",
                seal.is_some()
            );
        }
    }
    // The committed image, in flash-page pieces.
    let seal = Seal {
        key: &key,
        random: FIXTURE_RANDOM,
    };
    assert_eq!(
        in_pieces(&settings, &store, Some(seal), &[64]),
        V2_SEALED_IMAGE
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn pieces_of_varying_sizes_make_the_whole_image(
        sizes in proptest::collection::vec(1usize..200, 1..12),
        sealed in any::<bool>(),
    ) {
        let (settings, store) = fixture_state();
        let key = DeviceKey::new(&FIXTURE_KEY);
        let seal = sealed.then_some(Seal { key: &key, random: FIXTURE_RANDOM });
        prop_assert_eq!(
            in_pieces(&settings, &store, seal, &sizes),
            whole(&settings, &store, seal)
        );
    }
}

/// The state changes between two pieces: a rotated refresh token of the
/// same length (caught by the CRC at the end), a longer one, or a user's
/// token deleted (the image shrinks).
#[test]
fn a_change_between_pieces_is_refused_and_the_older_slot_still_loads() {
    type Change = fn(&mut TokenStore);
    let changes: [(&str, Change); 3] = [
        ("same length", |s| {
            s.refreshed(
                at(10),
                None,
                &TokenOwner::Admin,
                grant(b"AT2", 3600, Some(b"RT-ADMIN-rotated")),
            )
            .unwrap();
        }),
        ("longer", |s| {
            s.refreshed(
                at(10),
                None,
                &TokenOwner::Admin,
                grant(b"AT2", 3600, Some(b"RT-ADMIN-rotated-and-longer")),
            )
            .unwrap();
        }),
        ("shorter", |s| s.delete_user("bob").unwrap()),
    ];
    let key = DeviceKey::new(&FIXTURE_KEY);
    for (what, change) in changes {
        let (settings, mut store) = fixture_state();
        let seal = Seal {
            key: &key,
            random: FIXTURE_RANDOM,
        };
        // Slot A holds the last good image; B is being written.
        let slot_a = whole(&settings, &store, Some(seal));
        let mut w = ImageWriter::new(&settings, &store, FIXTURE_SEQ + 1, Some(seal)).unwrap();
        let mut slot_b = vec![0xFFu8; w.len()];
        let mut piece = [0u8; 64];
        let n = w.next_chunk(&settings, &store, &mut piece).unwrap();
        slot_b[..n].copy_from_slice(&piece[..n]);
        change(&mut store);
        let mut result = Ok(1);
        while let Ok(n @ 1..) = result {
            let at = w.written();
            result = w.next_chunk(&settings, &store, &mut piece);
            if let Ok(n) = result {
                slot_b[at..at + n].copy_from_slice(&piece[..n]);
            }
            let _ = n;
        }
        assert_eq!(result, Err(NvError::Changed), "{what}");
        assert!(!w.is_done(), "{what}");
        assert_eq!(piece, [0u8; 64], "{what}: the refused piece is wiped");
        assert_eq!(
            w.next_chunk(&settings, &store, &mut piece),
            Err(NvError::Changed),
            "{what}: the writer stays refused"
        );
        // Power-on: the incomplete image fails its check; A loads.
        let mut s = Settings::default();
        let mut loaded = TokenStore::new();
        let report = nv::load(&slot_a, &slot_b, Some(&key), &mut s, &mut loaded).unwrap();
        assert_eq!(report.sequence, FIXTURE_SEQ, "{what}");
        assert_eq!(
            loaded.refresh_token(&TokenOwner::Admin).unwrap().expose(),
            b"RT-ADMIN-fixture"
        );
    }
}

#[test]
fn an_empty_piece_is_refused_until_the_end() {
    let (settings, store) = fixture_state();
    let mut w = ImageWriter::new(&settings, &store, 1, None).unwrap();
    assert_eq!(
        w.next_chunk(&settings, &store, &mut []),
        Err(NvError::BufferTooSmall)
    );
    let mut out = vec![0u8; w.len()];
    assert_eq!(w.next_chunk(&settings, &store, &mut out), Ok(w.len()));
    assert_eq!(w.next_chunk(&settings, &store, &mut []), Ok(0));
    assert_eq!(w.next_chunk(&settings, &store, &mut [0; 8]), Ok(0));
    assert!(w.is_done());
}

#[test]
fn a_whole_image_needs_a_buffer_of_its_length() {
    let (settings, store) = fixture_state();
    let len = whole(&settings, &store, None).len();
    let mut short = vec![0xAAu8; len - 1];
    assert_eq!(
        nv::save(&settings, &store, FIXTURE_SEQ, None, &mut short),
        Err(NvError::BufferTooSmall)
    );
    assert!(short.iter().all(|b| *b == 0), "wiped on error");
}

#[test]
fn the_image_crc_resumes_from_its_finalised_value() {
    let data = b"MFPO, then any octets at all, split anywhere";
    let whole = super::CRC.checksum(data);
    for cut in 0..=data.len() {
        let mut d = super::save::crc_resumed(super::CRC.checksum(&data[..cut]));
        d.update(&data[cut..]);
        assert_eq!(d.finalize(), whole, "cut at {cut}");
    }
}
