//! `repo-tool rollout`.

use std::path::PathBuf;

use clap::Args;
use repo_tool::changes::rollout;
use repo_tool::Result;

use super::{open, parse_time_arg, print_report};

/// Set a target's staged rollout (custom.rollout), keeping its other custom fields.
#[derive(Args)]
pub struct RolloutArgs {
    pub repo: PathBuf,
    pub name: String,
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub percent: u8,
    /// YYYY-MM-DDTHH:MM:SSZ
    #[arg(long)]
    pub start: Option<String>,
}

pub fn run(a: RolloutArgs, json: bool) -> Result<()> {
    let repo = open(&a.repo)?;
    let start = a.start.as_deref().map(parse_time_arg).transpose()?;
    let (role, custom) = rollout(&repo, &a.name, a.percent, start)?;
    let report = serde_json::json!({"target": a.name, "role": role, "custom": custom});
    print_report(json, &report, || {
        format!(
            "{}: rollout {}% in {role}; run repo-tool publish",
            a.name, a.percent
        )
    });
    Ok(())
}
