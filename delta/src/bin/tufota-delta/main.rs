//! `tufota-delta`: make, apply and inspect tufota delta patches from the command line.
//! Parses arguments, calls the library, prints; exit code 1 on any error, 2 on bad usage.

mod apply;
mod diff;
mod header;
mod streams;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tufota-delta", version, about = "tufota binary delta patches")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Diff(diff::Diff),
    Apply(apply::Apply),
    Header(header::Header),
    Streams(streams::Streams),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.cmd {
        Cmd::Diff(c) => c.run(),
        Cmd::Apply(c) => c.run(),
        Cmd::Header(c) => c.run(),
        Cmd::Streams(c) => c.run(),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tufota-delta: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Errors of the CLI: the library's, or a file that cannot be opened/read/written.
#[derive(Debug)]
pub enum CliError {
    Delta(tufota_delta::DeltaError),
    File(String, std::io::Error),
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Delta(e) => write!(f, "{e}"),
            CliError::File(path, e) => write!(f, "{path}: {e}"),
        }
    }
}

impl From<tufota_delta::DeltaError> for CliError {
    fn from(e: tufota_delta::DeltaError) -> Self {
        CliError::Delta(e)
    }
}

/// Attach the path to an I/O error.
pub fn at(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |e| CliError::File(path.display().to_string(), e)
}
