//! Measures a `tufota-client download` of one large target through the test HTTP server on
//! 127.0.0.1: wall time, throughput and the client's peak resident memory (via
//! `/usr/bin/time -f %M`), to show that a target streams to disk instead of being held in
//! memory.
//!
//! ```text
//! cargo build -p tufota-client [--release]
//! cargo run -p conformance-tests --example download_bench -- SIZE_MB target/debug/tufota-client
//! ```

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use conformance_tests::http::TestServer;
use conformance_tests::repo::TestRepo;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size_mb: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let client = PathBuf::from(
        args.get(2)
            .cloned()
            .unwrap_or_else(|| "target/debug/tufota-client".into()),
    );
    assert!(client.exists(), "{} not built", client.display());

    let tmp = tempfile::tempdir().expect("tempdir");
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    let content: Vec<u8> = (0..size_mb * 1024 * 1024)
        .map(|i| (i % 251) as u8)
        .collect();
    repo.add_target("targets", "big.img", &content);
    drop(content);
    repo.targets.get_mut("targets").expect("targets").version += 1;
    repo.publish();
    let server = TestServer::serve(&repo.dir).expect("server");
    let meta = tmp.path().join("metadata");
    let root = tmp.path().join("root.json");
    fs::write(&root, repo.initial_root()).expect("root");
    let status = Command::new(&client)
        .args(["--metadata-dir", meta.to_str().expect("utf-8"), "init"])
        .arg(&root)
        .status()
        .expect("init");
    assert!(status.success());

    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(&client)
        .args(["--metadata-url", &server.url("metadata")])
        .args(["--metadata-dir", meta.to_str().expect("utf-8")])
        .args(["--target-name", "big.img"])
        .args(["--target-base-url", &server.url("targets")])
        .args([
            "--target-dir",
            tmp.path().join("t").to_str().expect("utf-8"),
        ])
        .arg("download")
        .output()
        .expect("download");
    let secs = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rss_kb = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .unwrap_or("?")
        .trim()
        .to_string();
    println!(
        "download of {size_mb} MiB: {secs:.2} s, {:.1} MiB/s, client peak RSS {rss_kb} KiB ({})",
        size_mb as f64 / secs,
        client.display()
    );
}
