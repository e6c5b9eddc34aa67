//! Pull redirects: with redirects on and blobs in S3, a blob GET is answered with a presigned URL
//! of the bucket, which a real client (Python `requests`) follows to the right bytes. Needs the
//! S3-compatible test server (`BERTH_TEST_S3_URL` and the `AWS_*` variables, exported by
//! scripts/test.sh) and `BERTH_TEST_PYTHON`; fails, never skips, without them.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use berth_oci::Digest;
use berth_registry::{Caches, Registry};
use berth_store::{
    BlobStore, CommitOutcome, FsBlobStore, MetadataStore, S3BlobStore, S3Options,
    SqliteMetadataStore,
};
use bytes::Bytes;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is unset: run scripts/test.sh (it starts the S3 test server and exports it)")
    })
}

fn s3_blobs() -> S3BlobStore {
    let url = format!(
        "{}/redirect-{}",
        required("BERTH_TEST_S3_URL").trim_end_matches('/'),
        uuid::Uuid::new_v4().simple()
    );
    S3BlobStore::open_s3(&url, &S3Options::default()).unwrap()
}

/// Stores `data` as a blob linked into a fresh repository; returns the repository's id.
async fn linked_blob(meta: &dyn MetadataStore, blobs: &dyn BlobStore, data: &[u8]) -> i64 {
    let inst = meta.ensure_default_instance("default").await.unwrap();
    let ns = meta.ensure_namespace(&inst.id, "team").await.unwrap();
    let repo = meta
        .ensure_repository(&inst.id, ns.id, "team/app")
        .await
        .unwrap();
    let digest = Digest::sha256_of(data);
    let id = uuid::Uuid::new_v4().to_string();
    blobs.upload_start(&id).await.unwrap();
    let body = futures::stream::iter(vec![Ok(Bytes::copy_from_slice(data))]).boxed();
    blobs.upload_append(&id, 0, body, 1 << 30).await.unwrap();
    assert_eq!(
        blobs.upload_commit(&id, &digest).await.unwrap(),
        CommitOutcome::Committed {
            size: data.len() as u64
        }
    );
    blobs.upload_cancel(&id).await.unwrap();
    meta.link_blob(repo.id, &digest, data.len() as u64)
        .await
        .unwrap();
    repo.id
}

/// A blob-GET front on loopback that decides as the API's handler does: unknown blob, 404;
/// a redirect, 307 with its Location; else 200 with the bytes served by berth.
async fn serve_blob_gets(registry: Arc<Registry>, repo: i64) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let registry = registry.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).await.unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let path = head.split(' ').nth(1).unwrap_or("").to_string();
                let digest: Digest = path.rsplit('/').next().unwrap_or("").parse().unwrap();
                let response = match registry.linked_blob_size(repo, &digest).await.unwrap() {
                    None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_string(),
                    Some(size) => match registry.blob_redirect(&digest).await.unwrap() {
                        Some(url) => format!(
                            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {url}\r\ncontent-length: 0\r\n\r\n"
                        ),
                        None => format!("HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n"),
                    },
                };
                let _ = conn.write_all(response.as_bytes()).await;
                if response.starts_with("HTTP/1.1 200") {
                    let mut stream = registry
                        .read_linked_blob(repo, &digest, None)
                        .await
                        .unwrap()
                        .unwrap();
                    while let Some(chunk) = stream.next().await {
                        let _ = conn.write_all(&chunk.unwrap()).await;
                    }
                }
                let _ = conn.shutdown().await;
            });
        }
    });
    addr
}

/// Python `requests` GETs the URL (with a bearer token and a Range, as a client pulling a
/// layer would) and prints the redirect statuses (`-` for none), the final status and the
/// body's sha256.
fn fetch_with_requests(url: &str, range: Option<&str>) -> String {
    let script = r#"
import hashlib, sys, requests
headers = {"Authorization": "Bearer registry-token"}
if len(sys.argv) > 2:
    headers["Range"] = sys.argv[2]
r = requests.get(sys.argv[1], headers=headers, timeout=30)
print("/".join(str(h.status_code) for h in r.history) or "-", r.status_code, "sha256:" + hashlib.sha256(r.content).hexdigest())
"#;
    let mut cmd = std::process::Command::new(required("BERTH_TEST_PYTHON"));
    cmd.arg("-c").arg(script).arg(url);
    if let Some(range) = range {
        cmd.arg(range);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

// Several threads: the client runs as a child process the test waits for, while the front
// answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_are_redirected_to_presigned_urls_when_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let meta: Arc<dyn MetadataStore> = Arc::new(
        SqliteMetadataStore::open(&dir.path().join("meta.db"))
            .await
            .unwrap(),
    );
    let blobs: Arc<dyn BlobStore> = Arc::new(s3_blobs());
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let digest = Digest::sha256_of(&data);
    let repo = linked_blob(meta.as_ref(), blobs.as_ref(), &data).await;

    // Off by default: berth serves the bytes.
    let plain = Registry::new(meta.clone(), blobs.clone(), Arc::new(Caches::default()));
    assert_eq!(plain.blob_redirect(&digest).await.unwrap(), None);
    let addr = serve_blob_gets(Arc::new(plain), repo).await;
    assert_eq!(
        fetch_with_requests(&format!("http://{addr}/v2/team/app/blobs/{digest}"), None),
        format!("- 200 {digest}")
    );

    // On: a 307 to the bucket, followed by the client, the same bytes; a Range goes along.
    let redirecting = Registry::new(meta.clone(), blobs.clone(), Arc::new(Caches::default()))
        .with_blob_redirects(Some(Duration::from_secs(120)));
    let url = redirecting.blob_redirect(&digest).await.unwrap().unwrap();
    assert!(
        url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires=120"),
        "{url}"
    );
    let addr = serve_blob_gets(Arc::new(redirecting), repo).await;
    let blob_url = format!("http://{addr}/v2/team/app/blobs/{digest}");
    assert_eq!(
        fetch_with_requests(&blob_url, None),
        format!("307 200 {digest}")
    );
    let tail = Digest::sha256_of(&data[1000..2000]);
    assert_eq!(
        fetch_with_requests(&blob_url, Some("bytes=1000-1999")),
        format!("307 206 {tail}")
    );
    // An unknown blob is not redirected.
    let unknown = Digest::sha256_of(b"never pushed");
    let out = fetch_with_requests(&format!("http://{addr}/v2/team/app/blobs/{unknown}"), None);
    assert!(out.starts_with("- 404"), "{out}");
}

#[tokio::test]
async fn a_store_without_presigned_urls_serves_the_bytes_itself() {
    let dir = tempfile::tempdir().unwrap();
    let meta: Arc<dyn MetadataStore> = Arc::new(
        SqliteMetadataStore::open(&dir.path().join("meta.db"))
            .await
            .unwrap(),
    );
    let blobs: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(dir.path()).unwrap());
    let data = b"served by berth".to_vec();
    linked_blob(meta.as_ref(), blobs.as_ref(), &data).await;
    let registry = Registry::new(meta, blobs, Arc::new(Caches::default()))
        .with_blob_redirects(Some(Duration::from_secs(60)));
    assert_eq!(
        registry
            .blob_redirect(&Digest::sha256_of(&data))
            .await
            .unwrap(),
        None
    );
}
