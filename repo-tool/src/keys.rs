//! Where signing keys come from. Every `--key` argument is one of:
//!
//! - a PKCS#8 PEM private key file (`repo-tool key generate`, `openssl genpkey`): signs;
//! - a public key file — the TUF key form as JSON (`repo-tool key show --json`), or PEM
//!   SubjectPublicKeyInfo (`openssl pkey -pubout`): an *offline* key, listed in metadata
//!   but unable to sign here;
//! - `cmd:PUBLIC_KEY_FILE:PROGRAM ARG…`: an external signer (HSM, YubiKey, cloud KMS). The
//!   public key comes from the file; the program is run (no shell; arguments split on
//!   whitespace) with the canonical bytes to sign as its standard input — a regular file, so
//!   programs that need the length can stat it or open `/dev/stdin` — and must write the raw
//!   signature (ed25519: 64 bytes; ecdsa: DER) to standard output and exit 0. repo-tool
//!   verifies the signature against the public key before it uses it.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use spki::der::Decode;
use spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use tufota_client::metadata::{key_id_of, Key, KeyError, KeyVal, PrivateKey, PublicKey, Signer};

use crate::atomic::read_bounded;
use crate::error::{RepoError, Result};

const MAX_KEY_FILE: u64 = 64 * 1024;
const MAX_SIGNATURE: u64 = 64 * 1024;
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// A key named on the command line.
pub struct LoadedKey {
    /// What the user wrote, for messages.
    pub source: String,
    pub public: Key,
    pub keyid: String,
    kind: KeyKind,
}

enum KeyKind {
    Private(PrivateKey),
    Offline,
    External(ExternalSigner),
}

impl LoadedKey {
    /// Reads a `--key` argument (see the module documentation for the forms).
    pub fn load(spec: &str) -> Result<Self> {
        if let Some(rest) = spec.strip_prefix("cmd:") {
            let (pubfile, command) = rest.split_once(':').ok_or_else(|| {
                RepoError::Usage(format!(
                    "--key {spec:?}: an external signer is cmd:PUBLIC_KEY_FILE:PROGRAM ARG…"
                ))
            })?;
            let public = read_public_key(Path::new(pubfile))?;
            let mut words = command.split_whitespace().map(str::to_string);
            let program = words.next().ok_or_else(|| {
                RepoError::Usage(format!(
                    "--key {spec:?}: no program after the public key file"
                ))
            })?;
            let keyid = keyid_of(pubfile, &public)?;
            let signer = ExternalSigner {
                public: public.clone(),
                keyid: keyid.clone(),
                program,
                args: words.collect(),
            };
            return Ok(LoadedKey {
                source: spec.to_string(),
                public,
                keyid,
                kind: KeyKind::External(signer),
            });
        }
        let path = Path::new(spec);
        let bytes = read_bounded(path, MAX_KEY_FILE)?;
        let text = String::from_utf8(bytes).map_err(|_| RepoError::KeyFile {
            file: spec.into(),
            reason: "not a text file (PEM or JSON expected)".into(),
        })?;
        if text.contains("PRIVATE KEY-----") {
            let key = PrivateKey::from_pem(&text).map_err(|source| RepoError::Key {
                file: spec.into(),
                source,
            })?;
            return Ok(LoadedKey {
                source: spec.to_string(),
                public: key.key().clone(),
                keyid: key.keyid().to_string(),
                kind: KeyKind::Private(key),
            });
        }
        let public = parse_public_key(spec, &text)?;
        let keyid = keyid_of(spec, &public)?;
        Ok(LoadedKey {
            source: spec.to_string(),
            public,
            keyid,
            kind: KeyKind::Offline,
        })
    }

    pub fn load_all(specs: &[String]) -> Result<Vec<Self>> {
        specs.iter().map(|s| Self::load(s)).collect()
    }

    /// The signer, unless this is an offline (public-only) key.
    pub fn signer(&self) -> Option<&dyn Signer> {
        match &self.kind {
            KeyKind::Private(k) => Some(k),
            KeyKind::External(s) => Some(s),
            KeyKind::Offline => None,
        }
    }

    pub fn is_external(&self) -> bool {
        matches!(self.kind, KeyKind::External(_))
    }

    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            KeyKind::Private(_) => "private",
            KeyKind::Offline => "public (offline)",
            KeyKind::External(_) => "external signer",
        }
    }

    /// Signs `message`, mapping failures to an error that names this key.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let signer = self.signer().ok_or_else(|| RepoError::KeyFile {
            file: self.source.clone(),
            reason: format!("key {} is a public key only and cannot sign", self.keyid),
        })?;
        signer.sign(message).map_err(|e| match &self.kind {
            KeyKind::External(s) => RepoError::Signer {
                program: s.program.clone(),
                reason: e.to_string(),
            },
            _ => RepoError::Key {
                file: self.source.clone(),
                source: e,
            },
        })
    }
}

fn keyid_of(file: &str, key: &Key) -> Result<String> {
    key_id_of(key).map_err(|e| RepoError::KeyFile {
        file: file.into(),
        reason: e.to_string(),
    })
}

/// Reads a public key file: TUF key JSON (an optional `"keyid"` member is checked and
/// dropped) or PEM SubjectPublicKeyInfo. A private key file yields its public half.
pub fn read_public_key(path: &Path) -> Result<Key> {
    let name = path.display().to_string();
    let bytes = read_bounded(path, MAX_KEY_FILE)?;
    let text = String::from_utf8(bytes).map_err(|_| RepoError::KeyFile {
        file: name.clone(),
        reason: "not a text file (PEM or JSON expected)".into(),
    })?;
    if text.contains("PRIVATE KEY-----") {
        let key = PrivateKey::from_pem(&text).map_err(|source| RepoError::Key {
            file: name.clone(),
            source,
        })?;
        return Ok(key.key().clone());
    }
    parse_public_key(&name, &text)
}

fn parse_public_key(file: &str, text: &str) -> Result<Key> {
    let bad = |reason: String| RepoError::KeyFile {
        file: file.into(),
        reason,
    };
    let key = if text.trim_start().starts_with('{') {
        let mut value: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let claimed = value.remove("keyid");
        let key: Key = serde_json::from_value(serde_json::Value::Object(value))
            .map_err(|e| bad(format!("not a TUF key (keytype, scheme, keyval): {e}")))?;
        if let Some(claimed) = claimed {
            let actual = key_id_of(&key).map_err(|e| bad(e.to_string()))?;
            if claimed.as_str() != Some(actual.as_str()) {
                return Err(bad(format!(
                    "keyid {claimed} does not match the key, whose id is {actual}"
                )));
            }
        }
        key
    } else {
        spki_pem_to_key(text).map_err(bad)?
    };
    PublicKey::from_key(&key).map_err(|source| RepoError::Key {
        file: file.into(),
        source,
    })?;
    Ok(key)
}

fn tuf_key(keytype: &str, scheme: &str, public: String) -> Key {
    Key {
        keytype: keytype.into(),
        scheme: scheme.into(),
        keyval: KeyVal {
            public,
            extra: Default::default(),
        },
        extra: Default::default(),
    }
}

/// PEM SubjectPublicKeyInfo to the TUF key form python-tuf uses: ed25519 as raw hex, ecdsa
/// and rsa as the PEM itself.
fn spki_pem_to_key(text: &str) -> Result<Key, String> {
    let block = pem::parse(text.trim()).map_err(|e| format!("neither JSON nor PEM: {e}"))?;
    if block.tag() != "PUBLIC KEY" {
        return Err(format!(
            "PEM block is {:?}, expected PUBLIC KEY",
            block.tag()
        ));
    }
    let info = SubjectPublicKeyInfoRef::from_der(block.contents())
        .map_err(|e| format!("not a SubjectPublicKeyInfo: {e}"))?;
    let raw = info
        .subject_public_key
        .as_bytes()
        .ok_or("public key bit string is not whole bytes")?;
    let pem_text = pem::encode(&pem::Pem::new("PUBLIC KEY", block.contents().to_vec()));
    match info.algorithm.oid {
        OID_ED25519 => Ok(tuf_key("ed25519", "ed25519", hex::encode(raw))),
        OID_EC_PUBLIC_KEY => Ok(tuf_key("ecdsa", "ecdsa-sha2-nistp256", pem_text)),
        OID_RSA => Ok(tuf_key("rsa", "rsassa-pss-sha256", pem_text)),
        other => Err(format!("unsupported public key algorithm {other}")),
    }
}

/// A signer that is a program: see the module documentation for the protocol.
pub struct ExternalSigner {
    public: Key,
    keyid: String,
    program: String,
    args: Vec<String>,
}

impl Signer for ExternalSigner {
    fn key(&self) -> &Key {
        &self.public
    }

    fn keyid(&self) -> &str {
        &self.keyid
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let fail = |reason: String| KeyError::Signing {
            reason: format!("key {}: {reason}", self.keyid),
        };
        // The bytes go in through a regular file so that programs can learn their length.
        let mut input = tempfile::tempfile().map_err(|e| fail(format!("temporary file: {e}")))?;
        input
            .write_all(message)
            .and_then(|_| std::io::Seek::rewind(&mut input))
            .map_err(|e| fail(format!("temporary file: {e}")))?;
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::from(input))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot run it: {e}")))?;
        let mut signature = Vec::new();
        if let Some(out) = child.stdout.take() {
            out.take(MAX_SIGNATURE + 1)
                .read_to_end(&mut signature)
                .map_err(|e| fail(format!("reading its output: {e}")))?;
        }
        let mut stderr = Vec::new();
        if let Some(err) = child.stderr.take() {
            let _ = err.take(4096).read_to_end(&mut stderr);
        }
        let status = child
            .wait()
            .map_err(|e| fail(format!("waiting for it: {e}")))?;
        if !status.success() {
            let said = String::from_utf8_lossy(&stderr);
            return Err(fail(format!("exited with {status}: {}", said.trim())));
        }
        if signature.is_empty() || signature.len() as u64 > MAX_SIGNATURE {
            return Err(fail(format!(
                "wrote {} bytes, not a signature",
                signature.len()
            )));
        }
        let public = PublicKey::from_key(&self.public).map_err(|e| fail(e.to_string()))?;
        public
            .verify(&self.keyid, message, &hex::encode(&signature))
            .map_err(|_| {
                fail("its signature does not verify with the public key given with it".into())
            })?;
        Ok(signature)
    }
}

/// The public key file `key show --json` writes: the TUF key form plus its id.
pub fn public_key_json(key: &Key, keyid: &str) -> serde_json::Value {
    let mut value = serde_json::to_value(key).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("keyid".into(), keyid.into());
    }
    value
}
