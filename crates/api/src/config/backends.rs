//! Where berth keeps its state: `[metadata]` and `[blobs]`. Unset, both live under the data
//! directory (SQLite and files), which needs no setup; `postgres://` and `s3://` URLs move them
//! to engines that several berth processes can share.
use serde::Deserialize;

/// `[metadata]`: the metadata store.
#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct MetadataConfig {
    /// `postgres://user:password@host:port/database` (`BERTH_METADATA_URL`); unset: SQLite at
    /// `<data_dir>/meta.db`.
    pub url: Option<String>,
}

/// `[blobs]`: the blob store.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct BlobsConfig {
    /// `s3://bucket/prefix` (`BERTH_BLOBS_URL`); unset: files under the data directory.
    pub url: Option<String>,
    /// Blob pulls are answered with a redirect to a presigned URL of the object store, so the
    /// bytes do not pass through berth (`BERTH_BLOBS_REDIRECT`; S3 only).
    pub redirect: bool,
    /// How long a redirect's presigned URL stays valid (long enough for a slow client to fetch
    /// a large layer after the redirect).
    pub redirect_ttl_secs: u64,
    /// S3 connection settings; each unset one comes from the standard `AWS_*` variables.
    pub s3: S3Config,
}

impl Default for BlobsConfig {
    fn default() -> Self {
        BlobsConfig {
            url: None,
            redirect: false,
            redirect_ttl_secs: 1200,
            s3: S3Config::default(),
        }
    }
}

/// `[blobs.s3]`: what the standard `AWS_*` variables would otherwise say.
#[derive(Clone, Deserialize, Default, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// `AWS_ENDPOINT_URL`: a self-hosted S3 server's URL (path-style requests are used).
    pub endpoint: Option<String>,
    /// `AWS_REGION`.
    pub region: Option<String>,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<String>,
    /// `AWS_ALLOW_HTTP`: allow an `http://` endpoint.
    pub allow_http: Option<bool>,
}

/// The secret never reaches a log line.
impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// Which engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Local,
    Postgres,
    S3,
}

impl MetadataConfig {
    /// The engine `url` names; an error for a scheme berth does not know.
    pub fn engine(&self) -> Result<Engine, &'static str> {
        match self.url.as_deref() {
            None => Ok(Engine::Local),
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Ok(Engine::Postgres)
            }
            Some(_) => Err("must be a postgres:// URL (or unset: SQLite in the data directory)"),
        }
    }
}

impl BlobsConfig {
    /// The engine `url` names; an error for a scheme berth does not know.
    pub fn engine(&self) -> Result<Engine, &'static str> {
        match self.url.as_deref() {
            None => Ok(Engine::Local),
            Some(u) if u.starts_with("s3://") && u.len() > "s3://".len() => Ok(Engine::S3),
            Some(_) => Err("must be an s3://bucket[/prefix] URL (or unset: the data directory)"),
        }
    }
}

/// A URL as it may be logged: without its password.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_are_chosen_by_scheme() {
        let meta = |u: &str| MetadataConfig {
            url: Some(u.into()),
        };
        assert_eq!(MetadataConfig::default().engine(), Ok(Engine::Local));
        assert_eq!(meta("postgres://a@h/db").engine(), Ok(Engine::Postgres));
        assert_eq!(meta("postgresql://h/db").engine(), Ok(Engine::Postgres));
        assert!(meta("mysql://h/db").engine().is_err());
        let blobs = |u: &str| BlobsConfig {
            url: Some(u.into()),
            ..Default::default()
        };
        assert_eq!(BlobsConfig::default().engine(), Ok(Engine::Local));
        assert_eq!(blobs("s3://bucket/prefix").engine(), Ok(Engine::S3));
        assert!(blobs("s3://").engine().is_err());
        assert!(blobs("gs://bucket").engine().is_err());
    }

    #[test]
    fn passwords_are_not_logged() {
        assert_eq!(
            redacted("postgres://berth:hunter2@db:5432/berth"),
            "postgres://berth:***@db:5432/berth"
        );
        assert_eq!(redacted("postgres://db/berth"), "postgres://db/berth");
        let s3 = S3Config {
            secret_access_key: Some("hunter2".into()),
            ..Default::default()
        };
        assert!(!format!("{s3:?}").contains("hunter2"));
    }
}
