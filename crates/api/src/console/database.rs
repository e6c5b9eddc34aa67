//! The vulnerability database's status (what `berth db status` prints): when it was built, from
//! which sources, how many advisories; read from the database file's header alone.
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::error::{ConsoleError, ConsoleResult};
use super::layout::{html_response, page};
use super::viewer::Viewer;
use crate::state::App;

pub async fn show(State(app): State<App>, v: Viewer) -> ConsoleResult<Response> {
    status_page(&app, &v).await
}

async fn status_page(app: &App, v: &Viewer) -> ConsoleResult<Response> {
    if !v.may_administer() {
        return Err(ConsoleError::Forbidden);
    }
    let body = status(app).await?;
    Ok(html_response(
        StatusCode::OK,
        page(v, "database", "Vulnerability database", body),
    ))
}

#[cfg(not(feature = "scanner"))]
async fn status(_: &App) -> ConsoleResult<Markup> {
    Ok(html! { p { "This berth was built without the image scanner and has no database." } })
}

#[cfg(feature = "scanner")]
async fn status(app: &App) -> ConsoleResult<Markup> {
    use super::layout::time_s;
    let dir = crate::scanning::db_dir(app);
    let shown = dir.display().to_string();
    let read = tokio::task::spawn_blocking(move || berth_vulndb::Database::read_metadata(&dir))
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let m = match read {
        Ok(m) => m,
        Err(e) => {
            return Ok(html! {
                p { "No usable database in " code { (shown) } ": " (e.to_string()) }
                p { "Build one with " code { "berth db update" } " or " code { "berth db import" } "." }
            });
        }
    };
    let built = i64::try_from(m.built_at).unwrap_or(0);
    let age_days = (crate::exceptions::unix_now() - built) / 86_400;
    Ok(html! {
        dl class="facts" {
            dt { "Location" } dd { code class="wrap" { (shown) } }
            dt { "Built" } dd { (time_s(built)) " (" (age_days) " days ago) by berth " (m.berth_version) }
            dt { "Schema" } dd { (m.schema) }
            dt { "Advisories" } dd { (m.advisories) }
            dt { "Affected entries" } dd { (m.affected) }
        }
        h2 { "Sources" }
        div class="scroll" {
            table {
                thead { tr { th scope="col" { "Source" } th scope="col" { "Kinds" } th scope="col" { "Advisories" } th scope="col" { "Skipped" } } }
                tbody { @for s in &m.sources {
                    tr { td { code class="wrap" { (s.location) } } td { (s.kinds.join(", ")) } td class="num" { (s.advisories) } td class="num" { (s.skipped) } }
                } }
            }
        }
        h2 { "Namespaces" }
        table {
            thead { tr { th scope="col" { "Namespace" } th scope="col" { "Affected entries" } } }
            tbody { @for (ns, n) in &m.namespaces { tr { td { (ns) } td class="num" { (n) } } } }
        }
    })
}
