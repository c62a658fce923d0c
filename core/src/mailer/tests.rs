//! The Mailer against a scripted SMTP server on simulated time.

use base64::Engine;

use super::*;
use crate::config::tests::{addr, valid};
use crate::config::{ProviderKind, SenderMode};
use crate::smtp::Client;
use crate::time::Duration;
use crate::token::TokenStatus;

const ADMIN: &str = "admin@contoso.com";
const BODY: &[u8] = b"Subject: scan\r\n\r\n.hello\r\n";

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

/// A submission server that accepts the tokens in `good` for `account`.
struct Server {
    account: String,
    good: Vec<Vec<u8>>,
    /// Reply to any other token.
    bad_reply: &'static str,
    tls: bool,
    inbox: Vec<u8>,
    in_data: bool,
    data: Vec<u8>,
    auth_attempts: usize,
    froms: Vec<String>,
    rcpts: Vec<String>,
    /// The XOAUTH2 responses received, base64 as sent.
    auths: Vec<String>,
    quit: bool,
    /// Extra lines of the EHLO reply after TLS (each ending in CRLF),
    /// before its last line.
    ehlo_extra: &'static str,
}

impl Server {
    fn new(account: &str, good: &[&[u8]]) -> Self {
        Server {
            account: account.to_string(),
            good: good.iter().map(|t| t.to_vec()).collect(),
            bad_reply: "535 5.7.3 Authentication unsuccessful",
            tls: false,
            inbox: Vec::new(),
            in_data: false,
            data: Vec::new(),
            auth_attempts: 0,
            froms: Vec::new(),
            rcpts: Vec::new(),
            auths: Vec::new(),
            quit: false,
            ehlo_extra: "",
        }
    }

    fn xoauth2(&self, token: &[u8]) -> String {
        let mut raw = format!("user={}\x01auth=Bearer ", self.account).into_bytes();
        raw.extend_from_slice(token);
        raw.extend_from_slice(b"\x01\x01");
        let mut out = vec![0u8; raw.len() * 2 + 4];
        let n = base64::engine::general_purpose::STANDARD
            .encode_slice(&raw, &mut out)
            .unwrap();
        String::from_utf8(out[..n].to_vec()).unwrap()
    }

    /// Take client octets; return the server's replies.
    fn receive(&mut self, bytes: &[u8]) -> String {
        self.inbox.extend_from_slice(bytes);
        let mut replies = String::new();
        while let Some(pos) = self.inbox.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = self.inbox.drain(..pos + 2).collect();
            let line = &line[..line.len() - 2];
            if self.in_data {
                if line == b"." {
                    self.in_data = false;
                    replies += "250 2.0.0 OK queued\r\n";
                } else {
                    self.data.extend_from_slice(line);
                    self.data.extend_from_slice(b"\r\n");
                }
                continue;
            }
            let text = String::from_utf8_lossy(line).to_string();
            let upper = text.to_ascii_uppercase();
            let reply = if upper.starts_with("EHLO") {
                if self.tls {
                    format!("250-fake.example\r\n{}250 AUTH XOAUTH2", self.ehlo_extra)
                } else {
                    "250-fake.example\r\n250 STARTTLS".to_string()
                }
            } else if upper == "STARTTLS" {
                "220 2.0.0 ready".to_string()
            } else if upper.starts_with("AUTH XOAUTH2 ") {
                assert!(self.tls, "token sent before TLS");
                self.auth_attempts += 1;
                self.auths.push(text["AUTH XOAUTH2 ".len()..].to_string());
                let ok = self
                    .good
                    .iter()
                    .any(|t| text["AUTH XOAUTH2 ".len()..] == self.xoauth2(t));
                if ok {
                    "235 2.7.0 Authentication successful".to_string()
                } else {
                    self.bad_reply.to_string()
                }
            } else if upper.starts_with("MAIL FROM:") {
                self.froms.push(text[10..].to_string());
                "250 2.1.0 Sender OK".to_string()
            } else if upper.starts_with("RCPT TO:") {
                self.rcpts.push(text[8..].to_string());
                "250 2.1.5 Recipient OK".to_string()
            } else if upper == "DATA" {
                self.in_data = true;
                "354 Start mail input".to_string()
            } else if upper == "QUIT" {
                self.quit = true;
                "221 2.0.0 Bye".to_string()
            } else {
                "500 5.5.1 unknown".to_string()
            };
            replies += &reply;
            replies += "\r\n";
        }
        replies
    }
}

/// What the driver saw while pumping a session.
#[derive(Debug, Default)]
struct Seen {
    smtp: Vec<Event>,
    store: Vec<StoreEvent>,
}

/// Drive the session until the plan changes away from `Session` or
/// nothing moves. Greets first if `greet`.
fn pump(m: &mut Mailer, srv: &mut Server, now: Instant, greet: bool, seen: &mut Seen) {
    let mut to_client = if greet {
        String::from("220 fake.example ESMTP\r\n")
    } else {
        String::new()
    };
    for _ in 0..200 {
        if !to_client.is_empty() {
            let bytes = std::mem::take(&mut to_client).into_bytes();
            let n = m.handle_smtp_input(now, &bytes).expect("session");
            assert_eq!(n, bytes.len(), "client stopped reading");
        }
        while let Some(step) = m.poll_event(now) {
            match step {
                Step::Smtp(Event::UpgradeTls) => {
                    srv.tls = true;
                    m.handle_smtp_tls_established(now).unwrap();
                    seen.smtp.push(Event::UpgradeTls);
                }
                Step::Smtp(Event::ReadyForBody) => {
                    let mut out = [0u8; 64];
                    let mut input = BODY;
                    while !input.is_empty() {
                        let p = m.write_smtp_body(input, &mut out).unwrap();
                        to_client += &srv.receive(&out[..p.written]);
                        input = &input[p.consumed..];
                    }
                    m.finish_smtp_body(now).unwrap();
                    seen.smtp.push(Event::ReadyForBody);
                }
                Step::Smtp(e) => seen.smtp.push(e),
                Step::Store(e) => seen.store.push(e),
                Step::PlanChanged => {
                    if !matches!(m.plan(), Plan::Session) {
                        return;
                    }
                }
            }
        }
        if !m.has_smtp_session() {
            return;
        }
        let mut buf = [0u8; 512];
        while let Some(t) = m.poll_smtp_transmit(now, &mut buf).unwrap() {
            to_client += &srv.receive(&buf[..t.len]);
        }
        if to_client.is_empty() {
            return;
        }
    }
    panic!("session did not settle");
}

fn mailer(mode: SenderMode) -> Mailer {
    Mailer::new(valid(mode), TokenStore::new())
}

/// Administrator-fixed mode with the administrator's tokens acquired at t=0.
fn with_admin_token(access: &[u8], refresh: &[u8]) -> Mailer {
    let mut m = mailer(SenderMode::AdminFixedAddress);
    m.store_mut()
        .store_acquired(
            at(0),
            None,
            &TokenOwner::Admin,
            &addr(ADMIN),
            grant(access, Some(refresh)),
        )
        .unwrap();
    m
}

fn scan<'a>(to: &'a [Address], user: Option<User<'a>>) -> Job<'a> {
    Job {
        function: Function::ScanToEmail,
        user,
        from: None,
        to,
        size: None,
    }
}

fn connect(m: &mut Mailer, now: Instant) {
    let plan = m.plan().clone();
    assert_eq!(
        plan,
        Plan::Connect {
            host: "smtp.office365.com".try_into().unwrap(),
            port: 587,
            security: Security::StartTls,
        }
    );
    assert_eq!(m.connected(now, "mfp.contoso.com").unwrap(), Plan::Session);
}

#[test]
fn admin_mode_acquire_then_send() {
    let mut m = mailer(SenderMode::AdminFixedAddress);
    let to = [addr("bob@fabrikam.com")];
    let plan = m.submit(at(0), &scan(&to, None)).unwrap();
    assert_eq!(
        plan,
        Plan::NeedAdminAuth {
            account: addr(ADMIN),
            method: AuthMethod::DeviceCode
        }
    );
    m.auth_succeeded(at(1), None, grant(b"AT-1", Some(b"RT-1")))
        .unwrap();
    connect(&mut m, at(2));
    let mut srv = Server::new(ADMIN, &[b"AT-1"]);
    let mut seen = Seen::default();
    pump(&mut m, &mut srv, at(2), true, &mut seen);
    assert_eq!(
        m.plan(),
        &Plan::Done {
            reply: ReplyCode {
                code: 250,
                enhanced: Some(smtp::EnhancedCode::new(2, 0, 0))
            },
            accepted: 1,
            refused: 0
        }
    );
    assert_eq!(srv.froms, [format!("<{ADMIN}>")]);
    assert_eq!(srv.data, b"Subject: scan\r\n\r\n..hello\r\n");
    assert!(srv.quit);
    assert_eq!(
        seen.store,
        [StoreEvent::Persist {
            erase_other_slot: false
        }]
    );
    assert!(
        !m.has_smtp_session(),
        "the session and its token copy are gone"
    );
    // The next job reuses the cached access token: straight to Connect.
    let plan = m.submit(at(60), &scan(&to, None)).unwrap();
    assert!(matches!(plan, Plan::Connect { .. }), "{plan:?}");
}

#[test]
fn user_modes_ask_the_user_at_send_time_with_the_providers_method() {
    let alice = addr("alice@contoso.com");
    let user = Some(User {
        id: "alice",
        address: Some(&alice),
    });
    let to = [addr("bob@fabrikam.com")];
    let mut m = mailer(SenderMode::LoginUserAddress);
    assert_eq!(
        m.submit(at(0), &scan(&to, user)).unwrap(),
        Plan::NeedUserAuth {
            user: Some(UserId::try_from("alice").unwrap()),
            account: alice.clone(),
            method: AuthMethod::DeviceCode
        }
    );
    assert_eq!(
        m.auth_failed(Id::AuthorizationDeclined).unwrap(),
        Plan::Failed {
            diag: Id::AuthorizationDeclined
        }
    );
    // Google: browser sign-in only.
    let mut google = valid(SenderMode::LoginUserAddress);
    google.provider = ProviderKind::Google;
    google.webdav_http = crate::config::WebDavHttpVersion::Http2Http11;
    let mut m = Mailer::new(google, TokenStore::new());
    assert!(matches!(
        m.submit(at(0), &scan(&to, user)).unwrap(),
        Plan::NeedUserAuth {
            method: AuthMethod::BrowserPkce,
            ..
        }
    ));
}

#[test]
fn with_every_lent_user_slot_taken_a_new_user_is_told_before_signing_in() {
    fn logged_in<'a>(id: &'a str, address: &'a Address) -> Option<User<'a>> {
        Some(User {
            id,
            address: Some(address),
        })
    }
    let (alice, bob) = (addr("alice@contoso.com"), addr("bob@contoso.com"));
    let to = [addr("carol@fabrikam.com")];
    let mut slot: [UserSlot; 1] = [None];
    let mut m = Mailer::new(
        valid(SenderMode::LoginUserAddress),
        TokenStore::with_user_slots(&mut slot[..]),
    );
    // Alice signs in: her tokens go into the one slot lent.
    assert!(matches!(
        m.submit(at(0), &scan(&to, logged_in("alice", &alice)))
            .unwrap(),
        Plan::NeedUserAuth { .. }
    ));
    let plan = m
        .auth_succeeded(at(1), None, grant(b"AT-alice", Some(b"RT-alice")))
        .unwrap();
    assert!(matches!(plan, Plan::Connect { .. }), "{plan:?}");
    m.cancel(at(1), Id::ConnectFailed);
    // Bob has no slot: the job fails at once, nobody is asked to sign in.
    assert_eq!(
        m.submit(at(2), &scan(&to, logged_in("bob", &bob))).unwrap(),
        Plan::Failed {
            diag: Id::TokenStoreFull
        }
    );
    // Alice still sends with hers; once she is deleted, Bob is asked.
    assert!(matches!(
        m.submit(at(3), &scan(&to, logged_in("alice", &alice)))
            .unwrap(),
        Plan::Connect { .. }
    ));
    m.cancel(at(3), Id::ConnectFailed);
    m.delete_user_tokens("alice").unwrap();
    assert!(matches!(
        m.submit(at(4), &scan(&to, logged_in("bob", &bob))).unwrap(),
        Plan::NeedUserAuth { .. }
    ));
}

#[test]
fn expiry_refresh_with_rotation_then_send() {
    let mut m = with_admin_token(b"AT-1", b"RT-1");
    let to = [addr("bob@fabrikam.com")];
    while m.poll_event(at(0)).is_some() {}
    // An hour later the access token is stale: refresh first.
    let plan = m.submit(at(3600), &scan(&to, None)).unwrap();
    assert_eq!(
        plan,
        Plan::TokenExchange {
            owner: TokenOwner::Admin
        }
    );
    assert_eq!(m.refresh_token().unwrap().expose(), b"RT-1");
    m.exchange_succeeded(at(3601), None, grant(b"AT-2", Some(b"RT-2")))
        .unwrap();
    assert_eq!(
        m.poll_event(at(3601)),
        Some(Step::Store(StoreEvent::Persist {
            erase_other_slot: true
        }))
    );
    connect(&mut m, at(3602));
    let mut srv = Server::new(ADMIN, &[b"AT-2"]);
    pump(&mut m, &mut srv, at(3602), true, &mut Seen::default());
    assert!(matches!(m.plan(), Plan::Done { .. }), "{:?}", m.plan());
    assert_eq!(
        m.store()
            .refresh_token(&TokenOwner::Admin)
            .unwrap()
            .expose(),
        b"RT-2"
    );
}

/// One refresh and one retry after a rejected token, on the same
/// connection; a second rejection ends the job (never a loop).
#[test]
fn a_rejected_token_is_refreshed_and_retried_exactly_once() {
    for second_ok in [true, false] {
        let mut m = with_admin_token(b"AT-OLD", b"RT-1");
        let to = [addr("bob@fabrikam.com")];
        m.submit(at(10), &scan(&to, None)).unwrap();
        connect(&mut m, at(10));
        let good: &[&[u8]] = if second_ok { &[b"AT-NEW"] } else { &[] };
        let mut srv = Server::new(ADMIN, good);
        let mut seen = Seen::default();
        pump(&mut m, &mut srv, at(10), true, &mut seen);
        assert_eq!(
            m.plan(),
            &Plan::TokenExchange {
                owner: TokenOwner::Admin
            }
        );
        assert_eq!(srv.auth_attempts, 1);
        assert_eq!(
            m.exchange_succeeded(at(11), None, grant(b"AT-NEW", None))
                .unwrap(),
            Plan::Session
        );
        pump(&mut m, &mut srv, at(11), false, &mut seen);
        assert_eq!(srv.auth_attempts, 2, "exactly one retry");
        if second_ok {
            assert!(matches!(m.plan(), Plan::Done { .. }), "{:?}", m.plan());
        } else {
            assert_eq!(
                m.plan(),
                &Plan::Failed {
                    diag: Id::TokenRejected
                }
            );
            assert!(srv.froms.is_empty(), "no MAIL FROM after a failed AUTH");
        }
        assert!(srv.quit);
    }
}

#[test]
fn authenticated_smtp_off_is_not_retried() {
    let mut m = with_admin_token(b"AT", b"RT");
    let to = [addr("bob@fabrikam.com")];
    m.submit(at(1), &scan(&to, None)).unwrap();
    connect(&mut m, at(1));
    let mut srv = Server::new(ADMIN, &[]);
    srv.bad_reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.";
    pump(&mut m, &mut srv, at(1), true, &mut Seen::default());
    assert_eq!(
        m.plan(),
        &Plan::Failed {
            diag: Id::SmtpAuthDisabled
        }
    );
    assert_eq!(srv.auth_attempts, 1);
}

#[test]
fn the_reply_that_failed_the_job_stays_readable_after_the_session() {
    // Support logs: the mailer keeps the reply that decided the result
    // (535 5.7.139), not the 221 to the QUIT that followed, after the
    // session is gone; the next job starts without it.
    let mut m = with_admin_token(b"AT", b"RT");
    assert!(m.last_reply().is_none());
    let to = [addr("bob@fabrikam.com")];
    m.submit(at(1), &scan(&to, None)).unwrap();
    connect(&mut m, at(1));
    let mut srv = Server::new(ADMIN, &[]);
    srv.bad_reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.";
    pump(&mut m, &mut srv, at(1), true, &mut Seen::default());
    assert!(matches!(m.plan(), Plan::Failed { .. }));
    assert!(srv.quit);
    let reply = m.last_reply().expect("the deciding reply");
    assert_eq!(reply.code.code, 535);
    assert!(reply.code.has_enhanced(5, 7, 139));
    assert!(reply
        .text()
        .contains("SmtpClientAuthentication is disabled"));
    m.submit(at(2), &scan(&to, None)).unwrap();
    assert!(m.last_reply().is_none());
}

#[test]
fn a_non_ascii_recipient_without_smtputf8_fails_before_mail_with_no_deciding_reply() {
    // Issue 17 item 6: the server offers no SMTPUTF8; the job fails with
    // E331 before MAIL, and the `235` to AUTH is not kept as its reason.
    let mut m = with_admin_token(b"AT", b"RT");
    let to = [addr("jörg.müller@fabrikam.com")];
    m.submit(at(1), &scan(&to, None)).unwrap();
    connect(&mut m, at(1));
    let mut srv = Server::new(ADMIN, &[b"AT"]);
    pump(&mut m, &mut srv, at(1), true, &mut Seen::default());
    assert_eq!(
        m.plan(),
        &Plan::Failed {
            diag: Id::Smtputf8NotOffered
        }
    );
    assert_eq!(srv.auth_attempts, 1);
    assert!(srv.froms.is_empty(), "no MAIL FROM");
    assert!(srv.quit);
    assert!(m.last_reply().is_none(), "{:?}", m.last_reply());
}

#[test]
fn a_message_over_the_servers_size_fails_before_mail_with_no_deciding_reply() {
    // Issue 15: the server's EHLO announces SIZE 1000 and the job is 5000
    // octets; the client refuses it before MAIL (E318, too large). That
    // refusal is the client's, from the EHLO limit: the `235` to AUTH, the
    // latest reply, is not "the server's reply" and is not kept as one.
    let mut m = with_admin_token(b"AT", b"RT");
    let to = [addr("bob@fabrikam.com")];
    let mut job = scan(&to, None);
    job.size = Some(5000);
    m.submit(at(1), &job).unwrap();
    connect(&mut m, at(1));
    let mut srv = Server::new(ADMIN, &[b"AT"]);
    srv.ehlo_extra = "250-SIZE 1000\r\n";
    pump(&mut m, &mut srv, at(1), true, &mut Seen::default());
    assert_eq!(
        m.plan(),
        &Plan::Failed {
            diag: Id::MessageTooBig
        }
    );
    assert_eq!(srv.auth_attempts, 1);
    assert!(srv.froms.is_empty(), "no MAIL FROM");
    assert!(srv.quit);
    assert!(m.last_reply().is_none(), "{:?}", m.last_reply());
}

#[test]
fn the_size_set_after_submit_is_the_one_checked_and_closes_with_the_session() {
    // Issue 16: a message composed after the submit (its From: header is
    // the policy's choice, `job_from`) gives its size then; the session
    // checks that size against the server's SIZE. Once the session has
    // started the size can no longer change.
    let mut m = with_admin_token(b"AT", b"RT");
    let to = [addr("bob@fabrikam.com")];
    assert_eq!(
        m.set_message_size(10),
        Err(MailerError::WrongState),
        "no job"
    );
    m.submit(at(1), &scan(&to, None)).unwrap();
    assert_eq!(m.job_from(), Some(&addr(ADMIN)));
    m.set_message_size(5000).unwrap();
    connect(&mut m, at(1));
    assert_eq!(
        m.set_message_size(10),
        Err(MailerError::WrongState),
        "session started"
    );
    let mut srv = Server::new(ADMIN, &[b"AT"]);
    srv.ehlo_extra = "250-SIZE 1000\r\n";
    pump(&mut m, &mut srv, at(1), true, &mut Seen::default());
    assert_eq!(
        m.plan(),
        &Plan::Failed {
            diag: Id::MessageTooBig
        }
    );
    assert!(srv.froms.is_empty(), "no MAIL FROM");
}

#[test]
fn invalid_grant_before_the_session_asks_for_a_new_sign_in() {
    // R-TOK-4 for the administrator, R-TOK-6 for a user.
    let alice = addr("alice@contoso.com");
    let to = [addr("bob@fabrikam.com")];
    for mode in [SenderMode::AdminFixedAddress, SenderMode::LoginUserAddress] {
        let mut m = mailer(mode);
        let user = Some(User {
            id: "alice",
            address: Some(&alice),
        });
        let owner = if mode == SenderMode::AdminFixedAddress {
            TokenOwner::Admin
        } else {
            TokenOwner::User(UserId::try_from("alice").unwrap())
        };
        let account = if owner == TokenOwner::Admin {
            addr(ADMIN)
        } else {
            alice.clone()
        };
        m.store_mut()
            .store_acquired(at(0), None, &owner, &account, grant(b"AT", Some(b"RT")))
            .unwrap();
        while m.poll_event(at(0)).is_some() {}
        m.submit(at(7200), &scan(&to, user)).unwrap();
        let plan = m.exchange_failed(at(7201), true, Id::InvalidGrant).unwrap();
        assert_eq!(m.store().status(&owner), TokenStatus::ReauthNeeded);
        if owner == TokenOwner::Admin {
            assert!(matches!(plan, Plan::NeedAdminAuth { .. }), "{plan:?}");
            assert_eq!(
                m.poll_event(at(7201)),
                Some(Step::Store(StoreEvent::AdminReauthNeeded))
            );
        } else {
            assert!(matches!(plan, Plan::NeedUserAuth { .. }), "{plan:?}");
        }
        // Re-acquire and the job goes on.
        let plan = m
            .auth_succeeded(at(7300), None, grant(b"AT-9", Some(b"RT-9")))
            .unwrap();
        assert!(matches!(plan, Plan::Connect { .. }), "{plan:?}");
        assert_eq!(m.store().status(&owner), TokenStatus::Acquired);
    }
}

#[test]
fn a_transient_refresh_failure_fails_the_job_and_keeps_the_token() {
    let mut m = with_admin_token(b"AT", b"RT");
    let to = [addr("bob@fabrikam.com")];
    m.submit(at(7200), &scan(&to, None)).unwrap();
    assert_eq!(
        m.exchange_failed(at(7201), false, Id::ProviderUnavailable)
            .unwrap(),
        Plan::Failed {
            diag: Id::ProviderUnavailable
        }
    );
    assert_eq!(m.store().admin_status(), TokenStatus::Acquired);
}

#[test]
fn invalid_grant_mid_session_ends_the_job_with_the_reauth_notice() {
    let mut m = with_admin_token(b"AT", b"RT");
    let to = [addr("bob@fabrikam.com")];
    m.submit(at(1), &scan(&to, None)).unwrap();
    connect(&mut m, at(1));
    let mut srv = Server::new(ADMIN, &[]);
    let mut seen = Seen::default();
    pump(&mut m, &mut srv, at(1), true, &mut seen);
    assert!(matches!(m.plan(), Plan::TokenExchange { .. }));
    assert_eq!(
        m.exchange_failed(at(2), true, Id::InvalidGrant).unwrap(),
        Plan::Session
    );
    pump(&mut m, &mut srv, at(2), false, &mut seen);
    assert_eq!(
        m.plan(),
        &Plan::Failed {
            diag: Id::AdminReauthNeeded
        }
    );
    assert!(seen.store.contains(&StoreEvent::AdminReauthNeeded));
    assert!(m.store().admin_notice());
    // The reply that decided the job is the refusal that started the
    // refresh, not the `221` to QUIT, and it outlives the session.
    assert_eq!(m.last_reply().map(|r| r.code.code), Some(535));
}

#[test]
fn a_from_that_is_not_the_token_account_never_reaches_the_network() {
    let mut m = mailer(SenderMode::AdminFixedAddress);
    let to = [addr("bob@fabrikam.com")];
    let other = addr("ceo@contoso.com");
    let job = Job {
        from: Some(&other),
        ..scan(&to, None)
    };
    assert_eq!(
        m.submit(at(0), &job).unwrap(),
        Plan::Failed {
            diag: Id::FromNotTokenAccount
        }
    );
    assert!(!m.has_smtp_session());
    // An administrator slot holding another account is refused as well.
    m.store_mut()
        .store_acquired(
            at(0),
            None,
            &TokenOwner::Admin,
            &other,
            grant(b"AT", Some(b"RT")),
        )
        .unwrap();
    assert_eq!(
        m.submit(at(0), &scan(&to, None)).unwrap(),
        Plan::Failed {
            diag: Id::FromNotTokenAccount
        }
    );
}

#[test]
fn a_user_token_for_another_address_means_signing_in_for_the_new_one() {
    // "Allow user changes": the user's token for that address.
    let mut m = mailer(SenderMode::AllowUserChanges);
    let alice = addr("alice@contoso.com");
    let team = addr("team@contoso.com");
    let to = [addr("bob@fabrikam.com")];
    let owner = TokenOwner::User(UserId::try_from("alice").unwrap());
    m.store_mut()
        .store_acquired(at(0), None, &owner, &alice, grant(b"AT", Some(b"RT")))
        .unwrap();
    let job = Job {
        from: Some(&team),
        ..scan(
            &to,
            Some(User {
                id: "alice",
                address: Some(&alice),
            }),
        )
    };
    assert_eq!(
        m.submit(at(1), &job).unwrap(),
        Plan::NeedUserAuth {
            user: Some(UserId::try_from("alice").unwrap()),
            account: team.clone(),
            method: AuthMethod::DeviceCode
        }
    );
    m.auth_succeeded(at(2), None, grant(b"AT-T", Some(b"RT-T")))
        .unwrap();
    assert_eq!(m.store().account(&owner), Some(&team));
}

#[test]
fn a_public_users_tokens_are_wiped_when_the_job_ends() {
    let mut m = mailer(SenderMode::AllowUserChanges);
    let visitor = addr("visitor@fabrikam.com");
    let to = [addr("bob@fabrikam.com")];
    let job = Job {
        from: Some(&visitor),
        ..scan(&to, None)
    };
    assert!(matches!(
        m.submit(at(0), &job).unwrap(),
        Plan::NeedUserAuth { user: None, .. }
    ));
    m.auth_succeeded(at(1), None, grant(b"AT-G", Some(b"RT-G")))
        .unwrap();
    connect(&mut m, at(1));
    let mut srv = Server::new("visitor@fabrikam.com", &[b"AT-G"]);
    pump(&mut m, &mut srv, at(1), true, &mut Seen::default());
    assert!(matches!(m.plan(), Plan::Done { .. }), "{:?}", m.plan());
    assert_eq!(m.store().status(&TokenOwner::Guest), TokenStatus::Required);
    assert_eq!(m.store().cached_access_tokens(), 0);
    assert_eq!(srv.froms, ["<visitor@fabrikam.com>"]);
}

#[test]
fn calls_out_of_order_are_refused_and_jobs_do_not_overlap() {
    let mut m = mailer(SenderMode::AdminFixedAddress);
    let to = [addr("bob@fabrikam.com")];
    assert_eq!(m.connected(at(0), "mfp"), Err(MailerError::WrongState));
    assert_eq!(
        m.exchange_succeeded(at(0), None, grant(b"A", None)),
        Err(MailerError::WrongState)
    );
    assert_eq!(
        m.auth_failed(Id::InvalidGrant),
        Err(MailerError::WrongState)
    );
    m.submit(at(0), &scan(&to, None)).unwrap();
    assert_eq!(
        m.submit(at(0), &scan(&to, None)),
        Err(MailerError::WrongState)
    );
    assert_eq!(MailerError::WrongState.diag(), Id::WrongState);
    assert_eq!(
        m.cancel(at(1), Id::WrongState),
        Plan::Failed {
            diag: Id::WrongState
        }
    );
    // No recipient: refused before anything.
    assert_eq!(
        m.submit(at(2), &scan(&[], None)).unwrap(),
        Plan::Failed {
            diag: Id::InvalidArgument
        }
    );
}

#[test]
fn settings_changes_go_through_the_mailer() {
    let mut m = Mailer::new(Settings::default(), TokenStore::new());
    let applied = m
        .apply_settings(valid(SenderMode::AdminFixedAddress))
        .unwrap();
    assert!(applied.go_to_oauth_screen);
    m.store_mut()
        .store_acquired(
            at(0),
            None,
            &TokenOwner::Admin,
            &addr(ADMIN),
            grant(b"AT", Some(b"RT")),
        )
        .unwrap();
    let mut other = valid(SenderMode::AdminFixedAddress);
    other.admin_address = Some(addr("boss@contoso.com"));
    let applied = m.apply_settings(other).unwrap();
    assert!(applied.admin_token_invalidated);
    assert_eq!(m.store().admin_status(), TokenStatus::Required);
}

#[test]
fn logout_auto_reset_and_expiry_checks_use_the_settings() {
    let mut settings = valid(SenderMode::LoginUserAddress);
    settings.auto_delete_user_tokens = true;
    let mut m = Mailer::new(settings, TokenStore::new());
    let day0 = WallTime(1_700_000_000);
    for id in ["alice", "bob"] {
        let owner = TokenOwner::User(UserId::try_from(id).unwrap());
        m.store_mut()
            .store_acquired(
                at(0),
                Some(day0),
                &owner,
                &addr(&format!("{id}@contoso.com")),
                grant(b"AT", Some(b"RT")),
            )
            .unwrap();
    }
    assert!(m.logout("alice"));
    assert!(m.auto_reset(Some("bob")));
    assert_eq!(m.store().users().count(), 0);
    m.store_mut()
        .store_acquired(
            at(0),
            Some(day0),
            &TokenOwner::Admin,
            &addr(ADMIN),
            grant(b"AT", Some(b"RT")),
        )
        .unwrap();
    while m.poll_event(at(0)).is_some() {}
    m.check_expiry(day0.plus_days(80));
    assert_eq!(
        m.poll_event(at(0)),
        Some(Step::Store(StoreEvent::RefreshTokenExpiring {
            owner: TokenOwner::Admin,
            days_left: 10
        }))
    );
}

#[test]
fn sizes() {
    println!("size_of::<Mailer>() = {}", size_of::<Mailer>());
    println!("size_of::<smtp::Client>() = {}", size_of::<Client>());
    println!(
        "size_of::<smtp::Session>() = {}",
        size_of::<smtp::Session>()
    );
    println!("size_of::<TokenStore>() = {}", size_of::<TokenStore>());
    println!("size_of::<Settings>() = {}", size_of::<Settings>());
    println!("size_of::<Plan>() = {}", size_of::<Plan>());
    assert!(size_of::<Mailer>() >= size_of::<TokenStore>() + size_of::<smtp::Session>());
}

// ----- the whole lifecycle with the real OAuth client -----

type OAuthClient = oauth::Client<Vec<u8>>;

fn oauth_client(settings: &Settings) -> OAuthClient {
    let built_in = crate::provider::AppRegistration::public("printer-app").unwrap();
    oauth::Client::new(
        settings.provider_profile().unwrap(),
        settings.app_registration(&built_in).unwrap(),
        vec![0u8; crate::limits::OAUTH_RESPONSE_BUF_LEN],
        1,
    )
}

fn http(status: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn token_json(access: &str, refresh: Option<&str>) -> String {
    match refresh {
        Some(r) => format!(
            r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"{access}","refresh_token":"{r}"}}"#
        ),
        None => format!(r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"{access}"}}"#),
    }
}

/// Carry the client's due request to the token endpoint and answer it;
/// returns the request text and the events that followed.
fn carry(c: &mut OAuthClient, now: Instant, response: &str) -> (String, Vec<oauth::Event>) {
    let mut out = vec![0u8; crate::limits::OAUTH_REQUEST_BUF_LEN];
    let tx = c.poll_transmit(now, &mut out).unwrap().expect("a request");
    assert_eq!(tx.endpoint.host(), "login.microsoftonline.com");
    let req = String::from_utf8(out[..tx.len].to_vec()).unwrap();
    c.handle_input(now, response.as_bytes());
    c.handle_close(now);
    (req, std::iter::from_fn(|| c.poll_event()).collect())
}

/// The administrator's device-code sign-in, answered with `access` and
/// `refresh`; returns the last event (AccessToken).
fn device_sign_in(c: &mut OAuthClient, now: Instant, access: &str, refresh: &str) -> oauth::Event {
    c.start_device(now).unwrap();
    let device = r#"{"device_code":"DC","user_code":"ABCD-EFGH","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5}"#;
    let (_, events) = carry(c, now, &http(200, device));
    assert_eq!(events, [oauth::Event::UserCode]);
    let later = now + Duration::from_secs(5);
    c.handle_timeout(later);
    let (_, events) = carry(c, later, &http(200, &token_json(access, Some(refresh))));
    *events.last().unwrap()
}

fn send(m: &mut Mailer, now: Instant, access: &[u8]) -> Seen {
    connect(m, now);
    let mut srv = Server::new(ADMIN, &[access]);
    let mut seen = Seen::default();
    pump(m, &mut srv, now, true, &mut seen);
    assert!(matches!(m.plan(), Plan::Done { .. }), "{:?}", m.plan());
    seen
}

fn drain_store(m: &mut Mailer, now: Instant) -> Vec<StoreEvent> {
    std::iter::from_fn(|| match m.poll_event(now) {
        Some(Step::Store(e)) => Some(e),
        Some(other) => panic!("unexpected {other:?}"),
        None => None,
    })
    .collect()
}

/// R-TOK and R-NV end to end on simulated time, through the Mailer and the
/// real OAuth client: acquire → send → expiry → refresh → rotation persisted
/// → power cycle → refresh again → invalid_grant → notice → re-acquire.
#[test]
fn full_lifecycle_through_the_mailer_and_the_oauth_client() {
    use crate::image::{self as nv, NvCursor};
    let settings = valid(SenderMode::AdminFixedAddress);
    let mut m = Mailer::new(settings.clone(), TokenStore::new());
    let mut c = oauth_client(&settings);
    let to = [addr("bob@fabrikam.com")];
    let mut slots = [
        vec![0xFFu8; nv::IMAGE_MAX_LEN],
        vec![0xFFu8; nv::IMAGE_MAX_LEN],
    ];
    let mut cursor = NvCursor::new();
    let persist = |m: &Mailer, cursor: &mut NvCursor, slots: &mut [Vec<u8>; 2]| {
        let (slot, seq) = cursor.next();
        let i = usize::from(slot == nv::SlotId::B);
        let n = nv::save(m.settings(), m.store(), seq, None, &mut slots[i]).unwrap();
        slots[i][n..].fill(0xFF);
        cursor.written(slot, seq);
    };

    // Acquire (the administrator, beforehand).
    assert_eq!(m.store().admin_status(), TokenStatus::Required);
    let ev = device_sign_in(&mut c, at(0), "AT-1", "RT-1");
    assert!(matches!(ev, oauth::Event::AccessToken { .. }));
    m.acquire_admin(at(5), None, &c).unwrap();
    assert_eq!(m.store().admin_status(), TokenStatus::Acquired);
    assert_eq!(
        drain_store(&mut m, at(5)),
        [StoreEvent::Persist {
            erase_other_slot: false
        }]
    );
    persist(&m, &mut cursor, &mut slots);

    // Send with the acquired access token.
    assert!(matches!(
        m.submit(at(10), &scan(&to, None)).unwrap(),
        Plan::Connect { .. }
    ));
    send(&mut m, at(10), b"AT-1");

    // An hour later: expired, refreshed, the refresh token rotates.
    assert_eq!(
        m.submit(at(3600), &scan(&to, None)).unwrap(),
        Plan::TokenExchange {
            owner: TokenOwner::Admin
        }
    );
    m.start_exchange(at(3600), &mut c).unwrap();
    let (req, events) = carry(
        &mut c,
        at(3600),
        &http(200, &token_json("AT-2", Some("RT-2"))),
    );
    assert!(req.contains("grant_type=refresh_token"), "{req}");
    assert!(req.contains("refresh_token=RT-1"), "{req}");
    let mut next = None;
    for e in events {
        if let Some(plan) = m.handle_oauth_event(at(3600), None, &c, e).unwrap() {
            next = Some(plan);
        }
    }
    assert!(matches!(next, Some(Plan::Connect { .. })), "{next:?}");
    assert_eq!(
        drain_store(&mut m, at(3600)),
        [StoreEvent::Persist {
            erase_other_slot: true
        }]
    );
    persist(&m, &mut cursor, &mut slots);
    send(&mut m, at(3600), b"AT-2");

    // Power cycle: only the refresh token survives.
    let mut settings2 = Settings::default();
    let mut store2 = TokenStore::new();
    let report = nv::load(&slots[0], &slots[1], None, &mut settings2, &mut store2).unwrap();
    assert_eq!(report.sequence, 2);
    assert_eq!(store2.cached_access_tokens(), 0);
    let mut m = Mailer::new(settings2, store2);
    let mut c = oauth_client(m.settings());
    let mut cursor = report.cursor;

    // Refresh again with the rotated token.
    assert!(matches!(
        m.submit(at(20), &scan(&to, None)).unwrap(),
        Plan::TokenExchange { .. }
    ));
    m.start_exchange(at(20), &mut c).unwrap();
    let (req, events) = carry(&mut c, at(20), &http(200, &token_json("AT-3", None)));
    assert!(req.contains("refresh_token=RT-2"), "{req}");
    for e in events {
        let _ = m.handle_oauth_event(at(20), None, &c, e).unwrap();
    }
    send(&mut m, at(20), b"AT-3");
    assert!(
        drain_store(&mut m, at(20)).is_empty(),
        "no rotation, no write"
    );

    // The grant is revoked: invalid_grant → Information-screen notice.
    assert!(matches!(
        m.submit(at(20 + 3600), &scan(&to, None)).unwrap(),
        Plan::TokenExchange { .. }
    ));
    m.start_exchange(at(3620), &mut c).unwrap();
    let revoked = r#"{"error":"invalid_grant","error_description":"AADSTS50173: The provided grant has expired due to it being revoked.","error_codes":[50173]}"#;
    let (_, events) = carry(&mut c, at(3620), &http(400, revoked));
    assert!(
        matches!(events[..], [oauth::Event::ReauthRequired(_)]),
        "{events:?}"
    );
    let plan = m
        .handle_oauth_event(at(3620), None, &c, events[0])
        .unwrap()
        .unwrap();
    assert_eq!(
        plan,
        Plan::NeedAdminAuth {
            account: addr(ADMIN),
            method: AuthMethod::DeviceCode
        }
    );
    assert_eq!(
        drain_store(&mut m, at(3620)),
        [
            StoreEvent::AdminReauthNeeded,
            StoreEvent::Persist {
                erase_other_slot: true
            }
        ]
    );
    assert!(m.store().admin_notice());
    persist(&m, &mut cursor, &mut slots);

    // Re-acquire on the spot: the job goes on and the notice clears.
    let ev = device_sign_in(&mut c, at(3700), "AT-4", "RT-4");
    let plan = m.handle_oauth_event(at(3705), None, &c, ev).unwrap();
    assert!(matches!(plan, Some(Plan::Connect { .. })), "{plan:?}");
    assert!(!m.store().admin_notice());
    let seen = send(&mut m, at(3705), b"AT-4");
    assert_eq!(
        seen.store,
        [StoreEvent::Persist {
            erase_other_slot: false
        }]
    );
}

/// Issue 15, defect 1: the refresh classification.
mod refresh;

/// Issue 15, R-ENGINE: no hatches, and the core bounds a job's plans.
mod engine;

/// Issue 18, R-APP: a token handed in from outside.
mod handed;

/// Issue 18, R-APP: app-only grants the core runs itself.
mod app_only;

/// Issue 19, R-XPORT: jobs through a mail API.
mod api;
