//! UUID columns (StackRox `uuid_query.go`): a value must be a UUID and matches by equality (not
//! prefix), `!` makes it `!=`, `r/` matches the text form.

use regex::Regex;

use super::string::compile_regex;
use crate::lexer::{Match, Modified, Negation};

#[derive(Debug, Clone)]
enum UuidMatch {
    Eq(u128),
    Regex(Regex),
}

#[derive(Debug, Clone)]
pub(crate) struct UuidPred {
    negated: bool,
    matching: UuidMatch,
}

impl UuidPred {
    pub fn compile(m: &Modified) -> Result<Self, String> {
        let negated = match m.negation {
            None => false,
            Some(Negation::Not) => true,
            Some(Negation::AtLeastOne) => {
                return Err("the `!!` (at least one) modifier is not supported".into());
            }
        };
        if m.value.is_empty() {
            return Err("the value cannot be empty".into());
        }
        let matching = match m.matching {
            None | Some(Match::Exact) => UuidMatch::Eq(
                parse_uuid(&m.value).ok_or_else(|| format!("{:?} is not a UUID", m.value))?,
            ),
            Some(Match::Regex) => UuidMatch::Regex(compile_regex(&m.value)?),
        };
        Ok(UuidPred { negated, matching })
    }

    /// A document value that is not a UUID matches nothing (a uuid column cannot hold one).
    pub fn matches(&self, s: &str) -> bool {
        match &self.matching {
            UuidMatch::Eq(q) => parse_uuid(s).is_some_and(|v| (v == *q) != self.negated),
            UuidMatch::Regex(re) => re.is_match(s) != self.negated,
        }
    }
}

/// The forms Go's uuid.FromString takes: canonical (any case), 32 hex digits, either in braces
/// or after `urn:uuid:`.
pub(crate) fn parse_uuid(s: &str) -> Option<u128> {
    let s = s
        .strip_prefix("urn:uuid:")
        .or_else(|| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .unwrap_or(s);
    let b = s.as_bytes();
    let hex_ok = match b.len() {
        36 => [8, 13, 18, 23].iter().all(|&i| b[i] == b'-'),
        32 => true,
        _ => false,
    };
    if !hex_ok {
        return None;
    }
    let mut n = 0u128;
    let mut digits = 0;
    for &c in b.iter().filter(|&&c| c != b'-' || b.len() == 32) {
        let d = char::from(c).to_digit(16)?;
        n = (n << 4) | u128::from(d);
        digits += 1;
    }
    (digits == 32).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::modifiers;

    const ID: &str = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

    fn pred(v: &str) -> Result<UuidPred, String> {
        UuidPred::compile(&modifiers(v))
    }

    #[test]
    fn equality_not_prefix() -> Result<(), String> {
        assert!(pred(ID)?.matches(ID));
        assert!(pred(&ID.to_uppercase())?.matches(ID));
        assert!(pred("6ba7b8109dad11d180b400c04fd430c8")?.matches(ID));
        assert!(pred(&format!("{{{ID}}}"))?.matches(ID));
        assert!(pred(&format!("\"{ID}\""))?.matches(ID));
        assert!(pred("6ba7b810").is_err(), "a prefix is not a UUID");
        assert!(pred("").is_err());
        assert!(!pred(ID)?.matches("not-a-uuid"));
        Ok(())
    }

    #[test]
    fn negation_and_regex() -> Result<(), String> {
        assert!(!pred(&format!("!{ID}"))?.matches(ID));
        assert!(pred(&format!("!{ID}"))?.matches("00000000-0000-0000-0000-000000000000"));
        assert!(pred("r/^6BA7")?.matches(ID));
        assert!(!pred("!r/^6ba7")?.matches(ID));
        Ok(())
    }

    #[test]
    fn malformed_uuids() {
        for s in [
            "6ba7b810-9dad-11d1-80b4-00c04fd430cg",
            "6ba7b8109-dad-11d1-80b4-00c04fd430c8",
            "6ba7b810-9dad-11d1-80b4-00c04fd430c",
            "6ba7b810-9dad-11d1-80b4-00c04fd430c8-",
            "----6ba7b8109dad11d180b400c04fd430c8",
        ] {
            assert_eq!(parse_uuid(s), None, "{s}");
        }
    }
}
