use std::fs::File;
use std::io::{BufReader, Write};
use std::path::PathBuf;

use crate::{at, CliError};

/// Apply PATCH to OLD, writing OUT (removed again if the patch is refused).
#[derive(clap::Args)]
pub struct Apply {
    old: PathBuf,
    patch: PathBuf,
    out: PathBuf,
    /// Print what was done on stderr.
    #[arg(long, short)]
    verbose: bool,
}

impl Apply {
    pub fn run(self) -> Result<(), CliError> {
        let base = File::open(&self.old).map_err(at(&self.old))?;
        let patch = File::open(&self.patch).map_err(at(&self.patch))?;
        let mut out = File::create(&self.out).map_err(at(&self.out))?;
        let res = tufota_delta::apply_image(&base, BufReader::new(patch), &mut out);
        match res {
            Ok(stats) => {
                out.flush().map_err(at(&self.out))?;
                if self.verbose {
                    eprintln!(
                        "applied: {} result bytes from {} patch bytes, {} records, {} base bytes read after verification",
                        stats.result_len, stats.patch_bytes, stats.records, stats.base_bytes_read
                    );
                }
                Ok(())
            }
            Err(e) => {
                drop(out);
                // Best effort: the partial output is not the image and must not be mistaken for it.
                let _ = std::fs::remove_file(&self.out);
                Err(e.into())
            }
        }
    }
}
