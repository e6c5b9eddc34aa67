//! `berth admission manifest`: the `ValidatingWebhookConfiguration` that registers berth's
//! admission webhook with a cluster, to `kubectl apply -f -`.
use anyhow::Context;
use berth_api::admission::{manifest, tls};
use berth_api::runtime::clusters;
use clap::{Args, Subcommand};

use super::server::{ServerArgs, load_config};

#[derive(Debug, Subcommand)]
pub enum AdmissionCommand {
    /// Print the ValidatingWebhookConfiguration for a cluster (JSON, which kubectl reads as
    /// YAML). Issues a new credential of the cluster for the webhook's URL unless --credential
    /// gives one; makes the listener's certificate if there is none yet.
    Manifest(ManifestArgs),
}

#[derive(Debug, Args)]
pub struct ManifestArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The cluster's id (`berth admin cluster list`).
    #[arg(long)]
    pub cluster: String,
    /// Where kube-apiserver reaches the admission listener, `https://host:port` [default:
    /// https://<admission.listen>].
    #[arg(long)]
    pub url: Option<String>,
    /// A credential of the cluster to put in the URL instead of issuing a new one.
    #[arg(long, env = "BERTH_ADMISSION_CREDENTIAL")]
    pub credential: Option<String>,
}

pub async fn run(command: AdmissionCommand) -> anyhow::Result<i32> {
    let AdmissionCommand::Manifest(a) = command;
    let config = load_config(&a.server)?;
    let base_url = match (&a.url, config.admission.listen) {
        (Some(u), _) => u.clone(),
        (None, Some(l)) if !l.ip().is_unspecified() => format!("https://{l}"),
        _ => anyhow::bail!(
            "pass --url https://<host>:<port>: admission.listen is not set, or listens on every \
             address and the cluster's route to it is not known"
        ),
    };
    if !base_url.starts_with("https://") {
        anyhow::bail!("--url must be https:// (kube-apiserver calls webhooks over TLS only)");
    }
    let (meta, _) = berth_api::open_stores(&config).await?;
    let cluster = meta
        .get_cluster(&a.cluster)
        .await?
        .with_context(|| format!("no cluster {:?} (berth admin cluster list)", a.cluster))?;
    let credential = match a.credential {
        Some(c) => c,
        None => {
            clusters::issue_credential(meta.as_ref(), &cluster.id, "admission webhook")
                .await?
                .token
        }
    };
    let material = tls::load_or_create(&config)?;
    let doc = manifest::manifest(&manifest::ManifestInput {
        cluster_id: &cluster.id,
        cluster_name: &cluster.name,
        base_url: &base_url,
        credential: &credential,
        ca_pem: &material.cert_pem,
        failure_policy: config.admission.failure_policy,
        timeout_secs: config.admission.timeout_secs,
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(0)
}
