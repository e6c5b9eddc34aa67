//! Configuration: built-in defaults, then a TOML file, then environment variables, then flags
//! (the binary applies the last two); later sources win.
pub mod backends;
pub use backends::{BlobsConfig, Engine, MetadataConfig, S3Config};

use ipnet::IpNet;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
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
    pub webhooks: WebhooksConfig,
    pub network: NetworkConfig,
    pub management: ManagementConfig,
    pub scan: ScanConfig,
    pub jobs: JobsConfig,
    /// The Kubernetes admission webhook (`[admission]`).
    pub admission: crate::admission::config::AdmissionConfig,
    /// The metadata store (`[metadata]`): SQLite in the data directory, or PostgreSQL.
    pub metadata: MetadataConfig,
    /// The blob store (`[blobs]`): the data directory, or S3.
    pub blobs: BlobsConfig,
}

/// The background-job runner (scans, garbage collection).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// How long a claim on a job lasts unless renewed (every third of it while the job runs):
    /// how soon the jobs of a process that died are taken over or, for scans, failed as
    /// interrupted.
    pub lease_secs: u64,
    /// Seconds between looks at the queue without a wake-up (jobs queued by another process).
    pub poll_secs: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            lease_secs: 30,
            poll_secs: 5,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScanConfig {
    /// The vulnerability database directory (default: `$BERTH_DB_DIR`, else
    /// `~/.cache/berth/db`, as `berth db` uses).
    pub db_dir: Option<PathBuf>,
    /// Scan every pushed image (besides namespaces marked scan-on-push).
    pub on_push: bool,
    /// Seconds between looks at the database file for an update, which re-matches every
    /// image's newest scan against it (no image is read again); 0 = never.
    pub db_check_secs: u64,
    /// Images from other registries that run in reported clusters: pulled by digest and
    /// scanned, so the risk figures cover everything that runs.
    pub cache: ScanCacheConfig,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            db_dir: None,
            on_push: false,
            db_check_secs: 300,
            cache: ScanCacheConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScanCacheConfig {
    /// Pull and scan images that run in reported clusters but that berth does not store.
    pub enabled: bool,
    /// Decompressed bytes of one image, at most (the scanner's bound over all layers).
    pub max_image_bytes: u64,
    /// Digests queued for a scan per inventory change, at most (the rest wait for the next).
    pub max_queued_per_change: usize,
    /// Hours before a failed pull or scan of a digest is tried again.
    pub retry_failed_hours: u64,
    /// Credentials per registry host (`host` as in the image reference, port included).
    pub registries: Vec<RegistryCredential>,
    /// Hosts reached over plain HTTP (loopback hosts always are).
    pub insecure_hosts: Vec<String>,
}

impl Default for ScanCacheConfig {
    fn default() -> Self {
        ScanCacheConfig {
            enabled: true,
            max_image_bytes: 4 << 30,
            max_queued_per_change: 256,
            retry_failed_hours: 24,
            registries: Vec::new(),
            insecure_hosts: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryCredential {
    pub host: String,
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManagementConfig {
    /// Regions accepted in SigV4 credential scopes of the management API.
    pub regions: Vec<String>,
    /// Instances other than the default one are served at `<instance name>.<base_domain>`
    /// (chosen by the request's Host). Unset: only the default instance has an OCI endpoint.
    pub base_domain: Option<String>,
}

impl Default for ManagementConfig {
    fn default() -> Self {
        ManagementConfig {
            regions: vec!["cn-beijing-6".into()],
            base_domain: None,
        }
    }
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
    /// Password verifications (argon2id, 19 MiB and tens of milliseconds of CPU each) that run
    /// at once; each keeps one reusable memory buffer. 0: one per CPU core.
    pub hash_concurrency: usize,
    /// Failed logins one client address (an IPv6 /64) may make in a burst; the allowance
    /// refills at this many per `failed_login_window_secs`. Further attempts are answered 429
    /// before any password is checked. 0: no limit.
    pub failed_logins_per_address: u32,
    /// The same for one username, from any address; an address the user logged in from
    /// successfully in the last day is exempt, so an attack on a name does not lock its owner
    /// out of the places they work from. 0: no limit.
    pub failed_logins_per_user: u32,
    /// The period over which the failed-login allowances refill.
    pub failed_login_window_secs: u64,
    /// Addresses, usernames and known (user, address) pairs the login limiter remembers, each
    /// (the least recently used go first when it is full).
    pub login_limiter_entries: u64,
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

/// The smallest `limits.max_header_bytes` (hyper's minimum read buffer).
pub const MIN_HEADER_BYTES: usize = 8192;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// The largest blob accepted.
    pub max_blob_bytes: u64,
    /// The most entries one tags/catalog page returns.
    pub max_page_entries: u32,
    /// Open client connections at most. A connection over the limit is answered 503 with
    /// `Retry-After` and closed, instead of waiting unseen in the kernel's backlog. Each
    /// connection may hold two file descriptors (its socket, a blob file), so the server lowers
    /// this to what the process's descriptor limit allows, and says so in the log.
    pub max_connections: usize,
    /// Seconds a client has to send a complete request head, counted from the connection's start
    /// or the end of the previous response: also how long an idle keep-alive connection stays
    /// open.
    pub header_read_timeout_secs: u64,
    /// The largest request head (request line and headers) in bytes; larger ones get 431.
    pub max_header_bytes: usize,
    /// Seconds a request body may send nothing before the request fails (408 for uploads, which
    /// keep the bytes that arrived, so the client can resume).
    pub body_idle_timeout_secs: u64,
    /// Seconds a shutdown waits for requests in flight after it stopped accepting connections;
    /// connections still open then are dropped.
    pub shutdown_grace_secs: u64,
    /// Upload sessions one principal (user or token, per instance) may have open at once; more
    /// are refused with 429 `TOOMANYREQUESTS` until some are finished or cancelled.
    pub max_upload_sessions_per_principal: usize,
    /// Upload sessions open at once, all principals together.
    pub max_upload_sessions: usize,
    /// Requests of one principal that write upload bodies at once (PATCH, PUT with a body,
    /// monolithic POST); more get 429 `TOOMANYREQUESTS`.
    pub max_uploads_in_flight_per_principal: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter, e.g. `info` or `berth_api=debug,info`.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Lets triggers target loopback, link-local, private, unspecified and multicast addresses.
    /// Off by default: otherwise anyone who may create a trigger can probe the internal network.
    pub allow_private_targets: bool,
    /// Attempts per delivery, the first included.
    pub max_attempts: u32,
    /// The wait before the second attempt; it doubles for each later one.
    pub backoff_base_millis: u64,
    /// The longest wait between two attempts.
    pub backoff_max_millis: u64,
    /// How long one attempt may take, connection included.
    pub timeout_secs: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            allow_private_targets: false,
            max_attempts: 5,
            backoff_base_millis: 1000,
            backoff_max_millis: 5 * 60 * 1000,
            timeout_secs: 10,
        }
    }
}

/// Private network access: internal endpoints and the private DNS zone (ARCHITECTURE.md,
/// "Private network access").
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Subnets an internal endpoint may name by id in `ReserveSubnetId`.
    pub subnets: Vec<SubnetConfig>,
    /// The `EniLBIp` of an endpoint whose `ReserveSubnetId` is a CIDR literal, when the address
    /// lies inside that CIDR; otherwise the CIDR's first host address is used.
    pub default_endpoint_ip: Option<IpAddr>,
    /// Client networks that reach every instance, restricted or not. Loopback by default, so
    /// the operator on the registry's own host is never locked out.
    pub always_allowed: Vec<IpNet>,
    /// Peers whose `X-Forwarded-For` is believed (reverse proxies, load balancers).
    pub trusted_proxies: Vec<IpNet>,
    /// `$TTL` of the private zones, and the SOA negative-caching time.
    pub zone_ttl_secs: u32,
    /// The name server named in the zones' SOA and NS records (absolute, with its final dot).
    pub zone_nameserver: String,
}

/// A subnet of a VPC in which berth is reachable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetConfig {
    pub id: String,
    pub vpc_id: String,
    pub cidr: IpNet,
    /// The address berth answers at inside the subnet.
    pub endpoint_ip: IpAddr,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            subnets: Vec::new(),
            default_endpoint_ip: None,
            always_allowed: vec![LOOPBACK_V4, LOOPBACK_V6],
            trusted_proxies: Vec::new(),
            zone_ttl_secs: 60,
            zone_nameserver: "localhost.".into(),
        }
    }
}

const LOOPBACK_V4: IpNet = IpNet::V4(ipnet::Ipv4Net::new_assert(
    std::net::Ipv4Addr::new(127, 0, 0, 0),
    8,
));
const LOOPBACK_V6: IpNet = IpNet::V6(ipnet::Ipv6Net::new_assert(
    std::net::Ipv6Addr::LOCALHOST,
    128,
));

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
            webhooks: WebhooksConfig::default(),
            network: NetworkConfig::default(),
            management: ManagementConfig::default(),
            scan: ScanConfig::default(),
            jobs: JobsConfig::default(),
            admission: Default::default(),
            metadata: MetadataConfig::default(),
            blobs: BlobsConfig::default(),
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
            hash_concurrency: 0,
            failed_logins_per_address: 10,
            failed_logins_per_user: 30,
            failed_login_window_secs: 60,
            login_limiter_entries: 100_000,
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
            max_connections: 4096,
            header_read_timeout_secs: 30,
            max_header_bytes: 32 << 10,
            body_idle_timeout_secs: 30,
            shutdown_grace_secs: 10,
            max_upload_sessions_per_principal: 1000,
            max_upload_sessions: 50_000,
            max_uploads_in_flight_per_principal: 64,
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
    Invalid {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error(transparent)]
    Admission(#[from] crate::admission::config::AdmissionConfigError),
    #[error("invalid value {value:?} for {name}: {reason}")]
    Env {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// A host name as DNS writes it: labels of letters, digits and inner hyphens, at most 63 bytes
/// each and 253 in all (RFC 1035 section 2.3.1, RFC 1123), with an optional final dot.
fn is_dns_name(name: &str) -> bool {
    let bare = name.strip_suffix('.').unwrap_or(name);
    !bare.is_empty()
        && bare.len() <= 253
        && bare.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl Config {
    /// Writes names the way they are compared: the base domain in lower case, without a final
    /// dot (DNS names are case-insensitive and may be written absolute).
    pub fn normalize(&mut self) {
        if let Some(d) = &mut self.management.base_domain {
            *d = d.trim_matches('.').to_ascii_lowercase();
        }
    }

    /// Checks the settings that end up in other formats (the private DNS zones).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name, value: &str, reason| ConfigError::Invalid {
            name,
            value: value.to_string(),
            reason,
        };
        if let Some(d) = &self.management.base_domain
            && !is_dns_name(d)
        {
            return Err(invalid(
                "management.base_domain",
                d,
                "not a DNS name (letters, digits and hyphens in dot-separated labels)",
            ));
        }
        let limits = &self.limits;
        for (name, value) in [
            ("limits.max_connections", limits.max_connections as u64),
            (
                "limits.header_read_timeout_secs",
                limits.header_read_timeout_secs,
            ),
            (
                "limits.body_idle_timeout_secs",
                limits.body_idle_timeout_secs,
            ),
            (
                "limits.max_upload_sessions_per_principal",
                limits.max_upload_sessions_per_principal as u64,
            ),
            (
                "limits.max_upload_sessions",
                limits.max_upload_sessions as u64,
            ),
            (
                "limits.max_uploads_in_flight_per_principal",
                limits.max_uploads_in_flight_per_principal as u64,
            ),
            ("jobs.lease_secs", self.jobs.lease_secs),
            ("jobs.poll_secs", self.jobs.poll_secs),
        ] {
            if value == 0 {
                return Err(invalid(name, "0", "must be at least 1"));
            }
        }
        // hyper cannot parse a request head in less than its minimum buffer.
        if limits.max_header_bytes < MIN_HEADER_BYTES {
            return Err(invalid(
                "limits.max_header_bytes",
                &limits.max_header_bytes.to_string(),
                "must be at least 8192",
            ));
        }
        let ns = &self.network.zone_nameserver;
        if !is_dns_name(ns) || !ns.ends_with('.') {
            return Err(invalid(
                "network.zone_nameserver",
                ns,
                "not an absolute DNS name (it must end with a dot)",
            ));
        }
        self.admission.validate()?;
        if let Err(reason) = self.metadata.engine() {
            let url = self.metadata.url.as_deref().unwrap_or_default();
            return Err(invalid("metadata.url", &backends::redacted(url), reason));
        }
        if let Err(reason) = self.blobs.engine() {
            return Err(invalid(
                "blobs.url",
                self.blobs.url.as_deref().unwrap_or_default(),
                reason,
            ));
        }
        if self.blobs.redirect && self.blobs.engine() != Ok(Engine::S3) {
            return Err(invalid(
                "blobs.redirect",
                "true",
                "needs an s3:// blobs.url (files have no URL to redirect to)",
            ));
        }
        Ok(())
    }

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
        if let Some(v) = get("BERTH_SCAN_ON_PUSH") {
            self.scan.on_push = parse("BERTH_SCAN_ON_PUSH", v)?;
        }
        if let Some(v) = get("BERTH_SCAN_DB_DIR") {
            self.scan.db_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = get("BERTH_WEBHOOK_ALLOW_PRIVATE") {
            self.webhooks.allow_private_targets = parse("BERTH_WEBHOOK_ALLOW_PRIVATE", v)?;
        }
        if let Some(v) = get("BERTH_BASE_DOMAIN") {
            self.management.base_domain = Some(v);
        }
        if let Some(v) = get("BERTH_REGIONS") {
            self.management.regions = v.split(',').map(|r| r.trim().to_string()).collect();
        }
        if let Some(v) = get("BERTH_LOG") {
            self.log.level = v;
        }
        if let Some(v) = get("BERTH_LOG_FORMAT") {
            self.log.format = v;
        }
        if let Some(v) = get("BERTH_METADATA_URL") {
            self.metadata.url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = get("BERTH_BLOBS_URL") {
            self.blobs.url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = get("BERTH_BLOBS_REDIRECT") {
            self.blobs.redirect = parse("BERTH_BLOBS_REDIRECT", v)?;
        }
        self.admission.apply_env(&get)?;
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
        assert!(!c.webhooks.allow_private_targets);
        c.apply_env(|k| (k == "BERTH_WEBHOOK_ALLOW_PRIVATE").then(|| "true".to_string()))
            .unwrap();
        assert!(c.webhooks.allow_private_targets);
        std::fs::write(&path, "bogus = 1\n").unwrap();
        assert!(matches!(
            Config::from_file(&path),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn names_written_into_zone_files_are_checked() {
        let mut c = Config::default();
        assert!(c.validate().is_ok());
        for good in ["registry.example.com", "a-b.c0", "example.com."] {
            c.management.base_domain = Some(good.into());
            assert!(c.validate().is_ok(), "{good}");
        }
        for bad in [
            "",
            "a..b",
            "-a.b",
            "a-.b",
            "a b",
            "a;b",
            "a\nb IN A 1.2.3.4",
            "é.com",
        ] {
            c.management.base_domain = Some(bad.into());
            assert!(
                matches!(c.validate(), Err(ConfigError::Invalid { .. })),
                "{bad:?}"
            );
        }
        c.management.base_domain = Some(format!("{}.com", "a".repeat(64)));
        assert!(c.validate().is_err());
        c.management.base_domain = None;
        c.network.zone_nameserver = "ns1.corp.example".into();
        assert!(c.validate().is_err(), "a relative name server");
        c.network.zone_nameserver = "ns1.corp.example.".into();
        assert!(c.validate().is_ok());
    }
}
