//! The exception store's contract: a batch is created whole or not at all, listing keeps
//! creation order and keeps revoked and expired exceptions (the audit trail), the active set
//! leaves both out, and a revocation happens once and sticks.
use crate::*;

fn exception(id: &str, created_at: i64, expires_at: i64) -> ExceptionRecord {
    ExceptionRecord {
        id: id.to_string(),
        cluster_id: None,
        namespace: Some("prod".into()),
        image: Some("team/app".into()),
        package: Some("openssl".into()),
        vulnerability: Some("CVE-2024-0001".into()),
        reason: "not reachable".into(),
        author: "AK1".into(),
        source: "api".into(),
        created_at,
        expires_at,
        revoked_at: None,
        revoked_by: None,
    }
}

/// The scan cache's contract: one row per digest, the newest outcome replacing the older one,
/// lookups by any set of digests.
pub async fn foreign_scan_store(store: &dyn MetadataStore) {
    let d = |c: char| -> berth_oci::Digest {
        format!("sha256:{}", c.to_string().repeat(64))
            .parse()
            .unwrap()
    };
    assert_eq!(store.foreign_scans(&[d('a')]).await.unwrap(), Vec::new());
    let failed = ForeignScanRecord {
        digest: d('a'),
        reference: "registry.test/x@sha256:aa".into(),
        report: None,
        error: Some("unreachable".into()),
        db_version: None,
        finished_at: 1,
    };
    store.record_foreign_scan(&failed).await.unwrap();
    let ok = ForeignScanRecord {
        report: Some("{}".into()),
        error: None,
        db_version: Some("v1".into()),
        finished_at: 2,
        ..failed.clone()
    };
    store.record_foreign_scan(&ok).await.unwrap();
    let other = ForeignScanRecord {
        digest: d('b'),
        ..failed.clone()
    };
    store.record_foreign_scan(&other).await.unwrap();
    assert_eq!(
        store.foreign_scans(&[d('a')]).await.unwrap(),
        vec![ok.clone()]
    );
    assert_eq!(
        store
            .foreign_scans(&[d('b'), d('a'), d('c')])
            .await
            .unwrap(),
        vec![ok.clone(), other]
    );
    // Only successful scans of another database version are re-matched, in digest order.
    assert_eq!(
        store.foreign_scans_to_rematch("v2", "", 10).await.unwrap(),
        vec![ok.clone()]
    );
    assert_eq!(
        store.foreign_scans_to_rematch("v1", "", 10).await.unwrap(),
        Vec::new()
    );
    let after = ok.digest.to_string();
    assert_eq!(
        store
            .foreign_scans_to_rematch("v2", &after, 10)
            .await
            .unwrap(),
        Vec::new()
    );
}

pub async fn exception_store(store: &dyn MetadataStore) {
    assert_eq!(store.list_exceptions().await.unwrap(), Vec::new());
    let a = exception("ex-a", 1_000, 100);
    let mut b = exception("ex-b", 2_000, 500);
    b.cluster_id = Some("c1".into());
    b.namespace = None;
    assert!(
        store
            .create_exceptions(&[a.clone(), b.clone()])
            .await
            .unwrap()
    );
    assert_eq!(
        store.list_exceptions().await.unwrap(),
        vec![a.clone(), b.clone()]
    );

    // A batch with one taken id writes none of its members.
    let c = exception("ex-c", 3_000, 900);
    assert!(
        !store
            .create_exceptions(&[c.clone(), a.clone()])
            .await
            .unwrap()
    );
    assert_eq!(store.list_exceptions().await.unwrap().len(), 2);

    // Active: not expired at `now` (the expiry second itself is out), not revoked.
    assert_eq!(
        store.active_exceptions(50).await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(store.active_exceptions(100).await.unwrap(), vec![b.clone()]);
    assert_eq!(store.count_active_exceptions(100).await.unwrap(), 1);

    assert!(store.revoke_exception("ex-b", "AK2").await.unwrap());
    assert!(
        !store.revoke_exception("ex-b", "AK3").await.unwrap(),
        "once"
    );
    assert!(!store.revoke_exception("ex-none", "AK3").await.unwrap());
    assert_eq!(store.active_exceptions(50).await.unwrap(), vec![a.clone()]);
    assert_eq!(store.count_active_exceptions(50).await.unwrap(), 1);
    let listed = store.list_exceptions().await.unwrap();
    assert_eq!(listed.len(), 2, "revoked exceptions stay listed");
    assert_eq!(listed[1].revoked_by.as_deref(), Some("AK2"));
    assert!(listed[1].revoked_at.is_some());
    assert!(
        store
            .create_exceptions(std::slice::from_ref(&c))
            .await
            .unwrap()
    );
    assert_eq!(store.list_exceptions().await.unwrap()[2], c);
}
