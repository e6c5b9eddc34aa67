//! What a document gives a query: its fields' values, borrowed.
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use crate::schema::FieldId;

/// One value of a document's field, borrowed from the document.
#[derive(Clone, Copy)]
pub enum Value<'a> {
    /// The field is absent here (a deployment without images has a null `Image`, say).
    Null,
    /// `String` and `Uuid` fields.
    Str(&'a str),
    /// `Number` fields.
    Num(f64),
    /// `Time` fields: unix seconds.
    Time(i64),
    /// `Enum` fields: the ordinal, the index of the variant in the field's kind.
    Enum(u32),
    Bool(bool),
    /// `Map` fields: one whole map (a deployment's labels; one image's labels).
    Map(&'a dyn MapEntries),
}

impl std::fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Str(s) => f.debug_tuple("Str").field(s).finish(),
            Value::Num(n) => f.debug_tuple("Num").field(n).finish(),
            Value::Time(t) => f.debug_tuple("Time").field(t).finish(),
            Value::Enum(o) => f.debug_tuple("Enum").field(o).finish(),
            Value::Bool(b) => f.debug_tuple("Bool").field(b).finish(),
            Value::Map(_) => f.write_str("Map(..)"),
        }
    }
}

/// A document: what a query is evaluated against (for the workload export, a deployment with
/// its images, their components and CVEs).
pub trait Fields {
    /// Calls `out` once per value of `field` (zero, one or many times). Giving no value at all
    /// counts as null. A field of the wrong [`Value`] type matches nothing but `*`.
    fn values(&self, field: FieldId, out: &mut dyn FnMut(Value<'_>));
}

/// The entries of one string→string map.
pub trait MapEntries {
    /// Calls `f` on entries until it returns `true`; whether it did.
    fn any_entry(&self, f: &mut dyn FnMut(&str, &str) -> bool) -> bool;
}

impl<S: BuildHasher> MapEntries for HashMap<String, String, S> {
    fn any_entry(&self, f: &mut dyn FnMut(&str, &str) -> bool) -> bool {
        self.iter().any(|(k, v)| f(k, v))
    }
}

impl MapEntries for BTreeMap<String, String> {
    fn any_entry(&self, f: &mut dyn FnMut(&str, &str) -> bool) -> bool {
        self.iter().any(|(k, v)| f(k, v))
    }
}

impl<K: AsRef<str>, V: AsRef<str>> MapEntries for [(K, V)] {
    fn any_entry(&self, f: &mut dyn FnMut(&str, &str) -> bool) -> bool {
        self.iter().any(|(k, v)| f(k.as_ref(), v.as_ref()))
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> MapEntries for [(K, V); N] {
    fn any_entry(&self, f: &mut dyn FnMut(&str, &str) -> bool) -> bool {
        self.as_slice().any_entry(f)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> MapEntries for Vec<(K, V)> {
    fn any_entry(&self, f: &mut dyn FnMut(&str, &str) -> bool) -> bool {
        self.as_slice().any_entry(f)
    }
}
