//! The OAuth client never shows a secret (R-LOG, issue 9 item 5): through
//! device-code, PKCE and refresh exchanges with distinctive values (client
//! secret, device code, PKCE verifier, authorization code, access and
//! refresh tokens), every `Debug` of the client, its events, errors,
//! device authorization, token response and transmits, and every request
//! not flagged `sensitive`, holds no 8-octet window of any of them; and
//! every request that carries one is flagged.

use super::*;
use crate::limits::{OAUTH_REQUEST_BUF_LEN, OAUTH_RESPONSE_BUF_LEN};
use crate::provider::CustomEndpoints;
use base64::Engine;
use std::string::String;
use std::vec::Vec;
use std::{format, vec};

const CLIENT_SECRET: &str = "CS-p4Lq9Wn2Rz7Tk1Vb";
const DEVICE_CODE: &str = "DC-h8Gf3Jd6Ks0Ma5Xe";
const AUTH_CODE: &str = "AC-r2Yu7Io4Pz9Qc3Nw";
const ACCESS: [&str; 3] = [
    "AT-m6Bv1Cx8Zl5Kj0Hg",
    "AT-e3Wq7Ry2Tu9Io4Pa",
    "AT-s5Df0Gh6Jk1Lz8Xc",
];
const REFRESH: [&str; 3] = [
    "RT-v9Bn4Mq2We7Rt3Yu",
    "RT-i1Op6As0Df5Gh8Jk",
    "RT-l2Zx7Cv3Bn9Mq4We",
];
const VERIFIER_RANDOM: [u8; 32] = [0x5A; 32];

fn http(status: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn token(i: usize) -> String {
    format!(
        r#"{{"access_token":"{}","token_type":"Bearer","expires_in":3600,"refresh_token":"{}"}}"#,
        ACCESS[i], REFRESH[i]
    )
}

struct Watch {
    secrets: Vec<Vec<u8>>,
    shown: Vec<(String, String)>,
}

impl Watch {
    fn show(&mut self, what: &str, text: String) {
        self.shown.push((what.into(), text));
    }

    fn leaks(&self, text: &[u8]) -> Option<String> {
        self.secrets.iter().find_map(|s| {
            s.windows(8)
                .find(|w| text.windows(8).any(|t| t == *w))
                .map(|w| String::from_utf8_lossy(w).into_owned())
        })
    }

    /// Send the due request (checking its flag), answer it, record all.
    fn exchange(&mut self, c: &mut Client<Vec<u8>>, now: Instant, response: &str) {
        let mut out = vec![0u8; OAUTH_REQUEST_BUF_LEN];
        let tx = c.poll_transmit(now, &mut out).unwrap().unwrap();
        self.show("transmit", format!("{tx:?}"));
        let req = &out[..tx.len];
        if !tx.sensitive {
            self.show("non-sensitive request", String::from_utf8_lossy(req).into());
        }
        let carries = self.leaks(req).is_some();
        assert!(
            !carries || tx.sensitive,
            "{:?} carries a secret unflagged",
            tx.kind
        );
        assert_eq!(c.handle_input(now, response.as_bytes()), response.len());
        c.handle_close(now);
        self.drain(c);
    }

    fn drain(&mut self, c: &mut Client<Vec<u8>>) {
        while let Some(e) = c.poll_event() {
            self.show("event", format!("{e:?}"));
        }
        self.show("client", format!("{c:?}"));
        self.show(
            "device authorization",
            format!("{:?}", c.device_authorization()),
        );
        self.show("tokens", format!("{:?}", c.tokens()));
        self.show("new refresh token", format!("{:?}", c.new_refresh_token()));
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "minutes under Miri; the same Debug and Display code runs under Miri in oauth::tests::secrets_never_show_in_debug_output and secret::tests::debug_output_never_shows_the_secret"
)]
fn no_debug_event_error_or_plain_request_shows_a_secret() {
    let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(VERIFIER_RANDOM);
    let mut secrets: Vec<Vec<u8>> = [CLIENT_SECRET, DEVICE_CODE, AUTH_CODE]
        .iter()
        .chain(&ACCESS)
        .chain(&REFRESH)
        .map(|s| s.as_bytes().to_vec())
        .collect();
    secrets.push(verifier.into_bytes());
    let mut w = Watch {
        secrets,
        shown: Vec::new(),
    };
    let provider = Provider::custom(&CustomEndpoints {
        authorize_url: Some("https://idp.example/authorize"),
        token_url: "https://idp.example/token",
        device_url: Some("https://idp.example/device"),
        scope: "smtp offline_access",
    })
    .unwrap();
    let app = AppRegistration::with_secret("printer-app", CLIENT_SECRET.as_bytes()).unwrap();
    w.show("app", format!("{app:?}"));
    let new_client = || {
        Client::new(
            provider.clone(),
            app.clone(),
            vec![0u8; OAUTH_RESPONSE_BUF_LEN],
            3,
        )
    };
    let at = |s: u64| Instant::from_millis(s * 1000);

    // Device code: pending, then tokens.
    let mut c = new_client();
    c.start_device(at(0)).unwrap();
    let device = format!(
        r#"{{"device_code":"{DEVICE_CODE}","user_code":"WDJB-MJHT","verification_uri":"https://idp.example/d","expires_in":900,"interval":5}}"#
    );
    w.exchange(&mut c, at(0), &http(200, &device));
    w.exchange(
        &mut c,
        at(5),
        &http(400, r#"{"error":"authorization_pending"}"#),
    );
    w.exchange(&mut c, at(10), &http(200, &token(0)));

    // PKCE: a forged redirect is refused (error shown), the real one works.
    let mut c = new_client();
    let redirect = RedirectUri::loopback(crate::provider::LoopbackHost::Ipv4, 8400, "").unwrap();
    c.start_auth_code(at(0), &VERIFIER_RANDOM, &[7; 16], redirect, None)
        .unwrap();
    let mut url = vec![0u8; 1024];
    let n = c.authorize_url(&mut url).unwrap();
    w.show("authorize url", String::from_utf8_lossy(&url[..n]).into());
    let state = c.pkce_state().unwrap().to_owned();
    let forged = format!("/?code={AUTH_CODE}&state=forged");
    let e = c.handle_redirect(at(1), forged.as_bytes()).unwrap_err();
    w.show("error", format!("{e:?} {e}"));
    let target = format!("/?code={AUTH_CODE}&state={state}");
    c.handle_redirect(at(2), target.as_bytes()).unwrap();
    w.drain(&mut c);
    w.exchange(&mut c, at(2), &http(200, &token(1)));

    // Refresh: a rotation, then invalid_grant.
    let mut c = new_client();
    c.start_refresh(at(0), REFRESH[1].as_bytes()).unwrap();
    w.drain(&mut c);
    w.exchange(&mut c, at(0), &http(200, &token(2)));
    c.start_refresh(at(10), REFRESH[2].as_bytes()).unwrap();
    w.exchange(
        &mut c,
        at(10),
        &http(
            400,
            r#"{"error":"invalid_grant","error_description":"revoked"}"#,
        ),
    );

    assert!(w.shown.len() > 30);
    // The check can fail: a token inside any text is found.
    assert!(w
        .leaks(format!("x {} y", &REFRESH[0][2..12]).as_bytes())
        .is_some());
    for (what, text) in &w.shown {
        assert_eq!(w.leaks(text.as_bytes()), None, "{what}: {text}");
    }
}
