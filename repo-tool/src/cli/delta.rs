//! `repo-tool delta`.

use std::path::PathBuf;

use clap::Args;
use repo_tool::delta::write_patch;
use repo_tool::Result;

use super::print_report;

/// Write a tufota-delta patch that turns OLD into NEW (to publish yourself, or to measure).
#[derive(Args)]
pub struct DeltaArgs {
    /// The base image (what the device has installed).
    pub old: PathBuf,
    /// The new image the patch produces.
    pub new: PathBuf,
    /// The patch file to write (atomically).
    #[arg(short = 'o', long = "output", value_name = "PATCH")]
    pub output: PathBuf,
}

pub fn run(a: DeltaArgs, json: bool) -> Result<()> {
    let report = write_patch(&a.old, &a.new, &a.output)?;
    print_report(json, &report, || {
        format!(
            "{}: {} bytes, {:.2}% of {} bytes, in {:.2} s",
            report.patch.display(),
            report.patch_bytes,
            report.percent_of_new,
            report.new_bytes,
            report.seconds
        )
    });
    Ok(())
}
