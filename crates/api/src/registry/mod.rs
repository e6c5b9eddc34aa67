//! The OCI Distribution v1.1 API under `/v2/`.
//!
//! Repository names contain slashes, so one handler takes every `/v2/...` path and splits it on
//! the last endpoint marker (`/manifests/`, `/blobs/`, ...): what follows a marker never contains
//! a slash, so the split is unambiguous.
pub(crate) mod access;
mod blobs;
mod listing;
mod manifests;
pub mod token;
mod uploads;

use crate::http_util::{query_one, query_pairs};
use access::{authorize_with_source, challenge, client_of, instance_for, principal};

use crate::auth::{Action, Principal};
use crate::error::{ApiError, ApiResult, Code};
use crate::state::App;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

pub const API_VERSION_HEADER: &str = "docker-distribution-api-version";

#[derive(Debug, PartialEq, Eq)]
enum Endpoint<'a> {
    Base,
    Catalog,
    Tags(&'a str),
    Manifest(&'a str, &'a str),
    Blob(&'a str, &'a str),
    UploadStart(&'a str),
    Upload(&'a str, &'a str),
    Referrers(&'a str, &'a str),
}

fn split_last<'a>(rest: &'a str, marker: &str) -> Option<(&'a str, &'a str)> {
    let i = rest.rfind(marker)?;
    let tail = &rest[i + marker.len()..];
    (!tail.is_empty() && !tail.contains('/')).then(|| (&rest[..i], tail))
}

fn parse_endpoint(rest: &str) -> Option<Endpoint<'_>> {
    if rest.is_empty() {
        return Some(Endpoint::Base);
    }
    if rest == "_catalog" {
        return Some(Endpoint::Catalog);
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some(Endpoint::Tags(name));
    }
    if let Some(name) = rest
        .strip_suffix("/blobs/uploads/")
        .or_else(|| rest.strip_suffix("/blobs/uploads"))
    {
        return Some(Endpoint::UploadStart(name));
    }
    if let Some((name, id)) = split_last(rest, "/blobs/uploads/") {
        return Some(Endpoint::Upload(name, id));
    }
    if let Some((name, d)) = split_last(rest, "/blobs/") {
        return Some(Endpoint::Blob(name, d));
    }
    if let Some((name, r)) = split_last(rest, "/manifests/") {
        return Some(Endpoint::Manifest(name, r));
    }
    if let Some((name, d)) = split_last(rest, "/referrers/") {
        return Some(Endpoint::Referrers(name, d));
    }
    None
}

/// Every `/v2/...` request.
pub async fn dispatch(State(app): State<App>, req: Request) -> Response {
    let client = client_of(&app, &req);
    let mut resp = match crate::auth::for_client(client, route(&app, req)).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    resp.headers_mut().insert(
        API_VERSION_HEADER,
        axum::http::HeaderValue::from_static("registry/2.0"),
    );
    resp
}

async fn route(app: &App, req: Request) -> ApiResult<Response> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let instance = instance_for(app, req.headers()).await?;
    crate::network::check_source(app, &instance, peer, req.headers()).await?;
    let path = req.uri().path().to_string();
    let rest = path
        .strip_prefix("/v2/")
        .or_else(|| (path == "/v2").then_some(""));
    let Some(endpoint) = rest.and_then(parse_endpoint) else {
        return Err(ApiError::new(Code::NameUnknown, "no such endpoint")
            .with_status(axum::http::StatusCode::NOT_FOUND));
    };
    let method = req.method().clone();
    let unsupported =
        || ApiError::new(Code::Unsupported, format!("{method} is not supported here"));
    match endpoint {
        Endpoint::Base => match method {
            Method::GET | Method::HEAD => base(app, req.headers()).await,
            _ => Err(unsupported()),
        },
        Endpoint::Catalog => match method {
            Method::GET => listing::catalog(app, req).await,
            _ => Err(unsupported()),
        },
        Endpoint::Tags(name) => match method {
            Method::GET => listing::tags(app, name, req).await,
            _ => Err(unsupported()),
        },
        Endpoint::Referrers(name, digest) => match method {
            Method::GET => listing::referrers(app, name, digest, req).await,
            _ => Err(unsupported()),
        },
        Endpoint::Manifest(name, reference) => match method {
            Method::GET | Method::HEAD => manifests::get(app, name, reference, req).await,
            Method::PUT => manifests::put(app, name, reference, req).await,
            Method::DELETE => manifests::delete(app, name, reference, req).await,
            _ => Err(unsupported()),
        },
        Endpoint::Blob(name, digest) => match method {
            Method::GET | Method::HEAD => blobs::get(app, name, digest, req).await,
            Method::DELETE => blobs::delete(app, name, digest, req).await,
            _ => Err(unsupported()),
        },
        Endpoint::UploadStart(name) => match method {
            Method::POST => {
                let pairs = query_pairs(req.uri().query());
                if query_one(&pairs, "mount").is_some()
                    && let Some(from) = query_one(&pairs, "from")
                {
                    authorize_with_source(
                        app,
                        req.headers(),
                        name,
                        &[Action::Pull, Action::Push],
                        Some(from),
                    )
                    .await?;
                }
                uploads::start(app, name, req).await
            }
            _ => Err(unsupported()),
        },
        Endpoint::Upload(name, id) => match method {
            Method::GET => uploads::status(app, name, id, req).await,
            Method::PATCH => uploads::patch(app, name, id, req).await,
            Method::PUT => uploads::finish(app, name, id, req).await,
            Method::DELETE => uploads::cancel(app, name, id, req).await,
            _ => Err(unsupported()),
        },
    }
}

async fn base(app: &App, headers: &HeaderMap) -> ApiResult<Response> {
    let instance = instance_for(app, headers).await?;
    match principal(app, headers, &instance).await? {
        Principal::Anonymous => Err(challenge(app, headers, None, false)),
        _ => Ok((
            [(header::CONTENT_TYPE, "application/json")],
            Body::from("{}"),
        )
            .into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        use Endpoint::*;
        assert_eq!(parse_endpoint(""), Some(Base));
        assert_eq!(parse_endpoint("_catalog"), Some(Catalog));
        assert_eq!(parse_endpoint("a/b/tags/list"), Some(Tags("a/b")));
        assert_eq!(parse_endpoint("a/manifests/v1"), Some(Manifest("a", "v1")));
        assert_eq!(
            parse_endpoint("blobs/manifests/blobs/manifests/x"),
            Some(Manifest("blobs/manifests/blobs", "x"))
        );
        assert_eq!(parse_endpoint("a/blobs/uploads/"), Some(UploadStart("a")));
        assert_eq!(
            parse_endpoint("a/blobs/uploads/123"),
            Some(Upload("a", "123"))
        );
        assert_eq!(
            parse_endpoint("a/blobs/sha256:x"),
            Some(Blob("a", "sha256:x"))
        );
        assert_eq!(
            parse_endpoint("a/referrers/sha256:x"),
            Some(Referrers("a", "sha256:x"))
        );
        assert_eq!(parse_endpoint("a/manifests/"), None);
        assert_eq!(parse_endpoint("a/whatever"), None);
    }
}
