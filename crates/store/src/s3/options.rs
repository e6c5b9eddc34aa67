//! Where the bucket is and how to sign for it: the `s3://bucket/prefix` URL and [`S3Options`],
//! from berth's configuration or the standard `AWS_*` variables.
use crate::driver::Key;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};
use std::io;
use std::time::Duration;

/// How to reach and sign for the bucket. `None` fields fall back to the environment in
/// [`S3Options::or_env`]; explicit values (berth's TOML file) win over it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Options {
    /// The server's base URL (`AWS_ENDPOINT_URL`), e.g. `http://127.0.0.1:9000`; `None` for AWS.
    pub endpoint: Option<String>,
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`); `us-east-1` when neither is set.
    pub region: Option<String>,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<String>,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    pub session_token: Option<String>,
    /// `AWS_ALLOW_HTTP`: accept a plain `http://` endpoint (self-hosted S3 on a trusted network).
    pub allow_http: Option<bool>,
    /// Address the bucket as `bucket.endpoint` instead of `endpoint/bucket`. Off by default:
    /// self-hosted servers (MinIO, Ceph RGW, Garage, moto) are reached path-style.
    pub virtual_hosted_style: bool,
}

impl std::fmt::Debug for S3Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "<hidden>");
        f.debug_struct("S3Options")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &hidden(&self.secret_access_key))
            .field("session_token", &hidden(&self.session_token))
            .field("allow_http", &self.allow_http)
            .field("virtual_hosted_style", &self.virtual_hosted_style)
            .finish()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

impl S3Options {
    /// The options the standard `AWS_*` variables give.
    pub fn from_env() -> S3Options {
        S3Options {
            endpoint: env("AWS_ENDPOINT_URL_S3").or_else(|| env("AWS_ENDPOINT_URL")),
            region: env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")),
            access_key_id: env("AWS_ACCESS_KEY_ID"),
            secret_access_key: env("AWS_SECRET_ACCESS_KEY"),
            session_token: env("AWS_SESSION_TOKEN"),
            allow_http: env("AWS_ALLOW_HTTP").map(|v| truthy(&v)),
            virtual_hosted_style: false,
        }
    }

    /// These options, with every `None` field taken from the environment.
    pub fn or_env(self) -> S3Options {
        let env = S3Options::from_env();
        S3Options {
            endpoint: self.endpoint.or(env.endpoint),
            region: self.region.or(env.region),
            access_key_id: self.access_key_id.or(env.access_key_id),
            secret_access_key: self.secret_access_key.or(env.secret_access_key),
            session_token: self.session_token.or(env.session_token),
            allow_http: self.allow_http.or(env.allow_http),
            virtual_hosted_style: self.virtual_hosted_style,
        }
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// The bucket and key prefix of `s3://bucket[/prefix]`. The prefix must be a valid [`Key`], so
/// that object names need no escaping.
pub(super) fn parse_url(url: &str) -> io::Result<(String, Option<Key>)> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| {
        invalid(format!(
            "blob store URL {url:?} is not s3://bucket[/prefix]"
        ))
    })?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(invalid(format!("blob store URL {url:?} names no bucket")));
    }
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        return Ok((bucket.to_string(), None));
    }
    let key = Key::parse(prefix).ok_or_else(|| {
        invalid(format!(
            "blob store URL {url:?}: the prefix may hold only letters, digits, '-', '_', '.' and '/'"
        ))
    })?;
    Ok((bucket.to_string(), Some(key)))
}

/// The client for `bucket` with `options` (environment fallbacks included). Retries are few and
/// bounded, so that an unreachable server fails a request within seconds rather than minutes;
/// the caller (or the client, for a push) retries the whole operation.
pub(super) fn build(bucket: &str, options: &S3Options) -> io::Result<AmazonS3> {
    let options = options.clone().or_env();
    let mut client = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(300));
    if options.allow_http == Some(true) {
        client = client.with_allow_http(true);
    }
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(options.region.as_deref().unwrap_or("us-east-1"))
        .with_virtual_hosted_style_request(options.virtual_hosted_style)
        .with_client_options(client)
        .with_retry(RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
        });
    if let Some(endpoint) = &options.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(id) = &options.access_key_id {
        builder = builder.with_access_key_id(id);
    }
    if let Some(secret) = &options.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    if let Some(token) = &options.session_token {
        builder = builder.with_token(token);
    }
    builder
        .build()
        .map_err(|e| invalid(format!("S3 blob store: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_bucket_and_a_safe_prefix() {
        assert_eq!(parse_url("s3://b").unwrap(), ("b".to_string(), None));
        let (bucket, prefix) = parse_url("s3://b/berth/prod/").unwrap();
        assert_eq!(bucket, "b");
        assert_eq!(prefix.unwrap().as_str(), "berth/prod");
        for bad in [
            "http://b/x",
            "s3://",
            "s3:///x",
            "s3://b/a/../c",
            "s3://b/a b",
        ] {
            assert!(parse_url(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn secrets_stay_out_of_logs() {
        let options = S3Options {
            secret_access_key: Some("very-secret".into()),
            ..S3Options::default()
        };
        assert!(!format!("{options:?}").contains("very-secret"));
    }
}
