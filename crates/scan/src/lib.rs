//! berth-scan: image analysis. Reads an image's layers in one streaming pass each (in parallel),
//! applies whiteouts, detects the OS, catalogs packages, runs malware and baseline checks, and
//! matches packages against the vulnerability database. See ARCHITECTURE.md beside this crate.
//!
//! Invariants:
//! - a layer is read once, as a stream, and never unpacked to disk; only package databases and
//!   manifests are kept in memory, everything else is analysed as it streams past, and the file
//!   content a scan holds is bounded (`Limits::max_buffered_*`, `budget`): a file that does not
//!   fit is streamed past and reported as not analysed;
//! - bad input (corrupt or truncated blobs, bombs, paths over the limits) gives an error naming
//!   the layer, never a panic and never a write outside the temp area; an entry whose name leads
//!   out of the root is skipped and reported as a finding of its layer, the rest is scanned;
//! - every finding records its path and the layer (digest, diff id, `created_by`) that added it.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub mod analyze;
pub mod baseline;
pub mod budget;
pub mod catalog;
pub mod error;
pub mod fs;
pub mod generic_secret;
pub mod layer;
pub mod model;
pub mod options;
pub mod output;
mod secret_text;
pub mod source;
pub mod suppress;
pub mod vuln;

pub use error::{LayerProblem, Result, ScanError};
pub use model::*;
pub use options::{Limits, ScanOptions};
pub use source::{ImageSource, PlatformSpec, ResolvedImage};

use analyze::Analyzer;
use fs::{EntryKind, FileEntry, Filesystem};
use layer::{LayerOutput, Totals};

/// Progress callbacks (the CLI draws a progress bar with them).
pub trait Progress: Sync {
    fn start(&self, _layers: usize, _total_bytes: u64) {}
    fn layer_done(&self, _index: usize, _bytes: u64) {}
    fn message(&self, _msg: &str) {}
}

/// A `Progress` that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

pub struct Scanner {
    opts: ScanOptions,
    analyzer: Analyzer,
}

impl Scanner {
    pub fn new(opts: ScanOptions) -> Result<Scanner> {
        let analyzer = Analyzer::new(&opts)?;
        Ok(Scanner { opts, analyzer })
    }

    /// Scans an image from any source, for one platform.
    pub fn scan_image(
        &self,
        src: &dyn ImageSource,
        platform: &PlatformSpec,
        progress: &dyn Progress,
    ) -> Result<Report> {
        let resolved = src.resolve(platform)?;
        let cfg: baseline::ImageConfig = serde_json::from_slice(&resolved.config)
            .map_err(|e| ScanError::Manifest(format!("image config: {e}")))?;
        let diff_ids = cfg
            .rootfs
            .as_ref()
            .map(|r| r.diff_ids.clone())
            .unwrap_or_default();
        let created_by: Vec<Option<String>> = cfg
            .history
            .iter()
            .filter(|h| !h.empty_layer)
            .map(|h| h.created_by.clone())
            .collect();
        for l in &resolved.layers {
            if !layer::is_layer_media_type(&l.media_type) {
                return Err(ScanError::layer(
                    &l.digest,
                    LayerProblem::UnsupportedMediaType(l.media_type.clone()),
                ));
            }
        }
        let n = resolved.layers.len();
        progress.start(n, resolved.layers.iter().map(|l| l.size).sum());
        let totals = Totals::new(&self.opts.limits);
        let results: Vec<Mutex<Option<Result<LayerOutput>>>> =
            (0..n).map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let threads = self.threads().min(n.max(1));
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= n || failed.load(Ordering::SeqCst) {
                            break;
                        }
                        let l = &resolved.layers[i];
                        let r = src.open_blob(&l.digest).and_then(|blob| {
                            let expected =
                                (self.opts.verify_digests && l.verify).then_some(&l.digest);
                            layer::read_layer(
                                blob,
                                Some(i),
                                expected,
                                &self.opts.limits,
                                &totals,
                                &self.analyzer,
                            )
                            .map_err(|p| ScanError::layer(&l.digest, p))
                        });
                        if r.is_err() {
                            failed.store(true, Ordering::SeqCst);
                        }
                        progress.layer_done(i, l.size);
                        if let Ok(mut slot) = results[i].lock() {
                            *slot = Some(r);
                        }
                    }
                });
            }
        });
        let mut fs = Filesystem::new();
        let mut layers = Vec::with_capacity(n);
        let mut unsafe_entries = Vec::new();
        let mut layer_warnings = Vec::new();
        for (i, slot) in results.into_iter().enumerate() {
            let l = &resolved.layers[i];
            let out = match slot.into_inner().ok().flatten() {
                Some(r) => r?,
                None => {
                    return Err(ScanError::layer(
                        &l.digest,
                        LayerProblem::Corrupt("layer was not read".into()),
                    ));
                }
            };
            layers.push(LayerInfo {
                index: i,
                digest: l.digest.to_string(),
                media_type: l.media_type.clone(),
                size: l.size,
                diff_id: diff_ids.get(i).cloned(),
                created_by: created_by.get(i).cloned().flatten(),
                entries: out.entries,
                decompressed_size: out.decompressed,
            });
            if out.absolute_paths > 0 {
                layer_warnings.push(format!(
                    "layer {i} ({}): {} entries have an absolute path (the first: {:?}); read \
                     relative to the root, as container runtimes extract them",
                    l.digest,
                    out.absolute_paths,
                    out.first_absolute_path.as_deref().unwrap_or("")
                ));
            }
            let unlisted = out.unsafe_entry_count - out.unsafe_entries.len() as u64;
            if unlisted > 0 {
                layer_warnings.push(format!(
                    "layer {i} ({}): {unlisted} more entries leading out of the image root were \
                     skipped (only the first {} are listed)",
                    l.digest,
                    out.unsafe_entries.len()
                ));
            }
            unsafe_entries.extend(out.unsafe_entries.into_iter().map(|e| (i, e)));
            fs.apply_layer(out.changes);
        }
        let source = SourceInfo {
            kind: src.kind().to_string(),
            name: src.name(),
            manifest_digest: resolved.manifest_digest.map(|d| d.to_string()),
            config_digest: resolved.config_digest.map(|d| d.to_string()),
            platform: resolved
                .platform
                .clone()
                .or_else(|| Some(format!("{}/{}", cfg.os, cfg.architecture))),
            repo_tags: resolved.repo_tags.clone(),
        };
        let mut report = self.build_report(source, layers, &fs, false);
        report.warnings.extend(layer_warnings);
        // Reported even with the baseline checks off: they are entries the scan did not read.
        for (i, e) in &unsafe_entries {
            let f = baseline::unsafe_entry(e, *i);
            if self.opts.baseline {
                let layer = report.layers.get(*i).map(layer_ref);
                report.baseline.push(to_baseline(&f, layer));
            } else {
                report.warnings.push(format!("layer {i}: {}", f.detail));
            }
        }
        if self.opts.baseline {
            let layer_of_history = history_to_layer(&cfg);
            for f in baseline::config_checks(&cfg) {
                let layer = f
                    .history
                    .and_then(|h| layer_of_history.get(&h).copied())
                    .and_then(|i| report.layers.get(i))
                    .map(layer_ref);
                report.baseline.push(to_baseline(&f, layer));
            }
            sort_baseline(&mut report.baseline);
        }
        Ok(report)
    }

    /// Scans a root filesystem on disk (`dir:PATH`). Symlinks are recorded, never followed.
    pub fn scan_dir(&self, root: &Path, progress: &dyn Progress) -> Result<Report> {
        let meta = std::fs::symlink_metadata(root).map_err(|e| ScanError::io(root.display(), e))?;
        if !meta.is_dir() {
            return Err(ScanError::Source(
                root.display().to_string(),
                "not a directory".into(),
            ));
        }
        progress.start(1, 0);
        let mut fs = Filesystem::new();
        let mut scanner = self.analyzer.file_scanner();
        // A directory is a project or a root filesystem: its lockfiles are what there is.
        scanner.keep_declared = true;
        let limits = &self.opts.limits;
        let budget = budget::MemoryBudget::new(limits.max_buffered_bytes);
        let mut count: u64 = 0;
        let mut stack = vec![(root.to_path_buf(), String::new(), 0usize)];
        let layer_err = |p: LayerProblem| ScanError::layer(root.display(), p);
        while let Some((dir, rel, depth)) = stack.pop() {
            let rd = match std::fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) => {
                    tracing::warn!("skipping {}: {e}", dir.display());
                    continue;
                }
            };
            for entry in rd.flatten() {
                count += 1;
                if count > limits.max_files {
                    return Err(layer_err(LayerProblem::TooManyFiles {
                        limit: limits.max_files,
                    }));
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = format!("{rel}/{name}");
                if path.len() > limits.max_path_len {
                    return Err(layer_err(LayerProblem::PathTooLong {
                        len: path.len(),
                        limit: limits.max_path_len,
                    }));
                }
                let Ok(md) = entry.path().symlink_metadata() else {
                    continue;
                };
                #[cfg(unix)]
                let (mode, uid, gid) = {
                    use std::os::unix::fs::MetadataExt;
                    (md.mode() & 0o7777, u64::from(md.uid()), u64::from(md.gid()))
                };
                #[cfg(not(unix))]
                let (mode, uid, gid) = (0o644u32, 0u64, 0u64);
                let ft = md.file_type();
                let kind = if ft.is_dir() {
                    EntryKind::Dir
                } else if ft.is_symlink() {
                    EntryKind::Symlink(
                        std::fs::read_link(entry.path())
                            .map(|t| t.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    )
                } else if ft.is_file() {
                    EntryKind::File
                } else {
                    EntryKind::Other
                };
                let mut fe = FileEntry {
                    path: path.clone(),
                    layer: None,
                    kind,
                    mode,
                    uid,
                    gid,
                    size: md.len(),
                    content: None,
                    derived: None,
                };
                match fe.kind {
                    EntryKind::Dir => {
                        if depth + 1 > limits.max_path_depth {
                            return Err(layer_err(LayerProblem::PathTooDeep {
                                path,
                                depth: depth + 1,
                                limit: limits.max_path_depth,
                            }));
                        }
                        stack.push((entry.path(), path.clone(), depth + 1));
                    }
                    EntryKind::File => match std::fs::File::open(entry.path()) {
                        Ok(f) => {
                            let mut r = std::io::BufReader::new(f);
                            if let Err(e) = self.analyzer.analyze_stream(
                                &mut r,
                                &mut fe,
                                &mut scanner,
                                limits,
                                &budget,
                            ) {
                                tracing::warn!("{}: {e}", entry.path().display());
                            }
                        }
                        Err(e) => tracing::warn!("{}: {e}", entry.path().display()),
                    },
                    _ => {}
                }
                fs.insert(fe);
            }
        }
        progress.layer_done(0, 0);
        let source = SourceInfo {
            kind: "dir".into(),
            name: root.display().to_string(),
            ..Default::default()
        };
        Ok(self.build_report(source, Vec::new(), &fs, true))
    }

    fn threads(&self) -> usize {
        if self.opts.threads > 0 {
            self.opts.threads
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        }
    }

    /// `declared`: read lockfiles and manifests too (`dir:` scans).
    fn build_report(
        &self,
        source: SourceInfo,
        layers: Vec<LayerInfo>,
        fs: &Filesystem,
        declared: bool,
    ) -> Report {
        let mut warnings = Vec::new();
        let distro = catalog::os::detect(fs);
        let copts = catalog::CatalogOptions {
            declared,
            include_dev: self.opts.include_dev,
        };
        let found = catalog::catalog_filesystem(fs, distro.as_ref(), &copts, &mut warnings);
        let lref = |i: Option<usize>| i.and_then(|i| layers.get(i)).map(layer_ref);
        // Merge by purl: one package, every location.
        let mut by_purl: BTreeMap<String, Package> = BTreeMap::new();
        for f in found {
            let loc = Location {
                path: f.path.clone(),
                layer: lref(f.layer),
                evidence: f.pkg.evidence,
            };
            match by_purl.get_mut(&f.pkg.purl) {
                Some(p) => {
                    // Installed anywhere is installed; development-only only if every
                    // source says so.
                    p.evidence = p.evidence.min(f.pkg.evidence);
                    p.dev &= f.pkg.dev;
                    if !p.locations.contains(&loc) {
                        p.locations.push(loc);
                    }
                }
                None => {
                    let mut p = f.pkg;
                    p.locations.push(loc);
                    by_purl.insert(p.purl.clone(), p);
                }
            }
        }
        let mut packages: Vec<Package> = by_purl.into_values().collect();
        packages.sort_by(|a, b| (a.kind, &a.name, &a.version).cmp(&(b.kind, &b.name, &b.version)));
        let mut malware = Vec::new();
        for e in fs.iter() {
            if let Some(d) = &e.derived {
                warnings.extend(d.warnings.iter().cloned());
                // One finding per file (or archive member), with every rule that matched it:
                // EICAR matches a YARA rule and the blocklist, and is one malicious file.
                let first = malware.len();
                for m in &d.malware {
                    let path = match &m.member {
                        Some(member) => format!("{}!{member}", e.path),
                        None => e.path.clone(),
                    };
                    if let Some(f) = malware[first..]
                        .iter_mut()
                        .find(|f: &&mut MalwareFinding| f.path == path)
                    {
                        if !f.rules.contains(&m.rule) {
                            f.rules.push(m.rule.clone());
                        }
                        if m.severity > f.severity {
                            f.severity = m.severity;
                            f.rule = m.rule.clone();
                            f.description = m.description.clone();
                        }
                        continue;
                    }
                    let sum = if m.member.is_some() {
                        m.member_sha256
                    } else {
                        d.sha256
                    };
                    malware.push(MalwareFinding {
                        path,
                        layer: lref(e.layer),
                        rule: m.rule.clone(),
                        rules: vec![m.rule.clone()],
                        severity: m.severity,
                        description: m.description.clone(),
                        sha256: sum.map(hex::encode).unwrap_or_default(),
                    });
                }
                for f in &mut malware[first..] {
                    // Most severe first; the reported `rule` leads.
                    let lead = f.rule.clone();
                    f.rules.sort_by_key(|r| *r != lead);
                }
            }
        }
        let mut baseline = Vec::new();
        if self.opts.baseline {
            for f in baseline::filesystem_checks(fs) {
                baseline.push(to_baseline(&f, lref(f.layer)));
            }
        }
        sort_baseline(&mut baseline);
        // A hard link shares its target's analysis and warnings: each is said once.
        let mut seen = std::collections::HashSet::new();
        warnings.retain(|w| seen.insert(w.clone()));
        Report {
            schema_version: SCHEMA_VERSION.into(),
            scanner: ScannerInfo::default(),
            source,
            distro,
            layers,
            packages,
            vulnerabilities: Vec::new(),
            malware,
            baseline,
            suppressed: Vec::new(),
            warnings,
        }
    }
}

fn sort_baseline(b: &mut [BaselineFinding]) {
    b.sort_by(|x, y| {
        (std::cmp::Reverse(x.severity), &x.id, &x.path).cmp(&(
            std::cmp::Reverse(y.severity),
            &y.id,
            &y.path,
        ))
    });
}

pub fn layer_ref(l: &LayerInfo) -> LayerRef {
    LayerRef {
        index: l.index,
        digest: l.digest.clone(),
        diff_id: l.diff_id.clone(),
        created_by: l.created_by.clone(),
    }
}

/// Maps a history index to the layer it created (history entries with `empty_layer` create none;
/// an instruction like ADD that made no layer maps to the layer before it).
fn history_to_layer(cfg: &baseline::ImageConfig) -> BTreeMap<usize, usize> {
    let mut out = BTreeMap::new();
    let mut layer: Option<usize> = None;
    for (i, h) in cfg.history.iter().enumerate() {
        if !h.empty_layer {
            layer = Some(layer.map_or(0, |l| l + 1));
        }
        if let Some(l) = layer {
            out.insert(i, l);
        }
    }
    out
}

fn to_baseline(f: &baseline::Finding, layer: Option<LayerRef>) -> BaselineFinding {
    BaselineFinding {
        id: f.check.id.into(),
        check: f.check.name.into(),
        title: f.check.title.into(),
        severity: f.check.severity,
        remediation: f.check.remediation.into(),
        detail: f.detail.clone(),
        path: f.path.clone(),
        layer,
    }
}
