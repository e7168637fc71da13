//! What each tool costs on disk.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::{BenchResult, Tools};

pub struct Sizes {
    pub repo_tool: u64,
    pub client: u64,
    pub tuftool_installed: u64,
    /// `strip` of a copy of the installed tuftool (`None` if `strip` failed).
    pub tuftool_stripped: Option<u64>,
    /// Bytes of tuf and the distributions it needs, and their names.
    pub python: (u64, String),
}

pub fn measure(tools: &Tools, scratch: &Path) -> BenchResult<Sizes> {
    let tuftool_copy = scratch.join("tuftool.stripped");
    fs::create_dir_all(scratch)?;
    fs::copy(&tools.tuftool, &tuftool_copy)?;
    let stripped = Command::new("strip")
        .arg(&tuftool_copy)
        .status()
        .ok()
        .filter(|status| status.success())
        .and_then(|_| fs::metadata(&tuftool_copy).ok())
        .map(|m| m.len());
    let output = Command::new(&tools.python)
        .arg(tools.python_scripts.join("installed_size.py"))
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "installed_size.py: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    let text = String::from_utf8(output.stdout)?;
    let (bytes, names) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    Ok(Sizes {
        repo_tool: fs::metadata(&tools.repo_tool)?.len(),
        client: fs::metadata(&tools.client)?.len(),
        tuftool_installed: fs::metadata(&tools.tuftool)?.len(),
        tuftool_stripped: stripped,
        python: (bytes.parse()?, names.to_string()),
    })
}
