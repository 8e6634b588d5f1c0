//! `shopify-sim`: a local Shopify Admin API 2026-07 simulator, strict wherever Shopify is strict.
//!
//! Shelfsync cannot reach Shopify from its test machines, so this crate is the ground truth for
//! tests, benchmarks and the demo. It serves a seeded store over real HTTP: the client-credentials
//! grant, the GraphQL Admin endpoint validated against the real 2026-07 schema, query cost and a
//! leaky-bucket throttle, and webhooks: subscriptions, and signed deliveries of every store event
//! through a simulated tunnel or to EventBridge with signed `PutEvents`, retried on the simulator's clock
//! ([`webhooks`]). Start it in-process with [`start`] (port 0 for tests) or run the
//! `shopify-sim` binary, whose first stdout line is the [`StartInfo`] JSON.
//!
//! Comments cite "FACTS §n": sections of `docs/shopify-facts.md`, the team's list of Shopify
//! behaviours with their sources.

pub mod auth;
pub mod bucket;
pub mod bulk;
pub mod clock;
pub mod config;
pub mod control;
pub mod cost;
pub mod graphql;
pub mod server;
pub mod store;
pub mod webhooks;

pub use clock::SimClock;
pub use config::{Plan, SimConfig};
pub use server::{RunningSim, SimState, StartInfo, start, start_with_clock};
