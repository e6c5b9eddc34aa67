//! [`ConsoleSessionStore`](crate::ConsoleSessionStore) on SQLite: writes through the writer
//! pool, reads through the readers'.
use super::SqliteMetadataStore;

crate::console_sessions::console_session_store!(
    SqliteMetadataStore,
    sqlx::sqlite::SqliteRow,
    write: write,
    read: read
);
