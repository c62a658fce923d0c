//! The whole SMTP client fed arbitrary server bytes in arbitrary chunks.
//! Invariants: no panic; never more consumed than given; no transmit
//! marked sensitive before TLS; the token, raw or in an XOAUTH2 or
//! OAUTHBEARER initial response, never in a transmit not marked sensitive.
#![no_main]

mod common;

use common::{b64_marker, contains, Wire};
use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::smtp::{Client, Envelope, Event, Security, Settings};
use mfp_oauth_core::{Address, Instant};

const USER: &str = "scanner@contoso.com";
const TOKEN: &[u8] = b"EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Some((&cut_seed, payload)) = rest.split_first() else {
        return;
    };
    let security = if flags & 1 == 0 {
        Security::StartTls
    } else {
        Security::ImplicitTls
    };
    let Ok(settings) = Settings::new(security, "printer.example.com", "smtp.example.com", 587)
    else {
        return;
    };
    let Ok(user) = Address::parse(USER) else {
        return;
    };
    let markers = [
        b64_marker(format!("user={USER}\x01auth=Bearer ").as_bytes()),
        b64_marker(format!("n,a={USER},\x01").as_bytes()),
    ];
    let mut wire = Wire::default();
    let mut client = Client::new(Instant::ZERO, settings, user.clone());
    // Half the runs lend the token late, when the client asks for it.
    let early = flags & 0x20 == 0;
    if early && client.set_token(Instant::ZERO, TOKEN).is_err() {
        return;
    }
    let mut env = Envelope::new(user.clone());
    let _ = env.add_recipient(user);
    env.size = (flags & 2 != 0).then_some(u64::from(cut_seed) * 1000);
    let _ = client.send_message(Instant::ZERO, env);
    let out_len = 1 + usize::from(cut_seed) * 7 % 64;
    let mut out = vec![0u8; out_len];
    let mut pos = 0;
    let mut now = 0u64;
    let mut cut = usize::from(cut_seed % 17) + 1;
    while pos < payload.len() && !client.is_closed() {
        let take = cut.min(payload.len() - pos);
        cut = cut % 13 + 1;
        now += 1000;
        let t = Instant::from_millis(now);
        let used = client.handle_input(t, &payload[pos..pos + take]);
        assert!(used <= take);
        pos += if used == 0 { take } else { used };
        while let Some(ev) = client.poll_event() {
            match ev {
                Event::UpgradeTls => {
                    let _ = client.handle_tls_established(t);
                }
                Event::ReadyForBody => {
                    let mut body = [0u8; 32];
                    let _ = client.write_body(b"Subject: x\r\n\r\n.body\n", &mut body);
                    let _ = client.finish_body(t);
                }
                Event::AuthRejected {
                    refresh_and_retry: true,
                    ..
                } => {
                    let _ = client.retry_auth(t, TOKEN);
                }
                Event::NeedToken => {
                    assert!(!early, "asked for a token already lent");
                    let _ = client.set_token(t, TOKEN);
                }
                _ => {}
            }
        }
        while let Ok(Some(tx)) = client.poll_transmit(t, &mut out) {
            assert!(tx.len <= out.len());
            if tx.sensitive {
                assert!(client.is_tls(), "token before TLS");
            } else {
                assert!(!contains(&out[..tx.len], TOKEN));
            }
            wire.push(&out[..tx.len], tx.sensitive);
        }
        if flags & 0x40 != 0 {
            client.handle_timeout(Instant::from_millis(now + 600_000));
        }
    }
    client.handle_close(Instant::from_millis(now));
    assert!(client.is_closed());
    wire.assert_secrets_only_in_sensitive_lines(&[TOKEN, &markers[0], &markers[1]]);
});
