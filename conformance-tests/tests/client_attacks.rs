//! The attacks of the TUF threat model (spec §1.5.2) against the device client, each
//! replayed through a real HTTP server on 127.0.0.1: the client must refuse, say why in one
//! line, and leave its trusted metadata directory unchanged (or holding only newer
//! documents that fully verified).

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{
    assert_unchanged_except, delegate_release_from_two_parents, dir_contents, refused, Env,
};
use conformance_tests::http::Fault;
use conformance_tests::repo::{in_days, meta_for, sign_doc};
use tufota_client::metadata::Signer;
use tufota_client::transport::TransportError;
use tufota_client::trust::TrustError;
use tufota_client::updater::UpdateError;

fn is_trust(e: &UpdateError) -> bool {
    matches!(e, UpdateError::Trust(_))
}

/// A repository at timestamp/snapshot/targets v2 that the client has refreshed against.
fn refreshed_env() -> Env {
    let mut env = Env::new();
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.publish();
    env.refresh().expect("first refresh");
    env
}

// --- rollback ---------------------------------------------------------------------------

#[test]
fn rollback_of_timestamp_is_refused() {
    let env = refreshed_env();
    let old = env.repo.read_metadata_file("timestamp.json");
    let mut env = env;
    env.repo.publish();
    env.refresh().expect("refresh to timestamp v3");
    let before = env.client_state();
    env.repo.write_metadata_file("timestamp.json", &old);
    let err = refused(env.refresh(), &["timestamp"]);
    assert!(is_trust(&err), "{err}");
    assert_eq!(env.client_state(), before);
}

#[test]
fn rollback_of_snapshot_is_refused() {
    let mut env = refreshed_env();
    let before = env.client_state();
    // timestamp v3 names snapshot v1, older than the trusted v2.
    let old_snapshot = env.repo.read_metadata_file("1.snapshot.json");
    env.repo.timestamp.version += 1;
    env.repo
        .timestamp
        .meta
        .insert("snapshot.json".into(), meta_for(1, &old_snapshot));
    let ts = sign_doc(&env.repo.timestamp, &env.repo.keys("timestamp"));
    env.repo.write_metadata_file("timestamp.json", &ts);
    let err = refused(env.refresh(), &["snapshot"]);
    assert!(is_trust(&err), "{err}");
    assert_eq!(env.client_state(), before);
}

#[test]
fn rollback_of_targets_is_refused() {
    let mut env = refreshed_env();
    // snapshot v3 lists targets v1, older than the trusted v2.
    env.repo.targets.get_mut("targets").unwrap().version = 1;
    env.repo.publish();
    let before = env.client_state();
    let err = refused(env.refresh(), &["targets"]);
    assert!(is_trust(&err), "{err}");
    // Only the new timestamp (which verified) may have been kept.
    let ts = env.repo.read_metadata_file("timestamp.json");
    assert_unchanged_except(&before, &env.client_state(), &[("timestamp.json", ts)]);
}

#[test]
fn rollback_of_a_delegated_role_is_refused() {
    let mut env = Env::new();
    env.repo.delegate("targets", "role1", &["files/*"], false);
    env.repo.add_target("role1", "files/a.txt", b"a v1");
    env.repo.publish();
    env.repo.targets.get_mut("role1").unwrap().version = 2;
    env.repo.add_target("role1", "files/a.txt", b"a v2");
    env.repo.publish();
    env.download("files/a.txt")
        .expect("download through role1 v2");
    assert!(env.client_state().contains_key("role1.json"));
    env.repo.targets.get_mut("role1").unwrap().version = 1;
    env.repo.publish();
    let before = env.client_state();
    // Refused at snapshot v4, whose meta lists role1 at a lower version than v3 did.
    let err = refused(env.download("files/a.txt"), &["snapshot"]);
    assert!(is_trust(&err), "{err}");
    let ts = env.repo.read_metadata_file("timestamp.json");
    assert_unchanged_except(&before, &env.client_state(), &[("timestamp.json", ts)]);
}

// --- freeze: every role expired -----------------------------------------------------------

fn freeze(role: &str) {
    let mut env = Env::new();
    env.repo.delegate("targets", "role1", &["files/*"], false);
    env.repo.add_target("role1", "files/a.txt", b"a");
    env.repo.set_expires(role, in_days(1));
    if role == "root" {
        env.repo.publish_root();
    }
    env.repo.publish();
    let before = env.client_state();
    // The client's clock is two days ahead: `role` has expired, all else has not.
    env.config.reference_time = Some(Utc::now() + chrono::Duration::days(2));
    let err = refused(env.download("files/a.txt"), &[role]);
    assert!(is_trust(&err), "{err}");
    // What verified before the expired role may be kept; the expired one never is (root
    // excepted: an intermediate root is stored before expiry can be judged, §5.3.10).
    let file = |name: &str| env.repo.read_metadata_file(name);
    let newer: Vec<(&str, Vec<u8>)> = match role {
        "root" => vec![("root.json", file("2.root.json"))],
        "timestamp" => vec![],
        "snapshot" => vec![("timestamp.json", file("timestamp.json"))],
        "targets" => vec![
            ("timestamp.json", file("timestamp.json")),
            ("snapshot.json", file("2.snapshot.json")),
        ],
        _ => vec![
            ("timestamp.json", file("timestamp.json")),
            ("snapshot.json", file("2.snapshot.json")),
            ("targets.json", file("1.targets.json")),
        ],
    };
    assert_unchanged_except(&before, &env.client_state(), &newer);
}

#[test]
fn freeze_expired_root_is_refused() {
    freeze("root");
}

#[test]
fn freeze_expired_timestamp_is_refused() {
    freeze("timestamp");
}

#[test]
fn freeze_expired_snapshot_is_refused() {
    freeze("snapshot");
}

#[test]
fn freeze_expired_targets_is_refused() {
    freeze("targets");
}

#[test]
fn freeze_expired_delegated_role_is_refused() {
    freeze("role1");
}

#[test]
fn expired_local_metadata_does_not_block_newer() {
    let mut env = Env::new();
    env.repo.set_expires("timestamp", in_days(1));
    env.repo.set_expires("snapshot", in_days(1));
    env.repo.set_expires("targets", in_days(1));
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.publish();
    env.refresh().expect("refresh while fresh");
    // Two days later the stored copies have expired; the repository has published newer.
    env.config.reference_time = Some(Utc::now() + chrono::Duration::days(2));
    for role in ["timestamp", "snapshot", "targets"] {
        env.repo.set_expires(role, in_days(30));
    }
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.publish();
    env.refresh().expect("refresh past expired local metadata");
}

// --- mix-and-match --------------------------------------------------------------------------

#[test]
fn snapshot_not_matching_timestamp_is_refused() {
    let mut env = Env::new();
    let before = env.client_state();
    // The validly signed snapshot v1, of the same length, served for the v2 that the new
    // timestamp names.
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.publish();
    let other = env.repo.read_metadata_file("1.snapshot.json");
    assert_eq!(
        other.len(),
        env.repo.read_metadata_file("2.snapshot.json").len()
    );
    env.server
        .set_fault("/metadata/2.snapshot.json", Fault::Bytes(other));
    let err = refused(env.refresh(), &["snapshot"]);
    assert!(is_trust(&err), "{err}");
    let ts = env.repo.read_metadata_file("timestamp.json");
    assert_unchanged_except(&before, &env.client_state(), &[("timestamp.json", ts)]);
}

#[test]
fn targets_not_matching_snapshot_is_refused() {
    let mut env = Env::new();
    let before = env.client_state();
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.publish();
    // The validly signed targets v1, of the same length, served for the v2 snapshot names.
    let other = env.repo.read_metadata_file("1.targets.json");
    assert_eq!(
        other.len(),
        env.repo.read_metadata_file("2.targets.json").len()
    );
    env.server
        .set_fault("/metadata/2.targets.json", Fault::Bytes(other));
    let err = refused(env.refresh(), &["targets"]);
    assert!(is_trust(&err), "{err}");
    let newer = [
        (
            "timestamp.json",
            env.repo.read_metadata_file("timestamp.json"),
        ),
        (
            "snapshot.json",
            env.repo.read_metadata_file("2.snapshot.json"),
        ),
    ];
    assert_unchanged_except(&before, &env.client_state(), &newer);
}

#[test]
fn targets_version_not_matching_snapshot_is_refused() {
    let mut env = Env::new();
    // Snapshot lists targets v2 without hashes; the server has a targets v3 at that name.
    env.repo.snapshot_meta_hashes = false;
    env.repo.targets.get_mut("targets").unwrap().version = 2;
    env.repo.publish();
    let mut t3 = env.repo.targets["targets"].clone();
    t3.version = 3;
    let bytes = sign_doc(&t3, &env.repo.keys("targets"));
    env.server
        .set_fault("/metadata/2.targets.json", Fault::Bytes(bytes));
    let before = env.client_state();
    let err = refused(env.refresh(), &["targets"]);
    assert!(is_trust(&err), "{err}");
    let newer = [
        (
            "timestamp.json",
            env.repo.read_metadata_file("timestamp.json"),
        ),
        (
            "snapshot.json",
            env.repo.read_metadata_file("2.snapshot.json"),
        ),
    ];
    assert_unchanged_except(&before, &env.client_state(), &newer);
}

// --- arbitrary software ------------------------------------------------------------------

fn target_env() -> (Env, String) {
    let mut env = Env::new();
    let info = env.repo.add_target("targets", "fw/image.bin", &[7u8; 5000]);
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.publish();
    let url = format!("/targets/fw/{}.image.bin", info.hashes["sha256"]);
    (env, url)
}

fn assert_target_dir_clean(env: &Env) {
    let files = dir_contents(&env.target_dir);
    assert!(files.is_empty(), "target dir holds {:?}", files.keys());
}

#[test]
fn target_with_wrong_hash_is_refused() {
    let (env, url) = target_env();
    env.server.set_fault(&url, Fault::Bytes(vec![8u8; 5000]));
    let err = refused(env.download("fw/image.bin"), &["fw/image.bin", "sha"]);
    assert!(matches!(err, UpdateError::TargetRefused { .. }), "{err}");
    assert_target_dir_clean(&env);
}

#[test]
fn target_longer_than_signed_is_refused() {
    let (env, url) = target_env();
    env.server.set_fault(&url, Fault::Bytes(vec![7u8; 5001]));
    let err = refused(env.download("fw/image.bin"), &["5000"]);
    assert!(
        matches!(
            err,
            UpdateError::Transport {
                source: TransportError::TooLarge { limit: 5000, .. },
                ..
            }
        ),
        "{err}"
    );
    assert_target_dir_clean(&env);
}

#[test]
fn target_shorter_than_signed_is_refused() {
    let (env, url) = target_env();
    env.server.set_fault(&url, Fault::Bytes(vec![7u8; 4999]));
    let err = refused(env.download("fw/image.bin"), &["4999", "5000"]);
    assert!(matches!(err, UpdateError::TargetRefused { .. }), "{err}");
    assert_target_dir_clean(&env);
}

#[test]
fn substituted_target_is_refused() {
    let (mut env, url) = target_env();
    // A file the repository really signed, served in place of another of the same length.
    env.repo.add_target("targets", "fw/other.bin", &[9u8; 5000]);
    env.repo.publish();
    env.server.set_fault(&url, Fault::Bytes(vec![9u8; 5000]));
    let err = refused(env.download("fw/image.bin"), &["fw/image.bin"]);
    assert!(matches!(err, UpdateError::TargetRefused { .. }), "{err}");
    assert_target_dir_clean(&env);
}

#[test]
fn target_listing_only_unknown_hash_algorithms_is_refused_without_a_request() {
    let mut env = Env::new();
    let mut file = env.repo.add_target("targets", "x.bin", b"xyz");
    file.hashes = [("md5".to_string(), "00".repeat(16))].into();
    env.repo
        .targets
        .get_mut("targets")
        .unwrap()
        .targets
        .insert("x.bin".into(), file);
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.publish();
    let err = refused(env.download("x.bin"), &["x.bin", "md5"]);
    assert!(matches!(err, UpdateError::TargetRefused { .. }), "{err}");
    assert!(env
        .server
        .requests()
        .iter()
        .all(|p| p.starts_with("/metadata/")));
}

// --- threshold ---------------------------------------------------------------------------

#[test]
fn timestamp_below_threshold_is_refused() {
    let mut env = Env::new();
    // Root v2 wants two timestamp signatures; timestamp carries one.
    let second = conformance_tests::repo::new_key();
    env.repo
        .root
        .keys
        .insert(second.keyid().to_string(), second.key().clone());
    let ts = env.repo.root.roles.get_mut("timestamp").unwrap();
    ts.keyids.push(second.keyid().to_string());
    ts.threshold = 2;
    let root_v2 = env.repo.publish_root();
    env.repo.publish();
    let before = env.client_state();
    let err = refused(env.refresh(), &["timestamp"]);
    assert!(is_trust(&err), "{err}");
    let after = env.client_state();
    assert_eq!(
        after.get("root.json"),
        Some(&root_v2),
        "root v2 verified and is kept"
    );
    // Nothing else changed.
    assert_unchanged_except(&before, &after, &[("root.json", root_v2)]);
}

#[test]
fn root_not_signed_by_previous_root_is_refused() {
    let mut env = Env::new();
    let before = env.client_state();
    // Root v2 with a new root key, signed only by that key.
    env.repo.rotate_key("root");
    env.repo.root.version += 1;
    let bytes = sign_doc(&env.repo.root, &env.repo.keys("root"));
    env.repo.write_metadata_file("2.root.json", &bytes);
    let err = refused(env.refresh(), &["root"]);
    assert!(is_trust(&err), "{err}");
    assert_eq!(env.client_state(), before);
}

#[test]
fn root_not_signed_by_its_own_new_keys_is_refused() {
    let mut env = Env::new();
    let before = env.client_state();
    let old = env.repo.keys("root");
    env.repo.rotate_key("root");
    env.repo.root.version += 1;
    let bytes = sign_doc(&env.repo.root, &old);
    env.repo.write_metadata_file("2.root.json", &bytes);
    let err = refused(env.refresh(), &["root"]);
    assert!(is_trust(&err), "{err}");
    assert_eq!(env.client_state(), before);
}

/// "release" is delegated by parent-a (team-a/*) and by parent-b (team-b/*), each naming a
/// different key for it, and is signed with parent-a's only. Loaded for a team-a lookup, it
/// must not then answer a team-b lookup in the same updater: it speaks for parent-b only if
/// it meets parent-b's keys (tuf-conformance's
/// `test_cached_role_is_verified_against_current_delegator`).
#[test]
fn a_role_loaded_through_one_delegator_is_refused_through_another_whose_keys_it_lacks() {
    let mut env = Env::new();
    let parent_b_key = delegate_release_from_two_parents(&mut env.repo);
    env.repo.publish();

    let mut u = env.refresh().expect("refresh");
    let a = u.target_info("team-a/fw.bin").expect("team-a lookup");
    assert_eq!(a.map(|t| t.role).as_deref(), Some("release"));
    let err = refused(
        u.target_info("team-b/fw.bin"),
        &[
            "release",
            "parent-b",
            "0 valid signature(s)",
            "threshold is 1",
        ],
    );
    assert!(
        matches!(
            err,
            UpdateError::Trust(TrustError::NotSignedForDelegator { ref role, ref delegator, valid: 0, threshold: 1 })
                if role == "release" && delegator == "parent-b"
        ),
        "{err:?}"
    );
    // The device's listing resolves every name as a lookup would, so it refuses too.
    refused(u.all_targets(), &["release", "parent-b"]);
    // A fresh updater that reaches "release" through parent-b first refuses it there.
    let mut fresh = env.refresh().expect("refresh");
    let err = refused(
        fresh.target_info("team-b/fw.bin"),
        &["release", "parent-b", "0 valid signature(s)"],
    );
    assert!(
        matches!(
            err,
            UpdateError::Trust(TrustError::NotSignedForDelegator { ref delegator, .. })
                if delegator == "parent-b"
        ),
        "{err:?}"
    );

    // Signed with both delegators' keys, it answers for both paths.
    env.repo
        .signers
        .get_mut("release")
        .expect("release signers")
        .push(parent_b_key);
    env.repo.targets.get_mut("release").unwrap().version += 1;
    env.repo.publish();
    let mut u = env.refresh().expect("refresh");
    for name in ["team-a/fw.bin", "team-b/fw.bin"] {
        let info = u.target_info(name).expect("lookup");
        assert_eq!(info.map(|t| t.role).as_deref(), Some("release"), "{name}");
    }
    assert_eq!(u.all_targets().expect("all targets").len(), 2);
}

// --- key rotation and fast-forward recovery ---------------------------------------------------

#[test]
fn key_rotation_of_every_role_is_followed() {
    let mut env = Env::new();
    env.repo.delegate("targets", "role1", &["files/*"], false);
    env.repo.add_target("role1", "files/a.txt", b"a");
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.publish();
    env.download("files/a.txt").expect("initial download");
    for role in ["root", "timestamp", "snapshot", "targets", "role1"] {
        env.repo.rotate_key(role);
        if role == "role1" {
            env.repo.targets.get_mut("targets").unwrap().version += 1;
        } else {
            env.repo.publish_root();
        }
        env.repo.targets.get_mut("role1").unwrap().version += 1;
        env.repo.targets.get_mut("targets").unwrap().version += 1;
        env.repo.publish();
        let path = env
            .download("files/a.txt")
            .unwrap_or_else(|e| panic!("after rotating {role}: {e}"));
        assert_eq!(std::fs::read(path).unwrap(), b"a");
    }
    // Four rotations of top-level keys: the client followed the chain to root v5.
    assert_eq!(
        env.client_state()["root.json"],
        env.repo.read_metadata_file("5.root.json")
    );
}

#[test]
fn fast_forward_recovery_after_timestamp_key_compromise() {
    let mut env = Env::new();
    // The attacker holds the timestamp key and pushes the version far ahead.
    env.repo.timestamp.version = 1000;
    env.repo.write_timestamp();
    env.refresh()
        .expect("client accepts the (validly signed) v1000");
    // Recovery: new timestamp key in root v2, timestamp back to a normal version.
    env.repo.rotate_key("timestamp");
    env.repo.publish_root();
    env.repo.timestamp.version = 2;
    env.repo.write_timestamp();
    env.refresh().expect("fast-forward recovery");
    let ts = env.client_state()["timestamp.json"].clone();
    assert_eq!(ts, env.repo.read_metadata_file("timestamp.json"));
}

#[test]
fn fast_forward_recovery_after_snapshot_key_compromise() {
    let mut env = Env::new();
    env.repo.snapshot.version = 1000;
    env.repo.write_snapshot();
    env.repo.timestamp.version += 1;
    env.repo.write_timestamp();
    env.refresh().expect("client accepts snapshot v1000");
    // Recovery rotates the snapshot key; the client then forgets its stored timestamp and
    // snapshot (spec §5.3.11), or the stored timestamp naming snapshot v1000 would refuse
    // every timestamp that names a lower one.
    env.repo.rotate_key("snapshot");
    env.repo.publish_root();
    env.repo.snapshot.version = 1;
    env.repo.timestamp.version = 1;
    env.repo.publish();
    env.refresh().expect("fast-forward recovery");
    assert_eq!(
        env.client_state()["snapshot.json"],
        env.repo.read_metadata_file("2.snapshot.json")
    );
}

#[test]
fn fast_forward_recovery_survives_an_interrupted_root_walk() {
    let mut env = Env::new();
    env.repo.snapshot.version = 1000;
    env.repo.write_snapshot();
    env.repo.timestamp.version += 1;
    env.repo.write_timestamp();
    env.refresh().expect("client accepts snapshot v1000");
    // Root v2 rotates the snapshot key; root v3 changes nothing but cannot be fetched the
    // first time. Root v2 is stored by the failed refresh; the stale timestamp and snapshot
    // must already be gone then, or the next refresh (which starts from v2 and sees no
    // rotation between v2 and v3) could never recover.
    env.repo.rotate_key("snapshot");
    env.repo.publish_root();
    env.repo.publish_root();
    env.repo.snapshot.version = 1;
    env.repo.publish();
    env.server
        .set_fault("/metadata/3.root.json", Fault::Endless);
    refused(env.refresh(), &["root"]);
    let state = env.client_state();
    assert_eq!(
        state["root.json"],
        env.repo.read_metadata_file("2.root.json")
    );
    assert!(!state.contains_key("timestamp.json"));
    assert!(!state.contains_key("snapshot.json"));
    env.server.clear_faults();
    env.refresh().expect("recovery on the next refresh");
}

#[test]
fn fast_forward_recovery_after_targets_key_compromise() {
    let mut env = Env::new();
    env.repo.targets.get_mut("targets").unwrap().version = 1000;
    env.repo.publish();
    env.refresh().expect("client accepts targets v1000");
    // Recovery: new targets key, and a new snapshot key so that the snapshot history (which
    // names targets v1000) starts over (spec §5.3.11).
    for role in ["targets", "snapshot"] {
        env.repo.rotate_key(role);
    }
    env.repo.publish_root();
    env.repo.targets.get_mut("targets").unwrap().version = 2;
    env.repo.snapshot.version = 1;
    env.repo.timestamp.version = 1;
    env.repo.publish();
    env.refresh().expect("fast-forward recovery");
    assert_eq!(
        env.client_state()["targets.json"],
        env.repo.read_metadata_file("2.targets.json")
    );
}

#[test]
fn fast_forward_recovery_after_delegated_key_compromise() {
    let mut env = Env::new();
    env.repo.delegate("targets", "role1", &["files/*"], false);
    env.repo.add_target("role1", "files/a.txt", b"a");
    env.repo.targets.get_mut("role1").unwrap().version = 1000;
    env.repo.publish();
    env.download("files/a.txt")
        .expect("client accepts role1 v1000");
    // Recovery: targets gives role1 a new key, role1 starts over at v2, and a new snapshot
    // key lets the snapshot history (which names role1 v1000) start over too.
    env.repo.rotate_key("role1");
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.targets.get_mut("role1").unwrap().version = 2;
    env.repo.rotate_key("snapshot");
    env.repo.publish_root();
    env.repo.snapshot.version = 1;
    env.repo.publish();
    env.download("files/a.txt").expect("fast-forward recovery");
    assert_eq!(
        env.client_state()["role1.json"],
        env.repo.read_metadata_file("2.role1.json")
    );
}

// --- endless data and slow retrieval -------------------------------------------------------

#[test]
fn endless_timestamp_is_cut_at_the_limit() {
    let env = Env::new();
    let before = env.client_state();
    env.server
        .set_fault("/metadata/timestamp.json", Fault::Endless);
    let err = refused(env.refresh(), &["timestamp", "16384"]);
    assert!(
        matches!(
            err,
            UpdateError::Transport {
                source: TransportError::TooLarge { limit: 16384, .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(env.client_state(), before);
}

#[test]
fn endless_target_is_cut_at_the_signed_length() {
    let (env, url) = target_env();
    env.server.set_fault(&url, Fault::Endless);
    let err = refused(env.download("fw/image.bin"), &["5000"]);
    assert!(
        matches!(
            err,
            UpdateError::Transport {
                source: TransportError::TooLarge { limit: 5000, .. },
                ..
            }
        ),
        "{err}"
    );
    assert_target_dir_clean(&env);
}

#[test]
fn endless_root_is_cut_at_the_limit() {
    let env = Env::new();
    let before = env.client_state();
    env.server
        .set_fault("/metadata/2.root.json", Fault::Endless);
    let err = refused(env.refresh(), &["root"]);
    assert!(
        matches!(
            err,
            UpdateError::Transport {
                source: TransportError::TooLarge { limit: 512000, .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(env.client_state(), before);
}

#[test]
fn slow_timestamp_is_abandoned() {
    let env = Env::new();
    let before = env.client_state();
    env.server.set_fault(
        "/metadata/timestamp.json",
        Fault::Trickle {
            interval: Duration::from_millis(50),
            body: None,
        },
    );
    let err = refused(env.refresh(), &["slow retrieval"]);
    assert!(
        matches!(
            err,
            UpdateError::Transport {
                source: TransportError::TooSlow { floor: 200, .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(env.client_state(), before);
}

#[test]
fn slow_target_is_abandoned() {
    let (env, url) = target_env();
    env.server.set_fault(
        &url,
        Fault::Trickle {
            interval: Duration::from_millis(50),
            body: None,
        },
    );
    let err = refused(env.download("fw/image.bin"), &["slow retrieval"]);
    assert!(
        matches!(
            err,
            UpdateError::Transport {
                source: TransportError::TooSlow { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_target_dir_clean(&env);
}

#[test]
fn stalled_server_hits_the_read_timeout() {
    let mut env = Env::new();
    env.transport.read_timeout = Duration::from_millis(300);
    env.transport.slow_grace = Duration::from_secs(60);
    let before = env.client_state();
    env.server.set_fault(
        "/metadata/timestamp.json",
        Fault::Trickle {
            interval: Duration::from_secs(3),
            body: None,
        },
    );
    let err = refused(env.refresh(), &["timestamp"]);
    assert!(
        matches!(
            err,
            UpdateError::Transport {
                source: TransportError::Io { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(env.client_state(), before);
}
