//! The KCR management API's request wire, below the service that answers it: the AWS
//! Signature Version 4 verifier ([`sigv4`]) and the flat parameter map with the seed's rules for
//! indexed names and paging ([`params`]).
//!
//! Invariant: everything here is a pure function of the request's bytes (and the clock and
//! secret handed in); a malformed request yields a [`RequestError`] with the seed's code, never
//! a panic, and every size and count a caller controls is bounded.
//!
//! API boundary: berth-api looks up the signing key, runs the action and maps
//! [`RequestError`] into its error body. A crate of its own so that the parsers of untrusted
//! input build (and fuzz) without the service's dependencies.
mod error;
mod mac;
pub mod params;
pub mod sigv4;

pub use error::{RequestError, RequestResult};
pub use mac::hmac_sha256;
