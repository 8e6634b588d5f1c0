//! `shelfsync-desktop --demo`, the way the README starts Shelfsync and the way `.ci/package`
//! checks the installed package (`SHELFSYNC_APP_BIN=/usr/bin/shelfsync-desktop`): the app
//! opens straight onto the demo store, with no click, syncs all of it, and its tray says so.

use shelfsync_e2e::{DesktopSession, app_binary};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a display and WebKitWebDriver: run through .ci/test"]
async fn started_with_demo_it_opens_on_the_demo_store_and_syncs_all_of_it() -> anyhow::Result<()> {
    let binary = app_binary();
    println!("app under test: {}", binary.display());
    let app = DesktopSession::start_binary("demo-flag", &binary, &["--demo"], &[]).await?;

    // The dashboard (the start page) shows the demo store without going through Connect.
    app.find("[data-testid=page-dashboard]").await?;
    app.find("[data-testid=demo-badge]").await?;
    app.wait_text_for(
        "[data-testid=sync-finished]",
        |t| t.contains("finished"),
        120,
    )
    .await?;
    // All 6,000 variants of the demo store (2,000 products × 3) are in the local copy.
    app.wait_text_for(
        "[data-testid=cache-counts]",
        |t| t.contains("6,000") || t.contains("6000"),
        60,
    )
    .await?;
    app.screenshot("synced").await?;

    // The tray, read over D-Bus as a desktop's tray host reads it, agrees.
    app.wait_tray_item("In sync", 30).await?;
    let version = app
        .wait_text("[data-testid=app-version]", |t| t.contains("Shelfsync"))
        .await?;
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    app.close().await
}
