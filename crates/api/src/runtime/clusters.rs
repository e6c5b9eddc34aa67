//! Clusters and their credentials: what `berth admin cluster` creates, and the mapping from a
//! stored [`ClusterRecord`] to the inventory model's [`Cluster`].
//!
//! A credential is a 256-bit random token, `bcc_` + 43 base64url characters, shown once at
//! creation. Only its SHA-256 is stored: the token is random, so a fast hash leaves nothing to
//! guess (argon2 is for passwords, which people choose). A request presents it as
//! `Authorization: Bearer <token>`; it is valid for its own cluster only.
use base64::Engine as _;
use berth_inventory::{Cluster, ClusterType, ProtectionStatus};
use berth_store::{ClusterCredential, ClusterRecord, MetadataStore, StoreError, now_millis};
use rand::RngCore;
use sha2::{Digest as _, Sha256};

/// The prefix of every cluster credential (so a leaked one is recognisable in logs and by
/// secret scanners).
pub const TOKEN_PREFIX: &str = "bcc_";

/// Why a cluster or credential was not created.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("invalid {field}: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
    #[error("a cluster named {0:?} exists already")]
    NameTaken(String),
    #[error("no cluster {0:?}")]
    NoCluster(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A new credential token.
pub fn new_token() -> String {
    let bytes: [u8; 32] = random_bytes();
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What is stored of a token: its SHA-256, lowercase hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The wire names of [`ClusterType`] (its serde names).
pub fn cluster_type_name(t: ClusterType) -> &'static str {
    t.as_str()
}

pub fn parse_cluster_type(s: &str) -> Option<ClusterType> {
    [
        ClusterType::Kubernetes,
        ClusterType::ManagedKubernetes,
        ClusterType::ServerlessKubernetes,
        ClusterType::ExternalKubernetes,
    ]
    .into_iter()
    .find(|t| t.as_str() == s)
}

/// The wire names of [`ProtectionStatus`] (its serde names).
pub fn protection_name(p: ProtectionStatus) -> &'static str {
    match p {
        ProtectionStatus::Unprotected => "unprotected",
        ProtectionStatus::Protected => "protected",
        ProtectionStatus::Offline => "offline",
        ProtectionStatus::Failed => "failed",
    }
}

fn parse_protection(s: &str) -> ProtectionStatus {
    [
        ProtectionStatus::Protected,
        ProtectionStatus::Offline,
        ProtectionStatus::Failed,
    ]
    .into_iter()
    .find(|p| protection_name(*p) == s)
    .unwrap_or_default()
}

/// The inventory model's view of a stored cluster. A type the store holds but this build does
/// not know reads as the default (`Kubernetes`), never as an error.
pub fn cluster_model(record: &ClusterRecord) -> Cluster {
    Cluster {
        id: record.id.clone(),
        name: record.name.clone(),
        cluster_type: parse_cluster_type(&record.cluster_type).unwrap_or_default(),
        region: record.region.clone(),
        kubernetes_version: record.kubernetes_version.clone(),
        protection: parse_protection(&record.protection),
    }
}

/// What a new cluster is given.
#[derive(Debug, Clone)]
pub struct NewCluster {
    pub name: String,
    pub cluster_type: ClusterType,
    pub region: String,
    pub kubernetes_version: Option<String>,
}

fn printable(s: &str) -> bool {
    s.chars().all(|c| !c.is_control())
}

/// Creates a cluster with a new id: `c` and 32 hex digits, the shape of the vendor's cluster
/// ids (`c80f79959fd724a888e1187779b13...`).
pub async fn create_cluster(
    meta: &dyn MetadataStore,
    new: &NewCluster,
) -> Result<ClusterRecord, ClusterError> {
    if new.name.is_empty() || new.name.len() > 128 || !printable(&new.name) {
        return Err(ClusterError::Invalid {
            field: "name",
            reason: "1 to 128 printable characters",
        });
    }
    if new.region.len() > 64 || !printable(&new.region) {
        return Err(ClusterError::Invalid {
            field: "region",
            reason: "at most 64 printable characters",
        });
    }
    if new
        .kubernetes_version
        .as_deref()
        .is_some_and(|v| v.is_empty() || v.len() > 64 || !printable(v))
    {
        return Err(ClusterError::Invalid {
            field: "kubernetes version",
            reason: "1 to 64 printable characters",
        });
    }
    let id: [u8; 16] = random_bytes();
    let record = ClusterRecord {
        id: format!("c{}", hex::encode(id)),
        name: new.name.clone(),
        cluster_type: cluster_type_name(new.cluster_type).to_string(),
        region: new.region.clone(),
        kubernetes_version: new.kubernetes_version.clone(),
        protection: protection_name(ProtectionStatus::Unprotected).to_string(),
        created_at: now_millis(),
    };
    if !meta.create_cluster(&record).await? {
        return Err(ClusterError::NameTaken(new.name.clone()));
    }
    Ok(record)
}

/// A credential as created: the token is shown once and never again.
#[derive(Debug, Clone)]
pub struct IssuedCredential {
    pub id: String,
    pub cluster_id: String,
    pub token: String,
}

/// Issues a credential for the cluster.
pub async fn issue_credential(
    meta: &dyn MetadataStore,
    cluster_id: &str,
    description: &str,
) -> Result<IssuedCredential, ClusterError> {
    if description.len() > 256 || !printable(description) {
        return Err(ClusterError::Invalid {
            field: "description",
            reason: "at most 256 printable characters",
        });
    }
    let id: [u8; 8] = random_bytes();
    let token = new_token();
    let credential = ClusterCredential {
        id: format!("cc-{}", hex::encode(id)),
        cluster_id: cluster_id.to_string(),
        token_hash: token_hash(&token),
        description: description.to_string(),
        created_at: now_millis(),
        revoked_at: None,
    };
    if !meta.create_cluster_credential(&credential).await? {
        return Err(ClusterError::NoCluster(cluster_id.to_string()));
    }
    Ok(IssuedCredential {
        id: credential.id,
        cluster_id: credential.cluster_id,
        token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed_as_hex() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn stored_names_map_to_the_model() {
        for t in [
            ClusterType::Kubernetes,
            ClusterType::ManagedKubernetes,
            ClusterType::ServerlessKubernetes,
            ClusterType::ExternalKubernetes,
        ] {
            assert_eq!(parse_cluster_type(cluster_type_name(t)), Some(t));
            assert_eq!(
                serde_json::to_value(t).ok(),
                Some(serde_json::json!(cluster_type_name(t)))
            );
        }
        for p in [
            ProtectionStatus::Unprotected,
            ProtectionStatus::Protected,
            ProtectionStatus::Offline,
            ProtectionStatus::Failed,
        ] {
            assert_eq!(parse_protection(protection_name(p)), p);
            assert_eq!(
                serde_json::to_value(p).ok(),
                Some(serde_json::json!(protection_name(p)))
            );
        }
        assert_eq!(parse_protection("bogus"), ProtectionStatus::Unprotected);
    }
}
