//! Package catalogers. Two kinds:
//! - file analysers (`binary`, `java`) run on each file while its layer streams past;
//! - database catalogers (the rest) run on the squashed filesystem, reading the few files kept
//!   in memory for them (`keep_content` decides which).
use crate::fs::Filesystem;
use crate::model::Distro;

mod common;

pub mod apk;
pub mod binary;
pub mod dpkg;
pub mod golang;
pub mod java;
pub mod npm;
pub mod os;
pub mod php;
pub mod python;
pub mod rpm;
pub mod ruby;
pub mod rust;

pub use common::{Found, purl};

/// Lockfiles and manifests: they declare packages, they do not show them installed. Read in
/// `dir:` scans only (as Syft and Trivy do), where they are what there is.
pub fn is_declared_file(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    matches!(
        base,
        "package-lock.json"
            | "yarn.lock"
            | "pnpm-lock.yaml"
            | "Cargo.lock"
            | "composer.lock"
            | "poetry.lock"
            | "Pipfile.lock"
            | "Gemfile.lock"
            | "go.mod"
    ) || python::is_requirements_file(base)
}

/// Manifests read next to a lockfile only to tell development-only dependencies apart
/// (`Cargo.toml` for `Cargo.lock`, `Gemfile` for `Gemfile.lock`); they declare no packages.
fn is_dev_manifest(base: &str) -> bool {
    matches!(base, "Cargo.toml" | "Gemfile")
}

/// What the catalogers read, beyond the installed-package sources every scan reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogOptions {
    /// Read lockfiles and manifests (`dir:` scans).
    pub declared: bool,
    /// Keep development-only dependencies.
    pub include_dev: bool,
}

/// Files kept in memory for the database catalogers and baseline checks; `declared`: the
/// lockfiles and manifests too (`dir:` scans).
pub fn keep_content(path: &str, declared: bool) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    (declared && (is_declared_file(path) || is_dev_manifest(base)))
        || matches!(
            path,
            "/etc/os-release"
                | "/usr/lib/os-release"
                | "/etc/alpine-release"
                | "/etc/debian_version"
                | "/etc/redhat-release"
                | "/etc/centos-release"
                | "/etc/system-release"
                | "/etc/lsb-release"
                | "/var/lib/dpkg/status"
                | "/lib/apk/db/installed"
                | "/usr/lib/apk/db/installed"
                | "/etc/passwd"
                | "/etc/shadow"
        )
        || path.starts_with("/var/lib/dpkg/status.d/")
        || rpm::is_rpmdb(path)
        || path.ends_with(".dist-info/METADATA")
        || path.ends_with(".egg-info/PKG-INFO")
        || (path.ends_with(".egg-info") && path.contains("-packages/"))
        || (base == "package.json" && npm::is_package_manifest(path))
        || (base == "installed.json" && path.ends_with("/composer/installed.json"))
        || (base.ends_with(".gemspec") && path.contains("/specifications/"))
        || crate::baseline::is_credential_path(path)
}

/// The OS package databases: allowed up to `Limits::max_package_db_size` in memory, more than
/// other files, because they are large on full installs and hold every OS package.
pub fn is_package_db(path: &str) -> bool {
    matches!(
        path,
        "/var/lib/dpkg/status" | "/lib/apk/db/installed" | "/usr/lib/apk/db/installed"
    ) || rpm::is_rpmdb(path)
}

/// Runs every database cataloger on the squashed filesystem.
/// Development-only dependencies are dropped here unless `opts.include_dev`.
pub fn catalog_filesystem(
    fs: &Filesystem,
    distro: Option<&Distro>,
    opts: &CatalogOptions,
    warnings: &mut Vec<String>,
) -> Vec<Found> {
    let mut out = Vec::new();
    out.extend(dpkg::catalog(fs, distro));
    out.extend(apk::catalog(fs, distro));
    out.extend(rpm::catalog(fs, distro, warnings));
    out.extend(python::catalog(fs));
    out.extend(npm::catalog(fs));
    out.extend(ruby::catalog(fs));
    out.extend(php::catalog_installed(fs, warnings));
    if opts.declared {
        out.extend(npm::catalog_locks(fs, warnings));
        out.extend(rust::catalog(fs, warnings));
        out.extend(php::catalog_lock(fs, warnings));
        out.extend(python::catalog_declared(fs, warnings));
        out.extend(ruby::catalog_gemfile_lock(fs));
        out.extend(golang::catalog_go_mod(fs));
    }
    // Packages the streaming analysers found in binaries and archives.
    for e in fs.iter() {
        if let Some(d) = &e.derived {
            for p in &d.packages {
                out.push(Found {
                    pkg: p.clone(),
                    path: e.path.clone(),
                    layer: e.layer,
                });
            }
        }
    }
    if !opts.include_dev {
        out.retain(|f| !f.pkg.dev);
    }
    out
}
