//! The built app opens its window, shows the UI shell, and answers a typed command.

use shelfsync_e2e::DesktopSession;

const PAGES: &[&str] = &[
    "connect",
    "dashboard",
    "failures",
    "inventory",
    "orders",
    "bulk-update",
    "activity",
    "settings",
];

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a display and WebKitWebDriver: run through .ci/test"]
async fn window_shows_every_page_and_the_version_from_rust() -> anyhow::Result<()> {
    let app = DesktopSession::start("app-window", &[]).await?;

    // The version line is filled by the `app_info` command: a round trip to Rust.
    let version = app
        .wait_text("[data-testid=app-version]", |t| t.contains("0.1.0"))
        .await?;
    assert!(version.contains("Shelfsync"), "version line: {version}");
    let title = app.client.title().await?;
    assert!(title.ends_with("Shelfsync"), "window title: {title}");

    for page in PAGES {
        app.find(&format!("[data-testid=nav-{page}]"))
            .await?
            .click()
            .await?;
        let root = app.find(&format!("[data-testid=page-{page}]")).await?;
        let text = root.text().await?;
        assert!(!text.trim().is_empty(), "page {page} is empty");
        app.screenshot(page).await?;
    }
    assert!(
        app.client
            .find(fantoccini::Locator::Css("[data-testid=app-error]"))
            .await
            .is_err(),
        "an error banner is showing"
    );
    app.close().await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a display and WebKitWebDriver: run through .ci/test"]
async fn tray_menu_is_published_with_its_actions() -> anyhow::Result<()> {
    let app = DesktopSession::start("tray", &[]).await?;
    app.find("[data-testid=app-version]").await?;
    // The tray menu is exported over D-Bus (com.canonical.dbusmenu), which is how a
    // desktop's tray host reads it; no tray host is needed to check it.
    let labels: Vec<String> = app.tray_items()?.into_iter().map(|(_, l)| l).collect();
    for expected in [
        "No store connected",
        "Open Shelfsync",
        "Sync now",
        "Pause syncing",
        "Failed jobs: 0",
        "Quit Shelfsync",
    ] {
        assert!(
            labels.iter().any(|l| l == expected),
            "{expected:?} missing from {labels:?}"
        );
    }
    app.close().await
}
