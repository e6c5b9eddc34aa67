//! Any bytes, read as UTF-8 (lossily), parsed against the workload schema and, when they parse,
//! evaluated against a small deployment that has a value of every kind, several values in some
//! fields, a null, an empty map and no value at all in others. Parsing must be total (no panic)
//! and bounded; evaluation must not panic either.
#![no_main]
use berth_query::{FieldId, Fields, Value, parse, stackrox_workload_schema, workload as w};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_700_000_000;

struct Doc;

impl Fields for Doc {
    fn values(&self, field: FieldId, out: &mut dyn FnMut(Value<'_>)) {
        let labels = [("app", "web"), ("tier", "Frontend"), ("", "")];
        let none: [(&str, &str); 0] = [];
        match field {
            w::DEPLOYMENT => out(Value::Str("web")),
            w::NAMESPACE => out(Value::Str("prod")),
            w::CLUSTER_ID => out(Value::Str("6ba7b810-9dad-11d1-80b4-00c04fd430c8")),
            w::IMAGE => {
                out(Value::Str("docker.io/library/nginx:1.25"));
                out(Value::Str("ÄÖÜ/ß"));
            }
            w::IMAGE_TAG => {
                out(Value::Str("1.25"));
                out(Value::Null);
            }
            w::CVSS => {
                out(Value::Num(9.8));
                out(Value::Num(f64::NAN));
            }
            w::SEVERITY => {
                out(Value::Enum(4));
                out(Value::Enum(u32::MAX));
            }
            w::FIXABLE => out(Value::Bool(true)),
            w::IMAGE_CREATED_TIME => {
                out(Value::Time(NOW - 40 * 86_400));
                out(Value::Time(i64::MIN));
                out(Value::Time(i64::MAX));
            }
            w::DEPLOYMENT_LABEL => out(Value::Map(&labels)),
            w::POD_LABEL => out(Value::Map(&none)),
            // A value of the wrong type.
            w::IMAGE_TOP_CVSS => out(Value::Str("high")),
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let schema = stackrox_workload_schema();
    if let Ok(query) = parse(&schema, &text) {
        let _ = query.matches(&Doc, NOW);
        let _ = query.matches(&Doc, i64::MIN);
        let _ = query.matches(&Doc, i64::MAX);
    }
});
