//! The registry management API of the seed `kcr-container-registry-openapi.txt` (its 33 actions,
//! and berth's extension `ModifyRepoTagImmutability`):
//! `GET /?Action=X&Version=2021-11-09&...` or `POST /` with a form body (or a JSON body, as the
//! kingsoftcloud SDK sends some actions), signed with AWS Signature Version 4.
//!
//! Every response carries `RequestId` (the request id of the access log). Errors use the seed's
//! format and codes ([`error`]); each action runs in one store transaction where it writes, so a
//! failure leaves nothing half-created.
mod context;
pub mod error;
pub mod keys;
pub mod openapi;
pub mod spec;

mod api_tokens;
mod endpoints;
mod instances;
mod namespaces;
mod repositories;
mod scans;
pub(crate) mod tokens;
mod webhooks;

pub use context::{API_VERSION, Ctx, Reply, SERVICE, opt_time, page, time};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::state::App;
use berth_kcr::params::Params;
use berth_kcr::sigv4;
use error::{KcrError, KcrResult};

/// The largest body of a request whose signature was verified before its body was read.
const MAX_BODY_BYTES: usize = 1 << 20;
/// The largest body read before the signature can be verified (no `x-amz-content-sha256`, so
/// the signature covers the body's hash): this much is what anyone who knows an access key id
/// can make the server buffer.
const MAX_UNVERIFIED_BODY_BYTES: usize = 64 << 10;

fn respond(request_id: &str, result: KcrResult<Reply>) -> Response {
    let (status, body) = match result {
        Ok(mut reply) => {
            reply.insert("RequestId".into(), Value::String(request_id.to_string()));
            (StatusCode::OK, Value::Object(reply))
        }
        Err(e) => (
            e.status,
            json!({
                "RequestId": request_id,
                "Error": {"Type": e.kind(), "Code": e.code, "Message": e.message},
            }),
        ),
    };
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `GET /` and `POST /`.
pub async fn dispatch(State(app): State<App>, req: Request<Body>) -> Response {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let result = handle(app, req, &request_id).await;
    respond(&request_id, result)
}

async fn handle(app: App, req: Request<Body>, request_id: &str) -> KcrResult<Reply> {
    let (parts, body) = req.into_parts();
    if parts.method != Method::GET && parts.method != Method::POST {
        return Err(KcrError::invalid_method(parts.method.as_str()));
    }
    let query = parts.uri.query().unwrap_or("");
    // The signature before the body: a request not signed by a known key has nothing read, and
    // one that declares its body's hash is verified whole before the body is.
    let head = sigv4::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query,
        headers: &parts.headers,
        body: &[],
    };
    let signer = keys::signer(&app, &head).await?;
    let payload = sigv4::Payload::of(&parts.headers);
    let early = signer.verify_declared(&head, &payload).transpose()?;
    let body = read_body(&parts.headers, body, early.is_some()).await?;
    let caller = match early {
        Some(caller) => {
            sigv4::check_body(&payload, &body)?;
            caller
        }
        None => signer.verify(&sigv4::Request {
            body: &body,
            ..head
        })?,
    };
    let mut params = read_params(&parts.method, &parts.headers, query, &body)?;

    let action = params.required("Action")?.to_string();
    let version = params.required("Version")?;
    if version != API_VERSION {
        return Err(KcrError::invalid_value("Version"));
    }
    let spec = spec::find(&action).ok_or_else(|| KcrError::invalid_value("Action"))?;
    if caller.read_only && !spec.is_read_only() {
        return Err(KcrError::access_denied(&caller.access_key_id, &action));
    }
    spec.check(&params)?;
    for name in COMMON_DROPPED {
        params.remove(name);
    }
    let ctx = Ctx {
        app,
        params,
        caller: caller.access_key_id,
        request_id: request_id.to_string(),
    };
    (spec.handler)(&ctx).await
}

/// The body, up to [`MAX_BODY_BYTES`] once the signature is verified, else up to
/// [`MAX_UNVERIFIED_BODY_BYTES`]; a declared length over the limit is refused unread.
async fn read_body(
    headers: &axum::http::HeaderMap,
    body: Body,
    verified: bool,
) -> KcrResult<bytes::Bytes> {
    let (limit, too_large) = if verified {
        (MAX_BODY_BYTES, "The body is larger than 1 MiB.")
    } else {
        (
            MAX_UNVERIFIED_BODY_BYTES,
            "The body is larger than 64 KiB; a larger one must declare its SHA-256 in \
             'x-amz-content-sha256'.",
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(KcrError::invalid_value_because("Body", too_large));
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(c) = cause {
            if c.is::<http_body_util::LengthLimitError>() {
                return KcrError::invalid_value_because("Body", too_large);
            }
            cause = c.source();
        }
        KcrError::invalid_value_because("Body", "The body did not arrive whole.")
    })
}

/// Common parameters handlers never look at.
const COMMON_DROPPED: &[&str] = &["Service", "SdkVersion", "Region", "Accesskey", "Language"];

/// GET takes parameters from the query only; POST from the body only (a form, or a JSON object
/// whose query may repeat only `Action` and `Version`, as the kingsoftcloud SDK sends them).
fn read_params(
    method: &Method,
    headers: &axum::http::HeaderMap,
    query: &str,
    body: &[u8],
) -> KcrResult<Params> {
    let query_pairs = sigv4::query_pairs(query);
    if method == Method::GET {
        return Ok(Params::from_pairs(query_pairs)?);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/x-www-form-urlencoded");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_auth = |k: &str| k.starts_with("X-Amz-");
    match mime.as_str() {
        "application/x-www-form-urlencoded" => {
            if let Some((k, _)) = query_pairs.iter().find(|(k, _)| !is_auth(k)) {
                return Err(KcrError::invalid_query_parameter(k));
            }
            let mut pairs = sigv4::query_pairs(std::str::from_utf8(body).map_err(|_| {
                KcrError::invalid_value_because("Body", "The form body is not UTF-8.")
            })?);
            pairs.extend(query_pairs.into_iter().filter(|(k, _)| is_auth(k)));
            Ok(Params::from_pairs(pairs)?)
        }
        "application/json" => {
            let value: Value = serde_json::from_slice(body).map_err(|e| {
                KcrError::invalid_value_because("Body", &format!("The JSON body is invalid: {e}."))
            })?;
            let mut params = Params::from_json(&value)?;
            for (k, v) in query_pairs {
                if is_auth(&k) {
                    params.insert(k, v)?;
                    continue;
                }
                if k != "Action" && k != "Version" {
                    return Err(KcrError::invalid_query_parameter(&k));
                }
                match params.get(&k) {
                    Some(existing) if existing != v => {
                        return Err(KcrError::invalid_query_parameter(&k));
                    }
                    Some(_) => {}
                    None => params.insert(k, v)?,
                }
            }
            Ok(params)
        }
        _ => Err(KcrError::invalid_value_because(
            "Content-Type",
            "Use application/x-www-form-urlencoded or application/json.",
        )),
    }
}
