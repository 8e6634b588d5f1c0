//! Behaviour 2 (GraphQL), reads: the seeded store served through the real schema with variables,
//! fragments, aliases, `@include`/`@skip`, cursor pagination, search syntax, sort keys and
//! `nodes(ids:)`; the same seed always gives the same store.

mod common;

use common::{small_config, start};
use serde_json::{Value, json};

const LEVELS_DOC: &str = r#"
fragment LevelFields on InventoryLevel {
  id
  location { id name }
  quantities(names: ["available", "on_hand", "committed", "incoming", "reserved", "damaged", "safety_stock", "quality_control"]) {
    name
    quantity
    updatedAt
  }
}
query Levels($first: Int!, $withSku: Boolean!, $skipTracked: Boolean!) {
  page: productVariants(first: $first) {
    nodes {
      id
      sku @include(if: $withSku)
      price
      compareAtPrice
      inventoryQuantity
      inventoryItem {
        id
        tracked @skip(if: $skipTracked)
        inventoryLevels(first: 10) { nodes { ...LevelFields } }
      }
    }
  }
}
"#;

#[tokio::test]
async fn variants_with_levels_fragments_aliases_and_directives() {
    let s = start(small_config()).await;
    let r = s
        .gql(
            LEVELS_DOC,
            json!({ "first": 5, "withSku": true, "skipTracked": true }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("errors").is_none(), "{}", r.body);
    let nodes = r.body["data"]["page"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 5);
    for v in nodes {
        assert!(
            v["id"]
                .as_str()
                .unwrap()
                .starts_with("gid://shopify/ProductVariant/")
        );
        assert!(v["sku"].as_str().unwrap().starts_with("SKU-"));
        let price = v["price"].as_str().unwrap();
        assert!(
            price.contains('.') && price.split('.').nth(1).unwrap().len() == 2,
            "{price}"
        );
        assert!(v["compareAtPrice"].is_null() || v["compareAtPrice"].is_string());
        assert!(v["inventoryItem"].get("tracked").is_none(), "@skip ignored");
        let mut available_sum = 0;
        for level in v["inventoryItem"]["inventoryLevels"]["nodes"]
            .as_array()
            .unwrap()
        {
            let q: std::collections::HashMap<&str, i64> = level["quantities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| (q["name"].as_str().unwrap(), q["quantity"].as_i64().unwrap()))
                .collect();
            assert_eq!(q.len(), 8);
            assert_eq!(
                q["on_hand"],
                q["available"]
                    + q["committed"]
                    + q["reserved"]
                    + q["damaged"]
                    + q["safety_stock"]
                    + q["quality_control"]
            );
            available_sum += q["available"];
            let id = level["id"].as_str().unwrap();
            assert!(
                id.starts_with("gid://shopify/InventoryLevel/")
                    && id.contains("?inventory_item_id=")
            );
        }
        assert_eq!(v["inventoryQuantity"].as_i64().unwrap(), available_sum);
    }
    let r = s
        .gql(
            LEVELS_DOC,
            json!({ "first": 1, "withSku": false, "skipTracked": false }),
        )
        .await;
    let v = &r.body["data"]["page"]["nodes"][0];
    assert!(v.get("sku").is_none(), "@include(if: false) ignored");
    assert!(v["inventoryItem"]["tracked"].is_boolean());
}

const PRODUCT_PAGE: &str = r#"
query Page($first: Int, $last: Int, $after: String, $before: String, $sort: ProductSortKeys, $reverse: Boolean) {
  products(first: $first, last: $last, after: $after, before: $before, sortKey: $sort, reverse: $reverse) {
    edges { cursor node { id title updatedAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"#;

fn ids(body: &Value) -> Vec<String> {
    body["data"]["products"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn cursor_pagination_walks_forward_and_back_without_gaps() {
    let s = start(small_config()).await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let r = s
            .gql(PRODUCT_PAGE, json!({ "first": 15, "after": after }))
            .await;
        seen.extend(ids(&r.body));
        let info = &r.body["data"]["products"]["pageInfo"];
        assert_eq!(info["hasPreviousPage"], json!(after.is_some()));
        if !info["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = Some(info["endCursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 40);
    let mut sorted = seen.clone();
    sorted.sort_by_key(|id| id.rsplit('/').next().unwrap().parse::<u64>().unwrap());
    assert_eq!(seen, sorted, "default sort is by id");

    // Backwards from the end gives the same last items.
    let r = s.gql(PRODUCT_PAGE, json!({ "last": 5 })).await;
    assert_eq!(ids(&r.body), seen[35..].to_vec());
    let before = r.body["data"]["products"]["pageInfo"]["startCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .gql(PRODUCT_PAGE, json!({ "last": 5, "before": before }))
        .await;
    assert_eq!(ids(&r.body), seen[30..35].to_vec());
    assert_eq!(
        r.body["data"]["products"]["pageInfo"]["hasNextPage"],
        json!(true)
    );

    // Sorting by UPDATED_AT, reversed, is newest first.
    let r = s
        .gql(
            PRODUCT_PAGE,
            json!({ "first": 40, "sort": "UPDATED_AT", "reverse": true }),
        )
        .await;
    let stamps: Vec<String> = r.body["data"]["products"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["updatedAt"].as_str().unwrap().to_owned())
        .collect();
    let mut expected = stamps.clone();
    expected.sort();
    expected.reverse();
    assert_eq!(stamps, expected);
}

#[tokio::test]
async fn search_filters_by_quoted_dates_sku_and_id_ranges() {
    let s = start(small_config()).await;
    let all = s
        .gql(
            "query { productVariants(first: 250) { nodes { id sku updatedAt } } }",
            json!({}),
        )
        .await;
    let all = all.body["data"]["productVariants"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(all.len(), 120);
    let mut stamps: Vec<&str> = all
        .iter()
        .map(|v| v["updatedAt"].as_str().unwrap())
        .collect();
    stamps.sort();
    let cut = stamps[60];
    let expected = all
        .iter()
        .filter(|v| v["updatedAt"].as_str().unwrap() >= cut)
        .count();

    let doc = "query V($q: String) { productVariants(first: 250, query: $q) { nodes { id sku updatedAt } } }";
    let r = s
        .gql(doc, json!({ "q": format!("updated_at:>='{cut}'") }))
        .await;
    let got = r.body["data"]["productVariants"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(got.len(), expected, ">= is inclusive");
    assert!(got.iter().all(|v| v["updatedAt"].as_str().unwrap() >= cut));
    assert!(r.body["extensions"].get("search").is_none());

    // Unquoted, the timestamp is split at ':' and nothing sensible matches (Shopify's mis-filter).
    let r = s
        .gql(doc, json!({ "q": format!("updated_at:>={cut}") }))
        .await;
    assert_ne!(
        r.body["data"]["productVariants"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        expected
    );

    let r = s.gql(doc, json!({ "q": "sku:SKU-00007-2" })).await;
    let got = r.body["data"]["productVariants"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["sku"], "SKU-00007-2");

    let id_of = |v: &Value| {
        v["id"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let (lo, hi) = (id_of(&all[10]), id_of(&all[19]));
    let r = s
        .gql(doc, json!({ "q": format!("id:>={lo} AND id:<={hi}") }))
        .await;
    assert_eq!(
        r.body["data"]["productVariants"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        10
    );

    // Unknown fields never fail: they warn in extensions.search.
    let r = s.gql(doc, json!({ "q": "colour:red" })).await;
    assert_eq!(
        r.body["data"]["productVariants"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        120
    );
    let search = &r.body["extensions"]["search"][0];
    assert_eq!(search["path"], json!(["productVariants"]));
    assert_eq!(search["warnings"][0]["code"], "invalid_field");
    assert_eq!(search["warnings"][0]["field"], "colour");
}

#[tokio::test]
async fn nodes_product_and_counts() {
    let s = start(small_config()).await;
    let r = s
        .gql("query { products(first: 2) { nodes { id variants(first: 5) { nodes { id } } } } productsCount { count precision } }", json!({}))
        .await;
    assert_eq!(
        r.body["data"]["productsCount"],
        json!({ "count": 40, "precision": "EXACT" })
    );
    let product = r.body["data"]["products"]["nodes"][0].clone();
    let variant_id = product["variants"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let product_id = product["id"].as_str().unwrap().to_owned();
    assert_eq!(product["variants"]["nodes"].as_array().unwrap().len(), 3);

    let r = s
        .gql(
            "query N($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on ProductVariant { sku product { id } } } }",
            json!({ "ids": [variant_id, "gid://shopify/Product/1", product_id] }),
        )
        .await;
    let nodes = r.body["data"]["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["__typename"], "ProductVariant");
    assert_eq!(nodes[0]["product"]["id"], json!(product_id));
    assert!(nodes[1].is_null(), "unknown id answers null");
    assert_eq!(nodes[2]["__typename"], "Product");
    assert!(nodes[2].get("sku").is_none());

    let r = s
        .gql(
            "query P($id: ID!) { product(id: $id) { title } productVariant(id: $id) { id } }",
            json!({ "id": product_id }),
        )
        .await;
    assert!(r.body["data"]["product"]["title"].is_string());
    assert!(r.body["data"]["productVariant"].is_null());
}

#[tokio::test]
async fn shop_and_locations() {
    let s = start(small_config()).await;
    let r = s
        .gql("query { shop { id name myshopifyDomain currencyCode plan { displayName } } locations(first: 10) { nodes { id name isActive address { city } } } }", json!({}))
        .await;
    assert_eq!(
        r.body["data"]["shop"]["myshopifyDomain"],
        json!(s.sim.info.shop_domain)
    );
    let locations = r.body["data"]["locations"]["nodes"].as_array().unwrap();
    assert_eq!(locations.len(), 3);
    let names: Vec<&str> = locations
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "locations sort by NAME by default");
}

#[tokio::test]
async fn same_seed_same_store_different_seed_different_store() {
    let doc = "query { productVariants(first: 20) { nodes { id sku price updatedAt } } }";
    let a = start(small_config()).await;
    let b = start(small_config()).await;
    let mut other = small_config();
    other.seed = 8;
    let c = start(other).await;
    let ra = a.gql(doc, json!({})).await.body["data"].clone();
    let rb = b.gql(doc, json!({})).await.body["data"].clone();
    let rc = c.gql(doc, json!({})).await.body["data"].clone();
    assert_eq!(ra, rb);
    assert_ne!(ra, rc);
    assert_eq!(a.sim.info.client_id, b.sim.info.client_id);
}

#[tokio::test]
async fn binary_prints_the_start_line_and_serves() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shopify-sim"))
        .args([
            "--port",
            "0",
            "--seed",
            "7",
            "--products",
            "2000",
            "--variants-per-product",
            "3",
            "--locations",
            "3",
            "--plan",
            "standard",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).expect("first line is JSON");
    for key in [
        "base_url",
        "shop_domain",
        "api_version",
        "client_id",
        "client_secret",
        "admin_token",
    ] {
        assert!(info[key].is_string(), "missing {key} in {line}");
    }
    assert_eq!(info["api_version"], "2026-07");
    let client = reqwest::Client::new();
    let body: Value = client
        .post(format!(
            "{}/admin/api/2026-07/graphql.json",
            info["base_url"].as_str().unwrap()
        ))
        .header(
            "X-Shopify-Access-Token",
            info["admin_token"].as_str().unwrap(),
        )
        .json(&json!({ "query": "{ productVariantsCount { count } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(body["data"]["productVariantsCount"]["count"], json!(6000));
}

#[tokio::test]
async fn variant_count_ignores_updated_at_but_the_connection_filters() {
    let s = start(small_config()).await;
    let doc = "query C($q: String) { productVariantsCount(query: $q) { count } productVariants(first: 250, query: $q) { nodes { id } } }";
    let r = s
        .gql(doc, json!({ "q": "updated_at:>='2026-07-01T00:00:00Z'" }))
        .await;
    assert_eq!(r.body["data"]["productVariantsCount"]["count"], json!(120));
    let filtered = r.body["data"]["productVariants"]["nodes"]
        .as_array()
        .unwrap()
        .len();
    assert!(filtered < 120, "the connection filters: {filtered}");
    let warning = &r.body["extensions"]["search"][0];
    assert_eq!(warning["path"], json!(["productVariantsCount"]));
    assert_eq!(warning["warnings"][0]["field"], "updated_at");
}

#[tokio::test]
async fn array_arguments_over_250_are_rejected_before_execution() {
    let s = start(small_config()).await;
    let ids: Vec<String> = (1..=251)
        .map(|i| format!("gid://shopify/Product/{i}"))
        .collect();
    let r = s
        .gql(
            "query N($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"],
        "MAX_INPUT_SIZE_EXCEEDED"
    );
    assert_eq!(
        r.body["errors"][0]["message"],
        "The input array size of 251 is greater than the maximum allowed of 250."
    );
    assert_eq!(r.body["errors"][0]["path"], json!(["nodes", "ids"]));
    assert!(r.body.get("data").is_none() && r.body.get("extensions").is_none());
    let r = s
        .gql(
            "query N($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": ids[..250] }),
        )
        .await;
    assert_eq!(r.body["data"]["nodes"].as_array().unwrap().len(), 250);
}

#[tokio::test]
async fn introspection_is_served() {
    let s = start(small_config()).await;
    let r = s
        .gql(
            "query { __type(name: \"InventoryQuantityInput\") { name inputFields { name } } }",
            json!({}),
        )
        .await;
    let fields: Vec<&str> = r.body["data"]["__type"]["inputFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"changeFromQuantity"), "{fields:?}");
    assert!(!fields.contains(&"compareQuantity"));
}
