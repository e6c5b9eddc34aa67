//! Authentication and authorisation of the registry API.
//!
//! Clients authenticate with Basic credentials on any request, or with bearer tokens from the
//! Docker token flow (`/auth/token`). Password hashes (argon2id) are slow by design, so a verified
//! credential is remembered for a short time under an HMAC of it: the cache never holds a password
//! or anything that could be replayed without knowing it.
use crate::config::AuthConfig;
use crate::error::{ApiError, ApiResult, Code};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::{HeaderMap, header};
use base64::Engine as _;
use berth_store::{AccessToken, MetadataStore, User};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

const ISSUER: &str = "berth";
/// Concurrent argon2 verifications: each takes ~19 MiB and tens of milliseconds of CPU.
const MAX_CONCURRENT_HASHES: usize = 4;

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
    Failed(String),
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
    hashing: tokio::sync::Semaphore,
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

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
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
            hashing: tokio::sync::Semaphore::new(MAX_CONCURRENT_HASHES),
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
            Err(e) => match e.as_ref() {
                VerifyError::Rejected => Ok(None),
                VerifyError::Failed(msg) => Err(ApiError::new(Code::Internal, msg.clone())),
            },
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
        match (user, self.verify_hash(password, hash).await?) {
            (Some(user), true) => Ok(Arc::new(user)),
            _ => Err(VerifyError::Rejected),
        }
    }

    /// Verifies `password` against `hash`, or against the decoy when there is none, under the
    /// hashing semaphore.
    async fn verify_hash(&self, password: &str, hash: Option<String>) -> Result<bool, VerifyError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|_| VerifyError::Failed("shutting down".into()))?;
        let found = hash.is_some();
        let hash = hash.unwrap_or_else(|| decoy_hash().to_string());
        let pass = password.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&pass, &hash))
            .await
            .unwrap_or(false);
        Ok(found && ok)
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

    /// Checks an instance access token's credentials: `None` when they are not one.
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
                    .ok_or(VerifyError::Rejected)?;
                if self
                    .verify_hash(password, Some(token.secret_hash.clone()))
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
                VerifyError::Rejected => Ok(None),
                VerifyError::Failed(msg) => Err(ApiError::new(Code::Internal, msg.clone())),
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
