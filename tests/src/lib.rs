//! Cross-crate tests of mfp-oauth live in `tests/tests/`; this library holds
//! the helpers they share.
