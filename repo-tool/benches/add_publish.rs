//! Benchmark (not a test): add and publish many small targets, the case that takes tuftool
//! 81 s for 20,000 files. Prints the wall-clock figure of each step.
//!
//! Run: `cargo bench -p repo-tool --bench add_publish` (TARGETS=N to change the count,
//! default 100000; BINS=N to add a hash-bin delegation first; COPY=1 to copy files instead
//! of hard-linking them).

use std::time::Instant;

use chrono::Utc;
use repo_tool::changes::{add, delegate, DelegationScope};
use repo_tool::init::{init, InitOptions};
use repo_tool::keys::LoadedKey;
use repo_tool::layout::Repository;
use repo_tool::publish::publish;
use repo_tool::target_files::{expand_inputs, StageMode};
use tufota_client::metadata::{KeyType, PrivateKey};

fn main() {
    let count: usize = std::env::var("TARGETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let bins: Option<u32> = std::env::var("BINS").ok().and_then(|v| v.parse().ok());
    let dir = tempfile::tempdir().expect("temp dir");
    let key_path = dir.path().join("key.pem");
    let (_, pem) = PrivateKey::generate(KeyType::Ed25519).expect("key");
    std::fs::write(&key_path, pem).expect("write key");
    let key_spec = key_path.to_str().expect("utf-8 path").to_string();
    let load = || vec![LoadedKey::load(&key_spec).expect("load key")];

    let files = dir.path().join("files");
    for i in 0..count {
        let sub = files.join(format!("d{:03}", i % 1000));
        if i < 1000 {
            std::fs::create_dir_all(&sub).expect("mkdir");
        }
        std::fs::write(
            sub.join(format!("file-{i}.bin")),
            format!("target number {i}\n"),
        )
        .expect("write file");
    }

    let repo_dir = dir.path().join("repo");
    let now = Utc::now();
    init(
        &repo_dir,
        InitOptions {
            root_keys: load(),
            root_threshold: 1,
            targets_keys: load(),
            targets_threshold: 1,
            snapshot_keys: load(),
            timestamp_keys: load(),
            expires: Default::default(),
            consistent_snapshot: true,
        },
        now,
    )
    .expect("init");
    let repo = Repository::open(&repo_dir).expect("open");
    if let Some(n) = bins {
        delegate(
            &repo,
            "targets",
            "bins",
            &load(),
            1,
            DelegationScope::HashBins(n),
            false,
            now,
        )
        .expect("delegate");
    }

    let start = Instant::now();
    let inputs = vec![files.to_str().expect("utf-8").to_string()];
    let new = expand_inputs(&inputs, Some("fw")).expect("expand");
    let listed = start.elapsed();
    let mode = if std::env::var_os("COPY").is_some() {
        StageMode::Copy
    } else {
        StageMode::Link
    };
    let report = add(&repo, &new, None, &[], mode).expect("add");
    let added = start.elapsed();
    let published = publish(&repo, &load(), now).expect("publish");
    let total = start.elapsed();
    let verify_start = Instant::now();
    let verified = repo_tool::verify::verify(&repo_dir, None, now);
    assert!(
        verified.problems.is_empty(),
        "{:?}",
        verified.problems.first()
    );
    let verify_time = verify_start.elapsed();

    let targets_bytes = published
        .written
        .iter()
        .filter(|w| w.role != "snapshot" && w.role != "timestamp")
        .map(|w| std::fs::metadata(&w.file).map(|m| m.len()).unwrap_or(0))
        .sum::<u64>();
    println!(
        "{} targets{}{}: list {:.2}s, add (hash + stage) {:.2}s, publish {:.2}s, add+publish {:.2}s ({:.0} targets/s); targets metadata {} bytes; verify {:.2}s",
        report.added,
        bins.map(|n| format!(" in {n} hash bins")).unwrap_or_default(),
        if mode == StageMode::Copy { ", copied" } else { ", hard-linked" },
        listed.as_secs_f64(),
        (added - listed).as_secs_f64(),
        (total - added).as_secs_f64(),
        total.as_secs_f64(),
        report.added as f64 / total.as_secs_f64(),
        targets_bytes,
        verify_time.as_secs_f64(),
    );
}
