//! The signed envelope `{"signatures": [...], "signed": {...}}` and threshold checking.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::role::{Root, Snapshot, Targets, Timestamp};
use super::{
    canonical_json, Key, KeyError, MetadataError, PublicKey, Signer, ThresholdError, SPEC_MAJOR,
};

/// More signatures than any sane role has; a bound on work an attacker can make us do.
pub const MAX_SIGNATURES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub keyid: String,
    pub sig: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// What every role shares, so that checks on version, expiry and type are written once.
pub trait Role: Serialize + DeserializeOwned {
    /// The `_type` value of this role.
    const TYPE: &'static str;
    fn version(&self) -> u64;
    fn expires(&self) -> DateTime<Utc>;
    fn spec_version(&self) -> &str;
    /// Checks beyond the JSON shape; the message names the offending field.
    fn validate(&self) -> Result<(), String>;
}

macro_rules! impl_role {
    ($t:ty, $name:literal) => {
        impl Role for $t {
            const TYPE: &'static str = $name;
            fn version(&self) -> u64 {
                self.version
            }
            fn expires(&self) -> DateTime<Utc> {
                self.expires.0
            }
            fn spec_version(&self) -> &str {
                &self.spec_version
            }
            fn validate(&self) -> Result<(), String> {
                <$t>::validate(self)
            }
        }
    };
}
impl_role!(Root, "root");
impl_role!(Timestamp, "timestamp");
impl_role!(Snapshot, "snapshot");
impl_role!(Targets, "targets");

/// A metadata document: the typed view, the `signed` object as received, and its canonical
/// bytes. The three never disagree: there is no mutable access to `signed`; edit a copy and
/// build a new envelope with [`Signed::new`].
#[derive(Debug, Clone)]
pub struct Signed<T> {
    signed: T,
    signed_value: Value,
    canonical: Vec<u8>,
    pub signatures: Vec<Signature>,
}

fn check_spec_version(role: &str, found: &str) -> Result<(), MetadataError> {
    let parts: Vec<&str> = found.split('.').collect();
    let numeric = (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let major = parts.first().and_then(|p| p.parse::<u64>().ok());
    if !numeric || major != Some(SPEC_MAJOR) {
        return Err(MetadataError::SpecVersion {
            role: role.into(),
            found: found.into(),
        });
    }
    Ok(())
}

impl<T: Role> Signed<T> {
    /// Wraps a typed document for signing.
    pub fn new(signed: T) -> Result<Self, MetadataError> {
        let signed_value = serde_json::to_value(&signed).map_err(|e| MetadataError::Canonical {
            reason: e.to_string(),
        })?;
        let canonical = canonical_json(&signed_value)?;
        Ok(Signed {
            signed,
            signed_value,
            canonical,
            signatures: Vec::new(),
        })
    }

    /// Parses a document of role type `T`; `role` names it in errors (a delegated targets
    /// role has its own name). Checks shape, `_type`, `spec_version`, field rules and that no
    /// key signed twice. Does not check signatures: that needs the keys of the delegator.
    pub fn from_bytes(role: &str, bytes: &[u8]) -> Result<Self, MetadataError> {
        let field = |reason: String| MetadataError::Field {
            role: role.into(),
            reason,
        };
        let envelope = |reason: &str| MetadataError::Envelope {
            role: role.into(),
            reason: reason.into(),
        };
        let mut doc: Map<String, Value> =
            serde_json::from_slice(bytes).map_err(|e| MetadataError::Json {
                role: role.into(),
                reason: e.to_string(),
            })?;
        let signed_value = doc
            .remove("signed")
            .ok_or_else(|| envelope("no \"signed\" object"))?;
        let signatures = doc
            .remove("signatures")
            .ok_or_else(|| envelope("no \"signatures\" list"))?;
        let signatures: Vec<Signature> =
            serde_json::from_value(signatures).map_err(|e| field(format!("signatures: {e}")))?;
        if signatures.len() > MAX_SIGNATURES {
            return Err(field(format!(
                "{} signatures, more than the limit of {MAX_SIGNATURES}",
                signatures.len()
            )));
        }
        let mut seen = BTreeSet::new();
        for s in &signatures {
            if !seen.insert(s.keyid.as_str()) {
                return Err(MetadataError::DuplicateSignature {
                    role: role.into(),
                    keyid: s.keyid.clone(),
                });
            }
        }
        let found_type = signed_value
            .get("_type")
            .and_then(Value::as_str)
            .ok_or_else(|| envelope("signed has no string \"_type\""))?;
        if found_type != T::TYPE {
            return Err(MetadataError::WrongType {
                role: role.into(),
                expected: T::TYPE,
                found: found_type.into(),
            });
        }
        if let Some(v) = signed_value.get("spec_version").and_then(Value::as_str) {
            check_spec_version(role, v)?;
        }
        let canonical = canonical_json(&signed_value)?;
        let signed: T = T::deserialize(&signed_value).map_err(|e| field(e.to_string()))?;
        if signed.version() == 0 {
            return Err(field("version must be at least 1".into()));
        }
        signed.validate().map_err(field)?;
        Ok(Signed {
            signed,
            signed_value,
            canonical,
            signatures,
        })
    }

    /// Adds (or replaces) the signature of `signer`'s key.
    pub fn sign(&mut self, signer: &dyn Signer) -> Result<(), KeyError> {
        let sig = hex::encode(signer.sign(&self.canonical)?);
        let keyid = signer.keyid().to_string();
        self.signatures.retain(|s| s.keyid != keyid);
        self.signatures.push(Signature {
            keyid,
            sig,
            extra: BTreeMap::new(),
        });
        Ok(())
    }

    /// The document as JSON bytes, `signed` exactly as received or built.
    pub fn to_bytes(&self) -> Vec<u8> {
        let doc = serde_json::json!({
            "signatures": self.signatures,
            "signed": self.signed_value,
        });
        let mut out = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

impl<T> Signed<T> {
    pub fn signed(&self) -> &T {
        &self.signed
    }

    pub fn into_signed(self) -> T {
        self.signed
    }

    /// The canonical JSON of `signed`: the bytes signatures cover.
    pub fn canonical_bytes(&self) -> &[u8] {
        &self.canonical
    }

    /// Counts the distinct authorised keys in `keyids` that made a valid signature and
    /// refuses the document unless there are at least `threshold` of them. A key listed twice
    /// counts once; an invalid, unknown or unparsable signature is passed over, so it cannot
    /// spoil a threshold that the valid ones meet.
    pub fn verify_threshold(
        &self,
        role: &str,
        keys: &BTreeMap<String, Key>,
        keyids: &[String],
        threshold: u64,
    ) -> Result<(), ThresholdError> {
        let valid = self.count_valid_signatures(keys, keyids);
        if threshold == 0 || valid < threshold {
            return Err(ThresholdError {
                role: role.into(),
                valid,
                threshold,
            });
        }
        Ok(())
    }

    /// The number of distinct keys of `keyids` (found in `keys`) with a valid signature.
    pub fn count_valid_signatures(&self, keys: &BTreeMap<String, Key>, keyids: &[String]) -> u64 {
        let distinct: BTreeSet<&String> = keyids.iter().collect();
        let valid = distinct
            .into_iter()
            .filter(|keyid| {
                let Some(key) = keys.get(*keyid) else {
                    return false;
                };
                let Some(sig) = self.signatures.iter().find(|s| &s.keyid == *keyid) else {
                    return false;
                };
                PublicKey::from_key(key)
                    .ok()
                    .is_some_and(|pk| pk.verify(keyid, &self.canonical, &sig.sig).is_ok())
            })
            .count();
        valid as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_version_majors() {
        for ok in ["1.0.0", "1.0.31", "1.1", "1.20.3"] {
            assert!(check_spec_version("root", ok).is_ok(), "{ok}");
        }
        for bad in [
            "2.0.0", "0.9.9", "1", "1.0.0.0", "1.x.0", "", "v1.0.0", "1..0",
        ] {
            assert!(check_spec_version("root", bad).is_err(), "{bad}");
        }
    }
}
