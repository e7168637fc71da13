//! The repository directory:
//!
//! ```text
//! REPO/
//!   repo-tool.json        settings: expiry durations per role
//!   metadata/             published: 1.root.json … N.root.json, root.json (copy of the
//!                         latest), N.targets.json, N.<delegated>.json, N.snapshot.json,
//!                         timestamp.json (without consistent snapshots: <role>.json)
//!   targets/              target files: dir/<sha256>.<basename>; with consistent snapshots
//!                         `add` writes here at once (a name no signed metadata lists is
//!                         never fetched, and a name carries its hash)
//!   staged/               work not yet published
//!     root.json           root N+1 being signed (root ceremony)
//!     targets.json        draft of the top-level targets role (unsigned)
//!     <role>.json         drafts of delegated targets roles (unsigned)
//!     targets/            without consistent snapshots: files added, not yet published
//! ```
//!
//! `metadata/` and `targets/` are what a web server serves. `timestamp.json` is written last
//! by every publish, so a client sees either the whole old repository or the whole new one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::atomic::{read_bounded, write_atomic};
use crate::duration::parse_duration;
use crate::error::{RepoError, Result};

pub const CONFIG_FILE: &str = "repo-tool.json";

/// Default lifetimes: root is signed offline and rarely; timestamp is re-signed by cron.
pub const DEFAULT_EXPIRES: [(&str, &str); 4] = [
    ("root", "365d"),
    ("targets", "90d"),
    ("snapshot", "7d"),
    ("timestamp", "1d"),
];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepoConfig {
    /// Role name (or a delegated role's name) to a duration such as `90d`. Delegated roles
    /// without an entry take the `targets` duration.
    pub expires: BTreeMap<String, String>,
}

impl Default for RepoConfig {
    fn default() -> Self {
        RepoConfig {
            expires: DEFAULT_EXPIRES
                .iter()
                .map(|(r, d)| (r.to_string(), d.to_string()))
                .collect(),
        }
    }
}

impl RepoConfig {
    pub fn expiry(&self, role: &str) -> Result<Duration> {
        let text = self
            .expires
            .get(role)
            .or_else(|| self.expires.get("targets"))
            .map(String::as_str)
            .unwrap_or("90d");
        parse_duration(text)
    }
}

#[derive(Debug, Clone)]
pub struct Repository {
    dir: PathBuf,
}

impl Repository {
    /// Opens an existing repository (one `repo-tool init` made).
    pub fn open(dir: &Path) -> Result<Self> {
        let repo = Repository {
            dir: dir.to_path_buf(),
        };
        if !repo.config_path().is_file() {
            return Err(RepoError::Io {
                path: repo.config_path(),
                action: "open",
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not a repo-tool repository (run repo-tool init)",
                ),
            });
        }
        Ok(repo)
    }

    /// A handle on a directory that `init` is about to fill.
    pub fn new_at(dir: &Path) -> Self {
        Repository {
            dir: dir.to_path_buf(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }
    pub fn metadata_dir(&self) -> PathBuf {
        self.dir.join("metadata")
    }
    pub fn targets_dir(&self) -> PathBuf {
        self.dir.join("targets")
    }
    pub fn staged_dir(&self) -> PathBuf {
        self.dir.join("staged")
    }
    pub fn staged_targets_dir(&self) -> PathBuf {
        self.staged_dir().join("targets")
    }
    /// The draft of a targets role, or staged root N+1 for `root`.
    pub fn staged_role_path(&self, role: &str) -> PathBuf {
        self.staged_dir().join(format!("{role}.json"))
    }

    /// The published file of `role` at `version`: `N.role.json` with consistent snapshots
    /// (always for root, spec §5.3.4), `role.json` without, and always `timestamp.json`.
    pub fn metadata_path(&self, role: &str, version: u64, consistent: bool) -> PathBuf {
        let name = if role == "timestamp" || (!consistent && role != "root") {
            format!("{role}.json")
        } else {
            format!("{version}.{role}.json")
        };
        self.metadata_dir().join(name)
    }

    pub fn config(&self) -> Result<RepoConfig> {
        let path = self.config_path();
        let bytes = read_bounded(&path, 1024 * 1024)?;
        serde_json::from_slice(&bytes).map_err(|e| RepoError::Io {
            path,
            action: "parse",
            source: std::io::Error::other(e.to_string()),
        })
    }

    pub fn write_config(&self, config: &RepoConfig) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(config).unwrap_or_default();
        bytes.push(b'\n');
        write_atomic(&self.config_path(), &bytes)
    }
}
