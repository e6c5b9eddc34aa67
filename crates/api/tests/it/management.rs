//! The management API (seed `kcr-container-registry-openapi.txt`) over real HTTP: signing,
//! parameter rules, every action of instances, tokens, namespaces, repositories, images and tags.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use aws_sigv4::http_request::SignableBody;
use common::kcr::form;
use common::{TestApp, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::{Duration, SystemTime};

async fn raw(server: &TestServer, method: Method, path: &str, body: &str) -> (u16, Value) {
    let resp = server
        .client
        .request(method, server.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn signatures_are_checked_with_the_seed_errors() {
    let server = TestApp::new().start().await;
    let kcr = server.kcr().await;

    // No signature at all.
    let (status, body) = raw(
        &server,
        Method::GET,
        "/?Action=DescribeInstance&Version=2021-11-09",
        "",
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["Error"]["Code"], "MissingAuthenticationToken");
    assert_eq!(
        body["Error"]["Message"],
        "Request is missing Authentication Token."
    );
    assert!(body["RequestId"].as_str().is_some_and(|s| !s.is_empty()));

    // A good signature, over GET and POST.
    let (status, body) = kcr.get("DescribeInstance", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["TotalCount"], 1);
    assert_eq!(kcr.post("DescribeInstance", &[]).await.0, StatusCode::OK);

    // Wrong secret, unknown key, wrong region, old signature, not-yet-valid signature.
    let mut wrong = server.kcr().await;
    wrong.secret = "not-the-secret".into();
    let (status, body) = wrong.get("DescribeInstance", &[]).await;
    assert_eq!(status.as_u16(), 403);
    assert_eq!(body["Error"]["Code"], "SignatureDoesNotMatch");
    let mut unknown = server.kcr().await;
    unknown.key_id = "AKLTNOSUCHKEY".into();
    let (_, body) = unknown.get("DescribeInstance", &[]).await;
    assert_eq!(body["Error"]["Code"], "InvalidClientTokenId");
    let mut region = server.kcr().await;
    region.region = "us-east-1".into();
    let (_, body) = region.get("DescribeInstance", &[]).await;
    assert_eq!(body["Error"]["Code"], "SignatureDoesNotMatch");
    assert!(
        body["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("valid region, not:us-east-1")
    );
    let url = format!(
        "{}/?Action=DescribeInstance&Version=2021-11-09",
        server.base
    );
    for at in [
        SystemTime::now() - Duration::from_secs(20 * 60),
        SystemTime::now() + Duration::from_secs(20 * 60),
    ] {
        let resp = kcr.send_signed("GET", &url, &[], b"", at).await;
        assert_eq!(resp.status().as_u16(), 403);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["Error"]["Code"], "SignatureDoesNotMatch", "{body}");
        assert!(
            body["Error"]["Message"]
                .as_str()
                .unwrap()
                .starts_with("Signature")
        );
    }

    // A tampered request: the signature covers the query.
    let good_url = format!(
        "{}/?Action=DescribeInstance&Version=2021-11-09&MaxResults=5",
        server.base
    );
    let signed = kcr
        .send_signed("GET", &good_url, &[], b"", SystemTime::now())
        .await;
    assert_eq!(signed.status().as_u16(), 200);

    // UNSIGNED-PAYLOAD only without a body: a POST's parameters are its body.
    let unsigned = [("x-amz-content-sha256", "UNSIGNED-PAYLOAD")];
    let resp = kcr
        .send_signed_as(
            "GET",
            &good_url,
            &unsigned,
            b"",
            SignableBody::UnsignedPayload,
            SystemTime::now(),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let form_body = form(&[("Action", "CreateNamespace"), ("Version", "2021-11-09")]);
    let resp = kcr
        .send_signed_as(
            "POST",
            &format!("{}/", server.base),
            &[
                unsigned[0],
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            form_body.as_bytes(),
            SignableBody::UnsignedPayload,
            SystemTime::now(),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["Error"]["Code"], "SignatureDoesNotMatch");
    assert!(
        body["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("must be signed"),
        "{body}"
    );

    // Malformed Authorization headers.
    for (auth, message) in [
        (
            "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, Signature=00",
            "requires 'SignedHeaders'",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=00",
            "exactly 5",
        ),
        ("HMAC-SHA1 foo", "Unsupported ksc 'algorithm'"),
    ] {
        let resp = server
            .client
            .get(&url)
            .header("authorization", auth)
            .header("x-amz-date", "20261122T000000Z")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{auth}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["Error"]["Code"], "IncompleteSignature");
        assert!(
            body["Error"]["Message"].as_str().unwrap().contains(message),
            "{body}"
        );
    }

    // Read-only keys may only describe.
    let reader = server.kcr_with(true).await;
    assert_eq!(reader.get("DescribeInstance", &[]).await.0, StatusCode::OK);
    let (status, body) = reader
        .post(
            "CreateInstance",
            &[("InstanceName", "abc"), ("InstanceType", "basic")],
        )
        .await;
    assert_eq!(status.as_u16(), 403);
    assert_eq!(body["Error"]["Code"], "AccessDenied");
}

#[tokio::test]
async fn requests_follow_the_parameter_rules() {
    let server = TestApp::new().start().await;
    let kcr = server.kcr().await;
    // Methods, actions, versions.
    let url = format!(
        "{}/?Action=DescribeInstance&Version=2021-11-09",
        server.base
    );
    let resp = kcr
        .send_signed("PUT", &url, &[], b"", SystemTime::now())
        .await;
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["Error"]["Code"], "InvalidMethod");
    kcr.fails("NoSuchAction", &[], 400, "InvalidParameterValue")
        .await;
    let (status, body) = kcr
        .get("DescribeInstance", &[("Version", "2020-01-01")])
        .await;
    assert_eq!(status.as_u16(), 400, "{body}");
    // Unknown and malformed parameters.
    let msg = kcr
        .fails(
            "DescribeInstance",
            &[("Bogus", "1")],
            400,
            "InvalidQueryParameter",
        )
        .await;
    assert!(msg.contains("Bogus"));
    kcr.fails(
        "DescribeInstance",
        &[("InstanceId.101", "x")],
        400,
        "InvalidQueryParameter",
    )
    .await;
    kcr.fails(
        "DescribeInstance",
        &[("InstanceId.1", "x"), ("InstanceId.2", "x")],
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.fails(
        "DescribeInstance",
        &[("MaxResults", "100")],
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.fails(
        "DescribeInstance",
        &[("MaxResults", "0")],
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.fails(
        "DescribeInstance",
        &[("Marker", "x")],
        400,
        "InvalidParameterValue",
    )
    .await;
    let msg = kcr
        .fails("DescribeInstanceUsage", &[], 400, "MissingParameter")
        .await;
    assert_eq!(
        msg,
        "An value must be supplied for the input parameter InstanceId."
    );
    // GET and POST are not mixed: a form POST with parameters in the query is refused.
    let mixed = format!("{}/?InstanceName=x", server.base);
    let body = form(&[("Action", "DescribeInstance"), ("Version", "2021-11-09")]);
    let resp = kcr
        .send_signed(
            "POST",
            &mixed,
            &[("content-type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
            SystemTime::now(),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 400);
    // A JSON POST (as the kingsoftcloud SDK sends some actions) flattens to the same names.
    let json =
        serde_json::json!({"Action": "DescribeInstance", "Version": "2021-11-09", "MaxResults": 5});
    let resp = kcr
        .send_signed(
            "POST",
            &format!("{}/", server.base),
            &[("content-type", "application/json")],
            json.to_string().as_bytes(),
            SystemTime::now(),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["MaxResults"], 5);
}

#[tokio::test]
async fn instances_lifecycle_usage_and_paging() {
    let server = TestApp::new()
        .config(|c| {
            c.management.base_domain = Some("registry.test".into());
        })
        .start()
        .await;
    let kcr = server.kcr().await;
    for bad in ["a", "1abc", "Abc", "a-b", &"a".repeat(31)] {
        kcr.fails(
            "CreateInstance",
            &[("InstanceName", bad), ("InstanceType", "basic")],
            400,
            "InvalidParameterValue",
        )
        .await;
    }
    kcr.fails(
        "CreateInstance",
        &[("InstanceName", "abc"), ("InstanceType", "huge")],
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.fails(
        "CreateInstance",
        &[("InstanceName", "abc")],
        400,
        "MissingParameter",
    )
    .await;
    kcr.fails(
        "CreateInstance",
        &[
            ("InstanceName", "abc"),
            ("InstanceType", "basic"),
            ("ChargeType", "Monthly"),
        ],
        400,
        "MissingParameter",
    )
    .await;

    let one = kcr.running_instance("one").await;
    let mut ids = vec![one.clone()];
    for i in 0..4 {
        ids.push(kcr.running_instance(&format!("inst{i}")).await);
    }
    kcr.fails(
        "CreateInstance",
        &[("InstanceName", "one"), ("InstanceType", "basic")],
        409,
        "ResourceAlreadyExists",
    )
    .await;

    // Six instances with the default one; pages of two.
    let page = kcr.call("DescribeInstance", &[("MaxResults", "2")]).await;
    assert_eq!(page["TotalCount"], 6);
    assert_eq!(page["MaxResults"], 2);
    assert_eq!(page["Marker"], 2);
    assert_eq!(page["InstanceSet"].as_array().unwrap().len(), 2);
    let last = kcr
        .call("DescribeInstance", &[("MaxResults", "2"), ("Marker", "4")])
        .await;
    assert_eq!(last["Marker"], 0);
    let by_name = kcr
        .call("DescribeInstance", &[("InstanceName", "one")])
        .await;
    assert_eq!(by_name["TotalCount"], 1);
    let inst = &by_name["InstanceSet"][0];
    assert_eq!(inst["InstanceId"], one.as_str());
    assert_eq!(inst["InstanceType"], "basic");
    assert_eq!(inst["InstanceStatus"], "Running");
    assert_eq!(inst["InternalEndpoint"], "one.registry.test");
    assert_eq!(inst["ChargeType"], "HourlyInstantSettlement");
    assert_eq!(inst["ProjectId"], "0");
    assert!(inst["ExpiredTime"].is_null());
    assert_eq!(inst["CreateTime"].as_str().unwrap().len(), 19);
    let two = kcr
        .call(
            "DescribeInstance",
            &[("InstanceId.1", &ids[1]), ("InstanceId.2", &ids[2])],
        )
        .await;
    assert_eq!(two["TotalCount"], 2);
    // Without ProjectId.N only the default project is listed (the seed).
    let other = kcr
        .call(
            "CreateInstance",
            &[
                ("InstanceName", "elsewhere"),
                ("InstanceType", "basic"),
                ("ChargeType", "HourlyInstantSettlement"),
                ("ProjectId", "42"),
            ],
        )
        .await;
    let listed = kcr.call("DescribeInstance", &[]).await;
    assert_eq!(listed["TotalCount"], 6);
    let in_42 = kcr.call("DescribeInstance", &[("ProjectId.1", "42")]).await;
    assert_eq!(in_42["TotalCount"], 1);
    assert_eq!(in_42["InstanceSet"][0]["InstanceId"], other["InstanceId"]);
    let both = kcr
        .call(
            "DescribeInstance",
            &[("ProjectId.1", "0"), ("ProjectId.2", "42")],
        )
        .await;
    assert_eq!(both["TotalCount"], 7);
    kcr.call(
        "DeleteInstance",
        &[("InstanceId", other["InstanceId"].as_str().unwrap())],
    )
    .await;

    let usage = kcr
        .call("DescribeInstanceUsage", &[("InstanceId", &one)])
        .await;
    assert_eq!(usage["NamespaceQuota"], 50);
    assert_eq!(usage["NamespaceUsage"], 0);
    assert_eq!(usage["RepoQuota"], 1000);
    assert_eq!(usage["RepoUsage"], 0);
    kcr.fails(
        "DescribeInstanceUsage",
        &[("InstanceId", "nope")],
        400,
        "InvalidParameterValue",
    )
    .await;

    // Monthly instances carry an expiry and cannot be deleted through the API.
    let monthly = kcr
        .call(
            "CreateInstance",
            &[
                ("InstanceName", "monthly"),
                ("InstanceType", "premium"),
                ("ChargeType", "Monthly"),
                ("PurchaseTime", "12"),
            ],
        )
        .await;
    let monthly = monthly["InstanceId"].as_str().unwrap().to_string();
    let m = kcr
        .call("DescribeInstance", &[("InstanceId.1", &monthly)])
        .await;
    assert!(m["InstanceSet"][0]["ExpiredTime"].is_string());
    kcr.fails(
        "DeleteInstance",
        &[("InstanceId", &monthly)],
        400,
        "InvalidParameterValue",
    )
    .await;

    kcr.call(
        "DeleteInstance",
        &[("InstanceId", &ids[4]), ("DeleteBucket", "True")],
    )
    .await;
    let after = kcr
        .call("DescribeInstance", &[("InstanceId.1", &ids[4])])
        .await;
    assert_eq!(after["TotalCount"], 0);
    kcr.fails(
        "DeleteInstance",
        &[("InstanceId", &ids[4])],
        400,
        "InvalidParameterValue",
    )
    .await;
}

#[tokio::test]
async fn tokens_log_in_to_their_own_instance_and_stop_at_once() {
    let server = TestApp::new()
        .config(|c| {
            // Written absolute and in capitals: matched as a DNS name.
            c.management.base_domain = Some("LocalHost.".into());
        })
        .start()
        .await;
    let kcr = server.kcr().await;
    let inst = kcr.running_instance("team").await;
    let described = kcr
        .call("DescribeInstance", &[("InstanceId.1", &inst)])
        .await;
    assert_eq!(
        described["InstanceSet"][0]["InternalEndpoint"], "team.localhost",
        "the host it is served at"
    );
    kcr.fails(
        "CreateInstanceToken",
        &[
            ("InstanceId", &inst),
            ("TokenType", "Week"),
            ("TokenTime", "1"),
        ],
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.fails(
        "CreateInstanceToken",
        &[("InstanceId", &inst), ("TokenType", "Hour")],
        400,
        "MissingParameter",
    )
    .await;
    kcr.fails(
        "CreateInstanceToken",
        &[
            ("InstanceId", &inst),
            ("TokenType", "Hour"),
            ("TokenTime", "1"),
            ("Desc", &"x".repeat(257)),
        ],
        400,
        "InvalidParameterValue",
    )
    .await;
    let created = kcr
        .call(
            "CreateInstanceToken",
            &[
                ("InstanceId", &inst),
                ("TokenType", "Hour"),
                ("TokenTime", "24"),
                ("Desc", "ci pushes"),
            ],
        )
        .await;
    let user = created["Username"].as_str().unwrap().to_string();
    let token = created["Token"].as_str().unwrap().to_string();
    let token_id = created["TokenId"].as_str().unwrap().to_string();
    assert_eq!(created["ExpireTime"].as_str().unwrap().len(), 19);
    kcr.fails(
        "CreateInstanceToken",
        &[("InstanceId", &inst), ("TokenType", "NeverExpire")],
        400,
        "MissingParameter",
    )
    .await;
    kcr.call(
        "CreateInstanceToken",
        &[
            ("InstanceId", &inst),
            ("TokenType", "NeverExpire"),
            ("TokenTime", "1"),
        ],
    )
    .await;

    let list = kcr
        .call("DescribeInstanceToken", &[("InstanceId", &inst)])
        .await;
    assert_eq!(list["TotalCount"], 2);
    let first = &list["TokenSet"][0];
    assert_eq!(first["TokenId"], token_id.as_str());
    assert_eq!(first["Enable"], true);
    assert_eq!(first["Desc"], "ci pushes");
    assert!(list["TokenSet"][1]["ExpireTime"].is_null());
    assert!(list["TokenSet"][1]["Desc"].is_null());
    assert!(
        !list.to_string().contains(&token),
        "the token is shown once"
    );

    // The token logs in to its instance's endpoint (Host team.localhost), not the default one.
    let port = server.base.rsplit(':').next().unwrap().to_string();
    let team = format!("http://team.localhost:{port}");
    let resolve = reqwest::Client::builder()
        .resolve(
            "team.localhost",
            format!("127.0.0.1:{port}").parse().unwrap(),
        )
        .build()
        .unwrap();
    let v2 = |base: &str| format!("{base}/v2/");
    let ok = resolve
        .get(v2(&team))
        .basic_auth(&user, Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // An absolute Host (final dot) names the same instance.
    let absolute = resolve
        .get(v2(&team))
        .header("host", format!("TEAM.localhost.:{port}"))
        .basic_auth(&user, Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(absolute.status(), 200);
    let other = server
        .client
        .get(v2(&server.base))
        .basic_auth(&user, Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        401,
        "a token is only good for its own instance"
    );
    let ghost = resolve
        .get(format!("http://ghost.localhost:{port}/v2/"))
        .send()
        .await;
    if let Ok(r) = ghost {
        assert_eq!(r.status(), 404);
    }
    // A bearer token minted from it, then the token is disabled: both stop at once.
    let bearer: Value = resolve
        .get(format!(
            "{team}/auth/token?service=berth&scope=repository:app/x:pull,push"
        ))
        .basic_auth(&user, Some(&token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = bearer["token"].as_str().unwrap().to_string();
    let with_bearer = resolve
        .get(v2(&team))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(with_bearer.status(), 200);
    kcr.call(
        "ModifyInstanceTokenStatus",
        &[
            ("InstanceId", &inst),
            ("TokenId", &token_id),
            ("Enable", "False"),
        ],
    )
    .await;
    let refused = resolve
        .get(v2(&team))
        .basic_auth(&user, Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let refused = resolve
        .get(v2(&team))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    kcr.call(
        "ModifyInstanceTokenStatus",
        &[
            ("InstanceId", &inst),
            ("TokenId", &token_id),
            ("Enable", "True"),
        ],
    )
    .await;
    let back = resolve
        .get(v2(&team))
        .basic_auth(&user, Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 200);

    // Information changes; an expiry in the past refuses at once.
    kcr.call(
        "ModifyInstanceTokenInformation",
        &[
            ("InstanceId", &inst),
            ("TokenId", &token_id),
            ("Desc", "renamed"),
        ],
    )
    .await;
    // TokenTime alone keeps the type (Hour): three hours from now.
    kcr.call(
        "ModifyInstanceTokenInformation",
        &[
            ("InstanceId", &inst),
            ("TokenId", &token_id),
            ("TokenTime", "3"),
        ],
    )
    .await;
    let listed = kcr
        .call("DescribeInstanceToken", &[("InstanceId", &inst)])
        .await;
    let expires = chrono::NaiveDateTime::parse_from_str(
        listed["TokenSet"][0]["ExpireTime"].as_str().unwrap(),
        "%Y-%m-%d %H:%M:%S",
    )
    .unwrap()
    .and_utc();
    let left = expires - chrono::Utc::now();
    assert!(
        left > chrono::Duration::minutes(175) && left <= chrono::Duration::hours(3),
        "{left}"
    );
    kcr.fails(
        "ModifyInstanceTokenInformation",
        &[
            ("InstanceId", &inst),
            ("TokenId", &token_id),
            ("TokenTime", "0"),
        ],
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.call(
        "ModifyInstanceTokenInformation",
        &[
            ("InstanceId", &inst),
            ("TokenId", &token_id),
            ("TokenType", "Day"),
            ("TokenTime", "2"),
        ],
    )
    .await;
    let list = kcr
        .call(
            "DescribeInstanceToken",
            &[("InstanceId", &inst), ("MaxResults", "1")],
        )
        .await;
    assert_eq!(list["TokenSet"][0]["Desc"], "renamed");
    assert_eq!(list["Marker"], 1);
    kcr.call(
        "DeleteInstanceToken",
        &[("InstanceId", &inst), ("TokenId", &token_id)],
    )
    .await;
    let gone = resolve
        .get(v2(&team))
        .basic_auth(&user, Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 401);
    kcr.fails(
        "DeleteInstanceToken",
        &[("InstanceId", &inst), ("TokenId", &token_id)],
        400,
        "InvalidParameterValue",
    )
    .await;
}

#[tokio::test]
async fn namespaces_repositories_images_and_tags() {
    let server = TestApp::new().start().await;
    let kcr = server.kcr().await;
    let default = kcr.call("DescribeInstance", &[]).await["InstanceSet"][0]["InstanceId"]
        .as_str()
        .unwrap()
        .to_string();
    let i = default.as_str();
    for bad in ["a", "9lives", "Team", "with-dash"] {
        kcr.fails(
            "CreateNamespace",
            &[("InstanceId", i), ("Namespace", bad), ("Public", "True")],
            400,
            "InvalidParameterValue",
        )
        .await;
    }
    kcr.fails(
        "CreateNamespace",
        &[("InstanceId", i), ("Namespace", "team")],
        400,
        "MissingParameter",
    )
    .await;
    kcr.fails(
        "CreateNamespace",
        &[
            ("InstanceId", i),
            ("Namespace", "team"),
            ("Public", "maybe"),
        ],
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.call(
        "CreateNamespace",
        &[
            ("InstanceId", i),
            ("Namespace", "team"),
            ("Public", "False"),
        ],
    )
    .await;
    kcr.call(
        "CreateNamespace",
        &[("InstanceId", i), ("Namespace", "open"), ("Public", "True")],
    )
    .await;
    kcr.fails(
        "CreateNamespace",
        &[("InstanceId", i), ("Namespace", "team"), ("Public", "True")],
        409,
        "ResourceAlreadyExists",
    )
    .await;
    let exist = kcr
        .call(
            "DescribeNamespaceExist",
            &[("InstanceId", i), ("Namespace", "team")],
        )
        .await;
    assert_eq!(exist["Exist"], true);
    let exist = kcr
        .call(
            "DescribeNamespaceExist",
            &[("InstanceId", i), ("Namespace", "nope")],
        )
        .await;
    assert_eq!(exist["Exist"], false);

    // Private: anonymous pull refused; public after ModifyNamespaceType.
    let (_, digest) = server.push_image("team/app", "v1", b"layer one").await;
    server.push_image("team/app", "v2", b"layer two").await;
    server.push_image("team/web", "latest", b"web").await;
    let anon = server
        .anon(Method::GET, "/v2/team/app/manifests/v1")
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    kcr.call(
        "ModifyNamespaceType",
        &[("InstanceId", i), ("Namespace", "team"), ("Public", "True")],
    )
    .await;
    let anon = server
        .anon(Method::GET, "/v2/team/app/manifests/v1")
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 200);

    let list = kcr.call("DescribeNamespace", &[("InstanceId", i)]).await;
    assert_eq!(list["TotalCount"], 2);
    let team = list["NamespaceSet"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["Namespace"] == "team")
        .unwrap()
        .clone();
    assert_eq!(team["Public"], true);
    assert_eq!(team["RepoCount"], 2);
    let private = kcr
        .call(
            "DescribeNamespace",
            &[("InstanceId", i), ("Public", "False")],
        )
        .await;
    assert_eq!(private["TotalCount"], 0);

    let repos = kcr
        .call(
            "DescribeRepository",
            &[("InstanceId", i), ("Namespace", "team")],
        )
        .await;
    assert_eq!(repos["TotalCount"], 2);
    assert_eq!(repos["RepoSet"][0]["RepoName"], "app");
    assert!(repos["RepoSet"][0]["Desc"].is_null());
    kcr.call(
        "ModifyRepoDesc",
        &[
            ("InstanceId", i),
            ("Namespace", "team"),
            ("RepoName", "app"),
            ("Desc", "the app"),
        ],
    )
    .await;
    kcr.fails(
        "ModifyRepoDesc",
        &[
            ("InstanceId", i),
            ("Namespace", "team"),
            ("RepoName", "app"),
            ("Desc", &"d".repeat(257)),
        ],
        400,
        "InvalidParameterValue",
    )
    .await;
    let one = kcr
        .call(
            "DescribeRepository",
            &[
                ("InstanceId", i),
                ("Namespace", "team"),
                ("RepoName.1", "app"),
            ],
        )
        .await;
    assert_eq!(one["TotalCount"], 1);
    assert_eq!(one["RepoSet"][0]["Desc"], "the app");
    assert_eq!(one["RepoSet"][0]["Public"], true);

    let images = kcr
        .call(
            "DescribeImages",
            &[
                ("InstanceId", i),
                ("Namespace", "team"),
                ("RepoName", "app"),
            ],
        )
        .await;
    assert_eq!(images["TotalCount"], 2);
    let v1 = images["ImageSet"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["ImageId"] == digest.to_string().as_str())
        .unwrap()
        .clone();
    assert_eq!(v1["TagNames"], serde_json::json!(["v1"]));
    assert!(v1["Size"].as_i64().unwrap() > "layer one".len() as i64);
    let only = kcr
        .call(
            "DescribeImages",
            &[
                ("InstanceId", i),
                ("Namespace", "team"),
                ("RepoName", "app"),
                ("ImageId", &digest.to_string()),
            ],
        )
        .await;
    assert_eq!(only["TotalCount"], 1);
    kcr.fails(
        "DescribeImages",
        &[
            ("InstanceId", i),
            ("Namespace", "team"),
            ("RepoName", "app"),
            ("ImageId", "sha256:zz"),
        ],
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.fails(
        "DescribeImages",
        &[
            ("InstanceId", i),
            ("Namespace", "team"),
            ("RepoName", "nope"),
        ],
        400,
        "InvalidParameterValue",
    )
    .await;

    // Tags and images go like the OCI DELETE endpoints.
    kcr.call(
        "DeleteRepoTag",
        &[
            ("InstanceId", i),
            ("Namespace", "team"),
            ("RepoName", "app"),
            ("TagName", "v2"),
        ],
    )
    .await;
    let gone = server
        .admin(Method::GET, "/v2/team/app/manifests/v2")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    kcr.fails(
        "DeleteRepoTag",
        &[
            ("InstanceId", i),
            ("Namespace", "team"),
            ("RepoName", "app"),
            ("TagName", "v2"),
        ],
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.call(
        "DeleteImages",
        &[
            ("InstanceId", i),
            ("Namespace", "team"),
            ("RepoName", "app"),
            ("ImageId", &digest.to_string()),
        ],
    )
    .await;
    let gone = server
        .admin(Method::GET, &format!("/v2/team/app/manifests/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);

    // A namespace with repositories is not deleted; an empty one is.
    kcr.fails(
        "DeleteNamespace",
        &[("InstanceId", i), ("Namespace", "team")],
        409,
        "ResourceInUse",
    )
    .await;
    kcr.call(
        "DeleteRepository",
        &[
            ("InstanceId", i),
            ("Namespace", "team"),
            ("RepoName", "app"),
        ],
    )
    .await;
    kcr.call(
        "DeleteRepository",
        &[
            ("InstanceId", i),
            ("Namespace", "team"),
            ("RepoName", "web"),
        ],
    )
    .await;
    let gone = server
        .admin(Method::GET, "/v2/team/web/tags/list")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    kcr.call(
        "DeleteNamespace",
        &[("InstanceId", i), ("Namespace", "team")],
    )
    .await;
    kcr.fails(
        "DeleteNamespace",
        &[("InstanceId", i), ("Namespace", "team")],
        400,
        "InvalidParameterValue",
    )
    .await;
    let usage = kcr
        .call("DescribeInstanceUsage", &[("InstanceId", i)])
        .await;
    assert_eq!(usage["NamespaceUsage"], 1);
    assert_eq!(usage["RepoUsage"], 0);
}

#[tokio::test]
async fn pushes_respect_the_instance_quotas() {
    let server = TestApp::new().start().await;
    let kcr = server.kcr().await;
    let default = server.app.default_instance.id.clone();
    // Quotas are per instance; lower this one's namespace quota to 2 through the store.
    sqlx_set_quota(&server, &default).await;
    server.push_image("a1/app", "v1", b"x").await;
    server.push_image("a2/app", "v1", b"y").await;
    let blob = server
        .admin(Method::POST, "/v2/a3/app/blobs/uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        blob.status().as_u16(),
        403,
        "a third namespace is over quota"
    );
    let usage = kcr
        .call("DescribeInstanceUsage", &[("InstanceId", &default)])
        .await;
    assert_eq!(usage["NamespaceQuota"], 2);
    assert_eq!(usage["NamespaceUsage"], 2);
    kcr.fails(
        "CreateNamespace",
        &[
            ("InstanceId", &default),
            ("Namespace", "more"),
            ("Public", "True"),
        ],
        409,
        "QuotaExceeded",
    )
    .await;
    // A push refused by the repository quota leaves no new namespace behind.
    assert!(
        server
            .app
            .meta
            .set_instance_quotas(&default, 10, 3)
            .await
            .unwrap()
    );
    server.app.caches.clear();
    server.push_image("a1/third", "v1", b"z").await;
    let refused = server
        .admin(Method::POST, "/v2/b9/app/blobs/uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403, "a fourth repository");
    let usage = kcr
        .call("DescribeInstanceUsage", &[("InstanceId", &default)])
        .await;
    assert_eq!(
        (
            usage["NamespaceUsage"].as_u64(),
            usage["RepoUsage"].as_u64()
        ),
        (Some(2), Some(3))
    );
}

async fn sqlx_set_quota(server: &TestServer, instance: &str) {
    assert!(
        server
            .app
            .meta
            .set_instance_quotas(instance, 2, 1000)
            .await
            .unwrap()
    );
    server.app.caches.clear();
}

#[tokio::test]
async fn query_string_signatures_are_accepted_until_they_expire() {
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{
        SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
    };
    use aws_sigv4::sign::v4;
    let server = TestApp::new().start().await;
    let kcr = server.kcr().await;
    let host = server.base.trim_start_matches("http://").to_string();
    let presign = |at: SystemTime, expires: u64| {
        let url = format!(
            "{}/?Action=DescribeInstance&Version=2021-11-09",
            server.base
        );
        let identity = Credentials::new(&kcr.key_id, &kcr.secret, None, None, "t").into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires));
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("cn-beijing-6")
            .name("kcrs")
            .time(at)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let headers = [("host", host.as_str())];
        let signable =
            SignableRequest::new("GET", &url, headers.into_iter(), SignableBody::Bytes(b""))
                .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut full = url.clone();
        for (k, v) in instructions.params() {
            full.push('&');
            full.push_str(&form(&[(k, v)]));
        }
        full
    };
    let fresh = server
        .client
        .get(presign(SystemTime::now(), 300))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200, "{}", fresh.text().await.unwrap());
    let old = presign(SystemTime::now() - Duration::from_secs(600), 60);
    let expired = server.client.get(old).send().await.unwrap();
    assert_eq!(expired.status(), 403);
    let body: Value = expired.json().await.unwrap();
    assert_eq!(body["Error"]["Code"], "SignatureDoesNotMatch");
    assert!(
        body["Error"]["Message"]
            .as_str()
            .unwrap()
            .starts_with("Signature expired:")
    );
    assert!(
        body["Error"]["Message"]
            .as_str()
            .unwrap()
            .ends_with(" - 60 s)."),
        "the window of this signature: {body}"
    );
    // An unreadable X-Amz-Expires is refused, not read as the default.
    let bad = presign(SystemTime::now(), 300).replace("X-Amz-Expires=300", "X-Amz-Expires=3OO");
    let resp = server.client.get(bad).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["Error"]["Code"], "InvalidParameterValue", "{body}");
    // Tampering with a signed parameter breaks the signature.
    let tampered = presign(SystemTime::now(), 300).replace("DescribeInstance", "DeleteInstance");
    let resp = server.client.get(tampered).send().await.unwrap();
    assert_eq!(resp.status(), 403);
}
