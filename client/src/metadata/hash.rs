//! Checking bytes against the hashes listed in signed metadata, in one pass while they stream.

use std::collections::BTreeMap;

use ring::digest;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    fn ring(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        }
    }

    /// The lowercase hex digest of `data`.
    pub fn hex_digest(self, data: &[u8]) -> String {
        hex::encode(digest::digest(self.ring(), data))
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum HashMismatch {
    #[error(
        "none of the listed hash algorithms ({listed}) is supported (sha256, sha384, sha512 are)"
    )]
    NoSupportedAlgorithm { listed: String },
    #[error("listed {algorithm} hash is not hex")]
    NotHex { algorithm: &'static str },
    #[error("{algorithm} is {actual}, signed metadata says {expected}")]
    Mismatch {
        algorithm: &'static str,
        expected: String,
        actual: String,
    },
}

/// Hashes bytes with every supported algorithm listed, then compares. Algorithms we do not
/// know are passed over as long as one we know is listed; a list of only unknown ones is
/// refused, since nothing could then be checked.
pub struct HashChecker {
    running: Vec<(HashAlgorithm, Vec<u8>, digest::Context)>,
}

impl HashChecker {
    pub fn new(hashes: &BTreeMap<String, String>) -> Result<Self, HashMismatch> {
        let mut running = Vec::new();
        for (name, expected) in hashes {
            let Some(alg) = HashAlgorithm::from_name(name) else {
                continue;
            };
            let expected = hex::decode(expected).map_err(|_| HashMismatch::NotHex {
                algorithm: alg.name(),
            })?;
            running.push((alg, expected, digest::Context::new(alg.ring())));
        }
        if running.is_empty() {
            let listed = hashes.keys().cloned().collect::<Vec<_>>().join(", ");
            return Err(HashMismatch::NoSupportedAlgorithm { listed });
        }
        Ok(HashChecker { running })
    }

    pub fn update(&mut self, data: &[u8]) {
        for (_, _, ctx) in &mut self.running {
            ctx.update(data);
        }
    }

    pub fn finish(self) -> Result<(), HashMismatch> {
        for (alg, expected, ctx) in self.running {
            let actual = ctx.finish();
            if actual.as_ref() != expected.as_slice() {
                return Err(HashMismatch::Mismatch {
                    algorithm: alg.name(),
                    expected: hex::encode(expected),
                    actual: hex::encode(actual.as_ref()),
                });
            }
        }
        Ok(())
    }

    /// Checks a whole buffer at once.
    pub fn check(hashes: &BTreeMap<String, String>, data: &[u8]) -> Result<(), HashMismatch> {
        let mut checker = Self::new(hashes)?;
        checker.update(data);
        checker.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn checks_every_known_algorithm() {
        let data = b"abc";
        let good256 = HashAlgorithm::Sha256.hex_digest(data);
        let good512 = HashAlgorithm::Sha512.hex_digest(data);
        assert!(
            HashChecker::check(&hashes(&[("sha256", &good256), ("sha512", &good512)]), data)
                .is_ok()
        );
        assert!(HashChecker::check(&hashes(&[("sha256", &good256), ("md5", "00")]), data).is_ok());
        let bad = HashChecker::check(&hashes(&[("sha256", &good256), ("sha512", &good256)]), data);
        assert!(matches!(
            bad,
            Err(HashMismatch::Mismatch {
                algorithm: "sha512",
                ..
            })
        ));
    }

    #[test]
    fn refuses_unknown_only_and_bad_hex() {
        assert!(matches!(
            HashChecker::new(&hashes(&[("md5", "00"), ("blake3", "00")])),
            Err(HashMismatch::NoSupportedAlgorithm { .. })
        ));
        assert!(matches!(
            HashChecker::new(&hashes(&[("sha256", "xyz")])),
            Err(HashMismatch::NotHex { .. })
        ));
    }
}
