//! Measures the simulator's own capacity on loopback, so later benchmarks can show it is not
//! their bottleneck: GraphQL requests per second for a typical inventory page (50 variants with
//! their levels and quantities), with a few concurrent clients; and signed webhook deliveries per
//! second through a simulated tunnel to a loopback receiver that answers 200 at once.
//!
//! `cargo run --release -p shopify-sim --example bench -- [seconds] [concurrency]`
//!
//! The bucket is set to an effectively unlimited custom plan so throttling does not cap the run.

use std::time::{Duration, Instant};

const QUERY: &str = r#"
query Inventory($after: String) {
  productVariants(first: 50, after: $after) {
    nodes {
      id sku price compareAtPrice updatedAt
      inventoryItem {
        id
        inventoryLevels(first: 5) {
          nodes { location { id } quantities(names: ["available", "on_hand", "committed"]) { name quantity } }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"#;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let config = shopify_sim::SimConfig {
        products: 2000,
        variants_per_product: 3,
        locations: 3,
        plan: shopify_sim::Plan {
            name: "unlimited".into(),
            maximum_available: 1e12,
            restore_rate: 1e12,
        },
        ..shopify_sim::SimConfig::default()
    };
    let sim = match shopify_sim::start(config).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("cannot start the simulator: {e}");
            std::process::exit(1);
        }
    };
    if let Err(errors) = shopify_schema::validate(QUERY) {
        eprintln!("benchmark query is invalid: {errors:?}");
        std::process::exit(1);
    }
    let url = sim.info.graphql_url.clone();
    let token = sim.info.admin_token.clone().unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (url, token) = (url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut done = 0_u64;
            let mut after: Option<String> = None;
            while Instant::now() < deadline {
                let response = client
                    .post(&url)
                    .header("X-Shopify-Access-Token", &token)
                    .json(&serde_json::json!({ "query": QUERY, "variables": { "after": after } }))
                    .send()
                    .await;
                let Ok(response) = response else { break };
                let Ok(body) = response.json::<serde_json::Value>().await else {
                    break;
                };
                let page = &body["data"]["productVariants"]["pageInfo"];
                after = page["hasNextPage"]
                    .as_bool()
                    .filter(|more| *more)
                    .and_then(|_| page["endCursor"].as_str().map(str::to_owned));
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap_or(0);
    }
    println!(
        "graphql inventory page (50 variants with levels): {:.0} requests/s ({total} in {seconds} s, {concurrency} clients)",
        total as f64 / seconds as f64
    );
    match webhooks(&sim, &token).await {
        Ok((delivered, elapsed)) => println!(
            "webhook deliveries: {:.0} deliveries/s ({delivered} signed POSTs through a tunnel in {:.2} s)",
            delivered as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64()
        ),
        Err(e) => println!("webhook deliveries: not measured ({e})"),
    }
    sim.stop().await;
}

/// Subscribes 10 times to `inventory_levels/update` through one tunnel, fires 1000 stock edits
/// and times the 10000 deliveries from the first edit to the last arrival.
async fn webhooks(
    sim: &shopify_sim::RunningSim,
    token: &str,
) -> Result<(u64, Duration), Box<dyn std::error::Error>> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    const SUBSCRIPTIONS: usize = 10;
    const EVENTS: usize = 1000;
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let app = axum::Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        async { "" }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let target = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let base = &sim.info.base_url;
    let tunnel: serde_json::Value = client
        .post(format!("{base}/_sim/tunnels"))
        .json(&serde_json::json!({ "target": target }))
        .send()
        .await?
        .json()
        .await?;
    let public = tunnel["public_url"].as_str().ok_or("no tunnel")?.to_owned();
    const CREATE: &str = "mutation C($uri: String!) { webhookSubscriptionCreate(topic: INVENTORY_LEVELS_UPDATE, webhookSubscription: { uri: $uri }) { userErrors { message } } }";
    shopify_schema::validate(CREATE).map_err(|e| format!("{e:?}"))?;
    for n in 0..SUBSCRIPTIONS {
        client
            .post(&sim.info.graphql_url)
            .header("X-Shopify-Access-Token", token)
            .json(&serde_json::json!({ "query": CREATE, "variables": { "uri": format!("{public}/{n}") } }))
            .send()
            .await?;
    }
    let state: serde_json::Value = client
        .get(format!("{base}/_sim/state"))
        .send()
        .await?
        .json()
        .await?;
    let variant = &state["variants"][0];
    let location = variant["levels"]
        .as_object()
        .and_then(|l| l.keys().next().cloned())
        .ok_or("no level")?;
    let started = Instant::now();
    for n in 0..EVENTS {
        let delta = if n % 2 == 0 { 1 } else { -1 };
        client
            .post(format!("{base}/_sim/inventory"))
            .json(&serde_json::json!({ "inventory_item_id": variant["inventory_item_id"], "location_id": location, "name": "available", "delta": delta }))
            .send()
            .await?;
    }
    let expected = (SUBSCRIPTIONS * EVENTS) as u64;
    while received.load(Ordering::Relaxed) < expected {
        if started.elapsed() > Duration::from_secs(120) {
            return Err("deliveries did not all arrive within 120 s".into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok((expected, started.elapsed()))
}
