//! Invariants SQLite keeps by its single writer, held on PostgreSQL by concurrent writers in
//! separate processes: each store below has its own pool, as each berth replica would, and the
//! racing calls are spread over them.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod pg;

use berth_oci::Digest;
use berth_store::*;
use pg::TestDb;
use std::collections::HashSet;
use std::sync::Arc;

/// Three "processes" on one fresh database.
async fn replicas(db: &TestDb) -> Vec<Arc<PgMetadataStore>> {
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(Arc::new(db.store().await));
    }
    stores
}

async fn all<T>(futures: impl IntoIterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    futures::future::join_all(futures)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

#[tokio::test]
async fn first_pushes_into_one_new_namespace_create_it_once() {
    let db = TestDb::create().await;
    let stores = replicas(&db).await;
    let inst = stores[0].ensure_default_instance("default").await.unwrap();
    let results = all((0..12).map(|i| {
        let store = stores[i % stores.len()].clone();
        let inst = inst.id.clone();
        tokio::spawn(async move {
            store
                .ensure_repository_path(&inst, "team", &format!("team/app{i}"))
                .await
        })
    }))
    .await;
    let namespaces: HashSet<i64> = results.iter().map(|r| r.as_ref().unwrap().0.id).collect();
    assert_eq!(namespaces.len(), 1, "every push sees the one namespace");
    let usage = stores[1].instance_usage(&inst.id).await.unwrap();
    assert_eq!((usage.namespaces, usage.repositories), (1, 12));
}

#[tokio::test]
async fn concurrent_pushes_never_exceed_the_quotas() {
    let db = TestDb::create().await;
    let stores = replicas(&db).await;
    let inst = stores[0].ensure_default_instance("default").await.unwrap();
    assert!(stores[0].set_instance_quotas(&inst.id, 3, 5).await.unwrap());

    // Namespaces: twelve first pushes into twelve new namespaces, room for three.
    let results = all((0..12).map(|i| {
        let store = stores[i % stores.len()].clone();
        let inst = inst.id.clone();
        tokio::spawn(async move {
            store
                .ensure_repository_path(&inst, &format!("ns{i}"), &format!("ns{i}/app"))
                .await
        })
    }))
    .await;
    let created = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(created, 3);
    for r in &results {
        if let Err(e) = r {
            assert!(matches!(e, StoreError::QuotaExceeded(_)), "{e}");
        }
    }
    let usage = stores[2].instance_usage(&inst.id).await.unwrap();
    assert_eq!(
        (usage.namespaces, usage.repositories),
        (3, 3),
        "a refused push leaves no namespace behind"
    );

    // Repositories: twelve new ones into an existing namespace, room for two more.
    let ns = results
        .iter()
        .find_map(|r| r.as_ref().ok())
        .unwrap()
        .0
        .clone();
    let results = all((0..12).map(|i| {
        let store = stores[i % stores.len()].clone();
        let (inst, ns) = (inst.id.clone(), ns.clone());
        tokio::spawn(async move {
            store
                .ensure_repository(&inst, ns.id, &format!("{}/more{i}", ns.name))
                .await
        })
    }))
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 2);
    let usage = stores[0].instance_usage(&inst.id).await.unwrap();
    assert_eq!(usage.repositories, 5);

    // And namespaces created through the management API count against the same quota.
    let outcomes = all((0..6).map(|i| {
        let store = stores[i % stores.len()].clone();
        let inst = inst.id.clone();
        tokio::spawn(async move { store.create_namespace(&inst, "racing", false).await })
    }))
    .await;
    for o in outcomes {
        assert!(matches!(o.unwrap(), CreateNamespaceOutcome::QuotaExceeded));
    }
}

#[tokio::test]
async fn concurrent_namespace_creation_by_name_creates_one() {
    let db = TestDb::create().await;
    let stores = replicas(&db).await;
    let inst = stores[0].ensure_default_instance("default").await.unwrap();
    let outcomes = all((0..9).map(|i| {
        let store = stores[i % stores.len()].clone();
        let inst = inst.id.clone();
        tokio::spawn(async move { store.create_namespace(&inst, "shared", true).await })
    }))
    .await;
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(CreateNamespaceOutcome::Created(_))))
        .count();
    let exists = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(CreateNamespaceOutcome::Exists)))
        .count();
    assert_eq!((created, exists), (1, 8));
}

#[tokio::test]
async fn each_job_is_claimed_once_by_concurrent_runners() {
    let db = TestDb::create().await;
    let stores = replicas(&db).await;
    let now = now_millis();
    let mut queued = HashSet::new();
    for i in 0..40 {
        let job = NewJob {
            kind: "work".to_string(),
            payload: i.to_string(),
            dedupe_key: None,
            max_attempts: 3,
            due_at: now - 1,
        };
        let JobEnqueued::Queued(id) = stores[i % 3].enqueue_job(&job).await.unwrap() else {
            panic!("queued");
        };
        queued.insert(id);
    }
    // Twelve runners, four per process, claim until nothing is left.
    let claims = all((0..12).map(|r| {
        let store = stores[r % stores.len()].clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(c) = store
                .claim_job(&["work"], now_millis(), now_millis() + 60_000)
                .await
                .unwrap()
            {
                assert!(store.complete_job(c.job.id, c.held_until).await.unwrap());
                mine.push(c.job.id);
            }
            mine
        })
    }))
    .await;
    let claimed: Vec<i64> = claims.into_iter().flatten().collect();
    let distinct: HashSet<i64> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), distinct.len(), "a job was claimed twice");
    assert_eq!(distinct, queued);
}

#[tokio::test]
async fn concurrent_enqueues_with_one_dedupe_key_queue_one_job() {
    let db = TestDb::create().await;
    let stores = replicas(&db).await;
    for round in 0..5 {
        let outcomes = all((0..9).map(|i| {
            let store = stores[i % stores.len()].clone();
            tokio::spawn(async move {
                store
                    .enqueue_job(&NewJob {
                        kind: "rescan".to_string(),
                        payload: i.to_string(),
                        dedupe_key: Some(format!("db-update-{round}")),
                        max_attempts: 1,
                        due_at: now_millis(),
                    })
                    .await
                    .unwrap()
            })
        }))
        .await;
        let queued: Vec<i64> = outcomes
            .iter()
            .filter_map(|o| match o {
                JobEnqueued::Queued(id) => Some(*id),
                JobEnqueued::Duplicate(_) => None,
            })
            .collect();
        assert_eq!(queued.len(), 1, "{outcomes:?}");
        for o in &outcomes {
            if let JobEnqueued::Duplicate(id) = o {
                assert_eq!(*id, queued[0]);
            }
        }
    }
}

fn manifest(content: &str, refs: Vec<ManifestRef>) -> NewManifest {
    NewManifest {
        digest: Digest::sha256_of(content.as_bytes()),
        media_type: "application/vnd.oci.image.manifest.v1+json".to_string(),
        artifact_type: None,
        content: bytes::Bytes::from(content.to_string()),
        subject: None,
        annotations: None,
        refs,
    }
}

#[tokio::test]
async fn a_manifest_and_gc_racing_for_a_blob_never_leave_a_dangling_reference() {
    let db = TestDb::create().await;
    let stores = replicas(&db).await;
    let inst = stores[0].ensure_default_instance("default").await.unwrap();
    let (_, repo) = stores[0]
        .ensure_repository_path(&inst.id, "lib", "lib/app")
        .await
        .unwrap();
    for i in 0..20 {
        let blob = Digest::sha256_of(format!("layer {i}").as_bytes());
        stores[0].link_blob(repo.id, &blob, 7).await.unwrap();
        let m = manifest(
            &format!("manifest {i}"),
            vec![ManifestRef {
                digest: blob.clone(),
                kind: RefKind::Blob,
                size: 7,
                media_type: String::new(),
            }],
        );
        // The link is younger than `before` only by the clock: GC may take the blob.
        let before = now_millis() + 60_000;
        let (pusher, collector) = (stores[1].clone(), stores[2].clone());
        let b = blob.clone();
        let push = tokio::spawn(async move { pusher.put_manifest(repo.id, &m, &[]).await });
        let gc = tokio::spawn(async move {
            collector.unlink_blob(repo.id, &b).await.unwrap();
            collector.gc_forget_blob(&b, before).await
        });
        let (pushed, forgot) = (push.await.unwrap(), gc.await.unwrap().unwrap());
        let known = stores[0].blob_known(&blob).await.unwrap();
        match pushed {
            Ok(PutManifestOutcome::Stored) => {
                assert!(
                    !forgot && known,
                    "round {i}: a stored manifest's blob was forgotten"
                );
            }
            Ok(PutManifestOutcome::MissingBlob(_)) => {}
            other => panic!("round {i}: {other:?}"),
        }
        if forgot {
            assert!(!known);
            stores[0].clear_tombstone(&blob).await.unwrap();
        }
    }
}

#[tokio::test]
async fn concurrent_tag_moves_and_an_immutability_switch_agree() {
    let db = TestDb::create().await;
    let stores = replicas(&db).await;
    let inst = stores[0].ensure_default_instance("default").await.unwrap();
    let (_, repo) = stores[0]
        .ensure_repository_path(&inst.id, "lib", "lib/tags")
        .await
        .unwrap();
    let tag = vec!["latest".to_string()];
    let first = manifest("v0", vec![]);
    stores[0].put_manifest(repo.id, &first, &tag).await.unwrap();
    // Pushes of new digests to `latest` race with switching immutability on: every push that
    // succeeded did so before the switch, so the tag names the last of them (or v0).
    let handles: Vec<_> = (1..=9)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            let tag = tag.clone();
            tokio::spawn(async move {
                let m = manifest(&format!("v{i}"), vec![]);
                (
                    m.digest.clone(),
                    store.put_manifest(repo.id, &m, &tag).await,
                )
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert!(
        stores[0]
            .set_repository_tag_immutable(repo.id, true)
            .await
            .unwrap()
    );
    let pushes = all(handles).await;
    let stored: Vec<&Digest> = pushes
        .iter()
        .filter_map(|(d, r)| matches!(r, Ok(PutManifestOutcome::Stored)).then_some(d))
        .collect();
    for (_, r) in &pushes {
        assert!(
            matches!(
                r,
                Ok(PutManifestOutcome::Stored) | Err(StoreError::TagImmutable { .. })
            ),
            "{r:?}"
        );
    }
    let now = stores[1]
        .manifest_meta(repo.id, &ManifestSelector::Tag("latest".to_string()))
        .await
        .unwrap()
        .unwrap()
        .digest;
    assert!(now == first.digest || stored.contains(&&now));
    // Once on, nothing moves it.
    let late = manifest("late", vec![]);
    assert!(matches!(
        stores[2].put_manifest(repo.id, &late, &tag).await,
        Err(StoreError::TagImmutable { .. })
    ));
    assert!(
        stores[2]
            .manifest_meta(repo.id, &ManifestSelector::Digest(late.digest))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn replicas_starting_together_agree_on_the_default_instance_and_settings() {
    let db = TestDb::create().await;
    let stores = replicas(&db).await;
    let results = all((0..9).map(|i| {
        let store = stores[i % stores.len()].clone();
        tokio::spawn(async move {
            let inst = store.ensure_default_instance("default").await.unwrap();
            let secret = store
                .init_setting("token_secret", &format!("secret-{i}"))
                .await
                .unwrap();
            (inst.id, secret)
        })
    }))
    .await;
    let distinct: HashSet<&(String, String)> = results.iter().collect();
    assert_eq!(distinct.len(), 1, "{results:?}");
}
