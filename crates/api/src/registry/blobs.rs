//! Blob GET/HEAD (with ranges) and DELETE.
use super::access::{authorize, parse_digest};
use crate::auth::Action;
use crate::error::{ApiError, ApiResult, Code};
use crate::state::App;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use berth_oci::Digest;

/// The blob's size if it is linked into the repository and its bytes are present.
pub(crate) async fn linked_size(
    app: &App,
    repo_id: i64,
    digest: &Digest,
) -> ApiResult<Option<u64>> {
    Ok(app.registry.linked_blob_size(repo_id, digest).await?)
}

/// Parses a single `bytes=` range against a blob of `size` bytes.
fn parse_range(value: &str, size: u64) -> Result<std::ops::Range<u64>, ()> {
    let spec = value.trim().strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') {
        return Err(());
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| ())?;
            if n == 0 {
                return Err(());
            }
            (size.saturating_sub(n), size)
        }
        (s, "") => (s.parse().map_err(|_| ())?, size),
        (s, e) => {
            let s: u64 = s.parse().map_err(|_| ())?;
            let e: u64 = e.parse().map_err(|_| ())?;
            if e < s {
                return Err(());
            }
            (s, e.saturating_add(1).min(size))
        }
    };
    if start >= size || start >= end {
        return Err(());
    }
    Ok(start..end)
}

pub async fn get(app: &App, name: &str, digest: &str, req: Request) -> ApiResult<Response> {
    let ctx = authorize(app, req.headers(), name, &[Action::Pull]).await?;
    let digest = parse_digest(digest)?;
    let repo = ctx.existing()?;
    let unknown = || ApiError::new(Code::BlobUnknown, format!("blob {digest} is not in {name}"));
    let size = linked_size(app, repo.id, &digest)
        .await?
        .ok_or_else(unknown)?;
    // A pull (not a HEAD) goes to the blob store's presigned URL when redirects are on: the
    // bytes need not pass through berth. The client sends its Range header there.
    if req.method() == Method::GET
        && let Some(url) = app.registry.blob_redirect(&digest).await?
    {
        return Response::builder()
            .status(StatusCode::TEMPORARY_REDIRECT)
            .header(header::LOCATION, url)
            .header("docker-content-digest", digest.to_string())
            .header(header::CONTENT_LENGTH, 0)
            .body(Body::empty())
            .map_err(|e| ApiError::new(Code::Internal, e.to_string()));
    }
    let range = match req.headers().get(header::RANGE) {
        Some(v) => {
            let parsed = v
                .to_str()
                .map_err(|_| ())
                .and_then(|v| parse_range(v, size));
            match parsed {
                Ok(r) => Some(r),
                Err(()) => {
                    return Err(ApiError::new(Code::RangeInvalid, "range not satisfiable")
                        .with_header(header::CONTENT_RANGE, &format!("bytes */{size}")));
                }
            }
        }
        None => None,
    };
    let builder = Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header("docker-content-digest", digest.to_string())
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, format!("\"{digest}\""));
    let (builder, length) = match &range {
        Some(r) => (
            builder.status(StatusCode::PARTIAL_CONTENT).header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{size}", r.start, r.end - 1),
            ),
            r.end - r.start,
        ),
        None => (builder.status(StatusCode::OK), size),
    };
    let builder = builder.header(header::CONTENT_LENGTH, length);
    let body = if req.method() == Method::HEAD {
        Body::empty()
    } else {
        let stream = app
            .registry
            .read_linked_blob(repo.id, &digest, range)
            .await?
            .ok_or_else(unknown)?;
        Body::from_stream(stream)
    };
    builder
        .body(body)
        .map_err(|e| ApiError::new(Code::Internal, e.to_string()))
}

pub async fn delete(app: &App, name: &str, digest: &str, req: Request) -> ApiResult<Response> {
    let ctx = authorize(app, req.headers(), name, &[Action::Delete]).await?;
    let digest = parse_digest(digest)?;
    let repo = ctx.existing()?;
    if !app.registry.unlink_blob(repo.id, &digest).await? {
        return Err(ApiError::new(
            Code::BlobUnknown,
            format!("blob {digest} is not in {name}"),
        ));
    }
    Response::builder()
        .status(StatusCode::ACCEPTED)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .map_err(|e| ApiError::new(Code::Internal, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(0..10));
        assert_eq!(parse_range("bytes=90-", 100), Ok(90..100));
        assert_eq!(parse_range("bytes=-10", 100), Ok(90..100));
        assert_eq!(parse_range("bytes=95-200", 100), Ok(95..100));
        assert_eq!(parse_range("bytes=-200", 100), Ok(0..100));
        assert!(parse_range("bytes=100-", 100).is_err());
        assert!(parse_range("bytes=5-4", 100).is_err());
        assert!(parse_range("bytes=0-1,3-4", 100).is_err());
        assert!(parse_range("items=0-1", 100).is_err());
        assert!(parse_range("bytes=0-0", 0).is_err());
    }
}
