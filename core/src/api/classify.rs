//! What a mail API's final answer means for the job (R-XPORT, R-DIAG):
//! sent, a token to refresh and try once more, throttled, or a failure
//! with the diagnostic whose remedy fits. Graph names its errors by
//! `error.code`, Google by `error.errors[].reason` and `error.status`.

use super::error_body::ErrorBody;
use crate::diag::Id;

/// The meaning of one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Verdict {
    /// The API took the message (`202` from Graph, `200` from Gmail).
    Sent,
    /// `401`: the token was refused; a refreshed one may pass.
    TokenRejected,
    /// Throttled (`429`, `503`, or Google's rate-limit reasons).
    Throttled,
    /// Refused for good; the diagnostic says why.
    Failed(Id),
}

impl Verdict {
    /// The diagnostic of an answer that is not [`Verdict::Sent`].
    #[must_use]
    pub const fn diag(self) -> Option<Id> {
        match self {
            Verdict::Sent => None,
            Verdict::TokenRejected => Some(Id::ApiTokenRejected),
            Verdict::Throttled => Some(Id::ApiThrottled),
            Verdict::Failed(id) => Some(id),
        }
    }
}

/// The verdict on an answer with HTTP `status` and error `body`.
#[must_use]
pub fn classify(status: u16, body: &ErrorBody) -> Verdict {
    let code = body.code.as_str();
    let reason = body.reason.as_str();
    // Names compared without case: Graph's lists spell some in lower
    // camel case (`serviceNotAvailable`), others not.
    let named = |names: &[&str]| {
        names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(code) || n.eq_ignore_ascii_case(reason))
    };
    match status {
        200..=299 => Verdict::Sent,
        401 => Verdict::TokenRejected,
        429 | 503 => Verdict::Throttled,
        _ if named(&[
            "rateLimitExceeded",
            "userRateLimitExceeded",
            "dailyLimitExceeded",
            "quotaExceeded",
            "ApplicationThrottled",
            "TooManyRequests",
            "ErrorSubmissionQuotaExceeded",
        ]) =>
        {
            Verdict::Throttled
        }
        _ if named(&["ErrorSendAsDenied"]) => Verdict::Failed(Id::ApiSendAsDenied),
        _ if named(&[
            "domainPolicy",
            "failedPrecondition",
            "MailboxNotEnabledForRESTAPI",
        ]) || body.status.as_str() == "FAILED_PRECONDITION" =>
        {
            if code.eq_ignore_ascii_case("MailboxNotEnabledForRESTAPI") {
                Verdict::Failed(Id::ApiMailboxUnavailable)
            } else {
                Verdict::Failed(Id::ApiServiceDisabled)
            }
        }
        _ if named(&["ErrorMessageSizeExceeded", "uploadTooLarge"]) => {
            Verdict::Failed(Id::ApiMessageTooLarge)
        }
        413 => Verdict::Failed(Id::ApiMessageTooLarge),
        403 => Verdict::Failed(Id::ApiAccessDenied),
        404 if named(&[
            "ResourceNotFound",
            "ErrorInvalidUser",
            "MailboxNotFound",
            "notFound",
        ]) =>
        {
            Verdict::Failed(Id::ApiMailboxUnavailable)
        }
        400 => Verdict::Failed(Id::ApiMessageRefused),
        500..=599 => Verdict::Failed(Id::ApiServerError),
        _ => Verdict::Failed(Id::ApiUnexpectedResponse),
    }
}
