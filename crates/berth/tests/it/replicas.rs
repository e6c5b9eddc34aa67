//! Three `berth serve` processes on one PostgreSQL database and one S3 prefix, behind HAProxy on
//! loopback (issue 15): concurrent skopeo pushes through the balancer while one replica is
//! SIGKILLed; every acknowledged image then pulls byte-identical from every replica, each push
//! is scanned once (with the scanner) and announced once, and garbage collection runs on one
//! leader at a time.
//!
//! Needs `BERTH_TEST_POSTGRES_URL` and the S3 variables (`BERTH_TEST_S3_URL`, `AWS_*`), which
//! scripts/test.sh sets after starting both servers, and `haproxy` (scripts/deps/apt.txt).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::clients::{image, layout_digest, write_index};
use crate::common::{ADMIN_PASSWORD, Berth, free_addr, run, run_ok};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A fresh database on the test server; its URL.
pub fn fresh_database(label: &str) -> String {
    let base = std::env::var("BERTH_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("BERTH_TEST_POSTGRES_URL is not set: run scripts/test.sh, which starts PostgreSQL")
    });
    let name = format!("{label}_{}", uuid_hex());
    run_ok(Command::new("psql").args([
        base.as_str(),
        "-v",
        "ON_ERROR_STOP=1",
        "-qc",
        &format!("CREATE DATABASE {name}"),
    ]));
    match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("BERTH_TEST_POSTGRES_URL has no database part: {base}"),
    }
}

/// A prefix of its own in the test bucket.
pub fn fresh_s3_prefix(label: &str) -> String {
    let base = std::env::var("BERTH_TEST_S3_URL").unwrap_or_else(|_| {
        panic!("BERTH_TEST_S3_URL is not set: run scripts/test.sh, which starts the S3 server")
    });
    format!("{}/{label}-{}", base.trim_end_matches('/'), uuid_hex())
}

fn uuid_hex() -> String {
    let mut bytes = [0u8; 8];
    getrandom(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn getrandom(buf: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .expect("/dev/urandom");
}

/// Runs SQL on `url` with psql; its unaligned, tuples-only output.
pub fn psql(url: &str, sql: &str) -> String {
    run_ok(Command::new("psql").args([url, "-v", "ON_ERROR_STOP=1", "-AtF", "\t", "-c", sql]))
}

/// HAProxy in front of `backends`, each checked on `/readyz` twice a second and balanced per
/// request, so the requests of one upload land on different replicas.
struct Balancer {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Balancer {
    fn start(backends: &[String]) -> Balancer {
        let dir = tempfile::tempdir().unwrap();
        let addr = free_addr();
        let mut cfg = format!(
            "global\n  maxconn 2000\n\
             defaults\n  mode http\n  timeout connect 2s\n  timeout client 120s\n  \
             timeout server 120s\n  option redispatch\n  retries 3\n\
             frontend registry\n  bind {addr}\n  default_backend replicas\n\
             backend replicas\n  balance roundrobin\n  option httpchk GET /readyz\n  \
             http-check expect status 200\n"
        );
        for (i, b) in backends.iter().enumerate() {
            cfg.push_str(&format!(
                "  server r{i} {b} check inter 500ms fall 1 rise 1\n"
            ));
        }
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, cfg).unwrap();
        let child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&path)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run haproxy (scripts/install-deps.sh installs it): {e}")
            });
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "haproxy did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Balancer {
            child,
            addr,
            _dir: dir,
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What every replica of one deployment shares.
struct Cluster {
    env: Vec<(String, String)>,
    dirs: Vec<tempfile::TempDir>,
    pg: String,
}

impl Cluster {
    fn new(label: &str, extra: &[(&str, &str)]) -> Cluster {
        let pg = fresh_database(label);
        let mut key = [0u8; 32];
        getrandom(&mut key);
        let key = base64_std(&key);
        let mut env = vec![
            ("BERTH_METADATA_URL".to_string(), pg.clone()),
            ("BERTH_BLOBS_URL".to_string(), fresh_s3_prefix(label)),
            ("BERTH_MASTER_KEY".to_string(), key),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Cluster {
            env,
            dirs: Vec::new(),
            pg,
        }
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// A replica on `addr`, with a data directory of its own that it must leave empty.
    fn replica(&mut self, addr: &str) -> Berth {
        let dir = tempfile::tempdir().unwrap();
        let b = Berth::start_with_env(dir.path(), addr, &self.env());
        wait_ready(&b);
        self.dirs.push(dir);
        b
    }

    /// A management API key made with `berth admin` on the shared store: its JSON.
    fn access_key(&self, description: &str) -> serde_json::Value {
        let key = self.berth(&[
            "admin",
            "access-key",
            "create",
            "--json",
            "--description",
            description,
        ]);
        assert!(
            key.status.success(),
            "{}",
            String::from_utf8_lossy(&key.stderr)
        );
        serde_json::from_slice(&key.stdout).unwrap()
    }

    fn berth(&self, args: &[&str]) -> std::process::Output {
        let dir = tempfile::tempdir().unwrap();
        run(Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .envs(self.env()))
    }
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The status line of `GET path` on `addr`.
fn status_line(addr: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.lines().next().map(str::to_string)
}

fn wait_ready(b: &Berth) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if status_line(&b.addr, "/readyz").is_some_and(|l| l.contains(" 200 ")) {
            return;
        }
        assert!(Instant::now() < deadline, "{} never became ready", b.addr);
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn creds() -> String {
    format!("admin:{ADMIN_PASSWORD}")
}

/// The files of an OCI layout's blobs, by name.
fn blob_files(layout: &Path) -> BTreeMap<String, Vec<u8>> {
    let dir = layout.join("blobs/sha256");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn three_replicas_lose_no_acknowledged_push_when_one_is_killed() {
    let work = tempfile::tempdir().unwrap();
    // Every push is scanned, against a database built from a real (small) Alpine secdb extract.
    let db = tempfile::tempdir().unwrap();
    run_ok(
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["db", "import", "--db"])
            .arg(db.path())
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../vulndb/tests/fixtures/feeds/alpine/v3.10-main.json"
            )),
    );
    let db_dir = db.path().display().to_string();
    let mut cluster = Cluster::new(
        "replicas",
        &[
            ("BERTH_WEBHOOK_ALLOW_PRIVATE", "true"),
            ("BERTH_GC_INTERVAL_SECS", "0"),
            ("BERTH_SCAN_ON_PUSH", "true"),
            ("BERTH_SCAN_DB_DIR", &db_dir),
        ],
    );
    let addrs: Vec<String> = (0..3).map(|_| free_addr()).collect();
    let mut replicas: Vec<Option<Berth>> = addrs.iter().map(|a| Some(cluster.replica(a))).collect();
    let lb = Balancer::start(&addrs);

    // A webhook on the namespace, through the vendor SDK against the balancer.
    let hook = Hook::start();
    let key = cluster.access_key("replicas");
    run_ok(
        Command::new(crate::common::test_python())
            .arg(format!(
                "{}/tests/clients/replicas_hook.py",
                env!("CARGO_MANIFEST_DIR")
            ))
            .env("BERTH_URL", format!("http://{}", lb.addr))
            .env("AK", key["AccessKeyId"].as_str().unwrap())
            .env("SK", key["SecretAccessKey"].as_str().unwrap())
            .env("HOOK_URL", &hook.url),
    );

    // Eight images pushed at once through the balancer; replica 1 dies while they run.
    const IMAGES: usize = 8;
    let layouts: Vec<PathBuf> = (0..IMAGES)
        .map(|i| {
            let dir = work.path().join(format!("src{i}"));
            let m = image(&dir, &format!("arch{i}"), 3);
            write_index(&dir, m, "v1");
            dir
        })
        .collect();
    let pushes: Vec<_> = layouts
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let src = format!("oci:{}:v1", dir.display());
            let dest = format!("docker://{}/rep/app{i}:v1", lb.addr);
            std::thread::spawn(move || {
                run(Command::new("skopeo")
                    .args(["copy", "--retry-times", "3", "--dest-tls-verify=false"])
                    .args(["--dest-creds", &creds(), &src, &dest]))
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    replicas[1].take().unwrap().kill();
    let outputs: Vec<_> = pushes.into_iter().map(|p| p.join().unwrap()).collect();
    // A push whose request was on the killed replica fails (502 from the balancer); the client
    // pushes again, through the survivors. What was acknowledged before must be intact either
    // way, and the retried pushes must succeed.
    let mut acknowledged: Vec<usize> = Vec::new();
    for (i, o) in outputs.iter().enumerate() {
        if o.status.success() {
            acknowledged.push(i);
            continue;
        }
        eprintln!(
            "push {i} failed, pushing again:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let src = format!("oci:{}:v1", layouts[i].display());
        run_ok(
            Command::new("skopeo")
                .args(["copy", "--retry-times", "3", "--dest-tls-verify=false"])
                .args(["--dest-creds", &creds(), &src])
                .arg(format!("docker://{}/rep/app{i}:v1", lb.addr)),
        );
        acknowledged.push(i);
    }
    assert_eq!(acknowledged.len(), IMAGES);
    // The dead replica comes back (on the same address) and must serve the same content.
    replicas[1] = Some(cluster.replica(&addrs[1]));

    for &i in &acknowledged {
        let src = blob_files(&layouts[i]);
        let want = layout_digest(&layouts[i], "v1");
        for (r, replica) in replicas.iter().enumerate() {
            let replica = replica.as_ref().unwrap();
            let out = work.path().join(format!("out{i}-{r}"));
            run_ok(
                Command::new("skopeo")
                    .args(["copy", "--src-tls-verify=false", "--src-creds", &creds()])
                    .arg(format!("docker://{}/rep/app{i}:v1", replica.addr))
                    .arg(format!("oci:{}:v1", out.display())),
            );
            assert_eq!(
                layout_digest(&out, "v1"),
                want,
                "image {i} from replica {r}"
            );
            let got = blob_files(&out);
            for (name, bytes) in &src {
                assert_eq!(
                    got.get(name),
                    Some(bytes),
                    "blob {name} of image {i} from replica {r}"
                );
            }
        }
    }

    // Each push announced once: one delivery id per tag, whatever replica ran the job.
    let deadline = Instant::now() + Duration::from_secs(30);
    let deliveries = loop {
        let d = hook.deliveries();
        if d.len() >= IMAGES || Instant::now() > deadline {
            break d;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    for i in &acknowledged {
        let ids = deliveries
            .get(&format!("rep/app{i}"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(ids.len(), 1, "deliveries for rep/app{i}: {deliveries:?}");
    }

    // Each pushed manifest scanned once, by whichever replica claimed the job; none is left
    // queued or running (a scan whose replica died is failed as interrupted, not run twice).
    if cfg!(feature = "scanner") {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let pending = psql(
                &cluster.pg,
                "SELECT count(*) FROM scans WHERE status IN ('Queued', 'Scanning')",
            );
            if pending.trim() == "0" {
                break;
            }
            assert!(Instant::now() < deadline, "scans still pending: {pending}");
            std::thread::sleep(Duration::from_millis(200));
        }
        let per_digest = psql(
            &cluster.pg,
            "SELECT m.digest, count(s.id) FROM manifests m \
             LEFT JOIN scans s ON s.digest = m.digest GROUP BY m.digest",
        );
        for line in per_digest.lines() {
            assert!(line.ends_with("\t1"), "scans per manifest: {per_digest}");
        }
        assert_eq!(per_digest.lines().count(), IMAGES, "{per_digest}");
    }

    // No replica wrote state into its data directory.
    for dir in &cluster.dirs {
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            left.is_empty(),
            "a replica wrote {left:?} into its data directory"
        );
    }

    // Garbage collection: of three collections started at once, one runs and the others are
    // told a collection is already running.
    let gcs: Vec<_> = (0..3)
        .map(|_| {
            let env: Vec<(String, String)> = cluster.env.clone();
            std::thread::spawn(move || {
                let dir = tempfile::tempdir().unwrap();
                run(Command::new(env!("CARGO_BIN_EXE_berth"))
                    .args(["gc", "--data-dir"])
                    .arg(dir.path())
                    .envs(env))
            })
        })
        .collect();
    let outcomes: Vec<_> = gcs.into_iter().map(|g| g.join().unwrap()).collect();
    let ran = outcomes.iter().filter(|o| o.status.success()).count();
    let busy = outcomes
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stderr).contains("already collecting"))
        .count();
    assert!(ran >= 1, "no collection ran: {outcomes:?}");
    assert_eq!(ran + busy, 3, "{outcomes:?}");
    let manifests = psql(&cluster.pg, "SELECT count(*) FROM manifests");
    assert_eq!(manifests.trim(), IMAGES.to_string());
    drop(lb);
}

/// Receives webhook deliveries: the delivery ids per repository.
struct Hook {
    url: String,
    seen: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl Hook {
    fn start() -> Hook {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let seen: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
        let record = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let record = record.clone();
                std::thread::spawn(move || serve_hook(conn, &record));
            }
        });
        Hook { url, seen }
    }

    fn deliveries(&self) -> HashMap<String, Vec<String>> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve_hook(conn: std::net::TcpStream, seen: &Mutex<HashMap<String, Vec<String>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut length = 0usize;
    let mut delivery = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = v.trim().parse().unwrap_or(0),
                "x-berth-delivery" => delivery = v.trim().to_string(),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body)
        && let Some(repo) = v["repository"].as_str()
    {
        let mut seen = seen.lock().unwrap();
        let ids = seen.entry(repo.to_string()).or_default();
        if !ids.contains(&delivery) {
            ids.push(delivery);
        }
    }
    let mut conn = conn;
    let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
}

#[test]
fn blob_pulls_redirect_to_presigned_s3_urls() {
    let work = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::new("redirect", &[("BERTH_BLOBS_REDIRECT", "true")]);
    let replica = cluster.replica(&free_addr());
    let src = work.path().join("src");
    let m = image(&src, "amd64", 2);
    write_index(&src, m.clone(), "v1");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "--dest-tls-verify=false", "--dest-creds", &creds()])
            .arg(format!("oci:{}:v1", src.display()))
            .arg(format!("docker://{}/redir/app:v1", replica.addr)),
    );
    // A blob GET is answered with a redirect to the object store, after the usual checks.
    let layer = blob_files(&src)
        .into_iter()
        .find(|(_, bytes)| bytes.starts_with(&[0x1f, 0x8b]))
        .map(|(name, bytes)| (format!("sha256:{name}"), bytes))
        .unwrap();
    let head = run_ok(Command::new("curl").args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{redirect_url}",
        "-u",
        &creds(),
        &replica.url(&format!("/v2/redir/app/blobs/{}", layer.0)),
    ]));
    let (code, location) = head.split_once(' ').unwrap();
    assert_eq!(code, "307", "{head}");
    assert!(location.contains("X-Amz-Signature="), "{location}");
    // Without credentials: no redirect, no URL.
    let anonymous = run_ok(Command::new("curl").args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &replica.url(&format!("/v2/redir/app/blobs/{}", layer.0)),
    ]));
    assert_eq!(anonymous, "401");
    // The URL serves the blob's bytes, and a real client pulls the image through redirects.
    let fetched = work.path().join("fetched");
    run_ok(
        Command::new("curl")
            .args(["-sf", "-o"])
            .arg(&fetched)
            .arg(location),
    );
    assert_eq!(std::fs::read(&fetched).unwrap(), layer.1);
    let out = work.path().join("out");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "--src-tls-verify=false", "--src-creds", &creds()])
            .arg(format!("docker://{}/redir/app:v1", replica.addr))
            .arg(format!("oci:{}:v1", out.display())),
    );
    assert_eq!(layout_digest(&out, "v1"), m["digest"].as_str().unwrap());
}

#[test]
fn a_replica_waits_for_its_database_and_says_so() {
    // A database that does not exist yet: the server is up, but not ready, and says why.
    let base = std::env::var("BERTH_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| panic!("BERTH_TEST_POSTGRES_URL is not set: run scripts/test.sh"));
    let name = format!("late_{}", uuid_hex());
    let pg = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    let mut key = [0u8; 32];
    getrandom(&mut key);
    let key = base64_std(&key);
    let dir = tempfile::tempdir().unwrap();
    let s3 = fresh_s3_prefix("late");
    let replica = Berth::start_with_env(
        dir.path(),
        &free_addr(),
        &[
            ("BERTH_METADATA_URL", &pg),
            ("BERTH_BLOBS_URL", &s3),
            ("BERTH_MASTER_KEY", &key),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = status_line(&replica.addr, "/readyz").unwrap_or_default();
        if ready.contains(" 503 ") {
            break;
        }
        assert!(Instant::now() < deadline, "/readyz never said 503: {ready}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        status_line(&replica.addr, "/healthz")
            .unwrap()
            .contains(" 200 ")
    );
    assert!(
        status_line(&replica.addr, "/v2/")
            .unwrap()
            .contains(" 503 ")
    );
    // The database appears: the replica connects on its next try and serves.
    run_ok(Command::new("psql").args([base.as_str(), "-qc", &format!("CREATE DATABASE {name}")]));
    wait_ready(&replica);
    let v2 = status_line(&replica.addr, "/v2/").unwrap();
    assert!(v2.contains(" 401 "), "{v2}");
}

#[test]
fn a_signed_request_replayed_to_another_replica_is_refused() {
    let mut cluster = Cluster::new("replay", &[]);
    let a = cluster.replica(&free_addr());
    let b = cluster.replica(&free_addr());
    let key = cluster.access_key("replay");
    let out = run_ok(
        Command::new(crate::common::test_python())
            .arg(format!(
                "{}/tests/clients/replicas_replay.py",
                env!("CARGO_MANIFEST_DIR")
            ))
            .args([&a.addr, &b.addr])
            .arg(key["AccessKeyId"].as_str().unwrap())
            .arg(key["SecretAccessKey"].as_str().unwrap()),
    );
    let outcomes: Vec<String> = serde_json::from_str(out.trim()).unwrap();
    assert_ne!(outcomes[0], "SignatureNonceUsed", "{outcomes:?}");
    assert_eq!(outcomes[1], "SignatureNonceUsed", "{outcomes:?}");
}

/// The digest replica `addr` serves for `repo:tag` (a manifest HEAD), if any.
fn served_digest(addr: &str, repo: &str, tag: &str) -> Option<String> {
    let out = run(Command::new("curl").args([
        "-sI",
        "-u",
        &creds(),
        "-H",
        "Accept: application/vnd.oci.image.manifest.v1+json",
        &format!("http://{addr}/v2/{repo}/manifests/{tag}"),
    ]));
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("docker-content-digest:")
            .map(|d| d.trim().to_string())
    })
}

#[test]
fn a_moved_tag_is_seen_by_every_replica_within_a_second() {
    let work = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::new("moved", &[]);
    let a = cluster.replica(&free_addr());
    let b = cluster.replica(&free_addr());
    let push = |arch: &str, addr: &str| {
        let src = work.path().join(arch);
        let m = image(&src, arch, 1);
        write_index(&src, m.clone(), "v1");
        run_ok(
            Command::new("skopeo")
                .args(["copy", "--dest-tls-verify=false", "--dest-creds", &creds()])
                .arg(format!("oci:{}:v1", src.display()))
                .arg(format!("docker://{addr}/moved/app:v1")),
        );
        m["digest"].as_str().unwrap().to_string()
    };
    let first = push("amd64", &a.addr);
    // Replica B reads the tag, and caches it (for 5 s without a notice).
    assert_eq!(
        served_digest(&b.addr, "moved/app", "v1"),
        Some(first.clone())
    );
    assert_eq!(served_digest(&b.addr, "moved/app", "v1"), Some(first));
    let second = push("arm64", &a.addr);
    let moved = Instant::now();
    loop {
        if served_digest(&b.addr, "moved/app", "v1").as_deref() == Some(second.as_str()) {
            break;
        }
        assert!(
            moved.elapsed() < Duration::from_secs(1),
            "replica B still served the old digest a second after the tag moved"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
