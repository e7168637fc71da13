//! Each rule of the device policy, one test per rule, on targets as signed metadata carries
//! them. The policy is pure, so these feed it targets, device facts and a time directly.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use tufota_client::device::policy::{
    decide, rollout_bucket, DeviceFacts, InstalledComponent, SkipReason,
};
use tufota_client::metadata::TargetFile;

const BASE_SHA: &str = "1111111111111111111111111111111111111111111111111111111111111111";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap()
}

fn target(custom: Value) -> TargetFile {
    TargetFile {
        length: 1000,
        hashes: BTreeMap::from([("sha256".into(), "ab".repeat(32))]),
        custom: Some(custom),
        extra: BTreeMap::new(),
    }
}

fn full(version: &str, security_version: u64) -> Value {
    json!({"device_model": ["zte-x100"], "component": "system", "version": version,
           "type": "full", "security_version": security_version})
}

fn device() -> DeviceFacts {
    DeviceFacts {
        device_id: "dev-0001".into(),
        model: "zte-x100".into(),
        components: BTreeMap::from([(
            "system".into(),
            InstalledComponent {
                version: "1.2.2".into(),
                security_floor: 7,
                active_sha256: Some(BASE_SHA.into()),
                refused_targets: vec![],
            },
        )]),
        delta_formats: vec!["tfd1".into()],
    }
}

fn reason_for<'a>(d: &'a tufota_client::device::Decision, name: &str) -> &'a SkipReason {
    &d.skipped
        .iter()
        .find(|s| s.target == name)
        .unwrap_or_else(|| panic!("{name} not skipped: {d:?}"))
        .reason
}

#[test]
fn picks_the_newest_admissible_full_image() {
    let targets = vec![
        ("sys-1.2.3.img".to_owned(), target(full("1.2.3", 7))),
        ("sys-1.2.10.img".to_owned(), target(full("1.2.10", 8))),
        ("sys-1.2.9.img".to_owned(), target(full("1.2.9", 8))),
    ];
    let d = decide(&targets, &device(), now());
    assert_eq!(d.choices.len(), 1);
    let c = &d.choices[0];
    assert_eq!(
        (c.name.as_str(), c.version.as_str()),
        ("sys-1.2.10.img", "1.2.10")
    );
    assert_eq!(c.from_version, "1.2.2");
    assert!(c.delta.is_none());
    assert!(
        matches!(reason_for(&d, "sys-1.2.3.img"), SkipReason::Superseded { chosen } if chosen == "sys-1.2.10.img")
    );
    assert!(matches!(
        reason_for(&d, "sys-1.2.9.img"),
        SkipReason::Superseded { .. }
    ));
}

#[test]
fn other_device_model_or_no_model_list_is_passed_over() {
    let mut other = full("2.0", 9);
    other["device_model"] = json!(["zte-x200"]);
    let mut none = full("2.0", 9);
    none.as_object_mut().unwrap().remove("device_model");
    let targets = vec![
        ("other.img".to_owned(), target(other)),
        ("none.img".to_owned(), target(none)),
    ];
    let d = decide(&targets, &device(), now());
    assert!(d.choices.is_empty());
    assert!(
        matches!(reason_for(&d, "other.img"), SkipReason::OtherModel { listed } if listed == &["zte-x200"])
    );
    assert!(
        matches!(reason_for(&d, "none.img"), SkipReason::OtherModel { listed } if listed.is_empty())
    );
}

#[test]
fn unknown_component_and_plain_targets_are_passed_over() {
    let mut bootloader = full("2.0", 9);
    bootloader["component"] = json!("bootloader");
    let plain = TargetFile {
        custom: None,
        ..target(json!({}))
    };
    let targets = vec![
        ("boot.img".to_owned(), target(bootloader)),
        ("readme.txt".to_owned(), plain),
        (
            "bad.img".to_owned(),
            target(json!({"rollout": {"percent": 300}})),
        ),
    ];
    let d = decide(&targets, &device(), now());
    assert!(d.choices.is_empty());
    assert!(
        matches!(reason_for(&d, "boot.img"), SkipReason::UnknownComponent { component } if component == "bootloader")
    );
    assert_eq!(reason_for(&d, "readme.txt"), &SkipReason::NotAnImage);
    assert!(matches!(
        reason_for(&d, "bad.img"),
        SkipReason::MalformedCustom { .. }
    ));
}

#[test]
fn older_same_and_unorderable_versions_are_refused() {
    let targets = vec![
        ("older.img".to_owned(), target(full("1.2.1", 9))),
        ("same.img".to_owned(), target(full("1.2.2", 9))),
        ("same-padded.img".to_owned(), target(full("1.2.2.0", 9))),
        ("rc.img".to_owned(), target(full("1.3.0-rc1", 9))),
    ];
    let d = decide(&targets, &device(), now());
    assert!(d.choices.is_empty(), "{d:?}");
    for name in ["older.img", "same.img", "same-padded.img"] {
        assert!(
            matches!(reason_for(&d, name), SkipReason::NotNewer { .. }),
            "{name}"
        );
    }
    assert!(matches!(
        reason_for(&d, "rc.img"),
        SkipReason::UnorderableVersion { .. }
    ));
}

#[test]
fn a_newer_version_with_a_lower_security_version_is_refused() {
    // The server signed it, and its version number is higher; the floor still wins.
    let targets = vec![
        ("sv6.img".to_owned(), target(full("9.0", 6))),
        (
            "nosv.img".to_owned(),
            target(json!({"device_model": ["zte-x100"], "component": "system", "version": "9.1"})),
        ),
    ];
    let d = decide(&targets, &device(), now());
    assert!(d.choices.is_empty());
    assert_eq!(
        reason_for(&d, "sv6.img"),
        &SkipReason::SecurityVersionBelowFloor {
            security_version: 6,
            floor: 7
        }
    );
    assert_eq!(reason_for(&d, "nosv.img"), &SkipReason::NoSecurityVersion);
}

#[test]
fn rollout_start_in_the_future_is_not_yet_admitted() {
    let mut t = full("1.3", 7);
    t["rollout"] = json!({"percent": 100, "start": "2026-05-01T00:00:01Z"});
    let targets = vec![("later.img".to_owned(), target(t))];
    let d = decide(&targets, &device(), now());
    assert!(d.choices.is_empty());
    assert!(
        matches!(reason_for(&d, "later.img"), SkipReason::RolloutNotStarted { start } if start == "2026-05-01T00:00:01Z")
    );
    // At the start second it is admitted.
    let at_start = now() + chrono::Duration::seconds(1);
    assert_eq!(decide(&targets, &device(), at_start).choices.len(), 1);
}

#[test]
fn rollout_percent_admits_exactly_the_buckets_below_it() {
    let bucket = rollout_bucket("dev-0001", "system", "1.3");
    for percent in [0u8, bucket, bucket + 1, 100] {
        let mut t = full("1.3", 7);
        t["rollout"] = json!({"percent": percent});
        let d = decide(&[("r.img".to_owned(), target(t))], &device(), now());
        let admitted = !d.choices.is_empty();
        assert_eq!(
            admitted,
            bucket < percent,
            "bucket {bucket} percent {percent}"
        );
        if !admitted {
            assert_eq!(
                reason_for(&d, "r.img"),
                &SkipReason::OutsideRollout { bucket, percent }
            );
        }
    }
}

#[test]
fn rollout_grows_monotonically_over_a_fleet() {
    // Raising the percent only ever adds devices.
    let admitted = |percent: u8| -> Vec<usize> {
        (0..500)
            .filter(|i| rollout_bucket(&format!("dev-{i}"), "system", "1.3") < percent)
            .collect()
    };
    let ten = admitted(10);
    let fifty = admitted(50);
    assert!(ten.iter().all(|d| fifty.contains(d)));
    assert!(!ten.is_empty() && fifty.len() > ten.len() && fifty.len() < 500);
}

#[test]
fn a_target_that_failed_to_boot_here_is_not_offered_again() {
    let mut facts = device();
    facts.components.get_mut("system").unwrap().refused_targets = vec!["bad.img".into()];
    let targets = vec![("bad.img".to_owned(), target(full("1.3", 7)))];
    let d = decide(&targets, &facts, now());
    assert!(d.choices.is_empty());
    assert_eq!(reason_for(&d, "bad.img"), &SkipReason::PreviouslyRefused);
}

fn delta(version: &str, from_sha: &str, to: &str, format: &str) -> Value {
    json!({"device_model": ["zte-x100"], "component": "system", "version": version,
           "type": "delta", "security_version": 8,
           "delta": {"from_version": "1.2.2", "from_sha256": from_sha, "format": format, "to": to}})
}

#[test]
fn a_delta_from_exactly_the_active_image_is_preferred() {
    let other_sha = "22".repeat(32);
    let targets = vec![
        ("full-1.3.img".to_owned(), target(full("1.3", 8))),
        (
            "d-good".to_owned(),
            target(delta("1.3", BASE_SHA, "full-1.3.img", "tfd1")),
        ),
        (
            "d-otherbase".to_owned(),
            target(delta("1.3", &other_sha, "full-1.3.img", "tfd1")),
        ),
        (
            "d-format".to_owned(),
            target(delta("1.3", BASE_SHA, "full-1.3.img", "bsdiff9")),
        ),
        (
            "d-missing".to_owned(),
            target(delta("1.3", BASE_SHA, "full-1.4.img", "tfd1")),
        ),
        (
            "d-version".to_owned(),
            target(delta("1.4", BASE_SHA, "full-1.3.img", "tfd1")),
        ),
    ];
    let d = decide(&targets, &device(), now());
    let c = &d.choices[0];
    assert_eq!(c.name, "full-1.3.img");
    let chosen = c.delta.as_ref().expect("delta chosen");
    assert_eq!(chosen.name, "d-good");
    assert!(matches!(
        reason_for(&d, "d-otherbase"),
        SkipReason::DeltaBaseMismatch { .. }
    ));
    assert!(matches!(
        reason_for(&d, "d-format"),
        SkipReason::DeltaFormatUnsupported { .. }
    ));
    assert!(matches!(
        reason_for(&d, "d-missing"),
        SkipReason::DeltaTargetMissing { .. }
    ));
    assert!(matches!(
        reason_for(&d, "d-version"),
        SkipReason::DeltaInconsistent { .. }
    ));
}

#[test]
fn without_a_known_active_hash_the_full_image_is_used() {
    let mut facts = device();
    facts.components.get_mut("system").unwrap().active_sha256 = None;
    let targets = vec![
        ("full-1.3.img".to_owned(), target(full("1.3", 8))),
        (
            "d-good".to_owned(),
            target(delta("1.3", BASE_SHA, "full-1.3.img", "tfd1")),
        ),
    ];
    let d = decide(&targets, &facts, now());
    assert!(d.choices[0].delta.is_none());
    assert!(matches!(
        reason_for(&d, "d-good"),
        SkipReason::DeltaBaseMismatch { .. }
    ));
}

#[test]
fn skip_reasons_serialize_for_check_json() {
    let targets = vec![("older.img".to_owned(), target(full("1.0", 9)))];
    let d = decide(&targets, &device(), now());
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["skipped"][0]["target"], "older.img");
    assert_eq!(v["skipped"][0]["reason"], "not_newer");
    assert_eq!(
        d.skipped[0].reason.to_string(),
        "version 1.0 is not newer than installed 1.2.2"
    );
}
