//! Keys that `repo-tool key generate` writes (tufota's `PrivateKey::generate`) load in
//! python-tuf's signer (securesystemslib `CryptoSigner` over pyca/cryptography), which signs
//! with them as the public key and key id repo-tool puts in root; tufota verifies those
//! signatures. A security team may keep one set of key files for both tools.

use std::process::Command;

use conformance_tests::python;
use tufota_client::metadata::{KeyType, PrivateKey, PublicKey, Signer};

const SIGN_WITH_PYTHON: &str = r#"
import json, sys
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner, SSlibKey
with open(sys.argv[1], "rb") as f:
    private = load_pem_private_key(f.read(), password=None)
public = SSlibKey.from_dict(sys.argv[2], json.loads(sys.argv[3]))
signer = CryptoSigner(private, public)
signature = signer.sign(b"signed by python-tuf")
print(signature.keyid, signature.signature)
"#;

#[test]
fn python_tuf_signs_with_keys_tufota_generates() {
    let dir = tempfile::tempdir().unwrap();
    for kind in [KeyType::Ed25519, KeyType::Ecdsa] {
        let (key, pem) = PrivateKey::generate(kind).unwrap();
        let path = dir.path().join(format!("{kind:?}.pem"));
        std::fs::write(&path, pem).unwrap();
        let out = Command::new(python())
            .args(["-c", SIGN_WITH_PYTHON])
            .arg(&path)
            .arg(key.keyid())
            .arg(serde_json::to_string(key.key()).unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python-tuf could not load a generated {kind:?} key:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let (keyid, signature) = stdout.trim().split_once(' ').unwrap();
        assert_eq!(keyid, key.keyid());
        PublicKey::from_key(key.key())
            .unwrap()
            .verify(key.keyid(), b"signed by python-tuf", signature)
            .unwrap_or_else(|e| panic!("{kind:?}: python-tuf's signature refused: {e}"));
    }
}
