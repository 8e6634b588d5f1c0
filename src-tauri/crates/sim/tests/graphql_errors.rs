//! Behaviour 2 (GraphQL), failure shapes: parse and validation errors come back as Shopify sends
//! them (HTTP 200, no `data`, no cost block), runtime argument errors with `BAD_REQUEST`, and a
//! valid-but-unsimulated field fails loudly, naming itself.

mod common;

use common::{codes, small_config, start};
use serde_json::json;

#[tokio::test]
async fn misspelt_field_is_undefined_field_without_data_or_cost() {
    let s = start(small_config()).await;
    let token = s.admin_token();
    let r = s
        .gql_unchecked(
            &token,
            "query ShopName {\n  shop {\n    nmae\n  }\n}\n",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(codes(&r.body), vec!["undefinedField"]);
    let e = &r.body["errors"][0];
    assert_eq!(e["message"], "Field 'nmae' doesn't exist on type 'Shop'");
    assert_eq!(e["locations"], json!([{ "line": 3, "column": 5 }]));
    assert_eq!(e["path"], json!(["query ShopName", "shop", "nmae"]));
    assert_eq!(e["extensions"]["typeName"], "Shop");
    assert_eq!(e["extensions"]["fieldName"], "nmae");
    assert!(r.body.get("data").is_none());
    assert!(r.body.get("extensions").is_none());
}

#[tokio::test]
async fn syntax_error_is_parse_error() {
    let s = start(small_config()).await;
    let r = s
        .gql_unchecked(&s.admin_token(), "query { shop { name", json!({}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(codes(&r.body), vec!["PARSE_ERROR"]);
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("syntax error, "), "{message}");
    assert!(r.body.get("data").is_none() && r.body.get("extensions").is_none());
}

#[tokio::test]
async fn argument_errors_use_graphql_ruby_codes() {
    let s = start(small_config()).await;
    let token = s.admin_token();
    let r = s
        .gql_unchecked(&token, "query Q { product { id } }", json!({}))
        .await;
    assert_eq!(codes(&r.body), vec!["missingRequiredArguments"]);
    assert_eq!(
        r.body["errors"][0]["message"],
        "Field 'product' is missing required arguments: id"
    );

    let r = s
        .gql_unchecked(
            &token,
            "query Q { products(first: 1, sortKey: SKU) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&r.body), vec!["argumentLiteralsIncompatible"]);
    assert_eq!(
        r.body["errors"][0]["message"],
        "Argument 'sortKey' on Field 'products' has an invalid value (SKU). Expected type 'ProductSortKeys'."
    );
    assert_eq!(
        r.body["errors"][0]["path"],
        json!(["query Q", "products", "sortKey"])
    );

    let r = s
        .gql_unchecked(
            &token,
            "query Q { products(frist: 1) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&r.body), vec!["argumentNotAccepted"]);
    assert_eq!(
        r.body["errors"][0]["message"],
        "Field 'products' doesn't accept argument 'frist'"
    );
}

#[tokio::test]
async fn removed_inventory_inputs_and_unused_variables_are_rejected() {
    let s = start(small_config()).await;
    let doc = "mutation M($input: InventorySetQuantitiesInput!, $unused: String) {\n  inventorySetQuantities(input: $input) { userErrors { code } }\n}";
    let r = s.gql_unchecked(&s.admin_token(), doc, json!({})).await;
    assert_eq!(codes(&r.body), vec!["variableNotUsed"]);
    assert_eq!(
        r.body["errors"][0]["message"],
        "Variable $unused is declared by M but not used"
    );
}

#[tokio::test]
async fn bad_variables_are_invalid_variable_with_problems() {
    let s = start(small_config()).await;
    let doc = "query P($id: ID!) { product(id: $id) { id } }";
    let r = s.gql(doc, json!({ "id": "not-a-shopify-gid" })).await;
    assert_eq!(r.status, 200);
    assert_eq!(codes(&r.body), vec!["INVALID_VARIABLE"]);
    let e = &r.body["errors"][0];
    assert_eq!(
        e["message"],
        "Variable $id of type ID! was provided invalid value"
    );
    assert_eq!(e["extensions"]["value"], "not-a-shopify-gid");
    assert_eq!(
        e["extensions"]["problems"][0]["explanation"],
        "Invalid global id 'not-a-shopify-gid'"
    );
    assert!(r.body.get("data").is_none() && r.body.get("extensions").is_none());

    let r = s.gql(doc, json!({})).await;
    assert_eq!(codes(&r.body), vec!["INVALID_VARIABLE"]);
    assert_eq!(
        r.body["errors"][0]["extensions"]["problems"][0]["explanation"],
        "Expected value to not be null"
    );

    // Problems inside an input object are named, as graphql-ruby does.
    let set = "mutation S($input: InventorySetQuantitiesInput!, $k: String!) { inventorySetQuantities(input: $input) @idempotent(key: $k) { userErrors { code } } }";
    let r = s
        .gql(set, json!({ "k": "x", "input": { "name": "available", "ignoreCompareQuantity": true, "quantities": [] } }))
        .await;
    assert_eq!(codes(&r.body), vec!["INVALID_VARIABLE"]);
    assert_eq!(
        r.body["errors"][0]["message"],
        "Variable $input of type InventorySetQuantitiesInput! was provided invalid value for ignoreCompareQuantity (Field is not defined on InventorySetQuantitiesInput), reason (Expected value to not be null)"
    );
    assert_eq!(
        r.body["errors"][0]["extensions"]["problems"][0]["path"],
        json!(["ignoreCompareQuantity"])
    );
    let r = s
        .gql(
            "query P($n: Int!) { products(first: $n) { nodes { id } } }",
            json!({ "n": "ten" }),
        )
        .await;
    assert_eq!(codes(&r.body), vec!["INVALID_VARIABLE"]);
}

#[tokio::test]
async fn page_size_over_250_and_missing_window_are_bad_request() {
    let s = start(small_config()).await;
    let r = s
        .gql("query { products(first: 251) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(codes(&r.body), vec!["BAD_REQUEST"]);
    assert_eq!(
        r.body["errors"][0]["message"],
        "first cannot exceed 250. To query larger amounts of data with fewer limits, bulk operations should be used instead."
    );
    assert_eq!(r.body["errors"][0]["path"], json!(["products"]));
    assert_eq!(r.body["data"], json!(null));
    assert!(r.body["extensions"]["cost"].is_object());

    let r = s
        .gql("query { locations { nodes { id } } }", json!({}))
        .await;
    assert_eq!(
        r.body["errors"][0]["message"],
        "you must provide one of first or last"
    );
    // Nested connections are capped too.
    let r = s
        .gql(
            "query { products(first: 1) { nodes { variants(last: 300) { nodes { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&r.body), vec!["BAD_REQUEST"]);
}

#[tokio::test]
async fn unsimulated_field_fails_loudly_by_name() {
    let s = start(small_config()).await;
    let r = s
        .gql("query { shop { name billingAddress { city } } }", json!({}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(codes(&r.body), vec!["UNSUPPORTED_BY_SIMULATOR"]);
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("`Shop.billingAddress`"), "{message}");
    assert_eq!(
        r.body["errors"][0]["path"],
        json!(["shop", "billingAddress"])
    );
}

#[tokio::test]
async fn operation_selection_errors_match_captures() {
    let s = start(small_config()).await;
    let doc = "query First { shop { id } }\nquery Second { shop { name } }";
    let r = s.gql(doc, json!({})).await;
    assert_eq!(
        r.body,
        json!({ "errors": [{ "message": "An operation name is required" }] })
    );
    let token = s.admin_token();
    let response = s
        .http
        .post(s.graphql_url())
        .header("X-Shopify-Access-Token", token)
        .json(&json!({ "query": doc, "operationName": "Missing" }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "errors": [{ "message": "No operation named \"Missing\"" }] })
    );
}

#[tokio::test]
async fn bad_version_path_is_404() {
    let s = start(small_config()).await;
    let response = s
        .http
        .post(format!(
            "{}/admin/api/banana/graphql.json",
            s.sim.info.base_url
        ))
        .header("X-Shopify-Access-Token", s.admin_token())
        .json(&json!({ "query": "{ shop { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}
