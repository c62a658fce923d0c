//! A simulated HTTP CONNECT proxy (test double) that records the CONNECT
//! targets it was asked for, then relays bytes both ways. Used by the tests
//! that check the token traffic goes through the configured proxy.

use super::{spawn_server, ServerHandle};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

/// Longest CONNECT request head accepted.
pub const MAX_HEAD: usize = 8 * 1024;

/// A running CONNECT proxy on 127.0.0.1.
#[derive(Debug)]
pub struct ConnectProxy {
    handle: ServerHandle,
    seen: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    /// Start a proxy that allows tunnels to 127.0.0.1 only; with
    /// `require_auth`, requests without `Proxy-Authorization` get `407`.
    pub fn start(require_auth: bool) -> io::Result<Self> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let handle = spawn_server("proxy", move |client| {
            let _ = relay(client, &log, require_auth);
        })?;
        Ok(ConnectProxy { handle, seen })
    }

    /// Its port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.handle.port()
    }

    /// Client options that tunnel through this proxy, with `user` and
    /// password if given.
    #[must_use]
    pub fn net_options(&self, credentials: Option<(&str, &str)>) -> crate::net::NetOptions {
        crate::net::NetOptions {
            proxy: Some(crate::net::Proxy {
                host: "127.0.0.1".into(),
                port: self.port(),
                user: credentials.map(|c| c.0.to_owned()),
                password: zeroize::Zeroizing::new(
                    credentials.map(|c| c.1.to_owned()).unwrap_or_default(),
                ),
            }),
            ..crate::net::NetOptions::default()
        }
    }

    /// The request lines received (`CONNECT 127.0.0.1:443 HTTP/1.1`).
    #[must_use]
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn relay(mut client: TcpStream, log: &Mutex<Vec<String>>, require_auth: bool) -> io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD || client.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.extend_from_slice(&byte);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let first = text.lines().next().unwrap_or_default().to_owned();
    log.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(first.clone());
    let mut parts = first.split(' ');
    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
        return client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
    };
    if require_auth
        && !text
            .to_ascii_lowercase()
            .contains("\r\nproxy-authorization: basic ")
    {
        return client.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"sim\"\r\nContent-Length: 0\r\n\r\n",
        );
    }
    // Loopback only: the test double must never reach anywhere else.
    if !target.starts_with("127.0.0.1:") {
        return client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    }
    let Ok(upstream) = TcpStream::connect(target) else {
        return client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    };
    upstream.set_read_timeout(Some(super::SERVER_IO_TIMEOUT))?;
    upstream.set_write_timeout(Some(super::SERVER_IO_TIMEOUT))?;
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    let mut up_read = upstream.try_clone()?;
    let mut client_write = client.try_clone()?;
    let back = std::thread::spawn(move || {
        let _ = io::copy(&mut up_read, &mut client_write);
        let _ = client_write.shutdown(std::net::Shutdown::Write);
    });
    let mut up_write = upstream;
    let _ = io::copy(&mut client, &mut up_write);
    let _ = up_write.shutdown(std::net::Shutdown::Write);
    let _ = back.join();
    Ok(())
}
