//! apk version ordering, ported from apk-tools' `version.c` (the same algorithm as the Go port
//! `knqyf263/go-apk-version`, whose copy of apk-tools' `version.data` vectors is a fixture).
//! No Rust crate implements it.
//!
//! Grammar: `digits{.digits}[letter]{_suffix[digits]}[-rN]`, suffixes `alpha` < `beta` < `pre`
//! < `rc` < (none) < `cvs` < `svn` < `git` < `hg` < `p`.
//!
//! Quirk kept on purpose (apk-tools 2.x behaves so, and its vectors expect it): a component
//! made only of zeros is followed by an implicit digit token, so `1.0_rc1` sorts *after*
//! `1.0` while `1.1_rc1` sorts before `1.1`.
use std::cmp::Ordering;

use crate::error::VersionError;

/// A valid apk version. `Ord` is apk's ordering.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    pub fn parse(s: &str) -> Result<Version, VersionError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(VersionError::new("apk", s, "empty version"));
        }
        if !valid(t) {
            return Err(VersionError::new("apk", s, "not an apk version"));
        }
        Ok(Version(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(&self.0, &other.0)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    Invalid,
    DigitOrZero,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    RevisionNo,
    End,
}

const PRE: [&[u8]; 4] = [b"alpha", b"beta", b"pre", b"rc"];
const POST: [&[u8]; 5] = [b"cvs", b"svn", b"git", b"hg", b"p"];

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn next_token(&mut self, ty: Tok) -> Tok {
        let mut n = Tok::Invalid;
        match self.s.get(self.pos).copied() {
            None => n = Tok::End,
            Some(c) if (ty == Tok::Digit || ty == Tok::DigitOrZero) && c.is_ascii_lowercase() => {
                n = Tok::Letter
            }
            Some(c) if ty == Tok::Letter && c.is_ascii_digit() => n = Tok::Digit,
            Some(c) if ty == Tok::Suffix && c.is_ascii_digit() => n = Tok::SuffixNo,
            Some(c) => {
                match c {
                    b'.' => n = Tok::DigitOrZero,
                    b'_' => n = Tok::Suffix,
                    b'-' if self.s.get(self.pos + 1) == Some(&b'r') => {
                        n = Tok::RevisionNo;
                        self.pos += 1;
                    }
                    _ => {}
                }
                self.pos += 1;
            }
        }
        if n < ty
            && !((n == Tok::DigitOrZero && ty == Tok::Digit)
                || (n == Tok::Suffix && ty == Tok::SuffixNo)
                || (n == Tok::Digit && ty == Tok::Letter))
        {
            n = Tok::Invalid;
        }
        n
    }

    /// Reads the value of a token of type `ty`; returns it and the type of the next token.
    fn get_token(&mut self, ty: Tok) -> (i64, Tok) {
        let rest = &self.s[self.pos.min(self.s.len())..];
        if rest.is_empty() {
            return (0, Tok::End);
        }
        let mut nt = Tok::Invalid;
        let mut v: i64 = 0;
        let mut i = 0usize;
        match ty {
            Tok::DigitOrZero if rest[0] == b'0' => {
                while i < rest.len() && rest[i] == b'0' {
                    i += 1;
                }
                nt = Tok::Digit;
                v = -(i as i64);
            }
            Tok::DigitOrZero | Tok::Digit | Tok::SuffixNo | Tok::RevisionNo => {
                while i < rest.len() && rest[i].is_ascii_digit() {
                    v = v.wrapping_mul(10).wrapping_add(i64::from(rest[i] - b'0'));
                    i += 1;
                }
            }
            Tok::Letter => {
                v = i64::from(rest[0]);
                i = 1;
            }
            Tok::Suffix => {
                if let Some(k) = PRE.iter().position(|p| rest.starts_with(p)) {
                    i = PRE[k].len();
                    v = k as i64 - PRE.len() as i64;
                } else if let Some(k) = POST.iter().position(|p| rest.starts_with(p)) {
                    i = POST[k].len();
                    v = k as i64;
                } else {
                    return (-1, Tok::Invalid);
                }
            }
            Tok::Invalid | Tok::End => return (-1, Tok::Invalid),
        }
        self.pos += i;
        let next = if self.pos >= self.s.len() {
            Tok::End
        } else if nt != Tok::Invalid {
            nt
        } else {
            self.next_token(ty)
        };
        (v, next)
    }
}

/// Whether `s` is a valid apk version.
pub fn valid(s: &str) -> bool {
    let mut c = Cursor {
        s: s.as_bytes(),
        pos: 0,
    };
    let mut t = Tok::Digit;
    while t != Tok::End && t != Tok::Invalid {
        t = c.get_token(t).1;
    }
    t == Tok::End
}

/// apk-tools' comparison, defined on any two strings (invalid ones included, as apk does).
pub fn compare(a: &str, b: &str) -> Ordering {
    let mut ca = Cursor {
        s: a.as_bytes(),
        pos: 0,
    };
    let mut cb = Cursor {
        s: b.as_bytes(),
        pos: 0,
    };
    let (mut at, mut bt) = (Tok::Digit, Tok::Digit);
    let (mut av, mut bv) = (0i64, 0i64);
    while at == bt && at != Tok::End && at != Tok::Invalid && av == bv {
        (av, at) = ca.get_token(at);
        (bv, bt) = cb.get_token(bt);
    }
    if av != bv {
        return av.cmp(&bv);
    }
    if at == bt {
        return Ordering::Equal;
    }
    // Leading components equal: the longer version is greater unless what follows is a
    // pre-release suffix.
    if at == Tok::Suffix && ca.get_token(at).0 < 0 {
        return Ordering::Less;
    }
    if bt == Tok::Suffix && cb.get_token(bt).0 < 0 {
        return Ordering::Greater;
    }
    // A later token type means a shorter version.
    bt.cmp(&at)
}
