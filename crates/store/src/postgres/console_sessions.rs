//! [`ConsoleSessionStore`](crate::ConsoleSessionStore) on PostgreSQL: one pool for both.
use super::PgMetadataStore;

crate::console_sessions::console_session_store!(
    PgMetadataStore,
    sqlx::postgres::PgRow,
    write: pool,
    read: pool
);
