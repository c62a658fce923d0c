//! Sender address (From) and whose token signs a job (R-POL).
//!
//! [`decide`] is a pure function of the function, the settings, the
//! logged-in user (or none: the public user) and the From address the user
//! entered. It fails closed: anything it cannot place in the manual's table
//! is an error, and a From address that is not the signing account is
//! refused before any byte goes to the network, unless the administrator put
//! it on the send-as list (shared mailboxes, Microsoft "Send As").
//!
//! | mode | From | token | who authenticates, when |
//! |---|---|---|---|
//! | login user address | the logged-in user's address | the user's | the user, at send time |
//! | allow user changes | the entered address (else the user's) | the user's, for that address | the user, at send time |
//! | administrator fixed address | the administrator's | the administrator's | the administrator, beforehand |
//! | bulk setting | the bulk address (= administrator's) | the administrator's | the administrator, beforehand |
//!
//! Administrator functions always use the administrator's address and token.
//! A public (not logged-in) user can send only in "allow user changes": the
//! person authenticates for the entered address at send time and the token
//! is kept for that job only ([`TokenOwner::Guest`]).

use core::fmt;

use crate::address::Address;
use crate::config::{oauth_available, ConfigError, SenderMode, Settings, Violations};
use crate::diag::{Diagnostic, Id};
use crate::function::{Function, FunctionClass};
use crate::token::{TokenOwner, UserId};

/// The logged-in user, as the firmware's user authentication knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User<'a> {
    /// The login name (owns a token slot).
    pub id: &'a str,
    /// The user's registered e-mail address, if any.
    pub address: Option<&'a Address>,
}

/// Who must sign in to the provider for the job's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Authenticator {
    /// The administrator, in [Configuration OAuth] (Acquire).
    Administrator,
    /// The logged-in user, on the OAuth screen the panel shows.
    User,
    /// The public user at the panel, for this job only.
    PublicUser,
}

/// When that sign-in happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AuthTime {
    /// Before any job (the administrator's Acquire).
    Beforehand,
    /// When the job is sent and no valid token exists (R-TOK-6).
    AtSendTime,
}

/// The policy's answer for one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The From address (`MAIL FROM` and the header).
    pub from: Address,
    /// Whose token slot signs the job.
    pub owner: TokenOwner,
    /// The account the signing token must belong to (the XOAUTH2 `user=`).
    pub account: Address,
    /// Who must authenticate if there is no valid token.
    pub authenticator: Authenticator,
    /// When they must.
    pub when: AuthTime,
    /// The From differs from `account` and is allowed by the send-as list.
    pub send_as: bool,
}

impl Decision {
    /// No decision yet: a constant whose bytes are zero or unset, so that
    /// writing it where the job is kept is a memset, not a temporary.
    pub(crate) const EMPTY: Decision = Decision {
        from: Address::NONE,
        owner: TokenOwner::Admin,
        account: Address::NONE,
        authenticator: Authenticator::Administrator,
        when: AuthTime::Beforehand,
        send_as: false,
    };

    /// Back to [`Decision::EMPTY`] in place, field by field (R-MEM: no
    /// decision made on the caller's frame and moved).
    pub(crate) fn reset(&mut self) {
        let Decision {
            from,
            owner,
            account,
            authenticator,
            when,
            send_as,
        } = self;
        from.clear();
        *owner = TokenOwner::Admin;
        account.clear();
        *authenticator = Authenticator::Administrator;
        *when = AuthTime::Beforehand;
        *send_as = false;
    }

    /// Whether a token acquired for `token_account` may sign this job.
    /// When it may not, a user owner must authenticate again for
    /// [`Decision::account`]; the administrator's slot never holds another
    /// account (changing the address invalidates it), so a mismatch there is
    /// [`PolicyError::FromNotTokenAccount`].
    #[must_use]
    pub fn token_fits(&self, token_account: &Address) -> bool {
        token_account.same_mailbox(&self.account)
    }
}

/// Why a job cannot be placed (fails closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PolicyError {
    /// This product has no OAuth (R-RULE-7).
    NotAvailable,
    /// OAuth 2.0 is off.
    OAuthOff,
    /// The settings violate a rule (the first one).
    InvalidSettings(ConfigError),
    /// The mode uses the user's address and nobody is logged in.
    UserLoginRequired,
    /// No From address: none entered and the user has none registered.
    FromMissing,
    /// The From address is not the signing account and not on the send-as
    /// list.
    FromNotTokenAccount,
    /// The login name is longer than the token store accepts.
    UserIdTooLong,
}

impl Diagnostic for PolicyError {
    fn diag(&self) -> Id {
        match self {
            PolicyError::NotAvailable => Id::NotAvailable,
            PolicyError::OAuthOff => Id::OAuthOff,
            PolicyError::InvalidSettings(rule) => rule.diag(),
            PolicyError::UserLoginRequired => Id::UserLoginRequired,
            PolicyError::FromMissing => Id::InvalidAddress,
            PolicyError::FromNotTokenAccount => Id::FromNotTokenAccount,
            PolicyError::UserIdTooLong => Id::CapacityExceeded,
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.diag(), f)
    }
}

impl core::error::Error for PolicyError {}

/// Place one job: From address, token owner and account, who authenticates
/// and when (R-POL). `entered_from` is what the user typed or the
/// application set, `None` for the default.
pub fn decide(
    function: Function,
    settings: &Settings,
    user: Option<User<'_>>,
    entered_from: Option<&Address>,
) -> Result<Decision, PolicyError> {
    decide_with(function, settings, settings.validate(), user, entered_from)
}

/// [`decide`] with the settings' violations already known
/// ([`Settings::validate`]), so that a job does not build the provider
/// profile on its stack (R-MEM).
pub(crate) fn decide_with(
    function: Function,
    settings: &Settings,
    violations: Violations,
    user: Option<User<'_>>,
    entered_from: Option<&Address>,
) -> Result<Decision, PolicyError> {
    let mut decision = Decision::EMPTY;
    decide_into(
        function,
        settings,
        violations,
        user,
        entered_from,
        &mut decision,
    )?;
    Ok(decision)
}

/// [`decide_with`] written into `out`, where the caller keeps the job
/// (R-MEM: no 600-octet decision built on the stack and moved). On error
/// `out` is left as it was.
pub(crate) fn decide_into(
    function: Function,
    settings: &Settings,
    violations: Violations,
    user: Option<User<'_>>,
    entered_from: Option<&Address>,
    out: &mut Decision,
) -> Result<(), PolicyError> {
    let c = decide_ref(function, settings, violations, user, entered_from)?;
    out.from.clone_from(c.from);
    out.owner = c.owner;
    out.account.clone_from(c.account);
    out.authenticator = c.authenticator;
    out.when = c.when;
    out.send_as = c.send_as;
    Ok(())
}

/// The policy's answer, its addresses borrowed from the settings, the user
/// or the entered From.
struct Chosen<'a> {
    from: &'a Address,
    owner: TokenOwner,
    account: &'a Address,
    authenticator: Authenticator,
    when: AuthTime,
    send_as: bool,
}

fn decide_ref<'a>(
    function: Function,
    settings: &'a Settings,
    violations: Violations,
    user: Option<User<'a>>,
    entered_from: Option<&'a Address>,
) -> Result<Chosen<'a>, PolicyError> {
    oauth_available().map_err(|_| PolicyError::NotAvailable)?;
    if !settings.oauth_enabled {
        return Err(PolicyError::OAuthOff);
    }
    if let Some(rule) = violations.first() {
        return Err(PolicyError::InvalidSettings(rule));
    }
    // validate() guarantees the administrator's address; fail closed anyway.
    let admin = settings
        .admin_address
        .as_ref()
        .ok_or(PolicyError::InvalidSettings(
            ConfigError::AdminAddressMissing,
        ))?;

    let admin_default = match (function.class(), settings.sender_mode) {
        (FunctionClass::Administrator, _)
        | (FunctionClass::User, SenderMode::AdminFixedAddress) => Some(admin),
        (FunctionClass::User, SenderMode::BulkSetting) => Some(
            settings
                .bulk_address
                .as_ref()
                .ok_or(PolicyError::InvalidSettings(
                    ConfigError::BulkAddressMismatch,
                ))?,
        ),
        _ => None,
    };
    if let Some(default_from) = admin_default {
        let from = entered_from.unwrap_or(default_from);
        return finish(
            settings,
            from,
            admin,
            TokenOwner::Admin,
            Authenticator::Administrator,
            AuthTime::Beforehand,
        );
    }

    // User functions in the two user-address modes.
    match (settings.sender_mode, user) {
        (SenderMode::LoginUserAddress, None) => Err(PolicyError::UserLoginRequired),
        (SenderMode::LoginUserAddress, Some(u)) => {
            let account = u.address.ok_or(PolicyError::FromMissing)?;
            let from = entered_from.unwrap_or(account);
            finish(
                settings,
                from,
                account,
                user_owner(u.id)?,
                Authenticator::User,
                AuthTime::AtSendTime,
            )
        }
        (SenderMode::AllowUserChanges, Some(u)) => {
            let from = entered_from.or(u.address).ok_or(PolicyError::FromMissing)?;
            // A send-as address is signed by the user's own account; any
            // other entered address needs a token for that address.
            let account = match u.address {
                Some(own) if settings.may_send_as(from) && !from.same_mailbox(own) => own,
                _ => from,
            };
            finish(
                settings,
                from,
                account,
                user_owner(u.id)?,
                Authenticator::User,
                AuthTime::AtSendTime,
            )
        }
        (SenderMode::AllowUserChanges, None) => {
            let from = entered_from.ok_or(PolicyError::FromMissing)?;
            finish(
                settings,
                from,
                from,
                TokenOwner::Guest,
                Authenticator::PublicUser,
                AuthTime::AtSendTime,
            )
        }
        // Administrator modes were handled above; any mode added later
        // fails closed until placed in the table.
        _ => Err(PolicyError::FromNotTokenAccount),
    }
}

fn user_owner(id: &str) -> Result<TokenOwner, PolicyError> {
    UserId::try_from(id)
        .map(TokenOwner::User)
        .map_err(|_| PolicyError::UserIdTooLong)
}

fn finish<'a>(
    settings: &Settings,
    from: &'a Address,
    account: &'a Address,
    owner: TokenOwner,
    authenticator: Authenticator,
    when: AuthTime,
) -> Result<Chosen<'a>, PolicyError> {
    let send_as = !from.same_mailbox(account);
    if send_as && !settings.may_send_as(from) {
        return Err(PolicyError::FromNotTokenAccount);
    }
    Ok(Chosen {
        from,
        owner,
        account,
        authenticator,
        when,
        send_as,
    })
}

#[cfg(all(test, feature = "oauth"))]
mod tests {
    use super::*;
    use crate::config::tests::{addr, valid};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Owner {
        Admin,
        User,
        Guest,
    }

    type Expected = Result<(&'static str, Owner, Authenticator, AuthTime), PolicyError>;

    /// R-POL: every mode × function class × login state, with the default
    /// From (nothing entered).
    #[test]
    #[cfg_attr(
        miri,
        ignore = "slow under Miri (every mode, class and login state); decide() runs under Miri in every mode through mailer::tests"
    )]
    fn the_manuals_table_for_every_mode_class_and_login_state() {
        use AuthTime::*;
        use Authenticator as A;
        use SenderMode::*;
        let admin_ok: Expected = Ok((
            "admin@contoso.com",
            Owner::Admin,
            A::Administrator,
            Beforehand,
        ));
        let bulk_ok: Expected = Ok((
            "ADMIN@contoso.com",
            Owner::Admin,
            A::Administrator,
            Beforehand,
        ));
        let table: [(SenderMode, FunctionClass, bool, Expected); 16] = [
            (
                LoginUserAddress,
                FunctionClass::User,
                true,
                Ok(("alice@contoso.com", Owner::User, A::User, AtSendTime)),
            ),
            (
                LoginUserAddress,
                FunctionClass::User,
                false,
                Err(PolicyError::UserLoginRequired),
            ),
            (
                LoginUserAddress,
                FunctionClass::Administrator,
                true,
                admin_ok,
            ),
            (
                LoginUserAddress,
                FunctionClass::Administrator,
                false,
                admin_ok,
            ),
            (
                AllowUserChanges,
                FunctionClass::User,
                true,
                Ok(("alice@contoso.com", Owner::User, A::User, AtSendTime)),
            ),
            (
                AllowUserChanges,
                FunctionClass::User,
                false,
                Err(PolicyError::FromMissing),
            ),
            (
                AllowUserChanges,
                FunctionClass::Administrator,
                true,
                admin_ok,
            ),
            (
                AllowUserChanges,
                FunctionClass::Administrator,
                false,
                admin_ok,
            ),
            (AdminFixedAddress, FunctionClass::User, true, admin_ok),
            (AdminFixedAddress, FunctionClass::User, false, admin_ok),
            (
                AdminFixedAddress,
                FunctionClass::Administrator,
                true,
                admin_ok,
            ),
            (
                AdminFixedAddress,
                FunctionClass::Administrator,
                false,
                admin_ok,
            ),
            (BulkSetting, FunctionClass::User, true, bulk_ok),
            (BulkSetting, FunctionClass::User, false, bulk_ok),
            (BulkSetting, FunctionClass::Administrator, true, admin_ok),
            (BulkSetting, FunctionClass::Administrator, false, admin_ok),
        ];
        let alice = addr("alice@contoso.com");
        for (mode, class, logged_in, expected) in table {
            let settings = valid(mode);
            let user = logged_in.then_some(User {
                id: "alice",
                address: Some(&alice),
            });
            for function in Function::ALL.into_iter().filter(|f| f.class() == class) {
                let got = decide(function, &settings, user, None).map(|d| {
                    let owner = match d.owner {
                        TokenOwner::Admin => Owner::Admin,
                        TokenOwner::User(ref id) => {
                            assert_eq!(id.as_str(), "alice");
                            Owner::User
                        }
                        TokenOwner::Guest => Owner::Guest,
                    };
                    assert!(d.account.same_mailbox(&d.from));
                    assert!(!d.send_as);
                    (d.from.to_string(), owner, d.authenticator, d.when)
                });
                let want = expected.map(|(f, o, a, w)| (f.to_string(), o, a, w));
                assert_eq!(got, want, "{mode:?} {function:?} logged_in={logged_in}");
            }
        }
    }

    /// R-POL: an entered From that is not the signing account is refused in
    /// every mode unless it is on the send-as list.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "slow under Miri (every mode and function); the refusal runs under Miri in mailer::tests::a_from_that_is_not_the_token_account_never_reaches_the_network"
    )]
    fn a_from_that_is_not_the_token_account_is_refused_unless_send_as() {
        let alice = addr("alice@contoso.com");
        let shared = addr("scans@contoso.com");
        let user = Some(User {
            id: "alice",
            address: Some(&alice),
        });
        for mode in SenderMode::ALL {
            for function in Function::ALL {
                let mut settings = valid(mode);
                let got = decide(function, &settings, user, Some(&shared));
                let user_changes =
                    mode == SenderMode::AllowUserChanges && function.class() == FunctionClass::User;
                if user_changes {
                    // The user's token "for that address": sign in as it.
                    let d = got.unwrap();
                    assert_eq!(d.account, shared);
                    assert!(!d.send_as);
                } else {
                    assert_eq!(got, Err(PolicyError::FromNotTokenAccount), "{mode:?}");
                    assert_eq!(
                        PolicyError::FromNotTokenAccount.diag(),
                        Id::FromNotTokenAccount
                    );
                }
                settings.send_as.push(addr("SCANS@contoso.com")).unwrap();
                let d = decide(function, &settings, user, Some(&shared)).unwrap();
                assert_eq!(d.from, shared, "{mode:?} {function:?}");
                assert!(d.send_as);
                assert!(!d.account.same_mailbox(&shared));
            }
        }
    }

    /// R-MEM: the decision written in place is the one returned, whatever
    /// was in the place before; a refusal leaves the place as it was.
    #[test]
    fn the_decision_written_in_place_is_the_decision_returned() {
        let alice = addr("alice@contoso.com");
        let shared = addr("scans@contoso.com");
        let visitor = addr("visitor@fabrikam.com");
        let user = Some(User {
            id: "alice",
            address: Some(&alice),
        });
        let mut send_as = valid(SenderMode::AllowUserChanges);
        send_as.send_as.push(shared.clone()).unwrap();
        let cases = [
            (valid(SenderMode::AdminFixedAddress), None, None),
            (valid(SenderMode::LoginUserAddress), user, None),
            (send_as, user, Some(&shared)),
            (valid(SenderMode::AllowUserChanges), None, Some(&visitor)),
            (valid(SenderMode::LoginUserAddress), None, None),
        ];
        for (settings, user, from) in cases {
            let f = Function::ScanToEmail;
            let returned = decide_with(f, &settings, settings.validate(), user, from);
            let mut place = Decision {
                from: addr("stale@old.example"),
                owner: TokenOwner::Guest,
                account: addr("stale@old.example"),
                authenticator: Authenticator::PublicUser,
                when: AuthTime::AtSendTime,
                send_as: true,
            };
            let before = place.clone();
            let written = decide_into(f, &settings, settings.validate(), user, from, &mut place);
            match returned {
                Ok(d) => {
                    assert_eq!(written, Ok(()));
                    assert_eq!(place, d);
                }
                Err(e) => {
                    assert_eq!(written, Err(e));
                    assert_eq!(place, before);
                }
            }
        }
    }

    #[test]
    fn a_public_user_may_send_only_by_entering_an_address() {
        let settings = valid(SenderMode::AllowUserChanges);
        let from = addr("visitor@fabrikam.com");
        let d = decide(Function::ScanToEmail, &settings, None, Some(&from)).unwrap();
        assert_eq!(d.owner, TokenOwner::Guest);
        assert_eq!(d.authenticator, Authenticator::PublicUser);
        assert_eq!(d.account, from);
    }

    #[test]
    fn fails_closed_on_settings_and_missing_data() {
        let alice = addr("alice@contoso.com");
        let mut off = valid(SenderMode::AdminFixedAddress);
        off.oauth_enabled = false;
        assert_eq!(
            decide(Function::ScanToEmail, &off, None, None),
            Err(PolicyError::OAuthOff)
        );
        let mut bad = valid(SenderMode::BulkSetting);
        bad.bulk_address = Some(alice.clone());
        assert_eq!(
            decide(Function::EmailNotification, &bad, None, None),
            Err(PolicyError::InvalidSettings(
                ConfigError::BulkAddressMismatch
            ))
        );
        let no_address = Some(User {
            id: "bob",
            address: None,
        });
        assert_eq!(
            decide(
                Function::ScanToMe,
                &valid(SenderMode::LoginUserAddress),
                no_address,
                None
            ),
            Err(PolicyError::FromMissing)
        );
        let long_id = "x".repeat(crate::limits::MAX_USER_ID_LEN + 1);
        let long = Some(User {
            id: &long_id,
            address: Some(&alice),
        });
        assert_eq!(
            decide(
                Function::ScanToMe,
                &valid(SenderMode::LoginUserAddress),
                long,
                None
            ),
            Err(PolicyError::UserIdTooLong)
        );
    }

    #[test]
    fn token_fits_only_its_account() {
        let alice = addr("alice@contoso.com");
        let settings = valid(SenderMode::LoginUserAddress);
        let user = Some(User {
            id: "alice",
            address: Some(&alice),
        });
        let d = decide(Function::ScanToEmail, &settings, user, None).unwrap();
        assert!(d.token_fits(&addr("Alice@Contoso.com")));
        assert!(!d.token_fits(&addr("bob@contoso.com")));
    }
}
