use olpc_cjson::CanonicalFormatter;
use serde::Serialize;

use super::MetadataError;

/// The OLPC canonical JSON form of a value: what TUF signatures cover (spec §4.2). Floats
/// have no canonical form and are refused.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, MetadataError> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, CanonicalFormatter::new());
    value
        .serialize(&mut ser)
        .map_err(|e| MetadataError::Canonical {
            reason: e.to_string(),
        })?;
    Ok(out)
}
