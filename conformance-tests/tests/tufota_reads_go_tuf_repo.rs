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
}

impl GoTufRepo {
    fn copy(variant: &str) -> GoTufRepo {
        let from = conformance_tests::workspace_root()
            .join("conformance-tests/fixtures/go-tuf")
            .join(variant)
            .join("repository");
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&from, &dir.path().join("repository"));
        GoTufRepo { dir }
    }

    /// The directory a server publishes: metadata at its top, targets below `targets/`.
    fn served(&self) -> PathBuf {
        self.dir.path().join("repository")
    }

    /// The file that holds target `name` as published (hash-prefixed when consistent).
    fn published_target(&self, name: &str) -> PathBuf {
        let (dir, base) = name.rsplit_once('/').unwrap_or(("", name));
        let dir_path = self.served().join("targets").join(dir);
        fs::read_dir(&dir_path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let file = p.file_name().unwrap().to_str().unwrap();
                file == base || file.ends_with(&format!(".{base}"))
            })
            .unwrap_or_else(|| panic!("{name} not published under {}", dir_path.display()))
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

fn every_target_downloads_and_matches(variant: &str, consistent: bool) {
    let repo = GoTufRepo::copy(variant);
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
    // go-tuf's root rotation was followed, and the delegated role was fetched for apps/*.
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
    // Targets are fetched by the spec's path: `dir/HASH.name` with consistent snapshots.
    let app = repo.published_target("apps/app-1.0.img");
    let app_file = app.file_name().unwrap().to_str().unwrap();
    assert_eq!(
        app_file.len() > "app-1.0.img".len(),
        consistent,
        "{app_file}"
    );
    let app_request = format!("/targets/apps/{app_file}");
    assert!(
        requests.contains(&app_request),
        "{app_request} not in {requests:?}"
    );
}

#[test]
fn client_binary_reads_a_go_tuf_repository_with_consistent_snapshots() {
    every_target_downloads_and_matches("consistent", true);
}

#[test]
fn client_binary_reads_a_go_tuf_repository_without_consistent_snapshots() {
    every_target_downloads_and_matches("plain", false);
}

#[test]
fn a_target_changed_after_go_tuf_signed_it_is_refused_and_nothing_is_kept() {
    for variant in ["consistent", "plain"] {
        let repo = GoTufRepo::copy(variant);
        // Same length, one byte changed: only the sha512 go-tuf signed can tell.
        let path = repo.published_target("apps/app-1.0.img");
        let mut bytes = fs::read(&path).unwrap();
        bytes[100] ^= 0x01;
        fs::write(&path, &bytes).unwrap();
        let server = TestServer::serve(&repo.served()).unwrap();
        let dirs = init_client(&repo);

        let out = download(&server, &dirs, &["apps/app-1.0.img"]);
        assert_eq!(out.status.code(), Some(1), "{variant}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("apps/app-1.0.img") && stderr.contains("sha512"),
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
