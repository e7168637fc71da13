//! The TUF client workflow (spec §5 "Detailed client workflow"), as the I/O shell around the
//! trust core: it fetches bytes, hands them to [`TrustedMetadata`], persists what it admits,
//! searches delegations and downloads targets. Every security decision about metadata is
//! the trust core's; this module only decides *which* bytes to ask for and where to keep
//! them. Modelled on python-tuf's `ngclient/updater.py`.
//!
//! Order of a refresh (§5.2–§5.6): the local `root.json` is the anchor; roots N+1, N+2, …
//! are fetched until one is not found (at most [`UpdaterConfig::max_root_rotations`]), and
//! only then is root expiry checked, so an expired local root never blocks the newer ones.
//! The local timestamp, if it still verifies, is the baseline against which the remote one
//! is checked for rollback; then snapshot and top-level targets come from the local store
//! when their stored version is the one the newer role names (no request at all), else
//! from the mirrors (`VERSION.ROLE.json` with consistent snapshots). Delegated targets roles
//! are loaded only when a target lookup reaches them, at most once per refresh.
//!
//! Each document is persisted, as the exact bytes received, as soon as the trust core has
//! admitted it; nothing else is ever written to the metadata directory, and nothing is
//! deleted except what a verified key rotation makes stale (§5.3.11). A failure therefore
//! leaves the directory as it was, or with newer documents that fully verified.

use std::collections::{BTreeSet, HashSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::metadata::{Delegations, HashChecker, TargetFile};
use crate::store::{self, MetadataStore, StoreError};
use crate::transport::{encode_path_segment, join_url, Mirror, Transport, TransportError};
use crate::trust::{roles_for_target, succinct_bin_names, TrustError, TrustedMetadata};

/// Byte caps for metadata whose length no signed document gives (spec §5: "an upper bound
/// on the number of bytes downloaded"). Defaults are python-tuf's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataLimits {
    pub root: u64,
    pub timestamp: u64,
    pub snapshot: u64,
    pub targets: u64,
}

impl Default for MetadataLimits {
    fn default() -> Self {
        MetadataLimits {
            root: 512_000,
            timestamp: 16_384,
            snapshot: 2_000_000,
            targets: 5_000_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdaterConfig {
    pub limits: MetadataLimits,
    /// Most root versions fetched in one refresh (python-tuf: 32).
    pub max_root_rotations: u64,
    /// Most targets roles visited in one target lookup, `targets` included (python-tuf: 32).
    pub max_delegations: usize,
    /// Request targets as `HASH.name` when root sets `consistent_snapshot` (spec §5.7.3).
    pub prefix_targets_with_hash: bool,
    /// The time expiry is judged against; `None` is the system clock. Tests set it to
    /// replay freeze attacks; a device leaves it `None`.
    pub reference_time: Option<DateTime<Utc>>,
}

impl Default for UpdaterConfig {
    fn default() -> Self {
        UpdaterConfig {
            limits: MetadataLimits::default(),
            max_root_rotations: 32,
            max_delegations: 32,
            prefix_targets_with_hash: true,
            reference_time: None,
        }
    }
}

#[derive(Debug, Error)]
pub enum UpdateError {
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error("fetching {what}: {source}")]
    Transport {
        what: String,
        #[source]
        source: TransportError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no trusted root: {path} does not exist (run init first)")]
    NoTrustedRoot { path: PathBuf },
    #[error("{role} metadata: {listed_in} does not list it")]
    NotListed { role: String, listed_in: String },
    #[error("target {name:?} refused: {reason}")]
    TargetRefused { name: String, reason: String },
    #[error("target {name:?}: {reason}")]
    TargetIo { name: String, reason: String },
    #[error("target {name:?}: no mirror has a targets URL")]
    NoTargetsUrl { name: String },
    #[error("no mirror is configured")]
    NoMirror,
    #[error("the updater must refresh before looking up targets")]
    NotRefreshed,
}

/// A target found in trusted metadata, and the role that signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetInfo {
    pub name: String,
    pub file: TargetFile,
    pub role: String,
}

/// Drives one device's view of one repository.
pub struct Updater {
    store: MetadataStore,
    mirrors: Vec<Mirror>,
    transport: Box<dyn Transport>,
    config: UpdaterConfig,
    trusted: TrustedMetadata,
    refreshed: bool,
}

impl Updater {
    /// Loads the trusted root from `metadata_dir`; no request is made.
    pub fn new(
        metadata_dir: &Path,
        mirrors: Vec<Mirror>,
        transport: Box<dyn Transport>,
        config: UpdaterConfig,
    ) -> Result<Self, UpdateError> {
        if mirrors.is_empty() {
            return Err(UpdateError::NoMirror);
        }
        let store = MetadataStore::open(metadata_dir)?;
        let trusted = load_trusted_root(&store, &config)?;
        Ok(Updater {
            store,
            mirrors,
            transport,
            config,
            trusted,
            refreshed: false,
        })
    }

    pub fn trusted(&self) -> &TrustedMetadata {
        &self.trusted
    }

    pub fn store(&self) -> &MetadataStore {
        &self.store
    }

    /// Updates root, timestamp, snapshot and top-level targets (spec §5.3–§5.6). May be
    /// called again: each call starts over from the stored root.
    pub fn refresh(&mut self) -> Result<(), UpdateError> {
        self.refreshed = false;
        self.trusted = load_trusted_root(&self.store, &self.config)?;
        self.load_root()?;
        self.load_timestamp()?;
        self.load_snapshot()?;
        self.load_targets("targets", "root")?;
        self.refreshed = true;
        Ok(())
    }

    /// §5.3: root N+1, N+2, … until the mirrors have no next version.
    fn load_root(&mut self) -> Result<(), UpdateError> {
        let first = self.trusted.root().signed().version.saturating_add(1);
        let last = first.saturating_add(self.config.max_root_rotations);
        for version in first..last {
            let file = format!("{version}.root.json");
            match self.fetch_metadata(&file, self.config.limits.root) {
                Ok(bytes) => {
                    self.trusted.update_root(&bytes)?;
                    // Stale copies go before the new root is stored, so that no crash or
                    // later failure can leave a stored root next to them.
                    self.forget_rotated_roles()?;
                    self.store.save("root", &bytes)?;
                }
                Err(e) if e.is_not_found() => break,
                Err(e) => {
                    return Err(UpdateError::Transport {
                        what: format!("root version {version}"),
                        source: e,
                    })
                }
            }
        }
        self.trusted.check_root_not_expired()?;
        Ok(())
    }

    /// §5.3.11: when a new root changed the keys of timestamp or snapshot, the stored
    /// timestamp and snapshot are deleted, so that versions pushed far ahead with a
    /// compromised key (fast-forward attack) do not block the repository's recovery; stored
    /// targets metadata signed under rotated targets keys is deleted too (it can no longer
    /// verify). Nothing else is ever deleted.
    fn forget_rotated_roles(&mut self) -> Result<(), UpdateError> {
        let rotated = self.trusted.rotated_roles();
        if rotated.contains(&"timestamp") || rotated.contains(&"snapshot") {
            self.store.remove("timestamp")?;
            self.store.remove("snapshot")?;
        }
        if rotated.contains(&"targets") {
            self.store.remove("targets")?;
        }
        Ok(())
    }

    /// §5.4: the stored timestamp (if it still verifies) is the rollback baseline.
    fn load_timestamp(&mut self) -> Result<(), UpdateError> {
        let limit = self.config.limits.timestamp;
        if let Ok(Some(local)) = self.store.load("timestamp", limit) {
            // A stored timestamp that no longer verifies (rotated keys, expired) is no
            // baseline; the remote one is then checked against root alone.
            let _ = self.trusted.update_timestamp(&local);
        }
        let bytes =
            self.fetch_metadata("timestamp.json", limit)
                .map_err(|e| UpdateError::Transport {
                    what: "timestamp".into(),
                    source: e,
                })?;
        match self.trusted.update_timestamp(&bytes) {
            Ok(()) => self.store.save("timestamp", &bytes)?,
            // Same version as stored: nothing new; keep the stored bytes.
            Err(TrustError::EqualVersion { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// §5.5: snapshot, from the store if it is the version timestamp names.
    fn load_snapshot(&mut self) -> Result<(), UpdateError> {
        let meta = self
            .trusted
            .timestamp()
            .and_then(|t| t.signed().snapshot_meta())
            .cloned()
            .ok_or_else(|| UpdateError::NotListed {
                role: "snapshot".into(),
                listed_in: "timestamp".into(),
            })?;
        if let Ok(Some(local)) = self.store.load("snapshot", self.config.limits.snapshot) {
            let admitted = self.trusted.update_snapshot(&local, true).is_ok();
            let version = self.trusted.snapshot().map(|s| s.signed().version);
            if admitted && version == Some(meta.version) {
                return Ok(());
            }
        }
        let file = self.versioned_name("snapshot", meta.version);
        let limit = meta.length.unwrap_or(self.config.limits.snapshot);
        let bytes = self
            .fetch_metadata(&file, limit)
            .map_err(|e| UpdateError::Transport {
                what: "snapshot".into(),
                source: e,
            })?;
        self.trusted.update_snapshot(&bytes, false)?;
        self.store.save("snapshot", &bytes)?;
        Ok(())
    }

    /// §5.6 (and §5.7.2 for delegated roles): a targets role, from the store if its stored
    /// version is the one snapshot names, else from the mirrors. A role already loaded in
    /// this refresh is not loaded again, but it speaks for `delegator` only if it meets that
    /// delegator's keys for it, wherever it was first reached from.
    fn load_targets(&mut self, role: &str, delegator: &str) -> Result<(), UpdateError> {
        if self.trusted.check_loaded_targets(role, delegator)? {
            return Ok(());
        }
        let meta = self
            .trusted
            .snapshot()
            .and_then(|s| s.signed().meta.get(&format!("{role}.json")))
            .cloned()
            .ok_or_else(|| UpdateError::NotListed {
                role: role.into(),
                listed_in: "snapshot".into(),
            })?;
        if let Ok(Some(local)) = self.store.load(role, self.config.limits.targets) {
            if self.admit_targets(&local, role, delegator).is_ok() {
                return Ok(());
            }
        }
        let file = self.versioned_name(role, meta.version);
        let limit = meta.length.unwrap_or(self.config.limits.targets);
        let bytes = self
            .fetch_metadata(&file, limit)
            .map_err(|e| UpdateError::Transport {
                what: format!("{role} metadata"),
                source: e,
            })?;
        self.admit_targets(&bytes, role, delegator)?;
        self.store.save(role, &bytes)?;
        Ok(())
    }

    fn admit_targets(
        &mut self,
        bytes: &[u8],
        role: &str,
        delegator: &str,
    ) -> Result<(), TrustError> {
        if role == "targets" {
            self.trusted.update_targets(bytes)
        } else {
            self.trusted
                .update_delegated_targets(bytes, role, delegator)
        }
    }

    /// The remote file name of a role: `VERSION.ROLE.json` with consistent snapshots, the
    /// role name percent-encoded into one path segment.
    fn versioned_name(&self, role: &str, version: u64) -> String {
        let role = encode_path_segment(role);
        if self.trusted.root().signed().consistent_snapshot() {
            format!("{version}.{role}.json")
        } else {
            format!("{role}.json")
        }
    }

    /// Fetches a metadata file from the first mirror that delivers it whole; if none does,
    /// the failure is "not found" when any mirror said so.
    fn fetch_metadata(&self, file: &str, limit: u64) -> Result<Vec<u8>, TransportError> {
        let mut failure = None;
        for mirror in &self.mirrors {
            let result = join_url(&mirror.metadata_base, file)
                .and_then(|url| self.transport.fetch_bytes(&url, limit));
            match result {
                Ok(bytes) => return Ok(bytes),
                Err(e) => failure = Some(combine_failures(failure, e)),
            }
        }
        Err(failure.unwrap_or(TransportError::NotFound { url: file.into() }))
    }

    /// Finds `name` in the targets metadata: a pre-order depth-first search of the
    /// delegation graph (spec §5.7.2). A terminating role that matches ends the search
    /// after itself; a role is visited once even if delegated to twice; at most
    /// [`UpdaterConfig::max_delegations`] roles are visited.
    pub fn target_info(&mut self, name: &str) -> Result<Option<TargetInfo>, UpdateError> {
        if !self.refreshed {
            return Err(UpdateError::NotRefreshed);
        }
        let mut to_visit: Vec<(String, String)> = vec![("targets".into(), "root".into())];
        let mut visited: HashSet<String> = HashSet::new();
        let mut budget = self.config.max_delegations;
        while budget > 0 {
            let Some((role, delegator)) = to_visit.pop() else {
                break;
            };
            if visited.contains(&role) {
                continue;
            }
            self.load_targets(&role, &delegator)?;
            let Some(targets) = self.trusted.targets(&role) else {
                return Err(UpdateError::NotListed {
                    role,
                    listed_in: "the trusted set".into(),
                });
            };
            if let Some(file) = targets.signed().targets.get(name) {
                return Ok(Some(TargetInfo {
                    name: name.into(),
                    file: file.clone(),
                    role,
                }));
            }
            budget -= 1;
            let mut children = Vec::new();
            if let Some(delegations) = &targets.signed().delegations {
                for (child, terminating) in roles_for_target(delegations, name) {
                    children.push((child.to_string(), role.clone()));
                    if terminating {
                        to_visit.clear();
                        break;
                    }
                }
            }
            visited.insert(role);
            children.reverse();
            to_visit.extend(children);
        }
        Ok(None)
    }

    /// Every target the trusted metadata vouches for, for a device that must choose among
    /// them rather than look one up by name. Each role reachable from `targets` is loaded in
    /// the same pre-order as a lookup (each once, at most
    /// [`UpdaterConfig::max_delegations`] roles), and every name found is then resolved by
    /// [`Self::target_info`]: so a target is returned only as the role a single lookup would
    /// trust for it, and a name listed by a role not delegated that path is never returned.
    pub fn all_targets(&mut self) -> Result<Vec<TargetInfo>, UpdateError> {
        if !self.refreshed {
            return Err(UpdateError::NotRefreshed);
        }
        let mut names: BTreeSet<String> = BTreeSet::new();
        let mut to_visit: Vec<(String, String)> = vec![("targets".into(), "root".into())];
        let mut visited: HashSet<String> = HashSet::new();
        let budget = self.config.max_delegations;
        while let Some((role, delegator)) = to_visit.pop() {
            if visited.len() >= budget {
                break;
            }
            if !visited.insert(role.clone()) {
                continue;
            }
            self.load_targets(&role, &delegator)?;
            let Some(targets) = self.trusted.targets(&role) else {
                continue;
            };
            names.extend(targets.signed().targets.keys().cloned());
            let children: Vec<String> = match &targets.signed().delegations {
                Some(Delegations {
                    roles: Some(roles), ..
                }) => roles.iter().map(|r| r.name.clone()).collect(),
                Some(Delegations {
                    succinct_roles: Some(succinct),
                    ..
                }) => succinct_bin_names(succinct).take(budget).collect(),
                _ => Vec::new(),
            };
            to_visit.extend(
                children
                    .into_iter()
                    .rev()
                    .map(|child| (child, role.clone())),
            );
        }
        let mut found = Vec::new();
        for name in names {
            if let Some(info) = self.target_info(&name)? {
                found.push(info);
            }
        }
        Ok(found)
    }

    /// Where `info` is (or will be) stored in `target_dir`.
    pub fn target_path(info: &TargetInfo, target_dir: &Path) -> PathBuf {
        target_dir.join(target_file_name(&info.name))
    }

    /// The stored copy of `info` in `target_dir`, if one is there with the signed length and
    /// hashes (then it need not be downloaded again).
    pub fn cached_target(
        &self,
        info: &TargetInfo,
        target_dir: &Path,
    ) -> Result<Option<PathBuf>, UpdateError> {
        let path = Self::target_path(info, target_dir);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(UpdateError::TargetIo {
                    name: info.name.clone(),
                    reason: format!("{}: {e}", path.display()),
                })
            }
        };
        let Ok(mut checker) = HashChecker::new(&info.file.hashes) else {
            return Ok(None);
        };
        let mut reader = file.take(info.file.length.saturating_add(1));
        let mut buf = vec![0u8; 64 * 1024];
        let mut total: u64 = 0;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Ok(None),
            };
            total = total.saturating_add(n as u64);
            checker.update(buf.get(..n).unwrap_or_default());
        }
        if total == info.file.length && checker.finish().is_ok() {
            Ok(Some(path))
        } else {
            Ok(None)
        }
    }

    /// Downloads `info` into `target_dir` unless a verified copy is already there (spec
    /// §5.7.3). The body streams into a temporary file in `target_dir`, hashed as it is
    /// written and capped at the signed length; only when length and every listed hash
    /// match is it renamed into place. A failing mirror (transport error) is followed by the
    /// next; a body that fails the signed length or hashes stops the download.
    pub fn download_target(
        &self,
        info: &TargetInfo,
        target_dir: &Path,
    ) -> Result<PathBuf, UpdateError> {
        if let Some(path) = self.cached_target(info, target_dir)? {
            return Ok(path);
        }
        let name = &info.name;
        let refused = |reason: String| UpdateError::TargetRefused {
            name: name.clone(),
            reason,
        };
        let local_io = |reason: String| UpdateError::TargetIo {
            name: name.clone(),
            reason,
        };
        // Refuse before any request a target whose hashes we cannot check.
        HashChecker::new(&info.file.hashes).map_err(|e| refused(e.to_string()))?;
        let relative = self.target_url_path(info);
        let file_name = target_file_name(name);
        fs::create_dir_all(target_dir).map_err(|e| local_io(e.to_string()))?;
        let mut failure: Option<TransportError> = None;
        for mirror in &self.mirrors {
            let Some(base) = &mirror.targets_base else {
                continue;
            };
            let url = match join_url(base, &relative) {
                Ok(u) => u,
                Err(e) => {
                    failure = Some(combine_failures(failure, e));
                    continue;
                }
            };
            let mut body = match self.transport.fetch(&url, info.file.length) {
                Ok(b) => b,
                Err(e) => {
                    failure = Some(combine_failures(failure, e));
                    continue;
                }
            };
            let mut checker =
                HashChecker::new(&info.file.hashes).map_err(|e| refused(e.to_string()))?;
            let mut temp = store::temp_file_in(target_dir).map_err(|e| local_io(e.to_string()))?;
            let mut buf = vec![0u8; 64 * 1024];
            let mut transport_failed = None;
            loop {
                let n = match body.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        transport_failed = Some(TransportError::from_io(url.as_str(), e));
                        break;
                    }
                };
                let chunk = buf.get(..n).unwrap_or_default();
                checker.update(chunk);
                temp.write_all(chunk)
                    .map_err(|e| local_io(format!("writing a temporary file: {e}")))?;
            }
            if let Some(e) = transport_failed {
                failure = Some(combine_failures(failure, e));
                continue;
            }
            let received = body.bytes_read();
            if received != info.file.length {
                return Err(refused(format!(
                    "{url} delivered {received} bytes, signed length is {}",
                    info.file.length
                )));
            }
            checker
                .finish()
                .map_err(|e| refused(format!("{url}: {e}")))?;
            store::persist_temp(temp, target_dir, &file_name)?;
            return Ok(target_dir.join(file_name));
        }
        match failure {
            Some(source) => Err(UpdateError::Transport {
                what: format!("target {name:?}"),
                source,
            }),
            None => Err(UpdateError::NoTargetsUrl { name: name.clone() }),
        }
    }

    /// The path of a target below a mirror's targets URL: each segment of the name
    /// percent-encoded, the last one prefixed with a listed hash (sha256 preferred) when
    /// root sets `consistent_snapshot` (`dir/HASH.name`, spec §5.7.3). Since the bytes are
    /// checked against signed hashes, where a server maps this path is not trusted anyway.
    fn target_url_path(&self, info: &TargetInfo) -> String {
        let (dir, base) = match info.name.rsplit_once('/') {
            Some((d, b)) => (Some(d), b),
            None => (None, info.name.as_str()),
        };
        let mut base = encode_path_segment(base);
        if self.trusted.root().signed().consistent_snapshot()
            && self.config.prefix_targets_with_hash
        {
            let hash = info
                .file
                .hashes
                .get("sha256")
                .or_else(|| info.file.hashes.values().next());
            if let Some(hash) = hash {
                base = format!("{}.{base}", encode_path_segment(hash));
            }
        }
        match dir {
            Some(dir) => {
                let dir: Vec<String> = dir.split('/').map(encode_path_segment).collect();
                format!("{}/{base}", dir.join("/"))
            }
            None => base,
        }
    }
}

fn load_trusted_root(
    store: &MetadataStore,
    config: &UpdaterConfig,
) -> Result<TrustedMetadata, UpdateError> {
    let bytes =
        store
            .load("root", config.limits.root)?
            .ok_or_else(|| UpdateError::NoTrustedRoot {
                path: store.path_of("root"),
            })?;
    let now = config.reference_time.unwrap_or_else(Utc::now);
    Ok(TrustedMetadata::new(&bytes, now)?)
}

/// Of two mirror failures, keeps the one that decides: a mirror that answered "not found"
/// says more than one that could not be reached, so that a dead mirror in the list does not
/// turn the end of the root walk (§5.3.3) into an error. Otherwise the first failure is kept.
fn combine_failures(earlier: Option<TransportError>, later: TransportError) -> TransportError {
    match earlier {
        Some(e) if e.is_not_found() || !later.is_not_found() => e,
        _ => later,
    }
}

/// The file name a target is stored under in a target directory: the whole name
/// percent-encoded into one path component (everything but RFC 3986 unreserved characters,
/// as python-tuf does), so `a/b`, `../x` or `/etc/x` can never leave the directory. Names
/// made only of dots, which that would leave as `.` or `..`, have their dots encoded too;
/// the empty name is stored as `%`.
pub fn target_file_name(name: &str) -> String {
    if name.is_empty() {
        // A lone `%` is never produced by the encoding below.
        return "%".into();
    }
    if name.bytes().all(|b| b == b'.') {
        return "%2E".repeat(name.len());
    }
    encode_path_segment(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_file_names_stay_in_the_directory() {
        assert_eq!(target_file_name("a/b.txt"), "a%2Fb.txt");
        assert_eq!(target_file_name("../x"), "..%2Fx");
        assert_eq!(target_file_name(".."), "%2E%2E");
        assert_eq!(target_file_name("."), "%2E");
        assert_eq!(target_file_name(""), "%");
        assert_eq!(target_file_name("/etc/passwd"), "%2Fetc%2Fpasswd");
    }
}
