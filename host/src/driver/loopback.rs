//! The loopback listener of the PKCE flow (RFC 8252 §7.3): the browser is
//! sent back to `http://127.0.0.1:PORT/` with the code; this listener takes
//! that one request, gives its target to the core (which checks `state` and
//! extracts the code) and answers the browser with a short page.

use crate::clock::Clock;
use mfp_oauth_core::wire::http::parse_redirect_request;
use mfp_oauth_core::wire::Parsed;
use mfp_oauth_core::Instant;
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration as StdDuration;

/// Longest request head read from the browser.
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// How often the listener looks for a connection while waiting.
pub const ACCEPT_POLL: StdDuration = StdDuration::from_millis(20);

/// A listener on 127.0.0.1 with an ephemeral port.
#[derive(Debug)]
pub struct Loopback {
    listener: TcpListener,
    port: u16,
    pending: RefCell<Option<TcpStream>>,
}

impl Loopback {
    /// Listen on 127.0.0.1, port chosen by the system.
    pub fn bind() -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        Ok(Loopback {
            listener,
            port,
            pending: RefCell::new(None),
        })
    }

    /// The port to put in the redirect URI.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Wait until `deadline` (on `clock`, in real time) for the browser;
    /// the request-target of its GET, or `None` at the deadline.
    pub fn wait(&self, clock: &dyn Clock, deadline: Instant) -> Option<Vec<u8>> {
        while clock.now() < deadline {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Some(target) = read_target(&stream) {
                        *self.pending.borrow_mut() = Some(stream);
                        return Some(target);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
                Err(_) => return None,
            }
        }
        None
    }

    /// Answer the browser's request: a page saying whether sign-in worked.
    pub fn answer(&self, accepted: bool) {
        let Some(mut s) = self.pending.borrow_mut().take() else {
            return;
        };
        let (status, text) = if accepted {
            (
                "200 OK",
                "Signed in. You can close this window and return to the printer tool.",
            )
        } else {
            ("400 Bad Request", "This sign-in response was not accepted. Start the sign-in again from the printer tool.")
        };
        let body =
            format!("<!doctype html><meta charset=utf-8><title>mfp-oauth</title><p>{text}</p>\n");
        let _ = write!(
            s,
            "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{body}",
            body.len()
        );
        let _ = s.flush();
    }
}

fn read_target(mut s: &TcpStream) -> Option<Vec<u8>> {
    s.set_nonblocking(false).ok()?;
    s.set_read_timeout(Some(StdDuration::from_secs(5))).ok()?;
    s.set_write_timeout(Some(StdDuration::from_secs(5))).ok()?;
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while head.len() < MAX_REQUEST_HEAD {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(chunk.get(..n)?);
        match parse_redirect_request(&head) {
            Ok(Parsed::Complete(target, _)) => return Some(target.to_vec()),
            Ok(Parsed::Partial) => {}
            Err(_) => return None,
        }
    }
    None
}
