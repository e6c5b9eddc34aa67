//! Which policies apply to a subject, and which images a white list or an exception names.
use super::model::{Policy, ProtectScope, WhiteImage};
use super::subject::{ImageRef, Subject};

/// Whether `name` is the image's repository, with or without its registry.
fn names_repository(name: &str, image: &ImageRef) -> bool {
    if name == image.repository {
        return true;
    }
    !image.registry.is_empty()
        && name
            .strip_prefix(image.registry.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            == Some(image.repository.as_str())
}

/// An image pattern: `repo`, `registry/repo`, either optionally with `:tag` or `@digest`.
pub fn image_matches(pattern: &str, image: &ImageRef) -> bool {
    let pattern = pattern.trim();
    if let Some((name, digest)) = pattern.split_once('@') {
        return names_repository(name, image) && image.digest.as_deref() == Some(digest);
    }
    // A ':' after the last '/' starts a tag; one before it is a registry's port.
    let last_slash = pattern.rfind('/').map_or(0, |i| i + 1);
    if let Some(colon) = pattern.get(last_slash..).and_then(|tail| tail.find(':')) {
        let (name, tag) = pattern.split_at(last_slash + colon);
        let tag = tag.get(1..).unwrap_or_default();
        return names_repository(name, image) && image.tag.as_deref() == Some(tag);
    }
    names_repository(pattern, image)
}

/// A `labels` entry: `key=value`, or `key` for any value.
fn label_matches(selector: &str, subject: &Subject) -> bool {
    match selector.split_once('=') {
        Some((key, value)) => {
            subject.labels.get(key.trim()).map(String::as_str) == Some(value.trim())
        }
        None => subject.labels.contains_key(selector.trim()),
    }
}

/// Whether one scope entry covers the subject: every non-empty criterion matches.
pub fn scope_matches(scope: &ProtectScope, subject: &Subject) -> bool {
    (scope.cluster_id.is_empty() || scope.cluster_id == subject.cluster_id)
        && (scope.namespaces.is_empty() || scope.namespaces.contains(&subject.namespace))
        && (scope.labels.is_empty() || scope.labels.iter().any(|l| label_matches(l, subject)))
        && (scope.images.is_empty()
            || scope
                .images
                .iter()
                .any(|p| image_matches(p, &subject.image)))
}

/// Whether the policy applies to the subject: no `resources` (everywhere), or one that covers it.
pub fn applies(policy: &Policy, subject: &Subject) -> bool {
    policy.resources.is_empty() || policy.resources.iter().any(|s| scope_matches(s, subject))
}

/// Whether a white-list entry names the subject's image (in the subject's cluster).
pub fn white_listed(entry: &WhiteImage, subject: &Subject) -> bool {
    let image = &subject.image;
    let version = entry.image_version.trim();
    (entry.cluster_id.is_empty() || entry.cluster_id == subject.cluster_id)
        && image_matches(&entry.image_name, image)
        && (version.is_empty()
            || image.tag.as_deref() == Some(version)
            || image.digest.as_deref() == Some(version))
}
