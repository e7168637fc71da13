use std::path::PathBuf;

use tufota_delta::{generate_to, Codec, GenerateOptions};

use crate::{at, CliError};

/// Make a patch that turns OLD into NEW.
#[derive(clap::Args)]
pub struct Diff {
    old: PathBuf,
    new: PathBuf,
    patch: PathBuf,
    /// LZMA2 preset (0..=9).
    #[arg(long, default_value_t = GenerateOptions::default().level)]
    level: u32,
    /// Not the "extreme" variant of the preset (faster, slightly larger).
    #[arg(long)]
    no_extreme: bool,
    /// Matching threads, 0 = one per core.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Outer compression: `auto` takes zstd only for large patches (see FORMAT.md).
    #[arg(long, value_enum, default_value_t = CodecArg::Auto)]
    codec: CodecArg,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CodecArg {
    Auto,
    Lzma2,
    Zstd,
}

impl Diff {
    pub fn run(self) -> Result<(), CliError> {
        let old = std::fs::read(&self.old).map_err(at(&self.old))?;
        let new = std::fs::read(&self.new).map_err(at(&self.new))?;
        let opts = GenerateOptions {
            level: self.level,
            extreme: !self.no_extreme,
            threads: self.threads,
            codec: match self.codec {
                CodecArg::Auto => Codec::Auto,
                CodecArg::Lzma2 => Codec::Lzma2,
                CodecArg::Zstd => Codec::Zstd,
            },
        };
        let file = std::fs::File::create(&self.patch).map_err(at(&self.patch))?;
        let file = generate_to(&old, &new, &opts, std::io::BufWriter::new(file))?;
        let file = file
            .into_inner()
            .map_err(|e| CliError::File(self.patch.display().to_string(), e.into_error()))?;
        file.sync_all().map_err(at(&self.patch))?;
        Ok(())
    }
}
