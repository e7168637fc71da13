//! Issue #7's attack suite: every attack and fault tufota claims to meet (TUF spec §1.5.2
//! and the device-side ones of DESIGN.md), mounted against the real `tufota-client` binary
//! over loopback. The repository is a signed [`TestRepo`] served by the real HTTP
//! [`TestServer`] on 127.0.0.1; attacks on the metadata use the conformance commands
//! (`init`, `refresh`, `download`, exit 1 on failure), attacks on a device use the device
//! commands (`--config device.toml update|check|status|boot|confirm`, files-backend slots).
//!
//! Each test asserts the exact exit status, that stderr is one line naming the refused
//! role or file and why, and that nothing trusted or installed changed: the trusted
//! metadata directory is byte-identical (or holds only newer documents that fully verified
//! before the refusal, named in the test), no target was stored, no slot was armed and the
//! device still boots its factory image. SECURITY.md's table names these tests.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::{assert_unchanged_except, delegate_release_from_two_parents, dir_contents};
use conformance_tests::bin::{repo_tool, tufota_client};
use conformance_tests::http::{Fault, TestServer};
use conformance_tests::repo::{in_days, new_key, TestRepo};
use serde_json::{json, Value};
use tempfile::TempDir;
use tufota_client::metadata::{HashAlgorithm, Signer, Targets};

// ---------------------------------------------------------------------------------------
// Running the binary and reading its answer.

fn run(args: &[&str]) -> Output {
    Command::new(tufota_client())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running tufota-client: {e}"))
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", describe(out));
}

/// Asserts the exit status and that stderr is exactly one line, `tufota-client: ...`,
/// mentioning every needle (case-insensitive). Returns the line.
fn assert_refused(out: &Output, code: i32, needles: &[&str]) -> String {
    assert_exit(out, code);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let line = stderr
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("stderr does not end in a newline: {stderr:?}"));
    assert!(
        !line.contains('\n'),
        "more than one line on stderr: {stderr:?}"
    );
    assert!(line.starts_with("tufota-client: "), "{stderr:?}");
    for needle in needles {
        assert!(
            line.to_lowercase().contains(&needle.to_lowercase()),
            "error {line:?} does not mention {needle:?}"
        );
    }
    line.to_string()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Every regular file below `dir`, relative path to bytes (empty if `dir` does not exist).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn sha256(bytes: &[u8]) -> String {
    HashAlgorithm::Sha256.hex_digest(bytes)
}

/// The URL paths a target is served under: `<sha256>.<base>`, `<sha512>.<base>` (consistent
/// snapshots) and the plain name.
fn target_paths(name: &str, content: &[u8]) -> Vec<String> {
    let (dir, base) = match name.rsplit_once('/') {
        Some((d, b)) => (format!("/targets/{d}/"), b),
        None => ("/targets/".to_string(), name),
    };
    vec![
        format!("{dir}{}.{base}", sha256(content)),
        format!("{dir}{}.{base}", HashAlgorithm::Sha512.hex_digest(content)),
        format!("{dir}{base}"),
    ]
}

/// The `signed.version` of a stored metadata document.
fn version_of(bytes: &[u8]) -> u64 {
    let doc: Value = serde_json::from_slice(bytes).unwrap();
    doc["signed"]["version"].as_u64().unwrap()
}

// ---------------------------------------------------------------------------------------
// Repository attacks: the conformance commands against a served TestRepo.

struct RepoClient {
    /// Holds the repository, the client and the served files until the test ends.
    _tmp: TempDir,
    repo: TestRepo,
    server: TestServer,
    meta_dir: PathBuf,
    target_dir: PathBuf,
}

impl RepoClient {
    /// A published repository, served, and a client initialised (`init`) with its root.
    fn new() -> RepoClient {
        let tmp = tempfile::tempdir().unwrap();
        let repo = TestRepo::new(&tmp.path().join("repo"));
        let server = TestServer::serve(&repo.dir).unwrap();
        let meta_dir = tmp.path().join("client/metadata");
        let target_dir = tmp.path().join("client/targets");
        let root_file = tmp.path().join("initial-root.json");
        fs::write(&root_file, repo.initial_root()).unwrap();
        let out = run(&[
            "--metadata-dir",
            meta_dir.to_str().unwrap(),
            "init",
            root_file.to_str().unwrap(),
        ]);
        assert_exit(&out, 0);
        RepoClient {
            _tmp: tmp,
            repo,
            server,
            meta_dir,
            target_dir,
        }
    }

    fn refresh(&self) -> Output {
        run(&[
            "--metadata-url",
            &self.server.url("metadata"),
            "--metadata-dir",
            self.meta_dir.to_str().unwrap(),
            "refresh",
        ])
    }

    fn download(&self, name: &str) -> Output {
        self.download_all(&[name])
    }

    /// One `download` of every name in turn, in one process.
    fn download_all(&self, names: &[&str]) -> Output {
        let (metadata_url, target_url) = (self.server.url("metadata"), self.server.url("targets"));
        let mut args = vec![
            "--metadata-url",
            &metadata_url,
            "--metadata-dir",
            self.meta_dir.to_str().unwrap(),
        ];
        for name in names {
            args.extend(["--target-name", name]);
        }
        args.extend([
            "--target-base-url",
            &target_url,
            "--target-dir",
            self.target_dir.to_str().unwrap(),
            "download",
        ]);
        run(&args)
    }

    fn trusted(&self) -> BTreeMap<String, Vec<u8>> {
        dir_contents(&self.meta_dir)
    }

    fn stored_targets(&self) -> BTreeMap<String, Vec<u8>> {
        tree(&self.target_dir)
    }

    /// Adds `name` to the top-level targets role and publishes a new release.
    fn publish_target(&mut self, name: &str, content: &[u8]) {
        self.repo.add_target("targets", name, content);
        self.bump("targets");
        self.repo.publish();
    }

    fn bump(&mut self, role: &str) {
        self.repo.targets.get_mut(role).unwrap().version += 1;
    }

    fn requested(&self, needle: &str) -> bool {
        self.server.requests().iter().any(|r| r.contains(needle))
    }
}

/// TUF §1.5.2 "arbitrary software installation": other bytes for a signed target, and
/// targets metadata signed by a key root does not name, are both refused; nothing is
/// stored and the trusted metadata does not move.
#[test]
fn attack_arbitrary_software() {
    let mut env = RepoClient::new();
    let firmware = vec![0x5a; 5000];
    env.publish_target("fw/image.bin", &firmware);
    assert_exit(&env.refresh(), 0);
    let before = env.trusted();

    // The server (or a man in the middle) answers with other bytes of the same length.
    let mut evil = firmware.clone();
    evil[4321] ^= 0xff;
    for path in target_paths("fw/image.bin", &firmware) {
        env.server.set_fault(&path, Fault::Bytes(evil.clone()));
    }
    let out = env.download("fw/image.bin");
    assert_refused(&out, 1, &["fw/image.bin", "sha"]);
    assert!(
        env.stored_targets().is_empty(),
        "{:?}",
        env.stored_targets().keys()
    );
    assert_eq!(env.trusted(), before);
    env.server.clear_faults();

    // Targets metadata listing an attacker's image, signed by the attacker's own key.
    let honest_targets_keys = env.repo.signers["targets"].clone();
    env.repo.signers.insert("targets".into(), vec![new_key()]);
    env.publish_target("fw/evil.bin", b"attacker's firmware");
    let out = env.download("fw/evil.bin");
    assert_refused(&out, 1, &["targets", "signature"]);
    assert!(env.stored_targets().is_empty());
    // Timestamp and snapshot verified (their keys were not the attacker's) before targets
    // was refused; the trusted targets document is the old one.
    assert_unchanged_except(
        &before,
        &env.trusted(),
        &[
            (
                "timestamp.json",
                env.repo.read_metadata_file("timestamp.json"),
            ),
            (
                "snapshot.json",
                env.repo
                    .read_metadata_file(&format!("{}.snapshot.json", env.repo.snapshot.version)),
            ),
        ],
    );
    assert_eq!(env.trusted()["targets.json"], before["targets.json"]);
    env.repo
        .signers
        .insert("targets".into(), honest_targets_keys);
}

/// TUF §1.5.2 "rollback attack": an older timestamp, and a timestamp naming an older
/// snapshot than the one trusted, are refused and leave the trusted metadata as it was.
#[test]
fn attack_rollback() {
    let mut env = RepoClient::new();
    env.repo.publish();
    let old_timestamp = env.repo.read_metadata_file("timestamp.json");
    env.repo.publish();
    assert_exit(&env.refresh(), 0);
    let before = env.trusted();
    assert_eq!(version_of(&before["timestamp.json"]), 3);

    env.server
        .set_fault("/metadata/timestamp.json", Fault::Bytes(old_timestamp));
    let out = env.refresh();
    assert_refused(&out, 1, &["timestamp", "version 2"]);
    assert_eq!(env.trusted(), before);
    env.server.clear_faults();

    // A newer timestamp (the timestamp key is the attacker's) naming snapshot version 1.
    env.repo.snapshot.version = 1;
    env.repo.write_snapshot();
    env.repo.timestamp.version += 1;
    env.repo.write_timestamp();
    let out = env.refresh();
    assert_refused(&out, 1, &["snapshot", "version 1"]);
    assert_eq!(env.trusted(), before);
}

/// TUF §1.5.2 "indefinite freeze attack": metadata past its expiry is refused, whichever
/// role it is, even when its signatures and versions are good.
#[test]
fn attack_indefinite_freeze() {
    let mut env = RepoClient::new();
    assert_exit(&env.refresh(), 0);
    let before = env.trusted();

    // The mirror keeps serving a timestamp whose expiry has passed.
    env.repo
        .set_expires("timestamp", chrono::Utc::now() - chrono::Duration::hours(1));
    env.repo.timestamp.version += 1;
    env.repo.write_timestamp();
    let out = env.refresh();
    assert_refused(&out, 1, &["timestamp", "expired"]);
    assert_eq!(env.trusted(), before);

    // Fresh timestamp and snapshot, but a targets role frozen past its expiry.
    env.repo.set_expires("timestamp", in_days(30));
    env.repo
        .set_expires("targets", chrono::Utc::now() - chrono::Duration::hours(1));
    env.bump("targets");
    env.repo.publish();
    let out = env.refresh();
    assert_refused(&out, 1, &["targets", "expired"]);
    assert_eq!(env.trusted()["targets.json"], before["targets.json"]);
    assert!(env.trusted().keys().all(|k| before.contains_key(k)));
}

/// TUF §1.5.2 "fast-forward attack": a holder of the timestamp key pushes the client to
/// version 1000, so the honest version 2 looks like a rollback. Rotating the timestamp key
/// in root makes the client drop the fast-forwarded copy (§5.3.11) and accept the honest
/// timestamp again; the fast-forwarded copy, signed by the revoked key, stays refused.
#[test]
fn attack_fast_forward() {
    let mut env = RepoClient::new();
    assert_exit(&env.refresh(), 0);

    env.repo.timestamp.version = 1000;
    let forwarded = env.repo.write_timestamp();
    assert_exit(&env.refresh(), 0);
    assert_eq!(version_of(&env.trusted()["timestamp.json"]), 1000);

    // The honest repository carries on at version 2: refused as a rollback, as it must be.
    env.repo.timestamp.version = 2;
    env.repo.write_timestamp();
    assert_refused(&env.refresh(), 1, &["timestamp", "version 2"]);
    assert_eq!(version_of(&env.trusted()["timestamp.json"]), 1000);

    // Recovery: root 2 replaces the timestamp key.
    env.repo.rotate_key("timestamp");
    env.repo.publish_root();
    env.repo.timestamp.version = 3;
    env.repo.write_timestamp();
    assert_exit(&env.refresh(), 0);
    let recovered = env.trusted();
    assert_eq!(version_of(&recovered["root.json"]), 2);
    assert_eq!(version_of(&recovered["timestamp.json"]), 3);

    env.server
        .set_fault("/metadata/timestamp.json", Fault::Bytes(forwarded));
    assert_refused(&env.refresh(), 1, &["timestamp", "signature"]);
    assert_eq!(env.trusted(), recovered);
}

/// TUF §1.5.2 "mix-and-match attack": a snapshot that is not the one the timestamp names
/// (by hash), and a targets document that is not the one the snapshot names, are refused.
#[test]
fn attack_mix_and_match() {
    let mut env = RepoClient::new();
    env.publish_target("fw/a.bin", b"release 2");
    assert_exit(&env.refresh(), 0);
    let before = env.trusted();
    let old_snapshot = env.repo.read_metadata_file("2.snapshot.json");
    let old_targets = env.repo.read_metadata_file("2.targets.json");
    env.publish_target("fw/b.bin", b"release 3");

    // Release 3's timestamp with release 2's snapshot served under its name.
    env.server
        .set_fault("/metadata/3.snapshot.json", Fault::Bytes(old_snapshot));
    let out = env.refresh();
    assert_refused(&out, 1, &["snapshot", "timestamp says"]);
    let new_timestamp = env.repo.read_metadata_file("timestamp.json");
    // The timestamp verified on its own before its snapshot was refused.
    assert_unchanged_except(
        &before,
        &env.trusted(),
        &[("timestamp.json", new_timestamp.clone())],
    );
    assert_eq!(env.trusted()["snapshot.json"], before["snapshot.json"]);
    env.server.clear_faults();

    // Release 3's snapshot with release 2's targets served under its name.
    env.server
        .set_fault("/metadata/3.targets.json", Fault::Bytes(old_targets));
    let out = env.refresh();
    assert_refused(&out, 1, &["targets", "snapshot says"]);
    let new_snapshot = env.repo.read_metadata_file("3.snapshot.json");
    assert_unchanged_except(
        &before,
        &env.trusted(),
        &[
            ("timestamp.json", new_timestamp),
            ("snapshot.json", new_snapshot),
        ],
    );
    assert_eq!(env.trusted()["targets.json"], before["targets.json"]);
}

/// TUF §1.5.2 "endless data attack": an endless metadata body is cut at the role's limit
/// and an endless target at its signed length; nothing is stored.
#[test]
fn attack_endless_data() {
    let mut env = RepoClient::new();
    let firmware = vec![7u8; 5000];
    env.publish_target("fw/image.bin", &firmware);
    assert_exit(&env.refresh(), 0);
    let before = env.trusted();

    env.server
        .set_fault("/metadata/timestamp.json", Fault::Endless);
    assert_refused(&env.refresh(), 1, &["timestamp", "16384"]);
    assert_eq!(env.trusted(), before);
    env.server.clear_faults();

    for path in target_paths("fw/image.bin", &firmware) {
        env.server.set_fault(&path, Fault::Endless);
    }
    assert_refused(&env.download("fw/image.bin"), 1, &["fw/image.bin", "5000"]);
    assert!(env.stored_targets().is_empty());
    assert_eq!(env.trusted(), before);
}

/// TUF §1.5.2 "slow retrieval attack": a body trickled below the minimum average speed
/// (1024 bytes/s after the binary's 10 s grace) is abandoned.
#[test]
fn attack_slow_retrieval() {
    let mut env = RepoClient::new();
    env.repo.publish();
    let before = env.trusted();
    // The real timestamp, padded so the trickle (about 200 bytes/s) outlasts the grace.
    let mut body = env.repo.read_metadata_file("timestamp.json");
    body.resize(6000, b' ');
    env.server.set_fault(
        "/metadata/timestamp.json",
        Fault::Trickle {
            interval: Duration::from_millis(5),
            body: Some(body),
        },
    );
    assert_refused(&env.refresh(), 1, &["timestamp", "slow retrieval"]);
    assert_eq!(env.trusted(), before);
}

/// TUF §1.5.2 "extraneous dependencies attack": the client fetches only the delegated
/// roles on the search path of the target it wants — never a sibling role, never a role
/// snapshot lists that nobody delegates to — so a role whose `paths` do not cover a
/// target cannot supply it; and a delegated role must be signed by the keys its
/// delegator names.
#[test]
fn attack_extraneous_dependencies() {
    let mut env = RepoClient::new();
    env.repo.delegate("targets", "role-a", &["a/*"], false);
    env.repo.delegate("targets", "role-b", &["b/*"], false);
    env.repo.add_target("role-a", "a/x.bin", b"x from role-a");
    env.repo.add_target("role-b", "b/y.bin", b"y from role-b");
    // role-b lists a target outside its paths; an undelegated role lists it too.
    env.repo.add_target("role-b", "a/evil.bin", b"evil");
    env.repo
        .targets
        .insert("orphan".into(), Targets::new(in_days(30)));
    env.repo.signers.insert("orphan".into(), vec![new_key()]);
    env.repo.add_target("orphan", "a/evil.bin", b"evil");
    env.bump("targets");
    env.repo.publish();
    // The publisher's check names the one target no search can reach where it is listed.
    let report = repo_tool::verify::verify(&env.repo.dir, None, chrono::Utc::now());
    let outside: Vec<&String> = report
        .problems
        .iter()
        .filter(|p| p.contains("outside the paths"))
        .collect();
    assert_eq!(
        outside,
        ["role-b: target \"a/evil.bin\" is outside the paths delegated to role-b (by targets); devices will not find it"],
        "{:?}",
        report.problems
    );

    env.server.clear_requests();
    assert_exit(&env.download("a/x.bin"), 0);
    assert!(env.requested("role-a.json"), "{:?}", env.server.requests());
    assert!(!env.requested("role-b"), "{:?}", env.server.requests());
    assert!(!env.requested("orphan"), "{:?}", env.server.requests());
    let stored = env.stored_targets();
    // The conformance protocol stores a target under its percent-encoded name.
    assert_eq!(stored.keys().collect::<Vec<_>>(), ["a%2Fx.bin"]);

    let out = env.download("a/evil.bin");
    assert_refused(&out, 1, &["a/evil.bin", "not in the trusted targets"]);
    assert!(!env.requested("role-b"), "{:?}", env.server.requests());
    assert!(!env.requested("orphan"), "{:?}", env.server.requests());
    assert!(!env.requested("evil"), "{:?}", env.server.requests());
    assert_eq!(env.stored_targets(), stored);

    // role-a's next version signed by a key targets does not name for it.
    let before = env.trusted();
    env.repo.signers.insert("role-a".into(), vec![new_key()]);
    env.repo.add_target("role-a", "a/z.bin", b"z");
    env.bump("role-a");
    env.repo.publish();
    let out = env.download("a/z.bin");
    assert_refused(&out, 1, &["role-a", "signature"]);
    assert_eq!(env.stored_targets(), stored);
    assert_unchanged_except(
        &before,
        &env.trusted(),
        &[
            (
                "timestamp.json",
                env.repo.read_metadata_file("timestamp.json"),
            ),
            (
                "snapshot.json",
                env.repo
                    .read_metadata_file(&format!("{}.snapshot.json", env.repo.snapshot.version)),
            ),
        ],
    );
    assert_eq!(env.trusted()["role-a.json"], before["role-a.json"]);
}

/// Extraneous dependencies through a shared role name: "release" is delegated by parent-a
/// (team-a/*) and by parent-b (team-b/*), each naming its own key for it, and is signed with
/// parent-a's only. One `download` of a team-a and a team-b target, in one process, stores
/// the first and refuses the second — the copy verified for parent-a does not carry its
/// authority to parent-b — and `repo-tool verify` reports the flaw to the publisher.
#[test]
fn attack_role_shared_by_two_delegators() {
    let mut env = RepoClient::new();
    delegate_release_from_two_parents(&mut env.repo);
    env.bump("targets");
    env.repo.publish();

    let out = env.download_all(&["team-a/fw.bin", "team-b/fw.bin"]);
    assert_refused(&out, 1, &["release", "parent-b", "signature"]);
    let stored = env.stored_targets();
    assert_eq!(stored.keys().collect::<Vec<_>>(), ["team-a%2Ffw.bin"]);
    assert_eq!(stored["team-a%2Ffw.bin"], b"trusted A");
    // What verified stays; the refusal adds nothing. On its own, team-b is refused the same
    // way, from the stored copy of "release" and from the mirror alike.
    let before = env.trusted();
    assert_refused(
        &env.download("team-b/fw.bin"),
        1,
        &["release", "parent-b", "signature"],
    );
    assert_eq!(env.trusted(), before);
    assert_eq!(env.stored_targets(), stored);

    let report = repo_tool::verify::verify(&env.repo.dir, None, chrono::Utc::now());
    let flagged: Vec<&String> = report
        .problems
        .iter()
        .filter(|p| p.contains("release") && p.contains("parent-b"))
        .collect();
    assert_eq!(flagged.len(), 1, "{:?}", report.problems);
}

/// Adds a second key to `role` in root and raises its threshold to 2; returns the new key.
fn second_key_threshold_two(repo: &mut TestRepo, role: &str) -> conformance_tests::repo::Key {
    let key = new_key();
    repo.root
        .keys
        .insert(key.keyid().to_string(), key.key().clone());
    let keys = repo.root.roles.get_mut(role).unwrap();
    keys.keyids.push(key.keyid().to_string());
    keys.threshold = 2;
    repo.signers.get_mut(role).unwrap().push(key.clone());
    key
}

/// TUF §1.5.2 "compromised keys": with a threshold of 2 for timestamp and for targets, an
/// attacker holding one key of each signs documents that are refused.
#[test]
fn attack_compromise_of_keys_below_threshold() {
    let mut env = RepoClient::new();
    let timestamp_key = second_key_threshold_two(&mut env.repo, "timestamp");
    let targets_key = second_key_threshold_two(&mut env.repo, "targets");
    env.repo.publish_root();
    env.bump("targets");
    env.repo.publish();
    assert_exit(&env.refresh(), 0);
    let before = env.trusted();

    // One timestamp key of two.
    let honest = env.repo.signers["timestamp"].clone();
    env.repo
        .signers
        .insert("timestamp".into(), vec![timestamp_key]);
    env.repo.timestamp.version += 1;
    env.repo.write_timestamp();
    assert_refused(&env.refresh(), 1, &["timestamp", "threshold"]);
    assert_eq!(env.trusted(), before);
    env.repo.signers.insert("timestamp".into(), honest);

    // One targets key of two, listing the attacker's image.
    env.repo.signers.insert("targets".into(), vec![targets_key]);
    env.publish_target("fw/evil.bin", b"attacker's firmware");
    assert_refused(&env.download("fw/evil.bin"), 1, &["targets", "threshold"]);
    assert!(env.stored_targets().is_empty());
    assert_unchanged_except(
        &before,
        &env.trusted(),
        &[
            (
                "timestamp.json",
                env.repo.read_metadata_file("timestamp.json"),
            ),
            (
                "snapshot.json",
                env.repo
                    .read_metadata_file(&format!("{}.snapshot.json", env.repo.snapshot.version)),
            ),
        ],
    );
    assert_eq!(env.trusted()["targets.json"], before["targets.json"]);
}

/// TUF §1.5.2 "compromised keys" recovered by root rotation (§5.3): once the client has
/// root 2, which replaces the compromised timestamp key, a timestamp signed by the old key
/// is refused, however high its version.
#[test]
fn attack_key_revocation_by_root_rotation() {
    let mut env = RepoClient::new();
    assert_exit(&env.refresh(), 0);
    let compromised = env.repo.signers["timestamp"].clone();
    env.repo.rotate_key("timestamp");
    env.repo.publish_root();
    env.repo.publish();
    assert_exit(&env.refresh(), 0);
    let before = env.trusted();
    assert_eq!(version_of(&before["root.json"]), 2);

    let honest = env.repo.signers["timestamp"].clone();
    env.repo.signers.insert("timestamp".into(), compromised);
    env.repo.timestamp.version = 99;
    env.repo.write_timestamp();
    assert_refused(&env.refresh(), 1, &["timestamp", "signature"]);
    assert_eq!(env.trusted(), before);
    env.repo.signers.insert("timestamp".into(), honest);
}

// ---------------------------------------------------------------------------------------
// Device attacks: the device commands on a simulated A/B device (files backend).

const MODEL: &str = "sim-1";
const FULL_NAME: &str = "sim-1/system-2.0.0.img";

struct DeviceEnv {
    tmp: TempDir,
    repo: TestRepo,
    server: TestServer,
    config: PathBuf,
    meta_dir: PathBuf,
    slots: PathBuf,
    factory: Vec<u8>,
}

/// A deterministic pseudo-random image.
fn image(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn full_custom(model: &str, version: &str, security_version: u64) -> Value {
    json!({"device_model": [model], "component": "system", "version": version,
           "type": "full", "security_version": security_version})
}

impl DeviceEnv {
    /// A device of model sim-1 running system 1.0.0 (security version 1) from slot A,
    /// initialised with the repository's root; nothing for it published yet.
    fn new(checkpoint_bytes: u64) -> DeviceEnv {
        let tmp = tempfile::tempdir().unwrap();
        let repo = TestRepo::new(&tmp.path().join("repo"));
        let server = TestServer::serve(&repo.dir).unwrap();
        let meta_dir = tmp.path().join("metadata");
        let slots = tmp.path().join("slots");
        fs::create_dir_all(&slots).unwrap();
        let factory = image(1, 48 * 1024);
        fs::write(slots.join("slot-a.img"), &factory).unwrap();
        let config = tmp.path().join("device.toml");
        fs::write(
            &config,
            format!(
                r#"device_id = "attack-1"
model = "{MODEL}"
metadata_dir = "{meta}"
state_dir = "{state}"
[mirrors]
metadata = "{metadata_url}"
targets = "{targets_url}"
[limits]
checkpoint_bytes = {checkpoint_bytes}
[components.system]
version = "1.0.0"
security_version = 1
[components.system.slots]
backend = "files"
dir = "{slots}"
"#,
                meta = meta_dir.display(),
                state = tmp.path().join("state").display(),
                slots = slots.display(),
                metadata_url = server.url("metadata"),
                targets_url = server.url("targets"),
            ),
        )
        .unwrap();
        let root_file = tmp.path().join("initial-root.json");
        fs::write(&root_file, repo.initial_root()).unwrap();
        assert_exit(
            &run(&[
                "--metadata-dir",
                meta_dir.to_str().unwrap(),
                "init",
                root_file.to_str().unwrap(),
            ]),
            0,
        );
        DeviceEnv {
            tmp,
            repo,
            server,
            config,
            meta_dir,
            slots,
            factory,
        }
    }

    fn add_image(&mut self, name: &str, content: &[u8], custom: Value) {
        self.repo.add_target("targets", name, content);
        let file = self
            .repo
            .targets
            .get_mut("targets")
            .unwrap()
            .targets
            .get_mut(name)
            .unwrap();
        file.custom = Some(custom);
    }

    fn publish(&mut self) {
        self.repo.targets.get_mut("targets").unwrap().version += 1;
        self.repo.publish();
    }

    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["--config", self.config.to_str().unwrap()];
        all.extend(args);
        all
    }

    fn device(&self, args: &[&str]) -> Output {
        run(&self.args(args))
    }

    fn spawn(&self, args: &[&str]) -> Child {
        Command::new(tufota_client())
            .args(self.args(args))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.device(args);
        assert_exit(&out, 0);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn slot(&self, name: &str) -> Option<Vec<u8>> {
        fs::read(self.slots.join(format!("slot-{name}.img"))).ok()
    }

    fn trusted(&self) -> BTreeMap<String, Vec<u8>> {
        dir_contents(&self.meta_dir)
    }

    fn requested(&self, needle: &str) -> bool {
        self.server.requests().iter().any(|r| r.contains(needle))
    }

    /// Nothing armed: no update awaits a boot, the bootloader boots slot A, which still
    /// holds the factory image.
    fn assert_not_armed(&self) {
        let status = self.json(&["status", "--json"]);
        let component = &status["components"][0];
        assert_ne!(component["state"], "pending_boot", "{status}");
        assert_eq!(component["version"], "1.0.0", "{status}");
        assert_eq!(component["active_slot"], "a", "{status}");
        let boot = self.json(&["boot", "--json"]);
        assert_eq!(
            (boot[0][1]["boot"].as_str(), boot[0][1]["slot"].as_str()),
            (Some("active"), Some("a")),
            "{boot}"
        );
        assert_eq!(self.slot("a").as_deref(), Some(&self.factory[..]));
    }

    /// `check` (text) passes over `target` with a line containing `reason`.
    fn assert_passed_over(&self, target: &str, reason: &str) {
        let out = self.device(&["check"]);
        assert_exit(&out, 0);
        let text = stdout(&out);
        let line = format!("passed over {target}: ");
        assert!(
            text.lines()
                .any(|l| l.starts_with(&line) && l.contains(reason)),
            "no {line:?}...{reason:?} in {text}"
        );
    }
}

/// Wrong software: a newer, properly signed image for another device model is passed over
/// and never downloaded.
#[test]
fn attack_wrong_software_other_device_model() {
    let mut env = DeviceEnv::new(16 * 1024);
    let other = image(9, 32 * 1024);
    env.add_image(
        "sim-2/system-2.0.0.img",
        &other,
        full_custom("sim-2", "2.0.0", 3),
    );
    env.publish();

    let out = env.device(&["update"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "system: up to date\n");
    env.assert_passed_over(
        "sim-2/system-2.0.0.img",
        r#"meant for device models ["sim-2"], not this one"#,
    );
    let check = env.json(&["check", "--json"]);
    assert_eq!(check["choices"], json!([]));
    assert_eq!(check["skipped"][0]["reason"], "other_model", "{check}");
    assert!(
        !env.requested("system-2.0.0.img"),
        "{:?}",
        env.server.requests()
    );
    assert_eq!(env.slot("b"), None);
    env.assert_not_armed();
}

/// Image downgrade: a properly signed older version, and a newer version whose
/// `security_version` is below the device's floor, are passed over and never downloaded.
#[test]
fn attack_image_downgrade() {
    let mut env = DeviceEnv::new(16 * 1024);
    env.add_image(
        "sim-1/system-0.9.0.img",
        &image(2, 32 * 1024),
        full_custom(MODEL, "0.9.0", 3),
    );
    env.add_image(
        "sim-1/system-1.5.0.img",
        &image(3, 32 * 1024),
        full_custom(MODEL, "1.5.0", 0),
    );
    env.publish();

    let out = env.device(&["update"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "system: up to date\n");
    env.assert_passed_over(
        "sim-1/system-0.9.0.img",
        "version 0.9.0 is not newer than installed 1.0.0",
    );
    env.assert_passed_over(
        "sim-1/system-1.5.0.img",
        "security_version 0 is below this device's floor 1 (anti-rollback)",
    );
    assert!(
        !env.requested("system-0.9.0"),
        "{:?}",
        env.server.requests()
    );
    assert!(
        !env.requested("system-1.5.0"),
        "{:?}",
        env.server.requests()
    );
    assert_eq!(env.slot("b"), None);
    env.assert_not_armed();
}

/// Malicious mirror: a mirror serving other metadata bytes is refused before any image is
/// fetched (exit 3); serving other image bytes is refused after the download (exit 4). In
/// both cases no slot is armed and the device boots its factory image.
#[test]
fn attack_malicious_mirror() {
    let mut env = DeviceEnv::new(16 * 1024);
    let v2 = image(4, 40 * 1024);
    env.add_image(FULL_NAME, &v2, full_custom(MODEL, "2.0.0", 3));
    env.publish();
    let before = env.trusted();

    let snapshot = format!("/metadata/{}.snapshot.json", env.repo.snapshot.version);
    let mut other = env
        .repo
        .read_metadata_file(&format!("{}.snapshot.json", env.repo.snapshot.version));
    let at = other.len() / 2;
    other[at] ^= 0x01;
    env.server.set_fault(&snapshot, Fault::Bytes(other));
    let out = env.device(&["update"]);
    assert_refused(&out, 3, &["snapshot", "sha256"]);
    assert!(
        !env.requested("system-2.0.0.img"),
        "{:?}",
        env.server.requests()
    );
    assert_unchanged_except(
        &before,
        &env.trusted(),
        &[(
            "timestamp.json",
            env.repo.read_metadata_file("timestamp.json"),
        )],
    );
    assert!(!env.trusted().contains_key("snapshot.json"));
    assert_eq!(env.slot("b"), None);
    env.assert_not_armed();
    env.server.clear_faults();

    let mut tampered = v2.clone();
    tampered[30_000] ^= 0xff;
    for path in target_paths(FULL_NAME, &v2) {
        env.server.set_fault(&path, Fault::Bytes(tampered.clone()));
    }
    let out = env.device(&["update"]);
    assert_refused(&out, 4, &[FULL_NAME, "sha256"]);
    assert_ne!(env.slot("b").as_deref(), Some(&v2[..]));
    let status = env.json(&["status", "--json"]);
    assert_eq!(status["components"][0]["state"], "failed", "{status}");
    env.assert_not_armed();
}

/// Writes a tufota-delta patch from `base` to `result` with the real `repo-tool delta`.
fn make_patch(dir: &Path, base: &[u8], result: &[u8]) -> Vec<u8> {
    let (old, new, patch) = (dir.join("old"), dir.join("new"), dir.join("patch"));
    fs::write(&old, base).unwrap();
    fs::write(&new, result).unwrap();
    let out = Command::new(repo_tool())
        .arg("delta")
        .args([&old, &new])
        .arg("-o")
        .arg(&patch)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    fs::read(patch).unwrap()
}

fn delta_custom(from_sha256: &str) -> Value {
    json!({"device_model": [MODEL], "component": "system", "version": "2.0.0",
           "type": "delta", "security_version": 3,
           "delta": {"from_version": "1.0.0", "from_sha256": from_sha256,
                     "format": "tufota-delta-1", "to": FULL_NAME}})
}

/// Delta base mismatch: a delta whose signed base is not the active slot's image is never
/// fetched (the full image is installed instead); a delta that claims the active slot's
/// image as its base but was made against another one is refused when applied (exit 4),
/// and nothing is armed.
#[test]
fn attack_delta_base_mismatch() {
    let other_base = image(5, 48 * 1024);
    let delta_name = "sim-1/system-2.0.0.img.from-1.0.0.delta";

    // The signed base hash is another image's.
    let mut env = DeviceEnv::new(16 * 1024);
    let mut v2 = env.factory.clone();
    v2[10_000..12_000].copy_from_slice(&image(6, 2000));
    let patch = make_patch(env.tmp.path(), &other_base, &v2);
    env.add_image(FULL_NAME, &v2, full_custom(MODEL, "2.0.0", 3));
    env.add_image(delta_name, &patch, delta_custom(&sha256(&other_base)));
    env.publish();
    env.assert_passed_over(
        delta_name,
        &format!(
            "delta base {} is not the image in the active slot",
            sha256(&other_base)
        ),
    );
    let out = env.device(&["update"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        "system: 2.0.0 written to slot b; reboot, then confirm\n"
    );
    assert!(!env.requested(".delta"), "{:?}", env.server.requests());
    assert_eq!(env.slot("b").as_deref(), Some(&v2[..]));

    // The signed base hash is the active slot's, the patch was made against another image.
    let mut env = DeviceEnv::new(16 * 1024);
    let mut v2 = env.factory.clone();
    v2[10_000..12_000].copy_from_slice(&image(6, 2000));
    let patch = make_patch(env.tmp.path(), &other_base, &v2);
    env.add_image(FULL_NAME, &v2, full_custom(MODEL, "2.0.0", 3));
    env.add_image(delta_name, &patch, delta_custom(&sha256(&env.factory)));
    env.publish();
    let out = env.device(&["update"]);
    assert_refused(&out, 4, &[delta_name, "base"]);
    assert!(env.requested(".delta"), "{:?}", env.server.requests());
    assert_ne!(env.slot("b").as_deref(), Some(&v2[..]));
    env.assert_not_armed();
}

/// Polls (no timing assumptions) until `ready` holds; fails if the child exits first.
fn wait_until(child: &mut Child, what: &str, mut ready: impl FnMut() -> bool) {
    loop {
        if ready() {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("update ended ({status}) before {what}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `durable_bytes` of the component's journal, if it is downloading.
fn durable_bytes(state_dir: &Path) -> Option<u64> {
    let text = fs::read(state_dir.join("components/system/journal.json")).ok()?;
    let journal: Value = serde_json::from_slice(&text).ok()?;
    fn find(v: &Value) -> Option<u64> {
        match v {
            Value::Object(map) => map
                .get("durable_bytes")
                .and_then(Value::as_u64)
                .or_else(|| map.values().find_map(find)),
            Value::Array(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    find(&journal)
}

/// Power loss: the real `update` process is killed with SIGKILL while it refreshes
/// metadata, a quarter into the image download and three quarters into it (the server
/// trickles the bytes so the kill lands there). After every kill the device boots its
/// factory image from slot A, nothing is armed, and every trusted metadata file is a whole
/// document the repository published. Then an undisturbed run completes the update, the
/// new slot boots and is confirmed.
#[test]
fn attack_power_loss() {
    let mut env = DeviceEnv::new(4096);
    let v2 = image(7, 32 * 1024);
    env.add_image(FULL_NAME, &v2, full_custom(MODEL, "2.0.0", 3));
    env.publish();
    let state_dir = env.tmp.path().join("state");
    let published: BTreeSet<Vec<u8>> = tree(&env.repo.metadata_dir()).into_values().collect();
    let trickle = Fault::Trickle {
        interval: Duration::from_micros(100),
        body: None,
    };
    let assert_intact = |env: &DeviceEnv| {
        env.assert_not_armed();
        for (name, bytes) in env.trusted() {
            assert!(
                published.contains(&bytes),
                "{name} is not a published document"
            );
        }
    };

    // 1. During the metadata refresh.
    env.server
        .set_fault("/metadata/timestamp.json", trickle.clone());
    let mut child = env.spawn(&["update"]);
    wait_until(&mut child, "timestamp was requested", || {
        env.requested("timestamp.json")
    });
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(9));
    assert_intact(&env);
    env.server.clear_faults();

    // 2. and 3. During the download, after a quarter and after three quarters.
    for path in target_paths(FULL_NAME, &v2) {
        env.server.set_fault(&path, trickle.clone());
    }
    for point in [v2.len() as u64 / 4, v2.len() as u64 * 3 / 4] {
        let mut child = env.spawn(&["update"]);
        wait_until(&mut child, "the download passed the kill point", || {
            durable_bytes(&state_dir).is_some_and(|n| n >= point)
        });
        child.kill().unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(9));
        assert_intact(&env);
    }
    env.server.clear_faults();

    let out = env.device(&["update"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        "system: 2.0.0 written to slot b; reboot, then confirm\n"
    );
    assert_eq!(env.slot("b").as_deref(), Some(&v2[..]));
    let boot = env.json(&["boot", "--json"]);
    assert_eq!(
        (boot[0][1]["boot"].as_str(), boot[0][1]["slot"].as_str()),
        (Some("trial"), Some("b")),
        "{boot}"
    );
    assert_exit(&env.device(&["confirm"]), 0);
    let status = env.json(&["status", "--json"]);
    let component = &status["components"][0];
    assert_eq!(component["version"], "2.0.0", "{status}");
    assert_eq!(component["active_slot"], "b", "{status}");
}
