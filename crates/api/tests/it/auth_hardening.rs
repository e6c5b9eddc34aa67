//! Hardening of authentication and authorisation, over real HTTP on 127.0.0.1: bearer tokens
//! grant only their scopes, anonymous tokens follow the namespace's current visibility, failed
//! logins are rate-limited, mount challenges name the source, and related fixes (manifest
//! nesting, webhook targets and header values).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use berth_api::config::Config;
use berth_oci::Digest;
use common::{ADMIN_PASSWORD, TestApp, TestServer, error_code};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A bearer token from `/auth/token` for `scopes` (each one `scope` parameter), as the admin
/// (Basic) or anonymously.
async fn token(s: &TestServer, admin: bool, scopes: &[&str]) -> String {
    let query: String = scopes
        .iter()
        .map(|sc| {
            format!(
                "&scope={}",
                url::form_urlencoded::byte_serialize(sc.as_bytes()).collect::<String>()
            )
        })
        .collect();
    let path = format!("/auth/token?service=berth{query}");
    let req = if admin {
        s.admin(Method::GET, &path)
    } else {
        s.anon(Method::GET, &path)
    };
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["token"].as_str().unwrap().to_string()
}

fn challenge_of(r: &reqwest::Response) -> String {
    r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_repository_token_does_not_list_the_catalog() {
    let s = TestApp::new().start().await;
    s.push_image("private/secret", "v1", b"secret layer").await;
    s.push_image("a/x", "v1", b"x layer").await;
    // The admin asks for pull on one repository: the token is for that, not for the catalog.
    let t = token(&s, true, &["repository:a/x:pull"]).await;
    let r = s
        .anon(Method::GET, "/v2/_catalog")
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let c = challenge_of(&r);
    assert!(
        c.contains("scope=\"registry:catalog:*\"") && c.contains("insufficient_scope"),
        "{c}"
    );
    // A token issued for `registry:catalog:*` lists it.
    let t = token(&s, true, &["registry:catalog:*"]).await;
    let r = s
        .anon(Method::GET, "/v2/_catalog")
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["repositories"], json!(["a/x", "private/secret"]));
    // An anonymous caller asking for the catalog scope gets a token without it.
    let t = token(&s, false, &["registry:catalog:*"]).await;
    let r = s
        .anon(Method::GET, "/v2/_catalog")
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_bearer_token_never_mounts_without_from() {
    let s = TestApp::new().start().await;
    let secret = s.push_blob("private/secret", b"private bytes").await;
    let t = token(&s, true, &["repository:a/x:pull,push"]).await;
    let r = s
        .anon(
            Method::POST,
            &format!("/v2/a/x/blobs/uploads/?mount={secret}"),
        )
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::ACCEPTED,
        "an upload session, not a mount of a blob the token was not granted"
    );
    let r = s
        .anon(Method::GET, &format!("/v2/a/x/blobs/{secret}"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The admin's own Basic credentials still mount from anywhere in the instance.
    let r = s
        .admin(
            Method::POST,
            &format!("/v2/b/y/blobs/uploads/?mount={secret}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_anonymous_token_stops_pulling_when_the_namespace_turns_private() {
    let s = TestApp::new().start().await;
    s.push_image("pub/app", "v1", b"layer").await;
    let ns = s
        .app
        .meta
        .get_namespace(&s.app.default_instance.id, "pub")
        .await
        .unwrap()
        .unwrap();
    s.app.meta.set_namespace_public(ns.id, true).await.unwrap();
    s.app.caches.clear();
    let t = token(&s, false, &["repository:pub/app:pull"]).await;
    let pull = || async {
        s.anon(Method::GET, "/v2/pub/app/manifests/v1")
            .bearer_auth(&t)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(pull().await.status(), StatusCode::OK);
    s.app.meta.set_namespace_public(ns.id, false).await.unwrap();
    s.app.caches.clear();
    let r = pull().await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge_of(&r).contains("scope=\"repository:pub/app:pull\""));
    // The admin's tokens do not depend on visibility.
    let t = token(&s, true, &["repository:pub/app:pull"]).await;
    let r = s
        .anon(Method::GET, "/v2/pub/app/manifests/v1")
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_mount_challenge_names_the_source_and_its_token_mounts() {
    let s = TestApp::new().start().await;
    let digest = s.push_blob("src/repo", b"shared layer").await;
    let path = format!("/v2/dst/repo/blobs/uploads/?mount={digest}&from=src/repo");
    let r = s.anon(Method::POST, &path).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let c = challenge_of(&r);
    assert!(
        c.contains("scope=\"repository:dst/repo:pull,push repository:src/repo:pull\""),
        "{c}"
    );
    // What a token client does with that challenge: one scope parameter holding both, space
    // separated...
    let scope = "repository:dst/repo:pull,push repository:src/repo:pull";
    let t = token(&s, true, &[scope]).await;
    let r = s
        .anon(Method::POST, &path)
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // ... or one parameter per scope.
    let path2 = format!("/v2/dst/two/blobs/uploads/?mount={digest}&from=src/repo");
    let t = token(
        &s,
        true,
        &["repository:dst/two:pull,push", "repository:src/repo:pull"],
    )
    .await;
    let r = s
        .anon(Method::POST, &path2)
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // A token for the target alone is told which scope is missing, so it can fetch a better one.
    let path3 = format!("/v2/dst/three/blobs/uploads/?mount={digest}&from=src/repo");
    let t = token(&s, true, &["repository:dst/three:pull,push"]).await;
    let r = s
        .anon(Method::POST, &path3)
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let c = challenge_of(&r);
    assert!(
        c.contains("scope=\"repository:dst/three:pull,push repository:src/repo:pull\"")
            && c.contains("insufficient_scope"),
        "{c}"
    );
}

#[tokio::test]
async fn a_mount_from_a_source_the_subject_may_not_pull_falls_back_to_an_upload() {
    let s = TestApp::new()
        .config(|c| c.auth.anonymous_push = true)
        .start()
        .await;
    let digest = s.push_blob("src/repo", b"private layer").await;
    let inst = s.app.default_instance.id.clone();
    let open = s.app.meta.ensure_namespace(&inst, "open").await.unwrap();
    s.app
        .meta
        .set_namespace_public(open.id, true)
        .await
        .unwrap();
    s.app.caches.clear();
    // An anonymous token may push to the public namespace but never pull src/repo (private):
    // asking it to fetch another token would loop, so the mount falls back to an upload.
    let t = token(
        &s,
        false,
        &["repository:open/app:pull,push repository:src/repo:pull"],
    )
    .await;
    let r = s
        .anon(
            Method::POST,
            &format!("/v2/open/app/blobs/uploads/?mount={digest}&from=src/repo"),
        )
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
}

/// Wrong passwords from one client address: a burst is verified, the rest is refused at once.
#[tokio::test]
async fn failed_logins_are_rate_limited_per_address_and_per_user() {
    let s = TestApp::new()
        .config(|c: &mut Config| {
            c.network.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            c.auth.credential_cache_secs = 1;
            // Allowances refill slowly enough that none comes back during the test.
            c.auth.failed_login_window_secs = 3600;
        })
        .start()
        .await;
    let per_address = s.app.config.auth.failed_logins_per_address as usize;
    let per_user = s.app.config.auth.failed_logins_per_user as usize;
    assert!(per_address > 0 && per_user > per_address);
    let login = |from: &'static str, user: &'static str, password: String| {
        s.anon(Method::GET, "/v2/")
            .header("x-forwarded-for", from)
            .basic_auth(user, Some(password))
            .send()
    };
    // A known address logs in once before the attack.
    let r = login("198.51.100.2", "admin", ADMIN_PASSWORD.into())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;

    // 300 different wrong passwords at once from one address, for random user names.
    let attempts = (0..300).map(|i| {
        s.anon(Method::GET, "/v2/")
            .header("x-forwarded-for", "203.0.113.9")
            .basic_auth(format!("user{i}"), Some(format!("wrong{i}")))
            .send()
    });
    let answers = futures::future::join_all(attempts).await;
    let mut unauthorized = 0;
    let mut limited = 0;
    for r in answers {
        let r = r.unwrap();
        match r.status() {
            StatusCode::UNAUTHORIZED => unauthorized += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let retry: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(retry >= 1);
                assert_eq!(error_code(r).await, "TOOMANYREQUESTS");
                limited += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        unauthorized <= per_address,
        "{unauthorized} wrong passwords were verified"
    );
    assert_eq!(unauthorized + limited, 300);
    // A credential verified before still logs in from the limited address (a client sharing
    // the attacker's address is not locked out); guesses are refused...
    let r = login("203.0.113.9", "admin", ADMIN_PASSWORD.into())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // ... at the token endpoint too, in the same format.
    let r = s
        .anon(Method::GET, "/auth/token?scope=repository:a/b:pull")
        .header("x-forwarded-for", "203.0.113.9")
        .basic_auth("admin", Some("guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(error_code(r).await, "TOOMANYREQUESTS");
    // Another address logs in at once.
    let r = login("198.51.100.7", "admin", ADMIN_PASSWORD.into())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Wrong passwords for one user from many addresses exhaust that user's allowance...
    let spread = (0..per_user + 5).map(|i| {
        s.anon(Method::GET, "/v2/")
            .header("x-forwarded-for", format!("192.0.2.{}", i + 1))
            .basic_auth("admin", Some(format!("guess{i}")))
            .send()
    });
    let limited = futures::future::join_all(spread)
        .await
        .into_iter()
        .filter(|r| r.as_ref().unwrap().status() == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(limited >= 5, "{limited}");
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    // ... so a new address cannot try passwords for that user, but the user's own (verified
    // before) still logs in, from there and from an address it used before.
    let r = login("198.51.100.99", "admin", "one more guess".into())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let r = login("198.51.100.99", "admin", ADMIN_PASSWORD.into())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = login("198.51.100.2", "admin", ADMIN_PASSWORD.into())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Nesting deeper than any manifest needs is refused before it is parsed or stored (Go
/// clients cannot read JSON nested 10,000 deep).
#[tokio::test]
async fn deeply_nested_manifests_are_refused() {
    let s = TestApp::new().start().await;
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let cd = s.push_blob("deep/app", config).await;
    let manifest = |depth: usize| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[],"x":{}0{}}}"#,
            config.len(),
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    let r = s
        .put_manifest(
            "deep/app",
            "deep",
            "application/vnd.oci.image.manifest.v1+json",
            manifest(10_000).as_bytes(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "MANIFEST_INVALID");
    let r = s
        .admin(Method::GET, "/v2/deep/app/manifests/deep")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Ordinary nesting is fine.
    let r = s
        .put_manifest(
            "deep/app",
            "shallow",
            "application/vnd.oci.image.manifest.v1+json",
            manifest(8).as_bytes(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn webhook_targets_in_special_purpose_blocks_are_refused() {
    let s = TestApp::new().start().await;
    let kcr = s.kcr().await;
    let inst = s.app.default_instance.id.clone();
    s.app.meta.ensure_namespace(&inst, "hooks").await.unwrap();
    for url in [
        "http://198.18.0.1/hook",
        "http://192.0.0.1/hook",
        "http://[::ffff:0:7f00:1]/hook",
        "http://[100::1]/hook",
        "http://[2001:db8::1]/hook",
    ] {
        kcr.fails(
            "CreateWebhookTrigger",
            &[
                ("InstanceId", &inst),
                ("Namespace", "hooks"),
                ("Trigger.TriggerName", "t"),
                ("Trigger.EventType.1", "PushImage"),
                ("Trigger.TriggerUrl", url),
            ],
            400,
            "InvalidParameterValue",
        )
        .await;
    }
}

#[tokio::test]
async fn read_only_keys_see_webhook_header_values_masked() {
    let s = TestApp::new()
        .config(|c| c.webhooks.allow_private_targets = true)
        .start()
        .await;
    let kcr = s.kcr().await;
    let reader = s.kcr_with(true).await;
    let inst = s.app.default_instance.id.clone();
    s.app.meta.ensure_namespace(&inst, "hooks").await.unwrap();
    let created = kcr
        .call(
            "CreateWebhookTrigger",
            &[
                ("InstanceId", &inst),
                ("Namespace", "hooks"),
                ("Trigger.TriggerName", "ci"),
                ("Trigger.EventType.1", "PushImage"),
                ("Trigger.TriggerUrl", "http://hook:pass@127.0.0.1:9/hook"),
                ("Trigger.Header.1.Key", "Authorization"),
                ("Trigger.Header.1.Value.1", "Bearer hook-token"),
                ("Trigger.Header.2.Key", "X-Team"),
                ("Trigger.Header.2.Value.1", "blue"),
                ("Trigger.Header.2.Value.2", "green"),
            ],
        )
        .await;
    let id = created["TriggerId"].as_i64().unwrap().to_string();
    let params = [
        ("InstanceId", inst.as_str()),
        ("Namespace", "hooks"),
        ("TriggerId", id.as_str()),
    ];
    let full = kcr.call("DescribeWebhookTrigger", &params).await;
    let t = &full["TriggerSet"][0];
    assert_eq!(
        t["Header"],
        json!([
            {"Key": "Authorization", "Value": ["Bearer hook-token"]},
            {"Key": "X-Team", "Value": ["blue", "green"]},
        ])
    );
    assert_eq!(t["TriggerUrl"], "http://hook:pass@127.0.0.1:9/hook");
    for v in [
        reader.call("DescribeWebhookTrigger", &params).await,
        reader.call("DescribeWebhookTrigger", &params[..2]).await,
    ] {
        let t = &v["TriggerSet"][0];
        assert_eq!(
            t["Header"],
            json!([
                {"Key": "Authorization", "Value": ["******"]},
                {"Key": "X-Team", "Value": ["******", "******"]},
            ]),
            "{v}"
        );
        assert_eq!(t["TriggerUrl"], "http://hook:******@127.0.0.1:9/hook");
        assert!(!v.to_string().contains("hook-token"));
    }
}

#[tokio::test]
async fn digests_of_pushed_layers_are_not_guessable_across_repositories() {
    // A regression guard for the mount fix: a token for one repository that names another
    // repository's digest in `from` without pull access there gets no mount.
    let s = TestApp::new().start().await;
    let secret: Digest = s.push_blob("private/secret", b"another secret").await;
    let t = token(&s, true, &["repository:a/x:pull,push"]).await;
    let r = s
        .anon(
            Method::POST,
            &format!("/v2/a/x/blobs/uploads/?mount={secret}&from=private/secret"),
        )
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    // The subject (the admin) could pull the source, so the client is told to fetch that scope.
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = s
        .anon(Method::HEAD, &format!("/v2/a/x/blobs/{secret}"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
