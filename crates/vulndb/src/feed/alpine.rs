//! Alpine secdb (`secdb.alpinelinux.org/vX.Y/{main,community}.{yaml,json}`):
//! `distroversion`, and `packages[].pkg.{name, secfixes: {fixed-version: [CVE ...]}}`.
//! A package below a `secfixes` key (apk ordering) is affected by the ids under it; the key
//! `0` means the ids never affected Alpine's package.
use serde_json::Value;
use yaml_rust2::Yaml;

use super::builder::{Builder, FeedError};
use crate::matcher::alpine_namespace;
use crate::model::{Advisory, Affected, Event};
use crate::types::{Severity, SeveritySource};
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

/// The identifiers of one `secfixes` entry, as written by hand in the secdb:
/// `CVE-2016-6258 XSA-182` (a CVE and the Xen advisory for it), `CVE-????-?????  XSA-295` (a
/// placeholder for a CVE not yet assigned), `CVE-2018-14879 (tcpdump -V)` (a remark),
/// `CVE 2018-16859` and `CVE_2019-2426` (typos), `... XSA-254 XPTI` (a bare word). Placeholders
/// and words that are not identifiers are dropped, typos are repaired; a remark in parentheses
/// ends the identifiers. Returns (CVEs, other identifiers), each in order, without duplicates.
pub fn entry_ids(entry: &str) -> (Vec<String>, Vec<String>) {
    let head = entry.split('(').next().unwrap_or(entry);
    let words: Vec<&str> = head
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let (mut cves, mut others) = (Vec::<String>::new(), Vec::<String>::new());
    let mut i = 0;
    while i < words.len() {
        let mut w = words[i].to_owned();
        // `CVE 2018-16859`
        if w.eq_ignore_ascii_case("CVE")
            && let Some(next) = words.get(i + 1)
            && next.starts_with(|c: char| c.is_ascii_digit())
        {
            w = format!("CVE-{next}");
            i += 1;
        }
        i += 1;
        if let Some(rest) = w.strip_prefix("CVE_").or_else(|| w.strip_prefix("cve-")) {
            w = format!("CVE-{rest}");
        }
        if w.starts_with("CVE-") {
            // `CVE-2017-8073.patch`, `CVE-2017-17434-1`: the id is `CVE-YYYY-N+`; a
            // placeholder (`CVE-????-?????`) has none and is dropped.
            if let Some(id) = cve_prefix(&w)
                && !cves.contains(&id)
            {
                cves.push(id);
            }
            continue;
        }
        let is_id = !w.contains('?')
            && w.contains('-')
            && w.bytes().any(|b| b.is_ascii_digit())
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if is_id && !others.contains(&w) {
            others.push(w);
        }
    }
    (cves, others)
}

/// `CVE-YYYY-NNNN...` at the start of `w`, if there is one.
fn cve_prefix(w: &str) -> Option<String> {
    let rest = w.strip_prefix("CVE-")?;
    let (year, num) = rest.split_once('-')?;
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = num.bytes().take_while(u8::is_ascii_digit).count();
    (digits >= 4).then(|| format!("CVE-{year}-{}", &num[..digits]))
}

fn add_package(b: &mut Builder, loc: &str, ns: &str, name: &str, fixes: Secfixes) {
    b.report.advisories_read += 1;
    for (fixed, entries) in fixes {
        let fixed = fixed.trim().to_owned();
        if fixed == "0" {
            continue;
        }
        if let Err(e) = apk::Version::parse(&fixed) {
            b.problem(loc.to_owned(), format!("secfixes key: {e}"));
            continue;
        }
        for entry in &entries {
            let (cves, others) = entry_ids(entry);
            // One advisory per CVE, with the entry's other identifiers (the XSA) as aliases:
            // an XSA that covers several CVEs does not make them one vulnerability (as a DSA
            // does not). Without a CVE, the first other identifier is the id.
            let records: Vec<(String, Vec<String>)> = if cves.is_empty() {
                match others.split_first() {
                    Some((id, rest)) => vec![(id.clone(), rest.to_vec())],
                    None => {
                        b.problem(
                            format!("{loc} {fixed}"),
                            format!("secfixes entry {entry:?} names no identifier"),
                        );
                        continue;
                    }
                }
            } else {
                cves.into_iter().map(|c| (c, others.clone())).collect()
            };
            for (id, aliases) in records {
                let link = if id.starts_with("CVE-") {
                    format!("https://security.alpinelinux.org/vuln/{id}")
                } else {
                    "https://secdb.alpinelinux.org/".to_owned()
                };
                let idx = b.advisory(Advisory {
                    id,
                    aliases,
                    title: None,
                    description: None,
                    severity: Severity::Unknown,
                    severity_source: SeveritySource::None,
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
                        severity_source: SeveritySource::None,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::entry_ids;

    fn ids(e: &str) -> (Vec<&'static str>, Vec<&'static str>) {
        let (c, o) = entry_ids(e);
        (
            c.into_iter().map(|s| &*s.leak()).collect(),
            o.into_iter().map(|s| &*s.leak()).collect(),
        )
    }

    #[test]
    fn secfixes_entries() {
        assert_eq!(
            ids("CVE-2016-6258 XSA-182"),
            (vec!["CVE-2016-6258"], vec!["XSA-182"])
        );
        assert_eq!(ids("CVE-????-?????  XSA-295"), (vec![], vec!["XSA-295"]));
        assert_eq!(ids("CVE-????-?????"), (vec![], vec![]));
        assert_eq!(
            ids("CVE-2018-14879 (tcpdump -V)"),
            (vec!["CVE-2018-14879"], vec![])
        );
        assert_eq!(ids("CVE 2018-16859"), (vec!["CVE-2018-16859"], vec![]));
        assert_eq!(ids("CVE_2019-2426"), (vec!["CVE-2019-2426"], vec![]));
        assert_eq!(
            ids("CVE-2019-19451.patch"),
            (vec!["CVE-2019-19451"], vec![])
        );
        assert_eq!(ids("CVE-2017-17434-1"), (vec!["CVE-2017-17434"], vec![]));
        assert_eq!(
            ids("CVE-2017-5753 CVE-2017-5715 CVE-2017-5754 XSA-254 XPTI"),
            (
                vec!["CVE-2017-5753", "CVE-2017-5715", "CVE-2017-5754"],
                vec!["XSA-254"]
            )
        );
        assert_eq!(ids("XSA-207"), (vec![], vec!["XSA-207"]));
        assert_eq!(
            ids("CVE-2016-10134 ZBX-11023"),
            (vec!["CVE-2016-10134"], vec!["ZBX-11023"])
        );
    }
}
