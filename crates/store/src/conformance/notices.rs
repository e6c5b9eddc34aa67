//! Notices and leadership between holders of one store: `a` and `b` are two stores on the same
//! database (two processes' for PostgreSQL; for SQLite, owned by one process, the same store).
use crate::*;
use std::time::Duration;
use tokio::sync::broadcast::Receiver;

/// How long a notice or a released lead may take to arrive (a server round trip in practice).
const PATIENCE: Duration = Duration::from_secs(10);

/// The next notice on `topic`, skipping others (a resync, another test's job).
async fn next_on(rx: &mut Receiver<Notice>, topic: &str) -> Notice {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(n) if n.topic == topic => return n,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("notice channel closed: {e}"),
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .unwrap_or_else(|_| panic!("no notice on {topic:?} within {PATIENCE:?}"))
}

pub async fn notices_and_leadership(a: &dyn MetadataStore, b: &dyn MetadataStore) {
    let mut on_a = a.subscribe_notices();
    let mut on_b = b.subscribe_notices();
    let mut second_on_b = b.subscribe_notices();

    // A notice reaches every subscriber, the publisher's own included, in order.
    a.publish_notice("tags", "repo-1").await.unwrap();
    a.publish_notice("tags", "repo-2").await.unwrap();
    for rx in [&mut on_b, &mut second_on_b, &mut on_a] {
        assert_eq!(next_on(rx, "tags").await.payload, "repo-1");
        assert_eq!(next_on(rx, "tags").await.payload, "repo-2");
    }
    // Payloads are text of any kind within the limit.
    let odd = "quotes \" and \\ backslashes, newlines\n, unicode é, and {json}";
    b.publish_notice("odd", odd).await.unwrap();
    assert_eq!(next_on(&mut on_a, "odd").await.payload, odd);

    // Too large for NOTIFY, or without a topic: refused, on every backend.
    let big = "x".repeat(MAX_NOTICE_BYTES);
    assert!(matches!(
        a.publish_notice("big", &big).await,
        Err(StoreError::TooLarge(_))
    ));
    assert!(a.publish_notice("", "x").await.is_err());

    // A queued job is announced (after its commit) with its kind; a duplicate is not.
    let kind = format!("notice-test-{}", uuid::Uuid::new_v4().simple());
    let job = NewJob {
        kind: kind.clone(),
        payload: "p".to_string(),
        dedupe_key: Some("k".to_string()),
        max_attempts: 1,
        due_at: now_millis(),
    };
    let JobEnqueued::Queued(id) = b.enqueue_job(&job).await.unwrap() else {
        panic!("queued");
    };
    let n = next_on(&mut on_a, JOBS_TOPIC).await;
    assert_eq!(n.payload, kind);
    assert!(
        a.get_job(id).await.unwrap().is_some(),
        "announced after commit"
    );
    assert_eq!(
        a.enqueue_job(&job).await.unwrap(),
        JobEnqueued::Duplicate(id)
    );

    // Leadership: one of two contenders leads, per role, until its guard drops.
    let role = format!("gc-{}", uuid::Uuid::new_v4().simple());
    let mut lead = a
        .try_lead(&role)
        .await
        .unwrap()
        .expect("the first contender leads");
    assert_eq!(lead.role(), role);
    assert!(lead.still_held().await);
    assert!(b.try_lead(&role).await.unwrap().is_none());
    assert!(
        a.try_lead(&role).await.unwrap().is_none(),
        "one lead per role"
    );
    let other_role = format!("{role}-other");
    let other = b.try_lead(&other_role).await.unwrap();
    assert!(other.is_some(), "roles are independent");
    drop(lead);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let next = loop {
        if let Some(next) = b.try_lead(&role).await.unwrap() {
            break next;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lead did not pass on within {PATIENCE:?} of its guard's drop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(a.try_lead(&role).await.unwrap().is_none());
    drop(next);
    drop(other);

    // A replay key is claimed once across both; an expired one can be claimed again.
    let key = format!("conformance/{}", uuid::Uuid::new_v4());
    let later = crate::now_millis() + 60_000;
    assert!(a.claim_nonce(&key, later).await.unwrap());
    assert!(!b.claim_nonce(&key, later).await.unwrap());
    assert!(!a.claim_nonce(&key, later).await.unwrap());
    let gone = format!("conformance/{}", uuid::Uuid::new_v4());
    assert!(a.claim_nonce(&gone, crate::now_millis() - 1).await.unwrap());
    assert!(b.claim_nonce(&gone, later).await.unwrap());
    assert!(!a.claim_nonce(&gone, later).await.unwrap());
}
