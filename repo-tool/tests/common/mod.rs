//! Shared by the repo-tool integration tests: run the real binary, make keys, snapshot the
//! published tree.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo_tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_repo-tool"))
        .args(args)
        .output()
        .expect("run repo-tool")
}

/// Runs repo-tool and asserts its exit code; returns stdout.
pub fn run_ok(args: &[&str]) -> String {
    run_code(args, 0)
}

pub fn run_code(args: &[&str], code: i32) -> String {
    let out = repo_tool(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "repo-tool {args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr_of(args: &[&str], code: i32) -> String {
    let out = repo_tool(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "repo-tool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Generates a key; returns (private pem path, public json path).
pub fn key(dir: &Path, name: &str, kind: &str) -> (String, String) {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub.json"));
    run_ok(&[
        "key",
        "generate",
        "--type",
        kind,
        s(&private),
        "--public",
        s(&public),
    ]);
    (s(&private).to_string(), s(&public).to_string())
}

/// Every file under metadata/ and targets/ with its bytes.
pub fn published_tree(repo: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["metadata", "targets"] {
        walk(&repo.join(sub), &mut out);
    }
    out
}

fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.insert(p.clone(), std::fs::read(&p).unwrap());
        }
    }
}

pub struct Keys {
    pub root: Vec<(String, String)>,
    pub targets: (String, String),
    pub snapshot: (String, String),
    pub timestamp: (String, String),
}

/// A published repository: 2-of-3 root (ed25519, ecdsa, ed25519), online keys of both types.
pub fn new_repo(dir: &Path) -> (PathBuf, Keys) {
    let keys = Keys {
        root: vec![
            key(dir, "root1", "ed25519"),
            key(dir, "root2", "ecdsa"),
            key(dir, "root3", "ed25519"),
        ],
        targets: key(dir, "targets", "ed25519"),
        snapshot: key(dir, "snapshot", "ecdsa"),
        timestamp: key(dir, "timestamp", "ed25519"),
    };
    let repo = dir.join("repo");
    run_ok(&[
        "init",
        s(&repo),
        "--root-key",
        &keys.root[0].0,
        &keys.root[1].0,
        &keys.root[2].0,
        "--root-threshold",
        "2",
        "--targets-key",
        &keys.targets.0,
        "--snapshot-key",
        &keys.snapshot.0,
        "--timestamp-key",
        &keys.timestamp.0,
    ]);
    (repo, keys)
}

impl Keys {
    pub fn online(&self) -> Vec<&str> {
        vec![&self.targets.0, &self.snapshot.0, &self.timestamp.0]
    }
}

pub fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}
