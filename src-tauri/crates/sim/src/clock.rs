//! The simulator's clock.
//!
//! Token expiry, the leaky bucket and every `updatedAt` read time from here, never from the OS
//! directly, so that a simulated day can pass in seconds (`--time-scale`) and tests can move time
//! forward explicitly ([`SimClock::advance`]) instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

// tokio's Instant follows the real clock, except in tests that pause tokio's time
// (`tokio::time::pause`), where it moves only when the test advances it.
use tokio::time::Instant;

/// Simulated wall-clock time in milliseconds since the Unix epoch.
pub type UnixMillis = i64;

#[derive(Clone, Debug)]
pub struct SimClock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Simulated time at `real_start`.
    start: UnixMillis,
    real_start: Instant,
    /// Simulated milliseconds per real millisecond; 0 freezes the clock (manual mode).
    scale: f64,
    /// Time added by [`SimClock::advance`].
    offset: AtomicI64,
}

impl SimClock {
    /// A clock that starts at `start` and runs `scale` times faster than real time.
    pub fn scaled(start: UnixMillis, scale: f64) -> Self {
        Self {
            inner: Arc::new(Inner {
                start,
                real_start: Instant::now(),
                scale: scale.max(0.0),
                offset: AtomicI64::new(0),
            }),
        }
    }

    /// A clock that stands still until [`SimClock::advance`] moves it: for deterministic tests.
    pub fn manual(start: UnixMillis) -> Self {
        Self::scaled(start, 0.0)
    }

    /// The current simulated time.
    pub fn now(&self) -> UnixMillis {
        let real = self.inner.real_start.elapsed().as_secs_f64() * 1000.0;
        // Truncation is intended: millisecond resolution is all any consumer needs.
        let scaled = (real * self.inner.scale) as i64;
        self.inner.start + scaled + self.inner.offset.load(Ordering::SeqCst)
    }

    /// Moves simulated time forward (both modes).
    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
        self.inner.offset.fetch_add(millis, Ordering::SeqCst);
    }

    pub fn scale(&self) -> f64 {
        self.inner.scale
    }
}

/// Formats as Shopify's GraphQL `DateTime`: UTC, second precision, `Z` suffix.
pub fn format_rfc3339(t: UnixMillis) -> String {
    let secs = t.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]]` with an optional `Z` or `±HH:MM` offset
/// (no offset means UTC, as Shopify's search does for the admin API).
pub fn parse_rfc3339(text: &str) -> Option<UnixMillis> {
    let text = text.trim();
    let (date, rest) = match text.find(['T', 't', ' ']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut millis = days_from_civil(y, m, d) * 86_400_000;
    if let Some(rest) = rest {
        let (clock, offset_millis) = if let Some(stripped) = rest.strip_suffix(['Z', 'z']) {
            (stripped, 0)
        } else if let Some(i) = rest.rfind(['+', '-']) {
            let (clock, offset) = rest.split_at(i);
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let mut hm = offset[1..].split(':');
            let h: i64 = hm.next()?.parse().ok()?;
            let mi: i64 = hm.next().unwrap_or("0").parse().ok()?;
            (clock, sign * (h * 3600 + mi * 60) * 1000)
        } else {
            (rest, 0)
        };
        let mut hms = clock.split(':');
        let h: i64 = hms.next()?.parse().ok()?;
        let mi: i64 = hms.next()?.parse().ok()?;
        let s: f64 = hms.next().unwrap_or("0").parse().ok()?;
        if h > 23 || mi > 59 || !(0.0..61.0).contains(&s) {
            return None;
        }
        // Sub-millisecond digits are dropped on purpose.
        millis += (h * 3600 + mi * 60) * 1000 + (s * 1000.0) as i64 - offset_millis;
    }
    Some(millis)
}

// Howard Hinnant's civil calendar algorithms (public domain).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let t = parse_rfc3339("2026-07-01T12:34:56Z").unwrap();
        assert_eq!(format_rfc3339(t), "2026-07-01T12:34:56Z");
        assert_eq!(
            parse_rfc3339("2026-07-01").unwrap(),
            t - (12 * 3600 + 34 * 60 + 56) * 1000
        );
        assert_eq!(parse_rfc3339("2026-07-01T14:34:56+02:00").unwrap(), t);
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert!(parse_rfc3339("2026-13-01").is_none());
        assert!(parse_rfc3339("yesterday").is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn scaled_clock_runs_faster_than_real_time() {
        let clock = SimClock::scaled(1_000, 60.0);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(clock.now(), 1_000 + 120_000);
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now(), 1_000 + 121_000);
    }

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = SimClock::manual(1_000);
        assert_eq!(clock.now(), 1_000);
        clock.advance(Duration::from_secs(2));
        assert_eq!(clock.now(), 3_000);
    }
}
