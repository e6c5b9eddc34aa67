//! Login and logout. The password is checked by `Auth::verify_user`, the same check (and the
//! same failed-login limits per client address and per user) as the registry's Basic auth.
use axum::Form;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{frame, html_response, redirect};
use super::session::{self, LOGIN_COOKIE, SESSION_COOKIE, cookie, random_token, same_secret};
use super::viewer::{self, csrf_ok};
use crate::state::App;

/// How long a login form stays valid.
const LOGIN_FORM_SECS: u64 = 600;

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Where to go after logging in: a console path only (never another site).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/ui/") && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/ui/",
    }
}

fn form(token: &str, next: &str, error: Option<&str>, username: &str) -> Markup {
    frame(
        "Log in",
        html! {
            main id="main" class="login" {
                h1 { "Log in to berth" }
                @if let Some(e) = error {
                    p class="error" role="alert" id="login-error" { (e) }
                }
                form method="post" action="/ui/login" {
                    input type="hidden" name="csrf" value=(token);
                    input type="hidden" name="next" value=(next);
                    label for="username" { "Username" }
                    input id="username" name="username" type="text" autocomplete="username"
                        required value=(username) autofocus;
                    label for="password" { "Password" }
                    input id="password" name="password" type="password"
                        autocomplete="current-password" required;
                    button type="submit" { "Log in" }
                }
            }
        },
    )
}

fn login_page(
    app: &App,
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    error: Option<&str>,
    username: &str,
) -> Response {
    let token = random_token();
    let mut r = html_response(status, form(&token, next, error, username));
    let secure = session::over_tls(app.config.public_url.as_deref(), headers);
    r.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(LOGIN_COOKIE, &token, LOGIN_FORM_SECS, secure),
    );
    r
}

pub async fn show(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref()).to_string();
    login_page(&app, &headers, StatusCode::OK, &next, None, "")
}

pub async fn submit(State(app): State<App>, req: Request) -> Response {
    let client = crate::registry::access::client_of(&app, &req);
    let headers = req.headers().clone();
    let Ok(Form(f)) = Form::<LoginForm>::from_request(req, &app).await else {
        return login_page(
            &app,
            &headers,
            StatusCode::BAD_REQUEST,
            "/ui/",
            Some("The form was incomplete."),
            "",
        );
    };
    let next = safe_next(Some(&f.next)).to_string();
    let planted = cookie(&headers, LOGIN_COOKIE).is_none_or(|c| !same_secret(c, &f.csrf));
    if planted {
        return login_page(
            &app,
            &headers,
            StatusCode::FORBIDDEN,
            &next,
            Some("The login form expired; please try again."),
            &f.username,
        );
    }
    let verified = crate::auth::for_client(
        client,
        app.auth
            .verify_user(app.meta.as_ref(), &f.username, &f.password),
    )
    .await;
    let user = match verified {
        Ok(Some(u)) => u,
        Ok(None) => {
            return login_page(
                &app,
                &headers,
                StatusCode::UNAUTHORIZED,
                &next,
                Some("Wrong username or password."),
                &f.username,
            );
        }
        Err(e) => {
            let message = if e.code == crate::error::Code::TooManyRequests {
                "Too many failed logins; wait a minute and retry."
            } else {
                "The password could not be checked; retry."
            };
            return login_page(
                &app,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                &next,
                Some(message),
                &f.username,
            );
        }
    };
    let id = match session::create(app.meta.as_ref(), &user.username).await {
        Ok(id) => id,
        Err(e) => return super::error::ConsoleError::Store(e).into_response_page(),
    };
    tracing::info!(target: "berth::audit", action = "console.login", user = %user.username, "console login");
    let secure = session::over_tls(app.config.public_url.as_deref(), &headers);
    let mut r = redirect(&next);
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        session::set_cookie(SESSION_COOKIE, &id, session::MAX_AGE_SECS, secure),
    );
    h.append(
        header::SET_COOKIE,
        session::set_cookie(LOGIN_COOKIE, "", 0, secure),
    );
    r
}

pub async fn logout(
    State(app): State<App>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    let secure = session::over_tls(app.config.public_url.as_deref(), &headers);
    if let Ok(v) = viewer::viewer(&app, &headers, "/ui/").await {
        if !csrf_ok(&v, &f.csrf) {
            return super::error::ConsoleError::Csrf.into_response_page();
        }
        if let Err(e) = session::end(app.meta.as_ref(), &v.session_id).await {
            return super::error::ConsoleError::Store(e).into_response_page();
        }
    }
    let mut r = redirect("/ui/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(SESSION_COOKIE, "", 0, secure),
    );
    r
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_console_paths_are_followed_after_login() {
        assert_eq!(super::safe_next(Some("/ui/tags?x=1")), "/ui/tags?x=1");
        for evil in [
            "https://evil.example/",
            "//evil.example/ui/",
            "/v2/",
            "/ui/\\evil",
        ] {
            assert_eq!(super::safe_next(Some(evil)), "/ui/", "{evil}");
        }
        assert_eq!(super::safe_next(None), "/ui/");
    }

    /// The login page as sent: one stylesheet, one external script, no inline script or style,
    /// and what the user typed escaped.
    #[test]
    fn the_login_page_renders_escaped() {
        let html = super::form(
            "TOKEN",
            "/ui/tags?i=1&repo=a",
            Some("Wrong username or password."),
            "<b>\"bob\"</b>",
        )
        .into_string();
        assert!(!html.contains("<b>") && html.contains("&lt;b&gt;&quot;bob&quot;&lt;/b&gt;"));
        assert!(!html.contains("<style") && !html.contains(" style="));
        assert_eq!(html.matches("<script").count(), 1);
        insta::assert_snapshot!(html);
    }
}
