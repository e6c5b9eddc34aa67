//! Background jobs: one durable queue with one lease/retry mechanism for every kind of work
//! that runs after a request returned (image scans, garbage collection, and the kinds to come).
//!
//! A job is a row with a kind, an opaque payload (the kind's own record id or parameters), a due
//! time and an attempt budget. A runner claims a due job by taking a lease on it: the claim
//! bumps `attempts` and sets `lease_until`, and that value is the claim token every later call
//! presents, so a runner whose lease ran out (and whose job another runner took) can no longer
//! renew, finish or retry it. A running job whose lease expired is claimable again: its runner
//! died. When that claim finds the attempt budget spent, the job is handed out as abandoned
//! (see [`ClaimedJob::abandoned`]) so its kind can record why instead of running it again.
//! Finished jobs are deleted; jobs that failed for good stay as `Dead` for inspection until
//! pruned. The domain record of a job (a scan's status and report) lives in its own table,
//! written in the same transaction as the job where the two must agree.
use crate::Result;
use async_trait::async_trait;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for its due time or for a runner.
    Queued,
    /// Claimed by a runner until its lease ends.
    Running,
    /// Failed for good (its error says why); kept for inspection until pruned.
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        match s {
            "queued" => Some(JobState::Queued),
            "running" => Some(JobState::Running),
            "dead" => Some(JobState::Dead),
            _ => None,
        }
    }
}

/// A job to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: String,
    pub payload: String,
    /// At most one unfinished (queued or running) job per kind holds a given key: a second
    /// enqueue with the same key returns the first job instead of queueing another.
    pub dedupe_key: Option<String>,
    /// How many times the job may be claimed; at least 1.
    pub max_attempts: u32,
    /// Unix milliseconds.
    pub due_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnqueued {
    Queued(i64),
    /// An unfinished job of the kind already holds the dedupe key.
    Duplicate(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub dedupe_key: Option<String>,
    pub state: JobState,
    /// How many times it was claimed.
    pub attempts: u32,
    pub max_attempts: u32,
    pub due_at: i64,
    /// The end of the current lease, while running; the claim token.
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// A claimed job and the lease its runner holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub job: Job,
    /// The claim token: pass it to renew, complete, retry or bury.
    pub held_until: i64,
}

impl ClaimedJob {
    /// True when the job's previous runner died holding it and its attempts are spent: the
    /// runner must not run it again, only record that it was abandoned (and bury it).
    pub fn abandoned(&self) -> bool {
        self.job.attempts > self.job.max_attempts
    }
}

#[async_trait]
pub trait JobStore: Send + Sync {
    async fn enqueue_job(&self, job: &NewJob) -> Result<JobEnqueued>;
    /// Claims the job of one of `kinds` that has been due longest: a queued job due at `now`, or
    /// a running one whose lease ended before `now`. The claim counts an attempt and holds the
    /// job until `lease_until`.
    async fn claim_job(
        &self,
        kinds: &[&str],
        now: i64,
        lease_until: i64,
    ) -> Result<Option<ClaimedJob>>;
    /// When a job of `kinds` becomes claimable next (the earliest due time of a queued one, or
    /// lease end of a running one); `None` when there is none.
    async fn next_job_due(&self, kinds: &[&str]) -> Result<Option<i64>>;
    /// Extends a claim to `lease_until`; false when the claim was lost (the lease ran out and
    /// another runner took the job, or it finished).
    async fn renew_job(&self, id: i64, held_until: i64, lease_until: i64) -> Result<bool>;
    /// The job is done: it is deleted. False when the claim was lost.
    async fn complete_job(&self, id: i64, held_until: i64) -> Result<bool>;
    /// Queues the job again, due at `due_at`, recording `error`. False when the claim was lost.
    async fn retry_job(&self, id: i64, held_until: i64, due_at: i64, error: &str) -> Result<bool>;
    /// The job failed for good: it becomes `Dead` with `error`. False when the claim was lost.
    async fn bury_job(&self, id: i64, held_until: i64, error: &str) -> Result<bool>;
    async fn get_job(&self, id: i64) -> Result<Option<Job>>;
    /// The jobs of a kind, oldest first, at most `limit`.
    async fn list_jobs(&self, kind: &str, limit: u32) -> Result<Vec<Job>>;
    /// Deletes dead jobs beyond the newest `keep`; returns how many.
    async fn prune_dead_jobs(&self, keep: u32) -> Result<u64>;
}
