//! `mfp-oauth`: the command-line tool.

use clap::{Parser, Subcommand, ValueEnum};
use mfp_oauth_core::diag::{Id, Lang};
use std::process::ExitCode;

/// OAuth 2.0 e-mail for multifunction printers: tools for firmware and
/// support engineers.
#[derive(Debug, Parser)]
#[command(name = "mfp-oauth", version)]
struct Cli {
    /// Language of messages.
    #[arg(long, value_enum, global = true, default_value = "en")]
    lang: LangArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LangArg {
    En,
    Fr,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Explain a diagnostic id (for example `mfp-oauth diag 305`), or list
    /// them all.
    Diag {
        /// The number shown on the panel or in the log.
        id: Option<u16>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = match cli.lang {
        LangArg::En => Lang::En,
        LangArg::Fr => Lang::Fr,
    };
    match cli.command {
        Command::Diag { id: Some(n) } => match Id::from_number(n) {
            Some(id) => {
                print!("{}", mfp_oauth_host::catalogue::describe(id, lang));
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("no diagnostic with number {n}");
                ExitCode::from(2)
            }
        },
        Command::Diag { id: None } => {
            for id in Id::ALL {
                print!("{}", mfp_oauth_host::catalogue::describe(*id, lang));
            }
            ExitCode::SUCCESS
        }
    }
}
