//! No secret leaves the keychain: a whole session — connect with a client id and secret, a
//! full sync, webhooks through the tunnel, orders, incremental syncs, a bulk update applied
//! and undone, and access tokens renewed as they near expiry — runs with tracing at its most
//! verbose (every crate, `TRACE`), and then every log line, every file of the data folder (the
//! SQLite cache with its WAL, the profile) and everything the UI is shown (status, intake
//! status, every engine event as JSON) is searched for the client secret, the admin token and
//! every access token the store issued. None may appear.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{connect_with_client_credentials, eventually, mock_keychain, tunnel};
use serde_json::json;
use shelfsync_engine::bulk_update::{ApplyOptions, PlanOptions};
use shelfsync_engine::{Engine, EngineConfig, IntakeConfig, SyncKind};
use shelfsync_shopify::Clock;
use shelfsync_store::BulkMode;
use shopify_sim::SimConfig;
use shopify_sim::store::AVAILABLE;

/// The log, kept in memory and written to a file at the end.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_a_log_a_file_or_the_ui_in_a_whole_session() {
    let log = Log::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    // Tokens live 6 simulated seconds, so the session renews them several times.
    let sim = shopify_sim::start(SimConfig {
        products: 60,
        variants_per_product: 2,
        locations: 2,
        token_ttl_secs: 6,
        legacy_admin_token: Some("shpat_leak_check_admin_token_0123456789".into()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(EngineConfig {
        data_dir: dir.path().to_path_buf(),
        keychain: mock_keychain(),
        clock: Clock::real(),
    });
    let mut events = engine.events().subscribe();
    connect_with_client_credentials(&engine, &sim).await;
    engine.sync(SyncKind::Full).await.unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let public_url = tunnel(&sim, port).await;
    engine
        .start_intake(IntakeConfig {
            port,
            public_url: Some(public_url),
            check_subscriptions_every: Duration::from_millis(500),
            ..IntakeConfig::default()
        })
        .await
        .unwrap();

    // Orders and a merchant's edit, arriving as signed webhooks; incremental syncs between.
    let http = reqwest::Client::new();
    let base = sim.info.base_url.clone();
    let (variant, item, location) = {
        let store = sim.state.read_store();
        let v = store.variants.values().next().unwrap();
        let (loc, _) = store.inventory_items[&v.inventory_item_id]
            .levels
            .iter()
            .next()
            .unwrap();
        (v.id, v.inventory_item_id, *loc)
    };
    for round in 0..4 {
        http.post(format!("{base}/_sim/orders"))
            .json(&json!({"lines": [{"variant_id": variant, "quantity": 1}], "location_id": location}))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        http.post(format!("{base}/_sim/inventory"))
            .json(&json!({"inventory_item_id": item, "location_id": location, "name": "available", "delta": 3}))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        // Past the renewal point of the current token.
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        engine.sync(SyncKind::Incremental).await.unwrap();
        let _ = round;
    }
    let want =
        sim.state.read_store().inventory_items[&item].levels[&location].quantities[AVAILABLE];
    let cache = engine.cache().unwrap();
    eventually(20, || {
        let cache = cache.clone();
        async move {
            let levels = cache
                .read(move |r| r.levels_for_variant(variant as i64))
                .await
                .map_err(|e| e.to_string())?;
            let got = levels
                .iter()
                .find(|l| l.level.location_id == location as i64)
                .and_then(|l| l.level.quantities.available);
            (got == Some(want))
                .then_some(())
                .ok_or(format!("cache {got:?}, store {want}"))
        }
    })
    .await;

    // A bulk update, applied and undone.
    let file = dir.path().join("stock.csv");
    let sku = sim.state.read_store().variants[&variant].sku.clone();
    let name = sim.state.read_store().locations[&location].name.clone();
    std::fs::write(&file, format!("sku,location,quantity\n{sku},{name},42\n")).unwrap();
    let plan = engine
        .plan_bulk_update(&file, PlanOptions::default())
        .await
        .unwrap();
    let applied = engine
        .apply_bulk_update(
            &plan,
            ApplyOptions {
                mode: BulkMode::AllOrNothing,
                skip_problems: false,
            },
        )
        .await
        .unwrap();
    engine.undo_bulk_update(applied.id).await.unwrap();

    // What the UI is shown.
    let mut shown = vec![
        serde_json::to_string(&engine.status().await.unwrap()).unwrap(),
        format!("{:?}", engine.intake_status().await.unwrap()),
        serde_json::to_string(&engine.profile()).unwrap(),
    ];
    while let Ok(event) = events.try_recv() {
        shown.push(serde_json::to_string(&event).unwrap());
    }
    engine.shutdown().await;

    let mut secrets = sim.state.tokens().issued();
    assert!(
        secrets.len() >= 3,
        "the session should have renewed its token: {} issued",
        secrets.len()
    );
    secrets.push(sim.info.client_secret.clone());
    let sim_client_id = sim.info.client_id.clone();
    let sim_address = sim.info.base_url.trim_start_matches("http://").to_owned();
    secrets.push(sim.info.admin_token.clone().unwrap());
    sim.stop().await;

    let log = log.0.lock().unwrap().clone();
    assert!(
        log.len() > 100_000,
        "the trace log is too small to mean anything: {} bytes",
        log.len()
    );
    // Keep the log beside the data, as the app's log files are, so it is searched as a file.
    std::fs::write(dir.path().join("trace.log"), &log).unwrap();
    let mut paths = Vec::new();
    files(dir.path(), &mut paths);
    assert!(
        paths
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "sqlite3")),
        "{paths:?}"
    );
    let mut hits = Vec::new();
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        for secret in &secrets {
            if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                hits.push(format!("{} holds {}…", path.display(), &secret[..8]));
            }
        }
    }
    for (i, text) in shown.iter().enumerate() {
        for secret in &secrets {
            if text.contains(secret.as_str()) {
                hits.push(format!("UI state #{i} holds {}…", &secret[..8]));
            }
        }
    }
    assert!(hits.is_empty(), "secrets found: {hits:#?}");
    // The search does see what is there: the client id (not a secret) is in the profile, and
    // the store's address in the log.
    let contains = |name: &str, needle: &str| {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    };
    assert!(contains("profile.json", &sim_client_id));
    assert!(contains("trace.log", &sim_address));
}
