//! Secrets are wiped where they lived, and no firmware log can carry one
//! (R-LOG, R-NV, R-TOK-5; issue 9 item 5).
//!
//! Observed through the types' own test hooks (the whole inline storage,
//! used or not), never by reading freed memory: the core has no `unsafe`.
//! Drop runs `clear` (see `SecretBuf`'s `Drop`); the in-place drop itself is
//! observed by `host/tests/secrets.rs`, where `unsafe` is allowed.

use crate::address::Address;
use crate::config::tests::{addr, valid};
use crate::config::SenderMode;
use crate::secret::SecretBuf;
use crate::smtp::{self, Client, Event, Security};
use crate::time::{Duration, Instant};
use crate::token::{RefreshFailure, TokenGrant, TokenOwner, TokenStore, UserId};
use base64::Engine;
use std::string::String;

/// Whether any 4-octet window of `secret` is anywhere in `storage`.
fn trace_of(storage: &[u8], secret: &[u8]) -> bool {
    secret
        .windows(4)
        .any(|w| storage.windows(4).any(|s| s == w))
}

fn grant<'a>(access: &'a [u8], refresh: Option<&'a [u8]>) -> TokenGrant<'a> {
    TokenGrant {
        access_token: access,
        expires_in: Duration::from_secs(3600),
        refresh_token: refresh,
        refresh_expires_in: None,
    }
}

fn user(id: &str) -> TokenOwner {
    TokenOwner::User(UserId::try_from(id).unwrap())
}

#[test]
fn a_secret_buffer_keeps_nothing_past_its_length_and_clears_to_zero() {
    let mut s = SecretBuf::<64>::from_slice(b"LONG-SECRET-VALUE-0123456789").unwrap();
    s.set(b"SHORT-ONE").unwrap();
    assert_eq!(s.expose(), b"SHORT-ONE");
    assert!(s.storage()[9..].iter().all(|b| *b == 0), "old tail wiped");
    s.extend(b"+MORE").unwrap();
    assert!(s.extend(&[b'x'; 64]).is_err());
    assert!(s.storage()[14..].iter().all(|b| *b == 0));
    s.clear();
    assert!(s.storage().iter().all(|b| *b == 0));
    // A refused value leaves the buffer empty and zero.
    let mut t = SecretBuf::<8>::from_slice(b"12345678").unwrap();
    assert!(t.set(b"123456789").is_err());
    assert!(t.storage().iter().all(|b| *b == 0));
}

#[test]
#[cfg_attr(
    miri,
    ignore = "minutes under Miri; wiping runs under Miri in a_secret_buffer_keeps_nothing_past_its_length_and_clears_to_zero, the_smtp_clients_token_copy_is_wiped_after_auth_whatever_the_outcome and token::tests::a_short_buffer_is_an_error_and_leaves_no_secret_behind"
)]
fn deleted_rotated_and_expired_tokens_leave_no_trace_in_the_store() {
    let settings = {
        let mut s = valid(SenderMode::LoginUserAddress);
        s.auto_delete_user_tokens = true;
        s
    };
    let mut store = TokenStore::new();
    let at = |s: u64| Instant::from_millis(s * 1000);
    let acct = addr("admin@contoso.com");
    store
        .store_acquired(
            at(0),
            None,
            &TokenOwner::Admin,
            &acct,
            grant(b"Zx8Cv5Bn2Qw0", Some(b"k3J9pQz1Lm7X")),
        )
        .unwrap();
    store
        .store_acquired(
            at(0),
            None,
            &user("alice"),
            &addr("alice@contoso.com"),
            grant(b"Df4Gh7Jk0Lz3", Some(b"Ya6Rf0Ue3Gs9")),
        )
        .unwrap();
    store
        .store_acquired(
            at(0),
            None,
            &TokenOwner::Guest,
            &addr("guest@contoso.com"),
            grant(b"Xc2Vb5Nm8Ea6", Some(b"Ji7Ko1Pl4Mn2")),
        )
        .unwrap();
    let traces =
        |store: &TokenStore, secret: &[u8]| store.secret_storages().any(|s| trace_of(s, secret));
    assert!(
        traces(&store, b"k3J9pQz1Lm7X"),
        "the hook sees live secrets"
    );

    // Rotation: the old refresh token is overwritten in place.
    store
        .refreshed(
            at(10),
            None,
            &TokenOwner::Admin,
            grant(b"Ty3Ui6Op9As1", Some(b"Wc5Tn2Bv8Hd4")),
        )
        .unwrap();
    assert!(!traces(&store, b"k3J9pQz1Lm7X") && !traces(&store, b"Zx8Cv5Bn2Qw0"));

    // A job ends: the guest's tokens go.
    store.job_finished();
    assert!(!traces(&store, b"Ji7Ko1Pl4Mn2") && !traces(&store, b"Xc2Vb5Nm8Ea6"));

    // Power-on: every access token goes.
    store.power_on();
    assert!(!traces(&store, b"Ty3Ui6Op9As1") && !traces(&store, b"Df4Gh7Jk0Lz3"));
    assert!(traces(&store, b"Wc5Tn2Bv8Hd4"));

    // invalid_grant: the administrator's slot is wiped in place.
    store.refresh_failed(&TokenOwner::Admin, RefreshFailure::InvalidGrant);
    assert!(!traces(&store, b"Wc5Tn2Bv8Hd4"));

    // Logout with automatic deletion (R-TOK-5); then nothing at all.
    assert!(store.logout("alice", &settings));
    assert!(!traces(&store, b"Ya6Rf0Ue3Gs9"));
    assert!(store.secret_storages().all(|s| s.iter().all(|b| *b == 0)));
}

/// Drive an SMTP session up to the AUTH outcome `outcome`; returns the
/// client and the token's storage right after.
fn session_to_auth(outcome: &str, close_instead: bool) -> Client {
    let now = Instant::from_millis(1000);
    let settings =
        smtp::Settings::new(Security::StartTls, "mfp.local", "smtp.example", 587).unwrap();
    let mut c = Client::new(now, settings, Address::parse("admin@contoso.com").unwrap());
    c.set_token(now, b"AT-SMTP-0123456789").unwrap();
    let ehlo = "250-smtp.example\r\n250-STARTTLS\r\n250 AUTH XOAUTH2\r\n";
    let script = [
        "220 smtp.example ESMTP\r\n",
        ehlo,
        "220 go ahead\r\n",
        ehlo,
        outcome,
    ];
    let mut buf = [0u8; 1024];
    let mut saw_token = false;
    for (i, reply) in script.iter().enumerate() {
        if close_instead && i == script.len() - 1 {
            assert!(trace_of(c.token_storage(), b"AT-SMTP-0123456789"));
            c.handle_close(now);
            break;
        }
        assert_eq!(c.handle_input(now, reply.as_bytes()), reply.len());
        while let Some(e) = c.poll_event() {
            if e == Event::UpgradeTls {
                c.handle_tls_established(now).unwrap();
            }
        }
        while let Some(t) = c.poll_transmit(now, &mut buf).unwrap() {
            // The AUTH line carries the token (base64): flagged sensitive;
            // nothing else may carry any of it.
            let sent = &buf[..t.len];
            let b64 = base64::engine::general_purpose::STANDARD
                .encode(b"user=admin@contoso.com\x01auth=Bearer AT-SMTP-0123456789\x01\x01");
            let carries = trace_of(sent, b"AT-SMTP-0123456789")
                || b64.as_bytes()[24..]
                    .windows(8)
                    .any(|w| sent.windows(8).any(|s| s == w));
            assert_eq!(carries, t.sensitive, "{:?}", String::from_utf8_lossy(sent));
            saw_token |= t.sensitive;
        }
    }
    assert!(saw_token || close_instead, "AUTH went out");
    c
}

#[test]
fn the_smtp_clients_token_copy_is_wiped_after_auth_whatever_the_outcome() {
    for (outcome, close) in [
        ("235 2.7.0 Authentication successful\r\n", false),
        ("535 5.7.3 Authentication unsuccessful\r\n", false),
        ("", true),
    ] {
        let c = session_to_auth(outcome, close);
        assert!(
            c.token_storage().iter().all(|b| *b == 0),
            "token left after {outcome:?} (close: {close})"
        );
    }
}

/// R-LOG on the board: the core logs nothing itself (no defmt logging
/// macro anywhere in its sources), and the only hand-written
/// `defmt::Format` impls are the address and the secret buffer, whose
/// format string takes the length and nothing else. Every derived
/// `defmt::Format` that contains a secret reaches it through
/// `SecretBuf`'s impl. (A source scan, complementing the frames captured
/// by the test logger of `core/defmt-check`, its own workspace.)
#[test]
#[cfg_attr(
    miri,
    ignore = "reads the sources: no file system under Miri's isolation"
)]
fn no_defmt_call_site_can_format_a_secret() {
    fn visit(dir: &std::path::Path, files: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                visit(&p, files);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
    }
    let mut files = Vec::new();
    visit(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 20);
    let mut impls = Vec::new();
    for (path, text) in &files {
        if path.ends_with("wipe_tests.rs") {
            continue;
        }
        // (`println!` cannot compile in the no_std core outside tests.)
        for mac in ["trace!", "debug!", "info!", "warn!", "error!"] {
            let hit = text.lines().any(|l| {
                let l = l.trim_start();
                !l.starts_with("//") && (l.contains(&format!("defmt::{mac}")) || l.starts_with(mac))
            });
            assert!(!hit, "{path} logs with {mac}");
        }
        if text.contains("impl defmt::Format for")
            || text.contains("defmt::Format for") && text.contains("fn format(")
        {
            impls.push(path.rsplit('/').next().unwrap().to_owned());
        }
    }
    impls.sort();
    assert_eq!(
        impls,
        ["address.rs", "secret.rs"],
        "hand-written defmt impls"
    );
    let secret = include_str!("secret.rs");
    let writes: Vec<&str> = secret
        .lines()
        .filter(|l| l.contains("defmt::write!"))
        .collect();
    assert_eq!(
        writes,
        [r#"        defmt::write!(f, "SecretBuf(<redacted, {=usize} octets>)", self.len)"#]
    );
}
