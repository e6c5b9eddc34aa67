//! Snapshots of the wire formats clients parse: OCI error documents (with the headers that come
//! with them), the management API's error documents, and `/openapi.json`. A change to any of
//! them shows up as a snapshot diff (tests/it/snapshots) to review, not as a silent break of
//! docker, skopeo or the vendor SDKs.
//!
//! Only what varies from run to run is normalised: the server's address (a free port) and the
//! management API's `RequestId` (a fresh UUID). JSON objects are snapshotted with sorted keys:
//! whether serde_json keeps insertion order depends on the features other crates turn on.
use crate::common::{self, ADMIN_PASSWORD, TestApp, TestServer};
use berth_oci::Digest;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use std::time::SystemTime;

/// The headers a snapshot records when a response has them; others (date, length) say nothing
/// about the format.
const HEADERS: &[&str] = &[
    "content-type",
    "docker-distribution-api-version",
    "www-authenticate",
    "retry-after",
    "range",
];

/// Status, the [`HEADERS`] present and the JSON body, with the server's address as `[server]`.
async fn exchange(s: &TestServer, r: Response) -> Value {
    let status = r.status().as_u16();
    let mut headers = serde_json::Map::new();
    for name in HEADERS {
        if let Some(v) = r.headers().get(*name) {
            let v = v.to_str().unwrap().replace(&s.base, "http://[server]");
            headers.insert((*name).to_string(), Value::String(v));
        }
    }
    let text = r.text().await.unwrap();
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body {text:?} is not JSON: {e}"));
    json!({"status": status, "headers": headers, "body": body})
}

/// A management API exchange, its `RequestId` (checked to be there) replaced by a placeholder.
async fn kcr_exchange(s: &TestServer, r: Response) -> Value {
    let mut v = exchange(s, r).await;
    let id = &mut v["body"]["RequestId"];
    assert!(id.as_str().is_some_and(|id| !id.is_empty()), "{v}");
    *id = Value::String("[request-id]".into());
    v
}

/// A form POST to the management API, signed by `kcr`.
async fn signed_post(kcr: &common::kcr::Kcr, params: &[(&str, &str)]) -> Response {
    let body = common::kcr::form(params);
    let url = format!("{}/", kcr.base);
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    kcr.send_signed("POST", &url, &headers, body.as_bytes(), SystemTime::now())
        .await
}

fn snapshot(name: &str, request: &str, value: &Value) {
    let mut settings = insta::Settings::clone_current();
    settings.set_sort_maps(true);
    settings.set_omit_expression(true);
    settings.set_description(request);
    settings.bind(|| insta::assert_json_snapshot!(name, value));
}

#[tokio::test]
async fn oci_error_documents() {
    let s = TestApp::new().start().await;
    s.push_image("team/app", "v1", b"layer").await;

    let r = s.anon(Method::GET, "/v2/").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    snapshot(
        "oci_unauthorized",
        "GET /v2/ without credentials",
        &exchange(&s, r).await,
    );

    let r = s
        .admin(Method::GET, "/v2/team/nothing/tags/list")
        .send()
        .await
        .unwrap();
    snapshot(
        "oci_name_unknown",
        "GET /v2/team/nothing/tags/list as the admin",
        &exchange(&s, r).await,
    );

    let r = s
        .admin(Method::GET, "/v2/team/app/manifests/v2")
        .send()
        .await
        .unwrap();
    snapshot(
        "oci_manifest_unknown",
        "GET /v2/team/app/manifests/v2 (only v1 is pushed)",
        &exchange(&s, r).await,
    );

    // A monolithic upload whose body is not what its digest says.
    let r = s
        .admin(Method::POST, "/v2/team/app/blobs/uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let sep = if loc.contains('?') { '&' } else { '?' };
    let claimed = Digest::sha256_of(b"what the client meant to send");
    let r = s
        .admin(Method::PUT, &format!("{loc}{sep}digest={claimed}"))
        .header("content-type", "application/octet-stream")
        .body("what arrived")
        .send()
        .await
        .unwrap();
    snapshot(
        "oci_digest_invalid",
        "PUT of an upload whose body does not hash to ?digest=",
        &exchange(&s, r).await,
    );

    let r = s
        .admin(Method::PATCH, "/v2/team/app/blobs/uploads/not-an-upload")
        .body("x")
        .send()
        .await
        .unwrap();
    snapshot(
        "oci_blob_upload_unknown",
        "PATCH /v2/team/app/blobs/uploads/not-an-upload",
        &exchange(&s, r).await,
    );

    let hash = berth_api::hash_password("viewer-password").unwrap();
    s.app
        .meta
        .create_user("viewer", &hash, false)
        .await
        .unwrap();
    let r = s
        .anon(Method::GET, "/v2/_catalog")
        .basic_auth("viewer", Some("viewer-password"))
        .send()
        .await
        .unwrap();
    snapshot(
        "oci_denied",
        "GET /v2/_catalog as a user who is not an administrator",
        &exchange(&s, r).await,
    );
}

#[tokio::test]
async fn oci_too_many_requests() {
    let s = TestApp::new()
        .limits(|l| l.max_upload_sessions_per_principal = 1)
        .start()
        .await;
    let r = s
        .admin(Method::POST, "/v2/team/app/blobs/uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = s
        .anon(Method::POST, "/v2/team/app/blobs/uploads/")
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    snapshot(
        "oci_too_many_requests",
        "a second upload session with max_upload_sessions_per_principal = 1",
        &exchange(&s, r).await,
    );
}

#[tokio::test]
async fn management_error_documents() {
    let s = TestApp::new().start().await;
    let kcr = s.kcr().await;
    let r = s
        .anon(Method::POST, "/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Action=DescribeInstance&Version=2021-11-09")
        .send()
        .await
        .unwrap();
    snapshot(
        "kcr_missing_authentication_token",
        "POST / Action=DescribeInstance, not signed",
        &kcr_exchange(&s, r).await,
    );

    let mut wrong = s.kcr().await;
    wrong.secret = "not-the-secret".into();
    let r = signed_post(
        &wrong,
        &[("Action", "DescribeInstance"), ("Version", "2021-11-09")],
    )
    .await;
    snapshot(
        "kcr_signature_does_not_match",
        "POST / Action=DescribeInstance, signed with the wrong secret",
        &kcr_exchange(&s, r).await,
    );

    let r = signed_post(
        &kcr,
        &[
            ("Action", "DescribeInstanceUsage"),
            ("Version", "2021-11-09"),
        ],
    )
    .await;
    snapshot(
        "kcr_missing_parameter",
        "POST / Action=DescribeInstanceUsage without its InstanceId",
        &kcr_exchange(&s, r).await,
    );

    let r = signed_post(
        &kcr,
        &[("Action", "NoSuchAction"), ("Version", "2021-11-09")],
    )
    .await;
    snapshot(
        "kcr_unknown_action",
        "POST / Action=NoSuchAction",
        &kcr_exchange(&s, r).await,
    );
}

#[tokio::test]
async fn openapi_document() {
    let s = TestApp::new().start().await;
    let r = s.anon(Method::GET, "/openapi.json").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    snapshot("openapi", "GET /openapi.json", &doc);
}
