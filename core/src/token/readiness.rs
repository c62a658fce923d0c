//! Whether jobs can send, from the settings and the administrator's token
//! status (R-RULE-5): [`Settings::readiness`].
//!
//! It is here rather than in `config` because it is the one rule that needs
//! both: `token` already builds on `config` (expiry rules, invalidation on a
//! settings change), so `config` stays below `token` and never imports it
//! (R-ENGINE layering; a test below keeps it so).

use super::TokenStatus;
use crate::config::{Readiness, Settings, OAUTH_AVAILABLE};

impl Settings {
    /// Whether jobs can send now, given the administrator's token status
    /// (R-RULE-5).
    #[must_use]
    pub fn readiness(&self, admin_token: TokenStatus) -> Readiness {
        if !OAUTH_AVAILABLE {
            return Readiness::NotAvailable;
        }
        if !self.oauth_enabled {
            return Readiness::Off;
        }
        let v = self.validate();
        if !v.is_empty() {
            return Readiness::Invalid(v);
        }
        // App-only: the core asks for the administrator's token itself,
        // before a job; no one must have signed in (R-APP).
        if self.app_only() {
            return Readiness::Ready;
        }
        match (self.sender_mode.uses_admin_token(), admin_token) {
            (true, TokenStatus::Required) => Readiness::AdminTokenRequired,
            (true, TokenStatus::ReauthNeeded) => Readiness::AdminReauthNeeded,
            _ => Readiness::Ready,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "oauth")]
    use crate::config::tests::valid;
    use crate::config::SenderMode;
    #[cfg(feature = "oauth")]
    use crate::diag::Id;

    #[test]
    fn the_defaults_read_off() {
        // R-CFG: OAuth is off by default (or absent from this build).
        assert_eq!(Settings::default().readiness(TokenStatus::Required), {
            if OAUTH_AVAILABLE {
                Readiness::Off
            } else {
                Readiness::NotAvailable
            }
        });
    }

    #[cfg(feature = "oauth")]
    #[test]
    fn admin_modes_need_an_acquired_admin_token() {
        // R-RULE-5: a readiness state, not a configuration error.
        for mode in SenderMode::ALL {
            let s = valid(mode);
            assert!(s.validate().is_empty());
            let r = s.readiness(TokenStatus::Required);
            if mode.uses_admin_token() {
                assert_eq!(r, Readiness::AdminTokenRequired, "{mode:?}");
                assert_eq!(r.diag(), Some(Id::AdminTokenRequired));
                assert_eq!(
                    s.readiness(TokenStatus::ReauthNeeded),
                    Readiness::AdminReauthNeeded
                );
            } else {
                assert_eq!(r, Readiness::Ready, "{mode:?}");
            }
            assert_eq!(s.readiness(TokenStatus::Acquired), Readiness::Ready);
        }
    }

    #[cfg(not(feature = "oauth"))]
    #[test]
    fn without_the_feature_nothing_is_ready() {
        // R-RULE-7: even settings that would be valid and an acquired token.
        let s = Settings {
            oauth_enabled: true,
            sender_mode: SenderMode::AdminFixedAddress,
            ..Settings::default()
        };
        assert_eq!(s.readiness(TokenStatus::Acquired), Readiness::NotAvailable);
    }

    #[test]
    fn config_does_not_import_token() {
        // R-ENGINE layering (issue 15): `config` is below `token`; the rule
        // that needs both is in this file.
        let config = include_str!("../config.rs");
        for path in ["crate::token", "token::", "super::token"] {
            assert!(
                !config.contains(path),
                "core/src/config.rs must not depend on the token module ({path})"
            );
        }
    }
}
