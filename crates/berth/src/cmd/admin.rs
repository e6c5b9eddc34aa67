//! `berth admin ...`: operator commands on a data directory (management API keys, scan-on-push,
//! clusters).
use berth_api::kcr::keys::{self, MasterKey};
use clap::{Args, Subcommand};

use super::server::{ServerArgs, load_config};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Management API access keys (they sign requests to `/?Action=...` with SigV4).
    #[command(subcommand)]
    AccessKey(AccessKeyCommand),
    /// Scan every image pushed into a namespace (or stop doing so).
    ScanOnPush(ScanOnPushArgs),
    /// Kubernetes clusters that report their inventory, and their credentials.
    #[command(subcommand)]
    Cluster(super::cluster::ClusterCommand),
    /// API tokens (bearer credentials with a role and an expiry) for the vulnerability export.
    #[command(subcommand)]
    ApiToken(super::api_token::ApiTokenCommand),
}

#[derive(Debug, Args)]
pub struct ScanOnPushArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The instance's name (default: the default instance).
    #[arg(long)]
    pub instance: Option<String>,
    /// The namespace (created if it does not exist yet).
    pub namespace: String,
    /// `on` or `off`.
    #[arg(value_parser = ["on", "off"])]
    pub state: String,
}

#[derive(Debug, Subcommand)]
pub enum AccessKeyCommand {
    /// Create a key; its secret is printed once.
    Create(CreateArgs),
    /// List keys (never their secrets).
    List(#[command(flatten)] ServerArgs),
    /// Stop a key from signing requests.
    Disable(KeyArgs),
    /// Let a disabled key sign requests again.
    Enable(KeyArgs),
    /// Delete a key.
    Delete(KeyArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// What the key is for.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Allow only the Describe* actions.
    #[arg(long)]
    pub read_only: bool,
    /// Print JSON (`AccessKeyId`, `SecretAccessKey`) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KeyArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The access key id.
    pub access_key_id: String,
}

pub async fn run(command: AdminCommand) -> anyhow::Result<i32> {
    let command = match command {
        AdminCommand::AccessKey(c) => c,
        AdminCommand::ScanOnPush(a) => return scan_on_push(a).await,
        AdminCommand::Cluster(c) => return super::cluster::run(c).await,
        AdminCommand::ApiToken(c) => return super::api_token::run(c).await,
    };
    let server = match &command {
        AccessKeyCommand::Create(a) => &a.server,
        AccessKeyCommand::List(s) => s,
        AccessKeyCommand::Disable(a)
        | AccessKeyCommand::Enable(a)
        | AccessKeyCommand::Delete(a) => &a.server,
    };
    let config = load_config(server)?;
    let (meta, _) = berth_api::open_stores(&config).await?;
    match command {
        AccessKeyCommand::Create(a) => {
            let master = MasterKey::for_config(&config)?;
            let key =
                keys::create_api_key(meta.as_ref(), &master, &a.description, a.read_only).await?;
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "AccessKeyId": key.access_key_id,
                        "SecretAccessKey": key.secret_access_key,
                    })
                );
            } else {
                println!("AccessKeyId:     {}", key.access_key_id);
                println!("SecretAccessKey: {}", key.secret_access_key);
                eprintln!("(the secret is shown once; berth keeps it sealed under its master key)");
            }
        }
        AccessKeyCommand::List(_) => {
            for k in meta.list_api_keys().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    k.access_key_id,
                    if k.enabled { "enabled" } else { "disabled" },
                    if k.read_only {
                        "read-only"
                    } else {
                        "read-write"
                    },
                    k.description
                );
            }
        }
        AccessKeyCommand::Disable(a) => set_enabled(meta.as_ref(), &a.access_key_id, false).await?,
        AccessKeyCommand::Enable(a) => set_enabled(meta.as_ref(), &a.access_key_id, true).await?,
        AccessKeyCommand::Delete(a) => {
            if !meta.delete_api_key(&a.access_key_id).await? {
                anyhow::bail!("no access key {}", a.access_key_id);
            }
            println!("{} deleted", a.access_key_id);
        }
    }
    Ok(0)
}

async fn set_enabled(
    meta: &dyn berth_store::MetadataStore,
    id: &str,
    enable: bool,
) -> anyhow::Result<()> {
    if !meta.set_api_key_enabled(id, enable).await? {
        anyhow::bail!("no access key {id}");
    }
    println!("{id} {}", if enable { "enabled" } else { "disabled" });
    Ok(())
}

async fn scan_on_push(a: ScanOnPushArgs) -> anyhow::Result<i32> {
    let config = load_config(&a.server)?;
    let (meta, _) = berth_api::open_stores(&config).await?;
    let instance = match &a.instance {
        Some(name) => meta
            .get_instance_by_name(name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no instance {name}"))?,
        None => meta.ensure_default_instance("default").await?,
    };
    if berth_oci::validate_repository(&format!("{}/x", a.namespace)).is_err() {
        anyhow::bail!("{:?} is not a valid namespace", a.namespace);
    }
    let ns = meta.ensure_namespace(&instance.id, &a.namespace).await?;
    let on = a.state == "on";
    meta.set_namespace_scan_on_push(ns.id, on).await?;
    println!("{}: scan on push {}", a.namespace, a.state);
    Ok(0)
}
