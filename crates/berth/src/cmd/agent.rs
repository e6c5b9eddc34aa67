//! `berth agent`: runs in (or against) a Kubernetes cluster and keeps berth's inventory of it up
//! to date (see the berth-agent crate). It runs until stopped (SIGTERM, Ctrl-C: exit 0) or until
//! a fatal error (berth refuses the credential, the API server refuses the agent: exit 1 with
//! the reason).
use std::path::PathBuf;
use std::time::Duration;

use berth_agent::{AgentConfig, KubeSource};
use clap::Args;

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// berth's base URL, e.g. https://berth.example.com.
    #[arg(long, env = "BERTH_AGENT_SERVER")]
    pub server: String,
    /// The cluster's id (`berth admin cluster create` printed it).
    #[arg(long, env = "BERTH_AGENT_CLUSTER_ID")]
    pub cluster_id: String,
    /// A file holding the cluster's credential (`bcc_...`), e.g. a mounted Secret.
    #[arg(long, env = "BERTH_AGENT_TOKEN_FILE")]
    pub token_file: PathBuf,
    /// A kubeconfig to reach the cluster from outside; without it, the pod's service account
    /// (in-cluster configuration).
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Watch events held while berth is unreachable; past this (or 64 MiB of them) they are
    /// dropped and a full snapshot is sent when berth answers again.
    #[arg(long, env = "BERTH_AGENT_BUFFER_EVENTS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub buffer_events: u32,
    /// Objects per list request.
    #[arg(long, env = "BERTH_AGENT_PAGE_SIZE", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub page_size: u32,
    /// Seconds one watch request lasts before the API server ends it and the agent watches
    /// again from the last resourceVersion.
    #[arg(long, env = "BERTH_AGENT_WATCH_TIMEOUT", default_value_t = 290,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub watch_timeout_seconds: u64,
    /// The longest pause between two retries (the pauses double from 0.5 s up to it).
    #[arg(long, env = "BERTH_AGENT_MAX_RETRY_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub max_retry_seconds: u64,
}

pub async fn run(args: AgentArgs) -> anyhow::Result<i32> {
    let token = berth_agent::read_token_file(&args.token_file)?;
    let kube = match args.kubeconfig {
        Some(path) => KubeSource::Kubeconfig(path),
        None => KubeSource::InCluster,
    };
    let mut config = AgentConfig::new(&args.server, &args.cluster_id, &token, kube);
    config.buffer_events = args.buffer_events as usize;
    config.page_size = args.page_size;
    config.watch_timeout = Duration::from_secs(args.watch_timeout_seconds);
    config.backoff_max = Duration::from_secs(args.max_retry_seconds);
    let shared = berth_agent::shared_state(config.buffer_events);
    tracing::info!(server = %config.server, cluster = %config.cluster_id, "berth agent starting");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = berth_agent::run(config, shared) => {
            result?;
            Ok(0)
        }
        _ = tokio::signal::ctrl_c() => Ok(0),
        _ = term.recv() => Ok(0),
    }
}
