//! Time for the drivers: the core's monotonic milliseconds.
//!
//! The core never reads a clock; the driver gives it `now`. Two clocks:
//! [`SystemClock`] for real use, and [`VirtualClock`] for the demo and tests,
//! where hours can pass in an instant (an access token "an hour later") while
//! sockets still use real, short timeouts.

use mfp_oauth_core::{Duration, Instant};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A monotonic clock in the core's units.
pub trait Clock: Send + Sync {
    /// Now, in milliseconds since an arbitrary origin.
    fn now(&self) -> Instant;
    /// Wait until `deadline` when no I/O is pending (a poll interval, a
    /// retry back-off). A real clock sleeps; a virtual one jumps.
    fn sleep_until(&self, deadline: Instant);
}

/// The process's monotonic clock.
#[derive(Debug, Clone)]
pub struct SystemClock {
    origin: std::time::Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    #[must_use]
    pub fn new() -> Self {
        SystemClock {
            origin: std::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

fn elapsed_ms(origin: std::time::Instant) -> u64 {
    u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::from_millis(elapsed_ms(self.origin))
    }

    fn sleep_until(&self, deadline: Instant) {
        let wait = deadline.saturating_since(self.now());
        std::thread::sleep(std::time::Duration::from_millis(wait.as_millis()));
    }
}

/// Real elapsed time plus an offset that the demo moves forward ("65 minutes
/// later"). Clones share the offset, so the simulated provider, the simulated
/// SMTP server and the drivers all see the same time.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    origin: std::time::Instant,
    offset_ms: Arc<AtomicU64>,
}

impl VirtualClock {
    /// A virtual clock at real time, no offset yet.
    #[must_use]
    pub fn new() -> Self {
        VirtualClock {
            origin: std::time::Instant::now(),
            offset_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Move time forward by `d` for every clone of this clock.
    pub fn advance(&self, d: Duration) {
        self.offset_ms.fetch_add(d.as_millis(), Ordering::SeqCst);
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        Instant::from_millis(
            elapsed_ms(self.origin).saturating_add(self.offset_ms.load(Ordering::SeqCst)),
        )
    }

    fn sleep_until(&self, deadline: Instant) {
        let wait = deadline.saturating_since(self.now());
        self.advance(wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_time_jumps_for_every_clone() {
        let a = VirtualClock::new();
        let b = a.clone();
        let t0 = b.now();
        a.advance(Duration::from_secs(3600));
        assert!(b.now().saturating_since(t0) >= Duration::from_secs(3600));
        let deadline = b.now() + Duration::from_secs(5);
        b.sleep_until(deadline);
        assert!(a.now() >= deadline);
    }
}
