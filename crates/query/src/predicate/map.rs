//! Maps such as labels and annotations (StackRox `pkg/search/postgres/query/map_query.go`),
//! evaluated per map:
//!
//! - `key` or `key=`: the map has exactly this key (jsonb `?`: literal, case-sensitive; no
//!   prefix, quotes or regex in this form).
//! - `!key=`: the map lacks exactly this key.
//! - `=`: the map is not empty.
//! - `k=v`, `k=`… with a value, `=v`: some entry whose key matches `k` and whose value matches
//!   `v`, each a full string predicate (prefix, `"exact"`, `r/regex`, `!negated`), so `k=!v`
//!   is "an entry with key `k…` whose value does not start with `v`".
//! - `!k=v` (a negated key with a value) is an error, as in StackRox.
//!
//! The first `=` splits key from value; quotes do not protect it. `*` and `-` are not special
//! here (StackRox routes maps before its wildcard handling): they are literal keys.

use super::string::StrPred;
use crate::lexer::modifiers;
use crate::value::MapEntries;

#[derive(Debug, Clone)]
pub(crate) enum MapPred {
    HasKey(String),
    LacksKey(String),
    /// Some entry matches both (an absent side matches anything).
    Entry {
        key: Option<StrPred>,
        value: Option<StrPred>,
    },
}

impl MapPred {
    pub fn compile(raw: &str) -> Result<Self, String> {
        let (key, value) = raw.split_once('=').unwrap_or((raw, ""));
        let (key, key_negated) = match key.strip_prefix('!') {
            Some(key) => (key, true),
            None => (key, false),
        };
        if value.is_empty() && !key.is_empty() {
            return Ok(if key_negated {
                MapPred::LacksKey(key.to_owned())
            } else {
                MapPred::HasKey(key.to_owned())
            });
        }
        if key_negated {
            return Err("a negated key cannot have a value (use `key=!value` or `!key=`)".into());
        }
        let side = |s: &str| -> Result<Option<StrPred>, String> {
            if s.is_empty() {
                Ok(None)
            } else {
                StrPred::compile(&modifiers(s)).map(Some)
            }
        };
        Ok(MapPred::Entry {
            key: side(key)?,
            value: side(value)?,
        })
    }

    pub fn matches(&self, map: &dyn MapEntries) -> bool {
        match self {
            MapPred::HasKey(k) => map.any_entry(&mut |mk, _| mk == k),
            MapPred::LacksKey(k) => !map.any_entry(&mut |mk, _| mk == k),
            MapPred::Entry { key, value } => map.any_entry(&mut |mk, mv| {
                key.as_ref().is_none_or(|p| p.matches(mk))
                    && value.as_ref().is_none_or(|p| p.matches(mv))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<(&'static str, &'static str)> {
        vec![("app", "nginx"), ("tier", "Frontend"), ("team", "")]
    }

    fn m(q: &str) -> Result<bool, String> {
        Ok(MapPred::compile(q)?.matches(&labels()))
    }

    #[test]
    fn key_existence_is_literal() -> Result<(), String> {
        assert!(m("app=")?);
        assert!(m("app")?, "no `=` is the same as `key=`");
        assert!(!m("ap=")?, "existence is exact, not prefix");
        assert!(!m("APP=")?, "and case-sensitive");
        assert!(!m("!app=")?);
        assert!(m("!ap=")?);
        assert!(m("team=")?, "an empty value still has its key");
        Ok(())
    }

    #[test]
    fn non_empty_map() -> Result<(), String> {
        assert!(m("=")?);
        let empty: Vec<(&str, &str)> = Vec::new();
        assert!(!MapPred::compile("=")?.matches(&empty));
        assert!(MapPred::compile("!app=")?.matches(&empty));
        Ok(())
    }

    #[test]
    fn key_and_value_predicates() -> Result<(), String> {
        assert!(m("app=ngi")?, "value by prefix");
        assert!(m("ap=ngi")?, "key by prefix when a value is given");
        assert!(m("tier=front")?, "case-insensitive prefix");
        assert!(!m("app=front")?, "key and value must match the same entry");
        assert!(m("=front")?);
        assert!(!m("=back")?);
        assert!(m("\"tier\"=\"Frontend\"")?);
        assert!(!m("\"tie\"=Frontend")?);
        assert!(m("r/^t.*r$=r/end$")?);
        assert!(m("app=!redis")?, "value negation per entry");
        assert!(!m("app=!ngi")?);
        assert!(m("tier=!ngi")?);
        Ok(())
    }

    #[test]
    fn unsupported_forms_are_errors() {
        for q in ["!app=nginx", "!=", "!=x", "!", "app=r/(", "app=!!x"] {
            assert!(MapPred::compile(q).is_err(), "{q}");
        }
    }

    #[test]
    fn wildcards_are_literal_keys() -> Result<(), String> {
        assert!(!m("*")?);
        let star = vec![("*", "x")];
        assert!(MapPred::compile("*")?.matches(&star));
        Ok(())
    }
}
