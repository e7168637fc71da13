//! `repo-tool status`.

use std::path::PathBuf;

use clap::Args;
use repo_tool::status::status;
use repo_tool::Result;

use super::{open, print_report};

/// Report roles, signatures, drafts, targets and download size.
///
/// Per role: version, expiry, keys, valid signatures against threshold; the staged root and
/// its signatures; drafts; target count; metadata bytes a new device downloads to refresh.
#[derive(Args)]
pub struct StatusArgs {
    pub repo: PathBuf,
}

pub fn run(a: StatusArgs, json: bool) -> Result<()> {
    let repo = open(&a.repo)?;
    let r = status(&repo)?;
    print_report(json, &r, || {
        let mut lines = Vec::new();
        for role in &r.roles {
            lines.push(format!(
                "{:<12} v{:<5} expires {}  signatures {}/{} of {} key(s){}",
                role.role,
                role.version,
                role.expires,
                role.valid_signatures,
                role.threshold,
                role.keys,
                role.targets
                    .map(|n| format!("  {n} target(s)"))
                    .unwrap_or_default()
            ));
        }
        if let Some(s) = &r.staged_root {
            let prev = s
                .previous_root
                .map(|(v, t)| format!("{v}/{t} of root {}'s keys, ", s.version - 1))
                .unwrap_or_default();
            lines.push(format!(
                "staged root {}: {prev}{}/{} of its own",
                s.version, s.own.0, s.own.1
            ));
        }
        if !r.drafts.is_empty() {
            lines.push(format!("unpublished changes: {}", r.drafts.join(", ")));
        }
        lines.push(format!("targets: {} ({} bytes)", r.targets, r.target_bytes));
        lines.push(format!(
            "a new device downloads {} bytes of metadata to refresh",
            r.new_device_metadata_bytes
        ));
        lines.join("\n")
    });
    Ok(())
}
