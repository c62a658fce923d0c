//! AUTH (R-SASL): the `impl` block of [`Client`] for authentication.
//!
//! XOAUTH2 or OAUTHBEARER, as the settings prefer and the server offers;
//! the initial response on the AUTH line, or AUTH alone and the response
//! after the `334` go-ahead when the line would pass the command line limit;
//! the `334` error challenge read, acknowledged and turned into a
//! diagnostic; the token lent by the caller, wiped once AUTH is over, and
//! one retry with a refreshed token. Split from `client.rs` so the session
//! reads phase by phase (R-ENGINE layering, issue 15).

use super::{Client, Cmd, State};
use crate::diag::Id;
use crate::limits::SMTP_COMMAND_LINE_LIMIT;
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

impl Client {
    // ---- mutators -----------------------------------------------------

    /// The storage of the client's copy of the token (tests of wiping).
    #[cfg(all(test, feature = "oauth"))]
    pub(crate) fn token_storage(&self) -> &[u8] {
        self.token.storage()
    }

    /// Lend the access token for `user` (copied into the client, wiped
    /// after AUTH). Call it before AUTH starts, or when
    /// [`Event::NeedToken`] asks for it.
    pub fn set_token(&mut self, now: Instant, token: &[u8]) -> Result<(), TokenError> {
        if matches!(self.state, State::Closed | State::Quit) {
            return Err(TokenError::WrongState);
        }
        if token.is_empty() {
            return Err(TokenError::Empty);
        }
        self.token.set(token).map_err(|_| TokenError::TooLong)?;
        if self.state == State::AwaitToken {
            self.last_progress = now;
            self.start_auth();
        }
        Ok(())
    }

    /// After [`Event::AuthRejected`] with `refresh_and_retry`: try again
    /// with a freshly refreshed token, once.
    pub fn retry_auth(&mut self, _now: Instant, token: &[u8]) -> Result<(), TokenError> {
        if self.state != State::AuthFailed || self.auth_attempts >= MAX_AUTH_ATTEMPTS {
            return Err(TokenError::WrongState);
        }
        if token.is_empty() {
            return Err(TokenError::Empty);
        }
        self.token.set(token).map_err(|_| TokenError::TooLong)?;
        self.start_auth();
        Ok(())
    }

    // ---- internals ----------------------------------------------------

    /// Wipe the token (the session is over).
    pub(crate) fn forget_token(&mut self) {
        self.token.clear();
    }

    /// EHLO over TLS succeeded: choose the mechanism, then authenticate
    /// once a token is lent.
    pub(super) fn begin_auth(&mut self) {
        if !self.caps.auth.any_oauth() {
            self.fail(Error::NoOAuthMechanism);
        } else {
            self.mechanism = self.choose_mechanism();
            if self.token.is_empty() {
                self.state = State::AwaitToken;
                self.event(Event::NeedToken);
            } else {
                self.start_auth();
            }
        }
    }

    /// The last line of a reply with `code` and `text`: a `334` while the
    /// outcome of AUTH is awaited is an error challenge; keep what it says
    /// for the final failure.
    pub(super) fn read_challenge(&mut self, code: u16, text: &[u8]) {
        if code == 334 && self.state == State::Auth(AuthStep::Outcome) {
            // An error challenge (RFC 7628 §3.2.2) on one line of up
            // to MAX_REPLY_LINE_LEN octets.
            self.challenge = match decode_error_challenge(text) {
                Ok(c) => (c.token_invalid, c.insufficient_scope),
                Err(_) => (false, false),
            };
        }
    }

    /// The reply to an AUTH line (or to the response or acknowledgement
    /// that followed a `334`).
    pub(super) fn on_auth_reply(&mut self, code: ReplyCode) {
        let State::Auth(step) = self.state else {
            self.fail(Error::UnexpectedReply { code });
            return;
        };
        if code.code == 235 {
            self.token.clear();
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
        self.token.clear();
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

    /// Length of `AUTH <mech> <response>\r\n`.
    fn initial_line_len(&self) -> usize {
        let plain = self.with_message(|m| m.plain_len());
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

    pub(super) fn with_message<R>(&self, f: impl FnOnce(&dyn Plaintext) -> R) -> R {
        let user = self.user.as_str();
        let token = self.token.expose();
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
