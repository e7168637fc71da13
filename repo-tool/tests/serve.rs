//! `repo-tool serve` over a real socket: keep-alive (several requests on one connection),
//! byte ranges, HEAD, and nothing outside metadata/ and targets/.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use common::*;

/// Reads one response: status line, headers (lowercased names), body of Content-Length.
fn response(
    reader: &mut BufReader<TcpStream>,
    head: bool,
) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0; if head { 0 } else { len }];
    reader.read_exact(&mut body).unwrap();
    (status.trim_end().to_string(), headers, body)
}

#[test]
fn serves_ranges_over_one_kept_alive_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, keys) = new_repo(dir.path());
    let r = s(&repo);
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("img"), &data).unwrap();
    run_ok(&[
        "add",
        r,
        s(&dir.path().join("img")),
        "--name",
        "dir/fw image.img",
    ]);
    run_ok(&with(&["publish", r, "--key"], &keys.online()));
    let sha = tufota_client::metadata::HashAlgorithm::Sha256.hex_digest(&data);

    let mut child = Command::new(env!("CARGO_BIN_EXE_repo-tool"))
        .args(["serve", r, "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first.trim().rsplit("http://").next().unwrap().to_string();

    let stream = TcpStream::connect(&addr).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let target = format!("/targets/dir/{sha}.fw%20image.img");

    write!(
        writer,
        "GET /metadata/timestamp.json HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    let (status, _, body) = response(&mut reader, false);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(
        body,
        std::fs::read(repo.join("metadata/timestamp.json")).unwrap()
    );

    write!(
        writer,
        "GET {target} HTTP/1.1\r\nHost: x\r\nRange: bytes=100-199\r\n\r\n"
    )
    .unwrap();
    let (status, headers, body) = response(&mut reader, false);
    assert_eq!(status, "HTTP/1.1 206 Partial Content");
    assert!(headers.contains(&("content-range".into(), "bytes 100-199/10000".into())));
    assert_eq!(body, &data[100..200]);

    write!(
        writer,
        "GET {target} HTTP/1.1\r\nHost: x\r\nRange: bytes=9990-\r\n\r\n"
    )
    .unwrap();
    let (_, _, body) = response(&mut reader, false);
    assert_eq!(body, &data[9990..]);

    write!(writer, "HEAD {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (status, headers, _) = response(&mut reader, true);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(headers.contains(&("content-length".into(), "10000".into())));

    write!(
        writer,
        "GET {target} HTTP/1.1\r\nHost: x\r\nRange: bytes=20000-\r\n\r\n"
    )
    .unwrap();
    let (status, _, _) = response(&mut reader, false);
    assert_eq!(status, "HTTP/1.1 416 Range Not Satisfiable");

    for path in [
        "/staged/targets.json",
        "/repo-tool.json",
        "/metadata/../repo-tool.json",
        "/targets/%2e%2e/repo-tool.json",
    ] {
        write!(writer, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let (status, _, _) = response(&mut reader, false);
        assert_eq!(status, "HTTP/1.1 404 Not Found", "{path}");
    }

    write!(
        writer,
        "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let (_, _, body) = response(&mut reader, false);
    assert_eq!(body, data);
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    assert!(
        rest.is_empty(),
        "connection not closed after Connection: close"
    );

    child.kill().unwrap();
    child.wait().unwrap();
}
