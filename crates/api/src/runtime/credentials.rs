//! `/api/runtime/v1/clusters/{id}/credentials`: the cluster credentials an agent, a snapshot
//! reporter or the admission webhook presents, managed over HTTP as `berth admin cluster
//! credential` manages them on the host: list (`GET`, never a token), issue (`POST`, the token
//! in this answer only), revoke (`DELETE .../{credential_id}`). Administrators only (an `admin`
//! API token or an administrator's Basic credentials): a credential writes a cluster's
//! inventory. Errors in this surface's format (`{"error": {"code", "message"}}`).
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::clusters::{ClusterError, issue_credential};
use super::error::RuntimeError;
use crate::api_tokens::ApiRole;
use crate::principal::{self, Refused};
use crate::state::App;

type Result<T> = std::result::Result<T, RuntimeError>;

async fn admin(app: &App, headers: &HeaderMap) -> Result<String> {
    let p = principal::authenticate(app, headers)
        .await
        .map_err(|r| match r {
            Refused::Unauthenticated(m) => RuntimeError::unauthenticated(m),
            Refused::Throttled => RuntimeError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "too many failed logins; retry later",
            ),
            Refused::Internal(m) => {
                tracing::error!(error = %m, "cannot verify credentials");
                RuntimeError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "cannot verify the credentials",
                )
            }
        })?;
    if p.role != ApiRole::Admin {
        return Err(RuntimeError::forbidden(format!(
            "{} (role {:?}) may not manage cluster credentials",
            p.name,
            p.role.as_str()
        )));
    }
    Ok(p.name)
}

fn cluster_error(e: ClusterError) -> RuntimeError {
    match e {
        ClusterError::Invalid { .. } => RuntimeError::invalid(e.to_string()),
        ClusterError::NoCluster(_) => RuntimeError::not_found(e.to_string()),
        ClusterError::NameTaken(_) => RuntimeError::conflict(e.to_string()),
        ClusterError::Store(s) => RuntimeError::store(&s),
    }
}

async fn known_cluster(app: &App, id: &str) -> Result<()> {
    match app.meta.get_cluster(id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(RuntimeError::not_found(format!("no cluster {id:?}"))),
        Err(e) => Err(RuntimeError::store(&e)),
    }
}

pub async fn list(
    State(app): State<App>,
    headers: HeaderMap,
    Path(cluster_id): Path<String>,
) -> Result<Json<Value>> {
    admin(&app, &headers).await?;
    known_cluster(&app, &cluster_id).await?;
    let list = app
        .meta
        .list_cluster_credentials(&cluster_id)
        .await
        .map_err(|e| RuntimeError::store(&e))?;
    let out: Vec<Value> = list
        .iter()
        .map(|c| {
            json!({"credentialId": c.id, "clusterId": c.cluster_id, "description": c.description,
                   "createdAt": c.created_at, "revokedAt": c.revoked_at})
        })
        .collect();
    Ok(Json(json!({"credentials": out})))
}

pub async fn issue(
    State(app): State<App>,
    headers: HeaderMap,
    Path(cluster_id): Path<String>,
    body: Body,
) -> Result<Response> {
    let who = admin(&app, &headers).await?;
    let bytes = axum::body::to_bytes(body, 4096)
        .await
        .map_err(|_| RuntimeError::too_large("the body is over 4 KiB"))?;
    let description = if bytes.is_empty() {
        String::new()
    } else {
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| RuntimeError::invalid(format!("not JSON: {e}")))?;
        match v.get("description") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(RuntimeError::invalid("description must be a string")),
        }
    };
    let issued = issue_credential(app.meta.as_ref(), &cluster_id, &description)
        .await
        .map_err(cluster_error)?;
    tracing::info!(target: "berth::audit", action = "cluster_credential.issue",
        cluster = %cluster_id, credential = %issued.id, by = %who, "cluster credential issued");
    let body =
        json!({"clusterId": issued.cluster_id, "credentialId": issued.id, "token": issued.token});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub async fn revoke(
    State(app): State<App>,
    headers: HeaderMap,
    Path((cluster_id, credential_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    let who = admin(&app, &headers).await?;
    let revoked = app
        .meta
        .revoke_cluster_credential(&cluster_id, &credential_id)
        .await
        .map_err(|e| RuntimeError::store(&e))?;
    if !revoked {
        return Err(RuntimeError::not_found(
            "no such live credential of that cluster",
        ));
    }
    tracing::info!(target: "berth::audit", action = "cluster_credential.revoke",
        cluster = %cluster_id, credential = %credential_id, by = %who, "cluster credential revoked");
    Ok(StatusCode::NO_CONTENT)
}
