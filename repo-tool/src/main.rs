//! `repo-tool`: the publisher's and the security team's CLI. Each subcommand is one file in
//! `cli/`: it parses, calls the `repo_tool` library, prints (`--json` or human) and maps errors
//! to the exit codes below.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let json = args.json;
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                let v = serde_json::json!({"error": e.to_string(), "exit_code": e.exit_code()});
                eprintln!("{v}");
            } else {
                eprintln!("repo-tool: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
