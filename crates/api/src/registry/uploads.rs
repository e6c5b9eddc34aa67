//! Blob uploads: monolithic (POST+PUT, or POST with `digest`), chunked and streamed PATCH,
//! status, cancel, and cross-repository mounts. Upload state lives in the metadata store and the
//! blob store, so an upload survives a restart of the server.
use super::{
    RepoCtx, authorize, ensure_repository, lookup_namespace, lookup_repository, parse_digest,
    query_one, query_pairs,
};
use crate::auth::Action;
use crate::error::{ApiError, ApiResult, Code};
use crate::metrics::RouteLabels;
use crate::state::App;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use berth_oci::Digest;
use berth_store::{BlobStream, CommitOutcome, Repository, Upload, now_millis};
use futures::StreamExt;
use std::sync::Arc;

fn location(name: &str, id: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}")
}

fn range_header(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

fn upload_response(status: StatusCode, name: &str, id: &str, size: u64) -> ApiResult<Response> {
    Response::builder()
        .status(status)
        .header(header::LOCATION, location(name, id))
        .header(header::RANGE, range_header(size))
        .header("docker-upload-uuid", id)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .map_err(|e| ApiError::new(Code::Internal, e.to_string()))
}

fn created(name: &str, digest: &Digest) -> ApiResult<Response> {
    Response::builder()
        .status(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{name}/blobs/{digest}"))
        .header("docker-content-digest", digest.to_string())
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .map_err(|e| ApiError::new(Code::Internal, e.to_string()))
}

/// The request body as a stream, counted into the metrics; a client that disconnects or sends
/// fewer bytes than its Content-Length ends the stream with an error.
fn body_stream(app: &App, req: Request, limit: Option<u64>) -> BlobStream {
    let counter = app
        .metrics
        .bytes_in
        .get_or_create(&RouteLabels {
            route: "blob_upload",
        })
        .clone();
    let mut seen = 0u64;
    req.into_body()
        .into_data_stream()
        .map(move |chunk| {
            let chunk = chunk.map_err(std::io::Error::other)?;
            seen += chunk.len() as u64;
            counter.inc_by(chunk.len() as u64);
            if limit.is_some_and(|l| seen > l) {
                return Err(std::io::Error::other(
                    "body is longer than its Content-Range",
                ));
            }
            Ok(chunk)
        })
        .boxed()
}

/// `Content-Range: <start>-<end>` (inclusive; a `bytes ` prefix and `/total` suffix are tolerated).
fn content_range(headers: &HeaderMap) -> ApiResult<Option<(u64, u64)>> {
    let Some(v) = headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::new(Code::BlobUploadInvalid, "malformed Content-Range")
            .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
    };
    let s = v.to_str().map_err(|_| bad())?.trim();
    let s = s.strip_prefix("bytes ").unwrap_or(s);
    let s = s.split('/').next().unwrap_or(s);
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let start: u64 = a.trim().parse().map_err(|_| bad())?;
    let end: u64 = b.trim().parse().map_err(|_| bad())?;
    // `end - start + 1` must be a length: a range ending at u64::MAX is not one.
    if end < start || end == u64::MAX {
        return Err(bad());
    }
    Ok(Some((start, end)))
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

async fn new_upload(app: &App, repo: &Repository) -> ApiResult<String> {
    let id = uuid::Uuid::new_v4().to_string();
    app.blobs.upload_start(&id).await?;
    app.meta
        .create_upload(&Upload {
            id: id.clone(),
            repository_id: repo.id,
            created_at: now_millis(),
        })
        .await?;
    Ok(id)
}

async fn discard(app: &App, id: &str) {
    if let Err(e) = app.blobs.upload_cancel(id).await {
        tracing::warn!(upload = id, error = %e, "cannot discard upload bytes");
    }
    if let Err(e) = app.meta.delete_upload(id).await {
        tracing::warn!(upload = id, error = %e, "cannot discard upload record");
    }
}

/// Appends the request body at the upload's current end (or at the Content-Range start, which
/// must be that end). Returns the new size.
async fn append(app: &App, id: &str, req: Request) -> ApiResult<u64> {
    let current =
        app.blobs.upload_size(id).await?.ok_or_else(|| {
            ApiError::new(Code::BlobUploadUnknown, format!("upload {id} is unknown"))
        })?;
    let range = content_range(req.headers())?;
    let declared = match range {
        Some((start, end)) => {
            if start != current {
                return Err(ApiError::new(
                    Code::BlobUploadInvalid,
                    format!("chunk starts at {start} but the upload holds {current} bytes"),
                )
                .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
                .with_header(header::RANGE, &range_header(current)));
            }
            let len = end - start + 1;
            if content_length(req.headers()).is_some_and(|cl| cl != len) {
                return Err(ApiError::new(
                    Code::SizeInvalid,
                    "Content-Length does not match Content-Range",
                ));
            }
            Some(len)
        }
        None => None,
    };
    let limit = app.config.limits.max_blob_bytes;
    let body = body_stream(app, req, declared);
    let size = app.blobs.upload_append(id, current, body, limit).await?;
    if let Some(len) = declared
        && size - current != len
    {
        return Err(ApiError::new(
            Code::SizeInvalid,
            format!(
                "Content-Range declared {len} bytes, {} arrived",
                size - current
            ),
        ));
    }
    Ok(size)
}

/// Commits the upload as `digest` and links it into the repository.
async fn commit(app: &App, repo: &Repository, id: &str, digest: &Digest) -> ApiResult<()> {
    match app.blobs.upload_commit(id, digest).await? {
        CommitOutcome::Committed { size } => {
            app.meta.link_blob(repo.id, digest, size).await?;
            app.meta.delete_upload(id).await?;
            app.caches
                .blob_links
                .insert((repo.id, digest.clone()), size);
            Ok(())
        }
        CommitOutcome::DigestMismatch { actual } => {
            app.meta.delete_upload(id).await?;
            Err(ApiError::new(
                Code::DigestInvalid,
                format!("the content's digest is {actual}, not {digest}"),
            ))
        }
    }
}

/// The upload `id` of repository `ctx`, or BLOB_UPLOAD_UNKNOWN.
async fn owned_upload(app: &App, ctx: &RepoCtx, id: &str) -> ApiResult<Arc<Repository>> {
    let unknown = || ApiError::new(Code::BlobUploadUnknown, format!("upload {id} is unknown"));
    let repo = ctx.repo.clone().ok_or_else(unknown)?;
    match app.meta.get_upload(id).await? {
        Some(u) if u.repository_id == repo.id => Ok(repo),
        _ => Err(unknown()),
    }
}

/// Tries `mount=<digest>[&from=<repo>]`; `None` when the blob cannot be mounted.
async fn try_mount(
    app: &App,
    ctx: &RepoCtx,
    digest: &Digest,
    from: Option<&str>,
) -> ApiResult<Option<u64>> {
    let instance = &ctx.instance.id;
    match from {
        Some(from) => {
            if berth_oci::validate_repository(from).is_err() {
                return Ok(None);
            }
            let public = lookup_namespace(app, instance, super::namespace_of(from))
                .await?
                .is_some_and(|ns| ns.public);
            if !ctx
                .principal
                .may(app.auth.config(), from, public, Action::Pull)
            {
                return Ok(None);
            }
            let Some(source) = lookup_repository(app, instance, from).await? else {
                return Ok(None);
            };
            Ok(app.meta.linked_blob(source.id, digest).await?)
        }
        None if ctx.principal.is_admin() => {
            Ok(app.meta.find_blob_in_instance(instance, digest).await?)
        }
        None => Ok(None),
    }
}

pub async fn start(app: &App, name: &str, req: Request) -> ApiResult<Response> {
    let ctx = authorize(app, req.headers(), name, &[Action::Pull, Action::Push]).await?;
    let pairs = query_pairs(req.uri().query());
    if let Some(mount) = query_one(&pairs, "mount") {
        let digest = parse_digest(mount)?;
        if let Some(size) = try_mount(app, &ctx, &digest, query_one(&pairs, "from")).await? {
            // The bytes must really be there before the link is made.
            if app.blobs.stat(&digest).await? == Some(size) {
                let repo = ensure_repository(app, &ctx).await?;
                app.meta.link_blob(repo.id, &digest, size).await?;
                app.caches
                    .blob_links
                    .insert((repo.id, digest.clone()), size);
                return created(name, &digest);
            }
        }
    }
    let repo = ensure_repository(app, &ctx).await?;
    if let Some(d) = query_one(&pairs, "digest") {
        // Single-request monolithic upload.
        let digest = parse_digest(d)?;
        let id = new_upload(app, &repo).await?;
        let result = match append(app, &id, req).await {
            Ok(_) => commit(app, &repo, &id, &digest).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            discard(app, &id).await;
            return Err(e);
        }
        return created(name, &digest);
    }
    let id = new_upload(app, &repo).await?;
    upload_response(StatusCode::ACCEPTED, name, &id, 0)
}

pub async fn status(app: &App, name: &str, id: &str, req: Request) -> ApiResult<Response> {
    let ctx = authorize(app, req.headers(), name, &[Action::Pull, Action::Push]).await?;
    owned_upload(app, &ctx, id).await?;
    let size =
        app.blobs.upload_size(id).await?.ok_or_else(|| {
            ApiError::new(Code::BlobUploadUnknown, format!("upload {id} is unknown"))
        })?;
    upload_response(StatusCode::NO_CONTENT, name, id, size)
}

pub async fn patch(app: &App, name: &str, id: &str, req: Request) -> ApiResult<Response> {
    let ctx = authorize(app, req.headers(), name, &[Action::Pull, Action::Push]).await?;
    owned_upload(app, &ctx, id).await?;
    let size = append(app, id, req).await?;
    upload_response(StatusCode::ACCEPTED, name, id, size)
}

pub async fn finish(app: &App, name: &str, id: &str, req: Request) -> ApiResult<Response> {
    let ctx = authorize(app, req.headers(), name, &[Action::Pull, Action::Push]).await?;
    let repo = owned_upload(app, &ctx, id).await?;
    let pairs = query_pairs(req.uri().query());
    let digest = match query_one(&pairs, "digest") {
        Some(d) => parse_digest(d)?,
        None => {
            return Err(ApiError::new(
                Code::DigestInvalid,
                "the digest query parameter is required",
            ));
        }
    };
    let has_body = content_length(req.headers()).is_some_and(|n| n > 0)
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    if has_body {
        append(app, id, req).await?;
    }
    commit(app, &repo, id, &digest).await?;
    created(name, &digest)
}

pub async fn cancel(app: &App, name: &str, id: &str, req: Request) -> ApiResult<Response> {
    let ctx = authorize(app, req.headers(), name, &[Action::Pull, Action::Push]).await?;
    owned_upload(app, &ctx, id).await?;
    discard(app, id).await;
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .map_err(|e| ApiError::new(Code::Internal, e.to_string()))
}
