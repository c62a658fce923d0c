//! App-only grants (issue 18 item 7, R-APP) built from arbitrary claims
//! input: a certificate thumbprint as text, a service account's address, a
//! mailbox, a key id, a signature, then arbitrary token-endpoint answers.
//! Invariants: no panic; the octets to sign are exactly two base64url
//! parts that decode to JSON objects; a short buffer is refused, not
//! overrun; nothing is sent before the signature; every request carrying
//! the assertion is marked sensitive (`common::drive_oauth`).
#![no_main]

mod common;

use base64::Engine as _;
use common::{drive_oauth, Feed};
use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::limits::MAX_SIGNING_INPUT_LEN;
use mfp_oauth_core::oauth::{Client, JwsAlg, ServiceAccount, Thumbprint, JTI_LEN};
use mfp_oauth_core::provider::{AppRegistration, CustomEndpoints, Provider};
use mfp_oauth_core::{Address, Instant};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(6, |&b| b == 0xFF);
    let mut next = || parts.next().unwrap_or_default();
    let text = |b: &[u8]| std::str::from_utf8(b).unwrap_or_default().to_owned();
    let (thumbprint, email, subject, kid) = (text(next()), text(next()), text(next()), text(next()));
    let signature = next().to_vec();
    let answers = next();
    let Ok(provider) = Provider::custom(&CustomEndpoints {
        authorize_url: None,
        token_url: "https://idp.example/token",
        device_url: None,
        scope: "https://outlook.office365.com/.default",
    }) else {
        return;
    };
    let Ok(app) = AppRegistration::public("printer-app") else {
        return;
    };
    let mut c = Client::new(provider, app, vec![0u8; 512 + usize::from(flags) * 16], 7);
    let now = Instant::from_millis(1);
    let wall = 1_700_000_000 + u64::from(flags) * 997;
    let jti = [flags; JTI_LEN];
    let started = if flags & 1 == 0 {
        let tp = Thumbprint::parse(&thumbprint).unwrap_or(Thumbprint::from_octets([flags; 32]));
        let alg = if flags & 2 == 0 {
            JwsAlg::Rs256
        } else {
            JwsAlg::Ps256
        };
        c.start_client_assertion(now, wall, &jti, &tp, alg)
    } else {
        let Ok(mailbox) = Address::parse(&subject) else {
            return;
        };
        c.start_service_account(
            now,
            wall,
            &ServiceAccount {
                client_email: &email,
                subject: &mailbox,
                key_id: (flags & 4 != 0).then_some(kid.as_str()),
            },
        )
    };
    if started.is_err() {
        return;
    }
    // Nothing goes out before the signature.
    let mut out = vec![0u8; 8192];
    assert!(matches!(c.poll_transmit(now, &mut out), Ok(None)));
    let len = c.signing_input_len().expect("a signature is awaited");
    assert!(len <= MAX_SIGNING_INPUT_LEN);
    let mut input = vec![0u8; len];
    assert!(c.signing_input(&mut input[..len / 2]).is_err());
    assert_eq!(c.signing_input(&mut input).ok(), Some(len));
    let text = std::str::from_utf8(&input).expect("base64url is ASCII");
    let (header, claims) = text.split_once('.').expect("header.claims");
    for part in [header, claims] {
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url");
        assert!(json.first() == Some(&b'{') && json.last() == Some(&b'}'));
    }
    if c.handle_signature(now, &signature).is_err() {
        return;
    }
    let mut feed = Feed::new(answers, usize::from(flags >> 4));
    drive_oauth(&mut c, &mut feed, 1, "idp.example", &[], |_, _, _| {});
});
