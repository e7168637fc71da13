//! `repo-tool verify`.

use std::path::PathBuf;

use clap::Args;
use repo_tool::duration::parse_duration;
use repo_tool::verify::verify;
use repo_tool::{RepoError, Result};

use super::print_report;

/// Check the published repository as a device would.
///
/// With the devices' trust core: from
/// metadata/1.root.json through every rotation, timestamp, snapshot, targets and delegated
/// roles, then every target file's length and hashes. Exit 1 on any problem, including
/// anything that expires within --within.
#[derive(Args)]
pub struct VerifyArgs {
    pub repo: PathBuf,
    /// Also fail if a role expires within this duration (e.g. 7d).
    #[arg(long)]
    pub within: Option<String>,
}

pub fn run(a: VerifyArgs, json: bool) -> Result<()> {
    let within = a.within.as_deref().map(parse_duration).transpose()?;
    let report = verify(&a.repo, within, chrono::Utc::now());
    print_report(json, &report, || {
        let mut lines: Vec<String> = report
            .roles
            .iter()
            .map(|r| format!("{} version {} expires {}", r.role, r.version, r.expires))
            .collect();
        lines.push(format!(
            "{} target(s) checked, {} bytes",
            report.targets_checked, report.target_bytes
        ));
        for p in &report.problems {
            lines.push(format!("problem: {p}"));
        }
        if report.problems.is_empty() {
            lines.push("ok".into());
        }
        lines.join("\n")
    });
    match report.problems.first() {
        Some(first) => Err(RepoError::Verify {
            count: report.problems.len(),
            first: first.clone(),
        }),
        None => Ok(()),
    }
}
