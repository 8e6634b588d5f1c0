//! A bulk update in the built app, on the demo store (its order trickle off, so nothing else
//! changes stock): a CSV written to disk is previewed against the store's live values, with a
//! known SKU's before → after; applied all or nothing while the progress bar runs to its end;
//! checked in the simulator; then undone from the result after its preview, which puts the
//! store back where it was. A notification says it was applied, and Activity lists it.

use anyhow::{Context, Result, bail, ensure};
use fantoccini::Locator;
use serde_json::Value;
use shelfsync_e2e::DesktopSession;
use std::time::{Duration, Instant};

/// How many rows the file has: 20 requests of 250, so the progress bar has time to move.
const ROWS: usize = 5_000;

/// One stock level the file sets.
#[derive(Debug, Clone)]
struct Level {
    sku: String,
    location_id: String,
    location: String,
    before: i64,
    after: i64,
}

async fn sim_state(base: &str) -> Result<Value> {
    Ok(reqwest::get(format!("{base}/_sim/state"))
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// `available` of `sku` at a location, as the simulator holds it now.
fn available(state: &Value, sku: &str, location_id: &str) -> Option<i64> {
    state["variants"]
        .as_array()?
        .iter()
        .find(|v| v["sku"] == sku)?["levels"][location_id]["available"]
        .as_i64()
}

/// `ROWS` levels, one per variant at its first location, sorted by SKU: each set to 7 more,
/// except every tenth, which loses one unit (so the preview shows both colours).
fn planned_levels(state: &Value) -> Result<Vec<Level>> {
    let names: std::collections::HashMap<String, String> = state["locations"]
        .as_array()
        .context("locations in /_sim/state")?
        .iter()
        .filter_map(|l| Some((l["id"].to_string(), l["name"].as_str()?.to_string())))
        .collect();
    let mut levels = Vec::new();
    for v in state["variants"].as_array().context("variants")? {
        let Some(sku) = v["sku"].as_str().filter(|s| !s.is_empty()) else {
            continue;
        };
        let Some(map) = v["levels"].as_object() else {
            continue;
        };
        let Some((location_id, quantities)) = map.iter().min_by_key(|(id, _)| (*id).clone()) else {
            continue;
        };
        let Some(before) = quantities["available"].as_i64() else {
            continue;
        };
        // Small values keep the page's numbers free of thousands separators.
        if !(1..900).contains(&before) {
            continue;
        }
        let location = names
            .get(location_id)
            .cloned()
            .with_context(|| format!("location {location_id}"))?;
        levels.push(Level {
            sku: sku.to_string(),
            location_id: location_id.clone(),
            location,
            before,
            after: before,
        });
    }
    levels.sort_by(|a, b| a.sku.cmp(&b.sku));
    levels.truncate(ROWS);
    ensure!(
        levels.len() == ROWS,
        "only {} levels to change",
        levels.len()
    );
    for (i, level) in levels.iter_mut().enumerate() {
        level.after = if i % 10 == 1 {
            level.before - 1
        } else {
            level.before + 7
        };
    }
    Ok(levels)
}

fn csv(levels: &[Level]) -> String {
    let mut text = String::from("sku,location,quantity\r\n");
    for l in levels {
        text.push_str(&format!("{},\"{}\",{}\r\n", l.sku, l.location, l.after));
    }
    text
}

/// "1,200" or "1200", as the webview's locale writes it.
fn number(text: &str, n: usize) -> bool {
    let plain = n.to_string();
    let grouped = format!("{},{:03}", n / 1000, n % 1000);
    text.contains(&plain) || (n >= 1000 && text.contains(&grouped))
}

/// The text of the first element matching `css`, from the DOM (`textContent`, blanks
/// collapsed). A row of a windowed list can sit partly outside its scroller, where WebDriver's
/// visible text leaves cells out.
async fn content(app: &DesktopSession, css: &str) -> Option<String> {
    let value = app
        .client
        .execute(
            "const el = document.querySelector(arguments[0]);\
             return el ? el.textContent.replace(/\\s+/g, ' ').trim() : null;",
            vec![css.into()],
        )
        .await
        .ok()?;
    value.as_str().map(str::to_string)
}

/// Waits until the DOM text of `css` satisfies `pred`, and returns it.
async fn wait_content(
    app: &DesktopSession,
    css: &str,
    pred: impl Fn(&str) -> bool,
    seconds: u64,
) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut last = None;
    while Instant::now() < deadline {
        last = content(app, css).await;
        if last.as_deref().is_some_and(&pred) {
            return Ok(last.unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("text of {css} never matched; last seen: {last:?}")
}

async fn attribute(app: &DesktopSession, css: &str, name: &str) -> Option<String> {
    let el = app.client.find(Locator::Css(css)).await.ok()?;
    el.attr(name).await.ok().flatten()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a display and WebKitWebDriver: run through .ci/test"]
async fn a_csv_is_previewed_applied_with_progress_and_undone() -> Result<()> {
    let app = DesktopSession::start("bulk-update", &[("SHELFSYNC_DEMO_ORDER_SECS", "0")]).await?;
    let notifications = app.watch_notifications()?;
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
        .context("the demo store's address")?
        .to_string();

    let levels = planned_levels(&sim_state(&base).await?)?;
    let known = levels[0].clone();
    let fewer = levels[1].clone();
    let file = app.home.path().join("stock-update.csv");
    std::fs::write(&file, csv(&levels))?;

    // The file's path, typed as an owner would paste it; the preview reads the live store.
    app.find("[data-testid=nav-bulk-update]")
        .await?
        .click()
        .await?;
    let path = app.find("[data-testid=bulk-path]").await?;
    path.send_keys(&file.display().to_string()).await?;
    app.find("[data-testid=bulk-preview]")
        .await?
        .click()
        .await?;
    let row = format!("[data-testid=bulk-line][data-sku='{}']", known.sku);
    let seen = wait_content(
        &app,
        &row,
        |t| t.contains(&format!("{} → {}", known.before, known.after)),
        90,
    )
    .await?;
    app.screenshot("preview").await?;
    assert!(seen.contains("+7"), "{seen}");
    assert!(seen.contains(&known.location), "{seen}");
    let delta = app
        .find(&format!("{row} [data-testid=bulk-delta]"))
        .await?
        .attr("class")
        .await?
        .unwrap_or_default();
    assert!(delta.contains("up"), "an increase is coloured up: {delta}");
    let decrease = wait_content(
        &app,
        &format!("[data-testid=bulk-line][data-sku='{}']", fewer.sku),
        |t| t.contains(&format!("{} → {}", fewer.before, fewer.after)),
        15,
    )
    .await?;
    assert!(decrease.contains('\u{2212}'), "{decrease}");
    let rows = app
        .find("[data-testid=bulk-count-rows]")
        .await?
        .text()
        .await?;
    assert!(number(&rows, ROWS), "rows in the file: {rows}");
    let stock = app
        .find("[data-testid=bulk-count-stock]")
        .await?
        .text()
        .await?;
    assert!(number(&stock, ROWS), "stock changes: {stock}");
    assert_eq!(
        app.find("[data-testid=bulk-count-problems]")
            .await?
            .text()
            .await?,
        "0"
    );
    // Windowed: far fewer rows than the file's are in the DOM.
    let in_dom = app
        .client
        .find_all(Locator::Css("[data-testid=bulk-line]"))
        .await?
        .len();
    assert!(in_dom > 5 && in_dom < 100, "{in_dom} rows in the DOM");
    app.screenshot("preview").await?;

    // All or nothing (the default). The progress bar is sampled while it runs.
    app.find("[data-testid=bulk-apply]").await?.click().await?;
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut progress_seen = Vec::new();
    loop {
        if let Some(now) = attribute(&app, "[data-testid=bulk-progress-bar]", "aria-valuenow").await
        {
            if progress_seen.last() != Some(&now) {
                progress_seen.push(now);
            }
            if progress_seen.len() == 2 {
                app.screenshot("applying").await?;
            }
        }
        if app
            .client
            .find(Locator::Css("[data-testid=bulk-result-state]"))
            .await
            .is_ok()
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("the apply never finished; progress seen: {progress_seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let state = app
        .wait_text("[data-testid=bulk-result-state]", |t| !t.is_empty())
        .await?;
    assert_eq!(
        state,
        "Applied",
        "{}",
        app.find("[data-testid=bulk-result]").await?.text().await?
    );
    // The bar ends full, at every row of the file.
    app.wait_for(|| async {
        attribute(
            &app,
            "[data-testid=bulk-final-progress-bar]",
            "aria-valuenow",
        )
        .await
        .as_deref()
            == Some("100")
    })
    .await
    .context("the progress bar never reached the end")?;
    let done = app
        .find("[data-testid=bulk-final-progress-rows]")
        .await?
        .text()
        .await?;
    assert!(
        done.ends_with(" rows") && number(&done, ROWS) && done.contains(" of "),
        "{done}"
    );
    let result = app
        .find("[data-testid=bulk-result-text]")
        .await?
        .text()
        .await?;
    assert!(
        number(&result, ROWS) && result.contains("changed in the store"),
        "{result}"
    );
    app.screenshot("applied").await?;
    eprintln!("progress seen while applying: {progress_seen:?}");
    let percents: Vec<u32> = progress_seen
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert!(
        !percents.is_empty() && percents.windows(2).all(|w| w[0] <= w[1]),
        "the bar showed while applying and only moved forward: {progress_seen:?}"
    );

    let after = sim_state(&base).await?;
    assert_eq!(
        available(&after, &known.sku, &known.location_id),
        Some(known.after)
    );
    assert_eq!(
        available(&after, &fewer.sku, &fewer.location_id),
        Some(fewer.after)
    );
    notifications
        .wait_for_title("Bulk update applied", 30)
        .await?;

    // Undo shows what it would put back first.
    app.find("[data-testid=bulk-undo]").await?.click().await?;
    let undo_row = format!("[data-testid=bulk-undo-row][data-sku='{}']", known.sku);
    let undo = wait_content(&app, &undo_row, |t| !t.is_empty(), 60).await?;
    assert!(
        undo.contains(&known.after.to_string()) && undo.contains(&known.before.to_string()),
        "the preview shows the store's value now and after the undo: {undo}"
    );
    let undo_button = app
        .find("[data-testid=bulk-undo-confirm]")
        .await?
        .text()
        .await?;
    assert!(number(&undo_button, ROWS), "{undo_button}");
    app.screenshot("undo-preview").await?;
    assert_eq!(
        available(&sim_state(&base).await?, &known.sku, &known.location_id),
        Some(known.after),
        "the preview writes nothing"
    );
    app.find("[data-testid=bulk-undo-confirm]")
        .await?
        .click()
        .await?;
    app.wait_text_for("[data-testid=bulk-result-state]", |t| t == "Undone", 180)
        .await?;
    let undone = app
        .find("[data-testid=bulk-result-text]")
        .await?
        .text()
        .await?;
    assert!(
        number(&undone, ROWS) && undone.contains("put back"),
        "{undone}"
    );
    app.screenshot("undone").await?;
    let back = sim_state(&base).await?;
    for level in [&known, &fewer] {
        assert_eq!(
            available(&back, &level.sku, &level.location_id),
            Some(level.before),
            "{} is back to its value before the file",
            level.sku
        );
    }

    // Activity lists the update with its state and counts.
    app.find("[data-testid=nav-activity]")
        .await?
        .click()
        .await?;
    let listed = wait_content(
        &app,
        "[data-testid=activity-bulk-row]",
        |t| t.contains("stock-update.csv") && t.contains("Undone"),
        30,
    )
    .await?;
    assert!(listed.contains("put back"), "{listed}");
    app.screenshot("activity").await?;
    app.close().await
}
