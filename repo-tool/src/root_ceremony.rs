//! The root ceremony: root N+1 is staged (`staged/root.json`), carried to each key holder
//! (a copy on a USB stick to an air-gapped machine is fine), signed there with
//! `repo-tool sign`, brought back and merged with `repo-tool root merge`, and published by
//! `repo-tool root publish` only when it is signed by a threshold of root N's root keys
//! and by a threshold of its own (TUF spec §5.3.4, which every client checks: a root that
//! fails either would strand every device).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tufota_client::metadata::{
    key_id_of, Key, PublicKey, Role, RoleKeys, Root, Signed, Snapshot, Targets, Timestamp, TufTime,
    TOP_LEVEL_ROLES,
};

use crate::atomic::{read_metadata_file, write_atomic};
use crate::error::{RepoError, Result};
use crate::keys::LoadedKey;
use crate::layout::Repository;
use crate::published::{parse_bytes, Published};
use crate::signatures::{require_threshold, sign_with};

fn check_role_name(role: &str) -> Result<()> {
    if TOP_LEVEL_ROLES.contains(&role) {
        Ok(())
    } else {
        Err(RepoError::Usage(format!(
            "--role {role}: one of root, targets, snapshot, timestamp"
        )))
    }
}

/// Staged root N+1, if any.
pub fn staged_root(repo: &Repository) -> Result<Option<Signed<Root>>> {
    let path = repo.staged_role_path("root");
    if !path.exists() {
        return Ok(None);
    }
    let bytes = read_metadata_file(&path)?;
    parse_staged_root(&path, &bytes).map(Some)
}

/// Reads staged root N+1 from the bytes of `staged/root.json` (`path` names it in errors).
/// Its signatures are not checked here: they are collected while it is staged, and counted by
/// [`publish_root`].
pub fn parse_staged_root(path: &Path, bytes: &[u8]) -> Result<Signed<Root>> {
    parse_bytes("root", path, bytes)
}

#[derive(Debug, Clone, Serialize)]
pub struct StagedRootReport {
    pub file: PathBuf,
    pub version: u64,
    pub expires: String,
    pub roles: BTreeMap<String, RoleKeys>,
}

/// Applies `edit` to staged root N+1 (creating it from root N if not staged yet) and writes
/// it back without signatures: any signature made before the edit covered other bytes.
pub fn edit_root(
    repo: &Repository,
    now: DateTime<Utc>,
    edit: impl FnOnce(&mut Root) -> Result<()>,
) -> Result<StagedRootReport> {
    let path = repo.staged_role_path("root");
    let mut root = match staged_root(repo)? {
        Some(staged) => staged.into_signed(),
        None => {
            let published = Published::load(repo)?;
            let mut root = published.require_root(repo)?.signed().clone();
            root.version += 1;
            root.expires = TufTime(now + repo.config()?.expiry("root")?);
            root
        }
    };
    edit(&mut root)?;
    for (name, keys) in &root.roles {
        if keys.threshold == 0 || keys.threshold > keys.keyids.len() as u64 {
            return Err(RepoError::refused(
                &path,
                "root",
                format!(
                    "role {name} would have threshold {} with {} key(s)",
                    keys.threshold,
                    keys.keyids.len()
                ),
            ));
        }
    }
    let doc = Signed::new(root).map_err(|source| RepoError::Metadata {
        file: path.clone(),
        source,
    })?;
    write_atomic(&path, &doc.to_bytes())?;
    let root = doc.signed();
    Ok(StagedRootReport {
        file: path,
        version: root.version,
        expires: tufota_client::metadata::format_time(&root.expires.0),
        roles: root.roles.clone(),
    })
}

pub fn add_key(root: &mut Root, role: &str, key: &Key) -> Result<String> {
    check_role_name(role)?;
    let keyid = key_id_of(key).map_err(|e| RepoError::Usage(e.to_string()))?;
    root.keys.insert(keyid.clone(), key.clone());
    let entry = root
        .roles
        .get_mut(role)
        .ok_or_else(|| RepoError::refused("staged/root.json", "root", format!("no {role} role")))?;
    if !entry.keyids.contains(&keyid) {
        entry.keyids.push(keyid.clone());
    }
    Ok(keyid)
}

pub fn remove_key(root: &mut Root, role: &str, keyid: &str) -> Result<()> {
    check_role_name(role)?;
    let entry = root
        .roles
        .get_mut(role)
        .ok_or_else(|| RepoError::refused("staged/root.json", "root", format!("no {role} role")))?;
    let before = entry.keyids.len();
    entry.keyids.retain(|k| k != keyid);
    if entry.keyids.len() == before {
        return Err(RepoError::Usage(format!(
            "key {keyid} is not a {role} key in root"
        )));
    }
    if !root
        .roles
        .values()
        .any(|r| r.keyids.iter().any(|k| k == keyid))
    {
        root.keys.remove(keyid);
    }
    Ok(())
}

pub fn set_threshold(root: &mut Root, role: &str, threshold: u64) -> Result<()> {
    check_role_name(role)?;
    let entry = root
        .roles
        .get_mut(role)
        .ok_or_else(|| RepoError::refused("staged/root.json", "root", format!("no {role} role")))?;
    entry.threshold = threshold;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct SignReport {
    pub file: PathBuf,
    pub role: String,
    pub version: u64,
    pub signed_by: Vec<String>,
    pub signatures: usize,
}

/// Adds the signatures of `keys` to a metadata document of any role, in place (atomically).
/// Used for staged root N+1 and its copies on air-gapped machines.
pub fn sign_file(path: &Path, keys: &[LoadedKey]) -> Result<SignReport> {
    for key in keys {
        if key.signer().is_none() {
            return Err(RepoError::KeyFile {
                file: key.source.clone(),
                reason: format!("key {} is a public key only and cannot sign", key.keyid),
            });
        }
    }
    let bytes = read_metadata_file(path)?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| RepoError::refused(path, "?", format!("not JSON: {e}")))?;
    let role = value
        .get("signed")
        .and_then(|s| s.get("_type"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let keyids: Vec<String> = keys.iter().map(|k| k.keyid.clone()).collect();
    let (version, signatures, out) = match role.as_str() {
        "root" => sign_doc::<Root>(path, &role, &bytes, keys, &keyids)?,
        "targets" => sign_doc::<Targets>(path, &role, &bytes, keys, &keyids)?,
        "snapshot" => sign_doc::<Snapshot>(path, &role, &bytes, keys, &keyids)?,
        "timestamp" => sign_doc::<Timestamp>(path, &role, &bytes, keys, &keyids)?,
        other => {
            return Err(RepoError::refused(
                path,
                other,
                "signed._type is not root, targets, snapshot or timestamp",
            ))
        }
    };
    write_atomic(path, &out)?;
    Ok(SignReport {
        file: path.to_path_buf(),
        role,
        version,
        signed_by: keyids,
        signatures,
    })
}

fn sign_doc<T: Role>(
    path: &Path,
    role: &str,
    bytes: &[u8],
    keys: &[LoadedKey],
    keyids: &[String],
) -> Result<(u64, usize, Vec<u8>)> {
    let mut doc: Signed<T> = parse_bytes(role, path, bytes)?;
    sign_with(&mut doc, keys, keyids)?;
    Ok((doc.signed().version(), doc.signatures.len(), doc.to_bytes()))
}

#[derive(Debug, Clone, Serialize)]
pub struct MergeReport {
    pub file: PathBuf,
    pub added: Vec<String>,
    pub ignored: Vec<String>,
    pub signatures: usize,
}

/// Merges the signatures of copies of staged root N+1 into it. A copy must hold exactly the
/// same signed content; a signature is taken only if it verifies with a key of root N or
/// root N+1 (others are reported as ignored).
pub fn merge(repo: &Repository, copies: &[PathBuf]) -> Result<MergeReport> {
    let path = repo.staged_role_path("root");
    let mut staged = staged_root(repo)?.ok_or_else(|| {
        RepoError::refused(
            &path,
            "root",
            "no root is staged (root add-key/remove-key/threshold/expires stage one)",
        )
    })?;
    let published = Published::load(repo)?;
    let mut keys: BTreeMap<String, Key> = staged.signed().keys.clone();
    if let Some(old) = published.root() {
        keys.extend(old.signed().keys.clone());
    }
    let mut added = Vec::new();
    let mut ignored = Vec::new();
    for copy_path in copies {
        let bytes = read_metadata_file(copy_path)?;
        let copy: Signed<Root> = parse_bytes("root", copy_path, &bytes)?;
        if copy.canonical_bytes() != staged.canonical_bytes() {
            return Err(RepoError::refused(
                copy_path,
                "root",
                format!(
                    "its signed content differs from {} (a copy of another staging?)",
                    path.display()
                ),
            ));
        }
        for sig in &copy.signatures {
            if staged.signatures.iter().any(|s| s.keyid == sig.keyid) {
                continue;
            }
            let valid = keys.get(&sig.keyid).is_some_and(|k| {
                PublicKey::from_key(k).ok().is_some_and(|pk| {
                    pk.verify(&sig.keyid, staged.canonical_bytes(), &sig.sig)
                        .is_ok()
                })
            });
            if valid {
                staged.signatures.push(sig.clone());
                added.push(sig.keyid.clone());
            } else {
                ignored.push(sig.keyid.clone());
            }
        }
    }
    write_atomic(&path, &staged.to_bytes())?;
    Ok(MergeReport {
        file: path,
        added,
        ignored,
        signatures: staged.signatures.len(),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct RootPublishReport {
    pub file: PathBuf,
    pub version: u64,
    pub signatures_from_previous: Option<(u64, u64)>,
    pub signatures_from_new: (u64, u64),
}

/// Publishes staged root N+1 if root N's root keys and its own both reach their thresholds.
pub fn publish_root(repo: &Repository, keys: &[LoadedKey]) -> Result<RootPublishReport> {
    let path = repo.staged_role_path("root");
    let mut staged =
        staged_root(repo)?.ok_or_else(|| RepoError::refused(&path, "root", "no root is staged"))?;
    let published = Published::load(repo)?;
    let new = staged.signed().clone();
    let new_role = new
        .role("root")
        .ok_or_else(|| RepoError::refused(&path, "root", "no root role"))?
        .clone();
    let expected = published.root().map_or(1, |r| r.signed().version + 1);
    if new.version != expected {
        return Err(RepoError::refused(
            &path,
            "root",
            format!(
                "staged version is {}, the next root version is {expected}",
                new.version
            ),
        ));
    }
    let mut all_ids = new_role.keyids.clone();
    if let Some(old) = published.root() {
        if let Some(r) = old.signed().role("root") {
            all_ids.extend(r.keyids.iter().cloned());
        }
    }
    if !keys.is_empty() {
        sign_with(&mut staged, keys, &all_ids)?;
    }
    let previous = match published.root() {
        Some(old) => {
            let old_root = old.signed();
            let old_role = old_root.role("root").ok_or_else(|| {
                RepoError::refused(&path, "root", "previous root has no root role")
            })?;
            require_threshold(
                &staged,
                &path,
                &format!(
                    "root {} (threshold of root {}'s keys)",
                    new.version, old_root.version
                ),
                &old_root.keys,
                &old_role.keyids,
                old_role.threshold,
            )?;
            Some((
                staged.count_valid_signatures(&old_root.keys, &old_role.keyids),
                old_role.threshold,
            ))
        }
        None => None,
    };
    require_threshold(
        &staged,
        &path,
        &format!("root {} (threshold of its own keys)", new.version),
        &new.keys,
        &new_role.keyids,
        new_role.threshold,
    )?;
    let bytes = staged.to_bytes();
    let file = repo.metadata_path("root", new.version, true);
    write_atomic(&file, &bytes)?;
    write_atomic(&repo.metadata_dir().join("root.json"), &bytes)?;
    fs::remove_file(&path).map_err(RepoError::io(&path, "remove staged root"))?;
    Ok(RootPublishReport {
        file,
        version: new.version,
        signatures_from_previous: previous,
        signatures_from_new: (
            staged.count_valid_signatures(&new.keys, &new_role.keyids),
            new_role.threshold,
        ),
    })
}
