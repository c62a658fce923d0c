//! HTTP/1.1, server side, for the simulated APIs: request heads, bodies
//! (`Content-Length` or chunked, bounded, drained when over a limit, cut at
//! a fault's drop point) and answers with `Content-Length`.

use super::{MAX_DRAIN, MAX_HEAD, MAX_HEADERS};
use rustls::{ServerConnection, StreamOwned};
use serde_json::Value;
use std::io::{self, Read, Write};
use std::net::TcpStream;

pub(super) struct Head {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) query: Vec<(String, String)>,
    /// Names lower-cased.
    pub(super) headers: Vec<(String, String)>,
}

impl Head {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `https://` and the request's `Host` (the name and port the client
    /// reached, through a forwarder too), as the URLs the APIs hand out
    /// name their own host; `127.0.0.1:{port}` without one.
    pub(super) fn origin(&self, port: u16) -> String {
        match self.header("host").map(str::trim).filter(|h| !h.is_empty()) {
            Some(h) => format!("https://{h}"),
            None => format!("https://127.0.0.1:{port}"),
        }
    }

    /// The token of `Authorization: Bearer …`, when there is one.
    pub(super) fn bearer(&self) -> Option<&str> {
        let v = self.header("authorization")?;
        let t = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))?;
        Some(t.trim()).filter(|t| !t.is_empty())
    }

    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    }

    pub(super) fn logged_query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.query.iter().filter(|(n, _)| n != "authtoken"))
            .finish()
    }
}

pub(super) enum BodyLen {
    Fixed(usize),
    Chunked,
}

pub(super) enum Body {
    Full(Vec<u8>),
    /// Over the limit; `true` when it was read (and thrown away) in full.
    TooLarge(bool),
    /// The fault's drop point was reached: what had arrived.
    Dropped(Vec<u8>),
    Broken,
}

pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) headers: Vec<(&'static str, String)>,
    pub(super) body: Vec<u8>,
    pub(super) content_type: Option<&'static str>,
}

impl Reply {
    pub(super) fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            content_type: None,
        }
    }

    pub(super) fn json(status: u16, v: &Value, content_type: &'static str) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: v.to_string().into_bytes(),
            content_type: Some(content_type),
        }
    }

    pub(super) fn with(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

pub(super) const GRAPH_JSON: &str = "application/json";
pub(super) const GOOGLE_JSON: &str = "application/json; charset=UTF-8";

pub(super) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        308 => "Resume Incomplete",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        507 => "Insufficient Storage",
        _ => "Status",
    }
}

pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

pub(super) struct Conn {
    pub(super) tls: StreamOwned<ServerConnection, TcpStream>,
    pub(super) buf: Vec<u8>,
}

impl Conn {
    /// Read more octets into the buffer; 0 at the end of the stream (or on
    /// an error: the connection is over either way).
    pub(super) fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 16 * 1024];
        match self.tls.read(&mut chunk) {
            Ok(n) => {
                self.buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
                n
            }
            Err(_) => 0,
        }
    }

    /// The next request head; `Ok(None)` at a clean end between requests.
    pub(super) fn read_head(&mut self) -> Result<Option<Head>, ()> {
        loop {
            // RFC 9112 §2.2: empty lines before a request line are ignored.
            while self.buf.starts_with(b"\r\n") {
                self.buf.drain(..2);
            }
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let raw: Vec<u8> = self.buf.drain(..end + 4).collect();
                return parse_head(&raw).map(Some).ok_or(());
            }
            if self.buf.len() > MAX_HEAD {
                return Err(());
            }
            if self.fill() == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(())
                };
            }
        }
    }

    pub(super) fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if self.fill() == 0 {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    pub(super) fn skip(&mut self, mut n: usize) -> bool {
        while n > 0 {
            if self.buf.is_empty() && self.fill() == 0 {
                return false;
            }
            let t = n.min(self.buf.len());
            self.buf.drain(..t);
            n -= t;
        }
        true
    }

    pub(super) fn line(&mut self) -> Option<String> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n") {
                let raw: Vec<u8> = self.buf.drain(..end + 2).collect();
                return Some(String::from_utf8_lossy(raw.get(..end)?).into_owned());
            }
            if self.buf.len() > 4096 || self.fill() == 0 {
                return None;
            }
        }
    }

    pub(super) fn read_body(
        &mut self,
        len: BodyLen,
        limit: usize,
        drop_after: Option<usize>,
    ) -> Body {
        match len {
            BodyLen::Fixed(n) if n > limit => {
                if n > MAX_DRAIN {
                    Body::TooLarge(false)
                } else {
                    Body::TooLarge(self.skip(n))
                }
            }
            BodyLen::Fixed(n) => match drop_after {
                Some(k) => match self.take(k.min(n)) {
                    Some(part) => Body::Dropped(part),
                    None => Body::Broken,
                },
                None => match self.take(n) {
                    Some(b) => Body::Full(b),
                    None => Body::Broken,
                },
            },
            BodyLen::Chunked => self.read_chunked(limit, drop_after),
        }
    }

    pub(super) fn read_chunked(&mut self, limit: usize, drop_after: Option<usize>) -> Body {
        let mut out = Vec::new();
        let mut total = 0usize;
        loop {
            let Some(line) = self.line() else {
                return Body::Broken;
            };
            let size_text = line.split(';').next().unwrap_or_default().trim();
            let Ok(size) = usize::from_str_radix(size_text, 16) else {
                return Body::Broken;
            };
            if size == 0 {
                // Trailer fields up to the empty line.
                loop {
                    match self.line() {
                        None => return Body::Broken,
                        Some(l) if l.is_empty() => break,
                        Some(_) => {}
                    }
                }
                break;
            }
            total = match total.checked_add(size) {
                Some(t) if t <= MAX_DRAIN => t,
                _ => return Body::TooLarge(false),
            };
            if let Some(k) = drop_after {
                let need = k.saturating_sub(out.len()).min(size);
                let Some(part) = self.take(need) else {
                    return Body::Broken;
                };
                out.extend_from_slice(&part);
                if out.len() >= k {
                    return Body::Dropped(out);
                }
                if need < size && !self.skip(size - need) {
                    return Body::Broken;
                }
            } else if total > limit {
                if !self.skip(size) {
                    return Body::Broken;
                }
            } else {
                let Some(part) = self.take(size) else {
                    return Body::Broken;
                };
                out.extend_from_slice(&part);
            }
            if self.take(2).as_deref() != Some(b"\r\n") {
                return Body::Broken;
            }
        }
        match drop_after {
            Some(_) => Body::Dropped(out),
            None if total > limit => Body::TooLarge(true),
            None => Body::Full(out),
        }
    }

    pub(super) fn write(&mut self, r: &Reply, close: bool) -> io::Result<()> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
        for (n, v) in &r.headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        if let Some(ct) = r.content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        head.push_str("Cache-Control: private\r\n");
        if close {
            head.push_str("Connection: close\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", r.body.len()));
        self.tls.write_all(head.as_bytes())?;
        self.tls.write_all(&r.body)?;
        self.tls.flush()
    }

    /// `100 Continue`: the client may send the body.
    pub(super) fn continue_100(&mut self) -> io::Result<()> {
        self.tls.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        self.tls.flush()
    }

    pub(super) fn close(&mut self) {
        self.tls.conn.send_close_notify();
        let _ = self.tls.flush();
        let _ = self.tls.sock.shutdown(std::net::Shutdown::Both);
    }

    /// Close without a TLS close_notify: a connection that just dies.
    pub(super) fn abort(&mut self) {
        let _ = self.tls.sock.shutdown(std::net::Shutdown::Both);
    }
}

pub(super) fn parse_head(raw: &[u8]) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return None,
    }
    let target = req.path?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (
            p.to_owned(),
            form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
        ),
        None => (target.to_owned(), Vec::new()),
    };
    Some(Head {
        method: req.method?.to_owned(),
        path,
        query,
        headers: req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).trim().to_owned(),
                )
            })
            .collect(),
    })
}

pub(super) fn body_len(head: &Head) -> Option<BodyLen> {
    if let Some(te) = head.header("transfer-encoding") {
        return te
            .to_ascii_lowercase()
            .contains("chunked")
            .then_some(BodyLen::Chunked);
    }
    match head.header("content-length") {
        None => Some(BodyLen::Fixed(0)),
        Some(v) => v.parse().ok().map(BodyLen::Fixed),
    }
}
