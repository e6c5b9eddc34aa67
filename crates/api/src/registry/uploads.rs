//! Blob uploads: monolithic (POST+PUT, or POST with `digest`), chunked and streamed PATCH,
//! status, cancel, and cross-repository mounts. Upload state lives in the metadata store and the
//! blob store, so an upload survives a restart of the server.
use super::access::{
    RepoCtx, authorize, ensure_repository, lookup_namespace, lookup_repository, parse_digest,
};
use crate::auth::Action;
use crate::error::{ApiError, ApiResult, Code};
use crate::http_util::{query_one, query_pairs};
use crate::metrics::RouteLabels;
use crate::state::App;
use crate::upload_limits;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use berth_oci::Digest;
use berth_registry::UploadCommitted;
use berth_store::{BlobStream, Repository, Upload, now_millis};
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

/// Why a request body ended early. The store sees only an I/O error; the answer depends on this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFault {
    /// More bytes than the Content-Range declared.
    TooLong,
    /// Nothing arrived for `limits.body_idle_timeout_secs`.
    Idle,
    /// The client went away or broke the framing.
    Broken,
}

type FaultCell = Arc<std::sync::OnceLock<BodyFault>>;

fn is_idle_timeout(e: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// The request body as a stream, counted into the metrics; a client that disconnects, stalls,
/// sends fewer bytes than its Content-Length or more than `limit` ends the stream with an error,
/// and `fault` says which.
fn body_stream(app: &App, req: Request, limit: Option<u64>, fault: FaultCell) -> BlobStream {
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
            let chunk = chunk.map_err(|e| {
                let _ = fault.set(if is_idle_timeout(&e) {
                    BodyFault::Idle
                } else {
                    BodyFault::Broken
                });
                std::io::Error::other(e)
            })?;
            seen += chunk.len() as u64;
            counter.inc_by(chunk.len() as u64);
            if limit.is_some_and(|l| seen > l) {
                let _ = fault.set(BodyFault::TooLong);
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

/// Opens an upload session for `owner`, within the session limits.
async fn new_upload(app: &App, repo: &Repository, owner: &str) -> ApiResult<String> {
    let id = uuid::Uuid::new_v4().to_string();
    app.upload_limits
        .open(&app.config.limits, app.meta.as_ref(), owner, &id)
        .await?;
    let created = async {
        app.blobs.upload_start(&id).await?;
        app.meta
            .create_upload(&Upload {
                id: id.clone(),
                repository_id: repo.id,
                created_at: now_millis(),
            })
            .await
    }
    .await;
    if let Err(e) = created {
        app.upload_limits.close(&id);
        return Err(e.into());
    }
    Ok(id)
}

/// Stops counting the session `id` once the store no longer has it (a commit removes it; a
/// failed one may not have).
async fn forget_if_gone(app: &App, id: &str) {
    if matches!(app.meta.get_upload(id).await, Ok(None)) {
        app.upload_limits.close(id);
    }
}

async fn discard(app: &App, id: &str) {
    if let Err(e) = app.blobs.upload_cancel(id).await {
        tracing::warn!(upload = id, error = %e, "cannot discard upload bytes");
    }
    if let Err(e) = app.meta.delete_upload(id).await {
        tracing::warn!(upload = id, error = %e, "cannot discard upload record");
    }
    app.upload_limits.close(id);
}

/// Appends the request body at the upload's current end (or at the Content-Range start, which
/// must be that end), counted as one of `owner`'s uploads in flight. Returns the new size.
///
/// A body that fails keeps what arrived (the client resumes from the size it is told), except
/// one longer than its Content-Range: that chunk is undone whole, since the client meant other
/// bytes than it sent.
async fn append(app: &App, id: &str, req: Request, owner: &str) -> ApiResult<u64> {
    let _in_flight = app
        .upload_limits
        .begin_write(app.config.limits.max_uploads_in_flight_per_principal, owner)?;
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
    let fault = FaultCell::default();
    let body = body_stream(app, req, declared, fault.clone());
    let size = match app.blobs.upload_append(id, current, body, limit).await {
        Ok(size) => size,
        Err(e) => return Err(body_failure(app, id, current, fault.get().copied(), e).await),
    };
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

/// The answer to an append that failed: the body's fault if it had one, else the store's error.
async fn body_failure(
    app: &App,
    id: &str,
    current: u64,
    fault: Option<BodyFault>,
    error: berth_store::StoreError,
) -> ApiError {
    let Some(fault) = fault else {
        return error.into();
    };
    if fault == BodyFault::TooLong {
        return match app.blobs.upload_truncate(id, current).await {
            Ok(()) => ApiError::new(
                Code::BlobUploadInvalid,
                "the body is longer than its Content-Range; the chunk was not stored",
            )
            .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
            .with_header(header::RANGE, &range_header(current)),
            Err(e) => e.into(),
        };
    }
    // What arrived stays; the client learns where to resume.
    let size = match app.blobs.upload_size(id).await {
        Ok(Some(size)) => size,
        Ok(None) => current,
        Err(e) => return e.into(),
    };
    let (status, detail) = match fault {
        BodyFault::Idle => (
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "no body bytes arrived for {} s; the upload holds {size} bytes",
                app.config.limits.body_idle_timeout_secs
            ),
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            format!("the body ended early; the upload holds {size} bytes"),
        ),
    };
    ApiError::new(Code::BlobUploadInvalid, detail)
        .with_status(status)
        .with_header(header::RANGE, &range_header(size))
}

/// Commits the upload as `digest` and links it into the repository (`Registry::commit_upload`:
/// the link first, then the bytes checked, so a concurrent collection cannot lose them).
async fn commit(app: &App, repo: &Repository, id: &str, digest: &Digest) -> ApiResult<()> {
    match app.registry.commit_upload(repo.id, id, digest).await? {
        UploadCommitted::Linked { .. } => Ok(()),
        UploadCommitted::DigestMismatch { actual } => Err(ApiError::new(
            Code::DigestInvalid,
            format!("the content's digest is {actual}, not {digest}"),
        )),
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
            let public = lookup_namespace(app, instance, crate::http_util::namespace_of(from))
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
            let repo = ensure_repository(app, &ctx).await?;
            if app.registry.mount_blob(repo.id, &digest, size).await? {
                return created(name, &digest);
            }
        }
    }
    let repo = ensure_repository(app, &ctx).await?;
    let owner = upload_limits::owner(&ctx.instance.id, &ctx.principal);
    if let Some(d) = query_one(&pairs, "digest") {
        // Single-request monolithic upload.
        let digest = parse_digest(d)?;
        let id = new_upload(app, &repo, &owner).await?;
        let result = match append(app, &id, req, &owner).await {
            Ok(_) => commit(app, &repo, &id, &digest).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            discard(app, &id).await;
            return Err(e);
        }
        app.upload_limits.close(&id);
        return created(name, &digest);
    }
    let id = new_upload(app, &repo, &owner).await?;
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
    let owner = upload_limits::owner(&ctx.instance.id, &ctx.principal);
    let size = append(app, id, req, &owner).await?;
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
        let owner = upload_limits::owner(&ctx.instance.id, &ctx.principal);
        append(app, id, req, &owner).await?;
    }
    match commit(app, &repo, id, &digest).await {
        // Committed: the record is gone, so is the session.
        Ok(()) => app.upload_limits.close(id),
        // Failed: the record may or may not remain (a mismatch deletes it).
        Err(e) => {
            forget_if_gone(app, id).await;
            return Err(e);
        }
    }
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
