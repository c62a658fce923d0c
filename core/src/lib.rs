//! # mfp-oauth-core
//!
//! The OAuth 2.0 e-mail core of a multifunction printer: `no_std`, no
//! allocator, no I/O, no clock. It turns the printer's jobs and settings into
//! the bytes of an SMTP submission authenticated with XOAUTH2 or OAUTHBEARER
//! and of the OAuth token-endpoint exchanges that keep its tokens fresh.
//!
//! ## Layers
//! - [`wire`]: stateless parsers and emitters (SMTP replies, EHLO, SASL
//!   messages, dot-stuffing, HTTP/1.1, form encoding, JSON bodies, JSON
//!   guards).
//! - [`smtp`]: the sans-IO submission client state machine.
//! - [`oauth`]: the sans-IO token-endpoint client (device grant, PKCE,
//!   refresh with rotation).
//! - [`provider`]: Microsoft, Google and custom OAuth provider profiles.
//! - [`mailer`]: the facade the firmware drives for one job.
//! - [`mime`]: the message a job sends (text and files), composed as a
//!   stream of exactly known size.
//! - [`config`], [`function`], [`policy`], [`token`]: the printer's
//!   behaviour: settings and their rules, the twelve mail functions, whose
//!   token and which From address a job uses, the token lifecycle and its
//!   power-safe persistence image.
//! - [`diag`], [`secret`], [`address`], [`time`], [`limits`]: the
//!   foundations every layer shares.
//!
//! ## The poll-order contract
//! Every state machine is driven the same way, from one loop in the driver:
//! 1. feed what arrived: `handle_input(now, bytes)` (it may consume less than
//!    given: keep the rest and feed it again after acting on the events),
//!    `handle_close(now)`, and `handle_timeout(now)` when the deadline from
//!    `poll_timeout()` has passed;
//! 2. drain `poll_event()` until `None`, acting on each (for example start
//!    TLS on `UpgradeTls`);
//! 3. drain `poll_transmit(now, out)` until `None`, writing each transmit to
//!    the connection;
//! 4. wait for input or for `poll_timeout()`.
//!
//! Nothing here panics on any input: clippy's `unwrap_used`, `expect_used`,
//! `panic` and `indexing_slicing` are denied, and fuzz targets feed arbitrary
//! server bytes in arbitrary chunks.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod address;
pub mod api;
pub mod config;
pub mod diag;
pub mod function;
pub mod image;
pub mod limits;
pub mod mailer;
pub mod mime;
pub mod oauth;
pub mod policy;
pub mod provider;
#[cfg(feature = "oauth")]
pub mod qr;
pub mod secret;
pub mod smtp;
pub mod time;
pub mod token;
#[cfg(all(test, feature = "oauth"))]
mod wipe_tests;
pub mod wire;

pub use address::Address;
pub use config::{Settings, OAUTH_AVAILABLE};
pub use diag::{Diagnostic, Id as DiagId, Lang};
pub use function::{Function, FunctionClass};
pub use secret::{AccessToken, RefreshToken, SecretBuf};
pub use time::{Duration, Instant};
pub use token::{TokenOwner, TokenStatus, TokenStore};
