//! The options every repository command shares; they come before the command name, as the
//! TUF conformance client protocol puts them.

use std::path::{Path, PathBuf};

use clap::Args;
use tufota_client::transport::{directory_url, DefaultTransport, Mirror, TransportConfig};
use tufota_client::updater::{Updater, UpdaterConfig};

use crate::error::CliError;

#[derive(Debug, Args)]
pub struct RepoOptions {
    /// Directory of the trusted metadata (root.json, timestamp.json, ...).
    #[arg(long, value_name = "DIR")]
    pub metadata_dir: Option<PathBuf>,
    /// Base URL of the repository's metadata (http, https or file).
    #[arg(long, value_name = "URL")]
    pub metadata_url: Option<String>,
    /// Target path to download (repeatable).
    #[arg(long, value_name = "NAME")]
    pub target_name: Vec<String>,
    /// Directory verified targets are stored in.
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Base URL of the repository's targets (http, https or file).
    #[arg(long, value_name = "URL")]
    pub target_base_url: Option<String>,
}

impl RepoOptions {
    pub fn metadata_dir(&self, command: &'static str) -> Result<&Path, CliError> {
        self.metadata_dir.as_deref().ok_or(CliError::MissingOption {
            command,
            option: "metadata-dir",
        })
    }

    pub fn target_dir(&self, command: &'static str) -> Result<&Path, CliError> {
        self.target_dir.as_deref().ok_or(CliError::MissingOption {
            command,
            option: "target-dir",
        })
    }

    /// An updater over the one mirror the options name, with default limits and the system
    /// clock.
    pub fn updater(&self, command: &'static str, with_targets: bool) -> Result<Updater, CliError> {
        let metadata_dir = self.metadata_dir(command)?;
        let metadata_url = self
            .metadata_url
            .as_deref()
            .ok_or(CliError::MissingOption {
                command,
                option: "metadata-url",
            })?;
        let targets_url = if with_targets {
            Some(
                self.target_base_url
                    .as_deref()
                    .ok_or(CliError::MissingOption {
                        command,
                        option: "target-base-url",
                    })?,
            )
        } else {
            None
        };
        let mirror = Mirror::new(metadata_url, None).map_err(|source| CliError::BadUrl {
            option: "metadata-url",
            source,
        })?;
        let targets_base = targets_url
            .map(directory_url)
            .transpose()
            .map_err(|source| CliError::BadUrl {
                option: "target-base-url",
                source,
            })?;
        let mirror = Mirror {
            targets_base,
            ..mirror
        };
        let transport = DefaultTransport::new(TransportConfig::default());
        Ok(Updater::new(
            metadata_dir,
            vec![mirror],
            Box::new(transport),
            UpdaterConfig::default(),
        )?)
    }
}
