//! The web console at `/ui/`: server-rendered HTML pages over the same domain functions,
//! users and permissions as the APIs (see ARCHITECTURE.md, "Console").
//!
//! Invariant: every page and form goes through [`viewer::viewer`] (a live session of an
//! enabled user) and every POST through its session's CSRF token; what a viewer may see or do
//! is decided by the registry's own checks ([`viewer::Viewer::may_read`] is `auth::Role::may`),
//! and every value reaches the HTML through maud's escaping. Answers carry a CSP that allows
//! scripts and styles from this origin only.
mod access;
mod access_tokens;
mod api_keys;
mod browse;
mod chart;
mod clusters;
mod database;
mod error;
mod exceptions;
mod forms;
mod image;
mod layout;
mod login;
mod policies;
mod report;
mod risk;
pub mod session;
mod tokens;
mod viewer;
mod webhooks;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/instances") }))
        .route("/ui/assets/console.css", get(layout::css))
        .route("/ui/assets/console.js", get(layout::js))
        .route("/ui/login", get(login::show).post(login::submit))
        .route("/ui/logout", post(login::logout))
        .route("/ui/instances", get(browse::instances))
        .route("/ui/namespaces", get(browse::namespaces))
        .route("/ui/repositories", get(browse::repositories))
        .route("/ui/tags", get(browse::tags))
        .route("/ui/image", get(image::show))
        .route("/ui/image/scan", post(image::scan))
        .route("/ui/image/scan-status", get(image::scan_status))
        .route("/ui/image/report", get(image::download))
        .route(
            "/ui/exceptions",
            get(exceptions::list).post(exceptions::create),
        )
        .route("/ui/exceptions/revoke", post(exceptions::revoke))
        .route("/ui/tokens", get(tokens::list).post(tokens::create))
        .route("/ui/tokens/revoke", post(tokens::revoke))
        .route("/ui/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/ui/api-keys/revoke", post(api_keys::revoke))
        .route("/ui/policies", get(policies::list).post(policies::create))
        .route("/ui/policies/protection", post(policies::protection))
        .route(
            "/ui/policies/edit",
            get(policies::edit).post(policies::save),
        )
        .route("/ui/policies/delete", post(policies::delete))
        .route("/ui/risk", get(risk::show))
        .route("/ui/clusters", get(clusters::list))
        .route("/ui/cluster", get(clusters::show))
        .route("/ui/database", get(database::show))
        .route("/ui/webhooks", get(webhooks::deliveries))
        .route(
            "/ui/webhooks/new",
            get(webhooks::new_form).post(webhooks::create),
        )
        .route("/ui/webhooks/delete", post(webhooks::delete))
        .route(
            "/ui/access-tokens",
            get(access_tokens::list).post(access_tokens::create),
        )
        .route("/ui/access-tokens/delete", post(access_tokens::delete))
}
