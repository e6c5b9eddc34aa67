//! Connections: the accept loop with its limits and timeouts, and graceful shutdown.
//!
//! `axum::serve` has none of these: idle or slow clients could hold connections (and file
//! descriptors) without end, one over the descriptor limit hung every request, and a shutdown
//! waited for every idle client. Here hyper serves each connection with a header-read timeout
//! (which is also the keep-alive idle timeout: hyper starts it when it waits for a request head),
//! a cap on the head's size, and a slot out of `limits.max_connections`; a connection over the
//! limit is told 503 and closed.
use crate::config::LimitsConfig;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt as _;

/// Descriptors kept for everything but client connections: the listener, the database, log
/// files, blob files being garbage-collected, connections being refused, webhook deliveries.
const RESERVED_FDS: u64 = 256;
/// A connection may hold two descriptors: its socket and a blob file it streams.
const FDS_PER_CONNECTION: u64 = 2;
/// Connections over the limit that are being told so at once; more are closed without a word.
const REFUSING_AT_ONCE: usize = 64;
/// The most a connection's read buffer holds (more only for a larger `max_header_bytes`).
const READ_BUFFER: usize = 32 << 10;
/// How long a refused connection gets to read its answer.
const REFUSAL_TIME: Duration = Duration::from_secs(2);

const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
    Retry-After: 1\r\n\
    Content-Type: text/plain\r\n\
    Content-Length: 47\r\n\
    Connection: close\r\n\
    \r\n\
    The server is at its connection limit; retry.\r\n";

/// Raises the soft limit on open files to the hard limit (as Go's runtime does at start): the
/// soft default of many systems (1024) is far below what a server with thousands of connections
/// needs. Returns the soft limit now in force, `None` when unlimited or unknown.
pub fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current < limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if let Err(e) = setrlimit(Resource::Nofile, raised) {
                tracing::debug!(error = %e, "cannot raise the open-file limit");
            }
        }
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    None
}

/// The soft limit on open files, `None` when unlimited or unknown.
fn fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    None
}

/// `configured`, lowered to what `fds` open files allow.
fn connections_allowed(configured: usize, fds: Option<u64>) -> usize {
    let Some(fds) = fds else {
        return configured;
    };
    let fit = fds.saturating_sub(RESERVED_FDS) / FDS_PER_CONNECTION;
    configured
        .min(usize::try_from(fit).unwrap_or(usize::MAX))
        .max(1)
}

/// Errors of one connection that ended before `accept` returned it; not the listener's.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Answers 503 and closes, in the background, within [`REFUSAL_TIME`].
fn refuse(mut stream: TcpStream, refusing: &Arc<Semaphore>) {
    let Ok(permit) = refusing.clone().try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let _ = tokio::time::timeout(REFUSAL_TIME, async {
            stream.write_all(REFUSAL).await?;
            stream.shutdown().await?;
            // Closing with unread request bytes would reset the connection, and the client
            // might lose the answer: read until the client closes its side.
            let mut sink = [0u8; 4096];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        })
        .await;
        drop(permit);
    });
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, lets requests
/// in flight finish for `limits.shutdown_grace_secs`, drops the connections still open and
/// returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &LimitsConfig,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let max = connections_allowed(limits.max_connections, fd_limit());
    if max < limits.max_connections {
        tracing::warn!(
            configured = limits.max_connections,
            allowed = max,
            fd_limit = fd_limit(),
            "limits.max_connections lowered to what the open-file limit allows (raise it with \
             `ulimit -n` or LimitNOFILE=)"
        );
    }
    let slots = Arc::new(Semaphore::new(max));
    let refusing = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_read_timeout_secs))
        .max_header_size(limits.max_header_bytes)
        // hyper's read buffer otherwise grows towards 400 KB per connection while a head is
        // read (900 slow heads: 17 to 402 MiB); bodies read in 32 KiB pieces go as fast.
        .max_buf_size(limits.max_header_bytes.max(READ_BUFFER))
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut at_limit = false;
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of descriptors or memory: wait for some to be freed.
                    tracing::error!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Once per stretch at the limit, not once per refused connection.
            if !at_limit {
                tracing::warn!(%peer, max, "refusing connections: at limits.max_connections");
                at_limit = true;
            }
            refuse(stream, &refusing);
            continue;
        };
        at_limit = false;
        // Small responses (manifests, errors) go out at once rather than after Nagle's delay.
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut req: axum::http::Request<Incoming>| {
                // Handlers read the peer address as `axum::serve` provided it.
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        connections.spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    // New connections are refused by the kernel from here on.
    drop(listener);
    let grace = Duration::from_secs(limits.shutdown_grace_secs);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "connections still open after the shutdown grace period; dropped"
        );
    }
    connections.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_fit_the_descriptor_limit() {
        assert_eq!(connections_allowed(4096, None), 4096);
        assert_eq!(connections_allowed(4096, Some(1_048_576)), 4096);
        assert_eq!(connections_allowed(4096, Some(1024)), 384);
        assert_eq!(connections_allowed(4096, Some(100)), 1);
        assert_eq!(
            REFUSAL.len() - REFUSAL.windows(4).position(|w| w == b"\r\n\r\n").unwrap() - 4,
            47
        );
    }
}
