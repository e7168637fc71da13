//! The static HTTP server the download scenarios use: REPO/metadata at /metadata/ and
//! REPO/targets at /targets/, GET and HEAD, HTTP/1.1 keep-alive, a thread per connection.
//!
//! Why not `repo-tool serve`: it leaves Nagle's algorithm on and writes a response's head and
//! body separately, so on a kept-alive connection every response after the first waits for
//! the client's delayed ACK (~40 ms on Linux) — the bench would measure that, not the
//! clients. Here TCP_NODELAY is set and each response goes out in one write.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread;

use crate::BenchResult;

/// Largest request head read; larger requests are answered 431 and the connection closed.
const MAX_HEAD_BYTES: u64 = 16 * 1024;

pub struct Server {
    pub base_url: String,
}

impl Server {
    /// Listens on 127.0.0.1 with a free port; serves until the bench exits.
    pub fn start(repo: &Path) -> BenchResult<Server> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let repo = repo.to_path_buf();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let repo = repo.clone();
                thread::spawn(move || {
                    // A client that goes away mid-request ends its connection, nothing else.
                    let _ = serve_connection(&repo, stream);
                });
            }
        });
        Ok(Server { base_url })
    }
}

fn serve_connection(repo: &Path, stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut head = Vec::new();
        let mut limited = (&mut reader).take(MAX_HEAD_BYTES);
        // Read header lines until the empty line that ends the head.
        loop {
            let before = head.len();
            if limited.read_until(b'\n', &mut head)? == 0 {
                return Ok(());
            }
            let line = &head[before..];
            if line == b"\r\n" || line == b"\n" {
                break;
            }
            if limited.limit() == 0 {
                writer.write_all(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )?;
                return Ok(());
            }
        }
        let head = String::from_utf8_lossy(&head);
        let mut words = head.split_whitespace();
        let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let close = head.lines().any(|line| {
            let lower = line.to_ascii_lowercase();
            lower.starts_with("connection:") && lower.contains("close")
        });
        let response = respond(repo, method, target);
        writer.write_all(&response)?;
        if close {
            return Ok(());
        }
    }
}

/// The whole response, head and body, as one buffer.
fn respond(repo: &Path, method: &str, target: &str) -> Vec<u8> {
    let file = match (method, resolve(repo, target)) {
        ("GET" | "HEAD", Some(path)) => fs::read(path).ok(),
        _ => None,
    };
    let (status, body) = match file {
        Some(bytes) => ("200 OK", bytes),
        None if method == "GET" || method == "HEAD" => ("404 Not Found", Vec::new()),
        None => ("405 Method Not Allowed", Vec::new()),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\ncontent-type: application/octet-stream\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if method == "GET" {
        response.extend_from_slice(&body);
    }
    response
}

/// `/metadata/NAME` and `/targets/PATH` to files of the repository; nothing else, and no
/// `..`, empty or absolute segments.
fn resolve(repo: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?;
    let (root, rest) = path
        .strip_prefix("/metadata/")
        .map(|rest| ("metadata", rest))
        .or_else(|| path.strip_prefix("/targets/").map(|rest| ("targets", rest)))?;
    let mut file = repo.join(root);
    for segment in rest.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." || segment.contains('%') {
            return None;
        }
        file.push(segment);
    }
    Some(file)
}
