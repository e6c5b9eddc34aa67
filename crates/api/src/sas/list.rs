//! `ListImageRisk`: the images running in the selected clusters, namespaces and applications,
//! one entry per image (per manifest digest; a container whose digest is not known yet is
//! listed by its reference), with what berth knows of each.
//!
//! An image berth stores (in any instance) is `IN_SAS`: its repository fields, tags, endpoints,
//! visibility and tag immutability (`TagImmutable` 1 or 0) are the stored repository's, and its
//! `Statistics` its newest scan's (zeros while it has none). Any other image is `NOT_IN_SAS`: its names are the reference's as the
//! pod spec wrote it, its counts zero, its repository fields empty — berth has not seen its
//! content (pulling foreign images into a scan cache is a later step).
use berth_acs::{AcsError, AcsResult};
use berth_inventory::risk::{ImageKey, ImageQuery, RunningImage, running_images};
use berth_store::StoredImage;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::endpoints::{EndPoint, EndpointCache};
use super::params::{Call, LIST_IMAGE_RISK};
use super::risk;
use crate::exceptions::Active;
use crate::runtime::snapshots;

/// The parameters of the seed (and of the SDK's `ListImageRiskRequest`).
const TAKES: [&str; 6] = [
    "CurrentPage",
    "PageSize",
    "ClusterId",
    "Namespace",
    "AppName",
    "ImageName",
];

#[derive(Debug, Serialize)]
pub struct Reply {
    #[serde(rename = "ImageRiskList")]
    pub image_risk_list: Vec<Item>,
    #[serde(rename = "PageInfo")]
    pub page_info: PageInfo,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PageInfo {
    pub total_count: u64,
    pub count: u64,
    pub page_size: u32,
    pub current_page: u32,
}

/// One entry, every field of the seed with the SDK model's type.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Item {
    pub repo_namespace: String,
    pub repo_name: String,
    pub tag: String,
    pub region_id: String,
    pub digest: String,
    pub repo_id: String,
    pub repo_type: String,
    pub registry_type: String,
    pub endpoints: String,
    pub image_id: String,
    pub tag_immutable: i32,
    /// `{"baselineNum":..,"newSuspicious":..,"vul":..}` as a string, as the seed has it.
    pub statistics: String,
    pub image_access_type: &'static str,
    pub image: String,
    pub uuid: String,
    pub end_point_list: Vec<EndPoint>,
    #[serde(rename = "InternetURLs")]
    pub internet_urls: String,
    #[serde(rename = "VpcURLs")]
    pub vpc_urls: String,
}

/// A stable UUID-shaped id from a hash: the first 128 bits of it, as 8-4-4-4-12 hex.
fn uuid_of(hex: &str) -> String {
    let h = |r: std::ops::Range<usize>| hex.get(r).unwrap_or("");
    format!(
        "{}-{}-{}-{}-{}",
        h(0..8),
        h(8..12),
        h(12..16),
        h(16..20),
        h(20..32)
    )
}

/// The stored copy that best matches how the pods name the image: a repository of the same
/// name first, then the default instance's, then the first by digest, instance and name.
fn choose<'a>(
    running: &RunningImage,
    stored: &'a [StoredImage],
    default_instance: &str,
) -> Option<&'a StoredImage> {
    let score = |s: &StoredImage| {
        let named = running.names.iter().any(|n| n.repository == s.repository);
        (named, s.instance_id == default_instance)
    };
    let mut best: Option<&StoredImage> = None;
    for s in stored {
        if best.is_none_or(|b| score(s) > score(b)) {
            best = Some(s);
        }
    }
    best
}

fn statistics(risk: Option<&berth_inventory::risk::ImageRisk>) -> String {
    let r = risk.copied().unwrap_or_default();
    serde_json::json!({
        "baselineNum": r.baseline.total(),
        "newSuspicious": r.malicious_files.total(),
        "vul": r.os_vulns.total().saturating_add(r.lang_vulns.total()),
    })
    .to_string()
}

pub async fn list_image_risk(call: &Call) -> AcsResult<Reply> {
    call.check_names(LIST_IMAGE_RISK, &TAKES)?;
    let paging = call.paging()?;
    let query = ImageQuery {
        cluster_id: call.filter("ClusterId"),
        namespace: call.filter("Namespace"),
        app_name: call.filter("AppName"),
        image_name: call.filter("ImageName"),
    };
    let app = &call.app;
    let server_error = |e: berth_store::StoreError| {
        tracing::error!(error = %e, "ListImageRisk: storage failure");
        AcsError::ServerError
    };
    let all = snapshots::load_all(app).await.map_err(server_error)?;
    // The selection first (no risk needed to select images), then the page's images only.
    let images = running_images(all.iter().map(|s| s.as_ref()), &query, &Default::default());
    let total = images.len();
    let page = &images[paging.range(total)];
    let digests: Vec<_> = page
        .iter()
        .filter_map(|i| match &i.key {
            ImageKey::Digest(d) => Some(d.clone()),
            ImageKey::Reference(_) => None,
        })
        .collect();
    let found = risk::lookup(app, &digests).await.map_err(server_error)?;
    let exceptions = Active::load(app.meta.as_ref())
        .await
        .map_err(server_error)?;
    let risks = found.risks(
        &exceptions,
        query.cluster_id.as_deref(),
        query.namespace.as_deref(),
    );
    let region = app
        .config
        .management
        .regions
        .first()
        .cloned()
        .unwrap_or_default();
    let mut endpoints = EndpointCache::new(app, &call.host);
    let mut items = Vec::with_capacity(page.len());
    for running in page {
        let image = running
            .references
            .iter()
            .next()
            .cloned()
            .unwrap_or_default();
        let (digest, uuid) = match &running.key {
            ImageKey::Digest(d) => (d.hex().to_string(), uuid_of(d.hex())),
            ImageKey::Reference(r) => (
                String::new(),
                uuid_of(&hex::encode(Sha256::digest(r.as_bytes()))),
            ),
        };
        let key_digest = match &running.key {
            ImageKey::Digest(d) => Some(d),
            ImageKey::Reference(_) => None,
        };
        let stored = key_digest
            .and_then(|d| found.stored.get(d))
            .and_then(|s| choose(running, s, &app.default_instance.id));
        let facts = key_digest.and_then(|d| found.facts.get(d));
        let item = match stored {
            Some(s) => {
                let e = endpoints
                    .of(&s.instance_id, &s.instance_name)
                    .await
                    .map_err(server_error)?;
                let name = s
                    .repository
                    .strip_prefix(&format!("{}/", s.namespace))
                    .unwrap_or(&s.repository)
                    .to_string();
                let wanted_tag = running.names.iter().find_map(|n| n.tag.clone());
                let tag = wanted_tag
                    .filter(|t| s.tags.contains(t))
                    .or_else(|| s.tags.first().cloned())
                    .unwrap_or_default();
                let url = |domain: Option<&String>| {
                    domain.map_or_else(String::new, |d| format!("{d}/{}", s.repository))
                };
                Item {
                    repo_namespace: s.namespace.clone(),
                    repo_name: name,
                    tag,
                    region_id: region.clone(),
                    digest,
                    repo_id: s.repository_id.to_string(),
                    repo_type: if s.namespace_public {
                        "PUBLIC"
                    } else {
                        "PRIVATE"
                    }
                    .into(),
                    registry_type: "berth".into(),
                    endpoints: e.endpoint(),
                    image_id: facts
                        .and_then(|f| f.config_digest.as_deref())
                        .map(|c| c.split_once(':').map_or(c, |(_, hex)| hex).to_string())
                        .unwrap_or_default(),
                    tag_immutable: i32::from(s.tag_immutable),
                    statistics: statistics(key_digest.and_then(|d| risks.get(d))),
                    image_access_type: "IN_SAS",
                    image,
                    uuid,
                    end_point_list: e.list(),
                    internet_urls: url(e.internet.first()),
                    vpc_urls: url(e.intranet.first()),
                }
            }
            None => {
                let name = running.names.iter().next();
                Item {
                    repo_namespace: name
                        .map(|n| n.repo_namespace().to_string())
                        .unwrap_or_default(),
                    repo_name: name.map(|n| n.repo_name().to_string()).unwrap_or_default(),
                    tag: name.and_then(|n| n.tag.clone()).unwrap_or_default(),
                    region_id: String::new(),
                    digest,
                    repo_id: String::new(),
                    repo_type: String::new(),
                    registry_type: String::new(),
                    endpoints: String::new(),
                    image_id: String::new(),
                    tag_immutable: 0,
                    statistics: statistics(None),
                    image_access_type: "NOT_IN_SAS",
                    image,
                    uuid,
                    end_point_list: Vec::new(),
                    internet_urls: String::new(),
                    vpc_urls: String::new(),
                }
            }
        };
        items.push(item);
    }
    Ok(Reply {
        page_info: PageInfo {
            total_count: total as u64,
            count: items.len() as u64,
            page_size: paging.page_size,
            current_page: paging.current_page,
        },
        image_risk_list: items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_shaped_like_the_vendors() {
        assert_eq!(
            uuid_of("624778f35bf2423cac0c47a62c05abcd0000"),
            "624778f3-5bf2-423c-ac0c-47a62c05abcd"
        );
        let s = statistics(None);
        assert_eq!(s, r#"{"baselineNum":0,"newSuspicious":0,"vul":0}"#);
    }
}
