//! Helpers shared by the cross-crate tests of mfp-oauth.
//!
//! [`smtp::run`] plays an `S:`/`C:`/`E:` transcript against the real
//! `smtp::Client` and returns the transcript it observed, so a test asserts
//! the whole exchange, events included, by comparing two texts;
//! [`oauth`] holds recorded-style token endpoint exchanges;
//! [`relay::FlightRelay`] counts the client flights of a real connection.

pub mod oauth;
pub mod relay;
pub mod smtp;
