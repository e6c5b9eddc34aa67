//! Registry pulls over real HTTP on loopback: a tiny registry that demands the Docker bearer-token
//! flow and serves a two-platform index.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use berth_scan::source::registry::{Credentials, RegistryOptions, RegistrySource};
use berth_scan::{NoProgress, PlatformSpec, Scanner};
use common::*;

struct Registry {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn respond(s: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
}

fn handle(mut s: TcpStream, blobs: PathBuf, index: Vec<u8>, port: u16) {
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    if r.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut auth = String::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some(v) = h
            .strip_prefix("authorization: ")
            .or_else(|| h.strip_prefix("Authorization: "))
        {
            auth = v.trim().to_string();
        }
    }
    if path.starts_with("/token") {
        // Basic user:secret
        if auth == "Basic dXNlcjpzZWNyZXQ=" && path.contains("scope=repository%3Ateam%2Fapp%3Apull")
        {
            respond(
                &mut s,
                "200 OK",
                &[("Content-Type", "application/json".into())],
                br#"{"token":"t0k"}"#,
            );
        } else {
            respond(&mut s, "401 Unauthorized", &[], b"{}");
        }
        return;
    }
    if auth != "Bearer t0k" {
        let challenge = format!(
            "Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"test\",scope=\"repository:team/app:pull\""
        );
        respond(
            &mut s,
            "401 Unauthorized",
            &[("WWW-Authenticate", challenge)],
            b"{}",
        );
        return;
    }
    let Some(rest) = path.strip_prefix("/v2/team/app/") else {
        respond(&mut s, "404 Not Found", &[], b"");
        return;
    };
    let (kind, object) = rest.split_once('/').unwrap_or(("", ""));
    let body = if kind == "manifests" && object == "v1" {
        Some((index.clone(), "application/vnd.oci.image.index.v1+json"))
    } else if let Some(hex) = object.strip_prefix("sha256:") {
        std::fs::read(blobs.join(hex)).ok().map(|b| {
            (
                b,
                if kind == "manifests" {
                    "application/vnd.oci.image.manifest.v1+json"
                } else {
                    "application/octet-stream"
                },
            )
        })
    } else {
        None
    };
    match body {
        Some((b, ct)) => respond(&mut s, "200 OK", &[("Content-Type", ct.into())], &b),
        None => respond(&mut s, "404 Not Found", &[], b""),
    }
    let _ = r.read(&mut [0u8; 0]);
}

fn start(blobs: PathBuf, index: Vec<u8>) -> Registry {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    std::thread::spawn(move || {
        for (n, conn) in l.incoming().enumerate() {
            if stop2.load(Ordering::SeqCst) || n > 500 {
                break;
            }
            if let Ok(c) = conn {
                let (b, i) = (blobs.clone(), index.clone());
                std::thread::spawn(move || handle(c, b, i, port));
            }
        }
    });
    Registry { port, stop }
}

#[test]
fn pulls_with_bearer_token_and_selects_the_platform() {
    let dir = tempfile::tempdir().unwrap();
    let amd = Image::new(
        vec![Layer::new("RUN pip install six").file(
            "/usr/lib/python3/site-packages/six-1.16.0.dist-info/METADATA",
            b"Name: six\nVersion: 1.16.0\n",
        )],
        Comp::Gzip,
    );
    let amd_digest = amd.write_oci(dir.path());
    let arm = Image::new(
        vec![Layer::new("arm").file(
            "/usr/lib/python3/site-packages/attrs-23.1.0.dist-info/METADATA",
            b"Name: attrs\nVersion: 23.1.0\n",
        )],
        Comp::Gzip,
    );
    let arm_dir = tempfile::tempdir().unwrap();
    let arm_digest = arm.write_oci(arm_dir.path());
    for e in std::fs::read_dir(arm_dir.path().join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(
            e.path(),
            dir.path().join("blobs/sha256").join(e.file_name()),
        )
        .unwrap();
    }
    let size = |d: &str| {
        std::fs::metadata(dir.path().join("blobs/sha256").join(&d[7..]))
            .unwrap()
            .len()
    };
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm_digest, "size": size(&arm_digest), "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd_digest, "size": size(&amd_digest), "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    }))
    .unwrap();
    let reg = start(dir.path().join("blobs/sha256"), index);
    let reference = format!("127.0.0.1:{}/team/app:v1", reg.port);
    let creds = Some(Credentials {
        username: "user".into(),
        password: "secret".into(),
    });
    let src = RegistrySource::new(
        &reference,
        RegistryOptions {
            credentials: creds.clone(),
            insecure: false,
        },
    )
    .unwrap();
    let scanner = Scanner::new(options()).unwrap();
    let r = scanner
        .scan_image(&src, &PlatformSpec::default(), &NoProgress)
        .unwrap();
    assert_eq!(names(&r, "python"), ["six@1.16.0"]);
    assert_eq!(r.source.kind, "registry");
    assert_eq!(r.source.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(
        r.source.manifest_digest.as_deref(),
        Some(amd_digest.as_str())
    );
    let r = scanner
        .scan_image(&src, &"linux/arm64".parse().unwrap(), &NoProgress)
        .unwrap();
    assert_eq!(names(&r, "python"), ["attrs@23.1.0"]);
    let err = scanner
        .scan_image(&src, &"linux/s390x".parse().unwrap(), &NoProgress)
        .unwrap_err();
    assert!(
        err.to_string().contains("linux/arm64/v8, linux/amd64"),
        "{err}"
    );
    // Wrong credentials: a clear error.
    let bad = RegistrySource::new(
        &reference,
        RegistryOptions {
            credentials: Some(Credentials {
                username: "user".into(),
                password: "nope".into(),
            }),
            insecure: false,
        },
    )
    .unwrap();
    let err = scanner
        .scan_image(&bad, &PlatformSpec::default(), &NoProgress)
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
}
