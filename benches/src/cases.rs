//! The in-memory work measured on both sides (rows 1, 2, 3 and 6).

use mfp_oauth_core::smtp::{Client, Envelope, Event, Security, Settings};
use mfp_oauth_core::wire::base64_stream::{encode_all, encoded_len};
use mfp_oauth_core::wire::dot_stuff::DotStuffer;
use mfp_oauth_core::wire::json::{parse_token_response, TokenResponse};
use mfp_oauth_core::wire::sasl::{xoauth2, Plaintext as _};
use mfp_oauth_core::{Address, Instant};

use crate::fixtures::{EHLO_NAME, RECIPIENTS, USER};
use crate::sink::Session;

/// Octets of the AUTH line with the initial response for `token_len`.
#[must_use]
pub fn auth_line_len(user: &str, token_len: usize) -> usize {
    let plain = xoauth2(user, &[]).plain_len() + token_len;
    "AUTH XOAUTH2 \r\n".len() + encoded_len(plain)
}

/// Ours: `AUTH XOAUTH2 <base64(user=…^Aauth=Bearer …^A^A)>\r\n` written
/// into the caller's buffer, base64 streamed from the pieces (no plaintext
/// copy of the token). Returns the line's length, 0 if `out` is too small.
#[inline(never)]
pub fn xoauth2_ours(user: &str, token: &[u8], out: &mut [u8]) -> usize {
    const HEAD: &[u8] = b"AUTH XOAUTH2 ";
    let Some((head, rest)) = out.split_at_mut_checked(HEAD.len()) else {
        return 0;
    };
    head.copy_from_slice(HEAD);
    let Ok(n) = encode_all(&xoauth2(user, token), rest) else {
        return 0;
    };
    match rest.get_mut(n..n + 2) {
        Some(crlf) => crlf.copy_from_slice(b"\r\n"),
        None => return 0,
    }
    HEAD.len() + n + 2
}

/// lettre: the `AUTH` command as its transport builds it for XOAUTH2
/// (credentials cloned, `Mechanism::Xoauth2.response`, base64, Display).
#[inline(never)]
#[must_use]
pub fn xoauth2_lettre(creds: &lettre::transport::smtp::authentication::Credentials) -> String {
    use lettre::transport::smtp::authentication::Mechanism;
    use lettre::transport::smtp::commands::Auth;
    match Auth::new(Mechanism::Xoauth2, creds.clone(), None) {
        Ok(auth) => auth.to_string(),
        Err(_) => String::new(),
    }
}

/// The struct a serde_json user would write for RFC 6749 §5.1 (the fields
/// the core's `TokenResponse` keeps; unknown fields ignored).
#[derive(Debug, serde::Deserialize)]
pub struct SerdeToken {
    /// The access token.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: Option<u64>,
    /// A new refresh token.
    pub refresh_token: Option<String>,
    /// Granted scope.
    pub scope: Option<String>,
}

/// Ours: the core's token response parser into caller storage.
#[inline(never)]
pub fn token_ours(body: &[u8], out: &mut TokenResponse) -> bool {
    parse_token_response(body, out).is_ok()
}

/// serde_json into [`SerdeToken`].
#[inline(never)]
#[must_use]
pub fn token_serde(body: &[u8]) -> Option<SerdeToken> {
    serde_json::from_slice(body).ok()
}

/// Ours: CRLF normalisation and dot-stuffing of `msg` through `out`, as
/// `write_body` does for `DATA`; returns the octets produced.
#[inline(never)]
pub fn stuff_ours(msg: &[u8], out: &mut [u8]) -> usize {
    let mut stuffer = DotStuffer::new();
    let mut total = 0;
    let mut rest = msg;
    while !rest.is_empty() {
        let (consumed, written) = stuffer.encode(rest, out);
        total += written;
        rest = rest.get(consumed..).unwrap_or(&[]);
        if consumed == 0 {
            break;
        }
    }
    let mut tail = [0u8; 6];
    total + stuffer.finish(&mut tail).unwrap_or(0)
}

/// The `DATA` body path for a body declared canonical
/// (`DotStuffer::encode_canonical`) over the whole message; returns the
/// octets written, end of data included.
#[inline(never)]
pub fn canonical_ours(msg: &[u8], out: &mut [u8]) -> usize {
    let mut stuffer = DotStuffer::new();
    let mut total = 0;
    let mut rest = msg;
    while !rest.is_empty() {
        let (consumed, written) = stuffer.encode_canonical(rest, out);
        total += written;
        rest = rest.get(consumed..).unwrap_or(&[]);
        if consumed == 0 {
            break;
        }
    }
    let mut tail = [0u8; 6];
    total + stuffer.finish(&mut tail).unwrap_or(0)
}

/// The core composer over a file of `file.len()` octets: the whole message
/// pulled through `out` (as `mfp-oauth send` does, 64 KiB at a time),
/// the file pushed as it asks. Returns the octets produced.
#[inline(never)]
pub fn compose_ours(file: &[u8], out: &mut [u8]) -> u64 {
    use mfp_oauth_core::mime::{Attachment, Composer, Output, Parts};
    let atts = [Attachment {
        name: "scan.pdf",
        content_type: "application/pdf",
        len: file.len() as u64,
    }];
    let parts = Parts {
        from: USER,
        to: &RECIPIENTS,
        subject: "Scan 2026-11-24 08:00",
        text: Some("Scanned document attached."),
        attachments: &atts,
        message_id_local: "bench-1",
    };
    let Ok(mut c) = Composer::new(parts, Some(1_795_516_072), &[0x5a; 12]) else {
        return 0;
    };
    let mut pos = 0;
    loop {
        match c.poll_output(out) {
            Ok(Output::Wrote(_)) => {}
            Ok(Output::NeedInput { max, .. }) => {
                let end = (pos + max).min(file.len());
                match c.handle_input(file.get(pos..end).unwrap_or_default()) {
                    Ok(k) => pos += k,
                    Err(_) => return 0,
                }
            }
            Ok(Output::Done) | Err(_) => break,
        }
    }
    c.produced()
}

/// What one in-memory job produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobOutcome {
    /// The token response parsed.
    pub token_parsed: bool,
    /// The server accepted the message.
    pub sent: bool,
    /// Octets the client wrote.
    pub client_octets: usize,
}

/// Ours, one whole job in memory: parse the token endpoint's answer, then
/// a full SMTP session (greeting to QUIT, two-step XOAUTH2 for a long
/// token, pipelined envelope to three recipients, `BDAT` body) against
/// [`Session`]. Only the core runs with counting on: the simulated server
/// and the glue run inside `pause`.
pub fn job_core(
    token_body: &[u8],
    message: &[u8],
    resp: &mut TokenResponse,
    out: &mut [u8],
    pause: &mut dyn FnMut(&mut dyn FnMut()),
) -> JobOutcome {
    let mut outcome = JobOutcome {
        token_parsed: parse_token_response(token_body, resp).is_ok(),
        ..JobOutcome::default()
    };
    let (Ok(settings), Ok(user)) = (
        Settings::new(Security::ImplicitTls, EHLO_NAME, "localhost", 465),
        Address::parse(USER),
    ) else {
        return outcome;
    };
    let token = resp.access_token.clone();
    let mut server = None;
    let mut replies = Vec::new();
    let mut wire = Vec::new();
    pause(&mut || {
        server = Some(Session::new(true, token.expose()));
        replies = Session::greeting().to_vec();
        replies.reserve(4096);
        wire.reserve(4096);
    });
    let Some(mut server) = server else {
        return outcome;
    };
    let now = Instant::from_millis(1);
    let mut client = Client::new(now, settings, user.clone());
    if client.set_token(now, token.expose()).is_err() {
        return outcome;
    }
    let mut envelope = Envelope::new(user);
    for r in RECIPIENTS {
        if let Ok(a) = Address::parse(r) {
            let _ = envelope.add_recipient(a);
        }
    }
    if client.send_message(now, envelope).is_err() {
        return outcome;
    }
    for _ in 0..64 {
        let _ = client.handle_input(now, &replies);
        while let Some(event) = client.poll_event() {
            match event {
                Event::ReadyForBody => {
                    let mut rest = message;
                    while !rest.is_empty() {
                        let Ok(p) = client.write_body(rest, out) else {
                            return outcome;
                        };
                        let written = out.get(..p.written).unwrap_or(&[]);
                        outcome.client_octets += written.len();
                        pause(&mut || wire.extend_from_slice(written));
                        rest = rest.get(p.consumed..).unwrap_or(&[]);
                    }
                    if client.finish_body(now).is_err() {
                        return outcome;
                    }
                }
                Event::MessageSent { .. } => {
                    outcome.sent = true;
                    let _ = client.quit(now);
                }
                _ => {}
            }
        }
        while let Ok(Some(t)) = client.poll_transmit(now, out) {
            let written = out.get(..t.len).unwrap_or(&[]);
            outcome.client_octets += written.len();
            pause(&mut || wire.extend_from_slice(written));
        }
        if client.is_closed() {
            break;
        }
        pause(&mut || {
            replies.clear();
            server.feed(&wire, &mut replies);
            wire.clear();
        });
    }
    outcome
}

/// One pass of `msg` through an API session's body, from its first
/// octet, as a driver streams it after `ReadyForBody`, then its end;
/// returns the octets written (`None`: the session refused).
fn api_pass(s: &mut mfp_oauth_core::api::Session, msg: &[u8], out: &mut [u8]) -> Option<usize> {
    let (mut rest, mut total) = (msg, 0);
    while !rest.is_empty() {
        let p = s.write_body(rest, out).ok()?;
        total += p.written;
        rest = rest.get(p.consumed..).unwrap_or(&[]);
    }
    s.finish_body(Instant::ZERO).ok()?;
    Some(total)
}

/// A mail API request in memory (R-XPORT, issue 19): the core's whole
/// exchange for `msg` through [`mfp_oauth_core::api::Session`], the
/// server's answers scripted (Gmail: the resumable upload's start, `100
/// Continue`, `200`; Graph: `100 Continue`, `202`), the body streamed
/// through `out` as a driver does. Returns the octets sent (heads and
/// body), 0 if the exchange went wrong.
#[inline(never)]
pub fn api_ours(graph: bool, msg: &[u8], token: &[u8], out: &mut [u8]) -> usize {
    use mfp_oauth_core::api::{Api, Request, Session as ApiSession};
    const GMAIL: [&[u8]; 3] = [
        b"HTTP/1.1 200 OK\r\nLocation: https://gmail.googleapis.com/upload/gmail/v1/users/me/messages/send?uploadType=resumable&upload_id=ADPycdvBENCH\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: 45\r\n\r\n{\"id\":\"18c\",\"threadId\":\"18c\",\"labelIds\":[\"x\"]}",
    ];
    const GRAPH: [&[u8]; 2] = [
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
    ];
    let now = Instant::ZERO;
    let mut s = ApiSession::idle();
    let started = s.start(&Request {
        api: if graph { Api::Graph } else { Api::Gmail },
        host: if graph {
            "graph.microsoft.com"
        } else {
            "gmail.googleapis.com"
        },
        port: 443,
        base_path: "/",
        mailbox: None,
        size: msg.len() as u64,
        recipients: RECIPIENTS.len(),
        not_before: None,
        resume: false,
    });
    if started.is_err() {
        return 0;
    }
    let mut answers = if graph { &GRAPH[..] } else { &GMAIL[..] }.iter();
    let mut total = 0;
    loop {
        while let Ok(Some(tx)) = s.poll_transmit(now, out, token) {
            total += tx.len;
        }
        match s.poll_event() {
            Some(Event::ReadyForBody) => {
                let Some(n) = api_pass(&mut s, msg, out) else {
                    return 0;
                };
                total += n;
            }
            Some(Event::MessageSent { .. }) => return total,
            Some(_) => return 0,
            None => match answers.next() {
                Some(a) => {
                    s.handle_input(now, a);
                }
                None => return 0,
            },
        }
    }
}

/// Which request of Graph's large-message path is on the wire (from its
/// request line), for the scripted server of [`api_graph_upload_ours`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum GraphRequest {
    Draft,
    Create,
    Attach,
    /// A chunk, and whether it ends the file.
    Chunk {
        last: bool,
        next: u64,
    },
    Send,
}

/// The request a head names (`None`: not a head).
fn graph_request(head: &[u8]) -> Option<GraphRequest> {
    let text = core::str::from_utf8(head).ok()?;
    let line = text.split("\r\n").next()?;
    if !line.ends_with(" HTTP/1.1") {
        return None;
    }
    if line.starts_with("PUT ") {
        // `Content-Range: bytes a-b/N`.
        let range = text.split("\r\nContent-Range: bytes ").nth(1)?;
        let (ab, n) = range.split_once('/')?;
        let b: u64 = ab.split_once('-')?.1.parse().ok()?;
        let n: u64 = n.split("\r\n").next()?.parse().ok()?;
        return Some(GraphRequest::Chunk {
            last: b + 1 == n,
            next: b + 1,
        });
    }
    let path = line.split(' ').nth(1)?;
    Some(if path.ends_with("/createUploadSession") {
        GraphRequest::Create
    } else if path.ends_with("/attachments") {
        GraphRequest::Attach
    } else if path.ends_with("/send") {
        GraphRequest::Send
    } else {
        GraphRequest::Draft
    })
}

/// A Graph message over one `sendMail` request in memory (R-XPORT, issue
/// 19): the survey, the draft without the file, the upload session, the
/// chunks (each pass reading the message from its first octet), `send`;
/// Graph's answers scripted, the new connections the path asks for made
/// at once. Returns the octets sent, 0 if the exchange went wrong.
#[inline(never)]
pub fn api_graph_upload_ours(msg: &[u8], token: &[u8], out: &mut [u8]) -> usize {
    use mfp_oauth_core::api::{Api, Request, Session as ApiSession};
    use mfp_oauth_core::wire::writer::Writer;
    const HOST: &str = "graph.microsoft.com";
    let now = Instant::ZERO;
    let start = |s: &mut ApiSession, resume: bool| {
        s.start(&Request {
            api: Api::Graph,
            host: HOST,
            port: 443,
            base_path: "/",
            mailbox: None,
            size: msg.len() as u64,
            recipients: RECIPIENTS.len(),
            not_before: None,
            resume,
        })
        .is_ok()
    };
    let mut s = ApiSession::idle();
    if !start(&mut s, false) {
        return 0;
    }
    let (mut total, mut on_wire, mut body_done) = (0, None, false);
    let mut answer = [0u8; 512];
    loop {
        while let Ok(Some(tx)) = s.poll_transmit(now, out, token) {
            total += tx.len;
            if let Some(r) = graph_request(out.get(..tx.len).unwrap_or(&[])) {
                on_wire = Some(r);
                body_done = false;
            }
        }
        match s.poll_event() {
            Some(Event::ReadyForBody) => {
                let Some(n) = api_pass(&mut s, msg, out) else {
                    return 0;
                };
                total += n;
                body_done = true;
            }
            Some(Event::MessageSent { .. }) => return total,
            Some(Event::Closed) if s.wants_connection() => {
                // Every URL of the script is on Graph's host.
                s.end();
                if !start(&mut s, true) {
                    return 0;
                }
                on_wire = None;
            }
            Some(_) => return 0,
            None => {
                let Some(r) = on_wire else { return 0 };
                let with_body = matches!(
                    r,
                    GraphRequest::Draft | GraphRequest::Attach | GraphRequest::Chunk { .. }
                );
                let continue_first = with_body && !body_done;
                let mut w = Writer::new(&mut answer);
                if continue_first {
                    w.push_str("HTTP/1.1 100 Continue\r\n\r\n");
                } else {
                    let (status, json): (&str, &str) = match r {
                        GraphRequest::Draft => ("201 Created", r#"{"id":"AAMkBENCH="}"#),
                        GraphRequest::Create => (
                            "201 Created",
                            r#"{"uploadUrl":"https://graph.microsoft.com/up/BENCH?authtoken=eyJ.x","nextExpectedRanges":["0-"]}"#,
                        ),
                        GraphRequest::Attach => ("201 Created", r#"{"id":"att"}"#),
                        GraphRequest::Chunk { last: true, .. } => ("201 Created", "{}"),
                        GraphRequest::Chunk { .. } => ("200 OK", ""),
                        GraphRequest::Send => ("202 Accepted", ""),
                    };
                    w.push_str("HTTP/1.1 ");
                    w.push_str(status);
                    w.push_str("\r\nContent-Type: application/json\r\nContent-Length: ");
                    if let GraphRequest::Chunk { last: false, next } = r {
                        // `{"nextExpectedRanges":["N"]}`
                        let mut digits = Writer::counting();
                        digits.push_decimal(next);
                        w.push_decimal(27 + digits.len() as u64);
                        w.push_str("\r\n\r\n{\"nextExpectedRanges\":[\"");
                        w.push_decimal(next);
                        w.push_str("\"]}");
                    } else {
                        w.push_decimal(json.len() as u64);
                        w.push_str("\r\n\r\n");
                        w.push_str(json);
                    }
                }
                let n = w.len();
                s.handle_input(now, answer.get(..n).unwrap_or(&[]));
                if !continue_first {
                    on_wire = None;
                }
            }
        }
    }
}
