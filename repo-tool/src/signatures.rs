//! Adding signatures to a document and checking that they reach a role's threshold before
//! anything is written, so a missing or wrong key is a refusal, never a half-signed
//! publication (TUF spec §5.x: clients refuse documents below threshold anyway; refusing here
//! keeps the published repository servable).

use std::collections::BTreeMap;
use std::path::Path;

use tufota_client::metadata::{Key, Role, Signature, Signed};

use crate::error::{RepoError, Result};
use crate::keys::LoadedKey;

/// Signs `doc` with every given key whose id is in `keyids` and that can sign. Returns the
/// ids that signed.
pub fn sign_with<T: Role>(
    doc: &mut Signed<T>,
    keys: &[LoadedKey],
    keyids: &[String],
) -> Result<Vec<String>> {
    let mut signed = Vec::new();
    for key in keys {
        if !keyids.contains(&key.keyid) || key.signer().is_none() {
            continue;
        }
        let sig = key.sign(doc.canonical_bytes())?;
        doc.signatures.retain(|s| s.keyid != key.keyid);
        doc.signatures.push(Signature {
            keyid: key.keyid.clone(),
            sig: hex::encode(sig),
            extra: BTreeMap::new(),
        });
        signed.push(key.keyid.clone());
    }
    Ok(signed)
}

/// Refuses unless `doc` carries `threshold` valid signatures from `keyids`.
pub fn require_threshold<T>(
    doc: &Signed<T>,
    file: &Path,
    role: &str,
    keys: &BTreeMap<String, Key>,
    keyids: &[String],
    threshold: u64,
) -> Result<()> {
    let valid = doc.count_valid_signatures(keys, keyids);
    if valid >= threshold && threshold > 0 {
        return Ok(());
    }
    let missing: Vec<&str> = keyids
        .iter()
        .filter(|id| !doc.signatures.iter().any(|s| &s.keyid == *id))
        .map(String::as_str)
        .collect();
    Err(RepoError::Threshold {
        file: file.to_path_buf(),
        role: role.into(),
        valid,
        threshold,
        hint: if missing.is_empty() {
            String::new()
        } else {
            format!("; keys that have not signed: {}", missing.join(", "))
        },
    })
}
