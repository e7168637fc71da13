//! `download`: refresh, then find each `--target-name` in the delegation graph and store
//! it, verified, in `--target-dir` (TUF spec §5.7). A target already there with the signed
//! length and hashes is not downloaded again. Stops at the first failure.

use clap::Args;

use crate::error::CliError;
use crate::options::RepoOptions;

#[derive(Debug, Args)]
pub struct Download {}

impl Download {
    pub fn run(&self, repo: &RepoOptions) -> Result<(), CliError> {
        if repo.target_name.is_empty() {
            return Err(CliError::MissingOption {
                command: "download",
                option: "target-name",
            });
        }
        let target_dir = repo.target_dir("download")?;
        let mut updater = repo.updater("download", true)?;
        updater.refresh()?;
        for name in &repo.target_name {
            let info = updater
                .target_info(name)?
                .ok_or_else(|| CliError::TargetNotFound { name: name.clone() })?;
            let path = updater.download_target(&info, target_dir)?;
            println!("{name}: {}", path.display());
        }
        Ok(())
    }
}
