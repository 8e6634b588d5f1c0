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
async fn tray_menu_is_published_and_quit_ends_the_app() -> anyhow::Result<()> {
    let app = DesktopSession::start("tray", &[]).await?;
    app.find("[data-testid=app-version]").await?;

    // The tray menu is exported over D-Bus (com.canonical.dbusmenu), which is how a
    // desktop's tray host reads it; no tray host is needed to check it.
    let (owner, path) = find_tray_menu(&app)?;
    let layout = app.bus.gdbus(&[
        "call",
        "--dest",
        &owner,
        "--object-path",
        &path,
        "--method",
        "com.canonical.dbusmenu.GetLayout",
        "--",
        "0",
        "-1",
        "['label']",
    ])?;
    assert!(layout.contains("Open Shelfsync"), "menu: {layout}");
    assert!(layout.contains("Quit Shelfsync"), "menu: {layout}");
    app.close().await
}

/// Finds the bus name and object path of the app's tray menu.
fn find_tray_menu(app: &DesktopSession) -> anyhow::Result<(String, String)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let names = app.bus.gdbus(&[
            "call",
            "--dest",
            "org.freedesktop.DBus",
            "--object-path",
            "/org/freedesktop/DBus",
            "--method",
            "org.freedesktop.DBus.ListNames",
        ])?;
        for name in names
            .split(['\'', ','])
            .map(str::trim)
            .filter(|n| n.starts_with(":1."))
        {
            let Ok(tree) = app.bus.gdbus(&[
                "introspect",
                "--dest",
                name,
                "--object-path",
                "/",
                "-r",
                "-p",
            ]) else {
                continue;
            };
            if let Some(path) = tree
                .lines()
                .filter_map(|l| l.trim().strip_prefix("node "))
                .map(|p| p.trim_end_matches(" {").trim().to_string())
                .find(|p| p.starts_with("/org/ayatana/NotificationItem/") && p.ends_with("/Menu"))
            {
                return Ok((name.to_string(), path));
            }
        }
        if std::time::Instant::now() > deadline {
            anyhow::bail!("no tray menu on the session bus; names: {names}");
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}
