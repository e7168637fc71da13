//! `publish` and `refresh`: turning drafts into signed, versioned metadata, then a new
//! snapshot and timestamp, in an order that keeps the repository consistent at every instant.
//!
//! Order: every document is built and signed in memory first (any missing key or threshold
//! is a refusal before a byte is written); then target files move into `targets/`; then the
//! targets roles `N.role.json`, then `N.snapshot.json`; `timestamp.json` last. A client reads
//! timestamp first, so until the last rename it sees the previous repository, whole.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tufota_client::metadata::{MetaFile, Role, Signed, Snapshot, Targets, Timestamp, TufTime};

use crate::atomic::write_atomic;
use crate::editor::TargetsEditor;
use crate::error::{RepoError, Result};
use crate::keys::LoadedKey;
use crate::layout::Repository;
use crate::published::Published;
use crate::signatures::{require_threshold, sign_with};
use crate::target_files::publish_files;

#[derive(Debug, Clone, Serialize)]
pub struct PublishedRole {
    pub role: String,
    pub version: u64,
    pub expires: String,
    pub file: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublishReport {
    /// Every document written, timestamp last.
    pub written: Vec<PublishedRole>,
    pub target_files_moved: usize,
    pub nothing_changed: bool,
}

fn meta_of(version: u64, bytes: &[u8]) -> MetaFile {
    let mut meta = MetaFile::new(version);
    meta.length = Some(bytes.len() as u64);
    meta.hashes = Some(BTreeMap::from([(
        "sha256".to_string(),
        hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes)),
    )]));
    meta
}

fn build<T: Role>(doc: T, file: &std::path::Path) -> Result<Signed<T>> {
    Signed::new(doc).map_err(|source| RepoError::Metadata {
        file: file.to_path_buf(),
        source,
    })
}

struct Pending {
    report: PublishedRole,
    bytes: Vec<u8>,
}

fn pending<T: Role>(role: &str, doc: &Signed<T>, file: PathBuf) -> Pending {
    Pending {
        report: PublishedRole {
            role: role.into(),
            version: doc.signed().version(),
            expires: tufota_client::metadata::format_time(&doc.signed().expires()),
            file,
        },
        bytes: doc.to_bytes(),
    }
}

/// Signs and publishes every changed targets role, then a new snapshot and timestamp.
pub fn publish(repo: &Repository, keys: &[LoadedKey], now: DateTime<Utc>) -> Result<PublishReport> {
    let config = repo.config()?;
    let published = Published::load(repo)?;
    let root = published.require_root(repo)?.signed().clone();
    let consistent = root.consistent_snapshot();
    let mut editor = TargetsEditor::new(repo, &published);
    let tree = editor.tree()?;
    let dirty: Vec<(String, Option<String>)> = tree
        .iter()
        .filter(|(name, _)| editor.loaded().get(name).is_some_and(|d| d.dirty))
        .cloned()
        .collect();
    if dirty.is_empty() {
        return Ok(PublishReport {
            written: Vec::new(),
            target_files_moved: 0,
            nothing_changed: true,
        });
    }

    // 1. Targets roles, each signed by the keys its delegator names.
    let mut documents: Vec<Pending> = Vec::new();
    let mut new_meta: BTreeMap<String, MetaFile> = BTreeMap::new();
    let mut target_hashes: Vec<(String, String)> = Vec::new();
    for (name, parent) in &dirty {
        let roles = editor.loaded();
        let draft = roles.get(name).ok_or_else(|| {
            RepoError::refused(repo.staged_role_path(name), name, "draft not loaded")
        })?;
        let mut doc: Targets = draft.doc.clone();
        doc.version = draft.published_version.map_or(1, |v| v + 1);
        doc.expires = TufTime(now + config.expiry(name)?);
        let file = repo.metadata_path(name, doc.version, consistent);
        for (target, info) in &doc.targets {
            if let Some(sha) = info.hashes.get("sha256") {
                target_hashes.push((target.clone(), sha.clone()));
            }
        }
        let (authorised_keys, keyids, threshold) = match parent {
            None => {
                let role = root.role("targets").ok_or_else(|| {
                    RepoError::refused(repo.metadata_dir(), "root", "no targets role in root")
                })?;
                (root.keys.clone(), role.keyids.clone(), role.threshold)
            }
            Some(parent) => {
                let delegations = roles
                    .get(parent)
                    .and_then(|p| p.doc.delegations.as_ref())
                    .ok_or_else(|| {
                        RepoError::refused(&file, name, format!("{parent} has no delegations"))
                    })?;
                let entry = delegations
                    .roles
                    .iter()
                    .flatten()
                    .find(|r| &r.name == name)
                    .ok_or_else(|| {
                        RepoError::refused(&file, name, format!("{parent} does not delegate it"))
                    })?;
                (
                    delegations.keys.clone(),
                    entry.keyids.clone(),
                    entry.threshold,
                )
            }
        };
        let mut signed = build(doc, &file)?;
        sign_with(&mut signed, keys, &keyids)?;
        require_threshold(&signed, &file, name, &authorised_keys, &keyids, threshold)?;
        let p = pending(name, &signed, file);
        new_meta.insert(format!("{name}.json"), meta_of(p.report.version, &p.bytes));
        documents.push(p);
    }

    // 2. Snapshot: every role in the delegation tree, new entries for what changed.
    let previous = published.snapshot.as_ref().map(|(s, _)| s.signed().clone());
    let mut snapshot = previous.clone().unwrap_or_else(|| Snapshot::new(now));
    let old_meta = std::mem::take(&mut snapshot.meta);
    for (name, _) in &tree {
        let key = format!("{name}.json");
        if let Some(m) = new_meta
            .remove(&key)
            .or_else(|| old_meta.get(&key).cloned())
        {
            snapshot.meta.insert(key, m);
        }
    }
    let (snapshot_doc, snapshot_pending) = sign_snapshot(
        repo,
        &root,
        snapshot,
        previous.map(|p| p.version),
        keys,
        now,
        &config,
        consistent,
        None,
    )?;
    let timestamp_pending =
        sign_timestamp(repo, &root, &published, &snapshot_doc, keys, now, &config)?;

    // 3. Write: target files, targets roles, snapshot, timestamp last.
    let moved = publish_files(repo, consistent, &target_hashes)?;
    documents.push(snapshot_pending);
    documents.push(timestamp_pending);
    for d in &documents {
        write_atomic(&d.report.file, &d.bytes)?;
    }
    for (name, _) in &dirty {
        let path = repo.staged_role_path(name);
        fs::remove_file(&path)
            .or_else(ignore_missing)
            .map_err(RepoError::io(&path, "remove draft"))?;
    }
    let staged_targets = repo.staged_targets_dir();
    fs::remove_dir_all(&staged_targets)
        .or_else(ignore_missing)
        .map_err(RepoError::io(&staged_targets, "remove"))?;
    Ok(PublishReport {
        written: documents.into_iter().map(|d| d.report).collect(),
        target_files_moved: moved,
        nothing_changed: false,
    })
}

fn ignore_missing(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

#[allow(clippy::too_many_arguments)]
fn sign_snapshot(
    repo: &Repository,
    root: &tufota_client::metadata::Root,
    mut snapshot: Snapshot,
    previous_version: Option<u64>,
    keys: &[LoadedKey],
    now: DateTime<Utc>,
    config: &crate::layout::RepoConfig,
    consistent: bool,
    expires: Option<Duration>,
) -> Result<(Signed<Snapshot>, Pending)> {
    snapshot.version = previous_version.map_or(1, |v| v + 1);
    snapshot.expires = TufTime(now + expires.map_or_else(|| config.expiry("snapshot"), Ok)?);
    let file = repo.metadata_path("snapshot", snapshot.version, consistent);
    let role = root
        .role("snapshot")
        .ok_or_else(|| RepoError::refused(repo.metadata_dir(), "root", "no snapshot role"))?;
    let mut signed = build(snapshot, &file)?;
    sign_with(&mut signed, keys, &role.keyids)?;
    require_threshold(
        &signed,
        &file,
        "snapshot",
        &root.keys,
        &role.keyids,
        role.threshold,
    )?;
    let p = pending("snapshot", &signed, file);
    Ok((signed, p))
}

fn sign_timestamp(
    repo: &Repository,
    root: &tufota_client::metadata::Root,
    published: &Published,
    snapshot: &Signed<Snapshot>,
    keys: &[LoadedKey],
    now: DateTime<Utc>,
    config: &crate::layout::RepoConfig,
) -> Result<Pending> {
    sign_timestamp_with(
        repo,
        root,
        published,
        snapshot.signed().version,
        &snapshot.to_bytes(),
        keys,
        now,
        config.expiry("timestamp")?,
    )
}

#[allow(clippy::too_many_arguments)]
fn sign_timestamp_with(
    repo: &Repository,
    root: &tufota_client::metadata::Root,
    published: &Published,
    snapshot_version: u64,
    snapshot_bytes: &[u8],
    keys: &[LoadedKey],
    now: DateTime<Utc>,
    lifetime: Duration,
) -> Result<Pending> {
    let mut timestamp = Timestamp::new(now + lifetime, meta_of(snapshot_version, snapshot_bytes));
    timestamp.version = published
        .timestamp
        .as_ref()
        .map_or(1, |(t, _)| t.signed().version + 1);
    if let Some((old, _)) = &published.timestamp {
        timestamp.extra = old.signed().extra.clone();
    }
    let file = repo.metadata_path("timestamp", timestamp.version, root.consistent_snapshot());
    let role = root
        .role("timestamp")
        .ok_or_else(|| RepoError::refused(repo.metadata_dir(), "root", "no timestamp role"))?;
    let mut signed = build(timestamp, &file)?;
    sign_with(&mut signed, keys, &role.keyids)?;
    require_threshold(
        &signed,
        &file,
        "timestamp",
        &root.keys,
        &role.keyids,
        role.threshold,
    )?;
    Ok(pending("timestamp", &signed, file))
}

/// Re-signs timestamp (or snapshot and then timestamp) with a new version and expiry,
/// changing nothing else: what cron runs so that online roles never expire.
pub fn refresh(
    repo: &Repository,
    role: &str,
    keys: &[LoadedKey],
    expires: Option<Duration>,
    now: DateTime<Utc>,
) -> Result<PublishReport> {
    let config = repo.config()?;
    let published = Published::load(repo)?;
    let root = published.require_root(repo)?.signed().clone();
    let consistent = root.consistent_snapshot();
    let (snapshot, snapshot_path) = published.snapshot.as_ref().ok_or_else(|| {
        RepoError::refused(
            repo.metadata_path("timestamp", 0, consistent),
            role,
            "nothing is published yet: run `repo-tool publish` first",
        )
    })?;
    let mut documents = Vec::new();
    match role {
        "snapshot" => {
            let (new_snapshot, p) = sign_snapshot(
                repo,
                &root,
                snapshot.signed().clone(),
                Some(snapshot.signed().version),
                keys,
                now,
                &config,
                consistent,
                expires,
            )?;
            let ts = sign_timestamp(repo, &root, &published, &new_snapshot, keys, now, &config)?;
            documents.push(p);
            documents.push(ts);
        }
        "timestamp" => {
            let bytes = crate::atomic::read_metadata_file(snapshot_path)?;
            let lifetime = expires.map_or_else(|| config.expiry("timestamp"), Ok)?;
            documents.push(sign_timestamp_with(
                repo,
                &root,
                &published,
                snapshot.signed().version,
                &bytes,
                keys,
                now,
                lifetime,
            )?);
        }
        other => {
            return Err(RepoError::Usage(format!(
                "--role {other}: only timestamp and snapshot are refreshed (targets change with publish, root with the root ceremony)"
            )))
        }
    }
    for d in &documents {
        write_atomic(&d.report.file, &d.bytes)?;
    }
    Ok(PublishReport {
        written: documents.into_iter().map(|d| d.report).collect(),
        target_files_moved: 0,
        nothing_changed: false,
    })
}
