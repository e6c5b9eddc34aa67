//! Uploads survive restarts; a SIGKILL during pushes never leaves a partial or corrupt blob.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use berth_oci::Digest;
use common::{ADMIN_PASSWORD, Berth};
use reqwest::{Client, StatusCode};
use std::time::Duration;

fn client() -> Client {
    Client::builder().build().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_resume_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let addr = common::free_addr();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let digest = Digest::sha256_of(&data);
    let c = client();
    let b = Berth::start_on(dir.path(), &addr);
    let loc = b.start_upload(&c, "resume/app").await;
    let r = c
        .patch(b.url(&loc))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("content-range", "0-99999")
        .body(data[..100_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    b.kill();

    let b = Berth::start_on(dir.path(), &addr);
    let r = c
        .get(b.url(&loc))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["range"], "0-99999");
    let r = c
        .put(b.url(&format!("{loc}?digest={digest}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("content-range", "100000-199999")
        .body(data[100_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = c
        .get(b.url(&format!("/v2/resume/app/blobs/{digest}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), data.as_slice());
}

/// Every file under blobs/ must hash to its name.
fn verify_blob_files(root: &std::path::Path) -> usize {
    let mut n = 0;
    for alg in ["sha256", "sha512"] {
        let Ok(prefixes) = std::fs::read_dir(root.join("blobs").join(alg)) else {
            continue;
        };
        for p in prefixes {
            for f in std::fs::read_dir(p.unwrap().path()).unwrap() {
                let f = f.unwrap();
                let name = format!("{alg}:{}", f.file_name().to_string_lossy());
                let want: Digest = name.parse().unwrap();
                let bytes = std::fs::read(f.path()).unwrap();
                assert_eq!(
                    Digest::of(want.algorithm(), &bytes),
                    want,
                    "corrupt blob file {name}"
                );
                n += 1;
            }
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_pushes_leaves_no_partial_blob() {
    let dir = tempfile::tempdir().unwrap();
    let addr = common::free_addr();
    let c = client();
    let b = Berth::start_on(dir.path(), &addr);
    // One complete push before the crash.
    let done: Vec<u8> = vec![42u8; 300_000];
    let done_digest = Digest::sha256_of(&done);
    let r = c
        .post(b.url(&format!(
            "/v2/crash/app/blobs/uploads/?digest={done_digest}"
        )))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .body(done.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    // Several pushes whose bodies trickle in while the server is killed.
    // Every payload and upload is prepared before the first byte is sent: on a loaded machine,
    // preparing them one by one could let an early upload finish before the kill.
    let mut digests = Vec::new();
    let mut uploads = Vec::new();
    for i in 0..6u8 {
        let payload: Vec<u8> = (0..4_000_000u32)
            .map(|j| (j as u8).wrapping_mul(i + 3))
            .collect();
        let digest = Digest::sha256_of(&payload);
        digests.push(digest.clone());
        let url = if i % 2 == 0 {
            b.url(&format!("/v2/crash/app/blobs/uploads/?digest={digest}"))
        } else {
            b.url(&b.start_upload(&c, "crash/app").await)
        };
        uploads.push((url, payload));
    }
    let mut tasks = Vec::new();
    for (url, payload) in uploads {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let chunks: Vec<Vec<u8>> = payload.chunks(64 * 1024).map(|c| c.to_vec()).collect();
            let stream = futures::stream::iter(chunks).then(|chunk| async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok::<_, std::io::Error>(chunk)
            });
            let req = if url.contains("digest=") {
                c.post(&url)
            } else {
                c.patch(&url)
            };
            let _ = req
                .basic_auth("admin", Some(ADMIN_PASSWORD))
                .body(reqwest::Body::wrap_stream(stream))
                .send()
                .await;
        }));
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    b.kill();
    for t in tasks {
        let _ = t.await;
    }

    assert!(verify_blob_files(dir.path()) >= 1);
    let b = Berth::start_on(dir.path(), &addr);
    for d in &digests {
        let r = c
            .head(b.url(&format!("/v2/crash/app/blobs/{d}")))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "{d} must not exist after the crash"
        );
    }
    let r = c
        .get(b.url(&format!("/v2/crash/app/blobs/{done_digest}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), done.as_slice());
    assert_eq!(verify_blob_files(dir.path()), 1);
}

use futures::StreamExt;
