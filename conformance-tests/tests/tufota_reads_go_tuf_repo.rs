//! tufota-client reads repositories written by go-tuf's repository writer
//! (`conformance-tests/fixtures/go-tuf/`, see its README): ed25519, ECDSA P-256 and RSA-PSS
//! keys as go-tuf encodes them, root rotated 1 → 2, a path delegation and two hash-bin
//! delegations, sha512-only target hashes, consistent snapshots on and off. go-tuf cannot be built here, so the fixtures are
//! its stored output; each test serves a copy over HTTP on 127.0.0.1 and runs the real
//! `tufota-client` binary (conformance protocol), or the library's `Updater`.
//!
//! Interop notes, as observed here: go-tuf publishes metadata and targets under one
//! directory (`repository/*.json`, `repository/targets/…`), writes `N.ROLE.json` for the
//! snapshot and targets roles only when consistent snapshots are on, lists snapshot and
//! targets files with lengths and hashes, and writes `"paths": null` beside a hash-bin
//! role's `path_hash_prefixes`; all of it is read unchanged.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{refreshed_updater, run_client, utf8};
use conformance_tests::http::TestServer;

/// Target names and the contents `generate.go` gave them.
fn expected_targets() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("top.txt", b"top-level target written by go-tuf\n".to_vec()),
        (
            "images/dev-x/system.img",
            "system image of dev-x, written by go-tuf\n"
                .repeat(100)
                .into_bytes(),
        ),
        (
            "apps/app-1.0.img",
            "app 1.0, listed by the delegated role apps\n"
                .repeat(50)
                .into_bytes(),
        ),
        (
            "firmware/modem-2.1.bin",
            b"modem 2.1, in the hash bin go-tuf chose\n".to_vec(),
        ),
        (
            "firmware/dsp-3.bin",
            b"dsp 3, in the hash bin go-tuf chose\n".to_vec(),
        ),
    ]
}

/// The role that must list `name`: `apps` for `apps/*`; for `firmware/*`, which go-tuf's
/// writer placed by its own delegation search, the hash bin whose prefixes (one hex digit
/// each, `0`-`7` and `8`-`f`) the sha256 of the path starts with (spec §5.6.7 "path hash
/// prefixes"); else the top-level role.
fn listing_role(name: &str) -> String {
    if name.starts_with("apps/") {
        return "apps".into();
    }
    if name.starts_with("firmware/") {
        let digest = ring::digest::digest(&ring::digest::SHA256, name.as_bytes());
        let first = hex::encode(digest.as_ref()).chars().next().unwrap();
        let bin = if first < '8' { "bins-0-7" } else { "bins-8-f" };
        return bin.into();
    }
    "targets".into()
}

/// A private copy of one fixture (`consistent` or `plain`), so a test may tamper with it.
struct GoTufRepo {
    dir: tempfile::TempDir,
    consistent: bool,
}

impl GoTufRepo {
    fn copy(variant: &str) -> GoTufRepo {
        let from = conformance_tests::workspace_root()
            .join("conformance-tests/fixtures/go-tuf")
            .join(variant)
            .join("repository");
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&from, &dir.path().join("repository"));
        GoTufRepo {
            dir,
            consistent: variant == "consistent",
        }
    }

    /// The directory a server publishes: metadata at its top, targets below `targets/`.
    fn served(&self) -> PathBuf {
        self.dir.path().join("repository")
    }

    /// Where the spec (§5.7.3) puts target `name` holding `bytes`, below the served
    /// directory: `targets/dir/SHA512.base` with consistent snapshots (go-tuf hashes with
    /// sha512 only), `targets/dir/base` without.
    fn target_path(&self, name: &str, bytes: &[u8]) -> String {
        let (dir, base) = match name.rsplit_once('/') {
            Some((dir, base)) => (format!("{dir}/"), base),
            None => (String::new(), name),
        };
        let file = if self.consistent {
            let digest = ring::digest::digest(&ring::digest::SHA512, bytes);
            format!("{}.{base}", hex::encode(digest.as_ref()))
        } else {
            base.to_string()
        };
        format!("targets/{dir}{file}")
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A device-side directory pair, initialised with go-tuf's `1.root.json`.
struct ClientDirs {
    _work: tempfile::TempDir,
    metadata: PathBuf,
    targets: PathBuf,
}

fn init_client(repo: &GoTufRepo) -> ClientDirs {
    let work = tempfile::tempdir().unwrap();
    let metadata = work.path().join("metadata");
    let targets = work.path().join("targets");
    let root = repo.served().join("1.root.json");
    let out = run_client(&["--metadata-dir", utf8(&metadata), "init", utf8(&root)]);
    assert!(out.status.success(), "init: {out:?}");
    ClientDirs {
        _work: work,
        metadata,
        targets,
    }
}

fn download(server: &TestServer, dirs: &ClientDirs, names: &[&str]) -> Output {
    let metadata_url = server.url("");
    let targets_url = server.url("targets");
    let mut args = vec![
        "--metadata-dir",
        utf8(&dirs.metadata),
        "--metadata-url",
        &metadata_url,
        "--target-base-url",
        &targets_url,
        "--target-dir",
        utf8(&dirs.targets),
    ];
    for name in names {
        args.extend(["--target-name", name]);
    }
    args.push("download");
    run_client(&args)
}

/// The name the conformance protocol stores a target under: its path percent-encoded into
/// one file name.
fn stored_name(name: &str) -> String {
    name.replace('/', "%2F")
}

fn trusted_root_version(dirs: &ClientDirs) -> u64 {
    let root: serde_json::Value =
        serde_json::from_slice(&fs::read(dirs.metadata.join("root.json")).unwrap()).unwrap();
    root["signed"]["version"].as_u64().unwrap()
}

fn every_target_downloads_and_matches(variant: &str) {
    let repo = GoTufRepo::copy(variant);
    let consistent = repo.consistent;
    let server = TestServer::serve(&repo.served()).unwrap();
    let dirs = init_client(&repo);
    let names: Vec<&str> = expected_targets().iter().map(|(n, _)| *n).collect();

    let out = download(&server, &dirs, &names);
    assert!(out.status.success(), "download: {out:?}");
    for (name, bytes) in expected_targets() {
        assert_eq!(
            fs::read(dirs.targets.join(stored_name(name))).unwrap(),
            bytes,
            "{name}"
        );
    }
    // go-tuf's root rotation was followed, and every delegated role was fetched.
    assert_eq!(trusted_root_version(&dirs), 2);
    let requests = server.requests();
    let snapshot = if consistent {
        "/2.snapshot.json"
    } else {
        "/snapshot.json"
    };
    let prefix = if consistent { "1." } else { "" };
    let delegated = ["apps", "bins-0-7", "bins-8-f"].map(|role| format!("/{prefix}{role}.json"));
    for path in ["/2.root.json", "/3.root.json", "/timestamp.json", snapshot]
        .into_iter()
        .chain(delegated.iter().map(String::as_str))
    {
        assert!(
            requests.iter().any(|r| r == path),
            "{path} not in {requests:?}"
        );
    }
    // Targets are fetched by the spec's path, where go-tuf published them.
    for (name, bytes) in expected_targets() {
        let path = repo.target_path(name, &bytes);
        assert!(
            repo.served().join(&path).is_file(),
            "go-tuf did not publish {path}"
        );
        let request = format!("/{path}");
        assert!(requests.contains(&request), "{request} not in {requests:?}");
    }
}

#[test]
fn client_binary_reads_a_go_tuf_repository_with_consistent_snapshots() {
    every_target_downloads_and_matches("consistent");
}

#[test]
fn client_binary_reads_a_go_tuf_repository_without_consistent_snapshots() {
    every_target_downloads_and_matches("plain");
}

#[test]
fn a_target_changed_after_go_tuf_signed_it_is_refused_and_nothing_is_kept() {
    for variant in ["consistent", "plain"] {
        let repo = GoTufRepo::copy(variant);
        // Same length, one byte changed: only the sha512 go-tuf signed can tell.
        let (name, original) = expected_targets()
            .into_iter()
            .find(|(name, _)| *name == "apps/app-1.0.img")
            .unwrap();
        let path = repo.served().join(repo.target_path(name, &original));
        let mut bytes = fs::read(&path).unwrap();
        bytes[100] ^= 0x01;
        fs::write(&path, &bytes).unwrap();
        let server = TestServer::serve(&repo.served()).unwrap();
        let dirs = init_client(&repo);

        let out = download(&server, &dirs, &[name]);
        assert_eq!(out.status.code(), Some(1), "{variant}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(name) && stderr.contains("sha512"),
            "{variant}: stderr does not name the target and the hash: {stderr}"
        );
        assert!(
            fs::read_dir(&dirs.targets).map_or(true, |mut d| d.next().is_none()),
            "{variant}: a refused target was kept"
        );
    }
}

#[test]
fn a_go_tuf_snapshot_changed_after_signing_is_refused() {
    let repo = GoTufRepo::copy("plain");
    // go-tuf's timestamp lists snapshot.json with its length and hashes; a re-serialised
    // snapshot (same signed content, other bytes) must fail that check before its
    // signatures are even looked at.
    let path = repo.served().join("snapshot.json");
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let server = TestServer::serve(&repo.served()).unwrap();
    let dirs = init_client(&repo);
    let out = run_client(&[
        "--metadata-dir",
        utf8(&dirs.metadata),
        "--metadata-url",
        &server.url(""),
        "refresh",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("snapshot"), "{stderr}");
    assert!(!dirs.metadata.join("snapshot.json").exists());
}

#[test]
fn library_updater_reads_go_tuf_targets_and_their_custom_fields() {
    let repo = GoTufRepo::copy("consistent");
    let server = TestServer::serve(&repo.served()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let metadata_dir = work.path().join("metadata");
    let mut updater = refreshed_updater(
        &metadata_dir,
        &fs::read(repo.served().join("1.root.json")).unwrap(),
        &server.url(""),
        &server.url("targets"),
    );
    let listed = updater.all_targets().unwrap();
    assert_eq!(listed.len(), expected_targets().len(), "{listed:?}");
    for (name, bytes) in expected_targets() {
        let info = updater.target_info(name).unwrap().expect(name);
        assert_eq!(info.role, listing_role(name), "{name}");
        assert_eq!(info.file.length, bytes.len() as u64, "{name}");
        assert_eq!(
            info.file.hashes.keys().collect::<Vec<_>>(),
            vec!["sha512"],
            "{name}"
        );
        assert_eq!(
            info.file.custom,
            Some(serde_json::json!({"origin": "go-tuf"})),
            "{name}"
        );
    }
}
