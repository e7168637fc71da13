use std::fs::File;
use std::path::PathBuf;

use crate::{at, CliError};

/// Print a patch's header.
#[derive(clap::Args)]
pub struct Header {
    patch: PathBuf,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Header {
    pub fn run(self) -> Result<(), CliError> {
        let mut f = File::open(&self.patch).map_err(at(&self.patch))?;
        let h = tufota_delta::read_header(&mut f)?;
        println!("format_version {}", h.format_version);
        println!("algorithm {:?}", h.algorithm);
        println!("base_len {}", h.base_len);
        println!("base_sha256 {}", hex(&h.base_sha256));
        println!("result_len {}", h.result_len);
        println!("result_sha256 {}", hex(&h.result_sha256));
        Ok(())
    }
}
