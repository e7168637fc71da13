//! Reports to the fleet operator, and the check-in header on metadata requests.
//!
//! A report is queued on disk (atomically, in `state_dir/reports/`) before anything that
//! depends on it is journaled, and removed only after the report URL accepted it, so nothing
//! is lost while the device is offline or when the power goes. Its file name is derived from
//! the update id and the result, so queuing it again after a power cut replaces it rather
//! than sending it twice. Success is queued only at confirm, after the new image booted; a
//! fallback or a requested rollback is reported as a rollback.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::durable::{read_bounded, remove_durable, write_atomic, DurableWriteError, StepHook};
use super::journal::Phase;
use crate::transport::encode_path_segment;

const MAX_REPORT_BYTES: u64 = 256 * 1024;
/// Error lines kept in a report: enough to diagnose, bounded so the queue stays small.
pub const MAX_ERROR_LINES: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultCode {
    Success,
    RolledBack,
    Failed,
}

impl ResultCode {
    fn name(self) -> &'static str {
        match self {
            ResultCode::Success => "success",
            ResultCode::RolledBack => "rolled_back",
            ResultCode::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub update_id: String,
    pub device_id: String,
    pub model: String,
    pub component: String,
    pub from_version: String,
    pub to_version: String,
    pub target: String,
    pub result: ResultCode,
    pub phase: Phase,
    pub started: String,
    pub finished: String,
    pub duration_secs: i64,
    pub errors: Vec<String>,
}

#[derive(Debug, Error)]
pub enum ReportError {
    #[error("report queue {path}: {source}")]
    Queue {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] DurableWriteError),
}

/// Where queued reports go.
pub trait ReportSink {
    /// Delivers one report document; Err means "keep it for later".
    fn send(&self, body: &[u8]) -> Result<(), String>;
}

/// POSTs reports as JSON to the configured URL.
pub struct HttpReportSink {
    url: String,
    agent: ureq::Agent,
}

impl HttpReportSink {
    pub fn new(url: &str, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .build()
            .new_agent();
        HttpReportSink {
            url: url.to_owned(),
            agent,
        }
    }
}

impl ReportSink for HttpReportSink {
    fn send(&self, body: &[u8]) -> Result<(), String> {
        self.agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .send(body)
            .map(|_| ())
            .map_err(|e| format!("POST {}: {e}", self.url))
    }
}

pub struct ReportQueue {
    dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct FlushOutcome {
    pub sent: usize,
    pub queued: usize,
}

impl ReportQueue {
    pub fn new(dir: &Path) -> Self {
        ReportQueue {
            dir: dir.to_owned(),
        }
    }

    fn file_for(&self, report: &Report) -> PathBuf {
        self.dir.join(format!(
            "{}.{}.json",
            report.update_id,
            report.result.name()
        ))
    }

    /// Queues a report durably; queuing the same update's same result again replaces it.
    pub fn enqueue(&self, report: &Report, hook: &dyn StepHook) -> Result<(), ReportError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| ReportError::Queue {
            path: self.dir.clone(),
            source,
        })?;
        let bytes = serde_json::to_vec(report).map_err(|e| ReportError::Queue {
            path: self.dir.clone(),
            source: std::io::Error::other(e),
        })?;
        write_atomic(&self.file_for(report), &bytes, hook)?;
        hook.reached("report:queued");
        Ok(())
    }

    /// Queued report files, oldest name first.
    pub fn pending(&self) -> Result<Vec<PathBuf>, ReportError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(ReportError::Queue {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        files.sort();
        Ok(files)
    }

    /// Reads a queued report.
    pub fn read(&self, path: &Path) -> Result<Report, ReportError> {
        let bytes = read_bounded(path, MAX_REPORT_BYTES)
            .map_err(|source| ReportError::Queue {
                path: path.to_owned(),
                source,
            })?
            .unwrap_or_default();
        serde_json::from_slice(&bytes).map_err(|e| ReportError::Queue {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })
    }

    /// Sends queued reports in order, stopping at the first the sink refuses (it is likely
    /// offline); each is removed only after it was accepted.
    pub fn flush(
        &self,
        sink: &dyn ReportSink,
        hook: &dyn StepHook,
    ) -> Result<FlushOutcome, ReportError> {
        let files = self.pending()?;
        let mut outcome = FlushOutcome {
            sent: 0,
            queued: files.len(),
        };
        for path in files {
            let Some(body) =
                read_bounded(&path, MAX_REPORT_BYTES).map_err(|source| ReportError::Queue {
                    path: path.clone(),
                    source,
                })?
            else {
                continue;
            };
            if sink.send(&body).is_err() {
                break;
            }
            remove_durable(&path, hook)?;
            outcome.sent += 1;
            outcome.queued -= 1;
        }
        Ok(outcome)
    }
}

/// Header naming the device model (`DeviceConfig::model`).
pub const MODEL_HEADER: &str = "X-Tufota-Device-Model";
/// Header listing the running version of every component, `component=version` joined by `,`.
pub const VERSIONS_HEADER: &str = "X-Tufota-Current-Version";
/// Header naming the region (`DeviceConfig::region`); absent when none is configured.
pub const REGION_HEADER: &str = "X-Tufota-Region";

/// The check-in headers sent with metadata requests, so the server can see which models and
/// versions are in the field (and which region) without a separate call, the way a fleet
/// server reads its devices' inventory. They carry no secret and no decision rests on them:
/// the device decides from signed metadata alone.
///
/// Every value part is percent-encoded (RFC 3986 unreserved characters stay as they are), so
/// a configured or signed string holding CR LF cannot forge a header line, and one holding
/// `,` or `=` cannot forge a component in the version list.
pub fn checkin_headers(
    model: &str,
    region: Option<&str>,
    versions: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let current = versions
        .iter()
        .map(|(component, version)| {
            format!(
                "{}={}",
                encode_path_segment(component),
                encode_path_segment(version)
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    let mut headers = vec![
        (MODEL_HEADER.to_owned(), encode_path_segment(model)),
        (VERSIONS_HEADER.to_owned(), current),
    ];
    if let Some(region) = region {
        headers.push((REGION_HEADER.to_owned(), encode_path_segment(region)));
    }
    headers
}

/// Keeps the last [`MAX_ERROR_LINES`] lines of an error text.
pub fn last_error_lines(text: &str) -> Vec<String> {
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let skip = lines.len().saturating_sub(MAX_ERROR_LINES);
    lines.into_iter().skip(skip).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkin_values_cannot_forge_lines_or_fields() {
        let versions = BTreeMap::from([
            ("boot".to_owned(), "2.1".to_owned()),
            (
                "system".to_owned(),
                "1.0,evil=9\r\nX-Injected: 1".to_owned(),
            ),
        ]);
        let headers = checkin_headers("router x\r\nHost: a", Some("eu-west"), &versions);
        assert_eq!(
            headers,
            vec![
                (
                    MODEL_HEADER.to_owned(),
                    "router%20x%0D%0AHost%3A%20a".to_owned()
                ),
                (
                    VERSIONS_HEADER.to_owned(),
                    "boot=2.1,system=1.0%2Cevil%3D9%0D%0AX-Injected%3A%201".to_owned()
                ),
                (REGION_HEADER.to_owned(), "eu-west".to_owned()),
            ]
        );
        let without_region = checkin_headers("m", None, &versions);
        assert!(without_region.iter().all(|(name, _)| name != REGION_HEADER));
    }
}
