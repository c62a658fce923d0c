/*
 * mfp_oauth.h: C API of mfp-oauth, the OAuth 2.0 e-mail core for
 * multifunction printers (SMTP with XOAUTH2/OAUTHBEARER, token endpoint
 * exchanges, sender policy, persistence).
 *
 * Conventions:
 *  - functions are named mfp_oauth_<object>_<verb>; one that only writes
 *    out what an object holds is named by that noun, without get_
 *    (mfp_oauth_mailer_plan, mfp_oauth_mailer_settings,
 *    mfp_oauth_mailer_user_token, mfp_oauth_smtp_session_state); an index
 *    is an argument, not a suffix;
 *  - every function returns an mfp_oauth_status (0 = MFP_OAUTH_STATUS_OK),
 *    except the few that return a static string; a failing status is the
 *    number of the diagnostic that explains it (mfp_oauth_diag_message());
 *  - a NULL pointer is MFP_OAUTH_STATUS_NULL_PARAMETER, a short buffer
 *    MFP_OAUTH_STATUS_BUFFER_TOO_SMALL (the size needed is written to the
 *    length output), an integer outside its enum
 *    MFP_OAUTH_STATUS_INVALID_ARGUMENT; otherwise outputs are written only
 *    on success;
 *  - the caller owns all memory: objects live in opaque storage the caller
 *    allocates (static or on the stack); the library has no heap and no
 *    globals, and calls back only the flash reader given to
 *    mfp_oauth_mailer_load_from, during that call;
 *  - nothing is thread-safe or ISR-safe: use one object from one task at a
 *    time; distinct objects are independent;
 *  - power-on: only MFP_OAUTH_STATUS_NV_EMPTY from mfp_oauth_mailer_load
 *    leads to mfp_oauth_mailer_create; after any other load error never
 *    create and save a fresh image (it would erase the other slot and the
 *    refresh token): see mfp_oauth_mailer_load.
 *
 * Memory the firmware lends for a day (sign-in, jobs, saving the image):
 * the mfp_oauth_mailer storage (MFP_OAUTH_MAILER_WORDS words), one
 * mfp_oauth_user_slot (MFP_OAUTH_USER_SLOT_WORDS words) for each user it
 * keeps signed in at once (none for the administrator or a public user),
 * one mfp_oauth_token_client (MFP_OAUTH_TOKEN_CLIENT_WORDS words) and its
 * request buffer (512 octets: longer requests go out in pieces), a flash
 * page for the image (mfp_oauth_mailer_save_begin / _save_next; no buffer
 * of MFP_OAUTH_NV_IMAGE_MAX_LEN), and for each settings change a
 * mfp_oauth_settings_draft (MFP_OAUTH_SETTINGS_DRAFT_WORDS words), empty
 * between calls, which may share the token client's memory in a union (a
 * token exchange and a settings change never run at once). The emulated
 * firmware's day, the administrator and 4 users, lends 48,728 octets in
 * all on its Cortex-M4F, the draft in a union with the token client
 * (bindings-c/tools/size-report.sh prints it); each user slot more is
 * 2,440 octets there. At power-on, slots
 * that are not memory-mapped are read through the firmware's flash driver
 * (mfp_oauth_mailer_load_from), with the token client's storage (before
 * the client is created) as its scratch.
 *
 * The job protocol. One mfp_oauth_mailer runs one job at a time; after
 * each call the firmware reads the plan (the call's out_plan, or
 * mfp_oauth_mailer_plan) and does what its kind asks:
 *
 *   plan kind        the firmware                          then calls
 *   ---------------  ------------------------------------  -------------------------------
 *   IDLE             nothing: submit the next job          mfp_oauth_mailer_submit
 *   NEED_USER_AUTH   shows the OAuth screen for            mfp_oauth_mailer_auth_succeeded
 *                    plan.account; runs the sign-in on a   (or _auth_failed on cancel)
 *                    token client (see below)
 *   NEED_ADMIN_AUTH  the administrator must Acquire        mfp_oauth_mailer_auth_failed
 *                    beforehand (_acquire_admin); fails    (or _auth_succeeded)
 *                    or holds the job
 *   TOKEN_EXCHANGE   creates a token client, hands it to   mfp_oauth_mailer_poll_token_event
 *                    mfp_oauth_mailer_start_refresh and    until it reports the end (or
 *                    carries its requests (below)          _exchange_failed if the flow
 *                                                          could not run)
 *   CONNECT          opens TCP to plan.host:plan.port,     mfp_oauth_mailer_connected or
 *                    TLS first for IMPLICIT_TLS            _connect_failed(diag)
 *   SESSION          moves octets and time: _smtp_poll_    (the steps below say when the
 *                    transmit -> socket, socket -> _smtp_  plan changes)
 *                    handle_input, _smtp_poll_timeout ->
 *                    _smtp_handle_timeout, a close ->
 *                    _smtp_handle_close; drains
 *                    mfp_oauth_mailer_poll_event
 *   DONE, FAILED     closes the connection; shows          mfp_oauth_mailer_submit for the
 *                    plan.reply_code or plan.diag          next job
 *                    (_last_reply for support logs)
 *
 * Steps from mfp_oauth_mailer_poll_event, at any time:
 *   SMTP UPGRADE_TLS      drop any plaintext read after the 220 (never feed it
 *                         after TLS), run the TLS handshake on the socket, then
 *                         _smtp_handle_tls_established or _smtp_handle_tls_failed
 *   SMTP READY_FOR_BODY   stream the message: _smtp_write_body (the composer's
 *                         output: _smtp_write_body_canonical), _smtp_finish_body
 *                         (compose it with mfp_oauth_mime_*; its size with
 *                         _set_message_size before the session, or in the job).
 *                         With a mail API transport it can come again in the
 *                         job: stream the message again from its first octet
 *                         (a new mfp_oauth_mime_begin, same date and random)
 *   (mail APIs)           a CONNECT can follow SESSION in the same job, to
 *                         another host (a retry, a resumed upload, Graph's
 *                         upload URL): close, open the one the plan names
 *   PERSIST               write the image into the slot save names: a page
 *                         at a time (mfp_oauth_mailer_save_begin, then
 *                         _save_next until it gives 0 octets) or whole
 *                         (mfp_oauth_mailer_save); read it back, then
 *                         mfp_oauth_mailer_image_written (and erase the other
 *                         slot when the step says erase_other_slot)
 *   ADMIN_REAUTH_NEEDED   warn on the Information screen (Acquire again)
 *   USER_REAUTH_NEEDED, REFRESH_TOKEN_EXPIRING, PREVIOUS_IMAGE_RESTORED
 *                         notices for the panel
 *   PLAN_CHANGED          read the plan again
 *
 * A token client's requests (sign-in, refresh): mfp_oauth_token_client_
 * poll_transmit names the endpoint and gives the request; the firmware
 * opens TLS to it, sends it, feeds the answer to _handle_input until
 * _connection_done says to close, waits _poll_timeout, and reads
 * _poll_event (USER_CODE: show the code and the QR code of the URI,
 * mfp_oauth_qr_encode).
 *
 * Stack: the comment of each function that the size report's firmware day
 * calls (bindings-c/tools/size-report.sh, on an emulated Cortex-M4F) gives
 * its stack high-water mark at opt-level s and z, measured from the
 * caller's stack pointer.
 *
 * Requirement ids cited in the comments (R-TOK-4, R-NV, ...) are explained
 * in docs/requirements.md of the repository.
 *
 * On a bare-metal target the firmware must provide
 *     void mfp_oauth_panic_hook(void);
 * called if the library ever panics (a bug: the core is written not to);
 * it should log and reset the device. If it returns, the library spins.
 */

#ifndef MFP_OAUTH_H
#define MFP_OAUTH_H

/* Generated by cbindgen from bindings-c (mfp-oauth-c). Do not edit: run
 * `MFP_OAUTH_BLESS=1 cargo test -p mfp-oauth-c --test generated`. */

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

/* The storage of some objects (MFP_OAUTH_*_WORDS) depends on the pointer
 * width the library is built for: 64-bit targets get
 * MFP_OAUTH_POINTER_64, 32-bit ones (a Cortex-M) do not. */
#if !defined(MFP_OAUTH_POINTER_64) && UINTPTR_MAX > 0xFFFFFFFFu
#define MFP_OAUTH_POINTER_64 1
#endif

/**
 * Octets of a user id field (`char user_id[...]` of `mfp_oauth_plan`,
 * `mfp_oauth_step`, `mfp_oauth_user_token`): 64 octets and the NUL.
 */
#define MFP_OAUTH_USER_ID_BUF_LEN 65

/**
 * Octets of an e-mail address field (`char account[...]`): 254 octets and
 * the NUL.
 */
#define MFP_OAUTH_ADDRESS_BUF_LEN 255

/**
 * Octets of a host name field (`char host[...]` of `mfp_oauth_plan` and
 * `mfp_oauth_endpoint`): 255 octets and the NUL.
 */
#define MFP_OAUTH_HOST_BUF_LEN 256

/**
 * Octets that always hold a server reply's text and its NUL
 * (`mfp_oauth_smtp_last_reply`, `mfp_oauth_mailer_last_reply`).
 */
#define MFP_OAUTH_REPLY_TEXT_BUF_LEN 257

#if defined(MFP_OAUTH_POINTER_64)
/**
 * 64-bit words of `mfp_oauth_mailer` storage on a 64-bit target: 25,280
 * octets, alignment 8 (the token store without its users' slots, which
 * the firmware lends apart, `mfp_oauth_user_slot`, is 12 KB with its two
 * cached access tokens packed in 6 KiB; the settings in force 4.4 KB,
 * new ones being checked in the caller's `mfp_oauth_settings_draft`; one
 * place of 6.5 KB for the job's session: the SMTP session, with the job's envelope,
 * its recipients packed, and no copy of the token, or the mail API
 * session, with the upload-session place: its 2 KB upload URL, which is
 * also a Gmail upload's session URI, and the large attachments' layout).
 */
#define MFP_OAUTH_MAILER_WORDS 3160
#endif

#if !defined(MFP_OAUTH_POINTER_64)
/**
 * 64-bit words of `mfp_oauth_mailer` storage on a 32-bit target (a
 * Cortex-M): 24,784 octets, alignment 8 (as above, with 4-octet lengths
 * and pointers).
 */
#define MFP_OAUTH_MAILER_WORDS 3098
#endif

/**
 * Octets of one NV slot (and of the buffer `mfp_oauth_mailer_save` needs).
 */
#define MFP_OAUTH_NV_IMAGE_MAX_LEN 26238

/**
 * Octets of a device key (`mfp_oauth_mailer_save` / `_load`).
 */
#define MFP_OAUTH_DEVICE_KEY_LEN 32

/**
 * Octets of fresh randomness for each sealed image.
 */
#define MFP_OAUTH_SEAL_RANDOM_LEN 7

/**
 * Octets of the scratch buffer that always suffices for
 * `mfp_oauth_mailer_load_from`: an image's records (settings and each
 * token's metadata, no secret) with every user slot in use and every
 * setting at its longest. A typical image's take a few hundred octets.
 */
#define MFP_OAUTH_NV_RECORDS_MAX_LEN 7346

#if defined(MFP_OAUTH_POINTER_64)
/**
 * 64-bit words of `mfp_oauth_settings_draft` storage on a 64-bit target:
 * 4,560 octets, alignment 8 (the settings with their "Send As" list, the
 * custom provider's endpoints and the proxy).
 */
#define MFP_OAUTH_SETTINGS_DRAFT_WORDS 570
#endif

#if !defined(MFP_OAUTH_POINTER_64)
/**
 * 64-bit words of `mfp_oauth_settings_draft` storage on a 32-bit target
 * (a Cortex-M): 4,456 octets, alignment 8.
 */
#define MFP_OAUTH_SETTINGS_DRAFT_WORDS 557
#endif

/**
 * The most user slots a mailer uses (and an image holds): lending more is
 * `MFP_OAUTH_STATUS_INVALID_ARGUMENT`.
 */
#define MFP_OAUTH_MAX_USER_SLOTS 8

#if defined(MFP_OAUTH_POINTER_64)
/**
 * 64-bit words of one `mfp_oauth_user_slot` on a 64-bit target: 2,456
 * octets, alignment 8 (a user's login name, account and status, and room
 * for a refresh token of 2 KiB).
 */
#define MFP_OAUTH_USER_SLOT_WORDS 307
#endif

#if !defined(MFP_OAUTH_POINTER_64)
/**
 * 64-bit words of one `mfp_oauth_user_slot` on a 32-bit target (a
 * Cortex-M): 2,440 octets, alignment 8.
 */
#define MFP_OAUTH_USER_SLOT_WORDS 305
#endif

/**
 * 64-bit words of `mfp_oauth_mime` (the composer needs under 768 octets on
 * a 64-bit host, less on a 32-bit MCU; 456 of them are its input buffer).
 */
#define MFP_OAUTH_MIME_WORDS 96

/**
 * Random octets `mfp_oauth_mime_begin` takes for each message.
 */
#define MFP_OAUTH_MIME_RANDOM_LEN 12

/**
 * The most file octets `NEED_INPUT` asks for at once.
 */
#define MFP_OAUTH_MIME_INPUT_BUF_LEN 456

/**
 * Attachments of one message, at most.
 */
#define MFP_OAUTH_MIME_MAX_ATTACHMENTS 32

/**
 * To addresses of one message, at most.
 */
#define MFP_OAUTH_MIME_MAX_TO 16

/**
 * Longest subject, in octets of UTF-8.
 */
#define MFP_OAUTH_MIME_MAX_SUBJECT_LEN 998

/**
 * Longest file name, in octets of UTF-8.
 */
#define MFP_OAUTH_MIME_MAX_FILE_NAME_LEN 255

/**
 * Octets of the work area `mfp_oauth_qr_encode` borrows: the encoder's
 * scratch space and its packed matrix, side by side.
 */
#define MFP_OAUTH_QR_WORK_LEN 1984

/**
 * Octets of the largest bitmap `mfp_oauth_qr_encode` writes (89 rows of
 * 12 octets): a buffer of this size always suffices.
 */
#define MFP_OAUTH_QR_BITMAP_LEN 1068

/**
 * Light modules to leave around the code when drawing it.
 */
#define MFP_OAUTH_QR_QUIET_ZONE 4

/**
 * Entries of `mfp_oauth_settings.send_as` (the "Send As" list).
 */
#define MFP_OAUTH_MAX_SEND_AS 4

/**
 * 64-bit words of `mfp_oauth_smtp` storage: 10,240 octets, alignment 8
 * (the session needs about 9.4 KB on a 64-bit host and a little less on a
 * 32-bit MCU; the rest is headroom so that the core can grow without an
 * ABI change). Most of it is the access token (4 KB), the command line
 * and the envelope (1.6 KB, the recipients packed).
 */
#define MFP_OAUTH_SMTP_WORDS 1280

/**
 * Smallest `out_len` of `mfp_oauth_smtp_write_body`: room for a
 * `BDAT <n>` chunk header and a few octets of body.
 */
#define MFP_OAUTH_SMTP_MIN_BODY_OUT_LEN 32

/**
 * "No deadline" from `mfp_oauth_smtp_poll_timeout`.
 */
#define MFP_OAUTH_NO_DEADLINE UINT64_MAX

#if defined(MFP_OAUTH_POINTER_64)
/**
 * 64-bit words of `mfp_oauth_token_client` storage on a 64-bit target:
 * 13,632 octets, alignment 8 (512 octets of it are the response buffer,
 * which holds one line of the HTTP head at a time: the JSON body is parsed
 * as it arrives).
 */
#define MFP_OAUTH_TOKEN_CLIENT_WORDS 1704
#endif

#if !defined(MFP_OAUTH_POINTER_64)
/**
 * 64-bit words of `mfp_oauth_token_client` storage on a 32-bit target (a
 * Cortex-M): 13,416 octets, alignment 8.
 */
#define MFP_OAUTH_TOKEN_CLIENT_WORDS 1677
#endif

/**
 * The longest JWS signing input of an app-only assertion, in octets
 * (`mfp_oauth_token_client_signing_input`).
 */
#define MFP_OAUTH_MAX_SIGNING_INPUT_LEN 4096

/**
 * The longest signature the token client takes (a 4096-bit RSA key's).
 */
#define MFP_OAUTH_MAX_SIGNATURE_LEN 512

/**
 * Octets of randomness `mfp_oauth_mailer_start_token_request` takes for
 * an assertion's unique id (`jti`).
 */
#define MFP_OAUTH_JTI_RANDOM_LEN 16

/**
 * Status of every C call (`mfp_oauth_status`). 0 is success; every other
 * value but 1 and 2 is the number of the diagnostic that explains the
 * failure (`mfp_oauth_diag_message()` gives its text). Numbers never change.
 */
enum mfp_oauth_status
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Success.
   */
  MFP_OAUTH_STATUS_OK = 0,
  /**
   * A required pointer argument was NULL (reported as diagnostic E102).
   */
  MFP_OAUTH_STATUS_NULL_PARAMETER = 1,
  /**
   * A failure whose diagnostic this build's status list lacks (never returned by a consistent build: the `generated` test keeps the list complete).
   */
  MFP_OAUTH_STATUS_UNLISTED = 2,
  /**
   * E101: A buffer lent to the library is too small.
   */
  MFP_OAUTH_STATUS_BUFFER_TOO_SMALL = 101,
  /**
   * E102: An argument is out of range or malformed.
   */
  MFP_OAUTH_STATUS_INVALID_ARGUMENT = 102,
  /**
   * E103: The call is not allowed in the object's current state.
   */
  MFP_OAUTH_STATUS_WRONG_STATE = 103,
  /**
   * E104: OAuth 2.0 authentication is not available on this product.
   */
  MFP_OAUTH_STATUS_NOT_AVAILABLE = 104,
  /**
   * E105: A fixed capacity of the library was exceeded.
   */
  MFP_OAUTH_STATUS_CAPACITY_EXCEEDED = 105,
  /**
   * E106: An e-mail address is empty or malformed.
   */
  MFP_OAUTH_STATUS_INVALID_ADDRESS = 106,
  /**
   * E107: The mail API transports need the message's size before it is sent.
   */
  MFP_OAUTH_STATUS_MESSAGE_SIZE_REQUIRED = 107,
  /**
   * E201: OAuth 2.0 cannot be enabled while VLAN is enabled on network 2.
   */
  MFP_OAUTH_STATUS_VLAN_ON_NETWORK2 = 201,
  /**
   * E202: Microsoft OAuth 2.0 is not available when the TLS minimum and maximum are both TLS 1.3.
   */
  MFP_OAUTH_STATUS_MICROSOFT_TLS13_ONLY = 202,
  /**
   * E203: With Google, the WebDAV client HTTP version must be "HTTP/2,HTTP/1.1".
   */
  MFP_OAUTH_STATUS_GOOGLE_NEEDS_HTTP2 = 203,
  /**
   * E204: In bulk setting mode the bulk sender address must be the administrator's e-mail address.
   */
  MFP_OAUTH_STATUS_BULK_ADDRESS_MISMATCH = 204,
  /**
   * E205: The administrator's refresh token is Required: jobs cannot send yet.
   */
  MFP_OAUTH_STATUS_ADMIN_TOKEN_REQUIRED = 205,
  /**
   * E206: OAuth 2.0 is off in the settings.
   */
  MFP_OAUTH_STATUS_OAUTH_OFF = 206,
  /**
   * E207: The administrator's e-mail address is not set.
   */
  MFP_OAUTH_STATUS_ADMIN_ADDRESS_MISSING = 207,
  /**
   * E208: The SMTP server is not set.
   */
  MFP_OAUTH_STATUS_SMTP_SERVER_MISSING = 208,
  /**
   * E209: The sender address does not match the account whose token would sign the job.
   */
  MFP_OAUTH_STATUS_FROM_NOT_TOKEN_ACCOUNT = 209,
  /**
   * E210: This sender mode needs a logged-in user.
   */
  MFP_OAUTH_STATUS_USER_LOGIN_REQUIRED = 210,
  /**
   * E211: The user has no valid OAuth token: authentication is needed before sending.
   */
  MFP_OAUTH_STATUS_USER_AUTH_REQUIRED = 211,
  /**
   * E212: The custom OAuth provider is missing an endpoint, client id or scope.
   */
  MFP_OAUTH_STATUS_PROVIDER_PROFILE_INCOMPLETE = 212,
  /**
   * E213: The TLS minimum version is above the maximum.
   */
  MFP_OAUTH_STATUS_TLS_RANGE_INVALID = 213,
  /**
   * E214: The TLS range set admits neither TLS 1.2 nor TLS 1.3, the only versions this device's TLS speaks.
   */
  MFP_OAUTH_STATUS_TLS_VERSIONS_UNSUPPORTED = 214,
  /**
   * E215: The refresh margin of access tokens is outside 60 to 1800 seconds.
   */
  MFP_OAUTH_STATUS_REFRESH_MARGIN_INVALID = 215,
  /**
   * E216: The administrator's app-only sign-in is incomplete: a certificate needs Microsoft and its SHA-256 thumbprint, a service account Google and its address, both a sender mode using the administrator's token.
   */
  MFP_OAUTH_STATUS_APP_SIGN_IN_INCOMPLETE = 216,
  /**
   * E217: The transport does not fit the provider: Graph needs Microsoft, the Gmail API needs Google.
   */
  MFP_OAUTH_STATUS_TRANSPORT_PROVIDER_MISMATCH = 217,
  /**
   * E218: The mail API URL is missing (a custom provider with an API transport needs one) or is not an https URL.
   */
  MFP_OAUTH_STATUS_API_URL_INVALID = 218,
  /**
   * E219: The custom scope does not ask for what the transport needs: Mail.Send for Graph, gmail.send for the Gmail API.
   */
  MFP_OAUTH_STATUS_TRANSPORT_SCOPE_MISSING = 219,
  /**
   * E301: The SMTP server refused the connection.
   */
  MFP_OAUTH_STATUS_GREETING_REFUSED = 301,
  /**
   * E302: The SMTP server does not offer STARTTLS: the token will not be sent unencrypted.
   */
  MFP_OAUTH_STATUS_START_TLS_NOT_OFFERED = 302,
  /**
   * E303: The SMTP server refused to start TLS.
   */
  MFP_OAUTH_STATUS_START_TLS_REFUSED = 303,
  /**
   * E304: The SMTP server offers neither XOAUTH2 nor OAUTHBEARER.
   */
  MFP_OAUTH_STATUS_NO_OAUTH_MECHANISM = 304,
  /**
   * E305: Authenticated SMTP is disabled for this mailbox or tenant (5.7.139).
   */
  MFP_OAUTH_STATUS_SMTP_AUTH_DISABLED = 305,
  /**
   * E306: The SMTP server rejected the access token.
   */
  MFP_OAUTH_STATUS_TOKEN_REJECTED = 306,
  /**
   * E307: The SMTP server found the credentials invalid (535 5.7.8).
   */
  MFP_OAUTH_STATUS_CREDENTIALS_INVALID = 307,
  /**
   * E308: The SMTP server requires authentication (530).
   */
  MFP_OAUTH_STATUS_AUTH_REQUIRED = 308,
  /**
   * E309: Basic authentication is no longer accepted for client submission (5.7.30).
   */
  MFP_OAUTH_STATUS_BASIC_AUTH_RETIRED = 309,
  /**
   * E310: The server refuses TLS 1.0 and 1.1 (4.7.66).
   */
  MFP_OAUTH_STATUS_TLS_TOO_OLD = 310,
  /**
   * E311: The account is not allowed to send as this sender address (5.7.60 / 5.2.252).
   */
  MFP_OAUTH_STATUS_SEND_AS_DENIED = 311,
  /**
   * E312: The SMTP server refused a command line as too long or not understood (500 / 5.5.6).
   */
  MFP_OAUTH_STATUS_LINE_TOO_LONG = 312,
  /**
   * E313: The SMTP server could not authenticate for now (454).
   */
  MFP_OAUTH_STATUS_AUTH_TEMPORARY = 313,
  /**
   * E314: The SMTP server does not support the authentication mechanism (504).
   */
  MFP_OAUTH_STATUS_MECHANISM_UNSUPPORTED = 314,
  /**
   * E315: The SMTP server refused the sender address.
   */
  MFP_OAUTH_STATUS_SENDER_REJECTED = 315,
  /**
   * E316: The SMTP server refused a recipient.
   */
  MFP_OAUTH_STATUS_RECIPIENT_REJECTED = 316,
  /**
   * E317: The SMTP server refused every recipient: nothing was sent.
   */
  MFP_OAUTH_STATUS_ALL_RECIPIENTS_REJECTED = 317,
  /**
   * E318: The message is larger than the SMTP server accepts.
   */
  MFP_OAUTH_STATUS_MESSAGE_TOO_BIG = 318,
  /**
   * E319: The SMTP server refused to receive the message body.
   */
  MFP_OAUTH_STATUS_DATA_REFUSED = 319,
  /**
   * E320: The SMTP server rejected the message after receiving it.
   */
  MFP_OAUTH_STATUS_MESSAGE_REJECTED = 320,
  /**
   * E321: The SMTP server is closing the connection (421).
   */
  MFP_OAUTH_STATUS_SERVICE_UNAVAILABLE = 321,
  /**
   * E322: The SMTP server sent a reply that does not follow the protocol.
   */
  MFP_OAUTH_STATUS_PROTOCOL_VIOLATION = 322,
  /**
   * E323: The SMTP server sent a reply longer than the printer accepts.
   */
  MFP_OAUTH_STATUS_REPLY_TOO_LONG = 323,
  /**
   * E324: The SMTP server did not answer in time.
   */
  MFP_OAUTH_STATUS_SMTP_TIMEOUT = 324,
  /**
   * E325: The SMTP server closed the connection before the job was finished.
   */
  MFP_OAUTH_STATUS_CONNECTION_CLOSED = 325,
  /**
   * E326: The SMTP server refused the EHLO greeting.
   */
  MFP_OAUTH_STATUS_EHLO_REFUSED = 326,
  /**
   * E327: The SMTP server's authentication challenge could not be decoded.
   */
  MFP_OAUTH_STATUS_AUTH_CHALLENGE_MALFORMED = 327,
  /**
   * E328: The SMTP server reported a temporary failure.
   */
  MFP_OAUTH_STATUS_TRANSIENT_FAILURE = 328,
  /**
   * E329: The SMTP server rejected the authentication.
   */
  MFP_OAUTH_STATUS_AUTH_REJECTED = 329,
  /**
   * E330: The connection was lost, or the SMTP server did not answer in time, after the whole message was sent and before the server confirmed it: the message may have been delivered.
   */
  MFP_OAUTH_STATUS_DELIVERY_UNKNOWN = 330,
  /**
   * E331: An address of the message has non-ASCII characters and the SMTP server does not offer SMTPUTF8 (RFC 6531): the message was not sent.
   */
  MFP_OAUTH_STATUS_SMTPUTF8_NOT_OFFERED = 331,
  /**
   * E332: The SMTP server refused the access token because it will expire soon (5.5.127, Microsoft High Volume Email).
   */
  MFP_OAUTH_STATUS_TOKEN_EXPIRING_SOON = 332,
  /**
   * E333: The SMTP server found the user address of the authentication invalid (5.5.124).
   */
  MFP_OAUTH_STATUS_SMTP_USER_INVALID = 333,
  /**
   * E401: The app registration does not allow public client flows (AADSTS7000218).
   */
  MFP_OAUTH_STATUS_PUBLIC_CLIENT_FLOWS_OFF = 401,
  /**
   * E402: The user or administrator has not consented to the app (AADSTS65001).
   */
  MFP_OAUTH_STATUS_CONSENT_MISSING = 402,
  /**
   * E403: The refresh token expired after a long time unused (AADSTS700082 / 70008).
   */
  MFP_OAUTH_STATUS_REFRESH_EXPIRED_INACTIVITY = 403,
  /**
   * E404: The refresh token was revoked (password change, sign-out or admin action).
   */
  MFP_OAUTH_STATUS_REFRESH_REVOKED = 404,
  /**
   * E405: A Conditional Access policy blocked the sign-in (AADSTS53003).
   */
  MFP_OAUTH_STATUS_CONDITIONAL_ACCESS = 405,
  /**
   * E406: The provider refused the requested scope.
   */
  MFP_OAUTH_STATUS_INVALID_SCOPE = 406,
  /**
   * E407: The provider does not know this client id, or its type is wrong.
   */
  MFP_OAUTH_STATUS_INVALID_CLIENT = 407,
  /**
   * E408: A Google Workspace administrator policy blocks this app (admin_policy_enforced).
   */
  MFP_OAUTH_STATUS_GOOGLE_ADMIN_POLICY = 408,
  /**
   * E409: The Google app is internal to another organization (org_internal).
   */
  MFP_OAUTH_STATUS_GOOGLE_ORG_INTERNAL = 409,
  /**
   * E410: The provider is limiting requests (rate limit exceeded).
   */
  MFP_OAUTH_STATUS_RATE_LIMITED = 410,
  /**
   * E411: The provider no longer accepts the refresh token (invalid_grant): authentication was cancelled.
   */
  MFP_OAUTH_STATUS_INVALID_GRANT = 411,
  /**
   * E412: The sign-in was declined.
   */
  MFP_OAUTH_STATUS_AUTHORIZATION_DECLINED = 412,
  /**
   * E413: The sign-in code expired before it was used.
   */
  MFP_OAUTH_STATUS_DEVICE_CODE_EXPIRED = 413,
  /**
   * E414: The sign-in code was not recognized.
   */
  MFP_OAUTH_STATUS_BAD_VERIFICATION_CODE = 414,
  /**
   * E415: This provider does not allow the device code flow for e-mail.
   */
  MFP_OAUTH_STATUS_DEVICE_FLOW_NOT_SUPPORTED = 415,
  /**
   * E416: The sign-in answer does not belong to this request (state mismatch).
   */
  MFP_OAUTH_STATUS_STATE_MISMATCH = 416,
  /**
   * E417: The provider returned an error to the sign-in page.
   */
  MFP_OAUTH_STATUS_REDIRECT_ERROR = 417,
  /**
   * E418: The token endpoint answered with an unexpected HTTP status.
   */
  MFP_OAUTH_STATUS_HTTP_UNEXPECTED_STATUS = 418,
  /**
   * E419: The token endpoint's HTTP response is malformed.
   */
  MFP_OAUTH_STATUS_HTTP_MALFORMED = 419,
  /**
   * E420: The token endpoint's response exceeds the buffer.
   */
  MFP_OAUTH_STATUS_RESPONSE_TOO_LARGE = 420,
  /**
   * E421: The token endpoint's JSON body could not be read.
   */
  MFP_OAUTH_STATUS_JSON_MALFORMED = 421,
  /**
   * E422: A token from the provider is larger than the printer can store.
   */
  MFP_OAUTH_STATUS_TOKEN_TOO_LARGE = 422,
  /**
   * E423: The proxy refused to connect to the provider.
   */
  MFP_OAUTH_STATUS_PROXY_REFUSED = 423,
  /**
   * E424: The proxy requires authentication (407).
   */
  MFP_OAUTH_STATUS_PROXY_AUTH_REQUIRED = 424,
  /**
   * E425: The OAuth provider answered that it was temporarily unavailable, and the retries with increasing delays did not get through.
   */
  MFP_OAUTH_STATUS_PROVIDER_UNAVAILABLE = 425,
  /**
   * E426: The app is not registered in this tenant (AADSTS700016).
   */
  MFP_OAUTH_STATUS_APP_NOT_IN_TENANT = 426,
  /**
   * E427: The tenant is not valid (AADSTS90002).
   */
  MFP_OAUTH_STATUS_BAD_TENANT = 427,
  /**
   * E428: This sign-in is not allowed on the common endpoint (AADSTS9001023).
   */
  MFP_OAUTH_STATUS_TENANT_ENDPOINT_REQUIRED = 428,
  /**
   * E429: The provider does not support this kind of sign-in.
   */
  MFP_OAUTH_STATUS_UNSUPPORTED_GRANT_TYPE = 429,
  /**
   * E430: The provider found the request invalid.
   */
  MFP_OAUTH_STATUS_INVALID_REQUEST = 430,
  /**
   * E431: The app is not allowed to use this kind of sign-in.
   */
  MFP_OAUTH_STATUS_UNAUTHORIZED_CLIENT = 431,
  /**
   * E432: A sign-in frequency policy requires a new sign-in (AADSTS70043).
   */
  MFP_OAUTH_STATUS_SIGN_IN_FREQUENCY = 432,
  /**
   * E433: The provider returned an error.
   */
  MFP_OAUTH_STATUS_OAUTH_ERROR = 433,
  /**
   * E434: The browser sign-in was not completed in time.
   */
  MFP_OAUTH_STATUS_SIGN_IN_TIMED_OUT = 434,
  /**
   * E435: The sign-in did not grant access to e-mail (the mail permission was not ticked).
   */
  MFP_OAUTH_STATUS_SCOPE_NOT_GRANTED = 435,
  /**
   * E436: The account that signed in is not the address this token is for; the token was refused.
   */
  MFP_OAUTH_STATUS_ACCOUNT_MISMATCH = 436,
  /**
   * E437: A Conditional Access policy blocked this device code sign-in (AADSTS53003); many organizations block the device code flow.
   */
  MFP_OAUTH_STATUS_DEVICE_CODE_FLOW_BLOCKED = 437,
  /**
   * E438: The app is disabled in this tenant: no token is issued for it (AADSTS7000112 / 70001).
   */
  MFP_OAUTH_STATUS_APP_DISABLED = 438,
  /**
   * E439: The tenant lets only assigned users sign in to this app, and this account is not assigned (AADSTS50105).
   */
  MFP_OAUTH_STATUS_USER_NOT_ASSIGNED = 439,
  /**
   * E440: Only an administrator can consent to this app in this tenant; the user cannot (AADSTS90094 / 90095).
   */
  MFP_OAUTH_STATUS_ADMIN_CONSENT_REQUIRED = 440,
  /**
   * E441: The provider refused the signature of the printer's app-only sign-in: no certificate registered for the app matches the printer's key (AADSTS700027).
   */
  MFP_OAUTH_STATUS_ASSERTION_SIGNATURE_INVALID = 441,
  /**
   * E442: The client secret of the app-only sign-in is wrong or has expired (AADSTS7000215 / 7000222).
   */
  MFP_OAUTH_STATUS_CLIENT_SECRET_INVALID = 442,
  /**
   * E443: The printer's signed sign-in request is outside its validity period (AADSTS700024), or the printer's clock is not set: its date and time are probably wrong.
   */
  MFP_OAUTH_STATUS_ASSERTION_TIME_RANGE = 443,
  /**
   * E444: The printer could not sign its app-only sign-in request with its key (the key store failed, did not answer, or gave a signature longer than 512 octets).
   */
  MFP_OAUTH_STATUS_SIGNING_FAILED = 444,
  /**
   * E445: Google refused the service account's signed request (invalid_grant): the key was deleted or is not this account's, the printer's clock is wrong, or the mailbox is not a user of the Workspace domain.
   */
  MFP_OAUTH_STATUS_SERVICE_ACCOUNT_REFUSED = 445,
  /**
   * E446: The service account may not act for this mailbox: domain-wide delegation is not granted for its client id and the mail scope (unauthorized_client).
   */
  MFP_OAUTH_STATUS_DELEGATION_MISSING = 446,
  /**
   * E501: The administrator's authentication was cancelled: the token expired or was revoked.
   */
  MFP_OAUTH_STATUS_ADMIN_REAUTH_NEEDED = 501,
  /**
   * E502: The user's authentication was cancelled: the token expired or was revoked.
   */
  MFP_OAUTH_STATUS_USER_REAUTH_NEEDED = 502,
  /**
   * E503: A refresh token will soon expire, from inactivity or on the date the provider gave with it.
   */
  MFP_OAUTH_STATUS_REFRESH_TOKEN_EXPIRING = 503,
  /**
   * E504: No saved OAuth state was found (first start or erased storage).
   */
  MFP_OAUTH_STATUS_NV_EMPTY = 504,
  /**
   * E505: A saved OAuth state is damaged and was ignored.
   */
  MFP_OAUTH_STATUS_NV_CORRUPT = 505,
  /**
   * E506: The saved OAuth state comes from a newer firmware.
   */
  MFP_OAUTH_STATUS_NV_NEWER_FORMAT = 506,
  /**
   * E507: The saved tokens could not be decrypted with this device's key.
   */
  MFP_OAUTH_STATUS_NV_SEAL_OPEN_FAILED = 507,
  /**
   * E508: There is no free slot for another user's token.
   */
  MFP_OAUTH_STATUS_TOKEN_STORE_FULL = 508,
  /**
   * E509: No token is stored for this user.
   */
  MFP_OAUTH_STATUS_UNKNOWN_USER = 509,
  /**
   * E510: The saved OAuth state could not be read or written: a local storage fault (unreadable, oversized or misplaced file, full or read-only storage).
   */
  MFP_OAUTH_STATUS_STORAGE_FAULT = 510,
  /**
   * E511: The newest saved settings were damaged; the previous ones were restored.
   */
  MFP_OAUTH_STATUS_NV_PREVIOUS_RESTORED = 511,
  /**
   * E512: The OAuth state changed while its image was being written in pieces; that image is not complete and was not confirmed.
   */
  MFP_OAUTH_STATUS_NV_IMAGE_CHANGED = 512,
  /**
   * E513: The access token handed in from outside (by a print-management server) has expired, was set aside to make room for another account's long token, or was never handed in, and this account has no refresh token to renew it.
   */
  MFP_OAUTH_STATUS_HANDED_TOKEN_EXPIRED = 513,
  /**
   * E514: The saved OAuth state holds more users' tokens than there are user slots; it was not loaded.
   */
  MFP_OAUTH_STATUS_NV_TOO_MANY_USERS = 514,
  /**
   * E601: The server name could not be resolved.
   */
  MFP_OAUTH_STATUS_DNS_FAILED = 601,
  /**
   * E602: The connection to the server failed.
   */
  MFP_OAUTH_STATUS_CONNECT_FAILED = 602,
  /**
   * E603: The TLS handshake with the server failed.
   */
  MFP_OAUTH_STATUS_TLS_HANDSHAKE_FAILED = 603,
  /**
   * E604: The server's certificate could not be verified.
   */
  MFP_OAUTH_STATUS_CERTIFICATE_INVALID = 604,
  /**
   * E605: The network did not answer in time.
   */
  MFP_OAUTH_STATUS_NETWORK_TIMEOUT = 605,
  /**
   * E606: A network read or write failed.
   */
  MFP_OAUTH_STATUS_IO_ERROR = 606,
  /**
   * E607: The server's certificate has expired or is not valid yet.
   */
  MFP_OAUTH_STATUS_CERTIFICATE_EXPIRED = 607,
  /**
   * E608: The server's certificate was issued for another name than the server address set.
   */
  MFP_OAUTH_STATUS_CERTIFICATE_WRONG_NAME = 608,
  /**
   * E609: The server's certificate is not signed by a trusted authority (unknown or self-signed).
   */
  MFP_OAUTH_STATUS_CERTIFICATE_UNTRUSTED = 609,
  /**
   * E610: The server and the printer have no TLS version in common within the TLS minimum and maximum set.
   */
  MFP_OAUTH_STATUS_TLS_VERSION_MISMATCH = 610,
  /**
   * E701: The mail API rejected the access token (401).
   */
  MFP_OAUTH_STATUS_API_TOKEN_REJECTED = 701,
  /**
   * E702: The mail API denied sending: the token lacks the permission (403).
   */
  MFP_OAUTH_STATUS_API_ACCESS_DENIED = 702,
  /**
   * E703: The mail API refused the sender address: the account may not send as it (403).
   */
  MFP_OAUTH_STATUS_API_SEND_AS_DENIED = 703,
  /**
   * E704: The mailbox cannot be reached through the mail API (not found, not licensed, or not hosted online).
   */
  MFP_OAUTH_STATUS_API_MAILBOX_UNAVAILABLE = 704,
  /**
   * E705: The mail API is throttling this mailbox or app (429 or 503 with Retry-After).
   */
  MFP_OAUTH_STATUS_API_THROTTLED = 705,
  /**
   * E706: The message is larger than the mail API takes (Graph: 150 MB, at most 4 files of 1 MB or more, the text and the other files together under 3 MB; Gmail API: 35 MiB).
   */
  MFP_OAUTH_STATUS_API_MESSAGE_TOO_LARGE = 706,
  /**
   * E707: The mail API refused the message as malformed or without a valid recipient (400).
   */
  MFP_OAUTH_STATUS_API_MESSAGE_REFUSED = 707,
  /**
   * E708: Mail through the API is not enabled for this account or domain.
   */
  MFP_OAUTH_STATUS_API_SERVICE_DISABLED = 708,
  /**
   * E709: The mail API failed on its side (5xx) before it had the message.
   */
  MFP_OAUTH_STATUS_API_SERVER_ERROR = 709,
  /**
   * E710: The mail API answered with a status or body this printer does not expect.
   */
  MFP_OAUTH_STATUS_API_UNEXPECTED_RESPONSE = 710,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_status mfp_oauth_status;
#else
typedef uint32_t mfp_oauth_status;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Who has to act on a diagnostic (`mfp_oauth_actor`), from its hundreds.
 */
enum mfp_oauth_actor
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * 1xx: the firmware integrating the library (a call made wrongly).
   */
  MFP_OAUTH_ACTOR_FIRMWARE = 1,
  /**
   * 2xx: the printer's administrator (settings).
   */
  MFP_OAUTH_ACTOR_ADMINISTRATOR = 2,
  /**
   * 3xx: the mail server or the mailbox's account settings.
   */
  MFP_OAUTH_ACTOR_MAIL_SERVER = 3,
  /**
   * 4xx: the OAuth provider, the app registration or the user's consent.
   */
  MFP_OAUTH_ACTOR_PROVIDER = 4,
  /**
   * 5xx: the token store or the persisted image.
   */
  MFP_OAUTH_ACTOR_STORAGE = 5,
  /**
   * 6xx: the network path (DNS, TCP, TLS, proxy).
   */
  MFP_OAUTH_ACTOR_NETWORK = 6,
  /**
   * 7xx: the mail API (Microsoft Graph, the Gmail API) or the mailbox's
   * API permissions.
   */
  MFP_OAUTH_ACTOR_MAIL_API = 7,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_actor mfp_oauth_actor;
#else
typedef uint32_t mfp_oauth_actor;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Which NV slot (`mfp_oauth_nv_slot`).
 */
enum mfp_oauth_nv_slot
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Slot A.
   */
  MFP_OAUTH_NV_SLOT_A = 0,
  /**
   * Slot B.
   */
  MFP_OAUTH_NV_SLOT_B = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_nv_slot mfp_oauth_nv_slot;
#else
typedef uint32_t mfp_oauth_nv_slot;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What a slot holds (`mfp_oauth_nv_slot_state`).
 */
enum mfp_oauth_nv_slot_state
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Erased.
   */
  MFP_OAUTH_NV_SLOT_STATE_EMPTY = 0,
  /**
   * Damaged (a power cut during its write; nothing was lost).
   */
  MFP_OAUTH_NV_SLOT_STATE_CORRUPT = 1,
  /**
   * A good image.
   */
  MFP_OAUTH_NV_SLOT_STATE_VALID = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_nv_slot_state mfp_oauth_nv_slot_state;
#else
typedef uint32_t mfp_oauth_nv_slot_state;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What the firmware must do next (`mfp_oauth_plan_kind`).
 */
enum mfp_oauth_plan_kind
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * No job.
   */
  MFP_OAUTH_PLAN_KIND_IDLE = 0,
  /**
   * Show the OAuth screen: `user_id` (empty: the public user) signs in
   * as `account` with `method`; then `_auth_succeeded` / `_auth_failed`.
   */
  MFP_OAUTH_PLAN_KIND_NEED_USER_AUTH = 1,
  /**
   * The administrator must Acquire the token for `account` beforehand;
   * `_auth_succeeded` / `_auth_failed`.
   */
  MFP_OAUTH_PLAN_KIND_NEED_ADMIN_AUTH = 2,
  /**
   * Run a refresh grant: `mfp_oauth_mailer_start_refresh` with a token
   * client, then drain `mfp_oauth_mailer_poll_token_event` (or the
   * client's own events and `_exchange_succeeded` / `_exchange_failed`:
   * see `mfp_oauth_mailer_poll_token_event` for the rule).
   */
  MFP_OAUTH_PLAN_KIND_TOKEN_EXCHANGE = 3,
  /**
   * Connect to `host`:`port` (TLS first for implicit TLS), then
   * `_connected` / `_connect_failed`.
   */
  MFP_OAUTH_PLAN_KIND_CONNECT = 4,
  /**
   * The SMTP session runs: pump `mfp_oauth_mailer_smtp_*`, drain
   * `mfp_oauth_mailer_poll_event`, until a PLAN_CHANGED step. The SMTP
   * events MESSAGE_SENT, MESSAGE_FAILED and AUTH_REJECTED do not end
   * this plan: the result is known (the panel may show it), and the
   * mailer has queued QUIT. Keep pumping: send the QUIT
   * (`mfp_oauth_mailer_smtp_poll_transmit`), feed the server's reply or
   * its close, until the plan turns DONE or FAILED.
   */
  MFP_OAUTH_PLAN_KIND_SESSION = 5,
  /**
   * Sent (`reply_code`, `accepted`, `refused`). The session is over: its
   * QUIT went out and was answered (or the server closed, or did not
   * answer in time). Nothing is left to send (the
   * `mfp_oauth_mailer_smtp_*` calls now return `WRONG_STATE`): close the
   * connection.
   */
  MFP_OAUTH_PLAN_KIND_DONE = 6,
  /**
   * The job failed (`diag`). As after DONE, nothing is left to send:
   * close the connection if one is open.
   */
  MFP_OAUTH_PLAN_KIND_FAILED = 7,
  /**
   * A plan newer than this header.
   */
  MFP_OAUTH_PLAN_KIND_OTHER = 8,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_plan_kind mfp_oauth_plan_kind;
#else
typedef uint32_t mfp_oauth_plan_kind;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * How the person signs in (`mfp_oauth_auth_method`).
 */
enum mfp_oauth_auth_method
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Device code: show the code and URL (`_token_client_start_device`).
   */
  MFP_OAUTH_AUTH_METHOD_DEVICE_CODE = 0,
  /**
   * Browser with PKCE (`_token_client_start_auth_code`).
   */
  MFP_OAUTH_AUTH_METHOD_BROWSER_PKCE = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_auth_method mfp_oauth_auth_method;
#else
typedef uint32_t mfp_oauth_auth_method;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What a token-client event is (`mfp_oauth_token_event_kind`).
 */
enum mfp_oauth_token_event_kind
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * No event pending.
   */
  MFP_OAUTH_TOKEN_EVENT_KIND_NONE = 0,
  /**
   * Device flow: show `mfp_oauth_token_client_device_code` on the panel.
   */
  MFP_OAUTH_TOKEN_EVENT_KIND_USER_CODE = 1,
  /**
   * The provider asked to poll more slowly (`interval_ms`).
   */
  MFP_OAUTH_TOKEN_EVENT_KIND_SLOW_DOWN = 2,
  /**
   * A new refresh token arrived: the mailer will persist it.
   */
  MFP_OAUTH_TOKEN_EVENT_KIND_REFRESH_TOKEN_ROTATED = 3,
  /**
   * Success (`expires_at_ms`, 0 if unknown): hand the client to
   * `mfp_oauth_mailer_auth_succeeded` / `_exchange_succeeded`. Terminal.
   */
  MFP_OAUTH_TOKEN_EVENT_KIND_ACCESS_TOKEN = 4,
  /**
   * A transient failure (`diag`); retried at `at_ms`.
   */
  MFP_OAUTH_TOKEN_EVENT_KIND_RETRYING = 5,
  /**
   * The token endpoint refused the grant (`invalid_grant` and relatives,
   * `diag`). Terminal. After a refresh, hand it to the mailer
   * (`mfp_oauth_mailer_poll_token_event` or `_exchange_failed`): it
   * decides whether the token is dead (sign in again) or kept (consent,
   * Conditional Access: fix it at the provider).
   */
  MFP_OAUTH_TOKEN_EVENT_KIND_REAUTH_REQUIRED = 6,
  /**
   * The flow failed for good (`diag`). Terminal.
   */
  MFP_OAUTH_TOKEN_EVENT_KIND_FAILED = 7,
  /**
   * An event newer than this header.
   */
  MFP_OAUTH_TOKEN_EVENT_KIND_OTHER = 8,
  /**
   * An app-only grant waits for its assertion's signature (R-APP): read
   * the octets with `mfp_oauth_token_client_signing_input`, sign them
   * with the firmware's key and hand the signature to
   * `mfp_oauth_token_client_handle_signature` (or report
   * `mfp_oauth_token_client_signing_failed`). Nothing is sent before.
   */
  MFP_OAUTH_TOKEN_EVENT_KIND_SIGNATURE_REQUIRED = 9,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_token_event_kind mfp_oauth_token_event_kind;
#else
typedef uint32_t mfp_oauth_token_event_kind;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What a mailer step is (`mfp_oauth_step_kind`).
 */
enum mfp_oauth_step_kind
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Nothing pending.
   */
  MFP_OAUTH_STEP_KIND_NONE = 0,
  /**
   * An SMTP event (`smtp`): act on UPGRADE_TLS and READY_FOR_BODY; the
   * others are progress to show or log.
   */
  MFP_OAUTH_STEP_KIND_SMTP = 1,
  /**
   * The plan changed: read it with `mfp_oauth_mailer_plan`.
   */
  MFP_OAUTH_STEP_KIND_PLAN_CHANGED = 2,
  /**
   * Write a new image (`mfp_oauth_mailer_save_begin` and `_save_next`
   * through a flash page, or `mfp_oauth_mailer_save`); if `erase_other_slot`,
   * erase the other slot once it is written (no old refresh token stays
   * in flash).
   */
  MFP_OAUTH_STEP_KIND_PERSIST = 3,
  /**
   * R-TOK-4: show the warning on the Information screen: the
   * administrator's authentication was cancelled (`diag`).
   */
  MFP_OAUTH_STEP_KIND_ADMIN_REAUTH_NEEDED = 4,
  /**
   * User `user_id`'s token was rejected; they sign in at the next send.
   */
  MFP_OAUTH_STEP_KIND_USER_REAUTH_NEEDED = 5,
  /**
   * A refresh token expires in `days_left` days (`user_id` empty: the
   * administrator's).
   */
  MFP_OAUTH_STEP_KIND_REFRESH_TOKEN_EXPIRING = 6,
  /**
   * A step newer than this header.
   */
  MFP_OAUTH_STEP_KIND_OTHER = 7,
  /**
   * At power-on the newest image was damaged and the previous one was
   * loaded (`diag` NV_PREVIOUS_RESTORED): show the notice; the last change
   * saved before the power-on may be lost. A PERSIST step follows (the
   * new image goes over the damaged slot).
   */
  MFP_OAUTH_STEP_KIND_PREVIOUS_IMAGE_RESTORED = 8,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_step_kind mfp_oauth_step_kind;
#else
typedef uint32_t mfp_oauth_step_kind;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What an event is (`mfp_oauth_smtp_event_kind`).
 */
enum mfp_oauth_smtp_event_kind
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * No event pending.
   */
  MFP_OAUTH_SMTP_EVENT_KIND_NONE = 0,
  /**
   * Start TLS on the connection now, then call
   * `mfp_oauth_smtp_handle_tls_established`, or, if the handshake
   * fails, `mfp_oauth_smtp_handle_tls_failed` with the TLS stack's
   * reason; feed no more plaintext.
   */
  MFP_OAUTH_SMTP_EVENT_KIND_UPGRADE_TLS = 1,
  /**
   * AUTH is starting (`mechanism`, `initial_response`).
   */
  MFP_OAUTH_SMTP_EVENT_KIND_AUTHENTICATING = 2,
  /**
   * The server accepted the token (`mechanism`).
   */
  MFP_OAUTH_SMTP_EVENT_KIND_AUTHENTICATED = 3,
  /**
   * The server rejected the token (`reply_code`, `diag`). If
   * `refresh_and_retry`, refresh the access token and call
   * `mfp_oauth_smtp_retry_auth` once; otherwise quit.
   */
  MFP_OAUTH_SMTP_EVENT_KIND_AUTH_REJECTED = 4,
  /**
   * Authenticated and idle: send a message or quit.
   */
  MFP_OAUTH_SMTP_EVENT_KIND_READY = 5,
  /**
   * Recipient `index` was refused (`reply_code`, `diag`); the others go on.
   */
  MFP_OAUTH_SMTP_EVENT_KIND_RECIPIENT_REFUSED = 6,
  /**
   * Stream the body with `mfp_oauth_smtp_write_body`, then call
   * `mfp_oauth_smtp_finish_body`. In a mailer job whose transport is a
   * mail API it can come again (the request asked once more after
   * throttling or a refreshed token): stream the body again from its
   * first octet.
   */
  MFP_OAUTH_SMTP_EVENT_KIND_READY_FOR_BODY = 7,
  /**
   * The server took the message (`reply_code`, `accepted`, `refused`).
   */
  MFP_OAUTH_SMTP_EVENT_KIND_MESSAGE_SENT = 8,
  /**
   * The message was not sent (`diag`, `stage`, ...); the session goes on.
   */
  MFP_OAUTH_SMTP_EVENT_KIND_MESSAGE_FAILED = 9,
  /**
   * The session ended (after QUIT) or was abandoned: close the connection.
   */
  MFP_OAUTH_SMTP_EVENT_KIND_CLOSED = 10,
  /**
   * The session failed and is over (`diag`, `stage`, ...): close the
   * connection.
   */
  MFP_OAUTH_SMTP_EVENT_KIND_FAILED = 11,
  /**
   * An event newer than this header; treat it as informational.
   */
  MFP_OAUTH_SMTP_EVENT_KIND_OTHER = 12,
  /**
   * AUTH is next and no token was lent: call `mfp_oauth_smtp_set_token`
   * (the session waits, its timer stopped).
   */
  MFP_OAUTH_SMTP_EVENT_KIND_NEED_TOKEN = 13,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_smtp_event_kind mfp_oauth_smtp_event_kind;
#else
typedef uint32_t mfp_oauth_smtp_event_kind;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * The step of the session a failure belongs to (`mfp_oauth_smtp_stage`).
 */
enum mfp_oauth_smtp_stage
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Not applicable.
   */
  MFP_OAUTH_SMTP_STAGE_NONE = 0,
  /**
   * Waiting for the `220` greeting.
   */
  MFP_OAUTH_SMTP_STAGE_GREETING = 1,
  /**
   * EHLO.
   */
  MFP_OAUTH_SMTP_STAGE_EHLO = 2,
  /**
   * STARTTLS and the TLS handshake.
   */
  MFP_OAUTH_SMTP_STAGE_STARTTLS = 3,
  /**
   * AUTH.
   */
  MFP_OAUTH_SMTP_STAGE_AUTH = 4,
  /**
   * MAIL FROM.
   */
  MFP_OAUTH_SMTP_STAGE_MAIL = 5,
  /**
   * RCPT TO.
   */
  MFP_OAUTH_SMTP_STAGE_RCPT = 6,
  /**
   * DATA, up to the `354`.
   */
  MFP_OAUTH_SMTP_STAGE_DATA = 7,
  /**
   * The body and the reply to its final `.`.
   */
  MFP_OAUTH_SMTP_STAGE_DATA_END = 8,
  /**
   * RSET after a failed transaction.
   */
  MFP_OAUTH_SMTP_STAGE_RSET = 9,
  /**
   * QUIT.
   */
  MFP_OAUTH_SMTP_STAGE_QUIT = 10,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_smtp_stage mfp_oauth_smtp_stage;
#else
typedef uint32_t mfp_oauth_smtp_stage;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * A SASL mechanism (`mfp_oauth_mechanism`): the preference in settings,
 * the mechanism chosen in events.
 */
enum mfp_oauth_mechanism
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * XOAUTH2 (Microsoft 365, Gmail). As a preference: OAUTHBEARER only
   * when it is the sole one offered.
   */
  MFP_OAUTH_MECHANISM_XOAUTH2 = 0,
  /**
   * OAUTHBEARER (RFC 7628). As a preference: used when offered.
   */
  MFP_OAUTH_MECHANISM_OAUTHBEARER = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_mechanism mfp_oauth_mechanism;
#else
typedef uint32_t mfp_oauth_mechanism;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * A refresh-token status (`mfp_oauth_token_status`), as the panel shows it.
 */
enum mfp_oauth_token_status
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * "Required": no refresh token.
   */
  MFP_OAUTH_TOKEN_STATUS_REQUIRED = 0,
  /**
   * "Acquired".
   */
  MFP_OAUTH_TOKEN_STATUS_ACQUIRED = 1,
  /**
   * Rejected by the provider: authenticate again.
   */
  MFP_OAUTH_TOKEN_STATUS_REAUTH_NEEDED = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_token_status mfp_oauth_token_status;
#else
typedef uint32_t mfp_oauth_token_status;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What `mfp_oauth_mime_poll_output` did (`mfp_oauth_mime_output_kind`).
 */
enum mfp_oauth_mime_output_kind
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * `written` octets of the message are at the start of `out`: send them.
   */
  MFP_OAUTH_MIME_OUTPUT_KIND_WROTE = 1,
  /**
   * Attachment `part` (counted from 0) needs its next octets: read at
   * most `max` octets of that file and pass them to
   * `mfp_oauth_mime_handle_input`; at the end of the file pass 0 octets.
   */
  MFP_OAUTH_MIME_OUTPUT_KIND_NEED_INPUT = 2,
  /**
   * The message is complete.
   */
  MFP_OAUTH_MIME_OUTPUT_KIND_DONE = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_mime_output_kind mfp_oauth_mime_output_kind;
#else
typedef uint32_t mfp_oauth_mime_output_kind;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Which request a transmit carries (`mfp_oauth_request_kind`).
 */
enum mfp_oauth_request_kind
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Device authorization request.
   */
  MFP_OAUTH_REQUEST_KIND_DEVICE_AUTHORIZATION = 0,
  /**
   * One device token poll.
   */
  MFP_OAUTH_REQUEST_KIND_DEVICE_TOKEN = 1,
  /**
   * Authorization code exchange.
   */
  MFP_OAUTH_REQUEST_KIND_CODE_EXCHANGE = 2,
  /**
   * Refresh grant.
   */
  MFP_OAUTH_REQUEST_KIND_REFRESH = 3,
  /**
   * A request newer than this header.
   */
  MFP_OAUTH_REQUEST_KIND_OTHER = 4,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_request_kind mfp_oauth_request_kind;
#else
typedef uint32_t mfp_oauth_request_kind;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Language of the message catalogue (`mfp_oauth_lang`). Functions take it as
 * a `uint32_t`; any other value is `MFP_OAUTH_STATUS_INVALID_ARGUMENT`.
 */
enum mfp_oauth_lang
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * English.
   */
  MFP_OAUTH_LANG_EN = 0,
  /**
   * French (the printer manual's language).
   */
  MFP_OAUTH_LANG_FR = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_lang mfp_oauth_lang;
#else
typedef uint32_t mfp_oauth_lang;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * How the connection is secured (`mfp_oauth_smtp_security`).
 */
enum mfp_oauth_smtp_security
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Plain TCP upgraded with STARTTLS before anything secret (port 587).
   */
  MFP_OAUTH_SMTP_SECURITY_STARTTLS = 0,
  /**
   * TLS from the first octet (port 465): connect with TLS, then create.
   */
  MFP_OAUTH_SMTP_SECURITY_IMPLICIT_TLS = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_smtp_security mfp_oauth_smtp_security;
#else
typedef uint32_t mfp_oauth_smtp_security;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * The OAuth provider (`mfp_oauth_provider`).
 */
enum mfp_oauth_provider
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Microsoft 365 / Exchange Online (the default).
   */
  MFP_OAUTH_PROVIDER_MICROSOFT = 0,
  /**
   * Google Workspace / Gmail.
   */
  MFP_OAUTH_PROVIDER_GOOGLE = 1,
  /**
   * Any other standards-compliant provider, with the `custom_*` endpoints.
   */
  MFP_OAUTH_PROVIDER_CUSTOM = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_provider mfp_oauth_provider;
#else
typedef uint32_t mfp_oauth_provider;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * The Microsoft cloud (`mfp_oauth_microsoft_cloud`).
 */
enum mfp_oauth_microsoft_cloud
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Worldwide (the default).
   */
  MFP_OAUTH_MICROSOFT_CLOUD_GLOBAL = 0,
  /**
   * US Government GCC High.
   */
  MFP_OAUTH_MICROSOFT_CLOUD_US_GOV_GCC_HIGH = 1,
  /**
   * US Government DoD.
   */
  MFP_OAUTH_MICROSOFT_CLOUD_US_GOV_DOD = 2,
  /**
   * China, operated by 21Vianet.
   */
  MFP_OAUTH_MICROSOFT_CLOUD_CHINA = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_microsoft_cloud mfp_oauth_microsoft_cloud;
#else
typedef uint32_t mfp_oauth_microsoft_cloud;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Sender address change (`mfp_oauth_sender_mode`).
 */
enum mfp_oauth_sender_mode
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * The logged-in user's address; the user's token.
   */
  MFP_OAUTH_SENDER_MODE_LOGIN_USER_ADDRESS = 0,
  /**
   * The address the user enters; the user's token for that address.
   */
  MFP_OAUTH_SENDER_MODE_ALLOW_USER_CHANGES = 1,
  /**
   * The administrator's address and token (the shipping default).
   */
  MFP_OAUTH_SENDER_MODE_ADMIN_FIXED_ADDRESS = 2,
  /**
   * The bulk-setting address (= the administrator's); the administrator's token.
   */
  MFP_OAUTH_SENDER_MODE_BULK_SETTING = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_sender_mode mfp_oauth_sender_mode;
#else
typedef uint32_t mfp_oauth_sender_mode;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * An SSL/TLS version (`mfp_oauth_tls_version`).
 */
enum mfp_oauth_tls_version
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * TLS 1.0.
   */
  MFP_OAUTH_TLS_VERSION_TLS10 = 0,
  /**
   * TLS 1.1.
   */
  MFP_OAUTH_TLS_VERSION_TLS11 = 1,
  /**
   * TLS 1.2.
   */
  MFP_OAUTH_TLS_VERSION_TLS12 = 2,
  /**
   * TLS 1.3.
   */
  MFP_OAUTH_TLS_VERSION_TLS13 = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_tls_version mfp_oauth_tls_version;
#else
typedef uint32_t mfp_oauth_tls_version;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * The WebDAV client's HTTP version (`mfp_oauth_webdav_http`).
 */
enum mfp_oauth_webdav_http
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * HTTP/1.1 only (the device default).
   */
  MFP_OAUTH_WEBDAV_HTTP_HTTP11 = 0,
  /**
   * "HTTP/2,HTTP/1.1" (Google needs it, R-RULE-3).
   */
  MFP_OAUTH_WEBDAV_HTTP_HTTP2_HTTP11 = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_webdav_http mfp_oauth_webdav_http;
#else
typedef uint32_t mfp_oauth_webdav_http;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * How the administrator's token is obtained (`mfp_oauth_admin_sign_in`).
 */
enum mfp_oauth_admin_sign_in
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * A person signs in as the administrator's mailbox (device code or browser); the refresh token is kept (the default).
   */
  MFP_OAUTH_ADMIN_SIGN_IN_DELEGATED = 0,
  /**
   * Microsoft app-only: client credentials with a certificate assertion the firmware signs; no refresh token.
   */
  MFP_OAUTH_ADMIN_SIGN_IN_APP_CERTIFICATE = 1,
  /**
   * Google Workspace service account (JWT bearer grant for the administrator's mailbox), signed by the firmware.
   */
  MFP_OAUTH_ADMIN_SIGN_IN_SERVICE_ACCOUNT = 2,
  /**
   * App-only with the app registration's client secret (sealed in the image); a certificate is the better choice where the provider takes one.
   */
  MFP_OAUTH_ADMIN_SIGN_IN_APP_SECRET = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_admin_sign_in mfp_oauth_admin_sign_in;
#else
typedef uint32_t mfp_oauth_admin_sign_in;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * How a job's message reaches the provider (`mfp_oauth_transport`).
 */
enum mfp_oauth_transport
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * SMTP submission with XOAUTH2 / OAUTHBEARER (the default).
   */
  MFP_OAUTH_TRANSPORT_SMTP = 0,
  /**
   * Microsoft Graph sendMail over HTTPS (permission Mail.Send); no SMTP AUTH needed.
   */
  MFP_OAUTH_TRANSPORT_GRAPH = 1,
  /**
   * The Gmail API's messages.send upload over HTTPS (scope gmail.send; browser sign-in or service account).
   */
  MFP_OAUTH_TRANSPORT_GMAIL_API = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_transport mfp_oauth_transport;
#else
typedef uint32_t mfp_oauth_transport;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * The function sending a job (`mfp_oauth_function`), R-FN.
 */
enum mfp_oauth_function
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Scan to E-mail (user function).
   */
  MFP_OAUTH_FUNCTION_SCAN_TO_EMAIL = 1,
  /**
   * Scan to Me.
   */
  MFP_OAUTH_FUNCTION_SCAN_TO_ME = 2,
  /**
   * Scan to URL.
   */
  MFP_OAUTH_FUNCTION_SCAN_TO_URL = 3,
  /**
   * Internet Fax transmission.
   */
  MFP_OAUTH_FUNCTION_INTERNET_FAX = 4,
  /**
   * E-mail from a User Box.
   */
  MFP_OAUTH_FUNCTION_EMAIL_FROM_USER_BOX = 5,
  /**
   * E-mail from an OpenAPI/IWS application.
   */
  MFP_OAUTH_FUNCTION_EMAIL_FROM_OPEN_API = 6,
  /**
   * E-mail notification (administrator function).
   */
  MFP_OAUTH_FUNCTION_EMAIL_NOTIFICATION = 7,
  /**
   * Total counter notification.
   */
  MFP_OAUTH_FUNCTION_TOTAL_COUNTER_NOTIFICATION = 8,
  /**
   * Forward transmission.
   */
  MFP_OAUTH_FUNCTION_FORWARD_TRANSMISSION = 9,
  /**
   * TSI routing.
   */
  MFP_OAUTH_FUNCTION_TSI_ROUTING = 10,
  /**
   * Status notification.
   */
  MFP_OAUTH_FUNCTION_STATUS_NOTIFICATION = 11,
  /**
   * Transmission result report.
   */
  MFP_OAUTH_FUNCTION_TRANSMISSION_RESULT_REPORT = 12,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum mfp_oauth_function mfp_oauth_function;
#else
typedef uint32_t mfp_oauth_function;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Storage for the mailer (`mfp_oauth_mailer`), allocated by the caller,
 * usually static. It holds the settings, the administrator's refresh
 * token (the users' are in the `mfp_oauth_user_slot`s lent with it), the
 * cached access tokens, and the running SMTP session; destroy wipes them.
 */
typedef struct {
  uint64_t _opaque[MFP_OAUTH_MAILER_WORDS];
} mfp_oauth_mailer;

/**
 * Storage for one user's token slot, lent by the firmware with the mailer
 * (`mfp_oauth_mailer_create`, `_load`, `_load_from`): an array of one per
 * user the printer keeps signed in at once, at most
 * `MFP_OAUTH_MAX_USER_SLOTS`, usually static. The mailer empties them
 * when it is created, keeps the users' refresh tokens there, and wipes
 * them when it is destroyed; until then the firmware must not read,
 * write or lend them to another mailer.
 */
typedef struct {
  uint64_t _opaque[MFP_OAUTH_USER_SLOT_WORDS];
} mfp_oauth_user_slot;

/**
 * A borrowed string: `len` octets of UTF-8 at `ptr` (`mfp_oauth_str`).
 */
typedef struct {
  /**
   * The first octet.
   */
  const char *ptr;
  /**
   * Octets.
   */
  size_t len;
} mfp_oauth_str;

/**
 * The printer's OAuth settings (`mfp_oauth_settings`). Start from
 * `mfp_oauth_settings_init` (the manual's defaults), then set fields.
 * Strings are `mfp_oauth_str` (UTF-8, no NUL needed); `{NULL, 0}` means
 * empty or not set. Everything is copied by the calls that take it.
 *
 * The settings round-trip: `mfp_oauth_mailer_settings`, change one
 * field, `mfp_oauth_mailer_apply_settings` keeps every other setting,
 * the "Send As" list and the proxy password included (the password is
 * never read back: `mfp_oauth_mailer_settings` sets `proxy_password_keep` instead).
 *
 * Its fields follow the core's settings schema, in its order.
 */
typedef struct {
  /**
   * [OAuth 2.0] on/off. Default: off.
   */
  bool oauth_enabled;
  /**
   * The administrator's e-mail address (a Microsoft or Google account).
   * Default: none.
   * Empty: none.
   */
  mfp_oauth_str admin_address;
  /**
   * [Fournisseur OAuth 2.0]. Default: Microsoft.
   * An `mfp_oauth_provider`.
   */
  uint32_t provider;
  /**
   * The Microsoft cloud (worldwide, US Government, China). Default:
   * worldwide.
   * An `mfp_oauth_microsoft_cloud`.
   */
  uint32_t microsoft_cloud;
  /**
   * The Microsoft tenant (`organizations`, `common`, `consumers`, a
   * domain or a tenant id). Default: `organizations`.
   * At most 64 octets; empty: the default.
   */
  mfp_oauth_str tenant;
  /**
   * The app registration's client id; empty means the vendor's built-in
   * one (Microsoft, Google). A custom provider needs one.
   * At most 256 octets; empty: the default.
   */
  mfp_oauth_str client_id;
  /**
   * Custom provider: token endpoint URL.
   */
  mfp_oauth_str custom_token_url;
  /**
   * Custom provider: device authorization endpoint URL, empty if none.
   */
  mfp_oauth_str custom_device_url;
  /**
   * Custom provider: authorization endpoint URL, empty if none.
   */
  mfp_oauth_str custom_authorize_url;
  /**
   * Custom provider: space-separated scopes.
   */
  mfp_oauth_str custom_scope;
  /**
   * SMTP server host; empty: not set.
   */
  mfp_oauth_str smtp_host;
  /**
   * SMTP server port (default 587).
   */
  uint16_t smtp_port;
  /**
   * An `mfp_oauth_smtp_security` (default STARTTLS).
   */
  uint32_t smtp_security;
  /**
   * [Changement de l'adresse de l'expéditeur]. Default: the
   * administrator's fixed address.
   * An `mfp_oauth_sender_mode`.
   */
  uint32_t sender_mode;
  /**
   * The bulk-setting sender address. Default: none.
   * Empty: none.
   */
  mfp_oauth_str bulk_address;
  /**
   * From addresses allowed besides the signing account ("Send As"): the
   * first `send_as_count` entries (`mfp_oauth_mailer_settings` fills them too).
   */
  mfp_oauth_str send_as[MFP_OAUTH_MAX_SEND_AS];
  /**
   * Entries in use in `send_as` (0 to `MFP_OAUTH_MAX_SEND_AS`).
   */
  size_t send_as_count;
  /**
   * Proxy host for the token traffic; empty: no proxy.
   */
  mfp_oauth_str proxy_host;
  /**
   * Proxy port.
   */
  uint16_t proxy_port;
  /**
   * Proxy user name; empty: no credentials.
   */
  mfp_oauth_str proxy_user;
  /**
   * Proxy password (a secret: copied into a wiped buffer); never read
   * back. A non-empty password always replaces the one in force.
   */
  mfp_oauth_str proxy_password;
  /**
   * With `proxy_password` empty: true keeps the proxy password in force,
   * false removes it. `mfp_oauth_mailer_settings` sets it, so that
   * applying its result keeps the password; `mfp_oauth_settings_init`
   * clears it. The password is kept only for the same proxy host and
   * user: with either changed, `mfp_oauth_mailer_apply_settings` returns
   * `MFP_OAUTH_STATUS_INVALID_ARGUMENT` (a password never follows the
   * settings to another proxy: enter it again, or clear the flag to go
   * without). Where no password is in force (`mfp_oauth_mailer_create`,
   * `mfp_oauth_settings_validate`) it means no password.
   */
  bool proxy_password_keep;
  /**
   * The minimum SSL/TLS version. Default: TLS 1.2.
   * An `mfp_oauth_tls_version`.
   */
  uint32_t tls_min;
  /**
   * The maximum SSL/TLS version. Default: TLS 1.3.
   * An `mfp_oauth_tls_version`.
   */
  uint32_t tls_max;
  /**
   * The WebDAV client's HTTP version. Default: HTTP/1.1.
   * An `mfp_oauth_webdav_http`.
   */
  uint32_t webdav_http;
  /**
   * Network 2 with VLAN. Default: off.
   */
  bool vlan_on_network2;
  /**
   * [Suppression automatique] of user tokens at logout and system
   * auto-reset. Default: off.
   */
  bool auto_delete_user_tokens;
  /**
   * The Google app is in "Testing" publishing status: its refresh tokens
   * die after 7 days, and the administrator is warned ahead.
   */
  bool google_app_testing;
  /**
   * How long before an access token expires it is renewed, in seconds
   * (R-APP): 600 by default, from 60 to 1800. Microsoft's High Volume
   * Email refuses a token with less than 600 s left (`501 5.5.127`). A
   * token that lives less than twice the margin is renewed at half its
   * life. Applies to the tokens stored after a change.
   * From 60 to 1800; out of that range the settings' rule refuses it.
   */
  uint32_t refresh_margin_s;
  /**
   * How the administrator's token is obtained (R-APP): delegated (a
   * person signs in), Microsoft app-only with a certificate, or a Google
   * service account. App-only needs a sender mode that uses the
   * administrator's token, and sends as the administrator's address and
   * the send-as list only. Default: delegated.
   * An `mfp_oauth_admin_sign_in`.
   */
  uint32_t admin_sign_in;
  /**
   * The SHA-256 thumbprint of the certificate uploaded to the app
   * registration, for Microsoft app-only: 64 hexadecimal digits (pairs
   * may be separated by `:`) or base64. The private key stays in the
   * firmware, which signs. Default: none.
   * At most 95 octets; empty: the default.
   */
  mfp_oauth_str app_certificate_thumbprint;
  /**
   * The Google service account's address (its key file's
   * `client_email`), for a service-account sign-in. Default: none.
   * Empty: none.
   */
  mfp_oauth_str service_account;
  /**
   * The app registration's client secret, for app-only with a secret (a
   * secret: copied into a wiped buffer, sealed in the image); never read
   * back. A non-empty secret always replaces the one in force.
   */
  mfp_oauth_str app_client_secret;
  /**
   * With `app_client_secret` empty: true keeps the client secret in force,
   * false removes it (as `proxy_password_keep`). `mfp_oauth_mailer_settings`
   * sets it, so that applying its result keeps the secret.
   */
  bool app_client_secret_keep;
  /**
   * How jobs send (R-XPORT): SMTP, Microsoft Graph or the Gmail API.
   * The API transports need no SMTP server and no SMTP AUTH; they ask
   * the provider for the API's scope instead of the SMTP one, so the
   * tokens held are asked for again after a change. Default: SMTP.
   * An `mfp_oauth_transport`.
   */
  uint32_t transport;
  /**
   * The mail API's base URL, replacing the provider's (Graph:
   * `https://graph.microsoft.com`, Gmail: `https://gmail.googleapis.com`):
   * a gateway, a national cloud's Graph host, a test server. A custom
   * provider with an API transport needs one. Default: none.
   * At most 256 octets; empty: the default.
   */
  mfp_oauth_str api_url;
} mfp_oauth_settings;

/**
 * The outcome of `mfp_oauth_mailer_load` (`mfp_oauth_nv_report`).
 */
typedef struct {
  /**
   * The slot loaded.
   */
  mfp_oauth_nv_slot slot;
  /**
   * Its sequence number.
   */
  uint32_t sequence;
  /**
   * What the other slot holds.
   */
  mfp_oauth_nv_slot_state other;
} mfp_oauth_nv_report;

/**
 * Reads the NV slots for `mfp_oauth_mailer_load_from`
 * (`mfp_oauth_slot_reader`): the firmware's flash driver, for slots that
 * are not memory-mapped.
 */
typedef struct {
  /**
   * Reads `len` octets of slot `slot` (0 = A, 1 = B) from `offset` into
   * `out`; returns 0 on success, anything else for a read fault (the
   * load then fails with `MFP_OAUTH_STATUS_STORAGE_FAULT`). Called only
   * within the slot's length, with `len` at most the scratch's length,
   * a refresh token's or 64.
   */
  int32_t (*read)(void *ctx, uint32_t slot, size_t offset, uint8_t *out, size_t len);
  /**
   * Passed to `read` as it is.
   */
  void *ctx;
  /**
   * Octets of slot A that may be read (its size in flash; 0 for none).
   */
  size_t slot_a_len;
  /**
   * Octets of slot B that may be read.
   */
  size_t slot_b_len;
} mfp_oauth_slot_reader;

/**
 * Storage for one token-endpoint client (`mfp_oauth_token_client`),
 * allocated by the caller. It holds the tokens of the last exchange until
 * the next flow starts or it is destroyed (which wipes them).
 */
typedef struct {
  uint64_t _opaque[MFP_OAUTH_TOKEN_CLIENT_WORDS];
} mfp_oauth_token_client;

/**
 * The plan (`mfp_oauth_plan`); fields that do not apply are zero or empty.
 */
typedef struct {
  /**
   * What to do.
   */
  mfp_oauth_plan_kind kind;
  /**
   * FAILED: the diagnostic (also a status).
   */
  uint32_t diag;
  /**
   * NEED_*_AUTH: how to sign in.
   */
  mfp_oauth_auth_method method;
  /**
   * NEED_USER_AUTH: the user's login name (empty: public user), NUL-terminated.
   */
  char user_id[MFP_OAUTH_USER_ID_BUF_LEN];
  /**
   * NEED_*_AUTH: the account to sign in as, NUL-terminated.
   */
  char account[MFP_OAUTH_ADDRESS_BUF_LEN];
  /**
   * CONNECT: the SMTP server, NUL-terminated.
   */
  char host[MFP_OAUTH_HOST_BUF_LEN];
  /**
   * CONNECT: its port.
   */
  uint16_t port;
  /**
   * CONNECT: an `mfp_oauth_smtp_security`.
   */
  uint32_t security;
  /**
   * DONE: the server's reply code.
   */
  uint32_t reply_code;
  /**
   * DONE: recipients accepted.
   */
  size_t accepted;
  /**
   * DONE: recipients refused.
   */
  size_t refused;
  /**
   * While a job runs (every plan from the submit's first one up to
   * SESSION): the From address the sender policy chose, NUL-terminated.
   * The server gets it in MAIL FROM; write the same address in the
   * message's From header. Empty in IDLE, DONE and FAILED.
   */
  char from[MFP_OAUTH_ADDRESS_BUF_LEN];
} mfp_oauth_plan;

/**
 * One token-client event (`mfp_oauth_token_event`).
 */
typedef struct {
  /**
   * What happened.
   */
  mfp_oauth_token_event_kind kind;
  /**
   * RETRYING, REAUTH_REQUIRED, FAILED: the diagnostic.
   */
  uint32_t diag;
  /**
   * SLOW_DOWN: the new polling interval.
   */
  uint64_t interval_ms;
  /**
   * RETRYING: when the next attempt is due.
   */
  uint64_t at_ms;
  /**
   * ACCESS_TOKEN: when the access token expires (0: not said).
   */
  uint64_t expires_at_ms;
} mfp_oauth_token_event;

/**
 * A job (`mfp_oauth_job`). Strings are `mfp_oauth_str`; `{NULL, 0}` means
 * not given.
 */
typedef struct {
  /**
   * An `mfp_oauth_function` (1 = Scan to E-mail ... 12).
   */
  uint32_t function;
  /**
   * The logged-in user's login name; empty: the public user.
   */
  mfp_oauth_str user_id;
  /**
   * The logged-in user's registered address, if any.
   */
  mfp_oauth_str user_address;
  /**
   * The From address entered or set by the application; empty: the
   * mode's default.
   */
  mfp_oauth_str from;
  /**
   * Recipients (1 to 16, their addresses at most 1,280 octets together:
   * past either bound `mfp_oauth_mailer_submit` returns
   * `CAPACITY_EXCEEDED`).
   */
  const mfp_oauth_str *to;
  /**
   * Entries at `to`.
   */
  size_t to_count;
  /**
   * The message's size in octets, 0 if unknown.
   */
  uint64_t size;
} mfp_oauth_job;

/**
 * Storage where `mfp_oauth_mailer_apply_settings` converts and checks
 * the new settings before they replace the ones in force (R-MEM: the
 * mailer keeps no second copy of the settings for the time of a call).
 * It holds nothing between calls: the call zeroes it when it returns, the
 * refused settings and any proxy password with it. So it may share its
 * memory with storage that is idle whenever settings are applied, for
 * example in a union with the `mfp_oauth_token_client`, which is free
 * outside a token exchange:
 *
 * ```c
 * static union {
 *   mfp_oauth_token_client tokens;   // during a sign-in or a refresh
 *   mfp_oauth_settings_draft draft;  // during apply_settings
 * } shared;
 * ```
 *
 * Storage that holds a live library object (a token client that was
 * created and not destroyed, a mailer, ...) is refused with
 * `MFP_OAUTH_STATUS_WRONG_STATE`, untouched.
 */
typedef struct {
  uint64_t _opaque[MFP_OAUTH_SETTINGS_DRAFT_WORDS];
} mfp_oauth_settings_draft;

/**
 * One event of a session (`mfp_oauth_smtp_event`). Fields that do not
 * apply to `kind` are zero.
 */
typedef struct {
  /**
   * What happened.
   */
  mfp_oauth_smtp_event_kind kind;
  /**
   * The diagnostic number (also a `mfp_oauth_status`): AUTH_REJECTED,
   * RECIPIENT_REFUSED, MESSAGE_FAILED, FAILED.
   */
  uint32_t diag;
  /**
   * Where a failure happened, when known.
   */
  mfp_oauth_smtp_stage stage;
  /**
   * AUTHENTICATING, AUTHENTICATED: the mechanism.
   */
  mfp_oauth_mechanism mechanism;
  /**
   * The server's reply code (`535`), when the event has one.
   */
  uint32_t reply_code;
  /**
   * Enhanced status code class (`5` of `5.7.139`), 0 when absent.
   */
  uint32_t enhanced_class;
  /**
   * Enhanced status code subject (`7`).
   */
  uint32_t enhanced_subject;
  /**
   * Enhanced status code detail (`139`).
   */
  uint32_t enhanced_detail;
  /**
   * AUTHENTICATING: the token went on the AUTH line (one step).
   */
  bool initial_response;
  /**
   * AUTH_REJECTED: a refreshed token may succeed.
   */
  bool refresh_and_retry;
  /**
   * RECIPIENT_REFUSED: index of the recipient in the send call's array.
   */
  size_t index;
  /**
   * MESSAGE_SENT: recipients accepted.
   */
  size_t accepted;
  /**
   * MESSAGE_SENT: recipients refused.
   */
  size_t refused;
  /**
   * MESSAGE_FAILED / FAILED with E318: the message's size.
   */
  uint64_t size;
  /**
   * MESSAGE_FAILED / FAILED with E318: the server's SIZE limit.
   */
  uint64_t limit;
} mfp_oauth_smtp_event;

/**
 * One step (`mfp_oauth_step`).
 */
typedef struct {
  /**
   * What it is.
   */
  mfp_oauth_step_kind kind;
  /**
   * SMTP: the event.
   */
  mfp_oauth_smtp_event smtp;
  /**
   * PERSIST: erase the other slot after writing.
   */
  bool erase_other_slot;
  /**
   * The diagnostic to show, 0 if none.
   */
  uint32_t diag;
  /**
   * USER_REAUTH_NEEDED, REFRESH_TOKEN_EXPIRING: the user, NUL-terminated.
   */
  char user_id[MFP_OAUTH_USER_ID_BUF_LEN];
  /**
   * REFRESH_TOKEN_EXPIRING: whole days left.
   */
  uint32_t days_left;
} mfp_oauth_step;

/**
 * One user who holds tokens (`mfp_oauth_user_token`), for the panel's
 * token list (R-TOK-5).
 */
typedef struct {
  /**
   * The login name, NUL-terminated.
   */
  char user_id[MFP_OAUTH_USER_ID_BUF_LEN];
  /**
   * The account the token was acquired for, NUL-terminated (empty if none).
   */
  char account[MFP_OAUTH_ADDRESS_BUF_LEN];
  /**
   * Its status.
   */
  mfp_oauth_token_status status;
  /**
   * The provider named `account` as the one that signed in (its
   * `id_token`, R-ACCT); false: the configured address was assumed
   * (show it as unverified).
   */
  bool account_verified;
  /**
   * When the refresh token is expected to die, in wall-clock seconds
   * since 1970-01-01 UTC: the earlier of the provider's rule (90 days
   * unused at Microsoft, 180 at Google, 7 days for a Google app in
   * testing) and the date the provider gave with the token
   * (`refresh_token_expires_in`). 0 when unknown (no wall clock was
   * given at sign-in, or no token). The panel shows it; the notice comes
   * from `mfp_oauth_mailer_check_expiry`.
   */
  uint64_t refresh_expires_at;
} mfp_oauth_user_token;

/**
 * Storage for one message composer (`mfp_oauth_mime`), allocated by the
 * caller: static, on a task's stack, or inside the caller's own structs.
 * Its contents are private. It holds no secret and nothing to release:
 * `mfp_oauth_mime_destroy` only marks it unused.
 */
typedef struct {
  uint64_t _opaque[MFP_OAUTH_MIME_WORDS];
} mfp_oauth_mime;

/**
 * One attached file (`mfp_oauth_mime_attachment`).
 */
typedef struct {
  /**
   * File name shown to the recipient (UTF-8, 1 to 255 octets; non-ASCII
   * names are encoded as RFC 2231 asks).
   */
  mfp_oauth_str name;
  /**
   * MIME type such as "application/pdf"; length 0 for the type by the
   * name's extension (pdf, jpg, jpeg, png, tif, tiff, xps, oxps, docx,
   * xlsx, pptx, txt; others are application/octet-stream).
   */
  mfp_oauth_str content_type;
  /**
   * The file's exact length in octets: what the caller will push.
   */
  uint64_t len;
} mfp_oauth_mime_attachment;

/**
 * What the message says (`mfp_oauth_mime_message`). Every string is
 * `len` octets of UTF-8 at `ptr` (no NUL needed; `ptr` may be NULL when
 * `len` is 0).
 */
typedef struct {
  /**
   * The From address (`local@domain`); its domain is the Message-ID's.
   */
  mfp_oauth_str from;
  /**
   * The To addresses: `to_count` entries (0 to 16; NULL when 0).
   */
  const mfp_oauth_str *to;
  /**
   * Entries of `to`.
   */
  size_t to_count;
  /**
   * The subject (any UTF-8, at most 998 octets).
   */
  mfp_oauth_str subject;
  /**
   * The text part (any UTF-8; line ends become CRLF). A NULL `ptr` means
   * no text part (a message without files always has one).
   */
  mfp_oauth_str text;
  /**
   * The files: `attachment_count` entries (0 to 32; NULL when 0).
   */
  const mfp_oauth_mime_attachment *attachments;
  /**
   * Entries of `attachments`.
   */
  size_t attachment_count;
  /**
   * Local part of the Message-ID (before the @), for example the job's
   * number; length 0 for 24 hex digits from the random octets.
   */
  mfp_oauth_str message_id_local;
} mfp_oauth_mime_message;

/**
 * The result of `mfp_oauth_mime_poll_output` (`mfp_oauth_mime_output`).
 */
typedef struct {
  /**
   * What happened.
   */
  mfp_oauth_mime_output_kind kind;
  /**
   * `WROTE`: octets written to `out`; otherwise 0.
   */
  size_t written;
  /**
   * `NEED_INPUT`: the attachment's index; otherwise 0.
   */
  size_t part;
  /**
   * `NEED_INPUT`: the most octets `mfp_oauth_mime_handle_input` takes
   * now (at most `MFP_OAUTH_MIME_INPUT_BUF_LEN`); otherwise 0.
   */
  size_t max;
} mfp_oauth_mime_output;

/**
 * Reply deadlines in milliseconds (`mfp_oauth_smtp_timeouts`);
 * `mfp_oauth_smtp_settings_init` fills RFC 5321's values.
 */
typedef struct {
  /**
   * The `220` greeting (default 5 minutes).
   */
  uint64_t greeting_ms;
  /**
   * EHLO, STARTTLS, AUTH, RSET and QUIT replies (5 minutes).
   */
  uint64_t command_ms;
  /**
   * MAIL FROM reply (5 minutes).
   */
  uint64_t mail_ms;
  /**
   * Each RCPT TO reply (5 minutes).
   */
  uint64_t rcpt_ms;
  /**
   * The `354` to DATA (2 minutes).
   */
  uint64_t data_init_ms;
  /**
   * The reply after the final `.` (10 minutes).
   */
  uint64_t data_end_ms;
} mfp_oauth_smtp_timeouts;

/**
 * Settings of a session (`mfp_oauth_smtp_settings`). Start from
 * `mfp_oauth_smtp_settings_init`, then set the names. The strings are
 * UTF-8 of the given length (no NUL needed) and are copied by
 * `mfp_oauth_smtp_create`: they need to live only during that call.
 */
typedef struct {
  /**
   * An `mfp_oauth_smtp_security` value.
   */
  uint32_t security;
  /**
   * An `mfp_oauth_mechanism` value: the preferred mechanism.
   */
  uint32_t mechanism;
  /**
   * The printer's host name (or an address literal `[192.0.2.7]`) for EHLO.
   */
  const char *ehlo_domain;
  /**
   * Octets at `ehlo_domain`.
   */
  size_t ehlo_domain_len;
  /**
   * The server's host name (sent in OAUTHBEARER).
   */
  const char *server_host;
  /**
   * Octets at `server_host`.
   */
  size_t server_host_len;
  /**
   * The server's port (sent in OAUTHBEARER).
   */
  uint16_t server_port;
  /**
   * Reply deadlines.
   */
  mfp_oauth_smtp_timeouts timeouts;
} mfp_oauth_smtp_settings;

/**
 * Storage for one SMTP session (`mfp_oauth_smtp`), allocated by the
 * caller: static, on a task's stack, or inside the caller's own structs.
 * Its contents are private; it holds the access token while the session
 * lives and is wiped by `mfp_oauth_smtp_destroy`.
 */
typedef struct {
  uint64_t _opaque[MFP_OAUTH_SMTP_WORDS];
} mfp_oauth_smtp;

/**
 * Session state flags (`mfp_oauth_smtp_state`).
 */
typedef struct {
  /**
   * TLS is established on the connection.
   */
  bool tls;
  /**
   * Authenticated and idle: a message can be sent now.
   */
  bool ready;
  /**
   * The session is over: close the connection, then destroy.
   */
  bool closed;
} mfp_oauth_smtp_state;

/**
 * Where a request goes (`mfp_oauth_endpoint`).
 */
typedef struct {
  /**
   * Host name, NUL-terminated.
   */
  char host[MFP_OAUTH_HOST_BUF_LEN];
  /**
   * TCP port.
   */
  uint16_t port;
  /**
   * Connect with TLS (always, for the built-in providers).
   */
  bool tls;
  /**
   * What the request is: an `mfp_oauth_request_kind`.
   */
  mfp_oauth_request_kind kind;
  /**
   * Octets of the request written by earlier calls: 0 for its first
   * piece (open a new connection), otherwise write this piece on the
   * connection opened for the first.
   */
  size_t offset;
  /**
   * The request is complete with this piece: read the answer. When
   * false, call `mfp_oauth_token_client_poll_transmit` again for the
   * next piece.
   */
  bool last;
} mfp_oauth_endpoint;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The library's version, `"0.1.0"` (a static NUL-terminated string).
 *
 * The returned pointer is valid for the whole program and must not be
 * freed. Safe to call from any context.
 */
const char *mfp_oauth_version(void);

/**
 * Writes what went wrong for diagnostic `diag_id` (a diagnostic number such
 * as 305, or any `mfp_oauth_status`: 0, `NULL_PARAMETER` (1) and
 * `UNLISTED` (2) have texts too), in language `lang` (`mfp_oauth_lang`),
 * as a NUL-terminated UTF-8 string into `buf`.
 *
 * On success `*out_len` is the text's length without the NUL. If `buf_len`
 * is too small, returns `MFP_OAUTH_STATUS_BUFFER_TOO_SMALL`, writes nothing
 * to `buf` and sets `*out_len` to the `buf_len` needed (256 always suffices
 * for the catalogue's texts). An unknown `diag_id` or `lang` is
 * `MFP_OAUTH_STATUS_INVALID_ARGUMENT`; a NULL `buf` or `out_len` is
 * `MFP_OAUTH_STATUS_NULL_PARAMETER`.
 *
 * The library keeps no pointer to `buf`. Reentrant (no shared state).
 *
 * Safety:
 * `buf` must be NULL or valid for `buf_len` bytes of writes, `out_len` NULL
 * or valid for one write.
 *
 * Stack: 184 B at opt-level s, 224 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_diag_message(uint32_t diag_id,
                                        uint32_t lang,
                                        char *buf,
                                        size_t buf_len,
                                        size_t *out_len);

/**
 * Writes what to do about diagnostic `diag_id`, in language `lang`; same
 * contract as `mfp_oauth_diag_message` (512 bytes always suffice).
 *
 * Safety:
 * As for `mfp_oauth_diag_message`.
 *
 * Stack: 184 B at opt-level s, 224 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_diag_remedy(uint32_t diag_id,
                                       uint32_t lang,
                                       char *buf,
                                       size_t buf_len,
                                       size_t *out_len);

/**
 * Writes the code name of diagnostic `diag_id` (`"SmtpAuthDisabled"`), for
 * logs; same buffer contract as `mfp_oauth_diag_message` (64 bytes always
 * suffice).
 *
 * Safety:
 * As for `mfp_oauth_diag_message`.
 */
mfp_oauth_status mfp_oauth_diag_name(uint32_t diag_id, char *buf, size_t buf_len, size_t *out_len);

/**
 * Writes who has to act on diagnostic `diag_id` (an `mfp_oauth_actor`) to
 * `*out_actor`; for the statuses `NULL_PARAMETER` (1) and `UNLISTED` (2),
 * the firmware. An unknown id, and 0 (success: nobody acts), is
 * `MFP_OAUTH_STATUS_INVALID_ARGUMENT` and leaves `*out_actor` unchanged.
 * Reentrant.
 *
 * Safety:
 * `out_actor` must be NULL or valid for one write.
 */
mfp_oauth_status mfp_oauth_diag_actor(uint32_t diag_id, mfp_oauth_actor *out_actor);

/**
 * Writes the number of diagnostics in the catalogue to `*out_count`; with
 * `mfp_oauth_diag_id` the firmware can list them all. Reentrant.
 *
 * Safety:
 * `out_count` must be NULL or valid for one write.
 */
mfp_oauth_status mfp_oauth_diag_count(size_t *out_count);

/**
 * Writes the number of the `index`-th diagnostic (in increasing order,
 * `index < count`) to `*out_id`; an index past the end is
 * `MFP_OAUTH_STATUS_INVALID_ARGUMENT`. Reentrant.
 *
 * Safety:
 * `out_id` must be NULL or valid for one write.
 */
mfp_oauth_status mfp_oauth_diag_id(size_t index, uint32_t *out_id);

/**
 * Creates a mailer in `mailer` with `settings` (validated: a broken rule
 * is reported as its diagnostic, e.g. `MFP_OAUTH_STATUS_VLAN_ON_NETWORK2`)
 * and an empty token store whose users' tokens go into the `user_count`
 * slots at `users` (one per user kept signed in at once, at most
 * `MFP_OAUTH_MAX_USER_SLOTS`; `NULL, 0` for none: then only the
 * administrator's and the public user's tokens are kept, and a user's
 * sign-in is `MFP_OAUTH_STATUS_TOKEN_STORE_FULL`): the first start, or after
 * `mfp_oauth_mailer_load` reported `NV_EMPTY` (and only then: see the
 * power-on sequence at `mfp_oauth_mailer_load`). Storage that holds a live
 * mailer is refused with `MFP_OAUTH_STATUS_WRONG_STATE` and left as it
 * is: destroy it first (zeroed or destroyed storage is not live). Not
 * thread-safe or ISR-safe, like every `mfp_oauth_mailer_*` call: one task
 * drives the mailer.
 *
 * Safety:
 * `mailer` NULL or valid for reads and writes of `mfp_oauth_mailer`;
 * `users` NULL or valid for reads and writes of `user_count` slots, not
 * used by anything else until `mfp_oauth_mailer_destroy`; `settings` NULL
 * or valid with its strings valid for their lengths.
 *
 * Stack: 992 B at opt-level s, 992 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_create(mfp_oauth_mailer *mailer,
                                         mfp_oauth_user_slot *users,
                                         size_t user_count,
                                         const mfp_oauth_settings *settings);

/**
 * Power-on: creates the mailer in `mailer` from the newest good image of
 * the two NV slots (settings and refresh tokens; no access token survives
 * a power cycle, R-TOK-1), the users' tokens in the `user_count` slots at
 * `users` (as for `mfp_oauth_mailer_create`). `key` is the 32-octet
 * device key if the images are sealed, else NULL. An erased slot may be
 * passed as `NULL, 0`, as a zero length, or as its octets (all 0xFF): each
 * reads as empty.
 * `NV_EMPTY` when both slots are empty (the first start),
 * `NV_CORRUPT` / `NV_NEWER_FORMAT` / `NV_SEAL_OPEN_FAILED` otherwise, and
 * `NV_TOO_MANY_USERS` when the newest image holds more users than slots
 * were lent (the older image is not loaded in its place); on error
 * nothing is created. Storage that holds a live mailer is refused
 * with `MFP_OAUTH_STATUS_WRONG_STATE` and left as it is (destroy it first).
 *
 * The safe power-on sequence:
 *
 * 1. `mfp_oauth_mailer_load` with both slots as read from flash.
 * 2. `MFP_OAUTH_STATUS_OK`: running (read `out_report`).
 * 3. `MFP_OAUTH_STATUS_NV_EMPTY`, and only that status: a first start;
 *    `mfp_oauth_mailer_create` with the factory settings.
 * 4. Any other status: do NOT create a fresh mailer and save its image.
 *    The next save erases the other slot, and the refresh token goes with
 *    it (the administrator would have to sign in again). Log the status,
 *    show it (`mfp_oauth_diag_message`), keep both slots untouched, and
 *    retry after a fix (the right device key, a firmware that reads this
 *    image format), or let the administrator choose a factory reset
 *    (destroy, create, save). `NV_CORRUPT` with no good image in either
 *    slot can also follow a power cut during the very first write: the
 *    same rule holds, the administrator decides.
 *
 * Safety:
 * `mailer` NULL or valid for reads and writes; `users` as for
 * `mfp_oauth_mailer_create`; `slot_a`/`slot_b` NULL or valid for their
 * lengths; `key` NULL or valid for 32 bytes; `out_report` NULL or valid
 * for a write.
 *
 * Stack: 1,944 B at opt-level s, 1,888 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_load(mfp_oauth_mailer *mailer,
                                       mfp_oauth_user_slot *users,
                                       size_t user_count,
                                       const uint8_t *slot_a,
                                       size_t slot_a_len,
                                       const uint8_t *slot_b,
                                       size_t slot_b_len,
                                       const uint8_t *key,
                                       mfp_oauth_nv_report *out_report);

/**
 * `mfp_oauth_mailer_load` for slots that are not memory-mapped: the slots
 * are read a piece at a time through `reader` (no buffer the size of a
 * slot, `MFP_OAUTH_NV_IMAGE_MAX_LEN`), checked 64 octets at a time; the
 * image's records (no secret) are read into `scratch`, and each refresh
 * token straight into its place in the mailer. `scratch` may be any
 * buffer free at power-on, such as the `mfp_oauth_token_client` storage
 * before its client is created;
 * `MFP_OAUTH_NV_RECORDS_MAX_LEN` octets always suffice, and a shorter one
 * too small for the newest image gives `MFP_OAUTH_STATUS_BUFFER_TOO_SMALL`
 * (the older image is then not loaded instead). A read fault gives
 * `MFP_OAUTH_STATUS_STORAGE_FAULT`. Otherwise as `mfp_oauth_mailer_load`,
 * and the same power-on sequence applies: only `NV_EMPTY` is a first
 * start.
 *
 * Safety:
 * `mailer` NULL or valid for reads and writes; `users` as for
 * `mfp_oauth_mailer_create`; `reader` NULL or valid, its `read` callable
 * with its `ctx` and writing at most `len` octets to `out`; `scratch` NULL
 * or valid for `scratch_len` bytes of writes; `key` NULL or valid for 32
 * bytes; `out_report` NULL or valid for a write.
 *
 * Stack: 1,920 B at opt-level s, 1,872 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_load_from(mfp_oauth_mailer *mailer,
                                            mfp_oauth_user_slot *users,
                                            size_t user_count,
                                            const mfp_oauth_slot_reader *reader,
                                            uint8_t *scratch,
                                            size_t scratch_len,
                                            const uint8_t *key,
                                            mfp_oauth_nv_report *out_report);

/**
 * Wipes every token and the settings, and every byte of the storage.
 * Destroying storage that holds no mailer does nothing.
 *
 * Safety:
 * `mailer` NULL or valid for reads and writes of `mfp_oauth_mailer`.
 */
mfp_oauth_status mfp_oauth_mailer_destroy(mfp_oauth_mailer *mailer);

/**
 * Reports an interactive sign-in that ended with the `ACCESS_TOKEN`
 * event of `token_client` (NEED_*_AUTH plans): the mailer stores the
 * tokens (they never pass through the caller) and writes the next plan.
 * When the provider named another account than the plan's (the
 * `id_token`, R-ACCT), the plan is FAILED with `ACCOUNT_MISMATCH` and
 * nothing is stored.
 * `wall_s` is the wall-clock time in seconds since 1970 if known, else 0
 * (it dates the refresh token for expiry warnings).
 *
 * Safety:
 * `mailer` and `token_client` valid storage as for their `_destroy`;
 * `out_plan` NULL or valid for a write.
 */
mfp_oauth_status mfp_oauth_mailer_auth_succeeded(mfp_oauth_mailer *mailer,
                                                 uint64_t now_ms,
                                                 uint64_t wall_s,
                                                 mfp_oauth_token_client *token_client,
                                                 mfp_oauth_plan *out_plan);

/**
 * The administrator's **Acquire** in Configuration OAuth (no job): after
 * the `ACCESS_TOKEN` event of `token_client`, the tokens are stored for the
 * administrator's address; the status reads Acquired, the Information
 * screen's notice clears, and a PERSIST step follows.
 * `ADMIN_ADDRESS_MISSING` without an administrator address;
 * `ACCOUNT_MISMATCH` (nothing stored) when the provider named another
 * account than that address (R-ACCT; `mfp_oauth_mailer_admin_token` shows
 * the account and whether it was named).
 *
 * Safety:
 * `mailer` and `token_client` valid storage as for their `_destroy`.
 *
 * Stack: 1,064 B at opt-level s, 1,220 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_acquire_admin(mfp_oauth_mailer *mailer,
                                                uint64_t now_ms,
                                                uint64_t wall_s,
                                                mfp_oauth_token_client *token_client);

/**
 * During a sign-in (NEED_*_AUTH) or a refresh (TOKEN_EXCHANGE): takes the
 * next event of `token_client` (written to `*out_event`, `kind` NONE if
 * none) and lets the mailer act on it: the flow's end (ACCESS_TOKEN,
 * REAUTH_REQUIRED, FAILED) stores the tokens or fails the step and sets
 * `*out_plan_changed`; read the plan with `mfp_oauth_mailer_plan`. The
 * other events are for the panel (show the code on USER_CODE).
 *
 * A job's token flow ends in one of two ways; use one per flow:
 *
 * 1. The mailer's way: drain only this function. It reports the flow's
 *    end to the mailer itself: do not call `_auth_succeeded`,
 *    `_exchange_succeeded`, `_auth_failed` or `_exchange_failed` for it.
 * 2. The client's way: drain `mfp_oauth_token_client_poll_event` and
 *    report the end: ACCESS_TOKEN with `_auth_succeeded` (sign-in) or
 *    `_exchange_succeeded` (refresh), REAUTH_REQUIRED or FAILED with
 *    `_auth_failed` or `_exchange_failed`. The administrator's Acquire,
 *    outside any job, always goes this way, ending with
 *    `mfp_oauth_mailer_acquire_admin`.
 *
 * Mixing them does no harm. When `mfp_oauth_token_client_poll_event`
 * took the end of the flow the plan waits for (a refresh in
 * TOKEN_EXCHANGE, a sign-in in NEED_*_AUTH), this function still reports
 * it, once: it writes that terminal event and acts on it, so a firmware
 * draining both never waits forever. An end already reported is not
 * reported again: a second report (`_exchange_succeeded` after this
 * function acted on ACCESS_TOKEN, for example) returns `WRONG_STATE` and
 * changes nothing. Start the flow (`mfp_oauth_mailer_start_refresh`,
 * `mfp_oauth_token_client_start_device`, ...) before draining it.
 *
 * Safety:
 * `mailer` and `token_client` valid storage as for their `_destroy`;
 * `out_event` and `out_plan_changed` NULL or valid for a write.
 *
 * Stack: 1,192 B at opt-level s, 1,344 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_poll_token_event(mfp_oauth_mailer *mailer,
                                                   uint64_t now_ms,
                                                   uint64_t wall_s,
                                                   mfp_oauth_token_client *token_client,
                                                   mfp_oauth_token_event *out_event,
                                                   bool *out_plan_changed);

/**
 * The sign-in failed or was cancelled (`diag`: why): the job fails.
 *
 * Safety:
 * `mailer` as for `_destroy`; `out_plan` NULL or valid for a write.
 */
mfp_oauth_status mfp_oauth_mailer_auth_failed(mfp_oauth_mailer *mailer,
                                              uint32_t diag,
                                              mfp_oauth_plan *out_plan);

/**
 * TOKEN_EXCHANGE: starts the refresh grant on `token_client` with the
 * stored refresh token (it never passes through the caller).
 *
 * Safety:
 * `mailer` and `token_client` valid storage as for their `_destroy`.
 *
 * Stack: 188 B at opt-level s, 228 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_start_refresh(mfp_oauth_mailer *mailer,
                                                uint64_t now_ms,
                                                mfp_oauth_token_client *token_client);

/**
 * TOKEN_EXCHANGE, whatever the administrator's sign-in
 * (`mfp_oauth_settings.admin_sign_in`, R-APP): starts on `token_client`
 * the refresh grant of a delegated sign-in (as
 * `mfp_oauth_mailer_start_refresh`), or the app-only grant the core runs
 * itself: Microsoft client credentials with a certificate assertion, or a
 * Google service account's JWT bearer grant for the administrator's
 * mailbox. An app-only grant is signed by the firmware, whose key the
 * core never sees: the token client's next event is SIGNATURE_REQUIRED;
 * read the octets to sign with `mfp_oauth_token_client_signing_input`,
 * sign them with the key of the certificate (RS256: RSASSA-PKCS1-v1_5
 * with SHA-256) and hand the signature to
 * `mfp_oauth_token_client_handle_signature`; nothing is sent before.
 * `wall_s` is the wall clock (seconds since 1970; `ASSERTION_TIME_RANGE` when 0
 * for an app-only grant) and `jti_random` 16 octets from a cryptographic
 * random source (the assertion's unique id). Then drain the client as for
 * a refresh (`mfp_oauth_mailer_poll_token_event`).
 *
 * Safety:
 * `mailer` and `token_client` valid storage as for their `_destroy`;
 * `jti_random` NULL or valid for 16 bytes.
 */
mfp_oauth_status mfp_oauth_mailer_start_token_request(mfp_oauth_mailer *mailer,
                                                      uint64_t now_ms,
                                                      uint64_t wall_s,
                                                      const uint8_t *jti_random,
                                                      mfp_oauth_token_client *token_client);

/**
 * The refresh grant ended with `ACCESS_TOKEN` on `token_client`: the new
 * tokens (and a rotated refresh token) are stored; writes the next plan.
 *
 * Safety:
 * As for `mfp_oauth_mailer_auth_succeeded`.
 */
mfp_oauth_status mfp_oauth_mailer_exchange_succeeded(mfp_oauth_mailer *mailer,
                                                     uint64_t now_ms,
                                                     uint64_t wall_s,
                                                     mfp_oauth_token_client *token_client,
                                                     mfp_oauth_plan *out_plan);

/**
 * The refresh grant ended without tokens: pass on how the token client's
 * flow ended, `reauth_required` when its last event was REAUTH_REQUIRED
 * (else FAILED, or a flow that could not start) and `diag` that event's
 * diagnostic. The core decides what it means: a dead grant (plain
 * `invalid_grant`, expired, revoked) erases the refresh token and asks for
 * a new sign-in (R-TOK-4); a refusal an administrator fixes at the
 * provider (consent missing 402, Conditional Access 405, …) keeps the
 * token and fails the job with that diagnostic; anything else keeps the
 * token and fails the job with `diag`. Writes the next plan.
 * (`mfp_oauth_mailer_poll_token_event` does the same from the event.)
 *
 * Safety:
 * `mailer` as for `_destroy`; `out_plan` NULL or valid for a write.
 */
mfp_oauth_status mfp_oauth_mailer_exchange_failed(mfp_oauth_mailer *mailer,
                                                  uint64_t now_ms,
                                                  bool reauth_required,
                                                  uint32_t diag,
                                                  mfp_oauth_plan *out_plan);

/**
 * Installs an access token handed in from outside (a print-management
 * server obtained it from the provider) for the administrator (`user_id`
 * `{NULL, 0}`) or for user `user_id`, for `account`, living
 * `expires_in_s` seconds from `now_ms`. Jobs use it under the same sender
 * policy as a signed-in token (a From it may not send as is refused
 * before any network octet). It is held in RAM only: a power-on forgets
 * it, and it is never saved in the image. When it ends with no refresh
 * token behind it, the next job fails with `HANDED_TOKEN_EXPIRED` (E513):
 * hand in a new one. The token is copied; wipe your own copy.
 *
 * `ADMIN_ADDRESS_MISSING` / `ACCOUNT_MISMATCH` for the administrator's
 * slot without an administrator address or for another account;
 * `ACCOUNT_MISMATCH` for a user whose slot holds another account's refresh
 * token; `HANDED_TOKEN_EXPIRED` for an empty token or `expires_in_s` 0;
 * `TOKEN_TOO_LARGE` over 4096 octets; `INVALID_ADDRESS`; `TOKEN_STORE_FULL`
 * for a new user with every slot taken. Nothing changes on an error.
 *
 * Safety:
 * `mailer` as for `_destroy`; `user_id` NULL or valid for `user_id_len`
 * bytes; `account` valid for `account_len` bytes of UTF-8; `token` valid
 * for `token_len` bytes.
 */
mfp_oauth_status mfp_oauth_mailer_install_token(mfp_oauth_mailer *mailer,
                                                uint64_t now_ms,
                                                const char *user_id,
                                                size_t user_id_len,
                                                const char *account,
                                                size_t account_len,
                                                const uint8_t *token,
                                                size_t token_len,
                                                uint32_t expires_in_s);

/**
 * Writes the persistence image (settings and refresh tokens, never access
 * tokens) into `out` (`MFP_OAUTH_NV_IMAGE_MAX_LEN` octets always suffice)
 * and says which slot to write it to and its sequence number. Write
 * `out[..*out_len]` to that slot, then call
 * `mfp_oauth_mailer_image_written`; until then the next save targets the
 * same slot, so the last good image is never overwritten. With `key` (32
 * octets) the refresh tokens are sealed, and `random` (7 fresh octets from
 * an RNG) is required. On error `out` is wiped. With little RAM, write the
 * image in pieces instead (`mfp_oauth_mailer_save_begin`).
 *
 * Safety:
 * `mailer` as for `_destroy`; `key` NULL or 32 bytes; `random` NULL or 7
 * bytes; `out` NULL or valid for `out_len` bytes of writes; the outputs
 * NULL or valid for a write.
 */
mfp_oauth_status mfp_oauth_mailer_save(mfp_oauth_mailer *mailer,
                                       const uint8_t *key,
                                       const uint8_t *random,
                                       uint8_t *out,
                                       size_t out_len,
                                       size_t *out_written,
                                       mfp_oauth_nv_slot *out_slot,
                                       uint32_t *out_sequence);

/**
 * Starts writing the persistence image in pieces, through a buffer of any
 * size (a flash page; 64 octets are enough): no buffer the size of a slot
 * (`MFP_OAUTH_NV_IMAGE_MAX_LEN`) is needed. Says the image's length, the
 * slot to write it to and its sequence number; then call
 * `mfp_oauth_mailer_save_next` until it gives 0 octets, program each piece
 * at the offset it gives, and confirm with `mfp_oauth_mailer_image_written`
 * (refused until the last piece is out). `key` and `random` as for
 * `mfp_oauth_mailer_save`. A new begin (or a whole save) abandons an image
 * not finished.
 *
 * Safety:
 * `mailer` as for `_destroy`; `key` NULL or 32 bytes; `random` NULL or 7
 * bytes; the outputs NULL or valid for a write.
 *
 * Stack: 1,760 B at opt-level s, 1,840 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_save_begin(mfp_oauth_mailer *mailer,
                                             const uint8_t *key,
                                             const uint8_t *random,
                                             size_t *out_image_len,
                                             mfp_oauth_nv_slot *out_slot,
                                             uint32_t *out_sequence);

/**
 * The next piece of the image begun with `mfp_oauth_mailer_save_begin`,
 * into `out` (`out_len` octets, not 0): program `out[..*out_written]` at
 * offset `*out_offset` of the slot. `*out_written` is `out_len` but for
 * the last piece, and 0 once the image is complete. If the settings or
 * tokens changed since the begin (a rotated refresh token, say), the last
 * piece fails with `MFP_OAUTH_STATUS_NV_IMAGE_CHANGED` (E512): that image
 * is incomplete, do not confirm it; the change asked for a new image, and
 * the other slot still holds the last good one. `WRONG_STATE` without a
 * begin. On error `out` is wiped.
 *
 * Safety:
 * `mailer` as for `_destroy`; `out` NULL or valid for `out_len` bytes of
 * writes; the outputs NULL or valid for a write.
 *
 * Stack: 1,520 B at opt-level s, 1,584 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_save_next(mfp_oauth_mailer *mailer,
                                            uint8_t *out,
                                            size_t out_len,
                                            size_t *out_offset,
                                            size_t *out_written);

/**
 * The image from `mfp_oauth_mailer_save` or `_save_begin` (`slot`,
 * `sequence`) is now in flash and verified: the next image goes to the
 * other slot. An image written in pieces is confirmed only once
 * `mfp_oauth_mailer_save_next` has given its last piece
 * (`MFP_OAUTH_STATUS_WRONG_STATE` before, or after E512).
 *
 * Safety:
 * As for `mfp_oauth_mailer_destroy`.
 */
mfp_oauth_status mfp_oauth_mailer_image_written(mfp_oauth_mailer *mailer,
                                                uint32_t slot,
                                                uint32_t sequence);

/**
 * Submits a job: the sender policy decides the From address and whose
 * token signs (R-POL), nothing is sent before it accepted them. Writes
 * the first plan. `WRONG_STATE` while another job runs; a refused job is a
 * FAILED plan (the call itself succeeds).
 *
 * Safety:
 * `mailer` as for `_destroy`; `job` NULL or valid, its strings and `to`
 * valid for their lengths; `out_plan` NULL or valid for a write.
 *
 * Stack: 1,512 B at opt-level s, 1,476 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_submit(mfp_oauth_mailer *mailer,
                                         uint64_t now_ms,
                                         const mfp_oauth_job *job,
                                         mfp_oauth_plan *out_plan);

/**
 * Writes the current plan.
 *
 * Safety:
 * `mailer` as for `_destroy` (only read); `out_plan` NULL or valid for a
 * write.
 */
mfp_oauth_status mfp_oauth_mailer_plan(const mfp_oauth_mailer *mailer, mfp_oauth_plan *out_plan);

/**
 * Sets the running job's message size in octets, after
 * `mfp_oauth_mailer_submit` and before the SMTP session starts (plans up to
 * CONNECT). For a message composed after the submit: its From: header is
 * the plan's `from`, the address the sender policy chose, so compose it
 * (`mfp_oauth_mime_begin`) once the first plan is known, then give the
 * composer's size here. The session announces it with `SIZE=` and refuses
 * a message over the server's limit before MAIL. `WRONG_STATE` when no job
 * runs or its session has started.
 *
 * Safety:
 * `mailer` as for `_destroy`.
 */
mfp_oauth_status mfp_oauth_mailer_set_message_size(mfp_oauth_mailer *mailer, uint64_t size);

/**
 * CONNECT: the connection is open (with TLS for implicit TLS); the SMTP
 * session starts, greeting with `ehlo_domain`. Writes the next plan.
 *
 * Safety:
 * `mailer` as for `_destroy`; `ehlo_domain` NULL or valid for its length;
 * `out_plan` NULL or valid for a write.
 *
 * Stack: 1,488 B at opt-level s, 2,024 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_connected(mfp_oauth_mailer *mailer,
                                            uint64_t now_ms,
                                            const char *ehlo_domain,
                                            size_t ehlo_domain_len,
                                            mfp_oauth_plan *out_plan);

/**
 * CONNECT failed (`diag`: a 6xx network diagnostic): the job fails.
 *
 * Safety:
 * `mailer` as for `_destroy`; `out_plan` NULL or valid for a write.
 */
mfp_oauth_status mfp_oauth_mailer_connect_failed(mfp_oauth_mailer *mailer,
                                                 uint32_t diag,
                                                 mfp_oauth_plan *out_plan);

/**
 * Cancels the job (the user pressed Stop): the session quits, the job
 * fails with `diag`. Writes the plan.
 *
 * Safety:
 * `mailer` as for `_destroy`; `out_plan` NULL or valid for a write.
 */
mfp_oauth_status mfp_oauth_mailer_cancel(mfp_oauth_mailer *mailer,
                                         uint64_t now_ms,
                                         uint32_t diag,
                                         mfp_oauth_plan *out_plan);

/**
 * `mfp_oauth_smtp_handle_input` on the mailer's session (SESSION plan;
 * `WRONG_STATE` otherwise): every octet is taken, and after the `220` to
 * STARTTLS any plaintext octet must be discarded, never fed after the
 * TLS handshake (fed, it fails the job with `PROTOCOL_VIOLATION`).
 *
 * Safety:
 * As for `mfp_oauth_smtp_handle_input`, with `mailer` valid storage.
 *
 * Stack: 1,744 B at opt-level s, 1,216 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_smtp_handle_input(mfp_oauth_mailer *mailer,
                                                    uint64_t now_ms,
                                                    const uint8_t *data,
                                                    size_t len,
                                                    size_t *out_consumed);

/**
 * `mfp_oauth_smtp_handle_tls_established` on the mailer's session.
 *
 * Safety:
 * `mailer` valid storage as for `_destroy`.
 */
mfp_oauth_status mfp_oauth_mailer_smtp_handle_tls_established(mfp_oauth_mailer *mailer,
                                                              uint64_t now_ms);

/**
 * `mfp_oauth_smtp_handle_tls_failed` on the mailer's session: the TLS
 * handshake started for the `UPGRADE_TLS` event failed, for the TLS
 * stack's reason `diag` (a refused certificate: E604, E607, E608 or E609;
 * no TLS version in common: E610; or E603, E605, E606). The job fails
 * with that diagnostic, as on implicit TLS, not E325 "connection closed";
 * close the connection. Any other `diag` is
 * `MFP_OAUTH_STATUS_INVALID_ARGUMENT` and changes nothing.
 *
 * Safety:
 * `mailer` valid storage as for `_destroy`.
 */
mfp_oauth_status mfp_oauth_mailer_smtp_handle_tls_failed(mfp_oauth_mailer *mailer,
                                                         uint64_t now_ms,
                                                         uint32_t diag);

/**
 * `mfp_oauth_smtp_handle_close` on the mailer's session.
 *
 * Safety:
 * `mailer` valid storage as for `_destroy`.
 */
mfp_oauth_status mfp_oauth_mailer_smtp_handle_close(mfp_oauth_mailer *mailer, uint64_t now_ms);

/**
 * `mfp_oauth_smtp_handle_timeout` on the mailer's session.
 *
 * Safety:
 * `mailer` valid storage as for `_destroy`.
 */
mfp_oauth_status mfp_oauth_mailer_smtp_handle_timeout(mfp_oauth_mailer *mailer, uint64_t now_ms);

/**
 * `mfp_oauth_smtp_write_body` on the mailer's session.
 *
 * Safety:
 * As for `mfp_oauth_smtp_write_body`, with `mailer` valid storage.
 *
 * Stack: 376 B at opt-level s, 504 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_smtp_write_body(mfp_oauth_mailer *mailer,
                                                  const uint8_t *input,
                                                  size_t input_len,
                                                  uint8_t *out,
                                                  size_t out_len,
                                                  size_t *out_consumed,
                                                  size_t *out_written);

/**
 * `mfp_oauth_smtp_write_body_canonical` on the mailer's session: for the
 * composer's output (`mfp_oauth_mime_poll_output`).
 *
 * Safety:
 * As for `mfp_oauth_smtp_write_body`, with `mailer` valid storage.
 */
mfp_oauth_status mfp_oauth_mailer_smtp_write_body_canonical(mfp_oauth_mailer *mailer,
                                                            const uint8_t *input,
                                                            size_t input_len,
                                                            uint8_t *out,
                                                            size_t out_len,
                                                            size_t *out_consumed,
                                                            size_t *out_written);

/**
 * `mfp_oauth_smtp_finish_body` on the mailer's session.
 *
 * Safety:
 * `mailer` valid storage as for `_destroy`.
 */
mfp_oauth_status mfp_oauth_mailer_smtp_finish_body(mfp_oauth_mailer *mailer, uint64_t now_ms);

/**
 * `mfp_oauth_smtp_poll_transmit` on the mailer's session.
 *
 * Safety:
 * As for `mfp_oauth_smtp_poll_transmit`, with `mailer` valid storage.
 *
 * Stack: 776 B at opt-level s, 800 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_smtp_poll_transmit(mfp_oauth_mailer *mailer,
                                                     uint64_t now_ms,
                                                     uint8_t *out,
                                                     size_t out_len,
                                                     size_t *out_written,
                                                     bool *out_sensitive);

/**
 * `mfp_oauth_smtp_poll_timeout` on the mailer's session.
 *
 * Safety:
 * As for `mfp_oauth_smtp_poll_timeout`, with `mailer` valid storage.
 */
mfp_oauth_status mfp_oauth_mailer_smtp_poll_timeout(mfp_oauth_mailer *mailer,
                                                    uint64_t *out_deadline_ms);

/**
 * Writes the SMTP server's last complete reply, for support logs: its code
 * to `*out_code` and its text (enhanced code removed, lines joined, at most
 * 256 octets, NUL-terminated: `MFP_OAUTH_REPLY_TEXT_BUF_LEN` always
 * suffices) to `buf`, with `*out_len` its length. During a session, the
 * latest reply; once the job is DONE or FAILED, the reply that decided it
 * (e.g. `535` "5.7.139 Authentication unsuccessful, ..."), not the `221`
 * to the QUIT that follows, until the next `mfp_oauth_mailer_submit`.
 * `WRONG_STATE` when this job has had no reply (it failed before the
 * connection, or the server never answered); `BUFFER_TOO_SMALL` with the
 * size needed in `*out_len` (nothing else written). Never contains what
 * the client sent.
 *
 * Safety:
 * `mailer` as for `_destroy` (only read); `buf` NULL or valid for
 * `buf_len` bytes of writes; the outputs NULL or valid for a write.
 */
mfp_oauth_status mfp_oauth_mailer_last_reply(const mfp_oauth_mailer *mailer,
                                             uint32_t *out_code,
                                             char *buf,
                                             size_t buf_len,
                                             size_t *out_len);

/**
 * The administrator changed the settings: validated (the first broken rule
 * is the status, and nothing changes) and applied; tokens of a changed
 * provider or account are dropped. Any change brings a `PERSIST` step
 * (the settings live in the image), with `erase_other_slot` when a secret
 * left (an orphaned token, or the proxy password changed or removed).
 * The result of `mfp_oauth_mailer_settings` with one field changed
 * changes only that field: its "Send As" list is the one in force, and
 * its `proxy_password_keep` keeps the proxy password (see
 * `mfp_oauth_settings`).
 *
 * The new settings are converted and checked in `draft` (see
 * `mfp_oauth_settings_draft`), which is zeroed again when the call
 * returns, whatever the settings' fate. A call refused before the draft
 * is used leaves it as it was: a NULL parameter, a mailer not created,
 * or a `draft` that holds a live object (`MFP_OAUTH_STATUS_WRONG_STATE`,
 * and nothing changes).
 *
 * Safety:
 * `mailer` as for `_destroy`; `settings` NULL or valid; `draft` NULL or
 * valid for reads and writes of its storage, overlapping neither the
 * mailer nor anything `settings` points to.
 *
 * Stack: 1,008 B at opt-level s, 1,016 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_apply_settings(mfp_oauth_mailer *mailer,
                                                 const mfp_oauth_settings *settings,
                                                 mfp_oauth_settings_draft *draft);

/**
 * Writes the settings in force to `*out_settings` (after
 * `mfp_oauth_mailer_load`, these are the persisted ones, for the panel),
 * the "Send As" list included. The strings point into the mailer's
 * storage: they stay valid until the next `mfp_oauth_mailer_apply_settings`
 * or `_destroy`, and must not be written through. The proxy password is
 * never read back (`{NULL, 0}`); `proxy_password_keep` is set instead, so
 * that passing the result, with any field changed, to
 * `mfp_oauth_mailer_apply_settings` keeps the password and everything else.
 *
 * Safety:
 * `mailer` as for `_destroy` (only read); `out_settings` NULL or valid for
 * a write.
 */
mfp_oauth_status mfp_oauth_mailer_settings(const mfp_oauth_mailer *mailer,
                                           mfp_oauth_settings *out_settings);

/**
 * Writes the next step (`kind` NONE when none). Drain after every input.
 *
 * Safety:
 * `mailer` as for `_destroy`; `out_step` NULL or valid for a write.
 *
 * Stack: 1,272 B at opt-level s, 1,600 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_poll_event(mfp_oauth_mailer *mailer,
                                             uint64_t now_ms,
                                             mfp_oauth_step *out_step);

/**
 * Writes the refresh-token status of the administrator (`user_id`
 * `{NULL, 0}`) or of user `user_id` (R-TOK-3).
 *
 * Safety:
 * `mailer` as for `_destroy` (only read); `user_id` NULL or valid for its
 * length; `out_status` NULL or valid for a write.
 */
mfp_oauth_status mfp_oauth_mailer_token_status(const mfp_oauth_mailer *mailer,
                                               const char *user_id,
                                               size_t user_id_len,
                                               mfp_oauth_token_status *out_status);

/**
 * Deletes user `user_id`'s tokens (the panel's Delete, R-TOK-5), or the
 * administrator's with `{NULL, 0}`; a PERSIST step follows.
 * `UNKNOWN_USER` if the user holds none.
 *
 * Safety:
 * `mailer` as for `_destroy`; `user_id` NULL or valid for its length.
 */
mfp_oauth_status mfp_oauth_mailer_delete_tokens(mfp_oauth_mailer *mailer,
                                                const char *user_id,
                                                size_t user_id_len);

/**
 * User `user_id` logged out: with automatic deletion on, their tokens are
 * deleted (`*out_deleted` true, and a PERSIST step follows).
 *
 * Safety:
 * `mailer` as for `_destroy`; `user_id` NULL or valid for its length;
 * `out_deleted` NULL or valid for a write.
 *
 * Stack: 164 B at opt-level s, 172 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_mailer_logout(mfp_oauth_mailer *mailer,
                                         const char *user_id,
                                         size_t user_id_len,
                                         bool *out_deleted);

/**
 * The system auto-reset fired (`user_id`: who was logged in, `{NULL, 0}`
 * for nobody): with automatic deletion on, user tokens are deleted.
 *
 * Safety:
 * As for `mfp_oauth_mailer_logout`.
 */
mfp_oauth_status mfp_oauth_mailer_auto_reset(mfp_oauth_mailer *mailer,
                                             const char *user_id,
                                             size_t user_id_len,
                                             bool *out_deleted);

/**
 * Daily (or at power-on) with the wall clock `wall_s` (seconds since
 * 1970): refresh tokens near their provider's expiry raise
 * REFRESH_TOKEN_EXPIRING steps.
 *
 * Safety:
 * `mailer` as for `_destroy`.
 */
mfp_oauth_status mfp_oauth_mailer_check_expiry(mfp_oauth_mailer *mailer, uint64_t wall_s);

/**
 * Writes the number of users holding a token slot to `*out_count` and,
 * with `mfp_oauth_mailer_user_token`, lets the panel list them; also whether
 * the Information screen must show the administrator's re-authentication
 * notice (R-TOK-4) in `*out_admin_notice`.
 *
 * Safety:
 * `mailer` as for `_destroy` (only read); the outputs NULL or valid for a
 * write.
 */
mfp_oauth_status mfp_oauth_mailer_token_overview(const mfp_oauth_mailer *mailer,
                                                 size_t *out_user_count,
                                                 bool *out_admin_notice);

/**
 * Writes the `index`-th user holding a token slot (`index` below the count
 * of `mfp_oauth_mailer_token_overview`); `INVALID_ARGUMENT` past the end.
 *
 * Safety:
 * `mailer` as for `_destroy` (only read); `out_user` NULL or valid for a
 * write.
 */
mfp_oauth_status mfp_oauth_mailer_user_token(const mfp_oauth_mailer *mailer,
                                             size_t index,
                                             mfp_oauth_user_token *out_user);

/**
 * Writes the administrator's token slot as a token entry (`user_id`
 * empty): the account the token was acquired for, its status, and
 * whether the provider named that account at sign-in (R-ACCT), for the
 * OAuth screen and the token overview.
 *
 * Safety:
 * `mailer` as for `_destroy` (only read); `out_admin` NULL or valid for a
 * write.
 */
mfp_oauth_status mfp_oauth_mailer_admin_token(const mfp_oauth_mailer *mailer,
                                              mfp_oauth_user_token *out_admin);

/**
 * Starts composing the message `msg` in `mime` and writes its exact size
 * in octets to `*out_size`, before any octet is produced: announce it
 * with MAIL FROM ... SIZE= and use it for BDAT. Then call
 * `mfp_oauth_mime_poll_output` until it says `DONE`.
 *
 * `date_unix` is the Date field's time in seconds since 1970-01-01
 * 00:00:00 UTC, or 0 for no Date field (the submission server adds one).
 * `random` points to `MFP_OAUTH_MIME_RANDOM_LEN` fresh random octets: the
 * MIME boundary is made from them (and the Message-ID when
 * `msg->message_id_local` is empty).
 *
 * The message, as produced: a header (Date, From, To, Subject as RFC 2047
 * encoded words when not ASCII, Message-ID, MIME-Version), then a
 * multipart/mixed body with the text part and one part per file, every
 * part base64 in 76-column lines, CRLF line ends, no line starting with a
 * dot. It can be sent with BDAT as is, or through
 * `mfp_oauth_smtp_write_body`.
 *
 * `mime` may hold an earlier composer: it is replaced.
 *
 * Statuses: `NULL_PARAMETER`; `INVALID_ADDRESS` (From or a To address is
 * not a plain address); `CAPACITY_EXCEEDED` (more than
 * `MFP_OAUTH_MIME_MAX_TO` To addresses or `MFP_OAUTH_MIME_MAX_ATTACHMENTS`
 * files); `INVALID_ARGUMENT` (a string that is not UTF-8, a subject above
 * `MFP_OAUTH_MIME_MAX_SUBJECT_LEN` octets, an empty or too long file name,
 * a content type that is not type/subtype, a Message-ID local part with
 * characters a Message-ID cannot hold). On failure `mime` holds no
 * composer.
 *
 * Stack: the composer (under 768 octets) is built on the stack, then
 * copied into `mime`. Reentrant: nothing is shared.
 *
 * Pointers: `mime` valid for writes of `mfp_oauth_mime`; `msg`, the arrays
 * and the strings it points to valid for reads, and left valid and
 * unchanged until the composer is done, replaced or destroyed (the
 * composer reads them again on every call); `random` valid for
 * `MFP_OAUTH_MIME_RANDOM_LEN` octets; `out_size` valid for one write.
 */
mfp_oauth_status mfp_oauth_mime_begin(mfp_oauth_mime *mime,
                                      const mfp_oauth_mime_message *msg,
                                      uint64_t date_unix,
                                      const uint8_t *random,
                                      uint64_t *out_size);

/**
 * Writes the exact size of the message `mime` composes to `*out_size`
 * (what `mfp_oauth_mime_begin` gave).
 *
 * Statuses: `NULL_PARAMETER`; `WRONG_STATE` when `mime` holds no composer.
 *
 * Pointers: `mime` valid for reads of `mfp_oauth_mime`; `out_size` valid
 * for one write.
 */
mfp_oauth_status mfp_oauth_mime_size(const mfp_oauth_mime *mime, uint64_t *out_size);

/**
 * Produces the next octets of the message into `out` (`out_len` octets,
 * any size from 1), or says which file's octets are needed, or that the
 * message is complete; the result is in `*out_result`:
 *
 *   WROTE       send out[0 .. written - 1], then call again;
 *   NEED_INPUT  read at most `max` octets of attachment `part` and pass
 *               them to mfp_oauth_mime_handle_input (0 octets at the end
 *               of that file), then call again;
 *   DONE        all size octets were produced: finish the body.
 *
 * Statuses: `NULL_PARAMETER`; `WRONG_STATE` when `mime` holds no
 * composer; `INVALID_ARGUMENT` after a file turned out shorter or longer
 * than announced (the composer has failed: abandon the message, never
 * finish its body: close the connection, so that the server drops the
 * partial message).
 *
 * Stack: a few hundred octets.
 *
 * Pointers: `mime` valid for reads and writes of `mfp_oauth_mime`, and the
 * message given to `mfp_oauth_mime_begin` still valid and unchanged; `out`
 * valid for `out_len` octets of writes; `out_result` valid for one write.
 */
mfp_oauth_status mfp_oauth_mime_poll_output(mfp_oauth_mime *mime,
                                            uint8_t *out,
                                            size_t out_len,
                                            mfp_oauth_mime_output *out_result);

/**
 * Passes `input_len` octets of the file `NEED_INPUT` asked for (its next
 * octets, in order); `*out_consumed` of them were taken (all when
 * `input_len` is at most the `max` given): pass the rest again after
 * polling. Pass `input_len` 0 (`input` may be NULL) at the end of the file.
 *
 * Statuses: `NULL_PARAMETER`; `WRONG_STATE` when no file is being read
 * (the composer goes on) or `mime` holds no composer; `INVALID_ARGUMENT`
 * when the file ended before its announced length or has octets past it
 * (the composer has failed: abandon the message).
 *
 * Pointers: as for `mfp_oauth_mime_poll_output`; `input` NULL or valid for
 * `input_len` octets of reads; `out_consumed` valid for one write.
 */
mfp_oauth_status mfp_oauth_mime_handle_input(mfp_oauth_mime *mime,
                                             const uint8_t *input,
                                             size_t input_len,
                                             size_t *out_consumed);

/**
 * Marks `mime` unused (it holds nothing to release). Destroying storage
 * that holds no composer is a no-op returning OK.
 *
 * Pointers: `mime` NULL or valid for reads and writes of `mfp_oauth_mime`.
 */
mfp_oauth_status mfp_oauth_mime_destroy(mfp_oauth_mime *mime);

/**
 * Encodes `text` (`text_len` octets of UTF-8, no NUL needed; for a device
 * sign-in, the complete verification URI when the provider gave one, else
 * the verification URI) as a QR code and writes it to `out_bitmap` as a
 * bitmap for the panel.
 *
 * The bitmap: `*out_size` rows of `*out_size` modules, from the top; each
 * row takes `(*out_size + 7) / 8` octets; the leftmost module of a row is
 * the most significant bit of its first octet; 1 is a dark module. Draw
 * each module as a square of pixels and leave a light margin of
 * `MFP_OAUTH_QR_QUIET_ZONE` modules around the code. Sizes run from 21 to
 * 89 modules (error correction level M, the smallest symbol that holds
 * the text).
 *
 * `work` is scratch memory of `work_len` octets, at least
 * `MFP_OAUTH_QR_WORK_LEN`; its contents afterwards mean nothing. A
 * `bitmap_len` of `MFP_OAUTH_QR_BITMAP_LEN` always suffices; with less,
 * the call may return `MFP_OAUTH_STATUS_BUFFER_TOO_SMALL` with the octets
 * needed in `*out_bitmap_len`. On success `*out_bitmap_len` is the octets
 * written (rows times row length).
 *
 * Statuses: `NULL_PARAMETER` for a NULL pointer (a NULL `text` with
 * `text_len` 0 is the empty text), `BUFFER_TOO_SMALL` for a short `work`
 * (nothing written) or bitmap, `INVALID_ARGUMENT` when `text` is not UTF-8
 * or too long for the largest code (more than about 560 octets).
 *
 * Stack: a few hundred octets; no heap. Reentrant: nothing is shared.
 *
 * Safety:
 * `text` NULL or valid for `text_len` octets of reads; `work` valid for
 * `work_len` octets of writes; `out_bitmap` valid for `bitmap_len` octets
 * of writes; `out_size` and `out_bitmap_len` valid for one write; the
 * three buffers do not overlap.
 */
mfp_oauth_status mfp_oauth_qr_encode(const uint8_t *text,
                                     size_t text_len,
                                     uint8_t *work,
                                     size_t work_len,
                                     uint8_t *out_bitmap,
                                     size_t bitmap_len,
                                     uint32_t *out_size,
                                     size_t *out_bitmap_len);

/**
 * Fills `*out_settings` with the manual's defaults: OAuth off, Microsoft,
 * tenant `organizations`, administrator fixed address, TLS 1.2 to 1.3,
 * HTTP/1.1, no VLAN, no automatic deletion, SMTP port 587 with STARTTLS,
 * access tokens renewed 600 s before they expire, and every string empty.
 * Reentrant.
 *
 * Safety:
 * `out_settings` is NULL or valid for a write.
 */
mfp_oauth_status mfp_oauth_settings_init(mfp_oauth_settings *out_settings);

/**
 * Checks `settings` against the configuration rules (R-RULE) and writes
 * the diagnostic of every rule broken, in order, to `out_diags` (room for
 * `cap`; 16 is always enough) and their number to `*out_count` (0: the
 * settings are valid). An unreadable field (bad enum value, bad address,
 * too long) is reported as the call's status instead. `BUFFER_TOO_SMALL`
 * with the count needed in `*out_count` when `cap` is too small.
 * Reentrant.
 *
 * Safety:
 * `settings` NULL or valid, with its strings valid for their lengths;
 * `out_diags` NULL or valid for `cap` writes; `out_count` NULL or valid.
 */
mfp_oauth_status mfp_oauth_settings_validate(const mfp_oauth_settings *settings,
                                             uint32_t *out_diags,
                                             size_t cap,
                                             size_t *out_count);

/**
 * Fills `*out_settings` with the defaults: STARTTLS, XOAUTH2 preferred,
 * port 587, RFC 5321's timeouts, and NULL names (set `ehlo_domain` and
 * `server_host` before `mfp_oauth_smtp_create`). Reentrant.
 *
 * Safety:
 * `out_settings` is NULL or valid for one write.
 */
mfp_oauth_status mfp_oauth_smtp_settings_init(mfp_oauth_smtp_settings *out_settings);

/**
 * Creates a session in `smtp` for a connection just opened at `now_ms`
 * (with TLS already up for `MFP_OAUTH_SMTP_SECURITY_IMPLICIT_TLS`).
 * `user` is the mailbox the access `token` was issued for. With `token`
 * NULL and `token_len` 0 no token is lent yet: the session asks for it
 * with the `NEED_TOKEN` event when AUTH is next (`mfp_oauth_smtp_set_token`).
 *
 * Everything is copied: `settings`, `user` and `token` need to live only
 * during the call (wipe your copy of the token when you no longer need it).
 * Errors: `INVALID_ARGUMENT` (an enum value, an empty token, a string that
 * is not UTF-8, an invalid EHLO name), `SMTP_SERVER_MISSING` (bad host),
 * `INVALID_ADDRESS`, `CAPACITY_EXCEEDED` (a token over 4096 octets). On
 * error `smtp` is left as it was.
 *
 * If `smtp` holds a live session, destroy it first (otherwise its token is
 * not wiped). Not thread-safe or ISR-safe, like every `mfp_oauth_smtp_*`
 * call: one task drives one session.
 *
 * Safety:
 * `smtp` is NULL or valid for writes of `mfp_oauth_smtp`; `settings` NULL
 * or valid, with its strings valid for their lengths; `user` and `token`
 * NULL or valid for their lengths.
 *
 * Stack: 1,240 B at opt-level s, 1,840 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_smtp_create(mfp_oauth_smtp *smtp,
                                       uint64_t now_ms,
                                       const mfp_oauth_smtp_settings *settings,
                                       const char *user,
                                       size_t user_len,
                                       const uint8_t *token,
                                       size_t token_len);

/**
 * Lends the access token (copied into the session, wiped after AUTH): at
 * the `NEED_TOKEN` event, or any time before AUTH. An empty token is
 * `INVALID_ARGUMENT`, one over 4096 octets `CAPACITY_EXCEEDED`, a session
 * that is over `WRONG_STATE`.
 *
 * Safety:
 * `smtp` as for `mfp_oauth_smtp_destroy`; `token` NULL or valid for
 * `token_len` bytes.
 */
mfp_oauth_status mfp_oauth_smtp_set_token(mfp_oauth_smtp *smtp,
                                          uint64_t now_ms,
                                          const uint8_t *token,
                                          size_t token_len);

/**
 * Ends the session's life: wipes the token and every byte of `smtp`.
 * Destroying storage that holds no session (never created, or already
 * destroyed) is allowed and does nothing. The storage may then be reused
 * or freed.
 *
 * Safety:
 * `smtp` is NULL or valid for reads and writes of `mfp_oauth_smtp`.
 */
mfp_oauth_status mfp_oauth_smtp_destroy(mfp_oauth_smtp *smtp);

/**
 * Submits a message from `from` to the `to_count` recipients in `to`
 * (1 to 16, their addresses at most 1,280 octets together). `size` is
 * the message's size in octets if known (checked
 * against the server's SIZE before anything is sent), 0 if not. Accepted
 * before the session is ready (it starts once authenticated) or when idle;
 * one message at a time, else `WRONG_STATE`. Every string is copied.
 *
 * Errors: `INVALID_ARGUMENT` (no recipient), `CAPACITY_EXCEEDED` (more than
 * 16, or longer together than 1,280 octets), `INVALID_ADDRESS`,
 * `WRONG_STATE`.
 *
 * Safety:
 * `smtp` as for `mfp_oauth_smtp_destroy`; `from` NULL or valid for
 * `from_len` bytes; `to` NULL or valid for `to_count` entries, each valid
 * for its length.
 *
 * Stack: 984 B at opt-level s, 1,584 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_smtp_send_message(mfp_oauth_smtp *smtp,
                                             uint64_t now_ms,
                                             const char *from,
                                             size_t from_len,
                                             const mfp_oauth_str *to,
                                             size_t to_count,
                                             uint64_t size);

/**
 * After `AUTH_REJECTED` with `refresh_and_retry`: tries again, once, with
 * a freshly refreshed access token (copied). `WRONG_STATE` otherwise.
 *
 * Safety:
 * `smtp` as for `mfp_oauth_smtp_destroy`; `token` NULL or valid for
 * `token_len` bytes.
 */
mfp_oauth_status mfp_oauth_smtp_retry_auth(mfp_oauth_smtp *smtp,
                                           uint64_t now_ms,
                                           const uint8_t *token,
                                           size_t token_len);

/**
 * Ends the session: QUIT when idle, otherwise abandons it at once (the
 * session reports `CLOSED`; close the connection). `WRONG_STATE` in the
 * middle of a body, where QUIT would become message text.
 *
 * Safety:
 * As for `mfp_oauth_smtp_destroy`.
 *
 * Stack: 72 B at opt-level s, 104 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_smtp_quit(mfp_oauth_smtp *smtp, uint64_t now_ms);

/**
 * Writes the next event to `*out_event`; its `kind` is
 * `MFP_OAUTH_SMTP_EVENT_KIND_NONE` when none is pending. Drain events after
 * every input.
 *
 * Safety:
 * `smtp` as for `mfp_oauth_smtp_destroy`; `out_event` NULL or valid for a
 * write.
 *
 * Stack: 188 B at opt-level s, 212 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_smtp_poll_event(mfp_oauth_smtp *smtp, mfp_oauth_smtp_event *out_event);

/**
 * Feeds `len` octets received from the server. Every octet is taken:
 * `*out_consumed` is always `len` (once the session is closed they are
 * ignored). A session that was not created is `WRONG_STATE`.
 *
 * STARTTLS: once the `220` reply to STARTTLS has arrived, nothing more may
 * be read in plaintext. Octets that came after that `220`, in the same
 * read or later, before the TLS handshake, may have been injected by an
 * attacker: discard them. Never keep them to feed after the handshake,
 * and never hand them to the TLS library as TLS input; after
 * `UPGRADE_TLS`, feed only what the TLS session decrypts. If such octets
 * are fed anyway (with the `220` in one call, during the handshake, or
 * after `mfp_oauth_smtp_handle_tls_established` before the new EHLO went
 * out), none of them is taken as a reply: the session fails
 * (`FAILED` event, `MFP_OAUTH_STATUS_PROTOCOL_VIOLATION`) and the
 * connection must be closed.
 *
 * Safety:
 * `smtp` as for `mfp_oauth_smtp_destroy`; `data` NULL or valid for `len`
 * bytes; `out_consumed` NULL or valid for a write.
 *
 * Stack: 1,032 B at opt-level s, 1,104 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_smtp_handle_input(mfp_oauth_smtp *smtp,
                                             uint64_t now_ms,
                                             const uint8_t *data,
                                             size_t len,
                                             size_t *out_consumed);

/**
 * TLS is now established on the connection (after the `UPGRADE_TLS`
 * event); the session sends EHLO again. `WRONG_STATE` at any other time.
 *
 * Safety:
 * As for `mfp_oauth_smtp_destroy`.
 *
 * Stack: 96 B at opt-level s, 160 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_smtp_handle_tls_established(mfp_oauth_smtp *smtp, uint64_t now_ms);

/**
 * The TLS handshake started for the `UPGRADE_TLS` event failed. `diag`
 * is the TLS stack's reason, as it would be reported on implicit TLS:
 * `MFP_OAUTH_STATUS_CERTIFICATE_UNTRUSTED` (E609: unknown authority,
 * self-signed), `MFP_OAUTH_STATUS_CERTIFICATE_WRONG_NAME` (E608),
 * `MFP_OAUTH_STATUS_CERTIFICATE_EXPIRED` (E607),
 * `MFP_OAUTH_STATUS_CERTIFICATE_INVALID` (E604, any other refused
 * certificate), `MFP_OAUTH_STATUS_TLS_VERSION_MISMATCH` (E610: no TLS
 * version in common within the settings' range),
 * `MFP_OAUTH_STATUS_TLS_HANDSHAKE_FAILED` (E603, any other handshake
 * failure), `MFP_OAUTH_STATUS_NETWORK_TIMEOUT` (E605) or
 * `MFP_OAUTH_STATUS_IO_ERROR` (E606). The session fails with that
 * diagnostic (a `FAILED` event carrying it, not E325 "connection
 * closed"); nothing more is sent, the token never went out: close the
 * connection. Any other `diag` is `MFP_OAUTH_STATUS_INVALID_ARGUMENT` and
 * changes nothing. Called when no handshake is under way, it acts as
 * `mfp_oauth_smtp_handle_close`. A session that was not created is
 * `WRONG_STATE`.
 *
 * Safety:
 * As for `mfp_oauth_smtp_destroy`.
 */
mfp_oauth_status mfp_oauth_smtp_handle_tls_failed(mfp_oauth_smtp *smtp,
                                                  uint64_t now_ms,
                                                  uint32_t diag);

/**
 * The server closed the connection, or the firmware lost it. The session
 * reports `CLOSED` (after QUIT) or `FAILED`.
 *
 * Safety:
 * As for `mfp_oauth_smtp_destroy`.
 */
mfp_oauth_status mfp_oauth_smtp_handle_close(mfp_oauth_smtp *smtp, uint64_t now_ms);

/**
 * Call when `now_ms` has reached the deadline of
 * `mfp_oauth_smtp_poll_timeout`; earlier calls do nothing.
 *
 * Safety:
 * As for `mfp_oauth_smtp_destroy`.
 */
mfp_oauth_status mfp_oauth_smtp_handle_timeout(mfp_oauth_smtp *smtp, uint64_t now_ms);

/**
 * After `READY_FOR_BODY`: dot-stuffs and normalises body octets from
 * `input` into `out` (at least `MFP_OAUTH_SMTP_MIN_BODY_OUT_LEN` octets); send `out[..*out_written]` as
 * is. `*out_consumed` input octets were taken: offer the rest again. The
 * body may be of any size, streamed in any pieces (as BDAT chunks when the
 * server offers CHUNKING, else dot-stuffed DATA). `WRONG_STATE` when no
 * body is expected; `BUFFER_TOO_SMALL` with the size needed in
 * `*out_written` when `out_len < MFP_OAUTH_SMTP_MIN_BODY_OUT_LEN`.
 *
 * Safety:
 * `smtp` as for `mfp_oauth_smtp_destroy`; `input` NULL or valid for
 * `input_len` bytes; `out` NULL or valid for `out_len` bytes of writes,
 * not overlapping `input`; the outputs NULL or valid for a write.
 *
 * Stack: 228 B at opt-level s, 268 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_smtp_write_body(mfp_oauth_smtp *smtp,
                                           const uint8_t *input,
                                           size_t input_len,
                                           uint8_t *out,
                                           size_t out_len,
                                           size_t *out_consumed,
                                           size_t *out_written);

/**
 * `mfp_oauth_smtp_write_body` for a body the caller declares canonical:
 * CRLF line ends only and no line that starts with a dot, as the message
 * composer (`mfp_oauth_mime_poll_output`) produces. Same contract and, for
 * such a body, the same octets on the wire, at a fraction of the cost:
 * with BDAT the octets are copied unscanned; with DATA only the dots are
 * looked at, and a dot that starts a line is still doubled, so a body
 * wrongly declared canonical can never end the message early. Calls of
 * both kinds may be mixed within one body.
 *
 * Safety:
 * As for `mfp_oauth_smtp_write_body`.
 */
mfp_oauth_status mfp_oauth_smtp_write_body_canonical(mfp_oauth_smtp *smtp,
                                                     const uint8_t *input,
                                                     size_t input_len,
                                                     uint8_t *out,
                                                     size_t out_len,
                                                     size_t *out_consumed,
                                                     size_t *out_written);

/**
 * The whole body was written: the session queues the end of data.
 * `WRONG_STATE` when no body is in progress.
 *
 * Safety:
 * As for `mfp_oauth_smtp_destroy`.
 *
 * Stack: 88 B at opt-level s, 144 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_smtp_finish_body(mfp_oauth_smtp *smtp, uint64_t now_ms);

/**
 * Writes the next octets to send into `out`; `*out_written` is their
 * count (0: nothing to send now) and `*out_sensitive` says they carry the
 * access token (never log them; the session guarantees TLS is up). Any
 * `out_len` of 1 or more works (a long AUTH line takes several calls);
 * 512 avoids splitting commands. `BUFFER_TOO_SMALL` (with 1 in
 * `*out_written`) when `out_len` is 0 and something is pending.
 *
 * Safety:
 * `smtp` as for `mfp_oauth_smtp_destroy`; `out` NULL or valid for
 * `out_len` bytes of writes; the outputs NULL or valid for a write.
 *
 * Stack: 680 B at opt-level s, 704 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_smtp_poll_transmit(mfp_oauth_smtp *smtp,
                                              uint64_t now_ms,
                                              uint8_t *out,
                                              size_t out_len,
                                              size_t *out_written,
                                              bool *out_sensitive);

/**
 * Writes when `mfp_oauth_smtp_handle_timeout` must be called, in the
 * caller's milliseconds, or `MFP_OAUTH_NO_DEADLINE` when no reply is
 * awaited.
 *
 * Safety:
 * `smtp` as for `mfp_oauth_smtp_destroy` (only read); `out_deadline_ms`
 * NULL or valid for a write.
 */
mfp_oauth_status mfp_oauth_smtp_poll_timeout(const mfp_oauth_smtp *smtp, uint64_t *out_deadline_ms);

/**
 * Writes the session's state flags to `*out_state`.
 *
 * Safety:
 * `smtp` as for `mfp_oauth_smtp_destroy` (only read); `out_state` NULL or
 * valid for a write.
 */
mfp_oauth_status mfp_oauth_smtp_session_state(const mfp_oauth_smtp *smtp,
                                              mfp_oauth_smtp_state *out_state);

/**
 * Writes the last complete reply of the server, for display and logs: its
 * code to `*out_code` and its text (enhanced code removed, lines joined,
 * at most 256 octets, NUL-terminated: `MFP_OAUTH_REPLY_TEXT_BUF_LEN`
 * always suffices) to `buf`, with `*out_len` its length. `WRONG_STATE`
 * before any reply; `BUFFER_TOO_SMALL` with the size needed in `*out_len`
 * (nothing else written). Never contains what the client sent. For the
 * mailer's session, `mfp_oauth_mailer_last_reply`.
 *
 * Safety:
 * `smtp` as for `mfp_oauth_smtp_destroy` (only read); `buf` NULL or valid
 * for `buf_len` bytes of writes; the outputs NULL or valid for a write.
 */
mfp_oauth_status mfp_oauth_smtp_last_reply(const mfp_oauth_smtp *smtp,
                                           uint32_t *out_code,
                                           char *buf,
                                           size_t buf_len,
                                           size_t *out_len);

/**
 * The C name of a status, e.g. `"MFP_OAUTH_STATUS_SMTP_AUTH_DISABLED"` for
 * 305, or `"MFP_OAUTH_STATUS_UNKNOWN"` for a number that is no status.
 *
 * Takes the status as a plain integer so that any value is safe to pass.
 * The returned pointer is a static NUL-terminated string, valid for the
 * whole program; never NULL; do not free it. Reentrant: safe from any task
 * or interrupt.
 */
const char *mfp_oauth_status_str(uint32_t status);

/**
 * Creates a token client in `client` for the provider, tenant, client id
 * and custom endpoints of `settings` (the other fields are ignored).
 * `seed` feeds the retry jitter (any value; a per-device one spreads
 * retries). Errors: `INVALID_ARGUMENT`, `PROVIDER_PROFILE_INCOMPLETE` and
 * the provider profile's diagnostics (bad tenant, client id or URL).
 *
 * If `client` holds a live client, destroy it first. Not thread-safe or
 * ISR-safe, like every `mfp_oauth_token_client_*` call.
 *
 * Safety:
 * `client` NULL or valid for writes of `mfp_oauth_token_client`;
 * `settings` NULL or valid with its strings valid for their lengths.
 *
 * Stack: 696 B at opt-level s, 736 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_token_client_create(mfp_oauth_token_client *client,
                                               const mfp_oauth_settings *settings,
                                               uint64_t seed);

/**
 * The settings changed: takes the provider, tenant, client id and custom
 * endpoints of `settings` anew and abandons any flow (firmware that keeps
 * one client in static storage reconfigures it this way). On error the
 * client is unchanged.
 *
 * Safety:
 * `client` as for `_destroy`; `settings` NULL or valid with its strings
 * valid for their lengths.
 */
mfp_oauth_status mfp_oauth_token_client_set_profile(mfp_oauth_token_client *client,
                                                    const mfp_oauth_settings *settings);

/**
 * Wipes the client (tokens, codes, verifier) and every byte of its
 * storage. Destroying storage that holds no client does nothing.
 *
 * Safety:
 * `client` NULL or valid for reads and writes of `mfp_oauth_token_client`.
 */
mfp_oauth_status mfp_oauth_token_client_destroy(mfp_oauth_token_client *client);

/**
 * Starts the device authorization grant (RFC 8628): the `USER_CODE`
 * event says when to show `mfp_oauth_token_client_device_code`. Google
 * refuses it (`DEVICE_FLOW_NOT_SUPPORTED`): use the PKCE flow.
 *
 * Safety:
 * As for `mfp_oauth_token_client_destroy`.
 */
mfp_oauth_status mfp_oauth_token_client_start_device(mfp_oauth_token_client *client,
                                                     uint64_t now_ms);

/**
 * Starts the authorization code flow with PKCE S256 and a loopback
 * redirect `http://127.0.0.1:<port>/` (`loopback_port`); then show
 * `mfp_oauth_token_client_authorize_url` in the browser and give the
 * redirect's request-target to `mfp_oauth_token_client_handle_redirect`.
 * `random` is 48 octets from a cryptographic RNG (verifier and state);
 * `login_hint` is an address or `{NULL, 0}`.
 *
 * Safety:
 * `client` as for `_destroy`; `random` NULL or valid for 48 bytes;
 * `login_hint` NULL or valid for `login_hint_len` bytes.
 */
mfp_oauth_status mfp_oauth_token_client_start_auth_code(mfp_oauth_token_client *client,
                                                        uint64_t now_ms,
                                                        const uint8_t *random,
                                                        uint16_t loopback_port,
                                                        const char *login_hint,
                                                        size_t login_hint_len);

/**
 * Writes the authorize URL for the browser (PKCE flow) as a NUL-terminated
 * string; `BUFFER_TOO_SMALL` with the size needed in `*out_len`.
 *
 * Safety:
 * `client` as for `_destroy` (only read); `buf` NULL or valid for
 * `buf_len` bytes of writes; `out_len` NULL or valid for a write.
 */
mfp_oauth_status mfp_oauth_token_client_authorize_url(const mfp_oauth_token_client *client,
                                                      char *buf,
                                                      size_t buf_len,
                                                      size_t *out_len);

/**
 * The browser came back to the loopback listener: `target` is the
 * request-target of its `GET` (`/?code=...&state=...`). A wrong `state` is
 * `STATE_MISMATCH`; an error redirect is reported as its diagnostic.
 *
 * Safety:
 * `client` as for `_destroy`; `target` NULL or valid for `target_len` bytes.
 */
mfp_oauth_status mfp_oauth_token_client_handle_redirect(mfp_oauth_token_client *client,
                                                        uint64_t now_ms,
                                                        const uint8_t *target,
                                                        size_t target_len);

/**
 * After `ACCESS_TOKEN` of a sign-in: writes the account the provider says
 * signed in (read from the `id_token` of the token endpoint's answer,
 * R-ACCT) into `buf` (NUL-terminated; `MFP_OAUTH_ADDRESS_BUF_LEN` always
 * suffices) with its length in `*out_len`, so the panel can show "signed
 * in as …", and both addresses when the mailer refuses the token with
 * `ACCOUNT_MISMATCH`. `WRONG_STATE` when there is no
 * such account: no flow succeeded yet, a refresh, or a provider that named
 * none (the account is then unverified); `BUFFER_TOO_SMALL` with the
 * length needed in `*out_len`.
 *
 * Safety:
 * `client` as for `_destroy` (only read); `buf` NULL or valid for
 * `buf_len` bytes; `out_len` NULL or valid for a write.
 */
mfp_oauth_status mfp_oauth_token_client_signed_in_account(const mfp_oauth_token_client *client,
                                                          char *buf,
                                                          size_t buf_len,
                                                          size_t *out_len);

/**
 * Device flow, after `USER_CODE`: writes the code the user types and the
 * URI where (NUL-terminated, into `user_code` of `user_code_len` octets —
 * 33 suffice — and `uri` of `uri_len` — 257 suffice), and the code's
 * lifetime. `WRONG_STATE` before the code arrived; `BUFFER_TOO_SMALL`
 * (nothing written) if either buffer is short.
 *
 * Safety:
 * `client` as for `_destroy` (only read); buffers NULL or valid for their
 * lengths; `out_expires_in_s` NULL or valid.
 */
mfp_oauth_status mfp_oauth_token_client_device_code(const mfp_oauth_token_client *client,
                                                    char *user_code,
                                                    size_t user_code_len,
                                                    char *uri,
                                                    size_t uri_len,
                                                    uint64_t *out_expires_in_s);

/**
 * Writes the next event (`kind` NONE when none). For a job's flow, the
 * end taken here is reported with `mfp_oauth_mailer_auth_succeeded`,
 * `_exchange_succeeded`, `_auth_failed` or `_exchange_failed`, or left to
 * `mfp_oauth_mailer_poll_token_event`, which reports it all the same.
 *
 * Safety:
 * `client` as for `_destroy`; `out_event` NULL or valid for a write.
 *
 * Stack: 116 B at opt-level s, 116 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_token_client_poll_event(mfp_oauth_token_client *client,
                                                   mfp_oauth_token_event *out_event);

/**
 * After SIGNATURE_REQUIRED: writes the octets to sign (the JWS signing
 * input, `BASE64URL(header) "." BASE64URL(claims)`, never a secret) into
 * `buf` and their length to `*out_len`. `BUFFER_TOO_SMALL` with the length
 * needed in `*out_len` (at most `MFP_OAUTH_MAX_SIGNING_INPUT_LEN`; the
 * token request buffer may be lent for it); `WRONG_STATE` when no
 * signature is awaited.
 *
 * Safety:
 * `client` as for `_destroy` (only read); `buf` NULL or valid for
 * `buf_len` bytes; `out_len` NULL or valid for a write.
 */
mfp_oauth_status mfp_oauth_token_client_signing_input(const mfp_oauth_token_client *client,
                                                      uint8_t *buf,
                                                      size_t buf_len,
                                                      size_t *out_len);

/**
 * The signature of the octets `mfp_oauth_token_client_signing_input`
 * gave (RS256: RSASSA-PKCS1-v1_5 with SHA-256, 256 octets for a 2048-bit
 * key; at most `MFP_OAUTH_MAX_SIGNATURE_LEN`): the grant's request goes
 * out with the next `mfp_oauth_token_client_poll_transmit`.
 * `SIGNING_FAILED` past the limit; `WRONG_STATE` when no signature is
 * awaited.
 *
 * Safety:
 * `client` as for `_destroy`; `signature` NULL or valid for
 * `signature_len` bytes.
 */
mfp_oauth_status mfp_oauth_token_client_handle_signature(mfp_oauth_token_client *client,
                                                         uint64_t now_ms,
                                                         const uint8_t *signature,
                                                         size_t signature_len);

/**
 * The firmware could not sign (its key or secure element failed): the
 * flow ends with FAILED (`SIGNING_FAILED`) and nothing is sent.
 * `WRONG_STATE` when no signature is awaited.
 *
 * Safety:
 * `client` as for `_destroy`.
 */
mfp_oauth_status mfp_oauth_token_client_signing_failed(mfp_oauth_token_client *client);

/**
 * Writes the next HTTP/1.1 request into `out` when one is due at `now_ms`
 * (`*out_written` 0: none), with where to send it in `*out_endpoint`;
 * `*out_sensitive` says it carries a secret (never log it). Send it on a
 * new connection. A buffer shorter than the request gets it in pieces:
 * `out_endpoint->offset` 0 opens the connection, and until
 * `out_endpoint->last` call again and write each piece on that
 * connection (a few hundred octets suffice; 8 KB always holds a request
 * whole). Only an empty buffer is `BUFFER_TOO_SMALL`, with the request's
 * length in `*out_written`.
 *
 * Safety:
 * `client` as for `_destroy`; `out` NULL or valid for `out_len` bytes of
 * writes; the outputs NULL or valid for a write.
 *
 * Stack: 1,696 B at opt-level s, 1,760 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_token_client_poll_transmit(mfp_oauth_token_client *client,
                                                      uint64_t now_ms,
                                                      uint8_t *out,
                                                      size_t out_len,
                                                      size_t *out_written,
                                                      bool *out_sensitive,
                                                      mfp_oauth_endpoint *out_endpoint);

/**
 * Feeds response octets; `*out_consumed` of them were taken. Octets after
 * the end of the response are not taken: discard them. After each call,
 * ask `mfp_oauth_token_client_connection_done` whether to close the
 * connection.
 *
 * Safety:
 * `client` as for `_destroy`; `data` NULL or valid for `len` bytes;
 * `out_consumed` NULL or valid for a write.
 *
 * Stack: 908 B at opt-level s, 1,104 B at z (Cortex-M4F, tools/size-report.sh).
 */
mfp_oauth_status mfp_oauth_token_client_handle_input(mfp_oauth_token_client *client,
                                                     uint64_t now_ms,
                                                     const uint8_t *data,
                                                     size_t len,
                                                     size_t *out_consumed);

/**
 * The response's connection lifecycle, the "response complete, close
 * now" signal: after `mfp_oauth_token_client_poll_transmit` wrote a
 * request, `*out_done` is false while its response is awaited (keep
 * reading and feeding `_handle_input`), and true once the connection has
 * served: the response is complete, or the request failed or timed out
 * (after `_handle_input`, `_handle_close`, `_handle_timeout` or
 * `_handle_transport_error`). Then close the connection, whatever the
 * events say: even an answer that brings no event (a device poll still
 * pending) ends it. The next request, if any, goes on a new connection.
 * A response without Content-Length ends only with the server's close:
 * `_handle_close`. Also true when no request is out (no connection is
 * needed then).
 *
 * Safety:
 * `client` as for `_destroy` (only read); `out_done` NULL or valid for a
 * write.
 */
mfp_oauth_status mfp_oauth_token_client_connection_done(const mfp_oauth_token_client *client,
                                                        bool *out_done);

/**
 * The server closed the connection (the end of a response without
 * Content-Length is its close).
 *
 * Safety:
 * As for `mfp_oauth_token_client_destroy`.
 */
mfp_oauth_status mfp_oauth_token_client_handle_close(mfp_oauth_token_client *client,
                                                     uint64_t now_ms);

/**
 * The connection could not be made or broke (`diag`: a 6xx network
 * diagnostic such as `MFP_OAUTH_STATUS_CONNECT_FAILED`, or
 * `MFP_OAUTH_STATUS_TLS_VERSION_MISMATCH` when the TLS stack found no
 * version in common within the settings' range); the client retries with
 * backoff or fails (a refused certificate and no TLS version in common
 * fail at once: trying again would not help). Any other `diag` is
 * `INVALID_ARGUMENT`.
 *
 * Safety:
 * As for `mfp_oauth_token_client_destroy`.
 */
mfp_oauth_status mfp_oauth_token_client_handle_transport_error(mfp_oauth_token_client *client,
                                                               uint64_t now_ms,
                                                               uint32_t diag);

/**
 * Call when `now_ms` reached the deadline of `_poll_timeout`.
 *
 * Safety:
 * As for `mfp_oauth_token_client_destroy`.
 */
mfp_oauth_status mfp_oauth_token_client_handle_timeout(mfp_oauth_token_client *client,
                                                       uint64_t now_ms);

/**
 * Writes when `_handle_timeout` (or the next `_poll_transmit`) is due, or
 * `MFP_OAUTH_NO_DEADLINE`.
 *
 * Safety:
 * `client` as for `_destroy` (only read); `out_deadline_ms` NULL or valid.
 */
mfp_oauth_status mfp_oauth_token_client_poll_timeout(const mfp_oauth_token_client *client,
                                                     uint64_t *out_deadline_ms);

/**
 * Supplied by the firmware: called if the library ever panics (a
 * bug: the core is written and fuzzed not to). It should log and
 * reset the device; if it returns, the library spins forever.
 */
extern void mfp_oauth_panic_hook(void);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* MFP_OAUTH_H */
