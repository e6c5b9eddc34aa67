//! Scan options and the resource limits that keep hostile images in check.
use std::path::PathBuf;

/// Limits on what one scan reads. Exceeding one of the size, count and path limits stops the
/// scan with an error naming the layer; the memory limits (`max_buffered_*`,
/// `max_package_db_size`) do not: a file that does not fit is streamed past and reported as not
/// analysed. ARCHITECTURE.md beside this crate gives the reasons for the defaults.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Entries (files, directories, links) over all layers.
    pub max_files: u64,
    /// Bytes of one entry path.
    pub max_path_len: usize,
    /// Directory depth of one entry path.
    pub max_path_depth: usize,
    /// Decompressed bytes of one layer.
    pub max_layer_size: u64,
    /// Decompressed bytes over all layers.
    pub max_total_size: u64,
    /// Decompressed:compressed ratio above which a layer is treated as a bomb (checked once
    /// `bomb_min_size` bytes are out).
    pub max_ratio: u64,
    pub bomb_min_size: u64,
    /// Archives inside archives (jar in war in ear...).
    pub max_nesting_depth: usize,
    /// Largest file (or archive entry) read into memory whole: to analyse it (YARA, binaries,
    /// Java archives) or to keep it for the catalogers (manifests, lockfiles). A larger file is
    /// streamed past — hashed for the blocklist, searched for Go build info — and reported as
    /// not analysed.
    pub max_buffered_file_size: u64,
    /// The same, for the OS package databases (rpmdb, dpkg `status`, apk `installed`): a full
    /// RHEL install's rpm `Packages` is about 100 MB, and skipping it loses every OS package.
    pub max_package_db_size: u64,
    /// File content one scan holds in memory at once, over all layers and worker threads: the
    /// files being analysed and the files kept for the catalogers (see `budget`). A file that
    /// does not fit is streamed past and reported as not analysed.
    pub max_buffered_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: 2_000_000,
            max_path_len: 4096,
            max_path_depth: 128,
            max_layer_size: 32 << 30,
            max_total_size: 64 << 30,
            max_ratio: 1000,
            bomb_min_size: 256 << 20,
            max_nesting_depth: 4,
            max_buffered_file_size: 64 << 20,
            max_package_db_size: 256 << 20,
            max_buffered_bytes: 512 << 20,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub limits: Limits,
    /// Run the YARA rules (built-in plus `yara_rule_dirs`) on every file.
    pub malware: bool,
    pub yara_rule_dirs: Vec<PathBuf>,
    /// Extra SHA-256 blocklist files: one `HEX [description]` per line, `#` comments.
    pub blocklists: Vec<PathBuf>,
    /// Extra blocklist entries (hex SHA-256, description): the vulnerability database's malware
    /// hash feed (`berth_vulndb::Database::malware_hashes`).
    pub blocklist_entries: Vec<(String, String)>,
    pub baseline: bool,
    /// Verify layer digests while streaming (on by default; a mismatch is an error).
    pub verify_digests: bool,
    /// Worker threads for layers (0 = available parallelism).
    pub threads: usize,
    /// Report development-only dependencies too (`dev: true` lock entries, composer
    /// `packages-dev`, Pipfile `develop`, ...). Off by default, as in Trivy: they are not
    /// part of what runs.
    pub include_dev: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            limits: Limits::default(),
            malware: true,
            yara_rule_dirs: Vec::new(),
            blocklists: Vec::new(),
            blocklist_entries: Vec::new(),
            baseline: true,
            verify_digests: true,
            threads: 0,
            include_dev: false,
        }
    }
}
