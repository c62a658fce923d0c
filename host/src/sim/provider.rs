//! The simulated OAuth provider (test double): HTTPS on 127.0.0.1 with a
//! device-authorization endpoint (RFC 8628), a token endpoint (device code,
//! refresh with rotation, authorization code with PKCE S256 checked) and an
//! authorize endpoint where a simulated user consents at once.
//!
//! Answers look like Microsoft's (paths, `error_codes`), with
//! `Content-Length` or, when configured, `Transfer-Encoding: chunked` in
//! small chunks so that the client's decoder is exercised.

mod app_only;

use super::pki::Pki;
use super::{spawn_server, CodeGrant, DeviceGrant, ServerHandle, Sim};
use crate::clock::Clock;
use base64::Engine as _;
use mfp_oauth_core::Duration;
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

/// Path prefix of every endpoint (Microsoft's shape, tenant `common`).
pub const PREFIX: &str = "/common/oauth2/v2.0";
/// Largest request (head and body) the simulator reads.
pub const MAX_REQUEST: usize = 64 * 1024;
/// Chunk size used for chunked answers.
pub const CHUNK: usize = 13;
/// Lifetime of an authorization code.
pub const CODE_LIFETIME: Duration = Duration::from_secs(600);

/// A running simulated provider.
#[derive(Debug)]
pub struct Provider {
    handle: ServerHandle,
}

impl Provider {
    /// Start serving `sim` over HTTPS with the certificate of `pki`.
    pub fn start(sim: &Sim, pki: &Pki) -> io::Result<Self> {
        let config = pki
            .server_config(&[b"http/1.1"])
            .map_err(|e| io::Error::other(e.to_string()))?;
        let sim = sim.clone();
        let port_cell = Arc::new(std::sync::OnceLock::<u16>::new());
        let port_for_conn = Arc::clone(&port_cell);
        let handle = spawn_server("provider", move |tcp| {
            let port = port_for_conn.get().copied().unwrap_or(0);
            serve(&sim, &config, port, tcp);
        })?;
        let _ = port_cell.set(handle.port());
        Ok(Provider { handle })
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

    /// URL of the device-authorization endpoint.
    #[must_use]
    pub fn device_endpoint(&self) -> String {
        format!("{}{PREFIX}/devicecode", self.base_url())
    }

    /// URL of the token endpoint.
    #[must_use]
    pub fn token_endpoint(&self) -> String {
        format!("{}{PREFIX}/token", self.base_url())
    }

    /// URL of the authorize endpoint.
    #[must_use]
    pub fn authorize_endpoint(&self) -> String {
        format!("{}{PREFIX}/authorize", self.base_url())
    }
}

struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    form: HashMap<String, String>,
}

fn parse_pairs(s: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(s).into_owned().collect()
}

fn read_request(s: &mut impl Read) -> Option<Request> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let method = req.method?.to_owned();
                let target = req.path?.to_owned();
                let mut body_len = 0usize;
                for h in req.headers.iter() {
                    if h.name.eq_ignore_ascii_case("content-length") {
                        body_len = std::str::from_utf8(h.value).ok()?.trim().parse().ok()?;
                    }
                    if h.name.eq_ignore_ascii_case("transfer-encoding") {
                        return None; // the core sends Content-Length bodies
                    }
                }
                if head_len.checked_add(body_len)? > MAX_REQUEST {
                    return None;
                }
                while buf.len() < head_len + body_len {
                    let n = s.read(&mut chunk).ok()?;
                    if n == 0 {
                        return None;
                    }
                    buf.extend_from_slice(chunk.get(..n)?);
                }
                let body = buf.get(head_len..head_len + body_len)?;
                let (path, query) = match target.split_once('?') {
                    Some((p, q)) => (p.to_owned(), parse_pairs(q.as_bytes())),
                    None => (target.clone(), HashMap::new()),
                };
                return Some(Request {
                    method,
                    path,
                    query,
                    form: parse_pairs(body),
                });
            }
            Ok(httparse::Status::Partial) => {}
            Err(_) => return None,
        }
        if buf.len() >= MAX_REQUEST {
            return None;
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(chunk.get(..n)?);
    }
}

struct Response {
    status: u16,
    body: Vec<u8>,
    location: Option<String>,
}

fn json_response(status: u16, v: &Value) -> Response {
    Response {
        status,
        body: v.to_string().into_bytes(),
        location: None,
    }
}

fn error(status: u16, code: &str, aadsts: u32, description: &str) -> Response {
    json_response(
        status,
        &json!({
            "error": code,
            "error_description": format!("AADSTS{aadsts}: {description}"),
            "error_codes": [aadsts],
            "timestamp": "2026-01-01 00:00:00Z",
            "trace_id": "00000000-0000-0000-0000-000000000000",
            "correlation_id": "00000000-0000-0000-0000-000000000000",
        }),
    )
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_response(s: &mut impl Write, r: &Response, chunked: bool) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nCache-Control: no-store, no-cache\r\nPragma: no-cache\r\nConnection: close\r\n",
        r.status,
        reason(r.status)
    );
    if let Some(loc) = &r.location {
        head.push_str(&format!("Location: {loc}\r\n"));
    }
    if !r.body.is_empty() {
        head.push_str("Content-Type: application/json; charset=utf-8\r\n");
    }
    if chunked {
        head.push_str("Transfer-Encoding: chunked\r\n\r\n");
        s.write_all(head.as_bytes())?;
        for piece in r.body.chunks(CHUNK) {
            s.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
            s.write_all(piece)?;
            s.write_all(b"\r\n")?;
        }
        s.write_all(b"0\r\n\r\n")?;
    } else {
        head.push_str(&format!("Content-Length: {}\r\n\r\n", r.body.len()));
        s.write_all(head.as_bytes())?;
        s.write_all(&r.body)?;
    }
    s.flush()
}

fn serve(sim: &Sim, config: &Arc<ServerConfig>, port: u16, tcp: TcpStream) {
    let Ok(conn) = ServerConnection::new(Arc::clone(config)) else {
        return;
    };
    let mut tls = StreamOwned::new(conn, tcp);
    let Some(req) = read_request(&mut tls) else {
        let _ = write_response(
            &mut tls,
            &error(400, "invalid_request", 900144, "Malformed request."),
            false,
        );
        return;
    };
    let (resp, what) = route(sim, port, &req);
    sim.record_request(format!(
        "{} {} {} -> {}",
        req.method, req.path, what, resp.status
    ));
    let chunked = sim.config().chunked;
    let _ = write_response(&mut tls, &resp, chunked);
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

fn route(sim: &Sim, port: u16, req: &Request) -> (Response, String) {
    let device = format!("{PREFIX}/devicecode");
    let token = format!("{PREFIX}/token");
    let authorize = format!("{PREFIX}/authorize");
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", p) if p == device => (device_authorization(sim, port, &req.form), String::new()),
        ("POST", p) if p == token => {
            let grant = req.form.get("grant_type").cloned().unwrap_or_default();
            let short = grant.rsplit(':').next().unwrap_or_default().to_owned();
            (
                token_request(sim, &grant, &req.form),
                format!("grant_type={short}"),
            )
        }
        ("GET", p) if p == authorize => (authorize_request(sim, &req.query), String::new()),
        (_, p) if p == device || p == token || p == authorize => (
            error(405, "invalid_request", 900144, "Method not allowed."),
            String::new(),
        ),
        _ => (
            error(404, "invalid_request", 900144, "No such endpoint."),
            String::new(),
        ),
    }
}

fn check_client(sim: &Sim, form: &HashMap<String, String>) -> Result<String, Response> {
    match form.get("client_id") {
        None => Err(error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )),
        Some(c) if *c != sim.config().client_id => Err(error(
            400,
            "unauthorized_client",
            700016,
            "Application was not found in the directory.",
        )),
        Some(c) => Ok(c.clone()),
    }
}

fn device_authorization(sim: &Sim, port: u16, form: &HashMap<String, String>) -> Response {
    let client_id = match check_client(sim, form) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(scope) = form.get("scope").filter(|s| !s.is_empty()) else {
        return error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        );
    };
    // Google allows no Gmail scope in the device flow and answers in its
    // own shape (no `error_codes`), naming the scope refused.
    if let Some(gmail) = scope.split(' ').find(|s| {
        *s == "https://mail.google.com/" || s.starts_with("https://www.googleapis.com/auth/gmail.")
    }) {
        return json_response(
            400,
            &json!({
                "error": "invalid_scope",
                "error_description": format!("Invalid device flow scope: {gmail}"),
            }),
        );
    }
    let cfg = sim.config();
    let device_code = super::random_token("sim-dc-", 32);
    let user_code = super::user_code();
    let now = sim.clock.now();
    sim.book().devices.insert(
        device_code.clone(),
        DeviceGrant {
            user_code: user_code.clone(),
            client_id,
            scope: scope.clone(),
            expires_at: now + Duration::from_secs(cfg.device_expires_s),
            interval_s: cfg.device_interval_s,
            last_poll: None,
            approved_for: None,
            denied: false,
            used: false,
        },
    );
    let uri = format!("https://127.0.0.1:{port}/device");
    json_response(
        200,
        &json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": uri,
            "expires_in": cfg.device_expires_s,
            "interval": cfg.device_interval_s,
            "message": format!("To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."),
        }),
    )
}

/// An Entra ID v2.0-shaped `id_token` naming `account` in
/// `preferred_username` (and `email`, when asked for), as a sign-in with
/// `openid` in its scope gets (R-ACCT). Its signature is random octets: the
/// printer does not check it (it reads the token endpoint's own TLS answer,
/// OpenID Connect Core §3.1.3.7).
#[must_use]
pub fn id_token(account: &str, client_id: &str, scope: &str, now_s: u64) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let has = |s: &str| scope.split(' ').any(|x| x == s);
    let mut claims = json!({
        "aud": client_id,
        "iss": "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
        "iat": now_s,
        "nbf": now_s,
        "exp": now_s + 3600,
        "oid": "00000000-0000-0000-66f3-3332eca7ea81",
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "tid": "9188040d-6c67-4c5b-b112-36a304b66dad",
        "ver": "2.0",
    });
    if has("profile") {
        claims["preferred_username"] = json!(account);
        claims["name"] = json!(account.split('@').next().unwrap_or(account));
    }
    if has("email") {
        claims["email"] = json!(account);
    }
    format!(
        "{}.{}.{}",
        b64(br#"{"typ":"JWT","alg":"RS256","kid":"sim"}"#),
        b64(claims.to_string().as_bytes()),
        b64(super::random_token("sig-", 192).as_bytes())
    )
}

/// A token answer; a sign-in (not a refresh) whose scope has `openid` also
/// gets an `id_token` for `account`.
fn token_success(
    sim: &Sim,
    account: &str,
    client_id: &str,
    scope: &str,
    sign_in: bool,
) -> Response {
    let (access, refresh, expires_in) = sim.issue(account, client_id, scope);
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access,
        "refresh_token": refresh,
    });
    if let Some(life) = sim.config().refresh_token_lifetime {
        body["refresh_token_expires_in"] = json!(life.as_secs());
    }
    if sign_in && scope.split(' ').any(|s| s == "openid") {
        let now_s = sim.clock.now().as_millis() / 1000;
        body["id_token"] = json!(id_token(account, client_id, scope, now_s));
    }
    json_response(200, &body)
}

fn token_request(sim: &Sim, grant: &str, form: &HashMap<String, String>) -> Response {
    // A service account's grant names no client (RFC 7523 §2.1).
    if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer" {
        return app_only::jwt_bearer(sim, form);
    }
    let client_id = match check_client(sim, form) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match grant {
        "urn:ietf:params:oauth:grant-type:device_code" => device_grant(sim, &client_id, form),
        "refresh_token" => refresh_grant(sim, &client_id, form),
        "authorization_code" => code_grant(sim, &client_id, form),
        "client_credentials" => app_only::client_credentials(sim, &client_id, form),
        _ => error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        ),
    }
}

fn device_grant(sim: &Sim, client_id: &str, form: &HashMap<String, String>) -> Response {
    if sim.config().device_flow_blocked {
        return error(400, "invalid_grant", 53_003, "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.");
    }
    let code = form.get("device_code").cloned().unwrap_or_default();
    let now = sim.clock.now();
    let outcome = {
        let mut book = sim.book();
        let Some(d) = book
            .devices
            .get_mut(&code)
            .filter(|d| d.client_id == client_id)
        else {
            return error(
                400,
                "invalid_grant",
                70000,
                "The provided device code is not valid.",
            );
        };
        if d.used {
            return error(
                400,
                "invalid_grant",
                70000,
                "The device code was already redeemed.",
            );
        }
        if now >= d.expires_at {
            return error(400, "expired_token", 70019, "Verification code expired.");
        }
        if d.denied {
            return error(
                400,
                "authorization_declined",
                70020,
                "The user declined the request.",
            );
        }
        let too_fast = d
            .last_poll
            .is_some_and(|last| now.saturating_since(last) < Duration::from_secs(d.interval_s));
        d.last_poll = Some(now);
        if too_fast {
            // RFC 8628 §3.5: add 5 seconds for this and every later request.
            d.interval_s = d.interval_s.saturating_add(5);
            return error(400, "slow_down", 70016, "Polling too fast; slow down.");
        }
        match d.approved_for.clone() {
            None => {
                return error(
                    400,
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                )
            }
            Some(account) => {
                d.used = true;
                (account, d.scope.clone())
            }
        }
    };
    token_success(sim, &outcome.0, client_id, &outcome.1, true)
}

fn refresh_grant(sim: &Sim, client_id: &str, form: &HashMap<String, String>) -> Response {
    if sim.config().refresh_unavailable {
        return Response {
            status: 503,
            body: Vec::new(),
            location: None,
        };
    }
    let presented = form.get("refresh_token").cloned().unwrap_or_default();
    let (account, scope) = {
        let mut book = sim.book();
        let Some(r) = book.refresh.get_mut(&presented) else {
            return error(400, "invalid_grant", 70000, "The provided value for the input parameter 'refresh_token' or 'assertion' is not valid.");
        };
        if r.revoked {
            return error(400, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed.");
        }
        if r.client_id != client_id {
            return error(
                400,
                "invalid_grant",
                70000,
                "The refresh token was issued to a different client.",
            );
        }
        match sim.config().refresh_refused {
            Some(n @ 65_001) => {
                return error(400, "invalid_grant", n, "The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource.");
            }
            Some(n @ 53_003) => {
                return error(400, "invalid_grant", n, "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.");
            }
            Some(n) => return error(400, "invalid_grant", n, "Refused."),
            None => {}
        }
        if sim.config().rotation_revokes_old {
            r.revoked = true;
        }
        (r.account.clone(), r.scope.clone())
    };
    token_success(sim, &account, client_id, &scope, false)
}

/// BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2).
#[must_use]
pub fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn code_grant(sim: &Sim, client_id: &str, form: &HashMap<String, String>) -> Response {
    let code = form.get("code").cloned().unwrap_or_default();
    // One use only, whatever happens next.
    let Some(grant) = sim.book().codes.remove(&code) else {
        return error(
            400,
            "invalid_grant",
            70000,
            "The provided authorization code is not valid.",
        );
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if grant.client_id != client_id
        || form.get("redirect_uri") != Some(&grant.redirect_uri)
        || sim.clock.now() >= grant.expires_at
    {
        return error(
            400,
            "invalid_grant",
            70000,
            "The authorization code does not match this request.",
        );
    }
    if !verifier_well_formed(&verifier) || s256(&verifier) != grant.challenge {
        return error(400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.");
    }
    token_success(sim, &grant.account, client_id, &grant.scope, true)
}

fn redirect(to: &str, params: &[(&str, &str)]) -> Response {
    let mut url = to.to_owned();
    url.push(if to.contains('?') { '&' } else { '?' });
    url.push_str(
        &form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish(),
    );
    Response {
        status: 302,
        body: Vec::new(),
        location: Some(url),
    }
}

fn authorize_request(sim: &Sim, q: &HashMap<String, String>) -> Response {
    let client_ok = q.get("client_id") == Some(&sim.config().client_id);
    let Some(redirect_uri) = q.get("redirect_uri").filter(|r| {
        r.starts_with("http://127.0.0.1:")
            || r.starts_with("http://localhost:")
            || r.starts_with("http://[::1]:")
    }) else {
        return error(
            400,
            "invalid_request",
            50011,
            "The redirect URI must be a loopback address.",
        );
    };
    if !client_ok {
        return error(
            400,
            "unauthorized_client",
            700016,
            "Application was not found in the directory.",
        );
    }
    let state = q.get("state").cloned().unwrap_or_default();
    let challenge = q.get("code_challenge").cloned().unwrap_or_default();
    if q.get("response_type").map(String::as_str) != Some("code")
        || q.get("code_challenge_method").map(String::as_str) != Some("S256")
        || challenge.len() != 43
    {
        return redirect(
            redirect_uri,
            &[("error", "invalid_request"), ("state", &state)],
        );
    }
    let account = q
        .get("login_hint")
        .cloned()
        .or_else(|| sim.book().browser_account.clone());
    let Some(account) = account else {
        return redirect(
            redirect_uri,
            &[("error", "access_denied"), ("state", &state)],
        );
    };
    let code = super::random_token("sim-ac-", 24);
    sim.book().codes.insert(
        code.clone(),
        CodeGrant {
            account,
            client_id: sim.config().client_id,
            scope: q.get("scope").cloned().unwrap_or_default(),
            redirect_uri: redirect_uri.clone(),
            challenge,
            expires_at: sim.clock.now() + CODE_LIFETIME,
        },
    );
    redirect(redirect_uri, &[("code", &code), ("state", &state)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(verifier_well_formed(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!verifier_well_formed("short"));
        assert!(!verifier_well_formed(&"a+".repeat(30)));
    }
}
