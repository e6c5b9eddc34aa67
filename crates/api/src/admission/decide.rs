//! The decision procedure for one `AdmissionReview`, over a [`Source`]:
//!
//! 1. The review must read (else: the failure policy, 400).
//! 2. The cluster must exist and the request carry a live credential of it (else: the failure
//!    policy, 401).
//! 3. Only `CREATE` and `UPDATE` of the checked kinds are decided; other operations are
//!    allowed, other kinds go to the failure policy (the webhook's rules do not send them).
//! 4. A cluster whose protection is off (`SwitchClusterProtectionMode`) admits everything.
//! 5. Every container's image reference must parse (else: denied, 400, whatever the policy).
//! 6. Each distinct image is looked up (tag → digest, newest scan) and evaluated with
//!    `berth_hss::policy::evaluate` under every project's policies and the exceptions in force.
//! 7. Any image blocked: denied (403) naming each blocked image, its policies and top reasons;
//!    else any alarmed: allowed with one warning per alarmed image; else allowed.
//!
//! A store error anywhere goes to the failure policy (503), as does running out of time (the
//! caller's budget).
use std::collections::BTreeMap;
use std::time::SystemTime;

use berth_hss::policy::{Decision, Exception, ImageRef, Policy, Subject, Verdict, evaluate};
use berth_oci::reference::{DOCKER_HUB, Reference};
use berth_store::{ClusterRecord, StoreError};
use serde_json::Value;

use super::config::FailurePolicy;
use super::message::{self, ImageVerdict};
use super::review::{self, AdmissionResponse};
use super::source::{Access, ImageInfo, ProjectPolicy, Source};
use super::workload::{self, Kind, Workload};

/// Distinct images one request may name; each is looked up.
pub const MAX_IMAGES: usize = 64;

/// The outcome's class, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Allow,
    Alarm,
    Block,
    /// Bad request or bad image reference: denied without a policy.
    Invalid,
    /// berth could not decide; the failure policy answered.
    Failure,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Allow => "allow",
            Class::Alarm => "alarm",
            Class::Block => "block",
            Class::Invalid => "invalid",
            Class::Failure => "failure",
        }
    }
}

/// One image's decision, with what the records need.
#[derive(Debug, Clone)]
pub struct ImageOutcome {
    pub image: String,
    pub containers: Vec<String>,
    pub info: ImageInfo,
    pub decision: Decision,
    /// (project, policy id, policy name) of the deciding policies.
    pub policies: Vec<(String, String, String)>,
}

/// What was decided about a request berth could read and attribute to a cluster.
#[derive(Debug, Clone)]
pub struct Decided {
    pub cluster: ClusterRecord,
    pub workload: Workload,
    pub operation: String,
    pub dry_run: bool,
    pub images: Vec<ImageOutcome>,
    /// The pod (a `Pod` request's object), for the inventory.
    pub pod: Option<Value>,
}

pub struct Outcome {
    pub class: Class,
    pub response: AdmissionResponse,
    /// Present when policies were evaluated.
    pub decided: Option<Decided>,
}

/// The failure policy's answer.
pub fn failure(uid: &str, failure: FailurePolicy, code: u16, why: &str) -> Outcome {
    let response = match failure {
        FailurePolicy::Fail => AdmissionResponse::deny(
            uid,
            code,
            &format!("berth could not check this request: {why} (failure policy Fail)"),
            Vec::new(),
        ),
        FailurePolicy::Ignore => AdmissionResponse::allow(
            uid,
            vec![format!(
                "berth did not check this request: {why} (failure policy Ignore)"
            )],
        ),
    };
    Outcome {
        class: Class::Failure,
        response,
        decided: None,
    }
}

fn plain(class: Class, response: AdmissionResponse) -> Outcome {
    Outcome {
        class,
        response,
        decided: None,
    }
}

/// What a subject's image is, for the policies: the default registry written as "".
fn image_ref(r: &Reference, digest: Option<&str>) -> ImageRef {
    ImageRef {
        registry: if r.registry == DOCKER_HUB {
            String::new()
        } else {
            r.registry.clone()
        },
        repository: r.repository.clone(),
        tag: r
            .tag
            .clone()
            .or_else(|| r.digest.is_none().then(|| "latest".to_string())),
        digest: digest.map(str::to_string),
    }
}

fn container_label(c: &workload::Container) -> String {
    match c.scope {
        workload::Scope::Regular => c.name.clone(),
        other => format!("{}:{}", other.as_str(), c.name),
    }
}

/// [`decide`] within `deadline`: when the budget runs out first (a database that hangs), the
/// failure policy answers, naming the request when its body reads.
pub async fn decide_by(
    deadline: tokio::time::Instant,
    source: &dyn Source,
    cluster_id: &str,
    token: Option<&str>,
    body: &[u8],
    failure_policy: FailurePolicy,
    now: SystemTime,
) -> Outcome {
    let decided = tokio::time::timeout_at(
        deadline,
        decide(source, cluster_id, token, body, failure_policy, now),
    )
    .await;
    decided.unwrap_or_else(|_| {
        failure(
            &review::uid_of(body),
            failure_policy,
            504,
            "berth could not decide within the request's timeout",
        )
    })
}

/// Decides one review. `token` is the credential the request carried.
pub async fn decide(
    source: &dyn Source,
    cluster_id: &str,
    token: Option<&str>,
    body: &[u8],
    failure_policy: FailurePolicy,
    now: SystemTime,
) -> Outcome {
    let request = match review::parse(body) {
        Ok(r) => r,
        Err(why) => return failure(&review::uid_of(body), failure_policy, 400, &why),
    };
    let uid = request.uid.clone();
    match decide_request(source, cluster_id, token, request, failure_policy, now).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::error!(target: "admission", error = %e, "admission could not read the store");
            failure(&uid, failure_policy, 503, "berth's database did not answer")
        }
    }
}

async fn decide_request(
    source: &dyn Source,
    cluster_id: &str,
    token: Option<&str>,
    request: review::AdmissionRequest,
    failure_policy: FailurePolicy,
    now: SystemTime,
) -> Result<Outcome, StoreError> {
    let uid = request.uid.as_str();
    let cluster = match source.access(cluster_id, token).await? {
        Access::Granted(c) => c,
        Access::UnknownCluster => {
            return Ok(failure(
                uid,
                failure_policy,
                401,
                "no such cluster in berth",
            ));
        }
        Access::BadCredential => {
            return Ok(failure(
                uid,
                failure_policy,
                401,
                "the webhook URL carries no live credential of this cluster",
            ));
        }
    };
    if request.operation != "CREATE" && request.operation != "UPDATE" {
        return Ok(plain(
            Class::Allow,
            AdmissionResponse::allow(uid, Vec::new()),
        ));
    }
    let Some(kind) = Kind::of(&request.kind.group, &request.kind.kind) else {
        let why = format!(
            "berth does not check kind {:?} (group {:?}); the webhook's rules should not send it",
            review::cut(&request.kind.kind, 64),
            review::cut(&request.kind.group, 64)
        );
        return Ok(failure(uid, failure_policy, 400, &why));
    };
    let Some(object) = request.object.as_ref() else {
        return Ok(failure(
            uid,
            failure_policy,
            400,
            "the request carries no object",
        ));
    };
    let workload = match workload::read(kind, object, &request.name, &request.namespace) {
        Ok(w) => w,
        Err(why) => return Ok(failure(uid, failure_policy, 400, &why)),
    };
    if cluster.protection != "protected" {
        return Ok(plain(
            Class::Allow,
            AdmissionResponse::allow(uid, Vec::new()),
        ));
    }

    // Each distinct reference once, with the containers that run it.
    let mut images: BTreeMap<&str, (Reference, Vec<String>)> = BTreeMap::new();
    let mut bad = Vec::new();
    for c in &workload.containers {
        match c.image.parse::<Reference>() {
            Ok(r) => images
                .entry(c.image.as_str())
                .or_insert_with(|| (r, Vec::new()))
                .1
                .push(container_label(c)),
            Err(e) => bad.push(format!("{} {:?}: {e}", c.scope.as_str(), c.name)),
        }
    }
    if !bad.is_empty() {
        let msg = format!(
            "berth denied {} {}/{}: image references that cannot be parsed: {}",
            kind.as_str(),
            workload.namespace,
            workload.name,
            bad.join("; ")
        );
        return Ok(plain(
            Class::Invalid,
            AdmissionResponse::deny(uid, 400, &msg, Vec::new()),
        ));
    }
    if images.len() > MAX_IMAGES {
        let why = format!("more than {MAX_IMAGES} distinct images in one object");
        return Ok(failure(uid, failure_policy, 400, &why));
    }

    let project_policies = source.policies().await?;
    let policies: Vec<Policy> = project_policies.iter().map(|p| p.policy.clone()).collect();
    let exceptions: Vec<Exception> = source.exceptions(now).await?;
    let mut outcomes = Vec::new();
    for (written, (reference, containers)) in images {
        let info = source.image(&reference).await?;
        let subject = Subject {
            cluster_id: cluster.id.clone(),
            namespace: workload.namespace.clone(),
            labels: workload.labels.clone(),
            image: image_ref(&reference, info.digest.as_deref()),
            kind: kind.as_str().to_string(),
            name: workload.name.clone(),
        };
        let decision = evaluate(&policies, &exceptions, &subject, &info.findings, now);
        let policies = deciding(&project_policies, &decision);
        outcomes.push(ImageOutcome {
            image: written.to_string(),
            containers,
            info,
            decision,
            policies,
        });
    }
    let (class, response) = respond(uid, &workload, &outcomes);
    Ok(Outcome {
        class,
        response,
        decided: Some(Decided {
            cluster,
            pod: (kind == Kind::Pod).then(|| object.clone()),
            workload,
            operation: request.operation.clone(),
            dry_run: request.dry_run.unwrap_or(false),
            images: outcomes,
        }),
    })
}

/// (project, id, name) of the policies that decided.
fn deciding(all: &[ProjectPolicy], decision: &Decision) -> Vec<(String, String, String)> {
    all.iter()
        .filter(|p| decision.matched_policies.contains(&p.policy.policy_id))
        .map(|p| {
            (
                p.project_id.clone(),
                p.policy.policy_id.clone(),
                p.policy.policy_name.clone(),
            )
        })
        .collect()
}

fn verdict<'a>(o: &'a ImageOutcome) -> ImageVerdict<'a> {
    let mut policies: Vec<String> = o
        .policies
        .iter()
        .map(|(_, id, name)| format!("{name:?} ({id})"))
        .collect();
    policies.dedup();
    ImageVerdict {
        image: &o.image,
        containers: &o.containers,
        decision: &o.decision,
        policies,
    }
}

/// The response to evaluated images: the decision → response mapping.
pub fn respond(uid: &str, w: &Workload, outcomes: &[ImageOutcome]) -> (Class, AdmissionResponse) {
    let blocked: Vec<ImageVerdict<'_>> = outcomes
        .iter()
        .filter(|o| matches!(o.decision.verdict, Verdict::Block(_)))
        .map(verdict)
        .collect();
    let alarmed: Vec<ImageVerdict<'_>> = outcomes
        .iter()
        .filter(|o| matches!(o.decision.verdict, Verdict::Alarm(_)))
        .map(verdict)
        .collect();
    let warnings = message::warnings(&alarmed);
    if !blocked.is_empty() {
        let msg = message::denial(w.kind.as_str(), &w.namespace, &w.name, &blocked);
        return (
            Class::Block,
            AdmissionResponse::deny(uid, 403, &msg, warnings),
        );
    }
    if !alarmed.is_empty() {
        return (Class::Alarm, AdmissionResponse::allow(uid, warnings));
    }
    (Class::Allow, AdmissionResponse::allow(uid, Vec::new()))
}
