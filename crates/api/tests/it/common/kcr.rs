//! A management API client for tests, signing with the `aws-sigv4` crate (an implementation
//! independent of berth's verifier).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
use super::TestServer;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::SystemTime;

pub const REGION: &str = "cn-beijing-6";

pub struct Kcr {
    pub base: String,
    pub client: reqwest::Client,
    pub key_id: String,
    pub secret: String,
    pub region: String,
}

pub fn form(params: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

impl TestServer {
    /// A client with a fresh API key (read-only when asked).
    pub async fn kcr_with(&self, read_only: bool) -> Kcr {
        let key = berth_api::kcr::keys::create_api_key(
            self.app.meta.as_ref(),
            &self.app.master_key,
            "tests",
            read_only,
        )
        .await
        .unwrap();
        Kcr {
            base: self.base.clone(),
            client: self.client.clone(),
            key_id: key.access_key_id,
            secret: key.secret_access_key,
            region: REGION.into(),
        }
    }

    pub async fn kcr(&self) -> Kcr {
        self.kcr_with(false).await
    }
}

impl Kcr {
    /// Signs and sends; `headers` are extra headers to sign and send.
    pub async fn send_signed(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        at: SystemTime,
    ) -> reqwest::Response {
        self.send_signed_as(method, url, headers, body, SignableBody::Bytes(body), at)
            .await
    }

    /// Signs `signed_body` (the body itself, or `UNSIGNED-PAYLOAD`) and sends `body`.
    pub async fn send_signed_as(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        signed_body: SignableBody<'_>,
        at: SystemTime,
    ) -> reqwest::Response {
        let host = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let mut all: Vec<(String, String)> = vec![("host".into(), host)];
        all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let identity = Credentials::new(&self.key_id, &self.secret, None, None, "tests").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("kcrs")
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            all.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            signed_body,
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut req = self
            .client
            .request(method.parse().unwrap(), url)
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        for (k, v) in instructions.headers() {
            req = req.header(k, v);
        }
        req.send().await.unwrap()
    }

    async fn finish(resp: reqwest::Response) -> (StatusCode, Value) {
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        assert!(
            value["RequestId"].as_str().is_some_and(|s| !s.is_empty()),
            "no RequestId in {value}"
        );
        (status, value)
    }

    /// `GET /?Action=..&Version=..&params`, signed in the Authorization header.
    pub async fn get(&self, action: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut all = vec![("Action", action), ("Version", "2021-11-09")];
        all.extend_from_slice(params);
        let url = format!("{}/?{}", self.base, form(&all));
        Self::finish(
            self.send_signed("GET", &url, &[], b"", SystemTime::now())
                .await,
        )
        .await
    }

    /// `POST /` with a form body, signed.
    pub async fn post(&self, action: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut all = vec![("Action", action), ("Version", "2021-11-09")];
        all.extend_from_slice(params);
        let body = form(&all);
        let url = format!("{}/", self.base);
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        Self::finish(
            self.send_signed("POST", &url, &headers, body.as_bytes(), SystemTime::now())
                .await,
        )
        .await
    }

    /// A form POST that must succeed; returns the body.
    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> Value {
        let (status, body) = self.post(action, params).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
        assert!(body.get("Error").is_none(), "{action}: {body}");
        body
    }

    /// A call that must fail with `code`; returns the message.
    pub async fn fails(
        &self,
        action: &str,
        params: &[(&str, &str)],
        status: u16,
        code: &str,
    ) -> String {
        let (got, body) = self.post(action, params).await;
        assert_eq!(got.as_u16(), status, "{action} {params:?}: {body}");
        assert_eq!(body["Error"]["Code"], code, "{action} {params:?}: {body}");
        assert_eq!(body["Error"]["Type"], "Sender", "{body}");
        body["Error"]["Message"].as_str().unwrap().to_string()
    }

    /// Creates an instance and waits until it is Running; returns its id.
    pub async fn running_instance(&self, name: &str) -> String {
        let body = self
            .call(
                "CreateInstance",
                &[("InstanceName", name), ("InstanceType", "basic")],
            )
            .await;
        let id = body["InstanceId"].as_str().unwrap().to_string();
        for _ in 0..100 {
            let body = self
                .call("DescribeInstance", &[("InstanceId.1", &id)])
                .await;
            if body["InstanceSet"][0]["InstanceStatus"] == "Running" {
                return id;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("instance {name} never ran");
    }
}
