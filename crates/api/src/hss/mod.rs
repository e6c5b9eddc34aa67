//! The cluster-protection API of Huawei Cloud Host Security Service (HSS v5), as its official
//! SDK `huaweicloudsdkhss` 3.1.x calls it: every operation of the SDK's cluster-protect family
//! (seed `hss-create-cluster-protection-policy.txt` names one of them).
//!
//! # Request flow
//!
//! [`dispatch`] answers every path under `/v5/`: the (method, path) picks the operation
//! ([`Op::route`]; anything else is `APIGW.0101`, 404); the body is read within
//! [`MAX_BODY_BYTES`] (a declared length over it is refused unread); [`auth::verify`] checks
//! the SDK-HMAC-SHA256 signature with berth's access keys; a read-only key may only `GET`; the
//! path's `project_id` must be a berth instance id (and agree with `X-Project-Id` when sent);
//! then the operation. Every answer is JSON: the operation's response model, or
//! `{"error_code","error_msg"}` ([`error`]); the request id is in `X-Request-Id`.
//!
//! Operations by family: [`policies`] (create, change, delete, list, detail, default
//! policies), [`events`] (list, change, sync), [`clusters`] (overview, clusters, protection
//! items, protection mode), [`templates`] (list, show).
mod auth;
pub(crate) mod clusters;
pub(crate) mod context;
pub(crate) mod error;
mod events;
pub(crate) mod policies;
mod templates;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use bytes::Bytes;

use crate::http_util::query_pairs;
use crate::state::App;
use context::Call;
use error::{HssError, HssResult};

/// The largest body read: a policy has at most 1000 entries per list
/// (`berth_hss::policy::model::MAX_LIST_ENTRIES`), which fits well within it.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The routes of this surface, for [`crate::router`] to merge.
pub fn routes() -> Router<App> {
    Router::new().route("/v5/{*rest}", any(dispatch))
}

/// An operation of the cluster-protect family, by the SDK's method name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    CreateClusterProtectionPolicy,
    ChangeClusterProtectionPolicy,
    DeleteClusterProtectionPolicy,
    ListClusterProtectionPolicy,
    ListClusterProtectionPolicyDetail(String),
    ListClusterProtectionDefaultPolicy,
    ListClusterEvents,
    ChangeClusterEvents,
    ListClusterProtectOverview,
    ListClusterProtectionInfo,
    ListClusterProtectionItem,
    SwitchClusterProtectionMode,
    ListClusterProtectPolicyTemplates,
    ShowClusterProtectPolicyTemplate(String),
    SyncClusterProtectionEvent,
}

fn decode(segment: &str) -> Option<String> {
    let text = percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()?;
    (!text.is_empty()).then(|| text.into_owned())
}

impl Op {
    /// The project id and operation of a request, `None` for no operation of this family.
    pub fn route(method: &Method, path: &str) -> Option<(String, Op)> {
        let rest = path.strip_prefix("/v5/")?;
        let (project, rest) = rest.split_once('/')?;
        let project = decode(project)?;
        let segments: Vec<&str> = rest.split('/').collect();
        let m = method.as_str();
        let op = match (m, segments.as_slice()) {
            ("POST", ["cluster-protect", "policy"]) => Op::CreateClusterProtectionPolicy,
            ("PUT", ["cluster-protect", "policy"]) => Op::ChangeClusterProtectionPolicy,
            ("DELETE", ["cluster-protect", "policy"]) => Op::DeleteClusterProtectionPolicy,
            ("GET", ["cluster-protect", "policy"]) => Op::ListClusterProtectionPolicy,
            ("GET", ["cluster-protect", "policy", id]) => {
                Op::ListClusterProtectionPolicyDetail(decode(id)?)
            }
            ("GET", ["cluster-protect", "default-policy"]) => {
                Op::ListClusterProtectionDefaultPolicy
            }
            ("GET", ["cluster-protect", "events"]) => Op::ListClusterEvents,
            ("PUT", ["cluster-protect", "events"]) => Op::ChangeClusterEvents,
            ("GET", ["cluster-protect", "overview"]) => Op::ListClusterProtectOverview,
            ("GET", ["cluster-protect", "clusters"]) => Op::ListClusterProtectionInfo,
            ("GET", ["cluster-protect", "protection-item"]) => Op::ListClusterProtectionItem,
            ("POST", ["cluster-protect", "switch-mod"]) => Op::SwitchClusterProtectionMode,
            ("GET", ["container", "clusters", "protection-policy-templates"]) => {
                Op::ListClusterProtectPolicyTemplates
            }
            ("GET", ["container", "clusters", "protection-policy-templates", id]) => {
                Op::ShowClusterProtectPolicyTemplate(decode(id)?)
            }
            ("POST", ["container", "clusters", "protection-event-sync"]) => {
                Op::SyncClusterProtectionEvent
            }
            _ => return None,
        };
        Some((project, op))
    }

    /// Whether the operation changes state: every one not sent with `GET`.
    pub fn writes(&self) -> bool {
        !matches!(
            self,
            Op::ListClusterProtectionPolicy
                | Op::ListClusterProtectionPolicyDetail(_)
                | Op::ListClusterProtectionDefaultPolicy
                | Op::ListClusterEvents
                | Op::ListClusterProtectOverview
                | Op::ListClusterProtectionInfo
                | Op::ListClusterProtectionItem
                | Op::ListClusterProtectPolicyTemplates
                | Op::ShowClusterProtectPolicyTemplate(_)
        )
    }
}

/// Every request under `/v5/`.
pub async fn dispatch(State(app): State<App>, req: Request<Body>) -> Response {
    match handle(app, req).await {
        Ok(body) => error::json(StatusCode::OK, body),
        Err(e) => e.into_response(),
    }
}

/// The body within [`MAX_BODY_BYTES`]; a declared length over it is refused unread.
async fn read_body(headers: &HeaderMap, body: Body) -> HssResult<Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(HssError::too_large(MAX_BODY_BYTES));
    }
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(c) = cause {
                if c.is::<http_body_util::LengthLimitError>() {
                    return HssError::too_large(MAX_BODY_BYTES);
                }
                cause = c.source();
            }
            HssError::invalid_body("the body did not arrive whole")
        })
}

async fn handle(app: App, req: Request<Body>) -> HssResult<String> {
    let (parts, body) = req.into_parts();
    let Some((project_id, op)) = Op::route(&parts.method, parts.uri.path()) else {
        return Err(HssError::no_such_api(
            parts.method.as_str(),
            parts.uri.path(),
        ));
    };
    let body = read_body(&parts.headers, body).await?;
    let caller = auth::verify(&app, &parts, &body).await?;
    if op.writes() && caller.read_only {
        tracing::info!(principal = %caller.principal, ?op, "read-only caller refused");
        return Err(HssError::read_only());
    }
    // The SDK sends the credentials' project id as X-Project-Id (and signs it): a request
    // whose header and path disagree was not built by it for this path.
    if let Some(header) = parts.headers.get("x-project-id")
        && header.as_bytes() != project_id.as_bytes()
    {
        return Err(HssError::invalid_parameter(
            "X-Project-Id",
            "it differs from the project id in the path",
        ));
    }
    if app.meta.get_instance(&project_id).await?.is_none() {
        return Err(HssError::no_project(&project_id));
    }
    let call = Call {
        query: query_pairs(parts.uri.query()),
        app,
        project_id,
        body,
    };
    run(op, &call).await
}

async fn run(op: Op, call: &Call) -> HssResult<String> {
    match op {
        Op::CreateClusterProtectionPolicy => policies::create(call).await,
        Op::ChangeClusterProtectionPolicy => policies::change(call).await,
        Op::DeleteClusterProtectionPolicy => policies::delete(call).await,
        Op::ListClusterProtectionPolicy => policies::list(call).await,
        Op::ListClusterProtectionPolicyDetail(id) => policies::detail(call, &id).await,
        Op::ListClusterProtectionDefaultPolicy => policies::defaults(call),
        Op::ListClusterEvents => events::list(call).await,
        Op::ChangeClusterEvents => events::change(call).await,
        Op::SyncClusterProtectionEvent => events::sync(call).await,
        Op::ListClusterProtectOverview => clusters::overview(call).await,
        Op::ListClusterProtectionInfo => clusters::list(call).await,
        Op::ListClusterProtectionItem => clusters::items(call).await,
        Op::SwitchClusterProtectionMode => clusters::switch_mode(call).await,
        Op::ListClusterProtectPolicyTemplates => templates::list(call),
        Op::ShowClusterProtectPolicyTemplate(id) => templates::show(&id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_operation() {
        let r = |m: Method, p: &str| Op::route(&m, p);
        assert_eq!(
            r(Method::POST, "/v5/p1/cluster-protect/policy"),
            Some(("p1".into(), Op::CreateClusterProtectionPolicy))
        );
        assert_eq!(
            r(Method::GET, "/v5/p1/cluster-protect/policy/a%20b"),
            Some((
                "p1".into(),
                Op::ListClusterProtectionPolicyDetail("a b".into())
            ))
        );
        assert_eq!(
            r(
                Method::GET,
                "/v5/p1/container/clusters/protection-policy-templates/t"
            )
            .map(|x| x.1),
            Some(Op::ShowClusterProtectPolicyTemplate("t".into()))
        );
        assert_eq!(r(Method::PATCH, "/v5/p1/cluster-protect/policy"), None);
        assert_eq!(r(Method::GET, "/v5/p1/cluster-protect/policy/"), None);
        assert_eq!(r(Method::GET, "/v5//cluster-protect/overview"), None);
        assert_eq!(r(Method::GET, "/v5/p1/cluster-protect/nothing"), None);
        assert!(Op::CreateClusterProtectionPolicy.writes());
        assert!(Op::SyncClusterProtectionEvent.writes());
        assert!(!Op::ListClusterEvents.writes());
    }
}
