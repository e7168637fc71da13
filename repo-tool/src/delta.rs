//! Delta targets: patches (tufota-delta format, `delta/FORMAT.md`) that turn one exact
//! installed image into a new full image, published as targets of their own next to the full
//! image so a device can download far fewer bytes.
//!
//! A delta target is signed like any target (length and hashes of the patch), and its `custom`
//! names the exact base (`delta.from_sha256`) and the full target it produces (`delta.to`), so
//! the device checks its installed image before applying and the result against the full
//! target's signed hashes after (DESIGN.md "Metadata conventions"). The base bytes repo-tool
//! diffs against are checked against the repository's own signed or staged hashes first: a
//! patch made from a tampered copy would fail on every device.

use std::fs::{self, File};
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use ring::digest;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tufota_client::device::delta::TUFOTA_DELTA_FORMAT;
use tufota_client::metadata::custom::{DeltaInfo, ImageType, TargetCustom};
use tufota_client::metadata::{HashAlgorithm, TargetFile};
use tufota_delta::GenerateOptions;

use crate::atomic::{parent_of, set_mode, sync_dir};
use crate::changes::{list_staged, AddReport};
use crate::editor::TargetsEditor;
use crate::error::{RepoError, Result};
use crate::layout::Repository;
use crate::published::Published;
use crate::target_files::{stage_files, NewTarget, StageMode};
use crate::target_name::{target_file_path, validate_target_name};

/// Largest image the generator takes (its 32-bit suffix array indexes at most this many base
/// bytes); also the bound on every image read here.
pub const MAX_IMAGE_BYTES: u64 = i32::MAX as u64;

/// What `repo-tool delta` reports.
#[derive(Debug, Clone, Serialize)]
pub struct PatchReport {
    pub patch: PathBuf,
    pub patch_bytes: u64,
    pub new_bytes: u64,
    /// Patch size as a percentage of the new image.
    pub percent_of_new: f64,
    pub seconds: f64,
}

/// Writes a patch turning the file `old` into the file `new` to `out`, atomically.
pub fn write_patch(old: &Path, new: &Path, out: &Path) -> Result<PatchReport> {
    let start = Instant::now();
    let old_bytes = read_image(old)?;
    let new_bytes = read_image(new)?;
    let patch_bytes = write_patch_file(&old_bytes, &new_bytes, out)?;
    Ok(PatchReport {
        patch: out.to_path_buf(),
        patch_bytes,
        new_bytes: new_bytes.len() as u64,
        percent_of_new: percent(patch_bytes, new_bytes.len() as u64),
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    part as f64 * 100.0 / whole as f64
}

/// Generates into a temporary file next to `out`, fsyncs and renames it; returns its size.
fn write_patch_file(old: &[u8], new: &[u8], out: &Path) -> Result<u64> {
    let dir = parent_of(out);
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(RepoError::io(dir, "create a temporary file in"))?;
    set_mode(tmp.as_file(), tmp.path(), 0o644)?;
    let tmp = generate_into(old, new, tmp, out)?;
    let len = tmp
        .as_file()
        .metadata()
        .map_err(RepoError::io(tmp.path(), "stat"))?
        .len();
    tmp.persist(out).map_err(|e| RepoError::Io {
        path: out.to_path_buf(),
        action: "rename a temporary file onto",
        source: e.error,
    })?;
    sync_dir(dir)?;
    Ok(len)
}

/// Writes the patch into `tmp` and fsyncs it; `name` is the file the patch is for (errors).
fn generate_into(
    old: &[u8],
    new: &[u8],
    tmp: tempfile::NamedTempFile,
    name: &Path,
) -> Result<tempfile::NamedTempFile> {
    let writer = BufWriter::new(tmp);
    let writer = tufota_delta::generate_to(old, new, &GenerateOptions::default(), writer).map_err(
        |source| RepoError::Delta {
            file: name.to_path_buf(),
            source,
        },
    )?;
    let tmp = writer.into_inner().map_err(|e| RepoError::Io {
        path: name.to_path_buf(),
        action: "write",
        source: e.into_error(),
    })?;
    tmp.as_file()
        .sync_all()
        .map_err(RepoError::io(tmp.path(), "fsync"))?;
    Ok(tmp)
}

/// Reads a whole image (the generator needs both in memory), bounded by [`MAX_IMAGE_BYTES`].
fn read_image(path: &Path) -> Result<Vec<u8>> {
    crate::atomic::read_bounded(path, MAX_IMAGE_BYTES)
}

/// A `--delta-from` argument: a target already in the repository, or a file with the version
/// it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeltaBase {
    /// A target name; its bytes come from `targets/`, its version from its `custom.version`.
    Target(String),
    File {
        path: PathBuf,
        from_version: String,
    },
}

impl DeltaBase {
    /// `FILE=VERSION` when the part before the last `=` is an existing file, else a target
    /// name (target names may contain `=`).
    pub fn parse(arg: &str) -> DeltaBase {
        if let Some((file, version)) = arg.rsplit_once('=') {
            if !version.is_empty() && Path::new(file).is_file() {
                return DeltaBase::File {
                    path: file.into(),
                    from_version: version.into(),
                };
            }
        }
        DeltaBase::Target(arg.into())
    }
}

/// A base whose name, version and file are known; its bytes are read (and checked) only when
/// its patch is generated, so one base at a time is in memory.
struct PlannedBase {
    from_version: String,
    source: BaseSource,
}

enum BaseSource {
    /// A target of the repository: its file and the metadata entry it must match.
    Target {
        name: String,
        role: String,
        path: PathBuf,
        entry: TargetFile,
    },
    File(PathBuf),
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes))
}

/// Finds a base target in the drafts or published roles (refusing one without
/// `custom.version`) and the file its bytes are in.
fn plan_target_base(
    repo: &Repository,
    consistent: bool,
    editor: &mut TargetsEditor,
    name: &str,
) -> Result<PlannedBase> {
    let refuse = |reason: String| RepoError::TargetName {
        name: name.into(),
        reason,
    };
    let role = editor.find_target(name)?.ok_or_else(|| {
        refuse("--delta-from: no role lists this target (for a file write FILE=VERSION)".into())
    })?;
    let entry: TargetFile = editor
        .role(&role)?
        .doc
        .targets
        .get(name)
        .cloned()
        .ok_or_else(|| refuse("--delta-from: no role lists this target".into()))?;
    let custom = TargetCustom::of(&entry).map_err(refuse)?;
    let from_version = custom.version.ok_or_else(|| {
        refuse(format!(
            "--delta-from: the target in role {role} has no custom.version to name the delta's base"
        ))
    })?;
    let sha = entry
        .hashes
        .get("sha256")
        .ok_or_else(|| refuse(format!("--delta-from: role {role} lists no sha256 for it")))?;
    let rel = target_file_path(name, sha, consistent);
    // Without consistent snapshots a target added since the last publish waits in staged/.
    let staged = repo.staged_targets_dir().join(&rel);
    let path = if !consistent && staged.is_file() {
        staged
    } else {
        repo.targets_dir().join(&rel)
    };
    Ok(PlannedBase {
        from_version,
        source: BaseSource::Target {
            name: name.into(),
            role,
            path,
            entry,
        },
    })
}

/// Reads a base; a repository target's bytes must match its length and every listed hash
/// before they are used. Returns the bytes and their sha256 hex.
fn read_base(base: &PlannedBase) -> Result<(Vec<u8>, String)> {
    let (name, role, path, entry) = match &base.source {
        BaseSource::File(path) => {
            let bytes = read_image(path)?;
            let sha = sha256_hex(&bytes);
            return Ok((bytes, sha));
        }
        BaseSource::Target {
            name,
            role,
            path,
            entry,
        } => (name, role, path, entry),
    };
    let mut bytes = Vec::new();
    File::open(path)
        .map_err(RepoError::io(path, "open"))?
        .take(entry.length.min(MAX_IMAGE_BYTES).saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(RepoError::io(path, "read"))?;
    let mismatch = |what: String| {
        RepoError::refused(
            path,
            role.as_str(),
            format!("--delta-from {name:?}: the file's {what} differs from the metadata; refusing to diff against it"),
        )
    };
    let read = bytes.len() as u64;
    if read > entry.length {
        return Err(mismatch(format!(
            "length (over {} bytes, the metadata's)",
            entry.length
        )));
    }
    if read < entry.length {
        return Err(mismatch(format!(
            "length ({read} bytes, metadata says {})",
            entry.length
        )));
    }
    for (alg_name, expected) in &entry.hashes {
        let Some(alg) = HashAlgorithm::from_name(alg_name) else {
            continue;
        };
        if alg.hex_digest(&bytes) != *expected {
            return Err(mismatch(alg_name.clone()));
        }
    }
    let sha = sha256_hex(&bytes);
    Ok((bytes, sha))
}

/// The name of the delta target from `from_version` to the full target `to`.
pub fn delta_target_name(to: &str, from_version: &str) -> String {
    format!("{to}.from-{from_version}.delta")
}

/// The custom of a delta target: the full target's fields, `type: delta` and what it applies to.
fn delta_custom(
    full: &Option<Value>,
    to: &str,
    from_version: &str,
    from_sha256: &str,
) -> Result<Value> {
    let mut custom: TargetCustom = match full {
        Some(v) => TargetCustom::deserialize(v)
            .map_err(|e| RepoError::Usage(format!("custom fields: {e}")))?,
        None => TargetCustom::default(),
    };
    if custom.image_type == Some(ImageType::Delta) || custom.delta.is_some() {
        return Err(RepoError::Usage(
            "--delta-from: the full target's custom says it is a delta".into(),
        ));
    }
    custom.image_type = Some(ImageType::Delta);
    custom.delta = Some(DeltaInfo {
        from_version: from_version.to_string(),
        from_sha256: from_sha256.to_string(),
        format: TUFOTA_DELTA_FORMAT.to_string(),
        to: to.to_string(),
        extra: Default::default(),
    });
    custom
        .validate()
        .map_err(|e| RepoError::Usage(format!("delta custom fields: {e}")))?;
    serde_json::to_value(&custom).map_err(|e| RepoError::Usage(format!("custom fields: {e}")))
}

/// `add` of one full image plus one delta target per base. Every base is looked up (names,
/// versions) first; then, one base at a time in memory, read, checked and diffed into a
/// temporary file under `staged/`; only then are the full image and the patches staged in
/// one batch (removed again on failure) and listed in one draft save. A refused base leaves
/// `metadata/`, `targets/` and the drafts as they were. If NEW_FILE changed during generation
/// the command fails after staging, leaving its files (listed by no metadata) in place.
pub fn add_with_deltas(
    repo: &Repository,
    full: &NewTarget,
    custom: Option<Value>,
    bases: &[DeltaBase],
    extra_hashes: &[HashAlgorithm],
    mode: StageMode,
) -> Result<AddReport> {
    let published = Published::load(repo)?;
    let consistent = published.consistent();
    let mut editor = TargetsEditor::new(repo, &published);
    let mut planned = Vec::new();
    let mut names = vec![full.name.clone()];
    for base in bases {
        let plan = match base {
            DeltaBase::Target(name) => plan_target_base(repo, consistent, &mut editor, name)?,
            DeltaBase::File { path, from_version } => PlannedBase {
                from_version: from_version.clone(),
                source: BaseSource::File(path.clone()),
            },
        };
        let name = delta_target_name(&full.name, &plan.from_version);
        validate_target_name(&name)?;
        if names.contains(&name) {
            return Err(RepoError::TargetName {
                name,
                reason: "two --delta-from bases have the same version".into(),
            });
        }
        names.push(name);
        planned.push(plan);
    }
    drop(editor);
    let new_bytes = read_image(&full.source)?;
    let new_sha = sha256_hex(&new_bytes);
    // Patches are written under staged/ (same file system as targets/, so staging links them).
    let work = repo.staged_dir();
    fs::create_dir_all(&work).map_err(RepoError::io(&work, "create directory"))?;
    let mut files = vec![full.clone()];
    let mut customs = vec![(full.name.clone(), custom.clone())];
    let mut temps = Vec::new();
    for (plan, name) in planned.iter().zip(names.iter().skip(1)) {
        let (base_bytes, base_sha) = read_base(plan)?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-delta-")
            .tempfile_in(&work)
            .map_err(RepoError::io(&work, "create a temporary file in"))?;
        set_mode(tmp.as_file(), tmp.path(), 0o644)?;
        let tmp = generate_into(&base_bytes, &new_bytes, tmp, Path::new(name))?;
        files.push(NewTarget {
            source: tmp.path().to_path_buf(),
            name: name.clone(),
        });
        let delta = delta_custom(&custom, &full.name, &plan.from_version, &base_sha)?;
        customs.push((name.clone(), Some(delta)));
        temps.push(tmp);
    }
    drop(new_bytes);
    let staged = stage_files(repo, consistent, &files, extra_hashes, mode)?;
    // The full image must be the bytes the patches were made to produce.
    let full_sha = staged
        .iter()
        .find(|s| s.name == full.name)
        .and_then(|s| s.hashes.get("sha256"));
    if full_sha != Some(&new_sha) {
        return Err(RepoError::Io {
            path: full.source.clone(),
            action: "read target file",
            source: std::io::Error::other("changed while its deltas were generated; add again"),
        });
    }
    let report = list_staged(repo, &published, staged, |name| {
        customs
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, c)| c.clone())
    })?;
    drop(temps);
    Ok(report)
}
