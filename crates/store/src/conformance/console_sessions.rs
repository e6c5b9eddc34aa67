//! The console-session store's contract: a session is found by its id's hash while it is
//! live (not expired, not idle), a use keeps it live, deletion ends it for every holder of
//! the store, and creating a session prunes ended ones.
use crate::*;

fn session(hash: &str, user: &str, now: i64) -> ConsoleSession {
    ConsoleSession {
        id_hash: hash.to_string(),
        username: user.to_string(),
        csrf: format!("csrf-{hash}"),
        created_at: now,
        last_seen_at: now,
        expires_at: now + 12 * 3_600_000,
    }
}

const IDLE: i64 = 30 * 60_000;

pub async fn console_session_store(a: &dyn MetadataStore, b: &dyn MetadataStore) {
    let now = 1_000_000_000_000;
    let hash = "a".repeat(64);
    assert_eq!(
        a.console_session(&hash, now, now - IDLE).await.unwrap(),
        None
    );
    let s = session(&hash, "alice", now);
    assert!(a.create_console_session(&s, now, now - IDLE).await.unwrap());
    assert!(
        !a.create_console_session(&s, now, now - IDLE).await.unwrap(),
        "a hash is unique"
    );
    // Another holder of the store (another replica) sees it.
    assert_eq!(
        b.console_session(&hash, now + 1, now + 1 - IDLE)
            .await
            .unwrap(),
        Some(s.clone())
    );

    // Idle too long: gone; a use in time keeps it.
    let later = now + IDLE + 1;
    assert_eq!(
        a.console_session(&hash, later, later - IDLE).await.unwrap(),
        None
    );
    a.touch_console_session(&hash, now + 60_000).await.unwrap();
    let found = b
        .console_session(&hash, later, later - IDLE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.last_seen_at, now + 60_000);
    // A touch never moves the last use back.
    a.touch_console_session(&hash, now).await.unwrap();
    let found = a
        .console_session(&hash, later, later - IDLE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.last_seen_at, now + 60_000);
    // Past its lifetime: gone, however recently used.
    let end = s.expires_at;
    a.touch_console_session(&hash, end - 1).await.unwrap();
    assert!(
        a.console_session(&hash, end - 1, end - 1 - IDLE)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        a.console_session(&hash, end, end - IDLE).await.unwrap(),
        None
    );

    // Logout on one holder ends it on the other.
    let other = "b".repeat(64);
    assert!(
        a.create_console_session(&session(&other, "bob", now), now, now - IDLE)
            .await
            .unwrap()
    );
    assert!(b.delete_console_session(&other).await.unwrap());
    assert_eq!(
        a.console_session(&other, now, now - IDLE).await.unwrap(),
        None
    );
    assert!(
        !a.delete_console_session(&other).await.unwrap(),
        "deleted once"
    );

    // A login prunes ended sessions: the expired one is gone even from a lookup that would
    // still accept it.
    let fresh = "c".repeat(64);
    assert!(
        a.create_console_session(&session(&fresh, "carol", end), end, end - IDLE)
            .await
            .unwrap()
    );
    assert_eq!(
        a.console_session(&hash, now, 0).await.unwrap(),
        None,
        "pruned"
    );
    assert!(
        a.console_session(&fresh, end, end - IDLE)
            .await
            .unwrap()
            .is_some()
    );
}
