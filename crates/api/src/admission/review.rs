//! `admission.k8s.io/v1` `AdmissionReview`: the request as kube-apiserver sends it (only the
//! fields berth reads), and the response it expects back.
//!
//! kube-apiserver accepts a response only with `apiVersion: admission.k8s.io/v1`,
//! `kind: AdmissionReview` and the request's `uid`; anything else (another status than 200, a
//! body that does not read) counts as the webhook failing, and the webhook configuration's
//! `failurePolicy` decides. berth therefore always answers 200 with a well-formed review, and
//! puts its own decision (or its failure policy's) in `allowed`.
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const API_VERSION: &str = "admission.k8s.io/v1";
pub const KIND: &str = "AdmissionReview";

/// What kube-apiserver warns about a warning longer than this (it may cut it).
pub const MAX_WARNING_CHARS: usize = 256;
/// Warnings per response: kube-apiserver shows every one to the client.
pub const MAX_WARNINGS: usize = 16;
/// The longest `status.message` berth writes.
pub const MAX_MESSAGE_CHARS: usize = 4096;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReview {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    pub request: Option<AdmissionRequest>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct GroupVersionKind {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    pub uid: String,
    pub kind: GroupVersionKind,
    #[serde(default)]
    pub sub_resource: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    pub operation: String,
    #[serde(default)]
    pub object: Option<Value>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewResponse {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub response: AdmissionResponse,
}

/// `s` cut to at most `max` characters, with an ellipsis when cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

impl AdmissionResponse {
    pub fn allow(uid: &str, warnings: Vec<String>) -> AdmissionResponse {
        AdmissionResponse {
            uid: uid.to_string(),
            allowed: true,
            status: None,
            warnings: bounded(warnings),
        }
    }

    /// A denial with an HTTP-like `code` (403 a policy, 400 a request berth cannot read, 401 an
    /// unknown credential, 503 berth could not decide) and its reason.
    pub fn deny(uid: &str, code: u16, message: &str, warnings: Vec<String>) -> AdmissionResponse {
        let reason = match code {
            400 => "BadRequest",
            401 => "Unauthorized",
            403 => "Forbidden",
            413 => "RequestEntityTooLarge",
            504 => "Timeout",
            _ => "ServiceUnavailable",
        };
        AdmissionResponse {
            uid: uid.to_string(),
            allowed: false,
            status: Some(Status {
                code,
                reason,
                message: cut(message, MAX_MESSAGE_CHARS),
            }),
            warnings: bounded(warnings),
        }
    }

    pub fn review(self) -> ReviewResponse {
        ReviewResponse {
            api_version: API_VERSION,
            kind: KIND,
            response: self,
        }
    }
}

fn bounded(warnings: Vec<String>) -> Vec<String> {
    let total = warnings.len();
    let mut out: Vec<String> = warnings
        .iter()
        .take(MAX_WARNINGS)
        .map(|w| cut(w, MAX_WARNING_CHARS))
        .collect();
    if total > MAX_WARNINGS
        && let Some(last) = out.last_mut()
    {
        *last = format!(
            "berth: {} more warnings not shown",
            total - MAX_WARNINGS + 1
        );
    }
    out
}

/// The request's `uid`, read leniently from a body that is not a valid review, so that even
/// the answer to a malformed request names the request it answers when it can.
pub fn uid_of(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Loose {
        request: Option<LooseRequest>,
    }
    #[derive(Deserialize)]
    struct LooseRequest {
        uid: Option<Value>,
    }
    serde_json::from_slice::<Loose>(body)
        .ok()
        .and_then(|l| l.request)
        .and_then(|r| r.uid)
        .and_then(|u| u.as_str().map(|s| cut(s, 128)))
        .unwrap_or_default()
}

/// Parses a review; the error names what is wrong, for the denial's message.
pub fn parse(body: &[u8]) -> Result<AdmissionRequest, String> {
    let review: AdmissionReview =
        serde_json::from_slice(body).map_err(|e| format!("not an AdmissionReview: {e}"))?;
    if review.api_version != API_VERSION || review.kind != KIND {
        return Err(format!(
            "expected apiVersion {API_VERSION} and kind {KIND}, got {:?} and {:?}",
            cut(&review.api_version, 64),
            cut(&review.kind, 64)
        ));
    }
    review
        .request
        .ok_or_else(|| "the AdmissionReview has no request".to_string())
}

/// A Go duration as kube-apiserver writes `?timeout=` (`10s`, `1m30s`, `500ms`); `None` when
/// it is not one or is not positive.
pub fn go_duration(s: &str) -> Option<std::time::Duration> {
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() || rest.len() > 32 {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest.get(..n)?.parse().ok()?;
        rest = rest.get(n..)?;
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = rest.get(..unit_len)?;
        rest = rest.get(unit_len..)?;
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * scale;
    }
    (total > 0.0 && total < 3600.0).then(|| std::time::Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_as_go_writes_them() {
        assert_eq!(go_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(go_duration("500ms"), Some(Duration::from_millis(500)));
        for bad in ["", "10", "s", "-1s", "0s", "10x", "1e3s", "99999h"] {
            assert_eq!(go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn uids_are_read_from_broken_reviews() {
        assert_eq!(uid_of(br#"{"request":{"uid":"u-1","kind":3}}"#), "u-1");
        assert_eq!(uid_of(b"not json"), "");
        assert!(parse(br#"{"apiVersion":"v1","kind":"AdmissionReview"}"#).is_err());
    }

    #[test]
    fn warnings_are_bounded() {
        let r = AdmissionResponse::allow("u", vec!["x".repeat(1000); 40]);
        assert_eq!(r.warnings.len(), MAX_WARNINGS);
        assert!(r.warnings[0].chars().count() <= MAX_WARNING_CHARS);
        assert!(r.warnings[MAX_WARNINGS - 1].contains("25 more"));
    }
}
