//! What the device commands share: `--config FILE`, the updater built from it, the verified
//! targets after a refresh, the target source and the report upload.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tufota_client::device::report::{HttpReportSink, ReportQueue};
use tufota_client::device::source::MirrorSource;
use tufota_client::device::{DeviceConfig, NoHook};
use tufota_client::metadata::TargetFile;
use tufota_client::transport::{directory_url, DefaultTransport, Mirror, TransportConfig};
use tufota_client::updater::{Updater, UpdaterConfig};

use crate::error::CliError;

#[derive(Debug, Args)]
pub struct DeviceOptions {
    /// The device configuration (TOML) the device commands act on.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl DeviceOptions {
    pub fn load(&self, command: &'static str) -> Result<DeviceConfig, CliError> {
        let path = self.config.as_deref().ok_or(CliError::MissingOption {
            command,
            option: "config",
        })?;
        Ok(DeviceConfig::load(path)?)
    }
}

fn transport_config(config: &DeviceConfig) -> TransportConfig {
    TransportConfig {
        read_timeout: Duration::from_secs(config.limits.http_timeout_secs),
        ..TransportConfig::default()
    }
}

/// Refreshes the trusted metadata from the configured mirror (TUF spec §5.3–§5.6) and
/// returns every verified target (top-level and delegated) with a source for their bytes.
///
/// Every metadata request carries the device's `checkin` headers (model, versions, region).
/// Target downloads do not: they often come from a CDN or object store that is no fleet
/// server, and the check-in is already made once per refresh.
pub fn refresh(
    config: &DeviceConfig,
    checkin: Vec<(String, String)>,
) -> Result<(Vec<(String, TargetFile)>, MirrorSource), CliError> {
    let bad_url = |option: &'static str| move |source| CliError::BadUrl { option, source };
    let mirror = Mirror::new(&config.mirrors.metadata, Some(&config.mirrors.targets))
        .map_err(bad_url("config mirrors"))?;
    let transport = DefaultTransport::new(transport_config(config))
        .with_headers(checkin)
        .map_err(CliError::CheckinHeader)?;
    let refresh_failed = |e| CliError::Refresh(Box::new(e));
    let mut updater = Updater::new(
        &config.metadata_dir,
        vec![mirror],
        Box::new(transport),
        UpdaterConfig::default(),
    )
    .map_err(refresh_failed)?;
    updater.refresh().map_err(refresh_failed)?;
    let targets = updater
        .all_targets()
        .map_err(refresh_failed)?
        .into_iter()
        .map(|info| (info.name, info.file))
        .collect();
    let targets_base =
        directory_url(&config.mirrors.targets).map_err(bad_url("config mirrors.targets"))?;
    let consistent = updater.trusted().root().signed().consistent_snapshot();
    Ok((
        targets,
        MirrorSource::new(targets_base, consistent, transport_config(config)),
    ))
}

/// Sends queued reports if a report URL is configured; a failure only leaves them queued.
pub fn flush_reports(config: &DeviceConfig) {
    let Some(url) = &config.report_url else {
        return;
    };
    let sink = HttpReportSink::new(url, Duration::from_secs(config.limits.http_timeout_secs));
    let queue = ReportQueue::new(&config.report_queue_dir());
    match queue.flush(&sink, &NoHook) {
        Ok(out) if out.queued > 0 => {
            eprintln!(
                "tufota-client: {} report(s) stay queued; {url} did not accept them",
                out.queued
            )
        }
        Ok(_) => {}
        Err(e) => eprintln!("tufota-client: reports stay queued: {e}"),
    }
}

pub fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Output {
        reason: e.to_string(),
    })?;
    println!("{text}");
    Ok(())
}
