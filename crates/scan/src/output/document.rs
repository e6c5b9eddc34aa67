//! What every SBOM document carries: a reproducible id and its creation time.
use sha2::{Digest as _, Sha256};

use crate::model::Report;

/// A UUID derived from the report content (reproducible output for the same scan).
pub(crate) fn content_uuid(report: &Report) -> String {
    let mut h = Sha256::new();
    h.update(report.source.name.as_bytes());
    h.update(
        report
            .source
            .manifest_digest
            .as_deref()
            .unwrap_or("")
            .as_bytes(),
    );
    for p in &report.packages {
        h.update(p.purl.as_bytes());
    }
    let b = h.finalize();
    let x = hex::encode(&b[..16]);
    // version 4 / variant 1 bits, so validators accept it as a UUID
    format!(
        "{}-{}-4{}-a{}-{}",
        &x[0..8],
        &x[8..12],
        &x[13..16],
        &x[17..20],
        &x[20..32]
    )
}

/// Now, as RFC 3339 UTC (`2024-01-02T03:04:05Z`).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let date = crate::suppress::civil_date((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!("{date}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}
