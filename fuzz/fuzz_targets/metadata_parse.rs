//! Any bytes, parsed as each role, then (when they parse) checked against the keys they
//! carry: the model must refuse or accept, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tufota_client::metadata::{custom::TargetCustom, Root, Signed, Snapshot, Targets, Timestamp};

fuzz_target!(|data: &[u8]| {
    if let Ok(root) = Signed::<Root>::from_bytes("root", data) {
        for (name, role) in &root.signed().roles {
            let _ = root.verify_threshold(name, &root.signed().keys, &role.keyids, role.threshold);
        }
    }
    let _ = Signed::<Timestamp>::from_bytes("timestamp", data);
    let _ = Signed::<Snapshot>::from_bytes("snapshot", data);
    if let Ok(targets) = Signed::<Targets>::from_bytes("targets", data) {
        for (path, file) in &targets.signed().targets {
            let _ = TargetCustom::of(file);
            if let Some(d) = &targets.signed().delegations {
                for (role, _) in tufota_client::trust::roles_for_target(d, path) {
                    if let Some((keys, ids, threshold)) =
                        tufota_client::trust::delegated_role_keys(d, &role)
                    {
                        let _ = targets.verify_threshold(&role, keys, &ids, threshold);
                    }
                }
            }
        }
    }
});
