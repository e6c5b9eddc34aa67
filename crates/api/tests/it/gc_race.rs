//! Garbage collection racing pushes: a blob linked after GC looked at it is never deleted, and a
//! push acknowledged while its digest was being deleted is pullable afterwards.
//!
//! The blob store is the real one, wrapped so that a deletion waits between GC's decision and
//! the unlink: the window that 16 pushing threads hit by chance becomes one every run hits.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use async_trait::async_trait;
use berth_oci::Digest;
use berth_store::{BlobStore, BlobStream, CommitOutcome, Result};
use common::{TestApp, TestServer};
use reqwest::{Method, StatusCode};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Announces each deletion, then holds it for a while before deleting.
struct SlowDelete {
    inner: Arc<dyn BlobStore>,
    deleting: mpsc::UnboundedSender<Digest>,
}

#[async_trait]
impl BlobStore for SlowDelete {
    async fn stat(&self, d: &Digest) -> Result<Option<u64>> {
        self.inner.stat(d).await
    }
    async fn read(&self, d: &Digest, r: Option<Range<u64>>) -> Result<Option<BlobStream>> {
        self.inner.read(d, r).await
    }
    async fn delete(&self, d: &Digest) -> Result<bool> {
        let _ = self.deleting.send(d.clone());
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.inner.delete(d).await
    }
    async fn list(&self) -> Result<Vec<(Digest, i64)>> {
        self.inner.list().await
    }
    async fn used_bytes(&self) -> Result<u64> {
        self.inner.used_bytes().await
    }
    async fn upload_start(&self, id: &str) -> Result<()> {
        self.inner.upload_start(id).await
    }
    async fn upload_size(&self, id: &str) -> Result<Option<u64>> {
        self.inner.upload_size(id).await
    }
    async fn upload_append(&self, id: &str, o: u64, b: BlobStream, m: u64) -> Result<u64> {
        self.inner.upload_append(id, o, b, m).await
    }
    async fn upload_commit(&self, id: &str, d: &Digest) -> Result<CommitOutcome> {
        self.inner.upload_commit(id, d).await
    }
    async fn upload_cancel(&self, id: &str) -> Result<()> {
        self.inner.upload_cancel(id).await
    }
    async fn list_uploads(&self) -> Result<Vec<(String, i64)>> {
        self.inner.list_uploads().await
    }
}

async fn server() -> (TestServer, mpsc::UnboundedReceiver<Digest>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let s = TestApp::new()
        .wrap_blobs(|inner| {
            Arc::new(SlowDelete {
                inner,
                deleting: tx,
            })
        })
        .start()
        .await;
    (s, rx)
}

/// One GC pass with no grace period, in the background, as `berth gc --no-grace` runs it.
fn collect(s: &TestServer) -> tokio::task::JoinHandle<berth_api::gc::GcReport> {
    let app = s.app.clone();
    tokio::spawn(async move { berth_api::run_gc(&app, Some(Duration::ZERO)).await.unwrap() })
}

/// A single-request upload (`POST ?digest=`), as clients re-push a layer.
async fn push_monolithic(s: &TestServer, repo: &str, data: &[u8]) -> StatusCode {
    let digest = Digest::sha256_of(data);
    s.admin(
        Method::POST,
        &format!("/v2/{repo}/blobs/uploads/?digest={digest}"),
    )
    .header("content-type", "application/octet-stream")
    .body(data.to_vec())
    .send()
    .await
    .unwrap()
    .status()
}

async fn pull(s: &TestServer, repo: &str, digest: &Digest) -> (StatusCode, Vec<u8>) {
    let r = s
        .admin(Method::GET, &format!("/v2/{repo}/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_blob_repushed_while_gc_deletes_it_stays() {
    let (s, mut deleting) = server().await;
    let data = b"a layer nobody references yet".to_vec();
    let digest = s.push_blob("team/app", &data).await;
    tokio::time::sleep(Duration::from_millis(20)).await;

    let gc = collect(&s);
    // GC has forgotten the blob and is about to delete its bytes: push it again now.
    assert_eq!(deleting.recv().await.unwrap(), digest);
    assert_eq!(
        push_monolithic(&s, "team/app", &data).await,
        StatusCode::CREATED
    );
    let report = gc.await.unwrap();
    assert_eq!(report.blobs_deleted, 1);

    // Acknowledged, so it is there: for HEAD, for GET, and for a manifest that uses it.
    assert_eq!(
        pull(&s, "team/app", &digest).await,
        (StatusCode::OK, data.clone())
    );
    let head = s
        .admin(Method::HEAD, &format!("/v2/team/app/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    // And a later pass (within the grace of the new link) keeps it.
    let r = berth_api::run_gc(&s.app, None).await.unwrap();
    assert_eq!(r.blobs_deleted, 0);
    assert_eq!(pull(&s, "team/app", &digest).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_orphan_file_repushed_while_gc_deletes_it_stays() {
    let (s, mut deleting) = server().await;
    // Bytes committed to the blob store with no record (a crash between commit and link).
    let data = b"bytes nobody recorded".to_vec();
    let digest = Digest::sha256_of(&data);
    let id = uuid::Uuid::new_v4().to_string();
    s.app.blobs.upload_start(&id).await.unwrap();
    let body: BlobStream = Box::pin(futures::stream::iter(vec![Ok(bytes::Bytes::from(
        data.clone(),
    ))]));
    s.app
        .blobs
        .upload_append(&id, 0, body, 1 << 20)
        .await
        .unwrap();
    s.app.blobs.upload_commit(&id, &digest).await.unwrap();
    s.app.blobs.upload_cancel(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    let gc = collect(&s);
    assert_eq!(deleting.recv().await.unwrap(), digest);
    assert_eq!(
        push_monolithic(&s, "team/app", &data).await,
        StatusCode::CREATED
    );
    assert_eq!(gc.await.unwrap().orphan_files_deleted, 1);
    assert_eq!(pull(&s, "team/app", &digest).await, (StatusCode::OK, data));
}

#[tokio::test]
async fn a_blob_being_deleted_is_not_reported_present() {
    let (s, mut deleting) = server().await;
    let data = b"going away".to_vec();
    let digest = s.push_blob("team/app", &data).await;
    // Cached as linked by a HEAD before the collection.
    let head = |s: &TestServer| {
        s.admin(Method::HEAD, &format!("/v2/team/app/blobs/{digest}"))
            .send()
    };
    assert_eq!(head(&s).await.unwrap().status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let gc = collect(&s);
    assert_eq!(deleting.recv().await.unwrap(), digest);
    // Forgotten, bytes not yet deleted: not present, so the client uploads it again.
    assert_eq!(head(&s).await.unwrap().status(), StatusCode::NOT_FOUND);
    gc.await.unwrap();
    assert_eq!(head(&s).await.unwrap().status(), StatusCode::NOT_FOUND);
    // A manifest naming it is refused, not stored unpullable.
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest.to_string(), "size": data.len()},
        "layers": [],
    })
    .to_string();
    let r = s
        .put_manifest(
            "team/app",
            "v1",
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(common::error_code(r).await, "MANIFEST_BLOB_UNKNOWN");
}
