//! The compared tools, each run as child processes under `/usr/bin/time`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use ring::digest;

/// One tool's commands.
#[derive(Clone)]
pub enum Tool {
    Tufota(PathBuf),
    Bsdiff,
    Xdelta3,
    ZstdPatchFrom,
}

/// Wall and CPU seconds and peak RSS of one child process.
pub struct Usage {
    pub wall: f64,
    pub user: f64,
    pub sys: f64,
    pub rss_kib: u64,
}

impl Usage {
    pub fn cpu(&self) -> f64 {
        self.user + self.sys
    }
}

pub struct Measured {
    pub patch_len: u64,
    pub gen: Usage,
    pub apply: Usage,
    pub output_ok: bool,
}

pub fn parse(names: &[String], tufota: &Path) -> Result<Vec<Tool>, String> {
    names
        .iter()
        .filter(|n| !n.is_empty())
        .map(|n| match n.as_str() {
            "tufota" => Ok(Tool::Tufota(tufota.to_path_buf())),
            "bsdiff" => Ok(Tool::Bsdiff),
            "xdelta3" => Ok(Tool::Xdelta3),
            "zstd" => Ok(Tool::ZstdPatchFrom),
            other => Err(format!(
                "unknown tool {other:?} (tufota, bsdiff, xdelta3, zstd)"
            )),
        })
        .collect()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

impl Tool {
    /// A file-name-safe short name for scratch files.
    pub fn key(&self) -> &'static str {
        match self {
            Tool::Tufota(_) => "tufota",
            Tool::Bsdiff => "bsdiff",
            Tool::Xdelta3 => "xdelta3",
            Tool::ZstdPatchFrom => "zstd",
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Tool::Tufota(_) => "tufota-delta",
            Tool::Bsdiff => "bsdiff 4.3",
            Tool::Xdelta3 => "xdelta3 -9 -S lzma",
            Tool::ZstdPatchFrom => "zstd -19 --patch-from",
        }
    }

    fn gen_cmd(&self, old: &Path, new: &Path, patch: &Path) -> Vec<String> {
        match self {
            Tool::Tufota(bin) => vec![s(bin), "diff".into(), s(old), s(new), s(patch)],
            Tool::Bsdiff => vec!["bsdiff".into(), s(old), s(new), s(patch)],
            Tool::Xdelta3 => vec![
                "xdelta3".into(),
                "-e".into(),
                "-9".into(),
                "-S".into(),
                "lzma".into(),
                "-f".into(),
                "-s".into(),
                s(old),
                s(new),
                s(patch),
            ],
            Tool::ZstdPatchFrom => vec![
                "zstd".into(),
                "-q".into(),
                "-f".into(),
                "-19".into(),
                format!("--patch-from={}", s(old)),
                s(new),
                "-o".into(),
                s(patch),
            ],
        }
    }

    fn apply_cmd(&self, old: &Path, patch: &Path, out: &Path) -> Vec<String> {
        match self {
            Tool::Tufota(bin) => vec![s(bin), "apply".into(), s(old), s(patch), s(out)],
            Tool::Bsdiff => vec!["bspatch".into(), s(old), s(out), s(patch)],
            Tool::Xdelta3 => vec![
                "xdelta3".into(),
                "-d".into(),
                "-f".into(),
                "-s".into(),
                s(old),
                s(patch),
                s(out),
            ],
            Tool::ZstdPatchFrom => vec![
                "zstd".into(),
                "-q".into(),
                "-f".into(),
                "-d".into(),
                "--memory=2048MB".into(),
                format!("--patch-from={}", s(old)),
                s(patch),
                "-o".into(),
                s(out),
            ],
        }
    }

    /// Generate, apply `apply_runs` times, check each output against `new_sha`.
    pub fn measure(
        &self,
        old: &Path,
        new: &Path,
        work: &Path,
        pair: &str,
        new_sha: &[u8; 32],
        apply_runs: usize,
    ) -> Result<Measured, String> {
        let key = self.key();
        let prefix = work.join(format!("{pair}.{key}"));
        let patch = work.join(format!("{pair}.{key}.patch"));
        let out = work.join(format!("{pair}.{key}.out"));
        let gen = timed(&self.gen_cmd(old, new, &patch), &prefix)?;
        let patch_len = std::fs::metadata(&patch)
            .map_err(|e| format!("{}: {e}", patch.display()))?
            .len();
        // Applies vary by a third from run to run on a shared machine: report the median
        // run (by wall time), each with a new output file, all outputs checked.
        let mut applies = Vec::new();
        let mut output_ok = true;
        for _ in 0..apply_runs.max(1) {
            let _ = std::fs::remove_file(&out);
            applies.push(timed(&self.apply_cmd(old, &patch, &out), &prefix)?);
            output_ok &= sha256_file(&out)? == *new_sha;
        }
        // The outputs are as big as the images; keep the scratch directory small.
        let _ = std::fs::remove_file(&out);
        applies.sort_by(|a, b| a.wall.total_cmp(&b.wall));
        let peak_rss = applies.iter().map(|u| u.rss_kib).max().unwrap_or(0);
        let mut apply = applies.swap_remove(applies.len() / 2);
        apply.rss_kib = peak_rss;
        Ok(Measured {
            patch_len,
            gen,
            apply,
            output_ok,
        })
    }
}

/// Run `argv` under `/usr/bin/time -f '%e %U %S %M'` for CPU time and peak RSS; wall time is
/// measured here, to the microsecond (`%e` has 10 ms steps, a tenth of an apply).
fn timed(argv: &[String], prefix: &Path) -> Result<Usage, String> {
    let mut tfile = prefix.as_os_str().to_owned();
    tfile.push(".time");
    let tfile = PathBuf::from(tfile);
    let started = std::time::Instant::now();
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(&tfile)
        .args(argv)
        .status()
        .map_err(|e| format!("running /usr/bin/time (Debian package `time`): {e}"))?;
    let wall = started.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("`{}` exited with {status}", argv.join(" ")));
    }
    let text = std::fs::read_to_string(&tfile).map_err(|e| format!("{}: {e}", tfile.display()))?;
    let last = text.lines().last().unwrap_or_default();
    let f: Vec<&str> = last.split_whitespace().collect();
    let num = |i: usize| -> Result<f64, String> {
        f.get(i)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("cannot parse /usr/bin/time output {last:?}"))
    };
    Ok(Usage {
        wall,
        user: num(1)?,
        sys: num(2)?,
        rss_kib: num(3)? as u64,
    })
}

pub fn sha256_file(path: &Path) -> Result<[u8; 32], String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Ok(out)
}
