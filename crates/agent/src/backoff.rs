//! Capped exponential backoff with jitter, so that many agents cut off by the same outage do
//! not come back in step.
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        let initial = initial.max(Duration::from_millis(1));
        Backoff {
            initial,
            max: max.max(initial),
            current: initial,
        }
    }

    /// The pause before the next try: the current step, jittered down by up to a quarter; the
    /// step then doubles, up to the cap.
    pub fn next_pause(&mut self) -> Duration {
        let step = self.current;
        self.current = (self.current * 2).min(self.max);
        let jitter = rand::random_range(0.75..=1.0);
        step.mul_f64(jitter)
    }

    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let pauses: Vec<Duration> = (0..5).map(|_| b.next_pause()).collect();
        let caps = [100, 200, 350, 350, 350];
        for (p, cap) in pauses.iter().zip(caps) {
            assert!(*p <= Duration::from_millis(cap) && *p >= Duration::from_millis(cap * 3 / 4));
        }
        b.reset();
        assert!(b.next_pause() <= Duration::from_millis(100));
    }
}
