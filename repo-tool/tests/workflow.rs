//! The publisher's day with the real binary: delegations by paths and by hash bins route new
//! targets, custom fields and rollouts land in signed metadata, refresh changes only what it
//! says, status reports, exit codes are the documented ones.

mod common;

use common::*;
use serde_json::Value;

fn read_json(p: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    tufota_client::metadata::HashAlgorithm::Sha256.hex_digest(data)
}

#[test]
fn delegations_route_targets_and_everything_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (repo, keys) = new_repo(d);
    let r = s(&repo);
    let apps = key(d, "apps", "ecdsa");
    let bins = key(d, "bins", "ed25519");
    // Public keys suffice to delegate.
    run_ok(&[
        "delegate",
        r,
        "--to",
        "apps",
        "--key",
        &apps.1,
        "--paths",
        "apps/*",
        "--terminating",
    ]);
    run_ok(&[
        "delegate",
        r,
        "--to",
        "bins",
        "--key",
        &bins.1,
        "--hash-bins",
        "16",
    ]);
    // A directory of files, named by relative path under a prefix, with custom fields.
    let tree = d.join("tree");
    std::fs::create_dir_all(tree.join("apps")).unwrap();
    for i in 0..20 {
        std::fs::write(tree.join(format!("fw-{i}.bin")), format!("fw {i}")).unwrap();
    }
    std::fs::write(tree.join("apps/app.img"), b"app").unwrap();
    let out = run_ok(&[
        "--json",
        "add",
        r,
        s(&tree),
        "--device-model",
        "zte-x100",
        "zte-x100-rev2",
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
        "sha512",
    ]);
    let added: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(added["added"], 21);
    assert_eq!(added["roles"]["apps"], 1);
    // Several FILE=NAME pairs in one call.
    std::fs::write(d.join("x"), b"x").unwrap();
    std::fs::write(d.join("y"), b"y").unwrap();
    let px = format!("{}=extra/x.bin", s(&d.join("x")));
    let py = format!("{}=extra/y.bin", s(&d.join("y")));
    run_ok(&["add", r, &px, &py]);
    run_ok(&with(
        &["publish", r, "--key", &apps.0, &bins.0],
        &keys.online(),
    ));
    run_ok(&["verify", r]);

    // Each hash-bin target sits in the bin named by the prefix of sha256(path).
    let snapshot_v = read_json(&repo.join("metadata/timestamp.json"))["signed"]["meta"]
        ["snapshot.json"]["version"]
        .as_u64()
        .unwrap();
    let snapshot = read_json(&repo.join(format!("metadata/{snapshot_v}.snapshot.json")));
    let mut found = 0;
    for (file, meta) in snapshot["signed"]["meta"].as_object().unwrap() {
        let role = file.trim_end_matches(".json");
        if !role.starts_with("bins-") {
            continue;
        }
        let doc = read_json(&repo.join(format!("metadata/{}.{role}.json", meta["version"])));
        let prefix = role.trim_start_matches("bins-");
        for (name, info) in doc["signed"]["targets"].as_object().unwrap() {
            assert!(
                sha256_hex(name.as_bytes()).starts_with(prefix),
                "{name} in {role}"
            );
            // --hash sha512 was given for the directory, not for the pairs.
            assert_eq!(
                info["hashes"]["sha512"].is_string(),
                name.starts_with("fw-"),
                "{name}"
            );
            found += 1;
        }
    }
    assert_eq!(found, 22, "20 fw + 2 extra in the bins");
    let apps_doc = read_json(&repo.join("metadata/1.apps.json"));
    let app = &apps_doc["signed"]["targets"]["apps/app.img"];
    assert_eq!(app["custom"]["rollout"]["percent"], 10);
    assert_eq!(app["custom"]["device_model"][1], "zte-x100-rev2");
    assert_eq!(app["custom"]["security_version"], 7);
    // Consistent-snapshot file names keep directories.
    let sha = app["hashes"]["sha256"].as_str().unwrap();
    assert_eq!(
        std::fs::read(repo.join(format!("targets/apps/{sha}.app.img"))).unwrap(),
        b"app"
    );

    // Rollout and remove edit the owning role only.
    run_ok(&["rollout", r, "apps/app.img", "--percent", "50"]);
    run_ok(&["remove", r, "fw-3.bin"]);
    let status: Value = serde_json::from_str(&run_ok(&["--json", "status", r])).unwrap();
    let drafts: Vec<&str> = status["drafts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(drafts.contains(&"apps") && drafts.len() == 2, "{drafts:?}");
    run_ok(&with(
        &["publish", r, "--key", &apps.0, &bins.0],
        &keys.online(),
    ));
    let apps_doc = read_json(&repo.join("metadata/2.apps.json"));
    assert_eq!(
        apps_doc["signed"]["targets"]["apps/app.img"]["custom"]["rollout"]["percent"],
        50
    );
    assert_eq!(
        apps_doc["signed"]["targets"]["apps/app.img"]["custom"]["version"],
        "1.2.3"
    );
    run_ok(&["verify", r]);
    let status: Value = serde_json::from_str(&run_ok(&["--json", "status", r])).unwrap();
    assert_eq!(status["targets"], 22);
    assert!(status["new_device_metadata_bytes"].as_u64().unwrap() > 0);
    for role in status["roles"].as_array().unwrap() {
        assert!(
            role["valid_signatures"].as_u64() >= role["threshold"].as_u64(),
            "{role}"
        );
    }

    // A delegated role's key cannot be left out.
    run_ok(&["rollout", r, "apps/app.img", "--percent", "60"]);
    let err = stderr_of(&with(&["publish", r, "--key", &bins.0], &keys.online()), 1);
    assert!(err.contains("apps"), "{err}");
}

#[test]
fn refresh_changes_only_timestamp_or_snapshot_and_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, keys) = new_repo(dir.path());
    let r = s(&repo);
    let before = published_tree(&repo);
    run_ok(&[
        "refresh",
        r,
        "--role",
        "timestamp",
        "--key",
        &keys.timestamp.0,
        "--expires",
        "2d",
    ]);
    let after = published_tree(&repo);
    let changed: Vec<_> = after
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert_eq!(changed, vec![&repo.join("metadata/timestamp.json")]);
    let ts = read_json(&repo.join("metadata/timestamp.json"));
    assert_eq!(ts["signed"]["version"], 2);
    assert_eq!(ts["signed"]["meta"]["snapshot.json"]["version"], 1);

    // Snapshot refresh needs the timestamp key too (it names the new snapshot).
    stderr_of(
        &[
            "refresh",
            r,
            "--role",
            "snapshot",
            "--key",
            &keys.snapshot.0,
        ],
        1,
    );
    assert_eq!(published_tree(&repo), after);
    run_ok(&[
        "refresh",
        r,
        "--role",
        "snapshot",
        "--key",
        &keys.snapshot.0,
        &keys.timestamp.0,
    ]);
    let last = published_tree(&repo);
    let mut changed: Vec<_> = last
        .keys()
        .filter(|k| after.get(*k) != last.get(*k))
        .collect();
    changed.sort();
    assert_eq!(
        changed,
        vec![
            &repo.join("metadata/2.snapshot.json"),
            &repo.join("metadata/timestamp.json")
        ]
    );
    run_ok(&["verify", r]);
    // Within a horizon beyond timestamp's expiry, verify reports it (exit 1).
    let err = stderr_of(&["verify", r, "--within", "3d"], 1);
    assert!(
        err.contains("timestamp") && err.contains("expires"),
        "{err}"
    );
}

#[test]
fn documented_exit_codes_and_plain_names_without_consistent_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 2: usage.
    assert_eq!(repo_tool(&["publish"]).status.code(), Some(2));
    assert_eq!(
        repo_tool(&["verify", "x", "--within", "7x"]).status.code(),
        Some(2)
    );
    // 3: not a repository.
    let err = stderr_of(&["status", s(&d.join("nowhere"))], 3);
    assert!(err.contains("repo-tool.json"), "{err}");
    // --json errors on stderr.
    let out = repo_tool(&["--json", "status", s(&d.join("nowhere"))]);
    let v: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(v["exit_code"], 3);

    let k = key(d, "all", "ed25519");
    let repo = d.join("plain");
    let r = s(&repo);
    run_ok(&[
        "init",
        r,
        "--root-key",
        &k.0,
        "--targets-key",
        &k.0,
        "--snapshot-key",
        &k.0,
        "--timestamp-key",
        &k.0,
        "--no-consistent-snapshot",
        "--expires",
        "timestamp=12h",
    ]);
    std::fs::write(d.join("f"), b"plain").unwrap();
    run_ok(&["add", r, s(&d.join("f")), "--name", "d/f.bin"]);
    run_ok(&["publish", r, "--key", &k.0]);
    assert_eq!(
        std::fs::read(repo.join("targets/d/f.bin")).unwrap(),
        b"plain"
    );
    assert!(repo.join("metadata/snapshot.json").is_file());
    assert!(repo.join("metadata/targets.json").is_file());
    assert!(repo.join("metadata/1.root.json").is_file());
    run_ok(&["verify", r]);
    // A tampered target: verify exits 1 and names the file and role.
    std::fs::write(repo.join("targets/d/f.bin"), b"PLAIN").unwrap();
    let err = stderr_of(&["verify", r], 1);
    assert!(
        err.contains("d/f.bin") && err.contains("targets") && err.contains("sha256"),
        "{err}"
    );
}

#[test]
fn copy_keeps_published_bytes_apart_from_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (repo, keys) = new_repo(d);
    let r = s(&repo);
    std::fs::write(d.join("linked"), b"linked v1").unwrap();
    std::fs::write(d.join("copied"), b"copied v1").unwrap();
    run_ok(&["add", r, s(&d.join("linked")), "--name", "linked.bin"]);
    run_ok(&[
        "add",
        r,
        s(&d.join("copied")),
        "--name",
        "copied.bin",
        "--copy",
    ]);
    run_ok(&with(&["publish", r, "--key"], &keys.online()));
    run_ok(&["verify", r]);
    // Editing the copied source in place does not touch the repository.
    std::fs::write(d.join("copied"), b"copied v2").unwrap();
    run_ok(&["verify", r]);
    // Editing a hard-linked source in place does (documented); verify catches it.
    std::fs::write(d.join("linked"), b"linked v2").unwrap();
    let err = stderr_of(&["verify", r], 1);
    assert!(err.contains("linked.bin"), "{err}");
}
