//! One test per cataloger, each on an image the test builds.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use berth_scan::catalog::rpm;
use common::*;

#[test]
fn dpkg_status_and_status_d_with_layer_attribution() {
    let status = b"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc (2.36-9)\nVersion: 2.36-9+deb12u4\n\nPackage: removed\nStatus: deinstall ok config-files\nVersion: 1.0\n\nPackage: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n";
    let img = Image::new(
        vec![
            Layer::new("ADD rootfs.tar /")
                .file("/etc/os-release", DEBIAN_OS_RELEASE)
                .file("/var/lib/dpkg/status", b"")
                .file("/var/lib/dpkg/info/libc6:amd64.list", b"/lib\n"),
            Layer::new("RUN apt-get install bash")
                .file("/var/lib/dpkg/status", status)
                .file("/var/lib/dpkg/info/bash.list", b"/bin/bash\n"),
            Layer::new("COPY distroless")
                .file(
                    "/var/lib/dpkg/status.d/tzdata",
                    b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
                )
                .file("/var/lib/dpkg/status.d/tzdata.md5sums", b"x"),
        ],
        Comp::Gzip,
    );
    let r = scan(&img);
    assert_eq!(r.distro.as_ref().unwrap().id, "debian");
    assert_eq!(
        names(&r, "deb"),
        [
            "bash@5.2.15-2+b2",
            "libc6@2.36-9+deb12u4",
            "tzdata@2024a-0+deb12u1"
        ]
    );
    let libc = r.packages.iter().find(|p| p.name == "libc6").unwrap();
    assert_eq!(
        libc.purl,
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc%402.36-9"
    );
    assert_eq!(libc.source_name.as_deref(), Some("glibc"));
    // libc6 was installed by layer 0 (its .list file), bash by layer 1.
    assert_eq!(libc.layer().unwrap().index, 0);
    let bash = r.packages.iter().find(|p| p.name == "bash").unwrap();
    assert_eq!(bash.layer().unwrap().index, 1);
    assert_eq!(
        bash.layer().unwrap().created_by.as_deref(),
        Some("RUN apt-get install bash")
    );
    assert_eq!(bash.locations[0].path, "/var/lib/dpkg/status");
}

#[test]
fn apk_installed_db() {
    let db = b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\nP:busybox-binsh\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\no:busybox\nF:bin\nR:sh\n\n";
    let img = Image::new(
        vec![
            Layer::new("ADD alpine")
                .file(
                    "/etc/os-release",
                    b"ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
                )
                .file("/lib/ld-musl-x86_64.so.1", b"x")
                .file("/lib/apk/db/installed", db),
            Layer::new("RUN apk add busybox-binsh")
                .file("/bin/sh", b"#!")
                .file("/lib/apk/db/installed", db),
        ],
        Comp::Zstd,
    );
    let r = scan(&img);
    assert_eq!(
        names(&r, "apk"),
        ["busybox-binsh@1.36.1-r15", "musl@1.2.4-r2"]
    );
    let bb = r
        .packages
        .iter()
        .find(|p| p.name == "busybox-binsh")
        .unwrap();
    assert_eq!(
        bb.purl,
        "pkg:apk/alpine/busybox-binsh@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1&upstream=busybox"
    );
    assert_eq!(
        bb.layer().unwrap().index,
        1,
        "attributed to the layer of its first file"
    );
    let musl = r.packages.iter().find(|p| p.name == "musl").unwrap();
    assert_eq!(musl.layer().unwrap().index, 0);
    assert_eq!(musl.licenses, ["MIT"]);
}

fn rpm_blobs() -> Vec<Vec<u8>> {
    vec![
        rpm::test_header(
            "bash",
            "5.1.8",
            "6.el9",
            "x86_64",
            "bash-5.1.8-6.el9.src.rpm",
            None,
        ),
        rpm::test_header(
            "openssl-libs",
            "3.0.7",
            "24.el9",
            "x86_64",
            "openssl-3.0.7-24.el9.src.rpm",
            Some(1),
        ),
    ]
}

fn check_rpm(r: &berth_scan::Report, path: &str) {
    assert_eq!(
        names(r, "rpm"),
        ["bash@5.1.8-6.el9", "openssl-libs@1:3.0.7-24.el9"]
    );
    let o = r
        .packages
        .iter()
        .find(|p| p.name == "openssl-libs")
        .unwrap();
    assert_eq!(
        o.purl,
        "pkg:rpm/redhat/openssl-libs@3.0.7-24.el9?arch=x86_64&distro=rhel-9.3&epoch=1&upstream=openssl-3.0.7-24.el9.src.rpm"
    );
    assert_eq!(o.source_name.as_deref(), Some("openssl"));
    assert_eq!(o.locations[0].path, path);
}

const RHEL: &[u8] = b"ID=\"rhel\"\nVERSION_ID=\"9.3\"\n";

#[test]
fn rpm_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rpmdb.sqlite");
    {
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
        )
        .unwrap();
        for b in rpm_blobs() {
            c.execute("INSERT INTO Packages (blob) VALUES (?1)", [b])
                .unwrap();
        }
    }
    let db = std::fs::read(&p).unwrap();
    let img = Image::new(
        vec![
            Layer::new("ADD ubi9")
                .file("/etc/os-release", RHEL)
                .file("/var/lib/rpm/rpmdb.sqlite", &db),
        ],
        Comp::Gzip,
    );
    check_rpm(&scan(&img), "/var/lib/rpm/rpmdb.sqlite");
}

#[test]
fn rpm_berkeley_db() {
    let img = Image::new(
        vec![
            Layer::new("ADD centos7")
                .file("/etc/os-release", RHEL)
                .file("/var/lib/rpm/Packages", &rpm::build_bdb(&rpm_blobs())),
        ],
        Comp::Gzip,
    );
    check_rpm(&scan(&img), "/var/lib/rpm/Packages");
}

#[test]
fn rpm_ndb() {
    let img = Image::new(
        vec![Layer::new("ADD sles").file("/etc/os-release", RHEL).file(
            "/usr/lib/sysimage/rpm/Packages.db",
            &rpm::build_ndb(&rpm_blobs()),
        )],
        Comp::Gzip,
    );
    check_rpm(&scan(&img), "/usr/lib/sysimage/rpm/Packages.db");
}

#[test]
fn corrupt_rpmdb_is_a_warning_not_a_failure() {
    let img = Image::new(
        vec![Layer::new("x").file(
            "/var/lib/rpm/Packages",
            b"garbage that is not a database at all",
        )],
        Comp::None,
    );
    let r = scan(&img);
    assert!(names(&r, "rpm").is_empty());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("/var/lib/rpm/Packages")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn python_dist_info_and_egg_info() {
    let img = Image::new(
        vec![Layer::new("RUN pip install")
            .file("/usr/lib/python3/dist-packages/Requests-2.31.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: Requests\nVersion: 2.31.0\nLicense: Apache 2.0\n\nlong description\nName: bogus\n")
            .file("/usr/local/lib/python3.11/site-packages/six-1.16.0.egg-info/PKG-INFO", b"Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\n")
            .file("/usr/lib/python3/dist-packages/zope_interface-5.0.egg-info", b"Metadata-Version: 1.1\nName: zope.interface\nVersion: 5.0\n")],
        Comp::Gzip,
    );
    let r = scan(&img);
    assert_eq!(
        names(&r, "python"),
        ["Requests@2.31.0", "six@1.16.0", "zope.interface@5.0"]
    );
    let req = r.packages.iter().find(|p| p.name == "Requests").unwrap();
    assert_eq!(req.purl, "pkg:pypi/requests@2.31.0");
    assert_eq!(req.licenses, ["Apache 2.0"]);
    assert_eq!(
        r.packages
            .iter()
            .find(|p| p.name == "zope.interface")
            .unwrap()
            .purl,
        "pkg:pypi/zope-interface@5.0"
    );
}

fn npm_app_layers() -> Vec<Layer> {
    let lock = br#"{"name":"app","lockfileVersion":3,"packages":{"":{"name":"app","version":"1.0.0"},"node_modules/lodash":{"version":"4.17.21"},"node_modules/@babel/core":{"version":"7.24.0"},"node_modules/only-in-lock":{"version":"0.1.0"},"node_modules/jest":{"version":"29.7.0","dev":true}}}"#;
    vec![
        Layer::new("RUN npm ci")
            .file(
                "/app/package.json",
                br#"{"name":"app","version":"1.0.0","private":true}"#,
            )
            .file("/app/package-lock.json", lock)
            .file(
                "/app/node_modules/lodash/package.json",
                br#"{"name":"lodash","version":"4.17.21","license":"MIT"}"#,
            )
            .file(
                "/app/node_modules/@babel/core/package.json",
                br#"{"name":"@babel/core","version":"7.24.0"}"#,
            )
            .file("/app/node_modules/broken/package.json", b"{not json")
            // Not packages: a package's own subdirectories with a package.json that sets the
            // module type (terser's `dist/` and `bin/`, fast-uri's `benchmark/`), which
            // `npm ls` does not list.
            .file(
                "/app/node_modules/lodash/dist/package.json",
                br#"{"name":"dist","private":true,"version":"1.0.0","type":"commonjs"}"#,
            )
            .file(
                "/app/node_modules/@babel/core/benchmark/package.json",
                br#"{"name":"benchmark","version":"1.0.0","private":true}"#,
            ),
    ]
}

#[test]
fn npm_image_lists_installed_packages_only() {
    let r = scan(&Image::new(npm_app_layers(), Comp::Gzip));
    assert_eq!(
        names(&r, "npm"),
        ["@babel/core@7.24.0", "app@1.0.0", "lodash@4.17.21"],
        "the lockfile is not read in an image"
    );
    let babel = r.packages.iter().find(|p| p.name == "@babel/core").unwrap();
    assert_eq!(babel.purl, "pkg:npm/%40babel/core@7.24.0");
    assert_eq!(babel.evidence, berth_scan::Evidence::Installed);
    assert_eq!(babel.locations.len(), 1, "{:?}", babel.locations);
    assert_eq!(
        r.packages
            .iter()
            .find(|p| p.name == "lodash")
            .unwrap()
            .licenses,
        ["MIT"]
    );
}

#[test]
fn npm_dir_merges_lockfile_and_installed_by_purl_without_dev() {
    let r = scan_as_dir(npm_app_layers(), options());
    assert_eq!(
        names(&r, "npm"),
        [
            "@babel/core@7.24.0",
            "app@1.0.0",
            "lodash@4.17.21",
            "only-in-lock@0.1.0"
        ],
        "jest is dev: true"
    );
    let babel = r.packages.iter().find(|p| p.name == "@babel/core").unwrap();
    assert_eq!(
        babel.locations.len(),
        2,
        "found in node_modules and in the lockfile: {:?}",
        babel.locations
    );
    assert_eq!(babel.evidence, berth_scan::Evidence::Installed);
    let evidence: Vec<_> = babel.locations.iter().map(|l| l.evidence).collect();
    assert!(
        evidence.contains(&berth_scan::Evidence::Declared),
        "{evidence:?}"
    );
    let only = r
        .packages
        .iter()
        .find(|p| p.name == "only-in-lock")
        .unwrap();
    assert_eq!(only.evidence, berth_scan::Evidence::Declared);
    assert_eq!(only.locations[0].path, "/app/package-lock.json");

    let with_dev = scan_as_dir(
        npm_app_layers(),
        berth_scan::ScanOptions {
            include_dev: true,
            ..options()
        },
    );
    let jest = with_dev.packages.iter().find(|p| p.name == "jest").unwrap();
    assert!(jest.dev, "{jest:?}");
    assert_eq!(jest.evidence, berth_scan::Evidence::Declared);
}

#[test]
fn go_binary_build_info() {
    let mut bin = elf_with_sections(&[(".text", b"\x90\x90")]);
    while !bin.len().is_multiple_of(16) {
        bin.push(0);
    }
    bin.extend(berth_scan::catalog::binary::build_go_buildinfo(
        "go1.21.5",
        "path\tgithub.com/acme/tool\nmod\tgithub.com/acme/tool\tv1.4.0\th1:x\ndep\tgolang.org/x/text\tv0.14.0\th1:y\n",
    ));
    let img = Image::new(
        vec![Layer::new("COPY tool").file_mode("/usr/local/bin/tool", &bin, 0o755)],
        Comp::Gzip,
    );
    let r = scan(&img);
    assert_eq!(
        names(&r, "go-module"),
        [
            "github.com/acme/tool@v1.4.0",
            "golang.org/x/text@v0.14.0",
            "stdlib@go1.21.5"
        ]
    );
    let t = r
        .packages
        .iter()
        .find(|p| p.name == "golang.org/x/text")
        .unwrap();
    assert_eq!(t.purl, "pkg:golang/golang.org/x/text@v0.14.0");
    assert_eq!(t.locations[0].path, "/usr/local/bin/tool");
}

#[test]
fn java_archives_nested_with_pom_and_manifest() {
    let inner = zip(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\nImplementation-Title: guava\r\nImplementation-Version: 33.0.0-jre\r\n"),
        ("META-INF/maven/com.google.guava/guava/pom.properties", b"groupId=com.google.guava\nartifactId=guava\nversion=33.0.0-jre\n"),
    ]);
    let manifest_only = zip(&[("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\nImplementation-Version: 2.1\nImplementation-Vendor-Id: org.example\n")]);
    let war = zip(&[
        ("WEB-INF/lib/guava-33.0.0-jre.jar", &inner),
        ("WEB-INF/lib/tiny-2.1.jar", &manifest_only),
        (
            "META-INF/maven/com.acme/shop/pom.properties",
            b"groupId=com.acme\nartifactId=shop\nversion=1.2.3\n",
        ),
    ]);
    let img = Image::new(
        vec![Layer::new("COPY shop.war").file("/srv/shop.war", &war)],
        Comp::Gzip,
    );
    let r = scan(&img);
    assert_eq!(
        names(&r, "java-archive"),
        ["guava@33.0.0-jre", "shop@1.2.3", "tiny@2.1"]
    );
    let g = r.packages.iter().find(|p| p.name == "guava").unwrap();
    assert_eq!(g.purl, "pkg:maven/com.google.guava/guava@33.0.0-jre");
    assert_eq!(g.locations[0].path, "/srv/shop.war");
    assert_eq!(
        r.packages.iter().find(|p| p.name == "tiny").unwrap().purl,
        "pkg:maven/org.example/tiny@2.1"
    );
}

#[test]
fn java_nesting_limit_is_enforced() {
    let mut jar = zip(&[(
        "META-INF/maven/a/a/pom.properties",
        b"groupId=a\nartifactId=a\nversion=1\n",
    )]);
    for i in 0..8 {
        jar = zip(&[(&format!("lib/level{i}.jar"), &jar)]);
    }
    let img = Image::new(vec![Layer::new("x").file("/deep.jar", &jar)], Comp::None);
    let r = scan(&img);
    assert!(
        r.warnings.iter().any(|w| w.contains("nested deeper")),
        "{:?}",
        r.warnings
    );
}

/// A Rust binary built with cargo-auditable next to the Cargo.lock it was built from. The lock
/// names crates of every target (`windows-sys`, `winapi`) and build tools (`cc`) that the Linux
/// binary does not contain.
fn rust_layers() -> Vec<Layer> {
    let lock = b"version = 3\n\n[[package]]\nname = \"tokio\"\nversion = \"1.36.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"windows-sys\"\nversion = \"0.48.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"winapi\"\nversion = \"0.3.9\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"cc\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n";
    let json = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local","root":true},{"name":"tokio","version":"1.36.0","source":"crates.io","dependencies":[]},{"name":"cc","version":"1.0.0","source":"crates.io","kind":"build"}]}"#;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, json).unwrap();
    let bin = elf_with_sections(&[(".text", b"\x90"), (".dep-v0", &z.finish().unwrap())]);
    vec![
        Layer::new("COPY")
            .file("/src/Cargo.lock", lock)
            .file_mode("/usr/bin/app", &bin, 0o755),
    ]
}

#[test]
fn rust_image_lists_the_binary_crates_not_the_lock() {
    let r = scan(&Image::new(rust_layers(), Comp::Gzip));
    assert_eq!(names(&r, "rust-crate"), ["app@0.1.0", "tokio@1.36.0"]);
    let tokio = r.packages.iter().find(|p| p.name == "tokio").unwrap();
    assert_eq!(
        (tokio.purl.as_str(), tokio.found_by.as_str()),
        ("pkg:cargo/tokio@1.36.0", "cargo-auditable-binary-cataloger")
    );
    assert_eq!(tokio.locations.len(), 1, "{:?}", tokio.locations);
}

#[test]
fn rust_dir_lists_the_lock_too() {
    let r = scan_as_dir(rust_layers(), options());
    assert_eq!(
        names(&r, "rust-crate"),
        [
            "app@0.1.0",
            "cc@1.0.0",
            "tokio@1.36.0",
            "winapi@0.3.9",
            "windows-sys@0.48.0"
        ]
    );
    let app = r.packages.iter().find(|p| p.name == "app").unwrap();
    assert_eq!(app.locations.len(), 2, "in Cargo.lock and in the binary");
    assert_eq!(app.evidence, berth_scan::Evidence::Installed);
    let winapi = r.packages.iter().find(|p| p.name == "winapi").unwrap();
    assert_eq!(winapi.evidence, berth_scan::Evidence::Declared);
}

#[test]
fn ruby_gemspecs() {
    let spec = b"# -*- encoding: utf-8 -*-\n# stub: rake 13.1.0 ruby lib\n\nGem::Specification.new do |s|\n  s.name = \"rake\".freeze\n  s.version = \"13.1.0\"\n  s.licenses = [\"MIT\".freeze]\nend\n";
    let img = Image::new(
        vec![Layer::new("RUN gem install").file(
            "/usr/local/lib/ruby/gems/3.3.0/specifications/rake-13.1.0.gemspec",
            spec,
        )],
        Comp::Gzip,
    );
    let r = scan(&img);
    assert_eq!(names(&r, "gem"), ["rake@13.1.0"]);
    assert_eq!(r.packages[0].purl, "pkg:gem/rake@13.1.0");
    assert_eq!(r.packages[0].licenses, ["MIT"]);
}

#[test]
fn php_composer_installed_and_lock() {
    // Composer 2 lists what `composer install` put in place, and names the dev packages.
    let installed = br#"{"packages":[{"name":"monolog/monolog","version":"3.5.0","license":["MIT"]},{"name":"phpunit/phpunit","version":"10.5.0"}],"dev":true,"dev-package-names":["phpunit/phpunit"]}"#;
    let lock = br#"{"packages":[{"name":"monolog/monolog","version":"3.5.0"},{"name":"psr/log","version":"3.0.0"}],"packages-dev":[{"name":"phpunit/phpunit","version":"10.5.0"}]}"#;
    let layers = || {
        vec![
            Layer::new("RUN composer install")
                .file("/var/www/vendor/composer/installed.json", installed)
                .file("/var/www/composer.lock", lock),
        ]
    };
    let r = scan(&Image::new(layers(), Comp::Gzip));
    assert_eq!(
        names(&r, "php-composer"),
        ["monolog/monolog@3.5.0"],
        "installed, not dev; the lock is not read in an image"
    );
    let m = &r.packages[0];
    assert_eq!(m.purl, "pkg:composer/monolog/monolog@3.5.0");
    assert_eq!(m.locations.len(), 1);

    let d = scan_as_dir(layers(), options());
    assert_eq!(
        names(&d, "php-composer"),
        ["monolog/monolog@3.5.0", "psr/log@3.0.0"]
    );
    let m = d
        .packages
        .iter()
        .find(|p| p.name == "monolog/monolog")
        .unwrap();
    assert_eq!(m.locations.len(), 2);

    let all = scan_as_dir(
        layers(),
        berth_scan::ScanOptions {
            include_dev: true,
            ..options()
        },
    );
    let unit = all
        .packages
        .iter()
        .find(|p| p.name == "phpunit/phpunit")
        .unwrap();
    assert!(unit.dev);
    assert_eq!(unit.evidence, berth_scan::Evidence::Installed);
    assert_eq!(unit.locations.len(), 2, "{:?}", unit.locations);
}

/// The issue's first image: a gem whose editor plugin ships a `package-lock.json` (mostly
/// `dev: true` entries) and nothing of it installed.
fn gem_with_package_lock() -> Vec<Layer> {
    let spec = b"Gem::Specification.new do |s|\n  s.name = \"ruby-lsp\".freeze\n  s.version = \"0.17.2\"\nend\n";
    let lock = br#"{"name":"ruby-lsp","version":"0.7.0","lockfileVersion":3,"packages":{"":{"name":"ruby-lsp","version":"0.7.0"},"node_modules/vscode-languageclient":{"version":"9.0.1"},"node_modules/semver":{"version":"7.6.0"},"node_modules/typescript":{"version":"5.4.2","dev":true},"node_modules/eslint":{"version":"8.57.0","dev":true},"node_modules/mocha":{"version":"10.3.0","dev":true},"node_modules/@types/node":{"version":"20.11.0","dev":true}}}"#;
    vec![
        Layer::new("RUN gem install ruby-lsp")
            .file(
                "/usr/local/bundle/specifications/ruby-lsp-0.17.2.gemspec",
                spec,
            )
            .file(
                "/usr/local/bundle/gems/ruby-lsp-0.17.2/vscode/package-lock.json",
                lock,
            ),
    ]
}

#[test]
fn gem_shipping_a_package_lock_is_only_a_gem_in_the_image() {
    let r = scan(&Image::new(gem_with_package_lock(), Comp::Gzip));
    assert_eq!(names(&r, "gem"), ["ruby-lsp@0.17.2"]);
    assert!(names(&r, "npm").is_empty(), "{:?}", names(&r, "npm"));
    assert_eq!(r.packages.len(), 1);

    let d = scan_as_dir(gem_with_package_lock(), options());
    assert_eq!(
        names(&d, "npm"),
        ["semver@7.6.0", "vscode-languageclient@9.0.1"],
        "declared, without the dev entries"
    );
    assert!(
        d.packages
            .iter()
            .filter(|p| p.kind.as_str() == "npm")
            .all(|p| p.evidence == berth_scan::Evidence::Declared && !p.dev)
    );
    let all = scan_as_dir(
        gem_with_package_lock(),
        berth_scan::ScanOptions {
            include_dev: true,
            ..options()
        },
    );
    assert_eq!(names(&all, "npm").len(), 6);
    assert_eq!(all.packages.iter().filter(|p| p.dev).count(), 4);
}

#[test]
fn app_with_a_yarn_lock_and_nothing_installed() {
    let layers = || {
        vec![
            Layer::new("COPY . /srv/app")
                .file(
                    "/srv/app/package.json",
                    br#"{"name":"web","version":"2.0.0","dependencies":{"lodash":"^4.17.21"},"devDependencies":{"@babel/code-frame":"^7.5.5"}}"#,
                )
                .file("/srv/app/yarn.lock", YARN_V1.as_bytes()),
        ]
    };
    let r = scan(&Image::new(layers(), Comp::Gzip));
    assert_eq!(
        names(&r, "npm"),
        ["web@2.0.0"],
        "only the app itself is on disk"
    );
    let d = scan_as_dir(layers(), options());
    let declared: Vec<_> = d
        .packages
        .iter()
        .filter(|p| p.evidence == berth_scan::Evidence::Declared)
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect();
    // The manifest next to the lock makes @babel/code-frame development-only.
    assert_eq!(
        declared,
        [
            "@4lolo/resize-observer-polyfill@1.5.2",
            "lodash@4.17.21",
            "should-type@1.3.0"
        ]
    );
    let all = scan_as_dir(
        layers(),
        berth_scan::ScanOptions {
            include_dev: true,
            ..options()
        },
    );
    let frame = all
        .packages
        .iter()
        .find(|p| p.name == "@babel/code-frame")
        .unwrap();
    assert!(frame.dev);
}

#[test]
fn dir_scans_read_every_lockfile_format() {
    let poetry = b"[[package]]\nname = \"Django\"\nversion = \"4.2.1\"\ncategory = \"main\"\n\n[[package]]\nname = \"pytest\"\nversion = \"8.0.0\"\ncategory = \"dev\"\n\n[[package]]\nname = \"black\"\nversion = \"24.1.0\"\ngroups = [\"lint\"]\n\n[[package]]\nname = \"attrs\"\nversion = \"23.2.0\"\ngroups = [\"main\", \"dev\"]\n";
    let pipfile = br#"{"_meta":{},"default":{"requests":{"version":"==2.31.0"},"gitdep":{"git":"https://x/y.git"}},"develop":{"flake8":{"version":"==7.0.0"}}}"#;
    let gemfile = b"GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (3.0.9)\n    rails (7.1.3)\n      rack (>= 2)\n\nPLATFORMS\n  ruby\n";
    let gomod = b"module example.com/app\n\ngo 1.22\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.9.1\n\tgolang.org/x/net v0.20.0 // indirect\n)\n";
    let layers = || {
        vec![
            Layer::new("COPY . /src")
                .file("/src/py/poetry.lock", poetry)
                .file("/src/pipenv/Pipfile.lock", pipfile)
                .file("/src/req/requirements.txt", b"urllib3==2.0.7\nidna>=3\n")
                .file("/src/req/requirements-dev.txt", b"coverage==7.4.0\n")
                .file("/src/rb/Gemfile.lock", gemfile)
                .file("/src/go/go.mod", gomod),
        ]
    };
    let img = scan(&Image::new(layers(), Comp::Gzip));
    assert!(img.packages.is_empty(), "{:?}", img.packages);
    let d = scan_as_dir(layers(), options());
    assert_eq!(
        names(&d, "python"),
        [
            "Django@4.2.1",
            "attrs@23.2.0",
            "requests@2.31.0",
            "urllib3@2.0.7"
        ]
    );
    assert_eq!(names(&d, "gem"), ["rack@3.0.9", "rails@7.1.3"]);
    assert_eq!(
        names(&d, "go-module"),
        [
            "github.com/gin-gonic/gin@v1.9.1",
            "golang.org/x/net@v0.20.0"
        ]
    );
    let gin = d
        .packages
        .iter()
        .find(|p| p.name == "github.com/gin-gonic/gin")
        .unwrap();
    assert_eq!(gin.purl, "pkg:golang/github.com/gin-gonic/gin@v1.9.1");
    assert!(
        d.packages
            .iter()
            .all(|p| p.evidence == berth_scan::Evidence::Declared)
    );
    let all = scan_as_dir(
        layers(),
        berth_scan::ScanOptions {
            include_dev: true,
            ..options()
        },
    );
    let mut dev: Vec<_> = all
        .packages
        .iter()
        .filter(|p| p.dev)
        .map(|p| p.name.clone())
        .collect();
    dev.sort();
    assert_eq!(dev, ["black", "coverage", "flake8", "pytest"]);
}

#[test]
fn os_detection_fallbacks() {
    let img = Image::new(
        vec![Layer::new("x").file("/etc/alpine-release", b"3.18.4\n")],
        Comp::None,
    );
    let d = scan(&img).distro.unwrap();
    assert_eq!((d.id.as_str(), d.version_id.as_str()), ("alpine", "3.18.4"));
    let img = Image::new(
        vec![
            Layer::new("x")
                .file("/usr/lib/os-release", DEBIAN_OS_RELEASE)
                .symlink("/etc/os-release", "../usr/lib/os-release"),
        ],
        Comp::None,
    );
    assert_eq!(scan(&img).distro.unwrap().version_codename, "bookworm");
    let img = Image::new(
        vec![Layer::new("x").file("/etc/debian_version", b"11.9\n")],
        Comp::None,
    );
    assert_eq!(scan(&img).distro.unwrap().version_id, "11");
}

const YARN_V1: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.5.5":
  version "7.5.5"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.5.5.tgz#bc0782f6d69f7b7d49531219699b988f669a8f9d"
  integrity sha512-27d4lZoomVyo51VegxI20xZPuSHusqbQag/ztrBC7wegWoQ1nLREPVSKSW8byhTlzTKyNE4ifaTA6lCp7JjpFw==
  dependencies:
    "@babel/highlight" "^7.0.0"

"@4lolo/resize-observer-polyfill@^1.5.2":
  version "1.5.2"
  resolved "https://registry.yarnpkg.com/@4lolo/resize-observer-polyfill/-/resize-observer-polyfill-1.5.2.tgz#58868fc7224506236b5550d0c68357f0a874b84b"

lodash@^4.17.20, lodash@^4.17.21:
  version "4.17.21"
  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.21.tgz#679591c564c3bffaae8454cf0b3df370c3d6911c"

should-type@https://github.com/shouldjs/type.git#1.3.0:
  version "1.3.0"
  resolved "https://github.com/shouldjs/type.git#31d26945cb3b4ad21d9308776e4442c461666390"

local-thing@file:./vendor/local-thing:
  version "9.9.9"
"#;

const YARN_BERRY: &str = r#"# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"@babel/core@npm:^7.24.0":
  version: 7.24.0
  resolution: "@babel/core@npm:7.24.0"
  dependencies:
    "@babel/code-frame": "npm:^7.23.5"
    version: "npm:1.0.0"
  checksum: 10c0/fe9ee
  languageName: node
  linkType: hard

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  languageName: unknown
  linkType: soft

"ms@npm:2.1.2, ms@npm:^2.1.1":
  version: 2.1.2
  resolution: "ms@npm:2.1.2"
  languageName: node
  linkType: hard

"resolve@patch:resolve@npm%3A^1.22.0#optional!builtin<compat/resolve>":
  version: 1.22.8
  resolution: "resolve@patch:resolve@npm%3A1.22.8#optional!builtin<compat/resolve>::version=1.22.8&hash=c3c19d"
  languageName: node
  linkType: hard

"resolve@npm:^1.22.0":
  version: 1.22.8
  resolution: "resolve@npm:1.22.8"
  languageName: node
  linkType: hard
"#;

const PNPM_V9: &str = r#"lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      react-dom:
        specifier: ^18.2.0
        version: 18.2.0(react@18.2.0)

packages:

  '@babel/runtime@7.24.0':
    resolution: {integrity: sha512-Chk32uHMg6TnQdvw2e9IlqPpFX/6NLuK0Ys2PqLb7/gL5uFn9mXvK715FGLlOLQrcO4qIkNHkvPGktzzXexsFw==}
    engines: {node: '>=6.9.0'}

  react-dom@18.2.0:
    resolution: {integrity: sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==}
    peerDependencies:
      react: ^18.2.0

  react@18.2.0:
    resolution: {integrity: sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==}

  local-lib@file:packages/local-lib:
    resolution: {directory: packages/local-lib, type: directory}

snapshots:

  react-dom@18.2.0(react@18.2.0):
    dependencies:
      react: 18.2.0
"#;

const PNPM_V6: &str = "lockfileVersion: '6.0'\n\npackages:\n\n  /@babel/runtime@7.24.0:\n    resolution: {integrity: sha512-x}\n    dev: false\n\n  /react-dom@18.2.0(react@18.2.0):\n    resolution: {integrity: sha512-y}\n    dev: false\n";

const PNPM_V5: &str = "lockfileVersion: 5.4\n\npackages:\n\n  /@babel/runtime/7.24.0:\n    resolution: {integrity: sha512-x}\n    dev: false\n\n  /react-dom/18.2.0_react@18.2.0:\n    resolution: {integrity: sha512-y}\n    dev: false\n";

#[test]
fn yarn_and_pnpm_lockfiles() {
    let r = scan_as_dir(
        vec![
            Layer::new("COPY . /src")
                .file("/v1/yarn.lock", YARN_V1.as_bytes())
                .file("/berry/yarn.lock", YARN_BERRY.as_bytes())
                .file("/p9/pnpm-lock.yaml", PNPM_V9.as_bytes())
                .file("/p6/pnpm-lock.yaml", PNPM_V6.as_bytes())
                .file("/p5/pnpm-lock.yaml", PNPM_V5.as_bytes())
                // A dependency's own lockfile describes its development, not this image.
                .file(
                    "/app/node_modules/dep/yarn.lock",
                    b"left-pad@^1.0.0:\n  version \"1.3.0\"\n",
                )
                .file("/bad/pnpm-lock.yaml", b"packages: [unclosed"),
        ],
        options(),
    );
    assert_eq!(
        names(&r, "npm"),
        [
            "@4lolo/resize-observer-polyfill@1.5.2",
            "@babel/code-frame@7.5.5",
            "@babel/core@7.24.0",
            "@babel/runtime@7.24.0",
            "lodash@4.17.21",
            "ms@2.1.2",
            "react@18.2.0",
            "react-dom@18.2.0",
            "resolve@1.22.8",
            "should-type@1.3.0",
        ]
    );
    let runtime = r
        .packages
        .iter()
        .find(|p| p.name == "@babel/runtime")
        .unwrap();
    assert_eq!(runtime.purl, "pkg:npm/%40babel/runtime@7.24.0");
    assert_eq!(runtime.found_by, "javascript-lock-cataloger");
    assert_eq!(runtime.locations.len(), 3, "{:?}", runtime.locations);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("/bad/pnpm-lock.yaml")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn go_binary_build_info_before_go_1_18() {
    // The pointer-format header of Go 1.13–1.17, in a hand-built ELF executable.
    let bin = berth_scan::catalog::binary::build_go_buildinfo_pre118(
        "go1.17.13",
        "path\tgithub.com/acme/old\nmod\tgithub.com/acme/old\tv0.3.0\th1:x\ndep\tgithub.com/sirupsen/logrus\tv1.8.1\th1:y\n",
        true,
        false,
    );
    let img = Image::new(
        vec![Layer::new("COPY old").file_mode("/usr/local/bin/old", &bin, 0o755)],
        Comp::Gzip,
    );
    let r = scan(&img);
    assert_eq!(
        names(&r, "go-module"),
        [
            "github.com/acme/old@v0.3.0",
            "github.com/sirupsen/logrus@v1.8.1",
            "stdlib@go1.17.13"
        ]
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

/// Cargo.lock and Gemfile.lock do not mark development-only dependencies; the manifests next to
/// them do (a workspace member's `[dev-dependencies]`, the Gemfile's `development`/`test`
/// groups), and the lock's graph carries the mark to what only those need. Without the
/// manifest nothing is dropped.
#[test]
fn cargo_and_bundler_dev_dependencies_from_their_manifests() {
    const CRATES_IO: &str = "source = \"registry+https://github.com/rust-lang/crates.io-index\"";
    let lock = format!(
        "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"serde\", \"tempfile\", \"cc\", \"helper\"]\n\n[[package]]\nname = \"helper\"\nversion = \"0.1.0\"\ndependencies = [\"proptest\"]\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.200\"\n{CRATES_IO}\n\n[[package]]\nname = \"tempfile\"\nversion = \"3.10.0\"\n{CRATES_IO}\ndependencies = [\"fastrand\"]\n\n[[package]]\nname = \"fastrand\"\nversion = \"2.0.0\"\n{CRATES_IO}\n\n[[package]]\nname = \"proptest\"\nversion = \"1.4.0\"\n{CRATES_IO}\ndependencies = [\"serde\"]\n\n[[package]]\nname = \"cc\"\nversion = \"1.0.90\"\n{CRATES_IO}\n"
    );
    let bare = format!(
        "version = 4\n\n[[package]]\nname = \"tool\"\nversion = \"0.2.0\"\ndependencies = [\"itoa\"]\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.10\"\n{CRATES_IO}\n"
    );
    let app_toml = b"[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[workspace]\nmembers = [\"crates/*\"]\n\n[dependencies]\nserde = \"1\"\nhelper = { path = \"crates/helper\" }\n\n[build-dependencies]\ncc = \"1\"\n\n[dev-dependencies]\ntempfile = \"3\"\n";
    let helper_toml =
        b"[package]\nname = \"helper\"\nversion = \"0.1.0\"\n\n[dev-dependencies]\nproptest = \"1\"\n";
    let gemfile = b"source \"https://rubygems.org\"\n\ngem \"rails\", \"~> 7.1\"\n\ngroup :development, :test do\n  gem \"rspec-rails\"\nend\n";
    let gem_lock = b"GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (3.0.9)\n    rails (7.1.3)\n      rack (>= 2)\n    rspec-core (3.13.0)\n    rspec-rails (6.1.1)\n      rack (>= 2)\n      rspec-core (~> 3.13)\n\nPLATFORMS\n  ruby\n\nDEPENDENCIES\n  rails (~> 7.1)\n  rspec-rails\n\nBUNDLED WITH\n   2.5.6\n";
    let layers = || {
        vec![
            Layer::new("COPY . /src")
                .file("/src/rs/Cargo.lock", lock.as_bytes())
                .file("/src/rs/Cargo.toml", app_toml)
                .file("/src/rs/crates/helper/Cargo.toml", helper_toml)
                // A lock without its manifest: nothing can be told apart.
                .file("/src/bare/Cargo.lock", bare.as_bytes())
                .file("/src/rb/Gemfile.lock", gem_lock)
                .file("/src/rb/Gemfile", gemfile),
        ]
    };
    let by_path = |r: &berth_scan::Report, kind: &str, dir: &str| -> Vec<String> {
        let mut v: Vec<String> = r
            .packages
            .iter()
            .filter(|p| p.kind.as_str() == kind)
            .filter(|p| p.locations.iter().any(|l| l.path.starts_with(dir)))
            .map(|p| format!("{}{}", p.name, if p.dev { " (dev)" } else { "" }))
            .collect();
        v.sort();
        v
    };
    let d = scan_as_dir(layers(), options());
    assert_eq!(
        by_path(&d, "rust-crate", "/src/rs/"),
        ["app", "cc", "helper", "serde"]
    );
    assert_eq!(
        by_path(&d, "rust-crate", "/src/bare/"),
        ["itoa", "tool"],
        "no manifest: all kept"
    );
    assert_eq!(by_path(&d, "gem", "/src/rb/"), ["rack", "rails"]);
    let all = scan_as_dir(
        layers(),
        berth_scan::ScanOptions {
            include_dev: true,
            ..options()
        },
    );
    assert_eq!(
        by_path(&all, "rust-crate", "/src/rs/"),
        [
            "app",
            "cc",
            "fastrand (dev)",
            "helper",
            "proptest (dev)",
            "serde",
            "tempfile (dev)"
        ]
    );
    assert_eq!(
        by_path(&all, "gem", "/src/rb/"),
        ["rack", "rails", "rspec-core (dev)", "rspec-rails (dev)"]
    );
}

/// What bad input gets: a malformed lockfile of each format is a warning naming it, an
/// oversized one is skipped with a warning, and the rest of the tree is still scanned.
#[test]
fn malformed_and_oversized_lockfiles_are_warnings_not_failures() {
    let mut big = b"{\"lockfileVersion\":3,\"packages\":{".to_vec();
    big.resize(2 << 20, b' ');
    big.extend_from_slice(b"}}");
    let layers = || {
        vec![
            Layer::new("COPY . /src")
                .file("/src/a/Cargo.lock", b"[[package]\nname = ")
                .file("/src/b/package-lock.json", b"{\"packages\": [")
                .file("/src/c/composer.lock", b"{not json")
                .file("/src/d/poetry.lock", b"[[package]]\nname = 1 = 2")
                .file("/src/e/Pipfile.lock", b"[]]")
                .file("/src/f/pnpm-lock.yaml", b"a: &x [*x]\n")
                .file("/src/g/package-lock.json", &big)
                .file("/src/h/Gemfile.lock", b"GEM\n  specs:\n    rack (3.0.9)\n")
                .file("/src/h/Gemfile", b"group :test do\n  gem \"rack\"\n"),
        ]
    };
    let opts = berth_scan::ScanOptions {
        limits: berth_scan::Limits {
            max_buffered_file_size: 1 << 20,
            ..berth_scan::Limits::default()
        },
        ..options()
    };
    let r = scan_as_dir(layers(), opts);
    for bad in [
        "/src/a/Cargo.lock",
        "/src/b/package-lock.json",
        "/src/c/composer.lock",
        "/src/d/poetry.lock",
        "/src/e/Pipfile.lock",
        "/src/f/pnpm-lock.yaml",
        "/src/g/package-lock.json",
    ] {
        assert!(
            r.warnings.iter().any(|w| w.contains(bad)),
            "no warning for {bad}: {:?}",
            r.warnings
        );
    }
    // The Gemfile's blocks do not balance: nothing is marked, so rack is kept.
    assert_eq!(names(&r, "gem"), ["rack@3.0.9"]);
}
