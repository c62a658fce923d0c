//! `mfp-oauth`: the command-line tool (see `mfp-oauth --help`).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    mfp_oauth_host::cli::run(mfp_oauth_host::cli::Cli::parse())
}
