//! The journal: one small JSON file per component, replaced atomically at every step, that
//! says what each slot holds and where the update in flight stands. After a power cut the
//! client reads it and finishes or undoes the interrupted step (see `install::recover`).
//!
//! An update moves through typed states — [`Decided`] → [`Downloading`] → [`Written`] →
//! [`Verified`] → [`PendingBoot`] → [`Confirmed`] or [`RolledBack`] (or [`Failed`] when a
//! download or a check failed before anything was armed) — and each state can only be built
//! by the transition out of the one before it, consuming it. [`UpdateState`] is what is
//! persisted, so the journal and the code cannot name different states.
//!
//! What the journal promises: `slots` lists only slots holding a complete image that matched
//! signed metadata (a slot is removed from it in the same write that starts overwriting it),
//! and the boot environment's confirmed slot is always one of them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::boot::SlotId;
use super::durable::{read_bounded, write_atomic, DurableWriteError, StepHook};
use super::policy::DeltaChoice;
use crate::metadata::{TargetFile, TufTime};

const MAX_JOURNAL_BYTES: u64 = 1 << 20;

#[derive(Debug, Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("journal {path} is corrupt: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error(transparent)]
    Write(#[from] DurableWriteError),
}

/// A complete, verified image in a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotImage {
    /// The signed target it came from; `None` for the factory image.
    pub target: Option<String>,
    pub version: String,
    pub security_version: u64,
    /// Lowercase hex sha256 and length, when known (always, for images this client wrote).
    pub sha256: Option<String>,
    pub length: Option<u64>,
}

/// Everything an update needs to be resumed by a fresh process after a power cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Names this update in reports; stable across restarts.
    pub id: String,
    pub component: String,
    /// The full target; its length and hashes verify the slot, delta or not.
    pub target: String,
    pub file: TargetFile,
    pub version: String,
    pub security_version: u64,
    pub from_version: String,
    pub from_slot: SlotId,
    pub to_slot: SlotId,
    pub delta: Option<DeltaChoice>,
    pub started: TufTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decided {
    pub plan: Plan,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Downloading {
    pub plan: Plan,
    /// Bytes of the target (or of the patch) durably in the slot: synced before journaled.
    /// A resumed download re-hashes these and fetches the rest from here (HTTP Range).
    pub durable_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub plan: Plan,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    pub plan: Plan,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingBoot {
    pub plan: Plan,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmed {
    pub plan: Plan,
    pub finished: TufTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolledBack {
    pub plan: Plan,
    pub reason: String,
    pub finished: TufTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failed {
    pub plan: Plan,
    pub phase: Phase,
    pub error: String,
    pub finished: TufTime,
}

/// Where an update was when it ended or stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Decided,
    Downloading,
    Written,
    Verified,
    PendingBoot,
    Confirmed,
    RolledBack,
}

impl Decided {
    pub fn new(plan: Plan) -> Self {
        Decided { plan }
    }
    pub fn start_download(self) -> Downloading {
        Downloading {
            plan: self.plan,
            durable_bytes: 0,
        }
    }
}

impl Downloading {
    pub fn written(self) -> Written {
        Written { plan: self.plan }
    }
}

impl Written {
    pub fn verified(self) -> Verified {
        Verified { plan: self.plan }
    }
}

impl Verified {
    pub fn armed(self) -> PendingBoot {
        PendingBoot { plan: self.plan }
    }
}

impl PendingBoot {
    pub fn confirmed(self, now: DateTime<Utc>) -> Confirmed {
        Confirmed {
            plan: self.plan,
            finished: TufTime(now),
        }
    }
    pub fn rolled_back(self, reason: String, now: DateTime<Utc>) -> RolledBack {
        RolledBack {
            plan: self.plan,
            reason,
            finished: TufTime(now),
        }
    }
}

impl Confirmed {
    /// A confirmed update undone on request, back to the slot it replaced.
    pub fn rolled_back(self, reason: String, now: DateTime<Utc>) -> RolledBack {
        RolledBack {
            plan: self.plan,
            reason,
            finished: TufTime(now),
        }
    }
}

/// The persisted state of the update in flight, or of the last one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UpdateState {
    Idle,
    Decided(Decided),
    Downloading(Downloading),
    Written(Written),
    Verified(Verified),
    PendingBoot(PendingBoot),
    Confirmed(Confirmed),
    RolledBack(RolledBack),
    Failed(Failed),
}

impl UpdateState {
    pub fn plan(&self) -> Option<&Plan> {
        match self {
            UpdateState::Idle => None,
            UpdateState::Decided(s) => Some(&s.plan),
            UpdateState::Downloading(s) => Some(&s.plan),
            UpdateState::Written(s) => Some(&s.plan),
            UpdateState::Verified(s) => Some(&s.plan),
            UpdateState::PendingBoot(s) => Some(&s.plan),
            UpdateState::Confirmed(s) => Some(&s.plan),
            UpdateState::RolledBack(s) => Some(&s.plan),
            UpdateState::Failed(s) => Some(&s.plan),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            UpdateState::Idle => "idle",
            UpdateState::Decided(_) => "decided",
            UpdateState::Downloading(_) => "downloading",
            UpdateState::Written(_) => "written",
            UpdateState::Verified(_) => "verified",
            UpdateState::PendingBoot(_) => "pending_boot",
            UpdateState::Confirmed(_) => "confirmed",
            UpdateState::RolledBack(_) => "rolled_back",
            UpdateState::Failed(_) => "failed",
        }
    }

    /// An update is in flight: a new one must not start.
    pub fn in_flight(&self) -> bool {
        !matches!(
            self,
            UpdateState::Idle
                | UpdateState::Confirmed(_)
                | UpdateState::RolledBack(_)
                | UpdateState::Failed(_)
        )
    }
}

/// One component's persistent state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub component: String,
    /// Slots holding a complete image that matched signed metadata.
    pub slots: BTreeMap<SlotId, SlotImage>,
    /// The anti-rollback floor: the highest security_version confirmed on this device.
    pub security_floor: u64,
    /// Targets that failed to boot or were rolled back here; the policy passes over them.
    #[serde(default)]
    pub refused_targets: Vec<String>,
    pub update: UpdateState,
}

impl Journal {
    pub fn path(component_dir: &Path) -> PathBuf {
        component_dir.join("journal.json")
    }

    pub fn load(component_dir: &Path) -> Result<Option<Journal>, JournalError> {
        let path = Self::path(component_dir);
        let bytes =
            read_bounded(&path, MAX_JOURNAL_BYTES).map_err(|source| JournalError::Read {
                path: path.clone(),
                source,
            })?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let journal: Journal =
            serde_json::from_slice(&bytes).map_err(|e| JournalError::Corrupt {
                path: path.clone(),
                message: e.to_string(),
            })?;
        Ok(Some(journal))
    }

    /// Replaces the journal on disk in one atomic write.
    pub fn save(&self, component_dir: &Path, hook: &dyn StepHook) -> Result<(), JournalError> {
        let path = Self::path(component_dir);
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| JournalError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        write_atomic(&path, &bytes, hook)?;
        hook.reached("journal:saved");
        Ok(())
    }
}
