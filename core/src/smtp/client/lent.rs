//! [`Client`]: a [`Session`] with its own copy of the access token.
//!
//! A driver that holds the token nowhere else (the C API's standalone
//! session, a test, a host tool) lends it once with [`Client::set_token`];
//! the copy is wiped as soon as AUTH is over, the session closes or is
//! reset. Every other call is the session's, reached through `Deref`.

use core::ops::{Deref, DerefMut};

use super::{Session, Transmit};
use crate::address::Address;
use crate::diag::Id;
use crate::secret::AccessToken;
use crate::smtp::{Settings, SubmitError, TokenError};
use crate::time::Instant;
use crate::wire::BufferTooSmall;

/// A sans-IO SMTP submission session that keeps the access token it is
/// lent (see [`Session`] for a session that borrows it at each transmit).
pub struct Client {
    session: Session,
    token: AccessToken,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("session", &self.session)
            .field("token", &self.token)
            .finish()
    }
}

impl Deref for Client {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}

impl DerefMut for Client {
    fn deref_mut(&mut self) -> &mut Session {
        &mut self.session
    }
}

impl Client {
    /// A session on a connection that has just been opened at `now` (with
    /// TLS already up if `settings.security` is implicit TLS). `user` is
    /// the mailbox whose access token [`Self::set_token`] lends.
    ///
    /// The token is not a parameter: it is copied in by `set_token` once the
    /// client is where it will stay, so no moved copy of it is left behind
    /// (a Rust move does not wipe its source).
    #[must_use]
    pub fn new(now: Instant, settings: Settings, user: Address) -> Self {
        Client {
            session: Session::new(now, settings, user),
            token: AccessToken::new(),
        }
    }

    /// Back to what [`Client::new`] builds, in place (R-MEM), the old token
    /// wiped.
    pub fn reset(&mut self, now: Instant, settings: &Settings, user: &Address) {
        self.session.reset(now, settings, user);
        self.token.clear();
    }

    /// [`Session::reset_with`], the old token wiped.
    pub fn reset_with<E>(
        &mut self,
        now: Instant,
        user: &Address,
        fill: impl FnOnce(&mut Settings) -> Result<(), E>,
    ) -> Result<(), E> {
        self.token.clear();
        self.session.reset_with(now, user, fill)
    }

    /// Lend the access token for `user` (copied into the client, wiped
    /// after AUTH). Call it before AUTH starts, or when
    /// [`crate::smtp::Event::NeedToken`] asks for it.
    pub fn set_token(&mut self, now: Instant, token: &[u8]) -> Result<(), TokenError> {
        if !self.session.accepts_token() {
            return Err(TokenError::WrongState);
        }
        self.token.set(token).map_err(|_| TokenError::TooLong)?;
        let lent = self.session.lend_token(now, token.len());
        self.wipe_when_done();
        lent
    }

    /// After [`crate::smtp::Event::AuthRejected`] with `refresh_and_retry`:
    /// try again with a freshly refreshed token, once.
    pub fn retry_auth(&mut self, now: Instant, token: &[u8]) -> Result<(), TokenError> {
        if !self.session.may_retry_auth() {
            return Err(TokenError::WrongState);
        }
        self.token.set(token).map_err(|_| TokenError::TooLong)?;
        let lent = self.session.relend_token(now, token.len());
        self.wipe_when_done();
        lent
    }

    /// [`Session::poll_transmit`] with the client's token.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<Transmit>, BufferTooSmall> {
        self.session.poll_transmit(now, out, self.token.expose())
    }

    /// [`Session::handle_input`]; the token is wiped once AUTH is over.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) -> usize {
        let n = self.session.handle_input(now, data);
        self.wipe_when_done();
        n
    }

    /// [`Session::handle_close`]; the token is wiped.
    pub fn handle_close(&mut self, now: Instant) {
        self.session.handle_close(now);
        self.wipe_when_done();
    }

    /// [`Session::handle_timeout`]; the token is wiped if the session ends.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
        self.wipe_when_done();
    }

    /// [`Session::handle_tls_failed`]; the token is wiped.
    pub fn handle_tls_failed(&mut self, now: Instant, diag: Id) {
        self.session.handle_tls_failed(now, diag);
        self.wipe_when_done();
    }

    /// [`Session::quit`]; the token is wiped.
    pub fn quit(&mut self, now: Instant) -> Result<(), SubmitError> {
        let r = self.session.quit(now);
        self.wipe_when_done();
        r
    }

    /// The storage of the client's copy of the token (tests of wiping).
    #[cfg(all(test, feature = "oauth"))]
    pub(crate) fn token_storage(&self) -> &[u8] {
        self.token.storage()
    }

    /// The session no longer needs the token (AUTH over, closed): wipe the
    /// copy at once.
    fn wipe_when_done(&mut self) {
        if !self.session.holds_token() {
            self.token.clear();
        }
    }
}
