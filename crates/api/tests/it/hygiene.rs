//! Connection and upload hygiene over real sockets on 127.0.0.1: slow or stalled clients cannot
//! hold threads, connections or sessions without end, and a shutdown ends.
//!
//! Every test configures small limits (a 1 s timeout, 20 connections) so that it runs in seconds.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use berth_api::config::Config;
use berth_oci::Digest;
use common::{ADMIN_PASSWORD, TestApp, TestServer, error_code};
use reqwest::{Method, StatusCode};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn basic(user: &str, pass: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
}

fn host(s: &TestServer) -> String {
    addr_of(&s.base)
}

fn addr_of(base: &str) -> String {
    base.trim_start_matches("http://").to_string()
}

/// One HTTP response read off a raw connection.
#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// Reads one response (head and Content-Length body); `None` when the connection closed, or
/// nothing complete arrived, within `wait`.
async fn read_response(conn: &mut TcpStream, wait: Duration) -> Option<Raw> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let status = head.split(' ').nth(1)?.parse().ok()?;
            let raw = Raw {
                status,
                head,
                body: Vec::new(),
            };
            let len: usize = raw
                .header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return Some(Raw {
                    body: buf[end + 4..end + 4 + len].to_vec(),
                    ..raw
                });
            }
        }
        let n = tokio::time::timeout_at(deadline, conn.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Whether the server closes the connection within `wait` (end of stream or reset).
async fn closed_within(conn: &mut TcpStream, wait: Duration) -> bool {
    let mut chunk = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, conn.read(&mut chunk)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A response (408, 431) before the close is fine.
            Ok(Ok(_)) => continue,
        }
    }
}

/// Opens an upload as `user`.
async fn open_upload(s: &TestServer, user: &str, pass: &str, repo: &str) -> reqwest::Response {
    open_upload_at(&s.base, user, pass, repo).await
}

async fn open_upload_at(base: &str, user: &str, pass: &str, repo: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/v2/{repo}/blobs/uploads/"))
        .basic_auth(user, Some(pass))
        .send()
        .await
        .unwrap()
}

/// Opens an upload as the admin; returns its Location path.
async fn location(s: &TestServer, repo: &str) -> String {
    location_at(&s.base, repo).await
}

async fn location_at(base: &str, repo: &str) -> String {
    let r = open_upload_at(base, "admin", ADMIN_PASSWORD, repo).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    r.headers()["location"].to_str().unwrap().to_string()
}

/// Sends a PATCH that promises `promised` bytes and sends `sent`, then stalls.
async fn stalled_patch(s: &TestServer, location: &str, promised: usize, sent: &[u8]) -> TcpStream {
    stalled_patch_at(&s.base, location, promised, sent).await
}

async fn stalled_patch_at(base: &str, location: &str, promised: usize, sent: &[u8]) -> TcpStream {
    let addr = addr_of(base);
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {promised}\r\n\r\n",
        basic("admin", ADMIN_PASSWORD)
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(sent).await.unwrap();
    conn
}

async fn upload_range(s: &TestServer, location: &str) -> String {
    let r = s.admin(Method::GET, location).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    r.headers()["range"].to_str().unwrap().to_string()
}

/// Before: each stalled PATCH held one of tokio's blocking threads while waiting for network
/// bytes, so as many stalled uploads as blocking threads froze every file operation of every
/// tenant (blob reads, new uploads, logins). The runtime here has 4 blocking threads and 8 stalled
/// uploads; everything else must still answer.
#[test]
fn stalled_uploads_hold_no_threads() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .enable_all()
        .build()
        .unwrap();
    // Hangs are reported, not waited out: every step has a deadline, and the runtime is shut
    // down without waiting for threads that a broken server would keep blocked.
    let outcome: Result<(), &str> = rt.block_on(async {
        let s = TestApp::new().start().await;
        let digest = s.push_blob("team/base", b"a layer everyone pulls").await;
        let hash = berth_api::hash_password("late-password").unwrap();
        s.app.meta.create_user("late", &hash, false).await.unwrap();
        let mut locations = Vec::new();
        for _ in 0..8 {
            locations.push(location(&s, "slow/app").await);
        }
        let mut stalled = Vec::new();
        for loc in &locations {
            stalled.push(stalled_patch(&s, loc, 1_000_000, b"0123456789").await);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let quick = Duration::from_secs(5);
        let r = tokio::time::timeout(
            quick,
            s.admin(Method::GET, &format!("/v2/team/base/blobs/{digest}"))
                .send(),
        )
        .await
        .map_err(|_| "a blob GET hangs while uploads stall")?
        .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.bytes().await.unwrap().as_ref(), b"a layer everyone pulls");
        let r = tokio::time::timeout(quick, open_upload(&s, "admin", ADMIN_PASSWORD, "other/app"))
            .await
            .map_err(|_| "a new upload hangs while uploads stall")?;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        // A login whose password was never verified before (argon2 runs off the async threads).
        let r = tokio::time::timeout(
            quick,
            s.anon(Method::GET, "/v2/")
                .basic_auth("late", Some("late-password"))
                .send(),
        )
        .await
        .map_err(|_| "a new login hangs while uploads stall")?
        .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let pushed = tokio::time::timeout(quick, s.push_blob("other/app", b"fresh bytes"))
            .await
            .map_err(|_| "a push hangs while uploads stall")?;
        assert_eq!(pushed, Digest::sha256_of(b"fresh bytes"));
        drop(stalled);
        Ok(())
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    outcome.unwrap();
}

/// Before: a body that stopped sending held its request (and upload) open for ever, unseen.
/// Now it ends after `limits.body_idle_timeout_secs` with 408 and the Range to resume from; the
/// bytes that arrived stay.
#[tokio::test]
async fn an_idle_body_times_out_and_the_upload_keeps_what_arrived() {
    let s = TestApp::new()
        .limits(|l| l.body_idle_timeout_secs = 1)
        .start()
        .await;
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let digest = Digest::sha256_of(&data);
    let loc = location(&s, "idle/app").await;
    let started = Instant::now();
    let mut conn = stalled_patch(&s, &loc, data.len(), &data[..10]).await;
    let r = read_response(&mut conn, Duration::from_secs(5))
        .await
        .expect("the stalled request is answered");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(r.status, 408, "{r:?}");
    assert_eq!(r.header("range").as_deref(), Some("0-9"));
    assert!(String::from_utf8_lossy(&r.body).contains("BLOB_UPLOAD_INVALID"));
    assert_eq!(upload_range(&s, &loc).await, "0-9");
    // The client resumes where it is told to, and the digest comes out right.
    let r = s
        .admin(Method::PATCH, &loc)
        .header("content-range", "10-999")
        .body(data[10..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = s
        .admin(Method::PUT, &format!("{loc}?digest={digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// Before: a chunk longer than its Content-Range got 500 and left the bytes that arrived before
/// the excess in the upload. Now: 416, and the upload is as it was before the chunk.
#[tokio::test]
async fn a_chunk_longer_than_its_range_is_refused_whole() {
    let s = TestApp::new().start().await;
    let data = b"0123456789abcdef".to_vec();
    let digest = Digest::sha256_of(&data);
    let loc = location(&s, "long/app").await;
    let r = s
        .admin(Method::PATCH, &loc)
        .header("content-range", "0-4")
        .body(data[..5].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // Chunked, so no Content-Length gives the lie away before the bytes do.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(b"XXXXXX".to_vec()), Ok(b"YYYYYY".to_vec())];
    let r = s
        .admin(Method::PATCH, &loc)
        .header("content-range", "5-14")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()["range"], "0-4");
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_INVALID");
    assert_eq!(upload_range(&s, &loc).await, "0-4");
    let r = s
        .admin(Method::PATCH, &loc)
        .header("content-range", "5-15")
        .body(data[5..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = s
        .admin(Method::PUT, &format!("{loc}?digest={digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
}

/// Before: sessions were unlimited (35,000 in 33 s from one client). Now each principal has at
/// most `limits.max_upload_sessions_per_principal` open, all together at most
/// `limits.max_upload_sessions`; over either, 429 TOOMANYREQUESTS. Finishing or cancelling one
/// makes room.
#[tokio::test]
async fn upload_sessions_are_limited_per_principal_and_in_total() {
    let s = TestApp::new()
        .limits(|l| {
            l.max_upload_sessions_per_principal = 3;
            l.max_upload_sessions = 5;
        })
        .start()
        .await;
    let hash = berth_api::hash_password("ops-password").unwrap();
    s.app.meta.create_user("ops", &hash, true).await.unwrap();
    let mut mine = Vec::new();
    for _ in 0..3 {
        mine.push(location(&s, "many/app").await);
    }
    let r = open_upload(&s, "admin", ADMIN_PASSWORD, "many/app").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(error_code(r).await, "TOOMANYREQUESTS");
    // A monolithic push opens a session too.
    let r = s
        .admin(
            Method::POST,
            &format!(
                "/v2/many/app/blobs/uploads/?digest={}",
                Digest::sha256_of(b"x")
            ),
        )
        .body(b"x".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);

    // Another principal has its own count, up to the total.
    for _ in 0..2 {
        let r = open_upload(&s, "ops", "ops-password", "many/app").await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    }
    let r = open_upload(&s, "ops", "ops-password", "many/app").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(error_code(r).await.contains("TOOMANYREQUESTS"));

    // Cancelling and committing end sessions.
    let r = s.admin(Method::DELETE, &mine[0]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = s
        .admin(
            Method::PUT,
            &format!("{}?digest={}", mine[1], Digest::sha256_of(b"done")),
        )
        .body(b"done".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    for _ in 0..2 {
        assert_eq!(
            open_upload(&s, "admin", ADMIN_PASSWORD, "many/app")
                .await
                .status(),
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(
        open_upload(&s, "admin", ADMIN_PASSWORD, "many/app")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Requests writing upload bodies are limited per principal: stalled ones cannot pile up.
#[tokio::test]
async fn uploads_in_flight_are_limited_per_principal() {
    let s = TestApp::new()
        .limits(|l| l.max_uploads_in_flight_per_principal = 2)
        .start()
        .await;
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let loc = location(&s, "busy/app").await;
        stalled.push(stalled_patch(&s, &loc, 1000, b"0123456789").await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let loc = location(&s, "busy/app").await;
    let r = s
        .admin(Method::PATCH, &loc)
        .header("content-range", "0-2")
        .body(b"abc".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(r).await, "TOOMANYREQUESTS");
    drop(stalled);
    // Once the stalled clients are gone, their slots are free again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = s
            .admin(Method::PATCH, &loc)
            .header("content-range", "0-2")
            .body(b"abc".to_vec())
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::ACCEPTED {
            break;
        }
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(Instant::now() < deadline, "the slots were never freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Before: no connection limit; past the file-descriptor limit new connections waited unseen
/// and every request hung, /healthz included. Now a connection over `limits.max_connections` is
/// told 503 with Retry-After at once, and served again once others close.
#[tokio::test]
async fn connections_over_the_limit_are_told_503() {
    let s = TestApp::new()
        .limits(|l| l.max_connections = 20)
        .start()
        .await;
    let addr = host(&s);
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    let mut extra = TcpStream::connect(&addr).await.unwrap();
    extra
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let r = read_response(&mut extra, Duration::from_secs(5))
        .await
        .expect("a connection over the limit is answered");
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    assert!(closed_within(&mut extra, Duration::from_secs(3)).await);
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        // A fresh client each time: no connection kept from the refused tries.
        let r = reqwest::get(s.url("/healthz")).await;
        if r.as_ref().is_ok_and(|r| r.status() == StatusCode::OK) {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Before: no header-read or keep-alive timeout: a client that connects and sends nothing, or
/// a request head that never ends, or an idle keep-alive connection, stayed for ever.
#[tokio::test]
async fn idle_and_slow_connections_are_closed() {
    let s = TestApp::new()
        .limits(|l| l.header_read_timeout_secs = 1)
        .start()
        .await;
    let addr = host(&s);
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nX-A: ").as_bytes())
        .await
        .unwrap();
    let mut kept = TcpStream::connect(&addr).await.unwrap();
    kept.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let r = read_response(&mut kept, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let started = Instant::now();
    for (what, conn) in [
        ("silent", &mut silent),
        ("slow head", &mut slow),
        ("idle keep-alive", &mut kept),
    ] {
        assert!(
            closed_within(conn, Duration::from_secs(4)).await,
            "{what} connection still open"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// Before: request heads could grow to hyper's 400 KB buffer per connection (900 connections:
/// 17 to 402 MiB RSS). Now a head over `limits.max_header_bytes` gets 431 and the connection
/// closes.
#[tokio::test]
async fn request_heads_over_the_limit_get_431() {
    let s = TestApp::new()
        .limits(|l| l.max_header_bytes = 16 << 10)
        .start()
        .await;
    let addr = host(&s);
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    conn.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n").as_bytes())
        .await
        .unwrap();
    let line = format!("X-Filler: {}\r\n", "f".repeat(1000));
    for _ in 0..40 {
        // The server may answer and close before all of it is sent.
        if conn.write_all(line.as_bytes()).await.is_err() {
            break;
        }
    }
    let r = read_response(&mut conn, Duration::from_secs(5))
        .await
        .expect("an oversized head is answered");
    assert_eq!(r.status, 431);
    assert!(closed_within(&mut conn, Duration::from_secs(3)).await);
    // Heads under the limit are fine.
    let r = s
        .anon(Method::GET, "/healthz")
        .header("x-filler", "f".repeat(8000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Before: a shutdown waited for every connection, so one idle client kept the server up for
/// ever. Now it stops accepting, lets requests in flight finish for
/// `limits.shutdown_grace_secs`, then drops what is left and returns.
#[tokio::test]
async fn shutdown_lets_requests_finish_then_drops_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.gc.interval_secs = 0;
    config.limits.shutdown_grace_secs = 2;
    let (meta, blobs) = berth_api::open_stores(&config).await.unwrap();
    let (app, _) = berth_api::build(config, meta, blobs, Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(berth_api::serve(app, listener, async {
        let _ = stopped.await;
    }));
    let base = format!("http://{addr}");
    let data = [5u8; 100];
    let loc = location_at(&base, "bye/app").await;
    let _idle = TcpStream::connect(&addr).await.unwrap();
    let mut finishing = stalled_patch_at(&base, &loc, data.len(), &data[..50]).await;
    let other = location_at(&base, "bye/app").await;
    let mut stuck = stalled_patch_at(&base, &other, 1000, b"never all").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // No new connections once shutting down.
    assert!(TcpStream::connect(&addr).await.is_err());
    // A request in flight still finishes within the grace period.
    finishing.write_all(&data[50..]).await.unwrap();
    let r = read_response(&mut finishing, Duration::from_secs(2))
        .await
        .expect("the request in flight is answered");
    assert_eq!(r.status, 202);
    assert_eq!(r.header("range").as_deref(), Some("0-99"));
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returns after the grace period")
        .unwrap()
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1900));
    assert!(closed_within(&mut stuck, Duration::from_secs(1)).await);
}

mod management {
    use super::*;
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    use sha2::Digest as _;
    use std::time::SystemTime;

    /// The signed headers of a request, as a signer computes them.
    fn signed_headers(
        key_id: &str,
        secret: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: SignableBody<'_>,
    ) -> Vec<(String, String)> {
        let identity = Credentials::new(key_id, secret, None, None, "tests").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(common::kcr::REGION)
            .name("kcrs")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let signable = SignableRequest::new("POST", url, headers.iter().copied(), body).unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        instructions
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Sends a POST head with `headers` and `Content-Length: length`, and a body only if given.
    async fn post_head(
        s: &TestServer,
        headers: &[(String, String)],
        length: usize,
        body: Option<&[u8]>,
    ) -> Option<Raw> {
        let addr = host(s);
        let mut conn = TcpStream::connect(&addr).await.unwrap();
        let mut head = format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {length}\r\n"
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        conn.write_all(head.as_bytes()).await.unwrap();
        if let Some(body) = body {
            conn.write_all(body).await.unwrap();
        }
        read_response(&mut conn, Duration::from_secs(3)).await
    }

    fn error(r: &Raw) -> (String, String) {
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        (
            v["Error"]["Code"].as_str().unwrap().to_string(),
            v["Error"]["Message"].as_str().unwrap().to_string(),
        )
    }

    /// Before: the management API buffered up to 1 MiB of body before it looked at the
    /// signature, so anyone could make it hold a megabyte per connection. Now the signature is
    /// checked first: unsigned, badly signed or unknown-key requests are answered without their
    /// body being read (the clients here never send it, and get their answer at once).
    #[tokio::test]
    async fn requests_are_authenticated_before_their_body_is_read() {
        let s = TestApp::new().start().await;
        let kcr = s.kcr().await;
        let url = format!("{}/", s.base);
        let host_header = [("host", host(&s))];
        let host_pairs: Vec<(&str, &str)> =
            host_header.iter().map(|(k, v)| (*k, v.as_str())).collect();

        // No signature at all.
        let r = post_head(&s, &[], 500_000, None)
            .await
            .expect("answered without the body");
        assert_eq!(r.status, 403);
        assert_eq!(error(&r).0, "MissingAuthenticationToken");

        // A wrong secret over a declared payload hash: refused before the body.
        let body = common::kcr::form(&[("Action", "DescribeInstance"), ("Version", "2021-11-09")]);
        let declared = hex::encode(sha2::Sha256::digest(body.as_bytes()));
        let mut with_hash = host_pairs.clone();
        with_hash.push(("x-amz-content-sha256", &declared));
        let mut headers = signed_headers(
            &kcr.key_id,
            "not-the-secret",
            &url,
            &with_hash,
            SignableBody::Bytes(body.as_bytes()),
        );
        headers.push(("x-amz-content-sha256".into(), declared.clone()));
        let r = post_head(&s, &headers, body.len(), None)
            .await
            .expect("answered without the body");
        assert_eq!(error(&r).0, "SignatureDoesNotMatch");

        // An unknown key: refused before the body.
        let headers = signed_headers(
            "AKLTNOSUCHKEY",
            "secret",
            &url,
            &host_pairs,
            SignableBody::Bytes(body.as_bytes()),
        );
        let r = post_head(&s, &headers, body.len(), None)
            .await
            .expect("answered without the body");
        assert_eq!(error(&r).0, "InvalidClientTokenId");

        // A known key whose signature covers a body not yet read: only a small one is read.
        let headers = signed_headers(
            &kcr.key_id,
            &kcr.secret,
            &url,
            &host_pairs,
            SignableBody::Bytes(body.as_bytes()),
        );
        let r = post_head(&s, &headers, 200_000, None)
            .await
            .expect("answered without the body");
        assert_eq!(r.status, 400);
        assert!(error(&r).1.contains("64 KiB"), "{r:?}");
        // ... and that small body is verified as before.
        let r = post_head(&s, &headers, body.len(), Some(body.as_bytes()))
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

        // A declared hash, rightly signed: the body is read, and must match it.
        let mut headers = signed_headers(
            &kcr.key_id,
            &kcr.secret,
            &url,
            &with_hash,
            SignableBody::Bytes(body.as_bytes()),
        );
        headers.push(("x-amz-content-sha256".into(), declared.clone()));
        let r = post_head(&s, &headers, body.len(), Some(body.as_bytes()))
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let other = body.replace("DescribeInstance", "DescribeInstancX");
        let r = post_head(&s, &headers, other.len(), Some(other.as_bytes()))
            .await
            .unwrap();
        assert_eq!(r.status, 403);
        assert!(
            error(&r).1.contains("does not match what was computed"),
            "{r:?}"
        );
    }
}
