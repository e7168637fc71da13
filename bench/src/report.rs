//! The markdown tables: one per scenario, tufota first, ratios peer / tufota.

use std::fmt::Write;
use std::time::Duration;

use crate::measure::Measurement;
use crate::sizes::Sizes;

/// What became of one tool in one scenario.
pub enum Outcome {
    Measured(Measurement),
    /// Stopped at the time limit.
    TimedOut,
    /// The tool exited non-zero (the row's note says why).
    Failed,
}

impl Outcome {
    fn measured(&self) -> Option<Measurement> {
        match self {
            Outcome::Measured(m) => Some(*m),
            Outcome::TimedOut | Outcome::Failed => None,
        }
    }
}

/// One row: a tool and its outcome.
pub struct Row {
    pub tool: String,
    pub outcome: Outcome,
    pub note: String,
}

pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn bytes_mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn ratio(peer: f64, tufota: f64) -> String {
    if tufota <= 0.0 {
        return "–".to_string();
    }
    format!("{:.1}×", peer / tufota)
}

/// A table whose first row is tufota's, the baseline of the ratio columns.
pub fn scenario_table(title: &str, rows: &[Row], limit: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### {title}\n");
    let _ = writeln!(
        out,
        "| tool | wall time | peak RSS | time vs tufota | RSS vs tufota | notes |"
    );
    let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | --- |");
    let baseline = rows.first().and_then(|r| r.outcome.measured());
    for (index, row) in rows.iter().enumerate() {
        let (wall, rss, time_ratio, rss_ratio) = match (&row.outcome, baseline) {
            (Outcome::Measured(m), Some(base)) => (
                seconds(m.wall),
                mib(m.peak_rss_kib),
                if index == 0 {
                    "1.0×".to_string()
                } else {
                    ratio(m.wall.as_secs_f64(), base.wall.as_secs_f64())
                },
                if index == 0 {
                    "1.0×".to_string()
                } else {
                    ratio(m.peak_rss_kib as f64, base.peak_rss_kib as f64)
                },
            ),
            (Outcome::Measured(m), None) => {
                (seconds(m.wall), mib(m.peak_rss_kib), "–".into(), "–".into())
            }
            (Outcome::TimedOut, Some(base)) => (
                format!("> {}", seconds(limit)),
                "–".into(),
                format!("> {}", ratio(limit.as_secs_f64(), base.wall.as_secs_f64())),
                "–".into(),
            ),
            (Outcome::TimedOut, None) => (
                format!("> {}", seconds(limit)),
                "–".into(),
                "–".into(),
                "–".into(),
            ),
            (Outcome::Failed, _) => ("failed".into(), "–".into(), "–".into(), "–".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {wall} | {rss} | {time_ratio} | {rss_ratio} | {} |",
            row.tool, row.note
        );
    }
    out
}

pub fn size_table(sizes: &Sizes) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Size on disk\n");
    let _ = writeln!(out, "| what | bytes | size | vs tufota-client |");
    let _ = writeln!(out, "| --- | ---: | ---: | ---: |");
    let client = sizes.client as f64;
    let mut row = |what: &str, bytes: u64| {
        let _ = writeln!(
            out,
            "| {what} | {bytes} | {} | {} |",
            bytes_mib(bytes),
            ratio(bytes as f64, client)
        );
    };
    row("tufota-client (release, stripped)", sizes.client);
    row("repo-tool (release, stripped)", sizes.repo_tool);
    row(
        "tuftool (as `cargo install` built it)",
        sizes.tuftool_installed,
    );
    if let Some(stripped) = sizes.tuftool_stripped {
        row("tuftool, stripped copy", stripped);
    }
    let (python_bytes, python_dists) = &sizes.python;
    row(
        &format!("python-tuf installed ({python_dists}; interpreter not counted)"),
        *python_bytes,
    );
    out
}
