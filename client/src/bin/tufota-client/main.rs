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
//! The device commands take the device configuration, also before the command:
//!
//! ```text
//! tufota-client --config FILE check [--json]      what would be installed, and why not the rest
//! tufota-client --config FILE update [--json]     refresh, install into the inactive slot, arm it
//! tufota-client --config FILE confirm [--json]    after the reboot: mark the new slot good
//! tufota-client --config FILE rollback [--component NAME] [--json]
//! tufota-client --config FILE status [--json]
//! tufota-client --config FILE boot [--json]       one boot of the simulated bootloader (files slots)
//! ```
//!
//! Exit status of the repository commands: 0 on success, 1 on any failure — argument errors and internal errors
//! included — with one line on stderr saying what failed. Each command is one file with
//! one clap struct and a `run` function that calls the library.
#![forbid(unsafe_code)]

mod boot;
mod check;
mod confirm;
mod device_options;
mod download;
mod error;
mod init;
mod options;
mod refresh;
mod rollback;
mod status;
mod update;

use clap::{Parser, Subcommand};

use device_options::DeviceOptions;
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
    #[command(flatten)]
    device: DeviceOptions,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Init(init::Init),
    Refresh(refresh::Refresh),
    Download(download::Download),
    Check(check::Check),
    Update(update::Update),
    Confirm(confirm::Confirm),
    Rollback(rollback::Rollback),
    Status(status::Status),
    Boot(boot::Boot),
}

impl Command {
    fn run(&self, repo: &RepoOptions, device: &DeviceOptions) -> Result<(), CliError> {
        match self {
            Command::Init(c) => c.run(repo),
            Command::Refresh(c) => c.run(repo),
            Command::Download(c) => c.run(repo),
            Command::Check(c) => c.run(device),
            Command::Update(c) => c.run(device),
            Command::Confirm(c) => c.run(device),
            Command::Rollback(c) => c.run(device),
            Command::Status(c) => c.run(device),
            Command::Boot(c) => c.run(device),
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
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                print!("{e}");
                std::process::exit(0);
            }
            clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                eprintln!("tufota-client: a command is needed (init, refresh, download, check, update, confirm, rollback, status or boot); see --help");
                std::process::exit(1);
            }
            _ => {
                eprintln!("tufota-client: {}", error::first_line(&e.to_string()));
                std::process::exit(1);
            }
        },
    };
    if let Err(e) = cli.command.run(&cli.repo, &cli.device) {
        eprintln!("tufota-client: {}", error::first_line(&e.to_string()));
        std::process::exit(e.exit_code());
    }
}
