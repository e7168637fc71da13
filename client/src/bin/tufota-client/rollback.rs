//! `rollback`: drop a trial that was not confirmed yet, or return from a confirmed update
//! to the slot it replaced (never below the anti-rollback floor).

use chrono::Utc;
use clap::Args;
use tufota_client::device::{Device, NoHook, RollbackOutcome};

use crate::device_options::{flush_reports, print_json, DeviceOptions};
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct Rollback {
    /// The component to roll back (default: every configured one).
    #[arg(long, value_name = "NAME")]
    component: Option<String>,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

impl Rollback {
    pub fn run(&self, options: &DeviceOptions) -> Result<(), CliError> {
        let config = options.load("rollback")?;
        let now = Utc::now();
        let mut device = Device::open(&config, &NoHook, now)?;
        let mut outcomes = Vec::new();
        for component in &mut device.components {
            if self
                .component
                .as_ref()
                .is_some_and(|c| c != &component.name)
            {
                continue;
            }
            outcomes.push((component.name.clone(), component.rollback(now)?));
        }
        if let Some(name) = &self.component {
            if outcomes.is_empty() {
                return Err(CliError::UnknownComponent { name: name.clone() });
            }
        }
        flush_reports(&config);
        if self.json {
            return print_json(&outcomes);
        }
        for (component, outcome) in &outcomes {
            match outcome {
                RollbackOutcome::RolledBack { slot } => {
                    println!("{component}: rolled back; the next boot starts slot {slot}")
                }
                RollbackOutcome::AlreadyRolledBack { slot } => {
                    println!("{component}: already rolled back; the next boot starts slot {slot}")
                }
            }
        }
        Ok(())
    }
}
