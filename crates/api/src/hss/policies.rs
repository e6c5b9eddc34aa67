//! Policies: CreateClusterProtectionPolicy (`POST .../cluster-protect/policy`),
//! ChangeClusterProtectionPolicy (`PUT`), DeleteClusterProtectionPolicy (`DELETE`, the policy
//! named in the body), ListClusterProtectionPolicy (`GET`), ListClusterProtectionPolicyDetail
//! (`GET .../policy/{policy_id}`) and ListClusterProtectionDefaultPolicy
//! (`GET .../default-policy`: berth's templates as policies).
//!
//! A body is read whole as `berth_hss::policy::Policy` (the SDK's `ModPolicyRequestInfo`) and
//! validated before anything is written: an unknown `policy_type`, `action` or `severity`, a
//! missing `policy_id`, `policy_name` or `content` field, or an over-long list is a 400 naming
//! the field, and the store is not touched. The stored document is the policy as berth read it.
use berth_hss::policy::{Policy, PolicyType, template, templates};
use berth_store::{ProtectionPolicy, now_millis};
use serde::{Deserialize, Serialize};

use super::context::{Call, Paging, empty, reply};
use super::error::{HssError, HssResult};

/// `DeletePolicyRequestInfo`; its `policy_name` is accepted and not needed (the id names the
/// policy).
#[derive(Deserialize)]
struct DeleteRequest {
    policy_id: String,
}

/// The SDK's `Resources`: one protected place; `namespace` is one string there, so berth
/// joins a scope's namespaces with commas.
#[derive(Serialize)]
struct Resources {
    cluster_id: String,
    cluster_name: String,
    images: Vec<String>,
    labels: Vec<String>,
    namespace: String,
}

/// The SDK's `ClusterPolicyResponseInfo`.
#[derive(Serialize)]
struct PolicyInfo {
    cluster_id: String,
    cluster_name: String,
    content: serde_json::Value,
    deploy_content: String,
    parameters: String,
    policy_name: String,
    policy_id: String,
    resources: Vec<Resources>,
    template_id: String,
    template_name: String,
    template_type: String,
    description: String,
    update_time: i64,
    create_time: i64,
    image_num: u64,
    labels_num: u64,
    status: String,
    white_images: Vec<berth_hss::policy::WhiteImage>,
}

/// The SDK's `ListClusterProtectionPolicyResponse` (and the detail's and default policies',
/// which have the same fields). `x_auth_token` is never echoed.
#[derive(Serialize)]
struct PolicyList {
    total_num: u64,
    project_id: String,
    enterprise_project_id: String,
    region: String,
    general_policy_num: u64,
    malicious_image_policy_num: u64,
    security_policy_num: u64,
    data_list: Vec<PolicyInfo>,
}

fn info(policy: &Policy, created: i64, updated: i64, status: &str) -> HssResult<PolicyInfo> {
    let first = policy.resources.first();
    let content = serde_json::to_value(&policy.content).map_err(|_| HssError::internal())?;
    let count = |f: fn(&berth_hss::policy::ProtectScope) -> usize| -> u64 {
        policy.resources.iter().map(|s| f(s) as u64).sum()
    };
    Ok(PolicyInfo {
        cluster_id: first.map(|s| s.cluster_id.clone()).unwrap_or_default(),
        cluster_name: first.map(|s| s.cluster_name.clone()).unwrap_or_default(),
        content,
        deploy_content: String::new(),
        parameters: policy.parameters.clone(),
        policy_name: policy.policy_name.clone(),
        policy_id: policy.policy_id.clone(),
        resources: policy
            .resources
            .iter()
            .map(|s| Resources {
                cluster_id: s.cluster_id.clone(),
                cluster_name: s.cluster_name.clone(),
                images: s.images.clone(),
                labels: s.labels.clone(),
                namespace: s.namespaces.join(","),
            })
            .collect(),
        template_id: policy.template_id.clone(),
        template_name: template(&policy.template_id)
            .map(|t| t.name.to_string())
            .unwrap_or_default(),
        template_type: policy.content.policy_type.as_str().to_string(),
        description: policy.policy_description.clone(),
        update_time: updated,
        create_time: created,
        image_num: count(|s| s.images.len()),
        labels_num: count(|s| s.labels.len()),
        status: status.to_string(),
        white_images: policy.white_image_list.clone(),
    })
}

/// A stored document read back; one that no longer reads is a storage fault.
fn stored(p: &ProtectionPolicy) -> HssResult<Policy> {
    Policy::from_json(p.document.as_bytes()).map_err(|e| {
        tracing::error!(policy = %p.policy_id, error = %e, "stored policy does not read");
        HssError::internal()
    })
}

fn list_reply(call: &Call, all: Vec<(Policy, i64, i64)>, page: Paging) -> HssResult<String> {
    let of = |t: PolicyType| all.iter().filter(|p| p.0.content.policy_type == t).count() as u64;
    let body = PolicyList {
        total_num: all.len() as u64,
        project_id: call.project_id.clone(),
        enterprise_project_id: call
            .param("enterprise_project_id")
            .unwrap_or("0")
            .to_string(),
        region: call
            .app
            .config
            .management
            .regions
            .first()
            .cloned()
            .unwrap_or_default(),
        general_policy_num: of(PolicyType::Vuls),
        malicious_image_policy_num: of(PolicyType::Malwares),
        security_policy_num: of(PolicyType::Baselines),
        data_list: page
            .slice(all)
            .iter()
            .map(|(p, c, u)| info(p, *c, *u, "enabled"))
            .collect::<HssResult<_>>()?,
    };
    reply(&body)
}

fn read_policy(call: &Call) -> HssResult<(Policy, String)> {
    if call.body.is_empty() {
        return Err(HssError::invalid_body("a JSON body is required"));
    }
    let policy = Policy::from_json(&call.body).map_err(HssError::invalid_body)?;
    let document = serde_json::to_string(&policy).map_err(|_| HssError::internal())?;
    Ok((policy, document))
}

fn record(call: &Call, policy: &Policy, document: String, now: i64) -> ProtectionPolicy {
    ProtectionPolicy {
        project_id: call.project_id.clone(),
        policy_id: policy.policy_id.clone(),
        policy_name: policy.policy_name.clone(),
        template_id: policy.template_id.clone(),
        document,
        created_at: now,
        updated_at: now,
    }
}

pub async fn create(call: &Call) -> HssResult<String> {
    let (policy, document) = read_policy(call)?;
    let row = record(call, &policy, document, now_millis());
    if !call.app.meta.create_protection_policy(&row).await? {
        return Err(HssError::policy_exists(&policy.policy_id));
    }
    // After the write: admission enforces the change at once, not when its cache expires.
    crate::notices::announce(&call.app, crate::notices::ApiNotice::Admission);
    empty()
}

pub async fn change(call: &Call) -> HssResult<String> {
    let (policy, document) = read_policy(call)?;
    let row = record(call, &policy, document, now_millis());
    if !call.app.meta.update_protection_policy(&row).await? {
        return Err(HssError::policy_not_found(&policy.policy_id));
    }
    crate::notices::announce(&call.app, crate::notices::ApiNotice::Admission);
    empty()
}

pub async fn delete(call: &Call) -> HssResult<String> {
    let req: DeleteRequest = call.body_json()?;
    if req.policy_id.trim().is_empty() {
        return Err(HssError::invalid_body("policy_id must not be empty"));
    }
    let meta = &call.app.meta;
    if !meta
        .delete_protection_policy(&call.project_id, &req.policy_id)
        .await?
    {
        return Err(HssError::policy_not_found(&req.policy_id));
    }
    crate::notices::announce(&call.app, crate::notices::ApiNotice::Admission);
    empty()
}

/// Whether the policy applies in the cluster: a scope naming it, or one naming no cluster.
fn applies_in(policy: &Policy, cluster_id: &str) -> bool {
    policy.resources.is_empty()
        || policy
            .resources
            .iter()
            .any(|s| s.cluster_id.is_empty() || s.cluster_id == cluster_id)
}

/// The project's policies with their times, oldest first.
pub async fn all(call: &Call) -> HssResult<Vec<(Policy, i64, i64)>> {
    let rows = call
        .app
        .meta
        .list_protection_policies(&call.project_id)
        .await?;
    rows.iter()
        .map(|r| Ok((stored(r)?, r.created_at, r.updated_at)))
        .collect()
}

/// How many of `policies` apply in the cluster.
pub fn count_in(policies: &[(Policy, i64, i64)], cluster_id: &str) -> u64 {
    policies
        .iter()
        .filter(|p| applies_in(&p.0, cluster_id))
        .count() as u64
}

pub async fn list(call: &Call) -> HssResult<String> {
    let page = call.paging()?;
    let mut policies = all(call).await?;
    if let Some(cluster) = call.param("cluster_id") {
        policies.retain(|p| applies_in(&p.0, cluster));
    }
    list_reply(call, policies, page)
}

pub async fn detail(call: &Call, policy_id: &str) -> HssResult<String> {
    let meta = &call.app.meta;
    let Some(row) = meta
        .get_protection_policy(&call.project_id, policy_id)
        .await?
    else {
        return Err(HssError::policy_not_found(policy_id));
    };
    let one = vec![(stored(&row)?, row.created_at, row.updated_at)];
    list_reply(
        call,
        one,
        Paging {
            offset: 0,
            limit: 1,
        },
    )
}

/// berth's templates, each as the policy it makes (its id the template's).
pub fn defaults(call: &Call) -> HssResult<String> {
    let page = call.paging()?;
    let all = templates()
        .iter()
        .map(|t| (t.instantiate(t.id, t.name), 0, 0))
        .collect();
    list_reply(call, all, page)
}
