//! Errors of the scanner. Every error that comes from reading a layer names the layer (its digest
//! or, for a `dir:` source, the directory) so a user can tell which blob is bad.
use std::fmt;

/// What went wrong while reading one layer.
#[derive(Debug, thiserror::Error)]
pub enum LayerProblem {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("entry path is {len} bytes long, over the limit of {limit}")]
    PathTooLong { len: usize, limit: usize },
    #[error("entry {path:?} is nested {depth} directories deep, over the limit of {limit}")]
    PathTooDeep {
        path: String,
        depth: usize,
        limit: usize,
    },
    #[error("more than {limit} files in the image (file-count limit)")]
    TooManyFiles { limit: u64 },
    #[error(
        "decompressed size passed {limit} bytes (decompressed-size limit); a decompression bomb?"
    )]
    TooLarge { limit: u64 },
    #[error(
        "compression ratio over {ratio}:1 after {decompressed} decompressed bytes; a decompression bomb?"
    )]
    Bomb { ratio: u64, decompressed: u64 },
    #[error("corrupt or truncated layer: {0}")]
    Corrupt(String),
    #[error("digest mismatch: content hashes to {actual}")]
    DigestMismatch { actual: String },
    #[error("unsupported layer media type {0:?}")]
    UnsupportedMediaType(String),
}

/// Errors of the scanner's public API.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("layer {layer}: {problem}")]
    Layer {
        layer: String,
        problem: LayerProblem,
    },
    #[error("source {0:?}: {1}")]
    Source(String, String),
    #[error("manifest: {0}")]
    Manifest(String),
    #[error("no image for platform {wanted} in the index (available: {available})")]
    NoPlatform { wanted: String, available: String },
    #[error("registry: {0}")]
    Registry(String),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("rules: {0}")]
    Rules(String),
    #[error("vulnerability database: {0}")]
    VulnDb(String),
    #[error("ignore file {path}: {message}")]
    IgnoreFile { path: String, message: String },
    #[error("VEX document {path}: {message}")]
    Vex { path: String, message: String },
    #[error("{0}")]
    Other(String),
}

impl ScanError {
    pub fn layer(layer: impl fmt::Display, problem: impl Into<LayerProblem>) -> Self {
        ScanError::Layer {
            layer: layer.to_string(),
            problem: problem.into(),
        }
    }
    pub fn io(path: impl fmt::Display, source: std::io::Error) -> Self {
        ScanError::Io {
            path: path.to_string(),
            source,
        }
    }
}

pub type Result<T, E = ScanError> = std::result::Result<T, E>;
