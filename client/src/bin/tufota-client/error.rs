//! Errors of the CLI and their exit codes.

use std::path::PathBuf;

use thiserror::Error;
use tufota_client::device::config::ConfigError;
use tufota_client::device::install::InstallError;
use tufota_client::device::EngineError;
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
    /// A device command's metadata refresh failed (exit status 3, unlike the repository
    /// commands' 1).
    #[error("refreshing metadata: {0}")]
    Refresh(Box<UpdateError>),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The check-in header built from the configuration is not a valid header.
    #[error("check-in header: {0}")]
    CheckinHeader(TransportError),
    #[error(transparent)]
    Engine(Box<EngineError>),
    #[error("component {name:?} is not configured")]
    UnknownComponent { name: String },
    #[error("component {component} does not use the files backend; its bootloader boots it")]
    NotSimulated { component: String },
    #[error("writing output: {reason}")]
    Output { reason: String },
}

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> Self {
        CliError::Engine(Box::new(e))
    }
}

impl From<UpdateError> for CliError {
    fn from(e: UpdateError) -> Self {
        CliError::Update(Box::new(e))
    }
}

impl CliError {
    /// The TUF conformance protocol knows success (0) and failure (1) only; every failure
    /// of the repository commands is 1. The device commands say more, stably:
    /// 2 configuration, 3 metadata refresh or network, 4 an image refused (hash, length,
    /// delta), 5 slot or boot-environment I/O, journal or report queue, 6 refused by the
    /// update state (busy, not booted into the new slot, rollback refused).
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Config(_)
            | CliError::CheckinHeader(_)
            | CliError::UnknownComponent { .. }
            | CliError::NotSimulated { .. } => 2,
            CliError::Refresh(_) => 3,
            CliError::Engine(e) => match e.as_ref() {
                EngineError::Install(InstallError::Fetch { .. }) => 3,
                EngineError::Install(
                    InstallError::Hash { .. }
                    | InstallError::Length { .. }
                    | InstallError::Delta { .. },
                ) => 4,
                EngineError::Install(_)
                | EngineError::Journal(_)
                | EngineError::Slot(_)
                | EngineError::Boot(_)
                | EngineError::Report(_)
                | EngineError::StateDir { .. }
                | EngineError::NoFactoryImage { .. }
                | EngineError::ActiveSlotUnverified { .. } => 5,
                EngineError::UnknownComponent { .. } => 2,
                EngineError::Busy { .. }
                | EngineError::NotBootedIntoNewSlot { .. }
                | EngineError::NotRunningConfirmedSlot { .. }
                | EngineError::RollbackRefused { .. }
                | EngineError::TargetTooLarge { .. } => 6,
            },
            _ => 1,
        }
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
