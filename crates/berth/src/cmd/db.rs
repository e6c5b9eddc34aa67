//! `berth db ...`: build, update, inspect and query the vulnerability database.
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context;
use berth_vulndb::{Database, Ecosystem, ImportReport, PackageQuery, Target};
use clap::{Args, Subcommand};
use std::io::Write;

/// `println!` that reports a closed stdout (`berth db status | head`) as an error, not a panic.
macro_rules! outln {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*)?
    };
}

#[derive(Debug, Args)]
pub struct DbDir {
    /// Database directory (default: $BERTH_DB_DIR, else ~/.cache/berth/db).
    #[arg(long = "db", value_name = "DIR")]
    pub db: Option<PathBuf>,
}

impl DbDir {
    fn dir(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(Database::default_dir)
    }
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Build the database from feed files, directories or http(s) URLs (OSV JSON or all.zip,
    /// Debian tracker DSA/DLA/CVE lists, Alpine secdb YAML or JSON). Replaces the database
    /// atomically; on failure the previous one stays.
    Import {
        #[command(flatten)]
        db: DbDir,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Feed files, directories or URLs.
        #[arg(required = true, value_name = "PATH|URL")]
        sources: Vec<String>,
    },
    /// Rebuild the database from the configured feed URLs: --sources FILE, else
    /// $BERTH_DB_SOURCES (whitespace-separated), else DIR/sources.txt, else the public feeds.
    Update {
        #[command(flatten)]
        db: DbDir,
        /// A file listing one source (URL or path) per line; `#` starts a comment.
        #[arg(long, value_name = "FILE")]
        sources: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Show the database's sources, counts and age.
    Status {
        #[command(flatten)]
        db: DbDir,
        #[arg(long)]
        json: bool,
    },
    /// Look up one package: `--os debian:11` or `--ecosystem PyPI`.
    Query {
        #[command(flatten)]
        db: DbDir,
        /// OS as DISTRO:RELEASE (os-release ID and VERSION_ID), e.g. debian:11, alpine:3.18.
        #[arg(long, conflicts_with = "ecosystem")]
        os: Option<String>,
        /// OSV ecosystem: PyPI, Go, npm, Maven, RubyGems, crates.io, Packagist, NuGet.
        #[arg(long)]
        ecosystem: Option<String>,
        /// Source package name (Debian matches by source package).
        #[arg(long)]
        source: Option<String>,
        name: String,
        version: String,
    },
}

fn print_report(r: &ImportReport, json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    for p in &r.problems {
        eprintln!("skipped: {}: {}", p.location, p.reason);
    }
    outln!("database: {}", r.database.display());
    for s in &r.sources {
        outln!(
            "  {} [{}] {} advisories, {} skipped, sha256 {}",
            s.location,
            s.kinds.join(","),
            s.advisories,
            s.skipped,
            s.sha256
        );
    }
    outln!(
        "{} advisories read, {} stored, {} affected entries; {} malformed skipped, {} problems, {} withdrawn, {} git ranges ignored",
        r.advisories_read,
        r.advisories,
        r.affected,
        r.skipped,
        r.problems.len(),
        r.withdrawn,
        r.git_ranges_ignored
    );
    if !r.unsupported_ecosystems.is_empty() {
        let u: Vec<String> = r
            .unsupported_ecosystems
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        outln!("unsupported ecosystems: {}", u.join(", "));
    }
    Ok(())
}

fn age(built_at: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let s = now.saturating_sub(built_at);
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

pub async fn run(cmd: DbCommand) -> anyhow::Result<()> {
    match cmd {
        DbCommand::Import { db, json, sources } => {
            let r = berth_vulndb::import(&db.dir(), &sources).await?;
            print_report(&r, json)
        }
        DbCommand::Update { db, sources, json } => {
            let r = berth_vulndb::update(&db.dir(), sources.as_deref()).await?;
            print_report(&r, json)
        }
        DbCommand::Status { db, json } => {
            let dir = db.dir();
            let m = Database::read_metadata(&dir)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&m)?);
                return Ok(());
            }
            outln!("database: {}", Database::file_path(&dir).display());
            outln!("schema: {}  built by berth {}", m.schema, m.berth_version);
            outln!("built at: {} (unix), age {}", m.built_at, age(m.built_at));
            outln!(
                "advisories: {}  affected entries: {}",
                m.advisories,
                m.affected
            );
            outln!("sources:");
            for s in &m.sources {
                outln!(
                    "  {} [{}] {} advisories, {} skipped, sha256 {}",
                    s.location,
                    s.kinds.join(","),
                    s.advisories,
                    s.skipped,
                    s.sha256
                );
            }
            outln!("namespaces:");
            for (ns, n) in &m.namespaces {
                outln!("  {ns}: {n}");
            }
            Ok(())
        }
        DbCommand::Query {
            db,
            os,
            ecosystem,
            source,
            name,
            version,
        } => {
            let database = Database::open(&db.dir())?;
            let eco;
            let target = match (&os, &ecosystem) {
                (Some(os), _) => {
                    let (distro, release) = os
                        .split_once(':')
                        .context("--os must be DISTRO:RELEASE, e.g. debian:11")?;
                    Target::Os { distro, release }
                }
                (None, Some(e)) => {
                    eco = Ecosystem::from_str(e)?;
                    Target::Lang(eco)
                }
                (None, None) => anyhow::bail!("give --os DISTRO:RELEASE or --ecosystem NAME"),
            };
            let q = PackageQuery {
                target,
                name: &name,
                source_name: source.as_deref(),
                version: &version,
            };
            let ms = database.matches(&q)?;
            outln!("{}", serde_json::to_string_pretty(&ms)?);
            Ok(())
        }
    }
}
