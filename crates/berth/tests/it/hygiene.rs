//! The real binary: SIGTERM ends the server within its grace period whatever clients do, and its
//! log is plain, short lines when it goes to a file.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use common::ADMIN_PASSWORD;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `berth serve` with `config` (TOML) and `BERTH_LOG=info`, stderr captured.
fn start(dir: &Path, config: &str) -> (Child, String) {
    let addr = common::free_addr();
    let file = dir.join("berth.toml");
    std::fs::write(&file, config).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(dir.join("data"))
        .env("BERTH_CONFIG", &file)
        .env("BERTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("BERTH_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "berth did not start on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, addr)
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the process to exit; `None` if it is still running after `wait` (then killed).
fn exits_within(child: &mut Child, wait: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + wait;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Standard base64 with padding (for a Basic credential; no crate for twelve lines).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn request(addr: &str, head: &str) -> String {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = conn.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Before: SIGTERM never completed while one idle client stayed connected. Now the server stops
/// accepting, gives requests in flight `limits.shutdown_grace_secs`, and exits.
#[test]
fn sigterm_ends_the_server_despite_idle_and_stalled_clients() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start(dir.path(), "[limits]\nshutdown_grace_secs = 1\n");
    let _idle = TcpStream::connect(&addr).unwrap();
    // A keep-alive connection that made one request and waits.
    let mut kept = TcpStream::connect(&addr).unwrap();
    kept.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .unwrap();
    let mut answer = [0u8; 1024];
    kept.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(kept.read(&mut answer).unwrap() > 0);
    // An authenticated request whose body never comes.
    let mut stalled = TcpStream::connect(&addr).unwrap();
    assert_eq!(base64(b"admin:pw"), "YWRtaW46cHc=");
    let auth = base64(format!("admin:{ADMIN_PASSWORD}").as_bytes());
    stalled
        .write_all(
            format!(
                "PUT /v2/x/manifests/v1 HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\n\
                 Content-Type: application/vnd.oci.image.manifest.v1+json\r\n\
                 Content-Length: 1000\r\n\r\n{{\"schemaVersion\""
            )
            .as_bytes(),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    terminate(&child);
    let status = exits_within(&mut child, Duration::from_secs(6))
        .expect("berth exits after SIGTERM within its grace period");
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// Before: about 400 bytes per request at info, with ANSI colour codes even in files. Now no
/// escape codes when stderr is not a terminal, and one short access line per request with the
/// method, path, status, latency and request id.
#[test]
fn the_log_is_plain_and_short_when_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start(dir.path(), "[limits]\nshutdown_grace_secs = 1\n");
    let answer = request(
        &addr,
        &format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let id = answer
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .expect("a request id")
        .trim()
        .to_string();
    let answer = request(
        &addr,
        &format!("GET /v2/nope/manifests/v1 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    terminate(&child);
    exits_within(&mut child, Duration::from_secs(6)).expect("berth exits");
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(!log.contains('\x1b'), "escape codes in the log:\n{log}");
    let access: Vec<&str> = log.lines().filter(|l| l.contains(" access: ")).collect();
    assert_eq!(access.len(), 2, "one access line per request:\n{log}");
    let health = access
        .iter()
        .find(|l| l.contains(&id))
        .unwrap_or_else(|| panic!("no access line with the request id {id}:\n{log}"));
    for part in ["method=GET", "path=/healthz", "status=200", "ms="] {
        assert!(health.contains(part), "{part} missing from {health}");
    }
    assert!(access[1].contains("path=/v2/nope/manifests/v1") && access[1].contains("status=401"));
    for line in &access {
        assert!(line.len() < 200, "{} bytes: {line}", line.len());
    }
    // Nothing else is logged per request at info.
    assert_eq!(
        log.lines().filter(|l| l.contains(&id)).count(),
        1,
        "lines of request {id}:\n{log}"
    );
}
