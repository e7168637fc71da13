//! `boot`: one boot of the simulated bootloader of every files-backend component — what a
//! U-Boot or GRUB script does on a real device (try the new slot once, fall back when its
//! tries are used up). For the demo and for testing on a workstation.

use clap::Args;
use tufota_client::device::config::SlotsConfig;
use tufota_client::device::{simulated_boot, BootOutcome, NoHook};

use crate::device_options::{print_json, DeviceOptions};
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct Boot {
    /// Print what booted as JSON.
    #[arg(long)]
    json: bool,
}

impl Boot {
    pub fn run(&self, options: &DeviceOptions) -> Result<(), CliError> {
        let config = options.load("boot")?;
        let mut outcomes = Vec::new();
        for (name, component) in &config.components {
            let SlotsConfig::Files { dir } = &component.slots else {
                return Err(CliError::NotSimulated {
                    component: name.clone(),
                });
            };
            outcomes.push((
                name.clone(),
                simulated_boot(dir, &NoHook).map_err(tufota_client::device::EngineError::from)?,
            ));
        }
        if self.json {
            return print_json(&outcomes);
        }
        for (name, outcome) in &outcomes {
            match outcome {
                BootOutcome::Active { slot } => println!("{name}: booted slot {slot}"),
                BootOutcome::Trial { slot, tries_left } => {
                    println!("{name}: booted slot {slot} on trial ({tries_left} tries left)")
                }
                BootOutcome::FellBack { failed, slot } => {
                    println!("{name}: slot {failed} was not confirmed; fell back to slot {slot}")
                }
            }
        }
        Ok(())
    }
}
