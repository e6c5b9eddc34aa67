//! `berth scan SOURCE`: image scanning, like `trivy image` / `grype` / `syft`, locally.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use berth_registry::scan_source::StoredImageSource;
use berth_scan::output::Format;
use berth_scan::source::registry::{Credentials, RegistryOptions, RegistrySource};
use berth_scan::source::{DockerArchiveSource, OciDirSource};
use berth_scan::{ImageSource, PlatformSpec, Progress, Report, ScanOptions, Scanner, Severity};
use berth_store::ManifestSelector;
use clap::Args;

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// What to scan: registry:REF, oci-dir:PATH[:REF], docker-archive:PATH[:REPO:TAG], dir:PATH,
    /// berth:REPOSITORY@DIGEST or berth:REPOSITORY[:TAG] (an image stored in this berth's data
    /// directory), or a bare reference / path.
    pub source: String,
    /// berth's data directory, for berth: sources [default: ./berth-data].
    #[arg(long, env = "BERTH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Output format: table, json, cyclonedx, spdx or sarif.
    #[arg(long, short = 'f', default_value = "table")]
    pub format: String,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Vulnerability database directory (default: $BERTH_DB_DIR or ~/.cache/berth/db).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Do not match vulnerabilities (SBOM, malware and baseline only).
    #[arg(long)]
    pub skip_db: bool,
    /// Report only findings at or above this severity (negligible, low, medium, high, critical).
    #[arg(long)]
    pub severity: Option<String>,
    /// Exit with this code when findings (at or above --severity) remain.
    #[arg(long, default_value_t = 0)]
    pub exit_code: i32,
    /// Suppress findings by id (text: `ID [exp:YYYY-MM-DD] [pkg:PURL] # reason`, or TOML).
    #[arg(long)]
    pub ignore_file: Option<PathBuf>,
    /// OpenVEX documents whose not_affected/fixed statements suppress vulnerabilities.
    #[arg(long)]
    pub vex: Vec<PathBuf>,
    /// Platform to pick from a multi-platform image (os/arch[/variant]).
    #[arg(long, default_value = "linux/amd64")]
    pub platform: String,
    /// Allow plain HTTP and unverified TLS for the registry.
    #[arg(long)]
    pub insecure: bool,
    /// Registry user name (else ~/.docker/config.json).
    #[arg(long, env = "BERTH_REGISTRY_USERNAME")]
    pub username: Option<String>,
    /// Registry password or token.
    #[arg(long, env = "BERTH_REGISTRY_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Extra YARA rule files or directories (*.yar, *.yara).
    #[arg(long)]
    pub yara_rules: Vec<PathBuf>,
    /// Extra SHA-256 blocklists (`HEX [description]` per line).
    #[arg(long)]
    pub blocklist: Vec<PathBuf>,
    /// Skip malware checks (YARA and blocklist).
    #[arg(long)]
    pub no_malware: bool,
    /// Skip baseline checks.
    #[arg(long)]
    pub no_baseline: bool,
    /// Also report development-only dependencies (lockfile `dev` entries, composer
    /// `packages-dev`, Pipfile `develop`, ...), left out by default.
    #[arg(long)]
    pub include_dev: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

struct Bar(Option<indicatif::ProgressBar>);

impl Progress for Bar {
    fn start(&self, layers: usize, _bytes: u64) {
        if let Some(b) = &self.0 {
            b.set_length(layers as u64);
            b.set_message("reading layers");
        }
    }
    fn layer_done(&self, _index: usize, _bytes: u64) {
        if let Some(b) = &self.0 {
            b.inc(1);
        }
    }
}

enum Source {
    Image(Box<dyn ImageSource + Send>),
    Dir(PathBuf),
}

/// Splits `PATH[:NAME]` when PATH exists and NAME is not part of the path.
fn split_path_name(spec: &str) -> (PathBuf, Option<String>) {
    if Path::new(spec).exists() {
        return (PathBuf::from(spec), None);
    }
    match spec.split_once(':') {
        Some((p, n)) if Path::new(p).exists() => (PathBuf::from(p), Some(n.to_string())),
        _ => (PathBuf::from(spec), None),
    }
}

/// `REPOSITORY@DIGEST` or `REPOSITORY[:TAG]` (default tag `latest`).
fn split_berth_ref(spec: &str) -> anyhow::Result<(String, ManifestSelector)> {
    if let Some((repo, digest)) = spec.split_once('@') {
        let digest: berth_oci::Digest = digest
            .parse()
            .map_err(|e| anyhow::anyhow!("berth:{spec}: bad digest: {e}"))?;
        return Ok((repo.to_string(), ManifestSelector::Digest(digest)));
    }
    // A tag follows the last ':' only when no '/' comes after it.
    match spec.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => {
            berth_oci::validate_tag(tag).map_err(|e| anyhow::anyhow!("berth:{spec}: {e}"))?;
            Ok((repo.to_string(), ManifestSelector::Tag(tag.to_string())))
        }
        _ => Ok((spec.to_string(), ManifestSelector::Tag("latest".into()))),
    }
}

/// `berth:REPOSITORY@DIGEST|:TAG`: opens the stores under the data directory (read through the
/// same traits as the server; SQLite in WAL mode, so a running server is no obstacle) and looks
/// the repository up in the default instance, as the registry does for plain `host:port` pulls.
async fn open_berth_source(args: &ScanArgs, spec: &str) -> anyhow::Result<Source> {
    let (repo_name, selector) = split_berth_ref(spec)?;
    berth_oci::validate_repository(&repo_name).map_err(|e| anyhow::anyhow!("berth:{spec}: {e}"))?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("berth-data"));
    let db = data_dir.join("meta.db");
    if !db.is_file() {
        anyhow::bail!(
            "berth:{spec}: no berth data directory at {} (no meta.db; pass --data-dir or set BERTH_DATA_DIR)",
            data_dir.display()
        );
    }
    let config = berth_api::config::Config {
        data_dir: data_dir.clone(),
        ..Default::default()
    };
    let (meta, blobs) = berth_api::open_stores(&config)
        .await
        .with_context(|| format!("opening the stores in {}", data_dir.display()))?;
    let instance = meta.ensure_default_instance("default").await?;
    let repo = meta
        .get_repository(&instance.id, &repo_name)
        .await?
        .with_context(|| {
            format!(
                "berth:{spec}: no repository {repo_name:?} in {}",
                data_dir.display()
            )
        })?;
    let digest = match &selector {
        ManifestSelector::Digest(d) => d.clone(),
        ManifestSelector::Tag(t) => {
            meta.manifest_meta(repo.id, &selector)
                .await?
                .with_context(|| format!("berth:{spec}: repository {repo_name} has no tag {t:?}"))?
                .digest
        }
    };
    Ok(Source::Image(Box::new(StoredImageSource::new(
        tokio::runtime::Handle::current(),
        meta,
        blobs,
        repo.id,
        repo.name,
        digest,
    ))))
}

async fn open_source(args: &ScanArgs) -> anyhow::Result<Source> {
    let s = args.source.as_str();
    if let Some(spec) = s.strip_prefix("berth:") {
        return open_berth_source(args, spec).await;
    }
    let registry = |r: &str| -> anyhow::Result<Source> {
        let credentials = args.username.clone().map(|u| Credentials {
            username: u,
            password: args.password.clone().unwrap_or_default(),
        });
        // The registry source uses reqwest's blocking client, which must not be built (or
        // dropped) on an async worker thread.
        let options = RegistryOptions {
            credentials,
            insecure: args.insecure,
        };
        let source = tokio::task::block_in_place(|| RegistrySource::new(r, options))?;
        Ok(Source::Image(Box::new(source)))
    };
    if let Some(r) = s.strip_prefix("registry:") {
        return registry(r);
    }
    if let Some(p) = s.strip_prefix("oci-dir:") {
        let (path, name) = split_path_name(p);
        return Ok(Source::Image(Box::new(OciDirSource::open(
            &path,
            name.as_deref(),
        )?)));
    }
    if let Some(p) = s.strip_prefix("docker-archive:") {
        let (path, name) = split_path_name(p);
        return Ok(Source::Image(Box::new(DockerArchiveSource::open(
            &path,
            name.as_deref(),
        )?)));
    }
    if let Some(p) = s.strip_prefix("dir:") {
        return Ok(Source::Dir(PathBuf::from(p)));
    }
    let p = Path::new(s);
    if p.is_dir() {
        if p.join("oci-layout").is_file() {
            return Ok(Source::Image(Box::new(OciDirSource::open(p, None)?)));
        }
        return Ok(Source::Dir(p.to_path_buf()));
    }
    if p.is_file() {
        return Ok(Source::Image(Box::new(DockerArchiveSource::open(p, None)?)));
    }
    registry(s)
}

fn filter_severity(report: &mut Report, min: Severity) {
    report.vulnerabilities.retain(|v| v.severity >= min);
    report.malware.retain(|m| m.severity >= min);
    report.baseline.retain(|b| b.severity >= min);
}

pub async fn run(args: ScanArgs) -> anyhow::Result<i32> {
    let format: Format = args.format.parse().map_err(anyhow::Error::msg)?;
    let min = match &args.severity {
        Some(s) => Some(Severity::parse(s).with_context(|| format!("unknown severity {s:?}"))?),
        None => None,
    };
    let platform: PlatformSpec = args.platform.parse()?;
    let ignore = match &args.ignore_file {
        Some(p) => Some((
            p.display().to_string(),
            berth_scan::suppress::parse_ignore_file(p)?,
        )),
        None => None,
    };
    let mut vex = Vec::new();
    for p in &args.vex {
        vex.push((
            p.display().to_string(),
            berth_scan::suppress::parse_openvex(p)?,
        ));
    }
    let opts = ScanOptions {
        malware: !args.no_malware,
        baseline: !args.no_baseline,
        yara_rule_dirs: args.yara_rules.clone(),
        blocklists: args.blocklist.clone(),
        include_dev: args.include_dev,
        ..ScanOptions::default()
    };
    let show_bar = !args.quiet && std::io::stderr().is_terminal();
    let skip_db = args.skip_db;
    let db_dir = args.db.clone();
    let source = open_source(&args).await?;
    let mut report = tokio::task::spawn_blocking(move || -> anyhow::Result<Report> {
        let bar = Bar(show_bar.then(|| {
            let b = indicatif::ProgressBar::new(0);
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        }));
        // The database is opened before the scan: its malware hash feed joins the blocklist.
        let mut opts = opts;
        let mut db_warning = None;
        let db = if skip_db {
            None
        } else {
            let explicit = db_dir.is_some();
            let dir = db_dir.unwrap_or_else(berth_vulndb::Database::default_dir);
            match berth_vulndb::Database::open(&dir) {
                Ok(db) => Some(db),
                Err(e) if !explicit => {
                    db_warning = Some(format!(
                        "no vulnerability database ({e}); run `berth db update` or pass --db: vulnerabilities were not matched"
                    ));
                    None
                }
                Err(e) => return Err(anyhow::anyhow!("vulnerability database {}: {e}", dir.display())),
            }
        };
        if let Some(db) = &db
            && opts.malware
        {
            opts.blocklist_entries = db.malware_hashes().to_vec();
        }
        let scanner = Scanner::new(opts)?;
        let mut report = match &source {
            Source::Image(src) => scanner.scan_image(src.as_ref(), &platform, &bar)?,
            Source::Dir(p) => scanner.scan_dir(p, &bar)?,
        };
        if let Some(b) = &bar.0 {
            b.finish_and_clear();
        }
        if let Some(db) = &db {
            berth_scan::vuln::match_report(&mut report, db)?;
        }
        report.warnings.extend(db_warning);
        Ok(report)
    })
    .await
    .context("scan task")??;
    let today = berth_scan::suppress::today();
    if let Some((file, rules)) = &ignore {
        berth_scan::suppress::apply_ignore(&mut report, rules, file, &today);
    }
    for (file, statements) in &vex {
        berth_scan::suppress::apply_openvex(&mut report, statements, file);
    }
    if let Some(min) = min {
        filter_severity(&mut report, min);
    }
    let color = args.output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let text = berth_scan::output::render(&report, format, color);
    match &args.output {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?,
        None => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
        }
    }
    for w in report.warnings.iter().take(5) {
        tracing::warn!("{w}");
    }
    let findings = report.vulnerabilities.len() + report.malware.len() + report.baseline.len();
    Ok(if args.exit_code != 0 && findings > 0 {
        args.exit_code
    } else {
        0
    })
}
