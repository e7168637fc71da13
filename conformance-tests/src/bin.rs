//! The workspace's real binaries, `tufota-client` and `repo-tool`, for tests that run them
//! as a device or a publisher would. Cargo sets `CARGO_BIN_EXE_*` only for a package's own
//! binaries, so this builds both once per test process (`cargo build --bins`, the same
//! profile and target directory as the test itself) and returns their paths.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `<target>/<profile>`: the test executable lives in `<target>/<profile>/deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    exe.ancestors()
        .find(|dir| dir.file_name().is_some_and(|n| n == "deps"))
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("{} is not under target/<profile>/deps", exe.display()))
}

/// Variables cargo sets for a test process (besides `CARGO_PKG_*` and `CARGO_BIN_EXE_*`),
/// not settings of cargo itself.
const SET_FOR_TESTS: [&str; 7] = [
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
];

fn build_once() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let profile_dir = profile_dir();
        let target_dir = profile_dir
            .parent()
            .unwrap_or_else(|| panic!("{} has no parent", profile_dir.display()));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .current_dir(crate::workspace_root())
            .args([
                "build",
                "--quiet",
                "-p",
                "tufota-client",
                "-p",
                "repo-tool",
                "--bins",
            ])
            .arg("--target-dir")
            .arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            command.arg("--release");
        }
        // Cargo gives a running test its package's variables (CARGO_MANIFEST_DIR, ...).
        // Passed on, they change what build scripts see (ring reruns on
        // CARGO_MANIFEST_DIR), and every `cargo test` would then rebuild the binaries and
        // their dependencies from scratch.
        for (name, _) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            if SET_FOR_TESTS.contains(&name)
                || name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_BIN_EXE_")
            {
                command.env_remove(name);
            }
        }
        let status = command
            .status()
            .unwrap_or_else(|e| panic!("running cargo build: {e}"));
        assert!(status.success(), "cargo build of the binaries failed");
        profile_dir
    })
}

/// The path of the `tufota-client` binary, built if needed.
pub fn tufota_client() -> PathBuf {
    build_once().join(format!("tufota-client{}", std::env::consts::EXE_SUFFIX))
}

/// The path of the `repo-tool` binary, built if needed.
pub fn repo_tool() -> PathBuf {
    build_once().join(format!("repo-tool{}", std::env::consts::EXE_SUFFIX))
}
