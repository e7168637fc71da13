//! Every refusal of the trust core, one test each, on repositories built in memory. The
//! same attacks are mounted over HTTP against the real binary in conformance-tests; here the
//! verdicts are checked directly, with a fixed reference time.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use tufota_client::metadata::{
    DelegatedRole, Delegations, HashAlgorithm, KeyType, MetaFile, PrivateKey, Role, RoleKeys, Root,
    Signed, Signer, Snapshot, TargetFile, Targets, Timestamp,
};
use tufota_client::trust::{TrustError, TrustedMetadata};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

fn key() -> PrivateKey {
    PrivateKey::generate(KeyType::Ed25519).unwrap().0
}

fn sign<T: Role>(doc: T, keys: &[&PrivateKey]) -> Vec<u8> {
    let mut s = Signed::new(doc).unwrap();
    for k in keys {
        s.sign(*k).unwrap();
    }
    s.to_bytes()
}

fn meta_for(bytes: &[u8], version: u64) -> MetaFile {
    let mut m = MetaFile::new(version);
    m.length = Some(bytes.len() as u64);
    m.hashes = Some(BTreeMap::from([(
        "sha256".to_string(),
        HashAlgorithm::Sha256.hex_digest(bytes),
    )]));
    m
}

/// Keys and the documents of one repository state.
struct Repo {
    root_keys: Vec<PrivateKey>,
    root_threshold: u64,
    timestamp: PrivateKey,
    snapshot: PrivateKey,
    targets: PrivateKey,
    delegate: PrivateKey,
    root_version: u64,
    expires: DateTime<Utc>,
}

impl Repo {
    fn new() -> Self {
        Repo {
            root_keys: vec![key(), key(), key()],
            root_threshold: 2,
            timestamp: key(),
            snapshot: key(),
            targets: key(),
            delegate: key(),
            root_version: 1,
            expires: now() + Duration::days(30),
        }
    }

    fn root(&self) -> Root {
        let mut root = Root::new(self.expires);
        root.version = self.root_version;
        let mut add = |role: &str, keys: Vec<&PrivateKey>, threshold: u64| {
            for k in &keys {
                root.keys.insert(k.keyid().into(), k.key().clone());
            }
            root.roles.insert(
                role.into(),
                RoleKeys {
                    keyids: keys.iter().map(|k| k.keyid().to_string()).collect(),
                    threshold,
                    extra: BTreeMap::new(),
                },
            );
        };
        add("root", self.root_keys.iter().collect(), self.root_threshold);
        add("timestamp", vec![&self.timestamp], 1);
        add("snapshot", vec![&self.snapshot], 1);
        add("targets", vec![&self.targets], 1);
        root
    }

    fn root_bytes(&self) -> Vec<u8> {
        let keys: Vec<&PrivateKey> = self.root_keys.iter().collect();
        sign(self.root(), &keys)
    }

    fn targets_doc(&self, version: u64) -> Targets {
        let mut t = Targets::new(self.expires);
        t.version = version;
        t.targets.insert(
            "a.img".into(),
            TargetFile {
                length: 3,
                hashes: BTreeMap::from([(
                    "sha256".into(),
                    HashAlgorithm::Sha256.hex_digest(b"abc"),
                )]),
                custom: None,
                extra: BTreeMap::new(),
            },
        );
        t.delegations = Some(Delegations {
            keys: BTreeMap::from([(self.delegate.keyid().into(), self.delegate.key().clone())]),
            roles: Some(vec![DelegatedRole {
                name: "apps".into(),
                keyids: vec![self.delegate.keyid().into()],
                threshold: 1,
                terminating: false,
                paths: Some(vec!["apps/*".into()]),
                path_hash_prefixes: None,
                extra: BTreeMap::new(),
            }]),
            succinct_roles: None,
            extra: BTreeMap::new(),
        });
        t
    }

    fn targets_bytes(&self, version: u64) -> Vec<u8> {
        sign(self.targets_doc(version), &[&self.targets])
    }

    fn delegated_bytes(&self, version: u64, key: &PrivateKey) -> Vec<u8> {
        let mut t = Targets::new(self.expires);
        t.version = version;
        sign(t, &[key])
    }

    fn snapshot_bytes(
        &self,
        version: u64,
        targets: &[u8],
        targets_v: u64,
        apps: &[u8],
        apps_v: u64,
    ) -> Vec<u8> {
        let mut s = Snapshot::new(self.expires);
        s.version = version;
        s.meta
            .insert("targets.json".into(), meta_for(targets, targets_v));
        s.meta.insert("apps.json".into(), meta_for(apps, apps_v));
        sign(s, &[&self.snapshot])
    }

    fn timestamp_bytes(&self, version: u64, snapshot: &[u8], snapshot_v: u64) -> Vec<u8> {
        let mut t = Timestamp::new(self.expires, meta_for(snapshot, snapshot_v));
        t.version = version;
        sign(t, &[&self.timestamp])
    }
}

/// A consistent repository state: versions of (timestamp, snapshot, targets, apps).
struct State {
    timestamp: Vec<u8>,
    snapshot: Vec<u8>,
    targets: Vec<u8>,
    apps: Vec<u8>,
}

fn state(repo: &Repo, ts: u64, snap: u64, targets: u64, apps: u64) -> State {
    let t = repo.targets_bytes(targets);
    let a = repo.delegated_bytes(apps, &repo.delegate);
    let s = repo.snapshot_bytes(snap, &t, targets, &a, apps);
    State {
        timestamp: repo.timestamp_bytes(ts, &s, snap),
        snapshot: s,
        targets: t,
        apps: a,
    }
}

fn load_all(trusted: &mut TrustedMetadata, st: &State) -> Result<(), TrustError> {
    trusted.update_timestamp(&st.timestamp)?;
    trusted.update_snapshot(&st.snapshot, false)?;
    trusted.update_targets(&st.targets)?;
    trusted.update_delegated_targets(&st.apps, "apps", "targets")
}

fn fresh(repo: &Repo) -> TrustedMetadata {
    TrustedMetadata::new(&repo.root_bytes(), now()).unwrap()
}

#[test]
fn a_consistent_repository_loads() {
    let repo = Repo::new();
    let mut t = fresh(&repo);
    load_all(&mut t, &state(&repo, 1, 1, 1, 1)).unwrap();
    assert!(t.targets("apps").is_some());
}

#[test]
fn a_root_below_its_own_threshold_is_not_trusted() {
    let repo = Repo::new();
    let bytes = sign(repo.root(), &[&repo.root_keys[0]]);
    let err = TrustedMetadata::new(&bytes, now()).unwrap_err();
    assert!(
        matches!(err, TrustError::Threshold(ref e) if e.valid == 1 && e.threshold == 2),
        "{err}"
    );
}

#[test]
fn root_rotation_needs_old_and_new_thresholds_and_version_n_plus_1() {
    let mut repo = Repo::new();
    let mut t = fresh(&repo);
    let old_keys = std::mem::replace(&mut repo.root_keys, vec![key(), key(), key()]);
    repo.root_version = 2;
    let root2 = repo.root();
    // Only the new keys: the old root's threshold is not met.
    let only_new = sign(root2.clone(), &[&repo.root_keys[0], &repo.root_keys[1]]);
    assert!(matches!(
        t.update_root(&only_new),
        Err(TrustError::Threshold(_))
    ));
    // Only the old keys: the new root's own threshold is not met.
    let only_old = sign(root2.clone(), &[&old_keys[0], &old_keys[1]]);
    assert!(matches!(
        t.update_root(&only_old),
        Err(TrustError::Threshold(_))
    ));
    // Both, but skipping a version.
    let mut root3 = root2.clone();
    root3.version = 3;
    let all = [
        &old_keys[0],
        &old_keys[1],
        &repo.root_keys[0],
        &repo.root_keys[1],
    ];
    let skip = sign(root3, &all);
    assert!(matches!(
        t.update_root(&skip),
        Err(TrustError::WrongVersion {
            expected: 2,
            found: 3,
            ..
        })
    ));
    assert_eq!(
        t.root().signed().version,
        1,
        "failed updates change nothing"
    );
    t.update_root(&sign(root2, &all)).unwrap();
    assert_eq!(t.root().signed().version, 2);
    // The same root again is not N+1.
    let again = sign(repo.root(), &[&repo.root_keys[0], &repo.root_keys[1]]);
    assert!(matches!(
        t.update_root(&again),
        Err(TrustError::WrongVersion { .. })
    ));
}

#[test]
fn an_expired_intermediate_root_is_fine_but_an_expired_final_root_is_refused() {
    let mut repo = Repo::new();
    repo.expires = now() - Duration::days(1);
    let mut t = fresh(&repo);
    repo.root_version = 2;
    let expired2 = repo.root_bytes();
    t.update_root(&expired2).unwrap();
    assert!(matches!(
        t.check_root_not_expired(),
        Err(TrustError::Expired { .. })
    ));
    let st = state(&repo, 1, 1, 1, 1);
    assert!(
        matches!(t.update_timestamp(&st.timestamp), Err(TrustError::Expired { ref role, .. }) if role == "root")
    );
    repo.expires = now() + Duration::days(1);
    repo.root_version = 3;
    t.update_root(&repo.root_bytes()).unwrap();
    t.check_root_not_expired().unwrap();
}

#[test]
fn timestamp_rollback_equal_version_and_snapshot_rollback_are_refused() {
    let repo = Repo::new();
    let mut t = fresh(&repo);
    let st5 = state(&repo, 5, 5, 1, 1);
    t.update_timestamp(&st5.timestamp).unwrap();
    let older = state(&repo, 4, 5, 1, 1);
    assert!(matches!(
        t.update_timestamp(&older.timestamp),
        Err(TrustError::Rollback {
            trusted: 5,
            found: 4,
            ..
        })
    ));
    let same_version_other_content = state(&repo, 5, 6, 1, 1);
    assert!(matches!(
        t.update_timestamp(&same_version_other_content.timestamp),
        Err(TrustError::EqualVersion { version: 5, .. })
    ));
    let snapshot_rollback = state(&repo, 6, 4, 1, 1);
    assert!(matches!(
        t.update_timestamp(&snapshot_rollback.timestamp),
        Err(TrustError::MetaRollback {
            trusted: 5,
            found: 4,
            ..
        })
    ));
    assert_eq!(t.timestamp().unwrap().signed().version, 5);
    // The trusted copy is the one kept, not the same-version impostor.
    assert_eq!(t.timestamp().unwrap().to_bytes(), st5.timestamp);
}

#[test]
fn each_role_expired_is_refused() {
    let mut repo = Repo::new();
    let good = state(&repo, 1, 1, 1, 1);
    repo.expires = now() - Duration::seconds(1);
    let expired = state(&repo, 1, 1, 1, 1);
    repo.expires = now() + Duration::days(30);

    let mut t = fresh(&repo);
    assert!(
        matches!(t.update_timestamp(&expired.timestamp), Err(TrustError::Expired { ref role, .. }) if role == "timestamp")
    );
    // An expired timestamp stays only as the rollback baseline: snapshot will not load on it.
    assert!(matches!(
        t.update_snapshot(&good.snapshot, false),
        Err(TrustError::Expired { .. })
    ));

    // Expired snapshot: build a fresh timestamp pointing at it.
    let mut t = fresh(&repo);
    let ts = repo.timestamp_bytes(1, &expired.snapshot, 1);
    t.update_timestamp(&ts).unwrap();
    assert!(
        matches!(t.update_snapshot(&expired.snapshot, false), Err(TrustError::Expired { ref role, .. }) if role == "snapshot")
    );
    assert!(matches!(
        t.update_targets(&good.targets),
        Err(TrustError::Expired { .. })
    ));

    // Expired targets and delegated targets.
    let mut t = fresh(&repo);
    let snap = repo.snapshot_bytes(1, &expired.targets, 1, &expired.apps, 1);
    t.update_timestamp(&repo.timestamp_bytes(1, &snap, 1))
        .unwrap();
    t.update_snapshot(&snap, false).unwrap();
    assert!(
        matches!(t.update_targets(&expired.targets), Err(TrustError::Expired { ref role, .. }) if role == "targets")
    );
    let snap = repo.snapshot_bytes(1, &good.targets, 1, &expired.apps, 1);
    let mut t = fresh(&repo);
    t.update_timestamp(&repo.timestamp_bytes(1, &snap, 1))
        .unwrap();
    t.update_snapshot(&snap, false).unwrap();
    t.update_targets(&good.targets).unwrap();
    assert!(matches!(
        t.update_delegated_targets(&expired.apps, "apps", "targets"),
        Err(TrustError::Expired { ref role, .. }) if role == "apps"
    ));
}

#[test]
fn mix_and_match_is_refused() {
    let repo = Repo::new();
    let a = state(&repo, 1, 1, 1, 1);
    let b = state(&repo, 2, 2, 2, 2);
    // Snapshot not matching the timestamp's hashes.
    let mut t = fresh(&repo);
    t.update_timestamp(&a.timestamp).unwrap();
    assert!(matches!(
        t.update_snapshot(&b.snapshot, false),
        Err(TrustError::Length { .. } | TrustError::Hash { .. })
    ));
    // Snapshot of another version than the timestamp names (no hashes listed).
    let mut ts = Timestamp::new(repo.expires, MetaFile::new(1));
    ts.version = 1;
    let loose = sign(ts, &[&repo.timestamp]);
    let mut t = fresh(&repo);
    t.update_timestamp(&loose).unwrap();
    assert!(matches!(
        t.update_snapshot(&b.snapshot, false),
        Err(TrustError::WrongVersion {
            expected: 1,
            found: 2,
            ..
        })
    ));
    // Targets not matching the snapshot.
    let mut t = fresh(&repo);
    t.update_timestamp(&a.timestamp).unwrap();
    t.update_snapshot(&a.snapshot, false).unwrap();
    assert!(matches!(
        t.update_targets(&b.targets),
        Err(TrustError::Length { .. } | TrustError::Hash { .. })
    ));
    assert!(t.targets("targets").is_none());
}

#[test]
fn version_mismatch_with_snapshot_is_refused_even_without_hashes() {
    let repo = Repo::new();
    let targets2 = repo.targets_bytes(2);
    let apps = repo.delegated_bytes(1, &repo.delegate);
    let mut s = Snapshot::new(repo.expires);
    s.meta.insert("targets.json".into(), MetaFile::new(3));
    s.meta.insert("apps.json".into(), MetaFile::new(1));
    let snap = sign(s, &[&repo.snapshot]);
    let mut t = fresh(&repo);
    t.update_timestamp(&repo.timestamp_bytes(1, &snap, 1))
        .unwrap();
    t.update_snapshot(&snap, false).unwrap();
    assert!(matches!(
        t.update_targets(&targets2),
        Err(TrustError::WrongVersion {
            expected: 3,
            found: 2,
            ..
        })
    ));
    t.update_targets(&{
        let mut s3 = repo.targets_doc(3);
        s3.version = 3;
        sign(s3, &[&repo.targets])
    })
    .unwrap();
    assert!(t.update_delegated_targets(&apps, "apps", "targets").is_ok());
}

#[test]
fn snapshot_rollback_and_removed_roles_are_refused() {
    let repo = Repo::new();
    let old = state(&repo, 1, 1, 3, 3);
    // A newer timestamp whose snapshot rolls targets back from 3 to 2. The local snapshot
    // loads first (as the updater does) and, though no longer final, stays the baseline.
    let rolled = state(&repo, 2, 2, 2, 3);
    let mut t = fresh(&repo);
    t.update_timestamp(&rolled.timestamp).unwrap();
    assert!(matches!(
        t.update_snapshot(&old.snapshot, true),
        Err(TrustError::WrongVersion {
            expected: 2,
            found: 1,
            ..
        })
    ));
    assert!(matches!(
        t.update_snapshot(&rolled.snapshot, false),
        Err(TrustError::MetaRollback { ref entry, trusted: 3, found: 2, .. }) if entry == "targets.json"
    ));
    // A snapshot that drops a role the trusted one lists.
    let mut s = Snapshot::new(repo.expires);
    s.version = 2;
    s.meta.insert("targets.json".into(), MetaFile::new(3));
    let dropped = sign(s, &[&repo.snapshot]);
    let mut t = fresh(&repo);
    t.update_timestamp(&repo.timestamp_bytes(2, &dropped, 2))
        .unwrap();
    t.update_snapshot(&old.snapshot, true).unwrap_err();
    assert!(matches!(
        t.update_snapshot(&dropped, false),
        Err(TrustError::RoleRemoved { ref entry }) if entry == "apps.json"
    ));
    // An older snapshot version than the trusted one.
    let older = state(&repo, 3, 1, 3, 3);
    let newer = state(&repo, 3, 2, 3, 3);
    let mut t = fresh(&repo);
    t.update_timestamp(&older.timestamp).unwrap();
    t.update_snapshot(&newer.snapshot, true).unwrap_err();
    assert!(matches!(
        t.update_snapshot(&older.snapshot, false),
        Err(TrustError::Rollback {
            trusted: 2,
            found: 1,
            ..
        })
    ));
}

#[test]
fn signatures_below_threshold_are_refused_for_every_role() {
    let repo = Repo::new();
    let st = state(&repo, 1, 1, 1, 1);
    let stranger = key();
    let mut t = fresh(&repo);
    let mut ts = Timestamp::new(repo.expires, meta_for(&st.snapshot, 1));
    ts.version = 1;
    assert!(matches!(
        t.update_timestamp(&sign(ts, &[&stranger])),
        Err(TrustError::Threshold(_))
    ));
    t.update_timestamp(&st.timestamp).unwrap();
    let mut s = Snapshot::new(repo.expires);
    s.meta
        .insert("targets.json".into(), meta_for(&st.targets, 1));
    let bad_snap = sign(s, &[&stranger]);
    let mut t = fresh(&repo);
    t.update_timestamp(&repo.timestamp_bytes(1, &bad_snap, 1))
        .unwrap();
    assert!(matches!(
        t.update_snapshot(&bad_snap, false),
        Err(TrustError::Threshold(_))
    ));

    let bad_targets = sign(repo.targets_doc(1), &[&stranger]);
    let bad_apps = repo.delegated_bytes(1, &stranger);
    let snap = repo.snapshot_bytes(1, &bad_targets, 1, &bad_apps, 1);
    let mut t = fresh(&repo);
    t.update_timestamp(&repo.timestamp_bytes(1, &snap, 1))
        .unwrap();
    t.update_snapshot(&snap, false).unwrap();
    assert!(matches!(
        t.update_targets(&bad_targets),
        Err(TrustError::Threshold(_))
    ));

    let snap = repo.snapshot_bytes(1, &st.targets, 1, &bad_apps, 1);
    let mut t = fresh(&repo);
    t.update_timestamp(&repo.timestamp_bytes(1, &snap, 1))
        .unwrap();
    t.update_snapshot(&snap, false).unwrap();
    t.update_targets(&st.targets).unwrap();
    // A delegated role's refusal names the delegator whose keys it lacks.
    let err = t
        .update_delegated_targets(&bad_apps, "apps", "targets")
        .unwrap_err();
    assert!(
        matches!(
            err,
            TrustError::NotSignedForDelegator { ref role, ref delegator, valid: 0, threshold: 1 }
                if role == "apps" && delegator == "targets"
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "apps metadata refused as targets delegates it: 0 valid signature(s) from the keys \
         targets names for it, threshold is 1"
    );
    assert!(t.targets("apps").is_none());
}

#[test]
fn delegated_roles_must_be_delegated_listed_and_loaded_in_order() {
    let repo = Repo::new();
    let st = state(&repo, 1, 1, 1, 1);
    let mut t = fresh(&repo);
    assert!(matches!(
        t.update_snapshot(&st.snapshot, false),
        Err(TrustError::OutOfOrder { .. })
    ));
    t.update_timestamp(&st.timestamp).unwrap();
    assert!(matches!(
        t.update_targets(&st.targets),
        Err(TrustError::OutOfOrder { .. })
    ));
    t.update_snapshot(&st.snapshot, false).unwrap();
    assert!(matches!(
        t.update_delegated_targets(&st.apps, "apps", "targets"),
        Err(TrustError::OutOfOrder { .. })
    ));
    t.update_targets(&st.targets).unwrap();
    assert!(matches!(
        t.update_delegated_targets(&st.apps, "other", "targets"),
        Err(TrustError::NotInSnapshot { .. })
    ));
    assert!(matches!(
        t.update_delegated_targets(&st.apps, "apps", "root"),
        Err(TrustError::NotDelegated { .. })
    ));
    // Root and timestamp cannot change once later roles loaded.
    assert!(matches!(
        t.update_root(&repo.root_bytes()),
        Err(TrustError::OutOfOrder { .. })
    ));
    assert!(matches!(
        t.update_timestamp(&st.timestamp),
        Err(TrustError::OutOfOrder { .. })
    ));
    assert!(matches!(
        t.update_snapshot(&st.snapshot, false),
        Err(TrustError::OutOfOrder { .. })
    ));
    t.update_delegated_targets(&st.apps, "apps", "targets")
        .unwrap();
}

/// A role already loaded is trusted again only as a delegator that names keys it meets
/// delegates it (the updater asks before reusing it; the refusal for another delegator's
/// keys is `client_attacks.rs::a_role_loaded_through_one_delegator_is_refused_through_another_whose_keys_it_lacks`).
#[test]
fn a_loaded_role_is_rechecked_against_the_delegator_that_reaches_it() {
    let repo = Repo::new();
    let st = state(&repo, 1, 1, 1, 1);
    let mut t = fresh(&repo);
    assert!(!t.check_loaded_targets("targets", "root").unwrap());
    load_all(&mut t, &st).unwrap();
    assert!(t.check_loaded_targets("targets", "root").unwrap());
    assert!(t.check_loaded_targets("apps", "targets").unwrap());
    assert!(!t.check_loaded_targets("other", "targets").unwrap());
    assert!(matches!(
        t.check_loaded_targets("apps", "root"),
        Err(TrustError::NotDelegated { .. })
    ));
    assert!(matches!(
        t.check_loaded_targets("apps", "unloaded"),
        Err(TrustError::OutOfOrder { .. })
    ));
    // "apps" does not delegate to itself.
    assert!(matches!(
        t.check_loaded_targets("apps", "apps"),
        Err(TrustError::NotDelegated { .. })
    ));
    // A refusal leaves the role trusted for the delegator it met.
    assert!(t.check_loaded_targets("apps", "targets").unwrap());
}

#[test]
fn key_rotation_of_every_role_and_fast_forward_recovery() {
    let mut repo = Repo::new();
    let root1 = repo.root_bytes();
    // A compromised timestamp/snapshot key pushed versions far ahead (fast-forward attack),
    // and the device trusted that state.
    let far = state(&repo, 1_000_000, 999_999, 1, 1);
    load_all(&mut TrustedMetadata::new(&root1, now()).unwrap(), &far).unwrap();

    // Root 2 rotates the timestamp, snapshot and targets keys.
    repo.timestamp = key();
    repo.snapshot = key();
    repo.targets = key();
    repo.root_version = 2;
    let mut t = TrustedMetadata::new(&root1, now()).unwrap();
    t.update_root(&repo.root_bytes()).unwrap();
    assert_eq!(t.rotated_roles(), vec!["timestamp", "snapshot", "targets"]);
    // The local copies signed with the old keys no longer verify, so they cannot serve as a
    // rollback baseline: the repository's recovered state (back at version 1) is accepted.
    assert!(matches!(
        t.update_timestamp(&far.timestamp),
        Err(TrustError::Threshold(_))
    ));
    load_all(&mut t, &state(&repo, 1, 1, 1, 1)).unwrap();

    // Old keys cannot sign for the rotated roles any more.
    let mut t = TrustedMetadata::new(&root1, now()).unwrap();
    t.update_root(&repo.root_bytes()).unwrap();
    assert!(matches!(
        t.update_timestamp(
            &state(
                &Repo {
                    ..old_signers(&repo)
                },
                2,
                2,
                2,
                2
            )
            .timestamp
        ),
        Err(TrustError::Threshold(_))
    ));
}

/// The same repository with fresh (hence wrong) online keys.
fn old_signers(repo: &Repo) -> Repo {
    Repo {
        root_keys: Vec::new(),
        root_threshold: repo.root_threshold,
        timestamp: key(),
        snapshot: key(),
        targets: key(),
        delegate: key(),
        root_version: repo.root_version,
        expires: repo.expires,
    }
}

#[test]
fn root_rotation_that_changes_nothing_else_reports_no_rotated_roles() {
    let mut repo = Repo::new();
    let mut t = fresh(&repo);
    repo.root_version = 2;
    repo.root_threshold = 3;
    t.update_root(&repo.root_bytes()).unwrap();
    assert!(t.rotated_roles().is_empty());
    assert_eq!(t.root().signed().roles["root"].threshold, 3);
}
