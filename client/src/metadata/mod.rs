//! The TUF 1.0.x metadata model.
//!
//! A document is kept two ways at once: the typed view that code reads, and the canonical
//! JSON bytes of the `signed` object exactly as it was received. Signatures are always checked
//! over the latter, never over a re-serialisation of the typed view, which would drop or
//! reorder fields a newer signer wrote (TUF §4.2 "canonical JSON", and the spec's requirement
//! to keep unrecognised fields).

mod canonical;
mod envelope;
mod error;
mod hash;
mod key;
mod role;
mod signing;
mod time;

pub mod custom;

pub use canonical::canonical_json;
pub use envelope::{Role, Signature, Signed, MAX_SIGNATURES};
pub use error::{KeyError, MetadataError, SignatureError, ThresholdError};
pub use hash::{HashAlgorithm, HashChecker, HashMismatch};
pub use key::{key_id_of, Key, KeyVal, PublicKey};
pub use role::{
    DelegatedRole, Delegations, MetaFile, RoleKeys, Root, Snapshot, SuccinctRoles, TargetFile,
    Targets, Timestamp, TOP_LEVEL_ROLES,
};
pub use signing::{KeyType, PrivateKey, Signer};
pub use time::{format_time, parse_time, TufTime};

/// The major version of the TUF specification this implementation follows. Documents whose
/// `spec_version` has another major are refused (spec §5.3.2 and python-tuf's behaviour).
pub const SPEC_MAJOR: u64 = 1;

/// The `spec_version` this implementation writes.
pub const SPEC_VERSION: &str = "1.0.31";
