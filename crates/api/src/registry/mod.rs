//! The OCI Distribution v1.1 API under `/v2/`.
//!
//! Repository names contain slashes, so one handler takes every `/v2/...` path and splits it on
//! the last endpoint marker (`/manifests/`, `/blobs/`, ...): what follows a marker never contains
//! a slash, so the split is unambiguous.
mod blobs;
mod listing;
mod manifests;
pub mod token;
mod uploads;

use crate::auth::{Action, Principal};
use crate::error::{ApiError, ApiResult, Code};
use crate::state::App;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use berth_oci::{Digest, DigestError};
use berth_store::{Instance, Namespace, Repository};
use std::net::SocketAddr;
use std::sync::Arc;

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

pub(crate) fn query_pairs(req_query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req_query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

pub(crate) fn query_one<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn parse_digest(s: &str) -> ApiResult<Digest> {
    s.parse().map_err(|e: DigestError| match e {
        DigestError::Unsupported(alg) => ApiError::new(
            Code::DigestInvalid,
            format!("unsupported digest algorithm {alg:?}: berth accepts sha256 and sha512"),
        ),
        DigestError::Invalid(_) => {
            ApiError::new(Code::DigestInvalid, format!("invalid digest {s:?}"))
        }
    })
}

/// The base URL clients should use for links to this server.
pub(crate) fn base_url(app: &App, headers: &HeaderMap) -> String {
    if let Some(u) = &app.config.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    format!("{proto}://{host}")
}

/// What a handler knows about the repository a request names, once access is granted.
pub(crate) struct RepoCtx {
    pub instance: Arc<Instance>,
    pub name: String,
    pub namespace: String,
    pub repo: Option<Arc<Repository>>,
    pub principal: Principal,
}

impl RepoCtx {
    pub fn existing(&self) -> ApiResult<&Arc<Repository>> {
        self.repo.as_ref().ok_or_else(|| {
            ApiError::new(
                Code::NameUnknown,
                format!("repository {} is not known", self.name),
            )
        })
    }
}

pub(crate) fn namespace_of(name: &str) -> &str {
    name.split('/').next().unwrap_or(name)
}

pub(crate) async fn lookup_namespace(
    app: &App,
    instance_id: &str,
    name: &str,
) -> ApiResult<Option<Arc<Namespace>>> {
    let key = (instance_id.to_string(), name.to_string());
    if let Some(hit) = app.caches.namespaces.get(&key) {
        return Ok(hit);
    }
    let ns = app
        .meta
        .get_namespace(instance_id, name)
        .await?
        .map(Arc::new);
    app.caches.namespaces.insert(key, ns.clone());
    Ok(ns)
}

pub(crate) async fn lookup_repository(
    app: &App,
    instance_id: &str,
    name: &str,
) -> ApiResult<Option<Arc<Repository>>> {
    let key = (instance_id.to_string(), name.to_string());
    if let Some(hit) = app.caches.repositories.get(&key) {
        return Ok(hit);
    }
    let repo = app
        .meta
        .get_repository(instance_id, name)
        .await?
        .map(Arc::new);
    app.caches.repositories.insert(key, repo.clone());
    Ok(repo)
}

/// 401 with a bearer challenge naming the scope the request needs.
pub(crate) fn challenge(
    app: &App,
    headers: &HeaderMap,
    scope: Option<&str>,
    insufficient: bool,
) -> ApiError {
    let mut value = format!(
        "Bearer realm=\"{}/auth/token\",service=\"{}\"",
        base_url(app, headers),
        app.auth.config().service
    );
    if let Some(scope) = scope {
        value.push_str(&format!(",scope=\"{scope}\""));
    }
    if insufficient {
        value.push_str(",error=\"insufficient_scope\"");
    }
    ApiError::new(Code::Unauthorized, "authentication required")
        .with_header(header::WWW_AUTHENTICATE, &value)
}

/// The instance a request is for: `<instance>.<base domain>` in the Host header names one;
/// any other host is the default instance.
pub(crate) async fn instance_for(app: &App, headers: &HeaderMap) -> ApiResult<Arc<Instance>> {
    let default = || Ok(app.default_instance.clone());
    let Some(base) = app.config.management.base_domain.as_deref() else {
        return default();
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    // Strip the port (and the brackets of an IPv6 literal, which never matches anyway).
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
    .trim_end_matches('.')
    .to_ascii_lowercase();
    let Some(label) = host
        .strip_suffix(base)
        .and_then(|h| h.strip_suffix('.'))
        .filter(|l| !l.is_empty() && !l.contains('.'))
    else {
        return default();
    };
    let cached = app.caches.instances.get(label);
    let instance = match cached {
        Some(hit) => hit,
        None => {
            let found = app.meta.get_instance_by_name(label).await?.map(Arc::new);
            app.caches
                .instances
                .insert(label.to_string(), found.clone());
            found
        }
    };
    match instance {
        Some(i) if i.status == "Running" => Ok(i),
        _ => Err(ApiError::new(
            Code::NameUnknown,
            format!("instance {label} is not served here"),
        )
        .with_status(axum::http::StatusCode::NOT_FOUND)),
    }
}

pub(crate) async fn principal(
    app: &App,
    headers: &HeaderMap,
    instance: &Instance,
) -> ApiResult<Principal> {
    app.auth
        .authenticate(app.meta.as_ref(), headers, &instance.id)
        .await
        .map_err(|e| {
            if e.code == Code::Unauthorized {
                let mut c = challenge(app, headers, None, false);
                c.detail = e.detail;
                c
            } else {
                e
            }
        })
}

/// Validates the name, authenticates the caller and checks it may do every one of `actions`.
pub(crate) async fn authorize(
    app: &App,
    headers: &HeaderMap,
    name: &str,
    actions: &[Action],
) -> ApiResult<RepoCtx> {
    authorize_with_source(app, headers, name, actions, None).await
}

/// `authorize`, for a request that also reads `source` (a cross-repository mount's `from`).
/// Its challenge names `repository:<source>:pull` besides the target's scope, as distribution's
/// does: a token client asks for exactly the scopes a challenge names, so one naming only the
/// target gets a token that can never mount. A bearer token lacking that pull is sent back for
/// it only when its subject could be granted it; otherwise a new token would lack it too, and
/// the mount falls back to an upload as for any caller who may not read the source.
async fn authorize_with_source(
    app: &App,
    headers: &HeaderMap,
    name: &str,
    actions: &[Action],
    source: Option<&str>,
) -> ApiResult<RepoCtx> {
    berth_oci::validate_repository(name)
        .map_err(|e| ApiError::new(Code::NameInvalid, e.to_string()))?;
    let instance_ref = instance_for(app, headers).await?;
    let instance = &instance_ref.id;
    let namespace = namespace_of(name).to_string();
    let principal = principal(app, headers, &instance_ref).await?;
    let public = lookup_namespace(app, instance, &namespace)
        .await?
        .is_some_and(|ns| ns.public);
    let config = app.auth.config();
    let mut denied = !actions
        .iter()
        .all(|a| principal.may(config, name, public, *a));
    let wanted: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
    let mut scope = format!("repository:{name}:{}", wanted.join(","));
    if let Some(source) = source.filter(|s| berth_oci::validate_repository(s).is_ok()) {
        scope.push_str(&format!(" repository:{source}:pull"));
        if matches!(principal, Principal::Token(_)) {
            let source_public = lookup_namespace(app, instance, namespace_of(source))
                .await?
                .is_some_and(|ns| ns.public);
            let could = principal.role().may(config, source_public, Action::Pull);
            denied |= could && !principal.may(config, source, source_public, Action::Pull);
        }
    }
    if denied {
        return Err(match principal {
            Principal::User { .. } | Principal::InstanceToken(_) => ApiError::new(
                Code::Denied,
                format!("{} may not {} {name}", principal.name(), wanted.join(",")),
            ),
            Principal::Token(_) => challenge(app, headers, Some(&scope), true),
            Principal::Anonymous => challenge(app, headers, Some(&scope), false),
        });
    }
    let repo = lookup_repository(app, instance, name).await?;
    Ok(RepoCtx {
        instance: instance_ref.clone(),
        name: name.to_string(),
        namespace,
        repo,
        principal,
    })
}

/// The repository a push writes to, created (with its namespace) on first use.
pub(crate) async fn ensure_repository(app: &App, ctx: &RepoCtx) -> ApiResult<Arc<Repository>> {
    if let Some(r) = &ctx.repo {
        return Ok(r.clone());
    }
    let instance = &ctx.instance.id;
    let (_, repo) = app
        .meta
        .ensure_repository_path(instance, &ctx.namespace, &ctx.name)
        .await?;
    let repo = Arc::new(repo);
    app.caches
        .repositories
        .insert((instance.clone(), ctx.name.clone()), Some(repo.clone()));
    app.caches
        .namespaces
        .invalidate(&(instance.clone(), ctx.namespace.clone()));
    Ok(repo)
}

/// The address a request's failed logins count against (see `network::client_addr`).
pub(crate) fn client_of(app: &App, req: &Request) -> Option<std::net::IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    crate::network::client_addr(&app.config.network, peer, req.headers())
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

/// Query parameters as a multimap (for repeated `tag=` and `scope=`).
pub(crate) fn query_multi(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
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
