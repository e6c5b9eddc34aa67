//! `StoredImageSource`: images written straight into a real `SqliteMetadataStore` and
//! `FsBlobStore` in a temp dir (no HTTP), then scanned from the stores.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The scanner tests' image builder, shared rather than copied.
#[path = "../../scan/tests/it/common/mod.rs"]
mod common;

use std::sync::Arc;

use berth_oci::Digest;
use berth_registry::scan_source::StoredImageSource;
use berth_scan::{ImageSource, NoProgress, PlatformSpec, Scanner};
use berth_store::{
    BlobStore, CommitOutcome, FsBlobStore, ManifestRef, MetadataStore, NewManifest,
    PutManifestOutcome, RefKind, SqliteMetadataStore,
};
use bytes::Bytes;
use common::*;

struct Stores {
    _dir: tempfile::TempDir,
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
}

async fn stores() -> Stores {
    let dir = tempfile::tempdir().unwrap();
    let meta = SqliteMetadataStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    let blobs = FsBlobStore::open(dir.path()).unwrap();
    Stores {
        _dir: dir,
        meta: Arc::new(meta),
        blobs: Arc::new(blobs),
    }
}

async fn repository(s: &Stores, name: &str) -> i64 {
    let inst = s.meta.ensure_default_instance("default").await.unwrap();
    let ns_name = name.split('/').next().unwrap();
    let ns = s.meta.ensure_namespace(&inst.id, ns_name).await.unwrap();
    s.meta
        .ensure_repository(&inst.id, ns.id, name)
        .await
        .unwrap()
        .id
}

/// Uploads a blob through the store's upload path and links it into the repository.
async fn put_blob(s: &Stores, repo: i64, data: &[u8]) -> Digest {
    let digest = Digest::sha256_of(data);
    let id = uuid::Uuid::new_v4().to_string();
    s.blobs.upload_start(&id).await.unwrap();
    let body: berth_store::BlobStream =
        Box::pin(futures::stream::iter(vec![Ok::<_, std::io::Error>(
            Bytes::copy_from_slice(data),
        )]));
    s.blobs.upload_append(&id, 0, body, 1 << 30).await.unwrap();
    assert_eq!(
        s.blobs.upload_commit(&id, &digest).await.unwrap(),
        CommitOutcome::Committed {
            size: data.len() as u64
        }
    );
    s.meta
        .link_blob(repo, &digest, data.len() as u64)
        .await
        .unwrap();
    digest
}

/// Stores `img` as an OCI manifest under `tag`, wrapped in a one-platform index when `index`.
/// Returns the digest of the root (manifest or index).
async fn put_image(s: &Stores, repo: i64, img: &Image, tag: &str, index: bool) -> Digest {
    let cfg = serde_json::to_vec(&img.config).unwrap();
    let cfg_d = put_blob(s, repo, &cfg).await;
    let mut refs = vec![ManifestRef {
        digest: cfg_d.clone(),
        kind: RefKind::Blob,
        size: cfg.len() as u64,
        media_type: String::new(),
    }];
    let mut layers = Vec::new();
    for (tar, _) in &img.layers {
        let blob = compress(tar, img.comp);
        let d = put_blob(s, repo, &blob).await;
        refs.push(ManifestRef {
            digest: d.clone(),
            kind: RefKind::Blob,
            size: blob.len() as u64,
            media_type: String::new(),
        });
        layers.push(serde_json::json!({"mediaType": media_type(img.comp), "digest": d.to_string(), "size": blob.len()}));
    }
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": berth_oci::media_types::OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_d.to_string(), "size": cfg.len()},
        "layers": layers,
    }))
    .unwrap();
    let m_d = Digest::sha256_of(&manifest);
    let stored = |digest: &Digest, media_type: &str, content: &[u8], refs| NewManifest {
        digest: digest.clone(),
        media_type: media_type.to_string(),
        artifact_type: None,
        content: Bytes::copy_from_slice(content),
        subject: None,
        annotations: None,
        refs,
    };
    let tags = if index { vec![] } else { vec![tag.to_string()] };
    assert_eq!(
        s.meta
            .put_manifest(
                repo,
                &stored(&m_d, berth_oci::media_types::OCI_MANIFEST, &manifest, refs),
                &tags
            )
            .await
            .unwrap(),
        PutManifestOutcome::Stored
    );
    if !index {
        return m_d;
    }
    let idx = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": berth_oci::media_types::OCI_INDEX,
        "manifests": [
            {"mediaType": berth_oci::media_types::OCI_MANIFEST, "digest": m_d.to_string(), "size": manifest.len(),
             "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    }))
    .unwrap();
    let i_d = Digest::sha256_of(&idx);
    let child = ManifestRef {
        digest: m_d,
        kind: RefKind::Manifest,
        size: manifest.len() as u64,
        media_type: berth_oci::media_types::OCI_MANIFEST.to_string(),
    };
    assert_eq!(
        s.meta
            .put_manifest(
                repo,
                &stored(&i_d, berth_oci::media_types::OCI_INDEX, &idx, vec![child]),
                &[tag.to_string()]
            )
            .await
            .unwrap(),
        PutManifestOutcome::Stored
    );
    i_d
}

fn debian_image() -> Image {
    let status = b"Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n\nPackage: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc (2.36-9)\nVersion: 2.36-9+deb12u4\n";
    Image::new(
        vec![
            Layer::new("ADD rootfs.tar /")
                .file("/etc/os-release", DEBIAN_OS_RELEASE)
                .file("/var/lib/dpkg/status", status)
                .file("/var/lib/dpkg/info/bash.list", b"/bin/bash\n"),
            Layer::new("COPY eicar /tmp/").file("/tmp/eicar.com", &eicar()),
        ],
        Comp::Gzip,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_a_stored_manifest_and_index_and_refuses_unlinked_blobs() {
    let s = stores().await;
    let repo = repository(&s, "team/app").await;
    let other = repository(&s, "other/secret").await;
    let img = debian_image();
    let manifest_d = put_image(&s, repo, &img, "v1", false).await;
    let index_d = put_image(&s, repo, &img, "multi", true).await;
    let secret = put_blob(&s, other, b"another tenant's layer").await;

    let handle = tokio::runtime::Handle::current();
    let (meta, blobs) = (s.meta.clone(), s.blobs.clone());
    tokio::task::spawn_blocking(move || {
        let scanner = Scanner::new(options()).unwrap();
        for root in [manifest_d.clone(), index_d] {
            let src = StoredImageSource::new(
                handle.clone(),
                meta.clone(),
                blobs.clone(),
                repo,
                "team/app".into(),
                root.clone(),
            );
            assert_eq!(src.kind(), "berth");
            assert_eq!(src.name(), format!("berth:team/app@{root}"));
            let r = scanner
                .scan_image(&src, &PlatformSpec::default(), &NoProgress)
                .unwrap();
            assert_eq!(r.source.kind, "berth");
            assert_eq!(
                r.source.manifest_digest.as_deref(),
                Some(manifest_d.to_string().as_str())
            );
            assert_eq!(r.source.platform.as_deref(), Some("linux/amd64"));
            assert_eq!(r.distro.as_ref().unwrap().id, "debian");
            let mut debs = names(&r, "deb");
            debs.sort();
            assert_eq!(debs, ["bash@5.2.15-2+b2", "libc6@2.36-9+deb12u4"]);
            assert!(
                r.malware
                    .iter()
                    .any(|m| m.rule == "yara:berth.EICAR_Test_File"),
                "{:?}",
                r.malware
            );
            assert_eq!(r.malware[0].path, "/tmp/eicar.com");
            assert_eq!(r.malware[0].layer.as_ref().unwrap().index, 1);
        }

        let src = StoredImageSource::new(
            handle.clone(),
            meta.clone(),
            blobs.clone(),
            repo,
            "team/app".into(),
            manifest_d.clone(),
        );
        // Another repository's blob exists in the (global) blob store but is not linked here.
        let err = src.open_blob(&secret).err().unwrap().to_string();
        assert!(err.contains("not linked into repository team/app"), "{err}");
        // Nor is a manifest of this repository readable through another one.
        let foreign = StoredImageSource::new(
            handle.clone(),
            meta.clone(),
            blobs.clone(),
            other,
            "other/secret".into(),
            manifest_d.clone(),
        );
        let err = scanner
            .scan_image(&foreign, &PlatformSpec::default(), &NoProgress)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not in repository other/secret"), "{err}");
        // A blob of the other repository, named through it, streams fine.
        let theirs = StoredImageSource::new(
            handle,
            meta,
            blobs,
            other,
            "other/secret".into(),
            manifest_d,
        );
        let mut buf = String::new();
        std::io::Read::read_to_string(&mut theirs.open_blob(&secret).unwrap(), &mut buf).unwrap();
        assert_eq!(buf, "another tenant's layer");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_blob_missing_from_the_blob_store_is_an_error_naming_it() {
    let s = stores().await;
    let repo = repository(&s, "team/app").await;
    let img = debian_image();
    let root = put_image(&s, repo, &img, "v1", false).await;
    // Delete one layer's file behind the metadata's back.
    let layer = Digest::sha256_of(&compress(&img.layers[1].0, img.comp));
    assert!(s.blobs.delete(&layer).await.unwrap());
    let handle = tokio::runtime::Handle::current();
    let (meta, blobs) = (s.meta.clone(), s.blobs.clone());
    let err = tokio::task::spawn_blocking(move || {
        let src = StoredImageSource::new(handle, meta, blobs, repo, "team/app".into(), root);
        Scanner::new(options())
            .unwrap()
            .scan_image(&src, &PlatformSpec::default(), &NoProgress)
            .unwrap_err()
            .to_string()
    })
    .await
    .unwrap();
    assert!(err.contains(&layer.to_string()), "{err}");
    assert!(err.contains("missing from the blob store"), "{err}");
}
