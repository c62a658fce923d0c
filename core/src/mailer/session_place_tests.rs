//! R-MEM: a session place holds one session at a time, and a session it
//! stops holding is wiped, so that the mailer behaves the same on a place
//! that keeps both ([`SessionPair`]) and on one that shares their octets.

use super::*;
use crate::address::Address;
use crate::smtp::{Security, Settings};
use crate::time::Instant;

/// A Graph request of `size` octets started on `api`.
fn start_graph(api: &mut api::Session, size: u64, mailbox: &Address) {
    api.start(&api::Request {
        api: api::Api::Graph,
        host: "graph.microsoft.com",
        port: 443,
        base_path: "/",
        mailbox: Some(mailbox),
        size,
        recipients: 2,
        not_before: Some(Instant::from_millis(9)),
        resume: true,
    })
    .unwrap();
}

#[test]
fn a_new_pair_holds_an_idle_smtp_session() {
    let mut p = SessionPair::new();
    assert_eq!(p.held(), HeldSession::Smtp);
    assert!(p.smtp().is_some() && p.smtp_mut().is_some());
    assert!(p.api().is_none() && p.api_mut().is_none());
}

#[test]
fn holding_the_api_session_wipes_the_staged_envelope() {
    let mut p = SessionPair::new();
    let envelope = p.hold_smtp().staged_envelope_mut().unwrap();
    envelope.from = Address::parse("scanner@contoso.com").unwrap();
    envelope.add_recipient_text("bob@fabrikam.com").unwrap();
    envelope.size = Some(5000);
    // Holding the kind held changes nothing.
    assert_eq!(
        p.hold_smtp().staged_envelope_mut().unwrap().size,
        Some(5000)
    );
    p.hold_api();
    assert_eq!(p.held(), HeldSession::Api);
    assert!(p.smtp().is_none() && p.smtp_mut().is_none());
    let envelope = p.hold_smtp().staged_envelope_mut().unwrap();
    assert!(envelope.from.is_empty() && envelope.to.is_empty());
    assert_eq!(envelope.size, None);
}

#[test]
fn a_used_smtp_session_is_idle_again_once_the_place_switches() {
    let mut p = SessionPair::new();
    let user = Address::parse("scanner@contoso.com").unwrap();
    p.hold_smtp()
        .reset_with(Instant::from_millis(5), &user, |s: &mut Settings| {
            s.set_server(Security::ImplicitTls, "mfp", "smtp.example.com", 465)
        })
        .unwrap();
    assert_ne!(
        format!("{:?}", p.smtp().unwrap()),
        format!("{:?}", smtp::Session::idle())
    );
    p.hold_api();
    assert_eq!(
        format!("{:?}", p.hold_smtp()),
        format!("{:?}", smtp::Session::idle())
    );
}

#[test]
fn an_api_session_and_its_upload_are_wiped_when_the_place_switches() {
    let mut p = SessionPair::new();
    let mailbox = Address::parse("scanner@contoso.com").unwrap();
    // Over Graph's one-request limit: an upload's place is set up.
    start_graph(p.hold_api(), 40 << 20, &mailbox);
    assert_ne!(
        format!("{:?}", p.api().unwrap()),
        format!("{:?}", api::Session::idle())
    );
    // Holding the kind held keeps the upload between connections.
    let before = format!("{:?}", p.api().unwrap());
    assert_eq!(format!("{:?}", p.hold_api()), before);
    p.hold_smtp();
    assert!(p.api().is_none());
    assert_eq!(
        format!("{:?}", p.hold_api()),
        format!("{:?}", api::Session::idle())
    );
}
