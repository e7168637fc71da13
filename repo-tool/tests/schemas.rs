//! Every document repo-tool writes — root (published and staged), targets with custom fields
//! and delegations (paths and hash bins), delegated roles, snapshot, timestamp, and the
//! unsigned drafts in staged/ — validates against metadata-schemas/ (JSON Schema 2020-12).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use jsonschema::Registry;
use serde_json::Value;

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../metadata-schemas")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            if p.file_name().unwrap() != "targets" {
                json_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

#[test]
fn every_document_repo_tool_writes_validates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (repo, keys) = new_repo(d);
    let r = s(&repo);
    let apps = key(d, "apps", "ecdsa");
    let bins = key(d, "bins", "ed25519");
    run_ok(&[
        "delegate", r, "--to", "apps", "--key", &apps.1, "--paths", "apps/*", "apps/*/*",
    ]);
    run_ok(&[
        "delegate",
        r,
        "--to",
        "bins",
        "--key",
        &bins.1,
        "--hash-bins",
        "4",
        "--terminating",
    ]);
    std::fs::write(d.join("full"), b"full image").unwrap();
    std::fs::write(d.join("app"), b"app").unwrap();
    std::fs::write(d.join("delta"), b"delta").unwrap();
    let sha_full = tufota_client::metadata::HashAlgorithm::Sha256.hex_digest(b"full image");
    run_ok(&[
        "add",
        r,
        s(&d.join("full")),
        "--name",
        "zte-x100/system/1.2.3/full.img",
        "--device-model",
        "zte-x100",
        "--component",
        "system",
        "--version",
        "1.2.3",
        "--build",
        "2026-03-15",
        "--security-version",
        "7",
        "--rollout-percent",
        "10",
        "--rollout-start",
        "2026-04-05T00:00:00Z",
        "--hash",
        "sha384",
        "sha512",
        "--custom",
        r#"{"type": "full", "vendor-note": "kept"}"#,
    ]);
    let delta_custom = format!(
        r#"{{"type": "delta", "delta": {{"from_version": "1.2.2", "from_sha256": "{sha_full}", "format": "bsdiff", "to": "zte-x100/system/1.2.3/full.img"}}}}"#
    );
    run_ok(&[
        "add",
        r,
        s(&d.join("delta")),
        "--name",
        "zte-x100/system/1.2.3/from-1.2.2.delta",
        "--custom",
        &delta_custom,
        "--version",
        "1.2.3",
    ]);
    run_ok(&["add", r, s(&d.join("app")), "--name", "apps/app.img"]);
    // Drafts exist now; validate them as well before publishing.
    let mut drafts = Vec::new();
    json_files(&repo.join("staged"), &mut drafts);
    let drafts_bytes: Vec<(PathBuf, Vec<u8>)> = drafts
        .iter()
        .map(|p| (p.clone(), std::fs::read(p).unwrap()))
        .collect();
    run_ok(&with(
        &["publish", r, "--key", &apps.0, &bins.0],
        &keys.online(),
    ));
    run_ok(&[
        "refresh",
        r,
        "--role",
        "snapshot",
        "--key",
        &keys.snapshot.0,
        &keys.timestamp.0,
    ]);
    run_ok(&["root", "threshold", r, "--role", "targets", "1"]);
    run_ok(&[
        "sign",
        s(&repo.join("staged/root.json")),
        "--key",
        &keys.root[0].0,
    ]);

    let mut registry = Registry::new();
    for name in [
        "common",
        "root",
        "snapshot",
        "targets",
        "timestamp",
        "target-custom",
    ] {
        let schema: Value = serde_json::from_slice(
            &std::fs::read(schemas_dir().join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        registry = registry
            .add(format!("https://tufota.dev/schemas/{name}.json"), schema)
            .unwrap();
    }
    let registry = registry.prepare().unwrap();
    let validator = |role: &str| {
        let schema: Value =
            serde_json::json!({"$ref": format!("https://tufota.dev/schemas/{role}.json")});
        jsonschema::options()
            .with_registry(&registry)
            .build(&schema)
            .unwrap()
    };
    let validators: Vec<(&str, jsonschema::Validator)> =
        ["root", "snapshot", "targets", "timestamp"]
            .iter()
            .map(|r| (*r, validator(r)))
            .collect();

    let mut files = Vec::new();
    json_files(&repo.join("metadata"), &mut files);
    json_files(&repo.join("staged"), &mut files);
    let mut documents: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|p| (p.clone(), std::fs::read(p).unwrap()))
        .collect();
    documents.extend(drafts_bytes);
    let mut seen = std::collections::BTreeMap::new();
    for (path, bytes) in &documents {
        let doc: Value = serde_json::from_slice(bytes).unwrap();
        let role = doc["signed"]["_type"].as_str().unwrap();
        let (_, v) = validators.iter().find(|(r, _)| *r == role).unwrap();
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        *seen.entry(role.to_string()).or_insert(0) += 1;
    }
    // root 1 + root.json + staged root 2; targets, apps, 4 bins, drafts; snapshots; timestamp.
    assert!(seen["root"] >= 3, "{seen:?}");
    assert!(seen["targets"] >= 8, "{seen:?}");
    assert!(seen["snapshot"] >= 3 && seen["timestamp"] == 1, "{seen:?}");

    // The schema is not a rubber stamp: a custom field repo-tool would never write fails.
    let (_, targets_v) = validators.iter().find(|(r, _)| *r == "targets").unwrap();
    let mut bad: Value =
        serde_json::from_slice(&std::fs::read(repo.join("metadata/1.apps.json")).unwrap()).unwrap();
    let first = bad["signed"]["targets"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    first["custom"] = serde_json::json!({"rollout": {"percent": 101}});
    assert!(!targets_v.is_valid(&bad));
}
