//! Configuration: built-in defaults, then a TOML file, then environment variables, then flags
//! (the binary applies the last two); later sources win.
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the metadata database and the blobs.
    pub data_dir: PathBuf,
    /// The externally visible base URL (e.g. `https://registry.example.com`). When unset, it is
    /// derived from each request's Host header.
    pub public_url: Option<String>,
    pub auth: AuthConfig,
    pub gc: GcConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Lets anonymous clients push. Off unless explicitly configured.
    pub anonymous_push: bool,
    /// Lifetime of bearer tokens issued by the token endpoint.
    pub token_ttl_secs: u64,
    /// How long a verified Basic credential is remembered (keyed by an HMAC of it).
    pub credential_cache_secs: u64,
    /// The `service` named in bearer challenges and tokens.
    pub service: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GcConfig {
    /// Seconds between background passes; 0 disables the background pass.
    pub interval_secs: u64,
    /// Content younger than this is never collected (protects pushes in flight).
    pub grace_secs: u64,
    /// Delete manifests that no tag, index or live subject keeps.
    pub delete_untagged: bool,
    /// Uploads untouched for this long are discarded.
    pub upload_expiry_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// The largest blob accepted.
    pub max_blob_bytes: u64,
    /// The most entries one tags/catalog page returns.
    pub max_page_entries: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter, e.g. `info` or `berth_api=debug,info`.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 5000)),
            data_dir: PathBuf::from("berth-data"),
            public_url: None,
            auth: AuthConfig::default(),
            gc: GcConfig::default(),
            limits: LimitsConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            anonymous_push: false,
            token_ttl_secs: 300,
            credential_cache_secs: 60,
            service: "berth".into(),
        }
    }
}

impl Default for GcConfig {
    fn default() -> Self {
        GcConfig {
            interval_secs: 3600,
            grace_secs: 3600,
            delete_untagged: true,
            upload_expiry_secs: 24 * 3600,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_blob_bytes: 64 << 30,
            max_page_entries: 10_000,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration in {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid value {value:?} for {name}: {reason}")]
    Env {
        name: &'static str,
        value: String,
        reason: String,
    },
}

impl Config {
    /// Defaults overridden by the TOML file at `path`.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source: Box::new(source),
        })
    }

    /// Applies the `BERTH_*` environment variables that are not also flags.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &'static str, v: String) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            v.parse().map_err(|e: T::Err| ConfigError::Env {
                name,
                reason: e.to_string(),
                value: v,
            })
        }
        if let Some(v) = get("BERTH_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = get("BERTH_ANONYMOUS_PUSH") {
            self.auth.anonymous_push = parse("BERTH_ANONYMOUS_PUSH", v)?;
        }
        if let Some(v) = get("BERTH_GC_INTERVAL_SECS") {
            self.gc.interval_secs = parse("BERTH_GC_INTERVAL_SECS", v)?;
        }
        if let Some(v) = get("BERTH_GC_GRACE_SECS") {
            self.gc.grace_secs = parse("BERTH_GC_GRACE_SECS", v)?;
        }
        if let Some(v) = get("BERTH_LOG") {
            self.log.level = v;
        }
        if let Some(v) = get("BERTH_LOG_FORMAT") {
            self.log.format = v;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_env() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:6000\"\n[gc]\ninterval_secs = 5\n[auth]\nanonymous_push = true\n",
        )
        .unwrap();
        let mut c = Config::from_file(&path).unwrap();
        assert_eq!(c.listen.port(), 6000);
        assert_eq!(c.gc.interval_secs, 5);
        assert_eq!(c.gc.grace_secs, 3600);
        c.apply_env(|k| (k == "BERTH_GC_INTERVAL_SECS").then(|| "7".to_string()))
            .unwrap();
        assert_eq!(c.gc.interval_secs, 7);
        assert!(
            c.apply_env(|k| (k == "BERTH_ANONYMOUS_PUSH").then(|| "maybe".to_string()))
                .is_err()
        );
        std::fs::write(&path, "bogus = 1\n").unwrap();
        assert!(matches!(
            Config::from_file(&path),
            Err(ConfigError::Parse { .. })
        ));
    }
}
