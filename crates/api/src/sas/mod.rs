//! The image-risk operations of Alibaba Cloud Security Center (SAS, API version 2018-12-03),
//! wire-compatible with the vendor's SDKs: `ListImageRisk` and
//! `DescribeClusterImageSecuritySummary` (seeds `sas-list-image-risk.txt` and
//! `sas-describe-cluster-image-security-summary.txt`).
//!
//! # Routing
//!
//! These are RPC calls at `/`, where the management API (SigV4, `Version=2021-11-09`) also
//! answers. [`root`] sends a request here when it carries a mark of the vendor's signing — an
//! `Authorization: ACS3-...` header, any `x-acs-*` header, a `Signature`, `SignatureMethod`,
//! `SignatureVersion` or `SignatureNonce` query parameter, or `Version=2018-12-03` in the query —
//! and to the management API otherwise. SigV4 requests carry none of these (their signature is
//! `AWS4-HMAC-SHA256` or `X-Amz-*`), and the marks are read from the head only, so a request's
//! body is never read twice. Every SDK puts them there: tea-openapi (ACS3 and v2) and
//! aliyun-python-sdk-core send the signature parameters in the query even for a POST.
//!
//! # Request flow
//!
//! Method GET or POST; the body read up to the verifier's limit (64 KiB; these operations take
//! none, a form body is allowed); then [`auth::verify`] (parse, time, key, signature, nonce), the
//! version, the action, the key's permission, the parameter names, the operation. Every answer
//! is JSON: the operation's fields after `RequestId`, or the vendor's error body
//! `{"RequestId","HostId","Code","Message"}` with its status ([`berth_acs::AcsError`]).
mod auth;
mod endpoints;
mod list;
mod params;
pub(crate) mod risk;
mod summary;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use berth_acs::{AcsError, AcsResult, Envelope};

use crate::state::App;
use params::{Call, DESCRIBE_SUMMARY, LIST_IMAGE_RISK, VERSION};

/// Query parameters that only the vendor's v2 signature uses.
const V2_MARKS: [&str; 4] = [
    "Signature",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
];

/// Whether a request at `/` is for this surface (see the module documentation).
pub fn is_acs_request(headers: &HeaderMap, uri: &Uri) -> bool {
    let acs3 = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().get(..5))
        .is_some_and(|p| p.eq_ignore_ascii_case(b"ACS3-"));
    if acs3 || headers.keys().any(|k| k.as_str().starts_with("x-acs-")) {
        return true;
    }
    uri.query().unwrap_or("").split('&').any(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        V2_MARKS.contains(&name) || (name == "Version" && value == VERSION)
    })
}

/// `GET /` and `POST /`: this surface or the management API.
pub async fn root(State(app): State<App>, req: Request<Body>) -> Response {
    if is_acs_request(req.headers(), req.uri()) {
        handle(app, req).await
    } else {
        crate::kcr::dispatch(State(app), req).await
    }
}

fn json_response(status: StatusCode, request_id: &str, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-acs-request-id", id);
    }
    response
}

async fn handle(app: App, req: Request<Body>) -> Response {
    // The access log's request id, in the vendor's upper case, so the two can be matched.
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64)
        .map(str::to_ascii_uppercase)
        .unwrap_or_else(berth_acs::new_request_id);
    let host = params::host_of(req.headers());
    match call(app, req, &host, &request_id).await {
        Ok(body) => json_response(StatusCode::OK, &request_id, body),
        Err(e) => {
            let body = serde_json::to_string(&e.body(&request_id, &host)).unwrap_or_default();
            json_response(e.status(), &request_id, body)
        }
    }
}

/// The body, within the verifier's limit; a declared length over it is refused unread.
async fn read_body(app: &App, headers: &HeaderMap, body: Body) -> AcsResult<bytes::Bytes> {
    let limit = app.runtime.acs.limits().max_body_bytes;
    let too_large =
        || AcsError::InvalidParameter(format!("The request body exceeds {limit} bytes."));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(c) = cause {
            if c.is::<http_body_util::LengthLimitError>() {
                return too_large();
            }
            cause = c.source();
        }
        AcsError::InvalidParameter("The request body did not arrive whole.".into())
    })
}

fn envelope<T: serde::Serialize>(request_id: &str, body: &T) -> AcsResult<String> {
    serde_json::to_string(&Envelope::new(request_id, body)).map_err(|e| {
        tracing::error!(error = %e, "cannot serialize an image-risk answer");
        AcsError::ServerError
    })
}

async fn call(app: App, req: Request<Body>, host: &str, request_id: &str) -> AcsResult<String> {
    let (parts, body) = req.into_parts();
    if parts.method != Method::GET && parts.method != Method::POST {
        return Err(AcsError::InvalidParameter(format!(
            "The HTTP method {} is not supported; use GET or POST.",
            parts.method
        )));
    }
    let body = read_body(&app, &parts.headers, body).await?;
    let caller = auth::verify(&app, &parts, &body).await?;
    let verified = &caller.verified;
    if verified.version() != VERSION {
        return Err(AcsError::InvalidParameter(format!(
            "Specified parameter Version is not valid: this endpoint serves {VERSION}."
        )));
    }
    let action = verified.action().to_string();
    if action != LIST_IMAGE_RISK && action != DESCRIBE_SUMMARY {
        return Err(AcsError::InvalidActionNotFound);
    }
    if !auth::permitted(&action, caller.read_only) {
        return Err(AcsError::NoPermission);
    }
    let call = Call {
        app,
        params: caller.verified.into_params(),
        host: host.to_string(),
    };
    if action == LIST_IMAGE_RISK {
        envelope(request_id, &list::list_image_risk(&call).await?)
    } else {
        envelope(request_id, &summary::describe(&call).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(headers: &[(&str, &str)], target: &str) -> bool {
        let mut h = HeaderMap::new();
        for (n, v) in headers {
            if let (Ok(n), Ok(v)) = (
                axum::http::HeaderName::from_bytes(n.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                h.append(n, v);
            }
        }
        is_acs_request(&h, &target.parse().unwrap_or_default())
    }

    #[test]
    fn routing_marks() {
        assert!(marks(
            &[("authorization", "ACS3-HMAC-SHA256 Credential=x")],
            "/"
        ));
        assert!(marks(&[("x-acs-action", "ListImageRisk")], "/"));
        assert!(marks(
            &[],
            "/?Action=ListImageRisk&SignatureMethod=HMAC-SHA1"
        ));
        assert!(marks(&[], "/?Signature=abc"));
        assert!(marks(&[], "/?Action=ListImageRisk&Version=2018-12-03"));
        // The management API's requests carry none.
        assert!(!marks(
            &[("authorization", "AWS4-HMAC-SHA256 Credential=x")],
            "/?Action=DescribeInstance&Version=2021-11-09"
        ));
        assert!(!marks(&[], "/?X-Amz-Signature=abc&Action=DescribeInstance"));
        assert!(!marks(&[], "/"));
    }
}
