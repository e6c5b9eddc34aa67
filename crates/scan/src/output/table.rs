//! The human table: summary, packages per type, then findings grouped by kind (vulnerabilities
//! per package type, malware, baseline), coloured by severity on a terminal.
use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::{Report, Severity};

fn paint(s: &str, sev: Severity, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    let code = match sev {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "34",
        _ => "2",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

fn bold(s: &str, color: bool) -> String {
    if color {
        format!("\x1b[1m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// Renders rows as aligned columns (the last column is not padded).
fn columns(
    out: &mut String,
    header: &[&str],
    rows: &[Vec<(String, Option<Severity>)>],
    color: bool,
) {
    let n = header.len();
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, (c, _)) in r.iter().enumerate().take(n) {
            w[i] = w[i].max(c.chars().count().min(60));
        }
    }
    let line: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, h)| format!("{h:<width$}", width = w[i]))
        .collect();
    let _ = writeln!(out, "  {}", bold(line.join("  ").trim_end(), color));
    for r in rows {
        let mut cells = Vec::new();
        for (i, (c, sev)) in r.iter().enumerate() {
            let text: String = if c.chars().count() > 60 && i + 1 < n {
                format!("{}…", c.chars().take(59).collect::<String>())
            } else {
                c.clone()
            };
            let padded = if i + 1 < n {
                format!("{text:<width$}", width = w[i])
            } else {
                text
            };
            cells.push(match sev {
                Some(s) => paint(&padded, *s, color),
                None => padded,
            });
        }
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
}

fn layer_col(l: Option<&crate::model::LayerRef>) -> String {
    l.map(|l| format!("#{}", l.index))
        .unwrap_or_else(|| "-".into())
}

pub fn render(r: &Report, color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({})",
        bold("Image:", color),
        r.source.name,
        r.source.kind
    );
    if let Some(d) = &r.source.manifest_digest {
        let _ = writeln!(out, "{} {d}", bold("Digest:", color));
    }
    if let Some(d) = &r.distro {
        let _ = writeln!(
            out,
            "{} {}",
            bold("OS:", color),
            if d.pretty_name.is_empty() {
                format!("{} {}", d.id, d.version_id)
            } else {
                d.pretty_name.clone()
            }
        );
    }
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &r.packages {
        *by_type.entry(p.kind.as_str()).or_default() += 1;
    }
    let types: Vec<String> = by_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
    let _ = writeln!(
        out,
        "{} {} ({})",
        bold("Packages:", color),
        r.packages.len(),
        if types.is_empty() {
            "none".into()
        } else {
            types.join(", ")
        }
    );
    let mut counts: BTreeMap<std::cmp::Reverse<Severity>, usize> = BTreeMap::new();
    for s in r
        .vulnerabilities
        .iter()
        .map(|v| v.severity)
        .chain(r.malware.iter().map(|m| m.severity))
        .chain(r.baseline.iter().map(|b| b.severity))
    {
        *counts.entry(std::cmp::Reverse(s)).or_default() += 1;
    }
    let sev: Vec<String> = counts
        .iter()
        .map(|(s, n)| paint(&format!("{} {n}", s.0), s.0, color))
        .collect();
    let _ = writeln!(
        out,
        "{} {} vulnerabilities, {} malware, {} baseline{}",
        bold("Findings:", color),
        r.vulnerabilities.len(),
        r.malware.len(),
        r.baseline.len(),
        if sev.is_empty() {
            String::new()
        } else {
            format!(" ({})", sev.join(", "))
        }
    );
    // Vulnerabilities, grouped by package type.
    let mut groups: BTreeMap<&str, Vec<&crate::model::Vulnerability>> = BTreeMap::new();
    for v in &r.vulnerabilities {
        groups.entry(v.package_type.as_str()).or_default().push(v);
    }
    for (ty, vs) in groups {
        let _ = writeln!(
            out,
            "\n{} ({})",
            bold(&format!("Vulnerabilities: {ty}"), color),
            vs.len()
        );
        let rows: Vec<Vec<(String, Option<Severity>)>> = vs
            .iter()
            .map(|v| {
                // A Go module (the standard library above all) is named with the binary it
                // was found in: "stdlib" alone does not say which program to rebuild.
                let package = match (&v.package_type, &v.path) {
                    (crate::model::PackageType::GoModule, Some(p)) => {
                        let more = v.paths.len().saturating_sub(1);
                        if more > 0 {
                            format!("{} ({p} +{more})", v.package_name)
                        } else {
                            format!("{} ({p})", v.package_name)
                        }
                    }
                    _ => v.package_name.clone(),
                };
                vec![
                    (package, None),
                    (v.id.clone(), None),
                    (v.severity.to_string(), Some(v.severity)),
                    (v.installed_version.clone(), None),
                    (
                        // The fix for the installed branch; every fix only when none is above
                        // the installed version (the ordering could not tell).
                        match &v.fixed_version {
                            Some(f) => f.clone(),
                            None if v.fixed_versions.is_empty() => "-".into(),
                            None => v.fixed_versions.join(", "),
                        },
                        None,
                    ),
                    (layer_col(v.layer.as_ref()), None),
                    (v.title.clone(), None),
                ]
            })
            .collect();
        columns(
            &mut out,
            &[
                "PACKAGE",
                "ID",
                "SEVERITY",
                "INSTALLED",
                "FIXED",
                "LAYER",
                "TITLE",
            ],
            &rows,
            color,
        );
    }
    if !r.malware.is_empty() {
        let _ = writeln!(out, "\n{} ({})", bold("Malware", color), r.malware.len());
        let rows: Vec<_> = r
            .malware
            .iter()
            .map(|m| {
                vec![
                    (m.path.clone(), None),
                    (m.rule.clone(), None),
                    (m.severity.to_string(), Some(m.severity)),
                    (layer_col(m.layer.as_ref()), None),
                    (m.description.clone(), None),
                ]
            })
            .collect();
        columns(
            &mut out,
            &["PATH", "RULE", "SEVERITY", "LAYER", "DESCRIPTION"],
            &rows,
            color,
        );
    }
    if !r.baseline.is_empty() {
        let _ = writeln!(out, "\n{} ({})", bold("Baseline", color), r.baseline.len());
        let rows: Vec<_> = r
            .baseline
            .iter()
            .map(|b| {
                vec![
                    (b.id.clone(), None),
                    (b.severity.to_string(), Some(b.severity)),
                    (b.path.clone().unwrap_or_else(|| "(config)".into()), None),
                    (layer_col(b.layer.as_ref()), None),
                    (format!("{}: {}", b.title, b.detail), None),
                ]
            })
            .collect();
        columns(
            &mut out,
            &["CHECK", "SEVERITY", "PATH", "LAYER", "DETAIL"],
            &rows,
            color,
        );
    }
    if !r.layers.is_empty() {
        let _ = writeln!(out, "\n{}", bold("Layers", color));
        for l in &r.layers {
            let cb: String = l
                .created_by
                .clone()
                .unwrap_or_default()
                .chars()
                .take(80)
                .collect();
            let _ = writeln!(out, "  #{:<3} {}  {}", l.index, &l.digest, cb);
        }
    }
    if !r.suppressed.is_empty() {
        let _ = writeln!(
            out,
            "\n{} ({})",
            bold("Suppressed", color),
            r.suppressed.len()
        );
        for s in &r.suppressed {
            let _ = writeln!(
                out,
                "  {} {} by {} ({}) {}",
                s.id,
                s.package_purl.clone().unwrap_or_default(),
                s.by,
                s.file,
                s.reason
            );
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(out, "\n{} ({})", bold("Warnings", color), r.warnings.len());
        for w in r.warnings.iter().take(20) {
            let _ = writeln!(out, "  {w}");
        }
        if r.warnings.len() > 20 {
            let _ = writeln!(
                out,
                "  … {} more (see --format json)",
                r.warnings.len() - 20
            );
        }
    }
    out
}
