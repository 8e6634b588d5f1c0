//! The leaky bucket behind `extensions.cost.throttleStatus` (FACTS §4).
//!
//! One bucket per (app, shop). It refills continuously at the plan's restore rate up to its size.
//! A query is admitted only when the bucket holds at least its *requested* cost; that much is held
//! while it runs, then the difference to the *actual* cost is refunded.

use crate::clock::UnixMillis;
use crate::config::Plan;

#[derive(Debug, Clone)]
pub struct LeakyBucket {
    pub maximum_available: f64,
    pub restore_rate: f64,
    available: f64,
    at: UnixMillis,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleStatus {
    pub maximum_available: f64,
    pub currently_available: f64,
    pub restore_rate: f64,
}

impl LeakyBucket {
    pub fn new(plan: &Plan, now: UnixMillis) -> Self {
        Self {
            maximum_available: plan.maximum_available,
            restore_rate: plan.restore_rate,
            available: plan.maximum_available,
            at: now,
        }
    }

    fn refill(&mut self, now: UnixMillis) {
        if now > self.at {
            let gained = (now - self.at) as f64 / 1000.0 * self.restore_rate;
            self.available = (self.available + gained).min(self.maximum_available);
            self.at = now;
        }
    }

    /// Takes `cost` if the bucket holds that much; otherwise leaves it untouched.
    pub fn try_take(&mut self, cost: f64, now: UnixMillis) -> bool {
        self.refill(now);
        if self.available >= cost {
            self.available -= cost;
            true
        } else {
            false
        }
    }

    /// Gives back what was held but not spent.
    pub fn refund(&mut self, amount: f64, now: UnixMillis) {
        self.refill(now);
        self.available = (self.available + amount.max(0.0)).min(self.maximum_available);
    }

    /// Empties the bucket down to `level` (a throttle burst fault).
    pub fn drain_to(&mut self, level: f64, now: UnixMillis) {
        self.refill(now);
        self.available = self.available.min(level.max(0.0));
    }

    pub fn status(&mut self, now: UnixMillis) -> ThrottleStatus {
        self.refill(now);
        ThrottleStatus {
            maximum_available: self.maximum_available,
            currently_available: self.available,
            restore_rate: self.restore_rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            name: "standard".into(),
            maximum_available: 2000.0,
            restore_rate: 100.0,
        }
    }

    #[test]
    fn holds_requested_refunds_difference_and_refills() {
        let mut b = LeakyBucket::new(&plan(), 0);
        assert!(b.try_take(862.0, 0));
        b.refund(862.0 - 158.0, 0);
        assert_eq!(b.status(0).currently_available, 1842.0);
        assert!(!b.try_take(1900.0, 0));
        assert_eq!(b.status(0).currently_available, 1842.0);
        assert_eq!(b.status(1_000).currently_available, 1942.0);
        assert_eq!(b.status(60_000).currently_available, 2000.0);
    }
}
