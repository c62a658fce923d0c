//! Host side of mfp-oauth: std drivers that carry the core's bytes over real
//! sockets, and the pieces of the `mfp-oauth` command-line tool.
//!
//! - [`net`] and [`tls`]: TCP, STARTTLS and implicit TLS with rustls, HTTP
//!   CONNECT proxies, timeouts.
//! - [`store`]: the token store's image on disk, saved atomically.
//! - [`clock`]: monotonic time for the core, real or virtual.
//! - [`sim`]: test doubles (a simulated OAuth provider and SMTP server) for
//!   the demo and the tests; not a product feature.
//! - [`catalogue`]: diagnostics as support engineers read them.

pub mod app;
pub mod catalogue;
pub mod cli;
pub mod cli_help_fr;
pub mod clock;
pub mod demo;
pub mod driver;
pub mod handed;
pub mod mime;
pub mod net;
pub mod qr;
pub mod signer;
pub mod sim;
pub mod store;
pub mod story;
pub mod tls;
