//! Ruby installed gems: `specifications/*.gemspec` (the normalised stubs RubyGems writes).
//! Declared gems (`dir:` scans): `Gemfile.lock`, development-only gems from the `Gemfile`'s
//! groups.
use std::collections::HashMap;

use super::common::{Found, content, declared_package, files_ending, new_package, purl};
use crate::fs::{EntryKind, Filesystem};
use crate::model::PackageType;

fn quoted(s: &str) -> Option<String> {
    let s = s.trim();
    let q = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &s[1..];
    let end = rest.find(q)?;
    Some(rest[..end].to_string())
}

/// Extracts name, version and licenses from a gemspec.
pub fn parse_gemspec(text: &str) -> Option<(String, String, Vec<String>)> {
    let (mut name, mut version, mut licenses) = (None, None, Vec::new());
    for line in text.lines() {
        let l = line.trim();
        let Some((lhs, rhs)) = l.split_once('=') else {
            continue;
        };
        let key = lhs.trim().rsplit('.').next().unwrap_or("").trim();
        match key {
            "name" if name.is_none() => name = quoted(rhs),
            "version" if version.is_none() => {
                version = quoted(rhs).or_else(|| {
                    rhs.split_once("Gem::Version.new(")
                        .and_then(|(_, r)| quoted(r))
                })
            }
            "licenses" | "license" => {
                let mut rest = rhs;
                while let Some(pos) = rest.find(['"', '\'']) {
                    let Some(v) = quoted(&rest[pos..]) else { break };
                    rest = &rest[pos + v.len() + 2..];
                    licenses.push(v);
                }
            }
            _ => {}
        }
    }
    Some((name?, version?, licenses))
}

pub fn catalog(fs: &Filesystem) -> Vec<Found> {
    let mut out = Vec::new();
    for e in fs.iter().filter(|e| {
        e.kind == EntryKind::File
            && e.path.ends_with(".gemspec")
            && e.path.contains("/specifications/")
    }) {
        let Some(b) = super::common::content(e) else {
            continue;
        };
        let Some((name, version, licenses)) = parse_gemspec(&String::from_utf8_lossy(b)) else {
            continue;
        };
        let mut pkg = new_package(
            &name,
            &version,
            PackageType::Gem,
            purl::build("gem", None, &name, &version, &[]),
            "ruby-installed-gemspec-cataloger",
        );
        pkg.licenses = licenses;
        out.push(Found {
            pkg,
            path: e.path.clone(),
            layer: e.layer,
        });
    }
    out
}

/// A `Gemfile.lock`'s gems with the names of their dependencies, and its `DEPENDENCIES` (the
/// Gemfile's direct dependencies, `!` of path/git sources stripped).
#[derive(Debug, Default, PartialEq)]
pub struct LockedGems {
    pub specs: Vec<(String, String, Vec<String>)>,
    pub direct: Vec<String>,
}

/// `Gemfile.lock`: the `specs:` of its `GEM`, `GIT` and `PATH` sections, four spaces in
/// (`    rake (13.1.0)`; dependencies of a spec are six spaces in), and the `DEPENDENCIES`
/// section. A platform suffix (`nokogiri (1.16.2-x86_64-linux)`) is not part of the version:
/// RubyGems versions hold no `-`.
pub fn parse_gemfile_lock_graph(text: &str) -> LockedGems {
    let mut out = LockedGems::default();
    let mut in_specs = false;
    let mut in_direct = false;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if !line.starts_with(' ') {
            in_specs = false;
            in_direct = line == "DEPENDENCIES";
            continue;
        }
        let first_word = |s: &str| s.split_whitespace().next().map(str::to_string);
        if in_direct {
            if let Some(name) = first_word(line) {
                out.direct.push(name.trim_end_matches('!').to_string());
            }
            continue;
        }
        if line.trim() == "specs:" {
            in_specs = true;
            continue;
        }
        if !in_specs {
            continue;
        }
        if let Some(dep) = line.strip_prefix("      ") {
            if let (Some(last), Some(name)) = (out.specs.last_mut(), first_word(dep)) {
                last.2.push(name);
            }
            continue;
        }
        let Some(spec) = line.strip_prefix("    ") else {
            continue;
        };
        let Some((name, rest)) = spec.split_once(" (") else {
            continue;
        };
        let version = rest.trim_end_matches(')');
        let version = version.split('-').next().unwrap_or(version);
        if !name.is_empty() && !version.is_empty() {
            out.specs
                .push((name.to_string(), version.to_string(), Vec::new()));
        }
    }
    out
}

/// The (name, version) pairs of a `Gemfile.lock`.
pub fn parse_gemfile_lock(text: &str) -> Vec<(String, String)> {
    parse_gemfile_lock_graph(text)
        .specs
        .into_iter()
        .map(|(n, v, _)| (n, v))
        .collect()
}

/// Groups whose gems only development needs (Bundler's and Rails' conventional names; a
/// deployment runs `bundle install --without development test`).
const DEV_GROUPS: &[&str] = &["development", "test"];

/// The symbols and strings of a Ruby argument list (`:development, "test"` -> both).
fn names_in(s: &str) -> Vec<String> {
    s.split([',', '[', ']', ' ', '(', ')'])
        .map(|w| w.trim().trim_start_matches(':').trim_matches(['"', '\'']))
        .filter(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        })
        .map(str::to_string)
        .collect()
}

/// For each gem a `Gemfile` names: whether it is development-only (every declaration of it sits
/// in `development`/`test` groups, by `group ... do` blocks or a `group:`/`groups:` option).
/// `None` when the block structure cannot be followed (an `end` without a block, a block left
/// open): the Gemfile is Ruby, and a misread must not drop production gems.
pub fn gemfile_dev_gems(text: &str) -> Option<HashMap<String, bool>> {
    let mut stack: Vec<Vec<String>> = Vec::new();
    let mut out: HashMap<String, bool> = HashMap::new();
    for raw in text.lines() {
        let line = raw.split(" #").next().unwrap_or(raw).trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let word = line
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("");
        let opens_block = line.ends_with(" do") || line.contains(" do |");
        match word {
            "end" => {
                stack.pop()?;
            }
            "group" if opens_block => {
                let args = line[5..].rsplit_once(" do").map_or("", |(a, _)| a);
                // Options (`optional: true`) are not group names.
                let args: Vec<&str> = args.split(',').filter(|a| !a.contains(": ")).collect();
                stack.push(names_in(&args.join(",")));
            }
            "if" | "unless" | "case" | "while" | "until" | "begin" | "def" | "class" | "module" => {
                stack.push(Vec::new())
            }
            "gem" => {
                let Some(name) = names_in(&line[3..]).into_iter().next() else {
                    continue;
                };
                let mut groups: Vec<String> = stack.iter().flatten().cloned().collect();
                for key in ["groups:", "group:", ":groups =>", ":group =>"] {
                    if let Some((_, rest)) = line.split_once(key) {
                        let rest = rest.trim_start();
                        let list = match rest.strip_prefix('[') {
                            Some(r) => r.split(']').next().unwrap_or(r),
                            None => rest.split(',').next().unwrap_or(rest),
                        };
                        groups.extend(names_in(list));
                        break;
                    }
                }
                let dev =
                    !groups.is_empty() && groups.iter().all(|g| DEV_GROUPS.contains(&g.as_str()));
                let e = out.entry(name).or_insert(true);
                *e &= dev;
                if opens_block {
                    stack.push(Vec::new());
                }
            }
            _ if opens_block => stack.push(Vec::new()),
            _ => {}
        }
    }
    stack.is_empty().then_some(out)
}

/// For each spec of `lock`: development-only, from the Gemfile's groups (`dev_gems`) through
/// the lock's dependency graph: reachable from a development-only direct dependency and from
/// no other (a direct dependency the Gemfile does not name, e.g. through `gemspec`, counts as
/// production).
pub fn gem_dev_flags(lock: &LockedGems, dev_gems: &HashMap<String, bool>) -> Vec<bool> {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (n, _, _)) in lock.specs.iter().enumerate() {
        by_name.entry(n.as_str()).or_default().push(i);
    }
    let reach = |dev_roots: bool| -> Vec<bool> {
        let mut seen = vec![false; lock.specs.len()];
        let mut stack: Vec<usize> = lock
            .direct
            .iter()
            .filter(|d| dev_gems.get(d.as_str()).copied().unwrap_or(false) == dev_roots)
            .flat_map(|d| by_name.get(d.as_str()).cloned().unwrap_or_default())
            .collect();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            for d in &lock.specs[i].2 {
                stack.extend(by_name.get(d.as_str()).cloned().unwrap_or_default());
            }
        }
        seen
    };
    let (prod, dev) = (reach(false), reach(true));
    prod.iter().zip(&dev).map(|(p, d)| *d && !*p).collect()
}

/// `Gemfile.lock` files, with development-only gems marked from the `Gemfile` next to each
/// (the lock itself does not say; without a Gemfile, or one this reader cannot follow,
/// nothing is marked).
pub fn catalog_gemfile_lock(fs: &Filesystem) -> Vec<Found> {
    let mut out = Vec::new();
    for e in files_ending(fs, "/Gemfile.lock") {
        let Some(b) = content(e) else { continue };
        let lock = parse_gemfile_lock_graph(&String::from_utf8_lossy(b));
        let gemfile = e
            .path
            .strip_suffix(".lock")
            .and_then(|p| fs.get(p))
            .and_then(content)
            .and_then(|g| gemfile_dev_gems(&String::from_utf8_lossy(g)));
        let dev = gemfile.map(|g| gem_dev_flags(&lock, &g));
        for (i, (name, version, _)) in lock.specs.iter().enumerate() {
            out.push(Found {
                pkg: declared_package(
                    name,
                    version,
                    PackageType::Gem,
                    purl::build("gem", None, name, version, &[]),
                    "ruby-gemfile-cataloger",
                    dev.as_ref().is_some_and(|d| d[i]),
                ),
                path: e.path.clone(),
                layer: e.layer,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gemfile_lock() {
        let lock = "GIT\n  remote: https://github.com/x/y.git\n  revision: abc\n  specs:\n    y (0.1.0)\n\nGEM\n  remote: https://rubygems.org/\n  specs:\n    nokogiri (1.16.2-x86_64-linux)\n      racc (~> 1.4)\n    racc (1.7.3)\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  nokogiri\n\nBUNDLED WITH\n   2.5.6\n";
        let got = super::parse_gemfile_lock(lock);
        let want: Vec<(String, String)> =
            [("y", "0.1.0"), ("nokogiri", "1.16.2"), ("racc", "1.7.3")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn dev_gems_from_the_gemfile_groups_through_the_lock() {
        let gemfile = "source \"https://rubygems.org\"\ngemspec\ngem \"rails\", \"~> 7.1\" # web\ngem \"pg\"\n\ngroup :development, :test do\n  gem \"rspec-rails\"\n  gem \"debug\", platforms: %i[mri]\nend\n\ngroup :production, optional: true do\n  gem \"lograge\"\nend\n\ngem \"rubocop\", require: false, group: :development\ngem \"capybara\", groups: [:test, :development]\nplatforms :jruby do\n  gem \"jdbc\"\nend\nif ENV[\"X\"]\n  gem \"extra\"\nend\n";
        let dev = gemfile_dev_gems(gemfile).unwrap();
        let is = |n: &str| dev.get(n).copied();
        assert_eq!(
            [
                is("rails"),
                is("pg"),
                is("rspec-rails"),
                is("debug"),
                is("lograge"),
                is("rubocop"),
                is("capybara"),
                is("jdbc"),
                is("extra")
            ],
            [
                Some(false),
                Some(false),
                Some(true),
                Some(true),
                Some(false),
                Some(true),
                Some(true),
                Some(false),
                Some(false)
            ]
        );
        assert_eq!(gemfile_dev_gems("group :test do\n  gem \"x\"\n"), None);
        assert_eq!(gemfile_dev_gems("gem \"x\"\nend\n"), None);

        let lock = "PATH\n  remote: .\n  specs:\n    app (0.1.0)\n      concurrent-ruby\n\nGEM\n  remote: https://rubygems.org/\n  specs:\n    concurrent-ruby (1.2.3)\n    rails (7.1.3)\n      concurrent-ruby\n    rspec-rails (6.1.1)\n      rspec-core\n      concurrent-ruby\n    rspec-core (3.13.0)\n\nPLATFORMS\n  ruby\n\nDEPENDENCIES\n  app!\n  rails (~> 7.1)\n  rspec-rails\n\nBUNDLED WITH\n   2.5.6\n";
        let locked = parse_gemfile_lock_graph(lock);
        assert_eq!(locked.direct, ["app", "rails", "rspec-rails"]);
        let flags = gem_dev_flags(&locked, &dev);
        let marked: Vec<&str> = locked
            .specs
            .iter()
            .zip(&flags)
            .filter(|(_, d)| **d)
            .map(|(s, _)| s.0.as_str())
            .collect();
        assert_eq!(marked, ["rspec-rails", "rspec-core"]);
    }

    #[test]
    fn parses_gemspec() {
        let g = "Gem::Specification.new do |s|\n  s.name = \"rake\".freeze\n  s.version = \"13.0.6\"\n  s.licenses = [\"MIT\".freeze]\nend\n";
        assert_eq!(
            super::parse_gemspec(g),
            Some(("rake".into(), "13.0.6".into(), vec!["MIT".into()]))
        );
    }
}
