//! The PostgreSQL metadata store against the shared conformance suites, each on a fresh
//! database, and what only several processes can show: notices and leadership between two
//! stores (two pools, as two berth processes), reconnection, and the refusal of a server that
//! is not there.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod pg;

use berth_store::{MetadataStore, PgMetadataStore, RESYNC_TOPIC, conformance};
use pg::TestDb;
use std::time::Duration;

#[tokio::test]
async fn pg_metadata_store_conforms() {
    let db = TestDb::create().await;
    conformance::metadata_store(&db.store().await).await;
}

#[tokio::test]
async fn pg_endpoint_store_conforms() {
    let db = TestDb::create().await;
    conformance::endpoint_store(&db.store().await).await;
}

#[tokio::test]
async fn pg_webhook_store_conforms() {
    let db = TestDb::create().await;
    conformance::webhook_store(&db.store().await).await;
}

#[tokio::test]
async fn pg_job_store_conforms() {
    let db = TestDb::create().await;
    conformance::job_store(&db.store().await).await;
}

#[tokio::test]
async fn pg_api_token_store_conforms() {
    let db = TestDb::create().await;
    conformance::api_token_store(&db.store().await).await;
}

#[tokio::test]
async fn pg_exception_store_conforms() {
    let db = TestDb::create().await;
    conformance::exception_store(&db.store().await).await;
}

#[tokio::test]
async fn pg_foreign_scan_store_conforms() {
    let db = TestDb::create().await;
    conformance::foreign_scan_store(&db.store().await).await;
}

#[tokio::test]
async fn pg_protection_store_conforms() {
    let db = TestDb::create().await;
    conformance::protection_store(&db.store().await).await;
}

#[tokio::test]
async fn pg_console_sessions_are_shared_across_processes() {
    let db = TestDb::create().await;
    let (a, b) = (db.store().await, db.store().await);
    conformance::console_session_store(&a, &b).await;
}

#[tokio::test]
async fn pg_notices_and_leadership_conform_across_processes() {
    let db = TestDb::create().await;
    let (a, b) = (db.store().await, db.store().await);
    conformance::notices_and_leadership(&a, &b).await;
}

#[tokio::test]
async fn stores_opened_together_migrate_once() {
    let db = TestDb::create().await;
    let opened = futures::future::join_all((0..4).map(|_| PgMetadataStore::connect(&db.url))).await;
    for store in opened {
        store.unwrap().ping().await.unwrap();
    }
}

#[tokio::test]
async fn an_unreachable_server_is_named_in_the_error() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://berth@127.0.0.1:{port}/berth");
    let started = std::time::Instant::now();
    let err = PgMetadataStore::connect(&url)
        .await
        .err()
        .expect("no server there");
    let message = err.to_string();
    assert!(
        message.contains(&format!("PostgreSQL at 127.0.0.1:{port}"))
            && message.contains("unreachable"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "fails at once");
}

#[tokio::test]
async fn a_lost_listener_reconnects_and_asks_for_a_resync() {
    let db = TestDb::create().await;
    let (a, b) = (db.store().await, db.store().await);
    let mut rx = b.subscribe_notices();
    // Kill every notice connection on the database, as a server restart or network cut would.
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'berth-notices'",
    )
    .fetch_all(&sqlx::PgPool::connect(&db.url).await.unwrap())
    .await
    .unwrap();
    assert_eq!(killed, vec![true, true], "one listener per store");
    let resync = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = rx.recv().await.unwrap();
            if n.topic == RESYNC_TOPIC {
                return n;
            }
        }
    })
    .await
    .expect("a resync notice after the reconnection");
    assert_eq!(resync.payload, "");
    // And notices flow again.
    a.publish_notice("tags", "after").await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = rx.recv().await.unwrap();
            if n.topic == "tags" {
                return n;
            }
        }
    })
    .await
    .expect("notices delivered after the reconnection");
    assert_eq!(n.payload, "after");
}

#[tokio::test]
async fn a_leader_that_loses_its_connection_loses_the_lead() {
    let db = TestDb::create().await;
    let (a, b) = (db.store().await, db.store().await);
    let mut lead = a.try_lead("gc").await.unwrap().unwrap();
    assert!(b.try_lead("gc").await.unwrap().is_none());
    // The process "dies": its connection is cut; the server releases the lock.
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'berth-leader'",
    )
    .execute(&sqlx::PgPool::connect(&db.url).await.unwrap())
    .await
    .unwrap();
    assert!(!lead.still_held().await);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if b.try_lead("gc").await.unwrap().is_some() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lead never passed on"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the conformance suite does not cover (image listing with sizes and tags, scan pruning,
/// forgetting unlinked blobs), run on SQLite and PostgreSQL: both must answer the same.
async fn uncovered_calls(store: &dyn MetadataStore) -> Vec<String> {
    use berth_oci::Digest;
    use berth_store::*;
    let mut seen = Vec::new();
    let inst = store.ensure_default_instance("default").await.unwrap();
    let (_, repo) = store
        .ensure_repository_path(&inst.id, "lib", "lib/app")
        .await
        .unwrap();
    let config = Digest::sha256_of(b"config");
    let layer = Digest::sha256_of(b"layer");
    store.link_blob(repo.id, &config, 100).await.unwrap();
    store.link_blob(repo.id, &layer, 1000).await.unwrap();
    let blob_ref = |d: &Digest, size| ManifestRef {
        digest: d.clone(),
        kind: RefKind::Blob,
        size,
        media_type: String::new(),
    };
    let image = NewManifest {
        digest: Digest::sha256_of(b"image"),
        media_type: "application/vnd.oci.image.manifest.v1+json".to_string(),
        artifact_type: None,
        content: bytes::Bytes::from_static(b"image"),
        subject: None,
        annotations: None,
        refs: vec![blob_ref(&config, 100), blob_ref(&layer, 1000)],
    };
    let tags = ["v1".to_string(), "latest".to_string()];
    store.put_manifest(repo.id, &image, &tags).await.unwrap();
    let index = NewManifest {
        digest: Digest::sha256_of(b"index"),
        media_type: "application/vnd.oci.image.index.v1+json".to_string(),
        content: bytes::Bytes::from_static(b"index!"),
        refs: vec![ManifestRef {
            digest: image.digest.clone(),
            kind: RefKind::Manifest,
            size: 5,
            media_type: image.media_type.clone(),
        }],
        ..image.clone()
    };
    store
        .put_manifest(repo.id, &index, &["multi".to_string(), "alpha".to_string()])
        .await
        .unwrap();
    let (images, total) = store.list_images(repo.id, None, 0, 10).await.unwrap();
    seen.push(format!("images total {total}"));
    for i in images {
        seen.push(format!("{} size {} tags {:?}", i.digest, i.size, i.tags));
    }
    let (one, total) = store
        .list_images(repo.id, Some(&index.digest), 0, 10)
        .await
        .unwrap();
    seen.push(format!(
        "by digest {total} {:?}",
        one.iter().map(|i| i.size).collect::<Vec<_>>()
    ));

    for round in 0..3 {
        let EnqueueOutcome::Queued(id) = store
            .enqueue_scan(&inst.id, repo.id, &image.digest)
            .await
            .unwrap()
        else {
            panic!("queued");
        };
        store.start_scan(id).await.unwrap().unwrap();
        store
            .finish_scan(
                id,
                ScanStatus::Success,
                Some("{}"),
                None,
                Some(&format!("v{round}")),
            )
            .await
            .unwrap();
    }
    seen.push(format!("pruned {}", store.prune_scans(1).await.unwrap()));
    seen.push(format!(
        "pruned again {}",
        store.prune_scans(1).await.unwrap()
    ));

    let loose = Digest::sha256_of(b"loose");
    store.link_blob(repo.id, &loose, 3).await.unwrap();
    seen.push(format!(
        "linked forgotten {}",
        store.forget_unlinked_blob(&loose).await.unwrap()
    ));
    store.unlink_blob(repo.id, &loose).await.unwrap();
    seen.push(format!(
        "unlinked forgotten {}",
        store.forget_unlinked_blob(&loose).await.unwrap()
    ));
    seen.push(format!(
        "referenced forgotten {}",
        store.forget_unlinked_blob(&layer).await.unwrap()
    ));
    seen.push(format!(
        "tombstones {:?}",
        store
            .tombstones()
            .await
            .unwrap()
            .into_iter()
            .map(|(d, _)| d.to_string())
            .collect::<Vec<_>>()
    ));
    seen
}

#[tokio::test]
async fn pg_answers_as_sqlite_where_the_suite_does_not_look() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = berth_store::SqliteMetadataStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    let expected = uncovered_calls(&sqlite).await;
    let db = TestDb::create().await;
    let got = uncovered_calls(&db.store().await).await;
    assert_eq!(got, expected);
    // And the answers are the right ones, not merely the same.
    assert!(expected.contains(&"pruned 2".to_string()), "{expected:?}");
    assert!(
        expected
            .iter()
            .any(|l| l.contains("size 1111 tags [\"alpha\", \"multi\"]")),
        "{expected:?}"
    );
}
