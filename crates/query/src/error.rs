//! Why a query was refused. Each message names the problem and where it is, for a 400 reply.

/// Values quoted in messages are cut to this many characters.
const QUOTE_MAX: usize = 80;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("query is {len} bytes long; at most {max} are allowed")]
    TooLong { len: usize, max: usize },
    #[error("query has more than {max} pairs")]
    TooManyPairs { max: usize },
    #[error("pair {pair} ({label:?}, at byte {offset}) has more than {max} values")]
    TooManyValues {
        pair: usize,
        label: String,
        offset: usize,
        max: usize,
    },
    #[error("query has more than {max} values in all")]
    TooManyValuesInAll { max: usize },
    #[error("pair {pair} ({label:?}, at byte {offset}), value {value:?}: {reason}")]
    BadValue {
        /// 1-based, counting every pair of the query, known or not.
        pair: usize,
        label: String,
        offset: usize,
        value: String,
        reason: String,
    },
}

/// `s` cut to [`QUOTE_MAX`] characters, marked when cut.
pub(crate) fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}
