//! Alpine secdb (`secdb.alpinelinux.org/vX.Y/{main,community}.{yaml,json}`):
//! `distroversion`, and `packages[].pkg.{name, secfixes: {fixed-version: [CVE ...]}}`.
//! A package below a `secfixes` key (apk ordering) is affected by the ids under it; the key
//! `0` means the ids never affected Alpine's package.
use serde_json::Value;
use yaml_rust2::Yaml;

use super::{Builder, FeedError};
use crate::matcher::alpine_namespace;
use crate::model::{Advisory, Affected, Event};
use crate::types::Severity;
use crate::version::{Scheme, apk};

pub const SOURCE: &str = "alpine-secdb";

/// One package's secfixes: (fixed version, ids).
type Secfixes = Vec<(String, Vec<String>)>;

pub fn sniff_yaml(text: &str) -> bool {
    text.contains("distroversion:") && text.contains("packages:")
}

pub fn sniff_json(v: &Value) -> bool {
    v.get("packages").is_some() && (v.get("distroversion").is_some() || v.get("reponame").is_some())
}

fn yaml_scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

/// Parses a secdb YAML document; a document that is not YAML or has no `distroversion`
/// fails the feed.
pub fn parse_yaml(b: &mut Builder, location: &str, text: &str) -> Result<(), FeedError> {
    // secdb files nest 5 levels deep.
    let docs =
        crate::yaml::load_untrusted(text, 32).map_err(|e| FeedError(format!("YAML: {e}")))?;
    let doc = docs
        .first()
        .ok_or_else(|| FeedError("empty YAML document".into()))?;
    let release =
        yaml_scalar(&doc["distroversion"]).ok_or_else(|| FeedError("no `distroversion`".into()))?;
    let empty = Vec::new();
    let pkgs = match &doc["packages"] {
        Yaml::Array(p) => p,
        Yaml::Null => &empty,
        _ => return Err(FeedError("`packages` is not a list".into())),
    };
    let ns = alpine_namespace(&release);
    for (i, p) in pkgs.iter().enumerate() {
        let loc = format!("{location} packages[{i}]");
        let pkg = &p["pkg"];
        let Some(name) = yaml_scalar(&pkg["name"]) else {
            b.skip(loc, "package without a name");
            continue;
        };
        let mut fixes: Secfixes = Vec::new();
        match &pkg["secfixes"] {
            Yaml::Hash(h) => {
                let mut bad = None;
                for (k, v) in h {
                    let Some(key) = yaml_scalar(k) else {
                        bad = Some("secfixes key is not a version".to_owned());
                        break;
                    };
                    let ids: Vec<String> = match v {
                        Yaml::Array(a) => a.iter().filter_map(yaml_scalar).collect(),
                        Yaml::Null => vec![],
                        other => yaml_scalar(other).into_iter().collect(),
                    };
                    fixes.push((key, ids));
                }
                if let Some(reason) = bad {
                    b.skip(format!("{loc} {name}"), reason);
                    continue;
                }
            }
            Yaml::Null | Yaml::BadValue => {}
            _ => {
                b.skip(format!("{loc} {name}"), "`secfixes` is not a mapping");
                continue;
            }
        }
        add_package(b, &format!("{loc} {name}"), &ns, &name, fixes);
    }
    Ok(())
}

/// Parses a secdb JSON document.
pub fn parse_json(b: &mut Builder, location: &str, v: &Value) -> Result<(), FeedError> {
    let release = v
        .get("distroversion")
        .and_then(Value::as_str)
        .ok_or_else(|| FeedError("no `distroversion`".into()))?;
    let empty = Vec::new();
    let pkgs = match v.get("packages") {
        Some(Value::Array(p)) => p,
        Some(Value::Null) => &empty,
        _ => return Err(FeedError("`packages` is not a list".into())),
    };
    let ns = alpine_namespace(release);
    for (i, p) in pkgs.iter().enumerate() {
        let loc = format!("{location} packages[{i}]");
        let Some(name) = p.pointer("/pkg/name").and_then(Value::as_str) else {
            b.skip(loc, "package without a name");
            continue;
        };
        let mut fixes: Secfixes = Vec::new();
        match p.pointer("/pkg/secfixes") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, ids) in m {
                    let ids = match ids {
                        Value::Array(a) => a
                            .iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect(),
                        Value::String(s) => vec![s.clone()],
                        _ => vec![],
                    };
                    fixes.push((k.clone(), ids));
                }
            }
            Some(_) => {
                b.skip(format!("{loc} {name}"), "`secfixes` is not an object");
                continue;
            }
        }
        add_package(b, &format!("{loc} {name}"), &ns, name, fixes);
    }
    Ok(())
}

fn add_package(b: &mut Builder, loc: &str, ns: &str, name: &str, fixes: Secfixes) {
    b.report.advisories_read += 1;
    for (fixed, ids) in fixes {
        let fixed = fixed.trim().to_owned();
        let never = fixed == "0";
        if !never && let Err(e) = apk::Version::parse(&fixed) {
            b.problem(loc.to_owned(), format!("secfixes key: {e}"));
            continue;
        }
        for id in ids.iter().flat_map(|s| s.split_whitespace()) {
            if never {
                continue;
            }
            let id = id.trim_end_matches(',');
            let link = if id.starts_with("CVE-") {
                format!("https://security.alpinelinux.org/vuln/{id}")
            } else {
                "https://secdb.alpinelinux.org/".to_owned()
            };
            let idx = b.advisory(Advisory {
                id: id.to_owned(),
                aliases: vec![],
                title: None,
                description: None,
                severity: Severity::Unknown,
                cvss: vec![],
                links: vec![link],
                source: SOURCE.to_owned(),
            });
            b.add(
                ns.to_owned(),
                name.to_owned(),
                Affected {
                    advisories: vec![idx],
                    scheme: Scheme::Apk,
                    ranges: vec![vec![
                        Event::Introduced("0".into()),
                        Event::Fixed(fixed.clone()),
                    ]],
                    versions: String::new(),
                    fixed: vec![fixed.clone()],
                    severity: None,
                },
            );
        }
    }
}
