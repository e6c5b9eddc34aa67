//! A namespace's webhook triggers and each trigger's delivery log, read-only (triggers are
//! created and changed through the management API). Administrators only: a trigger's URL and
//! headers are its owner's configuration. Signing secrets are never shown.
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::access;
use super::error::{ConsoleError, ConsoleResult};
use super::layout::{enc, html_response, page, time_ms};
use super::viewer::{Viewer, here, viewer};
use crate::state::App;

/// Deliveries shown per trigger, newest first.
const DELIVERIES: u32 = 50;
/// Characters of a response body shown.
const RESPONSE_CHARS: usize = 200;

#[derive(Deserialize)]
pub struct TriggerQuery {
    i: String,
    ns: String,
    id: i64,
}

/// The triggers of a namespace, for its repositories page (administrators only; empty else).
pub async fn triggers_section(
    app: &App,
    v: &Viewer,
    instance_id: &str,
    ns: &berth_store::Namespace,
) -> ConsoleResult<Markup> {
    if !v.may_administer() {
        return Ok(html! {});
    }
    let (triggers, total) = app.meta.list_webhook_triggers(ns.id, 0, 100).await?;
    Ok(html! {
        section aria-labelledby="webhooks" {
            h2 id="webhooks" { "Webhook triggers (" (total) ")" }
            @if triggers.is_empty() { p { "None (CreateWebhookTrigger adds one)." } } @else {
                table {
                    thead { tr { th scope="col" { "Trigger" } th scope="col" { "URL" } th scope="col" { "Events" } th scope="col" { "Enabled" } } }
                    tbody { @for t in &triggers {
                        tr {
                            td { a href={ "/ui/webhooks?i=" (enc(instance_id)) "&ns=" (enc(&ns.name)) "&id=" (t.id) } { (t.name) } }
                            td { code class="wrap" { (t.url) } }
                            td { (t.event_types.join(", ")) }
                            td { @if t.enabled { "yes" } @else { "no" } }
                        }
                    } }
                }
            }
        }
    })
}

pub async fn deliveries(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<TriggerQuery>,
) -> Response {
    match viewer(&app, &headers, here(&uri)).await {
        Ok(v) => deliveries_page(&app, &v, &q).await.into_response(),
        Err(r) => r,
    }
}

async fn deliveries_page(app: &App, v: &Viewer, q: &TriggerQuery) -> ConsoleResult<Response> {
    if !v.may_administer() {
        return Err(ConsoleError::Forbidden);
    }
    let instance = access::instance(app, &q.i).await?;
    let ns = access::namespace(app, v, &instance.id, &q.ns).await?;
    let trigger = app
        .meta
        .get_webhook_trigger(ns.id, q.id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let (log, total) = app
        .meta
        .list_webhook_deliveries(trigger.id, 0, DELIVERIES)
        .await?;
    let body = html! {
        p class="crumbs" {
            a href="/ui/instances" { "Instances" } " / "
            a href={ "/ui/namespaces?i=" (enc(&instance.id)) } { (instance.name) } " / "
            a href={ "/ui/repositories?i=" (enc(&instance.id)) "&ns=" (enc(&ns.name)) } { (ns.name) }
        }
        dl class="facts" {
            dt { "URL" } dd { code class="wrap" { (trigger.url) } }
            dt { "Events" } dd { (trigger.event_types.join(", ")) }
            dt { "Enabled" } dd { @if trigger.enabled { "yes" } @else { "no" } }
            dt { "Created" } dd { (time_ms(trigger.created_at)) }
        }
        h2 { "Deliveries (" (total) ", newest first)" }
        @if log.is_empty() { p { "No delivery yet." } } @else {
            div class="scroll" {
                table {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Event" } th scope="col" { "Attempt" } th scope="col" { "Result" } th scope="col" { "HTTP" } th scope="col" { "Response" } } }
                    tbody { @for d in &log {
                        tr {
                            td { (time_ms(d.created_at)) }
                            td { (d.event_type) }
                            td class="num" { (d.attempt) }
                            td { span class={ "badge " @if d.status.as_str() == "Success" { "active" } @else { "revoked" } } { (d.status.as_str()) } }
                            td class="num" { @if let Some(c) = d.status_code { (c) } }
                            td { @if let Some(r) = &d.response { code class="wrap" { (r.chars().take(RESPONSE_CHARS).collect::<String>()) } } }
                        }
                    } }
                }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        page(v, "instances", &format!("Webhook {}", trigger.name), body),
    ))
}
