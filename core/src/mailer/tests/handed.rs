//! Issue 18 item 3, R-APP: an access token handed in from outside (a
//! print-management server obtained it). Jobs use it under the same sender
//! policy; when it ends with no refresh token behind it, the job says a new
//! one must be handed in (E513), not that someone must sign in.

use super::*;

const HOUR: Duration = Duration::from_secs(3600);

fn admin_mode_with_handed(token: &[u8]) -> Mailer {
    let mut m = mailer(SenderMode::AdminFixedAddress);
    m.install_handed_token(at(0), &TokenOwner::Admin, &addr(ADMIN), token, HOUR)
        .unwrap();
    m
}

#[test]
fn a_handed_in_token_sends_and_its_end_asks_for_another() {
    let mut m = admin_mode_with_handed(b"AT-HANDED");
    let to = [addr("bob@fabrikam.com")];
    assert!(matches!(
        m.submit(at(1), &scan(&to, None)).unwrap(),
        Plan::Connect { .. }
    ));
    connect(&mut m, at(2));
    let mut srv = Server::new(ADMIN, &[b"AT-HANDED"]);
    pump(&mut m, &mut srv, at(2), true, &mut Seen::default());
    assert!(matches!(m.plan(), Plan::Done { .. }), "{:?}", m.plan());
    assert_eq!(srv.froms, [format!("<{ADMIN}>")]);
    // Within the refresh margin of its end (600 s): no sign-in is asked
    // for (nobody at the panel could give this token); E513.
    assert_eq!(
        m.submit(at(3000), &scan(&to, None)).unwrap(),
        Plan::Failed {
            diag: Id::HandedTokenExpired
        }
    );
    // A new one is handed in: jobs go on.
    m.install_handed_token(
        at(3001),
        &TokenOwner::Admin,
        &addr(ADMIN),
        b"AT-HANDED-2",
        HOUR,
    )
    .unwrap();
    assert!(matches!(
        m.submit(at(3002), &scan(&to, None)).unwrap(),
        Plan::Connect { .. }
    ));
}

#[test]
fn a_handed_in_token_keeps_the_sender_policy() {
    let mut m = admin_mode_with_handed(b"AT-HANDED");
    let to = [addr("bob@fabrikam.com")];
    let other = addr("ceo@contoso.com");
    // Another From than the administrator's address: refused before any
    // network octet, as with a signed-in token.
    let job = Job {
        from: Some(&other),
        ..scan(&to, None)
    };
    assert_eq!(
        m.submit(at(1), &job).unwrap(),
        Plan::Failed {
            diag: Id::FromNotTokenAccount
        }
    );
    assert!(!m.has_smtp_session());
    // The administrator's slot takes a token for the administrator
    // address only, and only once that address is set.
    assert_eq!(
        m.install_handed_token(at(2), &TokenOwner::Admin, &other, b"AT", HOUR),
        Err(MailerError::Token(TokenError::AccountMismatch))
    );
    let mut bare = Mailer::new(
        Settings {
            admin_address: None,
            ..valid(SenderMode::LoginUserAddress)
        },
        TokenStore::new(),
    );
    assert_eq!(
        bare.install_handed_token(at(0), &TokenOwner::Admin, &addr(ADMIN), b"AT", HOUR),
        Err(MailerError::AdminAddressMissing)
    );
    // An empty or expired token, or the public user's one-job slot: a
    // clear refusal, nothing installed.
    for (owner, token, life, err) in [
        (
            TokenOwner::Admin,
            &b""[..],
            HOUR,
            TokenError::HandedTokenExpired,
        ),
        (
            TokenOwner::Admin,
            b"AT",
            Duration::ZERO,
            TokenError::HandedTokenExpired,
        ),
        (TokenOwner::Guest, b"AT", HOUR, TokenError::UnknownUser),
    ] {
        assert_eq!(
            m.install_handed_token(at(3), &owner, &addr(ADMIN), token, life),
            Err(MailerError::Token(err))
        );
    }
    assert_eq!(
        MailerError::Token(TokenError::HandedTokenExpired).diag(),
        Id::HandedTokenExpired
    );
}

#[test]
fn a_user_slot_holding_another_accounts_refresh_token_refuses_it() {
    let mut m = mailer(SenderMode::LoginUserAddress);
    let alice = user_owner("alice");
    m.store_mut()
        .store_acquired(
            at(0),
            None,
            &alice,
            &addr("alice@contoso.com"),
            grant(b"AT", Some(b"RT")),
        )
        .unwrap();
    assert_eq!(
        m.install_handed_token(at(1), &alice, &addr("bob@contoso.com"), b"AT-B", HOUR),
        Err(MailerError::Token(TokenError::AccountMismatch))
    );
    // The same account: accepted, and the refresh token stays behind it,
    // so its end means a refresh, not E513.
    m.install_handed_token(at(1), &alice, &addr("alice@contoso.com"), b"AT-H", HOUR)
        .unwrap();
    assert!(!m.store().handed_in(&alice));
    assert_eq!(
        m.store().refresh_token(&alice).unwrap().expose(),
        b"RT",
        "kept"
    );
}

#[test]
fn a_handed_in_token_is_not_evicted_by_other_slots_tokens() {
    let mut m = admin_mode_with_handed(b"AT-HANDED");
    // Two users sign in afterwards: the cache holds two access tokens, and
    // the least recently used one would go. Not the handed-in one: there
    // is no refresh token to get it back.
    for (n, name) in ["alice", "carol"].iter().enumerate() {
        m.store_mut()
            .store_acquired(
                at(10 + n as u64),
                None,
                &user_owner(name),
                &addr(&format!("{name}@contoso.com")),
                grant(b"AT-U", Some(b"RT-U")),
            )
            .unwrap();
    }
    assert_eq!(m.store().cached_access_tokens(), 2);
    let to = [addr("bob@fabrikam.com")];
    assert!(matches!(
        m.submit(at(20), &scan(&to, None)).unwrap(),
        Plan::Connect { .. }
    ));
}

#[test]
fn a_handed_in_token_set_aside_for_a_long_one_asks_for_another() {
    let mut m = admin_mode_with_handed(&[b'h'; 3000]);
    // A user's token that cannot lie beside it in the cache
    // (ACCESS_CACHE_LEN): the user's job needs it now, so the handed-in
    // one goes (R-MEM), and the administrator's next job says a new one
    // must be handed in (E513), never that someone must sign in.
    m.store_mut()
        .store_acquired(
            at(10),
            None,
            &user_owner("alice"),
            &addr("alice@contoso.com"),
            grant(&[b'u'; 3500], Some(b"RT-U")),
        )
        .unwrap();
    assert_eq!(m.store().cached_access_tokens(), 1);
    let to = [addr("bob@fabrikam.com")];
    assert_eq!(
        m.submit(at(20), &scan(&to, None)).unwrap(),
        Plan::Failed {
            diag: Id::HandedTokenExpired
        }
    );
}

fn user_owner(id: &str) -> TokenOwner {
    TokenOwner::User(id.try_into().unwrap())
}
