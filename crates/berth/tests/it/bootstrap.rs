//! Only `berth serve` creates the admin user: a command run first on a fresh data directory must
//! not leave an admin whose generated password was never shown.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use common::{ADMIN_PASSWORD, Berth};
use std::process::Command;

#[tokio::test(flavor = "multi_thread")]
async fn gc_on_a_fresh_data_directory_leaves_the_admin_to_serve() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["gc", "--data-dir"])
        .arg(dir.path())
        .env_remove("BERTH_ADMIN_PASSWORD")
        .env("BERTH_LOG", "warn")
        .output()
        .expect("berth gc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("password"), "{stderr}");

    // The first `serve` creates the admin with the password it is given.
    let b = Berth::start(dir.path());
    let r = reqwest::Client::new()
        .get(b.url("/v2/"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
}
