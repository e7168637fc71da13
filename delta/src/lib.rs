//! # tufota-delta: binary patches for OTA images
//!
//! A patch turns one exact base image into one exact result image. It is made on a build
//! machine with the whole of both images in memory ([`generate`], feature `generate`) and
//! applied on a device in constant memory ([`apply`]): the base is read through `Read + Seek`,
//! the patch is streamed from a `Read` (a file, an HTTP body, or [`patch_pipe`]) and the result
//! is streamed into a `Write`.
//!
//! ## Format, version 1
//!
//! All integers little-endian. A patch is a fixed [`HEADER_LEN`] = 92-byte header, then the
//! body.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `TUFODLTA` |
//! | 8 | 1 | format version, `1` |
//! | 9 | 1 | algorithm, `1` = bsdiff records in zstd ([`Algorithm::BsdiffZstd`]) |
//! | 10 | 2 | reserved, must be `0` |
//! | 12 | 8 | base length (u64) |
//! | 20 | 32 | base sha256 |
//! | 52 | 8 | result length (u64) |
//! | 60 | 32 | result sha256 |
//!
//! The body is one or more concatenated zstd frames whose window is at most
//! 2^[`MAX_WINDOW_LOG`] = 8 MiB; the applier sets the decoder's `windowLogMax` to that, so a
//! frame asking for more is refused instead of allocated. Decompressed, the body is a sequence
//! of records, each:
//!
//! ```text
//! seek      zigzag LEB128 i64   move the base cursor by this much (cursor starts at 0)
//! diff_len  LEB128 u64          then: diff_len bytes, each added (mod 256) to the base byte
//!                               under the cursor, cursor advancing; output the sums
//! extra_len LEB128 u64          then: extra_len literal bytes, output as they are
//! <diff_len bytes> <extra_len bytes>
//! ```
//!
//! The three streams of bsdiff (control, diff, extra) are thus interleaved record by record,
//! which is what lets the applier work from a forward-only patch stream with no buffering
//! beyond a fixed chunk. Rules the applier enforces: a record with `diff_len` and `extra_len`
//! both 0 is refused; the diff span `cursor+seek .. cursor+seek+diff_len` must lie inside the
//! base; the sum of all record lengths must equal the declared result length exactly (a record
//! that would pass it is refused before any of its bytes are written); the stream must end
//! right after the record that completes the result; varints are at most 10 bytes.
//!
//! Why this algorithm and this outer compression: see the measurement table in `FORMAT.md`
//! (suffix-array bsdiff matching with zstd -22 at an 8 MiB window was the smallest of the
//! bounded-memory candidates on every corpus pair).
//!
//! ## Verification
//!
//! [`apply`] checks the header, then reads the whole base once to check its length and sha256
//! (so a wrong base is refused before any output; a client may also call [`verify_base`]
//! itself after [`read_header`], before downloading the rest), then hashes the result while
//! streaming it, and returns `Ok` only when the result has exactly the declared length and
//! sha256. Output written before an `Err` must be discarded by the caller.

#![forbid(unsafe_code)]

mod apply;
mod error;
#[cfg(feature = "generate")]
mod generate;
mod header;
mod pipe;
mod record;

pub use apply::{apply, verify_base, ApplyStats};
pub use error::DeltaError;
#[cfg(feature = "generate")]
pub use generate::{generate, generate_to, write_raw_sections, write_raw_stream, GenerateOptions};
pub use header::{read_header, Algorithm, PatchHeader, FORMAT_VERSION, HEADER_LEN, MAGIC};
pub use pipe::{patch_pipe, PatchReceiver, PatchSender, PIPE_CHUNK};

/// LZMA2 dictionary size of every patch: 8 MiB, the bulk of the applier's memory. Fixed by the
/// format (the body is raw LZMA2 without a container), so a patch cannot make the device
/// allocate more.
pub const LZMA_DICT_SIZE: u32 = 8 << 20;
