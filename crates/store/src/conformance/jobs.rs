//! The job queue's contract: claims, leases as claim tokens, retries, abandonment, dedupe, and
//! a scan record queued with its job.
use crate::*;

fn job(kind: &str, payload: &str, due_at: i64) -> NewJob {
    NewJob {
        kind: kind.to_string(),
        payload: payload.to_string(),
        dedupe_key: None,
        max_attempts: 2,
        due_at,
    }
}

pub async fn job_store(store: &dyn MetadataStore) {
    let now = now_millis();
    // Nothing to claim, and no kinds claims nothing.
    assert_eq!(
        store.claim_job(&["k"], now, now + 1000).await.unwrap(),
        None
    );
    let JobEnqueued::Queued(later) = store
        .enqueue_job(&job("k", "later", now + 60_000))
        .await
        .unwrap()
    else {
        panic!("queued");
    };
    let JobEnqueued::Queued(first) = store
        .enqueue_job(&job("k", "first", now - 10))
        .await
        .unwrap()
    else {
        panic!("queued");
    };
    store
        .enqueue_job(&job("other", "x", now - 20))
        .await
        .unwrap();
    assert_eq!(store.claim_job(&[], now, now + 1000).await.unwrap(), None);
    assert_eq!(store.next_job_due(&["k"]).await.unwrap(), Some(now - 10));
    assert_eq!(store.next_job_due(&["none"]).await.unwrap(), None);
    assert_eq!(store.next_job_due(&[]).await.unwrap(), None);

    // The due job of the asked kinds, not the one due later nor another kind's.
    let c = store
        .claim_job(&["k"], now, now + 1000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.job.id, c.job.payload.as_str()), (first, "first"));
    assert_eq!(
        (c.job.state, c.job.attempts, c.held_until),
        (JobState::Running, 1, now + 1000)
    );
    assert!(!c.abandoned());
    assert_eq!(
        store.claim_job(&["k"], now, now + 1000).await.unwrap(),
        None
    );
    // Next: the running job's lease end (before the later queued one).
    assert_eq!(store.next_job_due(&["k"]).await.unwrap(), Some(now + 1001));

    // The lease is the claim token: a wrong one changes nothing; renewing moves it.
    assert!(!store.renew_job(first, now + 999, now + 2000).await.unwrap());
    assert!(
        store
            .renew_job(first, now + 1000, now + 2000)
            .await
            .unwrap()
    );
    assert!(!store.complete_job(first, now + 1000).await.unwrap());
    // Retried: queued again with the error, due when asked.
    assert!(
        store
            .retry_job(first, now + 2000, now + 5000, "boom")
            .await
            .unwrap()
    );
    let j = store.get_job(first).await.unwrap().unwrap();
    assert_eq!(
        (j.state, j.due_at, j.last_error.as_deref()),
        (JobState::Queued, now + 5000, Some("boom"))
    );
    assert_eq!(
        store.claim_job(&["k"], now, now + 1000).await.unwrap(),
        None
    );
    let c = store
        .claim_job(&["k"], now + 5000, now + 6000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.job.id, c.job.attempts), (first, 2));

    // Its runner dies: once the lease ends another claim takes it, and with its attempts
    // spent it comes out abandoned; the dead runner's token no longer works.
    assert_eq!(
        store
            .claim_job(&["k"], now + 6000, now + 7000)
            .await
            .unwrap(),
        None
    );
    let c2 = store
        .claim_job(&["k"], now + 6001, now + 8000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c2.job.id, c2.job.attempts), (first, 3));
    assert!(c2.abandoned());
    assert!(!store.complete_job(first, now + 6000).await.unwrap());
    assert!(
        store
            .bury_job(first, now + 8000, "abandoned")
            .await
            .unwrap()
    );
    let j = store.get_job(first).await.unwrap().unwrap();
    assert_eq!((j.state, j.lease_until), (JobState::Dead, None));
    // A dead job is never claimed again.
    assert_eq!(
        store
            .claim_job(&["k"], now + 50_000, now + 51_000)
            .await
            .unwrap(),
        None
    );

    // Completing deletes.
    let c = store
        .claim_job(&["k"], now + 60_000, now + 61_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.job.id, later);
    assert!(store.complete_job(later, now + 61_000).await.unwrap());
    assert_eq!(store.get_job(later).await.unwrap(), None);

    // Dedupe: one unfinished job per kind and key; a finished one frees the key.
    let keyed = NewJob {
        dedupe_key: Some("gc".into()),
        ..job("gc", "", now)
    };
    let JobEnqueued::Queued(g) = store.enqueue_job(&keyed).await.unwrap() else {
        panic!("queued");
    };
    assert_eq!(
        store.enqueue_job(&keyed).await.unwrap(),
        JobEnqueued::Duplicate(g)
    );
    let c = store
        .claim_job(&["gc"], now, now + 100)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.enqueue_job(&keyed).await.unwrap(),
        JobEnqueued::Duplicate(g)
    );
    assert!(store.complete_job(c.job.id, c.held_until).await.unwrap());
    assert!(matches!(store.enqueue_job(&keyed).await.unwrap(), JobEnqueued::Queued(n) if n != g));
    assert_eq!(store.list_jobs("gc", 10).await.unwrap().len(), 1);

    // Dead jobs are pruned beyond the newest `keep`.
    for i in 0..3 {
        store
            .enqueue_job(&job("doomed", &i.to_string(), now))
            .await
            .unwrap();
        let c = store
            .claim_job(&["doomed"], now, now + 1)
            .await
            .unwrap()
            .unwrap();
        assert!(store.bury_job(c.job.id, c.held_until, "no").await.unwrap());
    }
    // `first` and the three doomed ones are dead: keep the newest two.
    assert_eq!(store.prune_dead_jobs(2).await.unwrap(), 2);
    assert_eq!(store.prune_dead_jobs(2).await.unwrap(), 0);
    assert_eq!(store.list_jobs("doomed", 10).await.unwrap().len(), 2);

    // A scan record is queued with its job, whose payload is the record's id; starting and
    // finishing move the record; an abandoned job may fail a scan that never started.
    let inst = store.ensure_default_instance("default").await.unwrap();
    let ns = store.ensure_namespace(&inst.id, "jobs").await.unwrap();
    let repo = store
        .ensure_repository(&inst.id, ns.id, "jobs/app")
        .await
        .unwrap();
    let digest = berth_oci::Digest::sha256_of(b"scanned");
    let EnqueueOutcome::Queued(scan) = store
        .enqueue_scan(&inst.id, repo.id, &digest)
        .await
        .unwrap()
    else {
        panic!("queued");
    };
    let c = store
        .claim_job(&[SCAN_JOB], now_millis(), now_millis() + 1000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.job.payload, scan.to_string());
    assert_eq!(c.job.max_attempts, 1);
    let started = store.start_scan(scan).await.unwrap().unwrap();
    assert_eq!(
        (started.status, started.attempts),
        (ScanStatus::Scanning, 1)
    );
    assert_eq!(store.start_scan(scan).await.unwrap(), None, "started once");
    store
        .finish_scan(
            scan,
            ScanStatus::Success,
            Some("{\"v\":1}"),
            None,
            Some("db1"),
        )
        .await
        .unwrap();

    // A database update re-matches the newest successful scan of each image matched against
    // another database, as a new scan of the image.
    let due = store.scans_to_rematch("db2", 0, 10).await.unwrap();
    assert_eq!(due.iter().map(|s| s.id).collect::<Vec<_>>(), vec![scan]);
    assert!(
        store
            .scans_to_rematch("db1", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .scans_to_rematch("db2", scan, 10)
            .await
            .unwrap()
            .is_empty(),
        "paged by id"
    );
    let rematched = store
        .record_rematch(scan, "{\"v\":2}", "db2")
        .await
        .unwrap()
        .unwrap();
    let latest = store.latest_scan(repo.id, &digest).await.unwrap().unwrap();
    assert_eq!(
        (
            latest.id,
            latest.status,
            latest.db_version.as_deref(),
            latest.result.as_deref()
        ),
        (
            rematched,
            ScanStatus::Success,
            Some("db2"),
            Some("{\"v\":2}")
        )
    );
    assert!(
        store
            .scans_to_rematch("db2", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.record_rematch(scan, "{}", "db3").await.unwrap(),
        None,
        "never over a newer scan of the image"
    );
    assert_eq!(store.record_rematch(-1, "{}", "db3").await.unwrap(), None);
    let other = berth_oci::Digest::sha256_of(b"never started");
    let EnqueueOutcome::Queued(unstarted) =
        store.enqueue_scan(&inst.id, repo.id, &other).await.unwrap()
    else {
        panic!("queued");
    };
    store
        .finish_scan(
            unstarted,
            ScanStatus::Failed,
            None,
            Some("interrupted"),
            None,
        )
        .await
        .unwrap();
    let s = store.latest_scan(repo.id, &other).await.unwrap().unwrap();
    assert_eq!(
        (s.status, s.error.as_deref()),
        (ScanStatus::Failed, Some("interrupted"))
    );
    // A finished scan is not overwritten.
    store
        .finish_scan(unstarted, ScanStatus::Success, Some("{}"), None, None)
        .await
        .unwrap();
    let s = store.latest_scan(repo.id, &other).await.unwrap().unwrap();
    assert_eq!(s.status, ScanStatus::Failed);
}
