//! Small HTTP helpers every surface shares: query strings and repository names.

/// The query string's pairs, percent-decoded, in order (repeated keys kept).
pub(crate) fn query_pairs(req_query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req_query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

pub(crate) fn query_one<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Query parameters as a multimap (for repeated `tag=` and `scope=`).
pub(crate) fn query_multi(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The namespace of a repository: its first path component.
pub(crate) fn namespace_of(name: &str) -> &str {
    name.split('/').next().unwrap_or(name)
}
