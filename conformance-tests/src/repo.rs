//! An in-test TUF repository, built and signed in-process with `tufota_client::metadata`
//! (fresh ed25519 keys every time), laid out as a web server serves it:
//!
//! ```text
//! DIR/metadata/N.root.json  timestamp.json  N.snapshot.json  N.<role>.json
//! DIR/targets/<dir>/<sha256>.<name>  <dir>/<sha512>.<name>  <dir>/<name>
//! ```
//!
//! Role names and target names are percent-encoded in file names exactly as the client
//! encodes them in URLs ([`encode_path_segment`]), and [`crate::http::TestServer`] maps
//! URL paths to file names without decoding, so unusual names are served as they are
//! requested.
//!
//! The fields are public so that a test can do to the repository whatever an attacker or a
//! careless publisher would: bump or lower versions, expire roles, rotate or drop keys,
//! overwrite files. Nothing is written until a `publish*`/`write_*` method is called.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tufota_client::metadata::{
    DelegatedRole, Delegations, HashAlgorithm, KeyType, MetaFile, PrivateKey, Role, RoleKeys, Root,
    Signed, Signer, Snapshot, SuccinctRoles, TargetFile, Targets, Timestamp, TufTime,
};
use tufota_client::transport::encode_path_segment;

pub type Key = Arc<PrivateKey>;

pub fn new_key() -> Key {
    match PrivateKey::generate(KeyType::Ed25519) {
        Ok((key, _pem)) => Arc::new(key),
        Err(e) => panic!("key generation failed: {e}"),
    }
}

/// The succinct hash bin of `path`: the first `bit_length` bits of sha256(path) (TAP 15).
pub fn succinct_bin(prefix: &str, bit_length: u32, path: &str) -> String {
    let digest = hex::decode(HashAlgorithm::Sha256.hex_digest(path.as_bytes())).expect("hex");
    let first = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    let bin = first >> (32 - bit_length);
    let width = bit_length.div_ceil(4) as usize;
    format!("{prefix}-{bin:0width$x}")
}

/// Signs `doc` with `keys` and returns the document bytes.
pub fn sign_doc<T: Role + Clone>(doc: &T, keys: &[Key]) -> Vec<u8> {
    let mut signed = Signed::new(doc.clone()).expect("canonical form");
    for k in keys {
        signed.sign(k.as_ref()).expect("signing");
    }
    signed.to_bytes()
}

/// The `meta` entry of a document: version, length and sha256 of its exact bytes.
pub fn meta_for(version: u64, bytes: &[u8]) -> MetaFile {
    let mut m = MetaFile::new(version);
    m.length = Some(bytes.len() as u64);
    m.hashes = Some(BTreeMap::from([(
        "sha256".to_string(),
        HashAlgorithm::Sha256.hex_digest(bytes),
    )]));
    m
}

pub struct TestRepo {
    /// Served directory: `metadata/` and `targets/` below it.
    pub dir: PathBuf,
    pub root: Root,
    pub timestamp: Timestamp,
    pub snapshot: Snapshot,
    /// `targets` and every delegated role.
    pub targets: BTreeMap<String, Targets>,
    /// The keys each role is signed with (top-level and delegated roles alike).
    pub signers: BTreeMap<String, Vec<Key>>,
    /// Root keys of the last published root: a new root is signed by them too (spec §5.3.4).
    previous_root_signers: Vec<Key>,
    /// Bytes of each targets role as last written, for snapshot `meta`.
    written_targets: BTreeMap<String, Vec<u8>>,
    snapshot_bytes: Vec<u8>,
    /// Put length and hashes in snapshot `meta` entries (timestamp always has them).
    pub snapshot_meta_hashes: bool,
}

pub fn in_days(days: i64) -> DateTime<Utc> {
    Utc::now() + Duration::days(days)
}

impl TestRepo {
    /// A repository with one key per top-level role (threshold 1), consistent snapshots,
    /// everything expiring in 30 days, published: `1.root.json`, targets v1, snapshot v1,
    /// timestamp v1.
    pub fn new(dir: &Path) -> TestRepo {
        fs::create_dir_all(dir.join("metadata")).expect("metadata dir");
        fs::create_dir_all(dir.join("targets")).expect("targets dir");
        let expires = in_days(30);
        let mut root = Root::new(expires);
        let mut signers = BTreeMap::new();
        for role in ["root", "timestamp", "snapshot", "targets"] {
            let key = new_key();
            root.keys.insert(key.keyid().to_string(), key.key().clone());
            root.roles.insert(
                role.to_string(),
                RoleKeys {
                    keyids: vec![key.keyid().to_string()],
                    threshold: 1,
                    extra: BTreeMap::new(),
                },
            );
            signers.insert(role.to_string(), vec![key]);
        }
        let mut timestamp = Timestamp::new(expires, MetaFile::new(1));
        timestamp.version = 0;
        let mut snapshot = Snapshot::new(expires);
        snapshot.version = 0;
        let mut repo = TestRepo {
            dir: dir.to_path_buf(),
            root,
            timestamp,
            snapshot,
            targets: BTreeMap::from([("targets".to_string(), Targets::new(expires))]),
            previous_root_signers: Vec::new(),
            signers,
            written_targets: BTreeMap::new(),
            snapshot_bytes: Vec::new(),
            snapshot_meta_hashes: true,
        };
        repo.write_root();
        repo.publish();
        repo
    }

    pub fn metadata_dir(&self) -> PathBuf {
        self.dir.join("metadata")
    }

    pub fn targets_dir(&self) -> PathBuf {
        self.dir.join("targets")
    }

    pub fn keys(&self, role: &str) -> Vec<Key> {
        self.signers.get(role).cloned().unwrap_or_default()
    }

    /// Writes a metadata file verbatim (for tampering).
    pub fn write_metadata_file(&self, file: &str, bytes: &[u8]) {
        fs::write(self.metadata_dir().join(file), bytes).expect("write metadata file");
    }

    pub fn read_metadata_file(&self, file: &str) -> Vec<u8> {
        fs::read(self.metadata_dir().join(file)).expect("read metadata file")
    }

    /// Signs the current root (by its own keys and those of the previous root) and writes
    /// `N.root.json`; returns the bytes.
    pub fn write_root(&mut self) -> Vec<u8> {
        let mut keys = self.keys("root");
        for k in &self.previous_root_signers {
            if !keys.iter().any(|c| c.keyid() == k.keyid()) {
                keys.push(Arc::clone(k));
            }
        }
        let bytes = sign_doc(&self.root, &keys);
        self.write_metadata_file(&format!("{}.root.json", self.root.version), &bytes);
        self.previous_root_signers = self.keys("root");
        bytes
    }

    /// Bumps the root version and publishes it.
    pub fn publish_root(&mut self) -> Vec<u8> {
        self.root.version += 1;
        self.write_root()
    }

    /// Signs a targets role at its current version and writes `N.<role>.json`.
    pub fn write_targets(&mut self, role: &str) -> Vec<u8> {
        let doc = self.targets.get(role).expect("no such targets role");
        let bytes = sign_doc(doc, &self.keys(role));
        let file = format!("{}.{}.json", doc.version, encode_path_segment(role));
        self.write_metadata_file(&file, &bytes);
        self.written_targets.insert(role.to_string(), bytes.clone());
        bytes
    }

    /// Builds snapshot `meta` from the targets roles as last written, signs snapshot at its
    /// current version and writes `N.snapshot.json`.
    pub fn write_snapshot(&mut self) -> Vec<u8> {
        let mut meta = BTreeMap::new();
        for (role, bytes) in &self.written_targets {
            let version = self.targets.get(role).map(|t| t.version).unwrap_or(1);
            let entry = if self.snapshot_meta_hashes {
                meta_for(version, bytes)
            } else {
                MetaFile::new(version)
            };
            meta.insert(format!("{role}.json"), entry);
        }
        self.snapshot.meta = meta;
        let bytes = sign_doc(&self.snapshot, &self.keys("snapshot"));
        self.write_metadata_file(&format!("{}.snapshot.json", self.snapshot.version), &bytes);
        self.snapshot_bytes = bytes.clone();
        bytes
    }

    /// Signs timestamp (naming the snapshot as last written) and writes `timestamp.json`.
    pub fn write_timestamp(&mut self) -> Vec<u8> {
        self.timestamp.meta.insert(
            "snapshot.json".into(),
            meta_for(self.snapshot.version, &self.snapshot_bytes),
        );
        let bytes = sign_doc(&self.timestamp, &self.keys("timestamp"));
        self.write_metadata_file("timestamp.json", &bytes);
        bytes
    }

    /// Writes every targets role at its current version, then snapshot and timestamp with
    /// their versions bumped by one.
    pub fn publish(&mut self) {
        let roles: Vec<String> = self.targets.keys().cloned().collect();
        for role in roles {
            self.write_targets(&role);
        }
        self.snapshot.version += 1;
        self.write_snapshot();
        self.timestamp.version += 1;
        self.write_timestamp();
    }

    /// Adds a target to `role` (sha256 and sha512) and writes its bytes under both hash
    /// names and its plain name.
    pub fn add_target(&mut self, role: &str, name: &str, content: &[u8]) -> TargetFile {
        let hashes = BTreeMap::from([
            (
                "sha256".to_string(),
                HashAlgorithm::Sha256.hex_digest(content),
            ),
            (
                "sha512".to_string(),
                HashAlgorithm::Sha512.hex_digest(content),
            ),
        ]);
        let file = TargetFile {
            length: content.len() as u64,
            hashes: hashes.clone(),
            custom: None,
            extra: BTreeMap::new(),
        };
        self.targets
            .get_mut(role)
            .expect("no such targets role")
            .targets
            .insert(name.to_string(), file.clone());
        let (dir, base) = match name.rsplit_once('/') {
            Some((d, b)) => (
                d.split('/')
                    .map(encode_path_segment)
                    .collect::<Vec<_>>()
                    .join("/"),
                encode_path_segment(b),
            ),
            None => (String::new(), encode_path_segment(name)),
        };
        let target_dir = self.targets_dir().join(&dir);
        fs::create_dir_all(&target_dir).expect("target dir");
        for hash in hashes.values() {
            fs::write(target_dir.join(format!("{hash}.{base}")), content).expect("write target");
        }
        fs::write(target_dir.join(&base), content).expect("write target");
        file
    }

    /// Delegates `paths` from `delegator` to role `name` (threshold 1). A new role gets a
    /// fresh key and an empty targets document of version 1; an existing one keeps its key
    /// and document (for cycles and diamonds in the delegation graph).
    pub fn delegate(&mut self, delegator: &str, name: &str, paths: &[&str], terminating: bool) {
        let key = match self.signers.get(name).and_then(|k| k.first()) {
            Some(existing) => Arc::clone(existing),
            None => new_key(),
        };
        self.delegate_to_key(delegator, name, paths, terminating, key);
    }

    /// As [`Self::delegate`], but naming `key` for the role in this delegation. The role's
    /// signers stay as they are (`key` is added only if the role had none), so a role that
    /// already exists is not signed with `key` unless the test adds it.
    pub fn delegate_to_key(
        &mut self,
        delegator: &str,
        name: &str,
        paths: &[&str],
        terminating: bool,
        key: Key,
    ) {
        let parent = self.targets.get_mut(delegator).expect("no such delegator");
        let delegations = parent.delegations.get_or_insert_with(|| Delegations {
            keys: BTreeMap::new(),
            roles: Some(Vec::new()),
            succinct_roles: None,
            extra: BTreeMap::new(),
        });
        delegations
            .keys
            .insert(key.keyid().to_string(), key.key().clone());
        delegations
            .roles
            .get_or_insert_with(Vec::new)
            .push(DelegatedRole {
                name: name.to_string(),
                keyids: vec![key.keyid().to_string()],
                threshold: 1,
                terminating,
                paths: Some(paths.iter().map(|p| p.to_string()).collect()),
                path_hash_prefixes: None,
                extra: BTreeMap::new(),
            });
        self.signers
            .entry(name.to_string())
            .or_insert_with(|| vec![key]);
        self.targets
            .entry(name.to_string())
            .or_insert_with(|| Targets::new(in_days(30)));
    }

    /// Delegates every path from `delegator` to `2^bit_length` hash bins named
    /// `PREFIX-XX` (TAP 15 `succinct_roles`, one fresh key for all bins, threshold 1), each
    /// with an empty targets document of version 1. Returns the bin names.
    pub fn delegate_succinct(
        &mut self,
        delegator: &str,
        prefix: &str,
        bit_length: u32,
    ) -> Vec<String> {
        let key = new_key();
        let parent = self.targets.get_mut(delegator).expect("no such delegator");
        parent.delegations = Some(Delegations {
            keys: BTreeMap::from([(key.keyid().to_string(), key.key().clone())]),
            roles: None,
            succinct_roles: Some(SuccinctRoles {
                keyids: vec![key.keyid().to_string()],
                threshold: 1,
                bit_length,
                name_prefix: prefix.to_string(),
                extra: BTreeMap::new(),
            }),
            extra: BTreeMap::new(),
        });
        let width = bit_length.div_ceil(4) as usize;
        let names: Vec<String> = (0..1u32 << bit_length)
            .map(|bin| format!("{prefix}-{bin:0width$x}"))
            .collect();
        for name in &names {
            self.signers.insert(name.clone(), vec![Arc::clone(&key)]);
            self.targets.insert(name.clone(), Targets::new(in_days(30)));
        }
        names
    }

    /// Replaces the keys of `role` with one new key: in root for a top-level role, in the
    /// delegator's delegations for a delegated one. The caller publishes root (or the
    /// delegator) afterwards.
    pub fn rotate_key(&mut self, role: &str) -> Key {
        let key = new_key();
        let old: Vec<String> = self
            .keys(role)
            .iter()
            .map(|k| k.keyid().to_string())
            .collect();
        if let Some(keys) = self.root.roles.get_mut(role) {
            keys.keyids = vec![key.keyid().to_string()];
            self.root
                .keys
                .insert(key.keyid().to_string(), key.key().clone());
            for id in &old {
                let still_used = self.root.roles.values().any(|r| r.keyids.contains(id));
                if !still_used {
                    self.root.keys.remove(id);
                }
            }
        } else {
            for t in self.targets.values_mut() {
                let Some(d) = t.delegations.as_mut() else {
                    continue;
                };
                let Some(r) = d
                    .roles
                    .as_mut()
                    .and_then(|rs| rs.iter_mut().find(|r| r.name == role))
                else {
                    continue;
                };
                r.keyids = vec![key.keyid().to_string()];
                d.keys.insert(key.keyid().to_string(), key.key().clone());
                for id in &old {
                    d.keys.remove(id);
                }
            }
        }
        self.signers
            .insert(role.to_string(), vec![Arc::clone(&key)]);
        key
    }

    /// Sets `expires` of a role ("root", "timestamp", "snapshot" or a targets role).
    pub fn set_expires(&mut self, role: &str, when: DateTime<Utc>) {
        let t = TufTime(when);
        match role {
            "root" => self.root.expires = t,
            "timestamp" => self.timestamp.expires = t,
            "snapshot" => self.snapshot.expires = t,
            other => self.targets.get_mut(other).expect("no such role").expires = t,
        }
    }

    /// The bytes of `1.root.json` (what a client is initialised with).
    pub fn initial_root(&self) -> Vec<u8> {
        self.read_metadata_file("1.root.json")
    }
}
