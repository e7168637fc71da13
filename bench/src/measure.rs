//! Running one tool invocation and measuring it: wall time around the process, peak resident
//! memory from GNU time (`%M`, the kernel's `ru_maxrss` of the child as `wait4` reports it, so
//! no sampling race and no unsafe code here).

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::BenchResult;

/// coreutils `timeout`'s exit status when the limit was reached.
const TIMEOUT_EXIT_CODE: i32 = 124;

/// Wall time and peak resident set size of one step (one or more processes run in turn).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    pub wall: Duration,
    pub peak_rss_kib: u64,
}

impl Measurement {
    /// Steps run one after the other: times add up, memory is the largest of them.
    pub fn then(self, next: Measurement) -> Measurement {
        Measurement {
            wall: self.wall + next.wall,
            peak_rss_kib: self.peak_rss_kib.max(next.peak_rss_kib),
        }
    }

    /// The run with the median wall time (runs must not be empty).
    pub fn median(mut runs: Vec<Measurement>) -> Option<Measurement> {
        runs.sort_by_key(|m| m.wall);
        runs.get(runs.len() / 2).copied()
    }
}

/// Runs programs under GNU time, keeping each invocation's output in a log directory so a
/// failure can be shown.
pub struct Runner {
    gnu_time: PathBuf,
    log_dir: PathBuf,
    count: usize,
}

impl Runner {
    pub fn new(gnu_time: PathBuf, log_dir: &Path) -> BenchResult<Runner> {
        fs::create_dir_all(log_dir)?;
        Ok(Runner {
            gnu_time,
            log_dir: log_dir.to_path_buf(),
            count: 0,
        })
    }

    /// Runs `program args…`, fails with its output if it exits non-zero.
    pub fn run<S: AsRef<OsStr>>(
        &mut self,
        label: &str,
        program: &Path,
        args: &[S],
    ) -> BenchResult<Measurement> {
        self.run_limited(label, program, args, None)?
            .ok_or_else(|| format!("{label}: no time limit, yet reported as timed out").into())
    }

    /// As `run`, but stops the program (coreutils `timeout`, which signals it and exits 124)
    /// once `limit` has passed: `Ok(None)` then.
    pub fn run_limited<S: AsRef<OsStr>>(
        &mut self,
        label: &str,
        program: &Path,
        args: &[S],
        limit: Option<Duration>,
    ) -> BenchResult<Option<Measurement>> {
        self.count += 1;
        let stem = format!("{:04}-{}", self.count, label.replace([' ', '/'], "_"));
        let rss_file = self.log_dir.join(format!("{stem}.rss"));
        let out_file = self.log_dir.join(format!("{stem}.out"));
        let err_file = self.log_dir.join(format!("{stem}.err"));
        let mut command = Command::new(&self.gnu_time);
        command.arg("-f").arg("%M").arg("-o").arg(&rss_file);
        if let Some(limit) = limit {
            command
                .arg("timeout")
                .arg(format!("{}s", limit.as_secs().max(1)));
        }
        command
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out_file)?)
            .stderr(fs::File::create(&err_file)?);
        let start = Instant::now();
        let status = command.status()?;
        let wall = start.elapsed();
        if limit.is_some() && status.code() == Some(TIMEOUT_EXIT_CODE) {
            return Ok(None);
        }
        if !status.success() {
            // First line: what the tool said first (its error, not a backtrace's tail).
            let stderr = fs::read_to_string(&err_file).unwrap_or_default();
            let first = stderr
                .lines()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("no output on stderr");
            return Err(format!(
                "{label}: {first}\n{} exited with {status}; output in {} and {}",
                program.display(),
                out_file.display(),
                err_file.display(),
            )
            .into());
        }
        let rss_text = fs::read_to_string(&rss_file)?;
        let peak_rss_kib = rss_text
            .lines()
            .last()
            .and_then(|line| line.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                format!(
                    "{label}: no peak RSS in {} ({rss_text:?})",
                    rss_file.display()
                )
            })?;
        Ok(Some(Measurement { wall, peak_rss_kib }))
    }
}
