//! OCI primitives: digests, media types, manifests, references, and readers for image layouts and
//! docker archives. Pure: no I/O beyond the readers' `std::io` traits, no async.
pub mod archive;
pub mod layout;
