//! Resolving what a console URL names, with the viewer's rights checked the way the registry
//! checks them: something the viewer may not read is "not found", so a private namespace of
//! another tenant does not even show that it exists.
use berth_store::{Instance, InstanceStatus, Namespace, Repository};

use super::error::{ConsoleError, ConsoleResult};
use super::viewer::Viewer;
use crate::http_util::namespace_of;
use crate::state::App;

/// A live instance.
pub async fn instance(app: &App, id: &str) -> ConsoleResult<Instance> {
    match app.meta.get_instance(id).await? {
        Some(i) if i.status != InstanceStatus::Deleting => Ok(i),
        _ => Err(ConsoleError::NotFound),
    }
}

/// A namespace the viewer may read.
pub async fn namespace(
    app: &App,
    viewer: &Viewer,
    instance_id: &str,
    name: &str,
) -> ConsoleResult<Namespace> {
    let ns = app
        .meta
        .get_namespace(instance_id, name)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    if !viewer.may_read(app, ns.public) {
        return Err(ConsoleError::NotFound);
    }
    Ok(ns)
}

/// A repository the viewer may read, with its instance and namespace.
pub async fn repository(
    app: &App,
    viewer: &Viewer,
    instance_id: &str,
    name: &str,
) -> ConsoleResult<(Instance, Namespace, Repository)> {
    let instance = instance(app, instance_id).await?;
    let ns = namespace(app, viewer, &instance.id, namespace_of(name)).await?;
    let repo = app
        .meta
        .get_repository(&instance.id, name)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    Ok((instance, ns, repo))
}
