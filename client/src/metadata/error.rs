//! Errors of the metadata layer. Each variant renders as one line that says what was refused,
//! which role or key, and why.

use thiserror::Error;

/// A document could not be accepted as TUF metadata of the expected role.
#[derive(Debug, Error)]
pub enum MetadataError {
    #[error("{role} metadata refused: {size} bytes is more than the limit of {limit}")]
    TooLarge { role: String, size: u64, limit: u64 },
    #[error("{role} metadata refused: not valid JSON: {reason}")]
    Json { role: String, reason: String },
    #[error("{role} metadata refused: {reason}")]
    Envelope { role: String, reason: String },
    #[error("{role} metadata refused: _type is {found:?}, expected {expected:?}")]
    WrongType {
        role: String,
        expected: &'static str,
        found: String,
    },
    #[error("{role} metadata refused: spec_version {found:?} is not a 1.x version")]
    SpecVersion { role: String, found: String },
    #[error("{role} metadata refused: {reason}")]
    Field { role: String, reason: String },
    #[error("{role} metadata refused: key {keyid} signed it more than once")]
    DuplicateSignature { role: String, keyid: String },
    #[error("metadata cannot be put in canonical JSON form: {reason}")]
    Canonical { reason: String },
}

/// A public key in TUF form could not be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("key type {keytype:?} with scheme {scheme:?} is not supported (ed25519/ed25519, ecdsa/ecdsa-sha2-nistp256, rsa/rsassa-pss-sha256 are)")]
    Unsupported { keytype: String, scheme: String },
    #[error("{keytype} public key is malformed: {reason}")]
    Malformed { keytype: String, reason: String },
    #[error("private key refused: {reason}")]
    Private { reason: String },
    #[error("signing failed: {reason}")]
    Signing { reason: String },
}

/// One signature did not verify.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("signature by key {keyid} is not hex")]
    NotHex { keyid: String },
    #[error("signature by key {keyid} does not verify")]
    Invalid { keyid: String },
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// A role's signatures did not reach its threshold.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{role} metadata refused: {valid} valid signature(s) from authorised keys, threshold is {threshold}")]
pub struct ThresholdError {
    pub role: String,
    pub valid: u64,
    pub threshold: u64,
}
