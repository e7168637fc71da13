use std::fs::File;
use std::path::PathBuf;

use crate::{at, CliError};

/// Write the uncompressed record stream of OLD -> NEW, interleaved (PREFIX.rec) and split
/// bsdiff-style (PREFIX.ctrl, PREFIX.diff, PREFIX.extra), to measure outer compressors.
#[derive(clap::Args)]
pub struct Streams {
    old: PathBuf,
    new: PathBuf,
    prefix: PathBuf,
}

impl Streams {
    pub fn run(self) -> Result<(), CliError> {
        let old = std::fs::read(&self.old).map_err(at(&self.old))?;
        let new = std::fs::read(&self.new).map_err(at(&self.new))?;
        let path = |ext: &str| {
            let mut p = self.prefix.clone().into_os_string();
            p.push(ext);
            PathBuf::from(p)
        };
        let rec = path(".rec");
        let mut f = File::create(&rec).map_err(at(&rec))?;
        tufota_delta::write_raw_stream(&old, &new, 0, &mut f)?;
        let (c, d, e) = (path(".ctrl"), path(".diff"), path(".extra"));
        let mut fc = File::create(&c).map_err(at(&c))?;
        let mut fd = File::create(&d).map_err(at(&d))?;
        let mut fe = File::create(&e).map_err(at(&e))?;
        tufota_delta::write_raw_sections(&old, &new, 0, &mut fc, &mut fd, &mut fe)?;
        Ok(())
    }
}
