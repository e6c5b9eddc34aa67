//! `berth admin cluster ...`: the Kubernetes clusters that report their inventory to berth, and
//! their credentials. A credential is shown once, when it is created; berth keeps only its
//! SHA-256. A cluster's reporter sends it as `Authorization: Bearer <token>` to
//! `/api/runtime/v1/clusters/<id>/...`, and it is good for that cluster only.
use berth_api::runtime::clusters::{self, IssuedCredential, NewCluster, parse_cluster_type};
use berth_store::MetadataStore;
use clap::{Args, Subcommand};

use super::server::{ServerArgs, load_config};

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Register a cluster and print its id and a first credential (shown once).
    Create(CreateArgs),
    /// List clusters.
    List(ListArgs),
    /// Delete a cluster with its inventory and credentials.
    Delete(ClusterArgs),
    /// A cluster's credentials.
    #[command(subcommand)]
    Credential(CredentialCommand),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Unique name of the cluster.
    pub name: String,
    /// Kubernetes, ManagedKubernetes, ServerlessKubernetes or ExternalKubernetes.
    #[arg(long = "type", default_value = "Kubernetes")]
    pub cluster_type: String,
    /// Region the cluster runs in, as you name it (e.g. eu-west-1).
    #[arg(long, default_value = "")]
    pub region: String,
    /// The API server's version (e.g. v1.31.2).
    #[arg(long)]
    pub kubernetes_version: Option<String>,
    /// Description of the first credential.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Print JSON (`ClusterId`, `CredentialId`, `Token`) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The cluster's id.
    pub cluster_id: String,
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Issue another credential for the cluster (shown once).
    Create(CredentialCreateArgs),
    /// List the cluster's credentials (never their tokens).
    List(ClusterArgs),
    /// Revoke a credential: its next request is refused.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct CredentialCreateArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    pub cluster_id: String,
    #[arg(long, default_value = "")]
    pub description: String,
    /// Print JSON (`ClusterId`, `CredentialId`, `Token`) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    pub cluster_id: String,
    pub credential_id: String,
}

fn server_args(command: &ClusterCommand) -> &ServerArgs {
    match command {
        ClusterCommand::Create(a) => &a.server,
        ClusterCommand::List(a) => &a.server,
        ClusterCommand::Delete(a) => &a.server,
        ClusterCommand::Credential(CredentialCommand::Create(a)) => &a.server,
        ClusterCommand::Credential(CredentialCommand::List(a)) => &a.server,
        ClusterCommand::Credential(CredentialCommand::Revoke(a)) => &a.server,
    }
}

fn print_credential(c: &IssuedCredential, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({
                "ClusterId": c.cluster_id,
                "CredentialId": c.id,
                "Token": c.token,
            })
        );
    } else {
        println!("ClusterId:    {}", c.cluster_id);
        println!("CredentialId: {}", c.id);
        println!("Token:        {}", c.token);
        eprintln!("(the token is shown once; berth keeps only its SHA-256)");
    }
}

fn time(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    // Days since the epoch to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let rest = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

pub async fn run(command: ClusterCommand) -> anyhow::Result<i32> {
    let config = load_config(server_args(&command))?;
    let (meta, _) = berth_api::open_stores(&config).await?;
    let meta: &dyn MetadataStore = meta.as_ref();
    match command {
        ClusterCommand::Create(a) => {
            let cluster_type = parse_cluster_type(&a.cluster_type).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown cluster type {:?}: Kubernetes, ManagedKubernetes, \
                     ServerlessKubernetes or ExternalKubernetes",
                    a.cluster_type
                )
            })?;
            let record = clusters::create_cluster(
                meta,
                &NewCluster {
                    name: a.name,
                    cluster_type,
                    region: a.region,
                    kubernetes_version: a.kubernetes_version,
                },
            )
            .await?;
            let credential = clusters::issue_credential(meta, &record.id, &a.description).await?;
            print_credential(&credential, a.json);
        }
        ClusterCommand::List(a) => {
            let all = meta.list_clusters().await?;
            if a.json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "ClusterId": c.id,
                            "Name": c.name,
                            "Type": c.cluster_type,
                            "Region": c.region,
                            "KubernetesVersion": c.kubernetes_version,
                            "Protection": c.protection,
                            "Created": time(c.created_at),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for c in all {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        c.id,
                        c.name,
                        c.cluster_type,
                        if c.region.is_empty() { "-" } else { &c.region },
                        c.kubernetes_version.as_deref().unwrap_or("-"),
                        c.protection
                    );
                }
            }
        }
        ClusterCommand::Delete(a) => {
            if !meta.delete_cluster(&a.cluster_id).await? {
                anyhow::bail!("no cluster {}", a.cluster_id);
            }
            println!("{} deleted", a.cluster_id);
        }
        ClusterCommand::Credential(CredentialCommand::Create(a)) => {
            let credential =
                clusters::issue_credential(meta, &a.cluster_id, &a.description).await?;
            print_credential(&credential, a.json);
        }
        ClusterCommand::Credential(CredentialCommand::List(a)) => {
            if meta.get_cluster(&a.cluster_id).await?.is_none() {
                anyhow::bail!("no cluster {}", a.cluster_id);
            }
            for c in meta.list_cluster_credentials(&a.cluster_id).await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    c.id,
                    time(c.created_at),
                    c.revoked_at
                        .map_or_else(|| "live".to_string(), |t| format!("revoked {}", time(t))),
                    c.description
                );
            }
        }
        ClusterCommand::Credential(CredentialCommand::Revoke(a)) => {
            if !meta
                .revoke_cluster_credential(&a.cluster_id, &a.credential_id)
                .await?
            {
                anyhow::bail!(
                    "cluster {} has no live credential {}",
                    a.cluster_id,
                    a.credential_id
                );
            }
            println!("{} revoked", a.credential_id);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(super::time(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::time(1_700_000_000_123), "2023-11-14T22:13:20Z");
        assert_eq!(super::time(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
