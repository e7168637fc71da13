//! `delta-bench`: patch size, generation and apply time and peak RSS of tufota-delta next to
//! bsdiff, xdelta3 and `zstd --patch-from`, on every `PAIR/{old,new}` of a corpus directory
//! (see shared/bench/make-delta-corpus.sh) and on synthetic 30 MB and 100 MB pairs.
//!
//! Every generate and apply runs as a child process under `/usr/bin/time -f '%e %U %S %M'`
//! (Debian package `time`), so peak RSS is the child's own maximum resident set; wall time is
//! measured around the child. Each patch is applied `--apply-runs` times (5 by default) and
//! the median run is reported with the highest RSS of all; every applied output is compared
//! with the new image by sha256.
//!
//! ```text
//! cargo build --release -p tufota-delta --features cli
//! target/release/delta-bench /tmp/delta-corpus [--work /tmp/delta-bench] [--tools tufota,bsdiff,xdelta3,zstd] [--apply-runs 5]
//! ```

mod synthetic;
mod tools;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use crate::tools::{Measured, Tool};

#[derive(Parser)]
#[command(
    name = "delta-bench",
    about = "Benchmark tufota-delta against bsdiff, xdelta3, zstd --patch-from"
)]
struct Cli {
    /// Corpus directory holding `PAIR/old` and `PAIR/new`.
    corpus: PathBuf,
    /// Scratch directory for patches, outputs and synthetic images.
    #[arg(long, default_value = "/tmp/delta-bench")]
    work: PathBuf,
    /// Tools to run on the corpus pairs (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "tufota,bsdiff,xdelta3,zstd"
    )]
    tools: Vec<String>,
    /// Tools to run on the synthetic pairs (comma-separated; empty list skips them).
    #[arg(long, value_delimiter = ',', default_value = "tufota")]
    synthetic_tools: Vec<String>,
    /// Sizes of the synthetic pairs in MB (comma-separated; 0 skips them).
    #[arg(long, value_delimiter = ',', default_value = "30,100")]
    synthetic_mb: Vec<u64>,
    /// Applies per pair and tool; the median (by wall time) is reported, with the highest RSS.
    #[arg(long, default_value_t = 5)]
    apply_runs: usize,
    /// Only these corpus pairs (comma-separated names); all by default.
    #[arg(long, value_delimiter = ',')]
    pairs: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("delta-bench: {e}");
            ExitCode::from(2)
        }
    }
}

struct Pair {
    name: String,
    old: PathBuf,
    new: PathBuf,
    tools: Vec<Tool>,
}

fn run(cli: &Cli) -> Result<bool, String> {
    std::fs::create_dir_all(&cli.work).map_err(|e| format!("{}: {e}", cli.work.display()))?;
    let self_dir = std::env::current_exe()
        .map_err(|e| format!("locating delta-bench: {e}"))?
        .parent()
        .map(Path::to_path_buf)
        .ok_or("delta-bench has no parent directory")?;
    let tufota = self_dir.join("tufota-delta");
    if !tufota.is_file() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p tufota-delta --features cli`",
            tufota.display()
        ));
    }
    let corpus_tools = tools::parse(&cli.tools, &tufota)?;
    let synthetic_tools = tools::parse(&cli.synthetic_tools, &tufota)?;

    let mut pairs = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(&cli.corpus)
        .map_err(|e| format!("{}: {e}", cli.corpus.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.path().join("old").is_file() && e.path().join("new").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        if !cli.pairs.is_empty() && !cli.pairs.contains(&name) {
            continue;
        }
        let dir = cli.corpus.join(&name);
        pairs.push(Pair {
            name,
            old: dir.join("old"),
            new: dir.join("new"),
            tools: corpus_tools.clone(),
        });
    }
    if !synthetic_tools.is_empty() {
        for &mb in cli.synthetic_mb.iter().filter(|&&mb| mb > 0) {
            let name = format!("synthetic{mb}");
            let dir = cli.work.join(&name);
            eprintln!("making {name} in {}", dir.display());
            synthetic::make_pair(&dir, mb * 1_000_000, mb)
                .map_err(|e| format!("{}: {e}", dir.display()))?;
            pairs.push(Pair {
                name,
                old: dir.join("old"),
                new: dir.join("new"),
                tools: synthetic_tools.clone(),
            });
        }
    }

    let loadavg = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", loadavg().trim());
    println!();
    println!(
        "| pair | tool | patch bytes | % of new | gen wall s | gen RSS MiB | apply wall s | apply cpu s | apply RSS MiB | apply MB/s (wall) | apply MB/s (cpu) | result |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    let mut all_ok = true;
    for pair in &pairs {
        let new_len = std::fs::metadata(&pair.new)
            .map_err(|e| format!("{}: {e}", pair.new.display()))?
            .len();
        let new_sha = tools::sha256_file(&pair.new)?;
        for tool in &pair.tools {
            eprintln!("{} / {} ...", pair.name, tool.name());
            let m = tool.measure(
                &pair.old,
                &pair.new,
                &cli.work,
                &pair.name,
                &new_sha,
                cli.apply_runs,
            );
            all_ok &= print_row(&pair.name, tool.name(), new_len, &m);
        }
    }
    println!();
    println!("load average at end: {}", loadavg().trim());
    Ok(all_ok)
}

fn print_row(pair: &str, tool: &str, new_len: u64, m: &Result<Measured, String>) -> bool {
    match m {
        Ok(m) => {
            let mb = new_len as f64 / 1e6;
            let pct = 100.0 * m.patch_len as f64 / new_len.max(1) as f64;
            let rate = |s: f64| {
                if s > 0.0 {
                    format!("{:.0}", mb / s)
                } else {
                    "-".into()
                }
            };
            println!(
                "| {pair} | {tool} | {} | {pct:.3}% | {:.2} | {:.1} | {:.3} | {:.2} | {:.1} | {} | {} | {} |",
                m.patch_len,
                m.gen.wall,
                m.gen.rss_kib as f64 / 1024.0,
                m.apply.wall,
                m.apply.cpu(),
                m.apply.rss_kib as f64 / 1024.0,
                rate(m.apply.wall),
                rate(m.apply.cpu()),
                if m.output_ok { "ok" } else { "WRONG OUTPUT" },
            );
            m.output_ok
        }
        Err(e) => {
            println!("| {pair} | {tool} | failed: {e} |  |  |  |  |  |  |  |  |  |");
            false
        }
    }
}
