//! tufota's device-side library: the TUF 1.0.x metadata model and its signature checks,
//! shared with `repo-tool` so that a repository is always checked by the code devices run.
//!
//! Layers, innermost first:
//! - [`metadata`]: the typed model of root, targets, snapshot and timestamp, canonical JSON,
//!   keys, signatures and hashes. Pure: bytes in, typed values or typed errors out.
//! - [`trust`]: the trust core, every check of the TUF client workflow over that model. Pure
//!   too: bytes and a reference time in, verdicts out.
//! - [`updater`]: the I/O shell around the trust core: the client workflow (fetch, verify,
//!   persist), the delegation search and verified target downloads, over
//! - [`transport`] (HTTP(S), `file://`, mirrors; bounded and speed-checked bodies) and
//! - [`store`] (the trusted metadata directory, written atomically).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod metadata;
pub mod store;
pub mod transport;
pub mod trust;
pub mod updater;
