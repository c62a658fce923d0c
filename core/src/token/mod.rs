//! OAuth tokens of the administrator and the users, and their lifecycle
//! (R-TOK).
//!
//! The [`TokenStore`] has one administrator slot, up to [`MAX_USER_TOKENS`]
//! user slots (its own array, or as many as the firmware lends,
//! [`UserSlots`]: R-MEM) and one guest slot (a public user's token for one
//! job, never persisted). A slot holds the account address, the refresh token
//! (persisted, R-TOK-2) and the status shown on the OAuth screen
//! (**Required** / **Acquired** / **ReauthNeeded**, R-TOK-3). Access tokens
//! (R-TOK-1) live only in a small RAM cache of [`MAX_CACHED_ACCESS_TOKENS`]
//! entries with their expiry on the caller's monotonic clock, their octets
//! packed together in [`crate::limits::ACCESS_CACHE_LEN`] (R-MEM).
//!
//! Lifecycle rules:
//! - an access token is used until [`REFRESH_AHEAD`] before it expires
//!   (or half its lifetime for very short-lived tokens), then refreshed;
//! - after the SMTP server rejects a token ("refresh and retry"), the cached
//!   access token is dropped ([`TokenStore::token_rejected`]) and the
//!   caller refreshes once more, and only once;
//! - a refresh that fails with `invalid_grant` empties the slot, sets
//!   ReauthNeeded and, for the administrator, raises the Information-screen
//!   notice (R-TOK-4);
//! - power-on clears every access token; **Delete** clears a user's tokens;
//!   with automatic deletion on, logout and the system auto-reset clear the
//!   user's tokens (R-TOK-5). Every cleared secret is zeroized;
//! - with the optional wall clock ([`WallTime`]) the age and last use of
//!   each refresh token are kept so the administrator is warned before
//!   Microsoft's 90-day inactivity expiry, Google's 6-month one, or a Google
//!   "Testing" app's 7-day limit.
//!
//! The store is sans-IO: the token-endpoint exchanges are made by the OAuth
//! client and carried by the firmware; the store is told their outcome.

mod access_cache;
#[cfg(all(test, feature = "oauth"))]
mod access_cache_tests;
#[cfg(all(test, feature = "oauth"))]
mod account_tests;
mod readiness;
mod store;
#[cfg(test)]
pub(crate) mod tests;
mod user_slots;
#[cfg(all(test, feature = "oauth"))]
mod user_slots_tests;

#[cfg(all(test, not(feature = "oauth")))]
mod tests_without_oauth {
    use super::*;
    use crate::address::Address;
    use crate::time::Instant;

    #[test]
    fn without_the_feature_tokens_cannot_be_stored() {
        // R-RULE-7.
        let mut store = TokenStore::new();
        let grant = TokenGrant {
            access_token: b"AT",
            expires_in: Duration::from_secs(3600),
            refresh_token: Some(b"RT"),
            refresh_expires_in: None,
        };
        let account = Address::parse("a@b.c").unwrap();
        assert_eq!(
            store.store_acquired(Instant::ZERO, None, &TokenOwner::Admin, &account, grant),
            Err(TokenError::NotAvailable)
        );
        assert_eq!(TokenError::NotAvailable.diag(), Id::NotAvailable);
    }
}

use core::fmt;

use crate::diag::{Diagnostic, Id};
use crate::limits::MAX_USER_ID_LEN;
use crate::time::Duration;

pub(crate) use store::Slot;
pub use store::{Access, TokenGrant, TokenStore, UserEntry};
pub use user_slots::{UserSlot, UserSlots};

#[allow(unused_imports)] // doc links
use crate::limits::{MAX_CACHED_ACCESS_TOKENS, MAX_USER_TOKENS};

/// A printer user's login name.
pub type UserId = heapless::String<MAX_USER_ID_LEN>;

/// How long before an access token's expiry it is refreshed by default
/// (the settings' `refresh_margin_s` changes it): ten minutes,
/// so a large scan that starts just before expiry still authenticates,
/// small clock differences with the provider do not matter, and Microsoft's
/// High Volume Email endpoint, which refuses a token close to its expiry
/// (`501 5.5.127`), takes it (it asks for at least 600 s). For tokens
/// that live less than twice this, half their lifetime is used instead, so
/// a short-lived token is never considered stale the moment it arrives.
pub const REFRESH_AHEAD: Duration = Duration::from_secs(10 * 60);

/// Lifetime assumed for an access token whose response has no `expires_in`:
/// the manual's "about one hour" (R-TOK-1).
pub const DEFAULT_ACCESS_LIFETIME: Duration = Duration::from_secs(3600);

/// Seconds in a day, for the wall-clock expiry rules.
const DAY_SECS: u64 = 86_400;

/// The refresh-token status shown in [Jetons d'actualisation] (R-TOK-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum TokenStatus {
    /// No refresh token ("Obligatoire").
    #[default]
    Required = 0,
    /// A refresh token is held ("Acquis").
    Acquired = 1,
    /// The refresh token was rejected (`invalid_grant`): authenticate again.
    ReauthNeeded = 2,
}

impl TokenStatus {
    pub(crate) const fn from_u8(n: u8) -> Option<TokenStatus> {
        match n {
            0 => Some(TokenStatus::Required),
            1 => Some(TokenStatus::Acquired),
            2 => Some(TokenStatus::ReauthNeeded),
            _ => None,
        }
    }
}

/// Whose token slot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TokenOwner {
    /// The administrator's slot.
    Admin,
    /// A logged-in user's slot.
    User(UserId),
    /// The public user's slot for the current job (RAM only).
    Guest,
}

/// Seconds since 1970-01-01 UTC from the caller's wall clock (optional:
/// only used for refresh-token age warnings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WallTime(pub u64);

impl WallTime {
    /// Whole days from `self` to `later` (zero if `later` is earlier).
    #[must_use]
    pub const fn days_until(self, later: WallTime) -> u64 {
        later.0.saturating_sub(self.0) / DAY_SECS
    }

    /// `self` plus `days`.
    #[must_use]
    pub const fn plus_days(self, days: u64) -> WallTime {
        WallTime(self.0.saturating_add(days.saturating_mul(DAY_SECS)))
    }

    /// The day of `self` in UTC: (year, month 1–12, day 1–31).
    #[must_use]
    pub fn date(self) -> (u64, u64, u64) {
        crate::time::civil_from_days(self.0 / DAY_SECS)
    }

    /// `self` plus `secs` seconds.
    #[must_use]
    pub const fn plus_secs(self, secs: u64) -> WallTime {
        WallTime(self.0.saturating_add(secs))
    }

    /// `self` minus `days`.
    #[must_use]
    pub const fn minus_days(self, days: u64) -> WallTime {
        WallTime(self.0.saturating_sub(days.saturating_mul(DAY_SECS)))
    }
}

/// How a refresh token of a provider expires, for the warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ExpiryRule {
    /// Days after the last use (inactivity) or after the first
    /// acquisition (fixed lifetime).
    pub days: u64,
    /// Whether `days` count from the last use (true) or from acquisition.
    pub from_last_use: bool,
    /// Days ahead of the expiry the administrator is warned.
    pub warn_days: u64,
}

impl ExpiryRule {
    /// Microsoft: 90 days of inactivity (AADSTS700082); warned 14 days ahead.
    pub const MICROSOFT: ExpiryRule = ExpiryRule {
        days: 90,
        from_last_use: true,
        warn_days: 14,
    };
    /// Google: unused for six months; warned 14 days ahead.
    pub const GOOGLE: ExpiryRule = ExpiryRule {
        days: 180,
        from_last_use: true,
        warn_days: 14,
    };
    /// Google app in "Testing" status: 7 days from consent; warned 2 days
    /// ahead.
    pub const GOOGLE_TESTING: ExpiryRule = ExpiryRule {
        days: 7,
        from_last_use: false,
        warn_days: 2,
    };
}

/// Something the firmware must act on, from [`TokenStore::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StoreEvent {
    /// Persistent state changed (a refresh token was stored, rotated or
    /// deleted): write a new image with [`crate::image::save`]. When
    /// `erase_other_slot` is set, a refresh token was deleted or replaced
    /// and the older NV slot still holds it: once the new image is written
    /// and verified, erase the other slot (it is no longer needed for power
    /// safety: the next write goes there), so no copy stays in flash.
    Persist {
        /// Erase the other NV slot after writing this image.
        erase_other_slot: bool,
    },
    /// R-TOK-4: show the warning on the Information screen: the
    /// administrator's authentication was cancelled; Acquire re-authenticates.
    AdminReauthNeeded,
    /// A user's refresh token was rejected; the user authenticates again at
    /// the next send.
    UserReauthNeeded(UserId),
    /// A refresh token will expire in `days_left` days (wall clock needed).
    RefreshTokenExpiring {
        /// Whose token.
        owner: TokenOwner,
        /// Whole days left.
        days_left: u16,
    },
    /// At power-on the newest image was damaged and the previous one was
    /// loaded ([`crate::image::LoadReport::previous_restored`]): show the notice
    /// [`Id::NvPreviousRestored`] (the last change saved before the
    /// power-on may be lost). A [`StoreEvent::Persist`] follows.
    PreviousImageRestored,
}

impl StoreEvent {
    /// The diagnostic to show for this event (`None` for [`StoreEvent::Persist`]).
    #[must_use]
    pub fn diag(&self) -> Option<Id> {
        match self {
            StoreEvent::Persist { .. } => None,
            StoreEvent::AdminReauthNeeded => Some(Id::AdminReauthNeeded),
            StoreEvent::UserReauthNeeded(_) => Some(Id::UserReauthNeeded),
            StoreEvent::RefreshTokenExpiring { .. } => Some(Id::RefreshTokenExpiring),
            StoreEvent::PreviousImageRestored => Some(Id::NvPreviousRestored),
        }
    }
}

/// A token-store operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TokenError {
    /// This product has no OAuth (R-RULE-7).
    NotAvailable,
    /// No free user slot.
    StoreFull,
    /// No token is stored for this user.
    UnknownUser,
    /// A token from the provider exceeds its fixed capacity.
    TokenTooLarge,
    /// The slot has no refresh token to refresh with.
    NoRefreshToken,
    /// The provider says another account signed in than the one the slot
    /// is for (R-ACCT): the token is refused.
    AccountMismatch,
    /// A token handed in from outside is empty or already expired (zero
    /// lifetime).
    HandedTokenExpired,
}

impl Diagnostic for TokenError {
    fn diag(&self) -> Id {
        match self {
            TokenError::NotAvailable => Id::NotAvailable,
            TokenError::StoreFull => Id::TokenStoreFull,
            TokenError::UnknownUser => Id::UnknownUser,
            TokenError::TokenTooLarge => Id::TokenTooLarge,
            TokenError::NoRefreshToken => Id::WrongState,
            TokenError::AccountMismatch => Id::AccountMismatch,
            TokenError::HandedTokenExpired => Id::HandedTokenExpired,
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.diag(), f)
    }
}

impl core::error::Error for TokenError {}

/// What a failed refresh grant means for the refresh token and the job.
///
/// The core decides it, once, for every driver ([`RefreshFailure::classify`],
/// R-ENGINE): the host, the board driver and the C API only pass on how the
/// OAuth client's flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RefreshFailure {
    /// The grant is dead: `invalid_grant` proper (expired, revoked,
    /// inactivity, password change, sign-in frequency): the refresh token is
    /// erased; authenticate again (R-TOK-4).
    InvalidGrant,
    /// The provider refused the refresh for a reason an administrator fixes
    /// at the provider while the grant itself lives: consent missing
    /// (AADSTS65001), Conditional Access (AADSTS53003), another policy or
    /// the app registration. The refresh token is kept (it works again once
    /// the cause is fixed) and the job fails with that precise diagnostic,
    /// whose remedy says what to change; no new sign-in is asked for.
    Refused,
    /// Anything else (network, provider unavailable, rate limit): the refresh
    /// token is kept and the job fails with the exchange's diagnostic.
    Transient,
}

impl RefreshFailure {
    /// The one classification of a failed refresh grant (R-ENGINE,
    /// R-TOK-4). `grant_refused` is how the OAuth client's flow ended:
    /// `true` for [`crate::oauth::Event::ReauthRequired`] (the C token
    /// event `REAUTH_REQUIRED`: the token endpoint answered with an
    /// `invalid_grant`-family code), `false` for
    /// [`crate::oauth::Event::Failed`]; `diag` is the diagnostic of the
    /// flow's error, which carries Microsoft's AADSTS number.
    ///
    /// The token is erased only on a positive sign that the grant is dead
    /// (plain `invalid_grant`, AADSTS 70000, 70008, 700082, 50173, 70043);
    /// any other refusal (65001 consent, 53003 Conditional Access, …) keeps
    /// it.
    #[must_use]
    pub const fn classify(grant_refused: bool, diag: Id) -> Self {
        if !grant_refused {
            return RefreshFailure::Transient;
        }
        match diag {
            Id::InvalidGrant
            | Id::RefreshExpiredInactivity
            | Id::RefreshRevoked
            | Id::SignInFrequency
            | Id::AdminReauthNeeded
            | Id::UserReauthNeeded => RefreshFailure::InvalidGrant,
            _ => RefreshFailure::Refused,
        }
    }

    /// [`RefreshFailure::classify`] of the OAuth client's terminal
    /// failure event, with the event's diagnostic; `None` for any other
    /// event (success, progress).
    #[must_use]
    pub fn of_event(event: &crate::oauth::Event) -> Option<(Self, Id)> {
        match event {
            crate::oauth::Event::ReauthRequired(e) => {
                let diag = e.diag();
                Some((Self::classify(true, diag), diag))
            }
            crate::oauth::Event::Failed(e) => Some((RefreshFailure::Transient, e.diag())),
            _ => None,
        }
    }

    /// Whether the refresh token is erased (R-TOK-4).
    #[must_use]
    pub const fn erases_token(self) -> bool {
        matches!(self, RefreshFailure::InvalidGrant)
    }
}
