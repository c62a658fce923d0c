//! The image as octets: sealed images committed by the releases that wrote
//! them still load (format 2, without the refresh margin; format 3, without
//! the refresh tokens' death dates; format 4, with the refresh margin in
//! its own record; format 5), and today's writer produces the format-5 one
//! octet for octet (R-NV: an image written by the current version loads
//! after an update).

use super::{self as nv, DeviceKey, Seal, IMAGE_MAX_LEN};
use crate::config::tests::{addr, valid};
use crate::config::{Proxy, SenderMode, Settings};
use crate::secret::SecretBuf;
use crate::time::Duration;
use crate::token::tests::{at, grant, user};
use crate::token::{TokenGrant, TokenOwner, TokenStatus, TokenStore, WallTime};

/// A sealed image of [`fixture_state`] (but its refresh margin, which
/// format 2 did not keep), sequence [`FIXTURE_SEQ`], written by format
/// version 2 before the image could be written in pieces.
const V2_SEALED_IMAGE: &[u8] = include_bytes!("testdata/nv_format2_sealed.bin");
/// The same state, refresh margin included, written by format version 3
/// (before the death date of Alice's refresh token was kept).
const V3_SEALED_IMAGE: &[u8] = include_bytes!("testdata/nv_format3_sealed.bin");
/// The same state, death date included, written by format version 4.
const V4_SEALED_IMAGE: &[u8] = include_bytes!("testdata/nv_format4_sealed.bin");
/// The same state written by format version 5 (the refresh margin in the
/// tagged record).
const V5_SEALED_IMAGE: &[u8] = include_bytes!("testdata/nv_format5_sealed.bin");
/// The same state written by format version 6 (a client secret's length,
/// none here).
const V6_SEALED_IMAGE: &[u8] = include_bytes!("testdata/nv_format6_sealed.bin");
/// The fixture's wall clock at sign-in.
const FIXTURE_WALL: WallTime = WallTime(1_790_000_000);
/// How long the provider said Alice's refresh token lives (a week: a
/// Google time-based access grant).
const ALICE_REFRESH_LIFE_S: u64 = 7 * 86_400;
/// The fixture's refresh margin (not the default, so that it is seen to
/// come back).
const FIXTURE_MARGIN_S: u16 = 900;
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
    settings.refresh_margin_s = FIXTURE_MARGIN_S;
    let mut store = TokenStore::new();
    let wall = Some(FIXTURE_WALL);
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
            TokenGrant {
                refresh_expires_in: Some(Duration::from_secs(ALICE_REFRESH_LIFE_S)),
                ..grant(b"AT-ALICE", 3600, Some(b"RT-ALICE-fixture"))
            },
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

/// Writes the fixture of the current format: `MFP_IMAGE_BLESS=1 cargo test
/// -p mfp-oauth-core --lib write_v6_fixture -- --ignored`. Only for a new
/// format version: a committed fixture is never rewritten.
#[test]
#[ignore = "writes the fixture"]
fn write_v6_fixture() {
    if std::env::var_os("MFP_IMAGE_BLESS").is_some() {
        std::fs::write(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/image/testdata/nv_format6_sealed.bin"
            ),
            fixture_image(),
        )
        .unwrap();
    }
}

#[test]
fn todays_writer_produces_the_committed_format_6_image_octet_for_octet() {
    assert_eq!(
        u16::from_le_bytes([V6_SEALED_IMAGE[4], V6_SEALED_IMAGE[5]]),
        6
    );
    assert_eq!(fixture_image(), V6_SEALED_IMAGE);
}

/// Formats 4, 5 and 6 keep the same state: the refresh tokens' death
/// dates and the refresh margin come back from each.
#[test]
fn the_committed_format_4_5_and_6_images_load_the_refresh_token_death_date() {
    for image in [V4_SEALED_IMAGE, V5_SEALED_IMAGE, V6_SEALED_IMAGE] {
        the_image_loads_the_fixture_state(image);
    }
}

fn the_image_loads_the_fixture_state(image: &[u8]) {
    let key = DeviceKey::new(&FIXTURE_KEY);
    let mut s = Settings::default();
    let mut loaded = TokenStore::new();
    nv::load(image, &[], Some(&key), &mut s, &mut loaded).unwrap();
    assert_eq!(s.refresh_margin_s, FIXTURE_MARGIN_S);
    let (settings, store) = fixture_state();
    assert!(s == settings, "every setting comes back");
    // Alice's week, earlier than Microsoft's 90 days of inactivity.
    let week = FIXTURE_WALL.plus_secs(ALICE_REFRESH_LIFE_S);
    assert_eq!(loaded.expected_expiry(&user("alice"), &s), Some(week));
    for owner in [TokenOwner::Admin, user("alice"), user("bob")] {
        assert_eq!(
            loaded.expected_expiry(&owner, &s),
            store.expected_expiry(&owner, &settings)
        );
    }
}

/// An update from format 3: the image loads, Alice's token is judged by
/// the provider's rule alone (format 3 kept no death date), and the next
/// image is format 4.
#[test]
fn the_committed_format_3_image_loads_its_refresh_margin() {
    let key = DeviceKey::new(&FIXTURE_KEY);
    let mut s = Settings::default();
    let mut loaded = TokenStore::new();
    nv::load(V3_SEALED_IMAGE, &[], Some(&key), &mut s, &mut loaded).unwrap();
    assert_eq!(s.refresh_margin_s, FIXTURE_MARGIN_S);
    let (settings, _) = fixture_state();
    assert!(s == settings, "every setting comes back");
    assert_eq!(
        loaded.expected_expiry(&user("alice"), &s),
        Some(FIXTURE_WALL.plus_days(90)),
        "Microsoft's rule alone"
    );
    assert_eq!(
        loaded.refresh_token(&user("alice")).unwrap().expose(),
        b"RT-ALICE-fixture"
    );
    let mut out = vec![0u8; IMAGE_MAX_LEN];
    let n = nv::save(&s, &loaded, FIXTURE_SEQ + 1, None, &mut out).unwrap();
    assert_eq!(u16::from_le_bytes([out[4], out[5]]), 6);
    nv::load(&out[..n], &[], None, &mut s, &mut TokenStore::new()).unwrap();
    assert_eq!(s.refresh_margin_s, FIXTURE_MARGIN_S);
}

/// The migration of an update: a format-2 image loads, its refresh margin
/// the default, and the next image is format 3.
#[test]
fn the_committed_format_2_image_loads_with_its_key() {
    let (settings, store) = fixture_state();
    let key = DeviceKey::new(&FIXTURE_KEY);
    let mut s = Settings::default();
    let mut loaded = TokenStore::new();
    let report = nv::load(V2_SEALED_IMAGE, &[], Some(&key), &mut s, &mut loaded).unwrap();
    assert_eq!(report.sequence, FIXTURE_SEQ);
    assert_eq!(
        s.refresh_margin_s,
        crate::config::DEFAULT_REFRESH_MARGIN_S,
        "format 2 kept no margin"
    );
    let mut out = vec![0u8; IMAGE_MAX_LEN];
    let n = nv::save(&s, &loaded, FIXTURE_SEQ + 1, None, &mut out).unwrap();
    assert_eq!(u16::from_le_bytes([out[4], out[5]]), 6);
    let mut again = TokenStore::new();
    let mut s2 = Settings::default();
    nv::load(&out[..n], &[], None, &mut s2, &mut again).unwrap();
    assert!(s2 == s);
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
        // Under Miri, the sizes around the prefix's end and a page (one
        // octet at a time remakes the body hundreds of times).
        let sizes: &[usize] = if cfg!(miri) {
            &[19, 21, 64]
        } else {
            &[1, 7, 19, 20, 21, 64, 100, 333]
        };
        for &size in sizes.iter().chain([expected.len()].iter()) {
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
        V6_SEALED_IMAGE
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 1 } else { 32 }))]

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

// ----- the image read in pieces (R-MEM) -----

use super::{load_from, ReadFault, SlotId, SlotReader, RECORDS_MAX_LEN};

/// Two slots of flash read through a driver, counting what it is asked.
struct Flash {
    slots: [Vec<u8>; 2],
    /// The read number (from 0) that fails, if any.
    fail_at: Option<usize>,
    reads: usize,
    largest_read: usize,
}

impl Flash {
    fn new(a: &[u8], b: &[u8]) -> Self {
        Flash {
            slots: [a.to_vec(), b.to_vec()],
            fail_at: None,
            reads: 0,
            largest_read: 0,
        }
    }
}

impl SlotReader for Flash {
    fn slot_len(&self, slot: SlotId) -> usize {
        self.slots[slot as usize].len()
    }

    fn read(&mut self, slot: SlotId, offset: usize, out: &mut [u8]) -> Result<(), ReadFault> {
        let n = self.reads;
        self.reads += 1;
        self.largest_read = self.largest_read.max(out.len());
        if self.fail_at == Some(n) {
            return Err(ReadFault);
        }
        out.copy_from_slice(&self.slots[slot as usize][offset..offset + out.len()]);
        Ok(())
    }
}

/// A slot of flash holding `image`, erased (0xFF) after it.
fn flash_slot(image: &[u8]) -> Vec<u8> {
    let mut slot = vec![0xFFu8; 4096.max(image.len())];
    slot[..image.len()].copy_from_slice(image);
    slot
}

type Outcome = (
    Result<nv::LoadReport, NvError>,
    Settings,
    Vec<(TokenOwner, Option<Vec<u8>>)>,
);

fn outcome(r: Result<nv::LoadReport, NvError>, s: Settings, store: &TokenStore) -> Outcome {
    let tokens = [TokenOwner::Admin, user("alice"), user("bob")]
        .into_iter()
        .map(|o| {
            let rt = store.refresh_token(&o).map(|t| t.expose().to_vec());
            (o, rt)
        })
        .collect();
    (r, s, tokens)
}

fn from_memory(a: &[u8], b: &[u8], key: Option<&DeviceKey>) -> Outcome {
    let (mut s, mut store) = (Settings::default(), TokenStore::new());
    let r = nv::load(a, b, key, &mut s, &mut store);
    outcome(r, s, &store)
}

fn from_flash(flash: &mut Flash, scratch: usize, key: Option<&DeviceKey>) -> Outcome {
    let (mut s, mut store) = (Settings::default(), TokenStore::new());
    let mut scratch = vec![0u8; scratch];
    let r = load_from(flash, &mut scratch, key, &mut s, &mut store);
    outcome(r, s, &store)
}

#[test]
fn an_image_read_in_pieces_loads_as_from_memory() {
    let key = DeviceKey::new(&FIXTURE_KEY);
    let older = {
        let (mut settings, store) = fixture_state();
        settings.smtp.as_mut().unwrap().port = 2525;
        let mut out = vec![0u8; IMAGE_MAX_LEN];
        let seal = Some(Seal {
            key: &key,
            random: FIXTURE_RANDOM,
        });
        let n = nv::save(&settings, &store, FIXTURE_SEQ - 1, seal, &mut out).unwrap();
        out.truncate(n);
        out
    };
    let (a, b) = (flash_slot(V3_SEALED_IMAGE), flash_slot(&older));
    let expected = from_memory(&a, &b, Some(&key));
    assert_eq!(expected.0.unwrap().sequence, FIXTURE_SEQ);
    let mut flash = Flash::new(&a, &b);
    assert_eq!(from_flash(&mut flash, 512, Some(&key)), expected);
    // Nothing larger than the scratch or a refresh token is read at once.
    assert!(flash.largest_read <= 512, "{}", flash.largest_read);
    // Erased flash is a first start, damaged flash is refused, as in memory.
    let erased = vec![0xFFu8; 4096];
    let mut flash = Flash::new(&erased, &[]);
    assert_eq!(from_flash(&mut flash, 64, None).0, Err(NvError::Empty));
    let junk: Vec<u8> = (0..300u32).map(|i| (i * 37 + 11) as u8).collect();
    let mut flash = Flash::new(&junk, &erased);
    assert_eq!(from_flash(&mut flash, 64, None).0, Err(NvError::Corrupt));
}

#[test]
fn a_scratch_too_short_for_the_newest_records_never_loads_the_older_image() {
    let key = DeviceKey::new(&FIXTURE_KEY);
    let (settings, store) = fixture_state();
    let mut out = vec![0u8; IMAGE_MAX_LEN];
    let n = nv::save(&settings, &store, 1, None, &mut out).unwrap();
    let older = flash_slot(&out[..n]);
    let newer = flash_slot(V2_SEALED_IMAGE);
    let mut flash = Flash::new(&older, &newer);
    let (r, s, tokens) = from_flash(&mut flash, 16, Some(&key));
    assert_eq!(r, Err(NvError::BufferTooSmall));
    assert_eq!(s.admin_address, None, "no settings loaded");
    assert!(tokens.iter().all(|(_, t)| t.is_none()), "no token loaded");
    // The bound always suffices.
    let mut flash = Flash::new(&older, &newer);
    let (r, ..) = from_flash(&mut flash, RECORDS_MAX_LEN, Some(&key));
    assert_eq!(r.unwrap().sequence, FIXTURE_SEQ);
}

#[test]
fn a_read_fault_fails_the_load_and_loads_nothing() {
    let key = DeviceKey::new(&FIXTURE_KEY);
    let a = flash_slot(V3_SEALED_IMAGE);
    let reads = {
        let mut flash = Flash::new(&a, &[]);
        from_flash(&mut flash, 512, Some(&key)).0.unwrap();
        flash.reads
    };
    // A fault at each read in turn: the check, the records, each secret
    // and each tag.
    for fail_at in 0..reads {
        let mut flash = Flash::new(&a, &[]);
        flash.fail_at = Some(fail_at);
        let (r, _, tokens) = from_flash(&mut flash, 512, Some(&key));
        assert_eq!(r, Err(NvError::ReadFailed), "read {fail_at}");
        assert!(tokens.iter().all(|(_, t)| t.is_none()), "read {fail_at}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 1 } else { 64 }))]

    /// Damaged, torn or stale slots: read in pieces, the outcome is the
    /// one from memory, whatever the damage.
    #[test]
    fn any_damage_reads_in_pieces_as_from_memory(
        cut in 0usize..400,
        flip in proptest::option::of((0usize..400, 1u8..=255)),
        sealed_key in any::<bool>(),
        swap in any::<bool>(),
    ) {
        let key = DeviceKey::new(&FIXTURE_KEY);
        let (settings, store) = fixture_state();
        let mut out = vec![0u8; IMAGE_MAX_LEN];
        let n = nv::save(&settings, &store, FIXTURE_SEQ + 1, None, &mut out).unwrap();
        let mut newer = out[..n].to_vec();
        newer.truncate(cut.max(1).min(newer.len()));
        if let Some((at, x)) = flip {
            if let Some(b) = newer.get_mut(at) {
                *b ^= x;
            }
        }
        let (mut a, mut b) = (flash_slot(V2_SEALED_IMAGE), flash_slot(&newer));
        if swap {
            std::mem::swap(&mut a, &mut b);
        }
        let k = sealed_key.then_some(&key);
        let expected = from_memory(&a, &b, k);
        let mut flash = Flash::new(&a, &b);
        prop_assert_eq!(from_flash(&mut flash, RECORDS_MAX_LEN, k), expected);
    }
}

// ----- the tagged record (format 5, issue 15 item 4) -----

/// A tag this build does not know is skipped, whatever its value and
/// however many come: a later firmware's setting does not make the record
/// undecodable. A known tag whose value does not fit is damage.
#[test]
fn the_tagged_record_skips_tags_it_does_not_know() {
    use super::records::{read_tagged, NvValue};
    let mut bytes = vec![0u8; 64];
    let pairs: [(u8, NvValue<'_>); 4] = [
        (200, NvValue::Text("a setting of a later firmware")),
        (1, NvValue::Number(1200)),
        (201, NvValue::Bool(true)),
        (202, NvValue::Choice(7)),
    ];
    let mut used = postcard::to_slice(&pairs.len(), &mut bytes).unwrap().len();
    for p in &pairs {
        used += postcard::to_slice(p, &mut bytes[used..]).unwrap().len();
    }
    bytes[used] = 0xAB; // what follows the record
    let mut s = Settings::default();
    let rest = read_tagged(&bytes[..=used], &mut s, NvError::Corrupt).unwrap();
    assert_eq!(rest, [0xAB]);
    assert_eq!(s.refresh_margin_s, 1200);
    // The margin's tag with a value that is not a number, or too large.
    for bad in [NvValue::Bool(true), NvValue::Number(70_000)] {
        let mut b = vec![0u8; 16];
        let n = postcard::to_slice(&1usize, &mut b).unwrap().len();
        let m = postcard::to_slice(&(1u8, bad), &mut b[n..]).unwrap().len();
        assert_eq!(
            read_tagged(&b[..n + m], &mut s, NvError::Corrupt),
            Err(NvError::Corrupt)
        );
    }
    // Cut short: undecodable.
    assert_eq!(
        read_tagged(&bytes[..used - 1], &mut s, NvError::BufferTooSmall),
        Err(NvError::BufferTooSmall)
    );
}

/// Issue 15 item 4: every setting the schema tags comes back from an
/// image, without a line of its own in the image code; at its default it
/// takes no room.
#[test]
fn every_tagged_setting_of_the_schema_round_trips_through_the_image() {
    use crate::config::{Kind, Nv, Value, SCHEMA};
    let (settings, store) = fixture_state();
    let plain = whole(&settings, &store, None);
    let mut changed = settings.clone();
    for setting in SCHEMA.iter().filter(|s| matches!(s.nv, Nv::Tag(_))) {
        let v = match setting.kind {
            Kind::Bool => Value::Bool(true),
            Kind::Number { min, .. } => Value::Number(min),
            Kind::Choice(c) => Value::Choice(c.names[c.names.len() - 1].code),
            Kind::Text { .. } => Value::Text("5A0B6D3E"),
            Kind::Address => Value::Text("mfp-sender@contoso-mfp.iam.gserviceaccount.com"),
            Kind::Composite => unreachable!("a composite setting has no tag"),
        };
        changed.set_value(setting.field, v).unwrap();
        assert!(
            !changed.field_is_default(setting.field),
            "{}",
            setting.field
        );
    }
    let image = whole(&changed, &store, None);
    assert!(image.len() > plain.len());
    let mut s = Settings::default();
    nv::load(&image, &[], None, &mut s, &mut TokenStore::new()).unwrap();
    assert!(s == changed, "every tagged setting comes back");
    // Back at their defaults, they take no room: the fixture's image.
    let mut s = Settings::default();
    nv::load(&plain, &[], None, &mut s, &mut TokenStore::new()).unwrap();
    assert!(s == settings);
}

/// R-MEM: the writer makes the metadata record as it encodes it
/// (`MetaRecord`); its octets are those of the gathered record (`NvMeta`),
/// with no user, with the fixture's two and with every user slot taken, a
/// death date on some, a client secret and a setting of each kind tagged.
#[test]
fn the_streamed_metadata_record_is_the_gathered_one() {
    use super::records::{nv_settings, nv_slot, nv_tagged, MetaRecord, NvMeta, NvUser};
    use crate::limits::MAX_USER_TOKENS;
    fn gathered(settings: &Settings, store: &TokenStore) -> Vec<u8> {
        let meta = NvMeta {
            settings: nv_settings(settings),
            tagged: nv_tagged(settings),
            client_secret_len: u16::try_from(settings.app_client_secret.0.len()).unwrap(),
            admin: nv_slot(&store.admin),
            users: store
                .user_entries()
                .map(|u| NvUser {
                    id: &u.id,
                    slot: nv_slot(&u.slot),
                })
                .collect(),
            expiries: core::iter::once(&store.admin)
                .chain(store.user_entries().map(|u| &u.slot))
                .map(|slot| slot.refresh_expires_at.map(|w| w.0))
                .collect(),
        };
        encoded(&meta)
    }
    fn streamed(settings: &Settings, store: &TokenStore) -> Vec<u8> {
        encoded(&MetaRecord { settings, store })
    }
    fn encoded(record: &impl serde::Serialize) -> Vec<u8> {
        let mut out = vec![0u8; IMAGE_MAX_LEN];
        let n = postcard::to_slice(record, &mut out).unwrap().len();
        out.truncate(n);
        out
    }
    let (mut settings, mut store) = fixture_state();
    assert_eq!(streamed(&settings, &store), gathered(&settings, &store));
    let empty = TokenStore::new();
    assert_eq!(streamed(&settings, &empty), gathered(&settings, &empty));
    for i in 2..MAX_USER_TOKENS {
        let name = format!("user{i}");
        let account = addr(&format!("{name}@contoso.com"));
        let life = (i % 2 == 0).then(|| Duration::from_secs(86_400 * i as u64));
        store
            .store_signed_in(
                at(0),
                Some(FIXTURE_WALL),
                &user(&name),
                &account,
                TokenGrant {
                    refresh_expires_in: life,
                    ..grant(b"AT", 3600, Some(name.as_bytes()))
                },
                Some(&account),
            )
            .unwrap();
    }
    assert_eq!(store.user_entries().count(), MAX_USER_TOKENS);
    settings.refresh_margin_s = 1200;
    settings.app_client_secret.0.set(b"app-secret").unwrap();
    let full = streamed(&settings, &store);
    assert_eq!(full, gathered(&settings, &store));
    assert!(full.len() > streamed(&settings, &empty).len());
}

/// R-APP, R-NV: the app's client secret is sealed in the vault like the
/// proxy password: it comes back with the device key only, is not in the
/// image in clear, and an older format has none.
#[test]
fn the_client_secret_is_sealed_and_comes_back() {
    let (mut settings, store) = fixture_state();
    const SECRET: &[u8] = b"Qx8~client-secret-fixture-2b4d6f";
    settings.app_client_secret.0.set(SECRET).unwrap();
    let key = DeviceKey::new(&FIXTURE_KEY);
    let seal = Seal {
        key: &key,
        random: FIXTURE_RANDOM,
    };
    let image = whole(&settings, &store, Some(seal));
    assert!(!image.windows(8).any(|w| SECRET.windows(8).any(|s| s == w)));
    let mut s = Settings::default();
    nv::load(&image, &[], Some(&key), &mut s, &mut TokenStore::new()).unwrap();
    assert_eq!(s.app_client_secret.0.expose(), SECRET);
    assert!(s == settings);
    // In pieces, the same (under Miri in fewer pieces: each piece remakes
    // the sealed body).
    let piece = if cfg!(miri) { 128 } else { 7 };
    assert_eq!(in_pieces(&settings, &store, Some(seal), &[piece]), image);
    // A format-5 image (the fixture) has none: any secret in the settings
    // loaded into is wiped.
    let mut s = settings.clone();
    nv::load(
        V5_SEALED_IMAGE,
        &[],
        Some(&key),
        &mut s,
        &mut TokenStore::new(),
    )
    .unwrap();
    assert!(s.app_client_secret.0.is_empty());
}
