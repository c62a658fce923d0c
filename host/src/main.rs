//! `mfp-oauth`: the command-line tool (see `mfp-oauth --help`).

use std::process::ExitCode;

fn main() -> ExitCode {
    mfp_oauth_host::cli::run(mfp_oauth_host::cli_help_fr::parse())
}
