//! The Docker token endpoint (`GET /auth/token`): exchanges Basic credentials (or none) for a
//! short-lived bearer token carrying exactly the repository actions the caller is allowed.
//! `scope` may be repeated, and one value may hold several scopes separated by spaces (as a
//! challenge for a cross-repository mount names them).
use super::access::{base_url, lookup_namespace};
use crate::auth::{AccessEntry, Action, Principal, parse_scopes};
use crate::error::{ApiError, ApiResult, Code};
use crate::http_util::{namespace_of, query_multi, query_pairs};
use crate::state::App;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

pub async fn token(State(app): State<App>, req: Request) -> Response {
    let client = super::access::client_of(&app, &req);
    match crate::auth::for_client(client, issue(&app, req)).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn issue(app: &App, req: Request) -> ApiResult<Response> {
    let headers = req.headers();
    let instance = super::access::instance_for(app, headers).await?;
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    crate::network::check_source(app, &instance, peer, headers).await?;
    let principal = app
        .auth
        .authenticate(app.meta.as_ref(), headers, &instance.id)
        .await
        .map_err(|e| {
            // Only wrong credentials are answered with a challenge; a rate-limited login is
            // told when to retry instead.
            if e.code != Code::Unauthorized {
                return e;
            }
            let realm = format!("{}/auth/token", base_url(app, headers));
            e.with_header(
                header::WWW_AUTHENTICATE,
                &format!("Basic realm=\"{realm}\""),
            )
        })?;
    if let Principal::Token(_) = principal {
        return Err(ApiError::new(
            Code::Unauthorized,
            "present credentials, not a token",
        ));
    }
    let pairs = query_pairs(req.uri().query());
    let requested = query_multi(&pairs, "scope");
    let mut granted = Vec::new();
    for entry in parse_scopes(requested.iter().map(String::as_str)) {
        match entry.kind.as_str() {
            "repository" => {
                if berth_oci::validate_repository(&entry.name).is_err() {
                    continue;
                }
                let public = lookup_namespace(app, &instance.id, namespace_of(&entry.name))
                    .await?
                    .is_some_and(|ns| ns.public);
                // An authenticated caller asking for pull or push gets both where allowed:
                // clients that escalate scope by challenge (oras-py reuses its token on a 401)
                // then push with the token they got for a pull. Delete is never implied.
                let mut wanted = entry.actions.clone();
                if !matches!(principal, Principal::Anonymous)
                    && wanted.iter().any(|a| a == "pull" || a == "push")
                {
                    for implied in ["pull", "push"] {
                        if !wanted.iter().any(|a| a == implied) {
                            wanted.push(implied.to_string());
                        }
                    }
                }
                let allowed: Vec<String> = wanted
                    .iter()
                    .filter_map(|a| {
                        let action = match a.as_str() {
                            "pull" => Action::Pull,
                            "push" => Action::Push,
                            "delete" => Action::Delete,
                            _ => return None,
                        };
                        principal
                            .may(app.auth.config(), &entry.name, public, action)
                            .then(|| a.clone())
                    })
                    .collect();
                if !allowed.is_empty() {
                    granted.push(AccessEntry {
                        actions: allowed,
                        ..entry
                    });
                }
            }
            // distribution's scope for the catalog, for an administrator only; a token issued
            // for repositories never lists the catalog, whoever asked for it.
            "registry" if entry.name == "catalog" && principal.is_admin() => {
                granted.push(AccessEntry {
                    actions: vec!["*".into()],
                    ..entry
                });
            }
            _ => {}
        }
    }
    let (token, expires_in, issued) = app.auth.issue_token(
        principal.name(),
        &instance.id,
        principal.role(),
        granted,
        principal.token_id().map(str::to_string),
    )?;
    let issued_at = chrono_like(issued);
    Ok(axum::Json(serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": expires_in,
        "issued_at": issued_at,
    }))
    .into_response())
}

/// RFC 3339 UTC time for `issued_at`.
fn chrono_like(secs: u64) -> String {
    chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap_or(0), 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339() {
        assert_eq!(super::chrono_like(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::chrono_like(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
