//! The signing side, used by repo-tool: private keys as PKCS#8 PEM (what `openssl genpkey`
//! writes), generation of ed25519 and ecdsa P-256 keys, and signing with all three types.
//! External signers (HSM, KMS, a YubiKey behind a program) implement [`Signer`] too.

use std::collections::BTreeMap;

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use spki::der::asn1::BitString;
use spki::der::{Any, Encode};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};

use super::key::{OID_EC_PUBLIC_KEY, OID_P256, OID_RSA};
use super::{key_id_of, Key, KeyError, KeyVal};

/// Something that signs canonical bytes on behalf of one key.
pub trait Signer {
    /// The public key, in the form metadata lists it.
    fn key(&self) -> &Key;
    fn keyid(&self) -> &str;
    /// The raw signature (hex-encoded by the caller into metadata).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Ed25519,
    Ecdsa,
}

enum Pair {
    Ed25519(Ed25519KeyPair),
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A private key held in memory.
pub struct PrivateKey {
    pair: Pair,
    public: Key,
    keyid: String,
}

fn private(reason: impl Into<String>) -> KeyError {
    KeyError::Private {
        reason: reason.into(),
    }
}

fn spki_pem(oid: ObjectIdentifier, params: Option<Any>, key: &[u8]) -> Result<String, KeyError> {
    let info = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid,
            parameters: params,
        },
        subject_public_key: BitString::from_bytes(key).map_err(|e| private(e.to_string()))?,
    };
    let der = info.to_der().map_err(|e| private(e.to_string()))?;
    Ok(pem::encode(&pem::Pem::new("PUBLIC KEY", der)))
}

fn tuf_key(keytype: &str, scheme: &str, public: String) -> Key {
    Key {
        keytype: keytype.into(),
        scheme: scheme.into(),
        keyval: KeyVal {
            public,
            extra: BTreeMap::new(),
        },
        extra: BTreeMap::new(),
    }
}

/// The fixed start of an Ed25519 PKCS#8 v1 document (RFC 8410 §7): SEQUENCE, version 0,
/// AlgorithmIdentifier id-Ed25519, OCTET STRING wrapping the 32-byte seed.
const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// ring generates Ed25519 keys as PKCS#8 v2 (RFC 5958, with the public key appended), which
/// pyca/cryptography — and so python-tuf's signers — refuse ("extra data"); openssl writes
/// v1. Re-encode ring's document as v1: the same seed, without the trailing public key.
fn ed25519_pkcs8_v1(v2: &[u8]) -> Result<Vec<u8>, KeyError> {
    // ring's layout: 30 51 02 01 01, the same AlgorithmIdentifier and seed as v1, 81 21 00 public
    let v2_start: &[u8] = &[0x30, 0x51, 0x02, 0x01, 0x01];
    let seed = match (v2.get(..5), v2.get(5..16), v2.get(16..48)) {
        (Some(start), Some(middle), Some(seed))
            if v2.len() == 83
                && start == v2_start
                && Some(middle) == ED25519_PKCS8_V1_PREFIX.get(5..16) =>
        {
            seed
        }
        _ => {
            return Err(private(
                "unexpected Ed25519 PKCS#8 layout from the key generator",
            ))
        }
    };
    let mut v1 = ED25519_PKCS8_V1_PREFIX.to_vec();
    v1.extend_from_slice(seed);
    Ok(v1)
}

impl PrivateKey {
    /// Reads a PKCS#8 PEM private key of any of the three supported types.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let block = pem::parse(text.trim()).map_err(|e| private(format!("bad PEM: {e}")))?;
        if block.tag() != "PRIVATE KEY" {
            return Err(private(format!(
                "PEM block is {:?}, expected PRIVATE KEY (PKCS#8)",
                block.tag()
            )));
        }
        Self::from_pkcs8(block.contents())
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let pair = if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            Pair::Ed25519(k)
        } else if let Ok(k) =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng)
        {
            Pair::Ecdsa(k)
        } else if let Ok(k) = RsaKeyPair::from_pkcs8(der) {
            Pair::Rsa(k)
        } else {
            return Err(private(
                "not an ed25519, ecdsa P-256 or rsa (2048 to 8192 bits) PKCS#8 key",
            ));
        };
        let public = match &pair {
            Pair::Ed25519(k) => tuf_key("ed25519", "ed25519", hex::encode(k.public_key())),
            Pair::Ecdsa(k) => {
                let params = Any::encode_from(&OID_P256).map_err(|e| private(e.to_string()))?;
                let pem = spki_pem(OID_EC_PUBLIC_KEY, Some(params), k.public_key().as_ref())?;
                tuf_key("ecdsa", "ecdsa-sha2-nistp256", pem)
            }
            Pair::Rsa(k) => {
                let pem = spki_pem(OID_RSA, Some(Any::null()), k.public().as_ref())?;
                tuf_key("rsa", "rsassa-pss-sha256", pem)
            }
        };
        let keyid = key_id_of(&public).map_err(|e| private(e.to_string()))?;
        Ok(PrivateKey {
            pair,
            public,
            keyid,
        })
    }

    /// Generates a key; returns it and its PKCS#8 PEM for storing.
    pub fn generate(kind: KeyType) -> Result<(Self, String), KeyError> {
        let rng = SystemRandom::new();
        let doc = match kind {
            KeyType::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng),
            KeyType::Ecdsa => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            }
        }
        .map_err(|_| private("key generation failed"))?;
        let der = match kind {
            KeyType::Ed25519 => ed25519_pkcs8_v1(doc.as_ref())?,
            KeyType::Ecdsa => doc.as_ref().to_vec(),
        };
        let key = Self::from_pkcs8(&der)?;
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der));
        Ok((key, pem))
    }
}

impl Signer for PrivateKey {
    fn key(&self) -> &Key {
        &self.public
    }

    fn keyid(&self) -> &str {
        &self.keyid
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        let failed = |_| KeyError::Signing {
            reason: format!("{} key {}", self.public.keytype, self.keyid),
        };
        match &self.pair {
            Pair::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
            Pair::Ecdsa(k) => k
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(failed),
            Pair::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&signature::RSA_PSS_SHA256, &rng, message, &mut sig)
                    .map_err(failed)?;
                Ok(sig)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::PublicKey;

    #[test]
    fn generated_keys_sign_and_verify() {
        for kind in [KeyType::Ed25519, KeyType::Ecdsa] {
            let (key, pem) = PrivateKey::generate(kind).unwrap();
            let again = PrivateKey::from_pem(&pem).unwrap();
            assert_eq!(key.keyid(), again.keyid());
            let sig = key.sign(b"message").unwrap();
            let pk = PublicKey::from_key(key.key()).unwrap();
            pk.verify(key.keyid(), b"message", &hex::encode(&sig))
                .unwrap();
            assert!(pk
                .verify(key.keyid(), b"messagE", &hex::encode(&sig))
                .is_err());
        }
    }

    #[test]
    fn generated_ed25519_keys_are_pkcs8_v1_like_openssl_writes() {
        let (key, text) = PrivateKey::generate(KeyType::Ed25519).unwrap();
        let der = pem::parse(text.trim()).unwrap().into_contents();
        assert_eq!(der.len(), 48);
        assert_eq!(der[..16], ED25519_PKCS8_V1_PREFIX);
        assert_eq!(PrivateKey::from_pkcs8(&der).unwrap().keyid(), key.keyid());
        assert!(
            ed25519_pkcs8_v1(&der).is_err(),
            "a v1 document is not ring's v2 layout"
        );
    }

    #[test]
    fn refuses_bad_private_pem() {
        for text in [
            "",
            "not pem",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        ] {
            assert!(matches!(
                PrivateKey::from_pem(text),
                Err(KeyError::Private { .. })
            ));
        }
    }
}
