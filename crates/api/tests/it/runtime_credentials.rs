//! `/api/runtime/v1/clusters/{id}/credentials`: issue, list, revoke over HTTP, administrators
//! only; an issued credential writes the cluster's inventory until it is revoked.
use berth_api::api_tokens::{ApiRole, create};
use berth_api::runtime::clusters::{NewCluster, create_cluster};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::TestApp;

#[tokio::test]
async fn cluster_credentials_are_issued_listed_and_revoked_by_administrators() {
    let srv = TestApp::new().start().await;
    let meta = srv.app.meta.as_ref();
    let cluster = create_cluster(
        meta,
        &NewCluster {
            name: "prod".into(),
            cluster_type: Default::default(),
            region: String::new(),
            kubernetes_version: None,
        },
    )
    .await
    .unwrap();
    let admin = create(meta, "ops", ApiRole::Admin, None)
        .await
        .unwrap()
        .token;
    let reader = create(meta, "dash", ApiRole::ReadOnly, None)
        .await
        .unwrap()
        .token;
    let base = srv.url(&format!(
        "/api/runtime/v1/clusters/{}/credentials",
        cluster.id
    ));

    let r = srv
        .client
        .post(&base)
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "read-only tokens cannot issue"
    );
    let r = srv.client.post(&base).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = srv
        .client
        .post(srv.url("/api/runtime/v1/clusters/no-such/credentials"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = srv
        .client
        .post(&base)
        .bearer_auth(&admin)
        .json(&json!({"description": "agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let issued: Value = r.json().await.unwrap();
    let token = issued["token"].as_str().unwrap().to_string();
    let id = issued["credentialId"].as_str().unwrap().to_string();

    let snapshot = srv.url(&format!("/api/runtime/v1/clusters/{}/snapshot", cluster.id));
    let list_doc = json!({"apiVersion": "v1", "kind": "List", "items": []}).to_string();
    let put = |t: String| {
        let req = srv
            .client
            .put(&snapshot)
            .bearer_auth(t)
            .body(list_doc.clone());
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(put(token.clone()).await, StatusCode::OK);

    let listed: Value = srv
        .client
        .get(&base)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let creds = listed["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 1, "{listed}");
    assert_eq!(creds[0]["credentialId"], id.as_str());
    assert_eq!(creds[0]["description"], "agent");
    assert!(
        !listed.to_string().contains(&token),
        "a list never shows a token"
    );

    let revoke = srv.url(&format!(
        "/api/runtime/v1/clusters/{}/credentials/{id}",
        cluster.id
    ));
    let r = srv
        .client
        .delete(&revoke)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(put(token.clone()).await, StatusCode::UNAUTHORIZED);
    let r = srv
        .client
        .delete(&revoke)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "revoked once");
}
