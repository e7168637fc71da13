//! `repo-tool delegate`.

use std::path::PathBuf;

use clap::Args;
use repo_tool::changes::{delegate, DelegationScope};
use repo_tool::keys::LoadedKey;
use repo_tool::Result;

use super::{open, print_report};

/// Delegate paths, or all paths in hash bins, to new targets roles.
///
/// From a targets role to a new role owning some paths (shell-style patterns, `*`
/// not crossing `/`), or to COUNT hash-bin roles NAME-LO-HI splitting all paths by the
/// prefix of sha256(target path) (TUF path_hash_prefixes). Targets added afterwards go to
/// the role that owns their path; `publish` signs each role with its own keys.
#[derive(Args)]
pub struct DelegateArgs {
    pub repo: PathBuf,
    #[arg(long, default_value = "targets")]
    pub from: String,
    #[arg(long)]
    pub to: String,
    /// Keys of the new role(s): public key files suffice.
    #[arg(long = "key", required = true, num_args = 1..)]
    pub keys: Vec<String>,
    #[arg(long, default_value_t = 1)]
    pub threshold: u64,
    #[arg(long, num_args = 1.., conflicts_with = "hash_bins", required_unless_present = "hash_bins")]
    pub paths: Vec<String>,
    #[arg(long)]
    pub hash_bins: Option<u32>,
    #[arg(long)]
    pub terminating: bool,
}

pub fn run(a: DelegateArgs, json: bool) -> Result<()> {
    let repo = open(&a.repo)?;
    let keys = LoadedKey::load_all(&a.keys)?;
    let scope = match a.hash_bins {
        Some(n) => DelegationScope::HashBins(n),
        None => DelegationScope::Paths(a.paths),
    };
    let r = delegate(
        &repo,
        &a.from,
        &a.to,
        &keys,
        a.threshold,
        scope,
        a.terminating,
        chrono::Utc::now(),
    )?;
    print_report(json, &r, || {
        format!(
            "{} delegates to {} ({} of {} key(s)); run repo-tool publish",
            r.from,
            r.roles.join(", "),
            r.threshold,
            r.keyids.len()
        )
    });
    Ok(())
}
