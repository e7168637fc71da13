//! python-tuf's ngclient (the reference client) refreshes a repository built by repo-tool —
//! ed25519 and ecdsa keys, 2-of-3 root rotated to 3-of-4, a paths delegation and a hash-bin
//! delegation — over real HTTP from `repo-tool serve`'s server on 127.0.0.1, follows the
//! rotation, finds every target by its delegation search and downloads it.

mod repo_tool_scenario;

use std::net::TcpListener;
use std::process::Command;

use conformance_tests::{python, workspace_root};
use tufota_client::metadata::HashAlgorithm;

#[test]
fn ngclient_refreshes_and_downloads_every_target() {
    let scenario = repo_tool_scenario::build();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let served = scenario.repo.clone();
    std::thread::spawn(move || repo_tool::serve::serve(&served, listener));

    let work = tempfile::tempdir().unwrap();
    let script = workspace_root().join("conformance-tests/python/ngclient_download.py");
    let out = Command::new(python())
        .arg(&script)
        .arg(format!("http://{addr}"))
        .arg(scenario.repo.join("metadata/1.root.json"))
        .arg(work.path())
        .args(scenario.targets.iter().map(|(n, _)| n))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ngclient failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        result["root_version"], 2,
        "ngclient did not follow the rotation"
    );
    assert_eq!(result["timestamp_version"], 3);
    for (name, bytes) in &scenario.targets {
        let got = &result["targets"][name];
        let sha = HashAlgorithm::Sha256.hex_digest(bytes);
        assert_eq!(got["sha256"], sha.as_str(), "{name}");
        assert_eq!(got["length"], bytes.len() as u64, "{name}");
        assert_eq!(got["custom"]["device_model"][0], "zte-x100", "{name}");
        assert_eq!(got["custom"]["rollout"]["percent"], 50, "{name}");
    }
}
