//! The simulated SMTP submission server (test double): greeting, EHLO with
//! PIPELINING, SIZE and ENHANCEDSTATUSCODES, AUTH XOAUTH2 / OAUTHBEARER
//! offered only after STARTTLS (or from the start in implicit-TLS mode),
//! bearer tokens checked against what the simulated provider issued, the
//! `334` base64-JSON error challenge then `535 5.7.8` on a bad or expired
//! token, `535 5.7.139` for a mailbox with SMTP AUTH disabled, MAIL / RCPT /
//! DATA with dot-unstuffing, and the received messages kept for checks.
//!
//! Replies are written as each command is read, so pipelined commands are
//! answered in order. Bytes a client sends after `STARTTLS` before the
//! handshake are discarded (the STARTTLS command-injection defence).

use super::pki::Pki;
use super::{spawn_server, ReceivedMessage, ServerHandle, Sim, TokenCheck};
use base64::Engine as _;
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

/// Longest command line accepted, CRLF included (RFC 4954 §4: 12288 for
/// AUTH lines; Microsoft's XOAUTH2 values exceed 2500 octets).
pub const MAX_LINE: usize = 12_288;
/// Most commands in one session before the server gives up.
pub const MAX_COMMANDS: usize = 500;
/// Most recipients per message.
pub const MAX_RECIPIENTS: usize = 100;
/// The `250 STARTTLS` / `AUTH` text of the error challenge (Google's shape).
pub const ERROR_CHALLENGE_JSON: &str =
    r#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#;
/// Exchange Online's answer when SMTP AUTH is off (PROVIDERS.md §4).
pub const AUTH_DISABLED_REPLY: &str = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.";

/// How TLS starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain greeting, STARTTLS required before AUTH (port 587).
    StartTls,
    /// TLS from the first octet (port 465).
    Implicit,
    /// Never offers STARTTLS (a misconfigured or downgraded server).
    None,
}

/// Settings of one simulated SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// How TLS starts.
    pub tls: TlsMode,
    /// SASL mechanisms offered after TLS.
    pub mechanisms: Vec<&'static str>,
    /// Announced SIZE limit and enforced message size.
    pub max_size: usize,
    /// Close the connection after this many DATA octets (failure injection).
    pub drop_during_data_after: Option<usize>,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            tls: TlsMode::StartTls,
            mechanisms: vec!["XOAUTH2", "OAUTHBEARER"],
            max_size: 10 * 1024 * 1024,
            drop_during_data_after: None,
        }
    }
}

/// A running simulated SMTP server.
#[derive(Debug)]
pub struct SmtpServer {
    handle: ServerHandle,
}

impl SmtpServer {
    /// Start serving with the certificate of `pki`; tokens are checked
    /// against `sim`.
    pub fn start(sim: &Sim, pki: &Pki, config: SmtpConfig) -> io::Result<Self> {
        let tls = pki
            .server_config(&[])
            .map_err(|e| io::Error::other(e.to_string()))?;
        let sim = sim.clone();
        let handle = spawn_server("smtp", move |tcp| {
            let mut s = Session::new(&sim, &config, Arc::clone(&tls), tcp);
            s.run();
        })?;
        Ok(SmtpServer { handle })
    }

    /// The port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.handle.port()
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
    Gone,
}

impl Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(t) => t.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Gone => Ok(0),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(t) => t.write_all(buf),
            Stream::Tls(s) => {
                s.write_all(buf)?;
                s.flush()
            }
            Stream::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn start_tls(&mut self, config: Arc<ServerConfig>) -> io::Result<()> {
        match std::mem::replace(self, Stream::Gone) {
            Stream::Plain(mut tcp) => {
                let mut conn = ServerConnection::new(config).map_err(io::Error::other)?;
                while conn.is_handshaking() {
                    conn.complete_io(&mut tcp)?;
                }
                *self = Stream::Tls(Box::new(StreamOwned::new(conn, tcp)));
                Ok(())
            }
            other => {
                *self = other;
                Err(io::ErrorKind::InvalidInput.into())
            }
        }
    }

    fn shutdown(&mut self) {
        if let Stream::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        let tcp = match self {
            Stream::Plain(t) => Some(&*t),
            Stream::Tls(s) => Some(&s.sock),
            Stream::Gone => None,
        };
        if let Some(t) = tcp {
            let _ = t.shutdown(std::net::Shutdown::Both);
        }
    }
}

enum Line {
    Ok(Vec<u8>),
    TooLong,
    Eof,
}

struct Session<'a> {
    sim: &'a Sim,
    config: &'a SmtpConfig,
    tls_config: Arc<ServerConfig>,
    stream: Stream,
    buf: Vec<u8>,
    tls: bool,
    ehlo_done: bool,
    account: Option<(String, &'static str)>,
    from: Option<String>,
    rcpts: Vec<String>,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// `<addr>` and what follows, from `MAIL FROM:<addr> SIZE=n`.
fn path_arg(rest: &str) -> Option<(String, &str)> {
    let rest = rest.trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some((inner.get(..end)?.to_owned(), inner.get(end + 1..)?.trim()))
}

impl<'a> Session<'a> {
    fn new(
        sim: &'a Sim,
        config: &'a SmtpConfig,
        tls_config: Arc<ServerConfig>,
        tcp: TcpStream,
    ) -> Self {
        Session {
            sim,
            config,
            tls_config,
            stream: Stream::Plain(tcp),
            buf: Vec::new(),
            tls: false,
            ehlo_done: false,
            account: None,
            from: None,
            rcpts: Vec::new(),
        }
    }

    fn reply(&mut self, text: &str) -> io::Result<()> {
        self.stream.write_all(format!("{text}\r\n").as_bytes())
    }

    /// One line without its CRLF (a bare LF is accepted too).
    fn read_line(&mut self) -> io::Result<Line> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() + 2 > MAX_LINE {
                    return Ok(Line::TooLong);
                }
                return Ok(Line::Ok(line));
            }
            if self.buf.len() > MAX_LINE {
                // Discard up to the end of the over-long line.
                self.buf.clear();
                loop {
                    let n = self.stream.read(&mut chunk)?;
                    if n == 0 {
                        return Ok(Line::Eof);
                    }
                    let got = chunk.get(..n).unwrap_or_default();
                    if let Some(pos) = got.iter().position(|b| *b == b'\n') {
                        self.buf
                            .extend_from_slice(got.get(pos + 1..).unwrap_or_default());
                        return Ok(Line::TooLong);
                    }
                }
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(Line::Eof);
            }
            self.buf
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }

    fn run(&mut self) {
        if self.config.tls == TlsMode::Implicit {
            if self.stream.start_tls(Arc::clone(&self.tls_config)).is_err() {
                return;
            }
            self.tls = true;
        }
        let _ = self.session();
        self.stream.shutdown();
    }

    fn ehlo_lines(&self) -> Vec<String> {
        let mut lines = vec![
            "sim.smtp.invalid Hello".to_owned(),
            "PIPELINING".to_owned(),
            format!("SIZE {}", self.config.max_size),
            "ENHANCEDSTATUSCODES".to_owned(),
            "8BITMIME".to_owned(),
        ];
        if self.tls {
            if !self.config.mechanisms.is_empty() {
                lines.push(format!("AUTH {}", self.config.mechanisms.join(" ")));
            }
        } else if self.config.tls == TlsMode::StartTls {
            lines.push("STARTTLS".to_owned());
        }
        lines
    }

    fn session(&mut self) -> io::Result<()> {
        self.reply("220 sim.smtp.invalid ESMTP simulated submission server (mfp-oauth demo)")?;
        for _ in 0..MAX_COMMANDS {
            let line = match self.read_line()? {
                Line::Eof => return Ok(()),
                Line::TooLong => {
                    self.reply("500 5.5.6 Line too long")?;
                    continue;
                }
                Line::Ok(l) => l,
            };
            let text = String::from_utf8_lossy(&line).into_owned();
            let (verb, rest) = match text.split_once(' ') {
                Some((v, r)) => (v.to_ascii_uppercase(), r.to_owned()),
                None => (text.to_ascii_uppercase(), String::new()),
            };
            match verb.as_str() {
                "EHLO" | "HELO" => {
                    self.ehlo_done = true;
                    self.from = None;
                    self.rcpts.clear();
                    let lines = self.ehlo_lines();
                    let n = lines.len();
                    let mut out = String::new();
                    for (i, l) in lines.iter().enumerate() {
                        let sep = if i + 1 == n { ' ' } else { '-' };
                        out.push_str(&format!("250{sep}{l}\r\n"));
                    }
                    self.stream.write_all(out.as_bytes())?;
                }
                "STARTTLS" => {
                    if self.tls || self.config.tls != TlsMode::StartTls {
                        self.reply("503 5.5.1 STARTTLS not available")?;
                        continue;
                    }
                    self.reply("220 2.0.0 SMTP server ready")?;
                    self.buf.clear(); // RFC 3207 §5: no plaintext pipelined past STARTTLS
                    self.stream.start_tls(Arc::clone(&self.tls_config))?;
                    self.tls = true;
                    self.ehlo_done = false;
                    self.account = None;
                    self.from = None;
                    self.rcpts.clear();
                }
                "AUTH" => self.auth(&rest)?,
                "MAIL" => self.mail(&rest)?,
                "RCPT" => self.rcpt(&rest)?,
                "DATA" => {
                    if self.data()? {
                        return Ok(());
                    }
                }
                "RSET" => {
                    self.from = None;
                    self.rcpts.clear();
                    self.reply("250 2.0.0 Resetting")?;
                }
                "NOOP" => self.reply("250 2.0.0 OK")?,
                "QUIT" => {
                    self.reply("221 2.0.0 Service closing transmission channel")?;
                    return Ok(());
                }
                _ => self.reply("500 5.5.2 Command not recognized")?,
            }
        }
        self.reply("421 4.7.0 Too many commands, closing")
    }

    fn auth(&mut self, rest: &str) -> io::Result<()> {
        if !self.ehlo_done {
            return self.reply("503 5.5.1 Send EHLO first");
        }
        if !self.tls {
            return self.reply("530 5.7.0 Must issue a STARTTLS command first");
        }
        if self.account.is_some() {
            return self.reply("503 5.5.1 Already authenticated");
        }
        let (mech, initial) = match rest.split_once(' ') {
            Some((m, i)) => (m.to_ascii_uppercase(), Some(i.trim().to_owned())),
            None => (rest.trim().to_ascii_uppercase(), None),
        };
        let Some(mech) = self.config.mechanisms.iter().copied().find(|m| *m == mech) else {
            return self.reply("504 5.5.4 Unrecognized authentication type");
        };
        let response = match initial {
            Some(i) if i == "=" => String::new(),
            Some(i) => i,
            None => {
                self.reply("334 ")?;
                match self.read_line()? {
                    Line::Ok(l) => String::from_utf8_lossy(&l).into_owned(),
                    Line::TooLong => {
                        return self.reply("500 5.5.6 Authentication exchange line is too long")
                    }
                    Line::Eof => return Ok(()),
                }
            }
        };
        if response == "*" {
            return self.reply("501 5.7.0 Authentication cancelled");
        }
        let Ok(decoded) = b64().decode(response.as_bytes()) else {
            return self.reply("501 5.5.2 Cannot Base64-decode Client responses");
        };
        let parsed = match mech {
            "XOAUTH2" => parse_xoauth2(&decoded),
            _ => parse_oauthbearer(&decoded),
        };
        let Some((user, token)) = parsed else {
            return self.reply("501 5.5.2 Malformed authentication message");
        };
        if self.sim.smtp_auth_disabled(&user) {
            self.sim.record_auth(&user, "disabled");
            return self.reply(AUTH_DISABLED_REPLY);
        }
        match self.sim.check_access_token(&token, &user) {
            TokenCheck::Valid => {
                self.sim.record_auth(&user, "ok");
                self.account = Some((user, mech));
                self.reply("235 2.7.0 Authentication successful")
            }
            _ => {
                self.sim.record_auth(&user, "challenge");
                let challenge = b64().encode(ERROR_CHALLENGE_JSON);
                self.reply(&format!("334 {challenge}"))?;
                let expected: &[u8] = if mech == "XOAUTH2" { b"" } else { b"AQ==" };
                match self.read_line()? {
                    Line::Ok(l) if l == expected => {
                        self.reply("535 5.7.8 Username and Password not accepted")
                    }
                    Line::Ok(_) | Line::TooLong => {
                        self.reply("501 5.5.2 Unexpected response to the error challenge")
                    }
                    Line::Eof => Ok(()),
                }
            }
        }
    }

    fn mail(&mut self, rest: &str) -> io::Result<()> {
        let Some(account) = self.account.as_ref().map(|a| a.0.clone()) else {
            return self.reply("530 5.7.57 Client not authenticated to send mail");
        };
        if self.from.is_some() {
            return self.reply("503 5.5.1 Sender already specified");
        }
        let Some((addr, params)) = rest
            .get(..5)
            .filter(|p| p.eq_ignore_ascii_case("FROM:"))
            .and_then(|_| path_arg(rest.get(5..).unwrap_or_default()))
        else {
            return self.reply("501 5.5.4 Syntax: MAIL FROM:<address>");
        };
        for p in params.split_whitespace() {
            if let Some(v) = p
                .get(..5)
                .filter(|k| k.eq_ignore_ascii_case("SIZE="))
                .and(p.get(5..))
            {
                match v.parse::<usize>() {
                    Ok(n) if n <= self.config.max_size => {}
                    Ok(_) => {
                        return self
                            .reply("552 5.3.4 Message size exceeds fixed maximum message size")
                    }
                    Err(_) => return self.reply("501 5.5.4 Bad SIZE parameter"),
                }
            }
        }
        if !addr.eq_ignore_ascii_case(&account) {
            return self
                .reply("550 5.7.60 SMTP; Client does not have permissions to send as this sender");
        }
        self.from = Some(addr);
        self.reply("250 2.1.0 Sender OK")
    }

    fn rcpt(&mut self, rest: &str) -> io::Result<()> {
        if self.from.is_none() {
            return self.reply("503 5.5.1 Need MAIL command");
        }
        let Some((addr, _)) = rest
            .get(..3)
            .filter(|p| p.eq_ignore_ascii_case("TO:"))
            .and_then(|_| path_arg(rest.get(3..).unwrap_or_default()))
        else {
            return self.reply("501 5.5.4 Syntax: RCPT TO:<address>");
        };
        if self.rcpts.len() >= MAX_RECIPIENTS {
            return self.reply("452 4.5.3 Too many recipients");
        }
        if addr.ends_with("@reject.invalid") {
            return self.reply("550 5.1.1 Recipient address rejected: user unknown");
        }
        self.rcpts.push(addr);
        self.reply("250 2.1.5 Recipient OK")
    }

    /// Returns true when the connection was dropped on purpose.
    fn data(&mut self) -> io::Result<bool> {
        if self.from.is_none() || self.rcpts.is_empty() {
            self.reply("503 5.5.1 Need RCPT command")?;
            return Ok(false);
        }
        self.reply("354 Start mail input; end with <CRLF>.<CRLF>")?;
        let mut data = Vec::new();
        let mut too_big = false;
        let mut received = 0usize;
        loop {
            let line = match self.read_line()? {
                Line::Eof => return Ok(true),
                Line::TooLong => {
                    too_big = true;
                    continue;
                }
                Line::Ok(l) => l,
            };
            received = received.saturating_add(line.len() + 2);
            // Bounded even against a client that never sends the final dot.
            if received
                > self
                    .config
                    .max_size
                    .saturating_mul(2)
                    .saturating_add(MAX_LINE)
            {
                self.reply("552 5.3.4 Message size exceeds fixed maximum message size")?;
                self.stream.shutdown();
                return Ok(true);
            }
            if let Some(limit) = self.config.drop_during_data_after {
                if received >= limit {
                    self.stream.shutdown();
                    return Ok(true);
                }
            }
            if line == b"." {
                break;
            }
            // RFC 5321 §4.5.2: remove the first of leading dots.
            let content = line.strip_prefix(b".").unwrap_or(&line);
            if data.len() + content.len() + 2 > self.config.max_size {
                too_big = true;
            }
            if !too_big {
                data.extend_from_slice(content);
                data.extend_from_slice(b"\r\n");
            }
        }
        let from = self.from.take().unwrap_or_default();
        let recipients = std::mem::take(&mut self.rcpts);
        if too_big {
            self.reply("552 5.3.4 Message size exceeds fixed maximum message size")?;
            return Ok(false);
        }
        let (account, mechanism) = self.account.clone().unwrap_or_default();
        self.sim.store_message(ReceivedMessage {
            account,
            mechanism: mechanism.to_owned(),
            from,
            recipients,
            data,
        });
        let n = self.sim.messages().len();
        self.reply(&format!("250 2.0.0 OK: queued as SIM{n:05}"))?;
        Ok(false)
    }
}

/// `user=U\x01auth=Bearer T\x01\x01` -> (U, T).
fn parse_xoauth2(msg: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(msg).ok()?;
    let body = text.strip_suffix("\x01\x01")?;
    let (user, auth) = body.split_once('\x01')?;
    let user = user.strip_prefix("user=")?;
    let token = auth.strip_prefix("auth=Bearer ")?;
    (!user.is_empty() && !token.is_empty()).then(|| (user.to_owned(), token.to_owned()))
}

/// `n,a=U,\x01[host=..\x01port=..\x01]auth=Bearer T\x01\x01` -> (U, T).
fn parse_oauthbearer(msg: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(msg).ok()?;
    let (gs2, rest) = text.split_once('\x01')?;
    let authzid = gs2.strip_prefix("n,a=")?.strip_suffix(',')?;
    let rest = rest.strip_suffix("\x01\x01")?;
    let token = rest
        .split('\x01')
        .find_map(|kv| kv.strip_prefix("auth=Bearer "))?;
    (!authzid.is_empty() && !token.is_empty()).then(|| (authzid.to_owned(), token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_providers_md_vectors() {
        let x = b64()
            .decode("dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==")
            .unwrap();
        assert_eq!(
            parse_xoauth2(&x),
            Some((
                "someuser@example.com".into(),
                "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg".into()
            ))
        );
        let o = b64()
            .decode("bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9NTg3AWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB")
            .unwrap();
        assert_eq!(
            parse_oauthbearer(&o),
            Some((
                "user@example.com".into(),
                "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==".into()
            ))
        );
        // RFC 7628 §4.3: empty auth= is a failure, not a token.
        let empty = b64()
            .decode("bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9AQE=")
            .unwrap();
        assert_eq!(parse_oauthbearer(&empty), None);
        assert_eq!(parse_xoauth2(b"user=a\x01auth=Bearer t\x01"), None);
    }

    #[test]
    fn path_arguments() {
        assert_eq!(path_arg("<a@b> SIZE=10"), Some(("a@b".into(), "SIZE=10")));
        assert_eq!(path_arg("a@b"), None);
    }
}
