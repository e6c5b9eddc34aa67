//! A namespace's webhook triggers: the list (on the namespace's repositories page), creation
//! (validated by the same `crate::webhooks` checks CreateWebhookTrigger makes: name, SSRF rule
//! on the URL, event types, headers, the per-namespace limit; the signing secret shown once),
//! deletion, and each trigger's delivery log. Administrators only: a trigger's URL and headers
//! are its owner's configuration. Signing secrets are never shown after creation.
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use berth_store::{Instance, Namespace, NewWebhookTrigger, WebhookHeader, WebhookTrigger};
use maud::{Markup, html};
use serde::Deserialize;

use super::access;
use super::error::{ConsoleError, ConsoleResult};
use super::forms::{IdForm, Posted, csrf_form};
use super::layout::{csrf_field, enc, html_response, page, redirect, time_ms};
use super::viewer::Viewer;
use crate::state::App;
use crate::webhooks::{self, EventType};

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
    let (triggers, total) = app
        .meta
        .list_webhook_triggers(ns.id, 0, webhooks::MAX_TRIGGERS_PER_NAMESPACE)
        .await?;
    let q = format!("i={}&ns={}", enc(instance_id), enc(&ns.name));
    Ok(html! {
        section aria-labelledby="webhooks" {
            h2 id="webhooks" { "Webhook triggers (" (total) ")" }
            p { a href={ "/ui/webhooks/new?" (q) } { "New webhook trigger" } }
            @if !triggers.is_empty() {
                div class="scroll" {
                table {
                    thead { tr { th scope="col" { "Trigger" } th scope="col" { "URL" } th scope="col" { "Events" } th scope="col" { "Enabled" } th scope="col" { span class="sr-only" { "Actions" } } } }
                    tbody { @for t in &triggers {
                        tr data-trigger=(t.name) {
                            td { a href={ "/ui/webhooks?" (q) "&id=" (t.id) } { (t.name) } }
                            td { code class="wrap" { (t.url) } }
                            td { (t.event_types.join(", ")) }
                            td { @if t.enabled { "yes" } @else { "no" } }
                            td {
                                form method="post" action={ "/ui/webhooks/delete?" (q) } data-confirm="Delete this trigger and its delivery log?" {
                                    (csrf_field(v))
                                    input type="hidden" name="id" value=(t.id);
                                    button type="submit" class="danger" aria-label={ "Delete trigger " (t.name) } { "Delete" }
                                }
                            }
                        }
                    } }
                }
                }
            }
        }
    })
}

#[derive(Deserialize)]
pub struct NamespaceQuery {
    i: String,
    ns: String,
}

async fn admin_namespace(
    app: &App,
    v: &Viewer,
    q: &NamespaceQuery,
) -> ConsoleResult<(Instance, Namespace)> {
    v.admin_only()?;
    let instance = access::instance(app, &q.i).await?;
    let ns = access::namespace(app, v, &instance.id, &q.ns).await?;
    Ok((instance, ns))
}

fn repositories_href(instance: &Instance, ns: &Namespace) -> String {
    format!(
        "/ui/repositories?i={}&ns={}",
        enc(&instance.id),
        enc(&ns.name)
    )
}

/// The event types a trigger may subscribe to, with their form field and words.
const EVENTS: [(EventType, &str, &str); 4] = [
    (EventType::PushImage, "push", "an image is pushed"),
    (EventType::DeleteImage, "delete", "an image is deleted"),
    (
        EventType::AdmissionBlock,
        "block",
        "admission blocks a workload",
    ),
    (
        EventType::AdmissionAlarm,
        "alarm",
        "admission lets a workload start with an alarm",
    ),
];

#[derive(Deserialize, Default)]
pub struct TriggerForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
    /// Checkboxes, present when ticked (one field per event type: a form posts each name
    /// separately and the form decoder reads one value per name).
    #[serde(default)]
    push: Option<String>,
    #[serde(default)]
    delete: Option<String>,
    #[serde(default)]
    block: Option<String>,
    #[serde(default)]
    alarm: Option<String>,
    #[serde(default)]
    header_name: String,
    #[serde(default)]
    header_value: String,
    #[serde(default)]
    disabled: Option<String>,
    #[serde(default)]
    csrf: String,
}

csrf_form!(TriggerForm);

impl TriggerForm {
    fn ticked(&self, field: &str) -> bool {
        match field {
            "push" => self.push.is_some(),
            "delete" => self.delete.is_some(),
            "block" => self.block.is_some(),
            "alarm" => self.alarm.is_some(),
            _ => false,
        }
    }
}

fn trigger_form(
    v: &Viewer,
    instance: &Instance,
    ns: &Namespace,
    f: &TriggerForm,
    error: Option<&str>,
    created: Option<&WebhookTrigger>,
) -> Markup {
    let q = format!("i={}&ns={}", enc(&instance.id), enc(&ns.name));
    let fresh = f.csrf.is_empty();
    let body = html! {
        p class="crumbs" {
            a href="/ui/instances" { "Instances" } " / "
            a href={ "/ui/namespaces?i=" (enc(&instance.id)) } { (instance.name) } " / "
            a href=(repositories_href(instance, ns)) { (ns.name) }
        }
        @if let Some(t) = created {
            section class="secret" aria-labelledby="created" {
                h2 id="created" { "Trigger " (t.name) " created" }
                p { "Receivers verify the " code { "X-Berth-Signature" } " header (HMAC-SHA256 of the body) with this secret. Copy it now: it will not be shown again." }
                p { code id="new-webhook-secret" class="wrap" { (t.secret) } }
                p { a href=(repositories_href(instance, ns)) { "Back to " (ns.name) } }
            }
        } @else {
            @if let Some(e) = error { p class="error" role="alert" id="webhook-error" { (e) } }
            form method="post" action={ "/ui/webhooks/new?" (q) } class="grid" {
                (csrf_field(v))
                div class="field" {
                    label for="name" { "Name" }
                    input id="name" name="name" type="text" required maxlength=(webhooks::MAX_NAME_LEN) value=(f.name);
                }
                div class="field wide" {
                    label for="url" { "URL" }
                    input id="url" name="url" type="url" required maxlength=(webhooks::MAX_URL_LEN) value=(f.url) aria-describedby="url-help";
                    small id="url-help" { "http or https; private and loopback addresses are refused unless the server allows them." }
                }
                fieldset class="field wide" {
                    legend { "Events" }
                    @for (_, field, words) in EVENTS {
                        label { input type="checkbox" name=(field) value="1" checked[fresh && field == "push" || f.ticked(field)]; " When " (words) }
                    }
                }
                div class="field" {
                    label for="header_name" { "Header name (optional)" }
                    input id="header_name" name="header_name" type="text" maxlength="128" value=(f.header_name);
                }
                div class="field" {
                    label for="header_value" { "Header value" }
                    input id="header_value" name="header_value" type="text" maxlength="1024" value=(f.header_value);
                }
                div class="field" {
                    label { input type="checkbox" name="disabled" value="1" checked[f.disabled.is_some()]; " Create disabled" }
                }
                div class="field" { button type="submit" { "Create trigger" } }
            }
        }
    };
    page(
        v,
        "instances",
        &format!("New webhook trigger in {}", ns.name),
        body,
    )
}

pub async fn new_form(
    State(app): State<App>,
    v: Viewer,
    Query(q): Query<NamespaceQuery>,
) -> ConsoleResult<Response> {
    let (instance, ns) = admin_namespace(&app, &v, &q).await?;
    Ok(html_response(
        StatusCode::OK,
        trigger_form(&v, &instance, &ns, &TriggerForm::default(), None, None),
    ))
}

/// The trigger a form describes, or what is wrong with it (in the words of the form).
async fn validated(
    app: &App,
    instance: &Instance,
    ns: &Namespace,
    f: &TriggerForm,
) -> Result<NewWebhookTrigger, String> {
    let name = f.name.trim();
    webhooks::validate_name(name).map_err(|_| {
        format!(
            "Name: 1 to {} characters, no control characters.",
            webhooks::MAX_NAME_LEN
        )
    })?;
    let url = f.url.trim();
    if url.is_empty() {
        return Err("URL: required.".into());
    }
    webhooks::validate_url(&app.config.webhooks, url)
        .await
        .map_err(|e| format!("URL: {e}."))?;
    let event_types: Vec<String> = EVENTS
        .iter()
        .filter(|(_, field, _)| f.ticked(field))
        .map(|(e, _, _)| e.as_str().to_string())
        .collect();
    if event_types.is_empty() {
        return Err("Events: tick at least one.".into());
    }
    let headers = match (f.header_name.trim(), f.header_value.trim()) {
        ("", "") => Vec::new(),
        ("", _) => return Err("Header name: required with a header value.".into()),
        (key, value) => vec![WebhookHeader {
            key: key.to_string(),
            values: vec![value.to_string()],
        }],
    };
    webhooks::validate_headers(&headers).map_err(|e| format!("Header: {e}."))?;
    Ok(NewWebhookTrigger {
        instance_id: instance.id.clone(),
        namespace_id: ns.id,
        name: name.to_string(),
        url: url.to_string(),
        event_types,
        headers,
        enabled: f.disabled.is_none(),
        secret: webhooks::new_secret(),
    })
}

pub async fn create(
    State(app): State<App>,
    Query(q): Query<NamespaceQuery>,
    Posted { viewer: v, form: f }: Posted<TriggerForm>,
) -> ConsoleResult<Response> {
    let (instance, ns) = admin_namespace(&app, &v, &q).await?;
    let invalid = |m: &str| {
        html_response(
            StatusCode::BAD_REQUEST,
            trigger_form(&v, &instance, &ns, &f, Some(m), None),
        )
    };
    let new = match validated(&app, &instance, &ns, &f).await {
        Ok(n) => n,
        Err(m) => return Ok(invalid(&m)),
    };
    let Some(trigger) = app
        .meta
        .create_webhook_trigger(&new, webhooks::MAX_TRIGGERS_PER_NAMESPACE)
        .await?
    else {
        return Ok(invalid(&format!(
            "This namespace already has {} triggers, the most it may hold.",
            webhooks::MAX_TRIGGERS_PER_NAMESPACE
        )));
    };
    tracing::info!(target: "berth::audit", action = "webhook.create", trigger = trigger.id,
        namespace = %ns.name, user = %v.username, "webhook trigger created from the console");
    Ok(html_response(
        StatusCode::OK,
        trigger_form(&v, &instance, &ns, &f, None, Some(&trigger)),
    ))
}

pub async fn delete(
    State(app): State<App>,
    Query(q): Query<NamespaceQuery>,
    Posted { viewer: v, form: f }: Posted<IdForm>,
) -> ConsoleResult<Response> {
    let (instance, ns) = admin_namespace(&app, &v, &q).await?;
    let id: i64 = f.id.parse().map_err(|_| ConsoleError::NotFound)?;
    if !app.meta.delete_webhook_trigger(ns.id, id).await? {
        return Err(ConsoleError::NotFound);
    }
    tracing::info!(target: "berth::audit", action = "webhook.delete", trigger = id,
        namespace = %ns.name, user = %v.username, "webhook trigger deleted from the console");
    Ok(redirect(&repositories_href(&instance, &ns)))
}

pub async fn deliveries(
    State(app): State<App>,
    v: Viewer,
    Query(q): Query<TriggerQuery>,
) -> ConsoleResult<Response> {
    deliveries_page(&app, &v, &q).await
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
