//! The memory budget of one scan: how many bytes of file content it may hold at once, over all
//! layers and worker threads. A file is read into memory only after its size is reserved here
//! (the tar header gives the size, and the read is bounded by it); a file that does not fit is
//! streamed past instead and reported as not analysed. Reservations of files being analysed are
//! released when the buffer is dropped; those of files kept for the catalogers stay reserved
//! until the scan ends, as the content does.
//!
//! Without it, a 27 MiB gzip layer of ten 400 MiB `package.json` (150:1, under the bomb
//! ratio) made a scan hold 4 GiB, and the server was OOM-killed.
use std::sync::{Condvar, Mutex, MutexGuard};

#[derive(Debug, Default)]
struct State {
    used: u64,
    peak: u64,
    /// Live reservations that will be released (files being analysed).
    transient: usize,
}

#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    state: Mutex<State>,
    released: Condvar,
}

/// Whether a reservation that does not fit now may wait for one that will be released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Wait while other reservations are in flight. Only for a caller that holds no transient
    /// reservation itself: two threads waiting for each other would never wake.
    WhileOthersAnalyse,
    /// Fail at once (a caller that already holds a reservation: a nested archive entry).
    No,
}

impl MemoryBudget {
    pub fn new(limit: u64) -> Self {
        MemoryBudget {
            limit,
            state: Mutex::new(State::default()),
            released: Condvar::new(),
        }
    }

    /// A poisoned lock only means another thread panicked while counting; the counts are
    /// still whole numbers, so carry on with them rather than panic here too.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes reserved now.
    pub fn used(&self) -> u64 {
        self.lock().used
    }

    /// The most bytes reserved at any one time.
    pub fn peak(&self) -> u64 {
        self.lock().peak
    }

    /// Reserves `bytes`, or returns None when they do not fit. With
    /// [`Wait::WhileOthersAnalyse`] a reservation that does not fit yet waits for the files
    /// other threads are analysing to be released, so which files are analysed does not depend
    /// on how the layers' threads happen to overlap; it fails once nothing more can be released
    /// (the rest is kept content), or at once when `bytes` exceeds the whole budget.
    pub fn reserve(&self, bytes: u64, wait: Wait) -> Option<Reservation<'_>> {
        if bytes > self.limit {
            return None;
        }
        let mut state = self.lock();
        loop {
            if state.used.saturating_add(bytes) <= self.limit {
                state.used += bytes;
                state.peak = state.peak.max(state.used);
                state.transient += 1;
                return Some(Reservation {
                    budget: self,
                    bytes,
                    kept: false,
                });
            }
            if wait == Wait::No || state.transient == 0 {
                return None;
            }
            state = self.released.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn settle(&self, release: u64) {
        let mut state = self.lock();
        state.used = state.used.saturating_sub(release);
        state.transient = state.transient.saturating_sub(1);
        drop(state);
        // Waiters re-check: either room was made or nothing more will be released.
        self.released.notify_all();
    }
}

/// Bytes reserved in a [`MemoryBudget`]; released on drop unless [`Reservation::keep`] is called.
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a MemoryBudget,
    bytes: u64,
    kept: bool,
}

impl Reservation<'_> {
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The content stays in memory for the rest of the scan (kept for the catalogers): its
    /// bytes stay reserved until the budget is dropped with the scan.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let release = if self.kept { 0 } else { self.bytes };
        self.budget.settle(release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    #[test]
    fn counts_reservations_and_releases() {
        let b = MemoryBudget::new(100);
        let a = b.reserve(60, Wait::No).unwrap();
        assert_eq!(b.used(), 60);
        assert!(b.reserve(41, Wait::No).is_none(), "over the limit");
        let c = b.reserve(40, Wait::No).unwrap();
        assert_eq!((b.used(), b.peak()), (100, 100));
        drop(a);
        assert_eq!(b.used(), 40);
        c.keep();
        assert_eq!(b.used(), 40, "kept bytes stay reserved");
        assert!(
            b.reserve(61, Wait::WhileOthersAnalyse).is_none(),
            "nothing in flight to wait for"
        );
        let d = b.reserve(60, Wait::No).unwrap();
        assert_eq!(d.bytes(), 60);
        drop(d);
        assert_eq!((b.used(), b.peak()), (40, 100));
        assert!(b.reserve(101, Wait::No).is_none(), "larger than the budget");
        assert!(b.reserve(0, Wait::No).is_some());
    }

    #[test]
    fn a_waiting_reservation_gets_the_bytes_another_thread_releases() {
        let b = Arc::new(MemoryBudget::new(100));
        let held = b.reserve(80, Wait::No).unwrap();
        let waited = Arc::new(AtomicBool::new(false));
        std::thread::scope(|s| {
            let (b2, w2) = (b.clone(), waited.clone());
            let t = s.spawn(move || {
                let r = b2.reserve(50, Wait::WhileOthersAnalyse).map(|r| r.bytes());
                w2.store(true, Ordering::SeqCst);
                r
            });
            std::thread::sleep(Duration::from_millis(50));
            assert!(!waited.load(Ordering::SeqCst), "it waits for the release");
            drop(held);
            assert_eq!(t.join().unwrap(), Some(50));
        });
        assert_eq!((b.used(), b.peak()), (0, 80));
    }

    #[test]
    fn a_waiting_reservation_fails_when_the_rest_is_kept() {
        let b = Arc::new(MemoryBudget::new(100));
        let held = b.reserve(80, Wait::No).unwrap();
        std::thread::scope(|s| {
            let b2 = b.clone();
            let t = s.spawn(move || b2.reserve(50, Wait::WhileOthersAnalyse).is_some());
            std::thread::sleep(Duration::from_millis(50));
            held.keep();
            assert!(!t.join().unwrap(), "nothing more will be released");
        });
        assert_eq!(b.used(), 80);
    }
}
