//! The ACS vulnerability-management workload export (seed
//! `acs-vuln-mgmt-export-workloads.txt`): `GET /v1/export/vuln-mgmt/workloads?query=&timeout=`
//! streams one `{"result":{"deployment":…,"images":[…],"livePods":n}}` line per deployment of
//! every cluster's inventory that the StackRox query matches.
//!
//! - [`auth`]: API tokens and administrators' Basic credentials.
//! - [`stream`]: the producer task and its bounded channel; [`images`]: each image built once
//!   per export in a byte-bounded cache; [`document`]: a deployment for the query language.
//! - [`deployment`], [`image`], [`cvss`], [`time`]: the mapping to `storage.Deployment` and
//!   `storage.Image` as protojson writes them; [`report`]: what is read of a scan report.
//! - [`error`]: `RuntimeError` before the first line, `RuntimeStreamError` as the last.
mod auth;
mod cvss;
mod deployment;
mod document;
mod error;
mod image;
mod images;
/// Also read by admission, which turns a stored scan into a policy's findings.
pub(crate) mod report;
mod stream;
mod suppress;
mod time;

use std::time::Duration;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::http_util::{query_one, query_pairs};
use crate::state::App;
use error::{ExportError, ExportResult, Grpc};
use stream::Item;

/// Longest raw query string (percent-encoded) read; the query language's own limit (8 KiB
/// decoded) applies after.
pub const MAX_QUERY_STRING: usize = 32 * 1024;
/// Exports running at once, process-wide: each holds a producer and up to
/// [`images::CACHE_BYTES`] of images, so more would let a few callers take the machine.
pub const CONCURRENT_EXPORTS: usize = 4;

static EXPORTS: Semaphore = Semaphore::const_new(CONCURRENT_EXPORTS);

/// The route, for [`crate::router`].
pub fn routes() -> axum::Router<App> {
    axum::Router::new().route("/v1/export/vuln-mgmt/workloads", axum::routing::get(export))
}

/// `timeout` in whole seconds, 0 or absent for none (the proto's `int32`).
fn timeout(raw: Option<&str>) -> ExportResult<Option<Duration>> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let secs: i32 = raw.parse().map_err(|_| {
        ExportError::invalid(format!(
            "timeout {:?} is not a number of seconds from 0 to {}",
            raw.chars().take(32).collect::<String>(),
            i32::MAX
        ))
    })?;
    match secs {
        0 => Ok(None),
        s if s < 0 => Err(ExportError::invalid("timeout must not be negative")),
        s => Ok(Some(Duration::from_secs(u64::from(s.unsigned_abs())))),
    }
}

async fn export(State(app): State<App>, RawQuery(raw): RawQuery, headers: HeaderMap) -> Response {
    match start(app, raw, &headers).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn start(app: App, raw: Option<String>, headers: &HeaderMap) -> ExportResult<Response> {
    auth::authorize(&app, headers).await?;
    if raw.as_ref().is_some_and(|r| r.len() > MAX_QUERY_STRING) {
        return Err(ExportError::invalid(format!(
            "the query string is longer than {MAX_QUERY_STRING} bytes"
        )));
    }
    let pairs = query_pairs(raw.as_deref());
    let deadline = timeout(query_one(&pairs, "timeout"))?.map(|d| tokio::time::Instant::now() + d);
    let text = query_one(&pairs, "query").unwrap_or("");
    let query = berth_query::parse(schema(), text)
        .map_err(|e| ExportError::invalid(format!("invalid query: {e}")))?;
    let permit = match EXPORTS.try_acquire() {
        Ok(p) => p,
        Err(_) => {
            return Err(ExportError::new(
                Grpc::ResourceExhausted,
                format!("{CONCURRENT_EXPORTS} exports are running; retry later"),
            ));
        }
    };
    let mut rx = stream::start(app, query, deadline, permit);
    // The first item decides the status: an error before any line is a plain error response.
    let first = match rx.recv().await {
        None => None,
        Some(Item::Error(e)) => return Err(e),
        Some(Item::Line(l)) => Some(l),
    };
    let body = futures::stream::unfold((first, rx), |(first, mut rx)| async move {
        if let Some(l) = first {
            return Some((Ok::<_, std::convert::Infallible>(l), (None, rx)));
        }
        match rx.recv().await {
            Some(Item::Line(l)) => Some((Ok(l), (None, rx))),
            Some(Item::Error(e)) => Some((Ok(bytes::Bytes::from(e.stream_line())), (None, rx))),
            None => None,
        }
    });
    let mut res = Response::new(Body::from_stream(body));
    *res.status_mut() = StatusCode::OK;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(res)
}

/// The query schema, built once.
fn schema() -> &'static berth_query::Schema {
    static SCHEMA: std::sync::OnceLock<berth_query::Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(berth_query::stackrox_workload_schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_bounded_seconds() {
        assert!(matches!(timeout(None), Ok(None)));
        assert!(matches!(timeout(Some("0")), Ok(None)));
        assert!(matches!(timeout(Some("30")), Ok(Some(d)) if d == Duration::from_secs(30)));
        assert!(timeout(Some("-1")).is_err());
        assert!(timeout(Some("99999999999999999999")).is_err());
        assert!(timeout(Some("1e9")).is_err());
    }
}
