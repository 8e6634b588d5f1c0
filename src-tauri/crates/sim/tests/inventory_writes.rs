//! Behaviour 4 (inventory writes, 2026-04+ rules): `@idempotent` required and honoured,
//! `changeFromQuantity` mandatory and compare-and-swap, all-or-nothing, the userError table, and
//! quantities that move together.

mod common;

use common::{Sim, codes, small_config, start};
use serde_json::{Value, json};

const SET: &str = r#"
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup {
      id createdAt reason referenceDocumentUri
      changes { name delta quantityAfterChange item { id } location { id name } }
    }
    userErrors { code field message }
  }
}
"#;

const ADJUST: &str = r#"
mutation Adjust($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id changes { name delta ledgerDocumentUri } }
    userErrors { code field message }
  }
}
"#;

const LEVEL: &str = r#"
query Level($id: ID!, $loc: ID!) {
  inventoryItem(id: $id) {
    updatedAt
    inventoryLevel(locationId: $loc) {
      updatedAt
      quantities(names: ["available", "on_hand", "committed", "damaged"]) { name quantity }
    }
  }
}
"#;

struct Target {
    item: String,
    location: String,
}

async fn target(s: &Sim, n: usize) -> Target {
    let r = s
        .gql(
            "query { inventoryItems(first: 10) { nodes { id inventoryLevels(first: 1) { nodes { location { id } } } } } }",
            json!({}),
        )
        .await;
    let node = &r.body["data"]["inventoryItems"]["nodes"][n];
    Target {
        item: node["id"].as_str().unwrap().to_owned(),
        location: node["inventoryLevels"]["nodes"][0]["location"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

async fn quantities(s: &Sim, t: &Target) -> (i64, i64, i64, i64) {
    let r = s
        .gql(LEVEL, json!({ "id": t.item, "loc": t.location }))
        .await;
    let q = &r.body["data"]["inventoryItem"]["inventoryLevel"]["quantities"];
    let get = |i: usize| q[i]["quantity"].as_i64().unwrap();
    (get(0), get(1), get(2), get(3))
}

fn set_input(t: &Target, quantity: i64, change_from: Value) -> Value {
    json!({
        "name": "available",
        "reason": "correction",
        "referenceDocumentUri": "logistics://shelfsync/test/1",
        "quantities": [{ "inventoryItemId": t.item, "locationId": t.location, "quantity": quantity, "changeFromQuantity": change_from }]
    })
}

fn payload<'a>(body: &'a Value, root: &str) -> &'a Value {
    &body["data"][root]
}

#[tokio::test]
async fn set_available_moves_on_hand_and_reports_both_changes() {
    let s = start(small_config()).await;
    let t = target(&s, 0).await;
    let (available, on_hand, committed, _) = quantities(&s, &t).await;
    let r = s
        .gql(
            SET,
            json!({ "input": set_input(&t, available + 5, json!(available)), "key": "k-1" }),
        )
        .await;
    assert!(r.body.get("errors").is_none(), "{}", r.body);
    let p = payload(&r.body, "inventorySetQuantities");
    assert_eq!(p["userErrors"], json!([]));
    let changes = p["inventoryAdjustmentGroup"]["changes"].as_array().unwrap();
    let rows: Vec<(&str, i64)> = changes
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["delta"].as_i64().unwrap()))
        .collect();
    assert_eq!(rows, vec![("available", 5), ("on_hand", 5)]);
    assert!(changes.iter().all(|c| c["quantityAfterChange"].is_null()));
    assert_eq!(changes[0]["item"]["id"], json!(t.item));
    assert_eq!(p["inventoryAdjustmentGroup"]["reason"], "correction");
    assert!(
        r.body["extensions"]["cost"]["requestedQueryCost"]
            .as_i64()
            .unwrap()
            >= 10
    );

    let (a, o, c, _) = quantities(&s, &t).await;
    assert_eq!(
        (a, o, c),
        (available + 5, on_hand + 5, committed),
        "committed does not move"
    );
    // The write bumps updatedAt to the simulated now.
    let r = s
        .gql(LEVEL, json!({ "id": t.item, "loc": t.location }))
        .await;
    assert_eq!(
        r.body["data"]["inventoryItem"]["inventoryLevel"]["updatedAt"],
        "2026-07-15T00:00:00Z"
    );
}

#[tokio::test]
async fn stale_change_from_quantity_fails_the_whole_call() {
    let s = start(small_config()).await;
    let a = target(&s, 0).await;
    let b = target(&s, 1).await;
    let (a_avail, ..) = quantities(&s, &a).await;
    let (b_avail, ..) = quantities(&s, &b).await;
    let input = json!({
        "name": "available",
        "reason": "correction",
        "quantities": [
            { "inventoryItemId": a.item, "locationId": a.location, "quantity": 1, "changeFromQuantity": a_avail },
            { "inventoryItemId": b.item, "locationId": b.location, "quantity": 1, "changeFromQuantity": b_avail + 3 }
        ]
    });
    let r = s
        .gql(SET, json!({ "input": input, "key": "stale-1" }))
        .await;
    let p = payload(&r.body, "inventorySetQuantities");
    assert!(p["inventoryAdjustmentGroup"].is_null());
    assert_eq!(p["userErrors"][0]["code"], "CHANGE_FROM_QUANTITY_STALE");
    assert_eq!(
        p["userErrors"][0]["field"],
        json!(["input", "quantities", "1", "changeFromQuantity"])
    );
    assert_eq!(p["userErrors"].as_array().unwrap().len(), 1);
    // As captured for a userErrors-only call: requested 13, charged 10 (no group came back).
    assert_eq!(
        r.body["extensions"]["cost"]["requestedQueryCost"],
        json!(13)
    );
    assert_eq!(r.body["extensions"]["cost"]["actualQueryCost"], json!(10));
    assert_eq!(
        quantities(&s, &a).await.0,
        a_avail,
        "valid row not applied either"
    );
    assert_eq!(quantities(&s, &b).await.0, b_avail);

    // Explicit null skips the check.
    let r = s
        .gql(
            SET,
            json!({ "input": set_input(&b, 2, Value::Null), "key": "null-cas" }),
        )
        .await;
    assert_eq!(
        payload(&r.body, "inventorySetQuantities")["userErrors"],
        json!([])
    );
    assert_eq!(quantities(&s, &b).await.0, 2);
}

#[tokio::test]
async fn omitted_change_from_quantity_is_an_argument_error_before_the_directive_check() {
    let s = start(small_config()).await;
    let t = target(&s, 0).await;
    let doc = r#"mutation NoKey($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) { userErrors { code field message } }
}"#;
    let input = json!({
        "name": "available", "reason": "correction",
        "quantities": [{ "inventoryItemId": t.item, "locationId": t.location, "quantity": 3 }]
    });
    let r = s.gql(doc, json!({ "input": input })).await;
    assert_eq!(r.status, 200);
    assert_eq!(codes(&r.body), vec!["INVALID_FIELD_ARGUMENTS"]);
    assert_eq!(
        r.body["errors"][0]["message"],
        "InventoryQuantityInput must include the following argument: changeFromQuantity."
    );
    assert_eq!(
        r.body["errors"][0]["path"],
        json!(["inventorySetQuantities"])
    );
    assert_eq!(r.body["data"], json!({ "inventorySetQuantities": null }));
    assert!(r.body["extensions"]["cost"].is_object());
}

#[tokio::test]
async fn missing_idempotent_directive_is_bad_request_with_null_root() {
    let s = start(small_config()).await;
    let t = target(&s, 0).await;
    let doc = "mutation NoKey($input: InventorySetQuantitiesInput!) {\n  inventorySetQuantities(input: $input) { userErrors { code } }\n}";
    let r = s
        .gql(doc, json!({ "input": set_input(&t, 4, Value::Null) }))
        .await;
    assert_eq!(codes(&r.body), vec!["BAD_REQUEST"]);
    let e = &r.body["errors"][0];
    assert_eq!(
        e["message"],
        "The @idempotent directive is required for this mutation but was not provided."
    );
    assert_eq!(e["locations"], json!([{ "line": 2, "column": 3 }]));
    assert_eq!(r.body["data"], json!({ "inventorySetQuantities": null }));
    assert_eq!(
        r.body["extensions"]["cost"]["requestedQueryCost"],
        json!(10)
    );
    assert_ne!(quantities(&s, &t).await.0, 4, "nothing applied");
}

#[tokio::test]
async fn idempotency_replays_the_first_result_and_rejects_other_input() {
    let s = start(small_config()).await;
    let t = target(&s, 0).await;
    let (available, ..) = quantities(&s, &t).await;
    let input = json!({
        "name": "available", "reason": "correction",
        "changes": [{ "inventoryItemId": t.item, "locationId": t.location, "delta": 2, "changeFromQuantity": available }]
    });
    let first = s
        .gql(ADJUST, json!({ "input": input, "key": "adj-1" }))
        .await;
    let again = s
        .gql(ADJUST, json!({ "input": input, "key": "adj-1" }))
        .await;
    assert_eq!(
        first.body["data"], again.body["data"],
        "replay returns the first payload"
    );
    assert_eq!(quantities(&s, &t).await.0, available + 2, "applied once");

    let mut other = input.clone();
    other["changes"][0]["delta"] = json!(7);
    let r = s
        .gql(ADJUST, json!({ "input": other, "key": "adj-1" }))
        .await;
    let p = payload(&r.body, "inventoryAdjustQuantities");
    assert!(p["inventoryAdjustmentGroup"].is_null());
    assert_eq!(
        p["userErrors"],
        json!([{ "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH", "field": null,
                 "message": "The same idempotency key cannot be used with different operation parameters." }])
    );
    assert_eq!(quantities(&s, &t).await.0, available + 2);
}

#[tokio::test]
async fn user_error_table() {
    let s = start(small_config()).await;
    let t = target(&s, 0).await;
    let input = json!({
        "name": "committed", "reason": "because", "referenceDocumentUri": "PO-1",
        "quantities": [
            { "inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": t.location, "quantity": 1, "changeFromQuantity": null },
            { "inventoryItemId": t.item, "locationId": "gid://shopify/Location/1", "quantity": 1, "changeFromQuantity": null },
            { "inventoryItemId": t.item, "locationId": t.location, "quantity": 1_000_000_001, "changeFromQuantity": null }
        ]
    });
    let r = s.gql(SET, json!({ "input": input, "key": "errs" })).await;
    let errors = payload(&r.body, "inventorySetQuantities")["userErrors"]
        .as_array()
        .unwrap()
        .clone();
    let got: Vec<(String, Value)> = errors
        .iter()
        .map(|e| (e["code"].as_str().unwrap().to_owned(), e["field"].clone()))
        .collect();
    let expect = |code: &str, field: Value| (code.to_owned(), field);
    assert_eq!(
        got,
        vec![
            expect("INVALID_NAME", json!(["input", "name"])),
            expect("INVALID_REASON", json!(["input", "reason"])),
            expect(
                "INVALID_REFERENCE_DOCUMENT",
                json!(["input", "referenceDocumentUri"])
            ),
            expect(
                "INVALID_INVENTORY_ITEM",
                json!(["input", "quantities", "0", "inventoryItemId"])
            ),
            expect(
                "INVALID_LOCATION",
                json!(["input", "quantities", "1", "locationId"])
            ),
            expect(
                "INVALID_QUANTITY_TOO_HIGH",
                json!(["input", "quantities", "2", "quantity"])
            ),
        ]
    );
    assert_eq!(
        errors[0]["message"],
        "The quantity name must be either 'available' or 'on_hand'."
    );
    assert_eq!(
        errors[3]["message"],
        "The specified inventory item could not be found."
    );

    // Duplicate rows and negative on_hand.
    let input = json!({
        "name": "on_hand", "reason": "correction",
        "quantities": [
            { "inventoryItemId": t.item, "locationId": t.location, "quantity": -1, "changeFromQuantity": null },
            { "inventoryItemId": t.item, "locationId": t.location, "quantity": 3, "changeFromQuantity": null }
        ]
    });
    let r = s.gql(SET, json!({ "input": input, "key": "dups" })).await;
    let codes: Vec<&str> = payload(&r.body, "inventorySetQuantities")["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    // Both rows of the repeated pair are reported, as in the capture.
    assert_eq!(
        codes,
        vec![
            "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
            "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
            "INVALID_QUANTITY_NEGATIVE"
        ]
    );
}

#[tokio::test]
async fn adjust_rules_ledger_documents_and_zero_delta() {
    let s = start(small_config()).await;
    let t = target(&s, 0).await;
    let (available, on_hand, _, damaged) = quantities(&s, &t).await;
    let change = |name: &str, delta: i64, ledger: Option<&str>| {
        let mut row = json!({ "inventoryItemId": t.item, "locationId": t.location, "delta": delta, "changeFromQuantity": null });
        if let Some(l) = ledger {
            row["ledgerDocumentUri"] = json!(l);
        }
        json!({ "name": name, "reason": "damaged", "changes": [row] })
    };
    let r = s
        .gql(
            ADJUST,
            json!({ "input": change("on_hand", 1, None), "key": "a1" }),
        )
        .await;
    let e = &payload(&r.body, "inventoryAdjustQuantities")["userErrors"][0];
    assert!(e["code"].is_null());
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("The specified quantity name is invalid.")
    );

    let r = s
        .gql(
            ADJUST,
            json!({ "input": change("damaged", 1, None), "key": "a2" }),
        )
        .await;
    assert_eq!(
        payload(&r.body, "inventoryAdjustQuantities")["userErrors"][0]["code"],
        "INVALID_QUANTITY_DOCUMENT"
    );
    let r = s
        .gql(
            ADJUST,
            json!({ "input": change("available", 1, Some("app://x/1")), "key": "a3" }),
        )
        .await;
    assert_eq!(
        payload(&r.body, "inventoryAdjustQuantities")["userErrors"][0]["code"],
        "INVALID_AVAILABLE_DOCUMENT"
    );
    let r = s
        .gql(
            ADJUST,
            json!({ "input": change("damaged", 1, Some("gid://shopify/Order/1")), "key": "a4" }),
        )
        .await;
    assert_eq!(
        payload(&r.body, "inventoryAdjustQuantities")["userErrors"][0]["code"],
        "INTERNAL_LEDGER_DOCUMENT"
    );

    let r = s
        .gql(
            ADJUST,
            json!({ "input": change("damaged", 2, Some("app://claims/7")), "key": "a5" }),
        )
        .await;
    let p = payload(&r.body, "inventoryAdjustQuantities");
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(
        p["inventoryAdjustmentGroup"]["changes"][0]["ledgerDocumentUri"],
        "app://claims/7"
    );
    let (a, o, _, d) = quantities(&s, &t).await;
    assert_eq!(
        (a, o, d),
        (available, on_hand + 2, damaged + 2),
        "damaged moves on_hand, not available"
    );

    let r = s
        .gql(
            ADJUST,
            json!({ "input": change("available", 0, None), "key": "a6" }),
        )
        .await;
    let p = payload(&r.body, "inventoryAdjustQuantities");
    assert!(
        p["inventoryAdjustmentGroup"].is_null(),
        "zero delta is a no-op"
    );
    assert_eq!(p["userErrors"], json!([]));
}

#[tokio::test]
async fn more_than_250_rows_is_rejected_before_execution() {
    let s = start(small_config()).await;
    let t = target(&s, 0).await;
    let rows: Vec<Value> = (0..251)
        .map(|_| json!({ "inventoryItemId": t.item, "locationId": t.location, "quantity": 1, "changeFromQuantity": null }))
        .collect();
    let input = json!({ "name": "available", "reason": "correction", "quantities": rows });
    let r = s.gql(SET, json!({ "input": input, "key": "big" })).await;
    assert_eq!(codes(&r.body), vec!["MAX_INPUT_SIZE_EXCEEDED"]);
    assert_eq!(
        r.body["errors"][0]["message"],
        "The input array size of 251 is greater than the maximum allowed of 250."
    );
    assert_eq!(
        r.body["errors"][0]["path"],
        json!(["inventorySetQuantities", "input", "quantities"])
    );
    assert!(r.body.get("data").is_none());
}

#[tokio::test]
async fn item_not_stocked_at_location() {
    let s = start(small_config()).await;
    let r = s
        .gql(
            "query { locations(first: 5) { nodes { id } } inventoryItems(first: 100) { nodes { id inventoryLevels(first: 5) { nodes { location { id } } } } } }",
            json!({}),
        )
        .await;
    let locations: Vec<String> = r.body["data"]["locations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    let (item, location) = r.body["data"]["inventoryItems"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|i| {
            let stocked: Vec<&str> = i["inventoryLevels"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["location"]["id"].as_str().unwrap())
                .collect();
            let missing = locations.iter().find(|l| !stocked.contains(&l.as_str()))?;
            Some((i["id"].as_str().unwrap().to_owned(), missing.clone()))
        })
        .expect("the seeded store has an item not stocked somewhere");
    let t = Target { item, location };
    let r = s
        .gql(
            SET,
            json!({ "input": set_input(&t, 1, Value::Null), "key": "unstocked" }),
        )
        .await;
    let e = &payload(&r.body, "inventorySetQuantities")["userErrors"][0];
    assert_eq!(e["code"], "ITEM_NOT_STOCKED_AT_LOCATION");
    assert_eq!(
        e["field"],
        json!(["input", "quantities", "0", "locationId"])
    );
}

#[tokio::test]
async fn writes_need_write_inventory() {
    let mut config = small_config();
    config.scopes = vec!["read_products".into(), "read_inventory".into()];
    let s = start(config).await;
    let t = target(&s, 0).await;
    let (available, ..) = quantities(&s, &t).await;
    let r = s
        .gql(
            SET,
            json!({ "input": set_input(&t, available + 9, Value::Null), "key": "no-scope" }),
        )
        .await;
    assert_eq!(codes(&r.body), vec!["ACCESS_DENIED"]);
    assert_eq!(r.body["data"], json!({ "inventorySetQuantities": null }));
    assert_eq!(quantities(&s, &t).await.0, available, "nothing applied");
}

const ACTIVATE: &str = r#"
mutation Activate($item: ID!, $location: ID!, $available: Int, $key: String!) {
  inventoryActivate(inventoryItemId: $item, locationId: $location, available: $available) @idempotent(key: $key) {
    inventoryLevel { id location { id } quantities(names: ["available", "on_hand"]) { name quantity } }
    userErrors { field message }
  }
}
"#;

#[tokio::test]
async fn activate_stocks_an_item_at_a_new_location() {
    let s = start(small_config()).await;
    let r = s
        .gql(
            "query { locations(first: 5) { nodes { id } } inventoryItems(first: 100) { nodes { id inventoryLevels(first: 5) { nodes { location { id } } } } } }",
            json!({}),
        )
        .await;
    let locations: Vec<String> = r.body["data"]["locations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    let (item, location) = r.body["data"]["inventoryItems"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|i| {
            let stocked: Vec<&str> = i["inventoryLevels"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["location"]["id"].as_str().unwrap())
                .collect();
            let missing = locations.iter().find(|l| !stocked.contains(&l.as_str()))?;
            Some((i["id"].as_str().unwrap().to_owned(), missing.clone()))
        })
        .expect("an unstocked pair");
    let vars = json!({ "item": item, "location": location, "available": 4, "key": "act-1" });
    let r = s.gql(ACTIVATE, vars.clone()).await;
    let p = &r.body["data"]["inventoryActivate"];
    assert_eq!(p["userErrors"], json!([]), "{}", r.body);
    assert_eq!(p["inventoryLevel"]["location"]["id"], json!(location));
    assert_eq!(
        p["inventoryLevel"]["quantities"],
        json!([{ "name": "available", "quantity": 4 }, { "name": "on_hand", "quantity": 4 }])
    );
    // Now stocked: a quantity write there succeeds.
    let t = Target {
        item: item.clone(),
        location: location.clone(),
    };
    let r = s
        .gql(
            SET,
            json!({ "input": set_input(&t, 6, json!(4)), "key": "after-act" }),
        )
        .await;
    assert_eq!(
        payload(&r.body, "inventorySetQuantities")["userErrors"],
        json!([])
    );
    // Same key and input: the first answer again (quantities as they were then).
    let again = s.gql(ACTIVATE, vars).await;
    assert_eq!(
        again.body["data"]["inventoryActivate"]["inventoryLevel"]["id"],
        p["inventoryLevel"]["id"]
    );

    let r = s
        .gql(
            ACTIVATE,
            json!({ "item": item, "location": "gid://shopify/Location/1", "key": "act-2" }),
        )
        .await;
    assert_eq!(
        r.body["data"]["inventoryActivate"]["userErrors"],
        json!([{ "field": ["locationId"], "message": "The product couldn't be stocked because the location wasn't found." }])
    );
    let no_key = "mutation A($item: ID!, $location: ID!) {\n  inventoryActivate(inventoryItemId: $item, locationId: $location) { userErrors { message } }\n}";
    let r = s
        .gql(no_key, json!({ "item": item, "location": location }))
        .await;
    assert_eq!(codes(&r.body), vec!["BAD_REQUEST"]);
}
