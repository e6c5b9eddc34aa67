//! The query's surface syntax, exactly as StackRox's `pkg/search/parser.go` cuts it
//! (`splitQuery`, `parsePair`, `splitCommaSeparatedValues`, `GetValueAndModifiersFromString`).
//! Nothing here knows field kinds.

/// A raw pair: where it starts in the query, and its text.
pub(crate) struct RawPair<'q> {
    pub offset: usize,
    pub text: &'q str,
}

/// Splits a query into pairs. A `+` separates pairs only when an unquoted `:` follows it before
/// the next split (`Image:a+b+CVE:x` is `Image:a+b` and `CVE:x`); a `+` at byte 0 never does,
/// and double quotes hide `+` and `:` (StackRox's `splitQuery`). Calls `each` per pair and stops
/// early when it returns `false`.
pub(crate) fn split_pairs<'q>(query: &'q str, mut each: impl FnMut(RawPair<'q>) -> bool) {
    let (mut previous_end, mut previous_plus) = (0usize, 0usize);
    let mut quoted = false;
    for (i, c) in query.char_indices() {
        match c {
            '"' => quoted = !quoted,
            _ if quoted => {}
            ':' if previous_plus != 0 => {
                // A second `:` after the same `+` belongs to the value.
                if previous_end > previous_plus {
                    continue;
                }
                let text = query.get(previous_end..previous_plus).unwrap_or_default();
                if !each(RawPair {
                    offset: previous_end,
                    text,
                }) {
                    return;
                }
                previous_end = previous_plus + 1;
            }
            '+' => previous_plus = i,
            _ => {}
        }
    }
    each(RawPair {
        offset: previous_end,
        text: query.get(previous_end..).unwrap_or_default(),
    });
}

/// `key:values`, both trimmed; `None` for a pair without `:` or with nothing after it, which
/// StackRox skips silently (`parsePair`). The first `:` splits, quoted or not.
pub(crate) fn split_pair(pair: &str) -> Option<(&str, &str)> {
    let (key, values) = pair.trim().split_once(':')?;
    // StackRox tests emptiness before trimming and then indexes the empty string (a panic);
    // skipping the pair is what it means to do.
    let values = values.trim();
    if values.is_empty() {
        return None;
    }
    Some((key.trim(), values))
}

/// Splits comma-separated values; double quotes hide commas. A trailing comma yields an empty
/// last value, as in StackRox. Values are not trimmed (StackRox does not trim them either).
pub(crate) fn split_values<'v>(values: &'v str, mut each: impl FnMut(&'v str) -> bool) {
    let mut start = 0usize;
    let mut quoted = false;
    for (i, c) in values.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                if !each(values.get(start..i).unwrap_or_default()) {
                    return;
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    each(values.get(start..).unwrap_or_default());
}

/// The leading modifier that negates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Negation {
    /// `!`
    Not,
    /// `!!` ("at least one"): StackRox parses it but its Postgres search panics on it; berth
    /// rejects it.
    AtLeastOne,
}

/// The modifier that changes how a value matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Match {
    /// `r/…`: the rest is a regex, lowercased as StackRox lowercases it.
    Regex,
    /// `"…"`: the inside, exact.
    Exact,
}

/// A value with its modifiers taken off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Modified {
    pub negation: Option<Negation>,
    pub matching: Option<Match>,
    pub value: String,
}

impl Modified {
    pub fn has_any(&self) -> bool {
        self.negation.is_some() || self.matching.is_some()
    }
}

/// StackRox's `GetValueAndModifiersFromString`: at most one of `!!`/`!`, then at most one of
/// `r/` (whose rest is lowercased and taken as is) or surrounding quotes (whose inside is
/// taken as is). A modifier needs something after it: `!` alone is the text `!`.
pub(crate) fn modifiers(raw: &str) -> Modified {
    let mut value = raw;
    let mut negation = None;
    let mut matching = None;
    loop {
        if negation.is_none() && value.len() > 2 && value.starts_with("!!") {
            value = &value[2..];
            negation = Some(Negation::AtLeastOne);
        } else if negation.is_none() && value.len() > 1 && value.starts_with('!') {
            value = &value[1..];
            negation = Some(Negation::Not);
        } else if value.len() > 2 && value.starts_with("r/") {
            matching = Some(Match::Regex);
            return Modified {
                negation,
                matching,
                value: value[2..].to_lowercase(),
            };
        } else if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            matching = Some(Match::Exact);
            value = &value[1..value.len() - 1];
            break;
        } else {
            break;
        }
    }
    Modified {
        negation,
        matching,
        value: value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<&str> {
        let mut out = Vec::new();
        split_pairs(q, |p| {
            out.push(p.text);
            true
        });
        out
    }

    fn values(v: &str) -> Vec<&str> {
        let mut out = Vec::new();
        split_values(v, |x| {
            out.push(x);
            true
        });
        out
    }

    #[test]
    fn plus_splits_only_before_a_later_colon() {
        assert_eq!(pairs("Image:a+b+CVE:x"), ["Image:a+b", "CVE:x"]);
        assert_eq!(pairs("Image:a+b"), ["Image:a+b"]);
        assert_eq!(pairs("Image:a+b:c"), ["Image:a", "b:c"]);
        // The second colon after one `+` stays in the value.
        assert_eq!(pairs("A:x+B:y:z"), ["A:x", "B:y:z"]);
        // A `+` at byte 0 is never a separator.
        assert_eq!(pairs("+A:x"), ["+A:x"]);
        assert_eq!(pairs(""), [""]);
    }

    #[test]
    fn quotes_hide_plus_colon_and_comma() {
        assert_eq!(
            pairs(r#"Deployment:f1,"f12+some:thing",f13 + Category:"f2+x""#),
            [
                r#"Deployment:f1,"f12+some:thing",f13 "#,
                r#" Category:"f2+x""#
            ]
        );
        assert_eq!(
            values(r#"f1,"f12+some,thi:ng",f13"#),
            ["f1", r#""f12+some,thi:ng""#, "f13"]
        );
    }

    #[test]
    fn pair_needs_a_colon_and_a_value() {
        assert_eq!(
            split_pair(" Deployment : a,b "),
            Some(("Deployment", "a,b"))
        );
        assert_eq!(split_pair("Deployment"), None);
        assert_eq!(split_pair("Deployment:"), None);
        assert_eq!(split_pair("Deployment:  "), None);
        assert_eq!(split_pair("A:b:c"), Some(("A", "b:c")));
    }

    #[test]
    fn trailing_comma_is_an_empty_value() {
        assert_eq!(values("a,"), ["a", ""]);
        assert_eq!(values(",a"), ["", "a"]);
        assert_eq!(values("a, b"), ["a", " b"]);
    }

    #[test]
    fn modifier_grammar() {
        let m = modifiers("!r/AbC");
        assert_eq!(
            (m.negation, m.matching, m.value.as_str()),
            (Some(Negation::Not), Some(Match::Regex), "abc")
        );
        let m = modifiers(r#"!"x""#);
        assert_eq!(
            (m.negation, m.matching, m.value.as_str()),
            (Some(Negation::Not), Some(Match::Exact), "x")
        );
        let m = modifiers(r#""!x""#);
        assert_eq!(
            (m.negation, m.matching, m.value.as_str()),
            (None, Some(Match::Exact), "!x")
        );
        let m = modifiers("!!x");
        assert_eq!(m.negation, Some(Negation::AtLeastOne));
        // Too short to carry a modifier: plain text.
        assert!(!modifiers("!").has_any());
        assert!(!modifiers("r/").has_any());
        assert!(!modifiers("\"").has_any());
        let m = modifiers("!!");
        assert_eq!((m.negation, m.value.as_str()), (Some(Negation::Not), "!"));
        let m = modifiers("\"\"");
        assert_eq!((m.matching, m.value.as_str()), (Some(Match::Exact), ""));
        // Only one negation: the second `!` is text.
        let m = modifiers("!r/!x");
        assert_eq!(m.value, "!x");
    }
}
