//! Proto enums (StackRox `pkg/search/postgres/query/enum_query.go` over `enumregistry`): a
//! value names variants by case-insensitive prefix of their names; a comparator compares
//! ordinals with each variant named (`>=IMPORTANT` is IMPORTANT and above); `!v` is the
//! complement of the prefix set, `r/v` the variants whose name the regex finds, `"v"` the exact
//! name, and `!r/v`, `!"v"` their complements. A plain prefix naming nothing matches nothing;
//! a modified value naming nothing is an error, as in StackRox.

use super::cmp::Cmp;
use super::string::compile_regex;
use crate::lexer::{Match, Modified, Negation};

/// The set of ordinals that match, indexed by ordinal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnumPred(Box<[bool]>);

impl EnumPred {
    pub fn compile(variants: &[&str], m: &Modified) -> Result<Self, String> {
        let value = m.value.to_lowercase();
        let named = |f: &dyn Fn(&str) -> bool| -> Vec<bool> {
            variants
                .iter()
                .map(|v| f(&v.to_ascii_lowercase()))
                .collect()
        };
        let negated = match m.negation {
            None => false,
            Some(Negation::Not) => true,
            Some(Negation::AtLeastOne) => {
                return Err("the `!!` (at least one) modifier is not supported".into());
            }
        };
        let mut set = match m.matching {
            None if !negated => {
                let (cmp, rest) = Cmp::split(&value);
                let hits = named(&|name| name.starts_with(rest));
                return Ok(EnumPred(match cmp {
                    None | Some(Cmp::Eq) => hits.into(),
                    Some(cmp) => (0..variants.len())
                        .map(|i| {
                            hits.iter()
                                .enumerate()
                                .any(|(j, &hit)| hit && cmp.test(Some(i.cmp(&j))))
                        })
                        .collect(),
                }));
            }
            None => named(&|name| name.starts_with(value.as_str())),
            Some(Match::Exact) => named(&|name| name == value),
            Some(Match::Regex) => {
                let re = compile_regex(&value)?;
                named(&|name| re.is_match(name))
            }
        };
        if negated {
            set.iter_mut().for_each(|b| *b = !*b);
        }
        if !set.contains(&true) {
            return Err(format!(
                "names no value of the enum ({})",
                variants.join(", ")
            ));
        }
        Ok(EnumPred(set.into()))
    }

    pub fn matches(&self, ordinal: u32) -> bool {
        usize::try_from(ordinal)
            .ok()
            .and_then(|i| self.0.get(i))
            .copied()
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::modifiers;
    use crate::schema::SEVERITIES;

    fn pred(v: &str) -> Result<EnumPred, String> {
        EnumPred::compile(SEVERITIES, &modifiers(v))
    }

    fn set(p: &EnumPred) -> Vec<u32> {
        (0..6).filter(|&o| p.matches(o)).collect()
    }

    #[test]
    fn prefix_names_variants_case_insensitively() -> Result<(), String> {
        assert_eq!(set(&pred("crit")?), [4]);
        assert_eq!(set(&pred("IMPORTANT_VULNERABILITY_SEVERITY")?), [3]);
        assert_eq!(set(&pred("")?), [0, 1, 2, 3, 4]);
        assert_eq!(set(&pred("nope")?), Vec::<u32>::new(), "no error, no match");
        Ok(())
    }

    #[test]
    fn comparators_compare_ordinals() -> Result<(), String> {
        assert_eq!(set(&pred(">=IMPORTANT_VULNERABILITY_SEVERITY")?), [3, 4]);
        assert_eq!(set(&pred(">imp")?), [4]);
        assert_eq!(set(&pred("<moderate")?), [0, 1]);
        assert_eq!(set(&pred("<=low")?), [0, 1]);
        assert_eq!(set(&pred("=low")?), [1]);
        assert_eq!(set(&pred("==low")?), [1]);
        Ok(())
    }

    #[test]
    fn modifiers_select_and_complement() -> Result<(), String> {
        assert_eq!(set(&pred("!low")?), [0, 2, 3, 4]);
        assert_eq!(set(&pred("r/^(low|crit)")?), [1, 4]);
        assert_eq!(set(&pred("!r/^(low|crit)")?), [0, 2, 3]);
        assert_eq!(set(&pred("\"LOW_vulnerability_severity\"")?), [1]);
        assert_eq!(set(&pred("!\"low_vulnerability_severity\"")?), [0, 2, 3, 4]);
        assert!(
            pred("\"low\"").is_err(),
            "an exact name naming nothing is an error"
        );
        assert!(pred("r/^x").is_err());
        assert!(pred("!!low").is_err());
        assert!(pred("r/(").is_err());
        Ok(())
    }
}
