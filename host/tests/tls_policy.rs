//! TLS policy of the host drivers (issue 9, item 6; R-HOST, R-SMTP,
//! R-OAUTH, R-DIAG), against local rustls servers with rcgen certificates
//! that record every octet they receive:
//! - a certificate from an unknown CA (or an impostor CA bearing the
//!   trusted one's name), expired, for another name, or self-signed
//!   refuses the connection with its own diagnostic (E609, E607, E608), on STARTTLS, on implicit TLS and on the HTTPS token
//!   endpoint, and no AUTH line, no token, no request body reaches the
//!   server;
//! - no AUTH before TLS and no downgrade: a server that offers AUTH but not
//!   STARTTLS in the clear (E302), refuses STARTTLS (E303), or omits AUTH
//!   after TLS (E304) gets no AUTH line.
//!
//! Each refusal is checked against the same server with a good
//! certificate, where AUTH and the token do arrive: the recordings can see
//! them.

mod common;

use base64::Engine as _;
use common::{endpoint, implicit_tls_server, starttls_server, Cert, Pki, Received, Server};
use mfp_oauth_core::diag::{Diagnostic, Id};
use mfp_oauth_core::oauth::{OAuthError, TransportError};
use mfp_oauth_core::smtp::{self, Envelope, Security};
use mfp_oauth_core::{AccessToken, Address};
use mfp_oauth_host::clock::SystemClock;
use mfp_oauth_host::driver::oauth::{drive, Finish, HttpsTransport};
use mfp_oauth_host::driver::smtp::{send, Delivery, Hooks, SendError, SmtpEndpoint};
use mfp_oauth_host::net::{NetError, NetOptions};
use mfp_oauth_host::tls::TlsSettings;
use std::io::{BufRead, BufReader, Write};

const USER: &str = "admin@contoso.test";
const TOKEN: &str = "ya29.SECRET-ACCESS-TOKEN-for-the-tls-policy-tests";
const REFRESH: &str = "0.AXkA-SECRET-REFRESH-TOKEN-for-the-tls-policy-tests";

/// The bad certificates and the diagnostic each must give.
const BAD: [(Cert, Id); 5] = [
    (Cert::UntrustedCa, Id::CertificateUntrusted),
    (Cert::ImpostorCa, Id::CertificateUntrusted),
    (Cert::Expired, Id::CertificateExpired),
    (Cert::WrongName, Id::CertificateWrongName),
    (Cert::SelfSigned, Id::CertificateUntrusted),
];

/// Submit one message as `USER` with `TOKEN`.
fn submit(ep: &SmtpEndpoint) -> Result<Delivery, SendError> {
    let clock = SystemClock::new();
    let mut envelope = Envelope::new(Address::parse(USER).unwrap());
    envelope
        .add_recipient(Address::parse("someone@contoso.test").unwrap())
        .unwrap();
    let mut body: &[u8] = b"Subject: scan\r\n\r\nhello\r\n";
    send(
        &clock,
        ep,
        Address::parse(USER).unwrap(),
        AccessToken::from_slice(TOKEN.as_bytes()).unwrap(),
        envelope,
        &mut body,
        Hooks {
            refresh: &mut || None,
            progress: &mut |_| {},
        },
    )
}

/// The XOAUTH2 initial response for `USER` and `TOKEN`.
fn xoauth2() -> String {
    base64::engine::general_purpose::STANDARD
        .encode(format!("user={USER}\x01auth=Bearer {TOKEN}\x01\x01"))
}

/// Nothing of the authentication reached the server, in the clear or not.
fn assert_no_auth(r: &Received, case: &str) {
    assert!(
        !r.contains(b"AUTH"),
        "{case}: an AUTH line reached the server"
    );
    assert!(
        !r.contains(TOKEN.as_bytes()),
        "{case}: the token reached the server"
    );
    assert!(
        !r.contains(&xoauth2().as_bytes()[..24]),
        "{case}: the XOAUTH2 response reached the server"
    );
}

fn assert_certificate_refused(result: Result<Delivery, SendError>, want: Id, case: &str) {
    let e = result.expect_err(case);
    assert!(
        matches!(
            e,
            SendError::Net(NetError::Certificate(rustls::Error::InvalidCertificate(_)))
        ),
        "{case}: {e}"
    );
    assert_eq!(e.diag(), want, "{case}: {e}");
}

/// The control: with a good certificate the same servers do receive AUTH
/// and the token (inside TLS), so the refusals below are observed, not
/// assumed.
#[test]
fn a_good_certificate_gets_auth_and_the_token_inside_tls() {
    let pki = Pki::new();
    for security in [Security::StartTls, Security::ImplicitTls] {
        let server = match security {
            Security::StartTls => starttls_server(pki.server(Cert::Good), true),
            Security::ImplicitTls => implicit_tls_server(pki.server(Cert::Good)),
        };
        let d = submit(&endpoint(server.port, security, pki.trust())).expect("delivered");
        assert_eq!(d.accepted, 1);
        let r = server.join();
        assert!(r.handshake_done);
        assert!(r.decrypted.windows(12).any(|w| w == b"AUTH XOAUTH2"));
        let auth = format!("AUTH XOAUTH2 {}", xoauth2());
        assert!(r
            .decrypted
            .windows(auth.len())
            .any(|w| w == auth.as_bytes()));
        // Never in the clear: the raw octets hold only TLS records after
        // STARTTLS.
        assert!(!r.raw.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
    }
}

/// R-HOST: each bad certificate after STARTTLS refuses the session with its
/// diagnostic; the server saw EHLO and STARTTLS, never AUTH or the token
/// (even though it offered XOAUTH2 in the clear).
#[test]
fn bad_certificates_after_starttls_refuse_before_auth() {
    let pki = Pki::new();
    for (kind, want) in BAD {
        let case = format!("STARTTLS {kind:?}");
        let server = starttls_server(pki.server(kind), true);
        let result = submit(&endpoint(server.port, Security::StartTls, pki.trust()));
        assert_certificate_refused(result, want, &case);
        let r = server.join();
        assert!(!r.handshake_done, "{case}");
        assert!(r.contains(b"STARTTLS"), "{case}");
        assert_no_auth(&r, &case);
    }
}

/// R-HOST: the same on implicit TLS (465): nothing but the TLS handshake
/// reaches the server, not even EHLO.
#[test]
fn bad_certificates_on_implicit_tls_refuse_before_ehlo() {
    let pki = Pki::new();
    for (kind, want) in BAD {
        let case = format!("implicit TLS {kind:?}");
        let server = implicit_tls_server(pki.server(kind));
        let result = submit(&endpoint(server.port, Security::ImplicitTls, pki.trust()));
        assert_certificate_refused(result, want, &case);
        let r = server.join();
        assert!(!r.handshake_done, "{case}");
        assert!(!r.contains(b"EHLO"), "{case}");
        assert_no_auth(&r, &case);
    }
}

/// The reply of a scripted plaintext server to each line.
type Answer = fn(&str) -> &'static [u8];

/// A plaintext server scripted by `answer`.
fn plain_server(answer: Answer) -> Server {
    Server::start(move |sock, _| {
        let mut r = BufReader::new(sock);
        let _ = r.get_mut().write_all(b"220 test.invalid ESMTP\r\n");
        let mut l = String::new();
        while matches!(r.read_line(&mut l), Ok(n) if n > 0) {
            let reply = answer(l.trim_end());
            if r.get_mut().write_all(reply).is_err() {
                break;
            }
            l.clear();
        }
        (false, Vec::new())
    })
}

/// R-SMTP: no AUTH before TLS, no downgrade. A server offering XOAUTH2 but
/// not STARTTLS is refused (E302); one that refuses STARTTLS with 454 is
/// refused (E303); in both cases no AUTH line and no token was sent.
#[test]
fn no_auth_in_the_clear_whatever_the_server_offers() {
    let cases: [(&str, Answer, Id); 2] = [
        (
            "STARTTLS not offered",
            |l| {
                if l.starts_with("EHLO") {
                    b"250-test.invalid\r\n250-AUTH PLAIN LOGIN XOAUTH2\r\n250 PIPELINING\r\n"
                } else {
                    b"250 OK\r\n"
                }
            },
            Id::StartTlsNotOffered,
        ),
        (
            "STARTTLS refused",
            |l| {
                if l.starts_with("EHLO") {
                    b"250-test.invalid\r\n250-AUTH XOAUTH2\r\n250 STARTTLS\r\n"
                } else if l == "STARTTLS" {
                    b"454 4.7.0 TLS not available due to temporary reason\r\n"
                } else {
                    b"250 OK\r\n"
                }
            },
            Id::StartTlsRefused,
        ),
    ];
    let pki = Pki::new();
    for (case, answer, want) in cases {
        let server = plain_server(answer);
        let e = submit(&endpoint(server.port, Security::StartTls, pki.trust())).expect_err(case);
        assert!(matches!(e, SendError::Session { .. }), "{case}: {e}");
        assert_eq!(e.diag(), want, "{case}: {e}");
        let r = server.join();
        assert!(r.contains(b"EHLO"), "{case}");
        assert_no_auth(&r, case);
    }
}

/// R-SMTP / RFC 3207 §4.2: after TLS the capabilities are read again; a
/// server whose second EHLO omits AUTH is refused (E304), although its
/// first EHLO, in the clear, offered XOAUTH2.
#[test]
fn second_ehlo_without_auth_is_refused() {
    let pki = Pki::new();
    let server = starttls_server(pki.server(Cert::Good), false);
    let e = submit(&endpoint(server.port, Security::StartTls, pki.trust())).unwrap_err();
    assert!(
        matches!(
            e,
            SendError::Session {
                error: smtp::Error::NoOAuthMechanism,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.diag(), Id::NoOAuthMechanism);
    let r = server.join();
    assert!(r.handshake_done);
    assert!(r.decrypted.starts_with(b"EHLO printer.contoso.test\r\n"));
    assert_no_auth(&r, "second EHLO without AUTH");
}

fn token_response() -> Vec<u8> {
    let body = r#"{"access_token":"ya29.new","token_type":"Bearer","expires_in":3599}"#;
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn refresh_against(server: &Server, trust: TlsSettings) -> Finish {
    let clock = SystemClock::new();
    let mut c = common::refreshing(server.port, REFRESH.as_bytes());
    let transport = HttpsTransport {
        net: NetOptions::default(),
        tls: trust,
    };
    drive(&clock, &mut c, &transport, None, &mut |_, _| {})
}

/// R-HOST / R-OAUTH: a bad certificate on the token endpoint refuses the
/// connection before the request, so the refresh token never leaves; the
/// failure is final (no retry meets the same certificate) and carries the
/// certificate's own diagnostic. The good certificate's run shows the
/// request and the refresh token do arrive when TLS is right.
#[test]
fn bad_certificates_on_the_token_endpoint_refuse_before_the_request() {
    let pki = Pki::new();
    let good = common::https_server(pki.server(Cert::Good), token_response(), false);
    let finish = refresh_against(&good, pki.trust());
    assert!(matches!(finish, Finish::AccessToken { .. }), "{finish:?}");
    let r = good.join();
    assert!(r.decrypted.starts_with(b"POST /token HTTP/1.1\r\n"));
    assert!(r.contains(REFRESH.as_bytes()));

    for (kind, want) in BAD {
        let server = common::https_server(pki.server(kind), token_response(), false);
        let finish = refresh_against(&server, pki.trust());
        let Finish::Failed(OAuthError::Transport(e)) = finish else {
            panic!("{kind:?}: {finish:?}");
        };
        assert!(!e.is_transient(), "{kind:?}");
        assert_eq!(OAuthError::Transport(e).diag(), want, "{kind:?}");
        let expected = match want {
            Id::CertificateExpired => TransportError::CertificateExpired,
            Id::CertificateWrongName => TransportError::CertificateWrongName,
            _ => TransportError::CertificateUntrusted,
        };
        assert_eq!(e, expected);
        let r = server.join();
        assert!(!r.handshake_done, "{kind:?}");
        assert!(
            !r.contains(b"POST"),
            "{kind:?}: the request reached the server"
        );
        assert!(!r.contains(b"refresh_token"), "{kind:?}");
        assert!(
            !r.contains(REFRESH.as_bytes()),
            "{kind:?}: the refresh token leaked"
        );
    }
}

/// R-HOST / R-OAUTH (RFC 8628): the device code is as secret as a refresh
/// token. The device authorization comes from a server with a good
/// certificate; the token endpoint's certificate has expired: the first
/// poll is refused at the handshake (E607) and the device code never
/// reaches it.
#[test]
fn a_bad_token_endpoint_certificate_keeps_the_device_code() {
    use mfp_oauth_core::oauth::{Client, Event};
    use mfp_oauth_core::provider::{AppRegistration, CustomEndpoints, Provider};
    const DEVICE_CODE: &str = "DAQABAAEAAAD-SECRET-DEVICE-CODE-tls-policy";
    let body = format!(
        r#"{{"device_code":"{DEVICE_CODE}","user_code":"ABCD-EFGH","verification_uri":"https://127.0.0.1/device","expires_in":900,"interval":1}}"#
    );
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let pki = Pki::new();
    let device = common::https_server(pki.server(Cert::Good), answer.into_bytes(), false);
    let token = common::https_server(pki.server(Cert::Expired), token_response(), false);
    let device_url = format!("https://127.0.0.1:{}/devicecode", device.port);
    let token_url = format!("https://127.0.0.1:{}/token", token.port);
    let provider = Provider::custom(&CustomEndpoints {
        authorize_url: None,
        token_url: &token_url,
        device_url: Some(&device_url),
        scope: "https://outlook.office.com/SMTP.Send offline_access",
    })
    .unwrap();
    let app = AppRegistration::public("mfp-oauth-tls-policy").unwrap();
    let clock = SystemClock::new();
    let mut c = Client::new(provider, app, vec![0u8; 16 * 1024], 3);
    c.start_device(mfp_oauth_host::clock::Clock::now(&clock))
        .unwrap();
    let transport = HttpsTransport {
        net: NetOptions::default(),
        tls: pki.trust(),
    };
    let mut shown = false;
    let finish = drive(&clock, &mut c, &transport, None, &mut |_, step| {
        shown |= matches!(
            step,
            mfp_oauth_host::driver::oauth::Step::Event(Event::UserCode)
        );
    });
    assert!(shown, "the user code was shown");
    assert_eq!(
        finish,
        Finish::Failed(OAuthError::Transport(TransportError::CertificateExpired))
    );
    let d = device.join();
    assert!(d.decrypted.starts_with(b"POST /devicecode HTTP/1.1\r\n"));
    let t = token.join();
    assert!(!t.handshake_done);
    assert!(!t.contains(b"POST"));
    assert!(
        !t.contains(DEVICE_CODE.as_bytes()),
        "the device code leaked"
    );
}
