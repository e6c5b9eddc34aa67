//! Debian security tracker text formats: `data/DSA/list`, `data/DLA/list` and `data/CVE/list`.
//!
//! DSA/DLA list:
//! ```text
//! [29 Mar 2023] DSA-5380-1 xorg-server - security update
//!     {CVE-2023-1393}
//!     [bullseye] - xorg-server 2:1.20.11-1+deb11u6
//! ```
//! CVE list:
//! ```text
//! CVE-2023-1234 (Description ...)
//!     - pkg 1.2-3 (bug #1; low)
//!     [bookworm] - pkg 1.2-2+deb12u1
//!     [bullseye] - pkg <no-dsa> (Minor issue)
//! ```
//! A release line's version is the fixed version in that release (affected below it, dpkg
//! ordering). `<not-affected>` and `<removed>` mean not affected; `<unfixed>`, `<no-dsa>`,
//! `<postponed>`, `<ignored>`, `<end-of-life>`, `<undetermined>` mean affected with no fix.
//! In the CVE list a line without a release is unstable's; it also stands for every release
//! that has no line of its own (the tracker's own reading).
use super::builder::Builder;
use crate::matcher::debian_namespace;
use crate::model::{Advisory, Affected, Event};
use crate::types::{Severity, SeveritySource};
use crate::version::{Scheme, dpkg};

pub const SOURCE: &str = "debian-tracker";
const TRACKER: &str = "https://security-tracker.debian.org/tracker/";

/// Releases an unstable-only line of the CVE list stands for (those still seen in images).
const FANOUT: [&str; 7] = ["9", "10", "11", "12", "13", "14", "sid"];

fn release_ns(codename: &str) -> String {
    match codename {
        "woody" => "debian:3.0".to_owned(),
        "potato" => "debian:2.2".to_owned(),
        c => debian_namespace(c),
    }
}

/// What a package line says about one release.
#[derive(Debug, Clone, PartialEq)]
enum Status {
    Fixed(String),
    Unfixed,
    NotAffected,
}

struct PkgLine {
    release: Option<String>,
    package: String,
    status: Status,
    urgency: Option<Severity>,
}

/// Parses `[release] - pkg version (notes)` or `- pkg version (notes)`.
fn parse_pkg_line(line: &str) -> Result<PkgLine, String> {
    let mut rest = line.trim();
    let mut release = None;
    if let Some(r) = rest.strip_prefix('[') {
        let (rel, after) = r.split_once(']').ok_or("unterminated [release]")?;
        release = Some(rel.trim().to_owned());
        rest = after.trim_start();
    }
    let rest = rest
        .strip_prefix('-')
        .ok_or("expected `- package version`")?;
    let (main, notes) = match rest.find('(') {
        Some(i) => (
            &rest[..i],
            Some(rest[i + 1..].trim_end().trim_end_matches(')')),
        ),
        None => (rest, None),
    };
    let mut words = main.split_whitespace();
    let package = words.next().ok_or("missing package name")?.to_owned();
    let status = match words.next() {
        None => return Err("missing version".into()),
        Some("<not-affected>") | Some("<removed>") | Some("<itp>") => Status::NotAffected,
        Some(
            "<unfixed>" | "<no-dsa>" | "<postponed>" | "<ignored>" | "<end-of-life>"
            | "<undetermined>",
        ) => Status::Unfixed,
        Some(v) if v.starts_with('<') => return Err(format!("unknown status {v}")),
        Some(v) => {
            dpkg::Version::parse(v).map_err(|e| e.to_string())?;
            Status::Fixed(v.to_owned())
        }
    };
    if let Some(extra) = words.next() {
        return Err(format!("unexpected {extra:?} after the version"));
    }
    let urgency = notes.and_then(|n| {
        n.split(';').find_map(|p| match p.trim() {
            "unimportant" => Some(Severity::Negligible),
            "low" | "low**" => Some(Severity::Low),
            "medium" | "medium**" => Some(Severity::Medium),
            "high" | "high**" => Some(Severity::High),
            _ => None,
        })
    });
    Ok(PkgLine {
        release,
        package,
        status,
        urgency,
    })
}

fn affected_for(adv: u32, status: &Status, urgency: Option<Severity>) -> Option<Affected> {
    let (ranges, fixed) = match status {
        Status::NotAffected => return None,
        Status::Unfixed => (vec![vec![Event::Introduced("0".into())]], vec![]),
        Status::Fixed(v) => (
            vec![vec![Event::Introduced("0".into()), Event::Fixed(v.clone())]],
            vec![v.clone()],
        ),
    };
    Some(Affected {
        advisories: vec![adv],
        scheme: Scheme::Dpkg,
        ranges,
        versions: String::new(),
        fixed,
        severity: urgency,
        severity_source: if urgency.is_some() {
            SeveritySource::DebianUrgency
        } else {
            SeveritySource::None
        },
    })
}

fn cve_advisory(id: &str, alias: Option<&str>, title: Option<String>) -> Advisory {
    Advisory {
        id: id.to_owned(),
        aliases: alias.map(|a| vec![a.to_owned()]).unwrap_or_default(),
        title,
        description: None,
        severity: Severity::Unknown,
        severity_source: SeveritySource::None,
        cvss: vec![],
        links: vec![format!("{TRACKER}{id}")],
        source: SOURCE.to_owned(),
    }
}

/// Whether the text looks like a DSA/DLA list; returns "debian-dsa" or "debian-dla".
pub fn sniff_advisory_list(text: &str) -> Option<&'static str> {
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    let rest = first.strip_prefix('[')?;
    let (_, after) = rest.split_once("] ")?;
    if after.starts_with("DSA-") {
        Some("debian-dsa")
    } else if after.starts_with("DLA-") || after.starts_with("DTSA-") {
        Some("debian-dla")
    } else {
        None
    }
}

pub fn sniff_cve_list(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.starts_with("CVE-") || l.starts_with("TEMP-"))
}

struct Block {
    id: String,
    line: usize,
    cves: Vec<String>,
    pkgs: Vec<PkgLine>,
    bad: Option<String>,
}

/// Parses a DSA or DLA list into the builder.
pub fn parse_advisory_list(b: &mut Builder, location: &str, text: &str) {
    let mut cur: Option<Block> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('[') {
            if let Some(bl) = cur.take() {
                finish_advisory(b, location, bl);
            }
            let Some((_, after)) = line.split_once("] ") else {
                cur = Some(Block {
                    id: String::new(),
                    line: n + 1,
                    cves: vec![],
                    pkgs: vec![],
                    bad: Some("header without `] `".into()),
                });
                continue;
            };
            let mut parts = after.trim().splitn(2, char::is_whitespace);
            let id = parts.next().unwrap_or("").to_owned();
            let bad =
                (!(id.starts_with("DSA-") || id.starts_with("DLA-") || id.starts_with("DTSA-")))
                    .then(|| format!("unexpected advisory id {id:?}"));
            cur = Some(Block {
                id,
                line: n + 1,
                cves: vec![],
                pkgs: vec![],
                bad,
            });
            continue;
        }
        let Some(bl) = cur.as_mut() else {
            b.problem(
                format!("{location}:{}", n + 1),
                "text before the first advisory",
            );
            continue;
        };
        let t = line.trim();
        if let Some(inner) = t.strip_prefix('{') {
            let inner = inner.trim_end_matches('}');
            bl.cves.extend(inner.split_whitespace().map(str::to_owned));
        } else if t.starts_with('[') {
            match parse_pkg_line(t) {
                Ok(p) => bl.pkgs.push(p),
                Err(e) => {
                    bl.bad.get_or_insert(format!("line {}: {e}", n + 1));
                }
            }
        } else if t.starts_with("NOTE:") || t.starts_with("TODO:") {
        } else {
            bl.bad
                .get_or_insert(format!("line {}: unexpected {t:?}", n + 1));
        }
    }
    if let Some(bl) = cur.take() {
        finish_advisory(b, location, bl);
    }
}

fn finish_advisory(b: &mut Builder, location: &str, bl: Block) {
    let loc = format!("{location}:{} {}", bl.line, bl.id);
    if let Some(reason) = bl.bad {
        b.skip(loc, reason);
        return;
    }
    b.report.advisories_read += 1;
    if bl.pkgs.is_empty() {
        // Announcements (end of life, key changes): nothing to match.
        return;
    }
    // The DSA/DLA title names the update, not the CVE, and would be wrong for the other
    // releases sharing the CVE record: the advisory id goes to aliases and links instead.
    let title: Option<String> = None;
    let ids: Vec<String> = if bl.cves.is_empty() {
        vec![bl.id.clone()]
    } else {
        bl.cves.clone()
    };
    for id in &ids {
        let alias = (id != &bl.id).then_some(bl.id.as_str());
        let mut adv = cve_advisory(id, alias, title.clone());
        adv.links.push(format!("{TRACKER}{}", bl.id));
        let idx = b.advisory(adv);
        for p in &bl.pkgs {
            let Some(rel) = &p.release else { continue };
            if let Some(a) = affected_for(idx, &p.status, p.urgency) {
                b.add(release_ns(rel), p.package.clone(), a);
            }
        }
    }
}

/// id, line, description, package lines, first error.
type CveBlock = (String, usize, Option<String>, Vec<PkgLine>, Option<String>);

/// Parses `data/CVE/list` into the builder.
pub fn parse_cve_list(b: &mut Builder, location: &str, text: &str) {
    let mut cur: Option<CveBlock> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            if let Some(c) = cur.take() {
                finish_cve(b, location, c);
            }
            let (id, desc) = match line.split_once(char::is_whitespace) {
                Some((id, d)) => {
                    let d = d.trim();
                    let d = d.strip_prefix('(').unwrap_or(d);
                    let d = d.strip_suffix(')').unwrap_or(d);
                    (id.to_owned(), (!d.is_empty()).then(|| d.to_owned()))
                }
                None => (line.to_owned(), None),
            };
            let bad = (!(id.starts_with("CVE-") || id.starts_with("TEMP-")))
                .then(|| format!("unexpected id {id:?}"));
            cur = Some((id, n + 1, desc, vec![], bad));
            continue;
        }
        let Some(c) = cur.as_mut() else {
            b.problem(format!("{location}:{}", n + 1), "text before the first CVE");
            continue;
        };
        let t = line.trim();
        if t.starts_with('-') || t.starts_with('[') {
            match parse_pkg_line(t) {
                Ok(p) => c.3.push(p),
                Err(e) => {
                    c.4.get_or_insert(format!("line {}: {e}", n + 1));
                }
            }
        }
        // NOTE:, TODO:, RESERVED, REJECTED, NOT-FOR-US:, {DSA-...} lines carry no package state.
    }
    if let Some(c) = cur.take() {
        finish_cve(b, location, c);
    }
}

fn finish_cve(b: &mut Builder, location: &str, (id, line, desc, pkgs, bad): CveBlock) {
    let loc = format!("{location}:{line} {id}");
    if let Some(reason) = bad {
        b.skip(loc, reason);
        return;
    }
    b.report.advisories_read += 1;
    if pkgs.is_empty() {
        return;
    }
    let mut adv = cve_advisory(&id, None, None);
    adv.description = desc;
    let idx = b.advisory(adv);
    for p in &pkgs {
        match &p.release {
            Some(rel) => {
                if let Some(a) = affected_for(idx, &p.status, p.urgency) {
                    b.add(release_ns(rel), p.package.clone(), a);
                }
            }
            None => {
                // Unstable's line stands for every release without a line of its own.
                let explicit: Vec<String> = pkgs
                    .iter()
                    .filter(|q| q.package == p.package)
                    .filter_map(|q| q.release.as_deref().map(release_ns))
                    .collect();
                for rel in FANOUT {
                    let ns = format!("debian:{rel}");
                    if explicit.contains(&ns) {
                        continue;
                    }
                    if let Some(a) = affected_for(idx, &p.status, p.urgency) {
                        b.add(ns, p.package.clone(), a);
                    }
                }
            }
        }
    }
}
