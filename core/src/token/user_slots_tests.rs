//! User slots lent to the store (R-MEM): as many users as slots, the
//! image round trip through them, and an image with more users than slots
//! refused without falling back to the older one (R-NV).

use super::*;
use crate::config::tests::{addr, valid};
use crate::config::SenderMode;
use crate::diag::{Diagnostic, Id};
use crate::image::{self as nv, NvCursor, NvError, SlotId, IMAGE_MAX_LEN};
use crate::limits::MAX_USER_TOKENS;
use crate::token::tests;
use crate::token::tests::{at, grant, user};

fn sign_in<U: UserSlots>(store: &mut TokenStore<U>, id: &str, rt: &[u8]) -> Result<(), TokenError> {
    store
        .store_acquired(
            at(0),
            None,
            &user(id),
            &addr(&format!("{id}@example.com")),
            grant(b"AT", 3600, Some(rt)),
        )
        .map(|_| ())
}

fn image<U: UserSlots>(store: &TokenStore<U>, seq: u32) -> Vec<u8> {
    tests::image(&valid(SenderMode::LoginUserAddress), store, seq, None)
}

#[test]
fn a_store_keeps_as_many_users_as_slots_lent() {
    let mut lent: [UserSlot; 2] = [None, None];
    let mut store = TokenStore::with_user_slots(&mut lent[..]);
    assert_eq!(store.user_capacity(), 2);
    sign_in(&mut store, "alice", b"RT-alice").unwrap();
    sign_in(&mut store, "bob", b"RT-bob").unwrap();
    assert_eq!(
        sign_in(&mut store, "carol", b"RT-carol"),
        Err(TokenError::StoreFull)
    );
    // A user already signed in signs in again in their own slot.
    sign_in(&mut store, "alice", b"RT-alice-2").unwrap();
    assert_eq!(store.users().count(), 2);
    assert_eq!(
        store.refresh_token(&user("alice")).map(|t| t.expose()),
        Some(&b"RT-alice-2"[..])
    );
    // Deleting one frees its slot for another user.
    store.delete_user("bob").unwrap();
    sign_in(&mut store, "carol", b"RT-carol").unwrap();
    // The tokens are in the lent storage, given back emptied.
    let lent = store.set_user_slots(&mut []);
    let held: Vec<&str> = lent.iter().flatten().map(|u| u.id.as_str()).collect();
    assert!(held.is_empty());
}

#[test]
fn the_users_tokens_are_in_the_slots_lent_and_wiped_with_the_store() {
    let mut lent: [UserSlot; 2] = [None, None];
    let mut store = TokenStore::with_user_slots(&mut lent[..]);
    sign_in(&mut store, "alice", b"RT-alice").unwrap();
    // The store's own part holds no user's token: forgotten (its drop
    // skipped), the lent slots still hold it.
    core::mem::forget(store);
    let alice = lent.iter().flatten().next().expect("alice's slot");
    assert_eq!(alice.id.as_str(), "alice");
    assert!(alice.slot.refresh.ct_eq(b"RT-alice"));
    // Dropped, the store empties them (the token zeroized).
    let mut store = TokenStore::with_user_slots(&mut lent[..]);
    sign_in(&mut store, "bob", b"RT-bob").unwrap();
    drop(store);
    assert!(lent.iter().all(Option::is_none));
}

#[test]
fn more_slots_than_an_image_holds_are_not_used() {
    let mut lent: Vec<UserSlot> = (0..MAX_USER_TOKENS + 3).map(|_| None).collect();
    let mut store = TokenStore::with_user_slots(lent.as_mut_slice());
    assert_eq!(store.user_capacity(), MAX_USER_TOKENS);
    for i in 0..MAX_USER_TOKENS {
        sign_in(&mut store, &format!("u{i}"), b"RT").unwrap();
    }
    assert_eq!(
        sign_in(&mut store, "one-more", b"RT"),
        Err(TokenError::StoreFull)
    );
    // Every image still fits a slot.
    assert!(image(&store, 1).len() <= IMAGE_MAX_LEN);
}

#[test]
fn lent_slots_are_emptied_and_the_users_held_before_wiped() {
    // Slots lent with a user already in them (storage reused) come out
    // empty: the store never takes what it did not put there.
    let mut first: [UserSlot; 1] = [None];
    let mut second: [UserSlot; 2] = [None, None];
    {
        let mut store = TokenStore::with_user_slots(&mut first[..]);
        sign_in(&mut store, "left-over", b"RT-left-over").unwrap();
        // A store that is never dropped leaves its user behind.
        core::mem::forget(store);
    }
    assert!(first[0].is_some());
    {
        let store = TokenStore::with_user_slots(&mut first[..]);
        assert_eq!(store.users().count(), 0);
    }
    assert!(first[0].is_none());
    {
        let mut store = TokenStore::with_user_slots(&mut first[..]);
        sign_in(&mut store, "left-over", b"RT-left-over").unwrap();
        core::mem::forget(store);
    }
    let mut store: TokenStore<Option<&mut [UserSlot]>> = TokenStore::with_user_slots(None);
    assert_eq!(store.user_capacity(), 0);
    assert_eq!(
        sign_in(&mut store, "alice", b"RT"),
        Err(TokenError::StoreFull)
    );
    let _ = store.set_user_slots(Some(&mut first[..]));
    assert_eq!(store.users().count(), 0);
    assert!(!store.holds_secret(b"RT-left-over"));
    sign_in(&mut store, "alice", b"RT-alice").unwrap();
    // Slots lent again: alice's token is wiped from the old ones.
    let emptied = store.set_user_slots(Some(&mut second[..]));
    assert!(emptied.is_some_and(|s| s.iter().all(Option::is_none)));
    assert_eq!(store.users().count(), 0);
    assert!(store.refresh_token(&user("alice")).is_none());
    drop(store);
    assert!(first[0].is_none());
    assert!(second.iter().all(Option::is_none));
}

#[test]
fn an_image_round_trips_through_lent_slots() {
    let mut lent: [UserSlot; 3] = [None, None, None];
    let mut store = TokenStore::with_user_slots(&mut lent[..]);
    sign_in(&mut store, "alice", b"RT-alice").unwrap();
    sign_in(&mut store, "bob", b"RT-bob").unwrap();
    let a = image(&store, 1);
    // Into the store's own slots, and into as many lent ones as users.
    let mut settings = valid(SenderMode::LoginUserAddress);
    let mut owned = TokenStore::new();
    nv::load(&a, &[], None, &mut settings, &mut owned).unwrap();
    let mut two: [UserSlot; 2] = [None, None];
    let mut exact = TokenStore::with_user_slots(&mut two[..]);
    nv::load(&a, &[], None, &mut settings, &mut exact).unwrap();
    for s in [&owned.users().collect::<Vec<_>>(), &exact.users().collect()] {
        let ids: Vec<&str> = s.iter().map(|u| u.0).collect();
        assert_eq!(ids, ["alice", "bob"]);
    }
    assert_eq!(
        exact.refresh_token(&user("bob")).map(|t| t.expose()),
        Some(&b"RT-bob"[..])
    );
}

#[test]
fn an_image_with_more_users_than_slots_is_refused_not_replaced_by_the_older() {
    let mut lent: [UserSlot; 3] = [None, None, None];
    let mut store = TokenStore::with_user_slots(&mut lent[..]);
    sign_in(&mut store, "alice", b"RT-alice").unwrap();
    let mut cursor = NvCursor::new();
    let (slot, seq) = cursor.next();
    assert_eq!(slot, SlotId::A);
    let older = image(&store, seq);
    cursor.written(slot, seq);
    sign_in(&mut store, "bob", b"RT-bob").unwrap();
    let (slot, seq) = cursor.next();
    assert_eq!(slot, SlotId::B);
    let newer = image(&store, seq);

    let mut settings = valid(SenderMode::LoginUserAddress);
    let mut one: [UserSlot; 1] = [None];
    let mut small = TokenStore::with_user_slots(&mut one[..]);
    // The older image alone (one user) loads into one slot...
    nv::load(&older, &[], None, &mut settings, &mut small).unwrap();
    assert_eq!(small.users().count(), 1);
    // ...but beside the newer one it is not loaded in its place: that
    // would lose bob's token at the next save.
    assert_eq!(
        nv::load(&older, &newer, None, &mut settings, &mut small),
        Err(NvError::TooManyUsers)
    );
    assert_eq!(small.users().count(), 0);
    assert!(!small.holds_secret(b"RT-alice"));
    assert_eq!(NvError::TooManyUsers.diag(), Id::NvTooManyUsers);
    // With two slots, the newer image loads.
    let mut two: [UserSlot; 2] = [None, None];
    let mut enough = TokenStore::with_user_slots(&mut two[..]);
    let report = nv::load(&older, &newer, None, &mut settings, &mut enough).unwrap();
    assert_eq!(report.slot, SlotId::B);
    assert_eq!(enough.users().count(), 2);
}
