//! Every file repo-tool publishes or stages is written atomically: a temporary file in the same
//! directory, fsync, rename over the destination, fsync the directory. A crash or a refusal
//! therefore leaves either the old file or the new one, never a torn mix — which is what lets
//! a repository stay servable while it is being updated.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;

use crate::error::{RepoError, Result};

/// Metadata documents larger than this are refused on read (a bound on memory; 100,000
/// targets with custom fields fit well within it).
pub const MAX_METADATA_BYTES: u64 = 512 * 1024 * 1024;

/// Writes a published or staged file, readable by a web server (mode 0644).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_mode(path, bytes, 0o644)
}

/// Writes a file with the given Unix mode (0600 for private keys).
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = parent_of(path);
    fs::create_dir_all(dir).map_err(RepoError::io(dir, "create directory"))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(RepoError::io(dir, "create a temporary file in"))?;
    set_mode(tmp.as_file(), tmp.path(), mode)?;
    tmp.write_all(bytes)
        .map_err(RepoError::io(tmp.path(), "write"))?;
    tmp.as_file()
        .sync_all()
        .map_err(RepoError::io(tmp.path(), "fsync"))?;
    tmp.persist(path).map_err(|e| RepoError::Io {
        path: path.to_path_buf(),
        action: "rename a temporary file onto",
        source: e.error,
    })?;
    sync_dir(dir)
}

/// Makes a rename or a new directory entry in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(RepoError::io(dir, "fsync directory"))
}

pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Reads a whole file, refusing one longer than `limit` bytes.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(RepoError::io(path, "open"))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(RepoError::io(path, "read"))?;
    if bytes.len() as u64 > limit {
        return Err(RepoError::Io {
            path: path.to_path_buf(),
            action: "read",
            source: std::io::Error::other(format!("longer than the limit of {limit} bytes")),
        });
    }
    Ok(bytes)
}

pub fn read_metadata_file(path: &Path) -> Result<Vec<u8>> {
    read_bounded(path, MAX_METADATA_BYTES)
}

/// Sets a file's Unix permission bits (temporary files start as 0600).
pub fn set_mode(file: &File, path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(RepoError::io(path, "set permissions of"))?;
    }
    #[cfg(not(unix))]
    let _ = (file, path, mode);
    Ok(())
}

/// Makes many new files and renames durable at once. Per-file fsync costs a disk flush each
/// (about half a millisecond here: 50 s for 100,000 small targets); one `syncfs(2)` of the
/// file system flushes them all. It is reached through coreutils' `sync --file-system`, since
/// this crate forbids the unsafe code a direct call needs; where that program is missing or
/// fails, every file and directory is fsynced instead, in parallel.
pub fn sync_many(
    fs_path: &Path,
    files: &[std::path::PathBuf],
    dirs: &[std::path::PathBuf],
) -> Result<()> {
    let synced = std::process::Command::new("sync")
        .arg("--file-system")
        .arg(fs_path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if synced {
        return Ok(());
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let first_error: std::sync::Mutex<Option<RepoError>> = std::sync::Mutex::new(None);
    let all: Vec<&std::path::PathBuf> = files.iter().chain(dirs).collect();
    std::thread::scope(|scope| {
        for _ in 0..16 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = all.get(i) else { return };
                if let Err(e) = File::open(path).and_then(|f| f.sync_all()) {
                    if let Ok(mut slot) = first_error.lock() {
                        slot.get_or_insert(RepoError::Io {
                            path: path.to_path_buf(),
                            action: "fsync",
                            source: e,
                        });
                    }
                    return;
                }
            });
        }
    });
    match first_error.into_inner().ok().flatten() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
