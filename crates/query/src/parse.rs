//! From query text to a [`Query`]: split (see [`crate::lexer`]), keep the pairs whose label the
//! schema knows, compile every value. Total and bounded: any input gives a `Query` or a
//! [`QueryError`], with work bounded by [`Limits`].

use crate::error::{QueryError, quote};
use crate::eval::{Pair, Query};
use crate::lexer::{Match, modifiers, split_pair, split_pairs, split_values};
use crate::predicate::Pred;
use crate::schema::{FieldId, Kind, Schema};

/// Bounds on what one query may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of query text.
    pub max_len: usize,
    /// Pairs, counting those with unknown labels.
    pub max_pairs: usize,
    pub max_values_per_pair: usize,
    pub max_values: usize,
    /// `r/` values (each compiled regex may take up to 1 MiB, plus as much for its lazy DFA).
    pub max_regexes: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        max_len: 8 * 1024,
        max_pairs: 64,
        max_values_per_pair: 256,
        max_values: 1024,
        max_regexes: 16,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// [`parse_with`] under [`Limits::DEFAULT`].
pub fn parse(schema: &Schema, query: &str) -> Result<Query, QueryError> {
    parse_with(schema, query, &Limits::DEFAULT)
}

/// Parses `query` against `schema`. Pairs whose label the schema does not know, pairs without
/// `:` and pairs with nothing after it are skipped, as StackRox skips them; when a label is
/// written the same way twice, the later pair replaces the earlier (StackRox keeps its pairs in
/// a map keyed by the label as written).
pub fn parse_with(schema: &Schema, query: &str, limits: &Limits) -> Result<Query, QueryError> {
    if query.len() > limits.max_len {
        return Err(QueryError::TooLong {
            len: query.len(),
            max: limits.max_len,
        });
    }

    struct Kept<'q> {
        pair: usize,
        offset: usize,
        label: &'q str,
        field: FieldId,
        values: &'q str,
    }
    let mut kept: Vec<Kept<'_>> = Vec::new();
    let mut count = 0usize;
    split_pairs(query, |raw| {
        count += 1;
        if count > limits.max_pairs {
            return false;
        }
        if let Some((label, values)) = split_pair(raw.text)
            && let Some(field) = schema.lookup(label)
        {
            let offset = raw.offset + (raw.text.len() - raw.text.trim_start().len());
            kept.retain(|k| k.label != label);
            kept.push(Kept {
                pair: count,
                offset,
                label,
                field,
                values,
            });
        }
        true
    });
    if count > limits.max_pairs {
        return Err(QueryError::TooManyPairs {
            max: limits.max_pairs,
        });
    }

    let (mut values_in_all, mut regexes) = (0usize, 0usize);
    let mut pairs = Vec::with_capacity(kept.len());
    for k in kept {
        let Some(kind) = schema.field(k.field).map(|f| f.kind) else {
            continue;
        };
        let mut preds = Vec::new();
        let mut error = None;
        split_values(k.values, |value| {
            values_in_all += 1;
            regexes += regexes_in(kind, value);
            let bad = |reason: String| QueryError::BadValue {
                pair: k.pair,
                label: quote(k.label),
                offset: k.offset,
                value: quote(value),
                reason,
            };
            if preds.len() >= limits.max_values_per_pair {
                error = Some(QueryError::TooManyValues {
                    pair: k.pair,
                    label: quote(k.label),
                    offset: k.offset,
                    max: limits.max_values_per_pair,
                });
            } else if values_in_all > limits.max_values {
                error = Some(QueryError::TooManyValuesInAll {
                    max: limits.max_values,
                });
            } else if regexes > limits.max_regexes {
                error = Some(bad(format!(
                    "a query may have at most {} regex (`r/`) values",
                    limits.max_regexes
                )));
            } else {
                match Pred::compile(kind, value) {
                    Ok(p) => preds.push(p),
                    Err(reason) => error = Some(bad(reason)),
                }
            }
            error.is_none()
        });
        if let Some(e) = error {
            return Err(e);
        }
        pairs.push(Pair {
            field: k.field,
            preds,
        });
    }
    Ok(Query { pairs })
}

/// How many regexes compiling `raw` for a field of `kind` would build, counted before building
/// them so a query cannot make many large ones.
fn regexes_in(kind: Kind, raw: &str) -> usize {
    let is_regex = |s: &str| usize::from(modifiers(s).matching == Some(Match::Regex));
    match kind {
        Kind::Map => match raw.split_once('=') {
            Some((key, value)) if !value.is_empty() => is_regex(key) + is_regex(value),
            _ => 0,
        },
        Kind::Number | Kind::Time | Kind::Bool => 0,
        Kind::String | Kind::Uuid | Kind::Enum(_) => is_regex(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{stackrox_workload_schema, workload as w};
    use crate::value::{Fields, Value};

    const NOW: i64 = 1_700_000_000;

    /// A deployment `web` in `prod` with two images; the second has no tag.
    struct Doc;

    impl Fields for Doc {
        fn values(&self, field: FieldId, out: &mut dyn FnMut(Value<'_>)) {
            let labels = [("app", "web"), ("tier", "frontend")];
            match field {
                w::DEPLOYMENT => out(Value::Str("web")),
                w::NAMESPACE => out(Value::Str("prod")),
                w::IMAGE => {
                    out(Value::Str("docker.io/library/nginx:1.25"));
                    out(Value::Str("quay.io/acme/sidecar"));
                }
                w::IMAGE_TAG => {
                    out(Value::Str("1.25"));
                    out(Value::Null);
                }
                w::COMPONENT => {
                    out(Value::Str("openssl"));
                    out(Value::Str("zlib"));
                }
                w::CVE => out(Value::Str("CVE-2024-0001")),
                w::CVSS => {
                    out(Value::Num(9.8));
                    out(Value::Num(4.0));
                }
                w::SEVERITY => out(Value::Enum(4)),
                w::FIXABLE => out(Value::Bool(true)),
                w::IMAGE_CREATED_TIME => out(Value::Time(NOW - 40 * 86_400)),
                w::DEPLOYMENT_LABEL => out(Value::Map(&labels)),
                // Everything else (Cluster, Image User, …) has no value.
                _ => {}
            }
        }
    }

    fn m(q: &str) -> Result<bool, QueryError> {
        Ok(parse(&stackrox_workload_schema(), q)?.matches(&Doc, NOW))
    }

    #[test]
    fn pairs_and_values() -> Result<(), QueryError> {
        assert!(m("Deployment:web+Namespace:prod")?);
        assert!(!m("Deployment:web+Namespace:dev")?, "pairs are ANDed");
        assert!(m("Namespace:dev,prod")?, "values are ORed");
        assert!(
            m("Deployment:web + Namespace:prod")?,
            "spaces around `+` are trimmed"
        );
        Ok(())
    }

    #[test]
    fn plus_without_a_later_colon_is_part_of_the_value() -> Result<(), QueryError> {
        // `web+prod` is one value (a prefix that `web` does not have).
        assert!(!m("Deployment:web+prod")?);
        assert!(m("Deployment:x,web+Namespace:prod")?);
        Ok(())
    }

    #[test]
    fn quotes_protect_and_mean_exact() -> Result<(), QueryError> {
        assert!(m("Deployment:\"web\"")?);
        assert!(!m("Deployment:\"we\"")?);
        assert!(!m("Deployment:\"WEB\"")?, "exact is case-sensitive");
        assert!(m(
            "Image:\"quay.io/acme/sidecar\",\"a+b:c,d\"+Namespace:prod"
        )?);
        Ok(())
    }

    #[test]
    fn labels_are_case_insensitive_and_unknown_ones_ignored() -> Result<(), QueryError> {
        assert!(m("deployment:web+NAMESPACE:prod")?);
        assert!(m("Deployment:web+Nonsense:whatever")?);
        assert!(!m("Deployment:nope+Nonsense:whatever")?);
        assert!(
            m("Nonsense:x+Other:y")?,
            "only unknown labels: everything matches"
        );
        assert!(m("")?, "the empty query matches everything");
        assert!(m("Deployment")?, "a pair without `:` is ignored");
        assert!(m("Deployment:")?, "a pair without a value is ignored");
        // Unknown labels are not parsed, so their values cannot be errors.
        assert!(m("Nonsense:r/(")?);
        Ok(())
    }

    #[test]
    fn the_same_label_written_twice_keeps_the_later() -> Result<(), QueryError> {
        assert!(m("Deployment:nope+Deployment:web")?);
        assert!(!m("Deployment:web+Deployment:nope")?);
        // Spelled differently, both stay (and are ANDed), as in StackRox.
        assert!(!m("Deployment:web+deployment:nope")?);
        Ok(())
    }

    #[test]
    fn many_valued_fields_match_any_value() -> Result<(), QueryError> {
        assert!(m("Image:quay")?);
        assert!(m("Image:docker")?);
        assert!(m("CVSS:>9")?);
        assert!(m("CVSS:<5")?);
        assert!(!m("CVSS:5-9")?);
        // Component and CVE need not be linked to each other.
        assert!(m("Component:zlib+CVE:CVE-2024-0001")?);
        Ok(())
    }

    #[test]
    fn negation_is_per_value() -> Result<(), QueryError> {
        assert!(
            m("Image:!docker")?,
            "the sidecar image does not start with docker"
        );
        assert!(m("Component:!openssl,!zlib")?);
        assert!(m("Component:!openssl")?, "zlib is not openssl");
        assert!(!m("Deployment:!web")?);
        // A null never satisfies a negation; a field with no value neither.
        assert!(!m("Cluster:!x")?);
        Ok(())
    }

    #[test]
    fn star_and_dash() -> Result<(), QueryError> {
        assert!(m("Image Tag:*")?);
        assert!(m("Image Tag:-")?, "the second image has a null tag");
        assert!(!m("Cluster:*")?);
        assert!(m("Cluster:-")?, "no value at all is null");
        assert!(!m("Deployment:-")?);
        assert!(m("CVSS:*+Severity:*+Fixable:*+Image Created Time:*")?);
        assert!(
            m("Deployment:!*")?,
            "`!*` is the literal prefix `*`, negated: `web` lacks it"
        );
        assert!(!m("Cluster:!*")?, "and a null does not satisfy it");
        Ok(())
    }

    #[test]
    fn kinds_end_to_end() -> Result<(), QueryError> {
        assert!(m("Severity:>=IMPORTANT_VULNERABILITY_SEVERITY")?);
        assert!(m("Severity:crit")?);
        assert!(!m("Severity:<crit")?);
        assert!(m("Fixable:true")?);
        assert!(!m("Fixable:f")?);
        assert!(m("Image Created Time:>30d")?);
        assert!(!m("Image Created Time:<30d")?);
        assert!(m("Deployment Label:app=web")?);
        assert!(m("Deployment Label:tier=")?);
        assert!(!m("Deployment Label:!tier=")?);
        assert!(m("Deployment Label:=front")?);
        assert!(m("Deployment:r/^W.B$")?);
        Ok(())
    }

    #[test]
    fn errors_name_the_pair_and_value() {
        let s = stackrox_workload_schema();
        let e = parse(&s, "Deployment:web+CVSS:abc")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("pair 2 (\"CVSS\", at byte 15), value \"abc\": cannot parse \"abc\" as a number")
        );
        let e = parse(&s, "Image:r/(")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.starts_with("pair 1 (\"Image\", at byte 0), value \"r/(\": invalid regex"),
            "{e}"
        );
        let e = parse(&s, &format!("CVE:{}", "x".repeat(200))).map(|_| ());
        assert!(e.is_ok());
        let e = parse(&s, &format!("CVSS:{}", "9".repeat(200)))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains('…') && e.len() < 400, "{e}");
    }

    #[test]
    fn limits() {
        let s = stackrox_workload_schema();
        let long = format!("Deployment:{}", "x".repeat(Limits::DEFAULT.max_len));
        assert!(matches!(parse(&s, &long), Err(QueryError::TooLong { .. })));
        let pairs = vec!["Deployment:x"; Limits::DEFAULT.max_pairs + 1].join("+");
        assert!(matches!(
            parse(&s, &pairs),
            Err(QueryError::TooManyPairs { .. })
        ));
        let ok_pairs = vec!["Deployment:x"; Limits::DEFAULT.max_pairs].join("+");
        assert!(parse(&s, &ok_pairs).is_ok());
        let values = format!("CVE:{}", ",".repeat(Limits::DEFAULT.max_values_per_pair));
        assert!(matches!(
            parse(&s, &values),
            Err(QueryError::TooManyValues { .. })
        ));
        let in_all = (0..5)
            .map(|i| {
                format!(
                    "{}:{}",
                    ["CVE", "Image", "Component", "Namespace", "Cluster"][i],
                    ",".repeat(250)
                )
            })
            .collect::<Vec<_>>()
            .join("+");
        assert!(matches!(
            parse(&s, &in_all),
            Err(QueryError::TooManyValuesInAll { .. })
        ));
        let regexes = format!(
            "CVE:{}",
            vec!["r/a"; Limits::DEFAULT.max_regexes + 1].join(",")
        );
        assert!(
            matches!(parse(&s, &regexes), Err(QueryError::BadValue { reason, .. }) if reason.contains("at most 16 regex"))
        );
        let tight = Limits {
            max_len: 10,
            ..Limits::DEFAULT
        };
        assert!(parse_with(&s, "CVE:abcdefg", &tight).is_err());
    }
}
