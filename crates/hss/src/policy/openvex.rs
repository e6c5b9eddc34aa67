//! OpenVEX documents (<https://github.com/openvex/spec>, v0.2.0 and the earlier drafts) as
//! exception scopes: each `not_affected` or `fixed` statement says that a vulnerability does
//! not count in a product, which is what an exception records. `affected` and
//! `under_investigation` statements suppress nothing and are only counted.
//!
//! The mapping, per statement, per vulnerability id (its `name`, or the `@id` of drafts that
//! give only that) and per product:
//! - a product `pkg:oci/NAME@DIGEST?repository_url=HOST/PATH` is the image `PATH@DIGEST`
//!   (the registry host is dropped: a digest is the same content on every registry); without
//!   `repository_url`, `NAME@DIGEST`; with a `tag` qualifier and no digest, `PATH:TAG`;
//! - any other purl product (`pkg:deb/debian/openssl@3.0.11`) is the package `openssl` in any
//!   image; a product that is no purl is taken as an image reference as written;
//! - each subcomponent of a product narrows it to that package, so a product with two
//!   subcomponents gives two scopes;
//! - a statement without products covers the vulnerability everywhere.
//!
//! The reason is the status with its justification and impact statement. OpenVEX has no expiry:
//! the importer gives one.
use serde_json::Value;

use super::exception::ExceptionScope;

/// Statements read from one document, at most.
pub const MAX_STATEMENTS: usize = 10_000;
/// Scopes one document may produce, at most (products × subcomponents × ids add up).
pub const MAX_SCOPES: usize = 10_000;

/// A scope an OpenVEX statement covers, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexScope {
    pub scope: ExceptionScope,
    pub reason: String,
}

/// What a document says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VexDocument {
    /// The document's `@id`, when it has one.
    pub id: Option<String>,
    pub author: Option<String>,
    pub scopes: Vec<VexScope>,
    /// Statements that suppress nothing (`affected`, `under_investigation`).
    pub ignored_statements: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VexError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("not an OpenVEX document: {0}")]
    NotOpenVex(&'static str),
    #[error("statement {index}: {reason}")]
    Statement { index: usize, reason: String },
    #[error("the document is too large: more than {0} statements or scopes")]
    TooLarge(usize),
}

/// Reads an OpenVEX document.
pub fn parse(json: &[u8]) -> Result<VexDocument, VexError> {
    let doc: Value = serde_json::from_slice(json).map_err(|e| VexError::Json(e.to_string()))?;
    let context = doc
        .get("@context")
        .and_then(Value::as_str)
        .ok_or(VexError::NotOpenVex("no @context"))?;
    if !context.starts_with("https://openvex.dev/ns") {
        return Err(VexError::NotOpenVex(
            "@context is not https://openvex.dev/ns",
        ));
    }
    let statements = doc
        .get("statements")
        .and_then(Value::as_array)
        .ok_or(VexError::NotOpenVex("no statements array"))?;
    if statements.len() > MAX_STATEMENTS {
        return Err(VexError::TooLarge(MAX_STATEMENTS));
    }
    let mut out = VexDocument {
        id: text(&doc, "@id"),
        author: text(&doc, "author"),
        ..VexDocument::default()
    };
    for (index, statement) in statements.iter().enumerate() {
        let bad = |reason: &str| VexError::Statement {
            index,
            reason: reason.to_string(),
        };
        let status = statement
            .get("status")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no status"))?;
        match status {
            "not_affected" | "fixed" => {}
            "affected" | "under_investigation" => {
                out.ignored_statements += 1;
                continue;
            }
            other => return Err(bad(&format!("unknown status {other:?}"))),
        }
        let ids = vulnerability_ids(statement.get("vulnerability"));
        if ids.is_empty() {
            return Err(bad("no vulnerability name"));
        }
        let reason = reason(status, statement);
        let products = products(statement.get("products")).map_err(|r| bad(&r))?;
        for id in &ids {
            for (image, package) in &products {
                if out.scopes.len() >= MAX_SCOPES {
                    return Err(VexError::TooLarge(MAX_SCOPES));
                }
                out.scopes.push(VexScope {
                    scope: ExceptionScope {
                        image_or_repository: image.clone(),
                        package: package.clone(),
                        vulnerability_or_check: Some(id.clone()),
                        ..ExceptionScope::default()
                    },
                    reason: reason.clone(),
                });
            }
        }
    }
    Ok(out)
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A statement's vulnerability: `{"name": ..., "aliases": [...]}` (v0.2.0), `{"@id": ...}`
/// or a bare string (drafts). The name and every alias each become a scope, so the statement
/// covers the finding under whichever id the scanner reports.
fn vulnerability_ids(v: Option<&Value>) -> Vec<String> {
    let mut ids = Vec::new();
    match v {
        Some(Value::String(s)) => ids.push(s.trim().to_string()),
        Some(Value::Object(o)) => {
            if let Some(name) = o.get("name").or(o.get("@id")).and_then(Value::as_str) {
                ids.push(name.trim().to_string());
            }
            if let Some(Value::Array(aliases)) = o.get("aliases") {
                ids.extend(
                    aliases
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|a| a.trim().to_string()),
                );
            }
        }
        _ => {}
    }
    ids.retain(|id| !id.is_empty() && id.len() <= 256);
    ids.dedup();
    ids
}

fn reason(status: &str, statement: &Value) -> String {
    let mut reason = format!("OpenVEX {status}");
    for key in ["justification", "impact_statement", "status_notes"] {
        if let Some(t) = text(statement, key) {
            reason.push_str(": ");
            reason.push_str(&t);
        }
    }
    reason
}

/// (image pattern, package) pairs of a statement's products; `[(None, None)]` without any.
type Target = (Option<String>, Option<String>);

fn products(v: Option<&Value>) -> Result<Vec<Target>, String> {
    let list = match v {
        None | Some(Value::Null) => return Ok(vec![(None, None)]),
        Some(Value::Array(list)) if list.is_empty() => return Ok(vec![(None, None)]),
        Some(Value::Array(list)) => list,
        Some(_) => return Err("products is not an array".into()),
    };
    let mut out = Vec::new();
    for product in list {
        let id = product_id(product).ok_or("a product without @id")?;
        let target = target_of(&id);
        let subs: Vec<String> = match product.get("subcomponents") {
            Some(Value::Array(subs)) => subs.iter().filter_map(product_id).collect(),
            _ => Vec::new(),
        };
        if subs.is_empty() {
            out.push(target);
            continue;
        }
        for sub in subs {
            let package = target_of(&sub).1.or(Some(sub));
            out.push((target.0.clone(), package));
        }
        if out.len() > MAX_SCOPES {
            return Err(format!("more than {MAX_SCOPES} products"));
        }
    }
    Ok(out)
}

/// A product's identifier: `@id`, else its `identifiers.purl` (v0.2.0 allows either), else a
/// bare string.
fn product_id(v: &Value) -> Option<String> {
    let id = match v {
        Value::String(s) => Some(s.as_str()),
        Value::Object(o) => o
            .get("@id")
            .and_then(Value::as_str)
            .or_else(|| o.get("identifiers")?.get("purl")?.as_str()),
        _ => None,
    }?;
    let id = id.trim();
    (!id.is_empty() && id.len() <= 1024).then(|| id.to_string())
}

/// What one identifier names: an image (pkg:oci or a reference) or a package (other purls).
fn target_of(id: &str) -> Target {
    match Purl::parse(id) {
        Some(p) if p.kind == "oci" => (Some(p.image()), None),
        Some(p) => (None, Some(p.name)),
        None => (Some(id.to_string()), None),
    }
}

/// The parts of a package URL (<https://github.com/package-url/purl-spec>) the mapping reads.
struct Purl {
    kind: String,
    name: String,
    version: Option<String>,
    repository_url: Option<String>,
    tag: Option<String>,
}

impl Purl {
    fn parse(s: &str) -> Option<Purl> {
        let rest = s.strip_prefix("pkg:")?;
        let rest = rest.split('#').next().unwrap_or(rest);
        let (path, qualifiers) = rest.split_once('?').unwrap_or((rest, ""));
        let (kind, path) = path.split_once('/')?;
        let (path, version) = match path.rsplit_once('@') {
            Some((p, v)) => (p, Some(percent_decode(v))),
            None => (path, None),
        };
        let name = percent_decode(path.rsplit('/').next().unwrap_or(path));
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        let mut purl = Purl {
            kind: kind.to_ascii_lowercase(),
            name,
            version,
            repository_url: None,
            tag: None,
        };
        for pair in qualifiers.split('&') {
            match pair.split_once('=') {
                Some(("repository_url", v)) => purl.repository_url = Some(percent_decode(v)),
                Some(("tag", v)) => purl.tag = Some(percent_decode(v)),
                _ => {}
            }
        }
        Some(purl)
    }

    /// The image pattern of a `pkg:oci` purl.
    fn image(&self) -> String {
        let repository = match &self.repository_url {
            Some(url) => without_registry(url),
            None => self.name.clone(),
        };
        match (&self.version, &self.tag) {
            (Some(digest), _) => format!("{repository}@{digest}"),
            (None, Some(tag)) => format!("{repository}:{tag}"),
            (None, None) => repository,
        }
    }
}

/// `registry.example.com/team/app` → `team/app`: the first component is a registry when it
/// has a dot or a port or is `localhost`, as the distribution reference grammar decides.
fn without_registry(url: &str) -> String {
    let url = url
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    match url.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            rest.to_string()
        }
        _ => url.to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| s.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scopes(doc: Value) -> Vec<(Option<String>, Option<String>, Option<String>)> {
        parse(doc.to_string().as_bytes())
            .unwrap()
            .scopes
            .into_iter()
            .map(|s| {
                (
                    s.scope.image_or_repository,
                    s.scope.package,
                    s.scope.vulnerability_or_check,
                )
            })
            .collect()
    }

    fn doc(statements: Value) -> Value {
        json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.test/vex/1",
               "author": "sec@example.test", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
               "statements": statements})
    }

    #[test]
    fn oci_products_with_subcomponents_become_image_and_package_scopes() {
        let d = doc(json!([{
            "vulnerability": {"name": "CVE-2023-1234", "aliases": ["GHSA-aaaa-bbbb-cccc"]},
            "products": [{
                "@id": "pkg:oci/app@sha256%3Aabc?repository_url=registry.example.com/team/app&tag=1.0",
                "subcomponents": [{"@id": "pkg:deb/debian/openssl@3.0.11-1?arch=amd64"}]
            }],
            "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"
        }]));
        let img = Some("team/app@sha256:abc".to_string());
        let pkg = Some("openssl".to_string());
        assert_eq!(
            scopes(d.clone()),
            vec![
                (img.clone(), pkg.clone(), Some("CVE-2023-1234".into())),
                (img, pkg, Some("GHSA-aaaa-bbbb-cccc".into())),
            ]
        );
        let parsed = parse(d.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.id.as_deref(), Some("https://example.test/vex/1"));
        assert_eq!(
            parsed.scopes[0].reason,
            "OpenVEX not_affected: vulnerable_code_not_in_execute_path"
        );
    }

    #[test]
    fn package_products_statements_without_products_and_drafts() {
        let d = doc(json!([
            {"vulnerability": "CVE-1", "products": ["pkg:npm/%40scope/lib@1.0.0"], "status": "fixed"},
            {"vulnerability": {"@id": "CVE-2"}, "status": "not_affected",
             "impact_statement": "not used"},
            {"vulnerability": {"name": "CVE-3"}, "products": [{"@id": "pkg:oci/app?tag=2"}],
             "status": "fixed"},
            {"vulnerability": {"name": "CVE-4"}, "products": ["registry.test/x/y:1"],
             "status": "fixed"},
            {"vulnerability": {"name": "CVE-5"}, "status": "affected"},
            {"vulnerability": {"name": "CVE-6"}, "status": "under_investigation"},
        ]));
        assert_eq!(
            scopes(d.clone()),
            vec![
                (None, Some("lib".into()), Some("CVE-1".into())),
                (None, None, Some("CVE-2".into())),
                (Some("app:2".into()), None, Some("CVE-3".into())),
                (
                    Some("registry.test/x/y:1".into()),
                    None,
                    Some("CVE-4".into())
                ),
            ]
        );
        assert_eq!(
            parse(d.to_string().as_bytes()).unwrap().ignored_statements,
            2
        );
    }

    #[test]
    fn bad_documents_are_refused_with_the_reason() {
        assert!(matches!(parse(b"{"), Err(VexError::Json(_))));
        assert!(matches!(
            parse(br#"{"@context": "https://example.test", "statements": []}"#),
            Err(VexError::NotOpenVex(_))
        ));
        let e = parse(
            doc(json!([{"vulnerability": "CVE-1", "status": "maybe"}]))
                .to_string()
                .as_bytes(),
        );
        assert!(
            matches!(e, Err(VexError::Statement { index: 0, .. })),
            "{e:?}"
        );
        let e = parse(doc(json!([{"status": "fixed"}])).to_string().as_bytes());
        assert!(matches!(e, Err(VexError::Statement { .. })), "{e:?}");
        let e = parse(
            doc(json!([{"vulnerability": "CVE-1", "status": "fixed", "products": "x"}]))
                .to_string()
                .as_bytes(),
        );
        assert!(matches!(e, Err(VexError::Statement { .. })), "{e:?}");
        let many: Vec<Value> = (0..=MAX_STATEMENTS)
            .map(|i| json!({"vulnerability": format!("CVE-{i}"), "status": "fixed"}))
            .collect();
        assert_eq!(
            parse(doc(json!(many)).to_string().as_bytes()),
            Err(VexError::TooLarge(MAX_STATEMENTS))
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,400}") {
            let _ = parse(s.as_bytes());
            let _ = target_of(&s);
        }
    }
}
