//! The demo store: the simulator, started in-process, with a steady trickle of orders.
//!
//! "Try the demo store" (desktop) and `shelfsync demo` (CLI) both run this, so a person can
//! see Shelfsync work without a Shopify account. The demo store gets its own data directory
//! and keychain namespace (chosen by the caller), so it never touches a real store's cache or
//! credentials.
//!
//! The demo store also shows webhook intake working: [`DemoStore::start_intake`] runs the
//! engine's loopback listener behind one of the simulator's tunnels (`/_sim/tunnels`, which
//! stands in for ngrok or cloudflared), so the simulator delivers the order trickle's stock
//! changes as signed webhooks, exactly as Shopify would to an owner's tunnel.

use crate::Secret;
use crate::engine::{ConnectWith, Engine, EngineError, StoreProfile};
use crate::intake::{IntakeConfig, IntakeError};
use shopify_sim::{RunningSim, SimConfig};
use std::net::SocketAddr;
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

    /// Starts `engine`'s webhook intake for the demo store: the listener on a free loopback
    /// port, a simulated tunnel to it, and the subscriptions registered for the tunnel's
    /// public address. Deliveries are signed with the simulated app's secret key, as Shopify
    /// signs an admin-token store's webhooks with its app's. Returns the listener's address
    /// and the tunnel's public URL.
    pub async fn start_intake(&self, engine: &Engine) -> Result<(SocketAddr, String), IntakeError> {
        let port = free_port().map_err(|detail| IntakeError::Bind { port: 0, detail })?;
        let public_url = self.open_tunnel(port).await?;
        let addr = engine
            .start_intake(IntakeConfig {
                port,
                public_url: Some(public_url.clone()),
                signing_secrets: vec![Secret::new(self.sim.info.client_secret.clone())],
                // The demo store is small and local: notice a removed subscription quickly.
                check_subscriptions_every: Duration::from_secs(60),
                ..IntakeConfig::default()
            })
            .await?
            .ok_or(IntakeError::NothingToRun)?;
        Ok((addr, public_url))
    }

    /// Opens a simulated tunnel to 127.0.0.1:`port`; returns the address to subscribe.
    async fn open_tunnel(&self, port: u16) -> Result<String, IntakeError> {
        let failed = |detail: String| {
            IntakeError::Engine(EngineError::Files {
                action: "open the demo store's tunnel on",
                path: "127.0.0.1".into(),
                detail,
            })
        };
        let body = serde_json::json!({ "target": format!("http://127.0.0.1:{port}") });
        let answer = reqwest::Client::new()
            .post(format!("{}/_sim/tunnels", self.sim.info.base_url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !answer.status().is_success() {
            return Err(failed(format!(
                "the simulator answered {}",
                answer.status()
            )));
        }
        let text = answer.text().await.map_err(|e| failed(e.to_string()))?;
        let tunnel: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| failed(e.to_string()))?;
        let public = tunnel["public_url"]
            .as_str()
            .ok_or_else(|| failed(format!("no public_url in {text}")))?;
        Ok(format!("{public}/webhooks"))
    }

    pub async fn stop(self) {
        drop(self._trickle);
        self.sim.stop().await;
    }
}

/// A loopback port nothing listens on right now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}
