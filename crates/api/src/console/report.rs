//! The image page's scan section: the package inventory, vulnerabilities (severity, CVSS, fixed
//! version, links, the layer that brought the package), malware and baseline findings of the
//! latest scan, with what the exceptions in force leave out (the same `exceptions::Active`
//! check as DescribeImageScan); and the report downloads (CycloneDX, SPDX, SARIF) rendered by
//! the scanner crate's own renderers. A registry-only build (no `scanner` feature) has no scans
//! to show.
use berth_oci::Digest;
use berth_store::{Repository, ScanJob};
use maud::Markup;

use super::error::{ConsoleError, ConsoleResult};
use super::viewer::Viewer;
use crate::state::App;

/// Rows shown per table; the downloads hold everything (and keep the page light).
#[cfg(feature = "scanner")]
const MAX_ROWS: usize = 300;

#[cfg(feature = "scanner")]
pub async fn enqueue(app: &App, repo: &Repository, digest: &Digest) -> ConsoleResult<()> {
    crate::scanning::enqueue(app, repo, digest).await?;
    Ok(())
}

#[cfg(not(feature = "scanner"))]
pub async fn enqueue(_: &App, _: &Repository, _: &Digest) -> ConsoleResult<()> {
    Err(ConsoleError::Invalid(
        "this berth was built without the image scanner".into(),
    ))
}

#[cfg(not(feature = "scanner"))]
pub async fn section(
    _: &App,
    _: &Viewer,
    _: &str,
    _: &Repository,
    _: &Digest,
    _: &[String],
    _: Option<&ScanJob>,
) -> ConsoleResult<Markup> {
    Ok(maud::html! { p { "This berth was built without the image scanner." } })
}

#[cfg(not(feature = "scanner"))]
pub fn download(
    _: Option<&ScanJob>,
    _: &str,
    _: &Digest,
) -> ConsoleResult<axum::response::Response> {
    Err(ConsoleError::NotFound)
}

#[cfg(feature = "scanner")]
fn parse(job: Option<&ScanJob>) -> ConsoleResult<Option<berth_scan::model::Report>> {
    let Some(result) = job.and_then(|j| j.result.as_deref()) else {
        return Ok(None);
    };
    serde_json::from_str(result)
        .map(Some)
        .map_err(|e| ConsoleError::Internal(format!("stored scan report: {e}")))
}

/// The report of the latest scan as CycloneDX, SPDX or SARIF.
#[cfg(feature = "scanner")]
pub fn download(
    job: Option<&ScanJob>,
    format: &str,
    digest: &Digest,
) -> ConsoleResult<axum::response::Response> {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    use berth_scan::output::{Format, render};
    let (fmt, ext) = match format {
        "cyclonedx" => (Format::CycloneDx, "cdx.json"),
        "spdx" => (Format::Spdx, "spdx.json"),
        "sarif" => (Format::Sarif, "sarif"),
        _ => return Err(ConsoleError::Invalid(format!("unknown format {format:?}"))),
    };
    let report = parse(job)?.ok_or(ConsoleError::NotFound)?;
    let hex: String = digest.to_string().chars().skip(7).take(12).collect();
    let mut r = render(&report, fmt, false).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{hex}.{ext}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(r)
}

#[cfg(feature = "scanner")]
fn layer_label(l: Option<&berth_scan::model::LayerRef>) -> String {
    match l {
        Some(l) => format!("#{}", l.index + 1),
        None => String::new(),
    }
}

#[cfg(feature = "scanner")]
fn link(v: &berth_scan::model::Vulnerability) -> String {
    if let Some(l) = v.links.first() {
        return l.clone();
    }
    let cve = std::iter::once(&v.id)
        .chain(v.aliases.iter())
        .find(|id| id.starts_with("CVE-"));
    match cve {
        Some(id) => format!("https://nvd.nist.gov/vuln/detail/{id}"),
        None => format!("https://osv.dev/vulnerability/{}", v.id),
    }
}

/// Only http(s) links become anchors: a report's `javascript:` link stays text.
#[cfg(feature = "scanner")]
fn safe_link(url: &str) -> Option<&str> {
    (url.starts_with("https://") || url.starts_with("http://")).then_some(url)
}

#[cfg(feature = "scanner")]
pub async fn section(
    app: &App,
    viewer: &Viewer,
    instance: &str,
    repo: &Repository,
    digest: &Digest,
    tags: &[String],
    job: Option<&ScanJob>,
) -> ConsoleResult<Markup> {
    use super::layout::{enc, time_s};
    use crate::exceptions::{Active, registry_subjects};
    use maud::html;

    let may_except = viewer.may_administer();
    let Some(report) = parse(job)? else {
        return Ok(html! {});
    };
    let active = Active::load(app.meta.as_ref())
        .await?
        .in_context(None, None);
    let subjects = registry_subjects(&repo.name, &digest.to_string(), tags);
    let mut shown = Vec::new();
    let mut suppressed = Vec::new();
    for v in &report.vulnerabilities {
        match active.covering_vuln(&subjects, &v.id, &v.aliases, &v.package_name) {
            Some((e, _)) => suppressed.push((v, e.id.clone(), e.reason.clone(), e.expires_at)),
            None => shown.push(v),
        }
    }
    shown.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then_with(|| {
            let score = |v: &berth_scan::model::Vulnerability| {
                v.cvss.iter().filter_map(|c| c.score).fold(0.0, f64::max)
            };
            score(b).total_cmp(&score(a))
        })
    });
    let mut counts: Vec<(&str, usize)> =
        ["Critical", "High", "Medium", "Low", "Negligible", "Unknown"]
            .iter()
            .map(|s| (*s, 0))
            .collect();
    for v in &shown {
        if let Some(c) = counts.iter_mut().find(|(s, _)| *s == v.severity.as_str()) {
            c.1 += 1;
        }
    }
    let dl = |format: &str| {
        format!(
            "/ui/image/report?i={}&repo={}&digest={}&format={format}",
            enc(instance),
            enc(&repo.name),
            enc(&digest.to_string())
        )
    };
    Ok(html! {
        ul class="counts" aria-label="Vulnerabilities by severity" {
            @for (s, n) in &counts {
                li class={ "sev sev-" (s.to_ascii_lowercase()) } { span class="n" { (n) } " " (s) }
            }
        }
        p class="downloads" {
            "Download: "
            a href=(dl("cyclonedx")) download { "CycloneDX SBOM" } " · "
            a href=(dl("spdx")) download { "SPDX SBOM" } " · "
            a href=(dl("sarif")) download { "SARIF" }
            @if let Some(db) = &report.scanner.db_version { " · database " (database_label(db)) }
        }
        h3 id="vulns" { "Vulnerabilities (" (shown.len()) ")" }
        @if shown.is_empty() { p { "None found." } } @else {
            div class="scroll" {
                table class="vulns" {
                    thead { tr {
                        th scope="col" { "Severity" } th scope="col" { "ID" } th scope="col" { "CVSS" }
                        th scope="col" { "Package" } th scope="col" { "Installed" } th scope="col" { "Fixed in" }
                        th scope="col" { "Layer" } th scope="col" { "Title" }
                        @if may_except { th scope="col" { span class="sr-only" { "Actions" } } }
                    } }
                    tbody {
                        @for v in shown.iter().take(MAX_ROWS) {
                            @let score = v.cvss.iter().filter_map(|c| c.score).fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
                            @let url = link(v);
                            tr {
                                td { span class={ "sev sev-" (v.severity.as_str().to_ascii_lowercase()) } { (v.severity.as_str()) } }
                                td { @if let Some(u) = safe_link(&url) { a href=(u) rel="noreferrer" { (v.id) } } @else { (v.id) } }
                                td class="num" { @if let Some(s) = score { (format!("{s:.1}")) } }
                                td { (v.package_name) }
                                td { (v.installed_version) }
                                td { (v.fixed_version.clone().or_else(|| v.fixed_versions.first().cloned()).unwrap_or_default()) }
                                td { (layer_label(v.layer.as_ref())) }
                                td { (v.title) }
                                @if may_except {
                                    td { a href={ "/ui/exceptions?image=" (enc(&repo.name)) "&vulnerability=" (enc(&v.id)) "&package=" (enc(&v.package_name)) }
                                        aria-label={ "Create an exception for " (v.id) } { "Except…" } }
                                }
                            }
                        }
                    }
                }
            }
            @if shown.len() > MAX_ROWS { p { "Showing " (MAX_ROWS) " of " (shown.len()) "; the downloads list them all." } }
        }
        @if !suppressed.is_empty() {
            h3 id="suppressed" { "Suppressed by exceptions (" (suppressed.len()) ")" }
            table class="suppressed" {
                thead { tr { th scope="col" { "ID" } th scope="col" { "Package" } th scope="col" { "Exception" } th scope="col" { "Reason" } th scope="col" { "Expires" } } }
                tbody {
                    @for (v, id, reason, expires) in suppressed.iter().take(MAX_ROWS) {
                        tr { td { (v.id) } td { (v.package_name) } td { code { (id) } } td { (reason) } td { (time_s(*expires)) } }
                    }
                }
            }
        }
        h3 id="malware" { "Malware (" (report.malware.len()) ")" }
        @if report.malware.is_empty() { p { "None found." } } @else {
            table {
                thead { tr { th scope="col" { "Severity" } th scope="col" { "Path" } th scope="col" { "Rule" } th scope="col" { "Layer" } } }
                tbody { @for m in report.malware.iter().take(MAX_ROWS) {
                    tr { td { (m.severity.as_str()) } td { code { (m.path) } } td { (m.rule) } td { (layer_label(m.layer.as_ref())) } }
                } }
            }
        }
        h3 id="baseline" { "Secrets and configuration (" (report.baseline.len()) ")" }
        @if report.baseline.is_empty() { p { "None found." } } @else {
            table {
                thead { tr { th scope="col" { "Severity" } th scope="col" { "Check" } th scope="col" { "Title" } th scope="col" { "Path" } th scope="col" { "Remediation" } } }
                tbody { @for b in report.baseline.iter().take(MAX_ROWS) {
                    tr { td { (b.severity.as_str()) } td { (b.check) } td { (b.title) } td { @if let Some(p) = &b.path { code { (p) } } } td { (b.remediation) } }
                } }
            }
        }
        details {
            summary { "Packages (" (report.packages.len()) ")" @if let Some(d) = &report.distro { " · " (d.pretty_name) } }
            table {
                thead { tr { th scope="col" { "Package" } th scope="col" { "Version" } th scope="col" { "Type" } th scope="col" { "Layer" } th scope="col" { "Licenses" } } }
                tbody { @for p in report.packages.iter().take(MAX_ROWS) {
                    tr {
                        td { (p.name) } td { (p.version) } td { (p.kind.as_str()) }
                        td { (layer_label(p.locations.first().and_then(|l| l.layer.as_ref()))) }
                        td { (p.licenses.join(", ")) }
                    }
                } }
            }
        }
    })
}

/// The scanner's database version (`schema 2 built 1796641528`) with its build time as a date.
#[cfg(feature = "scanner")]
fn database_label(version: &str) -> String {
    match version.rsplit_once("built ") {
        Some((head, secs)) => match secs.trim().parse::<i64>() {
            Ok(secs) => format!("{head}built {}", super::layout::time_s(secs)),
            Err(_) => version.to_string(),
        },
        None => version.to_string(),
    }
}

#[cfg(all(test, feature = "scanner"))]
mod database_label_tests {
    #[test]
    fn build_times_read_as_dates() {
        assert_eq!(
            super::database_label("schema 2 built 1796641528"),
            "schema 2 built 2026-12-07 11:05 UTC"
        );
        assert_eq!(super::database_label("schema 2"), "schema 2");
        assert_eq!(super::database_label("built soon"), "built soon");
    }
}
