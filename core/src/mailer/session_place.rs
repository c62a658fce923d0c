//! Where the mailer keeps its job's session: the SMTP session, or the mail
//! API session for a job sent through a mail API (R-XPORT).
//!
//! A job needs one of the two at a time. The SMTP session also stages
//! every job's envelope (it sends from there); an API job reads its size
//! and recipient count from it once, when its first request starts, and
//! from then on only the API session is used until the job ends. So one
//! place the size of the larger session can hold either (R-MEM: 5 KB less
//! than both side by side).
//!
//! Safe Rust cannot switch such a place from one kind to the other without
//! building the new session on the stack (7 KB) and moving it, so the core
//! does not do the switching itself: [`SessionPlace`] says what a place
//! does, [`SessionPair`] keeps both sessions side by side (the host's and
//! the embassy driver's default), and the C binding keeps one shared area
//! in the mailer's storage, in which it builds each session in place.
//! Both behave the same for the mailer: a session the place stops holding
//! is wiped.

use crate::api;
use crate::smtp;

/// Which session a [`SessionPlace`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldSession {
    /// None yet (a place just zeroed): [`SessionPlace::hold_smtp`] or
    /// [`SessionPlace::hold_api`] makes one.
    Nothing,
    /// The SMTP session (idle when no job's link uses it).
    Smtp,
    /// The mail API session of the job in progress.
    Api,
}

/// Where a [`super::Mailer`] keeps its job's session (see the module
/// documentation). The `hold_*` calls make the place hold one kind from
/// then on: the other kind's session, if it held one, is wiped (its
/// secrets with it) and the new one is idle, as
/// [`smtp::Session::make_idle`] or [`api::Session::make_idle`] leave it.
/// Holding the kind already held changes nothing.
pub trait SessionPlace {
    /// Which session the place holds.
    fn held(&self) -> HeldSession;
    /// The SMTP session, if the place holds it.
    fn smtp(&self) -> Option<&smtp::Session>;
    /// The SMTP session, if the place holds it.
    fn smtp_mut(&mut self) -> Option<&mut smtp::Session>;
    /// The API session, if the place holds it.
    fn api(&self) -> Option<&api::Session>;
    /// The API session, if the place holds it.
    fn api_mut(&mut self) -> Option<&mut api::Session>;
    /// The SMTP session, the place made to hold it first.
    fn hold_smtp(&mut self) -> &mut smtp::Session;
    /// The API session, the place made to hold it first.
    fn hold_api(&mut self) -> &mut api::Session;
}

/// Both sessions side by side, one of them held at a time as a shared
/// place holds it (so that the mailer behaves the same on every driver):
/// the one not held is kept idle and wiped. 11.6 KB where a shared place
/// takes 6.5 KB; the firmware's C mailer shares one.
#[derive(Debug)]
pub struct SessionPair {
    smtp: smtp::Session,
    api: api::Session,
    held: HeldSession,
}

impl SessionPair {
    /// Both sessions idle, the SMTP session held.
    #[must_use]
    pub fn new() -> Self {
        SessionPair {
            smtp: smtp::Session::idle(),
            api: api::Session::idle(),
            held: HeldSession::Smtp,
        }
    }
}

impl Default for SessionPair {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionPlace for SessionPair {
    fn held(&self) -> HeldSession {
        self.held
    }

    fn smtp(&self) -> Option<&smtp::Session> {
        (self.held == HeldSession::Smtp).then_some(&self.smtp)
    }

    fn smtp_mut(&mut self) -> Option<&mut smtp::Session> {
        (self.held == HeldSession::Smtp).then_some(&mut self.smtp)
    }

    fn api(&self) -> Option<&api::Session> {
        (self.held == HeldSession::Api).then_some(&self.api)
    }

    fn api_mut(&mut self) -> Option<&mut api::Session> {
        (self.held == HeldSession::Api).then_some(&mut self.api)
    }

    // The session not held is idle (`new`, and each switch below makes
    // the one left idle), so a switch wipes only the one left.

    fn hold_smtp(&mut self) -> &mut smtp::Session {
        if self.held != HeldSession::Smtp {
            self.api.make_idle();
            self.held = HeldSession::Smtp;
        }
        &mut self.smtp
    }

    fn hold_api(&mut self) -> &mut api::Session {
        if self.held != HeldSession::Api {
            self.smtp.make_idle();
            self.held = HeldSession::Api;
        }
        &mut self.api
    }
}

#[cfg(test)]
#[path = "session_place_tests.rs"]
mod tests;
