//! Recorded-style token endpoint exchanges for the OAuth client's tests:
//! the responses (Microsoft's 6.5 KB refresh answer with `Content-Length`,
//! Google's chunked code exchange) and clients that have just sent the
//! request they answer.

use mfp_oauth_core::limits::{OAUTH_REQUEST_BUF_LEN, OAUTH_RESPONSE_BUF_LEN};
use mfp_oauth_core::oauth::{Client, RedirectUri, RequestKind};
use mfp_oauth_core::provider::{AppRegistration, LoopbackHost, MicrosoftCloud, Provider, Tenant};
use mfp_oauth_core::Instant;

/// Deterministic token-like text: base64url characters with dots.
pub fn token_text(seed: u64, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x = seed;
    (0..len)
        .map(|i| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if i % 700 == 699 {
                '.'
            } else {
                char::from(CHARS[(x >> 58) as usize])
            }
        })
        .collect()
}

/// A recorded-style response and the tokens it carries.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The whole HTTP response.
    pub response: String,
    /// The access token in it.
    pub access_token: String,
    /// The refresh token in it.
    pub refresh_token: String,
}

/// Microsoft's refresh answer: about 6.5 KB of JSON, `Content-Length`.
pub fn microsoft_recorded() -> Recorded {
    let access_token = format!("eyJ0eXAiOiJKV1QiLCJub25jZSI6{}", token_text(1, 3600));
    let refresh_token = format!("1.AXkA{}", token_text(2, 1750));
    let id_token = format!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{}",
        token_text(3, 900)
    );
    let body = format!(
        r#"{{"token_type":"Bearer","scope":"https://outlook.office.com/SMTP.Send","expires_in":4383,"ext_expires_in":4383,"access_token":"{access_token}","refresh_token":"{refresh_token}","id_token":"{id_token}","client_info":"eyJ1aWQiOiIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAiLCJ1dGlkIjoiOTE4ODA0MGQtNmM2Ny00YzViLWIxMTItMzZhMzA0YjY2ZGFkIn0"}}"#
    );
    let response = format!(
        "HTTP/1.1 200 OK\r\n\
Cache-Control: no-store, no-cache\r\n\
Pragma: no-cache\r\n\
Content-Type: application/json; charset=utf-8\r\n\
Expires: -1\r\n\
Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n\
X-Content-Type-Options: nosniff\r\n\
P3P: CP=\"DSP CUR OTPi IND OTRi ONL FIN\"\r\n\
x-ms-request-id: 5f1c3f0e-8c1a-4c1e-9a35-2f4c9d6b1200\r\n\
x-ms-ests-server: 2.1.19283.4 - WEULR1 ProdSlices\r\n\
x-ms-clitelem: 1,0,0,,\r\n\
X-XSS-Protection: 0\r\n\
Set-Cookie: fpc=AkR0d3Fz{}; expires=Thu, 24-Dec-2026 08:00:00 GMT; path=/; secure; HttpOnly; SameSite=None\r\n\
Set-Cookie: x-ms-gateway-slice=estsfd; path=/; secure; samesite=none; httponly\r\n\
Set-Cookie: stsservicecookie=estsfd; path=/; secure; samesite=none; httponly\r\n\
Date: Tue, 24 Nov 2026 08:00:00 GMT\r\n\
Content-Length: {}\r\n\r\n{body}",
        token_text(4, 60),
        body.len()
    );
    Recorded {
        response,
        access_token,
        refresh_token,
    }
}

/// Google's code-exchange answer: pretty-printed JSON, chunked.
pub fn google_recorded() -> Recorded {
    let access_token = format!("ya29.a0AfB_by{}", token_text(5, 210));
    let refresh_token = format!("1//0g{}", token_text(6, 98));
    let body = format!(
        "{{\n  \"access_token\": \"{access_token}\",\n  \"expires_in\": 3599,\n  \"refresh_token\": \"{}\",\n  \"scope\": \"https://mail.google.com/\",\n  \"token_type\": \"Bearer\",\n  \"refresh_token_expires_in\": 604799\n}}",
        refresh_token.replace('/', "\\/")
    );
    // Two data chunks of uneven size, one with an extension, and a trailer.
    let (a, b) = body.split_at(137);
    let response = format!(
        "HTTP/1.1 200 OK\r\n\
Content-Type: application/json; charset=utf-8\r\n\
Vary: Origin\r\nVary: X-Origin\r\nVary: Referer\r\n\
Date: Tue, 24 Nov 2026 08:00:00 GMT\r\n\
Server: scaffolding on HTTPServer2\r\n\
Cache-Control: private\r\n\
X-XSS-Protection: 0\r\n\
X-Frame-Options: SAMEORIGIN\r\n\
X-Content-Type-Options: nosniff\r\n\
Alt-Svc: h3=\":443\"; ma=2592000,h3-29=\":443\"; ma=2592000\r\n\
Transfer-Encoding: chunked\r\n\r\n\
{:x}\r\n{a}\r\n{:X};ext=\"v\"\r\n{b}\r\n0\r\nX-Trailer: done\r\n\r\n",
        a.len(),
        b.len()
    );
    Recorded {
        response,
        access_token,
        refresh_token,
    }
}

/// The OAuth client with an owned response buffer.
pub type TestClient = Client<Vec<u8>>;

/// A Microsoft client whose refresh request was sent.
pub fn microsoft_refreshing() -> TestClient {
    microsoft_refreshing_with(OAUTH_RESPONSE_BUF_LEN)
}

/// [`microsoft_refreshing`] with a response buffer of `buf_len` octets.
pub fn microsoft_refreshing_with(buf_len: usize) -> TestClient {
    let p = Provider::microsoft(MicrosoftCloud::Global, Tenant::Common).unwrap();
    let mut c = Client::new(
        p,
        AppRegistration::public("9e5f94bc-e8a4-4e73-b8be-63364c29d753").unwrap(),
        vec![0u8; buf_len],
        11,
    );
    c.start_refresh(Instant::ZERO, b"1.AXkA-old").unwrap();
    send(&mut c, RequestKind::Refresh);
    c
}

/// A Google client whose code exchange was sent.
pub fn google_exchanging() -> TestClient {
    google_exchanging_with(OAUTH_RESPONSE_BUF_LEN)
}

/// [`google_exchanging`] with a response buffer of `buf_len` octets.
pub fn google_exchanging_with(buf_len: usize) -> TestClient {
    let mut c = Client::new(
        Provider::google().unwrap(),
        AppRegistration::with_secret("1-abc.apps.googleusercontent.com", b"GOCSPX-x").unwrap(),
        vec![0u8; buf_len],
        12,
    );
    let redirect = RedirectUri::loopback(LoopbackHost::Ipv4, 8400, "").unwrap();
    c.start_auth_code(Instant::ZERO, &[7; 32], &[8; 16], redirect, None)
        .unwrap();
    let target = format!(
        "/?state={}&code=4/0AeaYSHB&scope=https://mail.google.com/",
        c.pkce_state().unwrap()
    );
    c.handle_redirect(Instant::ZERO, target.as_bytes()).unwrap();
    send(&mut c, RequestKind::CodeExchange);
    c
}

/// Write the request that is due, of `kind` (and secret).
pub fn send(c: &mut TestClient, kind: RequestKind) {
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    let tx = c.poll_transmit(Instant::ZERO, &mut out).unwrap().unwrap();
    assert_eq!(tx.kind, kind);
    assert!(tx.sensitive);
}
