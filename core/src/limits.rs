//! Every capacity of the core, in one place.
//!
//! The core never allocates: each bounded thing has a fixed capacity chosen
//! here, with its unit and the reason for the number. The README's
//! capacities table mirrors this file; change both together.

/// Longest e-mail address, in octets (RFC 5321 §4.5.3.1.3: a path is at most
/// 256 octets including the angle brackets).
pub const MAX_ADDRESS_LEN: usize = 254;

/// Longest domain or host name, in octets (RFC 1035 §2.3.4 plus slack for a
/// trailing dot).
pub const MAX_DOMAIN_LEN: usize = 255;

/// Longest OAuth access token, in octets. Google documents at most 2048;
/// Microsoft does not document a size and its XOAUTH2 values exceed 2,500
/// octets, so twice Google's figure.
pub const MAX_ACCESS_TOKEN_LEN: usize = 4096;

/// Longest OAuth refresh token, in octets (Google documents at most 512;
/// Microsoft's are opaque and longer, about 1,500 observed).
pub const MAX_REFRESH_TOKEN_LEN: usize = 2048;

/// Recipients of one message (RCPT TO commands).
pub const MAX_RECIPIENTS: usize = 16;

/// Octets of a message's recipient addresses together (R-MEM): 80 on
/// average for [`MAX_RECIPIENTS`], and any one address of the longest
/// length ([`MAX_ADDRESS_LEN`]) fits. The envelope keeps them packed, not
/// in sixteen places of the longest length (4 KB).
pub const MAX_RECIPIENTS_LEN: usize = 1280;

/// An SMTP command line that may carry a SASL initial response, CRLF
/// included (RFC 5321 §4.5.3.1.4 and RFC 4954 §4: longer lines must not use
/// the initial response and go two-step instead).
pub const SMTP_COMMAND_LINE_LIMIT: usize = 512;

/// Longest SMTP reply line the client accepts, CRLF included. RFC 5321 says
/// 512; real servers exceed it with long texts, so twice that.
pub const MAX_REPLY_LINE_LEN: usize = 1024;

/// Lines in one multi-line SMTP reply before the client gives up on an
/// endless reply (an EHLO reply has about twenty).
pub const MAX_REPLY_LINES: usize = 128;

/// Octets of server reply text kept for diagnostics and display.
pub const MAX_REPLY_TEXT_LEN: usize = 256;

/// Longest decoded `334` error challenge (a small JSON object), in octets.
pub const MAX_CHALLENGE_LEN: usize = 1024;

/// Nesting depth accepted in any JSON body: the token endpoints' push
/// parser keeps one bit a level and refuses deeper bodies as they arrive
/// (the SASL error challenge is read with it too); the `serde-json-core`
/// parses (the `id_token` read in place) recurse when they skip unknown
/// values (about 32 bytes of stack a level), so depth is checked first
/// there to bound the stack.
pub const MAX_JSON_DEPTH: usize = 16;

/// Events an SMTP client can hold before the caller polls them: one per
/// recipient plus the transaction's own.
pub const SMTP_EVENT_QUEUE: usize = MAX_RECIPIENTS + 8;

/// Smallest output buffer the caller may lend to `smtp::Client::write_body`:
/// room for a `BDAT <n>\r\n` chunk header (up to 27 octets) and a few
/// octets of body; with `DATA` one input octet can become three.
pub const MIN_BODY_OUT_LEN: usize = 32;

/// Longest HTTP response head (status line and headers) the token client
/// accepts, in octets. Microsoft's token responses carry about 1.2 KB of
/// headers (cookies, telemetry); 8 KiB is what common servers allow.
pub const MAX_HTTP_HEAD_LEN: usize = 8192;

/// Headers in one HTTP response head (each slot costs 16 octets of stack on
/// a 32-bit target while the head is parsed).
pub const MAX_HTTP_HEADERS: usize = 48;

/// Longest chunk extension skipped in a chunked body, in octets.
pub const MAX_CHUNK_EXT_LEN: usize = 1024;

/// Response buffer a caller lends to an OAuth exchange, in octets: it holds
/// one line of the HTTP head at a time (R-MEM). The JSON body is parsed as
/// it arrives, straight into the client's token response, so the 6.6 KB
/// Microsoft body (PROVIDERS.md §7) needs no room here; a head line of a
/// field the client does not read (cookies, telemetry) is skipped when it
/// is longer. The longest line the client must read whole is a
/// `Content-Type` with its parameters or a status line with a long reason:
/// a few dozen octets, so 512 leaves ample room. The head as a whole is
/// still bounded by [`MAX_HTTP_HEAD_LEN`].
pub const OAUTH_RESPONSE_BUF_LEN: usize = 512;

/// Longest token-endpoint response body the OAuth client reads, in octets
/// (not a buffer: the body is parsed as it arrives). Bounds what a hostile
/// endpoint can make the printer read; ten times the largest observed
/// Microsoft body (6,583 octets, PROVIDERS.md §7).
pub const MAX_OAUTH_BODY_LEN: usize = 65536;

/// Request buffer that holds any OAuth request whole, in octets: headers
/// plus a form body with a refresh token of up to [`MAX_REFRESH_TOKEN_LEN`]
/// octets, or a signed assertion. A shorter buffer (any, but empty) gets
/// the request in pieces from `poll_transmit` (R-MEM).
pub const OAUTH_REQUEST_BUF_LEN: usize = 8192;

/// Longest OAuth client id, in octets (Microsoft: a 36-character GUID;
/// Google: about 75 characters ending in `.apps.googleusercontent.com`).
pub const MAX_CLIENT_ID_LEN: usize = 256;

/// Longest OAuth client secret, in octets (Google's installed apps have a
/// non-confidential one of about 35 characters).
pub const MAX_CLIENT_SECRET_LEN: usize = 128;

/// Longest scope string requested or granted, in octets.
pub const MAX_SCOPE_LEN: usize = 512;

/// Longest endpoint path (`/{tenant}/oauth2/v2.0/token`), in octets.
pub const MAX_ENDPOINT_PATH_LEN: usize = 192;

/// Longest device code, in octets (RFC 8628 device codes are opaque;
/// Microsoft's are a few hundred characters, Google's about 100).
pub const MAX_DEVICE_CODE_LEN: usize = 1024;

/// Longest user code shown on the panel, in octets (Microsoft: 9 characters,
/// Google: `XXX-XXX-XXX`).
pub const MAX_USER_CODE_LEN: usize = 32;

/// Longest verification URI, in octets (shown on the panel and as a QR code).
pub const MAX_VERIFICATION_URI_LEN: usize = 256;

/// Longest `verification_uri_complete`, in octets.
pub const MAX_VERIFICATION_URI_COMPLETE_LEN: usize = 512;

/// Octets of Microsoft's device-flow `message` kept for display; a longer
/// one is cut at a character boundary.
pub const MAX_DEVICE_MESSAGE_LEN: usize = 512;

/// Longest authorization code from the loopback redirect, in octets (Google
/// documents at most 256; Microsoft's are about 1,000).
pub const MAX_AUTH_CODE_LEN: usize = 2048;

/// Longest loopback `redirect_uri`, in octets (`http://[::1]:65535/` plus a
/// short path).
pub const MAX_REDIRECT_URI_LEN: usize = 96;

/// Longest signature of an app-only assertion, in octets: RS256 / PS256
/// with a 4096-bit RSA key (a 2048-bit key gives 256, 3072-bit 384).
pub const MAX_SIGNATURE_LEN: usize = 512;

/// Longest key id (`kid`) of a service account key, in octets (Google's
/// `private_key_id` is 40 hex digits).
pub const MAX_KEY_ID_LEN: usize = 64;

/// Room that always holds the JWS signing input of an app-only assertion
/// (base64url header and claims: the longest endpoint URL, client id,
/// addresses, scope and key id, all escaped), in octets. The exact size of
/// one is [`crate::oauth::Client::signing_input_len`]; the firmware can lend
/// its token request buffer
/// ([`OAUTH_REQUEST_BUF_LEN`]), which is free while a signature is asked.
pub const MAX_SIGNING_INPUT_LEN: usize = 4096;

/// Events an OAuth client can hold before the caller polls them.
pub const OAUTH_EVENT_QUEUE: usize = 4;

/// Retries of one OAuth request after transient failures (5xx, 429,
/// network) before the flow fails; with the backoff's 5 s doubling to a
/// 5 min cap that spans about 10 minutes.
pub const OAUTH_MAX_RETRIES: u8 = 6;

/// Plans one job may go through ([`crate::mailer::Plan`]: sign-in,
/// refresh, connect, session, a refresh in the session, the retry; a job
/// needs at most about eight). A job that would go through more is failed
/// by the mailer with [`crate::diag::Id::WrongState`], so that no driver
/// loop can run forever on a job that never ends (R-ENGINE).
pub const MAX_PLANS: usize = 32;

/// Users whose OAuth tokens the printer keeps at once, besides the
/// administrator (R-TOK-5), at most. Each user slot persists one refresh
/// token of up to [`MAX_REFRESH_TOKEN_LEN`] octets, so this bounds the
/// persistence image. A token store keeps this many in its own array, or
/// as many as the firmware lends, up to this bound
/// ([`crate::token::UserSlots`], R-MEM: 2.4 KB a slot on a Cortex-M).
pub const MAX_USER_TOKENS: usize = 8;

/// Access tokens kept in RAM at once (R-TOK-1). Only one job sends at a
/// time; the administrator's and the current user's tokens stay cached, and
/// an evicted token is simply refreshed again when next needed.
pub const MAX_CACHED_ACCESS_TOKENS: usize = 2;

/// Octets the cached access tokens take together, packed (R-MEM): a token
/// of [`MAX_ACCESS_TOKEN_LEN`] beside one of 2 KiB, or two of 3 KiB
/// (Microsoft's are about 1.5 to 2.5 KB, Google's at most 2 KB). A token
/// that does not fit beside the others evicts the least recently used
/// (a token handed in from outside only when the new one would not fit
/// beside it alone).
pub const ACCESS_CACHE_LEN: usize = MAX_ACCESS_TOKEN_LEN + 2048;

/// Longest printer user name (the login id that owns a user token slot), in
/// octets.
pub const MAX_USER_ID_LEN: usize = 64;

/// Addresses on the configured send-as list (shared mailboxes or addresses
/// with Microsoft's "Send As" permission) that a job may use as its From
/// address although they are not the signing token's account (R-POL).
pub const MAX_SEND_AS: usize = 4;

/// Longest Microsoft tenant (name, domain or GUID), in octets.
pub const MAX_TENANT_LEN: usize = 64;

/// Longest endpoint URL or scope list of a custom provider, in octets.
pub const MAX_URL_LEN: usize = 256;

/// Longest proxy user name, in octets.
pub const MAX_PROXY_USER_LEN: usize = 64;

/// Longest proxy password, in octets (kept as a secret, sealed with the
/// refresh tokens when a device key is given).
pub const MAX_PROXY_PASSWORD_LEN: usize = 128;

/// The longest text of a certificate thumbprint setting: 64 hexadecimal
/// digits in pairs separated by `:` (`openssl x509 -fingerprint -sha256`).
pub const MAX_THUMBPRINT_TEXT_LEN: usize = 95;
