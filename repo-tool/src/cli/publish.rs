//! `repo-tool publish`.

use std::path::PathBuf;

use clap::Args;
use repo_tool::keys::LoadedKey;
use repo_tool::publish::{publish, PublishReport};
use repo_tool::Result;

use super::{open, print_report};

/// Sign changed targets roles, then a new snapshot and timestamp.
///
/// Every changed targets role (top-level and delegated) is signed with its keys; versions are
/// bumped; every listed target file must be in targets/ (without consistent snapshots, staged
/// files move there). timestamp.json is written last, so clients see the old or the new repository, whole.
#[derive(Args)]
pub struct PublishArgs {
    pub repo: PathBuf,
    /// Keys of the roles to sign (each key signs every changed role that lists it).
    #[arg(long = "key", num_args = 1..)]
    pub keys: Vec<String>,
}

pub fn human(report: &PublishReport) -> String {
    if report.nothing_changed {
        return "nothing changed: nothing published".into();
    }
    let mut lines: Vec<String> = report
        .written
        .iter()
        .map(|w| {
            format!(
                "{} version {} (expires {}) -> {}",
                w.role,
                w.version,
                w.expires,
                w.file.display()
            )
        })
        .collect();
    if report.target_files_moved > 0 {
        lines.push(format!(
            "{} target file(s) published",
            report.target_files_moved
        ));
    }
    lines.join("\n")
}

pub fn run(a: PublishArgs, json: bool) -> Result<()> {
    let repo = open(&a.repo)?;
    let keys = LoadedKey::load_all(&a.keys)?;
    let report = publish(&repo, &keys, chrono::Utc::now())?;
    print_report(json, &report, || human(&report));
    Ok(())
}
