//! The simulated mail APIs (test double): one HTTPS server on 127.0.0.1 that
//! answers like Microsoft Graph (`sendMail` with base64 MIME; a draft, upload
//! sessions on a pre-authenticated URL or small files by `…/attachments`,
//! then `send`) and like the Gmail API
//! (`users.messages.send` by media upload and by resumable upload), the two
//! told apart by path (R-XPORT, issue 19). **Not a product feature.**
//!
//! Bearer tokens are the ones the simulated provider issued (shared [`Sim`]
//! state), and the scope they were granted with is checked. Every request is
//! logged ([`Sim::api_requests`]), every message accepted is recorded
//! ([`Sim::api_deliveries`]), and faults are queued per API
//! ([`Sim::push_api_fault`]): throttling with `Retry-After`, server errors, a
//! connection dropped part-way through a request body, an answer lost after
//! the work was done.
//!
//! HTTP/1.1 with keep-alive (several requests on one connection),
//! `Content-Length` or chunked request bodies, answers always with
//! `Content-Length`. Where a body is documented the text is the documented
//! one (sources next to each); where it is not, the wording is the
//! simulator's own and says so.

mod gmail;
mod graph;
mod http;

use self::gmail::{gmail_send, gmail_upload_put};
use self::graph::{
    graph_add_attachment, graph_create_draft, graph_send_draft, graph_send_mail, graph_upload,
    graph_upload_session,
};
use self::http::{body_len, find, Body, BodyLen, Conn, Head, Reply, GOOGLE_JSON, GRAPH_JSON};
use super::pki::Pki;
use super::{spawn_server, ServerHandle, Sim, TokenCheck};
use crate::clock::Clock;
use base64::Engine as _;
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::TcpStream;
use std::sync::Arc;

/// Graph's limit on one request: 4 MB (microsoft-graph-docs issue 9834;
/// docs-contrib `concepts/outlook-large-attachments.md`). A larger body is
/// answered `413`.
pub const GRAPH_MAX_BODY: usize = 4 * 1024 * 1024;
/// Smallest attachment an upload session is for: 3 MB (below it Graph
/// answers `ErrorAttachmentSizeShouldNotBeLessThanMinimumSize`,
/// `outlook-large-attachments.md`).
pub const GRAPH_UPLOAD_MIN: usize = 3 * 1024 * 1024;
/// Largest attachment an upload session is for: 150 MB (same page).
pub const GRAPH_UPLOAD_MAX: usize = 150 * 1024 * 1024;
/// Gmail's media upload limit: 5 MB (`uploadType=media`).
pub const GMAIL_MEDIA_MAX: usize = 5 * 1024 * 1024;
/// Gmail's `users.messages.send` limit: 35 MiB (discovery `maxSize`).
pub const GMAIL_RESUMABLE_MAX: usize = 36_700_160;
/// Google commits resumable uploads in multiples of 256 KiB: of a chunk
/// that is not the last one, only the octets up to such a multiple are
/// kept, and the `308` answer's `Range` says so.
pub const GMAIL_CHUNK_GRANULE: usize = 256 * 1024;
/// Path prefix of Graph's API.
pub const GRAPH_PREFIX: &str = "/v1.0";
/// Path prefix of the pre-authenticated upload URLs (Graph hands out URLs
/// on outlook.office.com; here the same server).
pub const GRAPH_UPLOAD_PREFIX: &str = "/upload/outlook/AttachmentSessions/";
/// The Gmail upload path for `users.messages.send` as `me`.
pub const GMAIL_SEND_PATH: &str = "/upload/gmail/v1/users/me/messages/send";

/// Longest request head (request line and headers).
const MAX_HEAD: usize = 16 * 1024;
/// Most header fields in a request.
const MAX_HEADERS: usize = 48;
/// Largest body of a request that is neither a message nor an upload.
const MAX_SMALL_BODY: usize = 64 * 1024;
/// Largest over-limit body read and thrown away before the `413` (so that a
/// client that writes its whole body before reading still gets the answer);
/// beyond it the server answers at once and closes.
const MAX_DRAIN: usize = 40 * 1024 * 1024;
/// Requests served on one connection before the server closes it.
const MAX_REQUESTS_PER_CONNECTION: usize = 200;
/// Bounds of the records.
const MAX_DELIVERIES: usize = 1_000;
const MAX_LOG: usize = 10_000;
const MAX_DRAFTS: usize = 64;
const MAX_SESSIONS: usize = 32;
/// `expirationDateTime` of every upload session.
const EXPIRATION: &str = "2099-01-01T00:00:00.0000000Z";

/// Which API a request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// Microsoft Graph (and its pre-authenticated upload URLs).
    Graph,
    /// The Gmail API.
    Gmail,
}

/// A file attached to a Graph draft (`…/attachments` or an upload session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiAttachment {
    /// `AttachmentItem.name`.
    pub name: String,
    /// The octets uploaded.
    pub content: Vec<u8>,
}

/// A message one of the APIs accepted for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiDelivery {
    /// Which API.
    pub api: Api,
    /// The mailbox it was sent from (the token's account).
    pub account: String,
    /// The MIME message as it arrived (Graph: base64-decoded).
    pub mime: Vec<u8>,
    /// Files added to the Graph draft (`…/attachments` or upload sessions),
    /// in the order they were attached (empty otherwise).
    pub attachments: Vec<ApiAttachment>,
    /// Path of the request that sent it (`/v1.0/me/sendMail`,
    /// `/v1.0/me/messages/{id}/send`, [`GMAIL_SEND_PATH`]).
    pub path: String,
    /// The id the API gave the message (Graph: the draft's id, or a new
    /// one for `sendMail`; Gmail: the `id` answered).
    pub id: String,
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// Which API (`None`: a path neither API has).
    pub api: Option<Api>,
    /// `POST`, `PUT`, `GET`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query without `authtoken` (`uploadType=media`).
    pub query: String,
    /// The status answered; 0 when no answer was written (a dropped
    /// connection, a lost answer, a broken request).
    pub status: u16,
}

/// A fault the next request to an API meets instead of its normal answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFault {
    /// `429` with `Retry-After`. Graph: `ApplicationThrottled`; Gmail:
    /// `rateLimitExceeded`.
    Throttled {
        /// The `Retry-After` value, seconds.
        retry_after_s: u64,
    },
    /// `429` with `Retry-After`. Graph: `TooManyRequests`; Gmail:
    /// `userRateLimitExceeded`.
    UserRateLimit {
        /// The `Retry-After` value, seconds.
        retry_after_s: u64,
    },
    /// `503` with `Retry-After`. Graph: `serviceNotAvailable`; Gmail:
    /// `backendError`.
    Unavailable {
        /// The `Retry-After` value, seconds.
        retry_after_s: u64,
    },
    /// `500`. Graph: `generalException`; Gmail: `backendError`.
    ServerError,
    /// No fault: the request is carried out as usual (to aim the faults
    /// queued after it at later requests of an exchange).
    Pass,
    /// As [`ApiFault::Throttled`], but only once the whole body is read,
    /// as a server that lets `Expect: 100-continue` through to the
    /// application decides (the other answers of this kind come before
    /// the body when the request expects `100 Continue`).
    ThrottledAfterBody {
        /// The `Retry-After` value, seconds.
        retry_after_s: u64,
    },
    /// Read this many octets of the request's body (all of it if it is
    /// shorter), then close the connection without an answer. The request
    /// is not carried out, except that a Gmail resumable upload keeps the
    /// octets received, in multiples of 256 KiB, as Google does.
    Drop {
        /// Body octets read before the connection is closed.
        after: usize,
    },
    /// Carry the request out (send, commit), then close the connection
    /// without writing the answer.
    LoseAnswer,
    /// Every access token issued so far expires as this request arrives
    /// (it is then carried out as usual: a request with a token gets
    /// `401`, an upload URL's does not need one): a token that runs out in
    /// the middle of an upload.
    ExpireTokens,
}

/// A Graph draft (`POST /me/messages`).
#[derive(Debug, Clone)]
struct Draft {
    account: String,
    mime: Vec<u8>,
    attachments: Vec<ApiAttachment>,
}

/// A Graph attachment upload session.
#[derive(Debug, Clone)]
struct GraphSession {
    draft: String,
    account: String,
    token: String,
    name: String,
    size: usize,
    data: Vec<u8>,
    done: bool,
}

/// A Gmail resumable upload session.
#[derive(Debug, Clone)]
struct GmailSession {
    account: String,
    total: usize,
    data: Vec<u8>,
    /// The final answer, once the last octet arrived.
    outcome: Option<(u16, Value)>,
}

/// The APIs' part of the shared state.
#[derive(Debug, Default)]
pub(super) struct ApiState {
    deliveries: Vec<ApiDelivery>,
    log: Vec<ApiRequest>,
    faults: HashMap<Api, VecDeque<ApiFault>>,
    send_as: HashMap<String, HashSet<String>>,
    disabled: HashSet<(Api, String)>,
    drafts: HashMap<String, Draft>,
    graph_sessions: HashMap<String, GraphSession>,
    gmail_sessions: HashMap<String, GmailSession>,
}

/// What a valid bearer token was issued for.
struct Grant {
    account: String,
    scope: String,
}

impl Sim {
    /// Messages the APIs accepted, oldest first.
    #[must_use]
    pub fn api_deliveries(&self) -> Vec<ApiDelivery> {
        self.book().api.deliveries.clone()
    }

    /// Requests the API server read, oldest first.
    #[must_use]
    pub fn api_requests(&self) -> Vec<ApiRequest> {
        self.book().api.log.clone()
    }

    /// Queue `fault` for the next `times` requests to `api` (after those
    /// already queued). Every request to that API takes the next one,
    /// uploads to a session URL included.
    pub fn push_api_fault(&self, api: Api, fault: ApiFault, times: usize) {
        let mut book = self.book();
        let q = book.api.faults.entry(api).or_default();
        for _ in 0..times.min(10_000) {
            q.push_back(fault);
        }
    }

    /// Faults still queued for `api`.
    #[must_use]
    pub fn pending_api_faults(&self, api: Api) -> usize {
        self.book().api.faults.get(&api).map_or(0, VecDeque::len)
    }

    /// Let `mailbox` send with `from` in the MIME `From:` on Graph (a
    /// SendAs grant); without one Graph answers `403 ErrorSendAsDenied`
    /// for any other address.
    pub fn allow_send_as(&self, mailbox: &str, from: &str) {
        self.book()
            .api
            .send_as
            .entry(mailbox.to_ascii_lowercase())
            .or_default()
            .insert(from.to_ascii_lowercase());
    }

    /// Switch `api` off (or on) for `account`: Graph answers `404
    /// MailboxNotEnabledForRESTAPI`, Gmail `400 failedPrecondition` ("Mail
    /// service not enabled").
    pub fn set_api_mailbox_disabled(&self, api: Api, account: &str, disabled: bool) {
        let key = (api, account.to_ascii_lowercase());
        let mut book = self.book();
        if disabled {
            book.api.disabled.insert(key);
        } else {
            book.api.disabled.remove(&key);
        }
    }

    /// Ids of the Graph drafts not sent (yet).
    #[must_use]
    pub fn api_drafts(&self) -> Vec<String> {
        self.book().api.drafts.keys().cloned().collect()
    }

    fn api_disabled(&self, api: Api, account: &str) -> bool {
        self.book()
            .api
            .disabled
            .contains(&(api, account.to_ascii_lowercase()))
    }

    fn pop_api_fault(&self, api: Api) -> Option<ApiFault> {
        self.book().api.faults.get_mut(&api)?.pop_front()
    }

    fn log_api(&self, r: ApiRequest) {
        let mut book = self.book();
        if book.api.log.len() < MAX_LOG {
            book.api.log.push(r);
        }
    }

    fn deliver(&self, d: ApiDelivery) {
        let mut book = self.book();
        if book.api.deliveries.len() < MAX_DELIVERIES {
            book.api.deliveries.push(d);
        }
    }

    fn api_grant(&self, token: &str) -> Result<Grant, TokenCheck> {
        let now = self.clock.now();
        match self.book().access.get(token) {
            None => Err(TokenCheck::Unknown),
            Some(g) if now >= g.expires_at => Err(TokenCheck::Expired),
            Some(g) => Ok(Grant {
                account: g.account.clone(),
                scope: g.scope.clone(),
            }),
        }
    }
}

/// The running API server.
#[derive(Debug)]
pub struct ApiServer {
    handle: ServerHandle,
}

impl ApiServer {
    /// Start serving `sim`'s APIs over HTTPS with the certificate of `pki`.
    pub fn start(sim: &Sim, pki: &Pki) -> io::Result<Self> {
        let config = pki
            .server_config(&[b"http/1.1"])
            .map_err(|e| io::Error::other(e.to_string()))?;
        let sim = sim.clone();
        let port_cell = Arc::new(std::sync::OnceLock::<u16>::new());
        let port_for_conn = Arc::clone(&port_cell);
        let handle = spawn_server("api", move |tcp| {
            let port = port_for_conn.get().copied().unwrap_or(0);
            serve(&sim, &config, port, tcp);
        })?;
        let _ = port_cell.set(handle.port());
        Ok(ApiServer { handle })
    }

    /// The port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.handle.port()
    }

    /// `https://127.0.0.1:PORT`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port())
    }

    /// Graph's root: `https://127.0.0.1:PORT/v1.0`.
    #[must_use]
    pub fn graph_url(&self) -> String {
        format!("{}{GRAPH_PREFIX}", self.base_url())
    }

    /// Gmail's send upload URL:
    /// `https://127.0.0.1:PORT/upload/gmail/v1/users/me/messages/send`.
    #[must_use]
    pub fn gmail_send_url(&self) -> String {
        format!("{}{GMAIL_SEND_PATH}", self.base_url())
    }
}

// ---------------------------------------------------------------------------
// Routes.

#[derive(Debug, Clone, PartialEq, Eq)]
enum User {
    Me,
    Address(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    GraphSendMail(User),
    GraphCreateDraft(User),
    GraphUploadSession(User, String),
    /// `…/messages/{id}/attachments`: a file attachment under 3 MB.
    GraphAddAttachment(User, String),
    GraphSendDraft(User, String),
    GraphUpload(String),
    /// `/upload/gmail/v1/users/{userId}/messages/send`.
    GmailSend(String),
    /// `/gmail/v1/users/{userId}/messages/send` (JSON `raw`): not simulated.
    GmailSendJson,
    Unknown,
}

impl Route {
    fn of(path: &str) -> Self {
        if let Some(sid) = path.strip_prefix(GRAPH_UPLOAD_PREFIX) {
            return Route::GraphUpload(sid.to_owned());
        }
        if let Some(rest) = path.strip_prefix("/upload/gmail/v1/users/") {
            return match rest.strip_suffix("/messages/send") {
                Some(user) if !user.contains('/') => Route::GmailSend(user.to_owned()),
                _ => Route::Unknown,
            };
        }
        if path.starts_with("/gmail/v1/users/") && path.ends_with("/messages/send") {
            return Route::GmailSendJson;
        }
        let Some(rest) = path.strip_prefix("/v1.0/") else {
            return Route::Unknown;
        };
        let segs: Vec<&str> = rest.split('/').collect();
        let (user, tail) = match segs.as_slice() {
            [me, tail @ ..] if me.eq_ignore_ascii_case("me") => (User::Me, tail),
            [users, addr, tail @ ..] if users.eq_ignore_ascii_case("users") => {
                let decoded = percent_decode(addr);
                (User::Address(decoded), tail)
            }
            _ => return Route::Unknown,
        };
        let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        match tail {
            [s] if is(s, "sendMail") => Route::GraphSendMail(user),
            [m] if is(m, "messages") => Route::GraphCreateDraft(user),
            [m, id, a, c]
                if is(m, "messages") && is(a, "attachments") && is(c, "createUploadSession") =>
            {
                Route::GraphUploadSession(user, percent_decode(id))
            }
            [m, id, a] if is(m, "messages") && is(a, "attachments") => {
                Route::GraphAddAttachment(user, percent_decode(id))
            }
            [m, id, s] if is(m, "messages") && is(s, "send") => {
                Route::GraphSendDraft(user, percent_decode(id))
            }
            _ => Route::Unknown,
        }
    }

    fn api(&self) -> Option<Api> {
        match self {
            Route::GraphSendMail(_)
            | Route::GraphCreateDraft(_)
            | Route::GraphUploadSession(..)
            | Route::GraphAddAttachment(..)
            | Route::GraphSendDraft(..)
            | Route::GraphUpload(_) => Some(Api::Graph),
            Route::GmailSend(_) | Route::GmailSendJson => Some(Api::Gmail),
            Route::Unknown => None,
        }
    }

    fn body_limit(&self, head: &Head) -> usize {
        match self {
            Route::GraphSendMail(_)
            | Route::GraphCreateDraft(_)
            | Route::GraphUploadSession(..)
            | Route::GraphAddAttachment(..)
            | Route::GraphSendDraft(..)
            | Route::GraphUpload(_) => GRAPH_MAX_BODY,
            Route::GmailSend(_) if head.param("upload_id").is_some() => GMAIL_RESUMABLE_MAX,
            Route::GmailSend(_) if head.param("uploadType") == Some("media") => GMAIL_MEDIA_MAX,
            _ => MAX_SMALL_BODY,
        }
    }
}

fn percent_decode(s: &str) -> String {
    // `+` stays `+` in a path (it is not a form).
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| {
            bytes
                .get(j)
                .and_then(|c| char::from(*c).to_digit(16))
                .and_then(|d| u8::try_from(d).ok())
        };
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(sim: &Sim, config: &Arc<ServerConfig>, port: u16, tcp: TcpStream) {
    let Ok(conn) = ServerConnection::new(Arc::clone(config)) else {
        return;
    };
    let mut c = Conn {
        tls: StreamOwned::new(conn, tcp),
        buf: Vec::new(),
    };
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        let head = match c.read_head() {
            Ok(Some(h)) => h,
            Ok(None) => break,
            Err(()) => {
                let _ = c.write(
                    &graph_error(400, "invalidRequest", "Malformed request."),
                    true,
                );
                break;
            }
        };
        if !handle(sim, port, &mut c, &head) {
            return;
        }
    }
    c.close();
}

/// Serve one request; false when the connection is over (closed already).
fn handle(sim: &Sim, port: u16, c: &mut Conn, head: &Head) -> bool {
    let route = Route::of(&head.path);
    let api = route.api();
    let mut entry = ApiRequest {
        api,
        method: head.method.clone(),
        path: head.path.clone(),
        query: head.logged_query(),
        status: 0,
    };
    let Some(len) = body_len(head) else {
        let r = graph_error(400, "invalidRequest", "Invalid Content-Length.");
        entry.status = r.status;
        sim.log_api(entry);
        let _ = c.write(&r, true);
        c.close();
        return false;
    };
    let fault = api
        .and_then(|a| sim.pop_api_fault(a))
        .filter(|f| *f != ApiFault::Pass);
    let fault = if fault == Some(ApiFault::ExpireTokens) {
        sim.forget_access_tokens();
        None
    } else {
        fault
    };
    let drop_after = match fault {
        Some(ApiFault::Drop { after }) => Some(after),
        _ => None,
    };
    // `Expect: 100-continue` (RFC 9110 §10.1.1): an answer decided from
    // the head alone (throttling, a server error) comes before the body,
    // on a connection then closed; otherwise `100 Continue` asks for it.
    let expects = head
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if expects && !matches!(len, BodyLen::Fixed(0)) {
        if let Some(
            f @ (ApiFault::Throttled { .. }
            | ApiFault::UserRateLimit { .. }
            | ApiFault::Unavailable { .. }
            | ApiFault::ServerError),
        ) = fault
        {
            let r = fault_reply(api, f);
            entry.status = r.status;
            sim.log_api(entry);
            let _ = c.write(&r, true);
            c.close();
            return false;
        }
        if c.continue_100().is_err() {
            sim.log_api(entry);
            c.abort();
            return false;
        }
    }
    let body = c.read_body(len, route.body_limit(head), drop_after);
    let (reply, mut keep) = match body {
        Body::Broken => {
            sim.log_api(entry);
            c.abort();
            return false;
        }
        Body::Dropped(part) => {
            if let Route::GmailSend(_) = route {
                if head.method == "PUT" {
                    let _ = gmail_upload_put(sim, head, &part, false);
                }
            }
            sim.log_api(entry);
            c.abort();
            return false;
        }
        Body::TooLarge(drained) => (too_large(api, route.body_limit(head)), drained),
        Body::Full(b) => match fault {
            Some(ApiFault::LoseAnswer) => {
                let _ = dispatch(sim, port, head, &route, &b);
                sim.log_api(entry);
                c.abort();
                return false;
            }
            Some(f) => (fault_reply(api, f), true),
            None => (dispatch(sim, port, head, &route, &b), true),
        },
    };
    keep = keep && !head.wants_close();
    // Graph names every answer (errors carry the same id in innerError).
    let reply = if api == Some(Api::Graph) && !reply.headers.iter().any(|(n, _)| *n == "request-id")
    {
        let id = uuid();
        reply
            .with("request-id", id.clone())
            .with("client-request-id", id)
    } else {
        reply
    };
    entry.status = reply.status;
    sim.log_api(entry);
    if c.write(&reply, !keep).is_err() || !keep {
        c.close();
        return false;
    }
    true
}

fn dispatch(sim: &Sim, port: u16, head: &Head, route: &Route, body: &[u8]) -> Reply {
    let method = head.method.as_str();
    match (method, route) {
        ("POST", Route::GraphSendMail(user)) => graph_send_mail(sim, head, user, body),
        ("POST", Route::GraphCreateDraft(user)) => graph_create_draft(sim, head, user, body),
        ("POST", Route::GraphUploadSession(user, id)) => {
            graph_upload_session(sim, port, head, user, id, body)
        }
        ("POST", Route::GraphAddAttachment(user, id)) => {
            graph_add_attachment(sim, head, user, id, body)
        }
        ("POST", Route::GraphSendDraft(user, id)) => graph_send_draft(sim, head, user, id),
        ("PUT" | "GET" | "DELETE", Route::GraphUpload(sid)) => {
            graph_upload(sim, port, head, sid, body)
        }
        ("POST", Route::GmailSend(user)) => gmail_send(sim, port, head, user, body),
        ("PUT", Route::GmailSend(_)) => gmail_upload_put(sim, head, body, true),
        ("POST", Route::GmailSendJson) => gmail_error(
            400,
            None,
            "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
            "badRequest",
            "global",
        ),
        (_, Route::Unknown) => Reply::json(
            404,
            &json!({"error": {"code": "NotFound", "message": "No such path on the simulated API server."}}),
            GRAPH_JSON,
        ),
        (_, r) if r.api() == Some(Api::Gmail) => gmail_error(
            405,
            None,
            "Method not allowed.",
            "httpMethodNotAllowed",
            "global",
        ),
        _ => graph_error(
            405,
            "notSupported",
            "The HTTP method is not allowed on this resource.",
        ),
    }
}

// ---------------------------------------------------------------------------
// Error bodies.

fn uuid() -> String {
    let mut b = [0u8; 16];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let part = |r: std::ops::Range<usize>| h.get(r).unwrap_or_default().to_owned();
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

fn hex_id() -> String {
    let mut b = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    // Gmail ids are 16 hex digits, the first one not 0.
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("1{}", h.get(1..).unwrap_or_default())
}

/// Graph's error shape (docs-contrib `concepts/errors.md`; `innerError`
/// with `date`, `request-id`, `client-request-id` as Graph sends it).
fn graph_error(status: u16, code: &str, message: &str) -> Reply {
    let id = uuid();
    Reply::json(
        status,
        &json!({"error": {
            "code": code,
            "message": message,
            "innerError": {"date": "2026-01-01T00:00:00", "request-id": id, "client-request-id": id},
        }}),
        GRAPH_JSON,
    )
    .with("request-id", id.clone())
    .with("client-request-id", id)
}

/// `WWW-Authenticate` of Graph's `401`.
const GRAPH_CHALLENGE: &str = "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"";

/// Google's error shape (developers.google.com/gmail/api/guides/handle-errors):
/// `code`, `message`, `errors[]` with `message`, `domain`, `reason`, and the
/// newer `status` where known.
fn gmail_error(
    status: u16,
    status_name: Option<&str>,
    message: &str,
    reason: &str,
    domain: &str,
) -> Reply {
    gmail_error_item(status, status_name, message, message, reason, domain)
}

fn gmail_error_item(
    status: u16,
    status_name: Option<&str>,
    message: &str,
    item_message: &str,
    reason: &str,
    domain: &str,
) -> Reply {
    let mut error = json!({
        "code": status,
        "message": message,
        "errors": [{"message": item_message, "domain": domain, "reason": reason}],
    });
    if let Some(s) = status_name {
        error["status"] = json!(s);
    }
    Reply::json(status, &json!({ "error": error }), GOOGLE_JSON)
}

fn fault_reply(api: Option<Api>, fault: ApiFault) -> Reply {
    let retry = |r: Reply, s: u64| r.with("Retry-After", s.to_string());
    let fault = match fault {
        ApiFault::ThrottledAfterBody { retry_after_s } => ApiFault::Throttled { retry_after_s },
        f => f,
    };
    match (api, fault) {
        (Some(Api::Gmail), ApiFault::Throttled { retry_after_s }) => retry(
            gmail_error(
                429,
                Some("RESOURCE_EXHAUSTED"),
                "Rate Limit Exceeded",
                "rateLimitExceeded",
                "usageLimits",
            ),
            retry_after_s,
        ),
        (Some(Api::Gmail), ApiFault::UserRateLimit { retry_after_s }) => retry(
            gmail_error(
                429,
                Some("RESOURCE_EXHAUSTED"),
                "User-rate limit exceeded.",
                "userRateLimitExceeded",
                "usageLimits",
            ),
            retry_after_s,
        ),
        (Some(Api::Gmail), ApiFault::Unavailable { retry_after_s }) => retry(
            gmail_error(
                503,
                Some("UNAVAILABLE"),
                "The service is currently unavailable.",
                "backendError",
                "global",
            ),
            retry_after_s,
        ),
        (Some(Api::Gmail), _) => gmail_error(
            500,
            Some("INTERNAL"),
            "Backend Error",
            "backendError",
            "global",
        ),
        // Outlook's answer past 4 concurrent requests per mailbox.
        (_, ApiFault::Throttled { retry_after_s }) => retry(
            graph_error(
                429,
                "ApplicationThrottled",
                "Application is over its MailboxConcurrency limit.",
            ),
            retry_after_s,
        ),
        (_, ApiFault::UserRateLimit { retry_after_s }) => retry(
            graph_error(
                429,
                "TooManyRequests",
                "Too many requests. Please try again later.",
            ),
            retry_after_s,
        ),
        // `serviceNotAvailable` is in the documented code list (errors.md).
        (_, ApiFault::Unavailable { retry_after_s }) => retry(
            graph_error(
                503,
                "serviceNotAvailable",
                "The service is not available. Try the request again after a delay.",
            ),
            retry_after_s,
        ),
        (_, _) => graph_error(
            500,
            "generalException",
            "An unspecified error has occurred.",
        ),
    }
}

/// `413`. Graph documents the status (errors.md) but no body for a request
/// over 4 MB: `RequestEntityTooLarge` is the simulator's. Google's message
/// is the one its upload front end gives ("Media larger than: N"); the
/// reason `uploadTooLarge` is Google Cloud Storage's for `413`.
fn too_large(api: Option<Api>, limit: usize) -> Reply {
    match api {
        Some(Api::Gmail) => {
            let msg = format!("Media larger than: {limit}");
            gmail_error(413, None, &msg, "uploadTooLarge", "global")
        }
        _ => graph_error(
            413,
            "RequestEntityTooLarge",
            "The request is larger than the 4 MB limit.",
        ),
    }
}

/// Keep at most [`MAX_SESSIONS`] upload sessions: before a new one, forget
/// a finished one, else any.
fn make_room<V>(sessions: &mut HashMap<String, V>, finished: impl Fn(&V) -> bool) {
    if sessions.len() < MAX_SESSIONS {
        return;
    }
    let stale = sessions
        .iter()
        .find(|(_, s)| finished(s))
        .or_else(|| sessions.iter().next())
        .map(|(k, _)| k.clone());
    if let Some(k) = stale {
        sessions.remove(&k);
    }
}

// ---------------------------------------------------------------------------
// MIME headers (enough to check From and the recipients).

fn mime_headers(mime: &[u8]) -> Vec<(String, String)> {
    let end = find(mime, b"\r\n\r\n")
        .or_else(|| find(mime, b"\n\n"))
        .unwrap_or(mime.len())
        .min(256 * 1024);
    let text = String::from_utf8_lossy(mime.get(..end).unwrap_or_default());
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            out.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    out
}

fn mime_header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The address of a `From:` value (`Name <a@b>` or `a@b`), lower-cased.
fn address_of(value: &str) -> String {
    let inner = match (value.rfind('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => value.get(a + 1..b).unwrap_or(value),
        _ => value,
    };
    inner.trim().to_ascii_lowercase()
}

fn has_recipients(h: &[(String, String)]) -> bool {
    ["to", "cc", "bcc"]
        .iter()
        .any(|n| mime_header(h, n).is_some_and(|v| v.contains('@')))
}

/// `bytes a-b/N` → (a, b, N); `bytes */N` → (None, N).
fn content_range(v: &str) -> Option<(Option<(usize, usize)>, usize)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let total: usize = total.trim().parse().ok()?;
    if range.trim() == "*" {
        return Some((None, total));
    }
    let (a, b) = range.split_once('-')?;
    let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a <= b).then_some((Some((a, b)), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            Route::of("/v1.0/me/sendMail"),
            Route::GraphSendMail(User::Me)
        );
        assert_eq!(
            Route::of("/v1.0/users/a%40b.example/sendmail"),
            Route::GraphSendMail(User::Address("a@b.example".to_owned()))
        );
        assert_eq!(
            Route::of("/v1.0/me/messages/AA%3D/attachments/createUploadSession"),
            Route::GraphUploadSession(User::Me, "AA=".to_owned())
        );
        assert_eq!(
            Route::of("/v1.0/users/a%40b.example/messages/AA%3D/attachments"),
            Route::GraphAddAttachment(User::Address("a@b.example".to_owned()), "AA=".to_owned())
        );
        assert_eq!(
            Route::of("/v1.0/me/messages/AA=/send"),
            Route::GraphSendDraft(User::Me, "AA=".to_owned())
        );
        assert_eq!(
            Route::of(GMAIL_SEND_PATH),
            Route::GmailSend("me".to_owned())
        );
        assert_eq!(Route::of("/v1.0/me/events"), Route::Unknown);
    }

    #[test]
    fn content_ranges() {
        assert_eq!(content_range("bytes 0-9/20"), Some((Some((0, 9)), 20)));
        assert_eq!(content_range("bytes */20"), Some((None, 20)));
        assert_eq!(content_range("bytes 9-0/20"), None);
        assert_eq!(content_range("octets 0-1/2"), None);
    }

    #[test]
    fn mime_header_reading() {
        let m = b"From: Scanner\r\n <scan@example.com>\r\nTo: a@b.example\r\n\r\nFrom: x@y\r\n";
        let h = mime_headers(m);
        assert_eq!(
            address_of(mime_header(&h, "from").unwrap_or_default()),
            "scan@example.com"
        );
        assert!(has_recipients(&h));
        assert!(!has_recipients(&mime_headers(
            b"From: a@b\r\n\r\nTo: c@d\r\n"
        )));
    }
}
