//! Content discovery: tags list, catalog, referrers.
use super::access::{authorize, challenge, parse_digest, principal};
use crate::auth::{Action, Principal};
use crate::error::{ApiError, ApiResult, Code};
use crate::http_util::{query_one, query_pairs};
use crate::state::App;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::Response;
use berth_oci::media_types;

/// `n` and `last` of a paged list; `n` is clamped to the configured page limit.
fn paging(app: &App, pairs: &[(String, String)]) -> ApiResult<(u32, Option<String>)> {
    let max = app.config.limits.max_page_entries;
    let n = match query_one(pairs, "n") {
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| {
                ApiError::new(Code::Unsupported, format!("invalid n {v:?}"))
                    .with_status(StatusCode::BAD_REQUEST)
            })?
            .min(max),
        None => max,
    };
    Ok((n, query_one(pairs, "last").map(str::to_string)))
}

fn json_response(body: serde_json::Value, link: Option<String>) -> ApiResult<Response> {
    let text = body.to_string();
    let mut b = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, text.len());
    if let Some(l) = link {
        b = b.header(header::LINK, l);
    }
    b.body(Body::from(text))
        .map_err(|e| ApiError::new(Code::Internal, e.to_string()))
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub async fn tags(app: &App, name: &str, req: Request) -> ApiResult<Response> {
    let ctx = authorize(app, req.headers(), name, &[Action::Pull]).await?;
    let repo = ctx.existing()?;
    let pairs = query_pairs(req.uri().query());
    let (n, last) = paging(app, &pairs)?;
    let mut tags = if n == 0 {
        Vec::new()
    } else {
        app.meta.list_tags(repo.id, last.as_deref(), n + 1).await?
    };
    let link = if tags.len() > n as usize {
        tags.truncate(n as usize);
        tags.last().map(|l| {
            format!(
                "</v2/{name}/tags/list?n={n}&last={}>; rel=\"next\"",
                encode(l)
            )
        })
    } else {
        None
    };
    json_response(serde_json::json!({"name": name, "tags": tags}), link)
}

pub async fn catalog(app: &App, req: Request) -> ApiResult<Response> {
    let instance = super::access::instance_for(app, req.headers()).await?;
    let principal = principal(app, req.headers(), &instance).await?;
    // The catalog names every repository of the instance, private ones included: a bearer token
    // lists it only when issued for `registry:catalog:*`, not because its subject could have
    // asked for that.
    if !principal.may_list_catalog() {
        let scope = Some("registry:catalog:*");
        return Err(match principal {
            Principal::User { .. } | Principal::InstanceToken(_) => {
                ApiError::new(Code::Denied, "the catalog is for administrators")
            }
            Principal::Token(_) => challenge(app, req.headers(), scope, true),
            Principal::Anonymous => challenge(app, req.headers(), scope, false),
        });
    }
    let pairs = query_pairs(req.uri().query());
    let (n, last) = paging(app, &pairs)?;
    let mut repos = if n == 0 {
        Vec::new()
    } else {
        app.meta
            .list_repositories(&instance.id, last.as_deref(), n + 1)
            .await?
    };
    let link = if repos.len() > n as usize {
        repos.truncate(n as usize);
        repos
            .last()
            .map(|l| format!("</v2/_catalog?n={n}&last={}>; rel=\"next\"", encode(l)))
    } else {
        None
    };
    json_response(serde_json::json!({"repositories": repos}), link)
}

pub async fn referrers(app: &App, name: &str, digest: &str, req: Request) -> ApiResult<Response> {
    let ctx = authorize(app, req.headers(), name, &[Action::Pull]).await?;
    let subject = parse_digest(digest)?;
    let pairs = query_pairs(req.uri().query());
    let filter = query_one(&pairs, "artifactType").map(str::to_string);
    let found = match &ctx.repo {
        Some(repo) => app.meta.referrers(repo.id, &subject).await?,
        None => Vec::new(),
    };
    let manifests: Vec<serde_json::Value> = found
        .iter()
        .filter(|m| filter.is_none() || m.artifact_type == filter)
        .map(|m| {
            let mut d = serde_json::json!({
                "mediaType": m.media_type,
                "digest": m.digest.to_string(),
                "size": m.size,
            });
            if let Some(t) = &m.artifact_type {
                d["artifactType"] = serde_json::json!(t);
            }
            if let Some(a) = m
                .annotations
                .as_deref()
                .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
            {
                d["annotations"] = a;
            }
            d
        })
        .collect();
    let body = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_types::OCI_INDEX,
        "manifests": manifests,
    })
    .to_string();
    let mut b = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, media_types::OCI_INDEX)
        .header(header::CONTENT_LENGTH, body.len());
    if filter.is_some() {
        b = b.header("oci-filters-applied", "artifactType");
    }
    b.body(Body::from(body))
        .map_err(|e| ApiError::new(Code::Internal, e.to_string()))
}
