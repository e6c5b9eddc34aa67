//! Opening the store: the connection pool, the schema migrations, the notice listener.
use super::{PgMetadataStore, listener};
use crate::{Result, StoreError};
use futures::future::BoxFuture;
use sqlx::Connection as _;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::borrow::Cow;
use std::time::Duration;

/// Connections in the pool unless the caller says otherwise: a process's concurrent statements
/// wait for one instead of exhausting the server's `max_connections` across replicas.
pub(crate) const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// How long the first connection may take (a server that drops packets would otherwise hold the
/// caller for the operating system's TCP timeout, minutes).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a statement waits for a pooled connection before it fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The schema migrations (`src/postgres/migrations`, sqlx's `<version>_<name>.sql` layout),
/// compiled in. sqlx's migrator applies them under an advisory lock, so replicas starting
/// together migrate once, and refuses a database whose applied migrations were edited.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (
        2,
        "seen_nonces",
        include_str!("migrations/0002_seen_nonces.sql"),
    ),
    (
        3,
        "console_sessions",
        include_str!("migrations/0003_console_sessions.sql"),
    ),
];

#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> BoxFuture<'static, std::result::Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|(version, name, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*name),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The server's address as an error message may show it (never the password).
fn address(options: &PgConnectOptions) -> String {
    format!(
        "{}:{} (database {})",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("default")
    )
}

impl PgMetadataStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`),
    /// applies the schema migrations and starts listening for notices. Fails at once, naming the
    /// server, when it cannot be reached; retrying is the caller's choice.
    pub async fn connect(url: &str) -> Result<PgMetadataStore> {
        PgMetadataStore::connect_with(url, DEFAULT_MAX_CONNECTIONS).await
    }

    /// As [`PgMetadataStore::connect`], with at most `max_connections` pooled connections
    /// (besides one listening for notices and one per role led).
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<PgMetadataStore> {
        let options: PgConnectOptions = url.parse()?;
        let options = options.application_name("berth");
        // One plain connection first: its error (refused, unknown host, authentication) is the
        // precise one, where a pool would retry until its timeout and report only that.
        let probe =
            tokio::time::timeout(CONNECT_TIMEOUT, sqlx::PgConnection::connect_with(&options));
        let Ok(probe) = probe.await else {
            return Err(StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "PostgreSQL at {} is unreachable: no answer within {CONNECT_TIMEOUT:?}",
                    address(&options)
                ),
            )));
        };
        match probe {
            Ok(conn) => conn.close().await?,
            Err(sqlx::Error::Io(e)) => {
                return Err(StoreError::Io(std::io::Error::new(
                    e.kind(),
                    format!("PostgreSQL at {} is unreachable: {e}", address(&options)),
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        Migrator::new(Embedded)
            .await
            .map_err(sqlx::Error::from)?
            .run(&pool)
            .await
            .map_err(sqlx::Error::from)?;
        let notices = tokio::sync::broadcast::channel(crate::notices::NOTICE_BUFFER).0;
        let listener = listener::start(&options, notices.clone()).await?;
        Ok(PgMetadataStore {
            pool,
            options,
            notices,
            listener,
        })
    }

    /// Closes the pool's connections (the notice listener stops when the store is dropped).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
