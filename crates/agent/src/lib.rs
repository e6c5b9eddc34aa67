//! `berth agent`: lists and watches a Kubernetes cluster's Pods and workloads (Deployments,
//! DaemonSets, StatefulSets, ReplicaSets, ReplicationControllers, Jobs, CronJobs, all
//! namespaces) and reports them to berth's ingestion endpoints with the cluster's credential.
//!
//! **Invariant**: what berth holds for the cluster is always a state the cluster was in, brought
//! up to date in order. The first delivery, and the first after any loss of continuity (the
//! agent started, a watch expired with 410 and its kind was listed again, the event buffer
//! overflowed while berth was unreachable, berth refused a snapshot), is one snapshot of every
//! kind (`PUT .../snapshot`, replacing the inventory atomically); after it, only the watch
//! events that followed, one at a time and in the order they arrived (`POST .../events`).
//!
//! Layers: [`kube_api`] (requests and bounded reading of list pages and watch streams, over the
//! `kube` client's config, auth and TLS), [`watcher`] (one list-then-watch loop per kind),
//! [`state`] (the cache of every object and the bounded event buffer, one lock), [`berth`] (the
//! delivery loop). It knows nothing of berth's server crates; it uses `berth-inventory` only
//! for the limits a snapshot must fit.
//!
//! Why not kube-runtime's `watcher`: it folds ADDED and MODIFIED into one `Apply`, relists each
//! kind on its own without saying whether it was a resync, and reads watch lines of any length;
//! the agent needs the event types, a snapshot of all kinds at every resync, and bounds.
pub mod backoff;
pub mod berth;
pub mod error;
pub mod kinds;
pub mod kube_api;
pub mod state;
pub mod watcher;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use error::AgentError;
pub use state::{Shared, StateLimits, Stats};

/// Where the cluster is.
#[derive(Debug, Clone)]
pub enum KubeSource {
    /// A kubeconfig file (its current context).
    Kubeconfig(PathBuf),
    /// The pod's service account (`KUBERNETES_SERVICE_HOST`, the mounted token and CA).
    InCluster,
}

/// Everything `berth agent` is given.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// berth's base URL.
    pub server: String,
    pub cluster_id: String,
    /// The cluster credential (`bcc_...`).
    pub token: String,
    pub kube: KubeSource,
    /// Events held while berth is unreachable; past this a full resync is due instead.
    pub buffer_events: usize,
    /// Objects per list request.
    pub page_size: u32,
    /// How long one watch request lasts (the server ends it then; the agent watches again).
    pub watch_timeout: Duration,
    /// First and longest pause between retries.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl AgentConfig {
    pub fn new(server: &str, cluster_id: &str, token: &str, kube: KubeSource) -> AgentConfig {
        AgentConfig {
            server: server.to_string(),
            cluster_id: cluster_id.to_string(),
            token: token.to_string(),
            kube,
            buffer_events: 10_000,
            page_size: 500,
            watch_timeout: Duration::from_secs(290),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// The largest credential file read.
const MAX_TOKEN_FILE_BYTES: u64 = 4096;

/// Reads the credential from a file (a mounted Secret), trimmed.
pub fn read_token_file(path: &std::path::Path) -> Result<String, AgentError> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)
        .map_err(|e| AgentError::Config(format!("cannot read {}: {e}", path.display())))?;
    let mut text = String::new();
    file.take(MAX_TOKEN_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| AgentError::Config(format!("cannot read {}: {e}", path.display())))?;
    if text.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(AgentError::Config(format!(
            "{} is over {MAX_TOKEN_FILE_BYTES} bytes: not a cluster credential",
            path.display()
        )));
    }
    let token = text.trim();
    if token.is_empty() {
        return Err(AgentError::Config(format!("{} is empty", path.display())));
    }
    Ok(token.to_string())
}

async fn kube_client(source: &KubeSource) -> Result<kube::Client, AgentError> {
    let config = match source {
        KubeSource::Kubeconfig(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|e| {
                AgentError::Config(format!(
                    "cannot read the kubeconfig {}: {e}",
                    path.display()
                ))
            })?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .map_err(|e| {
                    AgentError::Config(format!("the kubeconfig {}: {e}", path.display()))
                })?
        }
        KubeSource::InCluster => kube::Config::incluster().map_err(|e| {
            AgentError::Config(format!(
                "not running in a cluster ({e}); give --kubeconfig to run against one from outside"
            ))
        })?,
    };
    kube::Client::try_from(config)
        .map_err(|e| AgentError::Config(format!("cannot build the Kubernetes client: {e}")))
}

/// Runs the agent until a fatal error (it never returns `Ok`). The shared state is passed in so
/// that tests can read its counters.
pub async fn run(config: AgentConfig, shared: Arc<Shared>) -> Result<(), AgentError> {
    let client = kube_client(&config.kube).await?;
    let berth = berth::BerthClient::new(&config.server, &config.cluster_id, &config.token)?;
    let api = Arc::new(kube_api::KubeApi {
        client,
        page_size: config.page_size.max(1),
        watch_timeout: config.watch_timeout,
    });
    let backoff = backoff::Backoff::new(config.backoff_initial, config.backoff_max);
    let max_objects = berth_inventory::Limits::default().max_items;
    let mut tasks = tokio::task::JoinSet::new();
    for kind in kinds::KINDS {
        tasks.spawn(watcher::run(
            api.clone(),
            shared.clone(),
            kind,
            max_objects,
            backoff,
        ));
    }
    tasks.spawn(berth::deliver_loop(
        berth,
        shared.clone(),
        backoff,
        config.backoff_max,
    ));
    // Every task runs until a fatal error: the first one ends the agent.
    let result = match tasks.join_next().await {
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(AgentError::Config(format!(
            "a task of the agent failed: {e}"
        ))),
        None => Ok(()),
    };
    tasks.shutdown().await;
    result
}

/// The shared state with berth's snapshot limits and `buffer_events`.
pub fn shared_state(buffer_events: usize) -> Arc<Shared> {
    let limits = berth_inventory::Limits::default();
    Arc::new(Shared::new(StateLimits {
        buffer_events: buffer_events.max(1),
        max_objects: limits.max_items,
        max_bytes: limits.max_document_bytes,
    }))
}
