//! The token store: slots, RAM cache of access tokens, events.

use heapless::Deque;

use super::access_cache::{AccessCache, Entry as CacheEntry, NewToken};
use super::{
    ExpiryRule, RefreshFailure, StoreEvent, TokenError, TokenOwner, TokenStatus, UserId, WallTime,
    DEFAULT_ACCESS_LIFETIME, REFRESH_AHEAD,
};
use crate::address::Address;
use crate::config::{oauth_available, Applied, ProviderKind, Settings};
use crate::limits::{MAX_ACCESS_TOKEN_LEN, MAX_REFRESH_TOKEN_LEN, MAX_USER_TOKENS};
use crate::secret::RefreshToken;
use crate::time::{Duration, Instant};
use crate::wire::json::TokenResponse;

pub use super::user_slots::{UserSlot, UserSlots};

/// Notices held before the caller polls them (one per user slot plus the
/// administrator's and some slack; [`StoreEvent::Persist`] is never queued,
/// it is a flag and cannot be lost).
const EVENT_QUEUE: usize = MAX_USER_TOKENS + 4;

/// One slot's persistent state.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) account: Option<Address>,
    /// The provider named `account` as the one that signed in (the
    /// `id_token`, R-ACCT); false: the configured address is assumed.
    pub(crate) verified: bool,
    pub(crate) refresh: RefreshToken,
    pub(crate) status: TokenStatus,
    pub(crate) acquired_at: Option<WallTime>,
    pub(crate) last_used: Option<WallTime>,
    /// When the refresh token dies, as the provider said
    /// (`refresh_token_expires_in`, R-TOK health); `None` when it did not
    /// say, and the provider's [`ExpiryRule`] alone applies.
    pub(crate) refresh_expires_at: Option<WallTime>,
    /// The slot's access token was handed in from outside
    /// ([`TokenStore::install_handed`]; RAM): without a refresh token, its
    /// end asks for a new one, not for a sign-in.
    handed: bool,
    /// An expiry warning was raised for the current refresh token (RAM).
    warned: bool,
}

impl Slot {
    pub(crate) const fn empty() -> Self {
        Slot {
            account: None,
            verified: false,
            refresh: RefreshToken::new(),
            status: TokenStatus::Required,
            acquired_at: None,
            last_used: None,
            refresh_expires_at: None,
            handed: false,
            warned: false,
        }
    }

    /// Forget everything; the refresh token is zeroized.
    fn clear(&mut self, status: TokenStatus) {
        self.refresh.clear();
        self.account = None;
        self.verified = false;
        self.status = status;
        self.acquired_at = None;
        self.last_used = None;
        self.refresh_expires_at = None;
        self.handed = false;
        self.warned = false;
    }

    /// The slot's state from an image; its refresh token was already
    /// opened into `self.refresh` (R-MEM: no copy in between).
    pub(crate) fn restore(
        &mut self,
        account: Option<Address>,
        verified: bool,
        status: TokenStatus,
        acquired_at: Option<WallTime>,
        last_used: Option<WallTime>,
        refresh_expires_at: Option<WallTime>,
    ) {
        // A slot that claims Acquired must hold a token; fail closed.
        self.status = if status == TokenStatus::Acquired && self.refresh.is_empty() {
            TokenStatus::Required
        } else {
            status
        };
        self.verified = verified && account.is_some();
        self.account = account;
        self.acquired_at = acquired_at;
        self.last_used = last_used;
        self.refresh_expires_at = refresh_expires_at;
        self.handed = false;
        self.warned = false;
    }
}

/// What one user slot holds: the user's login name and token slot.
/// Opaque: only a [`TokenStore`] fills it, in the [`UserSlot`]s it keeps.
#[derive(Debug)]
pub struct UserEntry {
    pub(crate) id: UserId,
    pub(crate) slot: Slot,
}

impl UserEntry {
    /// No user, an empty slot.
    const EMPTY: UserEntry = UserEntry {
        id: UserId::new(),
        slot: Slot::empty(),
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Admin,
    User(usize),
    Guest,
}

/// What a job can do with a slot's access token right now.
#[derive(Debug)]
pub enum Access<'a> {
    /// A valid access token, not within the refresh margin of its expiry.
    Valid(&'a [u8]),
    /// No usable access token, but a refresh token: run a refresh grant.
    Refresh,
    /// No refresh token (Required or ReauthNeeded): someone must sign in.
    Authenticate,
}

/// Tokens from a successful token-endpoint exchange, borrowed from the
/// OAuth client's buffers (the store copies them; the caller wipes its own).
#[derive(Clone, Copy)]
pub struct TokenGrant<'a> {
    /// The access token.
    pub access_token: &'a [u8],
    /// Its lifetime (`expires_in`).
    pub expires_in: Duration,
    /// The refresh token, when the response carried one (first grant, or a
    /// rotated one).
    pub refresh_token: Option<&'a [u8]>,
    /// How long the refresh token lives, when the provider said
    /// (`refresh_token_expires_in`): it feeds the expiry warnings.
    pub refresh_expires_in: Option<Duration>,
}

impl core::fmt::Debug for TokenGrant<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.map(|_| "<redacted>"))
            .field("refresh_expires_in", &self.refresh_expires_in)
            .finish()
    }
}

impl<'a> TokenGrant<'a> {
    /// The grant in a token-endpoint response (what
    /// [`crate::oauth::Client::tokens`] holds after its `AccessToken`
    /// event). Without `expires_in`, [`DEFAULT_ACCESS_LIFETIME`] is assumed
    /// (R-TOK-1); an empty refresh token means none came back.
    #[must_use]
    pub fn from_response(r: &'a TokenResponse) -> Self {
        TokenGrant {
            access_token: r.access_token.expose(),
            expires_in: r
                .expires_in
                .map_or(DEFAULT_ACCESS_LIFETIME, Duration::from_secs),
            refresh_token: (!r.refresh_token.is_empty()).then(|| r.refresh_token.expose()),
            refresh_expires_in: r.refresh_expires_in.map(Duration::from_secs),
        }
    }

    fn check(&self) -> Result<(), TokenError> {
        let refresh_len = self.refresh_token.map_or(0, <[u8]>::len);
        if self.access_token.len() > MAX_ACCESS_TOKEN_LEN || refresh_len > MAX_REFRESH_TOKEN_LEN {
            return Err(TokenError::TokenTooLarge);
        }
        Ok(())
    }
}

/// The administrator's, the users' and the guest's tokens (R-TOK).
///
/// The users' slots are kept in `S`: by default an array of
/// [`MAX_USER_TOKENS`] inside the store; with [`TokenStore::set_user_slots`],
/// storage the firmware lends, sized for the users it keeps signed in
/// (R-MEM, see [`UserSlots`]).
///
/// Not `Clone`: there is exactly one copy of each secret.
#[derive(Debug)]
pub struct TokenStore<S: UserSlots = [UserSlot; MAX_USER_TOKENS]> {
    pub(crate) admin: Slot,
    pub(crate) users: S,
    guest: Slot,
    cache: AccessCache<Key>,
    events: Deque<StoreEvent, EVENT_QUEUE>,
    persist_pending: bool,
    /// A refresh token was removed or replaced since the last image: the
    /// older NV slot still holds it.
    erase_pending: bool,
    /// [`crate::config::Settings::refresh_margin_s`]; 0 (a store built in
    /// zeroed storage, before the settings are known) is [`REFRESH_AHEAD`].
    refresh_margin_s: u16,
}

impl Default for TokenStore {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: UserSlots> Drop for TokenStore<S> {
    /// The users' slots may be the firmware's storage, which outlives the
    /// store: every user's secret is zeroized and the slots are left empty
    /// (the store's own secrets are wiped by their own buffers).
    fn drop(&mut self) {
        self.empty_user_slots();
    }
}

impl TokenStore {
    /// An empty store with [`MAX_USER_TOKENS`] user slots of its own:
    /// every status Required, no access token.
    #[must_use]
    pub const fn new() -> Self {
        TokenStore::build([const { None }; MAX_USER_TOKENS])
    }
}

impl<S: UserSlots> TokenStore<S> {
    /// An empty store whose users' slots are kept in `users` (R-MEM:
    /// storage the firmware lends, sized for the users it keeps signed
    /// in): every slot of `users` is emptied first, whatever it held. The
    /// store wipes them when it is dropped.
    #[must_use]
    pub fn with_user_slots(users: S) -> Self {
        let mut store = TokenStore::build(users);
        store.empty_user_slots();
        store
    }

    const fn build(users: S) -> Self {
        TokenStore {
            admin: Slot::empty(),
            users,
            guest: Slot::empty(),
            cache: AccessCache::new(Key::Admin),
            events: Deque::new(),
            persist_pending: false,
            erase_pending: false,
            refresh_margin_s: 0,
        }
    }

    /// Keep the users' slots in `users` from now on (R-MEM: storage the
    /// firmware lends, sized for the users it keeps signed in). The users
    /// held so far are wiped (every secret zeroized) and forgotten, and
    /// every slot of `users` is emptied; call it before loading the image
    /// ([`crate::image::load`]), whose users then go into `users`. At most
    /// [`MAX_USER_TOKENS`] slots are used (the image's bound). Returns the
    /// slots kept so far, emptied.
    pub fn set_user_slots(&mut self, users: S) -> S {
        self.free_all_users();
        let previous = core::mem::replace(&mut self.users, users);
        self.empty_user_slots();
        previous
    }

    /// Every user slot emptied, whatever it held (its secret zeroized).
    fn empty_user_slots(&mut self) {
        for slot in self.users.slots_mut() {
            if let Some(u) = slot.as_mut() {
                u.slot.clear(TokenStatus::Required);
            }
            *slot = None;
        }
    }

    /// Whether `owner`'s tokens can be kept: the administrator's and the
    /// public user's always, a user's in their slot or a free one.
    #[must_use]
    pub fn has_room_for(&self, owner: &TokenOwner) -> bool {
        match owner {
            TokenOwner::User(_) => {
                self.key(owner).is_some() || self.users.slots().iter().any(Option::is_none)
            }
            TokenOwner::Admin | TokenOwner::Guest => true,
        }
    }

    /// How many users' slots the store has.
    #[must_use]
    pub fn user_capacity(&self) -> usize {
        self.users.slots().len()
    }

    /// Renew access tokens `secs` seconds before they expire (the
    /// settings' [`crate::config::Settings::refresh_margin_s`], which the
    /// mailer hands on): for the tokens stored from now on.
    pub fn set_refresh_margin(&mut self, secs: u16) {
        self.refresh_margin_s = secs;
    }

    fn refresh_margin(&self) -> Duration {
        match self.refresh_margin_s {
            0 => REFRESH_AHEAD,
            s => Duration::from_secs(u64::from(s)),
        }
    }

    // ----- getters -----

    /// The status of `owner`'s refresh token (R-TOK-3). Unknown users read
    /// Required.
    #[must_use]
    pub fn status(&self, owner: &TokenOwner) -> TokenStatus {
        self.key(owner)
            .and_then(|k| self.slot(k))
            .map_or(TokenStatus::Required, |s| s.status)
    }

    /// The administrator's status, as [Jetons d'actualisation (administrateur)]
    /// shows it.
    #[must_use]
    pub fn admin_status(&self) -> TokenStatus {
        self.admin.status
    }

    /// Whether the Information screen must show the administrator's
    /// re-authentication warning (R-TOK-4); it stays until Acquire succeeds.
    #[must_use]
    pub fn admin_notice(&self) -> bool {
        self.admin.status == TokenStatus::ReauthNeeded
    }

    /// The account `owner`'s token was acquired for.
    #[must_use]
    pub fn account(&self, owner: &TokenOwner) -> Option<&Address> {
        self.key(owner)
            .and_then(|k| self.slot(k))
            .and_then(|s| s.account.as_ref())
    }

    /// Whether the provider named `owner`'s account as the one that signed
    /// in (an `id_token`, R-ACCT). False when the provider gave no account:
    /// the configured address was assumed (shown as "unverified").
    #[must_use]
    pub fn account_verified(&self, owner: &TokenOwner) -> bool {
        self.key(owner)
            .and_then(|k| self.slot(k))
            .is_some_and(|s| s.verified && s.account.is_some())
    }

    /// The refresh token to put in a refresh grant, if `owner` has one.
    #[must_use]
    pub fn refresh_token(&self, owner: &TokenOwner) -> Option<&RefreshToken> {
        self.key(owner)
            .and_then(|k| self.slot(k))
            .map(|s| &s.refresh)
            .filter(|r| !r.is_empty())
    }

    /// The user slots in use, for [Jetons d'actualisation (utilisateur)]:
    /// login name, status and account.
    pub fn users(&self) -> impl Iterator<Item = (&str, TokenStatus, Option<&Address>)> {
        self.users
            .slots()
            .iter()
            .flatten()
            .map(|u| (u.id.as_str(), u.slot.status, u.slot.account.as_ref()))
    }

    /// Access tokens currently held in RAM (at most
    /// [`crate::limits::MAX_CACHED_ACCESS_TOKENS`]).
    #[must_use]
    pub fn cached_access_tokens(&self) -> usize {
        self.cache.count()
    }

    /// When `owner`'s refresh token is expected to expire by the provider's
    /// rule, if the wall clock was given and the rule is known.
    #[must_use]
    pub fn expected_expiry(&self, owner: &TokenOwner, settings: &Settings) -> Option<WallTime> {
        let slot = self.key(owner).and_then(|k| self.slot(k))?;
        slot_expiry(slot, settings)
    }

    // ----- mutators -----

    /// Power-on (R-TOK-1): every access token and the guest's tokens are
    /// gone. A store loaded with [`crate::image::load`] starts this way too.
    pub fn power_on(&mut self) {
        self.clear_cache(|_| true);
        self.guest.clear(TokenStatus::Required);
    }

    /// Tokens from an interactive sign-in (the administrator's Acquire, or a
    /// user's OAuth screen) for `account`. Allocates a user slot if needed.
    /// The account is unverified: [`TokenStore::store_signed_in`] takes the
    /// one the provider named.
    pub fn store_acquired(
        &mut self,
        now: Instant,
        wall: Option<WallTime>,
        owner: &TokenOwner,
        account: &Address,
        grant: TokenGrant<'_>,
    ) -> Result<(), TokenError> {
        self.store_signed_in(now, wall, owner, account, grant, None)
    }

    /// [`TokenStore::store_acquired`] with the account the provider says
    /// signed in (`learned`, from the `id_token`: R-ACCT). A token for
    /// another account than `account`, the one the slot is for, is refused
    /// with [`TokenError::AccountMismatch`] before it is stored or used (it
    /// would only earn a `535` from the SMTP server); the slot keeps what it
    /// held. Without `learned` the account is kept as unverified.
    pub fn store_signed_in(
        &mut self,
        now: Instant,
        wall: Option<WallTime>,
        owner: &TokenOwner,
        account: &Address,
        grant: TokenGrant<'_>,
        learned: Option<&Address>,
    ) -> Result<(), TokenError> {
        oauth_available().map_err(|_| TokenError::NotAvailable)?;
        grant.check()?;
        if learned.is_some_and(|l| !l.same_mailbox(account)) {
            return Err(TokenError::AccountMismatch);
        }
        let key = match self.key(owner) {
            Some(k) => k,
            None => self.allocate(owner)?,
        };
        let slot = self.slot_mut(key).ok_or(TokenError::UnknownUser)?;
        let replaced = !slot.refresh.is_empty();
        slot.clear(TokenStatus::Required);
        slot.account = Some(account.clone());
        slot.verified = learned.is_some();
        if let Some(refresh) = grant.refresh_token.filter(|r| !r.is_empty()) {
            slot.refresh
                .set(refresh)
                .map_err(|_| TokenError::TokenTooLarge)?;
            slot.status = TokenStatus::Acquired;
            slot.refresh_expires_at = refresh_expiry(wall, &grant);
        }
        slot.acquired_at = wall;
        slot.last_used = wall;
        self.cache_access(now, key, grant.access_token, grant.expires_in);
        if key != Key::Guest {
            self.mark_persist(replaced);
        }
        Ok(())
    }

    /// An access token handed in from outside for `owner`'s slot (R-APP: a
    /// print-management server that obtained it), for `account`, living
    /// `lifetime` from `now`. It is held in RAM only, like every access
    /// token (R-TOK-1), and used as long as the refresh margin allows; it
    /// is evicted for another slot's token only when that one would not
    /// fit beside it alone ([`crate::limits::ACCESS_CACHE_LEN`]: nothing
    /// can get it back, but the job needs the new one). The slot keeps its
    /// refresh token, if any, for the same account; a slot whose refresh
    /// token is another account's refuses it
    /// ([`TokenError::AccountMismatch`]). Without a refresh token, the
    /// token's end fails the next job with [`Id::HandedTokenExpired`]
    /// ([`TokenStore::handed_in`]) instead of asking for a sign-in. The
    /// public user's slot (one job's) takes none: [`TokenError::UnknownUser`].
    ///
    /// [`Id::HandedTokenExpired`]: crate::diag::Id::HandedTokenExpired
    pub fn install_handed(
        &mut self,
        now: Instant,
        owner: &TokenOwner,
        account: &Address,
        token: &[u8],
        lifetime: Duration,
    ) -> Result<(), TokenError> {
        self.install_access(now, owner, account, token, lifetime, true)
    }

    /// An app-only access token for `owner`'s slot (R-APP: the client
    /// credentials or JWT bearer grant the mailer ran), for `account`,
    /// living `lifetime` from `now`: held in RAM like every access token,
    /// and asked for again when it ends (no refresh token comes with it).
    /// A slot holding another account's refresh token refuses it
    /// ([`TokenError::AccountMismatch`]).
    pub fn install_app_token(
        &mut self,
        now: Instant,
        owner: &TokenOwner,
        account: &Address,
        token: &[u8],
        lifetime: Duration,
    ) -> Result<(), TokenError> {
        self.install_access(now, owner, account, token, lifetime, false)
    }

    fn install_access(
        &mut self,
        now: Instant,
        owner: &TokenOwner,
        account: &Address,
        token: &[u8],
        lifetime: Duration,
        handed: bool,
    ) -> Result<(), TokenError> {
        oauth_available().map_err(|_| TokenError::NotAvailable)?;
        if token.len() > MAX_ACCESS_TOKEN_LEN {
            return Err(TokenError::TokenTooLarge);
        }
        if token.is_empty() || lifetime == Duration::ZERO {
            return Err(TokenError::HandedTokenExpired);
        }
        if *owner == TokenOwner::Guest {
            return Err(TokenError::UnknownUser);
        }
        if let Some(slot) = self.key(owner).and_then(|k| self.slot(k)) {
            let other = slot
                .account
                .as_ref()
                .is_some_and(|a| !a.same_mailbox(account));
            if other && !slot.refresh.is_empty() {
                return Err(TokenError::AccountMismatch);
            }
        }
        let key = match self.key(owner) {
            Some(k) => k,
            None => self.allocate(owner)?,
        };
        let slot = self.slot_mut(key).ok_or(TokenError::UnknownUser)?;
        if slot.refresh.is_empty() {
            // The print-management server vouches for the account, not
            // the provider: unverified (R-ACCT).
            if slot.account.as_ref() != Some(account) {
                slot.account = Some(account.clone());
                slot.verified = false;
            }
        }
        slot.handed = handed;
        self.cache_token(now, key, token, lifetime, handed);
        Ok(())
    }

    /// Whether `owner`'s access token was handed in from outside and no
    /// refresh token stands behind it: when it ends, a new one must be
    /// handed in (or someone signs in another way).
    #[must_use]
    pub fn handed_in(&self, owner: &TokenOwner) -> bool {
        self.key(owner)
            .and_then(|k| self.slot(k))
            .is_some_and(|s| s.handed && s.refresh.is_empty())
    }

    /// What `owner` can do with its access token at `now`.
    pub fn access(&mut self, now: Instant, owner: &TokenOwner) -> Access<'_> {
        let Some(key) = self.key(owner) else {
            return Access::Authenticate;
        };
        // Expired entries are wiped as soon as they are seen.
        self.clear_cache(|c| c.key == key && now >= c.expires_at);
        let has_refresh = self.slot(key).is_some_and(|s| !s.refresh.is_empty());
        match self.cache.fresh(key, now) {
            Some(token) => Access::Valid(token),
            None if has_refresh => Access::Refresh,
            None => Access::Authenticate,
        }
    }

    /// The access token lent to `owner`'s SMTP session, read at each
    /// transmit of AUTH (R-MEM: the session keeps no copy): the cached
    /// octets whatever their age, as [`TokenStore::access`] found them
    /// valid when it lent them moments before. `None` once they are gone
    /// (evicted or wiped): AUTH then goes out with no token and is refused.
    pub(crate) fn lent_token(&self, owner: &TokenOwner) -> Option<&[u8]> {
        self.cache.token_of(self.key(owner)?)
    }

    /// A refresh grant for `owner` succeeded. A new refresh token in the
    /// response replaces the old one (rotation) and asks for persistence.
    /// Returns whether the refresh token rotated.
    pub fn refreshed(
        &mut self,
        now: Instant,
        wall: Option<WallTime>,
        owner: &TokenOwner,
        grant: TokenGrant<'_>,
    ) -> Result<bool, TokenError> {
        oauth_available().map_err(|_| TokenError::NotAvailable)?;
        grant.check()?;
        let key = self.key(owner).ok_or(TokenError::UnknownUser)?;
        let slot = self.slot_mut(key).ok_or(TokenError::UnknownUser)?;
        if slot.refresh.is_empty() {
            return Err(TokenError::NoRefreshToken);
        }
        let rotated = match grant.refresh_token.filter(|r| !r.is_empty()) {
            Some(new) if !slot.refresh.ct_eq(new) => {
                slot.refresh
                    .set(new)
                    .map_err(|_| TokenError::TokenTooLarge)?;
                true
            }
            _ => false,
        };
        // The provider's word on the refresh token's death: what this
        // answer says, or for a rotated token that came without it, unknown
        // (the old token's date is not the new one's). Persisted when it
        // moves by a day or more, like the last use.
        let said = refresh_expiry(wall, &grant);
        let expiry = if said.is_some() || rotated {
            said
        } else {
            slot.refresh_expires_at
        };
        let expiry_moved = match (slot.refresh_expires_at, expiry) {
            (Some(a), Some(b)) => a.days_until(b) >= 1 || b.days_until(a) >= 1,
            (a, b) => a.is_some() != b.is_some(),
        };
        slot.refresh_expires_at = expiry;
        // Persist a new last use at most once a day: the expiry warnings
        // count in days and flash wears with every write.
        let new_day = match (slot.last_used, wall) {
            (Some(old), Some(new)) => old.days_until(new) >= 1,
            (None, Some(_)) => true,
            _ => false,
        } || expiry_moved;
        if wall.is_some() {
            slot.last_used = wall;
        }
        slot.warned = false;
        slot.handed = false;
        slot.status = TokenStatus::Acquired;
        if key != Key::Guest && (rotated || new_day) {
            self.mark_persist(rotated);
        }
        self.cache_access(now, key, grant.access_token, grant.expires_in);
        Ok(rotated)
    }

    /// A refresh grant for `owner` failed. `invalid_grant` empties the slot
    /// (zeroized) and sets ReauthNeeded; for the administrator it raises the
    /// Information-screen notice (R-TOK-4).
    pub fn refresh_failed(&mut self, owner: &TokenOwner, failure: RefreshFailure) {
        if failure != RefreshFailure::InvalidGrant {
            return;
        }
        let Some(key) = self.key(owner) else {
            return;
        };
        self.clear_cache(|c| c.key == key);
        let event = match key {
            Key::Admin => Some(StoreEvent::AdminReauthNeeded),
            Key::User(i) => self
                .users
                .slots()
                .get(i)
                .and_then(Option::as_ref)
                .map(|u| StoreEvent::UserReauthNeeded(u.id.clone())),
            Key::Guest => None,
        };
        if let Some(slot) = self.slot_mut(key) {
            let account = slot.account.take();
            let verified = slot.verified;
            slot.clear(TokenStatus::ReauthNeeded);
            // Keep whose account it was: the OAuth screen shows it.
            slot.account = account;
            slot.verified = verified;
        }
        if key != Key::Guest {
            self.mark_persist(true);
        }
        if let Some(e) = event {
            self.push_event(e);
        }
    }

    /// [`crate::image::load`] fell back to the previous image because the
    /// newest was damaged: the notice [`StoreEvent::PreviousImageRestored`],
    /// then a new image of the restored state (it goes over the damaged
    /// slot), so both slots hold a good image again (R-NV).
    pub(crate) fn previous_image_restored(&mut self) {
        self.push_event(StoreEvent::PreviousImageRestored);
        self.mark_persist(false);
    }

    /// The SMTP server rejected `owner`'s access token ("refresh and
    /// retry"): drop it so the next [`TokenStore::access`] asks for a
    /// refresh.
    pub fn token_rejected(&mut self, owner: &TokenOwner) {
        if let Some(key) = self.key(owner) {
            self.clear_cache(|c| c.key == key);
        }
    }

    /// **Delete** a user's tokens (R-TOK-5); zeroized.
    pub fn delete_user(&mut self, id: &str) -> Result<(), TokenError> {
        let i = self
            .users
            .slots()
            .iter()
            .position(|u| u.as_ref().is_some_and(|u| u.id.as_str() == id))
            .ok_or(TokenError::UnknownUser)?;
        self.free_user(i);
        self.mark_persist(true);
        Ok(())
    }

    /// Delete every user's tokens.
    pub fn delete_all_users(&mut self) {
        let mut any = false;
        for i in 0..self.users.slots().len() {
            if self.users.slots().get(i).is_some_and(Option::is_some) {
                self.free_user(i);
                any = true;
            }
        }
        if any {
            self.mark_persist(true);
        }
    }

    /// Delete the administrator's tokens (status Required).
    pub fn delete_admin(&mut self) {
        self.clear_cache(|c| c.key == Key::Admin);
        self.admin.clear(TokenStatus::Required);
        self.mark_persist(true);
    }

    /// The user logged out. With automatic deletion on, their tokens are
    /// deleted (R-TOK-5). The guest's tokens always go. Returns whether a
    /// user slot was deleted.
    pub fn logout(&mut self, id: &str, settings: &Settings) -> bool {
        self.job_finished();
        settings.auto_delete_user_tokens && self.delete_user(id).is_ok()
    }

    /// The system auto-reset fired with `current` logged in (if anyone):
    /// same as a logout (R-TOK-5).
    pub fn auto_reset(&mut self, current: Option<&str>, settings: &Settings) -> bool {
        match current {
            Some(id) => self.logout(id, settings),
            None => {
                self.job_finished();
                false
            }
        }
    }

    /// A job ended: the public user's tokens (kept for that job only) are
    /// wiped.
    pub fn job_finished(&mut self) {
        self.clear_cache(|c| c.key == Key::Guest);
        self.guest.clear(TokenStatus::Required);
    }

    /// The settings saved with the tokens changed: a new image is due
    /// (R-NV); `secret_left`: the older slot holds a secret of the old
    /// settings (the proxy password) and is to be erased.
    pub(crate) fn settings_changed(&mut self, secret_left: bool) {
        self.mark_persist(secret_left);
    }

    /// Apply what a settings change implies ([`Settings::apply`]).
    pub fn apply_config(&mut self, applied: &Applied) {
        if applied.admin_token_invalidated {
            self.delete_admin();
        }
        if applied.user_tokens_invalidated {
            self.delete_all_users();
            self.job_finished();
        }
    }

    /// Check the refresh tokens' ages against the provider's expiry rule,
    /// and against the death date the provider gave
    /// (`refresh_token_expires_in`), at wall-clock time `wall`; raises one
    /// [`StoreEvent::RefreshTokenExpiring`] per token entering its warning
    /// window.
    pub fn check_expiry(&mut self, wall: WallTime, settings: &Settings) {
        let mut due: heapless::Vec<(TokenOwner, u16), { MAX_USER_TOKENS + 1 }> =
            heapless::Vec::new();
        let warn_days = expiry_rule(settings).map_or(DEFAULT_WARN_DAYS, |r| r.warn_days);
        let mut visit = |owner: TokenOwner, slot: &mut Slot| {
            let Some(expiry) = slot_expiry(slot, settings) else {
                return;
            };
            if slot.warned || wall < expiry.minus_days(warn_days) {
                return;
            }
            slot.warned = true;
            let days = u16::try_from(wall.days_until(expiry)).unwrap_or(u16::MAX);
            let _ = due.push((owner, days));
        };
        visit(TokenOwner::Admin, &mut self.admin);
        for u in self.users.slots_mut().iter_mut().flatten() {
            visit(TokenOwner::User(u.id.clone()), &mut u.slot);
        }
        for (owner, days_left) in due {
            self.push_event(StoreEvent::RefreshTokenExpiring { owner, days_left });
        }
    }

    /// The next thing the firmware must act on: notices first, then
    /// [`StoreEvent::Persist`] once for any number of changes.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<StoreEvent> {
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        if self.persist_pending {
            self.persist_pending = false;
            let erase_other_slot = core::mem::take(&mut self.erase_pending);
            return Some(StoreEvent::Persist { erase_other_slot });
        }
        None
    }

    // ----- internals -----

    /// Back to [`TokenStore::new`]'s state, in place, every secret zeroized.
    pub(crate) fn reset(&mut self) {
        self.clear_cache(|_| true);
        self.admin.clear(TokenStatus::Required);
        self.free_all_users();
        self.guest.clear(TokenStatus::Required);
        self.events.clear();
        self.persist_pending = false;
        self.erase_pending = false;
    }

    fn mark_persist(&mut self, secret_removed: bool) {
        self.persist_pending = true;
        self.erase_pending |= secret_removed;
    }

    fn key(&self, owner: &TokenOwner) -> Option<Key> {
        match owner {
            TokenOwner::Admin => Some(Key::Admin),
            TokenOwner::Guest => Some(Key::Guest),
            TokenOwner::User(id) => self
                .users
                .slots()
                .iter()
                .position(|u| u.as_ref().is_some_and(|u| u.id == *id))
                .map(Key::User),
        }
    }

    fn slot(&self, key: Key) -> Option<&Slot> {
        match key {
            Key::Admin => Some(&self.admin),
            Key::Guest => Some(&self.guest),
            Key::User(i) => self
                .users
                .slots()
                .get(i)
                .and_then(Option::as_ref)
                .map(|u| &u.slot),
        }
    }

    fn slot_mut(&mut self, key: Key) -> Option<&mut Slot> {
        match key {
            Key::Admin => Some(&mut self.admin),
            Key::Guest => Some(&mut self.guest),
            Key::User(i) => self
                .users
                .slots_mut()
                .get_mut(i)
                .and_then(Option::as_mut)
                .map(|u| &mut u.slot),
        }
    }

    fn allocate(&mut self, owner: &TokenOwner) -> Result<Key, TokenError> {
        let TokenOwner::User(id) = owner else {
            return Err(TokenError::UnknownUser);
        };
        let (i, free) = self
            .users
            .slots_mut()
            .iter_mut()
            .enumerate()
            .find(|(_, u)| u.is_none())
            .ok_or(TokenError::StoreFull)?;
        // In place (R-MEM): `UserEntry::EMPTY` is all-zero bytes, written
        // by a memset, not a 2.4 KB entry built on the stack and moved.
        let entry = free.insert(UserEntry::EMPTY);
        entry.id.clone_from(id);
        Ok(Key::User(i))
    }

    pub(crate) fn restore_user(&mut self, id: &str) -> Result<&mut Slot, TokenError> {
        let id = UserId::try_from(id).map_err(|_| TokenError::TokenTooLarge)?;
        let owner = TokenOwner::User(id);
        let key = match self.key(&owner) {
            Some(k) => k,
            None => self.allocate(&owner)?,
        };
        self.slot_mut(key).ok_or(TokenError::UnknownUser)
    }

    /// Every user's slot freed ([`TokenStore::free_user`]).
    fn free_all_users(&mut self) {
        for i in 0..self.users.slots().len() {
            self.free_user(i);
        }
    }

    fn free_user(&mut self, i: usize) {
        self.clear_cache(|c| c.key == Key::User(i));
        if let Some(entry) = self.users.slots_mut().get_mut(i) {
            if let Some(u) = entry.as_mut() {
                u.slot.clear(TokenStatus::Required);
            }
            *entry = None;
        }
    }

    fn clear_cache(&mut self, which: impl FnMut(&CacheEntry<Key>) -> bool) {
        self.cache.clear(which);
    }

    fn cache_access(&mut self, now: Instant, key: Key, token: &[u8], lifetime: Duration) {
        self.cache_token(now, key, token, lifetime, false);
    }

    /// [`TokenStore::cache_access`]; `handed`: the token came from outside
    /// and is kept over any other slot's (another handed-in one loses that
    /// standing).
    fn cache_token(
        &mut self,
        now: Instant,
        key: Key,
        token: &[u8],
        lifetime: Duration,
        handed: bool,
    ) {
        let half = Duration::from_millis(lifetime.as_millis() / 2);
        let margin = self.refresh_margin();
        let ahead = if margin < half { margin } else { half };
        let expires_at = now + lifetime;
        let refresh_at = expires_at - ahead;
        self.cache.insert(
            now,
            NewToken {
                key,
                token,
                refresh_at,
                expires_at,
                handed,
            },
        );
    }

    fn push_event(&mut self, e: StoreEvent) {
        if self.events.iter().any(|q| *q == e) {
            return;
        }
        if self.events.is_full() {
            // Notices are also states the panel can read back
            // (admin_notice, status); the oldest goes first.
            let _ = self.events.pop_front();
        }
        let _ = self.events.push_back(e);
    }

    pub(crate) fn user_entries(&self) -> impl Iterator<Item = &UserEntry> {
        self.users.slots().iter().flatten()
    }

    /// Persistence is pending (for tests and the mailer).
    #[must_use]
    pub fn persist_pending(&self) -> bool {
        self.persist_pending
    }

    /// The storage of every secret the store holds, used or not (admin,
    /// guest, users, cached access tokens): for the tests that prove wiping.
    #[cfg(all(test, feature = "oauth"))]
    pub(crate) fn secret_storages(&self) -> impl Iterator<Item = &[u8]> {
        core::iter::once(self.admin.refresh.storage())
            .chain(core::iter::once(self.guest.refresh.storage()))
            .chain(
                self.users
                    .slots()
                    .iter()
                    .flatten()
                    .map(|u| u.slot.refresh.storage()),
            )
            .chain(core::iter::once(self.cache.storage()))
    }

    /// Whether a token anywhere in the store (refresh or access) equals
    /// `secret`; for tests that prove deletion.
    #[cfg(all(test, feature = "oauth"))]
    pub(crate) fn holds_secret(&self, secret: &[u8]) -> bool {
        let slots = core::iter::once(&self.admin)
            .chain(core::iter::once(&self.guest))
            .chain(self.users.slots().iter().flatten().map(|u| &u.slot));
        slots
            .into_iter()
            .any(|s| !s.refresh.is_empty() && s.refresh.ct_eq(secret))
            || self.cache.holds(secret)
    }
}

fn expiry_rule(settings: &Settings) -> Option<ExpiryRule> {
    match settings.provider {
        ProviderKind::Microsoft => Some(ExpiryRule::MICROSOFT),
        ProviderKind::Google if settings.google_app_testing => Some(ExpiryRule::GOOGLE_TESTING),
        ProviderKind::Google => Some(ExpiryRule::GOOGLE),
        _ => None,
    }
}

/// Days ahead of a death date the provider gave that the administrator is
/// warned, for a provider without an [`ExpiryRule`] (a custom one).
const DEFAULT_WARN_DAYS: u64 = 14;

/// When the refresh token of `grant`, received at `wall`, dies by the
/// provider's word; `None` without the word or the wall clock.
fn refresh_expiry(wall: Option<WallTime>, grant: &TokenGrant<'_>) -> Option<WallTime> {
    let lifetime = grant.refresh_expires_in?;
    Some(wall?.plus_secs(lifetime.as_secs()))
}

/// When the slot's refresh token is expected to die: the earlier of the
/// provider's rule (inactivity or a fixed life) and the date the provider
/// gave with the token.
fn slot_expiry(slot: &Slot, settings: &Settings) -> Option<WallTime> {
    if slot.status != TokenStatus::Acquired {
        return None;
    }
    let by_rule = expiry_rule(settings).and_then(|rule| {
        let base = if rule.from_last_use {
            slot.last_used
        } else {
            slot.acquired_at
        }?;
        Some(base.plus_days(rule.days))
    });
    match (by_rule, slot.refresh_expires_at) {
        (Some(a), Some(b)) => Some(if a < b { a } else { b }),
        (a, b) => a.or(b),
    }
}
