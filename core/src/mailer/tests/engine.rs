//! Issue 15, R-ENGINE: the Mailer owns the whole job. The SMTP session's
//! link and the token store are reached only through the mailer's own
//! calls, and the core, not the driver, ends a job that never ends.

use super::*;

/// A grant whose access token is due for a refresh as soon as it arrives.
fn stillborn<'a>() -> TokenGrant<'a> {
    TokenGrant {
        access_token: b"AT-NOW",
        expires_in: Duration::from_secs(0),
        refresh_token: None,
        refresh_expires_in: None,
    }
}

#[test]
fn a_job_whose_plans_never_end_is_failed_by_the_core() {
    // A token endpoint that keeps answering with tokens that are already
    // expired: every refresh asks for another one. The driver only follows
    // the plans; the core fails the job after MAX_PLANS of them.
    let mut m = with_admin_token(b"AT", b"RT");
    let to = [addr("bob@fabrikam.com")];
    let now = at(3601);
    let exchange = Plan::TokenExchange {
        owner: TokenOwner::Admin,
    };
    assert_eq!(m.submit(now, &scan(&to, None)).unwrap(), exchange);
    let mut plans = 1;
    let last = loop {
        let plan = m.exchange_succeeded(now, None, stillborn()).unwrap();
        if plan != exchange {
            break plan;
        }
        plans += 1;
        assert!(plans <= MAX_PLANS, "the core let the job go on");
    };
    assert_eq!(plans, MAX_PLANS);
    assert_eq!(
        last,
        Plan::Failed {
            diag: Id::WrongState
        }
    );
    assert_eq!(*m.plan(), last);
    assert!(!m.has_smtp_session());
    // The job is over: the next one starts afresh, with its own count.
    assert_eq!(m.submit(now, &scan(&to, None)).unwrap(), exchange);
    let plan = m
        .exchange_succeeded(now, None, grant(b"AT-2", Some(b"RT-2")))
        .unwrap();
    assert!(matches!(plan, Plan::Connect { .. }), "{plan:?}");
}

#[test]
fn the_session_link_answers_wrong_state_without_a_session() {
    let mut m = with_admin_token(b"AT", b"RT");
    let now = at(1);
    let mut out = [0u8; 64];
    assert_eq!(
        m.handle_smtp_input(now, b"220 hi\r\n"),
        Err(MailerError::WrongState)
    );
    assert_eq!(
        m.handle_smtp_tls_established(now),
        Err(MailerError::WrongState)
    );
    assert_eq!(
        m.handle_smtp_tls_failed(now, Id::CertificateUntrusted),
        Err(MailerError::WrongState)
    );
    assert_eq!(m.handle_smtp_close(now), Err(MailerError::WrongState));
    assert_eq!(m.handle_smtp_timeout(now), Err(MailerError::WrongState));
    assert_eq!(m.poll_smtp_timeout(), Err(MailerError::WrongState));
    assert_eq!(
        m.poll_smtp_transmit(now, &mut out),
        Err(MailerError::WrongState)
    );
    assert_eq!(
        m.write_smtp_body(b"x", &mut out).map(|p| p.written),
        Err(MailerError::WrongState)
    );
    assert_eq!(
        m.write_smtp_body_canonical(b"x", &mut out)
            .map(|p| p.written),
        Err(MailerError::WrongState)
    );
    assert_eq!(m.finish_smtp_body(now), Err(MailerError::WrongState));
}

#[test]
fn the_session_link_forwards_to_the_jobs_session() {
    let mut m = with_admin_token(b"AT", b"RT");
    let to = [addr("bob@fabrikam.com")];
    let now = at(1);
    assert!(matches!(
        m.submit(now, &scan(&to, None)).unwrap(),
        Plan::Connect { .. }
    ));
    assert_eq!(m.connected(now, "printer.local").unwrap(), Plan::Session);
    assert!(m.has_smtp_session());
    assert_eq!(m.handle_smtp_input(now, b"220 hi\r\n"), Ok(8));
    let mut out = [0u8; 512];
    let t = m.poll_smtp_transmit(now, &mut out).unwrap().unwrap();
    assert!(out[..t.len].starts_with(b"EHLO printer.local"));
    assert!(!t.sensitive);
    assert!(m.poll_smtp_timeout().unwrap().is_some());
    assert_eq!(
        m.write_smtp_body(b"x", &mut []).map(|p| p.written),
        Err(MailerError::WrongState),
        "no body before ReadyForBody"
    );
    // The server's STARTTLS offer and its 220: the handshake is asked for,
    // and a refused certificate fails the job with its own diagnostic.
    m.handle_smtp_input(
        now,
        b"250-fake.example\r\n250-STARTTLS\r\n250 AUTH XOAUTH2\r\n",
    )
    .unwrap();
    while m.poll_smtp_transmit(now, &mut out).unwrap().is_some() {}
    m.handle_smtp_input(now, b"220 go ahead\r\n").unwrap();
    let mut upgrade = false;
    while let Some(step) = m.poll_event(now) {
        upgrade |= step == Step::Smtp(Event::UpgradeTls);
    }
    assert!(upgrade);
    m.handle_smtp_tls_failed(now, Id::CertificateUntrusted)
        .unwrap();
    while m.poll_event(now).is_some() {}
    assert_eq!(
        *m.plan(),
        Plan::Failed {
            diag: Id::CertificateUntrusted
        }
    );
    assert!(!m.has_smtp_session());
}

#[test]
fn tokens_are_deleted_through_the_mailer() {
    let mut settings = valid(SenderMode::LoginUserAddress);
    settings.auto_delete_user_tokens = true;
    let mut m = Mailer::new(settings, TokenStore::new());
    let user = |id: &str| TokenOwner::User(UserId::try_from(id).unwrap());
    for (owner, account, refresh) in [
        (user("alice"), "alice@contoso.com", &b"RT"[..]),
        (user("bob"), "bob@contoso.com", b"RT"),
        (TokenOwner::Admin, ADMIN, b"RT-ADMIN"),
    ] {
        m.store_mut()
            .store_acquired(
                at(0),
                None,
                &owner,
                &addr(account),
                grant(b"AT", Some(refresh)),
            )
            .unwrap();
    }
    while m.poll_store_event().is_some() {}
    assert_eq!(m.delete_user_tokens("alice"), Ok(()));
    assert_eq!(m.delete_user_tokens("alice"), Err(TokenError::UnknownUser));
    assert!(matches!(
        m.poll_store_event(),
        Some(StoreEvent::Persist { .. })
    ));
    m.delete_all_user_tokens();
    assert_eq!(m.store().users().count(), 0);
    assert_eq!(m.store().admin_status(), TokenStatus::Acquired);
    m.delete_admin_tokens();
    assert_eq!(m.store().admin_status(), TokenStatus::Required);
    assert!(!m.store().holds_secret(b"RT-ADMIN"));
    assert!(matches!(
        m.poll_store_event(),
        Some(StoreEvent::Persist { .. })
    ));
}

#[test]
fn a_refresh_outside_a_job_stores_the_rotated_token() {
    let mut m = with_admin_token(b"AT", b"RT");
    while m.poll_store_event().is_some() {}
    let rotated = m.refresh_ended(
        at(10),
        None,
        &TokenOwner::Admin,
        RefreshOutcome::Refreshed(grant(b"AT-2", Some(b"RT-2"))),
    );
    assert_eq!(rotated, Ok(true));
    assert!(m.store().holds_secret(b"RT-2"));
    assert!(!m.store().holds_secret(b"RT"));
    assert!(matches!(
        m.poll_store_event(),
        Some(StoreEvent::Persist { .. })
    ));
}

#[test]
fn a_refresh_outside_a_job_is_classified_by_the_core() {
    // Consent missing and Conditional Access keep the token; a transient
    // failure keeps it; only a dead grant erases it (R-TOK-4).
    for (grant_refused, diag, kept, meaning) in [
        (true, Id::ConsentMissing, true, Id::ConsentMissing),
        (true, Id::ConditionalAccess, true, Id::ConditionalAccess),
        (false, Id::NetworkTimeout, true, Id::NetworkTimeout),
        (true, Id::InvalidGrant, false, Id::AdminReauthNeeded),
    ] {
        let mut m = with_admin_token(b"AT", b"RT");
        while m.poll_store_event().is_some() {}
        let ended = m.refresh_ended(
            at(10),
            None,
            &TokenOwner::Admin,
            RefreshOutcome::Failed {
                grant_refused,
                diag,
            },
        );
        assert_eq!(ended, Err(meaning), "{diag:?}");
        assert_eq!(m.store().holds_secret(b"RT"), kept, "{diag:?}");
        assert_eq!(m.poll_store_event().is_some(), !kept, "{diag:?}");
    }
}

/// R-MEM: the job's envelope is staged once in the session's place (no
/// second copy in the mailer). A session dropped in the middle of a
/// transaction leaves no message behind: the next job is submitted and
/// sends its own sender and recipients, not the dropped one's, whether the
/// connection closed or the firmware cancelled the job.
#[test]
fn a_session_dropped_mid_transaction_leaves_the_next_job_its_own_envelope() {
    for cancel in [false, true] {
        dropped_mid_transaction(cancel);
    }
}

fn dropped_mid_transaction(cancel: bool) {
    let mut m = with_admin_token(b"AT", b"RT");
    let first = [addr("bob@fabrikam.com"), addr("eve@fabrikam.com")];
    m.submit(at(10), &scan(&first, None)).unwrap();
    connect(&mut m, at(10));
    let mut srv = Server::new(ADMIN, &[b"AT"]);
    let mut seen = Seen::default();
    // Greeting, EHLO, STARTTLS, EHLO, AUTH, MAIL, RCPT...: answer until the
    // first RCPT is out, then the connection drops.
    let mut to_client = String::from("220 fake.example ESMTP\r\n");
    for _ in 0..50 {
        if !to_client.is_empty() {
            let bytes = std::mem::take(&mut to_client).into_bytes();
            m.handle_smtp_input(at(10), &bytes).unwrap();
        }
        while let Some(step) = m.poll_event(at(10)) {
            if let Step::Smtp(Event::UpgradeTls) = step {
                srv.tls = true;
                m.handle_smtp_tls_established(at(10)).unwrap();
            }
        }
        let mut buf = [0u8; 512];
        while let Some(t) = m.poll_smtp_transmit(at(10), &mut buf).unwrap() {
            to_client += &srv.receive(&buf[..t.len]);
        }
        if !srv.rcpts.is_empty() {
            break;
        }
    }
    assert_eq!(srv.rcpts, ["<bob@fabrikam.com>"]);
    if cancel {
        m.cancel(at(11), Id::WrongState);
    } else {
        m.handle_smtp_close(at(11)).unwrap();
    }
    while m.poll_event(at(11)).is_some() {}
    assert!(matches!(m.plan(), Plan::Failed { .. }), "{:?}", m.plan());

    let second = [addr("carol@fabrikam.com")];
    m.submit(at(20), &scan(&second, None)).unwrap();
    m.set_message_size(BODY.len() as u64).unwrap();
    connect(&mut m, at(20));
    let mut srv = Server::new(ADMIN, &[b"AT"]);
    pump(&mut m, &mut srv, at(20), true, &mut seen);
    assert!(matches!(m.plan(), Plan::Done { .. }), "{:?}", m.plan());
    assert_eq!(srv.rcpts, ["<carol@fabrikam.com>"]);
    assert_eq!(srv.froms.len(), 1);
    assert!(
        srv.froms[0].starts_with(&format!("<{ADMIN}>")),
        "{:?}",
        srv.froms
    );
}

/// R-MEM: the SMTP session borrows the job's token from the store at each
/// AUTH transmit (no copy of its own). If the token left the store between
/// the lending and AUTH (other sign-ins evicted it), AUTH goes out with no
/// token, is refused, and the one refresh-and-retry sends the new token.
#[test]
fn a_token_evicted_before_auth_is_refreshed_and_retried() {
    let mut m = with_admin_token(b"AT", b"RT");
    let to = [addr("bob@fabrikam.com")];
    m.submit(at(10), &scan(&to, None)).unwrap();
    connect(&mut m, at(10));
    for (id, account) in [("alice", "alice@contoso.com"), ("carl", "carl@contoso.com")] {
        let owner = TokenOwner::User(UserId::try_from(id).unwrap());
        m.store_mut()
            .store_acquired(
                at(11),
                None,
                &owner,
                &addr(account),
                grant(b"AT-USER", Some(b"RT-USER")),
            )
            .unwrap();
    }
    let mut srv = Server::new(ADMIN, &[b"AT-NEW"]);
    let mut seen = Seen::default();
    pump(&mut m, &mut srv, at(12), true, &mut seen);
    assert_eq!(srv.auth_attempts, 1);
    assert_eq!(
        m.plan(),
        &Plan::TokenExchange {
            owner: TokenOwner::Admin
        }
    );
    assert_eq!(
        m.exchange_succeeded(at(13), None, grant(b"AT-NEW", None))
            .unwrap(),
        Plan::Session
    );
    pump(&mut m, &mut srv, at(13), false, &mut seen);
    assert_eq!(srv.auth_attempts, 2);
    assert!(matches!(m.plan(), Plan::Done { .. }), "{:?}", m.plan());
    // Never another owner's token: none, then the administrator's new one.
    assert_eq!(srv.auths, [srv.xoauth2(b""), srv.xoauth2(b"AT-NEW")]);
}

/// R-MEM: the session's settings are written in place from the plan's
/// server and the EHLO name. A name that cannot be sent fails the job with
/// no session left behind, and the next job connects with a good one.
#[test]
fn an_ehlo_name_that_cannot_be_sent_fails_the_job_and_leaves_no_session() {
    let mut m = with_admin_token(b"AT", b"RT");
    let to = [addr("bob@fabrikam.com")];
    m.submit(at(10), &scan(&to, None)).unwrap();
    assert_eq!(m.connected_in_place(at(10), "bad name\r\nRSET"), Ok(()));
    assert_eq!(
        m.plan(),
        &Plan::Failed {
            diag: Id::InvalidArgument
        }
    );
    assert!(!m.has_smtp_session());
    m.submit(at(20), &scan(&to, None)).unwrap();
    assert_eq!(m.connected_in_place(at(20), "mfp.contoso.com"), Ok(()));
    assert_eq!(m.plan(), &Plan::Session);
    assert!(m.has_smtp_session());
    let mut srv = Server::new(ADMIN, &[b"AT"]);
    let mut seen = Seen::default();
    pump(&mut m, &mut srv, at(20), true, &mut seen);
    assert!(matches!(m.plan(), Plan::Done { .. }), "{:?}", m.plan());
}
