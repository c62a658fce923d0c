//! The sans-IO SMTP submission client (R-SMTP, R-SASL).
//!
//! [`Client`] speaks one submission session: greeting → EHLO → STARTTLS →
//! ([`Event::UpgradeTls`]: the driver starts TLS) → EHLO again → AUTH with
//! XOAUTH2 or OAUTHBEARER → MAIL FROM / RCPT TO / DATA (pipelined where the
//! server offers it) → body → `.` → another message or QUIT. Implicit TLS
//! (port 465) starts at the greeting with TLS already up.
//!
//! Rules it keeps whatever the server does:
//! - the token is never written before TLS is established, and a server
//!   that offers no STARTTLS is refused ([`Error::StartTlsNotOffered`]),
//!   never downgraded;
//! - plaintext that follows the `220` to STARTTLS is an injection attempt
//!   and ends the session;
//! - every failure carries a [`crate::diag::Id`] with its remedy.

mod classify;
mod client;
mod emit;
mod event;
mod settings;

pub use classify::{classify, refresh_may_help};
pub use client::{BodyProgress, Client, Transmit, MAX_AUTH_ATTEMPTS};
pub use event::{BodyError, Error, Event, Stage, SubmitError};
pub use settings::{Envelope, MechanismPreference, Security, Settings, SettingsError, Timeouts};

pub use crate::wire::ehlo::Capabilities;
pub use crate::wire::reply::{EnhancedCode, Reply, ReplyCode};
pub use crate::wire::sasl::Mechanism;
