//! Metadata written by python-tuf 7 (PyPI `tuf`) is read and verified by our model and trust
//! core: for every key type, the canonical bytes we compute equal the bytes python-tuf
//! signed, signatures verify, and one flipped byte inside `signed` breaks them.

use std::fs;
use std::path::Path;

use chrono::Utc;
use conformance_tests::python_fixtures;
use serde_json::Value;
use tufota_client::metadata::{Role, Root, Signed, Snapshot, Targets, Timestamp};
use tufota_client::trust::{roles_for_target, TrustedMetadata};

fn verify_with_root<T: Role>(dir: &Path, role: &str, root: &Root) -> Signed<T> {
    let bytes = fs::read(dir.join(format!("{role}.json"))).unwrap();
    let doc = Signed::<T>::from_bytes(role, &bytes).unwrap();
    let expected = fs::read(dir.join(format!("{role}.canonical"))).unwrap();
    assert_eq!(
        doc.canonical_bytes(),
        expected.as_slice(),
        "{}: canonical bytes differ from what python-tuf signed",
        dir.join(role).display()
    );
    let keyid = fs::read_to_string(dir.join(format!("{role}.keyid"))).unwrap();
    assert_eq!(doc.signatures.len(), 1);
    assert_eq!(doc.signatures[0].keyid, keyid.trim());
    let keys = root.role(role).unwrap();
    doc.verify_threshold(role, &root.keys, &keys.keyids, keys.threshold)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    doc
}

/// Changes one byte of a string value inside `signed` and checks the signature then fails.
fn flipped_fails<T: Role>(dir: &Path, role: &str, root: &Root) {
    let bytes = fs::read(dir.join(format!("{role}.json"))).unwrap();
    let mut v: Value = serde_json::from_slice(&bytes).unwrap();
    let expires = v["signed"]["expires"]
        .as_str()
        .unwrap()
        .replace("2099", "2098");
    v["signed"]["expires"] = Value::String(expires);
    let doc = Signed::<T>::from_bytes(role, &serde_json::to_vec(&v).unwrap()).unwrap();
    let keys = root.role(role).unwrap();
    let err = doc
        .verify_threshold(role, &root.keys, &keys.keyids, keys.threshold)
        .unwrap_err();
    assert_eq!(err.valid, 0, "{role}: {err}");

    // A flipped byte in the raw file, inside the signed object, is refused one way or the
    // other: as JSON, as a field, or by the signature.
    let text = String::from_utf8(bytes).unwrap();
    let at = text.find("\"signed\"").unwrap() + 20;
    let raw = text.into_bytes();
    for offset in [at, at + 7, raw.len() - 10] {
        let mut tampered = raw.clone();
        tampered[offset] ^= 0x01;
        match Signed::<T>::from_bytes(role, &tampered) {
            Err(_) => {}
            Ok(doc) => assert!(
                doc.verify_threshold(role, &root.keys, &keys.keyids, keys.threshold)
                    .is_err()
                    || doc.canonical_bytes()
                        == fs::read(dir.join(format!("{role}.canonical"))).unwrap(),
                "{role}: byte {offset} flipped and still verified"
            ),
        }
    }
}

#[test]
fn python_tuf_metadata_of_every_key_type_verifies_byte_for_byte() {
    let fixtures = python_fixtures();
    for keytype in ["ed25519", "ecdsa", "rsa"] {
        let dir = fixtures.path().join("keytypes").join(keytype);
        let root_bytes = fs::read(dir.join("root.json")).unwrap();
        let root = Signed::<Root>::from_bytes("root", &root_bytes).unwrap();
        let root = verify_with_root::<Root>(&dir, "root", root.signed()).into_signed();
        assert!(
            root.keys.values().all(|k| k.keytype == keytype),
            "{keytype}"
        );
        verify_with_root::<Timestamp>(&dir, "timestamp", &root);
        verify_with_root::<Snapshot>(&dir, "snapshot", &root);
        let targets = verify_with_root::<Targets>(&dir, "targets", &root);
        assert!(
            targets.signed().extra.contains_key("x-unknown"),
            "unknown field kept"
        );
        flipped_fails::<Root>(&dir, "root", &root);
        flipped_fails::<Timestamp>(&dir, "timestamp", &root);
        flipped_fails::<Snapshot>(&dir, "snapshot", &root);
        flipped_fails::<Targets>(&dir, "targets", &root);

        // The whole chain through the trust core, as a device would take it.
        let mut trusted = TrustedMetadata::new(&root_bytes, Utc::now()).unwrap();
        trusted.check_root_not_expired().unwrap();
        trusted
            .update_timestamp(&fs::read(dir.join("timestamp.json")).unwrap())
            .unwrap();
        trusted
            .update_snapshot(&fs::read(dir.join("snapshot.json")).unwrap(), false)
            .unwrap();
        trusted
            .update_targets(&fs::read(dir.join("targets.json")).unwrap())
            .unwrap();
    }
}

#[test]
fn python_tuf_repository_with_rotations_and_delegations_walks_through_the_trust_core() {
    let fixtures = python_fixtures();
    let repo = fixtures.path().join("repo");
    let expected: Value =
        serde_json::from_slice(&fs::read(repo.join("expected.json")).unwrap()).unwrap();
    let meta = repo.join("metadata");
    let read = |name: &str| fs::read(meta.join(name)).unwrap();

    let mut trusted = TrustedMetadata::new(&read("1.root.json"), Utc::now()).unwrap();
    let mut n = 2;
    while meta.join(format!("{n}.root.json")).exists() {
        trusted
            .update_root(&read(&format!("{n}.root.json")))
            .unwrap();
        n += 1;
    }
    trusted.check_root_not_expired().unwrap();
    assert_eq!(
        trusted.root().signed().version,
        expected["final_versions"]["root"]
    );
    assert_eq!(trusted.rotated_roles(), vec!["timestamp", "snapshot"]);
    trusted.update_timestamp(&read("timestamp.json")).unwrap();
    let snap_v = trusted
        .timestamp()
        .unwrap()
        .signed()
        .snapshot_meta()
        .unwrap()
        .version;
    trusted
        .update_snapshot(&read(&format!("{snap_v}.snapshot.json")), false)
        .unwrap();
    let version_of = |t: &TrustedMetadata, role: &str| {
        t.snapshot().unwrap().signed().meta[&format!("{role}.json")].version
    };
    let v = version_of(&trusted, "targets");
    trusted
        .update_targets(&read(&format!("{v}.targets.json")))
        .unwrap();

    // Every target is found by a pre-order search through the delegations, in the role
    // python-tuf put it in, with the length and hashes python-tuf listed.
    for target in expected["targets"].as_array().unwrap() {
        let path = target["path"].as_str().unwrap();
        let mut stack = vec![("targets".to_string(), "root".to_string())];
        let mut found = None;
        while let Some((role, delegator)) = stack.pop() {
            if trusted.targets(&role).is_none() {
                let v = version_of(&trusted, &role);
                trusted
                    .update_delegated_targets(&read(&format!("{v}.{role}.json")), &role, &delegator)
                    .unwrap();
            }
            let doc = trusted.targets(&role).unwrap().signed().clone();
            if let Some(t) = doc.targets.get(path) {
                found = Some((role.clone(), t.clone()));
                break;
            }
            if let Some(d) = &doc.delegations {
                // python-tuf's pre-order search: a terminating child ends the search after it.
                let mut children = Vec::new();
                for (child, terminating) in roles_for_target(d, path) {
                    children.push((child, role.clone()));
                    if terminating {
                        stack.clear();
                        break;
                    }
                }
                stack.extend(children.into_iter().rev());
            }
        }
        let (role, file) = found.unwrap_or_else(|| panic!("{path} not found"));
        assert_eq!(role, target["role"].as_str().unwrap(), "{path}");
        assert_eq!(file.length, target["length"].as_u64().unwrap());
        assert_eq!(file.hashes["sha256"], target["sha256"].as_str().unwrap());
        let on_disk = repo
            .join("targets")
            .join(Path::new(path).parent().unwrap())
            .join(format!(
                "{}.{}",
                file.hashes["sha256"],
                Path::new(path).file_name().unwrap().to_str().unwrap()
            ));
        let data = fs::read(&on_disk).unwrap();
        tufota_client::metadata::HashChecker::check(&file.hashes, &data).unwrap();
    }
}
