//! A berth server on 127.0.0.1 for one test, over real HTTP: [`TestApp`] configures and starts
//! it, [`TestServer`] is the running server with request helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
use berth_api::config::{Config, LimitsConfig};
use berth_oci::Digest;
use berth_store::BlobStore;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

pub mod kcr;

pub const ADMIN_PASSWORD: &str = "admin-secret-for-tests";

/// A berth server to start for one test: `TestApp::new()`, then chained options, then
/// `.start().await`. Without options: a fresh data directory, the default configuration with
/// background GC off, and the admin password [`ADMIN_PASSWORD`].
#[must_use = "a TestApp does nothing until .start().await"]
pub struct TestApp<'a> {
    dir: Option<tempfile::TempDir>,
    tweaks: Vec<ConfigTweak<'a>>,
    wrap: Option<BlobsWrap<'a>>,
}

type ConfigTweak<'a> = Box<dyn FnOnce(&mut Config) + 'a>;
type BlobsWrap<'a> = Box<dyn FnOnce(Arc<dyn BlobStore>) -> Arc<dyn BlobStore> + 'a>;

impl Default for TestApp<'_> {
    fn default() -> Self {
        TestApp::new()
    }
}

impl<'a> TestApp<'a> {
    pub fn new() -> Self {
        TestApp {
            dir: None,
            tweaks: Vec::new(),
            wrap: None,
        }
    }

    /// Changes the configuration; tweaks apply in the order given, after the test defaults.
    pub fn config(mut self, tweak: impl FnOnce(&mut Config) + 'a) -> Self {
        self.tweaks.push(Box::new(tweak));
        self
    }

    /// Changes the connection, upload and size limits (`[limits]`).
    pub fn limits(self, tweak: impl FnOnce(&mut LimitsConfig) + 'a) -> Self {
        self.config(move |c| tweak(&mut c.limits))
    }

    /// Serves an existing data directory (a restart, when another server used it).
    pub fn data_dir(mut self, dir: tempfile::TempDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// Wraps the blob store (to observe or slow down its operations).
    pub fn wrap_blobs(
        mut self,
        wrap: impl FnOnce(Arc<dyn BlobStore>) -> Arc<dyn BlobStore> + 'a,
    ) -> Self {
        self.wrap = Some(Box::new(wrap));
        self
    }

    /// Builds the app on its stores and serves it on a free port of 127.0.0.1.
    pub async fn start(self) -> TestServer {
        let dir = match self.dir {
            Some(dir) => dir,
            None => tempfile::tempdir().unwrap(),
        };
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        config.gc.interval_secs = 0;
        for tweak in self.tweaks {
            tweak(&mut config);
        }
        let (meta, blobs) = berth_api::open_stores(&config).await.unwrap();
        let blobs = match self.wrap {
            Some(wrap) => wrap(blobs),
            None => blobs,
        };
        let (app, boot) = berth_api::build(config, meta, blobs, Some(ADMIN_PASSWORD.into()))
            .await
            .unwrap();
        assert!(boot.generated_admin_password.is_none());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let serving = app.clone();
        tokio::spawn(async move {
            berth_api::serve(serving, listener, std::future::pending())
                .await
                .unwrap();
        });
        TestServer {
            base,
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            app,
            dir,
        }
    }
}

/// A running server (from [`TestApp::start`]) and a client for it.
pub struct TestServer {
    pub base: String,
    pub client: Client,
    pub app: berth_api::App,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request as the admin (Basic auth).
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            self.url(path)
        };
        self.client
            .request(method, url)
            .basic_auth("admin", Some(ADMIN_PASSWORD))
    }

    /// Sends a request line verbatim (clients normalise paths like `a/../b`); returns the status.
    pub async fn raw_status(&self, method: &str, path: &str) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        conn.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        conn.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out);
        text.split(' ').nth(1).unwrap().parse().unwrap()
    }

    pub fn anon(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// Pushes a blob monolithically (POST then PUT) and returns its digest.
    pub async fn push_blob(&self, repo: &str, data: &[u8]) -> Digest {
        let digest = Digest::sha256_of(data);
        let r = self
            .admin(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::ACCEPTED,
            "{}",
            r.text().await.unwrap()
        );
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        let sep = if loc.contains('?') { '&' } else { '?' };
        let r = self
            .admin(
                reqwest::Method::PUT,
                &format!("{}{loc}{sep}digest={digest}", self.base),
            )
            .header("content-type", "application/octet-stream")
            .body(data.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        digest
    }

    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Response {
        self.admin(
            reqwest::Method::PUT,
            &format!("/v2/{repo}/manifests/{reference}"),
        )
        .header("content-type", media_type)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
    }

    /// Pushes config + one layer and an image manifest tagged `tag`; returns (manifest bytes, digest).
    pub async fn push_image(&self, repo: &str, tag: &str, layer: &[u8]) -> (Vec<u8>, Digest) {
        let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
            .to_string();
        let cd = self.push_blob(repo, config.as_bytes()).await;
        let ld = self.push_blob(repo, layer).await;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld.to_string(), "size": layer.len()}],
        })
        .to_string()
        .into_bytes();
        let r = self
            .put_manifest(
                repo,
                tag,
                "application/vnd.oci.image.manifest.v1+json",
                &manifest,
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        let d = Digest::sha256_of(&manifest);
        (manifest, d)
    }
}

pub async fn error_code(r: Response) -> String {
    let status = r.status();
    let text = r.text().await.unwrap();
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body {text:?} is not an error document: {e}"));
    v["errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
