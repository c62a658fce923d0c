//! The loopback SMTP server every client talks to, its raw-read twin (the
//! physical limit), and a relaying proxy that counts the client's flights.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// Read size of the sink (and of the raw reader): the same for every client.
pub const READ_LEN: usize = 64 * 1024;

/// What one SMTP session delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Messages accepted (final `250` sent).
    pub messages: u32,
    /// `RCPT TO` accepted in the last transaction.
    pub recipients: u32,
    /// Octets of the last message after un-stuffing (`DATA`) or as chunked
    /// (`BDAT`).
    pub body_octets: u64,
    /// Whether the bearer token the client sent was the expected one.
    pub token_ok: bool,
    /// Whether the body came with `BDAT`.
    pub chunked: bool,
    /// Client flights counted by the proxy when the final `250` went out.
    pub flights_at_final: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Command,
    /// `334` sent to a bare `AUTH`: the next line is the response.
    AuthResponse,
    /// After `354`: lines until `.`.
    Data {
        at_line_start: bool,
        /// 0: nothing, 1: saw `.` at line start, 2: saw `.` then CR.
        dot: u8,
    },
    /// Inside a `BDAT` chunk.
    Bdat {
        left: u64,
        last: bool,
    },
}

/// A sans-IO SMTP server session: feed it what the client sends, it appends
/// its replies. It offers PIPELINING, SIZE, 8BITMIME, AUTH XOAUTH2 and,
/// when asked, CHUNKING.
#[derive(Debug)]
pub struct Session {
    chunking: bool,
    token: Vec<u8>,
    mode: Mode,
    line: Vec<u8>,
    stats: SessionStats,
    closed: bool,
}

impl Session {
    /// A session expecting `token`; the greeting goes first.
    #[must_use]
    pub fn new(chunking: bool, token: &[u8]) -> Self {
        Session {
            chunking,
            token: token.to_vec(),
            mode: Mode::Command,
            line: Vec::with_capacity(8 * 1024),
            stats: SessionStats::default(),
            closed: false,
        }
    }

    /// The `220` greeting.
    #[must_use]
    pub fn greeting() -> &'static [u8] {
        b"220 sink.example ESMTP ready\r\n"
    }

    /// What has been delivered so far.
    #[must_use]
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// Whether QUIT was answered.
    #[must_use]
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// Take client octets; replies are appended to `replies`.
    pub fn feed(&mut self, mut input: &[u8], replies: &mut Vec<u8>) {
        while !input.is_empty() && !self.closed {
            input = match self.mode {
                Mode::Data { .. } => self.data(input, replies),
                Mode::Bdat { left, last } => {
                    let take = input.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    self.stats.body_octets += take as u64;
                    let left = left - take as u64;
                    if left == 0 {
                        self.mode = Mode::Command;
                        if last {
                            self.final_reply(replies);
                        } else {
                            replies.extend_from_slice(b"250 2.0.0 chunk OK\r\n");
                        }
                    } else {
                        self.mode = Mode::Bdat { left, last };
                    }
                    &input[take..]
                }
                Mode::Command | Mode::AuthResponse => {
                    match input.iter().position(|&b| b == b'\n') {
                        Some(lf) => {
                            self.line.extend_from_slice(&input[..=lf]);
                            let line = std::mem::take(&mut self.line);
                            self.command(&line, replies);
                            self.line = line;
                            self.line.clear();
                            &input[lf + 1..]
                        }
                        None => {
                            self.line.extend_from_slice(input);
                            &[]
                        }
                    }
                }
            };
        }
    }

    fn final_reply(&mut self, replies: &mut Vec<u8>) {
        self.stats.messages += 1;
        replies.extend_from_slice(b"250 2.0.0 OK queued as 1\r\n");
    }

    /// Scan a `DATA` body for the lone `.` line, counting un-stuffed octets.
    fn data<'i>(&mut self, input: &'i [u8], replies: &mut Vec<u8>) -> &'i [u8] {
        let Mode::Data {
            mut at_line_start,
            mut dot,
        } = self.mode
        else {
            return input;
        };
        let mut i = 0;
        while i < input.len() {
            match dot {
                1 => {
                    if input[i] == b'\r' {
                        dot = 2;
                        i += 1;
                        continue;
                    }
                    // A stuffed dot (or a text line starting with one).
                    dot = 0;
                }
                2 => {
                    if input[i] == b'\n' {
                        self.mode = Mode::Command;
                        self.final_reply(replies);
                        return &input[i + 1..];
                    }
                    self.stats.body_octets += 1; // the CR
                    dot = 0;
                }
                _ => {}
            }
            if at_line_start && input[i] == b'.' {
                dot = 1;
                at_line_start = false;
                i += 1;
                continue;
            }
            match input[i..].iter().position(|&b| b == b'\n') {
                Some(lf) => {
                    self.stats.body_octets += lf as u64 + 1;
                    i += lf + 1;
                    at_line_start = true;
                }
                None => {
                    self.stats.body_octets += (input.len() - i) as u64;
                    i = input.len();
                    at_line_start = false;
                }
            }
        }
        self.mode = Mode::Data { at_line_start, dot };
        &[]
    }

    fn check_xoauth2(&mut self, b64: &[u8]) {
        let mut want = b"auth=Bearer ".to_vec();
        want.extend_from_slice(&self.token);
        want.extend_from_slice(b"\x01\x01");
        self.stats.token_ok = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .is_ok_and(|plain| plain.ends_with(&want));
    }

    fn command(&mut self, line: &[u8], replies: &mut Vec<u8>) {
        let text = line.strip_suffix(b"\r\n").unwrap_or(line);
        if self.mode == Mode::AuthResponse {
            self.mode = Mode::Command;
            self.check_xoauth2(text);
            replies.extend_from_slice(if self.stats.token_ok {
                b"235 2.7.0 Accepted\r\n"
            } else {
                b"535 5.7.8 Bad token\r\n"
            });
            return;
        }
        let upper: Vec<u8> = text.iter().take(10).map(u8::to_ascii_uppercase).collect();
        let words: Vec<&[u8]> = text.split(|&b| b == b' ').collect();
        if upper.starts_with(b"EHLO") {
            replies.extend_from_slice(
                b"250-sink.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 104857600\r\n",
            );
            if self.chunking {
                replies.extend_from_slice(b"250-CHUNKING\r\n");
            }
            replies.extend_from_slice(b"250 AUTH XOAUTH2\r\n");
        } else if upper.starts_with(b"AUTH") {
            match words.get(2) {
                Some(ir) => {
                    self.check_xoauth2(ir);
                    replies.extend_from_slice(if self.stats.token_ok {
                        b"235 2.7.0 Accepted\r\n"
                    } else {
                        b"535 5.7.8 Bad token\r\n"
                    });
                }
                None => {
                    self.mode = Mode::AuthResponse;
                    replies.extend_from_slice(b"334 \r\n");
                }
            }
        } else if upper.starts_with(b"MAIL") {
            self.stats.recipients = 0;
            self.stats.body_octets = 0;
            self.stats.chunked = false;
            replies.extend_from_slice(b"250 2.1.0 Sender OK\r\n");
        } else if upper.starts_with(b"RCPT") {
            self.stats.recipients += 1;
            replies.extend_from_slice(b"250 2.1.5 Recipient OK\r\n");
        } else if upper.starts_with(b"DATA") {
            self.mode = Mode::Data {
                at_line_start: true,
                dot: 0,
            };
            replies.extend_from_slice(b"354 Go ahead\r\n");
        } else if upper.starts_with(b"BDAT") {
            let size = words
                .get(1)
                .and_then(|w| std::str::from_utf8(w).ok())
                .and_then(|w| w.parse::<u64>().ok());
            let last = words
                .get(2)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"LAST"));
            self.stats.chunked = true;
            match size {
                Some(0) if last => self.final_reply(replies),
                Some(0) => replies.extend_from_slice(b"250 2.0.0 chunk OK\r\n"),
                Some(left) => self.mode = Mode::Bdat { left, last },
                None => replies.extend_from_slice(b"501 5.5.4 Bad BDAT\r\n"),
            }
        } else if upper.starts_with(b"RSET") || upper.starts_with(b"NOOP") {
            replies.extend_from_slice(b"250 2.0.0 OK\r\n");
        } else if upper.starts_with(b"QUIT") {
            replies.extend_from_slice(b"221 2.0.0 Bye\r\n");
            self.closed = true;
        } else {
            replies.extend_from_slice(b"500 5.5.2 Unknown command\r\n");
        }
    }
}

/// Client flights counted by a [`Proxy`] on its current connection.
#[derive(Debug, Default)]
pub struct Flights {
    count: AtomicUsize,
    server_spoke_last: AtomicBool,
    last_client_octet_ns: AtomicU64,
}

impl Flights {
    /// Flights so far on the current connection.
    #[must_use]
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

fn serve_one(
    mut stream: TcpStream,
    chunking: bool,
    token: &[u8],
    flights: Option<&Flights>,
) -> io::Result<SessionStats> {
    stream.set_nodelay(true)?;
    let mut session = Session::new(chunking, token);
    stream.write_all(Session::greeting())?;
    let mut buf = vec![0u8; READ_LEN];
    let mut replies = Vec::with_capacity(4096);
    let mut messages = 0;
    let mut flights_at_final = None;
    while !session.closed() {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        session.feed(&buf[..n], &mut replies);
        if session.stats().messages != messages {
            messages = session.stats().messages;
            flights_at_final = flights.map(Flights::count);
        }
        if !replies.is_empty() {
            stream.write_all(&replies)?;
            replies.clear();
        }
    }
    let mut stats = session.stats();
    stats.flights_at_final = flights_at_final;
    Ok(stats)
}

/// A loopback SMTP server in a thread, one session at a time.
#[derive(Debug)]
pub struct Sink {
    addr: SocketAddr,
    results: Receiver<io::Result<SessionStats>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sink {
    /// Listen on 127.0.0.1 (any free port). `flights`: the proxy in front,
    /// if any, read when the final `250` goes out.
    pub fn start(chunking: bool, token: &[u8], flights: Option<Arc<Flights>>) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let (tx, results) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let token = token.to_vec();
        let thread = thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let r = conn.and_then(|s| serve_one(s, chunking, &token, flights.as_deref()));
                if tx.send(r).is_err() {
                    break;
                }
            }
        });
        Ok(Sink {
            addr,
            results,
            stop,
            thread: Some(thread),
        })
    }

    /// Where to connect.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The stats of the next finished session.
    pub fn next_session(&self, timeout: Duration) -> io::Result<SessionStats> {
        match self.results.recv_timeout(timeout) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => Err(io::Error::other("no session ended in time")),
            Err(RecvTimeoutError::Disconnected) => Err(io::Error::other("sink stopped")),
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The physical limit: `len` octets written on a raw loopback socket and
/// read by a reader with the sink's read size, nothing parsed. Returns the
/// time from connect to the reader's end of stream.
pub fn raw_transfer(data: &[u8]) -> io::Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let reader = thread::spawn(move || -> io::Result<u64> {
        let (mut s, _) = listener.accept()?;
        let mut buf = vec![0u8; READ_LEN];
        let mut total = 0u64;
        loop {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
        }
    });
    let t0 = Instant::now();
    let mut w = TcpStream::connect(addr)?;
    w.write_all(data)?;
    w.shutdown(Shutdown::Write)?;
    let got = reader
        .join()
        .map_err(|_| io::Error::other("reader panicked"))??;
    let dt = t0.elapsed();
    if got != data.len() as u64 {
        return Err(io::Error::other("raw transfer lost octets"));
    }
    Ok(dt)
}

/// A relaying proxy on 127.0.0.1 in front of `upstream`, counting client
/// flights: a flight starts when the client sends after the server last
/// spoke. Server octets are held until the client has been quiet for
/// [`Proxy::QUIET`], so that octets the client wrote before seeing a reply
/// never count as a new flight.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    flights: Arc<Flights>,
}

impl Proxy {
    /// Quiet time on the client side before a server reply is relayed.
    pub const QUIET: Duration = Duration::from_millis(3);

    /// Start relaying (one connection at a time, for as long as the
    /// process lives).
    pub fn start(upstream: SocketAddr, flights: Arc<Flights>) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let fl = Arc::clone(&flights);
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { break };
                let _ = relay(client, upstream, &fl);
            }
        });
        Ok(Proxy { addr, flights })
    }

    /// Where clients connect.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The flight counter.
    #[must_use]
    pub fn flights(&self) -> Arc<Flights> {
        Arc::clone(&self.flights)
    }
}

fn relay(client: TcpStream, upstream: SocketAddr, flights: &Arc<Flights>) -> io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    flights.count.store(0, Ordering::SeqCst);
    flights.server_spoke_last.store(true, Ordering::SeqCst);
    let epoch = Instant::now();
    let ns = move || u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let (mut c_read, mut c_write) = (client.try_clone()?, client);
    let (mut s_read, mut s_write) = (server.try_clone()?, server);
    let up_flights = Arc::clone(flights);
    let up = thread::spawn(move || -> io::Result<()> {
        let mut buf = vec![0u8; READ_LEN];
        loop {
            let n = c_read.read(&mut buf)?;
            if n == 0 {
                let _ = s_write.shutdown(Shutdown::Write);
                return Ok(());
            }
            up_flights
                .last_client_octet_ns
                .store(ns(), Ordering::SeqCst);
            if up_flights.server_spoke_last.swap(false, Ordering::SeqCst) {
                up_flights.count.fetch_add(1, Ordering::SeqCst);
            }
            s_write.write_all(&buf[..n])?;
        }
    });
    let mut buf = vec![0u8; READ_LEN];
    let quiet = u64::try_from(Proxy::QUIET.as_nanos()).unwrap_or(u64::MAX);
    loop {
        let n = s_read.read(&mut buf)?;
        if n == 0 {
            let _ = c_write.shutdown(Shutdown::Write);
            break;
        }
        while ns().saturating_sub(flights.last_client_octet_ns.load(Ordering::SeqCst)) < quiet {
            thread::sleep(Duration::from_micros(200));
        }
        flights.server_spoke_last.store(true, Ordering::SeqCst);
        c_write.write_all(&buf[..n])?;
    }
    up.join().map_err(|_| io::Error::other("relay panicked"))?
}
