//! RubyGems' `Gem::Version` ordering (rubygems 3.x `<=>` over canonical segments). Written here:
//! small, and no crate implements it.
use std::cmp::Ordering;

use crate::error::VersionError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Seg {
    /// Digits without leading zeros.
    Num(String),
    Str(String),
}

/// A parsed gem version; `Ord` is RubyGems' ordering.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    segs: Vec<Seg>,
}

fn is_correct(s: &str) -> bool {
    // \A\s*([0-9]+(?>\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*\z
    let t = s.trim();
    if t.is_empty() {
        return true;
    }
    let (main, pre) = match t.split_once('-') {
        Some((m, p)) => (m, Some(p)),
        None => (t, None),
    };
    let mut parts = main.split('.');
    let first = parts.next().unwrap_or("");
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    if !parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return false;
    }
    match pre {
        None => true,
        Some(p) => p
            .split('.')
            .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')),
    }
}

impl Version {
    pub fn parse(s: &str) -> Result<Version, VersionError> {
        if !is_correct(s) {
            return Err(VersionError::new(
                "rubygems",
                s,
                "malformed version number string",
            ));
        }
        let v = s.trim().replace('-', ".pre.");
        let v = if v.is_empty() { "0".to_owned() } else { v };
        let mut raw = Vec::new();
        let b = v.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let st = i;
            if b[i].is_ascii_digit() {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                raw.push(Seg::Num(v[st..i].trim_start_matches('0').to_owned()));
            } else if b[i].is_ascii_alphabetic() {
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                raw.push(Seg::Str(v[st..i].to_owned()));
            } else {
                i += 1;
            }
        }
        // canonical_segments: drop trailing zeros of the numeric prefix and of the rest.
        let split = raw
            .iter()
            .position(|s| matches!(s, Seg::Str(_)))
            .unwrap_or(raw.len());
        let mut rest = raw.split_off(split);
        let zero = |s: &Seg| matches!(s, Seg::Num(d) if d.is_empty());
        while raw.last().is_some_and(zero) {
            raw.pop();
        }
        while rest.last().is_some_and(zero) {
            rest.pop();
        }
        raw.extend(rest);
        Ok(Version { segs: raw })
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Seg::Num(String::new());
        let n = self.segs.len().max(other.segs.len());
        for i in 0..n {
            let l = self.segs.get(i).unwrap_or(&zero);
            let r = other.segs.get(i).unwrap_or(&zero);
            let o = match (l, r) {
                (Seg::Num(a), Seg::Num(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
                (Seg::Str(_), Seg::Num(_)) => Ordering::Less,
                (Seg::Num(_), Seg::Str(_)) => Ordering::Greater,
                (Seg::Str(a), Seg::Str(b)) => a.cmp(b),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
