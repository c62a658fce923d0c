//! Drivers: loops that pump the core's sans-IO state machines over
//! [`crate::net::Connection`]s. They move bytes and time only; every
//! protocol decision (what to send, what a reply means, when to give up) is
//! the core's. Each follows the core's poll-order contract: feed input, drain
//! events, drain transmits, wait for input or the core's `poll_timeout`.

pub mod loopback;
pub mod oauth;
pub mod smtp;
