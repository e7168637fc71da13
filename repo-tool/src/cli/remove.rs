//! `repo-tool remove`.

use std::path::PathBuf;

use clap::Args;
use repo_tool::changes::remove;
use repo_tool::Result;

use super::{open, print_report};

/// Remove a target from the role that lists it.
///
/// Its file stays under targets/, since
/// clients holding older metadata may still fetch it).
#[derive(Args)]
pub struct RemoveArgs {
    pub repo: PathBuf,
    pub name: String,
}

pub fn run(a: RemoveArgs, json: bool) -> Result<()> {
    let repo = open(&a.repo)?;
    let role = remove(&repo, &a.name)?;
    let report = serde_json::json!({"removed": a.name, "role": role});
    print_report(json, &report, || {
        format!("removed {} from {role}; run repo-tool publish", a.name)
    });
    Ok(())
}
