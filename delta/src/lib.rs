//! # tufota-delta: binary patches for OTA images
//!
//! A patch turns one exact base image into one exact result image. It is made on a build
//! machine with the whole of both images in memory ([`generate`], feature `generate`) and
//! applied on a device in constant memory ([`apply`]): the base is read through `Read + Seek`
//! (or, without a lock or seeks, through positioned reads of a [`BaseImage`] such as a `File`:
//! [`apply_image`]), the patch is streamed from a `Read` (a file, an HTTP body, or
//! [`patch_pipe`]) and the result is streamed into a `Write`.
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
//! | 9 | 1 | algorithm: `1` = bsdiff records in raw LZMA2 ([`Algorithm::BsdiffLzma2`]), `2` = the same records in one zstd frame ([`Algorithm::BsdiffZstd`]) |
//! | 10 | 2 | reserved, must be `0` |
//! | 12 | 8 | base length (u64) |
//! | 20 | 32 | base sha256 |
//! | 52 | 8 | result length (u64) |
//! | 60 | 32 | result sha256 |
//!
//! With algorithm 1 the body is one raw LZMA2 stream (no .xz container, no check: the sha256s
//! cover integrity) ending with LZMA2's end marker; nothing may follow it. Its dictionary size
//! is not in the patch: the format fixes it at [`LZMA_DICT_SIZE`] = 8 MiB and the applier
//! allocates exactly that, so no patch can make a device allocate more. With algorithm 2 the
//! body is exactly one zstd frame whose window is at most 2^[`ZSTD_WINDOW_LOG`] = 8 MiB (the
//! applier's decoder refuses more); nothing may follow it. Decompressed, either body is a
//! sequence of records:
//!
//! ```text
//! record   := seek diff_len extra_len diff_runs extra_bytes
//! seek     := zigzag LEB128 i64   move the base cursor (starts at 0) by this much
//! diff_len := LEB128 u64          result bytes made from base bytes at the cursor
//! extra_len:= LEB128 u64          literal result bytes after them
//! diff_runs:= (zeros lits <lits bytes>)*   covering exactly diff_len bytes:
//!     zeros  LEB128 u64   copy this many base bytes unchanged
//!     lits   LEB128 u64   then this many bytes, each added (mod 256) to the next base byte
//! extra_bytes := <extra_len bytes>
//! ```
//!
//! These are bsdiff's control, diff and extra streams, interleaved record by record so the
//! applier works from a forward-only patch stream with fixed-size buffers, and with the diff
//! stream's zero runs (bytes unchanged between base and result, the bulk of it) coded as run
//! lengths rather than as zero bytes.
//!
//! Rules the applier enforces: a record with `diff_len` and `extra_len` both 0, and a diff run
//! with `zeros` and `lits` both 0, are refused (so the work is bounded by the result length);
//! diff runs may not cover more than `diff_len`; the diff span `cursor+seek ..
//! cursor+seek+diff_len` must lie inside the base; a record that would take the result past
//! the declared length is refused before any of its bytes are written; the decoded stream must
//! end right after the record that completes the result; varints are at most 10 bytes.
//!
//! Why this algorithm and this outer compression: the measurement table in `FORMAT.md`
//! (suffix-array bsdiff matching, sparse diff runs, LZMA2 with an 8 MiB dictionary was the
//! smallest of the bounded-memory candidates on every corpus pair, and under bsdiff 4.3 on all
//! three).
//!
//! ## Verification
//!
//! [`apply`] checks the header and the base's length, then applies the records while one
//! sequential pass over the base — the reads that also fill the applier's base window —
//! checks the base's sha256 on a helper thread, and hashes the result while streaming it. It
//! returns `Ok` only when the base's sha256 is the declared one and the result has exactly the
//! declared length and sha256; a wrong base is reported as such (`BaseHash`), after the work.
//! A client that must not spend that work calls [`verify_base`] itself after [`read_header`],
//! before downloading the rest. Output written before an `Err` must be discarded by the
//! caller.

#![forbid(unsafe_code)]

mod apply;
mod base;
mod decode;
mod error;
#[cfg(feature = "generate")]
mod generate;
mod hasher;
mod header;
mod pipe;
mod record;

pub use apply::{apply, apply_image, verify_base, verify_base_image, ApplyStats};
pub use base::BaseImage;
pub use error::DeltaError;
#[cfg(feature = "generate")]
pub use generate::{
    generate, generate_to, write_raw_sections, write_raw_stream, Codec, GenerateOptions,
    ZSTD_ABOVE_PERCENT, ZSTD_SIZE_SLACK_PERCENT,
};
pub use header::{read_header, Algorithm, PatchHeader, FORMAT_VERSION, HEADER_LEN, MAGIC};
pub use pipe::{patch_pipe, PatchReceiver, PatchSender, PIPE_CHUNK};

/// LZMA2 dictionary size of every patch: 8 MiB, the bulk of the applier's memory. Fixed by the
/// format (the body is raw LZMA2 without a container), so a patch cannot make the device
/// allocate more.
pub const LZMA_DICT_SIZE: u32 = 8 << 20;

/// Largest zstd window (log2 bytes) of an algorithm-2 body: 8 MiB, like the LZMA2 dictionary.
/// The applier's decoder refuses a frame that asks for more, so memory stays bounded.
pub const ZSTD_WINDOW_LOG: u32 = 23;
