//! `check`: refresh, then show what the policy would install and why every other target
//! was passed over. Changes nothing on the device.

use chrono::Utc;
use clap::Args;
use tufota_client::device::{Device, NoHook, TufotaDelta};

use crate::device_options::{print_json, refresh, DeviceOptions};
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct Check {
    /// Print the decision as JSON.
    #[arg(long)]
    json: bool,
}

impl Check {
    pub fn run(&self, options: &DeviceOptions) -> Result<(), CliError> {
        let config = options.load("check")?;
        let now = Utc::now();
        let device = Device::open(&config, &NoHook, now)?;
        let (targets, _) = refresh(&config, device.checkin_headers()?)?;
        let decision = device.check(&targets, &TufotaDelta, now)?;
        if self.json {
            return print_json(&decision);
        }
        for c in &decision.choices {
            let how = match &c.delta {
                Some(d) => format!("delta {}", d.name),
                None => "full image".to_owned(),
            };
            println!(
                "{}: install {} {} -> {} ({how})",
                c.component, c.name, c.from_version, c.version
            );
        }
        if decision.choices.is_empty() {
            println!("up to date");
        }
        for s in &decision.skipped {
            println!("passed over {}: {}", s.target, s.reason);
        }
        Ok(())
    }
}
