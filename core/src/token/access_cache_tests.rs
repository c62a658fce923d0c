//! The packed access-token cache (R-TOK-1, R-MEM): what fits stays, what
//! does not evicts the least recently used (a handed-in token last), the
//! tokens read back their own octets however they were moved, and no octet
//! of a token that is gone stays in the pool.

use proptest::prelude::*;

use super::access_cache::{AccessCache, NewToken};
use crate::limits::{ACCESS_CACHE_LEN, MAX_ACCESS_TOKEN_LEN};
use crate::time::{Duration, Instant};

fn t(s: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(s)
}

/// A token of `len` octets, each `fill` (never 0, so that wiping shows).
fn token(fill: u8, len: usize) -> Vec<u8> {
    vec![fill; len]
}

fn put(cache: &mut AccessCache<u8>, now: u64, key: u8, token: &[u8], handed: bool) {
    cache.insert(
        t(now),
        NewToken {
            key,
            token,
            refresh_at: t(now + 3000),
            expires_at: t(now + 3600),
            handed,
        },
    );
}

/// The pool is zero past the octets the held tokens take.
fn zero_past_tokens(cache: &AccessCache<u8>, held: usize) -> bool {
    cache
        .storage()
        .get(held..)
        .is_some_and(|rest| rest.iter().all(|b| *b == 0))
}

#[test]
fn two_tokens_that_fit_together_both_stay_and_read_their_own_octets() {
    let mut cache = AccessCache::new(0u8);
    let (a, b) = (token(0xa1, 3000), token(0xb2, 3000));
    put(&mut cache, 0, 1, &a, false);
    put(&mut cache, 1, 2, &b, false);
    assert_eq!(cache.count(), 2);
    assert_eq!(cache.token_of(1), Some(&a[..]));
    assert_eq!(cache.token_of(2), Some(&b[..]));
    assert_eq!(cache.fresh(1, t(2)), Some(&a[..]));
    // Due for a refresh: not fresh, but still lent to a session under way.
    assert_eq!(cache.fresh(1, t(3000)), None);
    assert_eq!(cache.token_of(1), Some(&a[..]));
    assert!(zero_past_tokens(&cache, 6000));
}

#[test]
fn a_token_that_does_not_fit_evicts_the_least_recently_used() {
    let mut cache = AccessCache::new(0u8);
    let (a, b, c) = (token(0xa1, 1000), token(0xb2, 3000), token(0xc3, 4000));
    put(&mut cache, 0, 1, &a, false);
    put(&mut cache, 1, 2, &b, false);
    // Key 1 used since: key 2's is the least recently used.
    assert!(cache.fresh(1, t(2)).is_some());
    put(&mut cache, 3, 3, &c, false);
    assert_eq!(cache.token_of(2), None);
    assert_eq!(cache.token_of(1), Some(&a[..]));
    assert_eq!(cache.token_of(3), Some(&c[..]));
    assert!(!cache.holds(&b));
    assert!(zero_past_tokens(&cache, 5000));
    // Two of the longest never fit together: the older goes.
    let long = token(0xd4, MAX_ACCESS_TOKEN_LEN);
    put(&mut cache, 4, 1, &long, false);
    assert_eq!(cache.count(), 1);
    assert_eq!(cache.token_of(1), Some(&long[..]));
}

#[test]
fn a_replaced_token_moves_the_other_down_without_losing_an_octet() {
    let mut cache = AccessCache::new(0u8);
    let first = token(0xa1, 500);
    let other: Vec<u8> = (0..2000u32).map(|i| (i % 251 + 1) as u8).collect();
    put(&mut cache, 0, 1, &first, false);
    put(&mut cache, 1, 2, &other, false);
    // Key 1's new token is longer; key 2's lay after the old one.
    let renewed = token(0xe5, 1500);
    put(&mut cache, 2, 1, &renewed, false);
    assert_eq!(cache.token_of(2), Some(&other[..]));
    assert_eq!(cache.token_of(1), Some(&renewed[..]));
    assert!(!cache.holds(&first));
    assert!(zero_past_tokens(&cache, 3500));
    // Cleared, key 2's: only key 1's octets are left, at the start.
    cache.clear(|e| e.key == 2);
    assert_eq!(cache.token_of(1), Some(&renewed[..]));
    assert_eq!(cache.storage().get(..1500), Some(&renewed[..]));
    assert!(zero_past_tokens(&cache, 1500));
    cache.clear(|_| true);
    assert_eq!(cache.count(), 0);
    assert!(zero_past_tokens(&cache, 0));
}

#[test]
fn a_handed_in_token_goes_only_when_the_new_one_would_not_fit_beside_it() {
    let mut cache = AccessCache::new(0u8);
    let handed = token(0xa1, 3500);
    put(&mut cache, 0, 1, &handed, true);
    // Another slot's tokens come and go around it.
    put(&mut cache, 1, 2, &token(0xb2, 2000), false);
    put(&mut cache, 2, 3, &token(0xc3, 2500), false);
    assert_eq!(cache.token_of(1), Some(&handed[..]));
    assert_eq!(cache.token_of(2), None);
    assert!(cache.token_of(3).is_some());
    // One that cannot lie beside it, even alone: the handed-in one goes,
    // as the job needs the new one now.
    let long = token(0xd4, ACCESS_CACHE_LEN - 3000);
    put(&mut cache, 3, 2, &long, false);
    assert_eq!(cache.token_of(1), None);
    assert_eq!(cache.token_of(2), Some(&long[..]));
    assert!(!cache.holds(&handed));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 2 } else { 64 }))]

    /// Any sequence of tokens cached and cleared: the newest is always
    /// held, every held token reads the octets last cached for its key,
    /// they fit the pool, and nothing past them is left in it.
    #[test]
    fn whatever_comes_the_cache_holds_what_it_says_and_nothing_else(
        steps in proptest::collection::vec(
            (0u8..4, 1usize..=MAX_ACCESS_TOKEN_LEN, any::<bool>(), 0u8..8),
            1..24,
        ),
    ) {
        let mut cache = AccessCache::new(0u8);
        let mut last: [Option<Vec<u8>>; 4] = Default::default();
        for (n, (key, len, handed, action)) in steps.into_iter().enumerate() {
            let now = n as u64;
            if action == 0 {
                cache.clear(|e| e.key == key);
                last[usize::from(key)] = None;
            } else {
                let fill = (n % 254 + 1) as u8;
                let new = token(fill, len);
                put(&mut cache, now, key, &new, handed && action == 1);
                prop_assert_eq!(cache.token_of(key), Some(&new[..]));
                last[usize::from(key)] = Some(new);
            }
            let mut held = 0;
            for k in 0..4u8 {
                if let Some(tok) = cache.token_of(k) {
                    prop_assert_eq!(Some(tok), last[usize::from(k)].as_deref());
                    held += tok.len();
                }
            }
            prop_assert!(cache.count() <= 2);
            prop_assert!(held <= ACCESS_CACHE_LEN);
            prop_assert!(zero_past_tokens(&cache, held));
        }
    }
}
