//! A counting global allocator. Only allocations made by a thread that has
//! switched counting on are counted, so a server thread in the same process
//! does not blur a client's figure.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Install with `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

static CALLS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn counting() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

fn grow(size: u64) {
    CALLS.fetch_add(1, Ordering::Relaxed);
    BYTES.fetch_add(size, Ordering::Relaxed);
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrink(size: u64) {
    // Blocks allocated before counting started may be freed inside the
    // window: never below zero.
    let _ = LIVE.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| {
        Some(l.saturating_sub(size))
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are atomics and the flag a const-initialised thread local with no
// destructor, so nothing here allocates or can fail.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            grow(layout.size() as u64);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if counting() {
            grow(layout.size() as u64);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counting() {
            shrink(layout.size() as u64);
        }
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            shrink(layout.size() as u64);
            grow(new_size as u64);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Heap use of the counted window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeapUse {
    /// Allocation calls (`realloc` counts as one).
    pub calls: u64,
    /// Octets requested in total.
    pub bytes: u64,
    /// Most octets live at once.
    pub peak: u64,
}

/// Runs `f` with counting on for this thread and returns its heap use
/// (meaningful only when [`CountingAlloc`] is the global allocator).
pub fn count<R>(f: impl FnOnce() -> R) -> (R, HeapUse) {
    CALLS.store(0, Ordering::Relaxed);
    BYTES.store(0, Ordering::Relaxed);
    LIVE.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    let used = HeapUse {
        calls: CALLS.load(Ordering::Relaxed),
        bytes: BYTES.load(Ordering::Relaxed),
        peak: PEAK.load(Ordering::Relaxed),
    };
    (r, used)
}

/// Runs `f` with counting off for this thread (the simulated server and
/// the glue of an in-memory job), then restores the previous state.
pub fn paused(f: &mut dyn FnMut()) {
    let was = COUNTING.with(|c| c.replace(false));
    f();
    COUNTING.with(|c| c.set(was));
}
