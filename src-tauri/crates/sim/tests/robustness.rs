//! Hostile and malformed requests never crash the simulator or produce a 500: each gets one of
//! Shopify's answers.

mod common;

use common::{small_config, start};
use serde_json::json;

#[tokio::test]
async fn malformed_requests_get_shopify_answers_not_500s() {
    let s = start(small_config()).await;
    let token = s.admin_token();
    let deep = format!(
        "query {{ {}shop {{ id }}{} }}",
        "products(first: 1) { nodes { variants(first: 1) { nodes { product { ".repeat(40),
        " } } } } }".repeat(40)
    );
    let bodies: Vec<(Option<&str>, String)> = vec![
        (Some("application/json"), String::new()),
        (Some("application/json"), "not json".into()),
        (Some("application/json"), json!({ "query": 5 }).to_string()),
        (Some("application/json"), json!({ "query": "" }).to_string()),
        (Some("application/json"), json!({ "query": "{ shop { id } }", "variables": [1, 2] }).to_string()),
        (Some("application/json"), json!({ "query": "{ shop { id } }", "operationName": "Nope" }).to_string()),
        (Some("application/json"), json!({ "query": "query Q($a: Int!) { shop { id } }" }).to_string()),
        (Some("application/json"), json!({ "query": "query { products(first: -1) { nodes { id } } }" }).to_string()),
        (Some("application/json"), json!({ "query": "query { products(first: 1, after: \"!!\") { nodes { id } } }" }).to_string()),
        (Some("application/json"), json!({ "query": "query { products(first: 1, query: \"((( OR -\") { nodes { id } } }" }).to_string()),
        (Some("application/json"), json!({ "query": "query { inventoryLevel(id: \"gid://shopify/InventoryLevel/x\") { id } }" }).to_string()),
        (Some("application/json"), json!({ "query": "subscription { shop { id } }" }).to_string()),
        (Some("application/json"), json!({ "query": "{ __schema { types { name } } }" }).to_string()),
        (Some("application/json"), json!({ "query": deep }).to_string()),
        (Some("application/json"), json!({ "query": "{".repeat(5000) }).to_string()),
        (Some("application/graphql"), "{ shop { name } }".into()),
        (None, "{ shop { name } }".into()),
    ];
    for (content_type, body) in bodies {
        let mut request = s
            .http
            .post(s.graphql_url())
            .header("X-Shopify-Access-Token", &token)
            .body(body.clone());
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        let response = request.send().await.expect("server still answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(
            status == 200 || status == 400,
            "{status} for {body:.120}: {text:.300}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("JSON body");
        assert!(
            parsed.get("errors").is_some() || parsed.get("data").is_some(),
            "{text:.300}"
        );
    }
    // Still healthy afterwards.
    assert_eq!(s.gql("query { shop { id } }", json!({})).await.status, 200);
}
