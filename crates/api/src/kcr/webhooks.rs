//! CreateWebhookTrigger, DescribeWebhookTrigger, ModifyWebhookTrigger,
//! DescribeWebhookTriggerLog, DeleteWebhookTrigger.
//!
//! Triggers belong to a namespace; deliveries are made by `crate::webhooks`. A trigger's URL is
//! checked against the SSRF rule when it is created or changed (and again at each delivery).
//! CreateWebhookTrigger also returns `Secret` (a berth extension, shown only there): the key of
//! the `X-Berth-Signature` HMAC that receivers verify.
//!
//! Custom header values are how receivers authenticate berth (`Authorization`, API keys), and a
//! URL may carry a password: read-only access keys, which can describe but not change a trigger,
//! see every header value and the URL's password as `******` (header names stay visible).
use berth_store::{
    NewWebhookTrigger, WebhookDelivery, WebhookHeader, WebhookTrigger, WebhookTriggerUpdate,
};
use serde_json::{Value, json};

use super::context::{Ctx, Reply, page, time};
use super::error::{KcrError, KcrResult};
use crate::webhooks::{self, EventType, TriggerError};

const NAME: &str = "Trigger.TriggerName";
const URL: &str = "Trigger.TriggerUrl";
const EVENTS: &str = "Trigger.EventType";
const HEADERS: &str = "Trigger.Header";
const ENABLED: &str = "Trigger.Enabled";

fn name(ctx: &Ctx, required: bool) -> KcrResult<Option<String>> {
    let value = if required {
        Some(ctx.params.required(NAME)?)
    } else {
        ctx.params.optional(NAME)
    };
    match value {
        None => Ok(None),
        Some(n) => {
            webhooks::validate_name(n)
                .map_err(|e| KcrError::invalid_value_because(NAME, &why(&e)))?;
            Ok(Some(n.to_string()))
        }
    }
}

fn why(e: &TriggerError) -> String {
    format!("{e}.")
}

async fn url(ctx: &Ctx, required: bool) -> KcrResult<Option<String>> {
    let value = if required {
        Some(ctx.params.required(URL)?)
    } else {
        ctx.params.optional(URL)
    };
    match value {
        None => Ok(None),
        Some(u) => {
            webhooks::validate_url(&ctx.app.config.webhooks, u)
                .await
                .map_err(|e| KcrError::invalid_value_because(URL, &why(&e)))?;
            Ok(Some(u.to_string()))
        }
    }
}

/// `Trigger.EventType.N`, each PushImage, DeleteImage, or berth's AdmissionBlock and
/// AdmissionAlarm; `None` when none is given.
fn event_types(ctx: &Ctx) -> KcrResult<Option<Vec<String>>> {
    let items = ctx.params.list(EVENTS)?;
    if items.is_empty() {
        return Ok(None);
    }
    for (i, e) in items.iter().enumerate() {
        if EventType::parse(e).is_none() {
            return Err(KcrError::invalid_value_because(
                &format!("{EVENTS}.{}", i + 1),
                "Valid values are PushImage, DeleteImage, AdmissionBlock and AdmissionAlarm.",
            ));
        }
    }
    Ok(Some(items))
}

/// `Trigger.Header.N.Key` with `Trigger.Header.N.Value.N`; `None` when no header is given.
fn headers(ctx: &Ctx) -> KcrResult<Option<Vec<WebhookHeader>>> {
    let indexes = ctx.params.indexes(HEADERS)?;
    if indexes.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(indexes.len());
    for n in indexes {
        let key = ctx.params.required(&format!("{HEADERS}.{n}.Key"))?;
        let values = ctx.params.list(&format!("{HEADERS}.{n}.Value"))?;
        if values.is_empty() {
            return Err(KcrError::missing_parameter(&format!(
                "{HEADERS}.{n}.Value.N"
            )));
        }
        if out
            .iter()
            .any(|h: &WebhookHeader| h.key.eq_ignore_ascii_case(key))
        {
            return Err(KcrError::invalid_value_because(
                &format!("{HEADERS}.{n}.Key"),
                "The header is given twice.",
            ));
        }
        out.push(WebhookHeader {
            key: key.to_string(),
            values,
        });
    }
    webhooks::validate_headers(&out)
        .map_err(|e| KcrError::invalid_value_because(&format!("{HEADERS}.N"), &why(&e)))?;
    Ok(Some(out))
}

fn trigger_id(ctx: &Ctx, param: &str) -> KcrResult<i64> {
    let id = ctx.params.required_int(param)?;
    if id < 1 {
        return Err(KcrError::invalid_value(param));
    }
    Ok(id)
}

/// The trigger named by `param` in the namespace, or `InvalidParameterValue` naming it.
async fn trigger(ctx: &Ctx, namespace_id: i64, param: &str) -> KcrResult<WebhookTrigger> {
    let id = trigger_id(ctx, param)?;
    ctx.app
        .meta
        .get_webhook_trigger(namespace_id, id)
        .await?
        .ok_or_else(|| KcrError::not_found(param, "The trigger"))
}

/// What replaces a secret a read-only caller may not see.
const MASK: &str = "******";

/// Whether the caller's access key is read-only (a key that is gone counts as read-only: the
/// request was signed a moment ago, and masking is the safe side).
async fn caller_read_only(ctx: &Ctx) -> KcrResult<bool> {
    Ok(ctx
        .app
        .meta
        .get_api_key(&ctx.caller)
        .await?
        .is_none_or(|k| k.read_only))
}

/// `url` with its password, if any, replaced by the mask.
fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            if u.set_password(Some(MASK)).is_err() {
                return MASK.to_string();
            }
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn trigger_json(t: &WebhookTrigger, masked: bool) -> Value {
    let header = if t.headers.is_empty() {
        Value::Null
    } else {
        t.headers
            .iter()
            .map(|h| {
                let values: Vec<&str> = if masked {
                    h.values.iter().map(|_| MASK).collect()
                } else {
                    h.values.iter().map(String::as_str).collect()
                };
                json!({"Key": h.key, "Value": values})
            })
            .collect()
    };
    let url = if masked {
        mask_url(&t.url)
    } else {
        t.url.clone()
    };
    json!({
        "TriggerId": t.id,
        "TriggerName": t.name,
        "EventType": t.event_types,
        "TriggerUrl": url,
        "Header": header,
        "Enabled": t.enabled,
        "CreateTime": time(t.created_at),
        "UpdateTime": time(t.updated_at),
    })
}

fn log_json(t: &WebhookTrigger, d: &WebhookDelivery, masked: bool) -> Value {
    let url = d.url.as_deref().unwrap_or(&t.url);
    let url = if masked {
        mask_url(url)
    } else {
        url.to_string()
    };
    json!({
        "LogId": d.id,
        "TriggerId": d.trigger_id,
        "EventType": d.event_type,
        "Namespace": d.namespace,
        "TriggerUrl": url,
        "CreateTime": time(d.created_at),
        "Status": d.status.as_str(),
        // berth extensions: what the receiver answered.
        "Attempt": d.attempt,
        "StatusCode": d.status_code,
        "Response": d.response,
    })
}

pub async fn create(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let namespace = ctx.namespace(&instance).await?;
    let name = name(ctx, true)?.unwrap_or_default();
    let event_types =
        event_types(ctx)?.ok_or_else(|| KcrError::missing_parameter(&format!("{EVENTS}.N")))?;
    let headers = headers(ctx)?.unwrap_or_default();
    let enabled = ctx.params.bool(ENABLED)?.unwrap_or(true);
    let url = url(ctx, true).await?.unwrap_or_default();
    let secret = webhooks::new_secret();
    let trigger = ctx
        .app
        .meta
        .create_webhook_trigger(
            &NewWebhookTrigger {
                instance_id: instance.id.clone(),
                namespace_id: namespace.id,
                name,
                url,
                event_types,
                headers,
                enabled,
                secret,
            },
            webhooks::MAX_TRIGGERS_PER_NAMESPACE,
        )
        .await?
        .ok_or_else(|| {
            KcrError::quota_exceeded(&format!(
                "A namespace holds at most {} webhook triggers.",
                webhooks::MAX_TRIGGERS_PER_NAMESPACE
            ))
        })?;
    let mut reply = Reply::new();
    reply.insert("TriggerId".into(), json!(trigger.id));
    reply.insert("Secret".into(), json!(trigger.secret));
    Ok(reply)
}

pub async fn describe(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let namespace = ctx.namespace(&instance).await?;
    let paging = ctx.params.paging(10, 99)?;
    let masked = caller_read_only(ctx).await?;
    if ctx.params.optional("TriggerId").is_some() {
        let trigger = trigger(ctx, namespace.id, "TriggerId").await?;
        let items = if paging.marker == 0 {
            vec![trigger_json(&trigger, masked)]
        } else {
            vec![]
        };
        return Ok(page(paging, 1, "TriggerSet", items));
    }
    let (triggers, total) = ctx
        .app
        .meta
        .list_webhook_triggers(namespace.id, u64::from(paging.marker), paging.max_results)
        .await?;
    Ok(page(
        paging,
        total,
        "TriggerSet",
        triggers.iter().map(|t| trigger_json(t, masked)).collect(),
    ))
}

pub async fn modify(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let namespace = ctx.namespace(&instance).await?;
    let id = trigger_id(ctx, "Trigger.TriggerId")?;
    let update = WebhookTriggerUpdate {
        name: name(ctx, false)?,
        event_types: event_types(ctx)?,
        headers: headers(ctx)?,
        enabled: ctx.params.bool(ENABLED)?,
        url: url(ctx, false).await?,
    };
    ctx.app
        .meta
        .update_webhook_trigger(namespace.id, id, &update)
        .await?
        .ok_or_else(|| KcrError::not_found("Trigger.TriggerId", "The trigger"))?;
    Ok(Reply::new())
}

pub async fn describe_log(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let namespace = ctx.namespace(&instance).await?;
    let trigger = trigger(ctx, namespace.id, "TriggerId").await?;
    let paging = ctx.params.paging(10, 99)?;
    let masked = caller_read_only(ctx).await?;
    let (logs, total) = ctx
        .app
        .meta
        .list_webhook_deliveries(trigger.id, u64::from(paging.marker), paging.max_results)
        .await?;
    Ok(page(
        paging,
        total,
        "Logs",
        logs.iter().map(|d| log_json(&trigger, d, masked)).collect(),
    ))
}

pub async fn delete(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let namespace = ctx.namespace(&instance).await?;
    let id = trigger_id(ctx, "TriggerId")?;
    if !ctx
        .app
        .meta
        .delete_webhook_trigger(namespace.id, id)
        .await?
    {
        return Err(KcrError::not_found("TriggerId", "The trigger"));
    }
    Ok(Reply::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_only_their_password() {
        assert_eq!(
            mask_url("https://hook:s3cret@example.com:8443/x?y=1"),
            "https://hook:******@example.com:8443/x?y=1"
        );
        assert_eq!(mask_url("https://example.com/x"), "https://example.com/x");
        assert_eq!(
            mask_url("https://user@example.com/"),
            "https://user@example.com/"
        );
    }
}
