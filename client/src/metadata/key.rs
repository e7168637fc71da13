//! Public keys in the form TUF metadata carries them, as python-tuf and go-tuf write them:
//!
//! | keytype | scheme | keyval.public |
//! | --- | --- | --- |
//! | `ed25519` | `ed25519` | 64 hex digits, the raw key |
//! | `ecdsa` (or the older `ecdsa-sha2-nistp256`) | `ecdsa-sha2-nistp256` | PEM SubjectPublicKeyInfo |
//! | `rsa` | `rsassa-pss-sha256` | PEM SubjectPublicKeyInfo |
//!
//! Signatures are hex: raw for ed25519, DER for ecdsa, PSS with MGF1-SHA-256 for rsa. The
//! spec does not fix the PSS salt length, and implementations differ: python-tuf, tough and
//! tufota sign with a salt as long as the digest, go-tuf (Go's crypto/rsa) and OpenSSL's
//! defaults with the longest one the key allows. Both verify; other lengths do not.

use std::collections::BTreeMap;

use ring::signature::{self, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use spki::der::Decode;
use spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};

use super::{canonical_json, KeyError, MetadataError, SignatureError};

/// Algorithm identifiers of SubjectPublicKeyInfo (RFC 5480, RFC 8017), shared with signing.
pub(super) const OID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub(super) const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
pub(super) const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// A key as listed in root or in a delegation. Unknown fields are kept so that the key
/// re-serialises to what its author wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub keytype: String,
    pub scheme: String,
    pub keyval: KeyVal,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVal {
    pub public: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The key id tufota gives a key it creates: the sha256 of the canonical JSON of its public
/// form (python-tuf's convention). A verifier never recomputes ids: they are opaque labels.
pub fn key_id_of(key: &Key) -> Result<String, MetadataError> {
    let bytes = canonical_json(key)?;
    Ok(hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        &bytes,
    )))
}

/// A key decoded and ready to verify signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Ed25519([u8; 32]),
    /// The uncompressed P-256 point from the SubjectPublicKeyInfo.
    EcdsaP256(Vec<u8>),
    /// The PKCS#1 RSAPublicKey from the SubjectPublicKeyInfo.
    RsaPss(Vec<u8>),
}

impl PublicKey {
    pub fn from_key(key: &Key) -> Result<Self, KeyError> {
        let malformed = |reason: String| KeyError::Malformed {
            keytype: key.keytype.clone(),
            reason,
        };
        match (key.keytype.as_str(), key.scheme.as_str()) {
            ("ed25519", "ed25519") => {
                let raw = hex::decode(&key.keyval.public)
                    .map_err(|e| malformed(format!("public key is not hex: {e}")))?;
                let raw: [u8; 32] = raw
                    .try_into()
                    .map_err(|v: Vec<u8>| malformed(format!("{} bytes, expected 32", v.len())))?;
                Ok(PublicKey::Ed25519(raw))
            }
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
                let der = spki_der(&key.keyval.public).map_err(malformed)?;
                let info = SubjectPublicKeyInfoRef::from_der(&der)
                    .map_err(|e| malformed(format!("not a SubjectPublicKeyInfo: {e}")))?;
                let curve = info
                    .algorithm
                    .parameters
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
                if info.algorithm.oid != OID_EC_PUBLIC_KEY || curve != Some(OID_P256) {
                    return Err(malformed("not an EC P-256 public key".into()));
                }
                let point = info
                    .subject_public_key
                    .as_bytes()
                    .ok_or_else(|| malformed("public key bit string is not whole bytes".into()))?;
                Ok(PublicKey::EcdsaP256(point.to_vec()))
            }
            ("rsa", "rsassa-pss-sha256") => {
                let der = spki_der(&key.keyval.public).map_err(malformed)?;
                let info = SubjectPublicKeyInfoRef::from_der(&der)
                    .map_err(|e| malformed(format!("not a SubjectPublicKeyInfo: {e}")))?;
                if info.algorithm.oid != OID_RSA {
                    return Err(malformed("not an RSA public key".into()));
                }
                let pkcs1 = info
                    .subject_public_key
                    .as_bytes()
                    .ok_or_else(|| malformed("public key bit string is not whole bytes".into()))?;
                Ok(PublicKey::RsaPss(pkcs1.to_vec()))
            }
            (keytype, scheme) => Err(KeyError::Unsupported {
                keytype: keytype.to_string(),
                scheme: scheme.to_string(),
            }),
        }
    }

    /// Checks `sig_hex` over `message`.
    pub fn verify(&self, keyid: &str, message: &[u8], sig_hex: &str) -> Result<(), SignatureError> {
        let sig = hex::decode(sig_hex).map_err(|_| SignatureError::NotHex {
            keyid: keyid.to_string(),
        })?;
        let (alg, raw): (&dyn signature::VerificationAlgorithm, &[u8]) = match self {
            PublicKey::Ed25519(k) => (&signature::ED25519, k),
            PublicKey::EcdsaP256(p) => (&signature::ECDSA_P256_SHA256_ASN1, p),
            PublicKey::RsaPss(k) => (&signature::RSA_PSS_2048_8192_SHA256, k),
        };
        let verified = UnparsedPublicKey::new(alg, raw)
            .verify(message, &sig)
            .is_ok()
            || matches!(self, PublicKey::RsaPss(k) if verify_pss_longest_salt(k, message, &sig));
        if verified {
            Ok(())
        } else {
            Err(SignatureError::Invalid {
                keyid: keyid.to_string(),
            })
        }
    }
}

/// RSA-PSS-SHA-256 with the longest salt the key allows (RFC 8017 §9.1: emLen − hLen − 2
/// bytes), which ring does not accept. Held to ring's key sizes, 2048 to 8192 bits, so the
/// fallback admits no key the main path would refuse.
fn verify_pss_longest_salt(pkcs1: &[u8], message: &[u8], sig: &[u8]) -> bool {
    use rsa::pkcs1::der::Decode as _;
    use rsa::sha2::{Digest, Sha256};
    use rsa::traits::PublicKeyParts;

    let Ok(parts) = rsa::pkcs1::RsaPublicKey::from_der(pkcs1) else {
        return false;
    };
    let n = rsa::BigUint::from_bytes_be(parts.modulus.as_bytes());
    let e = rsa::BigUint::from_bytes_be(parts.public_exponent.as_bytes());
    let Ok(key) = rsa::RsaPublicKey::new_with_max_size(n, e, 8192) else {
        return false;
    };
    let bits = key.n().bits();
    if bits < 2048 {
        return false;
    }
    let em_len = (bits - 1).div_ceil(8);
    let Some(salt_len) = em_len.checked_sub(Sha256::output_size() + 2) else {
        return false;
    };
    key.verify(
        rsa::Pss::new_with_salt::<Sha256>(salt_len),
        &Sha256::digest(message),
        sig,
    )
    .is_ok()
}

fn spki_der(text: &str) -> Result<Vec<u8>, String> {
    let block = pem::parse(text.trim()).map_err(|e| format!("bad PEM: {e}"))?;
    if block.tag() != "PUBLIC KEY" {
        return Err(format!(
            "PEM block is {:?}, expected PUBLIC KEY",
            block.tag()
        ));
    }
    Ok(block.into_contents())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(keytype: &str, scheme: &str, public: &str) -> Key {
        Key {
            keytype: keytype.into(),
            scheme: scheme.into(),
            keyval: KeyVal {
                public: public.into(),
                extra: BTreeMap::new(),
            },
            extra: BTreeMap::new(),
        }
    }

    #[test]
    fn refuses_unknown_type_and_scheme() {
        let err = PublicKey::from_key(&key("dsa", "dsa-sha1", "00")).unwrap_err();
        assert!(matches!(err, KeyError::Unsupported { .. }));
        let err = PublicKey::from_key(&key("ed25519", "ed448", &"00".repeat(32))).unwrap_err();
        assert!(matches!(err, KeyError::Unsupported { .. }));
        assert!(err.to_string().contains("ed448"));
    }

    #[test]
    fn refuses_bad_hex_and_lengths() {
        for public in ["zz".repeat(32), "00".repeat(31), String::new(), "0".into()] {
            let err = PublicKey::from_key(&key("ed25519", "ed25519", &public)).unwrap_err();
            assert!(matches!(err, KeyError::Malformed { .. }), "{public}: {err}");
        }
    }

    #[test]
    fn refuses_bad_pem() {
        let not_pem = "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----";
        let wrong_tag = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
        let not_spki = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
        for (kt, scheme) in [
            ("ecdsa", "ecdsa-sha2-nistp256"),
            ("rsa", "rsassa-pss-sha256"),
        ] {
            for public in ["plain text", not_pem, wrong_tag, not_spki] {
                let err = PublicKey::from_key(&key(kt, scheme, public)).unwrap_err();
                assert!(
                    matches!(err, KeyError::Malformed { .. }),
                    "{kt} {public}: {err}"
                );
            }
        }
    }

    #[test]
    fn bad_signature_hex_is_typed() {
        let pk = PublicKey::Ed25519([0; 32]);
        assert_eq!(
            pk.verify("k", b"m", "xyz"),
            Err(SignatureError::NotHex { keyid: "k".into() })
        );
        assert_eq!(
            pk.verify("k", b"m", ""),
            Err(SignatureError::Invalid { keyid: "k".into() })
        );
    }
}
