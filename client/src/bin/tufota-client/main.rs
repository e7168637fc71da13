//! `tufota-client`, the device CLI.
//!
//! The repository commands follow the TUF conformance client protocol
//! (theupdateframework/tuf-conformance, CLIENT-CLI.md) exactly, options before the command:
//!
//! ```text
//! tufota-client --metadata-dir DIR init ROOT_FILE
//! tufota-client --metadata-url URL --metadata-dir DIR refresh
//! tufota-client --metadata-url URL --metadata-dir DIR --target-name NAME [--target-name NAME ...]
//!               --target-dir DIR --target-base-url URL download
//! ```
//!
//! Exit status: 0 on success, 1 on any failure — argument errors and internal errors
//! included — with one line on stderr saying what failed. Each command is one file with
//! one clap struct and a `run` function that calls the library.
#![forbid(unsafe_code)]

mod download;
mod error;
mod init;
mod options;
mod refresh;

use clap::{Parser, Subcommand};

use error::CliError;
use options::RepoOptions;

#[derive(Debug, Parser)]
#[command(
    name = "tufota-client",
    version,
    about = "tufota device client (TUF 1.0.x)"
)]
struct Cli {
    #[command(flatten)]
    repo: RepoOptions,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Init(init::Init),
    Refresh(refresh::Refresh),
    Download(download::Download),
}

impl Command {
    fn run(&self, repo: &RepoOptions) -> Result<(), CliError> {
        match self {
            Command::Init(c) => c.run(repo),
            Command::Refresh(c) => c.run(repo),
            Command::Download(c) => c.run(repo),
        }
    }
}

fn main() {
    // A panic is a bug, but the protocol still wants exit status 1 and one line. The hook
    // runs before unwinding or aborting (the release profile aborts), so exit here.
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string().replace('\n', " ");
        eprintln!("tufota-client: internal error: {message}");
        std::process::exit(1);
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    print!("{e}");
                    std::process::exit(0);
                }
                clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    eprintln!("tufota-client: a command is needed (init, refresh or download); see --help");
                    std::process::exit(1);
                }
                _ => {
                    eprintln!("tufota-client: {}", error::first_line(&e.to_string()));
                    std::process::exit(1);
                }
            }
        }
    };
    if let Err(e) = cli.command.run(&cli.repo) {
        eprintln!("tufota-client: {}", error::first_line(&e.to_string()));
        std::process::exit(e.exit_code());
    }
}
