//! The claim loop: claims due jobs of the kinds that have a free slot, runs each on its own
//! task under a renewed lease, and records the outcome with the claim token.
use crate::handler::{Handler, Outcome};
use berth_store::{ClaimedJob, JobStore, now_millis};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// How long a claim lasts without renewal: how soon another process takes over the jobs of
    /// one that died. Renewed every third of it while a job runs.
    pub lease: Duration,
    /// How often the queue is looked at without a wake-up (jobs queued by another process, or
    /// due later).
    pub poll: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(5),
        }
    }
}

struct Kind {
    handler: Arc<dyn Handler>,
    slots: Arc<Semaphore>,
}

pub struct Runner {
    store: Arc<dyn JobStore>,
    config: RunnerConfig,
    kinds: BTreeMap<&'static str, Kind>,
    wake: Arc<Notify>,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Runner {
    pub fn new(store: Arc<dyn JobStore>, config: RunnerConfig) -> Runner {
        Runner::with_waker(store, config, Arc::new(Notify::new()))
    }

    /// A runner woken by `wake` (created before the runner, for whoever enqueues).
    pub fn with_waker(store: Arc<dyn JobStore>, config: RunnerConfig, wake: Arc<Notify>) -> Runner {
        Runner {
            store,
            config,
            kinds: BTreeMap::new(),
            wake,
        }
    }

    /// Registers the handler of a kind (a second handler of the same kind replaces the first).
    pub fn register(&mut self, handler: Arc<dyn Handler>) {
        let slots = Arc::new(Semaphore::new(handler.concurrency().max(1)));
        self.kinds.insert(handler.kind(), Kind { handler, slots });
    }

    /// Notified after an enqueue, the runner looks at the queue at once.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs the claim loop on its own task until the process stops.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move { self.run().await })
    }

    async fn run(self) {
        let this = Arc::new(self);
        loop {
            let wait = match this.claim_one().await {
                Ok(None) => continue,
                Ok(Some(wait)) => wait,
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim a background job");
                    this.config.poll
                }
            };
            let _ = tokio::time::timeout(wait, this.wake.notified()).await;
        }
    }

    /// Claims one due job of a kind with a free slot and starts it (`None`); with nothing to
    /// claim, answers how long to wait: until the next job is due, at most the poll interval
    /// (a wake-up or a finished job ends the wait sooner).
    async fn claim_one(self: &Arc<Self>) -> Result<Option<Duration>, berth_store::StoreError> {
        let free: Vec<&str> = self
            .kinds
            .iter()
            .filter(|(_, k)| k.slots.available_permits() > 0)
            .map(|(name, _)| *name)
            .collect();
        let now = now_millis();
        let lease_until = now.saturating_add(millis(self.config.lease));
        let Some(claimed) = self.store.claim_job(&free, now, lease_until).await? else {
            let next = self.store.next_job_due(&free).await?;
            let until_next = next.map(|due| {
                Duration::from_millis(u64::try_from(due.saturating_sub(now_millis())).unwrap_or(0))
            });
            // Due already (claimed elsewhere meanwhile, or a clock step): look again shortly.
            let wait = until_next.map_or(self.config.poll, |d| d.max(Duration::from_millis(5)));
            return Ok(Some(wait.min(self.config.poll)));
        };
        let Some(kind) = self.kinds.get(claimed.job.kind.as_str()) else {
            // Only registered kinds are claimed; a stale claim just expires.
            return Ok(None);
        };
        let handler = kind.handler.clone();
        if claimed.abandoned() {
            tracing::warn!(job = claimed.job.id, kind = %claimed.job.kind,
                attempts = claimed.job.max_attempts, "background job abandoned by a stopped runner");
            handler.abandoned(&claimed.job).await;
            let error = "abandoned: its runner stopped while it ran and its attempts are spent";
            self.store
                .bury_job(claimed.job.id, claimed.held_until, error)
                .await?;
            return Ok(None);
        }
        let Ok(slot) = kind.slots.clone().try_acquire_owned() else {
            // Cannot happen (only this loop takes slots); the lease expires and it is retried.
            return Ok(None);
        };
        let this = self.clone();
        tokio::spawn(async move {
            this.run_claimed(handler, claimed).await;
            drop(slot);
            this.wake.notify_one();
        });
        Ok(None)
    }

    async fn run_claimed(&self, handler: Arc<dyn Handler>, claimed: ClaimedJob) {
        let job = &claimed.job;
        let mut held_until = claimed.held_until;
        let started = std::time::Instant::now();
        let outcome = {
            let run = handler.run(job);
            tokio::pin!(run);
            let renew_every = self.config.lease / 3;
            loop {
                tokio::select! {
                    outcome = &mut run => break Some(outcome),
                    () = tokio::time::sleep(renew_every) => {
                        let lease_until = now_millis().saturating_add(millis(self.config.lease));
                        match self.store.renew_job(job.id, held_until, lease_until).await {
                            Ok(true) => held_until = lease_until,
                            Ok(false) => break None,
                            // The store is unreachable: keep running; the next renewal may
                            // work, and the outcome is recorded with the token either way.
                            Err(e) => tracing::warn!(job = job.id, error = %e, "cannot renew a job lease"),
                        }
                    }
                }
            }
        };
        let Some(outcome) = outcome else {
            tracing::warn!(job = job.id, kind = %job.kind, "job lease lost to another runner; stopped");
            return;
        };
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let recorded = match &outcome {
            Outcome::Done => self.store.complete_job(job.id, held_until).await,
            Outcome::Retry(error) if job.attempts < job.max_attempts => {
                let due = now_millis().saturating_add(millis(handler.backoff(job.attempts)));
                self.store.retry_job(job.id, held_until, due, error).await
            }
            Outcome::Retry(error) | Outcome::Fail(error) => {
                self.store.bury_job(job.id, held_until, error).await
            }
        };
        match recorded {
            Ok(true) => {
                tracing::debug!(job = job.id, kind = %job.kind, ?outcome, elapsed_ms, "background job ran")
            }
            Ok(false) => {
                tracing::warn!(job = job.id, kind = %job.kind, "job lease lost before its outcome was recorded")
            }
            Err(e) => {
                tracing::error!(job = job.id, kind = %job.kind, error = %e, "cannot record a job outcome")
            }
        }
    }
}
