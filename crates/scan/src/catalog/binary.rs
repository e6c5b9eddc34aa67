//! Packages embedded in executables:
//! - Go build info (`\xff Go buildinf:` blob, Go 1.18+ inline-string format): the main module,
//!   its dependencies (with `=>` replacements applied) and the Go standard library;
//! - cargo-auditable: the zlib-compressed JSON dependency list in the ELF section `.dep-v0`.
use std::io::Read;

use serde::Deserialize;

use super::{new_package, purl};
use crate::model::{Package, PackageType};

const GO_MAGIC: &[u8] = b"\xff Go buildinf:";
const MODINFO_START: usize = 16;

pub fn is_executable(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
        || data.starts_with(b"MZ")
        || data.starts_with(&[0xcf, 0xfa, 0xed, 0xfe])
        || data.starts_with(&[0xce, 0xfa, 0xed, 0xfe])
        || data.starts_with(&[0xfe, 0xed, 0xfa, 0xcf])
}

pub fn packages(data: &[u8]) -> Result<Vec<Package>, String> {
    let mut out = Vec::new();
    if let Some(info) = go_buildinfo(data)? {
        out.extend(go_packages(&info));
    }
    if data.starts_with(b"\x7fELF")
        && let Some(section) = elf_section(data, ".dep-v0")
    {
        out.extend(auditable_packages(section)?);
    }
    Ok(out)
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GoBuildInfo {
    pub go_version: String,
    pub path: String,
    pub main: Option<(String, String)>,
    pub deps: Vec<(String, String)>,
}

fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        x |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some((x, i + 1));
        }
    }
    None
}

/// Finds and decodes Go build info. Ok(None) when the file is not a Go binary; Err when it is
/// one in a format berth does not read (pre-1.18 pointer format).
pub fn go_buildinfo(data: &[u8]) -> Result<Option<GoBuildInfo>, String> {
    let finder = memchr::memmem::Finder::new(GO_MAGIC);
    let Some(pos) = finder.find_iter(data).find(|p| p % 16 == 0) else {
        return Ok(None);
    };
    let hdr = data
        .get(pos..pos + 32)
        .ok_or("go buildinfo header truncated")?;
    let flags = hdr[15];
    if flags & 2 == 0 {
        return Err("Go build info in the pre-1.18 pointer format is not read".into());
    }
    let mut rest = &data[pos + 32..];
    let mut strings = Vec::new();
    for _ in 0..2 {
        let (len, n) = uvarint(rest).ok_or("go buildinfo: bad varint")?;
        let len = usize::try_from(len).map_err(|_| "go buildinfo: length")?;
        let s = rest
            .get(n..n + len)
            .ok_or("go buildinfo: string truncated")?;
        strings.push(s);
        rest = &rest[n + len..];
    }
    let go_version = String::from_utf8_lossy(strings[0]).into_owned();
    let mod_raw = strings[1];
    let modinfo = if mod_raw.len() >= 2 * MODINFO_START {
        String::from_utf8_lossy(&mod_raw[MODINFO_START..mod_raw.len() - MODINFO_START]).into_owned()
    } else {
        String::new()
    };
    let mut info = GoBuildInfo {
        go_version,
        ..Default::default()
    };
    for line in modinfo.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["path", p, ..] => info.path = p.to_string(),
            ["mod", p, v, ..] => info.main = Some((p.to_string(), v.to_string())),
            ["mod", p] => info.main = Some((p.to_string(), String::new())),
            ["dep", p, v, ..] => info.deps.push((p.to_string(), v.to_string())),
            ["=>", p, v, ..] => {
                if let Some(last) = info.deps.last_mut() {
                    *last = (p.to_string(), v.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(Some(info))
}

fn go_purl(path: &str, version: &str) -> String {
    let (ns, name) = path.rsplit_once('/').unwrap_or(("", path));
    purl::build("golang", Some(ns), name, version, &[])
}

pub fn go_packages(info: &GoBuildInfo) -> Vec<Package> {
    let mut out = Vec::new();
    if let Some((p, v)) = &info.main {
        let v = if v.is_empty() { "(devel)" } else { v.as_str() };
        let purl_v = if v == "(devel)" { "" } else { v };
        let mut pkg = new_package(
            p,
            v,
            PackageType::GoModule,
            go_purl(p, purl_v),
            "go-module-binary-cataloger",
        );
        pkg.group = Some("main".into());
        out.push(pkg);
    }
    for (p, v) in &info.deps {
        out.push(new_package(
            p,
            v,
            PackageType::GoModule,
            go_purl(p, v),
            "go-module-binary-cataloger",
        ));
    }
    if let Some(ver) = info.go_version.strip_prefix("go") {
        let ver = ver.split([' ', '-']).next().unwrap_or(ver);
        out.push(new_package(
            "stdlib",
            &format!("go{ver}"),
            PackageType::GoModule,
            purl::build("golang", None, "stdlib", &format!("go{ver}"), &[]),
            "go-module-binary-cataloger",
        ));
    }
    out
}

/// The content of an ELF section by name (32/64-bit, either byte order).
pub fn elf_section<'a>(data: &'a [u8], wanted: &str) -> Option<&'a [u8]> {
    let class64 = *data.get(4)? == 2;
    let le = *data.get(5)? == 1;
    let rd = |at: usize, n: usize| -> Option<u64> {
        let s = data.get(at..at + n)?;
        let mut v = 0u64;
        for i in 0..n {
            let b = if le { s[n - 1 - i] } else { s[i] };
            v = (v << 8) | u64::from(b);
        }
        Some(v)
    };
    let (shoff, shentsize, shnum, shstrndx) = if class64 {
        (rd(0x28, 8)?, rd(0x3a, 2)?, rd(0x3c, 2)?, rd(0x3e, 2)?)
    } else {
        (rd(0x20, 4)?, rd(0x2e, 2)?, rd(0x30, 2)?, rd(0x32, 2)?)
    };
    let (shoff, shentsize, shnum, shstrndx) = (
        shoff as usize,
        shentsize as usize,
        shnum as usize,
        shstrndx as usize,
    );
    if shnum > 65535 || shentsize < if class64 { 64 } else { 40 } {
        return None;
    }
    let section = |i: usize| -> Option<(u64, usize, usize)> {
        let base = shoff.checked_add(i.checked_mul(shentsize)?)?;
        if class64 {
            Some((
                rd(base, 4)?,
                rd(base + 0x18, 8)? as usize,
                rd(base + 0x20, 8)? as usize,
            ))
        } else {
            Some((
                rd(base, 4)?,
                rd(base + 0x10, 4)? as usize,
                rd(base + 0x14, 4)? as usize,
            ))
        }
    };
    let (_, str_off, str_size) = section(shstrndx)?;
    let strtab = data.get(str_off..str_off.checked_add(str_size)?)?;
    for i in 0..shnum {
        let (name_off, off, size) = section(i)?;
        let name = strtab.get(name_off as usize..)?;
        let end = name.iter().position(|&b| b == 0)?;
        if &name[..end] == wanted.as_bytes() {
            return data.get(off..off.checked_add(size)?);
        }
    }
    None
}

#[derive(Deserialize)]
struct AuditableDeps {
    packages: Vec<AuditablePackage>,
}

#[derive(Deserialize)]
struct AuditablePackage {
    name: String,
    version: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    kind: String,
}

pub fn auditable_packages(section: &[u8]) -> Result<Vec<Package>, String> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(section)
        .take(8 << 20)
        .read_to_end(&mut json)
        .map_err(|e| format!("cargo-auditable: {e}"))?;
    let deps: AuditableDeps =
        serde_json::from_slice(&json).map_err(|e| format!("cargo-auditable: {e}"))?;
    Ok(deps
        .packages
        .into_iter()
        .filter(|p| p.kind != "build")
        .map(|p| {
            let mut pkg = new_package(
                &p.name,
                &p.version,
                PackageType::RustCrate,
                purl::build("cargo", None, &p.name, &p.version, &[]),
                "cargo-auditable-binary-cataloger",
            );
            if p.source == "local" {
                pkg.group = Some("local".into());
            }
            pkg
        })
        .collect())
}

/// Builds the inline-format build info blob (tests and fuzz seeds).
pub fn build_go_buildinfo(go_version: &str, modinfo: &str) -> Vec<u8> {
    let mut b = GO_MAGIC.to_vec();
    b.push(8);
    b.push(2);
    b.resize(32, 0);
    let mut push = |s: &[u8]| {
        let mut n = s.len() as u64;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                b.push(byte);
                break;
            }
            b.push(byte | 0x80);
        }
        b.extend_from_slice(s);
    };
    push(go_version.as_bytes());
    let mut m = vec![0u8; MODINFO_START];
    m.extend_from_slice(modinfo.as_bytes());
    m.extend_from_slice(&[0u8; MODINFO_START]);
    push(&m);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_go_buildinfo() {
        let mut bin = b"\x7fELF".to_vec();
        bin.resize(64, 0);
        bin.extend(build_go_buildinfo(
            "go1.22.1",
            "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgithub.com/a/b\tv1.0.0\th1:x\ndep\tgolang.org/x/net\tv0.1.0\th1:y\n=>\tgolang.org/x/net\tv0.2.0\th1:z\n",
        ));
        let pkgs = packages(&bin).unwrap();
        let names: Vec<_> = pkgs
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        assert_eq!(
            names,
            [
                "example.com/app@(devel)",
                "github.com/a/b@v1.0.0",
                "golang.org/x/net@v0.2.0",
                "stdlib@go1.22.1"
            ]
        );
        assert_eq!(pkgs[1].purl, "pkg:golang/github.com/a/b@v1.0.0");
    }

    #[test]
    fn truncated_buildinfo_is_an_error_not_a_panic() {
        let mut bin = vec![0u8; 16];
        bin.extend(&build_go_buildinfo("go1.22", "x")[..34]);
        assert!(go_buildinfo(&bin).is_err());
    }
}
