//! Text values (StackRox `pkg/search/postgres/query/string_query.go`): `ilike 'v%'` by default,
//! `=` for `"v"`, `~*` for `r/v`, each negatable with `!` (`NOT (… ilike …)`, `!=`, `!~*`).

use regex::{Regex, RegexBuilder};

use crate::lexer::{Match, Modified, Negation};

/// Compiled regexes are bounded so a hostile pattern costs bounded memory; matching with the
/// `regex` crate is linear in the input.
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone)]
pub(crate) enum StrMatch {
    /// Case-insensitive prefix; the needle is already lowercased.
    Prefix(String),
    /// Byte-exact equality: StackRox sends `"v"` to Postgres as `col = 'v'`, which is
    /// case-sensitive.
    Exact(String),
    /// Case-insensitive, unanchored.
    Regex(Regex),
}

#[derive(Debug, Clone)]
pub(crate) struct StrPred {
    pub negated: bool,
    pub matching: StrMatch,
}

impl StrPred {
    pub fn compile(m: &Modified) -> Result<Self, String> {
        let negated = match m.negation {
            None => false,
            Some(Negation::Not) => true,
            Some(Negation::AtLeastOne) => {
                return Err("the `!!` (at least one) modifier is not supported".into());
            }
        };
        let matching = match m.matching {
            None => StrMatch::Prefix(m.value.to_lowercase()),
            Some(Match::Exact) => StrMatch::Exact(m.value.clone()),
            Some(Match::Regex) => StrMatch::Regex(compile_regex(&m.value)?),
        };
        Ok(StrPred { negated, matching })
    }

    pub fn matches(&self, s: &str) -> bool {
        let hit = match &self.matching {
            StrMatch::Prefix(needle) => has_prefix_ignore_case(s, needle),
            StrMatch::Exact(v) => s == v,
            StrMatch::Regex(re) => re.is_match(s),
        };
        hit != self.negated
    }
}

/// `r/` patterns: case-insensitive (Postgres `~*`), unanchored, size-bounded.
pub(crate) fn compile_regex(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("regex {pattern:?} is too large (compiled size limit {limit} bytes)")
            }
            e => format!("invalid regex {pattern:?}: {e}"),
        })
}

/// Whether `s` lowercased starts with `lower_needle`, without allocating.
fn has_prefix_ignore_case(s: &str, lower_needle: &str) -> bool {
    let mut hay = s.chars().flat_map(char::to_lowercase);
    lower_needle.chars().all(|n| hay.next() == Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::modifiers;

    fn pred(v: &str) -> Result<StrPred, String> {
        StrPred::compile(&modifiers(v))
    }

    #[test]
    fn prefix_is_case_insensitive() -> Result<(), String> {
        let p = pred("NGI")?;
        assert!(p.matches("nginx"));
        assert!(p.matches("NGINX-ingress"));
        assert!(!p.matches("my-nginx"));
        assert!(pred("")?.matches("anything"));
        assert!(pred("ÉCOLE")?.matches("école-1"));
        Ok(())
    }

    #[test]
    fn exact_is_case_sensitive_equality() -> Result<(), String> {
        let p = pred("\"nginx\"")?;
        assert!(p.matches("nginx"));
        assert!(!p.matches("nginx2"));
        assert!(!p.matches("NGINX"));
        Ok(())
    }

    #[test]
    fn negation_negates_each_form() -> Result<(), String> {
        assert!(!pred("!ngi")?.matches("nginx"));
        assert!(pred("!ngi")?.matches("redis"));
        assert!(pred("!\"nginx\"")?.matches("nginx2"));
        assert!(!pred("!\"nginx\"")?.matches("nginx"));
        assert!(!pred("!r/gin")?.matches("nginx"));
        assert!(pred("!r/gin")?.matches("redis"));
        Ok(())
    }

    #[test]
    fn regex_is_unanchored_and_case_insensitive() -> Result<(), String> {
        let p = pred("r/G.N")?;
        assert!(p.matches("NGINX"));
        assert!(pred("r/^ngi")?.matches("nginx"));
        assert!(!pred("r/^gin")?.matches("nginx"));
        Ok(())
    }

    #[test]
    fn invalid_and_oversize_regexes_are_errors() {
        assert!(matches!(pred("r/(unclosed"), Err(e) if e.contains("invalid regex")));
        assert!(matches!(pred("r/\\w{1000}{1000}"), Err(e) if e.contains("too large")));
    }

    #[test]
    fn at_least_one_is_rejected() {
        assert!(matches!(pred("!!x"), Err(e) if e.contains("!!")));
    }
}
