//! `repo-tool sign`.

use std::path::PathBuf;

use clap::Args;
use repo_tool::keys::LoadedKey;
use repo_tool::root_ceremony::sign_file;
use repo_tool::Result;

use super::print_report;

/// Add signatures to a metadata document in place.
///
/// Typically a copy of
/// REPO/staged/root.json carried to an air-gapped machine. Works on any file; needs no
/// repository. Bring the copy back and `repo-tool root merge REPO COPY`.
#[derive(Args)]
pub struct SignArgs {
    pub file: PathBuf,
    #[arg(long = "key", required = true, num_args = 1..)]
    pub keys: Vec<String>,
}

pub fn run(a: SignArgs, json: bool) -> Result<()> {
    let keys = LoadedKey::load_all(&a.keys)?;
    let r = sign_file(&a.file, &keys)?;
    print_report(json, &r, || {
        format!(
            "{}: {} version {} signed by {}; {} signature(s) in total",
            r.file.display(),
            r.role,
            r.version,
            r.signed_by.join(", "),
            r.signatures
        )
    });
    Ok(())
}
