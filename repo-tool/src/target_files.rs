//! Target files: reading each once to hash it, placing it under the name it is published as
//! (a hard link by default, or a copy made by the same read), many in parallel, and checking
//! at publish time that every listed target has its file.
//!
//! With consistent snapshots the name is `dir/<sha256>.<basename>` and the file goes straight
//! into `targets/`: unlisted names are never fetched, and an existing name already holds
//! these bytes, so nothing published changes meaning. Without consistent snapshots files wait
//! in `staged/targets/` and are renamed over the published ones at publish time.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use ring::digest;
use tufota_client::metadata::HashAlgorithm;

use crate::atomic::{parent_of, set_mode, sync_many};
use crate::error::{RepoError, Result};
use crate::layout::Repository;
use crate::target_name::{target_file_path, validate_target_name};

/// How a target's bytes get into the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageMode {
    /// A hard link to the source (no copy; falls back to copying across file systems). The
    /// source must then not be edited in place until published: the link shares its bytes.
    Link,
    /// A copy, made by the same read that hashes the file.
    Copy,
}

/// One file to add: where its bytes are and the target path it is published under.
#[derive(Debug, Clone)]
pub struct NewTarget {
    pub source: PathBuf,
    pub name: String,
}

/// A file read, hashed and staged.
#[derive(Debug, Clone)]
pub struct StagedFile {
    pub name: String,
    pub length: u64,
    pub hashes: BTreeMap<String, String>,
}

/// Turns command-line inputs into files to add. `FILE=NAME` pairs name each file; a single
/// FILE takes `--name`; a directory adds every regular file below it, named by its relative
/// path (prefixed by `--name DIR` if given).
pub fn expand_inputs(inputs: &[String], name: Option<&str>) -> Result<Vec<NewTarget>> {
    let mut out = Vec::new();
    for input in inputs {
        let path = PathBuf::from(input);
        if path.is_dir() {
            let prefix = name.map(|n| n.trim_end_matches('/').to_string());
            walk(&path, &path, prefix.as_deref(), &mut out)?;
        } else if let Some((file, target)) = input.split_once('=').filter(|_| !path.exists()) {
            out.push(NewTarget {
                source: file.into(),
                name: target.into(),
            });
        } else {
            let target = match (name, inputs.len()) {
                (Some(n), 1) => n.to_string(),
                (Some(_), _) => {
                    return Err(RepoError::Usage(
                        "--name names one file; with several use FILE=NAME pairs".into(),
                    ))
                }
                (None, _) => {
                    return Err(RepoError::Usage(format!(
                        "{input}: give --name TARGET_PATH or write FILE=NAME"
                    )))
                }
            };
            out.push(NewTarget {
                source: path,
                name: target,
            });
        }
    }
    let mut seen = BTreeSet::new();
    for t in &out {
        validate_target_name(&t.name)?;
        if !seen.insert(t.name.as_str()) {
            return Err(RepoError::TargetName {
                name: t.name.clone(),
                reason: "given twice in one call".into(),
            });
        }
    }
    Ok(out)
}

fn walk(base: &Path, dir: &Path, prefix: Option<&str>, out: &mut Vec<NewTarget>) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(RepoError::io(dir, "list directory"))?
        .collect::<std::io::Result<_>>()
        .map_err(RepoError::io(dir, "list directory"))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        // The type from the directory listing costs no stat; only symlinks are followed.
        let kind = match entry.file_type() {
            Ok(t) if t.is_symlink() => fs::metadata(&path).map(|m| m.file_type()),
            other => other,
        }
        .map_err(RepoError::io(&path, "stat"))?;
        if kind.is_dir() {
            walk(base, &path, prefix, out)?;
        } else if kind.is_file() {
            let rel = path.strip_prefix(base).unwrap_or(&path);
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let rel = rel.join("/");
            let name = match prefix {
                Some(p) if !p.is_empty() => format!("{p}/{rel}"),
                _ => rel,
            };
            out.push(NewTarget { source: path, name });
        }
    }
    Ok(())
}

/// Hashes every file with sha256 (always) and `extra` algorithms and puts it (hard link or
/// copy) under its final name — in `targets/` with consistent snapshots, else in
/// `staged/targets/` — using several threads. On error every file this call created is
/// removed again.
pub fn stage_files(
    repo: &Repository,
    consistent: bool,
    files: &[NewTarget],
    extra: &[HashAlgorithm],
    mode: StageMode,
) -> Result<Vec<StagedFile>> {
    // With consistent snapshots a file's name carries its hash, so it can go straight to
    // targets/: no client fetches a name that no signed metadata lists, and an existing file
    // of that name already has these bytes. Without, files wait in staged/targets/.
    let staged_root = if consistent {
        repo.targets_dir()
    } else {
        repo.staged_targets_dir()
    };
    let mut dirs = BTreeSet::new();
    for f in files {
        dirs.insert(parent_of(&staged_root.join(&f.name)).to_path_buf());
    }
    for d in &dirs {
        fs::create_dir_all(d).map_err(RepoError::io(d, "create directory"))?;
    }
    let progress = std::io::stderr().is_terminal() && files.len() > 1000;
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<StagedFile>>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    let written: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(4, 16)
        .min(files.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buffer = vec![0u8; 256 * 1024];
                loop {
                    if failed.load(Ordering::Relaxed) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { return };
                    let result =
                        stage_one(&staged_root, consistent, file, extra, mode, &mut buffer);
                    match &result {
                        Ok((_, Some(created))) => {
                            if let Ok(mut w) = written.lock() {
                                w.push(created.clone());
                            }
                        }
                        Ok((_, None)) => {}
                        Err(_) => failed.store(true, Ordering::Relaxed),
                    }
                    if let Ok(mut r) = results.lock() {
                        if let Some(slot) = r.get_mut(i) {
                            *slot = Some(result.map(|(s, _)| s));
                        }
                    }
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if progress && n % 1000 == 0 {
                        eprint!("\rhashed {n}/{}", files.len());
                    }
                }
            });
        }
    });
    if progress {
        eprintln!("\rhashed {}/{}", files.len(), files.len());
    }
    let results = results.into_inner().unwrap_or_default();
    let mut out = Vec::with_capacity(files.len());
    let mut first_error = None;
    for r in results.into_iter().flatten() {
        match r {
            Ok(s) => out.push(s),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        for path in written.into_inner().unwrap_or_default() {
            let _ = fs::remove_file(path);
        }
        return Err(e);
    }
    // Durable before any draft names them: one flush for the whole batch.
    let written = written.into_inner().unwrap_or_default();
    let dirs: Vec<PathBuf> = dirs.into_iter().collect();
    sync_many(&staged_root, &written, &dirs)?;
    Ok(out)
}

fn stage_one(
    staged_root: &Path,
    consistent: bool,
    file: &NewTarget,
    extra: &[HashAlgorithm],
    mode: StageMode,
    buffer: &mut [u8],
) -> Result<(StagedFile, Option<PathBuf>)> {
    if mode == StageMode::Link {
        if let Some(done) = link_one(staged_root, consistent, file, extra, buffer)? {
            return Ok(done);
        }
    }
    copy_one(staged_root, consistent, file, extra, buffer)
}

struct Hashing {
    sha256: digest::Context,
    others: Vec<(HashAlgorithm, digest::Context)>,
    length: u64,
}

impl Hashing {
    fn new(extra: &[HashAlgorithm]) -> Self {
        let others = extra
            .iter()
            .filter(|a| **a != HashAlgorithm::Sha256)
            .map(|a| {
                let alg = match a {
                    HashAlgorithm::Sha384 => &digest::SHA384,
                    _ => &digest::SHA512,
                };
                (*a, digest::Context::new(alg))
            })
            .collect();
        Hashing {
            sha256: digest::Context::new(&digest::SHA256),
            others,
            length: 0,
        }
    }

    fn update(&mut self, chunk: &[u8]) {
        self.sha256.update(chunk);
        for (_, ctx) in &mut self.others {
            ctx.update(chunk);
        }
        self.length += chunk.len() as u64;
    }

    /// The sha256 hex and every hash by name.
    fn finish(self) -> (String, u64, BTreeMap<String, String>) {
        let sha = hex::encode(self.sha256.finish());
        let mut hashes = BTreeMap::from([("sha256".to_string(), sha.clone())]);
        for (alg, ctx) in self.others {
            hashes.insert(alg.name().to_string(), hex::encode(ctx.finish()));
        }
        (sha, self.length, hashes)
    }
}

/// Hashes the source, then hard-links it under its final name. None when the file system
/// refuses the link (another device, no permission): the caller copies instead.
fn link_one(
    staged_root: &Path,
    consistent: bool,
    file: &NewTarget,
    extra: &[HashAlgorithm],
    buffer: &mut [u8],
) -> Result<Option<(StagedFile, Option<PathBuf>)>> {
    let source = &file.source;
    let mut input = File::open(source).map_err(RepoError::io(source, "open target file"))?;
    if !input
        .metadata()
        .map_err(RepoError::io(source, "stat target file"))?
        .is_file()
    {
        return Err(RepoError::Io {
            path: source.clone(),
            action: "read target file",
            source: std::io::Error::other("not a regular file"),
        });
    }
    let mut hashing = Hashing::new(extra);
    loop {
        let n = input
            .read(buffer)
            .map_err(RepoError::io(source, "read target file"))?;
        let Some(chunk) = buffer.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        hashing.update(chunk);
    }
    let (sha, length, hashes) = hashing.finish();
    let final_path = staged_root.join(target_file_path(&file.name, &sha, consistent));
    if !consistent {
        let _ = fs::remove_file(&final_path);
    }
    let created = match fs::hard_link(source, &final_path) {
        Ok(()) => Some(final_path),
        // Content-addressed: an existing file of this name has these bytes.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && consistent => None,
        Err(_) => return Ok(None),
    };
    Ok(Some((
        StagedFile {
            name: file.name.clone(),
            length,
            hashes,
        },
        created,
    )))
}

/// Copies the source into a temporary file while hashing it, then renames it to its name.
fn copy_one(
    staged_root: &Path,
    consistent: bool,
    file: &NewTarget,
    extra: &[HashAlgorithm],
    buffer: &mut [u8],
) -> Result<(StagedFile, Option<PathBuf>)> {
    let source = &file.source;
    let mut input = File::open(source).map_err(RepoError::io(source, "open target file"))?;
    let tmp_target = staged_root.join(&file.name);
    let dir = parent_of(&tmp_target);
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(RepoError::io(dir, "create a temporary file in"))?;
    set_mode(tmp.as_file(), tmp.path(), 0o644)?;
    let mut hashing = Hashing::new(extra);
    loop {
        let n = input
            .read(buffer)
            .map_err(RepoError::io(source, "read target file"))?;
        let Some(chunk) = buffer.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        hashing.update(chunk);
        tmp.write_all(chunk)
            .map_err(RepoError::io(tmp.path(), "write"))?;
    }
    let (sha, length, hashes) = hashing.finish();
    let final_path = staged_root.join(target_file_path(&file.name, &sha, consistent));
    let created = if consistent {
        // Never replace a file that may be published: same name, same bytes.
        match tmp.persist_noclobber(&final_path) {
            Ok(_) => Some(final_path),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => None,
            Err(e) => {
                return Err(RepoError::Io {
                    path: final_path,
                    action: "rename a temporary file onto",
                    source: e.error,
                })
            }
        }
    } else {
        tmp.persist(&final_path).map_err(|e| RepoError::Io {
            path: final_path.clone(),
            action: "rename a temporary file onto",
            source: e.error,
        })?;
        Some(final_path)
    };
    Ok((
        StagedFile {
            name: file.name.clone(),
            length,
            hashes,
        },
        created,
    ))
}

/// Checks that every target (name, sha256) has its file, and without consistent snapshots
/// moves the staged files into `targets/`. Refuses, before moving anything, if a target has
/// no file.
pub fn publish_files(
    repo: &Repository,
    consistent: bool,
    targets: &[(String, String)],
) -> Result<usize> {
    let staged_root = repo.staged_targets_dir();
    let published_root = repo.targets_dir();
    let mut moves = Vec::new();
    for (name, sha) in targets {
        let rel = target_file_path(name, sha, consistent);
        let staged = staged_root.join(&rel);
        let published = published_root.join(&rel);
        if !consistent && staged.is_file() {
            moves.push((staged, published));
        } else if !published.is_file() {
            return Err(RepoError::refused(
                &published,
                "targets",
                format!("target {name:?} has no file staged or published (add it again)"),
            ));
        }
    }
    let mut dirs = BTreeSet::new();
    for (_, to) in &moves {
        dirs.insert(parent_of(to).to_path_buf());
    }
    for d in &dirs {
        fs::create_dir_all(d).map_err(RepoError::io(d, "create directory"))?;
    }
    parallel_rename(&moves)?;
    // The renames must be durable before metadata naming the files is written.
    let dirs: Vec<PathBuf> = dirs.into_iter().collect();
    if !moves.is_empty() {
        sync_many(&published_root, &[], &dirs)?;
    }
    Ok(moves.len())
}

/// Renames in several threads: each rename waits on the file system's journal, and they do
/// not depend on one another.
fn parallel_rename(moves: &[(PathBuf, PathBuf)]) -> Result<()> {
    let next = AtomicUsize::new(0);
    let first_error: Mutex<Option<RepoError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((from, to)) = moves.get(i) else {
                    return;
                };
                if let Err(e) = fs::rename(from, to) {
                    if let Ok(mut slot) = first_error.lock() {
                        slot.get_or_insert(RepoError::Io {
                            path: to.clone(),
                            action: "move a staged target file onto",
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
