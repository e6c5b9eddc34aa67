//! Huawei Cloud Host Security Service (HSS) cluster protection, as a pure domain library: the
//! request signature its SDKs send, and the cluster-protection policies berth evaluates at
//! admission.
//!
//! # Invariants
//!
//! - [`sign::Unverified::verify`] answers `Ok` only for a request whose SDK-HMAC-SHA256
//!   signature over its method, path, query, signed headers and body matched the secret
//!   (compared in constant time), and whose `X-Sdk-Date` was within
//!   [`sign::MAX_SKEW_SECS`] of the server's clock. No error, log or `Debug` shows the secret.
//! - A [`policy::Policy`] holds only known enum values: an unknown `policy_type`, `action` or
//!   `severity` is refused when it is read, with an error naming the field.
//! - [`policy::evaluate`] is a total, deterministic function of its inputs (policies,
//!   exceptions, subject, findings, time): one documented combination rule, reasons sorted and
//!   capped the same way every time.
//!
//! # Boundary
//!
//! In: a request's raw parts ([`sign::Request`]: method, raw path, raw query, `http`
//! headers, body bytes) and a secret the caller looked up; policies (serde, the vendor's
//! snake_case fields), exceptions, and the image's findings and workload described by types
//! defined here ([`policy::ImageFindings`], [`policy::Subject`]), which the surfaces fill from
//! berth's scan reports and inventory. Out: `Result<(), SignError>`, [`policy::Decision`].
//! No I/O, no async, no clock of its own, no other berth crate: the HTTP surface owns
//! replay protection, the key store, and the vendor's error bodies.
pub mod policy;
pub mod sign;
