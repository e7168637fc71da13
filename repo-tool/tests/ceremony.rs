//! The offline root ceremony, end to end with the real binary: root keys that never meet,
//! copies of staged root N+1 signed on separate (simulated air-gapped) machines, merged
//! back; `root publish` refuses with one signature and accepts with two; a device's trust
//! core (TrustedMetadata, the code devices run) follows the rotation.

mod common;

use chrono::Utc;
use common::*;
use tufota_client::trust::TrustedMetadata;

#[test]
fn three_holders_sign_copies_and_the_client_follows_the_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, keys) = new_repo(dir.path());
    let r = s(&repo);
    // Root 2: replace holder 3's key by a new one (root4), keep 2-of-3, raise targets' keys.
    let (root4, root4_pub) = key(dir.path(), "root4", "ecdsa");
    let root3_id = run_ok(&["--json", "key", "show", &keys.root[2].1]);
    let root3_id: serde_json::Value = serde_json::from_str(&root3_id).unwrap();
    let root3_id = root3_id["keyid"].as_str().unwrap().to_string();
    run_ok(&["root", "add-key", r, "--role", "root", &root4_pub]);
    run_ok(&["root", "remove-key", r, "--role", "root", &root3_id]);
    run_ok(&["root", "threshold", r, "--role", "root", "2"]);

    // Each holder gets a copy on "their" machine, with only their key there.
    let staged = repo.join("staged/root.json");
    let holders = [&keys.root[0].0, &keys.root[1].0, &root4];
    let mut copies = Vec::new();
    for (i, holder_key) in holders.iter().enumerate() {
        let machine = dir.path().join(format!("airgap-{i}"));
        std::fs::create_dir_all(&machine).unwrap();
        let copy = machine.join("root-2.json");
        std::fs::copy(&staged, &copy).unwrap();
        let key_there = machine.join("holder.pem");
        std::fs::copy(holder_key, &key_there).unwrap();
        run_ok(&["sign", s(&copy), "--key", s(&key_there)]);
        copies.push(copy);
    }

    let before = published_tree(&repo);
    // One signature (holder 1): refused.
    run_ok(&["root", "merge", r, s(&copies[0])]);
    let err = stderr_of(&["root", "publish", r], 1);
    assert!(
        err.contains("root 2") && err.contains("1 valid signature"),
        "{err}"
    );
    assert_eq!(published_tree(&repo), before);
    let status: serde_json::Value =
        serde_json::from_str(&run_ok(&["--json", "status", r])).unwrap();
    assert_eq!(status["staged_root"]["previous_root"][0], 1);

    // Two (holders 1 and 2, both root-1 keys; both also root-2 keys): accepted.
    run_ok(&["root", "merge", r, s(&copies[1])]);
    run_ok(&["root", "publish", r]);
    assert!(repo.join("metadata/2.root.json").is_file());
    assert!(!staged.exists());

    // A device holding root 1 follows the rotation with the trust core.
    let now = Utc::now();
    let root1 = std::fs::read(repo.join("metadata/1.root.json")).unwrap();
    let root2 = std::fs::read(repo.join("metadata/2.root.json")).unwrap();
    let mut trusted = TrustedMetadata::new(&root1, now).unwrap();
    trusted.update_root(&root2).unwrap();
    trusted.check_root_not_expired().unwrap();
    assert_eq!(trusted.root().signed().version, 2);
    let root_role = trusted.root().signed().role("root").unwrap();
    assert!(!root_role.keyids.contains(&root3_id));
    assert_eq!(root_role.keyids.len(), 3);

    // Root 3 must now be signed by root 2's keys: root3 (holder 3's old key) no longer counts.
    run_ok(&["root", "expires", r, "500d"]);
    let err = stderr_of(&["root", "publish", r, "--key", &keys.root[2].0, &root4], 1);
    assert!(err.contains("root 3"), "{err}");
    run_ok(&["root", "publish", r, "--key", &keys.root[1].0, &root4]);
    let root3 = std::fs::read(repo.join("metadata/3.root.json")).unwrap();
    trusted.update_root(&root3).unwrap();
    run_ok(&["verify", r]);
}

#[test]
fn offline_root_keys_leave_root_one_staged_until_signed() {
    let dir = tempfile::tempdir().unwrap();
    let root: Vec<(String, String)> = (0..3)
        .map(|i| key(dir.path(), &format!("root{i}"), "ed25519"))
        .collect();
    let t = key(dir.path(), "targets", "ecdsa");
    let sn = key(dir.path(), "snapshot", "ed25519");
    let ts = key(dir.path(), "timestamp", "ecdsa");
    let repo = dir.path().join("repo");
    let r = s(&repo);
    // Public halves only: offline keys.
    run_ok(&[
        "init",
        r,
        "--root-key",
        &root[0].1,
        &root[1].1,
        &root[2].1,
        "--root-threshold",
        "2",
        "--targets-key",
        &t.0,
        "--snapshot-key",
        &sn.0,
        "--timestamp-key",
        &ts.0,
    ]);
    assert!(repo.join("staged/root.json").is_file());
    assert!(!repo.join("metadata/1.root.json").exists());
    // Nothing can be published before root.
    let err = stderr_of(&["publish", r, "--key", &t.0, &sn.0, &ts.0], 1);
    assert!(err.contains("root publish"), "{err}");

    let copy = dir.path().join("copy.json");
    std::fs::copy(repo.join("staged/root.json"), &copy).unwrap();
    run_ok(&["sign", s(&copy), "--key", &root[2].0]);
    run_ok(&["root", "merge", r, s(&copy)]);
    stderr_of(&["root", "publish", r], 1);
    run_ok(&[
        "sign",
        s(&repo.join("staged/root.json")),
        "--key",
        &root[0].0,
    ]);
    run_ok(&["root", "publish", r]);
    run_ok(&["publish", r, "--key", &t.0, &sn.0, &ts.0]);
    run_ok(&["verify", r]);
}
