//! AUTH (R-SASL): the `impl` block of [`Session`] for authentication.
//!
//! XOAUTH2 or OAUTHBEARER, as the settings prefer and the server offers;
//! the initial response on the AUTH line, or AUTH alone and the response
//! after the `334` go-ahead when the line would pass the command line limit;
//! the `334` error challenge read, acknowledged and turned into a
//! diagnostic; the token lent by the caller, wiped once AUTH is over, and
//! one retry with a refreshed token. Split from `client.rs` so the session
//! reads phase by phase (R-ENGINE layering, issue 15).

use super::{Cmd, Session, State};
use crate::diag::Id;
use crate::limits::{MAX_ACCESS_TOKEN_LEN, SMTP_COMMAND_LINE_LIMIT};
use crate::smtp::{
    classify, refresh_may_help, Error, Event, MechanismPreference, Stage, TokenError,
};
use crate::time::Instant;
use crate::wire::reply::ReplyCode;
use crate::wire::sasl::{decode_error_challenge, oauthbearer, xoauth2, Mechanism, Plaintext};
use crate::wire::smtp_cmd::auth_initial_len;

/// AUTH attempts per session: the first, and one retry with a refreshed
/// token (never a loop).
pub const MAX_AUTH_ATTEMPTS: u8 = 2;

/// Where AUTH is ([`State::Auth`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AuthStep {
    /// `AUTH M` sent, waiting for the `334` go-ahead.
    GoAhead,
    /// Response sent, waiting for `235` (or an error challenge).
    Outcome,
    /// Error challenge acknowledged, waiting for the final failure.
    FinalAfterChallenge {
        token_invalid: bool,
        insufficient_scope: bool,
    },
}

impl Session {
    // ---- mutators -----------------------------------------------------

    /// Lend an access token of `len` octets for `user`: its octets come
    /// with each [`Session::poll_transmit`] until AUTH is over. Call it
    /// before AUTH starts, or when [`Event::NeedToken`] asks for it.
    pub fn lend_token(&mut self, now: Instant, len: usize) -> Result<(), TokenError> {
        if matches!(self.state, State::Closed | State::Quit) {
            return Err(TokenError::WrongState);
        }
        Self::check_token_len(len)?;
        self.token_len = len;
        if self.state == State::AwaitToken {
            self.last_progress = now;
            self.start_auth();
        }
        Ok(())
    }

    /// After [`Event::AuthRejected`] with `refresh_and_retry`: try again
    /// with a freshly refreshed token of `len` octets, once.
    pub fn relend_token(&mut self, _now: Instant, len: usize) -> Result<(), TokenError> {
        if self.state != State::AuthFailed || self.auth_attempts >= MAX_AUTH_ATTEMPTS {
            return Err(TokenError::WrongState);
        }
        Self::check_token_len(len)?;
        self.token_len = len;
        self.start_auth();
        Ok(())
    }

    /// Whether a token may be lent now ([`Session::lend_token`]).
    pub(crate) fn accepts_token(&self) -> bool {
        !matches!(self.state, State::Closed | State::Quit)
    }

    /// Whether AUTH may be retried now ([`Session::relend_token`]).
    pub(crate) fn may_retry_auth(&self) -> bool {
        self.state == State::AuthFailed && self.auth_attempts < MAX_AUTH_ATTEMPTS
    }

    fn check_token_len(len: usize) -> Result<(), TokenError> {
        match len {
            0 => Err(TokenError::Empty),
            n if n > MAX_ACCESS_TOKEN_LEN => Err(TokenError::TooLong),
            _ => Ok(()),
        }
    }

    /// Whether a token is lent (AUTH not over).
    #[must_use]
    pub fn holds_token(&self) -> bool {
        self.token_len > 0
    }

    // ---- internals ----------------------------------------------------

    /// The token is taken back (the session is over).
    pub(crate) fn forget_token(&mut self) {
        self.token_len = 0;
    }

    /// EHLO over TLS succeeded: choose the mechanism, then authenticate
    /// once a token is lent.
    pub(super) fn begin_auth(&mut self) {
        if !self.caps.auth.any_oauth() {
            self.fail(Error::NoOAuthMechanism);
        } else {
            self.mechanism = self.choose_mechanism();
            if self.token_len == 0 {
                self.state = State::AwaitToken;
                self.event(Event::NeedToken);
            } else {
                self.start_auth();
            }
        }
    }

    /// Whether a `334` now is an error challenge (the outcome of AUTH is
    /// awaited).
    pub(super) fn awaiting_auth_outcome(&self) -> bool {
        self.state == State::Auth(AuthStep::Outcome)
    }

    /// The reply to an AUTH line (or to the response or acknowledgement
    /// that followed a `334`).
    pub(super) fn on_auth_reply(&mut self, code: ReplyCode) {
        let State::Auth(step) = self.state else {
            self.fail(Error::UnexpectedReply { code });
            return;
        };
        if code.code == 235 {
            self.token_len = 0;
            self.event(Event::Authenticated {
                mechanism: self.mechanism,
            });
            self.become_ready(self.last_progress);
            return;
        }
        match (step, code.code) {
            (AuthStep::GoAhead, 334) => {
                self.state = State::Auth(AuthStep::Outcome);
                self.queue(Cmd::AuthResponse);
            }
            (AuthStep::Outcome, 334) => {
                // An error challenge: read it, acknowledge it, then the
                // server sends the final failure (RFC 7628 §3.2.3).
                let (token_invalid, insufficient_scope) = self.challenge;
                self.state = State::Auth(AuthStep::FinalAfterChallenge {
                    token_invalid,
                    insufficient_scope,
                });
                self.queue(Cmd::AuthAck);
            }
            (
                AuthStep::FinalAfterChallenge {
                    token_invalid,
                    insufficient_scope,
                },
                _,
            ) => {
                let diag = if insufficient_scope {
                    Id::InvalidScope
                } else if token_invalid {
                    Id::TokenRejected
                } else {
                    match classify(Stage::Auth, code) {
                        Id::AuthRejected => Id::AuthChallengeMalformed,
                        other => other,
                    }
                };
                self.auth_rejected(code, diag);
            }
            _ => {
                let diag = classify(Stage::Auth, code);
                self.auth_rejected(code, diag);
            }
        }
    }

    fn auth_rejected(&mut self, code: ReplyCode, diag: Id) {
        let refresh_and_retry = (refresh_may_help(diag) || diag == Id::AuthChallengeMalformed)
            && self.auth_attempts < MAX_AUTH_ATTEMPTS;
        self.token_len = 0;
        self.state = State::AuthFailed;
        self.event(Event::AuthRejected {
            code,
            diag,
            refresh_and_retry,
        });
    }

    fn choose_mechanism(&self) -> Mechanism {
        let offered = self.caps.auth;
        match self.settings.mechanism {
            MechanismPreference::OAuthBearer if offered.oauthbearer => Mechanism::OAuthBearer,
            _ if offered.xoauth2 => Mechanism::Xoauth2,
            _ => Mechanism::OAuthBearer,
        }
    }

    /// Length of `AUTH <mech> <response>\r\n` with the token lent: the
    /// message without a token, and the token's length.
    fn initial_line_len(&self) -> usize {
        let plain = self.with_message(&[], |m| m.plain_len()) + self.token_len;
        auth_initial_len(self.mechanism, plain)
    }

    fn start_auth(&mut self) {
        self.auth_attempts = self.auth_attempts.saturating_add(1);
        let initial_response = self.initial_line_len() <= SMTP_COMMAND_LINE_LIMIT;
        if initial_response {
            self.state = State::Auth(AuthStep::Outcome);
            self.queue(Cmd::AuthInitial);
        } else {
            self.state = State::Auth(AuthStep::GoAhead);
            self.queue(Cmd::AuthBare);
        }
        self.event(Event::Authenticating {
            mechanism: self.mechanism,
            initial_response,
        });
    }

    pub(super) fn with_message<R>(&self, token: &[u8], f: impl FnOnce(&dyn Plaintext) -> R) -> R {
        let user = self.user.as_str();
        match self.mechanism {
            Mechanism::Xoauth2 => f(&xoauth2(user, token)),
            Mechanism::OAuthBearer => {
                let mut port = [0u8; 20];
                let port = crate::wire::decimal(u64::from(self.settings.server_port()), &mut port);
                f(&oauthbearer(user, self.settings.server_host(), port, token))
            }
        }
    }
}

/// What an error challenge (RFC 7628 §3.2.2: the last line of a `334`
/// while the outcome of AUTH is awaited, up to MAX_REPLY_LINE_LEN octets)
/// says, kept for the final failure: (token invalid, insufficient scope).
pub(super) fn challenge_flags(text: &[u8]) -> (bool, bool) {
    match decode_error_challenge(text) {
        Ok(c) => (c.token_invalid, c.insufficient_scope),
        Err(_) => (false, false),
    }
}
