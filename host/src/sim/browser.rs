//! A simulated browser (test double) for the PKCE flow: it opens the
//! authorize URL at the simulated provider (where the simulated user is
//! already signed in and consents at once), follows the `302` to the
//! loopback redirect URI, and reports the status the listener answered.

use crate::net::{Connection, NetOptions};
use crate::tls::TlsSettings;
use std::io::{self, Read};

fn split_url(url: &str) -> Option<(bool, String, u16, String)> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else {
        (false, url.strip_prefix("http://")?)
    };
    let (authority, target) = match rest.find('/') {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, "/"),
    };
    let (host, port) = authority.rsplit_once(':')?;
    Some((tls, host.to_owned(), port.parse().ok()?, target.to_owned()))
}

fn get(url: &str, tls: &TlsSettings) -> io::Result<String> {
    let bad = || io::Error::new(io::ErrorKind::InvalidInput, "unsupported URL");
    let (secure, host, port, target) = split_url(url).ok_or_else(bad)?;
    let opts = NetOptions::default();
    let mut c = if secure {
        Connection::connect_tls(&host, port, &opts, tls)
    } else {
        Connection::connect(&host, port, &opts)
    }
    .map_err(|e| io::Error::other(e.to_string()))?;
    c.send(
        format!("GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .map_err(|e| io::Error::other(e.to_string()))?;
    let mut raw = Vec::new();
    // Bounded by the socket timeouts and by the servers closing.
    let _ = c.by_ref().take(64 * 1024).read_to_end(&mut raw);
    Ok(String::from_utf8_lossy(&raw).into_owned())
}

/// Open `authorize_url`, follow its redirect; the loopback listener's
/// status code (200 when the tool accepted the sign-in).
pub fn sign_in(authorize_url: &str, tls: &TlsSettings) -> io::Result<u16> {
    let first = get(authorize_url, tls)?;
    let location = first
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .ok_or_else(|| {
            io::Error::other(format!(
                "no redirect: {}",
                first.lines().next().unwrap_or("")
            ))
        })?
        .trim()
        .to_owned();
    let second = get(&location, tls)?;
    second
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other("no status from the redirect listener"))
}
