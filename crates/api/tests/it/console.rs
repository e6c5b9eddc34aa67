//! The web console over real HTTP, without a browser: sessions, CSRF, the security headers,
//! what a user who is not an administrator sees (public namespaces only, not even counted
//! otherwise), and tag paging over 10,000 tags. The browser tests are in
//! crates/berth/tests/it/console.rs.
use std::time::Instant;

use berth_oci::Digest;
use berth_store::{ManifestRef, NewManifest, RefKind};
use reqwest::{Client, StatusCode, redirect::Policy};

use crate::common::{ADMIN_PASSWORD, TestApp, TestServer};

fn client() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

/// The value of `name` among a response's Set-Cookie headers, with the whole header.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<(String, String)> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let value = v.strip_prefix(&format!("{name}="))?;
            Some((value.split(';').next()?.to_string(), v.to_string()))
        })
}

/// The `value` of the first hidden `csrf` input of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// Logs in through the form; returns the session cookie.
async fn login(s: &TestServer, user: &str, password: &str) -> String {
    let c = client();
    let r = c.get(s.url("/ui/login")).send().await.unwrap();
    let (token, _) = set_cookie(&r, "berth_login").expect("a login cookie");
    let html = r.text().await.unwrap();
    assert_eq!(csrf_of(&html), token, "the form carries the cookie's token");
    let r = c
        .post(s.url("/ui/login"))
        .header("cookie", format!("berth_login={token}"))
        .form(&[
            ("username", user),
            ("password", password),
            ("csrf", &token),
            ("next", "/ui/instances"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    assert_eq!(r.headers()["location"], "/ui/instances");
    let (session, header) = set_cookie(&r, "berth_session").expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/ui/"] {
        assert!(header.contains(attr), "{header}");
    }
    session
}

async fn get(s: &TestServer, session: &str, path: &str) -> (StatusCode, String) {
    let r = client()
        .get(s.url(path))
        .header("cookie", format!("berth_session={session}"))
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

#[tokio::test]
async fn sessions_csrf_and_headers() {
    let s = TestApp::new().start().await;
    let c = client();
    // Unauthenticated: to the login page, coming back afterwards.
    let r = c.get(s.url("/ui/tags?i=x&repo=a/b")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/ui/login?next=%2Fui%2Ftags%3Fi%3Dx%26repo%3Da%2Fb"
    );
    let r = c.get(s.url("/ui/login")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(r.headers()["x-frame-options"], "DENY");

    // A login without the pre-login cookie's token is refused, as is a wrong password.
    let r = c
        .post(s.url("/ui/login"))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&r, "berth_session").is_none());
    let r = c.get(s.url("/ui/login")).send().await.unwrap();
    let (token, _) = set_cookie(&r, "berth_login").unwrap();
    let r = c
        .post(s.url("/ui/login"))
        .header("cookie", format!("berth_login={token}"))
        .form(&[
            ("username", "admin"),
            ("password", "wrong"),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Wrong username or password")
    );

    let session = login(&s, "admin", ADMIN_PASSWORD).await;
    let (status, html) = get(&s, &session, "/ui/tokens").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_of(&html);
    // A POST without the session's CSRF token changes nothing.
    for forged in ["", "not-the-token"] {
        let r = c
            .post(s.url("/ui/tokens"))
            .header("cookie", format!("berth_session={session}"))
            .form(&[("name", "ci"), ("role", "read-only"), ("csrf", forged)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    assert!(s.app.meta.list_api_tokens().await.unwrap().is_empty());
    let r = c
        .post(s.url("/ui/tokens"))
        .header("cookie", format!("berth_session={session}"))
        .form(&[
            ("name", "ci"),
            ("role", "read-only"),
            ("days", ""),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let at = html.find("bat_").expect("the secret, once");
    let secret: String = html[at..].chars().take_while(|c| *c != '<').collect();
    assert_eq!(
        s.app.meta.list_api_tokens().await.unwrap()[0].token_hash,
        berth_api::api_tokens::token_hash(&secret)
    );
    let (_, again) = get(&s, &session, "/ui/tokens").await;
    assert!(!again.contains(&secret), "the secret is shown once only");

    // An instance access token: created with its secret shown once, logs in to the registry,
    // deleted, refused.
    let inst = s.app.default_instance.id.clone();
    let r = c
        .post(s.url(&format!("/ui/access-tokens?i={inst}")))
        .header("cookie", format!("berth_session={session}"))
        .form(&[("desc", "ci <robot>"), ("days", "7"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("ci &lt;robot&gt;"));
    let value_of = |id: &str| {
        let at = html.find(&format!("id=\"{id}\"")).unwrap();
        let rest = &html[at..];
        let start = rest.find('>').unwrap() + 1;
        rest[start..start + rest[start..].find('<').unwrap()].to_string()
    };
    let (user, token) = (value_of("new-username"), value_of("new-access-token"));
    assert!(user.starts_with("token-"), "{user}");
    let v2 = |user: String, token: String| {
        let c = c.clone();
        let url = s.url("/v2/");
        async move {
            c.get(url)
                .basic_auth(user, Some(token))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(v2(user.clone(), token.clone()).await, StatusCode::OK);
    let id = s.app.meta.list_access_tokens(&inst, 0, 10).await.unwrap().0[0]
        .id
        .clone();
    let r = c
        .post(s.url(&format!("/ui/access-tokens/delete?i={inst}")))
        .header("cookie", format!("berth_session={session}"))
        .form(&[("id", id.as_str()), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(v2(user, token).await, StatusCode::UNAUTHORIZED);

    // The session is in the metadata store (every replica reads it there), by its hash only.
    use sha2::Digest as _;
    let hash = hex::encode(sha2::Sha256::digest(session.as_bytes()));
    let now = berth_store::now_millis();
    let stored = s.app.meta.console_session(&hash, now, 0).await.unwrap();
    assert_eq!(stored.map(|r| r.username).as_deref(), Some("admin"));
    assert!(
        s.app
            .meta
            .console_session(&session, now, 0)
            .await
            .unwrap()
            .is_none()
    );

    // Logout ends the session on the server, whatever the browser keeps.
    let r = c
        .post(s.url("/ui/logout"))
        .header("cookie", format!("berth_session={session}"))
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (status, _) = get(&s, &session, "/ui/tokens").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        s.app
            .meta
            .console_session(&hash, now, 0)
            .await
            .unwrap()
            .is_none(),
        "deleted"
    );
}

#[tokio::test]
async fn a_user_sees_public_namespaces_only() {
    let s = TestApp::new().start().await;
    s.push_image("team/secret-app", "1", b"private layer").await;
    s.push_image("pub/app", "1", b"public layer").await;
    let inst = s.app.default_instance.id.clone();
    let ns = s
        .app
        .meta
        .get_namespace(&inst, "pub")
        .await
        .unwrap()
        .unwrap();
    s.app.meta.set_namespace_public(ns.id, true).await.unwrap();
    s.app.clear_caches();
    let hash = berth_api::hash_password("bob-password").unwrap();
    assert!(s.app.meta.create_user("bob", &hash, false).await.unwrap());

    let admin = login(&s, "admin", ADMIN_PASSWORD).await;
    let (_, html) = get(&s, &admin, &format!("/ui/namespaces?i={inst}")).await;
    assert!(html.contains(">team<") && html.contains(">pub<"), "{html}");
    // Webhook triggers and their log: administrators only, the secret never shown.
    let trigger = s
        .app
        .meta
        .create_webhook_trigger(
            &berth_store::NewWebhookTrigger {
                instance_id: inst.clone(),
                namespace_id: ns.id,
                name: "notify-ci".into(),
                url: "https://ci.example/hook".into(),
                event_types: vec!["PushImage".into()],
                headers: Vec::new(),
                enabled: true,
                secret: "whsec-never-shown".into(),
            },
            10,
        )
        .await
        .unwrap()
        .unwrap();
    let (_, html) = get(&s, &admin, &format!("/ui/repositories?i={inst}&ns=pub")).await;
    assert!(
        html.contains("notify-ci") && !html.contains("whsec-never-shown"),
        "{html}"
    );
    let log = format!("/ui/webhooks?i={inst}&ns=pub&id={}", trigger.id);
    let (status, html) = get(&s, &admin, &log).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No delivery yet") && html.contains("https://ci.example/hook"));

    let bob = login(&s, "bob", "bob-password").await;
    let (status, html) = get(&s, &bob, &format!("/ui/namespaces?i={inst}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(">pub<"));
    assert!(
        !html.contains("team"),
        "a private namespace is not listed: {html}"
    );
    assert!(html.contains("1 namespaces"), "nor counted");
    let (_, html) = get(&s, &bob, "/ui/instances").await;
    assert!(html.contains("1 public"), "{html}");
    assert!(
        !html.contains("/ui/exceptions"),
        "no administrative navigation"
    );
    for path in [
        format!("/ui/repositories?i={inst}&ns=team"),
        format!("/ui/tags?i={inst}&repo=team/secret-app"),
    ] {
        let (status, html) = get(&s, &bob, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!html.contains("secret-app"));
    }
    let (status, _) = get(&s, &bob, &format!("/ui/tags?i={inst}&repo=pub/app")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, html) = get(&s, &bob, &format!("/ui/repositories?i={inst}&ns=pub")).await;
    assert!(
        !html.contains("notify-ci"),
        "triggers are for administrators"
    );
    assert_eq!(get(&s, &bob, &log).await.0, StatusCode::FORBIDDEN);
    for path in [
        "/ui/exceptions",
        "/ui/tokens",
        "/ui/policies",
        "/ui/risk",
        "/ui/database",
    ] {
        assert_eq!(get(&s, &bob, path).await.0, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn ten_thousand_tags_are_searched_and_paged_in_the_store() {
    let s = TestApp::new().start().await;
    let (manifest, digest) = s.push_image("team/many", "seed", b"layer").await;
    let inst = s.app.default_instance.id.clone();
    let repo = s
        .app
        .meta
        .get_repository(&inst, "team/many")
        .await
        .unwrap()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let blob = |v: &serde_json::Value| ManifestRef {
        digest: v["digest"].as_str().unwrap().parse::<Digest>().unwrap(),
        kind: RefKind::Blob,
        size: v["size"].as_u64().unwrap(),
        media_type: v["mediaType"].as_str().unwrap().to_string(),
    };
    let tags: Vec<String> = (0..10_000).map(|n| format!("v{n:05}")).collect();
    s.app
        .meta
        .put_manifest(
            repo.id,
            &NewManifest {
                digest: digest.clone(),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                artifact_type: None,
                content: manifest.clone().into(),
                subject: None,
                annotations: None,
                refs: vec![blob(&doc["config"]), blob(&doc["layers"][0])],
            },
            &tags,
        )
        .await
        .unwrap();
    let session = login(&s, "admin", ADMIN_PASSWORD).await;
    let t = Instant::now();
    let (status, html) = get(
        &s,
        &session,
        &format!("/ui/tags?i={inst}&repo=team/many&after=v09000"),
    )
    .await;
    eprintln!("deep tag page: {:?}", t.elapsed());
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("10001 tags"), "every tag is counted");
    assert!(html.contains(">v09001<") && html.contains(">v09050<") && !html.contains(">v09051<"));
    assert!(
        html.contains("after=v09050"),
        "the next page starts after the last row"
    );
    let (_, html) = get(
        &s,
        &session,
        &format!("/ui/tags?i={inst}&repo=team/many&q=v0999"),
    )
    .await;
    assert!(
        html.contains("10 tags matching"),
        "a search is counted in the store"
    );
}

/// Posts a console form with the session and its CSRF token.
async fn post(
    s: &TestServer,
    session: &str,
    path: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("csrf", csrf));
    let r = client()
        .post(s.url(path))
        .header("cookie", format!("berth_session={session}"))
        .form(&all)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

/// The text of the element with `id` (up to its first child tag).
fn text_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}: {html}"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    rest[start..start + rest[start..].find('<').unwrap()].to_string()
}

#[tokio::test]
async fn policies_are_edited_and_deleted_and_admission_events_paged() {
    let s = TestApp::new().start().await;
    let inst = s.app.default_instance.id.clone();
    let session = login(&s, "admin", ADMIN_PASSWORD).await;
    let (status, html) = get(&s, &session, &format!("/ui/policies?i={inst}")).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_of(&html);
    let template = berth_hss::policy::templates()[0].id;
    assert!(
        html.contains("Templates") && html.contains(template),
        "the templates are listed"
    );
    let (status, _) = post(
        &s,
        &session,
        &format!("/ui/policies?i={inst}"),
        &csrf,
        &[("name", "first"), ("template", template), ("cluster", "")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stored = s.app.meta.list_protection_policies(&inst).await.unwrap();
    let id = stored[0].policy_id.clone();

    let edit = format!("/ui/policies/edit?i={inst}&id={id}");
    let (status, html) = get(&s, &session, &edit).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("value=\"first\""), "{html}");
    // A bad threshold or action is named, and nothing changes.
    for (field, bad, says) in [
        ("severity", "9", "Least severity"),
        ("action", "explode", "Action"),
        ("name", " ", "Name: required"),
    ] {
        let mut fields = vec![("name", "renamed"), ("action", "block"), ("severity", "4")];
        fields.retain(|(k, _)| *k != field);
        fields.push((field, bad));
        let (status, html) = post(&s, &session, &edit, &csrf, &fields).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}");
        assert!(html.contains(says), "{field}: {html}");
    }
    assert_eq!(
        s.app.meta.list_protection_policies(&inst).await.unwrap()[0].document,
        stored[0].document
    );
    let (status, _) = post(
        &s,
        &session,
        &edit,
        &csrf,
        &[
            ("name", "<b>renamed</b>"),
            ("action", "block"),
            ("severity", "4"),
            ("cluster", ""),
            ("fixable_only", "1"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let doc = &s.app.meta.list_protection_policies(&inst).await.unwrap()[0].document;
    let policy = berth_hss::policy::Policy::from_json(doc.as_bytes()).unwrap();
    assert_eq!(policy.policy_name, "<b>renamed</b>");
    assert_eq!(policy.content.action, berth_hss::policy::Action::Block);
    assert_eq!(policy.content.severity.value(), 4);
    assert!(policy.content.fixable_only && !policy.content.enable_image_startup);
    let (_, html) = get(&s, &session, &format!("/ui/policies?i={inst}")).await;
    assert!(
        html.contains("&lt;b&gt;renamed&lt;/b&gt;") && !html.contains("<b>renamed"),
        "escaped"
    );

    // Admission events, 50 a page, newest first.
    for n in 0..60 {
        let e = berth_store::ProtectionEvent {
            project_id: inst.clone(),
            event_id: format!("ev-{n:02}"),
            cluster_id: "c1".into(),
            cluster_name: "prod".into(),
            policy_id: id.clone(),
            policy_name: "renamed".into(),
            event_name: format!("event-{n:02}"),
            event_class_id: "class".into(),
            event_type: 1,
            event_content: "{}".into(),
            action: "block".into(),
            handle_status: "unhandled".into(),
            resource_info: "{}".into(),
            created_at: 1_700_000_000_000 + n,
            updated_at: 1_700_000_000_000 + n,
        };
        assert!(s.app.meta.record_protection_event(&e).await.unwrap());
    }
    let (_, html) = get(&s, &session, &format!("/ui/policies?i={inst}")).await;
    assert!(html.contains("Admission events (60)") && html.contains(">event-59<"));
    assert!(
        !html.contains(">event-09<") && html.contains("ev=50"),
        "paged"
    );
    let (_, html) = get(&s, &session, &format!("/ui/policies?i={inst}&ev=50")).await;
    assert!(
        html.contains(">event-09<") && html.contains(">event-00<") && !html.contains(">event-10<")
    );

    let (status, _) = post(
        &s,
        &session,
        &format!("/ui/policies/delete?i={inst}"),
        &csrf,
        &[("id", &id)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        s.app
            .meta
            .list_protection_policies(&inst)
            .await
            .unwrap()
            .is_empty()
    );
    let (status, _) = post(
        &s,
        &session,
        &format!("/ui/policies/delete?i={inst}"),
        &csrf,
        &[("id", &id)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "deleted once");
}

#[tokio::test]
async fn management_api_keys_show_their_secret_once_and_are_revoked() {
    let s = TestApp::new().start().await;
    let session = login(&s, "admin", ADMIN_PASSWORD).await;
    let (status, html) = get(&s, &session, "/ui/api-keys").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_of(&html);
    let (status, html) = post(
        &s,
        &session,
        "/ui/api-keys",
        &csrf,
        &[("description", &"x".repeat(201))],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("at most 200 characters"), "{html}");
    assert!(s.app.meta.list_api_keys().await.unwrap().is_empty());

    let (status, html) = post(
        &s,
        &session,
        "/ui/api-keys",
        &csrf,
        &[("description", "ci <robot>"), ("read_only", "1")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("ci &lt;robot&gt;"));
    let (key_id, secret) = (
        text_of(&html, "new-key-id"),
        text_of(&html, "new-key-secret"),
    );
    let keys = s.app.meta.list_api_keys().await.unwrap();
    assert_eq!(keys[0].access_key_id, key_id);
    assert!(keys[0].read_only);
    // The key signs management requests (aws-sigv4, not berth's signer).
    let kcr = crate::common::kcr::Kcr {
        base: s.base.clone(),
        client: s.client.clone(),
        key_id: key_id.clone(),
        secret: secret.clone(),
        region: crate::common::kcr::REGION.into(),
    };
    assert_eq!(kcr.get("DescribeInstance", &[]).await.0, StatusCode::OK);
    let (_, html) = get(&s, &session, "/ui/api-keys").await;
    assert!(
        html.contains(&key_id) && !html.contains(&secret),
        "listed, secret never again"
    );

    let (status, _) = post(
        &s,
        &session,
        "/ui/api-keys/revoke",
        &csrf,
        &[("id", &key_id)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_ne!(
        kcr.get("DescribeInstance", &[]).await.0,
        StatusCode::OK,
        "revoked at once"
    );
    let (status, _) = post(
        &s,
        &session,
        "/ui/api-keys/revoke",
        &csrf,
        &[("id", &key_id)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn webhook_triggers_are_created_with_validation_and_deleted() {
    let s = TestApp::new().start().await;
    s.push_image("team/app", "1", b"layer").await;
    let inst = s.app.default_instance.id.clone();
    let ns = s
        .app
        .meta
        .get_namespace(&inst, "team")
        .await
        .unwrap()
        .unwrap();
    let session = login(&s, "admin", ADMIN_PASSWORD).await;
    let new = format!("/ui/webhooks/new?i={inst}&ns=team");
    let (status, html) = get(&s, &session, &new).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_of(&html);
    for (fields, says) in [
        (
            vec![
                ("name", "ci"),
                ("url", "http://127.0.0.1:9/hook"),
                ("push", "1"),
            ],
            "URL: ",
        ),
        (
            vec![
                ("name", "ci"),
                ("url", "ftp://93.184.215.14/"),
                ("push", "1"),
            ],
            "only http and https",
        ),
        (
            vec![("name", "ci"), ("url", "https://93.184.215.14/hook")],
            "Events: tick at least one",
        ),
        (
            vec![
                ("name", ""),
                ("url", "https://93.184.215.14/hook"),
                ("push", "1"),
            ],
            "Name: ",
        ),
        (
            vec![
                ("name", "ci"),
                ("url", "https://93.184.215.14/hook"),
                ("push", "1"),
                ("header_name", "X-Berth-Event"),
                ("header_value", "x"),
            ],
            "set by berth",
        ),
    ] {
        let (status, html) = post(&s, &session, &new, &csrf, &fields).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{fields:?}");
        assert!(html.contains(says), "{fields:?}: {html}");
        assert!(html.contains("role=\"alert\""));
    }
    assert_eq!(
        s.app
            .meta
            .list_webhook_triggers(ns.id, 0, 10)
            .await
            .unwrap()
            .1,
        0
    );

    let (status, html) = post(
        &s,
        &session,
        &new,
        &csrf,
        &[
            ("name", "<b>ci</b>"),
            ("url", "https://93.184.215.14/hook"),
            ("push", "1"),
            ("alarm", "1"),
            ("header_name", "Authorization"),
            ("header_value", "Bearer abc"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("&lt;b&gt;ci&lt;/b&gt;"));
    let secret = text_of(&html, "new-webhook-secret");
    let (triggers, _) = s
        .app
        .meta
        .list_webhook_triggers(ns.id, 0, 10)
        .await
        .unwrap();
    let t = &triggers[0];
    assert_eq!(t.secret, secret);
    assert_eq!(t.event_types, vec!["PushImage", "AdmissionAlarm"]);
    assert_eq!(t.headers[0].key, "Authorization");
    let (_, html) = get(&s, &session, &format!("/ui/repositories?i={inst}&ns=team")).await;
    assert!(html.contains("Delete trigger &lt;b&gt;ci&lt;/b&gt;") && !html.contains(&secret));

    let (status, _) = post(
        &s,
        &session,
        &format!("/ui/webhooks/delete?i={inst}&ns=team"),
        &csrf,
        &[("id", &t.id.to_string())],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        s.app
            .meta
            .list_webhook_triggers(ns.id, 0, 10)
            .await
            .unwrap()
            .1,
        0
    );
}

#[tokio::test]
async fn clusters_and_workloads_with_their_images_and_risk() {
    let f = crate::export::fixture().await;
    let s = &f.srv;
    let session = login(s, "admin", ADMIN_PASSWORD).await;
    let (status, html) = get(s, &session, "/ui/clusters").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(">prod<") && html.contains(&f.cluster_id),
        "{html}"
    );
    let (status, html) = get(s, &session, &format!("/ui/cluster?id={}", f.cluster_id)).await;
    assert_eq!(status, StatusCode::OK);
    for w in ["web", "api", "agent", "debug"] {
        assert!(
            html.contains(&format!("data-workload=\"{w}\"")),
            "{w}: {html}"
        );
    }
    assert!(html.contains("4 workloads"));
    assert!(html.contains("<svg class=\"chart\""), "a chart");
    assert!(!html.contains("style="), "no inline style");
    assert!(
        html.contains("/ui/image?i=") && html.contains("repo=shop%2Fweb"),
        "a stored image links to its page"
    );
    assert!(
        html.contains("quay.io/vendor/agent:3"),
        "an image berth does not store"
    );
    let (_, html) = get(
        s,
        &session,
        &format!("/ui/cluster?id={}&ns=kube-system", f.cluster_id),
    )
    .await;
    assert!(html.contains("1 workloads in kube-system") && !html.contains("data-workload=\"web\""));
    assert_eq!(
        get(s, &session, "/ui/cluster?id=nope").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, html) = get(s, &session, "/ui/risk").await;
    assert!(
        html.contains("<svg class=\"chart\"") && html.contains("Workloads by highest risk level")
    );
    // The image page says where it runs, linking to the cluster.
    let inst = s.app.default_instance.id.clone();
    let (_, html) = get(
        s,
        &session,
        &format!("/ui/image?i={inst}&repo=shop/web&digest={}", f.a),
    )
    .await;
    assert!(
        html.contains(&format!("/ui/cluster?id={}&amp;ns=shop", f.cluster_id)),
        "{html}"
    );
}

#[tokio::test]
async fn a_user_cannot_open_or_post_the_administrative_pages() {
    let s = TestApp::new().start().await;
    s.push_image("pub/app", "1", b"public layer").await;
    let inst = s.app.default_instance.id.clone();
    let ns = s
        .app
        .meta
        .get_namespace(&inst, "pub")
        .await
        .unwrap()
        .unwrap();
    s.app.meta.set_namespace_public(ns.id, true).await.unwrap();
    s.app.clear_caches();
    let hash = berth_api::hash_password("bob-password").unwrap();
    assert!(s.app.meta.create_user("bob", &hash, false).await.unwrap());
    let bob = login(&s, "bob", "bob-password").await;
    let (_, html) = get(&s, &bob, "/ui/instances").await;
    let csrf = csrf_of(&html);
    assert!(!html.contains("/ui/api-keys") && !html.contains("/ui/clusters"));
    for path in [
        "/ui/api-keys".to_string(),
        "/ui/clusters".to_string(),
        "/ui/cluster?id=x".to_string(),
        format!("/ui/policies/edit?i={inst}&id=x"),
        format!("/ui/webhooks/new?i={inst}&ns=pub"),
    ] {
        assert_eq!(
            get(&s, &bob, &path).await.0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    for (path, fields) in [
        ("/ui/api-keys".to_string(), vec![("description", "x")]),
        ("/ui/api-keys/revoke".to_string(), vec![("id", "x")]),
        (
            format!("/ui/webhooks/new?i={inst}&ns=pub"),
            vec![
                ("name", "x"),
                ("url", "https://93.184.215.14/"),
                ("push", "1"),
            ],
        ),
        (
            format!("/ui/webhooks/delete?i={inst}&ns=pub"),
            vec![("id", "1")],
        ),
        (format!("/ui/policies/delete?i={inst}"), vec![("id", "x")]),
        (
            format!("/ui/policies/edit?i={inst}&id=x"),
            vec![("name", "x"), ("action", "block"), ("severity", "1")],
        ),
    ] {
        let (status, _) = post(&s, &bob, &path, &csrf, &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    assert!(s.app.meta.list_api_keys().await.unwrap().is_empty());
    assert_eq!(
        s.app
            .meta
            .list_webhook_triggers(ns.id, 0, 10)
            .await
            .unwrap()
            .1,
        0
    );
}
