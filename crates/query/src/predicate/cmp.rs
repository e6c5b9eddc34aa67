//! Comparator prefixes (`<`, `<=`, `>`, `>=`, `=`, `==`) shared by the ordered kinds.
use std::cmp::Ordering;

/// A comparator prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl Cmp {
    /// Takes a leading comparator off, longest first (`<=` before `<`); `=` and `==` are both
    /// equality. What follows a comparator is trimmed, as StackRox trims it.
    pub fn split(s: &str) -> (Option<Cmp>, &str) {
        const PREFIXES: [(&str, Cmp); 6] = [
            ("<=", Cmp::Le),
            (">=", Cmp::Ge),
            ("==", Cmp::Eq),
            ("<", Cmp::Lt),
            (">", Cmp::Gt),
            ("=", Cmp::Eq),
        ];
        for (prefix, cmp) in PREFIXES {
            if let Some(rest) = s.strip_prefix(prefix) {
                return (Some(cmp), rest.trim());
            }
        }
        (None, s)
    }

    /// Whether `value <cmp> bound`, given `value.cmp(bound)`; an unordered pair (NaN) never.
    pub fn test(self, ord: Option<Ordering>) -> bool {
        matches!(
            (self, ord),
            (Cmp::Lt, Some(Ordering::Less))
                | (Cmp::Le, Some(Ordering::Less | Ordering::Equal))
                | (Cmp::Gt, Some(Ordering::Greater))
                | (Cmp::Ge, Some(Ordering::Greater | Ordering::Equal))
                | (Cmp::Eq, Some(Ordering::Equal))
        )
    }

    /// For an age (`>30d`, "older than"), the comparator on the instant: StackRox's
    /// `invertNumericPrefix` (`<`↔`>=`, `>`↔`<=`).
    pub fn inverted_for_age(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Ge,
            Cmp::Ge => Cmp::Lt,
            Cmp::Gt => Cmp::Le,
            Cmp::Le => Cmp::Gt,
            Cmp::Eq => Cmp::Eq,
        }
    }
}
