//! External signers (`--key cmd:PUBLIC_KEY_FILE:PROGRAM ARG…`) with the README's openssl
//! examples, run for real: `openssl pkeyutl` signs timestamp (ed25519) and snapshot (ecdsa)
//! while repo-tool never sees those private keys.

mod common;

use std::process::Command;

use common::*;

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn openssl_pkeyutl_signs_as_an_external_signer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ed = d.join("ts-hsm.pem");
    let ec = d.join("snap-hsm.pem");
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", s(&ed)]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        s(&ec),
    ]);
    // Public key files: TUF JSON from `key show --json`, and PEM SPKI from openssl.
    let ed_pub = d.join("ts.pub.json");
    std::fs::write(&ed_pub, run_ok(&["--json", "key", "show", s(&ed)])).unwrap();
    let ec_pub = d.join("snap.pub.pem");
    openssl(&["pkey", "-in", s(&ec), "-pubout", "-out", s(&ec_pub)]);

    let ts_signer = format!(
        "cmd:{}:openssl pkeyutl -sign -inkey {} -rawin -in /dev/stdin",
        s(&ed_pub),
        s(&ed)
    );
    let snap_signer = format!(
        "cmd:{}:openssl pkeyutl -sign -inkey {} -rawin -digest sha256 -in /dev/stdin",
        s(&ec_pub),
        s(&ec)
    );
    // The same key id whether read from the private key, the JSON or the signer spec.
    let id_of = |k: &str| -> String {
        let v: serde_json::Value =
            serde_json::from_str(&run_ok(&["--json", "key", "show", k])).unwrap();
        v["keyid"].as_str().unwrap().to_string()
    };
    assert_eq!(id_of(s(&ed)), id_of(&ts_signer));
    assert_eq!(id_of(s(&ec)), id_of(s(&ec_pub)));

    let root = key(d, "root", "ed25519");
    let targets = key(d, "targets", "ed25519");
    let repo = d.join("repo");
    let r = s(&repo);
    run_ok(&[
        "init",
        r,
        "--root-key",
        &root.0,
        "--targets-key",
        &targets.0,
        "--snapshot-key",
        &snap_signer,
        "--timestamp-key",
        &ts_signer,
    ]);
    assert!(repo.join("metadata/timestamp.json").is_file());
    run_ok(&["verify", r]);
    std::fs::write(d.join("fw.bin"), b"firmware").unwrap();
    run_ok(&["add", r, s(&d.join("fw.bin")), "--name", "fw.bin"]);
    run_ok(&["publish", r, "--key", &targets.0, &snap_signer, &ts_signer]);
    run_ok(&[
        "refresh",
        r,
        "--role",
        "snapshot",
        "--key",
        &snap_signer,
        &ts_signer,
    ]);
    run_ok(&["verify", r]);

    // A program that signs with another key is caught before anything is written.
    let other = d.join("other.pem");
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", s(&other)]);
    let before = published_tree(&repo);
    let wrong = format!(
        "cmd:{}:openssl pkeyutl -sign -inkey {} -rawin -in /dev/stdin",
        s(&ed_pub),
        s(&other)
    );
    let err = stderr_of(&["refresh", r, "--role", "timestamp", "--key", &wrong], 4);
    assert!(err.contains("does not verify"), "{err}");
    assert_eq!(published_tree(&repo), before);
}
