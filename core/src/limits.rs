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

/// Nesting depth accepted in any JSON body before parsing: the JSON parser
/// recurses when it skips unknown values (about 32 bytes of stack a level),
/// so depth is checked first to bound the stack (see FIRMWARE.md).
pub const MAX_JSON_DEPTH: usize = 16;

/// Events an SMTP client can hold before the caller polls them: one per
/// recipient plus the transaction's own.
pub const SMTP_EVENT_QUEUE: usize = MAX_RECIPIENTS + 8;

/// Smallest output buffer the caller may lend to `smtp::Client::write_body`:
/// one input octet can become three output octets (`\n..` after a bare CR).
pub const MIN_BODY_OUT_LEN: usize = 3;

/// Users whose OAuth tokens the printer keeps at once, besides the
/// administrator (R-TOK-5). Each user slot persists one refresh token of up
/// to [`MAX_REFRESH_TOKEN_LEN`] octets, so this bounds the persistence image.
pub const MAX_USER_TOKENS: usize = 8;

/// Access tokens kept in RAM at once (R-TOK-1). Only one job sends at a
/// time; the administrator's and the current user's tokens stay cached, and
/// an evicted token is simply refreshed again when next needed.
pub const MAX_CACHED_ACCESS_TOKENS: usize = 2;

/// Longest printer user name (the login id that owns a user token slot), in
/// octets.
pub const MAX_USER_ID_LEN: usize = 64;

/// Addresses on the configured send-as list (shared mailboxes or addresses
/// with Microsoft's "Send As" permission) that a job may use as its From
/// address although they are not the signing token's account (R-POL).
pub const MAX_SEND_AS: usize = 4;

/// Longest Microsoft tenant (name, domain or GUID), in octets.
pub const MAX_TENANT_LEN: usize = 64;

/// Longest OAuth client id (app registration), in octets.
pub const MAX_CLIENT_ID_LEN: usize = 128;

/// Longest endpoint URL or scope list of a custom provider, in octets.
pub const MAX_URL_LEN: usize = 256;

/// Longest proxy user name, in octets.
pub const MAX_PROXY_USER_LEN: usize = 64;

/// Longest proxy password, in octets (kept as a secret, sealed with the
/// refresh tokens when a device key is given).
pub const MAX_PROXY_PASSWORD_LEN: usize = 128;
