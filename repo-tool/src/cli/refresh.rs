//! `repo-tool refresh`.

use std::path::PathBuf;

use clap::Args;
use repo_tool::duration::parse_duration;
use repo_tool::keys::LoadedKey;
use repo_tool::publish::refresh;
use repo_tool::Result;

use super::{open, print_report};

/// For cron: re-sign timestamp (or snapshot) with a new version and expiry.
///
/// Nothing else changes. Refreshing snapshot also writes a new timestamp (it names the snapshot), so
/// give the timestamp key too.
#[derive(Args)]
pub struct RefreshArgs {
    pub repo: PathBuf,
    #[arg(long, value_parser = ["timestamp", "snapshot"])]
    pub role: String,
    #[arg(long = "key", required = true, num_args = 1..)]
    pub keys: Vec<String>,
    /// Lifetime of the refreshed role (default: the repository's setting).
    #[arg(long)]
    pub expires: Option<String>,
}

pub fn run(a: RefreshArgs, json: bool) -> Result<()> {
    let repo = open(&a.repo)?;
    let keys = LoadedKey::load_all(&a.keys)?;
    let expires = a.expires.as_deref().map(parse_duration).transpose()?;
    let report = refresh(&repo, &a.role, &keys, expires, chrono::Utc::now())?;
    print_report(json, &report, || super::publish::human(&report));
    Ok(())
}
