//! Instance access tokens (registry logins for one instance, `docker login -u token-...`): the
//! list, creation (the token shown once) and deletion, through the management API's own
//! handlers (`kcr::tokens::{create, delete}`: CreateInstanceToken and DeleteInstanceToken) with
//! the parameters that API takes, so validation, hashing and the cache invalidation are its.
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use berth_store::Instance;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::error::{ConsoleError, ConsoleResult};
use super::forms::{IdForm, Posted, csrf_form};
use super::layout::{csrf_field, enc, html_response, page, redirect, time_ms};
use super::viewer::Viewer;
use crate::kcr::Ctx;
use crate::state::App;
use berth_kcr::params::Params;

#[derive(Deserialize)]
pub struct InstanceQuery {
    i: String,
}

fn ctx(app: &App, v: &Viewer, pairs: Vec<(String, String)>) -> ConsoleResult<Ctx> {
    let params = Params::from_pairs(pairs).map_err(|e| ConsoleError::Invalid(e.message))?;
    Ok(Ctx {
        app: app.clone(),
        params,
        caller: format!("console:{}", v.username),
        request_id: uuid::Uuid::new_v4().to_string(),
    })
}

async fn render(
    app: &App,
    v: &Viewer,
    instance: &Instance,
    issued: Option<(&str, &str)>,
    error: Option<&str>,
) -> ConsoleResult<Markup> {
    let (tokens, total) = app.meta.list_access_tokens(&instance.id, 0, 100).await?;
    let i = enc(&instance.id);
    Ok(page(
        v,
        "instances",
        &format!("Access tokens of {}", instance.name),
        html! {
            p class="crumbs" { a href="/ui/instances" { "Instances" } " / " a href={ "/ui/namespaces?i=" (i) } { (instance.name) } }
            @if let Some((user, token)) = issued {
                section class="secret" aria-labelledby="issued" {
                    h2 id="issued" { "Access token created" }
                    p { "Log in with this username and token; berth keeps only a hash of the token and will not show it again." }
                    dl class="facts" {
                        dt { "Username" } dd { code id="new-username" { (user) } }
                        dt { "Token" } dd { code id="new-access-token" class="wrap" { (token) } }
                    }
                }
            }
            section aria-labelledby="new" {
                h2 id="new" { "New access token" }
                @if let Some(e) = error { p class="error" role="alert" { (e) } }
                form method="post" action={ "/ui/access-tokens?i=" (i) } class="grid" {
                    (csrf_field(v))
                    div class="field" {
                        label for="desc" { "Description" }
                        input id="desc" name="desc" type="text" maxlength="256";
                    }
                    div class="field" {
                        label for="days" { "Valid for (days, empty: never expires)" }
                        input id="days" name="days" type="number" min="1" max="3650";
                    }
                    div class="field" { button type="submit" { "Create access token" } }
                }
            }
            section aria-labelledby="list" {
                h2 id="list" { "Tokens (" (total) ")" }
                table {
                    thead { tr { th scope="col" { "Username" } th scope="col" { "Description" } th scope="col" { "Created" } th scope="col" { "Expires" } th scope="col" { "Enabled" } th scope="col" { span class="sr-only" { "Actions" } } } }
                    tbody { @for t in &tokens {
                        tr data-access-token=(t.username) {
                            td { code { (t.username) } }
                            td { (t.description) }
                            td { (time_ms(t.created_at)) }
                            td { @if let Some(e) = t.expires_at { (time_ms(e)) } @else { "never" } }
                            td { @if t.enabled { "yes" } @else { "no" } }
                            td {
                                form method="post" action={ "/ui/access-tokens/delete?i=" (i) } data-confirm="Delete this access token? Logins with it stop at once." {
                                    (csrf_field(v))
                                    input type="hidden" name="id" value=(t.id);
                                    button type="submit" class="danger" aria-label={ "Delete " (t.username) } { "Delete" }
                                }
                            }
                        }
                    } }
                }
            }
        },
    ))
}

async fn admin_instance(app: &App, v: &Viewer, id: &str) -> ConsoleResult<Instance> {
    if !v.may_administer() {
        return Err(ConsoleError::Forbidden);
    }
    super::access::instance(app, id).await
}

pub async fn list(
    State(app): State<App>,
    v: Viewer,
    Query(q): Query<InstanceQuery>,
) -> ConsoleResult<Response> {
    let instance = admin_instance(&app, &v, &q.i).await?;
    Ok(html_response(
        StatusCode::OK,
        render(&app, &v, &instance, None, None).await?,
    ))
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    desc: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    csrf: String,
}

pub async fn create(
    State(app): State<App>,
    Query(q): Query<InstanceQuery>,
    Posted { viewer: v, form: f }: Posted<CreateForm>,
) -> ConsoleResult<Response> {
    let instance = admin_instance(&app, &v, &q.i).await?;
    let days = f.days.trim();
    let (token_type, time) = if days.is_empty() {
        ("NeverExpire", "1")
    } else {
        ("Day", days)
    };
    let mut pairs = vec![
        ("InstanceId".to_string(), instance.id.clone()),
        ("TokenType".to_string(), token_type.to_string()),
        ("TokenTime".to_string(), time.to_string()),
    ];
    if !f.desc.trim().is_empty() {
        pairs.push(("Desc".to_string(), f.desc.trim().to_string()));
    }
    let call = ctx(&app, &v, pairs)?;
    match crate::kcr::tokens::create(&call).await {
        Ok(reply) => {
            let field = |k: &str| {
                reply
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let (user, token) = (field("Username"), field("Token"));
            tracing::info!(target: "berth::audit", action = "access_token.create", instance = %instance.id,
                username = %user, user = %v.username, "access token created from the console");
            Ok(html_response(
                StatusCode::OK,
                render(&app, &v, &instance, Some((&user, &token)), None).await?,
            ))
        }
        Err(e) => Ok(html_response(
            StatusCode::BAD_REQUEST,
            render(&app, &v, &instance, None, Some(&e.message)).await?,
        )),
    }
}

pub async fn delete(
    State(app): State<App>,
    Query(q): Query<InstanceQuery>,
    Posted { viewer: v, form: f }: Posted<IdForm>,
) -> ConsoleResult<Response> {
    let instance = admin_instance(&app, &v, &q.i).await?;
    let call = ctx(
        &app,
        &v,
        vec![
            ("InstanceId".to_string(), instance.id.clone()),
            ("TokenId".to_string(), f.id.clone()),
        ],
    )?;
    crate::kcr::tokens::delete(&call)
        .await
        .map_err(|_| ConsoleError::NotFound)?;
    tracing::info!(target: "berth::audit", action = "access_token.delete", instance = %instance.id,
        token = %f.id, user = %v.username, "access token deleted from the console");
    Ok(redirect(&format!(
        "/ui/access-tokens?i={}",
        enc(&instance.id)
    )))
}

csrf_form!(CreateForm);
