//! Cluster protection: the policies of an instance (the HSS project), created from berth's
//! templates (listed with what each does), edited (name, action, threshold, scope) and deleted;
//! protection switched on or off per cluster; the admission events, paged. Writes go through
//! the cluster-protection API's own handlers (`hss::policies::{create, change, delete}`,
//! `hss::clusters::switch_mode`) with the body that API takes, so validation, storage and the
//! admission cache's invalidation are the API's.
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use berth_hss::policy::{Action, Policy, ProtectScope, RiskLevel, templates};
use berth_store::{ClusterRecord, ProtectionPolicy};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{ConsoleError, ConsoleResult};
use super::forms::{IdForm, Posted, csrf_form};
use super::layout::{csrf_field, enc, html_response, page, redirect, time_ms};
use super::viewer::Viewer;
use crate::hss::context::Call;
use crate::state::App;

/// Admission events per page, newest first.
const EVENTS_PER_PAGE: u64 = 50;
const LEVELS: [&str; 5] = ["security", "low", "medium", "high", "critical"];
const ACTIONS: [(Action, &str); 3] = [
    (Action::Alarm, "alarm"),
    (Action::Block, "block"),
    (Action::Allow, "allow"),
];

/// A policy's severity threshold, in words (0 Security to 4 Critical).
fn level_name(l: RiskLevel) -> &'static str {
    LEVELS
        .get(usize::from(l.value()))
        .copied()
        .unwrap_or("unknown")
}

fn action_name(a: Action) -> &'static str {
    ACTIONS
        .iter()
        .find(|(x, _)| *x == a)
        .map_or("unknown", |(_, n)| n)
}

#[derive(Deserialize)]
pub struct ProjectQuery {
    /// The instance (HSS project); the default instance when absent.
    i: Option<String>,
    /// The first admission event shown (an offset, newest first).
    #[serde(default)]
    ev: u64,
}

async fn project(app: &App, i: Option<&str>) -> ConsoleResult<String> {
    match i {
        Some(id) => Ok(super::access::instance(app, id).await?.id),
        None => Ok(app.default_instance.id.clone()),
    }
}

fn call(app: &App, project_id: &str, body: Vec<u8>) -> Call {
    Call {
        app: app.clone(),
        project_id: project_id.to_string(),
        query: Vec::new(),
        body: body.into(),
    }
}

fn list_href(project: &str) -> String {
    format!("/ui/policies?i={}", enc(project))
}

/// Where the policy applies, in words.
fn scope_text(p: &Policy) -> String {
    if p.resources.is_empty() || p.resources.iter().any(|r| r.cluster_id.is_empty()) {
        return "every cluster".to_string();
    }
    p.resources
        .iter()
        .map(|r| {
            if r.cluster_name.is_empty() {
                r.cluster_id.as_str()
            } else {
                r.cluster_name.as_str()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn templates_section() -> Markup {
    html! {
        section aria-labelledby="templates" {
            h2 id="templates" { "Templates" }
            div class="scroll" {
                table {
                    thead { tr { th scope="col" { "Template" } th scope="col" { "Type" } th scope="col" { "Action" } th scope="col" { "Threshold" } th scope="col" { "What it does" } } }
                    tbody { @for t in templates() {
                        tr {
                            td { (t.name) br; small { code { (t.id) } } }
                            td { (t.content.policy_type.as_str()) }
                            td { (action_name(t.content.action)) }
                            td { @if t.content.risky_item.is_empty() { "≥ " (level_name(t.content.severity)) } @else { (t.content.risky_item.join(", ")) } }
                            td { (t.description) }
                        }
                    } }
                }
            }
        }
    }
}

fn events_pager(project: &str, offset: u64, total: u64) -> Markup {
    let i = enc(project);
    html! {
        nav class="pager" aria-label="Admission events pages" {
            @if offset > 0 {
                a href={ "/ui/policies?i=" (i) "&ev=" (offset.saturating_sub(EVENTS_PER_PAGE)) "#events" } { "← Newer" }
            }
            @if offset + EVENTS_PER_PAGE < total {
                a href={ "/ui/policies?i=" (i) "&ev=" (offset + EVENTS_PER_PAGE) "#events" } { "Older →" }
            }
        }
    }
}

async fn render(
    app: &App,
    v: &Viewer,
    project_id: &str,
    events_from: u64,
    error: Option<&str>,
) -> ConsoleResult<Markup> {
    let policies = app.meta.list_protection_policies(project_id).await?;
    let clusters = app.meta.list_clusters().await?;
    let events = app
        .meta
        .list_protection_events(project_id, None, events_from, EVENTS_PER_PAGE)
        .await?;
    let parsed: Vec<(&ProtectionPolicy, Option<Policy>)> = policies
        .iter()
        .map(|p| (p, Policy::from_json(p.document.as_bytes()).ok()))
        .collect();
    let i = enc(project_id);
    Ok(page(
        v,
        "policies",
        "Protection policies",
        html! {
            section aria-labelledby="new" {
                h2 id="new" { "New policy" }
                @if let Some(e) = error { p class="error" role="alert" { (e) } }
                form method="post" action={ "/ui/policies?i=" (i) } class="grid" {
                    (csrf_field(v))
                    div class="field" {
                        label for="name" { "Name" }
                        input id="name" name="name" type="text" required maxlength="128";
                    }
                    div class="field wide" {
                        label for="template" { "Template" }
                        select id="template" name="template" {
                            @for t in templates() { option value=(t.id) { (t.name) } }
                        }
                    }
                    div class="field" {
                        label for="cluster" { "Cluster" }
                        (cluster_select(&clusters, ""))
                    }
                    div class="field" { button type="submit" { "Create policy" } }
                }
            }
            section aria-labelledby="list" {
                h2 id="list" { "Policies (" (parsed.len()) ")" }
                div class="scroll" {
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Action" } th scope="col" { "Applies to" } th scope="col" { "Updated" } th scope="col" { span class="sr-only" { "Actions" } } } }
                    tbody {
                        @for (row, p) in &parsed {
                            tr data-policy=(row.policy_name) {
                                td { (row.policy_name) }
                                @if let Some(p) = p {
                                    td { (p.content.policy_type.as_str()) ", severity ≥ " (level_name(p.content.severity)) }
                                    td { (action_name(p.content.action)) }
                                    td { (scope_text(p)) }
                                } @else { td {} td {} td {} }
                                td { (time_ms(row.updated_at)) }
                                td class="actions" {
                                    @if p.is_some() {
                                        a href={ "/ui/policies/edit?i=" (i) "&id=" (enc(&row.policy_id)) } aria-label={ "Edit " (row.policy_name) } { "Edit" }
                                    }
                                    form class="inline" method="post" action={ "/ui/policies/delete?i=" (i) } data-confirm="Delete this policy? Admission stops applying it at once." {
                                        (csrf_field(v))
                                        input type="hidden" name="id" value=(row.policy_id);
                                        button type="submit" class="danger" aria-label={ "Delete " (row.policy_name) } { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
                }
            }
            (templates_section())
            section aria-labelledby="clusters" {
                h2 id="clusters" { "Protection per cluster" }
                @if clusters.is_empty() { p { "No cluster reports to berth yet (" code { "berth admin cluster create" } ")." } }
                @else {
                    table {
                        thead { tr { th scope="col" { "Cluster" } th scope="col" { "Type" } th scope="col" { "Protection" } th scope="col" { span class="sr-only" { "Actions" } } } }
                        tbody {
                            @for c in &clusters {
                                @let on = c.protection == "protected";
                                tr {
                                    td { (c.name) br; small { code { (c.id) } } }
                                    td { (c.cluster_type) }
                                    td { span class={ "badge " @if on { "active" } @else { "expired" } } { (c.protection) } }
                                    td {
                                        form method="post" action={ "/ui/policies/protection?i=" (i) } {
                                            (csrf_field(v))
                                            input type="hidden" name="cluster" value=(c.id);
                                            input type="hidden" name="on" value=(if on { "0" } else { "1" });
                                            button type="submit" aria-label={ @if on { "Disable" } @else { "Enable" } " protection of " (c.name) } { @if on { "Disable" } @else { "Enable" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="events" {
                h2 id="events" { "Admission events (" (events.total) ")" }
                @if events.items.is_empty() { p { @if events_from > 0 { "No events on this page." } @else { "None yet." } } } @else {
                    p class="muted" { "Newest first; " (events_from + 1) "–" (events_from + events.items.len() as u64) " of " (events.total) "." }
                    div class="scroll" {
                    table {
                        thead { tr { th scope="col" { "When" } th scope="col" { "Cluster" } th scope="col" { "Policy" } th scope="col" { "Action" } th scope="col" { "Event" } th scope="col" { "Status" } } }
                        tbody { @for e in &events.items {
                            tr { td { (time_ms(e.created_at)) } td { (e.cluster_name) } td { (e.policy_name) } td { (e.action) } td { (e.event_name) } td { (e.handle_status) } }
                        } }
                    }
                    }
                }
                (events_pager(project_id, events_from, events.total))
            }
        },
    ))
}

fn cluster_select(clusters: &[ClusterRecord], selected: &str) -> Markup {
    html! {
        select id="cluster" name="cluster" {
            option value="" selected[selected.is_empty()] { "every cluster" }
            @for c in clusters { option value=(c.id) selected[c.id == selected] { (c.name) } }
        }
    }
}

pub async fn list(
    State(app): State<App>,
    v: Viewer,
    Query(q): Query<ProjectQuery>,
) -> ConsoleResult<Response> {
    v.admin_only()?;
    let project = project(&app, q.i.as_deref()).await?;
    Ok(html_response(
        StatusCode::OK,
        render(&app, &v, &project, q.ev, None).await?,
    ))
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    cluster: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct ProtectionForm {
    cluster: String,
    on: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    cluster: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    fixable_only: Option<String>,
    #[serde(default)]
    unscanned_may_start: Option<String>,
    #[serde(default)]
    csrf: String,
}

csrf_form!(CreateForm, ProtectionForm, EditForm);

/// A policy id from its name: lowercase letters, digits and dashes, and a random suffix so two
/// policies of one name do not collide.
fn policy_id(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let suffix = &super::session::random_token()[..6];
    format!("{}-{suffix}", slug.trim_matches('-'))
}

/// The scope a form's cluster field names: every cluster when empty.
async fn scope(app: &App, cluster: &str) -> ConsoleResult<Result<Vec<ProtectScope>, String>> {
    if cluster.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    Ok(match app.meta.get_cluster(cluster).await? {
        Some(c) => Ok(vec![ProtectScope {
            cluster_name: c.name,
            cluster_id: c.id,
            ..Default::default()
        }]),
        None => Err("Cluster: no such cluster.".to_string()),
    })
}

pub async fn create(
    State(app): State<App>,
    Query(q): Query<ProjectQuery>,
    Posted { viewer: v, form: f }: Posted<CreateForm>,
) -> ConsoleResult<Response> {
    v.admin_only()?;
    let project = project(&app, q.i.as_deref()).await?;
    let invalid = async |m: &str| {
        Ok(html_response(
            StatusCode::BAD_REQUEST,
            render(&app, &v, &project, 0, Some(m)).await?,
        ))
    };
    let name = f.name.trim();
    if name.is_empty() {
        return invalid("Name: required.").await;
    }
    let Some(template) = templates().into_iter().find(|t| t.id == f.template) else {
        return invalid("Template: choose one of the list.").await;
    };
    let mut policy = template.instantiate(&policy_id(name), name);
    match scope(&app, &f.cluster).await? {
        Ok(s) => policy.resources = s,
        Err(m) => return invalid(&m).await,
    }
    let body = serde_json::to_vec(&policy).map_err(|e| ConsoleError::Internal(e.to_string()))?;
    if let Err(e) = crate::hss::policies::create(&call(&app, &project, body)).await {
        return invalid(&e.message).await;
    }
    tracing::info!(target: "berth::audit", action = "policy.create", policy = %policy.policy_id,
        user = %v.username, "protection policy created from the console");
    Ok(redirect(&list_href(&project)))
}

#[derive(Deserialize)]
pub struct PolicyQuery {
    i: Option<String>,
    #[serde(default)]
    id: String,
}

/// The stored policy the query names.
async fn stored(app: &App, project: &str, id: &str) -> ConsoleResult<Policy> {
    let row = app
        .meta
        .get_protection_policy(project, id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    Policy::from_json(row.document.as_bytes()).map_err(|e| ConsoleError::Internal(e.to_string()))
}

async fn edit_page(
    app: &App,
    v: &Viewer,
    project: &str,
    p: &Policy,
    error: Option<&str>,
) -> ConsoleResult<Markup> {
    let clusters = app.meta.list_clusters().await?;
    let current = p
        .resources
        .first()
        .filter(|_| p.resources.len() == 1)
        .map_or("", |r| r.cluster_id.as_str());
    let i = enc(project);
    Ok(page(
        v,
        "policies",
        &format!("Edit policy {}", p.policy_name),
        html! {
            p class="crumbs" { a href={ "/ui/policies?i=" (i) } { "Protection policies" } }
            dl class="facts" {
                dt { "Id" } dd { code { (p.policy_id) } }
                dt { "Type" } dd { (p.content.policy_type.as_str()) }
                dt { "Template" } dd { (p.template_id) }
                @if !p.content.risky_item.is_empty() { dt { "Items" } dd { (p.content.risky_item.join(", ")) } }
            }
            @if let Some(e) = error { p class="error" role="alert" { (e) } }
            form method="post" action={ "/ui/policies/edit?i=" (i) "&id=" (enc(&p.policy_id)) } class="grid" {
                (csrf_field(v))
                div class="field" {
                    label for="name" { "Name" }
                    input id="name" name="name" type="text" required maxlength="128" value=(p.policy_name);
                }
                div class="field" {
                    label for="action" { "Action" }
                    select id="action" name="action" {
                        @for (a, n) in ACTIONS { option value=(n) selected[a == p.content.action] { (n) } }
                    }
                }
                div class="field" {
                    label for="severity" { "Least severity that counts" }
                    select id="severity" name="severity" {
                        @for (n, l) in LEVELS.iter().enumerate() { option value=(n) selected[n == usize::from(p.content.severity.value())] { (l) } }
                    }
                }
                div class="field" {
                    label for="cluster" { "Cluster" }
                    (cluster_select(&clusters, current))
                    @if p.resources.len() > 1 { small { "Now: " (scope_text(p)) "; saving sets one scope." } }
                }
                div class="field" {
                    label { input type="checkbox" name="fixable_only" value="1" checked[p.content.fixable_only]; " Only fixable vulnerabilities count" }
                    label { input type="checkbox" name="unscanned_may_start" value="1" checked[p.content.enable_image_startup]; " Images never scanned may start" }
                }
                div class="field" { button type="submit" { "Save policy" } }
            }
        },
    ))
}

pub async fn edit(
    State(app): State<App>,
    v: Viewer,
    Query(q): Query<PolicyQuery>,
) -> ConsoleResult<Response> {
    v.admin_only()?;
    let project = project(&app, q.i.as_deref()).await?;
    let p = stored(&app, &project, &q.id).await?;
    Ok(html_response(
        StatusCode::OK,
        edit_page(&app, &v, &project, &p, None).await?,
    ))
}

pub async fn save(
    State(app): State<App>,
    Query(q): Query<PolicyQuery>,
    Posted { viewer: v, form: f }: Posted<EditForm>,
) -> ConsoleResult<Response> {
    v.admin_only()?;
    let project = project(&app, q.i.as_deref()).await?;
    let mut p = stored(&app, &project, &q.id).await?;
    let before = p.clone();
    let invalid = async |m: &str| {
        Ok(html_response(
            StatusCode::BAD_REQUEST,
            edit_page(&app, &v, &project, &before, Some(m)).await?,
        ))
    };
    let name = f.name.trim();
    if name.is_empty() {
        return invalid("Name: required.").await;
    }
    let Some((action, _)) = ACTIONS.iter().find(|(_, n)| *n == f.action) else {
        return invalid("Action: choose alarm, block or allow.").await;
    };
    let Some(severity) = f.severity.parse::<i64>().ok().and_then(RiskLevel::new) else {
        return invalid("Least severity: choose one of the list.").await;
    };
    p.policy_name = name.to_string();
    p.content.action = *action;
    p.content.severity = severity;
    p.content.fixable_only = f.fixable_only.is_some();
    p.content.enable_image_startup = f.unscanned_may_start.is_some();
    // An unchanged single-cluster choice keeps the scope's namespaces, images and labels.
    let unchanged = p.resources.len() == 1 && p.resources[0].cluster_id == f.cluster;
    if !unchanged {
        match scope(&app, &f.cluster).await? {
            Ok(s) => p.resources = s,
            Err(m) => return invalid(&m).await,
        }
    }
    let body = serde_json::to_vec(&p).map_err(|e| ConsoleError::Internal(e.to_string()))?;
    if let Err(e) = crate::hss::policies::change(&call(&app, &project, body)).await {
        return invalid(&e.message).await;
    }
    tracing::info!(target: "berth::audit", action = "policy.change", policy = %p.policy_id,
        user = %v.username, "protection policy changed from the console");
    Ok(redirect(&list_href(&project)))
}

pub async fn delete(
    State(app): State<App>,
    Query(q): Query<ProjectQuery>,
    Posted { viewer: v, form: f }: Posted<IdForm>,
) -> ConsoleResult<Response> {
    v.admin_only()?;
    let project = project(&app, q.i.as_deref()).await?;
    let body = serde_json::json!({ "policy_id": f.id })
        .to_string()
        .into_bytes();
    crate::hss::policies::delete(&call(&app, &project, body))
        .await
        .map_err(|e| {
            if e.status == StatusCode::NOT_FOUND {
                ConsoleError::NotFound
            } else {
                ConsoleError::Invalid(e.message)
            }
        })?;
    tracing::info!(target: "berth::audit", action = "policy.delete", policy = %f.id,
        user = %v.username, "protection policy deleted from the console");
    Ok(redirect(&list_href(&project)))
}

pub async fn protection(
    State(app): State<App>,
    Query(q): Query<ProjectQuery>,
    Posted { viewer: v, form: f }: Posted<ProtectionForm>,
) -> ConsoleResult<Response> {
    v.admin_only()?;
    let project = project(&app, q.i.as_deref()).await?;
    let body =
        serde_json::json!({"cluster_ids": [f.cluster], "opr": if f.on == "1" { 1 } else { 0 }});
    crate::hss::clusters::switch_mode(&call(&app, &project, body.to_string().into_bytes()))
        .await
        .map_err(|e| ConsoleError::Invalid(e.message))?;
    tracing::info!(target: "berth::audit", action = "cluster.protection", cluster = %f.cluster,
        on = %f.on, user = %v.username, "cluster protection switched from the console");
    Ok(redirect(&list_href(&project)))
}
