//! Errors of the CLI and their exit codes.

use std::path::PathBuf;

use thiserror::Error;
use tufota_client::store::StoreError;
use tufota_client::transport::TransportError;
use tufota_client::trust::TrustError;
use tufota_client::updater::UpdateError;

#[derive(Debug, Error)]
pub enum CliError {
    #[error("{command} needs --{option}")]
    MissingOption {
        command: &'static str,
        option: &'static str,
    },
    #[error("--{option}: {source}")]
    BadUrl {
        option: &'static str,
        #[source]
        source: TransportError,
    },
    #[error("reading {path}: {reason}")]
    ReadFile { path: PathBuf, reason: String },
    #[error("{path} refused as trusted root: {source}")]
    BadRoot {
        path: PathBuf,
        #[source]
        source: Box<TrustError>,
    },
    #[error("target {name:?} is not in the trusted targets metadata")]
    TargetNotFound { name: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Update(Box<UpdateError>),
}

impl From<UpdateError> for CliError {
    fn from(e: UpdateError) -> Self {
        CliError::Update(Box::new(e))
    }
}

impl CliError {
    /// The TUF conformance protocol knows success (0) and failure (1) only; every failure
    /// of these commands is 1.
    pub fn exit_code(&self) -> i32 {
        1
    }
}

/// The first line of a message, without clap's `error: ` prefix: errors are one line.
pub fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("failed");
    line.trim().trim_start_matches("error: ").to_string()
}
