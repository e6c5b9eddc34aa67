//! `berth admin api-token ...`: bearer tokens for berth's own APIs (the vulnerability export),
//! each with a role (`admin`, `read-only`, `continuous-integration`, `none`) and an expiry. A
//! token is shown once, when it is created; berth keeps only its SHA-256.
use berth_api::api_tokens::{self, ApiRole};
use berth_store::MetadataStore;
use clap::{Args, Subcommand};

use super::server::{ServerArgs, load_config};

#[derive(Debug, Subcommand)]
pub enum ApiTokenCommand {
    /// Create a token and print it (shown once).
    Create(CreateArgs),
    /// List tokens (never their secrets).
    List(ListArgs),
    /// Revoke a token: its next request is refused.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Unique name of the token (what it is for).
    pub name: String,
    /// admin, read-only, continuous-integration or none.
    #[arg(long, default_value = "read-only")]
    pub role: String,
    /// Seconds until it expires (default: never).
    #[arg(long)]
    pub ttl_secs: Option<u64>,
    /// Print JSON (`Id`, `Name`, `Role`, `Token`, `ExpiresAt`) instead of text.
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
pub struct RevokeArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The token's id (`at-...`).
    pub id: String,
}

fn server_args(command: &ApiTokenCommand) -> &ServerArgs {
    match command {
        ApiTokenCommand::Create(a) => &a.server,
        ApiTokenCommand::List(a) => &a.server,
        ApiTokenCommand::Revoke(a) => &a.server,
    }
}

fn state(expires_at: Option<i64>, revoked_at: Option<i64>) -> &'static str {
    if revoked_at.is_some() {
        "revoked"
    } else if expires_at.is_some_and(|e| e <= berth_store::now_millis()) {
        "expired"
    } else {
        "live"
    }
}

pub async fn run(command: ApiTokenCommand) -> anyhow::Result<i32> {
    let config = load_config(server_args(&command))?;
    let (meta, _) = berth_api::open_stores(&config).await?;
    let meta: &dyn MetadataStore = meta.as_ref();
    match command {
        ApiTokenCommand::Create(a) => {
            let role = ApiRole::parse(&a.role).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown role {:?}: admin, read-only, continuous-integration or none",
                    a.role
                )
            })?;
            let issued = api_tokens::create(meta, &a.name, role, a.ttl_secs).await?;
            let r = &issued.record;
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "Id": r.id, "Name": r.name, "Role": r.role,
                        "Token": issued.token, "ExpiresAt": r.expires_at,
                    })
                );
            } else {
                println!("Id:    {}", r.id);
                println!("Role:  {}", r.role);
                println!("Token: {}", issued.token);
                eprintln!("(the token is shown once; berth keeps only its SHA-256)");
            }
        }
        ApiTokenCommand::List(a) => {
            let all = meta.list_api_tokens().await?;
            if a.json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "Id": t.id, "Name": t.name, "Role": t.role,
                            "CreatedAt": t.created_at, "ExpiresAt": t.expires_at,
                            "RevokedAt": t.revoked_at,
                            "State": state(t.expires_at, t.revoked_at),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for t in all {
                    println!(
                        "{}\t{}\t{}\t{}",
                        t.id,
                        t.name,
                        t.role,
                        state(t.expires_at, t.revoked_at)
                    );
                }
            }
        }
        ApiTokenCommand::Revoke(a) => {
            if !meta.revoke_api_token(&a.id).await? {
                anyhow::bail!("no live API token {}", a.id);
            }
            println!("{} revoked", a.id);
        }
    }
    Ok(0)
}
