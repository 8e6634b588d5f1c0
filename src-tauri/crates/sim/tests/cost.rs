//! Behaviour 3 (cost and throttling): requested cost before execution, actual cost after with the
//! difference refunded, the plan's leaky bucket refilling on the simulated clock, `THROTTLED` and
//! `MAX_COST_EXCEEDED` exactly as Shopify sends them.

mod common;

use common::{codes, small_config, start};
use serde_json::json;
use shopify_sim::Plan;
use std::time::Duration;

fn cost(body: &serde_json::Value) -> (i64, Option<i64>, f64) {
    let c = &body["extensions"]["cost"];
    (
        c["requestedQueryCost"].as_i64().unwrap(),
        c["actualQueryCost"].as_i64(),
        c["throttleStatus"]["currentlyAvailable"].as_f64().unwrap(),
    )
}

#[tokio::test]
async fn costs_match_the_captured_values() {
    let s = start(small_config()).await;
    // Captured: locations(first: 10) with 2 locations → requested 6, actual 4. Here 3 exist.
    let r = s
        .gql("query { locations(first: 10) { edges { cursor node { id name } } pageInfo { hasNextPage } } }", json!({}))
        .await;
    assert_eq!(cost(&r.body), (6, Some(4), 1996.0));
    let status = &r.body["extensions"]["cost"]["throttleStatus"];
    assert_eq!(status["maximumAvailable"], json!(2000.0));
    assert_eq!(status["restoreRate"], json!(100.0));

    // Captured: a single object costs 1; a nested object 2; productsCount 10.
    let r = s.gql("query { shop { id } }", json!({})).await;
    assert_eq!(cost(&r.body).0, 1);
    let r = s
        .gql("query { shop { id primaryDomain { host } } }", json!({}))
        .await;
    assert_eq!(cost(&r.body).0, 2);
    let r = s.gql("query { productsCount { count } }", json!({})).await;
    assert_eq!(cost(&r.body).0, 10);

    // Captured: product { variants(first: 5) { nodes { inventoryItem { id } } } } → 9 requested,
    // 5 actual with one variant; with three variants the actual page is 3.
    let r = s
        .gql("query P($id: ID!) { product(id: $id) { id variants(first: 5) { nodes { id inventoryQuantity inventoryItem { id } } } } }",
            json!({ "id": first_product(&s).await }))
        .await;
    let (requested, actual, _) = cost(&r.body);
    assert_eq!(requested, 9);
    assert_eq!(actual, Some(1 + 4 + 2));
}

async fn first_product(s: &common::Sim) -> String {
    let r = s
        .gql("query { products(first: 1) { nodes { id } } }", json!({}))
        .await;
    r.body["data"]["products"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn bucket_charges_actual_and_refills_on_the_sim_clock() {
    let s = start(small_config()).await;
    let doc = "query { products(first: 250) { nodes { id } } }";
    let r = s.gql(doc, json!({})).await;
    // 40 products served: requested f(250) = 13, actual f(40) = 9.
    assert_eq!(cost(&r.body), (13, Some(9), 1991.0));
    let r = s.gql(doc, json!({})).await;
    assert_eq!(cost(&r.body).2, 1982.0);
    s.clock.advance(Duration::from_millis(50));
    let r = s.gql(doc, json!({})).await;
    // +5 points in 50 ms at 100/s, then −9.
    assert_eq!(cost(&r.body).2, 1978.0);
    s.clock.advance(Duration::from_secs(60));
    let r = s.gql(doc, json!({})).await;
    assert_eq!(
        cost(&r.body).2,
        1991.0,
        "refills to the bucket size, not beyond"
    );
}

#[tokio::test]
async fn throttled_exactly_as_shopify_sends_it() {
    let mut config = small_config();
    config.plan = Plan::parse("custom:20:1").unwrap();
    let s = start(config).await;
    let doc = "query { products(first: 250) { nodes { id } } }";
    let r = s.gql(doc, json!({})).await;
    assert_eq!(cost(&r.body), (13, Some(9), 11.0));

    let token = s.admin_token();
    let response = s
        .http
        .post(s.graphql_url())
        .header("X-Shopify-Access-Token", &token)
        .json(&json!({ "query": doc }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers().get("retry-after").is_none());
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"],
        json!([{ "message": "Throttled", "extensions": { "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits" } }])
    );
    assert!(body.get("data").is_none());
    assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], json!(13));
    assert_eq!(body["extensions"]["cost"]["actualQueryCost"], json!(null));
    assert_eq!(
        body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"],
        json!(11)
    );
    assert_eq!(
        body["extensions"]["cost"]["throttleStatus"]["maximumAvailable"],
        json!(20.0)
    );

    // Waiting (requested − available) / restoreRate seconds is enough.
    s.clock.advance(Duration::from_secs(2));
    let r = s.gql(doc, json!({})).await;
    assert!(r.body.get("errors").is_none(), "{}", r.body);
}

#[tokio::test]
async fn per_app_buckets_are_independent() {
    let mut config = small_config();
    config.plan = Plan::parse("custom:20:1").unwrap();
    let s = start(config).await;
    let doc = "query { products(first: 250) { nodes { id } } }";
    s.gql(doc, json!({})).await;
    assert_eq!(codes(&s.gql(doc, json!({})).await.body), vec!["THROTTLED"]);
    let info = s.sim.info.clone();
    let grant = s.grant_form(&info.client_id, &info.client_secret).await;
    let token = grant.body["access_token"].as_str().unwrap();
    let r = s.gql_unchecked(token, doc, json!({})).await;
    assert!(
        r.body.get("errors").is_none(),
        "the other app has its own bucket"
    );
}

#[tokio::test]
async fn max_cost_exceeded_above_1000() {
    let s = start(small_config()).await;
    let doc = "query { products(first: 250) { nodes { variants(first: 250) { nodes { inventoryItem { inventoryLevels(first: 250) { nodes { id } } } } } } } }";
    let r = s.gql(doc, json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(codes(&r.body), vec!["MAX_COST_EXCEEDED"]);
    let e = &r.body["errors"][0];
    let cost = e["extensions"]["cost"].as_i64().unwrap();
    assert!(cost > 1000);
    assert_eq!(e["extensions"]["maxCost"], json!(1000));
    assert!(e["message"].as_str().unwrap().starts_with(&format!(
        "Query cost is {cost}, which exceeds the single query max cost limit (1000)."
    )));
    assert!(r.body.get("extensions").is_none());
    assert!(r.body.get("data").is_none());
    // Nothing was charged.
    let r = s.gql("query { shop { id } }", json!({})).await;
    assert_eq!(
        r.body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"],
        json!(1999)
    );
}

#[tokio::test]
async fn throttle_can_be_switched_to_429_with_retry_after_seconds() {
    let mut config = small_config();
    config.plan = Plan::parse("custom:20:1").unwrap();
    let s = start(config).await;
    let response = s
        .http
        .post(format!("{}/_sim/faults", s.sim.info.base_url))
        .json(&json!({ "throttle_status": 429 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let doc = "query { products(first: 250) { nodes { id } } }";
    assert_eq!(s.gql(doc, json!({})).await.status, 200);
    let r = s.gql(doc, json!({})).await;
    assert_eq!(r.status, 429);
    // 13 requested, 11 available, 1 point/s: 2 seconds.
    assert_eq!(
        r.headers.get("retry-after").unwrap().to_str().unwrap(),
        "2.0"
    );
    s.clock.advance(Duration::from_secs(2));
    assert_eq!(s.gql(doc, json!({})).await.status, 200);
}
