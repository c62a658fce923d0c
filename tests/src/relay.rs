//! A TCP relay that counts client flights, for clients we do not drive
//! octet by octet: the product's real host driver (rustls, sockets), curl,
//! lettre (issue 11).
//!
//! # What a flight is
//!
//! A *client flight* is a maximal run of client→server octets during which
//! the relay delivered no server→client octets to the client: the client
//! wrote it without having heard anything new from the server, so every
//! flight after the first costs one round trip. The relay stamps each
//! flight with the wall-clock time its first octet arrived.
//!
//! The server's octets are held until the client has been quiet for
//! [`QUIET`], then passed on. Without that, a pipelining client that writes
//! one group in several writes (MAIL and RCPT, then a `BDAT` chunk) could
//! see the server's first reply slip in between its writes and be counted
//! twice depending on scheduling. With it the count depends only on what the
//! client waits for, as long as the client never pauses longer than
//! [`QUIET`] inside a group it means to send at once (none of the measured
//! clients does on loopback). A client held back by the server's pace (the
//! relay still forwarding its octets, so not reading more) is not quiet:
//! a large body is one flight however slowly the server takes it. TLS
//! records are counted like any octets: a TLS handshake's client flights
//! are flights.
//!
//! # Counting up to the final `250`
//!
//! Submission servers that relay (Dovecot) answer the final `250` only
//! after the next hop stored the message. [`Flights::before`] counts the
//! flights that started before a given time: with the time the sink stored
//! the message, that is the flights from connect to the final `250`, even
//! when the session is encrypted and the relay cannot read it. (The client's
//! next flight, QUIT, waits for that `250`, which the relay holds at least
//! [`QUIET`] after the sink's write.)

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// How long the client must have been silent before the server's octets
/// are passed on.
pub const QUIET: Duration = Duration::from_millis(50);

/// How long the relay waits for its one client.
const ACCEPT_LIMIT: Duration = Duration::from_secs(60);

/// What the relay saw on one connection.
#[derive(Debug, Default, Clone)]
pub struct Flights {
    /// Start of each client flight (wall clock), in order.
    pub starts: Vec<SystemTime>,
    /// Octets of each client flight.
    pub sizes: Vec<u64>,
    /// Reads the relay made of each client flight: 1 when the flight
    /// arrived in one TCP segment (one write of the client, on loopback).
    pub reads: Vec<u32>,
    /// Every octet the client sent.
    pub client: Vec<u8>,
    /// Every octet the server sent.
    pub server: Vec<u8>,
}

impl Flights {
    /// All client flights of the connection.
    #[must_use]
    pub fn total(&self) -> usize {
        self.starts.len()
    }

    /// Client flights that started before `t`.
    #[must_use]
    pub fn before(&self, t: SystemTime) -> usize {
        self.starts.iter().filter(|s| **s < t).count()
    }
}

#[derive(Debug)]
struct State {
    flights: Flights,
    /// Server octets reached the client since the last client octet.
    server_spoke: bool,
    last_client: Instant,
    /// Client octets are being written to the server (the client may be
    /// blocked on us: not quiet).
    forwarding: bool,
}

/// A one-connection relay on 127.0.0.1 in front of `upstream`.
#[derive(Debug)]
pub struct FlightRelay {
    /// The port to connect to instead of the server's.
    pub port: u16,
    state: Arc<Mutex<State>>,
    thread: Option<JoinHandle<()>>,
}

impl FlightRelay {
    /// Listen on 127.0.0.1 (an ephemeral port) for one client and relay it
    /// to `upstream`.
    ///
    /// # Panics
    /// When it cannot listen (a test cannot run without it).
    #[must_use]
    pub fn start(upstream: (&str, u16)) -> FlightRelay {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("relay bind");
        let port = listener.local_addr().expect("relay addr").port();
        let state = Arc::new(Mutex::new(State {
            flights: Flights::default(),
            // The first client octet always starts a flight.
            server_spoke: true,
            last_client: Instant::now(),
            forwarding: false,
        }));
        let upstream = (upstream.0.to_owned(), upstream.1);
        let shared = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            let Some(client) = accept_within(&listener, ACCEPT_LIMIT) else {
                return;
            };
            let Ok(server) = TcpStream::connect((upstream.0.as_str(), upstream.1)) else {
                return;
            };
            for s in [&client, &server] {
                let _ = s.set_nodelay(true);
                let _ = s.set_read_timeout(Some(Duration::from_secs(120)));
            }
            let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                return;
            };
            let up_state = Arc::clone(&shared);
            let up = std::thread::spawn(move || client_to_server(c2, s2, &up_state));
            server_to_client(server, client, &shared);
            let _ = up.join();
        });
        FlightRelay {
            port,
            state,
            thread: Some(thread),
        }
    }

    /// Wait for the connection to end; what went through.
    ///
    /// # Panics
    /// If a relay thread panicked.
    #[must_use]
    pub fn finish(mut self) -> Flights {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.state.lock().expect("relay state").flights.clone()
    }
}

/// One connection on `listener`, or `None` after `limit` (so that a test
/// whose client never came does not hang joining the relay).
#[must_use]
pub fn accept_within(listener: &TcpListener, limit: Duration) -> Option<TcpStream> {
    listener.set_nonblocking(true).ok()?;
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).ok()?;
                return Some(s);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return None,
        }
    }
    None
}

fn client_to_server(mut from: TcpStream, mut to: TcpStream, state: &Mutex<State>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let data = buf.get(..n).unwrap_or_default();
        if let Ok(mut s) = state.lock() {
            if s.server_spoke {
                s.server_spoke = false;
                s.flights.starts.push(SystemTime::now());
                s.flights.sizes.push(0);
                s.flights.reads.push(0);
            }
            if let Some(last) = s.flights.sizes.last_mut() {
                *last += n as u64;
            }
            if let Some(last) = s.flights.reads.last_mut() {
                *last += 1;
            }
            s.flights.client.extend_from_slice(data);
            s.last_client = Instant::now();
            s.forwarding = true;
        }
        let written = to.write_all(data);
        if let Ok(mut s) = state.lock() {
            s.forwarding = false;
            s.last_client = Instant::now();
        }
        if written.is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

fn server_to_client(mut from: TcpStream, mut to: TcpStream, state: &Mutex<State>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let data = buf.get(..n).unwrap_or_default();
        // Hold until the client has been quiet for QUIET, then mark the
        // flight over before the client can see a single octet.
        loop {
            let Ok(mut s) = state.lock() else { return };
            let quiet = if s.forwarding {
                Duration::ZERO
            } else {
                s.last_client.elapsed()
            };
            if quiet >= QUIET {
                s.server_spoke = true;
                s.flights.server.extend_from_slice(data);
                break;
            }
            drop(s);
            std::thread::sleep(QUIET - quiet);
        }
        if to.write_all(data).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
