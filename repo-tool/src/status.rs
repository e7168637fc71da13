//! `status`: what is published (per role: version, expiry, keys, valid signatures against
//! threshold), what is staged and how far its signing has come, how many targets there are,
//! and how many metadata bytes a new device (shipped with `1.root.json`) downloads to refresh.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use tufota_client::metadata::{format_time, Key, Role, Signed, Targets};

use crate::editor::TargetsEditor;
use crate::error::Result;
use crate::layout::Repository;
use crate::published::{parse_file, Published};
use crate::root_ceremony::staged_root;

#[derive(Debug, Clone, Serialize)]
pub struct RoleStatus {
    pub role: String,
    pub version: u64,
    pub expires: String,
    pub keys: usize,
    pub threshold: u64,
    pub valid_signatures: u64,
    pub file: PathBuf,
    pub bytes: u64,
    /// Targets listed, for targets roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StagedRootStatus {
    pub file: PathBuf,
    pub version: u64,
    /// Valid signatures by root N's root keys and its threshold (None for root 1).
    pub previous_root: Option<(u64, u64)>,
    /// Valid signatures by its own root keys and its threshold.
    pub own: (u64, u64),
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub roles: Vec<RoleStatus>,
    pub staged_root: Option<StagedRootStatus>,
    /// Targets roles with unpublished changes.
    pub drafts: Vec<String>,
    pub targets: usize,
    pub target_bytes: u64,
    pub new_device_metadata_bytes: u64,
}

fn role_status<T: Role>(
    role: &str,
    doc: &Signed<T>,
    file: PathBuf,
    keys: &BTreeMap<String, Key>,
    keyids: &[String],
    threshold: u64,
) -> RoleStatus {
    let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    RoleStatus {
        role: role.into(),
        version: doc.signed().version(),
        expires: format_time(&doc.signed().expires()),
        keys: keyids.len(),
        threshold,
        valid_signatures: doc.count_valid_signatures(keys, keyids),
        file,
        bytes,
        targets: None,
    }
}

pub fn status(repo: &Repository) -> Result<StatusReport> {
    let published = Published::load(repo)?;
    let mut roles = Vec::new();
    let mut new_device_bytes = 0u64;
    if let Some((root, path)) = &published.root {
        let r = root.signed();
        for (name, file, doc_keys) in [("root", path.clone(), r.role("root"))] {
            if let Some(k) = doc_keys {
                roles.push(role_status(
                    name,
                    root,
                    file,
                    &r.keys,
                    &k.keyids,
                    k.threshold,
                ));
            }
        }
        for v in 2..=r.version {
            new_device_bytes += std::fs::metadata(repo.metadata_path("root", v, true))
                .map(|m| m.len())
                .unwrap_or(0);
        }
        if let (Some((ts, ts_path)), Some(k)) = (&published.timestamp, r.role("timestamp")) {
            roles.push(role_status(
                "timestamp",
                ts,
                ts_path.clone(),
                &r.keys,
                &k.keyids,
                k.threshold,
            ));
        }
        if let (Some((sn, sn_path)), Some(k)) = (&published.snapshot, r.role("snapshot")) {
            roles.push(role_status(
                "snapshot",
                sn,
                sn_path.clone(),
                &r.keys,
                &k.keyids,
                k.threshold,
            ));
        }
    }
    let mut targets = 0;
    let mut target_bytes = 0;
    let mut drafts = Vec::new();
    if published.snapshot.is_some() || repo.staged_role_path("targets").exists() {
        let mut editor = TargetsEditor::new(repo, &published);
        let tree = editor.tree()?;
        for (name, _) in &tree {
            if let Some(d) = editor.loaded().get(name) {
                targets += d.doc.targets.len();
                target_bytes += d.doc.targets.values().map(|t| t.length).sum::<u64>();
                if d.dirty {
                    drafts.push(name.clone());
                }
            }
        }
        if let Some(root) = published.root() {
            let r = root.signed();
            for (name, parent) in &tree {
                let Some(version) = published.role_version(name) else {
                    continue;
                };
                let file = repo.metadata_path(name, version, r.consistent_snapshot());
                let doc: Signed<Targets> = parse_file(name, &file)?;
                let (keys, keyids, threshold) = match parent {
                    None => match r.role("targets") {
                        Some(k) => (r.keys.clone(), k.keyids.clone(), k.threshold),
                        None => continue,
                    },
                    Some(p) => {
                        let parent_doc = published.load_targets(repo, p)?;
                        let Some(d) = parent_doc.and_then(|d| d.signed().delegations.clone())
                        else {
                            continue;
                        };
                        let Some(entry) = d.roles.iter().flatten().find(|e| &e.name == name) else {
                            continue;
                        };
                        (d.keys.clone(), entry.keyids.clone(), entry.threshold)
                    }
                };
                let mut s = role_status(name, &doc, file, &keys, &keyids, threshold);
                s.targets = Some(doc.signed().targets.len());
                roles.push(s);
            }
        }
    }
    for r in &roles {
        if r.role != "root" {
            new_device_bytes += r.bytes;
        }
    }
    let staged_root_status = match staged_root(repo)? {
        Some(doc) => {
            let own = doc.signed();
            let own_role = own.role("root");
            let previous_root = published.root().and_then(|old| {
                let o = old.signed();
                o.role("root")
                    .map(|k| (doc.count_valid_signatures(&o.keys, &k.keyids), k.threshold))
            });
            Some(StagedRootStatus {
                file: repo.staged_role_path("root"),
                version: own.version,
                previous_root,
                own: own_role.map_or((0, 0), |k| {
                    (
                        doc.count_valid_signatures(&own.keys, &k.keyids),
                        k.threshold,
                    )
                }),
            })
        }
        None => None,
    };
    Ok(StatusReport {
        roles,
        staged_root: staged_root_status,
        drafts,
        targets,
        target_bytes,
        new_device_metadata_bytes: new_device_bytes,
    })
}
