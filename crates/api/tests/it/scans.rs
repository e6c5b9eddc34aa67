//! StartImageScan / DescribeImageScan over real HTTP: a pushed Alpine image with a vulnerable
//! package is scanned from the blob store and matched against a database built from real
//! Alpine secdb data (the vulndb fixtures).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use berth_oci::Digest;
use berth_store::{BlobStore, BlobStream, CommitOutcome};
use berth_store::{
    EnqueueOutcome, JobStore as _, MetadataStore, SCAN_JOB, ScanJob, ScanStatus, ScanStore as _,
    now_millis,
};
use common::TestApp;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

fn layer(files: &[(&str, &str)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, path, data.as_bytes()).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

/// A vulnerability database built from the real Alpine v3.10 secdb extract of the vulndb fixtures.
/// The os-release of the Alpine 3.10 images these tests push.
const ALPINE_3_10: &str = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.10.9\n";

/// StartImageScan, then DescribeImageScan until the scan finished (30 s at most); its reply.
async fn scan_and_wait(kcr: &common::kcr::Kcr, image: &[(&str, &str)]) -> serde_json::Value {
    kcr.call("StartImageScan", image).await;
    describe_until(kcr, image, |v| {
        v["Status"] == "Success" || v["Status"] == "Failed"
    })
    .await
}

/// DescribeImageScan until `done` holds (30 s at most); the last reply.
async fn describe_until(
    kcr: &common::kcr::Kcr,
    image: &[(&str, &str)],
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut reply = serde_json::Value::Null;
    for _ in 0..300 {
        reply = kcr.call("DescribeImageScan", image).await;
        if done(&reply) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    reply
}

async fn alpine_db() -> tempfile::TempDir {
    let db = tempfile::tempdir().unwrap();
    let feed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vulndb/tests/fixtures/feeds/alpine/v3.10-main.json"
    );
    berth_vulndb::import(db.path(), &[feed.to_string()])
        .await
        .unwrap();
    db
}

#[tokio::test]
async fn a_pushed_image_is_scanned_from_the_store() {
    let db = alpine_db().await;
    let db_dir = db.path().to_path_buf();
    let server = TestApp::new()
        .config(move |c| c.scan.db_dir = Some(db_dir))
        .start()
        .await;
    let kcr = server.kcr().await;
    let instance = server.app.default_instance.id.clone();
    let i = instance.as_str();
    let alpine = layer(&[
        ("etc/os-release", ALPINE_3_10),
        (
            "lib/apk/db/installed",
            "P:ansible\nV:2.8.0-r0\nA:x86_64\no:ansible\n\nP:musl\nV:1.1.22-r3\nA:x86_64\no:musl\n\n",
        ),
    ]);
    let (_, digest) = server.push_image("team/alpine", "3.10", &alpine).await;
    let d = digest.to_string();
    let image = [
        ("InstanceId", i),
        ("Namespace", "team"),
        ("RepoName", "alpine"),
        ("ImageId", d.as_str()),
    ];

    let before = kcr.call("DescribeImageScan", &image).await;
    assert_eq!(before["Status"], "NotScanned");
    let result = scan_and_wait(&kcr, &image).await;
    assert_eq!(result["Status"], "Success", "{result}");
    assert_eq!(result["FinishTime"].as_str().unwrap().len(), 19);
    let set = result["VulnerabilitySet"].as_array().unwrap();
    assert_eq!(result["TotalCount"], set.len());
    let cve = set
        .iter()
        .find(|v| v["CveName"] == "CVE-2019-10206")
        .unwrap_or_else(|| panic!("{result}"));
    assert_eq!(cve["Feature"], "ansible");
    assert_eq!(cve["CurrentVersion"], "2.8.0-r0");
    assert_eq!(cve["RepairedVersion"], "2.8.4-r0");
    assert!(cve["CveLink"].as_str().unwrap().contains("CVE-2019-10206"));
    let summary = &result["Summary"];
    let counted: i64 = ["High", "Medium", "Low", "Negligible", "Unknown"]
        .iter()
        .map(|k| summary[k].as_i64().unwrap())
        .sum();
    assert_eq!(counted as usize, set.len());

    // Unknown images and digests are refused with the seed's errors.
    let bogus = [
        ("InstanceId", i),
        ("Namespace", "team"),
        ("RepoName", "alpine"),
        ("ImageId", "sha256:00"),
    ];
    kcr.fails("StartImageScan", &bogus, 400, "InvalidParameterValue")
        .await;
    let missing = format!("sha256:{}", "0".repeat(64));
    let absent = [
        ("InstanceId", i),
        ("Namespace", "team"),
        ("RepoName", "alpine"),
        ("ImageId", missing.as_str()),
    ];
    kcr.fails("DescribeImageScan", &absent, 400, "InvalidParameterValue")
        .await;
}

/// What the job runner does first with a scan job: claim it (with a lease of `lease_ms`) and
/// start its scan.
async fn claim(store: &dyn MetadataStore, lease_ms: i64) -> Option<ScanJob> {
    let now = now_millis();
    let c = store
        .claim_job(&[SCAN_JOB], now, now + lease_ms)
        .await
        .unwrap()?;
    store
        .start_scan(c.job.payload.parse().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn one_scan_at_a_time_per_digest_and_interrupted_jobs_fail() {
    let server = TestApp::new().start().await;
    let (_, digest) = server
        .push_image("team/app", "v1", b"not scanned here")
        .await;
    let meta = server.app.meta.clone();
    let repo = meta
        .get_repository(&server.app.default_instance.id, "team/app")
        .await
        .unwrap()
        .unwrap();
    // The store alone (the server's worker may claim the first job at any time).
    meta.enqueue_scan(&repo.instance_id, repo.id, &digest)
        .await
        .unwrap();
    let again = meta
        .enqueue_scan(&repo.instance_id, repo.id, &digest)
        .await
        .unwrap();
    assert!(matches!(again, EnqueueOutcome::InFlight(_)), "{again:?}");
    // A job left running by a stopped process fails, once, and is not queued again.
    let dir = tempfile::tempdir().unwrap();
    let store = berth_store::SqliteMetadataStore::open(&dir.path().join("m.db"))
        .await
        .unwrap();
    use berth_store::{MetadataStore as _, TenancyStore as _};
    let inst = store.ensure_default_instance("default").await.unwrap();
    let ns = store.ensure_namespace(&inst.id, "ns").await.unwrap();
    let r = store
        .ensure_repository(&inst.id, ns.id, "ns/r")
        .await
        .unwrap();
    assert!(store.get_repository_by_id(r.id).await.unwrap().is_some());
    store.enqueue_scan(&inst.id, r.id, &digest).await.unwrap();
    // Its runner stops: the lease (1 ms) runs out.
    let claimed = claim(&store, 1).await.unwrap();
    assert_eq!(claimed.status, ScanStatus::Scanning);
    assert_eq!(claimed.attempts, 1);
    let other = berth_oci::Digest::sha256_of(b"another image");
    store.enqueue_scan(&inst.id, r.id, &other).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    // The next claim finds it abandoned (its one attempt spent): the runner fails the scan
    // (`ScanJobs::abandoned`) and buries the job; it is never handed out again.
    let now = now_millis();
    let abandoned = store
        .claim_job(&[SCAN_JOB], now, now + 60_000)
        .await
        .unwrap()
        .unwrap();
    assert!(abandoned.abandoned());
    assert_eq!(abandoned.job.payload, claimed.id.to_string());
    store
        .finish_scan(
            claimed.id,
            ScanStatus::Failed,
            None,
            Some("interrupted"),
            None,
        )
        .await
        .unwrap();
    assert!(
        store
            .bury_job(abandoned.job.id, abandoned.held_until, "abandoned")
            .await
            .unwrap()
    );
    let failed = store.latest_scan(r.id, &digest).await.unwrap().unwrap();
    assert_eq!(failed.status, ScanStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("interrupted"));
    assert!(failed.finished_at.is_some());
    // The queued job is untouched and is the next one claimed; the failed one never again.
    let next = claim(&store, 60_000).await.unwrap();
    assert_eq!(next.digest, other);
    assert!(claim(&store, 60_000).await.is_none());
    store
        .finish_scan(next.id, ScanStatus::Success, Some("{}"), None, Some("db"))
        .await
        .unwrap();
    let latest = store.latest_scan(r.id, &other).await.unwrap().unwrap();
    assert_eq!(latest.status, ScanStatus::Success);
    assert!(latest.finished_at.is_some());
    // Only a running job is finished: a late second outcome does not overwrite the first.
    store
        .finish_scan(next.id, ScanStatus::Failed, None, Some("late"), None)
        .await
        .unwrap();
    let latest = store.latest_scan(r.id, &other).await.unwrap().unwrap();
    assert_eq!((latest.status, latest.error), (ScanStatus::Success, None));
    // Started again on purpose (StartImageScan), the failed image gets a new job.
    let EnqueueOutcome::Queued(id) = store.enqueue_scan(&inst.id, r.id, &digest).await.unwrap()
    else {
        panic!("a failed job is not in flight");
    };
    assert_ne!(id, claimed.id);
    let job = claim(&store, 60_000).await.unwrap();
    assert_eq!((job.id, job.attempts), (id, 1));
    store
        .finish_scan(job.id, ScanStatus::Success, Some("{}"), None, None)
        .await
        .unwrap();
    // Finished results beyond the newest few per image are pruned (by GC); a queued job never.
    for _ in 0..2 {
        store.enqueue_scan(&inst.id, r.id, &digest).await.unwrap();
        let job = claim(&store, 60_000).await.unwrap();
        store
            .finish_scan(job.id, ScanStatus::Success, Some("{}"), None, None)
            .await
            .unwrap();
    }
    store.enqueue_scan(&inst.id, r.id, &digest).await.unwrap();
    // `digest`: 1 failed + 3 successes, newest 2 kept; `other`: 1 success, kept.
    assert_eq!(store.prune_scans(2).await.unwrap(), 2);
    assert_eq!(store.prune_scans(2).await.unwrap(), 0);
    let queued = claim(&store, 60_000).await.unwrap();
    assert_eq!(queued.digest, digest);
}

/// The issue's failure: a scan that exhausts memory gets the server killed; at restart the
/// job ran again and killed it again (three times). Now the job left running fails at once
/// with an error that says why and how to start it again, and queued jobs still run.
#[tokio::test]
async fn a_scan_interrupted_by_a_stop_fails_at_the_next_start_and_is_not_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let killer = berth_oci::Digest::sha256_of(b"an image whose scan took the server down");
    let queued = berth_oci::Digest::sha256_of(b"an image queued behind it");
    // The state a killed server leaves: one job running (its worker died), one queued.
    let repo_id = {
        let config = berth_api::config::Config {
            data_dir: dir.path().to_path_buf(),
            ..berth_api::config::Config::default()
        };
        let (meta, _) = berth_api::open_stores(&config).await.unwrap();
        let inst = meta.ensure_default_instance("default").await.unwrap();
        let ns = meta.ensure_namespace(&inst.id, "team").await.unwrap();
        let r = meta
            .ensure_repository(&inst.id, ns.id, "team/app")
            .await
            .unwrap();
        meta.enqueue_scan(&inst.id, r.id, &killer).await.unwrap();
        // Claimed with a lease that has already ended: its process was killed.
        let running = claim(meta.as_ref(), 0).await.unwrap();
        assert_eq!(running.digest, killer);
        meta.enqueue_scan(&inst.id, r.id, &queued).await.unwrap();
        r.id
    };
    let empty_db = tempfile::tempdir().unwrap();
    let db_dir = empty_db.path().to_path_buf();
    let server = TestApp::new()
        .data_dir(dir)
        .config(move |c| c.scan.db_dir = Some(db_dir))
        .start()
        .await;
    let meta = server.app.meta.clone();
    let mut jobs = (None, None);
    for _ in 0..300 {
        let k = meta.latest_scan(repo_id, &killer).await.unwrap().unwrap();
        let q = meta.latest_scan(repo_id, &queued).await.unwrap().unwrap();
        let done = |j: &berth_store::ScanJob| j.status.is_finished();
        if done(&k) && done(&q) {
            jobs = (Some(k), Some(q));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (Some(k), Some(q)) = jobs else {
        panic!("the jobs did not finish");
    };
    assert_eq!(k.status, ScanStatus::Failed);
    assert_eq!(
        k.error.as_deref(),
        Some(berth_api::scanning::INTERRUPTED_ERROR)
    );
    assert!(k.error.as_deref().unwrap().contains("StartImageScan"));
    assert_eq!(k.attempts, 1, "not started again");
    // The queued job ran (and failed for want of a database, which is not an interruption).
    assert_eq!(q.attempts, 1);
    assert_eq!(q.status, ScanStatus::Failed);
    assert!(
        q.error
            .as_deref()
            .unwrap()
            .contains("vulnerability database"),
        "{q:?}"
    );
}

#[tokio::test]
async fn images_are_scanned_on_push_where_asked() {
    let db = alpine_db().await;
    let db_dir = db.path().to_path_buf();
    let server = TestApp::new()
        .config(move |c| c.scan.db_dir = Some(db_dir))
        .start()
        .await;
    let kcr = server.kcr().await;
    let i = server.app.default_instance.id.clone();
    let meta = server.app.meta.clone();
    // Namespace `scanned` asks for scans on push; `plain` does not.
    let ns = meta.ensure_namespace(&i, "scanned").await.unwrap();
    meta.set_namespace_scan_on_push(ns.id, true).await.unwrap();
    server.app.caches.clear();
    let alpine = layer(&[("etc/os-release", "ID=alpine\nVERSION_ID=3.10.9\n")]);
    let (_, scanned) = server.push_image("scanned/app", "v1", &alpine).await;
    let (_, plain) = server.push_image("plain/app", "v1", &alpine).await;
    let status = |ns: &'static str, d: String| {
        let kcr = &kcr;
        let i = i.clone();
        async move {
            kcr.call(
                "DescribeImageScan",
                &[
                    ("InstanceId", i.as_str()),
                    ("Namespace", ns),
                    ("RepoName", "app"),
                    ("ImageId", d.as_str()),
                ],
            )
            .await["Status"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let mut last = String::new();
    for _ in 0..300 {
        last = status("scanned", scanned.to_string()).await;
        if last == "Success" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last, "Success");
    assert_eq!(status("plain", plain.to_string()).await, "NotScanned");
}

/// Counts blob reads (the scanner reading layers) and forwards everything.
struct CountReads {
    inner: Arc<dyn BlobStore>,
    reads: Arc<AtomicU64>,
}

#[async_trait::async_trait]
impl BlobStore for CountReads {
    async fn stat(&self, d: &Digest) -> berth_store::Result<Option<u64>> {
        self.inner.stat(d).await
    }
    async fn read(
        &self,
        d: &Digest,
        r: Option<std::ops::Range<u64>>,
    ) -> berth_store::Result<Option<BlobStream>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read(d, r).await
    }
    async fn delete(&self, d: &Digest) -> berth_store::Result<bool> {
        self.inner.delete(d).await
    }
    async fn list(&self) -> berth_store::Result<Vec<(Digest, i64)>> {
        self.inner.list().await
    }
    async fn used_bytes(&self) -> berth_store::Result<u64> {
        self.inner.used_bytes().await
    }
    async fn upload_start(&self, id: &str) -> berth_store::Result<()> {
        self.inner.upload_start(id).await
    }
    async fn upload_size(&self, id: &str) -> berth_store::Result<Option<u64>> {
        self.inner.upload_size(id).await
    }
    async fn upload_append(
        &self,
        id: &str,
        o: u64,
        b: BlobStream,
        m: u64,
    ) -> berth_store::Result<u64> {
        self.inner.upload_append(id, o, b, m).await
    }
    async fn upload_truncate(&self, id: &str, size: u64) -> berth_store::Result<()> {
        self.inner.upload_truncate(id, size).await
    }
    async fn upload_commit(&self, id: &str, d: &Digest) -> berth_store::Result<CommitOutcome> {
        self.inner.upload_commit(id, d).await
    }
    async fn upload_cancel(&self, id: &str) -> berth_store::Result<()> {
        self.inner.upload_cancel(id).await
    }
    async fn list_uploads(&self) -> berth_store::Result<Vec<(String, i64)>> {
        self.inner.list_uploads().await
    }
}

/// The issue's requirement: an image's risk changes when the vulnerability database is updated,
/// with no rescan of its layers. The stored report's packages are matched again (a new scan
/// record with the new database version); the blob store is not read at all.
#[tokio::test]
async fn a_database_update_rematches_stored_scans_without_reading_the_image() {
    // First database: Alpine 3.11 advisories only; the image is Alpine 3.10.
    let db = tempfile::tempdir().unwrap();
    let feed = |f: &str| {
        format!(
            "{}/../vulndb/tests/fixtures/feeds/alpine/{f}",
            env!("CARGO_MANIFEST_DIR")
        )
    };
    berth_vulndb::import(db.path(), &[feed("v3.11-main.yaml")])
        .await
        .unwrap();
    let db_dir = db.path().to_path_buf();
    let reads = Arc::new(AtomicU64::new(0));
    let counted = reads.clone();
    let server = TestApp::new()
        .config(move |c| {
            c.scan.db_dir = Some(db_dir);
            c.scan.db_check_secs = 1;
        })
        .wrap_blobs(move |inner| {
            Arc::new(CountReads {
                inner,
                reads: counted,
            })
        })
        .start()
        .await;
    let kcr = server.kcr().await;
    let instance = server.app.default_instance.id.clone();
    let alpine = layer(&[
        ("etc/os-release", ALPINE_3_10),
        (
            "lib/apk/db/installed",
            "P:ansible\nV:2.8.0-r0\nA:x86_64\no:ansible\n\n",
        ),
    ]);
    let (_, digest) = server.push_image("team/alpine", "3.10", &alpine).await;
    let d = digest.to_string();
    let image = [
        ("InstanceId", instance.as_str()),
        ("Namespace", "team"),
        ("RepoName", "alpine"),
        ("ImageId", d.as_str()),
    ];
    let has_cve = |v: &serde_json::Value| {
        v["VulnerabilitySet"]
            .as_array()
            .is_some_and(|s| s.iter().any(|c| c["CveName"] == "CVE-2019-10206"))
    };
    let first = scan_and_wait(&kcr, &image).await;
    assert_eq!(first["Status"], "Success", "{first}");
    assert!(!has_cve(&first), "not in the first database: {first}");
    let scanned_reads = reads.load(Ordering::SeqCst);
    assert!(scanned_reads > 0, "the scan read the image's blobs");
    let repo = server
        .app
        .meta
        .get_repository(&instance, "team/alpine")
        .await
        .unwrap()
        .unwrap();
    let first_version = server
        .app
        .meta
        .latest_scan(repo.id, &digest)
        .await
        .unwrap()
        .unwrap()
        .db_version;

    // The update: a database built a second later (another version) with the 3.10 advisories.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    berth_vulndb::import(db.path(), &[feed("v3.10-main.json")])
        .await
        .unwrap();
    let after = describe_until(&kcr, &image, has_cve).await;
    assert!(has_cve(&after), "re-matched against the update: {after}");
    assert_eq!(after["Status"], "Success");
    assert_eq!(
        reads.load(Ordering::SeqCst),
        scanned_reads,
        "no blob was read again"
    );
    let latest = server
        .app
        .meta
        .latest_scan(repo.id, &digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.attempts, 0, "a re-match, not a scan");
    assert!(latest.db_version.is_some());
    assert_ne!(
        latest.db_version, first_version,
        "matched against the new database"
    );
}

/// The database's malware hash feed reaches the server's scans (as it does `berth scan`): a
/// file whose SHA-256 is in the feed is reported as malware in the stored report.
#[tokio::test]
async fn server_scans_use_the_databases_malware_hash_feed() {
    use sha2::Digest as _;
    let dir = tempfile::tempdir().unwrap();
    let payload = b"berth server-side malware feed payload\n";
    let feed = dir.path().join("malware.txt");
    let hex: String = sha2::Sha256::digest(payload)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(
        &feed,
        format!("# berth-malware-sha256 v1\n{hex} test dropper\n"),
    )
    .unwrap();
    let db = dir.path().join("db");
    berth_vulndb::import(&db, &[feed.display().to_string()])
        .await
        .unwrap();
    let db_dir = db.clone();
    let server = TestApp::new()
        .config(move |c| c.scan.db_dir = Some(db_dir))
        .start()
        .await;
    let kcr = server.kcr().await;
    let instance = server.app.default_instance.id.clone();
    let image_layer = layer(&[
        ("etc/os-release", ALPINE_3_10),
        ("usr/bin/dropper.bin", std::str::from_utf8(payload).unwrap()),
    ]);
    let (_, digest) = server.push_image("team/dropper", "v1", &image_layer).await;
    let d = digest.to_string();
    let image = [
        ("InstanceId", instance.as_str()),
        ("Namespace", "team"),
        ("RepoName", "dropper"),
        ("ImageId", d.as_str()),
    ];
    let status = scan_and_wait(&kcr, &image).await;
    assert_eq!(status["Status"], "Success", "{status}");
    let repo = server
        .app
        .meta
        .get_repository(&instance, "team/dropper")
        .await
        .unwrap()
        .unwrap();
    let scan = server
        .app
        .meta
        .latest_scan(repo.id, &digest)
        .await
        .unwrap()
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(scan.result.as_deref().unwrap()).unwrap();
    let malware = report["malware"].as_array().unwrap();
    assert!(
        malware.iter().any(
            |m| m.to_string().contains("test dropper") && m.to_string().contains("dropper.bin")
        ),
        "{malware:?}"
    );
}

/// Waits (30 s at most) until the scan cache recorded an outcome for `digest`.
async fn foreign_outcome(
    app: &berth_api::App,
    digest: &Digest,
) -> Option<berth_store::ForeignScanRecord> {
    for _ in 0..300 {
        if let Some(s) = app
            .meta
            .foreign_scans(std::slice::from_ref(digest))
            .await
            .unwrap()
            .pop()
        {
            return Some(s);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Puts a one-pod inventory running `image` into a new cluster of `server`.
async fn run_in_cluster(server: &common::TestServer, name: &str, image: &str) {
    use berth_api::runtime::clusters::{NewCluster, create_cluster, issue_credential};
    let meta = server.app.meta.as_ref();
    let cluster = create_cluster(
        meta,
        &NewCluster {
            name: name.into(),
            cluster_type: Default::default(),
            region: String::new(),
            kubernetes_version: None,
        },
    )
    .await
    .unwrap();
    let cred = issue_credential(meta, &cluster.id, "").await.unwrap();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [{
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "tool", "namespace": "ops", "uid": "uid-tool"},
        "spec": {"containers": [{"name": "tool", "image": image}]},
        "status": {"phase": "Running"}}]});
    let r = server
        .client
        .put(server.url(&format!("/api/runtime/v1/clusters/{}/snapshot", cluster.id)))
        .bearer_auth(&cred.token)
        .body(list.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// Another registry (a second berth, private) holding an Alpine 3.10 image with ansible 2.8.0,
/// and a server whose scan cache has its credentials: (other, server, digest, reference).
async fn with_foreign_image(
    db_dir: std::path::PathBuf,
    db_check_secs: u64,
) -> (common::TestServer, common::TestServer, Digest, String) {
    let other = TestApp::new().start().await;
    let alpine = layer(&[
        ("etc/os-release", ALPINE_3_10),
        (
            "lib/apk/db/installed",
            "P:ansible\nV:2.8.0-r0\nA:x86_64\no:ansible\n\n",
        ),
    ]);
    let (_, digest) = other.push_image("vendor/tool", "1.0", &alpine).await;
    let host = other.base.trim_start_matches("http://").to_string();
    let image = format!("{host}/vendor/tool@{digest}");
    let server = TestApp::new()
        .config(move |c| {
            c.scan.db_dir = Some(db_dir);
            c.scan.db_check_secs = db_check_secs;
            c.scan.cache.registries = vec![berth_api::config::RegistryCredential {
                host,
                username: "admin".into(),
                password: common::ADMIN_PASSWORD.into(),
            }];
        })
        .start()
        .await;
    (other, server, digest, image)
}

/// An image of another registry that runs in a reported cluster is pulled by digest with the
/// configured credentials, scanned once, and its findings reach the export; without
/// credentials the registry's refusal is recorded.
#[tokio::test]
async fn images_of_other_registries_are_pulled_by_digest_and_scanned_once() {
    let db = alpine_db().await;
    let (_other, server, digest, image) = with_foreign_image(db.path().to_path_buf(), 0).await;
    run_in_cluster(&server, "prod", &image).await;
    let scan = foreign_outcome(&server.app, &digest).await.unwrap();
    assert_eq!(scan.error, None);
    assert_eq!(scan.reference, image);
    let report = scan.report.unwrap();
    assert!(report.contains("CVE-2019-10206"), "{report}");

    // Known now: a later inventory change queues nothing for it.
    let candidates = [(digest.clone(), image.clone())];
    assert_eq!(
        berth_api::scan_cache::queue_unknown(&server.app, &candidates)
            .await
            .unwrap(),
        0
    );

    // The export shows its findings though berth does not store it.
    let token = berth_api::api_tokens::create(
        server.app.meta.as_ref(),
        "reader",
        berth_api::api_tokens::ApiRole::ReadOnly,
        None,
    )
    .await
    .unwrap()
    .token;
    let r = server
        .client
        .get(server.url("/v1/export/vuln-mgmt/workloads"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let line: serde_json::Value =
        serde_json::from_str(r.text().await.unwrap().lines().next().unwrap()).unwrap();
    let img = &line["result"]["images"][0];
    assert_eq!(img["id"], digest.to_string().as_str());
    let cves: Vec<&str> = img["scan"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["vulns"].as_array().unwrap())
        .map(|v| v["cve"].as_str().unwrap())
        .collect();
    assert!(cves.contains(&"CVE-2019-10206"), "{img}");

    // Without credentials the private registry refuses, and the failure is recorded.
    let db_dir = db.path().to_path_buf();
    let anonymous = TestApp::new()
        .config(move |c| c.scan.db_dir = Some(db_dir))
        .start()
        .await;
    run_in_cluster(&anonymous, "dev", &image).await;
    let failed = foreign_outcome(&anonymous.app, &digest).await.unwrap();
    assert!(failed.report.is_none());
    assert!(failed.error.is_some());
}

/// A database update re-matches the scan cache's reports too, without pulling the image
/// again: the other registry is gone by then.
#[tokio::test]
async fn a_database_update_rematches_foreign_scans_without_pulling_again() {
    let db = tempfile::tempdir().unwrap();
    let feed = |f: &str| {
        format!(
            "{}/../vulndb/tests/fixtures/feeds/alpine/{f}",
            env!("CARGO_MANIFEST_DIR")
        )
    };
    berth_vulndb::import(db.path(), &[feed("v3.11-main.yaml")])
        .await
        .unwrap();
    let (other, server, digest, image) = with_foreign_image(db.path().to_path_buf(), 1).await;
    run_in_cluster(&server, "prod", &image).await;
    let first = foreign_outcome(&server.app, &digest).await.unwrap();
    let report = first.report.clone().unwrap();
    assert!(
        !report.contains("CVE-2019-10206"),
        "not in the first database"
    );
    // The other registry's data directory goes with it: nothing could be pulled again.
    drop(other);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    berth_vulndb::import(db.path(), &[feed("v3.10-main.json")])
        .await
        .unwrap();
    let mut rematched = None;
    for _ in 0..300 {
        let s = foreign_outcome(&server.app, &digest).await.unwrap();
        if s.report
            .as_deref()
            .is_some_and(|r| r.contains("CVE-2019-10206"))
        {
            rematched = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rematched = rematched.expect("the foreign report was re-matched");
    assert_ne!(rematched.db_version, first.db_version);
    assert_eq!(
        rematched.finished_at, first.finished_at,
        "a re-match, not a new scan"
    );
}
