//! Keeping several berth processes on one metadata store in step: what one changes, the others'
//! caches forget within the time a notice takes (PostgreSQL `NOTIFY`: milliseconds), not after
//! the caches' lifetimes; a queued job wakes every runner at once.
//!
//! Invariant: every local invalidation of a cache that outlives a request (registry caches,
//! credentials, allow-lists, admission's policies and exceptions) is also announced; a process
//! that may have missed notices (its listener lagged or reconnected) forgets everything.
use crate::state::{App, AppState};
use berth_registry::CacheNotice;
use berth_store::{JOBS_TOPIC, Notice, RESYNC_TOPIC};
use std::sync::Weak;

/// The topic of the API's own caches.
pub const AUTH_TOPIC: &str = "api";

/// What the API's caches hold that another process can make stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiNotice {
    /// An instance access token changed (status, expiry, deletion).
    Token(String),
    /// An instance's allow-lists changed.
    AllowLists,
    /// Protection policies or exceptions changed.
    Admission,
    /// Everything (an instance deleted).
    All,
}

impl ApiNotice {
    fn encode(&self) -> String {
        match self {
            ApiNotice::Token(id) => format!("token\t{id}"),
            ApiNotice::AllowLists => "allow_lists".into(),
            ApiNotice::Admission => "admission".into(),
            ApiNotice::All => "all".into(),
        }
    }

    fn decode(text: &str) -> Option<ApiNotice> {
        Some(match text.split_once('\t') {
            Some(("token", id)) if !id.is_empty() => ApiNotice::Token(id.to_string()),
            None if text == "allow_lists" => ApiNotice::AllowLists,
            None if text == "admission" => ApiNotice::Admission,
            None if text == "all" => ApiNotice::All,
            _ => return None,
        })
    }
}

/// Forgets locally what `notice` names at once, and tells the other processes to (in a task of
/// its own: the change is committed, and a caller need not wait for the others). A notice that
/// cannot be published is logged: the other processes then see the change when their entries
/// expire (seconds), as before notices existed.
pub fn announce(app: &App, notice: ApiNotice) {
    apply(app, Some(&notice));
    let meta = app.meta.clone();
    tokio::spawn(async move {
        if let Err(e) = meta.publish_notice(AUTH_TOPIC, &notice.encode()).await {
            tracing::warn!(error = %e, ?notice, "cannot tell other processes about a change");
        }
    });
}

fn apply(app: &AppState, notice: Option<&ApiNotice>) {
    match notice {
        Some(ApiNotice::Token(id)) => app.auth.forget_access_token(id),
        Some(ApiNotice::AllowLists) => app.allow_lists.clear(),
        Some(ApiNotice::Admission) => app.admission.changed(),
        Some(ApiNotice::All) | None => forget_everything(app),
    }
}

fn forget_everything(app: &AppState) {
    app.caches.apply(Some(&CacheNotice::All));
    app.allow_lists.clear();
    app.admission.changed();
    app.auth.forget_all_tokens();
}

/// Listens for the notices of every process on the store (this one's included) for as long as
/// the application lives.
pub fn spawn_listener(app: &App) {
    let mut notices = app.meta.subscribe_notices();
    let app: Weak<AppState> = std::sync::Arc::downgrade(app);
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            let received = notices.recv().await;
            let Some(app) = app.upgrade() else { return };
            match received {
                Ok(notice) => receive(&app, &notice),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "missed notices: forgetting every cache");
                    forget_everything(&app);
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}

fn receive(app: &AppState, notice: &Notice) {
    match notice.topic.as_str() {
        JOBS_TOPIC => app.jobs_wake.notify_one(),
        berth_registry::caches::notice::TOPIC => {
            app.caches
                .apply(CacheNotice::decode(&notice.payload).as_ref());
        }
        AUTH_TOPIC => apply(app, ApiNotice::decode(&notice.payload).as_ref()),
        RESYNC_TOPIC => forget_everything(app),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_notices_round_trip() {
        for n in [
            ApiNotice::Token("tok-1".into()),
            ApiNotice::AllowLists,
            ApiNotice::Admission,
            ApiNotice::All,
        ] {
            assert_eq!(ApiNotice::decode(&n.encode()), Some(n));
        }
        assert_eq!(ApiNotice::decode("token\t"), None);
        assert_eq!(ApiNotice::decode("users"), None);
    }
}
