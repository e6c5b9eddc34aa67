//! Request parameters of the management API: one flat map of `Name`, `Name.N` and
//! `Name.N.Field.N` keys, from the query string (GET), a form body (POST) or a JSON body (POST,
//! as the kingsoftcloud SDK sends some actions), with the seed's rules for indexed names.
use std::collections::BTreeMap;

use serde_json::Value;

use crate::{RequestError, RequestResult};

/// Limits on what a caller controls.
const MAX_PARAMS: usize = 1000;
const MAX_KEY_BYTES: usize = 256;
const MAX_VALUE_BYTES: usize = 16 * 1024;
const MAX_JSON_DEPTH: usize = 8;
/// `N` in `Filter.N` and `ID.N` runs from 1 to 100. 0 is accepted too: the kingsoftcloud SDK
/// numbers Python lists from 0 (`AbstractClient._format_params`), and its wire behaviour wins.
pub const MAX_INDEX: u32 = 100;

#[derive(Debug, Clone, Default)]
pub struct Params {
    map: BTreeMap<String, String>,
}

/// `Marker`/`MaxResults` paging: `Marker` is the offset of the first item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub marker: u32,
    pub max_results: u32,
}

impl Paging {
    /// The `Marker` to send back: where the next page starts, or 0 when this page is the last.
    pub fn next_marker(&self, total: u64) -> u64 {
        let next = u64::from(self.marker) + u64::from(self.max_results);
        if next < total { next } else { 0 }
    }
}

/// Parses one index segment: decimal, no sign, no leading zeros, at most [`MAX_INDEX`].
fn index(segment: &str) -> Option<u32> {
    if segment.is_empty()
        || segment.len() > 3
        || !segment.bytes().all(|b| b.is_ascii_digit())
        || (segment.len() > 1 && segment.starts_with('0'))
    {
        return None;
    }
    segment.parse().ok().filter(|n| *n <= MAX_INDEX)
}

fn is_numeric(segment: &str) -> bool {
    !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit())
}

/// The key with every index segment replaced by `N`: `Trigger.Header.2.Value.1` ->
/// `Trigger.Header.N.Value.N`, the form the action specs use.
pub fn pattern_of(key: &str) -> String {
    key.split('.')
        .map(|s| if is_numeric(s) { "N" } else { s })
        .collect::<Vec<_>>()
        .join(".")
}

impl Params {
    /// From decoded name/value pairs. A name given twice is refused (the seed's Filter rules 1
    /// and 3), as is an index outside 0..=100.
    pub fn from_pairs<I>(pairs: I) -> RequestResult<Params>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut params = Params::default();
        for (key, value) in pairs {
            params.insert(key, value)?;
        }
        Ok(params)
    }

    /// From a JSON object: nested objects join their keys with `.`, arrays are numbered from 1.
    pub fn from_json(value: &Value) -> RequestResult<Params> {
        let Value::Object(map) = value else {
            return Err(RequestError::invalid_value_because(
                "Body",
                "The JSON body must be an object.",
            ));
        };
        let mut params = Params::default();
        for (k, v) in map {
            params.flatten(k.clone(), v, 1)?;
        }
        Ok(params)
    }

    fn flatten(&mut self, key: String, value: &Value, depth: usize) -> RequestResult<()> {
        if depth > MAX_JSON_DEPTH {
            return Err(RequestError::invalid_query_parameter(&key));
        }
        match value {
            Value::Null => Ok(()),
            Value::Bool(b) => self.insert(key, if *b { "True" } else { "False" }.to_string()),
            Value::Number(n) => self.insert(key, n.to_string()),
            Value::String(s) => self.insert(key, s.clone()),
            Value::Array(items) => {
                if items.len() > MAX_INDEX as usize {
                    return Err(RequestError::invalid_query_parameter(&format!("{key}.N")));
                }
                for (i, item) in items.iter().enumerate() {
                    self.flatten(format!("{key}.{}", i + 1), item, depth + 1)?;
                }
                Ok(())
            }
            Value::Object(map) => {
                for (k, v) in map {
                    self.flatten(format!("{key}.{k}"), v, depth + 1)?;
                }
                Ok(())
            }
        }
    }

    /// Adds one parameter, with the same checks as [`Params::from_pairs`].
    pub fn insert(&mut self, key: String, value: String) -> RequestResult<()> {
        if key.is_empty()
            || key.len() > MAX_KEY_BYTES
            || value.len() > MAX_VALUE_BYTES
            || key
                .split('.')
                .any(|s| s.is_empty() || (is_numeric(s) && index(s).is_none()))
        {
            return Err(RequestError::invalid_query_parameter(&key));
        }
        if self.map.len() >= MAX_PARAMS {
            return Err(RequestError::invalid_query_parameter(&key));
        }
        if self.map.contains_key(&key) {
            return Err(RequestError::invalid_query_parameter(&key));
        }
        self.map.insert(key, value);
        Ok(())
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.map.remove(name)
    }

    /// A non-empty value, or `MissingParameter`.
    pub fn required(&self, name: &str) -> RequestResult<&str> {
        self.optional(name)
            .ok_or_else(|| RequestError::missing_parameter(name))
    }

    /// The value when present and non-empty.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// A Boolean: `True`/`False` as the seed writes them; `true`/`false` as botocore-style
    /// clients serialise Python booleans.
    pub fn bool(&self, name: &str) -> RequestResult<Option<bool>> {
        match self.optional(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(RequestError::invalid_value(name)),
        }
    }

    pub fn required_bool(&self, name: &str) -> RequestResult<bool> {
        self.bool(name)?
            .ok_or_else(|| RequestError::missing_parameter(name))
    }

    pub fn int(&self, name: &str) -> RequestResult<Option<i64>> {
        match self.optional(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| RequestError::invalid_value(name)),
        }
    }

    pub fn required_int(&self, name: &str) -> RequestResult<i64> {
        self.int(name)?
            .ok_or_else(|| RequestError::missing_parameter(name))
    }

    /// The values of `prefix.N`, in index order. Equal values are refused (the seed's rule that
    /// two names of a list may not be the same).
    pub fn list(&self, prefix: &str) -> RequestResult<Vec<String>> {
        let mut items: Vec<(u32, &str)> = Vec::new();
        let dotted = format!("{prefix}.");
        for (key, value) in self.map.range(dotted.clone()..) {
            let Some(rest) = key.strip_prefix(&dotted) else {
                break;
            };
            if rest.contains('.') {
                continue;
            }
            let n = index(rest).ok_or_else(|| RequestError::invalid_query_parameter(key))?;
            if value.is_empty() {
                return Err(RequestError::invalid_value(key));
            }
            items.push((n, value));
        }
        items.sort_by_key(|(n, _)| *n);
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        for (n, v) in items {
            if out.iter().any(|x| x == v) {
                return Err(RequestError::invalid_value(&format!("{prefix}.{n}")));
            }
            out.push(v.to_string());
        }
        Ok(out)
    }

    /// The distinct `N` of keys `prefix.N.*` (structured list members), in order.
    pub fn indexes(&self, prefix: &str) -> RequestResult<Vec<u32>> {
        let dotted = format!("{prefix}.");
        let mut out: Vec<u32> = Vec::new();
        for key in self.map.keys() {
            let Some(rest) = key.strip_prefix(&dotted) else {
                continue;
            };
            let Some((n, _)) = rest.split_once('.') else {
                continue;
            };
            let n = index(n).ok_or_else(|| RequestError::invalid_query_parameter(key))?;
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// `Marker` (default 0) and `MaxResults` (default `default`, 1..=`max`).
    pub fn paging(&self, default: u32, max: u32) -> RequestResult<Paging> {
        let marker = match self.int("Marker")? {
            None => 0,
            Some(m) => u32::try_from(m).map_err(|_| RequestError::invalid_value("Marker"))?,
        };
        let max_results = match self.int("MaxResults")? {
            None => default,
            Some(m) if (1..=i64::from(max)).contains(&m) => {
                u32::try_from(m).map_err(|_| RequestError::invalid_value("MaxResults"))?
            }
            Some(_) => return Err(RequestError::invalid_value("MaxResults")),
        };
        Ok(Paging {
            marker,
            max_results,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> RequestResult<Params> {
        Params::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn lists_follow_the_index_rules() {
        let params = p(&[("InstanceId.2", "b"), ("InstanceId.1", "a"), ("Other", "x")]).unwrap();
        assert_eq!(params.list("InstanceId").unwrap(), ["a", "b"]);
        assert!(params.list("Missing").unwrap().is_empty());
        // 0-based lists from the kingsoftcloud SDK.
        let params = p(&[("InstanceId.0", "a"), ("InstanceId.1", "b")]).unwrap();
        assert_eq!(params.list("InstanceId").unwrap(), ["a", "b"]);
        assert_eq!(
            p(&[("InstanceId.100", "a")])
                .unwrap()
                .list("InstanceId")
                .unwrap(),
            ["a"]
        );
        for bad in ["InstanceId.101", "InstanceId.01", "InstanceId.", "A..B"] {
            assert_eq!(
                p(&[(bad, "a")]).unwrap_err().code,
                "InvalidQueryParameter",
                "{bad}"
            );
        }
        // The same name twice, and the same value twice.
        assert!(p(&[("InstanceId.1", "a"), ("InstanceId.1", "b")]).is_err());
        let dup = p(&[("InstanceId.1", "a"), ("InstanceId.2", "a")]).unwrap();
        assert_eq!(
            dup.list("InstanceId").unwrap_err().code,
            "InvalidParameterValue"
        );
    }

    #[test]
    fn json_bodies_flatten_to_the_query_form() {
        let body = serde_json::json!({
            "InstanceId": "i",
            "Trigger": {"TriggerName": "t", "EventType": ["PushImage", "DeleteImage"],
                        "Header": [{"Key": "k", "Value": ["v1", "v2"]}], "Enabled": false},
            "Ignored": null,
        });
        let params = Params::from_json(&body).unwrap();
        assert_eq!(params.get("Trigger.EventType.2"), Some("DeleteImage"));
        assert_eq!(params.get("Trigger.Header.1.Value.2"), Some("v2"));
        assert_eq!(params.bool("Trigger.Enabled").unwrap(), Some(false));
        assert_eq!(params.indexes("Trigger.Header").unwrap(), [1]);
        assert!(Params::from_json(&serde_json::json!([1])).is_err());
        assert_eq!(
            pattern_of("Trigger.Header.12.Value.3"),
            "Trigger.Header.N.Value.N"
        );
    }

    #[test]
    fn typed_values_and_paging() {
        let params = p(&[
            ("Public", "True"),
            ("B", "false"),
            ("C", "yes"),
            ("Marker", "40"),
        ])
        .unwrap();
        assert_eq!(params.bool("Public").unwrap(), Some(true));
        assert_eq!(params.bool("B").unwrap(), Some(false));
        assert!(params.bool("C").is_err());
        assert_eq!(
            params.required("Nope").unwrap_err().code,
            "MissingParameter"
        );
        let paging = params.paging(20, 99).unwrap();
        assert_eq!((paging.marker, paging.max_results), (40, 20));
        assert_eq!(paging.next_marker(61), 60);
        assert_eq!(paging.next_marker(60), 0);
        for bad in ["0", "100", "x", "-1"] {
            assert!(
                p(&[("MaxResults", bad)]).unwrap().paging(20, 99).is_err(),
                "{bad}"
            );
        }
        assert!(p(&[("Marker", "-5")]).unwrap().paging(20, 99).is_err());
    }
}
