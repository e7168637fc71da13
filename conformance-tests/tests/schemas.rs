//! Every kind of document the metadata model writes validates against metadata-schemas/,
//! and so does what python-tuf writes; broken documents do not.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use conformance_tests::{check_against_schema, python_fixtures};
use serde_json::{json, Value};
use tufota_client::metadata::custom::{DeltaInfo, ImageType, Rollout, TargetCustom};
use tufota_client::metadata::{
    DelegatedRole, Delegations, HashAlgorithm, KeyType, MetaFile, PrivateKey, Role, RoleKeys, Root,
    Signed, Signer, Snapshot, SuccinctRoles, TargetFile, Targets, Timestamp, TufTime,
};

fn signed<T: Role>(doc: T, key: &PrivateKey) -> Value {
    let mut s = Signed::new(doc).unwrap();
    s.sign(key).unwrap();
    serde_json::from_slice(&s.to_bytes()).unwrap()
}

fn documents_we_write() -> Vec<(&'static str, Value)> {
    let keys: Vec<PrivateKey> = [KeyType::Ed25519, KeyType::Ecdsa, KeyType::Ed25519]
        .into_iter()
        .map(|t| PrivateKey::generate(t).unwrap().0)
        .collect();
    let expires = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let mut root = Root::new(expires);
    for k in &keys {
        root.keys.insert(k.keyid().into(), k.key().clone());
    }
    for role in ["root", "timestamp", "snapshot", "targets"] {
        root.roles.insert(
            role.into(),
            RoleKeys {
                keyids: keys.iter().map(|k| k.keyid().to_string()).collect(),
                threshold: 2,
                extra: BTreeMap::new(),
            },
        );
    }
    let hashes = BTreeMap::from([("sha256".to_string(), HashAlgorithm::Sha256.hex_digest(b"x"))]);
    let custom = |t: TargetCustom| Some(serde_json::to_value(t).unwrap());
    let mut targets = Targets::new(expires);
    targets.targets.insert(
        "zte-x100/system/1.2.3/full.img".into(),
        TargetFile {
            length: 1,
            hashes: hashes.clone(),
            custom: custom(TargetCustom {
                device_model: Some(vec!["zte-x100".into()]),
                component: Some("system".into()),
                version: Some("1.2.3".into()),
                build: Some("2026-03-15".into()),
                image_type: Some(ImageType::Full),
                security_version: Some(7),
                rollout: Some(Rollout {
                    percent: 10,
                    start: Some(TufTime(expires)),
                    extra: BTreeMap::new(),
                }),
                ..Default::default()
            }),
            extra: BTreeMap::new(),
        },
    );
    targets.targets.insert(
        "zte-x100/system/1.2.3/from-1.2.2.delta".into(),
        TargetFile {
            length: 1,
            hashes: hashes.clone(),
            custom: custom(TargetCustom {
                image_type: Some(ImageType::Delta),
                delta: Some(DeltaInfo {
                    from_version: "1.2.2".into(),
                    from_sha256: "a".repeat(64),
                    format: "tufota-delta-1".into(),
                    to: "zte-x100/system/1.2.3/full.img".into(),
                    extra: BTreeMap::new(),
                }),
                ..Default::default()
            }),
            extra: BTreeMap::new(),
        },
    );
    let k = &keys[0];
    targets.delegations = Some(Delegations {
        keys: BTreeMap::from([(k.keyid().into(), k.key().clone())]),
        roles: Some(vec![
            DelegatedRole {
                name: "apps".into(),
                keyids: vec![k.keyid().into()],
                threshold: 1,
                terminating: true,
                paths: Some(vec!["apps/*".into()]),
                path_hash_prefixes: None,
                extra: BTreeMap::new(),
            },
            DelegatedRole {
                name: "bin-0".into(),
                keyids: vec![k.keyid().into()],
                threshold: 1,
                terminating: false,
                paths: None,
                path_hash_prefixes: Some(vec!["0".into(), "1".into()]),
                extra: BTreeMap::new(),
            },
        ]),
        succinct_roles: None,
        extra: BTreeMap::new(),
    });
    let mut succinct = Targets::new(expires);
    succinct.delegations = Some(Delegations {
        keys: BTreeMap::new(),
        roles: None,
        succinct_roles: Some(SuccinctRoles {
            keyids: vec![k.keyid().into()],
            threshold: 1,
            bit_length: 4,
            name_prefix: "bins".into(),
            extra: BTreeMap::new(),
        }),
        extra: BTreeMap::new(),
    });
    let mut snapshot = Snapshot::new(expires);
    let mut meta = MetaFile::new(3);
    meta.length = Some(1234);
    meta.hashes = Some(hashes);
    snapshot.meta.insert("targets.json".into(), meta.clone());
    snapshot.meta.insert("apps.json".into(), MetaFile::new(1));
    vec![
        ("root.json", signed(root, k)),
        ("targets.json", signed(targets, k)),
        ("targets.json", signed(succinct, k)),
        ("snapshot.json", signed(snapshot, k)),
        ("timestamp.json", signed(Timestamp::new(expires, meta), k)),
    ]
}

#[test]
fn documents_the_model_writes_validate() {
    for (schema, doc) in documents_we_write() {
        check_against_schema(schema, &doc).unwrap_or_else(|e| panic!("{}", e.join("\n")));
    }
}

#[test]
fn python_tuf_documents_validate() {
    let fixtures = python_fixtures();
    for dir in ["keytypes/ed25519", "keytypes/ecdsa", "keytypes/rsa"] {
        for role in ["root", "timestamp", "snapshot", "targets"] {
            let path = fixtures.path().join(dir).join(format!("{role}.json"));
            let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            check_against_schema(&format!("{role}.json"), &doc)
                .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.join("\n")));
        }
    }
}

#[test]
fn broken_documents_do_not_validate() {
    let docs = documents_we_write();
    type Breakage = (&'static str, fn(&mut Value));
    let breakages: Vec<Breakage> = vec![
        ("root.json", |v| v["signed"]["version"] = json!(0)),
        ("root.json", |v| {
            v["signed"]["expires"] = json!("2030-01-01T00:00:00.1Z")
        }),
        ("root.json", |v| {
            v["signed"]["roles"]["root"]
                .as_object_mut()
                .unwrap()
                .remove("threshold");
        }),
        ("targets.json", |v| {
            v["signed"]["targets"]["zte-x100/system/1.2.3/full.img"]["custom"]["rollout"]
                ["percent"] = json!(101)
        }),
        ("targets.json", |v| {
            v["signed"]["targets"]["zte-x100/system/1.2.3/full.img"]["custom"]["type"] =
                json!("partial")
        }),
        ("snapshot.json", |v| {
            v["signed"]["meta"]["targets.json"]["length"] = json!(-1)
        }),
        ("timestamp.json", |v| {
            v["signed"]["_type"] = json!("snapshot")
        }),
    ];
    for (schema, breakage) in breakages {
        let (_, doc) = docs.iter().find(|(s, _)| *s == schema).unwrap();
        let mut bad = doc.clone();
        breakage(&mut bad);
        assert!(
            check_against_schema(schema, &bad).is_err(),
            "{schema}: {bad}"
        );
    }
}
