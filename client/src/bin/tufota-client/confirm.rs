//! `confirm`: after booting the new slot, mark it good and raise the anti-rollback floor;
//! only now is the update reported as a success.

use chrono::Utc;
use clap::Args;
use tufota_client::device::{ConfirmOutcome, Device, NoHook};

use crate::device_options::{flush_reports, print_json, DeviceOptions};
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct Confirm {
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

impl Confirm {
    pub fn run(&self, options: &DeviceOptions) -> Result<(), CliError> {
        let config = options.load("confirm")?;
        let now = Utc::now();
        let mut device = Device::open(&config, &NoHook, now)?;
        let mut outcomes = Vec::new();
        for component in &mut device.components {
            outcomes.push((component.name.clone(), component.confirm(now)?));
        }
        flush_reports(&config);
        if self.json {
            return print_json(&outcomes);
        }
        for (component, outcome) in &outcomes {
            match outcome {
                ConfirmOutcome::Confirmed { version, slot } => {
                    println!("{component}: {version} in slot {slot} confirmed")
                }
                ConfirmOutcome::NothingPending => println!("{component}: nothing to confirm"),
            }
        }
        Ok(())
    }
}
