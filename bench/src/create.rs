//! "Create and sign": from the same keys and target directory to a signed repository with
//! consistent snapshots, every role expiring in the same number of days, in the way each
//! tool's documentation has a user do it for many files.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use chrono::{TimeDelta, Utc};

use crate::inputs::Keys;
use crate::measure::{Measurement, Runner};
use crate::{BenchResult, Tools};

/// Days until every role expires, for every tool.
const EXPIRES_DAYS: u32 = 30;

/// The outcome of one tool on one size: measured, or stopped at the time limit.
pub type Outcome = Option<Measurement>;

/// Runs `steps` in order, adding times; `None` as soon as one hits the limit (the limit
/// applies to the whole sequence).
fn run_steps(
    runner: &mut Runner,
    label: &str,
    program: &Path,
    steps: Vec<Vec<OsString>>,
    limit: Duration,
) -> BenchResult<Outcome> {
    let mut total: Option<Measurement> = None;
    for args in steps {
        let spent = total.map(|m| m.wall).unwrap_or_default();
        let Some(left) = limit.checked_sub(spent) else {
            return Ok(None);
        };
        let Some(step) = runner.run_limited(label, program, &args, Some(left))? else {
            return Ok(None);
        };
        total = Some(match total {
            Some(sofar) => sofar.then(step),
            None => step,
        });
    }
    Ok(total)
}

fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(items: I) -> Vec<OsString> {
    items.into_iter().map(Into::into).collect()
}

/// repo-tool: `init` (root 1 and empty targets), `add REPO DIR` (hash and hard-link every
/// file), `publish` (sign targets, snapshot, timestamp).
pub fn repo_tool(
    runner: &mut Runner,
    tools: &Tools,
    keys: &Keys,
    targets_dir: &Path,
    out: &Path,
    limit: Duration,
) -> BenchResult<Outcome> {
    let expires =
        ["root", "targets", "snapshot", "timestamp"].map(|role| format!("{role}={EXPIRES_DAYS}d"));
    let mut init = args([
        OsString::from("init"),
        out.into(),
        "--root-key".into(),
        keys.root.pem.clone().into(),
        "--targets-key".into(),
        keys.targets.pem.clone().into(),
        "--snapshot-key".into(),
        keys.snapshot.pem.clone().into(),
        "--timestamp-key".into(),
        keys.timestamp.pem.clone().into(),
        "--expires".into(),
    ]);
    init.extend(expires.map(OsString::from));
    let add = args([OsString::from("add"), out.into(), targets_dir.into()]);
    let publish = args([
        OsString::from("publish"),
        out.into(),
        "--key".into(),
        keys.targets.pem.clone().into(),
        keys.snapshot.pem.clone().into(),
        keys.timestamp.pem.clone().into(),
    ]);
    run_steps(
        runner,
        "repo-tool create",
        &tools.repo_tool,
        vec![init, add, publish],
        limit,
    )
}

/// tuftool: build and sign root.json with `tuftool root …` (init, expire, thresholds,
/// add-key per role, sign), then `tuftool create --add-targets DIR` (hash, sign every role,
/// symlink the targets).
pub fn tuftool(
    runner: &mut Runner,
    tools: &Tools,
    keys: &Keys,
    targets_dir: &Path,
    out: &Path,
    limit: Duration,
) -> BenchResult<Outcome> {
    std::fs::create_dir_all(out)?;
    let root = out.join("root.json");
    // An absolute time in the spec's form: with a relative one ('in 30 days') tuftool writes
    // nanoseconds ("…T22:51:25.981054924Z"), which TUF's YYYY-MM-DDTHH:MM:SSZ does not allow
    // and tufota refuses.
    let expires = (Utc::now() + TimeDelta::days(EXPIRES_DAYS.into()))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut steps = vec![
        args([OsString::from("root"), "init".into(), root.clone().into()]),
        args([
            OsString::from("root"),
            "expire".into(),
            root.clone().into(),
            expires.clone().into(),
        ]),
    ];
    let roles = [
        ("root", &keys.root),
        ("targets", &keys.targets),
        ("snapshot", &keys.snapshot),
        ("timestamp", &keys.timestamp),
    ];
    for (role, _) in roles {
        steps.push(args([
            OsString::from("root"),
            "set-threshold".into(),
            root.clone().into(),
            role.into(),
            "1".into(),
        ]));
    }
    for (role, key) in roles {
        steps.push(args([
            OsString::from("root"),
            "add-key".into(),
            root.clone().into(),
            "--key".into(),
            key.der.clone().into(),
            "--role".into(),
            role.into(),
        ]));
    }
    steps.push(args([
        OsString::from("root"),
        "sign".into(),
        root.clone().into(),
        "--key".into(),
        keys.root.der.clone().into(),
    ]));
    let mut create = args([
        OsString::from("create"),
        "--root".into(),
        root.into(),
        "--add-targets".into(),
        targets_dir.into(),
        "--outdir".into(),
        out.join("repo").into(),
    ]);
    for key in [&keys.targets, &keys.snapshot, &keys.timestamp] {
        create.extend(args([OsString::from("--key"), key.der.clone().into()]));
    }
    for role in ["targets", "snapshot", "timestamp"] {
        create.extend(args([
            OsString::from(format!("--{role}-expires")),
            expires.clone().into(),
            format!("--{role}-version").into(),
            "1".into(),
        ]));
    }
    steps.push(create);
    run_steps(runner, "tuftool create", &tools.tuftool, steps, limit)
}

/// python-tuf: one script with the Metadata API (python/create_repo.py).
pub fn python_tuf(
    runner: &mut Runner,
    tools: &Tools,
    keys: &Keys,
    targets_dir: &Path,
    out: &Path,
    limit: Duration,
) -> BenchResult<Outcome> {
    let script = args([
        tools.python_scripts.join("create_repo.py").into_os_string(),
        targets_dir.into(),
        out.into(),
        EXPIRES_DAYS.to_string().into(),
        keys.root.pem.clone().into(),
        keys.targets.pem.clone().into(),
        keys.snapshot.pem.clone().into(),
        keys.timestamp.pem.clone().into(),
    ]);
    run_steps(
        runner,
        "python-tuf create",
        &tools.python,
        vec![script],
        limit,
    )
}
