//! Who may do what to which repository: resolving the instance, namespace and repository of a
//! request, authenticating its caller and authorizing the action, and the challenge to answer.
use crate::auth::{Action, Principal};
use crate::error::{ApiError, ApiResult, Code};
use crate::http_util::namespace_of;
use crate::state::App;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, header};
use berth_oci::{Digest, DigestError};
use berth_store::{Instance, Namespace, Repository};
use std::net::SocketAddr;
use std::sync::Arc;

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

pub(crate) async fn lookup_namespace(
    app: &App,
    instance_id: &str,
    name: &str,
) -> ApiResult<Option<Arc<Namespace>>> {
    Ok(app.registry.namespace(instance_id, name).await?)
}

pub(crate) async fn lookup_repository(
    app: &App,
    instance_id: &str,
    name: &str,
) -> ApiResult<Option<Arc<Repository>>> {
    Ok(app.registry.repository(instance_id, name).await?)
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
    match app.registry.instance_by_name(label).await? {
        Some(i) if i.status == berth_store::InstanceStatus::Running => Ok(i),
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
pub(crate) async fn authorize_with_source(
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
    Ok(app
        .registry
        .ensure_repository(&ctx.instance.id, &ctx.namespace, &ctx.name)
        .await?)
}

/// The address a request's failed logins count against (see `network::client_addr`).
pub(crate) fn client_of(app: &App, req: &Request) -> Option<std::net::IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    crate::network::client_addr(&app.config.network, peer, req.headers())
}
