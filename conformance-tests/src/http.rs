//! A small, real HTTP/1.1 server for tests: serves a directory on `127.0.0.1:0`, records
//! every request path in order (so a test can assert the exact request sequence a client
//! made), and misbehaves on demand for chosen paths: other bytes, an endless body, a
//! trickle, a 404. std::net only; one thread per connection, keep-alive supported so a
//! client's connection reuse is exercised.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How the server answers one path instead of serving the file.
#[derive(Debug, Clone)]
pub enum Fault {
    /// These bytes instead of the file's.
    Bytes(Vec<u8>),
    /// 404 even if the file exists.
    NotFound,
    /// An endless body (no Content-Length; the connection never ends by itself).
    Endless,
    /// The file's bytes (or these, if given), one byte every `interval`, with the true
    /// Content-Length: a slow-retrieval attack.
    Trickle {
        interval: Duration,
        body: Option<Vec<u8>>,
    },
}

#[derive(Default)]
struct State {
    connections: usize,
    requests: Vec<String>,
    faults: HashMap<String, Fault>,
}

/// The running server; stops when dropped.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl TestServer {
    /// Serves `root` (URL path `/a/b` is the file `root/a/b`).
    pub fn serve(root: &Path) -> std::io::Result<TestServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let root = root.to_path_buf();
        let accept = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    lock(&state).connections += 1;
                    let state = Arc::clone(&state);
                    let root = root.clone();
                    let stop = Arc::clone(&stop);
                    thread::spawn(move || serve_connection(stream, &root, &state, &stop));
                }
            })
        };
        Ok(TestServer {
            addr,
            state,
            stop,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:PORT/path` (path without a leading slash).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Every request path so far, in order, as sent (still percent-encoded).
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }

    /// How many TCP connections clients opened (keep-alive reuse keeps this low).
    pub fn connections(&self) -> usize {
        lock(&self.state).connections
    }

    /// Forgets the requests recorded so far.
    pub fn clear_requests(&self) {
        lock(&self.state).requests.clear();
    }

    /// Makes `path` (as requested, e.g. `/metadata/timestamp.json`) misbehave.
    pub fn set_fault(&self, path: &str, fault: Fault) {
        lock(&self.state).faults.insert(path.to_string(), fault);
    }

    pub fn clear_faults(&self) {
        lock(&self.state).faults.clear();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

fn serve_connection(stream: TcpStream, root: &Path, state: &Mutex<State>, stop: &AtomicBool) {
    // An idle keep-alive connection is closed after a while so threads do not pile up.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::new(stream);
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut keep_alive = true;
        loop {
            let mut header = String::new();
            match reader.read_line(&mut header) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let lower = header.to_ascii_lowercase();
            if lower.starts_with("connection:") && lower.contains("close") {
                keep_alive = false;
            }
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("");
        let target = parts.next().unwrap_or("/").to_string();
        let path = target.split('?').next().unwrap_or("/").to_string();
        let fault = {
            let mut s = lock(state);
            s.requests.push(path.clone());
            s.faults.get(&path).cloned()
        };
        let head_only = method == "HEAD";
        let ok = match fault {
            Some(Fault::NotFound) => respond(&mut writer, 404, b"not found\n", head_only),
            Some(Fault::Bytes(body)) => respond(&mut writer, 200, &body, head_only),
            Some(Fault::Endless) => {
                endless(&mut writer);
                return;
            }
            Some(Fault::Trickle { interval, body }) => {
                let body = body.or_else(|| read_file(root, &path));
                match body {
                    Some(body) => trickle(&mut writer, &body, interval),
                    None => respond(&mut writer, 404, b"not found\n", head_only),
                }
            }
            None => match read_file(root, &path) {
                Some(body) => respond(&mut writer, 200, &body, head_only),
                None => respond(&mut writer, 404, b"not found\n", head_only),
            },
        };
        if !ok || !keep_alive {
            return;
        }
    }
}

/// The file for a URL path, if it is a regular file inside `root`. Paths are *not*
/// percent-decoded: a request for `/metadata/1.a%3Fb.json` is served from the file named
/// exactly `1.a%3Fb.json`, which is how [`crate::repo::TestRepo`] writes files whose names
/// need encoding. `.`/`..` segments are refused.
fn read_file(root: &Path, url_path: &str) -> Option<Vec<u8>> {
    let relative = PathBuf::from(url_path.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let path = root.join(relative);
    if !path.is_file() {
        return None;
    }
    fs::read(path).ok()
}

fn respond(w: &mut TcpStream, status: u16, body: &[u8], head_only: bool) -> bool {
    let reason = if status == 200 { "OK" } else { "Not Found" };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
        body.len()
    );
    if w.write_all(head.as_bytes()).is_err() {
        return false;
    }
    if !head_only && w.write_all(body).is_err() {
        return false;
    }
    w.flush().is_ok()
}

fn endless(w: &mut TcpStream) {
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n";
    if w.write_all(head.as_bytes()).is_err() {
        return;
    }
    let chunk = [b'A'; 16 * 1024];
    // Ends when the client hangs up.
    while w.write_all(&chunk).is_ok() {}
}

fn trickle(w: &mut TcpStream, body: &[u8], interval: Duration) -> bool {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
        body.len()
    );
    if w.write_all(head.as_bytes()).is_err() {
        return false;
    }
    for b in body {
        if w.write_all(&[*b]).is_err() || w.flush().is_err() {
            return false;
        }
        thread::sleep(interval);
    }
    true
}
