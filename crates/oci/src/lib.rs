//! OCI primitives: digests, media types, manifests, names and references, and readers for image
//! layouts and docker archives. Pure: no async, no network; readers use `std::io` only.
pub mod archive;
pub mod digest;
pub mod layout;
pub mod manifest;
pub mod media_types;
pub mod name;
pub mod reference;

pub use digest::{Algorithm, Digest, DigestError, Hasher};
pub use manifest::{Descriptor, ManifestError, ManifestKind, ParsedManifest};
pub use name::{NameError, validate_repository, validate_tag};
pub use reference::{Reference, ReferenceError};
