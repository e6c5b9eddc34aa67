//! The StackRox search query language (`Deployment:nginx,redis+Severity:>=IMPORTANT`), as the
//! ACS vuln-mgmt export (`GET /v1/export/vuln-mgmt/workloads?query=…`) takes it: a parser and
//! an evaluator.
//!
//! # Invariant
//!
//! Parsing is total and bounded: every string gives a [`Query`] or a [`QueryError`], never a
//! panic, with the work bounded by [`Limits`] (query length, pairs, values, regexes; each regex
//! is size-limited and matched in linear time). Evaluation is pure: a query, a document and
//! `now` in, a `bool` out; no clock, no I/O, no allocation per document.
//!
//! # Boundary
//!
//! In: a [`Schema`] (labels and [`Kind`]s; [`stackrox_workload_schema`] is the export's), the
//! query text (already URL-decoded), and, to evaluate, a document implementing [`Fields`] and
//! the current time in unix seconds. Out: a [`Query`] and `bool`s, or a [`QueryError`] whose
//! `Display` is the 400 message. Which documents exist, and what they hold, is the caller's.
//!
//! # Semantics (StackRox `pkg/search` and `pkg/search/postgres/query`, the 4.x Postgres search)
//!
//! - `Field:v1,v2+Field2:v`: pairs are ANDed, a pair's values ORed. A `+` starts a new pair only
//!   when a `:` follows before the next split; double quotes hide `+`, `:` and `,`. Labels are
//!   case-insensitive; pairs with unknown labels, without `:` or without a value are ignored; a
//!   query left with no pairs (including the empty query) matches everything.
//! - Per value: `*` is "some non-null value", `-` is "null or no value" (not for maps), then
//!   the kind's grammar: see the `predicate` modules (strings: case-insensitive prefix,
//!   `"v"` case-sensitive equality, `r/re` case-insensitive unanchored regex whose pattern is
//!   lowercased first as StackRox does, `!` negating any of them; numbers: comparators and
//!   exclusive `a-b` ranges; times: dates, `Nd` ages with inverted comparators, day ranges,
//!   `tr/` millisecond ranges; enums: name prefixes and ordinal comparisons; booleans; maps:
//!   `k=v` forms; UUIDs: equality).
//! - Many-valued fields: a document gives each field zero or more values (a deployment has
//!   many images, components, CVEs); a pair holds when ANY value satisfies ANY of its values,
//!   like StackRox's join, where each row is tested alone. So `Component:openssl+CVE:CVE-1`
//!   holds for a deployment with openssl and with CVE-1, not necessarily in openssl; and `!v`
//!   negates per value: `Image:!nginx` holds when some image does not start with `nginx`.
//!   A null value never satisfies a negation (SQL's `NOT NULL` is not true).

mod error;
mod eval;
mod lexer;
mod parse;
mod predicate;
mod schema;
mod value;

pub use error::QueryError;
pub use eval::Query;
pub use parse::{Limits, parse, parse_with};
pub use schema::{
    Field, FieldId, Kind, SEVERITIES, SOURCE_TYPES, Schema, stackrox_workload_schema, workload,
};
pub use value::{Fields, MapEntries, Value};

/// The compiled size limit of each `r/` regex (and of its lazy DFA), in bytes.
pub const REGEX_SIZE_LIMIT: usize = predicate::REGEX_SIZE_LIMIT;
/// The longest number a query may contain, in characters.
pub const MAX_NUMBER_LEN: usize = predicate::MAX_NUMBER_LEN;
/// The largest magnitude a query number may have.
pub const MAX_ABS_NUMBER: f64 = predicate::MAX_ABS_NUMBER;
