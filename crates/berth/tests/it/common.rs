//! Runs the real `berth` binary on a free loopback port.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_PASSWORD: &str = "process-test-password";

pub struct Berth {
    pub child: Child,
    pub addr: String,
}

impl Berth {
    pub fn start(data_dir: &Path) -> Berth {
        Self::start_on(data_dir, &free_addr())
    }

    pub fn start_on(data_dir: &Path, addr: &str) -> Berth {
        Self::start_with_env(data_dir, addr, &[])
    }

    /// Starts with extra environment variables (configuration such as `BERTH_BASE_DOMAIN`).
    pub fn start_with_env(data_dir: &Path, addr: &str, env: &[(&str, &str)]) -> Berth {
        let child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["serve", "--listen", addr, "--data-dir"])
            .arg(data_dir)
            .env("BERTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("BERTH_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .spawn()
            .expect("berth starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "berth did not start listening on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Berth {
            child,
            addr: addr.to_string(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates a management API key in the data directory with `berth admin`; (id, secret).
pub fn access_key(data_dir: &Path) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "admin",
            "access-key",
            "create",
            "--json",
            "--description",
            "tests",
            "--data-dir",
        ])
        .arg(data_dir)
        .output()
        .expect("berth admin runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    (
        v["AccessKeyId"].as_str().expect("id").to_string(),
        v["SecretAccessKey"].as_str().expect("secret").to_string(),
    )
}

/// The Python with the test clients (oras-py, the vendor SDKs) installed.
pub fn test_python() -> String {
    std::env::var("BERTH_TEST_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../.deps/venv/bin/python").to_string()
    })
}

pub fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").to_string()
}

/// Runs a command; a command that cannot start is a missing test dependency.
pub fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?} (is it installed? scripts/install-deps.sh installs it): {e}")
    })
}

/// Runs a command that must succeed; returns its standard output.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Berth {
    /// Starts a blob upload as the admin; returns its Location as sent.
    pub async fn start_upload(&self, c: &reqwest::Client, repo: &str) -> String {
        let r = c
            .post(self.url(&format!("/v2/{repo}/blobs/uploads/")))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::ACCEPTED);
        r.headers()["location"].to_str().unwrap().to_string()
    }
}
