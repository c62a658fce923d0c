//! The RAM cache of access tokens (R-TOK-1, R-MEM).
//!
//! At most [`MAX_CACHED_ACCESS_TOKENS`] tokens, packed one after another
//! in one pool of [`ACCESS_CACHE_LEN`] octets, instead of a place of the
//! longest token ([`crate::limits::MAX_ACCESS_TOKEN_LEN`]) for each: two
//! of Microsoft's (about 1.5 to 2.5 KB) or Google's (at most 2 KB) fit
//! side by side, and a token of the longest fits beside one of 2 KiB. When
//! a new token does not fit beside the others, the least recently used one
//! goes (it is simply refreshed again when next needed); a token handed in
//! from outside goes last, only when the new one would not fit beside it
//! alone, since nothing can get it back.
//!
//! The pool holds no octet of a token that is gone: a token is wiped where
//! it lay, the others are moved down over it and the octets they leave are
//! zeroed, so that past the tokens the pool is always zero; the tokens'
//! octets are zeroed when the cache is dropped.

use zeroize::Zeroize;

use crate::limits::{ACCESS_CACHE_LEN, MAX_CACHED_ACCESS_TOKENS};
use crate::time::Instant;

/// What the cache knows of one token; the token's octets are in the pool.
/// Holds no secret, so it may be assigned whole.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry<K> {
    /// Whether the entry counts (an all-zero entry does not).
    in_use: bool,
    /// The token was handed in from outside: at most one entry.
    pub(super) handed: bool,
    /// Whose token it is.
    pub(super) key: K,
    /// When it is refreshed before use.
    pub(super) refresh_at: Instant,
    /// When it is wiped.
    pub(super) expires_at: Instant,
    /// Its last use (the least recently used goes first).
    used: Instant,
    /// Its octets: `pool[start..start + len]`.
    start: u16,
    len: u16,
}

impl<K: Copy> Entry<K> {
    const fn free(key: K) -> Self {
        Entry {
            in_use: false,
            handed: false,
            key,
            refresh_at: Instant::ZERO,
            expires_at: Instant::ZERO,
            used: Instant::ZERO,
            start: 0,
            len: 0,
        }
    }
}

impl<K> Entry<K> {
    /// Where its octets lie in the pool.
    fn octets(&self) -> core::ops::Range<usize> {
        let start = usize::from(self.start);
        start..start + usize::from(self.len)
    }
}

/// A token to cache, with when it is refreshed and when it expires.
#[derive(Clone, Copy)]
pub(super) struct NewToken<'a, K> {
    pub(super) key: K,
    pub(super) token: &'a [u8],
    pub(super) refresh_at: Instant,
    pub(super) expires_at: Instant,
    pub(super) handed: bool,
}

/// The cache (see the module documentation). `K` says whose a token is.
pub(super) struct AccessCache<K> {
    pool: [u8; ACCESS_CACHE_LEN],
    entries: [Entry<K>; MAX_CACHED_ACCESS_TOKENS],
}

// Every offset and length into the pool fits an entry's `u16`.
const _: () = assert!(ACCESS_CACHE_LEN <= u16::MAX as usize);

impl<K> Drop for AccessCache<K> {
    /// Zeroes the tokens' octets. Only those: past them the pool is zero
    /// already (see [`AccessCache::pack`]), and zeroing all of it at each
    /// drop costs a thousand times more under Miri, as `SecretBuf::clear`
    /// notes.
    fn drop(&mut self) {
        let end = self.tokens_end();
        if let Some(tokens) = self.pool.get_mut(..end) {
            tokens.zeroize();
        }
    }
}

impl<K> AccessCache<K> {
    /// The end of the highest-lying token's octets (0: none held).
    fn tokens_end(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.in_use)
            .map(|e| e.octets().end)
            .max()
            .unwrap_or(0)
    }
}

/// The entries only: never a token's octets.
impl<K: core::fmt::Debug> core::fmt::Debug for AccessCache<K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().filter(|e| e.in_use))
            .finish()
    }
}

impl<K: Copy + PartialEq> AccessCache<K> {
    /// An empty cache (`idle` is the key of a free entry; it does not
    /// count).
    pub(super) const fn new(idle: K) -> Self {
        AccessCache {
            pool: [0; ACCESS_CACHE_LEN],
            entries: [Entry::free(idle); MAX_CACHED_ACCESS_TOKENS],
        }
    }

    /// Tokens held.
    pub(super) fn count(&self) -> usize {
        self.entries.iter().filter(|e| e.in_use).count()
    }

    /// The live entry of `key` that is not yet due for a refresh at
    /// `now`, marked used at `now`, and its token.
    pub(super) fn fresh(&mut self, key: K, now: Instant) -> Option<&[u8]> {
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.in_use && e.key == key && now < e.refresh_at)?;
        entry.used = now;
        let octets = entry.octets();
        self.pool.get(octets)
    }

    /// `key`'s token whatever its age, if it is held.
    pub(super) fn token_of(&self, key: K) -> Option<&[u8]> {
        let entry = self.entries.iter().find(|e| e.in_use && e.key == key)?;
        self.pool.get(entry.octets())
    }

    /// Wipes the tokens `which` picks.
    pub(super) fn clear(&mut self, mut which: impl FnMut(&Entry<K>) -> bool) {
        let mut wiped = false;
        for i in 0..self.entries.len() {
            if self.entries.get(i).is_some_and(|e| e.in_use && which(e)) {
                self.wipe(i);
                wiped = true;
            }
        }
        if wiped {
            self.pack();
        }
    }

    /// Caches `new`, in the place of `new.key`'s token if there is one. A
    /// new handed-in token takes that standing from any other.
    pub(super) fn insert(&mut self, now: Instant, new: NewToken<'_, K>) {
        if new.handed {
            for e in &mut self.entries {
                e.handed = false;
            }
        }
        self.clear(|e| e.key == new.key);
        if new.token.len() > ACCESS_CACHE_LEN {
            // The grant was size-checked against a smaller bound: cannot
            // happen, and then the token is simply not cached.
            return;
        }
        // Room for an entry and the octets: the least recently used token
        // goes first, a handed-in one last.
        while !(self.count() < MAX_CACHED_ACCESS_TOKENS
            && self.used() + new.token.len() <= ACCESS_CACHE_LEN)
        {
            let Some(victim) = self.least_recently_used() else {
                return;
            };
            self.wipe(victim);
            self.pack();
        }
        let start = self.used();
        let Some(place) = self.pool.get_mut(start..start + new.token.len()) else {
            return;
        };
        place.copy_from_slice(new.token);
        if let Some(e) = self.entries.iter_mut().find(|e| !e.in_use) {
            *e = Entry {
                in_use: true,
                handed: new.handed,
                key: new.key,
                refresh_at: new.refresh_at,
                expires_at: new.expires_at,
                used: now,
                // Both fit: `start + len <= ACCESS_CACHE_LEN <= u16::MAX`.
                start: u16::try_from(start).unwrap_or(0),
                len: u16::try_from(new.token.len()).unwrap_or(0),
            };
        }
    }

    /// The whole pool, used or not: for the tests that prove wiping.
    #[cfg(all(test, feature = "oauth"))]
    pub(super) fn storage(&self) -> &[u8] {
        &self.pool
    }

    /// Whether a cached token equals `secret`; for tests that prove
    /// deletion.
    #[cfg(all(test, feature = "oauth"))]
    pub(super) fn holds(&self, secret: &[u8]) -> bool {
        self.entries
            .iter()
            .filter(|e| e.in_use)
            .any(|e| self.pool.get(e.octets()) == Some(secret))
    }

    /// Octets the tokens take (they lie from the pool's start, packed).
    fn used(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.in_use)
            .map(|e| usize::from(e.len))
            .sum()
    }

    /// The live entry to evict first: the least recently used not handed
    /// in, else the handed-in one.
    fn least_recently_used(&self) -> Option<usize> {
        let live = || self.entries.iter().enumerate().filter(|(_, e)| e.in_use);
        live()
            .filter(|(_, e)| !e.handed)
            .min_by_key(|(_, e)| e.used)
            .or_else(|| live().min_by_key(|(_, e)| e.used))
            .map(|(i, _)| i)
    }

    /// Zeroes entry `i`'s octets and frees it.
    fn wipe(&mut self, i: usize) {
        let Some(entry) = self.entries.get_mut(i) else {
            return;
        };
        if let Some(octets) = self.pool.get_mut(entry.octets()) {
            octets.zeroize();
        }
        entry.in_use = false;
        entry.handed = false;
        entry.start = 0;
        entry.len = 0;
    }

    /// Moves the tokens down to the pool's start, in the order they lie,
    /// and zeroes the octets they leave. Only those: past the highest token
    /// the pool is zero already, and a wiped token's octets were zeroed
    /// where they lay (zeroing the whole pool each time costs a thousand
    /// times more under Miri).
    fn pack(&mut self) {
        let high = self.tokens_end();
        let mut placed = [false; MAX_CACHED_ACCESS_TOKENS];
        let mut end = 0usize;
        loop {
            // The lowest-lying token not yet moved.
            let next = self
                .entries
                .iter()
                .zip(&placed)
                .enumerate()
                .filter(|(_, (e, done))| e.in_use && !**done)
                .min_by_key(|(_, (e, _))| e.start)
                .map(|(i, _)| i);
            let (Some(entry), Some(done)) = (
                next.and_then(|i| self.entries.get_mut(i)),
                next.and_then(|i| placed.get_mut(i)),
            ) else {
                break;
            };
            *done = true;
            let from = entry.octets();
            let len = from.len();
            // Moving down never overwrites a token not yet moved: every
            // other one lies past this one.
            if from.start != end && from.end <= self.pool.len() {
                self.pool.copy_within(from, end);
            }
            entry.start = u16::try_from(end).unwrap_or(0);
            end += len;
        }
        if let Some(left) = self.pool.get_mut(end..high) {
            left.zeroize();
        }
    }
}
