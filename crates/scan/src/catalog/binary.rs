//! Packages embedded in executables:
//! - Go build info (`\xff Go buildinf:` blob; the Go 1.18+ inline-string format, and the older
//!   pointer format in ELF executables): the main module, its dependencies (with `=>`
//!   replacements applied) and the Go standard library;
//! - cargo-auditable: the zlib-compressed JSON dependency list in the ELF section `.dep-v0`.
use std::io::Read;

use serde::Deserialize;

use super::common::{new_package, purl};
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

/// Finds and decodes Go build info. Ok(None) when the file is not a Go binary; Err when the
/// build info is damaged or in a container berth does not map (pre-1.18 format outside ELF).
///
/// Two header formats, as Go's `debug/buildinfo` reads them: since Go 1.18 (flag bit 2) the
/// version and module strings follow the 32-byte header inline, as varint-prefixed bytes;
/// before, the header holds two pointers (virtual addresses, `ptr_size` bytes, byte order from
/// flag bit 1) to Go string headers `{data pointer, length}` that must be mapped to file
/// offsets through the executable's load segments.
pub fn go_buildinfo(data: &[u8]) -> Result<Option<GoBuildInfo>, String> {
    let finder = memchr::memmem::Finder::new(GO_MAGIC);
    let Some(pos) = finder.find_iter(data).find(|p| p % 16 == 0) else {
        return Ok(None);
    };
    decode_go_buildinfo(data, pos).map(Some)
}

/// Decodes the build info whose header starts at `pos` in `data` (the whole file: the
/// pre-1.18 format points into it).
fn decode_go_buildinfo(data: &[u8], pos: usize) -> Result<GoBuildInfo, String> {
    let hdr = data
        .get(pos..pos + 32)
        .ok_or("go buildinfo header truncated")?;
    let ptr_size = usize::from(hdr[14]);
    let flags = hdr[15];
    let (go_version, mod_raw) = if flags & 2 != 0 {
        let mut rest = &data[pos + 32..];
        let mut strings = Vec::new();
        for _ in 0..2 {
            let (len, n) = uvarint(rest).ok_or("go buildinfo: bad varint")?;
            let len = usize::try_from(len).map_err(|_| "go buildinfo: length")?;
            let s = rest
                .get(n..n.checked_add(len).ok_or("go buildinfo: length")?)
                .ok_or("go buildinfo: string truncated")?;
            strings.push(s);
            rest = &rest[n + len..];
        }
        (strings[0], strings[1])
    } else {
        if ptr_size != 4 && ptr_size != 8 {
            return Err(format!("go buildinfo: pointer size {ptr_size}"));
        }
        let big_endian = flags & 1 != 0;
        let segments = elf_load_segments(data).ok_or(
            "Go build info in the pre-1.18 pointer format is read from ELF executables only",
        )?;
        let mem = PtrReader {
            data,
            segments,
            ptr_size,
            big_endian,
        };
        let version_addr = mem.uint(&hdr[16..16 + ptr_size]);
        let mod_addr = mem.uint(&hdr[16 + ptr_size..16 + 2 * ptr_size]);
        (
            mem.go_string(version_addr)
                .ok_or("go buildinfo (pre-1.18): version string not mapped")?,
            // Go reads an unmapped module string as empty (built without module support).
            mem.go_string(mod_addr).unwrap_or_default(),
        )
    };
    let go_version = String::from_utf8_lossy(go_version).into_owned();
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
    Ok(info)
}

/// Bytes kept from the build info header on, in a file streamed past: the header (32 bytes) and
/// the two inline strings, the module list being the long one (a few KiB for a program with
/// hundreds of dependencies; 1 MiB is the most the pre-1.18 reader accepts too).
const STREAMED_BUILDINFO_MAX: usize = (1 << 20) + 64;

/// Finds Go build info in a file read as a stream, for executables too large to hold in memory
/// (Go binaries of 100 MB and more are common). Since Go 1.18 the version and module strings
/// follow the header inline, so the bytes after the first 16-aligned magic are all it needs;
/// the older pointer format points elsewhere in the file, which has streamed past by then, and
/// is reported as not read. Memory: 13 bytes of overlap between chunks, and at most
/// `STREAMED_BUILDINFO_MAX` bytes once the magic is found.
#[derive(Debug, Default)]
pub struct GoBuildInfoStream {
    /// Bytes fed so far.
    offset: u64,
    /// The end of what was fed, for a magic split across two chunks.
    tail: Vec<u8>,
    /// The bytes from the magic on, once found.
    found: Option<Vec<u8>>,
}

impl GoBuildInfoStream {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        let start = self.offset;
        self.offset += chunk.len() as u64;
        if let Some(found) = &mut self.found {
            let room = STREAMED_BUILDINFO_MAX.saturating_sub(found.len());
            found.extend_from_slice(&chunk[..room.min(chunk.len())]);
            return;
        }
        let aligned = |at: u64| at.is_multiple_of(16);
        // A magic that begins in the tail and ends in this chunk.
        let tail_start = start - self.tail.len() as u64;
        let mut seam = std::mem::take(&mut self.tail);
        let seam_len = seam.len();
        seam.extend_from_slice(&chunk[..chunk.len().min(GO_MAGIC.len() - 1)]);
        let finder = memchr::memmem::Finder::new(GO_MAGIC);
        let hit = finder
            .find_iter(&seam)
            .find(|&p| p < seam_len && aligned(tail_start + p as u64))
            .map(|p| {
                let mut v = seam[p..seam_len].to_vec();
                v.extend_from_slice(chunk);
                v
            })
            .or_else(|| {
                finder
                    .find_iter(chunk)
                    .find(|&p| aligned(start + p as u64))
                    .map(|p| chunk[p..].to_vec())
            });
        if let Some(mut v) = hit {
            v.truncate(STREAMED_BUILDINFO_MAX);
            self.found = Some(v);
            return;
        }
        // The last bytes fed, for the next seam (a chunk shorter than that: `seam` is the old
        // tail and the whole chunk).
        let keep = GO_MAGIC.len() - 1;
        self.tail = if chunk.len() >= keep {
            chunk[chunk.len() - keep..].to_vec()
        } else {
            seam[seam.len().saturating_sub(keep)..].to_vec()
        };
    }

    /// The build info, if the stream held some.
    pub fn finish(self) -> Result<Option<GoBuildInfo>, String> {
        let Some(found) = self.found else {
            return Ok(None);
        };
        if found.get(15).is_some_and(|flags| flags & 2 == 0) {
            return Err(
                "Go build info in the pre-1.18 pointer format is not read from a file \
                        too large to hold in memory"
                    .into(),
            );
        }
        decode_go_buildinfo(&found, 0).map(Some)
    }
}

/// `PT_LOAD` segments of an ELF file: (virtual address, file offset, file size).
fn elf_load_segments(data: &[u8]) -> Option<Vec<(u64, u64, u64)>> {
    if !data.starts_with(b"\x7fELF") {
        return None;
    }
    let class64 = *data.get(4)? == 2;
    let le = *data.get(5)? == 1;
    let rd = |at: usize, n: usize| -> Option<u64> {
        let s = data.get(at..at.checked_add(n)?)?;
        Some(read_uint(s, !le))
    };
    let (phoff, phentsize, phnum) = if class64 {
        (rd(0x20, 8)?, rd(0x36, 2)?, rd(0x38, 2)?)
    } else {
        (rd(0x1c, 4)?, rd(0x2a, 2)?, rd(0x2c, 2)?)
    };
    let (phoff, phentsize) = (
        usize::try_from(phoff).ok()?,
        usize::try_from(phentsize).ok()?,
    );
    if phentsize < if class64 { 56 } else { 32 } {
        return None;
    }
    let mut out = Vec::new();
    for i in 0..usize::try_from(phnum).ok()? {
        let base = phoff.checked_add(i.checked_mul(phentsize)?)?;
        const PT_LOAD: u64 = 1;
        if rd(base, 4)? != PT_LOAD {
            continue;
        }
        out.push(if class64 {
            (
                rd(base + 0x10, 8)?,
                rd(base + 0x08, 8)?,
                rd(base + 0x20, 8)?,
            )
        } else {
            (
                rd(base + 0x08, 4)?,
                rd(base + 0x04, 4)?,
                rd(base + 0x10, 4)?,
            )
        });
    }
    Some(out)
}

fn read_uint(s: &[u8], big_endian: bool) -> u64 {
    let fold = |v: u64, b: &u8| (v << 8) | u64::from(*b);
    if big_endian {
        s.iter().fold(0, fold)
    } else {
        s.iter().rev().fold(0, fold)
    }
}

/// Reads a pre-1.18 Go binary's memory through its load segments.
struct PtrReader<'a> {
    data: &'a [u8],
    segments: Vec<(u64, u64, u64)>,
    ptr_size: usize,
    big_endian: bool,
}

impl<'a> PtrReader<'a> {
    fn uint(&self, s: &[u8]) -> u64 {
        read_uint(s, self.big_endian)
    }

    /// `size` bytes at virtual address `addr`, from the one segment that holds them all.
    fn read(&self, addr: u64, size: u64) -> Option<&'a [u8]> {
        let &(vaddr, off, filesz) = self
            .segments
            .iter()
            .find(|&&(v, _, f)| v <= addr && addr - v < f)?;
        if (addr - vaddr).checked_add(size)? > filesz {
            return None;
        }
        let start = usize::try_from(off.checked_add(addr - vaddr)?).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        self.data.get(start..end)
    }

    /// A Go string header `{data, len}` at `addr`, and the bytes it points at (at most 1 MiB).
    fn go_string(&self, addr: u64) -> Option<&'a [u8]> {
        let p = self.ptr_size;
        let hdr = self.read(addr, 2 * p as u64)?;
        let data_addr = self.uint(&hdr[..p]);
        let len = self.uint(&hdr[p..2 * p]);
        if len > 1 << 20 {
            return None;
        }
        self.read(data_addr, len)
    }
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
        let s = data.get(at..at.checked_add(n)?)?;
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
        let field = |off: usize, n: usize| rd(base.checked_add(off)?, n);
        if class64 {
            Some((
                field(0, 4)?,
                field(0x18, 8)? as usize,
                field(0x20, 8)? as usize,
            ))
        } else {
            Some((
                field(0, 4)?,
                field(0x10, 4)? as usize,
                field(0x14, 4)? as usize,
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

/// Builds a minimal ELF executable holding pre-1.18 (pointer-format) Go build info: one
/// `PT_LOAD` segment mapping the whole file at `0x400000`, the 32-byte header at offset 0x100,
/// the two Go string headers after it, the string bytes after those (tests and fuzz seeds).
pub fn build_go_buildinfo_pre118(
    go_version: &str,
    modinfo: &str,
    class64: bool,
    big_endian: bool,
) -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    let ptr = if class64 { 8usize } else { 4 };
    let put = |buf: &mut Vec<u8>, at: usize, v: u64, n: usize| {
        let bytes: Vec<u8> = (0..n)
            .map(|i| {
                let shift = if big_endian { 8 * (n - 1 - i) } else { 8 * i };
                ((v >> shift) & 0xff) as u8
            })
            .collect();
        buf[at..at + n].copy_from_slice(&bytes);
    };
    let mut m = vec![0u8; MODINFO_START];
    m.extend_from_slice(modinfo.as_bytes());
    m.extend_from_slice(&[0u8; MODINFO_START]);
    let hdr_at = 0x100usize;
    let strhdr_at = hdr_at + 32;
    let version_at = strhdr_at + 4 * ptr;
    let mod_at = version_at + go_version.len();
    let total = mod_at + m.len();
    let mut b = vec![0u8; total];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = if class64 { 2 } else { 1 };
    b[5] = if big_endian { 2 } else { 1 };
    b[6] = 1;
    let (phoff, phentsize) = if class64 {
        (0x40usize, 56usize)
    } else {
        (0x34, 32)
    };
    if class64 {
        put(&mut b, 0x20, phoff as u64, 8);
        put(&mut b, 0x36, phentsize as u64, 2);
        put(&mut b, 0x38, 1, 2);
        put(&mut b, phoff, 1, 4); // PT_LOAD
        put(&mut b, phoff + 0x08, 0, 8);
        put(&mut b, phoff + 0x10, BASE, 8);
        put(&mut b, phoff + 0x20, total as u64, 8);
        put(&mut b, phoff + 0x28, total as u64, 8);
    } else {
        put(&mut b, 0x1c, phoff as u64, 4);
        put(&mut b, 0x2a, phentsize as u64, 2);
        put(&mut b, 0x2c, 1, 2);
        put(&mut b, phoff, 1, 4);
        put(&mut b, phoff + 0x04, 0, 4);
        put(&mut b, phoff + 0x08, BASE, 4);
        put(&mut b, phoff + 0x10, total as u64, 4);
        put(&mut b, phoff + 0x14, total as u64, 4);
    }
    b[hdr_at..hdr_at + GO_MAGIC.len()].copy_from_slice(GO_MAGIC);
    b[hdr_at + 14] = ptr as u8;
    b[hdr_at + 15] = u8::from(big_endian);
    let va = |off: usize| BASE + off as u64;
    put(&mut b, hdr_at + 16, va(strhdr_at), ptr);
    put(&mut b, hdr_at + 16 + ptr, va(strhdr_at + 2 * ptr), ptr);
    put(&mut b, strhdr_at, va(version_at), ptr);
    put(&mut b, strhdr_at + ptr, go_version.len() as u64, ptr);
    put(&mut b, strhdr_at + 2 * ptr, va(mod_at), ptr);
    put(&mut b, strhdr_at + 3 * ptr, m.len() as u64, ptr);
    b[version_at..mod_at].copy_from_slice(go_version.as_bytes());
    b[mod_at..].copy_from_slice(&m);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_headers_at_the_end_of_the_address_space_are_no_section() {
        let mut elf = vec![0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2; // 64-bit
        elf[5] = 1; // little-endian
        elf[0x28..0x30].copy_from_slice(&0xFFFF_FFFF_FFFF_FFFEu64.to_le_bytes());
        elf[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        elf[0x3c..0x3e].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(elf_section(&elf, ".dep-v0"), None);
        assert!(packages(&elf).is_ok());
    }

    #[test]
    fn reads_pre_go118_pointer_format_buildinfo() {
        let modinfo = "path\texample.com/old\nmod\texample.com/old\tv1.2.3\th1:a\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:b\n";
        for (class64, big_endian) in [(true, false), (false, false), (true, true), (false, true)] {
            let bin = build_go_buildinfo_pre118("go1.16.15", modinfo, class64, big_endian);
            let info = go_buildinfo(&bin).unwrap().unwrap();
            assert_eq!(info.go_version, "go1.16.15", "{class64} {big_endian}");
            assert_eq!(info.path, "example.com/old");
            assert_eq!(info.main, Some(("example.com/old".into(), "v1.2.3".into())));
            assert_eq!(
                info.deps,
                [("github.com/pkg/errors".to_string(), "v0.9.1".to_string())]
            );
            let names: Vec<_> = packages(&bin)
                .unwrap()
                .iter()
                .map(|p| format!("{}@{}", p.name, p.version))
                .collect();
            assert_eq!(
                names,
                [
                    "example.com/old@v1.2.3",
                    "github.com/pkg/errors@v0.9.1",
                    "stdlib@go1.16.15"
                ]
            );
        }
    }

    #[test]
    fn pre_go118_pointers_outside_the_file_are_errors_not_panics() {
        let mut bin = build_go_buildinfo_pre118("go1.16", "x", true, false);
        // Point the version string header far outside every segment.
        bin[0x100 + 16..0x100 + 24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(go_buildinfo(&bin).is_err());
        // A huge length in the version string header.
        let mut bin = build_go_buildinfo_pre118("go1.16", "x", true, false);
        bin[0x120 + 8..0x120 + 16].copy_from_slice(&(u64::MAX - 3).to_le_bytes());
        assert!(go_buildinfo(&bin).is_err());
        // Not ELF: a clear error.
        let mut bin = vec![0u8; 16];
        bin.extend(&build_go_buildinfo_pre118("go1.16", "x", true, false)[0x100..0x120]);
        let err = go_buildinfo(&bin).unwrap_err();
        assert!(err.contains("ELF"), "{err}");
    }

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

    /// The streamed reader finds what the whole-file reader finds, wherever the chunks split
    /// the magic, and only at 16-aligned offsets.
    #[test]
    fn streamed_go_buildinfo_matches_the_whole_file_reader() {
        let modinfo = "path\texample.com/big\nmod\texample.com/big\tv1.0.0\th1:a\ndep\tgithub.com/a/b\tv1.2.3\th1:b\n";
        let blob = build_go_buildinfo("go1.22.1", modinfo);
        for lead in [16usize, 64, 4096, 70_000] {
            let mut bin = b"\x7fELF".to_vec();
            bin.resize(lead, 0);
            // An unaligned magic before the real one is not build info.
            if lead >= 64 {
                bin[17..17 + GO_MAGIC.len()].copy_from_slice(GO_MAGIC);
            }
            bin.extend_from_slice(&blob);
            bin.extend_from_slice(&[0u8; 100]);
            let want = go_buildinfo(&bin).unwrap().unwrap();
            for chunk in [1usize, 5, 13, 14, 15, 16, 17, 64, 4096, 1 << 20] {
                let mut s = GoBuildInfoStream::new();
                for c in bin.chunks(chunk) {
                    s.feed(c);
                }
                assert_eq!(s.finish().unwrap().as_ref(), Some(&want), "{lead} {chunk}");
            }
        }
        let mut s = GoBuildInfoStream::new();
        s.feed(&[0u8; 10_000]);
        assert_eq!(s.finish().unwrap(), None);
        // The pointer format needs the rest of the file: a clear error.
        let old = build_go_buildinfo_pre118("go1.16", "x", true, false);
        let mut s = GoBuildInfoStream::new();
        s.feed(&old);
        assert!(s.finish().unwrap_err().contains("pre-1.18"));
        // A header cut short is an error, not a panic.
        let mut s = GoBuildInfoStream::new();
        s.feed(&blob[..20]);
        assert!(s.finish().is_err());
    }

    #[test]
    fn truncated_buildinfo_is_an_error_not_a_panic() {
        let mut bin = vec![0u8; 16];
        bin.extend(&build_go_buildinfo("go1.22", "x")[..34]);
        assert!(go_buildinfo(&bin).is_err());
    }
}
