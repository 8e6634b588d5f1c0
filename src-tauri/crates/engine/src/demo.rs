//! The demo store: the simulator, started in-process, with a steady trickle of orders.
//!
//! "Try the demo store" (desktop) and `shelfsync demo` (CLI) both run this, so a person can
//! see Shelfsync work without a Shopify account. The demo store gets its own data directory
//! and keychain namespace (chosen by the caller), so it never touches a real store's cache or
//! credentials.

use crate::Secret;
use crate::engine::{ConnectWith, Engine, EngineError, StoreProfile};
use shopify_sim::{RunningSim, SimConfig};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How big and how busy the demo store is.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub products: usize,
    pub variants_per_product: usize,
    pub locations: usize,
    /// A new order this often (`None`: no orders).
    pub order_every: Option<Duration>,
    pub seed: u64,
    /// The store's Shopify plan, which sets its API budget: `standard`, `advanced`, `plus`…
    pub plan: String,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            products: 2000,
            variants_per_product: 3,
            locations: 3,
            order_every: Some(Duration::from_secs(5)),
            seed: 7,
            // A Plus store's budget (1000 points/s) lets the first sync of the demo's 6,000
            // variants finish in seconds; a standard store takes about a minute.
            plan: "plus".into(),
        }
    }
}

/// A running demo store. Dropping it stops the order trickle; [`DemoStore::stop`] also stops
/// the simulator.
pub struct DemoStore {
    pub sim: RunningSim,
    pub profile: StoreProfile,
    _trickle: Option<AbortOnDrop>,
}

/// Stops the order trickle when the demo store goes away.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for DemoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoStore")
            .field("base_url", &self.sim.info.base_url)
            .finish_non_exhaustive()
    }
}

impl DemoStore {
    /// Starts the simulator and connects `engine` to it.
    pub async fn start(engine: &Engine, options: DemoOptions) -> Result<Self, EngineError> {
        let plan =
            shopify_sim::Plan::parse(&options.plan).map_err(|detail| EngineError::Files {
                action: "start the demo store on",
                path: "127.0.0.1".into(),
                detail,
            })?;
        // The demo store's clock starts now, so its timestamps read like today's.
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(shopify_sim::config::DEFAULT_START);
        let sim = shopify_sim::start(SimConfig {
            start_time: now_ms,
            plan,
            products: options.products,
            variants_per_product: options.variants_per_product,
            locations: options.locations,
            seed: options.seed,
            ..SimConfig::default()
        })
        .await
        .map_err(|e| EngineError::Files {
            action: "start the demo store on",
            path: "127.0.0.1".into(),
            detail: e.to_string(),
        })?;
        let token = sim
            .info
            .admin_token
            .clone()
            .ok_or(EngineError::NotConnected)?;
        let profile = engine
            .connect(
                &sim.info.base_url,
                ConnectWith::AdminToken(Secret::new(token)),
            )
            .await?;
        let trickle = options.order_every.map(|every| {
            let state = sim.state.clone();
            let mut rng = fastrand::Rng::with_seed(options.seed);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let now = state.clock.now();
                    let mut store = state.write_store();
                    let ids: Vec<u64> = store.variants.keys().copied().collect();
                    if ids.is_empty() {
                        continue;
                    }
                    let variant = ids[rng.usize(..ids.len())];
                    let quantity = rng.i64(1..=3);
                    // Out of stock at every location is normal in a demo; skip that tick.
                    let _ = store.place_order(&[(variant, quantity)], None, now);
                }
            })
        });
        Ok(Self {
            sim,
            profile,
            _trickle: trickle.map(AbortOnDrop),
        })
    }

    pub async fn stop(self) {
        drop(self._trickle);
        self.sim.stop().await;
    }
}
