//! API tokens (berth's bearer tokens for its JSON APIs): the list, creation (the secret is
//! shown once, on the page that answers the form, and never again) and revocation, through
//! `crate::api_tokens::create` and the store's revocation, as `CreateApiToken` and
//! `DeleteApiToken` do.
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use berth_store::{ApiTokenRecord, now_millis};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{ConsoleError, ConsoleResult};
use super::forms::{IdForm, Posted, csrf_form};
use super::layout::{csrf_field, html_response, page, redirect, time_ms};
use super::viewer::Viewer;
use crate::api_tokens::{self, ApiRole, ApiTokenError, IssuedApiToken};
use crate::state::App;

fn state(t: &ApiTokenRecord, now: i64) -> &'static str {
    if t.revoked_at.is_some() {
        "revoked"
    } else if t.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    }
}

fn render(
    v: &Viewer,
    list: &[ApiTokenRecord],
    issued: Option<&IssuedApiToken>,
    error: Option<&str>,
) -> Markup {
    let now = now_millis();
    let body = html! {
        @if let Some(t) = issued {
            section class="secret" aria-labelledby="issued" {
                h2 id="issued" { "Token " (t.record.name) " created" }
                p { "Copy it now: berth keeps only its hash and will not show it again." }
                p { code id="new-token" class="wrap" { (t.token) } }
            }
        }
        section aria-labelledby="new" {
            h2 id="new" { "New API token" }
            @if let Some(e) = error { p class="error" role="alert" { (e) } }
            form method="post" action="/ui/tokens" class="grid" {
                (csrf_field(v))
                div class="field" {
                    label for="name" { "Name" }
                    input id="name" name="name" type="text" required maxlength="128";
                }
                div class="field" {
                    label for="role" { "Role" }
                    select id="role" name="role" {
                        @for r in ApiRole::ALL { option value=(r.as_str()) selected[r == ApiRole::ReadOnly] { (r.as_str()) } }
                    }
                }
                div class="field" {
                    label for="days" { "Expires in (days, empty: never)" }
                    input id="days" name="days" type="number" min="1" max="3650";
                }
                div class="field" { button type="submit" { "Create token" } }
            }
        }
        section aria-labelledby="list" {
            h2 id="list" { "Tokens" }
            table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Created" }
                    th scope="col" { "Expires" } th scope="col" { "State" } th scope="col" { span class="sr-only" { "Actions" } }
                } }
                tbody {
                    @for t in list {
                        @let st = state(t, now);
                        tr data-token=(t.name) {
                            td { (t.name) br; small { code { (t.id) } } }
                            td { (t.role) }
                            td { (time_ms(t.created_at)) }
                            td { @if let Some(e) = t.expires_at { (time_ms(e)) } @else { "never" } }
                            td { span class={ "badge " (st) } { (st) } }
                            td {
                                @if st == "active" {
                                    form method="post" action="/ui/tokens/revoke" data-confirm="Revoke this token? Clients using it stop working at once." {
                                        (csrf_field(v))
                                        input type="hidden" name="id" value=(t.id);
                                        button type="submit" class="danger" aria-label={ "Revoke " (t.name) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(v, "tokens", "API tokens", body)
}

pub async fn list(State(app): State<App>, v: Viewer) -> ConsoleResult<Response> {
    v.admin_only()?;
    let list = app.meta.list_api_tokens().await?;
    Ok(html_response(StatusCode::OK, render(&v, &list, None, None)))
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    csrf: String,
}

pub async fn create(
    State(app): State<App>,
    Posted { viewer: v, form: f }: Posted<CreateForm>,
) -> ConsoleResult<Response> {
    v.admin_only()?;
    let (app_ref, v_ref) = (&app, &v);
    let invalid = |message: String| async move {
        let list = app_ref.meta.list_api_tokens().await?;
        Ok::<_, ConsoleError>(html_response(
            StatusCode::BAD_REQUEST,
            render(v_ref, &list, None, Some(&message)),
        ))
    };
    let Some(role) = ApiRole::parse(&f.role) else {
        return invalid("Role: choose one of the list.".into()).await;
    };
    let ttl = match f.days.trim() {
        "" => None,
        d => match d.parse::<u64>() {
            Ok(n) if n > 0 => Some(n.saturating_mul(86_400)),
            _ => return invalid("Expires in: a whole number of days, or empty.".into()).await,
        },
    };
    match api_tokens::create(app.meta.as_ref(), f.name.trim(), role, ttl).await {
        Ok(issued) => {
            tracing::info!(target: "berth::audit", action = "api_token.create", token = %issued.record.id,
                role = role.as_str(), user = %v.username, "API token created from the console");
            let list = app.meta.list_api_tokens().await?;
            Ok(html_response(
                StatusCode::OK,
                render(&v, &list, Some(&issued), None),
            ))
        }
        Err(ApiTokenError::Store(e)) => Err(e.into()),
        Err(e) => invalid(e.to_string()).await,
    }
}

pub async fn revoke(
    State(app): State<App>,
    Posted { viewer: v, form: f }: Posted<IdForm>,
) -> ConsoleResult<Response> {
    v.admin_only()?;
    if !app.meta.revoke_api_token(&f.id).await? {
        return Err(ConsoleError::NotFound);
    }
    tracing::info!(target: "berth::audit", action = "api_token.revoke", token = %f.id,
        user = %v.username, "API token revoked from the console");
    Ok(redirect("/ui/tokens"))
}

csrf_form!(CreateForm);
