//! RFC 5321 §4.5.3.2.5 (issue 9, item 3: each timeout per phase; R-HOST,
//! R-SMTP): while the body streams, each send may take the data block
//! timeout (3 minutes), not just the connection's I/O timeout. A server
//! that stops reading for longer than the I/O timeout (here 200 ms, for
//! 2 s) in the middle of a large body is waited for, and the message is
//! delivered whole.

mod common;

use common::{accept_tls, Cert, Pki, Server};
use mfp_oauth_core::smtp::{Envelope, MechanismPreference, Security};
use mfp_oauth_core::{AccessToken, Address};
use mfp_oauth_host::clock::SystemClock;
use mfp_oauth_host::driver::smtp::{send, Hooks, SmtpEndpoint};
use mfp_oauth_host::net::NetOptions;
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

const USER: &str = "admin@contoso.test";
/// Larger than what loopback socket buffers hold, so that sends block
/// while the server does not read.
const BODY_LEN: usize = 48 << 20;

/// Implicit TLS; after `354` the server does not read for `pause`, then
/// takes the whole body. Its plaintext holds the body's octet count.
fn pausing_server(pki: &Pki, pause: Duration) -> Server {
    let config = pki.server(Cert::Good);
    Server::start(move |sock, _| {
        let Some(mut tls) = accept_tls(config, sock) else {
            return (false, Vec::new());
        };
        let _ = tls.write_all(b"220 test.invalid ESMTP\r\n");
        let mut r = BufReader::new(tls);
        let mut l = String::new();
        let mut received = 0usize;
        let mut in_data = false;
        while matches!(r.read_line(&mut l), Ok(n) if n > 0) {
            let line = l.trim_end();
            let reply: &[u8] = if in_data {
                if line == "." {
                    in_data = false;
                    b"250 2.0.0 queued\r\n"
                } else {
                    received += l.len();
                    l.clear();
                    continue;
                }
            } else if line.starts_with("EHLO") {
                b"250-test.invalid\r\n250 AUTH XOAUTH2\r\n"
            } else if line.starts_with("AUTH") {
                b"235 2.7.0 OK\r\n"
            } else if line == "DATA" {
                in_data = true;
                let _ = r.get_mut().write_all(b"354 go ahead\r\n");
                std::thread::sleep(pause);
                l.clear();
                continue;
            } else if line == "QUIT" {
                let _ = r.get_mut().write_all(b"221 bye\r\n");
                break;
            } else {
                b"250 OK\r\n"
            };
            if r.get_mut().write_all(reply).is_err() {
                break;
            }
            l.clear();
        }
        (true, received.to_string().into_bytes())
    })
}

#[test]
fn a_server_pausing_mid_body_is_waited_for() {
    let pki = Pki::new();
    let server = pausing_server(&pki, Duration::from_secs(2));
    let ep = SmtpEndpoint {
        host: "127.0.0.1".into(),
        port: server.port,
        security: Security::ImplicitTls,
        ehlo_name: "printer.contoso.test".into(),
        mechanism: MechanismPreference::Xoauth2,
        net: NetOptions {
            io_timeout: Duration::from_millis(200),
            ..NetOptions::default()
        },
        tls: pki.trust(),
    };
    let line = "x".repeat(998) + "\r\n";
    let body = line.repeat(BODY_LEN / line.len());
    let mut envelope = Envelope::new(Address::parse(USER).unwrap());
    envelope
        .add_recipient(Address::parse("someone@contoso.test").unwrap())
        .unwrap();
    let mut reader = body.as_bytes();
    let result = send(
        &SystemClock::new(),
        &ep,
        Address::parse(USER).unwrap(),
        AccessToken::from_slice(b"ya29.token").unwrap(),
        envelope,
        &mut reader,
        Hooks {
            refresh: &mut || None,
            progress: &mut |_| {},
        },
    );
    let delivery = result.expect("delivered despite the pause");
    assert_eq!(delivery.accepted, 1);
    let r = server.join();
    assert_eq!(
        String::from_utf8(r.decrypted).unwrap(),
        body.len().to_string()
    );
}
