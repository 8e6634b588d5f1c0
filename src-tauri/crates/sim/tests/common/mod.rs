//! Shared test harness: an in-process simulator on 127.0.0.1:0 with a manual clock, and a client
//! that refuses to send a GraphQL document the real schema rejects (unless told it is meant to be
//! invalid).

#![allow(dead_code)]

use serde_json::{Value, json};
use shopify_sim::{RunningSim, SimClock, SimConfig};

pub struct Sim {
    pub sim: RunningSim,
    pub clock: SimClock,
    pub http: reqwest::Client,
}

pub fn small_config() -> SimConfig {
    SimConfig {
        seed: 7,
        products: 40,
        variants_per_product: 3,
        locations: 3,
        ..SimConfig::default()
    }
}

pub async fn start(config: SimConfig) -> Sim {
    let clock = SimClock::manual(config.start_time);
    let sim = shopify_sim::start_with_clock(config, clock.clone())
        .await
        .expect("simulator starts");
    Sim {
        sim,
        clock,
        http: reqwest::Client::new(),
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Sim {
    pub fn graphql_url(&self) -> String {
        self.sim.info.graphql_url.clone()
    }

    pub fn admin_token(&self) -> String {
        self.sim
            .info
            .admin_token
            .clone()
            .expect("legacy token configured")
    }

    /// Sends a document that must be valid against the 2026-07 schema.
    pub async fn gql(&self, document: &str, variables: Value) -> Reply {
        if let Err(errors) = shopify_schema::validate(document) {
            panic!("test document is not valid against Admin 2026-07: {errors:#?}\n{document}");
        }
        self.gql_unchecked(&self.admin_token(), document, variables)
            .await
    }

    /// Sends any document (for tests of rejection) with any token.
    pub async fn gql_unchecked(&self, token: &str, document: &str, variables: Value) -> Reply {
        let response = self
            .http
            .post(self.graphql_url())
            .header("X-Shopify-Access-Token", token)
            .json(&json!({ "query": document, "variables": variables }))
            .send()
            .await
            .expect("request sent");
        reply(response).await
    }

    pub async fn grant_form(&self, id: &str, secret: &str) -> Reply {
        let response = self
            .http
            .post(format!(
                "{}/admin/oauth/access_token",
                self.sim.info.base_url
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .expect("request sent");
        reply(response).await
    }
}

pub async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    Reply {
        status,
        headers,
        body,
    }
}

/// The error codes of a response, in order.
pub fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}
