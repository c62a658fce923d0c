//! `mfp-oauth --help` follows the language (R-CLI, issue 17): every
//! command, argument and value of the tool has its French text in
//! `host/src/cli_help_fr.rs`, and the manual shown with `--lang fr` (or a
//! French LANG) has no English left of the doc comments or of clap's own
//! texts that clap lets us change.

use clap::{Command, CommandFactory};
use mfp_oauth_core::diag::Lang;
use mfp_oauth_host::cli::Cli;
use mfp_oauth_host::cli_help_fr::{self, ARGS, COMMANDS, VALUES, VALUE_NAMES};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::process::{Command as Process, Output};

const BIN: &str = env!("CARGO_BIN_EXE_mfp-oauth");

/// Every text of a command tree, with where it is: abouts and helps of
/// commands and arguments (with `values`, the possible values' helps too).
fn texts(cmd: &Command, path: &str, values: bool, out: &mut Vec<(String, String)>) {
    let mut push = |what: String, t: Option<String>| {
        if let Some(t) = t.filter(|t| !t.trim().is_empty()) {
            out.push((what, t));
        }
    };
    push(
        format!("{path}: about"),
        cmd.get_about().map(|t| t.to_string()),
    );
    push(
        format!("{path}: long about"),
        cmd.get_long_about().map(|t| t.to_string()),
    );
    for a in cmd.get_arguments() {
        let id = a.get_id();
        push(
            format!("{path} {id}: help"),
            a.get_help().map(|t| t.to_string()),
        );
        push(
            format!("{path} {id}: long help"),
            a.get_long_help().map(|t| t.to_string()),
        );
        if values && !a.is_hide_possible_values_set() {
            for v in a.get_possible_values() {
                push(
                    format!("{path} {id}={}", v.get_name()),
                    v.get_help().map(|t| t.to_string()),
                );
            }
        }
    }
    for sc in cmd.get_subcommands() {
        texts(sc, &format!("{path} {}", sc.get_name()), values, out);
    }
}

fn built(mut cmd: Command) -> Command {
    cmd.build();
    cmd
}

/// The English manual's texts (doc comments and clap's own), possible
/// values' helps left out: some read the same in French ("Microsoft 365").
fn english_texts() -> BTreeSet<String> {
    let mut out = Vec::new();
    texts(&built(Cli::command()), "mfp-oauth", false, &mut out);
    out.into_iter().map(|(_, t)| t).collect()
}

/// The paragraphs of the English manual, as clap prints them.
fn english_paragraphs() -> BTreeSet<String> {
    english_texts()
        .iter()
        .flat_map(|t| t.split('\n').map(str::trim).map(str::to_owned))
        .filter(|p| p.chars().filter(|c| c.is_alphabetic()).count() >= 8)
        .collect()
}

fn the_tree_has(cmd: &Command, path: &str, paths: &mut BTreeSet<String>) {
    paths.insert(path.to_owned());
    for a in cmd.get_arguments() {
        paths.insert(format!("{path} / {}", a.get_id()));
    }
    for sc in cmd.get_subcommands() {
        the_tree_has(sc, &format!("{path} {}", sc.get_name()), paths);
    }
}

/// `(argument id, value)` of every possible value in the tree.
fn values_of(cmd: &Command, out: &mut BTreeSet<(String, String)>) {
    for a in cmd.get_arguments() {
        for v in a.get_possible_values() {
            out.insert((a.get_id().to_string(), v.get_name().to_owned()));
        }
    }
    for sc in cmd.get_subcommands() {
        values_of(sc, out);
    }
}

/// A new command, option or value cannot ship without its French text.
#[test]
fn every_command_argument_and_value_has_its_french_help() {
    let missing = cli_help_fr::missing();
    assert!(
        missing.is_empty(),
        "add the French texts to host/src/cli_help_fr.rs:\n{}",
        missing.join("\n")
    );
    // And the table names nothing the tool no longer has.
    let mut tree = BTreeSet::new();
    the_tree_has(&Cli::command(), "mfp-oauth", &mut tree);
    for (path, ..) in COMMANDS {
        assert!(tree.contains(*path), "no command `{path}`");
    }
    for (path, id, ..) in ARGS {
        assert!(tree.contains(&format!("{path} / {id}")), "no `{path}` {id}");
    }
    let mut values = BTreeSet::new();
    values_of(&built(Cli::command()), &mut values);
    for (id, value, _) in VALUES {
        assert!(
            values.contains(&((*id).to_owned(), (*value).to_owned())),
            "no value {id}={value}"
        );
    }
    for (en, fr) in VALUE_NAMES {
        assert!(!fr.is_empty(), "{en}");
    }
}

/// Once translated, the French tree holds no text of the English one (the
/// doc comments, clap's `Print help`…), and no French text is empty.
#[test]
fn the_french_tree_keeps_no_english_text() {
    let english = english_texts();
    assert!(english.len() > 40, "{}", english.len());
    let mut french = Vec::new();
    texts(
        &cli_help_fr::command(Lang::Fr),
        "mfp-oauth",
        true,
        &mut french,
    );
    assert!(french.len() >= english.len());
    let left: Vec<_> = french
        .iter()
        .filter(|(_, t)| english.contains(t))
        .map(|(w, t)| format!("{w}: {t:?}"))
        .collect();
    assert!(left.is_empty(), "left in English:\n{}", left.join("\n"));
    // English stays as it was.
    let mut en = Vec::new();
    texts(
        &built(cli_help_fr::command(Lang::En)),
        "mfp-oauth",
        false,
        &mut en,
    );
    assert_eq!(
        en.into_iter().map(|(_, t)| t).collect::<BTreeSet<_>>(),
        english
    );
}

fn help(args: &[&str], lang_env: &str) -> String {
    let o: Output = Process::new(BIN)
        .args(args)
        .env("LANG", lang_env)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?}: {o:?}");
    assert!(o.stderr.is_empty(), "{args:?}: {o:?}");
    String::from_utf8(o.stdout).unwrap()
}

fn assert_french(h: &str, what: &str) {
    assert!(h.contains("Utilisation :"), "{what}:\n{h}");
    assert!(
        h.contains("Afficher l'aide"),
        "{what}: clap's --help line:\n{h}"
    );
    for english in ["Usage:", "Print help", "[default:", "possible values"] {
        assert!(!h.contains(english), "{what}: {english:?} in\n{h}");
    }
    for p in english_paragraphs() {
        assert!(!h.contains(&p), "{what}: English text {p:?} in\n{h}");
    }
}

#[test]
fn lang_fr_help_is_french() {
    let root = help(&["--lang", "fr", "--help"], "C");
    assert_french(&root, "--lang fr --help");
    for t in [
        "Commandes:",
        "Première commande à essayer : `mfp-oauth demo`",
        "Envoyer des fichiers comme une tâche",
        "--store <RÉP>",
        "- fr : français",
        "Afficher la version",
        "help         Afficher ce message ou l'aide",
    ] {
        assert!(root.contains(t), "{t:?} not in\n{root}");
    }
    let send = help(&["--lang", "fr", "send", "--help"], "C");
    assert_french(&send, "--lang fr send --help");
    for t in [
        "Utilisation : mfp-oauth send [OPTIONS] --to <ADRESSE> <FICHIER>...",
        "La politique d'expéditeur de l'imprimante choisit l'adresse From",
        "Destinataire (option répétable)",
        "[par défaut : scan-to-email]",
        "- internet-fax               : Fax Internet",
        "Objet du message [par défaut : \"Scanned document\"]",
    ] {
        assert!(send.contains(t), "{t:?} not in\n{send}");
    }
    // The short help too, and after the command (a global option).
    let short = help(&["send", "-h", "--lang=fr"], "C");
    assert_french(&short, "send -h --lang=fr");
    assert!(short.contains("[valeurs possibles : en, fr]"), "{short}");
    assert!(short.contains("(plus de détails avec '--help')"), "{short}");
    let set = help(&["--lang", "fr", "config", "set", "--help"], "C");
    assert_french(&set, "config set --help");
    assert!(set.contains("<CLÉ> <VALEUR>") && set.contains("Clés : oauth"));
}

#[test]
fn a_french_lang_gives_french_help_and_lang_en_overrides_it() {
    let h = help(&["--help"], "fr_FR.UTF-8");
    assert_french(&h, "LANG=fr_FR.UTF-8 --help");
    let h = help(&["send", "--help"], "fr_FR.UTF-8");
    assert_french(&h, "LANG=fr_FR.UTF-8 send --help");
    let h = help(&["--lang", "en", "send", "--help"], "fr_FR.UTF-8");
    assert!(h.contains("Usage: mfp-oauth send") && h.contains("Recipient (repeatable)"));
    assert!(!h.contains("Utilisation"), "{h}");
    let h = help(&["--help"], "C");
    assert!(h.contains("Usage: mfp-oauth") && h.contains("Commands:"));
}

#[test]
fn the_language_is_read_before_parsing() {
    let lang = |args: &[&str]| {
        let args: Vec<OsString> = std::iter::once("mfp-oauth")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        cli_help_fr::lang_of_args(&args)
    };
    assert!(matches!(lang(&["--lang", "fr", "--help"]), Lang::Fr));
    assert!(matches!(lang(&["send", "--lang=fr", "-h"]), Lang::Fr));
    assert!(matches!(lang(&["--lang", "fr", "--lang", "en"]), Lang::En));
    // Parsing itself still takes the language as before.
    let cli = cli_help_fr::parse_from(["mfp-oauth", "--lang", "fr", "diag", "305"]);
    assert!(matches!(cli.lang, Some(mfp_oauth_host::cli::LangArg::Fr)));
}

/// Issue 15 item 4: the keys of `config set` are the schema's
/// (`core/src/config/schema.rs`): each one is listed in its help, in both
/// languages, and each is accepted by `config set` (no "unknown setting").
#[test]
fn config_set_lists_and_takes_every_key_of_the_schema() {
    let en = Cli::command()
        .find_subcommand_mut("config")
        .and_then(|c| c.find_subcommand_mut("set"))
        .and_then(|c| c.get_long_about().map(|t| t.to_string()))
        .unwrap();
    let fr = COMMANDS
        .iter()
        .find(|(path, _, _)| *path == "mfp-oauth config set")
        .and_then(|(_, _, long)| *long)
        .unwrap();
    for setting in mfp_oauth_core::config::SCHEMA {
        for (lang, text) in [("en", en.as_str()), ("fr", fr)] {
            assert!(
                text.contains(setting.key),
                "{lang}: `config set --help` does not list {}",
                setting.key
            );
        }
        let mut s = mfp_oauth_core::config::Settings::default();
        let r = mfp_oauth_host::cli::set_key(&mut s, setting.key, "", Lang::En);
        assert!(
            !r.as_ref().is_err_and(|e| e.contains("unknown setting")),
            "{}: {r:?}",
            setting.key
        );
    }
}
