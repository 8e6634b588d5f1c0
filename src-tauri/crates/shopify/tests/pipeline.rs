//! The request pipeline against the simulator, over real HTTP on loopback.

use shelfsync_shopify::operations::{
    Locations, LocationsVariables, NoVariables, ShopInfo, VariantPriceInput, VariantPrices,
    VariantPricesVariables, VariantsBulkUpdate, VariantsBulkUpdateVariables, VariantsPage,
    VariantsPageVariables,
};
use shelfsync_shopify::{
    ClientConfig, Clock, Credentials, IdempotencyKey, RetryPolicy, Secret, ShopifyClient,
    ShopifyError,
};
use shopify_sim::auth::App;
use shopify_sim::{RunningSim, SimConfig};
use std::time::Duration;

async fn sim(config: SimConfig) -> RunningSim {
    shopify_sim::start(config).await.expect("simulator starts")
}

fn client_credentials(sim: &RunningSim) -> Credentials {
    Credentials::ClientCredentials {
        client_id: sim.info.client_id.clone(),
        client_secret: Secret::new(sim.info.client_secret.clone()),
    }
}

fn client(sim: &RunningSim, credentials: Credentials, clock: Clock) -> ShopifyClient {
    let mut config = ClientConfig::new(&sim.info.base_url, credentials).unwrap();
    config.clock = clock;
    config.jitter_seed = Some(7);
    config.retry = RetryPolicy {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(200),
        request_timeout: Duration::from_secs(10),
        ..RetryPolicy::default()
    };
    ShopifyClient::new(config).unwrap()
}

#[tokio::test]
async fn client_credentials_grant_then_typed_reads() {
    let sim = sim(SimConfig::default()).await;
    let c = client(&sim, client_credentials(&sim), Clock::real());
    assert!(c.token_expiry().is_none(), "no token before the first call");

    let shop = c.execute::<ShopInfo>(&NoVariables {}).await.unwrap().shop;
    assert_eq!(shop.myshopify_domain, sim.info.shop_domain);
    let locations = c
        .execute::<Locations>(&LocationsVariables {
            first: 250,
            after: None,
        })
        .await
        .unwrap()
        .locations;
    assert_eq!(locations.nodes.len(), 3);
    assert!(!locations.page_info.has_next_page);

    // The token's expiry is visible, about a day ahead (86399 s).
    let left = c
        .token_expiry()
        .expect("expiry known")
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(
        left > Duration::from_secs(86_000) && left <= Duration::from_secs(86_399),
        "{left:?}"
    );
    let bucket = *c.bucket().borrow();
    assert_eq!(bucket.maximum, 2000.0);
    assert_eq!(bucket.restore_rate, 100.0);
    assert_eq!(bucket.answered, 2);
    sim.stop().await;
}

#[tokio::test]
async fn a_wrong_client_secret_says_reconnect_and_never_echoes_the_secret() {
    let sim = sim(SimConfig::default()).await;
    let creds = Credentials::ClientCredentials {
        client_id: sim.info.client_id.clone(),
        client_secret: Secret::new("shpss_not_the_right_secret_123"),
    };
    let c = client(&sim, creds, Clock::real());
    let err = c.execute::<ShopInfo>(&NoVariables {}).await.unwrap_err();
    assert!(matches!(err, ShopifyError::Unauthorized { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("Re-connect the store"), "{text}");
    assert!(!text.contains("shpss_not_the_right_secret_123"), "{text}");
    assert!(!format!("{err:?}").contains("shpss_not_the_right_secret_123"));
    sim.stop().await;
}

#[tokio::test]
async fn the_token_is_renewed_ahead_of_expiry_without_a_401() {
    let sim = sim(SimConfig {
        token_ttl_secs: 2,
        ..SimConfig::default()
    })
    .await;
    let c = client(&sim, client_credentials(&sim), Clock::real());
    c.execute::<ShopInfo>(&NoVariables {}).await.unwrap();
    let first = c.token_expiry().unwrap();
    // 1.85 s into a 2 s lifetime: less than a tenth is left, so the client renews first.
    tokio::time::sleep(Duration::from_millis(1850)).await;
    c.execute::<ShopInfo>(&NoVariables {}).await.unwrap();
    let second = c.token_expiry().unwrap();
    assert!(second > first, "token was not renewed");
    assert_eq!(
        c.stats().reauthentications,
        0,
        "a 401 was needed: {:?}",
        c.stats()
    );
    assert_eq!(c.stats().requests, 2);
    sim.stop().await;
}

#[tokio::test]
async fn a_revoked_token_triggers_exactly_one_reauthentication() {
    let sim = sim(SimConfig::default()).await;
    let c = client(&sim, client_credentials(&sim), Clock::real());
    c.execute::<ShopInfo>(&NoVariables {}).await.unwrap();
    sim.state.tokens().revoke_all();
    c.execute::<ShopInfo>(&NoVariables {}).await.unwrap();
    assert_eq!(c.stats().reauthentications, 1);
    sim.stop().await;
}

#[tokio::test]
async fn a_rejected_admin_token_fails_once_without_looping() {
    let sim = sim(SimConfig::default()).await;
    let token = Secret::new(sim.info.admin_token.clone().unwrap());
    let c = client(&sim, Credentials::AdminToken(token), Clock::real());
    c.execute::<ShopInfo>(&NoVariables {}).await.unwrap();
    sim.state.tokens().revoke_all();
    let err = c.execute::<ShopInfo>(&NoVariables {}).await.unwrap_err();
    assert!(matches!(err, ShopifyError::Unauthorized { .. }), "{err:?}");
    assert_eq!(c.stats().requests, 2, "{:?}", c.stats());
    sim.stop().await;
}

#[tokio::test]
async fn a_throttled_answer_waits_for_the_bucket_and_succeeds() {
    let sim = sim(SimConfig {
        time_scale: 10.0,
        ..SimConfig::default()
    })
    .await;
    let c = client(&sim, client_credentials(&sim), Clock::scaled(10.0));
    let vars = VariantsPageVariables {
        first: 50,
        after: None,
        query: None,
    };
    c.execute::<VariantsPage>(&vars).await.unwrap();
    // Someone else's burst empties the bucket behind the client's back.
    sim.state.drain_bucket(App::ClientCredentials, 0.0);
    let page = c.execute::<VariantsPage>(&vars).await.unwrap();
    assert_eq!(page.product_variants.nodes.len(), 50);
    assert_eq!(c.stats().throttled, 1, "{:?}", c.stats());
    sim.stop().await;
}

/// Eight callers share the standard plan's bucket (2000 points, 100/s, run 20× faster on
/// both clocks): the throttle paces them so that almost no request is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_callers_are_almost_never_throttled() {
    let scale = 20.0;
    let sim = sim(SimConfig {
        time_scale: scale,
        products: 100,
        ..SimConfig::default()
    })
    .await;
    let c = client(&sim, client_credentials(&sim), Clock::scaled(scale));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                let vars = VariantsPageVariables {
                    first: 100,
                    after: None,
                    query: None,
                };
                c.execute::<VariantsPage>(&vars).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stats = c.stats();
    let bucket = *c.bucket().borrow();
    eprintln!("stats {stats:?} bucket {bucket:?}");
    assert_eq!(bucket.answered, 200 + stats.throttled);
    assert!(
        (stats.throttled as f64) < 0.01 * 200.0,
        "throttled {} of 200: {stats:?}",
        stats.throttled
    );
    sim.stop().await;
}

/// A store that answers 503 to a third of requests: every call still succeeds, through
/// retries with jittered backoff, and nothing else is retried.
#[tokio::test]
async fn injected_server_errors_are_retried_until_success() {
    let sim = sim(SimConfig::default()).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/_sim/faults", sim.info.base_url))
        .json(&serde_json::json!({"http_5xx_rate": 0.33, "http_5xx_status": 503}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let token = Secret::new(sim.info.admin_token.clone().unwrap());
    let c = client(&sim, Credentials::AdminToken(token), Clock::real());
    for _ in 0..30 {
        c.execute::<ShopInfo>(&NoVariables {}).await.unwrap();
    }
    let stats = c.stats();
    assert!(stats.retries >= 3, "expected some retries: {stats:?}");
    assert_eq!(stats.requests, 30 + stats.retries);
    sim.stop().await;
}

/// Prices are read by variant id and written per product, all or nothing; `Some(None)`
/// clears the compare-at price and `None` leaves a price alone.
#[tokio::test]
async fn variant_prices_are_read_and_written_per_product() {
    let sim = sim(SimConfig::default()).await;
    let c = client(&sim, client_credentials(&sim), Clock::real());
    let page = c
        .execute::<VariantsPage>(&VariantsPageVariables {
            first: 50,
            after: None,
            query: None,
        })
        .await
        .unwrap()
        .product_variants
        .nodes;
    let variant = &page[0];
    let product = &variant.product.id;
    let stranger = page
        .iter()
        .find(|v| v.product.id != *product)
        .expect("a variant of another product");

    let read = |ids: Vec<String>| {
        let c = c.clone();
        async move {
            c.execute::<VariantPrices>(&VariantPricesVariables { ids })
                .await
                .unwrap()
                .nodes
        }
    };
    let nodes = read(vec![variant.id.clone(), product.clone()]).await;
    let node = nodes[0].as_ref().expect("a variant");
    assert_eq!(node.id.as_ref(), Some(&variant.id));
    assert_eq!(node.price.as_ref(), Some(&variant.price));
    assert_eq!(node.product.as_ref().map(|p| &p.id), Some(product));
    // A product id is no variant: `{}` (or `null`).
    assert!(
        nodes[1].as_ref().is_none_or(|n| n.id.is_none()),
        "{nodes:?}"
    );

    let update = |variants: Vec<VariantPriceInput>| {
        let c = c.clone();
        let vars = VariantsBulkUpdateVariables {
            product_id: product.clone(),
            variants,
        };
        async move {
            c.mutate::<VariantsBulkUpdate>(&vars, &IdempotencyKey::random())
                .await
                .unwrap()
                .product_variants_bulk_update
                .expect("a payload")
        }
    };
    let payload = update(vec![VariantPriceInput {
        id: variant.id.clone(),
        price: Some("12.50".into()),
        compare_at_price: Some(Some("20.00".into())),
    }])
    .await;
    assert_eq!(payload.user_errors, vec![]);
    assert_eq!(payload.product.as_ref().map(|p| &p.id), Some(product));
    let written = &payload.product_variants.expect("variants")[0];
    assert_eq!(written.price.as_deref(), Some("12.50"));
    assert_eq!(written.compare_at_price.as_deref(), Some("20.00"));

    let payload = update(vec![VariantPriceInput {
        id: variant.id.clone(),
        price: None,
        compare_at_price: Some(None),
    }])
    .await;
    assert_eq!(payload.user_errors, vec![]);
    let nodes = read(vec![variant.id.clone()]).await;
    let node = nodes[0].as_ref().unwrap();
    assert_eq!(node.price.as_deref(), Some("12.50"));
    assert_eq!(node.compare_at_price, None);

    // A variant of another product fails the whole call; the good row is not applied.
    let payload = update(vec![
        VariantPriceInput {
            id: variant.id.clone(),
            price: Some("1.00".into()),
            compare_at_price: None,
        },
        VariantPriceInput {
            id: stranger.id.clone(),
            price: Some("1.00".into()),
            compare_at_price: None,
        },
    ])
    .await;
    assert!(!payload.user_errors.is_empty());
    let nodes = read(vec![variant.id.clone()]).await;
    assert_eq!(nodes[0].as_ref().unwrap().price.as_deref(), Some("12.50"));
    sim.stop().await;
}
