//! Power-cut simulation of the persistence image (R-NV, R-TOK-2, issue 9).
//!
//! A simulated NOR flash records every write the firmware issues for the
//! image, in the order the C API documents (`mfp_oauth_mailer_save`, then
//! `mfp_oauth_mailer_image_written`, then the optional erase of the other
//! slot):
//!
//! 1. `(slot, seq) = cursor.next()`, `len = nv::save(..)`;
//! 2. erase every page of `slot` (pages of [`PAGE`] octets);
//! 3. program `image[..len]` from offset 0 upwards (bits go only 1 → 0);
//! 4. read back, then `cursor.written(slot, seq)`: the image is committed;
//! 5. if the store asked for it (`erase_other_slot`), erase every page of the
//!    other slot.
//!
//! A long sequence of lifecycle events (sign-in by device grant and by PKCE,
//! refresh with and without rotation, `invalid_grant`, account deletion,
//! settings changes, power-on) runs against it. For every flash operation of
//! every save, power is cut at every point: before each page erase, in the
//! middle of an erase (half the page erased, or every bit only partly raised),
//! before each programmed octet, and with that octet torn (only some of its
//! 1 → 0 bits programmed). After each cut the two slots are loaded and the
//! decoded state (settings, statuses, accounts, refresh tokens) must be
//! exactly the last committed state or the one being written, never garbage,
//! never an error while a state was committed; a committed refresh token is
//! never lost (a rotated one comes back only if its successor was not yet
//! committed). The loaded cursor must never aim the next write at the slot
//! it loaded from.
//!
//! Running time: the fixed sequence and the property test are sized for
//! well under a minute in a debug build. `MFP_POWERCUT_LONG=1` multiplies
//! the sequence length and the property cases by ten (a few minutes).

use std::collections::BTreeMap;

use super::{self as nv, DeviceKey, NvCursor, NvError, Seal, SlotId};
use crate::address::Address;
use crate::config::tests::{addr, valid};
use crate::config::{Proxy, SenderMode, Settings, SmtpServer};
use crate::secret::SecretBuf;
use crate::smtp::Security;
use crate::token::tests::{at, grant, user};
use crate::token::*;
use proptest::prelude::*;

/// Octets of one erase page of the simulated flash.
const PAGE: usize = 256;
/// Pages of one slot: larger than any image the sequences make (checked).
const PAGES_PER_SLOT: usize = 6;
const SLOT_LEN: usize = PAGE * PAGES_PER_SLOT;

fn long_run() -> bool {
    std::env::var_os("MFP_POWERCUT_LONG").is_some_and(|v| v != "0")
}

// ----- the flash -----

/// One operation the firmware issues on the flash.
#[derive(Debug, Clone)]
enum FlashOp {
    Erase { slot: usize, page: usize },
    Program { slot: usize, data: Vec<u8> },
}

/// Why the operation is issued: writing the new image, or erasing the
/// older copy after the new one was committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Write,
    EraseOther,
}

#[derive(Clone)]
struct Flash {
    slots: [Vec<u8>; 2],
}

impl Flash {
    fn erased() -> Self {
        Flash {
            slots: [vec![0xFF; SLOT_LEN], vec![0xFF; SLOT_LEN]],
        }
    }

    fn apply(&mut self, op: &FlashOp) {
        match op {
            FlashOp::Erase { slot, page } => {
                self.slots[*slot][page * PAGE..(page + 1) * PAGE].fill(0xFF);
            }
            FlashOp::Program { slot, data } => {
                for (cell, d) in self.slots[*slot].iter_mut().zip(data) {
                    *cell &= d;
                }
            }
        }
    }
}

/// A cut point: which operation of the save, and where inside it (read
/// through `Debug` in failure messages).
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)]
enum Cut {
    /// Before operation `op` starts (after the last one, the save is whole).
    Before { op: usize },
    /// Erase of operation `op` interrupted: half the page erased.
    HalfErased { op: usize },
    /// Erase of operation `op` interrupted: every bit only partly raised.
    WeakErase { op: usize },
    /// Program of operation `op` stopped before octet `at`.
    Programmed { op: usize, at: usize },
    /// Program of operation `op` stopped in octet `at`: only the bits of
    /// `mask` that had to go to 0 did.
    Torn { op: usize, at: usize, mask: u8 },
}

/// A torn octet's mask, varied with the offset so that every bit position
/// is seen torn both ways along an image.
fn torn_mask(at: usize) -> u8 {
    let m = (at as u8).wrapping_mul(0x9D) ^ 0x5A;
    if m == 0 || m == 0xFF {
        0x0F
    } else {
        m
    }
}

/// What a cut shows the checker: slot A, slot B, the cut, its phase.
type Visit<'a> = dyn FnMut(&[u8], &[u8], Cut, Phase) + 'a;

/// Walk every cut of `ops` applied to `flash`, calling `f` with the two
/// slots as the cut leaves them, the cut, and the phase of its operation.
/// Returns the flash after all operations.
fn for_each_cut(
    flash: &Flash,
    ops: &[(Phase, FlashOp)],
    mut f: impl FnMut(&[u8], &[u8], Cut, Phase),
) -> Flash {
    let mut work = flash.clone();
    let call = |f: &mut Visit<'_>, w: &Flash, cut: Cut, phase: Phase| {
        f(&w.slots[0], &w.slots[1], cut, phase);
    };
    for (i, (phase, op)) in ops.iter().enumerate() {
        call(&mut f, &work, Cut::Before { op: i }, *phase);
        match op {
            FlashOp::Erase { slot, page } => {
                let range = page * PAGE..(page + 1) * PAGE;
                let saved = work.slots[*slot][range.clone()].to_vec();
                work.slots[*slot][range.start..range.start + PAGE / 2].fill(0xFF);
                call(&mut f, &work, Cut::HalfErased { op: i }, *phase);
                for (cell, old) in work.slots[*slot][range.clone()].iter_mut().zip(&saved) {
                    *cell = old | 0x5A;
                }
                call(&mut f, &work, Cut::WeakErase { op: i }, *phase);
                work.slots[*slot][range].copy_from_slice(&saved);
            }
            FlashOp::Program { slot, data } => {
                for (at, d) in data.iter().enumerate() {
                    if at > 0 {
                        call(&mut f, &work, Cut::Programmed { op: i, at }, *phase);
                    }
                    let old = work.slots[*slot][at];
                    let mask = torn_mask(at);
                    let torn = old & (d | !mask);
                    if torn != old && torn != old & d {
                        work.slots[*slot][at] = torn;
                        call(&mut f, &work, Cut::Torn { op: i, at, mask }, *phase);
                    }
                    work.slots[*slot][at] = old & d;
                }
            }
        }
        work.apply(op);
    }
    let last = ops.last().map_or(Phase::Write, |(p, _)| *p);
    call(&mut f, &work, Cut::Before { op: ops.len() }, last);
    work
}

/// The operations of one save of `image` into `slot`, and of the erase of
/// the other slot if asked.
fn save_ops(slot: SlotId, image: &[u8], erase_other: bool) -> Vec<(Phase, FlashOp)> {
    let i = usize::from(slot == SlotId::B);
    let mut ops: Vec<_> = (0..PAGES_PER_SLOT)
        .map(|page| (Phase::Write, FlashOp::Erase { slot: i, page }))
        .collect();
    ops.push((
        Phase::Write,
        FlashOp::Program {
            slot: i,
            data: image.to_vec(),
        },
    ));
    if erase_other {
        ops.extend(
            (0..PAGES_PER_SLOT)
                .map(|page| (Phase::EraseOther, FlashOp::Erase { slot: 1 - i, page })),
        );
    }
    ops
}

// ----- the decoded state -----

#[derive(Debug, Clone, PartialEq, Eq)]
struct SlotView {
    status: TokenStatus,
    account: Option<Address>,
    refresh: Option<Vec<u8>>,
    /// From the persisted acquisition and last-use times.
    expiry: Option<WallTime>,
}

/// Everything the image carries, as the firmware sees it after a load.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    settings: Settings,
    admin: SlotView,
    users: BTreeMap<String, SlotView>,
}

fn view(settings: &Settings, store: &TokenStore, owner: &TokenOwner) -> SlotView {
    SlotView {
        expiry: store.expected_expiry(owner, settings),
        status: store.status(owner),
        account: store.account(owner).cloned(),
        refresh: store.refresh_token(owner).map(|r| r.expose().to_vec()),
    }
}

fn snapshot(settings: &Settings, store: &TokenStore) -> State {
    State {
        settings: settings.clone(),
        admin: view(settings, store, &TokenOwner::Admin),
        users: store
            .users()
            .map(|(id, _, _)| (id.to_string(), view(settings, store, &user(id))))
            .collect(),
    }
}

/// Every refresh token of `s`, with its owner.
fn refresh_tokens(s: &State) -> Vec<(String, Vec<u8>)> {
    let admin = s.admin.refresh.clone().map(|r| ("admin".to_string(), r));
    admin
        .into_iter()
        .chain(
            s.users
                .iter()
                .filter_map(|(id, v)| v.refresh.clone().map(|r| (id.clone(), r))),
        )
        .collect()
}

// ----- the device -----

/// The printer: settings, token store, NV cursor and flash, with the last
/// committed state.
struct Device {
    settings: Settings,
    store: TokenStore,
    cursor: NvCursor,
    flash: Flash,
    key: Option<DeviceKey>,
    committed: Option<State>,
    now: u64,
    wall: u64,
    serial: u32,
    /// Cut points checked, for the report.
    cuts: u64,
    /// Saves made.
    saves: u64,
    /// Largest image written.
    largest: usize,
}

#[derive(Debug, Clone, Copy)]
enum Event {
    /// An interactive sign-in of owner 0 (administrator) or 1..=3 (users),
    /// from the device grant or from the PKCE browser flow.
    Acquire { owner: u8, pkce: bool },
    /// A refresh grant; `rotate`: a new refresh token came back; `next_day`:
    /// the wall clock moved a day (the last use is persisted once a day).
    Refresh {
        owner: u8,
        rotate: bool,
        next_day: bool,
    },
    /// The refresh grant failed with `invalid_grant` (R-TOK-4).
    InvalidGrant { owner: u8 },
    /// A user's tokens are deleted (R-TOK-5).
    DeleteUser { owner: u8 },
    /// The administrator changes a setting (some invalidate tokens).
    Settings { change: u8 },
    /// Power-off and on, without a cut: reload from flash.
    PowerOn,
    /// The next save is cut at cut point `at` (modulo their number), then
    /// the device restarts from what it finds in flash.
    PowerCut { at: u32 },
}

fn owner(o: u8) -> TokenOwner {
    match o {
        0 => TokenOwner::Admin,
        n => user(&format!("user{n}")),
    }
}

impl Device {
    fn new(sealed: bool) -> Self {
        let mut settings = valid(SenderMode::LoginUserAddress);
        settings.auto_delete_user_tokens = true;
        Device {
            settings,
            store: TokenStore::new(),
            cursor: NvCursor::new(),
            flash: Flash::erased(),
            key: sealed.then(|| DeviceKey::new(&[0x42; 32])),
            committed: None,
            now: 0,
            wall: 1_750_000_000,
            serial: 0,
            cuts: 0,
            saves: 0,
            largest: 0,
        }
    }

    /// A fresh, distinctive refresh token whose length varies.
    fn token(&mut self, kind: &str) -> Vec<u8> {
        self.serial += 1;
        let pad = "x".repeat((self.serial as usize * 7) % 40);
        format!("RT-{kind}-{:05}-{pad}", self.serial).into_bytes()
    }

    fn state(&self) -> State {
        snapshot(&self.settings, &self.store)
    }

    /// Run one event; a `PowerCut` arms `cut_at` for the next save.
    fn run(&mut self, e: Event, cut_at: &mut Option<u32>) {
        self.now += 600;
        let now = at(self.now);
        let wall = Some(WallTime(self.wall));
        let mut force_save = false;
        match e {
            Event::Acquire { owner: o, pkce } => {
                let rt = self.token(if pkce { "pkce" } else { "device" });
                let account = if o == 0 {
                    addr("admin@contoso.com")
                } else {
                    addr(&format!("user{o}@contoso.com"))
                };
                self.store
                    .store_acquired(
                        now,
                        wall,
                        &owner(o),
                        &account,
                        grant(b"AT", 3600, Some(&rt)),
                    )
                    .unwrap();
            }
            Event::Refresh {
                owner: o,
                rotate,
                next_day,
            } => {
                if next_day {
                    self.wall += 86_400;
                }
                let rt = self.token("rotated");
                let r = self.store.refreshed(
                    now,
                    Some(WallTime(self.wall)),
                    &owner(o),
                    grant(b"AT", 3600, rotate.then_some(&rt[..])),
                );
                // Only a slot holding a refresh token can be refreshed.
                let holds = self.store.refresh_token(&owner(o)).is_some();
                assert_eq!(r.is_ok(), holds, "{r:?}");
            }
            Event::InvalidGrant { owner: o } => {
                self.store
                    .refresh_failed(&owner(o), RefreshFailure::InvalidGrant);
            }
            Event::DeleteUser { owner: o } => {
                let _ = self.store.delete_user(&format!("user{o}"));
            }
            Event::Settings { change } => {
                let mut new = self.settings.clone();
                match change % 5 {
                    0 => new.auto_delete_user_tokens = !new.auto_delete_user_tokens,
                    1 => {
                        let port = new.smtp.as_ref().map_or(587, |s| s.port);
                        new.smtp = SmtpServer::new(
                            "smtp.office365.com",
                            if port == 587 { 25 } else { 587 },
                            Security::StartTls,
                        );
                    }
                    2 => {
                        new.proxy = match new.proxy {
                            Some(_) => None,
                            None => {
                                let pw = self.token("proxy-pw");
                                Some(Proxy {
                                    host: "proxy.contoso.local".try_into().unwrap(),
                                    port: 3128,
                                    user: "mfp".try_into().unwrap(),
                                    password: SecretBuf::from_slice(&pw).unwrap(),
                                })
                            }
                        }
                    }
                    3 => {
                        // Another administrator mailbox: the old token goes.
                        let next = if new
                            .admin_address
                            .as_ref()
                            .is_some_and(|a| a.as_str() == "admin@contoso.com")
                        {
                            "it@contoso.com"
                        } else {
                            "admin@contoso.com"
                        };
                        new.admin_address = Some(addr(next));
                    }
                    _ => {
                        // Another tenant: every token goes.
                        new.tenant = if new.tenant.as_str() == "contoso.onmicrosoft.com" {
                            "organizations".try_into().unwrap()
                        } else {
                            "contoso.onmicrosoft.com".try_into().unwrap()
                        };
                    }
                }
                let applied = self.settings.apply(new).unwrap();
                self.store.apply_config(&applied);
                // The firmware writes the image after any settings change.
                force_save = true;
            }
            Event::PowerOn => {
                self.store.power_on();
                self.reboot(&self.flash.clone(), "power-on");
                return;
            }
            Event::PowerCut { at } => {
                *cut_at = Some(at);
                return;
            }
        }
        let mut erase_other = None;
        while let Some(ev) = self.store.poll_event() {
            if let StoreEvent::Persist { erase_other_slot } = ev {
                erase_other = Some(erase_other_slot);
            }
        }
        if force_save || erase_other.is_some() {
            self.save(erase_other.unwrap_or(false), cut_at.take());
        }
    }

    /// Restart from `flash`: load, check against the committed state, go
    /// on with what was loaded.
    fn reboot(&mut self, flash: &Flash, what: &str) {
        let mut settings = Settings::default();
        let mut store = TokenStore::new();
        let r = nv::load(
            &flash.slots[0],
            &flash.slots[1],
            self.key.as_ref(),
            &mut settings,
            &mut store,
        );
        let r_ok = r.is_ok();
        match r {
            Ok(report) => {
                store.power_on();
                self.settings = settings;
                self.store = store;
                self.cursor = report.cursor;
            }
            Err(e) => {
                assert!(
                    self.committed.is_none(),
                    "{what}: {e:?} with a committed state"
                );
                // Nothing was ever committed: a first start.
                let fresh = Device::new(false);
                self.settings = fresh.settings;
                self.store = fresh.store;
                self.cursor = fresh.cursor;
            }
        }
        if let (Some(c), true) = (&self.committed, what == "power-on") {
            assert_eq!(
                &self.state(),
                c,
                "power-on without a cut: the committed state"
            );
        }
        if r_ok {
            // After a cut the device goes on from what it loaded: that is
            // now the committed state (a lost save never happened).
            self.committed = Some(self.state());
        }
        self.flash = flash.clone();
    }

    /// Save the image through the simulated flash, checking every cut; with
    /// `cut` the save stops at that cut point and the device restarts.
    fn save(&mut self, erase_other: bool, cut_seed: Option<u32>) {
        let (slot, seq) = self.cursor.next();
        let mut out = vec![0u8; nv::IMAGE_MAX_LEN];
        let seal = self.key.as_ref().map(|key| Seal {
            key,
            random: {
                let mut r = [0u8; nv::RANDOM_LEN];
                r[..4].copy_from_slice(&seq.to_le_bytes());
                r
            },
        });
        let len = nv::save(&self.settings, &self.store, seq, seal, &mut out).unwrap();
        assert!(len <= SLOT_LEN, "image {len} > simulated slot {SLOT_LEN}");
        self.largest = self.largest.max(len);
        self.saves += 1;
        let ops = save_ops(slot, &out[..len], erase_other);
        let old = self.committed.clone();
        let new = self.state();
        let key = self.key.clone();
        let mut loaded_store = TokenStore::new();
        let mut count = 0u32;
        // With a cut: one cut point drawn uniformly (reservoir sampling
        // seeded by the event), kept to restart from.
        let mut stop: Option<(Flash, Cut)> = None;
        let after = for_each_cut(&self.flash, &ops, |a, b, cut, phase| {
            count += 1;
            let mut settings = Settings::default();
            let r = nv::load(a, b, key.as_ref(), &mut settings, &mut loaded_store);
            check_cut(
                r,
                &settings,
                &loaded_store,
                old.as_ref(),
                &new,
                phase,
                cut,
                slot,
            );
            if cut_seed.is_some_and(|seed| {
                splitmix(u64::from(seed) ^ u64::from(count) << 32) % u64::from(count) == 0
            }) {
                stop = Some((
                    Flash {
                        slots: [a.to_vec(), b.to_vec()],
                    },
                    cut,
                ));
            }
        });
        self.cuts += u64::from(count);
        match (cut_seed, stop) {
            (Some(_), Some((flash, c))) => self.reboot(&flash, &format!("cut {c:?}")),
            _ => {
                // Read back and verified: committed.
                assert_eq!(
                    &after.slots[usize::from(slot == SlotId::B)][..len],
                    &out[..len]
                );
                self.cursor.written(slot, seq);
                self.flash = after;
                self.committed = Some(new);
            }
        }
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The assertions after one cut.
#[allow(clippy::too_many_arguments)]
fn check_cut(
    r: Result<nv::LoadReport, NvError>,
    settings: &Settings,
    store: &TokenStore,
    old: Option<&State>,
    new: &State,
    phase: Phase,
    cut: Cut,
    written: SlotId,
) {
    let report = match (r, old) {
        (Ok(report), _) => report,
        // Nothing committed yet (the first save is torn): a first start.
        (Err(NvError::Empty | NvError::Corrupt), None) if phase == Phase::Write => return,
        (Err(e), _) => panic!("{cut:?} ({phase:?}): {e:?} although a state was committed"),
    };
    assert_eq!(store.cached_access_tokens(), 0, "{cut:?}: R-TOK-1");
    let got = snapshot(settings, store);
    let is_new = got == *new;
    let is_old = old.is_some_and(|o| got == *o);
    match phase {
        Phase::Write => assert!(
            is_new || is_old,
            "{cut:?}: loaded neither the committed nor the new state\n got {got:?}\n new {new:?}\n old {old:?}"
        ),
        Phase::EraseOther => assert!(is_new, "{cut:?}: the committed state was lost: {got:?}"),
    }
    // No committed refresh token is lost: each comes back, or its slot's
    // state is the new one (rotated, deleted or replaced in the new image).
    if let Some(old) = old {
        let mine = refresh_tokens(&got);
        for (who, rt) in refresh_tokens(old) {
            let kept = mine.iter().any(|(w, t)| *w == who && *t == rt);
            assert!(
                kept || is_new,
                "{cut:?}: {who}'s committed refresh token lost"
            );
        }
    }
    // The next write never goes over the image just loaded.
    assert_ne!(report.cursor.next().0, report.slot, "{cut:?}");
    if is_new && !is_old && phase == Phase::Write {
        assert_eq!(report.slot, written, "{cut:?}");
    }
}

/// The fixed, long sequence: a printer's months in a few hundred events,
/// with every kind of event in a deterministic mix.
fn fixed_sequence(len: usize) -> Vec<Event> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // xorshift64*: deterministic, no dependency.
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut events = vec![
        Event::Acquire {
            owner: 0,
            pkce: false,
        },
        Event::Acquire {
            owner: 1,
            pkce: true,
        },
    ];
    while events.len() < len {
        let r = next();
        let o = ((r >> 8) % 4) as u8;
        let e = match r % 16 {
            0 | 1 => Event::Acquire {
                owner: o,
                pkce: r & 0x100 != 0,
            },
            2..=4 => Event::Refresh {
                owner: o,
                rotate: true,
                next_day: false,
            },
            5 | 6 => Event::Refresh {
                owner: o,
                rotate: false,
                next_day: r & 0x200 != 0,
            },
            7 => Event::InvalidGrant { owner: o },
            8 => Event::DeleteUser { owner: o.max(1) },
            9 | 10 => Event::Settings {
                change: (r >> 16) as u8,
            },
            11 | 12 => Event::PowerOn,
            _ => Event::PowerCut {
                at: (r >> 20) as u32,
            },
        };
        events.push(e);
    }
    events
}

fn run(events: &[Event], sealed: bool) -> Device {
    let mut d = Device::new(sealed);
    let mut cut = None;
    for e in events {
        d.run(*e, &mut cut);
    }
    d
}

/// R-NV: the fixed sequence, sealed (the firmware's usual configuration);
/// prints what it covered.
#[test]
#[cfg_attr(miri, ignore = "millions of loads: minutes natively, days under Miri")]
fn every_cut_of_a_long_fixed_sequence_loads_the_committed_or_the_new_state() {
    let len = if long_run() { 3000 } else { 300 };
    let events = fixed_sequence(len);
    let d = run(&events, true);
    println!(
        "power-cut simulation: {len} events, {} saves, {} cut points checked, largest image {} octets",
        d.saves, d.cuts, d.largest
    );
    assert!(d.saves > len as u64 / 4, "the sequence saves often");
    assert!(d.committed.is_some());
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (0u8..4, any::<bool>()).prop_map(|(owner, pkce)| Event::Acquire { owner, pkce }),
        (0u8..4, any::<bool>(), any::<bool>()).prop_map(|(owner, rotate, next_day)| {
            Event::Refresh {
                owner,
                rotate,
                next_day,
            }
        }),
        (0u8..4).prop_map(|owner| Event::InvalidGrant { owner }),
        (1u8..4).prop_map(|owner| Event::DeleteUser { owner }),
        any::<u8>().prop_map(|change| Event::Settings { change }),
        Just(Event::PowerOn),
        any::<u32>().prop_map(|at| Event::PowerCut { at }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if long_run() { 100 } else { 10 }))]

    /// R-NV, R-TOK-2: random lifecycles, plain or sealed, with real power
    /// cuts that restart the device from whatever the flash holds.
    #[test]
    #[cfg_attr(miri, ignore = "tens of thousands of loads: too slow under Miri")]
    fn every_cut_of_random_lifecycles_loads_the_committed_or_the_new_state(
        events in proptest::collection::vec(event(), 1..30),
        sealed in any::<bool>(),
    ) {
        let _ = run(&events, sealed);
    }
}
