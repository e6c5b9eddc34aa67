//! `berth migrate`: a single-machine berth (SQLite + files) copied into PostgreSQL + S3, then
//! served from there by a replica with an empty data directory (issue 15, item 4).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::clients::{image, layout_digest, write_index};
use crate::common::{ADMIN_PASSWORD, Berth, access_key, free_addr, run, run_ok, test_python};
use crate::replicas::{fresh_database, fresh_s3_prefix, psql};
use std::process::Command;

fn migrate(data: &std::path::Path, pg: &str, s3: &str) -> std::process::Output {
    run(Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["migrate", "--data-dir"])
        .arg(data)
        .args(["--to", pg, "--blobs", s3]))
}

#[test]
fn a_single_machine_berth_moves_to_postgres_and_s3() {
    let work = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (ak, sk) = access_key(data.path());
    let creds = format!("admin:{ADMIN_PASSWORD}");
    let b = Berth::start(data.path());
    let mut layouts = Vec::new();
    for i in 0..3 {
        let src = work.path().join(format!("src{i}"));
        let m = image(&src, &format!("arch{i}"), 2);
        write_index(&src, m, "v1");
        run_ok(
            Command::new("skopeo")
                .args(["copy", "--dest-tls-verify=false", "--dest-creds", &creds])
                .arg(format!("oci:{}:v1", src.display()))
                .arg(format!("docker://{}/moving/app{i}:v1", b.addr)),
        );
        layouts.push(src);
    }
    let pg = fresh_database("migrate");
    let s3 = fresh_s3_prefix("migrate");

    // Refused while a server holds the data directory: nothing is written to the target.
    let refused = migrate(data.path(), &pg, &s3);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("in use by a running berth"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    b.kill();

    let done = migrate(data.path(), &pg, &s3);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    // 3 images × (2 layers + config); manifests live in the metadata.
    assert_eq!(report["blobs"]["copied"], 9, "{report}");
    // Run again (as after an interruption): every blob is found, no row is copied twice.
    let again = migrate(data.path(), &pg, &s3);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["blobs"]["copied"], 0, "{again}");
    assert_eq!(again["blobs"]["skipped"], 9, "{again}");
    assert!(
        again["tables"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["inserted"] == 0),
        "{again}"
    );
    assert_eq!(psql(&pg, "SELECT count(*) FROM manifests").trim(), "3");

    // A replica with an empty data directory serves what was copied, with the same master key.
    let key = std::fs::read_to_string(data.path().join("master.key")).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let replica = Berth::start_with_env(
        empty.path(),
        &free_addr(),
        &[
            ("BERTH_METADATA_URL", &pg),
            ("BERTH_BLOBS_URL", &s3),
            ("BERTH_MASTER_KEY", key.trim()),
        ],
    );
    for (i, src) in layouts.iter().enumerate() {
        let out = work.path().join(format!("out{i}"));
        run_ok(
            Command::new("skopeo")
                .args(["copy", "--src-tls-verify=false", "--src-creds", &creds])
                .arg(format!("docker://{}/moving/app{i}:v1", replica.addr))
                .arg(format!("oci:{}:v1", out.display())),
        );
        assert_eq!(layout_digest(&out, "v1"), layout_digest(src, "v1"));
    }
    // The management API key made on the single machine still signs (its sealed secret moved).
    let listed = run_ok(Command::new(test_python()).args([
        "-c",
        "import sys; from kscore.session import get_session\n\
         c = get_session().create_client('kcrs', 'cn-beijing-6', use_ssl=False, \
         endpoint_url=sys.argv[1], ks_access_key_id=sys.argv[2], ks_secret_access_key=sys.argv[3])\n\
         print(c.describe_namespace(InstanceId=[i for i in c.describe_instance()['InstanceSet'] \
         if i['InstanceName'] == 'default'][0]['InstanceId'])['TotalCount'])",
        &replica.url(""),
        &ak,
        &sk,
    ]));
    assert_eq!(listed.trim(), "1");
    // The next id PostgreSQL hands out does not collide with a copied one: a new push works.
    let src = work.path().join("new");
    let m = image(&src, "new", 1);
    write_index(&src, m, "v1");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "--dest-tls-verify=false", "--dest-creds", &creds])
            .arg(format!("oci:{}:v1", src.display()))
            .arg(format!("docker://{}/fresh/app:v1", replica.addr)),
    );
    assert!(std::fs::read_dir(empty.path()).unwrap().next().is_none());
}
