//! The notice listener: one connection per store `LISTEN`ing on the store's channel, whose
//! notifications are re-broadcast to the store's subscribers. A lost connection is re-opened
//! with backoff; notices sent meanwhile are lost, so once it is back subscribers receive a
//! [`crate::RESYNC_TOPIC`] notice telling them to drop what the notices keep fresh.
use super::NOTICE_CHANNEL;
use crate::notices::decode_notice;
use crate::{Notice, RESYNC_TOPIC, Result};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use std::time::Duration;
use tokio::sync::broadcast::Sender;

/// What the listener's connection is called in `pg_stat_activity`.
pub(crate) const LISTENER_APPLICATION: &str = "berth-notices";

const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

/// Listens before returning, so that a notice published after the store opened is delivered.
pub(super) async fn start(
    options: &PgConnectOptions,
    notices: Sender<Notice>,
) -> Result<tokio::task::JoinHandle<()>> {
    let options = options.clone().application_name(LISTENER_APPLICATION);
    let first = listen(&options).await?;
    Ok(tokio::spawn(forward(options, notices, first)))
}

async fn listen(options: &PgConnectOptions) -> Result<PgListener> {
    // A pool of one that keeps its connection: PgListener takes its connection from a pool.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options.clone());
    let mut listener = PgListener::connect_with(&pool).await?;
    // Reconnection is this module's: it must announce the resync once it is back.
    listener.eager_reconnect(false);
    listener.listen(NOTICE_CHANNEL).await?;
    Ok(listener)
}

async fn forward(options: PgConnectOptions, notices: Sender<Notice>, mut listener: PgListener) {
    loop {
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => match decode_notice(n.payload()) {
                    // Nobody subscribed is not an error.
                    Some(notice) => drop(notices.send(notice)),
                    None => tracing::debug!(payload = n.payload(), "ignoring a foreign notice"),
                },
                Ok(None) => {
                    tracing::warn!("lost the PostgreSQL notice connection; reconnecting");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "PostgreSQL notice connection failed; reconnecting");
                    break;
                }
            }
        }
        drop(listener);
        let mut delay = FIRST_RETRY;
        listener = loop {
            tokio::time::sleep(delay).await;
            match listen(&options).await {
                Ok(l) => break l,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?delay, "cannot listen for notices");
                    delay = (delay * 2).min(LAST_RETRY);
                }
            }
        };
        tracing::info!("listening for PostgreSQL notices again; asking subscribers to resync");
        drop(notices.send(Notice {
            topic: RESYNC_TOPIC.to_string(),
            payload: String::new(),
        }));
    }
}
