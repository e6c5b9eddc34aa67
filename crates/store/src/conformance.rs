//! The one conformance suite every backend must pass (distribution's storage-driver pattern).
//! A backend's tests call [`blob_store`] and [`metadata_store`] with a fresh, empty store.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::*;
use berth_oci::{Algorithm, Digest};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};

mod api_tokens;
mod console_sessions;
mod exceptions;
mod jobs;
mod notices;
pub use api_tokens::api_token_store;
pub use console_sessions::console_session_store;
pub use exceptions::{exception_store, foreign_scan_store};
pub use notices::notices_and_leadership;
mod protection;
pub use jobs::job_store;
pub use protection::protection_store;

fn body(chunks: &[&[u8]]) -> BlobStream {
    let owned: Vec<std::io::Result<Bytes>> = chunks
        .iter()
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(owned).boxed()
}

async fn read_all(s: BlobStream) -> Vec<u8> {
    let chunks: Vec<Bytes> = s.try_collect().await.unwrap();
    chunks.concat()
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Uploads, commits with verification, reads, ranges, deletes, listing.
pub async fn blob_store(store: &dyn BlobStore) {
    let content = b"hello, blob store".to_vec();
    let digest = Digest::sha256_of(&content);
    assert_eq!(store.stat(&digest).await.unwrap(), None);
    assert!(store.read(&digest, None).await.unwrap().is_none());

    // Chunked upload: offsets must line up.
    let id = new_id();
    store.upload_start(&id).await.unwrap();
    assert_eq!(store.upload_size(&id).await.unwrap(), Some(0));
    let n = store
        .upload_append(&id, 0, body(&[&content[..5]]), 1 << 20)
        .await
        .unwrap();
    assert_eq!(n, 5);
    let wrong = store
        .upload_append(&id, 3, body(&[&content[5..]]), 1 << 20)
        .await;
    assert!(matches!(
        wrong,
        Err(StoreError::UploadOffset {
            expected: 5,
            got: 3
        })
    ));
    let n = store
        .upload_append(&id, 5, body(&[&content[5..9], &content[9..]]), 1 << 20)
        .await
        .unwrap();
    assert_eq!(n, content.len() as u64);
    assert_eq!(
        store.upload_commit(&id, &digest).await.unwrap(),
        CommitOutcome::Committed {
            size: content.len() as u64
        }
    );
    // The upload keeps its bytes until cancelled: a blob deleted meanwhile can be committed again.
    assert_eq!(
        store.upload_size(&id).await.unwrap(),
        Some(content.len() as u64)
    );
    assert_eq!(
        store.stat(&digest).await.unwrap(),
        Some(content.len() as u64)
    );
    // A committed upload takes no more bytes: they would change the stored blob.
    assert!(
        store
            .upload_append(&id, content.len() as u64, body(&[b"more"]), 1 << 20)
            .await
            .is_err()
    );
    assert_eq!(
        read_all(store.read(&digest, None).await.unwrap().unwrap()).await,
        content
    );
    assert!(store.delete(&digest).await.unwrap());
    assert_eq!(store.stat(&digest).await.unwrap(), None);
    assert_eq!(
        store.upload_commit(&id, &digest).await.unwrap(),
        CommitOutcome::Committed {
            size: content.len() as u64
        }
    );
    store.upload_cancel(&id).await.unwrap();
    assert_eq!(store.upload_size(&id).await.unwrap(), None);
    assert_eq!(
        store.stat(&digest).await.unwrap(),
        Some(content.len() as u64)
    );
    assert_eq!(
        read_all(store.read(&digest, None).await.unwrap().unwrap()).await,
        content
    );
    assert_eq!(
        read_all(store.read(&digest, Some(2..7)).await.unwrap().unwrap()).await,
        content[2..7]
    );

    // A body that fails midway keeps what arrived, and the hash stays consistent.
    let id = new_id();
    store.upload_start(&id).await.unwrap();
    let failing: BlobStream = stream::iter(vec![
        Ok(Bytes::from_static(b"hello, ")),
        Err(std::io::Error::other("client went away")),
    ])
    .boxed();
    assert!(store.upload_append(&id, 0, failing, 1 << 20).await.is_err());
    assert_eq!(store.upload_size(&id).await.unwrap(), Some(7));
    store
        .upload_append(&id, 7, body(&[&content[7..]]), 1 << 20)
        .await
        .unwrap();
    assert_eq!(
        store.upload_commit(&id, &digest).await.unwrap(),
        CommitOutcome::Committed {
            size: content.len() as u64
        }
    );

    // Wrong digest: nothing is stored under either digest, the upload is gone.
    let id = new_id();
    store.upload_start(&id).await.unwrap();
    store
        .upload_append(&id, 0, body(&[b"other"]), 1 << 20)
        .await
        .unwrap();
    let claimed = Digest::sha256_of(b"not other");
    match store.upload_commit(&id, &claimed).await.unwrap() {
        CommitOutcome::DigestMismatch { actual } => assert_eq!(actual, Digest::sha256_of(b"other")),
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert_eq!(store.stat(&claimed).await.unwrap(), None);
    assert_eq!(
        store.stat(&Digest::sha256_of(b"other")).await.unwrap(),
        None
    );
    assert_eq!(store.upload_size(&id).await.unwrap(), None);

    // Truncation undoes an append (a chunk longer than declared); resuming and the digest stay
    // right, whether the hash is rolled back or rebuilt.
    let id = new_id();
    store.upload_start(&id).await.unwrap();
    store
        .upload_append(&id, 0, body(&[&content[..5]]), 1 << 20)
        .await
        .unwrap();
    store
        .upload_append(&id, 5, body(&[b"0123", b"456789"]), 1 << 20)
        .await
        .unwrap();
    store.upload_truncate(&id, 5).await.unwrap();
    assert_eq!(store.upload_size(&id).await.unwrap(), Some(5));
    assert!(matches!(
        store.upload_truncate(&id, 6).await,
        Err(StoreError::UploadOffset {
            expected: 5,
            got: 6
        })
    ));
    store.upload_truncate(&id, 5).await.unwrap();
    store
        .upload_append(&id, 5, body(&[b"xyz"]), 1 << 20)
        .await
        .unwrap();
    // Further back than the last append: the hash is rebuilt from the bytes.
    store.upload_truncate(&id, 3).await.unwrap();
    store
        .upload_append(&id, 3, body(&[&content[3..]]), 1 << 20)
        .await
        .unwrap();
    assert_eq!(
        store.upload_commit(&id, &digest).await.unwrap(),
        CommitOutcome::Committed {
            size: content.len() as u64
        }
    );
    store.upload_cancel(&id).await.unwrap();
    let id = new_id();
    store.upload_start(&id).await.unwrap();
    store
        .upload_append(&id, 0, body(&[b"junk"]), 1 << 20)
        .await
        .unwrap();
    store.upload_truncate(&id, 0).await.unwrap();
    store
        .upload_append(&id, 0, body(&[&content]), 1 << 20)
        .await
        .unwrap();
    assert_eq!(
        store.upload_commit(&id, &digest).await.unwrap(),
        CommitOutcome::Committed {
            size: content.len() as u64
        }
    );
    store.upload_cancel(&id).await.unwrap();
    assert!(matches!(
        store.upload_truncate(&new_id(), 0).await,
        Err(StoreError::UploadUnknown(_))
    ));

    // Size limit.
    let id = new_id();
    store.upload_start(&id).await.unwrap();
    assert!(matches!(
        store.upload_append(&id, 0, body(&[b"0123456789"]), 4).await,
        Err(StoreError::TooLarge(_))
    ));
    store.upload_cancel(&id).await.unwrap();

    // sha512 and zero-byte blobs.
    let id = new_id();
    store.upload_start(&id).await.unwrap();
    store
        .upload_append(&id, 0, body(&[b"abc"]), 1 << 20)
        .await
        .unwrap();
    let d512 = Digest::of(Algorithm::Sha512, b"abc");
    assert_eq!(
        store.upload_commit(&id, &d512).await.unwrap(),
        CommitOutcome::Committed { size: 3 }
    );
    let id = new_id();
    store.upload_start(&id).await.unwrap();
    let empty = Digest::sha256_of(b"");
    assert_eq!(
        store.upload_commit(&id, &empty).await.unwrap(),
        CommitOutcome::Committed { size: 0 }
    );
    assert_eq!(store.stat(&empty).await.unwrap(), Some(0));

    // Unknown uploads and ids that are not UUIDs.
    assert!(matches!(
        store.upload_append("../../etc", 0, body(&[b"x"]), 10).await,
        Err(StoreError::UploadUnknown(_))
    ));
    assert_eq!(store.upload_size(&new_id()).await.unwrap(), None);
    store.upload_cancel(&new_id()).await.unwrap();

    let mut listed: Vec<Digest> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    listed.sort();
    let recent = now_millis() - 60_000;
    assert!(store.list().await.unwrap().iter().all(|(_, t)| *t > recent));
    let mut want = vec![digest.clone(), d512.clone(), empty.clone()];
    want.sort();
    assert_eq!(listed, want);
    assert!(store.used_bytes().await.unwrap() >= content.len() as u64 + 3);
    assert!(store.delete(&digest).await.unwrap());
    assert!(!store.delete(&digest).await.unwrap());
    assert_eq!(store.stat(&digest).await.unwrap(), None);
}

fn manifest(content: &str, refs: Vec<ManifestRef>, subject: Option<Digest>) -> NewManifest {
    NewManifest {
        digest: Digest::sha256_of(content.as_bytes()),
        media_type: berth_oci::media_types::OCI_MANIFEST.to_string(),
        artifact_type: Some("application/example".into()),
        content: Bytes::copy_from_slice(content.as_bytes()),
        subject,
        annotations: Some(r#"{"a":"b"}"#.into()),
        refs,
    }
}

fn blob_ref(d: &Digest, size: u64) -> ManifestRef {
    ManifestRef {
        digest: d.clone(),
        kind: RefKind::Blob,
        size,
        media_type: String::new(),
    }
}

/// Instances, namespaces, repositories, blob links, manifests, tags, referrers, GC, users.
pub async fn metadata_store(store: &dyn MetadataStore) {
    store.ping().await.unwrap();
    let inst = store.ensure_default_instance("default").await.unwrap();
    assert_eq!(store.ensure_default_instance("other").await.unwrap(), inst);
    assert_eq!(
        store.get_instance(&inst.id).await.unwrap(),
        Some(inst.clone())
    );
    assert_eq!(inst.status, InstanceStatus::Running);

    // Status changes are compare-and-set: a late start-up step does not undo a delete.
    let tenant = NewInstance {
        id: "tenant-1".into(),
        name: "tenant".into(),
        instance_type: "basic".into(),
        charge_type: "HourlyInstantSettlement".into(),
        project_id: "0".into(),
        expires_at: None,
    };
    assert!(store.create_instance(&tenant).await.unwrap());
    assert!(
        !store.create_instance(&tenant).await.unwrap(),
        "one of a name"
    );
    let status =
        |id: &'static str| async move { store.get_instance(id).await.unwrap().map(|i| i.status) };
    assert_eq!(status("tenant-1").await, Some(InstanceStatus::Creating));
    assert!(
        store
            .set_instance_status(
                "tenant-1",
                InstanceStatus::Creating,
                InstanceStatus::Deleting
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_instance_status(
                "tenant-1",
                InstanceStatus::Creating,
                InstanceStatus::Running
            )
            .await
            .unwrap()
    );
    assert_eq!(status("tenant-1").await, Some(InstanceStatus::Deleting));
    assert!(
        store
            .set_instance_status(
                "tenant-1",
                InstanceStatus::Deleting,
                InstanceStatus::Running
            )
            .await
            .unwrap()
    );
    // A first push creates namespace and repository together, or neither.
    assert!(store.set_instance_quotas("tenant-1", 10, 1).await.unwrap());
    let (ns1, repo1) = store
        .ensure_repository_path("tenant-1", "ns1", "ns1/app")
        .await
        .unwrap();
    assert_eq!((ns1.name.as_str(), repo1.namespace_id), ("ns1", ns1.id));
    assert_eq!(
        store
            .ensure_repository_path("tenant-1", "ns1", "ns1/app")
            .await
            .unwrap()
            .1,
        repo1
    );
    assert!(matches!(
        store
            .ensure_repository_path("tenant-1", "ns2", "ns2/app")
            .await,
        Err(StoreError::QuotaExceeded(_))
    ));
    assert_eq!(store.get_namespace("tenant-1", "ns2").await.unwrap(), None);

    // Token information and status are written separately: an information change made from
    // an older read never re-enables a token.
    let token = AccessToken {
        id: "tok-1".into(),
        instance_id: "tenant-1".into(),
        username: "token-abc".into(),
        secret_hash: "$argon2id$stub".into(),
        description: String::new(),
        token_type: "Day".into(),
        token_time: Some(1),
        enabled: true,
        created_at: 1,
        expires_at: Some(86_400_001),
    };
    store.create_access_token(&token).await.unwrap();
    assert!(
        store
            .set_access_token_enabled("tenant-1", "tok-1", false)
            .await
            .unwrap()
    );
    let stale = AccessToken {
        description: "renamed".into(),
        ..token.clone()
    };
    assert!(store.update_access_token(&stale).await.unwrap());
    let now = store
        .get_access_token("tenant-1", "tok-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((now.description.as_str(), now.enabled), ("renamed", false));
    assert!(
        !store
            .set_access_token_enabled("tenant-1", "nope", true)
            .await
            .unwrap()
    );
    assert_eq!(store.delete_instance("tenant-1").await.unwrap(), vec![]);
    assert_eq!(
        store.get_access_token("tenant-1", "tok-1").await.unwrap(),
        None,
        "an instance takes its tokens along"
    );
    assert_eq!(status("tenant-1").await, None);
    assert!(
        !store
            .set_instance_status(
                "tenant-1",
                InstanceStatus::Running,
                InstanceStatus::Deleting
            )
            .await
            .unwrap()
    );

    assert_eq!(store.get_namespace(&inst.id, "team").await.unwrap(), None);
    let ns = store.ensure_namespace(&inst.id, "team").await.unwrap();
    assert!(!ns.public, "namespaces are private by default");
    assert_eq!(store.ensure_namespace(&inst.id, "team").await.unwrap(), ns);
    store.set_namespace_public(ns.id, true).await.unwrap();
    assert!(
        store
            .get_namespace(&inst.id, "team")
            .await
            .unwrap()
            .unwrap()
            .public
    );

    let repo = store
        .ensure_repository(&inst.id, ns.id, "team/app")
        .await
        .unwrap();
    assert_eq!(
        store
            .ensure_repository(&inst.id, ns.id, "team/app")
            .await
            .unwrap(),
        repo
    );
    let other = store
        .ensure_repository(&inst.id, ns.id, "team/other")
        .await
        .unwrap();
    // The default instance is never deleted, nor is anything in it.
    assert_eq!(store.delete_instance(&inst.id).await.unwrap(), vec![]);
    assert!(store.get_instance(&inst.id).await.unwrap().is_some());
    assert_eq!(
        store.get_repository(&inst.id, "team/other").await.unwrap(),
        Some(other.clone())
    );
    // Repositories without manifests are not listed.
    assert!(
        store
            .list_repositories(&inst.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let layer = Digest::sha256_of(b"layer");
    let config = Digest::sha256_of(b"config");
    assert_eq!(store.linked_blob(repo.id, &layer).await.unwrap(), None);
    store.link_blob(repo.id, &layer, 5).await.unwrap();
    store.link_blob(repo.id, &layer, 5).await.unwrap();
    assert_eq!(store.linked_blob(repo.id, &layer).await.unwrap(), Some(5));
    assert_eq!(store.linked_blob(other.id, &layer).await.unwrap(), None);
    assert_eq!(
        store.find_blob_in_instance(&inst.id, &layer).await.unwrap(),
        Some(5)
    );

    // Every reference must exist, with the declared size.
    let m1 = manifest("m1", vec![blob_ref(&config, 6), blob_ref(&layer, 5)], None);
    assert_eq!(
        store
            .put_manifest(repo.id, &m1, &["v1".into()])
            .await
            .unwrap(),
        PutManifestOutcome::MissingBlob(config.clone())
    );
    store.link_blob(repo.id, &config, 6).await.unwrap();
    let wrong_size = manifest("m1", vec![blob_ref(&config, 7)], None);
    assert!(matches!(
        store.put_manifest(repo.id, &wrong_size, &[]).await.unwrap(),
        PutManifestOutcome::SizeMismatch {
            declared: 7,
            actual: 6,
            ..
        }
    ));
    assert_eq!(
        store
            .put_manifest(repo.id, &m1, &["v1".into(), "latest".into()])
            .await
            .unwrap(),
        PutManifestOutcome::Stored
    );
    // Idempotent.
    assert_eq!(
        store
            .put_manifest(repo.id, &m1, &["v1".into()])
            .await
            .unwrap(),
        PutManifestOutcome::Stored
    );
    let by_tag = store
        .get_manifest(repo.id, &ManifestSelector::Tag("v1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_tag.content.as_ref(), b"m1");
    assert_eq!(by_tag.meta.digest, m1.digest);
    assert_eq!(by_tag.meta.size, 2);
    let meta = store
        .manifest_meta(repo.id, &ManifestSelector::Digest(m1.digest.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta, by_tag.meta);
    assert_eq!(
        store.list_tags(repo.id, None, 10).await.unwrap(),
        ["latest", "v1"]
    );
    assert_eq!(
        store.list_tags(repo.id, Some("latest"), 10).await.unwrap(),
        ["v1"]
    );
    assert_eq!(store.list_tags(repo.id, None, 1).await.unwrap(), ["latest"]);
    // The console's tag search: a literal substring (`_` and `%` are not wildcards), keyset
    // paging by name, and the count of every match.
    let (page, total) = store.search_tags(repo.id, None, None, 1).await.unwrap();
    assert_eq!((page[0].name.as_str(), total), ("latest", 2));
    assert_eq!(page[0].digest, m1.digest);
    let (page, total) = store
        .search_tags(repo.id, None, Some("latest"), 10)
        .await
        .unwrap();
    assert_eq!((page.len(), page[0].name.as_str(), total), (1, "v1", 2));
    let (page, total) = store
        .search_tags(repo.id, Some("at"), None, 10)
        .await
        .unwrap();
    assert_eq!((page.len(), total), (1, 1));
    let (page, total) = store
        .search_tags(repo.id, Some("%"), None, 10)
        .await
        .unwrap();
    assert_eq!((page.len(), total), (0, 0));
    assert_eq!(
        store.list_repositories(&inst.id, None, 10).await.unwrap(),
        ["team/app"]
    );

    // An index referencing a manifest: the child's media type must agree.
    let child = ManifestRef {
        digest: m1.digest.clone(),
        kind: RefKind::Manifest,
        size: 2,
        media_type: berth_oci::media_types::DOCKER_MANIFEST.into(),
    };
    let idx = manifest("idx", vec![child.clone()], None);
    assert!(matches!(
        store.put_manifest(repo.id, &idx, &[]).await.unwrap(),
        PutManifestOutcome::MediaTypeMismatch { .. }
    ));
    let idx = manifest(
        "idx",
        vec![ManifestRef {
            media_type: berth_oci::media_types::OCI_MANIFEST.into(),
            ..child
        }],
        None,
    );
    assert_eq!(
        store
            .put_manifest(repo.id, &idx, &["multi".into()])
            .await
            .unwrap(),
        PutManifestOutcome::Stored
    );

    // Referrers, including one whose subject does not exist yet.
    let missing_subject = Digest::sha256_of(b"not pushed yet");
    let sig = manifest("sig", vec![], Some(m1.digest.clone()));
    let early = manifest("early", vec![], Some(missing_subject.clone()));
    assert_eq!(
        store.put_manifest(repo.id, &sig, &[]).await.unwrap(),
        PutManifestOutcome::Stored
    );
    assert_eq!(
        store.put_manifest(repo.id, &early, &[]).await.unwrap(),
        PutManifestOutcome::Stored
    );
    let refs = store.referrers(repo.id, &m1.digest).await.unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].digest, sig.digest);
    assert_eq!(
        refs[0].artifact_type.as_deref(),
        Some("application/example")
    );
    assert_eq!(refs[0].annotations.as_deref(), Some(r#"{"a":"b"}"#));
    assert_eq!(
        store
            .referrers(repo.id, &missing_subject)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .referrers(other.id, &m1.digest)
            .await
            .unwrap()
            .is_empty()
    );

    // GC with a future cutoff: the orphan referrer goes; tagged, indexed and live referrers stay.
    let future = now_millis() + 60_000;
    assert_eq!(store.gc_untagged_manifests(future).await.unwrap(), 1);
    assert!(
        store
            .manifest_meta(repo.id, &ManifestSelector::Digest(early.digest.clone()))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .manifest_meta(repo.id, &ManifestSelector::Digest(sig.digest.clone()))
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.gc_blob_candidates(future).await.unwrap().is_empty());

    // Tag and manifest deletion.
    assert!(store.delete_tag(repo.id, "latest").await.unwrap());
    assert!(!store.delete_tag(repo.id, "latest").await.unwrap());
    assert!(store.delete_tag(repo.id, "multi").await.unwrap());
    // Untagged index goes; then m1 (tagged v1) stays; delete m1 by digest removes its tag too.
    assert_eq!(store.gc_untagged_manifests(future).await.unwrap(), 1);
    assert!(store.delete_manifest(repo.id, &m1.digest).await.unwrap());
    assert!(!store.delete_manifest(repo.id, &m1.digest).await.unwrap());
    assert!(store.list_tags(repo.id, None, 10).await.unwrap().is_empty());
    // The signature lost its subject and is now collectable; then the blobs are unreferenced.
    assert_eq!(store.gc_untagged_manifests(future).await.unwrap(), 1);
    let mut candidates = store.gc_blob_candidates(future).await.unwrap();
    candidates.sort();
    let mut want = vec![layer.clone(), config.clone()];
    want.sort();
    assert_eq!(candidates, want);
    // Nothing is collectable inside the grace window.
    assert!(store.gc_blob_candidates(0).await.unwrap().is_empty());
    assert!(!store.gc_forget_blob(&layer, 0).await.unwrap());
    assert!(store.gc_forget_blob(&layer, future).await.unwrap());
    assert!(!store.blob_known(&layer).await.unwrap());
    assert!(store.blob_known(&config).await.unwrap());
    assert_eq!(store.linked_blob(repo.id, &layer).await.unwrap(), None);
    // While its bytes are being deleted the digest cannot be linked, nor tombstoned again.
    let stones = store.tombstones().await.unwrap();
    assert_eq!(stones.len(), 1);
    assert_eq!(stones[0].0, layer);
    assert!(matches!(
        store.link_blob(repo.id, &layer, 3).await,
        Err(StoreError::BlobBeingDeleted { .. })
    ));
    assert_eq!(store.linked_blob(repo.id, &layer).await.unwrap(), None);
    assert!(!store.tombstone_orphan(&layer).await.unwrap());
    store.clear_tombstone(&layer).await.unwrap();
    assert!(store.tombstones().await.unwrap().is_empty());
    // An orphan (bytes nobody recorded) can be tombstoned once; a recorded blob cannot.
    assert!(store.tombstone_orphan(&layer).await.unwrap());
    assert!(!store.tombstone_orphan(&layer).await.unwrap());
    assert!(!store.tombstone_orphan(&config).await.unwrap());
    store.clear_tombstone(&layer).await.unwrap();
    // Linked again after the deletion ended: a link younger than GC's cutoff keeps it.
    let cutoff = now_millis();
    store.link_blob(repo.id, &layer, 3).await.unwrap();
    assert!(!store.gc_forget_blob(&layer, cutoff).await.unwrap());
    assert!(store.unlink_blob(repo.id, &layer).await.unwrap());
    assert!(store.unlink_blob(repo.id, &config).await.unwrap());
    assert!(!store.unlink_blob(repo.id, &config).await.unwrap());

    // Uploads.
    let up = Upload {
        id: new_id(),
        repository_id: repo.id,
        created_at: now_millis(),
    };
    store.create_upload(&up).await.unwrap();
    assert_eq!(store.get_upload(&up.id).await.unwrap(), Some(up.clone()));
    assert_eq!(store.stale_uploads(future).await.unwrap(), vec![up.clone()]);
    assert!(store.stale_uploads(0).await.unwrap().is_empty());
    store.delete_upload(&up.id).await.unwrap();
    assert_eq!(store.get_upload(&up.id).await.unwrap(), None);

    // Users and settings.
    assert!(store.create_user("admin", "hash1", true).await.unwrap());
    assert!(!store.create_user("admin", "hash2", true).await.unwrap());
    let admin = store.get_user("admin").await.unwrap().unwrap();
    assert!(admin.is_admin && !admin.disabled);
    assert_eq!(admin.password_hash, "hash1");
    assert!(store.set_user_password("admin", "hash3").await.unwrap());
    assert_eq!(
        store
            .get_user("admin")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "hash3"
    );
    assert!(store.get_user("nobody").await.unwrap().is_none());
    assert_eq!(store.init_setting("k", "v1").await.unwrap(), "v1");
    assert_eq!(store.init_setting("k", "v2").await.unwrap(), "v1");
    assert_eq!(store.get_setting("k").await.unwrap().as_deref(), Some("v1"));

    let counts = store.counts().await.unwrap();
    assert_eq!(counts.repositories, 2);
    assert_eq!(counts.manifests, 0);
    runtime_store(store).await;
    tag_immutability(store).await;
}

fn refused<T: std::fmt::Debug>(r: Result<T>, want: &str) {
    match r {
        Err(StoreError::TagImmutable { repository, tag }) => {
            assert_eq!((repository.as_str(), tag.as_str()), ("locked/app", want));
        }
        other => panic!("expected TagImmutable for {want}, got {other:?}"),
    }
}

/// Tag immutability per repository: while on, an existing tag is neither moved nor deleted
/// (alone or with its manifest), and a refused write changes nothing; new tags, re-pushing a
/// tag's own digest, untagged manifests and deleting the whole repository stay allowed.
pub async fn tag_immutability(store: &dyn MetadataStore) {
    let inst = store.ensure_default_instance("default").await.unwrap();
    let (ns, repo) = store
        .ensure_repository_path(&inst.id, "locked", "locked/app")
        .await
        .unwrap();
    assert!(!repo.tag_immutable, "off by default");
    let config = Digest::sha256_of(b"immutable config");
    store.link_blob(repo.id, &config, 16).await.unwrap();
    let image = |content: &str| manifest(content, vec![blob_ref(&config, 16)], None);
    let (m1, m2, m3) = (image("imm-1"), image("imm-2"), image("imm-3"));
    let rid = repo.id;
    let put = |m: &NewManifest, tags: &[&str]| {
        let m = m.clone();
        let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        async move { store.put_manifest(rid, &m, &tags).await }
    };
    let tag_of = |t: &'static str| async move {
        store
            .manifest_meta(rid, &ManifestSelector::Tag(t.into()))
            .await
            .unwrap()
            .map(|m| m.digest)
    };
    assert_eq!(
        put(&m1, &["v1", "keep"]).await.unwrap(),
        PutManifestOutcome::Stored
    );

    assert!(
        store
            .set_repository_tag_immutable(repo.id, true)
            .await
            .unwrap()
    );
    assert!(!store.set_repository_tag_immutable(-1, true).await.unwrap());
    let now = store.get_repository(&inst.id, "locked/app").await.unwrap();
    assert!(now.unwrap().tag_immutable);
    let (listed, _) = store
        .list_namespace_repositories(ns.id, &[], 0, 10)
        .await
        .unwrap();
    assert!(listed[0].tag_immutable, "{listed:?}");
    let stored = store
        .images_by_digest(std::slice::from_ref(&m1.digest))
        .await
        .unwrap();
    assert!(stored.iter().all(|i| i.tag_immutable), "{stored:?}");

    // The same digest again is no move.
    assert_eq!(put(&m1, &["v1"]).await.unwrap(), PutManifestOutcome::Stored);
    // A move is refused whole: neither the manifest nor the other tags of the call are written.
    refused(put(&m2, &["fresh", "v1"]).await, "v1");
    assert_eq!(tag_of("v1").await, Some(m1.digest.clone()));
    assert_eq!(tag_of("fresh").await, None);
    let m2_by_digest = ManifestSelector::Digest(m2.digest.clone());
    assert!(
        store
            .manifest_meta(repo.id, &m2_by_digest)
            .await
            .unwrap()
            .is_none()
    );
    // New tags are fine.
    assert_eq!(put(&m2, &["v2"]).await.unwrap(), PutManifestOutcome::Stored);
    assert_eq!(tag_of("v2").await, Some(m2.digest.clone()));
    // Deleting a tag, or a manifest that tags point at, is refused; a missing tag is no error.
    refused(store.delete_tag(repo.id, "v1").await, "v1");
    assert_eq!(tag_of("v1").await, Some(m1.digest.clone()));
    assert!(!store.delete_tag(repo.id, "absent").await.unwrap());
    refused(store.delete_manifest(repo.id, &m1.digest).await, "keep");
    assert_eq!(tag_of("keep").await, Some(m1.digest.clone()));
    assert!(
        !store
            .delete_manifest(repo.id, &Digest::sha256_of(b"never pushed"))
            .await
            .unwrap()
    );
    // An untagged manifest may go.
    assert_eq!(put(&m3, &[]).await.unwrap(), PutManifestOutcome::Stored);
    assert!(store.delete_manifest(repo.id, &m3.digest).await.unwrap());
    // Another repository is not affected.
    let (_, free) = store
        .ensure_repository_path(&inst.id, "locked", "locked/free")
        .await
        .unwrap();
    store.link_blob(free.id, &config, 16).await.unwrap();
    for m in [&m1, &m2] {
        assert_eq!(
            store
                .put_manifest(free.id, m, &["v1".into()])
                .await
                .unwrap(),
            PutManifestOutcome::Stored
        );
    }
    assert!(store.delete_tag(free.id, "v1").await.unwrap());

    // Off again: moves and deletes work.
    assert!(
        store
            .set_repository_tag_immutable(repo.id, false)
            .await
            .unwrap()
    );
    assert_eq!(put(&m2, &["v1"]).await.unwrap(), PutManifestOutcome::Stored);
    assert_eq!(tag_of("v1").await, Some(m2.digest.clone()));
    assert!(store.delete_tag(repo.id, "v2").await.unwrap());
    assert!(store.delete_manifest(repo.id, &m1.digest).await.unwrap());
    assert_eq!(tag_of("keep").await, None);

    // Deleting the whole repository is allowed while its tags are immutable.
    assert!(
        store
            .set_repository_tag_immutable(repo.id, true)
            .await
            .unwrap()
    );
    assert!(store.delete_repository(repo.id).await.unwrap());
    assert!(
        store
            .get_repository(&inst.id, "locked/app")
            .await
            .unwrap()
            .is_none()
    );
}

/// Internal endpoints, their DNS records and the allow-list they make.
pub async fn endpoint_store(store: &dyn MetadataStore) {
    let inst = store.ensure_default_instance("default").await.unwrap();
    let id = inst.id.as_str();
    assert_eq!(store.allow_list(id).await.unwrap(), AllowList::default());
    assert!(store.list_endpoints(id).await.unwrap().is_empty());

    let ep = NewInternalEndpoint {
        instance_id: id.to_string(),
        vpc_id: "vpc-1".into(),
        subnet_id: "subnet-a".into(),
        cidr: "10.0.1.0/24".into(),
        ip_address: "10.0.1.10".into(),
    };
    assert_eq!(
        store
            .create_endpoint(&NewInternalEndpoint {
                instance_id: new_id(),
                ..ep.clone()
            })
            .await
            .unwrap(),
        EndpointCreate::InstanceUnknown
    );
    assert_eq!(
        store.create_endpoint(&ep).await.unwrap(),
        EndpointCreate::Created
    );
    // The same subnet, or the same address, in one VPC is a duplicate.
    assert_eq!(
        store.create_endpoint(&ep).await.unwrap(),
        EndpointCreate::Duplicate
    );
    let same_ip = NewInternalEndpoint {
        subnet_id: "subnet-b".into(),
        ..ep.clone()
    };
    assert_eq!(
        store.create_endpoint(&same_ip).await.unwrap(),
        EndpointCreate::Duplicate
    );
    let other = NewInternalEndpoint {
        vpc_id: "vpc-2".into(),
        subnet_id: "192.168.0.0/16".into(),
        cidr: "192.168.0.0/16".into(),
        ip_address: "192.168.0.1".into(),
        ..ep.clone()
    };
    assert_eq!(
        store.create_endpoint(&other).await.unwrap(),
        EndpointCreate::Created
    );

    // Restricted at once, but nothing is allowed until an endpoint is Running.
    assert_eq!(
        store.allow_list(id).await.unwrap(),
        AllowList {
            restricted: true,
            cidrs: vec![]
        }
    );
    let listed = store.list_endpoints(id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|e| e.status == EndpointStatus::Creating));
    assert_eq!(store.all_endpoints().await.unwrap().len(), 2);
    assert!(
        store
            .set_endpoint_status(id, "vpc-1", "10.0.1.10", EndpointStatus::Running)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_endpoint_status(id, "vpc-1", "10.9.9.9", EndpointStatus::Running)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_endpoint_status(id, "vpc-2", "192.168.0.1", EndpointStatus::Error)
            .await
            .unwrap()
    );
    assert_eq!(
        store.allow_list(id).await.unwrap(),
        AllowList {
            restricted: true,
            cidrs: vec!["10.0.1.0/24".into()]
        }
    );
    let got = store
        .get_endpoint(id, "vpc-1", "10.0.1.10")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.subnet_id, "subnet-a");
    assert_eq!(got.cidr, "10.0.1.0/24");
    assert_eq!(got.status, EndpointStatus::Running);
    assert!(
        store
            .get_endpoint(id, "vpc-2", "10.0.1.10")
            .await
            .unwrap()
            .is_none()
    );

    // DNS records hang off an endpoint; every change moves the zone serial forward.
    let s0 = store.zone_serial(id).await.unwrap();
    assert_eq!(
        store
            .create_endpoint_dns(id, "vpc-1", "10.0.1.99", "PrivateDomain")
            .await
            .unwrap(),
        DnsCreate::EndpointUnknown
    );
    assert_eq!(
        store
            .create_endpoint_dns(id, "vpc-1", "10.0.1.10", "PrivateDomain")
            .await
            .unwrap(),
        DnsCreate::Created
    );
    assert_eq!(
        store
            .create_endpoint_dns(id, "vpc-1", "10.0.1.10", "PrivateDomain")
            .await
            .unwrap(),
        DnsCreate::Duplicate
    );
    let s1 = store.zone_serial(id).await.unwrap();
    assert!(s1 > s0, "{s1} > {s0}");
    let dns = store.list_endpoint_dns(id, None, None).await.unwrap();
    assert_eq!(dns.len(), 1);
    assert_eq!(dns[0].status, DnsStatus::Opening);
    assert_eq!(dns[0].domain, "PrivateDomain");
    assert!(
        store
            .set_endpoint_dns_status(
                id,
                "vpc-1",
                "10.0.1.10",
                "PrivateDomain",
                DnsStatus::Running
            )
            .await
            .unwrap()
    );
    let s2 = store.zone_serial(id).await.unwrap();
    assert!(s2 > s1);
    // Setting the status it already has is not a change.
    assert!(
        store
            .set_endpoint_dns_status(
                id,
                "vpc-1",
                "10.0.1.10",
                "PrivateDomain",
                DnsStatus::Running
            )
            .await
            .unwrap()
    );
    assert_eq!(store.zone_serial(id).await.unwrap(), s2);
    assert!(
        !store
            .set_endpoint_dns_status(
                id,
                "vpc-2",
                "10.0.1.10",
                "PrivateDomain",
                DnsStatus::Running
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .list_endpoint_dns(id, Some("vpc-1"), Some("10.0.1.10"))
            .await
            .unwrap()[0]
            .status,
        DnsStatus::Running
    );
    assert!(
        store
            .list_endpoint_dns(id, Some("vpc-2"), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .delete_endpoint_dns(id, "vpc-1", "10.0.1.10", "PrivateDomain")
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_endpoint_dns(id, "vpc-1", "10.0.1.10", "PrivateDomain")
            .await
            .unwrap()
    );
    assert!(store.zone_serial(id).await.unwrap() > s2);

    // Deleting an endpoint takes its records; the instance is unrestricted with the last one.
    store
        .create_endpoint_dns(id, "vpc-1", "10.0.1.10", "PrivateDomain")
        .await
        .unwrap();
    assert!(
        store
            .delete_endpoint(id, "vpc-1", "10.0.1.10")
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_endpoint(id, "vpc-1", "10.0.1.10")
            .await
            .unwrap()
    );
    assert!(
        store
            .list_endpoint_dns(id, None, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.allow_list(id).await.unwrap().restricted);
    assert!(
        store
            .delete_endpoint(id, "vpc-2", "192.168.0.1")
            .await
            .unwrap()
    );
    assert_eq!(store.allow_list(id).await.unwrap(), AllowList::default());
}

/// Webhook triggers (CRUD, paging, the namespace limit, event matching) and the attempt log
/// with its pending/claim/finish cycle.
pub async fn webhook_store(store: &dyn MetadataStore) {
    let inst = store.ensure_default_instance("default").await.unwrap();
    let ns = store.ensure_namespace(&inst.id, "hooks").await.unwrap();
    let other_ns = store.ensure_namespace(&inst.id, "other").await.unwrap();
    let new = |name: &str, events: &[&str], enabled: bool| NewWebhookTrigger {
        instance_id: inst.id.clone(),
        namespace_id: ns.id,
        name: name.into(),
        url: format!("https://example.com/{name}"),
        event_types: events.iter().map(|e| e.to_string()).collect(),
        headers: vec![WebhookHeader {
            key: "X-Team".into(),
            values: vec!["a".into(), "b".into()],
        }],
        enabled,
        secret: "s3cret".into(),
    };
    let push = store
        .create_webhook_trigger(&new("push", &["PushImage"], true), 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(push.namespace, "hooks");
    assert_eq!(push.event_types, vec!["PushImage".to_string()]);
    assert_eq!(
        push.headers[0].values,
        vec!["a".to_string(), "b".to_string()]
    );
    assert!(push.enabled);
    assert_eq!(push.secret, "s3cret");
    let both = store
        .create_webhook_trigger(&new("both", &["PushImage", "DeleteImage"], true), 3)
        .await
        .unwrap()
        .unwrap();
    let off = store
        .create_webhook_trigger(&new("off", &["PushImage"], false), 3)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .create_webhook_trigger(&new("fourth", &["PushImage"], true), 3)
            .await
            .unwrap()
            .is_none(),
        "the namespace limit holds"
    );
    assert_eq!(
        store.get_webhook_trigger(ns.id, push.id).await.unwrap(),
        Some(push.clone())
    );
    assert_eq!(
        store
            .get_webhook_trigger(other_ns.id, push.id)
            .await
            .unwrap(),
        None,
        "triggers are scoped to their namespace"
    );

    let (page, total) = store.list_webhook_triggers(ns.id, 0, 2).await.unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        page.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![off.id, both.id]
    );
    let (page, total) = store.list_webhook_triggers(ns.id, 2, 2).await.unwrap();
    assert_eq!((page.len(), total), (1, 3));
    assert_eq!(page[0].id, push.id);
    assert_eq!(
        store
            .list_webhook_triggers(other_ns.id, 0, 10)
            .await
            .unwrap(),
        (vec![], 0)
    );

    let ids = |ts: Vec<WebhookTrigger>| ts.iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .webhook_triggers_for_event(ns.id, "PushImage")
            .await
            .unwrap()),
        vec![push.id, both.id]
    );
    assert_eq!(
        ids(store
            .webhook_triggers_for_event(ns.id, "DeleteImage")
            .await
            .unwrap()),
        vec![both.id]
    );

    let updated = store
        .update_webhook_trigger(
            ns.id,
            off.id,
            &WebhookTriggerUpdate {
                enabled: Some(true),
                event_types: Some(vec!["DeleteImage".into()]),
                headers: Some(vec![]),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(updated.enabled);
    assert_eq!(updated.name, "off", "unset fields keep their value");
    assert_eq!(updated.url, off.url);
    assert!(updated.headers.is_empty());
    assert!(updated.updated_at >= off.updated_at);
    assert_eq!(
        ids(store
            .webhook_triggers_for_event(ns.id, "DeleteImage")
            .await
            .unwrap()),
        vec![both.id, off.id]
    );
    assert!(
        store
            .update_webhook_trigger(other_ns.id, off.id, &WebhookTriggerUpdate::default())
            .await
            .unwrap()
            .is_none()
    );

    // The log: attempts are recorded with their outcome as they run, listed newest first.
    let now = crate::now_millis();
    let first = NewWebhookDelivery {
        trigger_id: push.id,
        event_type: "PushImage".into(),
        payload: "{\"event\":\"PushImage\"}".into(),
        attempt: 1,
    };
    assert_eq!(
        store.list_webhook_deliveries(push.id, 0, 10).await.unwrap(),
        (vec![], 0)
    );
    let failed = DeliveryResult {
        success: false,
        status_code: Some(500),
        response: Some("boom".into()),
        url: push.url.clone(),
        at: now,
    };
    let id1 = store
        .record_webhook_delivery(&first, &failed)
        .await
        .unwrap()
        .unwrap();
    let ok = DeliveryResult {
        success: true,
        status_code: Some(204),
        response: None,
        url: push.url.clone(),
        at: now + 1,
    };
    let second = NewWebhookDelivery {
        attempt: 2,
        ..first.clone()
    };
    let id2 = store
        .record_webhook_delivery(&second, &ok)
        .await
        .unwrap()
        .unwrap();
    let (log, total) = store.list_webhook_deliveries(push.id, 0, 10).await.unwrap();
    assert_eq!(total, 2);
    assert_eq!(
        log.iter()
            .map(|d| (d.id, d.status, d.attempt))
            .collect::<Vec<_>>(),
        vec![
            (id2, DeliveryStatus::Success, 2),
            (id1, DeliveryStatus::Failed, 1)
        ],
        "newest first"
    );
    assert_eq!(log[1].status_code, Some(500));
    assert_eq!(log[1].response.as_deref(), Some("boom"));
    assert_eq!(log[1].url.as_deref(), Some(push.url.as_str()));
    assert_eq!(log[1].payload, first.payload);
    assert_eq!(
        (log[1].namespace_id, log[1].namespace.as_str()),
        (ns.id, "hooks")
    );
    assert_eq!((log[0].created_at, log[1].created_at), (now + 1, now));
    let (page, total) = store.list_webhook_deliveries(push.id, 1, 10).await.unwrap();
    assert_eq!((page.len(), total), (1, 2));
    assert_eq!(page[0].id, id1);
    assert_eq!(store.prune_webhook_deliveries(2).await.unwrap(), 0);
    assert_eq!(store.prune_webhook_deliveries(1).await.unwrap(), 1);
    let (log, total) = store.list_webhook_deliveries(push.id, 0, 10).await.unwrap();
    assert_eq!((log[0].id, total), (id2, 1), "the newest entry stays");
    // Nothing is logged for a trigger that no longer exists.
    let gone = NewWebhookDelivery {
        trigger_id: i64::MAX,
        ..first.clone()
    };
    assert_eq!(
        store.record_webhook_delivery(&gone, &ok).await.unwrap(),
        None
    );

    // Deleting a trigger takes its log along.
    assert!(
        !store
            .delete_webhook_trigger(other_ns.id, push.id)
            .await
            .unwrap()
    );
    assert!(store.delete_webhook_trigger(ns.id, push.id).await.unwrap());
    assert!(!store.delete_webhook_trigger(ns.id, push.id).await.unwrap());
    assert_eq!(
        store.get_webhook_trigger(ns.id, push.id).await.unwrap(),
        None
    );
    assert_eq!(
        store.list_webhook_deliveries(push.id, 0, 10).await.unwrap(),
        (vec![], 0)
    );
    assert_eq!(
        store.list_webhook_triggers(ns.id, 0, 10).await.unwrap().1,
        2
    );
}

/// Clusters, their credentials and snapshots, and the digest → stored image lookup of the
/// runtime inventory. Called at the end of [`metadata_store`], so every backend runs it.
pub async fn runtime_store(store: &dyn MetadataStore) {
    let cluster = |id: &str, name: &str| ClusterRecord {
        id: id.into(),
        name: name.into(),
        cluster_type: "ManagedKubernetes".into(),
        region: "eu-west-1".into(),
        kubernetes_version: Some("v1.31.2".into()),
        protection: "unprotected".into(),
        created_at: 1,
    };
    assert!(store.list_clusters().await.unwrap().is_empty());
    let prod = cluster("c-prod", "prod");
    assert!(store.create_cluster(&prod).await.unwrap());
    assert!(!store.create_cluster(&prod).await.unwrap(), "one of an id");
    assert!(
        !store
            .create_cluster(&cluster("c-other", "prod"))
            .await
            .unwrap(),
        "one of a name"
    );
    let stage = ClusterRecord {
        created_at: 2,
        kubernetes_version: None,
        ..cluster("c-stage", "stage")
    };
    assert!(store.create_cluster(&stage).await.unwrap());
    assert_eq!(
        store.list_clusters().await.unwrap(),
        vec![prod.clone(), stage.clone()]
    );
    assert_eq!(store.get_cluster("c-stage").await.unwrap(), Some(stage));
    assert_eq!(store.get_cluster("nope").await.unwrap(), None);

    // Credentials: found by their hash while live, whichever cluster asks.
    let cred = |id: &str, cluster_id: &str, hash: &str| ClusterCredential {
        id: id.into(),
        cluster_id: cluster_id.into(),
        token_hash: hash.into(),
        description: "agent".into(),
        created_at: 3,
        revoked_at: None,
    };
    let a = cred("cc-a", "c-prod", &"a".repeat(64));
    assert!(store.create_cluster_credential(&a).await.unwrap());
    assert!(
        !store
            .create_cluster_credential(&cred("cc-x", "c-none", &"x".repeat(64)))
            .await
            .unwrap(),
        "no credential for a cluster that does not exist"
    );
    assert!(
        !store
            .create_cluster_credential(&cred("cc-y", "c-stage", &"a".repeat(64)))
            .await
            .unwrap(),
        "hashes are unique"
    );
    let b = cred("cc-b", "c-stage", &"b".repeat(64));
    assert!(store.create_cluster_credential(&b).await.unwrap());
    assert_eq!(
        store
            .verify_cluster_credential(&a.token_hash)
            .await
            .unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        store
            .verify_cluster_credential(&"c".repeat(64))
            .await
            .unwrap(),
        None
    );
    assert!(
        !store
            .revoke_cluster_credential("c-stage", "cc-a")
            .await
            .unwrap(),
        "revoked through its own cluster only"
    );
    assert!(
        store
            .revoke_cluster_credential("c-prod", "cc-a")
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_cluster_credential("c-prod", "cc-a")
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .verify_cluster_credential(&a.token_hash)
            .await
            .unwrap(),
        None
    );
    let listed = store.list_cluster_credentials("c-prod").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].revoked_at.is_some());

    // Snapshots: replaced whole; compare-and-set on the version.
    assert_eq!(store.snapshot("c-prod").await.unwrap(), None);
    assert_eq!(
        store.replace_snapshot("c-none", "{}", None).await.unwrap(),
        SnapshotWrite::NoCluster
    );
    assert_eq!(
        store
            .replace_snapshot("c-prod", r#"{"n":1}"#, Some(1))
            .await
            .unwrap(),
        SnapshotWrite::Conflict { current: 0 }
    );
    assert_eq!(
        store
            .replace_snapshot("c-prod", r#"{"n":1}"#, Some(0))
            .await
            .unwrap(),
        SnapshotWrite::Written { version: 1 }
    );
    assert_eq!(
        store
            .replace_snapshot("c-prod", r#"{"n":2}"#, None)
            .await
            .unwrap(),
        SnapshotWrite::Written { version: 2 }
    );
    assert_eq!(
        store
            .replace_snapshot("c-prod", r#"{"n":3}"#, Some(1))
            .await
            .unwrap(),
        SnapshotWrite::Conflict { current: 2 }
    );
    let snap = store.snapshot("c-prod").await.unwrap().unwrap();
    assert_eq!((snap.document.as_str(), snap.version), (r#"{"n":2}"#, 2));
    store
        .replace_snapshot("c-stage", r#"{"s":1}"#, None)
        .await
        .unwrap();
    let versions = store.snapshot_versions().await.unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.cluster_id.as_str(), v.version))
            .collect::<Vec<_>>(),
        [("c-prod", 2), ("c-stage", 1)]
    );
    let all = store.all_snapshots().await.unwrap();
    assert_eq!(
        all.iter()
            .map(|s| s.cluster_id.as_str())
            .collect::<Vec<_>>(),
        ["c-prod", "c-stage"]
    );
    // The versions carry each document's time without the document.
    assert_eq!(
        versions.iter().map(|v| v.updated_at).collect::<Vec<_>>(),
        all.iter().map(|s| s.updated_at).collect::<Vec<_>>()
    );
    // Deleting a cluster takes its snapshot and credentials along.
    assert!(store.delete_cluster("c-stage").await.unwrap());
    assert!(!store.delete_cluster("c-stage").await.unwrap());
    assert_eq!(store.snapshot("c-stage").await.unwrap(), None);
    assert_eq!(
        store
            .verify_cluster_credential(&b.token_hash)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .list_cluster_credentials("c-stage")
            .await
            .unwrap()
            .is_empty()
    );

    // Running digests → stored images, with tags and the newest successful scan.
    let inst = store.ensure_default_instance("default").await.unwrap();
    let (ns, repo) = store
        .ensure_repository_path(&inst.id, "rt", "rt/app")
        .await
        .unwrap();
    store.set_namespace_public(ns.id, true).await.unwrap();
    let layer = Digest::sha256_of(b"runtime layer");
    store.link_blob(repo.id, &layer, 13).await.unwrap();
    let m = manifest("runtime image", vec![blob_ref(&layer, 13)], None);
    assert_eq!(
        store
            .put_manifest(repo.id, &m, &["v2".into(), "v1".into()])
            .await
            .unwrap(),
        PutManifestOutcome::Stored
    );
    let (_, other) = store
        .ensure_repository_path(&inst.id, "rt", "rt/copy")
        .await
        .unwrap();
    store.link_blob(other.id, &layer, 13).await.unwrap();
    store.put_manifest(other.id, &m, &[]).await.unwrap();
    let absent = Digest::sha256_of(b"not stored");
    let found = store
        .images_by_digest(&[m.digest.clone(), absent.clone()])
        .await
        .unwrap();
    assert_eq!(
        found
            .iter()
            .map(|i| (i.repository.as_str(), i.tags.clone()))
            .collect::<Vec<_>>(),
        [
            ("rt/app", vec!["v1".to_string(), "v2".to_string()]),
            ("rt/copy", vec![])
        ]
    );
    assert!(found.iter().all(|i| i.namespace == "rt"
        && i.namespace_public
        && i.instance_id == inst.id
        && i.instance_name == inst.name
        && i.latest_scan_id.is_none()));
    let scan = match store
        .enqueue_scan(&inst.id, repo.id, &m.digest)
        .await
        .unwrap()
    {
        EnqueueOutcome::Queued(id) | EnqueueOutcome::InFlight(id) => id,
    };
    let claimed = store.start_scan(scan).await.unwrap().unwrap();
    assert_eq!(claimed.id, scan);
    store
        .finish_scan(
            scan,
            ScanStatus::Success,
            Some(r#"{"vulnerabilities":[]}"#),
            None,
            None,
        )
        .await
        .unwrap();
    let found = store
        .images_by_digest(std::slice::from_ref(&m.digest))
        .await
        .unwrap();
    assert!(
        found.iter().all(|i| i.latest_scan_id == Some(scan)),
        "a digest's scan counts in every repository holding it"
    );
    assert_eq!(
        store.scan_result(scan).await.unwrap().as_deref(),
        Some(r#"{"vulnerabilities":[]}"#)
    );
    assert_eq!(store.scan_result(-1).await.unwrap(), None);
    assert!(store.images_by_digest(&[]).await.unwrap().is_empty());
}
