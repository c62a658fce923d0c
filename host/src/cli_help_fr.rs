//! `mfp-oauth --help` in French (R-CLI, issue 17): the tool's manual, like
//! every line it prints, follows `--lang` (or LANG).
//!
//! The English manual is clap's, from the doc comments in [`crate::cli`].
//! In French, the command tree is walked before parsing and each text is
//! replaced: the about and long about of every command (keyed by its path,
//! `mfp-oauth config set`), the help of every argument (keyed by the path
//! and the argument's id), the help of every possible value, the value
//! names (`<ADDRESS>` → `<ADRESSE>`), the defaults and possible values
//! (`[par défaut : …]`), the usage heading, the commands' heading, and
//! clap's own texts (`--help`, `--version`, the `help` command). What clap
//! writes itself and cannot be told (`[OPTIONS]`, its error messages) stays
//! as clap writes it. The test host/tests/cli_help.rs fails when a command,
//! argument or value has no French text here.

use crate::cli::Cli;
use clap::builder::{PossibleValue, Str, StyledStr};
use clap::{Arg, Command, CommandFactory, FromArgMatches};
use mfp_oauth_core::diag::Lang;
use std::ffi::OsString;

/// The name of the tool: the root of every command path.
pub const ROOT: &str = "mfp-oauth";

/// `(command path, about, long about)`: a long about where the English
/// command has one (its whole description, the about included).
pub const COMMANDS: &[(&str, &str, Option<&str>)] = &[
    (
        ROOT,
        "Messagerie OAuth 2.0 pour imprimantes multifonctions : outils pour les ingénieurs firmware et support.",
        Some(LONG_ABOUT),
    ),
    (
        "mfp-oauth demo",
        "Jouer une journée d'imprimante contre des serveurs simulés sur 127.0.0.1.",
        Some(
            "Jouer une journée d'imprimante contre des serveurs simulés sur 127.0.0.1.\n\n\
             L'administrateur obtient un jeton avec un code d'appareil, les numérisations \
             partent avec les bons jetons, les jetons expirent et sont actualisés, \
             l'imprimante redémarre, un utilisateur se déconnecte, et un échec 5.7.139 \
             montre sa solution. Ne sort avec 0 que si chaque étape a fait ce qu'elle devait.",
        ),
    ),
    (
        "mfp-oauth login",
        "Se connecter au fournisseur et enregistrer le jeton d'actualisation.",
        Some(
            "Se connecter au fournisseur et enregistrer le jeton d'actualisation.\n\n\
             Celui de l'administrateur (Acquire, par défaut) ou d'un utilisateur (--user). \
             Montre le code d'appareil en texte et en code QR, ou avec --browser affiche \
             l'adresse à ouvrir et attend sur une redirection de bouclage (loopback).",
        ),
    ),
    (
        "mfp-oauth send",
        "Envoyer des fichiers comme une tâche d'une fonction de l'imprimante (numérisation vers e-mail…).",
        Some(
            "Envoyer des fichiers comme une tâche d'une fonction de l'imprimante \
             (numérisation vers e-mail…).\n\n\
             La politique d'expéditeur de l'imprimante choisit l'adresse From et le jeton \
             qui signe, le jeton d'accès est actualisé quand il le faut, et la réponse \
             finale du serveur est affichée. Les gros fichiers montrent une barre de \
             progression.",
        ),
    ),
    (
        "mfp-oauth tokens",
        "Lister ou supprimer les jetons d'actualisation enregistrés.",
        None,
    ),
    (
        "mfp-oauth tokens list",
        "Afficher chaque jeton enregistré et son état.",
        None,
    ),
    (
        "mfp-oauth tokens delete",
        "Supprimer les jetons d'un utilisateur (ou de tous les utilisateurs avec --all).",
        None,
    ),
    (
        "mfp-oauth power-cycle",
        "Simuler une coupure d'alimentation et montrer ce qui y survit.",
        Some(
            "Simuler une coupure d'alimentation et montrer ce qui y survit.\n\n\
             Les jetons d'accès ne vivent qu'en RAM et sont perdus ; les jetons \
             d'actualisation sont dans l'image de persistance et restent.",
        ),
    ),
    (
        "mfp-oauth logout",
        "Un utilisateur se déconnecte (avec la suppression automatique activée, ses jetons partent aussi).",
        None,
    ),
    (
        "mfp-oauth config",
        "Afficher, modifier ou vérifier les réglages.",
        None,
    ),
    ("mfp-oauth config show", "Afficher les réglages.", None),
    (
        "mfp-oauth config set",
        "Modifier un réglage (refusé si une règle n'était plus respectée).",
        Some(
            "Modifier un réglage (refusé si une règle n'était plus respectée).\n\n\
             Clés : oauth, admin-address, provider, microsoft-cloud \
             (global|us-gov-gcc-high|us-gov-dod|china), tenant, client-id, token-url, \
             device-url, authorize-url, scope, smtp (hôte:port), smtp-security \
             (starttls|implicit), sender-mode (login-user|allow-changes|admin-fixed|bulk), \
             bulk-address, send-as (adresses admises comme From en plus du compte qui \
             signe : a,b remplace la liste, +a ajoute, -a retire, none vide la liste), \
             proxy (hôte:port|none ; un nouvel hôte:port garde l'utilisateur et le mot de \
             passe du proxy), proxy-user, proxy-password (jamais affiché), tls-min, tls-max \
             (1.0|1.1|1.2|1.3), webdav-http (1.1|2), vlan, auto-delete, google-app-testing \
             (on|off), refresh-margin (secondes avant l'expiration où un jeton d'accès est \
             renouvelé : de 60 à 1800, 600 par défaut), admin-sign-in \
             (delegated|app-certificate|service-account|app-secret : comment le jeton de \
             l'administrateur est obtenu), certificate-thumbprint (SHA-256 du certificat de \
             l'application), service-account (adresse du compte de service Google), \
             client-secret (en tant qu'application avec un secret ; jamais affiché ; none le \
             retire), transport (smtp|graph|gmail-api : SMTP, ou l'API Microsoft Graph ou \
             Gmail en HTTPS, sans SMTP AUTH), api-url (l'URL https de base de l'API de \
             messagerie à la place de celle du fournisseur ; \"\" l'efface).",
        ),
    ),
    (
        "mfp-oauth config check",
        "Vérifier chaque règle de configuration et si l'imprimante peut envoyer.",
        None,
    ),
    (
        "mfp-oauth doctor",
        "Vérifier le chemin vers le serveur SMTP et le point de terminaison des jetons.",
        Some(
            "Vérifier le chemin vers le serveur SMTP et le point de terminaison des jetons.\n\n\
             Indique les règles de configuration, les versions de TLS et l'ALPN, les \
             mécanismes SASL proposés après STARTTLS, si le jeton de l'administrateur est \
             accepté, et pour chaque échec le diagnostic et sa solution.",
        ),
    ),
    (
        "mfp-oauth reset",
        "Effacer l'état de l'imprimante (les réglages et tous les jetons) dans le répertoire de stockage.",
        Some(
            "Effacer l'état de l'imprimante (les réglages et tous les jetons) dans le \
             répertoire de stockage.\n\n\
             Le moyen d'en sortir quand l'état enregistré ne peut pas être chargé (E505, \
             E506, E507, E510) : rien n'est lu, les fichiers d'emplacement et la clé de \
             l'appareil sont supprimés, et la commande suivante repart des réglages par \
             défaut. Demande confirmation sur un terminal ; ailleurs --yes est obligatoire.",
        ),
    ),
    (
        "mfp-oauth diag",
        "Expliquer un diagnostic (`mfp-oauth diag 305`), ou les lister tous.",
        None,
    ),
];

/// The root command's long about (the English one is `cli::LONG_ABOUT`).
const LONG_ABOUT: &str = "\
mfp-oauth : le cœur de messagerie OAuth 2.0 d'une imprimante multifonction, sur un poste de travail.

Il exécute le code même de l'imprimante (le cœur mfp-oauth : les réglages et leurs
règles, la politique d'expéditeur, le stockage des jetons, SMTP avec
XOAUTH2/OAUTHBEARER, le point de terminaison des jetons) avec de vrais pilotes
réseau, pour que les ingénieurs firmware puissent l'évaluer et que les ingénieurs
support puissent reproduire la panne d'un client avec un vrai locataire (tenant).

L'état de l'imprimante (réglages et jetons d'actualisation, scellés) est dans le
répertoire de stockage : --store, ou le répertoire de configuration de la
plateforme (~/.config/mfp-oauth sous Linux). Les jetons d'accès ne sont jamais
écrits sur le disque.

Première commande à essayer : `mfp-oauth demo` (sans compte ni réseau).";

/// `(command path, argument id, help, long help)`. A global argument is
/// keyed by the command that declares it (the root).
pub const ARGS: &[(&str, &str, &str, Option<&str>)] = &[
    (
        ROOT,
        "lang",
        "Langue des messages et des diagnostics (par défaut : d'après LANG, sinon en).",
        None,
    ),
    (
        ROOT,
        "store",
        "Répertoire de l'état de l'imprimante (réglages, jetons d'actualisation scellés).",
        None,
    ),
    (
        ROOT,
        "ca_files",
        "Certificat(s) d'AC supplémentaire(s) de confiance, en PEM (option répétable) : une \
         AC privée ou un proxy qui inspecte TLS. Les racines de Mozilla restent toujours \
         de confiance.",
        None,
    ),
    (
        "mfp-oauth demo",
        "json",
        "Afficher des lignes JSON (un événement par ligne) au lieu du récit.",
        None,
    ),
    (
        "mfp-oauth login",
        "provider",
        "Le fournisseur (met à jour les réglages).",
        None,
    ),
    (
        "mfp-oauth login",
        "tenant",
        "Locataire (tenant) Microsoft : organizations, common, consumers, un domaine ou un identifiant.",
        None,
    ),
    (
        "mfp-oauth login",
        "client_id",
        "L'identifiant client (client id) de l'inscription de l'application.",
        None,
    ),
    (
        "mfp-oauth login",
        "token_url",
        "URL du point de terminaison des jetons : celle d'un fournisseur personnalisé, ou une substitution à celle du préréglage (cloud national, passerelle, locataire de test).",
        None,
    ),
    (
        "mfp-oauth login",
        "device_url",
        "URL du point de terminaison d'autorisation d'appareil : celle d'un fournisseur personnalisé, ou une substitution à celle du préréglage.",
        None,
    ),
    (
        "mfp-oauth login",
        "authorize_url",
        "URL du point de terminaison d'autorisation (connexion par le navigateur) : celle d'un fournisseur personnalisé, ou une substitution à celle du préréglage.",
        None,
    ),
    (
        "mfp-oauth login",
        "scope",
        "Fournisseur personnalisé : portées (scopes), séparées par des espaces.",
        None,
    ),
    (
        "mfp-oauth login",
        "admin",
        "Se connecter en tant qu'administrateur (par défaut).",
        None,
    ),
    (
        "mfp-oauth login",
        "user",
        "Se connecter en tant que cet utilisateur (nom de connexion).",
        None,
    ),
    (
        "mfp-oauth login",
        "account",
        "Le compte avec lequel se connecter (par défaut : l'adresse de l'administrateur).",
        None,
    ),
    (
        "mfp-oauth login",
        "browser",
        "Se connecter par le navigateur (PKCE, redirection de bouclage) au lieu du code d'appareil.",
        None,
    ),
    (
        "mfp-oauth login",
        "app_only",
        "Microsoft en tant qu'application pour la boîte aux lettres de l'administrateur : l'octroi client credentials avec un certificat (sa clé privée dans --key, le certificat dans --certificate ou son SHA-256 dans --thumbprint), ou avec le secret client de l'application (--secret-file). Personne ne se connecte.",
        None,
    ),
    (
        "mfp-oauth login",
        "secret_file",
        "Le secret client de l'inscription de l'application, lu dans ce fichier, pour --app-only (scellé dans l'état de l'imprimante, jamais affiché).",
        None,
    ),
    (
        "mfp-oauth login",
        "key",
        "La clé privée du certificat (PEM) pour --app-only.",
        None,
    ),
    (
        "mfp-oauth login",
        "certificate",
        "Le certificat téléversé dans l'inscription de l'application (PEM ou DER), pour son empreinte.",
        None,
    ),
    (
        "mfp-oauth login",
        "thumbprint",
        "L'empreinte SHA-256 du certificat (hexadécimal, ou base64).",
        None,
    ),
    (
        "mfp-oauth login",
        "service_account",
        "Un compte de service Google Workspace (son fichier de clé JSON) agissant pour la boîte aux lettres de l'administrateur par délégation à l'échelle du domaine.",
        None,
    ),
    (
        "mfp-oauth send",
        "function",
        "La fonction de l'imprimante à laquelle appartient la tâche.",
        None,
    ),
    (
        "mfp-oauth send",
        "to",
        "Destinataire (option répétable).",
        None,
    ),
    (
        "mfp-oauth send",
        "from",
        "L'adresse From saisie par l'utilisateur (admise avec « autoriser les modifications de l'utilisateur »).",
        None,
    ),
    (
        "mfp-oauth send",
        "user",
        "Le nom de connexion de l'utilisateur connecté.",
        None,
    ),
    (
        "mfp-oauth send",
        "user_address",
        "L'adresse enregistrée de l'utilisateur connecté.",
        None,
    ),
    ("mfp-oauth send", "subject", "Objet du message.", None),
    (
        "mfp-oauth send",
        "sign_in",
        "Laisser un utilisateur sans jeton se connecter maintenant (code d'appareil), comme le ferait le panneau.",
        None,
    ),
    (
        "mfp-oauth send",
        "handed_token",
        "Un jeton d'accès fourni par un serveur de gestion d'impression, pour cette exécution (un jeton d'accès ne survit jamais au processus) : un fichier avec la réponse JSON de son point de terminaison de jetons ou le jeton seul. Il va à l'emplacement de l'utilisateur avec --user (pour --user-address), sinon à celui de l'administrateur (pour l'adresse de l'administrateur).",
        None,
    ),
    (
        "mfp-oauth send",
        "handed_expires_in",
        "Durée de vie du jeton fourni, en secondes (nécessaire pour un jeton seul ; remplace le expires_in de la réponse).",
        None,
    ),
    (
        "mfp-oauth send",
        "files",
        "Les fichiers à joindre.",
        None,
    ),
    (
        "mfp-oauth tokens delete",
        "name",
        "Le nom de connexion de l'utilisateur.",
        None,
    ),
    (
        "mfp-oauth tokens delete",
        "all",
        "Supprimer les jetons de tous les utilisateurs.",
        None,
    ),
    (
        "mfp-oauth logout",
        "name",
        "Le nom de connexion de l'utilisateur.",
        None,
    ),
    ("mfp-oauth config set", "key", "Le réglage.", None),
    ("mfp-oauth config set", "value", "Sa nouvelle valeur.", None),
    (
        "mfp-oauth reset",
        "yes",
        "Effacer sans demander.",
        None,
    ),
    (
        "mfp-oauth diag",
        "id",
        "Le numéro affiché sur le panneau ou dans le journal.",
        None,
    ),
];

/// `(argument id, value, help)`: the help of each possible value.
pub const VALUES: &[(&str, &str, &str)] = &[
    ("lang", "en", "anglais"),
    ("lang", "fr", "français"),
    ("provider", "microsoft", "Microsoft 365"),
    ("provider", "google", "Google Workspace / Gmail"),
    (
        "provider",
        "custom",
        "Tout fournisseur conforme aux normes (donner les URL)",
    ),
    ("function", "scan-to-email", "Numérisation vers e-mail"),
    ("function", "scan-to-me", "Numérisation vers moi"),
    ("function", "scan-to-url", "Numérisation vers URL"),
    ("function", "internet-fax", "Fax Internet"),
    (
        "function",
        "email-from-user-box",
        "E-mail depuis une boîte utilisateur",
    ),
    (
        "function",
        "email-from-openapi",
        "E-mail depuis une application OpenAPI/IWS",
    ),
    (
        "function",
        "email-notification",
        "Notification par e-mail (fonction de l'administrateur)",
    ),
    (
        "function",
        "total-counter-notification",
        "Notification du compteur total (fonction de l'administrateur)",
    ),
    (
        "function",
        "forward-transmission",
        "Transfert des transmissions (fonction de l'administrateur)",
    ),
    (
        "function",
        "tsi-routing",
        "Routage TSI (fonction de l'administrateur)",
    ),
    (
        "function",
        "status-notification",
        "Notification d'état (fonction de l'administrateur)",
    ),
    (
        "function",
        "transmission-result-report",
        "Rapport de résultat de transmission (fonction de l'administrateur)",
    ),
];

/// `(English, French)` value names as the usage lines show them
/// (`--account <ADDRESS>`); a name that reads the same in both is listed
/// as such.
pub const VALUE_NAMES: &[(&str, &str)] = &[
    ("LANG", "LANGUE"),
    ("DIR", "RÉP"),
    ("PEM", "PEM"),
    ("PROVIDER", "FOURNISSEUR"),
    ("TENANT", "LOCATAIRE"),
    ("CLIENT_ID", "ID_CLIENT"),
    ("TOKEN_URL", "URL_JETONS"),
    ("DEVICE_URL", "URL_APPAREIL"),
    ("AUTHORIZE_URL", "URL_AUTORISATION"),
    ("SCOPE", "PORTÉES"),
    ("NAME", "NOM"),
    ("SECONDS", "SECONDES"),
    ("ADDRESS", "ADRESSE"),
    ("FUNCTION", "FONCTION"),
    ("SUBJECT", "OBJET"),
    ("FILE", "FICHIER"),
    ("KEY", "CLÉ"),
    ("SHA256", "SHA256"),
    ("KEY_JSON", "CLÉ_JSON"),
    ("VALUE", "VALEUR"),
    ("ID", "ID"),
    ("COMMAND", "COMMANDE"),
];

/// clap's own texts (`--help`, `--version`, the `help` command), wherever
/// they appear.
pub const CLAP_TEXTS: &[(&str, &str)] = &[
    (
        "Print help (see more with '--help')",
        "Afficher l'aide (plus de détails avec '--help')",
    ),
    (
        "Print help (see a summary with '-h')",
        "Afficher l'aide (un résumé avec '-h')",
    ),
    ("Print help", "Afficher l'aide"),
    ("Print version", "Afficher la version"),
    (
        "Print this message or the help of the given subcommand(s)",
        "Afficher ce message ou l'aide de la ou des sous-commandes données",
    ),
    (
        "Print help for the subcommand(s)",
        "Afficher l'aide de la ou des sous-commandes",
    ),
];

fn command_text(path: &str) -> Option<(&'static str, Option<&'static str>)> {
    COMMANDS
        .iter()
        .find(|(p, ..)| *p == path)
        .map(|&(_, about, long)| (about, long))
}

fn arg_text(path: &str, id: &str) -> Option<(&'static str, Option<&'static str>)> {
    ARGS.iter()
        .find(|(p, i, ..)| *p == path && *i == id)
        .map(|&(_, _, help, long)| (help, long))
}

fn value_text(id: &str, value: &str) -> Option<&'static str> {
    VALUES
        .iter()
        .find(|(i, v, _)| *i == id && *v == value)
        .map(|&(.., help)| help)
}

fn value_name(en: &str) -> Option<&'static str> {
    VALUE_NAMES
        .iter()
        .find(|(e, _)| *e == en)
        .map(|&(_, fr)| fr)
}

/// A French summary punctuated like its English one: clap drops the final
/// period of a doc comment's first paragraph (`Recipient (repeatable)`).
fn like(en: Option<&StyledStr>, fr: &'static str) -> &'static str {
    match en {
        Some(en) if !en.to_string().ends_with('.') => fr.strip_suffix('.').unwrap_or(fr),
        _ => fr,
    }
}

/// The values an argument takes, if it names them (before the tree is
/// built, when clap's `Arg::get_possible_values` knows none yet).
fn possible_values(a: &Arg) -> Vec<PossibleValue> {
    if !a.get_action().takes_values() {
        return Vec::new();
    }
    a.get_value_parser()
        .possible_values()
        .map(Iterator::collect)
        .unwrap_or_default()
}

fn clap_text(en: &str) -> Option<&'static str> {
    CLAP_TEXTS.iter().find(|(e, _)| *e == en).map(|&(_, fr)| fr)
}

/// The language of the manual, before the command line is parsed: the last
/// `--lang en|fr` (or `--lang=…`) before a `--`, else the environment, as
/// for the tool's messages.
pub fn lang_of_args(args: &[OsString]) -> Lang {
    let mut chosen = None;
    let mut it = args.iter().skip(1).map(|a| a.to_str());
    while let Some(a) = it.next() {
        let value = match a {
            Some("--") => break,
            Some("--lang") => it.next().flatten(),
            Some(a) => a.strip_prefix("--lang="),
            None => None,
        };
        match value {
            Some("fr") => chosen = Some(Lang::Fr),
            Some("en") => chosen = Some(Lang::En),
            _ => {}
        }
    }
    chosen.unwrap_or_else(crate::cli::lang_from_env)
}

/// The command tree of the tool, its manual in `lang`.
pub fn command(lang: Lang) -> Command {
    let cmd = Cli::command();
    if !matches!(lang, Lang::Fr) {
        return cmd;
    }
    // The tool's own texts first, so that the global arguments are copied
    // into the subcommands in French; then clap adds its `--help`,
    // `--version` and `help` command, translated next.
    let mut cmd = translate(cmd, ROOT);
    cmd.build();
    clap_own(cmd)
}

/// Parse the command line (`std::env::args_os`), with `--help` in the
/// language the command line asks for; exits as clap does on `--help`,
/// `--version` or an error.
pub fn parse() -> Cli {
    parse_from(std::env::args_os())
}

/// [`parse`] for given arguments (the first is the program's name).
pub fn parse_from<I, T>(args: I) -> Cli
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut cmd = command(lang_of_args(&args));
    let mut matches = cmd
        .try_get_matches_from_mut(args)
        .unwrap_or_else(|e| e.exit());
    Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.format(&mut cmd).exit())
}

fn translate(cmd: Command, path: &str) -> Command {
    let mut cmd = cmd;
    if let Some((about, long)) = command_text(path) {
        let about = like(cmd.get_about(), about);
        cmd = cmd.about(about);
        if cmd.get_long_about().is_some() {
            cmd = cmd.long_about(long);
        }
    }
    cmd.mut_args(|a| translate_arg(a, path))
        .mut_subcommands(|sc| {
            let path = format!("{path} {}", sc.get_name());
            translate(sc, &path)
        })
}

fn translate_arg(a: Arg, path: &str) -> Arg {
    let id = a.get_id().as_str().to_owned();
    let mut a = a;
    let (mut help, mut long) = match arg_text(path, &id) {
        Some((help, long)) => (
            like(a.get_help(), help).to_owned(),
            a.get_long_help().and(long).map(str::to_owned),
        ),
        None => (
            a.get_help().map(ToString::to_string).unwrap_or_default(),
            a.get_long_help().map(ToString::to_string),
        ),
    };
    a = french_value_names(a);
    // clap writes `[default: …]` and `[possible values: …]` itself: the
    // French ones are written into the help instead.
    let takes_value = a.get_action().takes_values();
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .map(|d| {
            if d.contains(char::is_whitespace) {
                format!("\"{d}\"")
            } else {
                d
            }
        })
        .collect();
    if takes_value && !defaults.is_empty() && !a.is_hide_default_value_set() {
        let d = format!("[par défaut : {}]", defaults.join(" "));
        help = format!("{help} {d}");
        long = long.map(|l| format!("{l}\n\n{d}"));
        a = a.hide_default_value(true);
    }
    let values: Vec<_> = possible_values(&a)
        .into_iter()
        .filter(|v| !v.is_hide_set())
        .collect();
    if !values.is_empty() && !a.is_hide_possible_values_set() {
        let names: Vec<&str> = values.iter().map(|v| v.get_name()).collect();
        let list = format!("[valeurs possibles : {}]", names.join(", "));
        if values.iter().any(|v| v.get_help().is_some()) {
            let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
            let mut section = String::from("Valeurs possibles :");
            for v in &values {
                let text = match value_text(&id, v.get_name()) {
                    Some(t) => t.to_owned(),
                    None => v.get_help().map(ToString::to_string).unwrap_or_default(),
                };
                section.push_str(&format!("\n- {:width$} : {text}", v.get_name()));
            }
            long = Some(format!("{}\n\n{section}", long.as_deref().unwrap_or(&help)));
        }
        help = format!("{help} {list}");
        a = a.hide_possible_values(true);
    }
    a = a.help(help);
    if let Some(long) = long {
        a = a.long_help(long);
    }
    a
}

/// `a` with its value names in French (`<ADDRESS>` → `<ADRESSE>`).
fn french_value_names(a: Arg) -> Arg {
    let Some(names) = a.get_value_names() else {
        return a;
    };
    let names: Vec<Str> = names
        .iter()
        .map(|n| value_name(n.as_str()).map_or_else(|| n.clone(), Str::from))
        .collect();
    a.value_names(names)
}

/// clap's texts in the built tree (every command has its `--help`, the root
/// its `--version`, a command with subcommands its `help`), the usage and
/// commands headings.
fn clap_own(cmd: Command) -> Command {
    let mut cmd = cmd;
    if let Some(fr) = cmd.get_about().and_then(|a| clap_text(&a.to_string())) {
        cmd = cmd.about(fr);
    }
    let style = *cmd.get_styles().get_usage();
    let has_args = cmd.get_arguments().any(|a| !a.is_hide_set());
    let has_commands = cmd.get_subcommands().any(|c| !c.is_hide_set());
    let body = if has_args || has_commands {
        "\n\n{all-args}{after-help}"
    } else {
        "{after-help}"
    };
    cmd = cmd.help_template(format!(
        "{{before-help}}{{about-with-newline}}\n{style}Utilisation :{style:#} {{usage}}{body}"
    ));
    if cmd.has_subcommands() {
        cmd = cmd
            .subcommand_help_heading("Commandes")
            .subcommand_value_name("COMMANDE");
    }
    cmd.mut_args(|a| {
        let mut a = a;
        if let Some(fr) = a.get_help().and_then(|h| clap_text(&h.to_string())) {
            a = a.help(fr);
        }
        if let Some(fr) = a.get_long_help().and_then(|h| clap_text(&h.to_string())) {
            a = a.long_help(fr);
        }
        french_value_names(a)
    })
    .mut_subcommands(clap_own)
}

/// What the French manual lacks: every command, argument, possible value
/// and value name of the English tree (`Cli::command()`, before clap adds
/// its own) without a French text here, one line each.
pub fn missing() -> Vec<String> {
    let mut out = Vec::new();
    missing_in(&Cli::command(), ROOT, &mut out);
    out
}

fn missing_in(cmd: &Command, path: &str, out: &mut Vec<String>) {
    match command_text(path) {
        None => out.push(format!("command `{path}`: no French about")),
        Some((_, None)) if cmd.get_long_about().is_some() => {
            out.push(format!("command `{path}`: no French long about"));
        }
        Some(_) => {}
    }
    for a in cmd.get_arguments() {
        let id = a.get_id().as_str();
        if a.get_help().is_some() {
            match arg_text(path, id) {
                None => out.push(format!("`{path}` argument {id}: no French help")),
                Some((_, None)) if a.get_long_help().is_some() => {
                    out.push(format!("`{path}` argument {id}: no French long help"));
                }
                Some(_) => {}
            }
        }
        for v in possible_values(a) {
            if v.get_help().is_some() && value_text(id, v.get_name()).is_none() {
                out.push(format!(
                    "`{path}` argument {id}: no French help for the value {}",
                    v.get_name()
                ));
            }
        }
        let names = match a.get_action().takes_values() {
            true => a.get_value_names().unwrap_or_default(),
            false => &[],
        };
        for n in names {
            if value_name(n.as_str()).is_none() {
                out.push(format!(
                    "`{path}` argument {id}: no French value name for {n}"
                ));
            }
        }
    }
    for sc in cmd.get_subcommands() {
        missing_in(sc, &format!("{path} {}", sc.get_name()), out);
    }
}
