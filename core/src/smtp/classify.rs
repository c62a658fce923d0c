//! From a server reply to a diagnostic (R-DIAG).
//!
//! Enhanced codes that name a cause are checked first, whatever the stage:
//! `5.7.139` (Authenticated SMTP off) can come at AUTH or at MAIL, `4.7.66`
//! (TLS too old) at any time. The rest is decided by the stage and code.

use super::event::Stage;
use crate::diag::Id;
use crate::wire::reply::ReplyCode;

/// The diagnostic for a non-success `code` received at `stage`.
#[must_use]
pub fn classify(stage: Stage, code: ReplyCode) -> Id {
    let enh = |c, s, d| code.has_enhanced(c, s, d);
    if enh(5, 7, 139) {
        return Id::SmtpAuthDisabled;
    }
    if enh(4, 7, 66) {
        return Id::TlsTooOld;
    }
    if enh(5, 7, 30) {
        return Id::BasicAuthRetired;
    }
    if enh(5, 7, 60) || enh(5, 2, 252) {
        return Id::SendAsDenied;
    }
    if enh(5, 5, 6) {
        return Id::LineTooLong;
    }
    // Microsoft High Volume Email, at AUTH: a token close to its expiry,
    // and a user address it does not know.
    if enh(5, 5, 127) {
        return Id::TokenExpiringSoon;
    }
    if enh(5, 5, 124) {
        return Id::SmtpUserInvalid;
    }
    if code.code == 421 {
        return Id::ServiceUnavailable;
    }
    let size_exceeded = code.code == 552 || enh(5, 3, 4);
    match stage {
        Stage::Greeting => Id::GreetingRefused,
        Stage::Ehlo => Id::EhloRefused,
        Stage::StartTls => Id::StartTlsRefused,
        Stage::Auth => match code.code {
            535 if enh(5, 7, 3) => Id::TokenRejected,
            535 if enh(5, 7, 8) => Id::CredentialsInvalid,
            530 => Id::AuthRequired,
            454 => Id::AuthTemporary,
            504 => Id::MechanismUnsupported,
            500 => Id::LineTooLong,
            _ => Id::AuthRejected,
        },
        Stage::Mail => match code.code {
            530 => Id::AuthRequired,
            _ if size_exceeded => Id::MessageTooBig,
            _ if code.is_transient() => Id::TransientFailure,
            _ => Id::SenderRejected,
        },
        Stage::Rcpt => Id::RecipientRejected,
        Stage::Data => match code.code {
            _ if code.is_transient() => Id::TransientFailure,
            _ => Id::DataRefused,
        },
        Stage::DataEnd => match code.code {
            _ if size_exceeded => Id::MessageTooBig,
            _ if code.is_transient() => Id::TransientFailure,
            _ => Id::MessageRejected,
        },
        Stage::Rset | Stage::Quit => Id::ProtocolViolation,
    }
}

/// Whether a fresh access token may turn this AUTH failure into a success:
/// true for a rejected token or one about to expire (`5.5.127`), false for
/// account or tenant settings (`5.7.139`, a user address the server does
/// not know: `5.5.124`), temporary failures and everything else.
#[must_use]
pub fn refresh_may_help(diag: Id) -> bool {
    matches!(
        diag,
        Id::TokenRejected | Id::CredentialsInvalid | Id::AuthRejected | Id::TokenExpiringSoon
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::reply::EnhancedCode;

    fn code(c: u16, e: Option<(u8, u16, u16)>) -> ReplyCode {
        ReplyCode {
            code: c,
            enhanced: e.map(|(a, b, d)| EnhancedCode::new(a, b, d)),
        }
    }

    #[test]
    fn every_named_reply_has_its_diagnostic() {
        let cases = [
            (
                Stage::Auth,
                code(535, Some((5, 7, 139))),
                Id::SmtpAuthDisabled,
            ),
            (
                Stage::Mail,
                code(535, Some((5, 7, 139))),
                Id::SmtpAuthDisabled,
            ),
            (Stage::Auth, code(535, Some((5, 7, 3))), Id::TokenRejected),
            (
                Stage::Auth,
                code(535, Some((5, 7, 8))),
                Id::CredentialsInvalid,
            ),
            (Stage::Auth, code(530, Some((5, 7, 0))), Id::AuthRequired),
            (Stage::Mail, code(530, Some((5, 7, 0))), Id::AuthRequired),
            (
                Stage::Auth,
                code(550, Some((5, 7, 30))),
                Id::BasicAuthRetired,
            ),
            (Stage::StartTls, code(421, Some((4, 7, 66))), Id::TlsTooOld),
            (Stage::Ehlo, code(421, Some((4, 7, 66))), Id::TlsTooOld),
            (Stage::Mail, code(550, Some((5, 7, 60))), Id::SendAsDenied),
            (
                Stage::DataEnd,
                code(554, Some((5, 2, 252))),
                Id::SendAsDenied,
            ),
            (Stage::Auth, code(500, Some((5, 5, 6))), Id::LineTooLong),
            (Stage::Auth, code(500, None), Id::LineTooLong),
            (Stage::Auth, code(454, Some((4, 7, 0))), Id::AuthTemporary),
            (
                Stage::Auth,
                code(504, Some((5, 5, 4))),
                Id::MechanismUnsupported,
            ),
            (Stage::Auth, code(535, None), Id::AuthRejected),
            (Stage::Greeting, code(554, None), Id::GreetingRefused),
            (Stage::Ehlo, code(502, None), Id::EhloRefused),
            (
                Stage::StartTls,
                code(454, Some((4, 7, 0))),
                Id::StartTlsRefused,
            ),
            (
                Stage::Rcpt,
                code(550, Some((5, 1, 1))),
                Id::RecipientRejected,
            ),
            (Stage::Mail, code(552, None), Id::MessageTooBig),
            (
                Stage::DataEnd,
                code(552, Some((5, 3, 4))),
                Id::MessageTooBig,
            ),
            (Stage::DataEnd, code(451, None), Id::TransientFailure),
            (
                Stage::DataEnd,
                code(550, Some((5, 7, 1))),
                Id::MessageRejected,
            ),
            (Stage::Data, code(554, None), Id::DataRefused),
            (Stage::Rcpt, code(421, None), Id::ServiceUnavailable),
            (
                Stage::Auth,
                code(501, Some((5, 5, 127))),
                Id::TokenExpiringSoon,
            ),
            (
                Stage::Auth,
                code(501, Some((5, 5, 124))),
                Id::SmtpUserInvalid,
            ),
            (Stage::Auth, code(501, None), Id::AuthRejected),
        ];
        for (stage, c, want) in cases {
            assert_eq!(classify(stage, c), want, "{stage:?} {c}");
        }
    }

    #[test]
    fn only_token_problems_are_worth_a_refresh() {
        assert!(refresh_may_help(Id::TokenRejected));
        assert!(refresh_may_help(Id::CredentialsInvalid));
        assert!(refresh_may_help(Id::TokenExpiringSoon));
        assert!(!refresh_may_help(Id::SmtpUserInvalid));
        assert!(!refresh_may_help(Id::SmtpAuthDisabled));
        assert!(!refresh_may_help(Id::AuthTemporary));
        assert!(!refresh_may_help(Id::LineTooLong));
    }
}
