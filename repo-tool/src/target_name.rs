//! Target paths: what names may be published, where their bytes live under `targets/`, and
//! which delegated role a path belongs to.
//!
//! A target path is joined to a mirror's targets URL by every client and, by repo-tool, to
//! the `targets/` directory. A name with `..`, an absolute path, an empty segment or a
//! backslash could write outside `targets/` here, or be read differently by another client
//! (path traversal, TUF spec §5.7.3 leaves it to the repository to keep names sane).

use ring::digest;

use crate::error::{RepoError, Result};

/// Refuses names that could escape `targets/` or mean different files to different clients.
pub fn validate_target_name(name: &str) -> Result<()> {
    let refuse = |reason: &str| {
        Err(RepoError::TargetName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() {
        return refuse("empty");
    }
    if name.len() > 1024 {
        return refuse("longer than 1024 bytes");
    }
    if name.starts_with('/') {
        return refuse("absolute path");
    }
    if name.contains('\\') {
        return refuse("contains a backslash");
    }
    if name.chars().any(|c| c.is_control()) {
        return refuse("contains a control character");
    }
    for segment in name.split('/') {
        match segment {
            "" => return refuse("empty path segment"),
            "." | ".." => return refuse("contains a \".\" or \"..\" segment"),
            s if s.starts_with(".tmp-") => return refuse("segment starts with .tmp- (reserved)"),
            _ => {}
        }
    }
    Ok(())
}

/// The file a target's bytes are published as, relative to `targets/`: with consistent
/// snapshots `dir/<sha256hex>.<basename>` (TUF spec §5.7.2 "consistent targets"), else the name.
pub fn target_file_path(name: &str, sha256_hex: &str, consistent: bool) -> String {
    if !consistent {
        return name.to_string();
    }
    match name.rsplit_once('/') {
        Some((dir, base)) => format!("{dir}/{sha256_hex}.{base}"),
        None => format!("{sha256_hex}.{name}"),
    }
}

/// The TUF path hash: the lowercase hex sha256 of the target path (spec §4.5,
/// `path_hash_prefixes`), which hash-bin delegations match by prefix.
pub fn path_hash(name: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, name.as_bytes()))
}

/// TUF `paths` pattern matching: the trust core's, so that repo-tool files a target under
/// the very role a device will search for it.
pub use tufota_client::trust::path_matches;

/// Role names become file names (`N.NAME.json`): keep them to a safe alphabet.
pub fn validate_role_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        return Err(RepoError::Usage(format!(
            "role name {name:?}: use letters, digits, '-', '_' and '.' (not first), at most 128"
        )));
    }
    if tufota_client::metadata::TOP_LEVEL_ROLES.contains(&name) {
        return Err(RepoError::Usage(format!(
            "role name {name:?} is a top-level role and cannot be delegated"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escaping_names() {
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a//b",
            "a/",
            "a\\b",
            "./a",
            "a/./b",
            "a\nb",
        ] {
            assert!(validate_target_name(bad).is_err(), "{bad:?}");
        }
        for good in [
            "a",
            "dir/file.img",
            "zte-x100/system/1.2.3/full.img",
            "a..b",
        ] {
            validate_target_name(good).unwrap();
        }
    }

    #[test]
    fn consistent_names_keep_directories() {
        assert_eq!(target_file_path("d/e/f.img", "ab", true), "d/e/ab.f.img");
        assert_eq!(target_file_path("f.img", "ab", true), "ab.f.img");
        assert_eq!(target_file_path("d/f.img", "ab", false), "d/f.img");
    }

    #[test]
    fn globs_like_python_tuf() {
        assert!(path_matches("apps/*", "apps/x.img"));
        assert!(!path_matches("apps/*", "apps/sub/x.img"));
        assert!(path_matches("*/*.img", "a/b.img"));
        assert!(path_matches("file?.txt", "file1.txt"));
        assert!(path_matches("v[0-9].img", "v7.img"));
        assert!(!path_matches("v[!0-9].img", "v7.img"));
        assert!(!path_matches("apps/*", "other/x.img"));
    }

    #[test]
    fn path_hash_is_sha256_of_name() {
        assert_eq!(
            path_hash("file1.txt"),
            hex::encode(ring::digest::digest(&ring::digest::SHA256, b"file1.txt"))
        );
    }
}
