//! Policy templates: ListClusterProtectPolicyTemplates
//! (`GET .../container/clusters/protection-policy-templates`) and
//! ShowClusterProtectPolicyTemplate (`.../protection-policy-templates/{policy_template_id}`),
//! from `berth_hss::policy::templates()`.
//!
//! As the SDK's `PolicyTemplateInfo`: `template_type` is the policy type (`vuls`, `baselines`,
//! `malwares`), `target_kind` `Pod`, `level` `high` for a blocking template and `medium` for
//! an alarming one, `tag` empty, `constraint_template` the template's policy content as JSON.
use berth_hss::policy::{Action, Template, template, templates};
use serde::Serialize;

use super::context::{Call, reply};
use super::error::{HssError, HssResult};

#[derive(Serialize)]
struct TemplateInfo {
    id: String,
    template_name: String,
    template_type: String,
    description: String,
    target_kind: String,
    tag: String,
    level: String,
    constraint_template: String,
}

#[derive(Serialize)]
struct TemplateList {
    total_num: u64,
    data_list: Vec<TemplateInfo>,
}

fn info(t: &Template) -> HssResult<TemplateInfo> {
    let content = serde_json::to_string(&t.content).map_err(|_| HssError::internal())?;
    Ok(TemplateInfo {
        id: t.id.to_string(),
        template_name: t.name.to_string(),
        template_type: t.content.policy_type.as_str().to_string(),
        description: t.description.to_string(),
        target_kind: "Pod".to_string(),
        tag: String::new(),
        level: if t.content.action == Action::Block {
            "high"
        } else {
            "medium"
        }
        .to_string(),
        constraint_template: content,
    })
}

pub fn list(call: &Call) -> HssResult<String> {
    let page = call.paging()?;
    let mut all = templates()
        .iter()
        .map(info)
        .collect::<HssResult<Vec<_>>>()?;
    // Each filter given must hold: the name by substring, the others exactly.
    if let Some(name) = call.param("template_name") {
        all.retain(|t| t.template_name.contains(name));
    }
    for (param, field) in [
        (
            "template_type",
            (|t: &TemplateInfo| &t.template_type) as fn(&TemplateInfo) -> &String,
        ),
        ("target_kind", |t| &t.target_kind),
        ("tag", |t| &t.tag),
        ("level", |t| &t.level),
    ] {
        if let Some(want) = call.param(param) {
            all.retain(|t| field(t) == want);
        }
    }
    reply(&TemplateList {
        total_num: all.len() as u64,
        data_list: page.slice(all),
    })
}

pub fn show(id: &str) -> HssResult<String> {
    let t = template(id).ok_or_else(|| HssError::template_not_found(id))?;
    reply(&info(&t)?)
}
