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
