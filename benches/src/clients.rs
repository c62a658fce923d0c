//! One message to three recipients, sent by each contender over loopback.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Instant as StdInstant;

use mfp_oauth_core::smtp::{Client, Envelope, Event, Security, Settings};
use mfp_oauth_core::{Address, Instant};

use crate::fixtures::{EHLO_NAME, RECIPIENTS, USER};

/// Buffer sizes of our driver: what a host build would lend the core.
#[derive(Debug, Clone, Copy)]
pub struct OursBuffers {
    /// Socket reads fed to `handle_input`.
    pub read: usize,
    /// `poll_transmit` / `write_body` output.
    pub out: usize,
    /// Message octets read from the source at a time.
    pub body: usize,
}

impl Default for OursBuffers {
    fn default() -> Self {
        OursBuffers {
            read: 4 * 1024,
            out: 64 * 1024,
            body: 64 * 1024,
        }
    }
}

fn other<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> io::Error + '_ {
    move |e| io::Error::other(format!("{what}: {e}"))
}

/// Our core driven over plain TCP by a minimal blocking driver. The
/// loopback stands in for the TLS connection: the client runs in
/// implicit-TLS mode, so neither side does STARTTLS (as for the peers, which
/// run without TLS too). `message` is streamed from its reader; with
/// `chunking` the body goes as `BDAT` when the server offers it.
pub fn send_ours(
    addr: SocketAddr,
    token: &[u8],
    message: &mut dyn Read,
    message_len: u64,
    chunking: bool,
    bufs: OursBuffers,
) -> io::Result<()> {
    send_ours_as(addr, token, message, message_len, chunking, bufs, false)
}

/// [`send_ours`] with the message declared canonical (the core composer's
/// output): `Client::write_body_canonical`, as `mfp-oauth send` does.
pub fn send_ours_canonical(
    addr: SocketAddr,
    token: &[u8],
    message: &mut dyn Read,
    message_len: u64,
    chunking: bool,
    bufs: OursBuffers,
) -> io::Result<()> {
    send_ours_as(addr, token, message, message_len, chunking, bufs, true)
}

fn send_ours_as(
    addr: SocketAddr,
    token: &[u8],
    message: &mut dyn Read,
    message_len: u64,
    chunking: bool,
    bufs: OursBuffers,
    canonical: bool,
) -> io::Result<()> {
    let epoch = StdInstant::now();
    let now = || Instant::from_millis(u64::try_from(epoch.elapsed().as_millis()).unwrap_or(0));
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let mut settings = Settings::new(Security::ImplicitTls, EHLO_NAME, "localhost", addr.port())
        .map_err(other("settings"))?;
    settings.chunking = chunking;
    let user = Address::parse(USER).map_err(other("address"))?;
    let mut client = Client::new(now(), settings, user.clone());
    client.set_token(now(), token).map_err(other("token"))?;
    let mut envelope = Envelope::new(user);
    for r in RECIPIENTS {
        envelope
            .add_recipient(Address::parse(r).map_err(other("address"))?)
            .map_err(other("envelope"))?;
    }
    envelope.size = Some(message_len);
    client
        .send_message(now(), envelope)
        .map_err(other("send_message"))?;
    let mut input = vec![0u8; bufs.read];
    let mut out = vec![0u8; bufs.out];
    let mut body = vec![0u8; bufs.body];
    loop {
        while let Some(t) = client
            .poll_transmit(now(), &mut out)
            .map_err(other("transmit"))?
        {
            stream.write_all(&out[..t.len])?;
        }
        let mut acted = false;
        while let Some(event) = client.poll_event() {
            acted = true;
            match event {
                Event::ReadyForBody => {
                    loop {
                        let got = message.read(&mut body)?;
                        if got == 0 {
                            break;
                        }
                        let mut chunk = &body[..got];
                        while !chunk.is_empty() {
                            let p = if canonical {
                                client.write_body_canonical(chunk, &mut out)
                            } else {
                                client.write_body(chunk, &mut out)
                            }
                            .map_err(other("write_body"))?;
                            stream.write_all(&out[..p.written])?;
                            chunk = &chunk[p.consumed..];
                        }
                    }
                    client.finish_body(now()).map_err(other("finish_body"))?;
                }
                Event::MessageSent { .. } => client.quit(now()).map_err(other("quit"))?,
                Event::MessageFailed { error } | Event::Failed { error } => {
                    return Err(io::Error::other(format!("session: {error}")));
                }
                Event::Closed => return Ok(()),
                _ => {}
            }
        }
        if acted {
            // Events may have queued commands: send them before reading.
            continue;
        }
        if client.is_closed() {
            return Ok(());
        }
        let n = stream.read(&mut input)?;
        if n == 0 {
            client.handle_close(now());
            continue;
        }
        let mut fed = 0;
        while fed < n {
            let took = client.handle_input(now(), &input[fed..n]);
            if took == 0 {
                break;
            }
            fed += took;
        }
    }
}

/// lettre's blocking SMTP transport (no TLS, XOAUTH2), `send_raw` of the
/// whole message (lettre takes the message as one slice).
pub fn send_lettre(addr: SocketAddr, token: &str, message: &[u8]) -> io::Result<()> {
    use lettre::transport::smtp::authentication::{Credentials, Mechanism};
    use lettre::transport::smtp::extension::ClientId;
    use lettre::Transport as _;
    let transport = lettre::SmtpTransport::builder_dangerous(addr.ip().to_string())
        .port(addr.port())
        .hello_name(ClientId::Domain(EHLO_NAME.to_owned()))
        .credentials(Credentials::new(USER.to_owned(), token.to_owned()))
        .authentication(vec![Mechanism::Xoauth2])
        .build();
    let from: lettre::Address = USER.parse().map_err(other("address"))?;
    let to = RECIPIENTS
        .iter()
        .map(|r| r.parse::<lettre::Address>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(other("address"))?;
    let envelope = lettre::address::Envelope::new(Some(from), to).map_err(other("envelope"))?;
    transport
        .send_raw(&envelope, message)
        .map_err(other("lettre"))?;
    Ok(())
}

/// The curl command line sending `message_file` (XOAUTH2 with the initial
/// response, `--sasl-ir`, curl's best case).
#[must_use]
pub fn curl_command(addr: SocketAddr, token: &str, message_file: &Path) -> Command {
    let mut c = Command::new("curl");
    c.arg("--silent")
        .arg("--show-error")
        .arg("--url")
        .arg(format!("smtp://{addr}/{EHLO_NAME}"))
        .arg("--mail-from")
        .arg(USER);
    for r in RECIPIENTS {
        c.arg("--mail-rcpt").arg(r);
    }
    c.arg("--upload-file")
        .arg(message_file)
        .arg("--user")
        .arg(format!("{USER}:"))
        .arg("--oauth2-bearer")
        .arg(token)
        .arg("--sasl-ir");
    c
}
