//! The words of a decision: a denial's message and an alarm's warnings, naming the image, the
//! policy and the top reasons.
use berth_hss::policy::{Decision, Reason};

/// How one image fared, for the message.
pub struct ImageVerdict<'a> {
    /// The reference as the spec wrote it.
    pub image: &'a str,
    /// The containers that run it (`name` or `init:name`).
    pub containers: &'a [String],
    pub decision: &'a Decision,
    /// `name (id)` of each deciding policy.
    pub policies: Vec<String>,
}

pub fn reason(r: &Reason) -> String {
    match r {
        Reason::NotScanned => "not scanned, and a policy lets no unscanned image start \
                               (enable_image_startup: false)"
            .to_string(),
        Reason::Vulnerability {
            id,
            severity,
            package,
            fixed_version,
        } => match fixed_version {
            Some(f) => format!("{id} ({}) in {package}, fixed in {f}", severity.as_str()),
            None => format!("{id} ({}) in {package}, no fix yet", severity.as_str()),
        },
        Reason::Malware {
            name,
            family,
            severity,
        } => match family {
            Some(f) if f != name => format!("malware {name} ({f}, {})", severity.as_str()),
            _ => format!("malware {name} ({})", severity.as_str()),
        },
        Reason::Baseline {
            check_id,
            severity,
            title,
        } => format!("baseline {check_id} ({}): {title}", severity.as_str()),
    }
}

/// `image "x" (containers a, b) is <verb> by policy "n" (id): r1; r2; and 3 more`.
pub fn line(v: &ImageVerdict<'_>, verb: &str) -> String {
    let reasons: Vec<String> = v.decision.reasons().iter().map(reason).collect();
    let mut s = format!(
        "image {:?} ({} {}) is {verb} by {} {}: {}",
        v.image,
        if v.containers.len() == 1 {
            "container"
        } else {
            "containers"
        },
        v.containers.join(", "),
        if v.policies.len() == 1 {
            "policy"
        } else {
            "policies"
        },
        v.policies.join(", "),
        reasons.join("; "),
    );
    if v.decision.omitted_reasons > 0 {
        s.push_str(&format!("; and {} more", v.decision.omitted_reasons));
    }
    s
}

/// The denial's message: the workload, then each blocked image.
pub fn denial(kind: &str, namespace: &str, name: &str, blocked: &[ImageVerdict<'_>]) -> String {
    let lines: Vec<String> = blocked.iter().map(|v| line(v, "blocked")).collect();
    format!(
        "berth denied {kind} {namespace}/{name}: {}",
        lines.join(" | ")
    )
}

/// One warning per alarmed image.
pub fn warnings(alarmed: &[ImageVerdict<'_>]) -> Vec<String> {
    alarmed
        .iter()
        .map(|v| format!("berth: {}", line(v, "alarmed")))
        .collect()
}
