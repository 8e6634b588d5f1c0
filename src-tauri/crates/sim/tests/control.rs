//! Behaviour 7 (store activity and control) and orders over GraphQL: placing, fulfilling and
//! cancelling orders moves stock the way Shopify does, merchant edits show up in GraphQL with a
//! bumped `updatedAt`, faults and token revocation take effect, and the state can be read back.

mod common;

use common::{Sim, small_config, start};
use serde_json::{Value, json};

async fn post(s: &Sim, path: &str, body: Value) -> (u16, Value) {
    let response = s
        .http
        .post(format!("{}{path}", s.sim.info.base_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn sim_state(s: &Sim) -> Value {
    s.http
        .get(format!("{}/_sim/state", s.sim.info.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A DENY-policy variant with at least 3 available at its first location.
fn stocked_variant(state: &Value) -> (u64, String, u64) {
    let location = state["locations"][0]["id"].as_u64().unwrap();
    state["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|v| {
            let level = &v["levels"][location.to_string()];
            (level["available"].as_i64()? >= 3).then(|| {
                (
                    v["id"].as_u64().unwrap(),
                    v["sku"].as_str().unwrap().to_owned(),
                    location,
                )
            })
        })
        .unwrap()
}

fn level(state: &Value, variant: u64, location: u64) -> (i64, i64, i64) {
    let v = state["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"].as_u64() == Some(variant))
        .unwrap();
    let l = &v["levels"][location.to_string()];
    (
        l["available"].as_i64().unwrap(),
        l["committed"].as_i64().unwrap(),
        l["on_hand"].as_i64().unwrap(),
    )
}

const ORDER: &str = r#"
query Order($id: ID!) {
  order(id: $id) {
    id name displayFulfillmentStatus cancelledAt
    totalPriceSet { shopMoney { amount currencyCode } }
    lineItems(first: 10) { nodes { sku quantity currentQuantity unfulfilledQuantity variant { id } } }
  }
}
"#;

#[tokio::test]
async fn order_lifecycle_moves_stock_and_is_readable_over_graphql() {
    let s = start(small_config()).await;
    let before = sim_state(&s).await;
    let (variant, sku, location) = stocked_variant(&before);
    let (available, committed, on_hand) = level(&before, variant, location);

    let (status, placed) = post(
        &s,
        "/_sim/orders",
        json!({ "lines": [{ "variant_id": format!("gid://shopify/ProductVariant/{variant}"), "quantity": 2 }], "location_id": location }),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    let after = sim_state(&s).await;
    assert_eq!(
        level(&after, variant, location),
        (available - 2, committed + 2, on_hand)
    );

    let gid = placed["admin_graphql_api_id"].as_str().unwrap().to_owned();
    let r = s.gql(ORDER, json!({ "id": gid })).await;
    let order = &r.body["data"]["order"];
    assert_eq!(order["displayFulfillmentStatus"], "UNFULFILLED");
    assert_eq!(order["lineItems"]["nodes"][0]["sku"], json!(sku));
    assert_eq!(
        order["lineItems"]["nodes"][0]["unfulfilledQuantity"],
        json!(2)
    );
    assert_eq!(order["totalPriceSet"]["shopMoney"]["currencyCode"], "USD");

    let r = s
        .gql("query O($q: String) { orders(first: 5, query: $q, sortKey: UPDATED_AT) { nodes { id } } }", json!({ "q": format!("sku:{sku}") }))
        .await;
    assert_eq!(r.body["data"]["orders"]["nodes"][0]["id"], json!(gid));

    let id = placed["id"].as_u64().unwrap();
    let (status, _) = post(&s, &format!("/_sim/orders/{id}/fulfill"), json!({})).await;
    assert_eq!(status, 200);
    let fulfilled = sim_state(&s).await;
    assert_eq!(
        level(&fulfilled, variant, location),
        (available - 2, committed, on_hand - 2)
    );
    let r = s.gql(ORDER, json!({ "id": gid })).await;
    assert_eq!(
        r.body["data"]["order"]["displayFulfillmentStatus"],
        "FULFILLED"
    );

    let topics: Vec<&str> = fulfilled["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["topic"].as_str().unwrap())
        .collect();
    assert!(topics.contains(&"orders/create") && topics.contains(&"orders/fulfilled"));
    assert!(topics.contains(&"inventory_levels/update"));
    assert!(
        !topics.contains(&"products/update"),
        "selling stock does not fire products/update"
    );
}

#[tokio::test]
async fn cancel_restocks_and_deny_policy_prevents_overselling() {
    let s = start(small_config()).await;
    let before = sim_state(&s).await;
    let (variant, _, location) = stocked_variant(&before);
    let (available, committed, on_hand) = level(&before, variant, location);
    let (_, placed) = post(
        &s,
        "/_sim/orders",
        json!({ "lines": [{ "variant_id": variant, "quantity": 1 }], "location_id": location }),
    )
    .await;
    let id = placed["id"].as_u64().unwrap();
    let (status, _) = post(&s, &format!("/_sim/orders/{id}/cancel"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        level(&sim_state(&s).await, variant, location),
        (available, committed, on_hand)
    );
    // The cancelled units leave the order: `quantity` keeps what was ordered,
    // `currentQuantity` drops to what was shipped (nothing here).
    let r = s
        .gql(ORDER, json!({ "id": format!("gid://shopify/Order/{id}") }))
        .await;
    let line = &r.body["data"]["order"]["lineItems"]["nodes"][0];
    assert_eq!(
        (
            &line["quantity"],
            &line["currentQuantity"],
            &line["unfulfilledQuantity"]
        ),
        (&json!(1), &json!(0), &json!(0)),
        "{}",
        r.body
    );
    let (status, _) = post(&s, &format!("/_sim/orders/{id}/fulfill"), json!({})).await;
    assert_eq!(status, 422, "a cancelled order cannot be fulfilled");

    let (status, body) = post(
        &s,
        "/_sim/orders",
        json!({ "lines": [{ "variant_id": variant, "quantity": 1_000_000 }], "location_id": location }),
    )
    .await;
    // Either DENY (refused) or CONTINUE (oversold); the seeded variant decides.
    let policy = s
        .gql(
            "query V($id: ID!) { productVariant(id: $id) { inventoryPolicy } }",
            json!({ "id": format!("gid://shopify/ProductVariant/{variant}") }),
        )
        .await
        .body["data"]["productVariant"]["inventoryPolicy"]
        .as_str()
        .unwrap()
        .to_owned();
    if policy == "DENY" {
        assert_eq!(status, 422, "{body}");
        assert!(body["error"].as_str().unwrap().contains("not enough stock"));
    } else {
        assert_eq!(status, 201);
    }
}

#[tokio::test]
async fn merchant_price_and_stock_edits_show_in_graphql() {
    let s = start(small_config()).await;
    let before = sim_state(&s).await;
    let (variant, _, location) = stocked_variant(&before);
    s.clock.advance(std::time::Duration::from_secs(3600));
    let (status, _) = post(
        &s,
        "/_sim/prices",
        json!({ "variant_id": variant, "price": "12.5", "compare_at_price": "20.00" }),
    )
    .await;
    assert_eq!(status, 200);
    let r = s
        .gql("query V($id: ID!) { productVariant(id: $id) { price compareAtPrice updatedAt inventoryItem { id } } }", json!({ "id": format!("gid://shopify/ProductVariant/{variant}") }))
        .await;
    let v = &r.body["data"]["productVariant"];
    assert_eq!(v["price"], "12.50");
    assert_eq!(v["compareAtPrice"], "20.00");
    assert_eq!(v["updatedAt"], "2026-07-15T01:00:00Z");

    let item = v["inventoryItem"]["id"].as_str().unwrap().to_owned();
    let (available, _, on_hand) = level(&before, variant, location);
    let (status, body) = post(&s, "/_sim/inventory", json!({ "inventory_item_id": item, "location_id": location, "name": "available", "delta": -1 })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["level"],
        json!({ "available": available - 1, "on_hand": on_hand - 1 })
    );
    let (status, _) = post(
        &s,
        "/_sim/prices",
        json!({ "variant_id": variant, "price": "-1.00" }),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn faults_revocation_and_clock_control() {
    let s = start(small_config()).await;
    let (status, _) = post(
        &s,
        "/_sim/faults",
        json!({ "http_5xx_rate": 1.0, "http_5xx_status": 502 }),
    )
    .await;
    assert_eq!(status, 200);
    let r = s.gql("query { shop { id } }", json!({})).await;
    assert_eq!(r.status, 502);
    let (status, _) = post(&s, "/_sim/faults", json!({ "http_5xx_rate": 0.5 })).await;
    assert_eq!(status, 200);
    let mut failures = 0;
    for _ in 0..40 {
        if s.gql("query { shop { id } }", json!({})).await.status == 503 {
            failures += 1;
        }
    }
    assert!((8..=32).contains(&failures), "about half fail: {failures}");
    post(&s, "/_sim/faults", json!({})).await;

    let (_, _) = post(&s, "/_sim/bucket/drain", json!({ "to": 0 })).await;
    let r = s.gql("query { shop { id } }", json!({})).await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "THROTTLED");
    let (_, now) = post(&s, "/_sim/clock/advance", json!({ "seconds": 1 })).await;
    assert_eq!(now["now"], "2026-07-15T00:00:01Z");
    assert!(
        s.gql("query { shop { id } }", json!({}))
            .await
            .body
            .get("errors")
            .is_none()
    );

    post(&s, "/_sim/tokens/revoke", json!({})).await;
    assert_eq!(s.gql("query { shop { id } }", json!({})).await.status, 401);
}

#[tokio::test]
async fn orders_older_than_60_days_are_invisible_without_read_all_orders() {
    let s = start(small_config()).await;
    let before = sim_state(&s).await;
    let (variant, _, location) = stocked_variant(&before);
    let (_, placed) = post(
        &s,
        "/_sim/orders",
        json!({ "lines": [{ "variant_id": variant, "quantity": 1 }], "location_id": location }),
    )
    .await;
    let gid = placed["admin_graphql_api_id"].as_str().unwrap().to_owned();
    let doc = "query O($id: ID!) { order(id: $id) { id } orders(first: 5) { nodes { id } } ordersCount { count } }";
    s.clock.advance(std::time::Duration::from_secs(59 * 86_400));
    let r = s.gql(doc, json!({ "id": gid })).await;
    assert_eq!(r.body["data"]["order"]["id"], json!(gid));
    assert_eq!(r.body["data"]["ordersCount"]["count"], json!(1));
    s.clock.advance(std::time::Duration::from_secs(2 * 86_400));
    let r = s.gql(doc, json!({ "id": gid })).await;
    assert!(r.body["data"]["order"].is_null());
    assert_eq!(r.body["data"]["orders"]["nodes"], json!([]));
    assert_eq!(r.body["data"]["ordersCount"]["count"], json!(0));
}

#[tokio::test]
async fn order_trickle_follows_the_simulated_clock() {
    let s = start(small_config()).await;
    let (status, _) = post(
        &s,
        "/_sim/trickle",
        json!({ "orders_per_hour": 60, "max_quantity": 1 }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(sim_state(&s).await["orders"].as_array().unwrap().len(), 0);
    s.clock.advance(std::time::Duration::from_secs(10 * 60));
    let state = sim_state(&s).await;
    let placed = state["orders"].as_array().unwrap().len();
    // One order a simulated minute; a pick that is out of stock is skipped.
    assert!((7..=10).contains(&placed), "{placed} orders");
    let r = s.gql("query { ordersCount { count } }", json!({})).await;
    assert_eq!(r.body["data"]["ordersCount"]["count"], json!(placed));

    post(&s, "/_sim/trickle", json!({ "orders_per_hour": 0 })).await;
    s.clock.advance(std::time::Duration::from_secs(3600));
    assert_eq!(
        sim_state(&s).await["orders"].as_array().unwrap().len(),
        placed
    );
}

#[tokio::test]
async fn connection_reset_fault_loses_the_answer_but_not_the_write() {
    let s = start(small_config()).await;
    let before = sim_state(&s).await;
    let (variant, _, location) = stocked_variant(&before);
    let (available, _, _) = level(&before, variant, location);
    let item = s
        .gql(
            "query V($id: ID!) { productVariant(id: $id) { inventoryItem { id } } }",
            json!({ "id": format!("gid://shopify/ProductVariant/{variant}") }),
        )
        .await
        .body["data"]["productVariant"]["inventoryItem"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = post(&s, "/_sim/faults", json!({ "connection_reset_rate": 1.0 })).await;
    assert_eq!(status, 200);
    let doc = "mutation A($input: InventoryAdjustQuantitiesInput!) { inventoryAdjustQuantities(input: $input) @idempotent(key: \"reset-1\") { userErrors { code } } }";
    assert!(shopify_schema::validate(doc).is_ok());
    let input = json!({ "name": "available", "reason": "correction", "changes": [
        { "inventoryItemId": item, "locationId": format!("gid://shopify/Location/{location}"), "delta": -1, "changeFromQuantity": null }
    ] });
    let outcome = async {
        let response = s
            .http
            .post(s.graphql_url())
            .header("X-Shopify-Access-Token", s.admin_token())
            .json(&json!({ "query": doc, "variables": { "input": input } }))
            .send()
            .await?;
        response.text().await
    }
    .await;
    assert!(
        outcome.is_err(),
        "the answer should be cut off: {outcome:?}"
    );
    post(&s, "/_sim/faults", json!({})).await;
    assert_eq!(
        level(&sim_state(&s).await, variant, location).0,
        available - 1,
        "the write happened"
    );
}
