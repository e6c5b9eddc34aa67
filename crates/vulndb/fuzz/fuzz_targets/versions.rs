//! Every version parser and ordering on arbitrary input: no panics, and each ordering is
//! reflexive and antisymmetric on what it accepts.
#![no_main]
use berth_vulndb::Scheme;
use libfuzzer_sys::fuzz_target;

const ALL: [Scheme; 11] = [
    Scheme::Dpkg,
    Scheme::Apk,
    Scheme::Rpm,
    Scheme::Pep440,
    Scheme::Semver,
    Scheme::Go,
    Scheme::Npm,
    Scheme::Maven,
    Scheme::RubyGems,
    Scheme::NuGet,
    Scheme::Generic,
];

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (a, b) = s.split_once('\t').unwrap_or((s, "1.0"));
    let _ = berth_vulndb::version::apk::compare(a, b);
    for scheme in ALL {
        let (Ok(x), Ok(y)) = (scheme.parse(a), scheme.parse(b)) else { continue };
        assert_eq!(x.cmp_same(&x), Some(std::cmp::Ordering::Equal));
        let xy = x.cmp_same(&y).map(std::cmp::Ordering::reverse);
        assert_eq!(xy, y.cmp_same(&x), "{scheme}: {a:?} vs {b:?}");
    }
});
