//! Retry schedules as data.
//!
//! Exponential backoff with full jitter (a uniformly random wait between zero and the
//! exponential bound), capped, for a bounded number of attempts. The random source is a
//! seedable generator owned by the client, so a test can fix the seed and know the schedule.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included, for network errors, timeouts, 5xx and 429.
    pub max_attempts: u32,
    /// `THROTTLED` answers tolerated for one call; each waits exactly for the bucket.
    pub max_throttled: u32,
    /// The bound of the first retry's wait; doubles per attempt.
    pub base: Duration,
    /// No single wait exceeds this.
    pub cap: Duration,
    /// A request that has not answered within this (real) time counts as a network error.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            max_throttled: 20,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The exponential bound before the retry that follows attempt `attempt` (1-based).
    pub fn bound(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        self.base.saturating_mul(1u32 << exp).min(self.cap)
    }

    /// A full-jitter wait after attempt `attempt`.
    pub fn delay(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        self.bound(attempt).mul_f64(rng.f64())
    }

    /// The whole schedule of waits for one call that fails every attempt, for a given seed.
    pub fn schedule(&self, seed: u64) -> Vec<Duration> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (1..self.max_attempts)
            .map(|a| self.delay(a, &mut rng))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_stay_under_a_doubling_capped_bound_and_vary() {
        let policy = RetryPolicy {
            max_attempts: 8,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
            ..RetryPolicy::default()
        };
        let schedule = policy.schedule(7);
        assert_eq!(schedule.len(), 7);
        for (i, wait) in schedule.iter().enumerate() {
            assert!(*wait <= policy.bound(i as u32 + 1), "wait {i} = {wait:?}");
        }
        assert_eq!(policy.bound(1), Duration::from_millis(100));
        assert_eq!(policy.bound(3), Duration::from_millis(400));
        assert_eq!(policy.bound(7), Duration::from_secs(2));
        // Jitter: two seeds give two different schedules; one seed always the same one.
        assert_ne!(policy.schedule(7), policy.schedule(8));
        assert_eq!(policy.schedule(7), schedule);
    }
}
