//! `init`: a new repository with root version 1. Root keys given only as public keys are
//! offline keys: root 1 is then left staged for their holders to sign (`repo-tool sign`,
//! `root merge`, `root publish`). When every signature needed can be made here, root 1 and
//! the first targets, snapshot and timestamp are published at once.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tufota_client::metadata::{RoleKeys, Root, Signed, TufTime};

use crate::atomic::write_atomic;
use crate::duration::parse_duration;
use crate::editor::TargetsEditor;
use crate::error::{RepoError, Result};
use crate::keys::LoadedKey;
use crate::layout::{RepoConfig, Repository};
use crate::publish::{publish, PublishReport};
use crate::published::Published;
use crate::root_ceremony::{publish_root, RootPublishReport};
use crate::signatures::sign_with;

pub struct InitOptions {
    pub root_keys: Vec<LoadedKey>,
    pub root_threshold: u64,
    pub targets_keys: Vec<LoadedKey>,
    pub targets_threshold: u64,
    pub snapshot_keys: Vec<LoadedKey>,
    pub timestamp_keys: Vec<LoadedKey>,
    /// Role name to duration (`90d`), overriding the defaults.
    pub expires: BTreeMap<String, String>,
    pub consistent_snapshot: bool,
}

#[derive(Debug, Serialize)]
pub struct InitReport {
    pub repository: PathBuf,
    pub root_published: Option<RootPublishReport>,
    pub root_staged: Option<PathBuf>,
    pub published: Option<PublishReport>,
    pub roles: BTreeMap<String, RoleKeys>,
}

fn role_keys(keys: &[LoadedKey], threshold: u64, role: &str) -> Result<RoleKeys> {
    let mut keyids: Vec<String> = Vec::new();
    for k in keys {
        if !keyids.contains(&k.keyid) {
            keyids.push(k.keyid.clone());
        }
    }
    if keyids.is_empty() || threshold == 0 || threshold > keyids.len() as u64 {
        return Err(RepoError::Usage(format!(
            "{role}: threshold {threshold} with {} distinct key(s)",
            keyids.len()
        )));
    }
    Ok(RoleKeys {
        keyids,
        threshold,
        extra: BTreeMap::new(),
    })
}

pub fn init(dir: &Path, options: InitOptions, now: DateTime<Utc>) -> Result<InitReport> {
    let repo = Repository::new_at(dir);
    if repo.config_path().exists() || repo.metadata_dir().exists() {
        return Err(RepoError::refused(
            dir,
            "root",
            "already a repository (metadata/ or repo-tool.json exists)",
        ));
    }
    let mut config = RepoConfig::default();
    for (role, duration) in &options.expires {
        parse_duration(duration)?;
        config.expires.insert(role.clone(), duration.clone());
    }
    let mut root = Root::new(now + config.expiry("root")?);
    root.consistent_snapshot = Some(options.consistent_snapshot);
    let all = [
        ("root", &options.root_keys, options.root_threshold),
        ("targets", &options.targets_keys, options.targets_threshold),
        ("snapshot", &options.snapshot_keys, 1),
        ("timestamp", &options.timestamp_keys, 1),
    ];
    for (role, keys, threshold) in all {
        root.roles
            .insert(role.to_string(), role_keys(keys, threshold, role)?);
        for k in keys.iter() {
            root.keys.insert(k.keyid.clone(), k.public.clone());
        }
    }
    root.expires = TufTime(now + config.expiry("root")?);
    let staged_path = repo.staged_role_path("root");
    let mut doc = Signed::new(root).map_err(|source| RepoError::Metadata {
        file: staged_path.clone(),
        source,
    })?;
    let root_ids = doc
        .signed()
        .role("root")
        .map(|r| r.keyids.clone())
        .unwrap_or_default();
    sign_with(&mut doc, &options.root_keys, &root_ids)?;

    for d in [repo.metadata_dir(), repo.targets_dir(), repo.staged_dir()] {
        fs::create_dir_all(&d).map_err(RepoError::io(&d, "create directory"))?;
    }
    repo.write_config(&config)?;
    write_atomic(&staged_path, &doc.to_bytes())?;
    let published_state = Published::load(&repo)?;
    let mut editor = TargetsEditor::new(&repo, &published_state);
    editor.create("targets", now + config.expiry("targets")?);
    editor.save()?;

    let roles = doc.signed().roles.clone();
    let signable =
        doc.signed().role("root").map(|r| r.threshold).unwrap_or(1) <= doc.signatures.len() as u64;
    let mut report = InitReport {
        repository: dir.to_path_buf(),
        root_published: None,
        root_staged: Some(staged_path),
        published: None,
        roles,
    };
    if !signable {
        return Ok(report);
    }
    report.root_published = Some(publish_root(&repo, &[])?);
    report.root_staged = None;
    let online: Vec<LoadedKey> = options
        .targets_keys
        .into_iter()
        .chain(options.snapshot_keys)
        .chain(options.timestamp_keys)
        .collect();
    if online.iter().all(|k| k.signer().is_some()) {
        report.published = Some(publish(&repo, &online, now)?);
    }
    Ok(report)
}
