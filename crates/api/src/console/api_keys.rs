//! Management API keys (the access key id and secret that sign `/?Action=...` requests with
//! SigV4, as the vendor SDKs do): the list (never a secret), creation (the secret shown once,
//! on the page that answers the form) and revocation (the key is deleted: a request it signs
//! is refused at once, since signatures look the key up on every request). Through
//! `kcr::keys::create_api_key` and the store, as `berth admin access-key` does.
//! Administrators only.
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use berth_store::ApiKey;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{ConsoleError, ConsoleResult};
use super::forms::{IdForm, Posted, csrf_form};
use super::layout::{csrf_field, html_response, page, redirect, time_ms};
use super::viewer::Viewer;
use crate::kcr::keys::{self, KeyError, NewApiKey};
use crate::state::App;

/// The longest description accepted.
const MAX_DESCRIPTION: usize = 200;

fn render(v: &Viewer, list: &[ApiKey], issued: Option<&NewApiKey>, error: Option<&str>) -> Markup {
    let body = html! {
        p { "Keys sign requests to the management APIs (the KCR-compatible " code { "/?Action=…" } " API) with SigV4. "
            "berth keeps each secret sealed under its master key." }
        @if let Some(k) = issued {
            section class="secret" aria-labelledby="issued" {
                h2 id="issued" { "Key created" }
                p { "Copy the secret now: it will not be shown again." }
                dl class="facts" {
                    dt { "Access key id" } dd { code id="new-key-id" { (k.access_key_id) } }
                    dt { "Secret access key" } dd { code id="new-key-secret" class="wrap" { (k.secret_access_key) } }
                }
            }
        }
        section aria-labelledby="new" {
            h2 id="new" { "New API key" }
            @if let Some(e) = error { p class="error" role="alert" id="key-error" { (e) } }
            form method="post" action="/ui/api-keys" class="grid" {
                (csrf_field(v))
                div class="field" {
                    label for="description" { "Description" }
                    input id="description" name="description" type="text" maxlength=(MAX_DESCRIPTION);
                }
                div class="field" {
                    label { input type="checkbox" name="read_only" value="1"; " Read-only (Describe actions only)" }
                }
                div class="field" { button type="submit" { "Create key" } }
            }
        }
        section aria-labelledby="list" {
            h2 id="list" { "Keys (" (list.len()) ")" }
            @if list.is_empty() { p { "None yet." } } @else {
            div class="scroll" {
            table {
                thead { tr {
                    th scope="col" { "Access key id" } th scope="col" { "Description" } th scope="col" { "Access" }
                    th scope="col" { "State" } th scope="col" { "Created" } th scope="col" { span class="sr-only" { "Actions" } }
                } }
                tbody { @for k in list {
                    tr data-key=(k.access_key_id) {
                        td { code { (k.access_key_id) } }
                        td { (k.description) }
                        td { @if k.read_only { "read-only" } @else { "read-write" } }
                        td { @if k.enabled { span class="badge active" { "enabled" } } @else { span class="badge revoked" { "disabled" } } }
                        td { (time_ms(k.created_at)) }
                        td {
                            form method="post" action="/ui/api-keys/revoke" data-confirm="Revoke this key? Requests it signs are refused at once." {
                                (csrf_field(v))
                                input type="hidden" name="id" value=(k.access_key_id);
                                button type="submit" class="danger" aria-label={ "Revoke " (k.access_key_id) } { "Revoke" }
                            }
                        }
                    }
                } }
            }
            }
            }
        }
    };
    page(v, "api-keys", "Management API keys", body)
}

pub async fn list(State(app): State<App>, v: Viewer) -> ConsoleResult<Response> {
    v.admin_only()?;
    let list = app.meta.list_api_keys().await?;
    Ok(html_response(StatusCode::OK, render(&v, &list, None, None)))
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    description: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    read_only: Option<String>,
    #[serde(default)]
    csrf: String,
}

csrf_form!(CreateForm);

/// Why a description is refused, if it is.
fn description_problem(d: &str) -> Option<String> {
    if d.chars().count() > MAX_DESCRIPTION {
        Some(format!(
            "Description: at most {MAX_DESCRIPTION} characters."
        ))
    } else if d.chars().any(char::is_control) {
        Some("Description: no control characters.".into())
    } else {
        None
    }
}

pub async fn create(
    State(app): State<App>,
    Posted { viewer: v, form: f }: Posted<CreateForm>,
) -> ConsoleResult<Response> {
    v.admin_only()?;
    let description = f.description.trim();
    if let Some(problem) = description_problem(description) {
        let list = app.meta.list_api_keys().await?;
        return Ok(html_response(
            StatusCode::BAD_REQUEST,
            render(&v, &list, None, Some(&problem)),
        ));
    }
    let read_only = f.read_only.is_some();
    let key = keys::create_api_key(app.meta.as_ref(), &app.master_key, description, read_only)
        .await
        .map_err(|e| match e {
            KeyError::Store(e) => ConsoleError::Store(e),
            other => ConsoleError::Internal(other.to_string()),
        })?;
    tracing::info!(target: "berth::audit", action = "api_key.create", key = %key.access_key_id,
        read_only, user = %v.username, "management API key created from the console");
    let list = app.meta.list_api_keys().await?;
    Ok(html_response(
        StatusCode::OK,
        render(&v, &list, Some(&key), None),
    ))
}

pub async fn revoke(
    State(app): State<App>,
    Posted { viewer: v, form: f }: Posted<IdForm>,
) -> ConsoleResult<Response> {
    v.admin_only()?;
    if !app.meta.delete_api_key(&f.id).await? {
        return Err(ConsoleError::NotFound);
    }
    tracing::info!(target: "berth::audit", action = "api_key.revoke", key = %f.id,
        user = %v.username, "management API key revoked from the console");
    Ok(redirect("/ui/api-keys"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn descriptions_are_bounded_and_printable() {
        assert_eq!(super::description_problem("ci <robot>"), None);
        assert!(super::description_problem(&"x".repeat(201)).is_some());
        assert!(super::description_problem("a\u{7}b").is_some());
    }
}
