//! The S3 blob store against a real S3-compatible server (scripts/services/s3.sh starts one on
//! loopback; scripts/test.sh exports `BERTH_TEST_S3_URL` and the `AWS_*` variables). Each test
//! uses a prefix of its own in the bucket. Without `BERTH_TEST_S3_URL` these tests fail: they
//! are never skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use berth_oci::Digest;
use berth_store::driver::{ByteDriver, Key};
use berth_store::{BlobStore, BlobStream, CommitOutcome, S3BlobStore, S3Options, conformance};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use std::time::Duration;

/// The URL of a fresh, empty prefix in the test bucket.
fn fresh_url() -> String {
    let base = std::env::var("BERTH_TEST_S3_URL").unwrap_or_else(|_| {
        panic!(
            "BERTH_TEST_S3_URL is unset: run scripts/test.sh, or start scripts/services/s3.sh and \
             export BERTH_TEST_S3_URL and the AWS_* variables as scripts/test.sh does"
        )
    });
    format!(
        "{}/test-{}",
        base.trim_end_matches('/'),
        uuid::Uuid::new_v4().simple()
    )
}

fn open(url: &str) -> S3BlobStore {
    S3BlobStore::open_s3(url, &S3Options::default()).unwrap()
}

fn body(chunks: Vec<Vec<u8>>) -> BlobStream {
    futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c)))).boxed()
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 4099) as u8).collect()
}

async fn read_all(store: &dyn BlobStore, digest: &Digest) -> Vec<u8> {
    let stream = store.read(digest, None).await.unwrap().unwrap();
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    chunks.concat()
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The part objects and markers stored under `uploads/<id>`, as the driver lists them (an
/// upload's parts fold into its entry).
async fn stored_upload(store: &S3BlobStore, id: &str) -> bool {
    let uploads = Key::parse("uploads").unwrap();
    let listed = store.driver().list(&uploads).await.unwrap();
    listed.iter().any(|(key, _)| key.as_str().contains(id))
}

#[tokio::test]
async fn s3_blob_store_conforms() {
    let store = open(&fresh_url());
    store.driver().check().await.unwrap();
    conformance::blob_store(&store).await;
}

#[tokio::test]
async fn an_unreachable_bucket_fails_the_check() {
    let options = S3Options {
        endpoint: Some("http://127.0.0.1:9".into()),
        allow_http: Some(true),
        ..S3Options::default()
    };
    let store = S3BlobStore::open_s3("s3://berth-test/unreachable", &options).unwrap();
    assert!(store.driver().check().await.is_err());
    assert!(S3BlobStore::open_s3("file:///tmp/x", &options).is_err());
}

/// Uploads of many append batches become blobs by one PUT (small) or a multipart upload of 8 MiB
/// parts (large); reads and ranges cross the part boundaries of both the upload and the blob.
#[tokio::test]
async fn large_uploads_commit_whole_and_read_by_range() {
    let store = open(&fresh_url());
    for len in [3 * 1024 * 1024 + 17, 19 * 1024 * 1024 + 5] {
        let bytes = content(len);
        let digest = Digest::sha256_of(&bytes);
        let id = new_id();
        store.upload_start(&id).await.unwrap();
        let first = len / 3;
        store
            .upload_append(&id, 0, body(vec![bytes[..first].to_vec()]), 1 << 30)
            .await
            .unwrap();
        // The upload reads back across its parts.
        let key = Key::parse(&format!("uploads/{id}")).unwrap();
        let range = store
            .driver()
            .read(&key, Some(first as u64 - 10..first as u64 - 3));
        let chunks: Vec<Bytes> = range.await.unwrap().unwrap().try_collect().await.unwrap();
        assert_eq!(chunks.concat(), bytes[first - 10..first - 3]);
        let rest: Vec<Vec<u8>> = bytes[first..].chunks(300_001).map(<[u8]>::to_vec).collect();
        assert_eq!(
            store
                .upload_append(&id, first as u64, body(rest), 1 << 30)
                .await
                .unwrap(),
            len as u64
        );
        assert_eq!(
            store.upload_commit(&id, &digest).await.unwrap(),
            CommitOutcome::Committed { size: len as u64 }
        );
        store.upload_cancel(&id).await.unwrap();
        assert!(!stored_upload(&store, &id).await);
        assert_eq!(store.stat(&digest).await.unwrap(), Some(len as u64));
        assert_eq!(read_all(&store, &digest).await, bytes);
        let r = (8 * 1024 * 1024 - 5) as u64..(8 * 1024 * 1024 + 9) as u64;
        let r = r.start.min(len as u64 - 20)..r.end.min(len as u64);
        let stream = store.read(&digest, Some(r.clone())).await.unwrap().unwrap();
        let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
        assert_eq!(chunks.concat(), bytes[r.start as usize..r.end as usize]);
    }
}

/// Two replicas on one bucket: an upload started on one takes chunks from the other and is
/// committed (verified) by the first; a wrong digest leaves no blob; an abandoned upload is
/// cancelled from either and leaves no part behind.
#[tokio::test]
async fn replicas_share_uploads() {
    let url = fresh_url();
    let (a, b) = (open(&url), open(&url));
    let bytes = content(1_500_000);
    let digest = Digest::sha256_of(&bytes);

    let id = new_id();
    a.upload_start(&id).await.unwrap();
    a.upload_append(&id, 0, body(vec![bytes[..700_000].to_vec()]), 1 << 30)
        .await
        .unwrap();
    assert_eq!(b.upload_size(&id).await.unwrap(), Some(700_000));
    // B never saw this upload: it rebuilds the running hash from the stored parts.
    b.upload_append(&id, 700_000, body(vec![bytes[700_000..].to_vec()]), 1 << 30)
        .await
        .unwrap();
    // A's running hash is stale (B appended): A re-reads before verifying.
    assert_eq!(
        a.upload_commit(&id, &digest).await.unwrap(),
        CommitOutcome::Committed {
            size: bytes.len() as u64
        }
    );
    assert_eq!(read_all(&b, &digest).await, bytes);
    b.upload_cancel(&id).await.unwrap();
    assert!(!stored_upload(&a, &id).await);
    assert_eq!(a.upload_size(&id).await.unwrap(), None);

    // A wrong digest, committed on the replica that did not receive the bytes.
    let id = new_id();
    a.upload_start(&id).await.unwrap();
    a.upload_append(
        &id,
        0,
        body(vec![b"not what was claimed".to_vec()]),
        1 << 30,
    )
    .await
    .unwrap();
    let claimed = Digest::sha256_of(b"what was claimed");
    assert!(matches!(
        b.upload_commit(&id, &claimed).await.unwrap(),
        CommitOutcome::DigestMismatch { .. }
    ));
    assert_eq!(a.stat(&claimed).await.unwrap(), None);
    assert_eq!(
        a.stat(&Digest::sha256_of(b"not what was claimed"))
            .await
            .unwrap(),
        None
    );
    assert!(!stored_upload(&a, &id).await);
    assert!(a.list().await.unwrap().iter().all(|(d, _)| *d == digest));

    // Abandoned midway: listed for expiry, then discarded with all its parts.
    let id = new_id();
    a.upload_start(&id).await.unwrap();
    for (i, chunk) in bytes[..1_200_000].chunks(400_000).enumerate() {
        let offset = (i * 400_000) as u64;
        let replica = if i % 2 == 0 { &a } else { &b };
        replica
            .upload_append(&id, offset, body(vec![chunk.to_vec()]), 1 << 30)
            .await
            .unwrap();
    }
    let listed = b.list_uploads().await.unwrap();
    assert!(listed.iter().any(|(u, _)| *u == id));
    b.upload_cancel(&id).await.unwrap();
    assert!(!stored_upload(&a, &id).await);
    assert!(
        !b.list_uploads()
            .await
            .unwrap()
            .iter()
            .any(|(u, _)| *u == id)
    );
    assert!(matches!(
        a.upload_append(&id, 1_200_000, body(vec![b"late".to_vec()]), 1 << 30)
            .await,
        Err(berth_store::StoreError::UploadUnknown(_))
    ));
    assert!(!stored_upload(&a, &id).await);
}

/// Two replicas append at the same offset at once (a client retrying through a balancer): the
/// part is written with If-None-Match, so exactly one append wins, whichever request reaches S3
/// first; the upload holds that writer's bytes, and a commit on either replica verifies them.
#[tokio::test]
async fn racing_appends_never_share_an_offset() {
    let url = fresh_url();
    let (a, b) = (open(&url), open(&url));
    for _ in 0..5 {
        let id = new_id();
        a.upload_start(&id).await.unwrap();
        let (ra, rb) = tokio::join!(
            a.upload_append(&id, 0, body(vec![b"from a".to_vec()]), 1 << 20),
            b.upload_append(&id, 0, body(vec![b"from b".to_vec()]), 1 << 20),
        );
        assert!(
            ra.is_ok() != rb.is_ok(),
            "exactly one append wins: {ra:?} {rb:?}"
        );
        let winner: &[u8] = if ra.is_ok() { b"from a" } else { b"from b" };
        let key = Key::parse(&format!("uploads/{id}")).unwrap();
        let stored: Vec<Bytes> = a
            .driver()
            .read(&key, None)
            .await
            .unwrap()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(stored.concat(), winner);
        // The loser's replica commits: its hash state was dropped, so it hashes what is stored.
        let loser = if ra.is_ok() { &b } else { &a };
        let other: &[u8] = if ra.is_ok() { b"from b" } else { b"from a" };
        assert!(matches!(
            loser
                .upload_commit(&id, &Digest::sha256_of(other))
                .await
                .unwrap(),
            CommitOutcome::DigestMismatch { .. }
        ));
        assert_eq!(a.stat(&Digest::sha256_of(other)).await.unwrap(), None);
    }
    // Whatever the timing, a part is never overwritten: the second PUT at an offset is refused
    // by the server (If-None-Match), not by this process's bookkeeping.
    let id = new_id();
    a.upload_start(&id).await.unwrap();
    let key = Key::parse(&format!("uploads/{id}")).unwrap();
    a.driver()
        .append(&key, 0, Bytes::from_static(b"first"))
        .await
        .unwrap();
    let second = b
        .driver()
        .append(&key, 0, Bytes::from_static(b"other"))
        .await;
    assert_eq!(
        second.unwrap_err().kind(),
        std::io::ErrorKind::AlreadyExists
    );
    assert_eq!(b.upload_size(&id).await.unwrap(), Some(5));
    assert!(matches!(
        b.upload_commit(&id, &Digest::sha256_of(b"first"))
            .await
            .unwrap(),
        CommitOutcome::Committed { size: 5 }
    ));
}

/// A replica's running hash covers only its own writes: when another replica rewrites the
/// upload to the same size (truncate, then append other bytes), a commit on the first verifies
/// what is stored now (through a snapshot), never the bytes it remembers.
#[tokio::test]
async fn a_commit_verifies_the_bytes_stored_not_the_bytes_remembered() {
    let url = fresh_url();
    let (a, b) = (open(&url), open(&url));
    let id = new_id();
    a.upload_start(&id).await.unwrap();
    a.upload_append(&id, 0, body(vec![b"AAAAAAAA".to_vec()]), 1 << 20)
        .await
        .unwrap();
    b.upload_truncate(&id, 0).await.unwrap();
    b.upload_append(&id, 0, body(vec![b"BBBBBBBB".to_vec()]), 1 << 20)
        .await
        .unwrap();
    let remembered = Digest::sha256_of(b"AAAAAAAA");
    match a.upload_commit(&id, &remembered).await.unwrap() {
        CommitOutcome::DigestMismatch { actual } => {
            assert_eq!(actual, Digest::sha256_of(b"BBBBBBBB"))
        }
        other => panic!("bytes another replica wrote were linked as {remembered}: {other:?}"),
    }
    assert_eq!(a.stat(&remembered).await.unwrap(), None);
    assert!(a.list().await.unwrap().is_empty());
    // Nothing is left behind: no upload, no snapshot.
    assert!(!stored_upload(&a, &id).await);
}

/// A replica killed in the middle of an append: what it had written is the upload's (never a
/// blob), and another replica resumes from the size it reports and commits.
#[tokio::test]
async fn an_append_killed_midway_is_resumed_elsewhere() {
    let url = fresh_url();
    let bytes = content(2_000_000);
    let digest = Digest::sha256_of(&bytes);
    let id = new_id();
    let b = open(&url);
    {
        let a = std::sync::Arc::new(open(&url));
        a.upload_start(&id).await.unwrap();
        // The client sends 1.2 MB in three chunks and then nothing: the replica writes each
        // batch as it fills, so when it is killed one PUT may be in flight.
        let sent: Vec<std::io::Result<Bytes>> = bytes[..1_200_000]
            .chunks(400_000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let hanging: BlobStream = futures::stream::iter(sent)
            .chain(futures::stream::pending())
            .boxed();
        let task = {
            let a = a.clone();
            let id = id.clone();
            tokio::spawn(async move { a.upload_append(&id, 0, hanging, 1 << 30).await })
        };
        // Wait until some of it is stored, then kill the replica.
        let mut stored = 0;
        for _ in 0..200 {
            stored = b.upload_size(&id).await.unwrap().unwrap_or(0);
            if stored > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(
            stored > 0,
            "the replica stored nothing before it was killed"
        );
        task.abort();
        let _ = task.await;
    }
    assert_eq!(b.stat(&digest).await.unwrap(), None);
    assert!(b.list().await.unwrap().is_empty());
    let resume_at = b.upload_size(&id).await.unwrap().unwrap();
    assert!(resume_at > 0 && resume_at <= 1_200_000, "{resume_at}");
    // A resumed append at a wrong offset is refused.
    assert!(matches!(
        b.upload_append(&id, resume_at + 1, body(vec![vec![0]]), 1 << 30)
            .await,
        Err(berth_store::StoreError::UploadOffset { .. })
    ));
    let rest = bytes[resume_at as usize..].to_vec();
    b.upload_append(&id, resume_at, body(vec![rest]), 1 << 30)
        .await
        .unwrap();
    assert_eq!(
        b.upload_commit(&id, &digest).await.unwrap(),
        CommitOutcome::Committed {
            size: bytes.len() as u64
        }
    );
    assert_eq!(read_all(&b, &digest).await, bytes);
}

/// A presigned URL serves the blob's bytes to a client without credentials, whole or by range.
#[tokio::test]
async fn presigned_urls_serve_the_blob() {
    let store = open(&fresh_url());
    let bytes = content(70_000);
    let digest = Digest::sha256_of(&bytes);
    let id = new_id();
    store.upload_start(&id).await.unwrap();
    store
        .upload_append(&id, 0, body(vec![bytes.clone()]), 1 << 30)
        .await
        .unwrap();
    store.upload_commit(&id, &digest).await.unwrap();
    let url = store
        .redirect_url(&digest, Duration::from_secs(300))
        .await
        .unwrap()
        .unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(url.contains("X-Amz-Expires=300"), "{url}");
    let client = reqwest::Client::new();
    let got = client.get(&url).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap(), bytes);
    let ranged = client
        .get(&url)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.bytes().await.unwrap(), bytes[10..20]);
}
