//! NuGet version ordering (NuGet.Versioning `VersionComparer.VersionRelease`): up to four
//! numeric parts, then release > pre-release, pre-release labels compared numerically when both
//! are numeric and case-insensitively otherwise; metadata ignored. Written here.
use std::cmp::Ordering;

use crate::error::VersionError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    nums: [u64; 4],
    pre: Vec<String>,
}

impl Version {
    pub fn parse(s: &str) -> Result<Version, VersionError> {
        let err = |r: &str| VersionError::new("nuget", s, r);
        let t = s.trim();
        let t = t.split_once('+').map_or(t, |(a, _)| a);
        let (core, pre) = match t.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (t, None),
        };
        let mut nums = [0u64; 4];
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 4 {
            return Err(err("expected 1 to 4 numeric parts"));
        }
        for (slot, p) in nums.iter_mut().zip(&parts) {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("non-numeric part"));
            }
            *slot = p.parse().map_err(|_| err("number too large"))?;
        }
        let pre = match pre {
            None => Vec::new(),
            Some(p) => {
                let labels: Vec<String> = p.split('.').map(str::to_owned).collect();
                if labels.iter().any(|l| {
                    l.is_empty() || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                }) {
                    return Err(err("bad pre-release label"));
                }
                labels
            }
        };
        Ok(Version { nums, pre })
    }
}

fn cmp_label(a: &str, b: &str) -> Ordering {
    let an = a.bytes().all(|c| c.is_ascii_digit());
    let bn = b.bytes().all(|c| c.is_ascii_digit());
    match (an, bn) {
        (true, true) => {
            let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
            a.len().cmp(&b.len()).then_with(|| a.cmp(b))
        }
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase()),
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nums
            .cmp(&other.nums)
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&other.pre) {
                        let o = cmp_label(a, b);
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    self.pre.len().cmp(&other.pre.len())
                }
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
