//! `init ROOT_FILE`: make ROOT_FILE the trusted root. No request is made (TUF spec §5.2:
//! the initial root is obtained out of band). The root must parse and meet its own
//! threshold; its expiry is not checked here, since a refresh may still reach newer roots.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use chrono::Utc;
use clap::Args;
use tufota_client::store::MetadataStore;
use tufota_client::trust::TrustedMetadata;
use tufota_client::updater::MetadataLimits;

use crate::error::CliError;
use crate::options::RepoOptions;

#[derive(Debug, Args)]
pub struct Init {
    /// The initial trusted root.json, obtained out of band.
    #[arg(value_name = "ROOT_FILE")]
    pub root_file: PathBuf,
}

impl Init {
    pub fn run(&self, repo: &RepoOptions) -> Result<(), CliError> {
        let dir = repo.metadata_dir("init")?;
        let read_err = |reason: String| CliError::ReadFile {
            path: self.root_file.clone(),
            reason,
        };
        let limit = MetadataLimits::default().root;
        let mut bytes = Vec::new();
        File::open(&self.root_file)
            .map_err(|e| read_err(e.to_string()))?
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| read_err(e.to_string()))?;
        if bytes.len() as u64 > limit {
            return Err(read_err(format!("larger than the limit of {limit} bytes")));
        }
        TrustedMetadata::new(&bytes, Utc::now()).map_err(|source| CliError::BadRoot {
            path: self.root_file.clone(),
            source: Box::new(source),
        })?;
        MetadataStore::create(dir)?.save("root", &bytes)?;
        Ok(())
    }
}
