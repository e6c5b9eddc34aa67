//! Timestamps as protojson writes `google.protobuf.Timestamp`: RFC 3339 in UTC with `Z`, and
//! fractional seconds only when there are some.
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// Milliseconds since the epoch as RFC 3339.
pub fn rfc3339_millis(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// A Kubernetes or report timestamp (RFC 3339, or a bare date) in protojson's form; `None`
/// when it does not parse.
pub fn normalize_date(s: &str) -> Option<String> {
    parse_secs(s).map(|secs| rfc3339_millis(secs.saturating_mul(1000)))
}

/// Unix seconds of an RFC 3339 timestamp or a bare `YYYY-MM-DD` date.
pub fn parse_secs(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_protojson_shaped() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_millis(1_500), "1970-01-01T00:00:01.500Z");
        assert_eq!(
            normalize_date("2024-05-01T10:00:00+02:00").as_deref(),
            Some("2024-05-01T08:00:00Z")
        );
        assert_eq!(
            normalize_date("2025-01-31").as_deref(),
            Some("2025-01-31T00:00:00Z")
        );
        assert_eq!(normalize_date("soon"), None);
    }
}
