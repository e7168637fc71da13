//! The repository the cross-implementation tests read, built by repo-tool's library (the
//! code behind every `repo-tool` command): ed25519 and ecdsa keys, a 2-of-3 root, a root
//! rotation to root 2 that adds a fourth root key and raises the threshold to 3 (signed by
//! three holders in separate copies, then merged), one delegation by paths (`apps/*`) and
//! one by hash bins (8 bins), targets with tufota custom fields, and a timestamp refresh.

use std::path::{Path, PathBuf};

use chrono::Utc;
use repo_tool::changes::{add, delegate, CustomFields, DelegationScope};
use repo_tool::init::{init, InitOptions};
use repo_tool::keys::LoadedKey;
use repo_tool::layout::Repository;
use repo_tool::publish::{publish, refresh};
use repo_tool::root_ceremony::{add_key, edit_root, merge, publish_root, set_threshold, sign_file};
use repo_tool::target_files::{NewTarget, StageMode};
use tufota_client::metadata::{KeyType, PrivateKey};

pub struct Scenario {
    pub _dir: tempfile::TempDir,
    pub repo: PathBuf,
    /// Target path and its bytes.
    pub targets: Vec<(String, Vec<u8>)>,
}

fn key(dir: &Path, name: &str, kind: KeyType) -> String {
    let (_, pem) = PrivateKey::generate(kind).unwrap();
    let path = dir.join(format!("{name}.pem"));
    std::fs::write(&path, pem).unwrap();
    path.to_str().unwrap().to_string()
}

fn load(paths: &[&String]) -> Vec<LoadedKey> {
    paths.iter().map(|p| LoadedKey::load(p).unwrap()).collect()
}

pub fn build() -> Scenario {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let r1 = key(&keys, "root1", KeyType::Ed25519);
    let r2 = key(&keys, "root2", KeyType::Ecdsa);
    let r3 = key(&keys, "root3", KeyType::Ed25519);
    let r4 = key(&keys, "root4", KeyType::Ecdsa);
    let targets_key = key(&keys, "targets", KeyType::Ed25519);
    let snapshot_key = key(&keys, "snapshot", KeyType::Ecdsa);
    let timestamp_key = key(&keys, "timestamp", KeyType::Ed25519);
    let apps_key = key(&keys, "apps", KeyType::Ecdsa);
    let bins_key = key(&keys, "bins", KeyType::Ed25519);
    let repo_dir = dir.path().join("repo");
    let now = Utc::now();

    init(
        &repo_dir,
        InitOptions {
            root_keys: load(&[&r1, &r2, &r3]),
            root_threshold: 2,
            targets_keys: load(&[&targets_key]),
            targets_threshold: 1,
            snapshot_keys: load(&[&snapshot_key]),
            timestamp_keys: load(&[&timestamp_key]),
            expires: Default::default(),
            consistent_snapshot: true,
        },
        now,
    )
    .unwrap();
    let repo = Repository::open(&repo_dir).unwrap();
    delegate(
        &repo,
        "targets",
        "apps",
        &load(&[&apps_key]),
        1,
        DelegationScope::Paths(vec!["apps/*".into()]),
        true,
        now,
    )
    .unwrap();
    delegate(
        &repo,
        "targets",
        "bins",
        &load(&[&bins_key]),
        1,
        DelegationScope::HashBins(8),
        false,
        now,
    )
    .unwrap();

    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let mut targets = Vec::new();
    let mut new = Vec::new();
    let mut names: Vec<String> = vec!["apps/app-1.2.0.img".into(), "apps/app-1.3.0.img".into()];
    names.extend((0..12).map(|i| format!("zte-x100/system/1.{i}.0/full.img")));
    names.extend((0..4).map(|i| format!("bootloader-{i}.bin")));
    for (i, name) in names.iter().enumerate() {
        let bytes: Vec<u8> = (0..(1000 + i * 37)).map(|b| (b * 7 + i) as u8).collect();
        let src = files.join(format!("f{i}"));
        std::fs::write(&src, &bytes).unwrap();
        new.push(NewTarget {
            source: src,
            name: name.clone(),
        });
        targets.push((name.clone(), bytes));
    }
    let custom = CustomFields {
        device_model: vec!["zte-x100".into()],
        component: Some("system".into()),
        version: Some("1.2.3".into()),
        security_version: Some(7),
        rollout_percent: Some(50),
        ..Default::default()
    }
    .build()
    .unwrap();
    add(&repo, &new, custom, &[], StageMode::Copy).unwrap();
    let online = load(&[
        &targets_key,
        &snapshot_key,
        &timestamp_key,
        &apps_key,
        &bins_key,
    ]);
    publish(&repo, &online, now).unwrap();

    // Root ceremony: root 2 adds root4 and needs 3 of 4; three holders sign separate copies.
    let r4_public = LoadedKey::load(&r4).unwrap().public;
    edit_root(&repo, now, |root| {
        add_key(root, "root", &r4_public)?;
        set_threshold(root, "root", 3)
    })
    .unwrap();
    let staged = repo.staged_role_path("root");
    let mut copies = Vec::new();
    for (i, holder) in [&r1, &r2, &r4].iter().enumerate() {
        let copy = dir.path().join(format!("root-copy-{i}.json"));
        std::fs::copy(&staged, &copy).unwrap();
        sign_file(&copy, &load(&[holder])).unwrap();
        copies.push(copy);
    }
    merge(&repo, &copies).unwrap();
    publish_root(&repo, &[]).unwrap();
    refresh(&repo, "timestamp", &online, None, now).unwrap();

    Scenario {
        _dir: dir,
        repo: repo_dir,
        targets,
    }
}
