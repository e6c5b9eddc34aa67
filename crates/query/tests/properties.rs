//! Properties of the public API: parsing is total and bounded, and the string, number and
//! negation rules hold for generated values.

use std::time::{Duration, Instant};

use berth_query::{
    FieldId, Fields, Limits, QueryError, Value, parse, stackrox_workload_schema, workload,
};
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000;

/// One deployment with one value in a few fields.
struct Doc<'a> {
    name: &'a str,
    cvss: f64,
}

impl Fields for Doc<'_> {
    fn values(&self, field: FieldId, out: &mut dyn FnMut(Value<'_>)) {
        let labels = [("app", self.name)];
        match field {
            workload::DEPLOYMENT => out(Value::Str(self.name)),
            workload::CVSS => out(Value::Num(self.cvss)),
            workload::SEVERITY => out(Value::Enum(3)),
            workload::FIXABLE => out(Value::Bool(false)),
            workload::IMAGE_SCAN_TIME => out(Value::Time(NOW - 86_400)),
            workload::DEPLOYMENT_LABEL => out(Value::Map(&labels)),
            _ => {}
        }
    }
}

/// Text made of the query language's own punctuation and label words, so generated strings
/// reach the interesting paths rather than stopping at "unknown label".
fn query_like() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("Deployment".to_string()),
        Just("CVSS".to_string()),
        Just("Severity".to_string()),
        Just("Fixable".to_string()),
        Just("Image Scan Time".to_string()),
        Just("Deployment Label".to_string()),
        Just("Cluster ID".to_string()),
        Just("Component Source".to_string()),
        prop::sample::select(vec![
            ":", "+", ",", "\"", "!", "!!", "r/", "*", "-", "=", "<", ">=", "d", "tr/", " "
        ])
        .prop_map(str::to_string),
        "[a-z0-9./()\\[\\]{}|^$?*+\\\\-]{0,8}",
        any::<String>(),
    ];
    prop::collection::vec(atom, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_is_total_on_query_like_text(q in query_like()) {
        let schema = stackrox_workload_schema();
        if let Ok(query) = parse(&schema, &q) {
            let _ = query.matches(&Doc { name: "web", cvss: 7.5 }, NOW);
        }
    }

    #[test]
    fn parse_is_total_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let q = String::from_utf8_lossy(&bytes);
        let schema = stackrox_workload_schema();
        if let Ok(query) = parse(&schema, &q) {
            let _ = query.matches(&Doc { name: "web", cvss: 7.5 }, NOW);
        }
    }

    #[test]
    fn a_prefix_of_the_name_matches_and_its_negation_does_not(
        name in "[a-z0-9][a-z0-9.-]{0,20}",
        cut in 0usize..22,
    ) {
        let prefix = &name[..cut.min(name.len())];
        let schema = stackrox_workload_schema();
        let doc = Doc { name: &name, cvss: 0.0 };
        let plain = parse(&schema, &format!("Deployment:{}", prefix.to_uppercase()));
        let holds = matches!(plain, Ok(q) if q.matches(&doc, NOW));
        prop_assert!(holds);
        if !prefix.is_empty() && prefix != "*" && prefix != "-" {
            let negated = parse(&schema, &format!("Deployment:!{prefix}"));
            let holds = matches!(negated, Ok(q) if !q.matches(&doc, NOW));
            prop_assert!(holds);
        }
    }

    #[test]
    fn ranges_are_exclusive_and_ordered(a in 0u32..1000, b in 0u32..1000, v in 0u32..1000) {
        let (a, b, v) = (f64::from(a) / 100.0, f64::from(b) / 100.0, f64::from(v) / 100.0);
        let schema = stackrox_workload_schema();
        let parsed = parse(&schema, &format!("CVSS:{a}-{b}"));
        if a < b {
            let doc = Doc { name: "x", cvss: v };
            let holds = matches!(parsed, Ok(q) if q.matches(&doc, NOW) == (a < v && v < b));
            prop_assert!(holds);
        } else {
            let is_bad_value = matches!(parsed, Err(QueryError::BadValue { .. }));
            prop_assert!(is_bad_value);
        }
    }
}

/// The slowest inputs we can think of, at the length limit, parse within a generous bound.
#[test]
fn parse_time_is_bounded_at_the_length_limit() -> Result<(), String> {
    let schema = stackrox_workload_schema();
    let max = Limits::DEFAULT.max_len;
    let fill = |unit: &str, prefix: &str| {
        let mut s = prefix.to_string();
        while s.len() + unit.len() <= max {
            s.push_str(unit);
        }
        s
    };
    let inputs = [
        fill("+", "Deployment:a"),
        fill(":", "Deployment:a+"),
        fill("+:", "Deployment:a"),
        fill(",", "CVE:"),
        fill("\"", "CVE:"),
        fill("a", "CVE:r/"),
        fill("(a|", "CVE:r/"),
        fill("\\w{9}", "CVE:r/"),
        fill(",r/\\w{99}", "CVE:a"),
        fill("Deployment:x+", ""),
        fill("9", "CVSS:"),
        fill("=", "Deployment Label:"),
        fill("é", "Deployment:"),
    ];
    for q in &inputs {
        let started = Instant::now();
        let parsed = parse(&schema, q);
        if let Ok(query) = &parsed {
            let _ = query.matches(
                &Doc {
                    name: &"a".repeat(4096),
                    cvss: 1.0,
                },
                NOW,
            );
        }
        let took = started.elapsed();
        if took > Duration::from_secs(2) {
            return Err(format!("{}… took {took:?}", &q[..20]));
        }
    }
    Ok(())
}
