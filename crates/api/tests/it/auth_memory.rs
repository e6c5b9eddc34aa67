//! The memory that wrong passwords cost, over real HTTP. It reads the process's resident size,
//! which other tests running alongside would disturb: it relies on nextest running each test in
//! a process of its own (under `cargo test`, run it alone: `cargo test --test it auth_memory`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use common::TestApp;
use reqwest::{Method, StatusCode};

/// The resident set size of this process, in MiB (Linux).
fn rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_passwords_reuse_a_bounded_pool_of_argon2_memory() {
    // No rate limit here: every attempt is verified, so what is measured is the hashing itself.
    let s = TestApp::new()
        .config(|c| {
            c.auth.failed_logins_per_address = 0;
            c.auth.failed_logins_per_user = 0;
        })
        .start()
        .await;
    let r = s.admin(Method::GET, "/v2/").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let Some(before) = rss_mib() else {
        eprintln!("no /proc/self/status: nothing to measure");
        return;
    };
    let attempts = (0..300).map(|i| {
        s.anon(Method::GET, "/v2/")
            .basic_auth("admin", Some(format!("wrong-password-{i}")))
            .send()
    });
    for r in futures::future::join_all(attempts).await {
        assert_eq!(r.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let after = rss_mib().unwrap();
    // argon2 needs 19 MiB per verification; at most one buffer per permitted concurrent
    // verification is kept (2 to 4 on the machines this runs on). Allocating per verification
    // grew the process by hundreds of MiB that stayed.
    let pool = s.app.config.auth.hash_concurrency.max(4) as u64 * 19;
    assert!(
        after.saturating_sub(before) <= pool + 40,
        "resident size grew from {before} to {after} MiB"
    );
    // A legitimate login is answered as before.
    let r = s.admin(Method::GET, "/v2/").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
