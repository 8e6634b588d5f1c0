//! Measures the simulator's own capacity on loopback, so later benchmarks can show it is not
//! their bottleneck: GraphQL requests per second for a typical inventory page (50 variants with
//! their levels and quantities), with a few concurrent clients.
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
    println!("webhook deliveries/s: not measured (webhook delivery is not implemented yet)");
    sim.stop().await;
}
