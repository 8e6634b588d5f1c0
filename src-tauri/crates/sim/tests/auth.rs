//! Behaviour 1 (auth): the client-credentials grant, token expiry on the simulated clock, the
//! legacy admin token, and Shopify's exact 401 for every way a token can be wrong.

mod common;

use common::{reply, small_config, start};
use serde_json::{Value, json};
use std::time::Duration;

const BODY_401: &str =
    r#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#;

async fn assert_401(response: reqwest::Response) {
    assert_eq!(response.status().as_u16(), 401);
    let text = response.text().await.unwrap();
    assert_eq!(text, BODY_401);
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert!(parsed["errors"].is_string(), "errors must be a string");
}

#[tokio::test]
async fn form_grant_issues_a_working_token_that_expires_on_the_sim_clock() {
    let s = start(small_config()).await;
    let info = s.sim.info.clone();
    let grant = s.grant_form(&info.client_id, &info.client_secret).await;
    assert_eq!(grant.status, 200);
    assert_eq!(grant.body["expires_in"], json!(86399));
    assert!(
        grant.body["scope"]
            .as_str()
            .unwrap()
            .contains("write_inventory")
    );
    assert!(grant.body.get("refresh_token").is_none());
    let token = grant.body["access_token"].as_str().unwrap().to_owned();

    let query = "{ shop { name } }";
    let ok = s.gql_unchecked(&token, query, json!({})).await;
    assert_eq!(ok.status, 200);
    assert!(ok.body["data"]["shop"]["name"].is_string());

    s.clock.advance(Duration::from_secs(86_398));
    assert_eq!(s.gql_unchecked(&token, query, json!({})).await.status, 200);
    s.clock.advance(Duration::from_secs(2));
    let expired = s
        .http
        .post(s.graphql_url())
        .header("X-Shopify-Access-Token", &token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    assert_401(expired).await;

    // The legacy admin token never expires.
    s.clock.advance(Duration::from_secs(400 * 86_400));
    assert_eq!(s.gql(query, json!({})).await.status, 200);
}

#[tokio::test]
async fn json_grant_is_accepted_and_ttl_is_configurable() {
    let mut config = small_config();
    config.token_ttl_secs = 60;
    let s = start(config).await;
    let info = s.sim.info.clone();
    let response = s
        .http
        .post(format!("{}/admin/oauth/access_token", info.base_url))
        .json(&json!({
            "client_id": info.client_id,
            "client_secret": info.client_secret,
            "grant_type": "client_credentials"
        }))
        .send()
        .await
        .unwrap();
    let grant = reply(response).await;
    assert_eq!(grant.status, 200);
    assert_eq!(grant.body["expires_in"], json!(60));
    let token = grant.body["access_token"].as_str().unwrap().to_owned();
    s.clock.advance(Duration::from_secs(61));
    assert_eq!(
        s.gql_unchecked(&token, "{ shop { id } }", json!({}))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn wrong_credentials_get_the_standard_401() {
    let s = start(small_config()).await;
    let info = s.sim.info.clone();
    let response = s
        .http
        .post(format!("{}/admin/oauth/access_token", info.base_url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", info.client_id.as_str()),
            ("client_secret", "shpss_wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_401(response).await;
}

#[tokio::test]
async fn bearer_missing_and_unknown_tokens_are_refused_exactly() {
    let s = start(small_config()).await;
    let token = s.admin_token();
    let body = json!({ "query": "{ shop { id } }" });

    let bearer = s
        .http
        .post(s.graphql_url())
        .header("Authorization", format!("Bearer {token}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_401(bearer).await;

    let missing = s
        .http
        .post(s.graphql_url())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_401(missing).await;

    let unknown = s
        .http
        .post(s.graphql_url())
        .header(
            "X-Shopify-Access-Token",
            "shpat_00000000000000000000000000000000",
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_401(unknown).await;
}

#[tokio::test]
async fn legacy_token_can_be_disabled_and_revoked() {
    let mut config = small_config();
    config.legacy_admin_token = Some("shpat_fixed_for_test".into());
    let s = start(config).await;
    assert_eq!(
        s.sim.info.admin_token.as_deref(),
        Some("shpat_fixed_for_test")
    );
    assert_eq!(s.gql("{ shop { id } }", json!({})).await.status, 200);
    s.sim.state.tokens().revoke_all();
    assert_eq!(s.gql("{ shop { id } }", json!({})).await.status, 401);

    let mut config = small_config();
    config.legacy_admin_token = None;
    let s = start(config).await;
    assert!(s.sim.info.admin_token.is_none());
}

#[tokio::test]
async fn missing_scopes_answer_access_denied_with_partial_data() {
    let mut config = small_config();
    config.scopes = vec!["read_products".into()];
    let s = start(config).await;
    let info = s.sim.info.clone();
    let grant = s.grant_form(&info.client_id, &info.client_secret).await;
    assert_eq!(grant.body["scope"], "read_products");

    let first = s
        .gql("query { products(first: 1) { nodes { id variants(first: 1) { nodes { inventoryItem { id } } } } } }", json!({}))
        .await;
    let product = first.body["data"]["products"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let item = first.body["data"]["products"]["nodes"][0]["variants"]["nodes"][0]["inventoryItem"]
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .gql(
            "query Both($p: ID!, $i: ID!) { product(id: $p) { id } inventoryItem(id: $i) { id } }",
            json!({ "p": product, "i": item }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"]["product"]["id"], json!(product));
    assert!(r.body["data"]["inventoryItem"].is_null());
    let e = &r.body["errors"][0];
    assert_eq!(
        e["message"],
        "Access denied for inventoryItem field. Required access: `read_inventory` access scope."
    );
    assert_eq!(e["extensions"]["code"], "ACCESS_DENIED");
    assert_eq!(
        e["extensions"]["requiredAccess"],
        "`read_inventory` access scope."
    );
    assert_eq!(e["path"], json!(["inventoryItem"]));
    assert!(r.body["extensions"]["cost"].is_object());
}
