//! Time for the request pipeline: token expiry, bucket refill, backoff.
//!
//! Built on tokio's clock, so `tokio::time::pause()` freezes it in tests. A `scale` above 1
//! runs it faster than real time, matching a simulator started with `--time-scale`: the
//! simulator's bucket refills and tokens expire in *its* seconds, and the client must count
//! the same seconds to pace itself correctly.

use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct Clock {
    origin: Instant,
    scale: f64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::real()
    }
}

impl Clock {
    /// Real time (or paused tokio time in tests).
    pub fn real() -> Self {
        Self::scaled(1.0)
    }

    /// `scale` simulated seconds pass per real second.
    pub fn scaled(scale: f64) -> Self {
        Self {
            origin: Instant::now(),
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                1.0
            },
        }
    }

    /// Time elapsed on this clock since it was created.
    pub fn now(&self) -> Duration {
        self.origin.elapsed().mul_f64(self.scale)
    }

    /// Sleeps for `d` of this clock's time.
    pub async fn sleep(&self, d: Duration) {
        if !d.is_zero() {
            tokio::time::sleep(d.div_f64(self.scale)).await;
        }
    }

    /// Converts a real duration to this clock's time.
    pub fn from_real(&self, d: Duration) -> Duration {
        d.mul_f64(self.scale)
    }

    /// Converts a duration on this clock to real time (for I/O timeouts, which are real).
    pub fn to_real(&self, d: Duration) -> Duration {
        d.div_f64(self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_scaled_clock_sleeps_in_its_own_seconds() {
        let clock = Clock::scaled(60.0);
        let real = Instant::now();
        clock.sleep(Duration::from_secs(60)).await;
        assert_eq!(real.elapsed(), Duration::from_secs(1));
        assert!(clock.now() >= Duration::from_secs(60));
    }
}
