//! CreateNamespace, DescribeNamespace, ModifyNamespaceType, DescribeNamespaceExist,
//! DeleteNamespace.
use berth_store::{CreateNamespaceOutcome, DeleteNamespaceOutcome};
use serde_json::json;

use super::context::{Ctx, Reply, page, time};
use super::error::{KcrError, KcrResult};

/// 2-63 lowercase letters and digits, not starting with a digit.
pub fn valid_namespace_name(name: &str) -> bool {
    (2..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
}

pub async fn create(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let name = ctx.params.required("Namespace")?;
    if !valid_namespace_name(name) {
        return Err(KcrError::invalid_value("Namespace"));
    }
    let public = ctx.params.required_bool("Public")?;
    match ctx
        .app
        .registry
        .create_namespace(&instance.id, name, public)
        .await?
    {
        CreateNamespaceOutcome::Created(_) => Ok(Reply::new()),
        CreateNamespaceOutcome::Exists => {
            Err(KcrError::already_exists(&format!("The namespace {name}")))
        }
        CreateNamespaceOutcome::QuotaExceeded => Err(KcrError::quota_exceeded(&format!(
            "The instance's namespace quota ({}) is used up.",
            instance.namespace_quota
        ))),
    }
}

pub async fn describe(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let paging = ctx.params.paging(20, 99)?;
    let public = ctx.params.bool("Public")?;
    let (items, total) = ctx
        .app
        .meta
        .list_namespaces(
            &instance.id,
            ctx.params.optional("Namespace"),
            public,
            paging.marker,
            paging.max_results,
        )
        .await?;
    let set = items
        .iter()
        .map(|n| {
            json!({
                "Namespace": n.namespace.name,
                "Public": n.namespace.public,
                "RepoCount": n.repositories,
                "CreateTime": time(n.namespace.created_at),
            })
        })
        .collect();
    Ok(page(paging, total, "NamespaceSet", set))
}

pub async fn modify_type(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let public = ctx.params.required_bool("Public")?;
    let ns = ctx.namespace(&instance).await?;
    ctx.app.registry.set_namespace_public(&ns, public).await?;
    Ok(Reply::new())
}

pub async fn exist(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let name = ctx.params.required("Namespace")?;
    let exists = ctx
        .app
        .meta
        .get_namespace(&instance.id, name)
        .await?
        .is_some();
    let mut reply = Reply::new();
    reply.insert("Exist".into(), json!(exists));
    Ok(reply)
}

pub async fn delete(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let ns = ctx.namespace(&instance).await?;
    match ctx.app.registry.delete_namespace(&ns).await? {
        DeleteNamespaceOutcome::Deleted => Ok(Reply::new()),
        DeleteNamespaceOutcome::NotEmpty => Err(KcrError::in_use(&format!(
            "The namespace {} holds repositories; delete them first.",
            ns.name
        ))),
        DeleteNamespaceOutcome::Missing => Err(KcrError::not_found("Namespace", "The namespace")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn namespace_names() {
        for ok in ["ab", "team1", &"a".repeat(63)] {
            assert!(super::valid_namespace_name(ok), "{ok}");
        }
        for bad in ["a", "1a", "Team", "a-b", "a.b", &"a".repeat(64)] {
            assert!(!super::valid_namespace_name(bad), "{bad}");
        }
    }
}
