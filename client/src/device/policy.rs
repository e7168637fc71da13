//! Which verified target, if any, this device installs. Pure: the verified targets, the
//! device's facts and the time come in; a decision and the reason for every target passed
//! over come out. Every field it reads rides inside signed targets metadata, so a mirror or
//! a man in the middle cannot change the decision; what the policy adds is the device's own
//! refusal of things a *compromised or mistaken server* may still sign:
//!
//! - an image for another device model or another component (wrong-image attack);
//! - an image whose `security_version` is below the one the device runs: the anti-rollback
//!   floor (TUF protects against rollback of *metadata*; this protects against a signed but
//!   vulnerable older *image* being re-offered — the "rollback attack" on the payload);
//! - an older or the same version (no downgrade, no pointless reinstall);
//! - a release whose staged rollout has not started, or whose percentage does not yet
//!   include this device.
//!
//! Versions are dotted numeric (`1`, `1.2`, `1.2.10`): compared number by number, missing
//! trailing numbers read as 0 (so `1.2` == `1.2.0`). Anything else (`1.2-rc1`, `v1`) is not a
//! version the policy can order, so the target is passed over with that reason, rather than
//! ordered by a guess.
//!
//! The rollout bucket is the first 8 bytes of SHA-256(`device_id` NUL `component` NUL
//! `version`) as a big-endian integer, mod 100; the device is admitted when its bucket is
//! below the percent. The same device lands in the same bucket for a release every time, so
//! raising the percent only adds devices; a new release reshuffles, so the same devices are
//! not always first.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::metadata::custom::{ImageType, TargetCustom};
use crate::metadata::TargetFile;

/// A dotted numeric version. Equality is numeric too: `1.2` == `1.2.0`.
#[derive(Debug, Clone)]
pub struct Version(Vec<u64>);

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        if s.is_empty() || s.len() > 64 {
            return None;
        }
        s.split('.')
            .map(|part| {
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    part.parse::<u64>().ok()
                }
            })
            .collect::<Option<Vec<u64>>>()
            .map(Version)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.0.len().max(other.0.len());
        for i in 0..len {
            let a = self.0.get(i).copied().unwrap_or(0);
            let b = other.0.get(i).copied().unwrap_or(0);
            match a.cmp(&b) {
                Ordering::Equal => continue,
                unequal => return unequal,
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The rollout bucket (0..100) of a device for one release.
pub fn rollout_bucket(device_id: &str, component: &str, version: &str) -> u8 {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(device_id.as_bytes());
    ctx.update(b"\0");
    ctx.update(component.as_bytes());
    ctx.update(b"\0");
    ctx.update(version.as_bytes());
    let digest = ctx.finish();
    let mut first = [0u8; 8];
    for (dst, src) in first.iter_mut().zip(digest.as_ref()) {
        *dst = *src;
    }
    (u64::from_be_bytes(first) % 100) as u8
}

/// What the device knows about one of its components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledComponent {
    /// Version of the image in the active (confirmed) slot.
    pub version: String,
    /// The anti-rollback floor: the highest security_version this device has confirmed.
    pub security_floor: u64,
    /// sha256 (lowercase hex) of the image in the active slot, if known: a delta applies
    /// only to exactly this base.
    pub active_sha256: Option<String>,
    /// Target names that were installed here and failed to boot or were rolled back; not
    /// offered again (a boot loop otherwise).
    pub refused_targets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFacts {
    pub device_id: String,
    pub model: String,
    pub components: BTreeMap<String, InstalledComponent>,
    /// Delta formats this client can apply.
    pub delta_formats: Vec<String>,
}

/// Why a target was passed over. Serialized for `check --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// `custom` is present but malformed.
    MalformedCustom {
        message: String,
    },
    /// No `custom.component`/`custom.version`: a plain TUF target, not a device image.
    NotAnImage,
    /// `custom.device_model` is missing or does not list this device's model.
    OtherModel {
        listed: Vec<String>,
    },
    /// The component is not one this device has.
    UnknownComponent {
        component: String,
    },
    UnorderableVersion {
        version: String,
    },
    NotNewer {
        version: String,
        installed: String,
    },
    SecurityVersionBelowFloor {
        security_version: u64,
        floor: u64,
    },
    /// A full image without `security_version` cannot be checked against the floor.
    NoSecurityVersion,
    RolloutNotStarted {
        start: String,
    },
    OutsideRollout {
        bucket: u8,
        percent: u8,
    },
    PreviouslyRefused,
    /// A newer admissible version of the same component was chosen.
    Superseded {
        chosen: String,
    },
    /// A delta whose base is not the image in the active slot.
    DeltaBaseMismatch {
        from_sha256: String,
    },
    DeltaFormatUnsupported {
        format: String,
    },
    /// A delta producing a target that is not the chosen one.
    DeltaForOtherTarget {
        to: String,
    },
    /// A delta whose full target is not listed: its result could not be verified.
    DeltaTargetMissing {
        to: String,
    },
    /// The delta's own version fields disagree with the full target it names.
    DeltaInconsistent {
        message: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedCustom { message } => write!(f, "malformed custom fields: {message}"),
            Self::NotAnImage => write!(f, "no custom.component/custom.version: not a device image"),
            Self::OtherModel { listed } => {
                write!(f, "meant for device models {listed:?}, not this one")
            }
            Self::UnknownComponent { component } => {
                write!(f, "component {component:?} is not on this device")
            }
            Self::UnorderableVersion { version } => {
                write!(f, "version {version:?} is not dotted numeric")
            }
            Self::NotNewer { version, installed } => {
                write!(f, "version {version} is not newer than installed {installed}")
            }
            Self::SecurityVersionBelowFloor {
                security_version,
                floor,
            } => write!(
                f,
                "security_version {security_version} is below this device's floor {floor} (anti-rollback)"
            ),
            Self::NoSecurityVersion => write!(f, "no custom.security_version to check the anti-rollback floor"),
            Self::RolloutNotStarted { start } => write!(f, "rollout starts at {start}"),
            Self::OutsideRollout { bucket, percent } => write!(
                f,
                "rollout admits buckets below {percent}; this device is in bucket {bucket}"
            ),
            Self::PreviouslyRefused => write!(f, "failed to boot or was rolled back on this device before"),
            Self::Superseded { chosen } => write!(f, "newer {chosen} chosen instead"),
            Self::DeltaBaseMismatch { from_sha256 } => write!(
                f,
                "delta base {from_sha256} is not the image in the active slot"
            ),
            Self::DeltaFormatUnsupported { format } => {
                write!(f, "delta format {format:?} is not supported")
            }
            Self::DeltaForOtherTarget { to } => write!(f, "delta produces {to}, which was not chosen"),
            Self::DeltaTargetMissing { to } => {
                write!(f, "delta produces {to}, which is not in signed targets")
            }
            Self::DeltaInconsistent { message } => write!(f, "delta inconsistent: {message}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub target: String,
    #[serde(flatten)]
    pub reason: SkipReason,
}

/// The chosen delta, applied against the active slot to produce `Choice::target`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DeltaChoice {
    pub name: String,
    pub file: TargetFile,
    pub format: String,
    pub from_sha256: String,
}

/// What to install for one component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub component: String,
    /// The full target: its hashes and length verify the result, delta or not.
    pub name: String,
    pub file: TargetFile,
    pub version: String,
    pub security_version: u64,
    pub from_version: String,
    pub delta: Option<DeltaChoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Decision {
    pub choices: Vec<Choice>,
    pub skipped: Vec<Skipped>,
}

struct Candidate<'a> {
    name: &'a str,
    file: &'a TargetFile,
    component: String,
    version_text: String,
    version: Version,
    security_version: u64,
}

/// Decides, per component, what to install. `targets` are the verified targets (all
/// delegations already resolved by the updater); `now` is the time rollout starts are
/// compared with.
pub fn decide(
    targets: &[(String, TargetFile)],
    device: &DeviceFacts,
    now: DateTime<Utc>,
) -> Decision {
    let mut decision = Decision::default();
    let mut skip = |target: &str, reason: SkipReason| {
        decision.skipped.push(Skipped {
            target: target.to_owned(),
            reason,
        })
    };
    let mut fulls: Vec<Candidate> = Vec::new();
    let mut deltas: Vec<(&str, &TargetFile, TargetCustom)> = Vec::new();

    for (name, file) in targets {
        let custom = match TargetCustom::of(file) {
            Ok(c) => c,
            Err(message) => {
                skip(name, SkipReason::MalformedCustom { message });
                continue;
            }
        };
        let (Some(component), Some(version_text)) = (&custom.component, &custom.version) else {
            skip(name, SkipReason::NotAnImage);
            continue;
        };
        let models = custom.device_model.clone().unwrap_or_default();
        if !models.iter().any(|m| m == &device.model) {
            skip(name, SkipReason::OtherModel { listed: models });
            continue;
        }
        let Some(installed) = device.components.get(component) else {
            skip(
                name,
                SkipReason::UnknownComponent {
                    component: component.clone(),
                },
            );
            continue;
        };
        if custom.image_type == Some(ImageType::Delta) {
            deltas.push((name, file, custom));
            continue;
        }
        let Some(version) = Version::parse(version_text) else {
            skip(
                name,
                SkipReason::UnorderableVersion {
                    version: version_text.clone(),
                },
            );
            continue;
        };
        let Some(installed_version) = Version::parse(&installed.version) else {
            skip(
                name,
                SkipReason::UnorderableVersion {
                    version: installed.version.clone(),
                },
            );
            continue;
        };
        if version <= installed_version {
            skip(
                name,
                SkipReason::NotNewer {
                    version: version_text.clone(),
                    installed: installed.version.clone(),
                },
            );
            continue;
        }
        let Some(security_version) = custom.security_version else {
            skip(name, SkipReason::NoSecurityVersion);
            continue;
        };
        if security_version < installed.security_floor {
            skip(
                name,
                SkipReason::SecurityVersionBelowFloor {
                    security_version,
                    floor: installed.security_floor,
                },
            );
            continue;
        }
        if let Some(rollout) = &custom.rollout {
            if let Some(start) = rollout.start {
                if now < start.0 {
                    skip(
                        name,
                        SkipReason::RolloutNotStarted {
                            start: crate::metadata::format_time(&start.0),
                        },
                    );
                    continue;
                }
            }
            let bucket = rollout_bucket(&device.device_id, component, version_text);
            if bucket >= rollout.percent {
                skip(
                    name,
                    SkipReason::OutsideRollout {
                        bucket,
                        percent: rollout.percent,
                    },
                );
                continue;
            }
        }
        if installed.refused_targets.iter().any(|t| t == name) {
            skip(name, SkipReason::PreviouslyRefused);
            continue;
        }
        fulls.push(Candidate {
            name,
            file,
            component: component.clone(),
            version_text: version_text.clone(),
            version,
            security_version,
        });
    }

    // Newest admissible full image per component; ties (the same version under two names)
    // resolve to the first name in order, so the decision is deterministic.
    let mut best: BTreeMap<String, Candidate> = BTreeMap::new();
    let mut superseded: Vec<Candidate> = Vec::new();
    fulls.sort_by(|a, b| a.name.cmp(b.name));
    for candidate in fulls {
        match best.get(&candidate.component) {
            Some(current) if current.version >= candidate.version => superseded.push(candidate),
            _ => {
                if let Some(old) = best.insert(candidate.component.clone(), candidate) {
                    superseded.push(old);
                }
            }
        }
    }
    for candidate in superseded {
        let chosen = best
            .get(&candidate.component)
            .map(|c| c.name.to_owned())
            .unwrap_or_default();
        skip(candidate.name, SkipReason::Superseded { chosen });
    }

    let mut chosen_deltas: BTreeMap<String, DeltaChoice> = BTreeMap::new();
    for (name, file, custom) in deltas {
        let Some(info) = &custom.delta else {
            // TargetCustom::of refuses type delta without a delta object.
            continue;
        };
        let component = custom.component.clone().unwrap_or_default();
        let Some(full) = best.get(&component) else {
            skip(
                name,
                SkipReason::DeltaForOtherTarget {
                    to: info.to.clone(),
                },
            );
            continue;
        };
        if info.to != full.name {
            let listed = targets.iter().any(|(n, _)| n == &info.to);
            let reason = if listed {
                SkipReason::DeltaForOtherTarget {
                    to: info.to.clone(),
                }
            } else {
                SkipReason::DeltaTargetMissing {
                    to: info.to.clone(),
                }
            };
            skip(name, reason);
            continue;
        }
        if custom.version.as_deref() != Some(full.version_text.as_str()) {
            skip(
                name,
                SkipReason::DeltaInconsistent {
                    message: format!(
                        "delta version {:?} but {} is version {}",
                        custom.version, full.name, full.version_text
                    ),
                },
            );
            continue;
        }
        let installed = device.components.get(&component);
        let base_ok = installed
            .and_then(|i| i.active_sha256.as_deref())
            .is_some_and(|sha| sha == info.from_sha256);
        if !base_ok {
            skip(
                name,
                SkipReason::DeltaBaseMismatch {
                    from_sha256: info.from_sha256.clone(),
                },
            );
            continue;
        }
        if !device.delta_formats.iter().any(|f| f == &info.format) {
            skip(
                name,
                SkipReason::DeltaFormatUnsupported {
                    format: info.format.clone(),
                },
            );
            continue;
        }
        if chosen_deltas.contains_key(&component) {
            skip(
                name,
                SkipReason::Superseded {
                    chosen: chosen_deltas
                        .get(&component)
                        .map(|d| d.name.clone())
                        .unwrap_or_default(),
                },
            );
            continue;
        }
        chosen_deltas.insert(
            component,
            DeltaChoice {
                name: name.to_owned(),
                file: file.clone(),
                format: info.format.clone(),
                from_sha256: info.from_sha256.clone(),
            },
        );
    }

    for (component, full) in best {
        let from_version = device
            .components
            .get(&component)
            .map(|c| c.version.clone())
            .unwrap_or_default();
        decision.choices.push(Choice {
            delta: chosen_deltas.remove(&component),
            component,
            name: full.name.to_owned(),
            file: full.file.clone(),
            version: full.version_text,
            security_version: full.security_version,
            from_version,
        });
    }
    decision
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("1.2.10") > v("1.2.9"));
        assert!(v("2") > v("1.99.99"));
        assert_eq!(v("1.2"), v("1.2.0"));
        assert!(v("1.2.0.1") > v("1.2"));
        for bad in [
            "",
            "1..2",
            "v1",
            "1.2-rc1",
            " 1",
            "1.",
            "99999999999999999999999",
        ] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn bucket_is_stable_and_spread() {
        assert_eq!(
            rollout_bucket("dev-1", "system", "1.0"),
            rollout_bucket("dev-1", "system", "1.0")
        );
        let mut seen = [0u32; 100];
        for i in 0..10_000 {
            let b = rollout_bucket(&format!("dev-{i}"), "system", "1.0");
            seen[b as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 40), "{seen:?}");
    }
}
