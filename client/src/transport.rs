//! Where bytes come from: HTTP and HTTPS (one reused ureq agent, so keep-alive connections
//! are shared by every request of a refresh), `file://` URLs (a local mirror, a USB stick),
//! and an ordered list of mirrors tried in turn.
//!
//! Every body is read through a [`BoundedReader`], which answers two attacks of the TUF
//! threat model (spec §1.5.2) before any signature is looked at:
//! - *endless data*: at most `max_len` bytes are accepted; the reader asks for one byte more
//!   and fails if the server has it, so a longer body is refused rather than cut;
//! - *slow retrieval*: after a grace period the average throughput must stay above a floor,
//!   and each read must return within the read timeout, so a server that trickles or stalls
//!   cannot hold a device forever.
//!
//! A transport never judges content. Whatever fails here is a failure of *that* mirror and
//! the next one may be tried; whatever fails after the bytes are complete (a signature, a
//! hash, a length) is an attack on signed data and stops the update (see [`Mirror`]).

use std::fs::File;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use thiserror::Error;
use url::Url;

/// A failure to obtain bytes from one URL.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum TransportError {
    /// HTTP 404 or 403 (python-tuf treats both as "not there"), or a missing local file.
    #[error("{url}: not found")]
    NotFound { url: String },
    #[error("{url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {reason}")]
    Io { url: String, reason: String },
    #[error("{url}: refused, the body is longer than the limit of {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: refused, {bytes} bytes in {millis} ms is below the minimum average speed of {floor} bytes/s (slow retrieval)")]
    TooSlow {
        url: String,
        bytes: u64,
        millis: u128,
        floor: u64,
    },
    #[error("{url}: URL scheme {scheme:?} is not supported (http, https, file are)")]
    UnsupportedScheme { url: String, scheme: String },
    /// A header given to [`HttpTransport::with_headers`] that would not be one valid header
    /// line (an empty or non-token name, a value with CR, LF or other control bytes).
    #[error("request header {name:?} refused: {reason}")]
    BadHeader { name: String, reason: String },
}

impl TransportError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, TransportError::NotFound { .. })
    }

    /// Recovers a transport error carried through `std::io::Read`, or wraps any other I/O
    /// error as a failure of `url`.
    pub fn from_io(url: &str, err: io::Error) -> Self {
        let reason = err.to_string();
        match err.into_inner() {
            Some(inner) => match inner.downcast::<TransportError>() {
                Ok(t) => *t,
                Err(other) => TransportError::Io {
                    url: url.into(),
                    reason: other.to_string(),
                },
            },
            None => TransportError::Io {
                url: url.into(),
                reason,
            },
        }
    }

    fn into_io(self) -> io::Error {
        io::Error::other(self)
    }
}

/// Time limits of every request. Defaults follow python-tuf's ngclient where it has one
/// (30 s socket timeout); the speed floor is ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// Time to establish a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest wait for any single read, and for the whole status line and headers.
    pub read_timeout: Duration,
    /// Minimum average throughput of a body, in bytes per second, once `slow_grace` has
    /// passed (slow-retrieval attack).
    pub min_bytes_per_sec: u64,
    /// Time a body may take before the speed floor applies (TCP slow start, a short stall).
    pub slow_grace: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            min_bytes_per_sec: 1024,
            slow_grace: Duration::from_secs(10),
        }
    }
}

/// A body being read: at most the limit, no slower than the floor.
pub type Body = BoundedReader<Box<dyn Read + Send>>;

/// Something that turns a URL into a bounded body.
pub trait Transport: Send + Sync {
    /// Opens `url` for reading; the body yields at most `max_len` bytes and fails with
    /// [`TransportError::TooLarge`] if there are more.
    fn fetch(&self, url: &Url, max_len: u64) -> Result<Body, TransportError>;

    /// Reads the whole body of `url` into memory (metadata; bounded by `max_len`).
    fn fetch_bytes(&self, url: &Url, max_len: u64) -> Result<Vec<u8>, TransportError> {
        let mut body = self.fetch(url, max_len)?;
        let mut out = Vec::new();
        body.read_to_end(&mut out)
            .map_err(|e| TransportError::from_io(url.as_str(), e))?;
        Ok(out)
    }
}

/// Wraps a body: caps its length (reading one byte past the cap to tell "exactly the cap" from
/// "longer") and enforces the minimum average speed.
pub struct BoundedReader<R> {
    inner: R,
    url: String,
    limit: u64,
    read: u64,
    started: Instant,
    min_bytes_per_sec: u64,
    grace: Duration,
}

impl<R: Read> BoundedReader<R> {
    pub fn new(inner: R, url: &str, limit: u64, config: &TransportConfig) -> Self {
        BoundedReader {
            inner,
            url: url.into(),
            limit,
            read: 0,
            started: Instant::now(),
            min_bytes_per_sec: config.min_bytes_per_sec,
            grace: config.slow_grace,
        }
    }

    /// Bytes delivered so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    fn check_speed(&self) -> io::Result<()> {
        let elapsed = self.started.elapsed();
        if elapsed <= self.grace || self.min_bytes_per_sec == 0 {
            return Ok(());
        }
        let millis = elapsed.as_millis();
        // bytes/s < floor  <=>  bytes * 1000 < floor * millis (no floating point)
        if u128::from(self.read) * 1000 < u128::from(self.min_bytes_per_sec) * millis {
            return Err(TransportError::TooSlow {
                url: self.url.clone(),
                bytes: self.read,
                millis,
                floor: self.min_bytes_per_sec,
            }
            .into_io());
        }
        Ok(())
    }
}

impl<R: Read> Read for BoundedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.check_speed()?;
        let remaining = self.limit.saturating_sub(self.read);
        if remaining == 0 {
            let mut probe = [0u8; 1];
            let n = loop {
                match self.inner.read(&mut probe) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            if n > 0 {
                return Err(TransportError::TooLarge {
                    url: self.url.clone(),
                    limit: self.limit,
                }
                .into_io());
            }
            return Ok(0);
        }
        let want = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
        let n = self.inner.read(buf.get_mut(..want).unwrap_or_default())?;
        self.read = self.read.saturating_add(n as u64);
        if n > 0 {
            self.check_speed()?;
        }
        Ok(n)
    }
}

/// HTTP and HTTPS through one ureq agent (keep-alive: a refresh reuses its connections).
pub struct HttpTransport {
    agent: ureq::Agent,
    config: TransportConfig,
    /// Sent with every request, after the agent's own headers (a device's check-in header).
    headers: Vec<(String, String)>,
}

impl HttpTransport {
    pub fn new(config: TransportConfig) -> Self {
        let agent_config = ureq::Agent::config_builder()
            .timeout_connect(Some(config.connect_timeout))
            .timeout_per_read(Some(config.read_timeout))
            // The status line and headers as a whole, so a server cannot drip them forever.
            .timeout_recv_response(Some(config.read_timeout))
            // Statuses are ours to interpret: 404/403 end the root walk, others are errors.
            .http_status_as_error(false)
            .user_agent(concat!("tufota-client/", env!("CARGO_PKG_VERSION")))
            .build();
        HttpTransport {
            agent: ureq::Agent::new_with_config(agent_config),
            config,
            headers: Vec::new(),
        }
    }

    /// Sends `headers` with every request (the device's check-in header on metadata
    /// requests). Each is checked here, once, so that a value from a configuration file can
    /// never add a header line of its own or make every later request fail.
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Result<Self, TransportError> {
        for (name, value) in &headers {
            check_header(name, value)?;
        }
        self.headers = headers;
        Ok(self)
    }
}

/// A header name is an RFC 9110 token; a value is visible ASCII, spaces and tabs (no CR,
/// LF or other control bytes, no obs-text).
fn check_header(name: &str, value: &str) -> Result<(), TransportError> {
    let refused = |reason: &str| TransportError::BadHeader {
        name: name.into(),
        reason: reason.into(),
    };
    let token_byte = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token_byte) {
        return Err(refused("the name is not an HTTP token"));
    }
    if !value
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
    {
        return Err(refused(
            "the value holds a control byte (CR, LF, ...) or a non-ASCII byte",
        ));
    }
    Ok(())
}

impl Transport for HttpTransport {
    fn fetch(&self, url: &Url, max_len: u64) -> Result<Body, TransportError> {
        let url_s = url.as_str();
        let mut request = self.agent.get(url_s);
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.call().map_err(|e| match e {
            ureq::Error::Io(io) => TransportError::from_io(url_s, io),
            other => TransportError::Io {
                url: url_s.into(),
                reason: other.to_string(),
            },
        })?;
        let status = response.status().as_u16();
        if status == 404 || status == 403 {
            return Err(TransportError::NotFound { url: url_s.into() });
        }
        if status != 200 {
            return Err(TransportError::Status {
                url: url_s.into(),
                status,
            });
        }
        // A declared length over the cap is refused before reading any of the body.
        let declared = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > max_len) {
            return Err(TransportError::TooLarge {
                url: url_s.into(),
                limit: max_len,
            });
        }
        let reader: Box<dyn Read + Send> = Box::new(response.into_body().into_reader());
        Ok(BoundedReader::new(reader, url_s, max_len, &self.config))
    }
}

/// `file://` URLs: a mirror on a local disk or a USB stick. A missing file is "not found".
pub struct FileTransport {
    config: TransportConfig,
}

impl FileTransport {
    pub fn new(config: TransportConfig) -> Self {
        FileTransport { config }
    }
}

impl Transport for FileTransport {
    fn fetch(&self, url: &Url, max_len: u64) -> Result<Body, TransportError> {
        let url_s = url.as_str();
        let path = url.to_file_path().map_err(|()| TransportError::Io {
            url: url_s.into(),
            reason: "not a local file path".into(),
        })?;
        let file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => TransportError::NotFound { url: url_s.into() },
            _ => TransportError::Io {
                url: url_s.into(),
                reason: e.to_string(),
            },
        })?;
        let meta = file.metadata().map_err(|e| TransportError::Io {
            url: url_s.into(),
            reason: e.to_string(),
        })?;
        if meta.is_dir() {
            return Err(TransportError::NotFound { url: url_s.into() });
        }
        let reader: Box<dyn Read + Send> = Box::new(file);
        Ok(BoundedReader::new(reader, url_s, max_len, &self.config))
    }
}

/// The transport a device uses: HTTP(S) or local files, chosen by URL scheme.
pub struct DefaultTransport {
    http: HttpTransport,
    file: FileTransport,
}

impl DefaultTransport {
    pub fn new(config: TransportConfig) -> Self {
        DefaultTransport {
            http: HttpTransport::new(config.clone()),
            file: FileTransport::new(config),
        }
    }
}

impl DefaultTransport {
    /// Sends `headers` with every HTTP(S) request; `file://` reads have no headers.
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Result<Self, TransportError> {
        self.http = self.http.with_headers(headers)?;
        Ok(self)
    }
}

impl Default for DefaultTransport {
    fn default() -> Self {
        Self::new(TransportConfig::default())
    }
}

impl Transport for DefaultTransport {
    fn fetch(&self, url: &Url, max_len: u64) -> Result<Body, TransportError> {
        match url.scheme() {
            "http" | "https" => self.http.fetch(url, max_len),
            "file" => self.file.fetch(url, max_len),
            other => Err(TransportError::UnsupportedScheme {
                url: url.as_str().into(),
                scheme: other.into(),
            }),
        }
    }
}

/// One copy of a repository: where its metadata and (optionally) its targets are served.
///
/// Mirrors are tried in order when a *transport* fails (not found, connection refused, a
/// timeout, too slow, too long). They are never tried after bytes arrived and failed a
/// check against signed metadata: that is an attack, and the update stops and says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub metadata_base: Url,
    pub targets_base: Option<Url>,
}

impl Mirror {
    /// Parses the two base URLs; each is treated as a directory (a trailing `/` is added).
    pub fn new(metadata_base: &str, targets_base: Option<&str>) -> Result<Self, TransportError> {
        Ok(Mirror {
            metadata_base: directory_url(metadata_base)?,
            targets_base: targets_base.map(directory_url).transpose()?,
        })
    }
}

/// Parses `url` as the base of a directory: with a trailing slash, so joining a file name
/// appends to it instead of replacing its last segment.
pub fn directory_url(url: &str) -> Result<Url, TransportError> {
    let mut text = url.to_string();
    if !text.ends_with('/') {
        text.push('/');
    }
    Url::parse(&text).map_err(|e| TransportError::Io {
        url: url.into(),
        reason: format!("not a valid URL: {e}"),
    })
}

/// Percent-encodes every byte that is not an RFC 3986 unreserved character
/// (`A-Z a-z 0-9 - . _ ~`): what python-tuf's `quote(name, "")` does to role names in URLs,
/// so a role named `../x` or `a?b` is requested as one path segment.
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Joins an already-encoded relative path onto a directory URL.
pub fn join_url(base: &Url, encoded_relative: &str) -> Result<Url, TransportError> {
    base.join(encoded_relative).map_err(|e| TransportError::Io {
        url: format!("{base}{encoded_relative}"),
        reason: format!("not a valid URL: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(floor: u64, grace_ms: u64) -> TransportConfig {
        TransportConfig {
            min_bytes_per_sec: floor,
            slow_grace: Duration::from_millis(grace_ms),
            ..TransportConfig::default()
        }
    }

    #[test]
    fn bounded_reader_accepts_exactly_the_limit() {
        let data = [7u8; 100];
        let mut r = BoundedReader::new(&data[..], "u", 100, &config(0, 0));
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn bounded_reader_refuses_one_byte_more() {
        let data = [7u8; 101];
        let mut r = BoundedReader::new(&data[..], "u", 100, &config(0, 0));
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).unwrap_err();
        assert_eq!(
            TransportError::from_io("u", err),
            TransportError::TooLarge {
                url: "u".into(),
                limit: 100
            }
        );
        assert_eq!(out.len(), 100);
    }

    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(encode_path_segment("a-b_c.d~E9"), "a-b_c.d~E9");
        assert_eq!(encode_path_segment("../x"), "..%2Fx");
        assert_eq!(encode_path_segment("a?b#c d"), "a%3Fb%23c%20d");
        assert_eq!(encode_path_segment("ü"), "%C3%BC");
    }

    #[test]
    fn headers_that_would_break_the_request_are_refused() {
        let http = || HttpTransport::new(TransportConfig::default());
        assert!(http()
            .with_headers(vec![("X-Tufota-Region".into(), "eu-west 1".into())])
            .is_ok());
        for (name, value) in [
            ("X-Tufota-Region", "eu\r\nX-Injected: 1"),
            ("X-Tufota-Region", "eu\n"),
            ("X-Tufota-Region", "région"),
            ("X Tufota", "v"),
            ("X-Tufota:", "v"),
            ("", "v"),
        ] {
            let err = http()
                .with_headers(vec![(name.into(), value.into())])
                .err()
                .unwrap();
            assert!(
                matches!(&err, TransportError::BadHeader { name: n, .. } if n == name),
                "{err}"
            );
        }
    }

    #[test]
    fn directory_urls_get_a_trailing_slash() {
        let base = directory_url("http://h/a/metadata").unwrap();
        assert_eq!(
            join_url(&base, "1.root.json").unwrap().as_str(),
            "http://h/a/metadata/1.root.json"
        );
    }
}
