//! Behaviour 4 (prices): `productVariantsBulkUpdate` changes price and compare-at price, bumps
//! `updatedAt`, is all-or-nothing by default, and answers Shopify's userErrors.

mod common;

use common::{Sim, codes, small_config, start};
use serde_json::{Value, json};

const UPDATE: &str = r#"
mutation Prices($productId: ID!, $variants: [ProductVariantsBulkInput!]!, $partial: Boolean) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants, allowPartialUpdates: $partial) {
    product { id updatedAt }
    productVariants { id price compareAtPrice updatedAt }
    userErrors { field message code }
  }
}
"#;

async fn two_products(s: &Sim) -> Vec<(String, Vec<(String, String)>)> {
    let r = s
        .gql("query { products(first: 2) { nodes { id variants(first: 5) { nodes { id price } } } } }", json!({}))
        .await;
    r.body["data"]["products"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["variants"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| {
                        (
                            v["id"].as_str().unwrap().to_owned(),
                            v["price"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

async fn price_of(s: &Sim, id: &str) -> Value {
    s.gql(
        "query V($id: ID!) { productVariant(id: $id) { price compareAtPrice } }",
        json!({ "id": id }),
    )
    .await
    .body["data"]["productVariant"]
        .clone()
}

#[tokio::test]
async fn updates_prices_and_bumps_updated_at() {
    let s = start(small_config()).await;
    let products = two_products(&s).await;
    let (product, variants) = &products[0];
    s.clock.advance(std::time::Duration::from_secs(120));
    let r = s
        .gql(
            UPDATE,
            json!({ "productId": product, "variants": [
            { "id": variants[0].0, "price": "24.00", "compareAtPrice": "30.00" },
            { "id": variants[1].0, "price": "9.5", "compareAtPrice": null }
        ] }),
        )
        .await;
    assert!(r.body.get("errors").is_none(), "{}", r.body);
    let p = &r.body["data"]["productVariantsBulkUpdate"];
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(p["product"]["updatedAt"], "2026-07-15T00:02:00Z");
    assert_eq!(p["productVariants"][0]["price"], "24.00");
    assert_eq!(p["productVariants"][1]["compareAtPrice"], Value::Null);
    assert_eq!(
        price_of(&s, &variants[0].0).await,
        json!({ "price": "24.00", "compareAtPrice": "30.00" })
    );
    assert_eq!(price_of(&s, &variants[1].0).await["price"], "9.50");
    // A mutation costs 10; payload objects selecting only scalars add nothing (as captured for
    // `productCreate { product { id title } }`).
    assert_eq!(
        r.body["extensions"]["cost"]["requestedQueryCost"],
        json!(10)
    );
}

#[tokio::test]
async fn all_or_nothing_with_user_errors_unless_partial() {
    let s = start(small_config()).await;
    let products = two_products(&s).await;
    let (product, variants) = &products[0];
    let foreign = &products[1].1[0].0;
    let before = price_of(&s, &variants[0].0).await;
    let r = s
        .gql(
            UPDATE,
            json!({ "productId": product, "variants": [
            { "id": variants[0].0, "price": "1.00" },
            { "id": variants[1].0, "price": "-1.00" },
            { "id": foreign, "price": "2.00" },
            { "id": "gid://shopify/ProductVariant/1", "price": "2.00" }
        ] }),
        )
        .await;
    let p = &r.body["data"]["productVariantsBulkUpdate"];
    let got: Vec<(Value, Value)> = p["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["code"].clone(), e["field"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                json!("GREATER_THAN_OR_EQUAL_TO"),
                json!(["variants", "1", "price"])
            ),
            (
                json!("MUST_BE_FOR_THIS_PRODUCT"),
                json!(["variants", "2", "id"])
            ),
            (
                json!("PRODUCT_VARIANT_DOES_NOT_EXIST"),
                json!(["variants", "3", "id"])
            ),
        ]
    );
    assert_eq!(
        p["userErrors"][0]["message"],
        "Price must be greater than or equal to 0"
    );
    assert!(p["product"].is_null() && p["productVariants"].is_null());
    assert_eq!(
        price_of(&s, &variants[0].0).await,
        before,
        "valid row not applied"
    );

    let r = s
        .gql(
            UPDATE,
            json!({ "productId": product, "partial": true, "variants": [
            { "id": variants[0].0, "price": "1.00" },
            { "id": variants[1].0, "price": "-1.00" }
        ] }),
        )
        .await;
    let p = &r.body["data"]["productVariantsBulkUpdate"];
    assert_eq!(p["userErrors"].as_array().unwrap().len(), 1);
    assert_eq!(p["productVariants"].as_array().unwrap().len(), 1);
    assert_eq!(price_of(&s, &variants[0].0).await["price"], "1.00");

    let r = s
        .gql(UPDATE, json!({ "productId": "gid://shopify/Product/1", "variants": [{ "id": variants[0].0, "price": "1.00" }] }))
        .await;
    assert_eq!(
        r.body["data"]["productVariantsBulkUpdate"]["userErrors"][0]["code"],
        "PRODUCT_DOES_NOT_EXIST"
    );
}

#[tokio::test]
async fn inventory_quantities_are_refused_and_unsimulated_inputs_are_loud() {
    let s = start(small_config()).await;
    let products = two_products(&s).await;
    let (product, variants) = &products[0];
    let r = s
        .gql(UPDATE, json!({ "productId": product, "variants": [
            { "id": variants[0].0, "inventoryQuantities": [{ "availableQuantity": 3, "locationId": "gid://shopify/Location/1" }] }
        ] }))
        .await;
    let e = &r.body["data"]["productVariantsBulkUpdate"]["userErrors"][0];
    assert_eq!(e["code"], "NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE");
    assert_eq!(
        e["message"],
        "Inventory quantities can only be provided during create. To update inventory for existing variants, use inventoryAdjustQuantities."
    );

    let r = s
        .gql(UPDATE, json!({ "productId": product, "variants": [{ "id": variants[0].0, "taxCode": "P0000000" }] }))
        .await;
    assert_eq!(codes(&r.body), vec!["UNSUPPORTED_BY_SIMULATOR"]);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ProductVariantsBulkInput.taxCode")
    );
}
