//! Table tests from each ecosystem's own documentation and test suites, apk-tools' test
//! vectors, and property tests (reflexivity, antisymmetry, transitivity, no panics).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use berth_vulndb::Scheme;
use proptest::prelude::*;
use std::cmp::Ordering::{self, Equal, Greater, Less};

fn cmp(s: Scheme, a: &str, b: &str) -> Ordering {
    s.compare(a, b)
        .unwrap_or_else(|e| panic!("{s}: cannot compare {a:?} {b:?}: {e}"))
}

fn check_table(s: Scheme, rows: &[(&str, &str, Ordering)]) {
    let mut bad = vec![];
    for &(a, b, want) in rows {
        let got = cmp(s, a, b);
        if got != want {
            bad.push(format!("{a} vs {b}: want {want:?}, got {got:?}"));
        }
        let back = cmp(s, b, a);
        if back != want.reverse() {
            bad.push(format!(
                "{b} vs {a}: want {:?}, got {back:?}",
                want.reverse()
            ));
        }
    }
    assert!(bad.is_empty(), "{s}:\n{}", bad.join("\n"));
}

fn check_ascending(s: Scheme, list: &[&str]) {
    for w in list.windows(2) {
        assert_eq!(cmp(s, w[0], w[1]), Less, "{s}: {} < {}", w[0], w[1]);
    }
    for (i, a) in list.iter().enumerate() {
        for (j, b) in list.iter().enumerate() {
            assert_eq!(cmp(s, a, b), i.cmp(&j), "{s}: {a} vs {b}");
        }
    }
}

#[test]
fn dpkg_policy_examples() {
    // Debian Policy 5.6.12 and deb-version(7).
    check_ascending(Scheme::Dpkg, &["1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a"]);
    check_table(
        Scheme::Dpkg,
        &[
            ("1.0~rc1", "1.0", Less),
            ("1.0", "1.0-1", Less),
            ("1.0", "1.0-0", Equal),
            ("0:1.0", "1.0", Equal),
            ("1:0.1", "2.0", Greater),
            ("1.0+b1", "1.0", Greater),
            ("2.0-1~bpo11+1", "2.0-1", Less),
            ("1.01", "1.1", Equal),
            ("1.0.0", "1.0", Greater),
            ("1.2.3-1+deb11u1", "1.2.3-1", Greater),
            ("1.2.3-1+deb11u1", "1.2.3-1+deb11u2", Less),
            ("1.2.3-1+deb11u10", "1.2.3-1+deb11u9", Greater),
            ("2:1.20.11-1+deb11u6", "2:1.20.11-1+deb11u5", Greater),
            ("1.1.1n-0+deb11u3", "1.1.1n-0+deb11u4", Less),
            ("1.1.1n-0+deb11u3", "1.1.1k-1+deb11u1", Greater),
            ("102.9.0esr-1~deb11u1", "102.9.0esr-1", Less),
            ("1.0-1.1", "1.0-1+b1", Greater),
            ("1.0.a", "1.0.+", Less),
            ("1.0-a-b", "1.0-a-a", Greater),
        ],
    );
    for bad in ["", "a1.0", "1:", "x:1.0", "1.0-", "1.0 1"] {
        assert!(
            Scheme::Dpkg.parse(bad).is_err() || bad == "a",
            "{bad:?} should not parse"
        );
    }
}

#[test]
fn rpm_rpmvercmp_table() {
    // rpm's tests/rpmvercmp.at.
    check_table(
        Scheme::Rpm,
        &[
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0.1", Equal),
            ("2.0", "2.0.1", Less),
            ("2.0.1a", "2.0.1a", Equal),
            ("2.0.1a", "2.0.1", Greater),
            ("5.5p1", "5.5p1", Equal),
            ("5.5p1", "5.5p2", Less),
            ("5.5p10", "5.5p10", Equal),
            ("5.5p1", "5.5p10", Less),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10", Equal),
            ("xyz10", "xyz10.1", Less),
            ("xyz.4", "xyz.4", Equal),
            ("xyz.4", "8", Less),
            ("xyz.4", "2", Less),
            ("5.5p2", "5.6p1", Less),
            ("5.6p1", "6.5p1", Less),
            ("6.0.rc1", "6.0", Greater),
            ("10b2", "10a1", Greater),
            ("1.0aa", "1.0aa", Equal),
            ("1.0a", "1.0aa", Less),
            ("10.0001", "10.0001", Equal),
            ("10.0001", "10.1", Equal),
            ("10.0001", "10.0039", Less),
            ("4.999.9", "5.0", Less),
            ("20101121", "20101121", Equal),
            ("20101121", "20101122", Less),
            ("2_0", "2_0", Equal),
            ("2.0", "2_0", Equal),
            ("a", "a", Equal),
            ("a+", "a+", Equal),
            ("a+", "a_", Equal),
            ("+a", "+a", Equal),
            ("+a", "_a", Equal),
            ("+_", "_+", Equal),
            ("1.0~rc1", "1.0~rc1", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~rc1~git123", "1.0~rc1~git123", Equal),
            ("1.0~rc1~git123", "1.0~rc1", Less),
            ("1.0^", "1.0^", Equal),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.0^git2", Less),
            ("1.0^git1", "1.01", Less),
            ("1.0^20160101", "1.0.1", Less),
            ("1.0^20160101^git1", "1.0^20160102", Less),
            ("1.0~rc1^git1", "1.0~rc1", Greater),
            ("1.0^git1~pre", "1.0^git1", Less),
            ("1:1.0-1", "2.0-1", Greater),
            ("1.0-1.el8", "1.0-2.el8", Less),
            ("1.0", "1.0-5", Less),
            ("0:1.0-1", "1.0-1", Equal),
        ],
    );
}

#[test]
fn apk_tools_vectors() {
    let text = include_str!("../fixtures/versions/apk-version.data");
    let mut n = 0;
    let mut bad = vec![];
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        let want = match f[1] {
            "<" => Less,
            ">" => Greater,
            _ => Equal,
        };
        let got = berth_vulndb::version::apk::compare(f[0], f[2]);
        if got != want {
            bad.push(line.to_owned());
        }
        n += 1;
    }
    assert!(n > 700, "only {n} vectors");
    assert!(
        bad.is_empty(),
        "{} of {n} apk vectors fail:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn apk_docs_examples() {
    check_ascending(
        Scheme::Apk,
        &[
            "1.1_alpha1",
            "1.1_beta1",
            "1.1_pre1",
            "1.1_rc1",
            "1.1",
            "1.1-r1",
            "1.1_cvs1",
            "1.1_svn1",
            "1.1_git1",
            "1.1_hg1",
            "1.1_p1",
            "1.1a",
            "1.1b",
            "1.1.1",
        ],
    );
    check_table(
        Scheme::Apk,
        &[
            ("2.9.3-r0", "2.9.3-r1", Less),
            ("1.1.1g-r0", "1.1.1d-r3", Greater),
            ("7.61.1-r3", "7.61.1-r2", Greater),
            // apk-tools 2.x quirk after an all-zero component (see the module docs).
            ("1.0_rc1", "1.0", Greater),
        ],
    );
    assert!(Scheme::Apk.parse("1.0bc").is_err());
    assert!(Scheme::Apk.parse("1.0!").is_err());
    assert!(Scheme::Apk.parse("1.0_foo").is_err());
}

#[test]
fn pep440_spec_ordering() {
    // PEP 440, "Summary of permitted suffixes and relative ordering".
    check_ascending(
        Scheme::Pep440,
        &[
            "1.dev0",
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
        ],
    );
    check_table(
        Scheme::Pep440,
        &[
            ("1.0", "1.0.0", Equal),
            ("1.0-alpha1", "1.0a1", Equal),
            ("1.0.RC1", "1.0rc1", Equal),
            ("1.0-1", "1.0.post1", Equal),
            ("v1.0", "1.0", Equal),
            ("1!0.1", "2.0", Greater),
        ],
    );
    assert!(Scheme::Pep440.parse("1.0-foo").is_err());
}

#[test]
fn semver_spec_ordering() {
    // semver.org, item 11.
    let list = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "2.0.0",
        "2.1.0",
        "2.1.1",
    ];
    for s in [Scheme::Semver, Scheme::Go, Scheme::Npm] {
        check_ascending(s, &list);
        check_table(s, &[("1.0.0+build.1", "1.0.0+build.2", Equal)]);
    }
    assert!(Scheme::Semver.parse("1.0").is_err());
    assert!(Scheme::Semver.parse("01.0.0").is_err());
    assert!(Scheme::Npm.parse("1.0").is_err());
}

#[test]
fn go_module_versions() {
    check_ascending(
        Scheme::Go,
        &[
            "v0.0.0-20191109021931-daa7c04131f5",
            "v0.0.0-20200101000000-abcdefabcdef",
            "v0.1.0",
            "v1.2.3-pre",
            "v1.2.3",
            "v1.2.4-0.20191109021931-daa7c04131f5",
            "v1.2.4",
            "v2.0.0+incompatible",
            "v2.0.1",
        ],
    );
    check_table(
        Scheme::Go,
        &[
            ("v1.2", "1.2.0", Equal),
            ("v1", "v1.0.0", Equal),
            ("go1.21rc2", "1.21.0", Less),
            ("go1.21", "1.21.0", Equal),
            ("go1.21.3", "v1.21.3", Equal),
            ("go1.9.2rc2", "1.9.2", Less),
            ("go1.21beta1", "go1.21rc1", Less),
        ],
    );
}

#[test]
fn npm_node_semver() {
    check_table(
        Scheme::Npm,
        &[
            ("v1.2.3", "1.2.3", Equal),
            (" 1.2.3 ", "1.2.3", Equal),
            ("1.2.3-0", "1.2.3", Less),
        ],
    );
    assert!(Scheme::Npm.parse("=1.2.3").is_err());
    assert!(Scheme::Npm.parse("9007199254740992.0.0").is_err());
}

#[test]
fn maven_comparable_version_test_lists() {
    // maven-artifact's ComparableVersionTest: VERSIONS_QUALIFIER and VERSIONS_NUMBER, in the
    // order Maven 3.8.7 gives them (`2.0.a` moved before `2-1` by the `.X` = `-X` rule).
    check_ascending(
        Scheme::Maven,
        &[
            "1-alpha2snapshot",
            "1-alpha2",
            "1-alpha-123",
            "1-beta-2",
            "1-beta123",
            "1-m2",
            "1-m11",
            "1-rc",
            "1-cr2",
            "1-rc123",
            "1-SNAPSHOT",
            "1",
            "1-sp",
            "1-sp2",
            "1-sp123",
            "1-abc",
            "1-def",
            "1-pom-1",
            "1-1-snapshot",
            "1-1",
            "1-2",
            "1-123",
        ],
    );
    check_ascending(
        Scheme::Maven,
        &[
            "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1",
            "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11",
            "11", "11.a", "11b", "11c", "11m",
        ],
    );
    check_table(
        Scheme::Maven,
        &[
            ("1", "1.0.0", Equal),
            ("1", "1-0", Equal),
            ("1", "1.ga", Equal),
            ("1", "1-final", Equal),
            ("1a1", "1-alpha-1", Equal),
            ("1cr", "1rc", Equal),
            ("1.0-SNAPSHOT", "1.0-snapshot", Equal),
            ("1.0.0.RELEASE", "1.0.0", Equal),
            ("2.0.a", "2.0.0.a", Equal),
            ("12345678901234567890", "12345678901234567891", Less),
        ],
    );
}

#[test]
fn maven_is_not_transitive() {
    // A cycle that maven-artifact 3.8.7's own ComparableVersion produces (checked with its
    // `main`), found by searching the differential fixture: the port reproduces it.
    check_table(
        Scheme::Maven,
        &[
            ("1.1.2rc1", "1.1.2", Less),
            ("1.1.2", "1.1.2.dfsg-1.3", Less),
            ("1.1.2.dfsg-1.3", "1.1.2rc1", Less),
        ],
    );
}

#[test]
fn rubygems_gem_version() {
    // rubygems test/rubygems/test_gem_version.rb.
    check_table(
        Scheme::RubyGems,
        &[
            ("1.0", "1.0.0", Equal),
            ("1.0", "1", Equal),
            ("1.8.2.a", "1.8.2", Less),
            ("1.2.b1", "1.2", Less),
            ("1.2.a", "1.2.b", Less),
            ("1.0.a", "1.0", Less),
            ("1.0.0", "1.0.0.a", Greater),
            ("1.9.3", "1.9.3.1", Less),
            ("5.a", "5.0.0.rc2", Less),
            ("1.0.0-1", "1.0.0", Less),
            ("0.beta.1", "0.0.beta.1", Equal),
            ("1.2.3", "1.2.10", Less),
            ("", "0", Equal),
        ],
    );
    assert!(Scheme::RubyGems.parse("junk").is_err());
    assert!(Scheme::RubyGems.parse("1.0\n2.0").is_err());
}

#[test]
fn nuget_versions() {
    check_ascending(
        Scheme::NuGet,
        &[
            "1.0.0-alpha",
            "1.0.0-Beta",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.0.1",
            "1.0.1",
            "1.10",
        ],
    );
    check_table(
        Scheme::NuGet,
        &[
            ("1.0", "1.0.0.0", Equal),
            ("1.0.0-ALPHA", "1.0.0-alpha", Equal),
        ],
    );
}

fn version_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,3}(\\.[0-9a-z]{1,3}){0,3}(-[0-9a-z.+~]{1,5})?",
        "[0-9]:[0-9]{1,2}(\\.[0-9]{1,2}){0,2}[a-z~+]{0,2}-[0-9]{1,2}(\\+deb[0-9]u[0-9])?",
        "[0-9]{1,2}\\.[0-9]{1,2}(_(alpha|beta|pre|rc|p|git)[0-9]?)?(-r[0-9])?",
        "[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}(-(alpha|beta|rc)(\\.[0-9]{1,2})?)?",
        "[0-9]{1,2}(\\.[0-9]{1,2}){0,2}((a|b|rc)[0-9])?(\\.post[0-9])?(\\.dev[0-9])?",
        "[ -~]{0,12}",
    ]
}

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn orderings_are_total_orders(a in version_strategy(), b in version_strategy(), c in version_strategy()) {
        for s in ALL {
            let (Ok(x), Ok(y), Ok(z)) = (s.parse(&a), s.parse(&b), s.parse(&c)) else { continue };
            let xy = x.cmp_same(&y).unwrap();
            let yx = y.cmp_same(&x).unwrap();
            prop_assert_eq!(xy, yx.reverse(), "{} antisymmetry {:?} {:?}", s, a, b);
            prop_assert_eq!(x.cmp_same(&x), Some(Equal), "{} reflexive {:?}", s, a);
            let yz = y.cmp_same(&z).unwrap();
            let xz = x.cmp_same(&z).unwrap();
            // Maven's ComparableVersion is itself not transitive (see maven_is_not_transitive).
            if s != Scheme::Maven && xy != Greater && yz != Greater {
                prop_assert!(xz != Greater, "{} transitivity {:?} <= {:?} <= {:?} but {:?}", s, a, b, c, xz);
            }
            if s != Scheme::Maven && xy == Equal && yz == Equal {
                prop_assert_eq!(xz, Equal);
            }
        }
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,40}") {
        for sc in ALL {
            let _ = sc.parse(&s);
        }
        let _ = berth_vulndb::version::apk::compare(&s, "1.0");
    }
}
