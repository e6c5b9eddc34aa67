//! Blobs in an S3-compatible bucket: [`S3Driver`] is a [`crate::ByteDriver`] over the
//! `object_store` crate, and [`S3BlobStore`] is the shared upload layer over it, so digest
//! verification, the size limit and the running hash are the same code as on disk.
//!
//! Key layout under `s3://bucket/prefix`: a blob is the object `<prefix>/blobs/<alg>/<xx>/<hex>`;
//! an upload is an empty marker object `<prefix>/uploads/<uuid>` plus one part object per
//! append, `<prefix>/uploads/<uuid>/<offset as 20 digits>`, so any replica can append the next
//! chunk (one PUT, no read-modify-write) and the upload's bytes are its parts in offset order.
//!
//! Invariant: an object appears under a blob key only by a server-side copy, a single PUT or a
//! completed multipart upload (each atomic in S3), made by `link` from an upload the layer
//! verified; part objects are written with `If-None-Match: *`, so two writers never share an
//! offset.
//!
//! Boundary: this module knows object names and S3 requests, not digests.
mod driver;
mod errors;
mod options;
mod parts;

pub use driver::S3Driver;
pub use options::S3Options;

use crate::blobwriter::LayeredBlobStore;

/// The blob store in an S3-compatible bucket.
pub type S3BlobStore = LayeredBlobStore<S3Driver>;

impl LayeredBlobStore<S3Driver> {
    /// The blob store at `url` (`s3://bucket` or `s3://bucket/prefix`), with the endpoint,
    /// region and credentials of `options`; options left `None` are read from the standard
    /// `AWS_*` variables (see [`S3Options::or_env`]). Makes no request: call
    /// [`S3Driver::check`] (through [`LayeredBlobStore::driver`]) to see that the bucket answers.
    pub fn open_s3(url: &str, options: &S3Options) -> crate::Result<S3BlobStore> {
        Ok(LayeredBlobStore::new(S3Driver::open(url, options)?))
    }
}
