//! The edits a publisher makes to targets between two publishes: add, remove, rollout,
//! delegate. Each loads the drafts once, edits them in memory and saves the changed ones to
//! `staged/`; nothing under `metadata/` or `targets/` changes until `publish`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tufota_client::metadata::custom::{Rollout, TargetCustom};
use tufota_client::metadata::{DelegatedRole, HashAlgorithm, TargetFile, TufTime};

use crate::editor::{hash_bin_roles, TargetsEditor};
use crate::error::{RepoError, Result};
use crate::keys::LoadedKey;
use crate::layout::Repository;
use crate::published::Published;
use crate::target_files::{stage_files, NewTarget, StageMode, StagedFile};

/// The tufota custom fields (DESIGN.md) given as flags; `--custom JSON` is the base they
/// are laid over.
#[derive(Debug, Clone, Default)]
pub struct CustomFields {
    pub base_json: Option<String>,
    pub device_model: Vec<String>,
    pub component: Option<String>,
    pub version: Option<String>,
    pub build: Option<String>,
    pub security_version: Option<u64>,
    pub rollout_percent: Option<u8>,
    pub rollout_start: Option<DateTime<Utc>>,
}

impl CustomFields {
    /// The `custom` object, checked with the same rules devices apply, or None if empty.
    pub fn build(&self) -> Result<Option<Value>> {
        let mut custom: TargetCustom = match &self.base_json {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| RepoError::Usage(format!("--custom: {e}")))?,
            None => TargetCustom::default(),
        };
        if !self.device_model.is_empty() {
            custom.device_model = Some(self.device_model.clone());
        }
        if self.component.is_some() {
            custom.component.clone_from(&self.component);
        }
        if self.version.is_some() {
            custom.version.clone_from(&self.version);
        }
        if self.build.is_some() {
            custom.build.clone_from(&self.build);
        }
        if self.security_version.is_some() {
            custom.security_version = self.security_version;
        }
        if let Some(percent) = self.rollout_percent {
            custom.rollout = Some(Rollout {
                percent,
                start: self.rollout_start.map(TufTime),
                extra: BTreeMap::new(),
            });
        } else if self.rollout_start.is_some() {
            return Err(RepoError::Usage(
                "--rollout-start needs --rollout-percent".into(),
            ));
        }
        custom
            .validate()
            .map_err(|e| RepoError::Usage(format!("custom fields: {e}")))?;
        if custom == TargetCustom::default() {
            return Ok(None);
        }
        serde_json::to_value(&custom)
            .map(Some)
            .map_err(|e| RepoError::Usage(format!("custom fields: {e}")))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AddReport {
    pub added: usize,
    pub bytes: u64,
    /// How many targets went to each role.
    pub roles: BTreeMap<String, usize>,
}

/// Hashes and stages `files` and lists them in the roles that own their paths.
pub fn add(
    repo: &Repository,
    files: &[NewTarget],
    custom: Option<Value>,
    extra_hashes: &[HashAlgorithm],
    mode: StageMode,
) -> Result<AddReport> {
    let published = Published::load(repo)?;
    let staged = stage_files(repo, published.consistent(), files, extra_hashes, mode)?;
    list_staged(repo, &published, staged, |_| custom.clone())
}

/// Lists staged files in the drafts of the roles owning their paths, each with the custom
/// `custom_of(name)` gives, and saves the changed drafts.
pub fn list_staged(
    repo: &Repository,
    published: &Published,
    staged: Vec<StagedFile>,
    custom_of: impl Fn(&str) -> Option<Value>,
) -> Result<AddReport> {
    let bytes = staged.iter().map(|s| s.length).sum();
    let targets: Vec<(String, TargetFile)> = staged
        .into_iter()
        .map(|s| {
            let custom = custom_of(&s.name);
            (
                s.name,
                TargetFile {
                    length: s.length,
                    hashes: s.hashes,
                    custom,
                    extra: BTreeMap::new(),
                },
            )
        })
        .collect();
    let added = targets.len();
    let mut editor = TargetsEditor::new(repo, published);
    let roles = editor.add_targets(targets)?;
    editor.save()?;
    Ok(AddReport {
        added,
        bytes,
        roles,
    })
}

pub fn remove(repo: &Repository, name: &str) -> Result<String> {
    let published = Published::load(repo)?;
    let mut editor = TargetsEditor::new(repo, &published);
    let role = editor.remove_target(name)?;
    editor.save()?;
    Ok(role)
}

/// Sets a target's staged rollout, keeping its other custom fields.
pub fn rollout(
    repo: &Repository,
    name: &str,
    percent: u8,
    start: Option<DateTime<Utc>>,
) -> Result<(String, Value)> {
    let published = Published::load(repo)?;
    let mut editor = TargetsEditor::new(repo, &published);
    let (role, target) = editor.target_mut(name)?;
    let mut custom = TargetCustom::of(target).map_err(|reason| RepoError::TargetName {
        name: name.into(),
        reason,
    })?;
    custom.rollout = Some(Rollout {
        percent,
        start: start.map(TufTime),
        extra: BTreeMap::new(),
    });
    custom
        .validate()
        .map_err(|e| RepoError::Usage(format!("rollout: {e}")))?;
    let value =
        serde_json::to_value(&custom).map_err(|e| RepoError::Usage(format!("rollout: {e}")))?;
    target.custom = Some(value.clone());
    editor.save()?;
    Ok((role, value))
}

pub enum DelegationScope {
    Paths(Vec<String>),
    HashBins(u32),
}

#[derive(Debug, Clone, Serialize)]
pub struct DelegateReport {
    pub from: String,
    pub roles: Vec<String>,
    pub keyids: Vec<String>,
    pub threshold: u64,
}

/// Delegates from `from` to a new role (paths) or to a set of hash-bin roles.
#[allow(clippy::too_many_arguments)]
pub fn delegate(
    repo: &Repository,
    from: &str,
    to: &str,
    keys: &[LoadedKey],
    threshold: u64,
    scope: DelegationScope,
    terminating: bool,
    now: DateTime<Utc>,
) -> Result<DelegateReport> {
    let mut keyids: Vec<String> = Vec::new();
    for k in keys {
        if !keyids.contains(&k.keyid) {
            keyids.push(k.keyid.clone());
        }
    }
    if threshold == 0 || threshold > keyids.len() as u64 {
        return Err(RepoError::Usage(format!(
            "--threshold {threshold} with {} distinct key(s)",
            keyids.len()
        )));
    }
    let roles = match scope {
        DelegationScope::Paths(paths) => {
            if paths.is_empty() {
                return Err(RepoError::Usage(
                    "--paths needs at least one pattern".into(),
                ));
            }
            vec![DelegatedRole {
                name: to.to_string(),
                keyids: keyids.clone(),
                threshold,
                terminating,
                paths: Some(paths),
                path_hash_prefixes: None,
                extra: BTreeMap::new(),
            }]
        }
        DelegationScope::HashBins(count) => {
            let mut roles = hash_bin_roles(to, count, &keyids, threshold)?;
            for r in &mut roles {
                r.terminating = terminating;
            }
            roles
        }
    };
    let names = roles.iter().map(|r| r.name.clone()).collect();
    let published = Published::load(repo)?;
    let mut editor = TargetsEditor::new(repo, &published);
    let key_pairs: Vec<_> = keys
        .iter()
        .map(|k| (k.keyid.clone(), k.public.clone()))
        .collect();
    let expires = now + repo.config()?.expiry(to)?;
    editor.delegate(from, &key_pairs, roles, expires)?;
    editor.save()?;
    Ok(DelegateReport {
        from: from.into(),
        roles: names,
        keyids,
        threshold,
    })
}
