//! CreateInstance, DescribeInstance, DescribeInstanceUsage, DeleteInstance.
use berth_store::{Instance, InstanceFilter, InstanceStatus, NewInstance};
use serde_json::{Value, json};

use super::context::{Ctx, Reply, page, time};
use super::error::{KcrError, KcrResult};
use crate::state::AppState;

const MILLIS_PER_MONTH: i64 = 30 * 24 * 3600 * 1000;

/// 2-30 lowercase letters and digits, not starting with a digit.
pub fn valid_instance_name(name: &str) -> bool {
    (2..=30).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
}

/// The instance's OCI endpoint host: `<name>.<base domain>`; the default instance answers on
/// any other host too.
pub fn endpoint_host(app: &AppState, instance: &Instance) -> Option<String> {
    app.config
        .management
        .base_domain
        .as_ref()
        .map(|_| crate::network::instance_domain(&app.config, instance))
}

fn instance_json(app: &AppState, i: &Instance) -> Value {
    json!({
        "InstanceId": i.id,
        "InstanceName": i.name,
        "InstanceType": i.instance_type,
        "InstanceStatus": i.status.as_str(),
        "InternalEndpoint": endpoint_host(app, i),
        "CreateTime": time(i.created_at),
        "ExpiredTime": if i.charge_type == "Monthly" { i.expires_at.map(time) } else { None },
        "ChargeType": i.charge_type,
        "ProjectId": i.project_id,
    })
}

/// The project of instances created without `ProjectId`.
const DEFAULT_PROJECT: &str = "0";

pub async fn create(ctx: &Ctx) -> KcrResult<Reply> {
    let p = &ctx.params;
    let name = p.required("InstanceName")?;
    if !valid_instance_name(name) {
        return Err(KcrError::invalid_value("InstanceName"));
    }
    let instance_type = p.required("InstanceType")?;
    if !matches!(instance_type, "basic" | "premium") {
        return Err(KcrError::invalid_value("InstanceType"));
    }
    let charge_type = p
        .optional("ChargeType")
        .unwrap_or("HourlyInstantSettlement");
    let expires_at = match charge_type {
        "HourlyInstantSettlement" => {
            p.int("PurchaseTime")?;
            None
        }
        "Monthly" => {
            let months = p.required_int("PurchaseTime")?;
            // Months up to a year, or whole years (the seed: yearly purchases in multiples of 12).
            if !((1..=11).contains(&months) || (months % 12 == 0 && (12..=60).contains(&months))) {
                return Err(KcrError::invalid_value("PurchaseTime"));
            }
            Some(berth_store::now_millis() + months * MILLIS_PER_MONTH)
        }
        _ => return Err(KcrError::invalid_value("ChargeType")),
    };
    let project_id = p.optional("ProjectId").unwrap_or(DEFAULT_PROJECT);
    if project_id.len() > 64 {
        return Err(KcrError::invalid_value("ProjectId"));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let created = ctx
        .app
        .meta
        .create_instance(&NewInstance {
            id: id.clone(),
            name: name.to_string(),
            instance_type: instance_type.to_string(),
            charge_type: charge_type.to_string(),
            project_id: project_id.to_string(),
            expires_at,
        })
        .await?;
    if !created {
        return Err(KcrError::already_exists(&format!("The instance {name}")));
    }
    // Creating -> Running once its endpoint is served; the instance has no storage of its own to
    // prepare (blobs are content-addressed and shared), so this is the next moment.
    let app = ctx.app.clone();
    let started = id.clone();
    // Conditional: a DeleteInstance that came first is not undone.
    tokio::spawn(async move {
        if let Err(e) = app
            .registry
            .set_instance_status(&started, InstanceStatus::Creating, InstanceStatus::Running)
            .await
        {
            tracing::error!(instance = %started, error = %e, "cannot start instance");
            let _ = app
                .registry
                .set_instance_status(&started, InstanceStatus::Creating, InstanceStatus::Error)
                .await;
        }
    });
    let mut reply = Reply::new();
    reply.insert("InstanceId".into(), json!(id));
    Ok(reply)
}

pub async fn describe(ctx: &Ctx) -> KcrResult<Reply> {
    let p = &ctx.params;
    let paging = p.paging(20, 99)?;
    let mut project_ids = p.list("ProjectId")?;
    if project_ids.is_empty() {
        // The seed: without ProjectId.N, the default project is queried.
        project_ids.push(DEFAULT_PROJECT.to_string());
    }
    let filter = InstanceFilter {
        ids: p.list("InstanceId")?,
        project_ids,
        name: p.optional("InstanceName").map(str::to_string),
    };
    let (items, total) = ctx
        .app
        .meta
        .list_instances(&filter, paging.marker, paging.max_results)
        .await?;
    let set = items.iter().map(|i| instance_json(&ctx.app, i)).collect();
    Ok(page(paging, total, "InstanceSet", set))
}

pub async fn usage(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let usage = ctx.app.meta.instance_usage(&instance.id).await?;
    let mut reply = Reply::new();
    reply.insert("NamespaceQuota".into(), json!(instance.namespace_quota));
    reply.insert("NamespaceUsage".into(), json!(usage.namespaces));
    reply.insert("RepoQuota".into(), json!(instance.repository_quota));
    reply.insert("RepoUsage".into(), json!(usage.repositories));
    Ok(reply)
}

pub async fn delete(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let delete_blobs = ctx.params.bool("DeleteBucket")?.unwrap_or(false);
    if instance.is_default {
        return Err(KcrError::in_use(
            "The default instance serves the registry's own endpoint and cannot be deleted.",
        ));
    }
    if instance.charge_type == "Monthly" {
        return Err(KcrError::invalid_value_because(
            "InstanceId",
            "Only pay-as-you-go (HourlyInstantSettlement) instances can be deleted.",
        ));
    }
    let app = &ctx.app;
    // Deleting stops its endpoint at once; the rows go in one transaction after that. The status
    // may change under us (a new instance becomes Running in the background): read it again.
    let mut instance = instance;
    let mut attempts = 0;
    while !app
        .registry
        .set_instance_status(&instance.id, instance.status, InstanceStatus::Deleting)
        .await?
    {
        attempts += 1;
        match app.meta.get_instance(&instance.id).await? {
            Some(now) if now.status != InstanceStatus::Deleting && attempts < 5 => instance = now,
            _ => return Err(KcrError::not_found("InstanceId", "The instance")),
        }
    }
    let digests = match app.registry.delete_instance(&instance.id).await {
        Ok(d) => d,
        Err(e) => {
            // Nothing was deleted: the instance is as it was, and a retry can find it.
            let _ = app
                .registry
                .set_instance_status(&instance.id, InstanceStatus::Deleting, instance.status)
                .await;
            return Err(e.into());
        }
    };
    // Its allow-lists too (the registry dropped its own caches).
    crate::notices::announce(app, crate::notices::ApiNotice::All);
    if delete_blobs {
        // The instance is gone whatever happens here; content that stays is GC's to collect.
        for digest in digests {
            // Content another instance still links stays.
            let deleted = match app.meta.forget_unlinked_blob(&digest).await {
                // Under the tombstone forgetting set: a push linking it now waits for this.
                Ok(true) => berth_registry::content::finish_deletion(
                    app.meta.as_ref(),
                    app.blobs.as_ref(),
                    &digest,
                )
                .await
                .map(|_| ()),
                Ok(false) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = deleted {
                tracing::warn!(instance = %instance.id, %digest, error = %e,
                    "cannot delete a blob of a deleted instance; GC will");
            }
        }
    }
    Ok(Reply::new())
}

#[cfg(test)]
mod tests {
    #[test]
    fn instance_names() {
        for ok in ["ab", "a1", "registry2", &"a".repeat(30)] {
            assert!(super::valid_instance_name(ok), "{ok}");
        }
        for bad in ["a", "1ab", "Ab", "a-b", "a_b", "", &"a".repeat(31)] {
            assert!(!super::valid_instance_name(bad), "{bad}");
        }
    }
}
