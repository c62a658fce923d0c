//! Stack high-water mark of one call, by painting: the region below the
//! caller's frame is filled with a pattern, the call runs, and the lowest
//! address whose pattern was overwritten tells how deep it went (the
//! technique the firmware's size report uses on the board).
//!
//! Reading the painted region goes below the current frame through raw
//! pointers, which Rust's memory model does not define; it is confined to
//! this benchmark, on a thread with a stack of known size, and the figure
//! is checked against a call that uses none (`empty`).

use std::hint::black_box;

const PAINT: u8 = 0xA5;
/// Depth painted: more than any measured call uses.
pub const DEPTH: usize = 192 * 1024;

#[inline(never)]
fn paint() -> usize {
    let mut region = [PAINT; DEPTH];
    black_box(&mut region);
    region.as_ptr() as usize
}

#[inline(never)]
fn deepest(low: usize) -> usize {
    let mut at = low;
    while at < low + DEPTH {
        // SAFETY: `low..low + DEPTH` lies in this thread's stack mapping
        // (it held `paint`'s array a moment ago, and the thread's stack is
        // larger); a volatile read of a mapped octet cannot fault.
        let b = unsafe { std::ptr::read_volatile(at as *const u8) };
        if b != PAINT {
            break;
        }
        at += 1;
    }
    low + DEPTH - at
}

/// Octets of stack `f` used below its caller's frame, measured on a fresh
/// thread with a 1 MiB stack.
pub fn high_water<R: Send>(f: impl FnOnce() -> R + Send) -> usize {
    std::thread::scope(|s| {
        let Ok(h) = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn_scoped(s, move || {
                let low = paint();
                black_box(f());
                deepest(low)
            })
        else {
            return 0;
        };
        h.join().unwrap_or(0)
    })
}
