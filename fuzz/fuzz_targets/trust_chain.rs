//! Four documents cut from the input by 0xFF separators, fed to the trust core in workflow
//! order as root, timestamp, snapshot and targets: every refusal must be an error, not a
//! panic, and a refused update must leave the trusted set usable.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use tufota_client::trust::TrustedMetadata;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0xFF);
    let (Some(root), Some(ts), Some(snap), Some(targets)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let Some(now) = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single() else {
        return;
    };
    let Ok(mut trusted) = TrustedMetadata::new(root, now) else {
        return;
    };
    let _ = trusted.update_root(ts);
    let _ = trusted.check_root_not_expired();
    let _ = trusted.rotated_roles();
    let _ = trusted.update_timestamp(ts);
    let _ = trusted.update_snapshot(snap, false);
    let _ = trusted.update_snapshot(snap, true);
    let _ = trusted.update_targets(targets);
    let _ = trusted.update_delegated_targets(targets, "x", "targets");
    // A loaded role reached again through another delegator, or through itself.
    let _ = trusted.check_loaded_targets("x", "targets");
    let _ = trusted.check_loaded_targets("x", "x");
    let _ = trusted.check_loaded_targets("targets", "x");
});
