//! `repo-tool add`.

use std::path::PathBuf;

use clap::Args;
use repo_tool::changes::{add, CustomFields};
use repo_tool::delta::{add_with_deltas, DeltaBase};
use repo_tool::target_files::{expand_inputs, StageMode};
use repo_tool::{RepoError, Result};
use tufota_client::metadata::HashAlgorithm;

use super::{open, parse_time_arg, print_report};

/// Add target files (hash, length, custom fields) to the drafts; `publish` signs them.
///
/// Inputs: one FILE with --name, several FILE=NAME pairs, or directories (every file below,
/// named by its relative path, under --name if given). Each target goes to the delegated
/// role that owns its path. With --delta-from, one FILE and a delta target per base.
#[derive(Args)]
pub struct AddArgs {
    pub repo: PathBuf,
    #[arg(required = true, num_args = 1..)]
    pub inputs: Vec<String>,
    /// The target path (for one file), or a directory prefix (for a directory).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, num_args = 1..)]
    pub device_model: Vec<String>,
    #[arg(long)]
    pub component: Option<String>,
    #[arg(long)]
    pub version: Option<String>,
    #[arg(long)]
    pub build: Option<String>,
    #[arg(long)]
    pub security_version: Option<u64>,
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub rollout_percent: Option<u8>,
    /// YYYY-MM-DDTHH:MM:SSZ
    #[arg(long)]
    pub rollout_start: Option<String>,
    /// A JSON object of custom fields; the flags above override its members.
    #[arg(long)]
    pub custom: Option<String>,
    /// More hash algorithms besides sha256 (sha384, sha512). Devices compute every one listed.
    #[arg(long = "hash", num_args = 1..)]
    pub hashes: Vec<String>,
    /// Copy files instead of hard-linking them. A hard link (the default, falling back to a
    /// copy across file systems) shares the source's bytes: do not edit a source in place
    /// until it is published, or use --copy.
    #[arg(long)]
    pub copy: bool,
    /// Also add a delta target (TARGET_PATH.from-VERSION.delta) from each base: the name of a
    /// target in the repository (its custom.version is VERSION), or FILE=VERSION.
    #[arg(long, num_args = 1.., value_name = "BASE")]
    pub delta_from: Vec<String>,
}

pub fn run(a: AddArgs, json: bool) -> Result<()> {
    let repo = open(&a.repo)?;
    let custom = CustomFields {
        base_json: a.custom,
        device_model: a.device_model,
        component: a.component,
        version: a.version,
        build: a.build,
        security_version: a.security_version,
        rollout_percent: a.rollout_percent,
        rollout_start: a.rollout_start.as_deref().map(parse_time_arg).transpose()?,
    }
    .build()?;
    let mut extra = Vec::new();
    for h in &a.hashes {
        extra
            .push(HashAlgorithm::from_name(h).ok_or_else(|| {
                RepoError::Usage(format!("--hash {h}: sha256, sha384 or sha512"))
            })?);
    }
    let files = expand_inputs(&a.inputs, a.name.as_deref())?;
    if files.is_empty() {
        return Err(RepoError::Usage("no files to add".into()));
    }
    let mode = if a.copy {
        StageMode::Copy
    } else {
        StageMode::Link
    };
    let report = if a.delta_from.is_empty() {
        add(&repo, &files, custom, &extra, mode)?
    } else {
        let [full] = files.as_slice() else {
            return Err(RepoError::Usage(
                "--delta-from: give exactly one file (with --name) to make deltas to".into(),
            ));
        };
        let bases: Vec<DeltaBase> = a.delta_from.iter().map(|b| DeltaBase::parse(b)).collect();
        add_with_deltas(&repo, full, custom, &bases, &extra, mode)?
    };
    print_report(json, &report, || {
        let roles: Vec<String> = report
            .roles
            .iter()
            .map(|(r, n)| format!("{r}: {n}"))
            .collect();
        format!(
            "added {} target(s), {} bytes ({}); run repo-tool publish to sign them",
            report.added,
            report.bytes,
            roles.join(", ")
        )
    });
    Ok(())
}
