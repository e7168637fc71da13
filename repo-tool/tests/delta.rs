//! Delta generation through the real CLI: `repo-tool delta` writes a patch that applies back
//! to the new image; `add --delta-from` publishes delta targets whose custom fields name the
//! exact base and whose bytes, applied on that base, give the full target's signed bytes; bad
//! bases are refused before anything is written.

mod common;

use std::io::Cursor;
use std::path::Path;

use common::*;
use serde_json::{json, Value};
use tufota_client::device::delta::TUFOTA_DELTA_FORMAT;
use tufota_client::metadata::HashAlgorithm;

fn sha256_hex(data: &[u8]) -> String {
    HashAlgorithm::Sha256.hex_digest(data)
}

/// A 256 KiB pseudo-random image (xorshift, so it does not compress by itself).
fn image(seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..256 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// `old` with a few edits: changed bytes, an insertion, a deletion.
fn edited(old: &[u8], tag: u8) -> Vec<u8> {
    let mut new = old.to_vec();
    for i in (1000..new.len()).step_by(9973) {
        new[i] = new[i].wrapping_add(tag);
    }
    new.splice(50_000..50_000, std::iter::repeat_n(tag, 300));
    new.drain(120_000..121_000);
    new
}

fn apply(base: &[u8], patch: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    tufota_delta::apply(&mut Cursor::new(base), patch, &mut out).expect("patch applies");
    out
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The published top-level targets role (timestamp -> snapshot -> targets).
fn published_targets(repo: &Path) -> Value {
    let ts = read_json(&repo.join("metadata/timestamp.json"));
    let sv = ts["signed"]["meta"]["snapshot.json"]["version"]
        .as_u64()
        .unwrap();
    let snap = read_json(&repo.join(format!("metadata/{sv}.snapshot.json")));
    let tv = snap["signed"]["meta"]["targets.json"]["version"]
        .as_u64()
        .unwrap();
    read_json(&repo.join(format!("metadata/{tv}.targets.json")))["signed"]["targets"].clone()
}

/// The published file of a target (consistent snapshots: dir/<sha256>.<basename>).
fn target_bytes(repo: &Path, name: &str, entry: &Value) -> Vec<u8> {
    let sha = entry["hashes"]["sha256"].as_str().unwrap();
    let (dir, base) = name.rsplit_once('/').unwrap();
    let bytes = std::fs::read(repo.join(format!("targets/{dir}/{sha}.{base}"))).unwrap();
    assert_eq!(bytes.len() as u64, entry["length"].as_u64().unwrap());
    assert_eq!(sha256_hex(&bytes), sha);
    bytes
}

const FULL_FLAGS: [&str; 12] = [
    "--device-model",
    "sim-1",
    "--component",
    "system",
    "--build",
    "b42",
    "--security-version",
    "3",
    "--rollout-percent",
    "25",
    "--rollout-start",
    "2026-04-05T00:00:00Z",
];

#[test]
fn delta_command_writes_a_patch_that_applies_to_new() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let old = image(7);
    let new = edited(&old, 5);
    std::fs::write(d.join("old.img"), &old).unwrap();
    std::fs::write(d.join("new.img"), &new).unwrap();
    let patch_path = d.join("new.patch");
    let out = run_ok(&[
        "--json",
        "delta",
        s(&d.join("old.img")),
        s(&d.join("new.img")),
        "-o",
        s(&patch_path),
    ]);
    let report: Value = serde_json::from_str(&out).unwrap();
    let patch = std::fs::read(&patch_path).unwrap();
    assert_eq!(report["patch_bytes"].as_u64().unwrap(), patch.len() as u64);
    assert_eq!(report["new_bytes"].as_u64().unwrap(), new.len() as u64);
    assert!(patch.len() < new.len() / 10, "patch {} bytes", patch.len());
    assert_eq!(apply(&old, &patch), new);
    // No temporary file left next to the patch.
    let names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with(".tmp-")), "{names:?}");

    // Human output: size, percentage of NEW, time.
    let text = run_ok(&[
        "delta",
        s(&d.join("old.img")),
        s(&d.join("new.img")),
        "-o",
        s(&patch_path),
    ]);
    assert!(
        text.contains(&format!("{} bytes", patch.len())) && text.contains('%'),
        "{text}"
    );
    // A missing input is an I/O error (exit 3) naming it, and leaves the patch alone.
    let err = stderr_of(
        &[
            "delta",
            s(&d.join("nope.img")),
            s(&d.join("new.img")),
            "-o",
            s(&patch_path),
        ],
        3,
    );
    assert!(err.contains("nope.img"), "{err}");
    assert_eq!(std::fs::read(&patch_path).unwrap(), patch);
}

#[test]
fn add_delta_from_a_published_target_publishes_a_delta_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (repo, keys) = new_repo(d);
    let r = s(&repo);
    let v10 = image(11);
    let v11 = edited(&v10, 3);
    std::fs::write(d.join("v10.img"), &v10).unwrap();
    std::fs::write(d.join("v11.img"), &v11).unwrap();
    let base_name = "sim-1/system/1.0/full.img";
    let full_name = "sim-1/system/1.1/full.img";
    run_ok(&with(
        &[
            "add",
            r,
            s(&d.join("v10.img")),
            "--name",
            base_name,
            "--version",
            "1.0",
        ],
        &FULL_FLAGS,
    ));
    run_ok(&with(&["publish", r, "--key"], &keys.online()));
    run_ok(&with(
        &[
            "add",
            r,
            s(&d.join("v11.img")),
            "--name",
            full_name,
            "--version",
            "1.1",
            "--delta-from",
            base_name,
        ],
        &FULL_FLAGS,
    ));
    run_ok(&with(&["publish", r, "--key"], &keys.online()));
    run_ok(&["verify", r]);

    let targets = published_targets(&repo);
    let delta_name = "sim-1/system/1.1/full.img.from-1.0.delta";
    let full = &targets[full_name];
    let delta = &targets[delta_name];
    assert_eq!(
        delta["custom"],
        json!({
            "device_model": ["sim-1"],
            "component": "system",
            "version": "1.1",
            "build": "b42",
            "security_version": 3,
            "rollout": {"percent": 25, "start": "2026-04-05T00:00:00Z"},
            "type": "delta",
            "delta": {
                "from_version": "1.0",
                "from_sha256": sha256_hex(&v10),
                "format": TUFOTA_DELTA_FORMAT,
                "to": full_name,
            },
        })
    );
    // The full target is added as without --delta-from.
    assert!(full["custom"].get("type").is_none(), "{full}");
    assert_eq!(full["custom"]["version"], "1.1");
    let patch = target_bytes(&repo, delta_name, delta);
    let result = apply(&v10, &patch);
    assert_eq!(
        sha256_hex(&result),
        full["hashes"]["sha256"].as_str().unwrap()
    );
    assert_eq!(result, target_bytes(&repo, full_name, full));
    assert!(patch.len() < v11.len() / 10, "patch {} bytes", patch.len());
    // The patch temporary files are gone from staged/.
    let staged: Vec<String> = std::fs::read_dir(repo.join("staged"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!staged.iter().any(|n| n.starts_with(".tmp-")), "{staged:?}");
}

#[test]
fn add_delta_from_a_file_with_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (repo, keys) = new_repo(d);
    let r = s(&repo);
    let v09 = image(23);
    let v10 = image(29);
    let v11 = edited(&v10, 9);
    for (name, bytes) in [("v09.img", &v09), ("v10.img", &v10), ("v11.img", &v11)] {
        std::fs::write(d.join(name), bytes).unwrap();
    }
    let full_name = "sim-1/system/1.1/full.img";
    let from09 = format!("{}=0.9", s(&d.join("v09.img")));
    let from10 = format!("{}=1.0", s(&d.join("v10.img")));
    let out = run_ok(&[
        "--json",
        "add",
        r,
        s(&d.join("v11.img")),
        "--name",
        full_name,
        "--version",
        "1.1",
        "--copy",
        "--delta-from",
        &from09,
        &from10,
    ]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["added"], 3, "{report}");
    run_ok(&with(&["publish", r, "--key"], &keys.online()));
    run_ok(&["verify", r]);
    let targets = published_targets(&repo);
    let full = &targets[full_name];
    for (version, base) in [("0.9", &v09), ("1.0", &v10)] {
        let name = format!("{full_name}.from-{version}.delta");
        let delta = &targets[name.as_str()];
        assert_eq!(
            delta["custom"],
            json!({
                "version": "1.1",
                "type": "delta",
                "delta": {
                    "from_version": version,
                    "from_sha256": sha256_hex(base),
                    "format": TUFOTA_DELTA_FORMAT,
                    "to": full_name,
                },
            })
        );
        let result = apply(base, &target_bytes(&repo, &name, delta));
        assert_eq!(
            sha256_hex(&result),
            full["hashes"]["sha256"].as_str().unwrap()
        );
    }
}

#[test]
fn bad_delta_bases_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (repo, keys) = new_repo(d);
    let r = s(&repo);
    let v10 = image(31);
    let v11 = edited(&v10, 4);
    std::fs::write(d.join("v10.img"), &v10).unwrap();
    std::fs::write(d.join("v11.img"), &v11).unwrap();
    // Two published bases: one with a version, one without.
    run_ok(&[
        "add",
        r,
        s(&d.join("v10.img")),
        "--name",
        "sim-1/system/1.0/full.img",
        "--version",
        "1.0",
        "--copy",
    ]);
    run_ok(&[
        "add",
        r,
        s(&d.join("v10.img")),
        "--name",
        "sim-1/system/unversioned.img",
        "--copy",
    ]);
    run_ok(&with(&["publish", r, "--key"], &keys.online()));
    let drafts_before: Vec<_> = std::fs::read_dir(repo.join("staged"))
        .map(|rd| rd.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    let add_from = |base: &str| {
        vec![
            "add".to_string(),
            r.to_string(),
            s(&d.join("v11.img")).to_string(),
            "--name".into(),
            "sim-1/system/1.1/full.img".into(),
            "--version".into(),
            "1.1".into(),
            "--delta-from".into(),
            base.to_string(),
        ]
    };
    let refused = |args: Vec<String>, code: i32, expect: &str| {
        let before = published_tree(&repo);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = stderr_of(&argv, code);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_eq!(
            published_tree(&repo),
            before,
            "{args:?} changed the repository"
        );
        let drafts: Vec<_> = std::fs::read_dir(repo.join("staged"))
            .map(|rd| rd.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert_eq!(drafts, drafts_before, "{args:?} left drafts");
    };

    refused(add_from("sim-1/system/0.9/full.img"), 1, "no role lists");
    refused(
        add_from("sim-1/system/unversioned.img"),
        1,
        "no custom.version",
    );
    // A FILE=VERSION whose file does not exist is read as a target name, and refused.
    refused(
        add_from(&format!("{}=0.9", s(&d.join("missing.img")))),
        1,
        "no role lists",
    );
    // Several files with --delta-from: a usage error.
    let two = vec![
        "add".to_string(),
        r.to_string(),
        format!("{}=sim-1/system/1.1/full.img", s(&d.join("v11.img"))),
        format!("{}=sim-1/system/x.img", s(&d.join("v10.img"))),
        "--delta-from".into(),
        "sim-1/system/1.0/full.img".into(),
    ];
    refused(two, 2, "exactly one file");

    // Two bases of the same version would make two deltas of one name.
    let mut same = add_from("sim-1/system/1.0/full.img");
    same.push(format!("{}=1.0", s(&d.join("v10.img"))));
    refused(same, 1, "same version");

    // The published base's bytes tampered (a new file renamed over it, as an attacker with
    // write access to targets/ would): refused before diffing.
    let targets = published_targets(&repo);
    let base = &targets["sim-1/system/1.0/full.img"];
    let sha = base["hashes"]["sha256"].as_str().unwrap();
    let file = repo.join(format!("targets/sim-1/system/1.0/{sha}.full.img"));
    let mut tampered = v10.clone();
    tampered[77] ^= 1;
    std::fs::write(d.join("tampered"), &tampered).unwrap();
    std::fs::rename(d.join("tampered"), &file).unwrap();
    refused(
        add_from("sim-1/system/1.0/full.img"),
        1,
        "differs from the metadata",
    );
    // Truncated: refused on length.
    std::fs::write(d.join("short"), &v10[..1000]).unwrap();
    std::fs::rename(d.join("short"), &file).unwrap();
    refused(add_from("sim-1/system/1.0/full.img"), 1, "length");
    // Longer than listed: refused on length too.
    let mut long = v10.clone();
    long.push(0);
    std::fs::write(d.join("long"), &long).unwrap();
    std::fs::rename(d.join("long"), &file).unwrap();
    refused(add_from("sim-1/system/1.0/full.img"), 1, "length (over");
    // With the real bytes back, the same command succeeds.
    std::fs::write(d.join("good"), &v10).unwrap();
    std::fs::rename(d.join("good"), &file).unwrap();
    let args = add_from("sim-1/system/1.0/full.img");
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(&argv);
}
