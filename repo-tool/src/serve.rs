//! `serve`: a small static file server for development, tests and the demo — GET and HEAD,
//! single byte ranges (`Range: bytes=a-b`, `a-`, `-n`, so interrupted downloads resume),
//! HTTP/1.1 keep-alive. `/metadata/…` maps to `REPO/metadata/`, `/targets/…` to
//! `REPO/targets/`; nothing else is served (not `staged/`, not keys). Production uses any
//! web server, CDN or bucket: the repository is plain files.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 64;
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Serves `repo_dir` on `listener` until the process ends.
pub fn serve(repo_dir: &Path, listener: TcpListener) -> io::Result<()> {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        while active.load(Ordering::Acquire) >= MAX_CONNECTIONS {
            std::thread::sleep(Duration::from_millis(5));
        }
        active.fetch_add(1, Ordering::AcqRel);
        let dir = repo_dir.to_path_buf();
        let active = Arc::clone(&active);
        std::thread::spawn(move || {
            let _ = handle_connection(&dir, stream);
            active.fetch_sub(1, Ordering::AcqRel);
        });
    }
    Ok(())
}

struct Request {
    method: String,
    target: String,
    keep_alive: bool,
    range: Option<String>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let mut line = String::new();
    let mut total = 0;
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let version = parts.next().unwrap_or_default().to_string();
    let mut keep_alive = version == "HTTP/1.1";
    let mut range = None;
    loop {
        let mut header = String::new();
        let n = reader.read_line(&mut header)?;
        total += n;
        if n == 0 || total > MAX_HEADER_BYTES {
            return Err(io::Error::other("headers too long or cut"));
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "connection" => {
                    let v = value.to_ascii_lowercase();
                    if v.contains("close") {
                        keep_alive = false;
                    } else if v.contains("keep-alive") {
                        keep_alive = true;
                    }
                }
                "range" => range = Some(value.to_string()),
                _ => {}
            }
        }
    }
    Ok(Some(Request {
        method,
        target,
        keep_alive,
        range,
    }))
}

fn handle_connection(dir: &Path, stream: TcpStream) -> io::Result<()> {
    // Responses go out as a header write then the body: without TCP_NODELAY the body's first
    // segment waits for the client's delayed ACK of the header (~40 ms per request on a
    // kept-alive connection, measured by bench/).
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader)? {
        let keep = respond(dir, &request, &mut writer)? && request.keep_alive;
        writer.flush()?;
        if !keep {
            break;
        }
    }
    Ok(())
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Maps a request path to a file, refusing anything that could leave the two directories.
fn resolve(dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?;
    let path = percent_decode(path)?;
    let (base, rest) = if let Some(rest) = path.strip_prefix("/metadata/") {
        (dir.join("metadata"), rest)
    } else if let Some(rest) = path.strip_prefix("/targets/") {
        (dir.join("targets"), rest)
    } else {
        return None;
    };
    let safe = !rest.is_empty()
        && !rest.contains('\\')
        && rest
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.starts_with(".tmp-"));
    safe.then(|| base.join(rest))
}

/// Parses a single `bytes=` range against a file length: Some(Ok((start, end_inclusive))),
/// Some(Err(())) when unsatisfiable, None when absent or not understood (serve whole file).
fn parse_range(header: Option<&str>, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = header?.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 || len == 0 {
            return Some(Err(()));
        }
        (len.saturating_sub(n), len - 1)
    } else {
        let start: u64 = a.parse().ok()?;
        let end: u64 = if b.is_empty() {
            len.saturating_sub(1)
        } else {
            b.parse::<u64>().ok()?.min(len.saturating_sub(1))
        };
        if start >= len || end < start {
            return Some(Err(()));
        }
        (start, end)
    };
    Some(Ok(range))
}

fn status_only(w: &mut TcpStream, code: &str, keep: bool, extra: &str) -> io::Result<bool> {
    write!(
        w,
        "HTTP/1.1 {code}\r\nContent-Length: 0\r\n{extra}Connection: {}\r\n\r\n",
        if keep { "keep-alive" } else { "close" }
    )?;
    Ok(true)
}

/// Writes one response; returns whether the connection may stay open.
fn respond(dir: &Path, req: &Request, w: &mut TcpStream) -> io::Result<bool> {
    let head = req.method == "HEAD";
    if req.method != "GET" && !head {
        status_only(w, "405 Method Not Allowed", false, "Allow: GET, HEAD\r\n")?;
        return Ok(false);
    }
    let keep = req.keep_alive;
    let Some(path) = resolve(dir, &req.target) else {
        return status_only(w, "404 Not Found", keep, "");
    };
    let Ok(mut file) = File::open(&path) else {
        return status_only(w, "404 Not Found", keep, "");
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return status_only(w, "404 Not Found", keep, "");
    }
    let len = meta.len();
    let content_type = if path.extension().is_some_and(|e| e == "json") {
        "application/json"
    } else {
        "application/octet-stream"
    };
    let connection = if keep { "keep-alive" } else { "close" };
    let (status, start, count, extra) = match parse_range(req.range.as_deref(), len) {
        Some(Err(())) => {
            return status_only(
                w,
                "416 Range Not Satisfiable",
                keep,
                &format!("Content-Range: bytes */{len}\r\n"),
            )
        }
        Some(Ok((a, b))) => (
            "206 Partial Content",
            a,
            b - a + 1,
            format!("Content-Range: bytes {a}-{b}/{len}\r\n"),
        ),
        None => ("200 OK", 0, len, String::new()),
    };
    write!(
        w,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {count}\r\nAccept-Ranges: bytes\r\n{extra}Connection: {connection}\r\n\r\n"
    )?;
    if !head {
        file.seek(SeekFrom::Start(start))?;
        let copied = io::copy(&mut (&mut file).take(count), w)?;
        if copied != count {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Some(Ok((0, 9))));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Some(Ok((90, 99))));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Some(Ok((90, 99))));
        assert_eq!(parse_range(Some("bytes=95-200"), 100), Some(Ok((95, 99))));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Some(Err(())));
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 100), None);
        assert_eq!(parse_range(None, 100), None);
    }

    #[test]
    fn refuses_escapes() {
        let d = Path::new("/r");
        assert_eq!(
            resolve(d, "/metadata/1.root.json"),
            Some(PathBuf::from("/r/metadata/1.root.json"))
        );
        assert_eq!(
            resolve(d, "/targets/a%20b"),
            Some(PathBuf::from("/r/targets/a b"))
        );
        for bad in [
            "/staged/root.json",
            "/metadata/../repo-tool.json",
            "/targets/%2e%2e/x",
            "/targets/a//b",
            "/",
            "/metadata/",
        ] {
            assert_eq!(resolve(d, bad), None, "{bad}");
        }
    }
}
