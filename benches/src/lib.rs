//! Benchmarks of mfp-oauth against the peers a firmware team would
//! otherwise pick: lettre (Rust SMTP), curl/libcurl, serde_json (issue 8).
//!
//! Nothing here is a test: no figure is asserted. `scripts/bench.sh` builds
//! the two binaries and the criterion bench, runs everything on this machine
//! in one go, prints one table and writes `BENCHMARKS.md`.
//!
//! - [`cases`]: the in-memory work measured on both sides (callgrind counts
//!   instructions between entry and exit of [`callgrind_window`]; criterion
//!   times the same functions).
//! - [`fixtures`]: deterministic tokens, token responses and messages.
//! - [`alloc_count`]: a counting global allocator, per thread.
//! - [`sink`]: a loopback SMTP server that reads whatever it is sent, and a
//!   relaying proxy that counts the client's flights.
//! - [`stack`]: stack high-water mark of one call, by painting.
//! - [`clients`]: the same message sent by our core (over a plain TCP
//!   driver), by lettre's SMTP transport, and by the curl command line.

pub mod alloc_count;
pub mod cases;
pub mod clients;
pub mod fixtures;
pub mod sink;
pub mod stack;

/// Runs `f` inside a function that callgrind recognises by name: the probe
/// runs under `valgrind --tool=callgrind --collect-atstart=no
/// --toggle-collect='*callgrind_window*'`, so only the instructions executed
/// between entry and exit of this function are counted.
#[inline(never)]
pub fn callgrind_window<R>(f: impl FnOnce() -> R) -> R {
    std::hint::black_box(f())
}
