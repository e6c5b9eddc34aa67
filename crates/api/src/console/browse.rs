//! Browsing the registry: instances, their namespaces (public or private, quota and usage),
//! a namespace's repositories, and a repository's tags (searched and paged in the store:
//! keyset paging by name, so the 200th page of 10,000 tags costs what the first does).
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use berth_store::InstanceFilter;
use maud::html;
use serde::Deserialize;

use super::access;
use super::error::ConsoleResult;
use super::layout::{enc, html_response, image_href, page, short_digest, time_ms};
use super::viewer::Viewer;
use crate::state::App;

/// Rows per page of every list.
pub const PAGE: u32 = 50;

pub async fn instances(State(app): State<App>, v: Viewer) -> ConsoleResult<Response> {
    instances_page(&app, &v).await
}

async fn instances_page(app: &App, v: &Viewer) -> ConsoleResult<Response> {
    let (instances, _) = app
        .meta
        .list_instances(&InstanceFilter::default(), 0, 1000)
        .await?;
    let mut rows = Vec::new();
    for i in instances {
        // A user who is not an administrator sees the public namespaces only: their count, not
        // the instance's usage (which counts private ones too).
        let public_only = (!v.may_read(app, false)).then_some(true);
        let (_, visible) = app
            .meta
            .list_namespaces(&i.id, None, public_only, 0, 1)
            .await?;
        let usage = if v.admin {
            Some(app.meta.instance_usage(&i.id).await?)
        } else {
            None
        };
        rows.push((i, visible, usage));
    }
    let body = html! {
        table {
            caption { "Instances (tenants) and their namespaces" }
            thead { tr {
                th scope="col" { "Instance" } th scope="col" { "Status" }
                th scope="col" { "Namespaces" }
                @if v.admin { th scope="col" { "Repositories (used / quota)" } }
            } }
            tbody {
                @for (i, visible, usage) in &rows {
                    tr {
                        td { a href={ "/ui/namespaces?i=" (enc(&i.id)) } { (i.name) }
                             @if i.is_default { " " span class="badge" { "default" } } }
                        td { (i.status.as_str()) }
                        @if let Some(u) = usage {
                            td { (u.namespaces) " / " (i.namespace_quota) }
                            td { (u.repositories) " / " (i.repository_quota) }
                        } @else {
                            td { (visible) " public" }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        page(v, "instances", "Registry", body),
    ))
}

#[derive(Deserialize)]
pub struct InstanceQuery {
    i: String,
    #[serde(default)]
    offset: u32,
}

pub async fn namespaces(
    State(app): State<App>,
    v: Viewer,
    Query(q): Query<InstanceQuery>,
) -> ConsoleResult<Response> {
    namespaces_page(&app, &v, &q).await
}

async fn namespaces_page(app: &App, v: &Viewer, q: &InstanceQuery) -> ConsoleResult<Response> {
    let instance = access::instance(app, &q.i).await?;
    let public_only = (!v.may_read(app, false)).then_some(true);
    let (list, total) = app
        .meta
        .list_namespaces(&instance.id, None, public_only, q.offset, PAGE)
        .await?;
    let usage = if v.admin {
        Some(app.meta.instance_usage(&instance.id).await?)
    } else {
        None
    };
    let body = html! {
        p class="crumbs" { a href="/ui/instances" { "Instances" } " / " (instance.name) }
        @if let Some(u) = usage {
            dl class="facts" {
                dt { "Namespaces" } dd { (u.namespaces) " of " (instance.namespace_quota) }
                dt { "Repositories" } dd { (u.repositories) " of " (instance.repository_quota) }
                dt { "Type" } dd { (instance.instance_type) }
                dt { "Registry logins" } dd { a href={ "/ui/access-tokens?i=" (enc(&instance.id)) } { "Access tokens" } }
            }
        }
        table {
            caption { (total) " namespaces" }
            thead { tr {
                th scope="col" { "Namespace" } th scope="col" { "Visibility" }
                th scope="col" { "Scan on push" } th scope="col" { "Repositories" }
                th scope="col" { "Created" }
            } }
            tbody {
                @for n in &list {
                    tr {
                        td { a href={ "/ui/repositories?i=" (enc(&instance.id)) "&ns=" (enc(&n.namespace.name)) } { (n.namespace.name) } }
                        td { @if n.namespace.public { span class="badge public" { "public" } } @else { span class="badge private" { "private" } } }
                        td { @if n.namespace.scan_on_push { "on" } @else { "off" } }
                        td { (n.repositories) }
                        td { (time_ms(n.namespace.created_at)) }
                    }
                }
            }
        }
        (pager(&format!("/ui/namespaces?i={}", enc(&instance.id)), q.offset, total))
    };
    Ok(html_response(
        StatusCode::OK,
        page(
            v,
            "instances",
            &format!("Namespaces of {}", instance.name),
            body,
        ),
    ))
}

/// Previous/next links for offset paging (short lists: namespaces, repositories).
fn pager(base: &str, offset: u32, total: u64) -> maud::Markup {
    let prev = offset.checked_sub(PAGE).or((offset > 0).then_some(0));
    let next = (u64::from(offset) + u64::from(PAGE) < total).then_some(offset + PAGE);
    html! {
        nav class="pager" aria-label="Pages" {
            @if let Some(p) = prev { a href={ (base) "&offset=" (p) } { "Previous" } }
            @if let Some(n) = next { a href={ (base) "&offset=" (n) } { "Next" } }
        }
    }
}

#[derive(Deserialize)]
pub struct NamespaceQuery {
    i: String,
    ns: String,
    #[serde(default)]
    offset: u32,
}

pub async fn repositories(
    State(app): State<App>,
    v: Viewer,
    Query(q): Query<NamespaceQuery>,
) -> ConsoleResult<Response> {
    repositories_page(&app, &v, &q).await
}

async fn repositories_page(app: &App, v: &Viewer, q: &NamespaceQuery) -> ConsoleResult<Response> {
    let instance = access::instance(app, &q.i).await?;
    let ns = access::namespace(app, v, &instance.id, &q.ns).await?;
    let (list, total) = app
        .meta
        .list_namespace_repositories(ns.id, &[], q.offset, PAGE)
        .await?;
    let webhooks = super::webhooks::triggers_section(app, v, &instance.id, &ns).await?;
    let body = html! {
        p class="crumbs" {
            a href="/ui/instances" { "Instances" } " / "
            a href={ "/ui/namespaces?i=" (enc(&instance.id)) } { (instance.name) } " / " (ns.name)
        }
        dl class="facts" {
            dt { "Visibility" } dd { @if ns.public { "public: anyone may pull" } @else { "private: authenticated users with rights only" } }
            dt { "Scan on push" } dd { @if ns.scan_on_push { "on" } @else { "off" } }
        }
        table {
            caption { (total) " repositories" }
            thead { tr {
                th scope="col" { "Repository" } th scope="col" { "Tags" }
                th scope="col" { "Description" } th scope="col" { "Updated" }
            } }
            tbody {
                @for r in &list {
                    tr {
                        td { a href={ "/ui/tags?i=" (enc(&instance.id)) "&repo=" (enc(&r.name)) } { (r.name) } }
                        td { @if r.tag_immutable { span class="badge" { "immutable" } } @else { "mutable" } }
                        td { (r.description) }
                        td { (time_ms(r.updated_at)) }
                    }
                }
            }
        }
        (pager(&format!("/ui/repositories?i={}&ns={}", enc(&instance.id), enc(&ns.name)), q.offset, total))
        (webhooks)
    };
    Ok(html_response(
        StatusCode::OK,
        page(
            v,
            "instances",
            &format!("Repositories in {}", ns.name),
            body,
        ),
    ))
}

#[derive(Deserialize)]
pub struct TagsQuery {
    i: String,
    repo: String,
    #[serde(default)]
    q: String,
    /// The last tag of the previous page (keyset paging).
    after: Option<String>,
}

pub async fn tags(
    State(app): State<App>,
    v: Viewer,
    Query(q): Query<TagsQuery>,
) -> ConsoleResult<Response> {
    tags_page(&app, &v, &q).await
}

async fn tags_page(app: &App, v: &Viewer, q: &TagsQuery) -> ConsoleResult<Response> {
    let (instance, ns, repo) = access::repository(app, v, &q.i, &q.repo).await?;
    let search = q.q.trim();
    let contains = (!search.is_empty()).then_some(search);
    let (tags, total) = app
        .meta
        .search_tags(repo.id, contains, q.after.as_deref(), PAGE)
        .await?;
    let base = format!(
        "/ui/tags?i={}&repo={}&q={}",
        enc(&instance.id),
        enc(&repo.name),
        enc(search)
    );
    let next = (tags.len() == PAGE as usize)
        .then(|| {
            tags.last()
                .map(|t| format!("{base}&after={}", enc(&t.name)))
        })
        .flatten();
    let body = html! {
        p class="crumbs" {
            a href="/ui/instances" { "Instances" } " / "
            a href={ "/ui/namespaces?i=" (enc(&instance.id)) } { (instance.name) } " / "
            a href={ "/ui/repositories?i=" (enc(&instance.id)) "&ns=" (enc(&ns.name)) } { (ns.name) } " / "
            (repo.name)
        }
        dl class="facts" {
            dt { "Tags" } dd { @if repo.tag_immutable { "immutable: a pushed tag never moves" } @else { "mutable" } }
            dt { "Scan on push" } dd { @if ns.scan_on_push || app.config.scan.on_push { "on" } @else { "off" } }
            dt { "Pull" } dd { code { (repo.name) ":TAG" } }
        }
        form class="search" method="get" action="/ui/tags" role="search" {
            input type="hidden" name="i" value=(instance.id);
            input type="hidden" name="repo" value=(repo.name);
            label for="q" { "Search tags" }
            input id="q" name="q" type="search" value=(search) placeholder="part of a tag";
            button type="submit" { "Search" }
        }
        table {
            caption { (total) " tags" @if contains.is_some() { " matching" } }
            thead { tr {
                th scope="col" { "Tag" } th scope="col" { "Digest" } th scope="col" { "Pushed" }
            } }
            tbody {
                @for t in &tags {
                    tr {
                        td { a href=(image_href(&instance.id, &repo.name, &t.digest.to_string())) { (t.name) } }
                        td { code title=(t.digest.to_string()) { (short_digest(&t.digest.to_string())) } }
                        td { (time_ms(t.updated_at)) }
                    }
                }
            }
        }
        nav class="pager" aria-label="Pages" {
            @if q.after.is_some() { a href=(base) { "First page" } }
            @if let Some(n) = next { a href=(n) { "Next" } }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        page(v, "instances", &format!("Tags of {}", repo.name), body),
    ))
}
