//! Webhook intake in the built app: the demo store runs the loopback listener behind the
//! simulator's tunnel, so its order trickle arrives as signed webhooks and the dashboard's
//! Webhook intake panel counts them, live; Settings → Webhooks sends a test event through the
//! tunnel and says it arrived.

use shelfsync_e2e::DesktopSession;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a display and WebKitWebDriver: run through .ci/test"]
async fn the_demo_dashboard_shows_webhooks_arriving_through_the_tunnel() -> anyhow::Result<()> {
    let app = DesktopSession::start("webhooks", &[]).await?;
    app.find("[data-testid=nav-connect]").await?.click().await?;
    app.find("[data-testid=try-demo]").await?.click().await?;
    app.find("[data-testid=page-dashboard]").await?;

    // The listener runs on loopback behind the demo's tunnel, with its subscriptions.
    app.wait_text_for(
        "[data-testid=intake-where]",
        |t| t.contains("127.0.0.1:") && t.contains(".tunnel.shelfsync.test"),
        60,
    )
    .await?;
    app.wait_text_for(
        "[data-testid=subscriptions]",
        |t| t.contains("subscriptions are active"),
        60,
    )
    .await?;
    // An order placed every few seconds changes stock; Shopify (the simulator) delivers it,
    // signed, through the tunnel: the listener's count rises and its last event is recent.
    let first = accepted(&app, 90, 1).await?;
    let later = accepted(&app, 60, first + 1).await?;
    assert!(later > first, "accepted went from {first} to {later}");
    app.wait_text(
        "[data-testid=intake-path-listener] [data-testid=last-event]",
        |t| t.contains("just now") || t.contains("s ago") || t.contains("min ago"),
    )
    .await?;
    let refused = app
        .find("[data-testid=intake-path-listener] [data-testid=refused]")
        .await?
        .text()
        .await?;
    assert_eq!(
        refused.trim(),
        "0",
        "nothing the simulator signs is refused"
    );
    app.client
        .execute(
            "document.querySelector('[data-testid=intake-panel]').scrollIntoView();",
            vec![],
        )
        .await?;
    app.screenshot("dashboard-webhooks").await?;

    // Settings → Webhooks says where the demo's webhooks are received, and that the form is
    // for the owner's own store.
    app.find("[data-testid=nav-settings]")
        .await?
        .click()
        .await?;
    app.wait_text("[data-testid=webhooks-running]", |t| {
        t.contains("Receiving webhooks on 127.0.0.1:")
    })
    .await?;
    app.find("[data-testid=webhooks-demo]").await?;
    // A signed test event goes out through the demo's tunnel and is found in the inbox.
    app.find("[data-testid=send-test-webhook]")
        .await?
        .click()
        .await?;
    app.wait_text_for(
        "[data-testid=test-delivery-listener]",
        |t| t.contains("Arrived in"),
        40,
    )
    .await?;
    app.client
        .execute(
            "document.querySelector('[data-testid=settings-webhooks]').scrollIntoView();",
            vec![],
        )
        .await?;
    app.screenshot("settings-webhooks").await?;
    app.close().await
}

/// Waits until the listener row's accepted count is at least `at_least`; returns it.
async fn accepted(app: &DesktopSession, seconds: u64, at_least: u64) -> anyhow::Result<u64> {
    let text = app
        .wait_text_for(
            "[data-testid=intake-path-listener] [data-testid=accepted]",
            |t| number(t) >= at_least,
            seconds,
        )
        .await?;
    Ok(number(&text))
}

fn number(text: &str) -> u64 {
    text.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}
