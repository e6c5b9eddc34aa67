//! berth extension actions CreateApiToken, DescribeApiTokens, DeleteApiToken: the API tokens of
//! berth's own HTTP APIs (the vulnerability export), as `berth admin api-token` manages them,
//! for operators who cannot reach the data directory. Admin keys only, DescribeApiTokens too
//! (see `spec::ActionSpec::is_read_only`): a token's role says what it may read, so whoever
//! lists them learns which credentials reach the whole inventory.
//!
//! The token is in CreateApiToken's reply and nowhere else: berth keeps only its SHA-256.
//! DeleteApiToken revokes: the record stays (DescribeApiTokens shows it as `Revoked`, its name
//! stays taken) so a leaked token's trail is not erased with it.
use berth_store::{ApiTokenRecord, now_millis};
use serde_json::{Value, json};

use super::context::{Ctx, Reply, opt_time, page, time};
use super::error::{KcrError, KcrResult};
use crate::api_tokens::{self, ApiRole, ApiTokenError};

fn status(t: &ApiTokenRecord, now: i64) -> &'static str {
    if t.revoked_at.is_some() {
        "Revoked"
    } else if t.expires_at.is_some_and(|e| e <= now) {
        "Expired"
    } else {
        "Valid"
    }
}

fn item(t: &ApiTokenRecord, now: i64) -> Value {
    json!({
        "TokenId": t.id,
        "Name": t.name,
        "Role": t.role,
        "CreateTime": time(t.created_at),
        "ExpireTime": opt_time(t.expires_at),
        "RevokeTime": opt_time(t.revoked_at),
        "Status": status(t, now),
    })
}

pub async fn create(ctx: &Ctx) -> KcrResult<Reply> {
    let name = ctx.params.required("Name")?;
    let role = match ctx.params.get("Role") {
        None => ApiRole::ReadOnly,
        Some(r) => ApiRole::parse(r).ok_or_else(|| {
            KcrError::invalid_value_because(
                "Role",
                "Use admin, read-only, continuous-integration or none.",
            )
        })?,
    };
    // Negative or zero is refused by `api_tokens::create` with the same message as too large.
    let ttl = match ctx.params.int("TtlSeconds")? {
        None => None,
        Some(t) => Some(u64::try_from(t).map_err(|_| KcrError::invalid_value("TtlSeconds"))?),
    };
    let issued = api_tokens::create(ctx.app.meta.as_ref(), name, role, ttl)
        .await
        .map_err(|e| match e {
            ApiTokenError::Invalid { field: "name", .. } => KcrError::invalid_value("Name"),
            ApiTokenError::Invalid { .. } => KcrError::invalid_value("TtlSeconds"),
            ApiTokenError::NameTaken(_) => KcrError::already_exists("An API token of that name"),
            ApiTokenError::Store(e) => e.into(),
        })?;
    tracing::info!(
        token = %issued.record.id,
        role = role.as_str(),
        caller = %ctx.caller,
        "API token created through the management API"
    );
    let mut reply = Reply::new();
    if let Value::Object(fields) = item(&issued.record, now_millis()) {
        reply.extend(fields);
    }
    reply.insert("Token".into(), Value::String(issued.token));
    Ok(reply)
}

pub async fn describe(ctx: &Ctx) -> KcrResult<Reply> {
    let paging = ctx.params.paging(20, 99)?;
    // Tokens are few (an operator creates each by hand): listing them whole and paging here
    // keeps the store's contract small.
    let all = ctx.app.meta.list_api_tokens().await?;
    let now = now_millis();
    let set = all
        .iter()
        .skip(paging.marker as usize)
        .take(paging.max_results as usize)
        .map(|t| item(t, now))
        .collect();
    Ok(page(paging, all.len() as u64, "TokenSet", set))
}

pub async fn delete(ctx: &Ctx) -> KcrResult<Reply> {
    let id = ctx.params.required("TokenId")?;
    if !ctx.app.meta.revoke_api_token(id).await? {
        // Unknown, or revoked already: either way there is no live token of that id.
        return Err(KcrError::not_found("TokenId", "The API token"));
    }
    tracing::info!(token = %id, caller = %ctx.caller, "API token revoked through the management API");
    Ok(Reply::new())
}
