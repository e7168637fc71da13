//! `status`: per component, the running and confirmed slots, the version, the floor, the
//! update in flight and what each slot holds; and how many reports wait to be sent.

use chrono::Utc;
use clap::Args;
use tufota_client::device::report::ReportQueue;
use tufota_client::device::{Device, NoHook};

use crate::device_options::{print_json, DeviceOptions};
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct Status {
    /// Print the status as JSON.
    #[arg(long)]
    json: bool,
}

impl Status {
    pub fn run(&self, options: &DeviceOptions) -> Result<(), CliError> {
        let config = options.load("status")?;
        let device = Device::open(&config, &NoHook, Utc::now())?;
        let mut statuses = Vec::new();
        for component in &device.components {
            statuses.push(component.status()?);
        }
        let queued = ReportQueue::new(&config.report_queue_dir())
            .pending()
            .map(|p| p.len())
            .unwrap_or(0);
        if self.json {
            return print_json(&serde_json::json!({
                "device_id": config.device_id,
                "model": config.model,
                "components": statuses,
                "reports_queued": queued,
            }));
        }
        println!("device {} ({})", config.device_id, config.model);
        for s in &statuses {
            println!(
                "{}: version {} (security floor {}), running slot {}, confirmed slot {}, update {}",
                s.component, s.version, s.security_floor, s.booted_slot, s.active_slot, s.state
            );
            if let Some(plan) = &s.plan {
                println!(
                    "  last update: {} -> {} into slot {}",
                    plan.from_version, plan.version, plan.to_slot
                );
            }
            for (slot, image) in &s.slots {
                println!(
                    "  slot {slot}: {} ({})",
                    image.version,
                    image.target.as_deref().unwrap_or("factory image")
                );
            }
        }
        println!("reports queued: {queued}");
        Ok(())
    }
}
