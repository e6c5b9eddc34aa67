//! CreateInstanceToken, ModifyInstanceTokenStatus, ModifyInstanceTokenInformation,
//! DescribeInstanceToken, DeleteInstanceToken.
//!
//! A token is a registry login for one instance (`docker login -u Username -p Token`). The token
//! is shown once and stored as an argon2id hash; disabling, expiring or deleting it takes effect
//! on the next request (see `auth.rs`).
use base64::Engine as _;
use berth_store::{AccessToken, now_millis};
use rand::RngCore;
use serde_json::json;

use super::context::{Ctx, Reply, opt_time, page, time};
use super::error::{KcrError, KcrResult};

const MAX_DESC_BYTES: usize = 256;
const MAX_HOURS: i64 = 24 * 365 * 10;
const MAX_DAYS: i64 = 365 * 10;

/// The expiry for a token type and time, from `now`; `None` never expires.
/// The validity of a token of `token_type` from `TokenTime`. The seed requires `TokenTime` on
/// creation even where it "has no effect" (NeverExpire).
fn expiry(ctx: &Ctx, token_type: &str, now: i64) -> KcrResult<(String, Option<i64>, Option<i64>)> {
    let p = &ctx.params;
    let unit_millis = match token_type {
        "NeverExpire" => return Ok((token_type.to_string(), p.int("TokenTime")?, None)),
        "Hour" => 3_600_000,
        "Day" => 86_400_000,
        _ => return Err(KcrError::invalid_value("TokenType")),
    };
    let max = if token_type == "Hour" {
        MAX_HOURS
    } else {
        MAX_DAYS
    };
    let amount = p.required_int("TokenTime")?;
    if !(1..=max).contains(&amount) {
        return Err(KcrError::invalid_value("TokenTime"));
    }
    Ok((
        token_type.to_string(),
        Some(amount),
        Some(now + amount * unit_millis),
    ))
}

fn description(ctx: &Ctx) -> KcrResult<Option<String>> {
    match ctx.params.get("Desc") {
        None => Ok(None),
        Some(d) if d.len() > MAX_DESC_BYTES => Err(KcrError::invalid_value("Desc")),
        Some(d) => Ok(Some(d.to_string())),
    }
}

pub async fn create(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let now = now_millis();
    let token_type = ctx.params.required("TokenType")?;
    ctx.params.required_int("TokenTime")?;
    let (token_type, token_time, expires_at) = expiry(ctx, token_type, now)?;
    let desc = description(ctx)?.unwrap_or_default();
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let hash = {
        let secret = secret.clone();
        tokio::task::spawn_blocking(move || crate::auth::hash_password(&secret))
            .await
            .map_err(KcrError::service_unavailable)?
            .map_err(KcrError::service_unavailable)?
    };
    let id = uuid::Uuid::new_v4().to_string();
    let username = format!(
        "{}{}",
        crate::auth::TOKEN_USERNAME_PREFIX,
        &id.replace('-', "")[..12]
    );
    ctx.app
        .meta
        .create_access_token(&AccessToken {
            id: id.clone(),
            instance_id: instance.id.clone(),
            username: username.clone(),
            secret_hash: hash,
            description: desc,
            token_type,
            token_time,
            enabled: true,
            created_at: now,
            expires_at,
        })
        .await?;
    let mut reply = Reply::new();
    reply.insert("Username".into(), json!(username));
    reply.insert("Token".into(), json!(secret));
    reply.insert("TokenId".into(), json!(id));
    reply.insert("ExpireTime".into(), opt_time(expires_at));
    Ok(reply)
}

async fn token(ctx: &Ctx) -> KcrResult<AccessToken> {
    let instance = ctx.instance().await?;
    let id = ctx.params.required("TokenId")?;
    ctx.app
        .meta
        .get_access_token(&instance.id, id)
        .await?
        .ok_or_else(|| KcrError::not_found("TokenId", "The token"))
}

/// After a change that may have happened: the token is gone if nothing changed, and every
/// cached verification of it is dropped either way.
fn changed(ctx: &Ctx, token_id: &str, found: bool) -> KcrResult<Reply> {
    crate::notices::announce(
        &ctx.app,
        crate::notices::ApiNotice::Token(token_id.to_string()),
    );
    if !found {
        return Err(KcrError::not_found("TokenId", "The token"));
    }
    Ok(Reply::new())
}

pub async fn modify_status(ctx: &Ctx) -> KcrResult<Reply> {
    let enable = ctx.params.required_bool("Enable")?;
    let token = token(ctx).await?;
    let found = ctx
        .app
        .meta
        .set_access_token_enabled(&token.instance_id, &token.id, enable)
        .await?;
    changed(ctx, &token.id, found)
}

pub async fn modify_information(ctx: &Ctx) -> KcrResult<Reply> {
    let mut token = token(ctx).await?;
    // Both optional: a new TokenTime alone keeps the type, a new type alone needs its time
    // (except NeverExpire). The validity runs from now.
    let new_type = ctx.params.optional("TokenType");
    if new_type.is_some() || ctx.params.optional("TokenTime").is_some() {
        let token_type = new_type.unwrap_or(&token.token_type).to_string();
        let (token_type, token_time, expires_at) = expiry(ctx, &token_type, now_millis())?;
        token.token_type = token_type;
        token.token_time = token_time;
        token.expires_at = expires_at;
    }
    if let Some(desc) = description(ctx)? {
        token.description = desc;
    }
    let found = ctx.app.meta.update_access_token(&token).await?;
    changed(ctx, &token.id, found)
}

pub async fn describe(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let paging = ctx.params.paging(20, 99)?;
    let (items, total) = ctx
        .app
        .meta
        .list_access_tokens(&instance.id, paging.marker, paging.max_results)
        .await?;
    let set = items
        .iter()
        .map(|t| {
            json!({
                "TokenId": t.id,
                "Enable": t.enabled,
                "Desc": if t.description.is_empty() { None } else { Some(&t.description) },
                "CreateTime": time(t.created_at),
                "ExpireTime": opt_time(t.expires_at),
            })
        })
        .collect();
    Ok(page(paging, total, "TokenSet", set))
}

pub async fn delete(ctx: &Ctx) -> KcrResult<Reply> {
    let token = token(ctx).await?;
    let found = ctx
        .app
        .meta
        .delete_access_token(&token.instance_id, &token.id)
        .await?;
    changed(ctx, &token.id, found)
}
