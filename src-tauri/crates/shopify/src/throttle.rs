//! The cost-aware throttle: pace requests so the store's bucket can always pay.
//!
//! Shopify admits a query only when the bucket holds at least its *requested* cost, then
//! charges the *actual* cost. The client mirrors the bucket from the last answer's
//! `throttleStatus`, projects it forward at the restore rate, subtracts what requests in
//! flight have reserved, and lets a request go only when the projection covers its estimated
//! cost; otherwise it waits exactly as long as the refill needs. Estimates are learned per
//! operation from the `requestedQueryCost` Shopify reported last time, so the client never
//! assumes a cost formula (Shopify's is sub-linear and only partly documented).
//!
//! Many callers share one throttle. The state sits behind a `std::sync::Mutex` that is never
//! held across an `.await`: callers take the lock, decide, release it, and then sleep.

use crate::clock::Clock;
use crate::envelope::Cost;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// The bucket as the UI shows it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BucketSnapshot {
    /// Bucket size in points (0 until the first answer).
    pub maximum: f64,
    /// Points available as of the last answer, projected to now.
    pub available: f64,
    /// Points restored per second.
    pub restore_rate: f64,
    /// Requests Shopify answered with `THROTTLED` since the client started.
    pub throttled: u64,
    /// Requests answered (of any kind) since the client started.
    pub answered: u64,
}

#[derive(Debug, Clone, Copy)]
struct Observed {
    maximum: f64,
    available: f64,
    restore_rate: f64,
    at: Duration,
}

impl Observed {
    fn projected(&self, now: Duration) -> f64 {
        let elapsed = now.saturating_sub(self.at).as_secs_f64();
        (self.available + elapsed * self.restore_rate).min(self.maximum)
    }
}

#[derive(Debug)]
struct State {
    observed: Option<Observed>,
    reserved: f64,
    in_flight: u32,
    estimates: HashMap<&'static str, f64>,
    throttled: u64,
    answered: u64,
}

/// What a request reserved; hand it back with [`Throttle::settle`].
#[derive(Debug)]
#[must_use = "a permit must be settled, or its reservation blocks other requests"]
pub struct Permit {
    cost: f64,
}

#[derive(Debug)]
pub struct Throttle {
    clock: Clock,
    state: Mutex<State>,
    tx: watch::Sender<BucketSnapshot>,
}

/// Until the first answer tells the bucket's size, only this many requests go at once.
const FIRST_CONTACT_CONCURRENCY: u32 = 1;

impl Throttle {
    pub fn new(clock: Clock) -> Self {
        let (tx, _) = watch::channel(BucketSnapshot::default());
        Self {
            clock,
            state: Mutex::new(State {
                observed: None,
                reserved: 0.0,
                in_flight: 0,
                estimates: HashMap::new(),
                throttled: 0,
                answered: 0,
            }),
            tx,
        }
    }

    /// Live bucket state, for the dashboard.
    pub fn subscribe(&self) -> watch::Receiver<BucketSnapshot> {
        self.tx.subscribe()
    }

    pub fn snapshot(&self) -> BucketSnapshot {
        let state = self.lock();
        self.snapshot_of(&state)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain numbers behind: still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn snapshot_of(&self, state: &State) -> BucketSnapshot {
        let now = self.clock.now();
        match state.observed {
            Some(o) => BucketSnapshot {
                maximum: o.maximum,
                available: o.projected(now),
                restore_rate: o.restore_rate,
                throttled: state.throttled,
                answered: state.answered,
            },
            None => BucketSnapshot {
                throttled: state.throttled,
                answered: state.answered,
                ..BucketSnapshot::default()
            },
        }
    }

    /// Waits until the bucket can pay for `operation`, then reserves its estimated cost.
    pub async fn acquire(&self, operation: &'static str, fallback_estimate: f64) -> Permit {
        loop {
            let wait = {
                let mut state = self.lock();
                let estimate = state
                    .estimates
                    .get(operation)
                    .copied()
                    .unwrap_or(fallback_estimate)
                    .max(1.0);
                match state.observed {
                    None if state.in_flight < FIRST_CONTACT_CONCURRENCY => {
                        state.in_flight += 1;
                        state.reserved += estimate;
                        return Permit { cost: estimate };
                    }
                    None => Duration::from_millis(20),
                    Some(o) => {
                        let free = o.projected(self.clock.now()) - state.reserved;
                        // A query larger than the whole bucket can never be admitted by
                        // waiting; send it when the bucket is full and let Shopify answer.
                        let need = estimate.min(o.maximum);
                        if free >= need || (state.in_flight == 0 && free >= o.maximum - 0.5) {
                            state.in_flight += 1;
                            state.reserved += estimate;
                            return Permit { cost: estimate };
                        }
                        let rate = o.restore_rate.max(0.001);
                        Duration::from_secs_f64(((need - free) / rate).max(0.001))
                    }
                }
            };
            self.clock.sleep(wait).await;
        }
    }

    /// Returns a permit and records what the answer said about the bucket (if anything).
    pub fn settle(
        &self,
        operation: &'static str,
        permit: Permit,
        cost: Option<&Cost>,
        throttled: bool,
    ) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.reserved = (state.reserved - permit.cost).max(0.0);
        if state.in_flight == 0 {
            state.reserved = 0.0;
        }
        if let Some(cost) = cost {
            state.answered += 1;
            if throttled {
                state.throttled += 1;
            }
            let t = cost.throttle_status;
            state.observed = Some(Observed {
                maximum: t.maximum_available,
                available: t.currently_available,
                restore_rate: t.restore_rate,
                at: self.clock.now(),
            });
            if cost.requested_query_cost > 0.0 {
                state.estimates.insert(operation, cost.requested_query_cost);
            }
        }
        let snapshot = self.snapshot_of(&state);
        drop(state);
        self.tx.send_replace(snapshot);
    }

    /// How long a `THROTTLED` request must wait before the bucket holds its requested cost:
    /// `(requested - available) / restore rate`, never less than a millisecond.
    pub fn throttled_wait(cost: &Cost) -> Duration {
        let t = cost.throttle_status;
        let missing = (cost.requested_query_cost - t.currently_available).max(0.0);
        Duration::from_secs_f64((missing / t.restore_rate.max(0.001)).max(0.001))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::ThrottleStatus;

    fn cost(requested: f64, available: f64) -> Cost {
        Cost {
            requested_query_cost: requested,
            actual_query_cost: Some(requested),
            throttle_status: ThrottleStatus {
                maximum_available: 2000.0,
                currently_available: available,
                restore_rate: 100.0,
            },
        }
    }

    #[test]
    fn throttled_wait_is_the_refill_time_of_the_missing_points() {
        let c = Cost {
            requested_query_cost: 862.0,
            actual_query_cost: None,
            throttle_status: ThrottleStatus {
                maximum_available: 4000.0,
                currently_available: 572.0,
                restore_rate: 200.0,
            },
        };
        assert_eq!(Throttle::throttled_wait(&c), Duration::from_secs_f64(1.45));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_waits_exactly_until_the_bucket_can_pay() {
        let throttle = Throttle::new(Clock::real());
        let p = throttle.acquire("Q", 50.0).await;
        // Shopify says: 100 points left, this query costs 300.
        throttle.settle("Q", p, Some(&cost(300.0, 100.0)), false);
        let start = tokio::time::Instant::now();
        let p = throttle.acquire("Q", 50.0).await;
        // 200 points missing at 100/s.
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(1990) && waited <= Duration::from_millis(2100),
            "waited {waited:?}"
        );
        throttle.settle("Q", p, Some(&cost(300.0, 10.0)), false);
        assert_eq!(throttle.snapshot().answered, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_reservations_share_the_bucket() {
        let throttle = std::sync::Arc::new(Throttle::new(Clock::real()));
        let p = throttle.acquire("Q", 100.0).await;
        throttle.settle("Q", p, Some(&cost(100.0, 250.0)), false);
        // 250 available, 100 each: two go at once, the third must wait for refill.
        let a = throttle.acquire("Q", 100.0).await;
        let b = throttle.acquire("Q", 100.0).await;
        let start = tokio::time::Instant::now();
        let t = throttle.clone();
        let third = tokio::spawn(async move { t.acquire("Q", 100.0).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!third.is_finished(), "third request went without budget");
        let c = third.await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(450),
            "{:?}",
            start.elapsed()
        );
        for p in [a, b, c] {
            throttle.settle("Q", p, None, false);
        }
    }
}
