//! Drafts of the targets roles (top-level and delegated) and the edits on them: add, remove,
//! rollout, delegate. A draft is the role's next content, kept unsigned in
//! `staged/<role>.json` until `publish` gives it a version, an expiry and signatures. A role
//! without a draft is what is published.
//!
//! Everything is loaded once per command and edited in memory (maps keyed by name), so adding
//! n targets costs O(n log n), not a rebuild of every map per file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tufota_client::metadata::{DelegatedRole, Delegations, Key, Signed, TargetFile, Targets};

use crate::atomic::{read_metadata_file, write_atomic};
use crate::error::{RepoError, Result};
use crate::layout::Repository;
use crate::published::{parse_bytes, Published};
use crate::target_name::{validate_role_name, validate_target_name};
use tufota_client::trust::roles_for_target;

/// Reads the draft of targets role `name` from the bytes of its `staged/<name>.json`.
///
/// A draft is not signed, and it can be edited by hand or copied between machines, so it is
/// held to what repo-tool itself writes: every target name must pass
/// [`validate_target_name`] and every delegated role name [`validate_role_name`], because
/// `publish` joins them to paths under `targets/`, `staged/` and `metadata/` (a `..` there
/// would write outside the repository).
pub fn parse_draft(name: &str, path: &Path, bytes: &[u8]) -> Result<Targets> {
    let doc: Targets = parse_bytes::<Targets>(name, path, bytes)?.into_signed();
    for target in doc.targets.keys() {
        validate_target_name(target)
            .map_err(|e| RepoError::refused(path, name, format!("draft lists a target: {e}")))?;
    }
    let delegated = doc.delegations.as_ref().and_then(|d| d.roles.as_ref());
    for role in delegated.into_iter().flatten() {
        validate_role_name(&role.name)
            .map_err(|e| RepoError::refused(path, name, format!("draft delegates: {e}")))?;
    }
    Ok(doc)
}

pub struct RoleDraft {
    pub doc: Targets,
    /// The version snapshot lists, None if never published.
    pub published_version: Option<u64>,
    /// Changed since published: has (or will get) a draft file.
    pub dirty: bool,
}

pub struct TargetsEditor<'a> {
    repo: &'a Repository,
    published: &'a Published,
    roles: BTreeMap<String, RoleDraft>,
}

impl<'a> TargetsEditor<'a> {
    pub fn new(repo: &'a Repository, published: &'a Published) -> Self {
        TargetsEditor {
            repo,
            published,
            roles: BTreeMap::new(),
        }
    }

    /// Loads `role`: its draft if there is one, else its published document.
    pub fn role(&mut self, name: &str) -> Result<&mut RoleDraft> {
        if !self.roles.contains_key(name) {
            let draft = self.load(name)?;
            self.roles.insert(name.to_string(), draft);
        }
        self.roles.get_mut(name).ok_or_else(|| {
            RepoError::refused(self.repo.staged_role_path(name), name, "role not loaded")
        })
    }

    fn load(&self, name: &str) -> Result<RoleDraft> {
        let published_version = self.published.role_version(name);
        let staged = self.repo.staged_role_path(name);
        if staged.exists() {
            let bytes = read_metadata_file(&staged)?;
            return Ok(RoleDraft {
                doc: parse_draft(name, &staged, &bytes)?,
                published_version,
                dirty: true,
            });
        }
        match self.published.load_targets(self.repo, name)? {
            Some(doc) => Ok(RoleDraft {
                doc: doc.into_signed(),
                published_version,
                dirty: false,
            }),
            None => Err(RepoError::refused(
                staged,
                name,
                "no draft and not published: is the role delegated?",
            )),
        }
    }

    /// Creates the draft of a role that does not exist yet (init, delegate).
    pub fn create(&mut self, name: &str, expires: DateTime<Utc>) {
        self.roles.insert(
            name.to_string(),
            RoleDraft {
                doc: Targets::new(expires),
                published_version: self.published.role_version(name),
                dirty: true,
            },
        );
    }

    /// Every role reachable from `targets` by delegation, with its delegator, in pre-order.
    pub fn tree(&mut self) -> Result<Vec<(String, Option<String>)>> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut stack = vec![("targets".to_string(), None::<String>)];
        while let Some((name, parent)) = stack.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let children: Vec<String> = self
                .role(&name)?
                .doc
                .delegations
                .as_ref()
                .and_then(|d| d.roles.as_ref())
                .map(|roles| roles.iter().map(|r| r.name.clone()).collect())
                .unwrap_or_default();
            out.push((name.clone(), parent));
            for child in children.into_iter().rev() {
                stack.push((child, Some(name.clone())));
            }
        }
        Ok(out)
    }

    /// The role a new target with this path goes to: the first delegated role, in the
    /// client's pre-order search (TUF spec §5.6.7.2), whose `paths` or `path_hash_prefixes`
    /// cover it, followed down; the delegator itself when none does.
    pub fn owner_of(&mut self, path: &str) -> Result<String> {
        let mut current = "targets".to_string();
        for _ in 0..32 {
            let draft = self.role(&current)?;
            let first = draft
                .doc
                .delegations
                .as_ref()
                .and_then(|d| roles_for_target(d, path).into_iter().next());
            match first {
                Some((name, _terminating)) => current = name,
                None => break,
            }
        }
        Ok(current)
    }

    /// Adds targets, each to the role that owns its path, replacing any entry of the same
    /// name in another role.
    pub fn add_targets(
        &mut self,
        targets: Vec<(String, TargetFile)>,
    ) -> Result<BTreeMap<String, usize>> {
        let tree = self.tree()?;
        let delegated = tree.len() > 1;
        let mut where_now: BTreeMap<String, String> = BTreeMap::new();
        if delegated {
            for (role, _) in &tree {
                for name in self.role(role)?.doc.targets.keys() {
                    where_now.insert(name.clone(), role.clone());
                }
            }
        }
        let mut counts = BTreeMap::new();
        for (name, file) in targets {
            let owner = if delegated {
                self.owner_of(&name)?
            } else {
                "targets".to_string()
            };
            if let Some(previous) = where_now.get(&name) {
                if *previous != owner {
                    let draft = self.role(previous)?;
                    draft.doc.targets.remove(&name);
                    draft.dirty = true;
                }
            }
            let draft = self.role(&owner)?;
            draft.doc.targets.insert(name, file);
            draft.dirty = true;
            *counts.entry(owner).or_insert(0) += 1;
        }
        Ok(counts)
    }

    /// Finds which role lists `name`.
    pub fn find_target(&mut self, name: &str) -> Result<Option<String>> {
        for (role, _) in self.tree()? {
            if self.role(&role)?.doc.targets.contains_key(name) {
                return Ok(Some(role));
            }
        }
        Ok(None)
    }

    pub fn remove_target(&mut self, name: &str) -> Result<String> {
        let role = self
            .find_target(name)?
            .ok_or_else(|| RepoError::TargetName {
                name: name.into(),
                reason: "no role lists it".into(),
            })?;
        let draft = self.role(&role)?;
        draft.doc.targets.remove(name);
        draft.dirty = true;
        Ok(role)
    }

    pub fn target_mut(&mut self, name: &str) -> Result<(String, &mut TargetFile)> {
        let role = self
            .find_target(name)?
            .ok_or_else(|| RepoError::TargetName {
                name: name.into(),
                reason: "no role lists it".into(),
            })?;
        let draft = self.role(&role)?;
        draft.dirty = true;
        let file = draft
            .doc
            .targets
            .get_mut(name)
            .ok_or_else(|| RepoError::TargetName {
                name: name.into(),
                reason: "no role lists it".into(),
            })?;
        Ok((role, file))
    }

    /// Adds delegated roles to `from` and creates their empty drafts.
    pub fn delegate(
        &mut self,
        from: &str,
        keys: &[(String, Key)],
        new_roles: Vec<DelegatedRole>,
        expires: DateTime<Utc>,
    ) -> Result<()> {
        let existing: BTreeSet<String> = self.tree()?.into_iter().map(|(n, _)| n).collect();
        if !existing.contains(from) {
            return Err(RepoError::Usage(format!(
                "--from {from:?}: no such targets role in this repository"
            )));
        }
        for role in &new_roles {
            validate_role_name(&role.name)?;
            if existing.contains(&role.name) {
                return Err(RepoError::Usage(format!(
                    "role {:?} is already delegated in this repository",
                    role.name
                )));
            }
        }
        let parent = self.role(from)?;
        let delegations = parent.doc.delegations.get_or_insert_with(|| Delegations {
            keys: BTreeMap::new(),
            roles: Some(Vec::new()),
            succinct_roles: None,
            extra: BTreeMap::new(),
        });
        if delegations.succinct_roles.is_some() {
            return Err(RepoError::refused(
                PathBuf::from(format!("{from}.json")),
                from,
                "it delegates with succinct_roles; repo-tool adds only to a roles list",
            ));
        }
        for (keyid, key) in keys {
            delegations.keys.insert(keyid.clone(), key.clone());
        }
        let names: Vec<String> = new_roles.iter().map(|r| r.name.clone()).collect();
        delegations
            .roles
            .get_or_insert_with(Vec::new)
            .extend(new_roles);
        parent.dirty = true;
        for name in names {
            self.create(&name, expires);
        }
        Ok(())
    }

    pub fn dirty_roles(&self) -> Vec<&str> {
        self.roles
            .iter()
            .filter(|(_, d)| d.dirty)
            .map(|(n, _)| n.as_str())
            .collect()
    }

    pub fn loaded(&self) -> &BTreeMap<String, RoleDraft> {
        &self.roles
    }

    pub fn into_roles(self) -> BTreeMap<String, RoleDraft> {
        self.roles
    }

    /// Writes the draft of every changed role to `staged/`.
    pub fn save(&self) -> Result<()> {
        for (name, draft) in &self.roles {
            if !draft.dirty {
                continue;
            }
            let doc = Signed::new(draft.doc.clone()).map_err(|source| RepoError::Metadata {
                file: self.repo.staged_role_path(name),
                source,
            })?;
            write_atomic(&self.repo.staged_role_path(name), &doc.to_bytes())?;
        }
        Ok(())
    }
}

/// The roles of a hash-bin delegation as python-tuf's example builds them: `count` bins (a
/// power of two) over the hex prefixes of the TUF path hash, bin i covering an equal run of
/// prefixes; named `NAME-LO-HI` (or `NAME-P` when a bin holds one prefix).
pub fn hash_bin_roles(
    name: &str,
    count: u32,
    keyids: &[String],
    threshold: u64,
) -> Result<Vec<DelegatedRole>> {
    if count < 2 || !count.is_power_of_two() || count > 65536 {
        return Err(RepoError::Usage(format!(
            "--hash-bins {count}: must be a power of two from 2 to 65536"
        )));
    }
    let prefix_len = format!("{:x}", count - 1).len();
    let total = 16u64.pow(prefix_len as u32);
    let per_bin = total / u64::from(count);
    let mut roles = Vec::new();
    for bin in 0..u64::from(count) {
        let low = bin * per_bin;
        let high = low + per_bin - 1;
        let prefixes: Vec<String> = (low..=high)
            .map(|p| format!("{p:0width$x}", width = prefix_len))
            .collect();
        let role_name = if low == high {
            format!("{name}-{low:0width$x}", width = prefix_len)
        } else {
            format!("{name}-{low:0width$x}-{high:0width$x}", width = prefix_len)
        };
        roles.push(DelegatedRole {
            name: role_name,
            keyids: keyids.to_vec(),
            threshold,
            terminating: false,
            paths: None,
            path_hash_prefixes: Some(prefixes),
            extra: BTreeMap::new(),
        });
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_bins_cover_every_prefix_once() {
        for count in [2, 16, 32, 256, 1024] {
            let roles = hash_bin_roles("bins", count, &[], 1).unwrap();
            assert_eq!(roles.len(), count as usize);
            let all: Vec<String> = roles
                .iter()
                .flat_map(|r| r.path_hash_prefixes.clone().unwrap())
                .collect();
            let width = all[0].len();
            assert_eq!(all.len(), 16usize.pow(width as u32));
            let set: BTreeSet<&String> = all.iter().collect();
            assert_eq!(set.len(), all.len());
        }
        assert_eq!(hash_bin_roles("b", 32, &[], 1).unwrap()[0].name, "b-00-07");
        assert!(hash_bin_roles("b", 3, &[], 1).is_err());
    }
}
