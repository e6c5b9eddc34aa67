//! Who is looking: the logged-in user behind a request's session cookie, and what the
//! registry's own rules let them see. The checks are the APIs' (`auth::Role::may` for
//! namespaces, the API roles for the administrative pages), not a second set of rules.
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::session::{self, SESSION_COOKIE, cookie, same_secret};
use crate::api_tokens::ApiRole;
use crate::auth::{Action, Role};
use crate::state::App;

/// A logged-in user, checked against the store on every request (a disabled or deleted user
/// loses the console at once, as they lose Basic auth).
#[derive(Debug, Clone)]
pub struct Viewer {
    pub username: String,
    pub admin: bool,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
    /// The session cookie's value, so logout can end it.
    pub session_id: String,
}

impl Viewer {
    /// The registry role of the user: the same role Basic auth gives them.
    pub fn role(&self) -> Role {
        if self.admin { Role::Admin } else { Role::User }
    }

    /// The role the JSON APIs give the user's Basic credentials (`principal::authenticate`).
    pub fn api_role(&self) -> ApiRole {
        if self.admin {
            ApiRole::Admin
        } else {
            ApiRole::None
        }
    }

    /// Whether the user may read a namespace that is `public` or not: pull rights.
    pub fn may_read(&self, app: &App, public: bool) -> bool {
        self.role().may(app.auth.config(), public, Action::Pull)
    }

    /// Whether the user may change what is in a namespace (scan, tag immutability): push rights.
    pub fn may_write(&self, app: &App, public: bool) -> bool {
        self.role().may(app.auth.config(), public, Action::Push)
    }

    /// Whether the user may use the administrative pages (exceptions, policies, tokens, risk):
    /// what an admin-role API token may do on the JSON APIs.
    pub fn may_administer(&self) -> bool {
        self.api_role() == ApiRole::Admin
    }
}

/// A page handler's viewer: without a live session the handler is not called and the
/// browser goes to the login page.
impl FromRequestParts<App> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        viewer(app, &parts.headers, here(&parts.uri)).await
    }
}

/// The answer for a request without a live session: to the login page, back here afterwards.
fn to_login(path_and_query: &str) -> Response {
    let next: String =
        percent_encoding::utf8_percent_encode(path_and_query, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/ui/login?next={next}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The viewer of a request, or the redirect to the login page.
pub async fn viewer(
    app: &App,
    headers: &HeaderMap,
    path_and_query: &str,
) -> Result<Viewer, Response> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Err(to_login(path_and_query));
    };
    let unavailable = |e: berth_store::StoreError| {
        tracing::error!(error = %e, "console: cannot read the session or its user");
        (StatusCode::SERVICE_UNAVAILABLE, "storage unavailable").into_response()
    };
    let Some(session) = session::get(app.meta.as_ref(), id)
        .await
        .map_err(unavailable)?
    else {
        return Err(to_login(path_and_query));
    };
    let user = match app.meta.get_user(&session.username).await {
        Ok(Some(u)) if !u.disabled => u,
        Ok(_) => {
            session::end(app.meta.as_ref(), id)
                .await
                .map_err(unavailable)?;
            return Err(to_login(path_and_query));
        }
        Err(e) => return Err(unavailable(e)),
    };
    Ok(Viewer {
        username: user.username,
        admin: user.is_admin,
        csrf: session.csrf,
        session_id: id.to_string(),
    })
}

/// Whether a submitted form's CSRF token is the session's (read with the session, this
/// request).
pub fn csrf_ok(viewer: &Viewer, submitted: &str) -> bool {
    same_secret(&viewer.csrf, submitted)
}

/// The path and query of a request, to come back to after logging in.
pub fn here(uri: &axum::http::Uri) -> &str {
    uri.path_and_query().map_or("/ui/", |p| p.as_str())
}
