//! Java archives (jar, war, ear and friends): `META-INF/maven/**/pom.properties`,
//! `META-INF/MANIFEST.MF`, and archives nested inside (WEB-INF/lib, BOOT-INF/lib, EAR modules),
//! recursively up to the nesting limit. Entries are read with a size cap (zip bombs), and a
//! nested archive only once its size is reserved in the scan's memory budget; nested archives
//! are read one at a time (a war of many large jars holds one of them at once, not all).
use std::io::{Cursor, Read};

use super::common::{field, new_package, purl, rfc822_fields};
use crate::budget::{MemoryBudget, Wait};
use crate::model::{Package, PackageType};
use crate::options::Limits;

const EXTENSIONS: &[&str] = &[
    "jar", "war", "ear", "jpi", "hpi", "par", "sar", "nar", "kar", "lpkg",
];

pub(crate) fn has_java_ext(path: &str) -> bool {
    path.rsplit_once('.')
        .is_some_and(|(_, ext)| EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

pub fn is_java_archive(path: &str, data: &[u8]) -> bool {
    has_java_ext(path) && data.starts_with(b"PK\x03\x04")
}

#[derive(Debug, Default, Clone)]
struct Pom {
    group: String,
    artifact: String,
    version: String,
}

fn parse_properties(text: &str) -> Pom {
    let mut p = Pom::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=').or_else(|| line.split_once(':')) else {
            continue;
        };
        match k.trim() {
            "groupId" => p.group = v.trim().to_string(),
            "artifactId" => p.artifact = v.trim().to_string(),
            "version" => p.version = v.trim().to_string(),
            _ => {}
        }
    }
    p
}

/// `commons-lang3-3.12.0.jar` -> ("commons-lang3", "3.12.0").
pub fn name_version_from_filename(path: &str) -> (String, String) {
    let base = path.rsplit(['/', ':']).next().unwrap_or(path);
    let stem = base.rsplit_once('.').map(|(s, _)| s).unwrap_or(base);
    let bytes = stem.as_bytes();
    for (i, _) in stem.match_indices('-') {
        if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            return (stem[..i].to_string(), stem[i + 1..].to_string());
        }
    }
    (stem.to_string(), String::new())
}

fn maven_package(group: &str, artifact: &str, version: &str) -> Package {
    let ns = if group.is_empty() { artifact } else { group };
    let mut p = new_package(
        artifact,
        version,
        PackageType::JavaArchive,
        purl::build("maven", Some(ns), artifact, version, &[]),
        "java-archive-cataloger",
    );
    p.group = (!group.is_empty()).then(|| group.to_string());
    p
}

pub(crate) fn entry_name(f: &zip::read::ZipFile<'_, Cursor<&[u8]>>) -> String {
    f.name().map(|c| c.into_owned()).unwrap_or_default()
}

pub(crate) fn read_entry(
    f: &mut zip::read::ZipFile<'_, Cursor<&[u8]>>,
    cap: u64,
) -> Result<Vec<u8>, String> {
    let name = entry_name(f);
    if f.size() > cap {
        return Err(format!(
            "{name}: {} bytes, over the {cap}-byte limit",
            f.size()
        ));
    }
    let mut buf = Vec::with_capacity(usize::try_from(f.size()).unwrap_or(0));
    f.by_ref()
        .take(cap)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{name}: {e}"))?;
    // One more byte means the entry inflates past the cap. Probed into a byte of its own: a
    // read into the full buffer would double its allocation first.
    let mut probe = [0u8; 1];
    if f.read(&mut probe).map_err(|e| format!("{name}: {e}"))? > 0 {
        return Err(format!("{name}: inflates past the {cap}-byte limit"));
    }
    Ok(buf)
}

/// The largest pom.properties read, and the most read from one archive.
const MAX_POM_BYTES: u64 = 64 << 10;
const MAX_POM_BYTES_PER_ARCHIVE: u64 = 16 << 20;

/// The packages of the archive `data` (named `path`) and of the archives nested in it. A
/// nested archive that is too large to read (over `max_buffered_file_size`, or no room left in
/// `budget`) is skipped with a note in `warnings`; the others are still read.
pub fn packages(
    path: &str,
    data: &[u8],
    depth: usize,
    limits: &Limits,
    budget: &MemoryBudget,
    warnings: &mut Vec<String>,
) -> Result<Vec<Package>, String> {
    if depth > limits.max_nesting_depth {
        return Err(format!(
            "archive nested deeper than {} levels",
            limits.max_nesting_depth
        ));
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(data)).map_err(|e| format!("zip: {e}"))?;
    let mut manifest = None;
    let mut poms = Vec::new();
    let (mut pom_bytes, mut poms_cut) = (0u64, false);
    let mut nested = Vec::new();
    let cap = limits.max_buffered_file_size;
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(|e| format!("zip entry {i}: {e}"))?;
        let name = entry_name(&f);
        if name == "META-INF/MANIFEST.MF" {
            manifest = Some(String::from_utf8_lossy(&read_entry(&mut f, 1 << 20)?).into_owned());
        } else if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
            // A few hundred bytes each in real jars; outside the memory budget, so bounded here
            // per entry and per archive (a jar of many inflating entries is not a reason to
            // hold gigabytes).
            if pom_bytes >= MAX_POM_BYTES_PER_ARCHIVE {
                if !poms_cut {
                    warnings.push(format!(
                        "{path}: pom.properties past the first {MAX_POM_BYTES_PER_ARCHIVE} bytes were not read"
                    ));
                    poms_cut = true;
                }
                continue;
            }
            let text = read_entry(&mut f, MAX_POM_BYTES)?;
            pom_bytes += text.len() as u64;
            poms.push(parse_properties(&String::from_utf8_lossy(&text)));
        } else if has_java_ext(&name) && !f.is_dir() {
            let declared = f.size();
            let not_read = |why: String| {
                format!("{path}: nested archive {name} ({declared} bytes) was not analysed: {why}")
            };
            if declared > cap {
                warnings.push(not_read(format!(
                    "over the limit of {cap} bytes per file (max_buffered_file_size)"
                )));
                continue;
            }
            // The caller holds this archive's reservation: never wait (see `Wait::No`).
            let Some(_held) = budget.reserve(declared, Wait::No) else {
                warnings.push(not_read(format!(
                    "no room left in the scan's memory budget of {} bytes (max_buffered_bytes)",
                    budget.limit()
                )));
                continue;
            };
            // Bounded by the declared size that was reserved: an entry that inflates past it
            // is corrupt (or a bomb).
            // A corrupt nested archive costs its own packages, not the outer archive's.
            let inner = match read_entry(&mut f, declared) {
                Ok(inner) => inner,
                Err(e) => {
                    warnings.push(not_read(e));
                    continue;
                }
            };
            drop(f);
            if inner.starts_with(b"PK\x03\x04") {
                match packages(&name, &inner, depth + 1, limits, budget, warnings) {
                    Ok(found) => nested.extend(found),
                    Err(e) => warnings.push(not_read(e)),
                }
            }
        }
    }
    let (file_name, file_version) = name_version_from_filename(path);
    let mut out = Vec::new();
    let main_pom = poms
        .iter()
        .position(|p| p.artifact == file_name)
        .or(if poms.len() == 1 { Some(0) } else { None });
    match main_pom {
        Some(i) => {
            let p = &poms[i];
            out.push(maven_package(&p.group, &p.artifact, &p.version));
        }
        None => {
            let f = manifest.as_deref().map(rfc822_fields).unwrap_or_default();
            let name = field(&f, "Implementation-Title")
                .filter(|n| !n.contains(' '))
                .map(str::to_string)
                .filter(|_| file_name.is_empty())
                .unwrap_or_else(|| file_name.clone());
            let version = field(&f, "Implementation-Version")
                .or(field(&f, "Bundle-Version"))
                .or(field(&f, "Specification-Version"))
                .map(str::to_string)
                .unwrap_or_else(|| file_version.clone());
            let group = field(&f, "Implementation-Vendor-Id")
                .or(field(&f, "Automatic-Module-Name"))
                .or(field(&f, "Bundle-SymbolicName"))
                .map(|g| g.split(';').next().unwrap_or(g).trim().to_string())
                .unwrap_or_default();
            if !name.is_empty() {
                out.push(maven_package(&group, &name, &version));
            }
        }
    }
    for (i, p) in poms.iter().enumerate() {
        if Some(i) != main_pom && !p.artifact.is_empty() {
            out.push(maven_package(&p.group, &p.artifact, &p.version));
        }
    }
    out.extend(nested);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_file_names() {
        assert_eq!(
            super::name_version_from_filename("/app/lib/commons-lang3-3.12.0.jar"),
            ("commons-lang3".into(), "3.12.0".into())
        );
        assert_eq!(
            super::name_version_from_filename("app.jar"),
            ("app".into(), String::new())
        );
    }
}
