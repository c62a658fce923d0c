//! R-DIAG (issue 17): a diagnostic reached from an SMTP reply never
//! contradicts that reply. Table test over every stage and the 4xx and 5xx
//! replies (with and without the enhanced codes servers send), through the
//! core's classification, and over the diagnostics the client picks after
//! an OAuth error challenge (`smtp/client/auth.rs`: a token the server calls
//! invalid is `TokenRejected` whatever the final code, as Google's
//! `535 5.7.8` after its challenge).
//!
//! A code the text cites in parentheses must be the reply's: `(535 5.7.139)`
//! cites both, `(500 / 5.5.6)` either. A text naming one provider's scope or
//! console (`SMTP.Send`, Microsoft 365's admin center) must also name the
//! other's, unless the enhanced code is one only that provider sends.

use super::{Id, Lang};
use crate::smtp::classify;
use crate::smtp::Stage;
use crate::wire::reply::{EnhancedCode, ReplyCode};
use std::string::{String, ToString};
use std::vec::Vec;

const STAGES: [Stage; 10] = [
    Stage::Greeting,
    Stage::Ehlo,
    Stage::StartTls,
    Stage::Auth,
    Stage::Mail,
    Stage::Rcpt,
    Stage::Data,
    Stage::DataEnd,
    Stage::Rset,
    Stage::Quit,
];

const CODES: [u16; 20] = [
    421, 450, 451, 452, 454, 455, 500, 501, 502, 503, 504, 521, 530, 534, 535, 550, 551, 552, 553,
    554,
];

/// Enhanced codes the providers send (Microsoft 365, Google) and the
/// generic ones.
const ENHANCED: [(u8, u16, u16); 24] = [
    (4, 7, 0),
    (4, 7, 66),
    (4, 3, 0),
    (4, 2, 1),
    (5, 0, 0),
    (5, 1, 1),
    (5, 2, 252),
    (5, 3, 4),
    (5, 5, 1),
    (5, 5, 2),
    (5, 5, 4),
    (5, 5, 6),
    (5, 5, 124),
    (5, 5, 127),
    (5, 7, 0),
    (5, 7, 1),
    (5, 7, 3),
    (5, 7, 8),
    (5, 7, 9),
    (5, 7, 30),
    (5, 7, 57),
    (5, 7, 60),
    (5, 7, 139),
    (5, 4, 5),
];

/// Enhanced codes only Microsoft 365 sends: their texts may be Microsoft's.
const MICROSOFT_ONLY: [(u8, u16, u16); 6] = [
    (5, 7, 139),
    (5, 7, 30),
    (5, 7, 60),
    (5, 2, 252),
    (5, 5, 124),
    (5, 5, 127),
];

fn reply(code: u16, e: Option<(u8, u16, u16)>) -> ReplyCode {
    ReplyCode {
        code,
        enhanced: e.map(|(a, b, c)| EnhancedCode::new(a, b, c)),
    }
}

fn enhanced_str(e: Option<EnhancedCode>) -> Option<String> {
    e.map(|e| std::format!("{}.{}.{}", e.class, e.subject, e.detail))
}

/// The codes each parenthesised group of `text` cites, with whether the
/// group gives alternatives (`/`).
fn cited(text: &str) -> Vec<(Vec<String>, bool)> {
    let mut groups = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(')') else { break };
        let inner = &after[..close];
        let codes: Vec<String> = inner
            .split([' ', '/', ','])
            .filter(|t| is_code(t))
            .map(ToString::to_string)
            .collect();
        if !codes.is_empty() {
            groups.push((codes, inner.contains('/')));
        }
        rest = &after[close + 1..];
    }
    groups
}

fn is_code(t: &str) -> bool {
    let basic = t.len() == 3
        && t.bytes().all(|b| b.is_ascii_digit())
        && matches!(t.as_bytes()[0], b'2'..=b'5');
    let parts: Vec<&str> = t.split('.').collect();
    let enhanced = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && matches!(parts[0], "2" | "4" | "5");
    basic || enhanced
}

/// Why `id`'s texts contradict `r`, if they do.
fn contradiction(id: Id, r: ReplyCode) -> Option<String> {
    let code = r.code.to_string();
    let enh = enhanced_str(r.enhanced);
    for lang in [Lang::En, Lang::Fr] {
        for text in [id.message(lang), id.remedy(lang)] {
            for (codes, alternatives) in cited(text) {
                let matches = |c: &String| *c == code || Some(c) == enh.as_ref();
                let ok = if alternatives {
                    codes.iter().any(matches)
                } else {
                    codes.iter().all(matches)
                };
                if !ok {
                    return Some(std::format!("cites {codes:?}: {text:?}"));
                }
            }
            let microsoft_only = r.enhanced.is_some_and(|e| {
                MICROSOFT_ONLY
                    .iter()
                    .any(|&(a, b, c)| e == EnhancedCode::new(a, b, c))
            });
            let names_microsoft = ["SMTP.Send", "Microsoft 365", "Set-TransportConfig"]
                .iter()
                .any(|m| text.contains(m));
            let names_google = text.contains("mail.google.com");
            if names_microsoft != names_google && !(names_microsoft && microsoft_only) {
                return Some(std::format!("names one provider only: {text:?}"));
            }
        }
    }
    None
}

#[test]
#[cfg_attr(
    miri,
    ignore = "thousands of replies through the SMTP client: minutes natively stay hours under Miri; the same mapping code runs under Miri in the smtp and diag unit tests"
)]
fn every_smtp_reply_diagnostic_agrees_with_its_reply() {
    let mut failures = Vec::new();
    let mut checked = 0;
    let enhanced = core::iter::once(None).chain(ENHANCED.iter().copied().map(Some));
    let enhanced: Vec<_> = enhanced.collect();
    for stage in STAGES {
        for code in CODES {
            for e in &enhanced {
                // A 4xx reply carries a 4.x.x code, a 5xx one a 5.x.x.
                if e.is_some_and(|(class, _, _)| u16::from(class) != code / 100) {
                    continue;
                }
                let r = reply(code, *e);
                let mut ids = std::vec![classify(stage, r)];
                if stage == Stage::Auth {
                    // After an error challenge (smtp/client/auth.rs).
                    ids.extend([
                        Id::TokenRejected,
                        Id::InvalidScope,
                        Id::AuthChallengeMalformed,
                    ]);
                }
                for id in ids {
                    checked += 1;
                    if let Some(why) = contradiction(id, r) {
                        failures.push(std::format!("{stage:?} {r}: E{} {why}", id.number()));
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "{checked}");
    failures.dedup();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The rule itself: the old E306 text under Google's 535 5.7.8 is caught.
#[test]
fn the_rule_catches_a_cited_code_that_is_not_the_reply() {
    let groups = cited("rejected the access token (535 5.7.3).");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].0, ["535", "5.7.3"]);
    assert!(!groups[0].1);
    assert!(cited("(500 / 5.5.6)")[0].1);
    assert!(cited("(smtp.office365.com or smtp.gmail.com)").is_empty());
    assert!(
        cited("Microsoft: SMTP.Send offline_access; Google: https://mail.google.com/").is_empty()
    );
}
