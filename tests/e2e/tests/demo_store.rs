//! The store owner's first minutes, in the built app: try the demo store, watch the full
//! sync run, see the inventory arrive and search it.

use shelfsync_e2e::DesktopSession;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a display and WebKitWebDriver: run through .ci/test"]
async fn try_the_demo_store_sync_and_search_the_inventory() -> anyhow::Result<()> {
    let app = DesktopSession::start("demo-store", &[]).await?;
    app.find("[data-testid=nav-connect]").await?.click().await?;
    app.screenshot("connect").await?;
    app.find("[data-testid=try-demo]").await?.click().await?;

    // The dashboard shows the demo store and the full sync's progress, then its end.
    app.find("[data-testid=page-dashboard]").await?;
    app.wait_text("[data-testid=store]", |t| t.to_lowercase().contains("demo"))
        .await?;
    app.find("[data-testid=sync-progress]").await?;
    app.screenshot("dashboard-syncing").await?;
    app.wait_text_for("[data-testid=sync-finished]", |t| !t.trim().is_empty(), 120)
        .await?;
    // All 6,000 variants of the demo store (2,000 products × 3) are in the local copy.
    app.wait_text_for(
        "[data-testid=cache-counts]",
        |t| t.contains("6,000") || t.contains("6000"),
        60,
    )
    .await?;
    // The bucket gauge reflects the API budget after real requests.
    app.wait_text("[data-testid=bucket-gauge]", |t| {
        t.contains("20,000") || t.contains("20000")
    })
    .await?;
    app.screenshot("dashboard-synced").await?;

    // The inventory lists variants; a SKU search narrows it down.
    app.find("[data-testid=nav-inventory]")
        .await?
        .click()
        .await?;
    app.find("[data-testid=inventory-row]").await?;
    let skus = visible_skus(&app).await?;
    let sku = skus.first().cloned().unwrap_or_default();
    assert!(sku.starts_with("SKU-"), "first row's SKU: {sku:?}");
    app.screenshot("inventory").await?;
    app.find("[data-testid=inventory-search]")
        .await?
        .send_keys(&sku)
        .await?;
    // SKUs are unique in the demo store: the search narrows the list to that one variant.
    app.wait_for(|| async { visible_skus(&app).await.unwrap_or_default() == [sku.clone()] })
        .await?;
    app.screenshot("inventory-search").await?;
    app.close().await
}

/// The SKU cells the inventory list currently renders, top to bottom.
async fn visible_skus(app: &DesktopSession) -> anyhow::Result<Vec<String>> {
    let value = app
        .client
        .execute(
            "return [...document.querySelectorAll('[data-testid=inventory-row] .sku')]\
             .map(e => e.textContent.trim());",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(value)?)
}

/// The tray follows the sync, and pausing from the tray shows; a finished full sync raises
/// a desktop notification.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a display and WebKitWebDriver: run through .ci/test"]
async fn the_tray_follows_the_sync_and_a_notification_tells_it_finished() -> anyhow::Result<()> {
    let app = DesktopSession::start("demo-tray", &[]).await?;
    let notifications = app.watch_notifications()?;
    app.find("[data-testid=nav-connect]").await?.click().await?;
    app.find("[data-testid=try-demo]").await?.click().await?;
    notifications
        .wait_for_title("Full sync finished", 120)
        .await?;
    app.wait_tray_item("In sync", 30).await?;

    app.click_tray("Pause syncing")?;
    app.wait_tray_item("Paused", 10).await?;
    app.wait_tray_item("Resume syncing", 10).await?;
    app.click_tray("Resume syncing")?;
    app.wait_tray_item("Pause syncing", 10).await?;
    app.close().await
}
