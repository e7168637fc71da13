//! The delta format devices apply: `tufota-delta` patches (header with base and result
//! lengths and sha256, LZMA2 body of bsdiff records; see delta/FORMAT.md), named
//! `"tufota-delta-1"` in a target's `custom.delta.format` — crate name and its format
//! version, so a future incompatible format gets a new name that old clients pass over
//! (the policy skips formats it does not know) instead of misapplying.

use std::io::{Read, Write};

use super::install::{DeltaApplier, ReadSeek};

/// `custom.delta.format` of a `tufota-delta` version 1 patch.
pub const TUFOTA_DELTA_FORMAT: &str = "tufota-delta-1";

/// Applies `tufota-delta` patches. The crate checks the base's length and sha256 before
/// writing anything and the result's while streaming; the engine checks the patch against
/// the delta target's signed hashes and the result against the full target's.
pub struct TufotaDelta;

impl DeltaApplier for TufotaDelta {
    fn formats(&self) -> Vec<String> {
        vec![TUFOTA_DELTA_FORMAT.to_owned()]
    }

    fn apply(
        &self,
        format: &str,
        base: &mut dyn ReadSeek,
        patch: &mut dyn Read,
        out: &mut dyn Write,
    ) -> Result<(), String> {
        if format != TUFOTA_DELTA_FORMAT {
            return Err(format!(
                "delta format {format:?} is not {TUFOTA_DELTA_FORMAT:?}"
            ));
        }
        let mut base = base;
        let mut out = out;
        tufota_delta::apply(&mut base, patch, &mut out)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
