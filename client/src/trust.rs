//! The trust core: the set of metadata a client trusts, and every check of the TUF 1.0.x
//! detailed client workflow (spec §5.3–§5.6) that decides what may join it. No I/O: bytes and
//! one fixed reference time in, verdicts out. The updater fetches and persists around it.
//!
//! Rules this type keeps, after python-tuf's `TrustedMetadataSet`:
//! - Roles load in order: root (any number of N+1 steps) → timestamp → snapshot → targets →
//!   delegated targets. Nothing loads out of order, and root/timestamp/snapshot cannot change
//!   once a later role has loaded.
//! - Signatures are checked with the keys of the delegator in force *now* (root for the
//!   top-level roles, the delegating targets role for delegated ones). A role loaded through
//!   one delegator answers for another only after a check against that one's keys.
//! - A timestamp or snapshot may load while expired, or while not yet the "final" version, so
//!   that the copy kept on disk serves as the rollback baseline for the next one (§5.4, §5.5);
//!   a later role never loads on top of an expired or non-final one.
//! - A failed update leaves the set exactly as it was.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::metadata::{
    Delegations, HashChecker, HashMismatch, Key, MetaFile, MetadataError, Role, Root, Signed,
    Snapshot, SuccinctRoles, Targets, ThresholdError, Timestamp,
};

/// Why metadata was refused. Each variant names the role, the check, and the values seen.
#[derive(Debug, Error)]
pub enum TrustError {
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error(transparent)]
    Threshold(#[from] ThresholdError),
    #[error("{role} metadata refused: version {found}, expected {expected}")]
    WrongVersion {
        role: String,
        expected: u64,
        found: u64,
    },
    #[error("{role} metadata refused: version {found} is older than the trusted version {trusted} (rollback)")]
    Rollback {
        role: String,
        trusted: u64,
        found: u64,
    },
    #[error("{role} metadata refused: it names {entry} version {found}, older than the trusted {trusted} (rollback)")]
    MetaRollback {
        role: String,
        entry: String,
        trusted: u64,
        found: u64,
    },
    #[error("{role} metadata not taken: version {version} is the version already trusted")]
    EqualVersion { role: String, version: u64 },
    #[error("{role} metadata refused: expired at {expires} (reference time {now})")]
    Expired {
        role: String,
        expires: String,
        now: String,
    },
    #[error("{role} metadata refused: {length} bytes, but {listed_by} says {expected}")]
    Length {
        role: String,
        listed_by: &'static str,
        length: u64,
        expected: u64,
    },
    #[error("{role} metadata refused: hash check against {listed_by} failed: {source}")]
    Hash {
        role: String,
        listed_by: &'static str,
        source: HashMismatch,
    },
    #[error(
        "snapshot metadata refused: it no longer lists {entry}, which the trusted snapshot does"
    )]
    RoleRemoved { entry: String },
    #[error("{role} metadata refused: snapshot does not list {role}.json")]
    NotInSnapshot { role: String },
    #[error("{role} metadata refused: {delegator} does not delegate to it")]
    NotDelegated { role: String, delegator: String },
    /// A delegated role whose signatures do not meet the keys and threshold the delegator
    /// that reached it names for it: a fresh copy, or one already trusted through another
    /// delegator that names other keys. Named apart from `Threshold` because a role can
    /// have several delegators, and the operator must know whose keys were missing.
    #[error("{role} metadata refused as {delegator} delegates it: {valid} valid signature(s) from the keys {delegator} names for it, threshold is {threshold}")]
    NotSignedForDelegator {
        role: String,
        delegator: String,
        valid: u64,
        threshold: u64,
    },
    #[error("{role} metadata cannot load yet: {reason}")]
    OutOfOrder { role: String, reason: &'static str },
}

impl TrustError {
    fn out_of_order(role: &str, reason: &'static str) -> Self {
        TrustError::OutOfOrder {
            role: role.into(),
            reason,
        }
    }
}

/// The metadata a client trusts right now.
#[derive(Debug, Clone)]
pub struct TrustedMetadata {
    reference_time: DateTime<Utc>,
    /// The root this set started from, to tell which keys a rotation changed (§5.3.11).
    initial_root: Root,
    root: Signed<Root>,
    timestamp: Option<Signed<Timestamp>>,
    snapshot: Option<Signed<Snapshot>>,
    /// "targets" and every delegated role loaded so far.
    targets: BTreeMap<String, TrustedTargets>,
}

/// A loaded targets role and the delegators whose keys and threshold for it its signatures
/// were checked against. The search for a target can reach one role name through several
/// delegators that name different keys for it (§5.7.2); the role speaks for a delegator
/// only once checked against that delegator's keys.
#[derive(Debug, Clone)]
struct TrustedTargets {
    signed: Signed<Targets>,
    delegators: BTreeSet<String>,
}

fn check_expiry<T: Role>(
    role: &str,
    doc: &Signed<T>,
    now: DateTime<Utc>,
) -> Result<(), TrustError> {
    let expires = doc.signed().expires();
    if expires <= now {
        return Err(TrustError::Expired {
            role: role.into(),
            expires: crate::metadata::format_time(&expires),
            now: crate::metadata::format_time(&now),
        });
    }
    Ok(())
}

/// Checks `data` against the length and hashes a meta entry lists, when it lists them.
fn check_meta_file(
    role: &str,
    listed_by: &'static str,
    meta: &MetaFile,
    data: &[u8],
) -> Result<(), TrustError> {
    if let Some(expected) = meta.length {
        let length = data.len() as u64;
        if length != expected {
            return Err(TrustError::Length {
                role: role.into(),
                listed_by,
                length,
                expected,
            });
        }
    }
    if let Some(hashes) = &meta.hashes {
        HashChecker::check(hashes, data).map_err(|source| TrustError::Hash {
            role: role.into(),
            listed_by,
            source,
        })?;
    }
    Ok(())
}

fn verify_top_level<T: Role>(role: &str, root: &Root, doc: &Signed<T>) -> Result<(), TrustError> {
    let keys = root
        .role(role)
        .ok_or_else(|| TrustError::out_of_order(role, "root does not define this role"))?;
    doc.verify_threshold(role, &root.keys, &keys.keyids, keys.threshold)?;
    Ok(())
}

impl TrustedMetadata {
    /// Starts from a root the device already trusts (shipped, or persisted by an earlier
    /// refresh). It must meet its own threshold; its expiry is checked only once the newest
    /// root is known (§5.3.10), so an expired local root never blocks a rotation.
    pub fn new(root_bytes: &[u8], reference_time: DateTime<Utc>) -> Result<Self, TrustError> {
        let root = Signed::<Root>::from_bytes("root", root_bytes)?;
        verify_top_level("root", root.signed(), &root)?;
        Ok(TrustedMetadata {
            reference_time,
            initial_root: root.signed().clone(),
            root,
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
        })
    }

    /// Takes root N+1 (§5.3.4–§5.3.9): signed by a threshold of the trusted root's root keys
    /// and by a threshold of its own, and of version exactly N+1. Expiry is not checked here:
    /// an intermediate root may have expired long ago.
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<(), TrustError> {
        if self.timestamp.is_some() {
            return Err(TrustError::out_of_order(
                "root",
                "root cannot change after timestamp has loaded",
            ));
        }
        let new_root = Signed::<Root>::from_bytes("root", bytes)?;
        verify_top_level("root", self.root.signed(), &new_root)?;
        let expected = self.root.signed().version.saturating_add(1);
        if new_root.signed().version != expected {
            return Err(TrustError::WrongVersion {
                role: "root".into(),
                expected,
                found: new_root.signed().version,
            });
        }
        verify_top_level("root", new_root.signed(), &new_root)?;
        self.root = new_root;
        Ok(())
    }

    /// Refuses an expired root (§5.3.10, freeze attack). Call once no newer root exists.
    pub fn check_root_not_expired(&self) -> Result<(), TrustError> {
        check_expiry("root", &self.root, self.reference_time)
    }

    /// The top-level roles whose keys or threshold differ between the root this set started
    /// from and the root it trusts now. Local copies of those roles signed under the old keys
    /// must be deleted (§5.3.11, fast-forward attack recovery).
    pub fn rotated_roles(&self) -> Vec<&'static str> {
        ["timestamp", "snapshot", "targets"]
            .into_iter()
            .filter(|role| {
                let keys_of = |root: &Root| {
                    root.role(role).map(|r| {
                        let mut ids: Vec<&Key> =
                            r.keyids.iter().filter_map(|id| root.keys.get(id)).collect();
                        ids.sort_by(|a, b| a.keyval.public.cmp(&b.keyval.public));
                        ids.dedup();
                        (ids.into_iter().cloned().collect::<Vec<Key>>(), r.threshold)
                    })
                };
                keys_of(&self.initial_root) != keys_of(self.root.signed())
            })
            .collect()
    }

    /// Takes a timestamp (§5.4). `Err(EqualVersion)` means the repository offers the version
    /// already trusted: keep the trusted copy, even if the offered one differs in content.
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<(), TrustError> {
        if self.snapshot.is_some() {
            return Err(TrustError::out_of_order(
                "timestamp",
                "timestamp cannot change after snapshot has loaded",
            ));
        }
        self.check_root_not_expired()?;
        let new = Signed::<Timestamp>::from_bytes("timestamp", bytes)?;
        verify_top_level("timestamp", self.root.signed(), &new)?;
        if let Some(trusted) = &self.timestamp {
            let (old_v, new_v) = (trusted.signed().version, new.signed().version);
            if new_v < old_v {
                return Err(TrustError::Rollback {
                    role: "timestamp".into(),
                    trusted: old_v,
                    found: new_v,
                });
            }
            if new_v == old_v {
                return Err(TrustError::EqualVersion {
                    role: "timestamp".into(),
                    version: new_v,
                });
            }
            let old_snap = trusted.signed().snapshot_meta().map_or(0, |m| m.version);
            let new_snap = new.signed().snapshot_meta().map_or(0, |m| m.version);
            if new_snap < old_snap {
                return Err(TrustError::MetaRollback {
                    role: "timestamp".into(),
                    entry: "snapshot.json".into(),
                    trusted: old_snap,
                    found: new_snap,
                });
            }
        }
        // Kept even when expired: it is the rollback baseline for the next timestamp.
        self.timestamp = Some(new);
        self.check_final_timestamp()
    }

    fn check_final_timestamp(&self) -> Result<(), TrustError> {
        match &self.timestamp {
            Some(ts) => check_expiry("timestamp", ts, self.reference_time),
            None => Err(TrustError::out_of_order("timestamp", "no timestamp loaded")),
        }
    }

    /// Takes a snapshot (§5.5). `trusted` is for the copy from the local store, which is not
    /// checked against the timestamp's length and hashes: it was checked when it was fetched,
    /// and an older local copy must still load to serve as the rollback baseline.
    pub fn update_snapshot(&mut self, bytes: &[u8], trusted: bool) -> Result<(), TrustError> {
        let Some(timestamp) = &self.timestamp else {
            return Err(TrustError::out_of_order(
                "snapshot",
                "timestamp has not loaded",
            ));
        };
        if !self.targets.is_empty() {
            return Err(TrustError::out_of_order(
                "snapshot",
                "snapshot cannot change after targets have loaded",
            ));
        }
        self.check_final_timestamp()?;
        let meta = timestamp
            .signed()
            .snapshot_meta()
            .ok_or_else(|| TrustError::out_of_order("snapshot", "timestamp lists no snapshot"))?;
        if !trusted {
            check_meta_file("snapshot", "timestamp", meta, bytes)?;
        }
        let new = Signed::<Snapshot>::from_bytes("snapshot", bytes)?;
        verify_top_level("snapshot", self.root.signed(), &new)?;
        if let Some(old) = &self.snapshot {
            let (old_v, new_v) = (old.signed().version, new.signed().version);
            if new_v < old_v {
                return Err(TrustError::Rollback {
                    role: "snapshot".into(),
                    trusted: old_v,
                    found: new_v,
                });
            }
            for (entry, old_meta) in &old.signed().meta {
                let Some(new_meta) = new.signed().meta.get(entry) else {
                    return Err(TrustError::RoleRemoved {
                        entry: entry.clone(),
                    });
                };
                if new_meta.version < old_meta.version {
                    return Err(TrustError::MetaRollback {
                        role: "snapshot".into(),
                        entry: entry.clone(),
                        trusted: old_meta.version,
                        found: new_meta.version,
                    });
                }
            }
        }
        // Kept even when not final: it is the rollback baseline for the next snapshot.
        self.snapshot = Some(new);
        self.check_final_snapshot()
    }

    fn check_final_snapshot(&self) -> Result<(), TrustError> {
        let (Some(snapshot), Some(timestamp)) = (&self.snapshot, &self.timestamp) else {
            return Err(TrustError::out_of_order("snapshot", "no snapshot loaded"));
        };
        check_expiry("snapshot", snapshot, self.reference_time)?;
        let expected = timestamp.signed().snapshot_meta().map_or(0, |m| m.version);
        let found = snapshot.signed().version;
        if found != expected {
            return Err(TrustError::WrongVersion {
                role: "snapshot".into(),
                expected,
                found,
            });
        }
        Ok(())
    }

    /// Takes the top-level targets role (§5.6).
    pub fn update_targets(&mut self, bytes: &[u8]) -> Result<(), TrustError> {
        self.update_delegated_targets(bytes, "targets", "root")
    }

    /// Takes targets metadata for `role`, delegated by `delegator` ("root" for the top-level
    /// targets role). The delegator must already be trusted; its delegation in force now is
    /// what the signatures are checked against.
    pub fn update_delegated_targets(
        &mut self,
        bytes: &[u8],
        role: &str,
        delegator: &str,
    ) -> Result<(), TrustError> {
        if self.snapshot.is_none() {
            return Err(TrustError::out_of_order(role, "snapshot has not loaded"));
        }
        self.check_final_snapshot()?;
        let meta = self
            .snapshot
            .as_ref()
            .and_then(|s| s.signed().meta.get(&format!("{role}.json")))
            .ok_or_else(|| TrustError::NotInSnapshot { role: role.into() })?;
        check_meta_file(role, "snapshot", meta, bytes)?;
        let new = Signed::<Targets>::from_bytes(role, bytes)?;
        self.check_delegated_signatures(role, delegator, &new)?;
        if new.signed().version != meta.version {
            return Err(TrustError::WrongVersion {
                role: role.into(),
                expected: meta.version,
                found: new.signed().version,
            });
        }
        check_expiry(role, &new, self.reference_time)?;
        self.targets.insert(
            role.into(),
            TrustedTargets {
                signed: new,
                delegators: BTreeSet::from([delegator.to_string()]),
            },
        );
        Ok(())
    }

    /// Whether `role` is already loaded and trusted as `delegator` delegates it; `false`
    /// when it has not loaded. A role loaded through another delegator is trusted through
    /// this one only if its signatures meet this delegator's keys and threshold for it too;
    /// otherwise it is refused here, as a fresh copy signed that way would be.
    pub fn check_loaded_targets(
        &mut self,
        role: &str,
        delegator: &str,
    ) -> Result<bool, TrustError> {
        let Some(loaded) = self.targets.get(role) else {
            return Ok(false);
        };
        if loaded.delegators.contains(delegator) {
            return Ok(true);
        }
        self.check_delegated_signatures(role, delegator, &loaded.signed)?;
        if let Some(loaded) = self.targets.get_mut(role) {
            loaded.delegators.insert(delegator.to_string());
        }
        Ok(true)
    }

    /// §5.6.3 / §5.7.2: `doc` is signed by a threshold of the keys `delegator` names for
    /// `role` — root's targets keys for the top-level role, the delegating role's
    /// delegation in force now for a delegated one.
    fn check_delegated_signatures(
        &self,
        role: &str,
        delegator: &str,
        doc: &Signed<Targets>,
    ) -> Result<(), TrustError> {
        if delegator == "root" {
            if role != "targets" {
                return Err(TrustError::NotDelegated {
                    role: role.into(),
                    delegator: delegator.into(),
                });
            }
            return verify_top_level("targets", self.root.signed(), doc);
        }
        let parent = self
            .targets
            .get(delegator)
            .ok_or_else(|| TrustError::out_of_order(role, "its delegator has not loaded"))?;
        let (keys, keyids, threshold) = parent
            .signed
            .signed()
            .delegations
            .as_ref()
            .and_then(|d| delegated_role_keys(d, role))
            .ok_or_else(|| TrustError::NotDelegated {
                role: role.into(),
                delegator: delegator.into(),
            })?;
        doc.verify_threshold(role, keys, &keyids, threshold)
            .map_err(|t| TrustError::NotSignedForDelegator {
                role: role.into(),
                delegator: delegator.into(),
                valid: t.valid,
                threshold: t.threshold,
            })
    }

    pub fn root(&self) -> &Signed<Root> {
        &self.root
    }

    pub fn timestamp(&self) -> Option<&Signed<Timestamp>> {
        self.timestamp.as_ref()
    }

    pub fn snapshot(&self) -> Option<&Signed<Snapshot>> {
        self.snapshot.as_ref()
    }

    /// "targets" or a delegated role, once loaded.
    pub fn targets(&self, role: &str) -> Option<&Signed<Targets>> {
        self.targets.get(role).map(|t| &t.signed)
    }

    pub fn reference_time(&self) -> DateTime<Utc> {
        self.reference_time
    }
}

/// The keys, key ids and threshold a delegation gives `role`, whether listed by name or as a
/// succinct hash bin.
pub fn delegated_role_keys<'a>(
    delegations: &'a Delegations,
    role: &str,
) -> Option<(&'a BTreeMap<String, Key>, Vec<String>, u64)> {
    if let Some(roles) = &delegations.roles {
        let r = roles.iter().find(|r| r.name == role)?;
        return Some((&delegations.keys, r.keyids.clone(), r.threshold));
    }
    let succinct = delegations.succinct_roles.as_ref()?;
    if succinct_bin_names(succinct).any(|name| name == role) {
        return Some((
            &delegations.keys,
            succinct.keyids.clone(),
            succinct.threshold,
        ));
    }
    None
}

fn sha256_of(path: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, path.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn succinct_suffix_len(s: &SuccinctRoles) -> usize {
    s.bit_length.div_ceil(4) as usize
}

/// Every bin name of a succinct delegation, lazily (up to 2^32 of them: take what you need).
pub fn succinct_bin_names(s: &SuccinctRoles) -> impl Iterator<Item = String> + '_ {
    let width = succinct_suffix_len(s);
    let count = 1u64 << s.bit_length.min(32);
    (0..count).map(move |bin| format!("{}-{:0width$x}", s.name_prefix, bin))
}

/// The succinct bin that holds `target_path`: the first `bit_length` bits of the sha256 of the
/// path (TAP 15).
fn succinct_bin_for(s: &SuccinctRoles, target_path: &str) -> String {
    let digest = sha256_of(target_path);
    let mut first = [0u8; 4];
    first.copy_from_slice(digest.get(..4).unwrap_or(&[0; 4]));
    let bits = s.bit_length.clamp(1, 32);
    let bin = u32::from_be_bytes(first) >> (32 - bits);
    format!(
        "{}-{:0width$x}",
        s.name_prefix,
        bin,
        width = succinct_suffix_len(s)
    )
}

/// The delegated roles of a delegation that may hold `target_path`, in the order they must be
/// searched, each with its `terminating` flag (§5.6.7.2). Succinct bins are terminating.
pub fn roles_for_target(delegations: &Delegations, target_path: &str) -> Vec<(String, bool)> {
    if let Some(roles) = &delegations.roles {
        let path_hash = hex::encode(sha256_of(target_path));
        return roles
            .iter()
            .filter(|r| {
                if let Some(patterns) = &r.paths {
                    patterns.iter().any(|p| path_matches(p, target_path))
                } else if let Some(prefixes) = &r.path_hash_prefixes {
                    prefixes.iter().any(|p| path_hash.starts_with(p.as_str()))
                } else {
                    false
                }
            })
            .map(|r| (r.name.clone(), r.terminating))
            .collect();
    }
    match &delegations.succinct_roles {
        Some(s) => vec![(succinct_bin_for(s, target_path), true)],
        None => Vec::new(),
    }
}

/// Shell-style matching of a delegation path pattern, as python-tuf does it: pattern and path
/// must have the same number of `/`-separated parts and each part matches with `fnmatch`
/// rules (`*` any run within the part, `?` one character, `[seq]`/`[!seq]` a class),
/// case-sensitively. So `*` never crosses a `/`.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let pattern_parts: Vec<&str> = pattern.split('/').collect();
    let path_parts: Vec<&str> = path.split('/').collect();
    pattern_parts.len() == path_parts.len()
        && pattern_parts.iter().zip(&path_parts).all(|(p, s)| {
            let p: Vec<char> = p.chars().collect();
            let s: Vec<char> = s.chars().collect();
            fnmatch(&p, &s)
        })
}

/// One `fnmatch` part. Iterative with one backtrack point for `*`, so it runs in O(p·s) and
/// cannot be driven into exponential time by a hostile pattern.
fn fnmatch(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        let pc = pattern.get(p).copied();
        let tc = text.get(t).copied().unwrap_or_default();
        match pc {
            Some('*') => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some('?') => {
                p += 1;
                t += 1;
                continue;
            }
            Some('[') => {
                if let Some((matched, next)) = match_class(pattern, p, tc) {
                    if matched {
                        p = next;
                        t += 1;
                        continue;
                    }
                } else if tc == '[' {
                    p += 1;
                    t += 1;
                    continue;
                }
            }
            Some(c) if c == tc => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

/// Matches `c` against the class starting at `pattern[start] == '['`. Returns whether it
/// matched and the index after the class, or None when the class is unterminated (then `[`
/// is a literal, as in Python's fnmatch).
fn match_class(pattern: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(pattern.get(i), Some('!'));
    if negate {
        i += 1;
    }
    let first = i;
    let mut matched = false;
    loop {
        let pc = *pattern.get(i)?;
        if pc == ']' && i > first {
            return Some((matched != negate, i + 1));
        }
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|&e| e != ']') {
            let end = *pattern.get(i + 2)?;
            if pc <= c && c <= end {
                matched = true;
            }
            i += 3;
        } else {
            if pc == c {
                matched = true;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_like_python_tuf() {
        let yes = [
            ("files/*", "files/a.img"),
            ("files/*.img", "files/a.img"),
            ("*", "a"),
            ("a/?/c", "a/b/c"),
            ("[ab]/x", "b/x"),
            ("[!ab]/x", "c/x"),
            ("[a-c]x", "bx"),
            ("f[", "f["),
            ("*/*", "a/b"),
            ("**", "abc"),
            ("", ""),
        ];
        let no = [
            ("files/*", "files/a/b.img"),
            ("files/*", "Files/a.img"),
            ("*", "a/b"),
            ("a/?/c", "a/bb/c"),
            ("[!ab]/x", "a/x"),
            ("files/*.img", "files/a.IMG"),
            ("a", "a/"),
        ];
        for (p, s) in yes {
            assert!(path_matches(p, s), "{p} should match {s}");
        }
        for (p, s) in no {
            assert!(!path_matches(p, s), "{p} should not match {s}");
        }
    }

    #[test]
    fn hostile_pattern_is_linear_enough() {
        let pattern = "*a".repeat(200) + "b";
        let text = "a".repeat(5000);
        assert!(!path_matches(&pattern, &text));
    }

    #[test]
    fn succinct_bins_follow_tap15() {
        let s = SuccinctRoles {
            keyids: vec![],
            threshold: 1,
            bit_length: 8,
            name_prefix: "bin".into(),
            extra: Default::default(),
        };
        let digest = sha256_of("a/b.img");
        let expected = format!("bin-{:02x}", digest[0]);
        assert_eq!(succinct_bin_for(&s, "a/b.img"), expected);
        assert_eq!(succinct_bin_names(&s).count(), 256);
        let s3 = SuccinctRoles { bit_length: 3, ..s };
        let bin = succinct_bin_for(&s3, "a/b.img");
        assert_eq!(bin, format!("bin-{:x}", digest[0] >> 5));
    }
}
