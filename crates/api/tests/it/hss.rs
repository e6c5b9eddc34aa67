//! The cluster-protection surface (`/v5/{project_id}/...`) for what the vendor's SDK cannot
//! send: no signature, a token, a malformed or oversize body, a path of no operation, a
//! project header that disagrees with the path. Every operation through the SDK itself is in
//! crates/berth/tests/it/hss.rs.
use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Sha256;

use crate::common::{TestApp, TestServer};

struct Signed {
    key: String,
    secret: String,
}

fn sdk_date(at: SystemTime) -> String {
    let secs = at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

impl Signed {
    /// Signs like huaweicloudsdkcore (host, content-type, x-sdk-date, and any extra headers),
    /// with berth_hss's canonical request, and sends.
    async fn send(
        &self,
        server: &TestServer,
        method: &str,
        path_and_query: &str,
        extra: &[(&str, &str)],
        body: &[u8],
        at: SystemTime,
    ) -> reqwest::Response {
        let host = server.base.trim_start_matches("http://").to_string();
        let date = sdk_date(at);
        let mut headers = http::HeaderMap::new();
        headers.insert("host", host.parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("x-sdk-date", date.parse().unwrap());
        for (n, v) in extra {
            headers.insert(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let mut signed: Vec<String> = headers.keys().map(|k| k.as_str().to_string()).collect();
        signed.sort();
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let req = berth_hss::sign::Request::new(method, path, query, &headers, body);
        let canonical =
            berth_hss::sign::canonical::canonical_request(&req, &signed, false).unwrap();
        let to_sign = berth_hss::sign::canonical::string_to_sign(&date, &canonical);
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.as_bytes()).unwrap();
        mac.update(to_sign.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        let mut r = server
            .client
            .request(method.parse().unwrap(), server.url(path_and_query))
            .header(
                "authorization",
                format!(
                    "SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={signature}",
                    self.key,
                    signed.join(";")
                ),
            )
            .body(body.to_vec());
        for (n, v) in &headers {
            if n != "host" {
                r = r.header(n, v);
            }
        }
        r.send().await.unwrap()
    }
}

async fn setup() -> (TestServer, Signed, String) {
    let server = TestApp::new().start().await;
    let key = berth_api::kcr::keys::create_api_key(
        server.app.meta.as_ref(),
        &server.app.master_key,
        "tests",
        false,
    )
    .await
    .unwrap();
    let project = server.app.default_instance.id.clone();
    let signer = Signed {
        key: key.access_key_id,
        secret: key.secret_access_key,
    };
    (server, signer, project)
}

/// The status, the vendor's error body, and that the request id came along.
async fn refused(r: reqwest::Response) -> (StatusCode, String, String) {
    let status = r.status();
    assert!(
        r.headers().get("x-request-id").is_some(),
        "X-Request-Id on every answer"
    );
    let body: Value = r.json().await.unwrap();
    (
        status,
        body["error_code"].as_str().unwrap().to_string(),
        body["error_msg"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn unsigned_and_token_requests_are_refused_in_the_vendor_format() {
    let (server, _, project) = setup().await;
    let url = server.url(&format!("/v5/{project}/cluster-protect/overview"));
    let r = server.client.get(&url).send().await.unwrap();
    let (status, code, msg) = refused(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "APIGW.0301")
    );
    assert!(msg.contains("Authorization"), "{msg}");

    let r = server
        .client
        .get(&url)
        .header("x-auth-token", "some-iam-token")
        .send()
        .await
        .unwrap();
    let (status, code, msg) = refused(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "APIGW.0301")
    );
    assert!(msg.contains("unknown API token"), "{msg}");

    let r = server
        .client
        .get(&url)
        .header("authorization", "SDK-HMAC-SHA256 Access=x")
        .header("x-sdk-date", "20240102T030405Z")
        .send()
        .await
        .unwrap();
    assert_eq!(refused(r).await.1, "APIGW.0301");
}

/// `X-Auth-Token` takes berth's API tokens: admin writes, read-only reads, the other roles and
/// dead tokens are refused.
#[tokio::test]
async fn api_tokens_in_x_auth_token_carry_their_role() {
    use berth_api::api_tokens::{ApiRole, create};
    let (server, _, project) = setup().await;
    let meta = server.app.meta.as_ref();
    let token =
        |name: &'static str, role, ttl| async move { create(meta, name, role, ttl).await.unwrap() };
    let admin = token("ops", ApiRole::Admin, None).await;
    let reader = token("dash", ApiRole::ReadOnly, None).await;
    let ci = token("ci", ApiRole::ContinuousIntegration, None).await;
    let short = token("short", ApiRole::Admin, Some(1)).await;
    let revoked = token("gone", ApiRole::Admin, None).await;
    assert!(meta.revoke_api_token(&revoked.record.id).await.unwrap());

    let overview = server.url(&format!("/v5/{project}/cluster-protect/overview"));
    let policies = server.url(&format!("/v5/{project}/cluster-protect/policy"));
    let get = |t: String| {
        let url = overview.clone();
        let client = server.client.clone();
        async move {
            client
                .get(url)
                .header("x-auth-token", t)
                .send()
                .await
                .unwrap()
        }
    };
    let policy = serde_json::json!({
        "policy_id": "p-token", "policy_name": "block-critical",
        "content": {"policy_type": "vuls", "action": 1, "severity": 4, "risky_item": [],
                    "enable_image_startup": true},
        "resources": [], "white_image_list": []
    });
    let post = |t: String| {
        let url = policies.clone();
        let client = server.client.clone();
        let body = policy.to_string();
        async move {
            client
                .post(url)
                .header("x-auth-token", t)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };

    assert_eq!(get(admin.token.clone()).await.status(), 200);
    assert_eq!(get(reader.token.clone()).await.status(), 200);
    let r = post(reader.token.clone()).await;
    assert_eq!(
        refused(r).await.0,
        StatusCode::FORBIDDEN,
        "read-only cannot write"
    );
    let r = post(admin.token.clone()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let listed: Value = get_json(&server, &policies, &reader.token).await;
    assert_eq!(listed["total_num"], 1, "{listed}");

    let (status, code, msg) = refused(get(ci.token.clone()).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "HSS.0403"));
    assert!(msg.contains("continuous-integration"), "{msg}");
    let (status, code, msg) = refused(get(revoked.token.clone()).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "APIGW.0301")
    );
    assert!(msg.contains("revoked"), "{msg}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _, msg) = refused(get(short.token.clone()).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(msg.contains("expired"), "{msg}");
}

async fn get_json(server: &TestServer, url: &str, token: &str) -> Value {
    let r = server
        .client
        .get(url)
        .header("x-auth-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn malformed_json_and_stale_dates_write_nothing() {
    let (server, signer, project) = setup().await;
    let path = format!("/v5/{project}/cluster-protect/policy");
    let now = SystemTime::now();
    for body in [&b"{not json"[..], b"", b"[]", b"{\"policy_id\": 5}"] {
        let r = signer.send(&server, "POST", &path, &[], body, now).await;
        let (status, code, _) = refused(r).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "HSS.1002")
        );
    }
    let policy = br#"{"policy_id":"p","policy_name":"n","content":{"enable_image_startup":true,
        "policy_type":"vuls","severity":2,"risky_item":[],"action":1}}"#;
    let stale = now - Duration::from_secs(3600);
    let r = signer
        .send(&server, "POST", &path, &[], policy, stale)
        .await;
    let (status, code, msg) = refused(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "APIGW.0301")
    );
    assert!(msg.contains("X-Sdk-Date"), "{msg}");
    let r = signer.send(&server, "GET", &path, &[], b"", now).await;
    assert_eq!(r.status(), StatusCode::OK);
    let listed: Value = r.json().await.unwrap();
    assert_eq!(listed["total_num"], 0, "nothing was written: {listed}");

    // The same body, signed now, is taken: the refusals above were about the request.
    let r = signer.send(&server, "POST", &path, &[], policy, now).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "{}");
}

#[tokio::test]
async fn oversize_bodies_are_refused_unread_or_at_the_limit() {
    let (server, signer, project) = setup().await;
    let path = format!("/v5/{project}/cluster-protect/policy");
    let big = vec![b' '; (1 << 20) + 1];
    let r = signer
        .send(&server, "PUT", &path, &[], &big, SystemTime::now())
        .await;
    let (status, code, _) = refused(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "HSS.0413")
    );
    // Streamed, with no declared length: cut at the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b' '; 64 * 1024])).collect();
    let r = server
        .client
        .post(server.url(&path))
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(refused(r).await.1, "HSS.0413");
}

#[tokio::test]
async fn unknown_paths_and_disagreeing_projects() {
    let (server, signer, project) = setup().await;
    let now = SystemTime::now();
    let r = server
        .client
        .get(server.url(&format!("/v5/{project}/cluster-protect/nothing")))
        .send()
        .await
        .unwrap();
    let (status, code, _) = refused(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "APIGW.0101")
    );
    let r = server
        .client
        .patch(server.url(&format!("/v5/{project}/cluster-protect/policy")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused(r).await.1, "APIGW.0101");

    let path = format!("/v5/{project}/cluster-protect/overview");
    let r = signer
        .send(
            &server,
            "GET",
            &path,
            &[("x-project-id", "another")],
            b"",
            now,
        )
        .await;
    let (status, code, _) = refused(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "HSS.1001")
    );
    let r = signer
        .send(
            &server,
            "GET",
            &path,
            &[("x-project-id", &project)],
            b"",
            now,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let overview: Value = r.json().await.unwrap();
    assert_eq!(overview["policy_num"], 0, "{overview}");
}
