//! Console sessions and CSRF tokens.
//!
//! A session is a 256-bit random id in an `HttpOnly; SameSite=Strict` cookie (`Secure` when the
//! console is reached over TLS). The server keeps only the id's SHA-256, so a memory dump holds
//! no usable cookie, with the user's name and the session's CSRF token; a session idle for
//! [`IDLE_SECS`] or older than [`MAX_AGE_SECS`] is gone. Sessions live in this process's
//! memory: a restart logs everybody out, which is the safe failure.
//!
//! Every POST form carries the session's CSRF token (a second random value, compared in
//! constant time); the login form, which has no session yet, carries the value of a short-lived
//! pre-login cookie instead (double submit). SameSite=Strict alone would stop cross-site posts
//! in current browsers; the token keeps the check independent of the browser.
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest as _, Sha256};

pub const SESSION_COOKIE: &str = "berth_session";
pub const LOGIN_COOKIE: &str = "berth_login";
/// A session unused this long is forgotten.
pub const IDLE_SECS: u64 = 30 * 60;
/// A session is forgotten this long after login, used or not.
pub const MAX_AGE_SECS: u64 = 12 * 3600;
/// At most this many sessions are kept; the least recently used go first.
const MAX_SESSIONS: u64 = 100_000;

/// What the server knows of one logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub csrf: String,
    pub created: Instant,
}

/// The sessions of this process.
pub struct Sessions {
    by_hash: moka::sync::Cache<[u8; 32], Arc<Session>>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            by_hash: moka::sync::Cache::builder()
                .max_capacity(MAX_SESSIONS)
                .time_to_idle(Duration::from_secs(IDLE_SECS))
                .time_to_live(Duration::from_secs(MAX_AGE_SECS))
                .build(),
        }
    }
}

/// 256 random bits, base64url.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn hash(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// Compares two secrets without stopping at the first difference.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0 && !a.is_empty()
}

impl Sessions {
    /// Starts a session for `username`; returns the cookie value (the only copy of the id).
    pub fn create(&self, username: &str) -> String {
        let id = random_token();
        self.by_hash.insert(
            hash(&id),
            Arc::new(Session {
                username: username.to_string(),
                csrf: random_token(),
                created: Instant::now(),
            }),
        );
        id
    }

    /// The session a cookie value names, if it is still alive.
    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.by_hash.get(&hash(id))
    }

    pub fn end(&self, id: &str) {
        self.by_hash.invalidate(&hash(id));
    }

    /// Whether a form's `csrf` field belongs to the session.
    pub fn csrf_ok(session: &Session, submitted: &str) -> bool {
        same_secret(&session.csrf, submitted)
    }
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

    #[test]
    fn a_session_is_found_by_its_cookie_only_and_ends_on_logout() {
        let s = Sessions::default();
        let id = s.create("alice");
        let session = s.get(&id).unwrap();
        assert_eq!(session.username, "alice");
        assert!(s.get("not-the-id").is_none());
        // The store keys by hash: the id itself is not what is kept.
        assert!(s.by_hash.iter().all(|(k, _)| k.as_slice() != id.as_bytes()));
        s.end(&id);
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_must_match_exactly() {
        let s = Sessions::default();
        let a = s.get(&s.create("a")).unwrap();
        let b = s.get(&s.create("a")).unwrap();
        assert_ne!(a.csrf, b.csrf);
        assert!(Sessions::csrf_ok(&a, &a.csrf));
        assert!(!Sessions::csrf_ok(&a, &b.csrf));
        assert!(!Sessions::csrf_ok(&a, ""));
        assert!(!Sessions::csrf_ok(&a, &a.csrf[..a.csrf.len() - 1]));
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
