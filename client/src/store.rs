//! The local metadata directory: the metadata a device trusts, one file per role, each the
//! exact bytes that were received and verified (TUF spec §5: the client keeps the trusted
//! metadata it needs for rollback protection across runs).
//!
//! File names. The top-level roles live in `root.json`, `timestamp.json`, `snapshot.json`
//! and `targets.json` (the names the TUF conformance CLI protocol expects). A delegated
//! role's name comes from signed but delegator-chosen metadata and may be anything: `../x`,
//! `/x`, `a?b`, a name differing only in case from another. Its file is named by
//! percent-encoding every byte of the name that is not `a-z`, `0-9`, `-` or `_` (upper-case
//! letters and `.` included, as `%XX` with upper-case hex) and appending `.json`. The result
//! is always a single path component, never `.` or `..`, and two different role names never
//! map to names that are equal even on a case-insensitive file system (`A` → `%41.json`,
//! `a` → `a.json`). Delegated roles cannot be named like a top-level role (the metadata
//! model refuses such delegations), so they cannot collide with the four fixed names.
//!
//! Writes are atomic: a temporary file in the same directory (named `.tmp-*.partial`, never
//! `*.json`), written, fsynced, renamed over the old file, then the directory fsynced. A
//! power cut leaves either the old or the new document, never a mix.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::metadata::TOP_LEVEL_ROLES;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("metadata directory {dir}: {reason}")]
    Dir { dir: PathBuf, reason: String },
    #[error("reading {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path} refused: it is larger than the limit of {limit} bytes")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("writing {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// The directory holding the trusted metadata.
#[derive(Debug, Clone)]
pub struct MetadataStore {
    dir: PathBuf,
}

/// The file name for `role` inside the metadata directory (see the module documentation).
pub fn role_file_name(role: &str) -> String {
    if TOP_LEVEL_ROLES.contains(&role) {
        return format!("{role}.json");
    }
    let mut name = String::with_capacity(role.len() + 5);
    for b in role.bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    name.push_str(".json");
    name
}

impl MetadataStore {
    /// Uses an existing directory.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        match fs::metadata(dir) {
            Ok(m) if m.is_dir() => Ok(MetadataStore { dir: dir.into() }),
            Ok(_) => Err(StoreError::Dir {
                dir: dir.into(),
                reason: "not a directory".into(),
            }),
            Err(e) => Err(StoreError::Dir {
                dir: dir.into(),
                reason: e.to_string(),
            }),
        }
    }

    /// Creates the directory (and its parents) if needed.
    pub fn create(dir: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(|e| StoreError::Dir {
            dir: dir.into(),
            reason: e.to_string(),
        })?;
        Self::open(dir)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path_of(&self, role: &str) -> PathBuf {
        self.dir.join(role_file_name(role))
    }

    /// The stored bytes of `role`, `None` if there are none; at most `max_len` bytes are read.
    pub fn load(&self, role: &str, max_len: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path_of(role);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(StoreError::Read {
                    path,
                    reason: e.to_string(),
                })
            }
        };
        read_bounded(file, &path, max_len).map(Some)
    }

    /// Deletes the stored document of `role`, if any (fast-forward recovery, spec §5.3.11).
    pub fn remove(&self, role: &str) -> Result<(), StoreError> {
        let path = self.path_of(role);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir).map_err(|e| StoreError::Write {
                path,
                reason: format!("fsync of the directory: {e}"),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Write {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// Replaces the stored document of `role` with `bytes`, atomically.
    pub fn save(&self, role: &str, bytes: &[u8]) -> Result<(), StoreError> {
        write_atomic(&self.dir, &role_file_name(role), bytes)
    }
}

fn read_bounded(file: File, path: &Path, max_len: u64) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    file.take(max_len.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| StoreError::Read {
            path: path.into(),
            reason: e.to_string(),
        })?;
    if out.len() as u64 > max_len {
        return Err(StoreError::TooLarge {
            path: path.into(),
            limit: max_len,
        });
    }
    Ok(out)
}

/// A temporary file in `dir` that is never mistaken for metadata (`.tmp-*.partial`).
pub fn temp_file_in(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".partial")
        .tempfile_in(dir)
}

/// Moves a completely written temporary file to `dir/file_name`: fsync the file, rename,
/// fsync the directory.
pub fn persist_temp(
    temp: tempfile::NamedTempFile,
    dir: &Path,
    file_name: &str,
) -> Result<(), StoreError> {
    let path = dir.join(file_name);
    let write_err = |reason: String| StoreError::Write {
        path: path.clone(),
        reason,
    };
    temp.as_file()
        .sync_all()
        .map_err(|e| write_err(e.to_string()))?;
    temp.persist(&path)
        .map_err(|e| write_err(e.error.to_string()))?;
    sync_dir(dir).map_err(|e| write_err(format!("fsync of the directory: {e}")))
}

/// Writes `bytes` to `dir/file_name` atomically (temp file, fsync, rename, fsync dir).
pub fn write_atomic(dir: &Path, file_name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let path = dir.join(file_name);
    let write_err = |reason: String| StoreError::Write {
        path: path.clone(),
        reason,
    };
    let mut temp = temp_file_in(dir).map_err(|e| write_err(e.to_string()))?;
    temp.write_all(bytes)
        .map_err(|e| write_err(e.to_string()))?;
    persist_temp(temp, dir, file_name)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Directories cannot be opened for fsync on Windows; the rename is what is atomic there.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_cannot_escape_or_collide() {
        assert_eq!(role_file_name("root"), "root.json");
        assert_eq!(role_file_name("role1"), "role1.json");
        assert_eq!(role_file_name("bins-0_x"), "bins-0_x.json");
        assert_eq!(role_file_name("../x"), "%2E%2E%2Fx.json");
        assert_eq!(role_file_name("/x"), "%2Fx.json");
        assert_eq!(role_file_name("a?b"), "a%3Fb.json");
        assert_eq!(role_file_name("A"), "%41.json");
        assert_eq!(role_file_name("a"), "a.json");
        assert_eq!(role_file_name(""), ".json");
        assert_eq!(role_file_name("%41"), "%2541.json");
        for (a, b) in [("A", "a"), ("Role", "role"), ("bIns", "biNs")] {
            assert_ne!(
                role_file_name(a).to_lowercase(),
                role_file_name(b).to_lowercase()
            );
        }
        for name in [
            "../x",
            "/x",
            "a?b",
            "A",
            "..",
            ".",
            "a/../../b",
            "\\x",
            "C:x",
        ] {
            let f = role_file_name(name);
            assert!(
                !f.contains('/') && !f.contains('\\') && !f.contains(':'),
                "{f}"
            );
            assert_ne!(f, ".json");
        }
    }

    #[test]
    fn save_is_atomic_and_leaves_no_temp_json() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetadataStore::open(dir.path()).unwrap();
        store.save("targets", b"one").unwrap();
        store.save("targets", b"two").unwrap();
        store.save("../evil", b"three").unwrap();
        assert_eq!(store.load("targets", 10).unwrap().unwrap(), b"two");
        assert_eq!(store.load("../evil", 10).unwrap().unwrap(), b"three");
        assert!(store.load("snapshot", 10).unwrap().is_none());
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["%2E%2E%2Fevil.json", "targets.json"]);
        assert!(matches!(
            store.load("targets", 2),
            Err(StoreError::TooLarge { limit: 2, .. })
        ));
    }
}
