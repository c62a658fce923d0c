//! How the demo (and the CLI's longer commands) tell what happens: as a
//! readable story for a person, or as JSON lines for a machine (`--json`).
//! Every check is recorded; the story's outcome is whether all passed.
//! Nothing secret is ever given to a story: callers pass descriptions, never
//! token values.

use mfp_oauth_core::diag::{Id, Lang};
use serde_json::json;
use std::io::Write;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Text for a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

/// A story being told to `out`.
#[derive(Debug)]
pub struct Story<W: Write> {
    out: W,
    format: Format,
    lang: Lang,
    chapter: usize,
    checks: usize,
    failed: Vec<String>,
}

impl<W: Write> Story<W> {
    /// A story in `format` and `lang`, written to `out`.
    pub fn new(out: W, format: Format, lang: Lang) -> Self {
        Story {
            out,
            format,
            lang,
            chapter: 0,
            checks: 0,
            failed: Vec::new(),
        }
    }

    /// The language the story is told in.
    #[must_use]
    pub fn lang(&self) -> Lang {
        self.lang
    }

    fn emit(&mut self, text: &str, event: serde_json::Value) {
        // A closed stdout must not stop the demo's checks; ignore write errors.
        let _ = match self.format {
            Format::Text => writeln!(self.out, "{text}"),
            Format::Json => writeln!(self.out, "{event}"),
        };
    }

    /// Start chapter `title` (numbered).
    pub fn chapter(&mut self, title: &str) {
        self.chapter += 1;
        let n = self.chapter;
        self.emit(
            &format!("\n── {n}. {title} ──"),
            json!({"type": "chapter", "n": n, "title": title}),
        );
    }

    /// A line of narration.
    pub fn say(&mut self, text: &str) {
        self.emit(
            &format!("   {text}"),
            json!({"type": "say", "chapter": self.chapter, "text": text}),
        );
    }

    /// A labelled fact (`key: value`) with a machine name for JSON; the
    /// text shows the label in the story's language.
    pub fn fact(&mut self, key: &str, value: &str) {
        let label = match self.lang {
            Lang::Fr => FACT_LABELS_FR
                .iter()
                .find(|(en, _)| *en == key)
                .map_or(key, |(_, fr)| fr),
            _ => key,
        };
        self.emit(
            &format!("     {label}: {value}"),
            json!({"type": "fact", "chapter": self.chapter, "key": key, "value": value}),
        );
    }

    /// A block shown as is (a QR code), text format only.
    pub fn block(&mut self, text: &str) {
        if self.format == Format::Text {
            for line in text.lines() {
                let _ = writeln!(self.out, "     {line}");
            }
        }
    }

    /// Record that `what` held (`ok`) or not; returns `ok`.
    pub fn check(&mut self, what: &str, ok: bool) -> bool {
        self.checks += 1;
        if !ok {
            self.failed.push(format!("{}: {what}", self.chapter));
        }
        let mark = if ok { "✔" } else { "✘" };
        self.emit(
            &format!("   {mark} {what}"),
            json!({"type": "check", "chapter": self.chapter, "what": what, "ok": ok}),
        );
        ok
    }

    /// A diagnostic with its message and remedy in the story's language.
    pub fn diagnostic(&mut self, id: Id) {
        let (msg, fix) = (id.message(self.lang), id.remedy(self.lang));
        self.emit(
            &format!(
                "     E{} {}\n     {msg}\n     → {fix}",
                id.number(),
                id.name()
            ),
            json!({"type": "diagnostic", "chapter": self.chapter, "id": id.number(),
                   "name": id.name(), "message": msg, "remedy": fix}),
        );
    }

    /// Close the story with a summary; true when every check passed.
    pub fn finish(mut self) -> bool {
        let ok = self.failed.is_empty();
        let fr = self.lang == Lang::Fr;
        let text = if ok {
            let passed = if fr {
                "vérifications réussies"
            } else {
                "checks passed"
            };
            format!("\n{} {passed}.", self.checks)
        } else {
            let failed = if fr {
                "vérifications ont ÉCHOUÉ"
            } else {
                "checks FAILED"
            };
            let of = if fr { "sur" } else { "of" };
            format!(
                "\n{} {of} {} {failed}:\n  {}",
                self.failed.len(),
                self.checks,
                self.failed.join("\n  ")
            )
        };
        let event =
            json!({"type": "summary", "ok": ok, "checks": self.checks, "failed": self.failed});
        self.emit(&text, event);
        let _ = self.out.flush();
        ok
    }
}

/// The French labels of the demo's facts (the JSON keeps the English
/// machine name; TLS, SMTP and SMTP AUTH read the same in both).
pub const FACT_LABELS_FR: &[(&str, &str)] = &[
    ("provider", "fournisseur"),
    ("certificates", "certificats"),
    ("server", "serveur"),
    (
        "administrator refresh token",
        "jeton d'actualisation de l'administrateur",
    ),
    ("authorize URL", "URL d'autorisation"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_fails_the_story() {
        let mut out = Vec::new();
        let mut s = Story::new(&mut out, Format::Text, Lang::En);
        s.chapter("One");
        assert!(s.check("fine", true));
        assert!(!s.check("broken", false));
        assert!(!s.finish());
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("── 1. One ──"));
        assert!(text.contains("✘ broken"));
        assert!(text.contains("1 of 2 checks FAILED"));
    }

    #[test]
    fn json_lines_parse_and_carry_diagnostics() {
        let mut out = Vec::new();
        let mut s = Story::new(&mut out, Format::Json, Lang::Fr);
        s.chapter("Deux");
        s.diagnostic(Id::SmtpAuthDisabled);
        s.block("not in json");
        assert!(s.check("ok", true));
        assert!(s.finish());
        let events: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events.len(), 4);
        assert_eq!(events[1]["id"], 305);
        assert!(events[1]["message"]
            .as_str()
            .unwrap()
            .contains("SMTP authentifié"));
        assert_eq!(events[3]["type"], "summary");
        assert_eq!(events[3]["ok"], true);
    }
}
