//! Helpers shared by the conformance tests: where the workspace is, where python-tuf is.
#![forbid(unsafe_code)]

pub mod bin;
pub mod http;
pub mod repo;

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

/// Validates `doc` against `metadata-schemas/<schema_file>`, with every schema of that
/// directory registered under its `$id` so relative `$ref`s resolve without a network.
/// Returns every violation, one line each.
pub fn check_against_schema(schema_file: &str, doc: &serde_json::Value) -> Result<(), Vec<String>> {
    use jsonschema::{Registry, Resource};
    let dir = workspace_root().join("metadata-schemas");
    let load = |name: &str| -> serde_json::Value {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let names = [
        "common.json",
        "root.json",
        "timestamp.json",
        "snapshot.json",
        "targets.json",
        "target-custom.json",
    ];
    let resources = names.iter().map(|name| {
        (
            format!("https://tufota.dev/schemas/{name}"),
            Resource::from_contents(load(name)),
        )
    });
    let registry = Registry::new()
        .extend(resources)
        .and_then(|b| b.prepare())
        .unwrap_or_else(|e| panic!("schema registry: {e}"));
    let schema = load(schema_file);
    let validator = jsonschema::options()
        .with_registry(&registry)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{schema_file}: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{schema_file}: {} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
