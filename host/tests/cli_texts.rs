//! The CLI's texts are complete in both languages (R-CLI, issue 17), like
//! the diagnostics: every text the `mfp-oauth` tool prints goes through
//! `tr(lang, en, fr)` (or a table with both), and every French text is
//! there, differs from the English one and carries the same placeholders.
//!
//! The check reads the tool's source (`host/src/cli.rs`, and the demo's
//! story, `host/src/demo.rs`): a new `println!` or narration line in
//! English only, or a `tr` whose French text is missing or left in English,
//! fails here. (`--help`, clap's manual, has its French texts in
//! `host/src/cli_help_fr.rs`, checked by host/tests/cli_help.rs.)

use std::collections::BTreeSet;

const CLI: &str = include_str!("../src/cli.rs");
const DEMO: &str = include_str!("../src/demo.rs");

/// The source before its unit tests, with `//` comment lines blanked.
fn code(source: &str) -> String {
    let end = source.find("\n#[cfg(test)]").unwrap_or(source.len());
    source[..end]
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("//") {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The string literal at the start of `s` (after white space): its text
/// with the escapes `\"`, `\\` and `\n` undone, and the rest of `s`.
fn literal(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let mut chars = s.strip_prefix('"')?.char_indices();
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 2..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// `{name}` placeholders of a text.
fn placeholders(s: &str) -> BTreeSet<&str> {
    s.match_indices('{')
        .filter_map(|(i, _)| s[i..].find('}').map(|j| &s[i..=i + j]))
        .collect()
}

/// Whether a format string says nothing in a language: once placeholders
/// and URLs are taken out, only acronyms (TLS, SMTP) and symbols are left.
fn language_neutral(s: &str) -> bool {
    let mut rest = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            c if depth == 0 => rest.push(c),
            _ => {}
        }
    }
    rest.split_whitespace()
        .filter(|w| !w.contains("://"))
        .flat_map(|w| w.split(|c: char| !c.is_alphabetic()))
        .filter(|w| w.chars().count() >= 2)
        .all(|w| w.chars().all(char::is_uppercase))
}

/// Every `tr(lang, "en", "fr")` call with two literal texts, and the
/// demo's `self.t("en", "fr")` / `c.t("en", "fr")`.
fn tr_pairs(code: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (i, _) in code.match_indices("tr(") {
        let before = code[..i].chars().next_back().unwrap_or(' ');
        if before.is_alphanumeric() || before == '_' || code[..i].ends_with("fn ") {
            continue;
        }
        let args = &code[i + 3..];
        let Some(comma) = args.find(',') else {
            continue;
        };
        let Some((en, rest)) = literal(&args[comma + 1..]) else {
            continue;
        };
        let rest = rest.trim_start().strip_prefix(',').unwrap_or(rest);
        let (fr, _) = literal(rest).unwrap_or_else(|| panic!("tr({en:?}, …) has no French text"));
        pairs.push((en, fr));
    }
    for (i, _) in code.match_indices(".t(") {
        let Some((en, rest)) = literal(&code[i + 3..]) else {
            continue;
        };
        let rest = rest.trim_start().strip_prefix(',').unwrap_or(rest);
        let (fr, _) = literal(rest).unwrap_or_else(|| panic!("t({en:?}, …) has no French text"));
        pairs.push((en, fr));
    }
    pairs
}

#[test]
fn every_text_has_a_french_version_with_the_same_placeholders() {
    let (cli, demo) = (tr_pairs(&code(CLI)), tr_pairs(&code(DEMO)));
    assert!(
        cli.len() > 60 && demo.len() > 50,
        "{} and {}",
        cli.len(),
        demo.len()
    );
    for (en, fr) in cli.iter().chain(&demo) {
        assert!(!fr.trim().is_empty(), "no French for {en:?}");
        assert_ne!(en, fr, "French left in English");
        assert_eq!(placeholders(en), placeholders(fr), "{en:?} / {fr:?}");
    }
    for (en, fr, _) in mfp_oauth_host::cli::RULES {
        assert!(!fr.is_empty() && en != fr, "rule {en:?}");
    }
    for (en, fr) in mfp_oauth_host::story::FACT_LABELS_FR {
        assert!(!fr.is_empty() && en != fr, "label {en:?}");
    }
}

#[test]
fn nothing_is_printed_in_english_only() {
    let mut english_only = Vec::new();
    let output = [
        "println!(",
        "eprintln!(",
        "print!(",
        "eprint!(",
        ".println(",
        "set_message(",
        "format!(",
        "Err(",
        "ok_or(",
    ];
    let narration = [".say(", ".check(", ".chapter("];
    for (file, source, calls) in [
        ("cli.rs", CLI, &output[..]),
        ("demo.rs", DEMO, &narration[..]),
    ] {
        let code = code(source);
        for call in calls {
            for (i, _) in code.match_indices(call) {
                let args = code[i + call.len()..].trim_start();
                let args = args.strip_prefix('&').unwrap_or(args);
                let args = args.strip_prefix("format!(").unwrap_or(args);
                if let Some((text, _)) = literal(args) {
                    if !language_neutral(&text) {
                        let line = code[..i].lines().count();
                        english_only.push(format!("{file}:{line}: {text:?}"));
                    }
                }
            }
        }
    }
    assert!(
        english_only.is_empty(),
        "texts without a French version (use tr(lang, en, fr)):\n{}",
        english_only.join("\n")
    );
}

/// The checks themselves: an English sentence is caught, a line of
/// placeholders, acronyms and URLs is not.
#[test]
fn the_checks_catch_what_they_should() {
    assert!(!language_neutral("ready to send"));
    assert!(!language_neutral("server: {s}"));
    assert!(language_neutral("{key} = {}"));
    assert!(language_neutral("  ✔ TLS {} {}"));
    assert!(language_neutral("{scheme}://{}:{}{}"));
    let code = r#"x(tr(lang, "a {n} b", "c {n} d")); tr(ctx.lang, "only", "")"#;
    assert_eq!(
        tr_pairs(code),
        [
            ("a {n} b".to_owned(), "c {n} d".to_owned()),
            ("only".to_owned(), String::new())
        ]
    );
    assert_eq!(placeholders("{a} x {b}"), BTreeSet::from(["{a}", "{b}"]));
}
