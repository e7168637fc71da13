//! Shared by the device_* tests: a real HTTP server on 127.0.0.1 (Range requests, report
//! POSTs, a switch to cut a response short or refuse reports, every request's headers
//! recorded, a published repository directory served as is), an HTTP target source over
//! ureq, signed targets metadata, a simple test delta format, and device directories.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use tufota_client::device::install::{DeltaApplier, TargetSource};
use tufota_client::metadata::{
    HashAlgorithm, KeyType, PrivateKey, Signed, Signer, TargetFile, Targets,
};

#[derive(Default)]
pub struct ServerState {
    pub files: BTreeMap<String, Arc<Vec<u8>>>,
    /// Send at most this many body bytes of the next GET, then drop the connection.
    pub cut_next_get_after: Option<usize>,
    pub refuse_reports: bool,
    pub reports: Vec<Value>,
    /// (path, Range header) of every GET.
    pub gets: Vec<(String, Option<String>)>,
    /// Every request, in order, with all its headers as sent.
    pub requests: Vec<Request>,
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// (name lower-cased, value) of every header line, in order, repeats kept.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The values of every header line named `name` (case-insensitive).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of header `name`, if it was sent exactly once.
    pub fn header(&self, name: &str) -> Option<&str> {
        match self.header_values(name).as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

pub struct Server {
    pub url: String,
    pub state: Arc<Mutex<ServerState>>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(ServerState::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        Server { url, state }
    }

    pub fn put(&self, path: &str, bytes: Vec<u8>) {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(path.to_owned(), Arc::new(bytes));
    }

    /// Serves every file below `dir` at `/<url_prefix>/<relative path>`, with file names as
    /// they are on disk (a `TestRepo` writes names that need encoding already encoded).
    pub fn put_dir(&self, url_prefix: &str, dir: &Path) {
        let mut pending = vec![dir.to_owned()];
        while let Some(d) = pending.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let relative = path.strip_prefix(dir).unwrap().to_str().unwrap();
                let url_path = format!("/{}/{relative}", url_prefix.trim_matches('/'));
                self.put(&url_path, std::fs::read(&path).unwrap());
            }
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn serve(stream: TcpStream, state: &Mutex<ServerState>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut stream = stream;
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut headers = BTreeMap::new();
    let mut all_headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
            all_headers.push((k.clone(), v.clone()));
            headers.insert(k, v);
        }
    }
    state.lock().unwrap().requests.push(Request {
        method: method.clone(),
        path: path.clone(),
        headers: all_headers,
    });
    if method == "POST" {
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body)?;
        let mut s = state.lock().unwrap();
        if s.refuse_reports {
            drop(s);
            return stream.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
        s.reports.push(serde_json::from_slice(&body).unwrap());
        drop(s);
        return stream
            .write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    let range = headers.get("range").cloned();
    let (file, cut) = {
        let mut s = state.lock().unwrap();
        s.gets.push((path.clone(), range.clone()));
        let cut = s.cut_next_get_after.take();
        (s.files.get(&path).cloned(), cut)
    };
    let Some(file) = file else {
        return stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    let start = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0)
        .min(file.len());
    let body = &file[start..];
    let head = if range.is_some() {
        format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {}-{}/{}\r\nConnection: close\r\n\r\n",
            body.len(),
            start,
            file.len().saturating_sub(1),
            file.len()
        )
    } else {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
    };
    stream.write_all(head.as_bytes())?;
    match cut {
        Some(n) => {
            stream.write_all(&body[..n.min(body.len())])?;
            stream.flush()?;
            let _ = stream.shutdown(std::net::Shutdown::Both);
            Ok(())
        }
        None => stream.write_all(body),
    }
}

/// Fetches targets from `<base>/<name>`, with a Range request when resuming.
pub struct HttpSource {
    pub base: String,
    agent: ureq::Agent,
}

impl HttpSource {
    pub fn new(base: &str) -> Self {
        HttpSource {
            base: base.trim_end_matches('/').to_owned(),
            agent: ureq::Agent::new_with_defaults(),
        }
    }
}

impl TargetSource for HttpSource {
    fn open(
        &self,
        name: &str,
        _file: &TargetFile,
        offset: u64,
    ) -> Result<Box<dyn Read + Send + '_>, String> {
        let url = format!("{}/{}", self.base, name);
        let mut request = self.agent.get(&url);
        if offset > 0 {
            request = request.header("Range", &format!("bytes={offset}-"));
        }
        let response = request.call().map_err(|e| format!("GET {url}: {e}"))?;
        if offset > 0 && response.status() != 206 {
            return Err(format!(
                "GET {url}: range not honoured ({})",
                response.status()
            ));
        }
        Ok(Box::new(response.into_body().into_reader()))
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    HashAlgorithm::Sha256.hex_digest(data)
}

/// A deterministic pseudo-random image.
pub fn image(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn target_file(data: &[u8], custom: Value) -> TargetFile {
    TargetFile {
        length: data.len() as u64,
        hashes: BTreeMap::from([("sha256".to_owned(), sha256_hex(data))]),
        custom: Some(custom),
        extra: BTreeMap::new(),
    }
}

pub fn full_custom(version: &str, security_version: u64) -> Value {
    json!({"device_model": ["sim-1"], "component": "system", "version": version,
           "type": "full", "security_version": security_version})
}

pub fn delta_custom(version: &str, security_version: u64, from_sha: &str, to: &str) -> Value {
    json!({"device_model": ["sim-1"], "component": "system", "version": version,
           "type": "delta", "security_version": security_version,
           "delta": {"from_version": "1.0.0", "from_sha256": from_sha, "format": TEST_DELTA_FORMAT, "to": to}})
}

/// Signs targets metadata with `key` (the repository side of the test).
pub fn signed_targets(key: &PrivateKey, entries: &[(String, TargetFile)]) -> Vec<u8> {
    let mut targets = Targets::new(Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap());
    for (name, file) in entries {
        targets.targets.insert(name.clone(), file.clone());
    }
    let mut doc = Signed::new(targets).unwrap();
    doc.sign(key).unwrap();
    doc.to_bytes()
}

/// What the device side does with targets bytes before the engine sees them: parse and
/// check the signature against the trusted key (the trust core does this in the updater).
pub fn verified_targets(key: &PrivateKey, bytes: &[u8]) -> Vec<(String, TargetFile)> {
    let doc = Signed::<Targets>::from_bytes("targets", bytes).unwrap();
    let keys = BTreeMap::from([(key.keyid().to_owned(), key.key().clone())]);
    doc.verify_threshold("targets", &keys, &[key.keyid().to_owned()], 1)
        .unwrap();
    doc.signed()
        .targets
        .iter()
        .map(|(n, f)| (n.clone(), f.clone()))
        .collect()
}

pub fn test_key() -> PrivateKey {
    PrivateKey::generate(KeyType::Ed25519).unwrap().0
}

/// A test delta format for the engine's delta path (the real format lives in the
/// tufota-delta crate): ops `C` u64 offset u64 length (copy from base) and `L` u64 length
/// then the bytes (literal), all big-endian.
pub const TEST_DELTA_FORMAT: &str = "test-copy-literal";

pub fn make_test_delta(base: &[u8], result: &[u8]) -> Vec<u8> {
    // Copy the common prefix, then literal for the rest.
    let common = base.iter().zip(result).take_while(|(a, b)| a == b).count();
    let mut patch = Vec::new();
    if common > 0 {
        patch.push(b'C');
        patch.extend((0u64).to_be_bytes());
        patch.extend((common as u64).to_be_bytes());
    }
    patch.push(b'L');
    patch.extend(((result.len() - common) as u64).to_be_bytes());
    patch.extend(&result[common..]);
    patch
}

pub struct TestDelta;

impl DeltaApplier for TestDelta {
    fn formats(&self) -> Vec<String> {
        vec![TEST_DELTA_FORMAT.into()]
    }

    fn apply(
        &self,
        _format: &str,
        _base_sha256: &str,
        base: &File,
        patch: &mut dyn Read,
        out: &mut dyn Write,
    ) -> Result<(), String> {
        let e = |e: std::io::Error| e.to_string();
        let mut base = base;
        loop {
            let mut op = [0u8; 1];
            if patch.read(&mut op).map_err(e)? == 0 {
                return Ok(());
            }
            let mut n = [0u8; 8];
            match op[0] {
                b'C' => {
                    patch.read_exact(&mut n).map_err(e)?;
                    let offset = u64::from_be_bytes(n);
                    patch.read_exact(&mut n).map_err(e)?;
                    let len = u64::from_be_bytes(n);
                    base.seek(SeekFrom::Start(offset)).map_err(e)?;
                    let copied = std::io::copy(&mut base.take(len), out).map_err(e)?;
                    if copied != len {
                        return Err("copy past the end of the base".into());
                    }
                }
                b'L' => {
                    patch.read_exact(&mut n).map_err(e)?;
                    let len = u64::from_be_bytes(n);
                    let copied = std::io::copy(&mut patch.take(len), out).map_err(e)?;
                    if copied != len {
                        return Err("literal cut short".into());
                    }
                }
                other => return Err(format!("unknown op {other}")),
            }
        }
    }
}

/// A simulated device: config file, state, a files-backend slot directory with the factory
/// image in slot A.
pub struct SimDevice {
    pub root: PathBuf,
    pub config_path: PathBuf,
    pub slots_dir: PathBuf,
    pub state_dir: PathBuf,
}

pub fn sim_device(root: &Path, server_url: &str, factory: &[u8], checkpoint: u64) -> SimDevice {
    sim_device_for(root, server_url, factory, checkpoint, "sim-1", Some("lab"))
}

/// [`sim_device`] for another model, with or without a region (the region is optional in a
/// device configuration and then left out of the check-in header). `model` is written as a
/// TOML basic string, so a test can put escapes such as `\r\n` in it.
pub fn sim_device_for(
    root: &Path,
    server_url: &str,
    factory: &[u8],
    checkpoint: u64,
    model: &str,
    region: Option<&str>,
) -> SimDevice {
    let slots_dir = root.join("slots");
    let state_dir = root.join("state");
    std::fs::create_dir_all(&slots_dir).unwrap();
    std::fs::write(slots_dir.join("slot-a.img"), factory).unwrap();
    let region_line = region
        .map(|r| format!("region = \"{r}\"\n"))
        .unwrap_or_default();
    let config = format!(
        r#"device_id = "sim-0001"
model = "{model}"
{region_line}metadata_dir = "{root}/metadata"
state_dir = "{state}"
report_url = "{url}/reports"

[mirrors]
metadata = "{url}/metadata/"
targets = "{url}/targets/"

[limits]
checkpoint_bytes = {checkpoint}

[components.system]
version = "1.0.0"
security_version = 1
[components.system.slots]
backend = "files"
dir = "{slots}"
"#,
        root = root.display(),
        state = state_dir.display(),
        slots = slots_dir.display(),
        url = server_url,
    );
    let config_path = root.join("device.toml");
    std::fs::write(&config_path, config).unwrap();
    SimDevice {
        root: root.to_owned(),
        config_path,
        slots_dir,
        state_dir,
    }
}

/// The `tufota-client` binary cargo built for these tests.
pub const CLIENT_BIN: &str = env!("CARGO_BIN_EXE_tufota-client");

pub fn run_client(args: &[&str]) -> std::process::Output {
    std::process::Command::new(CLIENT_BIN)
        .args(args)
        .output()
        .unwrap()
}

/// Runs a device command of the binary against `device`'s configuration.
pub fn run_device(device: &SimDevice, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--config", device.config_path.to_str().unwrap()];
    all.extend(args);
    run_client(&all)
}

/// Asserts the exit code, showing the output when it differs.
pub fn assert_exit(out: &std::process::Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a device command with `--json` and parses its output (exit 0 expected).
pub fn device_json(device: &SimDevice, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = run_device(device, &all);
    assert_exit(&out, 0);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Lists `data` as target `name` in `role` of a [`TestRepo`](conformance_tests::repo::TestRepo),
/// with the device `custom` fields; publish afterwards.
pub fn list_image(
    repo: &mut conformance_tests::repo::TestRepo,
    role: &str,
    name: &str,
    data: &[u8],
    custom: Value,
) {
    repo.add_target(role, name, data);
    repo.targets
        .get_mut(role)
        .unwrap()
        .targets
        .get_mut(name)
        .unwrap()
        .custom = Some(custom);
}

/// Serves a published repository the way [`sim_device`] expects it: `/metadata/…` and
/// `/targets/…`.
pub fn serve_repo(server: &Server, repo: &conformance_tests::repo::TestRepo) {
    server.put_dir("metadata", &repo.metadata_dir());
    server.put_dir("targets", &repo.targets_dir());
}

/// Installs the repository's initial root as the device's trust anchor (`init`).
pub fn init_device(device: &SimDevice, repo: &conformance_tests::repo::TestRepo) {
    let root_file = device.root.join("initial_root.json");
    std::fs::write(&root_file, repo.initial_root()).unwrap();
    let meta = device.root.join("metadata");
    let out = run_client(&[
        "--metadata-dir",
        meta.to_str().unwrap(),
        "init",
        root_file.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
}

/// The bytes in slot `name` (`a` or `b`) of a files-backend device, if it exists.
pub fn slot_bytes(device: &SimDevice, name: &str) -> Option<Vec<u8>> {
    std::fs::read(device.slots_dir.join(format!("slot-{name}.img"))).ok()
}
