//! A typed Shopify Admin GraphQL client with exactly one way to send a request.
//!
//! Every operation — typed variables in, typed data out, its document in its own
//! `graphql/*.graphql` file — goes through [`ShopifyClient::execute`], which runs the same
//! pipeline for all of them: **auth** (a legacy admin token, or the client-credentials grant
//! re-run ahead of expiry; one re-authentication on a 401, never a loop) → **cost-aware
//! throttle** (the bucket is tracked from each answer's `extensions.cost`, a request waits
//! until the bucket can pay for it) → **retry with backoff** (network errors, timeouts, 5xx,
//! 429 and `THROTTLED`; nothing else). No call can skip a stage, because there is no other
//! way to send one.
//!
//! Time flows through [`Clock`], so tests run on paused tokio time or on the simulator's
//! scaled clock, and retry schedules are plain data ([`RetryPolicy`]).

pub mod auth;
pub mod client;
pub mod clock;
pub mod download;
pub mod envelope;
pub mod error;
pub mod operations;
pub mod retry;
pub mod secret;
pub mod throttle;

pub use auth::{CacheFuture, Credentials, TokenCache};
pub use client::{ClientConfig, IdempotencyKey, ShopifyClient};
pub use clock::Clock;
pub use error::ShopifyError;
pub use operations::{Mutation, Operation};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use throttle::BucketSnapshot;

/// The Admin API version Shelfsync speaks.
pub const API_VERSION: &str = "2026-07";
