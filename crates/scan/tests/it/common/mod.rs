//! Test images, built by the tests themselves: tar layers written with the `tar` crate,
//! compressed with flate2/zstd, laid out as OCI layouts or docker archives.
#![allow(dead_code)]
use std::io::Write;
use std::path::Path;

use berth_scan::{NoProgress, PlatformSpec, Report, ScanOptions, Scanner};
use sha2::{Digest as _, Sha256};

pub fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// A tar layer under construction.
pub struct Layer {
    b: tar::Builder<Vec<u8>>,
    pub created_by: String,
}

impl Layer {
    pub fn new(created_by: &str) -> Self {
        let mut b = tar::Builder::new(Vec::new());
        b.mode(tar::HeaderMode::Deterministic);
        Layer {
            b,
            created_by: created_by.into(),
        }
    }

    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h
    }

    pub fn file(mut self, path: &str, data: &[u8]) -> Self {
        self = self.file_mode(path, data, 0o644);
        self
    }

    pub fn file_mode(mut self, path: &str, data: &[u8], mode: u32) -> Self {
        let mut h = Self::header(tar::EntryType::Regular, mode, data.len() as u64);
        self.b
            .append_data(&mut h, path.trim_start_matches('/'), data)
            .unwrap();
        self
    }

    pub fn dir(mut self, path: &str, mode: u32) -> Self {
        let mut h = Self::header(tar::EntryType::Directory, mode, 0);
        self.b
            .append_data(&mut h, path.trim_start_matches('/'), std::io::empty())
            .unwrap();
        self
    }

    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Symlink, 0o777, 0);
        self.b
            .append_link(&mut h, path.trim_start_matches('/'), target)
            .unwrap();
        self
    }

    pub fn whiteout(self, path: &str) -> Self {
        let (dir, base) = path.rsplit_once('/').unwrap();
        self.file(&format!("{dir}/.wh.{base}"), b"")
    }

    pub fn opaque(self, dir: &str) -> Self {
        self.file(&format!("{dir}/.wh..wh..opq"), b"")
    }

    pub fn tar(self) -> Vec<u8> {
        self.b.into_inner().unwrap()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Comp {
    None,
    Gzip,
    Zstd,
}

pub fn compress(tar: &[u8], c: Comp) -> Vec<u8> {
    match c {
        Comp::None => tar.to_vec(),
        Comp::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(tar).unwrap();
            e.finish().unwrap()
        }
        Comp::Zstd => zstd::encode_all(tar, 1).unwrap(),
    }
}

pub fn media_type(c: Comp) -> &'static str {
    match c {
        Comp::None => "application/vnd.oci.image.layer.v1.tar",
        Comp::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Comp::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// An image: layers plus config fields.
pub struct Image {
    pub layers: Vec<(Vec<u8>, String)>,
    pub comp: Comp,
    pub config: serde_json::Value,
}

impl Image {
    pub fn new(layers: Vec<Layer>, comp: Comp) -> Image {
        let mut diff_ids = Vec::new();
        let mut history = Vec::new();
        let mut out = Vec::new();
        for l in layers {
            let created_by = l.created_by.clone();
            let tar = l.tar();
            diff_ids.push(sha256(&tar));
            history.push(serde_json::json!({"created_by": created_by}));
            out.push((tar, created_by));
        }
        let config = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"User": "app", "Healthcheck": {"Test": ["CMD", "true"]}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        });
        Image {
            layers: out,
            comp,
            config,
        }
    }

    pub fn with_config(mut self, f: impl FnOnce(&mut serde_json::Value)) -> Image {
        f(&mut self.config);
        self
    }

    /// Writes an OCI image layout; returns the manifest digest.
    pub fn write_oci(&self, dir: &Path) -> String {
        let blobs = dir.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        let put = |b: &[u8]| {
            let d = sha256(b);
            std::fs::write(blobs.join(&d[7..]), b).unwrap();
            d
        };
        let cfg = serde_json::to_vec(&self.config).unwrap();
        let cfg_d = put(&cfg);
        let layers: Vec<serde_json::Value> = self
            .layers
            .iter()
            .map(|(tar, _)| {
                let blob = compress(tar, self.comp);
                let d = put(&blob);
                serde_json::json!({"mediaType": media_type(self.comp), "digest": d, "size": blob.len()})
            })
            .collect();
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_d, "size": cfg.len()},
            "layers": layers,
        }))
        .unwrap();
        let m_d = put(&manifest);
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let index = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m_d, "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": "latest"}}]});
        std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
        m_d
    }

    /// Writes a legacy `docker save` archive (uncompressed layers, `<id>/layer.tar`).
    pub fn write_docker_archive(&self, path: &Path) {
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |name: &str, data: &[u8]| {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name, data).unwrap();
        };
        let cfg = serde_json::to_vec(&self.config).unwrap();
        let cfg_name = format!("{}.json", &sha256(&cfg)[7..]);
        add(&cfg_name, &cfg);
        let mut names = Vec::new();
        for (i, (tar, _)) in self.layers.iter().enumerate() {
            let name = format!("layer{i}/layer.tar");
            add(&name, tar);
            names.push(name);
        }
        let manifest = serde_json::json!([{"Config": cfg_name, "RepoTags": ["test/image:1"], "Layers": names}]);
        add("manifest.json", &serde_json::to_vec(&manifest).unwrap());
        std::fs::write(path, b.into_inner().unwrap()).unwrap();
    }
}

pub fn options() -> ScanOptions {
    ScanOptions {
        threads: 2,
        ..ScanOptions::default()
    }
}

/// Scans an image written as an OCI layout in a temp dir.
pub fn scan(img: &Image) -> Report {
    try_scan(img, options()).unwrap()
}

pub fn try_scan(img: &Image, opts: ScanOptions) -> berth_scan::Result<Report> {
    let dir = tempfile::tempdir().unwrap();
    img.write_oci(dir.path());
    let src = berth_scan::source::OciDirSource::open(dir.path(), None)?;
    Scanner::new(opts)?.scan_image(&src, &PlatformSpec::default(), &NoProgress)
}

/// Writes the layers' files, in order, into a temp directory and scans it as `dir:` (a
/// project checkout or an unpacked root filesystem).
pub fn scan_as_dir(layers: Vec<Layer>, opts: ScanOptions) -> Report {
    let dir = tempfile::tempdir().unwrap();
    for l in layers {
        let tar = l.tar();
        tar::Archive::new(&tar[..]).unpack(dir.path()).unwrap();
    }
    Scanner::new(opts)
        .unwrap()
        .scan_dir(dir.path(), &NoProgress)
        .unwrap()
}

pub fn names(r: &Report, kind: &str) -> Vec<String> {
    r.packages
        .iter()
        .filter(|p| p.kind.as_str() == kind)
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect()
}

pub const DEBIAN_OS_RELEASE: &[u8] = b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";

/// A minimal ELF64 little-endian file with the given named sections.
pub fn elf_with_sections(sections: &[(&str, &[u8])]) -> Vec<u8> {
    let mut data = vec![0u8; 64];
    data[0..4].copy_from_slice(b"\x7fELF");
    data[4] = 2; // 64-bit
    data[5] = 1; // little endian
    data[6] = 1;
    let mut shstr = vec![0u8];
    let mut headers: Vec<(u32, u64, u64)> = vec![(0, 0, 0)];
    for (name, content) in sections {
        let name_off = shstr.len() as u32;
        shstr.extend_from_slice(name.as_bytes());
        shstr.push(0);
        let off = data.len() as u64;
        data.extend_from_slice(content);
        headers.push((name_off, off, content.len() as u64));
    }
    let name_off = shstr.len() as u32;
    shstr.extend_from_slice(b".shstrtab\0");
    let off = data.len() as u64;
    data.extend_from_slice(&shstr);
    headers.push((name_off, off, shstr.len() as u64));
    while !data.len().is_multiple_of(8) {
        data.push(0);
    }
    let shoff = data.len() as u64;
    for (name, off, size) in &headers {
        let mut sh = vec![0u8; 64];
        sh[0..4].copy_from_slice(&name.to_le_bytes());
        sh[0x18..0x20].copy_from_slice(&off.to_le_bytes());
        sh[0x20..0x28].copy_from_slice(&size.to_le_bytes());
        data.extend_from_slice(&sh);
    }
    data[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
    data[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
    data[0x3c..0x3e].copy_from_slice(&(headers.len() as u16).to_le_bytes());
    data[0x3e..0x40].copy_from_slice(&((headers.len() - 1) as u16).to_le_bytes());
    data
}

/// A zip (jar) with the given entries, stored uncompressed or deflated.
pub fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The EICAR test string, assembled at run time so this source file is not itself flagged.
pub fn eicar() -> Vec<u8> {
    [
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
        "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat()
    .into_bytes()
}
