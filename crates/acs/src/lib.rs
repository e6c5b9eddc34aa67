//! Authentication of Alibaba Cloud API requests, as the vendor's SDKs sign them: the layer
//! between berth's Security Center (SAS) surface (`ListImageRisk`,
//! `DescribeClusterImageSecuritySummary`) and its clients.
//!
//! # Invariant
//!
//! A [`Verified`] exists only for a request whose signature matched the access key's secret,
//! whose time was within [`MAX_SKEW_SECS`] of the server's, and whose (access key, nonce) pair
//! had not been seen within that window (it is recorded as the `Verified` is made). Its fields
//! are private and only this crate constructs one, so a handler holding a `Verified` holds that
//! proof; its action, version and parameters are the signed ones.
//!
//! # Boundary
//!
//! In: a request as `http` types ([`Request`]: method, URI with the raw query, headers, the
//! whole body), a [`SecretLookup`] the caller implements over its key store, a [`NonceCache`]
//! (inside a [`Verifier`]), and the server's clock as a `SystemTime`. Out: a [`Verified`] or an
//! [`AcsError`], which knows its vendor code, HTTP status and message and makes the JSON
//! [`ErrorBody`] the SDKs parse. No I/O, no async, no HTTP server, no database: the surface
//! (axum) reads the body within its own limits, calls [`Verifier::verify`] (or [`parse`] and
//! [`Unverified::verify`] around an asynchronous key lookup), authorizes `Verified::action`
//! for the key, and answers with [`Envelope`] or [`ErrorBody`].
//!
//! # Schemes
//!
//! - ACS3-HMAC-SHA256 ([`acs3`]): the SDKs' default (tea-openapi, e.g.
//!   `alibabacloud-sas20181203`).
//! - The classic RPC signature, SignatureVersion 1.0 with HMAC-SHA1 ([`rpc`]): tea-openapi with
//!   `signature_algorithm='v2'`, and aliyun-python-sdk-core's `CommonRequest`.
//!
//! Both are written here by hand, from the SDKs' own sources: no maintained Rust crate verifies
//! either server-side (the vendor's Rust SDK and the community crates only sign outgoing
//! requests). `tests/vectors/requests.json` holds requests recorded from the Python SDKs
//! themselves (`tests/vectors/record.py`), and the tests verify every one of them.
//!
//! Not supported, and refused: STS security tokens and bearer tokens, ACS3-HMAC-SM3 and
//! ACS3-RSA-SHA256, SignatureMethod other than HMAC-SHA1, XML answers (`Format=XML`).
pub mod acs3;
pub mod error;
mod mac;
pub mod nonce;
pub mod params;
pub mod rpc;
pub mod time;
mod verifier;
mod verify;

pub use error::{AcsError, AcsResult, Envelope, ErrorBody, new_request_id};
pub use nonce::NonceCache;
pub use params::{Limits, RESERVED_PARAMS};
pub use time::MAX_SKEW_SECS;
pub use verifier::{Verifier, parse};
pub use verify::{Request, Secret, SecretLookup, Signing, Unverified, Verified};
