//! A hostile token endpoint against the host's OAuth driver (issue 9, item
//! 3; R-HOST, R-OAUTH): once the core has the whole response, or has
//! refused it (a 1 MB access token is longer than a body may be), the driver
//! stops reading and closes the connection at once. A server that keeps
//! the connection open or keeps sending cannot hold the driver, and the
//! driver never reads more than the core can use.

mod common;

use common::{https_server, Cert, Pki};
use mfp_oauth_core::diag::{Diagnostic, Id};
use mfp_oauth_core::limits::MAX_OAUTH_BODY_LEN;
use mfp_oauth_core::oauth::OAuthError;
use mfp_oauth_core::wire::http::HttpError;
use mfp_oauth_host::clock::SystemClock;
use mfp_oauth_host::driver::oauth::{drive, Finish, HttpsTransport};
use mfp_oauth_host::net::NetOptions;

fn response(token_len: usize) -> Vec<u8> {
    let body = format!(
        r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"{}"}}"#,
        "A".repeat(token_len)
    );
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Refresh against a server that answers `answer` and then holds the
/// connection open; the flow's end and what the server saw.
fn refresh_held(answer: Vec<u8>) -> (Finish, String) {
    let pki = Pki::new();
    let server = https_server(pki.server(Cert::Good), answer, true);
    let mut c = common::refreshing(server.port, b"1//0g-refresh");
    let transport = HttpsTransport {
        net: NetOptions::default(),
        tls: pki.trust(),
    };
    let finish = drive(
        &SystemClock::new(),
        &mut c,
        &transport,
        None,
        &mut |_, _| {},
    );
    let r = server.join();
    (finish, String::from_utf8_lossy(&r.decrypted).into_owned())
}

/// A complete answer on a connection the server keeps open: the driver
/// has the token and hangs up without waiting for the server's close.
#[test]
fn a_complete_answer_ends_the_read_even_if_the_server_holds_on() {
    let (finish, seen) = refresh_held(response(64));
    assert!(matches!(finish, Finish::AccessToken { .. }), "{finish:?}");
    assert!(
        seen.ends_with("#client-closed"),
        "the driver waited for the server"
    );
}

/// Issue 9: a 1 MB access token. The core refuses it at the head (its
/// `Content-Length` exceeds `MAX_OAUTH_BODY_LEN`: E420) and the driver hangs up
/// instead of reading the megabyte.
#[test]
fn a_one_megabyte_token_is_refused_and_not_read() {
    let (finish, seen) = refresh_held(response(1 << 20));
    let err = OAuthError::Http(HttpError::BodyTooLarge {
        capacity: MAX_OAUTH_BODY_LEN,
    });
    assert_eq!(finish, Finish::Failed(err));
    assert_eq!(err.diag(), Id::ResponseTooLarge);
    assert!(seen.ends_with("#client-closed"), "the driver kept reading");
}
