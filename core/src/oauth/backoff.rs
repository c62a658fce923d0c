//! Retry delays: exponential with jitter from a caller-supplied seed.
//!
//! Printers of one fleet often boot together after a power cut; without
//! jitter they would all retry the provider at the same instants.

use crate::time::Duration;

/// First retry delay (before jitter).
pub const RETRY_BASE: Duration = Duration::from_secs(5);
/// Longest retry delay.
pub const RETRY_CAP: Duration = Duration::from_mins(5);
/// Longest `Retry-After` honoured.
pub const RETRY_AFTER_CAP: Duration = Duration::from_mins(60);

/// Exponential backoff with "equal jitter": attempt `n` waits a random time
/// in `[d/2, d]` where `d = min(RETRY_BASE * 2^n, RETRY_CAP)`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    rng: u64,
    attempts: u8,
    max_attempts: u8,
}

impl Backoff {
    pub(crate) const fn new(seed: u64, max_attempts: u8) -> Self {
        Backoff {
            rng: seed,
            attempts: 0,
            max_attempts,
        }
    }

    /// SplitMix64: small, no state beyond one word, good enough for jitter.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Forget past failures (after any answer that was not a transient error).
    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
    }

    /// The delay before the next attempt, or `None` when attempts are spent.
    /// A `Retry-After` from the server is a floor.
    pub(crate) fn next_delay(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        if self.attempts >= self.max_attempts {
            return None;
        }
        let shift = u32::from(self.attempts.min(20));
        self.attempts = self.attempts.saturating_add(1);
        let full = RETRY_BASE
            .as_millis()
            .saturating_mul(1u64 << shift)
            .min(RETRY_CAP.as_millis());
        let half = full / 2;
        let jitter = self.next_random() % half.saturating_add(1);
        let delay = Duration::from_millis(half.saturating_add(jitter));
        let floor = retry_after.map_or(Duration::ZERO, |r| r.min(RETRY_AFTER_CAP));
        Some(delay.max(floor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_stay_in_range_and_end() {
        let mut b = Backoff::new(42, 8);
        let mut full = RETRY_BASE.as_millis();
        for _ in 0..8 {
            let d = b.next_delay(None).unwrap().as_millis();
            assert!(
                d >= full / 2 && d <= full,
                "{d} not in [{}, {full}]",
                full / 2
            );
            full = (full * 2).min(RETRY_CAP.as_millis());
        }
        assert_eq!(b.next_delay(None), None);
        b.reset();
        assert!(b.next_delay(None).is_some());
    }

    #[test]
    fn seeds_give_different_jitter_and_retry_after_is_a_floor() {
        let a: Vec<_> = (0..4)
            .map(|_| 0)
            .scan(Backoff::new(1, 4), |b, _| b.next_delay(None))
            .collect();
        let c: Vec<_> = (0..4)
            .map(|_| 0)
            .scan(Backoff::new(2, 4), |b, _| b.next_delay(None))
            .collect();
        assert_ne!(a, c);
        let mut b = Backoff::new(7, 4);
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(120))),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(86_400))),
            Some(RETRY_AFTER_CAP)
        );
    }
}
