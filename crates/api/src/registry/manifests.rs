//! Manifests: GET/HEAD by tag or digest, PUT (with `tag` parameters and `subject`), DELETE.
use super::access::{authorize, ensure_repository, parse_digest};
use crate::auth::Action;
use crate::error::{ApiError, ApiResult, Code};
use crate::http_util::{query_multi, query_pairs};
use crate::state::App;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use berth_oci::manifest::MAX_MANIFEST_BYTES;
use berth_oci::{Digest, ManifestError, ParsedManifest, media_types};
use berth_store::{ManifestRef, NewManifest, PutManifestOutcome, RefKind, StoredManifest};
use http_body_util::BodyExt;
use std::sync::Arc;

use berth_registry::ManifestReference as Reference;

fn parse_reference(reference: &str) -> ApiResult<Reference> {
    if reference.contains(':') {
        return Ok(Reference::Digest(parse_digest(reference)?));
    }
    berth_oci::validate_tag(reference)
        .map_err(|e| ApiError::new(Code::ManifestInvalid, e.to_string()))?;
    Ok(Reference::Tag(reference.to_string()))
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(Code::Internal, e.to_string())
}

/// Resolves a reference through the registry's caches to the stored manifest.
async fn resolve(
    app: &App,
    repo_id: i64,
    reference: &Reference,
) -> ApiResult<Option<Arc<StoredManifest>>> {
    Ok(app.registry.resolve_manifest(repo_id, reference).await?)
}

pub async fn get(app: &App, name: &str, reference: &str, req: Request) -> ApiResult<Response> {
    let ctx = authorize(app, req.headers(), name, &[Action::Pull]).await?;
    let unknown = || {
        ApiError::new(
            Code::ManifestUnknown,
            format!("manifest {reference} is not in {name}"),
        )
    };
    let parsed = match parse_reference(reference) {
        Ok(r) => r,
        Err(e) if e.code == Code::ManifestInvalid => return Err(unknown()),
        Err(e) => return Err(e),
    };
    let repo = ctx.existing()?;
    let m = resolve(app, repo.id, &parsed).await?.ok_or_else(unknown)?;
    let builder = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, &m.meta.media_type)
        .header(header::CONTENT_LENGTH, m.content.len())
        .header("docker-content-digest", m.meta.digest.to_string())
        .header(header::ETAG, format!("\"{}\"", m.meta.digest));
    let body = if req.method() == Method::HEAD {
        Body::empty()
    } else {
        Body::from(m.content.clone())
    };
    builder.body(body).map_err(internal)
}

fn references(parsed: &ParsedManifest) -> Vec<ManifestRef> {
    let blobs = parsed
        .config
        .iter()
        .chain(&parsed.layers)
        .filter(|d| !media_types::is_non_distributable(&d.media_type))
        .map(|d| ManifestRef {
            digest: d.digest.clone(),
            kind: RefKind::Blob,
            size: d.size,
            media_type: d.media_type.clone(),
        });
    let manifests = parsed.manifests.iter().map(|d| ManifestRef {
        digest: d.digest.clone(),
        kind: RefKind::Manifest,
        size: d.size,
        media_type: d.media_type.clone(),
    });
    let mut out: Vec<ManifestRef> = blobs.chain(manifests).collect();
    // The same blob may be listed twice (say, as config and layer); every listing is checked.
    out.sort_by(|a, b| (&a.digest, a.size).cmp(&(&b.digest, b.size)));
    out.dedup_by(|a, b| a.digest == b.digest && a.kind == b.kind && a.size == b.size);
    out
}

pub async fn put(app: &App, name: &str, reference: &str, req: Request) -> ApiResult<Response> {
    let ctx = authorize(app, req.headers(), name, &[Action::Pull, Action::Push]).await?;
    let reference = parse_reference(reference)?;
    let pairs = query_pairs(req.uri().query());
    let mut tags = query_multi(&pairs, "tag");
    for t in &tags {
        berth_oci::validate_tag(t)
            .map_err(|e| ApiError::new(Code::ManifestInvalid, e.to_string()))?;
    }
    if let Reference::Tag(t) = &reference {
        tags.insert(0, t.clone());
    }
    tags.dedup();
    let too_large = || {
        ApiError::new(
            Code::ManifestInvalid,
            format!("manifests are limited to {MAX_MANIFEST_BYTES} bytes"),
        )
        .with_status(StatusCode::PAYLOAD_TOO_LARGE)
    };
    let declared_len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared_len.is_some_and(|n| n > MAX_MANIFEST_BYTES) {
        return Err(too_large());
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let limited = http_body_util::Limited::new(req.into_body(), MAX_MANIFEST_BYTES);
    let content = match limited.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(e) => {
            return Err(ApiError::new(
                Code::ManifestInvalid,
                format!("cannot read the manifest: {e}"),
            ));
        }
    };
    let algorithm = match &reference {
        Reference::Digest(d) => d.algorithm(),
        Reference::Tag(_) => berth_oci::Algorithm::Sha256,
    };
    let digest = Digest::of(algorithm, &content);
    if let Reference::Digest(d) = &reference
        && d != &digest
    {
        return Err(ApiError::new(
            Code::DigestInvalid,
            format!("the manifest's digest is {digest}, not {d}"),
        ));
    }
    let parsed = ParsedManifest::parse(content_type.as_deref(), &content).map_err(|e| match e {
        ManifestError::TooLarge => too_large(),
        other => ApiError::new(Code::ManifestInvalid, other.to_string()),
    })?;
    let repo = ensure_repository(app, &ctx).await?;
    let annotations = parsed
        .annotations
        .as_ref()
        .and_then(|a| serde_json::to_string(a).ok());
    let new = NewManifest {
        digest: digest.clone(),
        media_type: parsed.media_type.clone(),
        artifact_type: parsed.artifact_type.clone(),
        content,
        subject: parsed.subject.as_ref().map(|s| s.digest.clone()),
        annotations,
        refs: references(&parsed),
    };
    let stored = app
        .registry
        .put_manifest(
            &ctx.instance,
            &repo,
            &new,
            &tags,
            is_scannable_image(&parsed),
        )
        .await?;
    match stored {
        PutManifestOutcome::Stored => {}
        PutManifestOutcome::MissingBlob(d) | PutManifestOutcome::MissingManifest(d) => {
            return Err(ApiError::new(
                Code::ManifestBlobUnknown,
                format!("{d} is not in {name}"),
            ));
        }
        PutManifestOutcome::SizeMismatch {
            digest,
            declared,
            actual,
        } => {
            return Err(ApiError::new(
                Code::ManifestInvalid,
                format!("{digest} is {actual} bytes, the manifest says {declared}"),
            ));
        }
        PutManifestOutcome::MediaTypeMismatch {
            digest,
            declared,
            actual,
        } => {
            return Err(ApiError::new(
                Code::ManifestInvalid,
                format!("{digest} is a {actual}, the manifest says {declared}"),
            ));
        }
    }
    let mut builder = Response::builder()
        .status(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{name}/manifests/{digest}"))
        .header("docker-content-digest", digest.to_string())
        .header(header::CONTENT_LENGTH, 0);
    if let Some(subject) = &parsed.subject {
        builder = builder.header("oci-subject", subject.digest.to_string());
    }
    for t in &tags {
        builder = builder.header("oci-tag", t);
    }
    builder.body(Body::empty()).map_err(internal)
}

pub async fn delete(app: &App, name: &str, reference: &str, req: Request) -> ApiResult<Response> {
    let ctx = authorize(app, req.headers(), name, &[Action::Delete]).await?;
    let parsed = parse_reference(reference)?;
    let repo = ctx.existing()?;
    let deleted = match &parsed {
        Reference::Digest(d) => app.registry.delete_manifest(&ctx.instance, repo, d).await?,
        Reference::Tag(t) => app
            .registry
            .delete_tag(&ctx.instance, repo, t)
            .await?
            .is_some(),
    };
    if !deleted {
        return Err(ApiError::new(
            Code::ManifestUnknown,
            format!("manifest {reference} is not in {name}"),
        ));
    }
    Response::builder()
        .status(StatusCode::ACCEPTED)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .map_err(internal)
}

/// Images and indexes are scanned on push; artifacts (signatures, SBOMs, anything with a
/// `subject` or a non-image config) are not.
fn is_scannable_image(parsed: &ParsedManifest) -> bool {
    if parsed.subject.is_some() {
        return false;
    }
    match parsed.kind {
        berth_oci::ManifestKind::Index => true,
        berth_oci::ManifestKind::Image => parsed.config.as_ref().is_some_and(|c| {
            c.media_type == berth_oci::media_types::OCI_CONFIG
                || c.media_type == berth_oci::media_types::DOCKER_CONFIG
        }),
    }
}
