//! tufota-client reads a repository written entirely by tough (AWS's TUF library, used by
//! Bottlerocket): root built from tough's schema types and signed with tough's
//! `SignedRole`, targets, snapshot and timestamp signed by tough's `RepositoryEditor`, one
//! delegated role made with its `delegate_role`, ed25519, ECDSA P-256 and RSA-PSS keys (RSA
//! 2048 made by `openssl genpkey`, as SECURITY.md tells publishers), consistent snapshots,
//! all written by tough's `write` and `copy_target`. The repository is served over HTTP on
//! 127.0.0.1 and read by the real `tufota-client` binary (conformance protocol) and by the
//! library's `Updater`.
//!
//! Interop notes, as observed here:
//! - tough writes consistent target files as `HASH.NAME` with the whole target path as NAME,
//!   so `dir/app.bin` lands at `targets/HASH.dir/app.bin`; the TUF spec (§5.7.2), python-tuf,
//!   go-tuf and tufota fetch `targets/dir/HASH.app.bin`. tufota therefore cannot download a
//!   target with a directory from tough's output as written: the test asserts that it fails
//!   cleanly, then that it succeeds once the same bytes are also placed at the spec's path.
//! - tough's `LocalKeySource` takes ed25519 and ECDSA private keys as PKCS#8 DER, RSA as PEM.
//! - Everything else (key formats incl. tough's RSA and ECDSA PEM encodings, key ids,
//!   signatures over canonical JSON, `N.ROLE.json` names, delegation by `paths`) is read
//!   unchanged.

mod common;

use std::collections::HashMap;
use std::fs;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_lc_rs::rand::SystemRandom;
use common::{refreshed_updater, run_client, utf8};
use conformance_tests::http::TestServer;
use tough::editor::signed::{PathExists, SignedRole};
use tough::editor::RepositoryEditor;
use tough::key_source::{KeySource, LocalKeySource};
use tough::schema::decoded::{Decoded, Hex};
use tough::schema::{KeyHolder, PathPattern, PathSet, RoleKeys, RoleType, Root, Target};
use tough::TargetName;
use tufota_client::metadata::{KeyType, PrivateKey};

/// A target at the repository's top level (root of `targets/`).
const TOP: &str = "firmware.img";
/// A target with a directory, listed by top-level targets.
const IN_DIR: &str = "images/sim-1/system.img";
/// A target listed by the delegated role `apps` (paths `apps-*`; no directory, see above).
const DELEGATED: &str = "apps-tool.bin";

struct ToughRepo {
    dir: tempfile::TempDir,
    /// tough's `1.root.json`, the root a device is given out of band.
    root: PathBuf,
    /// Target path → bytes.
    files: Vec<(&'static str, Vec<u8>)>,
}

impl ToughRepo {
    /// The directory served over HTTP: `metadata/` and `targets/`, as tough wrote them.
    fn served(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn bytes_of(&self, name: &str) -> &[u8] {
        &self.files.iter().find(|(n, _)| *n == name).unwrap().1
    }

    /// Where tough put a target's bytes: `targets/HASH.NAME`.
    fn tough_target_path(&self, name: &str) -> PathBuf {
        let sha = hex_sha256(self.bytes_of(name));
        self.served().join("targets").join(format!("{sha}.{name}"))
    }

    /// Where the TUF spec, python-tuf, go-tuf and tufota look: `targets/DIR/HASH.BASE`.
    fn spec_target_path(&self, name: &str) -> PathBuf {
        let sha = hex_sha256(self.bytes_of(name));
        let (dir, base) = name.rsplit_once('/').unwrap_or(("", name));
        self.served()
            .join("targets")
            .join(dir)
            .join(format!("{sha}.{base}"))
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// tough's `LocalKeySource` reads ed25519 and ECDSA keys as PKCS#8 DER (only RSA as PEM).
fn ed25519_or_ecdsa_key(dir: &Path, name: &str, kind: KeyType) -> Box<dyn KeySource> {
    let (_, pem_text) = PrivateKey::generate(kind).unwrap();
    let path = dir.join(format!("{name}.pk8"));
    fs::write(&path, pem::parse(pem_text).unwrap().contents()).unwrap();
    Box::new(LocalKeySource { path })
}

fn rsa_key(dir: &Path, name: &str) -> Box<dyn KeySource> {
    let path = dir.join(format!("{name}.pem"));
    let status = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&path)
        .output()
        .expect("openssl, to make an RSA key");
    assert!(status.status.success(), "{status:?}");
    Box::new(LocalKeySource { path })
}

async fn key_id(source: &dyn KeySource) -> (Decoded<Hex>, tough::schema::key::Key) {
    let key = source.as_sign().await.unwrap().tuf_key();
    (key.key_id().unwrap(), key)
}

fn one(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).unwrap()
}

/// Builds the repository with tough only; tufota code is used only to generate the
/// ed25519/ECDSA private keys (tough has no key generator).
async fn build_with_tough() -> ToughRepo {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let inputs = dir.path().join("inputs");
    let metadata = dir.path().join("repo/metadata");
    let targets = dir.path().join("repo/targets");
    fs::create_dir_all(&keys).unwrap();
    fs::create_dir_all(&inputs).unwrap();
    // tough's copy_target canonicalises its out dir before creating anything.
    fs::create_dir_all(&targets).unwrap();

    let root_key = ed25519_or_ecdsa_key(&keys, "root", KeyType::Ed25519);
    let targets_key = ed25519_or_ecdsa_key(&keys, "targets", KeyType::Ecdsa);
    let snapshot_key = rsa_key(&keys, "snapshot");
    let timestamp_key = ed25519_or_ecdsa_key(&keys, "timestamp", KeyType::Ed25519);
    let apps_key = ed25519_or_ecdsa_key(&keys, "apps", KeyType::Ecdsa);
    // tough's time type (jiff::Timestamp), named only through inference.
    let expires = "2099-01-01T00:00:00Z".parse().unwrap();

    // Root 1, from tough's schema types, signed by tough.
    let mut root = Root {
        spec_version: "1.0.0".into(),
        consistent_snapshot: true,
        version: one(1),
        expires,
        keys: HashMap::new(),
        roles: HashMap::new(),
        _extra: HashMap::new(),
    };
    for (role, source) in [
        (RoleType::Root, &root_key),
        (RoleType::Targets, &targets_key),
        (RoleType::Snapshot, &snapshot_key),
        (RoleType::Timestamp, &timestamp_key),
    ] {
        let (id, key) = key_id(source.as_ref()).await;
        root.keys.insert(id.clone(), key);
        root.roles.insert(
            role,
            RoleKeys {
                keyids: vec![id],
                threshold: one(1),
                _extra: HashMap::new(),
            },
        );
    }
    let signed_root = SignedRole::new(
        root.clone(),
        &KeyHolder::Root(root),
        std::slice::from_ref(&root_key),
        &SystemRandom::new(),
    )
    .await
    .unwrap();
    signed_root.write(&metadata, true).await.unwrap();
    let root_path = metadata.join("1.root.json");

    // Targets, a delegation by paths, snapshot and timestamp, with tough's editor.
    let files: Vec<(&'static str, Vec<u8>)> = vec![
        (TOP, (0..40_000u32).map(|i| (i % 251) as u8).collect()),
        (IN_DIR, b"system image for sim-1, version 1.0".repeat(100)),
        (DELEGATED, b"a tool signed by the apps role".to_vec()),
    ];
    let input_of = |name: &str| inputs.join(name.replace('/', "_"));
    for (name, bytes) in &files {
        fs::write(input_of(name), bytes).unwrap();
    }
    let mut editor = RepositoryEditor::new(&root_path).await.unwrap();
    editor
        .targets_version(one(1))
        .unwrap()
        .targets_expires(expires)
        .unwrap()
        .snapshot_version(one(1))
        .snapshot_expires(expires)
        .timestamp_version(one(1))
        .timestamp_expires(expires);
    for name in [TOP, IN_DIR] {
        let target = Target::from_path(input_of(name)).await.unwrap();
        editor.add_target(name, target).unwrap();
    }
    editor
        .delegate_role(
            "apps",
            std::slice::from_ref(&apps_key),
            PathSet::Paths(vec![PathPattern::new("apps-*").unwrap()]),
            false,
            one(1),
            expires,
            one(1),
        )
        .await
        .unwrap();
    editor
        .sign_targets_editor(std::slice::from_ref(&targets_key))
        .await
        .unwrap();
    // The delegated role's editor starts without a version or expiry: still version 1,
    // never published.
    editor
        .change_delegated_targets("apps")
        .unwrap()
        .targets_version(one(1))
        .unwrap()
        .targets_expires(expires)
        .unwrap();
    let target = Target::from_path(input_of(DELEGATED)).await.unwrap();
    editor.add_target(DELEGATED, target).unwrap();
    editor
        .sign_targets_editor(std::slice::from_ref(&apps_key))
        .await
        .unwrap();
    let signed = editor
        .sign(&[root_key, targets_key, snapshot_key, timestamp_key, apps_key])
        .await
        .unwrap();
    signed.write(&metadata).await.unwrap();
    for (name, _) in &files {
        let target_name = TargetName::new(*name).unwrap();
        signed
            .copy_target(
                &input_of(name),
                &targets,
                PathExists::Fail,
                Some(&target_name),
            )
            .await
            .unwrap();
    }
    ToughRepo {
        dir,
        root: root_path,
        files,
    }
}

fn build() -> ToughRepo {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let repo = runtime.block_on(build_with_tough());
    // What tough wrote, so the notes above stay true.
    let metadata = repo.served().join("metadata");
    for file in [
        "1.root.json",
        "1.targets.json",
        "1.apps.json",
        "1.snapshot.json",
        "timestamp.json",
    ] {
        assert!(metadata.join(file).is_file(), "tough wrote no {file}");
    }
    for (name, bytes) in &repo.files {
        assert_eq!(&fs::read(repo.tough_target_path(name)).unwrap(), bytes);
    }
    assert!(!repo.spec_target_path(IN_DIR).exists());
    repo
}

/// `tufota-client --metadata-dir D init ROOT`, expected to succeed.
fn init_client(repo: &ToughRepo, metadata_dir: &Path) {
    let out = run_client(&[
        "--metadata-dir",
        utf8(metadata_dir),
        "init",
        utf8(&repo.root),
    ]);
    assert!(out.status.success(), "init: {out:?}");
}

fn download(server: &TestServer, metadata_dir: &Path, target_dir: &Path, names: &[&str]) -> Output {
    let metadata_url = server.url("metadata");
    let targets_url = server.url("targets");
    let mut args = vec![
        "--metadata-dir",
        utf8(metadata_dir),
        "--metadata-url",
        &metadata_url,
        "--target-base-url",
        &targets_url,
        "--target-dir",
        utf8(target_dir),
    ];
    for name in names {
        args.extend(["--target-name", name]);
    }
    args.push("download");
    run_client(&args)
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn client_binary_refreshes_and_downloads_from_a_tough_repository() {
    let repo = build();
    let server = TestServer::serve(&repo.served()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let metadata_dir = work.path().join("metadata");
    let target_dir = work.path().join("targets");
    init_client(&repo, &metadata_dir);

    let out = run_client(&[
        "--metadata-dir",
        utf8(&metadata_dir),
        "--metadata-url",
        &server.url("metadata"),
        "refresh",
    ]);
    assert!(out.status.success(), "refresh: {out:?}");
    let requests = server.requests();
    for path in [
        "/metadata/2.root.json",
        "/metadata/timestamp.json",
        "/metadata/1.snapshot.json",
        "/metadata/1.targets.json",
    ] {
        assert!(
            requests.iter().any(|r| r == path),
            "{path} not in {requests:?}"
        );
    }

    // The top-level target and the delegated one (found through `apps`, §5.6.7).
    let out = download(&server, &metadata_dir, &target_dir, &[TOP, DELEGATED]);
    assert!(out.status.success(), "download: {out:?}");
    for name in [TOP, DELEGATED] {
        assert_eq!(
            fs::read(target_dir.join(name)).unwrap(),
            repo.bytes_of(name),
            "{name}"
        );
    }
    assert!(server
        .requests()
        .iter()
        .any(|r| r == "/metadata/1.apps.json"));
}

#[test]
fn a_target_in_a_directory_needs_the_spec_path_tough_does_not_write() {
    let repo = build();
    let server = TestServer::serve(&repo.served()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let metadata_dir = work.path().join("metadata");
    let target_dir = work.path().join("targets");
    init_client(&repo, &metadata_dir);

    // As tough wrote it: tufota asks for targets/images/sim-1/HASH.system.img, gets a 404.
    let out = download(&server, &metadata_dir, &target_dir, &[IN_DIR]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(files_under(&target_dir), Vec::<PathBuf>::new());
    let sha = hex_sha256(repo.bytes_of(IN_DIR));
    let spec_request = format!("/targets/images/sim-1/{sha}.system.img");
    assert!(
        server.requests().contains(&spec_request),
        "{spec_request} not in {:?}",
        server.requests()
    );

    // The same signed metadata, the bytes also at the spec's path: downloaded and verified.
    let spec_path = repo.spec_target_path(IN_DIR);
    fs::create_dir_all(spec_path.parent().unwrap()).unwrap();
    fs::copy(repo.tough_target_path(IN_DIR), &spec_path).unwrap();
    let out = download(&server, &metadata_dir, &target_dir, &[IN_DIR]);
    assert!(out.status.success(), "download: {out:?}");
    // Stored under the target path percent-encoded into one file name.
    let stored = target_dir.join("images%2Fsim-1%2Fsystem.img");
    assert_eq!(fs::read(stored).unwrap(), repo.bytes_of(IN_DIR));
}

#[test]
fn a_target_tampered_after_tough_signed_it_is_refused_and_nothing_is_kept() {
    let repo = build();
    // Same length, one byte changed: only the sha256 tough signed can tell.
    let path = repo.tough_target_path(TOP);
    let mut bytes = fs::read(&path).unwrap();
    bytes[1000] ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    let server = TestServer::serve(&repo.served()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let metadata_dir = work.path().join("metadata");
    let target_dir = work.path().join("targets");
    init_client(&repo, &metadata_dir);

    let out = download(&server, &metadata_dir, &target_dir, &[TOP]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(TOP),
        "stderr does not name the target: {stderr}"
    );
    assert_eq!(files_under(&target_dir), Vec::<PathBuf>::new());
}

#[test]
fn library_updater_reads_the_tough_repository() {
    let repo = build();
    let server = TestServer::serve(&repo.served()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let metadata_dir = work.path().join("metadata");
    let target_dir = work.path().join("targets");
    let mut updater = refreshed_updater(
        &metadata_dir,
        &fs::read(&repo.root).unwrap(),
        &server.url("metadata"),
        &server.url("targets"),
    );
    for name in [TOP, DELEGATED] {
        let info = updater.target_info(name).unwrap().expect(name);
        assert_eq!(info.file.length, repo.bytes_of(name).len() as u64, "{name}");
        assert_eq!(
            info.file.hashes.get("sha256").unwrap(),
            &hex_sha256(repo.bytes_of(name)),
            "{name}"
        );
        let stored = updater.download_target(&info, &target_dir).unwrap();
        assert_eq!(fs::read(stored).unwrap(), repo.bytes_of(name), "{name}");
    }
    // Not listed by tough's targets or its delegation.
    assert!(updater.target_info("apps-unlisted.bin").unwrap().is_none());
}
