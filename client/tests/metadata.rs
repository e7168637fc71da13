//! The metadata model against real keys from `openssl genpkey`, thresholds, and malformed
//! input of every kind the foundation issue lists.

use std::collections::BTreeMap;
use std::process::Command;

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use tufota_client::metadata::{
    Key, KeyError, KeyType, KeyVal, MetadataError, PrivateKey, PublicKey, Role, RoleKeys, Root,
    Signed, Signer, Snapshot, Targets, Timestamp,
};

fn openssl_key(args: &[&str]) -> PrivateKey {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.pem");
    let status = Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .arg("-out")
        .arg(&path)
        .status()
        .expect("openssl is installed (.ci/run installs it)");
    assert!(status.success());
    PrivateKey::from_pem(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn openssl_keys() -> Vec<PrivateKey> {
    vec![
        openssl_key(&["-algorithm", "ed25519"]),
        openssl_key(&["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
        openssl_key(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
    ]
}

fn expires() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap()
}

/// A root listing `keys` for every role with the given root threshold.
fn root_with(keys: &[&PrivateKey], keyids: Vec<String>, threshold: u64) -> Root {
    let mut root = Root::new(expires());
    for k in keys {
        root.keys.insert(k.keyid().to_string(), k.key().clone());
    }
    for role in ["root", "timestamp", "snapshot", "targets"] {
        root.roles.insert(
            role.into(),
            RoleKeys {
                keyids: keyids.clone(),
                threshold,
                extra: BTreeMap::new(),
            },
        );
    }
    root
}

fn check_root(doc: &Signed<Root>) -> Result<(), tufota_client::metadata::ThresholdError> {
    let r = doc.signed().role("root").unwrap();
    doc.verify_threshold("root", &doc.signed().keys, &r.keyids, r.threshold)
}

#[test]
fn openssl_keys_of_every_type_sign_documents_that_verify_after_a_round_trip() {
    for key in openssl_keys() {
        let root = root_with(&[&key], vec![key.keyid().into()], 1);
        let mut doc = Signed::new(root).unwrap();
        doc.sign(&key).unwrap();
        let back = Signed::<Root>::from_bytes("root", &doc.to_bytes()).unwrap();
        check_root(&back).unwrap_or_else(|e| panic!("{}: {e}", key.key().keytype));
        assert_eq!(back.canonical_bytes(), doc.canonical_bytes());
    }
}

#[test]
fn public_keys_we_write_are_read_by_openssl() {
    for key in openssl_keys().into_iter().skip(1) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pub.pem");
        std::fs::write(&path, &key.key().keyval.public).unwrap();
        let out = Command::new("openssl")
            .args(["pkey", "-pubin", "-noout", "-in"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// go-tuf signs RSA-PSS with the longest salt the key allows (Go's `PSSSaltLengthAuto`), as
/// OpenSSL does by default; python-tuf, tough and tufota with one as long as the digest. Both
/// verify, on key sizes whose encoded message is a whole number of bytes and on one (2050
/// bits) where it is not; other salt lengths, and a changed message, do not.
#[test]
fn rsa_pss_signatures_with_a_digest_length_or_longest_salt_verify() {
    for bits in ["2048", "2050", "3072"] {
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("k.pem");
        let status = Command::new("openssl")
            .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
            .arg(format!("rsa_keygen_bits:{bits}"))
            .arg("-out")
            .arg(&key_path)
            .status()
            .expect("openssl is installed (.ci/run installs it)");
        assert!(status.success());
        // The public key as go-tuf and python-tuf list it (ring loads no 2050-bit private
        // key, so it comes from openssl rather than from `PrivateKey`).
        let out = Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&key_path)
            .output()
            .unwrap();
        assert!(out.status.success());
        let public = PublicKey::from_key(&Key {
            keytype: "rsa".into(),
            scheme: "rsassa-pss-sha256".into(),
            keyval: KeyVal {
                public: String::from_utf8(out.stdout).unwrap(),
                extra: BTreeMap::new(),
            },
            extra: BTreeMap::new(),
        })
        .unwrap();
        let message = b"{\"signed\":{\"_type\":\"timestamp\"}}";
        let message_path = dir.path().join("m");
        std::fs::write(&message_path, message).unwrap();
        for (salt, verifies) in [("digest", true), ("max", true), ("20", false), ("0", false)] {
            let sig_path = dir.path().join(format!("sig-{salt}"));
            let status = Command::new("openssl")
                .args(["dgst", "-sha256", "-sign"])
                .arg(&key_path)
                .args([
                    "-sigopt",
                    "rsa_padding_mode:pss",
                    "-sigopt",
                    "rsa_mgf1_md:sha256",
                ])
                .arg("-sigopt")
                .arg(format!("rsa_pss_saltlen:{salt}"))
                .arg("-out")
                .arg(&sig_path)
                .arg(&message_path)
                .status()
                .unwrap();
            assert!(status.success());
            let sig = hex::encode(std::fs::read(&sig_path).unwrap());
            assert_eq!(
                public.verify("k", message, &sig).is_ok(),
                verifies,
                "{bits} bits, salt {salt}"
            );
            assert!(
                public.verify("k", b"{}", &sig).is_err(),
                "{bits} bits, salt {salt}: verified another message"
            );
        }
    }
}

#[test]
fn a_flipped_byte_inside_signed_fails_verification() {
    let (key, _) = PrivateKey::generate(KeyType::Ed25519).unwrap();
    let mut doc = Signed::new(root_with(&[&key], vec![key.keyid().into()], 1)).unwrap();
    doc.sign(&key).unwrap();
    let text = String::from_utf8(doc.to_bytes()).unwrap();
    let tampered = text.replace("\"version\": 1", "\"version\": 2");
    assert_ne!(text, tampered);
    let back = Signed::<Root>::from_bytes("root", tampered.as_bytes()).unwrap();
    let err = check_root(&back).unwrap_err();
    assert_eq!((err.valid, err.threshold), (0, 1));
    assert!(err.to_string().contains("root metadata refused"), "{err}");
}

#[test]
fn a_key_listed_twice_counts_once() {
    let (a, _) = PrivateKey::generate(KeyType::Ed25519).unwrap();
    let (b, _) = PrivateKey::generate(KeyType::Ecdsa).unwrap();
    let ids = vec![
        a.keyid().to_string(),
        a.keyid().to_string(),
        b.keyid().to_string(),
    ];
    let mut doc = Signed::new(root_with(&[&a, &b], ids, 2)).unwrap();
    doc.sign(&a).unwrap();
    let err = check_root(&doc).unwrap_err();
    assert_eq!(err.valid, 1);
    doc.sign(&b).unwrap();
    check_root(&doc).unwrap();
}

#[test]
fn a_repeated_signature_is_refused_at_parse() {
    let (a, _) = PrivateKey::generate(KeyType::Ed25519).unwrap();
    let mut doc = Signed::new(root_with(&[&a], vec![a.keyid().into()], 1)).unwrap();
    doc.sign(&a).unwrap();
    let sig = doc.signatures[0].clone();
    doc.signatures.push(sig);
    match Signed::<Root>::from_bytes("root", &doc.to_bytes()) {
        Err(MetadataError::DuplicateSignature { keyid, .. }) => assert_eq!(keyid, a.keyid()),
        other => panic!("expected a duplicate-signature refusal, got {other:?}"),
    }
}

#[test]
fn invalid_empty_or_unknown_extra_signatures_do_not_spoil_a_met_threshold() {
    let (a, _) = PrivateKey::generate(KeyType::Ed25519).unwrap();
    let (b, _) = PrivateKey::generate(KeyType::Ed25519).unwrap();
    let (c, _) = PrivateKey::generate(KeyType::Ecdsa).unwrap();
    let ids = vec![a.keyid().into(), b.keyid().into(), c.keyid().into()];
    let mut doc = Signed::new(root_with(&[&a, &b, &c], ids, 2)).unwrap();
    doc.sign(&a).unwrap();
    doc.sign(&b).unwrap();
    let mut value: Value = serde_json::from_slice(&doc.to_bytes()).unwrap();
    let sigs = value["signatures"].as_array_mut().unwrap();
    sigs.push(json!({"keyid": c.keyid(), "sig": ""}));
    sigs.push(json!({"keyid": "not-a-listed-key", "sig": "00ff"}));
    let back = Signed::<Root>::from_bytes("root", &serde_json::to_vec(&value).unwrap()).unwrap();
    check_root(&back).unwrap();
    // …and one valid signature plus garbage stays below a threshold of two.
    value["signatures"].as_array_mut().unwrap().remove(1);
    let back = Signed::<Root>::from_bytes("root", &serde_json::to_vec(&value).unwrap()).unwrap();
    assert_eq!(check_root(&back).unwrap_err().valid, 1);
}

#[test]
fn unknown_fields_survive_and_are_covered_by_the_signature() {
    let (a, _) = PrivateKey::generate(KeyType::Ed25519).unwrap();
    let root = root_with(&[&a], vec![a.keyid().into()], 1);
    let mut value = serde_json::to_value(&root).unwrap();
    value["x-vendor"] = json!({"b": [1, "two"], "a": null});
    value["roles"]["root"]["x-note"] = json!("kept");
    let root: Root = serde_json::from_value(value).unwrap();
    let mut doc = Signed::new(root).unwrap();
    doc.sign(&a).unwrap();
    let back = Signed::<Root>::from_bytes("root", &doc.to_bytes()).unwrap();
    check_root(&back).unwrap();
    assert!(back.signed().extra.contains_key("x-vendor"));
    assert_eq!(back.signed().roles["root"].extra["x-note"], json!("kept"));
    // Removing the unknown field invalidates the signature: it was signed.
    let mut v: Value = serde_json::from_slice(&doc.to_bytes()).unwrap();
    v["signed"].as_object_mut().unwrap().remove("x-vendor");
    let stripped = Signed::<Root>::from_bytes("root", &serde_json::to_vec(&v).unwrap()).unwrap();
    assert!(check_root(&stripped).is_err());
}

fn valid_documents() -> Vec<(&'static str, Value)> {
    let (a, _) = PrivateKey::generate(KeyType::Ed25519).unwrap();
    let root = root_with(&[&a], vec![a.keyid().into()], 1);
    let mut ts = Timestamp::new(expires(), tufota_client::metadata::MetaFile::new(1));
    ts.version = 3;
    let docs: Vec<(&str, Value)> = vec![
        ("root", serde_json::to_value(&root).unwrap()),
        ("timestamp", serde_json::to_value(&ts).unwrap()),
        (
            "snapshot",
            serde_json::to_value(Snapshot::new(expires())).unwrap(),
        ),
        (
            "targets",
            serde_json::to_value(Targets::new(expires())).unwrap(),
        ),
    ];
    docs.into_iter()
        .map(|(r, signed)| (r, json!({"signatures": [], "signed": signed})))
        .collect()
}

fn parse_as(role: &str, bytes: &[u8]) -> Result<(), MetadataError> {
    match role {
        "root" => Signed::<Root>::from_bytes(role, bytes).map(|_| ()),
        "timestamp" => Signed::<Timestamp>::from_bytes(role, bytes).map(|_| ()),
        "snapshot" => Signed::<Snapshot>::from_bytes(role, bytes).map(|_| ()),
        _ => Signed::<Targets>::from_bytes(role, bytes).map(|_| ()),
    }
}

#[test]
fn malformed_documents_give_typed_errors_never_panics() {
    type Mutation = (&'static str, fn(&mut Value));
    let mutations: Vec<Mutation> = vec![
        ("wrong _type", |v| v["signed"]["_type"] = json!("mirrors")),
        ("_type not a string", |v| v["signed"]["_type"] = json!(7)),
        ("version a string", |v| v["signed"]["version"] = json!("1")),
        ("version negative", |v| v["signed"]["version"] = json!(-1)),
        ("version zero", |v| v["signed"]["version"] = json!(0)),
        ("version too large", |v| {
            v["signed"]["version"] = json!(1e30)
        }),
        ("version float", |v| v["signed"]["version"] = json!(1.5)),
        ("expires fractional", |v| {
            v["signed"]["expires"] = json!("2030-01-01T00:00:00.5Z")
        }),
        ("expires missing", |v| {
            v["signed"].as_object_mut().unwrap().remove("expires");
        }),
        ("spec_version 2", |v| {
            v["signed"]["spec_version"] = json!("2.0.0")
        }),
        ("spec_version junk", |v| {
            v["signed"]["spec_version"] = json!("one")
        }),
        ("signed not an object", |v| v["signed"] = json!([1, 2])),
        ("signed missing", |v| {
            v.as_object_mut().unwrap().remove("signed");
        }),
        ("signatures not a list", |v| {
            v["signatures"] = json!({"a": 1})
        }),
        ("signature without sig", |v| {
            v["signatures"] = json!([{"keyid": "a"}])
        }),
        ("signature keyid a number", |v| {
            v["signatures"] = json!([{"keyid": 1, "sig": ""}])
        }),
        ("float in unknown field", |v| v["signed"]["x"] = json!(0.5)),
    ];
    for (role, doc) in valid_documents() {
        parse_as(role, &serde_json::to_vec(&doc).unwrap()).unwrap();
        for (what, mutate) in &mutations {
            let mut bad = doc.clone();
            mutate(&mut bad);
            let err = parse_as(role, &serde_json::to_vec(&bad).unwrap())
                .expect_err(&format!("{role}: {what} was accepted"));
            let line = err.to_string();
            assert!(
                !line.contains('\n'),
                "{role}: {what}: multi-line error {line}"
            );
            assert!(line.contains(role) || line.contains("canonical"), "{line}");
        }
        let bytes = serde_json::to_vec(&doc).unwrap();
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            let err = parse_as(role, &bytes[..cut]).unwrap_err();
            assert!(
                matches!(err, MetadataError::Json { .. }),
                "{role} cut {cut}: {err}"
            );
        }
        let nested = "[".repeat(100_000);
        assert!(matches!(
            parse_as(role, nested.as_bytes()),
            Err(MetadataError::Json { .. })
        ));
    }
}

#[test]
fn role_specific_rules_are_enforced() {
    let docs: BTreeMap<&str, Value> = valid_documents().into_iter().collect();
    type Case = (&'static str, fn(&mut Value));
    let cases: Vec<Case> = vec![
        ("root", |v| {
            v["signed"]["roles"]
                .as_object_mut()
                .unwrap()
                .remove("snapshot");
        }),
        ("root", |v| {
            v["signed"]["roles"]["targets"]["threshold"] = json!(0)
        }),
        ("root", |v| {
            v["signed"]["roles"]["mirror"] = v["signed"]["roles"]["root"].clone()
        }),
        ("root", |v| {
            v["signed"]["keys"] = json!({"k": {"keytype": "ed25519", "scheme": "ed25519"}})
        }),
        ("timestamp", |v| v["signed"]["meta"] = json!({})),
        ("timestamp", |v| {
            v["signed"]["meta"]["snapshot.json"]["version"] = json!(0)
        }),
        ("timestamp", |v| {
            v["signed"]["meta"]["snapshot.json"]["hashes"] = json!({})
        }),
        ("timestamp", |v| {
            v["signed"]["meta"]["snapshot.json"]["length"] = json!(-5)
        }),
        ("snapshot", |v| {
            v["signed"]["meta"] = json!({"targets.json": {"version": "1"}})
        }),
        ("targets", |v| {
            v["signed"]["targets"] = json!({"a": {"length": 1, "hashes": {}}})
        }),
        ("targets", |v| {
            v["signed"]["targets"] = json!({"a": {"length": -1, "hashes": {"sha256": "00"}}})
        }),
        ("targets", |v| {
            v["signed"]["targets"] = json!({"a": {"hashes": {"sha256": "00"}}})
        }),
        ("targets", |v| {
            v["signed"]["delegations"] = json!({"keys": {}, "roles": [
                {"name": "a", "keyids": [], "threshold": 1, "paths": ["x"], "path_hash_prefixes": ["0"]}]})
        }),
        ("targets", |v| {
            v["signed"]["delegations"] = json!({"keys": {}, "roles": [
                {"name": "a", "keyids": [], "threshold": 1}]})
        }),
        ("targets", |v| {
            v["signed"]["delegations"] = json!({"keys": {}, "roles": [
                {"name": "a", "keyids": [], "threshold": 1, "paths": []},
                {"name": "a", "keyids": [], "threshold": 1, "paths": []}]})
        }),
        ("targets", |v| {
            v["signed"]["delegations"] = json!({"keys": {}, "roles": [
                {"name": "snapshot", "keyids": [], "threshold": 1, "paths": []}]})
        }),
        ("targets", |v| {
            v["signed"]["delegations"] = json!({"keys": {}, "succinct_roles":
                {"keyids": [], "threshold": 1, "bit_length": 33, "name_prefix": "bin"}})
        }),
        ("targets", |v| {
            v["signed"]["delegations"] = json!({"keys": {}})
        }),
    ];
    for (i, (role, mutate)) in cases.iter().enumerate() {
        let mut bad = docs[role].clone();
        mutate(&mut bad);
        let err = parse_as(role, &serde_json::to_vec(&bad).unwrap())
            .expect_err(&format!("case {i} ({role}) was accepted"));
        assert!(
            err.to_string()
                .starts_with(&format!("{role} metadata refused")),
            "{err}"
        );
    }
}

#[test]
fn unusable_keys_are_typed_errors_when_verifying() {
    let cases = [
        (
            json!({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "zz"}}),
            "malformed",
        ),
        (
            json!({"keytype": "sphincs", "scheme": "sphincs-shake", "keyval": {"public": "00"}}),
            "unsupported",
        ),
        (
            json!({"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp384", "keyval": {"public": "x"}}),
            "unsupported",
        ),
        (
            json!({"keytype": "rsa", "scheme": "rsassa-pss-sha256", "keyval": {"public": "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----"}}),
            "malformed",
        ),
    ];
    for (key, kind) in cases {
        let key = serde_json::from_value(key).unwrap();
        let err = PublicKey::from_key(&key).unwrap_err();
        match (kind, &err) {
            ("malformed", KeyError::Malformed { .. })
            | ("unsupported", KeyError::Unsupported { .. }) => {}
            _ => panic!("expected {kind}, got {err}"),
        }
    }
}

#[test]
fn written_times_have_whole_seconds() {
    let mut t = Targets::new(Utc.with_ymd_and_hms(2031, 5, 6, 7, 8, 9).unwrap());
    t.version = 4;
    let doc = Signed::new(t).unwrap();
    let text = String::from_utf8(doc.to_bytes()).unwrap();
    assert!(
        text.contains("\"expires\": \"2031-05-06T07:08:09Z\""),
        "{text}"
    );
    assert_eq!(doc.signed().version(), 4);
}
