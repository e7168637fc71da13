//! The device commands of the `tufota-client` binary against a real signed TUF repository
//! served on 127.0.0.1: init, check, update, boot (simulated bootloader), confirm, status,
//! rollback, with their JSON output and exit codes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use conformance_tests::http::TestServer;
use conformance_tests::repo::TestRepo;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_tufota-client");

struct Env {
    tmp: tempfile::TempDir,
    repo: TestRepo,
    server: TestServer,
    config: PathBuf,
    slots: PathBuf,
    v2: Vec<u8>,
}

fn image(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(seed).wrapping_add(seed))
        .collect()
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    let v2 = image(7, 200_000);
    repo.add_target("targets", "sim-1/system-2.0.0.img", &v2);
    repo.add_target("targets", "sim-1/system-0.9.img", &image(3, 1000));
    let t = repo.targets.get_mut("targets").unwrap();
    t.targets.get_mut("sim-1/system-2.0.0.img").unwrap().custom = Some(json!({
        "device_model": ["sim-1"], "component": "system", "version": "2.0.0",
        "type": "full", "security_version": 3}));
    t.targets.get_mut("sim-1/system-0.9.img").unwrap().custom = Some(json!({
        "device_model": ["sim-1"], "component": "system", "version": "0.9",
        "type": "full", "security_version": 3}));
    t.version += 1;
    repo.publish();
    let server = TestServer::serve(&repo.dir).unwrap();
    let root_file = tmp.path().join("initial_root.json");
    fs::write(&root_file, repo.initial_root()).unwrap();
    let meta = tmp.path().join("metadata");
    let slots = tmp.path().join("slots");
    fs::create_dir_all(&slots).unwrap();
    fs::write(slots.join("slot-a.img"), image(1, 100_000)).unwrap();
    let config = tmp.path().join("device.toml");
    fs::write(
        &config,
        format!(
            r#"device_id = "cli-1"
model = "sim-1"
metadata_dir = "{meta}"
state_dir = "{state}"
report_url = "http://127.0.0.1:1/reports"
[mirrors]
metadata = "{metadata_url}"
targets = "{targets_url}"
[components.system]
version = "1.0.0"
security_version = 1
[components.system.slots]
backend = "files"
dir = "{slots}"
"#,
            meta = meta.display(),
            state = tmp.path().join("state").display(),
            slots = slots.display(),
            metadata_url = server.url("metadata"),
            targets_url = server.url("targets"),
        ),
    )
    .unwrap();
    let out = run(&[
        "--metadata-dir",
        meta.to_str().unwrap(),
        "init",
        root_file.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    Env {
        tmp,
        repo,
        server,
        config,
        slots,
        v2,
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

impl Env {
    fn device(&self, args: &[&str]) -> Output {
        let mut all = vec!["--config", self.config.to_str().unwrap()];
        all.extend(args);
        run(&all)
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.device(args);
        assert_exit(&out, 0);
        serde_json::from_slice(&out.stdout).unwrap()
    }
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

fn stderr_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.starts_with("tufota-client: "), "{err:?}");
    err
}

fn slot(dir: &Path, name: &str) -> Vec<u8> {
    fs::read(dir.join(format!("slot-{name}.img"))).unwrap()
}

#[test]
fn check_update_boot_confirm_status_rollback() {
    let env = env();
    let check = env.json(&["check", "--json"]);
    assert_eq!(check["choices"][0]["name"], "sim-1/system-2.0.0.img");
    assert_eq!(check["skipped"][0]["target"], "sim-1/system-0.9.img");
    assert_eq!(check["skipped"][0]["reason"], "not_newer");

    let out = env.device(&["update"]);
    assert_exit(&out, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("2.0.0 written to slot b"));
    // The report URL does not answer: the line says the reports stay queued.
    assert_eq!(slot(&env.slots, "b"), env.v2);
    // With consistent snapshots the target was fetched under its hash-prefixed name.
    assert!(
        env.server
            .requests()
            .iter()
            .any(|r| r.contains("targets/sim-1/") && r.contains(".system-2.0.0.img")),
        "{:?}",
        env.server.requests()
    );

    let status = env.json(&["status", "--json"]);
    assert_eq!(status["components"][0]["state"], "pending_boot");

    let out = env.device(&["confirm"]);
    assert_exit(&out, 6);
    assert!(stderr_line(&out).contains("reboot into it before confirming"));

    let boot = env.json(&["boot", "--json"]);
    assert_eq!(boot[0][1]["boot"], "trial");
    let confirmed = env.json(&["confirm", "--json"]);
    assert_eq!(confirmed[0][1]["outcome"], "confirmed");

    let status = env.json(&["status", "--json"]);
    let c = &status["components"][0];
    assert_eq!(
        (c["version"].as_str(), c["security_floor"].as_u64()),
        (Some("2.0.0"), Some(3))
    );
    assert_eq!(
        (c["active_slot"].as_str(), c["booted_slot"].as_str()),
        (Some("b"), Some("b"))
    );
    assert_eq!(status["reports_queued"], 1);

    // The factory image's security_version 1 is below the new floor: rollback refused.
    let out = env.device(&["rollback"]);
    assert_exit(&out, 6);
    assert!(stderr_line(&out).contains("below the floor 3"));

    let out = env.device(&["update"]);
    assert_exit(&out, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("system: up to date"));
}

#[test]
fn a_mirror_serving_tampered_bytes_exits_4_and_nothing_is_armed() {
    let env = env();
    // Every name the target is served under gets other bytes of the same length.
    for entry in walk(&env.repo.targets_dir()) {
        if entry.to_string_lossy().ends_with("system-2.0.0.img") {
            let mut bytes = fs::read(&entry).unwrap();
            bytes[1000] ^= 0xff;
            fs::write(&entry, bytes).unwrap();
        }
    }
    let out = env.device(&["update"]);
    assert_exit(&out, 4);
    assert!(stderr_line(&out).contains("refused: sha256"), "{:?}", out);
    let status = env.json(&["status", "--json"]);
    assert_eq!(status["components"][0]["state"], "failed");
    let boot = env.json(&["boot", "--json"]);
    assert_eq!(boot[0][1]["boot"], "active");
    assert_eq!(boot[0][1]["slot"], "a");
}

#[test]
fn configuration_errors_exit_2() {
    let env = env();
    let bad = env.tmp.path().join("bad.toml");
    fs::write(&bad, "device_id = 1\n").unwrap();
    let out = run(&["--config", bad.to_str().unwrap(), "status"]);
    assert_exit(&out, 2);
    assert!(stderr_line(&out).contains("bad.toml"));
    let out = run(&["status"]);
    assert_exit(&out, 1);
    assert!(stderr_line(&out).contains("needs --config"));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
