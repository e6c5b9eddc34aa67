//! Evaluation: a [`Query`] over a document the caller describes through [`Fields`]. Pure: the
//! only inputs are the query, the document and `now`; nothing is allocated per document.

use crate::predicate::Pred;
use crate::schema::FieldId;
use crate::value::Fields;

/// One `Field:v1,v2` pair: true when some value of the field satisfies some predicate.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub field: FieldId,
    pub preds: Vec<Pred>,
}

impl Pair {
    fn matches<D: Fields + ?Sized>(&self, doc: &D, now: i64) -> bool {
        let mut matched = false;
        let mut seen = false;
        doc.values(self.field, &mut |v| {
            seen = true;
            if !matched {
                matched = self.preds.iter().any(|p| p.matches(&v, now));
            }
        });
        // A field with no value at all is null: `-` holds.
        matched || (!seen && self.preds.iter().any(|p| matches!(p, Pred::Null)))
    }
}

/// A parsed query: the conjunction of its pairs. No pairs (an empty query, or only unknown
/// labels) matches every document.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub(crate) pairs: Vec<Pair>,
}

impl Query {
    /// Whether `doc` satisfies every pair; `now` (unix seconds) anchors `30d`-style values.
    pub fn matches<D: Fields + ?Sized>(&self, doc: &D, now: i64) -> bool {
        self.pairs.iter().all(|p| p.matches(doc, now))
    }

    /// True when the query constrains nothing.
    pub fn matches_everything(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The fields the query constrains, in query order (one entry per kept pair).
    pub fn fields(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.pairs.iter().map(|p| p.field)
    }
}
