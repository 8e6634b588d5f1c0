//! `shelfsync demo`: Shelfsync on a simulated store, with nothing to set up.
//!
//! The engine's demo store starts the Shopify simulator in this process on 127.0.0.1 and
//! connects to it with its admin token. The demo uses its own data folder (`demo/<pid>`
//! under the data folder, removed on exit) and its own keychain namespace (`<namespace>.demo`,
//! its secret removed on exit), so it never reads or changes a real store's cache or
//! credentials. After a full sync and the status, it places an order every `--every`
//! seconds and runs an incremental sync after each, until Ctrl-C; `--once` stops after the
//! status.

use crate::cli::DemoArgs;
use crate::commands::daemon::shutdown_signal;
use crate::commands::status::{StatusView, render};
use crate::commands::sync::{SyncView, describe, with_progress};
use crate::context::Context;
use crate::failure::Failure;
use crate::output;
use serde::Serialize;
use serde_json::json;
use shelfsync_engine::demo::{DemoOptions, DemoStore};
use shelfsync_engine::{Engine, EngineConfig, Keychain, SyncKind};
use shelfsync_shopify::Clock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub async fn run(ctx: &Context, args: DemoArgs) -> Result<(), Failure> {
    let dir = ctx
        .data_dir
        .join("demo")
        .join(std::process::id().to_string());
    // The demo's token is a throwaway for a simulator that exits with this process: it is
    // kept in memory, so the demo also runs where no keychain service exists.
    let keychain = Keychain::in_memory(format!("{}.demo", ctx.namespace))
        .map_err(|err| Failure::engine(err.into(), None))?;
    let engine = Engine::new(EngineConfig {
        data_dir: dir.clone(),
        keychain,
        clock: Clock::real(),
    });
    let options = DemoOptions {
        products: args.products as usize,
        order_every: None,
        ..DemoOptions::default()
    };
    let demo = match DemoStore::start(&engine, options).await {
        Ok(demo) => demo,
        Err(err) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(Failure::engine(err, None));
        }
    };
    let result = session(ctx, &args, &engine, &demo).await;
    engine.shutdown().await;

    // Leave nothing behind: the demo secret leaves the keychain, the demo folder goes.
    if let Err(err) = engine.disconnect().await {
        eprintln!(
            "shelfsync: could not remove the demo store's secret: {}",
            Failure::engine(err, None).message
        );
    }
    drop(engine);
    demo.stop().await;
    if let Err(err) = std::fs::remove_dir_all(&dir) {
        eprintln!("shelfsync: could not remove {}: {err}", dir.display());
    }
    if let Some(parent) = dir.parent() {
        // Only succeeds when no other demo is running.
        let _ = std::fs::remove_dir(parent);
    }
    result
}

async fn session(
    ctx: &Context,
    args: &DemoArgs,
    engine: &Engine,
    demo: &DemoStore,
) -> Result<(), Failure> {
    let address = demo.profile.address.clone();
    let fail = |e| Failure::engine(e, Some(&address));
    if !ctx.json {
        eprintln!(
            "Started a simulated store, {}, at {}.",
            demo.profile.name, demo.sim.info.base_url
        );
    }
    let report = with_progress(engine, SyncKind::Full, !ctx.json)
        .await
        .map_err(fail)?;
    let status = StatusView::new(&engine.status().await.map_err(fail)?);
    if ctx.json {
        let first = json!({
            "simulator": {
                "base_url": demo.sim.info.base_url,
                "shop_domain": demo.sim.info.shop_domain,
            },
            "sync": SyncView::new(SyncKind::Full, report),
            "status": status,
        });
        if args.once {
            return output::json(&first);
        }
        output::json_line(&first)?;
    } else {
        output::line(&describe(SyncKind::Full, &report))?;
        output::line(&render(&status))?;
        if args.once {
            return Ok(());
        }
        output::line(&format!(
            "\nA customer orders every {} s; each order is followed by an incremental sync. \
             Ctrl-C to stop.",
            args.every
        ))?;
    }

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut rng = Rng::seeded();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(Duration::from_secs(args.every)) => {}
        }
        let order = place_order(demo, &mut rng);
        let report = tokio::select! {
            _ = &mut shutdown => break,
            report = engine.sync(SyncKind::Incremental) => report,
        };
        let report = match report {
            Ok(report) => report,
            Err(err) => {
                eprintln!("Sync failed: {}", fail(err).message);
                continue;
            }
        };
        let available = match &order {
            Some(order) => engine
                .search_inventory(&order.sku, 1, 0)
                .await
                .ok()
                .and_then(|rows| rows.into_iter().next())
                .map(|row| row.total_available),
            None => None,
        };
        if ctx.json {
            output::json_line(&json!({
                "order": order,
                "sync": SyncView::new(SyncKind::Incremental, report),
                "available": available,
            }))?;
        } else {
            let what = match &order {
                Some(o) => format!(
                    "Order {}: {} × {} ({}).",
                    o.name, o.quantity, o.sku, o.title
                ),
                None => "No order this time (the chosen items were out of stock).".to_string(),
            };
            let left = match (&order, available) {
                (Some(o), Some(n)) => format!(" {} now has {n} available.", o.sku),
                _ => String::new(),
            };
            output::line(&format!(
                "{what} {}{left}",
                describe(SyncKind::Incremental, &report)
            ))?;
        }
    }
    if !ctx.json {
        eprintln!("Demo stopped; its data and secret are removed.");
    }
    Ok(())
}

/// An order the simulated customer placed.
#[derive(Debug, Serialize)]
struct PlacedOrder {
    name: String,
    sku: String,
    title: String,
    quantity: i64,
}

/// Places an order for a random variant, as a customer of the simulated store would. Tries a
/// few variants, since some are out of stock.
fn place_order(demo: &DemoStore, rng: &mut Rng) -> Option<PlacedOrder> {
    let state = &demo.sim.state;
    let now = state.clock.now();
    let mut store = state.write_store();
    let ids: Vec<u64> = store.variants.keys().copied().collect();
    if ids.is_empty() {
        return None;
    }
    for _ in 0..8 {
        let id = ids[rng.below(ids.len() as u64) as usize];
        let quantity = 1 + rng.below(2) as i64;
        let Ok(order_id) = store.place_order(&[(id, quantity)], None, now) else {
            continue;
        };
        let name = store.orders.get(&order_id).map(|o| o.name())?;
        let variant = store.variants.get(&id)?;
        let product = store
            .products
            .get(&variant.product_id)
            .map(|p| p.title.clone())
            .unwrap_or_default();
        return Some(PlacedOrder {
            name,
            sku: variant.sku.clone(),
            title: format!("{product} — {}", variant.title),
            quantity,
        });
    }
    None
}

/// xorshift64*: enough to pick demo orders, without another dependency.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Self(nanos | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}
