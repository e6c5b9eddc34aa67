//! The background-job runner (crates.io's `crates_io_worker` is the model): every kind of work
//! that runs after a request returned (image scans, garbage collection, and whatever comes
//! next) is a [`Handler`] registered on one [`Runner`], over the store's one durable queue
//! ([`berth_store::JobStore`]).
//!
//! Invariant: a job runs only while its runner holds the job's lease. The runner renews the
//! lease while the handler runs; if a renewal finds the claim lost (the lease ran out and
//! another runner took the job), the handler's future is dropped at once, so two runners never
//! run one job to completion at once. Each outcome is recorded with the claim token, so a late
//! runner changes nothing. A job whose runner died is claimed again when its lease ends; with
//! its attempts spent it is handed to [`Handler::abandoned`] instead of running again.
//!
//! API boundary: handlers see the job (kind, payload, attempts) and answer an [`Outcome`]; they
//! never touch leases. Enqueueing is the store's ([`berth_store::JobStore::enqueue_job`], or a
//! domain method that queues a record and its job together); wake the runner with
//! [`Runner::waker`] after enqueueing for an immediate start.
mod handler;
mod runner;

pub use handler::{Handler, Outcome, exponential_backoff};
pub use runner::{Runner, RunnerConfig};
