//! `update`: refresh, decide, stream the chosen image into the inactive slot (resuming an
//! interrupted download), verify it and arm it for one trial boot.

use chrono::Utc;
use clap::Args;
use tufota_client::device::progress::TerminalProgress;
use tufota_client::device::{Device, NoHook, TufotaDelta, UpdateOutcome};

use crate::device_options::{flush_reports, print_json, refresh, DeviceOptions};
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct Update {
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

impl Update {
    pub fn run(&self, options: &DeviceOptions) -> Result<(), CliError> {
        let config = options.load("update")?;
        // The device opens (finishing what a power cut interrupted) before the refresh, so
        // that the check-in header names the versions actually running.
        let now = Utc::now();
        let mut device = Device::open(&config, &NoHook, now)?;
        let (targets, source) = refresh(&config, device.checkin_headers()?)?;
        let mut progress = TerminalProgress::for_stderr();
        let result = device.update(&targets, &source, &TufotaDelta, &mut *progress, now);
        flush_reports(&config);
        let outcomes = result?;
        if self.json {
            return print_json(&outcomes);
        }
        for (component, outcome) in &outcomes {
            match outcome {
                UpdateOutcome::Armed {
                    version,
                    slot,
                    delta,
                } => println!(
                    "{component}: {version} written to slot {slot}{}; reboot, then confirm",
                    if *delta { " from a delta" } else { "" }
                ),
                UpdateOutcome::AwaitingBoot { version, slot } => {
                    println!("{component}: {version} in slot {slot} awaits reboot and confirm")
                }
                UpdateOutcome::UpToDate => println!("{component}: up to date"),
                UpdateOutcome::Abandoned { reason } => println!("{component}: abandoned: {reason}"),
            }
        }
        Ok(())
    }
}
