//! repo-tool: the publisher's and the security team's library behind the `repo-tool` CLI.
//! It builds TUF 1.0.x repositories with the metadata model devices use
//! (`tufota_client::metadata`) and checks them with the devices' trust core.
//!
//! Modules, by what they hold:
//! - [`layout`]: the repository directory and its settings; [`published`]: reading it.
//! - [`keys`]: private, offline and external (`cmd:`) keys; [`signatures`]: signing and
//!   threshold checks before anything is written.
//! - [`editor`]: drafts of targets roles and delegations; [`target_files`]: hashing and
//!   staging target files; [`target_name`]: which names are allowed and where they live;
//!   [`delta`]: patches and delta targets.
//! - [`init`], [`publish`], [`root_ceremony`]: the operations that write.
//! - [`status`], [`verify`], [`serve`]: reporting, checking as a device would, serving.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod atomic;
pub mod changes;
pub mod delta;
pub mod duration;
pub mod editor;
pub mod error;
pub mod init;
pub mod keys;
pub mod layout;
pub mod publish;
pub mod published;
pub mod root_ceremony;
pub mod serve;
pub mod signatures;
pub mod status;
pub mod target_files;
pub mod target_name;
pub mod verify;

pub use error::{exit, RepoError, Result};
