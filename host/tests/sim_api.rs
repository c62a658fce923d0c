//! The simulated mail APIs (test double of R-XPORT, issue 19) driven by a
//! tiny HTTP/1.1 client written here: the request bytes by hand, the
//! answers checked for status, error body shape, headers and the records
//! the simulator keeps. One world for the file; the tests take turns (the
//! fault queues are shared) and each uses its own accounts.

use base64::Engine as _;
use mfp_oauth_core::Duration;
use mfp_oauth_host::net::{Connection, NetOptions};
use mfp_oauth_host::sim::api::{
    Api, ApiFault, GMAIL_CHUNK_GRANULE, GMAIL_MEDIA_MAX, GMAIL_SEND_PATH, GRAPH_MAX_BODY,
};
use mfp_oauth_host::sim::smtp::SmtpConfig;
use mfp_oauth_host::sim::{SimConfig, World};
use serde_json::Value;
use std::io::Read;
use std::sync::{Mutex, MutexGuard, OnceLock};

const GRAPH_SEND: &str = "https://graph.microsoft.com/Mail.Send offline_access";
const GRAPH_LARGE: &str =
    "https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.ReadWrite offline_access";
const GMAIL_SEND: &str = "https://www.googleapis.com/auth/gmail.send";

fn world() -> (&'static World, MutexGuard<'static, ()>) {
    static WORLD: OnceLock<World> = OnceLock::new();
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let w =
        WORLD.get_or_init(|| World::start(SimConfig::default(), SmtpConfig::default()).unwrap());
    (w, turn)
}

fn token(w: &World, account: &str, scope: &str) -> String {
    w.sim.issue(account, "mfp-oauth-demo", scope).0
}

fn mime(from: &str, to: &str, body: &str) -> Vec<u8> {
    format!("From: Scanner <{from}>\r\nTo: {to}\r\nSubject: Scan\r\nMIME-Version: 1.0\r\n\r\n{body}\r\n")
        .into_bytes()
}

fn b64(b: &[u8]) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .encode(b)
        .into_bytes()
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Graph's error shape; returns `error.code`.
    fn graph_code(&self) -> String {
        let v = self.json();
        let e = &v["error"];
        assert!(e["message"].is_string(), "{v}");
        let inner = &e["innerError"];
        assert!(inner["date"].is_string(), "{v}");
        assert!(inner["request-id"].is_string(), "{v}");
        assert!(inner["client-request-id"].is_string(), "{v}");
        assert_eq!(self.header("content-type"), Some("application/json"));
        e["code"].as_str().unwrap().to_owned()
    }

    /// Google's error shape; returns `errors[0].reason`.
    fn gmail_reason(&self) -> String {
        let v = self.json();
        let e = &v["error"];
        assert_eq!(e["code"].as_u64(), Some(u64::from(self.status)), "{v}");
        assert!(e["message"].is_string(), "{v}");
        assert!(e["errors"][0]["domain"].is_string(), "{v}");
        assert!(e["errors"][0]["message"].is_string(), "{v}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json; charset=UTF-8")
        );
        e["errors"][0]["reason"].as_str().unwrap().to_owned()
    }
}

struct Client {
    c: Connection,
    buf: Vec<u8>,
    /// The `Host` field: the name and port reached.
    host: String,
}

impl Client {
    fn new(w: &World) -> Self {
        let c = Connection::connect_tls(
            "127.0.0.1",
            w.api.port(),
            &NetOptions::default(),
            &w.tls_settings().for_https(),
        )
        .unwrap();
        let host = format!("127.0.0.1:{}", w.api.port());
        Client {
            c,
            buf: Vec::new(),
            host,
        }
    }

    /// Send a request with `Content-Length`; the send may fail when the
    /// server drops the connection on purpose.
    fn send(&mut self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> bool {
        let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut raw = req.into_bytes();
        raw.extend_from_slice(body);
        self.c.send(&raw).is_ok()
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.c.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// One answer; `None` when the connection ends first.
    fn response(&mut self) -> Option<Resp> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut r = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(n) = r.parse(&self.buf).unwrap() {
                let status = r.code.unwrap();
                let headers: Vec<(String, String)> = r
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8(h.value.to_vec()).unwrap(),
                        )
                    })
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .expect("every answer has Content-Length")
                    .1
                    .parse()
                    .unwrap();
                while self.buf.len() < n + len {
                    assert!(self.fill(), "body cut short");
                }
                let body = self.buf[n..n + len].to_vec();
                self.buf.drain(..n + len);
                return Some(Resp {
                    status,
                    headers,
                    body,
                });
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        assert!(self.send(method, target, headers, body));
        self.response().expect("an answer")
    }
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

fn graph_send(c: &mut Client, path: &str, tok: &str, body: &[u8]) -> Resp {
    let auth = bearer(tok);
    c.request(
        "POST",
        path,
        &[("Authorization", &auth), ("Content-Type", "text/plain")],
        body,
    )
}

fn deliveries_of(w: &World, account: &str) -> Vec<mfp_oauth_host::sim::api::ApiDelivery> {
    w.sim
        .api_deliveries()
        .into_iter()
        .filter(|d| d.account == account)
        .collect()
}

#[test]
fn graph_send_mail_accepts_base64_mime_on_one_connection() {
    let (w, _turn) = world();
    let acct = "alice@contoso.example";
    let tok = token(w, acct, GRAPH_SEND);
    let m1 = mime(acct, "bob@example.org", "first");
    let m2 = mime(acct, "bob@example.org", "second");
    let mut c = Client::new(w);
    let r = graph_send(&mut c, "/v1.0/me/sendMail", &tok, &b64(&m1));
    assert_eq!(r.status, 202);
    assert_eq!(r.header("content-length"), Some("0"));
    assert!(r.header("request-id").is_some());
    // Same connection, the mailbox by address (percent-encoded), base64
    // broken into lines as in Graph's own example.
    let mut wrapped = Vec::new();
    for line in b64(&m2).chunks(76) {
        wrapped.extend_from_slice(line);
        wrapped.extend_from_slice(b"\r\n");
    }
    let r = graph_send(
        &mut c,
        "/v1.0/users/alice%40contoso.example/sendMail",
        &tok,
        &wrapped,
    );
    assert_eq!(r.status, 202);
    let d = deliveries_of(w, acct);
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].api, Api::Graph);
    assert_eq!(d[0].mime, m1);
    assert_eq!(d[0].path, "/v1.0/me/sendMail");
    assert_eq!(d[1].mime, m2);
    assert!(d[1].attachments.is_empty());
    let log: Vec<_> = w
        .sim
        .api_requests()
        .into_iter()
        .filter(|r| r.path.contains("sendMail") && r.status == 202)
        .collect();
    assert!(log.len() >= 2);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].api, Some(Api::Graph));
}

#[test]
fn graph_send_mail_documented_errors() {
    let (w, _turn) = world();
    let acct = "carol@contoso.example";
    let good = mime(acct, "bob@example.org", "x");
    let mut c = Client::new(w);

    // 401: unknown token, with the challenge; no Authorization at all.
    let r = graph_send(&mut c, "/v1.0/me/sendMail", "nope", &b64(&good));
    assert_eq!(r.status, 401);
    assert_eq!(r.graph_code(), "InvalidAuthenticationToken");
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer "));
    let r = c.request(
        "POST",
        "/v1.0/me/sendMail",
        &[("Content-Type", "text/plain")],
        &b64(&good),
    );
    assert_eq!(r.status, 401);

    // 401: expired.
    let old = token(w, acct, GRAPH_SEND);
    w.clock.advance(Duration::from_secs(3601));
    let r = graph_send(&mut c, "/v1.0/me/sendMail", &old, &b64(&good));
    assert_eq!(r.status, 401);
    assert_eq!(r.graph_code(), "InvalidAuthenticationToken");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));

    // 403: a token for SMTP only, and another user's mailbox.
    let smtp_only = token(
        w,
        acct,
        "https://outlook.office.com/SMTP.Send offline_access",
    );
    let r = graph_send(&mut c, "/v1.0/me/sendMail", &smtp_only, &b64(&good));
    assert_eq!(r.status, 403);
    assert_eq!(r.graph_code(), "ErrorAccessDenied");
    let tok = token(w, acct, GRAPH_SEND);
    let r = graph_send(
        &mut c,
        "/v1.0/users/dave%40contoso.example/sendMail",
        &tok,
        &b64(&good),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.graph_code(), "ErrorAccessDenied");

    // 403 ErrorSendAsDenied until the mailbox may send as that address.
    let shared = mime("scans@contoso.example", "bob@example.org", "y");
    let r = graph_send(&mut c, "/v1.0/me/sendMail", &tok, &b64(&shared));
    assert_eq!(r.status, 403);
    assert_eq!(r.graph_code(), "ErrorSendAsDenied");
    w.sim.allow_send_as(acct, "Scans@contoso.example");
    let r = graph_send(&mut c, "/v1.0/me/sendMail", &tok, &b64(&shared));
    assert_eq!(r.status, 202);

    // 400: not base64; no recipient.
    let r = graph_send(&mut c, "/v1.0/me/sendMail", &tok, b"From: a@b\r\n\r\nhi");
    assert_eq!(r.status, 400);
    assert_eq!(r.graph_code(), "ErrorMimeContentInvalidBase64String");
    assert_eq!(
        r.json()["error"]["message"],
        "Invalid base64 string for MIME content."
    );
    let r = graph_send(
        &mut c,
        "/v1.0/me/sendMail",
        &tok,
        &b64(format!("From: {acct}\r\nSubject: x\r\n\r\nx\r\n").as_bytes()),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.graph_code(), "ErrorInvalidRecipients");

    // 404: a mailbox without REST.
    w.sim.set_api_mailbox_disabled(Api::Graph, acct, true);
    let r = graph_send(&mut c, "/v1.0/me/sendMail", &tok, &b64(&good));
    assert_eq!(r.status, 404);
    assert_eq!(r.graph_code(), "MailboxNotEnabledForRESTAPI");
    w.sim.set_api_mailbox_disabled(Api::Graph, acct, false);

    // Only the SendAs message went.
    let d = deliveries_of(w, acct);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].mime, shared);
}

#[test]
fn graph_app_only_token_sends_for_its_mailbox() {
    let (w, _turn) = world();
    let acct = "printer@contoso.example";
    let tok = token(w, acct, "https://graph.microsoft.com/.default");
    let m = mime(acct, "bob@example.org", "app");
    let mut c = Client::new(w);
    let r = graph_send(
        &mut c,
        "/v1.0/users/printer@contoso.example/sendMail",
        &tok,
        &b64(&m),
    );
    assert_eq!(r.status, 202);
    assert_eq!(deliveries_of(w, acct).len(), 1);
    // /me means nothing without a signed-in user.
    let r = graph_send(&mut c, "/v1.0/me/sendMail", &tok, &b64(&m));
    assert_eq!(r.status, 400);
    assert_eq!(r.graph_code(), "BadRequest");
    // Another mailbox than the one granted.
    let r = graph_send(
        &mut c,
        "/v1.0/users/other@contoso.example/sendMail",
        &tok,
        &b64(&m),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.graph_code(), "ErrorAccessDenied");
    assert_eq!(deliveries_of(w, acct).len(), 1);
}

#[test]
fn graph_request_limit_is_4_mb() {
    let (w, _turn) = world();
    let acct = "erin@contoso.example";
    let tok = token(w, acct, GRAPH_SEND);
    let mut c = Client::new(w);
    // A 3 MiB message is exactly 4 MiB of base64: accepted.
    let mut m = mime(acct, "bob@example.org", "");
    m.resize(3 * 1024 * 1024, b'a');
    let body = b64(&m);
    assert_eq!(body.len(), GRAPH_MAX_BODY);
    let r = graph_send(&mut c, "/v1.0/me/sendMail", &tok, &body);
    assert_eq!(r.status, 202);
    // One octet more: 413, read in full, and the connection goes on.
    let mut over = body.clone();
    over.push(b'=');
    let r = graph_send(&mut c, "/v1.0/me/sendMail", &tok, &over);
    assert_eq!(r.status, 413);
    assert_eq!(r.graph_code(), "RequestEntityTooLarge");
    let small = mime(acct, "bob@example.org", "small");
    let r = graph_send(&mut c, "/v1.0/me/sendMail", &tok, &b64(&small));
    assert_eq!(r.status, 202);
    assert_eq!(deliveries_of(w, acct).len(), 2);
}

#[test]
fn graph_throttling_and_unavailability_say_retry_after() {
    let (w, _turn) = world();
    let acct = "frank@contoso.example";
    let tok = token(w, acct, GRAPH_SEND);
    let m = mime(acct, "bob@example.org", "t");
    w.sim
        .push_api_fault(Api::Graph, ApiFault::Throttled { retry_after_s: 7 }, 2);
    w.sim
        .push_api_fault(Api::Graph, ApiFault::Unavailable { retry_after_s: 3 }, 1);
    w.sim
        .push_api_fault(Api::Graph, ApiFault::UserRateLimit { retry_after_s: 1 }, 1);
    w.sim.push_api_fault(Api::Graph, ApiFault::ServerError, 1);
    assert_eq!(w.sim.pending_api_faults(Api::Graph), 5);
    let mut c = Client::new(w);
    for (status, code, retry) in [
        (429, "ApplicationThrottled", Some("7")),
        (429, "ApplicationThrottled", Some("7")),
        (503, "serviceNotAvailable", Some("3")),
        (429, "TooManyRequests", Some("1")),
        (500, "generalException", None),
    ] {
        let r = graph_send(&mut c, "/v1.0/me/sendMail", &tok, &b64(&m));
        assert_eq!(r.status, status);
        assert_eq!(r.graph_code(), code);
        assert_eq!(r.header("retry-after"), retry);
    }
    assert!(deliveries_of(w, acct).is_empty());
    let r = graph_send(&mut c, "/v1.0/me/sendMail", &tok, &b64(&m));
    assert_eq!(r.status, 202);
    assert_eq!(deliveries_of(w, acct).len(), 1);
}

#[test]
fn chunked_request_bodies_and_connection_close() {
    let (w, _turn) = world();
    let acct = "grace@contoso.example";
    let tok = token(w, acct, GRAPH_SEND);
    let m = mime(acct, "bob@example.org", "chunked");
    let body = b64(&m);
    let mut raw = format!(
        "POST /v1.0/me/sendMail HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {tok}\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for piece in body.chunks(17) {
        raw.extend_from_slice(format!("{:x};ext=1\r\n", piece.len()).as_bytes());
        raw.extend_from_slice(piece);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let mut c = Client::new(w);
    c.c.send(&raw).unwrap();
    let r = c.response().unwrap();
    assert_eq!(r.status, 202);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.response().is_none(), "closed after Connection: close");
    assert_eq!(deliveries_of(w, acct)[0].mime, m);
}

#[test]
fn a_lost_answer_still_sends_once() {
    let (w, _turn) = world();
    let acct = "heidi@contoso.example";
    let tok = token(w, acct, GRAPH_SEND);
    let m = mime(acct, "bob@example.org", "lost");
    w.sim.push_api_fault(Api::Graph, ApiFault::LoseAnswer, 1);
    let mut c = Client::new(w);
    assert!(c.send(
        "POST",
        "/v1.0/me/sendMail",
        &[
            ("Authorization", &bearer(&tok)),
            ("Content-Type", "text/plain")
        ],
        &b64(&m),
    ));
    assert!(c.response().is_none());
    assert_eq!(deliveries_of(w, acct).len(), 1);
    let last = w.sim.api_requests().pop().unwrap();
    assert_eq!((last.path.as_str(), last.status), ("/v1.0/me/sendMail", 0));
}

fn gmail_media(c: &mut Client, tok: &str, body: &[u8]) -> Resp {
    let auth = bearer(tok);
    c.request(
        "POST",
        &format!("{GMAIL_SEND_PATH}?uploadType=media"),
        &[("Authorization", &auth), ("Content-Type", "message/rfc822")],
        body,
    )
}

#[test]
fn gmail_media_upload_sends_the_raw_message() {
    let (w, _turn) = world();
    let acct = "ivan@gmail.example";
    let tok = token(w, acct, GMAIL_SEND);
    let m = mime(acct, "bob@example.org", "gmail");
    let mut c = Client::new(w);
    let r = gmail_media(&mut c, &tok, &m);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=UTF-8")
    );
    let v = r.json();
    assert_eq!(v["labelIds"], serde_json::json!(["SENT"]));
    let id = v["id"].as_str().unwrap();
    assert_eq!(v["threadId"].as_str(), Some(id));
    let d = deliveries_of(w, acct);
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].api, d[0].id.as_str()), (Api::Gmail, id));
    assert_eq!(d[0].mime, m);
    // The whole scope works too, and the user id may be the address.
    let full = token(w, acct, "https://mail.google.com/");
    let r = c.request(
        "POST",
        "/upload/gmail/v1/users/ivan%40gmail.example/messages/send?uploadType=media",
        &[
            ("Authorization", &bearer(&full)),
            ("Content-Type", "message/rfc822"),
        ],
        &m,
    );
    assert_eq!(r.status, 200);
    assert_eq!(deliveries_of(w, acct).len(), 2);
}

#[test]
fn gmail_documented_errors() {
    let (w, _turn) = world();
    let acct = "judy@gmail.example";
    let m = mime(acct, "bob@example.org", "e");
    let mut c = Client::new(w);

    let r = gmail_media(&mut c, "nope", &m);
    assert_eq!(r.status, 401);
    assert_eq!(r.gmail_reason(), "authError");
    assert_eq!(r.json()["error"]["status"], "UNAUTHENTICATED");
    assert!(r.header("www-authenticate").is_some());

    let readonly = token(w, acct, "https://www.googleapis.com/auth/gmail.readonly");
    let r = gmail_media(&mut c, &readonly, &m);
    assert_eq!(r.status, 403);
    assert_eq!(r.gmail_reason(), "insufficientPermissions");
    assert_eq!(r.json()["error"]["status"], "PERMISSION_DENIED");

    let tok = token(w, acct, GMAIL_SEND);
    let r = gmail_media(
        &mut c,
        &tok,
        format!("From: {acct}\r\nSubject: x\r\n\r\nx\r\n").as_bytes(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.gmail_reason(), "invalidArgument");
    assert_eq!(
        r.json()["error"]["errors"][0]["message"],
        "Recipient address required"
    );

    w.sim.set_api_mailbox_disabled(Api::Gmail, acct, true);
    let r = gmail_media(&mut c, &tok, &m);
    assert_eq!(r.status, 400);
    assert_eq!(r.gmail_reason(), "failedPrecondition");
    assert_eq!(r.json()["error"]["message"], "Mail service not enabled");
    w.sim.set_api_mailbox_disabled(Api::Gmail, acct, false);

    w.sim
        .push_api_fault(Api::Gmail, ApiFault::Throttled { retry_after_s: 5 }, 1);
    w.sim
        .push_api_fault(Api::Gmail, ApiFault::UserRateLimit { retry_after_s: 6 }, 1);
    w.sim.push_api_fault(Api::Gmail, ApiFault::ServerError, 1);
    w.sim
        .push_api_fault(Api::Gmail, ApiFault::Unavailable { retry_after_s: 4 }, 1);
    for (status, reason, retry) in [
        (429, "rateLimitExceeded", Some("5")),
        (429, "userRateLimitExceeded", Some("6")),
        (500, "backendError", None),
        (503, "backendError", Some("4")),
    ] {
        let r = gmail_media(&mut c, &tok, &m);
        assert_eq!(r.status, status);
        assert_eq!(r.gmail_reason(), reason);
        assert_eq!(r.header("retry-after"), retry);
    }

    // Over 5 MB by media upload: 413; the connection goes on.
    let mut big = m.clone();
    big.resize(GMAIL_MEDIA_MAX + 1, b'a');
    let r = gmail_media(&mut c, &tok, &big);
    assert_eq!(r.status, 413);
    assert_eq!(r.gmail_reason(), "uploadTooLarge");
    big.truncate(GMAIL_MEDIA_MAX);
    let r = gmail_media(&mut c, &tok, &big);
    assert_eq!(r.status, 200);

    // The JSON form is not simulated, and says what Google says.
    let r = c.request(
        "POST",
        "/gmail/v1/users/me/messages/send",
        &[
            ("Authorization", &bearer(&tok)),
            ("Content-Type", "application/json"),
        ],
        b"{}",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.gmail_reason(), "badRequest");

    assert_eq!(deliveries_of(w, acct).len(), 1);
}

/// Start a resumable upload of `n` octets; the session URI's path and
/// query.
fn gmail_start(c: &mut Client, w: &World, tok: &str, n: usize) -> String {
    let len = n.to_string();
    let r = c.request(
        "POST",
        &format!("{GMAIL_SEND_PATH}?uploadType=resumable"),
        &[
            ("Authorization", &bearer(tok)),
            ("Content-Type", "application/json; charset=UTF-8"),
            ("X-Upload-Content-Type", "message/rfc822"),
            ("X-Upload-Content-Length", &len),
        ],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("0"));
    let loc = r.header("location").unwrap();
    let prefix = w.api_url();
    assert!(loc.starts_with(&prefix), "{loc}");
    assert!(loc.contains("upload_id="));
    loc[prefix.len()..].to_owned()
}

fn put_range(c: &mut Client, uri: &str, range: &str, body: &[u8]) -> Resp {
    c.request("PUT", uri, &[("Content-Range", range)], body)
}

fn big_message(from: &str, n: usize) -> Vec<u8> {
    let mut m = mime(from, "bob@example.org", "");
    let mut i = 0u8;
    while m.len() < n {
        m.push(b'a' + i % 26);
        i = i.wrapping_add(1);
    }
    m
}

#[test]
fn gmail_resumable_upload_commits_in_granules_and_answers_status() {
    let (w, _turn) = world();
    let acct = "mallory@gmail.example";
    let tok = token(w, acct, GMAIL_SEND);
    let n = 700_000;
    let m = big_message(acct, n);
    let mut c = Client::new(w);
    let uri = gmail_start(&mut c, w, &tok, n);

    // Nothing yet: 308 without Range.
    let r = put_range(&mut c, &uri, &format!("bytes */{n}"), b"");
    assert_eq!(r.status, 308);
    assert_eq!(r.header("range"), None);
    // 300,000 octets sent, 262,144 kept.
    let r = put_range(&mut c, &uri, &format!("bytes 0-299999/{n}"), &m[..300_000]);
    assert_eq!(r.status, 308);
    let kept = GMAIL_CHUNK_GRANULE;
    assert_eq!(
        r.header("range"),
        Some(format!("bytes=0-{}", kept - 1).as_str())
    );
    let r = put_range(&mut c, &uri, &format!("bytes */{n}"), b"");
    assert_eq!(r.status, 308);
    assert_eq!(
        r.header("range"),
        Some(format!("bytes=0-{}", kept - 1).as_str())
    );
    // A gap is refused.
    let r = put_range(
        &mut c,
        &uri,
        &format!("bytes 300000-{}/{n}", n - 1),
        &m[300_000..],
    );
    assert_eq!(r.status, 400);
    // The rest, from the committed end, and the token may have expired
    // meanwhile: the session URI is enough.
    w.sim.forget_access_tokens();
    let r = put_range(
        &mut c,
        &uri,
        &format!("bytes {kept}-{}/{n}", n - 1),
        &m[kept..],
    );
    assert_eq!(r.status, 200);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    // Asking again gives the same message, and sends nothing more.
    let r = put_range(&mut c, &uri, &format!("bytes */{n}"), b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["id"].as_str(), Some(id.as_str()));
    let d = deliveries_of(w, acct);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].mime, m);
    assert_eq!(d[0].id, id);
}

#[test]
fn gmail_resumable_upload_resumes_after_a_drop() {
    let (w, _turn) = world();
    let acct = "niaj@gmail.example";
    let tok = token(w, acct, GMAIL_SEND);
    let n = 600_000;
    let m = big_message(acct, n);
    let mut c = Client::new(w);
    let uri = gmail_start(&mut c, w, &tok, n);
    w.sim
        .push_api_fault(Api::Gmail, ApiFault::Drop { after: 300_000 }, 1);
    let _ = c.send(
        "PUT",
        &uri,
        &[("Content-Range", &format!("bytes 0-{}/{n}", n - 1))],
        &m,
    );
    assert!(c.response().is_none(), "dropped without an answer");

    let mut c = Client::new(w);
    let r = put_range(&mut c, &uri, &format!("bytes */{n}"), b"");
    assert_eq!(r.status, 308);
    let kept = GMAIL_CHUNK_GRANULE;
    assert_eq!(
        r.header("range"),
        Some(format!("bytes=0-{}", kept - 1).as_str())
    );
    // Resending octets already committed is harmless.
    let r = put_range(&mut c, &uri, &format!("bytes 0-{}/{n}", n - 1), &m);
    assert_eq!(r.status, 200);
    let d = deliveries_of(w, acct);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].mime, m);
    let dropped = w
        .sim
        .api_requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.status == 0)
        .count();
    assert!(dropped >= 1);
}

#[test]
fn gmail_resumable_refuses_more_than_35_mib() {
    let (w, _turn) = world();
    let tok = token(w, "oscar@gmail.example", GMAIL_SEND);
    let mut c = Client::new(w);
    let r = c.request(
        "POST",
        &format!("{GMAIL_SEND_PATH}?uploadType=resumable"),
        &[
            ("Authorization", &bearer(&tok)),
            ("X-Upload-Content-Type", "message/rfc822"),
            ("X-Upload-Content-Length", "36700161"),
        ],
        b"",
    );
    assert_eq!(r.status, 413);
    assert_eq!(r.gmail_reason(), "uploadTooLarge");
}

#[test]
fn graph_large_message_by_draft_upload_session_and_send() {
    let (w, _turn) = world();
    let acct = "peggy@contoso.example";
    let tok = token(w, acct, GRAPH_LARGE);
    let auth = bearer(&tok);
    let m = mime(acct, "bob@example.org", "see attachment");
    let mut c = Client::new(w);

    // The draft.
    let r = graph_send(&mut c, "/v1.0/me/messages", &tok, &b64(&m));
    assert_eq!(r.status, 201);
    let draft = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(w.sim.api_drafts(), vec![draft.clone()]);
    let draft_path = format!("/v1.0/me/messages/{}", draft.replace('=', "%3D"));

    // Too small for a session; then a good one.
    let session = |size: usize| {
        format!(
            r#"{{"AttachmentItem":{{"attachmentType":"file","name":"scan.pdf","size":{size}}}}}"#
        )
    };
    let create = format!("{draft_path}/attachments/createUploadSession");
    let hdrs = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let r = c.request("POST", &create, &hdrs, session(1_000_000).as_bytes());
    assert_eq!(r.status, 400);
    assert_eq!(
        r.graph_code(),
        "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize"
    );
    let n = 3_500_000;
    let file: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    let r = c.request("POST", &create, &hdrs, session(n).as_bytes());
    assert_eq!(r.status, 201);
    let v = r.json();
    assert_eq!(v["nextExpectedRanges"], serde_json::json!(["0-"]));
    assert!(v["expirationDateTime"].is_string());
    let url = v["uploadUrl"].as_str().unwrap();
    let prefix = w.api_url();
    assert!(
        url.starts_with(&prefix) && url.contains("?authtoken="),
        "{url}"
    );
    let upload = url[prefix.len()..].to_owned();

    // The access token expires in the middle: the upload URL needs none.
    w.sim.forget_access_tokens();
    let oct = [("Content-Type", "application/octet-stream")];
    let range = |a: usize, b: usize| format!("bytes {a}-{b}/{n}");
    // An Authorization header on the upload URL is refused.
    let r = c.request(
        "PUT",
        &upload,
        &[
            ("Authorization", auth.as_str()),
            ("Content-Range", &range(0, 9)),
        ],
        &file[..10],
    );
    assert_eq!(r.status, 401);
    let r = c.request(
        "PUT",
        &upload,
        &[oct[0], ("Content-Range", &range(0, 1_999_999))],
        &file[..2_000_000],
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["nextExpectedRanges"],
        serde_json::json!(["2000000"])
    );

    // A drop in the next range: nothing of it is kept.
    w.sim
        .push_api_fault(Api::Graph, ApiFault::Drop { after: 1000 }, 1);
    let _ = c.send(
        "PUT",
        &upload,
        &[("Content-Range", &range(2_000_000, n - 1))],
        &file[2_000_000..],
    );
    assert!(c.response().is_none());
    let mut c = Client::new(w);
    let r = c.request("GET", &upload, &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["nextExpectedRanges"],
        serde_json::json!(["2000000-"])
    );
    // Overlap and gap are refused.
    let r = c.request(
        "PUT",
        &upload,
        &[("Content-Range", &range(0, 9))],
        &file[..10],
    );
    assert_eq!(r.status, 416);
    assert_eq!(r.graph_code(), "invalidRange");
    let r = c.request(
        "PUT",
        &upload,
        &[("Content-Range", &range(2_000_010, n - 1))],
        &file[2_000_010..],
    );
    assert_eq!(r.status, 416);
    // The rest: 201 with the attachment's Location.
    let r = c.request(
        "PUT",
        &upload,
        &[("Content-Range", &range(2_000_000, n - 1))],
        &file[2_000_000..],
    );
    assert_eq!(r.status, 201);
    assert!(r.header("location").unwrap().contains("/attachments/"));

    // Send needs a valid token again.
    let send = format!("{draft_path}/send");
    let r = c.request("POST", &send, &[("Authorization", auth.as_str())], b"");
    assert_eq!(r.status, 401);
    let tok = token(w, acct, GRAPH_LARGE);
    let auth = bearer(&tok);
    let r = c.request("POST", &send, &[("Authorization", auth.as_str())], b"");
    assert_eq!(r.status, 202);
    // Sent once: the draft is gone.
    let r = c.request("POST", &send, &[("Authorization", auth.as_str())], b"");
    assert_eq!(r.status, 404);
    assert_eq!(r.graph_code(), "ErrorItemNotFound");
    assert!(w.sim.api_drafts().is_empty());
    let d = deliveries_of(w, acct);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].mime, m);
    assert_eq!(d[0].id, draft);
    assert_eq!(d[0].attachments.len(), 1);
    assert_eq!(d[0].attachments[0].name, "scan.pdf");
    assert!(d[0].attachments[0].content == file);

    // A draft needs Mail.ReadWrite.
    let send_only = token(w, acct, GRAPH_SEND);
    let r = graph_send(&mut c, "/v1.0/me/messages", &send_only, &b64(&m));
    assert_eq!(r.status, 403);
    assert_eq!(r.graph_code(), "ErrorAccessDenied");
}

/// The JSON of a `fileAttachment` (`message-post-attachments.md`).
fn file_attachment(odata_type: &str, name: &str, content: &[u8]) -> Vec<u8> {
    serde_json::json!({
        "@odata.type": odata_type,
        "name": name,
        "contentType": "application/pdf",
        "contentBytes": String::from_utf8(b64(content)).unwrap(),
    })
    .to_string()
    .into_bytes()
}

fn graph_attach(c: &mut Client, path: &str, tok: &str, body: &[u8]) -> Resp {
    let auth = bearer(tok);
    c.request(
        "POST",
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body,
    )
}

const FILE_ATTACHMENT: &str = "#microsoft.graph.fileAttachment";

/// A draft of `m` by `tok`: its path (`/v1.0/me/messages/{id}`, the id
/// percent-encoded).
fn graph_draft(c: &mut Client, tok: &str, m: &[u8]) -> String {
    let r = graph_send(c, "/v1.0/me/messages", tok, &b64(m));
    assert_eq!(r.status, 201);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    format!("/v1.0/me/messages/{}", id.replace('=', "%3D"))
}

#[test]
fn graph_small_file_by_attachments_and_large_one_by_upload_session() {
    let (w, _turn) = world();
    let acct = "quentin@contoso.example";
    let tok = token(w, acct, GRAPH_LARGE);
    let auth = bearer(&tok);
    let m = mime(acct, "bob@example.org", "two files");
    let mut c = Client::new(w);
    let draft_path = graph_draft(&mut c, &tok, &m);
    let attach = format!("{draft_path}/attachments");

    // 100 KB by `…/attachments`: 201 with the attachment.
    let small: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let r = graph_attach(
        &mut c,
        &attach,
        &tok,
        &file_attachment(FILE_ATTACHMENT, "page1.pdf", &small),
    );
    assert_eq!(r.status, 201);
    assert!(r.header("location").is_none());
    let v = r.json();
    assert_eq!(v["@odata.type"], FILE_ATTACHMENT);
    assert!(!v["id"].as_str().unwrap().is_empty());
    assert_eq!(v["name"], "page1.pdf");
    assert_eq!(v["contentType"], "application/pdf");
    assert_eq!(v["size"], 100_000);
    assert_eq!(v["isInline"], false);
    let logged = w.sim.api_requests().pop().unwrap();
    assert_eq!(
        (logged.api, logged.method.as_str(), logged.status),
        (Some(Api::Graph), "POST", 201)
    );
    assert!(logged.path.ends_with("/attachments"), "{}", logged.path);

    // 3.5 MB by an upload session, in one PUT.
    let n = 3_500_000;
    let large: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    let create = format!("{draft_path}/attachments/createUploadSession");
    let item = format!(
        r#"{{"AttachmentItem":{{"attachmentType":"file","name":"page2.pdf","size":{n}}}}}"#
    );
    let hdrs = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let r = c.request("POST", &create, &hdrs, item.as_bytes());
    assert_eq!(r.status, 201);
    let url = r.json()["uploadUrl"].as_str().unwrap().to_owned();
    let upload = url[w.api_url().len()..].to_owned();
    let range = format!("bytes 0-{}/{n}", n - 1);
    let r = c.request("PUT", &upload, &[("Content-Range", &range)], &large);
    assert_eq!(r.status, 201);

    // Send: one delivery, both files octet for octet, in order.
    let r = c.request("POST", &format!("{draft_path}/send"), &hdrs[..1], b"");
    assert_eq!(r.status, 202);
    let d = deliveries_of(w, acct);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].mime, m);
    let names: Vec<&str> = d[0].attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["page1.pdf", "page2.pdf"]);
    assert!(d[0].attachments[0].content == small);
    assert!(d[0].attachments[1].content == large);
}

#[test]
fn graph_attachments_refusals() {
    let (w, _turn) = world();
    let acct = "rupert@contoso.example";
    let tok = token(w, acct, GRAPH_LARGE);
    let m = mime(acct, "bob@example.org", "refused");
    let mut c = Client::new(w);
    let draft_path = graph_draft(&mut c, &tok, &m);
    let attach = format!("{draft_path}/attachments");
    let file = vec![b'x'; 1000];
    let good = file_attachment(FILE_ATTACHMENT, "a.pdf", &file);

    // No Mail.ReadWrite: 403.
    let send_only = token(w, acct, GRAPH_SEND);
    let r = graph_attach(&mut c, &attach, &send_only, &good);
    assert_eq!(r.status, 403);
    assert_eq!(r.graph_code(), "ErrorAccessDenied");
    // Not a fileAttachment, no name, not base64: 400.
    for body in [
        file_attachment("#microsoft.graph.itemAttachment", "a.pdf", &file),
        file_attachment(FILE_ATTACHMENT, "", &file),
        br##"{"@odata.type":"#microsoft.graph.fileAttachment","name":"a.pdf","contentBytes":"no base64!"}"##.to_vec(),
        b"{not json".to_vec(),
    ] {
        let r = graph_attach(&mut c, &attach, &tok, &body);
        assert_eq!(r.status, 400);
        assert_eq!(r.graph_code(), "invalidRequest");
        assert!(r.json()["error"]["innerError"]["request-id"].is_string());
    }
    // 3.1 MiB: its body is over 4 MiB, 413, and the connection goes on.
    // (Any file of 3 MiB or more is: its base64 alone is 4 MiB.)
    let big = file_attachment(FILE_ATTACHMENT, "big.pdf", &vec![7u8; 3_250_586]);
    assert!(big.len() > GRAPH_MAX_BODY);
    let r = graph_attach(&mut c, &attach, &tok, &big);
    assert_eq!(r.status, 413);
    assert_eq!(r.graph_code(), "RequestEntityTooLarge");
    // Someone else's draft, and no draft: 404.
    let other = "sybil@contoso.example";
    let other_tok = token(w, other, GRAPH_LARGE);
    let theirs = graph_draft(&mut c, &other_tok, &mime(other, "bob@example.org", "mine"));
    let r = graph_attach(&mut c, &format!("{theirs}/attachments"), &tok, &good);
    assert_eq!(r.status, 404);
    assert_eq!(r.graph_code(), "ErrorItemNotFound");
    let r = graph_attach(
        &mut c,
        "/v1.0/me/messages/AAMkAGnone%3D/attachments",
        &tok,
        &good,
    );
    assert_eq!(r.status, 404);
    // Faults apply as to any Graph request.
    w.sim
        .push_api_fault(Api::Graph, ApiFault::Throttled { retry_after_s: 2 }, 1);
    let r = graph_attach(&mut c, &attach, &tok, &good);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("2"));

    // Only what was accepted reaches the drafts: one send, no attachment,
    // and the other mailbox's draft untouched.
    let auth = bearer(&tok);
    let send = format!("{draft_path}/send");
    let r = c.request("POST", &send, &[("Authorization", auth.as_str())], b"");
    assert_eq!(r.status, 202);
    let d = deliveries_of(w, acct);
    assert_eq!(d.len(), 1);
    assert!(d[0].attachments.is_empty());
    let theirs_send = format!("{theirs}/send");
    let other_auth = bearer(&other_tok);
    let r = c.request(
        "POST",
        &theirs_send,
        &[("Authorization", other_auth.as_str())],
        b"",
    );
    assert_eq!(r.status, 202);
    assert!(deliveries_of(w, other)[0].attachments.is_empty());
}
