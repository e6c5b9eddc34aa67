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
