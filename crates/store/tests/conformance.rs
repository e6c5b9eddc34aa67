//! The local backends against the shared conformance suite.
use berth_store::{FsBlobStore, SqliteMetadataStore, conformance};

#[tokio::test]
async fn fs_blob_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::open(dir.path()).unwrap();
    conformance::blob_store(&store).await;
}

#[tokio::test]
async fn sqlite_metadata_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetadataStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    conformance::metadata_store(&store).await;
}

#[tokio::test]
async fn uploads_survive_a_reopen() {
    use berth_store::BlobStore;
    use futures::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let id = uuid::Uuid::new_v4().to_string();
    {
        let store = FsBlobStore::open(dir.path()).unwrap();
        store.upload_start(&id).await.unwrap();
        let body =
            futures::stream::iter(vec![Ok(bytes::Bytes::from_static(b"part one, "))]).boxed();
        store.upload_append(&id, 0, body, 1 << 20).await.unwrap();
    }
    let store = FsBlobStore::open(dir.path()).unwrap();
    assert_eq!(store.upload_size(&id).await.unwrap(), Some(10));
    let body = futures::stream::iter(vec![Ok(bytes::Bytes::from_static(b"part two"))]).boxed();
    store.upload_append(&id, 10, body, 1 << 20).await.unwrap();
    let d = berth_oci::Digest::sha256_of(b"part one, part two");
    assert_eq!(
        store.upload_commit(&id, &d).await.unwrap(),
        berth_store::CommitOutcome::Committed { size: 18 }
    );
}

#[tokio::test]
async fn sqlite_endpoint_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetadataStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    conformance::endpoint_store(&store).await;
}

#[tokio::test]
async fn sqlite_webhook_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetadataStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    conformance::webhook_store(&store).await;
}

#[tokio::test]
async fn sqlite_job_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetadataStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    conformance::job_store(&store).await;
}

#[tokio::test]
async fn sqlite_api_token_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetadataStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    conformance::api_token_store(&store).await;
}

#[tokio::test]
async fn sqlite_exception_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetadataStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    conformance::exception_store(&store).await;
}

#[tokio::test]
async fn sqlite_foreign_scan_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetadataStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    conformance::foreign_scan_store(&store).await;
}

#[tokio::test]
async fn sqlite_protection_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetadataStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    conformance::protection_store(&store).await;
}

#[tokio::test]
async fn sqlite_console_session_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetadataStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    // One process owns an SQLite file: its second holder is the same store.
    conformance::console_session_store(&store, &store).await;
}

#[tokio::test]
async fn sqlite_notices_and_leadership_conform() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetadataStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    // One process owns an SQLite file: its second "holder" is the same store.
    conformance::notices_and_leadership(&store, &store).await;
}
