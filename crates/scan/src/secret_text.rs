//! Where a secret was found and how it is shown: shared by the YARA-driven secret rules
//! (`analyze`) and the generic assignment rule (`generic_secret`), so neither reaches into
//! the other.

/// The 1-based line number of byte `at`.
pub(crate) fn line_of(data: &[u8], at: usize) -> usize {
    1 + memchr::memchr_iter(b'\n', &data[..at.min(data.len())]).count()
}

/// The first 4 and last 4 characters of the secret-shaped part of a match.
pub(crate) fn mask(value: &str) -> String {
    let token = value
        .rsplit(|c: char| c.is_whitespace() || matches!(c, '=' | ':' | '"' | '\''))
        .next()
        .unwrap_or(value);
    let chars: Vec<char> = token.chars().collect();
    if chars.len() <= 12 {
        return "****".into();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}
