//! Helpers shared by the conformance tests: where the workspace is, where python-tuf is.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The Python interpreter that has python-tuf: `$TUFOTA_PYTHON`, else `<workspace>/.venv`.
/// Interoperability tests fail (never skip) without it: `bash scripts/setup-python.sh`.
pub fn python() -> PathBuf {
    let path = std::env::var_os("TUFOTA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    assert!(
        path.exists(),
        "python-tuf is not set up at {}: run `bash scripts/setup-python.sh` (scripts/test.sh does)",
        path.display()
    );
    path
}

/// Runs `conformance-tests/python/make_fixtures.py` into a fresh temporary directory.
pub fn python_fixtures() -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let script = workspace_root().join("conformance-tests/python/make_fixtures.py");
    let result = Command::new(python())
        .arg(&script)
        .arg(out.path())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        result.status.success(),
        "make_fixtures.py failed:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    out
}
