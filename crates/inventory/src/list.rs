//! Parsers of untrusted JSON documents from a cluster: a `List` (what `kubectl get
//! pods,deployments,... -A -o json` prints, or an API server's `PodList`), one object (an
//! admission request's), and one watch event.
//!
//! Order of checks: the document's size before anything is parsed; the number of items while
//! they are read (a list with too many is not read to its end); each item's `apiVersion`/`kind`
//! before it is parsed as that kind; every [`Limits`] bound while it is normalised.
use crate::error::{InventoryError, quote};
use crate::k8s::{self, InventoryObject};
use crate::limits::{Limits, ParseOptions, UnknownKinds};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::cell::Cell;
use std::fmt;

type Result<T> = std::result::Result<T, InventoryError>;

/// An item of a list that was skipped under [`UnknownKinds::Skip`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedItem {
    pub index: usize,
    pub api_version: String,
    pub kind: String,
}

/// A parsed list: the objects in list order with their item index, and what was skipped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedList {
    pub objects: Vec<(usize, InventoryObject)>,
    pub skipped: Vec<SkippedItem>,
}

fn check_size(bytes: &[u8], limits: &Limits) -> Result<()> {
    if bytes.len() > limits.max_document_bytes {
        return Err(InventoryError::DocumentTooLarge {
            size: bytes.len(),
            limit: limits.max_document_bytes,
        });
    }
    Ok(())
}

/// The top of a list document: its header and its items, unparsed, at most `limit` of them.
struct ListDoc<'a> {
    api_version: String,
    kind: String,
    items: Vec<&'a RawValue>,
}

struct ListSeed<'c> {
    limit: usize,
    too_many: &'c Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = ListDoc<'de>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<ListDoc<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = ListDoc<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes List object")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<ListDoc<'de>, A::Error> {
        let mut doc = ListDoc {
            api_version: String::new(),
            kind: String::new(),
            items: Vec::new(),
        };
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "apiVersion" => {
                    doc.api_version = map.next_value::<Option<String>>()?.unwrap_or_default()
                }
                "kind" => doc.kind = map.next_value::<Option<String>>()?.unwrap_or_default(),
                "items" => {
                    doc.items = map.next_value_seed(ItemsSeed {
                        limit: self.limit,
                        too_many: self.too_many,
                    })?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(doc)
    }
}

struct ItemsSeed<'c> {
    limit: usize,
    too_many: &'c Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = Vec<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects, or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            if items.len() == self.limit {
                self.too_many.set(true);
                return Err(serde::de::Error::custom("too many items"));
            }
            items.push(item);
        }
        Ok(items)
    }
}

/// Parses a `List` document. Items are normalised in order; the first bad one fails the whole
/// list (an inventory is replaced whole or not at all).
///
/// Accepted: `apiVersion: v1, kind: List` whose items each carry `apiVersion` and `kind` (what
/// `kubectl ... -o json` prints), and the API server's typed lists (`PodList`,
/// `apps/v1 DeploymentList`...) whose items may leave them out.
pub fn parse_list(bytes: &[u8], options: &ParseOptions) -> Result<ParsedList> {
    let limits = &options.limits;
    check_size(bytes, limits)?;
    let too_many = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let doc = ListSeed {
        limit: limits.max_items,
        too_many: &too_many,
    }
    .deserialize(&mut de)
    .and_then(|doc| de.end().map(|()| doc));
    let doc = match doc {
        Ok(doc) => doc,
        Err(_) if too_many.get() => {
            return Err(InventoryError::TooManyItems {
                limit: limits.max_items,
            });
        }
        Err(e) => return Err(InventoryError::json("the list document", &e)),
    };
    let item_kind = if doc.api_version == "v1" && doc.kind == "List" {
        None
    } else {
        match doc.kind.strip_suffix("List") {
            Some(kind) if is_supported(&doc.api_version, kind) => Some(kind),
            _ => {
                return Err(InventoryError::NotAList {
                    api_version: quote(&doc.api_version),
                    kind: quote(&doc.kind),
                });
            }
        }
    };
    let mut out = ParsedList::default();
    for (index, raw) in doc.items.into_iter().enumerate() {
        let at = format!("item {index}");
        let default = item_kind.map(|k| (doc.api_version.as_str(), k));
        match object(raw, default, &at, options)? {
            Parsed::Object(o) => out.objects.push((index, *o)),
            Parsed::Skipped { api_version, kind } => out.skipped.push(SkippedItem {
                index,
                api_version,
                kind,
            }),
        }
    }
    Ok(out)
}

/// Parses one object (e.g. an admission request's `object`). `Ok(None)`: its kind is not
/// inventoried and `options` say to skip such objects.
pub fn parse_object(bytes: &[u8], options: &ParseOptions) -> Result<Option<InventoryObject>> {
    check_size(bytes, &options.limits)?;
    let raw: &RawValue =
        serde_json::from_slice(bytes).map_err(|e| InventoryError::json("the object", &e))?;
    match object(raw, None, "the object", options)? {
        Parsed::Object(o) => Ok(Some(*o)),
        Parsed::Skipped { .. } => Ok(None),
    }
}

enum Parsed {
    Object(Box<InventoryObject>),
    Skipped { api_version: String, kind: String },
}

const SUPPORTED: [(&str, &str); 9] = [
    ("v1", "Pod"),
    ("v1", "Namespace"),
    ("v1", "ReplicationController"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "ReplicaSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
];

fn is_supported(api_version: &str, kind: &str) -> bool {
    SUPPORTED.contains(&(api_version, kind))
}

#[derive(serde::Deserialize)]
struct Header {
    #[serde(rename = "apiVersion", default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

fn object(
    raw: &RawValue,
    default: Option<(&str, &str)>,
    at: &str,
    options: &ParseOptions,
) -> Result<Parsed> {
    let header: Header =
        serde_json::from_str(raw.get()).map_err(|e| InventoryError::json(at, &e))?;
    let (api_version, kind) = match (header.api_version, header.kind, default) {
        (Some(a), Some(k), _) => (a, k),
        (a, k, Some((da, dk))) => (
            a.unwrap_or_else(|| da.to_string()),
            k.unwrap_or_else(|| dk.to_string()),
        ),
        (a, k, None) => (a.unwrap_or_default(), k.unwrap_or_default()),
    };
    if !is_supported(&api_version, &kind) {
        return match options.unknown_kinds {
            UnknownKinds::Skip => Ok(Parsed::Skipped {
                api_version: quote(&api_version),
                kind: quote(&kind),
            }),
            UnknownKinds::Reject => Err(InventoryError::UnsupportedKind {
                at: at.to_string(),
                api_version: quote(&api_version),
                kind: quote(&kind),
            }),
        };
    }
    let limits = &options.limits;
    let context = || format!("{at} ({api_version} {kind})");
    fn typed<T: serde::de::DeserializeOwned>(raw: &RawValue, context: String) -> Result<T> {
        serde_json::from_str(raw.get()).map_err(|e| InventoryError::json(context, &e))
    }
    let o = match kind.as_str() {
        "Pod" => InventoryObject::Pod(k8s::pod(&typed(raw, context())?, limits)?),
        "Namespace" => InventoryObject::Namespace(k8s::namespace(&typed(raw, context())?, limits)?),
        "ReplicationController" => InventoryObject::Workload(k8s::replication_controller(
            &typed(raw, context())?,
            limits,
        )?),
        "Deployment" => {
            InventoryObject::Workload(k8s::deployment(&typed(raw, context())?, limits)?)
        }
        "DaemonSet" => InventoryObject::Workload(k8s::daemon_set(&typed(raw, context())?, limits)?),
        "StatefulSet" => {
            InventoryObject::Workload(k8s::stateful_set(&typed(raw, context())?, limits)?)
        }
        "ReplicaSet" => {
            InventoryObject::Workload(k8s::replica_set(&typed(raw, context())?, limits)?)
        }
        "Job" => InventoryObject::Workload(k8s::job(&typed(raw, context())?, limits)?),
        "CronJob" => InventoryObject::Workload(k8s::cron_job(&typed(raw, context())?, limits)?),
        _ => {
            return Err(InventoryError::UnsupportedKind {
                at: at.to_string(),
                api_version: quote(&api_version),
                kind: quote(&kind),
            });
        }
    };
    Ok(Parsed::Object(Box::new(o)))
}

/// What a watch event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One watch event (`{"type": "ADDED", "object": {...}}`) with its object normalised.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WatchEvent {
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub object: InventoryObject,
}

#[derive(serde::Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "type")]
    event_type: String,
    #[serde(borrow, default)]
    object: Option<&'a RawValue>,
}

#[derive(serde::Deserialize)]
struct Status {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<i64>,
}

/// Parses one watch event. `Ok(None)` for a `BOOKMARK` (nothing changed) and, under
/// [`UnknownKinds::Skip`], for an object not inventoried. An `ERROR` event is an error carrying
/// the API server's message: the watch is over and the agent must list again.
pub fn parse_watch_event(bytes: &[u8], options: &ParseOptions) -> Result<Option<WatchEvent>> {
    check_size(bytes, &options.limits)?;
    let raw: RawEvent<'_> =
        serde_json::from_slice(bytes).map_err(|e| InventoryError::json("the watch event", &e))?;
    let event_type = match raw.event_type.as_str() {
        "ADDED" => EventType::Added,
        "MODIFIED" => EventType::Modified,
        "DELETED" => EventType::Deleted,
        "BOOKMARK" => return Ok(None),
        "ERROR" => {
            let status: Option<Status> =
                raw.object.and_then(|o| serde_json::from_str(o.get()).ok());
            let message = match status {
                Some(Status {
                    message: Some(m),
                    code,
                }) => match code {
                    Some(c) => format!("{c}: {}", quote(&m)),
                    None => quote(&m),
                },
                _ => "no status given".to_string(),
            };
            return Err(InventoryError::WatchError(message));
        }
        other => return Err(InventoryError::UnknownEventType(quote(other))),
    };
    let raw_object = raw.object.ok_or_else(|| InventoryError::Json {
        context: "the watch event".to_string(),
        message: "it has no object".to_string(),
    })?;
    match object(raw_object, None, "the watch event's object", options)? {
        Parsed::Object(object) => Ok(Some(WatchEvent {
            event_type,
            object: *object,
        })),
        Parsed::Skipped { .. } => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn opts() -> ParseOptions {
        ParseOptions::default()
    }

    #[test]
    fn typed_list_items_take_the_list_kind() {
        let doc = br#"{"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"9"},
            "items":[{"metadata":{"name":"a","namespace":"n"},"spec":{"containers":[]}}]}"#;
        let list = parse_list(doc, &opts()).unwrap();
        assert!(matches!(&list.objects[..], [(0, InventoryObject::Pod(p))] if p.name == "a"));
    }

    #[test]
    fn unknown_kinds_are_named_or_skipped() {
        let doc = br#"{"apiVersion":"v1","kind":"List","items":[
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n"}},
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"n"}}]}"#;
        let e = parse_list(doc, &opts()).unwrap_err().to_string();
        assert!(e.contains("item 1") && e.contains("\"Service\""), "{e}");
        let skip = ParseOptions {
            unknown_kinds: UnknownKinds::Skip,
            ..opts()
        };
        let list = parse_list(doc, &skip).unwrap();
        assert_eq!(list.objects.len(), 1);
        assert_eq!(
            list.skipped,
            [SkippedItem {
                index: 1,
                api_version: "v1".into(),
                kind: "Service".into()
            }]
        );
        // An old apiVersion of a known kind is not silently taken for the new one.
        let old = br#"{"apiVersion":"v1","kind":"List","items":[
            {"apiVersion":"extensions/v1beta1","kind":"Deployment","metadata":{"name":"d"}}]}"#;
        let e = parse_list(old, &opts()).unwrap_err().to_string();
        assert!(e.contains("extensions/v1beta1"), "{e}");
    }

    #[test]
    fn limits_stop_reading() {
        let limits = Limits {
            max_items: 2,
            max_document_bytes: 200,
            ..Limits::default()
        };
        let o = ParseOptions { limits, ..opts() };
        let three = br#"{"apiVersion":"v1","kind":"List","items":[1,2,3]}"#;
        assert_eq!(
            parse_list(three, &o),
            Err(InventoryError::TooManyItems { limit: 2 })
        );
        let big = vec![b' '; 201];
        assert!(matches!(
            parse_list(&big, &o),
            Err(InventoryError::DocumentTooLarge { size: 201, .. })
        ));
    }

    #[test]
    fn not_lists() {
        for doc in [
            &br#"{"apiVersion":"v1","kind":"Pod","items":[]}"#[..],
            br#"{"apiVersion":"v1","kind":"ServiceList","items":[]}"#,
            br#"[]"#,
            br#"{"apiVersion":"v1","kind":"List","items":[]} trailing"#,
            b"",
        ] {
            assert!(parse_list(doc, &opts()).is_err());
        }
        let empty = parse_list(
            br#"{"apiVersion":"v1","kind":"List","items":null}"#,
            &opts(),
        );
        assert_eq!(empty, Ok(ParsedList::default()));
    }

    #[test]
    fn admission_objects_need_no_name_yet() {
        // At CREATE a pod from a controller has only generateName, and no uid.
        let pod = br#"{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-7c9f8d6b5d-",
            "namespace":"shop"},"spec":{"containers":[{"name":"app","image":"nginx:1.27"}]}}"#;
        let o = parse_object(pod, &opts()).unwrap().unwrap();
        let InventoryObject::Pod(p) = o else {
            panic!("a pod")
        };
        assert_eq!((p.name.as_str(), p.uid.as_deref()), ("", None));
        assert_eq!(p.spec.containers[0].image.written, "nginx:1.27");
        let svc = br#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"}}"#;
        assert!(parse_object(svc, &opts()).is_err());
        let skip = ParseOptions {
            unknown_kinds: UnknownKinds::Skip,
            ..opts()
        };
        assert_eq!(parse_object(svc, &skip), Ok(None));
    }

    #[test]
    fn watch_events() {
        let ev = br#"{"type":"MODIFIED","object":{"apiVersion":"apps/v1","kind":"Deployment",
            "metadata":{"name":"web","namespace":"shop"},
            "spec":{"selector":{},"template":{"spec":{"containers":[]}}}}}"#;
        let ev = parse_watch_event(ev, &opts()).unwrap().unwrap();
        assert_eq!(ev.event_type, EventType::Modified);
        assert!(matches!(ev.object, InventoryObject::Workload(w) if w.name == "web"));
        assert_eq!(
            parse_watch_event(br#"{"type":"BOOKMARK","object":{"kind":"Pod"}}"#, &opts()),
            Ok(None)
        );
        let e = parse_watch_event(
            br#"{"type":"ERROR","object":{"kind":"Status","code":410,"message":"too old resource version"}}"#,
            &opts(),
        )
        .unwrap_err();
        assert_eq!(
            e,
            InventoryError::WatchError("410: too old resource version".into())
        );
        assert!(parse_watch_event(br#"{"type":"SYNC","object":{}}"#, &opts()).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_list(&bytes, &opts());
            let _ = parse_object(&bytes, &opts());
            let _ = parse_watch_event(&bytes, &opts());
        }

        #[test]
        fn arbitrary_json_never_panics(v in arb_json()) {
            let wrapped = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [v.clone()]});
            let bytes = serde_json::to_vec(&wrapped).unwrap();
            let _ = parse_list(&bytes, &opts());
            let event = serde_json::json!({"type": "ADDED", "object": v});
            let _ = parse_watch_event(&serde_json::to_vec(&event).unwrap(), &opts());
        }
    }

    /// JSON shaped like Kubernetes objects often enough to reach the normalisers: known keys and
    /// kinds mixed with arbitrary values.
    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let key = prop_oneof![
            Just("apiVersion".to_string()),
            Just("kind".to_string()),
            Just("metadata".to_string()),
            Just("spec".to_string()),
            Just("status".to_string()),
            Just("name".to_string()),
            Just("namespace".to_string()),
            Just("containers".to_string()),
            Just("image".to_string()),
            Just("imageID".to_string()),
            Just("ownerReferences".to_string()),
            Just("template".to_string()),
            Just("containerStatuses".to_string()),
            "[a-zA-Z]{1,8}",
        ];
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            prop_oneof![
                Just("v1".to_string()),
                Just("apps/v1".to_string()),
                Just("Pod".to_string()),
                Just("Deployment".to_string()),
                Just("Running".to_string()),
                Just("docker-pullable://nginx@sha256:".to_string()),
                "\\PC{0,20}",
            ]
            .prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(5, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map(key.clone(), inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
