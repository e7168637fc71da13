//! tufota-bench: builds the same repositories with tufota and its peers (tuftool from
//! crates.io, python-tuf from PyPI) and measures them in one run, side by side (issue #8).
//!
//! Scenarios (bench/README.md says what is fair about each):
//! - create and sign N targets (repo-tool, `tuftool create`, python-tuf Metadata API);
//! - a fresh client refreshes and downloads 1 and many targets over loopback HTTP
//!   (tufota-client, `tuftool download`, python-tuf ngclient);
//! - binary and install sizes.
//!
//! Progress goes to stderr, the markdown tables to stdout. Run through bench/run.sh, which
//! builds and installs everything this needs. Not run in CI.
#![forbid(unsafe_code)]

mod create;
mod download;
mod inputs;
mod measure;
mod report;
mod server;
mod sizes;

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Parser;

use download::Scenario;
use inputs::Keys;
use measure::{Measurement, Runner};
use report::{Outcome, Row};
use server::Server;

pub type BenchResult<T> = Result<T, Box<dyn Error>>;

/// A file in the work directory marking it as ours, so a rerun may delete it.
const WORK_MARKER: &str = ".tufota-bench-work";

#[derive(Debug, Parser)]
#[command(name = "tufota-bench", about = "tufota vs tuftool vs python-tuf")]
struct Options {
    /// repo-tool binary (release build).
    #[arg(long)]
    repo_tool: PathBuf,
    /// tufota-client binary (release build).
    #[arg(long)]
    client: PathBuf,
    /// tuftool binary (`cargo install tuftool`).
    #[arg(long)]
    tuftool: PathBuf,
    /// Python interpreter of a virtual environment with tuf and securesystemslib[crypto].
    #[arg(long)]
    python: PathBuf,
    /// Directory holding create_repo.py, download.py and installed_size.py.
    #[arg(long)]
    python_scripts: PathBuf,
    /// GNU time (peak RSS via `-f %M`).
    #[arg(long, default_value = "/usr/bin/time")]
    gnu_time: PathBuf,
    /// Scratch directory (deleted and recreated if a previous run made it).
    #[arg(long)]
    work: PathBuf,
    /// Target counts for "create and sign".
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    sizes: Vec<usize>,
    /// Bytes per target file.
    #[arg(long, default_value_t = 1024)]
    target_bytes: usize,
    /// Targets in the served repository the download scenarios use.
    #[arg(long, default_value_t = 10_000)]
    served_targets: usize,
    /// How many targets each download scenario fetches.
    #[arg(long, value_delimiter = ',', default_value = "1,1000")]
    download_counts: Vec<usize>,
    /// Runs per download scenario (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Time limit, in seconds, for one tool creating one repository.
    #[arg(long, default_value_t = 1800)]
    create_limit: u64,
}

/// The programs under test.
pub struct Tools {
    pub repo_tool: PathBuf,
    pub client: PathBuf,
    pub tuftool: PathBuf,
    pub python: PathBuf,
    pub python_scripts: PathBuf,
}

fn main() {
    let options = Options::parse();
    if let Err(e) = run(&options) {
        eprintln!("tufota-bench: {e}");
        std::process::exit(1);
    }
}

fn run(options: &Options) -> BenchResult<()> {
    let tools = Tools {
        repo_tool: absolute(&options.repo_tool)?,
        client: absolute(&options.client)?,
        tuftool: absolute(&options.tuftool)?,
        python: options.python.clone(),
        python_scripts: absolute(&options.python_scripts)?,
    };
    let work = prepare_work_dir(&options.work)?;
    let mut runner = Runner::new(options.gnu_time.clone(), &work.join("logs"))?;
    let keys = Keys::generate(&work.join("keys"))?;
    let limit = Duration::from_secs(options.create_limit);

    let mut out = String::new();
    out.push_str(&header(&tools, options)?);

    let mut served_repo = None;
    let mut sizes = options.sizes.clone();
    if !sizes.contains(&options.served_targets) {
        sizes.push(options.served_targets);
    }
    for &count in &sizes {
        let targets_dir = work.join("inputs").join(count.to_string());
        progress(&format!(
            "writing {count} target files of {} bytes",
            options.target_bytes
        ));
        inputs::write_targets(&targets_dir, count, options.target_bytes)?;
        let base = work.join("create").join(count.to_string());

        progress(&format!("create {count}: repo-tool"));
        let repo_tool_out = base.join("repo-tool");
        let repo_tool = create::repo_tool(
            &mut runner,
            &tools,
            &keys,
            &targets_dir,
            &repo_tool_out,
            limit,
        );
        progress(&format!("create {count}: tuftool"));
        let tuftool_out = base.join("tuftool");
        let tuftool = create::tuftool(
            &mut runner,
            &tools,
            &keys,
            &targets_dir,
            &tuftool_out,
            limit,
        );
        progress(&format!("create {count}: python-tuf"));
        let python_out = base.join("python-tuf");
        let python =
            create::python_tuf(&mut runner, &tools, &keys, &targets_dir, &python_out, limit);

        let rows = vec![
            create_row(
                "repo-tool (init, add DIR, publish)",
                repo_tool,
                &tools,
                &repo_tool_out,
                count,
            ),
            create_row(
                "tuftool (root ×11, create)",
                tuftool,
                &tools,
                &tuftool_out.join("repo"),
                count,
            ),
            create_row(
                "python-tuf Metadata API",
                python,
                &tools,
                &python_out,
                count,
            ),
        ];
        if options.sizes.contains(&count) {
            out.push_str(&report::scenario_table(
                &format!("Create and sign {count} targets"),
                &rows,
                limit,
            ));
            out.push('\n');
            print_partial(&out);
        }
        let repo_tool_made_it = rows
            .first()
            .is_some_and(|row| matches!(row.outcome, Outcome::Measured(_)));
        if count == options.served_targets && repo_tool_made_it {
            served_repo = Some(repo_tool_out);
        }
    }

    let served_repo = served_repo.ok_or("the served repository was not created")?;
    let server = Server::start(&served_repo)?;
    progress(&format!(
        "serving {} on {}",
        served_repo.display(),
        server.base_url
    ));
    let root = served_repo.join("metadata").join("1.root.json");
    for &count in &options.download_counts {
        let names: Vec<String> = (1..=count.min(options.served_targets))
            .map(inputs::target_name)
            .collect();
        let mut rows = Vec::new();
        type Client = fn(&mut Runner, &Tools, &Scenario) -> BenchResult<Measurement>;
        let clients: [(&str, &str, Client); 3] = [
            (
                "tufota-client (init, download)",
                "tufota-client",
                download::tufota_client,
            ),
            ("tuftool download", "tuftool", download::tuftool),
            ("python-tuf ngclient", "python-tuf", download::python_tuf),
        ];
        for (label, dir_name, client) in clients {
            progress(&format!("download {count}: {dir_name} ×{}", options.runs));
            let mut runs = Vec::new();
            for run in 0..options.runs.max(1) {
                let scenario = Scenario {
                    base_url: &server.base_url,
                    root: &root,
                    names: &names,
                    state: work
                        .join("download")
                        .join(format!("{dir_name}-{count}-{run}")),
                };
                runs.push(client(&mut runner, &tools, &scenario)?);
            }
            rows.push(Row {
                tool: label.into(),
                outcome: Measurement::median(runs).map_or(Outcome::TimedOut, Outcome::Measured),
                note: format!("median of {}", options.runs.max(1)),
            });
        }
        out.push_str(&report::scenario_table(
            &format!(
                "Fresh client: refresh ({} targets in targets.json) and download {count} target{}",
                options.served_targets,
                if count == 1 { "" } else { "s" }
            ),
            &rows,
            limit,
        ));
        out.push('\n');
    }
    drop(server);

    let sizes = sizes::measure(&tools, &work.join("sizes"))?;
    out.push_str(&report::size_table(&sizes));
    out.push('\n');
    out.push_str(FOOTER);
    print!("{out}");
    Ok(())
}

/// What every table shares, said once.
const FOOTER: &str = "\
Same inputs for every tool: the same target files, the same four ed25519 keys (PKCS#8; \
DER for tuftool, which reads ed25519 keys only in that form), threshold 1 per role, \
consistent snapshots, every role expiring in 30 days. Targets are hard-linked by repo-tool \
and the python-tuf script, symlinked by tuftool. Wall time is measured around each process \
(summed over a tool's processes), peak RSS is GNU time's %M (the largest of a tool's \
processes). The download scenarios serve repo-tool's repository over HTTP/1.1 with keep-alive and \
TCP_NODELAY on 127.0.0.1 (the bench's own static server). \"checked\": the tool's repository passes `repo-tool verify` \
(every signature, hash and length, as a device checks them).\n";

fn header(tools: &Tools, options: &Options) -> BenchResult<String> {
    let stdout_of = |program: &Path, args: &[&str]| -> String {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "?".into())
    };
    let tuftool = stdout_of(&tools.tuftool, &["--version"]);
    let python_tuf = stdout_of(
        &tools.python,
        &[
            "-c",
            "import sys, tuf; print(tuf.__version__, 'on Python', sys.version.split()[0])",
        ],
    );
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let open_files = stdout_of(Path::new("sh"), &["-c", "ulimit -n"]);
    Ok(format!(
        "## tufota vs peers\n\n\
         {cores} cores, load average at start {}; open-file limit {open_files}; {} bytes per \
         target; tools: {} (this tree), \
         {tuftool}, python-tuf {python_tuf}.\n\n",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        options.target_bytes,
        stdout_of(&tools.repo_tool, &["--version"]),
    ))
}

/// The row of one tool's "create" result: a failure becomes a note, not the end of the run
/// (tuftool fails at 100k files when the open-file limit is below the file count).
fn create_row(
    tool: &str,
    result: BenchResult<Option<Measurement>>,
    tools: &Tools,
    repo: &Path,
    count: usize,
) -> Row {
    let (outcome, note) = match result {
        Ok(Some(m)) => (Outcome::Measured(m), check_repository(tools, repo, count)),
        Ok(None) => (Outcome::TimedOut, "stopped at the time limit".into()),
        Err(e) => {
            let text = e.to_string();
            // "LABEL: FIRST STDERR LINE" is the error's first line (Runner::run_limited).
            let first_line = text.lines().next().unwrap_or_default();
            let first_error = first_line
                .split_once(": ")
                .map_or(first_line, |(_, said)| said)
                .trim()
                .replace('|', "/");
            progress(&format!("{tool} failed: {text}"));
            (Outcome::Failed, format!("failed: {first_error}"))
        }
    };
    Row {
        tool: tool.into(),
        outcome,
        note,
    }
}

/// `repo-tool verify` on a tool's output, as a note: "checked (N targets)" or the problem.
fn check_repository(tools: &Tools, repo: &Path, expected: usize) -> String {
    let output = match Command::new(&tools.repo_tool)
        .arg("verify")
        .arg(repo)
        .output()
    {
        Ok(output) => output,
        Err(e) => return format!("not checked: {e}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let first_problem = stdout
            .lines()
            .chain(String::from_utf8_lossy(&output.stderr).lines())
            .find(|line| line.contains("problem") || line.contains("error"))
            .unwrap_or("")
            .to_string();
        return format!("`repo-tool verify` failed: {first_problem}");
    }
    let checked = stdout
        .lines()
        .find_map(|line| {
            line.strip_suffix(" bytes")
                .and_then(|l| l.split(" target(s) checked").next())
        })
        .and_then(|n| n.trim().parse::<usize>().ok());
    match checked {
        Some(n) if n == expected => format!("checked ({n} targets)"),
        Some(n) => format!("checked, but {n} targets listed, {expected} expected"),
        None => "checked".into(),
    }
}

fn progress(message: &str) {
    eprintln!("tufota-bench: {message}");
}

/// The tables so far on stderr, so a long run shows results as they come.
fn print_partial(out: &str) {
    eprintln!("{out}");
}

fn absolute(path: &Path) -> BenchResult<PathBuf> {
    fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// Empties the work directory if an earlier run made it (marker file), refuses to touch a
/// directory that is not ours.
fn prepare_work_dir(dir: &Path) -> BenchResult<PathBuf> {
    if dir.exists() {
        if !dir.join(WORK_MARKER).exists() {
            return Err(format!(
                "{} exists and was not made by tufota-bench; give another --work",
                dir.display()
            )
            .into());
        }
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    fs::write(dir.join(WORK_MARKER), b"")?;
    absolute(dir)
}
