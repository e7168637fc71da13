//! `refresh`: bring the trusted top-level metadata up to date (TUF spec §5.3–§5.6).

use clap::Args;

use crate::error::CliError;
use crate::options::RepoOptions;

#[derive(Debug, Args)]
pub struct Refresh {}

impl Refresh {
    pub fn run(&self, repo: &RepoOptions) -> Result<(), CliError> {
        let mut updater = repo.updater("refresh", false)?;
        updater.refresh()?;
        Ok(())
    }
}
