//! tufota's device-side library: the TUF 1.0.x metadata model and its signature checks,
//! shared with `repo-tool` so that a repository is always checked by the code devices run.
//!
//! Layers, innermost first:
//! - [`device`]: the update engine on the device: policy, A/B slots, install, journal,
//!   boot control, reports.
//! - [`metadata`]: the typed model of root, targets, snapshot and timestamp, canonical JSON,
//!   keys, signatures and hashes. Pure: bytes in, typed values or typed errors out.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod device;
pub mod metadata;
