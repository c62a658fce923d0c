//! Issue 15, defect 1: the core classifies every failed refresh grant
//! (R-ENGINE). A consent or Conditional Access refusal keeps the refresh
//! token and fails the job with its own diagnostic; only a dead grant
//! erases the token and asks for a new sign-in (R-TOK-4).

use super::*;

/// Microsoft's answer to a refresh grant refused for AADSTS `code`, as
/// login.microsoftonline.com shapes it.
fn microsoft_invalid_grant(code: u32, text: &str) -> String {
    let body = format!(
        r#"{{"error":"invalid_grant","error_description":"AADSTS{code}: {text}\r\nTrace ID: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\r\nCorrelation ID: 2a3b4c5d-6e7f-8091-a2b3-c4d5e6f70819\r\nTimestamp: 2026-12-06 10:00:00Z","error_codes":[{code}],"timestamp":"2026-12-06 10:00:00Z","trace_id":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0","correlation_id":"2a3b4c5d-6e7f-8091-a2b3-c4d5e6f70819","error_uri":"https://login.microsoftonline.com/error?code={code}"}}"#
    );
    http(400, &body)
}

const CONSENT: &str = "The user or administrator has not consented to use the application with ID 'printer-app' named 'MFP'. Send an interactive authorization request for this user and resource.";
const BLOCKED: &str = "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.";

/// The administrator's token (expired access token) is refreshed for a job
/// with the real OAuth client and the token endpoint answers `response`;
/// returns the plan the mailer moved to and the store events.
fn refresh_answered(
    m: &mut Mailer,
    c: &mut OAuthClient,
    now: Instant,
    response: &str,
) -> (Plan, Vec<StoreEvent>) {
    let to = [addr("bob@fabrikam.com")];
    assert_eq!(
        m.submit(now, &scan(&to, None)).unwrap(),
        Plan::TokenExchange {
            owner: TokenOwner::Admin
        }
    );
    m.start_exchange(now, c).unwrap();
    let (req, events) = carry(c, now, response);
    assert!(req.contains("refresh_token=RT"), "{req}");
    let mut plan = None;
    for e in events {
        if let Some(p) = m.handle_oauth_event(now, None, c, e).unwrap() {
            plan = Some(p);
        }
    }
    let plan = plan.expect("the flow's end moves the job on");
    assert_eq!(m.plan(), &plan);
    (plan, drain_store(m, now))
}

#[test]
fn consent_and_conditional_access_refusals_keep_the_token_with_their_diagnostic() {
    for (code, text, diag) in [
        (65_001, CONSENT, Id::ConsentMissing),
        (53_003, BLOCKED, Id::ConditionalAccess),
    ] {
        let mut m = with_admin_token(b"AT", b"RT");
        let _ = drain_store(&mut m, at(0));
        let mut c = oauth_client(m.settings());
        let (plan, events) = refresh_answered(
            &mut m,
            &mut c,
            at(7200),
            &microsoft_invalid_grant(code, text),
        );
        // The job fails with the consent / Conditional Access diagnostic
        // (E402 / E405), not "expired or revoked" (E501).
        assert_eq!(plan, Plan::Failed { diag }, "AADSTS{code}");
        assert_eq!(diag.number(), if code == 65_001 { 402 } else { 405 });
        // The token is kept: status Acquired, no re-auth notice, nothing
        // erased or rewritten.
        assert_eq!(
            m.store().admin_status(),
            TokenStatus::Acquired,
            "AADSTS{code}"
        );
        assert!(!m.store().admin_notice(), "AADSTS{code}");
        assert!(events.is_empty(), "AADSTS{code}: {events:?}");
        assert_eq!(
            m.store()
                .refresh_token(&TokenOwner::Admin)
                .unwrap()
                .expose(),
            b"RT"
        );
        // Once the administrator fixed it at the provider, the next job
        // refreshes with the same token: no new sign-in was needed.
        let mut c = oauth_client(m.settings());
        let (plan, _) = refresh_answered(
            &mut m,
            &mut c,
            at(7300),
            &http(200, &token_json("AT-2", None)),
        );
        assert!(matches!(plan, Plan::Connect { .. }), "{plan:?}");
    }
}

#[test]
fn a_plain_invalid_grant_still_erases_the_token() {
    // R-TOK-4: expired or revoked.
    for response in [
        http(400, r#"{"error":"invalid_grant"}"#),
        microsoft_invalid_grant(700_082, "The refresh token has expired due to inactivity."),
    ] {
        let mut m = with_admin_token(b"AT", b"RT");
        let _ = drain_store(&mut m, at(0));
        let mut c = oauth_client(m.settings());
        let (plan, events) = refresh_answered(&mut m, &mut c, at(7200), &response);
        assert!(matches!(plan, Plan::NeedAdminAuth { .. }), "{plan:?}");
        assert_eq!(m.store().admin_status(), TokenStatus::ReauthNeeded);
        assert!(m.store().refresh_token(&TokenOwner::Admin).is_none());
        assert_eq!(
            events,
            [
                StoreEvent::AdminReauthNeeded,
                StoreEvent::Persist {
                    erase_other_slot: true
                }
            ]
        );
    }
}

#[test]
fn a_refusal_mid_session_ends_the_job_with_its_diagnostic_and_keeps_the_token() {
    // The server rejected the access token; the refresh is refused by
    // Conditional Access: the job ends with E405 after QUIT.
    let mut m = with_admin_token(b"AT", b"RT");
    let to = [addr("bob@fabrikam.com")];
    m.submit(at(1), &scan(&to, None)).unwrap();
    connect(&mut m, at(1));
    let mut srv = Server::new(ADMIN, &[]);
    let mut seen = Seen::default();
    pump(&mut m, &mut srv, at(1), true, &mut seen);
    assert!(matches!(m.plan(), Plan::TokenExchange { .. }));
    let mut c = oauth_client(m.settings());
    m.start_exchange(at(2), &mut c).unwrap();
    let (_, events) = carry(&mut c, at(2), &microsoft_invalid_grant(53_003, BLOCKED));
    for e in events {
        let _ = m.handle_oauth_event(at(2), None, &c, e).unwrap();
    }
    assert_eq!(m.plan(), &Plan::Session);
    pump(&mut m, &mut srv, at(2), false, &mut seen);
    assert_eq!(
        m.plan(),
        &Plan::Failed {
            diag: Id::ConditionalAccess
        }
    );
    assert!(!seen.store.contains(&StoreEvent::AdminReauthNeeded));
    assert_eq!(m.store().admin_status(), TokenStatus::Acquired);
}

#[test]
fn a_users_token_refused_for_consent_is_kept_too() {
    let alice = addr("alice@contoso.com");
    let owner = TokenOwner::User(UserId::try_from("alice").unwrap());
    let mut m = mailer(SenderMode::LoginUserAddress);
    m.store_mut()
        .store_acquired(at(0), None, &owner, &alice, grant(b"AT", Some(b"RT")))
        .unwrap();
    let _ = drain_store(&mut m, at(0));
    let to = [addr("bob@fabrikam.com")];
    let user = Some(User {
        id: "alice",
        address: Some(&alice),
    });
    assert!(matches!(
        m.submit(at(7200), &scan(&to, user)).unwrap(),
        Plan::TokenExchange { .. }
    ));
    // The raw outcome, as a driver without the OAuth client's event passes
    // it (the C API's REAUTH_REQUIRED with the event's diagnostic).
    assert_eq!(
        m.exchange_failed(at(7201), true, Id::ConsentMissing)
            .unwrap(),
        Plan::Failed {
            diag: Id::ConsentMissing
        }
    );
    assert_eq!(m.store().status(&owner), TokenStatus::Acquired);
    assert!(drain_store(&mut m, at(7201)).is_empty());
}

#[test]
fn the_one_classification() {
    use RefreshFailure as F;
    for dead in [
        Id::InvalidGrant,
        Id::RefreshExpiredInactivity,
        Id::RefreshRevoked,
        Id::SignInFrequency,
    ] {
        assert_eq!(F::classify(true, dead), F::InvalidGrant, "{dead:?}");
        assert!(F::classify(true, dead).erases_token());
        assert_eq!(F::classify(false, dead), F::Transient, "{dead:?}");
    }
    for kept in [
        Id::ConsentMissing,
        Id::ConditionalAccess,
        Id::GoogleAdminPolicy,
        Id::AppNotInTenant,
    ] {
        assert_eq!(F::classify(true, kept), F::Refused, "{kept:?}");
        assert!(!F::classify(true, kept).erases_token());
    }
    assert_eq!(F::classify(false, Id::ProviderUnavailable), F::Transient);
    // From the OAuth client's events, with Microsoft's AADSTS numbers.
    let ms = |aadsts| {
        oauth::Event::ReauthRequired(OAuthError::Provider(oauth::ProviderError {
            code: crate::wire::json::ErrorCode::InvalidGrant,
            aadsts: Some(aadsts),
            status: 400,
        }))
    };
    assert_eq!(
        F::of_event(&ms(65_001)),
        Some((F::Refused, Id::ConsentMissing))
    );
    assert_eq!(
        F::of_event(&ms(53_003)),
        Some((F::Refused, Id::ConditionalAccess))
    );
    assert_eq!(
        F::of_event(&ms(50_173)),
        Some((F::InvalidGrant, Id::RefreshRevoked))
    );
    assert_eq!(F::of_event(&oauth::Event::UserCode), None);
}
