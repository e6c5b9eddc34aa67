//! `/api/v1/exceptions`: list (`GET`, `?state=active|all`), create (`POST`, one exception as
//! JSON), import an OpenVEX document (`POST /api/v1/exceptions/openvex?expiresAt=...`), revoke
//! (`DELETE /api/v1/exceptions/{id}`). Callers are API tokens or Basic users
//! ([`crate::principal`]): `admin` writes, `admin` and `read-only` read. Errors are JSON
//! `{"error": {"code", "message"}}`, as the runtime surface's.
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_hss::policy::ExceptionScope;
use berth_store::ExceptionRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ExceptionError, NewException, unix_now};
use crate::api_tokens::ApiRole;
use crate::principal::{self, Principal, Refused};
use crate::state::App;

/// Largest exception body.
const MAX_BODY: usize = 64 * 1024;
/// Largest OpenVEX document.
const MAX_VEX_BODY: usize = 8 * 1024 * 1024;
/// Validity of imported exceptions when the request names none.
const DEFAULT_VEX_TTL_SECS: i64 = 90 * 86_400;

pub struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.1, "message": self.2}});
        (self.0, Json(body)).into_response()
    }
}

impl From<ExceptionError> for ApiError {
    fn from(e: ExceptionError) -> Self {
        match &e {
            ExceptionError::Invalid { .. } | ExceptionError::Vex(_) => {
                ApiError(StatusCode::BAD_REQUEST, "invalid", e.to_string())
            }
            ExceptionError::NotFound(_) => {
                ApiError(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            ExceptionError::TooMany => ApiError(StatusCode::CONFLICT, "too_many", e.to_string()),
            ExceptionError::Store(s) => store_error(s),
        }
    }
}

fn store_error(e: &berth_store::StoreError) -> ApiError {
    if e.is_storage_full() {
        return ApiError(
            StatusCode::INSUFFICIENT_STORAGE,
            "storage_full",
            "the server's storage is full; nothing was written".into(),
        );
    }
    tracing::error!(error = %e, "exception storage failure");
    ApiError(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "storage failure; nothing was written".into(),
    )
}

type ApiResult<T> = Result<T, ApiError>;

async fn caller(app: &App, headers: &HeaderMap, writes: bool) -> ApiResult<Principal> {
    let p = principal::authenticate(app, headers)
        .await
        .map_err(|r| match r {
            Refused::Unauthenticated(m) => ApiError(StatusCode::UNAUTHORIZED, "unauthenticated", m),
            Refused::Throttled => ApiError(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "too many failed logins; retry later".into(),
            ),
            Refused::Internal(m) => {
                tracing::error!(error = %m, "cannot verify credentials");
                ApiError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "cannot verify the credentials".into(),
                )
            }
        })?;
    let allowed = match p.role {
        ApiRole::Admin => true,
        ApiRole::ReadOnly => !writes,
        ApiRole::ContinuousIntegration | ApiRole::None => false,
    };
    if !allowed {
        let what = if writes { "change" } else { "read" };
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "{} (role {:?}) may not {what} exceptions",
                p.name,
                p.role.as_str()
            ),
        ));
    }
    Ok(p)
}

async fn read_body(body: Body, limit: usize) -> ApiResult<bytes::Bytes> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is over {limit} bytes or was cut off"),
        )
    })
}

fn rfc3339(secs_or_millis: i64, millis: bool) -> Value {
    let dt = if millis {
        chrono::DateTime::from_timestamp_millis(secs_or_millis)
    } else {
        chrono::DateTime::from_timestamp(secs_or_millis, 0)
    };
    dt.map_or(Value::Null, |d| {
        json!(d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
}

/// The wire form of a stored exception.
pub fn to_json(r: &ExceptionRecord, now: i64) -> Value {
    let state = if r.revoked_at.is_some() {
        "revoked"
    } else if r.expires_at <= now {
        "expired"
    } else {
        "active"
    };
    json!({
        "id": r.id, "clusterId": r.cluster_id, "namespace": r.namespace, "image": r.image,
        "package": r.package, "vulnerability": r.vulnerability, "reason": r.reason,
        "author": r.author, "source": r.source, "state": state,
        "createdAt": rfc3339(r.created_at, true), "expiresAt": rfc3339(r.expires_at, false),
        "revokedAt": r.revoked_at.map_or(Value::Null, |t| rfc3339(t, true)),
        "revokedBy": r.revoked_by,
    })
}

fn parse_time(field: &'static str, s: &str) -> ApiResult<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|d| d.timestamp())
        .map_err(|e| {
            ApiError(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("invalid {field}: {e} (RFC 3339 expected)"),
            )
        })
}

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
}

pub async fn list(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    caller(&app, &headers, false).await?;
    let now = unix_now();
    let records = match q.state.as_deref() {
        None | Some("all") => app.meta.list_exceptions().await,
        Some("active") => app.meta.active_exceptions(now).await,
        Some(other) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("invalid state {other:?}: active or all"),
            ));
        }
    }
    .map_err(|e| store_error(&e))?;
    let list: Vec<Value> = records.iter().map(|r| to_json(r, now)).collect();
    Ok(Json(json!({"exceptions": list})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    cluster_id: Option<String>,
    namespace: Option<String>,
    image: Option<String>,
    package: Option<String>,
    vulnerability: Option<String>,
    reason: String,
    expires_at: String,
}

pub async fn create(State(app): State<App>, headers: HeaderMap, body: Body) -> ApiResult<Response> {
    let who = caller(&app, &headers, true).await?;
    let bytes = read_body(body, MAX_BODY).await?;
    let b: CreateBody = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("invalid exception: {e}"),
        )
    })?;
    let item = NewException {
        scope: ExceptionScope {
            cluster_id: b.cluster_id,
            namespace: b.namespace,
            image_or_repository: b.image,
            package: b.package,
            vulnerability_or_check: b.vulnerability,
        },
        reason: b.reason,
        expires_at: parse_time("expiresAt", &b.expires_at)?,
    };
    let created = super::create(
        app.meta.as_ref(),
        &who.name,
        "api",
        std::slice::from_ref(&item),
    )
    .await?;
    crate::notices::announce(&app, crate::notices::ApiNotice::Admission);
    let now = unix_now();
    let out = created
        .first()
        .map(|r| to_json(r, now))
        .unwrap_or(Value::Null);
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VexQuery {
    expires_at: Option<String>,
}

pub async fn import_openvex(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<VexQuery>,
    body: Body,
) -> ApiResult<Response> {
    let who = caller(&app, &headers, true).await?;
    let expires_at = match q.expires_at.as_deref() {
        Some(s) => parse_time("expiresAt", s)?,
        None => unix_now().saturating_add(DEFAULT_VEX_TTL_SECS),
    };
    let bytes = read_body(body, MAX_VEX_BODY).await?;
    let (created, ignored) =
        super::import_openvex(app.meta.as_ref(), &who.name, &bytes, expires_at).await?;
    crate::notices::announce(&app, crate::notices::ApiNotice::Admission);
    let now = unix_now();
    let list: Vec<Value> = created.iter().map(|r| to_json(r, now)).collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({"exceptions": list, "ignoredStatements": ignored})),
    )
        .into_response())
}

pub async fn revoke(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let who = caller(&app, &headers, true).await?;
    super::revoke(app.meta.as_ref(), &id, &who.name).await?;
    crate::notices::announce(&app, crate::notices::ApiNotice::Admission);
    Ok(StatusCode::NO_CONTENT)
}

/// The routes, for [`crate::router`] to merge.
pub fn routes() -> axum::Router<App> {
    use axum::routing::{delete, get, post};
    axum::Router::new()
        .route("/api/v1/exceptions", get(list).post(create))
        .route("/api/v1/exceptions/openvex", post(import_openvex))
        .route("/api/v1/exceptions/{id}", delete(revoke))
}
