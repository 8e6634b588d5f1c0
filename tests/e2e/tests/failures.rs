//! A sync that keeps failing lands on the Failures page (and in the tray), and retrying it
//! from there, once the store is back, clears it.

use serde_json::json;
use shelfsync_e2e::DesktopSession;

async fn set_faults(base: &str, rate: f64) -> anyhow::Result<()> {
    let r = reqwest::Client::new()
        .post(format!("{base}/_sim/faults"))
        .json(&json!({"http_5xx_rate": rate, "http_5xx_status": 503}))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "faults: {}", r.status());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a display and WebKitWebDriver: run through .ci/test"]
async fn a_failed_sync_is_retried_from_the_failures_page() -> anyhow::Result<()> {
    // A short retry budget, so the job gives up in seconds rather than half an hour.
    let app = DesktopSession::start(
        "failures",
        &[
            ("SHELFSYNC_JOB_ATTEMPTS", "2"),
            ("SHELFSYNC_JOB_BACKOFF_MS", "50"),
        ],
    )
    .await?;
    app.find("[data-testid=nav-connect]").await?.click().await?;
    app.find("[data-testid=try-demo]").await?.click().await?;
    app.wait_text_for(
        "[data-testid=cache-counts]",
        |t| t.contains("6,000") || t.contains("6000"),
        120,
    )
    .await?;
    let store = app
        .wait_text("[data-testid=store]", |t| t.contains("http://127.0.0.1:"))
        .await?;
    let base = store
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_default()
        .to_string();

    // The store starts failing; the owner asks for a sync.
    set_faults(&base, 1.0).await?;
    app.find("[data-testid=sync-now]").await?.click().await?;
    app.find("[data-testid=nav-failures]")
        .await?
        .click()
        .await?;
    let row = app
        .wait_text_for("[data-testid=failed-job]", |t| t.contains("503"), 120)
        .await?;
    assert!(row.to_lowercase().contains("sync"), "{row}");
    app.wait_tray_item("Failed jobs: 1", 15).await?;
    app.wait_tray_item("Needs attention", 15).await?;
    app.screenshot("failed-job").await?;

    // The store recovers; one click retries it.
    set_faults(&base, 0.0).await?;
    app.find("[data-testid=retry-job]").await?.click().await?;
    app.wait_text_for(
        "[data-testid=page-failures]",
        |t| t.contains("Nothing needs you"),
        60,
    )
    .await?;
    app.wait_tray_item("Failed jobs: 0", 30).await?;
    app.screenshot("retried").await?;
    app.close().await
}
