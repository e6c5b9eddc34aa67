//! `berth migrate`: moves a single-machine berth (SQLite + files in a data directory) to
//! PostgreSQL + S3, where several berth processes can share it.
use anyhow::Context;
use berth_api::config::Config;
use berth_api::stores::DataDirLock;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The data directory to copy (its SQLite file and blobs) [default: ./berth-data].
    #[arg(long, env = "BERTH_DATA_DIR", default_value = "berth-data")]
    pub data_dir: PathBuf,
    /// The PostgreSQL database to copy the metadata into (`postgres://...`).
    #[arg(long)]
    pub to: String,
    /// The object store to copy the blobs into (`s3://bucket/prefix`; endpoint, region and
    /// credentials from the `AWS_*` variables or `--config`'s `[blobs.s3]`).
    #[arg(long)]
    pub blobs: String,
    /// A TOML configuration file for the target's `[blobs.s3]` settings.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<i32> {
    // Held to the end: no berth may write the directory while it is copied.
    let _lock = DataDirLock::exclusive(&args.data_dir)?;
    if !args.data_dir.join("meta.db").exists() {
        anyhow::bail!(
            "{} holds no berth database (meta.db)",
            args.data_dir.display()
        );
    }
    let source = Config {
        data_dir: args.data_dir.clone(),
        ..Config::default()
    };
    let mut target = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    target.data_dir = args.data_dir.clone();
    target.metadata.url = Some(args.to.clone());
    target.blobs.url = Some(args.blobs.clone());
    target.validate()?;

    let (_, from_blobs) = berth_api::open_stores(&source)
        .await
        .context("the source data directory")?;
    let sqlite = berth_store::SqliteMetadataStore::open(&args.data_dir.join("meta.db"))
        .await
        .context("the source database")?;
    // Opening the target runs PostgreSQL's migrations: the schema the copy fills.
    let (_, to_blobs) = berth_api::open_stores(&target)
        .await
        .context("the target stores")?;

    eprintln!("copying blobs into {}", args.blobs);
    let mut shown = std::time::Instant::now();
    let blobs = berth_store::migrate::copy_blobs(from_blobs.as_ref(), to_blobs.as_ref(), |r, n| {
        if shown.elapsed().as_secs() >= 2 {
            shown = std::time::Instant::now();
            eprintln!(
                "  {} of {n} blobs ({} copied, {} already there)",
                r.copied + r.skipped,
                r.copied,
                r.skipped
            );
        }
    })
    .await?;
    eprintln!(
        "blobs: {} copied ({} bytes, each verified against its digest), {} already there",
        blobs.copied, blobs.bytes, blobs.skipped
    );

    eprintln!(
        "copying metadata into {}",
        berth_api::config::backends::redacted(&args.to)
    );
    let tables = berth_store::migrate::copy_metadata(&sqlite, &args.to).await?;
    let report = serde_json::json!({ "blobs": blobs, "tables": tables });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if args.data_dir.join("master.key").exists() {
        eprintln!(
            "done. Start every replica with BERTH_MASTER_KEY set to the text of {} (it seals \
             the management API's key secrets).",
            args.data_dir.join("master.key").display()
        );
    } else {
        eprintln!("done.");
    }
    Ok(0)
}
