//! Cluster protection: the policies of an instance (the HSS project), created from berth's
//! templates and scoped to one cluster or all; protection switched on or off per cluster; the
//! admission events. Writes go through the cluster-protection API's own handlers
//! (`hss::policies::create`, `hss::clusters::switch_mode`) with the body that API takes, so
//! validation, storage and the admission cache's invalidation are the API's.
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use berth_hss::policy::{Policy, ProtectScope, templates};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{ConsoleError, ConsoleResult};
use super::layout::{csrf_field, enc, html_response, page, redirect, time_ms};
use super::viewer::{Viewer, csrf_ok, here, viewer};
use crate::hss::context::Call;
use crate::state::App;

/// A policy's severity threshold, in words (0 Security to 4 Critical).
fn level_name(l: berth_hss::policy::RiskLevel) -> &'static str {
    ["security", "low", "medium", "high", "critical"]
        .get(usize::from(l.value()))
        .copied()
        .unwrap_or("unknown")
}

fn admin(v: &Viewer) -> ConsoleResult<()> {
    if v.may_administer() {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden)
    }
}

#[derive(Deserialize)]
pub struct ProjectQuery {
    /// The instance (HSS project); the default instance when absent.
    i: Option<String>,
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

async fn render(
    app: &App,
    v: &Viewer,
    project_id: &str,
    error: Option<&str>,
) -> ConsoleResult<Markup> {
    let policies = app.meta.list_protection_policies(project_id).await?;
    let clusters = app.meta.list_clusters().await?;
    let events = app
        .meta
        .list_protection_events(project_id, None, 0, 50)
        .await?;
    let parsed: Vec<(String, Option<Policy>, i64)> = policies
        .iter()
        .map(|p| {
            (
                p.policy_name.clone(),
                serde_json::from_str::<Policy>(&p.document).ok(),
                p.updated_at,
            )
        })
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
                        select id="cluster" name="cluster" {
                            option value="" { "every cluster" }
                            @for c in &clusters { option value=(c.id) { (c.name) } }
                        }
                    }
                    div class="field" { button type="submit" { "Create policy" } }
                }
            }
            section aria-labelledby="list" {
                h2 id="list" { "Policies (" (parsed.len()) ")" }
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Action" } th scope="col" { "Applies to" } th scope="col" { "Updated" } } }
                    tbody {
                        @for (name, p, updated) in &parsed {
                            tr {
                                td { (name) }
                                @if let Some(p) = p {
                                    td { (p.content.policy_type.as_str()) ", severity ≥ " (level_name(p.content.severity)) }
                                    td { (format!("{:?}", p.content.action).to_lowercase()) }
                                    td { @if p.resources.is_empty() || p.resources.iter().any(|r| r.cluster_id.is_empty()) { "every cluster" }
                                         @else { @for r in &p.resources { (if r.cluster_name.is_empty() { &r.cluster_id } else { &r.cluster_name }) " " } } }
                                } @else { td {} td {} td {} }
                                td { (time_ms(*updated)) }
                            }
                        }
                    }
                }
            }
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
                @if events.items.is_empty() { p { "None yet." } } @else {
                    div class="scroll" {
                    table {
                        thead { tr { th scope="col" { "When" } th scope="col" { "Cluster" } th scope="col" { "Policy" } th scope="col" { "Action" } th scope="col" { "Event" } th scope="col" { "Status" } } }
                        tbody { @for e in &events.items {
                            tr { td { (time_ms(e.created_at)) } td { (e.cluster_name) } td { (e.policy_name) } td { (e.action) } td { (e.event_name) } td { (e.handle_status) } }
                        } }
                    }
                    }
                }
            }
        },
    ))
}

pub async fn list(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<ProjectQuery>,
) -> Response {
    let v = match viewer(&app, &headers, here(&uri)).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    async {
        admin(&v)?;
        let project = project(&app, q.i.as_deref()).await?;
        Ok::<_, ConsoleError>(html_response(
            StatusCode::OK,
            render(&app, &v, &project, None).await?,
        ))
    }
    .await
    .into_response()
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

pub async fn create(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<ProjectQuery>,
    Form(f): Form<CreateForm>,
) -> Response {
    let v = match viewer(&app, &headers, here(&uri)).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    async {
        admin(&v)?;
        if !csrf_ok(&app, &v, &f.csrf) {
            return Err(ConsoleError::Csrf);
        }
        let project = project(&app, q.i.as_deref()).await?;
        let invalid = |m: &str| {
            let m = m.to_string();
            let (app, v, project) = (&app, &v, &project);
            async move {
                Ok(html_response(
                    StatusCode::BAD_REQUEST,
                    render(app, v, project, Some(&m)).await?,
                ))
            }
        };
        let name = f.name.trim();
        if name.is_empty() {
            return invalid("Name: required.").await;
        }
        let Some(template) = templates().into_iter().find(|t| t.id == f.template) else {
            return invalid("Template: choose one of the list.").await;
        };
        let mut policy = template.instantiate(&policy_id(name), name);
        if !f.cluster.is_empty() {
            let Some(c) = app.meta.get_cluster(&f.cluster).await? else {
                return invalid("Cluster: no such cluster.").await;
            };
            policy.resources = vec![ProtectScope {
                cluster_name: c.name,
                cluster_id: c.id,
                ..Default::default()
            }];
        }
        let body =
            serde_json::to_vec(&policy).map_err(|e| ConsoleError::Internal(e.to_string()))?;
        if let Err(e) = crate::hss::policies::create(&call(&app, &project, body)).await {
            return invalid(&e.message).await;
        }
        tracing::info!(target: "berth::audit", action = "policy.create", policy = %policy.policy_id,
            user = %v.username, "protection policy created from the console");
        Ok(redirect(&format!("/ui/policies?i={}", enc(&project))))
    }
    .await
    .into_response()
}

#[derive(Deserialize)]
pub struct ProtectionForm {
    cluster: String,
    on: String,
    #[serde(default)]
    csrf: String,
}

pub async fn protection(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<ProjectQuery>,
    Form(f): Form<ProtectionForm>,
) -> Response {
    let v = match viewer(&app, &headers, here(&uri)).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    async {
        admin(&v)?;
        if !csrf_ok(&app, &v, &f.csrf) {
            return Err(ConsoleError::Csrf);
        }
        let project = project(&app, q.i.as_deref()).await?;
        let body =
            serde_json::json!({"cluster_ids": [f.cluster], "opr": if f.on == "1" { 1 } else { 0 }});
        crate::hss::clusters::switch_mode(&call(&app, &project, body.to_string().into_bytes()))
            .await
            .map_err(|e| ConsoleError::Invalid(e.message))?;
        tracing::info!(target: "berth::audit", action = "cluster.protection", cluster = %f.cluster,
            on = %f.on, user = %v.username, "cluster protection switched from the console");
        Ok(redirect(&format!("/ui/policies?i={}", enc(&project))))
    }
    .await
    .into_response()
}
