//! The runner over a real SQLite store: retries, burial, abandonment, lease renewal across two
//! runners, and per-kind concurrency.
use async_trait::async_trait;
use berth_jobs::{Handler, Outcome, Runner, RunnerConfig};
use berth_store::{Job, JobEnqueued, JobState, JobStore, NewJob, SqliteMetadataStore, now_millis};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn store() -> Result<(tempfile::TempDir, Arc<SqliteMetadataStore>), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    let store = SqliteMetadataStore::open(&dir.path().join("meta.db")).await?;
    Ok((dir, Arc::new(store)))
}

fn config(lease_ms: u64) -> RunnerConfig {
    RunnerConfig {
        lease: Duration::from_millis(lease_ms),
        poll: Duration::from_millis(20),
    }
}

async fn enqueue(
    store: &SqliteMetadataStore,
    kind: &str,
    max_attempts: u32,
) -> Result<i64, Box<dyn std::error::Error>> {
    let job = NewJob {
        kind: kind.to_string(),
        payload: "p".to_string(),
        dedupe_key: None,
        max_attempts,
        due_at: now_millis(),
    };
    match store.enqueue_job(&job).await? {
        JobEnqueued::Queued(id) => Ok(id),
        JobEnqueued::Duplicate(id) => Err(format!("duplicate {id}").into()),
    }
}

/// Waits until `done` holds, for at most 10 s.
async fn eventually(mut done: impl AsyncFnMut() -> bool) -> TestResult {
    for _ in 0..500 {
        if done().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err("timed out".into())
}

/// Answers the scripted outcomes in order, then Done; counts runs and abandonments, and the
/// most runs in flight at once.
struct Scripted {
    outcomes: Mutex<Vec<Outcome>>,
    runs: AtomicU32,
    abandoned: AtomicU32,
    in_flight: AtomicU32,
    max_in_flight: AtomicU32,
    sleep: Duration,
}

impl Scripted {
    fn new(outcomes: Vec<Outcome>, sleep: Duration) -> Arc<Scripted> {
        Arc::new(Scripted {
            outcomes: Mutex::new(outcomes),
            runs: AtomicU32::new(0),
            abandoned: AtomicU32::new(0),
            in_flight: AtomicU32::new(0),
            max_in_flight: AtomicU32::new(0),
            sleep,
        })
    }
}

#[async_trait]
impl Handler for Scripted {
    fn kind(&self) -> &'static str {
        "test"
    }
    fn backoff(&self, _attempt: u32) -> Duration {
        Duration::from_millis(10)
    }
    async fn run(&self, _job: &Job) -> Outcome {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.sleep).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.runs.fetch_add(1, Ordering::SeqCst);
        let mut outcomes = self.outcomes.lock().map_err(|_| ()).ok();
        match outcomes.as_mut().filter(|o| !o.is_empty()) {
            Some(o) => o.remove(0),
            None => Outcome::Done,
        }
    }
    async fn abandoned(&self, _job: &Job) {
        self.abandoned.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_retried_job_runs_until_done_and_is_deleted() -> TestResult {
    let (_dir, store) = store().await?;
    let handler = Scripted::new(
        vec![Outcome::Retry("one".into()), Outcome::Retry("two".into())],
        Duration::ZERO,
    );
    let mut runner = Runner::new(store.clone(), config(1000));
    runner.register(handler.clone());
    let id = enqueue(&store, "test", 3).await?;
    let _task = runner.spawn();
    eventually(async || store.get_job(id).await.ok().flatten().is_none()).await?;
    assert_eq!(handler.runs.load(Ordering::SeqCst), 3);
    Ok(())
}

#[tokio::test]
async fn retries_end_at_the_attempt_budget_and_failures_bury_at_once() -> TestResult {
    let (_dir, store) = store().await?;
    let handler = Scripted::new(
        vec![
            Outcome::Retry("a".into()),
            Outcome::Retry("b".into()),
            Outcome::Fail("for good".into()),
        ],
        Duration::ZERO,
    );
    let mut runner = Runner::new(store.clone(), config(1000));
    runner.register(handler.clone());
    let spent = enqueue(&store, "test", 2).await?;
    let _task = runner.spawn();
    eventually(
        async || matches!(store.get_job(spent).await, Ok(Some(j)) if j.state == JobState::Dead),
    )
    .await?;
    let j = store.get_job(spent).await?.ok_or("gone")?;
    assert_eq!((j.attempts, j.last_error.as_deref()), (2, Some("b")));
    let failed = enqueue(&store, "test", 5).await?;
    eventually(
        async || matches!(store.get_job(failed).await, Ok(Some(j)) if j.state == JobState::Dead),
    )
    .await?;
    let j = store.get_job(failed).await?.ok_or("gone")?;
    assert_eq!((j.attempts, j.last_error.as_deref()), (1, Some("for good")));
    assert_eq!(handler.runs.load(Ordering::SeqCst), 3);
    Ok(())
}

#[tokio::test]
async fn a_job_whose_runner_died_with_its_attempts_spent_is_abandoned_not_run() -> TestResult {
    let (_dir, store) = store().await?;
    let id = enqueue(&store, "test", 1).await?;
    // A runner claims it and dies: its lease ends in 100 ms.
    let now = now_millis();
    let dead = store
        .claim_job(&["test"], now, now + 100)
        .await?
        .ok_or("claimed")?;
    assert_eq!(dead.job.id, id);
    let handler = Scripted::new(vec![], Duration::ZERO);
    let mut runner = Runner::new(store.clone(), config(1000));
    runner.register(handler.clone());
    let _task = runner.spawn();
    eventually(
        async || matches!(store.get_job(id).await, Ok(Some(j)) if j.state == JobState::Dead),
    )
    .await?;
    assert_eq!(handler.abandoned.load(Ordering::SeqCst), 1);
    assert_eq!(handler.runs.load(Ordering::SeqCst), 0);
    Ok(())
}

#[tokio::test]
async fn a_renewed_lease_keeps_a_long_job_from_a_second_runner() -> TestResult {
    let (_dir, store) = store().await?;
    // Runs for five leases; the second runner would take it over if the lease lapsed.
    let handler = Scripted::new(vec![], Duration::from_millis(1000));
    let mut one = Runner::new(store.clone(), config(200));
    one.register(handler.clone());
    let mut two = Runner::new(store.clone(), config(200));
    two.register(handler.clone());
    let id = enqueue(&store, "test", 3).await?;
    let _one = one.spawn();
    let _two = two.spawn();
    eventually(async || store.get_job(id).await.ok().flatten().is_none()).await?;
    assert_eq!(handler.runs.load(Ordering::SeqCst), 1);
    assert_eq!(handler.max_in_flight.load(Ordering::SeqCst), 1);
    Ok(())
}

#[tokio::test]
async fn a_kind_runs_at_most_its_concurrency_at_once() -> TestResult {
    let (_dir, store) = store().await?;
    let handler = Scripted::new(vec![], Duration::from_millis(30));
    let mut runner = Runner::new(store.clone(), config(1000));
    runner.register(handler.clone());
    let waker = runner.waker();
    let _task = runner.spawn();
    for _ in 0..5 {
        enqueue(&store, "test", 1).await?;
        waker.notify_one();
    }
    eventually(async || handler.runs.load(Ordering::SeqCst) == 5).await?;
    assert_eq!(handler.max_in_flight.load(Ordering::SeqCst), 1);
    eventually(async || {
        store
            .list_jobs("test", 10)
            .await
            .is_ok_and(|j| j.is_empty())
    })
    .await?;
    Ok(())
}
