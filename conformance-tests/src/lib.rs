//! Helpers shared by the conformance tests: where the workspace is, where python-tuf is.
#![forbid(unsafe_code)]

pub mod http;
pub mod repo;
