//! Console sessions and CSRF tokens.
//!
//! A session is a 256-bit random id in an `HttpOnly; SameSite=Strict` cookie (`Secure` when the
//! console is reached over TLS). Sessions live in the metadata store
//! (`berth_store::ConsoleSessionStore`), so every berth process on it (replicas behind a load
//! balancer) knows every session and a logout anywhere ends it everywhere; the store keeps only
//! the id's SHA-256, so a copy of the database logs nobody in. A session unused for
//! [`IDLE_SECS`] or older than [`MAX_AGE_SECS`] is gone; its last use is written at most once
//! per [`TOUCH_SECS`], so browsing costs one indexed read per page, not a write.
//!
//! Every POST form carries the session's CSRF token (a second random value, compared in
//! constant time); the login form, which has no session yet, carries the value of a short-lived
//! pre-login cookie instead (double submit). SameSite=Strict alone would stop cross-site posts
//! in current browsers; the token keeps the check independent of the browser.
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use berth_store::{ConsoleSession, MetadataStore, StoreError, now_millis};
use rand::RngCore;
use sha2::{Digest as _, Sha256};

pub const SESSION_COOKIE: &str = "berth_session";
pub const LOGIN_COOKIE: &str = "berth_login";
/// A session unused this long is gone.
pub const IDLE_SECS: u64 = 30 * 60;
/// A session is gone this long after login, used or not.
pub const MAX_AGE_SECS: u64 = 12 * 3600;
/// A session's last use is recorded when it is older than this.
pub const TOUCH_SECS: u64 = 60;

/// 256 random bits, base64url.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// What the store keys a session by: the SHA-256 of its id, lowercase hex.
fn hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

fn ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Starts a session for `username`; returns the cookie value (the only copy of the id).
pub async fn create(meta: &dyn MetadataStore, username: &str) -> Result<String, StoreError> {
    let now = now_millis();
    loop {
        let id = random_token();
        let session = ConsoleSession {
            id_hash: hash(&id),
            username: username.to_string(),
            csrf: random_token(),
            created_at: now,
            last_seen_at: now,
            expires_at: now.saturating_add(ms(MAX_AGE_SECS)),
        };
        // A taken hash (never, with 256 random bits) draws again rather than failing.
        if meta
            .create_console_session(&session, now, now - ms(IDLE_SECS))
            .await?
        {
            return Ok(id);
        }
    }
}

/// The live session a cookie value names, its use recorded.
pub async fn get(meta: &dyn MetadataStore, id: &str) -> Result<Option<ConsoleSession>, StoreError> {
    let now = now_millis();
    let h = hash(id);
    let Some(session) = meta.console_session(&h, now, now - ms(IDLE_SECS)).await? else {
        return Ok(None);
    };
    if now - session.last_seen_at >= ms(TOUCH_SECS) {
        meta.touch_console_session(&h, now).await?;
    }
    Ok(Some(session))
}

/// Ends the session the cookie value names, in every process.
pub async fn end(meta: &dyn MetadataStore, id: &str) -> Result<(), StoreError> {
    meta.delete_console_session(&hash(id)).await?;
    Ok(())
}

/// Compares two secrets without stopping at the first difference.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0 && !a.is_empty()
}

/// The value of cookie `name` in the request, if sent once (a cookie sent twice is ignored:
/// one of them was planted).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            let Some((k, v)) = pair.trim().split_once('=') else {
                continue;
            };
            if k == name {
                if found.is_some() {
                    return None;
                }
                found = Some(v);
            }
        }
    }
    found
}

/// Whether the browser reached the console over TLS: a `public_url` with `https`, or a proxy's
/// `X-Forwarded-Proto: https`. The cookie is then `Secure`.
pub fn over_tls(public_url: Option<&str>, headers: &HeaderMap) -> bool {
    public_url.is_some_and(|u| u.starts_with("https://"))
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value: `max_age` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{name}={value}; Path=/ui/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    // Names are constants and values base64url: always a valid header value.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, berth_store::SqliteMetadataStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = berth_store::SqliteMetadataStore::open(&dir.path().join("meta.db"))
            .await
            .unwrap();
        (dir, s)
    }

    #[tokio::test]
    async fn a_session_is_found_by_its_cookie_only_and_ends_on_logout() {
        let (_dir, meta) = store().await;
        let id = create(&meta, "alice").await.unwrap();
        let session = get(&meta, &id).await.unwrap().unwrap();
        assert_eq!(session.username, "alice");
        assert!(get(&meta, "not-the-id").await.unwrap().is_none());
        // The store keys by hash: the id itself is not what is kept.
        assert_ne!(session.id_hash, id);
        assert_eq!(session.id_hash, hash(&id));
        end(&meta, &id).await.unwrap();
        assert!(get(&meta, &id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn csrf_tokens_differ_per_session_and_must_match_exactly() {
        let (_dir, meta) = store().await;
        let a = get(&meta, &create(&meta, "a").await.unwrap())
            .await
            .unwrap()
            .unwrap();
        let b = get(&meta, &create(&meta, "a").await.unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_ne!(a.csrf, b.csrf);
        assert!(same_secret(&a.csrf, &a.csrf));
        assert!(!same_secret(&a.csrf, &b.csrf));
        assert!(!same_secret(&a.csrf, ""));
        assert!(!same_secret(&a.csrf, &a.csrf[..a.csrf.len() - 1]));
        assert!(!same_secret("", ""), "an empty secret never matches");
    }

    #[test]
    fn cookies_are_read_once_and_written_strict() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "x=1; berth_session=abc; y=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        h.append(header::COOKIE, "berth_session=planted".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), None, "a cookie sent twice");
        let c = set_cookie(SESSION_COOKIE, "v", 60, true);
        let c = c.to_str().unwrap();
        for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/ui/"] {
            assert!(c.contains(part), "{c}");
        }
        assert!(
            !set_cookie(SESSION_COOKIE, "v", 60, false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
        let mut fwd = HeaderMap::new();
        assert!(!over_tls(None, &fwd));
        assert!(over_tls(Some("https://r.example"), &fwd));
        fwd.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(over_tls(None, &fwd));
    }
}
