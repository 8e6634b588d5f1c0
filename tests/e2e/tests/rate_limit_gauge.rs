//! The dashboard's rate-limit gauge moves under load, in the built app: on a demo store with
//! a standard plan's small bucket (2,000 points, refilled at 100 points/s), another client
//! keeps the bucket empty while the owner asks for syncs; the gauge shows the points drop and
//! the throttled count rise, and once the load stops, the points come back at the refill
//! rate.

use anyhow::{Context, Result, bail};
use shelfsync_e2e::{DesktopSession, app_binary};
use std::time::{Duration, Instant};

/// What the gauge shows: points available (the meter's value), its maximum, and its text.
struct Gauge {
    available: f64,
    maximum: f64,
    text: String,
}

impl Gauge {
    /// The number in "throttled N times".
    fn throttled(&self) -> Option<u64> {
        let after = self.text.split("throttled").nth(1)?;
        after
            .split_whitespace()
            .next()?
            .replace(',', "")
            .parse()
            .ok()
    }
}

async fn gauge(app: &DesktopSession) -> Result<Option<Gauge>> {
    let value = app
        .client
        .execute(
            "const g = document.querySelector('[data-testid=bucket-gauge]');\
             const m = g && g.querySelector('[role=meter]');\
             return m ? [Number(m.getAttribute('aria-valuenow')),\
                         Number(m.getAttribute('aria-valuemax')), g.innerText] : null;",
            vec![],
        )
        .await?;
    let Some(parts) = value.as_array() else {
        return Ok(None);
    };
    Ok(Some(Gauge {
        available: parts[0].as_f64().context("meter value")?,
        maximum: parts[1].as_f64().context("meter maximum")?,
        text: parts[2].as_str().unwrap_or_default().to_string(),
    }))
}

/// Clicks "Sync now" every two seconds until the gauge satisfies `done`, for up to `seconds`.
async fn sync_until(
    app: &DesktopSession,
    seconds: u64,
    what: &str,
    done: impl Fn(&Gauge) -> bool,
) -> Result<Gauge> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut last_click = Instant::now() - Duration::from_secs(10);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Some(g) = gauge(app).await? {
            if done(&g) {
                return Ok(g);
            }
            if seen.last() != Some(&g.available) {
                seen.push(g.available);
            }
        }
        if last_click.elapsed() >= Duration::from_secs(2) {
            // Disabled while a request to start a sync is on its way; that is fine.
            if let Ok(button) = app.find("[data-testid=sync-now]").await {
                let _ = button.click().await;
            }
            last_click = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the gauge never showed {what}; points available seen: {seen:?}")
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a display and WebKitWebDriver: run through .ci/test"]
async fn the_rate_limit_gauge_drops_under_load_and_recovers() -> Result<()> {
    let app = DesktopSession::start_binary(
        "rate-limit",
        &app_binary(),
        &["--demo"],
        &[("SHELFSYNC_DEMO_PLAN", "standard")],
    )
    .await?;
    app.find("[data-testid=demo-badge]").await?;
    app.wait_text_for(
        "[data-testid=sync-finished]",
        |t| t.contains("finished"),
        120,
    )
    .await?;

    // The standard plan's bucket and refill rate, and how often it was throttled so far.
    let before = sync_until(&app, 30, "the standard plan's bucket", |g| {
        g.maximum == 2000.0
    })
    .await?;
    assert!(
        before.text.contains("Refills 100 points/s"),
        "{}",
        before.text
    );
    let throttled_before = before.throttled().context("the throttled count is shown")?;
    assert!(before.available > 1000.0, "{}", before.text);
    app.screenshot("before").await?;

    // Load: another client of the same app on the same store (the CLI's daemon, say) spends
    // the bucket as fast as it refills, through the simulator's throttle burst, while the
    // owner keeps asking for syncs. The app's own mirror of the bucket is then wrong, and
    // Shopify throttles its requests.
    let address = app
        .find("[data-testid=store] .address")
        .await?
        .text()
        .await?;
    let drain_url = format!("{}/_sim/bucket/drain", address.trim());
    let (stop_load, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let load = tokio::spawn(async move {
        let http = reqwest::Client::new();
        loop {
            let answer = http
                .post(&drain_url)
                .json(&serde_json::json!({ "to": 0 }))
                .send()
                .await?;
            if !answer.status().is_success() {
                bail!("draining the demo store's bucket: {}", answer.status());
            }
            tokio::select! {
                _ = &mut stopped => return Ok(()),
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    });
    let under_load = sync_until(&app, 60, "few points and a throttled request", |g| {
        g.available < 300.0 && g.throttled().is_some_and(|n| n > throttled_before)
    })
    .await;
    if under_load.is_ok() {
        // The picture of the gauge under load, once the bar's 0.3 s transition is over.
        tokio::time::sleep(Duration::from_millis(500)).await;
        app.screenshot("under-load").await?;
    }
    let _ = stop_load.send(());
    load.await??;
    let under_load = under_load?;
    assert!(
        under_load.text.contains("Refills 100 points/s"),
        "{}",
        under_load.text
    );

    // The bucket refills at 100 points/s: later syncs see it recovering.
    let recovered = sync_until(&app, 60, "the points coming back", |g| {
        g.available >= under_load.available + 500.0
    })
    .await?;
    assert!(
        recovered.throttled() >= under_load.throttled(),
        "the throttled count never goes down: {} then {}",
        under_load.text,
        recovered.text
    );
    app.screenshot("recovered").await?;
    app.close().await
}
