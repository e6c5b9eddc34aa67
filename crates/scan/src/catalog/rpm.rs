//! rpm: the three rpmdb formats, all holding the same header blobs.
//! - sqlite `rpmdb.sqlite` (RHEL 9, Fedora 33+): table `Packages(hnum, blob)`;
//! - Berkeley DB hash `Packages` (RHEL/CentOS 7 and 8): values on overflow pages;
//! - NDB `Packages.db` (SUSE): slot pages pointing at blobs.
//!
//! Every parser is bounds-checked: a corrupt database yields an error, never a panic.
use super::common::{Found, new_package, purl};
use crate::fs::Filesystem;
use crate::model::{Distro, PackageType};

pub fn is_rpmdb(path: &str) -> bool {
    let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
    (dir.ends_with("/rpm") || dir.ends_with("/rpmdb"))
        && matches!(base, "rpmdb.sqlite" | "Packages" | "Packages.db")
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmHeader {
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<i32>,
    pub arch: String,
    pub source_rpm: String,
    pub license: String,
    pub vendor: String,
}

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_VENDOR: u32 = 1011;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Parses an rpm header blob as stored in the rpmdb (no lead, no header magic).
pub fn parse_header(blob: &[u8]) -> Result<RpmHeader, String> {
    let il = be32(blob, 0).ok_or("header blob too short")? as usize;
    let dl = be32(blob, 4).ok_or("header blob too short")? as usize;
    if il > 0x10000 || dl > 0x1000_0000 {
        return Err(format!("implausible header sizes il={il} dl={dl}"));
    }
    let data_start = 8 + il * 16;
    let data = blob
        .get(data_start..data_start + dl)
        .ok_or("header blob truncated")?;
    let mut h = RpmHeader::default();
    for i in 0..il {
        let at = 8 + i * 16;
        let (Some(tag), Some(ty), Some(off)) =
            (be32(blob, at), be32(blob, at + 4), be32(blob, at + 8))
        else {
            return Err("header index truncated".into());
        };
        let off = off as usize;
        let string = || -> Option<String> {
            let s = data.get(off..)?;
            let end = s.iter().position(|&b| b == 0)?;
            Some(String::from_utf8_lossy(&s[..end]).into_owned())
        };
        match (tag, ty) {
            (TAG_NAME, 6 | 9) => h.name = string().unwrap_or_default(),
            (TAG_VERSION, 6 | 9) => h.version = string().unwrap_or_default(),
            (TAG_RELEASE, 6 | 9) => h.release = string().unwrap_or_default(),
            (TAG_ARCH, 6 | 9) => h.arch = string().unwrap_or_default(),
            (TAG_SOURCERPM, 6 | 9) => h.source_rpm = string().unwrap_or_default(),
            (TAG_LICENSE, 6 | 9) => h.license = string().unwrap_or_default(),
            (TAG_VENDOR, 6 | 9) => h.vendor = string().unwrap_or_default(),
            (TAG_EPOCH, 4) => h.epoch = be32(data, off).map(|v| v as i32),
            _ => {}
        }
    }
    if h.name.is_empty() {
        return Err("header has no name".into());
    }
    Ok(h)
}

/// Reads every header blob of an sqlite rpmdb.
pub fn sqlite_blobs(db: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if !db.starts_with(b"SQLite format 3\0") {
        return Err("not an sqlite database".into());
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("rpmdb.sqlite");
    std::fs::write(&path, db).map_err(|e| e.to_string())?;
    let conn = rusqlite::Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages")
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r.map_err(|e| e.to_string())?);
    }
    Ok(out)
}

const BDB_HASH_MAGIC: u32 = 0x0006_1561;
const BDB_PAGE_HEADER: usize = 26;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASH: u8 = 13;
const H_OFFPAGE: u8 = 3;

/// Reads every value of a Berkeley DB hash database (the rpm `Packages` file).
pub fn bdb_blobs(db: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let magic_le = le32(db, 12).ok_or("bdb: too short")?;
    let little = if magic_le == BDB_HASH_MAGIC {
        true
    } else if be32(db, 12) == Some(BDB_HASH_MAGIC) {
        false
    } else {
        return Err("bdb: not a Berkeley DB hash database".into());
    };
    let u32_at = |b: &[u8], at: usize| if little { le32(b, at) } else { be32(b, at) };
    let u16_at = |b: &[u8], at: usize| -> Option<u16> {
        let s = b.get(at..at + 2)?;
        Some(if little {
            u16::from_le_bytes([s[0], s[1]])
        } else {
            u16::from_be_bytes([s[0], s[1]])
        })
    };
    let page_size = u32_at(db, 20).ok_or("bdb: no page size")? as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(format!("bdb: bad page size {page_size}"));
    }
    let last_page = u32_at(db, 32).ok_or("bdb: no last page")? as usize;
    let pages = db.len() / page_size;
    let page = |n: usize| db.get(n * page_size..(n + 1) * page_size);
    let mut out = Vec::new();
    for n in 1..=last_page.min(pages.saturating_sub(1)) {
        let Some(p) = page(n) else { break };
        let ptype = p[25];
        if ptype != P_HASH && ptype != P_HASH_UNSORTED {
            continue;
        }
        let entries = u16_at(p, 20).ok_or("bdb: page header")? as usize;
        // Items alternate key, value; values are the odd ones.
        for i in (1..entries).step_by(2) {
            let off = u16_at(p, BDB_PAGE_HEADER + i * 2).ok_or("bdb: item index")? as usize;
            let item = p.get(off..).ok_or("bdb: item offset")?;
            if item.first() != Some(&H_OFFPAGE) {
                continue;
            }
            let mut pgno = u32_at(item, 4).ok_or("bdb: off-page item")? as usize;
            let total = u32_at(item, 8).ok_or("bdb: off-page item")? as usize;
            if total > db.len() {
                return Err("bdb: value longer than the file".into());
            }
            let mut value = Vec::with_capacity(total);
            let mut hops = 0;
            while pgno != 0 {
                hops += 1;
                if hops > pages {
                    return Err("bdb: overflow page loop".into());
                }
                let op = page(pgno).ok_or("bdb: overflow page out of range")?;
                if op[25] != P_OVERFLOW {
                    return Err(format!("bdb: page {pgno} is not an overflow page"));
                }
                let next = u32_at(op, 16).ok_or("bdb: overflow header")? as usize;
                let used = u16_at(op, 22).ok_or("bdb: overflow header")? as usize;
                let chunk = if next == 0 {
                    op.get(BDB_PAGE_HEADER..BDB_PAGE_HEADER + used)
                        .ok_or("bdb: overflow length")?
                } else {
                    &op[BDB_PAGE_HEADER..]
                };
                value.extend_from_slice(chunk);
                pgno = next;
            }
            value.truncate(total);
            out.push(value);
        }
    }
    Ok(out)
}

const NDB_HEADER_MAGIC: u32 = u32::from_le_bytes(*b"RpmP");
const NDB_SLOT_MAGIC: u32 = u32::from_le_bytes(*b"Slot");
const NDB_BLOB_MAGIC: u32 = u32::from_le_bytes(*b"BlbS");
const NDB_PAGE_SIZE: usize = 4096;

/// Reads every header blob of an NDB rpmdb (`Packages.db`).
pub fn ndb_blobs(db: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if le32(db, 0) != Some(NDB_HEADER_MAGIC) {
        return Err("ndb: bad magic".into());
    }
    if le32(db, 4) != Some(0) {
        return Err("ndb: unsupported version".into());
    }
    let slot_pages = le32(db, 12).ok_or("ndb: header")? as usize;
    if slot_pages == 0 || slot_pages * NDB_PAGE_SIZE > db.len() {
        return Err("ndb: slot pages out of range".into());
    }
    let nslots = slot_pages * NDB_PAGE_SIZE / 16 - 2;
    let mut out = Vec::new();
    for i in 0..nslots {
        let at = 32 + i * 16;
        let (Some(magic), Some(idx), Some(blk_off), Some(_cnt)) = (
            le32(db, at),
            le32(db, at + 4),
            le32(db, at + 8),
            le32(db, at + 12),
        ) else {
            return Err("ndb: slot table truncated".into());
        };
        if magic != NDB_SLOT_MAGIC {
            return Err(format!("ndb: bad slot magic at slot {i}"));
        }
        if idx == 0 {
            continue;
        }
        let off = blk_off as usize * 16;
        if le32(db, off) != Some(NDB_BLOB_MAGIC) || le32(db, off + 4) != Some(idx) {
            return Err(format!("ndb: bad blob header for package {idx}"));
        }
        let len = le32(db, off + 12).ok_or("ndb: blob header")? as usize;
        let blob = db
            .get(off + 16..off + 16 + len)
            .ok_or("ndb: blob truncated")?;
        out.push(blob.to_vec());
    }
    Ok(out)
}

/// Header blobs of any of the three formats, sniffed from the content.
pub fn blobs(db: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if db.starts_with(b"SQLite format 3\0") {
        sqlite_blobs(db)
    } else if db.starts_with(b"RpmP") {
        ndb_blobs(db)
    } else {
        bdb_blobs(db)
    }
}

pub fn catalog(fs: &Filesystem, distro: Option<&Distro>, warnings: &mut Vec<String>) -> Vec<Found> {
    let mut out = Vec::new();
    let ns = match distro.map(|d| d.id.as_str()) {
        Some("rhel") | Some("centos") | None => "redhat".to_string(),
        Some("opensuse-leap") | Some("opensuse-tumbleweed") | Some("sles") | Some("sle_hpc") => {
            "opensuse".into()
        }
        Some(other) => other.to_string(),
    };
    let dq = purl::distro_qualifier(distro);
    for e in fs.iter().filter(|e| is_rpmdb(&e.path)) {
        let Some(db) = super::common::content(e) else {
            continue;
        };
        // Packages and Packages.db may both exist during a migration; sqlite wins if present.
        let blobs = match blobs(db) {
            Ok(b) => b,
            Err(err) => {
                warnings.push(format!("{}: {err}", e.path));
                continue;
            }
        };
        for blob in blobs {
            let h = match parse_header(&blob) {
                Ok(h) => h,
                Err(err) => {
                    warnings.push(format!("{}: {err}", e.path));
                    continue;
                }
            };
            if h.name == "gpg-pubkey" {
                continue;
            }
            let version = format!("{}-{}", h.version, h.release);
            let p = purl::build(
                "rpm",
                Some(&ns),
                &h.name,
                &version,
                &[
                    ("arch", h.arch.clone()),
                    ("epoch", h.epoch.map(|e| e.to_string()).unwrap_or_default()),
                    ("upstream", h.source_rpm.clone()),
                    ("distro", dq.clone()),
                ],
            );
            let full_version = match h.epoch {
                Some(ep) if ep != 0 => format!("{ep}:{version}"),
                _ => version.clone(),
            };
            let mut pkg = new_package(
                &h.name,
                &full_version,
                PackageType::Rpm,
                p,
                "rpm-db-cataloger",
            );
            pkg.arch = (!h.arch.is_empty()).then(|| h.arch.clone());
            if !h.source_rpm.is_empty() {
                pkg.source_name = Some(source_name(&h.source_rpm));
            }
            pkg.licenses = if h.license.is_empty() {
                vec![]
            } else {
                vec![h.license.clone()]
            };
            out.push(Found {
                pkg,
                path: e.path.clone(),
                layer: e.layer,
            });
        }
    }
    out
}

/// `openssl-3.0.7-24.el9.src.rpm` -> `openssl`.
pub fn source_name(srpm: &str) -> String {
    let s = srpm
        .trim_end_matches(".rpm")
        .trim_end_matches(".src")
        .trim_end_matches(".nosrc");
    let mut parts: Vec<&str> = s.rsplitn(3, '-').collect();
    parts.reverse();
    if parts.len() == 3 {
        parts[0].to_string()
    } else {
        s.to_string()
    }
}

/// Builds a header blob (tests and fuzz seeds).
pub fn build_header(fields: &[(u32, &str)], epoch: Option<i32>) -> Vec<u8> {
    let mut index = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    for (tag, val) in fields {
        index.extend_from_slice(&tag.to_be_bytes());
        index.extend_from_slice(&6u32.to_be_bytes());
        index.extend_from_slice(&(data.len() as u32).to_be_bytes());
        index.extend_from_slice(&1u32.to_be_bytes());
        data.extend_from_slice(val.as_bytes());
        data.push(0);
    }
    if let Some(e) = epoch {
        while !data.len().is_multiple_of(4) {
            data.push(0);
        }
        index.extend_from_slice(&TAG_EPOCH.to_be_bytes());
        index.extend_from_slice(&4u32.to_be_bytes());
        index.extend_from_slice(&(data.len() as u32).to_be_bytes());
        index.extend_from_slice(&1u32.to_be_bytes());
        data.extend_from_slice(&e.to_be_bytes());
    }
    let il = index.len() / 16;
    let mut out = Vec::new();
    out.extend_from_slice(&(il as u32).to_be_bytes());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend(index);
    out.extend(data);
    out
}

/// Header fields for tests: name, version, release, arch, source rpm, license.
pub fn test_header(
    name: &str,
    version: &str,
    release: &str,
    arch: &str,
    srpm: &str,
    epoch: Option<i32>,
) -> Vec<u8> {
    build_header(
        &[
            (TAG_NAME, name),
            (TAG_VERSION, version),
            (TAG_RELEASE, release),
            (TAG_ARCH, arch),
            (TAG_SOURCERPM, srpm),
            (TAG_LICENSE, "MIT"),
        ],
        epoch,
    )
}

/// Builds an NDB database holding `blobs` (tests and fuzz seeds).
pub fn build_ndb(blobs: &[Vec<u8>]) -> Vec<u8> {
    let mut db = vec![0u8; NDB_PAGE_SIZE];
    db[0..4].copy_from_slice(b"RpmP");
    db[12..16].copy_from_slice(&1u32.to_le_bytes());
    let nslots = NDB_PAGE_SIZE / 16 - 2;
    for i in 0..nslots {
        db[32 + i * 16..36 + i * 16].copy_from_slice(b"Slot");
    }
    for (i, b) in blobs.iter().enumerate() {
        let off = db.len();
        let idx = (i + 1) as u32;
        db.extend_from_slice(b"BlbS");
        db.extend_from_slice(&idx.to_le_bytes());
        db.extend_from_slice(&0u32.to_le_bytes());
        db.extend_from_slice(&(b.len() as u32).to_le_bytes());
        db.extend_from_slice(b);
        while !db.len().is_multiple_of(16) {
            db.push(0);
        }
        let s = 32 + i * 16;
        db[s + 4..s + 8].copy_from_slice(&idx.to_le_bytes());
        db[s + 8..s + 12].copy_from_slice(&((off / 16) as u32).to_le_bytes());
        let blocks = ((db.len() - off) / 16) as u32;
        db[s + 12..s + 16].copy_from_slice(&blocks.to_le_bytes());
    }
    db
}

/// Builds a little-endian Berkeley DB hash file with each blob on overflow pages (tests, fuzz).
pub fn build_bdb(blobs: &[Vec<u8>]) -> Vec<u8> {
    const PS: usize = 4096;
    let mut pages: Vec<Vec<u8>> = vec![vec![0u8; PS], vec![0u8; PS]];
    pages[0][12..16].copy_from_slice(&BDB_HASH_MAGIC.to_le_bytes());
    pages[0][20..24].copy_from_slice(&(PS as u32).to_le_bytes());
    pages[1][25] = P_HASH;
    let mut items: Vec<Vec<u8>> = Vec::new();
    for (i, b) in blobs.iter().enumerate() {
        let first = pages.len();
        let chunks: Vec<&[u8]> = b.chunks(PS - BDB_PAGE_HEADER).collect();
        for (j, c) in chunks.iter().enumerate() {
            let mut p = vec![0u8; PS];
            p[8..12].copy_from_slice(&((first + j) as u32).to_le_bytes());
            let next = if j + 1 < chunks.len() {
                (first + j + 1) as u32
            } else {
                0
            };
            p[16..20].copy_from_slice(&next.to_le_bytes());
            p[22..24].copy_from_slice(&(c.len() as u16).to_le_bytes());
            p[25] = P_OVERFLOW;
            p[BDB_PAGE_HEADER..BDB_PAGE_HEADER + c.len()].copy_from_slice(c);
            pages.push(p);
        }
        let mut key = vec![1u8];
        key.extend_from_slice(&(i as u32 + 1).to_le_bytes());
        let mut val = vec![H_OFFPAGE, 0, 0, 0];
        val.extend_from_slice(&(first as u32).to_le_bytes());
        val.extend_from_slice(&(b.len() as u32).to_le_bytes());
        items.push(key);
        items.push(val);
    }
    let last = (pages.len() - 1) as u32;
    pages[0][32..36].copy_from_slice(&last.to_le_bytes());
    let hp = &mut pages[1];
    hp[20..22].copy_from_slice(&(items.len() as u16).to_le_bytes());
    let mut end = PS;
    for (k, item) in items.iter().enumerate() {
        end -= item.len();
        hp[end..end + item.len()].copy_from_slice(item);
        hp[BDB_PAGE_HEADER + k * 2..BDB_PAGE_HEADER + k * 2 + 2]
            .copy_from_slice(&(end as u16).to_le_bytes());
    }
    pages.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_blob() {
        let blob = test_header(
            "openssl-libs",
            "3.0.7",
            "24.el9",
            "x86_64",
            "openssl-3.0.7-24.el9.src.rpm",
            Some(1),
        );
        let h = parse_header(&blob).unwrap();
        assert_eq!(h.name, "openssl-libs");
        assert_eq!(h.epoch, Some(1));
        assert_eq!(source_name(&h.source_rpm), "openssl");
        assert!(parse_header(&blob[..blob.len() - 3]).is_err());
        assert!(parse_header(&[]).is_err());
    }

    #[test]
    fn reads_ndb_and_bdb() {
        let big = test_header(&"x".repeat(9000), "1", "1", "noarch", "x-1-1.src.rpm", None);
        let blobs = vec![
            test_header("bash", "5.1", "2", "x86_64", "bash-5.1-2.src.rpm", None),
            big,
        ];
        assert_eq!(ndb_blobs(&build_ndb(&blobs)).unwrap(), blobs);
        assert_eq!(bdb_blobs(&build_bdb(&blobs)).unwrap(), blobs);
    }

    /// A truncated Berkeley DB file: only whole pages are read. Cut inside the hash page (page 1
    /// of 4 KiB pages), no page of entries is whole: no package and no error (the header's last
    /// page is not checked against the length). Cut after the hash page, before the overflow
    /// pages its entries point to: an error naming the missing page.
    #[test]
    fn truncated_bdb() {
        let blobs = vec![
            test_header("bash", "5.1", "2", "x86_64", "bash-5.1-2.src.rpm", None),
            test_header("zlib", "1.3", "1", "x86_64", "zlib-1.3-1.src.rpm", None),
        ];
        let db = build_bdb(&blobs);
        assert_eq!(bdb_blobs(&db[..5000]), Ok(vec![]));
        assert_eq!(
            bdb_blobs(&db[..2 * 4096 + 100]),
            Err("bdb: overflow page out of range".to_string())
        );
        // Shorter than the metadata page's fields.
        assert_eq!(bdb_blobs(&db[..16]), Err("bdb: no page size".to_string()));
    }
}
