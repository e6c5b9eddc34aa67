//! Where images come from. The engine sees only [`ImageSource`]: manifests by digest and blobs as
//! `Read` streams. This crate implements it for registries (OCI distribution API), OCI layouts,
//! docker archives and images stored in berth itself ([`berth::StoredImageSource`], over
//! berth-store's traits). `dir:` sources have no image and are walked directly (see
//! `crate::scan_dir`).
use std::io::Read;
use std::path::{Path, PathBuf};

use berth_oci::{Descriptor, Digest, ManifestKind, ParsedManifest};

use crate::error::{Result, ScanError};

pub mod registry;

/// Largest manifest or config the scanner loads.
pub const MAX_JSON: u64 = 16 << 20;

/// A platform selector: `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformSpec {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

impl Default for PlatformSpec {
    fn default() -> Self {
        PlatformSpec {
            os: "linux".into(),
            arch: "amd64".into(),
            variant: None,
        }
    }
}

impl std::str::FromStr for PlatformSpec {
    type Err = ScanError;
    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] => Ok(PlatformSpec {
                os: os.to_string(),
                arch: arch.to_string(),
                variant: None,
            }),
            [os, arch, v] => Ok(PlatformSpec {
                os: os.to_string(),
                arch: arch.to_string(),
                variant: Some(v.to_string()),
            }),
            _ => Err(ScanError::Other(format!(
                "platform {s:?}: expected os/arch[/variant]"
            ))),
        }
    }
}

impl std::fmt::Display for PlatformSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A layer to read.
#[derive(Debug, Clone)]
pub struct LayerDesc {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    /// Verify the digest while streaming (false when the digest was inferred, not declared).
    pub verify: bool,
}

/// An image resolved to one platform: its config and ordered layers.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    pub manifest_digest: Option<Digest>,
    pub config_digest: Option<Digest>,
    pub config: Vec<u8>,
    pub layers: Vec<LayerDesc>,
    pub platform: Option<String>,
    pub repo_tags: Vec<String>,
}

/// Access to one image's content. Implementations must be usable from several threads at once
/// (layers are read in parallel).
pub trait ImageSource: Sync {
    /// `registry`, `oci-dir`, `docker-archive`, `berth`...
    fn kind(&self) -> &str;
    /// What the user named (a reference, a path).
    fn name(&self) -> String;
    /// The manifest or index the source points at, with its media type when known.
    fn root_manifest(&self) -> Result<(Vec<u8>, Option<String>)>;
    /// A manifest by digest (an index entry). The default reads it as a blob.
    fn manifest(&self, digest: &Digest) -> Result<Vec<u8>> {
        read_verified(self, digest)
    }
    /// Opens a blob for streaming. The engine verifies layer digests as it reads.
    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send + '_>>;
    /// Resolves the image for a platform. The default follows an index to the platform's
    /// manifest, then reads the config.
    fn resolve(&self, platform: &PlatformSpec) -> Result<ResolvedImage> {
        resolve_default(self, platform)
    }
}

/// Reads a small blob whole and checks its digest.
pub fn read_verified<S: ImageSource + ?Sized>(src: &S, digest: &Digest) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    src.open_blob(digest)?
        .take(MAX_JSON + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ScanError::Source(src.name(), format!("blob {digest}: {e}")))?;
    if buf.len() as u64 > MAX_JSON {
        return Err(ScanError::Source(
            src.name(),
            format!("blob {digest} is larger than {MAX_JSON} bytes"),
        ));
    }
    let actual = Digest::of(digest.algorithm(), &buf);
    if &actual != digest {
        return Err(ScanError::Source(
            src.name(),
            format!("blob {digest} has digest {actual}"),
        ));
    }
    Ok(buf)
}

fn parse_manifest(bytes: &[u8], media_type: Option<&str>) -> Result<ParsedManifest> {
    ParsedManifest::parse(media_type, bytes).map_err(|e| ScanError::Manifest(e.to_string()))
}

fn pick_platform<'a>(manifests: &'a [Descriptor], want: &PlatformSpec) -> Result<&'a Descriptor> {
    let matches = |d: &&Descriptor| {
        d.platform.as_ref().is_some_and(|p| {
            p.os == want.os
                && p.architecture == want.arch
                && match (&want.variant, &p.variant) {
                    (Some(w), Some(v)) => w == v,
                    (Some(_), None) => false,
                    (None, _) => true,
                }
        })
    };
    // Prefer the exact variant "v8" for arm64 etc. when unspecified: take the first match.
    manifests
        .iter()
        .find(matches)
        .ok_or_else(|| ScanError::NoPlatform {
            wanted: want.to_string(),
            available: manifests
                .iter()
                .filter_map(|d| d.platform.as_ref())
                .map(|p| match &p.variant {
                    Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                    None => format!("{}/{}", p.os, p.architecture),
                })
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The default resolution: root manifest -> (index -> platform manifest) -> config.
pub fn resolve_default<S: ImageSource + ?Sized>(
    src: &S,
    platform: &PlatformSpec,
) -> Result<ResolvedImage> {
    let (root, mt) = src.root_manifest()?;
    let mut manifest_digest = Some(Digest::sha256_of(&root));
    let mut m = parse_manifest(&root, mt.as_deref())?;
    let mut chosen_platform = None;
    let mut depth = 0;
    while m.kind == ManifestKind::Index {
        depth += 1;
        if depth > 4 {
            return Err(ScanError::Manifest("index nesting deeper than 4".into()));
        }
        let d = if m.manifests.len() == 1 && m.manifests[0].platform.is_none() {
            &m.manifests[0]
        } else {
            pick_platform(&m.manifests, platform)?
        };
        chosen_platform = d.platform.as_ref().map(|p| match &p.variant {
            Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
            None => format!("{}/{}", p.os, p.architecture),
        });
        let digest = d.digest.clone();
        let mtype = d.media_type.clone();
        let bytes = src.manifest(&digest)?;
        manifest_digest = Some(digest);
        m = parse_manifest(&bytes, Some(&mtype))?;
    }
    let config_desc = m
        .config
        .clone()
        .ok_or_else(|| ScanError::Manifest("image manifest has no config".into()))?;
    let config = read_verified(src, &config_desc.digest)?;
    let layers = m
        .layers
        .iter()
        .map(|d| LayerDesc {
            digest: d.digest.clone(),
            media_type: d.media_type.clone(),
            size: d.size,
            verify: true,
        })
        .collect();
    Ok(ResolvedImage {
        manifest_digest,
        config_digest: Some(config_desc.digest),
        config,
        layers,
        platform: chosen_platform,
        repo_tags: Vec::new(),
    })
}

/// `oci-dir:PATH[:REF]`: an OCI image layout on disk.
pub struct OciDirSource {
    layout: berth_oci::layout::OciLayout,
    reference: Option<String>,
    path: PathBuf,
}

impl OciDirSource {
    pub fn open(path: &Path, reference: Option<&str>) -> Result<Self> {
        let layout = berth_oci::layout::OciLayout::open(path)
            .map_err(|e| ScanError::Source(path.display().to_string(), e.to_string()))?;
        Ok(OciDirSource {
            layout,
            reference: reference.map(str::to_string),
            path: path.to_path_buf(),
        })
    }
}

impl ImageSource for OciDirSource {
    fn kind(&self) -> &str {
        "oci-dir"
    }
    fn name(&self) -> String {
        match &self.reference {
            Some(r) => format!("{}:{r}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }
    fn root_manifest(&self) -> Result<(Vec<u8>, Option<String>)> {
        let err = |e: berth_oci::layout::LayoutError| ScanError::Source(self.name(), e.to_string());
        match self.layout.select(self.reference.as_deref()).map_err(err)? {
            Some(d) => Ok((
                self.layout.read_blob(&d.digest, MAX_JSON).map_err(err)?,
                Some(d.media_type.clone()),
            )),
            // Several manifests and no name: treat index.json as an image index.
            None => Ok((
                self.layout.index_bytes().to_vec(),
                Some(berth_oci::media_types::OCI_INDEX.to_string()),
            )),
        }
    }
    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send + '_>> {
        let f = self
            .layout
            .open_blob(digest)
            .map_err(|e| ScanError::Source(self.name(), e.to_string()))?;
        Ok(Box::new(std::io::BufReader::with_capacity(256 << 10, f)))
    }
}

/// `docker-archive:PATH[:REPO:TAG]`: the tarball of `docker save` / `podman save`.
pub struct DockerArchiveSource {
    archive: berth_oci::archive::DockerArchive,
    path: PathBuf,
    resolved: ResolvedImage,
    /// Blob digest -> entry name.
    paths: std::collections::HashMap<Digest, String>,
    /// A decompressed copy of a gzip-compressed archive (temp area).
    _temp: Option<tempfile::NamedTempFile>,
}

impl DockerArchiveSource {
    pub fn open(path: &Path, image: Option<&str>) -> Result<Self> {
        let name = path.display().to_string();
        let err = |e: String| ScanError::Source(name.clone(), e);
        let mut head = [0u8; 2];
        let mut f = std::fs::File::open(path).map_err(|e| ScanError::io(path.display(), e))?;
        let n = f
            .read(&mut head)
            .map_err(|e| ScanError::io(path.display(), e))?;
        let mut temp = None;
        let archive_path = if n == 2 && head == [0x1f, 0x8b] {
            // `docker save | gzip`: decompress once into the temp area.
            let mut t = tempfile::NamedTempFile::new().map_err(|e| err(e.to_string()))?;
            let f = std::fs::File::open(path).map_err(|e| ScanError::io(path.display(), e))?;
            std::io::copy(
                &mut flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f)).take(64 << 30),
                t.as_file_mut(),
            )
            .map_err(|e| err(format!("decompressing: {e}")))?;
            let p = t.path().to_path_buf();
            temp = Some(t);
            p
        } else {
            path.to_path_buf()
        };
        let archive = berth_oci::archive::DockerArchive::open(&archive_path)
            .map_err(|e| err(e.to_string()))?;
        let img = archive
            .select(image)
            .map_err(|e| err(e.to_string()))?
            .clone();
        let aerr =
            |e: berth_oci::archive::ArchiveError| ScanError::Source(name.clone(), e.to_string());
        let config = archive.read_entry(&img.config, MAX_JSON).map_err(aerr)?;
        let config_digest = Digest::sha256_of(&config);
        let cfg: crate::baseline::ImageConfig = serde_json::from_slice(&config)
            .map_err(|e| ScanError::Manifest(format!("image config: {e}")))?;
        let diff_ids = cfg
            .rootfs
            .as_ref()
            .map(|r| r.diff_ids.clone())
            .unwrap_or_default();
        let mut layers = Vec::new();
        let mut paths = std::collections::HashMap::new();
        paths.insert(config_digest.clone(), img.config.clone());
        for (i, l) in img.layers.iter().enumerate() {
            // The digest: from an OCI-style blob path, else the diff id (docker save writes
            // layers uncompressed, so the diff id is the tar's digest).
            let from_path = l
                .strip_prefix("blobs/")
                .and_then(|r| r.split_once('/'))
                .and_then(|(alg, hex)| format!("{alg}:{hex}").parse::<Digest>().ok());
            let (digest, verify) = match (
                from_path,
                diff_ids.get(i).and_then(|d| d.parse::<Digest>().ok()),
            ) {
                (Some(d), _) => (d, true),
                (None, Some(d)) => (d, true),
                (None, None) => (Digest::sha256_of(l.as_bytes()), false),
            };
            let size = archive
                .entry_size(l)
                .ok_or_else(|| aerr(berth_oci::archive::ArchiveError::EntryNotFound(l.clone())))?;
            paths.insert(digest.clone(), l.clone());
            layers.push(LayerDesc {
                digest,
                media_type: String::new(),
                size,
                verify,
            });
        }
        let resolved = ResolvedImage {
            manifest_digest: None,
            config_digest: Some(config_digest),
            config,
            layers,
            platform: Some(format!("{}/{}", cfg.os, cfg.architecture)),
            repo_tags: img.repo_tags.clone().unwrap_or_default(),
        };
        Ok(DockerArchiveSource {
            archive,
            path: path.to_path_buf(),
            resolved,
            paths,
            _temp: temp,
        })
    }
}

impl ImageSource for DockerArchiveSource {
    fn kind(&self) -> &str {
        "docker-archive"
    }
    fn name(&self) -> String {
        self.path.display().to_string()
    }
    fn root_manifest(&self) -> Result<(Vec<u8>, Option<String>)> {
        Err(ScanError::Source(
            self.name(),
            "a docker-archive has no registry manifest".into(),
        ))
    }
    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send + '_>> {
        let entry = match self.paths.get(digest) {
            Some(p) => p.clone(),
            None => format!("blobs/{}/{}", digest.algorithm().as_str(), digest.hex()),
        };
        let r = self
            .archive
            .open_entry(&entry)
            .map_err(|e| ScanError::Source(self.name(), e.to_string()))?;
        Ok(Box::new(std::io::BufReader::with_capacity(256 << 10, r)))
    }
    fn resolve(&self, _platform: &PlatformSpec) -> Result<ResolvedImage> {
        Ok(self.resolved.clone())
    }
}
