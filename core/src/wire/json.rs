//! JSON bodies of the token endpoints, read in one pass straight into
//! fixed structs (R-MEM).
//!
//! - [`parse_token_response`]: RFC 6749 §5.1 (access and refresh tokens go
//!   straight into [`AccessToken`] / [`RefreshToken`]).
//! - [`parse_error_response`]: RFC 6749 §5.2, Microsoft's `error_codes` and
//!   `AADSTSnnnnn:` description prefix, Google's `error_code`.
//! - [`parse_device_authorization`]: RFC 8628 §3.2, with Google's
//!   `verification_url` spelling and Microsoft's `message`.
//!
//! These take a whole body; the OAuth client feeds the same push parsers
//! ([`TokenParser`], [`DeviceParser`], [`ErrorParser`]) as the body
//! arrives, so no buffer holds it. Strings are unescaped straight into
//! their destination (`\/`, `\"`, `\uXXXX`, surrogate pairs); unknown
//! members (`id_token` unless the account is read, `ext_expires_in`,
//! `trace_id`…) of any size are skipped without being held; nesting deeper
//! than [`MAX_JSON_DEPTH`] is refused
//! without recursion. Numbers sent as strings (`"expires_in":"3599"`, some
//! servers) are accepted.

use core::fmt;

use heapless::String;
use serde::Deserialize;

use super::json_guard::check_depth;
use crate::diag::{Diagnostic, Id};
use crate::limits::{
    MAX_DEVICE_CODE_LEN, MAX_DEVICE_MESSAGE_LEN, MAX_JSON_DEPTH, MAX_SCOPE_LEN, MAX_USER_CODE_LEN,
    MAX_VERIFICATION_URI_COMPLETE_LEN, MAX_VERIFICATION_URI_LEN,
};
use crate::secret::{AccessToken, RefreshToken, SecretBuf};

pub use super::id_token::SignedInAccount;
pub use super::json_stream::{AccountReader, DeviceParser, ErrorParser, TokenParser};

/// Octets of a provider's `error_description` kept for the log.
pub const MAX_ERROR_DESCRIPTION_LEN: usize = 256;

/// Which member of a body an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Field {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
    /// `device_code`.
    DeviceCode,
    /// `user_code`.
    UserCode,
    /// `verification_uri` (or Google's `verification_url`).
    VerificationUri,
    /// `verification_uri_complete`.
    VerificationUriComplete,
    /// `expires_in`.
    ExpiresIn,
    /// `error`.
    Error,
}

/// A JSON body could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum JsonError {
    /// Nested deeper than [`MAX_JSON_DEPTH`].
    TooDeep,
    /// Not a JSON object of the expected shape.
    Syntax,
    /// A string has an invalid escape or a lone surrogate.
    BadEscape,
    /// A required member is missing.
    Missing(Field),
    /// A member is longer than its fixed capacity.
    TooLong(Field),
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::TooDeep => f.write_str("JSON nested too deeply"),
            JsonError::Syntax => f.write_str("malformed JSON body"),
            JsonError::BadEscape => f.write_str("invalid escape in a JSON string"),
            JsonError::Missing(m) => write!(f, "JSON member {m:?} missing"),
            JsonError::TooLong(m) => write!(f, "JSON member {m:?} too long"),
        }
    }
}

impl core::error::Error for JsonError {}

impl Diagnostic for JsonError {
    fn diag(&self) -> Id {
        match self {
            JsonError::TooLong(_) => Id::TokenTooLarge,
            _ => Id::JsonMalformed,
        }
    }
}

// ---------------------------------------------------------------- strings

fn hex4(s: &[u8]) -> Option<u32> {
    if s.len() != 4 {
        return None;
    }
    s.iter().try_fold(0u32, |n, &c| {
        char::from(c).to_digit(16).map(|d| (n << 4) | d)
    })
}

/// Unescape the raw content of a JSON string, giving UTF-8 pieces to `sink`
/// (which answers `false` when full).
fn unescape(raw: &str, mut sink: impl FnMut(&str) -> bool, field: Field) -> Result<(), JsonError> {
    let bytes = raw.as_bytes();
    let mut i = 0usize;
    let mut start = 0usize;
    let full = JsonError::TooLong(field);
    while let Some(&b) = bytes.get(i) {
        if b != b'\\' {
            i = i.saturating_add(1);
            continue;
        }
        if !sink(raw.get(start..i).unwrap_or("")) {
            return Err(full);
        }
        let esc = *bytes.get(i.saturating_add(1)).ok_or(JsonError::BadEscape)?;
        let mut consumed = 2usize;
        let c: char = match esc {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let at = |k: usize| bytes.get(i.saturating_add(k)..i.saturating_add(k + 4));
                let hi = at(2).and_then(hex4).ok_or(JsonError::BadEscape)?;
                consumed = 6;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    // A high surrogate must be followed by `\u` and a low one.
                    let lo = match (bytes.get(i + 6), bytes.get(i + 7)) {
                        (Some(b'\\'), Some(b'u')) => at(8).and_then(hex4),
                        _ => None,
                    }
                    .filter(|lo| (0xDC00..0xE000).contains(lo))
                    .ok_or(JsonError::BadEscape)?;
                    consumed = 12;
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                char::from_u32(code).ok_or(JsonError::BadEscape)?
            }
            _ => return Err(JsonError::BadEscape),
        };
        let mut tmp = [0u8; 4];
        if !sink(c.encode_utf8(&mut tmp)) {
            return Err(full);
        }
        i = i.saturating_add(consumed);
        start = i;
    }
    if sink(raw.get(start..).unwrap_or("")) {
        Ok(())
    } else {
        Err(full)
    }
}

pub(super) fn unescape_string<const N: usize>(
    raw: &str,
    out: &mut String<N>,
    field: Field,
) -> Result<(), JsonError> {
    out.clear();
    unescape(raw, |s| out.push_str(s).is_ok(), field)
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, serde_json_core::de::Error> {
    serde_json_core::from_slice::<T>(body).map(|(v, _)| v)
}

/// Parse with numbers as numbers, and again with numbers as strings when a
/// number turned out to be a string.
pub(super) fn parse_either<'a, A: Deserialize<'a>, B: Deserialize<'a>>(
    body: &'a [u8],
) -> Result<Result<A, B>, JsonError> {
    check_depth(body, MAX_JSON_DEPTH).map_err(|_| JsonError::TooDeep)?;
    match parse::<A>(body) {
        Ok(a) => Ok(Ok(a)),
        Err(serde_json_core::de::Error::InvalidType) => {
            parse::<B>(body).map(Err).map_err(|_| JsonError::Syntax)
        }
        Err(_) => Err(JsonError::Syntax),
    }
}

// ---------------------------------------------------------------- token

/// The `token_type` of a token response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TokenType {
    /// `Bearer` (any case), what XOAUTH2 and OAUTHBEARER carry.
    #[default]
    Bearer,
    /// Some other type (`mac`, `DPoP`, …): not usable for SMTP.
    Other,
    /// Not given (RFC 6749 requires it; some servers omit it).
    Absent,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Default)]
pub struct TokenResponse {
    /// The access token (RAM only, R-TOK-1).
    pub access_token: AccessToken,
    /// The token type.
    pub token_type: TokenType,
    /// Lifetime of the access token in seconds, when given.
    pub expires_in: Option<u64>,
    /// Lifetime of the refresh token in seconds, when the provider says it
    /// (`refresh_token_expires_in`: Google's time-based access and
    /// draft-ietf-oauth-refresh-token-expiration; `refresh_expires_in`
    /// from servers that use that name; the shorter when both come).
    pub refresh_expires_in: Option<u64>,
    /// A new refresh token, empty when none was returned (R-TOK-2).
    pub refresh_token: RefreshToken,
    /// The granted scope, when given (cut at [`MAX_SCOPE_LEN`] octets).
    pub scope: String<MAX_SCOPE_LEN>,
    /// Who signed in, from the `id_token` (R-ACCT): read by the OAuth
    /// client for a sign-in's answer ([`super::id_token::read_account`]),
    /// [`SignedInAccount::NoIdToken`] otherwise.
    pub account: SignedInAccount,
}

impl TokenResponse {
    /// An empty response (to be filled by [`parse_token_response`]).
    #[must_use]
    pub const fn new() -> Self {
        TokenResponse {
            access_token: AccessToken::new(),
            token_type: TokenType::Bearer,
            expires_in: None,
            refresh_expires_in: None,
            refresh_token: RefreshToken::new(),
            scope: String::new(),
            account: SignedInAccount::NoIdToken,
        }
    }

    /// Wipe the tokens and forget the rest.
    pub fn clear(&mut self) {
        self.access_token.clear();
        self.refresh_token.clear();
        self.token_type = TokenType::Bearer;
        self.expires_in = None;
        self.refresh_expires_in = None;
        self.scope.clear();
        self.account = SignedInAccount::NoIdToken;
    }

    /// Whether the granted scope lists `scope` (space-separated, exact).
    #[must_use]
    pub fn scope_includes(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

/// Parse a whole token response into `out` (left cleared on error), in
/// one pass with [`TokenParser`]. An `id_token` is skipped
/// ([`TokenResponse::account`] stays [`SignedInAccount::NoIdToken`]);
/// [`parse_token_response_with_account`] reads the account from it.
pub fn parse_token_response(body: &[u8], out: &mut TokenResponse) -> Result<(), JsonError> {
    let mut p = TokenParser::new();
    p.start(out);
    p.feed(body, out, None);
    p.finish(out)
}

/// [`parse_token_response`] that also reads who signed in from the
/// `id_token`, decoded as it is read (R-ACCT): what the OAuth client does
/// with a sign-in's answer.
pub fn parse_token_response_with_account(
    body: &[u8],
    out: &mut TokenResponse,
) -> Result<(), JsonError> {
    let mut p = TokenParser::new();
    let mut account = AccountReader::new();
    p.start(out);
    p.feed(body, out, Some(&mut account));
    p.finish(out)
}

// ---------------------------------------------------------------- error

/// The `error` code of an error response (RFC 6749 §5.2, RFC 8628 §3.5,
/// and the providers' own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`.
    InvalidRequest,
    /// `invalid_client`.
    InvalidClient,
    /// `invalid_grant`.
    InvalidGrant,
    /// `unauthorized_client`.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `invalid_scope`.
    InvalidScope,
    /// `authorization_pending` (RFC 8628).
    AuthorizationPending,
    /// `slow_down` (RFC 8628).
    SlowDown,
    /// `access_denied`.
    AccessDenied,
    /// `authorization_declined` (Microsoft's `access_denied`).
    AuthorizationDeclined,
    /// `expired_token` (RFC 8628).
    ExpiredToken,
    /// `bad_verification_code` (Microsoft, GitHub).
    BadVerificationCode,
    /// `admin_policy_enforced` (Google Workspace).
    AdminPolicyEnforced,
    /// `org_internal` (Google).
    OrgInternal,
    /// `rate_limit_exceeded` (Google quota).
    RateLimitExceeded,
    /// `server_error`.
    ServerError,
    /// `temporarily_unavailable`.
    TemporarilyUnavailable,
    /// `interaction_required` (OpenID Connect; Microsoft Conditional Access).
    InteractionRequired,
    /// `consent_required`.
    ConsentRequired,
    /// `login_required`.
    LoginRequired,
    /// `unsupported_response_type` (authorize redirect).
    UnsupportedResponseType,
    /// Any other code, or none.
    Other,
}

impl ErrorCode {
    const TABLE: &'static [(&'static str, ErrorCode)] = &[
        ("invalid_request", ErrorCode::InvalidRequest),
        ("invalid_client", ErrorCode::InvalidClient),
        ("invalid_grant", ErrorCode::InvalidGrant),
        ("unauthorized_client", ErrorCode::UnauthorizedClient),
        ("unsupported_grant_type", ErrorCode::UnsupportedGrantType),
        ("invalid_scope", ErrorCode::InvalidScope),
        ("authorization_pending", ErrorCode::AuthorizationPending),
        ("slow_down", ErrorCode::SlowDown),
        ("access_denied", ErrorCode::AccessDenied),
        ("authorization_declined", ErrorCode::AuthorizationDeclined),
        ("expired_token", ErrorCode::ExpiredToken),
        ("bad_verification_code", ErrorCode::BadVerificationCode),
        ("admin_policy_enforced", ErrorCode::AdminPolicyEnforced),
        ("org_internal", ErrorCode::OrgInternal),
        ("rate_limit_exceeded", ErrorCode::RateLimitExceeded),
        ("server_error", ErrorCode::ServerError),
        ("temporarily_unavailable", ErrorCode::TemporarilyUnavailable),
        ("interaction_required", ErrorCode::InteractionRequired),
        ("consent_required", ErrorCode::ConsentRequired),
        ("login_required", ErrorCode::LoginRequired),
        (
            "unsupported_response_type",
            ErrorCode::UnsupportedResponseType,
        ),
    ];

    /// The code for the wire name `s` (exact match, as the RFCs define).
    #[must_use]
    pub fn from_name(s: &[u8]) -> ErrorCode {
        Self::TABLE
            .iter()
            .find(|(name, _)| name.as_bytes() == s)
            .map_or(ErrorCode::Other, |&(_, c)| c)
    }

    /// The wire name (`"other"` for [`ErrorCode::Other`]).
    #[must_use]
    pub fn name(self) -> &'static str {
        Self::TABLE
            .iter()
            .find(|&&(_, c)| c == self)
            .map_or("other", |&(n, _)| n)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error response (RFC 6749 §5.2 with the providers' additions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// The `error` code (or Google's `error_code`).
    pub code: ErrorCode,
    /// Microsoft's AADSTS number, from `error_codes[0]` or the
    /// `AADSTSnnnnn:` prefix of `error_description`.
    pub aadsts: Option<u32>,
    /// `error_description`, cut to [`MAX_ERROR_DESCRIPTION_LEN`] octets
    /// (never secret; for the diagnostic log).
    pub description: String<MAX_ERROR_DESCRIPTION_LEN>,
}

/// Parse a whole error response, in one pass with [`ErrorParser`]. Google
/// API-style bodies whose `error` is an object are accepted (the code then
/// comes from `error_code`).
pub fn parse_error_response(body: &[u8]) -> Result<ErrorResponse, JsonError> {
    let mut p = ErrorParser::default();
    p.feed(body);
    p.finish()
}

// ---------------------------------------------------------------- device

/// A device authorization response (RFC 8628 §3.2).
#[derive(Debug, Clone, Default)]
pub struct DeviceAuthorization {
    /// The device code (secret: it redeems the grant).
    pub device_code: SecretBuf<MAX_DEVICE_CODE_LEN>,
    /// The code the user types.
    pub user_code: String<MAX_USER_CODE_LEN>,
    /// Where the user types it (`verification_uri`, or Google's
    /// `verification_url`).
    pub verification_uri: String<MAX_VERIFICATION_URI_LEN>,
    /// The URI with the code in it, for a QR code; empty when not given.
    pub verification_uri_complete: String<MAX_VERIFICATION_URI_COMPLETE_LEN>,
    /// Lifetime of the device code, in seconds.
    pub expires_in: u64,
    /// Minimum polling interval in seconds, when given (default 5).
    pub interval: Option<u64>,
    /// Microsoft's ready-made instruction text; empty when not given.
    pub message: String<MAX_DEVICE_MESSAGE_LEN>,
}

impl DeviceAuthorization {
    /// What the panel's QR code encodes (R-QR): the complete URI (the code
    /// included, nothing to type) when the provider gives one, else the
    /// verification URI.
    #[must_use]
    pub fn qr_text(&self) -> &str {
        if self.verification_uri_complete.is_empty() {
            self.verification_uri.as_str()
        } else {
            self.verification_uri_complete.as_str()
        }
    }

    /// An empty value (to be filled by [`parse_device_authorization`]).
    #[must_use]
    pub const fn new() -> Self {
        DeviceAuthorization {
            device_code: SecretBuf::new(),
            user_code: String::new(),
            verification_uri: String::new(),
            verification_uri_complete: String::new(),
            expires_in: 0,
            interval: None,
            message: String::new(),
        }
    }

    /// Wipe the device code and forget the rest.
    pub fn clear(&mut self) {
        self.device_code.clear();
        self.user_code.clear();
        self.verification_uri.clear();
        self.verification_uri_complete.clear();
        self.expires_in = 0;
        self.interval = None;
        self.message.clear();
    }
}

/// Parse a whole device authorization response into `out` (cleared on
/// error), in one pass with [`DeviceParser`].
pub fn parse_device_authorization(
    body: &[u8],
    out: &mut DeviceAuthorization,
) -> Result<(), JsonError> {
    let mut p = DeviceParser::default();
    p.start(out);
    p.feed(body, out);
    p.finish(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6749_5_1_vector_skips_unknown_members() {
        let body = br#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"example","expires_in":3600,"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA","example_parameter":"example_value"}"#;
        let mut t = TokenResponse::new();
        parse_token_response(body, &mut t).unwrap();
        assert_eq!(t.access_token.expose(), b"2YotnFZFEjr1zCsicMWpAA");
        assert_eq!(t.refresh_token.expose(), b"tGzv3JOkF0XG5Qx2TlKWIA");
        assert_eq!(t.token_type, TokenType::Other);
        assert_eq!(t.expires_in, Some(3600));
        assert!(t.scope.is_empty());
    }

    #[test]
    fn escapes_are_unescaped_into_the_secret() {
        let body = br#"{"access_token":"a\/b\"c\\d\u00e9\ud83d\ude00","token_type":"Bearer","refresh_token":"1\/\/0gXYZ","scope":"https:\/\/mail.google.com\/","id_token":"eyJ\/x","nested":{"a":[1,{"b":"\u0041"}]}}"#;
        let mut t = TokenResponse::new();
        parse_token_response(body, &mut t).unwrap();
        assert_eq!(t.access_token.expose(), "a/b\"c\\dé😀".as_bytes());
        assert_eq!(t.refresh_token.expose(), b"1//0gXYZ");
        assert_eq!(t.scope.as_str(), "https://mail.google.com/");
        assert!(t.scope_includes("https://mail.google.com/"));
        assert_eq!(t.token_type, TokenType::Bearer);
        assert_eq!(t.expires_in, None);
    }

    #[test]
    fn the_refresh_tokens_lifetime_is_read_under_either_name() {
        // Google (time-based access) and the IETF draft's name.
        let body = br#"{"access_token":"x","expires_in":3599,"refresh_token":"r","refresh_token_expires_in":604799,"token_type":"Bearer"}"#;
        let mut t = TokenResponse::new();
        parse_token_response(body, &mut t).unwrap();
        assert_eq!(t.refresh_expires_in, Some(604_799));
        // The other name, as a string; both: the shorter.
        let body = br#"{"access_token":"x","refresh_expires_in":"1800"}"#;
        parse_token_response(body, &mut t).unwrap();
        assert_eq!(t.refresh_expires_in, Some(1800));
        let body =
            br#"{"refresh_expires_in":900,"access_token":"x","refresh_token_expires_in":86400}"#;
        parse_token_response(body, &mut t).unwrap();
        assert_eq!(t.refresh_expires_in, Some(900));
        // Absent or null: unknown.
        parse_token_response(
            br#"{"access_token":"x","refresh_token_expires_in":null}"#,
            &mut t,
        )
        .unwrap();
        assert_eq!(t.refresh_expires_in, None);
        // Not a number: the response is malformed, nothing is kept.
        let bad = br#"{"access_token":"x","refresh_token_expires_in":"a week"}"#;
        assert!(parse_token_response(bad, &mut t).is_err());
        assert!(t.access_token.is_empty());
        // Twice under one name: malformed, as for every member.
        let twice =
            br#"{"access_token":"x","refresh_token_expires_in":1,"refresh_token_expires_in":2}"#;
        assert!(parse_token_response(twice, &mut t).is_err());
    }

    #[test]
    fn numbers_as_strings_are_accepted() {
        let body = br#"{"token_type":"Bearer","expires_in":"3599","ext_expires_in":"3599","access_token":"x"}"#;
        let mut t = TokenResponse::new();
        parse_token_response(body, &mut t).unwrap();
        assert_eq!(t.expires_in, Some(3599));
        let bad = br#"{"token_type":"Bearer","expires_in":"soon","access_token":"x"}"#;
        assert_eq!(parse_token_response(bad, &mut t), Err(JsonError::Syntax));
        assert!(t.access_token.is_empty());
    }

    #[test]
    fn bad_bodies() {
        let mut t = TokenResponse::new();
        let cases: &[(&[u8], JsonError)] = &[
            (
                br#"{"token_type":"Bearer"}"#,
                JsonError::Missing(Field::AccessToken),
            ),
            (
                br#"{"access_token":""}"#,
                JsonError::Missing(Field::AccessToken),
            ),
            (br#"{"access_token":"a\x"}"#, JsonError::BadEscape),
            (br#"{"access_token":"\ud83d"}"#, JsonError::BadEscape),
            (br#"{"access_token":"\ud83dx\ude00"}"#, JsonError::BadEscape),
            (br#"{"access_token":"\u12"}"#, JsonError::BadEscape),
            (
                br#"{"access_token":"a","access_token":"b"}"#,
                JsonError::Syntax,
            ),
            (br#"[1,2]"#, JsonError::Syntax),
            (b"", JsonError::Syntax),
            (br#"{"access_token":"a""#, JsonError::Syntax),
            (&[b'['; 40], JsonError::TooDeep),
        ];
        for (body, err) in cases {
            assert_eq!(
                parse_token_response(body, &mut t),
                Err(*err),
                "{}",
                String::<64>::try_from(core::str::from_utf8(body).unwrap_or("?"))
                    .unwrap_or_default()
            );
        }
        let long = format!(r#"{{"access_token":"{}"}}"#, "a".repeat(4097));
        assert_eq!(
            parse_token_response(long.as_bytes(), &mut t),
            Err(JsonError::TooLong(Field::AccessToken))
        );
        let fits = format!(r#"{{"access_token":"{}"}}"#, "a".repeat(4096));
        parse_token_response(fits.as_bytes(), &mut t).unwrap();
    }

    #[test]
    fn rfc6749_5_2_and_microsoft_and_google_errors() {
        let e = parse_error_response(br#"{"error":"invalid_request"}"#).unwrap();
        assert_eq!((e.code, e.aadsts), (ErrorCode::InvalidRequest, None));

        let ms = br#"{"error":"invalid_client","error_description":"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.\r\nTrace ID: 0f1e\r\nCorrelation ID: 2a3b\r\nTimestamp: 2024-01-01 00:00:00Z","error_codes":[7000218],"timestamp":"2024-01-01 00:00:00Z","trace_id":"0f1e","correlation_id":"2a3b","error_uri":"https:\/\/login.microsoftonline.com\/error?code=7000218"}"#;
        let e = parse_error_response(ms).unwrap();
        assert_eq!(
            (e.code, e.aadsts),
            (ErrorCode::InvalidClient, Some(7000218))
        );
        assert!(e.description.starts_with("AADSTS7000218: The request body"));

        // The AADSTS number from the description when error_codes is absent.
        let e = parse_error_response(br#"{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity."}"#).unwrap();
        assert_eq!((e.code, e.aadsts), (ErrorCode::InvalidGrant, Some(700082)));

        let g = parse_error_response(br#"{"error_code":"rate_limit_exceeded"}"#).unwrap();
        assert_eq!(g.code, ErrorCode::RateLimitExceeded);
        let g = parse_error_response(
            br#"{"error":"admin_policy_enforced","error_description":"Access blocked"}"#,
        )
        .unwrap();
        assert_eq!(g.code, ErrorCode::AdminPolicyEnforced);
        let api = parse_error_response(br#"{"error":{"code":429,"message":"Quota","status":"RESOURCE_EXHAUSTED"},"error_code":"rate_limit_exceeded"}"#).unwrap();
        assert_eq!(api.code, ErrorCode::RateLimitExceeded);
        let unknown = parse_error_response(br#"{"error":"weird_thing"}"#).unwrap();
        assert_eq!(unknown.code, ErrorCode::Other);
        assert_eq!(
            parse_error_response(br#"{"foo":1}"#),
            Err(JsonError::Missing(Field::Error))
        );
        for c in ErrorCode::TABLE {
            assert_eq!(ErrorCode::from_name(c.0.as_bytes()), c.1);
            assert_eq!(c.1.name(), c.0);
        }
    }

    #[test]
    fn rfc8628_3_2_vector_and_google_and_microsoft_spellings() {
        let body =
            br#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT",
 "verification_uri":"https://example.com/device",
 "verification_uri_complete":"https://example.com/device?user_code=WDJB-MJHT",
 "expires_in":1800,"interval":5}"#;
        let mut d = DeviceAuthorization::new();
        parse_device_authorization(body, &mut d).unwrap();
        assert_eq!(
            d.device_code.expose(),
            b"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"
        );
        assert_eq!(d.user_code.as_str(), "WDJB-MJHT");
        assert_eq!(d.verification_uri.as_str(), "https://example.com/device");
        assert_eq!(
            d.verification_uri_complete.as_str(),
            "https://example.com/device?user_code=WDJB-MJHT"
        );
        assert_eq!((d.expires_in, d.interval), (1800, Some(5)));

        let google = br#"{"device_code":"4/4-GMMhmHCXhWEzkobqIHGG_EnNYYsAkukHspeYUk9E8","user_code":"GQVQ-JKEC","verification_url":"https:\/\/www.google.com\/device","expires_in":1800,"interval":5}"#;
        parse_device_authorization(google, &mut d).unwrap();
        assert_eq!(d.verification_uri.as_str(), "https://www.google.com/device");
        assert!(d.verification_uri_complete.is_empty());

        let ms = br#"{"user_code":"FGHJKLMNP","device_code":"DAQABAAEAAAD","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5,"message":"To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FGHJKLMNP to authenticate."}"#;
        parse_device_authorization(ms, &mut d).unwrap();
        assert!(d.message.contains("FGHJKLMNP"));
        assert_eq!(d.expires_in, 900);

        let missing = br#"{"device_code":"x","user_code":"y","verification_uri":"z"}"#;
        assert_eq!(
            parse_device_authorization(missing, &mut d),
            Err(JsonError::Missing(Field::ExpiresIn))
        );
        assert!(d.device_code.is_empty());
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let body = format!(
            r#"{{"device_code":"x","user_code":"y","verification_uri":"z","expires_in":1,"message":"{}"}}"#,
            "é".repeat(400)
        );
        let mut d = DeviceAuthorization::new();
        parse_device_authorization(body.as_bytes(), &mut d).unwrap();
        assert_eq!(d.message.len(), MAX_DEVICE_MESSAGE_LEN);
        assert!(d.message.chars().all(|c| c == 'é'));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut t = TokenResponse::new();
            let _ = parse_token_response(&body, &mut t);
            let _ = parse_error_response(&body);
            let mut d = DeviceAuthorization::new();
            let _ = parse_device_authorization(&body, &mut d);
        }

        #[test]
        fn any_string_survives_json_escaping(s in "\\PC{0,40}") {
            // Escape every character as \uXXXX (pairs for astral ones).
            let mut escaped = std::string::String::new();
            for u in s.encode_utf16() {
                escaped.push_str(&format!("\\u{u:04x}"));
            }
            let body = format!(r#"{{"access_token":"x{escaped}"}}"#);
            let mut t = TokenResponse::new();
            parse_token_response(body.as_bytes(), &mut t).unwrap();
            let expected = format!("x{s}");
            proptest::prop_assert_eq!(t.access_token.expose(), expected.as_bytes());
        }
    }
}
