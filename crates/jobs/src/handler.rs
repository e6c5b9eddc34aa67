//! What a kind of job does, and what it answers.
use async_trait::async_trait;
use berth_store::Job;
use std::time::Duration;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done: the job is deleted.
    Done,
    /// Failed in a way another attempt may fix: retried after [`Handler::backoff`] while
    /// attempts remain, buried with the error after that.
    Retry(String),
    /// Failed for good: buried with the error.
    Fail(String),
}

#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// The job kind it runs (the `kind` the jobs were queued with).
    fn kind(&self) -> &'static str;

    /// How many jobs of this kind run at once in one process.
    fn concurrency(&self) -> usize {
        1
    }

    /// The wait before the retry that follows attempt number `attempt` (1 for the first).
    fn backoff(&self, attempt: u32) -> Duration {
        exponential_backoff(attempt, Duration::from_secs(1), Duration::from_secs(600))
    }

    async fn run(&self, job: &Job) -> Outcome;

    /// The job's previous runner died holding it and its attempts are spent: record why (the
    /// job is buried after this returns). It must not do the job's work.
    async fn abandoned(&self, job: &Job) {
        let _ = job;
    }
}

/// `base` doubled per attempt after the first, at most `cap`.
pub fn exponential_backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let doublings = attempt.saturating_sub(1).min(30);
    base.saturating_mul(1u32 << doublings).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = |n| exponential_backoff(n, Duration::from_secs(1), Duration::from_secs(10));
        assert_eq!(b(0), Duration::from_secs(1));
        assert_eq!(b(1), Duration::from_secs(1));
        assert_eq!(b(2), Duration::from_secs(2));
        assert_eq!(b(4), Duration::from_secs(8));
        assert_eq!(b(5), Duration::from_secs(10));
        assert_eq!(b(u32::MAX), Duration::from_secs(10));
    }
}
