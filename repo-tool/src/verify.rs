//! `verify`: checks the published repository the way a device does — with the devices' own
//! trust core (`tufota_client::trust::TrustedMetadata`), from `metadata/1.root.json` through
//! every root rotation, then timestamp, snapshot, targets and every delegated role in
//! pre-order — and then every target file's length and hashes. Anything that expires within
//! the horizon given is reported as a problem too, so cron can alert before devices fail.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tufota_client::metadata::{format_time, Delegations, HashChecker, Role, TargetFile};
use tufota_client::trust::{roles_for_target, TrustedMetadata};

use crate::atomic::read_metadata_file;
use crate::target_name::{target_file_path, validate_target_name};

#[derive(Debug, Clone, Serialize)]
pub struct RoleSummary {
    pub role: String,
    pub version: u64,
    pub expires: String,
    pub file: PathBuf,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub roles: Vec<RoleSummary>,
    pub targets_checked: usize,
    pub target_bytes: u64,
    /// Each one line naming the file, the role and the check; empty means the repository is
    /// good (and nothing expires within the horizon).
    pub problems: Vec<String>,
}

struct Walk<'a> {
    dir: &'a Path,
    consistent: bool,
    report: VerifyReport,
}

impl Walk<'_> {
    fn meta_path(&self, role: &str, version: u64) -> PathBuf {
        let name = if role == "timestamp" || !self.consistent {
            format!("{role}.json")
        } else {
            format!("{version}.{role}.json")
        };
        self.dir.join("metadata").join(name)
    }

    fn read(&mut self, path: &Path) -> Option<Vec<u8>> {
        match read_metadata_file(path) {
            Ok(b) => Some(b),
            Err(e) => {
                self.report.problems.push(e.to_string());
                None
            }
        }
    }

    fn summary<T: Role>(&mut self, role: &str, doc: &T, file: PathBuf) {
        self.report.roles.push(RoleSummary {
            role: role.into(),
            version: doc.version(),
            expires: format_time(&doc.expires()),
            file,
        });
    }
}

/// Verifies the repository under `dir` (its `metadata/` and `targets/`) at time `now`;
/// `within` adds "expires within" problems.
pub fn verify(dir: &Path, within: Option<Duration>, now: DateTime<Utc>) -> VerifyReport {
    let mut walk = Walk {
        dir,
        consistent: true,
        report: VerifyReport::default(),
    };
    let Some(trusted) = walk_metadata(&mut walk, now) else {
        return walk.report;
    };
    if let Some(within) = within {
        let horizon = now + within;
        for r in &walk.report.roles.clone() {
            let expires = tufota_client::metadata::parse_time(&r.expires).unwrap_or(now);
            if expires < horizon {
                walk.report.problems.push(format!(
                    "{}: {} version {} expires at {}, within {} day(s)",
                    r.file.display(),
                    r.role,
                    r.version,
                    r.expires,
                    within.num_days()
                ));
            }
        }
    }
    check_targets(&mut walk, &trusted);
    walk.report
}

fn walk_metadata(walk: &mut Walk<'_>, now: DateTime<Utc>) -> Option<TrustedMetadata> {
    let first = walk.dir.join("metadata/1.root.json");
    let bytes = walk.read(&first)?;
    let mut trusted = match TrustedMetadata::new(&bytes, now) {
        Ok(t) => t,
        Err(e) => {
            walk.report
                .problems
                .push(format!("{}: {e}", first.display()));
            return None;
        }
    };
    let mut root_file = first;
    let mut version = 2u64;
    loop {
        let path = walk.dir.join(format!("metadata/{version}.root.json"));
        if !path.exists() {
            break;
        }
        let bytes = walk.read(&path)?;
        if let Err(e) = trusted.update_root(&bytes) {
            walk.report
                .problems
                .push(format!("{}: {e}", path.display()));
            return None;
        }
        root_file = path;
        version += 1;
    }
    let root = trusted.root().signed().clone();
    walk.summary("root", &root, root_file.clone());
    if let Err(e) = trusted.check_root_not_expired() {
        walk.report
            .problems
            .push(format!("{}: {e}", root_file.display()));
        return None;
    }
    walk.consistent = root.consistent_snapshot();

    let ts_path = walk.meta_path("timestamp", 0);
    let bytes = walk.read(&ts_path)?;
    if let Err(e) = trusted.update_timestamp(&bytes) {
        walk.report
            .problems
            .push(format!("{}: {e}", ts_path.display()));
        return None;
    }
    let ts = trusted.timestamp()?.signed().clone();
    walk.summary("timestamp", &ts, ts_path);

    let snapshot_version = ts.snapshot_meta().map(|m| m.version).unwrap_or(0);
    let snap_path = walk.meta_path("snapshot", snapshot_version);
    let bytes = walk.read(&snap_path)?;
    if let Err(e) = trusted.update_snapshot(&bytes, false) {
        walk.report
            .problems
            .push(format!("{}: {e}", snap_path.display()));
        return None;
    }
    let snapshot = trusted.snapshot()?.signed().clone();
    walk.summary("snapshot", &snapshot, snap_path);

    // Targets and delegated roles in pre-order, each loaded once (python-tuf's visited set).
    let mut visited = BTreeSet::new();
    let mut stack = vec![("targets".to_string(), "root".to_string())];
    while let Some((role, delegator)) = stack.pop() {
        if !visited.insert(role.clone()) {
            // Reached again through another delegator: a device whose search takes this
            // path checks the role against this delegator's keys for it.
            if let Err(e) = trusted.check_loaded_targets(&role, &delegator) {
                let file = match snapshot.meta.get(&format!("{role}.json")) {
                    Some(meta) => walk.meta_path(&role, meta.version).display().to_string(),
                    None => role.clone(),
                };
                walk.report.problems.push(format!("{file}: {e}"));
            }
            continue;
        }
        let Some(meta) = snapshot.meta.get(&format!("{role}.json")) else {
            walk.report.problems.push(format!(
                "{}: snapshot does not list {role}.json, which {delegator} delegates to",
                walk.dir.join("metadata").display()
            ));
            continue;
        };
        let path = walk.meta_path(&role, meta.version);
        let Some(bytes) = walk.read(&path) else {
            continue;
        };
        if let Err(e) = trusted.update_delegated_targets(&bytes, &role, &delegator) {
            walk.report
                .problems
                .push(format!("{}: {e}", path.display()));
            continue;
        }
        let Some(doc) = trusted.targets(&role) else {
            continue;
        };
        let doc = doc.signed().clone();
        walk.summary(&role, &doc, path);
        if let Some(d) = &doc.delegations {
            let children: Vec<String> = match (&d.roles, &d.succinct_roles) {
                (Some(roles), _) => roles.iter().map(|r| r.name.clone()).collect(),
                (None, Some(s)) => snapshot
                    .meta
                    .keys()
                    .filter_map(|k| k.strip_suffix(".json"))
                    .filter(|k| k.starts_with(&format!("{}-", s.name_prefix)))
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            };
            for child in children.into_iter().rev() {
                stack.push((child, role.clone()));
            }
        }
    }
    Some(trusted)
}

/// Hashes every listed target file (several threads) and checks each delegated target is
/// covered by its delegation, so that a device searching for it would find it.
fn check_targets(walk: &mut Walk<'_>, trusted: &TrustedMetadata) {
    let mut work: Vec<(String, String, TargetFile)> = Vec::new();
    let roles: Vec<String> = walk
        .report
        .roles
        .iter()
        .filter(|r| !matches!(r.role.as_str(), "root" | "timestamp" | "snapshot"))
        .map(|r| r.role.clone())
        .collect();
    for role in &roles {
        let Some(doc) = trusted.targets(role) else {
            continue;
        };
        for (name, file) in &doc.signed().targets {
            work.push((role.clone(), name.clone(), file.clone()));
        }
    }
    // Delegation coverage: a delegated role's target must lie within the paths of some
    // delegation to that role, or no device search reaches it there. A role may be
    // delegated by several roles, each for its own paths.
    let mut delegations_to: BTreeMap<&str, Vec<(&str, &Delegations)>> = BTreeMap::new();
    for parent in &roles {
        let Some(delegations) = trusted
            .targets(parent)
            .and_then(|p| p.signed().delegations.as_ref())
        else {
            continue;
        };
        for child in delegations.roles.iter().flatten() {
            delegations_to
                .entry(child.name.as_str())
                .or_default()
                .push((parent.as_str(), delegations));
        }
    }
    for (role, parents) in &delegations_to {
        let Some(doc) = trusted.targets(role) else {
            continue;
        };
        for name in doc.signed().targets.keys() {
            let covered = parents.iter().any(|(_, delegations)| {
                roles_for_target(delegations, name)
                    .iter()
                    .any(|(r, _)| r == role)
            });
            if !covered {
                let parents: Vec<&str> = parents.iter().map(|(p, _)| *p).collect();
                walk.report.problems.push(format!(
                    "{role}: target {name:?} is outside the paths delegated to {role} (by {}); devices will not find it",
                    parents.join(", ")
                ));
            }
        }
    }
    let targets_dir = walk.dir.join("targets");
    let consistent = walk.consistent;
    let problems = Mutex::new(Vec::new());
    let bytes = AtomicUsize::new(0);
    let next = AtomicUsize::new(0);
    let progress = std::io::stderr().is_terminal() && work.len() > 1000;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(2, 8);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buffer = vec![0u8; 256 * 1024];
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((role, name, file)) = work.get(i) else {
                        return;
                    };
                    if progress && i % 1000 == 0 {
                        eprint!("\rchecked {i}/{}", work.len());
                    }
                    if let Err(p) =
                        check_one(&targets_dir, consistent, role, name, file, &mut buffer)
                    {
                        if let Ok(mut v) = problems.lock() {
                            v.push(p);
                        }
                    } else {
                        bytes.fetch_add(file.length as usize, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    if progress {
        eprintln!("\rchecked {}/{}", work.len(), work.len());
    }
    let mut problems = problems.into_inner().unwrap_or_default();
    problems.sort();
    walk.report.problems.extend(problems);
    walk.report.targets_checked = work.len();
    walk.report.target_bytes = bytes.into_inner() as u64;
}

fn check_one(
    targets_dir: &Path,
    consistent: bool,
    role: &str,
    name: &str,
    file: &TargetFile,
    buffer: &mut [u8],
) -> Result<(), String> {
    validate_target_name(name).map_err(|e| format!("{role}: {e}"))?;
    let sha = file.hashes.get("sha256").cloned().unwrap_or_default();
    let rel = target_file_path(name, &sha, consistent);
    let path = targets_dir.join(&rel);
    let fail = |why: String| format!("{}: target {name:?} of {role}: {why}", path.display());
    let mut checker = HashChecker::new(&file.hashes).map_err(|e| fail(e.to_string()))?;
    let mut input = File::open(&path).map_err(|e| fail(format!("cannot open: {e}")))?;
    let mut length = 0u64;
    loop {
        let n = input
            .read(buffer)
            .map_err(|e| fail(format!("cannot read: {e}")))?;
        let Some(chunk) = buffer.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        length += n as u64;
        if length > file.length {
            return Err(fail(format!(
                "longer than the signed length {}",
                file.length
            )));
        }
        checker.update(chunk);
    }
    if length != file.length {
        return Err(fail(format!(
            "{length} bytes, signed length is {}",
            file.length
        )));
    }
    checker.finish().map_err(|e| fail(e.to_string()))
}
