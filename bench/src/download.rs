//! "Refresh and download": a fresh client (only the trusted root) refreshes against a
//! repository served over loopback HTTP and downloads 1 or many verified targets, in one
//! process per tool.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use crate::measure::{Measurement, Runner};
use crate::{BenchResult, Tools};

/// What each run gets: the served repository, its trusted root and the names to download.
pub struct Scenario<'a> {
    pub base_url: &'a str,
    pub root: &'a Path,
    pub names: &'a [String],
    /// A directory for this run's client state (created; must not exist yet).
    pub state: PathBuf,
}

impl Scenario<'_> {
    fn metadata_url(&self) -> String {
        format!("{}/metadata/", self.base_url)
    }

    fn targets_url(&self) -> String {
        format!("{}/targets/", self.base_url)
    }

    /// Fails unless `dir` holds exactly one regular file per requested name.
    fn check_downloaded(&self, tool: &str, dir: &Path) -> BenchResult<()> {
        let files = fs::read_dir(dir)?
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().map(|t| t.is_file()).unwrap_or(false))
            .count();
        if files != self.names.len() {
            return Err(format!(
                "{tool}: {} files in {}, {} targets requested",
                files,
                dir.display(),
                self.names.len()
            )
            .into());
        }
        Ok(())
    }
}

/// tufota-client, conformance CLI: `init ROOT` (checks and stores the root), then one
/// `download` with every `--target-name` (refresh, then each target, in one process).
pub fn tufota_client(
    runner: &mut Runner,
    tools: &Tools,
    scenario: &Scenario,
) -> BenchResult<Measurement> {
    let metadata = scenario.state.join("metadata");
    let targets = scenario.state.join("targets");
    fs::create_dir_all(&metadata)?;
    fs::create_dir_all(&targets)?;
    let init = runner.run(
        "tufota-client init",
        &tools.client,
        &[
            OsString::from("--metadata-dir"),
            metadata.clone().into(),
            "init".into(),
            scenario.root.into(),
        ],
    )?;
    let mut download: Vec<OsString> = vec![
        "--metadata-url".into(),
        scenario.metadata_url().into(),
        "--metadata-dir".into(),
        metadata.into(),
        "--target-dir".into(),
        targets.clone().into(),
        "--target-base-url".into(),
        scenario.targets_url().into(),
    ];
    for name in scenario.names {
        download.push("--target-name".into());
        download.push(name.into());
    }
    download.push("download".into());
    let download = runner.run("tufota-client download", &tools.client, &download)?;
    scenario.check_downloaded("tufota-client", &targets)?;
    Ok(init.then(download))
}

/// `tuftool download OUTDIR --root ROOT -n NAME…` (tough loads the repository, then saves
/// each target).
pub fn tuftool(
    runner: &mut Runner,
    tools: &Tools,
    scenario: &Scenario,
) -> BenchResult<Measurement> {
    fs::create_dir_all(&scenario.state)?;
    let outdir = scenario.state.join("targets");
    let mut args: Vec<OsString> = vec![
        "download".into(),
        outdir.clone().into(),
        "--root".into(),
        scenario.root.into(),
        "--metadata-url".into(),
        scenario.metadata_url().into(),
        "--targets-url".into(),
        scenario.targets_url().into(),
    ];
    for name in scenario.names {
        args.push("--target-name".into());
        args.push(name.into());
    }
    let measured = runner.run("tuftool download", &tools.tuftool, &args)?;
    scenario.check_downloaded("tuftool", &outdir)?;
    Ok(measured)
}

/// python-tuf ngclient (python/download.py): `Updater(bootstrap=ROOT)`, `refresh`, then
/// `get_targetinfo` and `download_target` per name.
pub fn python_tuf(
    runner: &mut Runner,
    tools: &Tools,
    scenario: &Scenario,
) -> BenchResult<Measurement> {
    let metadata = scenario.state.join("metadata");
    let targets = scenario.state.join("targets");
    fs::create_dir_all(&metadata)?;
    fs::create_dir_all(&targets)?;
    let mut args: Vec<OsString> = vec![
        tools.python_scripts.join("download.py").into(),
        scenario.root.into(),
        metadata.into(),
        scenario.base_url.into(),
        targets.clone().into(),
    ];
    args.extend(scenario.names.iter().map(OsString::from));
    let measured = runner.run("python-tuf download", &tools.python, &args)?;
    scenario.check_downloaded("python-tuf", &targets)?;
    Ok(measured)
}
