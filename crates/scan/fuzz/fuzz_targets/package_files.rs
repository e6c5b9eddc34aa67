//! Package metadata parsers: dpkg status, apk installed, Python METADATA, package.json and
//! lockfiles (npm, yarn, pnpm, poetry, Pipfile, requirements, Gemfile.lock, go.mod), Cargo.lock,
//! Cargo.toml and Gemfile (development-only dependencies), gemspecs, composer files, Go build
//! info (whole and streamed), cargo-auditable, jars.
#![no_main]
use berth_scan::catalog::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = dpkg::parse_status(&text);
    let _ = apk::parse_installed(&text);
    let _ = python::parse_metadata(&text);
    let _ = npm::parse_package_json(data);
    let _ = npm::parse_lock(data);
    let _ = npm::parse_yarn_lock(&text);
    let _ = npm::parse_pnpm_lock(&text);
    let _ = rust::parse_cargo_lock(&text);
    let _ = ruby::parse_gemspec(&text);
    let _ = php::parse(data);
    let _ = python::parse_requirements(&text);
    let _ = python::parse_poetry_lock(&text);
    let _ = python::parse_pipfile_lock(data);
    let _ = ruby::parse_gemfile_lock(&text);
    let _ = golang::parse_go_mod(&text);
    if let Ok(pkgs) = rust::parse_cargo_lock(&text) {
        let manifests = rust::parse_manifest(&text).into_iter().collect();
        let _ = rust::dev_flags(&pkgs, &manifests);
    }
    if let Some(dev) = ruby::gemfile_dev_gems(&text) {
        let _ = ruby::gem_dev_flags(&ruby::parse_gemfile_lock_graph(&text), &dev);
    }
    let _ = binary::packages(data);
    let _ = binary::go_buildinfo(data);
    let _ = binary::elf_section(data, ".dep-v0");
    let limits = berth_scan::Limits::default();
    let budget = berth_scan::budget::MemoryBudget::new(limits.max_buffered_bytes);
    let _ = java::packages("x.jar", data, 0, &limits, &budget, &mut Vec::new());
    let mut go = binary::GoBuildInfoStream::new();
    for chunk in data.chunks(7) {
        go.feed(chunk);
    }
    let _ = go.finish();
});
