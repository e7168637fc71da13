//! The inputs every tool gets: the same target files and the same four ed25519 keys.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::BenchResult;

/// Target names have no directory part: tough (tuftool) fetches a consistent-snapshot target
/// `dir/name` as `HASH.dir/name` rather than the spec's `dir/HASH.name`, so names with
/// directories would not be comparable.
pub fn target_name(index: usize) -> String {
    format!("{index:06}.bin")
}

/// Writes `count` files of `size` bytes each into `dir` (created): same size, different
/// content (the index is mixed into every 8-byte word), so every file has its own hash.
pub fn write_targets(dir: &Path, count: usize, size: usize) -> BenchResult<()> {
    fs::create_dir_all(dir)?;
    let mut content = vec![0u8; size];
    for index in 1..=count {
        let seed = (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for (word, chunk) in content.chunks_mut(8).enumerate() {
            let value = seed ^ (word as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            let bytes = value.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        fs::File::create(dir.join(target_name(index)))?.write_all(&content)?;
    }
    Ok(())
}

/// One signing key per top-level role, in both forms the tools read.
pub struct RoleKey {
    /// PKCS#8 PEM, as `openssl genpkey` writes it (repo-tool, python-tuf).
    pub pem: PathBuf,
    /// The same key as PKCS#8 DER (tuftool reads ed25519 keys only in this form).
    pub der: PathBuf,
}

pub struct Keys {
    pub root: RoleKey,
    pub targets: RoleKey,
    pub snapshot: RoleKey,
    pub timestamp: RoleKey,
}

impl Keys {
    /// Generates the four keys with `openssl genpkey -algorithm ed25519`: PKCS#8 v1, the
    /// form all three tools read (pyca/cryptography, which python-tuf signs with, refuses
    /// the v2 documents ring and `repo-tool key generate` write).
    pub fn generate(dir: &Path) -> BenchResult<Keys> {
        fs::create_dir_all(dir)?;
        let one = |role: &str| -> BenchResult<RoleKey> {
            let pem_path = dir.join(format!("{role}.pem"));
            let der_path = dir.join(format!("{role}.der"));
            let output = Command::new("openssl")
                .args(["genpkey", "-algorithm", "ed25519", "-out"])
                .arg(&pem_path)
                .output()?;
            if !output.status.success() {
                return Err(format!(
                    "openssl genpkey {role}: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                )
                .into());
            }
            let parsed = pem::parse(fs::read(&pem_path)?)?;
            if parsed.tag() != "PRIVATE KEY" {
                return Err(format!("{}: not a PKCS#8 PEM key", pem_path.display()).into());
            }
            fs::write(&der_path, parsed.contents())?;
            Ok(RoleKey {
                pem: pem_path,
                der: der_path,
            })
        };
        Ok(Keys {
            root: one("root")?,
            targets: one("targets")?,
            snapshot: one("snapshot")?,
            timestamp: one("timestamp")?,
        })
    }
}
