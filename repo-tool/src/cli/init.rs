//! `repo-tool init`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use repo_tool::init::{init, InitOptions};
use repo_tool::keys::LoadedKey;
use repo_tool::{RepoError, Result};

use super::print_report;

/// Create a repository with root version 1.
///
/// Root keys given as public keys only are offline:
/// root 1 is then staged (staged/root.json) for their holders to sign; otherwise root 1 and
/// the first targets, snapshot and timestamp are published at once.
#[derive(Args)]
pub struct InitArgs {
    pub repo: PathBuf,
    #[arg(long = "root-key", required = true, num_args = 1..)]
    pub root_keys: Vec<String>,
    #[arg(long, default_value_t = 1)]
    pub root_threshold: u64,
    #[arg(long = "targets-key", required = true, num_args = 1..)]
    pub targets_keys: Vec<String>,
    #[arg(long, default_value_t = 1)]
    pub targets_threshold: u64,
    #[arg(long = "snapshot-key", required = true)]
    pub snapshot_key: String,
    #[arg(long = "timestamp-key", required = true)]
    pub timestamp_key: String,
    /// ROLE=DURATION, e.g. timestamp=1d targets=90d root=365d (units s m h d w y).
    #[arg(long, num_args = 1..)]
    pub expires: Vec<String>,
    /// Publish plain role.json and target names instead of N.role.json and HASH.name.
    #[arg(long)]
    pub no_consistent_snapshot: bool,
}

pub fn run(a: InitArgs, json: bool) -> Result<()> {
    let mut expires = BTreeMap::new();
    for e in &a.expires {
        let (role, d) = e
            .split_once('=')
            .ok_or_else(|| RepoError::Usage(format!("--expires {e:?}: write ROLE=DURATION")))?;
        expires.insert(role.to_string(), d.to_string());
    }
    let options = InitOptions {
        root_keys: LoadedKey::load_all(&a.root_keys)?,
        root_threshold: a.root_threshold,
        targets_keys: LoadedKey::load_all(&a.targets_keys)?,
        targets_threshold: a.targets_threshold,
        snapshot_keys: vec![LoadedKey::load(&a.snapshot_key)?],
        timestamp_keys: vec![LoadedKey::load(&a.timestamp_key)?],
        expires,
        consistent_snapshot: !a.no_consistent_snapshot,
    };
    let report = init(&a.repo, options, chrono::Utc::now())?;
    print_report(json, &report, || {
        let mut out = format!("initialised {}", report.repository.display());
        if let Some(p) = &report.root_staged {
            out.push_str(&format!(
                "\nroot 1 is staged at {}: sign it with a threshold of root keys (repo-tool sign), then repo-tool root publish",
                p.display()
            ));
        }
        if let Some(r) = &report.root_published {
            out.push_str(&format!("\npublished {}", r.file.display()));
        }
        if let Some(p) = &report.published {
            for w in &p.written {
                out.push_str(&format!("\npublished {} version {}", w.role, w.version));
            }
        } else {
            out.push_str(
                "\ntargets, snapshot and timestamp not published yet: repo-tool publish --key …",
            );
        }
        out
    });
    Ok(())
}
