//! Numbers (StackRox `pkg/search/postgres/query/numeric_query.go`): `<`, `<=`, `>`, `>=`, `=`,
//! `==` or none (equality), and `a-b`, which is exclusive at both ends (`col > a AND col < b`)
//! and needs `a < b`. Query numbers are rounded to two decimals, as StackRox formats them
//! (`readable.Float(v, 2)`) before handing them to SQL.

use super::cmp::Cmp;
use crate::lexer::Modified;

/// Longer than any sensible number; bounds the work `f64` parsing can be asked to do.
pub(crate) const MAX_NUMBER_LEN: usize = 64;
/// Larger magnitudes are absurd for any field here and are refused, not rounded.
pub(crate) const MAX_ABS_NUMBER: f64 = 1e15;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NumPred {
    Cmp(Cmp, f64),
    /// Exclusive at both ends.
    Range(f64, f64),
}

impl NumPred {
    pub fn compile(m: &Modified) -> Result<Self, String> {
        if m.has_any() {
            return Err("modifiers (`!`, `r/`, quotes) are not supported for numbers".into());
        }
        let (cmp, rest) = Cmp::split(&m.value);
        match cmp {
            Some(cmp) => Ok(NumPred::Cmp(cmp, parse_number(rest)?)),
            None => match split_range(rest) {
                Some((lo, hi)) => {
                    let (lo, hi) = (parse_number(lo), parse_number(hi));
                    let (lo, hi) = match (lo, hi) {
                        (Ok(lo), Ok(hi)) => (lo, hi),
                        (Err(e), _) | (_, Err(e)) => return Err(format!("invalid range ({e})")),
                    };
                    if lo >= hi {
                        return Err(
                            "invalid range (the first value must be less than the second)".into(),
                        );
                    }
                    Ok(NumPred::Range(lo, hi))
                }
                None => Ok(NumPred::Cmp(Cmp::Eq, parse_number(rest)?)),
            },
        }
    }

    pub fn matches(&self, v: f64) -> bool {
        match *self {
            NumPred::Cmp(cmp, q) => cmp.test(v.partial_cmp(&q)),
            NumPred::Range(lo, hi) => v > lo && v < hi,
        }
    }
}

/// `a-b` at the first `-` after the first character (so `-5` is a number, `-5--3` a range).
/// Like StackRox, `1e-5` is therefore a (broken) range, not a number.
pub(crate) fn split_range(s: &str) -> Option<(&str, &str)> {
    let i = s.char_indices().skip(1).find(|&(_, c)| c == '-')?.0;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// A finite number of sensible size and length, rounded to two decimals.
pub(crate) fn parse_number(s: &str) -> Result<f64, String> {
    if s.len() > MAX_NUMBER_LEN {
        return Err(format!(
            "a number may have at most {MAX_NUMBER_LEN} characters"
        ));
    }
    let v: f64 = s
        .parse()
        .map_err(|_| format!("cannot parse {s:?} as a number"))?;
    if !v.is_finite() || v.abs() > MAX_ABS_NUMBER {
        return Err(format!(
            "{s:?} is out of range (at most {MAX_ABS_NUMBER:e} in magnitude)"
        ));
    }
    // StackRox formats the bound with two decimals before SQL compares; do the same.
    format!("{v:.2}")
        .parse()
        .map_err(|_| format!("cannot parse {s:?} as a number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::modifiers;

    fn pred(v: &str) -> Result<NumPred, String> {
        NumPred::compile(&modifiers(v))
    }

    #[test]
    fn comparators() -> Result<(), String> {
        assert!(pred(">7")?.matches(7.5));
        assert!(!pred(">7")?.matches(7.0));
        assert!(pred(">=7")?.matches(7.0));
        assert!(pred("<7")?.matches(6.9));
        assert!(!pred("<7")?.matches(7.0));
        assert!(pred("<=7")?.matches(7.0));
        assert!(pred("=7")?.matches(7.0));
        assert!(pred("==7")?.matches(7.0));
        assert!(pred("7")?.matches(7.0));
        assert!(!pred("7")?.matches(7.1));
        assert!(
            pred(">= 7")?.matches(7.0),
            "space after a comparator is trimmed"
        );
        assert!(pred("-1.5")?.matches(-1.5));
        Ok(())
    }

    #[test]
    fn ranges_are_exclusive() -> Result<(), String> {
        let p = pred("5-7")?;
        assert!(p.matches(6.0));
        assert!(!p.matches(5.0));
        assert!(!p.matches(7.0));
        assert!(pred("-5--3")?.matches(-4.0));
        assert!(pred("7-5").is_err());
        assert!(pred("5-5").is_err());
        assert!(pred("5-x").is_err());
        // As in StackRox: an exponent's minus reads as a range.
        assert!(pred("1e-5").is_err());
        Ok(())
    }

    #[test]
    fn bounds_round_to_two_decimals() -> Result<(), String> {
        assert!(pred("7.254")?.matches(7.25));
        assert!(!pred(">7.256")?.matches(7.258), "the bound is 7.26");
        Ok(())
    }

    #[test]
    fn absurd_numbers_are_errors() {
        for v in [
            "1e300",
            "inf",
            "NaN",
            "-infinity",
            "abc",
            "",
            "1e16",
            &"1".repeat(65),
        ] {
            assert!(pred(v).is_err(), "{v}");
        }
        for v in ["!7", "r/7", "\"7\""] {
            assert!(pred(v).is_err(), "{v}");
        }
    }
}
