//! The four top-level roles and the pieces they are made of (TUF spec §4.3–§4.6).
//!
//! Every struct keeps the fields it does not know in `extra`, so a document written by a newer
//! tool survives a read–edit–write by ours. Checks that the JSON shape alone cannot express
//! (thresholds of at least one, non-empty hash maps, exactly one of `paths` and
//! `path_hash_prefixes`, …) live in `validate`, run by [`super::Signed::from_bytes`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Key, TufTime, SPEC_VERSION};

/// Role names that root must list, and that a delegation may not reuse.
pub const TOP_LEVEL_ROLES: [&str; 4] = ["root", "timestamp", "snapshot", "targets"];

/// The keys authorised for a role and how many of them must sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    pub keyids: Vec<String>,
    pub threshold: u64,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    #[serde(rename = "_type")]
    pub role_type: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: TufTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_snapshot: Option<bool>,
    pub keys: BTreeMap<String, Key>,
    pub roles: BTreeMap<String, RoleKeys>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Version, length and hashes of a metadata file, as timestamp and snapshot list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    #[serde(rename = "_type")]
    pub role_type: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: TufTime,
    pub meta: BTreeMap<String, MetaFile>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(rename = "_type")]
    pub role_type: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: TufTime,
    pub meta: BTreeMap<String, MetaFile>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A target file: its length and hashes, and whatever the publisher put in `custom`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetFile {
    pub length: u64,
    pub hashes: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedRole {
    pub name: String,
    pub keyids: Vec<String>,
    pub threshold: u64,
    #[serde(default)]
    pub terminating: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// TAP 15 hash-bin delegation in its succinct form (spec 1.0.x `succinct_roles`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuccinctRoles {
    pub keyids: Vec<String>,
    pub threshold: u64,
    pub bit_length: u32,
    pub name_prefix: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegations {
    pub keys: BTreeMap<String, Key>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<DelegatedRole>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succinct_roles: Option<SuccinctRoles>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    #[serde(rename = "_type")]
    pub role_type: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: TufTime,
    pub targets: BTreeMap<String, TargetFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegations: Option<Delegations>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Root {
    /// An empty root of version 1: the caller adds keys and roles.
    pub fn new(expires: DateTime<Utc>) -> Self {
        Root {
            role_type: "root".into(),
            spec_version: SPEC_VERSION.into(),
            version: 1,
            expires: TufTime(expires),
            consistent_snapshot: Some(true),
            keys: BTreeMap::new(),
            roles: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }

    pub fn consistent_snapshot(&self) -> bool {
        self.consistent_snapshot.unwrap_or(false)
    }

    /// The keys and threshold of a top-level role.
    pub fn role(&self, name: &str) -> Option<&RoleKeys> {
        self.roles.get(name)
    }
}

impl Timestamp {
    pub fn new(expires: DateTime<Utc>, snapshot: MetaFile) -> Self {
        Timestamp {
            role_type: "timestamp".into(),
            spec_version: SPEC_VERSION.into(),
            version: 1,
            expires: TufTime(expires),
            meta: BTreeMap::from([("snapshot.json".to_string(), snapshot)]),
            extra: BTreeMap::new(),
        }
    }

    /// The snapshot entry; present in every document that passed validation.
    pub fn snapshot_meta(&self) -> Option<&MetaFile> {
        self.meta.get("snapshot.json")
    }
}

impl Snapshot {
    pub fn new(expires: DateTime<Utc>) -> Self {
        Snapshot {
            role_type: "snapshot".into(),
            spec_version: SPEC_VERSION.into(),
            version: 1,
            expires: TufTime(expires),
            meta: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }
}

impl Targets {
    pub fn new(expires: DateTime<Utc>) -> Self {
        Targets {
            role_type: "targets".into(),
            spec_version: SPEC_VERSION.into(),
            version: 1,
            expires: TufTime(expires),
            targets: BTreeMap::new(),
            delegations: None,
            extra: BTreeMap::new(),
        }
    }
}

impl MetaFile {
    pub fn new(version: u64) -> Self {
        MetaFile {
            version,
            length: None,
            hashes: None,
            extra: BTreeMap::new(),
        }
    }

    pub(crate) fn validate(&self, name: &str) -> Result<(), String> {
        if self.version == 0 {
            return Err(format!("meta entry {name:?}: version must be at least 1"));
        }
        match &self.hashes {
            Some(h) if h.is_empty() => Err(format!("meta entry {name:?}: hashes is empty")),
            _ => Ok(()),
        }
    }
}

fn validate_threshold(what: &str, keys: &RoleKeys) -> Result<(), String> {
    if keys.threshold == 0 {
        return Err(format!("{what}: threshold must be at least 1"));
    }
    Ok(())
}

impl Root {
    pub(crate) fn validate(&self) -> Result<(), String> {
        for name in TOP_LEVEL_ROLES {
            let keys = self
                .roles
                .get(name)
                .ok_or_else(|| format!("roles has no {name:?} entry"))?;
            validate_threshold(&format!("role {name:?}"), keys)?;
        }
        if let Some(other) = self
            .roles
            .keys()
            .find(|r| !TOP_LEVEL_ROLES.contains(&r.as_str()))
        {
            return Err(format!(
                "roles lists {other:?}, which is not a top-level role"
            ));
        }
        Ok(())
    }
}

impl Timestamp {
    pub(crate) fn validate(&self) -> Result<(), String> {
        let meta = self
            .snapshot_meta()
            .ok_or("meta has no \"snapshot.json\" entry")?;
        meta.validate("snapshot.json")
    }
}

impl Snapshot {
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.meta.iter().try_for_each(|(name, m)| m.validate(name))
    }
}

impl TargetFile {
    pub(crate) fn validate(&self, name: &str) -> Result<(), String> {
        if self.hashes.is_empty() {
            return Err(format!("target {name:?}: hashes is empty"));
        }
        Ok(())
    }
}

impl Delegations {
    pub(crate) fn validate(&self) -> Result<(), String> {
        match (&self.roles, &self.succinct_roles) {
            (Some(roles), None) => {
                let mut names = BTreeSet::new();
                for role in roles {
                    if TOP_LEVEL_ROLES.contains(&role.name.as_str()) {
                        return Err(format!(
                            "delegated role {:?} reuses a top-level role name",
                            role.name
                        ));
                    }
                    if !names.insert(role.name.as_str()) {
                        return Err(format!("delegated role {:?} is listed twice", role.name));
                    }
                    if role.threshold == 0 {
                        return Err(format!(
                            "delegated role {:?}: threshold must be at least 1",
                            role.name
                        ));
                    }
                    if role.paths.is_some() == role.path_hash_prefixes.is_some() {
                        return Err(format!(
                            "delegated role {:?}: exactly one of paths and path_hash_prefixes must be set",
                            role.name
                        ));
                    }
                }
                Ok(())
            }
            (None, Some(succinct)) => {
                if succinct.threshold == 0 {
                    return Err("succinct_roles: threshold must be at least 1".into());
                }
                if !(1..=32).contains(&succinct.bit_length) {
                    return Err("succinct_roles: bit_length must be between 1 and 32".into());
                }
                Ok(())
            }
            _ => Err("delegations must have exactly one of roles and succinct_roles".into()),
        }
    }
}

impl Targets {
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.targets.iter().try_for_each(|(n, t)| t.validate(n))?;
        match &self.delegations {
            Some(d) => d.validate(),
            None => Ok(()),
        }
    }
}
