//! What a session needs before it starts: security mode, names, timeouts,
//! and the envelope of a message.

use core::fmt;
use heapless::String;

use crate::address::Address;
use crate::diag::{Diagnostic, Id};
use crate::limits::MAX_DOMAIN_LEN;
use crate::time::Duration;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Security {
    /// Plain TCP, upgraded with STARTTLS before anything secret (port 587).
    StartTls,
    /// TLS from the first byte (port 465): the driver connects with TLS
    /// before creating the client.
    ImplicitTls,
}

/// Which OAuth mechanism to use when the server offers both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MechanismPreference {
    /// XOAUTH2 (what Microsoft 365 and Gmail document); OAUTHBEARER only
    /// when it is the sole one offered.
    #[default]
    Xoauth2,
    /// OAUTHBEARER (RFC 7628) when offered, else XOAUTH2.
    OAuthBearer,
}

/// Reply deadlines. Defaults are RFC 5321 §4.5.3.2's minimums; an AUTH
/// answer gets the command timeout, far above the 15 s or more that servers
/// take to fail an authentication on purpose. The data block timeout (3
/// minutes for each send of the body) and the TLS handshake's are the
/// driver's: it owns the sends and the handshake, and the client sets no
/// deadline while they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Timeouts {
    /// The `220` greeting (5 minutes).
    pub greeting: Duration,
    /// EHLO, STARTTLS, AUTH, RSET and QUIT replies (5 minutes).
    pub command: Duration,
    /// MAIL FROM reply (5 minutes).
    pub mail: Duration,
    /// Each RCPT TO reply (5 minutes).
    pub rcpt: Duration,
    /// The `354` to DATA (2 minutes).
    pub data_init: Duration,
    /// The reply after the final `.` (10 minutes).
    pub data_end: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            greeting: Duration::from_mins(5),
            command: Duration::from_mins(5),
            mail: Duration::from_mins(5),
            rcpt: Duration::from_mins(5),
            data_init: Duration::from_mins(2),
            data_end: Duration::from_mins(10),
        }
    }
}

/// Session settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How the connection is secured.
    pub security: Security,
    /// Mechanism preference.
    pub mechanism: MechanismPreference,
    /// Reply deadlines.
    pub timeouts: Timeouts,
    /// Send the body with `BDAT` (RFC 3030) when the server offers CHUNKING
    /// and PIPELINING: the whole transaction then goes in one flight and no
    /// dot-stuffing is needed. `DATA` is used otherwise. On by default.
    pub chunking: bool,
    ehlo_domain: String<MAX_DOMAIN_LEN>,
    server_host: String<MAX_DOMAIN_LEN>,
    server_port: u16,
}

/// A setting is not usable in an SMTP command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SettingsError {
    /// The EHLO name is empty, too long, or has spaces or control characters.
    InvalidEhloDomain,
    /// The server host name is empty, too long, or has spaces or controls.
    InvalidServerHost,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SettingsError::InvalidEhloDomain => "invalid EHLO name",
            SettingsError::InvalidServerHost => "invalid SMTP server host name",
        })
    }
}

impl core::error::Error for SettingsError {}

impl Diagnostic for SettingsError {
    fn diag(&self) -> Id {
        match self {
            SettingsError::InvalidEhloDomain => Id::InvalidArgument,
            SettingsError::InvalidServerHost => Id::SmtpServerMissing,
        }
    }
}

fn safe_name(s: &str) -> Option<String<MAX_DOMAIN_LEN>> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let mut out = String::new();
    out.push_str(s).ok()?;
    Some(out)
}

impl Settings {
    /// Settings for a session to `server_host:server_port`, greeting with
    /// `ehlo_domain` (the printer's host name, or an address literal such
    /// as `[192.0.2.7]`).
    pub fn new(
        security: Security,
        ehlo_domain: &str,
        server_host: &str,
        server_port: u16,
    ) -> Result<Self, SettingsError> {
        Ok(Settings {
            security,
            mechanism: MechanismPreference::default(),
            timeouts: Timeouts::default(),
            chunking: true,
            ehlo_domain: safe_name(ehlo_domain).ok_or(SettingsError::InvalidEhloDomain)?,
            server_host: safe_name(server_host).ok_or(SettingsError::InvalidServerHost)?,
            server_port,
        })
    }

    /// Set the server and the EHLO name in place, the rest as
    /// [`Settings::new`] has it (R-MEM: no settings built on the stack and
    /// moved; see [`super::Session::reset_with`]). On error the settings are
    /// left partly set: use them only after `Ok`.
    pub fn set_server(
        &mut self,
        security: Security,
        ehlo_domain: &str,
        server_host: &str,
        server_port: u16,
    ) -> Result<(), SettingsError> {
        self.security = security;
        self.mechanism = MechanismPreference::default();
        self.timeouts = Timeouts::default();
        self.chunking = true;
        self.ehlo_domain = safe_name(ehlo_domain).ok_or(SettingsError::InvalidEhloDomain)?;
        self.server_host = safe_name(server_host).ok_or(SettingsError::InvalidServerHost)?;
        self.server_port = server_port;
        Ok(())
    }

    /// No server yet: only a place for settings (see
    /// [`super::Client::reset`]).
    pub(crate) fn idle() -> Self {
        Settings {
            security: Security::StartTls,
            mechanism: MechanismPreference::default(),
            timeouts: Timeouts::default(),
            chunking: true,
            ehlo_domain: String::new(),
            server_host: String::new(),
            server_port: 0,
        }
    }

    /// Back to [`Settings::idle`] in place, field by field: nothing the
    /// size of the settings (576 octets on a Cortex-M) is built on the
    /// caller's stack and copied (R-MEM).
    pub(crate) fn make_idle(&mut self) {
        // Destructured without `..`: a new field must be reset here too.
        let Settings {
            security,
            mechanism,
            timeouts,
            chunking,
            ehlo_domain,
            server_host,
            server_port,
        } = self;
        *security = Security::StartTls;
        *mechanism = MechanismPreference::default();
        *timeouts = Timeouts::default();
        *chunking = true;
        ehlo_domain.clear();
        server_host.clear();
        *server_port = 0;
    }

    /// The EHLO name.
    #[must_use]
    pub fn ehlo_domain(&self) -> &str {
        &self.ehlo_domain
    }

    /// The server's host name (sent in OAUTHBEARER's `host=`).
    #[must_use]
    pub fn server_host(&self) -> &str {
        &self.server_host
    }

    /// The server's port (sent in OAUTHBEARER's `port=`).
    #[must_use]
    pub fn server_port(&self) -> u16 {
        self.server_port
    }
}

/// Sender, recipients and (optionally) size of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `MAIL FROM` address.
    pub from: Address,
    /// `RCPT TO` addresses, in order (at most
    /// [`crate::limits::MAX_RECIPIENTS`], packed: [`Recipients`]).
    pub to: Recipients,
    /// Size of the message in octets, if known: checked against the
    /// server's SIZE before anything is sent, and declared in `MAIL FROM`.
    pub size: Option<u64>,
}

impl Envelope {
    /// No sender, no recipient: a constant whose bytes are all zero or
    /// unset, so that writing it in place is a memset, not a temporary or
    /// a copy from flash (R-MEM).
    pub(crate) const EMPTY: Envelope = Envelope {
        from: Address::NONE,
        to: Recipients::new(),
        size: None,
    };

    /// An envelope from `from` with no recipient yet.
    #[must_use]
    pub fn new(from: Address) -> Self {
        Envelope {
            from,
            to: Recipients::new(),
            size: None,
        }
    }

    /// Add a recipient; fails when [`crate::limits::MAX_RECIPIENTS`] are
    /// already there, or when the addresses would be longer than
    /// [`crate::limits::MAX_RECIPIENTS_LEN`] together.
    pub fn add_recipient(&mut self, to: Address) -> Result<(), SubmitError> {
        self.to.push(to.as_str())
    }

    /// Add the recipient `to`, checked as [`Address::parse`] checks it and
    /// written where the envelope keeps it (R-MEM: no address made on the
    /// caller's frame and moved). Fails as [`Envelope::add_recipient`]
    /// does, or when it is not an address; the envelope is then
    /// unchanged.
    pub fn add_recipient_text(&mut self, to: &str) -> Result<(), SubmitError> {
        self.to.push(to)
    }
}

use super::event::SubmitError;
use super::recipients::Recipients;
