//! A transcript player for `mfp_oauth_core::smtp::Client`.
//!
//! A transcript is a list of lines:
//! - `S: <text>`: the server sends `<text>\r\n`;
//! - `C: <text>`: a line the client sent (observed, then compared);
//! - `E: <event>`: an event the client raised (observed, then compared);
//! - `! <directive>`: something the driver does: `tls`, `send FROM TO[,TO…]
//!   [SIZE]`, `body <text>` (`\n` written as `\\n`), `end`, `quit`,
//!   `retry <token>`, `close`, `advance <ms>`, `timeout`;
//! - `#` comments and blank lines, ignored.
//!
//! [`run`] executes the `S:` and `!` lines and records what the client did
//! as `C:` and `E:` lines, in order; the result equals the input transcript
//! exactly when the client behaved as written.
//!
//! [`run_cut`] plays the same transcript but closes the connection once a
//! given number of server octets has been fed (mid-line if need be), and
//! drops the rest of the script: the hostile-server tests close after every
//! octet offset of the server's stream with it.

use mfp_oauth_core::diag::Diagnostic;
use mfp_oauth_core::smtp::{Client, Envelope, Event, Settings};
use mfp_oauth_core::{Address, Instant};
use std::fmt::Write as _;

/// How the server's octets are cut before they reach the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// Each `S:` line separately.
    Lines,
    /// One octet at a time.
    Bytes,
    /// Consecutive `S:` lines together, as one TCP segment (pipelined replies).
    Batched,
    /// Pseudo-random cuts from a seed.
    Random(u64),
}

/// What a run observed.
#[derive(Debug, Default)]
pub struct Observed {
    /// The transcript as observed (`S:`, `C:`, `E:` and `!` lines).
    pub transcript: String,
    /// Only the `C:` lines, in order.
    pub client_lines: Vec<String>,
    /// Only the `E:` lines, in order.
    pub events: Vec<String>,
    /// Transmits not marked sensitive that contained the token's encoding.
    pub leaked_transmits: usize,
    /// Client flights: runs of client output with no server input between
    /// them (what a round-trip count measures, RFC 2920 §3).
    pub flights: usize,
    /// Transmits marked sensitive.
    pub sensitive_transmits: usize,
    /// For each entry of `events`: the server octets fed when it was seen.
    pub event_offsets: Vec<usize>,
    /// Server octets fed in all.
    pub server_bytes: usize,
    /// Whether the client said its session is over at the end of the run.
    pub closed: bool,
    /// Transmits the client produced after the connection was closed.
    pub transmits_after_close: usize,
}

/// A compact, stable rendering of an event for transcripts.
pub fn render(event: &Event) -> String {
    match event {
        Event::UpgradeTls => "UpgradeTls".into(),
        Event::Authenticating {
            mechanism,
            initial_response,
        } => format!(
            "Authenticating {} {}",
            mechanism.name(),
            if *initial_response {
                "initial-response"
            } else {
                "two-step"
            }
        ),
        Event::Authenticated { mechanism } => format!("Authenticated {}", mechanism.name()),
        Event::AuthRejected {
            code,
            diag,
            refresh_and_retry,
        } => format!(
            "AuthRejected {code} E{} retry={}",
            diag.number(),
            if *refresh_and_retry { "yes" } else { "no" }
        ),
        Event::Ready => "Ready".into(),
        Event::RecipientRefused { index, code, diag } => {
            format!("RecipientRefused #{index} {code} E{}", diag.number())
        }
        Event::ReadyForBody => "ReadyForBody".into(),
        Event::MessageSent {
            code,
            accepted,
            refused,
        } => {
            format!("MessageSent {code} accepted={accepted} refused={refused}")
        }
        Event::MessageFailed { error } => {
            format!("MessageFailed E{} {error}", error.diag().number())
        }
        Event::Closed => "Closed".into(),
        Event::Failed { error } => format!("Failed E{} {error}", error.diag().number()),
        other => format!("{other:?}"),
    }
}

struct Player {
    client: Client,
    now: Instant,
    obs: Observed,
    pending_out: Vec<u8>,
    secret_markers: Vec<String>,
    out_size: usize,
    in_flight: bool,
    /// Close after this many server octets ([`run_cut`]).
    cut: Option<usize>,
    /// Whether the connection was closed (by a cut or a directive).
    closed: bool,
}

impl Player {
    fn log(&mut self, line: &str) {
        self.obs.transcript.push_str(line.trim_end());
        self.obs.transcript.push('\n');
    }

    fn flush_client_lines(&mut self) {
        while let Some(pos) = self.pending_out.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = self.pending_out.drain(..pos + 2).collect();
            let text = String::from_utf8_lossy(&line[..pos]).into_owned();
            self.log(&format!("C: {text}"));
            self.obs.client_lines.push(text);
        }
    }

    fn pump(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(ev) = self.client.poll_event() {
                let r = render(&ev);
                self.log(&format!("E: {r}"));
                self.obs.events.push(r);
                self.obs.event_offsets.push(self.obs.server_bytes);
                progressed = true;
            }
            let mut buf = vec![0u8; self.out_size];
            while let Some(t) = self
                .client
                .poll_transmit(self.now, &mut buf)
                .expect("buffer")
            {
                let bytes = &buf[..t.len];
                let text = String::from_utf8_lossy(bytes);
                let leaked = self
                    .secret_markers
                    .iter()
                    .any(|m| text.contains(m.as_str()));
                if self.closed {
                    self.obs.transmits_after_close += 1;
                }
                if t.sensitive {
                    self.obs.sensitive_transmits += 1;
                } else if leaked {
                    self.obs.leaked_transmits += 1;
                }
                self.client_wrote();
                self.pending_out.extend_from_slice(bytes);
                progressed = true;
            }
            self.flush_client_lines();
            if !progressed {
                break;
            }
        }
    }

    fn client_wrote(&mut self) {
        if !self.in_flight {
            self.in_flight = true;
            self.obs.flights += 1;
        }
    }

    /// Whether the cut was reached: the connection is then closed.
    fn cut_reached(&self) -> bool {
        self.closed && self.cut.is_some()
    }

    fn close(&mut self) {
        self.client.handle_close(self.now);
        self.closed = true;
        self.pump();
    }

    fn feed(&mut self, data: &[u8], feed: Feed, rng: &mut u64) {
        // Server octets end the client's current flight.
        self.in_flight = false;
        if let Some(cut) = self.cut {
            let room = cut.saturating_sub(self.obs.server_bytes);
            // At the cut exactly, the directives that follow still run:
            // the close comes before the next server octet.
            if data.len() > room {
                self.feed_now(&data[..room], feed, rng);
                self.close();
                return;
            }
        }
        self.feed_now(data, feed, rng);
    }

    fn feed_now(&mut self, data: &[u8], feed: Feed, rng: &mut u64) {
        let mut rest = data;
        while !rest.is_empty() {
            let take = match feed {
                Feed::Lines | Feed::Batched => rest.len(),
                Feed::Bytes => 1,
                Feed::Random(_) => {
                    *rng ^= *rng << 13;
                    *rng ^= *rng >> 7;
                    *rng ^= *rng << 17;
                    1 + (*rng % 7) as usize
                }
            }
            .min(rest.len());
            let used = self.client.handle_input(self.now, &rest[..take]);
            self.obs.server_bytes += take;
            assert!(used <= take, "consumed more than given");
            self.pump();
            if used < take {
                // The client stopped reading (STARTTLS or closed): the rest
                // is not for it. A transcript never has more after that.
                return;
            }
            rest = &rest[take..];
        }
    }

    fn directive(&mut self, d: &str) {
        let mut words = d.split_whitespace();
        match words.next() {
            Some("tls") => self.client.handle_tls_established(self.now).expect("tls"),
            Some("send") => {
                let from = Address::parse(words.next().expect("from")).expect("from address");
                let mut env = Envelope::new(from);
                for to in words.next().expect("to").split(',') {
                    env.add_recipient(Address::parse(to).expect("to address"))
                        .expect("rcpt");
                }
                env.size = words.next().map(|s| s.parse().expect("size"));
                self.client.send_message(self.now, env).expect("send");
            }
            Some("body") => {
                let text = d["body".len()..].trim_start().replace("\\n", "\n");
                let mut input = text.as_bytes();
                let mut out = [0u8; 64];
                while !input.is_empty() {
                    let p = self.client.write_body(input, &mut out).expect("body");
                    if p.written > 0 {
                        self.client_wrote();
                    }
                    self.pending_out.extend_from_slice(&out[..p.written]);
                    input = &input[p.consumed..];
                }
            }
            Some("end") => self.client.finish_body(self.now).expect("end"),
            Some("quit") => self.client.quit(self.now).expect("quit"),
            Some("retry") => {
                let token = words.next().expect("token");
                self.client
                    .retry_auth(self.now, token.as_bytes())
                    .expect("retry");
            }
            Some("close") => {
                self.client.handle_close(self.now);
                self.closed = true;
            }
            Some("advance") => {
                let ms: u64 = words.next().expect("ms").parse().expect("ms");
                self.now = Instant::from_millis(self.now.as_millis() + ms);
            }
            Some("timeout") => self.client.handle_timeout(self.now),
            other => panic!("unknown directive {other:?}"),
        }
        self.pump();
    }
}

/// Play `script` against a client built from `settings`, `user` and
/// `token`, feeding server octets as `feed` says and lending the client
/// output buffers of `out_size` octets.
pub fn run(
    script: &str,
    settings: Settings,
    user: &str,
    token: &str,
    feed: Feed,
    out_size: usize,
) -> Observed {
    play(script, settings, user, token, feed, out_size, None)
}

/// Play `script` as [`run`] does with [`Feed::Lines`], but close the
/// connection once `cut` server octets have been fed (cutting a line if need
/// be; at the end of the script if it has fewer) and play nothing after.
pub fn run_cut(
    script: &str,
    settings: Settings,
    user: &str,
    token: &str,
    cut: usize,
    out_size: usize,
) -> Observed {
    play(
        script,
        settings,
        user,
        token,
        Feed::Lines,
        out_size,
        Some(cut),
    )
}

fn play(
    script: &str,
    settings: Settings,
    user: &str,
    token: &str,
    feed: Feed,
    out_size: usize,
    cut: Option<usize>,
) -> Observed {
    let user_addr = Address::parse(user).expect("user");
    let mut client = Client::new(Instant::ZERO, settings, user_addr);
    client
        .set_token(Instant::ZERO, token.as_bytes())
        .expect("token");
    let mut player = Player {
        client,
        now: Instant::ZERO,
        obs: Observed::default(),
        pending_out: Vec::new(),
        secret_markers: secret_markers(user, token),
        out_size,
        in_flight: false,
        cut,
        closed: false,
    };
    let mut rng = match feed {
        Feed::Random(seed) => seed | 1,
        _ => 1,
    };
    let mut batch: Vec<u8> = Vec::new();
    let lines: Vec<&str> = script.lines().collect();
    for (i, raw) in lines.iter().enumerate() {
        if player.cut_reached() {
            break;
        }
        let line = raw.trim_end();
        if let Some(text) = line
            .strip_prefix("S: ")
            .or_else(|| (line == "S:").then_some(""))
        {
            player.log(line);
            let mut bytes = text.as_bytes().to_vec();
            bytes.extend_from_slice(b"\r\n");
            if feed == Feed::Batched {
                batch.extend_from_slice(&bytes);
                let next_is_server = lines.get(i + 1).is_some_and(|n| n.starts_with("S:"));
                if !next_is_server {
                    let chunk = std::mem::take(&mut batch);
                    player.feed(&chunk, feed, &mut rng);
                }
            } else {
                player.feed(&bytes, feed, &mut rng);
            }
        } else if let Some(d) = line.strip_prefix("! ") {
            player.log(line);
            player.directive(d);
        } else if line.starts_with("C:")
            || line.starts_with("E:")
            || line.starts_with('#')
            || line.is_empty()
        {
            // Observations are produced by the run; comments are dropped.
        } else {
            panic!("bad transcript line {line:?}");
        }
    }
    if player.cut.is_some() && !player.closed {
        player.close();
    }
    player.flush_client_lines();
    player.obs.closed = player.client.is_closed();
    if !player.pending_out.is_empty() {
        let rest = String::from_utf8_lossy(&player.pending_out).into_owned();
        player.log(&format!("C(partial): {rest}"));
    }
    player.obs
}

/// The transcript without comments and blank lines, as [`run`] writes it.
pub fn normalise(script: &str) -> String {
    let mut out = String::new();
    for line in script.lines().map(str::trim_end) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

/// Prefixes of the base64 encodings of the XOAUTH2 and OAUTHBEARER messages
/// for `user` and `token`: none may appear in a transmit not marked sensitive.
fn secret_markers(user: &str, token: &str) -> Vec<String> {
    use base64::Engine as _;
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let x = b64(format!("user={user}\x01auth=Bearer {token}\x01\x01"));
    let o = b64(format!("n,a={user},\x01host="));
    let mut markers = vec![
        x[..x.len().min(40)].to_string(),
        o[..o.len() - 4].to_string(),
    ];
    // The token itself in plain text must never travel either.
    markers.push(token.to_string());
    markers
}
