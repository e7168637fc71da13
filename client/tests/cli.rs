//! The `tufota-client` binary as the TUF conformance suite drives it (CLIENT-CLI.md): real
//! process, real HTTP server on 127.0.0.1, exit status 0 on success and exactly 1 on any
//! failure, one line on stderr.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use conformance_tests::http::{Fault, TestServer};
use conformance_tests::repo::TestRepo;

const BIN: &str = env!("CARGO_BIN_EXE_tufota-client");

struct Env {
    _tmp: tempfile::TempDir,
    repo: TestRepo,
    server: TestServer,
    root_file: PathBuf,
    meta_dir: PathBuf,
    target_dir: PathBuf,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    repo.add_target("targets", "fw/a.bin", b"image a");
    repo.add_target("targets", "b.txt", b"file b");
    repo.targets.get_mut("targets").unwrap().version += 1;
    repo.publish();
    let server = TestServer::serve(&repo.dir).unwrap();
    let root_file = tmp.path().join("initial_root.json");
    fs::write(&root_file, repo.initial_root()).unwrap();
    Env {
        meta_dir: tmp.path().join("metadata"),
        target_dir: tmp.path().join("targets"),
        root_file,
        repo,
        server,
        _tmp: tmp,
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run tufota-client")
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Exit status 1 and exactly one non-empty line on stderr.
fn assert_fails(out: &Output) -> String {
    assert_exit(out, 1);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.lines().count(), 1, "stderr is not one line: {err:?}");
    assert!(err.starts_with("tufota-client: "), "{err:?}");
    err
}

impl Env {
    fn init(&self) -> Output {
        run(&[
            "--metadata-dir",
            p(&self.meta_dir),
            "init",
            p(&self.root_file),
        ])
    }

    fn refresh(&self) -> Output {
        run(&[
            "--metadata-url",
            &self.server.url("metadata"),
            "--metadata-dir",
            p(&self.meta_dir),
            "refresh",
        ])
    }

    fn download(&self, names: &[&str]) -> Output {
        let mut args = vec![
            "--metadata-url".to_string(),
            self.server.url("metadata"),
            "--metadata-dir".to_string(),
            p(&self.meta_dir).to_string(),
        ];
        for n in names {
            args.push("--target-name".into());
            args.push(n.to_string());
        }
        args.extend([
            "--target-base-url".to_string(),
            self.server.url("targets"),
            "--target-dir".to_string(),
            p(&self.target_dir).to_string(),
            "download".to_string(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args)
    }
}

#[test]
fn init_refresh_download() {
    let env = env();
    assert_exit(&env.init(), 0);
    assert!(env.server.requests().is_empty(), "init made a request");
    assert_eq!(
        fs::read(env.meta_dir.join("root.json")).unwrap(),
        env.repo.initial_root()
    );

    assert_exit(&env.refresh(), 0);
    let mut files: Vec<String> = fs::read_dir(&env.meta_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "root.json",
            "snapshot.json",
            "targets.json",
            "timestamp.json"
        ]
    );

    env.server.clear_requests();
    assert_exit(&env.download(&["fw/a.bin", "b.txt"]), 0);
    assert_eq!(
        fs::read(env.target_dir.join("fw%2Fa.bin")).unwrap(),
        b"image a"
    );
    assert_eq!(fs::read(env.target_dir.join("b.txt")).unwrap(), b"file b");
    let target_requests = env
        .server
        .requests()
        .iter()
        .filter(|r| r.starts_with("/targets/"))
        .count();
    assert_eq!(target_requests, 2);

    // Already downloaded and verified: no target request the second time.
    env.server.clear_requests();
    assert_exit(&env.download(&["fw/a.bin"]), 0);
    assert!(env
        .server
        .requests()
        .iter()
        .all(|r| r.starts_with("/metadata/")));
}

#[test]
fn options_may_come_in_any_order() {
    let env = env();
    assert_exit(&env.init(), 0);
    let out = run(&[
        "--target-dir",
        p(&env.target_dir),
        "--target-name",
        "b.txt",
        "--metadata-dir",
        p(&env.meta_dir),
        "--target-base-url",
        &env.server.url("targets"),
        "--metadata-url",
        &env.server.url("metadata"),
        "download",
    ]);
    assert_exit(&out, 0);
}

#[test]
fn argument_errors_exit_1() {
    let env = env();
    assert_fails(&run(&[]));
    assert_fails(&run(&["--no-such-option", "x", "refresh"]));
    assert_fails(&run(&["--metadata-dir", p(&env.meta_dir), "frobnicate"]));
    assert_fails(&run(&["--metadata-dir", p(&env.meta_dir), "init"]));
    // refresh without --metadata-url, download without a target name.
    assert_exit(&env.init(), 0);
    let err = assert_fails(&run(&["--metadata-dir", p(&env.meta_dir), "refresh"]));
    assert!(err.contains("--metadata-url"), "{err}");
    let err = assert_fails(&run(&[
        "--metadata-dir",
        p(&env.meta_dir),
        "--metadata-url",
        &env.server.url("metadata"),
        "--target-dir",
        p(&env.target_dir),
        "--target-base-url",
        &env.server.url("targets"),
        "download",
    ]));
    assert!(err.contains("--target-name"), "{err}");
    let err = assert_fails(&run(&[
        "--metadata-dir",
        p(&env.meta_dir),
        "--metadata-url",
        "not a url",
        "refresh",
    ]));
    assert!(err.contains("--metadata-url"), "{err}");
}

#[test]
fn help_and_version_exit_0() {
    assert_exit(&run(&["--help"]), 0);
    assert_exit(&run(&["--version"]), 0);
}

#[test]
fn init_refuses_a_root_that_does_not_meet_its_threshold() {
    let env = env();
    let mut doc: serde_json::Value = serde_json::from_slice(&env.repo.initial_root()).unwrap();
    doc["signatures"] = serde_json::json!([]);
    fs::write(&env.root_file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let err = assert_fails(&env.init());
    assert!(err.contains("root"), "{err}");
    assert!(!env.meta_dir.join("root.json").exists());
    fs::write(&env.root_file, b"not json").unwrap();
    assert_fails(&env.init());
    assert_fails(&run(&[
        "--metadata-dir",
        p(&env.meta_dir),
        "init",
        "/nonexistent/root.json",
    ]));
}

#[test]
fn refresh_without_init_fails() {
    let env = env();
    fs::create_dir_all(&env.meta_dir).unwrap();
    let err = assert_fails(&env.refresh());
    assert!(err.contains("root.json"), "{err}");
}

#[test]
fn refresh_failure_exits_1() {
    let env = env();
    assert_exit(&env.init(), 0);
    env.server
        .set_fault("/metadata/timestamp.json", Fault::Bytes(b"{}".to_vec()));
    let err = assert_fails(&env.refresh());
    assert!(err.contains("timestamp"), "{err}");
}

#[test]
fn download_failures_exit_1() {
    let env = env();
    assert_exit(&env.init(), 0);
    let err = assert_fails(&env.download(&["no/such/target"]));
    assert!(err.contains("no/such/target"), "{err}");

    let sha = &env.repo.targets["targets"].targets["b.txt"].hashes["sha256"];
    env.server.set_fault(
        &format!("/targets/{sha}.b.txt"),
        Fault::Bytes(b"file X".to_vec()),
    );
    let err = assert_fails(&env.download(&["b.txt"]));
    assert!(err.contains("b.txt"), "{err}");
    assert!(!env.target_dir.join("b.txt").exists());
}

#[test]
fn init_takes_an_expired_root_and_refresh_refuses_it() {
    let mut env = env();
    env.repo
        .set_expires("root", chrono::Utc::now() - chrono::Duration::days(1));
    let expired = env.repo.write_root();
    fs::write(&env.root_file, &expired).unwrap();
    // Expiry is judged after the root walk, not at init (a newer root may exist).
    assert_exit(&env.init(), 0);
    let err = assert_fails(&env.refresh());
    assert!(err.contains("root") && err.contains("expired"), "{err}");
    assert_eq!(fs::read(env.meta_dir.join("root.json")).unwrap(), expired);
}
