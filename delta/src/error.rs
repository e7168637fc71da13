//! The one error type of the crate. Every variant carries the figures a reader needs to see
//! what was refused and why; its `Display` is one human line.

use std::io;

use crate::header::{HEADER_LEN, MAGIC};

/// Lower-case hex of a byte string, for error lines.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing into a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Everything that can go wrong reading, checking, applying or generating a patch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeltaError {
    /// The patch ended before its fixed-size header was complete.
    #[error("patch header truncated: need {HEADER_LEN} bytes, got {got}")]
    HeaderTruncated { got: usize },

    /// The first bytes are not the tufota delta magic.
    #[error("not a tufota delta patch: magic {} (expected {})", hex(.found), hex(&MAGIC))]
    BadMagic { found: [u8; 8] },

    /// A format version this code does not know.
    #[error("patch format version {found} is not supported (this code reads version {supported})")]
    UnsupportedVersion { found: u8, supported: u8 },

    /// An algorithm id this code does not know.
    #[error("patch algorithm {found} is not supported")]
    UnknownAlgorithm { found: u8 },

    /// Reserved header bits were set; a future version may give them a meaning this code lacks.
    #[error("patch header refused: reserved field is {value:#06x}, must be 0")]
    ReservedField { value: u16 },

    /// The base image does not have the length the header declares.
    #[error("base image length mismatch: patch expects {expected} bytes, base has {actual}")]
    BaseLength { expected: u64, actual: u64 },

    /// The base image does not have the sha256 the header declares.
    #[error("base image sha256 mismatch: expected {}, got {}", hex(.expected), hex(.actual))]
    BaseHash {
        expected: [u8; 32],
        actual: [u8; 32],
    },

    /// A record would produce bytes past the declared result length; nothing of it was written.
    #[error(
        "patch refused: declared result length {declared} but stream produced more \
         (record {record} would end at byte {would_end})"
    )]
    ResultOverrun {
        declared: u64,
        record: u64,
        would_end: u128,
    },

    /// Decoded data follows the record that completed the declared result.
    #[error("patch refused: declared result length {declared} but stream produced more (data after the last record)")]
    TrailingData { declared: u64 },

    /// The stream ended cleanly between records, before the declared result length.
    #[error("patch stream ended after {produced} of {declared} declared result bytes")]
    ResultShort { declared: u64, produced: u64 },

    /// The stream ended inside a record.
    #[error("patch stream truncated inside record {record} after {produced} result bytes")]
    StreamTruncated { record: u64, produced: u64 },

    /// The result's sha256 differs from the header's.
    #[error("result sha256 mismatch: expected {}, got {}", hex(.expected), hex(.actual))]
    ResultHash {
        expected: [u8; 32],
        actual: [u8; 32],
    },

    /// A record's seek or diff span leaves the base image.
    #[error(
        "patch refused: record {record} reads base bytes {start}..{end}, outside the base of {base_len} bytes"
    )]
    BaseRange {
        record: u64,
        start: i128,
        end: i128,
        base_len: u64,
    },

    /// A record that produces no byte (the generator never writes one; refusing them bounds the work).
    #[error("patch refused: record {record} produces no bytes")]
    EmptyRecord { record: u64 },

    /// A diff run pair that covers nothing.
    #[error("patch refused: record {record} has an empty diff run")]
    EmptyDiffRun { record: u64 },

    /// Diff run pairs that cover more than the record's diff length.
    #[error("patch refused: diff runs of record {record} exceed its diff length {diff_len}")]
    DiffRunOverrun { record: u64, diff_len: u64 },

    /// A length or seek field longer than 10 bytes or above 64 bits.
    #[error("patch stream malformed: over-long varint in record {record}")]
    BadVarint { record: u64 },

    /// The LZMA2 layer refused the stream (corrupt data, unreadable input).
    #[error("patch stream cannot be read or decompressed: {source}")]
    Decompress {
        #[source]
        source: io::Error,
    },

    /// An I/O error on the base image or the output.
    #[error("I/O error {what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: io::Error,
    },

    /// Generation input too large for the 32-bit suffix array.
    #[error("{what} image of {len} bytes exceeds the generator limit of {max} bytes")]
    InputTooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },

    /// A generation option out of range.
    #[error("invalid generate option: {what}")]
    BadOption { what: String },

    /// The LZMA2 encoder or the patch sink failed during generation.
    #[error("patch compression or write failed: {source}")]
    Compress {
        #[source]
        source: io::Error,
    },
}

impl DeltaError {
    pub(crate) fn io(what: &'static str) -> impl FnOnce(io::Error) -> DeltaError {
        move |source| DeltaError::Io { what, source }
    }
}
