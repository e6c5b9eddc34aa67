//! Manifests, indexes and image configs: serde models and structural validation.
//!
//! The registry stores manifests byte-for-byte; these types are only used to read what a manifest
//! references. Unknown fields are ignored here and kept in the stored bytes.
use crate::digest::Digest;
use crate::media_types as mt;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The manifest size limit (the spec's recommended minimum that registries accept).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// The deepest nesting of arrays and objects a manifest may have. Real manifests need 4 or 5
/// (index, descriptor, annotations or platform); serde skips unknown fields without any depth
/// limit, so without this bound a manifest nested a million deep was stored and served to
/// clients that cannot read it (Go's encoding/json stops at 10,000).
pub const MAX_MANIFEST_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// The union of the image manifest and index shapes, so one parse reads either.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<u32>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// OCI image manifest or Docker schema 2 manifest.
    Image,
    /// OCI image index or Docker manifest list.
    Index,
}

/// What the registry needs to know about a manifest to validate and index it.
#[derive(Debug, Clone)]
pub struct ParsedManifest {
    pub kind: ManifestKind,
    pub media_type: String,
    /// The manifest's own `artifactType`, or for an image its config's media type (the referrers
    /// API reports that when `artifactType` is absent).
    pub artifact_type: Option<String>,
    pub config: Option<Descriptor>,
    pub layers: Vec<Descriptor>,
    pub manifests: Vec<Descriptor>,
    pub subject: Option<Descriptor>,
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is larger than {MAX_MANIFEST_BYTES} bytes")]
    TooLarge,
    #[error("manifest is not valid JSON: {0}")]
    Json(String),
    #[error("manifest nests arrays and objects deeper than {MAX_MANIFEST_DEPTH} levels")]
    TooDeep,
    #[error("unsupported manifest media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("manifest invalid: {0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> ManifestError {
    ManifestError::Invalid(msg.into())
}

impl ParsedManifest {
    /// Parses and structurally validates a manifest. `content_type` is the request's
    /// Content-Type, if any; a `mediaType` in the body must agree with it.
    pub fn parse(
        content_type: Option<&str>,
        bytes: &[u8],
    ) -> Result<ParsedManifest, ManifestError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge);
        }
        if nesting_exceeds(bytes, MAX_MANIFEST_DEPTH) {
            return Err(ManifestError::TooDeep);
        }
        let raw: RawManifest =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
        let header = content_type.map(mt::essence).filter(|c| {
            // Clients send generic types such as application/json or */*: ignore those.
            c.starts_with("application/vnd.")
        });
        let media_type = match (&raw.media_type, header) {
            (Some(body), Some(h)) if body != h => {
                return Err(invalid(format!(
                    "mediaType {body:?} does not match Content-Type {h:?}"
                )));
            }
            (Some(body), _) => body.clone(),
            (None, Some(h)) => h.to_string(),
            (None, None) if raw.manifests.is_some() => mt::OCI_INDEX.to_string(),
            (None, None) if raw.config.is_some() => mt::OCI_MANIFEST.to_string(),
            (None, None) => return Err(invalid("cannot tell the manifest's media type")),
        };
        if media_type == mt::DOCKER_MANIFEST_V1 || media_type == mt::DOCKER_MANIFEST_V1_SIGNED {
            return Err(ManifestError::UnsupportedMediaType(media_type));
        }
        if !mt::is_manifest(&media_type) {
            return Err(ManifestError::UnsupportedMediaType(media_type));
        }
        if raw.schema_version != Some(2) {
            return Err(invalid("schemaVersion must be 2"));
        }
        let kind = if mt::is_index(&media_type) {
            ManifestKind::Index
        } else {
            ManifestKind::Image
        };
        let is_docker = media_type.starts_with("application/vnd.docker.");
        if is_docker && (raw.subject.is_some() || raw.artifact_type.is_some()) {
            return Err(invalid(
                "Docker manifests cannot carry subject or artifactType",
            ));
        }
        let parsed = match kind {
            ManifestKind::Image => {
                if raw.manifests.is_some() {
                    return Err(invalid("an image manifest has no manifests field"));
                }
                let config = raw.config.ok_or_else(|| invalid("config is required"))?;
                let layers = raw.layers.ok_or_else(|| invalid("layers is required"))?;
                let artifact_type = raw
                    .artifact_type
                    .clone()
                    .or_else(|| Some(config.media_type.clone()));
                ParsedManifest {
                    kind,
                    media_type,
                    artifact_type,
                    config: Some(config),
                    layers,
                    manifests: Vec::new(),
                    subject: raw.subject,
                    annotations: raw.annotations,
                }
            }
            ManifestKind::Index => {
                if raw.config.is_some() || raw.layers.is_some() {
                    return Err(invalid("an index has no config or layers"));
                }
                ParsedManifest {
                    kind,
                    media_type,
                    artifact_type: raw.artifact_type,
                    config: None,
                    layers: Vec::new(),
                    manifests: raw
                        .manifests
                        .ok_or_else(|| invalid("manifests is required"))?,
                    subject: raw.subject,
                    annotations: raw.annotations,
                }
            }
        };
        for d in parsed.descriptors() {
            check_embedded_data(d)?;
        }
        for d in &parsed.manifests {
            if !mt::is_manifest(&d.media_type) {
                return Err(invalid(format!(
                    "index entry {} has media type {:?}, not a manifest type",
                    d.digest, d.media_type
                )));
            }
        }
        Ok(parsed)
    }

    /// Every descriptor the manifest holds, the subject included.
    pub fn descriptors(&self) -> impl Iterator<Item = &Descriptor> {
        self.config
            .iter()
            .chain(&self.layers)
            .chain(&self.manifests)
            .chain(&self.subject)
    }
}

/// Whether JSON `bytes` nest arrays and objects deeper than `max`. Brackets inside strings do
/// not count; anything else malformed is left for the parser to report.
fn nesting_exceeds(bytes: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The `data` field must decode (base64) to exactly the described content.
fn check_embedded_data(d: &Descriptor) -> Result<(), ManifestError> {
    let Some(data) = &d.data else { return Ok(()) };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| invalid(format!("descriptor {}: data is not base64", d.digest)))?;
    if bytes.len() as u64 != d.size || crate::Digest::of(d.digest.algorithm(), &bytes) != d.digest {
        return Err(invalid(format!(
            "descriptor {}: data does not match its digest and size",
            d.digest
        )));
    }
    Ok(())
}

/// An image configuration (OCI image config / Docker container config), as far as scanning and
/// policy need it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    #[serde(default)]
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default)]
    pub empty_layer: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(media_type: &str, bytes: &[u8]) -> serde_json::Value {
        serde_json::json!({
            "mediaType": media_type,
            "digest": crate::Digest::sha256_of(bytes).to_string(),
            "size": bytes.len(),
        })
    }

    #[test]
    fn image_manifest() {
        let m = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": mt::OCI_MANIFEST,
            "config": d(mt::OCI_CONFIG, b"{}"),
            "layers": [d(mt::OCI_LAYER_GZIP, b"layer")],
            "extra": {"kept": true},
        });
        let p = ParsedManifest::parse(Some(mt::OCI_MANIFEST), m.to_string().as_bytes()).unwrap();
        assert_eq!(p.kind, ManifestKind::Image);
        assert_eq!(p.artifact_type.as_deref(), Some(mt::OCI_CONFIG));
        assert_eq!(p.descriptors().count(), 2);
    }

    #[test]
    fn index_without_media_type_uses_header_or_shape() {
        let m = serde_json::json!({"schemaVersion": 2, "manifests": [d(mt::OCI_MANIFEST, b"x")]});
        let p = ParsedManifest::parse(None, m.to_string().as_bytes()).unwrap();
        assert_eq!(p.media_type, mt::OCI_INDEX);
        let p = ParsedManifest::parse(Some(mt::DOCKER_MANIFEST_LIST), m.to_string().as_bytes())
            .unwrap();
        assert_eq!(p.kind, ManifestKind::Index);
    }

    #[test]
    fn rejects() {
        let mismatch = serde_json::json!({
            "schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": []
        });
        assert!(matches!(
            ParsedManifest::parse(Some(mt::OCI_MANIFEST), mismatch.to_string().as_bytes()),
            Err(ManifestError::Invalid(_))
        ));
        assert!(matches!(
            ParsedManifest::parse(None, b"{not json"),
            Err(ManifestError::Json(_))
        ));
        let big = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert_eq!(
            ParsedManifest::parse(None, &big).unwrap_err(),
            ManifestError::TooLarge
        );
        let v1 = serde_json::json!({"schemaVersion": 1, "mediaType": mt::DOCKER_MANIFEST_V1});
        assert!(matches!(
            ParsedManifest::parse(None, v1.to_string().as_bytes()),
            Err(ManifestError::UnsupportedMediaType(_))
        ));
        let mut bad_data = d(mt::OCI_CONFIG, b"{}");
        bad_data["data"] = serde_json::json!("e30K"); // "{}\n": wrong content
        let m = serde_json::json!({
            "schemaVersion": 2, "mediaType": mt::OCI_MANIFEST, "config": bad_data, "layers": []
        });
        assert!(ParsedManifest::parse(None, m.to_string().as_bytes()).is_err());
    }

    #[test]
    fn embedded_data_accepted_when_it_matches() {
        let mut cfg = d(mt::OCI_CONFIG, b"{}");
        cfg["data"] = serde_json::json!("e30=");
        let m = serde_json::json!({
            "schemaVersion": 2, "mediaType": mt::OCI_MANIFEST, "config": cfg, "layers": []
        });
        ParsedManifest::parse(None, m.to_string().as_bytes()).unwrap();
    }

    #[test]
    fn nesting_is_bounded_before_parsing() {
        let nested = |depth: usize| {
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{}","config":{},"layers":[],"x":{}1{}}}"#,
                mt::OCI_MANIFEST,
                d(mt::OCI_CONFIG, b"{}"),
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        // The object itself is one level: `x` may nest one less than the limit.
        ParsedManifest::parse(None, nested(MAX_MANIFEST_DEPTH - 1).as_bytes()).unwrap();
        for depth in [MAX_MANIFEST_DEPTH, 10_000, 1_000_000] {
            assert_eq!(
                ParsedManifest::parse(None, nested(depth).as_bytes()).unwrap_err(),
                ManifestError::TooDeep,
                "{depth}"
            );
        }
        // Brackets in strings, escaped quotes included, are not nesting.
        let in_strings = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{},"layers":[],"annotations":{{"a":"{}\"{}"}}}}"#,
            mt::OCI_MANIFEST,
            d(mt::OCI_CONFIG, b"{}"),
            "[".repeat(100),
            "{".repeat(100)
        );
        ParsedManifest::parse(None, in_strings.as_bytes()).unwrap();
        assert!(nesting_exceeds(b"[[[", 2));
        assert!(!nesting_exceeds(b"[[]][[]]", 2));
        assert!(!nesting_exceeds(br#"["\\", "[[[["]"#, 1));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = ParsedManifest::parse(None, &bytes);
        }
    }
}
