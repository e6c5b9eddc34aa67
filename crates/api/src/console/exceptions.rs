//! Exceptions: the list (in force, expired, revoked), what each suppresses (its scope, in
//! words), creation with a reason and an expiry, revocation. Through the same
//! `crate::exceptions::{create, revoke}` as `/api/v1/exceptions`, with the same validation
//! and audit lines; the author is `console:<user>`.
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use berth_hss::policy::ExceptionScope;
use berth_store::ExceptionRecord;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{ConsoleError, ConsoleResult};
use super::forms::{IdForm, Posted, csrf_form};
use super::layout::{csrf_field, html_response, page, redirect, time_ms, time_s};
use super::viewer::Viewer;
use crate::exceptions::{self, NewException, unix_now};
use crate::state::App;

/// The create form's fields (also its prefill from an image page's finding).
#[derive(Deserialize, Default)]
pub struct ExceptionForm {
    #[serde(default)]
    image: String,
    #[serde(default)]
    package: String,
    #[serde(default)]
    vulnerability: String,
    #[serde(default)]
    cluster: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    csrf: String,
}

fn state(r: &ExceptionRecord, now: i64) -> &'static str {
    if r.revoked_at.is_some() {
        "revoked"
    } else if r.expires_at <= now {
        "expired"
    } else {
        "active"
    }
}

/// What an exception covers, in words.
fn scope_words(r: &ExceptionRecord) -> String {
    let mut parts = Vec::new();
    match &r.vulnerability {
        Some(v) => parts.push(format!("finding {v}")),
        None => parts.push("every finding".to_string()),
    }
    if let Some(p) = &r.package {
        parts.push(format!("in package {p}"));
    }
    match &r.image {
        Some(i) => parts.push(format!("of images matching {i}")),
        None => parts.push("of every image".to_string()),
    }
    if let Some(c) = &r.cluster_id {
        parts.push(format!("in cluster {c}"));
    }
    if let Some(n) = &r.namespace {
        parts.push(format!("in Kubernetes namespace {n}"));
    }
    parts.join(" ")
}

fn field(id: &str, label: &str, value: &str, hint: &str) -> Markup {
    html! {
        div class="field" {
            label for=(id) { (label) }
            input id=(id) name=(id) type="text" value=(value) aria-describedby={ (id) "-hint" };
            small id={ (id) "-hint" } { (hint) }
        }
    }
}

fn render(
    app_now: i64,
    v: &Viewer,
    list: &[ExceptionRecord],
    form: &ExceptionForm,
    error: Option<&str>,
) -> Markup {
    let days = if form.days.is_empty() {
        "30"
    } else {
        &form.days
    };
    let body = html! {
        section aria-labelledby="new" {
            h2 id="new" { "New exception" }
            @if let Some(e) = error { p class="error" role="alert" { (e) } }
            form method="post" action="/ui/exceptions" class="grid" {
                (csrf_field(v))
                (field("image", "Image or repository", &form.image, "team/app, team/app:1.0 or team/app@sha256:…; empty: every image"))
                (field("vulnerability", "Vulnerability or check", &form.vulnerability, "CVE-2024-1234, a baseline check id or a malware rule"))
                (field("package", "Package", &form.package, "optional"))
                (field("cluster", "Cluster id", &form.cluster, "optional"))
                (field("namespace", "Kubernetes namespace", &form.namespace, "optional"))
                div class="field wide" {
                    label for="reason" { "Reason (required)" }
                    textarea id="reason" name="reason" rows="2" required { (form.reason) }
                }
                div class="field" {
                    label for="days" { "Expires in (days)" }
                    input id="days" name="days" type="number" min="1" max="1098" value=(days) required;
                }
                div class="field" { button type="submit" { "Create exception" } }
            }
        }
        section aria-labelledby="list" {
            h2 id="list" { "Exceptions" }
            div class="scroll" {
            table {
                thead { tr {
                    th scope="col" { "Id" } th scope="col" { "Suppresses" } th scope="col" { "Reason" }
                    th scope="col" { "Author" } th scope="col" { "Expires" } th scope="col" { "State" } th scope="col" { span class="sr-only" { "Actions" } }
                } }
                tbody {
                    @for r in list {
                        @let st = state(r, app_now);
                        tr data-exception=(r.id) {
                            td { code { (r.id) } }
                            td { (scope_words(r)) }
                            td { (r.reason) }
                            td { (r.author) br; small { (time_ms(r.created_at)) } }
                            td { (time_s(r.expires_at)) }
                            td { span class={ "badge " (st) } { (st) } }
                            td {
                                @if st == "active" {
                                    form method="post" action="/ui/exceptions/revoke" data-confirm="Revoke this exception?" {
                                        (csrf_field(v))
                                        input type="hidden" name="id" value=(r.id);
                                        button type="submit" class="danger" aria-label={ "Revoke " (r.id) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            }
        }
    };
    page(v, "exceptions", "Exceptions", body)
}

pub async fn list(
    State(app): State<App>,
    v: Viewer,
    Query(prefill): Query<ExceptionForm>,
) -> ConsoleResult<Response> {
    v.admin_only()?;
    let list = app.meta.list_exceptions().await?;
    Ok(html_response(
        StatusCode::OK,
        render(unix_now(), &v, &list, &prefill, None),
    ))
}

pub async fn create(
    State(app): State<App>,
    Posted { viewer: v, form: f }: Posted<ExceptionForm>,
) -> ConsoleResult<Response> {
    v.admin_only()?;
    let opt = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
    let days: i64 = match f.days.trim().parse() {
        Ok(d) if d > 0 => d,
        _ => {
            let list = app.meta.list_exceptions().await?;
            return Ok(html_response(
                StatusCode::BAD_REQUEST,
                render(
                    unix_now(),
                    &v,
                    &list,
                    &f,
                    Some("Expires in: a whole number of days, 1 or more."),
                ),
            ));
        }
    };
    let item = NewException {
        scope: ExceptionScope {
            cluster_id: opt(&f.cluster),
            namespace: opt(&f.namespace),
            image_or_repository: opt(&f.image),
            package: opt(&f.package),
            vulnerability_or_check: opt(&f.vulnerability),
        },
        reason: f.reason.clone(),
        expires_at: unix_now().saturating_add(days.saturating_mul(86_400)),
    };
    let author = format!("console:{}", v.username);
    match exceptions::create(
        app.meta.as_ref(),
        &author,
        "console",
        std::slice::from_ref(&item),
    )
    .await
    {
        Ok(_) => {
            app.admission.changed();
            Ok(redirect("/ui/exceptions"))
        }
        Err(exceptions::ExceptionError::Store(e)) => Err(e.into()),
        Err(e) => {
            let list = app.meta.list_exceptions().await?;
            Ok(html_response(
                StatusCode::BAD_REQUEST,
                render(unix_now(), &v, &list, &f, Some(&e.to_string())),
            ))
        }
    }
}

pub async fn revoke(
    State(app): State<App>,
    Posted { viewer: v, form: f }: Posted<IdForm>,
) -> ConsoleResult<Response> {
    v.admin_only()?;
    match exceptions::revoke(app.meta.as_ref(), &f.id, &format!("console:{}", v.username)).await {
        Ok(()) => {
            app.admission.changed();
            Ok(redirect("/ui/exceptions"))
        }
        Err(exceptions::ExceptionError::Store(e)) => Err(e.into()),
        Err(_) => Err(ConsoleError::NotFound),
    }
}

csrf_form!(ExceptionForm);
