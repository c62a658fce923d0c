//! The Mailer built and loaded in place (R-MEM): `reset`, `reset_with` and
//! `load_into` leave the same state as `new`, `apply_settings` and
//! `nv::load`, with no secret left behind.

use super::*;
use crate::config::tests::{addr, valid};
use crate::config::SenderMode;
use crate::image as nv;
use crate::time::Duration;
use crate::token::TokenStatus;

fn at(secs: u64) -> Instant {
    Instant::from_millis(secs * 1000)
}

fn grant<'a>(access: &'a [u8], refresh: Option<&'a [u8]>) -> TokenGrant<'a> {
    TokenGrant {
        access_token: access,
        expires_in: Duration::from_secs(3600),
        refresh_token: refresh,
        refresh_expires_in: None,
    }
}

/// A mailer in use: settings, the administrator's tokens, a job in a
/// session.
fn busy() -> Mailer {
    let mut m = Mailer::new(valid(SenderMode::AdminFixedAddress), TokenStore::new());
    m.store_mut()
        .store_acquired(
            at(0),
            None,
            &TokenOwner::Admin,
            &addr("admin@contoso.com"),
            grant(b"ACCESS-IN-PLACE", Some(b"REFRESH-IN-PLACE")),
        )
        .unwrap();
    let to = [addr("bob@fabrikam.com")];
    let job = Job {
        function: Function::ScanToEmail,
        user: None,
        from: None,
        to: &to,
        size: None,
    };
    assert!(matches!(
        m.submit(at(1), &job).unwrap(),
        Plan::Connect { .. }
    ));
    assert_eq!(
        m.connected(at(1), "mfp.contoso.com").unwrap(),
        Plan::Session
    );
    m
}

fn assert_fresh(m: &mut Mailer) {
    assert_eq!(*m.settings(), Settings::default());
    assert_eq!(*m.plan(), Plan::Idle);
    assert!(!m.has_smtp_session());
    assert_eq!(m.store().admin_status(), TokenStatus::Required);
    assert_eq!(m.store().users().count(), 0);
    assert_eq!(m.store().cached_access_tokens(), 0);
    assert!(!m.store().persist_pending());
    assert!(!m.store().holds_secret(b"ACCESS-IN-PLACE"));
    assert!(!m.store().holds_secret(b"REFRESH-IN-PLACE"));
    assert_eq!(m.poll_event(at(2)), None);
}

#[test]
fn reset_leaves_what_new_builds_and_no_secret() {
    let mut m = busy();
    m.reset();
    assert_fresh(&mut m);
    // A job runs again from there.
    let to = [addr("bob@fabrikam.com")];
    let job = Job {
        function: Function::ScanToEmail,
        user: None,
        from: None,
        to: &to,
        size: None,
    };
    assert!(m.submit(at(3), &job).is_ok());
}

#[test]
fn reset_with_fills_the_settings_in_place_and_asks_for_an_image() {
    let mut m = busy();
    let r: Result<(), Violations> = m.reset_with(|s| {
        *s = valid(SenderMode::BulkSetting);
        s.bulk_address = Some(addr("admin@contoso.com"));
        Ok(())
    });
    assert_eq!(r, Ok(()));
    let mut expected = Mailer::new(Settings::default(), TokenStore::new());
    let mut want = valid(SenderMode::BulkSetting);
    want.bulk_address = Some(addr("admin@contoso.com"));
    let _applied = expected.apply_settings(want.clone()).unwrap();
    assert_eq!(*m.settings(), want);
    assert_eq!(
        m.store().persist_pending(),
        expected.store().persist_pending()
    );
    assert!(m.store().persist_pending());
    assert!(!m.store().holds_secret(b"REFRESH-IN-PLACE"));

    // The defaults ask for nothing, like `new`.
    let r: Result<(), Violations> = m.reset_with(|_| Ok(()));
    assert_eq!(r, Ok(()));
    assert!(!m.store().persist_pending());
}

#[test]
fn reset_with_refuses_a_broken_rule_or_a_fill_error_and_stays_reset() {
    let mut m = busy();
    let r: Result<(), Violations> = m.reset_with(|s| {
        *s = valid(SenderMode::AdminFixedAddress);
        s.vlan_on_network2 = true;
        Ok(())
    });
    let v = r.unwrap_err();
    assert!(v.contains(crate::config::ConfigError::VlanOnNetwork2));
    assert_fresh(&mut m);

    let mut m = busy();
    let r: Result<(), Violations> = m.reset_with(|s| {
        s.oauth_enabled = true;
        Err(Violations::default())
    });
    assert!(r.is_err());
    assert_fresh(&mut m);
}

#[test]
fn load_into_reads_the_image_in_place_and_no_access_token_survives() {
    let m = busy();
    let mut image = [0u8; nv::IMAGE_MAX_LEN];
    let n = nv::save(m.settings(), m.store(), 1, None, &mut image).unwrap();
    let image = &image[..n];

    let mut loaded = busy();
    let report = loaded.load_into(image, &[], None).unwrap();
    assert_eq!(report.sequence, 1);
    assert_eq!(*loaded.settings(), *m.settings());
    assert_eq!(*loaded.plan(), Plan::Idle);
    assert!(!loaded.has_smtp_session());
    assert_eq!(loaded.store().admin_status(), TokenStatus::Acquired);
    assert!(loaded.store().holds_secret(b"REFRESH-IN-PLACE"));
    assert!(!loaded.store().holds_secret(b"ACCESS-IN-PLACE"));
    assert_eq!(loaded.store().cached_access_tokens(), 0);

    // Nothing to load, or only damage: left reset, nothing kept.
    let mut empty = busy();
    assert_eq!(
        empty.load_into(&[], &[], None).unwrap_err(),
        nv::NvError::Empty
    );
    assert_fresh(&mut empty);
    let mut torn = busy();
    let mut bad = image.to_vec();
    if let Some(last) = bad.last_mut() {
        *last ^= 1;
    }
    assert!(torn.load_into(&bad, &[], None).is_err());
    assert_fresh(&mut torn);
}

/// What a session says and does for a greeting and an EHLO reply.
fn transcript(c: &mut smtp::Client, now: Instant) -> (Vec<u8>, Vec<String>) {
    let mut wire = Vec::new();
    let mut events = Vec::new();
    let mut out = [0u8; 512];
    for input in [
        &b"220 smtp.example.com ESMTP\r\n"[..],
        b"250-smtp.example.com\r\n250-AUTH XOAUTH2\r\n250 SIZE 1000\r\n",
    ] {
        c.handle_input(now, input);
        while let Ok(Some(t)) = c.poll_transmit(now, &mut out) {
            if t.len == 0 {
                break;
            }
            wire.extend_from_slice(&out[..t.len]);
        }
        while let Some(e) = c.poll_event() {
            events.push(format!("{e:?}"));
        }
    }
    (wire, events)
}

#[test]
fn a_session_reset_in_place_behaves_as_a_new_one() {
    let settings = |host: &str| {
        smtp::Settings::new(Security::ImplicitTls, "mfp.contoso.com", host, 465).unwrap()
    };
    let mut used = smtp::Client::new(at(0), settings("old.example.com"), addr("old@contoso.com"));
    used.set_token(at(0), b"OLD-SESSION-TOKEN").unwrap();
    used.handle_input(at(0), b"220 old\r\n");
    used.reset(
        at(5),
        &settings("smtp.example.com"),
        &addr("scan@contoso.com"),
    );
    used.set_token(at(5), b"NEW-SESSION-TOKEN").unwrap();
    let mut fresh = smtp::Client::new(
        at(5),
        settings("smtp.example.com"),
        addr("scan@contoso.com"),
    );
    fresh.set_token(at(5), b"NEW-SESSION-TOKEN").unwrap();
    let (wire, events) = transcript(&mut used, at(6));
    let said = String::from_utf8_lossy(&wire);
    assert!(said.contains("EHLO mfp.contoso.com") && said.contains("AUTH XOAUTH2"));
    assert!(!events.is_empty());
    assert_eq!((wire, events), transcript(&mut fresh, at(6)));
    assert_eq!(used.poll_timeout(), fresh.poll_timeout());
}

#[test]
fn apply_settings_from_applies_in_place_as_apply_settings_does() {
    let mut by_value = busy();
    let mut in_place = busy();
    let mut proxied = valid(SenderMode::AdminFixedAddress);
    proxied.proxy = Some(crate::config::Proxy {
        host: "proxy.contoso.local".try_into().unwrap(),
        port: 3128,
        user: "mfp".try_into().unwrap(),
        password: crate::secret::SecretBuf::from_slice(b"PROXY-PASSWORD-1").unwrap(),
    });
    let mut other_admin = valid(SenderMode::AdminFixedAddress);
    other_admin.admin_address = Some(addr("boss@contoso.com"));
    for next in [proxied, other_admin] {
        let want = by_value.apply_settings(next.clone());
        let mut staged = next.clone();
        assert_eq!(in_place.apply_settings_from(&mut staged), want);
        assert_eq!(in_place.settings(), by_value.settings());
        assert_eq!(*in_place.settings(), next);
        // The previous settings are wiped from where the new ones were.
        assert_eq!(staged, Settings::default());
        let steps =
            |m: &mut Mailer| core::iter::from_fn(|| m.poll_event(at(9))).collect::<Vec<_>>();
        assert_eq!(steps(&mut in_place), steps(&mut by_value));
        assert_eq!(
            in_place.store().holds_secret(b"REFRESH-IN-PLACE"),
            by_value.store().holds_secret(b"REFRESH-IN-PLACE")
        );
    }
    // A broken rule changes neither side.
    let mut broken = valid(SenderMode::AdminFixedAddress);
    broken.vlan_on_network2 = true;
    let mut staged = broken.clone();
    let before = in_place.settings().clone();
    let v = in_place.apply_settings_from(&mut staged).unwrap_err();
    assert!(v.contains(crate::config::ConfigError::VlanOnNetwork2));
    assert_eq!(staged, broken);
    assert_eq!(*in_place.settings(), before);
}

#[test]
fn send_message_with_fills_the_envelope_in_place_or_leaves_no_message() {
    let settings = smtp::Settings::new(
        Security::ImplicitTls,
        "mfp.contoso.com",
        "smtp.example.com",
        465,
    )
    .unwrap();
    let session = || {
        let mut c = smtp::Client::new(at(0), settings.clone(), addr("scan@contoso.com"));
        c.set_token(at(0), b"SESSION-TOKEN").unwrap();
        c
    };
    let mut by_value = session();
    let mut envelope = Envelope::new(addr("scan@contoso.com"));
    envelope.add_recipient(addr("bob@fabrikam.com")).unwrap();
    envelope.size = Some(100);
    by_value.send_message(at(0), envelope.clone()).unwrap();

    let mut filled = session();
    // A failing fill, or one that adds no recipient, leaves no message.
    let r: Result<(), smtp::SubmitError> = filled.send_message_with(at(0), |e| {
        e.from = addr("scan@contoso.com");
        Err(smtp::SubmitError::TooManyRecipients)
    });
    assert_eq!(r, Err(smtp::SubmitError::TooManyRecipients));
    let r: Result<(), smtp::SubmitError> = filled.send_message_with(at(0), |e| {
        e.from = addr("scan@contoso.com");
        Ok(())
    });
    assert_eq!(r, Err(smtp::SubmitError::NoRecipients));
    let r: Result<(), smtp::SubmitError> = filled.send_message_with(at(0), |e| {
        e.from = addr("scan@contoso.com");
        e.add_recipient(addr("bob@fabrikam.com"))?;
        e.size = Some(100);
        Ok(())
    });
    assert_eq!(r, Ok(()));
    // One message at a time, as send_message.
    let again: Result<(), smtp::SubmitError> = filled.send_message_with(at(0), |_| Ok(()));
    assert_eq!(again, Err(smtp::SubmitError::WrongState));
    assert_eq!(
        by_value.send_message(at(0), envelope),
        Err(smtp::SubmitError::WrongState)
    );

    assert_eq!(
        transcript(&mut filled, at(1)),
        transcript(&mut by_value, at(1))
    );
    let mail = |c: &mut smtp::Client| {
        c.handle_input(at(2), b"235 2.7.0 accepted\r\n");
        let mut out = [0u8; 512];
        let mut wire = Vec::new();
        while let Ok(Some(t)) = c.poll_transmit(at(2), &mut out) {
            if t.len == 0 {
                break;
            }
            wire.extend_from_slice(&out[..t.len]);
        }
        String::from_utf8_lossy(&wire).into_owned()
    };
    let said = mail(&mut filled);
    assert!(
        said.contains("MAIL FROM:<scan@contoso.com> SIZE=100"),
        "{said}"
    );
    assert_eq!(said, mail(&mut by_value));
}

#[test]
fn submit_text_in_place_leaves_the_plan_submit_text_returns() {
    for to in [&["bob@fabrikam.com"][..], &["not an address"][..]] {
        let job = JobText {
            function: Function::ScanToEmail,
            user_id: None,
            user_address: None,
            from: None,
            to,
            size: Some(10),
        };
        let mut copied = Mailer::new(valid(SenderMode::AdminFixedAddress), TokenStore::new());
        let mut in_place = Mailer::new(valid(SenderMode::AdminFixedAddress), TokenStore::new());
        let want = copied.submit_text(at(1), &job).unwrap();
        assert_eq!(in_place.submit_text_in_place(at(1), &job), Ok(()));
        assert_eq!(*in_place.plan(), want);
        assert_eq!(in_place.job_from(), copied.job_from());
        // A second job while one runs: refused the same way.
        let again = in_place.submit_text_in_place(at(2), &job);
        assert_eq!(
            again.map(|()| in_place.plan().clone()),
            copied.submit_text(at(2), &job)
        );
    }
}

/// A job whose addresses come as text is decided exactly as the same job
/// with its addresses parsed by the caller, in every sender mode, with and
/// without a user, a user's address and an entered From (R-POL, R-MEM).
#[test]
fn a_job_given_as_text_is_decided_as_the_parsed_job() {
    let from = addr("alice@contoso.com");
    let alice = addr("alice@contoso.com");
    let other = addr("someone@fabrikam.com");
    let to = [addr("bob@fabrikam.com")];
    let to_text = ["bob@fabrikam.com"];
    for mode in SenderMode::ALL {
        for entered in [None, Some(&from), Some(&other)] {
            for user in [None, Some(None), Some(Some(&alice))] {
                for function in [Function::ScanToEmail, Function::TransmissionResultReport] {
                    let parsed = Job {
                        function,
                        user: user.map(|address| User {
                            id: "alice",
                            address,
                        }),
                        from: entered,
                        to: &to,
                        size: Some(10),
                    };
                    let text = JobText {
                        function,
                        user_id: user.map(|_| "alice"),
                        user_address: user.flatten().map(Address::as_str),
                        from: entered.map(Address::as_str),
                        to: &to_text,
                        size: Some(10),
                    };
                    let mut a = Mailer::new(valid(mode), TokenStore::new());
                    let mut b = Mailer::new(valid(mode), TokenStore::new());
                    let want = a.submit(at(1), &parsed).unwrap();
                    assert_eq!(b.submit_text_in_place(at(1), &text), Ok(()));
                    let case = (mode, entered, user, function);
                    assert_eq!(*b.plan(), want, "{case:?}");
                    assert_eq!(b.job_from(), a.job_from(), "{case:?}");
                }
            }
        }
    }
}

/// A From or a user's address given as text that is not an address fails
/// the job as `InvalidAddress`, before anything reaches the network, and
/// the next job starts clean.
#[test]
fn a_bad_address_given_as_text_fails_the_job() {
    let to = ["bob@fabrikam.com"];
    let base = JobText {
        function: Function::ScanToEmail,
        user_id: Some("alice"),
        user_address: Some("alice@contoso.com"),
        from: None,
        to: &to,
        size: None,
    };
    for job in [
        JobText {
            from: Some("not an address"),
            ..base
        },
        JobText {
            user_address: Some("alice@"),
            ..base
        },
        JobText {
            from: Some(""),
            ..base
        },
    ] {
        let mut m = Mailer::new(valid(SenderMode::AllowUserChanges), TokenStore::new());
        assert_eq!(
            m.submit_text(at(1), &job),
            Ok(Plan::Failed {
                diag: Id::InvalidAddress
            }),
            "{job:?}"
        );
        assert!(m.job_from().is_none());
        let next = m.submit_text(at(2), &base).unwrap();
        assert!(!matches!(next, Plan::Failed { .. }), "{next:?}");
    }
}

/// The envelope keeps its recipients packed (R-MEM): a job with more
/// recipients than [`crate::limits::MAX_RECIPIENTS`], or whose addresses
/// are longer together than [`crate::limits::MAX_RECIPIENTS_LEN`], fails
/// as `CapacityExceeded` before anything reaches the network, and the
/// next job starts clean.
#[test]
fn recipients_past_their_bounds_fail_the_job() {
    use crate::limits::{MAX_ADDRESS_LEN, MAX_RECIPIENTS, MAX_RECIPIENTS_LEN};
    let many: Vec<String> = (0..=MAX_RECIPIENTS)
        .map(|i| format!("u{i}@fabrikam.com"))
        .collect();
    let long_one = |i: usize| {
        let domain = "@fabrikam.com";
        format!(
            "{i:03}{}{domain}",
            "x".repeat(MAX_ADDRESS_LEN - 3 - domain.len())
        )
    };
    let long: Vec<String> = (0..=MAX_RECIPIENTS_LEN / MAX_ADDRESS_LEN)
        .map(long_one)
        .collect();
    let fits: Vec<String> = (0..MAX_RECIPIENTS_LEN / MAX_ADDRESS_LEN)
        .map(long_one)
        .collect();
    let one = ["bob@fabrikam.com"];
    for (list, ok) in [(&many, false), (&long, false), (&fits, true)] {
        let to: Vec<&str> = list.iter().map(String::as_str).collect();
        let job = JobText {
            function: Function::ScanToEmail,
            user_id: None,
            user_address: None,
            from: None,
            to: &to,
            size: Some(10),
        };
        let mut m = Mailer::new(valid(SenderMode::AdminFixedAddress), TokenStore::new());
        let plan = m.submit_text(at(1), &job).unwrap();
        if ok {
            assert!(!matches!(plan, Plan::Failed { .. }), "{plan:?}");
            continue;
        }
        assert_eq!(
            plan,
            Plan::Failed {
                diag: Id::CapacityExceeded
            },
            "{} recipients",
            to.len()
        );
        assert!(m.job_from().is_none());
        let next = m.submit_text(at(2), &JobText { to: &one, ..job }).unwrap();
        assert!(!matches!(next, Plan::Failed { .. }), "{next:?}");
    }
}
