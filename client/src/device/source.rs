//! Where the engine's target bytes come from on a real device: the configured targets
//! mirror, over HTTP(S) with a `Range` request when a download resumes, or `file://` (a USB
//! stick, a local mirror) with a seek. Bodies go through the transport's [`BoundedReader`]:
//! capped at the signed length and held to the same minimum speed as metadata downloads
//! (slow-retrieval attack). The URL is the updater's: each name segment percent-encoded,
//! prefixed with the sha256 when root sets `consistent_snapshot` (spec §5.7.3).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use url::Url;

use super::install::TargetSource;
use crate::metadata::TargetFile;
use crate::transport::{encode_path_segment, join_url, BoundedReader, TransportConfig};

const INPUT_BUFFER: usize = 512 * 1024;

pub struct MirrorSource {
    targets_base: Url,
    consistent_snapshot: bool,
    agent: ureq::Agent,
    config: TransportConfig,
}

impl MirrorSource {
    pub fn new(targets_base: Url, consistent_snapshot: bool, config: TransportConfig) -> Self {
        let agent_config = ureq::Agent::config_builder()
            .timeout_connect(Some(config.connect_timeout))
            .timeout_per_read(Some(config.read_timeout))
            .timeout_recv_response(Some(config.read_timeout))
            .http_status_as_error(false)
            // Images are large: fewer, larger reads from the socket.
            .input_buffer_size(INPUT_BUFFER)
            .user_agent(concat!("tufota-client/", env!("CARGO_PKG_VERSION")))
            .build();
        MirrorSource {
            targets_base,
            consistent_snapshot,
            agent: ureq::Agent::new_with_config(agent_config),
            config,
        }
    }

    /// The target's URL below the targets base.
    pub fn url_of(&self, name: &str, file: &TargetFile) -> Result<Url, String> {
        let (dir, base) = match name.rsplit_once('/') {
            Some((d, b)) => (Some(d), b),
            None => (None, name),
        };
        let mut base = encode_path_segment(base);
        if self.consistent_snapshot {
            if let Some(hash) = file
                .hashes
                .get("sha256")
                .or_else(|| file.hashes.values().next())
            {
                base = format!("{}.{base}", encode_path_segment(hash));
            }
        }
        let relative = match dir {
            Some(dir) => {
                let dir: Vec<String> = dir.split('/').map(encode_path_segment).collect();
                format!("{}/{base}", dir.join("/"))
            }
            None => base,
        };
        join_url(&self.targets_base, &relative).map_err(|e| e.to_string())
    }
}

impl TargetSource for MirrorSource {
    fn open(
        &self,
        name: &str,
        file: &TargetFile,
        offset: u64,
    ) -> Result<Box<dyn Read + Send + '_>, String> {
        let url = self.url_of(name, file)?;
        let url_s = url.as_str().to_owned();
        let remaining = file.length.saturating_sub(offset);
        match url.scheme() {
            "http" | "https" => {
                let mut request = self.agent.get(&url_s);
                if offset > 0 {
                    request = request.header("Range", &format!("bytes={offset}-"));
                }
                let response = request.call().map_err(|e| format!("GET {url_s}: {e}"))?;
                let status = response.status().as_u16();
                let mut body: Box<dyn Read + Send> = Box::new(response.into_body().into_reader());
                match status {
                    206 if offset > 0 => {}
                    200 if offset > 0 => {
                        // The server ignored the Range: skip what the slot already holds.
                        let skipped = io::copy(&mut (&mut body).take(offset), &mut io::sink())
                            .map_err(|e| format!("GET {url_s}: {e}"))?;
                        if skipped != offset {
                            return Err(format!("GET {url_s}: body shorter than {offset} bytes"));
                        }
                    }
                    200 => {}
                    other => return Err(format!("GET {url_s}: HTTP status {other}")),
                }
                Ok(Box::new(BoundedReader::new(
                    body,
                    &url_s,
                    remaining,
                    &self.config,
                )))
            }
            "file" => {
                let path = url
                    .to_file_path()
                    .map_err(|_| format!("{url_s} is not a local path"))?;
                let mut f = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                f.seek(SeekFrom::Start(offset))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(Box::new(BoundedReader::new(
                    f,
                    &url_s,
                    remaining,
                    &self.config,
                )))
            }
            other => Err(format!("{url_s}: unsupported scheme {other}")),
        }
    }
}
