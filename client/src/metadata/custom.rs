//! tufota's fields in a target's `custom` object (DESIGN.md "Metadata conventions"). They
//! ride inside signed targets metadata, so device model, version, anti-rollback floor and
//! rollout are as trustworthy as the image hash. All are optional, so that plain TUF targets
//! are still targets; when present they must be well formed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{TargetFile, TufTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageType {
    Full,
    Delta,
}

/// A staged rollout: the share of devices admitted, from a start time on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    pub percent: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<TufTime>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// What a delta target applies to and what it produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeltaInfo {
    pub from_version: String,
    pub from_sha256: String,
    pub format: String,
    /// The full target this delta produces.
    pub to: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetCustom {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_model: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub image_type: Option<ImageType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<DeltaInfo>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl TargetCustom {
    /// The tufota fields of a target; an absent `custom` reads as all fields absent.
    pub fn of(target: &TargetFile) -> Result<Self, String> {
        let Some(custom) = &target.custom else {
            return Ok(Self::default());
        };
        let parsed = Self::deserialize(custom).map_err(|e| format!("custom: {e}"))?;
        parsed.validate()?;
        Ok(parsed)
    }

    pub fn validate(&self) -> Result<(), String> {
        if let Some(r) = &self.rollout {
            if r.percent > 100 {
                return Err(format!(
                    "custom.rollout.percent is {}, above 100",
                    r.percent
                ));
            }
        }
        if let Some(d) = &self.delta {
            let hex_ok = d.from_sha256.len() == 64
                && d.from_sha256
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if !hex_ok {
                return Err("custom.delta.from_sha256 is not 64 lowercase hex digits".into());
            }
        }
        match (self.image_type, &self.delta) {
            (Some(ImageType::Delta), None) => {
                Err("custom.type is \"delta\" but custom.delta is missing".into())
            }
            (Some(ImageType::Full) | None, Some(_)) => {
                Err("custom.delta is present but custom.type is not \"delta\"".into())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(custom: Value) -> TargetFile {
        TargetFile {
            length: 1,
            hashes: BTreeMap::from([("sha256".into(), "00".into())]),
            custom: Some(custom),
            extra: BTreeMap::new(),
        }
    }

    #[test]
    fn reads_design_example() {
        let c = TargetCustom::of(&target(json!({
            "device_model": ["zte-x100", "zte-x100-rev2"],
            "component": "system", "version": "1.2.3", "build": "2026-03-15",
            "type": "delta", "security_version": 7,
            "rollout": {"percent": 10, "start": "2026-04-05T00:00:00Z"},
            "delta": {"from_version": "1.2.2", "from_sha256": "a".repeat(64),
                      "format": "tfd1", "to": "zte-x100/system/1.2.3/full.img"},
            "vendor-note": "kept"
        })))
        .unwrap();
        assert_eq!(c.image_type, Some(ImageType::Delta));
        assert_eq!(c.rollout.unwrap().percent, 10);
        assert!(c.extra.contains_key("vendor-note"));
    }

    #[test]
    fn refuses_malformed_fields() {
        for bad in [
            json!({"rollout": {"percent": 101}}),
            json!({"rollout": {"percent": -1}}),
            json!({"security_version": "7"}),
            json!({"type": "partial"}),
            json!({"type": "delta"}),
            json!({"device_model": "zte-x100"}),
            json!({"rollout": {"percent": 5, "start": "2026-04-05"}}),
            json!({"type": "delta", "delta": {"from_version": "1", "from_sha256": "XYZ", "format": "f", "to": "t"}}),
        ] {
            assert!(TargetCustom::of(&target(bad.clone())).is_err(), "{bad}");
        }
    }
}
