//! The API-token store's contract: ids, names and hashes are unique, a token is found by its
//! hash whatever its state (the caller says why it refuses it), a revocation happens once and
//! sticks, and listing keeps creation order.
use crate::*;

fn token(id: &str, name: &str, hash: &str, created_at: i64) -> ApiTokenRecord {
    ApiTokenRecord {
        id: id.to_string(),
        name: name.to_string(),
        role: "read-only".to_string(),
        token_hash: hash.to_string(),
        created_at,
        expires_at: None,
        revoked_at: None,
    }
}

pub async fn api_token_store(store: &dyn MetadataStore) {
    assert_eq!(store.list_api_tokens().await.unwrap(), Vec::new());
    assert_eq!(store.api_token_by_hash("00").await.unwrap(), None);

    let a = token("at-a", "ci", &"a".repeat(64), 1_000);
    let mut b = token("at-b", "scanner", &"b".repeat(64), 2_000);
    b.role = "admin".into();
    b.expires_at = Some(5_000);
    assert!(store.create_api_token(&a).await.unwrap());
    assert!(store.create_api_token(&b).await.unwrap());

    // Each of id, name and hash is unique on its own; a refused record leaves nothing behind.
    let same_id = token("at-a", "other", &"c".repeat(64), 3_000);
    let same_name = token("at-c", "ci", &"c".repeat(64), 3_000);
    let same_hash = token("at-c", "other", &"a".repeat(64), 3_000);
    for dup in [same_id, same_name, same_hash] {
        assert!(!store.create_api_token(&dup).await.unwrap(), "{dup:?}");
    }
    assert_eq!(
        store.list_api_tokens().await.unwrap(),
        vec![a.clone(), b.clone()],
        "creation order, every field kept"
    );
    assert_eq!(
        store.api_token_by_hash(&"c".repeat(64)).await.unwrap(),
        None
    );
    assert_eq!(
        store.api_token_by_hash(&"b".repeat(64)).await.unwrap(),
        Some(b.clone())
    );

    // Revocation: once, and the record is still found by its hash, marked.
    assert!(store.revoke_api_token("at-a").await.unwrap());
    assert!(
        !store.revoke_api_token("at-a").await.unwrap(),
        "already revoked"
    );
    assert!(!store.revoke_api_token("at-none").await.unwrap());
    let revoked = store
        .api_token_by_hash(&"a".repeat(64))
        .await
        .unwrap()
        .unwrap();
    let revoked_at = revoked.revoked_at.expect("revocation recorded");
    assert!(revoked_at >= now_millis() - 60_000);
    assert_eq!(
        ApiTokenRecord {
            revoked_at: None,
            ..revoked
        },
        a
    );
    // The other token is untouched, and a revoked token's name stays taken.
    assert_eq!(
        store.api_token_by_hash(&"b".repeat(64)).await.unwrap(),
        Some(b)
    );
    assert!(
        !store
            .create_api_token(&token("at-d", "ci", &"d".repeat(64), 4_000))
            .await
            .unwrap()
    );
    assert_eq!(store.list_api_tokens().await.unwrap().len(), 2);
}
