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

/// TUF `paths` pattern matching as python-tuf does it: pattern and path must have the same
/// number of `/`-separated segments, and each segment matches shell-style (`*` any run of
/// characters, `?` one character, `[...]` a class) without crossing a `/`.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let pattern_segments: Vec<&str> = pattern.split('/').collect();
    let path_segments: Vec<&str> = path.split('/').collect();
    pattern_segments.len() == path_segments.len()
        && pattern_segments
            .iter()
            .zip(&path_segments)
            .all(|(p, s)| fnmatch(p.as_bytes(), s.as_bytes()))
}

fn fnmatch(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| text.get(i..).is_some_and(|t| fnmatch(rest, t))),
        Some((b'?', rest)) => text.split_first().is_some_and(|(_, t)| fnmatch(rest, t)),
        Some((b'[', rest)) => match class_match(rest, text.first().copied()) {
            Some((true, after)) => text.get(1..).is_some_and(|t| fnmatch(after, t)),
            Some((false, _)) => false,
            // An unclosed `[` is a literal, as in fnmatch.
            None => text.first() == Some(&b'[') && text.get(1..).is_some_and(|t| fnmatch(rest, t)),
        },
        Some((c, rest)) => text.split_first().is_some_and(|(t0, t)| t0 == c && fnmatch(rest, t)),
    }
}

/// Matches one character against a class body `...]`; returns whether it matched and the
/// pattern after the class, or None when the class is not closed.
fn class_match(body: &[u8], ch: Option<u8>) -> Option<(bool, &[u8])> {
    let (negate, body) = match body.split_first() {
        Some((b'!', rest)) => (true, rest),
        _ => (false, body),
    };
    // A `]` first in the class is a member, not the end.
    let close = body.iter().skip(1).position(|&b| b == b']')? + 1;
    let (members, after) = body.split_at(close);
    let after = after.get(1..)?;
    let ch = ch?;
    let mut hit = false;
    let mut i = 0;
    while let Some(&m) = members.get(i) {
        if members.get(i + 1) == Some(&b'-') {
            if let Some(&hi) = members.get(i + 2) {
                hit |= (m..=hi).contains(&ch);
                i += 3;
                continue;
            }
        }
        hit |= m == ch;
        i += 1;
    }
    Some((hit != negate, after))
}

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
        for bad in ["", "/etc/passwd", "a/../b", "..", "a//b", "a/", "a\\b", "./a", "a/./b", "a\nb"] {
            assert!(validate_target_name(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "dir/file.img", "zte-x100/system/1.2.3/full.img", "a..b"] {
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
