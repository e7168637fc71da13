//! Reading what is published: the latest root, timestamp, snapshot and the targets roles
//! snapshot lists. repo-tool trusts its own output here (it only edits it); `verify` is the
//! command that checks a repository the way a device does.

use std::path::{Path, PathBuf};

use tufota_client::metadata::{Role, Root, Signed, Snapshot, Targets, Timestamp};

use crate::atomic::read_metadata_file;
use crate::error::{RepoError, Result};
use crate::layout::Repository;

/// Parses a metadata file, naming it in errors.
pub fn parse_file<T: Role>(role: &str, path: &Path) -> Result<Signed<T>> {
    let bytes = read_metadata_file(path)?;
    parse_bytes(role, path, &bytes)
}

pub fn parse_bytes<T: Role>(role: &str, path: &Path, bytes: &[u8]) -> Result<Signed<T>> {
    Signed::from_bytes(role, bytes).map_err(|source| RepoError::Metadata {
        file: path.to_path_buf(),
        source,
    })
}

/// The published state of a repository.
pub struct Published {
    /// The latest root and its file; None before the first root is published.
    pub root: Option<(Signed<Root>, PathBuf)>,
    pub timestamp: Option<(Signed<Timestamp>, PathBuf)>,
    pub snapshot: Option<(Signed<Snapshot>, PathBuf)>,
}

impl Published {
    pub fn load(repo: &Repository) -> Result<Self> {
        let root = latest_root(repo)?;
        let consistent = root
            .as_ref()
            .map(|(r, _)| r.signed().consistent_snapshot())
            .unwrap_or(true);
        let ts_path = repo.metadata_path("timestamp", 0, consistent);
        let timestamp = if ts_path.exists() {
            Some((parse_file::<Timestamp>("timestamp", &ts_path)?, ts_path))
        } else {
            None
        };
        let snapshot = match &timestamp {
            Some((ts, ts_path)) => {
                let version = ts
                    .signed()
                    .snapshot_meta()
                    .map(|m| m.version)
                    .ok_or_else(|| {
                        RepoError::refused(ts_path, "timestamp", "no snapshot.json entry")
                    })?;
                let path = repo.metadata_path("snapshot", version, consistent);
                Some((parse_file::<Snapshot>("snapshot", &path)?, path))
            }
            None => None,
        };
        Ok(Published {
            root,
            timestamp,
            snapshot,
        })
    }

    pub fn root(&self) -> Option<&Signed<Root>> {
        self.root.as_ref().map(|(r, _)| r)
    }

    /// The published root, or a refusal naming what to do first.
    pub fn require_root(&self, repo: &Repository) -> Result<&Signed<Root>> {
        self.root().ok_or_else(|| {
            RepoError::refused(
                repo.metadata_dir().join("1.root.json"),
                "root",
                "no root is published yet: sign the staged root and run `repo-tool root publish`",
            )
        })
    }

    pub fn consistent(&self) -> bool {
        self.root()
            .map(|r| r.signed().consistent_snapshot())
            .unwrap_or(true)
    }

    /// The version of a targets role that the published snapshot lists.
    pub fn role_version(&self, role: &str) -> Option<u64> {
        let (snapshot, _) = self.snapshot.as_ref()?;
        snapshot
            .signed()
            .meta
            .get(&format!("{role}.json"))
            .map(|m| m.version)
    }

    /// The published document of a targets role, if snapshot lists one.
    pub fn load_targets(&self, repo: &Repository, role: &str) -> Result<Option<Signed<Targets>>> {
        let Some(version) = self.role_version(role) else {
            return Ok(None);
        };
        let path = repo.metadata_path(role, version, self.consistent());
        parse_file::<Targets>(role, &path).map(Some)
    }
}

/// The highest `N.root.json` reachable from `1.root.json` by consecutive versions.
pub fn latest_root(repo: &Repository) -> Result<Option<(Signed<Root>, PathBuf)>> {
    let mut latest = None;
    let mut version = 1;
    loop {
        let path = repo.metadata_path("root", version, true);
        if !path.exists() {
            return Ok(latest);
        }
        let root = parse_file::<Root>("root", &path)?;
        if root.signed().version != version {
            return Err(RepoError::refused(
                &path,
                "root",
                format!(
                    "file name says version {version}, document says {}",
                    root.signed().version
                ),
            ));
        }
        latest = Some((root, path));
        version += 1;
    }
}
