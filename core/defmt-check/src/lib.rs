//! Test-only crate: see `tests/frames.rs`.
