//! DescribeRepository, DeleteRepository, ModifyRepoDesc, ModifyRepoTagImmutability (a berth
//! extension), DescribeImages, DeleteImages, DeleteRepoTag. Repositories are created by the first
//! push; names here are relative to the namespace (`RepoName=app` is the OCI repository `ns/app`).
//!
//! Tag immutability is enforced by the store, inside the transactions that move or delete tags;
//! DeleteRepoTag and DeleteImages answer its refusal as `TagImmutable` (409, [`KcrError`]).
//! DeleteRepository is allowed while the tags are immutable: it is an administrator's action on
//! the repository itself, as in Harbor.
use berth_oci::Digest;
use berth_store::{Instance, Namespace, Repository};
use serde_json::json;

use super::context::{Ctx, Reply, page, time};
use super::error::{KcrError, KcrResult};

const MAX_DESC_CHARS: usize = 256;

pub(super) struct Target {
    pub instance: Instance,
    pub namespace: Namespace,
    pub repository: Repository,
}

/// The repository named by `Namespace` and `RepoName`.
pub(super) async fn target(ctx: &Ctx) -> KcrResult<Target> {
    let instance = ctx.instance().await?;
    let namespace = ctx.namespace(&instance).await?;
    let name = ctx.params.required("RepoName")?;
    let full = format!("{}/{name}", namespace.name);
    if berth_oci::validate_repository(&full).is_err() {
        return Err(KcrError::invalid_value("RepoName"));
    }
    let repository = ctx
        .app
        .meta
        .get_repository(&instance.id, &full)
        .await?
        .ok_or_else(|| KcrError::not_found("RepoName", "The repository"))?;
    Ok(Target {
        instance,
        namespace,
        repository,
    })
}

fn image_id(ctx: &Ctx) -> KcrResult<Option<Digest>> {
    ctx.params
        .optional("ImageId")
        .map(|s| {
            s.parse::<Digest>()
                .map_err(|_| KcrError::invalid_value("ImageId"))
        })
        .transpose()
}

pub async fn describe(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let namespace = ctx.namespace(&instance).await?;
    let paging = ctx.params.paging(20, 99)?;
    let names: Vec<String> = ctx
        .params
        .list("RepoName")?
        .iter()
        .map(|n| format!("{}/{n}", namespace.name))
        .collect();
    let (items, total) = ctx
        .app
        .meta
        .list_namespace_repositories(namespace.id, &names, paging.marker, paging.max_results)
        .await?;
    let prefix = format!("{}/", namespace.name);
    let set = items
        .iter()
        .map(|r| {
            json!({
                "RepoName": r.name.strip_prefix(&prefix).unwrap_or(&r.name),
                "Public": r.public,
                "CreateTime": time(r.created_at),
                "UpdateTime": time(r.updated_at),
                "Desc": if r.description.is_empty() { None } else { Some(&r.description) },
                "TagImmutable": r.tag_immutable,
            })
        })
        .collect();
    Ok(page(paging, total, "RepoSet", set))
}

/// Deletes the repository even while its tags are immutable (see the module's documentation).
pub async fn delete(ctx: &Ctx) -> KcrResult<Reply> {
    let t = target(ctx).await?;
    ctx.app.registry.delete_repository(&t.repository).await?;
    Ok(Reply::new())
}

pub async fn modify_desc(ctx: &Ctx) -> KcrResult<Reply> {
    let desc = ctx
        .params
        .get("Desc")
        .ok_or_else(|| KcrError::missing_parameter("Desc"))?;
    if desc.chars().count() > MAX_DESC_CHARS {
        return Err(KcrError::invalid_value("Desc"));
    }
    let t = target(ctx).await?;
    ctx.app
        .meta
        .set_repository_description(t.repository.id, desc)
        .await?;
    Ok(Reply::new())
}

/// berth extension: turns the repository's tag immutability on (`TagImmutable=True`) or off.
pub async fn modify_tag_immutability(ctx: &Ctx) -> KcrResult<Reply> {
    let on = ctx.params.required_bool("TagImmutable")?;
    let t = target(ctx).await?;
    if !ctx
        .app
        .registry
        .set_tag_immutable(&t.repository, on)
        .await?
    {
        return Err(KcrError::not_found("RepoName", "The repository"));
    }
    tracing::info!(
        instance = %t.instance.id,
        repository = %t.repository.name,
        tag_immutable = on,
        caller = %ctx.caller,
        "repository tag immutability changed through the management API"
    );
    Ok(Reply::new())
}

pub async fn describe_images(ctx: &Ctx) -> KcrResult<Reply> {
    let paging = ctx.params.paging(20, 99)?;
    let digest = image_id(ctx)?;
    let t = target(ctx).await?;
    let (items, total) = ctx
        .app
        .meta
        .list_images(
            t.repository.id,
            digest.as_ref(),
            paging.marker,
            paging.max_results,
        )
        .await?;
    let set = items
        .iter()
        .map(|i| {
            json!({
                "ImageId": i.digest.to_string(),
                "Size": i.size,
                "CreateTime": time(i.created_at),
                "TagNames": i.tags,
            })
        })
        .collect();
    Ok(page(paging, total, "ImageSet", set))
}

pub async fn delete_image(ctx: &Ctx) -> KcrResult<Reply> {
    let digest = image_id(ctx)?.ok_or_else(|| KcrError::missing_parameter("ImageId"))?;
    let t = target(ctx).await?;
    if !ctx
        .app
        .registry
        .delete_manifest(&t.instance, &t.repository, &digest)
        .await?
    {
        return Err(KcrError::not_found("ImageId", "The image"));
    }
    audit_delete(ctx, &t, None, &digest);
    Ok(Reply::new())
}

pub async fn delete_tag(ctx: &Ctx) -> KcrResult<Reply> {
    let tag = ctx.params.required("TagName")?.to_string();
    if berth_oci::validate_tag(&tag).is_err() {
        return Err(KcrError::invalid_value("TagName"));
    }
    let t = target(ctx).await?;
    let digest = ctx
        .app
        .registry
        .delete_tag(&t.instance, &t.repository, &tag)
        .await?
        .ok_or_else(|| KcrError::not_found("TagName", "The tag"))?;
    audit_delete(ctx, &t, Some(&tag), &digest);
    Ok(Reply::new())
}

/// Records who deleted an image or tag through this API (the webhooks are the registry's
/// events: `crate::effects`).
fn audit_delete(ctx: &Ctx, target: &Target, tag: Option<&str>, digest: &berth_oci::Digest) {
    tracing::info!(
        instance = %target.instance.id,
        namespace = %target.namespace.name,
        repository = %target.repository.name,
        tag = tag.unwrap_or(""),
        %digest,
        caller = %ctx.caller,
        "image deleted through the management API"
    );
}
