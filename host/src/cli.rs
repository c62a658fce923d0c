//! The `mfp-oauth` command line: argument definitions and the commands.
//! Each command opens the printer state ([`crate::app::Device`]) from the
//! store directory, does one thing with the real drivers, and reports with
//! the core's diagnostics (English or French).

use crate::app::job::{self, JobEvent, JobSpec};
use crate::app::signin::{self, FlowError, Prompt};
use crate::app::{AppError, ApplyError, Device};
use crate::catalogue::describe;
use crate::clock::{Clock, SystemClock};
use crate::driver::smtp::{self as smtp_driver, Hooks, SmtpEndpoint};
use crate::mime::{self, Attachment, Composition};
use crate::net::{Connection, NetOptions};
use crate::story::Format;
use crate::tls::{load_ca_file, TlsSettings};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use mfp_oauth_core::config::{
    by_key, ConfigError, Kind, ProviderKind, Proxy as CfgProxy, SetError, Setting, Settings,
    SmtpServer, Value, SCHEMA,
};
use mfp_oauth_core::diag::{Diagnostic, Id, Lang};
use mfp_oauth_core::function::Function;
use mfp_oauth_core::mailer::{AuthMethod, Plan, RefreshOutcome};
use mfp_oauth_core::policy::User;
use mfp_oauth_core::provider::{Endpoint, Provider, Tenant};
use mfp_oauth_core::smtp::{MechanismPreference, Security};
use mfp_oauth_core::token::{TokenOwner, TokenStatus, UserId};
use mfp_oauth_core::Address;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

// The tool's output goes through these instead of std's macros, which
// panic when the reader has gone (`mfp-oauth diag | head -1`, issue 17):
// what nobody reads any more is dropped and the command finishes normally.
macro_rules! print {
    ($($a:tt)*) => { emit(false, format_args!($($a)*), false) };
}
macro_rules! println {
    () => { emit(false, format_args!(""), true) };
    ($($a:tt)*) => { emit(false, format_args!($($a)*), true) };
}
macro_rules! eprint {
    ($($a:tt)*) => { emit(true, format_args!($($a)*), false) };
}
macro_rules! eprintln {
    () => { emit(true, format_args!(""), true) };
    ($($a:tt)*) => { emit(true, format_args!($($a)*), true) };
}

/// Write to stdout (or stderr with `to_stderr`); a closed pipe or any other
/// write error drops the text (there is nowhere left to report it).
fn emit(to_stderr: bool, args: std::fmt::Arguments<'_>, newline: bool) {
    fn write(mut w: impl Write, args: std::fmt::Arguments<'_>, newline: bool) {
        let _ = w
            .write_fmt(args)
            .and_then(|()| if newline { w.write_all(b"\n") } else { Ok(()) })
            .and_then(|()| w.flush());
    }
    if to_stderr {
        write(std::io::stderr().lock(), args, newline);
    } else {
        write(std::io::stdout().lock(), args, newline);
    }
}

/// A text of the tool in `lang` (the diagnostics have their own catalogue).
mod app_only;

fn tr(lang: Lang, en: &'static str, fr: &'static str) -> &'static str {
    match lang {
        Lang::Fr => fr,
        _ => en,
    }
}

const LONG_ABOUT: &str = "\
mfp-oauth: the OAuth 2.0 e-mail core of a multifunction printer, on a workstation.

It runs the printer's own code (the mfp-oauth core: settings and their rules,
sender policy, token store, SMTP with XOAUTH2/OAUTHBEARER, the token endpoint)
with real network drivers, so firmware engineers can evaluate it and support
engineers can reproduce a customer's failure against a real tenant.

The printer state (settings and refresh tokens, sealed) lives in the store
directory: --store, or the platform's configuration directory
(~/.config/mfp-oauth on Linux). Access tokens are never written to disk.

First command to try: `mfp-oauth demo` (no account, no network needed).";

/// OAuth 2.0 e-mail for multifunction printers: tools for firmware and
/// support engineers.
#[derive(Debug, Parser)]
#[command(name = "mfp-oauth", version, about, long_about = LONG_ABOUT)]
pub struct Cli {
    /// Language of messages and diagnostics (default: from LANG, else en).
    #[arg(long, value_enum, global = true)]
    pub lang: Option<LangArg>,
    /// Directory of the printer state (settings, sealed refresh tokens).
    #[arg(long, global = true, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Extra CA certificate(s) to trust, PEM (repeatable): a private CA or a
    /// TLS-inspecting proxy. The Mozilla roots are always trusted too.
    #[arg(long = "ca-file", global = true, value_name = "PEM")]
    pub ca_files: Vec<PathBuf>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Message language.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LangArg {
    /// English.
    En,
    /// French.
    Fr,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Play a printer's day against simulated servers on 127.0.0.1.
    ///
    /// The administrator acquires a token with a device code, scans go out
    /// with the right tokens, tokens expire and refresh, the printer
    /// restarts, a user logs out, and a 5.7.139 failure shows its remedy.
    /// Exits 0 only if every step did what it should.
    Demo {
        /// Print JSON lines (one event per line) instead of the story.
        #[arg(long)]
        json: bool,
    },
    /// Sign in to the provider and store the refresh token.
    ///
    /// The administrator's (Acquire, the default) or a user's (--user).
    /// Shows the device code as text and as a QR code, or with --browser
    /// prints the address to open and waits on a loopback redirect.
    Login(LoginArgs),
    /// Send files as a job of a printer function (scan to e-mail…).
    ///
    /// The printer's sender policy picks the From address and whose token
    /// signs, the access token is refreshed when needed, and the server's
    /// final reply is printed. Large files show a progress bar.
    Send(SendArgs),
    /// List or delete the stored refresh tokens.
    Tokens {
        /// What to do.
        #[command(subcommand)]
        action: TokensAction,
    },
    /// Simulate a power cycle and show what survives it.
    ///
    /// Access tokens live in RAM only and are lost; refresh tokens are in
    /// the persistence image and stay.
    PowerCycle,
    /// A user logs out (with automatic deletion on, the tokens go too).
    Logout {
        /// The user's login name.
        name: String,
    },
    /// Show, change or check the settings.
    Config {
        /// What to do.
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Check the path to the SMTP server and the token endpoint.
    ///
    /// Reports the configuration rules, TLS versions and ALPN, the SASL
    /// mechanisms offered after STARTTLS, whether the administrator's token
    /// is accepted, and the diagnostic with its remedy for each failure.
    Doctor,
    /// Erase the printer state (settings and every token) in the store
    /// directory.
    ///
    /// The way out when the saved state cannot be loaded (E505, E506, E507,
    /// E510): nothing is read, the slot files and the device key are
    /// removed, and the next command starts from the default settings.
    /// Asks for confirmation on a terminal; elsewhere --yes is required.
    Reset {
        /// Erase without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Explain a diagnostic id (`mfp-oauth diag 305`), or list them all.
    Diag {
        /// The number shown on the panel or in the log.
        id: Option<u16>,
    },
}

/// `login` options.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The provider (updates the settings).
    #[arg(long, value_enum)]
    pub provider: Option<ProviderArg>,
    /// Microsoft tenant: organizations, common, consumers, a domain or id.
    #[arg(long)]
    pub tenant: Option<String>,
    /// The app registration's client id.
    #[arg(long)]
    pub client_id: Option<String>,
    /// Token endpoint URL: a custom provider's, or an override of the
    /// preset's (a national cloud, a gateway, a test tenant).
    #[arg(long)]
    pub token_url: Option<String>,
    /// Device authorization endpoint URL: a custom provider's, or an
    /// override of the preset's.
    #[arg(long)]
    pub device_url: Option<String>,
    /// Authorization endpoint URL (browser flow): a custom provider's, or
    /// an override of the preset's.
    #[arg(long)]
    pub authorize_url: Option<String>,
    /// Custom provider: scopes, space-separated.
    #[arg(long)]
    pub scope: Option<String>,
    /// Sign in as the administrator (the default).
    #[arg(long, conflicts_with = "user")]
    pub admin: bool,
    /// Sign in as this user (login name).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// The account to sign in as (default: the administrator address).
    #[arg(long, value_name = "ADDRESS")]
    pub account: Option<String>,
    /// Use the browser flow (PKCE, loopback redirect) instead of the device code.
    #[arg(long)]
    pub browser: bool,
    /// Microsoft app-only for the administrator's mailbox: the client
    /// credentials grant with a certificate (its private key in --key, the
    /// certificate in --certificate or its SHA-256 in --thumbprint), or
    /// with the app's client secret (--secret-file). No one signs in.
    #[arg(long, conflicts_with_all = ["user", "browser", "service_account"])]
    pub app_only: bool,
    /// The app registration's client secret, read from this file, for
    /// --app-only (sealed in the printer's state, never shown).
    #[arg(
        long,
        value_name = "FILE",
        requires = "app_only",
        conflicts_with = "key"
    )]
    pub secret_file: Option<PathBuf>,
    /// The certificate's private key (PEM) for --app-only.
    #[arg(long, value_name = "FILE", requires = "app_only")]
    pub key: Option<PathBuf>,
    /// The certificate uploaded to the app registration (PEM or DER), for
    /// its thumbprint.
    #[arg(
        long,
        value_name = "FILE",
        requires = "app_only",
        conflicts_with = "thumbprint"
    )]
    pub certificate: Option<PathBuf>,
    /// The certificate's SHA-256 thumbprint (hexadecimal, or base64).
    #[arg(long, value_name = "SHA256", requires = "app_only")]
    pub thumbprint: Option<String>,
    /// A Google Workspace service account (its JSON key file) acting for the
    /// administrator's mailbox by domain-wide delegation.
    #[arg(long, value_name = "KEY_JSON", conflicts_with_all = ["user", "browser"])]
    pub service_account: Option<PathBuf>,
}

/// Providers.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProviderArg {
    /// Microsoft 365.
    Microsoft,
    /// Google Workspace / Gmail.
    Google,
    /// Any standards-compliant provider (give the URLs).
    Custom,
}

/// Printer functions that send mail.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FunctionArg {
    /// Scan to E-mail.
    ScanToEmail,
    /// Scan to Me.
    ScanToMe,
    /// Scan to URL.
    ScanToUrl,
    /// Internet fax.
    InternetFax,
    /// E-mail from a user box.
    EmailFromUserBox,
    /// E-mail from an OpenAPI/IWS application.
    EmailFromOpenapi,
    /// E-mail notification (administrator function).
    EmailNotification,
    /// Total counter notification (administrator function).
    TotalCounterNotification,
    /// Forward transmission (administrator function).
    ForwardTransmission,
    /// TSI routing (administrator function).
    TsiRouting,
    /// Status notification (administrator function).
    StatusNotification,
    /// Transmission result report (administrator function).
    TransmissionResultReport,
}

impl From<FunctionArg> for Function {
    fn from(f: FunctionArg) -> Self {
        match f {
            FunctionArg::ScanToEmail => Function::ScanToEmail,
            FunctionArg::ScanToMe => Function::ScanToMe,
            FunctionArg::ScanToUrl => Function::ScanToUrl,
            FunctionArg::InternetFax => Function::InternetFax,
            FunctionArg::EmailFromUserBox => Function::EmailFromUserBox,
            FunctionArg::EmailFromOpenapi => Function::EmailFromOpenApi,
            FunctionArg::EmailNotification => Function::EmailNotification,
            FunctionArg::TotalCounterNotification => Function::TotalCounterNotification,
            FunctionArg::ForwardTransmission => Function::ForwardTransmission,
            FunctionArg::TsiRouting => Function::TsiRouting,
            FunctionArg::StatusNotification => Function::StatusNotification,
            FunctionArg::TransmissionResultReport => Function::TransmissionResultReport,
        }
    }
}

/// `send` options.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The printer function the job belongs to.
    #[arg(long, value_enum, default_value = "scan-to-email")]
    pub function: FunctionArg,
    /// Recipient (repeatable).
    #[arg(long, required = true, value_name = "ADDRESS")]
    pub to: Vec<String>,
    /// The From address the user enters (allowed in "allow user changes").
    #[arg(long, value_name = "ADDRESS")]
    pub from: Option<String>,
    /// The logged-in user's login name.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// The logged-in user's registered address.
    #[arg(long, value_name = "ADDRESS", requires = "user")]
    pub user_address: Option<String>,
    /// Subject line.
    #[arg(long, default_value = "Scanned document")]
    pub subject: String,
    /// Let a user without a token sign in now (device code), as the panel would.
    #[arg(long)]
    pub sign_in: bool,
    /// An access token handed in by a print-management server, for this
    /// run (access tokens never outlive the process): a file with its
    /// token endpoint's JSON answer or the bare token. It goes to the
    /// user's slot with --user (for --user-address), else to the
    /// administrator's (for the administrator address).
    #[arg(long, value_name = "FILE")]
    pub handed_token: Option<PathBuf>,
    /// How long the handed-in token lives, in seconds (needed for a bare
    /// token; overrides the answer's expires_in).
    #[arg(long, value_name = "SECONDS", requires = "handed_token")]
    pub handed_expires_in: Option<u64>,
    /// The files to attach.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// `tokens` actions.
#[derive(Debug, Subcommand)]
pub enum TokensAction {
    /// Show every stored token and its status.
    List,
    /// Delete a user's tokens (or every user's with --all).
    Delete {
        /// The user's login name.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        name: Option<String>,
        /// Delete every user's tokens.
        #[arg(long)]
        all: bool,
    },
}

/// `config` actions.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the settings.
    Show,
    /// Change one setting (refused if a rule would be broken).
    ///
    /// Keys: oauth, admin-address, provider, microsoft-cloud
    /// (global|us-gov-gcc-high|us-gov-dod|china), tenant, client-id, token-url,
    /// device-url, authorize-url, scope, smtp (host:port), smtp-security
    /// (starttls|implicit), sender-mode (login-user|allow-changes|
    /// admin-fixed|bulk), bulk-address, send-as (addresses allowed as From
    /// besides the signing account: a,b replaces the list, +a adds, -a
    /// removes, none clears), proxy (host:port|none; a new host:port keeps
    /// the proxy user and password), proxy-user, proxy-password (never
    /// shown), tls-min, tls-max (1.0|1.1|1.2|1.3), webdav-http (1.1|2), vlan,
    /// auto-delete, google-app-testing (on|off), refresh-margin (seconds
    /// before expiry an access token is renewed: 60 to 1800, default 600),
    /// admin-sign-in (delegated|app-certificate|service-account|app-secret:
    /// how the administrator's token is obtained), certificate-thumbprint
    /// (the app certificate's SHA-256), service-account (the Google service
    /// account's address), client-secret (app-only with a secret; never
    /// shown; none removes it), transport (smtp|graph|gmail-api: SMTP, or
    /// the Microsoft Graph or Gmail API over HTTPS, which need no SMTP
    /// AUTH), api-url (the mail API's https base URL instead of the
    /// provider's; "" clears it).
    Set {
        /// The setting.
        key: String,
        /// Its new value.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Check every configuration rule and whether the printer can send.
    Check,
}

struct Ctx {
    lang: Lang,
    dir: PathBuf,
    tls: TlsSettings,
}

pub(crate) fn lang_from_env() -> Lang {
    let l = std::env::var("LC_ALL")
        .or_else(|_| std::env::var("LC_MESSAGES"))
        .or_else(|_| std::env::var("LANG"))
        .unwrap_or_default();
    if l.starts_with("fr") {
        Lang::Fr
    } else {
        Lang::En
    }
}

fn fail(lang: Lang, id: Id) -> ExitCode {
    eprint!("{}", describe(id, lang));
    ExitCode::FAILURE
}

fn open(ctx: &Ctx) -> Result<Device, ExitCode> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let dev = Device::open(&ctx.dir, clock, ctx.tls.clone()).map_err(|e| {
        eprintln!("{}: {e}", ctx.dir.display());
        let code = fail(ctx.lang, e.diag());
        if matches!(e, AppError::Image(_) | AppError::Io(..)) {
            eprintln!(
                "{}",
                tr(
                    ctx.lang,
                    "The saved state cannot be loaded. To start again from the default settings, without any token: `mfp-oauth reset --yes` (then configure and sign in again).",
                    "L'état enregistré ne peut pas être chargé. Pour repartir des réglages par défaut, sans aucun jeton : `mfp-oauth reset --yes` (puis régler et se reconnecter)."
                )
            );
        }
        code
    })?;
    // The power-on's notices (E511: the newest saved settings were damaged
    // and the previous ones were restored).
    for n in &dev.power_on_notices {
        if let Some(id) = n.diag() {
            eprint!("{}", describe(id, ctx.lang));
        }
    }
    Ok(dev)
}

fn reset(ctx: &Ctx, yes: bool) -> ExitCode {
    use std::io::IsTerminal;
    let lang = ctx.lang;
    if !yes {
        let question = tr(
            lang,
            "This erases the printer state in {dir}: the settings and every refresh token. Type yes to erase: ",
            "Ceci efface l'état de l'imprimante dans {dir} : les réglages et tous les jetons d'actualisation. Taper oui pour effacer : ",
        )
        .replace("{dir}", &ctx.dir.display().to_string());
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "{}",
                tr(
                    lang,
                    "reset: nothing erased; give --yes to confirm (reset erases the settings and every token)",
                    "reset : rien n'a été effacé ; ajouter --yes pour confirmer (reset efface les réglages et tous les jetons)"
                )
            );
            return ExitCode::from(2);
        }
        print!("{question}");
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim(), "yes" | "oui") {
            println!("{}", tr(lang, "nothing erased", "rien n'a été effacé"));
            return ExitCode::from(2);
        }
    }
    match crate::app::erase(&ctx.dir) {
        Ok(removed) => {
            for p in &removed {
                println!("{} {}", tr(lang, "removed", "supprimé :"), p.display());
            }
            println!(
                "{}",
                tr(
                    lang,
                    "the printer state is erased: default settings, no token",
                    "l'état de l'imprimante est effacé : réglages par défaut, aucun jeton"
                )
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            fail(lang, e.diag())
        }
    }
}

/// Run the command line; the process's exit code.
pub fn run(cli: Cli) -> ExitCode {
    let lang = match cli.lang {
        Some(LangArg::En) => Lang::En,
        Some(LangArg::Fr) => Lang::Fr,
        None => lang_from_env(),
    };
    let mut tls = TlsSettings::default();
    for f in &cli.ca_files {
        match load_ca_file(f) {
            Ok(mut certs) => tls.extra_roots.append(&mut certs),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        }
    }
    let dir = match cli.store.or_else(crate::store::config_dir) {
        Some(d) => d,
        None => {
            eprintln!(
                "{}",
                tr(
                    lang,
                    "no configuration directory: give --store DIR",
                    "aucun répertoire de configuration : indiquer --store RÉP",
                )
            );
            return ExitCode::from(2);
        }
    };
    let ctx = Ctx { lang, dir, tls };
    match cli.command {
        Command::Demo { json } => {
            let format = if json { Format::Json } else { Format::Text };
            if crate::demo::run(std::io::stdout().lock(), format, lang) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Diag { id: Some(n) } => match Id::from_number(n) {
            Some(id) => {
                print!("{}", describe(id, lang));
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "{}",
                    tr(
                        lang,
                        "no diagnostic with number {n}",
                        "aucun diagnostic de numéro {n}"
                    )
                    .replace("{n}", &n.to_string())
                );
                ExitCode::from(2)
            }
        },
        Command::Diag { id: None } => {
            for id in Id::ALL {
                print!("{}", describe(*id, lang));
            }
            ExitCode::SUCCESS
        }
        Command::Reset { yes } => reset(&ctx, yes),
        Command::Config { action } => config(&ctx, action),
        Command::Tokens { action } => tokens(&ctx, action),
        Command::PowerCycle => power_cycle(&ctx),
        Command::Logout { name } => logout(&ctx, &name),
        Command::Login(args) => login(&ctx, &args),
        Command::Send(args) => send(&ctx, &args),
        Command::Doctor => doctor(&ctx),
    }
}

fn status_text(s: TokenStatus, lang: Lang) -> &'static str {
    match (s, lang) {
        (TokenStatus::Required, Lang::Fr) => "Obligatoire",
        (TokenStatus::Acquired, Lang::Fr) => "Acquis",
        (TokenStatus::ReauthNeeded, Lang::Fr) => "Réauthentification nécessaire",
        (TokenStatus::Required, _) => "Required",
        (TokenStatus::Acquired, _) => "Acquired",
        (TokenStatus::ReauthNeeded, _) => "Re-authentication needed",
    }
}

fn onoff(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// `https://host[:port]/path` of an endpoint.
fn endpoint_url(e: &Endpoint) -> String {
    let (scheme, default_port) = if e.tls() {
        ("https", 443)
    } else {
        ("http", 80)
    };
    if e.port() == default_port {
        format!("{scheme}://{}{}", e.host(), e.path())
    } else {
        format!("{scheme}://{}:{}{}", e.host(), e.port(), e.path())
    }
}

/// The endpoint lines of `config show`: a custom provider's URLs as set;
/// for a preset, each override marked as such and the preset's own
/// endpoint otherwise (issue 17: what is used is what is shown).
fn endpoint_lines(s: &Settings, provider: &str, lang: Lang) -> [(&'static str, String); 4] {
    let c = &s.custom;
    if s.provider == ProviderKind::Custom {
        return [
            ("token-url", c.token_url.to_string()),
            ("device-url", c.device_url.to_string()),
            ("authorize-url", c.authorize_url.to_string()),
            ("scope", c.scope.to_string()),
        ];
    }
    let preset = match s.provider {
        ProviderKind::Google => Provider::google(),
        _ => Provider::microsoft(s.microsoft_cloud, Tenant::Id(&s.tenant)),
    }
    .ok();
    let overrides = tr(
        lang,
        "(overrides the {p} preset)",
        "(remplace le préréglage {p})",
    )
    .replace("{p}", provider);
    let from_preset = tr(lang, "(preset)", "(préréglage)");
    let line = |set: &str, own: Option<&Endpoint>| {
        if !set.is_empty() {
            format!("{set} {overrides}")
        } else {
            own.map_or_else(
                || tr(lang, "(none)", "(aucun)").to_owned(),
                |e| format!("{from_preset} {}", endpoint_url(e)),
            )
        }
    };
    let p = preset.as_ref();
    [
        (
            "token-url",
            line(&c.token_url, p.map(Provider::token_endpoint)),
        ),
        (
            "device-url",
            line(&c.device_url, p.and_then(|p| p.device_endpoint().ok())),
        ),
        (
            "authorize-url",
            line(
                &c.authorize_url,
                p.and_then(|p| p.authorize_endpoint().ok()),
            ),
        ),
        (
            "scope",
            p.map_or_else(String::new, |p| format!("{from_preset} {}", p.scope())),
        ),
    ]
}

fn show_settings(s: &Settings, lang: Lang) -> String {
    let none = tr(lang, "(none)", "(aucun)");
    let provider = by_key("provider").map_or_else(String::new, |p| show_plain(s, p, lang));
    let smtp = s.smtp.as_ref().map_or_else(
        || none.to_owned(),
        |m| {
            format!(
                "{}:{} {}",
                m.host,
                m.port,
                if m.security == Security::ImplicitTls {
                    "implicit"
                } else {
                    "starttls"
                }
            )
        },
    );
    let proxy = s.proxy.as_ref().map_or_else(
        || none.to_owned(),
        |p| {
            format!(
                "{}:{}{}",
                p.host,
                p.port,
                if p.user.is_empty() {
                    String::new()
                } else {
                    tr(
                        lang,
                        " user {user} (password set)",
                        " utilisateur {user} (mot de passe défini)",
                    )
                    .replace("{user}", &p.user)
                }
            )
        },
    );
    let send_as = if s.send_as.is_empty() {
        none.to_owned()
    } else {
        s.send_as
            .iter()
            .map(Address::as_str)
            .collect::<Vec<_>>()
            .join(",")
    };
    // In the schema's order: a plain setting by its kind, a composite one
    // as its parts read.
    let mut lines: Vec<(&str, String)> = Vec::new();
    for setting in SCHEMA {
        match setting.field {
            "custom" => lines.extend(endpoint_lines(s, &provider, lang)),
            "smtp" => lines.push(("smtp", smtp.clone())),
            "send_as" => lines.push(("send-as", send_as.clone())),
            "proxy" => lines.push(("proxy", proxy.clone())),
            // A secret: only whether it is set (R-LOG).
            "app_client_secret" => lines.push((
                "client-secret",
                if s.app_client_secret.0.is_empty() {
                    none.to_owned()
                } else {
                    tr(lang, "(set, not shown)", "(défini, non affiché)").to_owned()
                },
            )),
            _ => lines.push((setting.key, show_plain(s, setting, lang))),
        }
    }
    let mut out = String::new();
    for (k, v) in lines {
        out.push_str(&format!("{k:<20} {v}\n"));
    }
    out
}

fn parse_bool(v: &str, lang: Lang) -> Result<bool, String> {
    match v {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(tr(
            lang,
            "expected on or off, got {v}",
            "on ou off attendu, reçu {v}",
        )
        .replace("{v}", &format!("{v:?}"))),
    }
}

fn host_port(v: &str, default_port: u16, lang: Lang) -> Result<(String, u16), String> {
    match v.rsplit_once(':') {
        Some((h, p)) => Ok((
            h.to_owned(),
            p.parse().map_err(|_| {
                tr(lang, "bad port in {v}", "port incorrect dans {v}")
                    .replace("{v}", &format!("{v:?}"))
            })?,
        )),
        None => Ok((v.to_owned(), default_port)),
    }
}

/// An endpoint URL as `config set` and `login` take it: empty (none, or
/// the preset's), or `https://host[:port]/path` (`http` to a loopback host
/// only), checked as the core checks it.
fn checked_url<'v>(key: &str, v: &'v str, lang: Lang) -> Result<&'v str, String> {
    if v.is_empty() || v == "none" {
        return Ok("");
    }
    Endpoint::parse_url(v).map(|_| v).map_err(|_| {
        tr(
            lang,
            "{key}: {v} is not an https://host[:port]/path URL (http only to a loopback host)",
            "{key} : {v} n'est pas une URL https://hôte[:port]/chemin (http seulement vers une adresse de bouclage)",
        )
        .replace("{key}", key)
        .replace("{v}", &format!("{v:?}"))
    })
}

fn unknown_key(key: &str, lang: Lang) -> String {
    tr(
        lang,
        "unknown setting {key} (see `mfp-oauth config set --help`)",
        "réglage inconnu {key} (voir `mfp-oauth config set --help`)",
    )
    .replace("{key}", &format!("{key:?}"))
}

fn too_long(k: &str, lang: Lang) -> String {
    tr(lang, "{k}: value too long", "{k} : valeur trop longue").replace("{k}", k)
}

/// The settings whose values are secrets (R-LOG): `config set` and
/// `config show` never print them.
pub const SECRET_KEYS: &[&str] = &["proxy-password", "client-secret"];

/// `value` as `config set` echoes it for `key`: a secret only as set or
/// cleared.
fn shown_value<'a>(key: &str, value: &'a str, lang: Lang) -> &'a str {
    if !SECRET_KEYS.contains(&key) {
        value
    } else if value.is_empty() {
        tr(lang, "(cleared)", "(effacé)")
    } else {
        tr(lang, "(set, not shown)", "(défini, non affiché)")
    }
}

fn set_send_as(s: &mut Settings, v: &str, lang: Lang) -> Result<(), String> {
    let max = s.send_as.capacity();
    let too_many = || {
        tr(
            lang,
            "send-as: at most {max} addresses",
            "send-as : au plus {max} adresses",
        )
        .replace("{max}", &max.to_string())
    };
    if let Some(a) = v.strip_prefix('+') {
        let a = Address::parse(a.trim()).map_err(|e| format!("{a:?}: {e}"))?;
        if !s.send_as.iter().any(|x| x.same_mailbox(&a)) {
            s.send_as.push(a).map_err(|_| too_many())?;
        }
    } else if let Some(a) = v.strip_prefix('-') {
        let a = Address::parse(a.trim()).map_err(|e| format!("{a:?}: {e}"))?;
        let before = s.send_as.len();
        s.send_as.retain(|x| !x.same_mailbox(&a));
        if s.send_as.len() == before {
            return Err(tr(
                lang,
                "send-as: {a} is not in the list",
                "send-as : {a} n'est pas dans la liste",
            )
            .replace("{a}", a.as_str()));
        }
    } else {
        s.send_as.clear();
        for a in v
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty() && *a != "none")
        {
            let a = Address::parse(a).map_err(|e| format!("{a:?}: {e}"))?;
            if !s.send_as.iter().any(|x| x.same_mailbox(&a)) {
                s.send_as.push(a).map_err(|_| too_many())?;
            }
        }
    }
    Ok(())
}

/// `v` read as the value of `setting`, a plain one (not
/// [`Kind::Composite`]), by its kind: `on`/`off`, a number, one of its
/// words, a text, an address (`none`: no address).
fn parse_plain<'v>(setting: &Setting, v: &'v str, lang: Lang) -> Result<Value<'v>, String> {
    let key = setting.key;
    Ok(match setting.kind {
        Kind::Bool => Value::Bool(parse_bool(v, lang)?),
        Kind::Number { min, max } => Value::Number(v.parse().map_err(|_| {
            tr(
                lang,
                "{key}: a number, {min} to {max}",
                "{key} : un nombre, de {min} à {max}",
            )
            .replace("{key}", key)
            .replace("{min}", &min.to_string())
            .replace("{max}", &max.to_string())
        })?),
        Kind::Choice(choices) => match choices.names.iter().find(|n| n.word == v) {
            Some(n) => Value::Choice(n.code),
            None => {
                let words: Vec<&str> = choices.names.iter().map(|n| n.word).collect();
                let (last, rest) = words.split_last().unwrap_or((&"", &[]));
                return Err(tr(
                    lang,
                    "{key}: {list} or {last}, got {v}",
                    "{key} : {list} ou {last}, reçu {v}",
                )
                .replace("{key}", key)
                .replace("{list}", &rest.join(", "))
                .replace("{last}", last)
                .replace("{v}", &format!("{v:?}")));
            }
        },
        Kind::Text { .. } => Value::Text(v),
        Kind::Address if v == "none" => Value::Text(""),
        Kind::Address => {
            Address::parse(v).map_err(|e| format!("{v:?}: {e}"))?;
            Value::Text(v)
        }
        Kind::Composite => return Err(unknown_key(key, lang)),
    })
}

/// The value of `setting`, a plain one, as `config show` prints it.
fn show_plain(s: &Settings, setting: &Setting, lang: Lang) -> String {
    let none = || tr(lang, "(none)", "(aucun)").to_owned();
    match (s.value(setting.field), setting.kind) {
        (Some(Value::Bool(b)), _) => onoff(b).to_owned(),
        (Some(Value::Number(n)), _) => n.to_string(),
        (Some(Value::Choice(c)), Kind::Choice(choices)) => choices
            .names
            .iter()
            .find(|n| n.code == c)
            .map_or_else(|| c.to_string(), |n| n.word.to_owned()),
        (Some(Value::Text("")), _) => none(),
        (Some(Value::Text(t)), _) => t.to_owned(),
        (Some(Value::Address(a)), _) => a.map_or_else(none, |a| a.as_str().to_owned()),
        _ => none(),
    }
}

/// Apply `key = value` to `s`: a plain setting through the schema
/// (`config/schema.rs` declares its key and kind), a composite one here.
pub fn set_key(s: &mut Settings, key: &str, value: &str, lang: Lang) -> Result<(), String> {
    let v = value;
    if let Some(setting) = by_key(key).filter(|x| x.kind != Kind::Composite) {
        let parsed = parse_plain(setting, v, lang)?;
        return s.set_value(setting.field, parsed).map_err(|e| match e {
            SetError::TooLong => too_long(key, lang),
            SetError::Unknown | SetError::Composite => unknown_key(key, lang),
            _ => {
                tr(lang, "{k}: value out of range", "{k} : valeur hors limites").replace("{k}", key)
            }
        });
    }
    match key {
        "token-url" => {
            s.custom.token_url = checked_url(key, v, lang)?
                .try_into()
                .map_err(|_| too_long(key, lang))?
        }
        "device-url" => {
            s.custom.device_url = checked_url(key, v, lang)?
                .try_into()
                .map_err(|_| too_long(key, lang))?
        }
        "authorize-url" => {
            s.custom.authorize_url = checked_url(key, v, lang)?
                .try_into()
                .map_err(|_| too_long(key, lang))?
        }
        "scope" => s.custom.scope = v.try_into().map_err(|_| too_long(key, lang))?,
        "smtp" => {
            let security = s.smtp.as_ref().map_or(Security::StartTls, |m| m.security);
            s.smtp = if v == "none" {
                None
            } else {
                let (h, p) = host_port(v, 587, lang)?;
                Some(SmtpServer::new(&h, p, security).ok_or_else(|| too_long(key, lang))?)
            };
        }
        "smtp-security" => {
            let sec = match v {
                "starttls" => Security::StartTls,
                "implicit" => Security::ImplicitTls,
                _ => {
                    return Err(tr(
                        lang,
                        "smtp-security: starttls or implicit",
                        "smtp-security : starttls ou implicit",
                    )
                    .into())
                }
            };
            let m = s
                .smtp
                .as_mut()
                .ok_or(tr(lang, "set smtp first", "régler smtp d'abord"))?;
            m.security = sec;
        }
        "send-as" => set_send_as(s, v, lang)?,
        "proxy" => {
            s.proxy = if v == "none" {
                None
            } else {
                let (h, p) = host_port(v, 8080, lang)?;
                // A new address keeps the proxy's user and password (the
                // proxy moved, its account did not; issue 17).
                let (user, password) = s
                    .proxy
                    .take()
                    .map(|old| (old.user, old.password))
                    .unwrap_or_default();
                Some(CfgProxy {
                    host: h.as_str().try_into().map_err(|_| too_long(key, lang))?,
                    port: p,
                    user,
                    password,
                })
            }
        }
        "proxy-user" => {
            let p = s
                .proxy
                .as_mut()
                .ok_or(tr(lang, "set proxy first", "régler proxy d'abord"))?;
            p.user = v.try_into().map_err(|_| too_long(key, lang))?;
        }
        "proxy-password" => {
            let p = s
                .proxy
                .as_mut()
                .ok_or(tr(lang, "set proxy first", "régler proxy d'abord"))?;
            p.password
                .set(v.as_bytes())
                .map_err(|_| too_long(key, lang))?;
        }
        // `none` (or nothing) removes it.
        "client-secret" => s
            .app_client_secret
            .0
            .set(if v == "none" { b"" } else { v.as_bytes() })
            .map_err(|_| too_long(key, lang))?,
        _ => return Err(unknown_key(key, lang)),
    }
    Ok(())
}

/// The configuration rules, as `config check` reports them (en, fr).
pub const RULES: [(&str, &str, ConfigError); 10] = [
    (
        "R-RULE-1 no OAuth with VLAN on network 2",
        "R-RULE-1 pas d'OAuth avec le VLAN sur le réseau 2",
        ConfigError::VlanOnNetwork2,
    ),
    (
        "R-RULE-2 Microsoft needs more than TLS 1.3 only",
        "R-RULE-2 Microsoft demande plus que TLS 1.3 seul",
        ConfigError::MicrosoftTls13Only,
    ),
    (
        "R-RULE-3 Google needs WebDAV HTTP/2,HTTP/1.1",
        "R-RULE-3 Google demande WebDAV HTTP/2,HTTP/1.1",
        ConfigError::GoogleNeedsHttp2,
    ),
    (
        "R-RULE-4 bulk address is the administrator's",
        "R-RULE-4 l'adresse groupée est celle de l'administrateur",
        ConfigError::BulkAddressMismatch,
    ),
    (
        "R-RULE-7 this build has OAuth",
        "R-RULE-7 cette version comprend OAuth",
        ConfigError::NotAvailable,
    ),
    (
        "TLS minimum not above maximum",
        "TLS minimum pas au-dessus du maximum",
        ConfigError::TlsRangeInvalid,
    ),
    (
        "administrator address set",
        "adresse de l'administrateur réglée",
        ConfigError::AdminAddressMissing,
    ),
    (
        "SMTP server set",
        "serveur SMTP réglé",
        ConfigError::SmtpServerMissing,
    ),
    (
        "provider profile complete",
        "profil du fournisseur complet",
        ConfigError::ProviderProfileIncomplete,
    ),
    (
        "Microsoft tenant valid",
        "locataire Microsoft valide",
        ConfigError::TenantInvalid,
    ),
];

fn config(ctx: &Ctx, action: ConfigAction) -> ExitCode {
    let mut dev = match open(ctx) {
        Ok(d) => d,
        Err(c) => return c,
    };
    match action {
        ConfigAction::Show => {
            print!("{}", show_settings(dev.mailer.settings(), ctx.lang));
            ExitCode::SUCCESS
        }
        ConfigAction::Set { key, value } => {
            let mut s = dev.mailer.settings().clone();
            if let Err(e) = set_key(&mut s, &key, &value, ctx.lang) {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
            let kept_proxy_login = key == "proxy"
                && s.proxy
                    .as_ref()
                    .is_some_and(|p| !p.user.is_empty() || !p.password.is_empty());
            match dev.apply_settings(s) {
                Ok(go) => {
                    println!("{key} = {}", shown_value(&key, &value, ctx.lang));
                    if kept_proxy_login {
                        println!(
                            "{}",
                            tr(
                                ctx.lang,
                                "the proxy user and password are kept (clear them with `config set proxy-user \"\"` and `config set proxy-password \"\"`)",
                                "l'utilisateur et le mot de passe du proxy sont conservés (les effacer avec `config set proxy-user \"\"` et `config set proxy-password \"\"`)"
                            )
                        );
                    }
                    if go {
                        println!(
                            "{}",
                            tr(
                                ctx.lang,
                                "OAuth is on: sign in the administrator now (`mfp-oauth login --admin`).",
                                "OAuth est activé : connecter l'administrateur maintenant (`mfp-oauth login --admin`).",
                            )
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(ApplyError::Rules(v)) => {
                    eprintln!(
                        "{}",
                        tr(
                            ctx.lang,
                            "refused: the change breaks these rules:",
                            "refusé : la modification enfreint ces règles :",
                        )
                    );
                    for r in v.iter() {
                        eprint!("{}", describe(r.diag(), ctx.lang));
                    }
                    ExitCode::FAILURE
                }
                Err(ApplyError::Store(e)) => {
                    eprintln!("{e}");
                    fail(ctx.lang, e.diag())
                }
            }
        }
        ConfigAction::Check => {
            let s = dev.mailer.settings();
            let v = s.validate();
            for (en, fr, rule) in RULES {
                let name = tr(ctx.lang, en, fr);
                if v.contains(rule) {
                    println!("✘ {name}");
                    for line in describe(rule.diag(), ctx.lang).lines() {
                        println!("    {line}");
                    }
                } else {
                    println!("✔ {name}");
                }
            }
            let readiness = s.readiness(dev.mailer.store().admin_status());
            match readiness.diag() {
                None => {
                    println!("{}", tr(ctx.lang, "ready to send", "prêt à envoyer"));
                    ExitCode::SUCCESS
                }
                Some(id) => {
                    println!(
                        "{}",
                        tr(ctx.lang, "not ready to send:", "pas prêt à envoyer :")
                    );
                    print!("{}", describe(id, ctx.lang));
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn tokens(ctx: &Ctx, action: TokensAction) -> ExitCode {
    let mut dev = match open(ctx) {
        Ok(d) => d,
        Err(c) => return c,
    };
    match action {
        TokensAction::List => {
            let store = dev.mailer.store();
            // The account, and whether the provider named it (R-ACCT).
            let shown = |owner: &TokenOwner| match store.account(owner) {
                None => String::new(),
                Some(a) if store.account_verified(owner) => {
                    format!("{a} ({})", tr(ctx.lang, "verified", "vérifié"))
                }
                Some(a) => format!("{a} ({})", tr(ctx.lang, "unverified", "non vérifié")),
            };
            // When the refresh token is expected to die: the provider's
            // rule, or the date it gave with the token if earlier.
            let settings = dev.mailer.settings();
            let until = |owner: &TokenOwner| match store.expected_expiry(owner, settings) {
                None => String::new(),
                Some(w) => {
                    let (y, m, d) = w.date();
                    tr(
                        ctx.lang,
                        ", refresh token until {date}",
                        ", jeton d'actualisation jusqu'au {date}",
                    )
                    .replace("{date}", &format!("{y:04}-{m:02}-{d:02}"))
                }
            };
            println!(
                "{:<24} {:<28} {}{}",
                tr(ctx.lang, "administrator", "administrateur"),
                status_text(store.admin_status(), ctx.lang),
                shown(&TokenOwner::Admin),
                until(&TokenOwner::Admin)
            );
            for (id, status, _) in store.users() {
                let owner = UserId::try_from(id).ok().map(TokenOwner::User);
                println!(
                    "{:<24} {:<28} {}{}",
                    tr(ctx.lang, "user {id}", "utilisateur {id}").replace("{id}", id),
                    status_text(status, ctx.lang),
                    owner.as_ref().map_or(String::new(), shown),
                    owner.as_ref().map_or(String::new(), until)
                );
            }
            println!(
                "{}",
                tr(
                    ctx.lang,
                    "access tokens in memory: {n} (never on disk)",
                    "jetons d'accès en mémoire : {n} (jamais sur disque)",
                )
                .replace("{n}", &store.cached_access_tokens().to_string())
            );
            ExitCode::SUCCESS
        }
        TokensAction::Delete { all: true, .. } => {
            dev.mailer.delete_all_user_tokens();
            finish_store(
                ctx,
                &mut dev,
                tr(
                    ctx.lang,
                    "every user's tokens deleted",
                    "les jetons de tous les utilisateurs sont supprimés",
                ),
            )
        }
        TokensAction::Delete { name: Some(n), .. } => match dev.mailer.delete_user_tokens(&n) {
            Ok(()) => finish_store(
                ctx,
                &mut dev,
                &tr(ctx.lang, "tokens of {n} deleted", "jetons de {n} supprimés")
                    .replace("{n}", &n),
            ),
            Err(e) => fail(ctx.lang, e.diag()),
        },
        TokensAction::Delete { .. } => ExitCode::from(2),
    }
}

fn finish_store(ctx: &Ctx, dev: &mut Device, done: &str) -> ExitCode {
    match dev.drain_store() {
        Ok(notices) => {
            for n in notices {
                if let Some(id) = n.diag() {
                    print!("{}", describe(id, ctx.lang));
                }
            }
            println!("{done}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            fail(ctx.lang, e.diag())
        }
    }
}

fn power_cycle(ctx: &Ctx) -> ExitCode {
    // Each run of the tool is a power-on: show what the image gives back.
    let dev = match open(ctx) {
        Ok(d) => d,
        Err(c) => return c,
    };
    let store = dev.mailer.store();
    let lang = ctx.lang;
    println!(
        "{}",
        tr(
            lang,
            "power cycle: access tokens in memory after restart: {n}",
            "redémarrage : jetons d'accès en mémoire après le redémarrage : {n}",
        )
        .replace("{n}", &store.cached_access_tokens().to_string())
    );
    println!(
        "{}",
        tr(
            lang,
            "administrator refresh token: {status}",
            "jeton d'actualisation de l'administrateur : {status}",
        )
        .replace("{status}", status_text(store.admin_status(), lang))
    );
    for (id, status, _) in store.users() {
        println!(
            "{}",
            tr(
                lang,
                "user {id} refresh token: {status}",
                "jeton d'actualisation de l'utilisateur {id} : {status}",
            )
            .replace("{id}", id)
            .replace("{status}", status_text(status, lang))
        );
    }
    println!(
        "{}",
        tr(
            lang,
            "the next job refreshes its access token with the stored refresh token",
            "la prochaine tâche renouvelle son jeton d'accès avec le jeton d'actualisation enregistré",
        )
    );
    ExitCode::SUCCESS
}

fn logout(ctx: &Ctx, name: &str) -> ExitCode {
    let mut dev = match open(ctx) {
        Ok(d) => d,
        Err(c) => return c,
    };
    let deleted = dev.mailer.logout(name);
    let msg = if deleted {
        tr(
            ctx.lang,
            "{name} logged out; automatic deletion is on: the user's tokens were deleted",
            "{name} déconnecté ; la suppression automatique est activée : les jetons de l'utilisateur ont été supprimés",
        )
    } else if dev.mailer.settings().auto_delete_user_tokens {
        tr(
            ctx.lang,
            "{name} logged out; no token was stored for this user",
            "{name} déconnecté ; aucun jeton n'était enregistré pour cet utilisateur",
        )
    } else {
        tr(
            ctx.lang,
            "{name} logged out; automatic deletion is off: the tokens stay",
            "{name} déconnecté ; la suppression automatique est désactivée : les jetons restent",
        )
    }
    .replace("{name}", name);
    finish_store(ctx, &mut dev, &msg)
}

fn print_prompt(p: Prompt<'_>, lang: Lang) {
    match p {
        Prompt::DeviceCode(d) => {
            if !d.message.is_empty() {
                println!("{}", d.message);
            }
            println!(
                "{}",
                tr(
                    lang,
                    "Open {uri} and enter the code {code}",
                    "Ouvrir {uri} et saisir le code {code}",
                )
                .replace("{uri}", &d.verification_uri)
                .replace("{code}", &d.user_code)
            );
            let target = d.qr_text();
            if let Some(qr) = crate::qr::render(target) {
                println!("{qr}");
            }
            println!(
                "{}",
                tr(
                    lang,
                    "Waiting for the sign-in…",
                    "En attente de la connexion…"
                )
            );
        }
        Prompt::OpenUrl(url) => {
            println!(
                "{}\n{url}",
                tr(
                    lang,
                    "Open this address in a browser on this computer to sign in:",
                    "Ouvrir cette adresse dans un navigateur sur cet ordinateur pour se connecter :",
                )
            )
        }
        Prompt::SlowDown(i) => println!(
            "{}",
            tr(
                lang,
                "(the provider asks to poll every {s} s)",
                "(le fournisseur demande d'interroger toutes les {s} s)",
            )
            .replace("{s}", &i.as_secs().to_string())
        ),
        Prompt::Polled
        | Prompt::Contacting(_)
        | Prompt::Retrying { .. }
        | Prompt::ProviderSaid(_) => {}
    }
    let _ = std::io::stdout().flush();
}

/// The line shown when a request to the provider failed and is retried.
pub fn retry_line(lang: Lang, endpoint: &str, attempt: u32, error: Id, delay_s: u64) -> String {
    tr(
        lang,
        "{endpoint}: attempt {n} failed (E{id} {name}); next attempt in {s} s",
        "{endpoint} : la tentative {n} a échoué (E{id} {name}) ; nouvelle tentative dans {s} s",
    )
    .replace("{endpoint}", endpoint)
    .replace("{n}", &attempt.to_string())
    .replace("{id}", &error.number().to_string())
    .replace("{name}", error.name())
    .replace("{s}", &delay_s.to_string())
}

/// What a sign-in or refresh showed: every prompt, each retry with its
/// delay and endpoint (a spinner on a terminal while waiting), and the
/// endpoint to name when it fails (issue 17: no silent waits, and a
/// failure says where).
struct Shown {
    lang: Lang,
    endpoint: String,
    failed: u32,
    wait: Option<ProgressBar>,
    /// The provider's own words when it refused (`error_description`).
    said: Option<String>,
}

impl Shown {
    fn new(lang: Lang) -> Self {
        Shown {
            lang,
            endpoint: String::new(),
            failed: 0,
            wait: None,
            said: None,
        }
    }

    fn stop_waiting(&mut self) {
        if let Some(w) = self.wait.take() {
            w.finish_and_clear();
        }
    }

    fn prompt(&mut self, p: Prompt<'_>) {
        self.stop_waiting();
        match p {
            Prompt::Contacting(e) => e.clone_into(&mut self.endpoint),
            Prompt::Retrying {
                endpoint,
                attempt,
                error,
                delay,
            } => {
                endpoint.clone_into(&mut self.endpoint);
                self.failed = attempt;
                let secs = delay.as_millis().div_ceil(1000);
                println!("{}", retry_line(self.lang, endpoint, attempt, error, secs));
                let w = ProgressBar::new_spinner();
                w.set_message(
                    tr(
                        self.lang,
                        "waiting {s} s before attempt {n}",
                        "attente de {s} s avant la tentative {n}",
                    )
                    .replace("{s}", &secs.to_string())
                    .replace("{n}", &attempt.saturating_add(1).to_string()),
                );
                w.enable_steady_tick(std::time::Duration::from_millis(200));
                self.wait = Some(w);
            }
            Prompt::ProviderSaid(text) => self.said = Some(printable(text)),
            other => print_prompt(other, self.lang),
        }
    }

    /// The flow failed with `id`: where, after how many attempts, then the
    /// diagnostic.
    fn failed(&mut self, id: Id) -> ExitCode {
        self.stop_waiting();
        if !self.endpoint.is_empty() {
            let line = if self.failed > 0 {
                tr(
                    self.lang,
                    "{endpoint}: failed after {n} attempts",
                    "{endpoint} : échec après {n} tentatives",
                )
                .replace("{n}", &self.failed.saturating_add(1).to_string())
            } else {
                tr(self.lang, "{endpoint}: failed", "{endpoint} : échec").to_owned()
            };
            eprintln!("{}", line.replace("{endpoint}", &self.endpoint));
        }
        if let Some(said) = &self.said {
            eprintln!(
                "{}",
                tr(
                    self.lang,
                    "the provider said: {text}",
                    "le fournisseur a répondu : {text}"
                )
                .replace("{text}", said)
            );
        }
        let code = fail(self.lang, id);
        if id == Id::DeviceFlowNotSupported || id == Id::DeviceCodeFlowBlocked {
            // Google allows no Gmail scope in the device flow, and tenants
            // block the device code flow with Conditional Access: the
            // browser sign-in (PKCE) is the way (issue 17 item 4, issue 18).
            eprintln!(
                "{}",
                tr(
                    self.lang,
                    "Sign in with the browser instead: mfp-oauth login --browser (with the same options).",
                    "Se connecter plutôt par le navigateur : mfp-oauth login --browser (avec les mêmes options).",
                )
            );
        }
        code
    }
}

/// A provider's text as one printable line: line breaks become ` / `, other
/// control characters (a terminal escape) are dropped.
fn printable(text: &str) -> String {
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.chars().filter(|c| !c.is_control()).collect::<String>())
        .collect::<Vec<_>>()
        .join(" / ")
}

impl Drop for Shown {
    fn drop(&mut self) {
        self.stop_waiting();
    }
}

fn login(ctx: &Ctx, a: &LoginArgs) -> ExitCode {
    let mut dev = match open(ctx) {
        Ok(d) => d,
        Err(c) => return c,
    };
    let mut s = dev.mailer.settings().clone();
    let mut changes: Vec<(&str, String)> = Vec::new();
    if let Some(p) = a.provider {
        changes.push((
            "provider",
            match p {
                ProviderArg::Microsoft => "microsoft",
                ProviderArg::Google => "google",
                ProviderArg::Custom => "custom",
            }
            .to_owned(),
        ));
    }
    for (k, v) in [
        ("tenant", &a.tenant),
        ("client-id", &a.client_id),
        ("token-url", &a.token_url),
        ("device-url", &a.device_url),
        ("authorize-url", &a.authorize_url),
        ("scope", &a.scope),
    ] {
        if let Some(v) = v {
            changes.push((k, v.clone()));
        }
    }
    for (k, v) in &changes {
        if let Err(e) = set_key(&mut s, k, v, ctx.lang) {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    }
    if !changes.is_empty() && &s != dev.mailer.settings() {
        match dev.apply_settings(s.clone()) {
            Ok(_) => {}
            Err(ApplyError::Rules(v)) => {
                for r in v.iter() {
                    eprint!("{}", describe(r.diag(), ctx.lang));
                }
                return ExitCode::FAILURE;
            }
            Err(ApplyError::Store(e)) => return fail(ctx.lang, e.diag()),
        }
    }
    if a.app_only || a.service_account.is_some() {
        return app_only::login(ctx, &mut dev, a);
    }
    let owner = match &a.user {
        Some(u) => match u.as_str().try_into() {
            Ok(id) => TokenOwner::User(id),
            Err(_) => return fail(ctx.lang, Id::InvalidArgument),
        },
        None => TokenOwner::Admin,
    };
    let account = match (&a.account, &owner) {
        (Some(acc), _) => match Address::parse(acc) {
            Ok(x) => x,
            Err(_) => return fail(ctx.lang, Id::InvalidAddress),
        },
        (None, TokenOwner::Admin) => match dev.mailer.settings().admin_address.clone() {
            Some(x) => x,
            None => return fail(ctx.lang, Id::AdminAddressMissing),
        },
        (None, _) => {
            eprintln!(
                "{}",
                tr(
                    ctx.lang,
                    "give --account ADDRESS for a user's sign-in",
                    "indiquer --account ADRESSE pour la connexion d'un utilisateur",
                )
            );
            return ExitCode::from(2);
        }
    };
    let method = if a.browser {
        AuthMethod::BrowserPkce
    } else {
        dev.mailer.auth_method()
    };
    let mut shown = Shown::new(ctx.lang);
    let tokens = signin::sign_in(
        &dev,
        method,
        &account,
        &mut |p| shown.prompt(p),
        &mut |_| {},
    );
    let tokens = match tokens {
        Ok(t) => t,
        Err(e) => return shown.failed(e.diag()),
    };
    drop(shown);
    let user = match &owner {
        TokenOwner::User(id) => Some((id, &account)),
        _ => None,
    };
    // The account the provider says signed in (R-ACCT); another one than
    // the slot's is refused by the core (E436), both addresses shown.
    let learned = tokens.account().cloned();
    if let Err(e) = dev.acquire(user, &tokens) {
        if let (Id::AccountMismatch, Some(l)) = (e.diag(), &learned) {
            eprintln!(
                "{}",
                tr(
                    ctx.lang,
                    "the account that signed in is {learned}, but this token is for {account}",
                    "le compte qui s'est connecté est {learned}, mais ce jeton est destiné à {account}",
                )
                .replace("{learned}", l.as_str())
                .replace("{account}", account.as_str())
            );
        }
        return fail(ctx.lang, e.diag());
    }
    drop(tokens);
    let status = dev.mailer.store().status(&owner);
    let line = match &learned {
        Some(_) => tr(
            ctx.lang,
            "signed in as {account}; refresh token: {status}",
            "connecté en tant que {account} ; jeton d'actualisation : {status}",
        ),
        None => tr(
            ctx.lang,
            "signed in as {account} (unverified: the provider did not name the account); refresh token: {status}",
            "connecté en tant que {account} (non vérifié : le fournisseur n'a pas indiqué le compte) ; jeton d'actualisation : {status}",
        ),
    };
    let shown = learned.as_ref().unwrap_or(&account);
    finish_store(
        ctx,
        &mut dev,
        &line
            .replace("{account}", shown.as_str())
            .replace("{status}", status_text(status, ctx.lang)),
    )
}

/// Installs the token a print-management server handed in (R-APP) for the
/// job's slot: the user's with `--user` (for `--user-address`), else the
/// administrator's.
fn install_handed(
    ctx: &Ctx,
    dev: &mut Device,
    a: &SendArgs,
    user_address: Option<&Address>,
    path: &Path,
) -> Result<(), ExitCode> {
    let handed = crate::handed::read(path, a.handed_expires_in).map_err(|e| {
        eprintln!("{}: {e}", path.display());
        ExitCode::from(2)
    })?;
    let (owner, account) = match (&a.user, user_address) {
        (Some(id), Some(addr)) => {
            let id =
                UserId::try_from(id.as_str()).map_err(|_| fail(ctx.lang, Id::InvalidArgument))?;
            (TokenOwner::User(id), addr.clone())
        }
        (Some(_), None) => {
            eprintln!(
                "{}",
                tr(
                    ctx.lang,
                    "--handed-token for a user needs --user-address (the account the token is for)",
                    "--handed-token pour un utilisateur demande --user-address (le compte du jeton)",
                )
            );
            return Err(ExitCode::from(2));
        }
        (None, _) => match dev.mailer.settings().admin_address.clone() {
            Some(admin) => (TokenOwner::Admin, admin),
            None => return Err(fail(ctx.lang, Id::AdminAddressMissing)),
        },
    };
    let now = dev.clock.now();
    dev.mailer
        .install_handed_token(now, &owner, &account, &handed.token, handed.lifetime)
        .map_err(|e| fail(ctx.lang, e.diag()))?;
    println!(
        "{}",
        tr(
            ctx.lang,
            "handed-in access token for {account}, valid {s} s (in memory only)",
            "jeton d'accès fourni pour {account}, valable {s} s (en mémoire seulement)",
        )
        .replace("{account}", account.as_str())
        .replace("{s}", &handed.lifetime.as_secs().to_string())
    );
    Ok(())
}

fn send(ctx: &Ctx, a: &SendArgs) -> ExitCode {
    let mut dev = match open(ctx) {
        Ok(d) => d,
        Err(c) => return c,
    };
    let mut to = Vec::new();
    for t in &a.to {
        match Address::parse(t) {
            Ok(x) => to.push(x),
            Err(_) => return fail(ctx.lang, Id::InvalidAddress),
        }
    }
    let parse_opt = |v: &Option<String>| v.as_deref().map(Address::parse).transpose();
    let (Ok(from), Ok(user_address)) = (parse_opt(&a.from), parse_opt(&a.user_address)) else {
        return fail(ctx.lang, Id::InvalidAddress);
    };
    let mut atts = Vec::new();
    for f in &a.files {
        match Attachment::from_file(f) {
            Ok(x) => atts.push(x),
            Err(e) => {
                eprintln!("{}: {e}", f.display());
                return ExitCode::from(2);
            }
        }
    }
    // The From header shows what the policy will choose; the envelope is the core's.
    let header_from = from
        .as_ref()
        .or(user_address.as_ref())
        .or(dev.mailer.settings().admin_address.as_ref())
        .map_or("printer@localhost".to_owned(), |x| x.as_str().to_owned());
    let id = format!("{:016x}", u64::from_le_bytes(ring_random()));
    let to_s: Vec<String> = to.iter().map(|x| x.as_str().to_owned()).collect();
    // The message is produced while it is sent: the files are read through
    // one fixed buffer, whatever their size (issue 11).
    let body = mime::try_stream(&Composition {
        from: &header_from,
        to: &to_s,
        subject: &a.subject,
        text: "Sent by mfp-oauth.",
        attachments: &atts,
        message_id_local: &id,
        date: std::time::SystemTime::now(),
    });
    let Ok(mut body) = body.inspect_err(|e| eprintln!("{e}")) else {
        return ExitCode::from(2);
    };
    if let Some(path) = &a.handed_token {
        if let Err(code) = install_handed(ctx, &mut dev, a, user_address.as_ref(), path) {
            return code;
        }
    }
    let user = a.user.as_deref().map(|id| User {
        id,
        address: user_address.as_ref(),
    });
    let spec = JobSpec {
        function: a.function.into(),
        user,
        from: from.as_ref(),
        to: &to,
        size: Some(body.len()),
    };
    let bar = ProgressBar::new(body.len());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if body.len() < 256 * 1024 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let allow_sign_in = a.sign_in;
    let mut sign_in = |d: &Device, admin: bool, m: AuthMethod, acc: &Address| {
        if admin {
            Err(FlowError::Failed(match d.mailer.store().admin_status() {
                TokenStatus::ReauthNeeded => Id::AdminReauthNeeded,
                _ => Id::AdminTokenRequired,
            }))
        } else if allow_sign_in {
            let mut shown = Shown::new(ctx.lang);
            signin::sign_in(d, m, acc, &mut |p| shown.prompt(p), &mut |_| {})
        } else {
            Err(FlowError::Failed(Id::UserAuthRequired))
        }
    };
    // The refresh grant's attempts, shown as at sign-in (issue 17).
    let mut refresh = Shown::new(ctx.lang);
    let mut refresh_failed = false;
    let report = job::run_composed(&mut dev, &spec, &mut body, &mut sign_in, &mut |e| match e {
        JobEvent::Body(n) => bar.set_position(*n),
        JobEvent::Refreshing(_) => bar.println(tr(
            ctx.lang,
            "refreshing the access token",
            "renouvellement du jeton d'accès",
        )),
        JobEvent::RefreshContacting(endpoint) => refresh.prompt(Prompt::Contacting(endpoint)),
        JobEvent::RefreshRetrying {
            endpoint,
            attempt,
            error,
            delay,
        } => bar.suspend(|| {
            refresh.prompt(Prompt::Retrying {
                endpoint,
                attempt: *attempt,
                error: *error,
                delay: *delay,
            });
        }),
        JobEvent::RefreshRefusedSaying(text) => refresh.prompt(Prompt::ProviderSaid(text)),
        JobEvent::Refreshed { .. } => refresh.stop_waiting(),
        JobEvent::RefreshFailed(_) => {
            refresh.stop_waiting();
            refresh_failed = true;
        }
        JobEvent::Tls(i) => bar.println(format!("TLS {} {}", i.version, i.cipher_suite)),
        // On stdout even without a terminal: a wait the user must see.
        JobEvent::ApiWaiting(wait) => bar.suspend(|| {
            println!(
                "{}",
                tr(
                    ctx.lang,
                    "the mail API asked to wait (E705): sending again in {s} s",
                    "l'API de messagerie demande d'attendre (E705) : nouvel envoi dans {s} s",
                )
                .replace("{s}", &wait.as_millis().div_ceil(1000).to_string())
            );
        }),
        JobEvent::Notice(n) => {
            if let Some(id) = n.diag() {
                bar.println(describe(id, ctx.lang));
            }
        }
        _ => {}
    });
    bar.finish_and_clear();
    match report {
        Ok(r) => {
            if let Some(s) = &r.server_reply {
                println!("{} {s}", tr(ctx.lang, "server:", "serveur :"));
            }
            match r.result {
                Plan::Done {
                    accepted, refused, ..
                } => {
                    let line = if refused > 0 {
                        tr(
                            ctx.lang,
                            "sent to {accepted} recipient(s), {refused} refused",
                            "envoyé à {accepted} destinataire(s), {refused} refusé(s)",
                        )
                    } else {
                        tr(
                            ctx.lang,
                            "sent to {accepted} recipient(s)",
                            "envoyé à {accepted} destinataire(s)",
                        )
                    };
                    println!(
                        "{}",
                        line.replace("{accepted}", &accepted.to_string())
                            .replace("{refused}", &refused.to_string())
                    );
                    ExitCode::SUCCESS
                }
                // A failed refresh names its endpoint and what the
                // provider said, as a failed sign-in does.
                Plan::Failed { diag } if refresh_failed => refresh.failed(diag),
                Plan::Failed { diag } => fail(ctx.lang, diag),
                _ => fail(ctx.lang, Id::WrongState),
            }
        }
        Err(e) => fail(ctx.lang, e.diag()),
    }
}

fn ring_random() -> [u8; 8] {
    let mut b = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    b
}

fn doctor(ctx: &Ctx) -> ExitCode {
    let mut dev = match open(ctx) {
        Ok(d) => d,
        Err(c) => return c,
    };
    let lang = ctx.lang;
    let mut ok = true;
    let s = dev.mailer.settings().clone();
    println!("{}", tr(lang, "configuration:", "configuration :"));
    let v = s.validate();
    if v.is_empty() {
        println!(
            "  ✔ {}",
            tr(
                lang,
                "every rule passes",
                "toutes les règles sont respectées"
            )
        );
    }
    for r in v.iter() {
        ok = false;
        println!(
            "  ✘ {}",
            describe(r.diag(), lang).trim_end().replace('\n', "\n    ")
        );
    }
    // Token endpoint: reachability, TLS, ALPN.
    println!(
        "{}",
        tr(lang, "token endpoint:", "point de terminaison des jetons :")
    );
    match dev.provider() {
        Ok((p, _)) => {
            let e = p.token_endpoint();
            // The trust within the settings' TLS range (R-CFG).
            let opened = dev
                .server_tls()
                .map_err(|t| (t.to_string(), t.diag()))
                .and_then(|tls| {
                    Connection::connect_tls(e.host(), e.port(), &dev.token_net(), &tls.for_https())
                        .map_err(|n| (n.to_string(), n.diag()))
                });
            match opened {
                Ok(mut c) => {
                    let i = c.tls_info();
                    println!(
                        "  ✔ {}:{} {}",
                        e.host(),
                        e.port(),
                        i.map_or(String::new(), |i| format!(
                            "{} {} ALPN {}",
                            i.version,
                            i.cipher_suite,
                            i.alpn.unwrap_or_else(|| "none".into())
                        ))
                    );
                    c.close();
                }
                Err((err, id)) => {
                    ok = false;
                    println!("  ✘ {}:{}: {err}", e.host(), e.port());
                    print!("{}", indent(&describe(id, lang)));
                }
            }
        }
        Err(id) => {
            ok = false;
            print!("{}", indent(&describe(id, lang)));
        }
    }
    // SMTP: TLS, mechanisms, and the administrator's token if one is stored.
    println!("{}", tr(lang, "SMTP server:", "serveur SMTP :"));
    let Some(m) = s.smtp.clone() else {
        println!(
            "  ✘ {}",
            tr(
                lang,
                "no SMTP server configured",
                "aucun serveur SMTP configuré"
            )
        );
        return ExitCode::FAILURE;
    };
    let tls = match dev.server_tls() {
        Ok(t) => t,
        Err(e) => {
            println!("  ✘ {e}");
            print!("{}", indent(&describe(e.diag(), lang)));
            return ExitCode::FAILURE;
        }
    };
    let endpoint = SmtpEndpoint {
        host: m.host.to_string(),
        port: m.port,
        security: m.security,
        ehlo_name: dev.ehlo.clone(),
        mechanism: MechanismPreference::Xoauth2,
        net: NetOptions::default(),
        tls,
    };
    // A token check needs a token: refresh the administrator's if stored.
    let account = s.admin_address.clone();
    let rt = dev
        .mailer
        .store()
        .refresh_token(&TokenOwner::Admin)
        // Wiped when dropped, like the store's own copy.
        .map(|t| zeroize::Zeroizing::new(t.expose().to_vec()));
    let mut shown = Shown::new(lang);
    let token = match (&account, rt) {
        (Some(_), Some(rt)) => match signin::client(&dev).and_then(|mut c| {
            c.start_refresh(dev.clock.now(), &rt)
                .map_err(|e| FlowError::Failed(e.diag()))?;
            signin::run_with(&dev, c, &mut false, &mut |p| shown.prompt(p))
        }) {
            Ok(t) => {
                println!(
                    "  ✔ {}",
                    tr(
                        lang,
                        "administrator's refresh token accepted by the token endpoint",
                        "jeton d'actualisation de l'administrateur accepté par le point de terminaison des jetons",
                    )
                );
                // A rotated refresh token must be kept, or the next use fails.
                let now = dev.clock.now();
                let kept = match t.grant() {
                    Some(g) => dev
                        .mailer
                        .refresh_ended(
                            now,
                            crate::app::wall_now(),
                            &TokenOwner::Admin,
                            RefreshOutcome::Refreshed(g),
                        )
                        .is_ok(),
                    None => false,
                };
                if !kept || dev.drain_store().is_err() {
                    ok = false;
                    println!(
                        "  ✘ {}",
                        tr(
                            lang,
                            "the refreshed token could not be stored",
                            "le jeton renouvelé n'a pas pu être enregistré",
                        )
                    );
                }
                Some(t)
            }
            Err(e) => {
                ok = false;
                // How the flow ended, as the OAuth client said; the core
                // decides whether the grant is dead (R-TOK-4: erased) or
                // refused by consent or Conditional Access (kept).
                let _ = dev.mailer.refresh_ended(
                    dev.clock.now(),
                    crate::app::wall_now(),
                    &TokenOwner::Admin,
                    RefreshOutcome::Failed {
                        grant_refused: matches!(e, FlowError::Reauth(_)),
                        diag: e.diag(),
                    },
                );
                let _ = dev.drain_store();
                shown.stop_waiting();
                println!(
                    "  ✘ {}",
                    tr(
                        lang,
                        "the administrator's refresh grant failed",
                        "le renouvellement du jeton de l'administrateur a échoué",
                    )
                );
                if !shown.endpoint.is_empty() {
                    println!("    {}", shown.endpoint);
                }
                print!("{}", indent(&describe(e.diag(), lang)));
                None
            }
        },
        _ => {
            println!(
                "  - {}",
                tr(
                    lang,
                    "no administrator token stored: AUTH not tried (`mfp-oauth login --admin`)",
                    "aucun jeton d'administrateur enregistré : AUTH non essayé (`mfp-oauth login --admin`)",
                )
            );
            None
        }
    };
    let (Some(acc), Some(at)) = (account, token.and_then(|t| t.access_token().cloned())) else {
        return if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    };
    let mut refresh = || None;
    let r = smtp_driver::probe(
        &*dev.clock,
        &endpoint,
        acc,
        at,
        Hooks {
            refresh: &mut refresh,
            progress: &mut |p| match p {
                smtp_driver::Progress::TlsEstablished(i) => {
                    println!("  ✔ TLS {} {}", i.version, i.cipher_suite)
                }
                smtp_driver::Progress::Authenticating(_, offered) => {
                    let mut names = Vec::new();
                    for (on, name) in [
                        (offered.xoauth2, "XOAUTH2"),
                        (offered.oauthbearer, "OAUTHBEARER"),
                        (offered.plain, "PLAIN"),
                        (offered.login, "LOGIN"),
                    ] {
                        if on {
                            names.push(name);
                        }
                    }
                    println!(
                        "  ✔ {} {}",
                        tr(
                            lang,
                            "mechanisms offered after TLS:",
                            "mécanismes proposés après TLS :"
                        ),
                        names.join(" ")
                    );
                }
                smtp_driver::Progress::Authenticated(mech) => {
                    println!(
                        "  ✔ {}",
                        tr(lang, "token accepted with {m}", "jeton accepté avec {m}")
                            .replace("{m}", mech.name())
                    )
                }
                _ => {}
            },
        },
    );
    if let Err(e) = r {
        ok = false;
        println!("  ✘ {e}");
        print!("{}", indent(&describe(e.diag(), lang)));
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}
