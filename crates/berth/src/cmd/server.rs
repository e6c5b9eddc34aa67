//! `berth serve` and `berth gc`: the registry server and its garbage collector.
use anyhow::Context;
use berth_api::config::Config;
use berth_api::stores::DataDirLock;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// TOML configuration file.
    #[arg(long, env = "BERTH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:5000].
    #[arg(long, env = "BERTH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for metadata and blobs [default: ./berth-data].
    #[arg(long, env = "BERTH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Collect content younger than the configured grace period too (only safe while no
    /// pushes are in flight).
    #[arg(long)]
    pub no_grace: bool,
}

/// Defaults, then the file, then `BERTH_*` variables, then flags (clap has already merged each
/// flag with its variable, flag first).
pub fn load_config(args: &ServerArgs) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    config.apply_env(|k| std::env::var(k).ok())?;
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(d) = &args.data_dir {
        config.data_dir = d.clone();
    }
    config.validate()?;
    Ok(config)
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    // Held while serving: `berth migrate` must not copy a SQLite file that is being written.
    let _lock = DataDirLock::shared(&config)?;
    let listen = config.listen;
    // The port is bound once the application is built (a client that can connect is served),
    // unless an engine is unreachable at start: then it is bound at once and answers
    // `/healthz` 200 and `/readyz` 503 with the reason, while berth tries again.
    let (meta, blobs, early) = match berth_api::stores::open_stores(&config).await {
        Ok((meta, blobs)) => (meta, blobs, None),
        Err(e) if berth_api::stores::retryable(&config, &e) => {
            let listener = bind(listen).await?;
            let starting = berth_api::starting::Starting::serve(&listener)?;
            starting.set_reason(e.to_string());
            tracing::warn!(error = %e, "the stores are not reachable yet; retrying");
            let (meta, blobs) = berth_api::stores::open_stores_patiently(&config, |e, pause| {
                tracing::warn!(error = %e, retry_in = ?pause, "the stores are not reachable yet");
                starting.set_reason(e.to_string());
            })
            .await?;
            starting.finish().await;
            (meta, blobs, Some(listener))
        }
        Err(e) => return Err(e.into()),
    };
    let admin_password = std::env::var("BERTH_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let data_dir = config.data_dir.clone();
    let (metadata, blob_store) = (config.metadata.clone(), config.blobs.url.clone());
    // Connections are bounded by the open-file limit: as high as the system lets it be.
    let fd_limit = berth_api::raise_fd_limit();
    let (app, boot) = berth_api::build(config, meta, blobs, admin_password).await?;
    if let Some(p) = boot.generated_admin_password {
        // Printed once, at the first start; only its hash is stored.
        eprintln!("berth: created user 'admin' with password: {p}");
        eprintln!(
            "berth: (shown once; set BERTH_ADMIN_PASSWORD before the first start to choose it)"
        );
    }
    let listener = match early {
        Some(listener) => listener,
        None => bind(listen).await?,
    };
    let listener = tokio::net::TcpListener::from_std(listener)?;
    tracing::info!(
        addr = %listener.local_addr()?,
        data_dir = %data_dir.display(),
        metadata = %metadata.url.as_deref().map_or_else(|| "sqlite".to_string(), berth_api::config::backends::redacted),
        blobs = blob_store.as_deref().unwrap_or("files"),
        fd_limit = fd_limit.map_or_else(|| "unlimited".to_string(), |n| n.to_string()),
        "berth is serving"
    );
    // The admission webhook's HTTPS listener, beside the main one; both stop on the signal.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let admission = match app.config.admission.listen {
        Some(addr) => {
            let tls = berth_api::admission::tls_config(&app.config)
                .context("the admission listener's certificate")?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (admission.listen)"))?;
            tracing::info!(addr = %listener.local_addr()?, "admission webhook is serving (HTTPS)");
            let app = app.clone();
            let mut stopped = stopped.clone();
            Some(tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stopped.wait_for(|s| *s).await;
                };
                berth_api::admission::serve(app, listener, tls, shutdown).await
            }))
        }
        None => None,
    };
    let signal = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    berth_api::serve(app, listener, signal).await?;
    if let Some(task) = admission {
        task.await.context("the admission listener stopped")?;
    }
    Ok(())
}

/// A listening socket on `addr` (tokio's bind sets SO_REUSEADDR: a restarted server gets its
/// port back at once), as a std listener that a start-up placeholder can share.
async fn bind(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    Ok(tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?
        .into_std()?)
}

pub async fn gc(config: Config, no_grace: bool) -> anyhow::Result<()> {
    let _lock = DataDirLock::shared(&config)?;
    let (meta, blobs) = berth_api::open_stores(&config).await?;
    // Not `build`: only `serve` creates the admin user, where its password can be shown.
    let app = berth_api::build_for_maintenance(config, meta, blobs).await?;
    let grace = no_grace.then_some(std::time::Duration::ZERO);
    let report = berth_api::run_gc(&app, grace).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
