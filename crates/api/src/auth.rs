//! Authentication and authorisation of the registry API.
//!
//! Clients authenticate with Basic credentials on any request, or with bearer tokens from the
//! Docker token flow (`/auth/token`). Password hashes (argon2id) are slow by design, so a verified
//! credential is remembered for a short time under an HMAC of it: the cache never holds a password
//! or anything that could be replayed without knowing it.
//!
//! Checking a password costs 19 MiB and tens of milliseconds, so it is what an attacker who has
//! no password can make the server do: checks run a few at a time, in memory that is reused
//! rather than allocated per check, and failed logins are rate-limited per client address and
//! per username (429 before any hashing).
use crate::config::AuthConfig;
use crate::error::{ApiError, ApiResult, Code};
use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, Block};
use axum::http::{HeaderMap, header};
use base64::Engine as _;
use berth_store::{AccessToken, MetadataStore, User};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ISSUER: &str = "berth";
/// How long a successful login marks its (user, address) pair as known, exempting it from the
/// per-user limit: long enough to cover a working day's token refreshes.
const KNOWN_LOGIN_SECS: u64 = 24 * 3600;

tokio::task_local! {
    /// The client address of the request being served (the TCP peer, or the forwarded client
    /// behind a trusted proxy), which failed logins count against. Set by each surface that
    /// accepts credentials; unset, only the per-user limit applies.
    static CLIENT: Option<IpAddr>;
}

/// Runs `f` with failed logins counted against `client`.
pub(crate) async fn for_client<F: std::future::Future>(client: Option<IpAddr>, f: F) -> F::Output {
    CLIENT.scope(client, f).await
}

fn current_client() -> Option<IpAddr> {
    CLIENT.try_with(|c| *c).ok().flatten()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pull,
    Push,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }
}

/// Who a bearer token was issued to, as far as authorisation cares. A token grants the
/// intersection of the access it lists and what its subject may do at the time of each use:
/// an anonymous subject's pulls follow the namespace's current visibility, so a namespace made
/// private stops a token minted while it was public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// No credentials. Also what a token without the claim is taken for: the least access.
    #[default]
    Anonymous,
    /// A user without administrator rights: pulls from public namespaces.
    User,
    /// An administrator of the instance.
    Admin,
    /// An instance access token (CreateInstanceToken): its whole instance.
    Instance,
}

impl Role {
    /// Whether this subject may do `action` in a namespace that is `public` or not.
    pub fn may(self, config: &AuthConfig, public: bool, action: Action) -> bool {
        match self {
            Role::Admin | Role::Instance => true,
            Role::User => action == Action::Pull && public,
            Role::Anonymous => match action {
                Action::Pull => public,
                Action::Push => config.anonymous_push,
                Action::Delete => false,
            },
        }
    }
}

/// One entry of a token's `access` claim, as in the Docker token specification.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: String,
    /// The instance the token is valid for.
    pub ins: String,
    /// The subject's role when the token was issued: it only narrows `access`, never widens it.
    #[serde(default)]
    pub role: Role,
    pub access: Vec<AccessEntry>,
    /// The instance access token the subject logged in with, checked again on every use so that
    /// disabling or deleting it takes effect at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
}

impl Claims {
    /// Whether the token lists `action` on `repository`.
    fn lists(&self, repository: &str, action: Action) -> bool {
        self.access.iter().any(|a| {
            a.kind == "repository"
                && a.name == repository
                && a.actions.iter().any(|x| x == action.as_str() || x == "*")
        })
    }

    /// Whether the token lists `registry:catalog:*` (distribution's scope for the catalog).
    fn lists_catalog(&self) -> bool {
        self.access.iter().any(|a| {
            a.kind == "registry" && a.name == "catalog" && a.actions.iter().any(|x| x == "*")
        })
    }
}

/// Why a credential was not verified; rejections are not cached.
#[derive(Debug)]
enum VerifyError {
    Rejected,
    /// A token-form username that names no access token of the instance (it may be a user's).
    NoSuchToken,
    /// Too many failed logins from the client's address or for the username: retry after
    /// this many seconds.
    Limited(u64),
    Failed(String),
}

impl VerifyError {
    /// The API error for a credential that was not verified (`None`: wrong credentials).
    fn to_api(&self) -> Option<ApiError> {
        match self {
            VerifyError::Rejected | VerifyError::NoSuchToken => None,
            VerifyError::Limited(secs) => Some(
                ApiError::new(
                    Code::TooManyRequests,
                    format!("too many failed logins; retry in {secs} s"),
                )
                .with_header(header::RETRY_AFTER, &secs.to_string()),
            ),
            VerifyError::Failed(msg) => Some(ApiError::new(Code::Internal, msg.clone())),
        }
    }
}

/// Who is making a request.
#[derive(Debug, Clone)]
pub enum Principal {
    Anonymous,
    /// A user authenticated with Basic credentials.
    User {
        username: String,
        admin: bool,
    },
    /// A bearer token: exactly the access it lists.
    Token(Arc<Claims>),
    /// An instance access token (CreateInstanceToken): full access to its own instance.
    InstanceToken(Arc<AccessToken>),
}

impl Principal {
    pub fn name(&self) -> &str {
        match self {
            Principal::Anonymous => "",
            Principal::User { username, .. } => username,
            Principal::Token(c) => &c.sub,
            Principal::InstanceToken(t) => &t.username,
        }
    }

    /// The instance access token behind the principal, if any.
    pub fn token_id(&self) -> Option<&str> {
        match self {
            Principal::InstanceToken(t) => Some(&t.id),
            Principal::Token(c) => c.tid.as_deref(),
            _ => None,
        }
    }

    /// The principal's role; for a bearer token, its subject's when it was issued.
    pub fn role(&self) -> Role {
        match self {
            Principal::Anonymous => Role::Anonymous,
            Principal::User { admin: true, .. } => Role::Admin,
            Principal::User { admin: false, .. } => Role::User,
            Principal::Token(c) => c.role,
            Principal::InstanceToken(_) => Role::Instance,
        }
    }

    /// Whether the principal holds the whole instance itself (mounts without `from`, the
    /// catalog): an administrator's Basic credentials or an instance access token. A bearer
    /// token never does, whoever it was issued to: it holds exactly the scopes it lists.
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Principal::User { admin: true, .. } | Principal::InstanceToken(_)
        )
    }

    /// Whether the principal may list the catalog: an administrator, or a token issued to one
    /// for `registry:catalog:*`.
    pub fn may_list_catalog(&self) -> bool {
        match self {
            Principal::Token(c) => {
                c.lists_catalog() && matches!(c.role, Role::Admin | Role::Instance)
            }
            other => other.is_admin(),
        }
    }

    /// Whether the principal may do `action` on `repository`, whose namespace is `public` or not.
    /// A bearer token needs the action in its scopes, and its subject must still be allowed it.
    pub fn may(&self, config: &AuthConfig, repository: &str, public: bool, action: Action) -> bool {
        let listed = match self {
            Principal::Token(c) => c.lists(repository, action),
            _ => true,
        };
        listed && self.role().may(config, public, action)
    }
}

pub struct Auth {
    config: AuthConfig,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Keys the credential cache: HMAC-SHA256 under a key derived from the server secret.
    cache_mac: Hmac<Sha256>,
    /// Verified credentials. Concurrent first uses of one credential wait for a single
    /// verification (`try_get_with` coalesces them), so an expiry under load costs one argon2
    /// run, not one per connection.
    verified: moka::future::Cache<[u8; 32], Arc<User>>,
    /// Verified instance access tokens, the same way; entries go when the token changes.
    verified_tokens: moka::future::Cache<[u8; 32], Arc<AccessToken>>,
    /// The state of a token id (for bearer tokens minted from it); usability (enabled, not
    /// expired) is judged on every use, so an expiry takes effect at once.
    live_tokens: moka::future::Cache<String, Option<Arc<AccessToken>>>,
    /// Bumped by every token change: a verification that read a token before the change and
    /// lands in a cache after its invalidation is dropped again (moka's invalidations only
    /// reach entries inserted before them).
    token_generation: std::sync::atomic::AtomicU64,
    hasher: Hasher,
    limiter: LoginLimiter,
}

/// Runs argon2 verifications a few at a time, each in a memory buffer taken from a pool.
/// argon2 fills `m_cost` KiB (19 MiB for berth's hashes) per check; allocated per check, that
/// memory stayed with the allocator's per-thread arenas, so a few hundred wrong passwords left
/// the process a GiB larger. At most one buffer per permit ever exists, and they are reused.
struct Hasher {
    permits: Arc<tokio::sync::Semaphore>,
    pool: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl Hasher {
    fn new(concurrency: usize) -> Hasher {
        let n = match concurrency {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        Hasher {
            permits: Arc::new(tokio::sync::Semaphore::new(n)),
            pool: Arc::new(Mutex::new(Vec::with_capacity(n))),
        }
    }

    /// Whether `password` matches the PHC string `hash`.
    async fn verify(&self, password: &str, hash: String) -> Result<bool, VerifyError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| VerifyError::Failed("shutting down".into()))?;
        let pool = self.pool.clone();
        let pass = password.to_string();
        // The permit and the buffer live in the blocking task: a client that disconnects drops
        // this future, not the check, so neither is freed before the hash is done (else every
        // dropped login would start another 19 MiB check beside the ones still running).
        let checked = tokio::task::spawn_blocking(move || {
            // Holding a permit, there is a buffer in the pool or fewer buffers than permits.
            let mut memory = lock(&pool).pop().unwrap_or_default();
            let ok = verify_with_memory(&pass, &hash, &mut memory);
            lock(&pool).push(memory);
            drop(permit);
            ok
        })
        .await;
        checked.map_err(|e| VerifyError::Failed(format!("password check failed: {e}")))
    }
}

/// The lock's data even if a holder panicked: the pool and the buckets stay consistent (every
/// update is a single assignment).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A token bucket: `burst` failures, refilled continuously at `burst` per window. A bucket left
/// alone for a whole window is full again, so buckets are forgotten when idle that long.
struct Bucket {
    tokens: f64,
    at: Instant,
}

type Buckets<K> = moka::sync::Cache<K, Arc<Mutex<Bucket>>>;

/// Failed-login limits per client address and per username. An attempt takes a token from both
/// buckets before its password is checked (so a burst of concurrent attempts is limited too,
/// not only failures already seen), and a successful one gives them back.
struct LoginLimiter {
    per_address: u32,
    per_user: u32,
    window: Duration,
    addresses: Buckets<IpAddr>,
    users: Buckets<[u8; 32]>,
    /// (user, address) pairs with a recent successful login: exempt from the per-user limit.
    known: moka::sync::Cache<[u8; 32], ()>,
}

/// The tokens an attempt took, given back when its password was right.
struct Reservation {
    buckets: Vec<(Arc<Mutex<Bucket>>, u32)>,
}

impl LoginLimiter {
    fn new(config: &AuthConfig) -> LoginLimiter {
        let window = Duration::from_secs(config.failed_login_window_secs.max(1));
        let entries = config.login_limiter_entries.max(1);
        LoginLimiter {
            per_address: config.failed_logins_per_address,
            per_user: config.failed_logins_per_user,
            window,
            addresses: moka::sync::Cache::builder()
                .max_capacity(entries)
                .time_to_idle(window)
                .build(),
            users: moka::sync::Cache::builder()
                .max_capacity(entries)
                .time_to_idle(window)
                .build(),
            known: moka::sync::Cache::builder()
                .max_capacity(entries)
                .time_to_live(Duration::from_secs(KNOWN_LOGIN_SECS))
                .build(),
        }
    }

    /// Takes one token from `bucket`, or tells how long until one is there.
    fn take(&self, bucket: &Mutex<Bucket>, burst: u32) -> Result<(), Duration> {
        let burst = f64::from(burst);
        let rate = burst / self.window.as_secs_f64();
        let now = Instant::now();
        let mut b = lock(bucket);
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }

    fn bucket<K>(cache: &Buckets<K>, key: K, burst: u32) -> Arc<Mutex<Bucket>>
    where
        K: std::hash::Hash + Eq + Send + Sync + 'static,
    {
        cache.get_with(key, || {
            Arc::new(Mutex::new(Bucket {
                tokens: f64::from(burst),
                at: Instant::now(),
            }))
        })
    }

    /// Takes a token for an attempt from `client` as `user` (both keys derived by the caller;
    /// `pair` is the (user, address) key), or answers how many seconds to wait.
    fn reserve(
        &self,
        client: Option<IpAddr>,
        user: [u8; 32],
        pair: Option<[u8; 32]>,
    ) -> Result<Reservation, u64> {
        let mut taken = Reservation {
            buckets: Vec::new(),
        };
        let mut wanted = Vec::new();
        if self.per_address > 0
            && let Some(ip) = client
        {
            wanted.push((
                Self::bucket(&self.addresses, address_key(ip), self.per_address),
                self.per_address,
            ));
        }
        let known = pair.is_some_and(|p| self.known.contains_key(&p));
        if self.per_user > 0 && !known {
            wanted.push((
                Self::bucket(&self.users, user, self.per_user),
                self.per_user,
            ));
        }
        for (bucket, burst) in wanted {
            match self.take(&bucket, burst) {
                Ok(()) => taken.buckets.push((bucket, burst)),
                Err(wait) => {
                    self.refund(taken);
                    return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
                }
            }
        }
        Ok(taken)
    }

    /// Gives back what an attempt took (its password was right, or the check itself failed).
    fn refund(&self, taken: Reservation) {
        for (bucket, burst) in taken.buckets {
            let mut b = lock(&bucket);
            b.tokens = (b.tokens + 1.0).min(f64::from(burst));
        }
    }
}

/// The key an address is limited under: IPv4 addresses one by one, IPv6 by /64 (what one
/// subscriber usually holds, so rotating through it gains nothing).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Instance access token usernames are `token-<12 hex>` (CreateInstanceToken).
pub(crate) const TOKEN_USERNAME_PREFIX: &str = "token-";

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Hashes a password for storage (argon2id, random salt, PHC string).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// A hash of nothing anyone knows, verified against when the username is unknown or disabled,
/// so that the answer takes as long as for a real account (no probing for usernames by time).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&uuid::Uuid::new_v4().to_string()).unwrap_or_default())
}

/// Whether `password` matches the PHC string `hash`, computed in `memory` (grown to the hash's
/// memory cost if it is smaller, never shrunk: it is reused for the next check). What
/// `PasswordVerifier::verify_password` does, without its allocation of the whole memory.
fn verify_with_memory(password: &str, hash: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    let mut out = [0u8; Output::MAX_LENGTH];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        out,
        &mut memory[..blocks],
    );
    // `Output`'s equality is constant-time.
    computed.is_ok() && Output::new(out).is_ok_and(|o| o == expected)
}

/// Parses `Authorization: Basic ...`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

impl Auth {
    /// `secret` signs tokens and keys the credential cache; it is kept in the metadata store so
    /// that every berth process shares it.
    pub fn new(config: AuthConfig, secret: &[u8]) -> Auth {
        let ttl = Duration::from_secs(config.credential_cache_secs.max(1));
        Auth {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            // A block-sized key (SHA-512 of the secret) makes the HMAC constructor infallible.
            cache_mac: <Hmac<Sha256> as hmac::digest::KeyInit>::new(&sha2::Sha512::digest(secret)),
            verified: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
            verified_tokens: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
            live_tokens: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
            token_generation: std::sync::atomic::AtomicU64::new(0),
            hasher: Hasher::new(config.hash_concurrency),
            limiter: LoginLimiter::new(&config),
            config,
        }
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    fn cache_key_for(&self, user: &str, password: &str) -> [u8; 32] {
        let mut mac = self.cache_mac.clone();
        mac.update(user.as_bytes());
        mac.update(b"\0");
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Checks a username and password; `None` when they are wrong or the user is disabled.
    pub async fn verify_user(
        &self,
        meta: &dyn MetadataStore,
        username: &str,
        password: &str,
    ) -> ApiResult<Option<Arc<User>>> {
        let key = self.cache_key_for(username, password);
        let verified = self
            .verified
            .try_get_with(key, self.verify_uncached(meta, username, password))
            .await;
        match verified {
            Ok(user) => Ok(Some(user)),
            Err(e) => e.to_api().map_or(Ok(None), Err),
        }
    }

    async fn verify_uncached(
        &self,
        meta: &dyn MetadataStore,
        username: &str,
        password: &str,
    ) -> Result<Arc<User>, VerifyError> {
        let user = meta
            .get_user(username)
            .await
            .map_err(|e| VerifyError::Failed(e.to_string()))?
            .filter(|u| !u.disabled);
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        match (user, self.verify_hash(username, password, hash).await?) {
            (Some(user), true) => Ok(Arc::new(user)),
            _ => Err(VerifyError::Rejected),
        }
    }

    /// A key for `parts` under the server secret (fixed size, whatever the client sent).
    fn key_of(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.cache_mac.clone();
        for p in parts {
            mac.update(p);
            mac.update(b"\0");
        }
        mac.finalize().into_bytes().into()
    }

    /// Verifies `password` for `username` against `hash`, or against the decoy when there is
    /// none: within the failed-login limits of the request's client address and of the
    /// username, then under the hashing semaphore.
    async fn verify_hash(
        &self,
        username: &str,
        password: &str,
        hash: Option<String>,
    ) -> Result<bool, VerifyError> {
        let client = current_client();
        let user_key = self.key_of(&[b"limit-user", username.as_bytes()]);
        let pair_key = client.map(|ip| {
            self.key_of(&[
                b"known-login",
                username.as_bytes(),
                address_key(ip).to_string().as_bytes(),
            ])
        });
        // A credential that was right before is checked whatever the limits say: a client that
        // shares its address (a NAT, a CI runner, loopback) with someone guessing passwords must
        // not be locked out each time its cached verification expires. Only the right password
        // makes this key, so guesses never take this path.
        let credential = self.key_of(&[
            b"known-credential",
            username.as_bytes(),
            password.as_bytes(),
        ]);
        let reservation = if self.limiter.known.contains_key(&credential) {
            None
        } else {
            Some(
                self.limiter
                    .reserve(client, user_key, pair_key)
                    .map_err(|secs| {
                        tracing::warn!(
                            client = ?client,
                            user = username,
                            "failed-login limit reached"
                        );
                        VerifyError::Limited(secs)
                    })?,
            )
        };
        let found = hash.is_some();
        let hash = hash.unwrap_or_else(|| decoy_hash().to_string());
        let ok = match self.hasher.verify(password, hash).await {
            Ok(ok) => found && ok,
            Err(e) => {
                if let Some(r) = reservation {
                    self.limiter.refund(r);
                }
                return Err(e);
            }
        };
        if ok {
            if let Some(r) = reservation {
                self.limiter.refund(r);
            }
            if let Some(pair) = pair_key {
                self.limiter.known.insert(pair, ());
            }
            self.limiter.known.insert(credential, ());
        }
        Ok(ok)
    }

    /// Drops everything remembered about an instance access token (after a change to it).
    pub fn forget_access_token(&self, token_id: &str) {
        self.token_generation.fetch_add(1, Ordering::SeqCst);
        let id = token_id.to_string();
        if let Err(e) = self
            .verified_tokens
            .invalidate_entries_if(move |_, t| t.id == id)
        {
            tracing::error!(error = %e, "cannot invalidate cached access tokens");
            self.verified_tokens.invalidate_all();
        }
        self.live_tokens.invalidate_all();
    }

    /// Drops everything remembered about every instance access token (notices were missed).
    pub fn forget_all_tokens(&self) {
        self.token_generation.fetch_add(1, Ordering::SeqCst);
        self.verified_tokens.invalidate_all();
        self.live_tokens.invalidate_all();
    }

    /// Checks an instance access token's credentials: `None` when the username names no token.
    async fn verify_access_token(
        &self,
        meta: &dyn MetadataStore,
        instance_id: &str,
        username: &str,
        password: &str,
    ) -> ApiResult<Option<Arc<AccessToken>>> {
        let mut mac = self.cache_mac.clone();
        mac.update(b"token\0");
        mac.update(instance_id.as_bytes());
        mac.update(b"\0");
        mac.update(username.as_bytes());
        mac.update(b"\0");
        mac.update(password.as_bytes());
        let key: [u8; 32] = mac.finalize().into_bytes().into();
        let generation = self.token_generation.load(Ordering::SeqCst);
        let verified = self
            .verified_tokens
            .try_get_with(key, async {
                let token = meta
                    .access_token_by_username(instance_id, username)
                    .await
                    .map_err(|e| VerifyError::Failed(e.to_string()))?
                    .ok_or(VerifyError::NoSuchToken)?;
                if self
                    .verify_hash(username, password, Some(token.secret_hash.clone()))
                    .await?
                {
                    Ok(Arc::new(token))
                } else {
                    Err(VerifyError::Rejected)
                }
            })
            .await;
        if self.token_generation.load(Ordering::SeqCst) != generation {
            self.verified_tokens.invalidate(&key).await;
        }
        match verified {
            Ok(token) => Ok(Some(token)),
            Err(e) => match e.as_ref() {
                VerifyError::NoSuchToken => Ok(None),
                // The token exists: its secret was wrong, and no user is tried with the same
                // credentials (that would cost a second password check).
                VerifyError::Rejected => Err(ApiError::new(
                    Code::Unauthorized,
                    "invalid username or password",
                )),
                other => Err(other.to_api().unwrap_or_else(|| {
                    ApiError::new(Code::Unauthorized, "invalid username or password")
                })),
            },
        }
    }

    /// Whether the access token a bearer token was minted from is still enabled and unexpired.
    async fn access_token_alive(
        &self,
        meta: &dyn MetadataStore,
        instance_id: &str,
        token_id: &str,
    ) -> ApiResult<bool> {
        let generation = self.token_generation.load(Ordering::SeqCst);
        let state = self
            .live_tokens
            .try_get_with(token_id.to_string(), async {
                meta.get_access_token(instance_id, token_id)
                    .await
                    .map(|t| t.map(Arc::new))
            })
            .await;
        if self.token_generation.load(Ordering::SeqCst) != generation {
            self.live_tokens.invalidate(token_id).await;
        }
        let state = state.map_err(|e| ApiError::new(Code::Internal, e.to_string()))?;
        Ok(state.is_some_and(|t| token_usable(&t)))
    }

    /// Identifies the caller. Wrong credentials are an error; no credentials are `Anonymous`.
    pub async fn authenticate(
        &self,
        meta: &dyn MetadataStore,
        headers: &HeaderMap,
        instance_id: &str,
    ) -> ApiResult<Principal> {
        if let Some(token) = bearer_token(headers) {
            let claims = self.verify_token(token, instance_id)?;
            if let Some(tid) = &claims.tid
                && !self.access_token_alive(meta, instance_id, tid).await?
            {
                return Err(ApiError::new(
                    Code::Unauthorized,
                    "the access token is disabled, expired or deleted",
                ));
            }
            return Ok(Principal::Token(Arc::new(claims)));
        }
        if let Some((user, pass)) = basic_credentials(headers) {
            // Only names of the token form are looked up as tokens: a user's login costs no
            // token lookup (a miss is not cached, so it would cost one per request).
            let token = if user.starts_with(TOKEN_USERNAME_PREFIX) {
                self.verify_access_token(meta, instance_id, &user, &pass)
                    .await?
            } else {
                None
            };
            if let Some(token) = token {
                if !token_usable(&token) {
                    return Err(ApiError::new(
                        Code::Unauthorized,
                        "the access token is disabled or expired",
                    ));
                }
                return Ok(Principal::InstanceToken(token));
            }
            return match self.verify_user(meta, &user, &pass).await? {
                Some(u) => Ok(Principal::User {
                    username: u.username.clone(),
                    admin: u.is_admin,
                }),
                None => Err(ApiError::new(
                    Code::Unauthorized,
                    "invalid username or password",
                )),
            };
        }
        if headers.contains_key(header::AUTHORIZATION) {
            return Err(ApiError::new(
                Code::Unauthorized,
                "unsupported authorization scheme",
            ));
        }
        Ok(Principal::Anonymous)
    }

    pub fn issue_token(
        &self,
        subject: &str,
        instance_id: &str,
        role: Role,
        access: Vec<AccessEntry>,
        token_id: Option<String>,
    ) -> ApiResult<(String, u64, u64)> {
        let now = now_secs();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: subject.into(),
            aud: self.config.service.clone(),
            exp: now + self.config.token_ttl_secs,
            nbf: now.saturating_sub(1),
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            ins: instance_id.into(),
            role,
            access,
            tid: token_id,
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
                .map_err(|e| ApiError::new(Code::Internal, format!("cannot sign token: {e}")))?;
        Ok((token, self.config.token_ttl_secs, now))
    }

    fn verify_token(&self, token: &str, instance_id: &str) -> ApiResult<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[&self.config.service]);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|e| ApiError::new(Code::Unauthorized, format!("invalid token: {e}")))?;
        if data.claims.ins != instance_id {
            return Err(ApiError::new(
                Code::Unauthorized,
                "token is for another instance",
            ));
        }
        Ok(data.claims)
    }
}

/// Enabled and not past its expiry.
pub fn token_usable(token: &AccessToken) -> bool {
    token.enabled
        && token
            .expires_at
            .is_none_or(|at| at > berth_store::now_millis())
}

/// Parses a token request's `scope` values: `repository:NAME:ACTIONS` and `registry:catalog:*`.
pub fn parse_scopes<'a>(values: impl Iterator<Item = &'a str>) -> Vec<AccessEntry> {
    let mut out = Vec::new();
    for value in values {
        for scope in value.split(' ').filter(|s| !s.is_empty()) {
            let mut parts = scope.splitn(2, ':');
            let (Some(kind), Some(rest)) = (parts.next(), parts.next()) else {
                continue;
            };
            // The name may contain ':' only in the resource-type-with-class form; actions follow
            // the last ':'.
            let Some((name, actions)) = rest.rsplit_once(':') else {
                continue;
            };
            let kind = kind.split('(').next().unwrap_or(kind);
            out.push(AccessEntry {
                kind: kind.to_string(),
                name: name.to_string(),
                actions: actions.split(',').map(str::to_string).collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verify_password(password: &str, hash: &str) -> bool {
        verify_with_memory(password, hash, &mut Vec::new())
    }

    #[test]
    fn the_decoy_is_a_real_argon2_hash_no_password_matches() {
        let decoy = PasswordHash::new(decoy_hash()).unwrap();
        assert_eq!(decoy.algorithm.as_str(), "argon2id");
        let real = hash_password("pw").unwrap();
        let real = PasswordHash::new(&real).unwrap();
        // Same cost as a stored hash, so a miss takes as long as a wrong password.
        assert_eq!(decoy.params, real.params);
        for guess in ["", "pw", "admin"] {
            assert!(!verify_password(guess, decoy_hash()));
        }
    }

    #[test]
    fn scopes() {
        let s = parse_scopes(
            [
                "repository:team/app:pull,push",
                "registry:catalog:* repository:a:pull",
            ]
            .into_iter(),
        );
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].name, "team/app");
        assert_eq!(s[0].actions, ["pull", "push"]);
        assert_eq!(s[1].kind, "registry");
        assert_eq!(s[2].name, "a");
        assert!(parse_scopes(["garbage"].into_iter()).is_empty());
    }

    #[test]
    fn passwords_and_tokens() {
        let h = hash_password("s3cret").unwrap();
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("s3cret", "not a hash"));
        assert!(!verify_password(
            "s3cret",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ"
        ));
        let auth = Auth::new(AuthConfig::default(), b"0123456789abcdef0123456789abcdef");
        let access = vec![AccessEntry {
            kind: "repository".into(),
            name: "a".into(),
            actions: vec!["pull".into()],
        }];
        let (t, ttl, _) = auth
            .issue_token("admin", "inst", Role::Admin, access.clone(), None)
            .unwrap();
        assert_eq!(ttl, 300);
        let claims = auth.verify_token(&t, "inst").unwrap();
        assert_eq!(claims.access, access);
        assert_eq!(claims.role, Role::Admin);
        assert!(auth.verify_token(&t, "other").is_err());
        assert!(auth.verify_token("garbage", "inst").is_err());
        let other = Auth::new(AuthConfig::default(), b"another secret of sufficient len");
        assert!(other.verify_token(&t, "inst").is_err());
    }

    #[test]
    fn pooled_memory_verifies_like_the_reference_and_is_reused() {
        use argon2::password_hash::PasswordVerifier as _;
        let mut memory = Vec::new();
        for password in ["s3cret", "", "pässwörd"] {
            let h = hash_password(password).unwrap();
            let parsed = PasswordHash::new(&h).unwrap();
            for guess in [password, "wrong"] {
                let reference = Argon2::default()
                    .verify_password(guess.as_bytes(), &parsed)
                    .is_ok();
                assert_eq!(verify_with_memory(guess, &h, &mut memory), reference);
            }
        }
        // The buffer has exactly the default cost's blocks: it was allocated once.
        assert_eq!(memory.len(), argon2::Params::default().block_count());
        // Other parameters and versions are read from the hash, the buffer grown if needed.
        let params = argon2::Params::new(32 * 1024, 1, 2, Some(16)).unwrap();
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        for version in [argon2::Version::V0x10, argon2::Version::V0x13] {
            let h = Argon2::new(argon2::Algorithm::Argon2i, version, params.clone())
                .hash_password(b"x", &salt)
                .unwrap()
                .to_string();
            assert!(verify_with_memory("x", &h, &mut memory), "{h}");
            assert!(!verify_with_memory("y", &h, &mut memory));
        }
        assert_eq!(memory.len(), 32 * 1024);
    }

    #[tokio::test]
    async fn the_hasher_keeps_at_most_one_buffer_per_permit() {
        let hasher = Arc::new(Hasher::new(2));
        let h = hash_password("pw").unwrap();
        let checks = (0..8).map(|i| {
            let hasher = hasher.clone();
            let h = h.clone();
            tokio::spawn(async move { hasher.verify(&format!("guess{i}"), h).await })
        });
        for c in futures::future::join_all(checks).await {
            assert!(!c.unwrap().unwrap());
        }
        assert!(hasher.verify("pw", h).await.unwrap());
        assert!(lock(&hasher.pool).len() <= 2);
    }

    fn limiter(per_address: u32, per_user: u32) -> LoginLimiter {
        LoginLimiter::new(&AuthConfig {
            failed_logins_per_address: per_address,
            failed_logins_per_user: per_user,
            failed_login_window_secs: 60,
            ..AuthConfig::default()
        })
    }

    #[test]
    fn the_limiter_allows_a_burst_then_answers_when_to_retry() {
        let l = limiter(3, 100);
        let ip: IpAddr = "203.0.113.1".parse().unwrap();
        for i in 0..3u8 {
            assert!(l.reserve(Some(ip), [i; 32], None).is_ok());
        }
        // 3 per 60 s: one more in 20 s.
        let wait = l.reserve(Some(ip), [9; 32], None).err().unwrap();
        assert!((19..=20).contains(&wait), "{wait}");
        // Another address is not affected, and neither is an unknown one.
        assert!(
            l.reserve(Some("203.0.113.2".parse().unwrap()), [9; 32], None)
                .is_ok()
        );
        assert!(l.reserve(None, [9; 32], None).is_ok());
        // A refunded attempt (a right password) costs nothing.
        let l = limiter(1, 100);
        let r = l.reserve(Some(ip), [0; 32], None).unwrap();
        l.refund(r);
        assert!(l.reserve(Some(ip), [0; 32], None).is_ok());
        assert!(l.reserve(Some(ip), [0; 32], None).is_err());
    }

    #[test]
    fn the_limiter_counts_ipv6_by_64_and_users_across_addresses() {
        let l = limiter(1, 2);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert!(l.reserve(Some(a), [1; 32], None).is_ok());
        assert!(l.reserve(Some(b), [2; 32], None).is_err(), "same /64");
        assert!(
            l.reserve(Some("2001:db8:1:3::1".parse().unwrap()), [3; 32], None)
                .is_ok()
        );
        // A user's allowance spans addresses; a known pair is exempt from it.
        let l = limiter(10, 2);
        for i in 1..=2u8 {
            let ip = IpAddr::from([198, 51, 100, i]);
            assert!(l.reserve(Some(ip), [7; 32], None).is_ok());
        }
        let fresh = IpAddr::from([198, 51, 100, 3]);
        assert!(l.reserve(Some(fresh), [7; 32], Some([8; 32])).is_err());
        l.known.insert([8; 32], ());
        assert!(l.reserve(Some(fresh), [7; 32], Some([8; 32])).is_ok());
        // A refused attempt gives back what it took from the address's bucket.
        let l = limiter(1, 1);
        assert!(l.reserve(Some(fresh), [5; 32], None).is_ok());
        let other = IpAddr::from([198, 51, 100, 4]);
        assert!(l.reserve(Some(other), [5; 32], None).is_err());
        assert!(l.reserve(Some(other), [6; 32], None).is_ok());
    }

    #[test]
    fn a_token_grants_its_scopes_within_its_subjects_current_rights() {
        let config = AuthConfig::default();
        let token = |role, actions: &[&str]| {
            Principal::Token(Arc::new(Claims {
                iss: ISSUER.into(),
                sub: String::new(),
                aud: "berth".into(),
                exp: 0,
                nbf: 0,
                iat: 0,
                jti: String::new(),
                ins: "i".into(),
                role,
                access: vec![AccessEntry {
                    kind: "repository".into(),
                    name: "pub/app".into(),
                    actions: actions.iter().map(|a| a.to_string()).collect(),
                }],
                tid: None,
            }))
        };
        let anon = token(Role::Anonymous, &["pull"]);
        assert!(anon.may(&config, "pub/app", true, Action::Pull));
        assert!(
            !anon.may(&config, "pub/app", false, Action::Pull),
            "turned private"
        );
        assert!(
            !anon.may(&config, "pub/other", true, Action::Pull),
            "not in scope"
        );
        let admin = token(Role::Admin, &["pull"]);
        assert!(admin.may(&config, "pub/app", false, Action::Pull));
        assert!(!admin.may(&config, "pub/app", false, Action::Push));
        assert!(
            !admin.is_admin(),
            "a token holds its scopes, not the instance"
        );
        assert!(!admin.may_list_catalog());
        let user = token(Role::User, &["pull", "push"]);
        assert!(!user.may(&config, "pub/app", true, Action::Push));
        assert!(
            Principal::User {
                username: "admin".into(),
                admin: true
            }
            .may_list_catalog()
        );
    }
}
