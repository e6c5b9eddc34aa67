//! Report renderers: table, the engine's own JSON, CycloneDX 1.5, SPDX 2.3, SARIF 2.1.0.

use crate::model::Report;

mod document;

pub mod cyclonedx;
pub mod sarif;
pub mod spdx;
pub mod table;

pub use document::now_rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    CycloneDx,
    Spdx,
    Sarif,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "table" => Format::Table,
            "json" => Format::Json,
            "cyclonedx" | "cyclonedx-json" | "cdx" => Format::CycloneDx,
            "spdx" | "spdx-json" => Format::Spdx,
            "sarif" => Format::Sarif,
            other => {
                return Err(format!(
                    "unknown format {other:?} (table, json, cyclonedx, spdx, sarif)"
                ));
            }
        })
    }
}

/// Renders a report. `color` applies to the table only.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Table => table::render(report, color),
        Format::Json => to_pretty(&serde_json::to_value(report).unwrap_or_default()),
        Format::CycloneDx => to_pretty(&cyclonedx::render(report)),
        Format::Spdx => to_pretty(&spdx::render(report)),
        Format::Sarif => to_pretty(&sarif::render(report)),
    }
}

fn to_pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
