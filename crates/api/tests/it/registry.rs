//! The OCI Distribution API over real HTTP on 127.0.0.1: every endpoint and its errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use berth_oci::{Algorithm, Digest};
use common::{ADMIN_PASSWORD, TestApp, error_code};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

#[tokio::test]
async fn base_endpoint_and_auth_challenges() {
    let s = TestApp::new().start().await;
    let r = s.anon(Method::GET, "/v2/").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with(&format!("Bearer realm=\"{}/auth/token\"", s.base)),
        "{challenge}"
    );
    assert!(challenge.contains("service=\"berth\""));
    assert_eq!(
        r.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
    assert_eq!(error_code(r).await, "UNAUTHORIZED");

    let r = s.admin(Method::GET, "/v2/").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = s
        .anon(Method::GET, "/v2/")
        .basic_auth("admin", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = s
        .anon(Method::GET, "/v2/")
        .header("authorization", "Digest foo")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn token_flow_grants_only_allowed_scopes() {
    let s = TestApp::new().start().await;
    // Admin gets pull+push; the token works as a bearer credential.
    let r = s
        .admin(
            Method::GET,
            "/auth/token?service=berth&scope=repository:team/app:pull,push",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let token = v["token"].as_str().unwrap().to_string();
    assert_eq!(v["access_token"], v["token"]);
    assert_eq!(v["expires_in"], 300);
    assert!(v["issued_at"].as_str().unwrap().ends_with('Z'));
    let r = s
        .anon(Method::POST, "/v2/team/app/blobs/uploads/")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // The token does not cover another repository: 401 with an insufficient_scope challenge.
    let r = s
        .anon(Method::GET, "/v2/team/other/tags/list")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let c = r.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        c.contains("scope=\"repository:team/other:pull\"") && c.contains("insufficient_scope"),
        "{c}"
    );
    // Anonymous callers get a token without access to private repositories.
    let r = s
        .anon(
            Method::GET,
            "/auth/token?service=berth&scope=repository:team/app:pull",
        )
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let anon = v["token"].as_str().unwrap();
    let r = s
        .anon(Method::GET, "/v2/team/app/tags/list")
        .bearer_auth(anon)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Wrong credentials at the token endpoint are refused.
    let r = s
        .anon(Method::GET, "/auth/token?scope=repository:team/app:pull")
        .basic_auth("admin", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A forged token is refused.
    let r = s
        .anon(Method::GET, "/v2/team/app/tags/list")
        .bearer_auth("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn anonymous_access_follows_namespace_visibility() {
    let s = TestApp::new().start().await;
    s.push_image("pub/app", "v1", b"layer").await;
    let r = s
        .anon(Method::GET, "/v2/pub/app/manifests/v1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let ns = s
        .app
        .meta
        .get_namespace(&s.app.default_instance.id, "pub")
        .await
        .unwrap()
        .unwrap();
    assert!(!ns.public);
    s.app.meta.set_namespace_public(ns.id, true).await.unwrap();
    s.app.caches.clear();
    let r = s
        .anon(Method::GET, "/v2/pub/app/manifests/v1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Pull yes, push never.
    let r = s
        .anon(Method::POST, "/v2/pub/app/blobs/uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = s
        .anon(Method::DELETE, "/v2/pub/app/manifests/v1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn anonymous_push_only_when_configured() {
    let s = TestApp::new()
        .config(|c| c.auth.anonymous_push = true)
        .start()
        .await;
    let r = s
        .anon(Method::POST, "/v2/open/app/blobs/uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "push needs pull too, and the namespace is private"
    );
}

#[tokio::test]
async fn invalid_names_and_digests() {
    let s = TestApp::new().start().await;
    let long = "a".repeat(256);
    assert_eq!(s.raw_status("GET", "/v2/a/../b/tags/list").await, 400);
    assert_eq!(s.raw_status("GET", "/v2/a/./b/manifests/latest").await, 400);
    for name in ["Upper/case", "a//b", "-a", "a/.hidden", long.as_str()] {
        let r = s
            .admin(Method::GET, &format!("/v2/{name}/tags/list"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{name}");
        assert_eq!(error_code(r).await, "NAME_INVALID", "{name}");
    }
    for digest in [
        "sha256:abc",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "nodigest",
    ] {
        let r = s
            .admin(Method::GET, &format!("/v2/a/blobs/{digest}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{digest}");
        assert_eq!(error_code(r).await, "DIGEST_INVALID");
    }
    let r = s
        .admin(Method::GET, "/v2/nothing/here/tags/list")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r).await, "NAME_UNKNOWN");
    let r = s
        .admin(Method::POST, "/v2/a/tags/list")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(r).await, "UNSUPPORTED");
}

#[tokio::test]
async fn monolithic_single_request_and_blob_reads() {
    let s = TestApp::new().start().await;
    let data = b"0123456789abcdef".to_vec();
    let digest = Digest::sha256_of(&data);
    // POST with digest: one request.
    let r = s
        .admin(
            Method::POST,
            &format!("/v2/r/blobs/uploads/?digest={digest}"),
        )
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        r.headers()["location"],
        format!("/v2/r/blobs/{digest}").as_str()
    );
    assert_eq!(
        r.headers()["docker-content-digest"],
        digest.to_string().as_str()
    );

    let r = s
        .admin(Method::HEAD, &format!("/v2/r/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-length"], "16");
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(
        r.headers()["docker-content-digest"],
        digest.to_string().as_str()
    );
    let r = s
        .admin(Method::GET, &format!("/v2/r/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), data.as_slice());

    for (range, status, body, content_range) in [
        ("bytes=2-5", 206, &b"2345"[..], "bytes 2-5/16"),
        ("bytes=10-", 206, &b"abcdef"[..], "bytes 10-15/16"),
        ("bytes=-3", 206, &b"def"[..], "bytes 13-15/16"),
    ] {
        let r = s
            .admin(Method::GET, &format!("/v2/r/blobs/{digest}"))
            .header("range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status);
        assert_eq!(r.headers()["content-range"], content_range);
        assert_eq!(r.bytes().await.unwrap().as_ref(), body);
    }
    let r = s
        .admin(Method::GET, &format!("/v2/r/blobs/{digest}"))
        .header("range", "bytes=16-20")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()["content-range"], "bytes */16");

    // Wrong digest: nothing stored.
    let wrong = Digest::sha256_of(b"something else");
    let r = s
        .admin(
            Method::POST,
            &format!("/v2/r/blobs/uploads/?digest={wrong}"),
        )
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    let r = s
        .admin(Method::HEAD, &format!("/v2/r/blobs/{wrong}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Unknown blob, unknown algorithm.
    let r = s
        .admin(Method::GET, &format!("/v2/r/blobs/{wrong}"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "BLOB_UNKNOWN");
    let r = s
        .admin(
            Method::POST,
            "/v2/r/blobs/uploads/?digest=sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
        )
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
}

#[tokio::test]
async fn sha512_and_zero_byte_blobs() {
    let s = TestApp::new().start().await;
    let d512 = Digest::of(Algorithm::Sha512, b"sha512 content");
    let r = s
        .admin(Method::POST, &format!("/v2/r/blobs/uploads/?digest={d512}"))
        .body(&b"sha512 content"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = s
        .admin(Method::GET, &format!("/v2/r/blobs/{d512}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["docker-content-digest"],
        d512.to_string().as_str()
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"sha512 content");

    let empty = s.push_blob("r", b"").await;
    let r = s
        .admin(Method::HEAD, &format!("/v2/r/blobs/{empty}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-length"], "0");
    let r = s
        .admin(Method::GET, &format!("/v2/r/blobs/{empty}"))
        .send()
        .await
        .unwrap();
    assert!(r.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn chunked_upload_status_order_and_cancel() {
    let s = TestApp::new().start().await;
    let data: Vec<u8> = (0..30_000u32).map(|i| (i % 251) as u8).collect();
    let digest = Digest::sha256_of(&data);
    let r = s
        .admin(Method::POST, "/v2/c/blobs/uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(r.headers().contains_key("docker-upload-uuid"));
    assert_eq!(r.headers()["range"], "0-0");

    let r = s
        .admin(Method::PATCH, &loc)
        .header("content-range", "0-9999")
        .header("content-type", "application/octet-stream")
        .body(data[..10_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(r.headers()["range"], "0-9999");
    // Out of order: refused with 416 and the current range.
    let r = s
        .admin(Method::PATCH, &loc)
        .header("content-range", "20000-29999")
        .body(data[20_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()["range"], "0-9999");
    // A range that is no length (its end is the largest u64) is malformed.
    let r = s
        .admin(Method::PATCH, &loc)
        .header("content-range", "10000-18446744073709551615")
        .body(data[10_000..10_001].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    // Streamed PATCH (no Content-Range, chunked transfer).
    let chunk = data[10_000..20_000].to_vec();
    let stream = futures::stream::iter(
        chunk
            .chunks(1000)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let r = s
        .admin(Method::PATCH, &loc)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(r.headers()["range"], "0-19999");
    let r = s.admin(Method::GET, &loc).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["range"], "0-19999");
    // Final chunk with the PUT.
    let r = s
        .admin(Method::PUT, &format!("{loc}?digest={digest}"))
        .header("content-range", "20000-29999")
        .body(data[20_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
    let r = s
        .admin(Method::GET, &format!("/v2/c/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), data.as_slice());
    // The finished upload is gone.
    let r = s.admin(Method::GET, &loc).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");

    // Cancel.
    let r = s
        .admin(Method::POST, "/v2/c/blobs/uploads/")
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let r = s.admin(Method::DELETE, &loc).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = s.admin(Method::PATCH, &loc).body("x").send().await.unwrap();
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");
    // Upload ids of other repositories, and garbage ids, are unknown.
    let r = s
        .admin(Method::POST, "/v2/c/blobs/uploads/")
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let other = loc.replace("/v2/c/", "/v2/d/");
    let r = s.admin(Method::GET, &other).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = s
        .admin(Method::GET, "/v2/c/blobs/uploads/not-a-uuid")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");
    // PUT without a digest.
    let r = s.admin(Method::PUT, &loc).send().await.unwrap();
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
}

#[tokio::test]
async fn cross_repository_mounts() {
    let s = TestApp::new().start().await;
    let digest = s.push_blob("src/repo", b"shared layer").await;
    let r = s
        .admin(
            Method::POST,
            &format!("/v2/dst/repo/blobs/uploads/?mount={digest}&from=src/repo"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        r.headers()["location"],
        format!("/v2/dst/repo/blobs/{digest}").as_str()
    );
    let r = s
        .admin(Method::HEAD, &format!("/v2/dst/repo/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Without `from`: found anywhere in the instance.
    let r = s
        .admin(
            Method::POST,
            &format!("/v2/third/repo/blobs/uploads/?mount={digest}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Unknown blob: falls back to an upload session.
    let unknown = Digest::sha256_of(b"never pushed");
    let r = s
        .admin(
            Method::POST,
            &format!("/v2/dst/repo/blobs/uploads/?mount={unknown}&from=src/repo"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/blobs/uploads/")
    );
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": Digest::sha256_of(bytes).to_string(), "size": bytes.len()})
}

#[tokio::test]
async fn manifests_of_every_kind() {
    let s = TestApp::new().start().await;
    let (m, d) = s.push_image("img/app", "v1", b"layer one").await;
    // GET by tag and by digest, HEAD.
    for reference in ["v1".to_string(), d.to_string()] {
        let r = s
            .admin(Method::GET, &format!("/v2/img/app/manifests/{reference}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], OCI_MANIFEST);
        assert_eq!(r.headers()["docker-content-digest"], d.to_string().as_str());
        assert_eq!(r.bytes().await.unwrap().as_ref(), m.as_slice());
        let r = s
            .admin(Method::HEAD, &format!("/v2/img/app/manifests/{reference}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-length"], m.len().to_string().as_str());
    }
    // Docker schema 2 with unknown fields: stored byte-for-byte (odd spacing included).
    let config = br#"{"architecture":"arm64","os":"linux"}"#;
    let layer = b"docker layer";
    s.push_blob("img/app", config).await;
    s.push_blob("img/app", layer).await;
    let docker = format!(
        "{{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"{DOCKER_MANIFEST}\",  \"config\": {},\n  \"layers\": [{}], \"x-unknown\": {{\"kept\": [1,2,3]}}\n}}",
        descriptor("application/vnd.docker.container.image.v1+json", config),
        descriptor("application/vnd.docker.image.rootfs.diff.tar.gzip", layer)
    );
    let r = s
        .put_manifest("img/app", "docker", DOCKER_MANIFEST, docker.as_bytes())
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let dd = Digest::sha256_of(docker.as_bytes());
    let r = s
        .admin(Method::GET, "/v2/img/app/manifests/docker")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], DOCKER_MANIFEST);
    assert_eq!(r.bytes().await.unwrap().as_ref(), docker.as_bytes());

    // A manifest list over both, and a nested OCI index over the list.
    let list = json!({
        "schemaVersion": 2, "mediaType": DOCKER_LIST,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": d.to_string(), "size": m.len(), "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": DOCKER_MANIFEST, "digest": dd.to_string(), "size": docker.len(), "platform": {"architecture": "arm64", "os": "linux"}},
        ]
    })
    .to_string();
    let r = s
        .put_manifest("img/app", "list", DOCKER_LIST, list.as_bytes())
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
    let ld = Digest::sha256_of(list.as_bytes());
    let nested = json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": DOCKER_LIST, "digest": ld.to_string(), "size": list.len()}]
    })
    .to_string();
    let nd = Digest::sha256_of(nested.as_bytes());
    // By digest, with tag parameters.
    let r = s
        .admin(
            Method::PUT,
            &format!("/v2/img/app/manifests/{nd}?tag=nested&tag=also"),
        )
        .header("content-type", OCI_INDEX)
        .body(nested.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let tags: Vec<_> = r
        .headers()
        .get_all("oci-tag")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(tags, ["nested", "also"]);
    let r = s
        .admin(Method::GET, "/v2/img/app/manifests/also")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["docker-content-digest"],
        nd.to_string().as_str()
    );

    // An index entry whose media type disagrees with the stored manifest.
    let lying = json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": dd.to_string(), "size": docker.len()}]
    })
    .to_string();
    let r = s
        .put_manifest("img/app", "lying", OCI_INDEX, lying.as_bytes())
        .await;
    assert_eq!(error_code(r).await, "MANIFEST_INVALID");
}

#[tokio::test]
async fn manifest_validation_errors() {
    let s = TestApp::new().start().await;
    let config = b"{}";
    let cd = s.push_blob("v/app", config).await;
    let missing = Digest::sha256_of(b"missing layer");
    let m = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": missing.to_string(), "size": 13}],
    })
    .to_string();
    let r = s
        .put_manifest("v/app", "t", OCI_MANIFEST, m.as_bytes())
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "MANIFEST_BLOB_UNKNOWN");
    // Non-distributable layers need not exist.
    let foreign = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "digest": missing.to_string(), "size": 13, "urls": ["https://example.com/layer"]}],
    })
    .to_string();
    let r = s
        .put_manifest("v/app", "foreign", OCI_MANIFEST, foreign.as_bytes())
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // Size that disagrees with the blob.
    let wrong_size = m
        .replace(&missing.to_string(), &cd.to_string())
        .replace("\"size\":13", "\"size\":3");
    let r = s
        .put_manifest("v/app", "t", OCI_MANIFEST, wrong_size.as_bytes())
        .await;
    assert_eq!(error_code(r).await, "MANIFEST_INVALID");
    // Malformed JSON, wrong schema, Content-Type mismatch.
    for (body, ct) in [
        ("{not json", OCI_MANIFEST),
        (r#"{"schemaVersion": 1, "config": {}}"#, OCI_MANIFEST),
        (&m, OCI_INDEX),
    ] {
        let r = s.put_manifest("v/app", "t", ct, body.as_bytes()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(r).await, "MANIFEST_INVALID");
    }
    // Digest reference that does not match the body.
    let r = s
        .put_manifest(
            "v/app",
            &missing.to_string(),
            OCI_MANIFEST,
            foreign.as_bytes(),
        )
        .await;
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    // Invalid tag.
    let r = s
        .put_manifest("v/app", "-bad", OCI_MANIFEST, foreign.as_bytes())
        .await;
    assert_eq!(error_code(r).await, "MANIFEST_INVALID");
    // Over 4 MiB.
    let big = format!(
        "{{\"schemaVersion\":2,\"pad\":\"{}\"}}",
        "x".repeat(4 * 1024 * 1024)
    );
    let r = s
        .put_manifest("v/app", "big", OCI_MANIFEST, big.as_bytes())
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(r).await, "MANIFEST_INVALID");
    // Unknown manifests and repositories.
    let r = s
        .admin(Method::GET, "/v2/v/app/manifests/nope")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN");
    let r = s
        .admin(Method::GET, "/v2/v/none/manifests/nope")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "NAME_UNKNOWN");
}

#[tokio::test]
async fn subject_and_referrers() {
    let s = TestApp::new().start().await;
    let (_, subject) = s.push_image("ref/app", "v1", b"image layer").await;
    let empty = b"{}";
    s.push_blob("ref/app", empty).await;
    let sig_blob = b"signature bytes";
    s.push_blob("ref/app", sig_blob).await;
    let artifact = |artifact_type: &str, subject: &Digest, subject_size: usize| {
        json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": Digest::sha256_of(empty).to_string(), "size": 2, "data": "e30="},
            "layers": [descriptor("application/octet-stream", sig_blob)],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject.to_string(), "size": subject_size},
            "annotations": {"org.opencontainers.image.created": "2026-11-22T00:00:00Z"},
        })
        .to_string()
    };
    let sig = artifact("application/vnd.example.signature", &subject, 100);
    let sig_digest = Digest::sha256_of(sig.as_bytes());
    let r = s
        .put_manifest(
            "ref/app",
            &sig_digest.to_string(),
            OCI_MANIFEST,
            sig.as_bytes(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["oci-subject"], subject.to_string().as_str());
    let sbom = artifact("application/vnd.example.sbom", &subject, 100);
    s.put_manifest(
        "ref/app",
        &Digest::sha256_of(sbom.as_bytes()).to_string(),
        OCI_MANIFEST,
        sbom.as_bytes(),
    )
    .await;
    // A subject that does not exist yet.
    let future = Digest::sha256_of(b"pushed later");
    let early = artifact("application/vnd.example.signature", &future, 10);
    let r = s
        .put_manifest(
            "ref/app",
            &Digest::sha256_of(early.as_bytes()).to_string(),
            OCI_MANIFEST,
            early.as_bytes(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["oci-subject"], future.to_string().as_str());

    let r = s
        .admin(Method::GET, &format!("/v2/ref/app/referrers/{subject}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], OCI_INDEX);
    assert!(!r.headers().contains_key("oci-filters-applied"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["manifests"].as_array().unwrap().len(), 2);
    let r = s
        .admin(
            Method::GET,
            &format!(
                "/v2/ref/app/referrers/{subject}?artifactType=application/vnd.example.signature"
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["oci-filters-applied"], "artifactType");
    let v: Value = r.json().await.unwrap();
    let list = v["manifests"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["digest"], sig_digest.to_string().as_str());
    assert_eq!(list[0]["artifactType"], "application/vnd.example.signature");
    assert_eq!(
        list[0]["annotations"]["org.opencontainers.image.created"],
        "2026-11-22T00:00:00Z"
    );
    assert_eq!(list[0]["size"], sig.len());
    let r = s
        .admin(Method::GET, &format!("/v2/ref/app/referrers/{future}"))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["manifests"].as_array().unwrap().len(), 1);
    let r = s
        .admin(Method::GET, "/v2/ref/app/referrers/sha256:bad")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
}

#[tokio::test]
async fn tags_and_catalog_paging() {
    let s = TestApp::new().start().await;
    for (repo, tags) in [
        ("a/one", vec!["t1", "t2", "t3"]),
        ("b/two", vec!["x"]),
        ("c/three", vec!["y"]),
    ] {
        let (m, _) = s.push_image(repo, tags[0], b"l").await;
        for t in &tags[1..] {
            s.put_manifest(repo, t, OCI_MANIFEST, &m).await;
        }
    }
    let r = s
        .admin(Method::GET, "/v2/a/one/tags/list?n=2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["link"],
        "</v2/a/one/tags/list?n=2&last=t2>; rel=\"next\""
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(v, json!({"name": "a/one", "tags": ["t1", "t2"]}));
    let r = s
        .admin(Method::GET, "/v2/a/one/tags/list?n=2&last=t2")
        .send()
        .await
        .unwrap();
    assert!(!r.headers().contains_key("link"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["tags"], json!(["t3"]));
    let r = s
        .admin(Method::GET, "/v2/a/one/tags/list")
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["tags"], json!(["t1", "t2", "t3"]));
    let r = s
        .admin(Method::GET, "/v2/a/one/tags/list?n=0")
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["tags"], json!([]));

    let r = s
        .admin(Method::GET, "/v2/_catalog?n=2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["link"],
        "</v2/_catalog?n=2&last=b%2Ftwo>; rel=\"next\""
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["repositories"], json!(["a/one", "b/two"]));
    let r = s
        .admin(Method::GET, "/v2/_catalog?n=2&last=b/two")
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["repositories"], json!(["c/three"]));
    let r = s.anon(Method::GET, "/v2/_catalog").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn deletes() {
    let s = TestApp::new().start().await;
    let (m, d) = s.push_image("del/app", "v1", b"to delete").await;
    s.put_manifest("del/app", "v2", OCI_MANIFEST, &m).await;
    // Tag delete keeps the manifest.
    let r = s
        .admin(Method::DELETE, "/v2/del/app/manifests/v2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = s
        .admin(Method::GET, "/v2/del/app/manifests/v2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = s
        .admin(Method::GET, &format!("/v2/del/app/manifests/{d}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Manifest delete removes its tags.
    let r = s
        .admin(Method::DELETE, &format!("/v2/del/app/manifests/{d}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    for reference in ["v1".to_string(), d.to_string()] {
        let r = s
            .admin(Method::GET, &format!("/v2/del/app/manifests/{reference}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{reference}");
    }
    let r = s
        .admin(Method::DELETE, &format!("/v2/del/app/manifests/{d}"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN");
    // Blob delete.
    let b = s.push_blob("del/app", b"a blob").await;
    let r = s
        .admin(Method::DELETE, &format!("/v2/del/app/blobs/{b}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = s
        .admin(Method::HEAD, &format!("/v2/del/app/blobs/{b}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = s
        .admin(Method::DELETE, &format!("/v2/del/app/blobs/{b}"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "BLOB_UNKNOWN");
}

#[tokio::test]
async fn garbage_collection_keeps_live_and_young_content() {
    let s = TestApp::new().start().await;
    let (_, keep) = s.push_image("gc/app", "keep", b"kept layer").await;
    let (_, drop) = s.push_image("gc/app", "drop", b"dropped layer").await;
    s.admin(Method::DELETE, "/v2/gc/app/manifests/drop")
        .send()
        .await
        .unwrap();
    // An upload in flight.
    let r = s
        .admin(Method::POST, "/v2/gc/app/blobs/uploads/")
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    s.admin(Method::PATCH, &loc)
        .body("in flight")
        .send()
        .await
        .unwrap();

    // With the default grace period nothing is young enough to go.
    let report = berth_api::run_gc(&s.app, None).await.unwrap();
    assert_eq!(report.manifests_deleted, 0);
    assert_eq!(report.blobs_deleted, 0);
    // Without grace: the untagged manifest and its layer go; the tagged image, the shared
    // config and the upload stay.
    let report = berth_api::run_gc(&s.app, Some(std::time::Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(report.manifests_deleted, 1);
    assert_eq!(report.blobs_deleted, 1);
    assert_eq!(report.bytes_freed, b"dropped layer".len() as u64);
    let r = s
        .admin(Method::GET, &format!("/v2/gc/app/manifests/{drop}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = s
        .admin(Method::GET, &format!("/v2/gc/app/manifests/{keep}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let layer = Digest::sha256_of(b"kept layer");
    let r = s
        .admin(Method::GET, &format!("/v2/gc/app/blobs/{layer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"kept layer");
    let r = s.admin(Method::GET, &loc).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["range"], "0-8");
}

#[tokio::test]
async fn operations_endpoints() {
    let s = TestApp::new().start().await;
    s.push_image("ops/app", "v1", b"metrics layer").await;
    let r = s.anon(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = s.anon(Method::GET, "/readyz").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("x-request-id"));
    let r = s.anon(Method::GET, "/metrics").send().await.unwrap();
    let text = r.text().await.unwrap();
    for needle in [
        "berth_http_requests_total{route=\"manifest\",method=\"PUT\",status=\"201\"} 1",
        "berth_http_request_duration_seconds_bucket{le=",
        "berth_http_request_bytes_total",
        "berth_storage_blob_bytes",
        "berth_storage_repositories 1",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_stores_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestApp::new().start().await;
    let data = vec![7u8; 1000];
    let digest = Digest::sha256_of(&data);
    let auth = base64_basic("admin", ADMIN_PASSWORD);
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v2/lie/app/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\nContent-Length: 1000\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&data[..400]).await.unwrap();
    conn.shutdown().await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        conn.read_to_end(&mut answer),
    )
    .await;
    let r = s
        .admin(Method::HEAD, &format!("/v2/lie/app/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(s.app.blobs.stat(&digest).await.unwrap().is_none());
}

fn base64_basic(user: &str, pass: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
}

#[tokio::test]
async fn a_linked_blob_whose_file_is_gone_is_unknown_to_head_and_get() {
    let s = TestApp::new().start().await;
    let digest = s.push_blob("lost/repo", b"bytes that vanish").await;
    let hex = digest.hex();
    let file = s.dir.path().join("blobs/sha256").join(&hex[..2]).join(hex);
    std::fs::remove_file(&file).unwrap();
    s.app.caches.clear();
    for method in [Method::HEAD, Method::GET] {
        let r = s
            .admin(method.clone(), &format!("/v2/lost/repo/blobs/{digest}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{method}");
    }
}

#[tokio::test]
async fn uploads_expire_from_their_last_append_not_their_start() {
    let s = TestApp::new().start().await;
    let r = s
        .admin(Method::POST, "/v2/slow/app/blobs/uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let location = s.url(r.headers()["location"].to_str().unwrap());
    let options = berth_api::gc::GcOptions {
        grace_millis: 3_600_000,
        delete_untagged: false,
        upload_expiry_millis: 600,
    };
    let collect =
        || berth_api::gc::collect(s.app.meta.as_ref(), s.app.blobs.as_ref(), &options, &|_| {});
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    // Started long ago by the expiry's measure, but appended to just now: it stays.
    let r = s
        .admin(Method::PATCH, &location)
        .header("content-type", "application/octet-stream")
        .header("content-range", "0-4")
        .body(b"hello".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(collect().await.unwrap().uploads_expired, 0);
    let status = s.admin(Method::GET, &location).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    // Idle past the expiry: it goes.
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    assert_eq!(collect().await.unwrap().uploads_expired, 1);
    let status = s.admin(Method::GET, &location).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::NOT_FOUND);
}
