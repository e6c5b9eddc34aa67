//! The registry's domain layer: what a push, a pull and a deletion do to the stores, whichever
//! surface asked (the OCI distribution API, the management API, the console, `berth gc`).
//!
//! - [`Registry`] resolves references through the [`Caches`], deletes manifests and tags, and
//!   announces every committed change to its [`EventSink`]s. Surfaces do not invalidate caches
//!   or fire webhooks themselves: they call the operation, and the sinks registered at startup
//!   (webhooks, scan-on-push) see every write path the same way.
//!   Tenancy lookups (`tenancy.rs`: instances by name, namespaces, repositories) and blob links
//!   (`blobs.rs`) are read through the caches and written through `Registry`, which drops what
//!   a write makes stale.
//! - [`content`] links and deletes blob content under tombstones; [`gc`] is the collector
//!   (`Registry::collect_garbage` runs it and drops the caches it invalidates).
//!
//! Invariants: an event is emitted only after the change it reports was committed; a cache
//! entry this process holds is invalidated before the operation that made it stale returns.
//! The API boundary: async functions over `berth_store` traits and types; no HTTP here.
mod blobs;
pub mod caches;
pub mod content;
pub mod events;
pub mod gc;
#[cfg(feature = "scanner")]
pub mod scan_source;
mod service;
mod tenancy;

pub use blobs::UploadCommitted;
pub use caches::Caches;
pub use caches::notice::CacheNotice;
pub use events::{EventSink, RegistryEvent};
pub use service::{ManifestReference, Registry};
