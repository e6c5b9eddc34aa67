//! The matcher: from a queried package to its namespace and name, and from the stored ranges
//! to a yes/no in the ecosystem's own ordering.
use std::cmp::Ordering;

use crate::model::{Affected, Event};
use crate::types::{Ecosystem, Target};
use crate::version::{AnyVersion, Scheme};

/// Debian codenames and their os-release `VERSION_ID`.
pub const DEBIAN_RELEASES: [(&str, &str); 13] = [
    ("sarge", "3.1"),
    ("etch", "4"),
    ("lenny", "5"),
    ("squeeze", "6"),
    ("wheezy", "7"),
    ("jessie", "8"),
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("duke", "15"),
];

/// The namespace of a Debian release given as codename or number ("bullseye", "11", "11.6").
pub fn debian_namespace(release: &str) -> String {
    let r = release.trim().to_ascii_lowercase();
    if r.is_empty() || r == "sid" || r == "unstable" {
        return "debian:sid".to_owned();
    }
    if let Some((_, n)) = DEBIAN_RELEASES.iter().find(|(c, _)| *c == r) {
        return format!("debian:{n}");
    }
    let major = if r.starts_with("3.1") {
        "3.1"
    } else {
        r.split('.').next().unwrap_or(&r)
    };
    format!("debian:{major}")
}

/// The namespace of an Alpine release ("v3.18", "3.18.4", "edge") -> "alpine:3.18".
pub fn alpine_namespace(release: &str) -> String {
    let r = release.trim().trim_start_matches('v');
    if r.starts_with("edge") {
        return "alpine:edge".to_owned();
    }
    let mut parts = r.split('.');
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => format!("alpine:{a}.{b}"),
        (Some(a), None) => format!("alpine:{a}"),
        _ => "alpine:".to_owned(),
    }
}

/// The namespace of a language ecosystem.
pub fn lang_namespace(eco: Ecosystem) -> String {
    format!("osv:{}", eco.as_str())
}

/// The namespace of any OS release.
pub fn os_namespace(distro: &str, release: &str) -> String {
    match distro {
        "debian" => debian_namespace(release),
        "alpine" => alpine_namespace(release),
        other => format!("{other}:{}", release.trim()),
    }
}

/// Namespace, package names to look up (in order), and version scheme for a query.
pub fn resolve<'q>(target: &Target<'q>, name: &'q str, source: Option<&'q str>) -> Resolved {
    match *target {
        Target::Lang(eco) => Resolved {
            namespace: lang_namespace(eco),
            names: vec![eco.normalize_name(name)],
            scheme: eco.scheme(),
        },
        Target::Os { distro, release } => {
            let distro = distro.trim().to_ascii_lowercase();
            let names = match distro.as_str() {
                // Debian's tracker is keyed by source package.
                "debian" | "ubuntu" => vec![source.unwrap_or(name).to_owned()],
                // Alpine's secdb is keyed by origin (source) package in practice; try both.
                _ => {
                    let mut v = vec![name.to_owned()];
                    if let Some(s) = source
                        && s != name
                    {
                        v.push(s.to_owned());
                    }
                    v
                }
            };
            Resolved {
                namespace: os_namespace(&distro, release),
                names,
                scheme: Scheme::for_distro(&distro),
            }
        }
    }
}

pub struct Resolved {
    pub namespace: String,
    pub names: Vec<String>,
    pub scheme: Scheme,
}

fn is_zero(v: &str) -> bool {
    v == "0"
}

/// Whether `installed` is in one OSV range (events in any order).
pub fn in_range(scheme: Scheme, installed: &AnyVersion, events: &[Event]) -> bool {
    // Parse the events once; an unparseable event makes the range unusable (never matches).
    let mut parsed: Vec<(Option<AnyVersion>, &Event)> = Vec::with_capacity(events.len());
    for e in events {
        if matches!(e, Event::Introduced(v) if is_zero(v)) {
            parsed.push((None, e));
            continue;
        }
        match scheme.parse(e.version()) {
            Ok(v) => parsed.push((Some(v), e)),
            Err(_) => return false,
        }
    }
    // A limit bounds the whole range.
    for (v, e) in &parsed {
        if let (Event::Limit(_), Some(v)) = (e, v)
            && installed.cmp_same(v) != Some(Ordering::Less)
        {
            return false;
        }
    }
    let rank = |e: &Event| match e {
        Event::Introduced(_) => 0,
        Event::LastAffected(_) => 1,
        Event::Fixed(_) => 2,
        Event::Limit(_) => 3,
    };
    parsed.sort_by(|(a, ea), (b, eb)| {
        let o = match (a, b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(a), Some(b)) => a.cmp_same(b).unwrap_or(Ordering::Equal),
        };
        o.then_with(|| rank(ea).cmp(&rank(eb)))
    });
    let mut affected = false;
    for (v, e) in &parsed {
        let c = match v {
            None => Ordering::Greater,
            Some(v) => match installed.cmp_same(v) {
                Some(c) => c,
                None => return false,
            },
        };
        match e {
            Event::Introduced(_) => {
                if c != Ordering::Less {
                    affected = true;
                }
            }
            Event::Fixed(_) => {
                if c != Ordering::Less {
                    affected = false;
                }
            }
            Event::LastAffected(_) => {
                if c == Ordering::Greater {
                    affected = false;
                }
            }
            Event::Limit(_) => {}
        }
    }
    affected
}

/// Normal form of a listed version, so that listed versions compare as strings.
pub fn normal_form(scheme: Scheme, v: &str) -> String {
    match scheme {
        Scheme::Pep440 => match scheme.parse(v) {
            Ok(AnyVersion::Pep440(p)) => p.to_string(),
            _ => v.trim().to_owned(),
        },
        Scheme::Go => v.trim().trim_start_matches('v').to_owned(),
        _ => v.trim().to_owned(),
    }
}

/// Whether an affected entry covers the installed version.
pub fn affects(entry: &Affected, installed_raw: &str, installed: &AnyVersion) -> bool {
    if entry
        .ranges
        .iter()
        .any(|r| in_range(entry.scheme, installed, r))
    {
        return true;
    }
    if entry.versions.is_empty() {
        return false;
    }
    let norm = normal_form(entry.scheme, installed_raw);
    entry.listed_versions().any(|v| v == norm)
}
