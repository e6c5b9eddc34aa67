//! Maven's `ComparableVersion` (maven-artifact 3.8.x, as in Debian's libmaven3-core-java, with
//! MNG-6964 and the `.X` = `-X` qualifier rule), ported item by item: a version is a list
//! of int, string and sub-list items; `-` and digit/letter transitions open sub-lists; known
//! qualifiers order `alpha` < `beta` < `milestone` < `rc` = `cr` < `snapshot` < `` = `ga` =
//! `final` = `release` < `sp` < unknown (lexical). No crate implements it exactly.
use std::cmp::Ordering;

use crate::error::VersionError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Item {
    /// A number without leading zeros (arbitrary size, compared as a number).
    Int(String),
    Str(String),
    List(Vec<Item>),
}

/// A parsed Maven version. Every string parses (as in Maven); `Ord` is Maven's ordering.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    items: Vec<Item>,
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

fn comparable_qualifier(q: &str) -> String {
    match QUALIFIERS.iter().position(|x| *x == q) {
        Some(i) => i.to_string(),
        None => format!("{}-{}", QUALIFIERS.len(), q),
    }
}

const RELEASE_INDEX: &str = "5";

fn string_item(value: &str, followed_by_digit: bool) -> Item {
    let mut v = value;
    if followed_by_digit && value.len() == 1 {
        v = match value {
            "a" => "alpha",
            "b" => "beta",
            "m" => "milestone",
            _ => value,
        };
    }
    let v = match v {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Str(v.to_owned())
}

fn int_item(digits: &str) -> Item {
    let t = digits.trim_start_matches('0');
    Item::Int(t.to_owned())
}

fn parse_item(is_digit: bool, buf: &str) -> Item {
    if is_digit {
        int_item(buf)
    } else {
        string_item(buf, false)
    }
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(d) => d.is_empty(),
            Item::Str(s) => comparable_qualifier(s) == RELEASE_INDEX,
            Item::List(l) => l.is_empty(),
        }
    }

    fn cmp_opt(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Int(d), None) => {
                if d.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Int(a), Some(Item::Int(b))) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Item::Int(_), Some(_)) => Ordering::Greater,
            (Item::Str(s), None) => comparable_qualifier(s).as_str().cmp(RELEASE_INDEX),
            (Item::Str(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::Str(a), Some(Item::Str(b))) => {
                comparable_qualifier(a).cmp(&comparable_qualifier(b))
            }
            (Item::Str(_), Some(Item::List(_))) => Ordering::Less,
            // MNG-6964 (Maven 3.8): the whole list is compared with null, not its first item.
            (Item::List(l), None) => l
                .iter()
                .map(|i| i.cmp_opt(None))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal),
            (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
            (Item::List(a), Some(Item::List(b))) => cmp_lists(a, b),
        }
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    let n = a.len().max(b.len());
    for k in 0..n {
        let r = match (a.get(k), b.get(k)) {
            (None, None) => Ordering::Equal,
            (None, Some(r)) => r.cmp_opt(None).reverse(),
            (Some(l), r) => l.cmp_opt(r),
        };
        if r != Ordering::Equal {
            return r;
        }
    }
    Ordering::Equal
}

fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

/// Builds the nested list: `path` holds the open lists, innermost last.
struct Builder {
    stack: Vec<Vec<Item>>,
}

impl Builder {
    fn add(&mut self, item: Item) {
        if let Some(top) = self.stack.last_mut() {
            top.push(item);
        }
    }
    fn top_is_nonempty(&self) -> bool {
        self.stack.last().is_some_and(|l| !l.is_empty())
    }
    fn open(&mut self) {
        self.stack.push(Vec::new());
    }
    fn finish(mut self) -> Vec<Item> {
        // Close the innermost lists: each normalised, then appended to its parent.
        while self.stack.len() > 1 {
            let mut inner = self.stack.pop().unwrap_or_default();
            normalize(&mut inner);
            self.add(Item::List(inner));
        }
        let mut root = self.stack.pop().unwrap_or_default();
        normalize(&mut root);
        root
    }
}

impl Version {
    /// Parses like `ComparableVersion(String)`; never fails for non-empty input.
    pub fn parse(s: &str) -> Result<Version, VersionError> {
        if s.trim().is_empty() {
            return Err(VersionError::new("maven", s, "empty version"));
        }
        Ok(Version {
            items: parse_items(s),
        })
    }
}

fn parse_items(version: &str) -> Vec<Item> {
    let version = version.to_lowercase();
    let chars: Vec<(usize, char)> = version.char_indices().collect();
    let mut b = Builder {
        stack: vec![Vec::new()],
    };
    let mut is_digit = false;
    let mut start = 0usize; // byte index
    for &(i, c) in &chars {
        if c == '.' {
            if i == start {
                b.add(Item::Int(String::new()));
            } else {
                b.add(parse_item(is_digit, &version[start..i]));
            }
            start = i + 1;
        } else if c == '-' {
            if i == start {
                b.add(Item::Int(String::new()));
            } else {
                b.add(parse_item(is_digit, &version[start..i]));
            }
            start = i + 1;
            b.open();
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                // 1.0.0.X1 < 1.0.0-X2: a qualifier after `.` is treated like one after `-`.
                if b.top_is_nonempty() {
                    b.open();
                }
                b.add(string_item(&version[start..i], true));
                start = i;
                b.open();
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                b.add(parse_item(true, &version[start..i]));
                start = i;
                b.open();
            }
            is_digit = false;
        }
    }
    if version.len() > start {
        if !is_digit && b.top_is_nonempty() {
            b.open();
        }
        b.add(parse_item(is_digit, &version[start..]));
    }
    b.finish()
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_lists(&self.items, &other.items)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
