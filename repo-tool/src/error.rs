//! Errors of repo-tool. Each variant renders as one line naming the file, the role and the
//! check that failed; [`RepoError::exit_code`] maps it to the stable exit codes documented in
//! README.md and `repo-tool --help`.

use std::path::PathBuf;

use thiserror::Error;
use tufota_client::metadata::{KeyError, MetadataError};

/// Stable process exit codes (README.md "Exit codes").
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Verification failed or the operation was refused (threshold, signature, name, expiry).
    pub const REFUSED: u8 = 1;
    /// The command line is wrong (clap's own code too).
    pub const USAGE: u8 = 2;
    /// A file or directory could not be read or written.
    pub const IO: u8 = 3;
    /// An external signer program failed or returned a bad signature.
    pub const SIGNER: u8 = 4;
}

#[derive(Debug, Error)]
pub enum RepoError {
    #[error("{path}: cannot {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{file}: {source}")]
    Metadata {
        file: PathBuf,
        source: MetadataError,
    },
    #[error("key {file}: {source}")]
    Key { file: String, source: KeyError },
    #[error("key {file}: {reason}")]
    KeyFile { file: String, reason: String },
    #[error("{file}: {role} refused: {valid} valid signature(s) from its authorised keys, threshold is {threshold}{hint}")]
    Threshold {
        file: PathBuf,
        role: String,
        valid: u64,
        threshold: u64,
        hint: String,
    },
    #[error("target name {name:?} refused: {reason}")]
    TargetName { name: String, reason: String },
    #[error("{file}: {role} refused: {reason}")]
    Refused {
        file: PathBuf,
        role: String,
        reason: String,
    },
    #[error("external signer {program:?}: {reason}")]
    Signer { program: String, reason: String },
    #[error("{file}: delta refused: {source}")]
    Delta {
        file: PathBuf,
        source: tufota_delta::DeltaError,
    },
    #[error("verification failed: {count} problem(s); first: {first}")]
    Verify { count: usize, first: String },
}

impl RepoError {
    pub fn exit_code(&self) -> u8 {
        match self {
            RepoError::Io { .. }
            | RepoError::Delta {
                source: tufota_delta::DeltaError::Io { .. },
                ..
            } => exit::IO,
            RepoError::Usage(_) => exit::USAGE,
            RepoError::Signer { .. } => exit::SIGNER,
            RepoError::Metadata { .. }
            | RepoError::Key { .. }
            | RepoError::KeyFile { .. }
            | RepoError::Threshold { .. }
            | RepoError::TargetName { .. }
            | RepoError::Refused { .. }
            | RepoError::Delta { .. }
            | RepoError::Verify { .. } => exit::REFUSED,
        }
    }

    pub fn io(
        path: impl Into<PathBuf>,
        action: &'static str,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| RepoError::Io {
            path,
            action,
            source,
        }
    }

    pub(crate) fn refused(
        file: impl Into<PathBuf>,
        role: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        RepoError::Refused {
            file: file.into(),
            role: role.into(),
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = RepoError> = std::result::Result<T, E>;
