//! What the session targets share: a scripted server that serves the fuzz
//! input in arbitrary pieces, the OAuth driver loop with its invariants, and
//! the secret checks on transmits.
#![allow(dead_code)]

use base64::Engine;
use mfp_oauth_core::limits::OAUTH_REQUEST_BUF_LEN;
use mfp_oauth_core::oauth::{Client, Event, RequestKind};
use mfp_oauth_core::Instant;

/// The fuzz input as a server's octets: token-endpoint answers (a length
/// byte times 4, then that many octets) and SMTP streams cut into pieces of
/// 1..=13 octets (the cut moves on after each piece).
pub struct Feed<'a> {
    data: &'a [u8],
    pos: usize,
    step: usize,
}

impl<'a> Feed<'a> {
    pub fn new(data: &'a [u8], step: usize) -> Self {
        Feed {
            data,
            pos: 0,
            step: step % 13 + 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The next token-endpoint answer.
    pub fn answer(&mut self) -> &'a [u8] {
        let len = usize::from(self.data.get(self.pos).copied().unwrap_or(0)) * 4;
        let start = (self.pos + 1).min(self.data.len());
        let end = (start + len).min(self.data.len());
        self.pos = end;
        &self.data[start..end]
    }

    /// The next piece of a stream, without consuming it (see [`Feed::used`]).
    pub fn piece(&self) -> &'a [u8] {
        let end = (self.pos + self.step).min(self.data.len());
        &self.data[self.pos..end]
    }

    /// `n` octets of the last piece were used (all of it when `n` is 0:
    /// a client that takes nothing drops the input); the cut moves on.
    pub fn used(&mut self, n: usize) {
        let piece = self.piece().len();
        assert!(n <= piece, "consumed more than given");
        self.pos += if n == 0 { piece } else { n };
        self.step = self.step % 13 + 1;
    }

    /// The step for chunking an answer, moved on.
    pub fn step(&mut self) -> usize {
        let s = self.step;
        self.step = self.step % 7 + 1;
        s
    }
}

/// The number after `name` in an HTTP head.
pub fn field_number(head: &str, name: &str) -> Option<u64> {
    let at = head.find(name)? + name.len();
    let digits = head[at..].split(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The longest prefix of `base64(plain)` that does not depend on what
/// follows `plain`: present in every SASL initial response that starts
/// with `plain`.
pub fn b64_marker(plain: &[u8]) -> Vec<u8> {
    let whole = plain.len() / 3 * 3;
    base64::engine::general_purpose::STANDARD
        .encode(&plain[..whole])
        .into_bytes()
}

/// Drive an OAuth flow started on `c` to its end against the answers in
/// `feed`, on simulated time. Invariants: never more consumed than given;
/// every request is a whole POST to `host`; every request but the device
/// authorization is marked sensitive, and none of `secrets` is in a request
/// not marked sensitive; every request fits `OAUTH_REQUEST_BUF_LEN`; nothing
/// is sent after success. Each event goes to
/// `on_event` with the client. Returns the time reached.
pub fn drive_oauth<B: AsMut<[u8]>>(
    c: &mut Client<B>,
    feed: &mut Feed<'_>,
    mut now: u64,
    host: &str,
    secrets: &[&[u8]],
    mut on_event: impl FnMut(&Client<B>, Event, Instant),
) -> u64 {
    // The documented request buffer holds any request the client makes.
    let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
    let mut succeeded = false;
    for _ in 0..200 {
        let t = Instant::from_millis(now);
        while let Some(ev) = c.poll_event() {
            if matches!(ev, Event::AccessToken { .. }) {
                succeeded = true;
                assert!(c.tokens().is_some());
            }
            on_event(c, ev, t);
        }
        match c.poll_transmit(t, &mut out) {
            Ok(Some(tx)) => {
                assert!(!succeeded, "a request after success");
                let req = &out[..tx.len];
                assert!(req.starts_with(b"POST /"));
                assert_eq!(tx.endpoint.host(), host);
                if tx.kind != RequestKind::DeviceAuthorization {
                    assert!(tx.sensitive, "{:?} not marked sensitive", tx.kind);
                }
                if !tx.sensitive {
                    for s in secrets {
                        assert!(
                            !contains(req, s),
                            "a secret in a request not marked sensitive"
                        );
                    }
                }
                let answer = feed.answer();
                for piece in answer.chunks(feed.step()) {
                    let used = c.handle_input(t, piece);
                    assert!(used <= piece.len());
                }
                c.handle_close(t);
            }
            Ok(None) => match c.poll_timeout() {
                Some(at) => {
                    now = at.as_millis().max(now);
                    c.handle_timeout(Instant::from_millis(now));
                }
                None => break,
            },
            Err(e) => panic!("a request larger than OAUTH_REQUEST_BUF_LEN: {e:?}"),
        }
    }
    let t = Instant::from_millis(now);
    while let Some(ev) = c.poll_event() {
        on_event(c, ev, t);
    }
    now
}

/// Everything a client transmitted, octet by octet with its transmit's
/// `sensitive` flag: a secret cut across several small transmits is still
/// found whole.
#[derive(Default)]
pub struct Wire {
    bytes: Vec<u8>,
    sensitive: Vec<bool>,
}

impl Wire {
    pub fn push(&mut self, sent: &[u8], sensitive: bool) {
        self.bytes.extend_from_slice(sent);
        self.sensitive
            .extend(std::iter::repeat_n(sensitive, sent.len()));
    }

    /// Every line that carries one of `secrets` was sent entirely in
    /// transmits marked sensitive.
    pub fn assert_secrets_only_in_sensitive_lines(&self, secrets: &[&[u8]]) {
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            let mut from = 0;
            while let Some(i) = self.bytes[from..].windows(s.len()).position(|w| w == *s) {
                let at = from + i;
                let start = self.bytes[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1);
                let end = self.bytes[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(self.bytes.len(), |p| at + p + 1);
                assert!(
                    self.sensitive[start..end].iter().all(|&x| x),
                    "a secret in octets {start}..{end} not marked sensitive"
                );
                from = at + 1;
            }
        }
    }
}
