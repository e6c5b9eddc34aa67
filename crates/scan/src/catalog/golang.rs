//! Go modules declared by `go.mod` (`dir:` scans; the modules in a binary come from its build
//! info, read in `binary`).
use super::common::{Found, declared_in_files, declared_package, purl};
use crate::fs::Filesystem;
use crate::model::PackageType;

/// The `require` directives of a `go.mod` (single-line and block forms), with `replace`
/// directives applied (`old [v] => new v`: the replacement is what the build uses; a
/// replacement by a local path has no version and removes the module).
///
/// Nothing is marked development-only, with or without `--include-dev`: `go.mod` has no such
/// notion. `// indirect` means "not imported by the main module's own packages" (needed by a
/// dependency, or by nothing since the last `go mod tidy`), not "only for development"; a
/// module needed only by tests is listed like any other (since Go 1.17 the file lists every
/// module the build list needs, tests of the main module's packages included). Telling test-only
/// modules apart needs the package import graph (`go list -deps -test`), i.e. the source and
/// the Go toolchain, which a scan does not run.
pub fn parse_go_mod(text: &str) -> Vec<(String, String)> {
    let mut requires: Vec<(String, String)> = Vec::new();
    let mut replaces: Vec<(String, Option<String>, String, Option<String>)> = Vec::new();
    let mut block: Option<&str> = None;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or(line).trim();
        if line.is_empty() {
            continue;
        }
        let directive_line = if let Some(b) = block {
            if line == ")" {
                block = None;
                continue;
            }
            Some((b, line))
        } else if let Some((kw, rest)) = line.split_once(char::is_whitespace) {
            let rest = rest.trim();
            if rest == "(" {
                block = Some(match kw {
                    "require" => "require",
                    "replace" => "replace",
                    _ => "other",
                });
                continue;
            }
            Some((
                match kw {
                    "require" => "require",
                    "replace" => "replace",
                    _ => "other",
                },
                rest,
            ))
        } else {
            None
        };
        let Some((kw, args)) = directive_line else {
            continue;
        };
        let words: Vec<&str> = args.split_whitespace().collect();
        match (kw, words.as_slice()) {
            ("require", [module, version, ..]) => {
                requires.push((module.to_string(), version.to_string()));
            }
            ("replace", _) => {
                let Some(arrow) = words.iter().position(|w| *w == "=>") else {
                    continue;
                };
                let (old, new) = (&words[..arrow], &words[arrow + 1..]);
                let Some(old_mod) = old.first() else { continue };
                let Some(new_mod) = new.first() else { continue };
                replaces.push((
                    old_mod.to_string(),
                    old.get(1).map(|v| v.to_string()),
                    new_mod.to_string(),
                    new.get(1).map(|v| v.to_string()),
                ));
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (module, version) in requires {
        let rep = replaces
            .iter()
            .find(|(m, v, _, _)| *m == module && v.as_ref().is_none_or(|v| *v == version));
        match rep {
            Some((_, _, new_mod, Some(new_ver))) => out.push((new_mod.clone(), new_ver.clone())),
            Some((_, _, _, None)) => {}
            None => out.push((module, version)),
        }
    }
    out
}

pub fn catalog_go_mod(fs: &Filesystem) -> Vec<Found> {
    declared_in_files(fs, "/go.mod", parse_go_mod, |module, version| {
        let (ns, name) = module.rsplit_once('/').unwrap_or(("", module));
        declared_package(
            module,
            version,
            PackageType::GoModule,
            purl::build("golang", Some(ns), name, version, &[]),
            "go-module-file-cataloger",
            false,
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn go_mod_requires_with_replacements() {
        let text = "module example.com/app\n\ngo 1.22\n\nrequire github.com/a/b v1.2.3\n\nrequire (\n\tgolang.org/x/net v0.20.0 // indirect\n\tgithub.com/old/mod v1.0.0\n\tgithub.com/local/mod v0.1.0\n)\n\nreplace github.com/old/mod => github.com/new/mod v1.0.1\n\nreplace (\n\tgithub.com/local/mod => ../mod\n)\n";
        let got = super::parse_go_mod(text);
        let want: Vec<(String, String)> = [
            ("github.com/a/b", "v1.2.3"),
            ("golang.org/x/net", "v0.20.0"),
            ("github.com/new/mod", "v1.0.1"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
    }
}
