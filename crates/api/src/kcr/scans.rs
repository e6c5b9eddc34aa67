//! StartImageScan and DescribeImageScan, in the seed's (Clair's) vocabulary: Summary counts
//! High/Medium/Low/Negligible/Unknown, each vulnerability with CveName, CveLink, Description,
//! Severity, Feature, CurrentVersion and RepairedVersion.
use berth_oci::Digest;
use berth_store::{ManifestSelector, ScanJob};
use serde::Deserialize;
use serde_json::{Value, json};

use super::context::{Ctx, Reply, opt_time};
use super::error::{KcrError, KcrResult};
use super::repositories::target;
use crate::exceptions::{Active, registry_subjects};
use berth_hss::policy::Subject;

async fn image(ctx: &Ctx) -> KcrResult<(super::repositories::Target, Digest)> {
    let digest: Digest = ctx
        .params
        .required("ImageId")?
        .parse()
        .map_err(|_| KcrError::invalid_value("ImageId"))?;
    let t = target(ctx).await?;
    let known = ctx
        .app
        .meta
        .manifest_meta(t.repository.id, &ManifestSelector::Digest(digest.clone()))
        .await?
        .is_some();
    if !known {
        return Err(KcrError::not_found("ImageId", "The image"));
    }
    Ok((t, digest))
}

#[cfg(feature = "scanner")]
pub async fn start(ctx: &Ctx) -> KcrResult<Reply> {
    let (t, digest) = image(ctx).await?;
    crate::scanning::enqueue(&ctx.app, &t.repository, &digest).await?;
    Ok(Reply::new())
}

/// A registry-only build has no scanner: the image is checked, then the request refused (no job
/// is queued that could only fail).
#[cfg(not(feature = "scanner"))]
pub async fn start(ctx: &Ctx) -> KcrResult<Reply> {
    image(ctx).await?;
    Err(KcrError::unsupported_operation(
        "This berth was built without the image scanner (feature `scanner`).",
    ))
}

/// What DescribeImageScan reads of a stored report (the scanner's JSON schema).
#[derive(Deserialize)]
struct StoredReport {
    #[serde(default)]
    vulnerabilities: Vec<StoredVulnerability>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredVulnerability {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    package_name: String,
    installed_version: String,
    #[serde(default)]
    fixed_versions: Vec<String>,
    /// The fix for the installed branch (reports from before it existed have only the list).
    #[serde(default)]
    fixed_version: Option<String>,
    severity: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    links: Vec<String>,
}

/// The seed's five levels; Critical counts as High (Clair's scale has no separate bucket).
fn level(severity: &str) -> &'static str {
    match severity.to_ascii_lowercase().as_str() {
        "critical" | "high" => "High",
        "medium" => "Medium",
        "low" => "Low",
        "negligible" => "Negligible",
        _ => "Unknown",
    }
}

fn link(v: &StoredVulnerability) -> String {
    if let Some(l) = v.links.first() {
        return l.clone();
    }
    let cve = std::iter::once(&v.id)
        .chain(v.aliases.iter())
        .find(|id| id.starts_with("CVE-"));
    match cve {
        Some(id) => format!("https://nvd.nist.gov/vuln/detail/{id}"),
        None if v.id.starts_with("GHSA-") => format!("https://github.com/advisories/{}", v.id),
        None => format!("https://osv.dev/vulnerability/{}", v.id),
    }
}

/// The reply for `job`'s report, leaving out what `exceptions` cover in `subjects` (listed in
/// the berth extension `SuppressedSet` with the exception that covers each).
fn reply_for(job: Option<&ScanJob>, exceptions: &Active, subjects: &[Subject]) -> KcrResult<Reply> {
    let mut summary = json!({"High": 0, "Medium": 0, "Low": 0, "Negligible": 0, "Unknown": 0});
    let mut set: Vec<Value> = Vec::new();
    let mut suppressed: Vec<Value> = Vec::new();
    if let Some(result) = job.and_then(|j| j.result.as_deref()) {
        let report: StoredReport = serde_json::from_str(result)
            .map_err(|e| KcrError::service_unavailable(format!("stored scan result: {e}")))?;
        for v in &report.vulnerabilities {
            if let Some((e, _)) =
                exceptions.covering_vuln(subjects, &v.id, &v.aliases, &v.package_name)
            {
                suppressed.push(json!({
                    "CveName": v.id, "Feature": v.package_name, "ExceptionId": e.id,
                    "Reason": e.reason,
                }));
                continue;
            }
            let lvl = level(&v.severity);
            summary[lvl] = json!(summary[lvl].as_i64().unwrap_or(0) + 1);
            let description = if v.description.is_empty() {
                &v.title
            } else {
                &v.description
            };
            set.push(json!({
                "CveName": v.id,
                "CveLink": link(v),
                "Description": description,
                "Severity": lvl,
                "Feature": v.package_name,
                "CurrentVersion": v.installed_version,
                "RepairedVersion": v.fixed_version.clone().or_else(|| v.fixed_versions.first().cloned()).unwrap_or_default(),
            }));
        }
    }
    let mut reply = Reply::new();
    reply.insert(
        "Status".into(),
        json!(job.map_or("NotScanned", |j| j.status.as_str())),
    );
    reply.insert("TotalCount".into(), json!(set.len()));
    reply.insert(
        "FinishTime".into(),
        opt_time(job.and_then(|j| j.finished_at)),
    );
    reply.insert("Summary".into(), summary);
    reply.insert("VulnerabilitySet".into(), Value::Array(set));
    // berth extension: findings berth's exceptions leave out.
    reply.insert("SuppressedSet".into(), Value::Array(suppressed));
    if let Some(error) = job.and_then(|j| j.error.as_deref()) {
        // berth extension: why a scan failed.
        reply.insert("FailReason".into(), json!(error));
    }
    Ok(reply)
}

pub async fn describe(ctx: &Ctx) -> KcrResult<Reply> {
    let (t, digest) = image(ctx).await?;
    let job = ctx.app.meta.latest_scan(t.repository.id, &digest).await?;
    let exceptions = Active::load(ctx.app.meta.as_ref())
        .await?
        .in_context(None, None);
    let tags: Vec<String> = if exceptions.is_empty() {
        Vec::new()
    } else {
        ctx.app
            .meta
            .images_by_digest(std::slice::from_ref(&digest))
            .await?
            .into_iter()
            .filter(|i| i.repository_id == t.repository.id)
            .flat_map(|i| i.tags)
            .collect()
    };
    let subjects = registry_subjects(&t.repository.name, &digest.to_string(), &tags);
    reply_for(job.as_ref(), &exceptions, &subjects)
}

#[cfg(test)]
mod tests {
    use super::{Active, registry_subjects};

    #[test]
    fn clair_levels_and_links() {
        assert_eq!(super::level("Critical"), "High");
        assert_eq!(super::level("negligible"), "Negligible");
        assert_eq!(super::level("whatever"), "Unknown");
        let v: super::StoredVulnerability = serde_json::from_value(serde_json::json!({
            "id": "GHSA-xxxx", "aliases": ["CVE-2024-1"], "packageName": "p",
            "installedVersion": "1", "severity": "High"
        }))
        .unwrap();
        assert_eq!(
            super::link(&v),
            "https://nvd.nist.gov/vuln/detail/CVE-2024-1"
        );
        let empty = super::reply_for(None, &Active::none(), &[]).unwrap();
        assert_eq!(empty["Status"], "NotScanned");
        assert_eq!(empty["TotalCount"], 0);
    }

    /// An exception for one CVE in one repository leaves it out of the list and the counts,
    /// under its alias too, and only there.
    #[test]
    fn exceptions_leave_covered_findings_out() {
        use berth_hss::policy::{Exception, ExceptionScope};
        let digest = format!("sha256:{}", "a".repeat(64));
        let report = serde_json::json!({"vulnerabilities": [
            {"id": "GHSA-1", "aliases": ["CVE-2024-1"], "packageName": "lib", "installedVersion": "1", "severity": "High"},
            {"id": "CVE-2024-2", "packageName": "lib", "installedVersion": "1", "severity": "Low"},
        ]});
        let job = berth_store::ScanJob {
            id: 1,
            instance_id: "i".into(),
            repository_id: 1,
            digest: digest.parse().unwrap(),
            status: berth_store::ScanStatus::Success,
            attempts: 1,
            result: Some(report.to_string()),
            error: None,
            db_version: None,
            created_at: 0,
            started_at: None,
            finished_at: None,
        };
        let exception = |image: &str| Active {
            at: std::time::SystemTime::now(),
            exceptions: vec![Exception {
                id: "ex-1".into(),
                scope: ExceptionScope {
                    image_or_repository: Some(image.into()),
                    vulnerability_or_check: Some("CVE-2024-1".into()),
                    ..Default::default()
                },
                reason: "not reachable".into(),
                author: "a".into(),
                expires_at: i64::MAX,
            }],
            from_vex: vec![false],
        };
        let subjects = registry_subjects("team/app", &digest, &["1.0".to_string()]);
        for pattern in ["team/app", "team/app:1.0", &format!("team/app@{digest}")] {
            let r = super::reply_for(Some(&job), &exception(pattern), &subjects).unwrap();
            assert_eq!(r["TotalCount"], 1, "{pattern}");
            assert_eq!(r["Summary"]["High"], 0, "{pattern}");
            assert_eq!(r["SuppressedSet"][0]["ExceptionId"], "ex-1");
        }
        for pattern in ["team/other", "team/app:2.0"] {
            let r = super::reply_for(Some(&job), &exception(pattern), &subjects).unwrap();
            assert_eq!(r["TotalCount"], 2, "{pattern}");
            assert_eq!(r["SuppressedSet"], serde_json::json!([]));
        }
    }
}
