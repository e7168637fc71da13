//! Writes that survive a power cut: a whole file replaced by rename (temp file in the same
//! directory, fsync, rename, fsync the directory), so a reader finds the old or the new
//! content and never a torn one. Every write of the engine passes a [`StepHook`] the name of
//! the step it just finished; production passes [`NoHook`]. The power-loss test links the
//! library into its own binary and kills itself at the N-th step, which lets it place a
//! power cut between any two durable writes without any test code in the device binary.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Told each time the engine has finished a step that changes persistent state.
pub trait StepHook: Send + Sync {
    fn reached(&self, step: &str);
}

/// The hook of the device binary: does nothing.
pub struct NoHook;

impl StepHook for NoHook {
    fn reached(&self, _step: &str) {}
}

#[derive(Debug, Error)]
#[error("cannot write {path} durably: {source}")]
pub struct DurableWriteError {
    pub path: PathBuf,
    pub source: io::Error,
}

/// Replaces `path` with `bytes` atomically and durably.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    hook: &dyn StepHook,
) -> Result<(), DurableWriteError> {
    let fail = |source| DurableWriteError {
        path: path.to_owned(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .ok_or_else(|| fail(io::Error::new(io::ErrorKind::InvalidInput, "no file name")))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(fail)?;
        f.write_all(bytes).map_err(fail)?;
        hook.reached("atomic:tmp-written");
        f.sync_all().map_err(fail)?;
    }
    hook.reached("atomic:tmp-synced");
    fs::rename(&tmp, path).map_err(fail)?;
    hook.reached("atomic:renamed");
    sync_dir(dir).map_err(fail)?;
    Ok(())
}

/// Makes a rename or a file creation in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes a file durably; a missing file is not an error.
pub fn remove_durable(path: &Path, hook: &dyn StepHook) -> Result<(), DurableWriteError> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(DurableWriteError {
                path: path.to_owned(),
                source,
            })
        }
    }
    hook.reached("atomic:removed");
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(dir).map_err(|source| DurableWriteError {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(())
}

/// Reads a small state file, refusing one larger than `limit` (a state file that grew past
/// its bound is corrupt, and reading it whole would be unbounded).
pub fn read_bounded(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes"),
        ));
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        write_atomic(&p, b"one", &NoHook).unwrap();
        write_atomic(&p, b"two", &NoHook).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(read_bounded(&p, 2).is_err());
        assert_eq!(read_bounded(&p, 3).unwrap().unwrap(), b"two");
        remove_durable(&p, &NoHook).unwrap();
        assert!(read_bounded(&p, 3).unwrap().is_none());
    }
}
