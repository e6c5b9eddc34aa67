//! Cluster protection's contract: policies per project (unique ids, updates keep their creation
//! time, an unknown project writes nothing), events recorded, paged and counted, status changes
//! and cluster protection modes all or none.
use crate::*;

fn policy(project: &str, id: &str, created_at: i64) -> ProtectionPolicy {
    ProtectionPolicy {
        project_id: project.into(),
        policy_id: id.into(),
        policy_name: format!("name of {id}"),
        template_id: String::new(),
        document: format!("{{\"policy_id\":\"{id}\"}}"),
        created_at,
        updated_at: created_at,
    }
}

fn event(project: &str, id: &str, cluster: &str, action: &str, at: i64) -> ProtectionEvent {
    ProtectionEvent {
        project_id: project.into(),
        event_id: id.into(),
        cluster_id: cluster.into(),
        cluster_name: "prod".into(),
        policy_id: "p1".into(),
        policy_name: "name of p1".into(),
        event_name: "image blocked".into(),
        event_class_id: "cluster-protect".into(),
        event_type: 1001,
        event_content: "CVE-2024-0001".into(),
        action: action.into(),
        handle_status: EVENT_UNHANDLED.into(),
        resource_info: "{\"name\":\"web\"}".into(),
        created_at: at,
        updated_at: at,
    }
}

pub async fn protection_store(store: &dyn MetadataStore) {
    let project = store.ensure_default_instance("default").await.unwrap().id;
    let p = project.as_str();

    // Policies.
    assert!(store.list_protection_policies(p).await.unwrap().is_empty());
    assert!(
        store
            .create_protection_policy(&policy(p, "p2", 20))
            .await
            .unwrap()
    );
    assert!(
        store
            .create_protection_policy(&policy(p, "p1", 10))
            .await
            .unwrap()
    );
    assert!(
        !store
            .create_protection_policy(&policy(p, "p1", 30))
            .await
            .unwrap(),
        "one of an id per project"
    );
    assert!(
        !store
            .create_protection_policy(&policy("no-such-project", "p1", 1))
            .await
            .unwrap(),
        "an unknown project writes nothing"
    );
    assert!(
        store
            .list_protection_policies("no-such-project")
            .await
            .unwrap()
            .is_empty()
    );
    let ids: Vec<String> = store
        .list_protection_policies(p)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.policy_id)
        .collect();
    assert_eq!(ids, ["p1", "p2"], "oldest first");
    let mut changed = policy(p, "p1", 99);
    changed.policy_name = "renamed".into();
    changed.document = "{\"policy_id\":\"p1\",\"v\":2}".into();
    assert!(store.update_protection_policy(&changed).await.unwrap());
    let got = store.get_protection_policy(p, "p1").await.unwrap().unwrap();
    assert_eq!(
        (
            got.policy_name.as_str(),
            got.document.as_str(),
            got.created_at,
            got.updated_at
        ),
        ("renamed", changed.document.as_str(), 10, 99),
        "an update keeps the creation time"
    );
    assert!(
        !store
            .update_protection_policy(&policy(p, "nope", 1))
            .await
            .unwrap()
    );
    assert!(store.delete_protection_policy(p, "p2").await.unwrap());
    assert!(!store.delete_protection_policy(p, "p2").await.unwrap());
    assert!(
        store
            .get_protection_policy(p, "p2")
            .await
            .unwrap()
            .is_none()
    );

    // Events.
    let empty = store.list_protection_events(p, None, 0, 10).await.unwrap();
    assert_eq!((empty.total, empty.items.len()), (0, 0));
    for (id, cluster, action, at) in [
        ("e1", "c-a", "block", 1),
        ("e2", "c-b", "alarm", 2),
        ("e3", "c-a", "block", 3),
    ] {
        assert!(
            store
                .record_protection_event(&event(p, id, cluster, action, at))
                .await
                .unwrap()
        );
    }
    assert!(
        !store
            .record_protection_event(&event(p, "e1", "c-a", "block", 9))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_protection_event(&event("no-such-project", "e9", "c-a", "block", 9))
            .await
            .unwrap()
    );
    let all = store.list_protection_events(p, None, 0, 10).await.unwrap();
    let ids: Vec<&str> = all.items.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(
        (all.total, ids),
        (3, vec!["e3", "e2", "e1"]),
        "newest first"
    );
    assert_eq!(
        all.items[2],
        event(p, "e1", "c-a", "block", 1),
        "stored as given"
    );
    let page = store.list_protection_events(p, None, 1, 1).await.unwrap();
    assert_eq!((page.total, page.items[0].event_id.as_str()), (3, "e2"));
    let past = store.list_protection_events(p, None, 5, 10).await.unwrap();
    assert_eq!((past.total, past.items.len()), (3, 0));
    let of_a = store
        .list_protection_events(p, Some("c-a"), 0, 10)
        .await
        .unwrap();
    assert_eq!(of_a.total, 2);
    assert_eq!(
        store.count_protection_events(p).await.unwrap(),
        ProtectionEventCounts {
            total: 3,
            blocked: 2
        }
    );

    // Status changes: all or none.
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        store
            .set_protection_event_status(p, &ids(&["e1", "nope"]), EVENT_HANDLED, 50)
            .await
            .unwrap(),
        None
    );
    let e1 = store.list_protection_events(p, None, 2, 1).await.unwrap();
    assert_eq!(
        e1.items[0].handle_status, EVENT_UNHANDLED,
        "nothing half-written"
    );
    let done = store
        .set_protection_event_status(p, &ids(&["e2", "e1"]), EVENT_HANDLED, 50)
        .await
        .unwrap()
        .unwrap();
    let got: Vec<(&str, &str, i64)> = done
        .iter()
        .map(|e| (e.event_id.as_str(), e.handle_status.as_str(), e.updated_at))
        .collect();
    assert_eq!(got, [("e2", "handled", 50), ("e1", "handled", 50)]);

    // Cluster protection modes: all or none.
    let cluster = |id: &str| ClusterRecord {
        id: id.into(),
        name: format!("name-{id}"),
        cluster_type: "Kubernetes".into(),
        region: String::new(),
        kubernetes_version: None,
        protection: "unprotected".into(),
        created_at: 1,
    };
    assert!(store.create_cluster(&cluster("cp-1")).await.unwrap());
    assert!(store.create_cluster(&cluster("cp-2")).await.unwrap());
    assert!(
        !store
            .set_cluster_protection(&ids(&["cp-1", "cp-none"]), "protected")
            .await
            .unwrap()
    );
    let c1 = store.get_cluster("cp-1").await.unwrap().unwrap();
    assert_eq!(c1.protection, "unprotected", "nothing half-written");
    assert!(
        store
            .set_cluster_protection(&ids(&["cp-1", "cp-2"]), "protected")
            .await
            .unwrap()
    );
    for id in ["cp-1", "cp-2"] {
        assert_eq!(
            store.get_cluster(id).await.unwrap().unwrap().protection,
            "protected"
        );
    }
    assert!(
        store
            .set_cluster_protection(&[], "protected")
            .await
            .unwrap()
    );
}
