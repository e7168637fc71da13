//! The delta format devices apply: `tufota-delta` patches (header with base and result
//! lengths and sha256, LZMA2 body of bsdiff records; see delta/FORMAT.md), named
//! `"tufota-delta-1"` in a target's `custom.delta.format` — crate name and its format
//! version, so a future incompatible format gets a new name that old clients pass over
//! (the policy skips formats it does not know) instead of misapplying.

use std::fs::File;
use std::io::{Read, Write};

use super::install::DeltaApplier;

/// `custom.delta.format` of a `tufota-delta` version 1 patch.
pub const TUFOTA_DELTA_FORMAT: &str = "tufota-delta-1";

/// Applies `tufota-delta` patches. The patch header's base sha256 must be the active slot's
/// signed one before anything is written (the crate itself checks the base's content alongside
/// the records, so only at the end); the crate checks the result's while streaming; the
/// engine checks the patch against the delta target's signed hashes and the result against
/// the full target's.
pub struct TufotaDelta;

impl DeltaApplier for TufotaDelta {
    fn formats(&self) -> Vec<String> {
        vec![TUFOTA_DELTA_FORMAT.to_owned()]
    }

    fn apply(
        &self,
        format: &str,
        base_sha256: &str,
        base: &File,
        patch: &mut dyn Read,
        out: &mut dyn Write,
    ) -> Result<(), String> {
        if format != TUFOTA_DELTA_FORMAT {
            return Err(format!(
                "delta format {format:?} is not {TUFOTA_DELTA_FORMAT:?}"
            ));
        }
        // The header first, so that a patch made against another base is refused before a
        // single byte reaches the slot; the applier then reads it again from this buffer.
        let mut head = [0u8; tufota_delta::HEADER_LEN];
        patch
            .read_exact(&mut head)
            .map_err(|e| format!("reading the patch header: {e}"))?;
        let header = tufota_delta::read_header(&mut &head[..]).map_err(|e| e.to_string())?;
        let made_against = hex::encode(header.base_sha256);
        if !made_against.eq_ignore_ascii_case(base_sha256) {
            return Err(format!(
                "patch was made against base {made_against}, not the active slot's image {base_sha256}"
            ));
        }
        let mut out = out;
        tufota_delta::apply_image(base, (&head[..]).chain(patch), &mut out)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
