//! dpkg version ordering (deb-version(7), dpkg's `verrevcmp`), written here because the only
//! crate implementing it is GPL-licensed.
//!
//! `[epoch:]upstream[-revision]`: the epoch is the part before the first `:`, the revision the
//! part after the last `-`. Each part is compared by alternating non-digit and digit runs; in
//! non-digit runs letters sort before non-letters, `~` before everything (even the end of the
//! string); digit runs compare numerically.
use std::cmp::Ordering;

use crate::error::VersionError;

/// A parsed dpkg version. `Ord` is dpkg's ordering.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    epoch: String,
    upstream: String,
    revision: String,
}

impl Version {
    /// Parses a version, rejecting what dpkg rejects: an empty version, whitespace, a
    /// non-numeric epoch, an empty upstream part or an empty revision after a `-`.
    pub fn parse(s: &str) -> Result<Version, VersionError> {
        let err = |r: &str| VersionError::new("dpkg", s, r);
        let t = s.trim();
        if t.is_empty() {
            return Err(err("empty version"));
        }
        if t.chars().any(char::is_whitespace) {
            return Err(err("embedded whitespace"));
        }
        let (epoch, rest) = match t.split_once(':') {
            Some((e, r)) => {
                if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("epoch is not a number"));
                }
                (e, r)
            }
            None => ("0", t),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((u, r)) => {
                if r.is_empty() {
                    return Err(err("empty revision"));
                }
                (u, r)
            }
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(err("empty upstream version"));
        }
        if !upstream.as_bytes()[0].is_ascii_digit() {
            return Err(err("upstream version does not start with a digit"));
        }
        Ok(Version {
            epoch: epoch.to_owned(),
            upstream: upstream.to_owned(),
            revision: revision.to_owned(),
        })
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        verrevcmp(&self.epoch, &other.epoch)
            .then_with(|| verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| verrevcmp(&self.revision, &other.revision))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp` on one part of a version.
pub fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() || j < b.len() {
        let mut first_diff = 0i32;
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied());
            let bc = order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == 0 {
                first_diff = i32::from(a[i]) - i32::from(b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}
