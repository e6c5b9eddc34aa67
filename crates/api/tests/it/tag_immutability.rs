//! Tag immutability per repository over real HTTP: set through the management API's berth
//! extension `ModifyRepoTagImmutability`, enforced on the OCI API (403 `DENIED`) and on the
//! management API's deletes (409 `TagImmutable`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use berth_oci::Digest;
use common::kcr::Kcr;
use common::{TestApp, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// Pushes a config and a layer and returns a manifest over them (not pushed) with its digest.
async fn image_manifest(s: &TestServer, repo: &str, layer: &[u8]) -> (Vec<u8>, Digest) {
    let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
        .to_string();
    let cd = s.push_blob(repo, config.as_bytes()).await;
    let ld = s.push_blob(repo, layer).await;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld.to_string(), "size": layer.len()}],
    })
    .to_string()
    .into_bytes();
    let d = Digest::sha256_of(&manifest);
    (manifest, d)
}

/// The digest a tag (or digest) resolves to, or the status when it does not.
async fn resolve(s: &TestServer, repo: &str, reference: &str) -> Result<String, u16> {
    let r = s
        .admin(Method::GET, &format!("/v2/{repo}/manifests/{reference}"))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    if r.status() != StatusCode::OK {
        return Err(r.status().as_u16());
    }
    Ok(r.headers()["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_string())
}

/// A refusal must be 403 with the spec's DENIED code and a message naming the tag and saying
/// why (docker shows the message).
async fn assert_denied(r: reqwest::Response, tag: &str) {
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    let e = &body["errors"][0];
    assert_eq!(e["code"], "DENIED", "{body}");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("tag {tag} ")) && message.contains("immutable"),
        "{body}"
    );
}

async fn default_instance(kcr: &Kcr) -> String {
    kcr.call("DescribeInstance", &[]).await["InstanceSet"][0]["InstanceId"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn set_immutable(kcr: &Kcr, instance: &str, ns: &str, repo: &str, on: &str) {
    kcr.call(
        "ModifyRepoTagImmutability",
        &[
            ("InstanceId", instance),
            ("Namespace", ns),
            ("RepoName", repo),
            ("TagImmutable", on),
        ],
    )
    .await;
}

#[tokio::test]
async fn oci_api_refuses_moving_or_deleting_an_immutable_tag() {
    let s = TestApp::new().start().await;
    let kcr = s.kcr().await;
    let instance = default_instance(&kcr).await;
    let repo = "lock/app";
    let (m1, d1) = s.push_image(repo, "v1", b"first layer").await;
    let (m2, d2) = image_manifest(&s, repo, b"second layer").await;
    // Resolve once so that the tag cache holds v1 -> d1 as a client would have it.
    assert_eq!(resolve(&s, repo, "v1").await, Ok(d1.to_string()));

    set_immutable(&kcr, &instance, "lock", "app", "true").await;

    // The same digest again moves nothing.
    let r = s.put_manifest(repo, "v1", OCI_MANIFEST, &m1).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    // Another manifest under the tag, by tag or by digest with `?tag=`: refused, the tag stays,
    // and the manifest was not stored either.
    assert_denied(s.put_manifest(repo, "v1", OCI_MANIFEST, &m2).await, "v1").await;
    assert_denied(
        s.put_manifest(repo, &format!("{d2}?tag=v1"), OCI_MANIFEST, &m2)
            .await,
        "v1",
    )
    .await;
    assert_eq!(resolve(&s, repo, "v1").await, Ok(d1.to_string()));
    assert_eq!(resolve(&s, repo, &d2.to_string()).await, Err(404));
    // Deleting the tag, or the manifest it names: refused, both stay.
    let r = s
        .admin(Method::DELETE, &format!("/v2/{repo}/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_denied(r, "v1").await;
    let r = s
        .admin(Method::DELETE, &format!("/v2/{repo}/manifests/{d1}"))
        .send()
        .await
        .unwrap();
    assert_denied(r, "v1").await;
    assert_eq!(resolve(&s, repo, "v1").await, Ok(d1.to_string()));
    // A new tag is allowed, and an untagged manifest may be deleted.
    let r = s.put_manifest(repo, "v2", OCI_MANIFEST, &m2).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    assert_eq!(resolve(&s, repo, "v2").await, Ok(d2.to_string()));
    let (m3, d3) = image_manifest(&s, repo, b"third layer").await;
    let r = s
        .put_manifest(repo, &d3.to_string(), OCI_MANIFEST, &m3)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = s
        .admin(Method::DELETE, &format!("/v2/{repo}/manifests/{d3}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // Other repositories are not affected.
    let (_, _) = s.push_image("lock/other", "v1", b"first layer").await;
    let (m2o, _) = image_manifest(&s, "lock/other", b"second layer").await;
    let r = s.put_manifest("lock/other", "v1", OCI_MANIFEST, &m2o).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // Off again: the tag moves and can be deleted.
    set_immutable(&kcr, &instance, "lock", "app", "false").await;
    let r = s.put_manifest(repo, "v1", OCI_MANIFEST, &m2).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    assert_eq!(resolve(&s, repo, "v1").await, Ok(d2.to_string()));
    let r = s
        .admin(Method::DELETE, &format!("/v2/{repo}/manifests/v2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(resolve(&s, repo, "v2").await, Err(404));
}

/// `TagImmutable` of the first repository DescribeRepository lists in `team`.
async fn describe(kcr: &Kcr, instance: &str) -> Value {
    let body = kcr
        .call(
            "DescribeRepository",
            &[("InstanceId", instance), ("Namespace", "team")],
        )
        .await;
    body["RepoSet"][0]["TagImmutable"].clone()
}

#[tokio::test]
async fn management_api_sets_shows_and_enforces_tag_immutability() {
    let s = TestApp::new().start().await;
    let kcr = s.kcr().await;
    let instance = default_instance(&kcr).await;
    let i = instance.as_str();
    let (_, d1) = s.push_image("team/app", "v1", b"layer").await;
    let digest = d1.to_string();
    assert_eq!(describe(&kcr, i).await, json!(false));

    // Parameter checks: required, a boolean, a repository that exists.
    let base = [
        ("InstanceId", i),
        ("Namespace", "team"),
        ("RepoName", "app"),
    ];
    kcr.fails("ModifyRepoTagImmutability", &base, 400, "MissingParameter")
        .await;
    let mut bad = base.to_vec();
    bad.push(("TagImmutable", "maybe"));
    kcr.fails(
        "ModifyRepoTagImmutability",
        &bad,
        400,
        "InvalidParameterValue",
    )
    .await;
    let missing = [
        ("InstanceId", i),
        ("Namespace", "team"),
        ("RepoName", "nope"),
        ("TagImmutable", "true"),
    ];
    kcr.fails(
        "ModifyRepoTagImmutability",
        &missing,
        400,
        "InvalidParameterValue",
    )
    .await;
    // A read-only key gets what it gets for any other write, and changes nothing.
    let reader = s.kcr_with(true).await;
    let mut on = base.to_vec();
    on.push(("TagImmutable", "true"));
    let (status, body) = reader.post("ModifyRepoTagImmutability", &on).await;
    assert_eq!(status.as_u16(), 403, "{body}");
    assert_eq!(body["Error"]["Code"], "AccessDenied", "{body}");
    assert_eq!(describe(&kcr, i).await, json!(false));

    kcr.call("ModifyRepoTagImmutability", &on).await;
    assert_eq!(describe(&kcr, i).await, json!(true));
    assert_eq!(
        describe(&reader, i).await,
        json!(true),
        "readers see it too"
    );

    // DeleteRepoTag and DeleteImages are refused with TagImmutable (409); nothing is deleted.
    let mut tag = base.to_vec();
    tag.push(("TagName", "v1"));
    let message = kcr.fails("DeleteRepoTag", &tag, 409, "TagImmutable").await;
    assert!(
        message.contains("v1") && message.contains("team/app"),
        "{message}"
    );
    let mut image = base.to_vec();
    image.push(("ImageId", digest.as_str()));
    kcr.fails("DeleteImages", &image, 409, "TagImmutable").await;
    assert_eq!(resolve(&s, "team/app", "v1").await, Ok(digest.clone()));
    // A missing tag is still "does not exist", not a refusal.
    let mut absent = base.to_vec();
    absent.push(("TagName", "absent"));
    kcr.fails("DeleteRepoTag", &absent, 400, "InvalidParameterValue")
        .await;

    // Off ("False", any case): the tag can be deleted.
    let mut off = base.to_vec();
    off.push(("TagImmutable", "False"));
    kcr.call("ModifyRepoTagImmutability", &off).await;
    assert_eq!(describe(&kcr, i).await, json!(false));
    kcr.call("DeleteRepoTag", &tag).await;
    assert_eq!(resolve(&s, "team/app", "v1").await, Err(404));

    // Deleting the whole repository is allowed while its tags are immutable.
    s.push_image("team/app", "v2", b"layer").await;
    kcr.call("ModifyRepoTagImmutability", &on).await;
    kcr.call("DeleteRepository", &base).await;
    assert_eq!(resolve(&s, "team/app", "v2").await, Err(404));
    let listed = kcr
        .call(
            "DescribeRepository",
            &[("InstanceId", i), ("Namespace", "team")],
        )
        .await;
    assert_eq!(listed["TotalCount"], 0, "{listed}");
}
