//! The command line: one file per subcommand, each a clap struct and a `run`.

mod add;
mod delegate;
mod delta;
mod init;
mod key;
mod publish;
mod refresh;
mod remove;
mod rollout;
mod root;
mod serve;
mod sign;
mod status;
mod verify;

use clap::{Parser, Subcommand};
use repo_tool::Result;
use serde::Serialize;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  refused or verification failed (threshold not met, bad or missing signature, wrong key,
     bad target name, hash mismatch, expired or expiring within --within)
  2  usage error (bad arguments)
  3  a file or directory could not be read or written
  4  an external signer (--key cmd:…) failed or returned a bad signature

Keys (--key): a PKCS#8 PEM private key; a public key file (TUF key JSON as `key show --json`
writes, or PEM SubjectPublicKeyInfo) for an offline key; or cmd:PUBLIC_KEY_FILE:PROGRAM ARG…
for an external signer that reads the bytes to sign on stdin and writes the raw signature on
stdout. See repo-tool/README.md.";

#[derive(Parser)]
#[command(name = "repo-tool", version, about = "Build, sign, publish and verify tufota (TUF 1.0) repositories", after_help = EXIT_CODES)]
pub struct Cli {
    /// Print the report as JSON on stdout (errors as JSON on stderr).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate or show keys.
    #[command(subcommand)]
    Key(key::KeyCommand),
    Init(init::InitArgs),
    Add(add::AddArgs),
    Delta(delta::DeltaArgs),
    Remove(remove::RemoveArgs),
    Rollout(rollout::RolloutArgs),
    Publish(publish::PublishArgs),
    Refresh(refresh::RefreshArgs),
    /// The root ceremony: stage root N+1, merge signed copies, publish.
    #[command(subcommand)]
    Root(root::RootCommand),
    Sign(sign::SignArgs),
    Delegate(delegate::DelegateArgs),
    Verify(verify::VerifyArgs),
    Status(status::StatusArgs),
    Serve(serve::ServeArgs),
}

pub fn run(cli: Cli) -> Result<()> {
    let json = cli.json;
    match cli.command {
        Command::Key(c) => key::run(c, json),
        Command::Init(a) => init::run(a, json),
        Command::Add(a) => add::run(a, json),
        Command::Delta(a) => delta::run(a, json),
        Command::Remove(a) => remove::run(a, json),
        Command::Rollout(a) => rollout::run(a, json),
        Command::Publish(a) => publish::run(a, json),
        Command::Refresh(a) => refresh::run(a, json),
        Command::Root(c) => root::run(c, json),
        Command::Sign(a) => sign::run(a, json),
        Command::Delegate(a) => delegate::run(a, json),
        Command::Verify(a) => verify::run(a, json),
        Command::Status(a) => status::run(a, json),
        Command::Serve(a) => serve::run(a, json),
    }
}

/// Prints a report: JSON when asked, else the human text.
pub fn print_report<T: Serialize>(json: bool, report: &T, human: impl FnOnce() -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        );
    } else {
        let text = human();
        if !text.is_empty() {
            println!("{text}");
        }
    }
}

/// Parses a time given as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_time_arg(text: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    tufota_client::metadata::parse_time(text).map_err(repo_tool::RepoError::Usage)
}

pub fn open(dir: &std::path::Path) -> Result<repo_tool::layout::Repository> {
    repo_tool::layout::Repository::open(dir)
}
