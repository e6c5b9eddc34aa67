//! OSV 1.x JSON (<https://ossf.github.io/osv-schema/>): one advisory per file, a JSON array of
//! advisories, or the per-ecosystem `all.zip` exports.
use serde_json::Value;
use std::str::FromStr;

use super::builder::Builder;
use crate::matcher::{alpine_namespace, debian_namespace, lang_namespace, normal_form};
use crate::model::{Advisory, Affected, Event};
use crate::types::{Cvss, Ecosystem, Severity, SeveritySource};
use crate::version::Scheme;

/// The namespace and version scheme of an OSV `ecosystem` string, if berth knows it.
pub fn namespace(ecosystem: &str) -> Option<(String, Scheme, String)> {
    if let Ok(eco) = Ecosystem::from_str(ecosystem)
        && !ecosystem.contains(':')
    {
        return Some((lang_namespace(eco), eco.scheme(), format!("osv:{eco}")));
    }
    let (base, rest) = ecosystem.split_once(':')?;
    match base {
        "Debian" => Some((debian_namespace(rest), Scheme::Dpkg, "osv:Debian".into())),
        "Alpine" => Some((alpine_namespace(rest), Scheme::Apk, "osv:Alpine".into())),
        "Ubuntu" => {
            let rel = rest.split(':').find(|p| p.contains('.')).unwrap_or(rest);
            Some((format!("ubuntu:{rel}"), Scheme::Dpkg, "osv:Ubuntu".into()))
        }
        // Maven's registry-qualified form `Maven:https://...` is still Maven.
        _ => Ecosystem::from_str(base)
            .ok()
            .map(|e| (lang_namespace(e), e.scheme(), format!("osv:{e}"))),
    }
}

/// Parses the CVSS vectors of a `severity` array.
fn parse_cvss(v: Option<&Value>) -> Vec<Cvss> {
    let Some(arr) = v.and_then(Value::as_array) else {
        return vec![];
    };
    let mut out = vec![];
    for s in arr {
        let (Some(ty), Some(vector)) = (
            s.get("type").and_then(Value::as_str),
            s.get("score").and_then(Value::as_str),
        ) else {
            continue;
        };
        let version = match ty {
            "CVSS_V2" => "2.0".to_owned(),
            "CVSS_V3" => {
                if vector.starts_with("CVSS:3.0") {
                    "3.0".to_owned()
                } else {
                    "3.1".to_owned()
                }
            }
            "CVSS_V4" => "4.0".to_owned(),
            _ => continue,
        };
        out.push(Cvss {
            version,
            vector: vector.to_owned(),
            score: cvss_score(vector),
        });
    }
    out
}

/// The base score of a CVSS v2, v3.x or v4.0 vector (the `cvss` crate).
pub fn cvss_score(vector: &str) -> Option<f64> {
    if let Ok(c) = cvss::Cvss::from_str(vector) {
        return Some(c.score());
    }
    cvss::v2::Vector::from_str(vector)
        .ok()
        .map(|v| v.score().value())
}

fn severity_word(v: Option<&Value>) -> Option<Severity> {
    v.and_then(|s| s.get("severity"))
        .and_then(Value::as_str)
        .and_then(Severity::from_word)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Parses one OSV record into the builder; malformed records are skipped with a reason.
pub fn parse_record(b: &mut Builder, location: &str, v: &Value) {
    let Some(obj) = v.as_object() else {
        b.skip(location.to_owned(), "not a JSON object");
        return;
    };
    let Some(id) = obj
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        b.skip(location.to_owned(), "missing `id`");
        return;
    };
    let loc = format!("{location} {id}");
    if obj.get("withdrawn").is_some_and(|w| !w.is_null()) {
        b.report.withdrawn += 1;
        return;
    }
    let affected = match obj.get("affected") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            b.skip(loc, "`affected` is not an array");
            return;
        }
    };
    for key in ["aliases", "references", "severity"] {
        if let Some(x) = obj.get(key)
            && !x.is_array()
            && !x.is_null()
        {
            b.skip(loc, format!("`{key}` is not an array"));
            return;
        }
    }
    b.report.advisories_read += 1;

    let cvss = parse_cvss(obj.get("severity"));
    // Severity, normalised once: the feed's own word (GHSA `database_specific.severity`),
    // then a per-package word, then the highest CVSS base score.
    let mut severity =
        severity_word(obj.get("database_specific")).map(|s| (s, SeveritySource::FeedRating));
    if severity.is_none() {
        severity = affected.iter().find_map(|a| {
            severity_word(a.get("ecosystem_specific"))
                .or_else(|| severity_word(a.get("database_specific")))
                .map(|s| (s, SeveritySource::PackageRating))
        });
    }
    if severity.is_none() {
        severity = cvss
            .iter()
            .filter_map(|c| c.score.map(|s| (s, &c.version)))
            .fold(None, |m: Option<(f64, &String)>, (s, v)| match m {
                Some((ms, _)) if ms >= s => m,
                _ => Some((s, v)),
            })
            .map(|(s, v)| {
                (
                    Severity::from_cvss_score(s),
                    SeveritySource::from_cvss_version(v),
                )
            });
    }
    let mut links: Vec<String> = obj
        .get("references")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("url").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    links.dedup();

    let mut pending: Vec<(String, String, String, Affected)> = Vec::new();
    for (i, a) in affected.iter().enumerate() {
        let aloc = format!("{loc} affected[{i}]");
        let Some(pkg) = a.get("package") else {
            // Affected entries without a package describe git ranges only.
            b.report.git_ranges_ignored += a
                .get("ranges")
                .and_then(Value::as_array)
                .map_or(0, |r| r.len() as u64);
            continue;
        };
        let (Some(eco), Some(name)) = (
            pkg.get("ecosystem").and_then(Value::as_str),
            pkg.get("name").and_then(Value::as_str),
        ) else {
            b.problem(aloc, "package without ecosystem or name");
            continue;
        };
        let Some((ns, scheme, source)) = namespace(eco) else {
            *b.report
                .unsupported_ecosystems
                .entry(eco.to_owned())
                .or_default() += 1;
            continue;
        };
        let mut ranges = Vec::new();
        let mut fixed = Vec::new();
        for (j, r) in a
            .get("ranges")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let ty = r.get("type").and_then(Value::as_str).unwrap_or("");
            if ty == "GIT" {
                b.report.git_ranges_ignored += 1;
                continue;
            }
            if ty != "SEMVER" && ty != "ECOSYSTEM" {
                b.problem(
                    format!("{aloc} ranges[{j}]"),
                    format!("unknown range type {ty:?}"),
                );
                continue;
            }
            let mut events = Vec::new();
            let mut bad = None;
            for e in r
                .get("events")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(o) = e.as_object() else {
                    bad = Some("event is not an object".to_owned());
                    break;
                };
                let Some((k, v)) = o.iter().next() else {
                    bad = Some("empty event".to_owned());
                    break;
                };
                let Some(v) = v.as_str() else {
                    bad = Some(format!("`{k}` is not a string"));
                    break;
                };
                let ev = match k.as_str() {
                    "introduced" => Event::Introduced(v.to_owned()),
                    "fixed" => Event::Fixed(v.to_owned()),
                    "last_affected" => Event::LastAffected(v.to_owned()),
                    "limit" => Event::Limit(v.to_owned()),
                    other => {
                        bad = Some(format!("unknown event {other:?}"));
                        break;
                    }
                };
                if !(matches!(&ev, Event::Introduced(x) if x == "0")
                    || matches!(&ev, Event::Limit(x) if x == "*"))
                    && let Err(e) = scheme.parse(v)
                {
                    bad = Some(e.to_string());
                    break;
                }
                events.push(ev);
            }
            if events.is_empty() && bad.is_none() {
                bad = Some("range without events".to_owned());
            }
            if let Some(reason) = bad {
                // An unusable range is reported and dropped: it can never match.
                b.problem(format!("{aloc} ranges[{j}]"), reason);
                continue;
            }
            events.retain(|e| !matches!(e, Event::Limit(x) if x == "*"));
            for e in &events {
                if let Event::Fixed(f) = e {
                    fixed.push(f.clone());
                }
            }
            ranges.push(events);
        }
        let versions: String = strings(a.get("versions"))
            .iter()
            .map(|v| normal_form(scheme, v))
            .filter(|v| !v.is_empty() && !v.contains('\n'))
            .map(|v| v + "\n")
            .collect();
        if ranges.is_empty() && versions.is_empty() {
            continue;
        }
        let pkg_sev = severity_word(a.get("ecosystem_specific"))
            .or_else(|| severity_word(a.get("database_specific")));
        let name = match Ecosystem::from_str(eco) {
            Ok(e) => e.normalize_name(name),
            Err(_) => name.to_owned(),
        };
        pending.push((
            ns,
            name,
            source,
            Affected {
                advisories: vec![],
                scheme,
                ranges,
                versions,
                fixed,
                severity: pkg_sev,
                severity_source: if pkg_sev.is_some() {
                    SeveritySource::PackageRating
                } else {
                    SeveritySource::None
                },
            },
        ));
    }
    let source = pending
        .first()
        .map(|p| p.2.clone())
        .unwrap_or_else(|| "osv".to_owned());
    let idx = b.advisory(Advisory {
        id: id.to_owned(),
        aliases: strings(obj.get("aliases")),
        title: obj
            .get("summary")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        description: obj
            .get("details")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        severity: severity.map_or(Severity::Unknown, |s| s.0),
        severity_source: severity.map_or(SeveritySource::None, |s| s.1),
        cvss,
        links,
        source,
    });
    for (ns, name, _, mut a) in pending {
        a.advisories = vec![idx];
        b.add(ns, name, a);
    }
}
