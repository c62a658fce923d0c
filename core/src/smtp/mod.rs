//! The sans-IO SMTP submission client (R-SMTP, R-SASL).
//!
//! [`Client`] speaks one submission session: greeting → EHLO → STARTTLS →
//! ([`Event::UpgradeTls`]: the driver starts TLS) → EHLO again → AUTH with
//! XOAUTH2 or OAUTHBEARER → MAIL FROM / RCPT TO / DATA (pipelined where the
//! server offers it) → body → `.` → another message or QUIT. Where the
//! server offers CHUNKING and PIPELINING, the body goes as `BDAT` chunks in
//! the same flight as MAIL and RCPT (RFC 3030): no `354` to wait for, no
//! dot-stuffing. Implicit TLS (port 465) starts at the greeting with TLS
//! already up.
//!
//! Rules it keeps whatever the server does:
//! - the token is never written before TLS is established, and a server
//!   that offers no STARTTLS is refused ([`Error::StartTlsNotOffered`]),
//!   never downgraded;
//! - plaintext that follows the `220` to STARTTLS is an injection attempt
//!   and ends the session;
//! - every failure carries a [`crate::diag::Id`] with its remedy.
//!
//! # Example: one job over implicit TLS, the server scripted
//!
//! ```
//! use mfp_oauth_core::smtp::{Client, Envelope, Event, Security, Settings};
//! use mfp_oauth_core::{AccessToken, Address, Instant};
//!
//! let settings = Settings::new(Security::ImplicitTls, "printer.example.com", "smtp.gmail.com", 465)?;
//! let user = Address::parse("scanner@example.com")?;
//! let token = AccessToken::from_slice(b"ya29.a0-access-token")?; // from the token store
//! let mut smtp = Client::new(Instant::ZERO, settings, user.clone());
//! smtp.set_token(Instant::ZERO, token.expose())?;
//! let mut envelope = Envelope::new(user);
//! envelope.add_recipient(Address::parse("boss@example.com")?)?;
//! smtp.send_message(Instant::ZERO, envelope)?;
//!
//! // What the server says, reply by reply; a real driver reads a socket.
//! let server: [&[u8]; 7] = [
//!     b"220 smtp.gmail.com ESMTP\r\n",
//!     b"250-smtp.gmail.com\r\n250 AUTH XOAUTH2 OAUTHBEARER\r\n",
//!     b"235 2.7.0 Accepted\r\n",
//!     b"250 2.1.0 OK\r\n",
//!     b"250 2.1.5 OK\r\n",
//!     b"354 Go ahead\r\n",
//!     b"250 2.0.0 OK queued\r\n",
//! ];
//! let mut out = [0u8; 512];
//! let mut wire = Vec::new(); // what a driver would write to the socket
//! let mut sent = false;
//! for reply in server {
//!     let now = Instant::from_millis(10);
//!     let _ = smtp.handle_input(now, reply);
//!     while let Some(event) = smtp.poll_event() {
//!         match event {
//!             Event::ReadyForBody => {
//!                 let body = b"Subject: Scan\r\n\r\n(attachment)\r\n";
//!                 let p = smtp.write_body(body, &mut out)?;
//!                 wire.extend_from_slice(&out[..p.written]);
//!                 smtp.finish_body(now)?;
//!             }
//!             Event::MessageSent { .. } => sent = true,
//!             _ => {}
//!         }
//!     }
//!     while let Some(t) = smtp.poll_transmit(now, &mut out)? {
//!         // `t.sensitive`: these octets carry the token; never log them.
//!         wire.extend_from_slice(&out[..t.len]);
//!     }
//! }
//! assert!(sent);
//! assert!(wire.starts_with(b"EHLO printer.example.com\r\nAUTH XOAUTH2 "));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A body made by the core composer ([`crate::mime`]) is canonical (CRLF
//! line ends, no line starting with a dot): stream it with
//! [`Session::write_body_canonical`] instead, which copies it rather than
//! scanning every octet (with `DATA` a line-start dot is still stuffed).

mod classify;
mod client;
mod event;
mod recipients;
mod settings;

pub use classify::{classify, refresh_may_help};
pub use client::{BodyProgress, Client, Session, Transmit, MAX_AUTH_ATTEMPTS};
pub use event::{BodyError, Error, Event, Stage, SubmitError, TokenError};
pub use recipients::Recipients;
pub use settings::{Envelope, MechanismPreference, Security, Settings, SettingsError, Timeouts};

pub use crate::wire::ehlo::Capabilities;
pub use crate::wire::reply::{EnhancedCode, Reply, ReplyCode};
pub use crate::wire::sasl::Mechanism;
